//! A user's own table file as a dataset: reading, checking, splitting and
//! scaling it, for `dataset = { name = "table", path = ... }`.
//!
//! This module owns everything that depends on the file itself, so that the
//! sweep-file layer only has to hand it a [`TableOptions`]:
//!
//! - [`inspect`]: the columns, their types and the row count, read from the
//!   file's header alone (Parquet's footer, the CSV header and first rows plus
//!   a line count, the `.npy` headers), so that a plan can check a sweep file
//!   and size its jobs before any row is loaded.
//! - [`select`]: which columns are the target and the features, and the task,
//!   checked against the file's own column names (with "did you mean"
//!   suggestions): the same answer at plan time and at load time.
//! - [`load`]: the rows as the training engine wants them ([`SplitData`]):
//!   features as one row-major `Vec<f32>`, classes as indices into the sorted
//!   classes of the training rows, a deterministic split by `data_seed` when
//!   there is no test file, and scaling fitted on the training rows only, so
//!   that nothing about the test rows leaks into training.
//! - [`content_sha256`]: the file's content digest, for a job's identity: the
//!   same path may hold other data tomorrow.
//!
//! Formats, chosen by the file's extension:
//!
//! - `.parquet` and `.csv`, read through polars. Parquet row counts come from
//!   the footer; a CSV's column types are inferred from its first
//!   [`CSV_INFER_ROWS`] rows at plan time (only those are read) and from all of them at load time
//!   (a feature column found non-numeric then is still reported by name).
//! - `.npz` (NumPy's `savez`/`savez_compressed`): each array is one "column"
//!   as wide as its row length (`x` of shape `(n, 64)` gives 64 features).
//!   The features are the array `x` and the target is `y` unless `features`
//!   and `target` name others.
//! - `.npy`: one 2-D array, so no separate target. Its columns are named by
//!   their index (`"0"`, `"1"`, ...) and `target` must name one (for example
//!   `target = "64"` for a label stored after 64 pixels); the error for a
//!   missing `target` says so and points at `.npz`.
//!
//! Numbers are read straight into `f32`: a Parquet or CSV column is cast to
//! `Float32` once and its contiguous values copied into the row-major matrix
//! tile by tile (`interleave`), with no per-cell dynamic dispatch. MNIST's
//! training set written as a 60,000 x 785 Parquet file of bytes loads in
//! 0.97-1.24x the IDX loader's time (`cargo bench --bench table_load`;
//! figures in docs/performance.md).
//!
//! The default task is classification when the target column holds integers,
//! booleans or strings and regression when it holds floats. Classes are the
//! distinct target values of the training rows, numbers sorted numerically
//! (so `2` before `10`) and strings in byte order; a test row whose class no
//! training row has is an error naming it, not a silent extra class.
//!
//! Every error names the file it is about ([`TableError`]).

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use npyz::{NpyFile, NpyHeader, Order, TypeChar};
use polars::prelude::{
    Column, CsvReadOptions, DataFrame, DataType, Float32Chunked, ParquetReader, PlSmallStr,
    SerReader,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{SplitData, Targets};
use crate::config::job::{split_sizes, Task};
use crate::text;

/// Rows a CSV's column types are inferred from by [`inspect`].
pub const CSV_INFER_ROWS: usize = 1000;

/// Rows per tile when the columns are interleaved into rows: a tile of an
/// MNIST-sized table (64 x 785 `f32`) stays in the L2 cache.
const TILE_ROWS: usize = 64;

/// Names shown at most when a message lists a file's columns.
const LISTED_COLUMNS: usize = 12;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// A table file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (`.parquet`).
    Parquet,
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// One NumPy array (`.npy`).
    Npy,
    /// A NumPy archive of named arrays (`.npz`).
    Npz,
}

impl Format {
    /// The format of `path`, from its extension (case-insensitive).
    pub fn of(path: &Path) -> Result<Format, TableError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("parquet") => Ok(Format::Parquet),
            Some("csv") => Ok(Format::Csv),
            Some("npy") => Ok(Format::Npy),
            Some("npz") => Ok(Format::Npz),
            _ => Err(TableError::UnknownFormat {
                path: path.to_path_buf(),
                extension: path.extension().map(|e| e.to_string_lossy().into_owned()),
            }),
        }
    }

    /// The extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Npy => "npy",
            Format::Npz => "npz",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ".{}", self.extension())
    }
}

/// What kind of values a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Signed or unsigned integers.
    Integer,
    /// Floating-point numbers.
    Float,
    /// Booleans (read as 0 and 1 when used as features).
    Boolean,
    /// Text.
    String,
    /// Anything else (dates, lists, ...): usable as neither.
    Other,
}

impl ColumnKind {
    /// True when the column can be a feature.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ColumnKind::Integer | ColumnKind::Float | ColumnKind::Boolean
        )
    }

    /// The task a target column of this kind gets by default.
    pub fn default_task(self) -> TableTask {
        match self {
            ColumnKind::Float => TableTask::Regression,
            _ => TableTask::Classification,
        }
    }
}

/// One column of a table (one array of an `.npz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name (an `.npy` column's index).
    pub name: String,
    /// What it holds.
    pub kind: ColumnKind,
    /// The file's own name for its type (`i64`, `f32`, `str`, `<f8`...).
    pub dtype: String,
    /// Values per row: 1, or an `.npz` array's row length.
    pub width: usize,
}

/// What [`inspect`] learns of a file without reading its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Its columns, in file order.
    pub columns: Vec<ColumnInfo>,
    /// Its data rows (for an `.npz`, the rows of `x`, else of its first array).
    pub rows: usize,
}

impl TableShape {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column names, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }
}

/// The learning task of a table (`task = "classification" | "regression"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableTask {
    /// One class per row, from the target's distinct values.
    #[default]
    Classification,
    /// One real value per row.
    Regression,
}

/// Feature scaling, fitted on the training rows (`scale = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// The values as they are in the file.
    #[default]
    None,
    /// Minus the training mean, over the training standard deviation (a
    /// constant feature is only centred).
    Standard,
    /// The training minimum to 0 and maximum to 1 (a constant feature
    /// becomes 0).
    Unit,
}

/// Everything the sweep file says about a table dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOptions {
    /// The training file (the whole table when there is no `test_path`).
    pub path: PathBuf,
    /// A separate test file with the same columns.
    pub test_path: Option<PathBuf>,
    /// The target column (an `.npz` array, an `.npy` column index); `None`
    /// means `y` for `.npz` and is an error for the other formats.
    pub target: Option<String>,
    /// The feature columns, in this order; `None` means every other numeric
    /// column (the array `x` for `.npz`).
    pub features: Option<Vec<String>>,
    /// The task; `None` means from the target's type ([`ColumnKind::default_task`]).
    pub task: Option<TableTask>,
    /// Feature scaling.
    pub scale: Scale,
    /// Share of the rows held out for testing when there is no `test_path`.
    pub test_fraction: f64,
    /// Seed of the train/test split when there is no `test_path`.
    pub data_seed: u64,
}

impl TableOptions {
    /// The defaults for `path`: no test file or target, every feature, no
    /// scaling, 20% held out with `data_seed` 0.
    pub fn new(path: impl Into<PathBuf>) -> TableOptions {
        TableOptions {
            path: path.into(),
            test_path: None,
            target: None,
            features: None,
            task: None,
            scale: Scale::None,
            test_fraction: 0.2,
            data_seed: 0,
        }
    }
}

/// The columns a table dataset uses, known before its rows are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The target column.
    pub target: String,
    /// The feature columns, in order.
    pub features: Vec<String>,
    /// Features per row (the widths of the feature columns added up).
    pub input_dim: usize,
    /// The task (given, or from the target's type).
    pub task: TableTask,
}

/// A table loaded, split, encoded and scaled: ready to become a `Dataset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The training rows.
    pub train: SplitData,
    /// The test rows.
    pub test: SplitData,
    /// Classification (with the class count) or regression.
    pub task: Task,
    /// Class names, index = class (empty for regression).
    pub class_names: Vec<String>,
    /// The columns used.
    pub selection: Selection,
}

/// The part a missing column was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `target = ...`.
    Target,
    /// `features = [...]` (or an `.npz`'s default `x`).
    Feature,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Target => "target",
            Role::Feature => "feature",
        })
    }
}

/// What is wrong with a table file or the options naming its columns; every
/// message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file does not exist.
    #[error("table file {} does not exist", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// Reading the file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The extension is not one of the known formats.
    #[error("{}: unknown table format {}; use .parquet, .csv, .npz or .npy", path.display(), extension.as_deref().map_or("(no extension)".to_string(), |e| format!("`.{e}`")))]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its extension, if any.
        extension: Option<String>,
    },
    /// The file is not valid in its format.
    #[error("{} is not a readable {format} file: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The format its extension promised.
        format: Format,
        /// What the reader said.
        reason: String,
    },
    /// The file has no data rows.
    #[error("{} has no data rows", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A named column does not exist.
    #[error("{} has no column `{name}` (the {role}); {}", path.display(), suggestion.as_ref().map_or_else(|| format!("its columns: {columns}"), |s| format!("did you mean `{s}`?")))]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// What the column was to be.
        role: Role,
        /// The name asked for.
        name: String,
        /// The file's closest column name, if close enough.
        suggestion: Option<String>,
        /// The file's columns (shortened when many).
        columns: String,
    },
    /// A feature column does not hold numbers.
    #[error("{}: feature column `{column}` holds {dtype}, not numbers; leave it out of `features` or convert it", path.display())]
    NonNumericFeature {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its type.
        dtype: String,
    },
    /// The target column's type does not fit the task.
    #[error("{}: target `{column}` holds {dtype}; {reason}", path.display())]
    BadTarget {
        /// The file.
        path: PathBuf,
        /// The target column.
        column: String,
        /// Its type.
        dtype: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Empty (null) or NaN cells in the columns used.
    #[error("{}: {count} empty or NaN cell{} in the columns used, the first in column `{column}`, data row {row}; fill or drop them first", path.display(), if *count == 1 { "" } else { "s" })]
    MissingValues {
        /// The file.
        path: PathBuf,
        /// How many cells, over all the columns used.
        count: usize,
        /// The first one's column.
        column: String,
        /// The first one's data row, counted from 1 (the header is not a row).
        row: usize,
    },
    /// The training and test files do not have the same columns.
    #[error("{} and {} have different columns: {}", train.display(), test.display(), mismatch(only_train, only_test))]
    ColumnMismatch {
        /// The training file.
        train: PathBuf,
        /// The test file.
        test: PathBuf,
        /// Columns only the training file has.
        only_train: Vec<String>,
        /// Columns only the test file has.
        only_test: Vec<String>,
    },
    /// Classification with fewer than two classes among the training rows.
    #[error("{}: classification needs at least two classes in the training rows; target `{target}` has {}", path.display(), if classes.is_empty() { "none".to_string() } else { format!("only `{}`", classes.join("`, `")) })]
    TooFewClasses {
        /// The file.
        path: PathBuf,
        /// The target column.
        target: String,
        /// The classes found.
        classes: Vec<String>,
    },
    /// A test row's class is not among the training rows' classes.
    #[error("{}: data row {row} has class `{class}`, which no training row has (training classes: {known})", path.display())]
    UnseenClass {
        /// The file holding the row.
        path: PathBuf,
        /// Its data row, counted from 1.
        row: usize,
        /// Its class.
        class: String,
        /// The training classes (shortened when many).
        known: String,
    },
    /// An option or the file's layout does not allow a table to be built.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
}

fn mismatch(only_train: &[String], only_test: &[String]) -> String {
    let side = |names: &[String], file: &str| {
        (!names.is_empty()).then(|| format!("only the {file} file has `{}`", names.join("`, `")))
    };
    [side(only_train, "training"), side(only_test, "test")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------

/// The columns, their types and the row count of a table file, read from its
/// header alone (see the module docs for each format).
pub fn inspect(path: &Path) -> Result<TableShape, TableError> {
    let format = Format::of(path)?;
    check_file(path)?;
    let (columns, rows) = match format {
        Format::Parquet => parquet_shape(path)?,
        Format::Csv => csv_shape(path)?,
        Format::Npy => npy_shape(path)?,
        Format::Npz => npz_shape(path)?,
    };
    Ok(TableShape {
        path: path.to_path_buf(),
        format,
        columns,
        rows,
    })
}

/// The target, features, input width and task `options` ask of `shape`,
/// checked against the file's columns.
pub fn select(shape: &TableShape, options: &TableOptions) -> Result<Selection, TableError> {
    let target = target_name(shape, options)?;
    let target_column = find_column(shape, &target, Role::Target)?;
    check_target_kind(shape, target_column)?;
    let features = match &options.features {
        Some(names) => listed_features(shape, names, &target)?,
        None => default_features(shape, &target)?,
    };
    let input_dim = features
        .iter()
        .filter_map(|f| shape.column(f))
        .map(|c| c.width)
        .sum();
    let task = options
        .task
        .unwrap_or_else(|| target_column.kind.default_task());
    Ok(Selection {
        target,
        features,
        input_dim,
        task,
    })
}

/// Loads the table `options` describe: reads the files, checks them, splits
/// (when there is no test file), encodes the target and scales the features.
pub fn load(options: &TableOptions) -> Result<Table, TableError> {
    let (shape, test_shape) = shapes(options)?;
    let selection = select(&shape, options)?;
    let (train, test) = read_split(&shape, test_shape.as_ref(), &selection, options)?;
    assemble(train, test, selection, options.scale)
}

/// What a plan needs of a table, read without its feature values.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// The columns used.
    pub selection: Selection,
    /// Rows of the training split.
    pub train_rows: usize,
    /// Rows of the test split.
    pub test_rows: usize,
    /// Class names, index = class (empty for regression).
    pub class_names: Vec<String>,
}

/// The facts a plan needs of the table `options` describe, without reading
/// a feature value: the columns and row counts from the headers ([`inspect`]),
/// the selection ([`select`]), and the target column alone for the split and
/// the classes (Parquet and CSV read that one column; `.npz` its target
/// array; a `.npy` file, being one matrix, is read whole). Whatever [`load`]
/// refuses about the columns, the target or the split is refused here too;
/// empty or NaN feature cells are found by [`load`], which a run calls for
/// every dataset before any job trains.
pub fn survey(options: &TableOptions) -> Result<Survey, TableError> {
    let (shape, test_shape) = shapes(options)?;
    let selection = select(&shape, options)?;
    let target_only = Selection {
        features: Vec::new(),
        input_dim: 0,
        ..selection.clone()
    };
    let (train, test) = read_split(&shape, test_shape.as_ref(), &target_only, options)?;
    let class_names = match selection.task {
        TableTask::Classification => classify(&train, &test, &selection.target)?.3,
        TableTask::Regression => {
            regression_values(&train, &selection.target)?;
            regression_values(&test, &selection.target)?;
            Vec::new()
        }
    };
    Ok(Survey {
        train_rows: train.len(),
        test_rows: test.len(),
        class_names,
        selection,
    })
}

/// The headers of the training file and of the test file, if any, checked
/// to have the same columns (and the split's fraction checked).
fn shapes(options: &TableOptions) -> Result<(TableShape, Option<TableShape>), TableError> {
    check_fraction(options)?;
    let shape = inspect_rows(&options.path)?;
    let test_shape = options.test_path.as_deref().map(inspect_rows).transpose()?;
    if let Some(test) = &test_shape {
        same_columns(&shape, test)?;
    }
    Ok((shape, test_shape))
}

/// The selected columns of the training and test rows: the test file's,
/// or the `test_fraction` split of the training file shuffled by `data_seed`.
fn read_split(
    shape: &TableShape,
    test_shape: Option<&TableShape>,
    selection: &Selection,
    options: &TableOptions,
) -> Result<(Rows, Rows), TableError> {
    let (train, test) = match test_shape {
        Some(t) => (
            read_rows(shape, selection, None)?,
            read_rows(t, selection, None)?,
        ),
        None => split(
            read_rows(shape, selection, Some(options.data_seed))?,
            options,
        ),
    };
    if train.len() == 0 {
        return Err(invalid(&options.path, "no rows are left for training"));
    }
    Ok((train, test))
}

/// [`inspect`], refusing a file without data rows.
fn inspect_rows(path: &Path) -> Result<TableShape, TableError> {
    let shape = inspect(path)?;
    if shape.rows == 0 {
        return Err(TableError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(shape)
}

/// Lowercase hex SHA-256 of the file's bytes, read in pieces.
pub fn content_sha256(path: &Path) -> Result<String, TableError> {
    let mut file = open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

// ---------------------------------------------------------------------------
// Files and errors
// ---------------------------------------------------------------------------

fn io_error(path: &Path, source: io::Error) -> TableError {
    if source.kind() == io::ErrorKind::NotFound {
        TableError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        TableError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn unreadable(path: &Path, format: Format, reason: impl ToString) -> TableError {
    TableError::Unreadable {
        path: path.to_path_buf(),
        format,
        reason: reason.to_string(),
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> TableError {
    TableError::Invalid {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn open(path: &Path) -> Result<File, TableError> {
    File::open(path).map_err(|e| io_error(path, e))
}

/// The file exists, is a file and is not empty.
fn check_file(path: &Path) -> Result<(), TableError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(invalid(path, "is not a file"));
    }
    if meta.len() == 0 {
        return Err(TableError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// `names` for a message: all of them, or the first few and the count.
fn preview<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.len() <= LISTED_COLUMNS {
        return text::list(names);
    }
    format!(
        "{}, ... ({} in all)",
        text::list(names[..LISTED_COLUMNS].iter().copied()),
        names.len()
    )
}

// ---------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------

fn polars_kind(dtype: &DataType) -> ColumnKind {
    if dtype.is_integer() {
        ColumnKind::Integer
    } else if dtype.is_float() {
        ColumnKind::Float
    } else if dtype.is_bool() {
        ColumnKind::Boolean
    } else if dtype.is_string() {
        ColumnKind::String
    } else {
        ColumnKind::Other
    }
}

fn polars_column(name: &str, dtype: &DataType) -> ColumnInfo {
    ColumnInfo {
        name: name.to_string(),
        kind: polars_kind(dtype),
        dtype: dtype.to_string(),
        width: 1,
    }
}

/// Columns from the schema and rows from the footer's metadata.
fn parquet_shape(path: &Path) -> Result<(Vec<ColumnInfo>, usize), TableError> {
    let bad = |e| unreadable(path, Format::Parquet, e);
    let mut reader = ParquetReader::new(open(path)?);
    let schema = reader.schema().map_err(bad)?;
    let rows = reader.num_rows().map_err(bad)?;
    let columns = schema
        .iter()
        .map(|(name, field)| polars_column(name, &DataType::from_arrow_field(field)))
        .collect();
    Ok((columns, rows))
}

/// Columns from the header and first rows, rows from a record count.
fn csv_shape(path: &Path) -> Result<(Vec<ColumnInfo>, usize), TableError> {
    let head = csv_head(path, CSV_INFER_ROWS + 1)?;
    let head = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(CSV_INFER_ROWS))
        .into_reader_with_file_handle(io::Cursor::new(head))
        .finish()
        .map_err(|e| unreadable(path, Format::Csv, e))?;
    let columns = head
        .columns()
        .iter()
        .map(|c| polars_column(c.name(), c.dtype()))
        .collect();
    let rows = csv_records(path)?.saturating_sub(1);
    Ok((columns, rows))
}

/// Record boundaries of a CSV: its non-blank lines, where a line break
/// inside double quotes does not end a record.
#[derive(Debug)]
struct Records {
    count: usize,
    quoted: bool,
    blank: bool,
}

impl Records {
    fn new() -> Records {
        Records {
            count: 0,
            quoted: false,
            blank: true,
        }
    }

    /// Scans the next `bytes`; the offset just past the record that makes
    /// the count `limit`, if it ends in them.
    fn scan(&mut self, bytes: &[u8], limit: usize) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'"' => {
                    self.quoted = !self.quoted;
                    self.blank = false;
                }
                b'\n' if !self.quoted => {
                    if !self.blank {
                        self.count += 1;
                        if self.count == limit {
                            return Some(i + 1);
                        }
                    }
                    self.blank = true;
                }
                b'\r' => {}
                _ => self.blank = false,
            }
        }
        None
    }

    /// The count, a last record without a final line break included.
    fn total(&self) -> usize {
        self.count + usize::from(!self.blank)
    }
}

/// The CSV's records, header included.
fn csv_records(path: &Path) -> Result<usize, TableError> {
    let mut file = open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut records = Records::new();
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            return Ok(records.total());
        }
        records.scan(&buf[..n], usize::MAX);
    }
}

/// The bytes of the CSV's first `limit` records (header included): what
/// plan-time type inference reads, however long the file.
fn csv_head(path: &Path, limit: usize) -> Result<Vec<u8>, TableError> {
    let mut file = open(path)?;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut records = Records::new();
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            return Ok(head);
        }
        if let Some(end) = records.scan(&buf[..n], limit) {
            head.extend_from_slice(&buf[..end]);
            return Ok(head);
        }
        head.extend_from_slice(&buf[..n]);
    }
}

/// The kind of a NumPy scalar type.
fn npy_kind(dtype: &npyz::DType) -> ColumnKind {
    match dtype {
        npyz::DType::Plain(ts) => match ts.type_char() {
            TypeChar::Int | TypeChar::Uint => ColumnKind::Integer,
            TypeChar::Float => ColumnKind::Float,
            TypeChar::Bool => ColumnKind::Boolean,
            TypeChar::UnicodeStr | TypeChar::ByteStr => ColumnKind::String,
            _ => ColumnKind::Other,
        },
        _ => ColumnKind::Other,
    }
}

/// Rows and row width of an array: `(n)` is `n` rows of one value.
fn npy_rows_width(shape: &[u64]) -> Option<(usize, usize)> {
    let (&rows, rest) = shape.split_first()?;
    let width = rest.iter().product::<u64>();
    Some((usize::try_from(rows).ok()?, usize::try_from(width).ok()?))
}

/// One column per index of the array's second axis.
fn npy_shape(path: &Path) -> Result<(Vec<ColumnInfo>, usize), TableError> {
    let header = NpyHeader::from_reader(BufReader::new(open(path)?))
        .map_err(|e| unreadable(path, Format::Npy, e))?;
    let [rows, width] = header.shape() else {
        return Err(invalid(
            path,
            format!(
                "a .npy table must be one 2-D array (rows x columns); this one has shape {:?}",
                header.shape()
            ),
        ));
    };
    let (kind, dtype) = (npy_kind(&header.dtype()), header.dtype().descr());
    let columns = (0..*width)
        .map(|j| ColumnInfo {
            name: j.to_string(),
            kind,
            dtype: dtype.clone(),
            width: 1,
        })
        .collect();
    Ok((columns, *rows as usize))
}

type Archive = zip::ZipArchive<BufReader<File>>;

fn open_npz(path: &Path) -> Result<Archive, TableError> {
    zip::ZipArchive::new(BufReader::new(open(path)?)).map_err(|e| unreadable(path, Format::Npz, e))
}

/// The arrays of the archive, from their headers (each entry is read only as
/// far as its header).
fn npz_shape(path: &Path) -> Result<(Vec<ColumnInfo>, usize), TableError> {
    let mut archive = open_npz(path)?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(npyz::npz::array_name_from_file_name)
        .map(str::to_string)
        .collect();
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for name in names {
        let header = npz_header(&mut archive, path, &name)?;
        let (n, width) = npy_rows_width(header.shape())
            .ok_or_else(|| invalid(path, format!("array `{name}` is a scalar, not rows")))?;
        rows.push(n);
        columns.push(ColumnInfo {
            kind: npy_kind(&header.dtype()),
            dtype: header.dtype().descr(),
            name,
            width,
        });
    }
    let main = columns.iter().position(|c| c.name == "x").unwrap_or(0);
    Ok((columns, rows.get(main).copied().unwrap_or(0)))
}

fn npz_entry<'a>(
    archive: &'a mut Archive,
    path: &Path,
    name: &str,
) -> Result<zip::read::ZipFile<'a, BufReader<File>>, TableError> {
    archive
        .by_name(&npyz::npz::file_name_from_array_name(name))
        .map_err(|e| unreadable(path, Format::Npz, format!("array `{name}`: {e}")))
}

fn npz_header(archive: &mut Archive, path: &Path, name: &str) -> Result<NpyHeader, TableError> {
    let entry = npz_entry(archive, path, name)?;
    NpyHeader::from_reader(entry)
        .map_err(|e| unreadable(path, Format::Npz, format!("array `{name}`: {e}")))
}

// ---------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------

fn find_column<'a>(
    shape: &'a TableShape,
    name: &str,
    role: Role,
) -> Result<&'a ColumnInfo, TableError> {
    shape.column(name).ok_or_else(|| TableError::UnknownColumn {
        path: shape.path.clone(),
        role,
        name: name.to_string(),
        suggestion: text::suggest(name, shape.names()),
        columns: preview(shape.names()),
    })
}

fn target_name(shape: &TableShape, options: &TableOptions) -> Result<String, TableError> {
    if let Some(t) = &options.target {
        return Ok(t.clone());
    }
    match shape.format {
        Format::Npz => Ok("y".to_string()),
        Format::Npy => Err(invalid(
            &shape.path,
            format!(
                "a .npy file holds one array and no separate target: name the target column by its index (`target = \"{}\"` for the last of its {} columns), or save the features and target as arrays `x` and `y` of an .npz (numpy.savez)",
                shape.columns.len().saturating_sub(1),
                shape.columns.len()
            ),
        )),
        Format::Parquet | Format::Csv => Err(invalid(
            &shape.path,
            format!(
                "name the target column with `target = \"...\"` (columns: {})",
                preview(shape.names())
            ),
        )),
    }
}

fn check_target_kind(shape: &TableShape, column: &ColumnInfo) -> Result<(), TableError> {
    if column.kind == ColumnKind::Other || column.width != 1 {
        return Err(TableError::BadTarget {
            path: shape.path.clone(),
            column: column.name.clone(),
            dtype: format!("{} (width {})", column.dtype, column.width),
            reason: "a target must be one number, boolean or string per row",
        });
    }
    Ok(())
}

fn numeric_feature<'a>(shape: &'a TableShape, name: &str) -> Result<&'a ColumnInfo, TableError> {
    let column = find_column(shape, name, Role::Feature)?;
    if !column.kind.is_numeric() {
        return Err(TableError::NonNumericFeature {
            path: shape.path.clone(),
            column: name.to_string(),
            dtype: column.dtype.clone(),
        });
    }
    Ok(column)
}

fn listed_features(
    shape: &TableShape,
    names: &[String],
    target: &str,
) -> Result<Vec<String>, TableError> {
    if names.is_empty() {
        return Err(invalid(&shape.path, "`features` is empty"));
    }
    let mut seen = BTreeSet::new();
    for name in names {
        numeric_feature(shape, name)?;
        if name == target {
            return Err(invalid(
                &shape.path,
                format!("`{name}` is the target and cannot also be a feature"),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(invalid(
                &shape.path,
                format!("`{name}` is listed twice in `features`"),
            ));
        }
    }
    Ok(names.to_vec())
}

fn default_features(shape: &TableShape, target: &str) -> Result<Vec<String>, TableError> {
    if shape.format == Format::Npz {
        numeric_feature(shape, "x")?;
        return Ok(vec!["x".to_string()]);
    }
    let features: Vec<String> = shape
        .columns
        .iter()
        .filter(|c| c.name != target && c.kind.is_numeric())
        .map(|c| c.name.clone())
        .collect();
    if features.is_empty() {
        return Err(invalid(
            &shape.path,
            format!("no numeric column besides the target `{target}` to use as features"),
        ));
    }
    Ok(features)
}

fn check_fraction(options: &TableOptions) -> Result<(), TableError> {
    let f = options.test_fraction;
    if options.test_path.is_none() && !(0.0..=1.0).contains(&f) {
        return Err(invalid(
            &options.path,
            format!("test_fraction must be in [0, 1], got {f}"),
        ));
    }
    Ok(())
}

fn same_columns(train: &TableShape, test: &TableShape) -> Result<(), TableError> {
    let a: BTreeSet<&str> = train.names().collect();
    let b: BTreeSet<&str> = test.names().collect();
    let only = |x: &BTreeSet<&str>, y: &BTreeSet<&str>| -> Vec<String> {
        x.difference(y).map(|s| s.to_string()).collect()
    };
    let widths_differ = train
        .columns
        .iter()
        .any(|c| test.column(&c.name).is_some_and(|t| t.width != c.width));
    if a == b && !widths_differ {
        return Ok(());
    }
    if a == b {
        return Err(invalid(
            &test.path,
            format!(
                "its arrays' row widths differ from {}'s",
                train.path.display()
            ),
        ));
    }
    Err(TableError::ColumnMismatch {
        train: train.path.clone(),
        test: test.path.clone(),
        only_train: only(&a, &b),
        only_test: only(&b, &a),
    })
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// One file's target column.
#[derive(Debug, Clone, PartialEq)]
enum TargetColumn {
    /// Numbers (integers read exactly up to 2^53).
    Numbers(Vec<f64>),
    /// Strings, and booleans as `false` and `true`.
    Labels(Vec<String>),
}

impl TargetColumn {
    fn take(&self, idx: &[usize]) -> TargetColumn {
        match self {
            TargetColumn::Numbers(v) => TargetColumn::Numbers(idx.iter().map(|&i| v[i]).collect()),
            TargetColumn::Labels(v) => {
                TargetColumn::Labels(idx.iter().map(|&i| v[i].clone()).collect())
            }
        }
    }
}

/// The used columns of one file's rows (or of a split of them).
#[derive(Debug, Clone)]
struct Rows {
    /// The file they come from.
    path: PathBuf,
    /// Row-major features.
    features: Vec<f32>,
    /// Features per row.
    dim: usize,
    /// One target per row.
    target: TargetColumn,
    /// Each row's data row in the file, from 0.
    index: Vec<usize>,
}

impl Rows {
    fn len(&self) -> usize {
        self.index.len()
    }

    /// The first `n` rows, and the others.
    fn split_at(mut self, n: usize) -> (Rows, Rows) {
        let features = self.features.split_off(n * self.dim);
        let index = self.index.split_off(n);
        let target = match &mut self.target {
            TargetColumn::Numbers(v) => TargetColumn::Numbers(v.split_off(n)),
            TargetColumn::Labels(v) => TargetColumn::Labels(v.split_off(n)),
        };
        let rest = Rows {
            path: self.path.clone(),
            features,
            dim: self.dim,
            target,
            index,
        };
        (self, rest)
    }
}

/// Empty and NaN cells met while reading: how many, and the first.
#[derive(Debug, Default)]
struct Gaps {
    count: usize,
    /// `(row, column)` of the earliest gap by row.
    first: Option<(usize, String)>,
}

impl Gaps {
    /// Records the gaps of `column`, `missing` saying for each row (or each
    /// value, `width` per row) whether it is one.
    fn scan(&mut self, column: &str, width: usize, missing: impl Iterator<Item = bool>) {
        let mut first = None;
        for (i, gap) in missing.enumerate() {
            if gap {
                self.count += 1;
                first.get_or_insert(i / width.max(1));
            }
        }
        if let Some(row) = first {
            if self.first.as_ref().is_none_or(|(r, _)| row < *r) {
                self.first = Some((row, column.to_string()));
            }
        }
    }

    /// Records the NaN values of a contiguous `column`, counting first (fast).
    fn scan_values(&mut self, column: &str, width: usize, values: &[f32]) {
        if values.iter().any(|v| v.is_nan()) {
            self.scan(column, width, values.iter().map(|v| v.is_nan()));
        }
    }

    fn check(self, path: &Path) -> Result<(), TableError> {
        match self.first {
            None => Ok(()),
            Some((row, column)) => Err(TableError::MissingValues {
                path: path.to_path_buf(),
                count: self.count,
                column,
                row: row + 1,
            }),
        }
    }
}

/// The file's rows, shuffled by `shuffle` (a seed) when given.
fn read_rows(
    shape: &TableShape,
    selection: &Selection,
    shuffle: Option<u64>,
) -> Result<Rows, TableError> {
    let rows = match shape.format {
        Format::Parquet | Format::Csv => frame_rows(shape, selection, shuffle)?,
        Format::Npz => npz_rows(shape, selection, shuffle)?,
        Format::Npy => npy_rows(shape, selection, shuffle)?,
    };
    if rows.len() == 0 {
        return Err(TableError::Empty {
            path: shape.path.clone(),
        });
    }
    Ok(rows)
}

/// The file rows in the order the rows are to have: shuffled by `seed`
/// (the split's order, as the synthetic datasets shuffle theirs), or as they
/// are.
fn row_order(n: usize, seed: Option<u64>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if let Some(seed) = seed {
        order.shuffle(&mut StdRng::seed_from_u64(seed));
    }
    order
}

/// Row-major `rows x sum(widths)` matrix from blocks that are each row-major
/// `rows x width` (a column is a block of width 1), row `r` holding file row
/// `order[r]`. The blocks are read in tiles of [`TILE_ROWS`] file rows, so
/// that the rows written stay in cache; the shuffle costs no second copy.
fn interleave(blocks: &[(&[f32], usize)], order: &[usize]) -> Vec<f32> {
    let rows = order.len();
    let dim: usize = blocks.iter().map(|b| b.1).sum();
    let mut out = vec![0f32; rows * dim];
    if dim == 0 {
        return out;
    }
    let mut dest = vec![0usize; rows];
    for (r, &i) in order.iter().enumerate() {
        dest[i] = r;
    }
    for (t, tile) in dest.chunks(TILE_ROWS).enumerate() {
        let first = t * TILE_ROWS;
        let mut offset = 0;
        for &(values, width) in blocks {
            for (k, &r) in tile.iter().enumerate() {
                let (i, at) = (first + k, r * dim + offset);
                if width == 1 {
                    out[at] = values[i];
                } else {
                    out[at..at + width].copy_from_slice(&values[i * width..(i + 1) * width]);
                }
            }
            offset += width;
        }
    }
    out
}

// ----- Parquet and CSV --------------------------------------------------------

fn read_frame(shape: &TableShape, names: Vec<String>) -> Result<DataFrame, TableError> {
    let path = &shape.path;
    let bad = |e| unreadable(path, shape.format, e);
    match shape.format {
        Format::Parquet => ParquetReader::new(open(path)?)
            .with_columns(Some(names))
            .finish()
            .map_err(bad),
        _ => {
            let names: Vec<PlSmallStr> = names.into_iter().map(PlSmallStr::from).collect();
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(None)
                .with_columns(Some(names.into()))
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .and_then(|r| r.finish())
                .map_err(bad)
        }
    }
}

fn frame_rows(
    shape: &TableShape,
    selection: &Selection,
    shuffle: Option<u64>,
) -> Result<Rows, TableError> {
    let mut names = selection.features.clone();
    names.push(selection.target.clone());
    let df = read_frame(shape, names)?;
    let mut gaps = Gaps::default();
    let columns = selection
        .features
        .iter()
        .map(|name| feature_column(shape, &df, name, &mut gaps))
        .collect::<Result<Vec<_>, _>>()?;
    let target = target_column(shape, &df, &selection.target, &mut gaps)?;
    gaps.check(&shape.path)?;
    let slices = columns
        .iter()
        .map(|c| c.cont_slice().map(|s| (s, 1)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&shape.path, shape.format, e))?;
    let order = row_order(df.height(), shuffle);
    Ok(Rows {
        path: shape.path.clone(),
        features: interleave(&slices, &order),
        dim: slices.len(),
        target: target.take(&order),
        index: order,
    })
}

fn frame_column<'a>(
    shape: &TableShape,
    df: &'a DataFrame,
    name: &str,
) -> Result<&'a Column, TableError> {
    df.column(name)
        .map_err(|e| unreadable(&shape.path, shape.format, e))
}

/// A feature column as one contiguous `Float32` chunk, its gaps recorded.
fn feature_column(
    shape: &TableShape,
    df: &DataFrame,
    name: &str,
    gaps: &mut Gaps,
) -> Result<Float32Chunked, TableError> {
    let bad = |e| unreadable(&shape.path, shape.format, e);
    let column = frame_column(shape, df, name)?;
    if !polars_kind(column.dtype()).is_numeric() {
        return Err(TableError::NonNumericFeature {
            path: shape.path.clone(),
            column: name.to_string(),
            dtype: column.dtype().to_string(),
        });
    }
    let cast = column.cast(&DataType::Float32).map_err(bad)?;
    let values = cast.f32().map_err(bad)?.rechunk().into_owned();
    if values.null_count() > 0 {
        gaps.scan(name, 1, values.iter().map(|v| v.is_none_or(f32::is_nan)));
    } else if let Ok(s) = values.cont_slice() {
        gaps.scan_values(name, 1, s);
    }
    Ok(values)
}

fn target_column(
    shape: &TableShape,
    df: &DataFrame,
    name: &str,
    gaps: &mut Gaps,
) -> Result<TargetColumn, TableError> {
    let bad = |e| unreadable(&shape.path, shape.format, e);
    let column = frame_column(shape, df, name)?;
    let target = match polars_kind(column.dtype()) {
        ColumnKind::Integer | ColumnKind::Float => {
            let cast = column.cast(&DataType::Float64).map_err(bad)?;
            let values: Vec<f64> = cast
                .f64()
                .map_err(bad)?
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            gaps.scan(name, 1, values.iter().map(|v| v.is_nan()));
            TargetColumn::Numbers(values)
        }
        ColumnKind::Boolean => {
            let values = column.bool().map_err(bad)?;
            gaps.scan(name, 1, values.iter().map(|v| v.is_none()));
            TargetColumn::Labels(
                values
                    .iter()
                    .map(|v| v.map_or(String::new(), |b| b.to_string()))
                    .collect(),
            )
        }
        ColumnKind::String => {
            let values = column.str().map_err(bad)?;
            gaps.scan(name, 1, values.iter().map(|v| v.is_none()));
            TargetColumn::Labels(
                values
                    .iter()
                    .map(|v| v.unwrap_or_default().to_string())
                    .collect(),
            )
        }
        ColumnKind::Other => {
            return Err(TableError::BadTarget {
                path: shape.path.clone(),
                column: name.to_string(),
                dtype: column.dtype().to_string(),
                reason: "a target must be numbers, booleans or strings",
            })
        }
    };
    Ok(target)
}

// ----- NumPy ------------------------------------------------------------------

/// An array's values converted to `$out`, whatever its numeric dtype.
macro_rules! npy_numbers {
    ($file:expr, $out:ty) => {{
        let file = $file;
        let npyz::DType::Plain(ts) = file.dtype() else {
            return Err(format!("dtype {} is not a number", file.dtype().descr()));
        };
        let e = |e: io::Error| e.to_string();
        macro_rules! conv {
            ($t:ty) => {
                file.into_vec::<$t>()
                    .map_err(e)?
                    .into_iter()
                    .map(|v| v as $out)
                    .collect::<Vec<$out>>()
            };
        }
        match (ts.type_char(), ts.size_field()) {
            (TypeChar::Float, 4) => conv!(f32),
            (TypeChar::Float, 8) => conv!(f64),
            (TypeChar::Int, 1) => conv!(i8),
            (TypeChar::Int, 2) => conv!(i16),
            (TypeChar::Int, 4) => conv!(i32),
            (TypeChar::Int, 8) => conv!(i64),
            (TypeChar::Uint, 1) => conv!(u8),
            (TypeChar::Uint, 2) => conv!(u16),
            (TypeChar::Uint, 4) => conv!(u32),
            (TypeChar::Uint, 8) => conv!(u64),
            (TypeChar::Bool, 1) => file
                .into_vec::<bool>()
                .map_err(e)?
                .into_iter()
                .map(|v| u8::from(v) as $out)
                .collect::<Vec<$out>>(),
            _ => return Err(format!("dtype {ts} is not a number")),
        }
    }};
}

fn npy_f32<R: Read>(file: NpyFile<R>) -> Result<Vec<f32>, String> {
    let (shape, order) = (file.shape().to_vec(), file.order());
    let values = npy_numbers!(file, f32);
    Ok(c_order(values, &shape, order))
}

fn npy_f64<R: Read>(file: NpyFile<R>) -> Result<Vec<f64>, String> {
    Ok(npy_numbers!(file, f64))
}

/// A Fortran-order (column-major) `rows x width` array in row-major order.
fn c_order(values: Vec<f32>, shape: &[u64], order: Order) -> Vec<f32> {
    let Some((rows, width)) = npy_rows_width(shape) else {
        return values;
    };
    if order == Order::C || width <= 1 || shape.len() > 2 {
        return values;
    }
    let mut out = vec![0f32; values.len()];
    for (j, column) in values.chunks_exact(rows.max(1)).enumerate() {
        for (i, &v) in column.iter().enumerate() {
            out[i * width + j] = v;
        }
    }
    out
}

fn npz_rows(
    shape: &TableShape,
    selection: &Selection,
    shuffle: Option<u64>,
) -> Result<Rows, TableError> {
    let path = &shape.path;
    let mut archive = open_npz(path)?;
    let mut gaps = Gaps::default();
    let mut blocks = Vec::new();
    for name in &selection.features {
        let entry = npz_file(&mut archive, path, name)?;
        let width = npy_rows_width(entry.shape()).map_or(1, |s| s.1);
        let values = npy_f32(entry).map_err(|e| array_error(path, name, e))?;
        gaps.scan_values(name, width, &values);
        blocks.push((values, width));
    }
    let target = npz_target(&mut archive, path, &selection.target, &mut gaps)?;
    gaps.check(path)?;
    let n = target_len(&target);
    for (name, (values, width)) in selection.features.iter().zip(&blocks) {
        if values.len() != n * width {
            return Err(invalid(
                path,
                format!(
                    "array `{name}` has {} rows, the target `{}` {n}",
                    values.len() / width.max(&1),
                    selection.target
                ),
            ));
        }
    }
    let slices: Vec<(&[f32], usize)> = blocks.iter().map(|(v, w)| (v.as_slice(), *w)).collect();
    let order = row_order(n, shuffle);
    Ok(Rows {
        path: path.clone(),
        features: interleave(&slices, &order),
        dim: selection.input_dim,
        target: target.take(&order),
        index: order,
    })
}

fn array_error(path: &Path, name: &str, reason: String) -> TableError {
    unreadable(path, Format::Npz, format!("array `{name}`: {reason}"))
}

fn npz_file<'a>(
    archive: &'a mut Archive,
    path: &Path,
    name: &str,
) -> Result<NpyFile<zip::read::ZipFile<'a, BufReader<File>>>, TableError> {
    let entry = npz_entry(archive, path, name)?;
    NpyFile::new(entry).map_err(|e| array_error(path, name, e.to_string()))
}

fn npz_target(
    archive: &mut Archive,
    path: &Path,
    name: &str,
    gaps: &mut Gaps,
) -> Result<TargetColumn, TableError> {
    let file = npz_file(archive, path, name)?;
    let target = match npy_kind(&file.dtype()) {
        ColumnKind::String => TargetColumn::Labels(
            file.into_vec::<String>()
                .map_err(|e| array_error(path, name, e.to_string()))?,
        ),
        ColumnKind::Boolean => TargetColumn::Labels(
            file.into_vec::<bool>()
                .map_err(|e| array_error(path, name, e.to_string()))?
                .iter()
                .map(bool::to_string)
                .collect(),
        ),
        _ => {
            let values = npy_f64(file).map_err(|e| array_error(path, name, e))?;
            gaps.scan(name, 1, values.iter().map(|v| v.is_nan()));
            TargetColumn::Numbers(values)
        }
    };
    Ok(target)
}

fn target_len(target: &TargetColumn) -> usize {
    match target {
        TargetColumn::Numbers(v) => v.len(),
        TargetColumn::Labels(v) => v.len(),
    }
}

fn npy_rows(
    shape: &TableShape,
    selection: &Selection,
    shuffle: Option<u64>,
) -> Result<Rows, TableError> {
    let path = &shape.path;
    let file =
        NpyFile::new(BufReader::new(open(path)?)).map_err(|e| unreadable(path, Format::Npy, e))?;
    let matrix = npy_f32(file).map_err(|e| unreadable(path, Format::Npy, e))?;
    let width = shape.columns.len();
    let n = matrix.len().checked_div(width).unwrap_or(0);
    let position = |name: &str| shape.names().position(|c| c == name).unwrap_or(0);
    let mut gaps = Gaps::default();
    let columns: Vec<Vec<f32>> = selection
        .features
        .iter()
        .map(|name| {
            let j = position(name);
            let column: Vec<f32> = (0..n).map(|i| matrix[i * width + j]).collect();
            gaps.scan_values(name, 1, &column);
            column
        })
        .collect();
    let t = position(&selection.target);
    let values: Vec<f64> = (0..n).map(|i| f64::from(matrix[i * width + t])).collect();
    gaps.scan(&selection.target, 1, values.iter().map(|v| v.is_nan()));
    gaps.check(path)?;
    let target = match shape.columns[t].kind {
        ColumnKind::Boolean => {
            TargetColumn::Labels(values.iter().map(|&v| (v != 0.0).to_string()).collect())
        }
        _ => TargetColumn::Numbers(values),
    };
    let slices: Vec<(&[f32], usize)> = columns.iter().map(|c| (c.as_slice(), 1)).collect();
    let order = row_order(n, shuffle);
    Ok(Rows {
        path: path.clone(),
        features: interleave(&slices, &order),
        dim: columns.len(),
        target: target.take(&order),
        index: order,
    })
}

// ---------------------------------------------------------------------------
// Split, targets, scaling
// ---------------------------------------------------------------------------

/// Rows already shuffled by `data_seed` ([`row_order`]) split in two: the
/// first ones for training, as many as [`split_sizes`] says (like the
/// synthetic datasets).
fn split(rows: Rows, options: &TableOptions) -> (Rows, Rows) {
    let (n_train, _) = split_sizes(rows.len(), options.test_fraction);
    rows.split_at(n_train)
}

fn assemble(
    train: Rows,
    test: Rows,
    selection: Selection,
    scale: Scale,
) -> Result<Table, TableError> {
    let (train_targets, test_targets, task, class_names) = match selection.task {
        TableTask::Classification => classify(&train, &test, &selection.target)?,
        TableTask::Regression => {
            let values = |r: &Rows| regression_values(r, &selection.target);
            (
                values(&train)?,
                values(&test)?,
                Task::Regression,
                Vec::new(),
            )
        }
    };
    let dim = train.dim;
    let (mut train_x, mut test_x) = (train.features, test.features);
    if let Some(affine) = Affine::fit(scale, &train_x, dim) {
        affine.apply(&mut train_x);
        affine.apply(&mut test_x);
    }
    let make = |features, targets| SplitData {
        features,
        targets,
        input_dim: dim,
    };
    Ok(Table {
        train: make(train_x, train_targets),
        test: make(test_x, test_targets),
        task,
        class_names,
        selection,
    })
}

fn regression_values(rows: &Rows, target: &str) -> Result<Targets, TableError> {
    match &rows.target {
        TargetColumn::Numbers(v) => Ok(Targets::Values(v.iter().map(|&x| x as f32).collect())),
        TargetColumn::Labels(_) => Err(TableError::BadTarget {
            path: rows.path.clone(),
            column: target.to_string(),
            dtype: "strings or booleans".to_string(),
            reason: "regression needs numbers; use `task = \"classification\"`",
        }),
    }
}

/// The training rows' distinct target values, sorted.
#[derive(Debug)]
enum Classes {
    Numbers(Vec<f64>),
    Labels(Vec<String>),
}

impl Classes {
    fn of(target: &TargetColumn) -> Classes {
        match target {
            TargetColumn::Numbers(v) => {
                let mut c = v.clone();
                c.sort_by(f64::total_cmp);
                c.dedup();
                Classes::Numbers(c)
            }
            TargetColumn::Labels(v) => {
                let set: BTreeSet<&String> = v.iter().collect();
                Classes::Labels(set.into_iter().cloned().collect())
            }
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            Classes::Numbers(c) => c.iter().map(|&v| text::fmt_num(v)).collect(),
            Classes::Labels(c) => c.clone(),
        }
    }

    /// Each row's class index; a class not in the list is an error.
    fn indices(&self, rows: &Rows) -> Result<Vec<u32>, TableError> {
        let unseen = |i: usize, class: String| TableError::UnseenClass {
            path: rows.path.clone(),
            row: rows.index[i] + 1,
            class,
            known: preview(self.names().iter().map(String::as_str)),
        };
        let mut out = Vec::with_capacity(rows.len());
        match (self, &rows.target) {
            (Classes::Numbers(c), TargetColumn::Numbers(v)) => {
                for (i, x) in v.iter().enumerate() {
                    let k = c
                        .binary_search_by(|p| p.total_cmp(x))
                        .map_err(|_| unseen(i, text::fmt_num(*x)))?;
                    out.push(k as u32);
                }
            }
            (Classes::Labels(c), TargetColumn::Labels(v)) => {
                for (i, x) in v.iter().enumerate() {
                    let k = c.binary_search(x).map_err(|_| unseen(i, x.clone()))?;
                    out.push(k as u32);
                }
            }
            (_, TargetColumn::Numbers(v)) => {
                return Err(unseen(0, v.first().map_or(0.0, |&x| x).to_string()))
            }
            (_, TargetColumn::Labels(v)) => {
                return Err(unseen(0, v.first().cloned().unwrap_or_default()))
            }
        }
        Ok(out)
    }
}

type Encoded = (Targets, Targets, Task, Vec<String>);

fn classify(train: &Rows, test: &Rows, target: &str) -> Result<Encoded, TableError> {
    let classes = Classes::of(&train.target);
    let names = classes.names();
    if names.len() < 2 {
        return Err(TableError::TooFewClasses {
            path: train.path.clone(),
            target: target.to_string(),
            classes: names,
        });
    }
    let train_y = Targets::Classes(classes.indices(train)?);
    let test_y = Targets::Classes(classes.indices(test)?);
    Ok((train_y, test_y, Task::Classification(names.len()), names))
}

/// `x' = (x - offset) * factor` per feature, fitted on the training rows.
#[derive(Debug, Clone, PartialEq)]
struct Affine {
    offset: Vec<f32>,
    factor: Vec<f32>,
}

impl Affine {
    fn fit(scale: Scale, train: &[f32], dim: usize) -> Option<Affine> {
        if dim == 0 || train.is_empty() {
            return None;
        }
        match scale {
            Scale::None => None,
            Scale::Standard => Some(Affine::standard(train, dim)),
            Scale::Unit => Some(Affine::unit(train, dim)),
        }
    }

    fn standard(train: &[f32], dim: usize) -> Affine {
        let n = (train.len() / dim) as f64;
        let mut sum = vec![0f64; dim];
        for row in train.chunks_exact(dim) {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut sq = vec![0f64; dim];
        for row in train.chunks_exact(dim) {
            for ((s, &v), m) in sq.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        let factor = sq
            .iter()
            .map(|s| {
                let std = (s / n).sqrt();
                if std > 0.0 {
                    (1.0 / std) as f32
                } else {
                    1.0
                }
            })
            .collect();
        Affine {
            offset: mean.iter().map(|&m| m as f32).collect(),
            factor,
        }
    }

    fn unit(train: &[f32], dim: usize) -> Affine {
        let mut min = vec![f32::INFINITY; dim];
        let mut max = vec![f32::NEG_INFINITY; dim];
        for row in train.chunks_exact(dim) {
            for (j, &v) in row.iter().enumerate() {
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
            }
        }
        let factor = min
            .iter()
            .zip(&max)
            .map(|(&lo, &hi)| if hi > lo { 1.0 / (hi - lo) } else { 1.0 })
            .collect();
        Affine {
            offset: min,
            factor,
        }
    }

    fn apply(&self, features: &mut [f32]) {
        for row in features.chunks_exact_mut(self.offset.len()) {
            for ((v, o), f) in row.iter_mut().zip(&self.offset).zip(&self.factor) {
                *v = (*v - o) * f;
            }
        }
    }
}

mod kind;
pub use kind::TableFile;

#[cfg(test)]
mod tests;
