//! The runner: a plan's jobs trained in parallel into a results folder,
//! with resume, sharding, failure isolation and progress.
//!
//! Jobs run on a rayon pool of `--jobs` threads, each job on one thread (the
//! engine runs a job inside a one-thread pool, so dfdx's matrix products do
//! not fan out across cores: on small MLPs, whole jobs in parallel beat
//! split matrix products). Datasets are loaded once per process and shared.
//!
//! A job that fails (an error, a panic) or diverges is recorded with its
//! status and message, and the others go on; [`RunSummary::failed`] lists them
//! and the CLI exits with 1. A done job (its record exists) is skipped, so a
//! killed sweep resumes where it stopped and an edited sweep retrains only
//! the jobs whose resolved config changed (the id hashes it).
//!
//! Jobs with identical configs (one [`Job::training`] key, e.g. the same net
//! in two experiments) train once: the first of them in plan order trains,
//! and every job of the group gets its own files under its own id, with the
//! same metrics. A job whose group-mate is already done is written from the
//! done job's files without training (unless `--force`). Shards take whole
//! groups, so no two shards train one config.

pub mod lock;
pub mod progress;
pub mod slurm;
pub mod status;

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use crate::config::Sweep;
use crate::plan::{by_training, render, Job, Plan};
use crate::results::{
    self, error_chain, JobFiles, JobRecord, JobStatus, Merged, MetricKind, ResultsDir, ResultsError,
};
use crate::{data, train};
use lock::{Lock, LockError};
use progress::Progress;

/// Errors that stop a run (a failing job does not: see [`RunSummary`]).
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
    /// A dataset the trainings need does not load: nothing was trained.
    #[error("dataset `{dataset}` does not load, so no job was started")]
    Dataset {
        /// The dataset's name.
        dataset: &'static str,
        /// Why.
        #[source]
        source: data::DataError,
    },
}

/// `--shard I/N`: this run takes jobs `I-1, I-1+N, I-1+2N, ...` of the plan
/// (0-based), except that a job sharing its training with an earlier one
/// goes to that one's shard (see [`run_jobs`]).
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
    /// Trainings per stack (`1`: each alone; see [`train::train_stack`]).
    pub stack: usize,
    /// Progress display.
    pub progress: ProgressMode,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The results folder.
    pub dir: PathBuf,
    /// Jobs selected (after `--only` and `--shard`).
    pub selected: usize,
    /// Selected jobs skipped because they were done.
    pub skipped: usize,
    /// Trainings run (one per group of jobs with identical configs).
    pub trained: usize,
    /// Trainings of this run that ended `ok`.
    pub ok: usize,
    /// Jobs written from a training they share: a group-mate's training in
    /// this run, or a done job's results copied. `selected = trained +
    /// reused + skipped`.
    pub reused: usize,
    /// Selected jobs that failed or diverged (in this run, or diverged in an
    /// earlier one): label, status, message.
    pub failed: Vec<(String, JobStatus, String)>,
    /// Sizes of the merged tables; none for a shard (`collect` merges).
    pub merged: Option<Merged>,
    /// Wall seconds of the whole run.
    pub seconds: f64,
    /// Sum of the wall seconds of the trainings (data, training, evaluation).
    pub job_seconds: f64,
}

/// Jobs with one training key that this run writes, in plan order.
struct Work<'a> {
    /// The first trains (unless `done` is set); every one is written.
    jobs: Vec<&'a Job>,
    /// The record of a done job with the same training (never with
    /// `--force`): its results are copied instead of training again.
    done: Option<JobRecord>,
}

/// Runs the selected jobs of a plan into `<out>/<plan name>/`, then
/// (unless it is a shard) merges the tidy tables of every done job of the
/// plan. Every dataset the trainings need is loaded before the first starts.
pub fn run_jobs(
    sweep: &Sweep,
    plan: &Plan,
    selected: &[&Job],
    opts: &Options,
) -> Result<RunSummary, RunError> {
    let t0 = Instant::now();
    let dir = ResultsDir::new(opts.out.join(&plan.name));
    dir.create()?;
    let lock_name = ResultsDir::lock_name(opts.shard.map(|s| (s.index, s.count)));
    let _lock = Lock::acquire(dir.root(), &lock_name)?;
    crate::logfile::attach(&dir.log_file());
    // Temporaries of writers killed in an earlier run (regression: a run
    // killed mid-merge left one in the folder for good).
    let stale =
        crate::atomic::remove_stale(dir.root()) + crate::atomic::remove_stale(&dir.jobs_dir());
    tracing::info!(dir = %dir.root().display(), "run {}", sweep.file);
    if stale > 0 {
        tracing::info!("removed {stale} temporary files left by killed runs");
    }

    let position: HashMap<&str, usize> = plan
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.as_str(), i))
        .collect();
    let groups = by_training(&plan.jobs);
    let mates: HashMap<&str, &[&Job]> = groups
        .iter()
        .map(|g| (g[0].training.as_str(), g.as_slice()))
        .collect();
    // A job goes to the shard of its group's first job, so that every job
    // of a group is in one shard and no two shards train one config.
    let in_shard: Vec<&Job> = selected
        .iter()
        .copied()
        .filter(|j| {
            let first = mates[j.training.as_str()][0];
            opts.shard
                .is_none_or(|s| s.takes(position[first.id.as_str()]))
        })
        .collect();
    let (todo, earlier) = pending(&dir, &in_shard, opts.force, &position);
    let skipped = in_shard.len() - todo.len();
    if skipped > 0 {
        tracing::info!(
            "{skipped} of {} selected jobs are done; skipping them",
            in_shard.len()
        );
    }
    let work = group_work(&dir, &todo, &mates, opts.force);
    // Nothing is written until the datasets load: a run that cannot train
    // leaves the folder's sweep copy, plan and jobs as they were.
    load_datasets(&work)?;
    write_inputs(&dir, sweep, plan)?;
    let (copied, to_train) = copy_done(&dir, work, &position);
    tracing::info!(
        "{} trainings for {} jobs; {} jobs copied from done jobs with the same config",
        to_train.len(),
        todo.len() - copied.len(),
        copied.len()
    );

    let trained = train_groups(&dir, &to_train, &position, opts)?;
    let merged = match opts.shard {
        // Shards leave the merge to `collect`: N shards merging every job
        // present would be O(jobs x shards) work and concurrent rewrites.
        Some(_) => None,
        None => Some(merge_plan(plan, &dir)?),
    };
    let mut failed: Vec<Unfinished> = trained
        .iter()
        .flatten()
        .chain(&copied)
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
    let leaders = || trained.iter().map(|records| &records[0]);
    Ok(RunSummary {
        dir: dir.root().to_path_buf(),
        selected: in_shard.len(),
        skipped,
        trained: trained.len(),
        ok: leaders().filter(|r| r.status == JobStatus::Ok).count(),
        reused: trained.iter().map(|r| r.len() - 1).sum::<usize>() + copied.len(),
        failed: failed.into_iter().map(|(_, l, s, m)| (l, s, m)).collect(),
        merged,
        seconds: t0.elapsed().as_secs_f64(),
        job_seconds: leaders().map(|r| r.wall_seconds).sum(),
    })
}

/// Loads every dataset the trainings need (the groups without a done job
/// to copy) before any starts: a missing or corrupt dataset is one error,
/// not one failed job per job. `data::load` caches each dataset (and each
/// failure), so a dataset shared by many trainings loads once and the
/// trainings reuse it.
fn load_datasets(work: &[Work]) -> Result<(), RunError> {
    for w in work.iter().filter(|w| w.done.is_none()) {
        let dataset = &w.jobs[0].config.dataset;
        data::load(dataset).map_err(|source| RunError::Dataset {
            dataset: dataset.name(),
            source,
        })?;
    }
    Ok(())
}

/// Writes the run's inputs into its folder: the sweep file as given and the
/// expanded plan.
fn write_inputs(dir: &ResultsDir, sweep: &Sweep, plan: &Plan) -> Result<(), RunError> {
    results::atomic_write(&dir.sweep_copy(), |f| {
        std::io::Write::write_all(f, sweep.text.as_bytes())
    })?;
    let all: Vec<&Job> = plan.jobs.iter().collect();
    let plan_json = render::json(plan, &all);
    results::atomic_write(&dir.plan_file(), |f| {
        std::io::Write::write_all(f, plan_json.as_bytes())
    })?;
    Ok(())
}

/// Merges the tidy tables of every done job of the plan in `dir`.
fn merge_plan(plan: &Plan, dir: &ResultsDir) -> Result<Merged, RunError> {
    let keep: HashSet<String> = plan.jobs.iter().map(|j| j.id.clone()).collect();
    let (found, damaged) = results::gather(std::slice::from_ref(dir), Some(&keep))?;
    let merged = results::merge(&found, damaged, dir.root())?;
    for s in &merged.skipped {
        tracing::warn!("job {} left out of the tables: {}", s.job_id, s.why);
    }
    Ok(merged)
}

/// A job that did not finish: plan position, label, status, message.
type Unfinished = (usize, String, JobStatus, String);

/// The selected jobs that are not done (all of them with `--force`), and the
/// done ones that diverged, to be reported again.
fn pending<'a>(
    dir: &ResultsDir,
    jobs: &[&'a Job],
    force: bool,
    position: &HashMap<&str, usize>,
) -> (Vec<&'a Job>, Vec<Unfinished>) {
    let mut todo = Vec::new();
    let mut earlier = Vec::new();
    for &j in jobs {
        let status = match dir.check(&j.id) {
            JobFiles::Written(r) => Some(r.status),
            JobFiles::Missing => None,
            JobFiles::Damaged(why) => {
                set_aside(dir, j, &why);
                None
            }
        };
        match status {
            Some(s) if s.is_done() && !force => {
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
    (todo, earlier)
}

/// A job whose files do not read back is not done: its files are moved
/// aside (kept for a look) and it trains again.
fn set_aside(dir: &ResultsDir, job: &Job, why: &str) {
    match dir.set_aside(&job.id) {
        Ok(moved) => tracing::warn!(
            "{}: its results do not read back ({why}); {} file(s) moved to {} and the job trains again",
            job.label,
            moved.len(),
            dir.damaged_dir().display()
        ),
        Err(e) => tracing::warn!(
            "{}: its results do not read back ({why}), and cannot be moved aside ({}); the job trains again",
            job.label,
            error_chain(&e)
        ),
    }
}

/// Groups the jobs to write by training key and finds, for each group
/// (unless `force`), a done job of the plan with the same training.
fn group_work<'a>(
    dir: &ResultsDir,
    todo: &[&'a Job],
    mates: &HashMap<&str, &[&'a Job]>,
    force: bool,
) -> Vec<Work<'a>> {
    by_training(todo.iter().copied())
        .into_iter()
        .map(|jobs| {
            let done = if force {
                None
            } else {
                mates[jobs[0].training.as_str()]
                    .iter()
                    .filter(|m| !jobs.iter().any(|j| j.id == m.id))
                    .find_map(|m| dir.record(&m.id).filter(|r| r.status.is_done()))
            };
            Work { jobs, done }
        })
        .collect()
}

/// Writes every group that has a done group-mate from that job's files;
/// returns the records written and the groups left to train (those without
/// one, and any whose copy failed: a done job's files may have been deleted).
fn copy_done<'a>(
    dir: &ResultsDir,
    work: Vec<Work<'a>>,
    position: &HashMap<&str, usize>,
) -> (Vec<JobRecord>, Vec<Vec<&'a Job>>) {
    let mut copied = Vec::new();
    let mut to_train = Vec::new();
    for Work { jobs, done } in work {
        let Some(source) = done else {
            to_train.push(jobs);
            continue;
        };
        let records: Result<Vec<JobRecord>, ResultsError> = jobs
            .iter()
            .map(|j| {
                let record = source.for_job(j, position[j.id.as_str()]);
                dir.copy_job(&source.job_id, &record)?;
                tracing::info!(
                    "{}: same config as done job {}; results copied",
                    j.label,
                    source.label
                );
                Ok(record)
            })
            .collect();
        match records {
            Ok(mut r) => copied.append(&mut r),
            Err(e) => {
                tracing::warn!(
                    "{}: cannot copy the results of {} ({}); training instead",
                    jobs[0].label,
                    source.label,
                    error_chain(&e)
                );
                to_train.push(jobs);
            }
        }
    }
    (copied, to_train)
}

/// Trains each group's first job on the worker pool and writes its results
/// for every job of the group; returns each group's records, first job first.
/// With `opts.stack > 1`, groups whose first jobs share a stack key train
/// together, up to `opts.stack` at a time ([`train::train_stack`]).
fn train_groups(
    dir: &ResultsDir,
    groups: &[Vec<&Job>],
    position: &HashMap<&str, usize>,
    opts: &Options,
) -> Result<Vec<Vec<JobRecord>>, RunError> {
    let progress = Progress::new(opts.progress, groups);
    let commit = git_commit();
    let outcomes: Mutex<Vec<Vec<JobRecord>>> = Mutex::new(Vec::new());
    let write_error: Mutex<Option<ResultsError>> = Mutex::new(None);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .thread_name(|i| format!("actsweep-worker-{i}"))
        .build()
        .map_err(|_| RunError::Pool(opts.jobs))?;
    let stacks = stacks_of(groups, opts.stack);
    pool.install(|| {
        stacks.par_iter().with_max_len(1).for_each(|stack| {
            // Train *and write* on a plain thread: polars' Parquet writer has
            // its own rayon pool, and this worker, waiting on it, used to
            // steal the next jobs first, so each finished job's results sat
            // unwritten until every later job had trained.
            let done = train::on_plain_thread(|| {
                let firsts: Vec<&Job> = stack.iter().map(|g| g[0]).collect();
                let trained = run_trainings(&firsts, position, commit.as_deref(), &progress);
                stack
                    .iter()
                    .zip(trained)
                    .map(|(jobs, (record, metrics, boundary))| {
                        let records: Vec<JobRecord> = jobs
                            .iter()
                            .map(|j| record.for_job(j, position[j.id.as_str()]))
                            .collect();
                        let written = records
                            .iter()
                            .try_for_each(|r| dir.write_job(r, &metrics, &boundary));
                        (records, written)
                    })
                    .collect::<Vec<_>>()
            });
            for ((records, written), jobs) in done.into_iter().zip(stack.iter()) {
                let first = jobs[0];
                if let Err(e) = written {
                    tracing::error!("{}: cannot write results: {e}", first.label);
                    let mut w = write_error.lock().unwrap_or_else(|e| e.into_inner());
                    w.get_or_insert(e);
                }
                progress.training_done(&first.id, &records[0], records.len());
                outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(records);
            }
        })
    });
    progress.finish();
    if let Some(e) = write_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e.into());
    }
    Ok(outcomes.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// The groups, in plan order, gathered into stacks of at most `size` whose
/// first jobs share a [`train::stack_key`] (each group alone for `size` 1).
fn stacks_of<'g, 'a>(groups: &'g [Vec<&'a Job>], size: usize) -> Vec<Vec<&'g Vec<&'a Job>>> {
    if size <= 1 {
        return groups.iter().map(|g| vec![g]).collect();
    }
    let mut by_key: Vec<(String, Vec<&Vec<&Job>>)> = Vec::new();
    for g in groups {
        let key = train::stack_key(&g[0].config);
        match by_key.iter_mut().find(|(k, _)| *k == key) {
            Some((_, gs)) => gs.push(g),
            None => by_key.push((key, vec![g])),
        }
    }
    by_key
        .into_iter()
        .flat_map(|(_, gs)| {
            gs.chunks(size)
                .map(<[&Vec<&Job>]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Merges the per-job results of several folders (e.g. shards) into `into`;
/// only the jobs whose ids are in `keep`, when given.
pub fn collect(
    dirs: &[PathBuf],
    into: &Path,
    keep: Option<&HashSet<String>>,
) -> Result<Merged, RunError> {
    let dirs: Vec<ResultsDir> = dirs.iter().map(ResultsDir::new).collect();
    let (found, damaged) = results::gather(&dirs, keep)?;
    Ok(results::merge(&found, damaged, into)?)
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What a training left: the job's record, metrics and boundary points.
type Trained = (JobRecord, Vec<train::Metric>, Vec<train::BoundaryPoint>);

/// Trains `jobs`: one alone, or several (first jobs of groups with one
/// stack key) as one stack. Never fails: each job's error, or a panic of
/// the training, becomes its `failed` record. In a stack each record's wall
/// time is its share of the stack's (the stack's over its jobs), so that the
/// run's sum stays the time spent.
fn run_trainings(
    jobs: &[&Job],
    position: &HashMap<&str, usize>,
    commit: Option<&str>,
    progress: &Progress,
) -> Vec<Trained> {
    let job_span = |j: &Job| tracing::info_span!("job", id = %j.id, label = %j.label);
    let stacked = jobs.len() > 1;
    let span = if stacked {
        tracing::info_span!("stack", first = %jobs[0].id, size = jobs.len())
    } else {
        job_span(jobs[0])
    };
    let _enter = span.enter();
    let started = now_unix();
    let t0 = Instant::now();
    tracing::info!("start");
    for j in jobs {
        progress.start(j);
    }
    let results: Vec<Result<train::Outcome, String>> = match data::load(&jobs[0].config.dataset) {
        Err(e) => jobs.iter().map(|_| Err(error_chain(&e))).collect(),
        Ok(d) => match catch_unwind(AssertUnwindSafe(|| train_all(jobs, &d, progress))) {
            Ok(rs) => rs
                .into_iter()
                .map(|r| r.map_err(|e| train_error_text(&e)))
                .collect(),
            Err(panic) => {
                let msg = panic_text(panic.as_ref());
                jobs.iter().map(|_| Err(msg.clone())).collect()
            }
        },
    };
    let timing = (started, t0.elapsed().as_secs_f64() / jobs.len() as f64);
    jobs.iter()
        .zip(results)
        .map(|(j, r)| {
            let span = stacked.then(|| job_span(j));
            let _enter = span.as_ref().map(tracing::Span::enter);
            record_of(j, position[j.id.as_str()], commit, timing, r)
        })
        .collect()
}

/// One job alone ([`train::train`]) or several as one stack
/// ([`train::train_stack`]), with their epochs reported to `progress`.
fn train_all(
    jobs: &[&Job],
    data: &data::Dataset,
    progress: &Progress,
) -> Vec<Result<train::Outcome, train::TrainError>> {
    if let [job] = jobs {
        let mut on_epoch = |p: train::EpochProgress| progress.epoch(&job.id, p);
        return vec![train::train(&job.config, data, &mut on_epoch)];
    }
    let cfgs: Vec<&crate::config::job::JobConfig> = jobs.iter().map(|j| &j.config).collect();
    let mut on_epoch = |i: usize, p: train::EpochProgress| progress.epoch(&jobs[i].id, p);
    train::train_stack(&cfgs, data, &mut on_epoch)
}

/// A training error as a record's message, with its help.
fn train_error_text(e: &train::TrainError) -> String {
    match e.help() {
        Some(h) => format!("{}\n  help: {h}", error_chain(e)),
        None => error_chain(e),
    }
}

/// A panic's message.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    format!(
        "panicked: {}",
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(no message)".into())
    )
}

/// The record of a training of `job` that started at `timing.0` (Unix
/// seconds) and took `timing.1` seconds, with its metrics.
fn record_of(
    job: &Job,
    index: usize,
    commit: Option<&str>,
    (started, wall): (f64, f64),
    result: Result<train::Outcome, String>,
) -> Trained {
    let mut record = JobRecord {
        started_at: results::rfc3339(started),
        finished_at: results::rfc3339(now_unix()),
        wall_seconds: wall,
        git_commit: commit.map(str::to_string),
        ..JobRecord::new(job, index)
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
            record.samples_per_second = mean_of(&o.metrics, MetricKind::SamplesPerSecond);
            record.status = o.status();
            if let Some(epoch) = o.diverged_in {
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

/// The mean of a whole-model metric over the epochs that recorded it.
fn mean_of(metrics: &[train::Metric], kind: MetricKind) -> Option<f64> {
    let values: Vec<f64> = metrics
        .iter()
        .filter(|m| m.metric == kind.name())
        .map(|m| m.value)
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
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
