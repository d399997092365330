//! The graph-language commands of the `sluice` binary, on behaviour that
//! does not depend on which node kinds the registry holds (syntax, fmt,
//! exit codes, stdin and `-e`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sluice(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice runs");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("sluice exits")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_reports_syntax_errors_with_exit_1() {
    let out = sluice(&["check", "-e", "tone(freq = 1kHz) -> null"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: expected `:` between an argument's name and its value, found `=`\n  --> <expr>:1:11\n"),
        "{err}"
    );
    assert!(
        err.contains("`<expr>` is not a valid graph: 1 error"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "diagnostics go to stderr");
}

#[test]
fn check_reads_stdin() {
    let out = sluice(&["check", "-"], "tone ->\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--> <stdin>:1:8"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn fmt_prints_canonical_text_and_checks_and_writes() {
    let messy = "a=tone( freq:440Hz )   # the tone\na->null\n";
    let canonical = "a = tone(freq: 440Hz)  # the tone\na -> null\n";
    let out = sluice(&["fmt", "-"], messy);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), canonical);

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("g.sluice");
    std::fs::write(&path, messy).expect("write");
    let p = path.to_str().expect("utf-8 path");
    assert_eq!(sluice(&["fmt", "--check", p], "").status.code(), Some(1));
    assert_eq!(sluice(&["fmt", "--write", p], "").status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), canonical);
    assert_eq!(sluice(&["fmt", "--check", p], "").status.code(), Some(0));
}

#[test]
fn fmt_refuses_invalid_text() {
    let out = sluice(&["fmt", "-"], "a -> [b\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error: unclosed `[`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn nodes_markdown_is_generated() {
    let out = sluice(&["nodes", "--markdown"], "");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("# Node catalogue"));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = sluice(&["check", "/nonexistent/g.sluice"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: cannot read `/nonexistent/g.sluice`"));
}
