//! Training speed and memory of the engine, for comparison with PyTorch.
//!
//! `cargo bench --bench train` runs every case; `cargo bench --bench train --
//! CASE` runs one: `mnist` (seconds per epoch of 784-256-256-256-256-10,
//! batch 64, Adam, one thread), `tiny` (optimizer steps per second of
//! 2-16-16-16-1, tanh, batch 32), `rss` (peak resident memory of one MNIST
//! job, then of two in parallel, each in a fresh process).
//!
//! The PyTorch peers, `../shared/bench/torch_reference.py --depth 5 --width
//! 256 --batch 64 --epochs 2 --threads 1` and `benches/torch_tiny.py
//! --threads 1`, run right after the matching case, in the same sitting, and
//! the case prints the ratio (absolute times move from run to run on shared
//! machines; ratios measured side by side hold). The interpreter is
//! `$ACTSWEEP_TORCH_PYTHON` (default `python3`); without PyTorch the case
//! says so and prints its own figure only.

use std::process::Command;
use std::time::Instant;

use actsweep::config::job::JobConfig;
use actsweep::config::Sweep;
use actsweep::plan::Plan;
use actsweep::{data, train};

#[path = "../tests/common/mod.rs"]
mod common;
use common::plan_text as plan_of;

fn job(toml: &str) -> JobConfig {
    plan_of(toml).1.jobs.remove(0).config
}

fn mnist_job(epochs: usize, seed: u64) -> JobConfig {
    job(&format!(
        r#"
name = "bench"
[defaults]
dataset = "mnist"
depth = 5
width = 256
activation = "relu"
init = "he_normal"
optimizer = {{ name = "adam", lr = 1e-3 }}
batch_size = 64
epochs = {epochs}
seeds = [{seed}]
record = []
[experiments.mnist]
"#
    ))
}

fn run(job: &JobConfig) -> train::Outcome {
    let d = data::load(&job.dataset).unwrap_or_else(|e| panic!("{e}"));
    train::train(job, &d, &mut |_| {}).expect("job trains")
}

/// The last value of `value` (`test_acc`, `train_epoch_seconds`).
fn metric(o: &train::Outcome, value: &str) -> f64 {
    let Ok(v) = actsweep::results::ValueName::resolve(value) else {
        return f64::NAN;
    };
    o.metrics
        .iter()
        .rev()
        .find(|m| m.metric == v.metric && m.split == v.split)
        .map_or(f64::NAN, |m| m.value)
}

/// Runs a PyTorch peer script and returns the numbers found just before
/// `marker` in its output (one per line that has it), or says why not.
fn torch_peer(script: &str, args: &[&str], marker: &str) -> Result<Vec<f64>, String> {
    let python = std::env::var("ACTSWEEP_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(&python)
        .arg(format!("{root}/{script}"))
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot start {python}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        return Err(format!("{python} {script} failed: {last}"));
    }
    let nums: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            let before = &l[..l.find(marker)?];
            before.split_whitespace().last()?.parse().ok()
        })
        .collect();
    if nums.is_empty() {
        return Err(format!("no `{marker}` figure in the output of {script}"));
    }
    Ok(nums)
}

fn mnist() {
    let j = mnist_job(2, 0);
    let o = run(&j);
    let secs: Vec<f64> = o
        .metrics
        .iter()
        .filter(|m| m.metric == "epoch_seconds")
        .map(|m| m.value)
        .collect();
    let best = secs.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "mnist 784-256x4-10 batch 64 adam, 1 thread: {} s/epoch (epochs: {:?}), test accuracy {:.4}",
        fmt(best),
        secs.iter().map(|s| fmt(*s)).collect::<Vec<_>>(),
        metric(&o, "test_acc"),
    );
    let args = [
        "--depth",
        "5",
        "--width",
        "256",
        "--batch",
        "64",
        "--epochs",
        "2",
        "--threads",
        "1",
    ];
    match torch_peer("../shared/bench/torch_reference.py", &args, "s/epoch") {
        Ok(t) => {
            let torch = t.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "  PyTorch, same sitting: {} s/epoch; actsweep / PyTorch = {:.2}x (target <= 0.75x)",
                fmt(torch),
                best / torch
            );
        }
        Err(e) => println!("  PyTorch peer not run: {e}"),
    }
}

fn tiny() {
    let j = job(r#"
name = "bench"
[defaults]
dataset = { name = "xor", samples = 40000, test_fraction = 0.2 }
depth = 4
width = 16
activation = "tanh"
loss = "bce"
optimizer = { name = "adam", lr = 1e-3 }
batch_size = 32
epochs = 3
seeds = [0]
record = []
[experiments.tiny]
"#);
    let o = run(&j);
    let steps_per_epoch = (32000f64 / 32.0).ceil();
    let best = o
        .metrics
        .iter()
        .filter(|m| m.metric == "epoch_seconds")
        .map(|m| steps_per_epoch / m.value)
        .fold(0.0, f64::max);
    println!(
        "tiny 2-16-16-16-1 tanh batch 32 adam, 1 thread: {:.0} steps/s (best of {} epochs), \
         {:.1}% of the ~450k steps/s arithmetic limit, test accuracy {:.4}",
        best,
        o.epochs_completed,
        100.0 * best / TINY_LIMIT,
        metric(&o, "test_acc"),
    );
    match torch_peer("benches/torch_tiny.py", &["--threads", "1"], "steps/s") {
        Ok(t) => println!(
            "  PyTorch, same sitting: {:.0} steps/s; actsweep / PyTorch = {:.1}x (target >= 30x)",
            t[0],
            best / t[0]
        ),
        Err(e) => println!("  PyTorch peer not run: {e}"),
    }
}

/// Optimizer steps per second one core could do on the tiny net if only its
/// arithmetic counted: about 3.4 kFLOP per sample-step (forward, backward
/// and Adam), 32 samples a step, at roughly 50 GFLOP/s.
const TINY_LIMIT: f64 = 450_000.0;

/// Peak RSS of this process in MB (VmHWM), where /proc has it.
fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn rss_child(parallel: usize) {
    let jobs: Vec<JobConfig> = (0..parallel as u64).map(|s| mnist_job(1, s)).collect();
    std::thread::scope(|s| {
        for j in &jobs {
            s.spawn(move || run(j));
        }
    });
    println!("{:.0}", peak_rss_mb().unwrap_or(f64::NAN));
}

fn rss() {
    let exe = std::env::current_exe().expect("own path");
    for n in [1, 2] {
        let out = Command::new(&exe)
            .args(["--bench", "rss-child", &n.to_string()])
            .output()
            .expect("child runs");
        let mb = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("rss: {n} MNIST job(s) in parallel, 1 epoch: peak {mb} MB");
    }
}

/// Runs a planned sweep through the runner into a fresh folder.
fn run_sweep(sweep: &Sweep, plan: &Plan, jobs: usize) -> actsweep::run::RunSummary {
    let dir = std::env::temp_dir().join(format!("actsweep-bench-{}-{jobs}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let all: Vec<&actsweep::plan::Job> = plan.jobs.iter().collect();
    let opts = actsweep::run::Options {
        out: dir.clone(),
        jobs,
        force: false,
        shard: None,
        stack: 1,
        progress: actsweep::run::ProgressMode::Quiet,
    };
    let s = actsweep::run::run_jobs(sweep, plan, &all, &opts).expect("runner");
    let _ = std::fs::remove_dir_all(&dir);
    s
}

fn runner() {
    // 8 MNIST jobs of one epoch: --jobs 1 vs --jobs 2.
    let mnist = r#"
name = "bench-mnist"
[defaults]
dataset = "mnist"
depth = 5
width = 256
optimizer = { name = "adam", lr = 1e-3 }
batch_size = 64
epochs = 1
seeds = 8
[experiments.m]
"#;
    // Load MNIST first (once per process), so neither timing includes it.
    let _ = data::load(&mnist_job(1, 0).dataset).unwrap_or_else(|e| panic!("{e}"));
    let (sweep, plan) = plan_of(mnist);
    let one = run_sweep(&sweep, &plan, 1);
    let two = run_sweep(&sweep, &plan, 2);
    println!(
        "runner: 8 MNIST jobs x 1 epoch: --jobs 1 {} s, --jobs 2 {} s, speed-up {:.2}x",
        fmt(one.seconds),
        fmt(two.seconds),
        one.seconds / two.seconds
    );
    // 200 small XOR jobs: time outside training per job.
    let xor = r#"
name = "bench-xor"
[defaults]
dataset = { name = "xor", samples = 200 }
depth = 3
width = 8
loss = "bce"
epochs = 2
seeds = 50
[experiments.x]
grid.activation = ["tanh", "relu", "softsign", "linear"]
"#;
    let t = Instant::now();
    let (sweep, plan) = plan_of(xor);
    let plan_s = t.elapsed().as_secs_f64();
    let s = run_sweep(&sweep, &plan, 1);
    let total = s.seconds + plan_s;
    let n = plan.jobs.len() as f64;
    println!(
        "runner: {n} XOR jobs (2 epochs, --jobs 1): {} s, {:.0} jobs/s; outside the jobs \
         (planning, writing, merging) {:.2} ms/job",
        fmt(total),
        n / total,
        1000.0 * (total - s.job_seconds) / n
    );
}

fn fmt(s: f64) -> String {
    format!("{s:.3}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // nextest lists bench targets as test binaries: run only under `cargo bench`.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "rss-child") {
        let n = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(1);
        rss_child(n);
        return;
    }
    let only: Vec<&str> = args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |c: &str| only.is_empty() || only.contains(&c);
    let t = Instant::now();
    if want("tiny") {
        tiny();
    }
    if want("mnist") {
        mnist();
    }
    if want("rss") {
        rss();
    }
    if want("runner") {
        runner();
    }
    eprintln!("bench train: {:.1} s", t.elapsed().as_secs_f64());
}
