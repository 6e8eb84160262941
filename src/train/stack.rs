//! Stacked training: several same-shape jobs trained together, step by step.
//!
//! A [`Replica`] is one job's training taken apart into the steps the
//! training loop takes: start (initial evaluation), begin an epoch (shuffle,
//! the weights for update ratios), one optimizer step on the `k`-th batch,
//! end the epoch (its metrics, the evaluation due, progress) and finish.
//! [`super::train`] drives one replica; [`train_stack`] drives several in
//! lockstep on one thread: every replica takes its `k`-th step before any
//! takes its `k + 1`-th.
//!
//! Which jobs may share a stack is [`stack_key`]'s: the same dataset and
//! batches, layer shapes, epochs, evaluations, records, device and
//! everything else but the hidden activation, the seed and the learning
//! rate (the "same shape" of one stacked computation with a replica axis).
//!
//! Each replica keeps all of its own state (network, optimizer, data order,
//! random streams, recorder), so its metrics are bit for bit those of its
//! solo run (a property test holds that); a replica that diverges ends as
//! `diverged` with its earlier epochs and the others go on untouched.
//!
//! What is not here yet: the replica axis as one computation. On the CPU the
//! replicas' steps run one after the other, which is what a replica axis
//! amounts to there (the fused kernels are per matrix); on CUDA the same
//! lockstep is where batched kernels (one launch for every replica's layer)
//! will go.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::Value;

use super::device::{Chosen, EngineDevice};
use super::{
    decision_boundary, init, BoundaryPoint, EpochProgress, EpochSteps, GradLog, Outcome, Sharing,
    TrainError, Training,
};
use crate::config::job::{JobConfig, Record};
use crate::data::Dataset;

/// One job's training, advanced a step at a time.
pub(super) struct Replica<'a, D: EngineDevice> {
    pub(super) job: &'a JobConfig,
    pub(super) tr: Training<'a, D>,
    order: Vec<usize>,
    rng: StdRng,
    boundary: Vec<BoundaryPoint>,
    diverged_in: Option<usize>,
    completed: usize,
    train_seconds: f64,
    /// The epoch in progress.
    current: Option<Epoch>,
}

/// An epoch in progress: its number, its steps so far and the weights at
/// its start (for update ratios).
type Epoch = (usize, EpochSteps, Vec<Arc<Vec<f32>>>);

impl<'a, D: EngineDevice> Replica<'a, D> {
    /// Builds the network and records the evaluation at initialisation.
    pub(super) fn start(
        job: &'a JobConfig,
        data: &'a Dataset,
        sharing: Sharing,
    ) -> Result<Replica<'a, D>, TrainError> {
        let mut tr = Training::<D>::new(job, data, sharing)?;
        let mut boundary = Vec::new();
        tr.evaluation_due(0)?;
        if job.record.contains(&Record::DecisionBoundary) {
            decision_boundary(job, data, &tr.net, 0, &mut boundary);
        }
        Ok(Replica {
            job,
            tr,
            order: (0..data.train.len()).collect(),
            rng: init::rng(job.seed, init::Stream::Order),
            boundary,
            diverged_in: None,
            completed: 0,
            train_seconds: 0.0,
            current: None,
        })
    }

    /// Steps per epoch.
    pub(super) fn steps_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.job.batch_size.max(1))
    }

    /// Whether the replica has stopped training (diverged).
    pub(super) fn stopped(&self) -> bool {
        self.diverged_in.is_some()
    }

    /// Shuffles the training rows for `epoch`.
    pub(super) fn begin_epoch(&mut self, epoch: usize) {
        self.order.shuffle(&mut self.rng);
        let start = self.tr.weights_for_update_ratios();
        let steps = EpochSteps::new(self.tr.net.layers.len());
        self.current = Some((epoch, steps, start));
    }

    /// The `k`-th optimizer step of the epoch in progress; a NaN or infinite
    /// loss stops the replica (see [`Replica::stopped`]).
    pub(super) fn step(&mut self, k: usize) -> Result<(), TrainError> {
        let Some((epoch, steps, _)) = self.current.as_mut() else {
            return Ok(());
        };
        let bs = self.job.batch_size.max(1);
        let idx = &self.order[k * bs..((k + 1) * bs).min(self.order.len())];
        let t0 = Instant::now();
        let mut evaluating = std::time::Duration::ZERO;
        let loss = self
            .tr
            .step(*epoch, idx, &mut steps.grads, &mut evaluating)?;
        steps.seconds += t0.elapsed().saturating_sub(evaluating).as_secs_f64();
        match loss {
            Some(l) => {
                steps.loss_sum += f64::from(l) * idx.len() as f64;
                steps.seen += idx.len();
            }
            None => {
                self.diverged_in = Some(*epoch);
                self.current = None;
            }
        }
        Ok(())
    }

    /// Records the epoch's metrics and the evaluation due after it.
    pub(super) fn end_epoch(
        &mut self,
        progress: &mut dyn FnMut(EpochProgress),
    ) -> Result<(), TrainError> {
        let Some((epoch, steps, start)) = self.current.take() else {
            return Ok(());
        };
        self.train_seconds += steps.seconds;
        let batch_loss = self.tr.record_epoch(epoch, &steps, &start);
        if epoch % self.job.eval_every == 0 || epoch == self.job.epochs {
            self.tr.evaluation_due(epoch)?;
        }
        self.completed = epoch;
        progress(EpochProgress {
            epoch,
            epochs: self.job.epochs,
            batch_loss,
        });
        Ok(())
    }

    /// The outcome: the metrics of every finished epoch.
    pub(super) fn finish(mut self, data: &Dataset) -> Outcome {
        self.tr.net.refresh_host();
        if self.job.record.contains(&Record::DecisionBoundary) && self.completed > 0 {
            decision_boundary(
                self.job,
                data,
                &self.tr.net,
                self.completed as u32,
                &mut self.boundary,
            );
        }
        Outcome {
            diverged_in: self.diverged_in,
            metrics: self.tr.rec.metrics,
            boundary: self.boundary,
            device: D::label(),
            epochs_completed: self.completed,
            train_seconds: self.train_seconds,
        }
    }
}

impl EpochSteps {
    fn new(depth: usize) -> EpochSteps {
        EpochSteps {
            loss_sum: 0.0,
            seen: 0,
            seconds: 0.0,
            grads: GradLog::new(depth),
        }
    }
}

/// What the jobs of one stack share: the job's configuration without its
/// hidden activation, seed and learning rate, as canonical JSON.
pub fn stack_key(job: &JobConfig) -> String {
    let mut v = serde_json::to_value(job).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("activation");
        m.remove("seed");
        if let Some(Value::Object(o)) = m.get_mut("optimizer") {
            o.remove("lr");
        }
    }
    v.to_string()
}

/// Trains `jobs` (which must share a [`stack_key`] and `data`, their
/// dataset) as one stack; `progress` hears each replica's epochs by its
/// index in `jobs`. Every job gets its own result: one that cannot train
/// fails alone.
pub fn train_stack(
    jobs: &[&JobConfig],
    data: &Dataset,
    progress: &mut (dyn FnMut(usize, EpochProgress) + Send),
) -> Vec<Result<Outcome, TrainError>> {
    let Some(first) = jobs.first() else {
        return Vec::new();
    };
    debug_assert!(jobs.iter().all(|j| stack_key(j) == stack_key(first)));
    let trained = super::on_job_thread(first, data, |chosen| match chosen {
        Chosen::Cpu => lockstep::<dfdx::tensor::Cpu>(jobs, data, progress, Sharing::Allowed),
        #[cfg(feature = "cuda")]
        Chosen::Cuda => lockstep::<dfdx::tensor::Cuda>(jobs, data, progress, Sharing::Allowed),
        #[cfg(not(feature = "cuda"))]
        Chosen::Cuda => jobs.iter().map(|_| Err(TrainError::CudaNotBuilt)).collect(),
    });
    trained.unwrap_or_else(|e| jobs.iter().map(|_| Err(e.clone())).collect())
}

/// A replica, or why it stopped with an error.
type Slot<'a, D> = Result<Replica<'a, D>, TrainError>;

/// Drives the replicas of `jobs` in lockstep (see the module docs).
pub(super) fn lockstep<D: EngineDevice>(
    jobs: &[&JobConfig],
    data: &Dataset,
    progress: &mut (dyn FnMut(usize, EpochProgress) + Send),
    sharing: Sharing,
) -> Vec<Result<Outcome, TrainError>> {
    let mut slots: Vec<Slot<'_, D>> = jobs
        .iter()
        .map(|j| Replica::start(j, data, sharing))
        .collect();
    let epochs = jobs.iter().map(|j| j.epochs).max().unwrap_or(0);
    for epoch in 1..=epochs {
        let mut steps = 0;
        for r in slots.iter_mut().flatten() {
            if !r.stopped() && epoch <= r.job.epochs {
                r.begin_epoch(epoch);
                steps = steps.max(r.steps_per_epoch());
            }
        }
        for k in 0..steps {
            for slot in slots.iter_mut() {
                let Ok(r) = slot else { continue };
                if r.current.is_none() || k >= r.steps_per_epoch() {
                    continue;
                }
                if let Err(e) = r.step(k) {
                    *slot = Err(e);
                }
            }
        }
        for (i, slot) in slots.iter_mut().enumerate() {
            let Ok(r) = slot else { continue };
            if let Err(e) = r.end_epoch(&mut |p| progress(i, p)) {
                *slot = Err(e);
            }
        }
    }
    slots
        .into_iter()
        .map(|s| s.map(|r| r.finish(data)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use crate::train::tests::rows;
    use proptest::prelude::*;

    /// Every job of a sweep file given as text, in plan order.
    fn jobs(text: &str) -> Vec<JobConfig> {
        let sweep = crate::config::parse("sweep.toml", "sweep", text).expect("sweep parses");
        let plan = Plan::new(&sweep).expect("sweep plans");
        plan.jobs.iter().map(|j| j.config.clone()).collect()
    }

    /// Trains `text`'s jobs alone and as one stack; asserts that every
    /// replica's metrics are its solo run's, bit for bit; returns the
    /// statuses.
    fn stacked_is_solo(text: &str) -> Vec<Option<usize>> {
        let js = jobs(text);
        let refs: Vec<&JobConfig> = js.iter().collect();
        let key = stack_key(&js[0]);
        assert!(js.iter().all(|j| stack_key(j) == key), "one stack:\n{text}");
        let data = crate::data::load(&js[0].dataset).expect("dataset loads");
        let stacked = lockstep::<dfdx::tensor::Cpu>(&refs, &data, &mut |_, _| {}, Sharing::Allowed);
        let mut statuses = Vec::new();
        for (j, s) in js.iter().zip(&stacked) {
            let solo = super::super::train_on::<dfdx::tensor::Cpu>(
                j,
                &data,
                &mut |_| {},
                Sharing::Allowed,
            )
            .expect("trains alone");
            let s = s.as_ref().expect("trains in the stack");
            assert_eq!(
                solo.diverged_in, s.diverged_in,
                "status of seed {}:\n{text}",
                j.seed
            );
            assert_eq!(
                solo.epochs_completed, s.epochs_completed,
                "epochs of seed {}:\n{text}",
                j.seed
            );
            let (a, b) = (rows(&solo), rows(s));
            assert_eq!(a.len(), b.len(), "rows of seed {}:\n{text}", j.seed);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "seed {}:\n{text}", j.seed);
            }
            statuses.push(solo.diverged_in);
        }
        statuses
    }

    /// A sweep of one experiment whose grid varies what a stack may vary.
    fn sweep(defaults: &[String], grid: &[String]) -> String {
        format!(
            "name = \"t\"\n[defaults]\n{}\n[experiments.e]\n{}\n",
            defaults.join("\n"),
            grid.join("\n")
        )
    }

    #[test]
    fn a_diverging_replica_ends_alone_and_the_others_are_untouched() {
        let text = sweep(
            &[
                r#"dataset = { name = "two_moons", samples = 200, noise = 0.2 }"#.into(),
                "depth = 3".into(),
                "width = 16".into(),
                r#"loss = "cross_entropy""#.into(),
                "batch_size = 16".into(),
                "epochs = 4".into(),
                "seeds = [1, 2]".into(),
                r#"record = ["grad_norms", "update_ratio"]"#.into(),
            ],
            &[
                r#"grid.activation = ["relu", "tanh"]"#.into(),
                r#"grid.optimizer = [{ name = "sgd", lr = 0.1 }, { name = "sgd", lr = 1e30 }]"#
                    .into(),
            ],
        );
        let statuses = stacked_is_solo(&text);
        assert_eq!(statuses.len(), 8);
        assert!(
            statuses.iter().any(Option::is_some),
            "some diverge: {statuses:?}"
        );
        assert!(
            statuses.iter().any(Option::is_none),
            "some do not: {statuses:?}"
        );
    }

    #[test]
    fn the_stack_key_ignores_activation_seed_and_learning_rate_only() {
        let base = [
            r#"dataset = { name = "xor", samples = 100 }"#.to_string(),
            "depth = 2".into(),
            "width = 4".into(),
            r#"loss = "bce""#.into(),
            "seeds = [1, 2]".into(),
        ];
        let same = jobs(&sweep(
            &base,
            &[
                r#"grid.activation = ["relu", "prelu"]"#.into(),
                r#"grid.optimizer.lr = [1e-3, 1e-2]"#.into(),
            ],
        ));
        assert_eq!(same.len(), 8);
        assert!(same.iter().all(|j| stack_key(j) == stack_key(&same[0])));
        for other in [
            r#"grid.width = [4, 5]"#,
            r#"grid.batch_size = [8, 16]"#,
            r#"grid.dropout = [0.0, 0.5]"#,
        ] {
            let js = jobs(&sweep(&base, &[other.into()]));
            assert_ne!(stack_key(&js[0]), stack_key(js.last().unwrap()), "{other}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Random shapes, activations (learnable ones included), optimizers,
        /// normalisation and dropout: every replica of a stack is its solo
        /// run, bit for bit.
        #[test]
        fn every_replica_of_a_stack_is_its_solo_run(
            depth in 1usize..4,
            width in 2usize..10,
            batch in prop::sample::select(vec![7usize, 32, 1000]),
            epochs in 1usize..4,
            dataset in prop::sample::select(vec![
                r#"{ name = "xor", samples = 120, noise = 0.1 }"#,
                r#"{ name = "two_moons", samples = 150, noise = 0.2 }"#,
            ]),
            optimizer in prop::sample::select(vec!["sgd", "adam", "adamw", "rmsprop"]),
            norm in prop::sample::select(vec!["none", "batch", "layer"]),
            dropout in prop::sample::select(vec![0.0, 0.25]),
            activations in prop::sample::subsequence(
                vec!["relu", "tanh", "prelu", "gelu", "silu", "elu", "sigmoid"], 1..4),
            lrs in prop::sample::subsequence(vec!["1e-3", "3e-2", "1e3"], 1..3),
        ) {
            let loss = if dataset.contains("xor") { "bce" } else { "cross_entropy" };
            let acts: Vec<String> = activations.iter().map(|a| format!("\"{a}\"")).collect();
            let text = sweep(
                &[
                    format!("dataset = {dataset}"),
                    format!("depth = {depth}"),
                    format!("width = {width}"),
                    format!("loss = \"{loss}\""),
                    format!("optimizer = {{ name = \"{optimizer}\", lr = 1e-3 }}"),
                    format!("batch_size = {batch}"),
                    format!("epochs = {epochs}"),
                    format!("norm = \"{norm}\""),
                    format!("dropout = {dropout}"),
                    "seeds = [5, 6]".into(),
                    "probe_samples = 50".into(),
                    r#"record = ["grad_norms", "activation_stats", "dead_units", "update_ratio"]"#.into(),
                ],
                &[
                    format!("grid.activation = [{}]", acts.join(", ")),
                    format!("grid.optimizer.lr = [{}]", lrs.join(", ")),
                ],
            );
            stacked_is_solo(&text);
        }
    }
}
