//! `fmt`: canonical text, comments kept, idempotent, meaning kept.

mod common;

use common::{fingerprint, SEEDS};
use sluice_dsl::{check, format, testing, SourceFile};

fn fmt(text: &str) -> String {
    format(&SourceFile::new("t.sluice", text)).expect("valid text formats")
}

#[test]
fn canonical_layout_with_comments_kept() {
    let text = "  # top comment\n\ngraph  conf ( rate : 48kHz ,frame:10ms ) {   # header note\n  people=participants( synth:6 )   # six voices\n\n\n  # own line\n  people->dominant( top:4 )->mix(\n     normalize: true,  # inside\n     limit: false,\n  )->wav_out(path:\"a.wav\") ; x = tone()\n  x -> null\n  # last in body\n}\n# after\n";
    let want = "# top comment\n\ngraph conf(rate: 48kHz, frame: 10ms) {\n    # header note\n    people = participants(synth: 6)  # six voices\n\n    # own line\n    # inside\n    people -> dominant(top: 4) -> mix(normalize: true, limit: false) -> wav_out(path: \"a.wav\")\n    x = tone()\n    x -> null\n    # last in body\n}\n# after\n";
    assert_eq!(fmt(text), want);
    assert_eq!(fmt(want), want, "idempotent");
}

#[test]
fn values_are_spelled_canonically() {
    assert_eq!(
        fmt("tone(freq: 0440.50Hz, amp: -06dB) -> wav_out(path: \"a\\u{9}b\\\\c\")\nvideo_test(size: 0640x0480, frames: 1e2) -> null\n"),
        "tone(freq: 440.5Hz, amp: -6dB) -> wav_out(path: \"a\\tb\\\\c\")\nvideo_test(size: 640x480, frames: 100) -> null\n"
    );
}

#[test]
fn a_bare_kind_declaration_gets_parentheses() {
    assert_eq!(
        fmt("m = meter\ntone -> m -> null"),
        "m = meter()\ntone -> m -> null\n"
    );
}

#[test]
fn seeds_format_idempotently_and_keep_their_plan_and_comments() {
    let cat = testing::catalogue();
    for seed in SEEDS {
        let once = fmt(seed);
        assert_eq!(fmt(&once), once, "idempotent for {seed:?}");
        let a = check(&SourceFile::new("s.sluice", *seed), &cat);
        let b = check(&SourceFile::new("s.sluice", once.as_str()), &cat);
        assert_eq!(
            a.plan.as_ref().map(fingerprint),
            b.plan.as_ref().map(fingerprint),
            "same meaning for {seed:?}"
        );
        let count = |t: &str| {
            sluice_dsl::parse(&SourceFile::new("s", t))
                .expect("parses")
                .comments
                .len()
        };
        assert_eq!(count(seed), count(&once), "every comment kept");
    }
}

#[test]
fn formatting_invalid_text_reports_the_syntax_error() {
    let err = format(&SourceFile::new("t.sluice", "tone ->")).unwrap_err();
    assert_eq!(err.error_count(), 1);
}
