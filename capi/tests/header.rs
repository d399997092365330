//! The committed C header (include/sluice.h) is what cbindgen makes of
//! the crate now. After changing the C API, regenerate it with
//! `SLUICE_BLESS=1 cargo test --workspace --test header` and commit it.

use std::path::Path;

#[test]
fn the_committed_header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut made = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen reads the crate")
        .write(&mut made);
    let made = String::from_utf8(made).expect("the header is UTF-8");
    let path = dir.join("../include/sluice.h");
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &made).expect("writes include/sluice.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == made,
        "include/sluice.h is not what cbindgen makes of capi/src now: regenerate it with \
         `SLUICE_BLESS=1 cargo test --workspace --test header` and commit it"
    );
}
