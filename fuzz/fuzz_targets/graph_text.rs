//! Graph text: parse, check against the test catalogue, render every
//! diagnostic and format. Nothing may panic; every span must lie inside
//! the text on character boundaries; `fmt` must be idempotent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_dsl::{check, format, testing, SourceFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.sluice", text);
    let checked = check(&file, &testing::catalogue());
    assert_eq!(checked.plan.is_some(), !checked.diagnostics.has_errors());
    for d in checked.diagnostics.iter() {
        for s in std::iter::once(d.span).chain(d.secondary.iter().map(|(s, _)| *s)) {
            assert!(s.start <= s.end && s.end <= text.len());
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        }
    }
    let _ = checked.diagnostics.render(&file, false);
    if let Some(plan) = &checked.plan {
        let _ = sluice_dsl::describe(plan);
        let _ = sluice_dsl::to_dot(plan);
    }
    if let Ok(once) = format(&file) {
        let again = format(&SourceFile::new("fuzz.sluice", once.as_str()))
            .expect("formatted text parses");
        assert_eq!(again, once, "fmt is idempotent");
    }
});
