//! "Did you mean": the closest known name by edit distance.

/// The candidate closest to `word` by Damerau-Levenshtein distance, if it is
/// close enough to be a plausible typo (at most a third of the word's length,
/// at least 1, at most 3 edits). Ties go to the first candidate.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = if c.eq_ignore_ascii_case(word) {
            0
        } else {
            strsim::damerau_levenshtein(word, c)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` as a help line, if there is a close candidate.
pub fn help<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(word, candidates).map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_close_names_only() {
        let kinds = ["blur", "background_blur", "tone", "gain"];
        assert_eq!(did_you_mean("blurr", kinds), Some("blur".into()));
        assert_eq!(did_you_mean("toen", kinds), Some("tone".into()));
        assert_eq!(did_you_mean("Gain", kinds), Some("gain".into()));
        assert_eq!(did_you_mean("xyz", kinds), None);
        assert_eq!(
            did_you_mean("backgroud_blur", kinds),
            Some("background_blur".into())
        );
    }
}
