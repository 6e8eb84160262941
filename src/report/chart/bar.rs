//! `kind = "bar"`: a value per category of x (default: the activation),
//! grouped by `series`, with error bars; with `baseline`, each bar is the
//! paired difference from the baseline's (along x, else the series) with its
//! 95% confidence interval.

use std::path::Path;

use super::figure::{draw_series, series_query, Marks};
use super::{ChartKind, ChartSpec, DefaultX, Drawn, Keys, Layout, Sources};
use crate::report::cells::Query;
use crate::report::ReportError;

/// The bar chart kind.
#[derive(Debug, Clone, Copy)]
pub struct Bar;

impl ChartKind for Bar {
    fn name(&self) -> &'static str {
        "bar"
    }

    fn keys(&self) -> Keys {
        Keys {
            x: DefaultX::Axis,
            layout: Layout::Series,
            baseline: true,
            tune: true,
            ..Keys::DEFAULT
        }
    }

    fn default_title(&self, spec: &ChartSpec, stem: &str) -> String {
        let (y, x) = (&spec.y.name, spec.x.name());
        match &spec.baseline {
            Some(b) => format!(
                "{stem}: {y} by {x}, difference from {} (paired by seed)",
                b.label
            ),
            None => format!("{stem}: {y} by {x}"),
        }
    }

    fn query(&self, spec: &ChartSpec) -> Option<Query> {
        let dims = spec.series.iter().cloned().chain([spec.x.clone()]);
        series_query(spec, dims, vec![spec.y.clone()])
    }

    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        draw_series(spec, Marks::Bars, from, dir)
    }
}
