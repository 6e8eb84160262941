//! How names and numbers are written for people: "did you mean" suggestions,
//! name lists and short number formatting.
//!
//! These helpers sit below every module that talks to the user. The sweep
//! file's messages ([`crate::config`]), the formula parser
//! ([`crate::activation`]), `--only` ([`crate::plan`]) and the report all use
//! them, so they live here rather than in any one of those modules: the
//! activation library must not reach into the sweep-file code for them.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&lower, &c.to_lowercase());
        let dist = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
        let close = dist <= 2.max(c.len() / 3) || score >= 0.85;
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` for the closest candidate, if any.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    suggest(word, candidates).map(|s| format!("did you mean `{s}`?"))
}

/// Renders a list of names as `a, b, c`.
pub fn list<'a, I>(names: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// Formats a number the shortest way that reads back to the same value.
pub fn fmt_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v}");
        let e = format!("{v:e}");
        if e.len() < s.len() {
            e
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_and_reject_strangers() {
        let keys = ["depth", "width", "dataset", "activation"];
        assert_eq!(suggest("dpeth", keys), Some("depth".into()));
        assert_eq!(suggest("activaton", keys), Some("activation".into()));
        assert_eq!(suggest("zzzzzzzz", keys), None);
    }

    #[test]
    fn numbers_format_short() {
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.001), "1e-3");
        assert_eq!(fmt_num(0.2), "0.2");
        assert_eq!(fmt_num(-1.5), "-1.5");
        assert_eq!(fmt_num(f64::INFINITY), "inf");
    }
}
