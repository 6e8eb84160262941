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
//! into gradients in place. [`unfused`] is dfdx's composition, the path for
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
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
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

/// `x·W + b` for a row-major `rows × fan_in` input, weights `fan_in ×
/// fan_out` and biases `fan_out`, on the host: the product of every fused
/// layer and of the probe pass ([`super::diagnostics`]), so both round alike.
pub fn affine(x: &[f32], (rows, fan_in): (usize, usize), w: &[f32], b: &[f32]) -> Vec<f32> {
    let fan_out = b.len();
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
/// `input_grad` says whether `x` needs a gradient.
pub fn fused<T>(x: Mat<Cpu, T>, p: &Dense<'_, Cpu>, input_grad: bool) -> Mat<Cpu, T>
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
