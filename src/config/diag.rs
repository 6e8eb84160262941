//! Diagnostics: user-facing errors about a sweep file.
//!
//! A researcher who mistypes a key should learn *which file*, *which key*,
//! *which line and column*, and *what to write instead* from one message,
//! without reading our source. Every error about a sweep file is therefore a
//! [`Diagnostic`] carrying a byte span into the file's text, rendered here in
//! the compiler style (`--> file:line:col`, the source line, a caret) with an
//! optional `help:` line (usually a "did you mean" suggestion) and notes.
//!
//! Rendering is a pure function of the diagnostics and the source text, so the
//! messages are snapshot-tested through the real binary.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// One problem found in a sweep file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The dotted key path the problem is about (`experiments.deep.depth`), when known.
    pub key: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Byte range in the file's text; `None` when the problem has no location.
    pub span: Option<Range<usize>>,
    /// What to do about it (`did you mean ...`).
    pub help: Option<String>,
    /// Extra context lines (valid names, the job that triggered it, ...).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and an optional location.
    pub fn new(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Diagnostic {
            key: None,
            message: message.into(),
            span,
            help: None,
            notes: Vec::new(),
        }
    }

    /// Attach the dotted key path.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        if !key.is_empty() {
            self.key = Some(key);
        }
        self
    }

    /// Attach a help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Attach a help line only if one is given.
    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Attach a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// Every problem found in one sweep file, with the text needed to render them.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file as the user named it.
    pub file: String,
    /// The file's text (for line/column and the source excerpt).
    pub text: Arc<str>,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error with a single diagnostic.
    pub fn single(file: &str, text: Arc<str>, diagnostic: Diagnostic) -> Self {
        ConfigError {
            file: file.to_string(),
            text,
            diagnostics: vec![diagnostic],
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            render(f, &self.file, &self.text, d)?;
        }
        if self.diagnostics.len() > 1 {
            write!(f, "\n{} problems in {}", self.diagnostics.len(), self.file)?;
        }
        Ok(())
    }
}

fn render(f: &mut fmt::Formatter<'_>, file: &str, text: &str, d: &Diagnostic) -> fmt::Result {
    match &d.key {
        Some(key) => writeln!(f, "error: {} (key `{}`)", d.message, key)?,
        None => writeln!(f, "error: {}", d.message)?,
    }
    match &d.span {
        Some(span) if span.start <= text.len() => {
            let (line, col) = line_col(text, span.start);
            let gutter = line.to_string().len();
            let pad = " ".repeat(gutter);
            writeln!(f, "{pad}--> {file}:{line}:{col}")?;
            let line_text = text.lines().nth(line - 1).unwrap_or("");
            writeln!(f, "{pad} |")?;
            writeln!(f, "{line} | {line_text}")?;
            // Underline the span on this line (at least one caret).
            let line_start = text[..floor_char_boundary(text, span.start)]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line_end = line_start + line_text.len();
            let end = span.end.min(line_end).max(span.start);
            let width = text
                .get(floor_char_boundary(text, span.start)..floor_char_boundary(text, end))
                .map_or(1, |s| s.chars().count())
                .max(1);
            writeln!(f, "{pad} | {}{}", " ".repeat(col - 1), "^".repeat(width))?;
            if d.help.is_some() || !d.notes.is_empty() {
                writeln!(f, "{pad} |")?;
            }
            if let Some(help) = &d.help {
                writeln!(f, "{pad} = help: {help}")?;
            }
            for note in &d.notes {
                writeln!(f, "{pad} = note: {note}")?;
            }
        }
        _ => {
            writeln!(f, " --> {file}")?;
            if let Some(help) = &d.help {
                writeln!(f, "  = help: {help}")?;
            }
            for note in &d.notes {
                writeln!(f, "  = note: {note}")?;
            }
        }
    }
    Ok(())
}

pub use crate::text::{did_you_mean, list, suggest};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
    }

    #[test]
    fn rendering_points_at_the_column() {
        let text: Arc<str> = Arc::from("name = 'x'\ndepth = 0\n");
        let e = ConfigError::single(
            "f.toml",
            text,
            Diagnostic::new("depth must be at least 1", Some(19..20)).key("defaults.depth"),
        );
        let s = e.to_string();
        assert!(s.contains("--> f.toml:2:9"), "{s}");
        assert!(s.contains("2 | depth = 0"), "{s}");
        assert!(s.contains("|         ^"), "{s}");
    }
}
