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

#[test]
fn stats_before_the_file_takes_no_value_from_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("short.sluice");
    std::fs::write(&path, "graph short(duration: 100ms) { tone -> null }\n").expect("write");
    let p = path.to_str().expect("utf-8 path");
    let out = sluice(&["run", "--stats", p], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("p99") && err.contains("tone"),
        "no stats table:\n{err}"
    );
    let live = sluice(&["run", "--stats=live", p], "");
    assert_eq!(live.status.code(), Some(0), "{}", text(&live.stderr));
    let bad = sluice(&["run", "--stats=often", p], "");
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--stats takes `end` or `live`"));
}

#[test]
fn an_empty_graph_is_a_warning() {
    for graph in ["", "# just a comment\n", "graph nothing { }\n"] {
        let out = sluice(&["check", "-"], graph);
        assert_eq!(out.status.code(), Some(0), "{graph:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("warning: the graph has no nodes\n  --> <stdin>:1:"),
            "{graph:?}:\n{err}"
        );
        let run = sluice(&["run", "-"], graph);
        assert!(
            text(&run.stderr).contains("warning: the graph has no nodes"),
            "{}",
            text(&run.stderr)
        );
    }
}

#[test]
fn help_lists_the_exit_codes() {
    for args in [&["--help"][..], &["run", "--help"], &["check", "--help"]] {
        let out = sluice(args, "");
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        for code in ["  0 ", "  1 ", "  2 ", "  3 ", "  130 "] {
            assert!(help.contains(code), "{args:?}: no {code:?} in\n{help}");
        }
    }
}

#[test]
fn each_kind_of_failure_has_its_exit_code() {
    let code = |args: &[&str]| sluice(args, "").status.code();
    // 0: done.
    assert_eq!(
        code(&["run", "-e", "tone -> null", "--duration", "50ms"]),
        Some(0)
    );
    // 1: the graph (text, --set, --duration, a run that could not end).
    assert_eq!(code(&["check", "-e", "tone -> nope"]), Some(1));
    assert_eq!(
        code(&["run", "-e", "tone -> nope", "--duration", "1s"]),
        Some(1)
    );
    assert_eq!(
        code(&[
            "run",
            "-e",
            "tone -> null",
            "--duration",
            "1s",
            "--set",
            "tone.frq=1kHz"
        ]),
        Some(1)
    );
    assert_eq!(
        code(&[
            "run",
            "-e",
            "tone -> null",
            "--duration",
            "1s",
            "--set",
            "tone.amp=3dB"
        ]),
        Some(1)
    );
    assert_eq!(
        code(&["run", "-e", "tone -> null", "--duration", "ten"]),
        Some(1)
    );
    assert_eq!(code(&["run", "-e", "tone -> null"]), Some(1));
    // 2: the command line itself.
    assert_eq!(code(&["run", "--no-such-option"]), Some(2));
    assert_eq!(
        code(&["run", "-e", "tone -> null", "--stats=sometimes"]),
        Some(2)
    );
    assert_eq!(code(&["run", "-e", "tone -> null", "--watch"]), Some(2));
    assert_eq!(code(&["nodes", "blurr"]), Some(2));
    // 3: a valid graph whose node cannot start.
    assert_eq!(
        code(&["run", "-e", "wav_in(path: \"/nonexistent/in.wav\") -> null"]),
        Some(3)
    );
}

#[test]
fn set_names_are_suggested_like_checks() {
    let out = sluice(
        &[
            "run",
            "-e",
            "tone -> null",
            "--duration",
            "1s",
            "--set",
            "tone.frq=1kHz",
        ],
        "",
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "error: --set tone.frq=1kHz: `tone` has no parameter `frq`\nhelp: did you mean `freq`?"
        ),
        "{err}"
    );
    let out = sluice(
        &[
            "run",
            "-e",
            "tone -> null",
            "--duration",
            "1s",
            "--set",
            "tonne.freq=1kHz",
        ],
        "",
    );
    assert!(
        text(&out.stderr).contains("help: did you mean `tone`?"),
        "{}",
        text(&out.stderr)
    );
    // The node's constraints hold for a value set from the command line too.
    let out = sluice(
        &[
            "run",
            "-e",
            "tone -> null",
            "--duration",
            "1s",
            "--set",
            "tone.freq=30kHz",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("must be below half the graph rate"),
        "{}",
        text(&out.stderr)
    );
}
