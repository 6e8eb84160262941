//! Rank statistics for comparing many activations over many blocks: mean
//! ranks, the Friedman test, the Nemenyi critical difference and the groups
//! of a critical-difference diagram.
//!
//! Paired tests ([`super::paired`]) compare one candidate with one baseline.
//! With k activations over N blocks (a block is one dataset and seed: every
//! activation's score under the same data and initial weights), the
//! procedure of Demšar, "Statistical Comparisons of Classifiers over
//! Multiple Data Sets", JMLR 7 (2006), compares them all at once:
//!
//! 1. rank the activations within each block (rank 1 = best, ties get the
//!    average of the ranks they span) and average the ranks per activation
//!    ([`RankTest::mean_ranks`]);
//! 2. the Friedman test asks whether the mean ranks differ more than chance
//!    would make them ([`Friedman`]: χ² with k − 1 degrees of freedom, and
//!    Iman and Davenport's less conservative F);
//! 3. the Nemenyi post-hoc test: two activations differ when their mean
//!    ranks differ by at least the critical difference
//!    `CD = q_α · √(k(k + 1) / (6N))` ([`critical_difference`]), where `q_α`
//!    is the Studentised range quantile with infinite degrees of freedom
//!    divided by √2 ([`nemenyi_q`]), computed here for any k rather than
//!    read from a table ([`studentized_range_cdf`]);
//! 4. a critical-difference diagram draws the activations on the mean-rank
//!    axis and joins those not shown to differ with bars
//!    ([`RankTest::groups`]).
//!
//! This module owns the statistics and nothing else: it takes a matrix of
//! scores and returns numbers, so that a table renderer and a chart can
//! share one answer. Gathering the scores into blocks is the caller's job.
//! Distributions come from `statrs`.

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};
use statrs::function::erf::erfc;

/// Why a rank test cannot be computed from a scores matrix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankError {
    /// Fewer than two treatments: nothing to compare.
    #[error("ranking needs at least 2 treatments, got {0}")]
    TooFewTreatments(usize),
    /// A block has a different number of scores than the first.
    #[error("block {block} has {len} scores, the first block has {expected}")]
    Ragged {
        /// The block, from 0.
        block: usize,
        /// Its number of scores.
        len: usize,
        /// The first block's number of scores.
        expected: usize,
    },
    /// Every block misses a score (has a NaN), or there is no block.
    #[error("no block has a score for every treatment ({skipped} blocks with a NaN score)")]
    NoCompleteBlock {
        /// Blocks left out for a NaN.
        skipped: usize,
    },
}

/// The Friedman test of k treatments over N blocks.
///
/// The statistic is Friedman's χ² with SciPy's tie correction
/// (`scipy.stats.friedmanchisquare`): with `R_j` the mean rank of treatment
/// j,
///
/// `χ² = [12N / (k(k + 1)) · Σ R_j² − 3N(k + 1)] / C`,
/// `C = 1 − Σ (t³ − t) / (N k (k² − 1))`,
///
/// the sum running over every group of t tied scores within a block. Without
/// ties C = 1 and χ² is Demšar's equation; ties shrink the ranks' variance,
/// and dividing by C restores it. The p-value is χ²'s upper tail with k − 1
/// degrees of freedom. Demšar recommends Iman and Davenport's
/// `F = (N − 1) χ² / (N(k − 1) − χ²)`, F-distributed with k − 1 and
/// (k − 1)(N − 1) degrees of freedom, as less conservative than χ²; it is
/// computed here from the tie-corrected χ².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Friedman {
    /// Friedman's χ² statistic, tie-corrected.
    pub chi2: f64,
    /// Its degrees of freedom, k − 1.
    pub df: f64,
    /// P(χ²(k − 1) ≥ chi2).
    pub p: f64,
    /// The tie correction C (1 without ties), which χ² has been divided by.
    pub tie_correction: f64,
    /// Iman and Davenport's F statistic (∞ when the blocks rank the
    /// treatments all alike and there are no ties; NaN with one block).
    pub iman_davenport_f: f64,
    /// Its degrees of freedom, (k − 1, (k − 1)(N − 1)).
    pub f_df: (f64, f64),
    /// P(F ≥ iman_davenport_f).
    pub iman_davenport_p: f64,
}

impl Friedman {
    /// The test from the `mean_ranks` of k treatments over `blocks` blocks
    /// and the tie correction C (1.0 without ties; see [`Friedman`]).
    ///
    /// When every block ties every treatment (C = 0), there is no evidence
    /// of a difference: χ² = 0 and p = 1 (SciPy returns NaN).
    pub fn from_mean_ranks(mean_ranks: &[f64], blocks: usize, tie_correction: f64) -> Friedman {
        let k = mean_ranks.len() as f64;
        let n = blocks as f64;
        let df = k - 1.0;
        let chi2 = if tie_correction > 0.0 {
            let squares: f64 = mean_ranks.iter().map(|r| r * r).sum();
            let uncorrected = 12.0 * n / (k * (k + 1.0)) * squares - 3.0 * n * (k + 1.0);
            (uncorrected / tie_correction).max(0.0)
        } else {
            0.0
        };
        let p = ChiSquared::new(df).map_or(f64::NAN, |d| d.sf(chi2));
        let f_df = (df, df * (n - 1.0));
        let (iman_davenport_f, iman_davenport_p) = iman_davenport(chi2, n, k, f_df);
        Friedman {
            chi2,
            df,
            p,
            tie_correction,
            iman_davenport_f,
            f_df,
            iman_davenport_p,
        }
    }
}

/// Iman and Davenport's F from Friedman's χ² and its p-value.
fn iman_davenport(chi2: f64, n: f64, k: f64, (df1, df2): (f64, f64)) -> (f64, f64) {
    if df2 <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let denominator = n * (k - 1.0) - chi2;
    if denominator <= 0.0 {
        return (f64::INFINITY, 0.0);
    }
    let f = (n - 1.0) * chi2 / denominator;
    let p = FisherSnedecor::new(df1, df2).map_or(f64::NAN, |d| d.sf(f));
    (f, p)
}

/// Mean ranks of k treatments over N blocks, with the Friedman test and the
/// Nemenyi critical differences: what a rank table and a
/// critical-difference diagram show.
#[derive(Debug, Clone, PartialEq)]
pub struct RankTest {
    /// Mean rank of each treatment, in the input's column order; 1 is best.
    pub mean_ranks: Vec<f64>,
    /// Blocks used (N): those with a score for every treatment.
    pub blocks: usize,
    /// Blocks left out because a score was NaN.
    pub skipped: usize,
    /// The Friedman test over the blocks used.
    pub friedman: Friedman,
    /// Nemenyi critical difference at α = 0.05.
    pub cd_05: f64,
    /// Nemenyi critical difference at α = 0.10.
    pub cd_10: f64,
}

impl RankTest {
    /// The rank test of `scores`: one row per block, one column per
    /// treatment. Within a block rank 1 is the best score, the highest when
    /// `higher_is_better` (accuracy), else the lowest (loss); tied scores get
    /// the average of the ranks they span. A block with a NaN score is left
    /// out whole (the Friedman test needs complete blocks) and counted in
    /// [`RankTest::skipped`].
    pub fn new(scores: &[Vec<f64>], higher_is_better: bool) -> Result<RankTest, RankError> {
        let k = treatments_of(scores)?;
        let complete = complete_blocks(scores);
        let skipped = scores.len() - complete.len();
        if complete.is_empty() {
            return Err(RankError::NoCompleteBlock { skipped });
        }
        let n = complete.len();
        let (rank_sums, tie_sum) = sum_ranks(&complete, k, higher_is_better);
        let mean_ranks: Vec<f64> = rank_sums.iter().map(|s| s / n as f64).collect();
        let friedman = Friedman::from_mean_ranks(&mean_ranks, n, tie_correction(tie_sum, n, k));
        Ok(RankTest {
            mean_ranks,
            blocks: n,
            skipped,
            friedman,
            cd_05: critical_difference(0.05, k, n),
            cd_10: critical_difference(0.10, k, n),
        })
    }

    /// Number of treatments, k.
    pub fn treatments(&self) -> usize {
        self.mean_ranks.len()
    }

    /// The treatments (column indices) from best to worst mean rank; equal
    /// mean ranks keep the input's order.
    pub fn order(&self) -> Vec<usize> {
        rank_order(&self.mean_ranks)
    }

    /// The bars of a critical-difference diagram with critical difference
    /// `cd` (usually [`RankTest::cd_05`]); see [`cd_groups`].
    pub fn groups(&self, cd: f64) -> Vec<Vec<usize>> {
        cd_groups(&self.mean_ranks, cd)
    }

    /// For each treatment (input order), whether its mean rank is worse than
    /// the best mean rank by at least `cd`: the Nemenyi test says it differs
    /// from the best. Demšar's rule, "at least the critical difference", so
    /// that a treatment either shares a bar with the best ([`cd_groups`]:
    /// less than `cd` apart) or differs from it.
    pub fn differs_from_best(&self, cd: f64) -> Vec<bool> {
        let best = self
            .mean_ranks
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        self.mean_ranks.iter().map(|r| r - best >= cd).collect()
    }
}

/// The number of treatments of a rectangular scores matrix (at least 2).
fn treatments_of(scores: &[Vec<f64>]) -> Result<usize, RankError> {
    let k = scores.first().map_or(0, Vec::len);
    if let Some((block, b)) = scores.iter().enumerate().find(|(_, b)| b.len() != k) {
        return Err(RankError::Ragged {
            block,
            len: b.len(),
            expected: k,
        });
    }
    if k < 2 {
        return Err(RankError::TooFewTreatments(k));
    }
    Ok(k)
}

/// The blocks without a NaN score.
fn complete_blocks(scores: &[Vec<f64>]) -> Vec<&[f64]> {
    scores
        .iter()
        .map(Vec::as_slice)
        .filter(|b| b.iter().all(|v| !v.is_nan()))
        .collect()
}

/// Each treatment's sum of ranks over `blocks` (each of `k` scores), and
/// the blocks' Σ (t³ − t) over tied groups.
fn sum_ranks(blocks: &[&[f64]], k: usize, higher_is_better: bool) -> (Vec<f64>, f64) {
    let mut rank_sums = vec![0.0; k];
    let mut tie_sum = 0.0;
    for block in blocks {
        let ranked = rank_block(block, higher_is_better);
        for (sum, r) in rank_sums.iter_mut().zip(&ranked.ranks) {
            *sum += r;
        }
        tie_sum += ranked.tie_sum;
    }
    (rank_sums, tie_sum)
}

/// One block's ranks and its ties.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRanks {
    /// Rank of each score (from 1, 1 = best), ties averaged.
    pub ranks: Vec<f64>,
    /// Σ (t³ − t) over the groups of t tied scores (0 without ties).
    pub tie_sum: f64,
}

/// Ranks of one block's NaN-free `scores`, rank 1 the best: the highest
/// when `higher_is_better`, else the lowest. Tied scores (`==`, so 0.0 and
/// −0.0 tie) get the average of the ranks they span, as
/// `scipy.stats.rankdata(method="average")`.
pub fn rank_block(scores: &[f64], higher_is_better: bool) -> BlockRanks {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let ord = scores[a].total_cmp(&scores[b]);
        if higher_is_better {
            ord.reverse()
        } else {
            ord
        }
    });
    let mut ranks = vec![0.0; scores.len()];
    let mut tie_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Sorted positions start..end share the ranks start + 1 ..= end.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        let t = (end - start) as f64;
        tie_sum += t * t * t - t;
        start = end;
    }
    BlockRanks { ranks, tie_sum }
}

/// SciPy's tie correction `1 − Σ (t³ − t) / (N k (k² − 1))`.
fn tie_correction(tie_sum: f64, blocks: usize, k: usize) -> f64 {
    let (n, k) = (blocks as f64, k as f64);
    1.0 - tie_sum / (n * k * (k * k - 1.0))
}

/// Indices of `mean_ranks` from the best (lowest) to the worst; equal values
/// keep their order.
fn rank_order(mean_ranks: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..mean_ranks.len()).collect();
    order.sort_by(|&a, &b| mean_ranks[a].total_cmp(&mean_ranks[b]));
    order
}

/// The bars of a critical-difference diagram: the maximal runs of
/// treatments, consecutive in mean-rank order, whose mean ranks all lie
/// less than `cd` apart (no pair within a run is shown to differ).
///
/// The standard construction: for each treatment i in mean-rank order, the
/// run from i to the furthest j with `rank_j − rank_i < cd`; runs of one
/// treatment and runs inside another run are dropped. Each run lists
/// treatment indices best first; the runs are ordered by their best member.
pub fn cd_groups(mean_ranks: &[f64], cd: f64) -> Vec<Vec<usize>> {
    let order = rank_order(mean_ranks);
    let mut groups = Vec::new();
    let mut furthest_so_far = 0;
    for i in 0..order.len() {
        let start = mean_ranks[order[i]];
        let furthest = (i..order.len())
            .take_while(|&j| mean_ranks[order[j]] - start < cd)
            .last()
            .unwrap_or(i);
        // The furthest index never decreases with i, so a run ending where
        // the previous one ended lies inside it.
        if furthest > i && (groups.is_empty() || furthest > furthest_so_far) {
            groups.push(order[i..=furthest].to_vec());
        }
        furthest_so_far = furthest_so_far.max(furthest);
    }
    groups
}

// ---------------------------------------------------------------------------
// Nemenyi: the Studentised range with infinite degrees of freedom
// ---------------------------------------------------------------------------

/// The Nemenyi critical difference of `k` treatments over `blocks` blocks at
/// level `alpha`: `q_α · √(k(k + 1) / (6N))` with `q_α` from [`nemenyi_q`].
/// NaN for fewer than 2 treatments or no block.
pub fn critical_difference(alpha: f64, k: usize, blocks: usize) -> f64 {
    if k < 2 || blocks == 0 {
        return f64::NAN;
    }
    let (kf, n) = (k as f64, blocks as f64);
    nemenyi_q(alpha, k) * (kf * (kf + 1.0) / (6.0 * n)).sqrt()
}

/// Demšar's `q_α` for `k` treatments: the `1 − alpha` quantile of the range
/// of k independent standard normals (the Studentised range with infinite
/// degrees of freedom) divided by √2. For k = 2 this is the two-sided normal
/// quantile, 1.960 at α = 0.05.
pub fn nemenyi_q(alpha: f64, k: usize) -> f64 {
    studentized_range_quantile(1.0 - alpha, k) / std::f64::consts::SQRT_2
}

/// Points of the composite Simpson rule over [`Z_LIMIT`]: enough for about
/// ten significant digits of the range's distribution up to k = 100.
const SIMPSON_INTERVALS: usize = 2000;

/// The integral over the standard normal density stops at ±`Z_LIMIT`, where
/// the density is below 1e-17.
const Z_LIMIT: f64 = 9.0;

/// P(R ≤ q), R the range of `k` independent standard normals: the
/// Studentised range distribution with infinite degrees of freedom
/// (`scipy.stats.studentized_range.cdf(q, k, np.inf)`):
///
/// `P(R ≤ q) = k ∫ φ(z) [Φ(z + q) − Φ(z)]^(k − 1) dz`,
///
/// the smallest of the k values at z and the others within q above it,
/// integrated by the composite Simpson rule over z ∈ [−9, 9]. 0 for q ≤ 0,
/// NaN for k < 2 or NaN q.
pub fn studentized_range_cdf(q: f64, k: usize) -> f64 {
    if k < 2 || q.is_nan() {
        return f64::NAN;
    }
    if q <= 0.0 {
        return 0.0;
    }
    if q.is_infinite() {
        return 1.0;
    }
    let power = (k - 1) as i32;
    let integrand = |z: f64| normal_pdf(z) * normal_between(z, z + q).powi(power);
    let integral = simpson(integrand, -Z_LIMIT, Z_LIMIT, SIMPSON_INTERVALS);
    (k as f64 * integral).clamp(0.0, 1.0)
}

/// The `p` quantile of [`studentized_range_cdf`]: the q with P(R ≤ q) = p,
/// found by bisection (the distribution function increases with q). NaN for
/// k < 2 or p outside (0, 1).
pub fn studentized_range_quantile(p: f64, k: usize) -> f64 {
    if k < 2 || p.is_nan() || p <= 0.0 || p >= 1.0 {
        return f64::NAN;
    }
    let mut hi = 1.0;
    while studentized_range_cdf(hi, k) < p {
        hi *= 2.0;
        if hi > 1e3 {
            return f64::NAN;
        }
    }
    let mut lo = 0.0;
    while hi - lo > 1e-12 * hi {
        let mid = 0.5 * (lo + hi);
        if studentized_range_cdf(mid, k) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The standard normal density.
fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Φ(b) − Φ(a) for a ≤ b, from the upper tails when both are positive so
/// that the difference keeps its digits far out in the tail.
fn normal_between(a: f64, b: f64) -> f64 {
    let upper = |x: f64| 0.5 * erfc(x / std::f64::consts::SQRT_2);
    if a > 0.0 {
        upper(a) - upper(b)
    } else {
        upper(-b) - upper(-a)
    }
}

/// ∫ f over [a, b] by the composite Simpson rule with `intervals` (even)
/// intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, intervals: usize) -> f64 {
    let h = (b - a) / intervals as f64;
    let inner: f64 = (1..intervals)
        .map(|i| {
            let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
            weight * f(a + i as f64 * h)
        })
        .sum();
    (f(a) + inner + f(b)) * h / 3.0
}

#[cfg(test)]
mod tests;
