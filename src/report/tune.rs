//! `tune`: every cell of a table or chart at its own best setting, chosen on
//! validation.
//!
//! "Activation A beats B" is only a fair claim when each gets its own best
//! setting (a learning rate, say), chosen without looking at the test set.
//! `tune = { over = "optimizer.lr", by = "valid_acc" }` does that cell by
//! cell: among the values of `over` (axes the table or chart does not show),
//! it takes the one whose jobs have the best mean of `by` over seeds, at the
//! table's epoch (higher or lower is better as the metric catalogue says;
//! of equal means, the value written first wins), and the cell shows its
//! `value` from those jobs, with the setting chosen. Paired comparisons,
//! ratios and ranks then read each cell's own chosen jobs, so every arm is
//! compared at its own best.
//!
//! `by` may not be measured on the test split (choosing on the test set is
//! the mistake this exists to prevent), and a metric on the validation
//! split needs jobs that hold one out: both are located errors when the file
//! is planned, before anything trains.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::cells::{spec_error, value_name, Cells, Context, Dim, EpochSel, Query};
use super::ReportError;
use crate::config::diag::{did_you_mean, Diagnostic};
use crate::config::raw::RawTune;
use crate::results::{Split, ValueName};

/// A table's or chart's `tune`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Tune {
    /// The axes whose best values each cell takes.
    pub over: Vec<String>,
    /// The metric that chooses.
    pub by: ValueName,
    /// Where `by` is written (for errors found against the plan).
    span: Option<Range<usize>>,
}

impl Tune {
    /// Resolves `tune` against the experiment's `axes`; `shown` are the
    /// dimensions the table or chart shows, which `over` may not name.
    pub fn parse(
        raw: Option<&Spanned<RawTune>>,
        axes: &[String],
        shown: &[&Dim],
    ) -> Result<Option<Tune>, Diagnostic> {
        let Some(raw) = raw else { return Ok(None) };
        let t = raw.get_ref();
        let over = over_axes(&t.over, axes, shown)?;
        let by = value_name(t.by.get_ref(), "tune.by", Some(&t.by))?;
        if by.split == Some(Split::Test) {
            return Err(spec_error(
                "tune.by",
                format!(
                    "`tune` may not choose by `{}`: a setting chosen on the test split makes the \
                     test score an optimistic one, which is what `tune` is for avoiding",
                    by.name
                ),
                Some(&t.by),
            )
            .help(format!(
                "choose on the validation split: by = \"{}\" (and `validation_fraction` in the dataset)",
                by.name.replacen("test", "valid", 1)
            )));
        }
        Ok(Some(Tune {
            over,
            by,
            span: Some(t.by.span()),
        }))
    }

    /// Checks that the jobs of `experiment` measure `by`: a metric on the
    /// validation split needs every job's dataset to hold one out.
    pub fn check(&self, ctx: &Context, experiment: &str) -> Result<(), Diagnostic> {
        if self.by.split != Some(Split::Valid) {
            return Ok(());
        }
        let lacking: Vec<&str> = ctx
            .plan
            .jobs
            .iter()
            .filter(|j| j.experiment == experiment && j.config.dataset.validation_fraction <= 0.0)
            .map(|j| j.config.dataset.name())
            .collect();
        let Some(first) = lacking.first() else {
            return Ok(());
        };
        Err(Diagnostic::new(
            format!(
                "`tune` chooses by `{}`, but {} of experiment {experiment}'s jobs hold out no \
                 validation rows (dataset {first}, for one)",
                self.by.name,
                lacking.len()
            ),
            self.span.clone(),
        )
        .key("tune.by")
        .help("set the dataset's `validation_fraction`, e.g. dataset = { name = \"mnist\", validation_fraction = 0.1 }"))
    }

    /// `lr 3e-3`: the setting of a cell, each axis by the last part of its
    /// name.
    fn setting_text(&self, labels: &[String]) -> String {
        self.over
            .iter()
            .zip(labels)
            .map(|(axis, label)| {
                let short = axis.rsplit('.').next().unwrap_or(axis);
                format!("{short} {label}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The note under a tuned table: what was tuned, by what, on which
    /// split, over how many settings.
    pub fn note(&self, cells: &Cells, epoch: EpochSel) -> String {
        let over = self
            .over
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        let best = if self.by.higher_is_better() {
            "highest"
        } else {
            "lowest"
        };
        let at = match epoch {
            EpochSel::Last => "at the last epoch".to_string(),
            EpochSel::Best => "at each run's best epoch".to_string(),
            EpochSel::At(e) => format!("at epoch {e}"),
        };
        let split = match self.by.split {
            Some(Split::Valid) => "the validation split",
            Some(Split::Train) => "the training split",
            _ => "the training run",
        };
        let candidates = cells.tuned.as_ref().map_or(0, |t| t.candidates);
        format!(
            "Tuned: each cell is at the setting of {over} (of {candidates}) whose jobs have the \
             {best} mean `{}` over seeds {at}, measured on {split}; the test split chose nothing. \
             The chosen setting is in parentheses.",
            self.by.name
        )
    }
}

/// The `over` axes: each an axis of the experiment, none shown.
fn over_axes(
    over: &Spanned<crate::config::raw::StringOrList>,
    axes: &[String],
    shown: &[&Dim],
) -> Result<Vec<String>, Diagnostic> {
    let names = &over.get_ref().0;
    if names.is_empty() {
        return Err(spec_error("tune.over", "`over` names no axis", Some(over)));
    }
    for name in names {
        if !axes.contains(name) {
            return Err(spec_error(
                "tune.over",
                format!(
                    "`{name}` is not an axis of this experiment (axes: {})",
                    axes.join(", ")
                ),
                Some(over),
            )
            .help_opt(did_you_mean(name, axes.iter().map(String::as_str))));
        }
        if shown.iter().any(|d| **d == Dim::Axis(name.clone())) {
            return Err(spec_error(
                "tune.over",
                format!(
                    "`{name}` is shown here, so it cannot also be chosen per cell: tune over an \
                     axis the table or chart does not show"
                ),
                Some(over),
            ));
        }
    }
    Ok(names.clone())
}

/// The choices behind tuned cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tuned {
    /// Cell key to its chosen setting (`lr 3e-3`).
    pub chosen: HashMap<Vec<String>, String>,
    /// How many settings were compared (the most any cell had).
    pub candidates: usize,
}

/// The labels of `key` at the dimensions `pick` keeps.
fn project(key: &[String], dims: &[Dim], pick: impl Fn(&Dim) -> bool) -> Vec<String> {
    key.iter()
        .zip(dims)
        .filter(|(_, d)| pick(d))
        .map(|(l, _)| l.clone())
        .collect()
}

impl Context<'_> {
    /// The cells of `q`, each at its best setting when `tune` is given (see
    /// the module docs): the query with the tuned axes as dimensions, the
    /// same for `by`, the best setting of every cell, and the cells at it.
    pub fn query_tuned(&self, q: &Query, tune: Option<&Tune>) -> Result<Cells, ReportError> {
        let Some(tune) = tune else {
            return self.query(q);
        };
        let over: Vec<Dim> = tune.over.iter().cloned().map(Dim::Axis).collect();
        let is_over = |d: &Dim| over.contains(d);
        let mut with_over = q.clone();
        with_over.dims = over.iter().cloned().chain(q.dims.iter().cloned()).collect();
        let values = self.query(&with_over)?;
        let mut by_query = with_over.clone();
        by_query.values = vec![tune.by.clone()];
        by_query.dims.retain(|d| d != &Dim::Metric);
        let by = self.query(&by_query)?;
        let (best, candidates) = best_settings(&by, &over, tune.by.higher_is_better());
        // The group of a cell: every label but the tuned axes' and the metric's.
        let group =
            |key: &[String]| project(key, &values.dims, |d| !is_over(d) && d != &Dim::Metric);
        let mut cells = HashMap::new();
        let mut samples = HashMap::new();
        let mut chosen = HashMap::new();
        for (key, summary) in &values.cells {
            let setting = project(key, &values.dims, is_over);
            if best.get(&group(key)) != Some(&setting) {
                continue;
            }
            let cell = project(key, &values.dims, |d| !is_over(d));
            if let Some(s) = values.samples.get(key) {
                samples.insert(cell.clone(), s.clone());
            }
            chosen.insert(cell.clone(), tune.setting_text(&setting));
            cells.insert(cell, *summary);
        }
        let kept = |i: &usize| !is_over(&values.dims[*i]);
        let shown: Vec<usize> = (0..values.dims.len()).filter(kept).collect();
        Ok(Cells {
            dims: shown.iter().map(|&i| values.dims[i].clone()).collect(),
            labels: shown.iter().map(|&i| values.labels[i].clone()).collect(),
            cells,
            samples,
            tuned: Some(Tuned { chosen, candidates }),
            ..values
        })
    }
}

/// One setting of a group: its place in the axes' order, its labels, and
/// the mean of `by` there.
type Candidate = (Vec<usize>, Vec<String>, f64);

/// For every group of `by`'s cells (all labels but the tuned axes'), the
/// setting (the tuned axes' labels) with the best mean; of equal means, the
/// first in the axes' order. Also the most settings any group compared.
fn best_settings(
    by: &Cells,
    over: &[Dim],
    higher_is_better: bool,
) -> (HashMap<Vec<String>, Vec<String>>, usize) {
    let is_over = |d: &Dim| over.contains(d);
    let position = |setting: &[String]| -> Vec<usize> {
        let over_dims = by.dims.iter().enumerate().filter(|(_, d)| is_over(d));
        over_dims
            .zip(setting)
            .map(|((i, _), l)| {
                by.labels[i]
                    .iter()
                    .position(|x| x == l)
                    .unwrap_or(usize::MAX)
            })
            .collect()
    };
    let mut groups: HashMap<Vec<String>, Vec<Candidate>> = HashMap::new();
    for (key, s) in &by.cells {
        if s.mean.is_nan() {
            continue;
        }
        let setting = project(key, &by.dims, is_over);
        let group = project(key, &by.dims, |d| !is_over(d));
        groups
            .entry(group)
            .or_default()
            .push((position(&setting), setting, s.mean));
    }
    let mut candidates = 0;
    let best = groups
        .into_iter()
        .filter_map(|(group, mut options)| {
            candidates = candidates.max(options.len());
            options.sort_by(|a, b| a.0.cmp(&b.0));
            let better = |x: f64, y: f64| if higher_is_better { x > y } else { x < y };
            let mut pick = options.first()?.clone();
            for o in &options[1..] {
                if better(o.2, pick.2) {
                    pick = o.clone();
                }
            }
            Some((group, pick.1))
        })
        .collect();
    (best, candidates)
}
