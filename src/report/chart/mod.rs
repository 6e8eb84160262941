//! Charts: what a chart kind is (one trait, [`ChartKind`]), and the one list
//! of kinds.
//!
//! A `[[charts]]` entry resolves into a [`ChartSpec`] ([`spec`]): the keys
//! every kind shares, checked in one order, with the defaults its kind
//! declares ([`Keys`]). Everything else the report knows about a kind lives
//! in the kind's own file, behind [`ChartKind`]: its name, its defaults and
//! any checks of its own, what it aggregates ([`ChartKind::query`]) and how
//! it draws ([`ChartKind::draw`]).
//!
//! - [`line`](mod@line) (x = an axis or `epoch`, one series per value of an axis),
//!   [`bar`] (grouped bars with error bars, or paired differences from a
//!   baseline), [`curves`] (metrics over epochs, a panel per value of an
//!   axis) and [`layers`] (a per-layer metric over epochs, log scale, a
//!   panel per activation) draw the shared series [`figure`](mod@figure) (panels of
//!   series of mean ± spread points) with [`draw`].
//! - [`boundary`] (decision boundaries with the data points, side by side)
//!   and [`activations`] (the shapes and derivatives of
//!   [`crate::activation::plot`]) draw their own pictures.
//!
//! Legends sit in their own column at the right, so they never cover data;
//! every activation keeps one colour across all charts of a report
//! ([`Palette`]); text is DejaVu Sans, compiled in. SVG and PNG are drawn
//! alike.
//!
//! Adding a kind is its file (a unit struct implementing [`ChartKind`]) plus
//! one line in [`KINDS`] (and its new keys, if it takes keys no kind has
//! yet, in [`RawChart`]). The sweep file's reading
//! ([`crate::config::load`]) checks `kind` and `experiment` against
//! [`KINDS`] too. A kind that needs a
//! picture of its own (a critical-difference diagram of mean ranks) queries
//! the cells it needs in [`ChartKind::query`] or in its `draw`, and draws
//! with plotters there, as [`boundary`] does.

pub mod activations;
pub mod bar;
pub mod boundary;
pub mod cd;
pub mod curves;
pub mod draw;
pub mod figure;
pub mod layers;
pub mod line;
pub mod palette;
pub mod spec;

use std::path::Path;

use super::cells::{Context, Query};
use super::ReportError;
use crate::activation::Library;
use crate::config::diag::Diagnostic;
use crate::config::raw::RawChart;
pub use draw::draw_figure;
pub use figure::{figure, Figure, Marks, PanelData, Series};
pub use palette::Palette;
pub use spec::{Band, ChartSpec};

/// Every chart kind, in the order the docs list them: the one place that
/// names them all (a kind's `kind` key is looked up here).
pub static KINDS: &[&dyn ChartKind] = &[
    &line::Line,
    &bar::Bar,
    &curves::Curves,
    &layers::Layers,
    &boundary::Boundary,
    &activations::Activations,
    &cd::Cd,
];

/// The kind a sweep file names `name`.
pub fn kind(name: &str) -> Option<&'static dyn ChartKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// One kind of chart (`kind = "line"`). Its implementing type is a unit
/// struct in the kind's own file; the resolved keys are the [`ChartSpec`].
pub trait ChartKind: Sync {
    /// The `kind` a sweep file gives it.
    fn name(&self) -> &'static str;

    /// Its defaults for the shared keys, and whether it takes `baseline`.
    fn keys(&self) -> Keys {
        Keys::DEFAULT
    }

    /// Checks of its own on a resolved spec, after the shared keys (a key
    /// that means nothing to this kind, a dimension it cannot use), located
    /// at the key in `raw` ([`crate::report::cells::spec_error`]); the caller
    /// adds the entry (`charts[3]`) and the file.
    fn check(&self, _raw: &RawChart, _spec: &ChartSpec) -> Result<(), Diagnostic> {
        Ok(())
    }

    /// The title of a chart without `title`; `stem` is the experiment (or
    /// `sweep` for a chart of none).
    fn default_title(&self, spec: &ChartSpec, stem: &str) -> String;

    /// The horizontal and vertical axis labels without `x_label` and
    /// `y_label`: by default the name of x, and the value (or its
    /// difference from the baseline).
    fn default_labels(&self, spec: &ChartSpec) -> (String, String) {
        (spec.x.name().to_string(), spec.value_label())
    }

    /// The cells it aggregates, when it reads cells: none for a kind that
    /// reads something else (the boundary grids, the activation library),
    /// or for a chart without an experiment.
    fn query(&self, _spec: &ChartSpec) -> Option<Query> {
        None
    }

    /// Draws the chart into `dir/<file>.svg` and `dir/<file>.png`.
    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError>;
}

impl std::fmt::Debug for dyn ChartKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind's defaults for the keys every chart shares; [`Keys::DEFAULT`]
/// unless it says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// `x` when not written.
    pub x: DefaultX,
    /// How `series` and `panels` default.
    pub layout: Layout,
    /// `y` when not written (a name in the metric catalogue).
    pub y: &'static str,
    /// `log_y` when not written.
    pub log_y: bool,
    /// Whether the kind takes `baseline` (paired differences).
    pub baseline: bool,
    /// Whether the kind takes `tune` (each point at its best setting).
    pub tune: bool,
    /// Whether it draws an experiment's results, so `experiment` is
    /// required (checked when the sweep file is read).
    pub experiment: bool,
}

impl Keys {
    /// x is the epoch, series and panels as written, y is `test_acc` on a
    /// linear scale, no baseline, an experiment required.
    pub const DEFAULT: Keys = Keys {
        x: DefaultX::Epoch,
        layout: Layout::AsWritten,
        y: "test_acc",
        log_y: false,
        baseline: false,
        tune: false,
        experiment: true,
    };
}

/// What x is when a chart does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultX {
    /// The epoch.
    Epoch,
    /// The experiment's `activation` axis, else its first axis, else the
    /// experiment itself.
    Axis,
}

/// How a kind spreads its data over series and panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One series per value of `series` (default: the `activation` axis,
    /// else the first axis, unless that is x).
    Series,
    /// One panel per value of `panels` (default: the `activation` axis, else
    /// the first axis); no series key.
    Panels,
    /// `series` and `panels` as written, without defaults.
    AsWritten,
}

/// What a kind draws from: the plan and results (indexed for queries), the
/// report's colours, and the sweep's activation library.
pub struct Sources<'a> {
    /// The plan and the results.
    pub ctx: &'a Context<'a>,
    /// One colour per activation across the report.
    pub palette: &'a Palette,
    /// Built-in activations plus the sweep file's.
    pub library: &'a Library,
}

/// What drawing a chart came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawn {
    /// Its SVG and PNG are written.
    Files,
    /// Nothing to draw, and nothing to say (a chart without an experiment).
    Nothing,
    /// Nothing to draw yet: no run of its experiment has finished (a report
    /// in the middle of a run says so in place of the chart).
    NotYet,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_is_found_by_it() {
        for k in KINDS {
            assert!(
                std::ptr::addr_eq(kind(k.name()).unwrap(), *k),
                "{}",
                k.name()
            );
        }
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len(), "two kinds share a name");
        assert!(kind("lines").is_none());
    }
}
