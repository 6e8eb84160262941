//! Activations as data: the library of named formulas.
//!
//! Every activation, the built-in ones included, is a formula in `x` and named
//! parameters. The built-in library is `builtins.toml`, compiled into the
//! binary; a sweep file adds or overrides entries with `[activations.NAME]`.
//! Both go through the same code path, so a user's activation is as much a
//! first-class citizen as `relu`.
//!
//! This module owns the library (names, formulas, parameters, descriptions).
//! The formula language, exact derivatives and the fused dfdx op build on it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

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
    /// One-line description.
    pub description: String,
    /// Where it comes from.
    pub reference: String,
    /// NaN or infinity on the probe range is intended.
    pub allow_nonfinite: bool,
    /// Built in, or from a sweep file.
    pub origin: Origin,
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
}
