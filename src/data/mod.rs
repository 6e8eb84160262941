//! Datasets: loading, generating and sharing the data a job trains on.
//!
//! This module owns the in-memory form of a dataset ([`Dataset`]) that the
//! training engine consumes, and the process-wide cache behind [`load`]: every
//! job of a sweep with the same [`DatasetConfig`] gets the same
//! `Arc<Dataset>`, loaded (or generated) once, read-only, from as many rayon
//! threads as want it. The first caller loads; the others wait and share.
//!
//! Each kind of dataset is one file behind one trait ([`kind::DatasetKind`]),
//! and the list below (`dataset_kinds!`) is the one
//! place that names them all; [`DatasetKindConfig`] (one variant per kind)
//! is generated from it, and [`DatasetConfig`] adds what every kind shares,
//! the validation hold-out.
//!
//! - [`mnist`], [`fashion_mnist`], [`kmnist`]: the IDX image sets.
//! - [`cifar10`]: CIFAR-10's binary batches, from the archive or its folder.
//! - [`xor`], [`two_moons`], [`identity`]: generated from their own
//!   `data_seed` so that every job of a sweep sees the same data; what they
//!   share is in [`synthetic`].
//! - [`fetch`]: where a dataset's published files are looked for, their
//!   download from mirrors and the check against their published digests,
//!   with the file sets of MNIST, Fashion-MNIST, KMNIST and CIFAR-10.
//! - [`table`]: a user's own table file (Parquet, CSV, NumPy): its shape at
//!   plan time, its rows split, encoded and scaled at load time.

pub mod cifar10;
pub mod fashion_mnist;
pub mod fetch;
pub mod identity;
pub mod kind;
pub mod kmnist;
pub mod mnist;
pub mod synthetic;
pub mod table;
pub mod two_moons;
pub mod xor;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::job::Task;
pub use kind::DatasetConfig;

kind::dataset_kinds! {
    /// Handwritten digits, 28x28, 10 classes.
    Mnist(mnist::Mnist),
    /// Binary XOR in 2-D.
    Xor(xor::Xor),
    /// Two interleaving half circles (scikit-learn's make_moons).
    TwoMoons(two_moons::TwoMoons),
    /// Regression of y = x on x ~ U(0, 1).
    Identity(identity::Identity),
    /// Zalando's clothing images in MNIST's format.
    FashionMnist(fashion_mnist::FashionMnist),
    /// Kuzushiji (cursive Japanese) characters in MNIST's format.
    Kmnist(kmnist::Kmnist),
    /// 32x32 colour images, 10 classes.
    Cifar10(cifar10::Cifar10),
    /// A user's own Parquet, CSV or NumPy file.
    Table(table::TableFile),
}

/// What went wrong loading or generating a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A dataset's files are nowhere to be found and could not be downloaded
    /// (boxed: the report is large, and errors travel in every `Result`).
    #[error("{0}")]
    NotFound(Box<fetch::NotFound>),
    /// A file exists but is not what it should be (truncated, wrong format).
    #[error("{} is corrupt: {reason}; delete it (it will be downloaded again) or replace it with the original file", path.display())]
    Corrupt {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file's or download's digest is not the published one.
    #[error("{what} has {algorithm} {actual}, expected {expected}: it is corrupt or not the original {dataset} file; delete it (it will be downloaded again) or replace it")]
    HashMismatch {
        /// The file or URL checked.
        what: String,
        /// `SHA-256` or `MD5`.
        algorithm: &'static str,
        /// The dataset's title (`MNIST`, `CIFAR-10`).
        dataset: &'static str,
        /// The known-good digest.
        expected: String,
        /// The digest found.
        actual: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write`...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A dataset parameter the generator cannot use.
    #[error("dataset {dataset}: {reason}")]
    InvalidParameter {
        /// The dataset's name.
        dataset: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The same failure, met by an earlier caller of [`load`] in this process.
    #[error(transparent)]
    Shared(Arc<DataError>),
}

impl DataError {
    /// The original error, looking through [`DataError::Shared`].
    pub fn root(&self) -> &DataError {
        match self {
            DataError::Shared(inner) => inner.root(),
            other => other,
        }
    }
}

/// How many samples a dataset's training and test files must hold: the
/// published sizes in use, smaller ones in tests (a count that differs means
/// a wrong or truncated file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Training samples.
    pub train: usize,
    /// Test samples.
    pub test: usize,
}

/// Prediction targets of one split.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Classification: one class index in `0..n_classes` per sample.
    Classes(Vec<u32>),
    /// Regression: one real value per sample.
    Values(Vec<f32>),
}

impl Targets {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class indices, if this is a classification split.
    pub fn classes(&self) -> Option<&[u32]> {
        match self {
            Targets::Classes(c) => Some(c),
            Targets::Values(_) => None,
        }
    }

    /// The real values, if this is a regression split.
    pub fn values(&self) -> Option<&[f32]> {
        match self {
            Targets::Classes(_) => None,
            Targets::Values(v) => Some(v),
        }
    }
}

/// One split (training or test) of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitData {
    /// Row-major features, `len() * input_dim` values.
    pub features: Vec<f32>,
    /// One target per row.
    pub targets: Targets,
    /// Features per row.
    pub input_dim: usize,
}

impl SplitData {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True when the split has no samples.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The features of sample `i` (panics when `i >= len()`).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.input_dim..(i + 1) * self.input_dim]
    }

    /// The rows `idx`, in that order, as a split of their own.
    pub fn take_rows(&self, idx: &[usize]) -> SplitData {
        let features = idx
            .iter()
            .flat_map(|&i| self.row(i).iter().copied())
            .collect();
        let targets = match &self.targets {
            Targets::Classes(c) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(idx.iter().map(|&i| v[i]).collect()),
        };
        SplitData {
            features,
            targets,
            input_dim: self.input_dim,
        }
    }
}

/// Per-feature range of the inputs (training and test together).
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Smallest value of each feature.
    pub min: Vec<f32>,
    /// Largest value of each feature.
    pub max: Vec<f32>,
}

impl Bounds {
    /// The range of every feature over the given splits; `None` when empty.
    pub fn of(input_dim: usize, splits: &[&SplitData]) -> Option<Bounds> {
        let mut min = vec![f32::INFINITY; input_dim];
        let mut max = vec![f32::NEG_INFINITY; input_dim];
        let mut any = false;
        for s in splits {
            for row in s.features.chunks_exact(input_dim) {
                any = true;
                for (j, &v) in row.iter().enumerate() {
                    min[j] = min[j].min(v);
                    max[j] = max[j].max(v);
                }
            }
        }
        any.then_some(Bounds { min, max })
    }
}

/// A dataset in memory, ready for training: immutable once built.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The configuration it was built from.
    pub config: DatasetConfig,
    /// `mnist`, `xor`, `two_moons` or `identity`.
    pub name: &'static str,
    /// Features per sample.
    pub input_dim: usize,
    /// Classification (with the class count) or regression.
    pub task: Task,
    /// Class names, index = class (empty for regression).
    pub class_names: Vec<String>,
    /// Training split (without the validation rows).
    pub train: SplitData,
    /// Validation split: `validation_fraction` of the kind's training rows
    /// (empty without one).
    pub valid: SplitData,
    /// Test split.
    pub test: SplitData,
    /// Range of the inputs when `input_dim <= 2` (for decision-boundary
    /// grids and plots); `None` for MNIST.
    pub bounds: Option<Bounds>,
    /// Where the data came from: a directory, or `generated (data_seed N)`.
    pub origin: String,
}

impl Dataset {
    /// Assembles a dataset, filling in the derived fields from the config.
    pub(crate) fn new(
        config: &DatasetConfig,
        train: SplitData,
        valid: SplitData,
        test: SplitData,
        origin: String,
    ) -> Dataset {
        let input_dim = config.input_dim();
        let task = config.task();
        let class_names = match task {
            Task::Classification(n) => (0..n).map(|c| c.to_string()).collect(),
            Task::Regression => Vec::new(),
        };
        let bounds = if input_dim <= 2 {
            Bounds::of(input_dim, &[&train, &valid, &test])
        } else {
            None
        };
        Dataset {
            config: config.clone(),
            name: config.name(),
            input_dim,
            task,
            class_names,
            train,
            valid,
            test,
            bounds,
            origin,
        }
    }
}

type Slot = Arc<OnceLock<Result<Arc<Dataset>, Arc<DataError>>>>;

fn cache() -> &'static Mutex<HashMap<String, Slot>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The dataset for `config`, loaded once per process and shared.
///
/// Safe to call from many threads at once: the first caller for a given
/// config loads it while later callers block, then all get the same `Arc`.
/// A failure is remembered too (as [`DataError::Shared`]), so a sweep of many
/// jobs does not retry a failing download once per job. Loading uses no
/// rayon, so rayon workers blocked here cannot starve the loading thread.
pub fn load(config: &DatasetConfig) -> Result<Arc<Dataset>, DataError> {
    // The canonical JSON form identifies the config (it holds floats, so it
    // has no `Hash`); serializing our own plain types cannot fail.
    let key = serde_json::to_string(config).unwrap_or_else(|_| format!("{config:?}"));
    let slot = {
        // A poisoned lock only means another thread panicked while holding
        // it; the map itself is still consistent.
        let mut map = cache().lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().clone()
    };
    slot.get_or_init(|| load_uncached(config).map(Arc::new).map_err(Arc::new))
        .clone()
        .map_err(DataError::Shared)
}

/// Loads or generates the dataset for `config`, bypassing the cache.
pub fn load_uncached(config: &DatasetConfig) -> Result<Dataset, DataError> {
    let (rows, valid) = config.load_rows()?;
    Ok(Dataset::new(
        config,
        rows.train,
        valid,
        rows.test,
        rows.origin,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use xor::{Xor, XorVariant};

    fn xor(seed: u64) -> DatasetConfig {
        DatasetKindConfig::Xor(Xor {
            samples: 200,
            noise: 0.1,
            variant: XorVariant::Clusters,
            data_seed: seed,
            test_fraction: 0.2,
        })
        .into()
    }

    #[test]
    fn every_kind_that_takes_a_data_seed_holds_out_validation_rows_by_it() {
        // Regression: no kind passed its `data_seed` on, so every one held
        // out the rows that seed 0 chooses.
        for &name in DatasetConfig::NAMES {
            if !DatasetConfig::SCHEMA.keys_for(name).contains(&"data_seed") {
                continue;
            }
            let extra = match name {
                "table" => ", path = 'examples/data/digits.csv', target = 'label'",
                _ => "",
            };
            let loss = if name == "identity" {
                "mse"
            } else {
                "cross_entropy"
            };
            let text = format!(
                "[experiments.e]\nloss = '{loss}'\n\
                 dataset = {{ name = '{name}', data_seed = 7{extra} }}\n"
            );
            let sweep =
                crate::config::parse("t.toml", "t", &text).unwrap_or_else(|e| panic!("{e}"));
            let plan = crate::plan::Plan::new(&sweep).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(plan.jobs[0].config.dataset.kind.data_seed(), 7, "{name}");
        }
    }

    #[test]
    fn cache_shares_one_arc_across_threads() {
        let config = xor(4242);
        let loaded: Vec<Arc<Dataset>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| load(&config).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for d in &loaded[1..] {
            assert!(Arc::ptr_eq(&loaded[0], d));
        }
        let other = load(&xor(4243)).unwrap();
        assert!(!Arc::ptr_eq(&loaded[0], &other));
        assert_ne!(loaded[0].train, other.train);
    }

    #[test]
    fn failures_are_shared_and_keep_their_message() {
        let config: DatasetConfig = DatasetKindConfig::TwoMoons(two_moons::TwoMoons {
            samples: 10,
            noise: -1.0,
            data_seed: 0,
            test_fraction: 0.2,
        })
        .into();
        let a = load(&config).unwrap_err();
        let b = load(&config).unwrap_err();
        assert_eq!(a.to_string(), b.to_string());
        assert!(a.to_string().contains("noise"), "{a}");
        assert!(matches!(b.root(), DataError::InvalidParameter { .. }));
    }

    #[test]
    fn every_kind_plans_and_is_named_as_its_serialized_tag() {
        // The enum's serde tag is the variant's snake_case name; the sweep
        // file's name is the kind's NAME: they must be one.
        for &name in DatasetConfig::NAMES {
            // A kind that needs keys is planned on the repository's example table.
            let (default, dataset) = match crate::config::resolve::default_dataset(name) {
                Some(d) => (Some(d), format!("\"{name}\"")),
                None => (None, format!(
                    "{{ name = \"{name}\", path = \"examples/data/digits.csv\", target = \"label\" }}"
                )),
            };
            let loss = match default.as_ref().map(DatasetConfig::task) {
                Some(Task::Regression) => "mse",
                _ => "cross_entropy",
            };
            let text = format!(
                "[experiments.e]\ndataset = {dataset}\nloss = \"{loss}\"\nepochs = 0\nseeds = [0]\n"
            );
            let sweep =
                crate::config::parse("t.toml", "t", &text).unwrap_or_else(|e| panic!("{e}"));
            let plan = crate::plan::Plan::new(&sweep).unwrap_or_else(|e| panic!("{e}"));
            let job = &plan.jobs[0].config;
            if let Some(default) = default {
                assert_eq!(job.dataset, default);
            }
            assert_eq!(job.dataset.name(), name);
            let json = serde_json::to_value(&job.dataset).unwrap();
            assert_eq!(json["name"], name, "{json}");
            let back: DatasetConfig = serde_json::from_value(json).unwrap();
            assert_eq!(back.name(), name);
            assert_eq!(back.shape(), job.dataset.shape());
            assert!(DatasetConfig::ABOUT
                .iter()
                .any(|(n, about)| *n == name && !about.is_empty()));
        }
    }

    #[test]
    fn bounds_cover_every_row() {
        let s = SplitData {
            features: vec![0.0, 1.0, -2.0, 3.0, 0.5, -1.0],
            targets: Targets::Values(vec![0.0; 3]),
            input_dim: 2,
        };
        let b = Bounds::of(2, &[&s]).unwrap();
        assert_eq!(b.min, vec![-2.0, -1.0]);
        assert_eq!(b.max, vec![0.5, 3.0]);
        assert_eq!(s.row(1), &[-2.0, 3.0]);
        let empty = SplitData {
            features: vec![],
            targets: Targets::Values(vec![]),
            input_dim: 2,
        };
        assert_eq!(Bounds::of(2, &[&empty]), None);
    }
}
