//! Printing a plan: the human summary of `actsweep plan` and its `--json` form.
//!
//! Pure functions from a plan to text, so the output is snapshot-tested.
//! Both forms give the jobs and the distinct trainings among them (jobs with
//! identical configs train once), and the estimate counts the trainings.

use std::fmt::Write;

use serde::Serialize;

use super::estimate::si;
use super::{Estimate, Job, Plan};

/// The distinct datasets of `jobs` with their train / valid / test sizes.
fn datasets(out: &mut String, jobs: &[&Job]) {
    let seen = super::distinct_datasets(jobs.iter().copied());
    let _ = writeln!(out, "\n  dataset{}:", plural(seen.len()));
    for d in seen {
        let _ = writeln!(out, "    {}: {}", d.label(), d.sizes_text());
    }
}

/// The human-readable summary; `jobs` are the selected jobs, listed when `list` is set.
pub fn text(plan: &Plan, jobs: &[&Job], list: bool) -> String {
    let mut out = String::new();
    let selected = jobs.len() != plan.jobs.len();
    let _ = writeln!(out, "sweep `{}` ({})", plan.name, plan.file);
    for e in &plan.experiments {
        let n_sel = jobs.iter().filter(|j| j.experiment == e.name).count();
        let seeds = e.seeds.len().max(1);
        let kept = e.cells - e.excluded;
        let mut line = format!("\n  {}: {} job{}", e.name, e.jobs, plural(e.jobs));
        let _ = write!(line, " = {kept} cell{}", plural(kept));
        if e.excluded > 0 {
            let _ = write!(line, " ({} of {} excluded)", e.excluded, e.cells);
        }
        let _ = write!(line, " x {seeds} seed{}", plural(seeds));
        if selected {
            let _ = write!(line, ", {n_sel} selected");
        }
        let _ = writeln!(out, "{line}");
        if let Some(d) = &e.description {
            let _ = writeln!(out, "    {d}");
        }
        let width = e.axes.iter().map(|a| a.name.len()).max().unwrap_or(0);
        for a in &e.axes {
            let zipped = e
                .zip
                .iter()
                .find(|g| g.contains(&a.name))
                .map(|g| {
                    format!(
                        "  (zipped with {})",
                        g.iter()
                            .filter(|n| **n != a.name)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {:<width$}  [{}]  {}{zipped}",
                a.name,
                a.values.len(),
                a.values.join(", ")
            );
        }
        if !e.seeds.is_empty() {
            let seeds: Vec<String> = e.seeds.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "    {:<width$}  [{}]  {}",
                "seeds",
                e.seeds.len(),
                seeds.join(", ")
            );
        }
        if e.axes.is_empty() && e.seeds.is_empty() {
            let _ = writeln!(out, "    (no axes: a single job)");
        }
    }
    datasets(&mut out, jobs);
    let est = Estimate::of(jobs.iter().copied());
    let _ = writeln!(
        out,
        "\n{}: {} job{} ({} distinct training{}), {} sample-epochs, {} optimizer steps, {}FLOP ({}FLOP training + {}FLOP evaluation)",
        if selected { "selected" } else { "total" },
        est.jobs,
        plural(est.jobs as usize),
        est.trainings,
        plural(est.trainings as usize),
        si(est.sample_epochs as f64),
        si(est.steps as f64),
        si(est.flops()),
        si(est.train_flops),
        si(est.eval_flops),
    );
    if list {
        let _ = writeln!(out);
        for j in jobs {
            let _ = writeln!(out, "{}  {}", j.id, j.label);
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    name: &'a str,
    file: &'a str,
    experiments: &'a [super::ExperimentPlan],
    selected: usize,
    /// Distinct trainings among the selected jobs.
    trainings: u64,
    estimate: Estimate,
    jobs: &'a [&'a Job],
}

/// The plan as JSON: experiments, the selection's job and training counts and
/// estimate, and the selected jobs (each with its `training` key).
pub fn json(plan: &Plan, jobs: &[&Job]) -> String {
    let estimate = Estimate::of(jobs.iter().copied());
    let doc = JsonPlan {
        name: &plan.name,
        file: &plan.file,
        experiments: &plan.experiments,
        selected: jobs.len(),
        trainings: estimate.trainings,
        estimate,
        jobs,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
