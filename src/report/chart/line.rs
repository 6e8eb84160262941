//! `kind = "line"`: a value over x (an axis or `epoch`), one line per value
//! of `series` (default: the activation), with its spread as error bars, or
//! as a shaded band over epochs.

use std::path::Path;

use super::figure::{draw_series, series_query, Marks};
use super::{ChartKind, ChartSpec, Drawn, Keys, Layout, Sources};
use crate::report::cells::{Dim, Query};
use crate::report::ReportError;

/// The line chart kind.
#[derive(Debug, Clone, Copy)]
pub struct Line;

impl Line {
    /// Its marks: lines, the spread as a band when x is the epoch.
    pub fn marks(spec: &ChartSpec) -> Marks {
        Marks::Lines {
            areas: spec.x == Dim::Epoch,
        }
    }
}

impl ChartKind for Line {
    fn name(&self) -> &'static str {
        "line"
    }

    fn keys(&self) -> Keys {
        Keys {
            layout: Layout::Series,
            tune: true,
            ..Keys::DEFAULT
        }
    }

    fn default_title(&self, spec: &ChartSpec, stem: &str) -> String {
        format!("{stem}: {} by {}", spec.y.name, spec.x.name())
    }

    fn query(&self, spec: &ChartSpec) -> Option<Query> {
        let dims = spec.series.iter().cloned().chain([spec.x.clone()]);
        series_query(spec, dims, vec![spec.y.clone()])
    }

    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        draw_series(spec, Line::marks(spec), from, dir)
    }
}
