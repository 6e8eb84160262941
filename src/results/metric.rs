//! The metric catalogue: every metric a job can record, declared once.
//!
//! Each entry says the metric's name in `metrics.parquet`, the splits it is
//! measured on, whether it is per layer, whether higher is better, whether
//! it is a fraction (shown as a percent in percent tables) and its short
//! name in tables and charts (`accuracy` on `test` is `test_acc`).
//!
//! The trainer emits through it ([`MetricKind`] values, never names: a
//! debug assertion checks each value's split and layer against its entry),
//! the runner finds throughput by kind, and the report resolves the value
//! names of `[[tables]]` and `[[charts]]` against it ([`ValueName::resolve`])
//! when the sweep file is planned, so a misspelt metric is reported before
//! anything trains, with the nearest valid name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The part of the data a metric is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training split (and training-time metrics).
    Train,
    /// The validation split (`validation_fraction` of the training rows,
    /// held out): the split to choose settings on.
    Valid,
    /// The test split.
    Test,
    /// The probe rows (the first `probe_samples` training rows).
    Probe,
}

impl Split {
    /// Every split, in table order.
    pub const ALL: [Split; 4] = [Split::Train, Split::Valid, Split::Test, Split::Probe];

    /// `train`, `test`, `probe`: the `split` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
            Split::Probe => "probe",
        }
    }

    /// The split named `s`, if any.
    pub fn parse(s: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the catalogue knows about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// The `metric` column's value; for an indexed metric the stem
    /// (`singular_value` is stored as `singular_value_1`, `_2`, ...).
    pub name: &'static str,
    /// The name in value names (`acc` in `test_acc`).
    pub short: &'static str,
    /// The splits it is measured on; empty for split-less metrics.
    pub splits: &'static [Split],
    /// One value per layer (numbered from 1 at the input).
    pub per_layer: bool,
    /// Larger values are better: `epoch = "best"` takes the maximum.
    pub higher_is_better: bool,
    /// A fraction in [0, 1]: percent tables show it as a percent.
    pub fraction: bool,
    /// Numbered values, `<name>_K` from 1.
    pub indexed: bool,
    /// What it measures.
    pub doc: &'static str,
}

macro_rules! catalogue {
    ($(
        $(#[doc = $doc:literal])+
        $kind:ident = $name:literal, short $short:literal, splits [$($split:ident),*],
        layer $layer:literal, higher $higher:literal, fraction $fraction:literal,
        indexed $indexed:literal;
    )+) => {
        /// A metric of the catalogue (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MetricKind {
            $( $(#[doc = $doc])+ $kind, )+
        }

        impl MetricKind {
            /// Every metric, in catalogue order.
            pub const ALL: &'static [MetricKind] = &[$(MetricKind::$kind),+];

            /// Its catalogue entry.
            pub fn def(self) -> &'static MetricDef {
                match self {
                    $(MetricKind::$kind => &MetricDef {
                        name: $name,
                        short: $short,
                        splits: &[$(Split::$split),*],
                        per_layer: $layer,
                        higher_is_better: $higher,
                        fraction: $fraction,
                        indexed: $indexed,
                        doc: concat!($($doc),+),
                    },)+
                }
            }
        }
    };
}

catalogue! {
    /// Mean loss over the split.
    Loss = "loss", short "loss", splits [Train, Valid, Test],
        layer false, higher false, fraction false, indexed false;
    /// Fraction of samples classified right (classification).
    Accuracy = "accuracy", short "acc", splits [Train, Valid, Test],
        layer false, higher true, fraction true, indexed false;
    /// Mean absolute error (regression).
    Mae = "mae", short "mae", splits [Train, Valid, Test],
        layer false, higher false, fraction false, indexed false;
    /// Mean squared error (regression).
    Mse = "mse", short "mse", splits [Train, Valid, Test],
        layer false, higher false, fraction false, indexed false;
    /// Fraction of outputs exactly zero (`record = ["output_zeros"]`).
    OutputZeroFraction = "output_zero_fraction", short "output_zero_fraction",
        splits [Train, Valid, Test], layer false, higher false, fraction true, indexed false;
    /// Mean minibatch loss during the epoch (epochs 1 on).
    BatchLoss = "batch_loss", short "batch_loss", splits [Train],
        layer false, higher false, fraction false, indexed false;
    /// Seconds in training steps during the epoch.
    EpochSeconds = "epoch_seconds", short "epoch_seconds", splits [Train],
        layer false, higher false, fraction false, indexed false;
    /// Training samples per second of training steps.
    SamplesPerSecond = "samples_per_second", short "samples_per_second", splits [Train],
        layer false, higher true, fraction false, indexed false;
    /// Weight gradient L2 norm, mean over the epoch's steps (`grad_norm` for short).
    GradNormMean = "grad_norm_mean", short "grad_norm_mean", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Weight gradient L2 norm at the epoch's last step.
    GradNormLast = "grad_norm_last", short "grad_norm_last", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Weight gradient L2 norm over the square root of the weight count, mean over steps.
    GradRms = "grad_rms", short "grad_rms", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Mean |g| of the weight gradient, mean over steps.
    GradMeanAbs = "grad_mean_abs", short "grad_mean_abs", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Bias gradient L2 norm, mean over steps.
    BiasGradNorm = "bias_grad_norm", short "bias_grad_norm", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Weight matrix L2 (Frobenius) norm.
    WeightNorm = "weight_norm", short "weight_norm", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Relative change of the weights over the epoch.
    UpdateRatio = "update_ratio", short "update_ratio", splits [],
        layer true, higher false, fraction false, indexed false;
    /// Mean activation of a hidden layer on the probe rows.
    ActMean = "act_mean", short "act_mean", splits [Probe],
        layer true, higher false, fraction false, indexed false;
    /// Standard deviation of a hidden layer's activations on the probe rows.
    ActStd = "act_std", short "act_std", splits [Probe],
        layer true, higher false, fraction false, indexed false;
    /// Largest activation of a hidden layer on the probe rows.
    ActMax = "act_max", short "act_max", splits [Probe],
        layer true, higher false, fraction false, indexed false;
    /// Fraction of a hidden layer's activations that are exactly zero.
    Sparsity = "sparsity", short "sparsity", splits [Probe],
        layer true, higher false, fraction true, indexed false;
    /// Fraction of a hidden layer's units whose derivative is zero on every probe row.
    DeadFraction = "dead_fraction", short "dead_fraction", splits [Probe],
        layer true, higher false, fraction true, indexed false;
    /// Fraction of a hidden layer's units saturated on every probe row.
    SaturatedFraction = "saturated_fraction", short "saturated_fraction", splits [Probe],
        layer true, higher false, fraction true, indexed false;
    /// Singular values of the collapsed linear map (all-identity networks), largest first.
    SingularValue = "singular_value", short "singular_value", splits [],
        layer false, higher false, fraction false, indexed true;
}

/// Other names accepted for a metric in value names.
const ALIASES: &[(&str, MetricKind)] = &[("grad_norm", MetricKind::GradNormMean)];

impl MetricKind {
    /// The `metric` column's value (`singular_value_K` takes [`Self::indexed`]).
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The `metric` column's value of an indexed metric's `k`-th value.
    pub fn indexed(self, k: usize) -> String {
        format!("{}_{k}", self.def().name)
    }

    /// The metric stored as `name` (`singular_value_3` is [`MetricKind::SingularValue`]).
    pub fn of_stored(name: &str) -> Option<MetricKind> {
        MetricKind::ALL.iter().copied().find(|k| {
            let d = k.def();
            if d.indexed {
                name.strip_prefix(d.name)
                    .and_then(|r| r.strip_prefix('_'))
                    .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 1))
            } else {
                name == d.name
            }
        })
    }
}

/// A value as named in `[[tables]]` and `[[charts]]`: `<split>_<metric>`
/// (`test_acc`, `probe_dead_fraction`) or a split-less metric
/// (`grad_norm_mean`, `singular_value_1`), resolved against the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueName {
    /// As written (`test_acc`).
    pub name: String,
    /// The catalogue entry.
    pub kind: MetricKind,
    /// The `metric` column's value (`accuracy`, `singular_value_2`).
    pub metric: String,
    /// The split, for metrics measured on one.
    pub split: Option<Split>,
}

impl ValueName {
    /// Resolves `name`; an unknown name, or a metric on a split it is not
    /// measured on, is an error suggesting the nearest valid name.
    pub fn resolve(name: &str) -> Result<ValueName, UnknownValue> {
        let (split, rest) = Split::ALL
            .into_iter()
            .find_map(|s| {
                name.strip_prefix(s.as_str())
                    .and_then(|r| r.strip_prefix('_'))
                    .map(|r| (Some(s), r))
            })
            .unwrap_or((None, name));
        let Some((kind, metric)) = metric_named(rest) else {
            return Err(UnknownValue::new(name, format!("unknown metric `{name}`")));
        };
        let splits = kind.def().splits;
        let short = kind.def().short;
        match split {
            Some(s) if !splits.contains(&s) => Err(match splits.first() {
                None => UnknownValue::new(
                    name,
                    format!("metric `{rest}` has no split: write `{short}`"),
                )
                .suggest(short.to_string()),
                Some(first) => UnknownValue::new(
                    name,
                    format!(
                        "metric `{rest}` is measured on {}, not on `{s}`",
                        split_list(splits)
                    ),
                )
                .suggest(format!("{first}_{short}")),
            }),
            None if !splits.is_empty() => Err(UnknownValue::new(
                name,
                format!(
                    "metric `{rest}` needs a split: {}",
                    splits
                        .iter()
                        .map(|s| format!("`{s}_{short}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .suggest(format!("{}_{short}", splits[0]))),
            _ => Ok(ValueName {
                name: name.to_string(),
                kind,
                metric,
                split,
            }),
        }
    }

    /// Larger values are better (accuracies, throughput).
    pub fn higher_is_better(&self) -> bool {
        self.kind.def().higher_is_better
    }

    /// A fraction in [0, 1].
    pub fn is_fraction(&self) -> bool {
        self.kind.def().fraction
    }

    /// The value name of a stored (metric, split) pair: `test_acc` for
    /// (`accuracy`, `test`).
    pub fn of_stored(metric: &str, split: Option<Split>) -> String {
        let short = MetricKind::of_stored(metric)
            .filter(|k| !k.def().indexed)
            .map_or(metric, |k| k.def().short);
        match split {
            Some(s) => format!("{s}_{short}"),
            None => short.to_string(),
        }
    }

    /// Every canonical value name (indexed metrics with `_K`).
    pub fn all() -> Vec<String> {
        let mut out = Vec::new();
        for k in MetricKind::ALL {
            let d = k.def();
            let stem = if d.indexed {
                format!("{}_K", d.short)
            } else {
                d.short.to_string()
            };
            if d.splits.is_empty() {
                out.push(stem);
            } else {
                out.extend(d.splits.iter().map(|s| format!("{s}_{stem}")));
            }
        }
        out
    }
}

/// The metric a value name's metric part names: its short name, its stored
/// name, an alias, or `<indexed>_K`.
fn metric_named(rest: &str) -> Option<(MetricKind, String)> {
    if let Some((_, k)) = ALIASES.iter().find(|(a, _)| *a == rest) {
        return Some((*k, k.name().to_string()));
    }
    MetricKind::ALL.iter().find_map(|&k| {
        let d = k.def();
        if d.indexed {
            MetricKind::of_stored(rest)
                .filter(|s| *s == k)
                .map(|_| (k, rest.to_string()))
        } else {
            (rest == d.short || rest == d.name).then(|| (k, d.name.to_string()))
        }
    })
}

/// `train, valid, test` as `` `train`, `valid` or `test` ``.
fn split_list(splits: &[Split]) -> String {
    let names: Vec<String> = splits.iter().map(|s| format!("`{s}`")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// A value name the catalogue does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UnknownValue {
    /// As written.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
    /// The nearest valid name, when one is close.
    pub suggestion: Option<String>,
}

impl UnknownValue {
    fn new(name: &str, reason: String) -> UnknownValue {
        let all = ValueName::all();
        UnknownValue {
            name: name.to_string(),
            reason,
            suggestion: crate::text::suggest(name, all.iter().map(String::as_str)),
        }
    }

    fn suggest(mut self, name: String) -> UnknownValue {
        self.suggestion = Some(name);
        self
    }

    /// `did you mean ...?`, when a valid name is close.
    pub fn help(&self) -> Option<String> {
        self.suggestion
            .as_ref()
            .map(|s| format!("did you mean `{s}`?"))
    }

    /// Every valid name.
    pub fn note() -> String {
        format!("metrics: {}", ValueName::all().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_names_resolve_to_stored_pairs() {
        let v = ValueName::resolve("test_acc").unwrap();
        assert_eq!(
            (v.metric.as_str(), v.split),
            ("accuracy", Some(Split::Test))
        );
        assert!(v.higher_is_better() && v.is_fraction());
        let v = ValueName::resolve("train_accuracy").unwrap();
        assert_eq!(v.kind, MetricKind::Accuracy);
        let v = ValueName::resolve("probe_dead_fraction").unwrap();
        assert_eq!(v.split, Some(Split::Probe));
        let v = ValueName::resolve("grad_norm").unwrap();
        assert_eq!((v.metric.as_str(), v.split), ("grad_norm_mean", None));
        let v = ValueName::resolve("singular_value_3").unwrap();
        assert_eq!(
            (v.kind, v.metric.as_str()),
            (MetricKind::SingularValue, "singular_value_3")
        );
        assert!(!ValueName::resolve("test_loss").unwrap().higher_is_better());
    }

    #[test]
    fn unknown_names_and_wrong_splits_are_rejected_with_a_suggestion() {
        let e = ValueName::resolve("test_accc").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("test_acc"));
        // Loss is not measured on the probe rows; gradients have no split.
        let reason = |n: &str| ValueName::resolve(n).unwrap_err().reason;
        assert_eq!(
            reason("probe_loss"),
            "metric `loss` is measured on `train`, `valid` or `test`, not on `probe`"
        );
        assert_eq!(
            reason("train_grad_norm_mean"),
            "metric `grad_norm_mean` has no split: write `grad_norm_mean`"
        );
        assert_eq!(
            ValueName::resolve("probe_loss")
                .unwrap_err()
                .suggestion
                .as_deref(),
            Some("train_loss")
        );
        assert_eq!(
            reason("loss"),
            "metric `loss` needs a split: `train_loss`, `valid_loss`, `test_loss`"
        );
        assert!(ValueName::resolve("singular_value_0").is_err());
    }

    #[test]
    fn every_canonical_name_resolves_and_round_trips() {
        for name in ValueName::all() {
            let name = name.replace("_K", "_2");
            let v = ValueName::resolve(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(ValueName::of_stored(&v.metric, v.split), name);
        }
    }

    #[test]
    fn docs_results_md_names_every_metric() {
        let doc = include_str!("../../docs/results.md");
        for k in MetricKind::ALL {
            let name = k.name();
            let written = if k.def().indexed {
                format!("`{name}_1`")
            } else {
                format!("`{name}`")
            };
            assert!(
                doc.contains(&written),
                "docs/results.md does not name {written}"
            );
        }
    }

    #[test]
    fn stored_names_are_distinct() {
        let mut names: Vec<&str> = MetricKind::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MetricKind::ALL.len());
    }
}
