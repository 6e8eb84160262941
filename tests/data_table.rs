//! `dataset = { name = "table", ... }` through the real binary: a sweep on a
//! user's CSV, Parquet and `.npz` file trains, reports and resumes; the job id
//! follows the file's content, not its place; a bad table is a located
//! error (exit 2) before anything is written.

mod common;

use std::path::Path;

use common::{actsweep, counts, root, succeed, write_sweep};
use polars::prelude::*;

/// The repository's example table (scikit-learn's digits), copied into `dir`.
fn digits(dir: &Path) {
    let from = root().join("examples/data/digits.csv");
    std::fs::copy(&from, dir.join("digits.csv")).unwrap_or_else(|e| panic!("{e}"));
}

/// The same table as Parquet.
fn digits_parquet(dir: &Path) {
    let mut df = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(dir.join("digits.csv")))
        .and_then(|r| r.finish())
        .unwrap_or_else(|e| panic!("{e}"));
    let f = std::fs::File::create(dir.join("digits.parquet")).unwrap_or_else(|e| panic!("{e}"));
    ParquetWriter::new(f)
        .finish(&mut df)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The same table as `.npz`: arrays `x` (the 64 pixels) and `y` (the label).
fn digits_npz(dir: &Path) {
    use npyz::WriterBuilder;
    let text = std::fs::read_to_string(dir.join("digits.csv")).expect("csv");
    let rows: Vec<Vec<f32>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().expect("number")).collect())
        .collect();
    let x: Vec<f32> = rows.iter().flat_map(|r| r[..64].to_vec()).collect();
    let y: Vec<i64> = rows.iter().map(|r| r[64] as i64).collect();
    let file = std::fs::File::create(dir.join("digits.npz")).expect("npz");
    let mut zip = ::zip::ZipWriter::new(file);
    let n = rows.len() as u64;
    let options = ::zip::write::SimpleFileOptions::default();
    zip.start_file("x.npy", options).expect("x");
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[n, 64])
        .writer(&mut zip)
        .begin_nd()
        .expect("x header");
    w.extend(x.iter().copied()).expect("x data");
    w.finish().expect("x end");
    zip.start_file("y.npy", options).expect("y");
    let mut w = npyz::WriteOptions::<i64>::new()
        .default_dtype()
        .shape(&[n])
        .writer(&mut zip)
        .begin_nd()
        .expect("y header");
    w.extend(y.iter().copied()).expect("y data");
    w.finish().expect("y end");
    zip.finish().expect("npz end");
}

fn sweep(dataset: &str) -> String {
    format!(
        "name = \"tab\"\n[defaults]\ndataset = {dataset}\ndepth = 2\nwidth = 16\nepochs = 2\n\
         batch_size = 64\nseeds = [0]\n[experiments.e]\n"
    )
}

/// The job ids `plan --json` lists.
fn ids(dir: &Path) -> Vec<String> {
    let out = succeed(actsweep(dir).args(["plan", "sweep.toml", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn csv_parquet_and_npz_tables_train_report_and_resume() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    digits(dir);
    digits_parquet(dir);
    digits_npz(dir);
    for (file, target) in [
        ("digits.csv", "label"),
        ("digits.parquet", "label"),
        ("digits.npz", "y"),
    ] {
        write_sweep(
            dir,
            &sweep(&format!(
                "{{ name = \"table\", path = \"{file}\", target = \"{target}\", scale = \"unit\" }}"
            )),
        );
        let first = succeed(actsweep(dir).args(["sweep", "sweep.toml", "--jobs", "1", "--no-bar"]));
        let err = String::from_utf8_lossy(&first.stderr);
        assert_eq!(counts(&err).1, 1, "{file}: {err}");
        let again = succeed(actsweep(dir).args(["run", "sweep.toml", "--jobs", "1", "--no-bar"]));
        let err = String::from_utf8_lossy(&again.stderr);
        assert_eq!(counts(&err), (1, 0, 0, 1), "{file}: resumed:\n{err}");
        let metrics = common::read(&dir.join("results/tab/metrics.parquet"));
        let acc = metrics
            .lazy()
            .filter(
                col("metric")
                    .eq(lit("accuracy"))
                    .and(col("split").eq(lit("test"))),
            )
            .collect()
            .expect("accuracy rows");
        assert!(acc.height() >= 2, "{file}: {acc}");
        let report = dir.join("results/tab/report/REPORT.md");
        assert!(
            std::fs::read_to_string(&report).is_ok_and(|r| r.contains("test_acc")),
            "{file}"
        );
        std::fs::remove_dir_all(dir.join("results")).expect("results removed");
    }
}

#[test]
fn the_job_id_follows_the_content_not_the_place() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    digits(dir);
    let spec = |file: &str| {
        sweep(&format!(
            "{{ name = \"table\", path = \"{file}\", target = \"label\" }}"
        ))
    };
    write_sweep(dir, &spec("digits.csv"));
    let before = ids(dir);
    std::fs::create_dir(dir.join("moved")).expect("folder");
    std::fs::copy(dir.join("digits.csv"), dir.join("moved/digits.csv")).expect("copy");
    write_sweep(dir, &spec("moved/digits.csv"));
    assert_eq!(ids(dir), before, "a moved file keeps its jobs' ids");
    // One value edited: another id.
    write_sweep(dir, &spec("digits.csv"));
    let text = std::fs::read_to_string(dir.join("digits.csv")).expect("csv");
    let edited = text.replacen("\n0,", "\n1,", 1);
    assert_ne!(edited, text);
    std::fs::write(dir.join("digits.csv"), edited).expect("write");
    assert_ne!(ids(dir), before, "editing one value must change the job id");
}

#[test]
fn a_bad_table_is_a_located_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    digits(dir);
    let cases = [
        ("{ name = \"table\", path = \"digits.csv\", target = \"lable\" }", "did you mean `label`"),
        ("{ name = \"table\", path = \"nope.csv\", target = \"label\" }", "nope.csv"),
        ("{ name = \"table\", target = \"label\" }", "needs `path`"),
        ("{ name = \"table\", path = \"digits.csv\", target = \"label\", features = [\"p0\", \"q1\"] }", "q1"),
    ];
    for (dataset, says) in cases {
        write_sweep(dir, &sweep(dataset));
        let out = actsweep(dir)
            .args(["run", "sweep.toml", "--jobs", "1", "--no-bar"])
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{dataset}: {err}");
        assert!(err.contains(says), "{dataset}: {err}");
        assert!(
            err.contains("sweep.toml:3:"),
            "{dataset}: not located: {err}"
        );
        assert!(!dir.join("results").exists(), "{dataset}: wrote results");
    }
}

#[test]
fn a_missing_feature_value_stops_the_run_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    // The plan reads headers and the target column, not the features: the
    // gap is found when the run loads its datasets, before any job trains.
    std::fs::write(dir.join("gap.csv"), "x,z,y\n1,2,0\n3,4,1\n5,,0\n7,8,1\n").expect("table");
    write_sweep(
        dir,
        &sweep("{ name = \"table\", path = \"gap.csv\", target = \"y\", test_path = \"gap.csv\" }"),
    );
    succeed(actsweep(dir).args(["plan", "sweep.toml"]));
    let out = actsweep(dir)
        .args(["run", "sweep.toml", "--jobs", "1", "--no-bar"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    for part in ["gap.csv", "column `z`", "data row 3"] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    let results = dir.join("results/tab");
    assert!(
        !results.join("runs.parquet").exists(),
        "wrote results: {err}"
    );
    assert!(
        !results.join("metrics.parquet").exists(),
        "wrote results: {err}"
    );
}

#[test]
fn plan_shows_the_tables_sizes_file_and_digest() {
    use sha2::{Digest, Sha256};
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    digits(dir);
    write_sweep(
        dir,
        &sweep("{ name = \"table\", path = \"digits.csv\", target = \"label\", validation_fraction = 0.1 }"),
    );
    let out = succeed(actsweep(dir).args(["plan", "sweep.toml"]));
    let text = String::from_utf8_lossy(&out.stdout);
    let bytes = std::fs::read(dir.join("digits.csv")).expect("table");
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let line = format!(
        "table: 1293 train / 144 valid / 360 test rows, 64 inputs, 10 classes; digits.csv, sha256 {}",
        &digest[..12]
    );
    assert!(text.contains(&line), "`{line}` not in:\n{text}");
}
