//! A table's `expect` values: reference numbers with tolerances, checked
//! against the means a rendered table shows, and the Markdown list of the
//! outcomes under the table. `report --check` fails when one fails.
//!
//! Checking is not rendering: [`super::table::render`] hands this module
//! each value it showed ([`Measured`]) and appends what [`markdown`] writes.

use std::fmt::Write as _;

use super::cells::{spec_error, value_label};
use super::table::{fmt_ratio, fmt_value, format_for, NumFormat, TableSpec};
use crate::config::diag::Diagnostic;
use crate::config::raw::RawExpect;

/// One reference value on a cell or a group of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Row label; none = every row.
    pub row: Option<String>,
    /// Column label (or the ratio column's `a/b`); none = every column.
    pub column: Option<String>,
    /// The reference value, in the metric's own units (0.978, not 97.8).
    pub value: f64,
    /// Allowed absolute difference.
    pub tol: f64,
    /// Allowed relative difference.
    pub rel_tol: f64,
    /// Where the reference comes from.
    pub source: String,
}

impl Expect {
    /// Resolves one `expect` entry: it needs `tol` or `rel_tol`.
    pub fn from_raw(spanned: &toml::Spanned<RawExpect>) -> Result<Expect, Diagnostic> {
        let e = spanned.get_ref();
        if e.tol.is_none() && e.rel_tol.is_none() {
            return Err(spec_error(
                "expect",
                "an `expect` entry needs `tol` or `rel_tol`",
                Some(spanned),
            ));
        }
        Ok(Expect {
            row: e.row.as_ref().map(value_label),
            column: e.column.as_ref().map(value_label),
            value: e.value.0,
            tol: e.tol.map_or(0.0, |t| t.0),
            rel_tol: e.rel_tol.map_or(0.0, |t| t.0),
            source: e.source.clone(),
        })
    }

    /// Whether `row` (a row's labels, extra axes first) and `column` are
    /// among those this expectation names. A row is named by its own label
    /// ("relu": every row with it, whatever the extra axes in front) or by
    /// the whole joined label ("3, relu").
    fn names(&self, row: &[String], column: &str) -> bool {
        let row_ok = self
            .row
            .as_ref()
            .is_none_or(|x| row.last() == Some(x) || row.join(", ") == *x);
        let col_ok = self.column.as_ref().is_none_or(|x| x == column);
        row_ok && col_ok
    }

    /// Whether `measured` is within tolerance.
    fn holds(&self, measured: Option<f64>) -> bool {
        measured
            .is_some_and(|m| (m - self.value).abs() <= self.tol + self.rel_tol * self.value.abs())
    }
}

/// A value a table shows: its row, its column and the mean behind it
/// (none when the cell is empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Row labels (extra axes first).
    pub row: Vec<String>,
    /// Column label (or the ratio column's `a/b`).
    pub column: String,
    /// The mean (or the ratio).
    pub mean: Option<f64>,
}

/// The outcome of one expectation on one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The table's title.
    pub table: String,
    /// Row label (extra axes joined in front).
    pub row: String,
    /// Column label.
    pub column: String,
    /// The measured mean (none when the cell is empty).
    pub measured: Option<f64>,
    /// The expectation.
    pub expect: Expect,
    /// Within tolerance.
    pub pass: bool,
}

/// Checks every expectation of `spec` against the values the table shows:
/// one check per value it names, or one failed check when it names none.
pub fn check(spec: &TableSpec, measured: &[Measured]) -> Vec<Check> {
    let mut checks = Vec::new();
    for e in &spec.expect {
        let before = checks.len();
        for m in measured.iter().filter(|m| e.names(&m.row, &m.column)) {
            checks.push(Check {
                table: spec.title.clone(),
                row: m.row.join(", "),
                column: m.column.clone(),
                measured: m.mean,
                expect: e.clone(),
                pass: e.holds(m.mean),
            });
        }
        if checks.len() == before {
            checks.push(Check {
                table: spec.title.clone(),
                row: e.row.clone().unwrap_or_else(|| "*".into()),
                column: e.column.clone().unwrap_or_else(|| "*".into()),
                measured: None,
                expect: e.clone(),
                pass: false,
            });
        }
    }
    checks
}

/// The checks under a table: a count and a list, each value in the table's
/// format (empty without checks).
pub fn markdown(spec: &TableSpec, checks: &[Check]) -> String {
    let mut md = String::new();
    if checks.is_empty() {
        return md;
    }
    let passed = checks.iter().filter(|c| c.pass).count();
    let _ = writeln!(
        md,
        "\n**Expectations:** {passed} of {} pass.\n",
        checks.len()
    );
    let _ = writeln!(
        md,
        "| row | column | measured | expected | tolerance | result | source |"
    );
    let _ = writeln!(md, "| --- | --- | ---: | ---: | --- | --- | --- |");
    let ratio = spec.ratio_name();
    for c in checks {
        let is_ratio = ratio.as_deref() == Some(c.column.as_str());
        let value = spec
            .query
            .values
            .iter()
            .find(|v| v.name == c.column || c.row.ends_with(v.name.as_str()))
            .map(|v| v.name.as_str());
        let (format, digits) = format_for(spec, value);
        let f = |v: f64| {
            if is_ratio {
                fmt_ratio(v)
            } else {
                fmt_value(v, format, digits)
            }
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.row,
            c.column,
            c.measured.map_or_else(|| "no data".into(), f),
            f(c.expect.value),
            tolerance(&c.expect, is_ratio || format != NumFormat::Percent),
            if c.pass { "pass" } else { "**FAIL**" },
            c.expect.source
        );
    }
    md
}

/// An expectation's tolerance as written under a table: `± 0.5%` (in
/// percentage points, unless `plain`), `± 2% rel.`, or both.
fn tolerance(e: &Expect, plain: bool) -> String {
    let mut tol = Vec::new();
    if e.tol > 0.0 || e.rel_tol == 0.0 {
        let t = if plain {
            format!("{}", e.tol)
        } else {
            fmt_tol(e.tol)
        };
        tol.push(format!("± {t}"));
    }
    if e.rel_tol > 0.0 {
        tol.push(format!("± {}% rel.", e.rel_tol * 100.0));
    }
    tol.join(" + ")
}

/// An absolute tolerance on a percentage, in percentage points.
fn fmt_tol(t: f64) -> String {
    format!("{}%", (t * 100.0 * 1e9).round() / 1e9)
}
