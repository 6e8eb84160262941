//! Activations as data: the library of named formulas.
//!
//! Every activation, the built-in ones included, is a formula in `x` and named
//! parameters. The built-in library is `builtins.toml`, compiled into the
//! binary; a sweep file adds or overrides entries with `[activations.NAME]`.
//! Both go through the same code path, so a user's activation is as much a
//! first-class citizen as `relu`.
//!
//! This module owns the library (names, formulas, parameters, descriptions),
//! [`ActivationConfig`] (an activation as a job uses it: the formula and
//! every parameter's value), and [`check_definition`], which every definition
//! passes before any training. The formula language ([`formula`]), the compiled slice kernels
//! ([`Compiled`]), the fused dfdx op ([`op`]), the CUDA source of the same
//! kernels ([`cuda`]), the plots ([`plot`]) and the tables of values
//! ([`values`]) build on it.
//!
//! It depends on nothing of the sweep file: [`crate::config`] takes the
//! library and the checks from here, never the other way round, so the
//! activation code can be used (and tested) without a sweep file.

pub mod compiled;
pub mod cuda;
pub mod formula;
pub mod op;
pub mod plot;
pub mod values;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use compiled::Compiled;
pub use formula::FormulaError;

use crate::text::fmt_num;

/// A resolved activation: the formula and every parameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationConfig {
    /// Library name (`relu`, `leaky_relu`, a user name).
    pub name: String,
    /// The formula in `x` and the parameters.
    pub formula: String,
    /// Every parameter with its value (defaults filled in).
    pub params: BTreeMap<String, f64>,
    /// Parameters learned per unit.
    pub learnable: Vec<String>,
    /// d/dx as a formula, used instead of the symbolic derivative of
    /// `formula` (a form that keeps its digits where the symbolic one
    /// cancels); `None` differentiates `formula`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivative: Option<String>,
}

impl ActivationConfig {
    /// `name` or `name(k=v, ...)` listing the parameters.
    pub fn short(&self) -> String {
        if self.params.is_empty() {
            return self.name.clone();
        }
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
            .collect();
        format!("{}({})", self.name, ps.join(","))
    }
}

/// The range of inputs [`check_definition`] probes: what a network can feed an activation.
pub const PROBE_RANGE: (f32, f32) = (-20.0, 20.0);

/// Names a parameter may not take: the input, the constants and the functions.
fn reserved(name: &str) -> bool {
    matches!(name, "x" | "pi" | "e") || formula::parse::FUNCTIONS.iter().any(|(f, _)| *f == name)
}

/// Checks a definition before any training: parses the formula, resolves
/// every name (`x`, `pi`, `e`, parameters, functions and their arity),
/// differentiates it, and probes [`PROBE_RANGE`] with the default parameter
/// values for NaN or infinity in the value or any derivative, unless the
/// definition declares `allow_nonfinite`.
pub fn check_definition(def: &Definition) -> Result<(), FormulaError> {
    let whole = 0..def.formula.len();
    for p in def.params.keys() {
        if reserved(p) {
            return Err(FormulaError::new(
                format!(
                    "parameter `{p}` has the name of {}",
                    if p == "x" {
                        "the input"
                    } else {
                        "a built-in name"
                    }
                ),
                whole,
            )
            .help(Some("rename the parameter".into())));
        }
    }
    let cfg = def.config();
    check_derivative(&cfg)?;
    if def.allow_nonfinite {
        return Compiled::new(&cfg).map(|_| ());
    }
    check_config(&cfg)
}

/// How far a given `derivative` may stray from the symbolic derivative of
/// the formula: [`DERIVATIVE_TOLERANCE`] of the symbolic value plus
/// [`DERIVATIVE_TOLERANCE`] / 100 of its largest magnitude on the grid (at
/// least 1), so a wrong formula fails while rounding (large only where the
/// symbolic form cancels, as near a zero of the derivative) passes.
pub const DERIVATIVE_TOLERANCE: f64 = 1e-4;

/// Checks a configuration's hand-written `derivative`, if it has one: it
/// must be the derivative of the formula. Both are evaluated by the kernels
/// on the probe grid of [`PROBE_RANGE`] (learnable parameters at their
/// initial values); the point where they differ most beyond what
/// [`DERIVATIVE_TOLERANCE`] allows is the error, located in the derivative.
pub fn check_derivative(cfg: &ActivationConfig) -> Result<(), FormulaError> {
    if cfg.derivative.is_none() {
        return Ok(());
    }
    let given = Compiled::new(cfg)?;
    let symbolic = Compiled::new(&ActivationConfig {
        derivative: None,
        ..cfg.clone()
    })?;
    let xs = probe_grid();
    let (_, want, _) = evaluate_at(&symbolic, &xs);
    let (_, got, _) = evaluate_at(&given, &xs);
    let scale = want
        .iter()
        .map(|w| f64::from(*w).abs())
        .filter(|w| w.is_finite())
        .fold(1.0, f64::max);
    // How many times the allowed difference each point is off; the worst
    // point is the one reported.
    let excess = |g: f32, w: f32| {
        let (g, w) = (f64::from(g), f64::from(w));
        if w.is_finite() {
            (g - w).abs() / (DERIVATIVE_TOLERANCE * (w.abs() + scale / 100.0))
        } else if g == w || (g.is_nan() && w.is_nan()) {
            0.0
        } else {
            f64::INFINITY
        }
    };
    let bad = xs
        .iter()
        .zip(got.iter().zip(&want))
        .map(|(x, (g, w))| (excess(*g, *w), (x, (g, w))))
        .filter(|(e, _)| e.is_nan() || *e > 1.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, point)| point);
    match bad {
        None => Ok(()),
        Some((x, (g, w))) => Err(FormulaError::new(
            format!(
                "the derivative is not d/dx of the formula: at x = {x} it gives {g}, the formula's derivative is {w}"
            ),
            0..cfg.derivative.as_deref().map_or(0, str::len),
        )
        .help(Some("fix the derivative, or leave it out to differentiate the formula".into()))
        .in_derivative()),
    }
}

/// 4001 points: every 0.01 of [`PROBE_RANGE`], the integers and 0 included.
fn probe_grid() -> Vec<f32> {
    let n = 4001;
    let (lo, hi) = PROBE_RANGE;
    (0..n)
        .map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32)
        .collect()
}

/// The value, d/dx and d/dparameter of `c` at `xs`, with the learnable
/// parameters at their initial values.
fn evaluate_at(c: &Compiled, xs: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
    let n = xs.len();
    let init = c.initial_params().to_vec();
    let pv: Vec<Vec<f32>> = init.iter().map(|&v| vec![v]).collect();
    let ps: Vec<&[f32]> = pv.iter().map(Vec::as_slice).collect();
    let mut out = vec![0.0; n];
    let mut dx = vec![0.0; n];
    let mut dps: Vec<Vec<f32>> = init.iter().map(|_| vec![0.0; n]).collect();
    let mut dpm: Vec<&mut [f32]> = dps.iter_mut().map(Vec::as_mut_slice).collect();
    c.forward_grad_units(xs, &ps, &mut out, &mut dx, &mut dpm);
    (out, dx, dps)
}

/// Compiles a resolved activation (parameter values as a job sets them) and
/// probes [`PROBE_RANGE`] for NaN or infinity in its value and derivatives,
/// with the learnable parameters at their initial values. The plan can call
/// this for parameter overrides such as `softplus(beta=0)`.
pub fn check_config(cfg: &ActivationConfig) -> Result<(), FormulaError> {
    let whole = 0..cfg.formula.len();
    let c = Compiled::new(cfg)?;
    let (lo, hi) = PROBE_RANGE;
    let xs = probe_grid();
    let (out, dx, dps) = evaluate_at(&c, &xs);
    let mut what: Vec<(String, &[f32])> = vec![
        ("its value".into(), out.as_slice()),
        ("its derivative d/dx".into(), dx.as_slice()),
    ];
    for (l, d) in cfg.learnable.iter().zip(&dps) {
        what.push((format!("its derivative d/d{l}"), d.as_slice()));
    }
    for (label, vals) in what {
        if let Some((x, v)) = xs.iter().zip(vals).find(|(_, v)| !v.is_finite()) {
            let kind = if v.is_nan() { "NaN" } else { "infinite" };
            return Err(FormulaError::new(
                format!("{label} is {kind} at x = {x} (probing [{lo}, {hi}] with the parameters' values)"),
                whole,
            )
            .help(Some("fix the formula, or set allow_nonfinite = true if this is intended".into())));
        }
    }
    Ok(())
}

/// The built-in library's source, compiled in.
pub const BUILTINS_TOML: &str = include_str!("builtins.toml");

/// One named activation.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Its name in the library.
    pub name: String,
    /// The formula in `x` and the parameters.
    pub formula: String,
    /// Parameters and their default values.
    pub params: BTreeMap<String, f64>,
    /// Parameters learned per unit.
    pub learnable: Vec<String>,
    /// d/dx written by hand (see [`ActivationConfig::derivative`]).
    pub derivative: Option<String>,
    /// One-line description.
    pub description: String,
    /// Where it comes from.
    pub reference: String,
    /// NaN or infinity on the probe range is intended.
    pub allow_nonfinite: bool,
    /// Built in, or from a sweep file.
    pub origin: Origin,
}

impl Definition {
    /// The definition as a job uses it with every parameter at its default.
    pub fn config(&self) -> ActivationConfig {
        ActivationConfig {
            name: self.name.clone(),
            formula: self.formula.clone(),
            params: self.params.clone(),
            learnable: self.learnable.clone(),
            derivative: self.derivative.clone(),
        }
    }
}

/// Where a definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `builtins.toml`.
    Builtin,
    /// A sweep file's `[activations.NAME]`.
    User,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryEntry {
    formula: String,
    #[serde(default)]
    params: BTreeMap<String, f64>,
    #[serde(default)]
    learnable: Vec<String>,
    derivative: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    allow_nonfinite: bool,
}

/// A set of named activations.
#[derive(Debug, Clone, Default)]
pub struct Library {
    defs: BTreeMap<String, Definition>,
}

impl Library {
    /// The built-in library.
    pub fn builtin() -> Library {
        static LIB: OnceLock<Library> = OnceLock::new();
        LIB.get_or_init(|| {
            let entries: BTreeMap<String, LibraryEntry> = match toml::from_str(BUILTINS_TOML) {
                Ok(e) => e,
                // The file is part of the binary and covered by tests.
                Err(e) => panic!("builtins.toml is invalid: {e}"),
            };
            let defs = entries
                .into_iter()
                .map(|(name, e)| {
                    let def = Definition {
                        name: name.clone(),
                        formula: e.formula,
                        params: e.params,
                        learnable: e.learnable,
                        derivative: e.derivative,
                        description: e.description,
                        reference: e.reference,
                        allow_nonfinite: e.allow_nonfinite,
                        origin: Origin::Builtin,
                    };
                    (name, def)
                })
                .collect();
            Library { defs }
        })
        .clone()
    }

    /// Looks a name up.
    pub fn get(&self, name: &str) -> Option<&Definition> {
        self.defs.get(name)
    }

    /// Every name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.keys().map(String::as_str)
    }

    /// Every definition, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Definition> {
        self.defs.values()
    }

    /// Adds a definition; returns the one it replaced, if any.
    pub fn insert(&mut self, def: Definition) -> Option<Definition> {
        self.defs.insert(def.name.clone(), def)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_library_has_the_required_entries() {
        let lib = Library::builtin();
        for name in [
            "linear",
            "relu",
            "leaky_relu",
            "prelu",
            "elu",
            "selu",
            "gelu",
            "gelu_tanh",
            "silu",
            "swish",
            "mish",
            "sigmoid",
            "tanh",
            "hard_tanh",
            "softsign",
            "arctan",
            "softplus",
            "relu6",
        ] {
            let def = lib.get(name).unwrap_or_else(|| panic!("missing {name}"));
            assert!(!def.description.is_empty(), "{name} has no description");
            assert!(!def.reference.is_empty(), "{name} has no reference");
        }
        assert_eq!(lib.get("prelu").unwrap().learnable, vec!["a".to_string()]);
    }

    #[test]
    fn every_builtin_passes_check_definition() {
        for def in Library::builtin().iter() {
            if let Err(e) = check_definition(def) {
                panic!("{}: {e} at {:?}", def.name, e.span);
            }
        }
    }

    fn user(formula: &str, params: &[(&str, f64)]) -> Definition {
        Definition {
            name: "u".into(),
            formula: formula.into(),
            params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            learnable: Vec::new(),
            derivative: None,
            description: String::new(),
            reference: String::new(),
            allow_nonfinite: false,
            origin: Origin::User,
        }
    }

    #[test]
    fn check_definition_probes_for_nonfinite_values() {
        let e = check_definition(&user("1 / x", &[])).unwrap_err();
        assert_eq!(
            e.message,
            "its value is infinite at x = 0 (probing [-20, 20] with the parameters' values)"
        );
        let e = check_definition(&user("sqrt(abs(x))", &[])).unwrap_err();
        assert!(
            e.message
                .starts_with("its derivative d/dx is NaN at x = 0 "),
            "{}",
            e.message
        );
        let e = check_definition(&user("x / k", &[("k", 0.0)])).unwrap_err();
        assert!(e.message.contains("infinite at x = -20 "), "{}", e.message);
        let mut ok = user("1 / x", &[]);
        ok.allow_nonfinite = true;
        assert!(check_definition(&ok).is_ok());
    }

    #[test]
    fn a_given_derivative_is_checked_against_the_formula() {
        let mut def = user("x * sigmoid(x)", &[]);
        def.derivative = Some("sigmoid(x) * (1 + x * sigmoid(-x))".into());
        assert_eq!(check_definition(&def), Ok(()));

        def.derivative = Some("sigmoid(x)".into());
        let e = check_definition(&def).unwrap_err();
        assert!(e.in_derivative, "{e:?}");
        assert!(
            e.message
                .starts_with("the derivative is not d/dx of the formula: at x = -"),
            "{}",
            e.message
        );

        def.derivative = Some("sigmoid(x) * (1 + y)".into());
        let e = check_definition(&def).unwrap_err();
        assert!(e.in_derivative, "{e:?}");
        assert_eq!(&def.derivative.as_deref().unwrap()[e.span.clone()], "y");
    }

    #[test]
    fn a_given_derivative_is_what_the_kernels_compute() {
        // Within the tolerance of the symbolic 2x, but not equal to it.
        let mut def = user("x^2", &[]);
        def.derivative = Some("2 * x + 1e-5".into());
        assert_eq!(check_definition(&def), Ok(()));
        let c = Compiled::new(&def.config()).unwrap();
        let (mut f, mut d) = (vec![0.0; 3], vec![0.0; 3]);
        c.forward_grad(&[-1.0, 0.0, 3.0], &mut f, &mut d);
        assert_eq!(f, [1.0, 0.0, 9.0]);
        assert_eq!(d, [-2.0 + 1e-5, 1e-5, 6.0 + 1e-5]);
        // A formula error is never reported as one in the derivative.
        def.formula = "x^".into();
        assert!(!check_definition(&def).unwrap_err().in_derivative);
    }

    #[test]
    fn check_definition_rejects_reserved_parameter_names() {
        let e = check_definition(&user("x * pi", &[("pi", 3.0)])).unwrap_err();
        assert!(e.message.contains("`pi`"), "{}", e.message);
    }
}
