//! The training engine end to end: gradients against finite differences,
//! determinism, learning on real data, divergence, and a user-defined
//! activation trained from a sweep file.

mod common;

use actsweep::config::job::JobConfig;
use actsweep::data;
use actsweep::results::JobStatus;
use actsweep::train::network::Network;
use actsweep::train::{self, loss, Metric, Outcome};
use dfdx::prelude::*;

/// The jobs of a sweep file given as text (the real parser and planner).
fn jobs(toml: &str) -> Vec<(String, JobConfig)> {
    let (_, plan) = common::plan_text(toml);
    plan.jobs.into_iter().map(|j| (j.label, j.config)).collect()
}

fn job(toml: &str) -> JobConfig {
    let mut j = jobs(toml);
    assert_eq!(j.len(), 1, "one job expected");
    j.remove(0).1
}

fn run(job: &JobConfig) -> Outcome {
    let d = data::load(&job.dataset).expect("dataset loads");
    train::train(job, &d, &mut |_| {}).expect("job trains")
}

fn last(metrics: &[Metric], name: &str, split: Option<&str>) -> f64 {
    metrics
        .iter()
        .rev()
        .find(|m| m.metric == name && m.split.map(|s| s.as_str()) == split)
        .unwrap_or_else(|| panic!("no metric {name} {split:?}"))
        .value
}

fn at(metrics: &[Metric], epoch: u32, name: &str, split: Option<&str>, layer: Option<u32>) -> f64 {
    metrics
        .iter()
        .find(|m| {
            m.epoch == epoch
                && m.metric == name
                && m.split.map(|s| s.as_str()) == split
                && m.layer == layer
        })
        .unwrap_or_else(|| panic!("no metric {name} {split:?} {layer:?} at epoch {epoch}"))
        .value
}

/// The loss of a fixed batch, and the gradient of every parameter, through
/// the engine's own network and loss.
fn loss_and_grads(
    net: &mut Network<Cpu>,
    job: &JobConfig,
    x: &[f32],
    t: &[f32],
) -> (f64, Vec<Vec<f32>>) {
    let dev = net.device().clone();
    let rows = t.len() / job.layer_sizes().last().unwrap();
    let xt = dev.tensor_from_vec(x.to_vec(), (rows, x.len() / rows));
    let tt = dev.tensor_from_vec(t.to_vec(), (rows, t.len() / rows));
    let mut trace = train::network::Trace::default();
    let out = net.forward(xt.trace(Gradients::leaky()), true, &mut trace);
    let l = loss::train_loss(job.loss, out, tt);
    let v = l.as_vec()[0] as f64;
    let mut grads = l.backward();
    let g = net
        .params_mut()
        .iter()
        .map(|p| p.grad(&mut grads).unwrap())
        .collect();
    (v, g)
}

fn loss_only(net: &mut Network<Cpu>, job: &JobConfig, x: &[f32], t: &[f32]) -> f64 {
    let dev = net.device().clone();
    let rows = t.len() / job.layer_sizes().last().unwrap();
    let xt = dev.tensor_from_vec(x.to_vec(), (rows, x.len() / rows));
    let tt = dev.tensor_from_vec(t.to_vec(), (rows, t.len() / rows));
    let out = net.forward(xt, true, &mut train::network::Trace::default());
    loss::train_loss(job.loss, out, tt).as_vec()[0] as f64
}

/// Central differences on every parameter of a small network, compared with
/// the tape's gradients.
fn gradient_check(toml: &str) -> Result<(), String> {
    let job = job(toml);
    let dev = Cpu::default();
    let mut net = Network::<Cpu>::new(&dev, &job).unwrap();
    let sizes = job.layer_sizes();
    let (inp, out) = (sizes[0], *sizes.last().unwrap());
    let rows = 5;
    let x: Vec<f32> = (0..rows * inp)
        .map(|i| ((i * 37 % 17) as f32 / 8.0) - 1.0)
        .collect();
    let t: Vec<f32> = (0..rows * out)
        .map(|i| {
            if out > 1 {
                ((i % out) == (i / out) % out) as u8 as f32
            } else {
                (i % 2) as f32
            }
        })
        .collect();
    let (_, grads) = loss_and_grads(&mut net, &job, &x, &t);
    let h = 2e-3f32;
    let mut checked = 0;
    for (pi, g) in grads.iter().enumerate() {
        for (k, &gk) in g.iter().enumerate() {
            let orig = net.params_mut()[pi].host()[k];
            let set = |v: f32, net: &mut Network<Cpu>| {
                let mut ps = net.params_mut();
                ps[pi].host()[k] = v;
                ps[pi].sync();
            };
            set(orig + h, &mut net);
            let up = loss_only(&mut net, &job, &x, &t);
            set(orig - h, &mut net);
            let down = loss_only(&mut net, &job, &x, &t);
            set(orig, &mut net);
            let fd = (up - down) / (2.0 * h as f64);
            let an = gk as f64;
            if (fd - an).abs() > 2e-3 + 2e-2 * fd.abs().max(an.abs()) {
                return Err(format!(
                    "param {pi}[{k}]: finite difference {fd}, tape {an}\n{toml}"
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 20);
    Ok(())
}

const SMALL: &str = r#"
name = "t"
[defaults]
dataset = { name = "xor", samples = 20 }
depth = 3
width = [4, 3]
seeds = [5]
[experiments.e]
"#;

#[test]
fn gradients_match_finite_differences() {
    let mut failures = Vec::new();
    for (act, loss, extra) in [
        ("tanh", "bce", ""),
        ("softsign", "cross_entropy", ""),
        ("gelu", "mse", "output_activation = \"sigmoid\""),
        ("prelu", "huber", ""),
        ("elu", "cross_entropy", "norm = \"layer\""),
        ("tanh", "cross_entropy", "norm = \"batch\""),
        ("relu", "cross_entropy", "output_activation = \"softsign\""),
        (
            "silu",
            "mse",
            "norm = \"layer\"\noutput_activation = \"tanh\"",
        ),
    ] {
        let toml = format!("{SMALL}activation = \"{act}\"\nloss = \"{loss}\"\n{extra}\n");
        failures.extend(gradient_check(&toml).err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The gradients of every parameter and the output through the fused layer
/// op and through dfdx's composition, for one job (same weights, same
/// dropout masks: each network gets a device seeded alike).
fn fused_and_unfused(toml: &str) -> Result<(), String> {
    let job = job(toml);
    let sizes = job.layer_sizes();
    let (inp, out) = (sizes[0], *sizes.last().unwrap());
    let rows = 7;
    let x: Vec<f32> = (0..rows * inp)
        .map(|i| ((i * 29 % 23) as f32 / 7.0) - 1.5)
        .collect();
    let t: Vec<f32> = (0..rows * out)
        .map(|i| ((i * 5) % 3 == 0) as u8 as f32)
        .collect();
    let grads_of = |fused: bool| {
        let dev = Cpu::seed_from_u64(11);
        let mut net = Network::<Cpu>::new(&dev, &job).unwrap();
        net.set_fused(fused);
        let xt = dev.tensor_from_vec(x.clone(), (rows, inp));
        let out = net.forward(xt.clone(), false, &mut train::network::Trace::default());
        let (l, g) = loss_and_grads(&mut net, &job, &x, &t);
        (out.as_vec(), l, g)
    };
    let (fo, fl, fg) = grads_of(true);
    let (uo, ul, ug) = grads_of(false);
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 + 1e-4 * a.abs().max(b.abs());
    if !fo.iter().zip(&uo).all(|(a, b)| close(*a, *b)) {
        return Err(format!("outputs differ: {fo:?} vs {uo:?}\n{toml}"));
    }
    if (fl - ul).abs() > 1e-5 * fl.abs().max(1.0) {
        return Err(format!("losses differ: {fl} vs {ul}\n{toml}"));
    }
    for (pi, (a, b)) in fg.iter().zip(&ug).enumerate() {
        if a.len() != b.len() || !a.iter().zip(b).all(|(x, y)| close(*x, *y)) {
            return Err(format!("param {pi}: fused {a:?}\nunfused {b:?}\n{toml}"));
        }
    }
    Ok(())
}

#[test]
fn fused_layers_match_the_dfdx_composition_for_every_builtin() {
    let lib = actsweep::activation::Library::builtin();
    let names: Vec<String> = lib.names().map(str::to_string).collect();
    assert!(names.len() >= 8, "{names:?}");
    let mut failures = Vec::new();
    for name in &names {
        for extra in ["", "norm = \"batch\"", "norm = \"layer\"", "dropout = 0.3"] {
            let toml =
                format!("{SMALL}activation = \"{name}\"\nloss = \"cross_entropy\"\n{extra}\n");
            failures.extend(fused_and_unfused(&toml).err());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const XOR: &str = r#"
name = "xor"
[defaults]
dataset = { name = "xor", samples = 400, noise = 0.1 }
depth = 3
width = 8
loss = "bce"
optimizer = { name = "adam", lr = 0.02 }
batch_size = 32
epochs = 60
seeds = [1]
record = ["grad_norms", "weight_norms", "dead_units"]
[experiments.e]
grid.activation = ["tanh", "linear", "relu"]
"#;

#[test]
fn identical_initial_weights_across_activations_different_across_seeds() {
    let js = jobs(XOR);
    let dev = Cpu::default();
    let weights = |j: &JobConfig| -> Vec<Vec<f32>> {
        Network::<Cpu>::new(&dev, j)
            .unwrap()
            .layers
            .iter()
            .flat_map(|l| [l.w.host.to_vec(), l.b.host.to_vec()])
            .collect()
    };
    let w0 = weights(&js[0].1);
    for (label, j) in &js[1..] {
        assert_eq!(weights(j), w0, "{label} starts elsewhere");
    }
    let mut other = js[0].1.clone();
    other.seed = 2;
    assert_ne!(weights(&other), w0);
}

#[test]
fn xor_is_solved_by_tanh_and_not_by_a_linear_net() {
    let js = jobs(XOR);
    let acc = |name: &str| {
        let j = &js
            .iter()
            .find(|(l, _)| l.contains(&format!("activation={name}")))
            .unwrap()
            .1;
        let o = run(j);
        assert_eq!(o.status(), JobStatus::Ok);
        last(&o.metrics, "accuracy", Some("test"))
    };
    let tanh = acc("tanh");
    let linear = acc("linear");
    assert!(tanh > 0.95, "tanh test accuracy {tanh}");
    assert!(linear <= 0.75, "linear test accuracy {linear}");
}

#[test]
fn eval_every_evaluates_at_its_multiples_and_the_last_epoch() {
    let mut j = jobs(XOR)[0].1.clone();
    j.epochs = 7;
    j.eval_every = 3;
    assert_eq!(j.evaluations(), 4);
    let o = run(&j);
    let epochs_of = |name: &str, split: Option<&str>| -> Vec<u32> {
        o.metrics
            .iter()
            .filter(|m| m.metric == name && m.split.map(|s| s.as_str()) == split)
            .map(|m| m.epoch)
            .collect()
    };
    assert_eq!(epochs_of("accuracy", Some("test")), [0, 3, 6, 7]);
    assert_eq!(epochs_of("weight_norm", None).len(), 4 * 3, "three layers");
    // Training-time figures stay per epoch.
    assert_eq!(
        epochs_of("batch_loss", Some("train")),
        [1, 2, 3, 4, 5, 6, 7]
    );
}

#[test]
fn a_job_run_twice_gives_bit_identical_metrics() {
    let j = &jobs(XOR)[2].1;
    let mut j = j.clone();
    j.epochs = 5;
    j.dropout = 0.2;
    type Row = (u32, Option<&'static str>, Option<u32>, String, u64);
    let strip = |o: Outcome| -> Vec<Row> {
        o.metrics
            .into_iter()
            .filter(|m| !m.metric.contains("second"))
            .map(|m| {
                (
                    m.epoch,
                    m.split.map(|s| s.as_str()),
                    m.layer,
                    m.metric,
                    m.value.to_bits(),
                )
            })
            .collect()
    };
    let a = strip(run(&j));
    assert!(a.len() > 50);
    assert_eq!(a, strip(run(&j)));
}

#[test]
fn a_huge_learning_rate_diverges_and_keeps_earlier_epochs() {
    let mut j = jobs(XOR)[2].1.clone();
    j.optimizer = actsweep::config::job::OptimizerConfig::Sgd {
        lr: 1e12,
        momentum: 0.0,
        nesterov: false,
        weight_decay: 0.0,
    };
    j.epochs = 20;
    let o = run(&j);
    assert_eq!(o.status(), JobStatus::Diverged);
    match o.diverged_in {
        Some(epoch) => {
            assert!((1..=20).contains(&epoch));
            assert_eq!(o.epochs_completed, epoch - 1);
            // Epoch 0 (initialisation) is kept.
            assert!(o.metrics.iter().any(|m| m.epoch == 0 && m.metric == "loss"));
            assert!(o.metrics.iter().all(|m| (m.epoch as usize) < epoch));
        }
        None => panic!("expected divergence"),
    }
}

#[test]
fn epoch_zero_is_the_network_at_initialisation() {
    let mut j = jobs(XOR)[2].1.clone();
    j.epochs = 1;
    let o = run(&j);
    // Relu, he_normal: at init every hidden layer has units alive.
    let dead0 = at(&o.metrics, 0, "dead_fraction", Some("probe"), Some(1));
    assert!((0.0..1.0).contains(&dead0));
    let w0 = at(&o.metrics, 0, "weight_norm", None, Some(1));
    let w1 = at(&o.metrics, 1, "weight_norm", None, Some(1));
    assert!(w0 > 0.0 && w0 != w1);
    assert!(o
        .metrics
        .iter()
        .all(|m| m.epoch != 0 || !m.metric.starts_with("grad_norm")));
    assert!(at(&o.metrics, 1, "grad_norm_mean", None, Some(3)) > 0.0);
}

#[test]
fn the_dead_relu_identity_net_stays_dead() {
    // Seed 002: a 1-2-1 network with ReLU on the output. Find a seed whose
    // output is 0 on every input at initialisation: MAE passes no gradient
    // through it, and it must stay dead; the linear net from the same
    // weights learns.
    let toml = r#"
name = "identity"
[defaults]
dataset = "identity"
depth = 2
width = 2
output_activation = "relu"
init = "xavier_uniform"
loss = "mae"
optimizer = { name = "adam", lr = 0.01 }
batch_size = 25
epochs = 3
record = ["output_zeros"]
seeds = 40
[experiments.e]
grid.activation = ["relu"]
"#;
    let js = jobs(toml);
    let mut dead_seen = 0;
    for (_, j) in js.iter() {
        let o = run(j);
        if at(&o.metrics, 0, "output_zero_fraction", Some("train"), None) == 1.0 {
            dead_seen += 1;
            assert_eq!(last(&o.metrics, "output_zero_fraction", Some("test")), 1.0);
            let w0 = at(&o.metrics, 0, "loss", Some("train"), None);
            let w3 = at(&o.metrics, 3, "loss", Some("train"), None);
            assert_eq!(w0, w3, "a dead network does not move");
        }
    }
    assert!(dead_seen > 0, "some of 40 seeds die at initialisation");
}

#[test]
fn a_user_activation_from_the_sweep_file_trains() {
    let toml = r#"
name = "swish"
[defaults]
dataset = { name = "two_moons", samples = 400, noise = 0.1 }
depth = 3
width = 16
activation = "my_swish(beta=1.5)"
optimizer = { name = "adam", lr = 0.01 }
batch_size = 32
epochs = 40
seeds = [0]
record = ["decision_boundary"]
[activations.my_swish]
formula = "x * sigmoid(beta * x)"
params = { beta = 1.0 }
[experiments.e]
"#;
    let j = job(toml);
    assert_eq!(j.activation.name, "my_swish");
    let o = run(&j);
    let acc = last(&o.metrics, "accuracy", Some("test"));
    assert!(acc > 0.95, "two moons with my_swish: {acc}");
    // The boundary grid at init and at the end, probabilities in [0, 1].
    assert_eq!(
        o.boundary.len(),
        2 * train::BOUNDARY_RES * train::BOUNDARY_RES
    );
    assert!(o.boundary.iter().all(|p| (0.0..=1.0).contains(&p.value)));
}

#[test]
fn collapsed_linear_map_has_as_many_singular_values_as_outputs() {
    let toml = r#"
name = "sv"
[defaults]
dataset = { name = "two_moons", samples = 100 }
depth = 4
width = 8
activation = "linear"
epochs = 1
seeds = [0]
record = ["singular_values"]
[experiments.e]
"#;
    let o = run(&job(toml));
    let sv: Vec<f64> = o
        .metrics
        .iter()
        .filter(|m| m.epoch == 1 && m.metric.starts_with("singular_value_"))
        .map(|m| m.value)
        .collect();
    assert_eq!(sv.len(), 2);
    assert!(sv[0] >= sv[1] && sv[1] > 0.0);
}

#[test]
fn mnist_subset_relu_net_beats_90_percent() {
    let toml = r#"
name = "mnist"
[defaults]
dataset = { name = "mnist", train_limit = 5000, test_limit = 2000 }
depth = 3
width = 128
activation = "relu"
optimizer = { name = "adam", lr = 1e-3 }
batch_size = 64
epochs = 4
seeds = [0]
[experiments.e]
"#;
    let j = job(toml);
    let o = run(&j);
    let acc = last(&o.metrics, "accuracy", Some("test"));
    assert!(acc > 0.90, "MNIST 5k relu test accuracy {acc}");
    assert!(at(&o.metrics, 0, "accuracy", Some("test"), None) < 0.3);
}
