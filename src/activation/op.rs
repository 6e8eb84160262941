//! The fused dfdx op: a compiled formula as one node on dfdx's autodiff tape.
//!
//! The forward pass evaluates the value and, when a tape is recording, every
//! derivative in the same pass over the input (`Compiled::run_in_place`);
//! the backward closure then only multiplies the incoming gradient by the
//! stored derivatives: `grad_x += grad_out * f'(x)` and, for each learnable
//! parameter, `grad_p[u] += sum over rows of grad_out * df/dp`. One pass
//! forward, one pass backward, however long the formula is; no chain of small
//! tensor ops.
//!
//! This is CPU only. On CUDA the same program would need a generated kernel
//! (or a round trip through host memory); the training engine can fall back
//! to the host for formulas until then.

use dfdx::shapes::HasShape;
use dfdx::tensor::{Cpu, Merge, PutTape, SplitTape, Tape, Tensor, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;

use super::Compiled;

/// A `(batch, units)` matrix of activations on the CPU.
pub type Matrix<T> = Tensor<(usize, usize), f32, Cpu, T>;

/// One value per unit: a learnable parameter of an activation.
pub type UnitVector<T> = Tensor<(usize,), f32, Cpu, T>;

impl Compiled {
    /// Applies the activation elementwise to a `(batch, units)` tensor as one
    /// fused op. Learnable parameters, if any, take their initial values and
    /// get no gradient; use [`Compiled::apply_with`] to learn them.
    pub fn apply<T: Tape<f32, Cpu>>(&self, x: Matrix<T>) -> Matrix<T> {
        self.apply_with::<T, T>(x, Vec::new())
    }

    /// Applies the activation with learnable parameters, one `(units,)` tensor
    /// per entry of [`Compiled::learnable`] (in that order). Their tapes are
    /// merged into `x`'s, and backward accumulates their gradients (pass a
    /// model's parameters as `p.clone()` or `p.retaped()`; gradients are keyed
    /// by tensor id, as for dfdx's own layers).
    ///
    /// # Panics
    /// If the number of parameter tensors is neither 0 nor the number of
    /// learnable parameters, or a parameter's length is not `units`
    /// (programming errors; shapes come from the network, not from input).
    pub fn apply_with<T, P>(&self, x: Matrix<T>, params: Vec<UnitVector<P>>) -> Matrix<T>
    where
        T: Tape<f32, Cpu> + Merge<P>,
        P: Tape<f32, Cpu>,
    {
        assert!(
            params.is_empty() || params.len() == self.learnable().len(),
            "activation {} takes {} learnable parameter tensors, got {}",
            self.name(),
            self.learnable().len(),
            params.len()
        );
        let x = x.contiguous();
        let (x, mut tape) = x.split_tape();
        let (rows, units) = *x.shape();
        let n = rows * units;
        let dev = x.device().clone();

        let mut ghosts = Vec::with_capacity(params.len());
        let mut values: Vec<Vec<f32>> = Vec::with_capacity(params.len());
        for p in params {
            let p = p.contiguous();
            assert_eq!(
                p.shape().0,
                units,
                "a learnable parameter needs one value per unit"
            );
            let (p, ptape) = p.split_tape();
            tape = tape.merge(ptape);
            let mut v = vec![0.0; units];
            p.copy_into(&mut v);
            values.push(v);
            ghosts.push(p.ghost());
        }
        let slices: Vec<&[f32]> = values.iter().map(Vec::as_slice).collect();

        let mut out = vec![0.0f32; n];
        x.copy_into(&mut out);
        if !T::OWNS_TAPE {
            self.run_in_place(&mut out, &slices, None);
            let t: Matrix<dfdx::tensor::NoneTape> = dev.tensor_from_vec(out, (rows, units));
            return t.put_tape(tape);
        }
        let learn = !ghosts.is_empty();
        let pool = self.pool.clone();
        let mut dx = pool.take(n);
        let nd = if learn { self.learnable().len() } else { 0 };
        let mut dps: Vec<Vec<f32>> = (0..nd).map(|_| pool.take(n)).collect();
        {
            let mut dp_slices: Vec<&mut [f32]> = dps.iter_mut().map(Vec::as_mut_slice).collect();
            self.run_in_place(&mut out, &slices, Some((&mut dx, &mut dp_slices)));
        }
        let out: Matrix<dfdx::tensor::NoneTape> = dev.tensor_from_vec(out, (rows, units));
        let x_ghost = x.ghost();
        let out_ghost = out.ghost();
        drop(x);
        tape.add_backward_op(move |grads| {
            grads.try_alloc_for(&x_ghost)?;
            // The output's gradient is complete here (every op that read
            // `out` ran its backward first). It is taken out while the input's
            // and the parameters' gradients are written, and put back
            // unchanged.
            let go: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
            let gx = grads.get_or_alloc_mut(&x_ghost)?;
            assert_eq!(gx.len(), go.len());
            for ((g, &o), &d) in gx.iter_mut().zip(&go).zip(&dx) {
                *g += o * d;
            }
            if learn {
                // Per-unit parameter gradients: summed from zero, then added.
                for (ghost, dp) in ghosts.iter().zip(&dps) {
                    let mut s = vec![0.0f32; units];
                    for (grow, drow) in go.chunks_exact(units).zip(dp.chunks_exact(units)) {
                        for ((acc, &o), &d) in s.iter_mut().zip(grow).zip(drow) {
                            *acc += o * d;
                        }
                    }
                    let gp = grads.get_or_alloc_mut(ghost)?;
                    for (a, b) in gp.iter_mut().zip(&s) {
                        *a += b;
                    }
                }
            }
            **grads.get_or_alloc_mut(&out_ghost)? = go;
            pool.give(dx);
            for d in dps {
                pool.give(d);
            }
            Ok(())
        });
        out.put_tape(tape)
    }
}
