# actsweep tasks. `just` lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where datasets are looked for first ($ACTSWEEP_DATA/mnist/...). Defaults to
# ../shared/data when that exists (this team's machines), else unset, so the
# loader falls back to data/ in the project.
export ACTSWEEP_DATA := env_var_or_default("ACTSWEEP_DATA", if path_exists(justfile_directory() / "../shared/data/mnist") == "true" { justfile_directory() / "../shared/data" } else { "" })

# List the recipes.
default:
    @just --list

# The report is written even when some jobs failed (it lists them); the exit
# code is then run's. Every recipe that runs the tool uses the one release
# build (`cargo run --release`), so a fresh clone builds once.
# Train a sweep file, then write its report (tables, charts, REPORT.md).
sweep FILE="experiments.toml" *ARGS:
    cargo run --release --locked --quiet -- sweep {{FILE}} {{ARGS}}

# Show how far a sweep has got: jobs done, failed, diverged, not yet run.
status FILE="experiments.toml" *ARGS:
    cargo run --release --locked --quiet -- status {{FILE}} {{ARGS}}

# Run a sweep on a Slurm cluster: a job array of shards, then collect + report.
slurm FILE="experiments.toml" *ARGS:
    cargo run --release --locked --quiet -- slurm {{FILE}} {{ARGS}}

# Trains each sweep file, writes its report, puts its tables into its study
# page docs/studies/<name>.md (and experiments.toml's also into README.md),
# between its actsweep markers, and copies the pages' charts to docs/img/.
# Goes on past failed jobs; exits 1 if any failed.
# Reproduce every study: all sweeps, their reports, the study pages, README and charts.
reproduce:
    cargo build --release --locked --quiet
    status=0; \
    for f in experiments.toml sweeps/xor_gradient_flow.toml sweeps/identity_dead_relu.toml \
             sweeps/activation_zoo.toml sweeps/dead_neurons.toml sweeps/fair_zoo.toml; do \
        name=$(sed -n 's/^name *= *"\(.*\)".*/\1/p' "$f" | head -n 1); \
        readmes="--readme docs/studies/$name.md"; \
        if [ "$f" = experiments.toml ]; then readmes="$readmes --readme README.md"; fi; \
        ./target/release/actsweep run "$f" || status=1; \
        ./target/release/actsweep report "$f" $readmes || status=1; \
    done; \
    mkdir -p docs/img; \
    for c in relu-experiment/depth_sweep_line relu-experiment/gradient_norms_layers \
             relu-experiment/two_moons_boundary relu-experiment/activation_comparison_vs_relu \
             xor_gradient_flow/accuracy_comparison activation_zoo/zoo_vs_relu \
             activation_zoo/zoo_learning dead_neurons/learning_rate_line \
             fair_zoo/zoo_cd fair_zoo/zoo_tuned_bar; do \
        cp "results/${c%%/*}/report/${c#*/}.png" "docs/img/${c%%/*}-${c#*/}.png" || status=1; \
    done; \
    exit $status

# Write the report of a sweep's results: results/<name>/report/ (add --check, --readme FILE...).
report FILE="experiments.toml" *ARGS:
    cargo run --release --locked --quiet -- report {{FILE}} {{ARGS}}

# Show a sweep file's axes, job counts and work estimate.
plan FILE="experiments.toml" *ARGS:
    cargo run --release --locked --quiet -- plan {{FILE}} {{ARGS}}

# Run every test (unit, CLI, snapshot, property, and the real-Slurm test,
# whose packages scripts/slurm-local.sh installs when missing).
test:
    cargo nextest run --lib --bins --tests --locked

# Run the benchmarks (release build), with the PyTorch peers in the same
# sitting when `just torch` has made .venv-torch (or ACTSWEEP_TORCH_PYTHON
# names a Python with torch).
bench *ARGS:
    if [ -z "${ACTSWEEP_TORCH_PYTHON:-}" ] && [ -x .venv-torch/bin/python ]; then \
        export ACTSWEEP_TORCH_PYTHON="$PWD/.venv-torch/bin/python"; fi; \
    cargo bench {{ARGS}}

# Install the PyTorch peers of the benchmarks into .venv-torch (large download).
torch:
    python3 -m venv .venv-torch
    .venv-torch/bin/pip install --quiet torch numpy

# Format check and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
    cargo check --features cuda-check --lib

# Needs python3 and a C compiler; see scripts/build-cuda.sh and docs/training.md.
# Build the CUDA binary without a CUDA toolkit (pinned CUDA 13.0 wheels, ~1.2 GB, in .cuda/) and pack it for a GPU machine in gpu-pack/.
build-cuda:
    bash scripts/build-cuda.sh

# Compile every activation's generated CUDA kernels with NVRTC 13.0 for compute_90 (H100/H200), without a GPU
# (the NVRTC wheel, ~250 MB, in .cuda/nvrtc); add a sweep file to check its activations too.
nvrtc-check *ARGS:
    bash scripts/nvrtc-check.sh {{ARGS}}

# The GPU check's CPU half (scripts/gpu-check.sh --cpu; on a GPU machine the pack's run-on-gpu.sh runs it whole).
gpu-check-cpu:
    cargo build --release --locked --quiet
    bash scripts/gpu-check.sh --cpu
