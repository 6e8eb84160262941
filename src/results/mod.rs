//! The results store and its on-disk contract: per-job files written as
//! jobs end, and the merged tidy tables (`runs.parquet`, `metrics.parquet`,
//! `boundaries.parquet`).
//!
//! This module is the one place that says what a results folder holds:
//! [`ResultsDir`] names every path in it (the sweep copy, the plan, the log,
//! `jobs/`, the three tables, `report/`, `slurm/`), [`rows`] declares the
//! columns and the row types with the one reader of the merged tables
//! ([`Tables`], which the report uses), [`metric`] is the catalogue of every
//! metric a job records, and [`JobStatus`] is how a job ended, everywhere: the
//! trainer reports it too ([`crate::train::Outcome::status`]).
//!
//! The layout and every column are documented in `docs/results.md`. Three
//! rules shape this module:
//!
//! - **Atomic files.** Everything is written to a temporary file in the same
//!   folder and renamed into place ([`atomic_write`]), so a run killed at any
//!   moment leaves either the old file or the new one, never half of one.
//! - **The run record is the commit point.** A job writes its metrics (and
//!   boundary grid) first and its `jobs/<id>.json` record last; a job is done
//!   exactly when that record exists. Resuming skips done jobs; merging reads
//!   only done jobs. A job that shares its training with a done job (same
//!   config, another experiment) is written from that job's files
//!   ([`ResultsDir::copy_job`]) in the same layout. Merged tables are a pure function of the set of records,
//!   sorted by plan position, so a resumed sweep merges to the same tables as
//!   an uninterrupted one.
//! - **Damage is not fatal.** A job whose files do not read back (a
//!   truncated or corrupt record or table, a missing companion file) is not
//!   done: [`ResultsDir::check`] says why, `run` moves its files aside into
//!   `jobs/damaged/` (never deletes them) and trains it again, and
//!   [`merge`] leaves it out and lists it ([`Merged::skipped`]) instead of
//!   failing the whole merge.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::job::JobConfig;
use crate::plan::Job;

pub mod metric;
pub mod rows;

pub use metric::{MetricKind, Split, ValueName};
pub use rows::{col, BoundaryPoint, BoundaryRow, Metric, MetricRow, RunRow, Tables};

/// Errors of the results store.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A merged table is absent.
    #[error("{} not found (run the sweep first: `actsweep run FILE`)", .0.display())]
    Missing(PathBuf),
    /// A table holds a value outside the contract.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A file could not be written or read.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Polars could not build, write or read a table.
    #[error("table {path}")]
    Polars {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: PolarsError,
    },
    /// A run record did not parse.
    #[error("run record {path} is not valid")]
    Record {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ResultsError + 'a {
    move |source| ResultsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn pl_err(path: &Path) -> impl FnOnce(PolarsError) -> ResultsError + '_ {
    move |source| ResultsError::Polars {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `path` atomically (see [`crate::atomic`]), naming the file on failure.
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), ResultsError> {
    crate::atomic::write_with(path, write).map_err(io_err("cannot write", path))
}

/// Writes a table as Parquet, atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), ResultsError> {
    let mut err = None;
    let metadata = arrow_schema_metadata(df);
    atomic_write(path, |f| {
        let writer = ParquetWriter::new(f).with_key_value_metadata(Some(metadata));
        writer.finish(df).map(|_| ()).map_err(|e| {
            err = Some(e);
            io::Error::other("parquet")
        })
    })
    .map_err(|e| match err.take() {
        Some(source) => ResultsError::Polars {
            path: path.to_path_buf(),
            source,
        },
        None => e,
    })
}

/// The Arrow schema stored in a file's metadata (`ARROW:schema`), at polars'
/// oldest compatibility level: `large_string` and `large_list` rather than
/// `string_view`. Readers take column types from it, and pyarrow turns a list
/// of `string_view` into a type pandas cannot convert (`config.record`);
/// the values written are the same either way.
fn arrow_schema_metadata(df: &DataFrame) -> KeyValueMetadata {
    let arrow = df.schema().to_arrow(CompatLevel::oldest());
    let kv = polars_parquet::write::schema_to_metadata_key(&arrow);
    KeyValueMetadata::from_static(vec![(kv.key, kv.value.unwrap_or_default())])
}

/// Reads a Parquet table.
pub fn read_parquet(path: &Path) -> Result<DataFrame, ResultsError> {
    let f = File::open(path).map_err(io_err("cannot open", path))?;
    ParquetReader::new(f).finish().map_err(pl_err(path))
}

/// How a job ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Trained every epoch.
    Ok,
    /// The loss became NaN or infinite.
    Diverged,
    /// An error or a panic stopped it.
    Failed,
}

impl JobStatus {
    /// Whether a job with this status is done: `ok`, or `diverged` (divergence
    /// is deterministic). A `failed` job (a missing file, a panic) is retried.
    pub fn is_done(self) -> bool {
        matches!(self, JobStatus::Ok | JobStatus::Diverged)
    }

    /// `ok`, `diverged`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Ok => "ok",
            JobStatus::Diverged => "diverged",
            JobStatus::Failed => "failed",
        }
    }

    /// The status written `s`, if any.
    pub fn parse(s: &str) -> Option<JobStatus> {
        [JobStatus::Ok, JobStatus::Diverged, JobStatus::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The report's Markdown file, in the report folder.
pub const REPORT_FILE: &str = "REPORT.md";

/// The three merged tables of a results folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFile {
    /// One row per job.
    Runs,
    /// Tidy metrics.
    Metrics,
    /// Decision-boundary grids.
    Boundaries,
}

impl TableFile {
    /// The file's name in the results folder.
    pub fn file_name(self) -> &'static str {
        match self {
            TableFile::Runs => "runs.parquet",
            TableFile::Metrics => "metrics.parquet",
            TableFile::Boundaries => "boundaries.parquet",
        }
    }
}

/// One job's run record: `jobs/<id>.json`, one row of `runs.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id.
    pub job_id: String,
    /// Position in the plan.
    pub index: u32,
    /// Experiment name.
    pub experiment: String,
    /// `experiment/axis=value,...,seed=N`.
    pub label: String,
    /// The job's seed.
    pub seed: u64,
    /// Grid assignment (axis, value label), seed included.
    pub axes: Vec<(String, String)>,
    /// The resolved configuration.
    pub config: JobConfig,
    /// How it ended.
    pub status: JobStatus,
    /// Why it failed or diverged.
    pub error: Option<String>,
    /// The epoch whose loss was not finite.
    pub diverged_epoch: Option<u32>,
    /// Epochs that finished.
    pub epochs_completed: u32,
    /// `cpu`, `cuda:0`, or empty when the job never started training.
    pub device: String,
    /// Threads the job ran on.
    pub threads: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// Wall time of the job, evaluation included.
    pub wall_seconds: f64,
    /// Time in training steps.
    pub train_seconds: f64,
    /// Training samples per second of training time.
    pub samples_per_second: Option<f64>,
    /// The actsweep version that ran it.
    pub actsweep_version: String,
    /// Commit of the working directory's repository, when known.
    pub git_commit: Option<String>,
    /// Whether `jobs/<id>.boundary.parquet` exists.
    pub has_boundary: bool,
}

impl JobRecord {
    /// The record of `job` at plan position `index` before it has run:
    /// its identity, status `ok`, nothing trained, no times.
    pub fn new(job: &Job, index: usize) -> JobRecord {
        JobRecord {
            job_id: job.id.clone(),
            index: index as u32,
            experiment: job.experiment.clone(),
            label: job.label.clone(),
            seed: job.config.seed,
            axes: job.axes.clone(),
            config: job.config.clone(),
            status: JobStatus::Ok,
            error: None,
            diverged_epoch: None,
            epochs_completed: 0,
            device: String::new(),
            threads: 1,
            started_at: String::new(),
            finished_at: String::new(),
            wall_seconds: 0.0,
            train_seconds: 0.0,
            samples_per_second: None,
            actsweep_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: None,
            has_boundary: false,
        }
    }

    /// This record's outcome (status, timings) as the record of `job` at
    /// plan position `index`: for jobs that share one training.
    pub fn for_job(&self, job: &Job, index: usize) -> JobRecord {
        let id = JobRecord::new(job, index);
        JobRecord {
            job_id: id.job_id,
            index: id.index,
            experiment: id.experiment,
            label: id.label,
            seed: id.seed,
            axes: id.axes,
            config: id.config,
            ..self.clone()
        }
    }
}

/// What a job's files say (see [`ResultsDir::check`]).
#[derive(Debug, Clone, PartialEq)]
pub enum JobFiles {
    /// No record: the job has not been written.
    Missing,
    /// The record and its tables read back.
    Written(Box<JobRecord>),
    /// Something does not read back; why.
    Damaged(String),
}

/// Checks that a file is a whole Parquet file as far as its ends tell:
/// `PAR1` at both ends and a footer length that fits. A truncated file
/// fails this; the metadata itself is parsed only when the table is read.
fn parquet_footer(path: &Path) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = f.metadata().map_err(|e| format!("cannot stat: {e}"))?.len();
    if len < 12 {
        return Err(format!("{len} bytes, too short for Parquet"));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    f.read_exact(&mut head)
        .and_then(|_| f.seek(SeekFrom::End(-8)))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| format!("cannot read: {e}"))?;
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if &head != b"PAR1" || &tail[4..] != b"PAR1" || footer + 12 > len {
        return Err("not a whole Parquet file (truncated?)".into());
    }
    Ok(())
}

/// A results folder: `<out>/<sweep name>/`.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// The folder (not created).
    pub fn new(root: impl Into<PathBuf>) -> ResultsDir {
        ResultsDir { root: root.into() }
    }

    /// Creates the folder and its `jobs/`.
    pub fn create(&self) -> Result<(), ResultsError> {
        let jobs = self.jobs_dir();
        fs::create_dir_all(&jobs).map_err(io_err("cannot create", &jobs))
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Per-job files.
    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    /// Where damaged job files are moved.
    pub fn damaged_dir(&self) -> PathBuf {
        self.jobs_dir().join("damaged")
    }

    /// A merged table.
    pub fn table(&self, t: TableFile) -> PathBuf {
        self.root.join(t.file_name())
    }

    /// The copy of the sweep file a run was started with.
    pub fn sweep_copy(&self) -> PathBuf {
        self.root.join("sweep.toml")
    }

    /// The expanded plan, as `actsweep plan --json` prints it.
    pub fn plan_file(&self) -> PathBuf {
        self.root.join("plan.json")
    }

    /// The runs' log.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("run.log")
    }

    /// The report's folder.
    pub fn report_dir(&self) -> PathBuf {
        self.root.join("report")
    }

    /// The lock file of a run, or of shard `index` of `count`.
    pub fn lock_name(shard: Option<(usize, usize)>) -> String {
        match shard {
            Some((index, count)) => format!("run.shard-{index}-of-{count}.lock"),
            None => "run.lock".to_string(),
        }
    }

    /// The Slurm scripts and logs.
    pub fn slurm_dir(&self) -> PathBuf {
        self.root.join("slurm")
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.jobs_dir().join(format!("{id}.json"))
    }

    fn metrics_path(&self, id: &str) -> PathBuf {
        self.jobs_dir().join(format!("{id}.metrics.parquet"))
    }

    fn boundary_path(&self, id: &str) -> PathBuf {
        self.jobs_dir().join(format!("{id}.boundary.parquet"))
    }

    /// The record of a done job; `None` when it is not done or its files
    /// do not read back (see [`Self::check`]).
    pub fn record(&self, id: &str) -> Option<JobRecord> {
        match self.check(id) {
            JobFiles::Written(r) => Some(*r),
            JobFiles::Missing | JobFiles::Damaged(_) => None,
        }
    }

    /// The recorded status of a job whose files read back; `None` otherwise.
    pub fn status(&self, id: &str) -> Option<JobStatus> {
        self.record(id).map(|r| r.status)
    }

    /// Whether a job's files are there and read back: its record parses,
    /// and its metrics table (and boundary table, when it has one) exists
    /// and ends in a whole Parquet footer. Cheap: no table is read.
    pub fn check(&self, id: &str) -> JobFiles {
        let rp = self.record_path(id);
        let bytes = match fs::read(&rp) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return JobFiles::Missing,
            Err(e) => return JobFiles::Damaged(format!("cannot read {}: {e}", rp.display())),
        };
        let record: JobRecord = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return JobFiles::Damaged(format!("{} is not valid: {e}", rp.display())),
        };
        let record = Box::new(record);
        let mut tables = vec![self.metrics_path(id)];
        if record.has_boundary {
            tables.push(self.boundary_path(id));
        }
        for t in &tables {
            if let Err(why) = parquet_footer(t) {
                return JobFiles::Damaged(format!("{}: {why}", t.display()));
            }
        }
        JobFiles::Written(record)
    }

    /// Moves every file of job `id` into `jobs/damaged/` (a timestamp keeps
    /// earlier copies); returns where they went.
    pub fn set_aside(&self, id: &str) -> Result<Vec<PathBuf>, ResultsError> {
        let to_dir = self.damaged_dir();
        fs::create_dir_all(&to_dir).map_err(io_err("cannot create", &to_dir))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut moved = Vec::new();
        // The record first: from that moment on the job is not done.
        for from in [
            self.record_path(id),
            self.metrics_path(id),
            self.boundary_path(id),
        ] {
            let Some(name) = from.file_name() else {
                continue;
            };
            let to = to_dir.join(format!("{stamp}-{}", name.to_string_lossy()));
            match fs::rename(&from, &to) {
                Ok(()) => moved.push(to),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("cannot move aside", &from)(e)),
            }
        }
        Ok(moved)
    }

    /// Writes one job's results: metrics, boundary, then the record.
    pub fn write_job(
        &self,
        record: &JobRecord,
        metrics: &[Metric],
        boundary: &[BoundaryPoint],
    ) -> Result<(), ResultsError> {
        let id = &record.job_id;
        let mp = self.metrics_path(id);
        let mut df = metrics_frame(id, metrics).map_err(pl_err(&mp))?;
        write_parquet(&mp, &mut df)?;
        if record.has_boundary {
            let bp = self.boundary_path(id);
            let mut df = boundary_frame(id, boundary).map_err(pl_err(&bp))?;
            write_parquet(&bp, &mut df)?;
        }
        self.write_record(record)
    }

    /// Writes a job's results from those of the done job `source` that
    /// trained the same config: its metrics (and boundary) tables, read back
    /// and rewritten under `record`'s job id, then the record.
    pub fn copy_job(&self, source: &str, record: &JobRecord) -> Result<(), ResultsError> {
        let id = &record.job_id;
        let copy = |from: PathBuf, to: PathBuf| -> Result<(), ResultsError> {
            let mut df = read_parquet(&from)?;
            let ids = Column::new(col::JOB_ID.into(), vec![id.as_str(); df.height()]);
            df.with_column(ids).map_err(pl_err(&to))?;
            write_parquet(&to, &mut df)
        };
        copy(self.metrics_path(source), self.metrics_path(id))?;
        if record.has_boundary {
            copy(self.boundary_path(source), self.boundary_path(id))?;
        }
        self.write_record(record)
    }

    /// Writes a job's record, the commit point: the job is done from here on.
    fn write_record(&self, record: &JobRecord) -> Result<(), ResultsError> {
        let rp = self.record_path(&record.job_id);
        let json = serde_json::to_vec_pretty(record).map_err(|source| ResultsError::Record {
            path: rp.clone(),
            source,
        })?;
        atomic_write(&rp, |f| f.write_all(&json))
    }

    /// The ids of the job records in `jobs/`, sorted (temporary files
    /// ignored); none when there is no `jobs/`.
    fn record_ids(&self) -> Result<Vec<String>, ResultsError> {
        let dir = self.jobs_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("cannot list", &dir)(e)),
        };
        let mut ids = Vec::new();
        for e in entries {
            let e = e.map_err(io_err("cannot list", &dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name
                .strip_suffix(".json")
                .filter(|_| !name.starts_with('.'))
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Every written job in this folder whose files read back (temporary
    /// files ignored), and the damaged ones: (job id, why).
    pub fn records(&self) -> Result<(Vec<JobRecord>, Vec<Skipped>), ResultsError> {
        let ids = self.record_ids()?;
        let mut out = Vec::new();
        let mut damaged = Vec::new();
        for id in ids {
            match self.check(&id) {
                JobFiles::Written(r) => out.push(*r),
                JobFiles::Damaged(why) => damaged.push(Skipped { job_id: id, why }),
                JobFiles::Missing => {}
            }
        }
        Ok((out, damaged))
    }
}

/// A job left out of a merge because its files do not read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The job's id.
    pub job_id: String,
    /// Which file, and what is wrong with it.
    pub why: String,
}

/// A job's done results in one of several folders.
#[derive(Debug, Clone)]
pub struct Found {
    /// The record.
    pub record: JobRecord,
    /// The folder holding it.
    pub dir: ResultsDir,
}

/// The written jobs of several folders, one per id (the first folder
/// wins), sorted by plan position and id, and the damaged ones left out;
/// `keep` filters both by id when given.
pub fn gather(
    dirs: &[ResultsDir],
    keep: Option<&HashSet<String>>,
) -> Result<(Vec<Found>, Vec<Skipped>), ResultsError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let kept = |id: &str| keep.is_none_or(|k| k.contains(id));
    for d in dirs {
        let (records, damaged) = d.records()?;
        skipped.extend(damaged.into_iter().filter(|s| kept(&s.job_id)));
        for r in records {
            if !kept(&r.job_id) || !seen.insert(r.job_id.clone()) {
                continue;
            }
            out.push(Found {
                record: r,
                dir: d.clone(),
            });
        }
    }
    out.sort_by(|a, b| (a.record.index, &a.record.job_id).cmp(&(b.record.index, &b.record.job_id)));
    // A job damaged in one folder but whole in another is not missing.
    skipped.retain(|s| !seen.contains(&s.job_id));
    Ok((out, skipped))
}

/// Row counts of the merged tables, and the jobs left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Merged {
    /// Jobs (rows of `runs.parquet`).
    pub jobs: usize,
    /// Rows of `metrics.parquet`.
    pub metrics: usize,
    /// Rows of `boundaries.parquet`.
    pub boundaries: usize,
    /// Jobs whose files did not read back, left out of the tables.
    pub skipped: Vec<Skipped>,
}

/// Writes `runs.parquet`, `metrics.parquet` and `boundaries.parquet` into
/// `into` from the found jobs; a job whose tables do not read is left out
/// (and listed in [`Merged::skipped`], after `skipped`), not a failure.
pub fn merge(found: &[Found], skipped: Vec<Skipped>, into: &Path) -> Result<Merged, ResultsError> {
    fs::create_dir_all(into).map_err(io_err("cannot create", into))?;
    let mut skipped = skipped;
    let mut records: Vec<&JobRecord> = Vec::new();
    let metrics_path = into.join(TableFile::Metrics.file_name());
    let boundary_path = into.join(TableFile::Boundaries.file_name());
    let mut metrics = metrics_frame("", &[]).map_err(pl_err(&metrics_path))?;
    let mut bounds = boundary_frame("", &[]).map_err(pl_err(&boundary_path))?;
    for f in found {
        let id = &f.record.job_id;
        match job_tables(f) {
            Ok((m, b)) => {
                metrics.vstack_mut_owned(m).map_err(pl_err(&metrics_path))?;
                if let Some(b) = b {
                    bounds.vstack_mut_owned(b).map_err(pl_err(&boundary_path))?;
                }
                records.push(&f.record);
            }
            Err(e) => skipped.push(Skipped {
                job_id: id.clone(),
                why: error_chain(&e),
            }),
        }
    }
    let runs_path = into.join(TableFile::Runs.file_name());
    let mut runs = runs_frame(&records).map_err(pl_err(&runs_path))?;
    write_parquet(&runs_path, &mut runs)?;
    metrics.rechunk_mut();
    write_parquet(&metrics_path, &mut metrics)?;
    bounds.rechunk_mut();
    write_parquet(&boundary_path, &mut bounds)?;
    Ok(Merged {
        jobs: runs.height(),
        metrics: metrics.height(),
        boundaries: bounds.height(),
        skipped,
    })
}

/// A found job's metrics table and boundary table (when it has one).
fn job_tables(f: &Found) -> Result<(DataFrame, Option<DataFrame>), ResultsError> {
    let m = read_parquet(&f.dir.metrics_path(&f.record.job_id))?;
    let b = if f.record.has_boundary {
        Some(read_parquet(&f.dir.boundary_path(&f.record.job_id))?)
    } else {
        None
    };
    Ok((m, b))
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

/// How many job records in `dir` are newer than its merged `runs.parquet`
/// (all of them when there is none): tables drawn from it would be stale.
pub fn newer_than_tables(dir: &ResultsDir) -> usize {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let tables = modified(&dir.table(TableFile::Runs));
    dir.record_ids()
        .unwrap_or_default()
        .iter()
        .filter(|id| match (tables, modified(&dir.record_path(id))) {
            (Some(t), Some(j)) => j > t,
            _ => true,
        })
        .count()
}

/// A job's metrics as a table (the `metrics.parquet` columns).
pub fn metrics_frame(job_id: &str, metrics: &[Metric]) -> PolarsResult<DataFrame> {
    let n = metrics.len();
    DataFrame::new(
        n,
        vec![
            Column::new(col::JOB_ID.into(), vec![job_id; n]),
            Column::new(
                col::EPOCH.into(),
                metrics.iter().map(|m| m.epoch).collect::<Vec<u32>>(),
            ),
            Column::new(
                col::SPLIT.into(),
                metrics
                    .iter()
                    .map(|m| m.split.map(Split::as_str))
                    .collect::<Vec<Option<&str>>>(),
            ),
            Column::new(
                col::LAYER.into(),
                metrics
                    .iter()
                    .map(|m| m.layer)
                    .collect::<Vec<Option<u32>>>(),
            ),
            Column::new(
                col::METRIC.into(),
                metrics
                    .iter()
                    .map(|m| m.metric.as_str())
                    .collect::<Vec<&str>>(),
            ),
            Column::new(
                col::VALUE.into(),
                metrics.iter().map(|m| m.value).collect::<Vec<f64>>(),
            ),
        ],
    )
}

/// A job's boundary grid as a table (the `boundaries.parquet` columns).
pub fn boundary_frame(job_id: &str, pts: &[BoundaryPoint]) -> PolarsResult<DataFrame> {
    let n = pts.len();
    DataFrame::new(
        n,
        vec![
            Column::new(col::JOB_ID.into(), vec![job_id; n]),
            Column::new(
                col::EPOCH.into(),
                pts.iter().map(|p| p.epoch).collect::<Vec<u32>>(),
            ),
            Column::new(col::X.into(), pts.iter().map(|p| p.x).collect::<Vec<f32>>()),
            Column::new(col::Y.into(), pts.iter().map(|p| p.y).collect::<Vec<f32>>()),
            Column::new(
                col::VALUE.into(),
                pts.iter().map(|p| p.value).collect::<Vec<f32>>(),
            ),
        ],
    )
}

/// The `runs.parquet` table: fixed columns, `axis.<name>` per grid axis,
/// `config.<field>` per resolved field (typed by its values).
pub fn runs_frame(records: &[&JobRecord]) -> PolarsResult<DataFrame> {
    let n = records.len();
    let s =
        |f: &dyn Fn(&JobRecord) -> String| records.iter().map(|r| f(r)).collect::<Vec<String>>();
    let mut cols = vec![
        Column::new(col::JOB_ID.into(), s(&|r| r.job_id.clone())),
        Column::new(
            col::INDEX.into(),
            records.iter().map(|r| r.index).collect::<Vec<u32>>(),
        ),
        Column::new(col::EXPERIMENT.into(), s(&|r| r.experiment.clone())),
        Column::new(col::LABEL.into(), s(&|r| r.label.clone())),
        Column::new(
            col::SEED.into(),
            records.iter().map(|r| r.seed as i64).collect::<Vec<i64>>(),
        ),
        Column::new(
            col::AXES.into(),
            s(&|r| {
                r.axes
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        ),
    ];
    // Axis columns, in first-seen order (the seed has its own column).
    let mut axis_names: Vec<String> = Vec::new();
    for r in records {
        for (k, _) in &r.axes {
            if k != col::SEED && !axis_names.contains(k) {
                axis_names.push(k.clone());
            }
        }
    }
    for a in &axis_names {
        let vals: Vec<Option<String>> = records
            .iter()
            .map(|r| r.axes.iter().find(|(k, _)| k == a).map(|(_, v)| v.clone()))
            .collect();
        cols.push(Column::new(format!("{}{a}", col::AXIS_PREFIX).into(), vals));
    }
    cols.extend([
        Column::new(col::STATUS.into(), s(&|r| r.status.as_str().to_string())),
        Column::new(
            col::ERROR.into(),
            records.iter().map(|r| r.error.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "diverged_epoch".into(),
            records
                .iter()
                .map(|r| r.diverged_epoch)
                .collect::<Vec<Option<u32>>>(),
        ),
        Column::new(
            col::EPOCHS_COMPLETED.into(),
            records
                .iter()
                .map(|r| r.epochs_completed)
                .collect::<Vec<u32>>(),
        ),
        Column::new("device".into(), s(&|r| r.device.clone())),
        Column::new(
            "threads".into(),
            records.iter().map(|r| r.threads).collect::<Vec<u32>>(),
        ),
        Column::new("started_at".into(), s(&|r| r.started_at.clone())),
        Column::new("finished_at".into(), s(&|r| r.finished_at.clone())),
        Column::new(
            "wall_seconds".into(),
            records.iter().map(|r| r.wall_seconds).collect::<Vec<f64>>(),
        ),
        Column::new(
            "train_seconds".into(),
            records
                .iter()
                .map(|r| r.train_seconds)
                .collect::<Vec<f64>>(),
        ),
        Column::new(
            "samples_per_second".into(),
            records
                .iter()
                .map(|r| r.samples_per_second)
                .collect::<Vec<Option<f64>>>(),
        ),
        Column::new(
            "actsweep_version".into(),
            s(&|r| r.actsweep_version.clone()),
        ),
        Column::new(
            "git_commit".into(),
            records
                .iter()
                .map(|r| r.git_commit.clone())
                .collect::<Vec<_>>(),
        ),
    ]);
    // Config columns: the union of every job's flattened fields.
    let flat: Vec<Vec<(String, serde_json::Value)>> =
        records.iter().map(|r| r.config.flat()).collect();
    let mut keys: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for (k, _) in flat.iter().flatten() {
        if seen.insert(k.as_str()) {
            keys.push(k.clone());
        }
    }
    let flats: Vec<BTreeMap<String, serde_json::Value>> =
        flat.iter().map(|f| f.iter().cloned().collect()).collect();
    for k in &keys {
        let vals: Vec<Option<&serde_json::Value>> = flats
            .iter()
            .map(|f| f.get(k).filter(|v| !v.is_null()))
            .collect();
        cols.push(typed_column(&format!("{}{k}", col::CONFIG_PREFIX), &vals));
    }
    DataFrame::new(n, cols)
}

/// A column from JSON values: i64 when all are integers, f64 when all are
/// numbers, bool when all are booleans, a list when all are lists (of the
/// type their items take, by the same rule), else strings.
fn typed_column(name: &str, vals: &[Option<&serde_json::Value>]) -> Column {
    use serde_json::Value;
    let present = || vals.iter().flatten();
    if present().next().is_some() && present().all(|v| v.is_array()) {
        return list_column(name, vals);
    }
    if present().all(|v| v.is_i64() || v.is_u64()) {
        let v: Vec<Option<i64>> = vals.iter().map(|v| v.and_then(|v| v.as_i64())).collect();
        Column::new(name.into(), v)
    } else if present().all(|v| v.is_number()) {
        let v: Vec<Option<f64>> = vals.iter().map(|v| v.and_then(Value::as_f64)).collect();
        Column::new(name.into(), v)
    } else if present().all(|v| v.is_boolean()) {
        let v: Vec<Option<bool>> = vals.iter().map(|v| v.and_then(Value::as_bool)).collect();
        Column::new(name.into(), v)
    } else {
        let v: Vec<Option<String>> = vals
            .iter()
            .map(|v| {
                v.map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .collect();
        Column::new(name.into(), v)
    }
}

/// A Parquet list column (`config.widths`, `config.record`): the items of
/// every row typed together, so `[256, 256]` is a list of i64 and
/// `["grad_norms"]` a list of strings; an empty list stays empty.
fn list_column(name: &str, vals: &[Option<&serde_json::Value>]) -> Column {
    let items: Vec<&serde_json::Value> = vals
        .iter()
        .flatten()
        .filter_map(|v| v.as_array())
        .flatten()
        .collect();
    let inner = typed_column("item", &items.iter().map(|v| Some(*v)).collect::<Vec<_>>());
    let mut offset = 0;
    let rows: ListChunked = vals
        .iter()
        .map(|v| {
            let len = v.and_then(|v| v.as_array()).map(Vec::len)?;
            let row = inner.as_materialized_series().slice(offset as i64, len);
            offset += len;
            Some(row)
        })
        .collect();
    let rows = if items.is_empty() {
        // No items to type the list by: an empty list of strings.
        match rows.cast(&DataType::List(Box::new(DataType::String))) {
            Ok(s) => s.list().cloned().unwrap_or(rows),
            Err(_) => rows,
        }
    } else {
        rows
    };
    rows.with_name(name.into()).into_series().into_column()
}

/// Seconds since the Unix epoch as RFC 3339 UTC (`2026-11-23T10:00:00.123Z`).
pub fn rfc3339(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let millis = ((unix - secs as f64) * 1000.0).floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(rfc3339(1_795_435_200.0), "2026-11-23T12:00:00.000Z");
    }

    #[test]
    fn typed_columns_pick_the_narrowest_type() {
        let one = serde_json::json!(1);
        let half = serde_json::json!(0.5);
        let yes = serde_json::json!(true);
        let s = serde_json::json!("relu");
        assert_eq!(
            typed_column("a", &[Some(&one), None]).dtype(),
            &DataType::Int64
        );
        assert_eq!(
            typed_column("a", &[Some(&one), Some(&half)]).dtype(),
            &DataType::Float64
        );
        assert_eq!(typed_column("a", &[Some(&yes)]).dtype(), &DataType::Boolean);
        assert_eq!(
            typed_column("a", &[Some(&s), Some(&one)]).dtype(),
            &DataType::String
        );
    }

    #[test]
    fn lists_become_parquet_lists_row_by_row() {
        let widths = [serde_json::json!([256, 128]), serde_json::json!([16])];
        let record = serde_json::json!(["grad_norms", "dead_relu"]);
        let empty = serde_json::json!([]);
        let col = typed_column("w", &[Some(&widths[0]), None, Some(&widths[1])]);
        assert_eq!(col.dtype(), &DataType::List(Box::new(DataType::Int64)));
        let rows = col.list().unwrap();
        let row = |i| rows.get_as_series(i).map(|s| s.i64().unwrap().to_vec());
        assert_eq!(row(0), Some(vec![Some(256), Some(128)]));
        assert_eq!(row(1), None);
        assert_eq!(row(2), Some(vec![Some(16)]));
        let col = typed_column("r", &[Some(&record), Some(&empty)]);
        assert_eq!(col.dtype(), &DataType::List(Box::new(DataType::String)));
        assert_eq!(col.list().unwrap().get_as_series(1).unwrap().len(), 0);
        let col = typed_column("r", &[Some(&empty)]);
        assert_eq!(col.dtype(), &DataType::List(Box::new(DataType::String)));
    }
}
