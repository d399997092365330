//! `sluice run --realtime --stats`: the flag paces an unpaced graph by the
//! clock, and the stats table gains the per-domain tick-time and jitter
//! histograms the real-time harness (benches/realtime.sh) reports.

use std::process::Command;
use std::time::Instant;

#[test]
fn realtime_flag_paces_the_graph_and_stats_show_domain_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let graph = r#"graph g(duration: 400ms) { tone(freq: 1kHz) -> gain(db: -6dB) -> wav_out(path: "out.wav", format: f32) }"#;
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--realtime", "--stats=end", "-e", graph])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let took = t0.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Paced: 400 ms of media cannot take less than about 400 ms (an
    // unpaced run of this graph takes a few milliseconds).
    assert!(took.as_millis() >= 380, "took {took:?}: not paced\n{err}");
    let header = err
        .lines()
        .find(|l| l.starts_with("domain "))
        .unwrap_or_else(|| panic!("no domain table:\n{err}"));
    for col in ["p50", "p99", "p99.9", "max", "xruns"] {
        assert!(header.contains(col), "{header}");
    }
    for row in ["tick", "late"] {
        let line = err
            .lines()
            .find(|l| l.starts_with("audio") && l.split_whitespace().nth(1) == Some(row))
            .unwrap_or_else(|| panic!("no audio {row} row:\n{err}"));
        let count: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert_eq!(count, 40, "{line}");
    }
    let wav = hound::WavReader::open(dir.path().join("out.wav")).unwrap();
    assert_eq!(wav.duration(), 19_200);
}
