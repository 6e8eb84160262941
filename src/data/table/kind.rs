//! The `table` kind: a user's own file as a dataset a sweep file names.
//!
//! `dataset = { name = "table", path = "train.parquet", target = "label" }`.
//! Resolving reads what the plan needs from the file, once per process
//! (memoized by path, size and modification time), without reading a
//! feature value ([`survey`]): the columns and row counts from the headers
//! (Parquet's footer, the CSV header and a line count, the NumPy headers),
//! the selection (target, features, task), the target column alone for the
//! split and the classes, and the content's SHA-256. So a bad column, target
//! or split is a located error at the key it concerns when the file is
//! planned; empty or NaN feature cells are found when a run loads the
//! dataset, before any job trains and before anything is written.
//!
//! The digests go into the resolved config and the paths do not, so a
//! job's id changes when the file's content does and not when the file
//! moves; the load checks them again, so results are never trained on other
//! data than the plan saw.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{content_sha256, load, survey, Role, Scale, TableError, TableOptions, TableTask};
use crate::config::job::Task;
use crate::config::resolve::{Bounds, KeyCheck};
use crate::config::schema::table_key;
use crate::data::kind::{DatasetKind, Loaded, Shape, TableKey, DATA_SEED, TEST_FRACTION};
use crate::data::DataError;

table_key! {
    /// The file to read: `.parquet`, `.csv`, `.npy` or `.npz` (required; not
    /// part of the job id, which follows the file's content). Default: none.
    pub PATH = "path", example "path = 'examples/data/digits.csv'"
}

table_key! {
    /// A test file with the same columns.
    /// Default: none (`test_fraction` of the rows of `path` are held out instead).
    pub TEST_PATH = "test_path", example "test_path = 'examples/data/digits.csv'"
}

table_key! {
    /// The target column (an `.npz` array; an `.npy` column index).
    /// Default: `y` for `.npz`, required otherwise.
    pub TARGET = "target", example "target = 'p20'"
}

table_key! {
    /// The feature columns, in this order.
    /// Default: every other numeric column (`x` for `.npz`).
    pub FEATURES = "features", example "features = ['p0', 'p1']"
}

table_key! {
    /// `"classification"` or `"regression"`.
    /// Default: classification when the target is integer, boolean or text, else regression.
    pub TASK = "task", example "task = 'regression'"
}

table_key! {
    /// Feature scaling, fitted on the training rows: `"none"`, `"unit"`
    /// (min-max to [0, 1]) or `"standard"` (zero mean, unit variance).
    /// Default: `"none"`.
    pub SCALE = "scale", example "scale = 'standard'"
}

/// `table`: its settings as resolved, with the facts the plan needs (the
/// job id hashes all of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFile {
    /// The training file as written (relative to the working directory).
    /// Not part of the job id, which follows the content: a moved file keeps
    /// its jobs' ids and results.
    #[serde(skip_serializing, default)]
    pub path: String,
    /// SHA-256 of its content.
    pub sha256: String,
    /// The test file, if any (not part of the job id either).
    #[serde(skip_serializing, default)]
    pub test_path: Option<String>,
    /// SHA-256 of the test file's content.
    pub test_sha256: Option<String>,
    /// The target column.
    pub target: String,
    /// The feature columns, in order.
    pub features: Vec<String>,
    /// Classification or regression.
    pub task: TableTask,
    /// Feature scaling.
    pub scale: Scale,
    /// Held-out share without a test file.
    pub test_fraction: f64,
    /// Seed of that split.
    pub data_seed: u64,
    /// Features per row.
    pub input_dim: usize,
    /// Classes (0 for regression).
    pub classes: usize,
    /// Training rows.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
}

impl TableFile {
    /// The loader's options for these settings.
    fn options(&self) -> TableOptions {
        TableOptions {
            path: PathBuf::from(&self.path),
            test_path: self.test_path.as_ref().map(PathBuf::from),
            target: Some(self.target.clone()),
            features: Some(self.features.clone()),
            task: Some(self.task),
            scale: self.scale,
            test_fraction: self.test_fraction,
            data_seed: self.data_seed,
        }
    }
}

impl DatasetKind for TableFile {
    const NAME: &'static str = "table";
    const ABOUT: &'static str = "your own table: a Parquet, CSV or NumPy (.npy/.npz) file, \
                                 with a test file or a held-out share";

    const KEYS: &'static [&'static TableKey] = &[
        &PATH,
        &TEST_PATH,
        &TARGET,
        &FEATURES,
        &TASK,
        &SCALE,
        &DATA_SEED,
        &TEST_FRACTION,
    ];

    fn resolve(check: &mut KeyCheck<'_, '_>) -> TableFile {
        let options = options_of(check);
        let facts = match options.as_ref().map(facts) {
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                report(check, options.as_ref(), &e);
                Facts::default()
            }
            None => Facts::default(),
        };
        let options = options.unwrap_or_else(|| TableOptions::new(""));
        TableFile {
            path: options.path.display().to_string(),
            sha256: facts.sha256,
            test_path: options.test_path.map(|p| p.display().to_string()),
            test_sha256: facts.test_sha256,
            target: facts.target,
            features: facts.features,
            task: facts.task,
            scale: options.scale,
            test_fraction: options.test_fraction,
            data_seed: options.data_seed,
            input_dim: facts.input_dim.max(1),
            classes: facts.classes,
            train_rows: facts.train_rows,
            test_rows: facts.test_rows,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            input_dim: self.input_dim,
            task: match self.task {
                TableTask::Classification => Task::Classification(self.classes.max(2)),
                TableTask::Regression => Task::Regression,
            },
            train: self.train_rows,
            test: self.test_rows,
        }
    }

    fn data_seed(&self) -> u64 {
        self.data_seed
    }

    fn source_text(&self) -> Option<String> {
        let short = |d: &str| d.chars().take(12).collect::<String>();
        let mut text = format!("{}, sha256 {}", self.path, short(&self.sha256));
        if let (Some(p), Some(d)) = (&self.test_path, &self.test_sha256) {
            text.push_str(&format!("; test {p}, sha256 {}", short(d)));
        }
        Some(text)
    }

    fn load(&self) -> Result<Loaded, DataError> {
        let table_error = |e: TableError| DataError::InvalidParameter {
            dataset: Self::NAME,
            reason: e.to_string(),
        };
        unchanged(&self.path, &self.sha256).map_err(table_error)?;
        if let (Some(p), Some(d)) = (&self.test_path, &self.test_sha256) {
            unchanged(p, d).map_err(table_error)?;
        }
        let table = load(&self.options()).map_err(table_error)?;
        Ok(Loaded {
            train: table.train,
            test: table.test,
            origin: self.path.clone(),
        })
    }
}

/// The loader's options from the table's keys (`None`: no `path`, reported).
fn options_of(check: &mut KeyCheck<'_, '_>) -> Option<TableOptions> {
    let scale = check.choice(
        &SCALE,
        &[
            ("none", Scale::None),
            ("standard", Scale::Standard),
            ("unit", Scale::Unit),
        ],
        Scale::None,
    );
    let tasks = [
        ("classification", TableTask::Classification),
        ("regression", TableTask::Regression),
    ];
    let task = check.choice_given(&TASK, &tasks);
    let test_fraction = check.num(&TEST_FRACTION, 0.2, Bounds::above(0.0).below(1.0));
    let data_seed = check.int(&DATA_SEED, 0, 0..=i64::MAX) as u64;
    let test_path = check.value::<String>(&TEST_PATH);
    let target = check.value::<String>(&TARGET);
    let features = check.value::<Vec<String>>(&FEATURES);
    let Some(path) = check.value::<String>(&PATH) else {
        if !check.is_given(&PATH) {
            let msg = "a table dataset needs `path`, the file to read".to_string();
            check.error(&PATH, msg);
        }
        return None;
    };
    Some(TableOptions {
        path: PathBuf::from(path.get_ref()),
        test_path: test_path.map(|p| PathBuf::from(p.get_ref())),
        target: target.map(Spanned::into_inner),
        features: features.map(Spanned::into_inner),
        task,
        scale,
        test_fraction,
        data_seed,
    })
}

/// A load problem, reported at the key it concerns.
fn report(check: &mut KeyCheck<'_, '_>, options: Option<&TableOptions>, e: &TableError) {
    let msg = e.to_string();
    let test_path = options.and_then(|o| o.test_path.as_deref());
    let key = match e {
        TableError::UnknownColumn {
            role: Role::Target, ..
        } => &TARGET,
        TableError::UnknownColumn {
            role: Role::Feature,
            ..
        }
        | TableError::NonNumericFeature { .. } => &FEATURES,
        _ if test_path.is_some_and(|p| mentions(e, p)) => &TEST_PATH,
        _ => &PATH,
    };
    check.error(key, msg);
}

/// Whether the message of `e` names the file `p`.
fn mentions(e: &TableError, p: &Path) -> bool {
    e.to_string().contains(&p.display().to_string())
}

/// What resolving a table reads from its files.
#[derive(Debug, Clone, Default)]
struct Facts {
    sha256: String,
    test_sha256: Option<String>,
    target: String,
    features: Vec<String>,
    task: TableTask,
    input_dim: usize,
    classes: usize,
    train_rows: usize,
    test_rows: usize,
}

/// The facts of `options`, read once per process for the same files (same
/// size and modification time) and options: every job of a sweep resolves
/// its dataset, and the table is the same for all of them.
fn facts(options: &TableOptions) -> Result<Facts, TableError> {
    type Memo = Mutex<HashMap<String, Result<Facts, String>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let key = format!(
        "{options:?} {:?} {:?}",
        stamp(&options.path),
        options.test_path.as_deref().map(stamp)
    );
    let memo = MEMO.get_or_init(Memo::default);
    if let Some(Ok(f)) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(f.clone());
    }
    let f = read_facts(options)?;
    memo.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Ok(f.clone()));
    Ok(f)
}

/// A file's size and modification time, when it has them.
fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// Surveys the table (its headers and its target column, never its
/// feature values; see [`survey`]) and digests its files.
fn read_facts(options: &TableOptions) -> Result<Facts, TableError> {
    let survey = survey(options)?;
    Ok(Facts {
        sha256: content_sha256(&options.path)?,
        test_sha256: options
            .test_path
            .as_deref()
            .map(content_sha256)
            .transpose()?,
        input_dim: survey.selection.input_dim,
        task: survey.selection.task,
        target: survey.selection.target,
        features: survey.selection.features,
        classes: survey.class_names.len(),
        train_rows: survey.train_rows,
        test_rows: survey.test_rows,
    })
}

/// An error when the file at `path` no longer has the content `sha256`.
fn unchanged(path: &str, sha256: &str) -> Result<(), TableError> {
    let now = content_sha256(Path::new(path))?;
    if now == sha256 {
        return Ok(());
    }
    Err(TableError::Invalid {
        path: PathBuf::from(path),
        reason: format!(
            "its content changed since the sweep was planned (SHA-256 {now}, planned {sha256}); \
             plan and run again"
        ),
    })
}
