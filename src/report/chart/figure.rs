//! The figure every series chart (line, bar, curves, layers) draws: panels
//! of series of mean ± spread points, built from a query's cells (a
//! `baseline` bar chart: from their paired differences), with the marks its
//! kind chooses ([`Marks`]). [`super::draw`] draws it.

use super::{ChartSpec, Drawn, Palette, Sources};
use crate::report::cells::{Cells, Dim, Query};
use crate::report::stats::Summary;
use crate::report::ReportError;
use crate::results::ValueName;
use plotters::style::RGBColor;

/// How a series chart marks its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// Grouped bars with error bars; x is categorical.
    Bars,
    /// Lines with points; with `areas`, the spread is a shaded area where x
    /// is numeric, else error bars.
    Lines {
        /// The spread as an area (a curve over epochs).
        areas: bool,
    },
}

/// The query of a series chart: one cell per panel value, then `dims` (its
/// series and x), of `values`. None for a chart without an experiment.
pub fn series_query(
    spec: &ChartSpec,
    dims: impl IntoIterator<Item = Dim>,
    values: Vec<ValueName>,
) -> Option<Query> {
    let experiment = spec.experiment.clone()?;
    let mut all: Vec<Dim> = spec.panels.iter().cloned().collect();
    all.extend(dims);
    all.dedup();
    Some(Query {
        experiment,
        values,
        dims: all,
        epoch: spec.epoch,
        filter: spec.filter.clone(),
    })
}

/// Draws a series chart: its kind's query, the figure of those cells with
/// `marks`, in SVG and PNG.
pub fn draw_series(
    spec: &ChartSpec,
    marks: Marks,
    from: &Sources,
    dir: &std::path::Path,
) -> Result<Drawn, ReportError> {
    let Some(q) = spec.kind.query(spec) else {
        return Ok(Drawn::Nothing);
    };
    let cells = from.ctx.query(&q)?;
    super::draw_figure(&figure(spec, &cells, from.palette, marks), dir)?;
    Ok(Drawn::Files)
}

/// A series: mean ± spread at each x.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// (x, summary) sorted by x.
    pub points: Vec<(f64, Summary)>,
}

/// One panel of a figure.
#[derive(Debug, Clone)]
pub struct PanelData {
    /// Caption (empty for a single panel).
    pub title: String,
    /// Its series.
    pub series: Vec<Series>,
}

/// Everything needed to draw a line, bar, curves or layers chart.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The spec.
    pub spec: ChartSpec,
    /// Category labels when x is categorical (x = index).
    pub categories: Option<Vec<String>>,
    /// Bars or lines.
    pub marks: Marks,
    /// The panels.
    pub panels: Vec<PanelData>,
}

/// Builds the figure from the cells of the kind's query (a `baseline` bar
/// chart: from their paired differences), marked with `marks`.
pub fn figure(spec: &ChartSpec, cells: &Cells, palette: &Palette, marks: Marks) -> Figure {
    match differences(spec, cells) {
        Some(diffs) => figure_of(spec, &diffs, palette, marks),
        None => figure_of(spec, cells, palette, marks),
    }
}

/// The paired differences from the spec's baseline, when it has one and the
/// baseline has results: compared along x, else along the series.
fn differences(spec: &ChartSpec, cells: &Cells) -> Option<Cells> {
    let b = spec.baseline.as_ref()?;
    let nd = cells.dims.len();
    let mut candidates = vec![nd.checked_sub(1)?];
    if spec.series.is_some() && nd >= 2 {
        candidates.push(nd - 2);
    }
    let dim = cells.dim_with_label(&candidates, &b.label)?;
    Some(cells.differences(&cells.paired(dim, &b.label, b.test)))
}

fn figure_of(spec: &ChartSpec, cells: &Cells, palette: &Palette, marks: Marks) -> Figure {
    let nd = cells.dims.len();
    let x_idx = nd - 1;
    let has_panel = spec.panels.is_some();
    let panel_idx = has_panel.then_some(cells.extra);
    // Series: the dimension just before x, unless that is the panel.
    let series_idx = if nd >= 2 && Some(nd - 2) != panel_idx && nd - 2 >= cells.extra {
        Some(nd - 2)
    } else {
        None
    };
    let extras: Vec<usize> = (0..cells.extra).collect();
    let x_labels = &cells.labels[x_idx];
    let numeric = x_labels.iter().all(|l| l.parse::<f64>().is_ok()) && marks != Marks::Bars;
    let categories = (!numeric).then(|| x_labels.clone());
    let xval = |l: &String| -> f64 {
        if numeric {
            l.parse::<f64>().unwrap_or(f64::NAN)
        } else {
            x_labels
                .iter()
                .position(|x| x == l)
                .map_or(f64::NAN, |i| i as f64)
        }
    };

    // Group cell keys into panel -> series -> points.
    let panel_key = |k: &[String]| -> String {
        let mut parts: Vec<String> = Vec::new();
        if has_panel {
            for &e in &extras {
                parts.push(format!("{}={}", cells.dims[e].name(), k[e]));
            }
            if let Some(p) = panel_idx {
                parts.push(k[p].clone());
            }
        }
        parts.join(", ")
    };
    let series_key = |k: &[String]| -> String {
        let mut parts: Vec<String> = Vec::new();
        if !has_panel {
            for &e in &extras {
                parts.push(format!("{}={}", cells.dims[e].name(), k[e]));
            }
        }
        if let Some(s) = series_idx {
            if cells.dims[s] == Dim::Layer {
                parts.push(format!("layer {}", k[s]));
            } else {
                parts.push(k[s].clone());
            }
        }
        parts.join(", ")
    };
    // Deterministic order: walk the label products in order.
    let mut keys: Vec<&Vec<String>> = cells.cells.keys().collect();
    let pos = |k: &Vec<String>| -> Vec<usize> {
        k.iter()
            .enumerate()
            .map(|(i, l)| {
                cells.labels[i]
                    .iter()
                    .position(|x| x == l)
                    .unwrap_or(usize::MAX)
            })
            .collect()
    };
    keys.sort_by_key(|k| {
        let p = pos(k);
        // Panel, then series, then x.
        let mut order = Vec::new();
        if let Some(pi) = panel_idx {
            order.extend(extras.iter().map(|&e| p[e]));
            order.push(p[pi]);
        }
        if !has_panel {
            order.extend(extras.iter().map(|&e| p[e]));
        }
        if let Some(s) = series_idx {
            order.push(p[s]);
        }
        order.push(p[x_idx]);
        order
    });
    let mut panels: Vec<PanelData> = Vec::new();
    for k in keys {
        let Some(s) = cells.cells.get(k) else {
            continue;
        };
        let pk = panel_key(k);
        let sk = series_key(k);
        let pi = match panels.iter().position(|p| p.title == pk) {
            Some(i) => i,
            None => {
                panels.push(PanelData {
                    title: pk.clone(),
                    series: Vec::new(),
                });
                panels.len() - 1
            }
        };
        let panel = &mut panels[pi];
        let si = match panel.series.iter().position(|s| s.name == sk) {
            Some(i) => i,
            None => {
                let is_act =
                    series_idx.is_some_and(|i| cells.dims[i] == Dim::Axis("activation".into()));
                let color = if is_act && (has_panel || extras.is_empty()) {
                    series_idx
                        .and_then(|i| palette.activation(&k[i]))
                        .unwrap_or_else(|| Palette::nth(panel.series.len()))
                } else if !has_panel && extras.is_empty() && series_idx.is_none() {
                    // One series: colour it by the panel's activation if any.
                    Palette::nth(0)
                } else {
                    Palette::nth(panel.series.len())
                };
                panel.series.push(Series {
                    name: sk.clone(),
                    color,
                    points: Vec::new(),
                });
                panel.series.len() - 1
            }
        };
        panel.series[si].points.push((xval(&k[x_idx]), *s));
    }
    for p in &mut panels {
        for s in &mut p.series {
            // A logarithmic x axis has no place for 0 (epoch 0, the network
            // at initialisation) or below: those points are left out.
            if spec.log_x && categories.is_none() {
                s.points.retain(|(x, _)| *x > 0.0);
            }
            s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    Figure {
        spec: spec.clone(),
        categories,
        marks,
        panels,
    }
}
