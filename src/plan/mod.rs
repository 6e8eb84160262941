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
use crate::config::raw::{job_field, job_field_names, GridEntry, RawSection, SeedsValue, ZipGroup};
use crate::config::resolve::resolve;
use crate::config::schema::{JobField, Keys};
use crate::config::{parse_field_value, Experiment, Layered, Sweep};

pub use estimate::Estimate;
pub use select::{Selection, SelectionError};

/// Upper bound on the jobs of one sweep file.
pub const MAX_JOBS: u64 = 100_000;

/// Cells of one experiment stop resolving after this many new problems.
const MAX_PROBLEMS: usize = 20;

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
    /// Value labels, in file order: each value's [`value_label`], except
    /// that tables are labelled by their `name` alone when every value of
    /// the axis is a name or a table with one and no two share a name
    /// (`grid.dataset = [{ name = "mnist", train_limit = 10000 }, "xor"]`
    /// is labelled `mnist`, `xor`; two `sgd` tables keep their whole forms).
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

    /// The value of a field for `--only`: an axis, `experiment`, `id`, a job
    /// field by its sweep-file name (`width`, `activation` = its name or its
    /// `name(k=v)` form, `dataset` = its name), or any resolved field
    /// (`depth`, `optimizer.lr`, `activation.alpha`, ...).
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
        match job_field(name) {
            // A job field by its own name: `width` is `widths`, `dataset`
            // its name; an activation also by its `name(k=v)` form.
            Some(f) => {
                out.extend(lookup(&f.resolved_key()));
                if matches!(f.keys, Keys::Params) {
                    out.extend(activation_short(&flat, f.name));
                }
            }
            None => out.extend(lookup(name)),
        }
        // `activation.alpha` is `activation.params.alpha`.
        if let Some((field, key)) = name.split_once('.') {
            if job_field(field).is_some_and(|f| matches!(f.keys, Keys::Params)) {
                out.extend(lookup(&format!("{field}.params.{key}")));
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

/// `name(k=v,...)` of an activation-valued field, read from the flat form
/// (as [`ActivationConfig::short`](crate::activation::ActivationConfig::short) writes it).
fn activation_short(flat: &[(String, serde_json::Value)], field: &str) -> Option<String> {
    let name_key = format!("{field}.name");
    let name = flat.iter().find(|(k, _)| *k == name_key)?;
    let prefix = format!("{field}.params.");
    let params: Vec<String> = flat
        .iter()
        .filter_map(|(k, v)| Some(format!("{}={}", k.strip_prefix(&prefix)?, json_text(v))))
        .collect();
    let name = json_text(&name.1);
    Some(if params.is_empty() {
        name
    } else {
        format!("{name}({})", params.join(","))
    })
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

/// The names of an axis's values when every value is a name or a table with
/// a `label` or a `name` (the label first), and no two share one: the labels that tell them apart in tables
/// and charts (`mnist` rather than `mnist(train_limit=10000)`). `None` keeps
/// each value's whole [`value_label`].
fn distinct_names(values: &[toml::Value]) -> Option<Vec<String>> {
    let name = |v: &toml::Value| match v {
        toml::Value::String(n) => Some(n.clone()),
        toml::Value::Table(t) => t
            .get("label")
            .or(t.get("name"))?
            .as_str()
            .map(str::to_string),
        _ => None,
    };
    let names: Vec<String> = values.iter().map(name).collect::<Option<_>>()?;
    let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
    (distinct.len() == names.len()).then_some(names)
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

/// The distinct datasets of `jobs`, in the order they first appear.
pub fn distinct_datasets<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
) -> Vec<&'a crate::data::DatasetConfig> {
    let mut seen: Vec<&crate::data::DatasetConfig> = Vec::new();
    for j in jobs {
        if !seen.contains(&&j.config.dataset) {
            seen.push(&j.config.dataset);
        }
    }
    seen
}

/// One factor of the grid's product: a lone axis or a zipped group (indices
/// into axes). Not a table dimension (`report::cells::Dim`).
struct Factor {
    axes: Vec<usize>,
    len: usize,
}

/// An experiment's grid: its axes, how they combine, and the cells dropped.
struct Grid {
    axes: Vec<Axis>,
    /// Zipped groups (indices into `axes`).
    zip_groups: Vec<Vec<usize>>,
    /// The factors of the product, lone axes and zipped groups in axis order.
    factors: Vec<Factor>,
    /// Excluded partial assignments: (axis index, value index) pairs.
    excludes: Vec<Vec<(usize, usize)>>,
}

impl Grid {
    /// Cells of the product before exclusion (`u64::MAX` on overflow).
    fn cells(&self) -> u64 {
        self.factors
            .iter()
            .map(|d| d.len as u64)
            .try_fold(1u64, |a, l| a.checked_mul(l))
            .unwrap_or(u64::MAX)
    }

    /// The value index of every axis in cell number `cell` (mixed radix,
    /// last factor fastest).
    fn assignment(&self, cell: usize) -> Vec<usize> {
        let mut idx = vec![0usize; self.factors.len()];
        let mut rem = cell;
        for (d, factor) in self.factors.iter().enumerate().rev() {
            idx[d] = rem % factor.len;
            rem /= factor.len;
        }
        let mut assign = vec![0; self.axes.len()];
        for (d, factor) in self.factors.iter().enumerate() {
            for &a in &factor.axes {
                assign[a] = idx[d];
            }
        }
        assign
    }

    fn is_excluded(&self, assign: &[usize]) -> bool {
        self.excludes
            .iter()
            .any(|cond| cond.iter().all(|&(a, v)| assign[a] == v))
    }

    /// (axis, value label) of every axis in a cell.
    fn labels(&self, assign: &[usize]) -> Vec<(String, String)> {
        self.axes
            .iter()
            .zip(assign)
            .map(|(axis, &v)| (axis.name.clone(), axis.values[v].clone()))
            .collect()
    }
}

/// The replicate seeds of an experiment.
struct Seeds<'a> {
    /// The seeds (empty: one run with the cell's `seed`).
    list: Vec<u64>,
    /// Where `seeds` is written and its key path, when it is.
    written: Option<(&'a Spanned<SeedsValue>, String)>,
    /// Whether `seed` is a grid axis.
    axis: bool,
}

/// One experiment being expanded: what its messages point at.
struct Expansion<'a> {
    exp: &'a Experiment,
    text: &'a str,
    /// `experiments.NAME.`
    prefix: String,
}

/// Expands one experiment into its jobs, or reports why it cannot be.
fn expand(
    b: &mut Builder,
    exp: &Experiment,
    total: &mut u64,
) -> Option<(ExperimentPlan, Vec<Job>)> {
    let sweep = b.sweep;
    let x = Expansion {
        exp,
        text: &sweep.text,
        prefix: format!("experiments.{}.", exp.name),
    };
    let errors_before = b.diags.len();
    let mut base = sweep.defaults.clone();
    base.apply(&exp.section, &x.prefix);

    let grid = x.grid(b);
    let seeds = x.seeds(b, &sweep.defaults, &grid.axes);
    let cells = x.check_size(b, &grid, seeds.list.len(), *total)?;
    if b.diags.len() > errors_before {
        // Expanding a broken grid would only repeat the same errors per cell;
        // the experiment's own settings may still have some of their own.
        if let Err(ds) = resolve(&base, &sweep.library) {
            ds.into_iter().for_each(|d| b.push(d));
        }
        return None;
    }
    let (jobs, excluded) = x.jobs(b, &base, &grid, &seeds, cells, errors_before)?;
    let plan = ExperimentPlan {
        name: exp.name.clone(),
        description: exp
            .section
            .description
            .as_ref()
            .map(|d| d.get_ref().clone()),
        zip: grid
            .zip_groups
            .iter()
            .map(|g| g.iter().map(|&i| grid.axes[i].name.clone()).collect())
            .collect(),
        axes: grid.axes,
        seeds: seeds.list,
        cells,
        excluded,
        jobs: jobs.len(),
    };
    *total += jobs.len() as u64;
    Some((plan, jobs))
}

impl<'a> Expansion<'a> {
    /// The axes in file order, their zipped groups and the exclusions.
    fn grid(&self, b: &mut Builder) -> Grid {
        let axes = self.axes(b);
        let zip_groups = self.zip_groups(b, &axes);
        let factors = factors_of(&axes, &zip_groups);
        let excludes = self.excludes(b, &axes);
        Grid {
            axes,
            zip_groups,
            factors,
            excludes,
        }
    }

    /// Every `grid.FIELD` and `grid.FIELD.KEY`, in file order.
    fn axes(&self, b: &mut Builder) -> Vec<Axis> {
        let Some(grid) = &self.exp.section.grid else {
            return Vec::new();
        };
        let mut entries: Vec<_> = grid.get_ref().iter().collect();
        entries.sort_by_key(|(_, e)| e.span().start);
        let mut axes = Vec::new();
        for (field, entry) in entries {
            match job_field(field) {
                Some(f) => self.grid_entry(b, f, entry, &mut axes),
                None => b.push(self.not_a_job_field(field, entry.span())),
            }
        }
        axes
    }

    fn not_a_job_field(&self, field: &str, value: Range<usize>) -> Diagnostic {
        let mut d = Diagnostic::new(
            format!("`{field}` is not a job field, so it cannot be a grid axis"),
            Some(grid_key_span(self.text, value, field)),
        )
        .key(format!("{}grid.{field}", self.prefix))
        .help_opt(did_you_mean(field, job_field_names()));
        if field == "seeds" {
            d = d.help("replicate with `seeds = N` next to the grid, or sweep `grid.seed = [...]`");
        }
        d.note(format!("job fields: {}", list(job_field_names())))
    }

    /// The axes of one `grid.FIELD` entry: the field itself, or one per key
    /// of a table-valued field.
    fn grid_entry(
        &self,
        b: &mut Builder,
        field: &JobField,
        entry: &Spanned<GridEntry>,
        axes: &mut Vec<Axis>,
    ) {
        let name = field.name;
        match entry.get_ref() {
            GridEntry::Axis(values) => {
                axes.extend(self.axis(b, name.to_string(), entry.span(), values));
            }
            GridEntry::Params(_) if !field.is_table() => b.push(
                Diagnostic::new(
                    format!("grid.{name} must be a list of values"),
                    Some(entry.span()),
                )
                .key(format!("{}grid.{name}", self.prefix))
                .help(format!("write grid.{name} = [value, value, ...]")),
            ),
            GridEntry::Params(params) => {
                let mut ps: Vec<_> = params.iter().collect();
                ps.sort_by_key(|(k, _)| k.span().start);
                for (key, values) in ps {
                    let axis_name = format!("{name}.{}", key.get_ref());
                    axes.extend(self.axis(b, axis_name, values.span(), values.get_ref()));
                }
            }
        }
    }

    /// One axis: each value parsed as the field it sets. Duplicate and
    /// invalid values are reported and left out; `None` when it has none.
    fn axis(
        &self,
        b: &mut Builder,
        name: String,
        span: Range<usize>,
        values: &[Spanned<toml::Value>],
    ) -> Option<Axis> {
        let akey = format!("{}grid.{name}", self.prefix);
        if values.is_empty() {
            b.push(
                Diagnostic::new(format!("axis `{name}` has no values"), Some(span))
                    .key(akey)
                    .help("list at least one value, or remove the axis"),
            );
            return None;
        }
        let mut axis = Axis {
            name,
            values: Vec::new(),
            raw: Vec::new(),
            patches: Vec::new(),
        };
        for v in values {
            let label = value_label(v.get_ref());
            if let Some(i) = axis.raw.iter().position(|r| same_value(r, v.get_ref())) {
                b.push(
                    Diagnostic::new(
                        format!("axis `{}` lists `{label}` twice", axis.name),
                        Some(v.span()),
                    )
                    .key(akey.clone())
                    .note(format!("it is already value {} of the axis", i + 1)),
                );
                continue;
            }
            match parse_field_value(self.text, v.span(), &axis.name) {
                Ok(patch) => {
                    axis.values.push(label);
                    axis.raw.push(v.get_ref().clone());
                    axis.patches.push(patch);
                }
                Err(d) => b.push(self.grid_value_error(d, &axis.name, &akey)),
            }
        }
        if let Some(names) = distinct_names(&axis.raw) {
            axis.values = names;
        }
        Some(axis)
    }

    /// A value's parse error keyed by the axis (or the grid key it names).
    fn grid_value_error(&self, d: Diagnostic, axis: &str, akey: &str) -> Diagnostic {
        match d.key.clone() {
            Some(k) if !k.is_empty() && k != axis => d.key(format!("{}grid.{k}", self.prefix)),
            _ => d.key(akey),
        }
    }

    /// `axes of NAME: a, b` for notes.
    fn axes_note(&self, axes: &[Axis]) -> String {
        let names = if axes.is_empty() {
            "(none)".to_string()
        } else {
            list(axes.iter().map(|a| a.name.as_str()))
        };
        format!("axes of {}: {names}", self.exp.name)
    }

    /// The valid `zip` groups, as indices into `axes`.
    fn zip_groups(&self, b: &mut Builder, axes: &[Axis]) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let Some(zip) = &self.exp.section.zip else {
            return groups;
        };
        for group in zip.get_ref() {
            let idx = self.zip_members(b, axes, group, &groups);
            if idx.len() < 2 {
                if idx.len() == group.get_ref().len() {
                    b.push(
                        Diagnostic::new("a zip group needs at least two axes", Some(group.span()))
                            .key(format!("{}zip", self.prefix)),
                    );
                }
                continue;
            }
            if let Some(d) = self.unequal_zip(axes, &idx, group.span()) {
                b.push(d);
                continue;
            }
            groups.push(idx);
        }
        groups
    }

    /// The axes a zip group names, each once and in no earlier group.
    fn zip_members(
        &self,
        b: &mut Builder,
        axes: &[Axis],
        group: &Spanned<ZipGroup>,
        earlier: &[Vec<usize>],
    ) -> Vec<usize> {
        let mut idx = Vec::new();
        for name in group.get_ref() {
            let zkey = format!("{}zip", self.prefix);
            match axes.iter().position(|a| &a.name == name.get_ref()) {
                None => b.push(
                    Diagnostic::new(
                        format!(
                            "zip names `{}`, which is not an axis of experiment {}",
                            name.get_ref(),
                            self.exp.name
                        ),
                        Some(name.span()),
                    )
                    .key(zkey)
                    .help_opt(did_you_mean(
                        name.get_ref(),
                        axes.iter().map(|a| a.name.as_str()),
                    ))
                    .note(self.axes_note(axes)),
                ),
                Some(i) if earlier.iter().flatten().any(|&j| j == i) || idx.contains(&i) => b.push(
                    Diagnostic::new(
                        format!(
                            "axis `{}` appears in more than one zip group",
                            name.get_ref()
                        ),
                        Some(name.span()),
                    )
                    .key(zkey),
                ),
                Some(i) => idx.push(i),
            }
        }
        idx
    }

    /// The problem with a zip group whose axes differ in length, if they do.
    fn unequal_zip(&self, axes: &[Axis], idx: &[usize], span: Range<usize>) -> Option<Diagnostic> {
        let lens: Vec<usize> = idx.iter().map(|&i| axes[i].values.len()).collect();
        if lens.iter().all(|&l| l == lens[0]) {
            return None;
        }
        let detail = idx
            .iter()
            .map(|&i| format!("{} has {}", axes[i].name, axes[i].values.len()))
            .collect::<Vec<_>>()
            .join(", ");
        Some(
            Diagnostic::new(
                format!("zipped axes must have the same number of values: {detail}"),
                Some(span),
            )
            .key(format!("{}zip", self.prefix)),
        )
    }

    /// Every `exclude` entry as (axis index, value index) pairs.
    fn excludes(&self, b: &mut Builder, axes: &[Axis]) -> Vec<Vec<(usize, usize)>> {
        let Some(ex) = &self.exp.section.exclude else {
            return Vec::new();
        };
        ex.get_ref()
            .iter()
            .filter_map(|entry| self.exclude(b, axes, entry))
            .collect()
    }

    /// One `exclude` entry; `None` when it is empty.
    fn exclude(
        &self,
        b: &mut Builder,
        axes: &[Axis],
        entry: &Spanned<toml::Table>,
    ) -> Option<Vec<(usize, usize)>> {
        let ekey = format!("{}exclude", self.prefix);
        let axis_names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
        let mut flat = Vec::new();
        flatten_exclude("", entry.get_ref(), &axis_names, &mut flat);
        if flat.is_empty() {
            b.push(
                Diagnostic::new("an empty exclude matches every cell", Some(entry.span()))
                    .key(ekey),
            );
            return None;
        }
        let mut cond = Vec::new();
        for (k, v) in flat {
            let Some(ai) = axes.iter().position(|a| a.name == k) else {
                b.push(
                    Diagnostic::new(
                        format!(
                            "exclude names `{k}`, which is not an axis of experiment {}",
                            self.exp.name
                        ),
                        Some(entry.span()),
                    )
                    .key(ekey.clone())
                    .help_opt(did_you_mean(&k, axis_names.iter().copied()))
                    .note(self.axes_note(axes)),
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
                    .key(ekey.clone())
                    .note(format!("values of {k}: {}", axes[ai].values.join(", "))),
                ),
            }
        }
        Some(cond)
    }

    /// The replicate seeds: the experiment's `seeds`, else `[defaults]`'.
    fn seeds(&self, b: &mut Builder, defaults: &'a Layered, axes: &[Axis]) -> Seeds<'a> {
        let written = self
            .exp
            .section
            .seeds
            .as_ref()
            .map(|s| (s, format!("{}seeds", self.prefix)))
            .or_else(|| {
                (defaults.fields.seeds.as_ref()).map(|s| (s, "defaults.seeds".to_string()))
            });
        let axis = axes.iter().any(|a| a.name == "seed");
        let mut list = Vec::new();
        if let Some((s, key)) = &written {
            if axis {
                b.push(
                    Diagnostic::new(
                        "`seeds` and a `seed` grid axis both set the seed",
                        Some(s.span()),
                    )
                    .key(key.clone())
                    .help("keep one of them"),
                );
            }
            list = seed_list(b, s, key);
        }
        Seeds {
            list,
            written,
            axis,
        }
    }

    /// The number of cells, or `None` (reported) when the experiment would
    /// take the sweep past [`MAX_JOBS`]; checked before expanding anything.
    fn check_size(&self, b: &mut Builder, grid: &Grid, seeds: usize, total: u64) -> Option<usize> {
        let cells = grid.cells();
        let upper = cells.saturating_mul(seeds.max(1) as u64);
        if upper.saturating_add(total) <= MAX_JOBS {
            return Some(cells as usize);
        }
        let sec = &self.exp.section;
        let span = sec
            .grid
            .as_ref()
            .map(|g| g.span())
            .unwrap_or(self.exp.span.clone());
        b.push(
            Diagnostic::new(
                format!("experiment {} would expand to {upper} jobs; a sweep file may have at most {MAX_JOBS} in all", self.exp.name),
                Some(span),
            )
            .key(format!("{}grid", self.prefix))
            .help("shrink the grid, zip axes that belong together, or split the study into several files"),
        );
        None
    }

    /// Every kept cell times every seed, resolved into jobs, and the number
    /// of cells excluded; `None` when any cell does not resolve.
    fn jobs(
        &self,
        b: &mut Builder,
        base: &Layered,
        grid: &Grid,
        seeds: &Seeds,
        cells: usize,
        errors_before: usize,
    ) -> Option<(Vec<Job>, usize)> {
        let mut jobs = Vec::new();
        let mut excluded = 0usize;
        for cell in 0..cells {
            let assign = grid.assignment(cell);
            if grid.is_excluded(&assign) {
                excluded += 1;
                continue;
            }
            let mut layered = base.clone();
            for (axis, &v) in grid.axes.iter().zip(&assign) {
                layered.apply(&axis.patches[v], &format!("{}grid.", self.prefix));
            }
            let labels = grid.labels(&assign);
            let give_up = errors_before + MAX_PROBLEMS;
            if !self.cell_jobs(b, &layered, &labels, seeds, &mut jobs, give_up) {
                return None;
            }
        }
        if b.diags.len() > errors_before {
            return None;
        }
        Some((jobs, excluded))
    }

    /// The jobs of one cell, one per seed; problems are reported once for
    /// all the cells they occur in. False once there are more than
    /// `give_up` problems in all.
    fn cell_jobs(
        &self,
        b: &mut Builder,
        layered: &Layered,
        labels: &[(String, String)],
        seeds: &Seeds,
        jobs: &mut Vec<Job>,
        give_up: usize,
    ) -> bool {
        let seed_list: Vec<Option<u64>> = if seeds.list.is_empty() {
            vec![None]
        } else {
            seeds.list.iter().map(|s| Some(*s)).collect()
        };
        for seed in seed_list {
            let mut l = layered.clone();
            if let Some(s) = seed {
                let mut patch = RawSection::default();
                let span = seeds.written.as_ref().map_or(0..0, |(v, _)| v.span());
                patch.seed = Some(Spanned::new(span, s as i64));
                l.apply(&patch, &format!("{}seeds.", self.prefix));
            }
            match resolve(&l, &b.sweep.library) {
                Ok(config) => {
                    let mut axes = labels.to_vec();
                    if !seeds.axis {
                        axes.push(("seed".to_string(), config.seed.to_string()));
                    }
                    jobs.push(Job::new(&self.exp.name, axes, config));
                }
                Err(ds) => {
                    self.cell_errors(b, labels, ds);
                    if b.diags.len() > give_up {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// A cell's problems, each noting the cell; the same problem in every
    /// cell is one problem.
    fn cell_errors(&self, b: &mut Builder, labels: &[(String, String)], ds: Vec<Diagnostic>) {
        let label = labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        for d in ds {
            if label.is_empty() {
                b.push(d);
            } else {
                b.push(d.note(format!("in the cell {}/{label}", self.exp.name)));
            }
        }
    }
}

/// The factors of the product: each lone axis, and each zipped group at
/// the place of its first axis.
fn factors_of(axes: &[Axis], zip_groups: &[Vec<usize>]) -> Vec<Factor> {
    let mut factors: Vec<Factor> = Vec::new();
    let mut seen_group = vec![false; zip_groups.len()];
    for (i, axis) in axes.iter().enumerate() {
        match zip_groups.iter().position(|g| g.contains(&i)) {
            None => factors.push(Factor {
                axes: vec![i],
                len: axis.values.len(),
            }),
            Some(g) if !seen_group[g] => {
                seen_group[g] = true;
                factors.push(Factor {
                    axes: zip_groups[g].clone(),
                    len: axis.values.len(),
                });
            }
            Some(_) => {}
        }
    }
    factors
}

/// The seeds `seeds = N` or `seeds = [...]` stands for; problems reported.
fn seed_list(b: &mut Builder, s: &Spanned<SeedsValue>, key: &str) -> Vec<u64> {
    let problem = |msg: String| Diagnostic::new(msg, Some(s.span())).key(key);
    match s.get_ref() {
        SeedsValue::Count(n) if *n < 1 || *n > 10_000 => {
            b.push(problem(format!(
                "seeds must be between 1 and 10000, got {n}"
            )));
            Vec::new()
        }
        SeedsValue::Count(n) => (0..*n as u64).collect(),
        SeedsValue::List(l) if l.is_empty() => {
            b.push(
                problem("seeds is an empty list".to_string())
                    .help("list at least one seed, or write a count: seeds = 3"),
            );
            Vec::new()
        }
        SeedsValue::List(l) => {
            let mut seeds = Vec::new();
            for (i, x) in l.iter().enumerate() {
                if *x < 0 {
                    b.push(problem(format!("seeds must not be negative, got {x}")));
                } else if l[..i].contains(x) {
                    b.push(problem(format!("seed {x} is listed twice")));
                } else {
                    seeds.push(*x as u64);
                }
            }
            seeds
        }
    }
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
    use crate::config::job::OptimizerConfig;
    use crate::data::DatasetKindConfig;

    fn plan(text: &str) -> Plan {
        let sweep = crate::config::parse("t.toml", "t", text).unwrap_or_else(|e| panic!("{e}"));
        Plan::new(&sweep).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn table_values_are_labelled_by_their_names_when_those_differ() {
        let p = plan(
            "[experiments.e]\n\
             grid.dataset = [{ name = 'two_moons', noise = 0.3 }, 'xor', { name = 'identity', samples = 50 }]\n\
             loss = 'mse'\n",
        );
        assert_eq!(
            p.experiments[0].axes[0].values,
            ["two_moons", "xor", "identity"]
        );
        // A dataset's `label` names it instead of its kind.
        let q = plan(
            "[experiments.e]\n\
             grid.dataset = [{ name = 'xor', noise = 0.3, label = 'wide' }, { name = 'xor', noise = 0.1 }]\n",
        );
        assert_eq!(q.experiments[0].axes[0].values, ["wide", "xor"]);
        assert_eq!(q.jobs[0].config.dataset.label(), "wide");
        let labels: Vec<&str> = p.jobs.iter().map(|j| j.label.as_str()).collect();
        assert!(labels[0].contains("dataset=two_moons"), "{labels:?}");
        // Two tables of one name keep their whole forms, which differ.
        let p = plan(
            "[experiments.e]\n\
             grid.optimizer = [{ name = 'sgd', lr = 0.1 }, { name = 'sgd', lr = 0.01 }]\n",
        );
        assert_eq!(
            p.experiments[0].axes[0].values,
            ["sgd(lr=0.1)", "sgd(lr=0.01)"]
        );
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
                "a/dataset=two_moons,optimizer.lr=0.5,activation.alpha=0.2,seed=0",
                "a/dataset=two_moons,optimizer.lr=0.05,activation.alpha=0.2,seed=0",
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
        assert!(matches!(&j.dataset.kind, DatasetKindConfig::TwoMoons(m) if m.noise == 0.3));
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
    fn only_knows_every_job_field_by_its_sweep_file_name() {
        let p = plan(
            "[experiments.a]\nactivation = 'leaky_relu(alpha=0.2)'\noutput_activation = 'elu'\n\
             dataset = { name = 'xor', samples = 100 }\ndepth = 2\nwidth = 4\n",
        );
        let j = &p.jobs[0];
        for f in crate::config::raw::JOB_FIELDS {
            assert!(
                j.field(f.name).is_some(),
                "--only {} matches nothing",
                f.name
            );
        }
        let short = |name: &str| j.field(name).unwrap_or_default();
        assert!(short("activation").contains(&j.config.activation.short()));
        assert!(short("output_activation").contains(&"elu(alpha=1)".to_string()));
        assert_eq!(j.field("activation.alpha"), Some(vec!["0.2".to_string()]));
        assert_eq!(j.field("width"), Some(vec!["4".to_string()]));
        assert_eq!(j.field("dataset"), Some(vec!["xor".to_string()]));
        assert_eq!(j.field("optimizer.lr"), Some(vec!["1e-3".to_string()]));
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

    #[test]
    fn estimate_counts_one_own_training_split_pass_for_full_batch_jobs() {
        let full = "[experiments.a]\ndataset = { name = 'xor', samples = 100 }\ndepth = 2\nwidth = 4\nepochs = 3\nbatch_size = 80\n";
        // Four evaluations; the test split (20) each time, the training
        // split (80) only in the last, which no step follows.
        assert_eq!(plan(full).estimate().eval_flops, 32.0 * (20.0 * 4.0 + 80.0));
        let dropout = full.replace("epochs = 3", "epochs = 3\ndropout = 0.1");
        assert_eq!(plan(&dropout).estimate().eval_flops, 32.0 * 100.0 * 4.0);
    }
}
