# actsweep tasks. `just` lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where datasets are looked for first ($ACTSWEEP_DATA/mnist/...). Defaults to
# ../shared/data when that exists (this team's machines), else unset, so the
# loader falls back to data/ in the project.
export ACTSWEEP_DATA := env_var_or_default("ACTSWEEP_DATA", if path_exists(justfile_directory() / "../shared/data/mnist") == "true" { justfile_directory() / "../shared/data" } else { "" })

# List the recipes.
default:
    @just --list

# Train a sweep file, then write its report (tables, charts, REPORT.md). The
# report is written even when some jobs failed (it lists them); the exit code
# is then run's.
sweep FILE="experiments.toml" *ARGS:
    cargo build --release --quiet
    status=0; ./target/release/actsweep run {{FILE}} {{ARGS}} || status=$?; \
    if [ "$status" -le 1 ]; then ./target/release/actsweep report {{FILE}}; fi; exit $status

# Write the report of a sweep's results: results/<name>/report/ (add --check, --readme README.md).
report FILE="experiments.toml" *ARGS:
    cargo run --release --quiet -- report {{FILE}} {{ARGS}}

# Show a sweep file's axes, job counts and work estimate.
plan FILE="experiments.toml" *ARGS:
    cargo run --quiet -- plan {{FILE}} {{ARGS}}

# Run every test (unit, CLI, snapshot, property).
test:
    cargo nextest run --lib --bins --tests --locked

# Run the benchmarks (release build).
bench:
    cargo bench

# Format check and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
    cargo check --features cuda --lib
