//! The training engine: one resolved job in, its metrics out.
//!
//! [`train`] builds the network of a [`JobConfig`] on a dfdx device
//! ([`network`]), trains it epoch by epoch with the job's optimizer
//! ([`optim`]) and loss ([`loss`]), and measures what the seed studies
//! measure ([`diagnostics`]) at epoch 0 (the network at initialisation),
//! every `eval_every` epochs and after the last. It returns tidy [`Metric`] rows: one per epoch, split,
//! layer and metric.
//!
//! No pass is run twice: in full-batch training an evaluation takes the
//! training split's outputs and the probe rows' activations from the next
//! step's forward pass, which runs at the same weights (`Pending`); the
//! tests in `tests.rs` hold that equal, bit for bit, to passes of its own.
//!
//! Determinism: initial weights depend only on the seed, the layer shapes
//! and the init scheme ([`init`]); the data order only on the seed; a job
//! runs on one thread (a one-thread rayon pool, so dfdx's matrix products do
//! not fan out), so running a job twice gives bit-identical metrics.
//!
//! A NaN or infinite loss ends the job as diverged ([`Outcome::diverged_in`]), keeping the
//! metrics of the epochs before; the runner records it and goes on.
//!
//! What is measured (names, splits, per layer or not) is the metric
//! catalogue's ([`crate::results::metric`]): the recorder takes catalogue
//! kinds, never names, and checks each value's split and layer against its
//! entry in debug builds. Which metrics a job records follows its `record`
//! list; loss and accuracy (or MAE and MSE) always.

pub mod dense;
pub mod device;
pub mod diagnostics;
pub mod init;
pub mod loss;
pub mod network;
pub mod optim;
mod stack;

pub use stack::{stack_key, train_stack};

use std::borrow::Cow;
use std::time::{Duration, Instant};

use dfdx::tensor::{Gradients, NoneTape, Tensor, Trace as _};
use dfdx::tensor_ops::Backward;
use dfdx::tensor_ops::GatherTo;

use crate::config::job::{JobConfig, LossConfig, Norm, Record, Task};
use crate::data::{Dataset, SplitData};
pub use crate::results::{BoundaryPoint, Metric};
use crate::results::{JobStatus, MetricKind, Split};
use dense::ProbeLayer;
use device::{Chosen, EngineDevice, Mat};
use network::{Network, Trace};
use optim::Optimizer;

/// Why a job could not train (a diverging job is not an error: see [`Outcome::diverged_in`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrainError {
    /// `device = "cuda"` in a build without the `cuda` feature.
    #[error("device \"cuda\" needs a build with CUDA support")]
    CudaNotBuilt,
    /// The device failed (allocation, driver).
    #[error("device error: {0}")]
    Device(String),
    /// An activation formula did not compile.
    #[error("activation `{0}`: {1}")]
    Activation(String, String),
    /// The dataset does not fit the job.
    #[error("dataset `{dataset}` has {got} input features, the job expects {want}")]
    Shape {
        /// The dataset's name.
        dataset: String,
        /// Its features per sample.
        got: usize,
        /// What the job's first layer takes.
        want: usize,
    },
    /// The per-job thread pool could not start.
    #[error("could not start the job's thread: {0}")]
    Thread(String),
}

impl TrainError {
    /// A hint for the user, where one helps.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            TrainError::CudaNotBuilt => Some(
                "rebuild with `cargo build --release --features cuda` (needs the CUDA toolkit) \
                 or `just build-cuda` (no toolkit; see docs/training.md), \
                 or set device = \"auto\" to use a GPU only when there is one",
            ),
            _ => None,
        }
    }
}

/// Everything a job produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The epoch (1-based) in which the loss became NaN or infinite, for a
    /// job that diverged; `None` when every epoch ran.
    pub diverged_in: Option<usize>,
    /// Tidy metrics.
    pub metrics: Vec<Metric>,
    /// Decision-boundary grids, when recorded.
    pub boundary: Vec<BoundaryPoint>,
    /// `cpu` or `cuda:0`.
    pub device: &'static str,
    /// Epochs that finished.
    pub epochs_completed: usize,
    /// Seconds spent in training steps (not evaluation).
    pub train_seconds: f64,
}

impl Outcome {
    /// How the training ended, as the results record it: `ok` or
    /// `diverged` (a training that could not run is an error, not an
    /// outcome, and its job is recorded as `failed`).
    pub fn status(&self) -> JobStatus {
        match self.diverged_in {
            None => JobStatus::Ok,
            Some(_) => JobStatus::Diverged,
        }
    }
}

/// Progress of a job after each epoch.
#[derive(Debug, Clone, Copy)]
pub struct EpochProgress {
    /// The epoch just finished.
    pub epoch: usize,
    /// Epochs in the job.
    pub epochs: usize,
    /// Its mean minibatch loss.
    pub batch_loss: f64,
}

/// Resolution of the decision-boundary grid (points per side).
pub const BOUNDARY_RES: usize = 50;
/// Rows per forward pass during evaluation: large, so that the matrix
/// products run at full speed (no tape is recorded there).
const EVAL_CHUNK: usize = 8192;

/// Trains one job on `data` (which must be the job's dataset), calling
/// `progress` after each epoch.
pub fn train(
    job: &JobConfig,
    data: &Dataset,
    progress: &mut (dyn FnMut(EpochProgress) + Send),
) -> Result<Outcome, TrainError> {
    on_job_thread(job, data, |chosen| match chosen {
        Chosen::Cpu => train_on::<dfdx::tensor::Cpu>(job, data, progress, Sharing::Allowed),
        #[cfg(feature = "cuda")]
        Chosen::Cuda => train_on::<dfdx::tensor::Cuda>(job, data, progress, Sharing::Allowed),
        #[cfg(not(feature = "cuda"))]
        Chosen::Cuda => Err(TrainError::CudaNotBuilt),
    })?
}

/// Runs `run` with the device `job` trains on, once `data` is checked to
/// fit it: on a plain thread inside a one-thread rayon pool (so dfdx's
/// matrix products do not fan out; see [`on_plain_thread`]), with freed
/// memory kept for reuse. A job, or a stack of jobs, trains this way.
fn on_job_thread<R: Send>(
    job: &JobConfig,
    data: &Dataset,
    run: impl FnOnce(Chosen) -> R + Send,
) -> Result<R, TrainError> {
    check_shape(job, data)?;
    let chosen = device::choose(job.device)?;
    keep_freed_memory();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| TrainError::Thread(e.to_string()))?;
    Ok(on_plain_thread(|| pool.install(|| run(chosen))))
}

/// Whether `data` fits the job's first layer.
fn check_shape(job: &JobConfig, data: &Dataset) -> Result<(), TrainError> {
    if data.input_dim != job.dataset.input_dim() {
        return Err(TrainError::Shape {
            dataset: data.name.to_string(),
            got: data.input_dim,
            want: job.dataset.input_dim(),
        });
    }
    Ok(())
}

/// Tells glibc's allocator to keep freed memory for reuse (once per process).
///
/// A training step frees and allocates the same buffers over and over. By
/// default glibc hands large ones back to the kernel on every free (a
/// mapping per buffer, or shrinking the thread's arena), so the next step
/// faults the pages in and clears them again: measured at about a fifth of
/// a small network's time (`perf`, the tiny benchmark). A fixed mapping
/// threshold of 256 MiB and no trimming keep the memory in the process; its
/// peak stays what the largest step needs.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator parameters; it is
            // called once, and glibc serialises it with allocation.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            }
        });
    }
}

/// Runs `f` on a plain (scoped) thread and waits for it; a panic in `f`
/// resumes here. For work that waits on a rayon pool (a job's one-thread
/// pool, polars' writer pool) when called from a worker of another pool (the
/// runner's): there, `install` lets the waiting worker steal and start
/// further jobs, nesting them on its stack, while a joined plain thread just
/// blocks.
pub fn on_plain_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match std::thread::scope(|s| s.spawn(f).join()) {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Where the metrics of one epoch go.
struct Recorder {
    metrics: Vec<Metric>,
    epoch: u32,
}

impl Recorder {
    /// Records `value` of `kind`, whose catalogue entry must allow this
    /// split and layer (checked in debug builds, so every test run checks
    /// the emission against the catalogue).
    fn put(&mut self, split: Option<Split>, layer: Option<usize>, kind: MetricKind, value: f64) {
        let def = kind.def();
        debug_assert!(!def.indexed, "{} is indexed", def.name);
        self.push(split, layer, kind, kind.name().to_string(), value);
    }

    /// Records the `k`-th value (from 1) of an indexed metric.
    fn put_indexed(&mut self, kind: MetricKind, k: usize, value: f64) {
        debug_assert!(kind.def().indexed, "{} is not indexed", kind.name());
        self.push(None, None, kind, kind.indexed(k), value);
    }

    fn push(
        &mut self,
        split: Option<Split>,
        layer: Option<usize>,
        kind: MetricKind,
        metric: String,
        value: f64,
    ) {
        let def = kind.def();
        debug_assert!(
            split.map_or(def.splits.is_empty(), |s| def.splits.contains(&s)),
            "{metric} on split {split:?}: the catalogue says {:?}",
            def.splits
        );
        debug_assert_eq!(layer.is_some(), def.per_layer, "{metric}: per layer?");
        self.metrics.push(Metric {
            epoch: self.epoch,
            split,
            layer: layer.map(|l| l as u32),
            metric,
            value,
        });
    }
}

/// Whether an evaluation may take the training split's outputs from the
/// next step's forward pass (see [`Pending`]); tests turn it off to hold
/// the two ways equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sharing {
    Allowed,
    #[cfg_attr(not(test), allow(dead_code))]
    Off,
}

/// An evaluation waiting for the next step's forward pass.
///
/// With full-batch training (one step per epoch over every training row),
/// no dropout and no normalisation, the forward pass of epoch `e + 1` runs
/// the whole training split through the very weights that the evaluation
/// after epoch `e` measures, with the same kernels: its outputs, put back
/// in row order, are that evaluation's training-split outputs bit for bit.
/// So that evaluation waits for the forward pass and skips its own pass
/// over the training split, which was a third of an XOR job's time. It is
/// recorded before the step's own metrics, so the metric rows come in the
/// same order; the last epoch's evaluation has no next step and runs as
/// usual.
#[derive(Debug)]
struct Pending {
    /// Whether this job's steps can serve evaluations at all.
    possible: bool,
    /// Whether an evaluation waits now.
    waiting: bool,
}

impl Pending {
    fn new<D: EngineDevice>(
        job: &JobConfig,
        data: &Dataset,
        net: &Network<D>,
        sharing: Sharing,
    ) -> Pending {
        Pending {
            possible: sharing == Sharing::Allowed
                && job.steps_pass_the_training_split(data.train.len())
                && net.runs_on_host(),
            waiting: false,
        }
    }

    /// The evaluation due after `epoch`: deferred to the next step where
    /// one comes and can serve it, else run now.
    fn due<D: EngineDevice>(
        &mut self,
        epoch: usize,
        ev: &Eval<'_>,
        net: &Network<D>,
        rec: &mut Recorder,
    ) -> Result<(), TrainError> {
        if self.possible && epoch < ev.job.epochs {
            self.waiting = true;
            return Ok(());
        }
        evaluate(ev, net, rec, None)
    }

    /// The batch rows (of training rows `rows`) whose activations a step
    /// keeps for the waiting evaluation: the probe rows, where it probes.
    fn rows_to_keep<D: EngineDevice>(
        &self,
        ev: &Eval<'_>,
        net: &Network<D>,
        rows: &[usize],
    ) -> Vec<usize> {
        if self.waiting && probing(ev.job, net, ev.probe) {
            positions_of_first(rows, ev.probe)
        } else {
            Vec::new()
        }
    }

    /// Runs the waiting evaluation, if any, from a step's forward pass
    /// (`out` for the training rows `rows`, `trace` with the kept rows);
    /// returns the time it took.
    fn serve<D: EngineDevice, T: dfdx::tensor::Tape<f32, D>>(
        &mut self,
        ev: &Eval<'_>,
        net: &Network<D>,
        rec: &mut Recorder,
        rows: &[usize],
        out: &Mat<D, T>,
        trace: &mut Trace<D>,
    ) -> Result<Duration, TrainError> {
        if !self.waiting {
            return Ok(Duration::ZERO);
        }
        let t = Instant::now();
        let pass = StepPass {
            out: in_row_order(&out.retaped::<NoneTape>().as_vec(), rows, ev.out_dim),
            probe: std::mem::take(&mut trace.kept),
        };
        evaluate(ev, net, rec, Some(pass))?;
        self.waiting = false;
        Ok(t.elapsed())
    }
}

/// What every evaluation of a job reads.
#[derive(Clone, Copy)]
struct Eval<'a> {
    job: &'a JobConfig,
    data: &'a Dataset,
    /// Rows in the probe set (the training split's first).
    probe: usize,
    /// The network's outputs per row.
    out_dim: usize,
}

fn train_on<D: EngineDevice>(
    job: &JobConfig,
    data: &Dataset,
    progress: &mut (dyn FnMut(EpochProgress) + Send),
    sharing: Sharing,
) -> Result<Outcome, TrainError> {
    let r = stack::Replica::<D>::start(job, data, sharing)?;
    train_alone(r, data, progress)
}

/// Trains a started replica through its epochs, alone.
fn train_alone<D: EngineDevice>(
    mut r: stack::Replica<'_, D>,
    data: &Dataset,
    progress: &mut (dyn FnMut(EpochProgress) + Send),
) -> Result<Outcome, TrainError> {
    for epoch in 1..=r.job.epochs {
        r.begin_epoch(epoch);
        for k in 0..r.steps_per_epoch() {
            r.step(k)?;
            if r.stopped() {
                break;
            }
        }
        if r.stopped() {
            break;
        }
        r.end_epoch(progress)?;
    }
    Ok(r.finish(data))
}

/// One job's training in progress: its network and optimizer, the metrics
/// so far, and an evaluation that may wait for the next step.
struct Training<'a, D: EngineDevice> {
    ev: Eval<'a>,
    dev: D,
    net: Network<D>,
    opt: Optimizer,
    rec: Recorder,
    pending: Pending,
    /// The current batch's targets (one buffer for the whole job).
    targets: Vec<f32>,
    /// The training split on the device, where the device keeps its
    /// inputs there ([`EngineDevice::RESIDENT_INPUTS`]).
    resident: Option<Resident<D>>,
}

/// The whole training split uploaded once: each step gathers its batch's
/// rows on the device instead of uploading them (only the row indices
/// cross), for devices where an upload per step is the cost.
struct Resident<D: EngineDevice> {
    /// Inputs, `rows × input_dim`.
    x: Mat<D, NoneTape>,
    /// Encoded targets, `rows × out_dim`.
    t: Mat<D, NoneTape>,
}

impl<D: EngineDevice> Resident<D> {
    fn upload(dev: &D, data: &Dataset, out_dim: usize) -> Resident<D> {
        let all: Vec<usize> = (0..data.train.len()).collect();
        let mut targets = Vec::new();
        loss::targets(&data.train.targets, &all, out_dim, &mut targets);
        Resident {
            x: dev.tensor_from_vec(gather_rows(&data.train, &all), (all.len(), data.input_dim)),
            t: dev.tensor_from_vec(targets, (all.len(), out_dim)),
        }
    }

    /// The inputs and targets of rows `idx`, gathered on the device.
    fn batch(&self, dev: &D, idx: &[usize]) -> (Mat<D, NoneTape>, Mat<D, NoneTape>) {
        let rows: Tensor<(usize,), usize, D> = dev.tensor_from_vec(idx.to_vec(), (idx.len(),));
        let x: Mat<D, NoneTape> = self.x.clone().gather(rows.clone());
        let t: Mat<D, NoneTape> = self.t.clone().gather(rows);
        (x, t)
    }
}

/// What one epoch's steps did.
struct EpochSteps {
    /// Each step's mean loss times its rows, summed.
    loss_sum: f64,
    /// Rows trained on.
    seen: usize,
    /// Seconds spent in the steps (an evaluation served on the way excluded).
    seconds: f64,
    grads: GradLog,
}

impl<'a, D: EngineDevice> Training<'a, D> {
    fn new(
        job: &'a JobConfig,
        data: &'a Dataset,
        sharing: Sharing,
    ) -> Result<Training<'a, D>, TrainError> {
        let dev = D::build(init::derive_seed(job.seed, init::Stream::Dropout))?;
        let net = Network::<D>::new(&dev, job)?;
        let pending = Pending::new(job, data, &net, sharing);
        let out_dim = *job.layer_sizes().last().unwrap_or(&1);
        let resident = D::RESIDENT_INPUTS.then(|| Resident::upload(&dev, data, out_dim));
        Ok(Training {
            ev: Eval {
                job,
                data,
                probe: job.probe_samples.min(data.train.len()),
                out_dim: *job.layer_sizes().last().unwrap_or(&1),
            },
            dev,
            net,
            opt: Optimizer::new(job.optimizer),
            rec: Recorder {
                metrics: Vec::new(),
                epoch: 0,
            },
            pending,
            targets: Vec::new(),
            resident,
        })
    }

    /// This step's inputs and targets for the training rows `idx`: gathered
    /// on the device where the split is resident, else gathered on the host
    /// and uploaded.
    fn batch(&mut self, idx: &[usize]) -> (Mat<D, NoneTape>, Mat<D, NoneTape>) {
        if let Some(r) = &self.resident {
            return r.batch(&self.dev, idx);
        }
        let Eval { data, out_dim, .. } = self.ev;
        let xb = gather_rows(&data.train, idx);
        loss::targets(&data.train.targets, idx, out_dim, &mut self.targets);
        let x = self.dev.tensor_from_vec(xb, (idx.len(), data.input_dim));
        let t = self
            .dev
            .tensor_from_vec(self.targets.clone(), (idx.len(), out_dim));
        (x, t)
    }

    /// The evaluation due after `epoch` (see [`Pending::due`]).
    fn evaluation_due(&mut self, epoch: usize) -> Result<(), TrainError> {
        self.net.refresh_host();
        self.pending.due(epoch, &self.ev, &self.net, &mut self.rec)
    }

    /// The weights at the start of an epoch, where update ratios are
    /// recorded (copy-on-write: the epoch's first update copies).
    fn weights_for_update_ratios(&mut self) -> Vec<std::sync::Arc<Vec<f32>>> {
        if self.ev.job.record.contains(&Record::UpdateRatio) {
            self.net.refresh_host();
            self.net.layers.iter().map(|l| l.w.host.clone()).collect()
        } else {
            Vec::new()
        }
    }

    /// One optimizer step on the training rows `idx`: its loss, or `None`
    /// for a NaN or infinite one (then nothing is updated). A waiting
    /// evaluation is served by its forward pass; `evaluating` gets the
    /// time that took.
    fn step(
        &mut self,
        epoch: usize,
        idx: &[usize],
        grads: &mut GradLog,
        evaluating: &mut Duration,
    ) -> Result<Option<f32>, TrainError> {
        let job = self.ev.job;
        let (x, t) = self.batch(idx);
        let mut trace = Trace {
            keep: self.pending.rows_to_keep(&self.ev, &self.net, idx),
            ..Trace::default()
        };
        let out = self
            .net
            .forward(x.trace(Gradients::leaky()), true, &mut trace);
        *evaluating +=
            self.pending
                .serve(&self.ev, &self.net, &mut self.rec, idx, &out, &mut trace)?;
        let l = loss::train_loss(job.loss, out, t);
        let lv = l.as_vec().first().copied().unwrap_or(f32::NAN);
        if !lv.is_finite() {
            return Ok(None);
        }
        let mut g = l.backward();
        self.opt.begin_step();
        let sums = job.record.contains(&Record::GradNorms);
        let layer_grads = self.net.step(&mut g, &self.opt, &trace, sums)?;
        if epoch == 1 && grads.steps == 0 && job.record.contains(&Record::GradNorms) {
            // The first step's gradient is the network's at initialisation.
            GradLog::record_initial(&layer_grads, &mut self.rec);
        }
        grads.add(&layer_grads);
        Ok(Some(lv))
    }

    /// Records the epoch's training figures; returns its mean batch loss.
    fn record_epoch(
        &mut self,
        epoch: usize,
        e: &EpochSteps,
        start: &[std::sync::Arc<Vec<f32>>],
    ) -> f64 {
        let rec = &mut self.rec;
        rec.epoch = epoch as u32;
        let batch_loss = e.loss_sum / e.seen.max(1) as f64;
        rec.put(Some(Split::Train), None, MetricKind::BatchLoss, batch_loss);
        rec.put(
            Some(Split::Train),
            None,
            MetricKind::EpochSeconds,
            e.seconds,
        );
        rec.put(
            Some(Split::Train),
            None,
            MetricKind::SamplesPerSecond,
            e.seen as f64 / e.seconds.max(1e-12),
        );
        if self.ev.job.record.contains(&Record::GradNorms) {
            e.grads.record(rec);
        }
        if self.ev.job.record.contains(&Record::UpdateRatio) {
            self.net.refresh_host();
            record_update_ratios(&self.net, start, rec);
        }
        batch_loss
    }
}

/// Each layer's update ratio over the epoch: the change of its weights
/// since `start`, relative to their norm then.
fn record_update_ratios<D: EngineDevice>(
    net: &Network<D>,
    start: &[std::sync::Arc<Vec<f32>>],
    rec: &mut Recorder,
) {
    for (k, (l, s)) in net.layers.iter().zip(start).enumerate() {
        let d: f64 =
            l.w.host
                .iter()
                .zip(s.iter())
                .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                .sum();
        let n: f64 = s.iter().map(|v| (*v as f64).powi(2)).sum();
        rec.put(
            None,
            Some(k + 1),
            MetricKind::UpdateRatio,
            d.sqrt() / n.sqrt().max(1e-30),
        );
    }
}

/// Per-layer gradient statistics over one epoch's steps.
struct GradLog {
    /// Per layer: sums over steps of the weight gradient's L2 norm, RMS and
    /// mean |g|, and of the bias gradient's L2 norm.
    sums: Vec<[f64; 4]>,
    /// Per layer: the weight gradient's L2 norm at the last step.
    last: Vec<f64>,
    steps: usize,
}

impl GradLog {
    /// Metric names of [`GradLog::stats`], in order.
    const NAMES: [MetricKind; 4] = [
        MetricKind::GradNormMean,
        MetricKind::GradRms,
        MetricKind::GradMeanAbs,
        MetricKind::BiasGradNorm,
    ];

    fn new(depth: usize) -> GradLog {
        GradLog {
            sums: vec![[0.0; 4]; depth],
            last: vec![0.0; depth],
            steps: 0,
        }
    }

    /// One layer's statistics in one step, in the order of [`GradLog::NAMES`].
    fn stats(g: &network::LayerGrads) -> [f64; 4] {
        [
            g.weight.norm(),
            g.weight.rms(),
            g.weight.mean_abs(),
            g.bias.norm(),
        ]
    }

    fn add(&mut self, grads: &[network::LayerGrads]) {
        for ((sum, last), g) in self.sums.iter_mut().zip(&mut self.last).zip(grads) {
            for (s, v) in sum.iter_mut().zip(Self::stats(g)) {
                *s += v;
            }
            *last = g.weight.norm();
        }
        self.steps += 1;
    }

    /// The epoch's means over its steps, and the last step's norm.
    fn record(&self, rec: &mut Recorder) {
        for (k, (sum, last)) in self.sums.iter().zip(&self.last).enumerate() {
            for (name, s) in Self::NAMES.iter().zip(sum) {
                rec.put(None, Some(k + 1), *name, s / self.steps.max(1) as f64);
            }
            rec.put(None, Some(k + 1), MetricKind::GradNormLast, *last);
        }
    }

    /// The statistics of the gradient at initialisation (the first step's),
    /// as epoch 0; the L2 norm stays an epoch ≥ 1 metric.
    fn record_initial(grads: &[network::LayerGrads], rec: &mut Recorder) {
        for (k, g) in grads.iter().enumerate() {
            for (name, v) in Self::NAMES.iter().zip(Self::stats(g)).skip(1) {
                rec.put(None, Some(k + 1), *name, v);
            }
        }
    }
}

/// The training split as a full-batch step's forward pass saw it (see
/// [`Pending`]).
struct StepPass {
    /// The network's outputs, in training-split row order.
    out: Vec<f32>,
    /// Each hidden layer's activations and derivatives on the probe rows
    /// (empty where the evaluation does not probe).
    probe: Vec<ProbeLayer>,
}

/// Where the training rows `0..n` sit in a batch of rows `rows` (which
/// holds each of them once), in row order.
fn positions_of_first(rows: &[usize], n: usize) -> Vec<usize> {
    let mut at = vec![0; n];
    for (j, &r) in rows.iter().enumerate() {
        if r < n {
            at[r] = j;
        }
    }
    at
}

/// Whether an evaluation computes the probe set's statistics.
fn probing<D: EngineDevice>(job: &JobConfig, net: &Network<D>, probe: usize) -> bool {
    let wanted =
        job.record.contains(&Record::ActivationStats) || job.record.contains(&Record::DeadUnits);
    wanted && probe > 0 && net.layers.len() > 1
}

/// A full batch's outputs (`rows[j]` is the training row of batch row `j`)
/// put back in training-split order.
fn in_row_order(y: &[f32], rows: &[usize], out_dim: usize) -> Vec<f32> {
    let mut ordered = vec![0.0f32; y.len()];
    for (j, &r) in rows.iter().enumerate() {
        ordered[r * out_dim..(r + 1) * out_dim].copy_from_slice(&y[j * out_dim..(j + 1) * out_dim]);
    }
    ordered
}

/// The metrics of the current state: loss and accuracy on both splits,
/// weight norms, probe statistics, singular values. `step`, when given,
/// is the training split as a step's forward pass at these weights saw it
/// (see [`Pending`]), used instead of passes of its own.
fn evaluate<D: EngineDevice>(
    ev: &Eval<'_>,
    net: &Network<D>,
    rec: &mut Recorder,
    step: Option<StepPass>,
) -> Result<(), TrainError> {
    let Eval {
        job,
        data,
        probe,
        out_dim,
    } = *ev;
    let want_stats = job.record.contains(&Record::ActivationStats);
    let want_dead = job.record.contains(&Record::DeadUnits);
    let probing = probing(job, net, probe);
    // The probe rows are the training split's first rows: where the network
    // runs on the host, that split's first chunk keeps their activations,
    // and one forward pass serves both.
    let keep = if probing && net.runs_on_host() && probe <= EVAL_CHUNK && step.is_none() {
        probe
    } else {
        0
    };
    let (train_out, mut probed) = match step {
        Some(s) => {
            debug_assert!(
                !probing || s.probe.len() == net.layers.len() - 1,
                "a step kept {} of {} hidden layers",
                s.probe.len(),
                net.layers.len() - 1
            );
            (Some(s.out), probing.then_some(s.probe))
        }
        None => (None, None),
    };
    let splits = [
        (Split::Train, &data.train),
        (Split::Valid, &data.valid),
        (Split::Test, &data.test),
    ];
    for (name, split) in splits {
        if split.is_empty() {
            continue;
        }
        let (keep, given) = match name {
            Split::Train => (keep, train_out.as_deref()),
            _ => (0, None),
        };
        let (tot, kept) = split_totals(job, net, split, out_dim, keep, given);
        if keep > 0 {
            probed = Some(kept);
        }
        rec.put(Some(name), None, MetricKind::Loss, tot.loss(job.loss));
        match data.task {
            Task::Classification(_) => {
                rec.put(Some(name), None, MetricKind::Accuracy, tot.accuracy())
            }
            Task::Regression => {
                rec.put(Some(name), None, MetricKind::Mae, tot.mae());
                rec.put(Some(name), None, MetricKind::Mse, tot.mse());
            }
        }
        if job.record.contains(&Record::OutputZeros) {
            rec.put(
                Some(name),
                None,
                MetricKind::OutputZeroFraction,
                tot.zero_fraction(),
            );
        }
    }
    if job.record.contains(&Record::WeightNorms) {
        for (k, l) in net.layers.iter().enumerate() {
            let n: f64 = l.w.host.iter().map(|v| (*v as f64).powi(2)).sum();
            rec.put(None, Some(k + 1), MetricKind::WeightNorm, n.sqrt());
        }
    }
    if probing {
        let layers = probed.unwrap_or_else(|| probe_pass(data, net, probe));
        probe_stats(net, &layers, rec, want_stats, want_dead);
    }
    if job.record.contains(&Record::SingularValues)
        && job.norm == Norm::None
        && net.layers[..net.layers.len() - 1]
            .iter()
            .all(|l| l.act.is_none())
    {
        let mats: Vec<&[f32]> = net.layers.iter().map(|l| l.w.host.as_slice()).collect();
        let mut sizes = vec![net.layers[0].fan_in];
        sizes.extend(net.layers.iter().map(|l| l.fan_out));
        let sv = diagnostics::collapsed_singular_values(&mats, &sizes);
        for (k, v) in sv.iter().enumerate() {
            rec.put_indexed(MetricKind::SingularValue, k + 1, *v);
        }
    }
    Ok(())
}

/// Loss, accuracy and error sums over a whole split, in chunks; with
/// `keep > 0` (a network that runs on the host) also each hidden layer's
/// activations and derivatives on the split's first `keep` rows. `given`
/// is the network's output on the split in row order, where it is known.
fn split_totals<D: EngineDevice>(
    job: &JobConfig,
    net: &Network<D>,
    split: &SplitData,
    out_dim: usize,
    keep: usize,
    given: Option<&[f32]>,
) -> (loss::Totals, Vec<ProbeLayer>) {
    let mut tot = loss::Totals::default();
    let mut kept = Vec::new();
    let mut tbuf = Vec::new();
    let idx: Vec<usize> = (0..split.len()).collect();
    for (i, chunk) in idx.chunks(EVAL_CHUNK).enumerate() {
        let out: Cow<[f32]> = if let Some(y) = given {
            Cow::Borrowed(&y[chunk[0] * out_dim..(chunk[0] + chunk.len()) * out_dim])
        } else if net.runs_on_host() {
            // On the host copies directly: no tensors to fill and copy out.
            let keep = if i == 0 { keep.min(chunk.len()) } else { 0 };
            let (out, layers) = host_forward(net, gather_rows(split, chunk), keep);
            if keep > 0 {
                kept = layers;
            }
            Cow::Owned(out)
        } else {
            Cow::Owned(forward_rows(net, split, chunk, &mut Trace::default()))
        };
        loss::targets(&split.targets, chunk, out_dim, &mut tbuf);
        let classes = split
            .targets
            .classes()
            .map(|c| &c[chunk[0]..chunk[0] + chunk.len()]);
        tot.add(job.loss, &out, &tbuf, out_dim, classes);
    }
    (tot, kept)
}

/// The network's output (evaluation mode) for rows `idx` of a split.
fn forward_rows<D: EngineDevice>(
    net: &Network<D>,
    split: &SplitData,
    idx: &[usize],
    trace: &mut Trace<D>,
) -> Vec<f32> {
    let xb = gather_rows(split, idx);
    let x: Mat<D, NoneTape> = net
        .device()
        .tensor_from_vec(xb, (idx.len(), split.input_dim));
    net.forward(x, false, trace).as_vec()
}

/// Rows `idx` of a split's inputs, row-major.
fn gather_rows(split: &SplitData, idx: &[usize]) -> Vec<f32> {
    let mut xb = Vec::with_capacity(idx.len() * split.input_dim);
    for &i in idx {
        xb.extend_from_slice(split.row(i));
    }
    xb
}

/// Activation statistics and dead/saturated units of every hidden layer
/// from its activations and derivatives on the probe set.
fn probe_stats<D: EngineDevice>(
    net: &Network<D>,
    layers: &[ProbeLayer],
    rec: &mut Recorder,
    want_stats: bool,
    want_dead: bool,
) {
    for (k, (a, d)) in layers.iter().enumerate() {
        let s = diagnostics::layer_stats(a, d, net.layers[k].fan_out);
        let layer = Some(k + 1);
        if want_stats {
            rec.put(Some(Split::Probe), layer, MetricKind::ActMean, s.mean);
            rec.put(Some(Split::Probe), layer, MetricKind::ActStd, s.std);
            rec.put(Some(Split::Probe), layer, MetricKind::ActMax, s.max);
            rec.put(Some(Split::Probe), layer, MetricKind::Sparsity, s.sparsity);
        }
        if want_dead {
            rec.put(Some(Split::Probe), layer, MetricKind::DeadFraction, s.dead);
            rec.put(
                Some(Split::Probe),
                layer,
                MetricKind::SaturatedFraction,
                s.saturated,
            );
        }
    }
}

/// Each hidden layer's activations and derivatives on the first `probe`
/// training rows, by a pass of their own (where the training split's
/// evaluation could not keep them).
fn probe_pass<D: EngineDevice>(data: &Dataset, net: &Network<D>, probe: usize) -> Vec<ProbeLayer> {
    let rows: Vec<usize> = (0..probe).collect();
    if net.layers.iter().all(|l| l.norm.is_none()) {
        return host_forward(net, gather_rows(&data.train, &rows), probe).1;
    }
    // Normalisation: a forward pass that captures the normalised
    // pre-activations, then the activation and its derivative on each.
    let mut trace = Trace {
        capture: true,
        ..Trace::default()
    };
    forward_rows(net, &data.train, &rows, &mut trace);
    trace
        .pre
        .into_iter()
        .zip(&net.layers)
        .map(|(z, l)| activate_with_derivative(l, z))
        .collect()
}

/// The evaluation forward pass of the row-major input `x` on the host
/// copies of the weights (a network without normalisation), keeping each
/// hidden layer's activations and derivatives on the first `keep` rows.
///
/// The products go through [`dense::affine`] and the activations through
/// the same compiled programs as the fused layers', so the output is the one
/// [`Network::forward`] gives on the CPU; on the kept rows the activation
/// runs once, with its derivative.
fn host_forward<D: EngineDevice>(
    net: &Network<D>,
    x: Vec<f32>,
    keep: usize,
) -> (Vec<f32>, Vec<ProbeLayer>) {
    let rows = x.len() / net.layers[0].fan_in.max(1);
    let last = net.layers.len() - 1;
    let mut kept = Vec::with_capacity(last);
    let mut h = x;
    for (i, l) in net.layers.iter().enumerate() {
        let mut z = dense::affine(&h, (rows, l.fan_in), &l.w.host, &l.b.host);
        let head = if i < last { keep * l.fan_out } else { 0 };
        if head > 0 {
            let d = derivative_in_place(l, &mut z[..head]);
            kept.push((z[..head].to_vec(), d));
        }
        if let Some(act) = &l.act {
            let ps: Vec<&[f32]> = l.act_params.iter().map(|p| p.host.as_slice()).collect();
            act.run_in_place(&mut z[head..], &ps, None);
        }
        h = z;
    }
    (h, kept)
}

/// A layer's activation `f(z)` and derivative `f'(z)` (the identity's is 1).
fn activate_with_derivative<D: EngineDevice>(l: &network::Layer<D>, mut z: Vec<f32>) -> ProbeLayer {
    let d = derivative_in_place(l, &mut z);
    (z, d)
}

/// `z` turned into `f(z)` in place; returns `f'(z)` (the identity's is 1).
fn derivative_in_place<D: EngineDevice>(l: &network::Layer<D>, z: &mut [f32]) -> Vec<f32> {
    let Some(act) = &l.act else {
        return vec![1.0f32; z.len()];
    };
    let mut d = vec![0.0f32; z.len()];
    let ps: Vec<&[f32]> = l.act_params.iter().map(|p| p.host.as_slice()).collect();
    act.run_in_place(z, &ps, Some((&mut d, &mut [])));
    d
}

/// The model's output over a grid spanning the data (2-D inputs only).
fn decision_boundary<D: EngineDevice>(
    job: &JobConfig,
    data: &Dataset,
    net: &Network<D>,
    epoch: u32,
    out: &mut Vec<BoundaryPoint>,
) {
    let Some(b) = &data.bounds else { return };
    if data.input_dim != 2 {
        return;
    }
    let pts = diagnostics::grid([b.min[0], b.min[1]], [b.max[0], b.max[1]], BOUNDARY_RES);
    let n = pts.len() / 2;
    let x: Mat<D, NoneTape> = net.device().tensor_from_vec(pts.clone(), (n, 2));
    let y = net.forward(x, false, &mut Trace::default()).as_vec();
    let od = y.len() / n.max(1);
    let logits = matches!(job.loss, LossConfig::Bce);
    for i in 0..n {
        let o = &y[i * od..(i + 1) * od];
        let value = match (data.task, od) {
            (Task::Regression, _) => o[0],
            (_, 1) if logits => 1.0 / (1.0 + (-o[0]).exp()),
            (_, 1) => o[0],
            (_, 2) => 1.0 / (1.0 + (o[0] - o[1]).exp()),
            _ => loss::argmax(o) as f32,
        };
        out.push(BoundaryPoint {
            epoch,
            x: pts[2 * i],
            y: pts[2 * i + 1],
            value,
        });
    }
}

#[cfg(test)]
mod tests;
