//! `kind = "cd"`: a critical-difference diagram (Demšar, JMLR 2006).
//!
//! The values of `x` (default: the activation) are ranked against each
//! other on `y` within every block: one seed and one value of every other
//! axis (each dataset, say; with `tune`, the tuned axes are chosen per cell
//! first, so they make no blocks of their own). The diagram puts each
//! value's mean rank on one axis, 1 (best) at the left, and joins by a
//! thick bar every group of values whose mean ranks differ by less than the
//! Nemenyi critical difference at 0.05, drawn to scale above the axis: two
//! values not joined by a bar differ significantly. The Friedman test over
//! the same blocks is printed beneath. The arithmetic is
//! [`crate::report::ranks`]'s; this file only lays the picture out.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{err, write_svg_and_png, DrawResult, Picture};
use super::figure::series_query;
use super::{ChartKind, ChartSpec, DefaultX, Drawn, Keys, Layout, Sources};
use crate::config::diag::Diagnostic;
use crate::config::raw::RawChart;
use crate::report::cells::{spec_error, Cells, Dim, Query};
use crate::report::ranks::RankTest;
use crate::report::ReportError;

/// The critical-difference diagram kind.
#[derive(Debug, Clone, Copy)]
pub struct Cd;

impl ChartKind for Cd {
    fn name(&self) -> &'static str {
        "cd"
    }

    fn keys(&self) -> Keys {
        Keys {
            x: DefaultX::Axis,
            layout: Layout::AsWritten,
            tune: true,
            ..Keys::DEFAULT
        }
    }

    /// x is a grid axis (its values are what is ranked); the diagram has no
    /// series or panels.
    fn check(&self, raw: &RawChart, spec: &ChartSpec) -> Result<(), Diagnostic> {
        if !matches!(spec.x, Dim::Axis(_)) {
            return Err(spec_error(
                "x",
                format!(
                    "a critical-difference diagram ranks the values of a grid axis, and `{}` is not one",
                    spec.x.name()
                ),
                raw.x.as_ref(),
            ));
        }
        if spec.series.is_some() || spec.panels.is_some() {
            let at = raw.series.as_ref().or(raw.panels.as_ref());
            return Err(spec_error(
                if raw.series.is_some() { "series" } else { "panels" },
                "a critical-difference diagram has no series or panels: every other axis makes blocks",
                at,
            ));
        }
        Ok(())
    }

    fn default_title(&self, spec: &ChartSpec, stem: &str) -> String {
        format!(
            "{stem}: mean rank of each {} on {} (critical difference, Nemenyi 0.05)",
            spec.x.name(),
            spec.y.name
        )
    }

    fn default_labels(&self, _spec: &ChartSpec) -> (String, String) {
        ("mean rank (1 = best)".into(), String::new())
    }

    fn query(&self, spec: &ChartSpec) -> Option<Query> {
        series_query(spec, [spec.x.clone()], vec![spec.y.clone()])
    }

    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        let Some(q) = self.query(spec) else {
            return Ok(Drawn::Nothing);
        };
        let cells = from.ctx.query_tuned(&q, spec.tune.as_ref())?;
        let Some(diagram) = Diagram::of(spec, &cells) else {
            return Ok(Drawn::NotYet);
        };
        write_svg_and_png(&diagram, spec, dir)?;
        Ok(Drawn::Files)
    }
}

/// What the diagram shows: the ranked values and their rank test.
struct Diagram<'a> {
    spec: &'a ChartSpec,
    /// The values of x, in the cells' order.
    names: Vec<String>,
    /// Their ranks, Friedman test and critical difference.
    test: RankTest,
}

impl<'a> Diagram<'a> {
    /// The blocks of `cells` (every label but x's, and the seed), ranked;
    /// `None` when no block has every value of x.
    fn of(spec: &'a ChartSpec, cells: &Cells) -> Option<Diagram<'a>> {
        let x = cells.dims.len().checked_sub(1)?;
        let names = cells.labels[x].clone();
        let mut blocks: BTreeMap<(Vec<String>, i64), Vec<f64>> = BTreeMap::new();
        for (key, samples) in &cells.samples {
            let Some(at) = names.iter().position(|n| *n == key[x]) else {
                continue;
            };
            for &(seed, v) in samples {
                let block = blocks
                    .entry((key[..x].to_vec(), seed))
                    .or_insert_with(|| vec![f64::NAN; names.len()]);
                block[at] = v;
            }
        }
        let scores: Vec<Vec<f64>> = blocks.into_values().collect();
        let test = RankTest::new(&scores, spec.y.higher_is_better()).ok()?;
        Some(Diagram { spec, names, test })
    }
}

/// Pixel layout of the diagram.
struct Frame {
    /// The rank axis's ends and height.
    left: i32,
    right: i32,
    axis_y: i32,
    /// Treatments (k).
    k: usize,
}

impl Frame {
    /// The x pixel of mean rank `r`.
    fn px(&self, r: f64) -> i32 {
        let span = (self.k.max(2) - 1) as f64;
        self.left + ((r - 1.0) / span * f64::from(self.right - self.left)).round() as i32
    }
}

impl Picture for Diagram<'_> {
    fn on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(err)?;
        let (w, h) = root.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let frame = Frame {
            left: w / 4,
            right: w - w / 4,
            axis_y: 110,
            k: self.names.len(),
        };
        let text = |size: u32, pos: Pos| ("sans-serif", size).into_font().color(&BLACK).pos(pos);
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            self.spec.title.clone(),
            (w / 2, 24),
            text(18, centre),
        ))
        .map_err(err)?;
        self.axis(root, &frame, &text)?;
        self.critical_difference(root, &frame, &text)?;
        let below = self.groups(root, &frame)?;
        let bottom = self.labels(root, &frame, below, &text)?;
        let f = &self.test.friedman;
        let caption = format!(
            "Friedman test over {} blocks: χ²({}) = {:.2}, p {}. Bars join values whose mean ranks differ by less than CD = {:.2}.",
            self.test.blocks,
            f.df,
            f.chi2,
            crate::report::table::p_equals(f.p),
            self.test.cd_05
        );
        let y = (bottom + 30).min(h - 16);
        root.draw(&Text::new(caption, (w / 2, y), text(13, centre)))
            .map_err(err)
    }
}

type TextFn<'f> = dyn Fn(u32, Pos) -> TextStyle<'f> + 'f;

impl Diagram<'_> {
    /// The rank axis: a line from 1 to k with a tick and number at each rank.
    fn axis<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        f: &Frame,
        text: &TextFn,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let line = PathElement::new(vec![(f.left, f.axis_y), (f.right, f.axis_y)], BLACK);
        root.draw(&line).map_err(err)?;
        let above = Pos::new(HPos::Center, VPos::Bottom);
        for r in 1..=f.k {
            let x = f.px(r as f64);
            let tick = PathElement::new(vec![(x, f.axis_y - 6), (x, f.axis_y)], BLACK);
            root.draw(&tick).map_err(err)?;
            root.draw(&Text::new(
                r.to_string(),
                (x, f.axis_y - 9),
                text(13, above),
            ))
            .map_err(err)?;
        }
        Ok(())
    }

    /// The critical difference to scale, above the axis, from rank 1.
    fn critical_difference<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        f: &Frame,
        text: &TextFn,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (x0, x1, y) = (f.px(1.0), f.px(1.0 + self.test.cd_05), f.axis_y - 45);
        let style = BLACK.stroke_width(2);
        root.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))
            .map_err(err)?;
        for x in [x0, x1] {
            root.draw(&PathElement::new(vec![(x, y - 5), (x, y + 5)], style))
                .map_err(err)?;
        }
        let label = format!("CD = {:.2}", self.test.cd_05);
        let above = Pos::new(HPos::Center, VPos::Bottom);
        root.draw(&Text::new(label, ((x0 + x1) / 2, y - 8), text(13, above)))
            .map_err(err)
    }

    /// The bars joining groups not significantly different, below the axis;
    /// returns the lowest y used.
    fn groups<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        f: &Frame,
    ) -> Result<i32, String>
    where
        DB::ErrorType: 'static,
    {
        let ranks = &self.test.mean_ranks;
        let mut y = f.axis_y + 14;
        for group in self.test.groups(self.test.cd_05) {
            let lo = group
                .iter()
                .map(|&i| ranks[i])
                .fold(f64::INFINITY, f64::min);
            let hi = group
                .iter()
                .map(|&i| ranks[i])
                .fold(f64::NEG_INFINITY, f64::max);
            let bar = PathElement::new(
                vec![(f.px(lo) - 4, y), (f.px(hi) + 4, y)],
                BLACK.stroke_width(4),
            );
            root.draw(&bar).map_err(err)?;
            y += 9;
        }
        Ok(y)
    }

    /// Each value's name and mean rank, joined to its place on the axis:
    /// the better half to the left, the rest to the right. Returns the
    /// lowest y used.
    fn labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        f: &Frame,
        below: i32,
        text: &TextFn,
    ) -> Result<i32, String>
    where
        DB::ErrorType: 'static,
    {
        let order = self.test.order();
        let half = order.len().div_ceil(2);
        let mut lowest = below;
        for (j, &i) in order.iter().enumerate() {
            let r = self.test.mean_ranks[i];
            let (row, left) = if j < half {
                (j, true)
            } else {
                (order.len() - 1 - j, false)
            };
            let y = below + 12 + 22 * row as i32;
            let (end, anchor) = if left {
                (f.left - 24, Pos::new(HPos::Right, VPos::Center))
            } else {
                (f.right + 24, Pos::new(HPos::Left, VPos::Center))
            };
            let x = f.px(r);
            let path = PathElement::new(vec![(x, f.axis_y), (x, y), (end, y)], BLACK);
            root.draw(&path).map_err(err)?;
            let label = format!("{} ({r:.2})", self.names[i]);
            let at = if left { end - 6 } else { end + 6 };
            root.draw(&Text::new(label, (at, y), text(14, anchor)))
                .map_err(err)?;
            lowest = lowest.max(y);
        }
        Ok(lowest)
    }
}
