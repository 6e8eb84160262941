//! `kind = "curves"`: learning curves, the chart's `metrics` (default: train
//! and test loss) over epochs, one panel per value of `panels` (default:
//! the activation), the spread as a shaded band. The default report draws
//! one per experiment ([`ChartSpec::learning_curves`]).

use std::path::Path;

use super::figure::{draw_series, series_query, Marks};
use super::{ChartKind, ChartSpec, Drawn, Keys, Layout, Sources};
use crate::report::cells::{Dim, Query};
use crate::report::ReportError;

/// The learning-curves chart kind.
#[derive(Debug, Clone, Copy)]
pub struct Curves;

impl ChartKind for Curves {
    fn name(&self) -> &'static str {
        "curves"
    }

    fn keys(&self) -> Keys {
        Keys {
            layout: Layout::Panels,
            ..Keys::DEFAULT
        }
    }

    fn default_title(&self, spec: &ChartSpec, stem: &str) -> String {
        let metrics: Vec<&str> = spec.metrics.iter().map(|m| m.name.as_str()).collect();
        format!("{stem}: {}", metrics.join(", "))
    }

    fn default_labels(&self, _spec: &ChartSpec) -> (String, String) {
        ("epoch".into(), "value".into())
    }

    fn query(&self, spec: &ChartSpec) -> Option<Query> {
        series_query(spec, [Dim::Metric, Dim::Epoch], spec.metrics.clone())
    }

    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        draw_series(spec, Marks::Lines { areas: true }, from, dir)
    }
}
