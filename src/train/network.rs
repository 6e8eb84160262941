//! The network: an MLP built on dfdx tensors with runtime shapes.
//!
//! dfdx 0.13's `nn::Linear` fixes its sizes at compile time, but a sweep
//! chooses depth and widths in a TOML file, so each layer here is a pair of
//! tensors with `usize` dimensions (`W` is `fan_in × fan_out`, `y = x·W + b`),
//! with optional normalisation, the activation (a compiled formula), and
//! dropout. Every parameter also keeps a host copy that the optimizer updates
//! in place ([`Param`]), except on devices that keep parameters resident
//! ([`EngineDevice::RESIDENT_PARAMS`]: CUDA), where the optimizer runs as
//! tensor operations on the device and the host copy is refreshed only for
//! what reads it ([`Network::refresh_host`]); the forward pass runs on
//! dfdx's tape, and backward is dfdx's. Each layer's product, bias and activation go through
//! [`EngineDevice::dense`]: on the CPU one fused op ([`super::dense`]),
//! elsewhere dfdx's composition; `Network::fused` switches the CPU to the
//! composition too (the reference the tests compare with).

use std::sync::Arc;

use dfdx::shapes::{Axis, HasShape, Shape};
use dfdx::tensor::{Gradients, Merge, NoneTape, Tape, Tensor};
use dfdx::tensor_ops::{BroadcastTo, MeanTo, VarTo};

use super::dense::{self, Dense, Keep, ProbeLayer};
use super::device::{EngineDevice, Mat, Vector};
use super::init;
use super::optim::{self, DeviceState, Optimizer, State};
use super::TrainError;
use crate::activation::Compiled;
use crate::config::job::{ActivationConfig, JobConfig, Norm};

/// Epsilon of batch and layer normalisation (PyTorch's default).
const NORM_EPS: f64 = 1e-5;
/// Weight of the newest batch in batch norm's running statistics.
const BN_MOMENTUM: f32 = 0.1;

/// A trainable tensor with its host copy and optimizer state.
#[derive(Debug)]
pub struct Param<D: EngineDevice, S: Shape> {
    /// The values: the source of truth, copied to `t` after each update.
    /// Shared with the backward pass of a fused layer (which reads the
    /// weights); the optimizer updates it once that pass has ended.
    pub host: Arc<Vec<f32>>,
    /// The tensor the forward pass uses.
    pub t: Tensor<S, f32, D>,
    state: State,
    /// The optimizer state where the parameter is updated on the device.
    device_state: DeviceState<S, D>,
    /// Whether `host` lags `t` (after updates on the device).
    stale: bool,
}

impl<D: EngineDevice, S: Shape> Param<D, S> {
    fn new(dev: &D, host: Vec<f32>, shape: S) -> Param<D, S> {
        let t = dev.tensor_from_vec(host.clone(), shape);
        Param {
            host: Arc::new(host),
            t,
            state: State::default(),
            device_state: DeviceState::default(),
            stale: false,
        }
    }

    /// Applies one optimizer step from `grads` on the device, leaving the
    /// host copy stale until [`Param::refresh_host`]; returns the gradient's
    /// sums when `sums` asks for them (they cost a copy to the host), else
    /// zeros.
    fn step_on_device(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        sums: bool,
    ) -> Result<GradSums, TrainError> {
        // A parameter that got no gradient gets zeros, as on the host path.
        grads
            .get_or_alloc_mut(&self.t)
            .map_err(|e| TrainError::Device(format!("{e:?}")))?;
        let g = grads.get(&self.t);
        let out = if sums {
            let v = g.as_vec();
            GradSums {
                squared: optim::squared_norm(&v),
                abs: optim::abs_sum(&v),
                len: v.len(),
            }
        } else {
            GradSums {
                len: self.host.len(),
                ..GradSums::default()
            }
        };
        self.t = opt.update_tensor(self.t.clone(), g, &mut self.device_state);
        self.stale = true;
        Ok(out)
    }

    /// Copies the tensor's values to the host copy where it lags.
    fn refresh_host(&mut self) {
        if self.stale {
            self.host = Arc::new(self.t.as_vec());
            self.stale = false;
        }
    }

    /// Applies one optimizer step from `grads`; returns the gradient's
    /// sums. `sync` copies the new values to the tensor (not needed where
    /// only the fused layer op reads them, from the host copy).
    fn step(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        sync: bool,
    ) -> Result<GradSums, TrainError> {
        let Param { host, t, state, .. } = self;
        let host = Arc::make_mut(host);
        let sums = D::with_grad(grads, t, |g| GradSums {
            squared: opt.update(host, g, state),
            abs: optim::abs_sum(g),
            len: g.len(),
        })?;
        if sync {
            self.sync();
        }
        Ok(sums)
    }

    /// Copies the host values to the tensor (after editing `host` directly).
    pub fn sync(&mut self) {
        self.t.copy_from(&self.host);
    }

    /// The gradient of this parameter as a host vector.
    pub fn grad(&self, grads: &mut Gradients<f32, D>) -> Result<Vec<f32>, TrainError> {
        D::with_grad(grads, &self.t, |g| g.to_vec())
    }
}

/// Sums over one parameter's gradient in one step (the diagnostics' input).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GradSums {
    /// `Σ g²`.
    pub squared: f64,
    /// `Σ |g|`.
    pub abs: f64,
    /// Number of elements.
    pub len: usize,
}

impl GradSums {
    /// The L2 norm.
    pub fn norm(&self) -> f64 {
        self.squared.sqrt()
    }

    /// The root mean square, `‖g‖ / √len` (0 for an empty parameter).
    pub fn rms(&self) -> f64 {
        (self.squared / self.len.max(1) as f64).sqrt()
    }

    /// The mean absolute value.
    pub fn mean_abs(&self) -> f64 {
        self.abs / self.len.max(1) as f64
    }
}

/// One layer's gradient sums in one step: weights and biases.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LayerGrads {
    /// The weight gradient.
    pub weight: GradSums,
    /// The bias gradient.
    pub bias: GradSums,
}

/// Batch or layer normalisation: scale and shift, and batch norm's running statistics.
#[derive(Debug)]
pub struct NormLayer<D: EngineDevice> {
    kind: Norm,
    /// Per-unit scale (starts at 1).
    pub gamma: Param<D, (usize,)>,
    /// Per-unit shift (starts at 0).
    pub beta: Param<D, (usize,)>,
    /// Batch norm's running mean and variance (parameters of no optimizer:
    /// [`Param`] for its host copy, tensor and staleness).
    running_mean: Param<D, (usize,)>,
    running_var: Param<D, (usize,)>,
}

impl<D: EngineDevice> NormLayer<D> {
    /// Moves batch norm's running statistics towards a batch's `mean` and
    /// `var` (over `rows` rows): on the device where parameters are
    /// resident, else on the host copies, the same `f32` operations in the
    /// same order either way.
    fn update_running(
        &mut self,
        mean: &Vector<D, NoneTape>,
        var: &Vector<D, NoneTape>,
        rows: usize,
        resident: bool,
    ) {
        // PyTorch keeps the unbiased variance in the running estimate.
        let unbias = if rows > 1 {
            rows as f32 / (rows as f32 - 1.0)
        } else {
            1.0
        };
        let keep = 1.0 - BN_MOMENTUM;
        if resident {
            let (rm, rv) = (&mut self.running_mean, &mut self.running_var);
            rm.t = rm.t.clone() * keep + mean.clone() * BN_MOMENTUM;
            rv.t = rv.t.clone() * keep + var.clone() * BN_MOMENTUM * unbias;
            rm.stale = true;
            rv.stale = true;
            return;
        }
        let (mean, var) = (mean.as_vec(), var.as_vec());
        for (r, m) in Arc::make_mut(&mut self.running_mean.host)
            .iter_mut()
            .zip(mean)
        {
            *r = keep * *r + BN_MOMENTUM * m;
        }
        for (r, v) in Arc::make_mut(&mut self.running_var.host)
            .iter_mut()
            .zip(var)
        {
            *r = keep * *r + BN_MOMENTUM * v * unbias;
        }
    }
}

/// One linear layer and what follows it.
#[derive(Debug)]
pub struct Layer<D: EngineDevice> {
    /// Weights, `fan_in × fan_out`.
    pub w: Param<D, (usize, usize)>,
    /// Biases.
    pub b: Param<D, (usize,)>,
    /// Normalisation before the activation (hidden layers only).
    pub norm: Option<NormLayer<D>>,
    /// The activation after this layer; `None` is the identity.
    pub act: Option<Compiled>,
    /// Per-unit learnable parameters of `act`, one vector per name in
    /// [`Compiled::learnable`].
    pub act_params: Vec<Param<D, (usize,)>>,
    /// Inputs.
    pub fan_in: usize,
    /// Outputs.
    pub fan_out: usize,
}

/// What a forward pass reports besides its output.
#[derive(Debug)]
pub struct Trace<D: EngineDevice> {
    /// Capture each hidden layer's pre-activation (after normalisation).
    pub capture: bool,
    /// The captured pre-activations, row-major `rows × units`, per hidden layer.
    pub pre: Vec<Vec<f32>>,
    /// Batch norm's batch mean and variance per normalised layer (training),
    /// on the device.
    pub batch_stats: Vec<(Vector<D, NoneTape>, Vector<D, NoneTape>)>,
    /// Rows of the last batch passed forward.
    pub rows: usize,
    /// Batch rows whose activations and derivatives each hidden layer
    /// copies into [`Trace::kept`] as it computes them, in this order
    /// (empty: none). Only the fused CPU layers with a tape keep rows, and
    /// only where the activation is inside the layer op (no normalisation
    /// between, no capture).
    pub keep: Vec<usize>,
    /// The kept rows, one entry per hidden layer.
    pub kept: Vec<ProbeLayer>,
}

impl<D: EngineDevice> Default for Trace<D> {
    fn default() -> Self {
        Trace {
            capture: false,
            pre: Vec::new(),
            batch_stats: Vec::new(),
            rows: 0,
            keep: Vec::new(),
            kept: Vec::new(),
        }
    }
}

/// The MLP.
#[derive(Debug)]
pub struct Network<D: EngineDevice> {
    /// Layers from input to output.
    pub layers: Vec<Layer<D>>,
    /// Whether layers go through [`EngineDevice::dense`] (the fused op on
    /// the CPU; default) or dfdx's composition ([`dense::unfused`]).
    fused: bool,
    /// Whether parameters are updated on the device ([`EngineDevice::RESIDENT_PARAMS`]).
    resident: bool,
    dropout: f64,
    dev: D,
}

/// True for an activation that is exactly `x` (skipped, not run).
pub fn is_identity(a: &ActivationConfig) -> bool {
    a.learnable.is_empty()
        && a.formula
            .chars()
            .filter(|c| !c.is_whitespace())
            .eq("x".chars())
}

impl<D: EngineDevice> Network<D> {
    /// Builds the network of a job with its initial weights.
    pub fn new(dev: &D, job: &JobConfig) -> Result<Network<D>, TrainError> {
        let sizes = job.layer_sizes();
        let depth = sizes.len() - 1;
        let hidden = compile(&job.activation)?;
        let output = compile(&job.output_activation)?;
        let mut layers = Vec::with_capacity(depth);
        for i in 0..depth {
            let (fi, fo) = (sizes[i], sizes[i + 1]);
            let (w, b) = init::layer(job.init, job.seed, i, fi, fo, job.bias_init);
            let last = i + 1 == depth;
            let act = if last { output.clone() } else { hidden.clone() };
            let norm = match job.norm {
                Norm::None => None,
                _ if last => None,
                kind => Some(NormLayer {
                    kind,
                    gamma: Param::new(dev, vec![1.0; fo], (fo,)),
                    beta: Param::new(dev, vec![0.0; fo], (fo,)),
                    running_mean: Param::new(dev, vec![0.0; fo], (fo,)),
                    running_var: Param::new(dev, vec![1.0; fo], (fo,)),
                }),
            };
            let act_params = match &act {
                Some(c) => c
                    .initial_params()
                    .iter()
                    .map(|&v| Param::new(dev, vec![v; fo], (fo,)))
                    .collect(),
                None => Vec::new(),
            };
            layers.push(Layer {
                w: Param::new(dev, w, (fi, fo)),
                b: Param::new(dev, b, (fo,)),
                norm,
                act,
                act_params,
                fan_in: fi,
                fan_out: fo,
            });
        }
        Ok(Network {
            layers,
            fused: true,
            resident: D::RESIDENT_PARAMS,
            dropout: job.dropout,
            dev: dev.clone(),
        })
    }

    /// Chooses between [`EngineDevice::dense`] (`true`, the default) and
    /// dfdx's composition (`false`, the reference for tests and benchmarks).
    pub fn set_fused(&mut self, fused: bool) {
        self.fused = fused;
        for l in &mut self.layers {
            l.w.sync();
            l.b.sync();
        }
    }

    /// Updates the parameters on the device (`true`, as on CUDA) or on their
    /// host copies (`false`, as on the CPU): for tests, which hold the two
    /// equal on the CPU. On the device the layers read the tensors, so on
    /// a device whose fused layers read the host copies, `true` also
    /// switches to dfdx's composition.
    pub fn set_resident_params(&mut self, resident: bool) {
        self.refresh_host();
        self.resident = resident;
        if resident && D::DENSE_READS_HOST {
            self.set_fused(false);
        }
        // The running statistics' tensors follow their host copies only
        // where they are updated on the device.
        for n in self.layers.iter_mut().filter_map(|l| l.norm.as_mut()) {
            n.running_mean.sync();
            n.running_var.sync();
        }
    }

    /// Brings every parameter's host copy up to date (after updates on the
    /// device); what reads the host copies (evaluations, diagnostics,
    /// update ratios) calls it first.
    pub fn refresh_host(&mut self) {
        for l in &mut self.layers {
            l.w.refresh_host();
            l.b.refresh_host();
            for p in &mut l.act_params {
                p.refresh_host();
            }
            if let Some(n) = &mut l.norm {
                n.gamma.refresh_host();
                n.beta.refresh_host();
                n.running_mean.refresh_host();
                n.running_var.refresh_host();
            }
        }
    }

    /// Whether the layers' weight tensors lag their host copies: true where
    /// only the fused op, which reads the host copies, uses them.
    fn weights_on_host(&self) -> bool {
        self.fused && D::DENSE_READS_HOST && !self.resident
    }

    /// Whether an evaluation forward pass can run on the host copies of the
    /// weights with the same results ([`super::dense::affine`] and the
    /// compiled activation): true where the layers are the fused CPU op and
    /// no normalisation comes between product and activation.
    pub fn runs_on_host(&self) -> bool {
        self.weights_on_host() && self.layers.iter().all(|l| l.norm.is_none())
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.dev
    }

    /// The forward pass. `train` selects batch statistics and dropout.
    pub fn forward<T>(&self, x: Mat<D, T>, train: bool, trace: &mut Trace<D>) -> Mat<D, T>
    where
        T: Tape<f32, D> + Merge<T> + Merge<NoneTape>,
    {
        let last = self.layers.len() - 1;
        let mut h = x;
        trace.rows = h.shape().0;
        for (i, l) in self.layers.iter().enumerate() {
            // With normalisation the activation follows it, outside the layer op.
            let split = l.norm.is_some() || (trace.capture && i < last);
            let p = Dense {
                w: &l.w,
                b: &l.b,
                act: if split { None } else { l.act.as_ref() },
                act_params: if split { &[] } else { &l.act_params },
            };
            let mut z = if self.fused {
                // Only a layer that applies its activation itself knows f'(z).
                let keep = (i < last && !split && !trace.keep.is_empty()).then(|| Keep {
                    rows: &trace.keep,
                    into: &mut trace.kept,
                });
                D::dense(h, &p, i > 0, keep)
            } else {
                dense::unfused(h, &p)
            };
            if split {
                if let Some(n) = &l.norm {
                    z = self.normalise(n, z, train, trace);
                }
                if trace.capture && i < last {
                    trace.pre.push(z.retaped::<NoneTape>().as_vec());
                }
                if let Some(act) = &l.act {
                    let ps: Vec<Vector<D, T>> =
                        l.act_params.iter().map(|p| p.t.retaped()).collect();
                    z = D::activate(act, z, ps);
                }
            }
            if train && self.dropout > 0.0 && i < last {
                z = z.dropout(self.dropout);
            }
            h = z;
        }
        h
    }

    fn normalise<T>(
        &self,
        n: &NormLayer<D>,
        z: Mat<D, T>,
        train: bool,
        trace: &mut Trace<D>,
    ) -> Mat<D, T>
    where
        T: Tape<f32, D> + Merge<T> + Merge<NoneTape>,
    {
        let shape = *z.shape();
        let gamma = n
            .gamma
            .t
            .retaped::<T>()
            .broadcast_like::<_, Axis<0>>(&shape);
        let beta = n.beta.t.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
        match n.kind {
            Norm::Layer => z.normalize::<Axis<1>>(NORM_EPS) * gamma + beta,
            Norm::Batch if train => {
                let plain = z.retaped::<NoneTape>();
                let mean = plain.clone().mean::<(usize,), Axis<0>>();
                let var = plain.var::<(usize,), Axis<0>>();
                trace.batch_stats.push((mean, var));
                z.normalize::<Axis<0>>(NORM_EPS) * gamma + beta
            }
            _ => {
                // Evaluation: the running statistics, folded into a scale and
                // a shift that are constants for the tape.
                let u = shape.1;
                let inv: Vec<f32> = n
                    .running_var
                    .host
                    .iter()
                    .map(|v| 1.0 / (v + NORM_EPS as f32).sqrt())
                    .collect();
                let shift: Vec<f32> = n
                    .running_mean
                    .host
                    .iter()
                    .zip(&inv)
                    .map(|(m, s)| -m * s)
                    .collect();
                let inv: Vector<D, NoneTape> = self.dev.tensor_from_vec(inv, (u,));
                let shift: Vector<D, NoneTape> = self.dev.tensor_from_vec(shift, (u,));
                let zn = z * inv.broadcast_like::<_, Axis<0>>(&shape)
                    + shift.broadcast_like::<_, Axis<0>>(&shape);
                zn * gamma + beta
            }
        }
    }

    /// One optimizer step over every parameter; returns each layer's
    /// weight and bias gradient sums (zeros where the parameters are
    /// updated on the device and `sums` is false).
    pub fn step(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        trace: &Trace<D>,
        sums: bool,
    ) -> Result<Vec<LayerGrads>, TrainError> {
        let mut out = Vec::with_capacity(self.layers.len());
        let mut stats = trace.batch_stats.iter();
        let sync_weights = !self.weights_on_host();
        let resident = self.resident;
        let mut step = |p: &mut dyn ParamStep<D>, sync: bool| {
            if resident {
                p.on_device(grads, opt, sums)
            } else {
                p.on_host(grads, opt, sync)
            }
        };
        for l in &mut self.layers {
            out.push(LayerGrads {
                weight: step(&mut l.w, sync_weights)?,
                bias: step(&mut l.b, sync_weights)?,
            });
            for p in &mut l.act_params {
                step(p, true)?;
            }
            if let Some(n) = &mut l.norm {
                step(&mut n.gamma, true)?;
                step(&mut n.beta, true)?;
                if let (Norm::Batch, Some((mean, var))) = (n.kind, stats.next()) {
                    n.update_running(mean, var, trace.rows, resident);
                }
            }
        }
        Ok(out)
    }

    /// Every parameter tensor's host values, in a fixed order (for tests and
    /// finite differences): per layer `w`, `b`, activation parameters, then
    /// `gamma`, `beta`.
    pub fn params_mut(&mut self) -> Vec<ParamRef<'_, D>> {
        self.refresh_host();
        let mut out = Vec::new();
        for l in &mut self.layers {
            out.push(ParamRef::Matrix(&mut l.w));
            out.push(ParamRef::Vector(&mut l.b));
            for p in &mut l.act_params {
                out.push(ParamRef::Vector(p));
            }
            if let Some(n) = &mut l.norm {
                out.push(ParamRef::Vector(&mut n.gamma));
                out.push(ParamRef::Vector(&mut n.beta));
            }
        }
        out
    }
}

/// One optimizer step of a parameter of either shape, on its host copy or
/// on the device.
trait ParamStep<D: EngineDevice> {
    fn on_host(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        sync: bool,
    ) -> Result<GradSums, TrainError>;
    fn on_device(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        sums: bool,
    ) -> Result<GradSums, TrainError>;
}

impl<D: EngineDevice, S: Shape> ParamStep<D> for Param<D, S> {
    fn on_host(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        sync: bool,
    ) -> Result<GradSums, TrainError> {
        self.step(grads, opt, sync)
    }

    fn on_device(
        &mut self,
        grads: &mut Gradients<f32, D>,
        opt: &Optimizer,
        sums: bool,
    ) -> Result<GradSums, TrainError> {
        self.step_on_device(grads, opt, sums)
    }
}

/// A mutable view of one parameter of either shape.
pub enum ParamRef<'a, D: EngineDevice> {
    /// A weight matrix.
    Matrix(&'a mut Param<D, (usize, usize)>),
    /// A vector (bias, scale, shift, activation parameter).
    Vector(&'a mut Param<D, (usize,)>),
}

impl<D: EngineDevice> ParamRef<'_, D> {
    /// The host values.
    pub fn host(&mut self) -> &mut Vec<f32> {
        match self {
            ParamRef::Matrix(p) => Arc::make_mut(&mut p.host),
            ParamRef::Vector(p) => Arc::make_mut(&mut p.host),
        }
    }

    /// Copies host values to the tensor.
    pub fn sync(&mut self) {
        match self {
            ParamRef::Matrix(p) => p.sync(),
            ParamRef::Vector(p) => p.sync(),
        }
    }

    /// The parameter's gradient.
    pub fn grad(&self, grads: &mut Gradients<f32, D>) -> Result<Vec<f32>, TrainError> {
        match self {
            ParamRef::Matrix(p) => p.grad(grads),
            ParamRef::Vector(p) => p.grad(grads),
        }
    }
}

fn compile(a: &ActivationConfig) -> Result<Option<Compiled>, TrainError> {
    if is_identity(a) {
        return Ok(None);
    }
    Compiled::new(a)
        .map(Some)
        .map_err(|e| TrainError::Activation(a.name.clone(), e.to_string()))
}
