//! `--only FIELD=VALUE`: choosing a subset of a plan's jobs.
//!
//! The same selection serves `plan`, `run` and `report`. A field is an axis
//! name, `experiment`, `id`, or any resolved job field (`depth`,
//! `optimizer.lr`, `activation`, `dataset`, ...). Several values for one field
//! are alternatives; different fields must all match. Numbers compare by
//! value, so `--only optimizer.lr=0.001` matches `1e-3`.

use std::collections::BTreeMap;

use super::Job;
use crate::config::raw::job_field_names;
use crate::text::did_you_mean;

/// A parsed `--only` selection.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Field -> accepted values.
    pub fields: BTreeMap<String, Vec<String>>,
}

/// A malformed or unknown `--only`.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// Not `FIELD=VALUE`.
    #[error("--only expects FIELD=VALUE, got `{0}`")]
    Syntax(String),
    /// No job has this field.
    #[error("--only {field}: no job has a field `{field}`{}", .help.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
    UnknownField {
        /// The field given.
        field: String,
        /// A suggestion.
        help: Option<String>,
    },
}

impl Selection {
    /// Parses `FIELD=VALUE` strings.
    pub fn parse(items: &[String]) -> Result<Selection, SelectionError> {
        let mut s = Selection::default();
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                return Err(SelectionError::Syntax(item.clone()));
            };
            let (k, v) = (k.trim(), v.trim());
            if k.is_empty() {
                return Err(SelectionError::Syntax(item.clone()));
            }
            s.fields
                .entry(k.to_string())
                .or_default()
                .push(v.to_string());
        }
        Ok(s)
    }

    /// True when nothing is selected (every job passes).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether a job passes.
    pub fn matches(&self, job: &Job) -> bool {
        self.fields.iter().all(|(field, wanted)| {
            job.field(field)
                .is_some_and(|have| have.iter().any(|h| wanted.iter().any(|w| same(h, w))))
        })
    }

    /// Filters jobs, checking first that every field exists on some job.
    pub fn apply<'a>(&self, jobs: &'a [Job]) -> Result<Vec<&'a Job>, SelectionError> {
        for field in self.fields.keys() {
            if !jobs.is_empty() && !jobs.iter().any(|j| j.field(field).is_some()) {
                let mut known: Vec<String> = vec!["experiment".into(), "id".into()];
                if let Some(j) = jobs.first() {
                    known.extend(j.axes.iter().map(|(k, _)| k.clone()));
                    known.extend(j.config.flat().into_iter().map(|(k, _)| k));
                    known.extend(job_field_names().map(String::from));
                }
                return Err(SelectionError::UnknownField {
                    field: field.clone(),
                    help: did_you_mean(field, known.iter().map(String::as_str)),
                });
            }
        }
        Ok(jobs.iter().filter(|j| self.matches(j)).collect())
    }
}

fn same(have: &str, want: &str) -> bool {
    if have == want {
        return true;
    }
    match (have.parse::<f64>(), want.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
        _ => false,
    }
}
