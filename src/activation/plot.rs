//! `actsweep activations --plot`: every activation and its derivative, one small panel each.
//!
//! Panels are laid out on a grid, four per row; each shows f (blue) and f'
//! (orange) on [-4, 4], evaluated by the same compiled kernels that training
//! uses. PNG and SVG are chosen by the file's extension. Text uses DejaVu Sans
//! compiled into the binary (registered once), so drawing never depends on the
//! fonts installed on the machine.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Compiled, Definition, FormulaError};

/// Output image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A bitmap.
    Png,
    /// A vector image.
    Svg,
}

impl Format {
    /// The format named by a path's extension (case-insensitive), if supported.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            _ => None,
        }
    }
}

/// Drawing the activations failed.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The extension names no supported format.
    #[error("cannot plot to {0}: the file name must end in .png or .svg")]
    Format(String),
    /// A definition does not compile (the library is checked before, so this is rare).
    #[error("activation {name}: {source}")]
    Formula {
        /// The activation.
        name: String,
        /// Why.
        #[source]
        source: FormulaError,
    },
    /// plotters failed (usually writing the file).
    #[error("drawing {path} failed: {message}")]
    Draw {
        /// The output file.
        path: String,
        /// plotters' message.
        message: String,
    },
}

/// Input range of every panel.
pub const RANGE: (f32, f32) = (-4.0, 4.0);
const COLS: usize = 4;
const PANEL: (u32, u32) = (300, 220);
const TITLE: u32 = 40;
const SAMPLES: usize = 401;

struct Panel {
    name: String,
    xs: Vec<f32>,
    f: Vec<f32>,
    df: Vec<f32>,
}

/// Registers DejaVu Sans (compiled in) as `sans-serif`, once per process.
pub(crate) fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF shipped by the `dejavu` crate; if
        // registration ever failed, text would just be missing.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Draws each definition's f and f' into `path` (PNG or SVG by extension).
pub fn draw<'a>(
    defs: impl IntoIterator<Item = &'a Definition>,
    path: &Path,
) -> Result<(), PlotError> {
    draw_sized(defs, path, None)
}

/// [`draw`] at a given image size (width, height); `None` sizes the image
/// to the panels (300 × 220 each, four per row).
pub fn draw_sized<'a>(
    defs: impl IntoIterator<Item = &'a Definition>,
    path: &Path,
    size: Option<(u32, u32)>,
) -> Result<(), PlotError> {
    let shown = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| PlotError::Format(shown.clone()))?;
    let mut panels = Vec::new();
    for def in defs {
        let cfg = def.config();
        let c = Compiled::new(&cfg).map_err(|source| PlotError::Formula {
            name: def.name.clone(),
            source,
        })?;
        let (lo, hi) = RANGE;
        let xs: Vec<f32> = (0..SAMPLES)
            .map(|i| lo + (hi - lo) * i as f32 / (SAMPLES - 1) as f32)
            .collect();
        let mut f = vec![0.0; SAMPLES];
        let mut df = vec![0.0; SAMPLES];
        c.forward_grad(&xs, &mut f, &mut df);
        panels.push(Panel {
            name: def.name.clone(),
            xs,
            f,
            df,
        });
    }
    register_fonts();
    let rows = panels.len().div_ceil(COLS).max(1) as u32;
    let size = size.unwrap_or((PANEL.0 * COLS as u32, PANEL.1 * rows + TITLE));
    let err = |e: String| PlotError::Draw {
        path: shown.clone(),
        message: e,
    };
    // To a temporary file renamed into place, as every file actsweep writes.
    crate::atomic::write_via(path, |tmp| match format {
        Format::Png => draw_on(
            &BitMapBackend::new(tmp, size).into_drawing_area(),
            &panels,
            rows as usize,
        ),
        Format::Svg => draw_on(
            &SVGBackend::new(tmp, size).into_drawing_area(),
            &panels,
            rows as usize,
        ),
    })
    .map_err(err)
}

fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel],
    rows: usize,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let s = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(s)?;
    let body = root
        .titled(
            "Activations: f (blue) and f' (orange) on [-4, 4]",
            ("sans-serif", 22).into_font(),
        )
        .map_err(s)?;
    let areas = body.split_evenly((rows, COLS));
    let orange = RGBColor(230, 120, 20);
    for (p, area) in panels.iter().zip(areas) {
        let finite = p.f.iter().chain(&p.df).copied().filter(|v| v.is_finite());
        let (mut ymin, mut ymax) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if !ymin.is_finite() || !ymax.is_finite() {
            (ymin, ymax) = (-1.0, 1.0);
        }
        let pad = ((ymax - ymin) * 0.08).max(0.1);
        let mut chart = ChartBuilder::on(&area)
            .caption(&p.name, ("sans-serif", 16).into_font())
            .margin(6)
            .x_label_area_size(20)
            .y_label_area_size(32)
            .build_cartesian_2d(RANGE.0..RANGE.1, (ymin - pad)..(ymax + pad))
            .map_err(s)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .label_style(("sans-serif", 10).into_font())
            .draw()
            .map_err(s)?;
        let pts = |ys: &[f32]| -> Vec<(f32, f32)> {
            p.xs.iter()
                .zip(ys)
                .filter(|(_, y)| y.is_finite())
                .map(|(x, y)| (*x, *y))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(pts(&p.f), BLUE.stroke_width(2)))
            .map_err(s)?;
        chart
            .draw_series(LineSeries::new(pts(&p.df), orange.stroke_width(2)))
            .map_err(s)?;
    }
    root.present().map_err(s)?;
    Ok(())
}
