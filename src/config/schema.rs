//! The machinery behind the one declaration of the sweep file's job fields.
//!
//! Every job field (`depth`, `optimizer`, ...) and every key of a
//! table-valued field (`dataset.noise`, `optimizer.lr`, ...) is declared once:
//! the job fields and the loss and optimizer keys in [`crate::config::raw`],
//! with `declare_section!` and `declare_table!`, and each dataset kind's keys
//! in the kind's own file with [`table_key!`] (see [`crate::data::kind`]):
//! its name, its doc comment with its default, and an example value.
//! Everything else is generated from that declaration or checked against it:
//!
//! - the serde structs ([`RawSection`](super::raw::RawSection),
//!   [`OptimizerFields`](super::raw::OptimizerFields), ...) with their doc comments;
//! - the layer merge ([`RawSection::merge_job_fields`](super::raw::RawSection::merge_job_fields),
//!   used by [`Layered`](super::resolve::Layered)), table-valued fields
//!   merging key by key through [`FieldValue`];
//! - the key lists: [`JOB_FIELDS`](super::raw::JOB_FIELDS) (grid axes, `--only`
//!   names and their resolved keys), the table-valued fields with their keys,
//!   and which keys apply to which dataset or optimizer ([`TableSchema::keys_for`]);
//! - tests: every declared key is resolved (its example changes the job),
//!   documents its default, and appears in the sweep-file reference (docs/reference.md).
//!
//! Adding a *job field* or a key of one of its tables is therefore one entry
//! in `raw.rs` plus the line in [`crate::config::resolve`] that checks its
//! value; a key that is declared but not resolved fails
//! `every_declared_job_field_changes_the_resolved_job`.
//!
//! The report's `[[tables]]` and `[[charts]]` keys are not job fields and do
//! not go through this machinery: they are plain serde fields of
//! [`RawTable`](super::raw::RawTable) and [`RawChart`](super::raw::RawChart)
//! (with their doc comments), read once, right after the plan, by the
//! report's spec resolution ([`crate::report::ReportSpecs::resolve`]).
//! Adding one of those is a field there plus its handling in
//! [`crate::report`] (a chart key: in its chart kind's file).

use std::ops::Range;

use toml::Spanned;

/// One job field as declared: settable in `[defaults]`, in an experiment,
/// and as a grid axis.
#[derive(Debug, Clone, Copy)]
pub struct JobField {
    /// Its key in the sweep file.
    pub name: &'static str,
    /// Its doc comment (with its default).
    pub doc: &'static str,
    /// The key of its resolved value in
    /// [`JobConfig::flat`](super::job::JobConfig::flat), for plain fields:
    /// `widths` for `width`, else the field's own name.
    pub flat: &'static str,
    /// A value different from the default, as TOML (checked by a test).
    pub example: &'static str,
    /// Whether its value is a table, and with which keys.
    pub keys: Keys,
}

impl JobField {
    /// The key of the resolved value in `JobConfig::flat`: the name of a
    /// table-valued field (`dataset.name`), else [`JobField::flat`].
    pub fn resolved_key(&self) -> String {
        match self.keys {
            Keys::Plain => self.flat.to_string(),
            Keys::Table(_) | Keys::Params => format!("{}.name", self.name),
        }
    }

    /// Whether `grid.FIELD.KEY` may make one of its keys an axis.
    pub fn is_table(&self) -> bool {
        !matches!(self.keys, Keys::Plain)
    }
}

/// What the keys of a field's value are.
#[derive(Debug, Clone, Copy)]
pub enum Keys {
    /// A plain value (a number, a name, a list).
    Plain,
    /// A name or a table with these declared keys (`dataset`, `loss`, `optimizer`).
    Table(&'static TableSchema),
    /// A name or a table whose keys are the named activation's parameters.
    Params,
}

/// The declared keys of a table-valued field.
///
/// The loss and optimizer tables declare all their keys in one list
/// (`declare_table!`, each key with the tables it applies to); a dataset kind
/// declares the keys it takes in its own file ([`table_key!`], listed by
/// [`crate::data::kind::DatasetKind::KEYS`]). Either way, the keys of the
/// table named `name` are [`TableSchema::keys_of`]'s.
#[derive(Debug)]
pub struct TableSchema {
    /// The names the table's `name` key may take (`mnist`, `xor`, ...).
    pub names: &'static [&'static str],
    /// The keys of the table named `name`, `name` first, in declaration
    /// order (none for a name not in [`TableSchema::names`]).
    pub keys_of: fn(&str) -> Vec<&'static TableKey>,
}

impl TableSchema {
    /// The names of the keys that apply to the table named `name`, in declaration order.
    pub fn keys_for(&self, name: &str) -> Vec<&'static str> {
        (self.keys_of)(name).iter().map(|k| k.name).collect()
    }

    /// Every key of every table, each name once (at its first declaration),
    /// in the tables' order.
    pub fn all_keys(&self) -> Vec<&'static TableKey> {
        let mut out: Vec<&'static TableKey> = Vec::new();
        for name in self.names {
            for k in (self.keys_of)(name) {
                if !out.iter().any(|o| o.name == k.name) {
                    out.push(k);
                }
            }
        }
        out
    }

    /// The names of the tables the key `key` applies to.
    pub fn owners(&self, key: &str) -> Vec<&'static str> {
        let takes = |n: &&str| (self.keys_of)(n).iter().any(|k| k.name == key);
        self.names.iter().copied().filter(takes).collect()
    }
}

/// One key of a table-valued field.
#[derive(Debug, Clone, Copy)]
pub struct TableKey {
    /// Its name (`noise`).
    pub name: &'static str,
    /// Its doc comment (with its default).
    pub doc: &'static str,
    /// The TOML written inside the table to set it to a value other than
    /// its default (`noise = 0.3`; checked by a test).
    pub example: &'static str,
}

/// Declares one key of a table whose kinds list their own keys (a dataset
/// kind's): a [`TableKey`] constant whose doc comment is the key's doc (with
/// its default). `table_key! { /// doc... pub NOISE = "noise", example "noise = 0.3" }`.
macro_rules! table_key {
    ($(#[doc = $doc:literal])* $vis:vis $c:ident = $name:literal, example $example:literal) => {
        $(#[doc = $doc])*
        $vis const $c: $crate::config::schema::TableKey = $crate::config::schema::TableKey {
            name: $name,
            doc: concat!($($doc, "\n"),*),
            example: $example,
        };
    };
}
pub(crate) use table_key;

/// A key of a section that is not a job field (`grid`, `seeds`, ...).
#[derive(Debug, Clone, Copy)]
pub struct SectionKey {
    /// Its name.
    pub name: &'static str,
    /// Its doc comment (with its default).
    pub doc: &'static str,
}

/// How a field's value merges across layers, and what keys it has.
pub trait FieldValue: Clone {
    /// The value's keys; plain values have none.
    const KEYS: Keys = Keys::Plain;

    /// Puts `patch` (a later layer) over `base`; plain values are replaced.
    fn merge(base: &mut Spanned<Self>, patch: &Spanned<Self>) {
        *base = patch.clone();
    }
}

/// Puts `patch` over `base`, or sets it when the base has none.
pub fn merge_into<T: FieldValue>(base: &mut Option<Spanned<T>>, patch: &Spanned<T>) {
    match base {
        Some(b) => T::merge(b, patch),
        None => *base = Some(patch.clone()),
    }
}

/// A name-or-table value: a patch merges key by key when it names no table
/// or the same one; naming another starts from that one's defaults.
pub fn merge_named<T: Clone>(
    base: &mut Spanned<T>,
    patch: &Spanned<T>,
    name: impl Fn(&T) -> Option<&String>,
    merge_keys: impl FnOnce(&mut T, &T),
) {
    let p = patch.get_ref();
    let same = name(p).is_none() || name(p) == name(base.get_ref());
    let merged = if same {
        let mut m = base.get_ref().clone();
        merge_keys(&mut m, p);
        m
    } else {
        p.clone()
    };
    *base = Spanned::new(patch.span(), merged);
}

/// The span of a key's value, when the key is set.
pub fn span_of<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
    v.as_ref().map(Spanned::span)
}

/// The declared string, or the field's own name when none is given.
macro_rules! name_or {
    ($default:expr) => {
        $default
    };
    ($default:expr, $given:expr) => {
        $given
    };
}
pub(crate) use name_or;

/// Declares a section struct: section keys, then job fields, then more
/// section keys (serde lists the valid keys in this order). Each job field is
/// `NAME: TYPE [as "FLAT_KEY"] = "EXAMPLE"`. Generates the struct with
/// `deny_unknown_fields`, `JOB_FIELDS`, `SECTION_FIELDS`, the job-field merge
/// and the section keys' spans.
macro_rules! declare_section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            section {
                $( $(#[doc = $adoc:literal])* $a:ident : $aty:ty, )*
            }
            job {
                $( $(#[doc = $fdoc:literal])* $f:ident : $fty:ty $(as $flat:literal)? = $example:literal, )*
            }
            section {
                $( $(#[doc = $bdoc:literal])* $b:ident : $bty:ty, )*
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize, Default, Clone)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[doc = $adoc])* pub $a: Option<Spanned<$aty>>, )*
            $( $(#[doc = $fdoc])* pub $f: Option<Spanned<$fty>>, )*
            $( $(#[doc = $bdoc])* pub $b: Option<Spanned<$bty>>, )*
        }

        /// The job fields, in declaration order: settable in `[defaults]`,
        /// in an experiment, and as a grid axis.
        pub const JOB_FIELDS: &[$crate::config::schema::JobField] = &[
            $( $crate::config::schema::JobField {
                name: stringify!($f),
                doc: concat!($($fdoc, "\n"),*),
                flat: $crate::config::schema::name_or!(stringify!($f) $(, $flat)?),
                example: $example,
                keys: <$fty as $crate::config::schema::FieldValue>::KEYS,
            }, )*
        ];

        /// The keys of a section that are not job fields.
        pub const SECTION_FIELDS: &[$crate::config::schema::SectionKey] = &[
            $( $crate::config::schema::SectionKey { name: stringify!($a), doc: concat!($($adoc, "\n"),*) }, )*
            $( $crate::config::schema::SectionKey { name: stringify!($b), doc: concat!($($bdoc, "\n"),*) }, )*
        ];

        impl $name {
            /// Puts the job fields `patch` sets over these (table-valued
            /// fields key by key, see [`FieldValue`]), calling `set` with
            /// the name of each.
            pub fn merge_job_fields(&mut self, patch: &$name, mut set: impl FnMut(&'static str)) {
                $(
                    if let Some(p) = &patch.$f {
                        $crate::config::schema::merge_into(&mut self.$f, p);
                        set(stringify!($f));
                    }
                )*
            }

            /// The keys that are not job fields, with where each is written.
            pub fn section_keys(&self) -> Vec<(&'static str, Option<std::ops::Range<usize>>)> {
                vec![
                    $( (stringify!($a), $crate::config::schema::span_of(&self.$a)), )*
                    $( (stringify!($b), $crate::config::schema::span_of(&self.$b)), )*
                ]
            }
        }
    };
}
pub(crate) use declare_section;

/// Declares the keys of a table-valued field: `NAME: TYPE [=> ["owner", ...]]
/// = "EXAMPLE"`, where the owners are the tables (datasets, optimizers) the
/// key applies to (none: all). Generates the struct with
/// `deny_unknown_fields`, its [`TableSchema`] as `SCHEMA`, the key-by-key
/// merge and the spans of the keys present.
macro_rules! declare_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident for $names:path {
            $( $(#[doc = $doc:literal])* $k:ident : $ty:ty $(=> [$($owner:literal),*])? = $example:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $k: Option<Spanned<$ty>>, )*
        }

        impl $name {
            /// The declared keys, in declaration order.
            const KEYS: &'static [$crate::config::schema::TableKey] = &[
                $( $crate::config::schema::TableKey {
                    name: stringify!($k),
                    doc: concat!($($doc, "\n"),*),
                    example: $example,
                }, )*
            ];

            /// The tables each key of [`Self::KEYS`] applies to; empty: all.
            const OWNERS: &'static [&'static [&'static str]] = &[$( &[$($($owner),*)?], )*];

            /// The declared keys.
            pub const SCHEMA: $crate::config::schema::TableSchema = $crate::config::schema::TableSchema {
                names: $names,
                keys_of: Self::keys_of,
            };

            /// The keys that apply to the table named `name` (none when it has no such name).
            fn keys_of(name: &str) -> Vec<&'static $crate::config::schema::TableKey> {
                if !$names.contains(&name) {
                    return Vec::new();
                }
                let applies = |o: &&[&str]| o.is_empty() || o.contains(&name);
                Self::KEYS.iter().zip(Self::OWNERS).filter(|(_, o)| applies(o)).map(|(k, _)| k).collect()
            }

            /// Puts every key `patch` sets over this table's.
            pub fn merge_keys(&mut self, patch: &$name) {
                $( if patch.$k.is_some() { self.$k = patch.$k.clone(); } )*
            }

            /// The keys that are set, with where each value is written.
            pub fn present(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
                let all = [$( (stringify!($k), $crate::config::schema::span_of(&self.$k)), )*];
                all.into_iter().filter_map(|(k, s)| s.map(|s| (k, s))).collect()
            }
        }
    };
}
pub(crate) use declare_table;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Library;
    use crate::config::job::{Record, RECORD_NAMES};
    use crate::config::raw::{job_field, RawSection, JOB_FIELDS, SECTION_FIELDS};
    use crate::config::resolve::{resolve, Layered};

    /// Every flat key of the job resolved after `[defaults]` and then an
    /// experiment set `layers` (TOML text each).
    fn resolved_all(layers: &[&str]) -> Vec<(String, serde_json::Value)> {
        let mut l = Layered::default();
        for (i, text) in layers.iter().enumerate() {
            let patch: RawSection =
                toml::from_str(text).unwrap_or_else(|e| panic!("`{text}`: {e}"));
            l.apply(
                &patch,
                if i == 0 {
                    "defaults."
                } else {
                    "experiments.e."
                },
            );
        }
        resolve(&l, &Library::builtin())
            .unwrap_or_else(|ds| panic!("{layers:?} does not resolve: {ds:?}"))
            .flat()
    }

    /// The resolved value of the flat key `key` after `[defaults]` and then
    /// an experiment set `layers` (TOML text each).
    fn resolved(layers: &[&str], key: &str) -> serde_json::Value {
        let found = resolved_all(layers).into_iter().find(|(k, _)| k == key);
        found
            .unwrap_or_else(|| panic!("the resolved job has no key `{key}`"))
            .1
    }

    #[test]
    fn every_declared_job_field_changes_the_resolved_job() {
        for f in JOB_FIELDS {
            let key = f.resolved_key();
            let set = format!("{} = {}", f.name, f.example);
            assert_ne!(
                resolved(&["", &set], &key),
                resolved(&[], &key),
                "`{set}` leaves `{key}` at its default: is `{}` resolved?",
                f.name
            );
        }
    }

    /// Every key of every table of every table-valued field, with the
    /// table's name: `(field, table, key)`.
    fn every_table_key() -> Vec<(&'static str, &'static str, &'static TableKey)> {
        let mut out = Vec::new();
        for f in JOB_FIELDS {
            let Keys::Table(schema) = f.keys else {
                continue;
            };
            for name in schema.names {
                for k in (schema.keys_of)(name) {
                    out.push((f.name, *name, k));
                }
            }
        }
        out
    }

    #[test]
    fn every_declared_table_key_merges_and_changes_the_resolved_job() {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let head = dir.path().join("digits_head.csv");
        let digits =
            std::fs::read_to_string("examples/data/digits.csv").expect("the example table");
        let lines: Vec<&str> = digits.lines().take(1001).collect();
        std::fs::write(&head, lines.join("\n")).expect("a copy of its first rows");
        for (field, owner, k) in every_table_key() {
            // `name = ...` is an example of another table: once is enough.
            let first = job_field(field).and_then(|f| match f.keys {
                Keys::Table(s) => s.names.first().copied(),
                _ => None,
            });
            if k.name == "name" && Some(owner) != first {
                continue;
            }
            // The key comes from a later layer that does not name the
            // table, so it also goes through the key-by-key merge.
            // A table dataset reads its file when resolved: the first rows
            // of the repository's example table, whose columns the examples
            // name (the `path` example being the whole table).
            let base = match owner {
                "table" => format!(
                    "{field} = {{ name = 'table', path = '{}', target = 'label' }}\n\
                     loss = 'mse'",
                    head.display()
                ),
                // A regression dataset needs a regression loss.
                "identity" => format!("{field} = {{ name = '{owner}' }}\nloss = 'mse'"),
                _ => format!("{field} = {{ name = '{owner}' }}"),
            };
            let patch = format!("{field} = {{ {} }}", k.example);
            let key = format!("{field}.{}", k.name);
            // A table's paths are settings but not identity (its
            // content digests are): any change of the job counts.
            assert_ne!(
                resolved_all(&[&base, &patch]),
                resolved_all(&[&base]),
                "`{patch}` over `{base}` leaves `{key}` as it was: is it merged and resolved?"
            );
        }
    }

    #[test]
    fn every_table_lists_its_name_first_and_unknown_tables_have_no_keys() {
        for f in JOB_FIELDS {
            let Keys::Table(schema) = f.keys else {
                continue;
            };
            for name in schema.names {
                assert_eq!(schema.keys_for(name).first(), Some(&"name"), "{}", f.name);
            }
            assert!(schema.keys_for("no_such_table").is_empty(), "{}", f.name);
        }
        let optimizer = job_field("optimizer").map(|f| f.keys);
        let Some(Keys::Table(schema)) = optimizer else {
            panic!("optimizer is not a table")
        };
        assert_eq!(
            schema.keys_for("sgd"),
            ["name", "lr", "momentum", "nesterov", "weight_decay"]
        );
        assert_eq!(schema.owners("momentum"), ["sgd", "rmsprop"]);
    }

    #[test]
    fn every_declared_key_documents_its_default() {
        let mut docs: Vec<(String, &str)> = Vec::new();
        for f in JOB_FIELDS {
            docs.push((f.name.to_string(), f.doc));
        }
        for (field, table, k) in every_table_key() {
            docs.push((format!("{field}.{} ({table})", k.name), k.doc));
        }
        docs.extend(SECTION_FIELDS.iter().map(|k| (k.name.to_string(), k.doc)));
        for (key, doc) in docs {
            assert!(
                doc.contains("Default: "),
                "`{key}` has no `Default:` in: {doc}"
            );
        }
    }

    #[test]
    fn the_documented_record_default_is_the_resolved_one() {
        // Regression: the doc listed four default records while five are kept.
        let doc = job_field("record").map_or("", |f| f.doc);
        let (_, default) = doc.split_once("Default:").unwrap_or(("", ""));
        let documented: Vec<&str> = RECORD_NAMES
            .iter()
            .copied()
            .filter(|n| default.contains(n))
            .collect();
        let names: Vec<String> = Record::defaults()
            .iter()
            .map(|r| serde_json::to_value(r).map_or(String::new(), |v| v.to_string()))
            .map(|quoted| quoted.trim_matches('"').to_string())
            .collect();
        assert_eq!(documented, names);
    }
}
