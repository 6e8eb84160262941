//! The documentation's links hold: every relative link or image in
//! README.md and docs/**/*.md names a file that exists, and every `#anchor`
//! names a heading of its file (GitHub's slugs). The same files say nothing
//! of the project's issue tracker ("issue" and a number).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every `.md` file under docs/, sorted.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{dir:?}: {e}")).path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut out);
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The file's path from the repository root, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The lines outside fenced code blocks (``` or ~~~), with their numbers
/// (from 1).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// `line` without its inline code spans (`...`), which hold no links.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        }
    }
    out
}

/// The targets of the links and images `[text](target)` in `line`.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut out = Vec::new();
    let mut rest = line.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let inner = after[..end].trim();
        // `(<target> "title")` or `(target "title")`.
        let target = match inner.strip_prefix('<') {
            Some(t) => t.split('>').next().unwrap_or(""),
            None => inner.split_whitespace().next().unwrap_or(""),
        };
        if !target.is_empty() {
            out.push(target.to_string());
        }
        rest = &after[end..];
    }
    out
}

fn is_external(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// GitHub's anchor for a heading's text: lowercase, punctuation dropped
/// except `-` and `_`, spaces turned into `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks), with
/// GitHub's `-1`, `-2`, ... suffixes for repeated headings.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let text = line[hashes..].trim().trim_end_matches('#').trim_end();
        // A link in a heading counts by its text.
        let text = text.replace("](", "]\u{0}(");
        let text: String = {
            let mut s = String::new();
            let mut rest = text.as_str();
            while let Some(i) = rest.find("]\u{0}(") {
                s.push_str(&rest[..i]);
                let after = &rest[i + 3..];
                rest = &after[after.find(')').map_or(after.len(), |j| j + 1)..];
            }
            s.push_str(rest);
            s
        };
        let base = slug(&text);
        let n = seen.entry(base.clone()).or_insert(0);
        out.push(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Running on a cluster"), "running-on-a-cluster");
    assert_eq!(slug("`[[tables]]` and `[[charts]]`"), "tables-and-charts");
    assert_eq!(
        slug("Grid, zip, exclude, seeds (experiments only)"),
        "grid-zip-exclude-seeds-experiments-only"
    );
    assert_eq!(slug("`metrics.parquet`"), "metricsparquet");
    assert_eq!(slug("Seed 004: dead_units"), "seed-004-dead_units");
    assert_eq!(
        anchors("# A\n\n```\n# not a heading\n```\n## A\n"),
        ["a", "a-1"]
    );
    assert_eq!(
        link_targets("see [a](x.md#b) and ![img](../img/c.png \"t\"), not `[c](d)`"),
        ["x.md#b", "../img/c.png"]
    );
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut anchor_cache: HashMap<PathBuf, Vec<String>> = HashMap::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        let dir = file.parent().expect("a file has a folder");
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if is_external(&target) {
                    continue;
                }
                checked += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let linked = if path.is_empty() {
                    file.clone()
                } else {
                    dir.join(path)
                };
                let at = format!("{}:{n}: `{target}`", shown(&file));
                if !linked.exists() {
                    failures.push(format!("{at}: {} does not exist", shown(&linked)));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if linked.extension().is_none_or(|x| x != "md") {
                    continue;
                }
                let known = anchor_cache
                    .entry(linked.clone())
                    .or_insert_with(|| anchors(&read(&linked)));
                if !known.iter().any(|a| a == anchor) {
                    failures.push(format!(
                        "{at}: {} has no heading with the anchor `#{anchor}`",
                        shown(&linked)
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no relative links found: is the walk right?");
    assert!(
        failures.is_empty(),
        "{} broken link(s) in README.md and docs/:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// True when `line` has "issue" (any case) followed by a space and a digit.
fn names_an_issue(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.match_indices("issue ").any(|(i, m)| {
        lower[i + m.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

#[test]
fn the_documentation_names_no_issue_numbers() {
    assert!(names_an_issue("as in Issue 12, ..."));
    assert!(!names_an_issue("no issue here; issues 3"));
    let mut offenders = Vec::new();
    for file in markdown_files() {
        for (i, line) in read(&file).lines().enumerate() {
            if names_an_issue(line) {
                offenders.push(format!("{}:{}: {}", shown(&file), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "README.md and docs/ should describe the tool, not its issue tracker; \
         lines naming an issue number:\n{}",
        offenders.join("\n")
    );
}
