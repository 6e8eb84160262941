//! The plan: a sweep file expanded into the list of jobs to train.
//!
//! Each experiment's grid axes combine as a cartesian product; zipped axes
//! advance together as one dimension; `exclude` drops partial assignments;
//! `seeds` replicates every remaining cell. Every cell is merged with the
//! experiment and `[defaults]` and validated (see [`crate::config::resolve`]),
//! so a bad grid value is reported before anything trains.
//!
//! A job's id is a hash of its canonical form (experiment, axis assignment and
//! fully resolved config, as JSON with a fixed field order), so it is the same
//! on every machine, changes whenever any resolved field changes, and lets a
//! killed or edited sweep retrain only what is new.
//!
//! Two jobs of different experiments (or cells) can resolve to the same
//! config: experiments.toml's 5-layer ReLU net is in three experiments. They
//! have different ids (the id names the experiment and cell too), but one
//! *training key*, a hash of the config alone, so the runner trains such a
//! group once and every experiment reads the result, and the work estimate
//! counts each training once.

mod estimate;
pub mod render;
mod select;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Serialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::config::diag::{did_you_mean, list, ConfigError, Diagnostic};
use crate::config::job::{fmt_num, JobConfig};
use crate::config::raw::{GridEntry, RawSection, SeedsValue, JOB_FIELDS};
use crate::config::resolve::resolve;
use crate::config::{parse_field_value, Experiment, Sweep};

pub use estimate::Estimate;
pub use select::{Selection, SelectionError};

/// Upper bound on the jobs of one sweep file.
pub const MAX_JOBS: u64 = 100_000;

/// Table-valued fields whose keys can be axes (`grid.optimizer.lr`).
const TABLE_FIELDS: &[&str] = &[
    "dataset",
    "loss",
    "optimizer",
    "activation",
    "output_activation",
];

/// The expanded sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Sweep name.
    pub name: String,
    /// The sweep file as named by the user.
    pub file: String,
    /// Per-experiment summaries, in file order.
    pub experiments: Vec<ExperimentPlan>,
    /// Every job, experiment by experiment, cells in grid order, seeds innermost.
    pub jobs: Vec<Job>,
}

/// One experiment's axes and counts.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentPlan {
    /// Experiment name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The axes in file order.
    pub axes: Vec<Axis>,
    /// Groups of axes that advance together.
    pub zip: Vec<Vec<String>>,
    /// Replicate seeds (empty when the seed is a grid axis).
    pub seeds: Vec<u64>,
    /// Grid cells before exclusion.
    pub cells: usize,
    /// Cells dropped by `exclude`.
    pub excluded: usize,
    /// Jobs (kept cells times seeds).
    pub jobs: usize,
}

/// One grid axis.
#[derive(Debug, Clone, Serialize)]
pub struct Axis {
    /// Field path: `depth`, `optimizer.lr`, `activation.alpha`.
    pub name: String,
    /// Value labels, in file order.
    pub values: Vec<String>,
    #[serde(skip)]
    raw: Vec<toml::Value>,
    #[serde(skip)]
    patches: Vec<RawSection>,
}

/// One job of a sweep: a config in one experiment and cell.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Stable id: 16 hex digits of the SHA-256 of the canonical form.
    pub id: String,
    /// Training key: 16 hex digits of the SHA-256 of the config alone, so
    /// jobs with identical configs (in different experiments or cells)
    /// share it and train once.
    pub training: String,
    /// Experiment name.
    pub experiment: String,
    /// `experiment/axis=value,...,seed=N`.
    pub label: String,
    /// Axis assignments (name, value label) in axis order, seed last.
    pub axes: Vec<(String, String)>,
    /// The fully resolved configuration.
    pub config: JobConfig,
}

#[derive(Serialize)]
struct Canonical<'a> {
    experiment: &'a str,
    axes: BTreeMap<&'a str, &'a str>,
    config: &'a JobConfig,
}

impl Job {
    fn new(experiment: &str, axes: Vec<(String, String)>, config: JobConfig) -> Job {
        let canon = Canonical {
            experiment,
            axes: axes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            config: &config,
        };
        let id = hash16(&canon);
        let training = hash16(&config);
        let label = format!(
            "{experiment}/{}",
            axes.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        Job {
            id,
            training,
            experiment: experiment.to_string(),
            label,
            axes,
            config,
        }
    }

    /// The value of a field for `--only`: an axis, `experiment`, `id`, or any
    /// resolved field (`depth`, `optimizer.lr`, `activation` = name, ...).
    pub fn field(&self, name: &str) -> Option<Vec<String>> {
        match name {
            "experiment" => return Some(vec![self.experiment.clone()]),
            "id" => return Some(vec![self.id.clone()]),
            _ => {}
        }
        let mut out = Vec::new();
        if let Some((_, v)) = self.axes.iter().find(|(k, _)| k == name) {
            out.push(v.clone());
        }
        let flat = self.config.flat();
        let lookup = |k: &str| {
            flat.iter()
                .find(|(fk, _)| fk == k)
                .map(|(_, v)| json_text(v))
        };
        let aliases: &[&str] = match name {
            "dataset" | "loss" | "optimizer" => &[".name"],
            "activation" | "output_activation" => &[".name"],
            "width" => &["widths"],
            _ => &[""],
        };
        for suffix in aliases {
            let key = if suffix.starts_with('.') {
                format!("{name}{suffix}")
            } else if suffix.is_empty() {
                name.to_string()
            } else {
                suffix.to_string()
            };
            out.extend(lookup(&key));
        }
        if name == "activation" {
            out.push(self.config.activation.short());
        }
        if let Some((field, param)) = name.split_once('.') {
            if matches!(field, "activation" | "output_activation") {
                out.extend(lookup(&format!("{field}.params.{param}")));
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }
}

/// 16 hex digits of the SHA-256 of a value's JSON form (fields in declaration order).
fn hash16(value: &impl Serialize) -> String {
    // Serializing plain data to JSON cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&json)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Jobs grouped by training key: groups in the order of their first job,
/// jobs in the order given.
pub fn by_training<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Vec<Vec<&'a Job>> {
    let mut slot: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<&Job>> = Vec::new();
    for job in jobs {
        match slot.entry(job.training.as_str()) {
            Entry::Occupied(e) => groups[*e.get()].push(job),
            Entry::Vacant(e) => {
                e.insert(groups.len());
                groups.push(vec![job]);
            }
        }
    }
    groups
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), fmt_num),
        serde_json::Value::Null => "none".to_string(),
        serde_json::Value::Array(items) => {
            items.iter().map(json_text).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// The label of a grid value: `relu`, `3`, `0.1`, `two_moons(noise=0.3)`.
pub fn value_label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => fmt_num(*f),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(value_label).collect::<Vec<_>>().join(",")
        ),
        toml::Value::Table(t) => {
            let rest: Vec<String> = t
                .iter()
                .filter(|(k, _)| k.as_str() != "name")
                .map(|(k, v)| format!("{k}={}", value_label(v)))
                .collect();
            match t.get("name") {
                Some(n) if rest.is_empty() => value_label(n),
                Some(n) => format!("{}({})", value_label(n), rest.join(",")),
                None => format!("{{{}}}", rest.join(",")),
            }
        }
    }
}

/// Loose equality of TOML values: 1 == 1.0, tables and arrays element-wise.
fn same_value(a: &toml::Value, b: &toml::Value) -> bool {
    use toml::Value::*;
    match (a, b) {
        (Integer(x), Float(y)) | (Float(y), Integer(x)) => (*x as f64) == *y,
        (Array(x), Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Table(x), Table(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

struct Builder<'a> {
    sweep: &'a Sweep,
    diags: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn push(&mut self, d: Diagnostic) {
        if !self
            .diags
            .iter()
            .any(|e| e.message == d.message && e.span == d.span)
        {
            self.diags.push(d);
        }
    }
}

impl Plan {
    /// Expands and validates every experiment of a sweep file.
    pub fn new(sweep: &Sweep) -> Result<Plan, ConfigError> {
        let mut b = Builder {
            sweep,
            diags: Vec::new(),
        };
        let mut experiments = Vec::new();
        let mut jobs = Vec::new();
        let mut total: u64 = 0;
        for exp in &sweep.experiments {
            if let Some((plan, mut exp_jobs)) = expand(&mut b, exp, &mut total) {
                experiments.push(plan);
                jobs.append(&mut exp_jobs);
            }
        }
        if !b.diags.is_empty() {
            b.diags
                .sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
            return Err(ConfigError {
                file: sweep.file.clone(),
                text: sweep.text.clone(),
                diagnostics: b.diags,
            });
        }
        Ok(Plan {
            name: sweep.name.clone(),
            file: sweep.file.clone(),
            experiments,
            jobs,
        })
    }

    /// Work estimate over all jobs.
    pub fn estimate(&self) -> Estimate {
        Estimate::of(self.jobs.iter())
    }
}

/// One dimension of the product: a lone axis or a zipped group (indices into axes).
struct Dim {
    axes: Vec<usize>,
    len: usize,
}

fn expand(
    b: &mut Builder,
    exp: &Experiment,
    total: &mut u64,
) -> Option<(ExperimentPlan, Vec<Job>)> {
    let sweep = b.sweep;
    let text: &str = &sweep.text;
    let prefix = format!("experiments.{}.", exp.name);
    let sec = &exp.section;
    let errors_before = b.diags.len();

    let mut base = sweep.defaults.clone();
    base.apply(sec, &prefix);

    // Axes, in file order.
    let mut axes: Vec<Axis> = Vec::new();
    let mut axis_spans: Vec<Range<usize>> = Vec::new();
    if let Some(grid) = &sec.grid {
        let mut entries: Vec<_> = grid.get_ref().iter().collect();
        entries.sort_by_key(|(_, e)| e.span().start);
        for (field, entry) in entries {
            let field = field.as_str();
            let gkey = format!("{prefix}grid.{field}");
            if !JOB_FIELDS.contains(&field) {
                let mut d = Diagnostic::new(
                    format!("`{field}` is not a job field, so it cannot be a grid axis"),
                    Some(grid_key_span(text, entry.span(), field)),
                )
                .key(gkey)
                .help_opt(did_you_mean(field, JOB_FIELDS.iter().copied()));
                if field == "seeds" {
                    d = d.help(
                        "replicate with `seeds = N` next to the grid, or sweep `grid.seed = [...]`",
                    );
                }
                b.push(d.note(format!("job fields: {}", list(JOB_FIELDS.iter().copied()))));
                continue;
            }
            let mut add_axis = |b: &mut Builder,
                                name: String,
                                span: Range<usize>,
                                values: &[Spanned<toml::Value>]| {
                let akey = format!("{prefix}grid.{name}");
                if values.is_empty() {
                    b.push(
                        Diagnostic::new(format!("axis `{name}` has no values"), Some(span))
                            .key(akey)
                            .help("list at least one value, or remove the axis"),
                    );
                    return;
                }
                let mut axis = Axis {
                    name: name.clone(),
                    values: Vec::new(),
                    raw: Vec::new(),
                    patches: Vec::new(),
                };
                for v in values {
                    let label = value_label(v.get_ref());
                    if let Some(i) = axis.raw.iter().position(|r| same_value(r, v.get_ref())) {
                        b.push(
                            Diagnostic::new(
                                format!("axis `{name}` lists `{label}` twice"),
                                Some(v.span()),
                            )
                            .key(akey.clone())
                            .note(format!("it is already value {} of the axis", i + 1)),
                        );
                        continue;
                    }
                    match parse_field_value(text, v.span(), &name) {
                        Ok(patch) => {
                            axis.values.push(label);
                            axis.raw.push(v.get_ref().clone());
                            axis.patches.push(patch);
                        }
                        Err(d) => {
                            let d = if d.key.as_deref().is_none_or(|k| k.is_empty() || k == name) {
                                d.key(akey.clone())
                            } else {
                                let k = d.key.clone().unwrap_or_default();
                                d.key(format!("{prefix}grid.{k}"))
                            };
                            b.push(d);
                        }
                    }
                }
                axes.push(axis);
                axis_spans.push(span);
            };
            match entry.get_ref() {
                GridEntry::Axis(values) => add_axis(b, field.to_string(), entry.span(), values),
                GridEntry::Params(params) => {
                    if !TABLE_FIELDS.contains(&field) {
                        b.push(
                            Diagnostic::new(
                                format!("grid.{field} must be a list of values"),
                                Some(entry.span()),
                            )
                            .key(gkey)
                            .help(format!("write grid.{field} = [value, value, ...]")),
                        );
                        continue;
                    }
                    let mut ps: Vec<_> = params.iter().collect();
                    ps.sort_by_key(|(k, _)| k.span().start);
                    for (p, values) in ps {
                        add_axis(
                            b,
                            format!("{field}.{}", p.get_ref()),
                            values.span(),
                            values.get_ref(),
                        );
                    }
                }
            }
        }
    }
    let axis_names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
    let axis_names_text = if axis_names.is_empty() {
        "(none)".to_string()
    } else {
        list(axis_names.iter().copied())
    };

    // Zipped groups.
    let mut in_zip: Vec<Option<usize>> = vec![None; axes.len()];
    let mut zip_groups: Vec<Vec<usize>> = Vec::new();
    if let Some(zip) = &sec.zip {
        for group in zip.get_ref() {
            let mut idx = Vec::new();
            for name in group.get_ref() {
                match axes.iter().position(|a| &a.name == name.get_ref()) {
                    None => b.push(
                        Diagnostic::new(
                            format!(
                                "zip names `{}`, which is not an axis of experiment {}",
                                name.get_ref(),
                                exp.name
                            ),
                            Some(name.span()),
                        )
                        .key(format!("{prefix}zip"))
                        .help_opt(did_you_mean(name.get_ref(), axis_names.iter().copied()))
                        .note(format!("axes of {}: {axis_names_text}", exp.name)),
                    ),
                    Some(i) if in_zip[i].is_some() || idx.contains(&i) => b.push(
                        Diagnostic::new(
                            format!(
                                "axis `{}` appears in more than one zip group",
                                name.get_ref()
                            ),
                            Some(name.span()),
                        )
                        .key(format!("{prefix}zip")),
                    ),
                    Some(i) => idx.push(i),
                }
            }
            if idx.len() < 2 {
                if idx.len() == group.get_ref().len() {
                    b.push(
                        Diagnostic::new("a zip group needs at least two axes", Some(group.span()))
                            .key(format!("{prefix}zip")),
                    );
                }
                continue;
            }
            let lens: Vec<usize> = idx.iter().map(|&i| axes[i].values.len()).collect();
            if lens.iter().any(|&l| l != lens[0]) {
                let detail = idx
                    .iter()
                    .map(|&i| format!("{} has {}", axes[i].name, axes[i].values.len()))
                    .collect::<Vec<_>>()
                    .join(", ");
                b.push(
                    Diagnostic::new(
                        format!("zipped axes must have the same number of values: {detail}"),
                        Some(group.span()),
                    )
                    .key(format!("{prefix}zip")),
                );
                continue;
            }
            for &i in &idx {
                in_zip[i] = Some(zip_groups.len());
            }
            zip_groups.push(idx);
        }
    }
    let mut dims: Vec<Dim> = Vec::new();
    let mut seen_group = vec![false; zip_groups.len()];
    for (i, axis) in axes.iter().enumerate() {
        match in_zip[i] {
            None => dims.push(Dim {
                axes: vec![i],
                len: axis.values.len(),
            }),
            Some(g) if !seen_group[g] => {
                seen_group[g] = true;
                dims.push(Dim {
                    axes: zip_groups[g].clone(),
                    len: axis.values.len(),
                });
            }
            Some(_) => {}
        }
    }

    // Excludes: lists of (axis index, value index).
    let mut excludes: Vec<Vec<(usize, usize)>> = Vec::new();
    if let Some(ex) = &sec.exclude {
        for entry in ex.get_ref() {
            let mut flat = Vec::new();
            flatten_exclude("", entry.get_ref(), &axis_names, &mut flat);
            if flat.is_empty() {
                b.push(
                    Diagnostic::new("an empty exclude matches every cell", Some(entry.span()))
                        .key(format!("{prefix}exclude")),
                );
                continue;
            }
            let mut cond = Vec::new();
            for (k, v) in flat {
                let Some(ai) = axes.iter().position(|a| a.name == k) else {
                    b.push(
                        Diagnostic::new(
                            format!(
                                "exclude names `{k}`, which is not an axis of experiment {}",
                                exp.name
                            ),
                            Some(entry.span()),
                        )
                        .key(format!("{prefix}exclude"))
                        .help_opt(did_you_mean(&k, axis_names.iter().copied()))
                        .note(format!("axes of {}: {axis_names_text}", exp.name)),
                    );
                    continue;
                };
                match axes[ai].raw.iter().position(|r| same_value(r, &v)) {
                    Some(vi) => cond.push((ai, vi)),
                    None => b.push(
                        Diagnostic::new(
                            format!(
                                "exclude value {k} = {} is not a value of axis `{k}`",
                                value_label(&v)
                            ),
                            Some(entry.span()),
                        )
                        .key(format!("{prefix}exclude"))
                        .note(format!("values of {k}: {}", axes[ai].values.join(", "))),
                    ),
                }
            }
            excludes.push(cond);
        }
    }

    // Seeds.
    let seeds_value = sec
        .seeds
        .as_ref()
        .map(|s| (s, format!("{prefix}seeds")))
        .or_else(|| {
            sweep
                .defaults
                .fields
                .seeds
                .as_ref()
                .map(|s| (s, "defaults.seeds".to_string()))
        });
    let seed_axis = axes.iter().any(|a| a.name == "seed");
    let mut seeds: Vec<u64> = Vec::new();
    if let Some((s, key)) = &seeds_value {
        if seed_axis {
            b.push(
                Diagnostic::new(
                    "`seeds` and a `seed` grid axis both set the seed",
                    Some(s.span()),
                )
                .key(key.clone())
                .help("keep one of them"),
            );
        }
        match s.get_ref() {
            SeedsValue::Count(n) if *n < 1 || *n > 10_000 => b.push(
                Diagnostic::new(
                    format!("seeds must be between 1 and 10000, got {n}"),
                    Some(s.span()),
                )
                .key(key.clone()),
            ),
            SeedsValue::Count(n) => seeds = (0..*n as u64).collect(),
            SeedsValue::List(l) if l.is_empty() => b.push(
                Diagnostic::new("seeds is an empty list", Some(s.span()))
                    .key(key.clone())
                    .help("list at least one seed, or write a count: seeds = 3"),
            ),
            SeedsValue::List(l) => {
                for (i, x) in l.iter().enumerate() {
                    if *x < 0 {
                        b.push(
                            Diagnostic::new(
                                format!("seeds must not be negative, got {x}"),
                                Some(s.span()),
                            )
                            .key(key.clone()),
                        );
                    } else if l[..i].contains(x) {
                        b.push(
                            Diagnostic::new(format!("seed {x} is listed twice"), Some(s.span()))
                                .key(key.clone()),
                        );
                    } else {
                        seeds.push(*x as u64);
                    }
                }
            }
        }
    }

    // Size cap, before expanding anything.
    let cells: u64 = dims
        .iter()
        .map(|d| d.len as u64)
        .try_fold(1u64, |a, l| a.checked_mul(l))
        .unwrap_or(u64::MAX);
    let reps = seeds.len().max(1) as u64;
    let upper = cells.saturating_mul(reps);
    if upper.saturating_add(*total) > MAX_JOBS {
        let span = sec
            .grid
            .as_ref()
            .map(|g| g.span())
            .unwrap_or(exp.span.clone());
        b.push(
            Diagnostic::new(
                format!("experiment {} would expand to {upper} jobs; a sweep file may have at most {MAX_JOBS} in all", exp.name),
                Some(span),
            )
            .key(format!("{prefix}grid"))
            .help("shrink the grid, zip axes that belong together, or split the study into several files"),
        );
        return None;
    }
    if b.diags.len() > errors_before {
        // Expanding a broken grid would only repeat the same errors per cell.
        let _ = resolve(&base, &sweep.library).map_err(|ds| ds.into_iter().for_each(|d| b.push(d)));
        return None;
    }

    // Expand.
    let mut jobs = Vec::new();
    let mut excluded = 0usize;
    let mut idx = vec![0usize; dims.len()];
    let n_cells = cells as usize;
    for cell in 0..n_cells {
        // Mixed-radix counter, last dimension fastest.
        let mut rem = cell;
        for (d, dim) in dims.iter().enumerate().rev() {
            idx[d] = rem % dim.len;
            rem /= dim.len;
        }
        let mut assign: Vec<usize> = vec![0; axes.len()];
        for (d, dim) in dims.iter().enumerate() {
            for &a in &dim.axes {
                assign[a] = idx[d];
            }
        }
        if excludes
            .iter()
            .any(|cond| cond.iter().all(|&(a, v)| assign[a] == v))
        {
            excluded += 1;
            continue;
        }
        let mut layered = base.clone();
        for (a, axis) in axes.iter().enumerate() {
            layered.apply(&axis.patches[assign[a]], &format!("{prefix}grid."));
        }
        let labels: Vec<(String, String)> = axes
            .iter()
            .enumerate()
            .map(|(a, axis)| (axis.name.clone(), axis.values[assign[a]].clone()))
            .collect();
        let seed_list: Vec<Option<u64>> = if seeds.is_empty() {
            vec![None]
        } else {
            seeds.iter().map(|s| Some(*s)).collect()
        };
        for seed in seed_list {
            let mut l = layered.clone();
            if let Some(s) = seed {
                let mut patch = RawSection::default();
                let span = seeds_value.as_ref().map(|(v, _)| v.span()).unwrap_or(0..0);
                patch.seed = Some(Spanned::new(span, s as i64));
                l.apply(&patch, &format!("{prefix}seeds."));
            }
            match resolve(&l, &sweep.library) {
                Ok(config) => {
                    let mut axes_l = labels.clone();
                    if !seed_axis {
                        axes_l.push(("seed".to_string(), config.seed.to_string()));
                    }
                    jobs.push(Job::new(&exp.name, axes_l, config));
                }
                Err(ds) => {
                    let label = labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",");
                    for d in ds {
                        let d = if label.is_empty() {
                            d
                        } else {
                            d.note(format!("in the cell {}/{label}", exp.name))
                        };
                        // The same problem in every cell is one problem.
                        let dup = b
                            .diags
                            .iter()
                            .any(|e| e.message == d.message && e.span == d.span);
                        if !dup {
                            b.push(d);
                        }
                    }
                    if b.diags.len() > errors_before + 20 {
                        return None;
                    }
                }
            }
        }
    }
    if b.diags.len() > errors_before {
        return None;
    }
    let plan = ExperimentPlan {
        name: exp.name.clone(),
        description: sec.description.as_ref().map(|d| d.get_ref().clone()),
        zip: zip_groups
            .iter()
            .map(|g| g.iter().map(|&i| axes[i].name.clone()).collect())
            .collect(),
        axes,
        seeds,
        cells: n_cells,
        excluded,
        jobs: jobs.len(),
    };
    *total += jobs.len() as u64;
    Some((plan, jobs))
}

/// Flattens `{ activation = "relu", optimizer = { lr = 0.1 } }` into
/// `[("activation", "relu"), ("optimizer.lr", 0.1)]`, stopping at axis names.
fn flatten_exclude(
    prefix: &str,
    t: &toml::Table,
    axes: &[&str],
    out: &mut Vec<(String, toml::Value)>,
) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) if !axes.contains(&key.as_str()) => {
                flatten_exclude(&key, inner, axes, out)
            }
            other => out.push((key, other.clone())),
        }
    }
}

/// The span of `field` written just before its value, if it can be found on
/// the value's line; else the value's span.
fn grid_key_span(text: &str, value: Range<usize>, field: &str) -> Range<usize> {
    let start = value.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    match text[line_start..start].rfind(field) {
        Some(i) => line_start + i..line_start + i + field.len(),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::job::{DatasetConfig, OptimizerConfig};

    fn plan(text: &str) -> Plan {
        let sweep = crate::config::parse("t.toml", "t", text).unwrap_or_else(|e| panic!("{e}"));
        Plan::new(&sweep).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn seeds_in_defaults_replicate_every_experiment() {
        // Regression: `seeds` in [defaults] used to be dropped by the merge.
        let p = plan("[defaults]\nseeds = 3\n[experiments.a]\ngrid.depth = [2, 3]\n");
        assert_eq!(p.jobs.len(), 6);
        assert_eq!(p.jobs[0].label, "a/depth=2,seed=0");
        assert_eq!(p.jobs[5].label, "a/depth=3,seed=2");
    }

    #[test]
    fn table_values_and_parameter_axes() {
        let p = plan(
            r#"
[defaults]
optimizer = { name = "sgd", lr = 0.1, momentum = 0.9 }
[experiments.a]
activation = "leaky_relu"
grid.dataset = ["xor", { name = "two_moons", noise = 0.3 }]
grid.optimizer.lr = [0.5, 0.05]
grid.activation.alpha = [0.2]
exclude = [{ dataset = "xor", optimizer = { lr = 0.05 } }]
"#,
        );
        assert_eq!(p.jobs.len(), 3);
        let labels: Vec<&str> = p.jobs.iter().map(|j| j.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "a/dataset=xor,optimizer.lr=0.5,activation.alpha=0.2,seed=0",
                "a/dataset=two_moons(noise=0.3),optimizer.lr=0.5,activation.alpha=0.2,seed=0",
                "a/dataset=two_moons(noise=0.3),optimizer.lr=0.05,activation.alpha=0.2,seed=0",
            ]
        );
        let j = &p.jobs[2].config;
        assert_eq!(
            j.optimizer,
            OptimizerConfig::Sgd {
                lr: 0.05,
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0
            }
        );
        assert!(matches!(j.dataset, DatasetConfig::TwoMoons { noise, .. } if noise == 0.3));
        assert_eq!(j.activation.params["alpha"], 0.2);
        assert_eq!(j.activation.short(), "leaky_relu(alpha=0.2)");
    }

    #[test]
    fn ids_change_with_any_resolved_field_and_only_then() {
        let a = plan("[experiments.a]\ndepth = 3\n");
        let same = plan("# a comment\n[experiments.a]\ndepth   =   3\n");
        let other = plan("[experiments.a]\ndepth = 3\noptimizer = { lr = 0.002 }\n");
        assert_eq!(a.jobs[0].id, same.jobs[0].id);
        assert_ne!(a.jobs[0].id, other.jobs[0].id);
        assert_eq!(a.jobs[0].id.len(), 16);
    }

    #[test]
    fn eval_every_at_its_default_keeps_the_ids_of_older_files() {
        // Ids computed before `eval_every` existed (commit 704a12e).
        let defaults = "[experiments.a]\n";
        let xor = "[experiments.a]\ndataset = { name = 'xor', samples = 100 }\ndepth = 2\n";
        for (text, before) in [(defaults, "e63db0e89a0c41cb"), (xor, "a30f93cfbeb4fc35")] {
            assert_eq!(plan(text).jobs[0].id, before, "{text}");
            let one = plan(&format!("{text}eval_every = 1\n"));
            assert_eq!(one.jobs[0].id, before, "{text}");
            let two = plan(&format!("{text}eval_every = 2\n"));
            assert_ne!(two.jobs[0].id, before, "{text}");
            assert_eq!(two.jobs[0].config.eval_every, 2);
        }
    }

    #[test]
    fn identical_configs_share_a_training_and_count_once() {
        let p = plan(
            "[defaults]\ndataset = { name = 'xor', samples = 100 }\ndepth = 2\nepochs = 1\n\
             [experiments.a]\ngrid.activation = ['relu', 'tanh']\n\
             [experiments.b]\nactivation = 'relu'\n",
        );
        let [relu_a, tanh_a, relu_b] = [&p.jobs[0], &p.jobs[1], &p.jobs[2]];
        assert_ne!(relu_a.id, relu_b.id);
        assert_eq!(relu_a.training, relu_b.training);
        assert_ne!(relu_a.training, tanh_a.training);
        assert_eq!(relu_a.training.len(), 16);
        let groups = by_training(&p.jobs);
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(|j| j.id.as_str()).collect())
            .collect();
        assert_eq!(ids, [vec![&*relu_a.id, &*relu_b.id], vec![&*tanh_a.id]]);
        let all = p.estimate();
        let distinct = Estimate::of([relu_a, tanh_a].into_iter());
        assert_eq!((all.jobs, all.trainings), (3, 2));
        assert_eq!(all.sample_epochs, distinct.sample_epochs);
        assert_eq!(all.flops(), distinct.flops());
    }

    #[test]
    fn user_formula_edits_change_ids() {
        let a = plan(
            "[activations.s]\nformula = 'x * sigmoid(x)'\n[experiments.a]\nactivation = 's'\n",
        );
        let b = plan(
            "[activations.s]\nformula = 'x * sigmoid(2 * x)'\n[experiments.a]\nactivation = 's'\n",
        );
        assert_ne!(a.jobs[0].id, b.jobs[0].id);
    }

    #[test]
    fn selection_by_field_and_axis() {
        let p = plan("[experiments.a]\ngrid.activation = ['relu', 'tanh']\ngrid.depth = [2, 3]\n");
        let sel = Selection::parse(&["activation=tanh".into(), "depth=3".into()]).unwrap();
        let jobs = sel.apply(&p.jobs).unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].label, "a/activation=tanh,depth=3,seed=0");
        assert!(Selection::parse(&["nope".into()]).is_err());
        let bad = Selection::parse(&["dpeth=3".into()]).unwrap();
        assert!(bad.apply(&p.jobs).is_err());
    }

    #[test]
    fn estimate_counts_flops_from_layer_sizes() {
        let p = plan("[experiments.a]\ndataset = { name = 'xor', samples = 100 }\ndepth = 2\nwidth = 4\nepochs = 1\nbatch_size = 10\n");
        let e = p.estimate();
        // 2-4-2 network: forward 2*(2*4 + 4*2) = 32 FLOPs per sample; 80 train, 20 test.
        assert_eq!(e.sample_epochs, 80);
        assert_eq!(e.steps, 8);
        assert_eq!(e.train_flops, 3.0 * 32.0 * 80.0);
        assert_eq!(e.eval_flops, 32.0 * 100.0 * 2.0);
    }
}
