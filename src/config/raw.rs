//! The raw sweep file: serde structs that mirror the TOML one to one.
//!
//! This is step one of two. Every struct here denies unknown fields, so a typo
//! anywhere (`dpeth`, `[[tabels]]`, `optimiser`) fails to parse and is turned
//! into a "did you mean" diagnostic. Values keep their byte spans
//! ([`toml::Spanned`]) so step two ([`crate::config::resolve`] and
//! [`crate::plan`]) can point at the exact place a value came from when it is
//! out of range or names something unknown. Nothing here checks ranges or
//! names: that is step two's job, so all such messages live in one place.
//!
//! The job fields and the keys of their tables are declared once, here, with
//! `declare_section!` and `declare_table!` (see [`super::schema`]): the
//! structs, the layer merge and the key lists all come from that declaration.
//! The documentation of each key (with its default) lives on the declaration
//! and in the sweep-file reference, docs/reference.md (a test keeps the two in step).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::job::{DatasetConfig, LOSS_NAMES, OPTIMIZER_NAMES};
use super::schema::{declare_section, declare_table, merge_named, FieldValue, JobField, Keys};

/// A whole sweep file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Name of the sweep; results go to `results/<name>/`. Default: the file's stem.
    pub name: Option<Spanned<String>>,
    /// Free text shown by `plan` and in the report. Default: none.
    pub description: Option<String>,
    /// Job fields every experiment inherits. Default: the built-in defaults.
    pub defaults: Option<Spanned<RawSection>>,
    /// The experiments, `[experiments.NAME]`; at least one is required.
    pub experiments: Option<Spanned<BTreeMap<String, Spanned<RawSection>>>>,
    /// User activations, `[activations.NAME]`, added to (or overriding) the built-in library.
    #[serde(default)]
    pub activations: BTreeMap<String, Spanned<RawActivation>>,
    /// Declared report tables, `[[tables]]`. Default: a table of final metrics per experiment.
    #[serde(default)]
    pub tables: Vec<Spanned<RawTable>>,
    /// Declared report charts, `[[charts]]`. Default: learning curves per experiment.
    #[serde(default)]
    pub charts: Vec<Spanned<RawChart>>,
}

declare_section! {
    /// `[defaults]` or `[experiments.NAME]`: job fields plus the grid.
    ///
    /// Every job field is optional here; a missing field falls back to
    /// `[defaults]`, then to the built-in default documented on it. This is
    /// the one declaration of the job fields (see [`super::schema`]); each
    /// is `NAME: TYPE = "EXAMPLE"`, with `as "KEY"` where its resolved value
    /// has another name in [`JobConfig::flat`](super::job::JobConfig::flat).
    pub struct RawSection {
        section {
            /// Free text about the experiment. Default: none.
            description: String,
        }
        job {
            /// The dataset: a name (`"mnist"`) or a table with its parameters
            /// (`{ name = "two_moons", samples = 1000, noise = 0.2 }`). Default: `"mnist"`.
            dataset: RawDataset = "'xor'",
            /// Number of linear layers; 1 is logistic regression. Default: 5.
            depth: i64 = "3",
            /// Hidden units per hidden layer, or a list with one width per hidden layer
            /// (`depth - 1` entries). Default: 256.
            width: WidthValue as "widths" = "17",
            /// Hidden-layer activation: a name, `name(param=value)`, or a table
            /// `{ name = "leaky_relu", alpha = 0.2 }`. Default: `"relu"`.
            activation: RawActivationRef = "'tanh'",
            /// Activation after the last layer, before the loss. Default: `"linear"`.
            output_activation: RawActivationRef = "'sigmoid'",
            /// Weight initialisation scheme. Default: `"he_normal"`.
            init: String = "'xavier_uniform'",
            /// Constant every bias starts at. Default: 0.0.
            bias_init: Num = "0.5",
            /// Loss: a name or `{ name = "huber", delta = 1.0 }`. Default: `"cross_entropy"`.
            loss: RawLoss = "'mse'",
            /// Optimizer: a name or a table `{ name = "adam", lr = 1e-3 }`. Default: adam, lr 1e-3.
            optimizer: RawOptimizer = "'sgd'",
            /// Mini-batch size. Default: 64.
            batch_size: i64 = "32",
            /// Training epochs; 0 only evaluates the network at initialisation. Default: 10.
            epochs: i64 = "2",
            /// Seed of the initial weights and the data order. Default: 0.
            seed: i64 = "7",
            /// Which optional diagnostics to keep. Default: grad_norms, weight_norms,
            /// update_ratio, activation_stats, dead_units.
            record: Vec<Spanned<String>> = "['singular_values']",
            /// `"auto"`, `"cpu"` or `"cuda"`. Default: `"auto"`.
            device: String = "'cpu'",
            /// Normalisation before each hidden activation: `"none"`, `"batch"`, `"layer"`. Default: `"none"`.
            norm: String = "'batch'",
            /// Dropout probability after each hidden activation, in [0, 1). Default: 0.0.
            dropout: Num = "0.5",
            /// Training inputs in the fixed probe set for activation statistics. Default: 512.
            probe_samples: i64 = "100",
            /// Epochs between evaluations and diagnostics, at least 1; the last epoch
            /// is always evaluated. Default: 1 (every epoch).
            eval_every: i64 = "2",
        }
        section {
            /// Axes: `grid.FIELD = [values]`, or `grid.FIELD.PARAM = [values]` for a
            /// parameter of a table-valued field (`grid.optimizer.lr`, `grid.activation.alpha`).
            /// Only in experiments. Default: no axes (one cell).
            grid: BTreeMap<String, Spanned<GridEntry>>,
            /// Groups of axes that advance together: `zip = [["depth", "width"]]`.
            /// Only in experiments. Default: none.
            zip: Vec<Spanned<ZipGroup>>,
            /// Partial assignments to skip: `exclude = [{ activation = "relu", depth = 1 }]`.
            /// Only in experiments. Default: none.
            exclude: Vec<Spanned<toml::Table>>,
            /// Replicates: `seeds = 3` (seeds 0, 1, 2) or `seeds = [7, 11]`. Default: one run with `seed`.
            seeds: SeedsValue,
        }
    }
}

/// Looks a job field up by name.
pub fn job_field(name: &str) -> Option<&'static JobField> {
    JOB_FIELDS.iter().find(|f| f.name == name)
}

/// The names of the job fields, in declaration order.
pub fn job_field_names() -> impl Iterator<Item = &'static str> + Clone {
    JOB_FIELDS.iter().map(|f| f.name)
}

/// Values replaced whole by a later layer.
macro_rules! plain_values {
    ($($ty:ty),*) => { $( impl FieldValue for $ty {} )* };
}
plain_values!(i64, String, Num, WidthValue, Vec<Spanned<String>>);

/// One `zip` group: the names of axes that advance together.
pub type ZipGroup = Vec<Spanned<String>>;

/// A number written as an integer or a float (`0` and `0.0` alike).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// `width = 256` or `width = [512, 256]`.
#[derive(Debug, Clone, PartialEq)]
pub enum WidthValue {
    /// Every hidden layer has this many units.
    Uniform(i64),
    /// One entry per hidden layer.
    PerLayer(Vec<i64>),
}

impl<'de> Deserialize<'de> for WidthValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WidthValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a list of integers")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WidthValue, E> {
                Ok(WidthValue::Uniform(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WidthValue, E> {
                Ok(WidthValue::Uniform(v.min(i64::MAX as u64) as i64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WidthValue, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<i64>()? {
                    out.push(v);
                }
                Ok(WidthValue::PerLayer(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `seeds = 3` or `seeds = [0, 5, 9]`.
#[derive(Debug, Clone, PartialEq)]
pub enum SeedsValue {
    /// Seeds `0..n`.
    Count(i64),
    /// Exactly these seeds.
    List(Vec<i64>),
}

impl<'de> Deserialize<'de> for SeedsValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SeedsValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count or a list of seeds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeedsValue, E> {
                Ok(SeedsValue::Count(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeedsValue, E> {
                Ok(SeedsValue::Count(v.min(i64::MAX as u64) as i64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SeedsValue, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<i64>()? {
                    out.push(v);
                }
                Ok(SeedsValue::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A grid entry: a list of values (one axis) or a table of parameter axes
/// (`grid.optimizer = { lr = [0.1, 0.01] }`, written `grid.optimizer.lr = [...]`).
#[derive(Debug, Clone)]
pub enum GridEntry {
    /// `grid.FIELD = [v1, v2, ...]`.
    Axis(Vec<Spanned<toml::Value>>),
    /// `grid.FIELD.PARAM = [v1, ...]` for each PARAM.
    Params(BTreeMap<Spanned<String>, Spanned<Vec<Spanned<toml::Value>>>>),
}

impl<'de> Deserialize<'de> for GridEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GridEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of values (an axis) or a table of parameter axes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GridEntry, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<toml::Value>>()? {
                    out.push(v);
                }
                Ok(GridEntry::Axis(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GridEntry, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    let v = map.next_value::<Spanned<Vec<Spanned<toml::Value>>>>()?;
                    out.insert(k, v);
                }
                Ok(GridEntry::Params(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Types that can also be written as a bare name (`"adam"` for `{ name = "adam" }`).
pub trait FromName: Default {
    /// The table with only its name set.
    fn from_name(name: String) -> Self;
}

/// Deserializes `T` from either a string (a name) or a table.
fn name_or_table<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromName + Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: FromName + Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a name or a table")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok(T::from_name(v.to_string()))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V(PhantomData))
}

macro_rules! name_or_table_impl {
    ($ty:ident, $inner:ident) => {
        impl FieldValue for $ty {
            const KEYS: Keys = Keys::Table(&$inner::SCHEMA);
            fn merge(base: &mut Spanned<Self>, patch: &Spanned<Self>) {
                merge_named(
                    base,
                    patch,
                    |t| t.0.name.as_ref().map(|n| n.get_ref()),
                    |m, p| m.0.merge_keys(&p.0),
                );
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                name_or_table::<D, $inner>(d).map($ty::from)
            }
        }
        impl FromName for $inner {
            fn from_name(name: String) -> Self {
                $inner {
                    name: Some(Spanned::new(0..0, name)),
                    ..Default::default()
                }
            }
        }
        impl From<$inner> for $ty {
            fn from(v: $inner) -> Self {
                $ty(v)
            }
        }
        impl std::ops::Deref for $ty {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }
    };
}

/// A dataset reference: `"mnist"` or `{ name = "mnist", train_limit = 5000 }`.
///
/// Its keys other than `name` belong to the dataset kind it names, which
/// declares them in its own file ([`crate::data::kind::DatasetKind::KEYS`]):
/// here they are kept as written, each value with its place in the file,
/// and the kind checks them (names, types, ranges) when the job is resolved.
#[derive(Debug, Clone, Default)]
pub struct RawDataset {
    /// The kind (`mnist` when not given).
    pub name: Option<Spanned<String>>,
    /// Every other key, as written.
    pub keys: BTreeMap<String, Spanned<toml::Value>>,
}

impl RawDataset {
    /// The keys that are set, with where each value is written.
    pub fn present(&self) -> Vec<(&str, std::ops::Range<usize>)> {
        let keys = self.keys.iter().map(|(k, v)| (k.as_str(), v.span()));
        self.name
            .iter()
            .map(|n| ("name", n.span()))
            .chain(keys)
            .collect()
    }
}

impl FieldValue for RawDataset {
    const KEYS: Keys = Keys::Table(&DatasetConfig::SCHEMA);

    /// Keys merge one by one while the kind stays the same.
    fn merge(base: &mut Spanned<Self>, patch: &Spanned<Self>) {
        merge_named(
            base,
            patch,
            |d| d.name.as_ref().map(|n| n.get_ref()),
            |m, p| {
                for (k, v) in &p.keys {
                    m.keys.insert(k.clone(), v.clone());
                }
            },
        );
    }
}

impl<'de> Deserialize<'de> for RawDataset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DatasetValue)
    }
}

/// A dataset's name, or its table: `name` as a name, every other key as a
/// spanned value.
struct DatasetValue;

impl<'de> Visitor<'de> for DatasetValue {
    type Value = RawDataset;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a name or a table")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDataset, E> {
        Ok(RawDataset {
            name: Some(Spanned::new(0..0, v.to_string())),
            keys: BTreeMap::new(),
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDataset, A::Error> {
        let mut out = RawDataset::default();
        while let Some(key) = map.next_key::<String>()? {
            if key == "name" {
                out.name = Some(map.next_value()?);
            } else {
                out.keys.insert(key, map.next_value()?);
            }
        }
        Ok(out)
    }
}

/// A loss reference: `"mse"` or `{ name = "huber", delta = 1.0 }`.
#[derive(Debug, Clone, Default)]
pub struct RawLoss(pub LossFields);
name_or_table_impl!(RawLoss, LossFields);

declare_table! {
    /// The keys of a loss table.
    pub struct LossFields for LOSS_NAMES {
        /// `cross_entropy`, `bce`, `mse`, `mae` or `huber`. Default: `"cross_entropy"`.
        name: String = "name = 'mse'",
        /// huber: where the loss turns from quadratic to linear. Default: 1.0.
        delta: Num => ["huber"] = "delta = 2.0",
    }
}

/// An optimizer reference: `"sgd"` or `{ name = "sgd", lr = 0.1, momentum = 0.9 }`.
#[derive(Debug, Clone, Default)]
pub struct RawOptimizer(pub OptimizerFields);
name_or_table_impl!(RawOptimizer, OptimizerFields);

declare_table! {
    /// The keys of an optimizer table. Which apply depends on the optimizer.
    pub struct OptimizerFields for OPTIMIZER_NAMES {
        /// `sgd`, `adam`, `adamw` or `rmsprop`. Default: `"adam"`.
        name: String = "name = 'adamw'",
        /// Learning rate, > 0. Default: 0.01 (sgd, rmsprop), 0.001 (adam, adamw).
        lr: Num = "lr = 0.5",
        /// sgd, rmsprop: momentum in [0, 1). Default: 0.0.
        momentum: Num => ["sgd", "rmsprop"] = "momentum = 0.5",
        /// sgd: Nesterov momentum (needs a momentum above 0). Default: false.
        nesterov: bool => ["sgd"] = "nesterov = true, momentum = 0.5",
        /// adam, adamw: `[beta1, beta2]`. Default: `[0.9, 0.999]`.
        betas: Vec<Num> => ["adam", "adamw"] = "betas = [0.8, 0.9]",
        /// adam, adamw, rmsprop: denominator epsilon. Default: 1e-8.
        eps: Num => ["adam", "adamw", "rmsprop"] = "eps = 1e-6",
        /// L2 penalty (decoupled for adamw). Default: 0.0 (0.01 for adamw).
        weight_decay: Num = "weight_decay = 0.1",
        /// rmsprop: smoothing constant. Default: 0.99.
        alpha: Num => ["rmsprop"] = "alpha = 0.9",
    }
}

/// An activation reference: `"relu"`, `"leaky_relu(alpha=0.2)"` or
/// `{ name = "leaky_relu", alpha = 0.2 }`. Parameters not given take the
/// activation's defaults.
#[derive(Debug, Clone, Default)]
pub struct RawActivationRef {
    /// The activation's name (with its `(k=v)` suffix removed).
    pub name: Option<Spanned<String>>,
    /// Parameter values given here.
    pub params: BTreeMap<String, Spanned<f64>>,
    /// Parse problem of the `name(k=v)` form, reported during validation.
    pub syntax_error: Option<String>,
}

impl FieldValue for RawActivationRef {
    const KEYS: Keys = Keys::Params;

    /// Parameters merge one by one while the activation stays the same; a
    /// later `name(k=v)` syntax problem is kept for validation.
    fn merge(base: &mut Spanned<Self>, patch: &Spanned<Self>) {
        merge_named(
            base,
            patch,
            |a| a.name.as_ref().map(|n| n.get_ref()),
            |m, p| {
                for (k, v) in &p.params {
                    m.params.insert(k.clone(), v.clone());
                }
                if p.syntax_error.is_some() {
                    m.syntax_error = p.syntax_error.clone();
                }
            },
        );
    }
}

impl<'de> Deserialize<'de> for RawActivationRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawActivationRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an activation name, `name(param=value)`, or a table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawActivationRef, E> {
                Ok(parse_activation_call(v))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawActivationRef, A::Error> {
                let mut out = RawActivationRef::default();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    if k.get_ref() == "name" {
                        let name = map.next_value::<Spanned<String>>()?;
                        out.name = Some(name);
                    } else {
                        let v = map.next_value::<Spanned<Num>>()?;
                        let span = v.span();
                        out.params
                            .insert(k.into_inner(), Spanned::new(span, v.into_inner().0));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `name` or `name(k=v, k2=v2)`; problems are kept for validation.
pub fn parse_activation_call(text: &str) -> RawActivationRef {
    let mut out = RawActivationRef::default();
    let text = text.trim();
    let Some(open) = text.find('(') else {
        out.name = Some(Spanned::new(0..0, text.to_string()));
        return out;
    };
    out.name = Some(Spanned::new(0..0, text[..open].trim().to_string()));
    let Some(inner) = text[open + 1..].strip_suffix(')') else {
        out.syntax_error = Some(format!("`{text}` is missing its closing `)`"));
        return out;
    };
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            out.syntax_error = Some(format!("`{part}` in `{text}` should be `param=value`"));
            return out;
        };
        match v.trim().parse::<f64>() {
            Ok(x) => {
                out.params
                    .insert(k.trim().to_string(), Spanned::new(0..0, x));
            }
            Err(_) => {
                out.syntax_error = Some(format!("`{}` in `{text}` is not a number", v.trim()));
                return out;
            }
        }
    }
    out
}

/// `[activations.NAME]`: a user activation written as a formula.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActivation {
    /// The formula in `x` and the parameters, e.g. `"x * sigmoid(beta * x)"`. Required.
    pub formula: Spanned<String>,
    /// Parameters and their defaults, e.g. `{ beta = 1.0 }`. Default: none.
    #[serde(default)]
    pub params: BTreeMap<String, Num>,
    /// Parameters learned per unit of each layer (like PReLU's slope). Default: none.
    #[serde(default)]
    pub learnable: Vec<Spanned<String>>,
    /// d/dx written by hand, in the same language, e.g.
    /// `"sigmoid(x) * (1 + x * sigmoid(-x))"`: training uses it instead of
    /// differentiating `formula` (a form that keeps its digits where the
    /// symbolic one cancels). It must agree with the symbolic derivative on
    /// the probe range [-20, 20] to 1e-4 of its value plus 1e-6 of its
    /// largest magnitude there (at least 1).
    /// Derivatives for learnable parameters stay symbolic. Default: none
    /// (the formula is differentiated).
    pub derivative: Option<Spanned<String>>,
    /// One line shown by `actsweep activations`. Default: empty.
    #[serde(default)]
    pub description: String,
    /// Where the activation comes from (paper, URL). Default: empty.
    #[serde(default)]
    pub reference: String,
    /// Allow NaN or infinity on the probe range [-20, 20]. Default: false.
    #[serde(default)]
    pub allow_nonfinite: bool,
}

/// `[[tables]]`: a Markdown table in the report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    /// Which experiment's results. Required.
    pub experiment: Spanned<String>,
    /// Heading above the table. Default: derived from the experiment and value.
    pub title: Option<String>,
    /// What varies down the rows: an axis, `layer`, `epoch` or `metric`. Required.
    pub rows: Spanned<String>,
    /// What varies across the columns: an axis, `layer`, `epoch` or `metric`. Default: `metric`.
    pub columns: Option<Spanned<String>>,
    /// The metric(s) shown in the cells, e.g. `"test_acc"` or `["train_acc", "test_acc"]`. Required.
    pub value: Spanned<StringOrList>,
    /// Which epoch: `"last"`, `"best"` or a number. Default: `"last"`.
    pub epoch: Option<Spanned<toml::Value>>,
    /// Number format: `"percent"` (accuracies and fractions; other values stay fixed),
    /// `"fixed"` or `"scientific"`. Default: `"fixed"`.
    pub format: Option<Spanned<String>>,
    /// Digits after the point. Default: 2 (percent), 4 (fixed), 2 (scientific).
    pub digits: Option<Spanned<i64>>,
    /// Show `mean ± std` over seeds; false shows the mean only. Default: true.
    pub std: Option<bool>,
    /// A ratio column: `ratio = ["relu", "linear"]` divides column `relu` by column `linear`. Default: none.
    pub ratio: Option<Spanned<Vec<String>>>,
    /// Keep only results matching these field values, e.g. `{ depth = 5 }`; a list keeps
    /// any of its values (`{ activation = ["tanh", "arctan"] }`). Default: all.
    pub filter: Option<Spanned<toml::Table>>,
    /// Compare every cell with this value of the columns axis (or, when the
    /// columns are not an axis or lack it, of the rows axis), paired by seed:
    /// cells show the mean difference with its 95% CI, the p-value and the
    /// Holm-corrected p-value, e.g. `baseline = "relu"`. Default: none.
    pub baseline: Option<Spanned<toml::Value>>,
    /// The test: with `baseline`, the paired test, `"t"` (paired Student
    /// t-test) or `"wilcoxon"` (signed-rank test); with `rank = true`,
    /// `"friedman"`: the Friedman test of the mean ranks over the blocks (p in
    /// the note) and the Nemenyi critical difference at 0.05, marking the rows
    /// that differ from the best by at least it. Default: `"t"` with a
    /// baseline, none otherwise.
    pub test: Option<Spanned<String>>,
    /// Add a `mean rank` column: each row's rank among the rows (1 = best) in
    /// every seed and column, averaged. Default: false.
    pub rank: Option<bool>,
    /// Each cell at its own best setting, chosen on validation:
    /// `tune = { over = "optimizer.lr", by = "valid_acc" }` shows, for every
    /// cell, `value` at the value of `over` (an axis, or a list of axes, the
    /// table does not show) whose jobs have the best mean of `by` over seeds,
    /// with that setting in the cell. `by` may not be a test metric.
    /// Default: none (every setting of an axis the table does not show is
    /// its own group of rows).
    pub tune: Option<Spanned<RawTune>>,
    /// Reference values with tolerances, checked by `report --check`. Default: none.
    #[serde(default)]
    pub expect: Vec<Spanned<RawExpect>>,
}

/// One expectation on a table cell.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Row label of the cell. Default: every row.
    pub row: Option<toml::Value>,
    /// Column label of the cell. Default: every column.
    pub column: Option<toml::Value>,
    /// The reference value. Required.
    pub value: Num,
    /// Allowed absolute difference. Default: 0 (must use `tol` or `rel_tol`).
    pub tol: Option<Num>,
    /// Allowed relative difference. Default: none.
    pub rel_tol: Option<Num>,
    /// Where the reference comes from. Default: empty.
    #[serde(default)]
    pub source: String,
}

/// `[[charts]]`: a chart in the report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChart {
    /// `line`, `bar`, `curves`, `layers`, `boundary` or `activations`. Required.
    pub kind: Spanned<String>,
    /// Which experiment's results. Required except for `activations`.
    pub experiment: Option<Spanned<String>>,
    /// File name stem under `report/`. Default: `<experiment>_<kind>`.
    pub file: Option<String>,
    /// Title above the chart. Default: derived.
    pub title: Option<String>,
    /// Horizontal axis: an axis or `epoch`. Default: `epoch`.
    pub x: Option<Spanned<String>>,
    /// The metric plotted. Default: `test_acc`.
    pub y: Option<Spanned<String>>,
    /// One series per value of this axis. Default: `activation`.
    pub series: Option<Spanned<String>>,
    /// One panel per value of this axis. Default: none.
    pub panels: Option<Spanned<String>>,
    /// Spread over seeds: `"std"`, `"ci95"` or `"none"`. Default: `"std"`.
    pub band: Option<Spanned<String>>,
    /// Which epoch for `line` and `bar`: `"last"`, `"best"` or a number. Default: `"last"`.
    pub epoch: Option<Spanned<toml::Value>>,
    /// Metrics for `curves`, e.g. `["train_loss", "test_loss"]`. Default: train and test loss.
    pub metrics: Option<Spanned<Vec<String>>>,
    /// Activations drawn by `kind = "activations"`. Default: every activation the sweep uses.
    pub activations: Option<Vec<String>>,
    /// Keep only results matching these field values. Default: all.
    pub filter: Option<Spanned<toml::Table>>,
    /// `bar` only: draw each bar as its difference from this value of the
    /// horizontal axis (or of the series axis), paired by seed, with its 95%
    /// CI, e.g. `baseline = "relu"`. Default: none.
    pub baseline: Option<Spanned<toml::Value>>,
    /// The paired test with `baseline`: `"t"` or `"wilcoxon"`. Default: `"t"`.
    pub test: Option<Spanned<String>>,
    /// `line` and `bar`: each point at its own best setting, chosen on
    /// validation, as a table's `tune` (`tune = { over = "optimizer.lr", by =
    /// "valid_acc" }`). Default: none.
    pub tune: Option<Spanned<RawTune>>,
    /// Logarithmic horizontal axis. Default: false.
    pub log_x: Option<bool>,
    /// Logarithmic vertical axis. Default: false (true for `layers`).
    pub log_y: Option<bool>,
    /// One vertical scale for all panels, so they compare at a glance; false fits
    /// each panel to its own data. Default: true.
    pub share_y: Option<bool>,
    /// Lower end of the vertical axis, e.g. `0.9` to zoom a bar chart of
    /// accuracies (bars then start there). Default: fitted to the data (0 for bars).
    pub y_min: Option<Spanned<Num>>,
    /// Upper end of the vertical axis. Default: fitted to the data.
    pub y_max: Option<Spanned<Num>>,
    /// Horizontal axis label. Default: the axis name.
    pub x_label: Option<String>,
    /// Vertical axis label. Default: the metric name.
    pub y_label: Option<String>,
    /// Width in pixels. Default: 800.
    pub width: Option<Spanned<i64>>,
    /// Height in pixels. Default: 500.
    pub height: Option<Spanned<i64>>,
}

/// `tune = { over = "optimizer.lr", by = "valid_acc" }` of a table or chart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTune {
    /// The axis, or axes, whose best value each cell takes. Required.
    pub over: Spanned<StringOrList>,
    /// The metric that chooses (higher or lower is better as the metric
    /// catalogue says), at the table's or chart's epoch; not on the test
    /// split. Required.
    pub by: Spanned<String>,
}

/// `"x"` or `["x", "y"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StringOrList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOrList, E> {
                Ok(StringOrList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(StringOrList(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_call_forms() {
        let a = parse_activation_call("leaky_relu(alpha=0.2)");
        assert_eq!(a.name.as_ref().unwrap().get_ref(), "leaky_relu");
        assert_eq!(*a.params["alpha"].get_ref(), 0.2);
        assert!(a.syntax_error.is_none());
        let b = parse_activation_call("relu");
        assert!(b.params.is_empty());
        assert!(parse_activation_call("elu(alpha=)").syntax_error.is_some());
        assert!(parse_activation_call("elu(alpha=1").syntax_error.is_some());
        assert!(parse_activation_call("elu(alpha)").syntax_error.is_some());
    }

    #[test]
    fn sections_parse_names_and_tables_alike() {
        let s: RawSection = toml::from_str(
            "optimizer = 'sgd'\nloss = { name = 'huber', delta = 2 }\nwidth = [3, 4]\nbias_init = 0",
        )
        .unwrap();
        assert_eq!(
            s.optimizer
                .unwrap()
                .get_ref()
                .name
                .as_ref()
                .unwrap()
                .get_ref(),
            "sgd"
        );
        assert_eq!(
            s.loss
                .unwrap()
                .get_ref()
                .delta
                .as_ref()
                .unwrap()
                .get_ref()
                .0,
            2.0
        );
        assert_eq!(
            s.width.unwrap().into_inner(),
            WidthValue::PerLayer(vec![3, 4])
        );
        assert_eq!(s.bias_init.unwrap().into_inner(), Num(0.0));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = toml::from_str::<RawSection>("dpeth = 3").unwrap_err();
        assert!(
            e.message().contains("unknown field `dpeth`"),
            "{}",
            e.message()
        );
    }
}
