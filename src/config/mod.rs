//! The sweep file: reading, parsing and validating it.
//!
//! Configuration happens in two steps, so every failure has one obvious home:
//!
//! 1. [`raw`]: serde structs that mirror the TOML one to one and deny unknown
//!    keys. A typo or a wrong type stops here, with the key path from
//!    `serde_path_to_error` and the span from `toml`. The job fields and their
//!    tables' keys are declared once there; [`schema`] turns that declaration
//!    into the structs, the merge and the key lists.
//! 2. [`resolve`]: defaults, experiment settings and grid values are merged
//!    ([`resolve::Layered`]) and checked into a typed [`job::JobConfig`]. Range
//!    and name errors stop here. The grid itself is expanded by
//!    [`crate::plan`], which calls step two for every cell.
//!
//! Every message is a [`diag::Diagnostic`] naming the file, the key path, the
//! line and column, and usually a suggestion; the binary exits with code 2.

pub mod diag;
pub mod job;
pub mod raw;
pub mod resolve;
pub mod schema;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;

use crate::activation::{Definition, Library, Origin};
use crate::report::chart;
use diag::{did_you_mean, list, ConfigError, Diagnostic};
use raw::{RawActivation, RawChart, RawSection, RawSweep, RawTable};
pub use resolve::Layered;

/// A parsed sweep file whose structure is valid (grid values are checked by the plan).
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The file as the user named it.
    pub file: String,
    /// The file's text.
    pub text: Arc<str>,
    /// The sweep's name (results go to `results/<name>/`).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `[defaults]` as a merge layer.
    pub defaults: Layered,
    /// The experiments in file order.
    pub experiments: Vec<Experiment>,
    /// Built-in activations plus the file's.
    pub library: Library,
    /// Declared tables.
    pub tables: Vec<Spanned<RawTable>>,
    /// Declared charts.
    pub charts: Vec<Spanned<RawChart>>,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
}

/// One `[experiments.NAME]`.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Its name.
    pub name: String,
    /// Where its name is written.
    pub span: Range<usize>,
    /// Its settings, grid included.
    pub section: RawSection,
}

/// Reading or parsing a sweep file failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read sweep file {}", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid sweep file.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Reads and parses a sweep file.
pub fn load(path: &Path) -> Result<Sweep, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".to_string());
    Ok(parse(&path.display().to_string(), &stem, &text)?)
}

/// Parses a sweep file's text; `file` is used in messages, `stem` as the default name.
pub fn parse(file: &str, stem: &str, text: &str) -> Result<Sweep, ConfigError> {
    let shared: Arc<str> = Arc::from(text);
    let fail = |d: Diagnostic| ConfigError::single(file, shared.clone(), d);
    let raw: RawSweep = deserialize(text).map_err(fail)?;
    let mut diags = Vec::new();

    let name = sweep_name(&raw, stem, &mut diags);
    let defaults = defaults_layer(&raw, &mut diags);
    let experiments = experiments(&raw, &mut diags);
    let (library, warnings) = library(file, text, &raw, &mut diags);
    check_tables_and_charts(&raw, &experiments, &mut diags);

    if !diags.is_empty() {
        diags.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        return Err(ConfigError {
            file: file.to_string(),
            text: shared,
            diagnostics: diags,
        });
    }
    Ok(Sweep {
        file: file.to_string(),
        text: shared,
        name,
        description: raw.description,
        defaults,
        experiments,
        library,
        tables: raw.tables,
        charts: raw.charts,
        warnings,
    })
}

/// The sweep's name: `name`, which must be a valid directory name, or the file's stem.
fn sweep_name(raw: &RawSweep, stem: &str, diags: &mut Vec<Diagnostic>) -> String {
    let Some(n) = &raw.name else {
        return stem.to_string();
    };
    let v = n.get_ref();
    let valid = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !v.starts_with('.');
    if !valid {
        diags.push(
            Diagnostic::new(
                format!("sweep name `{v}` is not a valid directory name"),
                Some(n.span()),
            )
            .key("name")
            .help("use letters, digits, `-`, `_` and `.` only"),
        );
    }
    v.clone()
}

/// `[defaults]` as the first merge layer; the grid belongs in experiments.
fn defaults_layer(raw: &RawSweep, diags: &mut Vec<Diagnostic>) -> Layered {
    let mut defaults = Layered::default();
    let Some(d) = &raw.defaults else {
        return defaults;
    };
    for (key, span) in d.get_ref().section_keys() {
        let Some(span) = span else { continue };
        if key != "seeds" && key != "description" {
            diags.push(
                Diagnostic::new(
                    format!("`{key}` belongs in an experiment, not in [defaults]"),
                    Some(span),
                )
                .key(format!("defaults.{key}"))
                .help("move it to an [experiments.NAME] section"),
            );
        }
    }
    defaults.apply(d.get_ref(), "defaults.");
    defaults
}

/// The experiments in file order; at least one, each with a valid name.
fn experiments(raw: &RawSweep, diags: &mut Vec<Diagnostic>) -> Vec<Experiment> {
    let none = |span: Option<Range<usize>>| {
        let key = if span.is_some() { "experiments" } else { "" };
        Diagnostic::new("the sweep file has no experiments", span)
            .key(key)
            .help("add at least one section like [experiments.main] (it may be empty)")
    };
    let exps = match &raw.experiments {
        None => {
            diags.push(none(None));
            return Vec::new();
        }
        Some(exps) if exps.get_ref().is_empty() => {
            diags.push(none(Some(exps.span())));
            return Vec::new();
        }
        Some(exps) => exps.get_ref(),
    };
    let mut experiments = Vec::new();
    for (n, v) in exps {
        let valid = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        if !valid {
            diags.push(
                Diagnostic::new(
                    format!("experiment name `{n}` may only use letters, digits, `-` and `_`"),
                    Some(v.span()),
                )
                .key(format!("experiments.{n}")),
            );
        }
        experiments.push(Experiment {
            name: n.clone(),
            span: v.span(),
            section: v.get_ref().clone(),
        });
    }
    experiments.sort_by_key(|e| e.span.start);
    experiments
}

/// The built-in library plus the file's activations (in file order), each
/// checked; warns about overridden built-ins.
fn library(
    file: &str,
    text: &str,
    raw: &RawSweep,
    diags: &mut Vec<Diagnostic>,
) -> (Library, Vec<String>) {
    let mut library = Library::builtin();
    let mut warnings = Vec::new();
    let mut user: Vec<_> = raw.activations.iter().collect();
    user.sort_by_key(|(_, v)| v.span().start);
    for (name, v) in user {
        let def = user_activation(name, v, text, diags);
        if let Some(old) = library.insert(def) {
            if old.origin == Origin::Builtin {
                warnings.push(format!(
                    "{file}: [activations.{name}] overrides the built-in activation {name}"
                ));
            }
        }
    }
    (library, warnings)
}

/// One `[activations.NAME]` as a definition, with its problems reported.
fn user_activation(
    name: &str,
    v: &Spanned<RawActivation>,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Definition {
    let a = v.get_ref();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        diags.push(
            Diagnostic::new(
                format!("activation name `{name}` may only use letters, digits and `_`"),
                Some(v.span()),
            )
            .key(format!("activations.{name}")),
        );
    }
    let learnable_ok = check_learnable(name, a, diags);
    let def = Definition {
        name: name.to_string(),
        formula: a.formula.get_ref().clone(),
        params: a.params.iter().map(|(k, v)| (k.clone(), v.0)).collect(),
        learnable: a.learnable.iter().map(|l| l.get_ref().clone()).collect(),
        derivative: a.derivative.as_ref().map(|d| d.get_ref().clone()),
        description: a.description.clone(),
        reference: a.reference.clone(),
        allow_nonfinite: a.allow_nonfinite,
        origin: Origin::User,
    };
    if learnable_ok {
        if let Err(e) = crate::activation::check_definition(&def) {
            let (key, source) = match &a.derivative {
                Some(d) if e.in_derivative => ("derivative", d),
                _ => ("formula", &a.formula),
            };
            diags.push(formula_diagnostic(name, key, source, text, e));
        }
    }
    def
}

/// Whether every `learnable` entry is a declared parameter (each that is
/// not is reported).
fn check_learnable(name: &str, a: &RawActivation, diags: &mut Vec<Diagnostic>) -> bool {
    let params: Vec<&str> = a.params.keys().map(String::as_str).collect();
    let mut ok = true;
    for l in a
        .learnable
        .iter()
        .filter(|l| !a.params.contains_key(l.get_ref()))
    {
        ok = false;
        let d = Diagnostic::new(
            format!(
                "learnable `{}` is not a parameter of activation {name}",
                l.get_ref()
            ),
            Some(l.span()),
        )
        .key(format!("activations.{name}.learnable"))
        .help_opt(did_you_mean(l.get_ref(), params.iter().copied()));
        diags.push(if params.is_empty() {
            d.note(format!(
                "declare it with params = {{ {} = 0.25 }}",
                l.get_ref()
            ))
        } else {
            d.note(format!(
                "parameters of {name}: {}",
                list(params.iter().copied())
            ))
        });
    }
    ok
}

/// Tables and charts name existing experiments, charts a known kind.
fn check_tables_and_charts(
    raw: &RawSweep,
    experiments: &[Experiment],
    diags: &mut Vec<Diagnostic>,
) {
    let names: Vec<&str> = experiments.iter().map(|e| e.name.as_str()).collect();
    for (i, t) in raw.tables.iter().enumerate() {
        let key = format!("tables[{i}].experiment");
        check_experiment_ref(diags, &names, &t.get_ref().experiment, key);
    }
    // The chart kinds, as the report lists them (one file each).
    let kinds = || chart::KINDS.iter().map(|k| k.name());
    for (i, c) in raw.charts.iter().enumerate() {
        let ch = c.get_ref();
        let kind = ch.kind.get_ref().as_str();
        let known = chart::kind(kind);
        if known.is_none() {
            diags.push(
                Diagnostic::new(format!("unknown chart kind `{kind}`"), Some(ch.kind.span()))
                    .key(format!("charts[{i}].kind"))
                    .help_opt(did_you_mean(kind, kinds()))
                    .note(format!("known chart kinds: {}", list(kinds()))),
            );
        }
        match &ch.experiment {
            Some(e) => check_experiment_ref(diags, &names, e, format!("charts[{i}].experiment")),
            None if known.is_none_or(|k| k.keys().experiment) => diags.push(
                Diagnostic::new(
                    format!("a `{kind}` chart needs `experiment = \"NAME\"`"),
                    Some(c.span()),
                )
                .key(format!("charts[{i}]")),
            ),
            None => {}
        }
    }
}

/// Reports `e` (at `key`) unless it names one of the experiments.
fn check_experiment_ref(
    diags: &mut Vec<Diagnostic>,
    names: &[&str],
    e: &Spanned<String>,
    key: String,
) {
    if names.contains(&e.get_ref().as_str()) {
        return;
    }
    diags.push(
        Diagnostic::new(
            format!("no experiment named `{}`", e.get_ref()),
            Some(e.span()),
        )
        .key(key)
        .help_opt(did_you_mean(e.get_ref(), names.iter().copied()))
        .note(format!(
            "experiments in this file: {}",
            list(names.iter().copied())
        )),
    );
}

/// A formula problem as a diagnostic: the formula-relative span is mapped into
/// the file when the TOML string is a single-line string without escapes
/// (its text then starts one byte after the opening quote); otherwise the
/// whole value is underlined.
fn formula_diagnostic(
    name: &str,
    key: &str,
    formula: &Spanned<String>,
    text: &str,
    e: crate::activation::FormulaError,
) -> Diagnostic {
    let value = formula.span();
    let raw = text.get(value.clone()).unwrap_or("");
    let plain = !raw.starts_with("\"\"\"")
        && !raw.starts_with("'''")
        && !raw.contains('\n')
        && (raw.starts_with('\'') || (raw.starts_with('"') && !raw.contains('\\')));
    let span = if plain && e.span.end <= formula.get_ref().len() {
        let base = value.start + 1;
        base + e.span.start..base + e.span.end
    } else {
        value
    };
    Diagnostic::new(format!("activation {name}: {}", e.message), Some(span))
        .key(format!("activations.{name}.{key}"))
        .help_opt(e.help)
}

/// Deserializes `text` as `T`, turning the first error into a diagnostic.
pub fn deserialize<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Diagnostic> {
    let de = toml::Deserializer::parse(text)
        .map_err(|e| toml_diagnostic(&e, String::new(), Some(text)))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = clean_path(&e.path().to_string());
        toml_diagnostic(e.inner(), path, Some(text))
    })
}

/// Drops serde-internal path segments (toml's span wrappers).
fn clean_path(path: &str) -> String {
    path.split('.')
        .filter(|seg| !seg.starts_with("$__") && !seg.is_empty() && *seg != "?")
        .collect::<Vec<_>>()
        .join(".")
}

/// Turns a toml/serde error into a diagnostic with a suggestion where it helps.
pub fn toml_diagnostic(e: &toml::de::Error, path: String, source: Option<&str>) -> Diagnostic {
    let msg = e.message().trim().to_string();
    let span = e.span();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((key, tail)) = rest.split_once('`') {
            let valid: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let parent = path
                .strip_suffix(key)
                .map(|p| p.trim_end_matches('.'))
                .unwrap_or(&path);
            let where_ = if parent.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{parent}`")
            };
            let full = if parent.is_empty() {
                key.to_string()
            } else {
                format!("{parent}.{key}")
            };
            let mut d = Diagnostic::new(format!("unknown key `{key}` {where_}"), span)
                .key(full)
                .help_opt(did_you_mean(key, valid.iter().copied()));
            if !valid.is_empty() {
                d = d.note(format!("valid keys: {}", list(valid.iter().copied())));
            }
            return d;
        }
    }
    if msg.starts_with("duplicate key") {
        if let (Some(text), Some(r)) = (source, span.clone()) {
            let key = text
                .get(r.clone())
                .unwrap_or("")
                .trim_matches(|c| c == '"' || c == '\'');
            let line_start = text[..r.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line = text[line_start..].lines().next().unwrap_or("").trim_start();
            if line.starts_with("[experiments.") {
                return Diagnostic::new(format!("experiment `{key}` is defined twice"), span)
                    .key(format!("experiments.{key}"))
                    .help("give each experiment its own name, or merge the two sections");
            }
            return Diagnostic::new(format!("key `{key}` is written twice"), span)
                .key(path)
                .help("keep one of the two");
        }
    }
    if let Some(n) = integer_overflow(&msg) {
        let d = Diagnostic::new(out_of_integer_range(n), span).key(path);
        return if msg.ends_with("expected a number") || msg.ends_with("expected f64") {
            d.help(format!("write `{n}.0` for a floating-point number"))
        } else {
            d
        };
    }
    let msg = humanize(&msg);
    Diagnostic::new(msg, span).key(path)
}

/// The digits of an integer literal that does not fit in 64 bits: TOML
/// integers are 64-bit, and serde reports a bigger one as `invalid type:
/// integer `N` as i128, expected ...`.
fn integer_overflow(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("invalid type: integer `")?;
    let (n, tail) = rest.split_once('`')?;
    tail.starts_with(" as i128").then_some(n)
}

/// `N is too large ...` (or too small, for a negative N).
fn out_of_integer_range(n: &str) -> String {
    if n.starts_with('-') {
        format!(
            "the number {n} is too small: integers go down to {}",
            i64::MIN
        )
    } else {
        format!(
            "the number {n} is too large: integers go up to {}",
            i64::MAX
        )
    }
}

/// Rewrites serde's type names into words.
pub(crate) fn humanize(msg: &str) -> String {
    let mut m = msg
        .replace("i64", "an integer")
        .replace("u64", "an integer")
        .replace("f64", "a number");
    m = m.replace("expected a boolean", "expected true or false");
    if let Some(first) = m.lines().next() {
        if m.lines().count() > 1 && first.len() > 10 {
            return m.lines().collect::<Vec<_>>().join("; ");
        }
    }
    m
}

/// Parses one grid value (written at `span` of `text`) as the job field `field`
/// (`depth`, `optimizer.lr`, ...), keeping spans relative to `text`.
pub fn parse_field_value(
    text: &str,
    span: Range<usize>,
    field: &str,
) -> Result<RawSection, Diagnostic> {
    let value = text.get(span.clone()).unwrap_or("");
    let prefix = format!("{field} = ");
    let doc = if span.start >= prefix.len() {
        // Pad so that byte offsets in the synthetic document equal those in the file.
        let mut doc = " ".repeat(span.start - prefix.len());
        doc.push_str(&prefix);
        doc.push_str(value);
        doc
    } else {
        format!("{prefix}{value}")
    };
    let shift = |r: Option<Range<usize>>| -> Option<Range<usize>> {
        if span.start >= prefix.len() {
            r.map(|r| r.start.max(span.start)..r.end.max(span.start))
        } else {
            Some(span.clone())
        }
    };
    deserialize::<RawSection>(&doc).map_err(|mut d| {
        d.span = shift(d.span.clone()).or(Some(span.clone()));
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_gets_a_suggestion_and_location() {
        let text = "name = 'x'\n[defaults]\ndpeth = 3\n[experiments.a]\n";
        let e = parse("f.toml", "f", text).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(d.message, "unknown key `dpeth` in `defaults`");
        assert_eq!(d.key.as_deref(), Some("defaults.dpeth"));
        assert_eq!(d.help.as_deref(), Some("did you mean `depth`?"));
        assert_eq!(diag::line_col(text, d.span.clone().unwrap().start), (3, 1));
    }

    #[test]
    fn integers_beyond_64_bits_are_too_large() {
        // Regression: this said "invalid type: integer ... as i128".
        let text = "[experiments.a]\ndepth = 99999999999999999999\n";
        let e = parse("f.toml", "f", text).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(
            d.message,
            "the number 99999999999999999999 is too large: integers go up to 9223372036854775807"
        );
        assert_eq!(d.key.as_deref(), Some("experiments.a.depth"));
        assert_eq!(diag::line_col(text, d.span.clone().unwrap().start), (2, 9));
    }

    #[test]
    fn experiments_keep_file_order() {
        let s = parse("f.toml", "f", "[experiments.zeta]\n[experiments.alpha]\n").unwrap();
        let names: Vec<_> = s.experiments.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        assert_eq!(s.name, "f");
    }

    #[test]
    fn grid_values_parse_with_file_spans() {
        let text = "x = [1, 'two']";
        let ok = parse_field_value(text, 5..6, "depth").unwrap();
        assert_eq!(*ok.depth.unwrap().get_ref(), 1);
        let err = parse_field_value(text, 8..13, "depth").unwrap_err();
        assert_eq!(err.span, Some(8..13));
    }

    #[test]
    fn formula_errors_point_into_the_formula() {
        let text = "[activations.mine]\nformula = 'x * sigmod(x)'\n[experiments.a]\n";
        let e = parse("f.toml", "f", text).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(d.message, "activation mine: unknown function `sigmod`");
        assert_eq!(d.key.as_deref(), Some("activations.mine.formula"));
        assert_eq!(d.help.as_deref(), Some("did you mean `sigmoid`?"));
        assert_eq!(&text[d.span.clone().unwrap()], "sigmod");
        let text = "[activations.mine]\nformula = \"\"\"\nx ^ \"\"\"\n[experiments.a]\n";
        let e = parse("f.toml", "f", text).unwrap_err();
        assert!(text[e.diagnostics[0].span.clone().unwrap()].starts_with("\"\"\""));
    }

    #[test]
    fn user_activation_overrides_warn() {
        let s = parse(
            "f.toml",
            "f",
            "[activations.relu]\nformula = 'max(x, 0)'\n[experiments.a]\n",
        )
        .unwrap();
        assert_eq!(s.warnings.len(), 1);
    }
}
