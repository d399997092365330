//! `exec` end to end: real graphs run by the `sluice` binary with real
//! programs as children (POSIX tools, and the standard-library Python
//! examples when python3 is there).

use sluice_runtime::testing::skip_unless_ci;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A working directory where `examples/` is the repository's.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("examples"), dir.path().join("examples")).unwrap();
    dir
}

/// Runs `sluice run -e GRAPH ARGS...` in `dir`; output and wall time.
fn run(dir: &Path, graph: &str, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "-e", graph])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{graph}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out, took)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The number before `what` in exec's end-of-run line.
fn count(report: &str, what: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with("exec: "))
        .unwrap_or_else(|| panic!("no exec report in:\n{report}"));
    let at = line
        .find(what)
        .unwrap_or_else(|| panic!("no `{what}` in {line}"));
    line[..at]
        .trim_end()
        .rsplit([' ', ','])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before `{what}` in {line}"))
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Whether python3 runs here; on CI it must.
fn python() -> bool {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_unless_ci("python3 is not installed");
    }
    ok
}

/// Processes whose command line contains `marker` (no leftovers).
fn alive(marker: &str) -> usize {
    let out = Command::new("pgrep").args(["-f", marker]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn the_python_level_analyser_turns_audio_into_events() {
    if !python() {
        return;
    }
    let dir = workdir();
    let graph = r#"tone(amp: -20dB) -> exec(cmd: ["python3", "examples/exec/levels.py"]) -> events_out(path: "e.jsonl")"#;
    let (out, _) = run(dir.path(), graph, &["--duration", "2s"]);
    let ev = json_lines(&dir.path().join("e.jsonl"));
    assert!(ev.len() >= 15, "{} events\n{}", ev.len(), stderr(&out));
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["node"], "exec");
        // A -20 dB sine: RMS -23 dBFS.
        assert!((e["rms_dbfs"].as_f64().unwrap() + 23.0).abs() < 0.5, "{e}");
        assert_eq!(e["loud"], true);
        assert!(e["t"].as_f64().unwrap() > 0.0);
        assert_eq!(e.get("event").is_some(), i == 0, "loud_start only first");
    }
    assert!(
        stderr(&out).contains("[exec] levels.py: input closed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn returned_audio_comes_back_delay_later_sample_for_sample() {
    let dir = workdir();
    let graph = r#"tone(freq: 300Hz, amp: -6dB) -> exec(cmd: ["cat"], returns: audio, delay: 50ms) -> wav_out(path: "o.wav", format: f32)
tone(freq: 300Hz, amp: -6dB) -> wav_out(path: "i.wav", format: f32)"#;
    let (out, _) = run(dir.path(), graph, &["--duration", "1s"]);
    let read = |f: &str| -> Vec<f32> {
        hound::WavReader::open(dir.path().join(f))
            .unwrap()
            .into_samples::<f32>()
            .map(Result::unwrap)
            .collect()
    };
    let (i, o) = (read("i.wav"), read("o.wav"));
    assert_eq!(i.len(), o.len());
    assert!(
        o[..2400].iter().all(|x| *x == 0.0),
        "silence before the delay"
    );
    let worst = i[..i.len() - 2400]
        .iter()
        .zip(&o[2400..])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "largest difference {worst}\n{}", stderr(&out));
    assert_eq!(count(&stderr(&out), "passed through"), 0);
}

#[test]
fn a_child_that_never_reads_does_not_stall_a_real_time_graph() {
    let dir = workdir();
    let marker = "sleep 31.4159";
    let graph =
        format!(r#"tone -> exec(cmd: ["sh", "-c", "{marker}"]) -> events_out(path: "e.jsonl")"#);
    let (out, took) = run(dir.path(), &graph, &["--realtime", "--duration", "3s"]);
    assert!(took < Duration::from_millis(4_500), "took {took:?}");
    let report = stderr(&out);
    assert!(count(&report, "dropped (program behind)") > 100, "{report}");
    assert_eq!(alive(marker), 0, "the child was killed and reaped");
}

#[test]
fn a_slow_reader_loses_the_oldest_media_and_the_graph_keeps_time() {
    let dir = workdir();
    // Reads 1 KiB every 50 ms: a fifth of a 48 kHz s16 stream.
    let graph = r#"tone -> exec(cmd: ["sh", "-c", "while dd bs=1024 count=1 status=none of=/dev/null; do sleep 0.05; done"], queue: 100ms) -> events_out(path: "e.jsonl")"#;
    let (out, took) = run(dir.path(), graph, &["--realtime", "--duration", "3s"]);
    assert!(took < Duration::from_millis(4_500), "took {took:?}");
    let report = stderr(&out);
    assert!(count(&report, "dropped (program behind)") > 50, "{report}");
    assert!(count(&report, "blocks in") > 10, "{report}");
}

/// A program that answers only at the end of its input (a summary, a
/// transcript's last words): in an unpaced run its line still reaches the
/// events file, and it had every byte of the media first.
#[test]
fn a_line_printed_after_the_input_ends_reaches_the_events_file() {
    let dir = workdir();
    let graph = r#"tone -> exec(cmd: ["sh", "-c", "echo \"{\\\"bytes\\\": $(wc -c)}\""]) -> events_out(path: "e.jsonl")"#;
    let (out, _) = run(dir.path(), graph, &["--duration", "1s"]);
    let ev = json_lines(&dir.path().join("e.jsonl"));
    assert_eq!(ev.len(), 1, "{ev:?}\n{}", stderr(&out));
    // One second of 48 kHz mono s16le.
    assert_eq!(ev[0]["bytes"], 96_000, "{}", stderr(&out));
    assert_eq!(ev[0]["node"], "exec");
}

#[test]
fn a_crashing_child_is_restarted_and_its_events_kept() {
    let dir = workdir();
    let graph = r#"tone -> exec(cmd: ["sh", "-c", "echo '{\"hello\": 1}'; exit 3"]) -> events_out(path: "e.jsonl")"#;
    let (out, _) = run(dir.path(), graph, &["--realtime", "--duration", "2s"]);
    let report = stderr(&out);
    let restarts = count(&report, "restarts");
    assert!(
        (2..=12).contains(&restarts),
        "{restarts} restarts (backoff)\n{report}"
    );
    let ev = json_lines(&dir.path().join("e.jsonl"));
    assert!(ev.len() as u64 >= restarts, "{} events", ev.len());
    assert!(ev.iter().all(|e| e["hello"] == 1 && e["node"] == "exec"));
}

#[test]
fn a_garbage_flood_is_counted_and_memory_stays_bounded() {
    let dir = workdir();
    for (cmd, what) in [
        (r#"["yes", "not json"]"#, "garbage lines"),
        (r#"["cat", "/dev/zero"]"#, "too long"),
    ] {
        let graph = format!(r#"tone -> exec(cmd: {cmd}) -> events_out(path: "e.jsonl")"#);
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["run", "-e", &graph, "--realtime", "--duration", "2s"])
            .current_dir(dir.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut peak_kb = 0;
        while Path::new(&format!("/proc/{pid}/status")).exists() {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if status.contains("State:\tZ") {
                break;
            }
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let report = stderr(&out);
        assert!(count(&report, what) > 0, "{report}");
        assert!(peak_kb < 200_000, "{cmd}: {peak_kb} kB resident");
        assert!(std::fs::read_to_string(dir.path().join("e.jsonl"))
            .unwrap()
            .is_empty());
    }
}

#[test]
fn one_child_per_participant_with_its_id() {
    let dir = workdir();
    let graph = r#"participants(synth: 3) -> exec(cmd: ["sh", "-c", "echo \"{\\\"who\\\": \\\"$SLUICE_ID\\\", \\\"rate\\\": $SLUICE_RATE, \\\"format\\\": \\\"$SLUICE_FORMAT\\\"}\"; cat > /dev/null"], rate: 16kHz, format: f32le) -> events_out(path: "e.jsonl")"#;
    let (out, _) = run(dir.path(), graph, &["--duration", "1s"]);
    let ev = json_lines(&dir.path().join("e.jsonl"));
    let mut ids: Vec<&str> = ev.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["voice1", "voice2", "voice3"], "{}", stderr(&out));
    for e in &ev {
        assert_eq!(e["who"], e["id"]);
        assert_eq!(e["rate"], 16000);
        assert_eq!(e["format"], "f32le");
    }
}

#[test]
fn returned_video_is_the_filtered_input() {
    if !python() {
        return;
    }
    let dir = workdir();
    let graph = r#"v = video_test(size: 64x48, fps: 10, frames: 20, pattern: gradient)
v -> exec(cmd: ["python3", "examples/exec/invert.py"], returns: video, delay: 200ms) -> y4m_out(path: "o.y4m")
v -> y4m_out(path: "i.y4m")"#;
    let (out, _) = run(dir.path(), graph, &[]);
    let frames = |f: &str| -> Vec<Vec<u8>> {
        let data = std::fs::read(dir.path().join(f)).unwrap();
        let mut d = y4m::decode(&data[..]).unwrap();
        std::iter::from_fn(|| d.read_frame().ok().map(|fr| fr.get_y_plane().to_vec())).collect()
    };
    let (i, o) = (frames("i.y4m"), frames("o.y4m"));
    assert_eq!(i.len(), 20);
    assert_eq!(o.len(), 20);
    for k in 2..20 {
        let inverted: Vec<u8> = i[k - 2].iter().map(|v| 255 - v).collect();
        assert_eq!(o[k], inverted, "frame {k}\n{}", stderr(&out));
    }
}

#[test]
fn a_program_that_does_not_exist_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "run",
            "-e",
            r#"tone -> exec(cmd: ["no-such-model-xyz"]) -> null"#,
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("cannot run `no-such-model-xyz`: no such executable on PATH"),
        "{text}"
    );
}
