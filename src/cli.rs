//! The command line: clap definitions, logging set-up, exit codes.
//!
//! Each subcommand is a thin call into the library. Errors are printed with
//! their whole cause chain; the exit code is 2 for a user error (a bad sweep
//! file, an unknown `--only` field, bad flags), 1 when something failed while
//! working, 0 otherwise.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{self, diag::ConfigError, LoadError};
use crate::plan::{render, Plan, Selection, SelectionError};

/// Declarative sweeps for activation-function studies of neural networks.
#[derive(Debug, Parser)]
#[command(name = "actsweep", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less log output (-q errors only, -qq nothing).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Expand a sweep file into jobs and show axes, job and training counts
    /// and the work estimate.
    Plan(PlanArgs),
    /// List every activation (built-in and the file's) with formula,
    /// parameters and description; `--plot` draws them with their
    /// derivatives, `--values` writes their numbers as a table.
    Activations(ActivationsArgs),
    /// List every dataset kind with its keys, defaults and sizes; with a
    /// sweep file, also the datasets its jobs use and their sizes.
    Datasets(DatasetsArgs),
    /// Train a sweep file's jobs, then write its report (even when some jobs
    /// failed; the exit code is then 1): `run` followed by `report`.
    Sweep(RunArgs),
    /// Train the jobs of a sweep file into results/NAME/ (skipping done
    /// jobs; jobs with identical configs train once) and merge the tidy tables.
    Run(RunArgs),
    /// Per experiment, how many jobs are done, failed, diverged or not yet
    /// run, read from the results folder (also while a run is going).
    Status(StatusArgs),
    /// Run a sweep on a Slurm cluster: write a job array of `run --shard`
    /// tasks and a follow-up `collect` + `report` job, and submit both.
    Slurm(SlurmArgs),
    /// Merge the per-job results of several results folders (e.g. the
    /// shards of one sweep) into tidy tables.
    Collect(CollectArgs),
    /// Aggregate a sweep's results over seeds into tables, charts and
    /// REPORT.md; check the tables' expectations.
    Report(ReportArgs),
}

/// `actsweep report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The sweep file.
    pub file: PathBuf,
    /// The results root: reads OUT/NAME/, writes OUT/NAME/report/ (NAME: the sweep name).
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Exit with code 1 when any `expect` fails.
    #[arg(long)]
    pub check: bool,
    /// Rewrite the tables block between `<!-- actsweep:begin NAME -->` and
    /// `<!-- actsweep:end NAME -->` in this file (NAME: the sweep name).
    /// Repeat for several files (`--readme README.md --readme
    /// docs/studies/NAME.md`): each gets the same block; when any of them
    /// lacks the markers none is written.
    #[arg(long, value_name = "README")]
    pub readme: Vec<PathBuf>,
}

/// `actsweep run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sweep file.
    pub file: PathBuf,
    /// Folder holding the sweep's results folder.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Jobs to train at once (each on one thread). Default: the number of cores.
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep only jobs whose FIELD equals VALUE (as in `plan`).
    #[arg(long, value_name = "FIELD=VALUE")]
    pub only: Vec<String>,
    /// Retrain the selected jobs even when their results exist (jobs with
    /// identical configs still train once).
    #[arg(long)]
    pub force: bool,
    /// Run part I of N of the plan (jobs I, I+N, I+2N, ... counting from 1;
    /// a job with the same config as an earlier one goes to that one's part),
    /// e.g. one task of a Slurm job array each; then `actsweep collect`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Train up to N same-shape jobs (differing only in activation, seed
    /// and learning rate) together as one stack, step by step on one
    /// thread; each job's results are those of its training alone.
    /// Default: 1 (no stacking).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub stack: u32,
    /// Log lines instead of a live progress bar.
    #[arg(long)]
    pub no_bar: bool,
}

/// `actsweep status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The sweep file.
    pub file: PathBuf,
    /// Folder holding the sweep's results folder.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Count only jobs whose FIELD equals VALUE (as in `plan`).
    #[arg(long, value_name = "FIELD=VALUE")]
    pub only: Vec<String>,
    /// Print JSON for machines instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `actsweep slurm`.
#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// The sweep file.
    pub file: PathBuf,
    /// Folder holding the sweep's results folder (shared by every node).
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Array tasks, each training one shard of the plan. Default: one per
    /// distinct training not yet done, at most 32.
    #[arg(long, value_name = "N")]
    pub tasks: Option<usize>,
    /// Slurm partition (`#SBATCH --partition`). Default: the cluster's.
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// Time limit per task (`#SBATCH --time`, e.g. 2:00:00). Default: the
    /// partition's.
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// CPUs per task; each task trains this many jobs at once.
    #[arg(long, value_name = "C", default_value_t = 1)]
    pub cpus_per_task: usize,
    /// Memory per task (`#SBATCH --mem`, e.g. 4G). Default: the cluster's.
    #[arg(long, value_name = "M")]
    pub mem: Option<String>,
    /// Another `#SBATCH` line for both scripts, verbatim (repeatable), e.g.
    /// `--sbatch-arg=--account=lab`.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// Keep only jobs whose FIELD equals VALUE (as in `plan`).
    #[arg(long, value_name = "FIELD=VALUE")]
    pub only: Vec<String>,
    /// Write the scripts and print them; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `actsweep collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Results folders (each holding a `jobs/` folder).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged tables. Default: the first folder.
    #[arg(long, value_name = "DIR")]
    pub into: Option<PathBuf>,
    /// Merge only the jobs of this sweep file's plan (as `run` does),
    /// leaving out jobs of earlier versions of the file.
    #[arg(long, value_name = "FILE")]
    pub sweep: Option<PathBuf>,
}

/// `actsweep activations`.
#[derive(Debug, Args)]
pub struct ActivationsArgs {
    /// A sweep file whose `[activations.NAME]` are listed with the built-ins.
    pub file: Option<PathBuf>,
    /// Draw each activation and its derivative into OUT (.png or .svg).
    #[arg(long, value_name = "OUT")]
    pub plot: Option<PathBuf>,
    /// Write every activation's value and derivatives, computed by the
    /// training kernels, into OUT (.parquet or .csv): columns activation,
    /// x, value, derivative, and d_P per learnable parameter P (null where
    /// an activation has no P); parameters at their defaults.
    #[arg(long, value_name = "OUT")]
    pub values: Option<PathBuf>,
    /// The inputs' range for --values, as A,B (A < B) [default: -6,6].
    #[arg(
        long,
        value_name = "A,B",
        requires = "values",
        allow_hyphen_values = true
    )]
    pub range: Option<String>,
    /// How many evenly spaced inputs for --values, both ends included
    /// [default: 1001].
    #[arg(long, value_name = "N", requires = "values")]
    pub points: Option<usize>,
    /// Write each activation's CUDA kernels (value and derivatives in one
    /// pass, generated from its formula, for NVRTC) into DIR/NAME.cu.
    #[arg(long, value_name = "DIR")]
    pub cuda: Option<PathBuf>,
}

/// `actsweep datasets`.
#[derive(Debug, Args)]
pub struct DatasetsArgs {
    /// A sweep file whose jobs' datasets are listed after the kinds.
    pub file: Option<PathBuf>,
}

/// `actsweep plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The sweep file.
    pub file: PathBuf,
    /// List every job (id and label).
    #[arg(long)]
    pub jobs: bool,
    /// Print JSON for machines instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Keep only jobs whose FIELD equals VALUE (an axis, `experiment`, or any
    /// job field such as `depth` or `optimizer.lr`). Repeat to combine:
    /// values of one field are alternatives, different fields must all match.
    #[arg(long, value_name = "FIELD=VALUE")]
    pub only: Vec<String>,
}

/// Parses the command line, runs it, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", report(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let quiet = cli.quiet > 0;
    match cli.command {
        Command::Plan(args) => plan(args),
        Command::Activations(args) => activations(args),
        Command::Datasets(args) => datasets(args),
        Command::Sweep(args) => sweep(args, quiet),
        Command::Run(args) => Ok(exit(run_sweep(&args, quiet)?)),
        Command::Status(args) => status(args),
        Command::Slurm(args) => slurm(args),
        Command::Collect(args) => collect(args),
        Command::Report(args) => report_cmd(args),
    }
}

fn report_cmd(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let Loaded {
        sweep,
        plan,
        report,
    } = load_plan(&args.file)?;
    for w in &sweep.warnings {
        tracing::warn!("{w}");
    }
    let opts = crate::report::ReportOptions {
        out: args.out.clone(),
        readme: args.readme.clone(),
    };
    let dir = crate::results::ResultsDir::new(args.out.join(&plan.name));
    let stale = crate::results::newer_than_tables(&dir);
    if stale > 0 {
        tracing::warn!(
            "{stale} job record(s) in {} are newer than its merged tables: this report does not \
             show them (`actsweep run` or `actsweep collect` merges them)",
            dir.root().display()
        );
    }
    let outcome = crate::report::generate(&sweep, &plan, &report, &opts).map_err(report_error)?;
    let failed = outcome.failed();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "wrote {} ({} tables, {} chart files)",
        outcome.dir.join(crate::results::REPORT_FILE).display(),
        outcome.tables,
        outcome.charts.len()
    );
    for r in &args.readme {
        let _ = writeln!(out, "updated the tables block of {}", r.display());
    }
    if !outcome.checks.is_empty() {
        let _ = writeln!(
            out,
            "expectations: {} of {} pass",
            outcome.checks.len() - failed.len(),
            outcome.checks.len()
        );
        for c in &failed {
            let measured = c
                .measured
                .map_or_else(|| "no data".to_string(), |m| format!("{m}"));
            let _ = writeln!(
                out,
                "  FAIL {} [{} / {}]: measured {measured}, expected {}",
                c.table, c.row, c.column, c.expect.value
            );
        }
    }
    if args.check && !failed.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `run`, then `report` whatever the jobs did; the exit code is run's
/// (a report that cannot be written is an error of its own).
fn sweep(args: RunArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let failed = run_sweep(&args, quiet)?;
    let report = report_cmd(ReportArgs {
        file: args.file.clone(),
        out: args.out.clone(),
        check: false,
        readme: Vec::new(),
    });
    match report {
        Ok(_) => Ok(exit(failed)),
        // The failed jobs are the cause to report; the report's error is printed too.
        Err(e) if failed => {
            eprintln!("{}", self::report(&e));
            Ok(exit(failed))
        }
        Err(e) => Err(e),
    }
}

fn exit(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Trains the selected jobs; true when some did not finish.
fn run_sweep(args: &RunArgs, quiet: bool) -> anyhow::Result<bool> {
    use crate::run::{self, Options, ProgressMode, Shard};
    let Loaded { sweep, plan, .. } = load_plan(&args.file)?;
    for w in &sweep.warnings {
        tracing::warn!("{w}");
    }
    let selection = Selection::parse(&args.only)?;
    let jobs = selection.apply(&plan.jobs)?;
    let shard = match &args.shard {
        Some(s) => Some(Shard::parse(s).map_err(UserError)?),
        None => None,
    };
    let threads = match args.jobs {
        Some(0) => return Err(UserError("--jobs must be at least 1".into()).into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let opts = Options {
        out: args.out.clone(),
        jobs: threads,
        force: args.force,
        shard,
        stack: args.stack as usize,
        progress: if quiet {
            ProgressMode::Quiet
        } else if args.no_bar {
            ProgressMode::Lines
        } else {
            ProgressMode::Auto
        },
    };
    let s = run::run_jobs(&sweep, &plan, &jobs, &opts)
        .with_context(|| format!("cannot run {}", args.file.display()))?;
    let mut err = std::io::stderr().lock();
    if !quiet {
        let tables = match &s.merged {
            Some(m) => format!("{} jobs, {} metric rows", m.jobs, m.metrics),
            None => "a shard: `actsweep collect` merges the tables".into(),
        };
        let _ = writeln!(
            err,
            "{} jobs selected: {} trained ({} ok), {} reused, {} already done; {:.1} s\nresults in {} ({tables})",
            s.selected,
            s.trained,
            s.ok,
            s.reused,
            s.skipped,
            s.seconds,
            s.dir.display(),
        );
    }
    if s.failed.is_empty() {
        return Ok(false);
    }
    let _ = writeln!(err, "{} job(s) did not finish:", s.failed.len());
    for (label, status, msg) in &s.failed {
        let _ = writeln!(err, "  {label}: {} — {msg}", status.as_str());
    }
    Ok(true)
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let Loaded { plan, .. } = load_plan(&args.file)?;
    let jobs = Selection::parse(&args.only)?.apply(&plan.jobs)?;
    let s = crate::run::status::read(&plan, &jobs, &args.out);
    let text = if args.json {
        crate::run::status::json(&s)
    } else {
        crate::run::status::text(&s)
    };
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(ExitCode::SUCCESS)
}

fn slurm(args: SlurmArgs) -> anyhow::Result<ExitCode> {
    use crate::run::slurm;
    let Loaded { sweep, plan, .. } = load_plan(&args.file)?;
    for w in &sweep.warnings {
        tracing::warn!("{w}");
    }
    let jobs = Selection::parse(&args.only)?.apply(&plan.jobs)?;
    let state = crate::run::status::read(&plan, &jobs, &args.out);
    let mut out = std::io::stdout().lock();
    if state.total.pending() == 0 && !args.dry_run {
        let _ = writeln!(
            out,
            "all {} selected jobs are done; nothing to submit (`actsweep report {}` writes the report)",
            state.total.jobs,
            args.file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let tasks = match args.tasks {
        Some(0) => return Err(UserError("--tasks must be at least 1".into()).into()),
        Some(n) => n,
        None => state.pending_trainings.clamp(1, slurm::DEFAULT_MAX_TASKS),
    };
    if args.cpus_per_task == 0 {
        return Err(UserError("--cpus-per-task must be at least 1".into()).into());
    }
    let req = slurm_request(&args, &plan.name, tasks)?;
    let scripts = slurm::write_scripts(&req)?;
    if args.dry_run {
        for p in [&scripts.array, &scripts.collect] {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let _ = writeln!(out, "# {}\n{text}", p.display());
        }
        let _ = writeln!(
            out,
            "dry run: nothing submitted ({} of {} jobs to train, {tasks} tasks)",
            state.total.pending(),
            state.total.jobs
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (removed, active) = slurm::clear_stale_locks(&req.dir);
    for l in &removed {
        tracing::warn!(
            "removed {}: its Slurm job is no longer running",
            l.display()
        );
    }
    if !active.is_empty() {
        tracing::warn!(
            "Slurm jobs {} of an earlier submission still hold shard locks; their jobs may train twice",
            active.join(", ")
        );
    }
    let sub = slurm::submit(&scripts)?;
    let _ = writeln!(
        out,
        "submitted array job {} ({tasks} tasks, {} of {} jobs to train) and collect job {} (runs after the array)\n\
         watch:   squeue -j {},{}    or    actsweep status {}\n\
         logs:    {}\n\
         scripts: {}",
        sub.array,
        state.total.pending(),
        state.total.jobs,
        sub.collect,
        sub.array,
        sub.collect,
        args.file.display(),
        scripts.logs.display(),
        scripts.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What `slurm` asks for, with every path absolute (the tasks run elsewhere).
fn slurm_request(
    args: &SlurmArgs,
    name: &str,
    tasks: usize,
) -> anyhow::Result<crate::run::slurm::Request> {
    let absolute = |p: &std::path::Path| {
        std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
    };
    let file = std::fs::canonicalize(&args.file)
        .with_context(|| format!("cannot resolve {}", args.file.display()))?;
    let out = absolute(&args.out)?;
    Ok(crate::run::slurm::Request {
        dir: out.join(name),
        file,
        out,
        workdir: std::env::current_dir().context("cannot read the working directory")?,
        binary: std::env::current_exe().context("cannot find the actsweep binary")?,
        tasks,
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        sbatch_args: args.sbatch_arg.clone(),
        only: args.only.clone(),
        data: std::env::var("ACTSWEEP_DATA")
            .ok()
            .filter(|d| !d.is_empty())
            .map(|d| absolute(std::path::Path::new(&d)).map(|p| p.to_string_lossy().into_owned()))
            .transpose()?,
        name: name.to_string(),
    })
}

fn collect(args: CollectArgs) -> anyhow::Result<ExitCode> {
    let into = args.into.clone().unwrap_or_else(|| args.dirs[0].clone());
    for d in &args.dirs {
        if !crate::results::ResultsDir::new(d).jobs_dir().is_dir() {
            return Err(UserError(format!(
                "{} is not a results folder (it has no jobs/ folder)",
                d.display()
            ))
            .into());
        }
    }
    let keep = match &args.sweep {
        Some(file) => Some(
            load_plan(file)?
                .plan
                .jobs
                .into_iter()
                .map(|j| j.id)
                .collect(),
        ),
        None => None,
    };
    let m = crate::run::collect(&args.dirs, &into, keep.as_ref())
        .with_context(|| format!("cannot merge results into {}", into.display()))?;
    eprintln!(
        "merged {} jobs ({} metric rows, {} boundary rows) into {}",
        m.jobs,
        m.metrics,
        m.boundaries,
        into.display()
    );
    if !m.skipped.is_empty() {
        eprintln!(
            "left out {} job(s) whose files do not read back (a run of the sweep trains them again):",
            m.skipped.len()
        );
        for s in &m.skipped {
            eprintln!("  {}: {}", s.job_id, s.why);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn activations(args: ActivationsArgs) -> anyhow::Result<ExitCode> {
    use crate::activation::{plot, values, Library};
    if let Some(out) = &args.plot {
        if plot::Format::from_path(out).is_none() {
            return Err(UserError(format!(
                "cannot plot to {}: the file name must end in .png or .svg",
                out.display()
            ))
            .into());
        }
    }
    let grid = match &args.values {
        Some(out) => Some(values_grid(&args, out)?),
        None => None,
    };
    let library = match &args.file {
        Some(f) => {
            let sweep = config::load(f)?;
            for w in &sweep.warnings {
                tracing::warn!("{w}");
            }
            sweep.library
        }
        None => Library::builtin(),
    };
    let text = listing(&library);
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", text.trim_end());
    let _ = writeln!(out);
    if let Some(path) = &args.plot {
        plot::draw(library.iter(), path)
            .with_context(|| format!("cannot plot activations to {}", path.display()))?;
        tracing::info!("wrote {}", path.display());
    }
    if let (Some(path), Some(grid)) = (&args.values, &grid) {
        let rows = values::write(&library, grid, path)
            .with_context(|| format!("cannot write activation values to {}", path.display()))?;
        tracing::info!("wrote {} ({rows} rows)", path.display());
    }
    if let Some(dir) = &args.cuda {
        let n = crate::activation::cuda::write_sources(&library, dir)
            .with_context(|| format!("cannot write CUDA sources to {}", dir.display()))?;
        tracing::info!("wrote {n} CUDA sources to {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `actsweep activations`' listing: name, origin, formula, parameters,
/// description and reference of each activation.
fn listing(library: &crate::activation::Library) -> String {
    use crate::activation::Origin;
    let mut text = String::new();
    for def in library.iter() {
        let origin = match def.origin {
            Origin::Builtin => "built-in",
            Origin::User => "from the sweep file",
        };
        text.push_str(&format!("{}  ({origin})\n", def.name));
        text.push_str(&format!("  formula: {}\n", def.formula));
        if !def.params.is_empty() {
            let ps: Vec<String> = def
                .params
                .iter()
                .map(|(k, v)| {
                    let learn = if def.learnable.contains(k) {
                        " (learnable)"
                    } else {
                        ""
                    };
                    format!("{k} = {v}{learn}")
                })
                .collect();
            text.push_str(&format!("  params:  {}\n", ps.join(", ")));
        }
        match (&def.derivative, def.origin) {
            (Some(d), Origin::User) => text.push_str(&format!("  derivative: {d}\n")),
            (Some(_), Origin::Builtin) => text.push_str(
                "  derivative: written by hand (src/activation/builtins.toml), checked against d/dx of the formula\n",
            ),
            (None, _) => {}
        }
        if !def.description.is_empty() {
            text.push_str(&format!("  {}\n", def.description));
        }
        if !def.reference.is_empty() {
            text.push_str(&format!("  reference: {}\n", def.reference));
        }
        text.push('\n');
    }
    text
}

/// The grid of `--values`, checked with the output's extension before
/// anything is computed.
fn values_grid(
    args: &ActivationsArgs,
    out: &std::path::Path,
) -> anyhow::Result<crate::activation::values::Grid> {
    use crate::activation::values::{Format, Grid, ValuesError};
    if Format::from_path(out).is_none() {
        let e = ValuesError::Format(out.display().to_string());
        return Err(UserError(e.to_string()).into());
    }
    Grid::from_flags(args.range.as_deref(), args.points)
        .map_err(|e| UserError(e.to_string()).into())
}

fn datasets(args: DatasetsArgs) -> anyhow::Result<ExitCode> {
    let mut text = crate::data::kind::catalogue();
    if let Some(file) = &args.file {
        let Loaded { plan, .. } = load_plan(file)?;
        text.push_str(&format!("datasets of {}:\n", file.display()));
        for d in crate::plan::distinct_datasets(&plan.jobs) {
            let settings = serde_json::to_string(d).unwrap_or_default();
            text.push_str(&format!(
                "  {}: {}\n    {settings}\n",
                d.label(),
                d.sizes_text()
            ));
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", text.trim_end());
    let _ = writeln!(out);
    Ok(ExitCode::SUCCESS)
}

fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let Loaded { sweep, plan, .. } = load_plan(&args.file)?;
    let selection = Selection::parse(&args.only)?;
    let jobs = selection.apply(&plan.jobs)?;
    for w in &sweep.warnings {
        tracing::warn!("{w}");
    }
    let text = if args.json {
        render::json(&plan, &jobs)
    } else {
        render::text(&plan, &jobs, args.jobs)
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`actsweep plan --jobs | head`) is not an error.
    let _ = writeln!(out, "{text}");
    Ok(ExitCode::SUCCESS)
}

/// A sweep file as a command gets it: parsed, planned, and its report's
/// tables and charts resolved against the plan.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed sweep file.
    pub sweep: config::Sweep,
    /// Its jobs.
    pub plan: Plan,
    /// Its tables and charts, typed and checked.
    pub report: crate::report::ReportSpecs,
}

/// Loads, validates and expands a sweep file, and resolves its report's
/// tables and charts (so a typo in one is an error before anything trains).
pub fn load_plan(file: &std::path::Path) -> anyhow::Result<Loaded> {
    let sweep = config::load(file)?;
    let plan = Plan::new(&sweep)?;
    let report = crate::report::ReportSpecs::resolve(&sweep, &plan).map_err(report_error)?;
    tracing::info!(jobs = plan.jobs.len(), "planned {}", file.display());
    Ok(Loaded {
        sweep,
        plan,
        report,
    })
}

/// A report error as the CLI reports it: a sweep-file problem rendered with
/// file, line, column and caret like any other; other user errors exit 2.
fn report_error(e: crate::report::ReportError) -> anyhow::Error {
    match e {
        crate::report::ReportError::Config(c) => c.into(),
        e if e.is_user() => UserError(e.to_string()).into(),
        e => e.into(),
    }
}

/// The message printed for an error: a config error as rendered, anything
/// else as `error: ...` with every cause.
pub fn report(e: &anyhow::Error) -> String {
    if let Some(c) = e.downcast_ref::<ConfigError>() {
        return c.to_string().trim_end().to_string();
    }
    if let Some(LoadError::Config(c)) = e.downcast_ref::<LoadError>() {
        return c.to_string().trim_end().to_string();
    }
    let mut s = format!("error: {e}");
    for cause in e.chain().skip(1) {
        s.push_str(&format!("\n  caused by: {cause}"));
    }
    s
}

/// 2 for problems the user can fix in their input, 1 for everything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let user = e.chain().any(|c| {
        c.is::<ConfigError>()
            || c.is::<LoadError>()
            || c.is::<SelectionError>()
            || c.is::<UserError>()
            || matches!(
                c.downcast_ref::<crate::run::RunError>(),
                Some(crate::run::RunError::Lock(_) | crate::run::RunError::Dataset { .. })
            )
    });
    if user {
        2
    } else {
        1
    }
}

/// A problem with the user's input that is not about a sweep file's content.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

fn init_logging(verbose: u8, quiet: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match (verbose as i8) - (quiet as i8) {
        i8::MIN..=-2 => "off",
        -1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("actsweep={level}")))
        .context("invalid RUST_LOG");
    let filter = match filter {
        Ok(f) => f,
        Err(_) => EnvFilter::new("warn"),
    };
    use std::io::IsTerminal;
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .with_filter(filter);
    // The run log in the results folder (see `logfile`): info and above,
    // with timestamps, whatever the terminal shows.
    let file = tracing_subscriber::fmt::layer()
        .with_writer(crate::logfile::LogFile)
        .with_ansi(false)
        .with_target(false)
        .with_filter(LevelFilter::INFO);
    let _ = tracing_subscriber::registry()
        .with(terminal)
        .with(file)
        .try_init();
}
