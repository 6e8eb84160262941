//! Reference values: SciPy 1.17.1 (NumPy 2.4.6), and the published tables
//! and worked example of Demšar, "Statistical Comparisons of Classifiers
//! over Multiple Data Sets", JMLR 7 (2006). Each test says which call or
//! table its numbers come from.

use super::*;

fn close(got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "got {got:?}, want {want:?} (rel {rel})"
    );
}

fn all_close(got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        close(*g, *w, rel);
    }
}

/// 6 blocks x 4 treatments, no ties within a block. In NumPy, `a` is this
/// array; SciPy's samples are its columns: `friedmanchisquare(*a.T)`.
fn no_ties() -> Vec<Vec<f64>> {
    vec![
        vec![0.912, 0.874, 0.951, 0.903],
        vec![0.861, 0.848, 0.902, 0.877],
        vec![0.701, 0.655, 0.733, 0.690],
        vec![0.955, 0.949, 0.961, 0.958],
        vec![0.832, 0.841, 0.870, 0.815],
        vec![0.774, 0.769, 0.812, 0.791],
    ]
}

/// 5 blocks x 3 treatments with ties, one block tied throughout (`b`).
fn ties() -> Vec<Vec<f64>> {
    vec![
        vec![1., 2., 2.],
        vec![3., 3., 3.],
        vec![1., 2., 3.],
        vec![2., 1., 1.],
        vec![4., 4., 5.],
    ]
}

/// 8 blocks x 5 treatments with ties of two, three and four (`c`).
fn many_ties() -> Vec<Vec<f64>> {
    vec![
        vec![3., 5., 2., 5., 1.],
        vec![4., 4., 4., 1., 2.],
        vec![2., 3., 3., 3., 5.],
        vec![1., 1., 2., 2., 2.],
        vec![5., 4., 3., 2., 1.],
        vec![2., 2., 5., 4., 4.],
        vec![3., 1., 4., 1., 5.],
        vec![3., 3., 3., 3., 4.],
    ]
}

/// Mean ranks of `scores` when higher is better and when lower is.
fn assert_mean_ranks(scores: &[Vec<f64>], higher: &[f64], lower: &[f64]) {
    all_close(
        &RankTest::new(scores, true).unwrap().mean_ranks,
        higher,
        1e-12,
    );
    all_close(
        &RankTest::new(scores, false).unwrap().mean_ranks,
        lower,
        1e-12,
    );
}

#[test]
fn mean_ranks_match_scipy_rankdata() {
    // stats.rankdata(-m, axis=1, method="average").mean(axis=0) (higher is
    // better) and stats.rankdata(m, axis=1, ...).mean(axis=0) (lower).
    assert_mean_ranks(
        &no_ties(),
        &[
            2.6666666666666665,
            3.6666666666666665,
            1.0,
            2.6666666666666665,
        ],
        &[
            2.3333333333333335,
            1.3333333333333333,
            4.0,
            2.3333333333333335,
        ],
    );
    assert_mean_ranks(&ties(), &[2.3, 2.1, 1.6], &[1.7, 1.9, 2.4]);
    assert_mean_ranks(
        &many_ties(),
        &[3.3125, 3.1875, 2.5625, 3.25, 2.6875],
        &[2.6875, 2.8125, 3.4375, 2.75, 3.3125],
    );
}

#[test]
fn mean_ranks_agree_with_the_paired_module() {
    // The per-table mean ranks (`paired::mean_ranks`) and these must not
    // drift apart while both exist.
    for scores in [no_ties(), ties(), many_ties()] {
        for higher in [true, false] {
            let (paired, n) = super::super::paired::mean_ranks(&scores, higher);
            let test = RankTest::new(&scores, higher).unwrap();
            assert_eq!(test.mean_ranks, paired);
            assert_eq!(test.blocks, n);
        }
    }
}

#[test]
fn friedman_matches_scipy_with_its_tie_correction() {
    // r = scipy.stats.friedmanchisquare(*m.T); (r.statistic, r.pvalue)
    let cases = [
        (no_ties(), 13.200000000000003, 0.0042234636586863565),
        (ties(), 2.0000000000000067, 0.3678794411714412),
        (many_ties(), 1.864661654135352, 0.7606333249691523),
    ];
    for (scores, chi2, p) in cases {
        // The direction does not change the statistic.
        for higher in [true, false] {
            let f = RankTest::new(&scores, higher).unwrap().friedman;
            close(f.chi2, chi2, 1e-12);
            close(f.p, p, 1e-9);
            assert_eq!(f.df, (scores[0].len() - 1) as f64);
        }
    }
    // Ties do shrink the correction below 1: (5 blocks, k = 3)
    // 1 - (6 + 24 + 0 + 6 + 6) / (5 * 3 * 8).
    let t = RankTest::new(&ties(), true).unwrap().friedman;
    close(t.tie_correction, 1.0 - 42.0 / 120.0, 1e-15);
    assert_eq!(
        RankTest::new(&no_ties(), true)
            .unwrap()
            .friedman
            .tie_correction,
        1.0
    );
}

#[test]
fn iman_davenport_matches_scipy_f_distribution() {
    // F = (n-1)*chi2/(n*(k-1)-chi2) from the statistic above, and
    // scipy.stats.f.sf(F, k-1, (k-1)*(n-1)).
    let cases = [
        (
            no_ties(),
            13.75000000000001,
            0.00014035366684813185,
            (3.0, 15.0),
        ),
        (ties(), 1.0000000000000042, 0.40959999999999863, (2.0, 8.0)),
        (
            many_ties(),
            0.43313373253493354,
            0.7834852127225357,
            (4.0, 28.0),
        ),
    ];
    for (scores, f, p, dfs) in cases {
        let fr = RankTest::new(&scores, true).unwrap().friedman;
        close(fr.iman_davenport_f, f, 1e-12);
        close(fr.iman_davenport_p, p, 1e-9);
        assert_eq!(fr.f_df, dfs);
    }
}

#[test]
fn friedman_reproduces_demsar_worked_example() {
    // Demšar (2006), the comparison of four C4.5 variants on 14 data sets:
    // mean ranks 3.143, 2.000, 2.893, 1.964 give chi2_F = 9.28 and
    // F_F = 3.69 with (3, 39) degrees of freedom; CD = 1.25 at alpha 0.05
    // and 1.12 at 0.10. The published ranks are rounded, hence the 0.01.
    let ranks = [3.143, 2.000, 2.893, 1.964];
    let f = Friedman::from_mean_ranks(&ranks, 14, 1.0);
    assert!((f.chi2 - 9.28).abs() < 0.01, "{}", f.chi2);
    assert!(
        (f.iman_davenport_f - 3.69).abs() < 0.01,
        "{}",
        f.iman_davenport_f
    );
    assert_eq!(f.f_df, (3.0, 39.0));
    assert!((critical_difference(0.05, 4, 14) - 1.25).abs() < 0.005);
    assert!((critical_difference(0.10, 4, 14) - 1.12).abs() < 0.005);
    // At 0.05 the four lie within one CD (the largest gap, 3.143 - 1.964 =
    // 1.179 < 1.25): one bar. At 0.10 (CD 1.12) C4.5 (index 0) differs from
    // the two best, so two bars: {m+cf, m, cf} and {cf, C4.5}.
    assert_eq!(cd_groups(&ranks, 1.2536), vec![vec![3, 1, 2, 0]]);
    assert_eq!(cd_groups(&ranks, 1.1179), vec![vec![3, 1, 2], vec![2, 0]]);
}

#[test]
fn fully_tied_blocks_mean_no_difference() {
    // SciPy divides 0 by 0 here; every treatment ties in every block.
    let scores = vec![vec![0.5, 0.5, 0.5]; 4];
    let t = RankTest::new(&scores, true).unwrap();
    assert_eq!(t.mean_ranks, vec![2.0; 3]);
    assert_eq!(t.friedman.tie_correction, 0.0);
    assert_eq!((t.friedman.chi2, t.friedman.p), (0.0, 1.0));
    assert_eq!(t.groups(t.cd_05), vec![vec![0, 1, 2]]);
    assert_eq!(t.differs_from_best(t.cd_05), vec![false; 3]);
}

#[test]
fn perfect_agreement_gives_infinite_f() {
    // Every block ranks 0 < 1 < 2 (higher is better: 2 best): chi2 is its
    // maximum N(k - 1) = 8.
    let scores = vec![vec![1.0, 2.0, 3.0]; 4];
    let f = RankTest::new(&scores, true).unwrap().friedman;
    close(f.chi2, 8.0, 1e-12);
    assert_eq!(
        (f.iman_davenport_f, f.iman_davenport_p),
        (f64::INFINITY, 0.0)
    );
}

#[test]
fn blocks_with_nan_are_skipped_and_counted() {
    let mut scores = no_ties();
    scores.push(vec![0.9, f64::NAN, 0.8, 0.7]);
    let with_nan = RankTest::new(&scores, true).unwrap();
    let without = RankTest::new(&no_ties(), true).unwrap();
    assert_eq!((with_nan.blocks, with_nan.skipped), (6, 1));
    assert_eq!(with_nan.mean_ranks, without.mean_ranks);
    assert_eq!(with_nan.friedman, without.friedman);
}

#[test]
fn bad_matrices_are_errors() {
    assert_eq!(
        RankTest::new(&[vec![1.0], vec![2.0]], true),
        Err(RankError::TooFewTreatments(1))
    );
    assert_eq!(
        RankTest::new(&[], true),
        Err(RankError::TooFewTreatments(0))
    );
    assert_eq!(
        RankTest::new(&[vec![1.0, 2.0], vec![1.0]], true),
        Err(RankError::Ragged {
            block: 1,
            len: 1,
            expected: 2
        })
    );
    assert_eq!(
        RankTest::new(&[vec![1.0, f64::NAN]], true),
        Err(RankError::NoCompleteBlock { skipped: 1 })
    );
}

#[test]
fn rank_block_averages_ties() {
    // scipy.stats.rankdata([0.3, 0.1, 0.3, 0.2, 0.3]) = [4, 1, 4, 2, 4]
    let r = rank_block(&[0.3, 0.1, 0.3, 0.2, 0.3], false);
    assert_eq!(r.ranks, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
    assert_eq!(r.tie_sum, 24.0);
    // Higher is better: the three 0.3 share ranks 1..=3.
    let r = rank_block(&[0.3, 0.1, 0.3, 0.2, 0.3], true);
    assert_eq!(r.ranks, vec![2.0, 5.0, 2.0, 4.0, 2.0]);
    // 0.0 and -0.0 tie.
    assert_eq!(rank_block(&[0.0, -0.0], true).ranks, vec![1.5, 1.5]);
}

/// Demšar (2006), Table 5(a): q_0.05 and q_0.10 of the two-tailed Nemenyi
/// test for k = 2..=10, printed to three decimals.
const DEMSAR_Q05: [f64; 9] = [
    1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164,
];
const DEMSAR_Q10: [f64; 9] = [
    1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920,
];

#[test]
fn nemenyi_q_matches_demsar_table() {
    for (i, (q05, q10)) in DEMSAR_Q05.iter().zip(DEMSAR_Q10).enumerate() {
        let k = i + 2;
        // The table is printed to three decimals but is not exactly the
        // rounding of the true quantile: SciPy's (next test) differ from it
        // by up to 0.0007 (k = 3 and 7 at 0.05: 2.3437 and 2.9483 against
        // 2.343 and 2.949). One unit of the last decimal, then.
        assert!((nemenyi_q(0.05, k) - q05).abs() <= 1e-3, "k = {k}");
        assert!((nemenyi_q(0.10, k) - q10).abs() <= 1e-3, "k = {k}");
    }
}

#[test]
fn nemenyi_q_matches_scipy_studentized_range() {
    // scipy.stats.studentized_range.ppf(p, k, np.inf) / np.sqrt(2) (SciPy
    // supports df = inf directly), p = 0.95 and 0.90.
    let reference = [
        (2, 1.9599639845400534, 1.6448536269514722),
        (3, 2.343700586378409, 2.0522927304967755),
        (4, 2.569031772546482, 2.2913414968880566),
        (5, 2.7277743708703763, 2.4595157642714183),
        (10, 3.163683577053373, 2.9198888400615384),
        (20, 3.5437991315177815, 3.319233059548415),
        (50, 3.9923432900094076, 3.7877496141945874),
        (100, 4.302488463597363, 4.110055508575388),
    ];
    for (k, q05, q10) in reference {
        close(nemenyi_q(0.05, k), q05, 1e-8);
        close(nemenyi_q(0.10, k), q10, 1e-8);
    }
}

#[test]
fn studentized_range_cdf_matches_scipy() {
    // scipy.stats.studentized_range.cdf(q, k, np.inf)
    close(studentized_range_cdf(3.0, 3), 0.9144574283450421, 1e-9);
    close(studentized_range_cdf(4.0, 10), 0.8731478678494035, 1e-9);
    close(studentized_range_cdf(5.0, 50), 0.7898546212823788, 1e-9);
    assert_eq!(studentized_range_cdf(0.0, 5), 0.0);
    assert!(studentized_range_cdf(1.0, 1).is_nan());
}

#[test]
fn quantile_inverts_the_cdf_for_many_k() {
    for k in [2, 7, 23, 50, 100] {
        for p in [0.5, 0.9, 0.95, 0.99] {
            let q = studentized_range_quantile(p, k);
            close(studentized_range_cdf(q, k), p, 1e-10);
        }
    }
    assert!(studentized_range_quantile(1.0, 3).is_nan());
    assert!(studentized_range_quantile(0.95, 1).is_nan());
}

#[test]
fn critical_difference_follows_demsar_formula() {
    // CD = q * sqrt(k(k+1)/(6N)) with the q of the table above.
    let cd = critical_difference(0.05, 5, 30);
    close(cd, nemenyi_q(0.05, 5) * (30.0f64 / 180.0).sqrt(), 1e-15);
    assert!((cd - 2.728 * (30.0f64 / 180.0).sqrt()).abs() < 1e-3);
    assert!(critical_difference(0.05, 1, 30).is_nan());
    assert!(critical_difference(0.05, 3, 0).is_nan());
    // More blocks, smaller CD; lower alpha, larger CD.
    assert!(critical_difference(0.05, 5, 60) < cd);
    assert!(critical_difference(0.10, 5, 30) < cd);
}

#[test]
fn cd_groups_are_maximal_runs() {
    // Mean ranks in input order; best first: 3 (1.2), 0 (1.5), 4 (2.4),
    // 1 (2.9), 2 (4.0).
    let ranks = [1.5, 2.9, 4.0, 1.2, 2.4];
    // CD 1.0: from 3: {3, 0} (2.4 - 1.2 = 1.2 is too far); from 0: {0, 4}
    // (0.9); from 4: {4, 1} (0.5); from 1: alone (4.0 - 2.9 = 1.1).
    assert_eq!(
        cd_groups(&ranks, 1.0),
        vec![vec![3, 0], vec![0, 4], vec![4, 1]]
    );
    // CD 1.3: from 3: {3, 0, 4}; from 0: {0, 4} (2.9 - 1.5 = 1.4), inside
    // the first, dropped; from 4: {4, 1}; from 1: {1, 2} (1.1).
    assert_eq!(
        cd_groups(&ranks, 1.3),
        vec![vec![3, 0, 4], vec![4, 1], vec![1, 2]]
    );
    // Exactly CD apart is a difference, not a bar (Demšar: "at least").
    assert_eq!(cd_groups(&[1.0, 2.0], 1.0), Vec::<Vec<usize>>::new());
    // A large CD joins everyone; a tiny one no one.
    assert_eq!(cd_groups(&ranks, 10.0), vec![vec![3, 0, 4, 1, 2]]);
    assert!(cd_groups(&ranks, 0.1).is_empty());
}

#[test]
fn differs_from_best_uses_at_least_cd() {
    let scores = no_ties();
    let t = RankTest::new(&scores, true).unwrap();
    // Mean ranks 2.667, 3.667, 1.0, 2.667 over N = 6, k = 4: CD_0.05 =
    // 2.569 * sqrt(20 / 36) = 1.915.
    assert!((t.cd_05 - 2.569 * (20.0f64 / 36.0).sqrt()).abs() < 1e-3);
    assert_eq!(t.order(), vec![2, 0, 3, 1]);
    assert_eq!(
        t.differs_from_best(t.cd_05),
        vec![false, true, false, false]
    );
    assert_eq!(t.groups(t.cd_05), vec![vec![2, 0, 3], vec![0, 3, 1]]);
    assert_eq!(
        t.differs_from_best(t.mean_ranks[0] - 1.0),
        vec![true, true, false, true]
    );
    assert_eq!(t.treatments(), 4);
}
