//! `actsweep datasets` through the real binary: every registered kind is
//! listed with its description, its keys and the sizes of its default form
//! (snapshot), and with a sweep file, the datasets its jobs use.

mod common;

use actsweep::data::DatasetConfig;
use assert_cmd::prelude::*;
use tempfile::TempDir;

fn stdout(args: &[&str], dir: &std::path::Path) -> String {
    let out = common::actsweep(dir).args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).expect("UTF-8 output")
}

#[test]
fn the_listing_shows_every_kind_with_its_keys() {
    let dir = TempDir::new().expect("temp dir");
    let text = stdout(&["datasets"], dir.path());
    for &(name, about) in DatasetConfig::ABOUT {
        let entry = text
            .split("\n\n")
            .find(|e| e.starts_with(&format!("{name}\n")))
            .unwrap_or_else(|| panic!("no entry for `{name}` in:\n{text}"));
        assert!(entry.contains(about), "{entry}");
        let has_default = actsweep::config::resolve::default_dataset(name).is_some();
        assert_eq!(entry.contains("by default: "), has_default, "{entry}");
        let schema = &DatasetConfig::SCHEMA;
        for key in schema.all_keys().iter().filter(|k| k.name != "name") {
            let listed = entry.contains(&format!("\n    {}: ", key.name));
            let takes = schema.keys_for(name).contains(&key.name);
            assert_eq!(listed, takes, "`{}` in:\n{entry}", key.name);
        }
    }
    insta::assert_snapshot!("datasets_listing", text);
}

#[test]
fn a_sweep_files_datasets_are_listed_with_their_sizes() {
    let dir = TempDir::new().expect("temp dir");
    common::write_sweep(
        dir.path(),
        "name = \"d\"\n[defaults]\ndepth = 2\nwidth = 4\nepochs = 1\nseeds = [0, 1]\n\
         [experiments.a]\ndataset = { name = \"xor\", samples = 100 }\n\
         [experiments.b]\ndataset = { name = \"mnist\", train_limit = 500, test_limit = 50 }\n",
    );
    let text = stdout(&["datasets", "sweep.toml"], dir.path());
    let own = &text[text
        .find("datasets of sweep.toml:")
        .expect("the file's part")..];
    assert!(
        own.contains("xor: 80 train / 20 test rows, 2 inputs, 2 classes"),
        "{own}"
    );
    assert!(
        own.contains("mnist: 500 train / 50 test rows, 784 inputs, 10 classes"),
        "{own}"
    );
    // One line per distinct dataset, not per job.
    assert_eq!(own.matches("xor: ").count(), 1, "{own}");
}

#[test]
fn every_kind_is_documented_with_its_keys_and_planable() {
    let docs =
        std::fs::read_to_string(common::root().join("docs/datasets.md")).expect("docs/datasets.md");
    for &name in DatasetConfig::NAMES {
        assert!(
            docs.contains(&format!("`{name}`")),
            "docs/datasets.md does not name the kind `{name}`"
        );
        for key in DatasetConfig::SCHEMA.keys_for(name) {
            assert!(
                docs.contains(&format!("`{key}`")),
                "docs/datasets.md does not name `{key}`, a key of `{name}`"
            );
        }
        // Planable: a sweep file naming the kind plans, its jobs on that kind.
        let (dataset, loss) = match name {
            "table" => (
                format!(
                    "{{ name = 'table', path = '{}', target = 'label' }}",
                    common::root().join("examples/data/digits.csv").display()
                ),
                "cross_entropy",
            ),
            "identity" => ("'identity'".to_string(), "mse"),
            _ => (format!("'{name}'"), "cross_entropy"),
        };
        let text = format!("[experiments.e]\ndataset = {dataset}\nloss = '{loss}'\n");
        let (_, plan) = common::plan_text(&text);
        assert_eq!(plan.jobs[0].config.dataset.name(), name);
    }
}
