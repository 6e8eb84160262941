//! The report: a sweep's tidy results turned into what a researcher reads.
//!
//! `actsweep report FILE` reads `results/<name>/{runs,metrics,boundaries}.parquet`
//! ([`results`]), aggregates over seeds with Polars ([`cells`], [`stats`]),
//! renders the declared `[[tables]]` as Markdown ([`table`], pure functions)
//! and `[[charts]]` as SVG and PNG ([`chart`]), checks the tables' `expect`
//! values, and writes `results/<name>/report/` with `REPORT.md`. With
//! `--readme`, the tables also replace a marked block of a README
//! ([`readme`]). A sweep file without tables or charts gets a default report:
//! per experiment, a table of final metrics over its axes and learning curves.
//!
//! This module owns the orchestration and the file layout; everything that
//! decides what a table or chart shows is testable without the disk.

pub mod cells;
pub mod chart;
pub mod paired;
pub mod readme;
pub mod results;
pub mod stats;
pub mod table;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::activation::plot::PlotError;
use crate::config::diag::{ConfigError, Diagnostic};
use crate::config::raw::{RawChart, RawTable};
use crate::config::Sweep;
use crate::data::DataError;
use crate::plan::Plan;
use cells::Context;
use chart::{ChartKind, ChartSpec, Palette};
use readme::BlockError;
pub use results::{Results, ResultsError};
use table::{Check, Rendered, TableSpec};

/// Making the report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The results could not be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A table or chart asks for something the sweep or its results do not have.
    #[error("{0}")]
    Spec(String),
    /// A declared `[[tables]]` or `[[charts]]` entry is wrong, with its place in the file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Aggregation failed.
    #[error("aggregating results: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    /// plotters failed.
    #[error("drawing {path} failed: {message}")]
    Draw {
        /// The image.
        path: String,
        /// plotters' message.
        message: String,
    },
    /// The activations chart failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// A boundary chart's dataset could not be loaded.
    #[error("cannot load the dataset of a boundary chart")]
    Data(#[from] DataError),
    /// Writing a file failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The README has no block for this sweep.
    #[error("{}: {source}", path.display())]
    Readme {
        /// The README.
        path: PathBuf,
        /// Why.
        #[source]
        source: BlockError,
    },
}

impl ReportError {
    fn draw(path: &Path, message: String) -> ReportError {
        ReportError::Draw {
            path: path.display().to_string(),
            message,
        }
    }

    /// True when the user can fix it in their input (sweep file, README, results folder).
    pub fn is_user(&self) -> bool {
        matches!(
            self,
            ReportError::Results(ResultsError::Missing(_))
                | ReportError::Spec(_)
                | ReportError::Config(_)
                | ReportError::Readme { .. }
        )
    }
}

/// Where to read and write.
#[derive(Debug, Clone)]
pub struct Options {
    /// The results root (`results`): reads `<out>/<name>/`, writes `<out>/<name>/report/`.
    pub out: PathBuf,
    /// A README whose marked block receives the tables.
    pub readme: Option<PathBuf>,
}

/// What a report run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report folder.
    pub dir: PathBuf,
    /// Tables written.
    pub tables: usize,
    /// Chart files written (SVG and PNG).
    pub charts: Vec<PathBuf>,
    /// Every expectation checked.
    pub checks: Vec<Check>,
}

impl Outcome {
    /// Expectations that failed.
    pub fn failed(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.pass).collect()
    }
}

/// Reads the results of `sweep` and writes its report.
pub fn run(sweep: &Sweep, plan: &Plan, opts: &Options) -> Result<Outcome, ReportError> {
    let dir = opts.out.join(&sweep.name);
    let results = Results::read(&dir)?;
    write(
        sweep,
        plan,
        &results,
        &dir.join("report"),
        opts.readme.as_deref(),
    )
}

/// A table or chart that does not resolve: for an entry of the sweep file, a
/// [`ConfigError`] naming the file, the key, its line and column; for a
/// default entry (no place in the file), a plain message.
fn spec_failure(sweep: &Sweep, declared: bool, entry: &str, mut d: Diagnostic) -> ReportError {
    let key = match &d.key {
        Some(k) => format!("{entry}.{k}"),
        None => entry.to_string(),
    };
    if !declared {
        return ReportError::Spec(format!("{}: default {key}: {}", sweep.file, d.message));
    }
    d.key = Some(key);
    ReportError::Config(ConfigError::single(&sweep.file, sweep.text.clone(), d))
}

/// Checks the declared `[[tables]]` and `[[charts]]` against the plan's
/// axes before anything trains, so a typo in a report key is caught by
/// `plan` and `run`, not after the sweep has trained. Metric names are
/// checked later, by `report`, against the results.
pub fn check_specs(sweep: &Sweep, plan: &Plan) -> Result<(), ReportError> {
    if sweep.tables.is_empty() && sweep.charts.is_empty() {
        return Ok(());
    }
    let results = Results::default();
    let ctx = Context::new(plan, &results);
    table_specs(sweep, &ctx)?;
    chart_specs(sweep, &ctx)?;
    Ok(())
}

/// The tables of the report, resolved: declared ones, or the defaults.
pub fn table_specs(sweep: &Sweep, ctx: &Context) -> Result<Vec<TableSpec>, ReportError> {
    let declared = !(sweep.tables.is_empty() && sweep.charts.is_empty());
    let raws: Vec<RawTable> = if declared {
        sweep.tables.iter().map(|t| t.get_ref().clone()).collect()
    } else {
        default_tables(ctx)?
    };
    raws.iter()
        .enumerate()
        .map(|(i, t)| {
            table_spec(t, ctx)
                .map_err(|d| spec_failure(sweep, declared, &format!("tables[{i}]"), d))
        })
        .collect()
}

/// One `[[tables]]` entry resolved, its baseline checked against the plan.
fn table_spec(t: &RawTable, ctx: &Context) -> Result<TableSpec, Diagnostic> {
    let exp = t.experiment.get_ref();
    let spec = TableSpec::from_raw(t, &ctx.axes(exp))?;
    if let Some(b) = &spec.baseline {
        let dims = &spec.query.dims;
        b.check(ctx, exp, &[&dims[1], &dims[0]])?;
    }
    Ok(spec)
}

/// The charts of the report, resolved: declared ones, or the defaults.
pub fn chart_specs(sweep: &Sweep, ctx: &Context) -> Result<Vec<ChartSpec>, ReportError> {
    let declared = !(sweep.tables.is_empty() && sweep.charts.is_empty());
    let raws: Vec<RawChart> = if declared {
        sweep.charts.iter().map(|c| c.get_ref().clone()).collect()
    } else {
        default_charts(ctx)?
    };
    let mut specs: Vec<ChartSpec> = Vec::new();
    for (i, c) in raws.iter().enumerate() {
        let axes = c
            .experiment
            .as_ref()
            .map(|e| ctx.axes(e.get_ref()))
            .unwrap_or_default();
        let mut s = ChartSpec::from_raw(c, &axes)
            .and_then(|s| check_chart_baseline(s, ctx))
            .map_err(|d| spec_failure(sweep, declared, &format!("charts[{i}]"), d))?;
        // Two charts of one kind on one experiment get distinct files.
        let base = s.file.clone();
        let mut k = 2;
        while specs.iter().any(|o| o.file == s.file) {
            s.file = format!("{base}_{k}");
            k += 1;
        }
        specs.push(s);
    }
    Ok(specs)
}

/// A chart's baseline checked against the plan: a value of x or the series.
fn check_chart_baseline(spec: ChartSpec, ctx: &Context) -> Result<ChartSpec, Diagnostic> {
    if let (Some(b), Some(exp)) = (&spec.baseline, &spec.experiment) {
        let mut dims = vec![&spec.x];
        dims.extend(spec.series.as_ref());
        b.check(ctx, exp, &dims)?;
    }
    Ok(spec)
}

fn values_present(ctx: &Context, experiment: &str, wanted: &[&str]) -> Vec<String> {
    let ids: std::collections::HashSet<&str> = ctx
        .plan
        .jobs
        .iter()
        .filter(|j| j.experiment == experiment)
        .map(|j| j.id.as_str())
        .collect();
    wanted
        .iter()
        .filter(|w| {
            let v = cells::ValueName::parse(w);
            ctx.results.metrics.iter().any(|m| {
                ids.contains(m.job_id.as_str()) && m.metric == v.metric && m.split == v.split
            })
        })
        .map(|w| w.to_string())
        .collect()
}

fn default_tables(ctx: &Context) -> Result<Vec<RawTable>, ReportError> {
    let mut out = Vec::new();
    for e in &ctx.plan.experiments {
        let values = values_present(
            ctx,
            &e.name,
            &[
                "train_acc",
                "test_acc",
                "train_loss",
                "test_loss",
                "train_mae",
                "test_mae",
            ],
        );
        if values.is_empty() {
            continue;
        }
        let axes = ctx.axes(&e.name);
        let rows = axes.first().cloned().unwrap_or_else(|| "experiment".into());
        let list: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        let text = format!(
            "experiment = {:?}\ntitle = {:?}\nrows = {rows:?}\ncolumns = \"metric\"\nvalue = [{}]\n",
            e.name,
            format!("{}: final metrics", e.name),
            list.join(", ")
        );
        out.push(
            toml::from_str(&text)
                .map_err(|err| ReportError::Spec(format!("default table: {err}")))?,
        );
    }
    Ok(out)
}

fn default_charts(ctx: &Context) -> Result<Vec<RawChart>, ReportError> {
    let mut out = Vec::new();
    for e in &ctx.plan.experiments {
        let values = values_present(ctx, &e.name, &["train_loss", "test_loss"]);
        if values.is_empty() {
            continue;
        }
        let list: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        let text = format!(
            "kind = \"curves\"\nexperiment = {:?}\ntitle = {:?}\nmetrics = [{}]\ny_label = \"loss\"\n",
            e.name,
            format!("{}: learning curves", e.name),
            list.join(", ")
        );
        out.push(
            toml::from_str(&text)
                .map_err(|err| ReportError::Spec(format!("default chart: {err}")))?,
        );
    }
    Ok(out)
}

/// The report's palette: every activation the plan uses, in plan order.
pub fn palette(plan: &Plan) -> Palette {
    let labels: Vec<String> = plan
        .jobs
        .iter()
        .map(|j| {
            j.axes
                .iter()
                .find(|(k, _)| k == "activation")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| j.config.activation.short())
        })
        .collect();
    Palette::new(labels.iter().map(String::as_str))
}

/// Renders every table (pure: no files).
pub fn render_tables(
    sweep: &Sweep,
    plan: &Plan,
    results: &Results,
) -> Result<Vec<Rendered>, ReportError> {
    let ctx = Context::new(plan, results);
    table_specs(sweep, &ctx)?
        .iter()
        .map(|spec| Ok(table::render(spec, &ctx.query(&spec.query)?)))
        .collect()
}

/// Writes the report of `results` into `dir` (and the README block).
pub fn write(
    sweep: &Sweep,
    plan: &Plan,
    results: &Results,
    dir: &Path,
    readme: Option<&Path>,
) -> Result<Outcome, ReportError> {
    let ctx = Context::new(plan, results);
    let tables = render_tables(sweep, plan, results)?;
    let specs = chart_specs(sweep, &ctx)?;
    let palette = palette(plan);
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut charts = Vec::new();
    let mut chart_md = String::new();
    for spec in &specs {
        match spec.kind {
            ChartKind::Activations => {
                let names: Vec<String> = match &spec.activations {
                    Some(n) => n.clone(),
                    None => {
                        let mut v: Vec<String> = Vec::new();
                        for j in &plan.jobs {
                            if !v.contains(&j.config.activation.name) {
                                v.push(j.config.activation.name.clone());
                            }
                        }
                        v
                    }
                };
                let mut defs = Vec::new();
                for n in &names {
                    let d = sweep.library.get(n).ok_or_else(|| {
                        ReportError::Spec(format!("chart {}: no activation named `{n}`", spec.file))
                    })?;
                    defs.push(d);
                }
                for ext in ["svg", "png"] {
                    let p = dir.join(format!("{}.{ext}", spec.file));
                    crate::activation::plot::draw_sized(
                        defs.iter().copied(),
                        &p,
                        Some((spec.width, spec.height)),
                    )?;
                }
            }
            ChartKind::Boundary => {
                let panels = chart::boundary_panels(spec, &ctx)?;
                if panels.is_empty() {
                    let _ = writeln!(
                        chart_md,
                        "### {}

_Not drawn: no run of this experiment has finished yet._
",
                        spec.title
                    );
                    continue;
                }
                chart::draw_boundary(spec, &panels, dir)?;
            }
            _ => {
                let Some(q) = chart::query(spec) else {
                    continue;
                };
                let cells = ctx.query(&q)?;
                let fig = chart::figure(spec, &cells, &palette);
                chart::draw_figure(&fig, dir)?;
            }
        }
        for ext in ["svg", "png"] {
            charts.push(dir.join(format!("{}.{ext}", spec.file)));
        }
        let _ = writeln!(
            chart_md,
            "### {}\n\n![{}]({}.png)\n\n[SVG]({}.svg)\n",
            spec.title, spec.title, spec.file, spec.file
        );
    }

    let checks: Vec<Check> = tables.iter().flat_map(|t| t.checks.clone()).collect();
    let md = report_markdown(sweep, &ctx, &tables, &checks, &chart_md);
    let path = dir.join("REPORT.md");
    write_file(&path, &md)?;

    if let Some(readme) = readme {
        let text = std::fs::read_to_string(readme).map_err(|source| ReportError::Io {
            path: readme.to_path_buf(),
            source,
        })?;
        // One heading level down from REPORT.md: in a README the tables sit
        // under the section that introduces the study.
        let body: Vec<String> = tables
            .iter()
            .map(|t| {
                let md = t.markdown.trim_end();
                match md.strip_prefix("### ") {
                    Some(rest) => format!("#### {rest}"),
                    None => md.to_string(),
                }
            })
            .collect();
        let body = format!(
            "<!-- generated by `actsweep report {} --readme`: edit the sweep file, not this block -->\n\n{}\n",
            sweep.file,
            body.join("\n\n")
        );
        let new = readme::replace_block(&text, &sweep.name, &body).map_err(|source| {
            ReportError::Readme {
                path: readme.to_path_buf(),
                source,
            }
        })?;
        if new != text {
            write_file(readme, &new)?;
        }
    }
    Ok(Outcome {
        dir: dir.to_path_buf(),
        tables: tables.len(),
        charts,
        checks,
    })
}

fn report_markdown(
    sweep: &Sweep,
    ctx: &Context,
    tables: &[Rendered],
    checks: &[Check],
    chart_md: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Report: {}\n", sweep.name);
    if let Some(d) = &sweep.description {
        let _ = writeln!(md, "{d}\n");
    }
    let planned = ctx.plan.jobs.len();
    let mut ok = 0;
    let mut bad = 0;
    for j in &ctx.plan.jobs {
        match ctx.results.runs.iter().find(|r| r.job_id == j.id) {
            Some(r) if r.status == "ok" => ok += 1,
            Some(_) => bad += 1,
            None => {}
        }
    }
    let _ = writeln!(
        md,
        "Sweep file `{}`: {planned} jobs planned, {ok} ok, {bad} failed or diverged, {} not run.\n",
        sweep.file,
        planned - ok - bad
    );
    if !checks.is_empty() {
        let passed = checks.iter().filter(|c| c.pass).count();
        let verdict = if passed == checks.len() {
            "all pass"
        } else {
            "SOME FAIL"
        };
        let _ = writeln!(
            md,
            "**Expectations: {passed} of {} pass ({verdict}).**\n",
            checks.len()
        );
    }
    if !tables.is_empty() {
        let _ = writeln!(md, "## Tables\n");
        for t in tables {
            let _ = writeln!(md, "{}", t.markdown);
        }
    }
    if !chart_md.is_empty() {
        let _ = writeln!(md, "## Charts\n\n{chart_md}");
    }
    md.trim_end().to_string() + "\n"
}

/// Writes `text` to `path` atomically (see [`crate::atomic`]).
fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    crate::atomic::write(path, text.as_bytes()).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}
