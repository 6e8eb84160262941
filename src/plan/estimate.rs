//! How much work a plan is, before running it.
//!
//! Counted from the layer sizes and dataset sizes alone (no data is loaded):
//! training costs a forward and a backward pass per sample and epoch (the
//! backward pass about twice the forward's multiply-adds), and every
//! evaluation (epoch 0, every `eval_every` epochs and the last, see
//! [`JobConfig::evaluations`](crate::config::job::JobConfig::evaluations))
//! passes the train, validation and test sets forward once, except that full-batch
//! training on the CPU takes the training split of every evaluation but the
//! last from the next step's forward pass ([`JobConfig::steps_pass_the_training_split`](crate::config::job::JobConfig::steps_pass_the_training_split)),
//! which the estimate assumes (it does not know which device `auto` finds).
//! Jobs that share a training (identical configs, see [`super::Job::training`])
//! count once: the estimate is the work the runner actually does.

use std::collections::HashSet;

use serde::Serialize;

use super::Job;

/// A work estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Estimate {
    /// Jobs counted.
    pub jobs: u64,
    /// Distinct trainings among them (jobs with identical configs train once);
    /// the work below is summed over these.
    pub trainings: u64,
    /// Training samples times epochs, summed over trainings.
    pub sample_epochs: u64,
    /// Optimizer steps, summed over trainings.
    pub steps: u64,
    /// Floating-point operations of training (forward + backward).
    pub train_flops: f64,
    /// Floating-point operations of evaluation (forward only).
    pub eval_flops: f64,
    /// Trainable parameters, summed over trainings.
    pub parameters: u64,
}

impl Estimate {
    /// Sums the estimate over jobs, each distinct training once.
    pub fn of<'a>(jobs: impl Iterator<Item = &'a Job>) -> Estimate {
        let mut e = Estimate::default();
        let mut seen: HashSet<&str> = HashSet::new();
        for job in jobs {
            e.jobs += 1;
            if !seen.insert(job.training.as_str()) {
                continue;
            }
            let c = &job.config;
            let (train, test) = c.dataset.sizes();
            let epochs = c.epochs as u64;
            let fwd = c.forward_flops_per_sample() as f64;
            e.trainings += 1;
            e.sample_epochs += train as u64 * epochs;
            e.steps += (train as u64).div_ceil(c.batch_size as u64) * epochs;
            e.train_flops += 3.0 * fwd * (train as f64) * (epochs as f64);
            let evals = c.evaluations() as f64;
            let own_train_passes = if c.steps_pass_the_training_split(train) {
                1.0
            } else {
                evals
            };
            let held_out = (test + c.dataset.valid_rows()) as f64;
            e.eval_flops += fwd * (train as f64 * own_train_passes + held_out * evals);
            e.parameters += c.parameter_count();
        }
        e
    }

    /// Total floating-point operations.
    pub fn flops(&self) -> f64 {
        self.train_flops + self.eval_flops
    }
}

/// `1.23e9`-style compact numbers with SI suffixes: `1.2 G`.
pub fn si(x: f64) -> String {
    const UNITS: [(&str, f64); 6] = [
        ("E", 1e18),
        ("P", 1e15),
        ("T", 1e12),
        ("G", 1e9),
        ("M", 1e6),
        ("k", 1e3),
    ];
    for (u, scale) in UNITS {
        if x >= scale {
            return format!("{:.1} {u}", x / scale);
        }
    }
    format!("{x:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_units() {
        assert_eq!(si(999.0), "999");
        assert_eq!(si(1500.0), "1.5 k");
        assert_eq!(si(2.5e12), "2.5 T");
    }
}
