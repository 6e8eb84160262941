//! Tables: a `[[tables]]` entry resolved into a [`TableSpec`], and the pure
//! function [`render`] from aggregated [`Cells`] to Markdown text, in named
//! steps (layout, header, body, notes), plus the outcome of its `expect`
//! checks (which [`super::expect`] owns). Nothing here touches the disk, so
//! every table kind is snapshot-tested on fixture data.

use std::fmt::Write as _;

use super::cells::{
    spec_error, value_label, value_name, Baseline, Cells, Dim, EpochSel, Filter, Paired, Query,
};
use super::expect::{self, Check, Expect, Measured};
use super::paired::{self, Comparison, PairedTest};
use super::ranks::RankTest;
use super::stats::Summary;
use super::tune::Tune;
use crate::config::diag::{did_you_mean, Diagnostic};
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
    /// `test = "friedman"`: the Friedman test of the mean ranks, with the
    /// Nemenyi critical difference.
    pub friedman: bool,
    /// Each cell at its best setting of these axes, chosen by this metric.
    pub tune: Option<Tune>,
    /// Reference values.
    pub expect: Vec<Expect>,
}

impl TableSpec {
    /// The ratio column's name, `a/b`.
    pub fn ratio_name(&self) -> Option<String> {
        self.ratio.as_ref().map(|(a, b)| format!("{a}/{b}"))
    }

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
        let (rows, columns) = table_dims(t, axes)?;
        let values = table_values(t, &rows, &columns)?;
        let epoch = EpochSel::parse(t.epoch.as_ref().map(|e| e.get_ref()))
            .map_err(|m| spec_error("epoch", m, t.epoch.as_ref()))?;
        let (format, digits) = number_format(t)?;
        let ratio = ratio_columns(t)?;
        let rank = t.rank.unwrap_or(false);
        if rank && rows == Dim::Metric {
            return Err(spec_error(
                "rank",
                "`rank` ranks the rows against each other, so rows must not be `metric`",
                Some(&t.rows),
            ));
        }
        let (baseline, friedman) = table_tests(t, rank)?;
        let tune = Tune::parse(t.tune.as_ref(), axes, &[&rows, &columns])?;
        let filter = filter_pairs(t.filter.as_ref().map(|f| f.get_ref()));
        let expect = t
            .expect
            .iter()
            .map(Expect::from_raw)
            .collect::<Result<Vec<_>, _>>()?;
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
            friedman,
            tune,
            expect,
        })
    }
}

/// A table's `baseline` with its paired test, and whether it tests its mean
/// ranks (`test = "friedman"`, which needs `rank = true` and no baseline).
fn table_tests(t: &RawTable, rank: bool) -> Result<(Option<Baseline>, bool), Diagnostic> {
    const TESTS: [&str; 3] = ["t", "wilcoxon", "friedman"];
    match t.test.as_ref().map(|s| s.get_ref().as_str()) {
        Some("friedman") if !rank => Err(spec_error(
            "test",
            "`test = \"friedman\"` tests the rows' mean ranks; set `rank = true` too",
            t.test.as_ref(),
        )),
        Some("friedman") if t.baseline.is_some() => Err(spec_error(
            "test",
            "with `baseline`, `test` is the paired test (t or wilcoxon); the Friedman test of \
             the ranks goes in a table of its own, without `baseline`",
            t.test.as_ref(),
        )),
        Some("friedman") => Ok((None, true)),
        Some(other) if !TESTS.contains(&other) => Err(spec_error(
            "test",
            format!("test `{other}` is not one of {}", TESTS.join(", ")),
            t.test.as_ref(),
        )
        .help_opt(did_you_mean(other, TESTS))),
        _ => Ok((
            Baseline::parse(t.baseline.as_ref(), t.test.as_ref())?,
            false,
        )),
    }
}

/// A table's rows and columns (default: `metric`), which must differ.
fn table_dims(t: &RawTable, axes: &[String]) -> Result<(Dim, Dim), Diagnostic> {
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
    Ok((rows, columns))
}

/// A table's values, resolved against the metric catalogue: at least one,
/// and several only with `metric` as rows or columns.
fn table_values(t: &RawTable, rows: &Dim, columns: &Dim) -> Result<Vec<ValueName>, Diagnostic> {
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
    if values.len() > 1 && *rows != Dim::Metric && *columns != Dim::Metric {
        return Err(spec_error(
            "value",
            "several values need `metric` as rows or columns",
            Some(&t.value),
        ));
    }
    Ok(values)
}

/// A table's number format (default `fixed`) and digits after the point
/// (0 to 12; default 4 for `fixed`, else 2).
fn number_format(t: &RawTable) -> Result<(NumFormat, usize), Diagnostic> {
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
    Ok((format, digits))
}

/// A table's ratio column: two column labels, or none.
fn ratio_columns(t: &RawTable) -> Result<Option<(String, String)>, Diagnostic> {
    let Some(r) = &t.ratio else {
        return Ok(None);
    };
    match r.get_ref().as_slice() {
        [a, b] => Ok(Some((a.clone(), b.clone()))),
        _ => Err(spec_error(
            "ratio",
            "ratio must name two column labels: [\"a\", \"b\"]",
            Some(r),
        )),
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
pub(super) fn format_for(spec: &TableSpec, value: Option<&str>) -> (NumFormat, usize) {
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

/// The blocks a rank comparison ranks the rows in: per column, one per
/// seed, every row's value there (NaN where it has none), with whether
/// higher is better in that column.
fn rank_blocks(
    spec: &TableSpec,
    cells: &Cells,
    rows: &[Vec<String>],
) -> Vec<(Vec<Vec<f64>>, bool)> {
    let col_dim = cells.dims.len() - 1;
    let mut out = Vec::new();
    for c in &cells.labels[col_dim] {
        let key = |r: &Vec<String>| cell_key(r, c);
        let mut seeds: Vec<i64> = rows
            .iter()
            .filter_map(|r| cells.samples.get(&key(r)))
            .flatten()
            .map(|(seed, _)| *seed)
            .collect();
        seeds.sort_unstable();
        seeds.dedup();
        let value_at = |r: &Vec<String>, seed: i64| {
            cells
                .samples
                .get(&key(r))
                .and_then(|vs| vs.iter().find(|(s, _)| *s == seed))
                .map_or(f64::NAN, |(_, v)| *v)
        };
        let blocks: Vec<Vec<f64>> = seeds
            .iter()
            .map(|&seed| rows.iter().map(|r| value_at(r, seed)).collect())
            .collect();
        let named = (cells.dims[col_dim] == Dim::Metric).then_some(c.as_str());
        let higher = spec.value(named).is_some_and(ValueName::higher_is_better);
        out.push((blocks, higher));
    }
    out
}

/// Each of the `rows`' mean rank (1 = best) over the [`rank_blocks`]
/// where every row has a value; and how many blocks there were.
fn mean_rank_column(blocks: &[(Vec<Vec<f64>>, bool)], rows: usize) -> (Vec<f64>, usize) {
    let mut total = vec![0.0; rows];
    let mut blocks_used = 0;
    for (blocks, higher) in blocks {
        let (ranks, n) = paired::mean_ranks(blocks, *higher);
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

/// The Friedman test of the rows' ranks over every one of the
/// [`rank_blocks`] (values turned so that higher is better in each), with
/// the Nemenyi critical difference; `None` when there is nothing to test.
fn friedman_test(blocks: &[(Vec<Vec<f64>>, bool)]) -> Option<RankTest> {
    let scores: Vec<Vec<f64>> = blocks
        .iter()
        .flat_map(|(blocks, higher)| {
            let sign = if *higher { 1.0 } else { -1.0 };
            blocks
                .iter()
                .map(move |b| b.iter().map(|v| sign * v).collect::<Vec<f64>>())
        })
        .collect();
    RankTest::new(&scores, true).ok()
}

/// A ratio: `204×`, `12.5×`, `4.17×`; `—` when undefined.
pub(super) fn fmt_ratio(r: f64) -> String {
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

/// Renders the table and checks its expectations, in steps: the layout
/// (rows, columns, comparisons), the header, the body (which also yields
/// the measured values), the notes, then the expectations
/// ([`super::expect`]). Pure: same cells, same text.
pub fn render(spec: &TableSpec, cells: &Cells) -> Rendered {
    let layout = Layout::of(spec, cells);
    let mut md = format!("### {}\n\n", spec.title);
    md.push_str(&header(cells, &layout));
    let (body, measured) = body(spec, cells, &layout);
    md.push_str(&body);
    md.push('\n');
    md.push_str(&notes(spec, cells, &layout));
    let checks = expect::check(spec, &measured);
    md.push_str(&expect::markdown(spec, &checks));
    Rendered {
        markdown: md,
        checks,
    }
}

/// What a table shows, decided from its spec and cells before any text.
struct Layout<'c> {
    /// The column dimension (the last); the ones before it key the rows.
    col_dim: usize,
    /// The column labels.
    columns: &'c [String],
    /// Every combination of row labels that has at least one cell.
    rows: Vec<Vec<String>>,
    /// The ratio column's name, `a/b`.
    ratio: Option<String>,
    /// The dimension of value names, if any.
    metric_dim: Option<usize>,
    /// The comparison with the baseline, when it has results.
    paired: Option<Paired>,
    /// Each row's mean rank and the number of blocks ranked.
    ranks: Option<(Vec<f64>, usize)>,
    /// The Friedman test of those ranks, with `test = "friedman"`.
    friedman: Option<RankTest>,
}

impl<'c> Layout<'c> {
    fn of(spec: &TableSpec, cells: &'c Cells) -> Layout<'c> {
        let col_dim = cells.dims.len() - 1;
        let columns = &cells.labels[col_dim];
        let rows = table_rows(cells, col_dim);
        // The declared rows are the last row dimension; extra axes come first.
        let paired = spec.baseline.as_ref().and_then(|b| {
            cells
                .dim_with_label(&[col_dim, col_dim - 1], &b.label)
                .map(|d| cells.paired(d, &b.label, b.test))
        });
        let blocks = spec.rank.then(|| rank_blocks(spec, cells, &rows));
        let ranks = blocks.as_ref().map(|b| mean_rank_column(b, rows.len()));
        let friedman = blocks
            .as_ref()
            .filter(|_| spec.friedman)
            .and_then(|b| friedman_test(b));
        Layout {
            col_dim,
            columns,
            rows,
            ratio: spec.ratio_name(),
            metric_dim: cells.dims.iter().position(|d| d == &Dim::Metric),
            paired,
            ranks,
            friedman,
        }
    }
}

/// Every combination of the row dimensions' labels (those before
/// `col_dim`) that has a cell in some column, in label order.
fn table_rows(cells: &Cells, col_dim: usize) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = vec![Vec::new()];
    for d in 0..col_dim {
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
    let columns = &cells.labels[col_dim];
    rows.retain(|r| columns.iter().any(|c| cells.get(&cell_key(r, c)).is_some()));
    rows
}

/// The key of the cell in row `row` and column `column`.
fn cell_key(row: &[String], column: &str) -> Vec<String> {
    let mut k = row.to_vec();
    k.push(column.to_string());
    k
}

/// The header line and the alignment line: row dimensions left, values right.
fn header(cells: &Cells, layout: &Layout) -> String {
    let mut header: Vec<String> = (0..layout.col_dim)
        .map(|d| cells.dims[d].name().to_string())
        .collect();
    header.extend(layout.columns.iter().map(|c| match &layout.paired {
        Some(p) if p.dim == layout.col_dim && *c == p.baseline => format!("{c} (baseline)"),
        _ => c.clone(),
    }));
    header.extend(layout.ratio.iter().cloned());
    if layout.ranks.is_some() {
        header.push("mean rank".into());
    }
    let aligns: Vec<&str> = (0..header.len())
        .map(|i| if i < layout.col_dim { "---" } else { "---:" })
        .collect();
    format!("| {} |\n| {} |\n", header.join(" | "), aligns.join(" | "))
}

/// The table's lines, and each value shown with the mean it was measured
/// at (what expectations are checked against).
fn body(spec: &TableSpec, cells: &Cells, layout: &Layout) -> (String, Vec<Measured>) {
    let mut md = String::new();
    let mut measured = Vec::new();
    for (ri, r) in layout.rows.iter().enumerate() {
        let mut line: Vec<String> = r.clone();
        if let Some(p) = layout
            .paired
            .as_ref()
            .filter(|p| p.dim < layout.col_dim && r[p.dim] == p.baseline)
        {
            line[p.dim] = format!("{} (baseline)", line[p.dim]);
        }
        for c in layout.columns {
            let k = cell_key(r, c);
            let s = cells.get(&k);
            let value = layout.metric_dim.map(|i| k[i].as_str());
            let text = match &layout.paired {
                Some(p) if k[p.dim] != p.baseline => p
                    .tests
                    .get(&k)
                    .map_or_else(|| "—".into(), |(c, h)| fmt_paired(c, *h, spec, value)),
                _ => s.map_or_else(|| "—".into(), |s| fmt_cell(s, spec, value)),
            };
            line.push(with_setting(text, cells, &k));
            measured.push(Measured {
                row: r.clone(),
                column: c.clone(),
                mean: s.map(|s| s.mean),
            });
        }
        if let (Some((a, b)), Some(name)) = (&spec.ratio, &layout.ratio) {
            let mean = |c: &String| cells.get(&cell_key(r, c)).map(|s| s.mean);
            let ratio = match (mean(a), mean(b)) {
                (Some(x), Some(y)) => Some(x / y),
                _ => None,
            };
            line.push(ratio.map_or_else(|| "—".into(), fmt_ratio));
            measured.push(Measured {
                row: r.clone(),
                column: name.clone(),
                mean: ratio,
            });
        }
        if let Some((ranks, _)) = &layout.ranks {
            let differs = layout
                .friedman
                .as_ref()
                .is_some_and(|f| f.differs_from_best(f.cd_05)[ri]);
            let mark = if differs { " †" } else { "" };
            line.push(format!("{:.2}{mark}", ranks[ri]));
        }
        let _ = writeln!(md, "| {} |", line.join(" | "));
    }
    (md, measured)
}

/// The notes under the table: what the cells are, the paired comparison,
/// the mean rank, and the jobs left out.
fn notes(spec: &TableSpec, cells: &Cells, layout: &Layout) -> String {
    let mut md = format!("_{}_\n", cells_note(spec, cells));
    if let Some(p) = &layout.paired {
        let _ = writeln!(md, "\n_{}_", paired_note(p, spec));
    }
    if let Some((_, blocks)) = &layout.ranks {
        let _ = writeln!(
            md,
            "\n_Mean rank: each row's rank among the {} rows (1 = best: highest for accuracies, \
             lowest otherwise) within one seed and one column, averaged over the {blocks} such \
             blocks in which every row has a value._",
            layout.rows.len()
        );
    }
    if let Some(f) = &layout.friedman {
        let _ = writeln!(md, "\n_{}_", friedman_note(f, layout));
    }
    if let Some(t) = &spec.tune {
        let _ = writeln!(md, "\n_{}_", t.note(cells, spec.query.epoch));
    }
    md.push_str(&excluded_note(cells));
    md
}

/// A cell's text with its chosen setting, in a tuned table: `97.81% ± 0.08 (lr 3e-3)`.
fn with_setting(text: String, cells: &Cells, key: &[String]) -> String {
    match cells.tuned.as_ref().and_then(|t| t.chosen.get(key)) {
        Some(setting) => format!("{text} ({setting})"),
        None => text,
    }
}

/// The note under a table with `test = "friedman"`: the test over the
/// blocks, and the Nemenyi critical difference the † marks.
fn friedman_note(f: &RankTest, layout: &Layout) -> String {
    let best = f
        .order()
        .first()
        .and_then(|&i| layout.rows.get(i))
        .map_or_else(String::new, |r| r.join(", "));
    let verdict = if f.friedman.p < 0.05 {
        "the rows' ranks differ (p < 0.05)"
    } else {
        "no difference among the rows' ranks is shown at 0.05"
    };
    format!(
        "Friedman test over the {n} blocks (k = {k} rows): χ²({df}) = {chi2:.2}, p {p}: {verdict}. \
         Nemenyi critical difference at 0.05: {cd:.2} mean ranks (Demšar 2006); † marks the rows \
         whose mean rank is at least that far from the best row's (`{best}`).",
        n = f.blocks,
        k = f.treatments(),
        df = f.friedman.df,
        chi2 = f.friedman.chi2,
        p = p_equals(f.friedman.p),
        cd = f.cd_05,
    )
}

/// `= 0.012`, or `< 0.001`.
pub(crate) fn p_equals(p: f64) -> String {
    let text = fmt_p(p);
    if text.starts_with('<') {
        text
    } else {
        format!("= {text}")
    }
}

/// What the cells are: mean (± std) over how many seeds, at which epoch.
fn cells_note(spec: &TableSpec, cells: &Cells) -> String {
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
        None => return "No results for this table.".into(),
    }
    let epoch_note = match spec.query.epoch {
        _ if spec.query.dims.contains(&Dim::Epoch) => String::new(),
        EpochSel::Last => "; last epoch".into(),
        EpochSel::Best => "; best epoch of each run".into(),
        EpochSel::At(e) => format!("; epoch {e}"),
    };
    note.push_str(&epoch_note);
    note.push('.');
    note
}

/// The jobs not averaged in, each with how it ended (empty when none).
fn excluded_note(cells: &Cells) -> String {
    let mut md = String::new();
    if cells.excluded.is_empty() {
        return md;
    }
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
    md
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
