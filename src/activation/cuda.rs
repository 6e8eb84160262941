//! CUDA C source for an activation: its value and derivatives as device
//! kernels, generated from the same expression DAG the CPU kernels run.
//!
//! Why generated source: dfdx 0.13 keeps its CUDA kernel traits and a
//! tensor's device buffer crate-private, so a formula cannot become a dfdx
//! op on the device, and lowering it to dfdx's own element-wise ops would
//! launch one kernel (and allocate one buffer) per node of the formula and
//! again per node of each derivative. NVRTC compiles one kernel per
//! activation at run time instead, and that kernel computes the value, d/dx
//! and the derivatives for the learnable parameters in one pass, sharing
//! every common sub-expression, as the CPU [`super::formula::compile::Program`] does.
//!
//! What the source holds, for an activation with `P` learnable parameters:
//! - `actsweep_value`, `actsweep_value_dx`, `actsweep_all`: the element
//!   functions (device functions, or plain C ones outside CUDA), one per output set the CPU kernels
//!   have, each writing its outputs to `o[]` (value, d/dx, then d/dp_k) from
//!   `x` and the element's parameter values `p[]`;
//! - three `extern "C"` kernels of the same names with a `_kernel` suffix
//!   over `n` elements of a row-major `rows × units` matrix, the parameter
//!   `k` of unit `j` at `params[k * units + j]` and its per-element
//!   derivative written to `dparams[k * n + i]` (the reduction over rows is
//!   the layer's, as on the CPU).
//!
//! The arithmetic is the formula's, node by node, in `f32`; the functions
//! are CUDA's (`expf`, `log1pf`, `erfcf`, ...) with the same conventions as
//! the CPU kernels (sign(0) = 0, step(0) = 0, sigmoid and softplus in their
//! non-overflowing forms). Constants are written as their bit patterns, so
//! no decimal rounding comes between the formula and the kernel. Compile
//! with `--fmad=false` (see [`NVRTC_OPTIONS`]): the CPU kernels never fuse a
//! multiply and an add, and neither should the device's.
//!
//! Outside `nvcc`/NVRTC the same source is plain C (the preamble defines the
//! CUDA qualifiers away and includes `<math.h>`), so the tests compile it
//! with the host's C compiler and hold its arithmetic against the CPU
//! kernels on a dense grid.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::formula::{Cmp, Fn1, Fn2, Graph, Id, Node};
use super::{Compiled, FormulaError, Library};

/// The options the generated source is meant to be compiled with (NVRTC's
/// spelling; the architecture is added by the caller). The source names
/// them in its second line, `// nvrtc options: ...`, and the learnable
/// parameters' initial values in its third, `// learnable initial values:
/// a=2.5e-1 ...`, where `scripts/cuda_kernels.py` reads them.
pub const NVRTC_OPTIONS: &[&str] = &["--fmad=false", "--std=c++17"];

/// Names of the three element functions and, with `_kernel`, their kernels:
/// value; value and d/dx; value, d/dx and every d/dp.
pub const ENTRY_POINTS: [&str; 3] = ["actsweep_value", "actsweep_value_dx", "actsweep_all"];

/// Shared by every generated source: qualifiers for a host compiler, the
/// bit-pattern constants and the functions with the CPU kernels' conventions.
const PREAMBLE: &str = r#"#ifdef __CUDACC__
#define AS_FN static __device__ __forceinline__
static __device__ __forceinline__ float as_bits(unsigned int u) { return __uint_as_float(u); }
#else
#include <math.h>
#include <string.h>
#define __global__
#define AS_FN static inline
static inline float as_bits(unsigned int u) { float f; memcpy(&f, &u, sizeof f); return f; }
#endif
AS_FN float as_sigmoid(float a) { float e = expf(-fabsf(a)); return (a < 0.0f ? e : 1.0f) / (1.0f + e); }
AS_FN float as_softplus(float a) { return (a > 0.0f ? a : 0.0f) + log1pf(expf(-fabsf(a))); }
AS_FN float as_sign(float a) { return a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : a * 0.0f); }
AS_FN float as_step(float a) { return a > 0.0f ? 1.0f : a * 0.0f; }
"#;

/// The CUDA C source of `c`'s kernels (see the module docs).
pub fn source_of(c: &Compiled) -> String {
    let (graph, roots) = c.graph_roots();
    let np = c.learnable().len();
    let mut s = format!(
        "// actsweep: the kernels of activation `{}` ({} learnable parameter{}).\n",
        c.name(),
        np,
        if np == 1 { "" } else { "s" }
    );
    let _ = writeln!(s, "// nvrtc options: {}", NVRTC_OPTIONS.join(" "));
    // The values the CPU kernels take when none are given (what a table of
    // `activations --values` was computed with).
    let initial: Vec<String> = c
        .learnable()
        .iter()
        .zip(c.initial_params())
        .map(|(name, v)| format!("{name}={v:e}"))
        .collect();
    let _ = writeln!(s, "// learnable initial values: {}", initial.join(" "));
    s.push_str(PREAMBLE);
    // Value; value and d/dx; everything.
    let sets = [&roots[..1], &roots[..2], roots];
    for (name, outputs) in ENTRY_POINTS.iter().zip(sets) {
        element_function(&mut s, name, graph, outputs);
        kernel(&mut s, name, outputs.len(), np);
    }
    s
}

/// `AS_FN void NAME(float x, const float* p, float* o)`: one SSA variable per
/// live node, in id order (a topological order), then the outputs.
fn element_function(s: &mut String, name: &str, g: &Graph, outputs: &[Id]) {
    let live = g.live(outputs);
    let _ = writeln!(s, "AS_FN void {name}(float x, const float* p, float* o) {{");
    s.push_str("    (void)x; (void)p;\n");
    for (i, _) in live.iter().enumerate().filter(|(_, l)| **l) {
        let _ = writeln!(s, "    const float v{i} = {};", expression(g, i as Id));
    }
    for (k, o) in outputs.iter().enumerate() {
        let _ = writeln!(s, "    o[{k}] = v{o};");
    }
    s.push_str("}\n");
}

/// The right-hand side for node `id`, in terms of earlier nodes' variables.
fn expression(g: &Graph, id: Id) -> String {
    match g.node(id) {
        Node::Const(bits) => {
            let v = f64::from_bits(bits) as f32;
            format!("as_bits(0x{:08x}u) /* {v:e} */", v.to_bits())
        }
        Node::X => "x".into(),
        Node::Param(k) => format!("p[{k}]"),
        Node::Un(Fn1::Neg, a) => format!("-v{a}"),
        Node::Un(f, a) => format!("{}(v{a})", function(f)),
        Node::Bin(Fn2::Pow, a, b) => format!("powf(v{a}, v{b})"),
        Node::Bin(f, a, b) => {
            let op = match f {
                Fn2::Add => "+",
                Fn2::Sub => "-",
                Fn2::Mul => "*",
                Fn2::Div => "/",
                Fn2::Pow => unreachable!("handled above"),
            };
            format!("v{a} {op} v{b}")
        }
        Node::Where(c, l, r, t, f) => format!("(v{l} {} v{r}) ? v{t} : v{f}", comparison(c)),
    }
}

/// The C function computing `f` (unary minus is written as an operator).
fn function(f: Fn1) -> &'static str {
    match f {
        Fn1::Neg => "-",
        Fn1::Exp => "expf",
        Fn1::Expm1 => "expm1f",
        Fn1::Ln => "logf",
        Fn1::Log1p => "log1pf",
        Fn1::Sqrt => "sqrtf",
        Fn1::Abs => "fabsf",
        Fn1::Sign => "as_sign",
        Fn1::Step => "as_step",
        Fn1::Sin => "sinf",
        Fn1::Cos => "cosf",
        Fn1::Tanh => "tanhf",
        Fn1::Sigmoid => "as_sigmoid",
        Fn1::Softplus => "as_softplus",
        Fn1::Erf => "erff",
        Fn1::Erfc => "erfcf",
        Fn1::Atan => "atanf",
    }
}

fn comparison(c: Cmp) -> &'static str {
    match c {
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
    }
}

/// The kernel over `n` elements calling the element function `name`, which
/// reads `np` parameters and writes `outputs` values: the value to `out`,
/// d/dx to `dx`, the d/dp to `dparams` (the pointers a kernel does not use
/// may be null).
fn kernel(s: &mut String, name: &str, outputs: usize, np: usize) {
    let _ = write!(
        s,
        r#"#ifdef __CUDACC__
extern "C" __global__ void {name}_kernel(const float* x, float* out, float* dx,
        const float* params, float* dparams, unsigned long long n, unsigned int units) {{
    float p[{slots}];
    float o[{outputs}];
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)gridDim.x * blockDim.x) {{
        const unsigned int unit = (unsigned int)(i % units);
        for (unsigned int k = 0; k < {np}u; ++k) p[k] = params[(unsigned long long)k * units + unit];
        {name}(x[i], p, o);
        out[i] = o[0];
{rest}    }}
}}
#endif
"#,
        slots = np.max(1),
        rest = kernel_stores(outputs),
    );
}

/// The stores after the value: d/dx, then each d/dp.
fn kernel_stores(outputs: usize) -> String {
    let mut s = String::new();
    if outputs > 1 {
        s.push_str("        dx[i] = o[1];\n");
    }
    for k in 2..outputs {
        let _ = writeln!(s, "        dparams[{}ULL * n + i] = o[{k}];", k - 2);
    }
    s
}

/// Writes `dir/NAME.cu` for every activation of `library` (creating `dir`);
/// returns how many.
pub fn write_sources(library: &Library, dir: &Path) -> Result<usize, CudaSourceError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CudaSourceError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut n = 0;
    for def in library.iter() {
        let c = Compiled::new(&def.config()).map_err(|source| CudaSourceError::Formula {
            name: def.name.clone(),
            source,
        })?;
        let path = dir.join(format!("{}.cu", def.name));
        crate::atomic::write(&path, source_of(&c).as_bytes()).map_err(io(&path))?;
        n += 1;
    }
    Ok(n)
}

/// Why [`write_sources`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CudaSourceError {
    /// A definition did not compile.
    #[error("activation {name}: {source}")]
    Formula {
        /// The activation.
        name: String,
        /// What is wrong with it.
        source: FormulaError,
    },
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::compiled::test_config;

    #[test]
    fn the_source_has_every_entry_point_and_the_outputs_in_order() {
        let c = Compiled::new(&test_config(
            "where(x > 0, x, a * x) * 0.25",
            &[("a", 0.5)],
            &["a"],
        ))
        .unwrap();
        let s = source_of(&c);
        for name in ENTRY_POINTS {
            assert!(s.contains(&format!("AS_FN void {name}(float x")), "{name}");
            assert!(s.contains(&format!("void {name}_kernel(")), "{name}");
        }
        // The full set writes the value, d/dx and d/da.
        assert!(s.contains("dparams[0ULL * n + i] = o[2];"), "{s}");
        assert!(s.contains("p[0]"), "{s}");
        // 0.25 is written as its bits.
        assert!(s.contains("as_bits(0x3e800000u)"), "{s}");
    }

    #[test]
    fn a_node_the_outputs_do_not_need_is_not_written() {
        // d/dx of x^2 + 3 does not need the constant 3, but the value does.
        let c = Compiled::new(&test_config("x^2 + 3", &[], &[])).unwrap();
        let s = source_of(&c);
        let value_only = s.split("AS_FN void actsweep_value(").nth(1).unwrap();
        let value_only = value_only.split('}').next().unwrap();
        assert!(value_only.contains("0x40400000u"), "{value_only}");
        assert!(!value_only.contains("0x40000000u"), "{value_only}");
    }
}
