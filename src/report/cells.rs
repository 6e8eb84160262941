//! From tidy results to aggregated cells: the one query every table and
//! chart goes through.
//!
//! A [`Query`] names an experiment, the values (`test_acc`, `grad_norm_mean`),
//! the dimensions that key a cell (grid axes, `layer`, `epoch`, `metric`) and
//! which epoch to take. Jobs that failed or diverged are set aside and
//! listed, never averaged in. Grid axes the query does not name but that vary
//! among the jobs are added in front of the dimensions, so two cells never
//! silently merge. Each job's values are keyed by cell (the seed is never a
//! dimension) as the query walks the results, and each cell's values become
//! its mean, sample std, n and 95% CI ([`Summary::of_cell`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::paired::{self, Comparison, PairedTest};
use super::stats::Summary;
use super::ReportError;
use crate::config::diag::{did_you_mean, Diagnostic};
pub use crate::plan::value_label;
use crate::plan::{Job, Plan};
use crate::results::metric::UnknownValue;
use crate::results::{JobStatus, MetricRow, RunRow, Tables, ValueName};

/// A job filter: (field, accepted value labels); every field must match one
/// of its labels.
pub type Filter = Vec<(String, Vec<String>)>;

/// What varies along a table's rows or columns, or a chart's series or panels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A grid axis, by name (`activation`, `depth`, `optimizer.lr`).
    Axis(String),
    /// The layer of a per-layer metric.
    Layer,
    /// The epoch.
    Epoch,
    /// The value (metric) name.
    Metric,
    /// The experiment itself (one value): for experiments without axes.
    Experiment,
}

impl Dim {
    /// Parses a dimension name against an experiment's axes.
    pub fn parse(name: &str, axes: &[String]) -> Result<Dim, String> {
        match name {
            "layer" => Ok(Dim::Layer),
            "epoch" => Ok(Dim::Epoch),
            "metric" => Ok(Dim::Metric),
            "experiment" => Ok(Dim::Experiment),
            a if axes.iter().any(|x| x == a) => Ok(Dim::Axis(a.to_string())),
            other => {
                let known: Vec<&str> = axes
                    .iter()
                    .map(String::as_str)
                    .chain(["layer", "epoch", "metric"])
                    .collect();
                Err(format!(
                    "`{other}` is not an axis of this experiment, `layer`, `epoch` or `metric` (known: {})",
                    known.join(", ")
                ))
            }
        }
    }

    /// [`Dim::parse`] for a key of a `[[tables]]`/`[[charts]]` entry: the
    /// error points at the value in the file and suggests the nearest name.
    pub fn parse_at(
        s: &toml::Spanned<String>,
        axes: &[String],
        key: &str,
    ) -> Result<Dim, Diagnostic> {
        Dim::parse(s.get_ref(), axes).map_err(|m| {
            let known = axes
                .iter()
                .map(String::as_str)
                .chain(["layer", "epoch", "metric"]);
            spec_error(key, m, Some(s)).help_opt(did_you_mean(s.get_ref(), known))
        })
    }

    /// The name shown in headers and legends.
    pub fn name(&self) -> &str {
        match self {
            Dim::Axis(a) => a,
            Dim::Layer => "layer",
            Dim::Epoch => "epoch",
            Dim::Metric => "metric",
            Dim::Experiment => "experiment",
        }
    }
}

/// A problem with one key of a `[[tables]]` or `[[charts]]` entry, located
/// at that key's value in the sweep file when there is one.
pub fn spec_error<T>(
    key: &str,
    message: impl Into<String>,
    at: Option<&toml::Spanned<T>>,
) -> Diagnostic {
    Diagnostic::new(message, at.map(toml::Spanned::span)).key(key)
}

/// Resolves the value name `name`, written at `key`, against the metric
/// catalogue: an unknown name is reported at the key, with the nearest
/// valid name.
pub fn value_name<T>(
    name: &str,
    key: &str,
    at: Option<&toml::Spanned<T>>,
) -> Result<ValueName, Diagnostic> {
    ValueName::resolve(name).map_err(|e| {
        spec_error(key, e.to_string(), at)
            .help_opt(e.help())
            .note(UnknownValue::note())
    })
}

/// Which epoch of each job's series a cell takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochSel {
    /// The last epoch recorded.
    Last,
    /// The best epoch of that value (highest accuracy, lowest anything else).
    Best,
    /// This epoch.
    At(u32),
}

impl EpochSel {
    /// Parses `"last"`, `"best"` or a non-negative integer.
    pub fn parse(v: Option<&toml::Value>) -> Result<EpochSel, String> {
        match v {
            None => Ok(EpochSel::Last),
            Some(toml::Value::String(s)) if s == "last" => Ok(EpochSel::Last),
            Some(toml::Value::String(s)) if s == "best" => Ok(EpochSel::Best),
            Some(toml::Value::Integer(i)) if *i >= 0 && *i <= u32::MAX as i64 => {
                Ok(EpochSel::At(*i as u32))
            }
            Some(other) => Err(format!(
                "epoch must be \"last\", \"best\" or a number >= 0, not {other}"
            )),
        }
    }
}

/// A comparison with a baseline (`baseline = "relu"`, `test = "wilcoxon"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// The baseline's label (a value of an axis).
    pub label: String,
    /// The paired test.
    pub test: PairedTest,
    /// Where `baseline` is written (for errors found against the plan).
    pub span: Option<std::ops::Range<usize>>,
}

impl Baseline {
    /// Parses the `baseline` and `test` keys of a table or chart.
    pub fn parse(
        baseline: Option<&toml::Spanned<toml::Value>>,
        test: Option<&toml::Spanned<String>>,
    ) -> Result<Option<Baseline>, Diagnostic> {
        let test_kind = match test.map(|t| t.get_ref().as_str()) {
            None | Some("t") => PairedTest::StudentT,
            Some("wilcoxon") => PairedTest::Wilcoxon,
            Some(other) => {
                return Err(spec_error(
                    "test",
                    format!("test `{other}` is not one of t, wilcoxon"),
                    test,
                )
                .help_opt(did_you_mean(other, ["t", "wilcoxon"])))
            }
        };
        match baseline {
            None if test.is_some() => Err(spec_error(
                "test",
                "`test` chooses the paired test of a `baseline` comparison; set `baseline` too",
                test,
            )),
            None => Ok(None),
            Some(b) => Ok(Some(Baseline {
                label: value_label(b.get_ref()),
                test: test_kind,
                span: Some(b.span()),
            })),
        }
    }

    /// Checks that the baseline is a planned value of one of `dims` (the
    /// first that is an axis holding it is the one compared along).
    pub fn check(&self, ctx: &Context, experiment: &str, dims: &[&Dim]) -> Result<(), Diagnostic> {
        let axes: Vec<&str> = dims
            .iter()
            .filter_map(|d| match d {
                Dim::Axis(a) => Some(a.as_str()),
                _ => None,
            })
            .collect();
        if axes.is_empty() {
            return Err(Diagnostic::new(
                "`baseline` compares along a grid axis, and neither dimension here is one",
                self.span.clone(),
            )
            .key("baseline"));
        }
        let values: Vec<String> = axes
            .iter()
            .flat_map(|a| ctx.axis_values(experiment, a))
            .collect();
        if values.contains(&self.label) {
            return Ok(());
        }
        Err(Diagnostic::new(
            format!(
                "baseline `{}` is not a value of {} (values: {})",
                self.label,
                axes.iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                values.join(", ")
            ),
            self.span.clone(),
        )
        .key("baseline")
        .help_opt(did_you_mean(&self.label, values.iter().map(String::as_str))))
    }
}

/// A job left out of the averages.
#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    /// Its label.
    pub label: String,
    /// How it ended; none when it is planned but not in the results.
    pub status: Option<JobStatus>,
    /// Why.
    pub error: Option<String>,
}

impl Excluded {
    /// `failed`, `diverged`, or `missing`.
    pub fn status_text(&self) -> &'static str {
        self.status.map_or("missing", JobStatus::as_str)
    }
}

/// What to aggregate.
#[derive(Debug, Clone)]
pub struct Query {
    /// The experiment.
    pub experiment: String,
    /// The values; several only with [`Dim::Metric`] among the dimensions.
    pub values: Vec<ValueName>,
    /// The dimensions keying a cell.
    pub dims: Vec<Dim>,
    /// Which epoch (ignored when [`Dim::Epoch`] is a dimension).
    pub epoch: EpochSel,
    /// `field = value` pairs every job must match (see [`Job::field`]).
    pub filter: Filter,
}

/// Aggregated cells.
#[derive(Debug, Clone)]
pub struct Cells {
    /// Every dimension: the varying axes the query did not name, then the query's.
    pub dims: Vec<Dim>,
    /// How many leading dimensions were added.
    pub extra: usize,
    /// The ordered labels of each dimension (only those with data).
    pub labels: Vec<Vec<String>>,
    /// Cell key (one label per dimension) to its summary.
    pub cells: HashMap<Vec<String>, Summary>,
    /// Cell key to its values, one per job, with the job's seed (what a
    /// paired comparison pairs up).
    pub samples: HashMap<Vec<String>, Vec<(i64, f64)>>,
    /// Jobs of the experiment (after the filter) left out of the averages.
    pub excluded: Vec<Excluded>,
    /// Jobs averaged in.
    pub included: usize,
    /// With `tune`: each cell's chosen setting ([`super::tune`]).
    pub tuned: Option<super::tune::Tuned>,
}

impl Cells {
    /// The summary at `key`.
    pub fn get(&self, key: &[String]) -> Option<&Summary> {
        self.cells.get(key)
    }

    /// The range of n over the cells.
    pub fn n_range(&self) -> Option<(usize, usize)> {
        let lo = self.cells.values().map(|s| s.n).min()?;
        let hi = self.cells.values().map(|s| s.n).max()?;
        Some((lo, hi))
    }
}

/// Cells compared with a baseline label of one dimension, paired by seed
/// and by every other dimension (see [`Cells::paired`]).
#[derive(Debug, Clone)]
pub struct Paired {
    /// The dimension holding the baseline.
    pub dim: usize,
    /// The baseline's label.
    pub baseline: String,
    /// The test.
    pub test: PairedTest,
    /// Per cell other than the baseline's: the comparison, and its p-value
    /// after Holm's correction over every comparison here.
    pub tests: HashMap<Vec<String>, (Comparison, f64)>,
    /// Per cell other than the baseline's: the differences as a summary
    /// (mean, std, n and 95% CI of the paired differences).
    pub diffs: HashMap<Vec<String>, Summary>,
    /// Values without a partner (a seed on one side only, a failed job on
    /// the other), left out of the pairing.
    pub unpaired: usize,
}

impl Cells {
    /// Compares every cell with the cell that has `baseline` in dimension
    /// `dim` and the same labels elsewhere, pairing their values by seed.
    pub fn paired(&self, dim: usize, baseline: &str, test: PairedTest) -> Paired {
        let mut unpaired = 0;
        let mut found: Vec<(Vec<String>, Comparison, Vec<f64>)> = Vec::new();
        let mut keys: Vec<&Vec<String>> = self.samples.keys().collect();
        keys.sort();
        for key in keys {
            if key[dim] == baseline {
                continue;
            }
            let mut base_key = key.clone();
            base_key[dim] = baseline.to_string();
            let side = &self.samples[key];
            let base = self.samples.get(&base_key).map_or(&[][..], Vec::as_slice);
            let diffs: Vec<f64> = side
                .iter()
                .filter_map(|(seed, v)| base.iter().find(|(s, _)| s == seed).map(|(_, b)| v - b))
                .collect();
            unpaired += side.len() - diffs.len();
            unpaired += base
                .iter()
                .filter(|(s, _)| !side.iter().any(|(t, _)| t == s))
                .count();
            if let Some(c) = paired::compare(&diffs, test) {
                found.push((key.clone(), c, diffs));
            }
        }
        let p: Vec<f64> = found.iter().map(|(_, c, _)| c.p).collect();
        let adjusted = paired::holm(&p);
        let mut tests = HashMap::new();
        let mut diffs = HashMap::new();
        for ((key, c, d), ph) in found.into_iter().zip(adjusted) {
            if let Some(s) = Summary::of(&d) {
                diffs.insert(key.clone(), s);
            }
            tests.insert(key, (c, ph));
        }
        Paired {
            dim,
            baseline: baseline.to_string(),
            test,
            tests,
            diffs,
            unpaired,
        }
    }

    /// These cells with the differences from `paired`'s baseline in place
    /// of the values, and the baseline itself left out (what a chart of
    /// differences draws).
    pub fn differences(&self, paired: &Paired) -> Cells {
        let mut out = self.clone();
        out.cells = paired.diffs.clone();
        out.samples.clear();
        out.labels[paired.dim].retain(|l| l != &paired.baseline);
        out
    }

    /// The dimension among `dims` (indices, tried in order) whose labels
    /// include `label`.
    pub fn dim_with_label(&self, dims: &[usize], label: &str) -> Option<usize> {
        dims.iter().copied().find(|&d| {
            self.labels
                .get(d)
                .is_some_and(|ls| ls.iter().any(|l| l == label))
        })
    }
}

/// The plan and the results, indexed for queries.
pub struct Context<'a> {
    /// The expanded sweep (job order, axis value order, fields for filters).
    pub plan: &'a Plan,
    /// The tidy results.
    pub results: &'a Tables,
    runs: HashMap<&'a str, &'a RunRow>,
    jobs: HashMap<&'a str, &'a Job>,
    metrics: HashMap<&'a str, Vec<&'a MetricRow>>,
}

impl<'a> Context<'a> {
    /// Indexes `results` by job id.
    pub fn new(plan: &'a Plan, results: &'a Tables) -> Context<'a> {
        let mut metrics: HashMap<&str, Vec<&MetricRow>> = HashMap::new();
        for m in &results.metrics {
            metrics.entry(m.job_id.as_str()).or_default().push(m);
        }
        Context {
            plan,
            results,
            runs: results
                .runs
                .iter()
                .map(|r| (r.job_id.as_str(), r))
                .collect(),
            jobs: plan.jobs.iter().map(|j| (j.id.as_str(), j)).collect(),
            metrics,
        }
    }

    /// The grid axes of an experiment (the seed excluded), in file order.
    pub fn axes(&self, experiment: &str) -> Vec<String> {
        self.plan
            .experiments
            .iter()
            .find(|e| e.name == experiment)
            .map(|e| {
                e.axes
                    .iter()
                    .map(|a| a.name.clone())
                    .filter(|a| a != "seed")
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The plan's value labels of an axis, in file order.
    /// The planned values of an axis of an experiment, in plan order.
    pub fn axis_values(&self, experiment: &str, axis: &str) -> Vec<String> {
        self.plan
            .experiments
            .iter()
            .find(|e| e.name == experiment)
            .and_then(|e| e.axes.iter().find(|a| a.name == axis))
            .map(|a| a.values.clone())
            .unwrap_or_default()
    }

    /// The planned jobs of an experiment passing `filter`, with their run (if any).
    pub fn jobs(
        &self,
        experiment: &str,
        filter: &[(String, Vec<String>)],
    ) -> Vec<(&'a Job, Option<&'a RunRow>)> {
        self.plan
            .jobs
            .iter()
            .filter(|j| j.experiment == experiment)
            .filter(|j| {
                filter.iter().all(|(k, want)| {
                    j.field(k)
                        .is_some_and(|vals| vals.iter().any(|x| want.contains(x)))
                })
            })
            .map(|j| (j, self.runs.get(j.id.as_str()).copied()))
            .collect()
    }

    /// Checks a `filter` (written at `at`) against the experiment's jobs:
    /// every key must be a field of them (an axis, `experiment`, `id`, or a
    /// resolved field such as `depth` or `optimizer.lr`), and some job must
    /// pass it, so a misspelt key or value is an error, not an empty table.
    pub fn check_filter(
        &self,
        experiment: &str,
        filter: &Filter,
        at: Option<&toml::Spanned<toml::Table>>,
    ) -> Result<(), Diagnostic> {
        let jobs: Vec<&Job> = self
            .plan
            .jobs
            .iter()
            .filter(|j| j.experiment == experiment)
            .collect();
        for (key, _) in filter {
            if jobs.iter().any(|j| j.field(key).is_some()) {
                continue;
            }
            let known = jobs.first().map(|j| filter_keys(j)).unwrap_or_default();
            return Err(spec_error(
                "filter",
                format!("no job of experiment `{experiment}` has a field `{key}`"),
                at,
            )
            .help_opt(did_you_mean(key, known.iter().map(String::as_str))));
        }
        if !filter.is_empty() && self.jobs(experiment, filter).is_empty() {
            let values = |key: &str| {
                let mut v: Vec<String> =
                    jobs.iter().filter_map(|j| j.field(key)).flatten().collect();
                v.sort();
                v.dedup();
                v.join(", ")
            };
            let present: Vec<String> = filter
                .iter()
                .map(|(k, _)| format!("{k}: {}", values(k)))
                .collect();
            return Err(spec_error(
                "filter",
                format!("the filter keeps no job of experiment `{experiment}`"),
                at,
            )
            .note(format!("values planned: {}", present.join("; "))));
        }
        Ok(())
    }

    /// The planned job with this id.
    pub fn job(&self, id: &str) -> Option<&'a Job> {
        self.jobs.get(id).copied()
    }

    /// Every (metric, split) present in the results, as value names.
    pub fn known_values(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .results
            .metrics
            .iter()
            .map(|m| ValueName::of_stored(&m.metric, m.split))
            .collect();
        set.into_iter().collect()
    }

    /// Runs the query in named steps: the values must be in the results;
    /// the experiment's jobs split into those averaged and those left out;
    /// the cells' dimensions; each averaged job's values keyed by cell; the
    /// cells' summaries; each dimension's labels in order.
    pub fn query(&self, q: &Query) -> Result<Cells, ReportError> {
        self.check_values_recorded(q)?;
        let (ok, excluded) = self.split_jobs(q);
        let dims = self.cell_dims(q, &ok);
        let extra = dims.len() - q.dims.len();
        let (samples, seen) = self.samples(q, &ok, &dims)?;
        let cells = samples
            .iter()
            .filter_map(|(key, s)| {
                let values: Vec<f64> = s.iter().map(|&(_, v)| v).collect();
                Summary::of_cell(&values).map(|summary| (key.clone(), summary))
            })
            .collect();
        let labels = self.ordered_labels(q, &dims, seen);
        Ok(Cells {
            dims,
            extra,
            labels,
            cells,
            samples,
            excluded,
            included: ok.len(),
            tuned: None,
        })
    }

    /// Every value of the query is somewhere in the results (when there are
    /// results at all): a misspelt or unrecorded metric is an error naming
    /// the values present, not an empty table.
    fn check_values_recorded(&self, q: &Query) -> Result<(), ReportError> {
        if self.results.metrics.is_empty() {
            return Ok(());
        }
        for v in &q.values {
            if !self.results.metrics.iter().any(|m| m.holds(v)) {
                return Err(ReportError::Spec(format!(
                    "experiment {}: no metric `{}` in the results (values present: {})",
                    q.experiment,
                    v.name,
                    self.known_values().join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The runs of the query's jobs that finished, and the jobs left out of
    /// the averages (failed, diverged, or not run yet), both in plan order.
    fn split_jobs(&self, q: &Query) -> (Vec<&'a RunRow>, Vec<Excluded>) {
        let mut ok = Vec::new();
        let mut excluded = Vec::new();
        for (job, run) in self.jobs(&q.experiment, &q.filter) {
            match run {
                None => excluded.push(Excluded {
                    label: job.label.clone(),
                    status: None,
                    error: None,
                }),
                Some(r) if r.status != JobStatus::Ok => excluded.push(Excluded {
                    label: r.label.clone(),
                    status: Some(r.status),
                    error: r.error.clone(),
                }),
                Some(r) => ok.push(r),
            }
        }
        (ok, excluded)
    }

    /// The cells' dimensions: the grid axes that vary among the averaged
    /// runs but key no dimension of the query (so two cells never silently
    /// merge), then the query's own.
    fn cell_dims(&self, q: &Query, ok: &[&RunRow]) -> Vec<Dim> {
        let mut dims = Vec::new();
        for axis in self.axes(&q.experiment) {
            if q.dims.iter().any(|d| d == &Dim::Axis(axis.clone())) {
                continue;
            }
            let distinct: BTreeSet<Option<&String>> =
                ok.iter().map(|r| r.axes.get(&axis)).collect();
            if distinct.len() > 1 {
                dims.push(Dim::Axis(axis));
            }
        }
        dims.extend(q.dims.iter().cloned());
        dims
    }

    /// Each averaged run's values of the query, with the run's seed, keyed
    /// by cell (in run, value, layer and epoch order), and the labels each
    /// dimension took, in order of first appearance.
    fn samples(
        &self,
        q: &Query,
        ok: &[&RunRow],
        dims: &[Dim],
    ) -> Result<(CellSamples, Vec<Vec<String>>), ReportError> {
        let by_epoch = dims.contains(&Dim::Epoch);
        let by_layer = dims.contains(&Dim::Layer);
        let mut samples: CellSamples = HashMap::new();
        let mut seen: Vec<Vec<String>> = vec![Vec::new(); dims.len()];
        let empty = Vec::new();
        for run in ok {
            let ms = self.metrics.get(run.job_id.as_str()).unwrap_or(&empty);
            for v in &q.values {
                // Each (layer) series of this value in this job.
                let mut series: BTreeMap<Option<u32>, Vec<&MetricRow>> = BTreeMap::new();
                for m in ms.iter().filter(|m| m.holds(v)) {
                    series.entry(m.layer).or_default().push(m);
                }
                if !by_layer && series.keys().any(Option::is_some) {
                    return Err(ReportError::Spec(format!(
                        "experiment {}: `{}` is a per-layer metric; use `layer` as rows, columns, series or panels",
                        q.experiment, v.name
                    )));
                }
                for (layer, pts) in series {
                    let chosen: Vec<&MetricRow> = if by_epoch {
                        pts
                    } else {
                        pick_epoch(&pts, q.epoch, v.higher_is_better())
                            .into_iter()
                            .collect()
                    };
                    for m in chosen {
                        let key = cell_key(dims, q, run, v, layer, m);
                        for (labels, k) in seen.iter_mut().zip(&key) {
                            if !labels.contains(k) {
                                labels.push(k.clone());
                            }
                        }
                        samples.entry(key).or_default().push((run.seed, m.value));
                    }
                }
            }
        }
        Ok((samples, seen))
    }

    /// Each dimension's labels in their order: an axis's in plan order,
    /// layers and epochs by number, metrics in the query's order.
    fn ordered_labels(&self, q: &Query, dims: &[Dim], seen: Vec<Vec<String>>) -> Vec<Vec<String>> {
        dims.iter()
            .zip(seen)
            .map(|(d, mut got)| {
                match d {
                    Dim::Axis(a) => {
                        let order = self.axis_values(&q.experiment, a);
                        got.sort_by_key(|g| {
                            order.iter().position(|o| o == g).unwrap_or(usize::MAX)
                        });
                    }
                    Dim::Layer | Dim::Epoch => {
                        got.sort_by_key(|g| g.parse::<u64>().unwrap_or(u64::MAX));
                    }
                    Dim::Metric => {
                        got.sort_by_key(|g| q.values.iter().position(|v| &v.name == g));
                    }
                    Dim::Experiment => {}
                }
                got
            })
            .collect()
    }
}

/// Cell key (one label per dimension) to its values, one per job, each
/// with the job's seed.
type CellSamples = HashMap<Vec<String>, Vec<(i64, f64)>>;

/// The cell of one metric row: its label in every dimension (`—` for an
/// axis the run lacks, `model` for a whole-model series on a layer axis).
fn cell_key(
    dims: &[Dim],
    q: &Query,
    run: &RunRow,
    v: &ValueName,
    layer: Option<u32>,
    m: &MetricRow,
) -> Vec<String> {
    dims.iter()
        .map(|d| match d {
            Dim::Axis(a) => run.axes.get(a).cloned().unwrap_or_else(|| "—".into()),
            Dim::Layer => layer.map_or_else(|| "model".into(), |l| l.to_string()),
            Dim::Epoch => m.epoch.to_string(),
            Dim::Metric => v.name.clone(),
            Dim::Experiment => q.experiment.clone(),
        })
        .collect()
}

/// The metric row of one job's series at the chosen epoch.
fn pick_epoch<'m>(pts: &[&'m MetricRow], sel: EpochSel, higher: bool) -> Option<&'m MetricRow> {
    match sel {
        EpochSel::Last => pts.iter().max_by_key(|m| m.epoch).copied(),
        EpochSel::At(e) => pts.iter().find(|m| m.epoch == e).copied(),
        EpochSel::Best => pts
            .iter()
            .filter(|m| m.value.is_finite())
            .max_by(|a, b| {
                let o = a.value.total_cmp(&b.value);
                // Ties go to the earlier epoch.
                let o = if higher { o } else { o.reverse() };
                o.then(b.epoch.cmp(&a.epoch))
            })
            .copied(),
    }
}

/// The keys a filter can name on `job`: its axes, `experiment`, `id`, the
/// job fields and the resolved config's flattened fields.
fn filter_keys(job: &Job) -> Vec<String> {
    let mut keys: Vec<String> = ["experiment", "id"]
        .iter()
        .copied()
        .chain(crate::config::raw::JOB_FIELDS.iter().map(|f| f.name))
        .map(str::to_string)
        .collect();
    keys.extend(job.axes.iter().map(|(a, _)| a.clone()));
    keys.extend(job.config.flat().into_iter().map(|(k, _)| k));
    keys
}
