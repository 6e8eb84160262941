//! Paired comparisons across seeds: is one activation better than another?
//!
//! Results pair up by seed. Every job of one seed starts from the same
//! initial weights and sees the same batches whatever its activation, so
//! most of the seed-to-seed spread is shared by the two sides of a
//! comparison. Testing the per-seed differences (treatment − baseline)
//! cancels that shared spread, which makes a paired test far more sensitive
//! than comparing two means ± std: two activations whose intervals overlap
//! widely can still differ consistently on every seed.
//!
//! This module owns the statistics of that comparison and nothing else: the
//! paired Student t-test ([`paired_t_p`]) and the Wilcoxon signed-rank test
//! ([`wilcoxon_p`]) with the semantics of their SciPy counterparts, the 95%
//! confidence interval of the mean difference ([`compare`]), the
//! Holm–Bonferroni correction for testing several candidates against one
//! baseline ([`holm`]), and mean ranks over blocks for comparing many
//! candidates at once ([`mean_ranks`]). Everything here is a pure function of
//! slices; pairing the runs up by seed is the caller's job. Distributions
//! come from `statrs`.
//!
//! NaN differences (a pair with a missing side) are skipped by every function
//! that takes differences, so `n` counts only the pairs actually used.

use super::ranks::{rank_block, BlockRanks};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Which paired test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairedTest {
    /// Paired Student t-test on the differences (`scipy.stats.ttest_rel`).
    StudentT,
    /// Wilcoxon signed-rank test on the differences (`scipy.stats.wilcoxon`).
    Wilcoxon,
}

/// A paired comparison of `n` differences (treatment − baseline).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Number of pairs used (NaN differences are not counted).
    pub n: usize,
    /// Mean difference.
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean difference
    /// (`t(0.975, n − 1) · sd / √n`, Student t with n − 1 degrees of
    /// freedom); NaN when n < 2, 0 when all differences are equal.
    pub ci95: f64,
    /// Two-sided p-value of the chosen test: see [`paired_t_p`] and
    /// [`wilcoxon_p`]. NaN for the t-test when n < 2; the Wilcoxon test gives
    /// 1.0 when every difference is zero.
    pub p: f64,
}

/// Compare paired differences with the chosen test.
///
/// NaN differences are skipped. `None` when no difference is left (`diffs`
/// empty or all NaN).
pub fn compare(diffs: &[f64], test: PairedTest) -> Option<Comparison> {
    let d = without_nan(diffs);
    let n = d.len();
    if n == 0 {
        return None;
    }
    let mean = mean(&d);
    let ci95 = if n < 2 {
        f64::NAN
    } else {
        t975((n - 1) as f64) * sample_sd(&d, mean) / (n as f64).sqrt()
    };
    let p = match test {
        PairedTest::StudentT => paired_t_p(&d),
        PairedTest::Wilcoxon => wilcoxon_p(&d),
    };
    Some(Comparison { n, mean, ci95, p })
}

/// Two-sided p of the paired t-test on differences (`scipy.stats.ttest_rel`
/// semantics): `t = mean / (sd / √n)` against Student's t with n − 1 degrees
/// of freedom.
///
/// NaN differences are skipped; NaN when fewer than two are left. Where
/// SciPy divides by a zero standard deviation, this returns a definite
/// answer instead: when all differences are equal, p = 1.0 if they are all
/// zero (no difference at all) and p = 0.0 otherwise (the same non-zero
/// difference on every seed).
pub fn paired_t_p(diffs: &[f64]) -> f64 {
    let d = without_nan(diffs);
    let n = d.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(&d);
    let sd = sample_sd(&d, m);
    if sd == 0.0 {
        return if m == 0.0 { 1.0 } else { 0.0 };
    }
    let t = m / (sd / (n as f64).sqrt());
    if t.is_nan() {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, (n - 1) as f64) {
        Ok(dist) => (2.0 * dist.sf(t.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p of the Wilcoxon signed-rank test on differences.
///
/// `scipy.stats.wilcoxon` default semantics: zero differences are dropped
/// (the "wilcox" zero method) and `n` is what is left; the statistic is the
/// sum of the ranks of |d| of the positive differences, ties getting their
/// average rank. Without ties among the |d| and with n ≤ 50, p comes from
/// the exact null distribution, `2 · min(P(T ≤ t), P(T ≥ t))` capped at 1.
/// Otherwise it comes from the normal approximation with the tie correction
/// of the variance and no continuity correction.
///
/// NaN differences are skipped. When every difference is zero (or none is
/// left), p = 1.0: there is no evidence of a difference.
///
/// SciPy ≥ 1.13 itself switches to a permutation test when there are zeros
/// or ties and at most 13 differences; for zeros without ties that equals
/// the exact p here, for ties it does not: this function then follows
/// `method="asymptotic"`.
pub fn wilcoxon_p(diffs: &[f64]) -> f64 {
    let d: Vec<f64> = diffs
        .iter()
        .copied()
        .filter(|x| !x.is_nan() && *x != 0.0)
        .collect();
    let n = d.len();
    if n == 0 {
        return 1.0;
    }
    let abs: Vec<f64> = d.iter().map(|x| x.abs()).collect();
    let BlockRanks {
        ranks,
        tie_sum: tie_term,
    } = rank_block(&abs, false);
    let r_plus: f64 = d
        .iter()
        .zip(&ranks)
        .filter(|(x, _)| **x > 0.0)
        .map(|(_, r)| *r)
        .sum();
    // Σ (t³ − t) over the groups of equal values: 0 exactly when none ties.
    let has_ties = tie_term > 0.0;
    if !has_ties && n <= EXACT_MAX_N {
        return wilcoxon_exact_p(n, r_plus);
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = (nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0;
    if var <= 0.0 {
        return 1.0;
    }
    let z = (r_plus - mean) / var.sqrt();
    match Normal::new(0.0, 1.0) {
        Ok(dist) => (2.0 * dist.sf(z.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Largest number of non-zero differences for the exact Wilcoxon
/// distribution (as in SciPy); the subset counts, at most 2^50, fit a `u64`.
const EXACT_MAX_N: usize = 50;

/// Exact two-sided p of the signed-rank statistic `r_plus` (an integer, as
/// there are no ties) with `n` non-zero differences.
fn wilcoxon_exact_p(n: usize, r_plus: f64) -> f64 {
    // counts[s] = number of subsets of {1, …, n} whose ranks sum to s, i.e.
    // the number of sign patterns giving T = s under the null.
    let max_sum = n * (n + 1) / 2;
    let mut counts = vec![0u64; max_sum + 1];
    counts[0] = 1;
    for rank in 1..=n {
        for s in (rank..=rank * (rank + 1) / 2).rev() {
            counts[s] += counts[s - rank];
        }
    }
    let t = r_plus.round().clamp(0.0, max_sum as f64) as usize;
    let le: u64 = counts[..=t].iter().sum();
    let ge: u64 = counts[t..].iter().sum();
    let total = 2f64.powi(n as i32);
    (2.0 * le.min(ge) as f64 / total).min(1.0)
}

/// Holm–Bonferroni adjusted p-values, in the input order.
///
/// With the m non-NaN p-values sorted ascending, the i-th smallest (from 0)
/// becomes `max over j ≤ i of (m − j) · p_(j)`, capped at 1, so the adjusted
/// values are monotone in the raw ones. NaN inputs stay NaN and are not
/// counted in m.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = order.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (j, &i) in order.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (from
/// `statrs`), the multiplier of a two-sided 95% confidence interval; `df`
/// need not be an integer. NaN for `df <= 0` or NaN.
pub fn t975(df: f64) -> f64 {
    super::stats::t_quantile(0.975, df)
}

/// Mean rank of each of `k` candidates over blocks.
///
/// `blocks[b][c]` is candidate c's value in block b (a block is typically
/// one seed, or one seed of one task); `k` is the length of the longest
/// block. A block with a NaN, or shorter than `k`, is missing a candidate and
/// is skipped entirely. Within a block, rank 1 is the best: the highest value
/// when `higher_is_better`, else the lowest; tied values get the average of
/// the ranks they span. Returns (mean rank of each candidate, number of
/// blocks used); the ranks are NaN when no block was used.
pub fn mean_ranks(blocks: &[Vec<f64>], higher_is_better: bool) -> (Vec<f64>, usize) {
    let k = blocks.iter().map(Vec::len).max().unwrap_or(0);
    let mut sums = vec![0.0; k];
    let mut used = 0usize;
    for block in blocks {
        if block.len() != k || block.iter().any(|v| v.is_nan()) {
            continue;
        }
        let ranks = rank_block(block, higher_is_better).ranks;
        for (sum, r) in sums.iter_mut().zip(ranks) {
            *sum += r;
        }
        used += 1;
    }
    let ranks = if used == 0 {
        vec![f64::NAN; k]
    } else {
        sums.into_iter().map(|s| s / used as f64).collect()
    };
    (ranks, used)
}

/// The differences with NaN removed.
fn without_nan(diffs: &[f64]) -> Vec<f64> {
    diffs.iter().copied().filter(|x| !x.is_nan()).collect()
}

/// Arithmetic mean of a non-empty slice.
fn mean(d: &[f64]) -> f64 {
    d.iter().sum::<f64>() / d.len() as f64
}

/// Sample standard deviation (n − 1 in the denominator) around `mean`; the
/// slice has at least two values. Exactly 0 when they are all equal, which
/// the rounding of `mean` would otherwise blur.
fn sample_sd(d: &[f64], mean: f64) -> f64 {
    if d.windows(2).all(|w| w[0] == w[1]) {
        return 0.0;
    }
    let ss: f64 = d.iter().map(|x| (x - mean) * (x - mean)).sum();
    (ss / (d.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values: SciPy 1.17.1 (NumPy 2.4.6), with `a`, `b` the NumPy
    // arrays of the literals below and `d = a - b`. The differences here are
    // computed the same way (IEEE subtraction of the same literals), so
    // `0.62 - 0.62` is an exact zero and no tie appears or vanishes.

    fn diffs(a: &[f64], b: &[f64]) -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x - y).collect()
    }

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got:?}, want {want:?} (rel {rel})"
        );
    }

    /// 3 pairs, no ties, no zeros.
    fn three() -> Vec<f64> {
        diffs(&[0.912, 0.874, 0.951], &[0.905, 0.861, 0.948])
    }

    /// 5 pairs, one exact zero difference, no ties among the rest.
    fn five_zero() -> Vec<f64> {
        diffs(
            &[0.50, 0.62, 0.71, 0.55, 0.60],
            &[0.48, 0.62, 0.66, 0.58, 0.51],
        )
    }

    /// 10 pairs, no ties, no zeros.
    fn ten() -> Vec<f64> {
        diffs(
            &[
                0.812, 0.774, 0.921, 0.683, 0.857, 0.741, 0.905, 0.662, 0.796, 0.884,
            ],
            &[
                0.781, 0.796, 0.863, 0.640, 0.866, 0.704, 0.834, 0.676, 0.730, 0.832,
            ],
        )
    }

    /// 8 pairs with ties among |d| (d = 2, 1, -2, 3, 1, 2, -1, 4).
    fn ties() -> Vec<f64> {
        diffs(
            &[3., 5., 2., 6., 4., 7., 5., 8.],
            &[1., 4., 4., 3., 3., 5., 6., 4.],
        )
    }

    /// 8 pairs with two zeros and ties (d = 1, 0, -1, 2, 2, 3, 0, -4).
    fn ties_zero() -> Vec<f64> {
        diffs(
            &[5., 3., 4., 6., 7., 9., 2., 1.],
            &[4., 3., 5., 4., 5., 6., 2., 5.],
        )
    }

    /// 60 differences with distinct |d|: more than 50, so the normal
    /// approximation even without ties. In NumPy:
    /// `d60 = np.array([((i * 37) % 61) * (-1.0 if i % 3 == 0 else 1.0) for i in range(1, 61)])`.
    fn sixty() -> Vec<f64> {
        (1..=60)
            .map(|i| ((i * 37) % 61) as f64 * if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect()
    }

    #[test]
    fn t_test_matches_scipy_ttest_rel() {
        // scipy.stats.ttest_rel(a, b).pvalue
        close(paired_t_p(&three()), 0.11863808497475056, 1e-9);
        close(paired_t_p(&five_zero()), 0.27626551865545873, 1e-9);
        close(paired_t_p(&ten()), 0.01808895851866145, 1e-9);
        close(paired_t_p(&ties()), 0.11764555596144675, 1e-9);
        close(paired_t_p(&ties_zero()), 0.6444071578961851, 1e-9);
        // scipy.stats.ttest_1samp(d60, 0.0).pvalue
        close(paired_t_p(&sixty()), 0.027527085681134447, 1e-9);
    }

    #[test]
    fn wilcoxon_exact_matches_scipy() {
        // scipy.stats.wilcoxon(a, b).pvalue (default method="auto": exact
        // here, as there are no ties or zeros and n <= 50).
        assert_eq!(wilcoxon_p(&three()), 0.25);
        assert_eq!(wilcoxon_p(&ten()), 0.02734375);
        // scipy.stats.wilcoxon(d[d != 0]).pvalue: exact on the 4 non-zero
        // differences (scipy.stats.wilcoxon(a, b) and method="exact" give
        // the same 0.375 here).
        assert_eq!(wilcoxon_p(&five_zero()), 0.375);
    }

    #[test]
    fn wilcoxon_normal_approximation_matches_scipy() {
        // scipy.stats.wilcoxon(a, b, method="asymptotic").pvalue (tie
        // correction, no continuity correction: correction=False default).
        close(wilcoxon_p(&ties()), 0.11979493042591832, 1e-9);
        close(wilcoxon_p(&ties_zero()), 0.5270892568655381, 1e-9);
        // scipy.stats.wilcoxon(d60).pvalue (default: n > 50 → asymptotic).
        close(wilcoxon_p(&sixty()), 0.028786639322366157, 1e-9);
    }

    #[test]
    fn compare_reports_mean_and_interval() {
        // mean: d.mean(); ci95:
        // scipy.stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        let c = compare(&ten(), PairedTest::StudentT).unwrap();
        assert_eq!(c.n, 10);
        close(c.mean, 0.03130000000000003, 1e-12);
        close(c.ci95, 0.02455954530099547, 1e-9);
        close(c.p, 0.01808895851866145, 1e-9);

        let c = compare(&three(), PairedTest::Wilcoxon).unwrap();
        assert_eq!(c.n, 3);
        close(c.mean, 0.007666666666666673, 1e-12);
        close(c.ci95, 0.012503218958751559, 1e-9);
        assert_eq!(c.p, 0.25);

        let c = compare(&ties_zero(), PairedTest::Wilcoxon).unwrap();
        assert_eq!(c.n, 8, "zero differences are pairs used");
        assert_eq!(c.mean, 0.375);
        close(c.ci95, 1.8391103048956186, 1e-9);
    }

    #[test]
    fn all_zero_differences_mean_no_difference() {
        let zeros = [0.0; 5];
        for test in [PairedTest::StudentT, PairedTest::Wilcoxon] {
            let c = compare(&zeros, test).unwrap();
            assert_eq!(c.n, 5);
            assert_eq!(c.mean, 0.0);
            assert_eq!(c.ci95, 0.0);
            assert_eq!(c.p, 1.0, "{test:?}");
        }
        assert_eq!(paired_t_p(&zeros), 1.0);
        assert_eq!(wilcoxon_p(&zeros), 1.0);
    }

    #[test]
    fn constant_nonzero_differences() {
        // The same gain on every seed: the t-test's zero variance gives 0.
        let d = [0.1; 4];
        assert_eq!(paired_t_p(&d), 0.0);
        let c = compare(&d, PairedTest::StudentT).unwrap();
        assert_eq!(c.ci95, 0.0);
        // Wilcoxon sees 4 tied positive ranks: normal approximation,
        // z = (10 - 5) / sqrt((4 · 5 · 9 - (4³ - 4) / 2) / 24) = 2;
        // scipy.stats.wilcoxon([0.1] * 4, method="asymptotic").pvalue.
        close(wilcoxon_p(&d), 0.04550026389635839, 1e-9);
    }

    #[test]
    fn small_and_missing_inputs() {
        assert_eq!(compare(&[], PairedTest::StudentT), None);
        assert_eq!(compare(&[f64::NAN], PairedTest::Wilcoxon), None);

        let one = compare(&[0.2], PairedTest::StudentT).unwrap();
        assert_eq!((one.n, one.mean), (1, 0.2));
        assert!(one.ci95.is_nan() && one.p.is_nan());
        // One non-zero difference: exact p = 2 · min(1, 1/2) = 1.
        assert_eq!(compare(&[0.2], PairedTest::Wilcoxon).unwrap().p, 1.0);

        // NaN differences are skipped, not propagated.
        let mut d = ten();
        d.insert(3, f64::NAN);
        let c = compare(&d, PairedTest::Wilcoxon).unwrap();
        assert_eq!(c.n, 10);
        assert_eq!(c.p, 0.02734375);
        close(paired_t_p(&d), 0.01808895851866145, 1e-9);
    }

    #[test]
    fn wilcoxon_is_symmetric_in_sign() {
        for d in [three(), five_zero(), ten(), ties(), ties_zero(), sixty()] {
            let neg: Vec<f64> = d.iter().map(|x| -x).collect();
            assert_eq!(wilcoxon_p(&d), wilcoxon_p(&neg));
        }
    }

    #[test]
    fn wilcoxon_exact_extremes() {
        // All 5 positive: T = 15 is the single most extreme of 2^5 patterns.
        assert_eq!(wilcoxon_p(&[1.0, 2.0, 3.0, 4.0, 5.0]), 2.0 / 32.0);
        // 50 positive distinct differences: exact, 2 / 2^50.
        let d: Vec<f64> = (1..=50).map(f64::from).collect();
        assert_eq!(wilcoxon_p(&d), 2.0 / 2f64.powi(50));
    }

    #[test]
    fn holm_known_example() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        for (got, want) in adj.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            close(*got, want, 1e-12);
        }
    }

    #[test]
    fn holm_nan_caps_and_empty() {
        let adj = holm(&[0.01, f64::NAN, 0.5, 0.02]);
        assert!(adj[1].is_nan());
        // m = 3: 0.01 · 3, max(0.02 · 2, 0.03), min(1, max(0.5 · 1, 0.04)).
        close(adj[0], 0.03, 1e-12);
        close(adj[3], 0.04, 1e-12);
        close(adj[2], 0.5, 1e-12);
        assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
        assert!(holm(&[f64::NAN])[0].is_nan());
    }

    #[test]
    fn t975_values() {
        // Exact for df = 2: 0.95 / sqrt(2 · 0.975 · 0.025) = 4.3026527297494638…
        // (scipy.stats.t.ppf(0.975, 2) = 4.302652729749462).
        close(t975(2.0), 4.302652729911275, 1e-9);
        close(t975(2.0), 4.302652729749464, 1e-12);
        // scipy.stats.t.ppf(0.975, df) for df = 1, 9, 2.5.
        close(t975(1.0), 12.706204736174694, 1e-9);
        close(t975(9.0), 2.262157162798205, 1e-9);
        close(t975(2.5), 3.5746548420036817, 1e-9);
        assert!(t975(0.0).is_nan());
        assert!(t975(-1.0).is_nan());
        assert!(t975(f64::NAN).is_nan());
    }

    #[test]
    fn mean_ranks_with_ties_and_missing() {
        let blocks = vec![
            // Ranks (higher is better): c2 = 1, c0 and c1 tie for 2 and 3.
            vec![0.8, 0.8, 0.9],
            // c0 = 1, c1 = 2, c2 = 3.
            vec![0.9, 0.7, 0.6],
            // Missing c1: skipped.
            vec![0.1, f64::NAN, 0.2],
            // Too short: skipped.
            vec![0.5, 0.4],
        ];
        let (ranks, used) = mean_ranks(&blocks, true);
        assert_eq!(used, 2);
        assert_eq!(ranks, vec![1.75, 2.25, 2.0]);

        // Lower is better reverses the ranks within each block.
        let (ranks, used) = mean_ranks(&blocks, false);
        assert_eq!(used, 2);
        assert_eq!(ranks, vec![2.25, 1.75, 2.0]);

        // All four equal: every rank is 2.5.
        assert_eq!(mean_ranks(&[vec![1.0; 4]], true), (vec![2.5; 4], 1));
        let (ranks, used) = mean_ranks(&[vec![f64::NAN, 1.0]], true);
        assert_eq!(used, 0);
        assert!(ranks.iter().all(|r| r.is_nan()));
        assert_eq!(mean_ranks(&[], true), (vec![], 0));
    }
}
