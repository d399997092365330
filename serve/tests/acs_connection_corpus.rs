//! Replays the seed corpus of the `acs_connection` fuzz target through the
//! connection loop (`script::run`, which panics if an invariant breaks),
//! then as many random operation strings: what the fuzzer checks runs in
//! every test run too, without a nightly toolchain.

use proptest::prelude::*;
use sluice_serve::conn::script;
use std::path::Path;

#[test]
fn seed_corpus_keeps_every_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/acs_connection");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/acs_connection is committed") {
        let path = entry.unwrap().path();
        let report = script::run(&std::fs::read(&path).unwrap());
        assert!(
            report.ended,
            "{}: the connection never ended",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 6, "corpus too small: {seen}");
}

#[test]
fn the_live_call_seed_goes_live_and_answers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/acs_connection");
    let report = script::run(&std::fs::read(dir.join("live_call")).unwrap());
    assert!(report.live && report.sent > 0, "{report:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_sessions_keep_every_invariant(ops in proptest::collection::vec(any::<u8>(), 0..300)) {
        let report = script::run(&ops);
        prop_assert!(report.ended);
    }
}
