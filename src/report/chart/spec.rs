//! A `[[charts]]` entry resolved into a [`ChartSpec`]: the keys every kind
//! shares (dimensions, values, spread, epoch, y range, file, size, title,
//! labels), checked in one order for every kind, with the defaults its kind
//! declares ([`super::Keys`]) and then the kind's own checks.

use super::{kind, ChartKind, DefaultX, Keys, Layout};
use crate::config::diag::Diagnostic;
use crate::config::raw::RawChart;
use crate::report::cells::{spec_error, value_name, Baseline, Dim, EpochSel, Filter};
use crate::report::table::filter_pairs;
use crate::report::tune::Tune;
use crate::results::ValueName;

/// Spread drawn around each mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// ± one standard deviation over seeds.
    Std,
    /// ± the 95% confidence interval of the mean.
    Ci95,
    /// Nothing.
    None,
}

/// A resolved `[[charts]]` entry.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    /// The kind.
    pub kind: &'static dyn ChartKind,
    /// The experiment (none for `activations`).
    pub experiment: Option<String>,
    /// File stem under `report/`.
    pub file: String,
    /// Title.
    pub title: String,
    /// Horizontal dimension (`line`, `bar`).
    pub x: Dim,
    /// The value plotted (`line`, `bar`, `layers`).
    pub y: ValueName,
    /// One series per value of this dimension.
    pub series: Option<Dim>,
    /// One panel per value of this dimension.
    pub panels: Option<Dim>,
    /// Spread over seeds.
    pub band: Band,
    /// Epoch for `line` and `bar`.
    pub epoch: EpochSel,
    /// Values for `curves`.
    pub metrics: Vec<ValueName>,
    /// Activations for `activations` (none = those the sweep uses).
    pub activations: Option<Vec<String>>,
    /// Job filter.
    pub filter: Filter,
    /// `bar`: bars as paired differences from this label of x (or series).
    pub baseline: Option<Baseline>,
    /// `line`, `bar`: each point at its best setting of these axes.
    pub tune: Option<Tune>,
    /// Logarithmic x.
    pub log_x: bool,
    /// Logarithmic y.
    pub log_y: bool,
    /// One vertical scale for every panel.
    pub share_y: bool,
    /// Fixed lower end of the y axis.
    pub y_min: Option<f64>,
    /// Fixed upper end of the y axis.
    pub y_max: Option<f64>,
    /// X label.
    pub x_label: String,
    /// Y label.
    pub y_label: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}

impl ChartSpec {
    /// Resolves a `[[charts]]` entry against the experiment's axes: its
    /// kind, dimensions, values, baseline, spread, epoch, y range, file and
    /// size, in that order, then the kind's own checks, then its title and
    /// labels.
    pub fn from_raw(c: &RawChart, axes: &[String]) -> Result<ChartSpec, Diagnostic> {
        let kind = kind(c.kind.get_ref()).ok_or_else(|| {
            spec_error(
                "kind",
                format!("unknown chart kind `{}`", c.kind.get_ref()),
                Some(&c.kind),
            )
        })?;
        let keys = kind.keys();
        let experiment = c.experiment.as_ref().map(|e| e.get_ref().clone());
        let (x, series, panels) = chart_dims(c, keys, axes)?;
        let (y, metrics) = chart_values(c, keys.y)?;
        let baseline = Baseline::parse(c.baseline.as_ref(), c.test.as_ref())?;
        if baseline.is_some() && !keys.baseline {
            return Err(spec_error(
                "baseline",
                format!(
                    "`baseline` draws paired differences on {} charts, not `{}`",
                    kinds_taking(|k| k.baseline),
                    kind.name()
                ),
                c.baseline.as_ref(),
            ));
        }
        let band = chart_band(c, baseline.is_some())?;
        let shown: Vec<&Dim> = [Some(&x), series.as_ref(), panels.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let tune = Tune::parse(c.tune.as_ref(), axes, &shown)?;
        if tune.is_some() && !keys.tune {
            return Err(spec_error(
                "tune",
                format!(
                    "`tune` chooses each point's setting on {} charts, not `{}`",
                    kinds_taking(|k| k.tune),
                    kind.name()
                ),
                c.tune.as_ref(),
            ));
        }
        let epoch = EpochSel::parse(c.epoch.as_ref().map(|e| e.get_ref()))
            .map_err(|m| spec_error("epoch", m, c.epoch.as_ref()))?;
        let log_y = c.log_y.unwrap_or(keys.log_y);
        let (y_min, y_max) = y_range(c, log_y)?;
        let stem = experiment.clone().unwrap_or_else(|| "sweep".into());
        let file = chart_file(c, kind.name(), &stem)?;
        let mut spec = ChartSpec {
            kind,
            experiment,
            file,
            title: String::new(),
            x,
            y,
            series,
            panels,
            band,
            epoch,
            metrics,
            activations: c.activations.clone(),
            filter: filter_pairs(c.filter.as_ref().map(|f| f.get_ref())),
            baseline,
            tune,
            log_x: c.log_x.unwrap_or(false),
            log_y,
            share_y: c.share_y.unwrap_or(true),
            y_min,
            y_max,
            x_label: String::new(),
            y_label: String::new(),
            width: pixels(&c.width, WIDTH, "width")?,
            height: pixels(&c.height, HEIGHT, "height")?,
        };
        kind.check(c, &spec)?;
        spec.title = c
            .title
            .clone()
            .unwrap_or_else(|| kind.default_title(&spec, &stem));
        let (x_label, y_label) = kind.default_labels(&spec);
        spec.x_label = c.x_label.clone().unwrap_or(x_label);
        spec.y_label = c.y_label.clone().unwrap_or(y_label);
        Ok(spec)
    }

    /// The vertical axis's default label: the value, or its difference from
    /// the baseline.
    pub fn value_label(&self) -> String {
        match &self.baseline {
            Some(b) => format!("Δ {} vs {}", self.y.name, b.label),
            None => self.y.name.clone(),
        }
    }
}

impl ChartSpec {
    /// The default report's chart of an experiment: learning curves of
    /// `metrics`, one panel per value of its activation axis (else its
    /// first axis), as a `[[charts]]` entry with only `kind = "curves"`,
    /// `experiment`, `title`, `metrics` and `y_label = "loss"` resolves.
    /// None without metrics.
    pub fn learning_curves(
        experiment: &str,
        metrics: Vec<ValueName>,
        axes: &[String],
    ) -> Option<ChartSpec> {
        let y = metrics.first()?.clone();
        let panels = default_axis(axes);
        let kind = &super::curves::Curves;
        Some(ChartSpec {
            kind,
            experiment: Some(experiment.to_string()),
            file: format!("{experiment}_{}", kind.name()),
            title: format!("{experiment}: learning curves"),
            x: Dim::Epoch,
            y,
            series: None,
            panels,
            band: Band::Std,
            epoch: EpochSel::Last,
            metrics,
            activations: None,
            filter: Vec::new(),
            baseline: None,
            tune: None,
            log_x: false,
            log_y: false,
            share_y: true,
            y_min: None,
            y_max: None,
            x_label: "epoch".into(),
            y_label: "loss".into(),
            width: WIDTH,
            height: HEIGHT,
        })
    }
}

/// The kinds that take `baseline`, as an error names them (`` `bar` ``).
fn kinds_taking(takes: impl Fn(&Keys) -> bool) -> String {
    let names: Vec<String> = super::KINDS
        .iter()
        .filter(|k| takes(&k.keys()))
        .map(|k| format!("`{}`", k.name()))
        .collect();
    names.join(" and ")
}

/// A chart's width in pixels without `width`.
pub(super) const WIDTH: u32 = 800;
/// A chart's height in pixels without `height`.
pub(super) const HEIGHT: u32 = 500;

/// The axis a chart spreads over by default: `activation` when the
/// experiment has it, else its first axis.
pub(super) fn default_axis(axes: &[String]) -> Option<Dim> {
    if axes.iter().any(|a| a == "activation") {
        Some(Dim::Axis("activation".into()))
    } else {
        axes.first().map(|a| Dim::Axis(a.clone()))
    }
}

/// A chart's x, series and panels: as written, or the kind's defaults
/// (the `activation` axis, else the first axis), checked to differ.
fn chart_dims(
    c: &RawChart,
    keys: super::Keys,
    axes: &[String],
) -> Result<(Dim, Option<Dim>, Option<Dim>), Diagnostic> {
    let dim = |s: &Option<toml::Spanned<String>>, key: &str| -> Result<Option<Dim>, Diagnostic> {
        s.as_ref().map(|s| Dim::parse_at(s, axes, key)).transpose()
    };
    let x = dim(&c.x, "x")?.unwrap_or(match keys.x {
        DefaultX::Axis => default_axis(axes).unwrap_or(Dim::Experiment),
        DefaultX::Epoch => Dim::Epoch,
    });
    let mut series = dim(&c.series, "series")?;
    let mut panels = dim(&c.panels, "panels")?;
    let per_panel = keys.layout == Layout::Panels;
    if per_panel {
        if panels.is_none() {
            panels = default_axis(axes);
        }
        series = None;
    } else if keys.layout == Layout::Series && series.is_none() && c.series.is_none() {
        series = default_axis(axes).filter(|d| d != &x);
    }
    if series.is_some() && series == Some(x.clone()) {
        return Err(spec_error(
            "series",
            format!("x and series are both `{}`", x.name()),
            c.series.as_ref(),
        ));
    }
    if panels.is_some() && (panels == series || panels == Some(x.clone())) && !per_panel {
        return Err(spec_error(
            "panels",
            "panels must differ from x and series",
            c.panels.as_ref(),
        ));
    }
    Ok((x, series, panels))
}

/// A chart's `y` (default: the kind's, `default_y`) and `metrics` (default
/// train and test loss), resolved against the metric catalogue.
fn chart_values(c: &RawChart, default_y: &str) -> Result<(ValueName, Vec<ValueName>), Diagnostic> {
    let y = match &c.y {
        Some(y) => value_name(y.get_ref(), "y", Some(y))?,
        None => value_name::<()>(default_y, "y", None)?,
    };
    let metrics = match &c.metrics {
        Some(m) => m
            .get_ref()
            .iter()
            .map(|name| value_name(name, "metrics", Some(m)))
            .collect::<Result<Vec<_>, _>>()?,
        None => ["train_loss", "test_loss"]
            .iter()
            .map(|name| value_name::<()>(name, "metrics", None))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok((y, metrics))
}

/// The spread drawn: as written, or std (the 95% CI for paired differences).
fn chart_band(c: &RawChart, paired: bool) -> Result<Band, Diagnostic> {
    match c.band.as_ref().map(|b| b.get_ref().as_str()) {
        // Differences carry their confidence interval, as the tables do.
        None if paired => Ok(Band::Ci95),
        None | Some("std") => Ok(Band::Std),
        Some("ci95") => Ok(Band::Ci95),
        Some("none") => Ok(Band::None),
        Some(o) => Err(spec_error(
            "band",
            format!("band `{o}` is not one of std, ci95, none"),
            c.band.as_ref(),
        )),
    }
}

/// `y_min` and `y_max`: finite, above 0 on a log axis, in order.
fn y_range(c: &RawChart, log_y: bool) -> Result<(Option<f64>, Option<f64>), Diagnostic> {
    for (v, key) in [(&c.y_min, "y_min"), (&c.y_max, "y_max")] {
        if let Some(v) = v {
            let x = v.get_ref().0;
            if !x.is_finite() || (log_y && x <= 0.0) {
                return Err(spec_error(
                    key,
                    format!("{key} must be a finite number (above 0 on a log axis), not {x}"),
                    Some(v),
                ));
            }
        }
    }
    let y_min = c.y_min.as_ref().map(|v| v.get_ref().0);
    let y_max = c.y_max.as_ref().map(|v| v.get_ref().0);
    if let (Some(lo), Some(hi)) = (y_min, y_max) {
        if lo >= hi {
            return Err(spec_error(
                "y_max",
                format!("y_max ({hi}) must be above y_min ({lo})"),
                c.y_max.as_ref(),
            ));
        }
    }
    Ok((y_min, y_max))
}

/// The chart's file stem: as written (letters, digits, `-_.`), or
/// `<experiment>_<kind>`.
fn chart_file(c: &RawChart, kind: &str, stem: &str) -> Result<String, Diagnostic> {
    let file = c.file.clone().unwrap_or_else(|| format!("{stem}_{kind}"));
    if file.is_empty()
        || !file
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        return Err(Diagnostic::new(
            format!("file `{file}` may only use letters, digits, `-`, `_` and `.`"),
            None,
        )
        .key("file"));
    }
    Ok(file)
}

/// A size in pixels, 100 to 8000, or `default`.
fn pixels(v: &Option<toml::Spanned<i64>>, default: u32, key: &str) -> Result<u32, Diagnostic> {
    match v {
        None => Ok(default),
        Some(v) if (100..=8000).contains(v.get_ref()) => Ok(*v.get_ref() as u32),
        Some(v) => Err(spec_error(
            key,
            format!("{key} must be 100 to 8000 pixels, not {}", v.get_ref()),
            Some(v),
        )),
    }
}
