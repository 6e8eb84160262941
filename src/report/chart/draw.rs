//! Drawing a series [`Figure`] with plotters, to SVG and PNG alike: the
//! title, the panels in a grid (one vertical scale unless `share_y =
//! false`), each panel's series as bars or as lines with their spread, and
//! the legend in its own column at the right. Also the axis-tick labels and
//! the plotters plumbing [`super::boundary`] shares.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{Figure, Marks, PanelData, Series};
use super::spec::{Band, ChartSpec};
use crate::report::stats::Summary;
use crate::report::ReportError;

/// A drawing's outcome: plotters' message on failure.
pub(super) type DrawResult = Result<(), String>;

/// A picture plotters draws alike on any backend.
pub(super) trait Picture {
    /// Draws the picture on `root`.
    fn on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Draws `picture` into `dir/<spec.file>.svg` and `.png`, at the spec's
/// size, each file written atomically.
pub(super) fn write_svg_and_png(
    picture: &impl Picture,
    spec: &ChartSpec,
    dir: &Path,
) -> Result<(), ReportError> {
    crate::activation::plot::register_fonts();
    let size = (spec.width, spec.height);
    let svg = dir.join(format!("{}.svg", spec.file));
    let png = dir.join(format!("{}.png", spec.file));
    crate::atomic::write_via(&svg, |tmp| {
        picture.on(&SVGBackend::new(tmp, size).into_drawing_area())
    })
    .map_err(|m| ReportError::draw(&svg, m))?;
    crate::atomic::write_via(&png, |tmp| {
        picture.on(&BitMapBackend::new(tmp, size).into_drawing_area())
    })
    .map_err(|m| ReportError::draw(&png, m))
}

impl Picture for Figure {
    fn on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        figure_on(root, self)
    }
}

/// Draws `fig` into `dir/<file>.svg` and `dir/<file>.png`.
pub fn draw_figure(fig: &Figure, dir: &Path) -> Result<(), ReportError> {
    write_svg_and_png(fig, &fig.spec, dir)
}

/// The legend column's width in pixels.
const LEGEND_W: u32 = 170;

/// plotters' error as its message.
pub(super) fn err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

/// The spread drawn around a mean.
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
    if fig.marks == Marks::Bars && !spec.log_y && spec.y_min.is_none() {
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
    let low_pad = if (fig.marks == Marks::Bars && !spec.log_y && y0 == 0.0) || spec.y_min.is_some()
    {
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
    view: Range4,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut chart = panel_axes(area, fig, &panel.title, view)?;
    let (x0, x1, y0, y1) = view;
    let n = panel.series.len().max(1);
    for (i, s) in panel.series.iter().enumerate() {
        let pts = series_points(fig, s, (y0, y1));
        if fig.marks == Marks::Bars {
            draw_bars(&mut chart, fig, s, &pts, (i, n), y0)?;
        } else {
            draw_line(&mut chart, fig, s, &pts, x1 - x0)?;
        }
    }
    Ok(())
}

/// A panel's plotting area on `[x0, x1] × [y0, y1]` (plotted space), with
/// its caption, axis labels and ticks (categories, or numbers on a linear
/// or log scale).
fn panel_axes<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    fig: &Figure,
    title: &str,
    (x0, x1, y0, y1): Range4,
) -> Result<PanelChart<'a, DB>, String>
where
    DB::ErrorType: 'static,
{
    let spec = &fig.spec;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15).into_font())
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let cats = fig.categories.clone();
    let log_x = spec.log_x;
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
            None if log_x => log_tick(*v),
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
    Ok(chart)
}

/// A panel's plotting area, in plotted space.
type PanelChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A point in plotted space: (x, low, mean, high).
type Point = (f64, f64, f64, f64);

/// Series `i` of `n` as bars in each category's slot, from the axis (`y0`
/// on a log scale, else 0) to the mean, with black error bars.
fn draw_bars<DB: DrawingBackend>(
    chart: &mut PanelChart<'_, DB>,
    fig: &Figure,
    s: &Series,
    pts: &[Point],
    (i, n): (usize, usize),
    y0: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let spec = &fig.spec;
    let bw = 0.8 / n as f64;
    for (x, lo, mid, hi) in pts {
        let left = x - 0.4 + bw * i as f64;
        let base = if spec.log_y { y0 } else { y0.max(0.0) };
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
    Ok(())
}

/// A series as a line with its points (up to 30), its spread a shaded area
/// (a curve with `areas`) or error bars with caps a little of `x_span`.
fn draw_line<DB: DrawingBackend>(
    chart: &mut PanelChart<'_, DB>,
    fig: &Figure,
    s: &Series,
    pts: &[Point],
    x_span: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let spec = &fig.spec;
    let areas = fig.categories.is_none() && matches!(fig.marks, Marks::Lines { areas: true });
    if spec.band != Band::None && pts.len() > 1 && areas {
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
        poly.extend(pts.iter().rev().map(|p| (p.0, p.1)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                poly,
                s.color.mix(0.18).filled(),
            )))
            .map_err(err)?;
    } else if spec.band != Band::None {
        let cap = x_span * 0.008;
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
    Ok(())
}

/// A series' points in plotted space as (x, low, mean, high), cut to the
/// vertical range `(y0, y1)`: with fixed ends a mean outside the range is
/// left out (not drawn at the edge, where it would read as a value); bars
/// and spreads are cut at the edges.
fn series_points(fig: &Figure, s: &Series, (y0, y1): (f64, f64)) -> Vec<Point> {
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
        .filter(|p| fig.marks == Marks::Bars || (y0..=y1).contains(&p.2))
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

/// The legend: a coloured line and the name of each series, then what the
/// bands are.
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

/// The label of a tick on a linear axis: up to four decimals, trailing
/// zeros cut, scientific outside 0.001 to 100,000.
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
