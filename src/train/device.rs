//! Devices: what the engine needs from a dfdx device beyond dfdx's own
//! `Device` trait, and how a job's `device` setting picks one.
//!
//! The network and the epoch loop are generic over [`EngineDevice`]. Three
//! things differ per device: how a formula activation runs
//! ([`EngineDevice::activate`]: on the CPU, the fused op of
//! [`crate::activation::op`]; elsewhere, through the host, see
//! [`activate_via_host`]), how a dense layer runs ([`EngineDevice::dense`]:
//! on the CPU, the fused product-bias-activation op of [`super::dense`],
//! reading the weights' host copies; elsewhere, dfdx's composition), and how
//! a gradient is read ([`EngineDevice::with_grad`]: on the CPU, in place).
//! CUDA sits behind the `cuda` cargo feature; asking for it in a build
//! without the feature is a clear error, not a silent fallback.

use dfdx::shapes::{Axis, HasShape};
use dfdx::tensor::{Cpu, Gradients, Merge, NoneTape, PutTape, SplitTape, Tape, Tensor};
use dfdx::tensor_ops::{BroadcastTo, Device};

use super::dense::{self, Dense, Keep};
use super::TrainError;
use crate::activation::Compiled;
use crate::config::job::Device as DeviceChoice;

/// A `(rows, units)` matrix on device `D`.
pub type Mat<D, T> = Tensor<(usize, usize), f32, D, T>;
/// A vector on device `D`.
pub type Vector<D, T> = Tensor<(usize,), f32, D, T>;

/// A dfdx device the engine can train on.
pub trait EngineDevice: Device<f32> + Clone + 'static {
    /// A device whose generators (dropout) start from `seed`.
    fn build(seed: u64) -> Result<Self, TrainError>;

    /// Human-readable name for the results (`cpu`, `cuda:0`).
    fn label() -> &'static str;

    /// Applies a hidden or output activation (with its learnable parameters,
    /// one vector per [`Compiled::learnable`], or none for fixed values).
    fn activate<T>(act: &Compiled, x: Mat<Self, T>, params: Vec<Vector<Self, T>>) -> Mat<Self, T>
    where
        T: Tape<f32, Self> + Merge<T>;

    /// Whether [`EngineDevice::dense`] reads weights and biases from the
    /// parameters' host copies (so their tensors need no update per step).
    const DENSE_READS_HOST: bool = false;

    /// Whether a job uploads its training split once and gathers each
    /// batch on the device (where an upload per step costs more than the
    /// gather), instead of uploading each batch. Default: no (the CPU,
    /// where "uploading" is a copy the gather would make too).
    const RESIDENT_INPUTS: bool = false;

    /// Whether parameters and optimizer state live on the device, updated
    /// there by tensor operations ([`super::optim::Optimizer::update_tensor`]),
    /// with the host copies refreshed only when something reads them
    /// (evaluations, diagnostics). Default: no (the CPU, where the host copy
    /// is the parameter and the fused layers read it).
    const RESIDENT_PARAMS: bool = false;

    /// One dense layer `act(x·W + b)`; `input_grad` says whether `x` needs a
    /// gradient (not for the first layer); `keep`, rows whose activations
    /// and derivatives to copy out, where the device's op can (the fused
    /// CPU op; a caller checks [`EngineDevice::DENSE_READS_HOST`]).
    /// Default: dfdx's composition, which keeps nothing.
    fn dense<T>(
        x: Mat<Self, T>,
        p: &Dense<'_, Self>,
        input_grad: bool,
        keep: Option<Keep<'_>>,
    ) -> Mat<Self, T>
    where
        T: Tape<f32, Self> + Merge<T> + Merge<NoneTape>,
    {
        let _ = (input_grad, keep);
        dense::unfused(x, p)
    }

    /// Calls `f` with the gradient of `t` (zeros if `t` got none).
    fn with_grad<S: dfdx::shapes::Shape, R>(
        grads: &mut Gradients<f32, Self>,
        t: &Tensor<S, f32, Self>,
        f: impl FnOnce(&[f32]) -> R,
    ) -> Result<R, TrainError>;
}

impl EngineDevice for Cpu {
    const DENSE_READS_HOST: bool = true;

    fn build(seed: u64) -> Result<Cpu, TrainError> {
        // dfdx's tensor cache stays off: it keeps every dropped buffer for
        // reuse, but the fused ops bring buffers of their own, so the cache
        // only grows (it filled 24 GB within minutes of a sweep).
        let dev = Cpu::seed_from_u64(seed);
        Ok(dev)
    }

    fn label() -> &'static str {
        "cpu"
    }

    fn activate<T>(act: &Compiled, x: Mat<Cpu, T>, params: Vec<Vector<Cpu, T>>) -> Mat<Cpu, T>
    where
        T: Tape<f32, Cpu> + Merge<T>,
    {
        act.apply_with::<T, T>(x, params)
    }

    fn dense<T>(
        x: Mat<Cpu, T>,
        p: &Dense<'_, Cpu>,
        input_grad: bool,
        keep: Option<Keep<'_>>,
    ) -> Mat<Cpu, T>
    where
        T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>,
    {
        dense::fused(x, p, input_grad, keep)
    }

    fn with_grad<S: dfdx::shapes::Shape, R>(
        grads: &mut Gradients<f32, Cpu>,
        t: &Tensor<S, f32, Cpu>,
        f: impl FnOnce(&[f32]) -> R,
    ) -> Result<R, TrainError> {
        let g = grads
            .get_or_alloc_mut(t)
            .map_err(|e| TrainError::Device(format!("{e:?}")))?;
        Ok(f(g.as_slice()))
    }
}

#[cfg(feature = "cuda")]
impl EngineDevice for dfdx::tensor::Cuda {
    const RESIDENT_INPUTS: bool = true;
    const RESIDENT_PARAMS: bool = true;

    fn build(seed: u64) -> Result<Self, TrainError> {
        dfdx::tensor::Cuda::try_build(0, seed).map_err(|e| TrainError::Device(format!("{e:?}")))
    }

    fn label() -> &'static str {
        "cuda:0"
    }

    fn activate<T>(act: &Compiled, x: Mat<Self, T>, params: Vec<Vector<Self, T>>) -> Mat<Self, T>
    where
        T: Tape<f32, Self> + Merge<T>,
    {
        activate_via_host(act, x, params)
    }

    fn with_grad<S: dfdx::shapes::Shape, R>(
        grads: &mut Gradients<f32, Self>,
        t: &Tensor<S, f32, Self>,
        f: impl FnOnce(&[f32]) -> R,
    ) -> Result<R, TrainError> {
        grads
            .try_alloc_for(t)
            .map_err(|e| TrainError::Device(format!("{e:?}")))?;
        let g = grads.get(t).as_vec();
        Ok(f(&g))
    }
}

/// A formula activation on any device, evaluated on the host.
///
/// The host computes `f(x)`, `f'(x)` and `df/dp`; the device then builds
/// `y = x·f'(x) + c` (plus `p·df/dp` per learnable parameter) with `c` chosen
/// so that `y = f(x)`. The tape sees only products with constants, so the
/// gradients are exactly `f'(x)` and `df/dp`. The value is `f(x)` up to one
/// rounding (exact where `f'` is 0 or 1, so ReLU's zeros stay exact zeros).
/// Slow (two transfers per call): the way to run any formula on any device,
/// not the fast path.
pub fn activate_via_host<D, T>(act: &Compiled, x: Mat<D, T>, params: Vec<Vector<D, T>>) -> Mat<D, T>
where
    D: Device<f32>,
    T: Tape<f32, D> + Merge<T>,
{
    let (rows, units) = *x.shape();
    let n = rows * units;
    let dev = x.device().clone();
    let xh = x.as_vec();
    let ph: Vec<Vec<f32>> = params.iter().map(|p| p.as_vec()).collect();
    let slices: Vec<&[f32]> = ph.iter().map(Vec::as_slice).collect();
    let nl = act.learnable().len();
    let mut out = vec![0.0f32; n];
    let mut dx = vec![0.0f32; n];
    let mut dps: Vec<Vec<f32>> = (0..nl).map(|_| vec![0.0f32; n]).collect();
    {
        let mut dp: Vec<&mut [f32]> = dps.iter_mut().map(Vec::as_mut_slice).collect();
        act.forward_grad_units(&xh, &slices, &mut out, &mut dx, &mut dp);
    }
    if !T::OWNS_TAPE {
        let (_, tape) = x.split_tape();
        let t: Mat<D, dfdx::tensor::NoneTape> = dev.tensor_from_vec(out, (rows, units));
        return t.put_tape(tape);
    }
    let mut c = out;
    for i in 0..n {
        c[i] -= xh[i] * dx[i];
    }
    for (k, p) in ph.iter().enumerate() {
        for i in 0..n {
            c[i] -= p[i % units] * dps[k][i];
        }
    }
    let d = dev.tensor_from_vec(dx, (rows, units));
    let c = dev.tensor_from_vec(c, (rows, units));
    let mut y = x * d + c;
    for (p, dp) in params.into_iter().zip(dps) {
        let dp = dev.tensor_from_vec(dp, (rows, units));
        y = y + p.broadcast_like::<_, Axis<0>>(&(rows, units)) * dp;
    }
    y
}

/// The device a job trains on, after `auto` is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// The CPU.
    Cpu,
    /// The first CUDA GPU.
    Cuda,
}

/// Decides where a job runs: `auto` is CUDA when this build has it and a GPU
/// answers, else the CPU; `cuda` without the feature is an error.
pub fn choose(choice: DeviceChoice) -> Result<Chosen, TrainError> {
    match choice {
        DeviceChoice::Cpu => Ok(Chosen::Cpu),
        DeviceChoice::Cuda => {
            if cfg!(feature = "cuda") {
                Ok(Chosen::Cuda)
            } else {
                Err(TrainError::CudaNotBuilt)
            }
        }
        DeviceChoice::Auto => Ok(if cuda_available() {
            Chosen::Cuda
        } else {
            Chosen::Cpu
        }),
    }
}

#[cfg(feature = "cuda")]
fn cuda_available() -> bool {
    use std::sync::OnceLock;
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // cudarc 0.9's `CudaDevice::new` unwraps `cuInit`'s result: with no
        // GPU (or a driver that fails) it panics. Treat that like an absent
        // GPU, without the panic's message and trace on stderr: the probe
        // runs once, before any job, with the panic hook silenced.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let found = std::panic::catch_unwind(|| dfdx::tensor::Cuda::try_build(0, 0).is_ok())
            .unwrap_or(false);
        std::panic::set_hook(hook);
        found
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda_available() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::compiled::test_config as cfg;
    use dfdx::tensor::{TensorFromVec, Trace};
    use dfdx::tensor_ops::{Backward, SumTo};

    #[test]
    fn host_route_matches_fused_op_values_and_gradients() {
        let act = Compiled::new(&cfg(
            "where(x > 0, x, a * x) + tanh(x)",
            &[("a", 0.2)],
            &["a"],
        ))
        .expect("formula");
        let dev = Cpu::default();
        let xs = vec![-1.5f32, -0.2, 0.0, 0.4, 2.0, -3.0];
        let run = |fused: bool| {
            let x: Mat<Cpu, _> = dev.tensor_from_vec(xs.clone(), (3, 2));
            let p: Vector<Cpu, _> = dev.tensor_from_vec(vec![0.2f32, 0.3], (2,));
            let xt = x.trace(Gradients::leaky());
            let pt = p.retaped();
            let y = if fused {
                Cpu::activate(&act, xt, vec![pt])
            } else {
                activate_via_host(&act, xt, vec![pt])
            };
            let yv = y.retaped::<dfdx::tensor::NoneTape>().as_vec();
            let grads = y.sum::<dfdx::shapes::Rank0, _>().backward();
            (yv, grads.get(&x).as_vec(), grads.get(&p).as_vec())
        };
        let (a, b) = (run(true), run(false));
        for (u, v) in a.0.iter().zip(&b.0) {
            assert!((u - v).abs() < 1e-6, "{a:?} vs {b:?}");
        }
        assert_eq!(a.1, b.1);
        for (u, v) in a.2.iter().zip(&b.2) {
            assert!((u - v).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn cuda_without_the_feature_is_an_error() {
        if !cfg!(feature = "cuda") {
            assert!(matches!(
                choose(DeviceChoice::Cuda),
                Err(TrainError::CudaNotBuilt)
            ));
            assert_eq!(choose(DeviceChoice::Auto).ok(), Some(Chosen::Cpu));
        }
    }
}
