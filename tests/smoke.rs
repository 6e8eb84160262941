//! The experiments.toml pipeline end to end, smoke-sized: `sweeps/quick.toml`
//! is trained through the real binary on an MNIST subset, then
//! `report --check` must pass its expectations (bands a working engine lands
//! in, a broken one does not). A second test keeps quick.toml in step with
//! experiments.toml, so the smoke run keeps exercising what the full study
//! uses: the same experiments, axes, networks, tables and charts.

mod common;
use common::{root, succeed};

use std::collections::BTreeSet;

use actsweep::config;
use actsweep::plan::Plan;

fn actsweep() -> std::process::Command {
    let mut c = common::actsweep(&root());
    c.env("ACTSWEEP_DATA", common::mnist_root());
    c
}

#[test]
fn quick_sweep_runs_and_passes_its_expectations() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    succeed(actsweep().args(["run", "sweeps/quick.toml", "--out", dir, "--no-bar", "-q"]));
    succeed(actsweep().args(["report", "sweeps/quick.toml", "--out", dir, "--check"]));
    let md = std::fs::read_to_string(out.path().join("quick/report/REPORT.md")).unwrap_or_default();
    // Every table came out with cells, and every chart was drawn.
    assert!(md.contains("21 jobs planned, 21 ok"), "{md}");
    assert!(!md.contains("No results for this table"), "{md}");
    for chart in [
        "depth_sweep_line",
        "gradient_norms_layers",
        "activation_comparison_bar",
        "activation_comparison_vs_relu",
        "activation_comparison_curves",
        "two_moons_boundary",
    ] {
        let png = out.path().join(format!("quick/report/{chart}.png"));
        let len = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(len > 5_000, "{} missing or nearly empty", png.display());
    }
}

/// What must match between an experiment of the study and of its smoke run.
fn network_shape(plan: &Plan, experiment: &str) -> BTreeSet<String> {
    plan.jobs
        .iter()
        .filter(|j| j.experiment == experiment)
        .map(|j| {
            let c = &j.config;
            format!(
                "{:?} {:?} {:?} {:?} {:?} batch={} record={:?} dataset={}",
                c.activation.name,
                c.output_activation.name,
                c.init,
                c.loss,
                c.optimizer,
                c.batch_size,
                c.record,
                c.dataset.name(),
            )
        })
        .collect()
}

#[test]
fn quick_toml_mirrors_experiments_toml() {
    let load = |p: &str| {
        let s = config::load(&root().join(p)).unwrap();
        let plan = Plan::new(&s).unwrap();
        (s, plan)
    };
    let (full, full_plan) = load("experiments.toml");
    let (quick, quick_plan) = load("sweeps/quick.toml");

    let names = |p: &Plan| {
        p.experiments
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&full_plan), names(&quick_plan));
    for (f, q) in full_plan.experiments.iter().zip(&quick_plan.experiments) {
        let axes = |e: &actsweep::plan::ExperimentPlan| {
            e.axes.iter().map(|a| a.name.clone()).collect::<Vec<_>>()
        };
        assert_eq!(axes(f), axes(q), "axes of {}", f.name);
        for (fa, qa) in f.axes.iter().zip(&q.axes) {
            if fa.name == "activation" {
                assert_eq!(fa.values, qa.values, "activations of {}", f.name);
            }
        }
        assert_eq!(
            network_shape(&full_plan, &f.name),
            network_shape(&quick_plan, &q.name),
            "networks of {}",
            f.name
        );
    }

    let tables = |s: &config::Sweep| {
        s.tables
            .iter()
            .map(|t| {
                let t = t.get_ref();
                format!(
                    "{} rows={} columns={:?} value={:?} ratio={:?} baseline={:?} rank={:?} filter={:?}",
                    t.experiment.get_ref(),
                    t.rows.get_ref(),
                    t.columns.as_ref().map(|c| c.get_ref().clone()),
                    t.value.get_ref().0,
                    t.ratio.as_ref().map(|r| r.get_ref().clone()),
                    t.baseline.as_ref().map(|b| b.get_ref().clone()),
                    t.rank,
                    t.filter.as_ref().map(|f| f.get_ref().clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(tables(&full), tables(&quick));
    let charts = |s: &config::Sweep| {
        s.charts
            .iter()
            .map(|c| {
                let c = c.get_ref();
                let opt =
                    |v: &Option<toml::Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
                format!(
                    "{} {:?} x={:?} y={:?} series={:?} panels={:?} metrics={:?} baseline={:?}",
                    c.kind.get_ref(),
                    c.experiment.as_ref().map(|e| e.get_ref().clone()),
                    opt(&c.x),
                    opt(&c.y),
                    opt(&c.series),
                    opt(&c.panels),
                    c.metrics.as_ref().map(|m| m.get_ref()),
                    c.baseline.as_ref().map(|b| b.get_ref().clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(charts(&full), charts(&quick));
}

/// Paired comparisons through the real binary: `relu_again` is ReLU's own
/// formula under another name, so every seed trains the same network and the
/// difference from ReLU is exactly 0, never flagged; a linear network is
/// clearly worse than ReLU on MNIST, on every seed, and is flagged.
#[test]
fn paired_comparison_flags_linear_but_not_relu_under_another_name() {
    let out = tempfile::tempdir().unwrap();
    let sweep = out.path().join("paired.toml");
    std::fs::write(
        &sweep,
        r#"
name = "paired"

[defaults]
dataset = { name = "mnist", train_limit = 6000, test_limit = 2000 }
depth = 2
width = 64
optimizer = { name = "adam", lr = 3e-3 }
batch_size = 64
epochs = 2
seeds = 4

[activations.relu_again]
formula = "max(x, 0)"

[experiments.cmp]
grid.activation = ["relu", "relu_again", "linear"]

[[tables]]
experiment = "cmp"
title = "Against ReLU"
rows = "activation"
value = "test_acc"
format = "percent"
baseline = "relu"
"#,
    )
    .unwrap();
    let dir = out.path().to_str().unwrap();
    let sweep = sweep.to_str().unwrap();
    succeed(actsweep().args(["run", sweep, "--out", dir, "--no-bar", "-q"]));
    succeed(actsweep().args(["report", sweep, "--out", dir]));
    let md = std::fs::read_to_string(out.path().join("paired/report/REPORT.md")).unwrap();
    let row = |name: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name}:\n{md}"))
            .to_string()
    };
    let same = row("relu_again");
    assert!(
        same.contains("| 0.00% ± 0.00 (p 1.000, Holm 1.000) |"),
        "{same}\n{md}"
    );
    let worse = row("linear");
    assert!(
        worse.contains("| -") && worse.ends_with(" * |"),
        "{worse}\n{md}"
    );
    assert!(row("relu (baseline)").contains('±'), "{md}");
}
