//! Synthetic datasets: `xor` (study 001), `two_moons` (000), `identity` (002).
//!
//! Each one is a pure function of its [`DatasetConfig`]: the random numbers
//! come from a generator seeded with the dataset's own `data_seed` (never the
//! job's `seed`), so every job of a sweep trains and tests on identical data,
//! and the train/test split is a deterministic shuffle of it. Sizes always
//! agree with [`DatasetConfig::sizes`].
//!
//! Choices made here (also documented in `docs/datasets.md`):
//!
//! - `xor`, `clusters`: Gaussian clusters (std `noise`) around the four
//!   centres (±1, ±1), in equal numbers; the label is 1 when the centre's
//!   coordinates have different signs. The label is the cluster's, so at
//!   large noise a point that crosses an axis acts as label noise.
//! - `xor`, `four_points`: the corners of the unit square, {0, 1}², label
//!   `x xor y`, repeated to `samples` in both splits. Training copies get the
//!   Gaussian noise (none when `noise = 0`: the classic four-point problem);
//!   the test split holds the exact corners, so test accuracy says whether
//!   the network solves XOR itself.
//! - `two_moons`: scikit-learn's `make_moons`: `samples / 2` points on the
//!   outer half circle (cos t, sin t) with class 0 and the rest on the inner
//!   one (1 - cos t, 1 - sin t - 0.5) with class 1, `t` evenly spaced on
//!   [0, π], shuffled, plus Gaussian noise of std `noise`.
//! - `identity`: x ~ U(0, 1), target y = x (regression).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::{DataError, Dataset, SplitData, Targets};
use crate::config::job::{split_sizes, DatasetConfig, XorVariant};

/// Generates a synthetic dataset (`xor`, `two_moons`, `identity`).
///
/// Returns [`DataError::InvalidParameter`] for a negative or non-finite
/// `noise`, a `test_fraction` outside [0, 1], or a config that is not
/// synthetic.
pub fn generate(config: &DatasetConfig) -> Result<Dataset, DataError> {
    let name = config.name();
    let invalid = |reason: String| DataError::InvalidParameter {
        dataset: name,
        reason,
    };
    let (train, test, seed) = match *config {
        DatasetConfig::Xor {
            samples,
            noise,
            variant,
            data_seed,
            test_fraction,
        } => {
            let noise = normal(noise).map_err(invalid)?;
            let mut rng = StdRng::seed_from_u64(data_seed);
            let (train, test) = match variant {
                XorVariant::Clusters => {
                    let n_train = train_count(samples, test_fraction).map_err(invalid)?;
                    let (x, y) = xor_clusters(samples, noise, &mut rng);
                    shuffle_split(x, y, 2, n_train, &mut rng)
                }
                XorVariant::FourPoints => xor_four_points(samples, noise, &mut rng),
            };
            (train, test, data_seed)
        }
        DatasetConfig::TwoMoons {
            samples,
            noise,
            data_seed,
            test_fraction,
        } => {
            let noise = normal(noise).map_err(invalid)?;
            let n_train = train_count(samples, test_fraction).map_err(invalid)?;
            let mut rng = StdRng::seed_from_u64(data_seed);
            let (x, y) = two_moons(samples, noise, &mut rng);
            let (train, test) = shuffle_split(x, y, 2, n_train, &mut rng);
            (train, test, data_seed)
        }
        DatasetConfig::Identity {
            samples,
            data_seed,
            test_fraction,
        } => {
            let n_train = train_count(samples, test_fraction).map_err(invalid)?;
            let mut rng = StdRng::seed_from_u64(data_seed);
            let x: Vec<f32> = (0..samples).map(|_| rng.gen::<f32>()).collect();
            let y = Targets::Values(x.clone());
            let (train, test) = shuffle_split(x, y, 1, n_train, &mut rng);
            (train, test, data_seed)
        }
        DatasetConfig::Mnist { .. } => {
            return Err(invalid("MNIST is read from files, not generated".into()));
        }
    };
    let origin = format!("generated (data_seed {seed})");
    Ok(Dataset::new(config, train, test, origin))
}

/// The noise distribution, or why `noise` cannot be a standard deviation.
fn normal(noise: f64) -> Result<Normal<f64>, String> {
    if !noise.is_finite() || noise < 0.0 {
        return Err(format!("noise must be a finite number >= 0, got {noise}"));
    }
    Normal::new(0.0, noise).map_err(|e| format!("noise = {noise}: {e}"))
}

/// Training samples for a synthetic split, as [`split_sizes`] defines it.
fn train_count(samples: usize, test_fraction: f64) -> Result<usize, String> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(format!(
            "test_fraction must be in [0, 1], got {test_fraction}"
        ));
    }
    Ok(split_sizes(samples, test_fraction).0)
}

/// The XOR clusters in generation order (cluster `i % 4`), unshuffled.
fn xor_clusters(samples: usize, noise: Normal<f64>, rng: &mut StdRng) -> (Vec<f32>, Targets) {
    const CENTRES: [(f64, f64); 4] = [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)];
    let mut x = Vec::with_capacity(samples * 2);
    let mut y = Vec::with_capacity(samples);
    for i in 0..samples {
        let (cx, cy) = CENTRES[i % 4];
        x.push((cx + noise.sample(rng)) as f32);
        x.push((cy + noise.sample(rng)) as f32);
        y.push(u32::from((cx < 0.0) != (cy < 0.0)));
    }
    (x, Targets::Classes(y))
}

/// The four-point XOR: noisy shuffled training copies, exact test corners.
fn xor_four_points(samples: usize, noise: Normal<f64>, rng: &mut StdRng) -> (SplitData, SplitData) {
    const CORNERS: [(f64, f64); 4] = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)];
    let label = |(a, b): (f64, f64)| u32::from((a != 0.0) != (b != 0.0));
    let mut x = Vec::with_capacity(samples * 2);
    let mut y = Vec::with_capacity(samples);
    for i in 0..samples {
        let c = CORNERS[i % 4];
        x.push((c.0 + noise.sample(rng)) as f32);
        x.push((c.1 + noise.sample(rng)) as f32);
        y.push(label(c));
    }
    let (train, _) = shuffle_split(x, Targets::Classes(y), 2, samples, rng);
    let test = SplitData {
        features: (0..samples)
            .flat_map(|i| {
                let c = CORNERS[i % 4];
                [c.0 as f32, c.1 as f32]
            })
            .collect(),
        targets: Targets::Classes((0..samples).map(|i| label(CORNERS[i % 4])).collect()),
        input_dim: 2,
    };
    (train, test)
}

/// scikit-learn's `make_moons` in generation order (outer moon, then inner),
/// noise included; the caller shuffles. scikit-learn adds the noise after
/// shuffling: the distribution is the same, the numbers differ (as they
/// would anyway with another random generator).
fn two_moons(samples: usize, noise: Normal<f64>, rng: &mut StdRng) -> (Vec<f32>, Targets) {
    let n_out = samples / 2;
    let n_in = samples - n_out;
    let linspace = |n: usize, i: usize| {
        if n <= 1 {
            0.0
        } else {
            std::f64::consts::PI * i as f64 / (n - 1) as f64
        }
    };
    let mut x = Vec::with_capacity(samples * 2);
    let mut y = Vec::with_capacity(samples);
    for i in 0..n_out {
        let t = linspace(n_out, i);
        x.push((t.cos() + noise.sample(rng)) as f32);
        x.push((t.sin() + noise.sample(rng)) as f32);
        y.push(0);
    }
    for i in 0..n_in {
        let t = linspace(n_in, i);
        x.push((1.0 - t.cos() + noise.sample(rng)) as f32);
        x.push((1.0 - t.sin() - 0.5 + noise.sample(rng)) as f32);
        y.push(1);
    }
    (x, Targets::Classes(y))
}

/// Shuffles the rows with `rng` and puts the first `n_train` in training.
fn shuffle_split(
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
    use super::*;

    fn xor(variant: XorVariant, samples: usize, noise: f64, seed: u64) -> DatasetConfig {
        DatasetConfig::Xor {
            samples,
            noise,
            variant,
            data_seed: seed,
            test_fraction: 0.2,
        }
    }

    fn moons(samples: usize, seed: u64) -> DatasetConfig {
        DatasetConfig::TwoMoons {
            samples,
            noise: 0.2,
            data_seed: seed,
            test_fraction: 0.2,
        }
    }

    fn identity(samples: usize, seed: u64, test_fraction: f64) -> DatasetConfig {
        DatasetConfig::Identity {
            samples,
            data_seed: seed,
            test_fraction,
        }
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
        let c = DatasetConfig::TwoMoons {
            samples: 200,
            noise: 0.0,
            data_seed: 0,
            test_fraction: 0.2,
        };
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
