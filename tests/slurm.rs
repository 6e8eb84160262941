//! `actsweep slurm` against a real Slurm, not a mock: a throw-away one-node
//! cluster started by `scripts/slurm-local.sh` (which installs Debian's
//! packages when they are missing), a small sweep submitted as a job array,
//! and its collected tables compared with a local run of the same file.
//! Then one job's record is removed and the sweep resubmitted: only that
//! job trains again.
//!
//! Where Slurm cannot be installed or started the test fails, saying why;
//! it never passes without a cluster. `ACTSWEEP_SLURM_TEST=skip` skips it
//! explicitly (and says so on stderr), for machines that cannot run one.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{comparable, counts, root, succeed};

const SWEEP: &str = r#"
name = "tiny"
[defaults]
dataset = { name = "xor", samples = 200 }
depth = 3
width = 8
loss = "bce"
epochs = 8
batch_size = 16
seeds = 2
[experiments.acts]
grid.activation = ["tanh", "relu", "softsign"]
[experiments.again]
activation = "tanh"
"#;

/// How long the whole array may take before the test gives up.
const WAIT: Duration = Duration::from_secs(300);

/// A running cluster, stopped when dropped.
struct Cluster {
    state: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn start(state: &Path) -> Cluster {
        let install = script(&["install"]);
        assert!(
            install.status.success(),
            "SLURM TEST FAILED: the Slurm packages could not be installed \
             (ACTSWEEP_SLURM_TEST=skip skips this test):\n{}",
            text(&install)
        );
        // Ports the OS says are free, so a developer's cluster (or one left
        // by a killed test) on Slurm's default ports does not get in the way.
        let ports = free_ports();
        let start = Command::new("bash")
            .arg(root().join("scripts/slurm-local.sh"))
            .args(["start", &state.to_string_lossy()])
            .env("SLURM_LOCAL_CTLD_PORT", ports[0].to_string())
            .env("SLURM_LOCAL_SLURMD_PORT", ports[1].to_string())
            .output()
            .unwrap();
        assert!(
            start.status.success(),
            "SLURM TEST FAILED: a one-node Slurm could not start \
             (ACTSWEEP_SLURM_TEST=skip skips this test):\n{}",
            text(&start)
        );
        Cluster {
            state: state.to_path_buf(),
            conf: state.join("slurm.conf"),
        }
    }

    /// A command with this cluster's configuration.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Waits until Slurm lists none of `ids`.
    fn wait(&self, ids: &[&str]) {
        let t0 = Instant::now();
        loop {
            let out = self
                .command("squeue")
                .args(["-h", "-o", "%i %T", "-j", &ids.join(",")])
                .output()
                .unwrap();
            let listed = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && listed.is_empty() {
                return;
            }
            assert!(
                t0.elapsed() < WAIT,
                "Slurm jobs {ids:?} still listed after {WAIT:?}:\n{listed}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = script(&["stop", &self.state.to_string_lossy()]);
    }
}

/// Two distinct TCP ports nothing listens on now (the OS's choice, released
/// at once).
fn free_ports() -> [u16; 2] {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    [
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    ]
}

fn script(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(root().join("scripts/slurm-local.sh"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn actsweep(cluster: &Cluster, dir: &Path, args: &[&str]) -> Output {
    succeed(
        cluster
            .command(env!("CARGO_BIN_EXE_actsweep"))
            .current_dir(dir)
            .args(args)
            .env_remove("RUST_LOG"),
    )
}

/// The two job ids `actsweep slurm` printed: (array, collect).
fn submitted(out: &Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("submitted array job "))
        .unwrap_or_else(|| panic!("no submission line in\n{stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let ids: Vec<String> = words
        .windows(2)
        .filter(|w| w[0] == "job")
        .map(|w| w[1].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{line}");
    assert!(
        ids.iter().all(|id| id.chars().all(|c| c.is_ascii_digit())),
        "{line}"
    );
    (ids[0].clone(), ids[1].clone())
}

/// Trainings the array tasks of job `array` ran, from their logs' summaries.
fn trained_by(logs: &Path, array: &str) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(logs).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&format!("array-{array}_")) {
            continue;
        }
        n += counts(&std::fs::read_to_string(e.path()).unwrap()).1;
    }
    n
}

#[test]
fn a_slurm_array_collects_to_the_tables_of_a_local_run() {
    if std::env::var("ACTSWEEP_SLURM_TEST").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: the real-Slurm test (ACTSWEEP_SLURM_TEST=skip)");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(state.path());
    let base = tempfile::tempdir().unwrap();
    std::fs::write(base.path().join("sweep.toml"), SWEEP).unwrap();

    actsweep(
        &cluster,
        base.path(),
        &["run", "sweep.toml", "--out", "local"],
    );
    let out = actsweep(
        &cluster,
        base.path(),
        &["slurm", "sweep.toml", "--out", "cluster", "--tasks", "3"],
    );
    let (array, collect) = submitted(&out);
    cluster.wait(&[&array, &collect]);

    let results = base.path().join("cluster/tiny");
    let logs = results.join("slurm/logs");
    // 8 jobs, 6 distinct trainings (the `again` experiment repeats tanh).
    assert_eq!(trained_by(&logs, &array), 6);
    let collect_log = std::fs::read_to_string(logs.join(format!("collect-{collect}.out")))
        .expect("the collect job's log");
    assert!(collect_log.contains("merged 8 jobs"), "{collect_log}");
    assert!(results.join("report/REPORT.md").is_file(), "{collect_log}");
    assert_eq!(
        comparable(&results),
        comparable(&base.path().join("local/tiny"))
    );

    // `status` reads the finished array: every job ok.
    let status = actsweep(
        &cluster,
        base.path(),
        &["status", "sweep.toml", "--out", "cluster", "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["total"]["ok"], 8, "{json}");
    assert_eq!(json["total"]["not_run"], 0, "{json}");

    // Resubmitting after a lost job trains only that one.
    let runs = common::read(&results.join("runs.parquet"));
    let labels = runs.column("label").unwrap().str().unwrap().clone();
    let ids = runs.column("job_id").unwrap().str().unwrap().clone();
    let relu = (0..runs.height())
        .find(|&i| labels.get(i) == Some("acts/activation=relu,seed=0"))
        .and_then(|i| ids.get(i))
        .expect("the relu job of seed 0");
    let record = results.join("jobs").join(format!("{relu}.json"));
    std::fs::remove_file(&record).unwrap();
    let out = actsweep(
        &cluster,
        base.path(),
        &["slurm", "sweep.toml", "--out", "cluster"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 of 8 jobs to train"),
        "{}",
        text(&out)
    );
    let (array2, collect2) = submitted(&out);
    cluster.wait(&[&array2, &collect2]);
    assert_eq!(trained_by(&logs, &array2), 1);
    assert!(record.is_file(), "the removed job was not rewritten");
    assert_eq!(
        comparable(&results),
        comparable(&base.path().join("local/tiny"))
    );
}
