//! What a dataset kind is: one trait, and the one list of kinds.
//!
//! A sweep file names a dataset (`dataset = "mnist"`, `{ name = "xor",
//! noise = 0.3 }`). Everything the tool knows about a kind lives in the
//! kind's own file under `src/data/`, behind [`DatasetKind`]: its name and
//! one-line description, how its settings are checked (located errors,
//! through [`KeyCheck`]), its shape and task at plan time (never by loading
//! every row), and how it loads. The resolved settings are the kind's own
//! struct, serialized into the job's config (so they are part of its id).
//!
//! [`dataset_kinds!`] turns the list of kinds into [`DatasetConfig`]
//! (`src/data/mod.rs` has the list): one enum variant per kind, its
//! `name` tag, and the dispatch of every trait method, so no other code
//! matches on kinds. Adding a kind is its file plus one line in that list
//! (and its new keys, if it takes keys no other kind has, in the dataset
//! table's declaration, `config::raw::DatasetFields`).
//!
//! [`DatasetConfig`]: super::DatasetConfig

use super::{DataError, SplitData};
use crate::config::job::Task;
use crate::config::raw::DatasetFields;
pub use crate::config::resolve::KeyCheck;

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

    /// The settings from the dataset table's keys, each checked (problems go
    /// to `check`, located at the key; the default stands in for a bad value).
    fn resolve(check: &mut KeyCheck<'_, '_>, keys: &DatasetFields) -> Self;

    /// Its shape, from the settings alone.
    fn shape(&self) -> Shape;

    /// Loads (or generates) the rows. The split sizes are [`Self::shape`]'s.
    fn load(&self) -> Result<Loaded, DataError>;
}

/// Every kind with its description, its keys (each with its doc and
/// default) and the sizes of its default form: what `actsweep datasets`
/// prints.
pub fn catalogue() -> String {
    let mut out = String::new();
    for &(name, about) in super::DatasetConfig::ABOUT {
        out.push_str(&format!("{name}\n  {about}\n"));
        if let Some(d) = crate::config::resolve::default_dataset(name) {
            out.push_str(&format!("  by default: {}\n", shape_text(&d.shape())));
        }
        out.push_str("  keys:\n");
        let keys = DatasetFields::SCHEMA.keys.iter();
        for key in keys.filter(|k| k.name != "name" && k.applies_to(name)) {
            let doc = key.doc.split_whitespace().collect::<Vec<_>>().join(" ");
            out.push_str(&format!("    {}: {doc}\n", key.name));
        }
        out.push('\n');
    }
    out
}

/// `60000 train / 10000 test rows, 784 inputs, 10 classes`.
pub fn shape_text(s: &Shape) -> String {
    let task = match s.task {
        Task::Classification(n) => format!("{n} classes"),
        Task::Regression => "regression".to_string(),
    };
    format!(
        "{} train / {} test rows, {} inputs, {task}",
        s.train, s.test, s.input_dim
    )
}

/// Declares the list of dataset kinds: `Variant(path::Type)`, one a line,
/// the variant's snake_case name being the kind's [`DatasetKind::NAME`]
/// (checked by a test). Generates `DatasetConfig` and its dispatch.
macro_rules! dataset_kinds {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty), )*) => {
        /// A dataset with all its settings resolved: one variant per kind,
        /// serialized as `{ "name": KIND, ...settings }`.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "name", rename_all = "snake_case")]
        pub enum DatasetConfig {
            $( $(#[$doc])* $variant($ty), )*
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

            /// The kind's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $( DatasetConfig::$variant(_) => <$ty as $crate::data::kind::DatasetKind>::NAME, )*
                }
            }

            /// The shape at plan time.
            pub fn shape(&self) -> $crate::data::kind::Shape {
                match self {
                    $( DatasetConfig::$variant(k) => $crate::data::kind::DatasetKind::shape(k), )*
                }
            }

            /// The rows, loaded or generated by the kind.
            pub fn load_rows(&self) -> Result<$crate::data::kind::Loaded, $crate::data::DataError> {
                match self {
                    $( DatasetConfig::$variant(k) => $crate::data::kind::DatasetKind::load(k), )*
                }
            }

            /// The settings of the kind named `name` (`None`: no such kind).
            pub(crate) fn resolve(
                name: &str,
                check: &mut $crate::data::kind::KeyCheck<'_, '_>,
                keys: &$crate::config::raw::DatasetFields,
            ) -> Option<DatasetConfig> {
                $( if name == <$ty as $crate::data::kind::DatasetKind>::NAME {
                    return Some(DatasetConfig::$variant(
                        <$ty as $crate::data::kind::DatasetKind>::resolve(check, keys),
                    ));
                } )*
                None
            }
        }
    };
}
pub(crate) use dataset_kinds;
