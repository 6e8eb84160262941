//! `actsweep run` and `collect` through the real binary: resume after
//! SIGKILL, failure isolation and exit codes, the lock, shards, jobs with
//! identical configs trained once, and the schema of the Parquet tables.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use polars::prelude::*;

mod common;
use common::{actsweep, comparable, counts, read, succeed, write_sweep};

const SWEEP: &str = r#"
name = "tiny"
[defaults]
dataset = { name = "xor", samples = 300 }
depth = 3
width = 8
loss = "bce"
epochs = 30
batch_size = 16
seeds = 3
[experiments.acts]
grid.activation = ["tanh", "relu", "softsign", "linear"]
[experiments.moons]
dataset = { name = "two_moons", samples = 200 }
record = ["decision_boundary", "dead_units"]
grid.width = [4, 8]
"#;

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = actsweep(dir).arg("run").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `actsweep ARGS` (any command) with `key` set to `value` in its
/// environment: (exit code, stderr).
fn run_with_env(dir: &Path, args: &[&str], key: &str, value: &Path) -> (i32, String) {
    let out = actsweep(dir).args(args).env(key, value).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `actsweep run ARGS` in the background, its output discarded.
fn spawn_run(dir: &Path, args: &[&str]) -> std::process::Child {
    actsweep(dir)
        .arg("run")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn strs(df: &DataFrame, name: &str) -> Vec<String> {
    let c = df.column(name).unwrap().str().unwrap().clone();
    (0..c.len())
        .map(|i| c.get(i).unwrap_or("").to_string())
        .collect()
}

#[test]
fn killed_runs_resume_to_the_same_tables() {
    killed_runs_resume_to_the_tables_of_one_plain_run(&[]);
}

/// Stacks of same-shape jobs (here up to 4 of the 12 `acts` jobs, which
/// differ in activation and seed) give every job the tables of its plain
/// run, and resume after SIGKILL as plain runs do.
#[test]
fn stacked_runs_give_the_plain_tables_and_resume_after_kills() {
    killed_runs_resume_to_the_tables_of_one_plain_run(&["--stack", "4"]);
}

/// Runs SWEEP plainly, then kills runs with `extra` arguments at random
/// moments, resumes, and compares the tables with the plain run's.
fn killed_runs_resume_to_the_tables_of_one_plain_run(extra: &[&str]) {
    let base = tempfile::tempdir().unwrap();
    let file = write_sweep(base.path(), SWEEP);
    let (code, err) = run(base.path(), &["sweep.toml", "--out", "full", "--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    let want = comparable(&base.path().join("full/tiny"));
    assert_eq!(want.0.height(), 18);

    // Kill at several moments, each time resuming the same folder; the
    // delays are random, and printed for a rerun.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut state = seed | 1;
    let mut kills = 0;
    for round in 0..4 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_millis(20 + state % 400);
        let args = [file.to_str().unwrap(), "--out", "resumed", "--jobs", "2"];
        let mut child = spawn_run(base.path(), &[&args[..], extra].concat());
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let status = child.wait().unwrap();
        eprintln!("round {round}: killed after {delay:?} (seed {seed}): {status:?}");
    }
    let args = ["sweep.toml", "--out", "resumed", "--jobs", "2"];
    let (code, err) = run(base.path(), &[&args[..], extra].concat());
    assert_eq!(code, 0, "{err}");
    let got = comparable(&base.path().join("resumed/tiny"));
    assert_eq!(got.0, want.0, "runs differ (seed {seed}, {kills} kills)");
    assert_eq!(got.1, want.1, "metrics differ (seed {seed}, {kills} kills)");
    assert_eq!(
        got.2, want.2,
        "boundaries differ (seed {seed}, {kills} kills)"
    );
    // No temporary file survives in the folders a reader looks at.
    for entry in std::fs::read_dir(base.path().join("resumed/tiny")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "left behind: {name}");
    }
}

#[test]
fn a_diverging_job_is_recorded_and_the_others_finish() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(
        base.path(),
        r#"
name = "boom"
[defaults]
dataset = { name = "xor", samples = 100 }
depth = 2
width = 4
loss = "bce"
epochs = 3
seeds = [0]
[experiments.e]
grid.optimizer = [{ name = "sgd", lr = 0.1 }, { name = "sgd", lr = 1e30 }, { name = "adam", lr = 0.01 }]
"#,
    );
    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "2", "-q"]);
    assert_eq!(code, 1, "{err}");
    let runs = read(&base.path().join("results/boom/runs.parquet"))
        .sort(["index"], Default::default())
        .unwrap();
    let status = strs(&runs, "status");
    assert_eq!(status, ["ok", "diverged", "ok"]);
    let epoch = runs.column("diverged_epoch").unwrap().u32().unwrap().get(1);
    assert_eq!(epoch, Some(1));
    // A rerun trains nothing (divergence is deterministic) and still says so.
    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "2"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("0 trained") && err.contains("diverged"),
        "{err}"
    );
}

#[test]
fn a_failing_job_is_isolated_and_retried_on_rerun() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), FAILING);
    let (code, err) = run_with_env(
        base.path(),
        &["run", "sweep.toml", "--jobs", "1"],
        "ACTSWEEP_DATA",
        &base.path().join("nothing"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nocuda/seed=0: failed"), "{err}");
    let runs = read(&base.path().join("results/missing/runs.parquet"));
    let status = strs(&runs, "status");
    assert_eq!(status, ["ok", "failed"]);
    let msg = runs
        .column("error")
        .unwrap()
        .str()
        .unwrap()
        .get(1)
        .unwrap()
        .to_string();
    assert!(msg.contains("needs a build with CUDA support"), "{msg}");
    // Failed jobs are retried; the ok one is not.
    let (_, err) = run_with_env(
        base.path(),
        &["run", "sweep.toml", "--jobs", "1"],
        "ACTSWEEP_DATA",
        &base.path().join("nothing"),
    );
    assert!(
        err.contains("1 trained (0 ok), 0 reused, 1 already done"),
        "{err}"
    );
}

#[test]
fn a_missing_dataset_stops_the_run_before_any_job_starts() {
    // Regression: with MNIST absent and no network, every MNIST job printed
    // the same "not found" message and was recorded failed, and `report`
    // then failed on the metrics they never wrote.
    let base = tempfile::tempdir().unwrap();
    let run_in = |cmd: &str| {
        run_with_env(
            base.path(),
            &[cmd, "sweep.toml", "--jobs", "1", "--no-bar"],
            "ACTSWEEP_DATA",
            &base.path().join("nothing"),
        )
    };
    // An earlier run's results, which the refused runs must leave alone.
    write_sweep(base.path(), FAILING);
    assert_eq!(run_in("run").0, 1);
    let folder = base.path().join("results/missing");
    let files = || {
        let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder.join("jobs"))
            .unwrap()
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        all.sort();
        all.push((
            "sweep.toml".into(),
            std::fs::read(folder.join("sweep.toml")).unwrap(),
        ));
        all.push((
            "plan.json".into(),
            std::fs::read(folder.join("plan.json")).unwrap(),
        ));
        all
    };
    let before = files();
    write_sweep(
        base.path(),
        &format!(
            "{FAILING}[experiments.nomnist]\ndataset = {{ name = \"mnist\", path = \"no/such/folder\", mirrors = [] }}\ngrid.width = [4, 8]\n"
        ),
    );
    for cmd in ["run", "sweep"] {
        let (code, err) = run_in(cmd);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            err.contains("dataset `mnist` does not load, so no job was started"),
            "{cmd}: {err}"
        );
        assert_eq!(
            err.matches("no/such/folder").count(),
            1,
            "{cmd}: one message\n{err}"
        );
        assert!(!err.contains("Report"), "{cmd}: {err}");
        // No job ran (the failed xor job would have been retried), and the
        // folder's sweep copy and plan are still the earlier run's.
        assert!(files() == before, "{cmd}: the results folder changed");
    }
}

#[test]
fn a_second_run_on_the_same_folder_is_refused() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), &SWEEP.replace("epochs = 30", "epochs = 400"));
    let mut first = actsweep(base.path())
        .args(["run", "sweep.toml", "--jobs", "1", "-q"])
        .spawn()
        .unwrap();
    let lock = base.path().join("results/tiny/run.lock");
    let t0 = Instant::now();
    while !lock.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "first run never locked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "1"]);
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "in use by another actsweep run (pid {}",
            first.id()
        )),
        "{err}"
    );
    // The killed run's lock is stale now: the next run takes it over.
    let (code, err) = run(
        base.path(),
        &[
            "sweep.toml",
            "--jobs",
            "2",
            "--only",
            "experiment=moons",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn shards_collect_to_the_full_run_and_edits_retrain_only_what_changed() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SWEEP);
    assert_eq!(run(base.path(), &["sweep.toml", "--out", "full"]).0, 0);
    for s in ["1/3", "2/3", "3/3"] {
        let out = format!("shard{}", &s[..1]);
        let (code, err) = run(
            base.path(),
            &["sweep.toml", "--out", &out, "--shard", s, "-q"],
        );
        assert_eq!(code, 0, "{err}");
        // Regression: every shard merged every job present into its own
        // tables; the merge is `collect`'s.
        assert!(!base.path().join(&out).join("tiny/runs.parquet").exists());
    }
    succeed(actsweep(base.path()).args([
        "collect",
        "shard1/tiny",
        "shard2/tiny",
        "shard3/tiny",
        "--into",
        "merged",
    ]));
    let a = comparable(&base.path().join("full/tiny"));
    let b = comparable(&base.path().join("merged"));
    assert_eq!(
        a.0.drop("git_commit").unwrap(),
        b.0.drop("git_commit").unwrap()
    );
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2);

    // Change one field of one experiment: only its jobs train again.
    write_sweep(
        base.path(),
        &SWEEP.replace("grid.width = [4, 8]", "grid.width = [4, 8]\nepochs = 5"),
    );
    let (code, err) = run(base.path(), &["sweep.toml", "--out", "full"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("6 trained (6 ok), 0 reused, 12 already done"),
        "{err}"
    );
    // The merged tables hold the current plan only: 18 jobs.
    assert_eq!(
        read(&base.path().join("full/tiny/runs.parquet")).height(),
        18
    );
}

#[test]
fn tables_have_the_documented_schema() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), &SWEEP.replace("seeds = 3", "seeds = 1"));
    assert_eq!(run(base.path(), &["sweep.toml", "-q"]).0, 0);
    let dir = base.path().join("results/tiny");
    let schema = |name: &str| -> Vec<(String, DataType)> {
        read(&dir.join(name))
            .schema()
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect()
    };
    let s = |n: &str, t: DataType| (n.to_string(), t);
    assert_eq!(
        schema("metrics.parquet"),
        vec![
            s("job_id", DataType::String),
            s("epoch", DataType::UInt32),
            s("split", DataType::String),
            s("layer", DataType::UInt32),
            s("metric", DataType::String),
            s("value", DataType::Float64),
        ]
    );
    assert_eq!(
        schema("boundaries.parquet"),
        vec![
            s("job_id", DataType::String),
            s("epoch", DataType::UInt32),
            s("x", DataType::Float32),
            s("y", DataType::Float32),
            s("value", DataType::Float32),
        ]
    );
    let runs = schema("runs.parquet");
    let fixed = [
        s("job_id", DataType::String),
        s("index", DataType::UInt32),
        s("experiment", DataType::String),
        s("label", DataType::String),
        s("seed", DataType::Int64),
        s("axes", DataType::String),
        s("axis.activation", DataType::String),
        s("axis.width", DataType::String),
        s("status", DataType::String),
        s("error", DataType::String),
        s("diverged_epoch", DataType::UInt32),
        s("epochs_completed", DataType::UInt32),
        s("device", DataType::String),
        s("threads", DataType::UInt32),
        s("started_at", DataType::String),
        s("finished_at", DataType::String),
        s("wall_seconds", DataType::Float64),
        s("train_seconds", DataType::Float64),
        s("samples_per_second", DataType::Float64),
        s("actsweep_version", DataType::String),
        s("git_commit", DataType::String),
    ];
    assert_eq!(&runs[..fixed.len()], &fixed[..]);
    for (name, ty) in [
        ("config.depth", DataType::Int64),
        ("config.activation.name", DataType::String),
        ("config.optimizer.lr", DataType::Float64),
        ("config.dataset.samples", DataType::Int64),
        ("config.dropout", DataType::Float64),
        // List-valued fields are Parquet lists, not joined strings.
        ("config.widths", DataType::List(Box::new(DataType::Int64))),
        ("config.record", DataType::List(Box::new(DataType::String))),
    ] {
        assert!(
            runs.contains(&s(name, ty.clone())),
            "no {name}: {ty:?} in {runs:?}"
        );
    }
    // Epoch 0 is in the metrics; the job folder also has the plan and sweep.
    let m = read(&dir.join("metrics.parquet"));
    let epochs = m.column("epoch").unwrap().u32().unwrap().clone();
    let e0 = (0..epochs.len()).any(|i| epochs.get(i) == Some(0));
    assert!(e0);
    assert!(std::fs::read_to_string(dir.join("sweep.toml"))
        .unwrap()
        .contains("name = \"tiny\""));
    assert!(std::fs::read_to_string(dir.join("plan.json"))
        .unwrap()
        .contains("\"jobs\""));
    assert!(std::fs::read_to_string(dir.join("run.log"))
        .unwrap()
        .contains("start"));
}

/// Regression: a finished job's results reached the disk only after every
/// later job had trained (the runner's worker, waiting on polars' writer
/// pool, stole the next job meanwhile), so a killed run lost them all. With
/// one worker, the first job must be committed before the second starts.
#[test]
fn each_job_is_written_before_the_next_one_starts() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(
        base.path(),
        &SWEEP
            .replace("epochs = 30", "epochs = 300")
            .replace("seeds = 3", "seeds = 1"),
    );
    let mut child = spawn_run(
        base.path(),
        &[
            "sweep.toml",
            "--jobs",
            "1",
            "--only",
            "experiment=acts",
            "-q",
        ],
    );
    let root = base.path().join("results/tiny");
    let t0 = Instant::now();
    loop {
        let log = std::fs::read_to_string(root.join("run.log")).unwrap_or_default();
        if log.matches("}: start").count() >= 2 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the run ended before a second job started:\n{log}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no second job:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let records = std::fs::read_dir(root.join("jobs"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.ends_with(".json") && !name.starts_with('.')
        })
        .count();
    assert!(
        records >= 1,
        "the first job was not committed before the second started"
    );
}

/// Three experiments sharing two configs: the ReLU net of `pair` is also the
/// whole of `relu` (seed 1 only) and half of `trio`. 9 jobs, 6 trainings:
/// relu seed 0 is jobs 2 and 5, relu seed 1 jobs 3, 4 and 6; positions of
/// both parities, so a shard by job position would split a group.
const SHARED: &str = r#"
name = "shared"
[defaults]
dataset = { name = "xor", samples = 200 }
depth = 2
width = 8
loss = "bce"
epochs = 5
seeds = 2
[experiments.pair]
grid.activation = ["tanh", "relu"]
[experiments.relu]
activation = "relu"
seeds = [1]
[experiments.trio]
grid.activation = ["relu", "softsign"]
"#;

/// The labels of the three jobs of relu seed 1.
const RELU_1: [&str; 3] = [
    "pair/activation=relu,seed=1",
    "relu/seed=1",
    "trio/activation=relu,seed=1",
];

/// Trainings started in a results folder, over all its runs (from run.log).
fn trainings_started(results: &Path) -> usize {
    let log = std::fs::read_to_string(results.join("run.log")).unwrap();
    log.matches("}: start").count()
}

/// Job ids by label, from runs.parquet.
fn ids_by_label(results: &Path) -> std::collections::HashMap<String, String> {
    let runs = read(&results.join("runs.parquet"));
    strs(&runs, "label")
        .into_iter()
        .zip(strs(&runs, "job_id"))
        .collect()
}

/// One job's rows of metrics.parquet, without the job id.
fn metrics_of(results: &Path, id: &str) -> DataFrame {
    read(&results.join("metrics.parquet"))
        .lazy()
        .filter(col("job_id").eq(lit(id)))
        .collect()
        .unwrap()
        .drop("job_id")
        .unwrap()
}

#[test]
fn identical_configs_train_once_and_every_experiment_reads_them() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SHARED);
    let plan = actsweep(base.path())
        .args(["plan", "sweep.toml"])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.contains("total: 9 jobs (6 distinct trainings)"),
        "{plan}"
    );

    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "2", "--no-bar"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&err), (9, 6, 3, 0), "{err}");
    let dir = base.path().join("results/shared");
    assert_eq!(trainings_started(&dir), 6);

    // Every job has its own row and rows of metrics; the three jobs of one
    // training have the same metrics (timings included: one training) and
    // their own identity.
    let runs = read(&dir.join("runs.parquet"));
    assert_eq!(runs.height(), 9);
    let ids = ids_by_label(&dir);
    let first = metrics_of(&dir, &ids[RELU_1[0]]);
    assert!(first.height() > 0);
    for label in &RELU_1[1..] {
        assert_eq!(metrics_of(&dir, &ids[*label]), first, "{label}");
    }
    let started = strs(&runs, "started_at");
    let experiments = strs(&runs, "experiment");
    let labels = strs(&runs, "label");
    let row = |label: &str| labels.iter().position(|l| l == label).unwrap();
    for label in RELU_1 {
        assert_eq!(started[row(label)], started[row(RELU_1[0])], "{label}");
        assert_eq!(experiments[row(label)], label.split('/').next().unwrap());
    }
}

#[test]
fn a_shared_job_resumes_by_copy_and_force_retrains_once() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SHARED);
    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    let dir = base.path().join("results/shared");
    let before = comparable(&dir);

    // Delete one job of a shared training: its group-mates are done, so the
    // rerun writes it from their files and trains nothing.
    let id = ids_by_label(&dir)[RELU_1[1]].clone();
    for file in [format!("{id}.json"), format!("{id}.metrics.parquet")] {
        std::fs::remove_file(dir.join("jobs").join(file)).unwrap();
    }
    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&err), (9, 0, 1, 8), "{err}");
    assert_eq!(trainings_started(&dir), 6);
    let after = comparable(&dir);
    assert_eq!(after.0, before.0);
    assert_eq!(after.1, before.1);
    let record = std::fs::read_to_string(dir.join(format!("jobs/{id}.json"))).unwrap();
    assert!(record.contains("\"label\": \"relu/seed=1\""), "{record}");

    // --force retrains every training once and rewrites every job.
    let (code, err) = run(base.path(), &["sweep.toml", "--jobs", "2", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&err), (9, 6, 3, 0), "{err}");
    assert_eq!(trainings_started(&dir), 12);
    // A selected job trains even when its group-mates are not selected.
    let (code, err) = run(
        base.path(),
        &["sweep.toml", "--force", "--only", "experiment=relu"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&err), (1, 1, 0, 0), "{err}");
    assert_eq!(trainings_started(&dir), 13);
}

#[test]
fn shards_never_train_one_config_twice() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SHARED);
    assert_eq!(run(base.path(), &["sweep.toml", "--out", "full"]).0, 0);
    let (mut selected, mut trained) = (0, 0);
    for s in ["1/2", "2/2"] {
        let out = format!("shard{}", &s[..1]);
        let (code, err) = run(base.path(), &["sweep.toml", "--out", &out, "--shard", s]);
        assert_eq!(code, 0, "{err}");
        let (n, t, _, _) = counts(&err);
        selected += n;
        trained += t;
    }
    assert_eq!((selected, trained), (9, 6));
    succeed(actsweep(base.path()).args([
        "collect",
        "shard1/shared",
        "shard2/shared",
        "--into",
        "merged",
    ]));
    let a = comparable(&base.path().join("full/shared"));
    let b = comparable(&base.path().join("merged"));
    assert_eq!(
        a.0.drop("git_commit").unwrap(),
        b.0.drop("git_commit").unwrap()
    );
    assert_eq!(a.1, b.1);
}

const FAILING: &str = r#"
name = "missing"
[defaults]
depth = 2
width = 4
epochs = 1
seeds = [0]
[experiments.ok]
dataset = { name = "xor", samples = 50 }
[experiments.nocuda]
dataset = { name = "xor", samples = 50 }
device = "cuda"
"#;

#[test]
fn sweep_writes_the_report_even_when_a_job_fails_and_exits_with_runs_code() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), FAILING);
    let (code, err) = run_with_env(
        base.path(),
        &["sweep", "sweep.toml", "--jobs", "1", "--no-bar"],
        "ACTSWEEP_DATA",
        &base.path().join("nothing"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nocuda/seed=0: failed"), "{err}");
    let report = std::fs::read_to_string(base.path().join("results/missing/report/REPORT.md"))
        .unwrap_or_else(|e| panic!("no report ({e}):\n{err}"));
    assert!(
        report.contains("2 jobs planned, 1 ok, 1 failed"),
        "{report}"
    );

    // A sweep whose jobs all finish exits 0, with its report.
    let fine = FAILING.split("[experiments.nocuda]").next().unwrap();
    write_sweep(base.path(), fine);
    succeed(actsweep(base.path()).args(["sweep", "sweep.toml", "--no-bar"]));
}

/// `actsweep status FILE --json` in `dir`.
fn status_json(dir: &Path) -> serde_json::Value {
    let out = succeed(actsweep(dir).args(["status", "sweep.toml", "--json"]));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn status_counts_jobs_per_experiment_and_names_running_runs() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), FAILING);
    let before = status_json(base.path());
    assert_eq!(before["total"]["not_run"], 2, "{before}");
    assert_eq!(before["runs"].as_array().unwrap().len(), 0, "{before}");
    let (code, err) = run_with_env(
        base.path(),
        &["run", "sweep.toml", "--jobs", "1"],
        "ACTSWEEP_DATA",
        &base.path().join("nothing"),
    );
    assert_eq!(code, 1, "{err}");
    let after = status_json(base.path());
    let exp = |name: &str| {
        after["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {after}"))
            .clone()
    };
    assert_eq!(exp("ok")["ok"], 1, "{after}");
    assert_eq!(exp("nocuda")["failed"], 1, "{after}");
    assert_eq!(after["total"]["not_run"], 0, "{after}");
    let text = actsweep(base.path())
        .args(["status", "sweep.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let total: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("total"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(total, ["total", "2", "1", "0", "1", "0"], "{text}");

    // While a run is going, its lock is shown.
    write_sweep(base.path(), &SWEEP.replace("epochs = 30", "epochs = 400"));
    let mut going = spawn_run(base.path(), &["sweep.toml", "--jobs", "1"]);
    let lock = base.path().join("results/tiny/run.lock");
    let t0 = Instant::now();
    while !lock.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the run never locked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let during = status_json(base.path());
    let _ = going.kill();
    let _ = going.wait();
    let runs = during["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{during}");
    assert_eq!(runs[0]["pid"], going.id(), "{during}");
    assert_eq!(runs[0]["alive"], true, "{during}");
}

#[test]
fn slurm_dry_run_writes_the_scripts_and_submits_nothing() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SWEEP);
    // No sbatch on PATH: a dry run does not need one, a submission does.
    let empty = base.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let out = succeed(
        actsweep(base.path())
            .args(["slurm", "sweep.toml", "--dry-run", "--partition", "short"])
            .env("PATH", &empty),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = base.path().join("results/tiny/slurm");
    let array = std::fs::read_to_string(dir.join("array.sbatch")).unwrap();
    assert!(stdout.contains(&array), "{stdout}");
    // 18 jobs, 18 distinct trainings: one task each, at most 32.
    assert!(array.contains("#SBATCH --array=1-18\n"), "{array}");
    assert!(array.contains("#SBATCH --partition=short\n"), "{array}");
    let bin = assert_cmd::cargo::cargo_bin("actsweep");
    assert!(
        array.contains(&format!("exec {} run ", bin.display())),
        "{array}"
    );
    assert!(
        array.contains("--shard \"${SLURM_ARRAY_TASK_ID}/18\""),
        "{array}"
    );
    let collect = std::fs::read_to_string(dir.join("collect.sbatch")).unwrap();
    assert!(collect.contains(" collect "), "{collect}");
    assert!(
        stdout.contains("dry run: nothing submitted (18 of 18 jobs to train, 18 tasks)"),
        "{stdout}"
    );
    assert!(!base
        .path()
        .join("results/tiny/jobs")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some()));

    // Without --dry-run, a missing sbatch is an error that says what to do.
    let (code, err) = run_with_env(base.path(), &["slurm", "sweep.toml"], "PATH", &empty);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot run sbatch") && err.contains("--dry-run"),
        "{err}"
    );
}

#[test]
fn progress_lines_carry_a_time_left_that_ends_at_zero() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SWEEP);
    let (code, err) = run(
        base.path(),
        &[
            "sweep.toml",
            "--jobs",
            "2",
            "--no-bar",
            "--only",
            "experiment=acts",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(", eta ")).collect();
    assert_eq!(lines.len(), 12, "{err}");
    assert!(lines.last().unwrap().ends_with(", eta 0s"), "{err}");
}

/// Keeps the first half of a file's bytes.
fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn damaged_job_files_are_set_aside_and_the_jobs_retrained() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SWEEP);
    let (code, err) = run(base.path(), &["sweep.toml", "--only", "experiment=acts"]);
    assert_eq!(code, 0, "{err}");
    let results = base.path().join("results/tiny");
    let clean = comparable(&results);
    let ids = ids_by_label(&results);
    let jobs = results.join("jobs");
    let id = |label: &str| ids[label].clone();
    // A truncated record, a truncated table, a missing table.
    truncate(&jobs.join(format!("{}.json", id("acts/activation=tanh,seed=0"))));
    truncate(&jobs.join(format!(
        "{}.metrics.parquet",
        id("acts/activation=relu,seed=1")
    )));
    std::fs::remove_file(jobs.join(format!(
        "{}.metrics.parquet",
        id("acts/activation=linear,seed=2")
    )))
    .unwrap();

    let (code, err) = run(base.path(), &["sweep.toml", "--only", "experiment=acts"]);
    assert_eq!(code, 0, "{err}");
    for label in [
        "acts/activation=tanh,seed=0",
        "acts/activation=relu,seed=1",
        "acts/activation=linear,seed=2",
    ] {
        assert!(
            err.contains(&format!("{label}: its results do not read back")),
            "no warning for {label}:\n{err}"
        );
    }
    assert_eq!(counts(&err), (12, 3, 0, 9), "{err}");
    // Set aside, not deleted: two files each of the first two, one of the third.
    let aside = std::fs::read_dir(jobs.join("damaged")).unwrap().count();
    assert_eq!(aside, 5, "{err}");
    assert_eq!(comparable(&results), clean);
}

#[test]
fn collect_leaves_out_and_lists_a_corrupt_job_of_a_shard() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SWEEP);
    for (shard, out) in [("1/2", "a"), ("2/2", "b")] {
        let (code, err) = run(base.path(), &["sweep.toml", "--shard", shard, "--out", out]);
        assert_eq!(code, 0, "{err}");
    }
    // Corrupt the footer's metadata, keeping both `PAR1` marks: only
    // reading the table finds it.
    let jobs = base.path().join("b/tiny/jobs");
    let table = std::fs::read_dir(&jobs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".metrics.parquet"))
        .unwrap();
    let mut bytes = std::fs::read(&table).unwrap();
    let n = bytes.len();
    bytes[n - 40..n - 8].fill(0xff);
    std::fs::write(&table, bytes).unwrap();
    let out =
        succeed(actsweep(base.path()).args(["collect", "a/tiny", "b/tiny", "--into", "merged"]));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = table.file_name().unwrap().to_string_lossy().into_owned();
    let id = name.trim_end_matches(".metrics.parquet");
    assert!(err.contains("left out 1 job(s)"), "{err}");
    assert!(err.contains(&format!("  {id}: ")), "{err}");
    assert_eq!(read(&base.path().join("merged/runs.parquet")).height(), 17);
}

#[test]
fn report_says_when_job_records_are_newer_than_the_tables() {
    let base = tempfile::tempdir().unwrap();
    write_sweep(base.path(), SWEEP);
    let (code, err) = run(base.path(), &["sweep.toml", "--only", "experiment=moons"]);
    assert_eq!(code, 0, "{err}");
    let report = || {
        let out = actsweep(base.path())
            .args(["report", "sweep.toml"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(!report().contains("newer than"), "{}", report());
    // A job written after the merge (e.g. by a shard still running).
    let jobs = base.path().join("results/tiny/jobs");
    let record = std::fs::read_dir(&jobs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&record, std::fs::read(&record).unwrap()).unwrap();
    let err = report();
    assert!(
        err.contains("1 job record(s) in results/tiny are newer than its merged tables"),
        "{err}"
    );
}
