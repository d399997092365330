//! `sluice serve` through the binary: it exits with the codes of
//! src/cli/exit.rs, as `sluice run` does (1 an invalid graph, 2 a wrong
//! command line, 3 work that failed, 0 a drained server).

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn serve(args: &[&str]) -> Output {
    sluice().arg("serve").args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CALL_GRAPH: &str = "acs_in -> mix -> acs_out";

#[test]
fn an_invalid_graph_exits_1() {
    let out = serve(&["--listen", "127.0.0.1:0", "-e", "acs_in -> no_such_kind"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_graph_without_call_nodes_exits_1() {
    let out = serve(&["--listen", "127.0.0.1:0", "-e", "tone -> null"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("neither `acs_in` nor `acs_out`"), "{err}");
}

#[test]
fn a_wrong_command_line_exits_2() {
    let out = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--setup-timeout",
        "soon",
        "-e",
        CALL_GRAPH,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn an_address_in_use_exits_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = serve(&["--listen", &addr, "-e", CALL_GRAPH]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn a_missing_jwks_file_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("gone.json");
    let out = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--auth-jwks",
        jwks.to_str().unwrap(),
        "--auth-audience",
        "resource",
        "-e",
        CALL_GRAPH,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn a_drained_server_exits_0() {
    let mut child = sluice()
        .args(["serve", "--listen", "127.0.0.1:0", "-e", CALL_GRAPH])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("listening on ws://"));
    assert!(listening, "serve never said it was listening");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", rest.join("\n"));
}
