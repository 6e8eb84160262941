//! Progress of a run: a live display on a terminal (one line for the run,
//! one per training going on at that moment), log lines otherwise.
//!
//! The time left is estimated from the plan's work estimate
//! ([`Estimate`]: floating-point operations per training), not from the
//! count of finished trainings: a running training counts with the share of
//! its epochs done, so the estimate exists from the first epoch on, and one
//! MNIST job weighs what it costs rather than what an XOR job costs.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ProgressMode;
use crate::plan::{Estimate, Job};
use crate::results::{JobRecord, JobStatus};
use crate::train;

/// Units of the bar: the work estimate in these many flops per unit, so the
/// position fits a `u64` comfortably and moves smoothly.
const FLOPS_PER_UNIT: f64 = 1e6;

/// A training going on.
struct Running {
    label: String,
    /// Its estimated work.
    work: f64,
    /// Share of its epochs done, 0 to 1.
    done: f64,
    /// Its line under the run's bar (terminal only).
    line: Option<ProgressBar>,
}

#[derive(Default)]
struct Tally {
    running: HashMap<String, Running>,
    /// Trainings finished.
    finished: usize,
    /// Work of the trainings finished.
    finished_work: f64,
}

impl Tally {
    fn work_done(&self) -> f64 {
        self.finished_work + self.running.values().map(|r| r.work * r.done).sum::<f64>()
    }
}

/// The time left when `done` of `total` work took `elapsed`; `None` before
/// any work is done.
pub fn eta(elapsed: Duration, done: f64, total: f64) -> Option<Duration> {
    if done <= 0.0 || !done.is_finite() || !total.is_finite() {
        return None;
    }
    let left = (total - done).max(0.0);
    Some(Duration::from_secs_f64(elapsed.as_secs_f64() * left / done))
}

/// `1h 02m`, `3m 05s`, `42s`.
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Progress display, counted in trainings and weighted by estimated work.
pub struct Progress {
    multi: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    lines: bool,
    total: usize,
    total_work: f64,
    state: Mutex<Tally>,
    start: Instant,
    last_line: Mutex<Instant>,
}

impl Progress {
    /// A display for these trainings (each group's first job trains).
    pub fn new(mode: ProgressMode, groups: &[Vec<&Job>]) -> Progress {
        let total = groups.len();
        let total_work: f64 = groups.iter().map(|g| work(g[0])).sum();
        let tty = std::io::stderr().is_terminal();
        let live = mode == ProgressMode::Auto && tty && total > 0;
        let multi = live.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let bar = multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new((total_work / FLOPS_PER_UNIT).ceil() as u64));
            if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}") {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        let p = Progress {
            lines: !live && mode != ProgressMode::Quiet,
            multi,
            bar,
            total,
            total_work,
            state: Mutex::new(Tally::default()),
            start: Instant::now(),
            last_line: Mutex::new(Instant::now()),
        };
        p.redraw(&p.lock());
        p
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time left as text: `2m 05s`, or `?` before any work is done.
    fn eta_text(&self, st: &Tally) -> String {
        eta(self.start.elapsed(), st.work_done(), self.total_work)
            .map_or_else(|| "?".to_string(), duration_text)
    }

    /// `3/10 trainings, eta 2m 05s`.
    fn summary(&self, st: &Tally) -> String {
        format!(
            "{}/{} trainings, eta {}",
            st.finished,
            self.total,
            self.eta_text(st)
        )
    }

    fn redraw(&self, st: &Tally) {
        if let Some(b) = &self.bar {
            b.set_position((st.work_done() / FLOPS_PER_UNIT) as u64);
            b.set_message(self.summary(st));
        }
    }

    /// A training starts.
    pub fn start(&self, job: &Job) {
        let line = self.multi.as_ref().map(|m| {
            let l = m.add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("  {msg}") {
                l.set_style(style);
            }
            l.set_message(format!("{}: starting", job.label));
            l
        });
        let mut st = self.lock();
        st.running.insert(
            job.id.clone(),
            Running {
                label: job.label.clone(),
                work: work(job),
                done: 0.0,
                line,
            },
        );
        self.redraw(&st);
    }

    /// A training finished an epoch.
    pub fn epoch(&self, job_id: &str, p: train::EpochProgress) {
        let mut st = self.lock();
        if let Some(r) = st.running.get_mut(job_id) {
            r.done = (p.epoch as f64 / p.epochs.max(1) as f64).clamp(0.0, 1.0);
            if let Some(l) = &r.line {
                l.set_message(format!(
                    "{}: epoch {}/{}, loss {:.4}",
                    r.label, p.epoch, p.epochs, p.batch_loss
                ));
            }
        }
        self.redraw(&st);
        if self.lines {
            self.maybe_line(&st);
        }
    }

    /// Long runs without a terminal: a line at most every 30 s, naming
    /// every training going on.
    fn maybe_line(&self, st: &Tally) {
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed().as_secs() < 30 {
            return;
        }
        *last = Instant::now();
        let mut running: Vec<String> = st
            .running
            .values()
            .map(|r| format!("{} ({:.0}%)", r.label, 100.0 * r.done))
            .collect();
        running.sort();
        eprintln!(
            "[{:>4}s] {}; running: {}",
            self.start.elapsed().as_secs(),
            self.summary(st),
            running.join(", ")
        );
    }

    /// A training ended, its results written for `jobs` jobs (itself and
    /// the jobs with the same config).
    pub fn training_done(&self, job_id: &str, r: &JobRecord, jobs: usize) {
        let mut st = self.lock();
        if let Some(run) = st.running.remove(job_id) {
            st.finished_work += run.work;
            if let (Some(m), Some(l)) = (&self.multi, &run.line) {
                l.finish_and_clear();
                m.remove(l);
            }
        }
        st.finished += 1;
        self.redraw(&st);
        let shared = if jobs > 1 {
            format!(", for {jobs} jobs with this config")
        } else {
            String::new()
        };
        if let Some(b) = &self.bar {
            if r.status != JobStatus::Ok {
                b.println(format!("{}: {}{shared}", r.label, r.status.as_str()));
            }
        } else if self.lines {
            eprintln!(
                "[{:>4}s] {}/{} {} {} ({:.1} s{shared}), eta {}",
                self.start.elapsed().as_secs(),
                st.finished,
                self.total,
                r.label,
                r.status.as_str(),
                r.wall_seconds,
                self.eta_text(&st)
            );
        }
    }

    /// Clears the display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

/// A training's estimated work (at least one unit, so an empty estimate
/// still moves the bar).
fn work(job: &Job) -> f64 {
    Estimate::of(std::iter::once(job))
        .flops()
        .max(FLOPS_PER_UNIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_scales_elapsed_time_by_the_work_left() {
        let ten = Duration::from_secs(10);
        assert_eq!(eta(ten, 0.0, 100.0), None);
        assert_eq!(eta(ten, 25.0, 100.0), Some(Duration::from_secs(30)));
        assert_eq!(eta(ten, 100.0, 100.0), Some(Duration::ZERO));
        // Estimates are estimates: never a negative time left.
        assert_eq!(eta(ten, 120.0, 100.0), Some(Duration::ZERO));
    }

    #[test]
    fn running_trainings_count_with_their_share_of_epochs() {
        let mut st = Tally {
            finished: 1,
            finished_work: 10.0,
            ..Tally::default()
        };
        st.running.insert(
            "a".into(),
            Running {
                label: "a".into(),
                work: 40.0,
                done: 0.25,
                line: None,
            },
        );
        assert_eq!(st.work_done(), 20.0);
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(duration_text(Duration::from_secs(42)), "42s");
        assert_eq!(duration_text(Duration::from_secs(185)), "3m 05s");
        assert_eq!(duration_text(Duration::from_secs(3720)), "1h 02m");
    }
}
