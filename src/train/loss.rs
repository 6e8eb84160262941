//! Losses: the targets the network is trained against, the training loss as
//! a dfdx op, and the same loss evaluated on the host for the metrics.
//!
//! Training uses dfdx's loss functions so that their gradients come from the
//! tape. Evaluation runs over whole splits in chunks and sums in `f64` on the
//! host, where it also needs the predictions for accuracy; a unit test holds
//! the two implementations to each other.

use dfdx::losses::{
    binary_cross_entropy_with_logits_loss, cross_entropy_with_logits_loss, huber_loss, mae_loss,
    mse_loss,
};
use dfdx::shapes::Rank0;
use dfdx::tensor::{Tape, Tensor};
use dfdx::tensor_ops::Device;

use crate::config::job::LossConfig;
use crate::data::Targets;

/// Row-major target matrix for rows `idx` of a split, shaped like the
/// network's output (`out_dim` columns): one-hot classes for several
/// outputs, the class (0 or 1) or the value for a single output.
pub fn targets(targets: &Targets, idx: &[usize], out_dim: usize, buf: &mut Vec<f32>) {
    buf.clear();
    buf.resize(idx.len() * out_dim, 0.0);
    match targets {
        Targets::Classes(c) => {
            for (r, &i) in idx.iter().enumerate() {
                let k = c[i] as usize;
                if out_dim == 1 {
                    buf[r] = k as f32;
                } else if k < out_dim {
                    buf[r * out_dim + k] = 1.0;
                }
            }
        }
        Targets::Values(v) => {
            for (r, &i) in idx.iter().enumerate() {
                for o in 0..out_dim {
                    buf[r * out_dim + o] = v[i];
                }
            }
        }
    }
}

/// The training loss of one batch, as a dfdx op on the tape.
pub fn train_loss<D, T>(
    loss: LossConfig,
    out: Tensor<(usize, usize), f32, D, T>,
    targ: Tensor<(usize, usize), f32, D>,
) -> Tensor<Rank0, f32, D, T>
where
    D: Device<f32>,
    T: Tape<f32, D>,
{
    match loss {
        LossConfig::CrossEntropy => cross_entropy_with_logits_loss(out, targ),
        LossConfig::Bce => binary_cross_entropy_with_logits_loss(out, targ),
        LossConfig::Mse => mse_loss(out, targ),
        LossConfig::Mae => mae_loss(out, targ),
        LossConfig::Huber { delta } => huber_loss(out, targ, delta),
    }
}

/// Sums over a split, accumulated chunk by chunk.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Sum of per-sample losses.
    loss: f64,
    /// Correct predictions (classification).
    correct: u64,
    /// Sum of absolute errors over outputs (regression).
    abs_err: f64,
    /// Sum of squared errors over outputs (regression).
    sq_err: f64,
    /// Outputs exactly zero.
    zeros: u64,
    /// Samples seen.
    n: u64,
    /// Output values seen (samples × outputs).
    values: u64,
}

impl Totals {
    /// Adds a chunk: `out` and `targ` row-major `rows × out_dim`, `classes`
    /// the class of each row for classification.
    pub fn add(
        &mut self,
        loss: LossConfig,
        out: &[f32],
        targ: &[f32],
        out_dim: usize,
        classes: Option<&[u32]>,
    ) {
        let rows = out.len() / out_dim.max(1);
        for r in 0..rows {
            let o = &out[r * out_dim..(r + 1) * out_dim];
            let t = &targ[r * out_dim..(r + 1) * out_dim];
            self.loss += sample_loss(loss, o, t);
            for (&o, &t) in o.iter().zip(t) {
                let d = o as f64 - t as f64;
                self.abs_err += d.abs();
                self.sq_err += d * d;
                self.zeros += (o == 0.0) as u64;
            }
            if let Some(c) = classes {
                let pred = if out_dim == 1 {
                    let threshold = if matches!(loss, LossConfig::Bce) {
                        0.0
                    } else {
                        0.5
                    };
                    (o[0] > threshold) as u32
                } else {
                    argmax(o) as u32
                };
                self.correct += (pred == c[r]) as u64;
            }
        }
        self.n += rows as u64;
        self.values += (rows * out_dim) as u64;
    }

    /// Mean loss, with the reduction dfdx's training loss uses.
    pub fn loss(&self, loss: LossConfig) -> f64 {
        match loss {
            // Cross entropy and BCE average over samples (BCE has one output
            // when it is used here); the regression losses over all outputs.
            LossConfig::CrossEntropy => self.loss / self.n.max(1) as f64,
            _ => self.loss / self.values.max(1) as f64,
        }
    }

    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }

    /// Mean absolute error over outputs.
    pub fn mae(&self) -> f64 {
        self.abs_err / self.values.max(1) as f64
    }

    /// Mean squared error over outputs.
    pub fn mse(&self) -> f64 {
        self.sq_err / self.values.max(1) as f64
    }

    /// Fraction of outputs exactly zero.
    pub fn zero_fraction(&self) -> f64 {
        self.zeros as f64 / self.values.max(1) as f64
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// The loss of one sample, summed over its outputs (cross entropy: over the classes).
fn sample_loss(loss: LossConfig, o: &[f32], t: &[f32]) -> f64 {
    match loss {
        LossConfig::CrossEntropy => {
            let m = o.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            let lse = m + o.iter().map(|&z| (z as f64 - m).exp()).sum::<f64>().ln();
            o.iter()
                .zip(t)
                .map(|(&z, &t)| t as f64 * (lse - z as f64))
                .sum()
        }
        LossConfig::Bce => o
            .iter()
            .zip(t)
            .map(|(&z, &t)| {
                let (z, t) = (z as f64, t as f64);
                z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()
            })
            .sum(),
        LossConfig::Mse => o
            .iter()
            .zip(t)
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum(),
        LossConfig::Mae => o
            .iter()
            .zip(t)
            .map(|(&a, &b)| (a as f64 - b as f64).abs())
            .sum(),
        LossConfig::Huber { delta } => o
            .iter()
            .zip(t)
            .map(|(&a, &b)| {
                let d = (a as f64 - b as f64).abs();
                if d < delta {
                    0.5 * d * d
                } else {
                    delta * (d - 0.5 * delta)
                }
            })
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::tensor::{Cpu, TensorFromVec};

    #[test]
    fn host_loss_matches_dfdx_loss() {
        let dev = Cpu::default();
        let out = vec![0.3f32, -1.2, 2.0, 0.0, 0.7, -0.4];
        let cases: [(LossConfig, Vec<f32>); 5] = [
            (LossConfig::CrossEntropy, vec![0., 1., 0., 1., 0., 0.]),
            (LossConfig::Bce, vec![1., 0., 1., 0., 1., 0.]),
            (LossConfig::Mse, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
            (LossConfig::Mae, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
            (
                LossConfig::Huber { delta: 0.5 },
                vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            ),
        ];
        for (loss, targ) in cases {
            let (rows, cols) = if matches!(loss, LossConfig::CrossEntropy) {
                (2, 3)
            } else {
                (6, 1)
            };
            let o = dev.tensor_from_vec(out.clone(), (rows, cols));
            let t = dev.tensor_from_vec(targ.clone(), (rows, cols));
            let want = train_loss(loss, o, t).as_vec()[0] as f64;
            let mut tot = Totals::default();
            tot.add(loss, &out, &targ, cols, None);
            let got = tot.loss(loss);
            assert!(
                (got - want).abs() < 1e-5,
                "{}: host {got}, dfdx {want}",
                loss.name()
            );
        }
    }

    #[test]
    fn one_hot_and_binary_targets() {
        let t = Targets::Classes(vec![2, 0, 1]);
        let mut buf = Vec::new();
        targets(&t, &[0, 2], 3, &mut buf);
        assert_eq!(buf, vec![0., 0., 1., 0., 1., 0.]);
        targets(&t, &[2, 1], 1, &mut buf);
        assert_eq!(buf, vec![1., 0.]);
    }

    #[test]
    fn accuracy_uses_the_right_threshold() {
        let mut tot = Totals::default();
        // BCE logits: > 0 means class 1.
        tot.add(LossConfig::Bce, &[0.2, -0.2], &[1., 0.], 1, Some(&[1, 0]));
        assert_eq!(tot.accuracy(), 1.0);
        let mut tot = Totals::default();
        // MSE on a 0/1 target: > 0.5 means class 1.
        tot.add(LossConfig::Mse, &[0.2, 0.9], &[0., 1.], 1, Some(&[0, 1]));
        assert_eq!(tot.accuracy(), 1.0);
    }
}
