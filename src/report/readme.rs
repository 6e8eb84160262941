//! The README block: replaces the text between
//! `<!-- actsweep:begin NAME -->` and `<!-- actsweep:end NAME -->` and leaves
//! every byte outside the markers as it was.

/// The begin marker of sweep `name`.
pub fn begin_marker(name: &str) -> String {
    format!("<!-- actsweep:begin {name} -->")
}

/// The end marker of sweep `name`.
pub fn end_marker(name: &str) -> String {
    format!("<!-- actsweep:end {name} -->")
}

/// Why a README block could not be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// A marker is absent (or the end comes before the begin).
    #[error("the file has no `{begin}` ... `{end}` block; add both marker lines where the tables belong")]
    Missing {
        /// The begin marker.
        begin: String,
        /// The end marker.
        end: String,
    },
}

/// `text` with the block of sweep `name` replaced by `body`.
pub fn replace_block(text: &str, name: &str, body: &str) -> Result<String, BlockError> {
    let (begin, end) = (begin_marker(name), end_marker(name));
    let missing = || BlockError::Missing {
        begin: begin.clone(),
        end: end.clone(),
    };
    let b = text.find(&begin).ok_or_else(missing)?;
    let inner_start = b + begin.len();
    let e = text[inner_start..].find(&end).ok_or_else(missing)? + inner_start;
    let mut out = String::with_capacity(text.len() + body.len());
    out.push_str(&text[..inner_start]);
    out.push('\n');
    out.push_str(body.trim_matches('\n'));
    out.push('\n');
    out.push_str(&text[e..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_block_changes() {
        let text =
            "# T\n\nbefore\n<!-- actsweep:begin s -->\nold\n<!-- actsweep:end s -->\nafter\n";
        let out = replace_block(text, "s", "new table\n").unwrap();
        assert_eq!(
            out,
            "# T\n\nbefore\n<!-- actsweep:begin s -->\nnew table\n<!-- actsweep:end s -->\nafter\n"
        );
        // Idempotent.
        assert_eq!(replace_block(&out, "s", "new table\n").unwrap(), out);
        assert!(replace_block(text, "other", "x").is_err());
        assert!(
            replace_block("<!-- actsweep:end s --><!-- actsweep:begin s -->", "s", "x").is_err()
        );
    }
}
