//! `kind = "activations"`: the shapes of activation functions and their
//! derivatives ([`crate::activation::plot`]): the chart's `activations`, by
//! default every activation the sweep's jobs use, in plan order. It reads
//! the sweep's activation library, not the results.

use std::path::Path;

use super::{ChartKind, ChartSpec, Drawn, Keys, Sources};
use crate::plan::Plan;
use crate::report::ReportError;

/// The activation-shapes chart kind.
#[derive(Debug, Clone, Copy)]
pub struct Activations;

impl ChartKind for Activations {
    fn name(&self) -> &'static str {
        "activations"
    }

    /// No experiment: it draws from the library.
    fn keys(&self) -> Keys {
        Keys {
            experiment: false,
            ..Keys::DEFAULT
        }
    }

    fn default_title(&self, _spec: &ChartSpec, _stem: &str) -> String {
        "Activations: f and f'".into()
    }

    /// An activation the library lacks is an error naming the chart.
    fn draw(&self, spec: &ChartSpec, from: &Sources, dir: &Path) -> Result<Drawn, ReportError> {
        let names = match &spec.activations {
            Some(n) => n.clone(),
            None => used_activations(from.ctx.plan),
        };
        let defs = names
            .iter()
            .map(|n| {
                from.library.get(n).ok_or_else(|| {
                    ReportError::Spec(format!("chart {}: no activation named `{n}`", spec.file))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for ext in ["svg", "png"] {
            let p = dir.join(format!("{}.{ext}", spec.file));
            crate::activation::plot::draw_sized(
                defs.iter().copied(),
                &p,
                Some((spec.width, spec.height)),
            )?;
        }
        Ok(Drawn::Files)
    }
}

/// The activations the plan's jobs use, by name, in plan order.
fn used_activations(plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for j in &plan.jobs {
        if !names.contains(&j.config.activation.name) {
            names.push(j.config.activation.name.clone());
        }
    }
    names
}
