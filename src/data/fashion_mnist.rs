//! `fashion_mnist`: Zalando's Fashion-MNIST, 28x28 grey images of clothing
//! in 10 classes, published as drop-in replacements of MNIST's four IDX
//! files. Its settings, loading and scaling are MNIST's ([`Mnist`]); its
//! files, digests (MD5 of each `.gz`, as Zalando publishes them) and mirror
//! are [`fetch::FASHION_MNIST`]'s, looked for in `$ACTSWEEP_DATA/fashion_mnist`
//! and `data/fashion_mnist`.

use serde::{Deserialize, Serialize};

use super::fetch;
use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey};
use super::mnist::{Mnist, IDX_KEYS};
use super::DataError;

/// `fashion_mnist`: MNIST's settings, resolved (the job id hashes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FashionMnist(pub Mnist);

impl DatasetKind for FashionMnist {
    const NAME: &'static str = "fashion_mnist";
    const ABOUT: &'static str = "Zalando's clothing images in MNIST's format: 28x28 grey pixels, \
                                 10 classes, 60,000 training and 10,000 test images";

    const KEYS: &'static [&'static TableKey] = IDX_KEYS;

    fn resolve(check: &mut KeyCheck<'_, '_>) -> FashionMnist {
        FashionMnist(Mnist::resolve_for(check, &fetch::FASHION_MNIST))
    }

    fn shape(&self) -> Shape {
        self.0.idx_shape()
    }

    fn load(&self) -> Result<Loaded, DataError> {
        self.0.load_set(&fetch::FASHION_MNIST)
    }
}
