//! Diagnostics computed from the network's state: the numbers the seed
//! studies look at besides loss and accuracy.
//!
//! - **Activation statistics** of one hidden layer on the probe set (a fixed
//!   slice of training inputs): mean, standard deviation and maximum of the
//!   activations, and *sparsity*, the fraction of activations exactly 0.
//! - **Dead fraction**: units whose activation derivative is exactly 0 on
//!   every probe input (seed 004's detector). Such a unit passes no gradient
//!   to its incoming weights, so no probe-like input can revive it.
//! - **Saturated fraction**: units that are not dead but whose |f'| is below
//!   [`SATURATION_THRESHOLD`] (0.05) on at least [`SATURATION_SHARE`] (99%)
//!   of probe inputs: sigmoid and tanh units pinned in their flat tails, or
//!   ReLU units that are alive on fewer than 1% of inputs. Dead units are
//!   counted only as dead, so the two fractions add up to the units in trouble.
//! - **Singular values** of the collapsed map `W_1·W_2···W_L` of a network
//!   whose hidden activation is the identity: the linear map such a network
//!   computes, whatever its depth (seed 000's key insight, measured).

/// |f'| below this counts as saturated.
pub const SATURATION_THRESHOLD: f32 = 0.05;
/// Share of probe inputs on which a unit must be below the threshold.
pub const SATURATION_SHARE: f64 = 0.99;

/// Statistics of one hidden layer on the probe set.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStats {
    /// Mean activation.
    pub mean: f64,
    /// Standard deviation of the activations.
    pub std: f64,
    /// Largest activation.
    pub max: f64,
    /// Fraction of activations exactly 0.
    pub sparsity: f64,
    /// Fraction of units with f' = 0 on every probe input.
    pub dead: f64,
    /// Fraction of units (not dead) with |f'| < 0.05 on ≥ 99% of probe inputs.
    pub saturated: f64,
}

/// Statistics from activations `a` and derivatives `d`, row-major `rows × units`.
pub fn layer_stats(a: &[f32], d: &[f32], units: usize) -> LayerStats {
    let n = a.len();
    let rows = n / units.max(1);
    let (sum, sq, max, zeros) = moments(a);
    let mean = sum / n.max(1) as f64;
    let var = (sq / n.max(1) as f64 - mean * mean).max(0.0);
    let (zero_d, small_d) = derivative_counts(d, units);
    let need = (SATURATION_SHARE * rows as f64).ceil() as u32;
    let rows = rows as u32;
    let dead = zero_d.iter().filter(|&&z| rows > 0 && z == rows).count();
    let saturated = (0..units)
        .filter(|&u| rows > 0 && zero_d[u] < rows && small_d[u] >= need)
        .count();
    LayerStats {
        mean,
        std: var.sqrt(),
        max: if n == 0 { 0.0 } else { max as f64 },
        sparsity: zeros as f64 / n.max(1) as f64,
        dead: dead as f64 / units.max(1) as f64,
        saturated: saturated as f64 / units.max(1) as f64,
    }
}

/// Lanes of [`moments`]' partial sums: independent chains the compiler
/// keeps in vector registers (one running sum would wait on every add).
const LANES: usize = 8;

/// Sum, sum of squares (in `f64`, over [`LANES`] interleaved partial sums),
/// maximum (NaN ignored) and count of exact zeros of `a`.
fn moments(a: &[f32]) -> (f64, f64, f32, usize) {
    let mut sum = [0.0f64; LANES];
    let mut sq = [0.0f64; LANES];
    let mut max = [f32::NEG_INFINITY; LANES];
    let mut zeros = [0u32; LANES];
    let chunks = a.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let v = c[i] as f64;
            sum[i] += v;
            sq[i] += v * v;
            // A compare and select (NaN never wins), which vectorises
            // where `f32::max` does not.
            max[i] = if c[i] > max[i] { c[i] } else { max[i] };
            zeros[i] += (c[i] == 0.0) as u32;
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        sum[i] += v as f64;
        sq[i] += v as f64 * v as f64;
        max[i] = max[i].max(v);
        zeros[i] += (v == 0.0) as u32;
    }
    (
        sum.iter().sum(),
        sq.iter().sum(),
        max.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        zeros.iter().map(|&z| z as usize).sum(),
    )
}

/// Per unit: on how many rows `f'` is exactly 0, and on how many `|f'|` is
/// below [`SATURATION_THRESHOLD`].
fn derivative_counts(d: &[f32], units: usize) -> (Vec<u32>, Vec<u32>) {
    let mut zero = vec![0u32; units];
    let mut small = vec![0u32; units];
    for row in d.chunks_exact(units.max(1)) {
        for ((z, s), &g) in zero.iter_mut().zip(small.iter_mut()).zip(row) {
            *z += (g == 0.0) as u32;
            *s += (g.abs() < SATURATION_THRESHOLD) as u32;
        }
    }
    (zero, small)
}

/// Singular values, largest first, of the product of row-major matrices
/// `mats[k]` of shape `sizes[k] × sizes[k+1]`.
pub fn collapsed_singular_values(mats: &[&[f32]], sizes: &[usize]) -> Vec<f64> {
    // Multiply in f64 from the left: M = W1 · W2 · ... (rows = sizes[0]).
    let (mut rows, mut cols) = (sizes[0], sizes[1]);
    let mut m: Vec<f64> = mats[0].iter().map(|&v| v as f64).collect();
    for (k, w) in mats.iter().enumerate().skip(1) {
        let next = sizes[k + 1];
        let mut out = vec![0.0f64; rows * next];
        for i in 0..rows {
            for j in 0..cols {
                let a = m[i * cols + j];
                if a == 0.0 {
                    continue;
                }
                let wrow = &w[j * next..(j + 1) * next];
                let orow = &mut out[i * next..(i + 1) * next];
                for (o, &b) in orow.iter_mut().zip(wrow) {
                    *o += a * b as f64;
                }
            }
        }
        m = out;
        cols = next;
    }
    // Gram matrix on the smaller side, then its eigenvalues.
    let small = rows.min(cols);
    let mut g = vec![0.0f64; small * small];
    for a in 0..small {
        for b in a..small {
            let s: f64 = if cols <= rows {
                (0..rows).map(|i| m[i * cols + a] * m[i * cols + b]).sum()
            } else {
                (0..cols).map(|j| m[a * cols + j] * m[b * cols + j]).sum()
            };
            g[a * small + b] = s;
            g[b * small + a] = s;
        }
    }
    rows = small;
    let mut ev = symmetric_eigenvalues(&mut g, rows);
    ev.sort_by(|a, b| b.total_cmp(a));
    ev.into_iter().map(|e| e.max(0.0).sqrt()).collect()
}

/// Eigenvalues of a symmetric `n × n` matrix by cyclic Jacobi rotations.
fn symmetric_eigenvalues(a: &mut [f64], n: usize) -> Vec<f64> {
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum::<f64>();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[k * n + p];
                    let akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let apk = a[p * n + k];
                    let aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}

/// Points of a `res × res` grid over `[min, max]` of two features, widened
/// by 5% on each side, row-major (second feature outer).
pub fn grid(min: [f32; 2], max: [f32; 2], res: usize) -> Vec<f32> {
    let mut pts = Vec::with_capacity(res * res * 2);
    let lo: Vec<f32> = (0..2).map(|k| min[k] - 0.05 * (max[k] - min[k])).collect();
    let hi: Vec<f32> = (0..2).map(|k| max[k] + 0.05 * (max[k] - min[k])).collect();
    let at = |k: usize, i: usize| {
        if res <= 1 {
            (lo[k] + hi[k]) / 2.0
        } else {
            lo[k] + (hi[k] - lo[k]) * i as f32 / (res - 1) as f32
        }
    };
    for j in 0..res {
        for i in 0..res {
            pts.push(at(0, i));
            pts.push(at(1, j));
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_and_saturated_units_are_told_apart() {
        // 4 probe rows, 3 units: unit 0 dead, unit 1 alive, unit 2 saturated.
        let d = [
            0.0, 1.0, 0.01, //
            0.0, 0.0, 0.02, //
            0.0, 1.0, 0.0, //
            0.0, 1.0, 0.03,
        ];
        let a = [0.0, 2.0, 0.5, 0.0, 0.0, 0.5, 0.0, 1.0, 0.5, 0.0, 3.0, 0.5];
        let s = layer_stats(&a, &d, 3);
        assert!((s.dead - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.saturated - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.sparsity - 5.0 / 12.0).abs() < 1e-12);
        assert_eq!(s.max, 3.0);
        assert!((s.mean - 8.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn singular_values_of_a_known_product() {
        // diag(3, 2) · [[0, 1], [1, 0]] has singular values 3 and 2.
        let a = [3.0f32, 0.0, 0.0, 2.0];
        let b = [0.0f32, 1.0, 1.0, 0.0];
        let sv = collapsed_singular_values(&[&a, &b], &[2, 2, 2]);
        assert!(
            (sv[0] - 3.0).abs() < 1e-9 && (sv[1] - 2.0).abs() < 1e-9,
            "{sv:?}"
        );
        // A rank-one 3×1·1×3 product (a bottleneck): one non-zero singular
        // value, |u||v|, and two zeros.
        let u = [1.0f32, 2.0, 2.0];
        let v = [0.0f32, 3.0, 4.0];
        let sv = collapsed_singular_values(&[&u, &v], &[3, 1, 3]);
        assert_eq!(sv.len(), 3);
        assert!((sv[0] - 15.0).abs() < 1e-9, "{sv:?}");
        assert!(sv[1].abs() < 1e-6 && sv[2].abs() < 1e-6, "{sv:?}");
        let sv = collapsed_singular_values(&[&u], &[1, 3]);
        assert!((sv[0] - 3.0).abs() < 1e-9, "{sv:?}");
    }

    #[test]
    fn jacobi_finds_eigenvalues_of_a_dense_matrix() {
        let mut m = vec![4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 5.0];
        let mut ev = symmetric_eigenvalues(&mut m, 3);
        ev.sort_by(|a, b| a.total_cmp(b));
        // Trace and determinant are preserved.
        assert!((ev.iter().sum::<f64>() - 12.0).abs() < 1e-9);
        let det = 4.0 * (15.0 - 0.25) - 1.0 * (5.0 - 1.0) + 2.0 * (0.5 - 6.0);
        assert!((ev.iter().product::<f64>() - det).abs() < 1e-8);
    }

    #[test]
    fn grid_covers_the_widened_range() {
        let g = grid([0.0, -1.0], [1.0, 1.0], 3);
        assert_eq!(g.len(), 18);
        assert_eq!((g[0], g[1]), (-0.05, -1.1));
        assert_eq!((g[16], g[17]), (1.05, 1.1));
    }
}
