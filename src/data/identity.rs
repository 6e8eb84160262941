//! `identity`: regression of y = x on x ~ U(0, 1) (seed study 002, the
//! 1-2-1 net where ReLU dies).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey};
use super::synthetic::{invalid, origin, shuffle_split, train_count, Common, COMMON_KEYS};
use super::{DataError, Targets};
use crate::config::job::{split_sizes, Task};

/// `identity`: its settings as resolved (the job id hashes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Total samples (train + test).
    pub samples: usize,
    /// Seed of the data.
    pub data_seed: u64,
    /// Held-out fraction.
    pub test_fraction: f64,
}

impl DatasetKind for Identity {
    const NAME: &'static str = "identity";
    const ABOUT: &'static str = "regression of y = x on x ~ U(0, 1), one input";

    const KEYS: &'static [&'static TableKey] = &COMMON_KEYS;

    fn resolve(check: &mut KeyCheck<'_, '_>) -> Identity {
        let c = Common::resolve(check, 2000);
        Identity {
            samples: c.samples,
            data_seed: c.data_seed,
            test_fraction: c.test_fraction,
        }
    }

    fn shape(&self) -> Shape {
        let (train, test) = split_sizes(self.samples, self.test_fraction);
        Shape {
            input_dim: 1,
            task: Task::Regression,
            train,
            test,
        }
    }

    fn data_seed(&self) -> u64 {
        self.data_seed
    }

    fn load(&self) -> Result<Loaded, DataError> {
        let n_train = train_count(self.samples, self.test_fraction).map_err(invalid(Self::NAME))?;
        let mut rng = StdRng::seed_from_u64(self.data_seed);
        let x: Vec<f32> = (0..self.samples).map(|_| rng.gen::<f32>()).collect();
        let y = Targets::Values(x.clone());
        let (train, test) = shuffle_split(x, y, 1, n_train, &mut rng);
        Ok(Loaded {
            train,
            test,
            origin: origin(self.data_seed),
        })
    }
}
