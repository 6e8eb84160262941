//! Charts: a `[[charts]]` entry resolved into a [`ChartSpec`], turned into a
//! [`Figure`] (panels of series of mean ± spread points) from aggregated
//! cells, and drawn with plotters to SVG and PNG alike.
//!
//! Kinds: `line` (x = an axis or `epoch`, one series per value of an axis),
//! `bar` (grouped bars with error bars), `curves` (metrics over epochs, a
//! panel per value of an axis), `layers` (a per-layer metric over epochs, log
//! scale, a panel per activation), `boundary` (decision boundaries with the
//! data points, side by side) and `activations` (the shapes and derivatives
//! of [`crate::activation::plot`]). Legends sit in their own column at the
//! right, so they never cover data; every activation keeps one colour across
//! all charts of a report ([`Palette`]); text is DejaVu Sans, compiled in.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::cells::{spec_error, value_name, Baseline, Cells, Context, Dim, EpochSel, Query};
use super::stats::Summary;
use super::table::filter_pairs;
use super::ReportError;
use crate::config::diag::Diagnostic;
use crate::config::raw::RawChart;
use crate::results::{JobStatus, ValueName};

/// The six chart kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Lines with error bars or bands.
    Line,
    /// Grouped bars with error bars.
    Bar,
    /// Metrics over epochs, a panel per axis value.
    Curves,
    /// A per-layer metric over epochs, a panel per axis value.
    Layers,
    /// Decision boundaries with data points.
    Boundary,
    /// Activation shapes and derivatives.
    Activations,
}

impl ChartKind {
    fn parse(s: &str) -> Result<ChartKind, String> {
        Ok(match s {
            "line" => ChartKind::Line,
            "bar" => ChartKind::Bar,
            "curves" => ChartKind::Curves,
            "layers" => ChartKind::Layers,
            "boundary" => ChartKind::Boundary,
            "activations" => ChartKind::Activations,
            other => return Err(format!("unknown chart kind `{other}`")),
        })
    }

    /// Its name in the sweep file.
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Line => "line",
            ChartKind::Bar => "bar",
            ChartKind::Curves => "curves",
            ChartKind::Layers => "layers",
            ChartKind::Boundary => "boundary",
            ChartKind::Activations => "activations",
        }
    }
}

/// Spread drawn around each mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// ± one standard deviation over seeds.
    Std,
    /// ± the 95% confidence interval of the mean.
    Ci95,
    /// Nothing.
    None,
}

/// A resolved `[[charts]]` entry.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    /// The kind.
    pub kind: ChartKind,
    /// The experiment (none for `activations`).
    pub experiment: Option<String>,
    /// File stem under `report/`.
    pub file: String,
    /// Title.
    pub title: String,
    /// Horizontal dimension (`line`, `bar`).
    pub x: Dim,
    /// The value plotted (`line`, `bar`, `layers`).
    pub y: ValueName,
    /// One series per value of this dimension.
    pub series: Option<Dim>,
    /// One panel per value of this dimension.
    pub panels: Option<Dim>,
    /// Spread over seeds.
    pub band: Band,
    /// Epoch for `line` and `bar`.
    pub epoch: EpochSel,
    /// Values for `curves`.
    pub metrics: Vec<ValueName>,
    /// Activations for `activations` (none = those the sweep uses).
    pub activations: Option<Vec<String>>,
    /// Job filter.
    pub filter: super::cells::Filter,
    /// `bar`: bars as paired differences from this label of x (or series).
    pub baseline: Option<Baseline>,
    /// Logarithmic x.
    pub log_x: bool,
    /// Logarithmic y.
    pub log_y: bool,
    /// One vertical scale for every panel.
    pub share_y: bool,
    /// Fixed lower end of the y axis.
    pub y_min: Option<f64>,
    /// Fixed upper end of the y axis.
    pub y_max: Option<f64>,
    /// X label.
    pub x_label: String,
    /// Y label.
    pub y_label: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}

impl ChartSpec {
    /// Resolves a `[[charts]]` entry against the experiment's axes: its
    /// dimensions, values, spread, y range, file and labels, in that order.
    pub fn from_raw(c: &RawChart, axes: &[String]) -> Result<ChartSpec, Diagnostic> {
        let kind =
            ChartKind::parse(c.kind.get_ref()).map_err(|m| spec_error("kind", m, Some(&c.kind)))?;
        let experiment = c.experiment.as_ref().map(|e| e.get_ref().clone());
        let (x, series, panels) = chart_dims(c, kind, axes)?;
        let (y, metrics) = chart_values(c, kind)?;
        let baseline = Baseline::parse(c.baseline.as_ref(), c.test.as_ref())?;
        if baseline.is_some() && kind != ChartKind::Bar {
            return Err(spec_error(
                "baseline",
                format!(
                    "`baseline` draws paired differences on `bar` charts, not `{}`",
                    kind.name()
                ),
                c.baseline.as_ref(),
            ));
        }
        let band = chart_band(c, baseline.is_some())?;
        let epoch = EpochSel::parse(c.epoch.as_ref().map(|e| e.get_ref()))
            .map_err(|m| spec_error("epoch", m, c.epoch.as_ref()))?;
        let log_y = c.log_y.unwrap_or(kind == ChartKind::Layers);
        let (y_min, y_max) = y_range(c, log_y)?;
        let stem = experiment.clone().unwrap_or_else(|| "sweep".into());
        let file = chart_file(c, kind, &stem)?;
        let mut spec = ChartSpec {
            kind,
            experiment,
            file,
            title: String::new(),
            x,
            y,
            series,
            panels,
            band,
            epoch,
            metrics,
            activations: c.activations.clone(),
            filter: filter_pairs(c.filter.as_ref().map(|f| f.get_ref())),
            baseline,
            log_x: c.log_x.unwrap_or(false),
            log_y,
            share_y: c.share_y.unwrap_or(true),
            y_min,
            y_max,
            x_label: String::new(),
            y_label: String::new(),
            width: pixels(&c.width, WIDTH, "width")?,
            height: pixels(&c.height, HEIGHT, "height")?,
        };
        spec.title = c
            .title
            .clone()
            .unwrap_or_else(|| default_title(&spec, &stem));
        spec.x_label = c.x_label.clone().unwrap_or_else(|| match kind {
            ChartKind::Curves | ChartKind::Layers => "epoch".into(),
            ChartKind::Boundary => "x₁".into(),
            _ => spec.x.name().to_string(),
        });
        spec.y_label = c.y_label.clone().unwrap_or_else(|| match kind {
            ChartKind::Curves => "value".into(),
            ChartKind::Boundary => "x₂".into(),
            _ => match &spec.baseline {
                Some(b) => format!("Δ {} vs {}", spec.y.name, b.label),
                None => spec.y.name.clone(),
            },
        });
        Ok(spec)
    }
}

impl ChartSpec {
    /// The default report's chart of an experiment: learning curves of
    /// `metrics`, one panel per value of its activation axis (else its
    /// first axis), as a `[[charts]]` entry with only `kind = "curves"`,
    /// `experiment`, `title`, `metrics` and `y_label = "loss"` resolves.
    /// None without metrics.
    pub fn learning_curves(
        experiment: &str,
        metrics: Vec<ValueName>,
        axes: &[String],
    ) -> Option<ChartSpec> {
        let y = metrics.first()?.clone();
        let panels = default_axis(axes);
        Some(ChartSpec {
            kind: ChartKind::Curves,
            experiment: Some(experiment.to_string()),
            file: format!("{experiment}_{}", ChartKind::Curves.name()),
            title: format!("{experiment}: learning curves"),
            x: Dim::Epoch,
            y,
            series: None,
            panels,
            band: Band::Std,
            epoch: EpochSel::Last,
            metrics,
            activations: None,
            filter: Vec::new(),
            baseline: None,
            log_x: false,
            log_y: false,
            share_y: true,
            y_min: None,
            y_max: None,
            x_label: "epoch".into(),
            y_label: "loss".into(),
            width: WIDTH,
            height: HEIGHT,
        })
    }
}

/// A chart's width in pixels without `width`.
const WIDTH: u32 = 800;
/// A chart's height in pixels without `height`.
const HEIGHT: u32 = 500;

/// The axis a chart spreads over by default: `activation` when the
/// experiment has it, else its first axis.
fn default_axis(axes: &[String]) -> Option<Dim> {
    if axes.iter().any(|a| a == "activation") {
        Some(Dim::Axis("activation".into()))
    } else {
        axes.first().map(|a| Dim::Axis(a.clone()))
    }
}

/// A chart's x, series and panels: as written, or the kind's defaults
/// (the `activation` axis, else the first axis), checked to differ.
fn chart_dims(
    c: &RawChart,
    kind: ChartKind,
    axes: &[String],
) -> Result<(Dim, Option<Dim>, Option<Dim>), Diagnostic> {
    let dim = |s: &Option<toml::Spanned<String>>, key: &str| -> Result<Option<Dim>, Diagnostic> {
        s.as_ref().map(|s| Dim::parse_at(s, axes, key)).transpose()
    };
    let x = dim(&c.x, "x")?.unwrap_or(match kind {
        ChartKind::Bar => default_axis(axes).unwrap_or(Dim::Experiment),
        _ => Dim::Epoch,
    });
    let mut series = dim(&c.series, "series")?;
    let mut panels = dim(&c.panels, "panels")?;
    let per_panel = matches!(
        kind,
        ChartKind::Curves | ChartKind::Layers | ChartKind::Boundary
    );
    if per_panel {
        if panels.is_none() {
            panels = default_axis(axes);
        }
        series = None;
    } else if matches!(kind, ChartKind::Line | ChartKind::Bar)
        && series.is_none()
        && c.series.is_none()
    {
        series = default_axis(axes).filter(|d| d != &x);
    }
    if series.is_some() && series == Some(x.clone()) {
        return Err(spec_error(
            "series",
            format!("x and series are both `{}`", x.name()),
            c.series.as_ref(),
        ));
    }
    if panels.is_some() && (panels == series || panels == Some(x.clone())) && !per_panel {
        return Err(spec_error(
            "panels",
            "panels must differ from x and series",
            c.panels.as_ref(),
        ));
    }
    Ok((x, series, panels))
}

/// A chart's `y` (default `test_acc`, `grad_norm_mean` for `layers`) and
/// `metrics` (default train and test loss), resolved against the metric
/// catalogue.
fn chart_values(c: &RawChart, kind: ChartKind) -> Result<(ValueName, Vec<ValueName>), Diagnostic> {
    let y = match &c.y {
        Some(y) => value_name(y.get_ref(), "y", Some(y))?,
        None if kind == ChartKind::Layers => value_name::<()>("grad_norm_mean", "y", None)?,
        None => value_name::<()>("test_acc", "y", None)?,
    };
    let metrics = match &c.metrics {
        Some(m) => m
            .get_ref()
            .iter()
            .map(|name| value_name(name, "metrics", Some(m)))
            .collect::<Result<Vec<_>, _>>()?,
        None => ["train_loss", "test_loss"]
            .iter()
            .map(|name| value_name::<()>(name, "metrics", None))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok((y, metrics))
}

/// The spread drawn: as written, or std (the 95% CI for paired differences).
fn chart_band(c: &RawChart, paired: bool) -> Result<Band, Diagnostic> {
    match c.band.as_ref().map(|b| b.get_ref().as_str()) {
        // Differences carry their confidence interval, as the tables do.
        None if paired => Ok(Band::Ci95),
        None | Some("std") => Ok(Band::Std),
        Some("ci95") => Ok(Band::Ci95),
        Some("none") => Ok(Band::None),
        Some(o) => Err(spec_error(
            "band",
            format!("band `{o}` is not one of std, ci95, none"),
            c.band.as_ref(),
        )),
    }
}

/// `y_min` and `y_max`: finite, above 0 on a log axis, in order.
fn y_range(c: &RawChart, log_y: bool) -> Result<(Option<f64>, Option<f64>), Diagnostic> {
    for (v, key) in [(&c.y_min, "y_min"), (&c.y_max, "y_max")] {
        if let Some(v) = v {
            let x = v.get_ref().0;
            if !x.is_finite() || (log_y && x <= 0.0) {
                return Err(spec_error(
                    key,
                    format!("{key} must be a finite number (above 0 on a log axis), not {x}"),
                    Some(v),
                ));
            }
        }
    }
    let y_min = c.y_min.as_ref().map(|v| v.get_ref().0);
    let y_max = c.y_max.as_ref().map(|v| v.get_ref().0);
    if let (Some(lo), Some(hi)) = (y_min, y_max) {
        if lo >= hi {
            return Err(spec_error(
                "y_max",
                format!("y_max ({hi}) must be above y_min ({lo})"),
                c.y_max.as_ref(),
            ));
        }
    }
    Ok((y_min, y_max))
}

/// The chart's file stem: as written (letters, digits, `-_.`), or
/// `<experiment>_<kind>`.
fn chart_file(c: &RawChart, kind: ChartKind, stem: &str) -> Result<String, Diagnostic> {
    let file = c
        .file
        .clone()
        .unwrap_or_else(|| format!("{stem}_{}", kind.name()));
    if file.is_empty()
        || !file
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        return Err(Diagnostic::new(
            format!("file `{file}` may only use letters, digits, `-`, `_` and `.`"),
            None,
        )
        .key("file"));
    }
    Ok(file)
}

/// A size in pixels, 100 to 8000, or `default`.
fn pixels(v: &Option<toml::Spanned<i64>>, default: u32, key: &str) -> Result<u32, Diagnostic> {
    match v {
        None => Ok(default),
        Some(v) if (100..=8000).contains(v.get_ref()) => Ok(*v.get_ref() as u32),
        Some(v) => Err(spec_error(
            key,
            format!("{key} must be 100 to 8000 pixels, not {}", v.get_ref()),
            Some(v),
        )),
    }
}

/// The title of a chart without one.
fn default_title(spec: &ChartSpec, stem: &str) -> String {
    let (y, x) = (&spec.y.name, spec.x.name());
    match spec.kind {
        ChartKind::Bar if spec.baseline.is_some() => format!(
            "{stem}: {y} by {x}, difference from {} (paired by seed)",
            spec.baseline.as_ref().map_or("", |b| b.label.as_str())
        ),
        ChartKind::Line | ChartKind::Bar => format!("{stem}: {y} by {x}"),
        ChartKind::Curves => format!(
            "{stem}: {}",
            spec.metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ChartKind::Layers => format!("{stem}: {y} per layer"),
        ChartKind::Boundary => format!("{stem}: decision boundaries"),
        ChartKind::Activations => "Activations: f and f'".into(),
    }
}

/// One colour per activation, the same in every chart of a report, and a
/// fallback cycle for everything else.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    activations: BTreeMap<String, usize>,
}

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

impl Palette {
    /// Colours for these activation labels, in order of first appearance.
    pub fn new<'a>(labels: impl IntoIterator<Item = &'a str>) -> Palette {
        let mut activations = BTreeMap::new();
        for l in labels {
            let n = activations.len();
            activations.entry(l.to_string()).or_insert(n);
        }
        Palette { activations }
    }

    /// The colour of activation `label`, if it has one.
    pub fn activation(&self, label: &str) -> Option<RGBColor> {
        self.activations
            .get(label)
            .map(|&i| COLORS[i % COLORS.len()])
    }

    /// The `i`th colour of the cycle.
    pub fn nth(i: usize) -> RGBColor {
        COLORS[i % COLORS.len()]
    }
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
    /// Bars instead of lines.
    pub bars: bool,
    /// The panels.
    pub panels: Vec<PanelData>,
}

/// The query behind a figure chart.
pub fn query(spec: &ChartSpec) -> Option<Query> {
    let exp = spec.experiment.clone()?;
    let mut dims: Vec<Dim> = Vec::new();
    dims.extend(spec.panels.clone());
    let values = match spec.kind {
        ChartKind::Line | ChartKind::Bar => {
            dims.extend(spec.series.clone());
            dims.push(spec.x.clone());
            vec![spec.y.clone()]
        }
        ChartKind::Curves => {
            dims.push(Dim::Metric);
            dims.push(Dim::Epoch);
            spec.metrics.clone()
        }
        ChartKind::Layers => {
            dims.push(Dim::Layer);
            dims.push(Dim::Epoch);
            vec![spec.y.clone()]
        }
        ChartKind::Boundary | ChartKind::Activations => return None,
    };
    dims.dedup();
    Some(Query {
        experiment: exp,
        values,
        dims,
        epoch: spec.epoch,
        filter: spec.filter.clone(),
    })
}

/// Builds the figure from the cells of [`query`] (a `baseline` bar chart:
/// from their paired differences).
pub fn figure(spec: &ChartSpec, cells: &Cells, palette: &Palette) -> Figure {
    match differences(spec, cells) {
        Some(diffs) => figure_of(spec, &diffs, palette),
        None => figure_of(spec, cells, palette),
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

fn figure_of(spec: &ChartSpec, cells: &Cells, palette: &Palette) -> Figure {
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
    let numeric =
        x_labels.iter().all(|l| l.parse::<f64>().is_ok()) && !(spec.kind == ChartKind::Bar);
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
        bars: spec.kind == ChartKind::Bar,
        panels,
    }
}

type DrawResult = Result<(), String>;

/// Draws `fig` into `dir/<file>.svg` and `dir/<file>.png`.
pub fn draw_figure(fig: &Figure, dir: &Path) -> Result<(), ReportError> {
    crate::activation::plot::register_fonts();
    let size = (fig.spec.width, fig.spec.height);
    let svg = dir.join(format!("{}.svg", fig.spec.file));
    let png = dir.join(format!("{}.png", fig.spec.file));
    crate::atomic::write_via(&svg, |tmp| {
        figure_on(&SVGBackend::new(tmp, size).into_drawing_area(), fig)
    })
    .map_err(|m| ReportError::draw(&svg, m))?;
    crate::atomic::write_via(&png, |tmp| {
        figure_on(&BitMapBackend::new(tmp, size).into_drawing_area(), fig)
    })
    .map_err(|m| ReportError::draw(&png, m))
}

const LEGEND_W: u32 = 170;

fn err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

fn spread(s: &Summary, band: Band) -> f64 {
    match band {
        Band::Std => s.std,
        Band::Ci95 if s.ci95.is_finite() => s.ci95,
        _ => 0.0,
    }
}

/// Draws a figure: title, panels in a grid (one vertical scale unless
/// `share_y = false`), and the legend at the right.
fn figure_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let spec = &fig.spec;
    root.fill(&WHITE).map_err(err)?;
    let body = root
        .titled(&spec.title, ("sans-serif", 20).into_font())
        .map_err(err)?;
    let legend = legend_entries(fig);
    let (w, _) = body.dim_in_pixel();
    let (plot_area, legend_area) = if legend.is_empty() || w <= LEGEND_W + 100 {
        (body, None)
    } else {
        let (a, b) = body.split_horizontally(w - LEGEND_W);
        (a, Some(b))
    };
    let n = fig.panels.len().max(1);
    let cols = if n <= 3 { n } else { n.div_ceil(2).min(4) };
    let rows = n.div_ceil(cols);
    let areas = plot_area.split_evenly((rows, cols));
    // Panels share one vertical scale unless asked not to, so that panels
    // (ReLU beside linear) compare at a glance.
    let shared = data_range(&fig.panels, spec);
    for (panel, area) in fig.panels.iter().zip(areas) {
        let view = panel_view(fig, panel, shared);
        draw_panel(&area, fig, panel, view)?;
    }
    if let Some(area) = legend_area {
        draw_legend(&area, &legend, spec.band)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Every distinct series name with its colour, in panel order.
fn legend_entries(fig: &Figure) -> Vec<(String, RGBColor)> {
    let mut legend: Vec<(String, RGBColor)> = Vec::new();
    for s in fig.panels.iter().flat_map(|p| &p.series) {
        if !s.name.is_empty() && !legend.iter().any(|(n, _)| n == &s.name) {
            legend.push((s.name.clone(), s.color));
        }
    }
    legend
}

/// A value in plotted space: log10 on a log axis.
fn plotted(v: f64, log: bool) -> f64 {
    if log {
        v.max(f64::MIN_POSITIVE).log10()
    } else {
        v
    }
}

/// (x0, x1, y0, y1) of a chart's panels in plotted space.
type Range4 = (f64, f64, f64, f64);

/// The range of the panels' means and spreads, in plotted (possibly log)
/// space; infinite when there is nothing to plot.
fn data_range(panels: &[PanelData], spec: &ChartSpec) -> Range4 {
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for s in panels.iter().flat_map(|p| &p.series) {
        for (x, m) in &s.points {
            let d = spread(m, spec.band);
            let xv = plotted(*x, spec.log_x);
            x0 = x0.min(xv);
            x1 = x1.max(xv);
            for y in [m.mean - d, m.mean + d, m.mean] {
                if y.is_finite() && (!spec.log_y || y > 0.0) {
                    let yv = plotted(y, spec.log_y);
                    y0 = y0.min(yv);
                    y1 = y1.max(yv);
                }
            }
        }
    }
    (x0, x1, y0, y1)
}

/// The range one panel shows: its data (or the shared vertical range),
/// categories as slots, bars from 0, fixed ends, then padding.
fn panel_view(fig: &Figure, panel: &PanelData, shared: Range4) -> Range4 {
    let spec = &fig.spec;
    let (mut x0, mut x1, mut y0, mut y1) = data_range(std::slice::from_ref(panel), spec);
    if spec.share_y && shared.2.is_finite() {
        (y0, y1) = (shared.2, shared.3);
    }
    if !x0.is_finite() || !y0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if let Some(c) = &fig.categories {
        (x0, x1) = (-0.5, c.len() as f64 - 0.5);
    }
    if fig.bars && !spec.log_y && spec.y_min.is_none() {
        y0 = y0.min(0.0);
    }
    // Fixed ends replace the fitted ones before padding, so the padding
    // follows the range shown.
    if let Some(v) = spec.y_min {
        y0 = plotted(v, spec.log_y);
    }
    if let Some(v) = spec.y_max {
        y1 = plotted(v, spec.log_y);
    }
    if y1 <= y0 {
        // A lone fixed end beyond the data: keep a sliver of range.
        if spec.y_min.is_some() {
            y1 = y0 + (y0.abs() * 0.1).max(1e-9);
        } else {
            y0 = y1 - (y1.abs() * 0.1).max(1e-9);
        }
    }
    if x1 - x0 < 1e-12 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let pad = ((y1 - y0) * 0.06).max(1e-9);
    let low_pad = if (fig.bars && !spec.log_y && y0 == 0.0) || spec.y_min.is_some() {
        0.0
    } else {
        pad
    };
    let high_pad = if spec.y_max.is_some() { 0.0 } else { pad };
    (x0, x1, y0 - low_pad, y1 + high_pad)
}

/// A panel's chart: axes and mesh, then each series as bars or as a line
/// with its band or error bars.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    panel: &PanelData,
    (x0, x1, y0, y1): Range4,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let spec = &fig.spec;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 15).into_font())
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let cats = fig.categories.clone();
    let xfmt = move |v: &f64| -> String {
        match &cats {
            Some(c) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                    c[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None if spec.log_x => log_tick(*v),
            None => trim_num(*v),
        }
    };
    let log_y = spec.log_y;
    let yfmt = move |v: &f64| -> String {
        if log_y {
            log_tick(*v)
        } else {
            trim_num(*v)
        }
    };
    let n_x = fig.categories.as_ref().map_or(8, |c| c.len() + 1);
    chart
        .configure_mesh()
        .x_desc(spec.x_label.as_str())
        .y_desc(spec.y_label.as_str())
        .x_labels(n_x)
        .y_labels(6)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(("sans-serif", 12).into_font())
        .axis_desc_style(("sans-serif", 14).into_font())
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let m = panel.series.len().max(1) as f64;
    for (si, s) in panel.series.iter().enumerate() {
        let pts = series_points(fig, s, (y0, y1));
        if fig.bars {
            let bw = 0.8 / m;
            for (x, lo, mid, hi) in &pts {
                let left = x - 0.4 + bw * si as f64;
                let base = if log_y { y0 } else { y0.max(0.0) };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(left, base), (left + bw * 0.92, *mid)],
                        s.color.filled(),
                    )))
                    .map_err(err)?;
                if spec.band != Band::None {
                    let c = left + bw * 0.46;
                    chart
                        .draw_series(error_bar(c, *lo, *hi, bw * 0.15, BLACK))
                        .map_err(err)?;
                }
            }
            continue;
        }
        let over_epochs = fig.categories.is_none()
            && matches!(spec.kind, ChartKind::Curves | ChartKind::Layers)
            || spec.x == Dim::Epoch && matches!(spec.kind, ChartKind::Line);
        if spec.band != Band::None && pts.len() > 1 && over_epochs {
            let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            poly.extend(pts.iter().rev().map(|p| (p.0, p.1)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    s.color.mix(0.18).filled(),
                )))
                .map_err(err)?;
        } else if spec.band != Band::None {
            let cap = (x1 - x0) * 0.008;
            chart
                .draw_series(
                    pts.iter()
                        .flat_map(|(x, lo, _, hi)| error_bar(*x, *lo, *hi, cap, s.color)),
                )
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.2)),
                s.color.stroke_width(2),
            ))
            .map_err(err)?;
        if pts.len() <= 30 {
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| Circle::new((p.0, p.2), 3, s.color.filled())),
                )
                .map_err(err)?;
        }
    }
    Ok(())
}

/// A series' points in plotted space as (x, low, mean, high), cut to the
/// vertical range `(y0, y1)`: with fixed ends a mean outside the range is
/// left out (not drawn at the edge, where it would read as a value); bars
/// and spreads are cut at the edges.
fn series_points(fig: &Figure, s: &Series, (y0, y1): (f64, f64)) -> Vec<(f64, f64, f64, f64)> {
    let spec = &fig.spec;
    let log_y = spec.log_y;
    s.points
        .iter()
        .filter(|(_, v)| v.mean.is_finite() && (!log_y || v.mean > 0.0))
        .map(|(x, v)| {
            let d = spread(v, spec.band);
            let lo = if log_y && v.mean - d <= 0.0 {
                v.mean
            } else {
                v.mean - d
            };
            (
                plotted(*x, spec.log_x),
                plotted(lo, log_y),
                plotted(v.mean, log_y),
                plotted(v.mean + d, log_y),
            )
        })
        .filter(|p| fig.bars || (y0..=y1).contains(&p.2))
        .map(|(x, lo, mid, hi)| {
            let cut = |v: f64| v.clamp(y0, y1);
            (x, cut(lo), cut(mid), cut(hi))
        })
        .collect()
}

/// A vertical error bar from `lo` to `hi` at `x`, with caps `cap` wide on each side.
fn error_bar(x: f64, lo: f64, hi: f64, cap: f64, color: RGBColor) -> Vec<PathElement<(f64, f64)>> {
    let style = color.stroke_width(1);
    vec![
        PathElement::new(vec![(x, lo), (x, hi)], style),
        PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style),
        PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style),
    ]
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
    band: Band,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let font = ("sans-serif", 13).into_font();
    let mut y = 40;
    for (name, color) in entries {
        area.draw(&PathElement::new(
            vec![(8, y), (32, y)],
            color.stroke_width(3),
        ))
        .map_err(err)?;
        area.draw(&Text::new(name.clone(), (40, y - 7), font.clone()))
            .map_err(err)?;
        y += 22;
    }
    let note = match band {
        Band::Std => "bands: ± 1 std",
        Band::Ci95 => "bands: 95% CI",
        Band::None => "",
    };
    if !note.is_empty() {
        area.draw(&Text::new(
            note,
            (8, y + 6),
            ("sans-serif", 11).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// The label of a tick on a log axis at log10 value `v`: three significant
/// digits in plain notation between 0.001 and 100,000 (1, 3.16, 10, 316),
/// scientific outside.
fn log_tick(v: f64) -> String {
    let x = 10f64.powf(v);
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{x:.1e}");
    }
    let digits = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn trim_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// One panel of a boundary chart: a job's grid and the data.
#[derive(Debug, Clone)]
pub struct BoundaryPanel {
    /// Caption.
    pub title: String,
    /// (x, y, value) of the grid.
    pub grid: Vec<(f32, f32, f32)>,
    /// (x, y, class) of data points.
    pub points: Vec<(f32, f32, u32)>,
}

/// Collects the boundary panels: per panel value, the run with the lowest
/// seed, its grid at the last recorded epoch, and the dataset's points. No
/// panels when no run of the experiment has finished yet; an error when runs
/// finished without recording boundaries.
pub fn boundary_panels(spec: &ChartSpec, ctx: &Context) -> Result<Vec<BoundaryPanel>, ReportError> {
    let exp = spec.experiment.clone().unwrap_or_default();
    let axes = ctx.axes(&exp);
    let mut chosen: Vec<(String, &crate::plan::Job, i64)> = Vec::new();
    for (job, run) in ctx.jobs(&exp, &spec.filter) {
        let Some(run) = run else { continue };
        if run.status != JobStatus::Ok {
            continue;
        }
        let title = match &spec.panels {
            Some(Dim::Axis(a)) => {
                let mut parts: Vec<String> = axes
                    .iter()
                    .filter(|x| *x != a)
                    .filter_map(|x| run.axes.get(x).map(|v| format!("{x}={v}")))
                    .collect();
                parts.push(run.axes.get(a).cloned().unwrap_or_default());
                parts.join(", ")
            }
            _ => axes
                .iter()
                .filter_map(|x| run.axes.get(x).map(|v| format!("{x}={v}")))
                .collect::<Vec<_>>()
                .join(", "),
        };
        match chosen.iter_mut().find(|c| c.0 == title) {
            Some(c) if run.seed < c.2 => *c = (title, job, run.seed),
            Some(_) => {}
            None => chosen.push((title, job, run.seed)),
        }
    }
    if chosen.is_empty() {
        // Nothing finished yet (a report in the middle of a run): no panels.
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (title, job, seed) in chosen {
        let pts: Vec<_> = ctx
            .results
            .boundaries
            .iter()
            .filter(|b| b.job_id == job.id)
            .collect();
        let Some(last) = pts.iter().map(|b| b.point.epoch).max() else {
            continue;
        };
        let grid = pts
            .iter()
            .map(|b| &b.point)
            .filter(|b| b.epoch == last)
            .map(|b| (b.x, b.y, b.value))
            .collect();
        let data = crate::data::load(&job.config.dataset)?;
        let mut points = Vec::new();
        if data.input_dim == 2 {
            for split in [&data.train, &data.test] {
                let classes = split.targets.classes();
                for i in 0..split.len().min(1500) {
                    let r = split.row(i);
                    let c = classes.and_then(|c| c.get(i).copied()).unwrap_or(0);
                    points.push((r[0], r[1], c));
                }
            }
        }
        out.push(BoundaryPanel {
            title: format!("{title} (seed {seed}, epoch {last})"),
            grid,
            points,
        });
    }
    if out.is_empty() {
        return Err(ReportError::Spec(format!(
            "experiment {exp}: no decision boundaries in the results (add record = [\"decision_boundary\"] and run it)"
        )));
    }
    Ok(out)
}

/// Draws boundary panels to `dir/<file>.svg` and `.png`.
pub fn draw_boundary(
    spec: &ChartSpec,
    panels: &[BoundaryPanel],
    dir: &Path,
) -> Result<(), ReportError> {
    crate::activation::plot::register_fonts();
    let size = (spec.width, spec.height);
    let svg = dir.join(format!("{}.svg", spec.file));
    let png = dir.join(format!("{}.png", spec.file));
    crate::atomic::write_via(&svg, |tmp| {
        boundary_on(
            &SVGBackend::new(tmp, size).into_drawing_area(),
            spec,
            panels,
        )
    })
    .map_err(|m| ReportError::draw(&svg, m))?;
    crate::atomic::write_via(&png, |tmp| {
        boundary_on(
            &BitMapBackend::new(tmp, size).into_drawing_area(),
            spec,
            panels,
        )
    })
    .map_err(|m| ReportError::draw(&png, m))
}

fn boundary_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    panels: &[BoundaryPanel],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let body = root
        .titled(&spec.title, ("sans-serif", 20).into_font())
        .map_err(err)?;
    let n = panels.len().max(1);
    let areas = body.split_evenly((1, n));
    let class_colors = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    for (p, area) in panels.iter().zip(areas) {
        let mut xs: Vec<f32> = p.grid.iter().map(|g| g.0).collect();
        let mut ys: Vec<f32> = p.grid.iter().map(|g| g.1).collect();
        xs.sort_by(f32::total_cmp);
        xs.dedup();
        ys.sort_by(f32::total_cmp);
        ys.dedup();
        let step = |v: &[f32]| {
            if v.len() > 1 {
                (v[v.len() - 1] - v[0]) / (v.len() - 1) as f32
            } else {
                0.1
            }
        };
        let (dx, dy) = (step(&xs), step(&ys));
        let (mut x0, mut x1, mut y0, mut y1) = (
            xs.first().copied().unwrap_or(-1.0) - dx / 2.0,
            xs.last().copied().unwrap_or(1.0) + dx / 2.0,
            ys.first().copied().unwrap_or(-1.0) - dy / 2.0,
            ys.last().copied().unwrap_or(1.0) + dy / 2.0,
        );
        for &(x, y, _) in &p.points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        let (vmin, vmax) = p
            .grid
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), g| {
                (a.min(g.2), b.max(g.2))
            });
        let (vmin, vmax) = if vmin >= 0.0 && vmax <= 1.0 {
            (0.0, 1.0)
        } else {
            (vmin, vmax.max(vmin + 1e-6))
        };
        let mut chart = ChartBuilder::on(&area)
            .caption(&p.title, ("sans-serif", 13).into_font())
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(40)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(spec.x_label.as_str())
            .y_desc(spec.y_label.as_str())
            .label_style(("sans-serif", 11).into_font())
            .draw()
            .map_err(err)?;
        chart
            .draw_series(p.grid.iter().map(|&(x, y, v)| {
                let t = ((v - vmin) / (vmax - vmin)).clamp(0.0, 1.0) as f64;
                let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
                let c = RGBColor(mix(198, 250), mix(219, 200), mix(239, 200));
                Rectangle::new(
                    [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                    c.filled(),
                )
            }))
            .map_err(err)?;
        chart
            .draw_series(p.points.iter().map(|&(x, y, c)| {
                Circle::new(
                    (x, y),
                    2,
                    class_colors[c as usize % class_colors.len()].filled(),
                )
            }))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::log_tick;

    #[test]
    fn log_ticks_read_as_plain_numbers() {
        let at = |x: f64| log_tick(x.log10());
        assert_eq!(at(1.0), "1");
        assert_eq!(at(10f64.powf(0.5)), "3.16");
        assert_eq!(at(10.0), "10");
        assert_eq!(at(31.622_776), "31.6");
        assert_eq!(at(316.227_76), "316");
        assert_eq!(at(2000.0), "2000");
        assert_eq!(at(0.01), "0.01");
        assert_eq!(at(0.003_162_3), "0.00316");
        assert_eq!(at(1e-5), "1.0e-5");
        assert_eq!(at(3e6), "3.0e6");
    }
}
