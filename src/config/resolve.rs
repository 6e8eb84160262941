//! Step two: merge layers of job fields and validate them into a [`JobConfig`].
//!
//! A job's fields come from up to three layers: `[defaults]`, the experiment,
//! and one value per grid axis. [`Layered`] merges them field by field,
//! remembering which key path each value came from, so that an out-of-range
//! or unknown value is reported at the place the user wrote it (a grid
//! element, not the experiment). Table-valued fields (dataset, loss,
//! optimizer, activations) merge key by key while the name stays the same,
//! so `grid.optimizer.lr = [...]` keeps the optimizer the experiment chose;
//! naming a different one starts from that one's defaults.
//!
//! All range and name checks of job fields live here, so every message has
//! the same shape.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::diag::{did_you_mean, list, Diagnostic};
use super::job::*;
use super::raw::*;
use crate::activation::Library;

/// Job fields merged from several layers, with where each came from.
#[derive(Debug, Clone, Default)]
pub struct Layered {
    /// The merged fields (grid, zip, exclude and seeds are not used).
    pub fields: RawSection,
    /// Field name -> dotted key path of the layer that set it.
    pub origin: BTreeMap<&'static str, String>,
}

macro_rules! merge_plain {
    ($self:ident, $patch:ident, $prefix:ident, $($f:ident),*) => {
        $(
            if $patch.$f.is_some() {
                $self.fields.$f = $patch.$f.clone();
                $self.origin.insert(stringify!($f), format!("{}{}", $prefix, stringify!($f)));
            }
        )*
    };
}

fn name_of<T>(n: &Option<Spanned<T>>) -> Option<&T> {
    n.as_ref().map(|s| s.get_ref())
}

macro_rules! merge_table {
    ($self:ident, $patch:ident, $prefix:ident, $f:ident, $ty:ident, $($k:ident),*) => {
        if let Some(p) = &$patch.$f {
            let merged = match &$self.fields.$f {
                Some(base) if p.get_ref().0.name.is_none()
                    || name_of(&p.get_ref().0.name) == name_of(&base.get_ref().0.name) => {
                    let mut m = base.get_ref().0.clone();
                    let pv = &p.get_ref().0;
                    $( if pv.$k.is_some() { m.$k = pv.$k.clone(); } )*
                    Spanned::new(p.span(), $ty(m))
                }
                _ => p.clone(),
            };
            $self.fields.$f = Some(merged);
            $self.origin.insert(stringify!($f), format!("{}{}", $prefix, stringify!($f)));
        }
    };
}

impl Layered {
    /// Applies `patch` on top, recording `prefix` (e.g. `experiments.deep.`) as origin.
    pub fn apply(&mut self, patch: &RawSection, prefix: &str) {
        merge_plain!(
            self,
            patch,
            prefix,
            depth,
            width,
            init,
            bias_init,
            batch_size,
            epochs,
            seed,
            record,
            device,
            norm,
            dropout,
            probe_samples,
            eval_every,
            seeds
        );
        merge_table!(
            self,
            patch,
            prefix,
            dataset,
            RawDataset,
            name,
            path,
            train_limit,
            test_limit,
            scale,
            mirrors,
            samples,
            noise,
            variant,
            data_seed,
            test_fraction
        );
        merge_table!(self, patch, prefix, loss, RawLoss, name, delta);
        merge_table!(
            self,
            patch,
            prefix,
            optimizer,
            RawOptimizer,
            name,
            lr,
            momentum,
            nesterov,
            betas,
            eps,
            weight_decay,
            alpha
        );
        for (which, base, p) in [
            ("activation", &mut self.fields.activation, &patch.activation),
            (
                "output_activation",
                &mut self.fields.output_activation,
                &patch.output_activation,
            ),
        ] {
            if let Some(p) = p {
                let merged = match base {
                    Some(b)
                        if p.get_ref().name.is_none()
                            || name_of(&p.get_ref().name) == name_of(&b.get_ref().name) =>
                    {
                        let mut m = b.get_ref().clone();
                        for (k, v) in &p.get_ref().params {
                            m.params.insert(k.clone(), v.clone());
                        }
                        if p.get_ref().syntax_error.is_some() {
                            m.syntax_error = p.get_ref().syntax_error.clone();
                        }
                        Spanned::new(p.span(), m)
                    }
                    _ => p.clone(),
                };
                *base = Some(merged);
                self.origin.insert(which, format!("{prefix}{which}"));
            }
        }
    }

    fn key(&self, field: &'static str) -> String {
        self.origin
            .get(field)
            .cloned()
            .unwrap_or_else(|| field.to_string())
    }
}

/// Span of an inner value if it has a real one, else the outer span.
fn pick(inner: Option<Range<usize>>, outer: Range<usize>) -> Range<usize> {
    match inner {
        Some(r) if r.end > r.start => r,
        _ => outer,
    }
}

struct Check<'a> {
    layered: &'a Layered,
    diags: Vec<Diagnostic>,
}

impl Check<'_> {
    fn err(
        &mut self,
        field: &'static str,
        sub: Option<&str>,
        span: Range<usize>,
        msg: String,
    ) -> &mut Diagnostic {
        let mut key = self.layered.key(field);
        if let Some(sub) = sub {
            key = format!("{key}.{sub}");
        }
        self.diags.push(Diagnostic::new(msg, Some(span)).key(key));
        self.diags.last_mut().expect("just pushed")
    }

    fn int(
        &mut self,
        field: &'static str,
        sub: Option<&str>,
        v: Option<&Spanned<i64>>,
        default: i64,
        min: i64,
        max: i64,
    ) -> i64 {
        let Some(v) = v else { return default };
        let x = *v.get_ref();
        let what = sub.unwrap_or(field);
        if x < min {
            self.err(
                field,
                sub,
                v.span(),
                format!("{what} must be at least {min}, got {x}"),
            );
            default
        } else if x > max {
            self.err(
                field,
                sub,
                v.span(),
                format!("{what} must be at most {max}, got {x}"),
            );
            default
        } else {
            x
        }
    }

    /// A float in a range; `lo_open`/`hi_open` say whether the bounds are excluded.
    #[allow(clippy::too_many_arguments)]
    fn num(
        &mut self,
        field: &'static str,
        sub: Option<&str>,
        v: Option<&Spanned<Num>>,
        default: f64,
        lo: f64,
        lo_open: bool,
        hi: f64,
        hi_open: bool,
    ) -> f64 {
        let Some(v) = v else { return default };
        let x = v.get_ref().0;
        let what = sub.unwrap_or(field);
        let below = if lo_open { x <= lo } else { x < lo };
        let above = if hi_open { x >= hi } else { x > hi };
        if !x.is_finite() || below || above {
            let range = range_text(lo, lo_open, hi, hi_open);
            self.err(
                field,
                sub,
                v.span(),
                format!("{what} must be {range}, got {}", fmt_num(x)),
            );
            default
        } else {
            x
        }
    }

    fn name<'n>(
        &mut self,
        field: &'static str,
        sub: Option<&str>,
        given: &'n str,
        span: Range<usize>,
        known: &[&str],
        kind: &str,
    ) -> Option<&'n str> {
        if known.contains(&given) {
            return Some(given);
        }
        let help = did_you_mean(given, known.iter().copied());
        let d = self
            .err(field, sub, span, format!("unknown {kind} `{given}`"))
            .clone()
            .help_opt(help)
            .note(format!(
                "known {}: {}",
                plural(kind),
                list(known.iter().copied())
            ));
        *self.diags.last_mut().expect("just pushed") = d;
        None
    }

    fn not_applicable(
        &mut self,
        field: &'static str,
        key: &str,
        span: Range<usize>,
        owner: &str,
        valid: &[&str],
    ) {
        let help = did_you_mean(key, valid.iter().copied());
        let d = self
            .err(
                field,
                Some(key),
                span,
                format!("`{key}` does not apply to {owner}"),
            )
            .clone()
            .help_opt(help)
            .note(format!("keys of {owner}: {}", list(valid.iter().copied())));
        *self.diags.last_mut().expect("just pushed") = d;
    }
}

fn plural(kind: &str) -> String {
    if kind.ends_with('s') {
        format!("{kind}es")
    } else {
        format!("{kind}s")
    }
}

fn range_text(lo: f64, lo_open: bool, hi: f64, hi_open: bool) -> String {
    match (hi.is_infinite(), lo_open) {
        (true, true) => format!("greater than {}", fmt_num(lo)),
        (true, false) => format!("at least {}", fmt_num(lo)),
        (false, _) => format!(
            "in {}{}, {}{}",
            if lo_open { "(" } else { "[" },
            fmt_num(lo),
            fmt_num(hi),
            if hi_open { ")" } else { "]" }
        ),
    }
}

const INF: f64 = f64::INFINITY;
const MAX_COUNT: i64 = 1_000_000_000;

/// Validates merged fields into a job config, or returns every problem found.
pub fn resolve(layered: &Layered, library: &Library) -> Result<JobConfig, Vec<Diagnostic>> {
    let f = &layered.fields;
    let mut c = Check {
        layered,
        diags: Vec::new(),
    };

    let dataset = resolve_dataset(&mut c, f.dataset.as_ref());
    let depth = c.int("depth", None, f.depth.as_ref(), 5, 1, 1000) as usize;
    let widths = match f.width.as_ref() {
        None => vec![256; depth - 1],
        Some(w) => match w.get_ref() {
            WidthValue::Uniform(n) => {
                let n = c.int(
                    "width",
                    None,
                    Some(&Spanned::new(w.span(), *n)),
                    256,
                    1,
                    1 << 24,
                );
                vec![n as usize; depth - 1]
            }
            WidthValue::PerLayer(ns) => {
                if ns.len() != depth - 1 {
                    let d = c
                        .err(
                            "width",
                            None,
                            w.span(),
                            format!(
                                "width lists {} hidden widths, but depth {depth} has {} hidden layers",
                                ns.len(),
                                depth - 1
                            ),
                        )
                        .clone()
                        .help("give one width per hidden layer (depth - 1 entries), or a single integer");
                    *c.diags.last_mut().expect("just pushed") = d;
                }
                let mut out = Vec::new();
                for n in ns {
                    if *n < 1 {
                        c.err(
                            "width",
                            None,
                            w.span(),
                            format!("every width must be at least 1, got {n}"),
                        );
                    }
                    out.push((*n).max(1) as usize);
                }
                out.resize(depth - 1, 1);
                out
            }
        },
    };
    let activation =
        resolve_activation(&mut c, "activation", f.activation.as_ref(), "relu", library);
    let output_activation = resolve_activation(
        &mut c,
        "output_activation",
        f.output_activation.as_ref(),
        "linear",
        library,
    );
    let init = match f.init.as_ref() {
        None => Init::HeNormal,
        Some(s) => c
            .name("init", None, s.get_ref(), s.span(), INIT_NAMES, "init")
            .and_then(Init::from_name)
            .unwrap_or(Init::HeNormal),
    };
    let bias_init = c.num(
        "bias_init",
        None,
        f.bias_init.as_ref(),
        0.0,
        -INF,
        false,
        INF,
        false,
    );
    let loss = resolve_loss(&mut c, f.loss.as_ref());
    let optimizer = resolve_optimizer(&mut c, f.optimizer.as_ref());
    let batch_size = c.int("batch_size", None, f.batch_size.as_ref(), 64, 1, MAX_COUNT) as usize;
    let epochs = c.int("epochs", None, f.epochs.as_ref(), 10, 0, 1_000_000) as usize;
    let seed = c.int("seed", None, f.seed.as_ref(), 0, 0, i64::MAX) as u64;
    let record = match f.record.as_ref() {
        None => Record::defaults(),
        Some(list_) => {
            let mut out = BTreeSet::new();
            for r in list_.get_ref() {
                if let Some(n) = c.name(
                    "record",
                    None,
                    r.get_ref(),
                    pick(Some(r.span()), list_.span()),
                    RECORD_NAMES,
                    "record",
                ) {
                    out.extend(Record::from_name(n));
                }
            }
            out
        }
    };
    let device = match f.device.as_ref() {
        None => Device::Auto,
        Some(s) => match c.name(
            "device",
            None,
            s.get_ref(),
            s.span(),
            &["auto", "cpu", "cuda"],
            "device",
        ) {
            Some("cpu") => Device::Cpu,
            Some("cuda") => Device::Cuda,
            _ => Device::Auto,
        },
    };
    let norm = match f.norm.as_ref() {
        None => Norm::None,
        Some(s) => match c.name(
            "norm",
            None,
            s.get_ref(),
            s.span(),
            &["none", "batch", "layer"],
            "norm",
        ) {
            Some("batch") => Norm::Batch,
            Some("layer") => Norm::Layer,
            _ => Norm::None,
        },
    };
    let dropout = c.num(
        "dropout",
        None,
        f.dropout.as_ref(),
        0.0,
        0.0,
        false,
        1.0,
        true,
    );
    let probe_samples = c.int(
        "probe_samples",
        None,
        f.probe_samples.as_ref(),
        512,
        1,
        MAX_COUNT,
    ) as usize;
    let eval_every = c.int(
        "eval_every",
        None,
        f.eval_every.as_ref(),
        DEFAULT_EVAL_EVERY as i64,
        1,
        MAX_COUNT,
    ) as usize;

    // Combinations.
    match (loss, dataset.task()) {
        (LossConfig::CrossEntropy, Task::Regression) => {
            let span = f
                .loss
                .as_ref()
                .or(f.dataset.as_ref().map(|_| f.loss.as_ref()).unwrap_or(None))
                .map(|s| s.span());
            let span = span.or(f.dataset.as_ref().map(|d| d.span()));
            let field = if f.loss.is_some() { "loss" } else { "dataset" };
            if let Some(span) = span {
                let d = c
                    .err(field, None, span, format!("loss cross_entropy needs a classification dataset, but {} is a regression dataset", dataset.name()))
                    .clone()
                    .help("use loss = \"mse\", \"mae\" or \"huber\"");
                *c.diags.last_mut().expect("just pushed") = d;
            }
        }
        (LossConfig::Bce, Task::Classification(n)) if n != 2 => {
            let span = f
                .loss
                .as_ref()
                .map(|s| s.span())
                .or(f.dataset.as_ref().map(|d| d.span()));
            if let Some(span) = span {
                let d = c
                    .err(
                        "loss",
                        None,
                        span,
                        format!("loss bce needs two classes, but {} has {n}", dataset.name()),
                    )
                    .clone()
                    .help("use loss = \"cross_entropy\"");
                *c.diags.last_mut().expect("just pushed") = d;
            }
        }
        _ => {}
    }

    if !c.diags.is_empty() {
        return Err(c.diags);
    }
    Ok(JobConfig {
        dataset,
        depth,
        widths,
        activation,
        output_activation,
        init,
        bias_init,
        loss,
        optimizer,
        batch_size,
        epochs,
        seed,
        record,
        device,
        norm,
        dropout,
        probe_samples,
        eval_every,
    })
}

fn resolve_dataset(c: &mut Check, d: Option<&Spanned<RawDataset>>) -> DatasetConfig {
    let default = DatasetConfig::Mnist {
        path: None,
        train_limit: None,
        test_limit: None,
        scale: PixelScale::Unit,
        mirrors: default_mirrors(),
    };
    let Some(d) = d else { return default };
    let outer = d.span();
    let v = &d.get_ref().0;
    let name = v.name.as_ref().map_or("mnist", |n| n.get_ref().as_str());
    let name_span = pick(v.name.as_ref().map(|n| n.span()), outer.clone());
    let Some(name) = c.name(
        "dataset",
        Some("name"),
        name,
        name_span,
        DatasetConfig::NAMES,
        "dataset",
    ) else {
        return default;
    };
    let valid: &[&str] = match name {
        "mnist" => &[
            "name",
            "path",
            "train_limit",
            "test_limit",
            "scale",
            "mirrors",
        ],
        "xor" => &[
            "name",
            "samples",
            "noise",
            "variant",
            "data_seed",
            "test_fraction",
        ],
        "two_moons" => &["name", "samples", "noise", "data_seed", "test_fraction"],
        _ => &["name", "samples", "data_seed", "test_fraction"],
    };
    let present: [(&str, Option<Range<usize>>); 11] = [
        ("name", v.name.as_ref().map(|s| s.span())),
        ("path", v.path.as_ref().map(|s| s.span())),
        ("train_limit", v.train_limit.as_ref().map(|s| s.span())),
        ("test_limit", v.test_limit.as_ref().map(|s| s.span())),
        ("scale", v.scale.as_ref().map(|s| s.span())),
        ("mirrors", v.mirrors.as_ref().map(|s| s.span())),
        ("samples", v.samples.as_ref().map(|s| s.span())),
        ("noise", v.noise.as_ref().map(|s| s.span())),
        ("variant", v.variant.as_ref().map(|s| s.span())),
        ("data_seed", v.data_seed.as_ref().map(|s| s.span())),
        ("test_fraction", v.test_fraction.as_ref().map(|s| s.span())),
    ];
    for (key, span) in present {
        if let Some(span) = span {
            if !valid.contains(&key) {
                c.not_applicable(
                    "dataset",
                    key,
                    pick(Some(span), outer.clone()),
                    &format!("dataset {name}"),
                    valid,
                );
            }
        }
    }
    let default_samples = if name == "identity" { 2000 } else { 1000 };
    let samples = c.int(
        "dataset",
        Some("samples"),
        v.samples.as_ref(),
        default_samples,
        2,
        MAX_COUNT,
    ) as usize;
    let default_noise = if name == "xor" { 0.1 } else { 0.2 };
    let noise = c.num(
        "dataset",
        Some("noise"),
        v.noise.as_ref(),
        default_noise,
        0.0,
        false,
        INF,
        false,
    );
    let data_seed = c.int(
        "dataset",
        Some("data_seed"),
        v.data_seed.as_ref(),
        0,
        0,
        i64::MAX,
    ) as u64;
    let test_fraction = c.num(
        "dataset",
        Some("test_fraction"),
        v.test_fraction.as_ref(),
        0.2,
        0.0,
        true,
        1.0,
        true,
    );
    match name {
        "mnist" => {
            let train_limit = v.train_limit.as_ref().map(|s| {
                c.int("dataset", Some("train_limit"), Some(s), 60_000, 1, 60_000) as usize
            });
            let test_limit = v
                .test_limit
                .as_ref()
                .map(|s| c.int("dataset", Some("test_limit"), Some(s), 10_000, 1, 10_000) as usize);
            let scale = match v.scale.as_ref() {
                None => PixelScale::Unit,
                Some(s) => match c.name(
                    "dataset",
                    Some("scale"),
                    s.get_ref(),
                    s.span(),
                    &["unit", "standard"],
                    "scale",
                ) {
                    Some("standard") => PixelScale::Standard,
                    _ => PixelScale::Unit,
                },
            };
            DatasetConfig::Mnist {
                path: v.path.as_ref().map(|p| p.get_ref().clone()),
                train_limit,
                test_limit,
                scale,
                mirrors: v
                    .mirrors
                    .as_ref()
                    .map_or_else(default_mirrors, |m| m.get_ref().clone()),
            }
        }
        "xor" => {
            let variant = match v.variant.as_ref() {
                None => XorVariant::Clusters,
                Some(s) => match c.name(
                    "dataset",
                    Some("variant"),
                    s.get_ref(),
                    s.span(),
                    &["clusters", "four_points"],
                    "variant",
                ) {
                    Some("four_points") => XorVariant::FourPoints,
                    _ => XorVariant::Clusters,
                },
            };
            DatasetConfig::Xor {
                samples,
                noise,
                variant,
                data_seed,
                test_fraction,
            }
        }
        "two_moons" => DatasetConfig::TwoMoons {
            samples,
            noise,
            data_seed,
            test_fraction,
        },
        _ => DatasetConfig::Identity {
            samples,
            data_seed,
            test_fraction,
        },
    }
}

/// Public mirrors of the MNIST files, tried in order.
pub fn default_mirrors() -> Vec<String> {
    vec![
        "https://ossci-datasets.s3.amazonaws.com/mnist/".to_string(),
        "https://storage.googleapis.com/cvdf-datasets/mnist/".to_string(),
    ]
}

fn resolve_activation(
    c: &mut Check,
    field: &'static str,
    a: Option<&Spanned<RawActivationRef>>,
    default: &str,
    library: &Library,
) -> ActivationConfig {
    let fallback = |name: &str| {
        let def = library.get(name).or_else(|| library.get("linear"));
        ActivationConfig {
            name: name.to_string(),
            formula: def.map_or_else(|| "x".to_string(), |d| d.formula.clone()),
            params: def.map(|d| d.params.clone()).unwrap_or_default(),
            learnable: def.map(|d| d.learnable.clone()).unwrap_or_default(),
        }
    };
    let Some(a) = a else { return fallback(default) };
    let outer = a.span();
    let v = a.get_ref();
    if let Some(e) = &v.syntax_error {
        c.err(field, None, outer.clone(), e.clone());
        return fallback(default);
    }
    let name = v.name.as_ref().map_or(default, |n| n.get_ref().as_str());
    let name_span = pick(v.name.as_ref().map(|n| n.span()), outer.clone());
    let names: Vec<&str> = library.names().collect();
    let Some(def) = library.get(name) else {
        c.name(field, None, name, name_span, &names, "activation");
        return fallback(default);
    };
    let mut params = def.params.clone();
    for (k, val) in &v.params {
        if params.contains_key(k) {
            let x = *val.get_ref();
            if !x.is_finite() {
                c.err(
                    field,
                    Some(k),
                    pick(Some(val.span()), outer.clone()),
                    format!("parameter {k} must be finite"),
                );
            }
            params.insert(k.clone(), x);
        } else {
            let valid: Vec<&str> = def.params.keys().map(String::as_str).collect();
            let msg = if valid.is_empty() {
                format!("activation {name} has no parameter `{k}` (it takes none)")
            } else {
                format!("activation {name} has no parameter `{k}`")
            };
            let help = did_you_mean(k, valid.iter().copied());
            let mut d = c
                .err(field, Some(k), pick(Some(val.span()), outer.clone()), msg)
                .clone()
                .help_opt(help);
            if !valid.is_empty() {
                d = d.note(format!(
                    "parameters of {name}: {}",
                    list(valid.iter().copied())
                ));
            }
            *c.diags.last_mut().expect("just pushed") = d;
        }
    }
    ActivationConfig {
        name: name.to_string(),
        formula: def.formula.clone(),
        params,
        learnable: def.learnable.clone(),
    }
}

fn resolve_loss(c: &mut Check, l: Option<&Spanned<RawLoss>>) -> LossConfig {
    let Some(l) = l else {
        return LossConfig::CrossEntropy;
    };
    let outer = l.span();
    let v = &l.get_ref().0;
    let name = v
        .name
        .as_ref()
        .map_or("cross_entropy", |n| n.get_ref().as_str());
    let name_span = pick(v.name.as_ref().map(|n| n.span()), outer.clone());
    let Some(name) = c.name("loss", None, name, name_span, LOSS_NAMES, "loss") else {
        return LossConfig::CrossEntropy;
    };
    if name != "huber" {
        if let Some(d) = &v.delta {
            c.not_applicable(
                "loss",
                "delta",
                pick(Some(d.span()), outer),
                &format!("loss {name}"),
                &["name"],
            );
        }
    }
    match name {
        "bce" => LossConfig::Bce,
        "mse" => LossConfig::Mse,
        "mae" => LossConfig::Mae,
        "huber" => LossConfig::Huber {
            delta: c.num(
                "loss",
                Some("delta"),
                v.delta.as_ref(),
                1.0,
                0.0,
                true,
                INF,
                false,
            ),
        },
        _ => LossConfig::CrossEntropy,
    }
}

fn resolve_optimizer(c: &mut Check, o: Option<&Spanned<RawOptimizer>>) -> OptimizerConfig {
    let adam_default = OptimizerConfig::Adam {
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let Some(o) = o else { return adam_default };
    let outer = o.span();
    let v = &o.get_ref().0;
    let name = v.name.as_ref().map_or("adam", |n| n.get_ref().as_str());
    let name_span = pick(v.name.as_ref().map(|n| n.span()), outer.clone());
    let Some(name) = c.name(
        "optimizer",
        Some("name"),
        name,
        name_span,
        OPTIMIZER_NAMES,
        "optimizer",
    ) else {
        return adam_default;
    };
    let valid = OptimizerConfig::keys_for(name);
    let present: [(&str, Option<Range<usize>>); 7] = [
        ("lr", v.lr.as_ref().map(|s| s.span())),
        ("momentum", v.momentum.as_ref().map(|s| s.span())),
        ("nesterov", v.nesterov.as_ref().map(|s| s.span())),
        ("betas", v.betas.as_ref().map(|s| s.span())),
        ("eps", v.eps.as_ref().map(|s| s.span())),
        ("weight_decay", v.weight_decay.as_ref().map(|s| s.span())),
        ("alpha", v.alpha.as_ref().map(|s| s.span())),
    ];
    for (key, span) in present {
        if let Some(span) = span {
            if !valid.contains(&key) {
                c.not_applicable(
                    "optimizer",
                    key,
                    pick(Some(span), outer.clone()),
                    &format!("optimizer {name}"),
                    valid,
                );
            }
        }
    }
    let default_lr = if matches!(name, "adam" | "adamw") {
        1e-3
    } else {
        1e-2
    };
    let lr = c.num(
        "optimizer",
        Some("lr"),
        v.lr.as_ref(),
        default_lr,
        0.0,
        true,
        INF,
        false,
    );
    let momentum = c.num(
        "optimizer",
        Some("momentum"),
        v.momentum.as_ref(),
        0.0,
        0.0,
        false,
        1.0,
        true,
    );
    let default_wd = if name == "adamw" { 0.01 } else { 0.0 };
    let weight_decay = c.num(
        "optimizer",
        Some("weight_decay"),
        v.weight_decay.as_ref(),
        default_wd,
        0.0,
        false,
        INF,
        false,
    );
    let eps = c.num(
        "optimizer",
        Some("eps"),
        v.eps.as_ref(),
        1e-8,
        0.0,
        true,
        INF,
        false,
    );
    let alpha = c.num(
        "optimizer",
        Some("alpha"),
        v.alpha.as_ref(),
        0.99,
        0.0,
        true,
        1.0,
        true,
    );
    let nesterov = v.nesterov.as_ref().is_some_and(|b| *b.get_ref());
    if nesterov && momentum == 0.0 {
        if let Some(b) = &v.nesterov {
            c.err(
                "optimizer",
                Some("nesterov"),
                b.span(),
                "nesterov needs a momentum greater than 0".to_string(),
            );
        }
    }
    let mut betas = [0.9, 0.999];
    if let Some(b) = &v.betas {
        let bs = b.get_ref();
        if bs.len() != 2 {
            c.err(
                "optimizer",
                Some("betas"),
                b.span(),
                format!("betas must be two numbers [beta1, beta2], got {}", bs.len()),
            );
        } else {
            for (i, x) in bs.iter().enumerate() {
                if !(0.0..1.0).contains(&x.0) {
                    c.err(
                        "optimizer",
                        Some("betas"),
                        b.span(),
                        format!("betas must be in [0, 1), got {}", fmt_num(x.0)),
                    );
                } else {
                    betas[i] = x.0;
                }
            }
        }
    }
    match name {
        "sgd" => OptimizerConfig::Sgd {
            lr,
            momentum,
            nesterov,
            weight_decay,
        },
        "adamw" => OptimizerConfig::Adamw {
            lr,
            betas,
            eps,
            weight_decay,
        },
        "rmsprop" => OptimizerConfig::Rmsprop {
            lr,
            alpha,
            eps,
            momentum,
            weight_decay,
        },
        _ => OptimizerConfig::Adam {
            lr,
            betas,
            eps,
            weight_decay,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layered(text: &str) -> Layered {
        let s: RawSection = toml::from_str(text).unwrap();
        let mut l = Layered::default();
        l.apply(&s, "defaults.");
        l
    }

    #[test]
    fn defaults_resolve() {
        let j = resolve(&Layered::default(), &Library::builtin()).unwrap();
        assert_eq!(j.depth, 5);
        assert_eq!(j.widths, vec![256; 4]);
        assert_eq!(j.activation.name, "relu");
        assert_eq!(j.layer_sizes(), vec![784, 256, 256, 256, 256, 10]);
    }

    #[test]
    fn table_fields_merge_while_the_name_stays() {
        let mut l = layered("optimizer = { name = 'sgd', lr = 0.1, momentum = 0.9 }");
        let patch: RawSection = toml::from_str("optimizer = { lr = 0.5 }").unwrap();
        l.apply(&patch, "experiments.a.");
        let j = resolve(&l, &Library::builtin()).unwrap();
        assert_eq!(
            j.optimizer,
            OptimizerConfig::Sgd {
                lr: 0.5,
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0
            }
        );
        let patch: RawSection = toml::from_str("optimizer = 'adam'").unwrap();
        l.apply(&patch, "experiments.a.");
        let j = resolve(&l, &Library::builtin()).unwrap();
        assert_eq!(j.optimizer.lr(), 1e-3);
    }

    #[test]
    fn activation_params_override_defaults() {
        let l = layered("activation = 'leaky_relu(alpha=0.2)'");
        let j = resolve(&l, &Library::builtin()).unwrap();
        assert_eq!(j.activation.params["alpha"], 0.2);
        let l = layered("activation = { name = 'elu', alpha = 0.5 }");
        let j = resolve(&l, &Library::builtin()).unwrap();
        assert_eq!(j.activation.params["alpha"], 0.5);
    }

    #[test]
    fn out_of_range_values_are_all_reported() {
        let l =
            layered("depth = 0\nbatch_size = 0\nepochs = -1\noptimizer = { name = 'sgd', lr = 0 }");
        let e = resolve(&l, &Library::builtin()).unwrap_err();
        let msgs: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("depth must be at least 1")));
        assert!(msgs.iter().any(|m| m.contains("lr must be greater than 0")));
    }

    #[test]
    fn eval_every_must_be_at_least_one() {
        let text = "eval_every = 0";
        let e = resolve(&layered(text), &Library::builtin()).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].message, "eval_every must be at least 1, got 0");
        assert_eq!(e[0].key.as_deref(), Some("defaults.eval_every"));
        assert_eq!(&text[e[0].span.clone().unwrap()], "0");
        let j = resolve(&layered("eval_every = 3"), &Library::builtin()).unwrap();
        assert_eq!(j.eval_every, 3);
        let j = resolve(&Layered::default(), &Library::builtin()).unwrap();
        assert_eq!(j.eval_every, 1);
    }

    #[test]
    fn width_list_must_match_depth() {
        let l = layered("depth = 3\nwidth = [4, 5, 6]");
        let e = resolve(&l, &Library::builtin()).unwrap_err();
        assert!(
            e[0].message.contains("depth 3 has 2 hidden layers"),
            "{}",
            e[0].message
        );
        let j = resolve(&layered("depth = 3\nwidth = [4, 5]"), &Library::builtin()).unwrap();
        assert_eq!(j.layer_sizes(), vec![784, 4, 5, 10]);
    }

    #[test]
    fn dataset_keys_are_checked_per_dataset() {
        let e = resolve(
            &layered("dataset = { name = 'mnist', noise = 0.1 }"),
            &Library::builtin(),
        )
        .unwrap_err();
        assert!(e[0]
            .message
            .contains("`noise` does not apply to dataset mnist"));
        let j = resolve(
            &layered("dataset = { name = 'identity' }\nloss = 'mae'"),
            &Library::builtin(),
        )
        .unwrap();
        assert_eq!(j.dataset.sizes(), (1600, 400));
    }
}
