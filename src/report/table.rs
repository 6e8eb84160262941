//! Tables: a `[[tables]]` entry resolved into a [`TableSpec`], and the pure
//! function [`render`] from aggregated [`Cells`] to Markdown text plus the
//! outcome of its `expect` checks. Nothing here touches the disk, so every
//! table kind is snapshot-tested on fixture data.

use std::fmt::Write as _;

use super::cells::{
    spec_error, value_label, value_name, Baseline, Cells, Dim, EpochSel, Filter, Paired, Query,
};
use super::paired::{self, Comparison, PairedTest};
use super::stats::Summary;
use crate::config::diag::Diagnostic;
use crate::config::raw::RawTable;
use crate::results::ValueName;

/// How numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumFormat {
    /// `97.81%` (the value times 100).
    Percent,
    /// `0.0312`.
    Fixed,
    /// `2.45e-3`.
    Scientific,
}

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

/// A resolved `[[tables]]` entry.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Heading.
    pub title: String,
    /// What to aggregate (dims = [rows, columns]).
    pub query: Query,
    /// Number format.
    pub format: NumFormat,
    /// Digits after the point.
    pub digits: usize,
    /// `mean ± std` cells.
    pub std: bool,
    /// Ratio column `a/b` between two column labels.
    pub ratio: Option<(String, String)>,
    /// Cells as paired differences from this label of the columns (or rows).
    pub baseline: Option<Baseline>,
    /// A `mean rank` column.
    pub rank: bool,
    /// Reference values.
    pub expect: Vec<Expect>,
}

impl TableSpec {
    /// The value named `name` (a label of the `metric` dimension), or the
    /// table's first value without one.
    fn value(&self, name: Option<&str>) -> Option<&ValueName> {
        match name {
            Some(n) => self.query.values.iter().find(|v| v.name == n),
            None => self.query.values.first(),
        }
    }
}

/// Digits after the point of a `fixed` table without `digits`.
pub const DEFAULT_DIGITS: usize = 4;

impl TableSpec {
    /// Resolves a `[[tables]]` entry against the experiment's axes.
    pub fn from_raw(t: &RawTable, axes: &[String]) -> Result<TableSpec, Diagnostic> {
        let exp = t.experiment.get_ref().clone();
        let rows = Dim::parse_at(&t.rows, axes, "rows")?;
        let columns = match &t.columns {
            Some(c) => Dim::parse_at(c, axes, "columns")?,
            None => Dim::Metric,
        };
        if rows == columns {
            return Err(spec_error(
                "columns",
                format!("rows and columns are both `{}`", rows.name()),
                t.columns.as_ref(),
            ));
        }
        let values = t
            .value
            .get_ref()
            .0
            .iter()
            .map(|v| value_name(v, "value", Some(&t.value)))
            .collect::<Result<Vec<ValueName>, Diagnostic>>()?;
        if values.is_empty() {
            return Err(spec_error(
                "value",
                "`value` names no metric",
                Some(&t.value),
            ));
        }
        if values.len() > 1 && rows != Dim::Metric && columns != Dim::Metric {
            return Err(spec_error(
                "value",
                "several values need `metric` as rows or columns",
                Some(&t.value),
            ));
        }
        let epoch = EpochSel::parse(t.epoch.as_ref().map(|e| e.get_ref()))
            .map_err(|m| spec_error("epoch", m, t.epoch.as_ref()))?;
        let format = match t.format.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("fixed") => NumFormat::Fixed,
            Some("percent") => NumFormat::Percent,
            Some("scientific") => NumFormat::Scientific,
            Some(other) => {
                return Err(spec_error(
                    "format",
                    format!("format `{other}` is not one of percent, fixed, scientific"),
                    t.format.as_ref(),
                ))
            }
        };
        let digits = match &t.digits {
            Some(d) if (0..=12).contains(d.get_ref()) => *d.get_ref() as usize,
            Some(d) => {
                return Err(spec_error(
                    "digits",
                    format!("digits must be 0 to 12, not {}", d.get_ref()),
                    Some(d),
                ))
            }
            None if format == NumFormat::Fixed => DEFAULT_DIGITS,
            None => 2,
        };
        let ratio = match &t.ratio {
            None => None,
            Some(r) => match r.get_ref().as_slice() {
                [a, b] => Some((a.clone(), b.clone())),
                _ => {
                    return Err(spec_error(
                        "ratio",
                        "ratio must name two column labels: [\"a\", \"b\"]",
                        Some(r),
                    ))
                }
            },
        };
        let baseline = Baseline::parse(t.baseline.as_ref(), t.test.as_ref())?;
        let rank = t.rank.unwrap_or(false);
        if rank && rows == Dim::Metric {
            return Err(spec_error(
                "rank",
                "`rank` ranks the rows against each other, so rows must not be `metric`",
                Some(&t.rows),
            ));
        }
        let filter = filter_pairs(t.filter.as_ref().map(|f| f.get_ref()));
        let mut expect = Vec::new();
        for spanned in &t.expect {
            let e = spanned.get_ref();
            if e.tol.is_none() && e.rel_tol.is_none() {
                return Err(spec_error(
                    "expect",
                    "an `expect` entry needs `tol` or `rel_tol`",
                    Some(spanned),
                ));
            }
            expect.push(Expect {
                row: e.row.as_ref().map(value_label),
                column: e.column.as_ref().map(value_label),
                value: e.value.0,
                tol: e.tol.map_or(0.0, |t| t.0),
                rel_tol: e.rel_tol.map_or(0.0, |t| t.0),
                source: e.source.clone(),
            });
        }
        let title = t.title.clone().unwrap_or_else(|| {
            let names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
            format!("{exp}: {}", names.join(", "))
        });
        Ok(TableSpec {
            title,
            query: Query {
                experiment: exp,
                values,
                dims: vec![rows, columns],
                epoch,
                filter,
            },
            format,
            digits,
            std: t.std.unwrap_or(true),
            ratio,
            baseline,
            rank,
            expect,
        })
    }
}

/// `filter = { depth = 5, activation = ["tanh", "arctan"] }` as (field,
/// accepted labels): a list keeps jobs matching any of its values.
pub fn filter_pairs(t: Option<&toml::Table>) -> Filter {
    t.map(|t| {
        t.iter()
            .map(|(k, v)| {
                let labels = match v {
                    toml::Value::Array(items) => items.iter().map(value_label).collect(),
                    v => vec![value_label(v)],
                };
                (k.clone(), labels)
            })
            .collect()
    })
    .unwrap_or_default()
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

/// A rendered table.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Markdown: heading, table, notes, expectation results.
    pub markdown: String,
    /// Every expectation checked.
    pub checks: Vec<Check>,
}

/// Writes `v` in `format` with `digits`.
pub fn fmt_value(v: f64, format: NumFormat, digits: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else {
            format!("{v}")
        };
    }
    match format {
        NumFormat::Percent => format!("{:.*}%", digits, v * 100.0),
        NumFormat::Fixed => format!("{v:.digits$}"),
        NumFormat::Scientific => format!("{v:.digits$e}"),
    }
}

/// The format of a value: `percent` applies to accuracies and fractions
/// only; any other value in a percent table is written `fixed`.
fn format_for(spec: &TableSpec, value: Option<&str>) -> (NumFormat, usize) {
    let fraction = spec.value(value).is_some_and(ValueName::is_fraction);
    if spec.format == NumFormat::Percent && !fraction {
        (NumFormat::Fixed, spec.digits.max(4))
    } else {
        (spec.format, spec.digits)
    }
}

fn fmt_cell(s: &Summary, spec: &TableSpec, value: Option<&str>) -> String {
    let (format, digits) = format_for(spec, value);
    let m = fmt_value(s.mean, format, digits);
    if spec.std && s.n > 1 {
        let spec = &TableSpec {
            format,
            digits,
            ..spec.clone()
        };
        let sd = match spec.format {
            NumFormat::Percent => format!("{:.*}", spec.digits, s.std * 100.0),
            _ => fmt_value(s.std, spec.format, spec.digits),
        };
        format!("{m} ± {sd}")
    } else {
        m
    }
}

/// A paired cell: `+1.23% ± 0.45 (p = 0.012, Holm 0.036) *`.
fn fmt_paired(c: &Comparison, holm: f64, spec: &TableSpec, value: Option<&str>) -> String {
    let (format, digits) = format_for(spec, value);
    let d = fmt_value(c.mean, format, digits);
    let d = if c.mean > 0.0 { format!("+{d}") } else { d };
    let ci = if c.ci95.is_nan() {
        "—".to_string()
    } else if format == NumFormat::Percent {
        format!("{:.*}", digits, c.ci95 * 100.0)
    } else {
        fmt_value(c.ci95, format, digits)
    };
    let mark = if holm < 0.05 { " *" } else { "" };
    format!("{d} ± {ci} (p {}, Holm {}){mark}", fmt_p(c.p), fmt_p(holm))
}

/// A p-value: three decimals, `< 0.001` below that, `—` when undefined.
fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "—".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// Each row's mean rank (1 = best) over blocks of one seed and one column
/// where every row has a value; and how many blocks there were.
fn mean_rank_column(spec: &TableSpec, cells: &Cells, rows: &[Vec<String>]) -> (Vec<f64>, usize) {
    let col_dim = cells.dims.len() - 1;
    let mut total = vec![0.0; rows.len()];
    let mut blocks_used = 0;
    for c in &cells.labels[col_dim] {
        let key = |r: &Vec<String>| {
            let mut k = r.clone();
            k.push(c.clone());
            k
        };
        let mut seeds: Vec<i64> = rows
            .iter()
            .filter_map(|r| cells.samples.get(&key(r)))
            .flatten()
            .map(|(seed, _)| *seed)
            .collect();
        seeds.sort_unstable();
        seeds.dedup();
        let blocks: Vec<Vec<f64>> = seeds
            .iter()
            .map(|seed| {
                rows.iter()
                    .map(|r| {
                        cells
                            .samples
                            .get(&key(r))
                            .and_then(|vs| vs.iter().find(|(s, _)| s == seed))
                            .map_or(f64::NAN, |(_, v)| *v)
                    })
                    .collect()
            })
            .collect();
        let named = (cells.dims[col_dim] == Dim::Metric).then_some(c.as_str());
        let higher = spec.value(named).is_some_and(ValueName::higher_is_better);
        let (ranks, n) = paired::mean_ranks(&blocks, higher);
        if n > 0 {
            for (t, r) in total.iter_mut().zip(ranks) {
                *t += r * n as f64;
            }
            blocks_used += n;
        }
    }
    let ranks = total
        .into_iter()
        .map(|t| t / blocks_used.max(1) as f64)
        .collect();
    (ranks, blocks_used)
}

fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "—".into()
    } else if r.abs() >= 100.0 {
        format!("{r:.0}×")
    } else if r.abs() >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

/// Renders the table and checks its expectations. Pure: same cells, same text.
pub fn render(spec: &TableSpec, cells: &Cells) -> Rendered {
    let nd = cells.dims.len();
    let col_dim = nd - 1;
    let row_dims: Vec<usize> = (0..col_dim).collect();
    let columns = &cells.labels[col_dim];

    // Rows: every combination of row labels that has at least one cell.
    let mut rows: Vec<Vec<String>> = vec![Vec::new()];
    for &d in &row_dims {
        rows = rows
            .into_iter()
            .flat_map(|p| {
                cells.labels[d].iter().map(move |l| {
                    let mut q = p.clone();
                    q.push(l.clone());
                    q
                })
            })
            .collect();
    }
    rows.retain(|r| {
        columns.iter().any(|c| {
            let mut k = r.clone();
            k.push(c.clone());
            cells.get(&k).is_some()
        })
    });

    let ratio_name = spec.ratio.as_ref().map(|(a, b)| format!("{a}/{b}"));
    let metric_dim = cells.dims.iter().position(|d| d == &Dim::Metric);
    // The declared rows are the last row dimension; extra axes come first.
    let paired: Option<Paired> = spec.baseline.as_ref().and_then(|b| {
        cells
            .dim_with_label(&[col_dim, col_dim - 1], &b.label)
            .map(|d| cells.paired(d, &b.label, b.test))
    });
    let ranks = spec.rank.then(|| mean_rank_column(spec, cells, &rows));
    let mut md = String::new();
    let _ = writeln!(md, "### {}\n", spec.title);
    let mut header: Vec<String> = row_dims
        .iter()
        .map(|&d| cells.dims[d].name().to_string())
        .collect();
    header.extend(columns.iter().map(|c| match &paired {
        Some(p) if p.dim == col_dim && *c == p.baseline => format!("{c} (baseline)"),
        _ => c.clone(),
    }));
    header.extend(ratio_name.iter().cloned());
    if ranks.is_some() {
        header.push("mean rank".into());
    }
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let aligns: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| if i < row_dims.len() { "---" } else { "---:" })
        .collect();
    let _ = writeln!(md, "| {} |", aligns.join(" | "));

    // Measured values for checks: (row key, column label) -> mean.
    let mut measured: Vec<(Vec<String>, String, Option<f64>)> = Vec::new();
    for (ri, r) in rows.iter().enumerate() {
        let mut line: Vec<String> = r.clone();
        if let Some(p) = paired
            .as_ref()
            .filter(|p| p.dim < col_dim && r[p.dim] == p.baseline)
        {
            line[p.dim] = format!("{} (baseline)", line[p.dim]);
        }
        for c in columns {
            let mut k = r.clone();
            k.push(c.clone());
            let s = cells.get(&k);
            let value = metric_dim.map(|i| k[i].as_str());
            let text = match &paired {
                Some(p) if k[p.dim] != p.baseline => p
                    .tests
                    .get(&k)
                    .map_or_else(|| "—".into(), |(c, h)| fmt_paired(c, *h, spec, value)),
                _ => s.map_or_else(|| "—".into(), |s| fmt_cell(s, spec, value)),
            };
            line.push(text);
            measured.push((r.clone(), c.clone(), s.map(|s| s.mean)));
        }
        if let (Some((a, b)), Some(name)) = (&spec.ratio, &ratio_name) {
            let get = |c: &String| {
                let mut k = r.clone();
                k.push(c.clone());
                cells.get(&k).map(|s| s.mean)
            };
            let ratio = match (get(a), get(b)) {
                (Some(x), Some(y)) => Some(x / y),
                _ => None,
            };
            line.push(ratio.map_or_else(|| "—".into(), fmt_ratio));
            measured.push((r.clone(), name.clone(), ratio));
        }
        if let Some((ranks, _)) = &ranks {
            line.push(format!("{:.2}", ranks[ri]));
        }
        let _ = writeln!(md, "| {} |", line.join(" | "));
    }
    md.push('\n');

    // Notes: what the cells are, and who was left out.
    let mut note = if spec.std {
        "Cells: mean ± std over seeds".to_string()
    } else {
        "Cells: mean over seeds".to_string()
    };
    match cells.n_range() {
        Some((lo, hi)) if lo == hi => {
            let _ = write!(note, " (n = {lo})");
        }
        Some((lo, hi)) => {
            let _ = write!(note, " (n = {lo} to {hi})");
        }
        None => note = "No results for this table.".into(),
    }
    let epoch_note = match spec.query.epoch {
        _ if spec.query.dims.contains(&Dim::Epoch) => String::new(),
        EpochSel::Last => "; last epoch".into(),
        EpochSel::Best => "; best epoch of each run".into(),
        EpochSel::At(e) => format!("; epoch {e}"),
    };
    if cells.n_range().is_some() {
        note.push_str(&epoch_note);
        note.push('.');
    }
    let _ = writeln!(md, "_{note}_");
    if let Some(p) = &paired {
        let _ = writeln!(md, "\n_{}_", paired_note(p, spec));
    }
    if let Some((_, blocks)) = &ranks {
        let _ = writeln!(
            md,
            "\n_Mean rank: each row's rank among the {} rows (1 = best: highest for accuracies, \
             lowest otherwise) within one seed and one column, averaged over the {blocks} such \
             blocks in which every row has a value._",
            rows.len()
        );
    }
    if !cells.excluded.is_empty() {
        let failed = cells.excluded.iter().filter(|e| e.status.is_some()).count();
        let missing = cells.excluded.len() - failed;
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{failed} failed or diverged"));
        }
        if missing > 0 {
            parts.push(format!("{missing} not run yet"));
        }
        let _ = writeln!(
            md,
            "\n**Not averaged in:** {} of {} jobs ({}):\n",
            cells.excluded.len(),
            cells.excluded.len() + cells.included,
            parts.join(", ")
        );
        for e in &cells.excluded {
            match &e.error {
                Some(err) => {
                    let _ = writeln!(
                        md,
                        "- `{}`: {} ({})",
                        e.label,
                        e.status_text(),
                        err.replace('\n', " ")
                    );
                }
                None => {
                    let _ = writeln!(md, "- `{}`: {}", e.label, e.status_text());
                }
            }
        }
    }

    // Expectations.
    let mut checks = Vec::new();
    for e in &spec.expect {
        let mut hit = false;
        for (r, c, m) in &measured {
            // A row is named by its own label ("relu": every row with it,
            // whatever the extra axes in front) or by the whole joined label
            // ("3, relu").
            let row_ok = e
                .row
                .as_ref()
                .is_none_or(|x| r.last() == Some(x) || r.join(", ") == *x);
            let col_ok = e.column.as_ref().is_none_or(|x| x == c);
            if !(row_ok && col_ok) {
                continue;
            }
            hit = true;
            let pass = m.is_some_and(|m| (m - e.value).abs() <= e.tol + e.rel_tol * e.value.abs());
            checks.push(Check {
                table: spec.title.clone(),
                row: r.join(", "),
                column: c.clone(),
                measured: *m,
                expect: e.clone(),
                pass,
            });
        }
        if !hit {
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
    if !checks.is_empty() {
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
        for c in &checks {
            let is_ratio = ratio_name.as_deref() == Some(c.column.as_str());
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
            let mut tol = Vec::new();
            if c.expect.tol > 0.0 || c.expect.rel_tol == 0.0 {
                let t = if is_ratio || format != NumFormat::Percent {
                    format!("{}", c.expect.tol)
                } else {
                    fmt_tol(c.expect.tol)
                };
                tol.push(format!("± {t}"));
            }
            if c.expect.rel_tol > 0.0 {
                tol.push(format!("± {}% rel.", c.expect.rel_tol * 100.0));
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.row,
                c.column,
                c.measured.map_or_else(|| "no data".into(), f),
                f(c.expect.value),
                tol.join(" + "),
                if c.pass { "pass" } else { "**FAIL**" },
                c.expect.source
            );
        }
    }
    Rendered {
        markdown: md,
        checks,
    }
}

/// The note under a paired table: what its cells are.
fn paired_note(p: &Paired, spec: &TableSpec) -> String {
    let test = match p.test {
        PairedTest::StudentT => "paired t-test",
        PairedTest::Wilcoxon => "Wilcoxon signed-rank test",
    };
    let unit = if spec.format == NumFormat::Percent {
        " (percentage points for percentages)"
    } else {
        ""
    };
    let mut note = format!(
        "Cells other than `{b}`: the difference from `{b}`{unit}, paired by seed and by every \
         other label, as mean ± the 95% CI half-width (Student t); p of the two-sided {test}; \
         Holm: p after Holm's correction over the table's {n} comparisons; * marks Holm p < 0.05.",
        b = p.baseline,
        n = p.tests.len()
    );
    if p.unpaired > 0 {
        let (n, verb) = match p.unpaired {
            1 => ("1 value".to_string(), "was"),
            n => (format!("{n} values"), "were"),
        };
        let _ = write!(
            note,
            " {n} without a partner of the same seed {verb} left out of the pairing."
        );
    }
    note
}

fn fmt_tol(t: f64) -> String {
    format!("{}%", (t * 100.0 * 1e9).round() / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(fmt_value(0.97812, NumFormat::Percent, 2), "97.81%");
        assert_eq!(fmt_value(0.0312, NumFormat::Fixed, 3), "0.031");
        assert_eq!(fmt_value(0.002451, NumFormat::Scientific, 2), "2.45e-3");
        assert_eq!(fmt_ratio(204.2), "204×");
        assert_eq!(fmt_ratio(4.17), "4.17×");
    }
}
