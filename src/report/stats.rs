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
