//! Fused dense layers: `act(x·W + b)` as one node on dfdx's tape.
//!
//! Activation studies train many small networks, where a layer's time goes
//! less to the matrix product than to everything around it: dfdx's
//! composition `matmul → broadcast → add → activation` allocates and walks
//! the `rows × units` buffer four times forward and again backward, and its
//! matmul backward always computes the input gradient, which the first layer
//! throws away (about a sixth of an MNIST network's backward work).
//!
//! [`fused`] does the layer in one forward pass on the CPU: one matrix
//! product straight into the output buffer, the bias added and the compiled
//! activation (with its derivatives, when a tape records) run in place over
//! it. Its backward closure computes only what is used: `gz = gy ⊙ f'(z)`,
//! then `gW += xᵀ·gz`, `gb += Σ_rows gz`, the activation parameters'
//! gradients, and `gx = gz·Wᵀ` only when the layer's input needs a gradient
//! (never for the first layer). Gradients are keyed by the parameters'
//! tensors, exactly as dfdx's own ops key them, so the optimizer reads them
//! the same way whichever path produced them.
//!
//! The matrix products call `gemm` (the kernel behind dfdx's CPU matmul)
//! directly, single-threaded: a job already runs on one thread, and calling it
//! here lets the product write into a buffer the layer owns and accumulate
//! into gradients in place. The small products of small networks (an inner
//! dimension of at most 64, or weight gradients of at most 64 × 64) skip
//! `gemm`'s packing and dispatch, which there cost more than the
//! arithmetic: a register-blocked AVX2/FMA kernel sums them in exactly
//! `gemm`'s order, so which of the two ran never shows in a result (tests
//! compare them bit for bit). [`unfused`] is dfdx's composition, the path for
//! other devices and the reference the tests hold the fused op to.
//!
//! The weights are read from the parameters' host copies (the optimizer's
//! source of truth, shared by `Arc` with the backward closure: no copy per
//! step), so the dfdx tensor of a weight is only the key of its gradient on
//! this path.

use std::sync::Arc;

use dfdx::shapes::{Axis, HasShape};
use dfdx::tensor::{Cpu, Merge, NoneTape, PutTape, SplitTape, Tape, TensorFromVec};
use dfdx::tensor_ops::{BroadcastTo, ReshapeTo, TryMatMul};

use super::device::{EngineDevice, Mat, Vector};
use super::network::Param;
use crate::activation::Compiled;
#[cfg(target_arch = "x86_64")]
use crate::simd::has_avx2_fma;

/// One hidden layer's activations `f(z)` and derivatives `f'(z)` on some
/// rows, row-major (the probe set's statistics are computed from them).
pub type ProbeLayer = (Vec<f32>, Vec<f32>);

/// Rows of a batch whose activations and derivatives a fused layer copies
/// out as it computes them (see [`super::network::Trace::keep`]).
pub struct Keep<'a> {
    /// Batch rows, in the order wanted.
    pub rows: &'a [usize],
    /// Where the layer's copy goes.
    pub into: &'a mut Vec<ProbeLayer>,
}

impl Keep<'_> {
    /// Copies the kept rows of `a = f(z)` and `d = f'(z)` (`None`: the
    /// identity's, 1) for a layer of `units`.
    fn take(self, a: &[f32], d: Option<&[f32]>, units: usize) {
        let rows = |v: &[f32]| -> Vec<f32> {
            let mut out = Vec::with_capacity(self.rows.len() * units);
            for &r in self.rows {
                out.extend_from_slice(&v[r * units..(r + 1) * units]);
            }
            out
        };
        let d = match d {
            Some(d) => rows(d),
            None => vec![1.0; self.rows.len() * units],
        };
        self.into.push((rows(a), d));
    }
}

/// The parameters of one dense layer and its activation.
pub struct Dense<'a, D: EngineDevice> {
    /// Weights, `fan_in × fan_out`.
    pub w: &'a Param<D, (usize, usize)>,
    /// Biases, `fan_out`.
    pub b: &'a Param<D, (usize,)>,
    /// The activation, or none for the identity (also when normalisation
    /// comes between the product and the activation).
    pub act: Option<&'a Compiled>,
    /// The activation's learnable parameters (one per unit each), if `act`.
    pub act_params: &'a [Param<D, (usize,)>],
}

/// `c = op(a)·op(b)` (or `c += ...` when `accumulate`) for row-major
/// matrices: `op(a)` is `m × k` (`a` is stored `k × m` when `a_t`), `op(b)`
/// is `k × n` (stored `n × k` when `b_t`), `c` is `m × n`.
///
/// # Panics
/// If a slice's length does not match its shape (a programming error).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    c: &mut [f32],
    accumulate: bool,
) {
    assert_eq!(a.len(), m * k, "lhs length");
    assert_eq!(b.len(), k * n, "rhs length");
    assert_eq!(c.len(), m * n, "dst length");
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if accumulate && small_product((m, k, n), a_t) && has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA (checked just above), and
        // the lengths match the shapes (asserted above).
        unsafe { small_product_fma((m, k, n), a, a_t, b, b_t, c.as_mut_ptr(), None) };
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    gemm_crate((m, k, n), a, a_t, b, b_t, c, accumulate);
}

/// [`gemm`] through the `gemm` crate, whatever the shape (the lengths were
/// checked by the caller).
#[allow(clippy::too_many_arguments)]
fn gemm_crate(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    c: &mut [f32],
    accumulate: bool,
) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    // (row stride, column stride) of each operand as stored.
    let (a_rs, a_cs) = if a_t { (1, m) } else { (k, 1) };
    let (b_rs, b_cs) = if b_t { (1, k) } else { (n, 1) };
    // SAFETY: the lengths were checked above against the shapes, so every
    // index the strides reach (at most (m-1)·rs + (k-1)·cs for `a`, likewise
    // for `b` and `c`) lies inside its slice; `c` is borrowed mutably, so it
    // aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Whether a product is one [`small_product_fma`] computes: an inner
/// dimension of at most 64 and at most 64 columns, or (for a transposed
/// left side, the weight gradient) at most 64 × 64 outputs and an inner
/// dimension of 3 or more; at least two rows, and with a transposed left
/// side at least two columns: the layers of the small networks activation
/// studies train. There `gemm`'s packing and dispatch cost more than the
/// arithmetic; the shapes left out are those `gemm` sends to `gemv` (one
/// row or column) or, transposed, to `gevv`, which are not reproduced here,
/// and the large products (MNIST's) where `gemm` is the faster one.
fn small_product((m, k, n): (usize, usize, usize), a_t: bool) -> bool {
    if a_t {
        m >= 2 && k >= 3 && n >= 2 && m <= SMALL_MAX && n <= SMALL_MAX
    } else {
        m >= 2 && (1..=SMALL_MAX).contains(&k) && n <= SMALL_MAX
    }
}

/// The widest output and inner dimension of a small product (see
/// [`small_product`]); with at most this many rows and columns `gemm`
/// sums the inner dimension in blocks of [`GEMM_KC`].
const SMALL_MAX: usize = 64;

/// The inner-dimension block of `gemm` for outputs of at most 64 × 64:
/// each block is summed from zero, then added to the output.
const GEMM_KC: usize = 512;

/// `c += op(a)·op(b)` for a small product (see [`small_product`]), or `c =
/// bias + a·op(b)` in every row with `bias` (then `c` is only written),
/// rounding exactly as `gemm`'s FMA kernels do, so results do not depend
/// on which of the two ran: each output's products are summed by fused
/// multiply-adds from zero in inner-dimension order, in blocks of
/// [`GEMM_KC`], and each block's sum is added to `c` (or the bias) once
/// (`gemm`'s `dst = fma(1, acc, dst)`). A test holds the two equal bit for
/// bit over the shapes this path takes.
///
/// # Safety
/// The processor must support AVX2 and FMA; the slices' lengths must match
/// the shapes (checked by [`gemm`]), `c` must point to `m × n` floats (which
/// may be uninitialised when `bias` is given) and `bias` hold `n`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn small_product_fma(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    c: *mut f32,
    bias: Option<&[f32]>,
) {
    // op(b) row by row (k rows of n), transposed once when stored n × k.
    let transposed: Vec<f32>;
    let rhs: &[f32] = if b_t {
        transposed = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
        &transposed
    } else {
        b
    };
    // Element (i, p) of op(a) is at i·rs + p·cs.
    let (rs, cs) = if a_t { (1, m) } else { (k, 1) };
    // gemm's `gevv` (an inner dimension of 1 or 2) chains its products from
    // the output itself, multiplying and adding separately, rather than
    // adding a fused sum to it.
    let chain = k <= 2;
    let mut bias = bias;
    for p0 in (0..k).step_by(GEMM_KC) {
        let kb = GEMM_KC.min(k - p0);
        let (lhs, w) = (a.as_ptr().add(p0 * cs), &rhs[p0 * n..(p0 + kb) * n]);
        // Several rows at a time, so that independent sums are in flight:
        // one sum alone waits on each fused multiply-add in turn. Four rows
        // of eight or sixteen columns fill the registers; a narrow output
        // (the last layer's one unit) is summed eight rows at a time.
        let rows_at = |i: usize| Lhs {
            at: lhs.add(i * rs),
            rs,
            cs,
            k: kb,
        };
        let group = if n < 8 { NARROW_ROWS } else { ROWS };
        let full = m / group * group;
        for i0 in (0..full).step_by(group) {
            if n < 8 {
                small_rows::<NARROW_ROWS>(rows_at(i0), w, n, c.add(i0 * n), bias, chain);
            } else {
                small_rows::<ROWS>(rows_at(i0), w, n, c.add(i0 * n), bias, chain);
            }
        }
        for i in full..m {
            small_rows::<1>(rows_at(i), w, n, c.add(i * n), bias, chain);
        }
        // Later blocks add to what the first wrote.
        bias = None;
    }
}

/// Rows interleaved by [`small_product_fma`].
const ROWS: usize = 4;

/// Rows interleaved by [`small_product_fma`] for outputs under eight wide.
const NARROW_ROWS: usize = 8;

/// Rows of a left-hand side: element (r, p) at `at + r·rs + p·cs`, `k` columns.
#[derive(Clone, Copy)]
struct Lhs {
    at: *const f32,
    rs: usize,
    cs: usize,
    k: usize,
}

/// `c += x·rhs` (or `c = bias + x·rhs`) for `R` rows of `x` and `rhs`
/// (`x.k × n`), `c` `R × n`: eight columns at a time in registers (sixteen
/// when there are that many), the inner dimension in order with one fused
/// multiply-add per step, as gemm's kernels sum; the last columns one at a
/// time, likewise. With `chain` the steps start from `c` (or the bias)
/// instead of zero and are a product then a sum, as gemm's `gevv` does.
///
/// # Safety
/// The processor must support AVX2 and FMA; `x` must address `R × x.k`
/// floats, `rhs` hold `x.k × n`, and `c` point to `R × n` floats
/// (initialised unless `bias`, which then holds `n`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // r indexes x, c and the sums alike
unsafe fn small_rows<const R: usize>(
    x: Lhs,
    rhs: &[f32],
    n: usize,
    c: *mut f32,
    bias: Option<&[f32]>,
    chain: bool,
) {
    let k = x.k;
    let x_at = |r: usize, p: usize| *x.at.add(r * x.rs + p * x.cs);
    use std::arch::x86_64::*;
    let w_at = |p: usize, j: usize| rhs.as_ptr().add(p * n + j);
    // What the sum of column j of row r is added to.
    let base = |r: usize, j: usize| match bias {
        Some(b) => b.as_ptr().add(j),
        None => c.add(r * n + j) as *const f32,
    };
    // One step of a sum: fused, as gemm's kernels; `gevv` (with `chain`)
    // multiplies and adds separately.
    let step = |x: __m256, w: __m256, acc: __m256| {
        if chain {
            _mm256_add_ps(_mm256_mul_ps(x, w), acc)
        } else {
            _mm256_fmadd_ps(x, w, acc)
        }
    };
    let mut j = 0;
    while j + 16 <= n {
        let start = |r: usize, j: usize| {
            if chain {
                _mm256_loadu_ps(base(r, j))
            } else {
                _mm256_setzero_ps()
            }
        };
        let mut lo: [__m256; R] = std::array::from_fn(|r| start(r, j));
        let mut hi: [__m256; R] = std::array::from_fn(|r| start(r, j + 8));
        for p in 0..k {
            // SAFETY: j + 16 <= n: both loads stay in row p of rhs.
            let (w0, w1) = (_mm256_loadu_ps(w_at(p, j)), _mm256_loadu_ps(w_at(p, j + 8)));
            for r in 0..R {
                let xv = _mm256_set1_ps(x_at(r, p));
                lo[r] = step(xv, w0, lo[r]);
                hi[r] = step(xv, w1, hi[r]);
            }
        }
        for r in 0..R {
            // SAFETY: j + 16 <= n, inside row r of c (and of the bias).
            let (o, s) = (c.add(r * n + j), base(r, j));
            if chain {
                _mm256_storeu_ps(o, lo[r]);
                _mm256_storeu_ps(o.add(8), hi[r]);
            } else {
                _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(s), lo[r]));
                _mm256_storeu_ps(o.add(8), _mm256_add_ps(_mm256_loadu_ps(s.add(8)), hi[r]));
            }
        }
        j += 16;
    }
    while j + 8 <= n {
        let mut acc: [__m256; R] = std::array::from_fn(|r| {
            if chain {
                _mm256_loadu_ps(base(r, j))
            } else {
                _mm256_setzero_ps()
            }
        });
        for p in 0..k {
            // SAFETY: j + 8 <= n: the load stays in row p of rhs.
            let w = _mm256_loadu_ps(w_at(p, j));
            for r in 0..R {
                acc[r] = step(_mm256_set1_ps(x_at(r, p)), w, acc[r]);
            }
        }
        for r in 0..R {
            // SAFETY: j + 8 <= n, inside row r of c (and of the bias).
            let o = c.add(r * n + j);
            let sum = if chain {
                acc[r]
            } else {
                _mm256_add_ps(_mm256_loadu_ps(base(r, j)), acc[r])
            };
            _mm256_storeu_ps(o, sum);
        }
        j += 8;
    }
    for j in j..n {
        let mut acc: [f32; R] = std::array::from_fn(|r| if chain { *base(r, j) } else { 0.0 });
        for p in 0..k {
            let w = rhs[p * n + j];
            for r in 0..R {
                acc[r] = if chain {
                    x_at(r, p) * w + acc[r]
                } else {
                    x_at(r, p).mul_add(w, acc[r])
                };
            }
        }
        for r in 0..R {
            *c.add(r * n + j) = if chain { acc[r] } else { *base(r, j) + acc[r] };
        }
    }
}

/// `x·W + b` for a row-major `rows × fan_in` input, weights `fan_in ×
/// fan_out` and biases `fan_out`, on the host: the product of every fused
/// layer and of the probe pass ([`super::diagnostics`]), so both round alike.
pub fn affine(x: &[f32], (rows, fan_in): (usize, usize), w: &[f32], b: &[f32]) -> Vec<f32> {
    let fan_out = b.len();
    #[cfg(target_arch = "x86_64")]
    if small_product((rows, fan_in, fan_out), false) && has_avx2_fma() {
        assert_eq!(x.len(), rows * fan_in, "input length");
        assert_eq!(w.len(), fan_in * fan_out, "weights length");
        let mut z: Vec<f32> = Vec::with_capacity(rows * fan_out);
        // SAFETY: AVX2 and FMA are there (checked above), the lengths match
        // the shapes (asserted), and with a bias the kernel writes every
        // element of z, so it is initialised when its length is set.
        unsafe {
            small_product_fma(
                (rows, fan_in, fan_out),
                x,
                false,
                w,
                false,
                z.as_mut_ptr(),
                Some(b),
            );
            z.set_len(rows * fan_out);
        }
        return z;
    }
    // z starts as the bias in every row and the product accumulates onto
    // it. The rows are filled by an inline loop: `extend_from_slice` of a
    // few units is a libc call per row.
    let mut z = vec![0.0f32; rows * fan_out];
    for row in z.chunks_exact_mut(fan_out.max(1)) {
        for (v, &bias) in row.iter_mut().zip(b) {
            *v = bias;
        }
    }
    gemm((rows, fan_in, fan_out), x, false, w, false, &mut z, true);
    z
}

/// dfdx's composition `act(x·W + b)`: the path on devices without a fused
/// kernel, and the reference for the fused one.
pub fn unfused<D, T>(x: Mat<D, T>, p: &Dense<'_, D>) -> Mat<D, T>
where
    D: EngineDevice,
    T: Tape<f32, D> + Merge<T> + Merge<NoneTape>,
{
    let shape = (x.shape().0, p.w.t.shape().1);
    let z = x.matmul(p.w.t.retaped::<T>());
    let z = z + p.b.t.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
    match p.act {
        None => z,
        Some(act) => {
            let ps: Vec<Vector<D, T>> = p.act_params.iter().map(|q| q.t.retaped()).collect();
            D::activate(act, z, ps)
        }
    }
}

/// What the backward pass of one fused layer keeps from its forward pass.
struct Saved {
    rows: usize,
    fan_in: usize,
    fan_out: usize,
    /// The layer's input, `rows × fan_in` (for `gW = xᵀ·gz`).
    x: Vec<f32>,
    /// The weights, for the input gradient.
    w: Arc<Vec<f32>>,
    /// `f'(z)`, when there is an activation.
    dx: Option<Vec<f32>>,
    /// `df/dp_k(z)` per learnable parameter.
    dps: Vec<Vec<f32>>,
}

/// `act(x·W + b)` as one op on the CPU (see the [module docs](self));
/// `input_grad` says whether `x` needs a gradient; with a tape, `keep`
/// receives the activations and derivatives of its rows.
pub fn fused<T>(
    x: Mat<Cpu, T>,
    p: &Dense<'_, Cpu>,
    input_grad: bool,
    keep: Option<Keep<'_>>,
) -> Mat<Cpu, T>
where
    T: Tape<f32, Cpu>,
{
    let (rows, fan_in) = *x.shape();
    let fan_out = p.b.host.len();
    let x = x.contiguous();
    let (x, tape) = x.split_tape();
    let dev = x.device().clone();
    let mut xs = vec![0.0f32; rows * fan_in];
    x.copy_into(&mut xs);
    let mut z = affine(&xs, (rows, fan_in), &p.w.host, &p.b.host);
    let values: Vec<&[f32]> = p.act_params.iter().map(|q| q.host.as_slice()).collect();
    if !T::OWNS_TAPE {
        if let Some(act) = p.act {
            act.run_in_place(&mut z, &values, None);
        }
        let out: Mat<Cpu, NoneTape> = dev.tensor_from_vec(z, (rows, fan_out));
        return out.put_tape(tape);
    }
    let (dx, dps) = match p.act {
        None => (None, Vec::new()),
        Some(act) => {
            let mut dx = vec![0.0f32; z.len()];
            let mut dps: Vec<Vec<f32>> = (0..p.act_params.len())
                .map(|_| vec![0.0f32; z.len()])
                .collect();
            let mut dp: Vec<&mut [f32]> = dps.iter_mut().map(Vec::as_mut_slice).collect();
            act.run_in_place(&mut z, &values, Some((&mut dx, &mut dp)));
            (Some(dx), dps)
        }
    };
    if let Some(keep) = keep {
        keep.take(&z, dx.as_deref(), fan_out);
    }
    let saved = Saved {
        rows,
        fan_in,
        fan_out,
        x: xs,
        w: Arc::clone(&p.w.host),
        dx,
        dps,
    };
    let out: Mat<Cpu, NoneTape> = dev.tensor_from_vec(z, (rows, fan_out));
    let out_ghost = out.ghost();
    let x_ghost = input_grad.then(|| x.ghost());
    let w_ghost = p.w.t.ghost();
    let b_ghost = p.b.t.ghost();
    let p_ghosts: Vec<_> = p.act_params.iter().map(|q| q.t.ghost()).collect();
    drop(x);
    let mut tape = tape;
    tape.add_backward_op(move |grads| {
        let s = saved;
        // The output's gradient is complete here (every op that read `out`
        // ran its backward first) and nothing reads it after this op, so
        // it is taken, turned into gz = gy ⊙ f'(z) in place, and put back.
        let mut g: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
        for (ghost, dp) in p_ghosts.iter().zip(&s.dps) {
            add_column_sums(grads.get_or_alloc_mut(ghost)?, &g, Some(dp));
        }
        if let Some(dx) = &s.dx {
            for (g, d) in g.iter_mut().zip(dx) {
                *g *= d;
            }
        }
        let gz = g;
        let gw = grads.get_or_alloc_mut(&w_ghost)?;
        gemm(
            (s.fan_in, s.rows, s.fan_out),
            &s.x,
            true,
            &gz,
            false,
            gw,
            true,
        );
        add_column_sums(grads.get_or_alloc_mut(&b_ghost)?, &gz, None);
        if let Some(xg) = &x_ghost {
            let gx = grads.get_or_alloc_mut(xg)?;
            gemm(
                (s.rows, s.fan_out, s.fan_in),
                &gz,
                false,
                &s.w,
                true,
                gx,
                true,
            );
        }
        **grads.get_or_alloc_mut(&out_ghost)? = gz;
        Ok(())
    });
    out.put_tape(tape)
}

/// Adds the per-column sums of the row-major `a ⊙ b` (or of `a` alone)
/// into `dst`, row after row (the order dfdx's broadcast backward sums in).
fn add_column_sums(dst: &mut [f32], a: &[f32], b: Option<&[f32]>) {
    let cols = dst.len();
    let mut sums = vec![0.0f32; cols];
    match b {
        None => {
            for row in a.chunks_exact(cols) {
                add_into(&mut sums, row);
            }
        }
        Some(b) => {
            for (ra, rb) in a.chunks_exact(cols).zip(b.chunks_exact(cols)) {
                for ((s, x), y) in sums.iter_mut().zip(ra).zip(rb) {
                    *s += x * y;
                }
            }
        }
    }
    add_into(dst, &sums);
}

fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A xorshift stream of floats in [-1, 1).
    fn floats(seed: u64) -> impl FnMut() -> f32 {
        let mut rng = seed;
        move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn small_products_round_as_gemm_does() {
        // The shapes the small path takes, against gemm's own kernels, bit
        // for bit: the tables of a sweep must not depend on which ran.
        let mut next = floats(0x2545_f491_4f6c_dd1d);
        let shapes = [
            (2, 3, 1),
            (800, 16, 16),
            (1000, 16, 1),
            (37, 5, 9),
            (64, 64, 64),
            (65, 17, 33),
            (3, 3, 64),
            (129, 64, 1),
            (5000, 64, 64),
            (4099, 33, 17),
            (1800, 2, 16),
            (800, 1, 16),
            (9, 2, 1),
            (7, 1, 3),
        ];
        for (m, k, n) in shapes {
            for b_t in [false, true] {
                let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
                let b: Vec<f32> = (0..k * n).map(|_| next() * 3.0).collect();
                let c0: Vec<f32> = (0..m * n).map(|_| next()).collect();
                assert!(small_product((m, k, n), false));
                let mut fast = c0.clone();
                gemm((m, k, n), &a, false, &b, b_t, &mut fast, true);
                let mut reference = c0.clone();
                gemm_crate((m, k, n), &a, false, &b, b_t, &mut reference, true);
                assert!(same_bits(&fast, &reference), "{m}x{k}x{n} b_t={b_t}");
            }
            // The layer product: the bias written in, not added to zeros.
            let x: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let w: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let bias: Vec<f32> = (0..n).map(|_| next()).collect();
            let mut reference: Vec<f32> = (0..m).flat_map(|_| bias.iter().copied()).collect();
            gemm_crate((m, k, n), &x, false, &w, false, &mut reference, true);
            let z = affine(&x, (m, k), &w, &bias);
            assert!(same_bits(&z, &reference), "affine {m}x{k}x{n}");
        }
    }

    #[test]
    fn weight_gradients_round_as_gemm_does() {
        // xᵀ·gz: a transposed left side and a long inner dimension (the
        // rows of a batch), summed in gemm's blocks of 512.
        let mut next = floats(0x9e37_79b9_7f4a_7c15);
        for (m, k, n) in [
            (16, 800, 16),
            (2, 3, 2),
            (64, 1500, 64),
            (5, 512, 3),
            (16, 1025, 7),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| next()).collect();
            assert!(small_product((m, k, n), true));
            let mut fast = c0.clone();
            gemm((m, k, n), &a, true, &b, false, &mut fast, true);
            let mut reference = c0;
            gemm_crate((m, k, n), &a, true, &b, false, &mut reference, true);
            assert!(same_bits(&fast, &reference), "{m}x{k}x{n}");
        }
    }

    #[test]
    fn gemm_transposes_and_accumulates() {
        // a = [[1, 2, 3], [4, 5, 6]] (2×3), b = [[1, 0], [0, 1], [1, 1]] (3×2).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0.0; 4];
        gemm((2, 3, 2), &a, false, &b, false, &mut c, false);
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        gemm((2, 3, 2), &a, false, &b, false, &mut c, true);
        assert_eq!(c, [8.0, 10.0, 20.0, 22.0]);
        // aᵀ·a: (3×2)·(2×3).
        let mut g = [0.0; 9];
        gemm((3, 2, 3), &a, true, &a, false, &mut g, false);
        assert_eq!(g, [17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]);
        // a·aᵀ: (2×3)·(3×2).
        let mut h = [0.0; 4];
        gemm((2, 3, 2), &a, false, &a, true, &mut h, false);
        assert_eq!(h, [14.0, 32.0, 32.0, 77.0]);
    }
}
