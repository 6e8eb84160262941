//! `actsweep activations --values`: every activation's numbers as a table.
//!
//! For each activation of a [`Library`] (the built-ins and a sweep file's
//! own), on an evenly spaced grid of inputs, the table holds the value, the
//! derivative d/dx and, for each learnable parameter, the derivative with
//! respect to it, computed by the same compiled kernels that train
//! ([`Compiled::forward_grad_units`]), with every parameter at its default.
//! It is for users who want an activation's numbers (to plot, to compare
//! with another framework) and for checking the kernels against an
//! independent formula, which a picture cannot do.
//!
//! Columns: `activation` (name), `x`, `value`, `derivative` (all `f32` but
//! the name), then `d_P` for every learnable parameter `P` of any activation
//! in the library (null in the rows of activations without `P`). Rows are
//! sorted by activation name, then x. Parquet or CSV by the file's extension.

use std::path::Path;

use polars::prelude::*;

use super::{Compiled, Definition, FormulaError, Library};
use crate::results::ResultsError;

/// The default input range.
pub const DEFAULT_RANGE: (f64, f64) = (-6.0, 6.0);

/// The default number of points (every 0.012 over the default range, 0 included).
pub const DEFAULT_POINTS: usize = 1001;

/// The most points per activation a table may have.
pub const MAX_POINTS: usize = 10_000_000;

/// Output table formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header line.
    Csv,
}

impl Format {
    /// The format named by a path's extension (case-insensitive), if supported.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Building or writing the table failed.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// The extension names no supported format.
    #[error("cannot write values to {0}: the file name must end in .parquet or .csv")]
    Format(String),
    /// `--range` is not two increasing finite numbers.
    #[error("--range {given}: {why}")]
    Range {
        /// What was given.
        given: String,
        /// What is wrong with it.
        why: String,
    },
    /// `--points` is below 2 or above [`MAX_POINTS`].
    #[error(
        "--points {0}: need at least 2 points (the two ends of the range) and at most {MAX_POINTS}"
    )]
    Points(usize),
    /// A definition does not compile (the library is checked before, so this is rare).
    #[error("activation {name}: {source}")]
    Formula {
        /// The activation.
        name: String,
        /// Why.
        #[source]
        source: FormulaError,
    },
    /// polars could not assemble the table.
    #[error("cannot build the values table: {0}")]
    Table(#[from] PolarsError),
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] ResultsError),
}

impl ValuesError {
    /// Whether the user's input is at fault (a flag), not the machine.
    pub fn is_user(&self) -> bool {
        matches!(
            self,
            ValuesError::Format(_) | ValuesError::Range { .. } | ValuesError::Points(_)
        )
    }
}

/// The inputs of the table: `points` values from `lo` to `hi`, both included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// The first input.
    pub lo: f64,
    /// The last input.
    pub hi: f64,
    /// How many inputs.
    pub points: usize,
}

impl Grid {
    /// A grid from the flags: `range` as `A,B` (default [`DEFAULT_RANGE`]),
    /// `points` (default [`DEFAULT_POINTS`]).
    pub fn from_flags(range: Option<&str>, points: Option<usize>) -> Result<Grid, ValuesError> {
        let (lo, hi) = match range {
            Some(r) => parse_range(r)?,
            None => DEFAULT_RANGE,
        };
        let points = points.unwrap_or(DEFAULT_POINTS);
        if !(2..=MAX_POINTS).contains(&points) {
            return Err(ValuesError::Points(points));
        }
        Ok(Grid { lo, hi, points })
    }

    /// The inputs: `lo + (hi - lo) i / (points - 1)` computed in `f64`, then
    /// rounded to `f32` (so both ends are the given numbers, rounded).
    pub fn xs(&self) -> Vec<f32> {
        let last = (self.points - 1) as f64;
        (0..self.points)
            .map(|i| (self.lo + (self.hi - self.lo) * (i as f64 / last)) as f32)
            .collect()
    }
}

/// `A,B` with A < B, both finite.
fn parse_range(text: &str) -> Result<(f64, f64), ValuesError> {
    let err = |why: &str| ValuesError::Range {
        given: text.to_string(),
        why: why.to_string(),
    };
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = parts[..] else {
        return Err(err("expected two numbers A,B, such as -6,6"));
    };
    let num = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| err(&format!("`{s}` is not a number")))
    };
    let (lo, hi) = (num(a)?, num(b)?);
    if !lo.is_finite() || !hi.is_finite() || (lo as f32).is_infinite() || (hi as f32).is_infinite()
    {
        return Err(err("both ends must be finite f32 numbers"));
    }
    if lo >= hi {
        return Err(err("the start must be below the end"));
    }
    Ok((lo, hi))
}

/// One activation's columns.
struct Block {
    name: String,
    value: Vec<f32>,
    derivative: Vec<f32>,
    /// (learnable parameter, d/dparameter).
    dparams: Vec<(String, Vec<f32>)>,
}

/// Evaluates one definition on `xs` with the training kernels.
fn evaluate(def: &Definition, xs: &[f32]) -> Result<Block, ValuesError> {
    let cfg = def.config();
    let c = Compiled::new(&cfg).map_err(|source| ValuesError::Formula {
        name: def.name.clone(),
        source,
    })?;
    let n = xs.len();
    let mut value = vec![0.0; n];
    let mut derivative = vec![0.0; n];
    let mut dps: Vec<Vec<f32>> = def.learnable.iter().map(|_| vec![0.0; n]).collect();
    let mut dpm: Vec<&mut [f32]> = dps.iter_mut().map(Vec::as_mut_slice).collect();
    // No parameter slices: learnable parameters take their initial values.
    c.forward_grad_units(xs, &[], &mut value, &mut derivative, &mut dpm);
    Ok(Block {
        name: def.name.clone(),
        value,
        derivative,
        dparams: def.learnable.iter().cloned().zip(dps).collect(),
    })
}

/// The table for every activation of `library` on `grid` (see the module docs).
pub fn table(library: &Library, grid: &Grid) -> Result<DataFrame, ValuesError> {
    let xs = grid.xs();
    let blocks: Vec<Block> = library
        .iter()
        .map(|d| evaluate(d, &xs))
        .collect::<Result<_, _>>()?;
    let mut learnable: Vec<&str> = blocks
        .iter()
        .flat_map(|b| b.dparams.iter().map(|(p, _)| p.as_str()))
        .collect();
    learnable.sort_unstable();
    learnable.dedup();
    let rows = blocks.len() * xs.len();
    let mut names = Vec::with_capacity(rows);
    let (mut x, mut value, mut derivative) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    let mut dcols: Vec<Vec<Option<f32>>> =
        learnable.iter().map(|_| Vec::with_capacity(rows)).collect();
    for b in &blocks {
        names.extend(std::iter::repeat_n(b.name.as_str(), xs.len()));
        x.extend_from_slice(&xs);
        value.extend_from_slice(&b.value);
        derivative.extend_from_slice(&b.derivative);
        for (p, col) in learnable.iter().zip(&mut dcols) {
            match b.dparams.iter().find(|(q, _)| q == p) {
                Some((_, d)) => col.extend(d.iter().map(|&v| Some(v))),
                None => col.extend(std::iter::repeat_n(None, xs.len())),
            }
        }
    }
    let mut columns = vec![
        Column::new("activation".into(), names),
        Column::new("x".into(), x),
        Column::new("value".into(), value),
        Column::new("derivative".into(), derivative),
    ];
    for (p, col) in learnable.iter().zip(dcols) {
        columns.push(Column::new(format!("d_{p}").into(), col));
    }
    Ok(DataFrame::new(rows, columns)?)
}

/// Writes the table of `library` on `grid` to `path`, atomically, as
/// Parquet or CSV by the extension; returns the number of rows.
pub fn write(library: &Library, grid: &Grid, path: &Path) -> Result<usize, ValuesError> {
    let format =
        Format::from_path(path).ok_or_else(|| ValuesError::Format(path.display().to_string()))?;
    let mut df = table(library, grid)?;
    match format {
        Format::Parquet => crate::results::write_parquet(path, &mut df)?,
        Format::Csv => write_csv(path, &mut df)?,
    }
    Ok(df.height())
}

fn write_csv(path: &Path, df: &mut DataFrame) -> Result<(), ValuesError> {
    let mut err = None;
    let written = crate::results::atomic_write(path, |f| {
        CsvWriter::new(f)
            .include_header(true)
            .finish(df)
            .map_err(|e| {
                err = Some(e);
                std::io::Error::other("csv")
            })
    });
    match (written, err) {
        (_, Some(e)) => Err(ValuesError::Table(e)),
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_flags_are_checked() {
        let g = Grid::from_flags(None, None).unwrap();
        assert_eq!((g.lo, g.hi, g.points), (-6.0, 6.0, 1001));
        let xs = g.xs();
        assert_eq!((xs[0], xs[500], xs[1000]), (-6.0, 0.0, 6.0));
        let g = Grid::from_flags(Some(" -1 , 2.5"), Some(2)).unwrap();
        assert_eq!(g.xs(), vec![-1.0, 2.5]);
        let msg =
            |r: Option<&str>, p: Option<usize>| Grid::from_flags(r, p).unwrap_err().to_string();
        assert_eq!(
            msg(Some("3,1"), None),
            "--range 3,1: the start must be below the end"
        );
        assert_eq!(
            msg(Some("-6"), None),
            "--range -6: expected two numbers A,B, such as -6,6"
        );
        assert_eq!(msg(Some("a,1"), None), "--range a,1: `a` is not a number");
        assert_eq!(
            msg(Some("0,1e39"), None),
            "--range 0,1e39: both ends must be finite f32 numbers"
        );
        assert!(msg(None, Some(1)).starts_with("--points 1: need at least 2 points"));
        assert!(Grid::from_flags(None, Some(1)).unwrap_err().is_user());
    }

    #[test]
    fn table_has_a_parameter_column_with_nulls_elsewhere() {
        let grid = Grid::from_flags(Some("-2,2"), Some(5)).unwrap();
        let df = table(&Library::builtin(), &grid).unwrap();
        let n = Library::builtin().iter().count();
        assert_eq!(df.height(), 5 * n);
        let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["activation", "x", "value", "derivative", "d_a"]);
        let prelu = df
            .clone()
            .lazy()
            .filter(col("activation").eq(lit("prelu")))
            .collect()
            .unwrap();
        let da: Vec<Option<f32>> = prelu.column("d_a").unwrap().f32().unwrap().iter().collect();
        // d/da of where(x > 0, x, a x) is x below 0, 0 above.
        assert_eq!(
            da,
            [Some(-2.0), Some(-1.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(df.column("d_a").unwrap().null_count(), 5 * (n - 1));
    }
}
