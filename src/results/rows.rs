//! The rows of the results contract: what a job produces ([`Metric`],
//! [`BoundaryPoint`]) and what the merged tables read back as ([`Tables`]:
//! [`RunRow`], [`MetricRow`], [`BoundaryRow`]).
//!
//! The column names are declared once here ([`mod@col`]) and used by the
//! writers in [`super`] and the reader below, so the report reads exactly
//! what `run` writes; the report's tests write their fixtures through the
//! same writer ([`super::ResultsDir::write_job`] and [`super::merge`]).
//!
//! The reader takes columns by name and casts them to the type it wants,
//! so a table with extra columns still reads. Statuses and splits are
//! parsed into their types: a value outside the contract is an error
//! naming the file, not a string compared later.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use super::metric::Split;
use super::{read_parquet, JobStatus, ResultsError, TableFile};

/// Column names of the three tables.
pub mod col {
    /// The job's id (every table).
    pub const JOB_ID: &str = "job_id";
    /// Plan position (runs).
    pub const INDEX: &str = "index";
    /// Experiment name (runs).
    pub const EXPERIMENT: &str = "experiment";
    /// `experiment/axis=value,...,seed=N` (runs).
    pub const LABEL: &str = "label";
    /// Replicate seed (runs).
    pub const SEED: &str = "seed";
    /// `axis=value,...` (runs).
    pub const AXES: &str = "axes";
    /// Prefix of one column per grid axis (runs).
    pub const AXIS_PREFIX: &str = "axis.";
    /// Prefix of one column per resolved config field (runs).
    pub const CONFIG_PREFIX: &str = "config.";
    /// `ok`, `diverged`, `failed` (runs).
    pub const STATUS: &str = "status";
    /// Why a job failed or diverged (runs).
    pub const ERROR: &str = "error";
    /// Epochs trained (runs).
    pub const EPOCHS_COMPLETED: &str = "epochs_completed";
    /// Epoch (metrics, boundaries).
    pub const EPOCH: &str = "epoch";
    /// Split (metrics).
    pub const SPLIT: &str = "split";
    /// Layer from 1 (metrics).
    pub const LAYER: &str = "layer";
    /// Metric name (metrics).
    pub const METRIC: &str = "metric";
    /// The value (metrics, boundaries).
    pub const VALUE: &str = "value";
    /// First input feature (boundaries).
    pub const X: &str = "x";
    /// Second input feature (boundaries).
    pub const Y: &str = "y";
}

/// One tidy metric value of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// 0 is the network at initialisation.
    pub epoch: u32,
    /// The split, for metrics measured on one.
    pub split: Option<Split>,
    /// Layer number from 1 at the input; none for whole-model metrics.
    pub layer: Option<u32>,
    /// The metric's stored name (see [`super::metric::MetricKind`]).
    pub metric: String,
    /// Its value.
    pub value: f64,
}

/// The model's output at one point of a 2-D grid (decision boundary).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoundaryPoint {
    /// Epoch (0 and the last).
    pub epoch: u32,
    /// First input feature.
    pub x: f32,
    /// Second input feature.
    pub y: f32,
    /// Probability of class 1 for two classes, the predicted class for more,
    /// the output for regression.
    pub value: f32,
}

/// One row of `runs.parquet`, as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The job's id.
    pub job_id: String,
    /// Its experiment.
    pub experiment: String,
    /// `experiment/axis=value,...,seed=N`.
    pub label: String,
    /// Replicate seed.
    pub seed: i64,
    /// Grid assignment from the `axis.<name>` columns (non-null ones only).
    pub axes: BTreeMap<String, String>,
    /// How it ended.
    pub status: JobStatus,
    /// Why it failed or diverged.
    pub error: Option<String>,
    /// Epochs trained.
    pub epochs_completed: u32,
}

/// One row of `metrics.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The job's id.
    pub job_id: String,
    /// 0 = at initialisation.
    pub epoch: u32,
    /// The split, or none.
    pub split: Option<Split>,
    /// Layer from 1, or none for whole-model metrics.
    pub layer: Option<u32>,
    /// The metric's stored name.
    pub metric: String,
    /// Its value.
    pub value: f64,
}

impl MetricRow {
    /// Whether this row is a value of `v` (its metric, on its split).
    pub fn holds(&self, v: &super::ValueName) -> bool {
        self.metric == v.metric && self.split == v.split
    }
}

/// One grid point of `boundaries.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryRow {
    /// The job's id.
    pub job_id: String,
    /// The point.
    pub point: BoundaryPoint,
}

/// The merged tables of a results folder, read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tables {
    /// One per job.
    pub runs: Vec<RunRow>,
    /// Tidy metrics.
    pub metrics: Vec<MetricRow>,
    /// Decision-boundary grids (empty when no job recorded one).
    pub boundaries: Vec<BoundaryRow>,
}

impl Tables {
    /// Reads `runs.parquet` and `metrics.parquet` (both required) and
    /// `boundaries.parquet` (empty when absent) of the folder `dir`.
    pub fn read(dir: &Path) -> Result<Tables, ResultsError> {
        let path = |t: TableFile| dir.join(t.file_name());
        let required = |p: std::path::PathBuf| {
            if p.exists() {
                Ok(p)
            } else {
                Err(ResultsError::Missing(p))
            }
        };
        let runs = read_runs(&required(path(TableFile::Runs))?)?;
        let metrics = read_metrics(&required(path(TableFile::Metrics))?)?;
        let bpath = path(TableFile::Boundaries);
        let boundaries = if bpath.exists() {
            read_boundaries(&bpath)?
        } else {
            Vec::new()
        };
        Ok(Tables {
            runs,
            metrics,
            boundaries,
        })
    }
}

/// A column as optional strings (any type is cast to text); all nulls
/// when the table has no such column.
fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    if df.column(name).is_err() && optional(name) {
        return Ok(vec![None; df.height()]);
    }
    let c = df.column(name)?.cast(&DataType::String)?;
    let ca = c.str()?;
    Ok((0..ca.len())
        .map(|i| ca.get(i).map(str::to_string))
        .collect())
}

fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    if df.column(name).is_err() && optional(name) {
        return Ok(vec![None; df.height()]);
    }
    let c = df.column(name)?.cast(&DataType::Float64)?;
    let ca = c.f64()?;
    Ok((0..ca.len()).map(|i| ca.get(i)).collect())
}

/// Columns a table may lack (written by older versions).
fn optional(name: &str) -> bool {
    [col::LABEL, col::ERROR, col::EPOCHS_COMPLETED].contains(&name)
}

/// A polars error about `path`.
fn at(path: &Path) -> impl FnOnce(PolarsError) -> ResultsError + '_ {
    move |source| ResultsError::Polars {
        path: path.to_path_buf(),
        source,
    }
}

/// A value outside the contract in `path`.
fn invalid(path: &Path, what: String) -> ResultsError {
    ResultsError::Invalid {
        path: path.to_path_buf(),
        what,
    }
}

fn read_runs(path: &Path) -> Result<Vec<RunRow>, ResultsError> {
    let df = read_parquet(path)?;
    let text = |name| strings(&df, name).map_err(at(path));
    let ids = text(col::JOB_ID)?;
    let exps = text(col::EXPERIMENT)?;
    let labels = text(col::LABEL)?;
    let status = text(col::STATUS)?;
    let errors = text(col::ERROR)?;
    let seeds = floats(&df, col::SEED).map_err(at(path))?;
    let epochs = floats(&df, col::EPOCHS_COMPLETED).map_err(at(path))?;
    let mut axis_cols = Vec::new();
    for name in df.get_column_names() {
        if let Some(axis) = name.as_str().strip_prefix(col::AXIS_PREFIX) {
            axis_cols.push((axis.to_string(), text(name.as_str())?));
        }
    }
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let job_id = ids[i].clone().unwrap_or_default();
        let status = status[i].as_deref().unwrap_or_default();
        let status = JobStatus::parse(status)
            .ok_or_else(|| invalid(path, format!("job {job_id} has status `{status}`")))?;
        out.push(RunRow {
            label: labels[i].clone().unwrap_or_else(|| job_id.clone()),
            experiment: exps[i].clone().unwrap_or_default(),
            seed: seeds[i].unwrap_or(0.0) as i64,
            axes: axis_cols
                .iter()
                .filter_map(|(k, v)| v[i].clone().map(|v| (k.clone(), v)))
                .collect(),
            status,
            error: errors[i].clone(),
            epochs_completed: epochs[i].unwrap_or(0.0) as u32,
            job_id,
        });
    }
    Ok(out)
}

fn read_metrics(path: &Path) -> Result<Vec<MetricRow>, ResultsError> {
    let df = read_parquet(path)?;
    let go = || -> PolarsResult<_> {
        Ok((
            strings(&df, col::JOB_ID)?,
            floats(&df, col::EPOCH)?,
            strings(&df, col::SPLIT)?,
            floats(&df, col::LAYER)?,
            strings(&df, col::METRIC)?,
            floats(&df, col::VALUE)?,
        ))
    };
    let (ids, epochs, splits, layers, metrics, values) = go().map_err(at(path))?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let split = match &splits[i] {
            None => None,
            Some(s) => {
                Some(Split::parse(s).ok_or_else(|| invalid(path, format!("unknown split `{s}`")))?)
            }
        };
        out.push(MetricRow {
            job_id: ids[i].clone().unwrap_or_default(),
            epoch: epochs[i].unwrap_or(0.0) as u32,
            split,
            layer: layers[i].map(|l| l as u32),
            metric: metrics[i].clone().unwrap_or_default(),
            value: values[i].unwrap_or(f64::NAN),
        });
    }
    Ok(out)
}

fn read_boundaries(path: &Path) -> Result<Vec<BoundaryRow>, ResultsError> {
    let df = read_parquet(path)?;
    let go = || -> PolarsResult<_> {
        Ok((
            strings(&df, col::JOB_ID)?,
            floats(&df, col::EPOCH)?,
            floats(&df, col::X)?,
            floats(&df, col::Y)?,
            floats(&df, col::VALUE)?,
        ))
    };
    let (ids, epochs, xs, ys, vs) = go().map_err(at(path))?;
    let f = |v: Option<f64>| v.unwrap_or(f64::NAN) as f32;
    Ok((0..df.height())
        .map(|i| BoundaryRow {
            job_id: ids[i].clone().unwrap_or_default(),
            point: BoundaryPoint {
                epoch: epochs[i].unwrap_or(0.0) as u32,
                x: f(xs[i]),
                y: f(ys[i]),
                value: f(vs[i]),
            },
        })
        .collect())
}
