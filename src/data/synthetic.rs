//! What the generated datasets (`xor`, `two_moons`, `identity`) share: the
//! keys every one of them takes, the noise and split checks, and the
//! deterministic shuffle-and-split.
//!
//! Each one is a pure function of its settings: the random numbers come
//! from a generator seeded with the dataset's own `data_seed` (never the
//! job's `seed`), so every job of a sweep trains and tests on identical
//! data, and the train/test split is a deterministic shuffle of it. Sizes
//! always agree with the kind's [`Shape`](super::kind::Shape).
//!
//! Choices made by each kind are in its own file and in `docs/datasets.md`.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand_distr::Normal;

use super::kind::{KeyCheck, TableKey, DATA_SEED, TEST_FRACTION};
use super::{DataError, SplitData, Targets};
use crate::config::job::split_sizes;
use crate::config::resolve::{Bounds, MAX_COUNT};
use crate::config::schema::table_key;

table_key! {
    /// Number of samples, train and test together, at least 2.
    /// Default: 1000 (xor, two_moons), 2000 (identity).
    pub SAMPLES = "samples", example "samples = 500"
}

table_key! {
    /// Standard deviation of the Gaussian noise, >= 0. Default: 0.2 (two_moons), 0.1 (xor).
    pub NOISE = "noise", example "noise = 0.3"
}

/// The keys every generated dataset takes.
pub const COMMON_KEYS: [&TableKey; 3] = [&SAMPLES, &DATA_SEED, &TEST_FRACTION];

/// The keys every generated dataset takes, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Common {
    pub samples: usize,
    pub data_seed: u64,
    pub test_fraction: f64,
}

impl Common {
    /// `samples` (this kind's default when unset), `data_seed` and `test_fraction`.
    pub(super) fn resolve(check: &mut KeyCheck<'_, '_>, default_samples: i64) -> Common {
        Common {
            samples: check.int(&SAMPLES, default_samples, 2..=MAX_COUNT) as usize,
            data_seed: check.int(&DATA_SEED, 0, 0..=i64::MAX) as u64,
            test_fraction: check.num(&TEST_FRACTION, 0.2, Bounds::above(0.0).below(1.0)),
        }
    }
}

/// The `noise` key, `default` when unset.
pub(super) fn resolve_noise(check: &mut KeyCheck<'_, '_>, default: f64) -> f64 {
    check.num(&NOISE, default, Bounds::at_least(0.0))
}

/// The error of a generated dataset `name` whose setting cannot be used.
pub(super) fn invalid(name: &'static str) -> impl Fn(String) -> DataError {
    move |reason| DataError::InvalidParameter {
        dataset: name,
        reason,
    }
}

/// Where generated rows come from, as [`Loaded::origin`](super::kind::Loaded::origin) says it.
pub(super) fn origin(data_seed: u64) -> String {
    format!("generated (data_seed {data_seed})")
}

/// The noise distribution, or why `noise` cannot be a standard deviation.
pub(super) fn normal(noise: f64) -> Result<Normal<f64>, String> {
    if !noise.is_finite() || noise < 0.0 {
        return Err(format!("noise must be a finite number >= 0, got {noise}"));
    }
    Normal::new(0.0, noise).map_err(|e| format!("noise = {noise}: {e}"))
}

/// Training samples for a synthetic split, as [`split_sizes`] defines it.
pub(super) fn train_count(samples: usize, test_fraction: f64) -> Result<usize, String> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(format!(
            "test_fraction must be in [0, 1], got {test_fraction}"
        ));
    }
    Ok(split_sizes(samples, test_fraction).0)
}

/// Shuffles the rows with `rng` and puts the first `n_train` in training.
pub(super) fn shuffle_split(
    x: Vec<f32>,
    y: Targets,
    dim: usize,
    n_train: usize,
    rng: &mut StdRng,
) -> (SplitData, SplitData) {
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let (train_idx, test_idx) = order.split_at(n_train.min(n));
    let take = |idx: &[usize]| -> SplitData {
        let features = idx
            .iter()
            .flat_map(|&i| x[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let targets = match &y {
            Targets::Classes(c) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(idx.iter().map(|&i| v[i]).collect()),
        };
        SplitData {
            features,
            targets,
            input_dim: dim,
        }
    };
    (take(train_idx), take(test_idx))
}

#[cfg(test)]
mod tests {
    //! The three generated kinds through the one entry point every job uses.

    use crate::data::identity::Identity;
    use crate::data::two_moons::TwoMoons;
    use crate::data::xor::{Xor, XorVariant};
    use crate::data::{load_uncached as generate, DatasetConfig, DatasetKindConfig};

    fn xor(variant: XorVariant, samples: usize, noise: f64, seed: u64) -> DatasetConfig {
        DatasetKindConfig::Xor(Xor {
            samples,
            noise,
            variant,
            data_seed: seed,
            test_fraction: 0.2,
        })
        .into()
    }

    fn moons(samples: usize, seed: u64) -> DatasetConfig {
        DatasetKindConfig::TwoMoons(TwoMoons {
            samples,
            noise: 0.2,
            data_seed: seed,
            test_fraction: 0.2,
        })
        .into()
    }

    fn identity(samples: usize, seed: u64, test_fraction: f64) -> DatasetConfig {
        DatasetKindConfig::Identity(Identity {
            samples,
            data_seed: seed,
            test_fraction,
        })
        .into()
    }

    fn all_configs() -> Vec<DatasetConfig> {
        vec![
            xor(XorVariant::Clusters, 1000, 0.1, 0),
            xor(XorVariant::Clusters, 7, 0.5, 3),
            xor(XorVariant::FourPoints, 12, 0.1, 0),
            xor(XorVariant::FourPoints, 4, 0.0, 0),
            moons(1000, 0),
            moons(11, 9),
            identity(2000, 0, 0.2),
            identity(10, 1, 0.25),
            identity(5, 1, 1.0),
            identity(5, 1, 0.0),
        ]
    }

    #[test]
    fn sizes_match_the_config() {
        for c in all_configs() {
            let d = generate(&c).unwrap();
            let (train, test) = c.sizes();
            assert_eq!((d.train.len(), d.test.len()), (train, test), "{c:?}");
            assert_eq!(d.train.features.len(), train * c.input_dim(), "{c:?}");
            assert_eq!(d.test.features.len(), test * c.input_dim(), "{c:?}");
            assert_eq!(d.input_dim, c.input_dim());
            assert_eq!(d.task, c.task());
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        for c in all_configs() {
            let a = generate(&c).unwrap();
            let b = generate(&c).unwrap();
            assert_eq!(a, b, "{c:?}");
        }
        let pairs = [
            (
                xor(XorVariant::Clusters, 100, 0.1, 0),
                xor(XorVariant::Clusters, 100, 0.1, 1),
            ),
            (
                xor(XorVariant::FourPoints, 100, 0.1, 0),
                xor(XorVariant::FourPoints, 100, 0.1, 1),
            ),
            (moons(100, 0), moons(100, 1)),
            (identity(100, 0, 0.2), identity(100, 1, 0.2)),
        ];
        for (a, b) in pairs {
            assert_ne!(
                generate(&a).unwrap().train,
                generate(&b).unwrap().train,
                "{a:?}"
            );
        }
    }

    #[test]
    fn xor_clusters_label_is_xor_of_quadrant_signs() {
        let d = generate(&xor(XorVariant::Clusters, 1000, 0.1, 0)).unwrap();
        let mut per_quadrant = [0usize; 4];
        for split in [&d.train, &d.test] {
            let labels = split.targets.classes().unwrap();
            for (i, &label) in labels.iter().enumerate() {
                let r = split.row(i);
                let (px, py) = (r[0] > 0.0, r[1] > 0.0);
                assert_eq!(label, u32::from(px != py), "row {r:?}");
                // Near its centre (±1, ±1) at noise 0.1.
                assert!(
                    (r[0].abs() - 1.0).abs() < 0.7 && (r[1].abs() - 1.0).abs() < 0.7,
                    "{r:?}"
                );
                per_quadrant[usize::from(px) * 2 + usize::from(py)] += 1;
            }
        }
        assert_eq!(per_quadrant, [250; 4]);
    }

    #[test]
    fn xor_four_points_tests_on_exact_corners() {
        let d = generate(&xor(XorVariant::FourPoints, 8, 0.1, 0)).unwrap();
        let test_labels = d.test.targets.classes().unwrap();
        assert_eq!(test_labels.len(), 8);
        for (i, &label) in test_labels.iter().enumerate() {
            let r = d.test.row(i);
            assert!(r.iter().all(|&v| v == 0.0 || v == 1.0), "{r:?}");
            assert_eq!(label, u32::from(r[0] != r[1]));
        }
        let train_labels = d.train.targets.classes().unwrap();
        assert_eq!(train_labels.iter().filter(|&&l| l == 1).count(), 4);
        // Noisy copies of the corners: the nearest corner gives the label.
        for (i, &label) in train_labels.iter().enumerate() {
            let r = d.train.row(i);
            assert!(
                r.iter().any(|&v| v != 0.0 && v != 1.0),
                "{r:?} has no noise"
            );
            let (a, b) = (r[0] > 0.5, r[1] > 0.5);
            assert_eq!(label, u32::from(a != b));
        }
        let exact = generate(&xor(XorVariant::FourPoints, 4, 0.0, 0)).unwrap();
        let mut rows: Vec<Vec<f32>> = (0..4).map(|i| exact.train.row(i).to_vec()).collect();
        rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            rows,
            vec![
                vec![0.0, 0.0],
                vec![0.0, 1.0],
                vec![1.0, 0.0],
                vec![1.0, 1.0]
            ]
        );
    }

    #[test]
    fn two_moons_is_balanced_and_on_the_moons() {
        for n in [1000, 11] {
            let d = generate(&moons(n, 0)).unwrap();
            let ones: usize = [&d.train, &d.test]
                .iter()
                .map(|s| {
                    s.targets
                        .classes()
                        .unwrap()
                        .iter()
                        .filter(|&&c| c == 1)
                        .count()
                })
                .sum();
            assert_eq!(ones, n - n / 2);
        }
        // Without noise every point lies on its half circle.
        let c: DatasetConfig = DatasetKindConfig::TwoMoons(TwoMoons {
            samples: 200,
            noise: 0.0,
            data_seed: 0,
            test_fraction: 0.2,
        })
        .into();
        let d = generate(&c).unwrap();
        let labels = d.train.targets.classes().unwrap();
        for (i, &l) in labels.iter().enumerate() {
            let r = d.train.row(i);
            let (cx, cy) = if l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let radius = ((r[0] - cx).powi(2) + (r[1] - cy).powi(2)).sqrt();
            assert!((radius - 1.0).abs() < 1e-5, "{r:?} class {l}");
            assert!(
                if l == 0 {
                    r[1] >= -1e-6
                } else {
                    r[1] <= 0.5 + 1e-6
                },
                "{r:?}"
            );
        }
        let b = d.bounds.unwrap();
        assert!(b.min[0] >= -1.0 - 1e-6 && b.max[0] <= 2.0 + 1e-6);
    }

    #[test]
    fn two_moons_split_is_shuffled() {
        let d = generate(&moons(1000, 0)).unwrap();
        let train = d.train.targets.classes().unwrap();
        // Unshuffled, the first 800 would hold all 500 of class 0.
        let zeros = train.iter().filter(|&&c| c == 0).count();
        assert!(zeros < 500 && zeros > 300, "{zeros}");
    }

    #[test]
    fn identity_targets_equal_inputs() {
        let d = generate(&identity(2000, 0, 0.2)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (1600, 400));
        for s in [&d.train, &d.test] {
            assert_eq!(s.targets.values().unwrap(), &s.features[..]);
            assert!(s.features.iter().all(|&v| (0.0..1.0).contains(&v)));
        }
        let b = d.bounds.unwrap();
        assert!(b.min[0] < 0.01 && b.max[0] > 0.99);
        assert_eq!(d.task, crate::config::job::Task::Regression);
        assert!(d.class_names.is_empty());
    }

    #[test]
    fn bad_parameters_are_errors() {
        for noise in [-0.1, f64::NAN, f64::INFINITY] {
            let e = generate(&xor(XorVariant::Clusters, 10, noise, 0)).unwrap_err();
            assert!(
                e.to_string().contains("noise must be a finite number >= 0"),
                "{e}"
            );
        }
        let e = generate(&identity(10, 0, 1.5)).unwrap_err();
        assert!(
            e.to_string().contains("test_fraction must be in [0, 1]"),
            "{e}"
        );
    }
}
