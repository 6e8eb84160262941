//! What a dataset kind is: one trait, and the one list of kinds.
//!
//! A sweep file names a dataset (`dataset = "mnist"`, `{ name = "xor",
//! noise = 0.3 }`). Everything the tool knows about a kind lives in the
//! kind's own file under `src/data/`, behind [`DatasetKind`]: its name and
//! one-line description, how its settings are checked (located errors,
//! through [`KeyCheck`]), its shape and task at plan time (from its settings;
//! a table reads its file once, memoized, when the sweep is resolved), and
//! how it loads. The resolved settings are the kind's own
//! struct, serialized into the job's config (so they are part of its id).
//!
//! `dataset_kinds!` turns the list of kinds into `DatasetKindConfig`
//! (`src/data/mod.rs` has the list): one enum variant per kind, its
//! `name` tag, and the dispatch of every trait method, so no other code
//! matches on kinds. Adding a kind is its file plus one line in that list.
//!
//! A kind's keys are declared in its own file ([`table_key!`], each with its
//! doc and default) and listed by [`DatasetKind::KEYS`]; keys several kinds
//! take are declared once where they are shared (here: `data_seed`,
//! `test_fraction`; the image keys in [`super::mnist`]), and every kind takes
//! `name` and `validation_fraction`. The sweep file's dataset table keeps
//! what it was given as written ([`RawDataset`](crate::config::raw::RawDataset));
//! the kind reads each key through [`KeyCheck`], which checks its type and
//! range and locates problems, and a key the kind does not list is an error
//! naming the kind's keys.

use super::{DataError, SplitData};
use crate::config::job::Task;
pub use crate::config::resolve::KeyCheck;
use crate::config::schema::table_key;
pub use crate::config::schema::TableKey;

table_key! {
    /// The dataset kind (`actsweep datasets` lists them). Default: `"mnist"`.
    pub NAME = "name", example "name = 'two_moons'"
}

table_key! {
    /// Every dataset: the share of the training rows held out as the `valid`
    /// split (`valid_acc`, `valid_loss`, ...), the same rows for every job
    /// (chosen by `data_seed`, 0 where the dataset has none), in [0, 1).
    /// Default: 0 (none).
    pub VALIDATION_FRACTION = "validation_fraction", example "validation_fraction = 0.1"
}

table_key! {
    /// Every dataset: a short name for it in plans, tables and charts (an
    /// axis of datasets is labelled by it), e.g. `label = "digits"` for a
    /// table. Part of the job's id, as everything it sets. Default: the kind's name.
    pub LABEL = "label", example "label = 'mine'"
}

table_key! {
    /// Seed of the data (or of a table's split), shared by every job. Default: 0.
    pub DATA_SEED = "data_seed", example "data_seed = 7"
}

table_key! {
    /// The share of the rows held out for testing, in (0, 1) (a table: when
    /// it has no `test_path`). Default: 0.2.
    pub TEST_FRACTION = "test_fraction", example "test_fraction = 0.3"
}

/// The keys of the kind whose own keys are `own`: `name` first, then its
/// own, then `validation_fraction` and `label`.
pub fn keys_with_common(own: &'static [&'static TableKey]) -> Vec<&'static TableKey> {
    let mut keys = vec![&NAME];
    keys.extend(own.iter().copied());
    keys.extend([&VALIDATION_FRACTION, &LABEL]);
    keys
}

/// What a dataset is at plan time: known from its settings (and, for files,
/// their headers), without loading its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Input features per row.
    pub input_dim: usize,
    /// Classification (with the class count) or regression.
    pub task: Task,
    /// Rows of the training split.
    pub train: usize,
    /// Rows of the test split.
    pub test: usize,
}

/// A dataset's two splits as its kind loads them, and where they came from
/// (a folder, a file, or `generated (data_seed N)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The training rows.
    pub train: SplitData,
    /// The test rows.
    pub test: SplitData,
    /// Where the rows came from.
    pub origin: String,
}

/// One kind of dataset. Its implementing struct holds the resolved settings.
pub trait DatasetKind: Sized {
    /// The `name` a sweep file gives it.
    const NAME: &'static str;
    /// One line for `actsweep datasets` and the docs: what it is.
    const ABOUT: &'static str;

    /// The keys it takes besides `name` and `validation_fraction`, each
    /// declared once with [`table_key!`] (its doc says its default).
    const KEYS: &'static [&'static TableKey];

    /// The settings from the dataset table's keys, each read and checked
    /// through `check` (problems located at the key; the default stands in
    /// for a bad value).
    fn resolve(check: &mut KeyCheck<'_, '_>) -> Self;

    /// Its shape, from the settings alone.
    fn shape(&self) -> Shape;

    /// Loads (or generates) the rows. The split sizes are [`Self::shape`]'s.
    fn load(&self) -> Result<Loaded, DataError>;

    /// The seed of the kind's own data, which also chooses the validation
    /// rows (`validation_fraction`); 0 for a kind without one.
    fn data_seed(&self) -> u64 {
        0
    }

    /// What `plan` adds after the sizes, if anything: for a file, which one
    /// and the first characters of its content digest.
    fn source_text(&self) -> Option<String> {
        None
    }
}

/// Every kind with its description, its keys (each with its doc and
/// default) and the sizes of its default form: what `actsweep datasets`
/// prints.
pub fn catalogue() -> String {
    let mut out = String::new();
    for &(name, about) in super::DatasetConfig::ABOUT {
        out.push_str(&format!("{name}\n  {about}\n"));
        if let Some(d) = crate::config::resolve::default_dataset(name) {
            out.push_str(&format!("  by default: {}\n", shape_text(&d.shape(), 0)));
        }
        out.push_str("  keys:\n");
        let keys = (super::DatasetConfig::SCHEMA.keys_of)(name);
        for key in keys.into_iter().filter(|k| k.name != NAME.name) {
            let doc = key.doc.split_whitespace().collect::<Vec<_>>().join(" ");
            out.push_str(&format!("    {}: {doc}\n", key.name));
        }
        out.push('\n');
    }
    out
}

/// `54000 train / 6000 valid / 10000 test rows, 784 inputs, 10 classes`
/// (no `valid` part without a validation split).
pub fn shape_text(s: &Shape, valid: usize) -> String {
    let task = match s.task {
        Task::Classification(n) => format!("{n} classes"),
        Task::Regression => "regression".to_string(),
    };
    let valid = match valid {
        0 => String::new(),
        n => format!("{n} valid / "),
    };
    format!(
        "{} train / {valid}{} test rows, {} inputs, {task}",
        s.train, s.test, s.input_dim
    )
}

/// Declares the list of dataset kinds: `Variant(path::Type)`, one a line,
/// the variant's snake_case name being the kind's [`DatasetKind::NAME`]
/// (checked by a test). Generates `DatasetKindConfig` and its dispatch, and
/// the kinds' names and descriptions on [`DatasetConfig`].
macro_rules! dataset_kinds {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty), )*) => {
        /// A dataset kind with its settings resolved: one variant per kind,
        /// serialized as `{ "name": KIND, ...settings }`.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "name", rename_all = "snake_case")]
        pub enum DatasetKindConfig {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl DatasetKindConfig {
            /// The kind's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $( DatasetKindConfig::$variant(_) => <$ty as $crate::data::kind::DatasetKind>::NAME, )*
                }
            }

            /// The kind's shape at plan time (before any validation hold-out).
            pub fn shape(&self) -> $crate::data::kind::Shape {
                match self {
                    $( DatasetKindConfig::$variant(k) => $crate::data::kind::DatasetKind::shape(k), )*
                }
            }

            /// The seed of the kind's own data (of the validation hold-out too).
            pub fn data_seed(&self) -> u64 {
                match self {
                    $( DatasetKindConfig::$variant(k) => $crate::data::kind::DatasetKind::data_seed(k), )*
                }
            }

            /// What `plan` adds after the sizes ([`DatasetKind::source_text`]).
            pub fn source_text(&self) -> Option<String> {
                match self {
                    $( DatasetKindConfig::$variant(k) => $crate::data::kind::DatasetKind::source_text(k), )*
                }
            }

            /// The rows, loaded or generated by the kind.
            pub fn load_rows(&self) -> Result<$crate::data::kind::Loaded, $crate::data::DataError> {
                match self {
                    $( DatasetKindConfig::$variant(k) => $crate::data::kind::DatasetKind::load(k), )*
                }
            }
        }

        impl DatasetConfig {
            /// Every kind's name, in the list's order.
            pub const NAMES: &'static [&'static str] =
                &[$( <$ty as $crate::data::kind::DatasetKind>::NAME, )*];

            /// Every kind's name with its one-line description.
            pub const ABOUT: &'static [(&'static str, &'static str)] = &[$( (
                <$ty as $crate::data::kind::DatasetKind>::NAME,
                <$ty as $crate::data::kind::DatasetKind>::ABOUT,
            ), )*];

            /// Every kind's keys, for the dataset table's checks and docs.
            pub const SCHEMA: $crate::config::schema::TableSchema =
                $crate::config::schema::TableSchema {
                    names: Self::NAMES,
                    keys_of: Self::keys_of,
                };

            /// The keys of the kind named `name` (none: no such kind).
            fn keys_of(name: &str) -> Vec<&'static $crate::data::kind::TableKey> {
                $( if name == <$ty as $crate::data::kind::DatasetKind>::NAME {
                    return $crate::data::kind::keys_with_common(
                        <$ty as $crate::data::kind::DatasetKind>::KEYS,
                    );
                } )*
                Vec::new()
            }

            /// The settings of the kind named `name` (`None`: no such kind).
            pub(crate) fn resolve(
                name: &str,
                check: &mut $crate::data::kind::KeyCheck<'_, '_>,
            ) -> Option<DatasetKindConfig> {
                $( if name == <$ty as $crate::data::kind::DatasetKind>::NAME {
                    return Some(DatasetKindConfig::$variant(
                        <$ty as $crate::data::kind::DatasetKind>::resolve(check),
                    ));
                } )*
                None
            }
        }
    };
}
pub(crate) use dataset_kinds;

/// A dataset as a job uses it: its kind with the kind's settings, and the
/// share of the training rows held out for validation (every kind takes
/// `validation_fraction`). Serialized as the kind's settings, plus
/// `validation_fraction` when it is not 0 (so the ids of jobs without a
/// validation split are what they were before it existed).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DatasetConfig {
    /// The kind and its settings.
    #[serde(flatten)]
    pub kind: super::DatasetKindConfig,
    /// The share of the training rows held out as the `valid` split, chosen
    /// by the kind's `data_seed`; 0: none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub validation_fraction: f64,
    /// Its short name in plans, tables and charts, when the file gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl From<super::DatasetKindConfig> for DatasetConfig {
    fn from(kind: super::DatasetKindConfig) -> DatasetConfig {
        DatasetConfig {
            kind,
            validation_fraction: 0.0,
            label: None,
        }
    }
}

impl DatasetConfig {
    /// The kind's name.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Its `label`, or the kind's name.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(self.kind.name())
    }

    /// The shape at plan time, the training rows being those left after the
    /// validation hold-out.
    pub fn shape(&self) -> Shape {
        let s = self.kind.shape();
        Shape {
            train: s.train - self.valid_rows(),
            ..s
        }
    }

    /// `54000 train / 6000 valid / 10000 test rows, 784 inputs, 10 classes`,
    /// and for a file where it is (`; digits.csv, sha256 d7ff13410111`).
    pub fn sizes_text(&self) -> String {
        let sizes = shape_text(&self.shape(), self.valid_rows());
        match self.kind.source_text() {
            Some(source) => format!("{sizes}; {source}"),
            None => sizes,
        }
    }

    /// Rows of the validation split.
    pub fn valid_rows(&self) -> usize {
        hold_out_sizes(self.kind.shape().train, self.validation_fraction).1
    }

    /// The rows: the kind's, with the validation rows taken out of its
    /// training split (the same rows for every job: the kind's `data_seed`
    /// chooses them).
    pub fn load_rows(&self) -> Result<(Loaded, SplitData), DataError> {
        let mut rows = self.kind.load_rows()?;
        let valid = hold_out(
            &mut rows.train,
            self.validation_fraction,
            self.kind.data_seed(),
        );
        Ok((rows, valid))
    }
}

/// Training rows left and validation rows held out of `train` rows at
/// `fraction`: the validation part rounded up, as the test split is.
fn hold_out_sizes(train: usize, fraction: f64) -> (usize, usize) {
    if fraction <= 0.0 {
        return (train, 0);
    }
    crate::config::job::split_sizes(train, fraction)
}

/// Moves `fraction` of `train`'s rows, chosen by `seed`, into the returned
/// split; both keep the rows' order.
fn hold_out(train: &mut SplitData, fraction: f64, seed: u64) -> SplitData {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let (_, n_valid) = hold_out_sizes(train.len(), fraction);
    let mut order: Vec<usize> = (0..train.len()).collect();
    // A stream of its own, so the hold-out does not repeat the data's draws.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ VALIDATION_STREAM);
    order.shuffle(&mut rng);
    let mut is_valid = vec![false; train.len()];
    for &i in &order[..n_valid] {
        is_valid[i] = true;
    }
    let pick = |want: bool| -> Vec<usize> {
        (0..is_valid.len())
            .filter(|&i| is_valid[i] == want)
            .collect()
    };
    let valid = train.take_rows(&pick(true));
    *train = train.take_rows(&pick(false));
    valid
}

/// Mixed into `data_seed` for the validation hold-out ("valid" in ASCII).
const VALIDATION_STREAM: u64 = 0x0076_616c_6964;
