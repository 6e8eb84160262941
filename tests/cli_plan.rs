//! `actsweep plan` through the real binary: every kind of bad input gives a
//! located, actionable message and exit code 2; the project's own sweep
//! files plan cleanly; `--json`, `--jobs` and `--only` do what they say.

mod common;
use common::{root, succeed};

use std::path::Path;

fn actsweep() -> std::process::Command {
    common::actsweep(&root())
}

/// Each bad fixture is its own snapshot (`cli_plan__bad@NAME.toml.snap`),
/// and a failing one does not hide the others: insta's `glob!` goes on past a
/// snapshot mismatch, and the other checks are gathered and asserted together
/// once every file has run.
#[test]
fn every_bad_file_is_a_located_user_error() {
    let mut checked = 0;
    let mut problems = Vec::new();
    insta::glob!("fixtures/bad", "*.toml", |path| {
        checked += 1;
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let out = actsweep()
            .current_dir(path.parent().unwrap())
            .args(["plan", path.file_name().unwrap().to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let mut problem = |what: &str| {
            let p = format!("{name}: {what}\n{stderr}");
            eprintln!("{p}");
            problems.push(p);
        };
        if out.status.code() != Some(2) {
            problem(&format!("exit code {:?}, not 2", out.status.code()));
        }
        if !out.stdout.is_empty() {
            problem("printed to stdout");
        }
        if stderr.contains("panicked") {
            problem("panic");
        }
        let file = format!("{name}.toml");
        if !stderr.contains(&file) {
            problem("message does not name the file");
        }
        if name != "no_experiments" && !stderr.contains(&format!("{file}:")) {
            problem("message has no line:column");
        }
        insta::assert_snapshot!("bad", stderr);
    });
    assert!(checked >= 15, "only {checked} bad fixtures");
    assert!(
        problems.is_empty(),
        "{} of {checked} bad fixtures failed:\n\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn plan_ok(file: &Path, extra: &[&str]) -> String {
    let out = succeed(
        actsweep()
            .current_dir(root())
            .arg("plan")
            .arg(file)
            .args(extra),
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_projects_sweep_files_plan_cleanly() {
    let mut files = vec![root().join("experiments.toml")];
    for e in std::fs::read_dir(root().join("sweeps")).unwrap() {
        files.push(e.unwrap().path());
    }
    assert!(files.len() >= 2);
    for f in files {
        let text = plan_ok(&f, &[]);
        assert!(text.contains("total: "), "{text}");
    }
}

#[test]
fn plan_summary_of_experiments_toml() {
    let text = plan_ok(Path::new("experiments.toml"), &[]);
    insta::assert_snapshot!("plan_experiments_toml", text);
}

#[test]
fn json_lists_every_job_with_a_unique_id() {
    let text = plan_ok(Path::new("experiments.toml"), &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let jobs = v["jobs"].as_array().unwrap();
    let expected: u64 = v["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["jobs"].as_u64().unwrap())
        .sum();
    assert_eq!(jobs.len() as u64, expected);
    let mut ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), jobs.len());
    // depth sweep: 2 activations x 10 depths - 1 excluded, x 3 seeds.
    let depth = v["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "depth_sweep")
        .unwrap();
    assert_eq!(depth["jobs"], 57);
    assert_eq!(depth["excluded"], 1);
}

#[test]
fn only_selects_and_jobs_lists() {
    let text = plan_ok(
        Path::new("experiments.toml"),
        &[
            "--jobs",
            "--only",
            "experiment=depth_sweep",
            "--only",
            "depth=3",
            "--only",
            "seed=0",
        ],
    );
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("depth_sweep/"))
        .collect();
    assert_eq!(listed.len(), 2, "{text}");
    assert!(
        listed
            .iter()
            .all(|l| l.contains("depth=3") && l.ends_with("seed=0")),
        "{text}"
    );
    assert!(text.contains("selected: 2 jobs"), "{text}");

    // Values of one field are alternatives; numbers compare by value.
    let text = plan_ok(
        Path::new("sweeps/dead_neurons.toml"),
        &[
            "--json",
            "--only",
            "optimizer.lr=1e-3",
            "--only",
            "optimizer.lr=0.5",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["selected"], 12);
}

#[test]
fn unknown_only_field_is_a_user_error() {
    let out = actsweep()
        .current_dir(root())
        .args(["plan", "experiments.toml", "--only", "dpeth=3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("did you mean `depth`?"), "{stderr}");
}

#[test]
fn missing_file_is_a_user_error_naming_the_path() {
    let out = actsweep()
        .args(["plan", "no/such/file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot read sweep file no/such/file.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("caused by:"), "{stderr}");
}
