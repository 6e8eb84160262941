//! `kind = "boundary"`: a two-input classifier's decision boundaries, one
//! panel per value of `panels` (default: the activation), each the grid its
//! job recorded (`record = ["decision_boundary"]`) at its last epoch, with
//! the dataset's points on top.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{err, write_svg_and_png, DrawResult, Picture};
use super::{ChartKind, ChartSpec, Drawn, Keys, Layout, Sources};
use crate::plan::Job;
use crate::report::cells::{Context, Dim};
use crate::report::ReportError;
use crate::results::JobStatus;

/// The boundary chart kind.
#[derive(Debug, Clone, Copy)]
pub struct Boundary;

impl ChartKind for Boundary {
    fn name(&self) -> &'static str {
        "boundary"
    }

    fn keys(&self) -> Keys {
        Keys {
            layout: Layout::Panels,
            ..Keys::DEFAULT
        }
    }

    fn default_title(&self, _spec: &ChartSpec, stem: &str) -> String {
        format!("{stem}: decision boundaries")
    }

    fn default_labels(&self, _spec: &ChartSpec) -> (String, String) {
        ("x₁".into(), "x₂".into())
    }

    /// Nothing yet when no run of the experiment has finished.
    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        let panels = boundary_panels(spec, from.ctx)?;
        if panels.is_empty() {
            return Ok(Drawn::NotYet);
        }
        draw_boundary(spec, &panels, dir)?;
        Ok(Drawn::Files)
    }
}

/// A point of a boundary grid: (x, y, the network's output there).
pub type GridPoint = (f32, f32, f32);

/// One panel of a boundary chart: a job's grid and the data.
#[derive(Debug, Clone)]
pub struct BoundaryPanel {
    /// Caption.
    pub title: String,
    /// (x, y, value) of the grid.
    pub grid: Vec<GridPoint>,
    /// (x, y, class) of data points.
    pub points: Vec<(f32, f32, u32)>,
}

/// Collects the boundary panels: per panel value, the run with the lowest
/// seed, its grid at the last recorded epoch, and the dataset's points. No
/// panels when no run of the experiment has finished yet; an error when runs
/// finished without recording boundaries.
pub fn boundary_panels(spec: &ChartSpec, ctx: &Context) -> Result<Vec<BoundaryPanel>, ReportError> {
    let exp = spec.experiment.clone().unwrap_or_default();
    let chosen = panel_runs(spec, ctx, &exp);
    if chosen.is_empty() {
        // Nothing finished yet (a report in the middle of a run): no panels.
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (title, job, seed) in chosen {
        let Some((last, grid)) = last_grid(ctx, job) else {
            continue;
        };
        out.push(BoundaryPanel {
            title: format!("{title} (seed {seed}, epoch {last})"),
            grid,
            points: data_points(job)?,
        });
    }
    if out.is_empty() {
        return Err(ReportError::Spec(format!(
            "experiment {exp}: no decision boundaries in the results (add record = [\"decision_boundary\"] and run it)"
        )));
    }
    Ok(out)
}

/// Per panel, in plan order: its caption (the other axes' `name=value`,
/// then its own value) and the finished job with the lowest seed, with
/// that seed.
fn panel_runs<'a>(spec: &ChartSpec, ctx: &Context<'a>, exp: &str) -> Vec<(String, &'a Job, i64)> {
    let axes = ctx.axes(exp);
    let mut chosen: Vec<(String, &Job, i64)> = Vec::new();
    for (job, run) in ctx.jobs(exp, &spec.filter) {
        let Some(run) = run else { continue };
        if run.status != JobStatus::Ok {
            continue;
        }
        let named = |x: &String| run.axes.get(x).map(|v| format!("{x}={v}"));
        let title = match &spec.panels {
            Some(Dim::Axis(a)) => {
                let mut parts: Vec<String> =
                    axes.iter().filter(|x| *x != a).filter_map(named).collect();
                parts.push(run.axes.get(a).cloned().unwrap_or_default());
                parts.join(", ")
            }
            _ => axes.iter().filter_map(named).collect::<Vec<_>>().join(", "),
        };
        match chosen.iter_mut().find(|c| c.0 == title) {
            Some(c) if run.seed < c.2 => *c = (title, job, run.seed),
            Some(_) => {}
            None => chosen.push((title, job, run.seed)),
        }
    }
    chosen
}

/// The last epoch at which `job` recorded its boundary, and that grid as
/// (x, y, output); none when it recorded none.
fn last_grid(ctx: &Context, job: &Job) -> Option<(u32, Vec<GridPoint>)> {
    let pts: Vec<_> = ctx
        .results
        .boundaries
        .iter()
        .filter(|b| b.job_id == job.id)
        .collect();
    let last = pts.iter().map(|b| b.point.epoch).max()?;
    let grid = pts
        .iter()
        .map(|b| &b.point)
        .filter(|b| b.epoch == last)
        .map(|b| (b.x, b.y, b.value))
        .collect();
    Some((last, grid))
}

/// The job's dataset as (x, y, class) points, up to 1,500 of each split;
/// none unless it has two inputs.
fn data_points(job: &Job) -> Result<Vec<(f32, f32, u32)>, ReportError> {
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
    Ok(points)
}

/// Draws boundary panels to `dir/<file>.svg` and `.png`.
pub fn draw_boundary(
    spec: &ChartSpec,
    panels: &[BoundaryPanel],
    dir: &Path,
) -> Result<(), ReportError> {
    write_svg_and_png(&Boundaries { spec, panels }, spec, dir)
}

/// The boundary panels of a chart, as one picture.
struct Boundaries<'a> {
    spec: &'a ChartSpec,
    panels: &'a [BoundaryPanel],
}

impl Picture for Boundaries<'_> {
    fn on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        boundary_on(root, self.spec, self.panels)
    }
}

/// Draws the panels side by side on `root`: the grid shaded by the
/// network's output, the data points coloured by class.
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
    let areas = body.split_evenly((1, panels.len().max(1)));
    for (p, area) in panels.iter().zip(areas) {
        draw_panel(&area, spec, p)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The colours of the data points' classes (a cycle).
const CLASS_COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// One panel: its grid as cells shaded from blue (low output) to red, then
/// the data points.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    p: &BoundaryPanel,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let extent = Extent::of(p);
    let (vmin, vmax) = output_range(p);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 13).into_font())
        .margin(8)
        .x_label_area_size(32)
        .y_label_area_size(40)
        .build_cartesian_2d(extent.x.0..extent.x.1, extent.y.0..extent.y.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(spec.x_label.as_str())
        .y_desc(spec.y_label.as_str())
        .label_style(("sans-serif", 11).into_font())
        .draw()
        .map_err(err)?;
    let (dx, dy) = extent.step;
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
                CLASS_COLORS[c as usize % CLASS_COLORS.len()].filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// What a boundary panel shows: the grid's cells (half a step beyond its
/// outer points) and every data point.
struct Extent {
    /// The grid's step along x and y.
    step: (f32, f32),
    /// The horizontal range.
    x: (f32, f32),
    /// The vertical range.
    y: (f32, f32),
}

impl Extent {
    fn of(p: &BoundaryPanel) -> Extent {
        let distinct = |coord: fn(&GridPoint) -> f32| {
            let mut v: Vec<f32> = p.grid.iter().map(coord).collect();
            v.sort_by(f32::total_cmp);
            v.dedup();
            v
        };
        let (xs, ys) = (distinct(|g| g.0), distinct(|g| g.1));
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
        Extent {
            step: (dx, dy),
            x: (x0, x1),
            y: (y0, y1),
        }
    }
}

/// The range the shading spans: 0 to 1 for probabilities, else the grid's
/// own (never empty).
fn output_range(p: &BoundaryPanel) -> (f32, f32) {
    let (vmin, vmax) = p
        .grid
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), g| {
            (a.min(g.2), b.max(g.2))
        });
    if vmin >= 0.0 && vmax <= 1.0 {
        (0.0, 1.0)
    } else {
        (vmin, vmax.max(vmin + 1e-6))
    }
}
