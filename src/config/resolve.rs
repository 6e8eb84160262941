//! Step two: merge layers of job fields and validate them into a [`JobConfig`].
//!
//! A job's fields come from up to three layers: `[defaults]`, the experiment,
//! and one value per grid axis. [`Layered`] merges them field by field (the
//! merge is generated from the declaration in [`super::raw`]), remembering
//! which key path each value came from, so that an out-of-range or unknown
//! value is reported at the place the user wrote it (a grid element, not the
//! experiment). Table-valued fields (dataset, loss, optimizer, activations)
//! merge key by key while the name stays the same, so
//! `grid.optimizer.lr = [...]` keeps the optimizer the experiment chose;
//! naming a different one starts from that one's defaults.
//!
//! All range and name checks of job fields live here, in `FieldCheck`, so
//! every message has the same shape.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Range, RangeInclusive};

use toml::Spanned;

use super::diag::{did_you_mean, list, Diagnostic};
use super::job::*;
use super::raw::*;
use super::schema::{TableKey, TableSchema};
use crate::activation::{Definition, Library};
use crate::data::kind::{LABEL, VALIDATION_FRACTION};

/// Job fields merged from several layers, with where each came from.
#[derive(Debug, Clone, Default)]
pub struct Layered {
    /// The merged fields (grid, zip and exclude are not used).
    pub fields: RawSection,
    /// Field name -> dotted key path of the layer that set it.
    pub origin: BTreeMap<&'static str, String>,
}

impl Layered {
    /// Applies `patch` on top, recording `prefix` (e.g. `experiments.deep.`) as origin.
    pub fn apply(&mut self, patch: &RawSection, prefix: &str) {
        let origin = &mut self.origin;
        self.fields.merge_job_fields(patch, |name| {
            origin.insert(name, format!("{prefix}{name}"));
        });
        // Not a job field, but `[defaults]` may set it for every experiment.
        if let Some(seeds) = &patch.seeds {
            self.fields.seeds = Some(seeds.clone());
            self.origin.insert("seeds", format!("{prefix}seeds"));
        }
    }

    /// The key path of the layer that set `field`, or the field's name.
    fn key(&self, field: &'static str) -> String {
        debug_assert!(job_field(field).is_some(), "`{field}` is not a job field");
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

/// Where a checked value is: a job field and, inside its table, a key.
#[derive(Debug, Clone, Copy)]
struct At<'k> {
    field: &'static str,
    key: Option<&'k str>,
}

impl<'k> At<'k> {
    /// The job field itself.
    fn field(field: &'static str) -> At<'static> {
        At { field, key: None }
    }

    /// A key of a table-valued job field.
    fn key(field: &'static str, key: &'k str) -> At<'k> {
        At {
            field,
            key: Some(key),
        }
    }

    /// How messages name the value: the key, else the field.
    fn what(&self) -> &str {
        self.key.unwrap_or(self.field)
    }
}

/// One end of a [`Bounds`].
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// No limit (the value must still be finite).
    Unbounded,
    /// The limit is allowed.
    Closed(f64),
    /// The limit itself is not allowed.
    Open(f64),
}

/// The values a number field accepts; always finite.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    lo: Bound,
    hi: Bound,
}

impl Bounds {
    /// Any finite number.
    const FINITE: Bounds = Bounds {
        lo: Bound::Unbounded,
        hi: Bound::Unbounded,
    };

    /// `lo` or more.
    pub fn at_least(lo: f64) -> Bounds {
        Bounds {
            lo: Bound::Closed(lo),
            hi: Bound::Unbounded,
        }
    }

    /// More than `lo`.
    pub fn above(lo: f64) -> Bounds {
        Bounds {
            lo: Bound::Open(lo),
            hi: Bound::Unbounded,
        }
    }

    /// These bounds, and less than `hi`.
    pub fn below(self, hi: f64) -> Bounds {
        Bounds {
            hi: Bound::Open(hi),
            ..self
        }
    }

    fn contains(&self, x: f64) -> bool {
        let lo_ok = match self.lo {
            Bound::Unbounded => true,
            Bound::Closed(lo) => x >= lo,
            Bound::Open(lo) => x > lo,
        };
        let hi_ok = match self.hi {
            Bound::Unbounded => true,
            Bound::Closed(hi) => x <= hi,
            Bound::Open(hi) => x < hi,
        };
        x.is_finite() && lo_ok && hi_ok
    }

    /// `at least 0`, `greater than 0`, `in [0, 1)`, or `finite`.
    fn text(&self) -> String {
        let (lo, lo_open) = match self.lo {
            Bound::Unbounded => return "finite".to_string(),
            Bound::Closed(lo) => (lo, false),
            Bound::Open(lo) => (lo, true),
        };
        let (hi, hi_open) = match self.hi {
            Bound::Unbounded if lo_open => return format!("greater than {}", fmt_num(lo)),
            Bound::Unbounded => return format!("at least {}", fmt_num(lo)),
            Bound::Closed(hi) => (hi, false),
            Bound::Open(hi) => (hi, true),
        };
        format!(
            "in {}{}, {}{}",
            if lo_open { "(" } else { "[" },
            fmt_num(lo),
            fmt_num(hi),
            if hi_open { ")" } else { "]" }
        )
    }
}

/// The checks of job-field values, collecting every problem as a
/// [`Diagnostic`] keyed by the layer that set the field.
struct FieldCheck<'a> {
    layered: &'a Layered,
    diags: Vec<Diagnostic>,
}

impl FieldCheck<'_> {
    /// A problem with the value at `at`, keyed by the layer that set it.
    fn diag(&self, at: At, span: Range<usize>, msg: String) -> Diagnostic {
        let mut key = self.layered.key(at.field);
        if let Some(sub) = at.key {
            key = format!("{key}.{sub}");
        }
        Diagnostic::new(msg, Some(span)).key(key)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn err(&mut self, at: At, span: Range<usize>, msg: String) {
        let d = self.diag(at, span, msg);
        self.push(d);
    }

    /// An integer in `range`, or `default` when unset (or reported).
    fn int(
        &mut self,
        at: At,
        v: Option<&Spanned<i64>>,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> i64 {
        let Some(v) = v else { return default };
        let x = *v.get_ref();
        let what = at.what();
        let problem = if x < *range.start() {
            format!("{what} must be at least {}, got {x}", range.start())
        } else if x > *range.end() {
            format!("{what} must be at most {}, got {x}", range.end())
        } else {
            return x;
        };
        self.err(at, v.span(), problem);
        default
    }

    /// A finite number within `bounds`, or `default` when unset (or reported).
    fn num(&mut self, at: At, v: Option<&Spanned<Num>>, default: f64, bounds: Bounds) -> f64 {
        let Some(v) = v else { return default };
        let x = v.get_ref().0;
        if bounds.contains(x) {
            return x;
        }
        let must = if x.is_finite() {
            bounds.text()
        } else {
            "finite".to_string()
        };
        let msg = format!("{} must be {must}, got {}", at.what(), fmt_num(x));
        self.err(at, v.span(), msg);
        default
    }

    /// `given` if it is one of `known`; else reports it as an unknown `kind`.
    fn name<'n>(
        &mut self,
        at: At,
        given: &'n str,
        span: Range<usize>,
        known: &[&str],
        kind: &str,
    ) -> Option<&'n str> {
        if known.contains(&given) {
            return Some(given);
        }
        let d = self
            .diag(at, span, format!("unknown {kind} `{given}`"))
            .help_opt(did_you_mean(given, known.iter().copied()))
            .note(format!(
                "known {}: {}",
                plural(kind),
                list(known.iter().copied())
            ));
        self.push(d);
        None
    }

    /// The value of the option named by `v`, or `default` when unset (or reported).
    fn choice<T: Copy>(
        &mut self,
        at: At,
        v: Option<&Spanned<String>>,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(v) = v else { return default };
        self.option(at, v, options).unwrap_or(default)
    }

    /// The option `v` names, or `None` when it names none (reported).
    fn option<T: Copy>(&mut self, at: At, v: &Spanned<String>, options: &[(&str, T)]) -> Option<T> {
        let known: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let kind = at.what();
        self.name(at, v.get_ref(), v.span(), &known, kind)
            .and_then(|n| options.iter().find(|(k, _)| *k == n))
            .map(|(_, t)| *t)
    }

    /// Reports every key set in `present` that does not apply to the table
    /// named `name` (`owner` is how messages call it: `dataset mnist`): a
    /// key of another such table, or of none.
    fn keys_apply(
        &mut self,
        field: &'static str,
        schema: &TableSchema,
        name: &str,
        present: Vec<(&str, Range<usize>)>,
        outer: &Range<usize>,
    ) {
        let valid = schema.keys_for(name);
        let owner = format!("{field} {name}");
        for (key, span) in present {
            if valid.contains(&key) {
                continue;
            }
            let msg = if schema.owners(key).is_empty() {
                format!("{owner} has no key `{key}`")
            } else {
                format!("`{key}` does not apply to {owner}")
            };
            let d = self
                .diag(At::key(field, key), pick(Some(span), outer.clone()), msg)
                .help_opt(did_you_mean(key, valid.iter().copied()))
                .note(format!("keys of {owner}: {}", list(valid.iter().copied())));
            self.push(d);
        }
    }
}

fn plural(kind: &str) -> String {
    if kind.ends_with('s') {
        format!("{kind}es")
    } else {
        format!("{kind}s")
    }
}

/// Validates merged fields into a job config, or returns every problem found.
pub fn resolve(layered: &Layered, library: &Library) -> Result<JobConfig, Vec<Diagnostic>> {
    let f = &layered.fields;
    let mut c = FieldCheck {
        layered,
        diags: Vec::new(),
    };
    let count = |c: &mut FieldCheck, field, v: &Option<Spanned<i64>>, default| {
        c.int(At::field(field), v.as_ref(), default, 1..=MAX_COUNT) as usize
    };

    let dataset = resolve_dataset(&mut c, f.dataset.as_ref());
    let depth = c.int(At::field("depth"), f.depth.as_ref(), 5, 1..=1000) as usize;
    let config = JobConfig {
        dataset,
        depth,
        widths: resolve_widths(&mut c, f.width.as_ref(), depth),
        activation: resolve_activation(
            &mut c,
            "activation",
            f.activation.as_ref(),
            "relu",
            library,
        ),
        output_activation: resolve_activation(
            &mut c,
            "output_activation",
            f.output_activation.as_ref(),
            "linear",
            library,
        ),
        init: resolve_init(&mut c, f.init.as_ref()),
        bias_init: c.num(
            At::field("bias_init"),
            f.bias_init.as_ref(),
            0.0,
            Bounds::FINITE,
        ),
        loss: resolve_loss(&mut c, f.loss.as_ref()),
        optimizer: resolve_optimizer(&mut c, f.optimizer.as_ref()),
        batch_size: count(&mut c, "batch_size", &f.batch_size, 64),
        epochs: c.int(At::field("epochs"), f.epochs.as_ref(), 10, 0..=1_000_000) as usize,
        seed: c.int(At::field("seed"), f.seed.as_ref(), 0, 0..=i64::MAX) as u64,
        record: resolve_record(&mut c, f.record.as_ref()),
        device: c.choice(
            At::field("device"),
            f.device.as_ref(),
            DEVICES,
            Device::Auto,
        ),
        norm: c.choice(At::field("norm"), f.norm.as_ref(), NORMS, Norm::None),
        dropout: c.num(
            At::field("dropout"),
            f.dropout.as_ref(),
            0.0,
            Bounds::at_least(0.0).below(1.0),
        ),
        probe_samples: count(&mut c, "probe_samples", &f.probe_samples, 512),
        eval_every: count(
            &mut c,
            "eval_every",
            &f.eval_every,
            DEFAULT_EVAL_EVERY as i64,
        ),
    };
    check_loss_fits_dataset(&mut c, f, config.loss, &config.dataset);
    if c.diags.is_empty() {
        Ok(config)
    } else {
        Err(c.diags)
    }
}

/// The names `device` takes.
const DEVICES: &[(&str, Device)] = &[
    ("auto", Device::Auto),
    ("cpu", Device::Cpu),
    ("cuda", Device::Cuda),
];

/// The names `norm` takes.
const NORMS: &[(&str, Norm)] = &[
    ("none", Norm::None),
    ("batch", Norm::Batch),
    ("layer", Norm::Layer),
];

/// One width per hidden layer: a single width repeated, or a list of `depth - 1`.
fn resolve_widths(c: &mut FieldCheck, w: Option<&Spanned<WidthValue>>, depth: usize) -> Vec<usize> {
    let at = At::field("width");
    let Some(w) = w else {
        return vec![256; depth - 1];
    };
    let ns = match w.get_ref() {
        WidthValue::Uniform(n) => {
            let n = c.int(at, Some(&Spanned::new(w.span(), *n)), 256, 1..=1 << 24);
            return vec![n as usize; depth - 1];
        }
        WidthValue::PerLayer(ns) => ns,
    };
    if ns.len() != depth - 1 {
        let msg = format!(
            "width lists {} hidden widths, but depth {depth} has {} hidden layers",
            ns.len(),
            depth - 1
        );
        let d = c
            .diag(at, w.span(), msg)
            .help("give one width per hidden layer (depth - 1 entries), or a single integer");
        c.push(d);
    }
    let mut out = Vec::new();
    for n in ns {
        if *n < 1 {
            c.err(
                at,
                w.span(),
                format!("every width must be at least 1, got {n}"),
            );
        }
        out.push((*n).max(1) as usize);
    }
    out.resize(depth - 1, 1);
    out
}

fn resolve_init(c: &mut FieldCheck, s: Option<&Spanned<String>>) -> Init {
    let Some(s) = s else { return Init::HeNormal };
    c.name(At::field("init"), s.get_ref(), s.span(), INIT_NAMES, "init")
        .and_then(Init::from_name)
        .unwrap_or(Init::HeNormal)
}

fn resolve_record(
    c: &mut FieldCheck,
    r: Option<&Spanned<Vec<Spanned<String>>>>,
) -> BTreeSet<Record> {
    let Some(list_) = r else {
        return Record::defaults();
    };
    let mut out = BTreeSet::new();
    for r in list_.get_ref() {
        let span = pick(Some(r.span()), list_.span());
        if let Some(n) = c.name(
            At::field("record"),
            r.get_ref(),
            span,
            RECORD_NAMES,
            "record",
        ) {
            out.extend(Record::from_name(n));
        }
    }
    out
}

/// Cross-entropy needs classes, bce two of them.
fn check_loss_fits_dataset(
    c: &mut FieldCheck,
    f: &RawSection,
    loss: LossConfig,
    dataset: &DatasetConfig,
) {
    let name = dataset.name();
    let (msg, help) = match (loss, dataset.task()) {
        (LossConfig::CrossEntropy, Task::Regression) => (
            format!("loss cross_entropy needs a classification dataset, but {name} is a regression dataset"),
            "use loss = \"mse\", \"mae\" or \"huber\"",
        ),
        (LossConfig::Bce, Task::Classification(n)) if n != 2 => (
            format!("loss bce needs two classes, but {name} has {n}"),
            "use loss = \"cross_entropy\"",
        ),
        _ => return,
    };
    let (field, span) = match (&f.loss, &f.dataset) {
        (Some(l), _) => ("loss", l.span()),
        (None, Some(d)) => ("dataset", d.span()),
        (None, None) => return,
    };
    let d = c.diag(At::field(field), span, msg).help(help);
    c.push(d);
}

/// The name of a table-valued field, checked against `known`; `default` when unset.
fn table_name<'v>(
    c: &mut FieldCheck,
    at: At,
    name: &'v Option<Spanned<String>>,
    outer: &Range<usize>,
    default: &'v str,
    known: &[&str],
) -> Option<&'v str> {
    let given = name.as_ref().map_or(default, |n| n.get_ref().as_str());
    let span = pick(name.as_ref().map(|n| n.span()), outer.clone());
    c.name(at, given, span, known, at.field)
}

/// The dataset a job trains on: the kind named in its table (`mnist` when
/// there is no table), its keys checked and resolved by the kind itself
/// ([`crate::data::kind`]).
fn resolve_dataset(c: &mut FieldCheck, d: Option<&Spanned<RawDataset>>) -> DatasetConfig {
    let default = RawDataset::default();
    let (v, outer) = match d {
        Some(d) => (d.get_ref(), d.span()),
        None => (&default, 0..0),
    };
    let schema = &DatasetConfig::SCHEMA;
    let at_name = At::key("dataset", "name");
    let name = table_name(c, at_name, &v.name, &outer, DEFAULT_DATASET, schema.names);
    if let Some(name) = name {
        c.keys_apply("dataset", schema, name, v.present(), &outer);
    }
    // An unknown name is reported; the default kind stands in, unchecked.
    let (name, v) = name.map_or((DEFAULT_DATASET, &default), |n| (n, v));
    let mut check = KeyCheck {
        c,
        field: "dataset",
        outer,
        given: &v.keys,
    };
    let kind = DatasetConfig::resolve(name, &mut check)
        .expect("the names checked are the registered kinds' (DatasetConfig::NAMES)");
    let validation_fraction =
        check.num(&VALIDATION_FRACTION, 0.0, Bounds::at_least(0.0).below(1.0));
    let label = check.value::<String>(&LABEL).map(Spanned::into_inner);
    DatasetConfig {
        kind,
        validation_fraction,
        label,
    }
}

/// The dataset of a job whose file names none.
pub const DEFAULT_DATASET: &str = "mnist";

/// The dataset kind `name` with every key at its default (`None`: no such
/// kind, or one that needs keys, as `table` needs its `path`).
pub fn default_dataset(name: &str) -> Option<DatasetConfig> {
    let layered = Layered {
        fields: RawSection::default(),
        origin: BTreeMap::new(),
    };
    let mut c = FieldCheck {
        layered: &layered,
        diags: Vec::new(),
    };
    let none = BTreeMap::new();
    let mut check = KeyCheck {
        c: &mut c,
        field: "dataset",
        outer: 0..0,
        given: &none,
    };
    let d = DatasetConfig::resolve(name, &mut check);
    // A kind whose keys have no usable defaults (a table needs its file).
    d.filter(|_| c.diags.is_empty()).map(DatasetConfig::from)
}

/// The checks a kind runs on the keys of its table (a dataset kind on
/// `dataset.KEY`): each value given read as its key's type and checked,
/// problems located at the value, the default standing in for a bad one.
pub struct KeyCheck<'c, 'a> {
    c: &'c mut FieldCheck<'a>,
    field: &'static str,
    /// Where the field's table is written (for problems with no key of their own).
    outer: Range<usize>,
    /// The keys written in the table, with their values.
    given: &'c BTreeMap<String, Spanned<toml::Value>>,
}

impl KeyCheck<'_, '_> {
    /// Reports a problem with `key` (at its value, or at the table when the
    /// key is not written).
    pub fn error(&mut self, key: &TableKey, msg: String) {
        let span = pick(
            self.given.get(key.name).map(Spanned::span),
            self.outer.clone(),
        );
        self.c.err(At::key(self.field, key.name), span, msg);
    }

    /// Whether the table gives `key` (well or badly).
    pub fn is_given(&self, key: &TableKey) -> bool {
        self.given.contains_key(key.name)
    }

    /// The value of `key` read as a `T` (`None`: not given, or not a `T`,
    /// which is reported).
    pub fn value<T: serde::de::DeserializeOwned>(&mut self, key: &TableKey) -> Option<Spanned<T>> {
        let v = self.given.get(key.name)?;
        match T::deserialize(v.get_ref().clone()) {
            Ok(t) => Some(Spanned::new(v.span(), t)),
            Err(e) => {
                let msg = super::humanize(&e.to_string());
                self.c.err(At::key(self.field, key.name), v.span(), msg);
                None
            }
        }
    }

    /// An integer in `range`, or `default` when unset (or reported).
    pub fn int(&mut self, key: &TableKey, default: i64, range: RangeInclusive<i64>) -> i64 {
        let v = self.value::<i64>(key);
        self.c
            .int(At::key(self.field, key.name), v.as_ref(), default, range)
    }

    /// An integer in `range` when given (reported when not one).
    pub fn int_given(&mut self, key: &TableKey, range: RangeInclusive<i64>) -> Option<i64> {
        let v = self.value::<i64>(key)?;
        let at = At::key(self.field, key.name);
        Some(self.c.int(at, Some(&v), *range.start(), range))
    }

    /// A finite number within `bounds`, or `default` when unset (or reported).
    pub fn num(&mut self, key: &TableKey, default: f64, bounds: Bounds) -> f64 {
        let v = self.value::<Num>(key);
        self.c
            .num(At::key(self.field, key.name), v.as_ref(), default, bounds)
    }

    /// The option `key` names, or `default` when unset (or reported).
    pub fn choice<T: Copy>(&mut self, key: &TableKey, options: &[(&str, T)], default: T) -> T {
        let v = self.value::<String>(key);
        self.c
            .choice(At::key(self.field, key.name), v.as_ref(), options, default)
    }

    /// The option `key` names, when given (`None` also when reported).
    pub fn choice_given<T: Copy>(&mut self, key: &TableKey, options: &[(&str, T)]) -> Option<T> {
        let v = self.value::<String>(key)?;
        self.c.option(At::key(self.field, key.name), &v, options)
    }
}

/// The largest count a sweep file may give (samples, limits).
pub const MAX_COUNT: i64 = 1_000_000_000;

/// The library's activation `default` as a job uses it, or linear when the
/// library lacks it (only after an error has been reported).
fn fallback_activation(library: &Library, name: &str) -> ActivationConfig {
    let def = library.get(name).or_else(|| library.get("linear"));
    ActivationConfig {
        name: name.to_string(),
        ..def.map_or_else(
            || ActivationConfig {
                name: String::new(),
                formula: "x".to_string(),
                params: BTreeMap::new(),
                learnable: Vec::new(),
                derivative: None,
            },
            Definition::config,
        )
    }
}

fn resolve_activation(
    c: &mut FieldCheck,
    field: &'static str,
    a: Option<&Spanned<RawActivationRef>>,
    default: &str,
    library: &Library,
) -> ActivationConfig {
    let Some(a) = a else {
        return fallback_activation(library, default);
    };
    let outer = a.span();
    let v = a.get_ref();
    if let Some(e) = &v.syntax_error {
        c.err(At::field(field), outer, e.clone());
        return fallback_activation(library, default);
    }
    let name = v.name.as_ref().map_or(default, |n| n.get_ref().as_str());
    let Some(def) = library.get(name) else {
        let names: Vec<&str> = library.names().collect();
        let span = pick(v.name.as_ref().map(|n| n.span()), outer);
        c.name(At::field(field), name, span, &names, "activation");
        return fallback_activation(library, default);
    };
    let mut params = def.params.clone();
    for (k, val) in &v.params {
        let span = pick(Some(val.span()), outer.clone());
        if !def.params.contains_key(k) {
            unknown_param(c, At::key(field, k), span, def);
            continue;
        }
        let x = *val.get_ref();
        if !x.is_finite() {
            c.err(
                At::key(field, k),
                span,
                format!("parameter {k} must be finite"),
            );
        }
        params.insert(k.clone(), x);
    }
    ActivationConfig {
        name: name.to_string(),
        params,
        ..def.config()
    }
}

/// `k` is not a parameter of the activation `def`.
fn unknown_param(
    c: &mut FieldCheck,
    at: At,
    span: Range<usize>,
    def: &crate::activation::Definition,
) {
    let (name, k) = (&def.name, at.what());
    let valid: Vec<&str> = def.params.keys().map(String::as_str).collect();
    let msg = if valid.is_empty() {
        format!("activation {name} has no parameter `{k}` (it takes none)")
    } else {
        format!("activation {name} has no parameter `{k}`")
    };
    let mut d = c
        .diag(at, span, msg)
        .help_opt(did_you_mean(k, valid.iter().copied()));
    if !valid.is_empty() {
        d = d.note(format!(
            "parameters of {name}: {}",
            list(valid.iter().copied())
        ));
    }
    c.push(d);
}

fn resolve_loss(c: &mut FieldCheck, l: Option<&Spanned<RawLoss>>) -> LossConfig {
    let Some(l) = l else {
        return LossConfig::CrossEntropy;
    };
    let outer = l.span();
    let v = &l.get_ref().0;
    let schema = &LossFields::SCHEMA;
    let Some(name) = table_name(
        c,
        At::field("loss"),
        &v.name,
        &outer,
        "cross_entropy",
        schema.names,
    ) else {
        return LossConfig::CrossEntropy;
    };
    c.keys_apply("loss", schema, name, v.present(), &outer);
    match name {
        "bce" => LossConfig::Bce,
        "mse" => LossConfig::Mse,
        "mae" => LossConfig::Mae,
        "huber" => LossConfig::Huber {
            delta: c.num(
                At::key("loss", "delta"),
                v.delta.as_ref(),
                1.0,
                Bounds::above(0.0),
            ),
        },
        _ => LossConfig::CrossEntropy,
    }
}

fn default_optimizer() -> OptimizerConfig {
    OptimizerConfig::Adam {
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weight_decay: 0.0,
    }
}

/// Every optimizer hyper-parameter, checked whatever the optimizer.
struct Hyper {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    betas: [f64; 2],
    eps: f64,
    weight_decay: f64,
    alpha: f64,
}

fn resolve_optimizer(c: &mut FieldCheck, o: Option<&Spanned<RawOptimizer>>) -> OptimizerConfig {
    let Some(o) = o else {
        return default_optimizer();
    };
    let outer = o.span();
    let v = &o.get_ref().0;
    let schema = &OptimizerFields::SCHEMA;
    let at_name = At::key("optimizer", "name");
    let Some(name) = table_name(c, at_name, &v.name, &outer, "adam", schema.names) else {
        return default_optimizer();
    };
    c.keys_apply("optimizer", schema, name, v.present(), &outer);
    let Hyper {
        lr,
        momentum,
        nesterov,
        betas,
        eps,
        weight_decay,
        alpha,
    } = hyper_parameters(c, v, name);
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

fn hyper_parameters(c: &mut FieldCheck, v: &OptimizerFields, name: &str) -> Hyper {
    let at = |key| At::key("optimizer", key);
    let default_lr = if matches!(name, "adam" | "adamw") {
        1e-3
    } else {
        1e-2
    };
    let default_wd = if name == "adamw" { 0.01 } else { 0.0 };
    let lr = c.num(at("lr"), v.lr.as_ref(), default_lr, Bounds::above(0.0));
    let momentum = c.num(
        at("momentum"),
        v.momentum.as_ref(),
        0.0,
        Bounds::at_least(0.0).below(1.0),
    );
    let weight_decay = c.num(
        at("weight_decay"),
        v.weight_decay.as_ref(),
        default_wd,
        Bounds::at_least(0.0),
    );
    let eps = c.num(at("eps"), v.eps.as_ref(), 1e-8, Bounds::above(0.0));
    let alpha = c.num(
        at("alpha"),
        v.alpha.as_ref(),
        0.99,
        Bounds::above(0.0).below(1.0),
    );
    let nesterov = v.nesterov.as_ref().is_some_and(|b| *b.get_ref());
    if let Some(b) = v.nesterov.as_ref().filter(|_| nesterov && momentum == 0.0) {
        let msg = "nesterov needs a momentum greater than 0".to_string();
        c.err(at("nesterov"), b.span(), msg);
    }
    let betas = resolve_betas(c, v.betas.as_ref());
    Hyper {
        lr,
        momentum,
        nesterov,
        betas,
        eps,
        weight_decay,
        alpha,
    }
}

fn resolve_betas(c: &mut FieldCheck, b: Option<&Spanned<Vec<Num>>>) -> [f64; 2] {
    let mut betas = [0.9, 0.999];
    let Some(b) = b else { return betas };
    let at = At::key("optimizer", "betas");
    let bs = b.get_ref();
    if bs.len() != 2 {
        let msg = format!("betas must be two numbers [beta1, beta2], got {}", bs.len());
        c.err(at, b.span(), msg);
        return betas;
    }
    for (i, x) in bs.iter().enumerate() {
        if (0.0..1.0).contains(&x.0) {
            betas[i] = x.0;
        } else {
            let msg = format!("betas must be in [0, 1), got {}", fmt_num(x.0));
            c.err(at, b.span(), msg);
        }
    }
    betas
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
    fn non_finite_numbers_must_be_finite() {
        // Regression: `bias_init = inf` said "must be at least -inf, got inf".
        let text = "bias_init = inf\ndropout = nan\noptimizer = { lr = -inf }";
        let e = resolve(&layered(text), &Library::builtin()).unwrap_err();
        let msgs: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "bias_init must be finite, got inf",
                "lr must be finite, got -inf",
                "dropout must be finite, got NaN",
            ]
        );
        assert_eq!(e[0].key.as_deref(), Some("defaults.bias_init"));
        assert_eq!(&text[e[0].span.clone().unwrap()], "inf");
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
    fn a_dataset_key_no_kind_has_is_named_with_the_nearest_key() {
        let text = "dataset = { name = 'xor', nosie = 0.1 }";
        let e = resolve(&layered(text), &Library::builtin()).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].message, "dataset xor has no key `nosie`");
        assert_eq!(e[0].key.as_deref(), Some("defaults.dataset.nosie"));
        assert_eq!(e[0].span, Some(34..37));
        assert!(e[0].help.as_deref().is_some_and(|h| h.contains("`noise`")));
    }

    #[test]
    fn a_dataset_value_of_the_wrong_type_is_located() {
        let text = "dataset = { name = 'two_moons', samples = 'many' }";
        let e = resolve(&layered(text), &Library::builtin()).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].message.contains("expected an integer"),
            "{}",
            e[0].message
        );
        assert_eq!(e[0].key.as_deref(), Some("defaults.dataset.samples"));
        assert_eq!(e[0].span, Some(42..48));
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
