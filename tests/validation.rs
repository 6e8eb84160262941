//! `validation_fraction`, a key of every dataset kind: the share of the
//! training rows held out as the `valid` split, the same rows for every
//! job, recorded under split `valid` at every evaluation, usable by name in
//! tables (`valid_acc`), never mixed into training or test.

mod common;

use actsweep::data::{self, Dataset, SplitData};
use actsweep::train;

/// The one job of a sweep whose dataset is `dataset` (TOML), 2 epochs.
fn job_of(dataset: &str, loss: &str) -> actsweep::config::job::JobConfig {
    let text = format!(
        "[defaults]\ndataset = {dataset}\nloss = \"{loss}\"\ndepth = 2\nwidth = 8\nepochs = 2\n\
         batch_size = 32\nseeds = [0]\n[experiments.e]\n"
    );
    let (_, plan) = common::plan_text(&text);
    plan.jobs[0].config.clone()
}

/// The rows of a split, as bit patterns with their targets' debug form.
fn rows(s: &SplitData) -> Vec<(Vec<u32>, String)> {
    (0..s.len())
        .map(|i| {
            let target = match &s.targets {
                data::Targets::Classes(c) => format!("{}", c[i]),
                data::Targets::Values(v) => format!("{}", v[i]),
            };
            (s.row(i).iter().map(|v| v.to_bits()).collect(), target)
        })
        .collect()
}

/// Every kind that loads here (the downloadable ones but MNIST need files
/// this machine cannot fetch; the hold-out is the same code for all).
fn kinds() -> Vec<(String, &'static str)> {
    let digits = common::root().join("examples/data/digits.csv");
    vec![
        ("{ name = \"xor\", samples = 400 }".into(), "cross_entropy"),
        (
            "{ name = \"two_moons\", samples = 400 }".into(),
            "cross_entropy",
        ),
        ("{ name = \"identity\", samples = 400 }".into(), "mse"),
        (
            format!(
                "{{ name = \"mnist\", train_limit = 800, test_limit = 100, path = \"{}\" }}",
                common::mnist_root().join("mnist").display()
            ),
            "cross_entropy",
        ),
        (
            format!(
                "{{ name = \"table\", path = \"{}\", target = \"label\" }}",
                digits.display()
            ),
            "cross_entropy",
        ),
    ]
}

/// `dataset` with `validation_fraction = f` added.
fn with_fraction(dataset: &str, f: f64) -> String {
    format!(
        "{}, validation_fraction = {f} }}",
        dataset.trim_end_matches('}').trim_end()
    )
}

#[test]
fn every_kind_holds_out_the_same_rows_and_records_valid_metrics() {
    for (dataset, loss) in kinds() {
        let whole = job_of(&dataset, loss);
        let held = job_of(&with_fraction(&dataset, 0.25), loss);
        let all: Dataset = data::load_uncached(&whole.dataset).expect("loads");
        let d: Dataset = data::load_uncached(&held.dataset).expect("loads");
        // Sizes as planned, the held-out rounded up.
        let n = all.train.len();
        let valid = (n as f64 * 0.25).ceil() as usize;
        assert_eq!(
            (d.train.len(), d.valid.len()),
            (n - valid, valid),
            "{dataset}"
        );
        assert_eq!(held.dataset.shape().train, n - valid, "{dataset}");
        assert_eq!(held.dataset.valid_rows(), valid, "{dataset}");
        assert_eq!(
            rows(&d.test),
            rows(&all.test),
            "{dataset}: the test split is untouched"
        );
        // The training rows are split, in order, between train and valid.
        let mut parts = rows(&d.train);
        parts.extend(rows(&d.valid));
        let mut whole_rows = rows(&all.train);
        parts.sort();
        whole_rows.sort();
        assert_eq!(parts, whole_rows, "{dataset}");
        // The same rows every time.
        let again = data::load_uncached(&held.dataset).expect("loads");
        assert_eq!(rows(&again.valid), rows(&d.valid), "{dataset}");
        // Recorded at every evaluation (epochs 0, 1, 2), through the catalogue.
        let o = train::train(&held, &d, &mut |_| {}).expect("trains");
        let valid_loss = o
            .metrics
            .iter()
            .filter(|m| m.split == Some(actsweep::results::Split::Valid) && m.metric == "loss")
            .count();
        assert_eq!(valid_loss, 3, "{dataset}");
        // Without a hold-out, no valid rows and the same job id as before.
        assert!(all.valid.is_empty(), "{dataset}");
        let json = serde_json::to_string(&whole.dataset).expect("json");
        assert!(!json.contains("validation_fraction"), "{json}");
    }
}

#[test]
fn valid_metrics_are_named_in_tables_and_a_bad_fraction_is_located() {
    let dir = tempfile::tempdir().expect("temp dir");
    common::write_sweep(
        dir.path(),
        "name = \"v\"\n[defaults]\ndataset = { name = \"xor\", samples = 200, validation_fraction = 0.2 }\n\
         depth = 2\nwidth = 4\nepochs = 1\nseeds = [0]\n[experiments.e]\n\
         [[tables]]\nexperiment = \"e\"\nrows = \"experiment\"\nvalue = [\"valid_acc\", \"test_acc\"]\n",
    );
    let plan = common::succeed(common::actsweep(dir.path()).args(["plan", "sweep.toml"]));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("xor: 128 train / 32 valid / 40 test rows, 2 inputs, 2 classes"),
        "{text}"
    );
    common::succeed(common::actsweep(dir.path()).args([
        "sweep",
        "sweep.toml",
        "--jobs",
        "1",
        "--no-bar",
    ]));
    let report =
        std::fs::read_to_string(dir.path().join("results/v/report/REPORT.md")).expect("report");
    assert!(
        report.contains("| experiment | valid_acc | test_acc |"),
        "{report}"
    );
    common::write_sweep(
        dir.path(),
        "name = \"v\"\n[experiments.e]\ndataset = { name = \"xor\", validation_fraction = 1.5 }\n",
    );
    let out = common::actsweep(dir.path())
        .args(["plan", "sweep.toml"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("validation_fraction must be in [0, 1), got 1.5"),
        "{err}"
    );
    assert!(err.contains("sweep.toml:3:"), "{err}");
}
