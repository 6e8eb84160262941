//! Reading a sweep's tidy results (`runs.parquet`, `metrics.parquet`,
//! `boundaries.parquet`, see `docs/results.md`) into plain rows, and writing
//! the same files from rows.
//!
//! The report only needs a handful of columns, read by name and cast to the
//! type it wants, so a writer that stores `epoch` as i64 instead of u32, or
//! adds columns, does not break it. The writer exists for tests and fixtures
//! (the report is tested without the training runner) and writes the columns
//! the report reads, with the documented types.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// One row of `runs.parquet`: what the report needs of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
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
    /// `ok`, `diverged` or `failed`.
    pub status: String,
    /// Why it failed or diverged.
    pub error: Option<String>,
    /// Epochs trained.
    pub epochs_completed: u32,
}

/// One row of `metrics.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The job's id.
    pub job_id: String,
    /// 0 = at initialisation.
    pub epoch: u32,
    /// `train`, `test`, `probe` or none.
    pub split: Option<String>,
    /// Layer from 1, or none for whole-model metrics.
    pub layer: Option<u32>,
    /// The metric's name.
    pub metric: String,
    /// Its value.
    pub value: f64,
}

/// One grid point of `boundaries.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryPoint {
    /// The job's id.
    pub job_id: String,
    /// Epoch of the grid.
    pub epoch: u32,
    /// First input feature.
    pub x: f32,
    /// Second input feature.
    pub y: f32,
    /// Model output (class-1 probability, class, or regression output).
    pub value: f32,
}

/// Everything in a results folder that the report reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    /// One per job.
    pub runs: Vec<Run>,
    /// Tidy metrics.
    pub metrics: Vec<Metric>,
    /// Decision-boundary grids (empty when no job recorded one).
    pub boundaries: Vec<BoundaryPoint>,
}

/// Reading or writing results failed.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A required file is absent.
    #[error("{} not found (run the sweep first: `actsweep run FILE`)", .0.display())]
    Missing(PathBuf),
    /// The file could not be opened or created.
    #[error("cannot open {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Polars could not read or write it, or a column is missing or mistyped.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Polars' error.
        #[source]
        source: PolarsError,
    },
}

impl Results {
    /// Reads `runs.parquet` and `metrics.parquet` (both required) and
    /// `boundaries.parquet` (optional) from `dir`.
    pub fn read(dir: &Path) -> Result<Results, ResultsError> {
        let runs = read_runs(&dir.join("runs.parquet"))?;
        let metrics = read_metrics(&dir.join("metrics.parquet"))?;
        let bpath = dir.join("boundaries.parquet");
        let boundaries = if bpath.exists() {
            read_boundaries(&bpath)?
        } else {
            Vec::new()
        };
        Ok(Results {
            runs,
            metrics,
            boundaries,
        })
    }

    /// Writes the three files into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<(), ResultsError> {
        std::fs::create_dir_all(dir).map_err(|source| ResultsError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut axis_names: Vec<&String> = self.runs.iter().flat_map(|r| r.axes.keys()).collect();
        axis_names.sort();
        axis_names.dedup();
        let mut cols = vec![
            col_str("job_id", self.runs.iter().map(|r| Some(r.job_id.as_str()))),
            col_str(
                "experiment",
                self.runs.iter().map(|r| Some(r.experiment.as_str())),
            ),
            col_str("label", self.runs.iter().map(|r| Some(r.label.as_str()))),
            Column::new(
                "seed".into(),
                self.runs.iter().map(|r| r.seed).collect::<Vec<i64>>(),
            ),
            col_str(
                "axes",
                self.runs.iter().map(|r| {
                    Some(
                        r.axes
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(","),
                    )
                }),
            ),
        ];
        for name in axis_names {
            cols.push(col_str(
                &format!("axis.{name}"),
                self.runs
                    .iter()
                    .map(|r| r.axes.get(name).map(String::as_str)),
            ));
        }
        cols.push(col_str(
            "status",
            self.runs.iter().map(|r| Some(r.status.as_str())),
        ));
        cols.push(col_str(
            "error",
            self.runs.iter().map(|r| r.error.as_deref()),
        ));
        cols.push(Column::new(
            "epochs_completed".into(),
            self.runs
                .iter()
                .map(|r| r.epochs_completed)
                .collect::<Vec<u32>>(),
        ));
        write_df(&dir.join("runs.parquet"), cols)?;

        let m = &self.metrics;
        let cols = vec![
            col_str("job_id", m.iter().map(|r| Some(r.job_id.as_str()))),
            Column::new(
                "epoch".into(),
                m.iter().map(|r| r.epoch).collect::<Vec<u32>>(),
            ),
            col_str("split", m.iter().map(|r| r.split.as_deref())),
            Column::new(
                "layer".into(),
                m.iter().map(|r| r.layer).collect::<Vec<Option<u32>>>(),
            ),
            col_str("metric", m.iter().map(|r| Some(r.metric.as_str()))),
            Column::new(
                "value".into(),
                m.iter().map(|r| r.value).collect::<Vec<f64>>(),
            ),
        ];
        write_df(&dir.join("metrics.parquet"), cols)?;

        if !self.boundaries.is_empty() {
            let b = &self.boundaries;
            let cols = vec![
                col_str("job_id", b.iter().map(|r| Some(r.job_id.as_str()))),
                Column::new(
                    "epoch".into(),
                    b.iter().map(|r| r.epoch).collect::<Vec<u32>>(),
                ),
                Column::new("x".into(), b.iter().map(|r| r.x).collect::<Vec<f32>>()),
                Column::new("y".into(), b.iter().map(|r| r.y).collect::<Vec<f32>>()),
                Column::new(
                    "value".into(),
                    b.iter().map(|r| r.value).collect::<Vec<f32>>(),
                ),
            ];
            write_df(&dir.join("boundaries.parquet"), cols)?;
        }
        Ok(())
    }
}

fn col_str<'a, S: AsRef<str> + 'a>(name: &str, vals: impl Iterator<Item = Option<S>>) -> Column {
    let v: Vec<Option<String>> = vals.map(|s| s.map(|s| s.as_ref().to_string())).collect();
    Column::new(name.into(), v)
}

fn write_df(path: &Path, cols: Vec<Column>) -> Result<(), ResultsError> {
    let pq = |source| ResultsError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let mut df = DataFrame::new_infer_height(cols).map_err(pq)?;
    let file = File::create(path).map_err(|source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetWriter::new(file).finish(&mut df).map_err(pq)?;
    Ok(())
}

fn read_df(path: &Path) -> Result<DataFrame, ResultsError> {
    if !path.exists() {
        return Err(ResultsError::Missing(path.to_path_buf()));
    }
    let file = File::open(path).map_err(|source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetReader::new(file)
        .finish()
        .map_err(|source| ResultsError::Parquet {
            path: path.to_path_buf(),
            source,
        })
}

/// A column as optional strings (any type is cast to text).
fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    let ca = c.str()?;
    Ok((0..ca.len())
        .map(|i| ca.get(i).map(str::to_string))
        .collect())
}

fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    let ca = c.f64()?;
    Ok((0..ca.len()).map(|i| ca.get(i)).collect())
}

fn read_runs(path: &Path) -> Result<Vec<Run>, ResultsError> {
    let df = read_df(path)?;
    let go = || -> PolarsResult<Vec<Run>> {
        let n = df.height();
        let ids = strings(&df, "job_id")?;
        let exps = strings(&df, "experiment")?;
        let labels = if df.column("label").is_ok() {
            strings(&df, "label")?
        } else {
            vec![None; n]
        };
        let seeds = floats(&df, "seed")?;
        let status = strings(&df, "status")?;
        let errors = if df.column("error").is_ok() {
            strings(&df, "error")?
        } else {
            vec![None; n]
        };
        let epochs = if df.column("epochs_completed").is_ok() {
            floats(&df, "epochs_completed")?
        } else {
            vec![None; n]
        };
        let mut axis_cols = Vec::new();
        for name in df.get_column_names() {
            if let Some(axis) = name.as_str().strip_prefix("axis.") {
                axis_cols.push((axis.to_string(), strings(&df, name.as_str())?));
            }
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let job_id = ids[i].clone().unwrap_or_default();
            let axes = axis_cols
                .iter()
                .filter_map(|(k, v)| v[i].clone().map(|v| (k.clone(), v)))
                .collect();
            out.push(Run {
                label: labels[i].clone().unwrap_or_else(|| job_id.clone()),
                job_id,
                experiment: exps[i].clone().unwrap_or_default(),
                seed: seeds[i].unwrap_or(0.0) as i64,
                axes,
                status: status[i].clone().unwrap_or_else(|| "failed".into()),
                error: errors[i].clone(),
                epochs_completed: epochs[i].unwrap_or(0.0) as u32,
            });
        }
        Ok(out)
    };
    go().map_err(|source| ResultsError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

fn read_metrics(path: &Path) -> Result<Vec<Metric>, ResultsError> {
    let df = read_df(path)?;
    let go = || -> PolarsResult<Vec<Metric>> {
        let ids = strings(&df, "job_id")?;
        let epochs = floats(&df, "epoch")?;
        let splits = strings(&df, "split")?;
        let layers = floats(&df, "layer")?;
        let metrics = strings(&df, "metric")?;
        let values = floats(&df, "value")?;
        let mut out = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            out.push(Metric {
                job_id: ids[i].clone().unwrap_or_default(),
                epoch: epochs[i].unwrap_or(0.0) as u32,
                split: splits[i].clone(),
                layer: layers[i].map(|l| l as u32),
                metric: metrics[i].clone().unwrap_or_default(),
                value: values[i].unwrap_or(f64::NAN),
            });
        }
        Ok(out)
    };
    go().map_err(|source| ResultsError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

fn read_boundaries(path: &Path) -> Result<Vec<BoundaryPoint>, ResultsError> {
    let df = read_df(path)?;
    let go = || -> PolarsResult<Vec<BoundaryPoint>> {
        let ids = strings(&df, "job_id")?;
        let epochs = floats(&df, "epoch")?;
        let xs = floats(&df, "x")?;
        let ys = floats(&df, "y")?;
        let vs = floats(&df, "value")?;
        let mut out = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            out.push(BoundaryPoint {
                job_id: ids[i].clone().unwrap_or_default(),
                epoch: epochs[i].unwrap_or(0.0) as u32,
                x: xs[i].unwrap_or(f64::NAN) as f32,
                y: ys[i].unwrap_or(f64::NAN) as f32,
                value: vs[i].unwrap_or(f64::NAN) as f32,
            });
        }
        Ok(out)
    };
    go().map_err(|source| ResultsError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let r = Results {
            runs: vec![Run {
                job_id: "a".into(),
                experiment: "e".into(),
                label: "e/activation=relu,seed=0".into(),
                seed: 0,
                axes: [("activation".to_string(), "relu".to_string())].into(),
                status: "ok".into(),
                error: None,
                epochs_completed: 2,
            }],
            metrics: vec![Metric {
                job_id: "a".into(),
                epoch: 1,
                split: None,
                layer: Some(2),
                metric: "grad_norm_mean".into(),
                value: 0.5,
            }],
            boundaries: vec![BoundaryPoint {
                job_id: "a".into(),
                epoch: 2,
                x: 0.5,
                y: -1.0,
                value: 0.25,
            }],
        };
        r.write(dir.path()).unwrap();
        assert_eq!(Results::read(dir.path()).unwrap(), r);
    }
}
