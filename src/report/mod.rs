//! The report: a sweep's tidy results turned into what a researcher reads.
//!
//! The sweep file's `[[tables]]` and `[[charts]]` are resolved once, right
//! after the plan, into typed specs ([`specs`]); from there on the report
//! reads no TOML. `actsweep report FILE` reads
//! `results/<name>/{runs,metrics,boundaries}.parquet` through the results
//! contract ([`crate::results::Tables`]), aggregates over seeds ([`cells`],
//! [`stats`]), renders the tables as Markdown ([`table`], pure functions),
//! checks their `expect` values ([`expect`]), draws the charts as SVG and PNG
//! ([`chart`], one file per chart kind), and writes `results/<name>/report/`
//! with `REPORT.md`. With `--readme`, the tables also replace a marked block
//! of a README ([`readme`]). A sweep file without tables or charts gets a
//! default report: per experiment, a table of final metrics over its axes
//! and learning curves.
//!
//! This module owns the orchestration and the file layout; everything that
//! decides what a table or chart shows is testable without the disk.

pub mod cells;
pub mod chart;
pub mod expect;
pub mod paired;
pub mod ranks;
pub mod readme;
pub mod specs;
pub mod stats;
pub mod table;
pub mod tune;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::activation::plot::PlotError;
use crate::config::diag::ConfigError;
use crate::config::Sweep;
use crate::data::DataError;
use crate::plan::Plan;
use crate::results::{JobStatus, ResultsDir, ResultsError, Tables};
use cells::Context;
use chart::{ChartSpec, Drawn, Palette, Sources};
use expect::Check;
use readme::BlockError;
pub use specs::ReportSpecs;
use table::Rendered;

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
    /// A file given to `--readme` has no block for this sweep.
    #[error("{}: {source}", path.display())]
    Readme {
        /// The file (a README or a study page).
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
pub struct ReportOptions {
    /// The results root (`results`): reads `<out>/<name>/`, writes `<out>/<name>/report/`.
    pub out: PathBuf,
    /// Files (READMEs) whose marked block receives the tables.
    pub readme: Vec<PathBuf>,
}

/// What a report run produced.
#[derive(Debug, Clone)]
pub struct Written {
    /// The report folder.
    pub dir: PathBuf,
    /// Tables written.
    pub tables: usize,
    /// Chart files written (SVG and PNG).
    pub charts: Vec<PathBuf>,
    /// Every expectation checked.
    pub checks: Vec<Check>,
}

impl Written {
    /// Expectations that failed.
    pub fn failed(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.pass).collect()
    }
}

/// Reads the results of `sweep` and writes its report (`specs`: its tables
/// and charts, resolved with the plan).
pub fn generate(
    sweep: &Sweep,
    plan: &Plan,
    specs: &ReportSpecs,
    opts: &ReportOptions,
) -> Result<Written, ReportError> {
    let dir = ResultsDir::new(opts.out.join(&sweep.name));
    let results = Tables::read(dir.root())?;
    write(
        sweep,
        plan,
        specs,
        &results,
        &dir.report_dir(),
        opts.readme.iter().map(PathBuf::as_path),
    )
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
    specs: &ReportSpecs,
    plan: &Plan,
    results: &Tables,
) -> Result<Vec<Rendered>, ReportError> {
    let ctx = Context::new(plan, results);
    specs
        .tables(&ctx)
        .iter()
        .map(|spec| {
            Ok(table::render(
                spec,
                &ctx.query_tuned(&spec.query, spec.tune.as_ref())?,
            ))
        })
        .collect()
}

/// Writes the report of `results` into `dir` (and the marked block of each
/// of `readmes`: `None`, one path, or several).
pub fn write<'a>(
    sweep: &Sweep,
    plan: &Plan,
    specs: &ReportSpecs,
    results: &Tables,
    dir: &Path,
    readmes: impl IntoIterator<Item = &'a Path>,
) -> Result<Written, ReportError> {
    let ctx = Context::new(plan, results);
    let tables = render_tables(specs, plan, results)?;
    let charts = specs.charts(&ctx);
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let (charts, chart_md) = draw_charts(sweep, &ctx, &charts, dir)?;
    let checks: Vec<Check> = tables.iter().flat_map(|t| t.checks.clone()).collect();
    let md = report_markdown(sweep, &ctx, &tables, &checks, &chart_md);
    write_file(&dir.join(crate::results::REPORT_FILE), &md)?;
    update_readmes(sweep, &tables, readmes)?;
    Ok(Written {
        dir: dir.to_path_buf(),
        tables: tables.len(),
        charts,
        checks,
    })
}

/// Draws every chart into `dir`, each by its kind; returns the files
/// written and the charts' section of REPORT.md.
fn draw_charts(
    sweep: &Sweep,
    ctx: &Context,
    specs: &[ChartSpec],
    dir: &Path,
) -> Result<(Vec<PathBuf>, String), ReportError> {
    let palette = palette(ctx.plan);
    let from = Sources {
        ctx,
        palette: &palette,
        library: &sweep.library,
    };
    let mut charts = Vec::new();
    let mut md = String::new();
    for spec in specs {
        match spec.kind.draw(spec, &from, dir)? {
            Drawn::Files => {}
            Drawn::Nothing => continue,
            Drawn::NotYet => {
                let _ = writeln!(
                    md,
                    "### {}\n\n_Not drawn: no run of this experiment has finished yet._\n",
                    spec.title
                );
                continue;
            }
        }
        for ext in ["svg", "png"] {
            charts.push(dir.join(format!("{}.{ext}", spec.file)));
        }
        let _ = writeln!(
            md,
            "### {}\n\n![{}]({}.png)\n\n[SVG]({}.svg)\n",
            spec.title, spec.title, spec.file, spec.file
        );
    }
    Ok((charts, md))
}

/// Replaces the sweep's marked block of each of `readmes` with its tables.
/// Every file is read and its block found before any is written, so a file
/// without the markers leaves all of them as they were.
fn update_readmes<'a>(
    sweep: &Sweep,
    tables: &[Rendered],
    readmes: impl IntoIterator<Item = &'a Path>,
) -> Result<(), ReportError> {
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
    let mut updates = Vec::new();
    for readme in readmes {
        let text = std::fs::read_to_string(readme).map_err(|source| ReportError::Io {
            path: readme.to_path_buf(),
            source,
        })?;
        let new = readme::replace_block(&text, &sweep.name, &body).map_err(|source| {
            ReportError::Readme {
                path: readme.to_path_buf(),
                source,
            }
        })?;
        if new != text {
            updates.push((readme, new));
        }
    }
    for (readme, new) in updates {
        write_file(readme, &new)?;
    }
    Ok(())
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
            Some(r) if r.status == JobStatus::Ok => ok += 1,
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
