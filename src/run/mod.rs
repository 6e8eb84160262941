//! The runner: a plan's jobs trained in parallel into a results folder,
//! with resume, sharding, failure isolation and progress.
//!
//! Jobs run on a rayon pool of `--jobs` threads, each job on one thread (the
//! engine runs a job inside a one-thread pool, so dfdx's matrix products do
//! not fan out across cores: on small MLPs, whole jobs in parallel beat
//! split matrix products). Datasets are loaded once per process and shared.
//!
//! A job that fails (an error, a panic) or diverges is recorded with its
//! status and message, and the others go on; [`Summary::failed`] lists them
//! and the CLI exits with 1. A done job (its record exists) is skipped, so a
//! killed sweep resumes where it stopped and an edited sweep retrains only
//! the jobs whose resolved config changed (the id hashes it).

pub mod lock;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::config::Sweep;
use crate::plan::{render, Job, Plan};
use crate::results::{self, JobRecord, JobStatus, Merged, ResultsDir, ResultsError};
use crate::{data, train};
use lock::{Lock, LockError};

/// Errors that stop a run (a failing job does not: see [`Summary`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The results folder is locked by another run.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The results folder could not be written.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The worker pool could not start.
    #[error("cannot start {0} worker threads")]
    Pool(usize),
}

/// `--shard I/N`: this run takes jobs `I-1, I-1+N, I-1+2N, ...` of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based part number.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with `1 <= I <= N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--shard {s}: expected I/N, e.g. 1/4"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("--shard {s}: I is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {s}: N is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("--shard {s}: need 1 <= I <= N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether the job at plan position `pos` is in this shard.
    pub fn takes(&self, pos: usize) -> bool {
        pos % self.count == self.index - 1
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Log lines on stderr.
    Lines,
    /// Nothing.
    Quiet,
}

/// What to run and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parent of the sweep's results folder (`results`).
    pub out: PathBuf,
    /// Worker threads (jobs at once).
    pub jobs: usize,
    /// Retrain selected jobs that are already done.
    pub force: bool,
    /// Run one part of the plan.
    pub shard: Option<Shard>,
    /// Progress display.
    pub progress: ProgressMode,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The results folder.
    pub dir: PathBuf,
    /// Jobs selected (after `--only` and `--shard`).
    pub selected: usize,
    /// Selected jobs skipped because they were done.
    pub skipped: usize,
    /// Jobs trained in this run.
    pub ran: usize,
    /// Jobs of this run that ended `ok`.
    pub ok: usize,
    /// Selected jobs that failed or diverged (in this run, or diverged in an
    /// earlier one): label, status, message.
    pub failed: Vec<(String, JobStatus, String)>,
    /// Sizes of the merged tables.
    pub merged: Merged,
    /// Wall seconds of the whole run.
    pub seconds: f64,
    /// Sum of the wall seconds of the jobs trained (data, training, evaluation).
    pub job_seconds: f64,
}

/// Runs the selected jobs of a plan into `<out>/<plan name>/`, then merges
/// the tidy tables of every done job of the plan.
pub fn run(
    sweep: &Sweep,
    plan: &Plan,
    selected: &[&Job],
    opts: &Options,
) -> Result<Summary, RunError> {
    let t0 = Instant::now();
    let dir = ResultsDir::new(opts.out.join(&plan.name));
    dir.create()?;
    let lock_name = match opts.shard {
        Some(s) => format!("run.shard-{}-of-{}.lock", s.index, s.count),
        None => "run.lock".to_string(),
    };
    let _lock = Lock::acquire(dir.root(), &lock_name)?;
    crate::logfile::attach(&dir.root().join("run.log"));
    tracing::info!(dir = %dir.root().display(), "run {}", sweep.file);

    results::atomic_write(&dir.root().join("sweep.toml"), |f| {
        std::io::Write::write_all(f, sweep.text.as_bytes())
    })?;
    let all: Vec<&Job> = plan.jobs.iter().collect();
    let plan_json = render::json(plan, &all);
    results::atomic_write(&dir.root().join("plan.json"), |f| {
        std::io::Write::write_all(f, plan_json.as_bytes())
    })?;

    let position: std::collections::HashMap<&str, usize> = plan
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.as_str(), i))
        .collect();
    let in_shard: Vec<&Job> = selected
        .iter()
        .copied()
        .filter(|j| opts.shard.is_none_or(|s| s.takes(position[j.id.as_str()])))
        .collect();
    // Done means recorded `ok` or `diverged` (divergence is deterministic);
    // a `failed` job (a missing file, a panic) is retried.
    let mut todo: Vec<&Job> = Vec::new();
    let mut earlier: Vec<(usize, String, JobStatus, String)> = Vec::new();
    for j in &in_shard {
        match dir.status(&j.id) {
            Some(s @ (JobStatus::Ok | JobStatus::Diverged)) if !opts.force => {
                if s == JobStatus::Diverged {
                    earlier.push((
                        position[j.id.as_str()],
                        j.label.clone(),
                        s,
                        "diverged in an earlier run (--force retrains it)".into(),
                    ));
                }
            }
            _ => todo.push(j),
        }
    }
    let skipped = in_shard.len() - todo.len();
    if skipped > 0 {
        tracing::info!(
            "{skipped} of {} selected jobs are done; skipping them",
            in_shard.len()
        );
    }

    let progress = Progress::new(opts.progress, todo.len());
    let commit = git_commit();
    let outcomes: Mutex<Vec<JobRecord>> = Mutex::new(Vec::new());
    let write_error: Mutex<Option<ResultsError>> = Mutex::new(None);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .thread_name(|i| format!("actsweep-worker-{i}"))
        .build()
        .map_err(|_| RunError::Pool(opts.jobs))?;
    pool.install(|| {
        todo.par_iter().with_max_len(1).for_each(|job| {
            let index = position[job.id.as_str()] as u32;
            // Train *and write* on a plain thread: polars' Parquet writer has
            // its own rayon pool, and this worker, waiting on it, used to
            // steal the next jobs first, so each finished job's results sat
            // unwritten until every later job had trained.
            let (record, written) = train::on_plain_thread(|| {
                let (record, metrics, boundary) = run_job(job, index, commit.as_deref(), &progress);
                let written = dir.write_job(&record, &metrics, &boundary);
                (record, written)
            });
            if let Err(e) = written {
                tracing::error!("{}: cannot write results: {e}", job.label);
                let mut w = write_error.lock().unwrap_or_else(|e| e.into_inner());
                w.get_or_insert(e);
            }
            progress.job_done(&record);
            outcomes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(record);
        })
    });
    progress.finish();
    if let Some(e) = write_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e.into());
    }
    let records = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());

    let keep: HashSet<String> = plan.jobs.iter().map(|j| j.id.clone()).collect();
    let found = results::gather(std::slice::from_ref(&dir), Some(&keep))?;
    let merged = results::merge(&found, dir.root())?;
    let mut failed: Vec<(usize, String, JobStatus, String)> = records
        .iter()
        .filter(|r| r.status != JobStatus::Ok)
        .map(|r| {
            (
                r.index as usize,
                r.label.clone(),
                r.status,
                r.error.clone().unwrap_or_default(),
            )
        })
        .collect();
    failed.extend(earlier);
    failed.sort();
    Ok(Summary {
        dir: dir.root().to_path_buf(),
        selected: in_shard.len(),
        skipped,
        ran: records.len(),
        ok: records.iter().filter(|r| r.status == JobStatus::Ok).count(),
        failed: failed.into_iter().map(|(_, l, s, m)| (l, s, m)).collect(),
        merged,
        seconds: t0.elapsed().as_secs_f64(),
        job_seconds: records.iter().map(|r| r.wall_seconds).sum(),
    })
}

/// Merges the per-job results of several folders (e.g. shards) into `into`.
pub fn collect(dirs: &[PathBuf], into: &Path) -> Result<Merged, RunError> {
    let dirs: Vec<ResultsDir> = dirs.iter().map(ResultsDir::new).collect();
    let found = results::gather(&dirs, None)?;
    Ok(results::merge(&found, into)?)
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Trains one job; never fails: errors and panics become a `failed` record.
fn run_job(
    job: &Job,
    index: u32,
    commit: Option<&str>,
    progress: &Progress,
) -> (JobRecord, Vec<train::Metric>, Vec<train::BoundaryPoint>) {
    let span = tracing::info_span!("job", id = %job.id, label = %job.label);
    let _enter = span.enter();
    let started = now_unix();
    let t0 = Instant::now();
    tracing::info!("start");
    let cfg = &job.config;
    let result: Result<train::Outcome, String> = match data::load(&cfg.dataset) {
        Err(e) => Err(error_chain(&e)),
        Ok(d) => {
            let mut on_epoch = |p: train::Progress| progress.epoch(&job.label, p);
            match catch_unwind(AssertUnwindSafe(|| train::train(cfg, &d, &mut on_epoch))) {
                Ok(Ok(o)) => Ok(o),
                Ok(Err(e)) => Err(match e.help() {
                    Some(h) => format!("{}\n  help: {h}", error_chain(&e)),
                    None => error_chain(&e),
                }),
                Err(panic) => Err(format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "(no message)".into())
                )),
            }
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    let mut record = JobRecord {
        job_id: job.id.clone(),
        index,
        experiment: job.experiment.clone(),
        label: job.label.clone(),
        seed: cfg.seed,
        axes: job.axes.clone(),
        config: cfg.clone(),
        status: JobStatus::Ok,
        error: None,
        diverged_epoch: None,
        epochs_completed: 0,
        device: String::new(),
        threads: 1,
        started_at: results::rfc3339(started),
        finished_at: results::rfc3339(now_unix()),
        wall_seconds: wall,
        train_seconds: 0.0,
        samples_per_second: None,
        actsweep_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: commit.map(str::to_string),
        has_boundary: false,
    };
    match result {
        Err(msg) => {
            tracing::error!("failed: {msg}");
            record.status = JobStatus::Failed;
            record.error = Some(msg);
            (record, Vec::new(), Vec::new())
        }
        Ok(o) => {
            record.device = o.device.to_string();
            record.epochs_completed = o.epochs_completed as u32;
            record.train_seconds = o.train_seconds;
            let samples: f64 = o
                .metrics
                .iter()
                .filter(|m| m.metric == "samples_per_second")
                .map(|m| m.value)
                .sum();
            let epochs = o
                .metrics
                .iter()
                .filter(|m| m.metric == "samples_per_second")
                .count();
            record.samples_per_second = (epochs > 0).then(|| samples / epochs as f64);
            if let train::Status::Diverged { epoch } = o.status {
                record.status = JobStatus::Diverged;
                record.diverged_epoch = Some(epoch as u32);
                record.error = Some(format!("loss became NaN or infinite in epoch {epoch}"));
                tracing::warn!("diverged in epoch {epoch}");
            } else {
                tracing::info!(seconds = wall, "done");
            }
            record.has_boundary = !o.boundary.is_empty();
            (record, o.metrics, o.boundary)
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

/// `git rev-parse HEAD` in the working directory, if it is a repository.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Progress display: a bar on a terminal, lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    total: usize,
    done: AtomicUsize,
    start: Instant,
    last_line: Mutex<Instant>,
}

impl Progress {
    fn new(mode: ProgressMode, total: usize) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && tty && total > 0).then(|| {
            let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} jobs, eta {eta}  {wide_msg}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Progress {
            lines: bar.is_none() && mode != ProgressMode::Quiet,
            bar,
            total,
            done: AtomicUsize::new(0),
            start: Instant::now(),
            last_line: Mutex::new(Instant::now()),
        }
    }

    fn epoch(&self, label: &str, p: train::Progress) {
        if let Some(b) = &self.bar {
            b.set_message(format!(
                "{label}: epoch {}/{}, loss {:.4}",
                p.epoch, p.epochs, p.batch_loss
            ));
        } else if self.lines {
            // Long jobs: a line at most every 30 s.
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed().as_secs() >= 30 {
                *last = Instant::now();
                eprintln!(
                    "[{:>4}s] {label}: epoch {}/{}, loss {:.4}",
                    self.start.elapsed().as_secs(),
                    p.epoch,
                    p.epochs,
                    p.batch_loss
                );
            }
        }
    }

    fn job_done(&self, r: &JobRecord) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.inc(1);
            if r.status != JobStatus::Ok {
                b.println(format!("{}: {}", r.label, r.status.as_str()));
            }
        } else if self.lines {
            eprintln!(
                "[{:>4}s] {n}/{} {} {} ({:.1} s)",
                self.start.elapsed().as_secs(),
                self.total,
                r.label,
                r.status.as_str(),
                r.wall_seconds
            );
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_plan() {
        let n = 4;
        let shards: Vec<Shard> = (1..=n)
            .map(|i| Shard::parse(&format!("{i}/{n}")).unwrap())
            .collect();
        for pos in 0..23 {
            assert_eq!(shards.iter().filter(|s| s.takes(pos)).count(), 1);
        }
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("1-3").is_err());
    }
}
