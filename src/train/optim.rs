//! Optimizers, updating parameters in place on host buffers.
//!
//! Each parameter keeps a host copy that is the source of truth; the engine
//! reads the gradient from dfdx's `Gradients` (without a copy on the CPU),
//! updates the host copy and the optimizer state in one pass, and writes the
//! new values back into the dfdx tensor. The update rules follow PyTorch's
//! (`torch.optim.SGD`, `Adam`, `AdamW`, `RMSprop`) so that runs compare with
//! `../shared/bench/torch_reference.py` and with the seed studies, which used
//! PyTorch or Keras.

use crate::config::job::OptimizerConfig;

/// Per-parameter optimizer state.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// First moment (Adam), momentum buffer (SGD, RMSprop).
    m: Vec<f32>,
    /// Second moment (Adam), running square average (RMSprop).
    v: Vec<f32>,
}

/// An optimizer: the configuration and the step count.
#[derive(Debug, Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    step: u64,
}

impl Optimizer {
    /// A fresh optimizer.
    pub fn new(config: OptimizerConfig) -> Optimizer {
        Optimizer { config, step: 0 }
    }

    /// Starts a step: call once before updating the parameters of one batch.
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Updates `w` in place from gradient `g`, returning the squared L2 norm
    /// of `g` (before weight decay) for the diagnostics.
    pub fn update(&self, w: &mut [f32], g: &[f32], state: &mut State) -> f64 {
        assert_eq!(w.len(), g.len(), "parameter and gradient differ in length");
        let n = w.len();
        let mut sq = 0.0f64;
        match self.config {
            OptimizerConfig::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
            } => {
                let (lr, mu, wd) = (lr as f32, momentum as f32, weight_decay as f32);
                if mu == 0.0 {
                    for (w, &g) in w.iter_mut().zip(g) {
                        sq += (g as f64) * (g as f64);
                        *w -= lr * (g + wd * *w);
                    }
                } else {
                    let first = state.m.is_empty();
                    if first {
                        state.m = vec![0.0; n];
                    }
                    for ((w, &g), b) in w.iter_mut().zip(g).zip(&mut state.m) {
                        sq += (g as f64) * (g as f64);
                        let g = g + wd * *w;
                        // PyTorch starts the buffer at the first gradient.
                        *b = if first { g } else { mu * *b + g };
                        let d = if nesterov { g + mu * *b } else { *b };
                        *w -= lr * d;
                    }
                }
            }
            OptimizerConfig::Adam {
                lr,
                betas,
                eps,
                weight_decay,
            }
            | OptimizerConfig::Adamw {
                lr,
                betas,
                eps,
                weight_decay,
            } => {
                let decoupled = matches!(self.config, OptimizerConfig::Adamw { .. });
                if state.m.is_empty() {
                    state.m = vec![0.0; n];
                    state.v = vec![0.0; n];
                }
                let t = self.step.max(1) as i32;
                let (b1, b2) = (betas[0], betas[1]);
                let c1 = 1.0 - b1.powi(t);
                let c2 = 1.0 - b2.powi(t);
                let step = (lr / c1) as f32;
                let c2s = c2.sqrt() as f32;
                let (b1, b2, eps, wd, lr) = (
                    b1 as f32,
                    b2 as f32,
                    eps as f32,
                    weight_decay as f32,
                    lr as f32,
                );
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(&mut state.m).zip(&mut state.v) {
                    sq += (g as f64) * (g as f64);
                    let g = if decoupled {
                        *w -= lr * wd * *w;
                        g
                    } else {
                        g + wd * *w
                    };
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= step * *m / (v.sqrt() / c2s + eps);
                }
            }
            OptimizerConfig::Rmsprop {
                lr,
                alpha,
                eps,
                momentum,
                weight_decay,
            } => {
                if state.v.is_empty() {
                    state.v = vec![0.0; n];
                    if momentum > 0.0 {
                        state.m = vec![0.0; n];
                    }
                }
                let (lr, a, eps, mu, wd) = (
                    lr as f32,
                    alpha as f32,
                    eps as f32,
                    momentum as f32,
                    weight_decay as f32,
                );
                for (i, (w, &g)) in w.iter_mut().zip(g).enumerate() {
                    sq += (g as f64) * (g as f64);
                    let g = g + wd * *w;
                    let v = &mut state.v[i];
                    *v = a * *v + (1.0 - a) * g * g;
                    let d = g / (v.sqrt() + eps);
                    if mu > 0.0 {
                        let b = &mut state.m[i];
                        *b = mu * *b + d;
                        *w -= lr * *b;
                    } else {
                        *w -= lr * d;
                    }
                }
            }
        }
        sq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adam(decoupled: bool, wd: f64) -> OptimizerConfig {
        let (lr, betas, eps, weight_decay) = (0.1, [0.9, 0.999], 1e-8, wd);
        if decoupled {
            OptimizerConfig::Adamw {
                lr,
                betas,
                eps,
                weight_decay,
            }
        } else {
            OptimizerConfig::Adam {
                lr,
                betas,
                eps,
                weight_decay,
            }
        }
    }

    #[test]
    fn plain_sgd_steps_against_the_gradient() {
        let o = Optimizer::new(OptimizerConfig::Sgd {
            lr: 0.5,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        });
        let mut w = vec![1.0, -2.0];
        let sq = o.update(&mut w, &[2.0, 4.0], &mut State::default());
        assert_eq!(w, vec![0.0, -4.0]);
        assert_eq!(sq, 20.0);
    }

    #[test]
    fn sgd_momentum_matches_pytorch_recurrence() {
        let mut o = Optimizer::new(OptimizerConfig::Sgd {
            lr: 1.0,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        });
        let mut s = State::default();
        let mut w = vec![0.0];
        o.begin_step();
        o.update(&mut w, &[1.0], &mut s); // buf = 1
        o.begin_step();
        o.update(&mut w, &[1.0], &mut s); // buf = 1.9
        assert!((w[0] + 2.9).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // With bias correction, Adam's first step is lr * sign(g).
        let mut o = Optimizer::new(adam(false, 0.0));
        o.begin_step();
        let mut w = vec![1.0, 1.0];
        o.update(&mut w, &[3.0, -0.001], &mut State::default());
        assert!(
            (w[0] - 0.9).abs() < 1e-5 && (w[1] - 1.1).abs() < 1e-4,
            "{w:?}"
        );
    }

    #[test]
    fn adamw_decays_weights_without_touching_the_moments() {
        let mut o = Optimizer::new(adam(true, 0.5));
        o.begin_step();
        let mut w = vec![2.0];
        let mut s = State::default();
        o.update(&mut w, &[0.0], &mut s);
        // Zero gradient: only the decoupled decay acts, w *= 1 - lr*wd.
        assert!((w[0] - 1.9).abs() < 1e-6, "{w:?}");
        assert_eq!(s.m, vec![0.0]);
        // Coupled decay feeds the moments instead.
        let mut o = Optimizer::new(adam(false, 0.5));
        o.begin_step();
        let mut s = State::default();
        o.update(&mut [2.0], &[0.0], &mut s);
        assert!(s.m[0] > 0.0);
    }

    #[test]
    fn rmsprop_normalises_the_step() {
        let mut o = Optimizer::new(OptimizerConfig::Rmsprop {
            lr: 0.01,
            alpha: 0.99,
            eps: 0.0,
            momentum: 0.0,
            weight_decay: 0.0,
        });
        o.begin_step();
        let mut w = vec![0.0, 0.0];
        o.update(&mut w, &[100.0, 0.01], &mut State::default());
        // v = 0.01 g², step = lr * g / (0.1 |g|) = 0.1 whatever |g|.
        assert!(
            (w[0] + 0.1).abs() < 1e-5 && (w[1] + 0.1).abs() < 1e-5,
            "{w:?}"
        );
    }
}
