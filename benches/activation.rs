//! Formula activations vs dfdx's native ops: forward + backward on the CPU.
//!
//! Run with `cargo bench --bench activation`. A small harness (no criterion):
//! each sample times enough iterations to last a few milliseconds, the
//! variants are interleaved sample by sample (so load on the machine hits all
//! alike), and the median of the samples is reported.
//!
//! One iteration: trace the input, apply the activation, sum, backward. The
//! `baseline` row does the same without an activation (trace, sum, backward);
//! the "activation only" ratio subtracts it from both sides. Each formula's
//! peer is dfdx's native op (or its composition); arctan, which dfdx lacks,
//! is held against the same op running the per-element libm kernels.

use std::hint::black_box;
use std::time::Instant;

use actsweep::activation::{Compiled, Library};
use dfdx::prelude::*;

type M<T> = Tensor<(usize, usize), f32, Cpu, T>;
type Taped = OwnedTape<f32, Cpu>;
type Act<'a> = Box<dyn Fn(M<Taped>) -> M<Taped> + 'a>;

fn compiled(name: &str) -> Compiled {
    let def = Library::builtin().get(name).cloned().expect("built-in");
    Compiled::new(&def.config()).expect("built-ins compile")
}

fn step(x: &M<NoneTape>, f: &dyn Fn(M<Taped>) -> M<Taped>) -> f32 {
    let y = f(x.leaky_trace());
    let loss = y.sum::<Rank0, _>();
    let v = loss.array();
    let g = loss.backward();
    black_box(&g);
    v
}

fn softsign_native(x: M<Taped>) -> M<Taped> {
    let denom = x.with_empty_tape().abs() + 1.0;
    x / denom
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // Test runners (`cargo test --benches`, nextest's `--list`) start bench
    // binaries too; this harness has no tests, and measures only under
    // `cargo bench` (which passes `--bench`).
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let dev = Cpu::default();
    let relu = compiled("relu");
    let gelu = compiled("gelu");
    let softsign = compiled("softsign");
    let tanh = compiled("tanh");
    let arctan = compiled("arctan");
    // dfdx has no atan: arctan's peer is the same fused op with the
    // per-element libm kernels the formula op used before its math was
    // vectorised.
    let arctan_libm = compiled("arctan").with_reference_math();
    let samples = 31;
    println!(
        "formula activations vs dfdx native, forward + backward (median of {samples} samples)"
    );
    // (label, peer's variant index, formula's variant index)
    let pairs = [
        ("relu", 1, 2),
        ("gelu", 3, 4),
        ("softsign", 5, 6),
        ("tanh", 7, 8),
        ("arctan", 9, 10),
    ];
    for (rows, cols) in [(64usize, 256usize), (4096, 256)] {
        let x: M<NoneTape> = dev.sample_normal_like(&(rows, cols));
        let variants: Vec<(&str, Act)> = vec![
            ("baseline (no activation)", Box::new(|x: M<Taped>| x)),
            ("native relu()", Box::new(|x: M<Taped>| x.relu())),
            ("formula relu", Box::new(|x: M<Taped>| relu.apply(x))),
            (
                "native accurate_gelu()",
                Box::new(|x: M<Taped>| x.accurate_gelu()),
            ),
            ("formula gelu", Box::new(|x: M<Taped>| gelu.apply(x))),
            ("native x / (|x| + 1)", Box::new(softsign_native)),
            (
                "formula softsign",
                Box::new(|x: M<Taped>| softsign.apply(x)),
            ),
            ("native tanh()", Box::new(|x: M<Taped>| x.tanh())),
            ("formula tanh", Box::new(|x: M<Taped>| tanh.apply(x))),
            (
                "arctan, libm per element",
                Box::new(|x: M<Taped>| arctan_libm.apply(x)),
            ),
            ("formula arctan", Box::new(|x: M<Taped>| arctan.apply(x))),
        ];
        // Warm up and pick iterations per sample (~3 ms for the baseline).
        for (_, f) in &variants {
            for _ in 0..3 {
                black_box(step(&x, f.as_ref()));
            }
        }
        let t = Instant::now();
        step(&x, variants[0].1.as_ref());
        let once = t.elapsed().as_secs_f64();
        let iters = ((3e-3 / once.max(1e-7)) as usize).clamp(1, 10_000);
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
        for _ in 0..samples {
            for (k, (_, f)) in variants.iter().enumerate() {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(step(&x, f.as_ref()));
                }
                times[k].push(t.elapsed().as_secs_f64() / iters as f64);
            }
        }
        let med: Vec<f64> = times.into_iter().map(median).collect();
        println!("\n{rows}x{cols} ({iters} iterations per sample)");
        for ((name, _), m) in variants.iter().zip(&med) {
            println!("  {name:<26} {:>10.1} us", m * 1e6);
        }
        let base = med[0];
        for (label, peer, formula) in pairs {
            let r = med[formula] / med[peer];
            let only = (med[formula] - base) / (med[peer] - base);
            println!(
                "  {label:<9} formula / peer: {r:.2}x, peer / formula {:.2}x \
                 (activation only, baseline subtracted: {only:.2}x)",
                1.0 / r
            );
        }
    }
}
