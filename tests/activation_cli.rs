//! `actsweep activations` through the real binary: the listing, plots, and
//! the messages for bad formulas in a sweep file (snapshot-tested).

mod common;

use assert_cmd::prelude::*;
use tempfile::TempDir;

fn sweep(dir: &TempDir, activations: &str) {
    let text = format!("name = \"t\"\n\n{activations}\n[experiments.main]\n");
    std::fs::write(dir.path().join("sweep.toml"), text).unwrap();
}

fn error_for(activations: &str) -> String {
    let dir = TempDir::new().unwrap();
    sweep(&dir, activations);
    let out = common::actsweep(dir.path())
        .args(["activations", "sweep.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn activation_listing_shows_builtins() {
    let dir = TempDir::new().unwrap();
    let out = common::actsweep(dir.path())
        .arg("activations")
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    insta::assert_snapshot!("activation_listing", text);
}

#[test]
fn activation_listing_includes_the_files_activations() {
    let dir = TempDir::new().unwrap();
    sweep(
        &dir,
        "[activations.bent]\nformula = \"x + k * (sqrt(x^2 + 1) - 1)\"\nparams = { k = 0.5 }\ndescription = \"Bent identity.\"\n",
    );
    let out = common::actsweep(dir.path())
        .args(["activations", "sweep.toml"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("bent  (from the sweep file)\n  formula: x + k * (sqrt(x^2 + 1) - 1)\n  params:  k = 0.5\n  Bent identity."), "{text}");
    assert!(text.contains("relu  (built-in)"), "{text}");
}

#[test]
fn activation_plot_writes_png_and_svg() {
    let dir = TempDir::new().unwrap();
    common::actsweep(dir.path())
        .args(["activations", "--plot", "a.png"])
        .assert()
        .success();
    let png = std::fs::read(dir.path().join("a.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    common::actsweep(dir.path())
        .args(["activations", "--plot", "a.svg"])
        .assert()
        .success();
    let svg = std::fs::read_to_string(dir.path().join("a.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("gelu_tanh"),
        "the SVG names every panel"
    );
}

#[test]
fn activation_plot_rejects_unknown_extensions() {
    let dir = TempDir::new().unwrap();
    let out = common::actsweep(dir.path())
        .args(["activations", "--plot", "a.jpg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(
        "activation_plot_bad_extension",
        String::from_utf8(out.stderr).unwrap()
    );
}

#[test]
fn activation_error_syntax() {
    insta::assert_snapshot!(error_for("[activations.bad]\nformula = \"x * (1 + x\"\n"));
}

#[test]
fn activation_error_unknown_function() {
    insta::assert_snapshot!(error_for(
        "[activations.bad]\nformula = \"x * sigmod(x)\"\n"
    ));
}

#[test]
fn activation_error_unknown_parameter() {
    insta::assert_snapshot!(error_for(
        "[activations.bad]\nformula = 'where(x > 0, x, alpah * x)'\nparams = { alpha = 0.1 }\n"
    ));
}

#[test]
fn activation_error_wrong_arity() {
    insta::assert_snapshot!(error_for("[activations.bad]\nformula = \"clamp(x, 0)\"\n"));
}

#[test]
fn activation_error_learnable_not_a_parameter() {
    insta::assert_snapshot!(error_for(
        "[activations.bad]\nformula = \"where(x > 0, x, a * x)\"\nparams = { alpha = 0.1 }\nlearnable = [\"a\"]\n"
    ));
}

#[test]
fn activation_error_nonfinite() {
    insta::assert_snapshot!(error_for("[activations.bad]\nformula = \"ln(x)\"\n"));
}

#[test]
fn activation_nonfinite_allowed_when_declared() {
    let dir = TempDir::new().unwrap();
    sweep(
        &dir,
        "[activations.log]\nformula = \"ln(x)\"\nallow_nonfinite = true\n",
    );
    common::actsweep(dir.path())
        .args(["activations", "sweep.toml"])
        .assert()
        .success();
}
