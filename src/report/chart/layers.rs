//! `kind = "layers"`: a per-layer metric (default: `grad_norm_mean`) over
//! epochs, one line per layer, one panel per value of `panels` (default:
//! the activation), on a log scale unless `log_y = false`.

use std::path::Path;

use super::figure::{draw_series, series_query, Marks};
use super::{ChartKind, ChartSpec, Drawn, Keys, Layout, Sources};
use crate::report::cells::{Dim, Query};
use crate::report::ReportError;

/// The per-layer chart kind.
#[derive(Debug, Clone, Copy)]
pub struct Layers;

impl ChartKind for Layers {
    fn name(&self) -> &'static str {
        "layers"
    }

    fn keys(&self) -> Keys {
        Keys {
            layout: Layout::Panels,
            y: "grad_norm_mean",
            log_y: true,
            ..Keys::DEFAULT
        }
    }

    fn default_title(&self, spec: &ChartSpec, stem: &str) -> String {
        format!("{stem}: {} per layer", spec.y.name)
    }

    fn default_labels(&self, spec: &ChartSpec) -> (String, String) {
        ("epoch".into(), spec.value_label())
    }

    fn query(&self, spec: &ChartSpec) -> Option<Query> {
        series_query(spec, [Dim::Layer, Dim::Epoch], vec![spec.y.clone()])
    }

    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        draw_series(spec, Marks::Lines { areas: true }, from, dir)
    }
}
