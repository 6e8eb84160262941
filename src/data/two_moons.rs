//! `two_moons`: scikit-learn's `make_moons` (seed study 000): `samples / 2`
//! points on the outer half circle (cos t, sin t) with class 0 and the rest
//! on the inner one (1 - cos t, 1 - sin t - 0.5) with class 1, `t` evenly
//! spaced on [0, π], shuffled, plus Gaussian noise of std `noise`.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey, DATA_SEED, TEST_FRACTION};
use super::synthetic::{
    invalid, normal, origin, resolve_noise, shuffle_split, train_count, Common, NOISE, SAMPLES,
};
use super::{DataError, Targets};
use crate::config::job::{split_sizes, Task};

/// `two_moons`: its settings as resolved (the job id hashes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoMoons {
    /// Total samples (train + test).
    pub samples: usize,
    /// Gaussian noise standard deviation.
    pub noise: f64,
    /// Seed of the data.
    pub data_seed: u64,
    /// Held-out fraction.
    pub test_fraction: f64,
}

impl DatasetKind for TwoMoons {
    const NAME: &'static str = "two_moons";
    const ABOUT: &'static str = "two interleaving half circles in 2-D (scikit-learn's make_moons)";

    const KEYS: &'static [&'static TableKey] = &[&SAMPLES, &NOISE, &DATA_SEED, &TEST_FRACTION];

    fn resolve(check: &mut KeyCheck<'_, '_>) -> TwoMoons {
        let c = Common::resolve(check, 1000);
        TwoMoons {
            samples: c.samples,
            noise: resolve_noise(check, 0.2),
            data_seed: c.data_seed,
            test_fraction: c.test_fraction,
        }
    }

    fn shape(&self) -> Shape {
        let (train, test) = split_sizes(self.samples, self.test_fraction);
        Shape {
            input_dim: 2,
            task: Task::Classification(2),
            train,
            test,
        }
    }

    fn data_seed(&self) -> u64 {
        self.data_seed
    }

    fn load(&self) -> Result<Loaded, DataError> {
        let invalid = invalid(Self::NAME);
        let noise = normal(self.noise).map_err(&invalid)?;
        let n_train = train_count(self.samples, self.test_fraction).map_err(&invalid)?;
        let mut rng = StdRng::seed_from_u64(self.data_seed);
        let (x, y) = two_moons(self.samples, noise, &mut rng);
        let (train, test) = shuffle_split(x, y, 2, n_train, &mut rng);
        Ok(Loaded {
            train,
            test,
            origin: origin(self.data_seed),
        })
    }
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
