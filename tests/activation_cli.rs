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
fn a_hand_written_derivative_is_listed_and_written_into_the_cuda_source() {
    let dir = TempDir::new().unwrap();
    sweep(
        &dir,
        "[activations.my_silu]\nformula = \"x * sigmoid(x)\"\nderivative = \"sigmoid(x) * (1 + x * sigmoid(-x))\"\n",
    );
    let out = common::actsweep(dir.path())
        .args(["activations", "sweep.toml", "--cuda", "kernels"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("my_silu  (from the sweep file)\n  formula: x * sigmoid(x)\n  derivative: sigmoid(x) * (1 + x * sigmoid(-x))\n"),
        "{text}"
    );
    assert!(text.contains("silu  (built-in)\n  formula: x * sigmoid(beta * x)\n  params:  beta = 1\n  derivative: written by hand"), "{text}");
    // One source per activation, built-ins and the file's.
    let written = std::fs::read_dir(dir.path().join("kernels"))
        .unwrap()
        .count();
    let builtins = actsweep::activation::Library::builtin().iter().count();
    assert_eq!(written, builtins + 1);
    let src = std::fs::read_to_string(dir.path().join("kernels/my_silu.cu")).unwrap();
    assert!(src.contains("void actsweep_value_dx_kernel("), "{src}");
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

/// The rows of one activation in a values table: (x, value, derivative).
fn rows_of(df: &polars::prelude::DataFrame, name: &str) -> Vec<(f32, f32, f32)> {
    let act = df.column("activation").unwrap().str().unwrap();
    let f = |c: &str| df.column(c).unwrap().f32().unwrap().clone();
    let (x, v, d) = (f("x"), f("value"), f("derivative"));
    (0..df.height())
        .filter(|&i| act.get(i) == Some(name))
        .map(|i| (x.get(i).unwrap(), v.get(i).unwrap(), d.get(i).unwrap()))
        .collect()
}

/// |got - want| within `ulps` f32 spacings of `want` (absolute below 1e-30).
fn close(got: f32, want: f64, ulps: f64) -> bool {
    let spacing = (want.abs().max(1e-30) * f64::from(f32::EPSILON)).max(1e-45);
    (f64::from(got) - want).abs() <= ulps * spacing
}

#[test]
fn activation_values_match_independent_formulas() {
    let dir = TempDir::new().unwrap();
    sweep(
        &dir,
        "[activations.scaled_tanh]\nformula = \"s * tanh(x)\"\nparams = { s = 1.5 }\nlearnable = [\"s\"]\n",
    );
    common::succeed(common::actsweep(dir.path()).args([
        "activations",
        "sweep.toml",
        "--values",
        "v.parquet",
        "--range",
        "-8,8",
        "--points",
        "1601",
    ]));
    let df = common::read(&dir.path().join("v.parquet"));
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        ["activation", "x", "value", "derivative", "d_a", "d_s"]
    );
    let builtins = actsweep::activation::Library::builtin().iter().count();
    assert_eq!(df.height(), 1601 * (builtins + 1));

    // tanh, against f64 closed forms: f = tanh, f' = 1 / cosh^2.
    let tanh = rows_of(&df, "tanh");
    assert_eq!(tanh.len(), 1601);
    assert_eq!((tanh[0].0, tanh[800].0, tanh[1600].0), (-8.0, 0.0, 8.0));
    for &(x, v, d) in &tanh {
        let x = f64::from(x);
        assert!(close(v, x.tanh(), 4.0), "tanh({x}) = {v}");
        assert!(close(d, 1.0 / x.cosh().powi(2), 8.0), "tanh'({x}) = {d}");
    }
    // elu: f = e^x - 1 below 0 (accurate near 0), f' = e^x.
    for &(x, v, d) in &rows_of(&df, "elu") {
        let x = f64::from(x);
        let (f, df) = if x > 0.0 {
            (x, 1.0)
        } else {
            (x.exp_m1(), x.exp())
        };
        assert!(close(v, f, 4.0), "elu({x}) = {v}, want {f}");
        assert!(close(d, df, 4.0), "elu'({x}) = {d}, want {df}");
    }
    // The file's activation: d/ds of s tanh(x) is tanh(x); null elsewhere.
    let act = df.column("activation").unwrap().str().unwrap();
    let ds = df.column("d_s").unwrap().f32().unwrap();
    let x = df.column("x").unwrap().f32().unwrap();
    for i in 0..df.height() {
        match (act.get(i), ds.get(i)) {
            (Some("scaled_tanh"), Some(g)) => {
                let want = f64::from(x.get(i).unwrap()).tanh();
                assert!(close(g, want, 4.0), "d/ds at {:?}: {g}", x.get(i));
            }
            (Some("scaled_tanh"), None) => panic!("d_s missing for scaled_tanh"),
            (_, g) => assert_eq!(g, None),
        }
    }
}

#[test]
fn activation_values_as_csv() {
    let dir = TempDir::new().unwrap();
    common::succeed(common::actsweep(dir.path()).args([
        "activations",
        "--values",
        "v.CSV",
        "--range",
        "-1,1",
        "--points",
        "3",
    ]));
    let text = std::fs::read_to_string(dir.path().join("v.CSV")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "activation,x,value,derivative,d_a");
    let builtins = actsweep::activation::Library::builtin().iter().count();
    assert_eq!(lines.len(), 1 + 3 * builtins);
    let prelu: Vec<Vec<f32>> = lines
        .iter()
        .filter(|l| l.starts_with("prelu,"))
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(
        prelu,
        [
            vec![-1.0, -0.25, 0.25, -1.0],
            vec![0.0, 0.0, 0.25, 0.0],
            vec![1.0, 1.0, 1.0, 0.0]
        ]
    );
    assert!(text.contains("\nrelu,1.0,1.0,1.0,\n"), "{text}");
}

fn values_error(args: &[&str]) -> String {
    let dir = TempDir::new().unwrap();
    let out = common::actsweep(dir.path())
        .arg("activations")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn activation_values_reject_bad_flags() {
    assert_eq!(
        values_error(&["--values", "v.parquet", "--range", "6,-6"]),
        "error: --range 6,-6: the start must be below the end\n"
    );
    assert_eq!(
        values_error(&["--values", "v.parquet", "--range", "-6"]),
        "error: --range -6: expected two numbers A,B, such as -6,6\n"
    );
    assert_eq!(
        values_error(&["--values", "v.parquet", "--points", "1"]),
        "error: --points 1: need at least 2 points (the two ends of the range) and at most 10000000\n"
    );
    assert_eq!(
        values_error(&["--values", "v.xlsx"]),
        "error: cannot write values to v.xlsx: the file name must end in .parquet or .csv\n"
    );
    let e = values_error(&["--range", "-1,1"]);
    assert!(e.contains("--values <OUT>"), "{e}");
}
