//! The report's colours: one per activation, the same in every chart of a
//! report (ReLU is the same blue in the depth sweep and in the learning
//! curves), and a fixed cycle for everything else.

use std::collections::BTreeMap;

use plotters::style::RGBColor;

/// One colour per activation, the same in every chart of a report, and a
/// fallback cycle for everything else.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    activations: BTreeMap<String, usize>,
}

/// The colour cycle (matplotlib's `tab10`).
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

impl Palette {
    /// Colours for these activation labels, in order of first appearance.
    pub fn new<'a>(labels: impl IntoIterator<Item = &'a str>) -> Palette {
        let mut activations = BTreeMap::new();
        for l in labels {
            let n = activations.len();
            activations.entry(l.to_string()).or_insert(n);
        }
        Palette { activations }
    }

    /// The colour of activation `label`, if it has one.
    pub fn activation(&self, label: &str) -> Option<RGBColor> {
        self.activations
            .get(label)
            .map(|&i| COLORS[i % COLORS.len()])
    }

    /// The `i`th colour of the cycle.
    pub fn nth(i: usize) -> RGBColor {
        COLORS[i % COLORS.len()]
    }
}
