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
    let cells = from.ctx.query_tuned(&q, spec.tune.as_ref())?;
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

/// The figure of `cells`, in steps: which dimension plays which part
/// ([`Roles`]), where each x label sits, then every cell in order put on its
/// panel's series, and the points sorted by x.
fn figure_of(spec: &ChartSpec, cells: &Cells, palette: &Palette, marks: Marks) -> Figure {
    let roles = Roles::of(spec, cells);
    let x_labels = &cells.labels[roles.x];
    let numeric = x_labels.iter().all(|l| l.parse::<f64>().is_ok()) && marks != Marks::Bars;
    let categories = (!numeric).then(|| x_labels.clone());
    let x_value = |l: &String| -> f64 {
        if numeric {
            l.parse::<f64>().unwrap_or(f64::NAN)
        } else {
            x_labels
                .iter()
                .position(|x| x == l)
                .map_or(f64::NAN, |i| i as f64)
        }
    };
    let mut panels: Vec<PanelData> = Vec::new();
    for k in roles.ordered_keys(cells) {
        let Some(s) = cells.cells.get(k) else {
            continue;
        };
        let series = roles.series_of(&mut panels, cells, k, palette);
        series.points.push((x_value(&k[roles.x]), *s));
    }
    // A logarithmic x axis has no place for 0 (epoch 0, the network at
    // initialisation) or below: those points are left out.
    let positive_x = spec.log_x && categories.is_none();
    for s in panels.iter_mut().flat_map(|p| &mut p.series) {
        if positive_x {
            s.points.retain(|(x, _)| *x > 0.0);
        }
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    Figure {
        spec: spec.clone(),
        categories,
        marks,
        panels,
    }
}

/// Which dimension of the cells plays which part in a figure: x is the
/// last; the panel (when the chart has panels) the first after the extra
/// axes; the series the one just before x, unless that is the panel. Extra
/// axes (those the query added) join the panel's caption when there are
/// panels, else the series' name.
struct Roles {
    /// The x dimension.
    x: usize,
    /// Whether the chart has panels.
    has_panel: bool,
    /// The panel dimension.
    panel: Option<usize>,
    /// The series dimension.
    series: Option<usize>,
    /// The extra axes' dimensions.
    extras: Vec<usize>,
}

impl Roles {
    fn of(spec: &ChartSpec, cells: &Cells) -> Roles {
        let nd = cells.dims.len();
        let has_panel = spec.panels.is_some();
        let panel = has_panel.then_some(cells.extra);
        let series = if nd >= 2 && Some(nd - 2) != panel && nd - 2 >= cells.extra {
            Some(nd - 2)
        } else {
            None
        };
        Roles {
            x: nd - 1,
            has_panel,
            panel,
            series,
            extras: (0..cells.extra).collect(),
        }
    }

    /// `name=label` of each extra axis of cell `k`.
    fn extra_labels(&self, cells: &Cells, k: &[String]) -> Vec<String> {
        self.extras
            .iter()
            .map(|&e| format!("{}={}", cells.dims[e].name(), k[e]))
            .collect()
    }

    /// The caption of the panel cell `k` goes to (empty without panels).
    fn panel_title(&self, cells: &Cells, k: &[String]) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.has_panel {
            parts = self.extra_labels(cells, k);
            if let Some(p) = self.panel {
                parts.push(k[p].clone());
            }
        }
        parts.join(", ")
    }

    /// The name of the series cell `k` goes to (a layer is `layer 2`).
    fn series_name(&self, cells: &Cells, k: &[String]) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.has_panel {
            parts = self.extra_labels(cells, k);
        }
        if let Some(s) = self.series {
            if cells.dims[s] == Dim::Layer {
                parts.push(format!("layer {}", k[s]));
            } else {
                parts.push(k[s].clone());
            }
        }
        parts.join(", ")
    }

    /// The cells' keys in drawing order: panel, then series, then x, each
    /// in its labels' order.
    fn ordered_keys<'c>(&self, cells: &'c Cells) -> Vec<&'c Vec<String>> {
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
        let mut keys: Vec<&Vec<String>> = cells.cells.keys().collect();
        keys.sort_by_key(|k| {
            let p = pos(k);
            let mut order = Vec::new();
            if let Some(pi) = self.panel {
                order.extend(self.extras.iter().map(|&e| p[e]));
                order.push(p[pi]);
            }
            if !self.has_panel {
                order.extend(self.extras.iter().map(|&e| p[e]));
            }
            if let Some(s) = self.series {
                order.push(p[s]);
            }
            order.push(p[self.x]);
            order
        });
        keys
    }

    /// The series cell `k` goes to, added (with its colour) to its panel,
    /// and the panel to `panels`, when new.
    fn series_of<'p>(
        &self,
        panels: &'p mut Vec<PanelData>,
        cells: &Cells,
        k: &[String],
        palette: &Palette,
    ) -> &'p mut Series {
        let title = self.panel_title(cells, k);
        let pi = match panels.iter().position(|p| p.title == title) {
            Some(i) => i,
            None => {
                panels.push(PanelData {
                    title,
                    series: Vec::new(),
                });
                panels.len() - 1
            }
        };
        let panel = &mut panels[pi];
        let name = self.series_name(cells, k);
        let si = match panel.series.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                let color = self.color(cells, k, palette, panel.series.len());
                panel.series.push(Series {
                    name,
                    color,
                    points: Vec::new(),
                });
                panel.series.len() - 1
            }
        };
        &mut panel.series[si]
    }

    /// The colour of a new series, the `nth` of its panel: an activation's
    /// own colour when the series are activations (and not mixed with extra
    /// axes), else the cycle.
    fn color(&self, cells: &Cells, k: &[String], palette: &Palette, nth: usize) -> RGBColor {
        let is_act = self
            .series
            .is_some_and(|i| cells.dims[i] == Dim::Axis("activation".into()));
        if is_act && (self.has_panel || self.extras.is_empty()) {
            self.series
                .and_then(|i| palette.activation(&k[i]))
                .unwrap_or_else(|| Palette::nth(nth))
        } else if !self.has_panel && self.extras.is_empty() && self.series.is_none() {
            // One series: the cycle's first colour.
            Palette::nth(0)
        } else {
            Palette::nth(nth)
        }
    }
}
