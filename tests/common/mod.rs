//! Helpers shared by the integration tests and the benches: the binary
//! under test and running a command that must succeed (one place that says
//! what failed: command, exit status, stdout, stderr), sweep files from
//! text, reading the tidy tables, comparing two results folders on
//! everything but clock times, and job records for fixtures written through
//! the runner's writer.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use actsweep::config::Sweep;
use actsweep::plan::{Job, Plan};
use actsweep::results::{JobRecord, JobStatus};
use assert_cmd::cargo::CommandCargoExt;
use polars::prelude::*;
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `actsweep` binary, run in `dir`, without the caller's `RUST_LOG`
/// and colours (so messages are as users see them by default). A plain
/// `std::process::Command`, so tests can spawn it; `assert_cmd::prelude`
/// adds `.assert()`.
pub fn actsweep(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("actsweep").unwrap_or_else(|e| panic!("{e}"));
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    c
}

/// Runs `cmd` to completion and returns its output, or panics if it could
/// not start or did not exit with status 0, with the command line, the exit
/// status, stdout and stderr.
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Writes `text` as `dir/sweep.toml`; returns its path.
pub fn write_sweep(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("sweep.toml");
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p
}

/// A sweep given as text, parsed and planned by the real parser and
/// planner, or a panic with the message and the text.
pub fn plan_text(text: &str) -> (Sweep, Plan) {
    let sweep = actsweep::config::parse("sweep.toml", "sweep", text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = Plan::new(&sweep).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (sweep, plan)
}

/// A Parquet table, or a panic naming the file.
pub fn read(path: &Path) -> DataFrame {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(f)
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The merged tables of a results folder without what legitimately differs
/// between two runs (clock times, speeds), sorted.
pub fn comparable(results: &Path) -> (DataFrame, DataFrame, DataFrame) {
    let runs = read(&results.join("runs.parquet"))
        .drop_many([
            "started_at",
            "finished_at",
            "wall_seconds",
            "train_seconds",
            "samples_per_second",
        ])
        .sort(["job_id"], Default::default())
        .unwrap();
    let metrics = read(&results.join("metrics.parquet"))
        .lazy()
        .filter(
            col("metric")
                .neq(lit("epoch_seconds"))
                .and(col("metric").neq(lit("samples_per_second"))),
        )
        .sort(
            ["job_id", "epoch", "split", "layer", "metric"],
            Default::default(),
        )
        .collect()
        .unwrap();
    let bounds = read(&results.join("boundaries.parquet"))
        .sort(["job_id", "epoch", "y", "x"], Default::default())
        .unwrap();
    (runs, metrics, bounds)
}

/// The counts in a run's summary line (`N jobs selected: T trained (K ok),
/// R reused, D already done`): (selected, trained, reused, already done).
pub fn counts(stderr: &str) -> (usize, usize, usize, usize) {
    let line = stderr
        .lines()
        .find(|l| l.contains(" jobs selected: "))
        .unwrap_or_else(|| panic!("no summary in\n{stderr}"));
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    // selected, trained, ok, reused, already done, seconds...
    (nums[0], nums[1], nums[3], nums[4])
}

/// The record `run` would write for `job` at plan position `index`, with
/// fixed clock fields: for fixtures written through the runner's writer.
pub fn record(
    job: &Job,
    index: usize,
    status: JobStatus,
    epochs: u32,
    has_boundary: bool,
) -> JobRecord {
    JobRecord {
        status,
        diverged_epoch: (status == JobStatus::Diverged).then_some(epochs + 1),
        epochs_completed: epochs,
        device: "cpu".into(),
        started_at: "2026-12-03T00:00:00.000Z".into(),
        finished_at: "2026-12-03T00:00:01.000Z".into(),
        wall_seconds: 1.0,
        train_seconds: 1.0,
        has_boundary,
        ..JobRecord::new(job, index)
    }
}

/// The folder holding `mnist/`, for the MNIST tests and for `ACTSWEEP_DATA`
/// of the binaries they run: MNIST is found by the tool's own lookup
/// ([`actsweep::data::mnist::find`]: `$ACTSWEEP_DATA/mnist`, then the
/// project's `data/mnist`, the tests' working directory being the project),
/// and downloaded into `data/mnist` from the public mirrors when it is in
/// neither. Without the files and without a network, every MNIST test fails
/// with the tool's own message: every place looked, every download tried,
/// and where to put the four files.
pub fn mnist_root() -> PathBuf {
    let mirrors = actsweep::data::mnist::default_mirrors();
    let (dir, _) = actsweep::data::mnist::find(None, &mirrors)
        .unwrap_or_else(|e| panic!("the MNIST tests need the four MNIST files.\n{e}"));
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir.parent()
        .unwrap_or_else(|| panic!("{} has no parent folder", dir.display()))
        .to_path_buf()
}
