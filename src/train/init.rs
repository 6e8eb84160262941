//! Initial weights: the schemes the seed studies compare, drawn so that two
//! jobs that differ only in activation start from identical weights.
//!
//! Every layer draws from its own generator, seeded from the job's seed and
//! the layer's index alone, so the weights depend only on the seed, the layer
//! shapes and the scheme: not on the activation, the optimizer, the order in
//! which jobs run, or anything drawn before. Seeds 001 and 002 compare
//! activations from one starting point; this is what makes that true.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Uniform};

use crate::config::job::Init;

/// Purposes of the generators derived from a job's seed, kept apart so that
/// adding a use of randomness never shifts another.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// The initial weights of layer `i` (0-based).
    Layer(u64),
    /// The order of training samples, per epoch.
    Order,
    /// The dropout masks (the dfdx device's generator).
    Dropout,
}

/// A 64-bit seed for one purpose of one job (SplitMix64 finaliser over the
/// seed and the purpose).
pub(crate) fn derive_seed(seed: u64, stream: Stream) -> u64 {
    let tag = match stream {
        Stream::Layer(i) => 0x1000 + i,
        Stream::Order => 0x2000,
        Stream::Dropout => 0x3000,
    };
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(tag.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for one purpose of one job.
pub(crate) fn rng(seed: u64, stream: Stream) -> StdRng {
    StdRng::seed_from_u64(derive_seed(seed, stream))
}

/// Initial weights (row-major `fan_in × fan_out`, so `y = x · W`) and biases
/// of layer `index`.
///
/// `bias_init` sets every bias, except for `torch_default`, which draws the
/// biases like PyTorch's `nn.Linear` (uniform in ±1/√fan_in).
pub fn layer(
    init: Init,
    seed: u64,
    index: usize,
    fan_in: usize,
    fan_out: usize,
    bias_init: f64,
) -> (Vec<f32>, Vec<f32>) {
    let mut rng = rng(seed, Stream::Layer(index as u64));
    let n = fan_in * fan_out;
    let (fi, fo) = (fan_in as f64, fan_out as f64);
    let normal = |std: f64, rng: &mut StdRng| -> Vec<f32> {
        // `std` is finite and positive for any positive fan.
        let d =
            Normal::new(0.0, std).unwrap_or_else(|_| Normal::new(0.0, 1.0).expect("unit normal"));
        (0..n).map(|_| d.sample(rng) as f32).collect()
    };
    let uniform = |bound: f64, rng: &mut StdRng| -> Vec<f32> {
        let d = Uniform::new_inclusive(-bound, bound);
        (0..n).map(|_| d.sample(rng) as f32).collect()
    };
    let w = match init {
        Init::HeNormal => normal((2.0 / fi).sqrt(), &mut rng),
        Init::HeUniform => uniform((6.0 / fi).sqrt(), &mut rng),
        Init::XavierNormal => normal((2.0 / (fi + fo)).sqrt(), &mut rng),
        Init::XavierUniform => uniform((6.0 / (fi + fo)).sqrt(), &mut rng),
        Init::LecunNormal => normal((1.0 / fi).sqrt(), &mut rng),
        Init::TorchDefault => uniform(1.0 / fi.sqrt(), &mut rng),
        Init::UnitNorm => {
            let mut w = normal(1.0, &mut rng);
            for j in 0..fan_out {
                let norm: f64 = (0..fan_in)
                    .map(|i| (w[i * fan_out + j] as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if norm > 0.0 {
                    for i in 0..fan_in {
                        w[i * fan_out + j] = (w[i * fan_out + j] as f64 / norm) as f32;
                    }
                }
            }
            w
        }
    };
    let b = match init {
        Init::TorchDefault => {
            let bound = 1.0 / fi.sqrt();
            (0..fan_out)
                .map(|_| rng.gen_range(-bound..=bound) as f32)
                .collect()
        }
        _ => vec![bias_init as f32; fan_out],
    };
    (w, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_of(v: &[f32]) -> f64 {
        let n = v.len() as f64;
        let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        (v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn schemes_have_their_documented_spread() {
        let (fi, fo) = (400, 300);
        let cases = [
            (Init::HeNormal, (2.0 / 400.0f64).sqrt()),
            (Init::HeUniform, (2.0 / 400.0f64).sqrt()),
            (Init::XavierNormal, (2.0 / 700.0f64).sqrt()),
            (Init::XavierUniform, (2.0 / 700.0f64).sqrt()),
            (Init::LecunNormal, (1.0 / 400.0f64).sqrt()),
            (Init::TorchDefault, (1.0 / 1200.0f64).sqrt()),
        ];
        for (init, want) in cases {
            let (w, _) = layer(init, 7, 0, fi, fo, 0.0);
            let got = std_of(&w);
            assert!(
                (got / want - 1.0).abs() < 0.02,
                "{init}: std {got}, want {want}"
            );
        }
    }

    #[test]
    fn unit_norm_columns_have_norm_one() {
        let (w, _) = layer(Init::UnitNorm, 3, 1, 20, 5, 0.0);
        for j in 0..5 {
            let n: f64 = (0..20).map(|i| (w[i * 5 + j] as f64).powi(2)).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn weights_depend_on_seed_and_layer_only() {
        let a = layer(Init::HeNormal, 1, 0, 8, 4, 0.01);
        assert_eq!(a, layer(Init::HeNormal, 1, 0, 8, 4, 0.01));
        assert_ne!(a.0, layer(Init::HeNormal, 2, 0, 8, 4, 0.01).0);
        assert_ne!(a.0, layer(Init::HeNormal, 1, 1, 8, 4, 0.01).0);
        assert_eq!(a.1, vec![0.01f32; 4]);
    }

    #[test]
    fn streams_are_distinct() {
        let s: Vec<u64> = [
            Stream::Layer(0),
            Stream::Layer(1),
            Stream::Order,
            Stream::Dropout,
        ]
        .into_iter()
        .map(|st| derive_seed(0, st))
        .collect();
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                assert_ne!(s[i], s[j]);
            }
        }
    }
}
