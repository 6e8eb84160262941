//! The resolved job: every field of one training run, validated and typed.
//!
//! This is what a sweep file means once defaults, the experiment's settings
//! and one grid cell are merged and checked. The training engine consumes it
//! and never sees TOML; the plan hashes its canonical JSON form into the job
//! id, so any change to any field here is a new job (and a retrain), while
//! cosmetic edits to the file (comments, key order) change nothing.
//!
//! A resolved activation is the activation library's type,
//! [`ActivationConfig`], re-exported here as one of the job's parts.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::activation::ActivationConfig;
pub use crate::data::DatasetConfig;
pub use crate::text::fmt_num;

/// One fully resolved training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobConfig {
    /// Dataset and its parameters.
    pub dataset: DatasetConfig,
    /// Number of linear layers (>= 1).
    pub depth: usize,
    /// Hidden widths, `depth - 1` entries.
    pub widths: Vec<usize>,
    /// Hidden activation, with its formula and parameter values.
    pub activation: ActivationConfig,
    /// Activation after the last linear layer.
    pub output_activation: ActivationConfig,
    /// Weight initialisation.
    pub init: Init,
    /// Initial value of every bias.
    pub bias_init: f64,
    /// Loss function.
    pub loss: LossConfig,
    /// Optimizer and its hyper-parameters.
    pub optimizer: OptimizerConfig,
    /// Mini-batch size (>= 1).
    pub batch_size: usize,
    /// Training epochs (0 evaluates the initial network only).
    pub epochs: usize,
    /// Seed of the initial weights and the data order.
    pub seed: u64,
    /// Optional diagnostics to record.
    pub record: BTreeSet<Record>,
    /// Where to train.
    pub device: Device,
    /// Normalisation before each hidden activation.
    pub norm: Norm,
    /// Dropout probability after each hidden activation.
    pub dropout: f64,
    /// Size of the fixed probe set for activation statistics.
    pub probe_samples: usize,
    /// Epochs between evaluations and diagnostics (>= 1); the last epoch is
    /// always evaluated. Left out of the serialised form at its default, so
    /// the ids of jobs from before this field existed do not change.
    #[serde(
        default = "default_eval_every",
        skip_serializing_if = "is_default_eval_every"
    )]
    pub eval_every: usize,
}

/// The default of [`JobConfig::eval_every`]: evaluate after every epoch.
pub const DEFAULT_EVAL_EVERY: usize = 1;

fn default_eval_every() -> usize {
    DEFAULT_EVAL_EVERY
}

fn is_default_eval_every(n: &usize) -> bool {
    *n == DEFAULT_EVAL_EVERY
}

/// What kind of prediction a dataset asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Classes `0..n`.
    Classification(usize),
    /// One real-valued target.
    Regression,
}

impl DatasetConfig {
    /// Input features per sample.
    pub fn input_dim(&self) -> usize {
        self.shape().input_dim
    }

    /// Classification (with the class count) or regression.
    pub fn task(&self) -> Task {
        self.shape().task
    }

    /// Training and test sample counts, known without loading the data.
    pub fn sizes(&self) -> (usize, usize) {
        let s = self.shape();
        (s.train, s.test)
    }
}

/// Train and test counts of a synthetic dataset: the test part is rounded to
/// the nearest sample, as scikit-learn's `train_test_split` does (ceil).
pub fn split_sizes(samples: usize, test_fraction: f64) -> (usize, usize) {
    let test = ((samples as f64) * test_fraction).ceil() as usize;
    let test = test.min(samples);
    (samples - test, test)
}

/// Weight initialisation schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// N(0, 2/fan_in) (Kaiming, for ReLU).
    HeNormal,
    /// U(±sqrt(6/fan_in)).
    HeUniform,
    /// N(0, 2/(fan_in + fan_out)) (Glorot).
    XavierNormal,
    /// U(±sqrt(6/(fan_in + fan_out))) (Glorot; Keras' default).
    XavierUniform,
    /// N(0, 1/fan_in).
    LecunNormal,
    /// PyTorch's `nn.Linear` default: U(±1/sqrt(fan_in)) for weights and biases.
    TorchDefault,
    /// Each unit's weight vector drawn from N(0, 1) and scaled to unit L2 norm.
    UnitNorm,
}

/// Known names of [`Init`].
pub const INIT_NAMES: &[&str] = &[
    "he_normal",
    "he_uniform",
    "xavier_normal",
    "xavier_uniform",
    "lecun_normal",
    "torch_default",
    "unit_norm",
];

impl Init {
    /// Parses a known name.
    pub fn from_name(s: &str) -> Option<Init> {
        Some(match s {
            "he_normal" => Init::HeNormal,
            "he_uniform" => Init::HeUniform,
            "xavier_normal" => Init::XavierNormal,
            "xavier_uniform" => Init::XavierUniform,
            "lecun_normal" => Init::LecunNormal,
            "torch_default" => Init::TorchDefault,
            "unit_norm" => Init::UnitNorm,
            _ => return None,
        })
    }
}

/// Loss functions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum LossConfig {
    /// Softmax cross-entropy from logits.
    CrossEntropy,
    /// Binary cross-entropy from one logit.
    Bce,
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Huber loss.
    Huber {
        /// Quadratic below, linear above.
        delta: f64,
    },
}

/// Known loss names.
pub const LOSS_NAMES: &[&str] = &["cross_entropy", "bce", "mse", "mae", "huber"];

impl LossConfig {
    /// The loss's name.
    pub fn name(&self) -> &'static str {
        match self {
            LossConfig::CrossEntropy => "cross_entropy",
            LossConfig::Bce => "bce",
            LossConfig::Mse => "mse",
            LossConfig::Mae => "mae",
            LossConfig::Huber { .. } => "huber",
        }
    }

    /// Network outputs this loss needs for a task.
    pub fn output_dim(&self, task: Task) -> usize {
        match (self, task) {
            (LossConfig::CrossEntropy, Task::Classification(n)) => n,
            (LossConfig::Bce, _) => 1,
            (_, Task::Classification(n)) if n > 2 => n,
            (_, Task::Classification(_)) => 1,
            (_, Task::Regression) => 1,
        }
    }
}

/// Optimizers with their hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// Stochastic gradient descent.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum.
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// Adam (Kingma & Ba, 2015).
    Adam {
        /// Learning rate.
        lr: f64,
        /// Moment decay rates.
        betas: [f64; 2],
        /// Denominator epsilon.
        eps: f64,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// Adam with decoupled weight decay (Loshchilov & Hutter, 2019).
    Adamw {
        /// Learning rate.
        lr: f64,
        /// Moment decay rates.
        betas: [f64; 2],
        /// Denominator epsilon.
        eps: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
    /// RMSprop.
    Rmsprop {
        /// Learning rate.
        lr: f64,
        /// Smoothing constant.
        alpha: f64,
        /// Denominator epsilon.
        eps: f64,
        /// Momentum.
        momentum: f64,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
}

/// Known optimizer names.
pub const OPTIMIZER_NAMES: &[&str] = &["sgd", "adam", "adamw", "rmsprop"];

impl OptimizerConfig {
    /// The optimizer's name.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Adamw { .. } => "adamw",
            OptimizerConfig::Rmsprop { .. } => "rmsprop",
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::Adamw { lr, .. }
            | OptimizerConfig::Rmsprop { lr, .. } => lr,
        }
    }
}

/// Optional diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// Per-layer L2 norm of the weight gradient (mean over the epoch's steps, and last step).
    GradNorms,
    /// Per-layer L2 norm of the weights.
    WeightNorms,
    /// Per-layer norm of the epoch's update divided by the weight norm.
    UpdateRatio,
    /// Per hidden layer on the probe set: mean, std, max, sparsity.
    ActivationStats,
    /// Per hidden layer: dead fraction and saturated fraction.
    DeadUnits,
    /// Regression: fraction of inputs whose output is exactly 0.
    OutputZeros,
    /// 2-D inputs: model output on a grid over the data range.
    DecisionBoundary,
    /// Linear activation: singular values of the collapsed map W_L...W_1.
    SingularValues,
}

/// Known record names, in the order of [`Record`].
pub const RECORD_NAMES: &[&str] = &[
    "grad_norms",
    "weight_norms",
    "update_ratio",
    "activation_stats",
    "dead_units",
    "output_zeros",
    "decision_boundary",
    "singular_values",
];

impl Record {
    /// Parses a known name.
    pub fn from_name(s: &str) -> Option<Record> {
        Some(match s {
            "grad_norms" => Record::GradNorms,
            "weight_norms" => Record::WeightNorms,
            "update_ratio" => Record::UpdateRatio,
            "activation_stats" => Record::ActivationStats,
            "dead_units" => Record::DeadUnits,
            "output_zeros" => Record::OutputZeros,
            "decision_boundary" => Record::DecisionBoundary,
            "singular_values" => Record::SingularValues,
            _ => return None,
        })
    }

    /// The default set.
    pub fn defaults() -> BTreeSet<Record> {
        [
            Record::GradNorms,
            Record::WeightNorms,
            Record::UpdateRatio,
            Record::ActivationStats,
            Record::DeadUnits,
        ]
        .into_iter()
        .collect()
    }
}

/// Where a job trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// CUDA when the build has it and a GPU is present, else CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA GPU (needs the `cuda` build feature).
    Cuda,
}

/// Normalisation before each hidden activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// No normalisation.
    None,
    /// Batch normalisation (batch statistics in training, running statistics in evaluation).
    Batch,
    /// Layer normalisation over each sample's units.
    Layer,
}

impl JobConfig {
    /// How many times the job evaluates the network: at epoch 0, after every
    /// `eval_every`-th epoch, and after the last epoch.
    pub fn evaluations(&self) -> usize {
        let k = self.eval_every.max(1);
        let last_extra = usize::from(self.epochs % k != 0);
        1 + self.epochs / k + last_extra
    }

    /// Whether each step's forward pass is, row for row, the evaluation
    /// pass over the training split at the same weights: one step per epoch
    /// over all `train_rows` (`batch_size` at least that), no dropout and no
    /// normalisation (whose training and evaluation passes differ). Where
    /// the device's layers can also keep the probe rows (the CPU's fused
    /// layers), every evaluation but the last takes the training split from
    /// the next step (see `train::Pending`).
    pub fn steps_pass_the_training_split(&self, train_rows: usize) -> bool {
        train_rows > 0
            && self.batch_size >= train_rows
            && self.dropout == 0.0
            && self.norm == Norm::None
    }

    /// Layer sizes from input to output: `[in, w1, ..., out]`.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = Vec::with_capacity(self.depth + 1);
        sizes.push(self.dataset.input_dim());
        sizes.extend(&self.widths);
        sizes.push(self.loss.output_dim(self.dataset.task()));
        sizes
    }

    /// Multiply-adds of one forward pass for one sample, times two (FLOPs).
    pub fn forward_flops_per_sample(&self) -> u64 {
        self.layer_sizes()
            .windows(2)
            .map(|w| 2 * (w[0] as u64) * (w[1] as u64))
            .sum()
    }

    /// Trainable parameter count.
    pub fn parameter_count(&self) -> u64 {
        self.layer_sizes()
            .windows(2)
            .map(|w| (w[0] as u64) * (w[1] as u64) + w[1] as u64)
            .sum()
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = *self as usize;
        f.write_str(INIT_NAMES[i])
    }
}

impl JobConfig {
    /// Every field as a dotted key and a JSON scalar or list of scalars
    /// (`dataset.name`, `optimizer.lr`, `activation.params.alpha`, `widths`
    /// as a list...): one column per
    /// field in the results tables, and the vocabulary of `--only`.
    pub fn flat(&self) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::new();
        // Serializing our own plain data types cannot fail.
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        flatten_into(String::new(), &value, &mut out);
        // Left out of the serialised form at its default, but a field all the same.
        if is_default_eval_every(&self.eval_every) {
            out.push(("eval_every".to_string(), self.eval_every.into()));
        }
        out
    }
}

fn flatten_into(prefix: String, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(key, v, out);
            }
        }
        // A list of scalars (`widths`, `record`) is one field, kept as a list.
        serde_json::Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            out.push((prefix, v.clone()))
        }
        other => out.push((prefix, other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_sklearn_rounding() {
        assert_eq!(split_sizes(2000, 0.2), (1600, 400));
        assert_eq!(split_sizes(10, 0.25), (7, 3));
    }

    #[test]
    fn init_names_match_variants() {
        for name in INIT_NAMES {
            assert_eq!(Init::from_name(name).unwrap().to_string(), *name);
        }
        for name in RECORD_NAMES {
            assert!(Record::from_name(name).is_some());
        }
    }
}
