//! `kmnist`: Kuzushiji-MNIST, 28x28 grey images of cursive Japanese
//! characters in 10 classes, published as drop-in replacements of MNIST's
//! four IDX files. Its settings, loading and scaling are MNIST's ([`Mnist`]);
//! its files, digests and mirror are [`fetch::KMNIST`]'s, looked for in
//! `$ACTSWEEP_DATA/kmnist` and `data/kmnist`.

use serde::{Deserialize, Serialize};

use super::fetch;
use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey};
use super::mnist::{Mnist, IDX_KEYS};
use super::DataError;

/// `kmnist`: MNIST's settings, resolved (the job id hashes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Kmnist(pub Mnist);

impl DatasetKind for Kmnist {
    const NAME: &'static str = "kmnist";
    const ABOUT: &'static str = "Kuzushiji (cursive Japanese) characters in MNIST's format: 28x28 \
                                 grey pixels, 10 classes, 60,000 training and 10,000 test images";

    const KEYS: &'static [&'static TableKey] = IDX_KEYS;

    fn resolve(check: &mut KeyCheck<'_, '_>) -> Kmnist {
        Kmnist(Mnist::resolve_for(check, &fetch::KMNIST))
    }

    fn shape(&self) -> Shape {
        self.0.idx_shape()
    }

    fn load(&self) -> Result<Loaded, DataError> {
        self.0.load_set(&fetch::KMNIST)
    }
}
