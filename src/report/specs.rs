//! The report's tables and charts, resolved once, right after the plan.
//!
//! [`crate::cli::load_plan`] parses the sweep file, expands the plan, then
//! calls [`ReportSpecs::resolve`]: every `[[tables]]` and `[[charts]]` entry
//! becomes a typed [`TableSpec`] or [`ChartSpec`], its axes, metric names
//! (against the metric catalogue), baseline and filter (against the planned
//! jobs) checked, so a typo in a report key is a located error from `plan`
//! and `run`, before anything trains. The specs travel with the plan; the
//! report itself never reads TOML. A sweep file without tables or charts
//! gets the default report, chosen when it is written, from what the
//! results hold ([`ReportSpecs::tables`], [`ReportSpecs::charts`]).

use super::cells::{Context, Dim, EpochSel, Query};
use super::chart::ChartSpec;
use super::table::{self, NumFormat, TableSpec};
use super::ReportError;
use crate::config::diag::{ConfigError, Diagnostic};
use crate::config::raw::{RawChart, RawTable};
use crate::config::Sweep;
use crate::plan::Plan;
use crate::results::{Tables, ValueName};

/// The report's tables and charts.
#[derive(Debug, Clone)]
pub enum ReportSpecs {
    /// The sweep file declares its report: these, in file order.
    Declared {
        /// The `[[tables]]`.
        tables: Vec<TableSpec>,
        /// The `[[charts]]`, each with its own file.
        charts: Vec<ChartSpec>,
    },
    /// The sweep file declares no table or chart: per experiment, a table
    /// of its final metrics and its learning curves, from what the results
    /// hold.
    Default,
}

impl ReportSpecs {
    /// Resolves the sweep file's `[[tables]]` and `[[charts]]` against the
    /// plan; the first entry that does not resolve is a [`ConfigError`]
    /// naming the file, the key (`tables[2].rows`), its line and column.
    pub fn resolve(sweep: &Sweep, plan: &Plan) -> Result<ReportSpecs, ReportError> {
        if sweep.tables.is_empty() && sweep.charts.is_empty() {
            return Ok(ReportSpecs::Default);
        }
        // Resolving reads the plan only: no results yet.
        let results = Tables::default();
        let ctx = Context::new(plan, &results);
        let tables = sweep
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                table_spec(t.get_ref(), &ctx)
                    .map_err(|d| spec_failure(sweep, &format!("tables[{i}]"), d))
            })
            .collect::<Result<_, _>>()?;
        let charts = sweep
            .charts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                chart_spec(c.get_ref(), &ctx)
                    .map_err(|d| spec_failure(sweep, &format!("charts[{i}]"), d))
            })
            .collect::<Result<_, _>>()?;
        Ok(ReportSpecs::Declared {
            tables,
            charts: distinct_files(charts),
        })
    }

    /// The tables of the report: the declared ones, or the defaults for
    /// these results.
    pub fn tables(&self, ctx: &Context) -> Vec<TableSpec> {
        match self {
            ReportSpecs::Declared { tables, .. } => tables.clone(),
            ReportSpecs::Default => default_tables(ctx),
        }
    }

    /// The charts of the report: the declared ones, or the defaults for
    /// these results.
    pub fn charts(&self, ctx: &Context) -> Vec<ChartSpec> {
        match self {
            ReportSpecs::Declared { charts, .. } => charts.clone(),
            ReportSpecs::Default => distinct_files(default_charts(ctx)),
        }
    }
}

/// A table or chart entry of the sweep file that does not resolve: a
/// [`ConfigError`] naming the file, the key, its line and column.
fn spec_failure(sweep: &Sweep, entry: &str, mut d: Diagnostic) -> ReportError {
    let key = match &d.key {
        Some(k) => format!("{entry}.{k}"),
        None => entry.to_string(),
    };
    d.key = Some(key);
    ReportError::Config(ConfigError::single(&sweep.file, sweep.text.clone(), d))
}

/// One `[[tables]]` entry resolved, its baseline and filter checked
/// against the plan.
fn table_spec(t: &RawTable, ctx: &Context) -> Result<TableSpec, Diagnostic> {
    let exp = t.experiment.get_ref();
    let spec = TableSpec::from_raw(t, &ctx.axes(exp))?;
    if let Some(b) = &spec.baseline {
        let dims = &spec.query.dims;
        b.check(ctx, exp, &[&dims[1], &dims[0]])?;
    }
    ctx.check_filter(exp, &spec.query.filter, t.filter.as_ref())?;
    if let Some(tune) = &spec.tune {
        tune.check(ctx, exp)?;
    }
    Ok(spec)
}

/// One `[[charts]]` entry resolved, its baseline and filter checked
/// against the plan.
fn chart_spec(c: &RawChart, ctx: &Context) -> Result<ChartSpec, Diagnostic> {
    let exp = c.experiment.as_ref().map(|e| e.get_ref().as_str());
    let axes = exp.map(|e| ctx.axes(e)).unwrap_or_default();
    let spec = ChartSpec::from_raw(c, &axes)?;
    if let Some(exp) = exp {
        if let Some(b) = &spec.baseline {
            let mut dims = vec![&spec.x];
            dims.extend(spec.series.as_ref());
            b.check(ctx, exp, &dims)?;
        }
        ctx.check_filter(exp, &spec.filter, c.filter.as_ref())?;
        if let Some(tune) = &spec.tune {
            tune.check(ctx, exp)?;
        }
    }
    Ok(spec)
}

/// Two charts of one kind on one experiment get distinct files.
fn distinct_files(specs: Vec<ChartSpec>) -> Vec<ChartSpec> {
    let mut out: Vec<ChartSpec> = Vec::with_capacity(specs.len());
    for mut s in specs {
        let base = s.file.clone();
        let mut k = 2;
        while out.iter().any(|o| o.file == s.file) {
            s.file = format!("{base}_{k}");
            k += 1;
        }
        out.push(s);
    }
    out
}

/// Of the value names `wanted`, those some job of `experiment` recorded.
fn values_present(ctx: &Context, experiment: &str, wanted: &[&str]) -> Vec<ValueName> {
    let ids: std::collections::HashSet<&str> = ctx
        .plan
        .jobs
        .iter()
        .filter(|j| j.experiment == experiment)
        .map(|j| j.id.as_str())
        .collect();
    wanted
        .iter()
        .filter_map(|w| ValueName::resolve(w).ok())
        .filter(|v| {
            ctx.results
                .metrics
                .iter()
                .any(|m| ids.contains(m.job_id.as_str()) && m.holds(v))
        })
        .collect()
}

/// The default report's tables: per experiment, its final metrics over its
/// first axis.
fn default_tables(ctx: &Context) -> Vec<TableSpec> {
    let wanted = [
        "train_acc",
        "test_acc",
        "train_loss",
        "test_loss",
        "train_mae",
        "test_mae",
    ];
    ctx.plan
        .experiments
        .iter()
        .filter_map(|e| {
            let values = values_present(ctx, &e.name, &wanted);
            if values.is_empty() {
                return None;
            }
            let rows = match ctx.axes(&e.name).first() {
                Some(a) => Dim::Axis(a.clone()),
                None => Dim::Experiment,
            };
            Some(TableSpec {
                title: format!("{}: final metrics", e.name),
                query: Query {
                    experiment: e.name.clone(),
                    values,
                    dims: vec![rows, Dim::Metric],
                    epoch: EpochSel::Last,
                    filter: Vec::new(),
                },
                format: NumFormat::Fixed,
                digits: table::DEFAULT_DIGITS,
                std: true,
                ratio: None,
                baseline: None,
                rank: false,
                friedman: false,
                tune: None,
                expect: Vec::new(),
            })
        })
        .collect()
}

/// The default report's charts: per experiment, learning curves of its
/// train and test loss.
fn default_charts(ctx: &Context) -> Vec<ChartSpec> {
    ctx.plan
        .experiments
        .iter()
        .filter_map(|e| {
            let values = values_present(ctx, &e.name, &["train_loss", "test_loss"]);
            ChartSpec::learning_curves(&e.name, values, &ctx.axes(&e.name))
        })
        .collect()
}
