//! The sweep-file reference (docs/reference.md) documents every key a sweep
//! section accepts, taken from the one declaration in `config::raw`: each job field
//! has a row in the job-field table, each key of a table-valued field a row
//! in that field's table ("Dataset tables", "Loss tables", ...), and each
//! other section key is named in the `[experiments.NAME]` row.

mod common;

use actsweep::config::raw::{JOB_FIELDS, SECTION_FIELDS};
use actsweep::config::schema::Keys;

/// docs/reference.md, whose sections (`## Top level`, `## Job fields`, ...)
/// are the reference's parts.
fn reference() -> String {
    let path = common::root().join("docs/reference.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert!(
        text.starts_with("# Sweep-file reference\n"),
        "docs/reference.md starts with `# Sweep-file reference`"
    );
    text
}

/// The text of the `## NAME` section of the reference.
fn subsection(reference: &str, name: &str) -> String {
    let heading = format!("\n## {name}\n");
    let start = reference
        .find(&heading)
        .unwrap_or_else(|| panic!("docs/reference.md has no `## {name}`"));
    let rest = &reference[start + heading.len()..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

/// A Markdown table: the paragraph line just before it, and the keys
/// written in backticks in its first column (`grid.FIELD = [...]` is `grid`).
struct Table {
    intro: String,
    keys: Vec<String>,
}

fn tables(text: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut intro = String::new();
    let mut in_table = false;
    for line in text.lines() {
        if !line.starts_with('|') {
            in_table = false;
            if !line.trim().is_empty() {
                intro = line.to_string();
            }
            continue;
        }
        if !in_table {
            in_table = true;
            out.push(Table {
                intro: intro.clone(),
                keys: Vec::new(),
            });
        }
        let first = line.split('|').nth(1).unwrap_or("");
        let keys = first.split('`').skip(1).step_by(2).map(|k| {
            k.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        });
        if let Some(t) = out.last_mut() {
            t.keys.extend(keys.filter(|k| !k.is_empty()));
        }
    }
    out
}

#[test]
fn every_job_field_has_a_row_in_the_reference() {
    let text = subsection(&reference(), "Job fields");
    let all = tables(&text);
    let fields = all.first().expect("`### Job fields` has a table");
    for f in JOB_FIELDS {
        assert!(
            fields.keys.iter().any(|k| k == f.name),
            "docs/reference.md (## Job fields) has no row for the job field `{}`",
            f.name
        );
    }
}

#[test]
fn every_key_of_a_table_valued_field_has_a_row_in_its_table() {
    let text = subsection(&reference(), "Job fields");
    let all = tables(&text);
    for f in JOB_FIELDS {
        let Keys::Table(schema) = f.keys else {
            continue;
        };
        let title = format!("{}{} tables", f.name[..1].to_uppercase(), &f.name[1..]);
        let table = all
            .iter()
            .find(|t| t.intro.starts_with(&title))
            .unwrap_or_else(|| panic!("docs/reference.md has no table introduced by `{title}`"));
        for k in schema.all_keys() {
            assert!(
                table.keys.iter().any(|key| key == k.name),
                "docs/reference.md has no row for `{}.{}` in `{title}`",
                f.name,
                k.name
            );
        }
    }
}

#[test]
fn every_other_section_key_is_named_in_the_experiments_row() {
    let reference = reference();
    let row = reference
        .lines()
        .find(|l| l.starts_with("| `[experiments.NAME]`"))
        .expect("the reference has an `[experiments.NAME]` row");
    for k in SECTION_FIELDS {
        assert!(
            row.contains(&format!("`{}`", k.name)),
            "docs/reference.md's `[experiments.NAME]` row does not name the section key `{}`",
            k.name
        );
    }
}
