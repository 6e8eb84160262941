//! Optimizers, updating parameters in place on host buffers.
//!
//! Each parameter keeps a host copy that is the source of truth; the engine
//! reads the gradient from dfdx's `Gradients` (without a copy on the CPU),
//! updates the host copy and the optimizer state in one pass, and writes the
//! new values back into the dfdx tensor. The update rules follow PyTorch's
//! (`torch.optim.SGD`, `Adam`, `AdamW`, `RMSprop`) so that runs compare with
//! `../shared/bench/torch_reference.py` and with the seed studies, which used
//! PyTorch or Keras.

use dfdx::shapes::Shape;
use dfdx::tensor::Tensor;

use super::device::EngineDevice;
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
    ///
    /// The norm is summed in its own pass ([`squared_norm`]) so that the
    /// update loop carries no reduction and vectorises; on x86-64 processors
    /// with AVX2 both are compiled a second time for it and chosen at run
    /// time (element-wise operations, no fused multiply-adds: bit-identical
    /// results either way).
    pub fn update(&self, w: &mut [f32], g: &[f32], state: &mut State) -> f64 {
        assert_eq!(w.len(), g.len(), "parameter and gradient differ in length");
        #[cfg(target_arch = "x86_64")]
        if crate::simd::has_avx2_fma() {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            return unsafe { self.update_avx2(w, g, state) };
        }
        self.update_any(w, g, state)
    }

    /// [`Optimizer::update_any`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// The processor must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn update_avx2(&self, w: &mut [f32], g: &[f32], state: &mut State) -> f64 {
        self.update_any(w, g, state)
    }

    #[inline(always)]
    fn update_any(&self, w: &mut [f32], g: &[f32], state: &mut State) -> f64 {
        let n = w.len();
        let sq = squared_norm(g);
        match self.rule() {
            Rule::Sgd {
                lr,
                mu,
                nesterov,
                wd,
            } => {
                if mu == 0.0 {
                    for (w, &g) in w.iter_mut().zip(g) {
                        *w -= lr * (g + wd * *w);
                    }
                } else {
                    let first = state.m.is_empty();
                    if first {
                        state.m = vec![0.0; n];
                    }
                    for ((w, &g), b) in w.iter_mut().zip(g).zip(&mut state.m) {
                        let g = g + wd * *w;
                        // PyTorch starts the buffer at the first gradient.
                        *b = if first { g } else { mu * *b + g };
                        let d = if nesterov { g + mu * *b } else { *b };
                        *w -= lr * d;
                    }
                }
            }
            Rule::Adam {
                decoupled,
                step,
                c2s,
                b1,
                b2,
                eps,
                wd,
                lr,
            } => {
                if state.m.is_empty() {
                    state.m = vec![0.0; n];
                    state.v = vec![0.0; n];
                }
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(&mut state.m).zip(&mut state.v) {
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
            Rule::Rmsprop { lr, a, eps, mu, wd } => {
                if state.v.is_empty() {
                    state.v = vec![0.0; n];
                    if mu > 0.0 {
                        state.m = vec![0.0; n];
                    }
                }
                if mu > 0.0 {
                    for (((w, &g), v), b) in w.iter_mut().zip(g).zip(&mut state.v).zip(&mut state.m)
                    {
                        let g = g + wd * *w;
                        *v = a * *v + (1.0 - a) * g * g;
                        *b = mu * *b + g / (v.sqrt() + eps);
                        *w -= lr * *b;
                    }
                } else {
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(&mut state.v) {
                        let g = g + wd * *w;
                        *v = a * *v + (1.0 - a) * g * g;
                        *w -= lr * (g / (v.sqrt() + eps));
                    }
                }
            }
        }
        sq
    }
}

/// One step's update rule with its constants in `f32`, resolved from the
/// configuration and the step count: [`Optimizer::update`] and
/// [`Optimizer::update_tensor`] both read it, so they use the same
/// constants (which their agreement bit for bit depends on).
#[derive(Debug, Clone, Copy)]
enum Rule {
    Sgd {
        lr: f32,
        mu: f32,
        nesterov: bool,
        wd: f32,
    },
    /// Adam, or AdamW (`decoupled` weight decay); `step` is the learning
    /// rate over the first moment's bias correction, `c2s` the square root
    /// of the second's.
    Adam {
        decoupled: bool,
        step: f32,
        c2s: f32,
        b1: f32,
        b2: f32,
        eps: f32,
        wd: f32,
        lr: f32,
    },
    Rmsprop {
        lr: f32,
        a: f32,
        eps: f32,
        mu: f32,
        wd: f32,
    },
}

impl Optimizer {
    /// The rule of the step in progress.
    fn rule(&self) -> Rule {
        match self.config {
            OptimizerConfig::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
            } => Rule::Sgd {
                lr: lr as f32,
                mu: momentum as f32,
                nesterov,
                wd: weight_decay as f32,
            },
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
                let t = self.step.max(1) as i32;
                let (b1, b2) = (betas[0], betas[1]);
                Rule::Adam {
                    decoupled: matches!(self.config, OptimizerConfig::Adamw { .. }),
                    step: (lr / (1.0 - b1.powi(t))) as f32,
                    c2s: (1.0 - b2.powi(t)).sqrt() as f32,
                    b1: b1 as f32,
                    b2: b2 as f32,
                    eps: eps as f32,
                    wd: weight_decay as f32,
                    lr: lr as f32,
                }
            }
            OptimizerConfig::Rmsprop {
                lr,
                alpha,
                eps,
                momentum,
                weight_decay,
            } => Rule::Rmsprop {
                lr: lr as f32,
                a: alpha as f32,
                eps: eps as f32,
                mu: momentum as f32,
                wd: weight_decay as f32,
            },
        }
    }
}

/// Optimizer state kept on the parameter's device, for parameters updated
/// there ([`Optimizer::update_tensor`]).
#[derive(Debug, Clone)]
pub struct DeviceState<S: Shape, D: EngineDevice> {
    /// As [`State::m`].
    m: Option<Tensor<S, f32, D>>,
    /// As [`State::v`].
    v: Option<Tensor<S, f32, D>>,
}

impl<S: Shape, D: EngineDevice> Default for DeviceState<S, D> {
    fn default() -> Self {
        DeviceState { m: None, v: None }
    }
}

impl Optimizer {
    /// [`Optimizer::update`] as dfdx tensor operations on the parameter's
    /// device: the new value of `w` from gradient `g`, with the state on the
    /// device too. Every element goes through the same `f32` operations in
    /// the same order as in [`Optimizer::update`] (state starting at zero,
    /// no fused multiply-adds), so on the CPU the two agree bit for bit (a
    /// test holds that).
    pub fn update_tensor<S: Shape, D: EngineDevice>(
        &self,
        w: Tensor<S, f32, D>,
        g: Tensor<S, f32, D>,
        state: &mut DeviceState<S, D>,
    ) -> Tensor<S, f32, D> {
        let zeros = |g: &Tensor<S, f32, D>| g.device().zeros_like(g);
        match self.rule() {
            Rule::Sgd {
                lr,
                mu,
                nesterov,
                wd,
            } => {
                let g = g + w.clone() * wd;
                if mu == 0.0 {
                    return w - g * lr;
                }
                // PyTorch starts the buffer at the first gradient.
                let b = match state.m.take() {
                    None => g.clone(),
                    Some(b) => b * mu + g.clone(),
                };
                let d = if nesterov {
                    g + b.clone() * mu
                } else {
                    b.clone()
                };
                state.m = Some(b);
                w - d * lr
            }
            Rule::Adam {
                decoupled,
                step,
                c2s,
                b1,
                b2,
                eps,
                wd,
                lr,
            } => {
                let (w, g) = if decoupled {
                    (w.clone() - w * (lr * wd), g)
                } else {
                    (w.clone(), g + w * wd)
                };
                let m = state.m.take().unwrap_or_else(|| zeros(&g));
                let v = state.v.take().unwrap_or_else(|| zeros(&g));
                let m = m * b1 + g.clone() * (1.0 - b1);
                let v = v * b2 + g.clone() * (1.0 - b2) * g;
                let w = w - (m.clone() * step) / (v.clone().sqrt() / c2s + eps);
                state.m = Some(m);
                state.v = Some(v);
                w
            }
            Rule::Rmsprop { lr, a, eps, mu, wd } => {
                let g = g + w.clone() * wd;
                let v = state.v.take().unwrap_or_else(|| zeros(&g));
                let v = v * a + g.clone() * (1.0 - a) * g.clone();
                let scaled = g / (v.clone().sqrt() + eps);
                state.v = Some(v);
                if mu > 0.0 {
                    let b = state.m.take().unwrap_or_else(|| zeros(&scaled));
                    let b = b * mu + scaled;
                    state.m = Some(b.clone());
                    w - b * lr
                } else {
                    w - scaled * lr
                }
            }
        }
    }
}

/// Lanes of [`squared_norm`]'s partial sums.
const NORM_LANES: usize = 8;

/// The squared L2 norm of `g` in `f64`, summed in `NORM_LANES` interleaved
/// partial sums (a fixed order, so the same on every machine) which the
/// compiler keeps in vector registers.
#[inline(always)]
pub fn squared_norm(g: &[f32]) -> f64 {
    lane_sum(g, |v| v * v)
}

/// The sum of `|g|` in `f64`, in the same fixed order as [`squared_norm`].
pub fn abs_sum(g: &[f32]) -> f64 {
    lane_sum(g, f64::abs)
}

/// `Σ f(g_i)` in `f64` over [`NORM_LANES`] interleaved partial sums.
#[inline(always)]
fn lane_sum(g: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; NORM_LANES];
    let chunks = g.chunks_exact(NORM_LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..NORM_LANES {
            acc[i] += f(c[i] as f64);
        }
    }
    for (a, &v) in acc.iter_mut().zip(tail) {
        *a += f(v as f64);
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::tensor::{Cpu, TensorFromVec};

    /// Every optimizer and its options, updated on the host and as tensor
    /// operations on the CPU device, five steps from the same start: the
    /// same bits every step.
    #[test]
    fn the_device_update_is_the_host_update_bit_for_bit() {
        let configs = [
            OptimizerConfig::Sgd {
                lr: 0.1,
                momentum: 0.0,
                nesterov: false,
                weight_decay: 0.0,
            },
            OptimizerConfig::Sgd {
                lr: 0.05,
                momentum: 0.9,
                nesterov: false,
                weight_decay: 1e-3,
            },
            OptimizerConfig::Sgd {
                lr: 0.05,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.0,
            },
            OptimizerConfig::Adam {
                lr: 1e-3,
                betas: [0.9, 0.999],
                eps: 1e-8,
                weight_decay: 0.0,
            },
            OptimizerConfig::Adam {
                lr: 3e-3,
                betas: [0.8, 0.99],
                eps: 1e-6,
                weight_decay: 1e-2,
            },
            OptimizerConfig::Adamw {
                lr: 1e-3,
                betas: [0.9, 0.999],
                eps: 1e-8,
                weight_decay: 1e-2,
            },
            OptimizerConfig::Rmsprop {
                lr: 1e-2,
                alpha: 0.99,
                eps: 1e-8,
                momentum: 0.0,
                weight_decay: 0.0,
            },
            OptimizerConfig::Rmsprop {
                lr: 1e-2,
                alpha: 0.9,
                eps: 1e-6,
                momentum: 0.5,
                weight_decay: 1e-3,
            },
        ];
        let dev = Cpu::default();
        let n = 37;
        // Deterministic values of both signs and many magnitudes, zeros included.
        let values = |k: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let x = ((i * 7 + k * 13) % 23) as f32 - 11.0;
                    x * 10f32.powi((i % 5) as i32 - 3)
                })
                .collect()
        };
        for config in configs {
            let mut host_opt = Optimizer::new(config);
            let mut host_w = values(0);
            let mut host_state = State::default();
            let mut w: Tensor<(usize,), f32, Cpu> = dev.tensor_from_vec(values(0), (n,));
            let mut state = DeviceState::default();
            for step in 1..=5 {
                let g = values(step);
                host_opt.begin_step();
                host_opt.update(&mut host_w, &g, &mut host_state);
                let gt = dev.tensor_from_vec(g, (n,));
                w = host_opt.update_tensor(w, gt, &mut state);
                let got: Vec<u32> = w.as_vec().iter().map(|v| v.to_bits()).collect();
                let want: Vec<u32> = host_w.iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want, "{config:?}, step {step}");
            }
        }
    }

    #[test]
    fn squared_norm_sums_every_element_including_the_tail() {
        let g: Vec<f32> = (1..=19).map(|i| i as f32).collect();
        let want: f64 = (1..=19).map(|i| (i * i) as f64).sum();
        assert_eq!(squared_norm(&g), want);
        assert_eq!(squared_norm(&[]), 0.0);
        let signed: Vec<f32> = (1..=19)
            .map(|i| if i % 2 == 0 { i as f32 } else { -(i as f32) })
            .collect();
        assert_eq!(abs_sum(&signed), 190.0);
    }

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

    /// `update_avx2` and `update_any` give the same bits: the weights, the
    /// state and the returned norm, over several steps of every optimizer,
    /// for lengths around and between multiples of the vector widths (4, 8
    /// and 16 lanes, and `NORM_LANES`).
    #[test]
    fn avx2_and_baseline_updates_are_bit_identical() {
        #[cfg(target_arch = "x86_64")]
        let avx2 = crate::simd::has_avx2_fma();
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        if !avx2 {
            eprintln!("no AVX2+FMA on this processor: only the baseline update ran");
        }
        // A fixed xorshift stream: values of both signs over several orders
        // of magnitude, some exact zeros.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let unit = (seed >> 40) as f32 / (1u64 << 24) as f32;
            let scale = [0.0, 1e-4, 1e-2, 1.0, 30.0][(seed % 5) as usize];
            (2.0 * unit - 1.0) * scale
        };
        let sgd = |momentum, nesterov, weight_decay| OptimizerConfig::Sgd {
            lr: 0.05,
            momentum,
            nesterov,
            weight_decay,
        };
        let rmsprop = |momentum| OptimizerConfig::Rmsprop {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            momentum,
            weight_decay: 1e-3,
        };
        let configs = [
            sgd(0.0, false, 0.0),
            sgd(0.0, false, 1e-2),
            sgd(0.9, false, 1e-3),
            sgd(0.9, true, 1e-3),
            adam(false, 0.0),
            adam(false, 1e-2),
            adam(true, 1e-2),
            rmsprop(0.0),
            rmsprop(0.9),
        ];
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for config in configs {
            for n in [1, 3, 7, 8, 9, 15, 17, 31, 33, 67, 1023] {
                let mut o = Optimizer::new(config);
                let w0: Vec<f32> = (0..n).map(|_| next()).collect();
                let (mut w_any, mut s_any) = (w0.clone(), State::default());
                let (mut w_avx, mut s_avx) = (w0, State::default());
                for step in 1..=5 {
                    o.begin_step();
                    let g: Vec<f32> = (0..n).map(|_| next()).collect();
                    let sq_any = o.update_any(&mut w_any, &g, &mut s_any);
                    if !avx2 {
                        continue;
                    }
                    #[cfg(target_arch = "x86_64")]
                    {
                        // SAFETY: the processor has AVX2 and FMA (checked above).
                        let sq_avx = unsafe { o.update_avx2(&mut w_avx, &g, &mut s_avx) };
                        let at = format!("{config:?}, length {n}, step {step}");
                        assert_eq!(sq_any.to_bits(), sq_avx.to_bits(), "norm: {at}");
                        assert_eq!(bits(&w_any), bits(&w_avx), "weights: {at}");
                        assert_eq!(bits(&s_any.m), bits(&s_avx.m), "first moment: {at}");
                        assert_eq!(bits(&s_any.v), bits(&s_avx.v), "second moment: {at}");
                    }
                }
                assert!(w_any.iter().all(|w| w.is_finite()), "{config:?}: {w_any:?}");
            }
        }
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
