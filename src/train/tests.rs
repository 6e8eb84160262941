//! The training engine's private paths held to the plain ones: an
//! evaluation served by the next step's forward pass ([`super::Pending`])
//! must record exactly what its own passes would.

use super::*;
use crate::plan::Plan;

/// The one job of a sweep file given as text.
fn job(text: &str) -> JobConfig {
    let sweep = crate::config::parse("sweep.toml", "sweep", text).expect("sweep parses");
    let plan = Plan::new(&sweep).expect("sweep plans");
    assert_eq!(plan.jobs.len(), 1, "one job expected");
    plan.jobs[0].config.clone()
}

/// A small full-batch job (`batch_size` covers the training split), with
/// `changes` replacing or adding keys of its defaults.
fn full_batch(changes: &[(&str, &str)]) -> String {
    let mut keys = vec![
        ("dataset", r#"{ name = "xor", samples = 300, noise = 0.1 }"#),
        ("depth", "4"),
        ("width", "8"),
        ("activation", r#""tanh""#),
        ("loss", r#""bce""#),
        ("optimizer", r#"{ name = "sgd", lr = 0.1 }"#),
        ("batch_size", "1000"),
        ("epochs", "7"),
        ("seeds", "[3]"),
        ("probe_samples", "100"),
        (
            "record",
            r#"["grad_norms", "activation_stats", "dead_units", "weight_norms", "update_ratio", "output_zeros"]"#,
        ),
    ];
    for &(k, v) in changes {
        match keys.iter_mut().find(|(key, _)| *key == k) {
            Some(kv) => kv.1 = v,
            None => keys.push((k, v)),
        }
    }
    let defaults: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!(
        "name = \"t\"\n[defaults]\n{}\n[experiments.e]\n",
        defaults.join("\n")
    )
}

/// A metric row as the tests compare them: epoch, split, layer, name, and
/// the value's bits.
pub(super) type Row = (u32, Option<Split>, Option<u32>, String, u64);

/// An outcome's metric rows, timings left out (they differ run to run).
pub(super) fn rows(o: &Outcome) -> Vec<Row> {
    o.metrics
        .iter()
        .filter(|m| {
            m.metric != MetricKind::EpochSeconds.name()
                && m.metric != MetricKind::SamplesPerSecond.name()
        })
        .map(|m| {
            (
                m.epoch,
                m.split,
                m.layer,
                m.metric.clone(),
                m.value.to_bits(),
            )
        })
        .collect()
}

/// The job's metrics (timings left out, values as bits) and status, with
/// sharing allowed or off.
fn metrics(job: &JobConfig, sharing: Sharing) -> (Vec<Row>, Option<usize>) {
    let data = crate::data::load(&job.dataset).expect("dataset loads");
    let o = train_on::<dfdx::tensor::Cpu>(job, &data, &mut |_| {}, sharing).expect("job trains");
    (rows(&o), o.diverged_in)
}

/// The job's outcome when trained alone after `tweak` has changed how its
/// started replica runs (a path another device takes, run on the CPU).
fn train_tweaked(
    job: &JobConfig,
    tweak: impl FnOnce(&mut stack::Replica<'_, dfdx::tensor::Cpu>, &Dataset),
) -> Outcome {
    let data = crate::data::load(&job.dataset).expect("dataset loads");
    let mut r = stack::Replica::<dfdx::tensor::Cpu>::start(job, &data, Sharing::Allowed)
        .expect("job starts");
    tweak(&mut r, &data);
    train_alone(r, &data, &mut |_| {}).expect("job trains")
}

/// Whether the job's steps serve its evaluations.
fn shares(job: &JobConfig) -> bool {
    let data = crate::data::load(&job.dataset).expect("dataset loads");
    let dev = <dfdx::tensor::Cpu as EngineDevice>::build(0).expect("device");
    let net = Network::<dfdx::tensor::Cpu>::new(&dev, job).expect("network");
    Pending::new(job, &data, &net, Sharing::Allowed).possible
}

/// Trains `text`'s job both ways and asserts the same metric rows, in the
/// same order, bit for bit.
fn same_both_ways(text: &str) -> (Vec<Row>, Option<usize>) {
    let j = job(text);
    assert!(shares(&j), "the job should share its passes:\n{text}");
    let (shared, s1) = metrics(&j, Sharing::Allowed);
    let (own, s2) = metrics(&j, Sharing::Off);
    assert_eq!(s1, s2, "{text}");
    assert_eq!(shared.len(), own.len(), "{text}");
    for (a, b) in shared.iter().zip(&own) {
        assert_eq!(a, b, "{text}");
    }
    (shared, s1)
}

#[test]
fn a_step_serves_the_evaluation_bit_for_bit_for_every_builtin() {
    let lib = crate::activation::Library::builtin();
    for name in lib.names() {
        let (rows, status) = same_both_ways(&full_batch(&[("activation", &format!("\"{name}\""))]));
        assert_eq!(status, None, "{name}");
        let probed = rows
            .iter()
            .filter(|r| r.1 == Some(Split::Probe) && r.3 == MetricKind::DeadFraction.name())
            .count();
        assert_eq!(probed, 8 * 3, "{name}: 8 evaluations × 3 hidden layers");
    }
}

#[test]
fn a_step_serves_wide_layers_regression_and_every_eval_every() {
    // Width 80: products beyond the small-product kernel (gemm's path).
    same_both_ways(&full_batch(&[
        ("dataset", r#"{ name = "identity", samples = 300 }"#),
        ("loss", r#""mse""#),
        ("activation", r#""relu""#),
        ("width", "80"),
        ("eval_every", "3"),
    ]));
    // More probe rows than training rows; linear hidden layers (no
    // activation op) with singular values; a learnable activation.
    same_both_ways(&full_batch(&[
        ("activation", r#""linear""#),
        ("probe_samples", "5000"),
        ("record", r#"["dead_units", "singular_values"]"#),
    ]));
    same_both_ways(&full_batch(&[
        ("activation", r#""prelu""#),
        ("epochs", "1"),
    ]));
}

#[test]
fn a_diverging_full_batch_job_records_the_same_epochs_both_ways() {
    let (rows, status) = same_both_ways(&full_batch(&[
        ("activation", r#""relu""#),
        ("optimizer", r#"{ name = "sgd", lr = 1e12 }"#),
        ("epochs", "20"),
    ]));
    assert!(status.is_some(), "{status:?}");
    assert!(rows.iter().any(|r| r.0 == 0));
}

#[test]
fn only_full_batch_jobs_without_dropout_or_normalisation_share() {
    assert!(shares(&job(&full_batch(&[]))));
    for change in [
        ("batch_size", "100"),
        ("dropout", "0.2"),
        ("norm", r#""batch""#),
        ("norm", r#""layer""#),
    ] {
        assert!(!shares(&job(&full_batch(&[change]))), "{change:?}");
    }
}

#[test]
fn a_full_batch_is_put_back_in_row_order() {
    let rows = [2, 0, 3, 1];
    let y = [20.0, 21.0, 0.0, 1.0, 30.0, 31.0, 10.0, 11.0];
    assert_eq!(
        in_row_order(&y, &rows, 2),
        [0.0, 1.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0]
    );
    assert_eq!(positions_of_first(&rows, 2), [1, 3]);
}

/// The job's metrics (as [`metrics`]) with its training split resident on
/// the device and each batch gathered there (as on CUDA), or uploaded per
/// batch (the CPU's way).
fn metrics_with_inputs(job: &JobConfig, resident: bool) -> (Vec<Row>, Option<usize>) {
    let o = train_tweaked(job, |r, data| {
        assert!(r.tr.resident.is_none(), "the CPU uploads per batch");
        if resident {
            let out_dim = r.tr.ev.out_dim;
            r.tr.resident = Some(Resident::upload(&r.tr.dev, data, out_dim));
        }
    });
    (rows(&o), o.diverged_in)
}

#[test]
fn batches_gathered_from_a_resident_split_train_as_uploaded_ones() {
    for changes in [
        // Minibatches in a shuffled order, dropout and batch norm.
        &[
            ("batch_size", "16"),
            ("dropout", "0.2"),
            ("norm", r#""batch""#),
            ("activation", r#""prelu""#),
        ][..],
        // Classes as targets (one-hot encoded), Adam.
        &[
            (
                "dataset",
                r#"{ name = "two_moons", samples = 200, noise = 0.2 }"#,
            ),
            ("loss", r#""cross_entropy""#),
            ("optimizer", r#"{ name = "adam", lr = 1e-2 }"#),
            ("batch_size", "32"),
        ][..],
    ] {
        let j = job(&full_batch(changes));
        let (uploaded, s1) = metrics_with_inputs(&j, false);
        let (gathered, s2) = metrics_with_inputs(&j, true);
        assert_eq!(s1, s2, "{changes:?}");
        assert_eq!(uploaded, gathered, "{changes:?}");
        assert!(!uploaded.is_empty());
    }
}

/// The job's metrics (as [`metrics`]) through dfdx's layer composition, its
/// parameters and optimizer state updated on the device (as on CUDA) or on
/// their host copies (the CPU's way).
fn metrics_with_params(job: &JobConfig, resident: bool) -> Vec<Row> {
    rows(&train_tweaked(job, |r, data| {
        r.tr.net.set_fused(false);
        r.tr.net.set_resident_params(resident);
        r.tr.pending = Pending::new(job, data, &r.tr.net, Sharing::Allowed);
    }))
}

#[test]
fn parameters_updated_on_the_device_train_as_on_the_host() {
    for changes in [
        // Full batch, every diagnostic, SGD.
        &[("activation", r#""gelu""#)][..],
        // Minibatches, dropout, batch norm (its scale and shift are
        // parameters too), a learnable activation parameter, Adam.
        &[
            ("batch_size", "16"),
            ("dropout", "0.2"),
            ("norm", r#""batch""#),
            ("activation", r#""prelu""#),
            (
                "optimizer",
                r#"{ name = "adam", lr = 1e-2, weight_decay = 1e-3 }"#,
            ),
        ][..],
        // Layer norm, RMSprop with momentum, one-hot targets.
        &[
            (
                "dataset",
                r#"{ name = "two_moons", samples = 200, noise = 0.2 }"#,
            ),
            ("loss", r#""cross_entropy""#),
            ("norm", r#""layer""#),
            (
                "optimizer",
                r#"{ name = "rmsprop", lr = 1e-3, momentum = 0.5 }"#,
            ),
            ("batch_size", "32"),
        ][..],
    ] {
        let j = job(&full_batch(changes));
        let on_host = metrics_with_params(&j, false);
        let on_device = metrics_with_params(&j, true);
        assert!(!on_host.is_empty());
        assert_eq!(on_host.len(), on_device.len(), "{changes:?}");
        for (a, b) in on_host.iter().zip(&on_device) {
            assert_eq!(a, b, "{changes:?}");
        }
    }
}
