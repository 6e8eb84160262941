//! The generated CUDA source of every built-in, compiled as plain C by the
//! host's C compiler (`cc`, which every Rust build on this platform has),
//! against the CPU kernels on a dense grid: the code generator's arithmetic,
//! checked without a GPU. (Compiling the same source with NVRTC for the
//! device is `scripts/nvrtc-check.sh`; running it is the GPU check's.)
//!
//! The two sides compute the same expression DAG node by node in `f32`, but
//! with different functions (C's libm here, the vectorised approximations
//! there, each within a few ulp), so they agree to rounding, not to the bit:
//! every output must be within [`REL`] of the CPU kernel's value plus
//! [`ABS`] of the largest magnitude of that output on the grid.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use actsweep::activation::{cuda, Compiled, Library};

/// Relative tolerance per output.
const REL: f64 = 1e-6;
/// Absolute tolerance, relative to the output's largest magnitude on the grid.
const ABS: f64 = 5e-8;

/// 40,001 points: every 0.001 of [-20, 20], computed in f64 and rounded,
/// plus values near 0 where expm1 and log1p matter.
fn grid() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=40_000)
        .map(|i| (-20.0 + f64::from(i) * 1e-3) as f32)
        .collect();
    xs.extend([1e-30f32, -1e-30, 3e-8, -3e-8, 1e-4, -1e-4, 0.0, -0.0]);
    xs
}

/// A C program that reads x as hex bits, one per line, and prints the
/// element function `actsweep_all`'s outputs as hex bits.
fn harness(source: &str, outputs: usize, params: &[f32]) -> String {
    let mut p = String::from("{");
    for v in params {
        let _ = write!(p, "as_bits(0x{:08x}u), ", v.to_bits());
    }
    p.push_str("0.0f}");
    format!(
        r#"{source}
#include <stdio.h>
int main(void) {{
    unsigned int bits;
    const float p[] = {p};
    float o[{outputs}];
    while (scanf("%x", &bits) == 1) {{
        actsweep_all(as_bits(bits), p, o);
        for (int k = 0; k < {outputs}; ++k) {{
            unsigned int b; memcpy(&b, &o[k], sizeof b); printf("%08x ", b);
        }}
        printf("\n");
    }}
    return 0;
}}
"#
    )
}

/// Compiles `program` with `cc` in `dir` and runs it on `xs`: one row of
/// outputs per x.
fn run_c(dir: &Path, program: &str, xs: &[f32]) -> Vec<Vec<f32>> {
    let src = dir.join("harness.c");
    let exe = dir.join("harness");
    std::fs::write(&src, program).unwrap();
    let cc = Command::new("cc")
        .args(["-std=c11", "-O1", "-ffp-contract=off", "-fno-fast-math"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-lm")
        .output()
        .expect("the host's C compiler `cc` runs");
    assert!(
        cc.status.success(),
        "cc failed on the generated source:\n{}\n{program}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let input: String = xs
        .iter()
        .map(|x| format!("{:08x}\n", x.to_bits()))
        .collect();
    let inp = dir.join("x.txt");
    std::fs::write(&inp, input).unwrap();
    let out = Command::new(&exe)
        .stdin(std::fs::File::open(&inp).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|h| f32::from_bits(u32::from_str_radix(h, 16).unwrap()))
                .collect()
        })
        .collect()
}

/// The CPU kernels' outputs at `xs`: value, d/dx, then each d/dp.
fn cpu(c: &Compiled, xs: &[f32]) -> Vec<Vec<f32>> {
    let n = xs.len();
    let np = c.learnable().len();
    let pv: Vec<Vec<f32>> = c.initial_params().iter().map(|&v| vec![v]).collect();
    let ps: Vec<&[f32]> = pv.iter().map(Vec::as_slice).collect();
    let (mut f, mut d) = (vec![0.0; n], vec![0.0; n]);
    let mut dps = vec![vec![0.0; n]; np];
    let mut dpm: Vec<&mut [f32]> = dps.iter_mut().map(Vec::as_mut_slice).collect();
    c.forward_grad_units(xs, &ps, &mut f, &mut d, &mut dpm);
    let mut cols = vec![f, d];
    cols.extend(dps);
    cols
}

/// The largest difference beyond the tolerance, as (how many times the
/// allowed difference, x, output index, C's value, the CPU's value).
fn worst(xs: &[f32], c_rows: &[Vec<f32>], cpu_cols: &[Vec<f32>]) -> (f64, f32, usize, f32, f32) {
    let mut worst = (0.0, 0.0, 0, 0.0, 0.0);
    for (k, col) in cpu_cols.iter().enumerate() {
        let scale = col
            .iter()
            .map(|v| f64::from(v.abs()))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        for (i, (&want, &x)) in col.iter().zip(xs).enumerate() {
            let got = c_rows[i][k];
            let (g, w) = (f64::from(got), f64::from(want));
            let excess = if w.is_finite() {
                (g - w).abs() / (REL * w.abs() + ABS * scale).max(f64::MIN_POSITIVE)
            } else if got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()) {
                0.0
            } else {
                f64::INFINITY
            };
            if excess.is_nan() || excess > worst.0 {
                worst = (excess, x, k, got, want);
            }
        }
    }
    worst
}

#[test]
fn generated_source_computes_what_the_cpu_kernels_compute_for_every_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let xs = grid();
    let mut failures = Vec::new();
    for def in Library::builtin().iter() {
        let c = Compiled::new(&def.config()).unwrap();
        let outputs = 2 + c.learnable().len();
        let program = harness(&cuda::source_of(&c), outputs, c.initial_params());
        let got = run_c(dir.path(), &program, &xs);
        assert_eq!(got.len(), xs.len(), "{}", def.name);
        let (excess, x, k, g, w) = worst(&xs, &got, &cpu(&c, &xs));
        println!(
            "{:<11} worst {excess:.3} of the tolerance (output {k} at x = {x})",
            def.name
        );
        if excess.is_nan() || excess > 1.0 {
            failures.push(format!(
                "{}: output {k} at x = {x}: generated C gives {g}, the CPU kernel {w}",
                def.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_learnable_parameter_is_read_per_unit_and_differentiated() {
    // prelu's d/da is x below 0 and 0 above; with a = 0.5 the value is x/2.
    let dir = tempfile::tempdir().unwrap();
    let library = Library::builtin();
    let mut cfg = library.get("prelu").unwrap().config();
    cfg.params.insert("a".into(), 0.5);
    let c = Compiled::new(&cfg).unwrap();
    let got = run_c(
        dir.path(),
        &harness(&cuda::source_of(&c), 3, &[0.5]),
        &[-3.0, 2.0],
    );
    assert_eq!(got, [vec![-1.5, 0.5, -3.0], vec![2.0, 1.0, 0.0]]);
}
