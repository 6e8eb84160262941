//! The report on a small fixture results set, built here from the plan of a
//! fixture sweep (no training) and written through the runner's own writer
//! (`ResultsDir::write_job`, then `merge`), so the report reads exactly what
//! `run` writes: snapshot tests of every table kind, every
//! chart kind rendered to SVG and PNG of the declared size, `--check` passing
//! and failing, and the README block replaced with nothing outside changed.

mod common;
use common::{actsweep, root, succeed};

use std::path::Path;

use actsweep::config;
use actsweep::config::job::Record;
use actsweep::plan::Plan;
use actsweep::report;
use actsweep::results::{self, BoundaryPoint, JobStatus, Metric, ResultsDir, Split, Tables};
use assert_cmd::prelude::*;

const BASE: &str = r#"
name = "fixture"
description = "A fixture sweep for report tests."

[defaults]
dataset = { name = "xor", samples = 200 }
depth = 2
width = 4
epochs = 3
seeds = 3

[experiments.cmp]
grid.activation = ["relu", "linear"]
grid.depth = [2, 3]

[experiments.moons]
dataset = { name = "two_moons", samples = 200 }
grid.activation = ["relu", "linear"]
seeds = 1
record = ["decision_boundary"]
"#;

const TABLES: &str = r#"
[[tables]]
experiment = "cmp"
title = "Accuracy and loss (percent, metric columns)"
rows = "activation"
columns = "metric"
value = ["train_acc", "test_acc", "train_loss"]
format = "percent"
filter = { depth = 2 }

[[tables]]
experiment = "cmp"
title = "Test loss by depth (fixed, axis columns)"
rows = "depth"
columns = "activation"
value = "test_loss"
digits = 3

[[tables]]
experiment = "cmp"
title = "Gradient norms at epoch 2 (scientific, ratio)"
rows = "layer"
columns = "activation"
value = "grad_norm"
epoch = 2
format = "scientific"
ratio = ["relu", "linear"]
filter = { depth = 3 }

[[tables]]
experiment = "cmp"
title = "Test accuracy per epoch (mean only)"
rows = "epoch"
columns = "activation"
value = "test_acc"
std = false
format = "percent"
digits = 1
filter = { depth = 2 }

[[tables]]
experiment = "cmp"
title = "Test accuracy against linear, paired by seed, with mean ranks"
rows = "depth"
columns = "activation"
value = "test_acc"
format = "percent"
baseline = "linear"
rank = true

[[tables]]
experiment = "cmp"
title = "Best test accuracy (every axis)"
rows = "activation"
value = "test_acc"
epoch = "best"
format = "percent"
"#;

const CHARTS: &str = r#"
[[charts]]
kind = "line"
experiment = "cmp"
x = "depth"
y = "test_acc"
series = "activation"
width = 640
height = 400

[[charts]]
kind = "line"
experiment = "cmp"
file = "cmp_epochs"
x = "epoch"
y = "test_loss"
band = "ci95"
log_y = true
filter = { depth = 2 }

[[charts]]
kind = "bar"
experiment = "cmp"
x = "activation"
series = "depth"
y = "test_acc"
y_min = 0.8
width = 700
height = 420

[[charts]]
kind = "bar"
experiment = "cmp"
file = "cmp_vs_linear"
x = "activation"
series = "depth"
y = "test_acc"
baseline = "linear"

[[charts]]
kind = "curves"
experiment = "cmp"
metrics = ["train_loss", "test_loss"]
panels = "activation"
filter = { depth = 3 }

[[charts]]
kind = "layers"
experiment = "cmp"
y = "grad_norm_mean"
filter = { depth = 3 }
width = 900
height = 360

[[charts]]
kind = "boundary"
experiment = "moons"
width = 820
height = 400

[[charts]]
kind = "activations"
activations = ["relu", "linear", "tanh"]
width = 600
height = 300
"#;

fn expect_block(value: f64) -> String {
    format!(
        r#"
[[tables]]
experiment = "cmp"
title = "Checked"
rows = "activation"
columns = "metric"
value = "test_acc"
format = "percent"
filter = {{ depth = 2 }}
expect = [
  {{ row = "relu", column = "test_acc", value = {value}, tol = 0.005, source = "fixture" }},
  {{ row = "linear", value = 0.895, rel_tol = 0.01 }},
]
"#
    )
}

fn activation_base(a: &str) -> f64 {
    if a == "relu" {
        0.97
    } else {
        0.92
    }
}

/// What one fixture job wrote: its record, metrics and boundary grid.
struct JobFixture {
    record: results::JobRecord,
    metrics: Vec<Metric>,
    boundary: Vec<BoundaryPoint>,
}

/// Fixture results for every planned job: accuracy rises over epochs, ReLU
/// above linear, deeper slightly worse, seeds spread by 0.002; one linear job
/// diverged.
fn fixture_jobs(plan: &Plan) -> Vec<JobFixture> {
    plan.jobs
        .iter()
        .enumerate()
        .map(|(index, job)| {
            let act = job
                .axes
                .iter()
                .find(|(k, _)| k == "activation")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let depth = job.config.depth as f64;
            let seed = job.config.seed as f64;
            let diverged =
                job.experiment == "cmp" && act == "linear" && depth == 3.0 && seed == 2.0;
            let last = if diverged { 1 } else { 3 };
            let mut metrics = Vec::new();
            for epoch in 0..=last {
                let acc = activation_base(&act) - 0.01 * (depth - 2.0) - 0.1 / (epoch as f64 + 1.0)
                    + 0.002 * seed;
                for (split, shift) in [(Split::Train, 0.01), (Split::Test, 0.0)] {
                    let a = acc + shift;
                    for (metric, v) in [("accuracy", a), ("loss", 1.0 - a)] {
                        metrics.push(Metric {
                            epoch,
                            split: Some(split),
                            layer: None,
                            metric: metric.into(),
                            value: v,
                        });
                    }
                }
                if epoch >= 1 {
                    for layer in 1..=job.config.depth as u32 {
                        let scale = if act == "relu" { 1e-3 } else { 1e-5 };
                        metrics.push(Metric {
                            epoch,
                            split: None,
                            layer: Some(layer),
                            metric: "grad_norm_mean".into(),
                            value: scale * layer as f64 * (1.0 + 0.1 * seed) / epoch as f64,
                        });
                    }
                }
            }
            let mut boundary = Vec::new();
            if job.config.record.contains(&Record::DecisionBoundary) {
                for epoch in [0u32, 3] {
                    for i in 0..20 {
                        for j in 0..20 {
                            let x = -1.5 + 4.0 * i as f32 / 19.0;
                            let y = -1.0 + 2.5 * j as f32 / 19.0;
                            let value = if act == "relu" {
                                1.0 / (1.0 + (-(4.0 * (y - 0.5 * (x * 2.0).sin()))).exp())
                            } else {
                                1.0 / (1.0 + (-(y - 0.2 * x)).exp())
                            };
                            boundary.push(BoundaryPoint { epoch, x, y, value });
                        }
                    }
                }
            }
            let status = if diverged {
                JobStatus::Diverged
            } else {
                JobStatus::Ok
            };
            let mut record = common::record(job, index, status, last, !boundary.is_empty());
            record.error = diverged.then(|| "loss became NaN in epoch 2".to_string());
            JobFixture {
                record,
                metrics,
                boundary,
            }
        })
        .collect()
}

/// Writes the jobs into `dir` with the runner's writer, merges them as
/// `run` does, and reads the merged tables back as `report` does.
fn write_results(dir: &Path, jobs: &[JobFixture]) -> Tables {
    let rdir = ResultsDir::new(dir);
    rdir.create().unwrap();
    for j in jobs {
        rdir.write_job(&j.record, &j.metrics, &j.boundary).unwrap();
    }
    let (found, damaged) = results::gather(std::slice::from_ref(&rdir), None).unwrap();
    assert!(damaged.is_empty());
    results::merge(&found, damaged, dir).unwrap();
    Tables::read(dir).unwrap()
}

/// Loads `text` as `dir/sweep.toml` and plans it.
fn load(dir: &Path, text: &str) -> (config::Sweep, Plan) {
    let path = dir.join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    let sweep = config::load(&path).unwrap();
    let plan = Plan::new(&sweep).unwrap();
    (sweep, plan)
}

/// The report's tables and charts of a planned sweep, as `load_plan` resolves them.
fn specs(sweep: &config::Sweep, plan: &Plan) -> report::ReportSpecs {
    report::ReportSpecs::resolve(sweep, plan).unwrap()
}

/// Writes `sweep.toml` and its fixture results under `dir`.
fn fixture(dir: &Path, text: &str) -> (config::Sweep, Plan, Tables) {
    let (sweep, plan) = load(dir, text);
    let results = write_results(&dir.join("results").join(&sweep.name), &fixture_jobs(&plan));
    (sweep, plan, results)
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() > 1000, "{} is nearly empty", path.display());
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn every_table_kind_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (sweep, plan, results) = fixture(dir.path(), &format!("{BASE}{TABLES}"));
    let tables = report::render_tables(&specs(&sweep, &plan), &plan, &results).unwrap();
    assert_eq!(tables.len(), 6);
    let names = [
        "table_percent_metric_columns",
        "table_fixed_axis_columns",
        "table_scientific_ratio",
        "table_epoch_rows_mean_only",
        "table_paired_baseline_rank",
        "table_best_epoch_extra_axis",
    ];
    for (t, name) in tables.iter().zip(names) {
        insta::assert_snapshot!(name, t.markdown);
    }
}

#[test]
fn default_report_without_tables_or_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (sweep, plan, results) = fixture(dir.path(), BASE);
    let tables = report::render_tables(&specs(&sweep, &plan), &plan, &results).unwrap();
    let all: Vec<&str> = tables.iter().map(|t| t.markdown.as_str()).collect();
    insta::assert_snapshot!("default_tables", all.join("\n"));
    let out = report::write(
        &sweep,
        &plan,
        &specs(&sweep, &plan),
        &results,
        &dir.path().join("report"),
        None,
    )
    .unwrap();
    assert_eq!(out.tables, 2);
    for name in ["cmp_curves.png", "moons_curves.png"] {
        assert_eq!(png_size(&dir.path().join("report").join(name)), (800, 500));
    }
}

#[test]
fn every_chart_kind_renders_at_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let (sweep, plan, results) = fixture(dir.path(), &format!("{BASE}{CHARTS}"));
    let rdir = dir.path().join("report");
    let out = report::write(&sweep, &plan, &specs(&sweep, &plan), &results, &rdir, None).unwrap();
    let expected = [
        ("cmp_line", (640, 400)),
        ("cmp_epochs", (800, 500)),
        ("cmp_bar", (700, 420)),
        ("cmp_vs_linear", (800, 500)),
        ("cmp_curves", (800, 500)),
        ("cmp_layers", (900, 360)),
        ("moons_boundary", (820, 400)),
        ("sweep_activations", (600, 300)),
    ];
    assert_eq!(out.charts.len(), 2 * expected.len());
    for (file, size) in expected {
        assert_eq!(png_size(&rdir.join(format!("{file}.png"))), size, "{file}");
        let svg = std::fs::read_to_string(rdir.join(format!("{file}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.len() > 500, "{file}.svg");
    }
    let md = std::fs::read_to_string(rdir.join("REPORT.md")).unwrap();
    assert!(
        md.contains("![cmp: test_acc by depth](cmp_line.png)"),
        "{md}"
    );
    // To look at the charts: ACTSWEEP_KEEP_REPORT=/some/dir cargo nextest run --test report
    if let Ok(keep) = std::env::var("ACTSWEEP_KEEP_REPORT") {
        std::fs::create_dir_all(&keep).unwrap();
        for e in std::fs::read_dir(&rdir).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, Path::new(&keep).join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn unknown_metrics_and_filter_keys_are_rejected_before_training() {
    // Regression: `filter = { dpeth = 5 }` gave an empty table, and a
    // misspelt metric failed only in `report`, after the sweep had trained.
    let dir = tempfile::tempdir().unwrap();
    for (entry, key, want) in [
        (
            "[[tables]]\nexperiment = \"cmp\"\nrows = \"activation\"\nvalue = \"test_acc_typo\"\n",
            "tables[0].value",
            "did you mean `test_acc`?",
        ),
        (
            "[[charts]]\nkind = \"bar\"\nexperiment = \"cmp\"\ny = \"tst_loss\"\n",
            "charts[0].y",
            "did you mean `test_loss`?",
        ),
        (
            "[[tables]]\nexperiment = \"cmp\"\nrows = \"activation\"\nvalue = \"test_acc\"\nfilter = { dpeth = 5 }\n",
            "tables[0].filter",
            "did you mean `depth`?",
        ),
    ] {
        for cmd in ["plan", "run"] {
            let stderr = user_error(dir.path(), cmd, &format!("{BASE}\n{entry}"));
            assert!(stderr.contains(key), "{cmd}: {stderr}");
            assert!(stderr.contains(want), "{cmd}: {stderr}");
        }
        assert!(!dir.path().join("results/fixture").exists());
    }
}

#[test]
fn check_passes_on_a_passing_fixture() {
    let dir = tempfile::tempdir().unwrap();
    // relu depth 2, last epoch: 0.97 - 0.025 + mean seed shift 0.002 = 0.947.
    fixture(dir.path(), &format!("{BASE}{}", expect_block(0.947)));
    let out = succeed(actsweep(dir.path()).args(["report", "sweep.toml", "--check"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("expectations: 2 of 2 pass"), "{stdout}");
    let md = std::fs::read_to_string(dir.path().join("results/fixture/report/REPORT.md")).unwrap();
    assert!(
        md.contains("**Expectations: 2 of 2 pass (all pass).**"),
        "{md}"
    );
}

#[test]
fn check_fails_on_a_failing_fixture() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), &format!("{BASE}{}", expect_block(0.5)));
    let out = actsweep(dir.path())
        .args(["report", "sweep.toml", "--check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL Checked [relu / test_acc]"),
        "{stdout}"
    );
    // Without --check the report is written and the exit code is 0.
    succeed(actsweep(dir.path()).args(["report", "sweep.toml"]));
    let md = std::fs::read_to_string(dir.path().join("results/fixture/report/REPORT.md")).unwrap();
    assert!(
        md.contains("| relu | test_acc | 94.70% | 50.00% | ± 0.5% | **FAIL** | fixture |"),
        "{md}"
    );
}

#[test]
fn readme_block_is_replaced_and_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), &format!("{BASE}{}", expect_block(0.947)));
    let before = "# Title\n\nIntro text.\n\n<!-- actsweep:begin fixture -->\nstale table\n<!-- actsweep:end fixture -->\n\n## After\n\ntrailing text, no newline";
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, before).unwrap();
    succeed(actsweep(dir.path()).args(["report", "sweep.toml", "--readme", "README.md"]));
    let after = std::fs::read_to_string(&readme).unwrap();
    let begin = "<!-- actsweep:begin fixture -->";
    let end = "<!-- actsweep:end fixture -->";
    let (head, rest) = after.split_once(begin).unwrap();
    let (block, tail) = rest.split_once(end).unwrap();
    assert_eq!(head, "# Title\n\nIntro text.\n\n");
    assert_eq!(tail, "\n\n## After\n\ntrailing text, no newline");
    assert!(!block.contains("stale table"));
    assert!(
        block.contains("\n#### Checked\n") && block.contains("| relu |"),
        "{block}"
    );
    // Running again changes nothing.
    actsweep(dir.path())
        .args(["report", "sweep.toml", "--readme", "README.md"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), after);
}

#[test]
fn missing_markers_and_missing_results_are_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), BASE);
    std::fs::write(dir.path().join("README.md"), "# no markers\n").unwrap();
    let out = actsweep(dir.path())
        .args(["report", "sweep.toml", "--readme", "README.md"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("<!-- actsweep:begin fixture -->"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
        "# no markers\n"
    );

    let out = actsweep(dir.path())
        .args(["report", "sweep.toml", "--out", "elsewhere"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("runs.parquet not found"), "{stderr}");
}

#[test]
fn a_misspelt_table_key_points_at_its_line_and_leaves_the_report_alone() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), &format!("{BASE}{TABLES}"));
    actsweep(dir.path())
        .args(["report", "sweep.toml"])
        .assert()
        .success();
    let report = dir.path().join("results/fixture/report/REPORT.md");
    let before = std::fs::read_to_string(&report).unwrap();
    // Same sweep (same plan and results), one table's rows misspelt.
    let bad = format!(
        "{BASE}{TABLES}\n[[tables]]\nexperiment = \"cmp\"\nrows = \"activaton\"\nvalue = \"test_acc\"\n"
    );
    std::fs::write(dir.path().join("sweep.toml"), &bad).unwrap();
    let line = bad
        .lines()
        .position(|l| l == "rows = \"activaton\"")
        .unwrap()
        + 1;
    let out = actsweep(dir.path())
        .args(["report", "sweep.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("sweep.toml:{line}:8")), "{stderr}");
    assert!(
        stderr.contains("tables[") && stderr.contains("].rows"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `activation`?"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&report).unwrap(), before);
}

#[test]
fn project_sweep_files_resolve_their_tables_and_charts() {
    // Every declared table and chart of the project's sweep files resolves
    // (names, formats, epochs, sizes) against its experiment's axes.
    let mut files = vec![root().join("experiments.toml")];
    for e in std::fs::read_dir(root().join("sweeps")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let sweep = config::load(&f).unwrap();
        let plan = Plan::new(&sweep).unwrap();
        report::ReportSpecs::resolve(&sweep, &plan)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn a_filter_list_keeps_jobs_matching_any_of_its_values() {
    let table = |filter: &str| {
        format!(
            r#"{BASE}
[[tables]]
experiment = "cmp"
title = "Filtered"
rows = "depth"
columns = "activation"
value = "test_loss"
{filter}
"#
        )
    };
    let render = |text: String| {
        let dir = tempfile::tempdir().unwrap();
        let (sweep, plan, results) = fixture(dir.path(), &text);
        let mut t = report::render_tables(&specs(&sweep, &plan), &plan, &results).unwrap();
        t.remove(0).markdown
    };
    let all = render(table(""));
    let listed = render(table(
        r#"filter = { activation = ["relu", "linear"], depth = [2, 3] }"#,
    ));
    assert_eq!(all, listed, "a list naming every value keeps every job");
    let one = render(table(r#"filter = { depth = [3], activation = ["relu"] }"#));
    assert!(one.contains("| 3 |"), "{one}");
    assert!(!one.contains("| 2 |"), "{one}");
    assert!(!one.contains("linear"), "{one}");
    // A filter keeping no job is an error before anything trains, not an
    // empty table (the plan's values are listed).
    let dir = tempfile::tempdir().unwrap();
    let stderr = user_error(dir.path(), "run", &table(r#"filter = { depth = [4, 5] }"#));
    assert!(stderr.contains("the filter keeps no job"), "{stderr}");
    assert!(stderr.contains("depth: 2, 3"), "{stderr}");
    assert!(!dir.path().join("results/fixture").exists());
}

/// Writes `text` as `dir/sweep.toml` and runs `actsweep CMD sweep.toml`,
/// which must refuse it as a user error (exit 2); returns its stderr.
fn user_error(dir: &Path, cmd: &str, text: &str) -> String {
    std::fs::write(dir.join("sweep.toml"), text).unwrap();
    let out = actsweep(dir).args([cmd, "sweep.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
    stderr
}

#[test]
fn plan_and_run_reject_a_misspelt_report_key_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("{BASE}\n[[charts]]\nkind = \"line\"\nexperiment = \"cmp\"\nx = \"depht\"\n");
    for cmd in ["plan", "run"] {
        let stderr = user_error(dir.path(), cmd, &bad);
        assert!(stderr.contains("charts[0].x"), "{cmd}: {stderr}");
        assert!(stderr.contains("did you mean `depth`?"), "{cmd}: {stderr}");
    }
    assert!(
        !dir.path().join("results/fixture").exists(),
        "run trained before checking the report keys"
    );
}

#[test]
fn a_baseline_that_is_not_a_planned_value_is_rejected_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!(
        "{BASE}\n[[tables]]\nexperiment = \"cmp\"\nrows = \"depth\"\ncolumns = \"activation\"\nvalue = \"test_acc\"\nbaseline = \"reluu\"\n"
    );
    for cmd in ["plan", "run"] {
        let stderr = user_error(dir.path(), cmd, &bad);
        assert!(stderr.contains("tables[0].baseline"), "{cmd}: {stderr}");
        assert!(
            stderr.contains("baseline `reluu` is not a value of `activation` or `depth`"),
            "{cmd}: {stderr}"
        );
        assert!(stderr.contains("did you mean `relu`?"), "{cmd}: {stderr}");
    }
    assert!(!dir.path().join("results/fixture").exists());
    // `test` without `baseline`, and an unknown test, are located errors too.
    for (extra, want) in [
        ("test = \"t\"", "set `baseline` too"),
        (
            "baseline = \"relu\"\ntest = \"wilcox\"",
            "did you mean `wilcoxon`?",
        ),
    ] {
        let text = format!(
            "{BASE}\n[[tables]]\nexperiment = \"cmp\"\nrows = \"depth\"\ncolumns = \"activation\"\nvalue = \"test_acc\"\n{extra}\n"
        );
        let stderr = user_error(dir.path(), "plan", &text);
        assert!(stderr.contains(want), "{stderr}");
    }
}

#[test]
fn a_report_in_the_middle_of_a_run_skips_boundaries_not_yet_trained() {
    // Regression: `report` on a sweep whose two-moons jobs had not run yet
    // failed outright ("no decision boundaries"), so no partial report.
    let dir = tempfile::tempdir().unwrap();
    let (_, plan) = load(dir.path(), &format!("{BASE}{CHARTS}"));
    let mut jobs = fixture_jobs(&plan);
    jobs.retain(|j| j.record.experiment != "moons");
    assert!(jobs.iter().all(|j| j.boundary.is_empty()));
    write_results(&dir.path().join("results/fixture"), &jobs);
    succeed(actsweep(dir.path()).args(["report", "sweep.toml"]));
    let md = std::fs::read_to_string(dir.path().join("results/fixture/report/REPORT.md")).unwrap();
    assert!(
        md.contains("_Not drawn: no run of this experiment has finished yet._"),
        "{md}"
    );
    assert!(dir
        .path()
        .join("results/fixture/report/cmp_line.png")
        .exists());
    assert!(!dir
        .path()
        .join("results/fixture/report/moons_boundary.png")
        .exists());
}

/// The figure of a test-accuracy-by-epoch line chart on the fixture's depth-2
/// jobs, with `extra` chart keys.
fn epoch_line_figure(dir: &Path, extra: &str) -> report::chart::Figure {
    let text = format!(
        "{BASE}\n[[charts]]\nkind = \"line\"\nexperiment = \"cmp\"\nx = \"epoch\"\ny = \"test_acc\"\n{extra}\nfilter = {{ depth = 2 }}\n"
    );
    let (sweep, plan, results) = fixture(dir, &text);
    let ctx = report::cells::Context::new(&plan, &results);
    let specs = specs(&sweep, &plan).charts(&ctx);
    let q = specs[0].kind.query(&specs[0]).unwrap();
    let cells = ctx.query(&q).unwrap();
    let marks = report::chart::line::Line::marks(&specs[0]);
    report::chart::figure(&specs[0], &cells, &report::palette(&plan), marks)
}

#[test]
fn a_log_x_epoch_chart_leaves_out_epoch_zero() {
    // Regression: epoch 0 on a log axis became log10(tiny) = -308 and
    // squeezed every curve into the right edge.
    let dir = tempfile::tempdir().unwrap();
    let fig = epoch_line_figure(dir.path(), "log_x = true");
    let xs: Vec<f64> = fig
        .panels
        .iter()
        .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)))
        .collect();
    assert!(!xs.is_empty());
    assert!(xs.iter().all(|&x| x >= 1.0), "{xs:?}");
    assert!(xs.contains(&3.0), "{xs:?}");
}

#[test]
fn an_expectation_row_may_name_the_extra_axes_too() {
    // Regression: a row label with the extra axes in front ("3, relu", as the
    // table and the check list print it) matched no cell and always failed.
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"{BASE}
[[tables]]
experiment = "cmp"
title = "Extra axis"
rows = "activation"
value = "test_acc"
expect = [
  {{ row = "3, relu", value = 0.937, tol = 0.002 }},
  {{ row = "relu", value = 0.947, tol = 0.002 }},
]
"#
    );
    let (sweep, plan, results) = fixture(dir.path(), &text);
    let tables = report::render_tables(&specs(&sweep, &plan), &plan, &results).unwrap();
    let checks = &tables[0].checks;
    let rows: Vec<&str> = checks.iter().map(|c| c.row.as_str()).collect();
    assert_eq!(rows, ["3, relu", "2, relu", "3, relu"], "{checks:?}");
    assert!(checks.iter().all(|c| c.measured.is_some()), "{checks:?}");
    let passed: Vec<bool> = checks.iter().map(|c| c.pass).collect();
    assert_eq!(passed, [true, true, false], "{checks:?}");
}

#[test]
fn a_chart_y_range_is_checked_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for (keys, key, message) in [
        (
            "y_min = 0.5\ny_max = 0.4",
            "charts[0].y_max",
            "y_max (0.4) must be above y_min (0.5)",
        ),
        (
            "log_y = true\ny_min = 0",
            "charts[0].y_min",
            "above 0 on a log axis",
        ),
    ] {
        let text = format!(
            "{BASE}\n[[charts]]\nkind = \"line\"\nexperiment = \"cmp\"\nx = \"depth\"\n{keys}\n"
        );
        let stderr = user_error(dir.path(), "plan", &text);
        assert!(stderr.contains(key), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(stderr.contains("sweep.toml:"), "{stderr}");
    }
}

#[test]
fn a_fixed_y_range_leaves_out_means_beyond_it() {
    let dir = tempfile::tempdir().unwrap();
    let fig = epoch_line_figure(dir.path(), "y_min = 0.9");
    assert_eq!(fig.spec.y_min, Some(0.9));
    let specs = [fig.spec.clone()];
    // The figure keeps every mean (linear ones included, below 0.9); the
    // drawing leaves them out. It renders at its size.
    assert!(fig
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .any(|s| s.points.iter().any(|(_, m)| m.mean < 0.9)));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    report::chart::draw_figure(&fig, &out).unwrap();
    assert_eq!(
        png_size(&out.join(format!("{}.png", specs[0].file))),
        (800, 500)
    );
    let circles = |fig: &report::chart::Figure| {
        report::chart::draw_figure(fig, &out).unwrap();
        std::fs::read_to_string(out.join(format!("{}.svg", specs[0].file)))
            .unwrap()
            .matches("<circle")
            .count()
    };
    let mut unbounded = fig.clone();
    unbounded.spec.y_min = None;
    let (all, kept) = (circles(&unbounded), circles(&fig));
    let below = fig
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| &s.points)
        .filter(|(_, m)| m.mean < 0.9)
        .count();
    assert!(below > 0 && all > 0);
    assert_eq!(
        kept,
        all - below,
        "markers: {all} unbounded, {kept} with y_min"
    );
}

/// The y-axis tick labels of a two-panel SVG chart, left panel then right
/// (`width`: the panels' total width in pixels).
fn y_ticks(svg: &str, width: f64) -> (Vec<String>, Vec<String>) {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for chunk in svg.split("<text ").skip(1) {
        let Some((attrs, rest)) = chunk.split_once('>') else {
            continue;
        };
        if !attrs.contains("text-anchor=\"end\"") {
            continue;
        }
        let x: f64 = attrs
            .split("x=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let label = rest
            .split("</text>")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if x < width / 2.0 {
            left.push(label);
        } else {
            right.push(label);
        }
    }
    (left, right)
}

#[test]
fn panels_share_one_vertical_scale_unless_told_not_to() {
    // ReLU's gradient norms are ~100x the linear net's in the fixture: on a
    // shared scale both panels carry the same ticks, fitted they do not.
    let dir = tempfile::tempdir().unwrap();
    let chart = |extra: &str| {
        format!(
            "{BASE}\n[[charts]]\nkind = \"layers\"\nexperiment = \"cmp\"\ny = \"grad_norm_mean\"\nfilter = {{ depth = 3 }}\n{extra}\n"
        )
    };
    let mut ticks = Vec::new();
    for extra in ["", "share_y = false"] {
        let (sweep, plan, results) = fixture(dir.path(), &chart(extra));
        let out = dir.path().join("report");
        report::write(&sweep, &plan, &specs(&sweep, &plan), &results, &out, None).unwrap();
        let svg = std::fs::read_to_string(out.join("cmp_layers.svg")).unwrap();
        // 800 px less the 170 px legend, split into two panels.
        ticks.push(y_ticks(&svg, 630.0));
    }
    let (shared, fitted) = (&ticks[0], &ticks[1]);
    assert!(!shared.0.is_empty(), "{shared:?}");
    assert_eq!(shared.0, shared.1, "shared scale");
    assert_ne!(fitted.0, fitted.1, "fitted scales");
}

#[test]
fn repeated_readme_flags_update_every_file_or_none() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), &format!("{BASE}{}", expect_block(0.947)));
    let (begin, end) = (
        "<!-- actsweep:begin fixture -->",
        "<!-- actsweep:end fixture -->",
    );
    let stale = format!("{begin}\nstale table\n{end}\n");
    let readme = dir.path().join("README.md");
    let study = dir.path().join("docs/study.md");
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    std::fs::write(&readme, format!("# A\n\n{stale}")).unwrap();
    std::fs::write(&study, format!("# B\n\n{stale}\ntail\n")).unwrap();
    actsweep(dir.path())
        .args(["report", "sweep.toml", "--readme", "README.md"])
        .args(["--readme", "docs/study.md"])
        .assert()
        .success();
    let block = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let inner = text.split_once(begin).unwrap().1.split_once(end).unwrap().0;
        inner.to_string()
    };
    assert!(
        block(&readme).contains("\n#### Checked\n"),
        "{}",
        block(&readme)
    );
    assert_eq!(block(&readme), block(&study));
    assert!(std::fs::read_to_string(&study)
        .unwrap()
        .ends_with(&format!("{end}\n\ntail\n")));

    // One file without the markers: a user error, and no file is written.
    std::fs::write(&readme, format!("# A\n\n{stale}")).unwrap();
    std::fs::write(dir.path().join("other.md"), "# no markers\n").unwrap();
    let out = actsweep(dir.path())
        .args(["report", "sweep.toml", "--readme", "README.md"])
        .args(["--readme", "other.md"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("other.md"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&readme).unwrap(),
        format!("# A\n\n{stale}")
    );
}
