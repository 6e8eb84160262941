//! `tune` and `test = "friedman"` through the real binary: a tuned table
//! shows, in every cell, the setting whose jobs have the best mean
//! validation accuracy, which this test works out again from
//! `runs.parquet` and `metrics.parquet` on its own; the Friedman note and
//! the tuned chart are written; tuning on the test split, on a validation
//! split the jobs lack, or over something that is not an axis is a located
//! error before anything trains.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{actsweep, read, succeed, write_sweep};
use polars::prelude::*;

const SWEEP: &str = r#"
name = "tuned"
[defaults]
depth = 2
width = 16
epochs = 4
batch_size = 32
seeds = 3
record = []
[experiments.zoo]
grid.activation = ["relu", "tanh", "elu"]
grid.dataset = [
  { name = "two_moons", samples = 400, noise = 0.3, validation_fraction = 0.25 },
  { name = "xor", samples = 400, noise = 0.4, validation_fraction = 0.25 },
]
grid.optimizer.lr = [1e-3, 1e-2, 3e-2]
"#;

const TABLES: &str = r#"
[[tables]]
experiment = "zoo"
title = "Tuned"
rows = "activation"
columns = "dataset"
value = "test_acc"
format = "percent"
tune = { over = "optimizer.lr", by = "valid_acc" }
rank = true
test = "friedman"

[[charts]]
kind = "bar"
experiment = "zoo"
x = "dataset"
y = "test_acc"
tune = { over = "optimizer.lr", by = "valid_acc" }

[[charts]]
kind = "cd"
experiment = "zoo"
y = "test_acc"
tune = { over = "optimizer.lr", by = "valid_acc" }
"#;

/// A text column of `df`, one entry per row.
fn texts(df: &DataFrame, name: &str) -> Vec<String> {
    let c = df.column(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let c = c.cast(&DataType::String).unwrap_or_else(|e| panic!("{e}"));
    c.str()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

/// A number column of `df`, one entry per row (NaN where empty).
fn numbers(df: &DataFrame, name: &str) -> Vec<f64> {
    let c = df.column(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let c = c.cast(&DataType::Float64).unwrap_or_else(|e| panic!("{e}"));
    c.f64()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// Per job, its last epoch's accuracy on `split`.
fn last_accuracy(metrics: &DataFrame, split: &str) -> BTreeMap<String, f64> {
    let (ids, splits, names) = (
        texts(metrics, "job_id"),
        texts(metrics, "split"),
        texts(metrics, "metric"),
    );
    let (epochs, values) = (numbers(metrics, "epoch"), numbers(metrics, "value"));
    let mut last: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for i in 0..ids.len() {
        if splits[i] != split || names[i] != "accuracy" {
            continue;
        }
        let e = last.entry(ids[i].clone()).or_insert((-1.0, f64::NAN));
        if epochs[i] > e.0 {
            *e = (epochs[i], values[i]);
        }
    }
    last.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// For every (activation, dataset): the learning rate whose jobs have the
/// best mean validation accuracy (the first written of equal ones), and the
/// mean test accuracy there, from the result files alone.
fn expected(results: &Path) -> BTreeMap<(String, String), (String, f64)> {
    let runs = read(&results.join("runs.parquet"));
    let metrics = read(&results.join("metrics.parquet"));
    let valid = last_accuracy(&metrics, "valid");
    let test = last_accuracy(&metrics, "test");
    let ids = texts(&runs, "job_id");
    let (acts, sets, lrs) = (
        texts(&runs, "axis.activation"),
        texts(&runs, "axis.dataset"),
        texts(&runs, "axis.optimizer.lr"),
    );
    // (activation, dataset) -> lr -> (valid accuracies, test accuracies)
    type Arms = BTreeMap<(String, String), Vec<(String, Vec<f64>, Vec<f64>)>>;
    let mut arms: Arms = BTreeMap::new();
    for i in 0..ids.len() {
        let settings = arms.entry((acts[i].clone(), sets[i].clone())).or_default();
        let at = match settings.iter().position(|s| s.0 == lrs[i]) {
            Some(at) => at,
            None => {
                settings.push((lrs[i].clone(), Vec::new(), Vec::new()));
                settings.len() - 1
            }
        };
        settings[at].1.push(valid[&ids[i]]);
        settings[at].2.push(test[&ids[i]]);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let order = ["0.001", "0.01", "0.03"];
    arms.into_iter()
        .map(|(cell, mut settings)| {
            settings.sort_by_key(|s| order.iter().position(|o| *o == s.0));
            let mut best = &settings[0];
            for s in &settings[1..] {
                if mean(&s.1) > mean(&best.1) {
                    best = s;
                }
            }
            (cell, (best.0.clone(), mean(&best.2)))
        })
        .collect()
}

/// The cells of the Markdown table row that starts with `row`.
fn row_cells(report: &str, row: &str) -> Vec<String> {
    let line = report
        .lines()
        .find(|l| l.starts_with(&format!("| {row} |")))
        .unwrap_or_else(|| panic!("no row `{row}` in:\n{report}"));
    line.trim_matches('|')
        .split(" | ")
        .map(|c| c.trim().to_string())
        .collect()
}

#[test]
fn a_tuned_table_shows_each_cells_best_setting_on_validation() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    write_sweep(dir, &format!("{SWEEP}{TABLES}"));
    succeed(actsweep(dir).args(["sweep", "sweep.toml", "--no-bar"]));
    let report =
        std::fs::read_to_string(dir.join("results/tuned/report/REPORT.md")).expect("the report");
    let want = expected(&dir.join("results/tuned"));
    assert_eq!(want.len(), 6);
    let datasets = ["two_moons", "xor"];
    for ((activation, dataset), (lr, test_mean)) in &want {
        let cells = row_cells(&report, activation);
        let column = 1 + datasets.iter().position(|d| d == dataset).expect("dataset");
        let cell = &cells[column];
        let mean = format!("{:.2}% ± ", test_mean * 100.0);
        assert!(
            cell.starts_with(&mean) && cell.ends_with(&format!("(lr {lr})")),
            "{activation} on {dataset}: want {mean}... (lr {lr}), got `{cell}`"
        );
    }
    for part in [
        "Friedman test over the 6 blocks (k = 3 rows)",
        "Nemenyi critical difference at 0.05",
        "Tuned: each cell is at the setting of `optimizer.lr` (of 3)",
        "the test split chose nothing",
    ] {
        assert!(report.contains(part), "`{part}` not in:\n{report}");
    }
    assert!(dir.join("results/tuned/report/zoo_bar.svg").exists());
    // The critical-difference diagram: every activation with its mean rank
    // (the table's mean rank column), and the critical difference.
    let svg = std::fs::read_to_string(dir.join("results/tuned/report/zoo_cd.svg"))
        .expect("the CD diagram");
    assert!(svg.contains("CD = "), "{svg}");
    for activation in ["relu", "tanh", "elu"] {
        let rank = row_cells(&report, activation)
            .last()
            .cloned()
            .unwrap_or_default();
        let rank = rank.trim_end_matches(" †");
        let label = format!("{activation} ({rank})");
        assert!(svg.contains(&label), "`{label}` not in the diagram");
    }
}

/// `plan`'s error output for the sweep with `table` added (exit 2).
fn plan_error(dir: &Path, table: &str) -> String {
    write_sweep(dir, &format!("{SWEEP}{table}"));
    let out = actsweep(dir)
        .args(["plan", "sweep.toml"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{table}: {err}");
    err
}

#[test]
fn tuning_on_test_without_validation_or_over_no_axis_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let table = |tune: &str, extra: &str| {
        format!(
            "[[tables]]\nexperiment = \"zoo\"\nrows = \"activation\"\ncolumns = \"dataset\"\n\
             value = \"test_acc\"\ntune = {tune}\n{extra}"
        )
    };
    let err = plan_error(
        dir,
        &table("{ over = \"optimizer.lr\", by = \"test_acc\" }", ""),
    );
    for part in [
        "tables[0].tune.by",
        "may not choose by `test_acc`",
        "valid_acc",
    ] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    let err = plan_error(
        dir,
        &table("{ over = \"optimizer.lrr\", by = \"valid_acc\" }", ""),
    );
    for part in [
        "tables[0].tune.over",
        "not an axis",
        "did you mean `optimizer.lr`",
    ] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    let err = plan_error(
        dir,
        &table("{ over = \"activation\", by = \"valid_acc\" }", ""),
    );
    assert!(err.contains("`activation` is shown here"), "{err}");
    let cd = "[[charts]]\nkind = \"cd\"\nexperiment = \"zoo\"\nx = \"epoch\"\n";
    let err = plan_error(dir, cd);
    assert!(err.contains("ranks the values of a grid axis"), "{err}");
    let cd = "[[charts]]\nkind = \"cd\"\nexperiment = \"zoo\"\nseries = \"dataset\"\n";
    let err = plan_error(dir, cd);
    assert!(err.contains("charts[0].series"), "{err}");
    let curves = "[[charts]]\nkind = \"curves\"\nexperiment = \"zoo\"\n\
                  tune = { over = \"optimizer.lr\", by = \"valid_acc\" }\n";
    let err = plan_error(dir, curves);
    assert!(
        err.contains("`tune` chooses each point's setting on"),
        "{err}"
    );
    let err = plan_error(
        dir,
        &table(
            "{ over = \"optimizer.lr\", by = \"valid_acc\" }",
            "test = \"friedman\"\n",
        ),
    );
    assert!(err.contains("set `rank = true` too"), "{err}");
    // The same tune where the jobs hold out no validation rows.
    let no_valid = SWEEP.replace(", validation_fraction = 0.25", "");
    write_sweep(
        dir,
        &format!(
            "{no_valid}{}",
            table("{ over = \"optimizer.lr\", by = \"valid_acc\" }", "")
        ),
    );
    let out = actsweep(dir)
        .args(["plan", "sweep.toml"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for part in [
        "tables[0].tune.by",
        "hold out no validation rows",
        "validation_fraction",
    ] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    assert!(!dir.join("results").exists());
}
