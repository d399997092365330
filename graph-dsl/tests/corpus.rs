//! Replays the fuzz seed corpus (fuzz/corpus/graph_text/) through the same
//! checks as the fuzz target, so CI exercises it without nightly.

use sluice_dsl::{check, format, testing, SourceFile};
use std::path::Path;

#[test]
fn every_corpus_file_parses_and_checks_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/graph_text");
    let mut n = 0;
    let mut valid = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/graph_text exists") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("readable");
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        n += 1;
        let file = SourceFile::new(path.display().to_string(), text.as_str());
        let checked = check(&file, &testing::catalogue());
        assert_eq!(checked.plan.is_some(), !checked.diagnostics.has_errors());
        valid += usize::from(checked.plan.is_some());
        for d in checked.diagnostics.iter() {
            for s in std::iter::once(d.span).chain(d.secondary.iter().map(|(s, _)| *s)) {
                assert!(
                    s.start <= s.end && s.end <= text.len(),
                    "{}",
                    path.display()
                );
                assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            }
        }
        let _ = checked.diagnostics.render(&file, false);
        if let Ok(once) = format(&file) {
            let again =
                format(&SourceFile::new("again", once.as_str())).expect("formatted text parses");
            assert_eq!(again, once, "fmt idempotent on {}", path.display());
        }
    }
    assert!(n >= 10, "the seed corpus has {n} files");
    assert!(valid >= 5, "the seed corpus has {valid} valid graphs");
}
