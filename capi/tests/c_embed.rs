//! Builds tests/c/embed.c with `cc`, links it against the
//! libsluice_capi this test was built with, and runs it: under Valgrind
//! (`--leak-check=full`, any error or leak fails; tests/c/valgrind.supp
//! names the one leak that is not Sluice's) when it is installed. With
//! `CI=true` a missing `cc` or Valgrind fails the test; elsewhere it
//! says what it skipped.

use sluice_runtime::testing::skip_unless_ci;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn the_c_program_embeds_a_graph_and_checks_every_error_path() {
    if !found("cc") {
        skip_unless_ci("no `cc` to build tests/c/embed.c");
        return;
    }
    let exe = build();
    let valgrind = found("valgrind");
    let mut run = if valgrind {
        let mut v = Command::new("valgrind");
        let supp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/c/valgrind.supp");
        v.args(["--error-exitcode=1", "--leak-check=full", "--quiet"])
            .arg(format!("--suppressions={}", supp.display()))
            .arg(&exe);
        v
    } else {
        Command::new(&exe)
    };
    let out = run.output().expect("runs embed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "embed.c failed ({}):\n{text}",
        out.status
    );
    assert!(text.contains("every check passed"), "{text}");
    println!("{text}");
    if !valgrind {
        skip_unless_ci("no `valgrind`: embed.c ran without it");
    }
}

/// Compiles and links the C program; its path.
fn build() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib = lib_dir();
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("embed");
    let out = Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-D_POSIX_C_SOURCE=199309L",
        ])
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("tests/c/embed.c"))
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lsluice_capi", "-o"])
        .arg(&exe)
        .output()
        .expect("runs cc");
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Where cargo put libsluice_capi.so for this build: this test runs
/// from target/<profile>/deps, beside it.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let deps = exe.parent().expect("deps").to_path_buf();
    let so = "libsluice_capi.so";
    if deps.join(so).exists() {
        return deps;
    }
    let profile = deps.parent().expect("profile dir").to_path_buf();
    assert!(
        profile.join(so).exists(),
        "{so} is in neither {} nor {}: build the crate first",
        deps.display(),
        profile.display()
    );
    profile
}

fn found(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
