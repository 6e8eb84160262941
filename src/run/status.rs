//! `actsweep status`: how far a sweep has got, read from its results folder.
//!
//! Only files are read, never written, and nothing is locked: a job's record
//! (`jobs/<id>.json`) is its commit point, so counting records is correct at
//! any moment, while a local run or a Slurm array is writing the folder. A
//! record that does not read back counts as not run (a rerun redoes it). The
//! locks in the folder say which runs are going (see [`lock::holders`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lock::{self, Holder};
use crate::plan::{Job, Plan};
use crate::results::{JobStatus, ResultsDir};

/// Jobs by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Jobs planned (after `--only`).
    pub jobs: usize,
    /// Trained every epoch.
    pub ok: usize,
    /// The loss became NaN or infinite (done: a rerun does not retrain it).
    pub diverged: usize,
    /// An error stopped it (the next run retries it).
    pub failed: usize,
    /// No record yet (or one that does not read back).
    pub not_run: usize,
}

impl Counts {
    fn add(&mut self, status: Option<JobStatus>) {
        self.jobs += 1;
        match status {
            Some(JobStatus::Ok) => self.ok += 1,
            Some(JobStatus::Diverged) => self.diverged += 1,
            Some(JobStatus::Failed) => self.failed += 1,
            None => self.not_run += 1,
        }
    }

    /// Jobs a run would still train: failed and not run.
    pub fn pending(&self) -> usize {
        self.failed + self.not_run
    }
}

/// One experiment's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExperimentStatus {
    /// Its name.
    pub name: String,
    /// Its jobs by state.
    #[serde(flatten)]
    pub counts: Counts,
}

/// A sweep's state.
#[derive(Debug, Clone, Serialize)]
pub struct SweepStatus {
    /// The sweep's name.
    pub sweep: String,
    /// Its results folder.
    pub dir: PathBuf,
    /// Per experiment, in plan order.
    pub experiments: Vec<ExperimentStatus>,
    /// Over every experiment.
    pub total: Counts,
    /// Distinct trainings among the jobs not done (failed or not run): what
    /// a run would train.
    pub pending_trainings: usize,
    /// Runs holding a lock on the folder now (a local run, array tasks).
    pub runs: Vec<Holder>,
}

/// Reads the state of `jobs` (a plan's, possibly selected) from `<out>/<plan name>/`.
pub fn read(plan: &Plan, jobs: &[&Job], out: &Path) -> SweepStatus {
    let dir = ResultsDir::new(out.join(&plan.name));
    let mut experiments: Vec<ExperimentStatus> = Vec::new();
    let mut total = Counts::default();
    let mut pending = HashSet::new();
    for job in jobs {
        let status = dir.status(&job.id);
        total.add(status);
        if !status.is_some_and(JobStatus::is_done) {
            pending.insert(job.training.as_str());
        }
        let i = match experiments.iter().position(|e| e.name == job.experiment) {
            Some(i) => i,
            None => {
                experiments.push(ExperimentStatus {
                    name: job.experiment.clone(),
                    counts: Counts::default(),
                });
                experiments.len() - 1
            }
        };
        experiments[i].counts.add(status);
    }
    SweepStatus {
        sweep: plan.name.clone(),
        runs: lock::holders(dir.root()),
        dir: dir.root().to_path_buf(),
        experiments,
        total,
        pending_trainings: pending.len(),
    }
}

/// The status as an aligned table with a line per running run.
pub fn text(s: &SweepStatus) -> String {
    let header = ["experiment", "jobs", "ok", "diverged", "failed", "not run"];
    let row = |name: &str, c: &Counts| {
        vec![
            name.to_string(),
            c.jobs.to_string(),
            c.ok.to_string(),
            c.diverged.to_string(),
            c.failed.to_string(),
            c.not_run.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    rows.extend(s.experiments.iter().map(|e| row(&e.name, &e.counts)));
    rows.push(row("total", &s.total));
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = format!("{} ({})\n", s.sweep, s.dir.display());
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, v)| match c {
                0 => format!("{v:<w$}", w = widths[c]),
                _ => format!("{v:>w$}", w = widths[c]),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&runs_text(&s.runs));
    out.trim_end().to_string()
}

fn runs_text(runs: &[Holder]) -> String {
    if runs.is_empty() {
        return "no run is writing this folder\n".into();
    }
    let mut out = String::new();
    for h in runs {
        let name = h
            .lock
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let who = format!(
            "pid {} on {}",
            h.pid.map_or_else(|| "?".into(), |p| p.to_string()),
            h.host.as_deref().unwrap_or("an unknown host")
        );
        let slurm = h
            .slurm_job
            .as_ref()
            .map(|j| format!(", Slurm job {j}"))
            .unwrap_or_default();
        let state = match h.alive {
            Some(true) => "running",
            Some(false) => "stale lock: that process is gone",
            None => "running elsewhere (cannot check)",
        };
        out.push_str(&format!("{name}: {who}{slurm} ({state})\n"));
    }
    out
}

/// The status as JSON for machines.
pub fn json(s: &SweepStatus) -> String {
    // Plain data of our own: serialising it cannot fail.
    serde_json::to_string_pretty(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sort_every_state() {
        let mut c = Counts::default();
        for s in [
            Some(JobStatus::Ok),
            Some(JobStatus::Ok),
            Some(JobStatus::Diverged),
            Some(JobStatus::Failed),
            None,
        ] {
            c.add(s);
        }
        assert_eq!(
            c,
            Counts {
                jobs: 5,
                ok: 2,
                diverged: 1,
                failed: 1,
                not_run: 1
            }
        );
        assert_eq!(c.pending(), 2);
    }
}
