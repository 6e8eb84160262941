//! Formula DAG to a flat register program of `f32` operations.
//!
//! A [`Program`] is a list of operations on registers; each register is a
//! chunk of [`LANES`] values. Evaluating a slice walks it chunk by chunk: load
//! `x` (and per-unit parameter values) into their registers, run the
//! operations (each a tight loop over the lanes that the compiler
//! vectorises), copy the output registers out. Constants are written into
//! their registers once per call. The register file is the only allocation,
//! once per call; nothing is allocated or walked recursively per element.
//!
//! One program computes several outputs at once (the value, d/dx and the
//! derivatives for the learnable parameters), sharing every common
//! sub-expression: forward and backward information in a single pass.
//!
//! The functions (exp, expm1, ln, tanh, erf, erfc, atan, ...) come from [`super::vecmath`]:
//! branch-free approximations with measured error bounds, which the
//! compiler vectorises across a register, where libm would be called once
//! per element. On x86-64 processors with AVX2 and FMA the chunk loop is
//! compiled a second time for them and chosen at run time; the operations
//! are element by element and never contracted into fused multiply-adds, so
//! both versions give bit-identical results. [`Math::Libm`] keeps the
//! per-element libm kernels as a reference for tests and benchmarks.

use super::vecmath;
use super::{Cmp, Fn1, Fn2, Graph, Id, Node};
#[cfg(target_arch = "x86_64")]
use crate::simd::has_avx2_fma;

/// Values per register; a chunk of a slice is evaluated at once.
pub const LANES: usize = 256;

type Reg = [f32; LANES];

#[derive(Debug, Clone, Copy)]
enum Op {
    Un(Fn1, u32, u32),
    Bin(Fn2, u32, u32, u32),
    Where(Cmp, u32, u32, u32, u32, u32),
}

/// Which kernels evaluate the functions of a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Math {
    /// The vectorised approximations of [`super::vecmath`] (the default).
    #[default]
    Vector,
    /// libm, one call per element: the reference the approximations are
    /// measured against in benchmarks.
    Libm,
}

/// A compiled set of outputs of one formula.
#[derive(Debug, Clone)]
pub struct Program {
    math: Math,
    ops: Vec<Op>,
    nregs: usize,
    consts: Vec<(u32, f32)>,
    x_reg: Option<u32>,
    /// Register of each learnable parameter, if the program reads it.
    param_regs: Vec<Option<u32>>,
    outputs: Vec<u32>,
}

/// Where the learnable parameters' values come from.
#[derive(Debug, Clone, Copy)]
pub enum Params<'a> {
    /// One value per parameter, for every element.
    Scalar(&'a [f32]),
    /// One slice per parameter with one value per unit (column); the input
    /// is a row-major `(batch, units)` matrix.
    PerUnit(&'a [&'a [f32]]),
}

impl Program {
    /// Compiles the nodes `outputs` of `g` (and what they depend on);
    /// `nparams` is the number of learnable parameters.
    pub fn new(g: &Graph, outputs: &[Id], nparams: usize) -> Program {
        let live = g.live(outputs);
        let top = live.len();
        let mut reg = vec![u32::MAX; top];
        let mut p = Program {
            math: Math::Vector,
            ops: Vec::new(),
            nregs: 0,
            consts: Vec::new(),
            x_reg: None,
            param_regs: vec![None; nparams],
            outputs: Vec::new(),
        };
        for i in 0..top {
            if !live[i] {
                continue;
            }
            let r = p.nregs as u32;
            p.nregs += 1;
            reg[i] = r;
            let rg = |k: Id| reg[k as usize];
            match g.node(i as Id) {
                Node::Const(b) => p.consts.push((r, f64::from_bits(b) as f32)),
                Node::X => p.x_reg = Some(r),
                Node::Param(k) => {
                    if let Some(slot) = p.param_regs.get_mut(k as usize) {
                        *slot = Some(r);
                    }
                }
                Node::Un(f, a) => p.ops.push(Op::Un(f, r, rg(a))),
                Node::Bin(f, a, b) => p.ops.push(Op::Bin(f, r, rg(a), rg(b))),
                Node::Where(c, l, rr, t, f) => {
                    p.ops.push(Op::Where(c, r, rg(l), rg(rr), rg(t), rg(f)))
                }
            }
        }
        p.outputs = outputs.iter().map(|&o| reg[o as usize]).collect();
        p
    }

    /// The same program with other kernels.
    pub fn with_math(mut self, math: Math) -> Program {
        self.math = math;
        self
    }

    /// Number of operations run per chunk.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the program runs no operation (the outputs are inputs or constants).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Evaluates the program on `x`, writing output k to `outs[k]`.
    ///
    /// With `x = None` the input is read from `outs[0]`, which is then
    /// overwritten in place chunk by chunk.
    ///
    /// # Panics
    /// If the slices' lengths differ, if `outs` does not have one slice per
    /// output, or if the parameters do not match the program (programming
    /// errors, not input errors).
    pub fn eval(&self, x: Option<&[f32]>, params: Params<'_>, outs: &mut [&mut [f32]]) {
        assert_eq!(
            outs.len(),
            self.outputs.len(),
            "one output slice per program output"
        );
        let n = match x {
            Some(x) => x.len(),
            None => outs.first().map_or(0, |o| o.len()),
        };
        for o in outs.iter() {
            assert_eq!(o.len(), n, "output slices must have the input's length");
        }
        if n == 0 {
            return;
        }
        let mut regs: Vec<Reg> = vec![[0.0; LANES]; self.nregs.max(1)];
        for &(r, v) in &self.consts {
            regs[r as usize] = [v; LANES];
        }
        if let Params::PerUnit(vals) = params {
            assert_eq!(
                vals.len(),
                self.param_regs.len(),
                "one slice per learnable parameter"
            );
            let units = vals.first().map_or(n.max(1), |v| v.len());
            assert!(
                vals.iter().all(|v| v.len() == units),
                "parameter slices differ in length"
            );
            assert!(
                units > 0 && n % units == 0,
                "input length must be a multiple of units"
            );
        }
        #[cfg(target_arch = "x86_64")]
        if self.math == Math::Vector && has_avx2_fma() {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            unsafe { self.chunks_avx2(&mut regs, x, params, n, outs) };
            return;
        }
        self.chunks(&mut regs, x, params, n, outs);
    }

    /// [`Program::chunks`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// The processor must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn chunks_avx2(
        &self,
        regs: &mut [Reg],
        x: Option<&[f32]>,
        params: Params<'_>,
        n: usize,
        outs: &mut [&mut [f32]],
    ) {
        self.chunks(regs, x, params, n, outs);
    }

    /// Runs the program over the `n` elements chunk by chunk (the lengths
    /// were checked by [`Program::eval`]).
    #[inline(always)]
    fn chunks(
        &self,
        regs: &mut [Reg],
        x: Option<&[f32]>,
        params: Params<'_>,
        n: usize,
        outs: &mut [&mut [f32]],
    ) {
        match params {
            Params::Scalar(vals) => {
                for (k, r) in self.param_regs.iter().enumerate() {
                    if let Some(r) = r {
                        regs[*r as usize] = [vals[k]; LANES];
                    }
                }
                let mut start = 0;
                while start < n {
                    let len = LANES.min(n - start);
                    self.chunk(regs, x, start, len, outs);
                    start += len;
                }
            }
            Params::PerUnit(vals) => {
                let units = vals.first().map_or(n.max(1), |v| v.len());
                for row in 0..n / units {
                    let mut c = 0;
                    while c < units {
                        let len = LANES.min(units - c);
                        for (k, r) in self.param_regs.iter().enumerate() {
                            if let Some(r) = r {
                                regs[*r as usize][..len].copy_from_slice(&vals[k][c..c + len]);
                            }
                        }
                        self.chunk(regs, x, row * units + c, len, outs);
                        c += len;
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn chunk(
        &self,
        regs: &mut [Reg],
        x: Option<&[f32]>,
        start: usize,
        len: usize,
        outs: &mut [&mut [f32]],
    ) {
        if let Some(xr) = self.x_reg {
            let src = match x {
                Some(x) => &x[start..start + len],
                None => &outs[0][start..start + len],
            };
            regs[xr as usize][..len].copy_from_slice(src);
        }
        for op in &self.ops {
            exec(regs, *op, self.math);
        }
        for (k, &o) in self.outputs.iter().enumerate() {
            outs[k][start..start + len].copy_from_slice(&regs[o as usize][..len]);
        }
    }
}

#[inline(always)]
fn map1(d: &mut Reg, a: &Reg, f: impl Fn(f32) -> f32) {
    for i in 0..LANES {
        d[i] = f(a[i]);
    }
}

#[inline(always)]
fn map2(d: &mut Reg, a: &Reg, b: &Reg, f: impl Fn(f32, f32) -> f32) {
    for i in 0..LANES {
        d[i] = f(a[i], b[i]);
    }
}

#[inline(always)]
fn sel(d: &mut Reg, l: &Reg, r: &Reg, t: &Reg, f: &Reg, c: impl Fn(f32, f32) -> bool) {
    // Branch-free (a mask, not a jump): signs of real activations are
    // unpredictable, and this form vectorises.
    for i in 0..LANES {
        let m = (c(l[i], r[i]) as u32).wrapping_neg();
        d[i] = f32::from_bits((t[i].to_bits() & m) | (f[i].to_bits() & !m));
    }
}

/// `f(a)` in `f32`, as the kernels compute it.
#[inline(always)]
pub fn f32_un(f: Fn1, a: f32) -> f32 {
    match f {
        Fn1::Neg => -a,
        Fn1::Exp => a.exp(),
        Fn1::Expm1 => a.exp_m1(),
        Fn1::Ln => a.ln(),
        Fn1::Log1p => a.ln_1p(),
        Fn1::Sqrt => a.sqrt(),
        Fn1::Abs => a.abs(),
        Fn1::Sign => {
            if a > 0.0 {
                1.0
            } else if a < 0.0 {
                -1.0
            } else {
                a * 0.0
            }
        }
        Fn1::Step => {
            if a > 0.0 {
                1.0
            } else {
                a * 0.0
            }
        }
        Fn1::Sin => a.sin(),
        Fn1::Cos => a.cos(),
        Fn1::Tanh => a.tanh(),
        Fn1::Sigmoid => 1.0 / (1.0 + (-a).exp()),
        Fn1::Softplus => a.max(0.0) + (-a.abs()).exp().ln_1p(),
        Fn1::Erf => libm::erff(a),
        Fn1::Erfc => libm::erfcf(a),
        Fn1::Atan => a.atan(),
    }
}

#[inline(always)]
fn exec(regs: &mut [Reg], op: Op, math: Math) {
    match op {
        Op::Un(f, d, a) => {
            let (lo, hi) = regs.split_at_mut(d as usize);
            let (d, a) = (&mut hi[0], &lo[a as usize]);
            if math == Math::Libm {
                map1(d, a, |v| f32_un(f, v));
                return;
            }
            match f {
                Fn1::Neg => map1(d, a, |v| -v),
                Fn1::Abs => map1(d, a, f32::abs),
                Fn1::Sqrt => map1(d, a, f32::sqrt),
                Fn1::Sign => map1(d, a, |v| f32_un(Fn1::Sign, v)),
                Fn1::Step => map1(d, a, |v| if v > 0.0 { 1.0 } else { 0.0 }),
                Fn1::Exp => map1(d, a, vecmath::exp),
                Fn1::Expm1 => map1(d, a, vecmath::expm1),
                Fn1::Ln => map1(d, a, vecmath::ln),
                Fn1::Log1p => map1(d, a, vecmath::log1p),
                Fn1::Tanh => map1(d, a, vecmath::tanh),
                Fn1::Sigmoid => map1(d, a, vecmath::sigmoid),
                Fn1::Softplus => map1(d, a, vecmath::softplus),
                Fn1::Erf => map1(d, a, vecmath::erf),
                Fn1::Erfc => map1(d, a, vecmath::erfc),
                Fn1::Atan => map1(d, a, vecmath::atan),
                Fn1::Sin => vecmath::sin_slice(a, d),
                Fn1::Cos => vecmath::cos_slice(a, d),
            }
        }
        Op::Bin(f, d, a, b) => {
            let (lo, hi) = regs.split_at_mut(d as usize);
            let (d, a, b) = (&mut hi[0], &lo[a as usize], &lo[b as usize]);
            match f {
                Fn2::Add => map2(d, a, b, |x, y| x + y),
                Fn2::Sub => map2(d, a, b, |x, y| x - y),
                Fn2::Mul => map2(d, a, b, |x, y| x * y),
                Fn2::Div => map2(d, a, b, |x, y| x / y),
                Fn2::Pow if math == Math::Libm => map2(d, a, b, f32::powf),
                Fn2::Pow => vecmath::pow_slice(a, b, d),
            }
        }
        Op::Where(c, d, l, r, t, f) => {
            let (lo, hi) = regs.split_at_mut(d as usize);
            let (d, l, r, t, f) = (
                &mut hi[0],
                &lo[l as usize],
                &lo[r as usize],
                &lo[t as usize],
                &lo[f as usize],
            );
            match c {
                Cmp::Lt => sel(d, l, r, t, f, |a, b| a < b),
                Cmp::Le => sel(d, l, r, t, f, |a, b| a <= b),
                Cmp::Gt => sel(d, l, r, t, f, |a, b| a > b),
                Cmp::Ge => sel(d, l, r, t, f, |a, b| a >= b),
                Cmp::Eq => sel(d, l, r, t, f, |a, b| a == b),
                Cmp::Ne => sel(d, l, r, t, f, |a, b| a != b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::parse::{parse, Binding};
    use super::*;

    #[test]
    fn chunked_evaluation_matches_the_interpreter_across_chunk_edges() {
        let mut g = Graph::new();
        let root = parse(
            "x * sigmoid(x) + clamp(x, -1, 1)^2",
            &BTreeMap::<String, Binding>::new(),
            &mut g,
        )
        .unwrap();
        let prog = Program::new(&g, &[root], 0);
        let xs: Vec<f32> = (0..3 * LANES + 5).map(|i| i as f32 * 0.05 - 5.0).collect();
        let mut out = vec![0.0; xs.len()];
        prog.eval(Some(&xs), Params::Scalar(&[]), &mut [&mut out]);
        for (x, y) in xs.iter().zip(&out) {
            let want = g.eval(&[root], *x as f64, &[])[0];
            assert!((*y as f64 - want).abs() < 1e-5, "at {x}: {y} vs {want}");
        }
    }
}
