//! Summary statistics over seeds: mean, sample standard deviation, n, and a
//! 95% confidence interval for the mean from Student's t distribution.
//!
//! The t quantile comes from `statrs`, the same distributions the paired
//! tests of [`super::paired`] use.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean, spread and confidence interval of one cell's values (one per seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); 0 when n = 1.
    pub std: f64,
    /// Number of values.
    pub n: usize,
    /// Half-width of the 95% confidence interval of the mean
    /// (`t(0.975, n - 1) * std / sqrt(n)`); NaN when n = 1.
    pub ci95: f64,
}

impl Summary {
    /// Summary of `values` (NaN-free); `None` when empty.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Summary::from_parts(mean, std, n))
    }

    /// Summary of one cell's values, in the order the query met them: the
    /// mean by compensated (Kahan) summation and the sample standard
    /// deviation by Welford's online update. This is the arithmetic of the
    /// Polars group-by that aggregated the cells before, step for step, so
    /// every table and chart keeps its last digit (a test checks the two
    /// agree bit for bit). `None` when empty.
    pub fn of_cell(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        let mean = match values {
            [] => return None,
            [one] => *one,
            _ => kahan_sum(values) / n as f64,
        };
        let std = welford_variance(values).map_or(0.0, f64::sqrt);
        Some(Summary::from_parts(mean, std, n))
    }

    /// Summary from a mean, a sample standard deviation and a count.
    pub fn from_parts(mean: f64, std: f64, n: usize) -> Summary {
        let ci95 = if n > 1 {
            t_quantile(0.975, (n - 1) as f64) * std / (n as f64).sqrt()
        } else {
            f64::NAN
        };
        Summary {
            mean,
            std: if n > 1 { std } else { 0.0 },
            n,
            ci95,
        }
    }
}

/// The sum of `values` in order, with Kahan's compensation (the error term
/// is kept only while finite, so an infinity does not turn into NaN).
fn kahan_sum(values: &[f64]) -> f64 {
    let (mut sum, mut err) = (0.0f64, 0.0f64);
    for &v in values {
        let y = v - err;
        let next = sum + y;
        let e = (next - sum) - y;
        sum = next;
        if e.is_finite() {
            err = e;
        }
    }
    sum
}

/// The sample variance (n - 1 in the denominator) of `values` in order, by
/// Welford's online update; `None` for fewer than two values.
fn welford_variance(values: &[f64]) -> Option<f64> {
    let (mut mean, mut m2) = (0.0f64, 0.0f64);
    for (i, &v) in values.iter().enumerate() {
        let d1 = v - mean;
        let next = d1 / (i + 1) as f64 + mean;
        m2 += d1 * (v - next);
        mean = next;
    }
    (values.len() > 1).then(|| m2 / (values.len() - 1) as f64)
}

/// The `p` quantile of Student's t distribution with `df` degrees of freedom
/// (`p` in (0, 1), `df` > 0; NaN otherwise). `t_quantile(0.975, 2.0)` is 4.3027.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95% critical values from standard t tables.
        for (df, want) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (3.0, 3.1824),
            (4.0, 2.7764),
            (9.0, 2.2622),
            (29.0, 2.0452),
            (1000.0, 1.9623),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 1e-3, "df {df}: {got} vs {want}");
        }
        assert!((t_quantile(0.025, 4.0) + 2.7764).abs() < 1e-3);
        assert_eq!(t_quantile(0.5, 3.0), 0.0);
    }

    /// The cells' arithmetic is Polars' group-by mean and std, bit for bit
    /// (what the report used before it summarised cells itself).
    #[test]
    fn cell_summaries_match_a_polars_group_by() {
        use polars::prelude::*;
        // Deterministic values of mixed magnitude, in groups of 1 to 120.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let groups: Vec<Vec<f64>> = (0..120usize)
            .map(|g| {
                let scale = [1.0, 1e-3, 0.97, 250.0][g % 4];
                (0..=g).map(|_| scale * (0.9 + 0.1 * next())).collect()
            })
            .collect();
        // The groups' rows interleaved, as a query meets them (one job's
        // values of every cell, then the next job's).
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        for j in 0..groups.len() {
            for (g, group) in groups.iter().enumerate().filter(|(_, v)| v.len() > j) {
                keys.push(format!("k{g}"));
                values.push(group[j]);
            }
        }
        let df = DataFrame::new_infer_height(vec![
            Column::new("key".into(), keys),
            Column::new("value".into(), values),
        ])
        .unwrap();
        let out = df
            .lazy()
            .group_by([col("key")])
            .agg([
                col("value").mean().alias("mean"),
                col("value").std(1).alias("std"),
            ])
            .collect()
            .unwrap();
        let k = out.column("key").unwrap().str().unwrap().clone();
        let means = out.column("mean").unwrap().f64().unwrap().clone();
        let stds = out.column("std").unwrap().f64().unwrap().clone();
        for i in 0..out.height() {
            let g: usize = k.get(i).unwrap()[1..].parse().unwrap();
            let s = Summary::of_cell(&groups[g]).unwrap();
            assert_eq!(
                s.mean.to_bits(),
                means.get(i).unwrap().to_bits(),
                "mean of group {g}"
            );
            let std = stds.get(i).unwrap_or(0.0);
            assert_eq!(s.std.to_bits(), std.to_bits(), "std of group {g}");
        }
    }

    #[test]
    fn summary_of_three() {
        let s = Summary::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert!((s.std - 1.0).abs() < 1e-12);
        assert_eq!(s.n, 3);
        assert!((s.ci95 - 4.3027 / 3f64.sqrt()).abs() < 1e-3);
        let one = Summary::of(&[5.0]).unwrap();
        assert_eq!(one.std, 0.0);
        assert!(one.ci95.is_nan());
        assert!(Summary::of(&[]).is_none());
    }
}
