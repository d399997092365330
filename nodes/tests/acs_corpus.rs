//! Replays the fuzz seed corpus of the ACS message decoder: files named
//! `ok_*` must decode, `err_*` must give a typed error, and none may panic.

use sluice_nodes::acs::protocol::{decode, max_chunk_bytes};
use std::path::Path;

#[test]
fn seed_corpus_decodes_as_named() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/acs_message");
    let mut seen = (0, 0);
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/acs_message is committed") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let result = decode(&bytes, max_chunk_bytes(24_000));
        if name.starts_with("ok_") {
            assert!(result.is_ok(), "{name}: {}", result.unwrap_err());
            seen.0 += 1;
        } else if name.starts_with("err_") {
            assert!(result.is_err(), "{name} decoded: {result:?}");
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 5 && seen.1 >= 5, "corpus too small: {seen:?}");
}
