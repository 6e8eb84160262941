//! `xor`: binary XOR in 2-D (seed study 001).
//!
//! - `clusters`: Gaussian clusters (std `noise`) around the four centres
//!   (±1, ±1), in equal numbers; the label is 1 when the centre's
//!   coordinates have different signs. The label is the cluster's, so at
//!   large noise a point that crosses an axis acts as label noise.
//! - `four_points`: the corners of the unit square, {0, 1}², label
//!   `x xor y`, repeated to `samples` in both splits. Training copies get the
//!   Gaussian noise (none when `noise = 0`: the classic four-point problem);
//!   the test split holds the exact corners, so test accuracy says whether
//!   the network solves XOR itself.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey};
use super::synthetic::{
    invalid, normal, origin, resolve_noise, shuffle_split, train_count, Common, NOISE, SAMPLES,
};
use super::{DataError, SplitData, Targets};
use crate::config::job::{split_sizes, Task};
use crate::config::schema::table_key;
use crate::data::kind::{DATA_SEED, TEST_FRACTION};

table_key! {
    /// `"clusters"` (noisy clusters around the four corners) or `"four_points"`. Default: `"clusters"`.
    pub VARIANT = "variant", example "variant = 'four_points'"
}

/// `xor`: its settings as resolved (the job id hashes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Xor {
    /// Total samples (train + test).
    pub samples: usize,
    /// Gaussian noise standard deviation.
    pub noise: f64,
    /// Clusters or the four points.
    pub variant: XorVariant,
    /// Seed of the data.
    pub data_seed: u64,
    /// Held-out fraction.
    pub test_fraction: f64,
}

/// XOR dataset variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XorVariant {
    /// Gaussian clusters around (±1, ±1), label = sign(x) xor sign(y).
    Clusters,
    /// The four corners of the unit square, repeated to `samples`.
    FourPoints,
}

impl DatasetKind for Xor {
    const NAME: &'static str = "xor";
    const ABOUT: &'static str =
        "binary XOR in 2-D: noisy clusters around (±1, ±1), or the four corners of the unit square";

    const KEYS: &'static [&'static TableKey] =
        &[&SAMPLES, &NOISE, &VARIANT, &DATA_SEED, &TEST_FRACTION];

    fn resolve(check: &mut KeyCheck<'_, '_>) -> Xor {
        let c = Common::resolve(check, 1000);
        let noise = resolve_noise(check, 0.1);
        let variant = check.choice(
            &VARIANT,
            &[
                ("clusters", XorVariant::Clusters),
                ("four_points", XorVariant::FourPoints),
            ],
            XorVariant::Clusters,
        );
        Xor {
            samples: c.samples,
            noise,
            variant,
            data_seed: c.data_seed,
            test_fraction: c.test_fraction,
        }
    }

    fn shape(&self) -> Shape {
        let (train, test) = match self.variant {
            XorVariant::FourPoints => (self.samples, self.samples),
            XorVariant::Clusters => split_sizes(self.samples, self.test_fraction),
        };
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
        let mut rng = StdRng::seed_from_u64(self.data_seed);
        let (train, test) = match self.variant {
            XorVariant::Clusters => {
                let n_train = train_count(self.samples, self.test_fraction).map_err(&invalid)?;
                let (x, y) = xor_clusters(self.samples, noise, &mut rng);
                shuffle_split(x, y, 2, n_train, &mut rng)
            }
            XorVariant::FourPoints => xor_four_points(self.samples, noise, &mut rng),
        };
        Ok(Loaded {
            train,
            test,
            origin: origin(self.data_seed),
        })
    }
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
