//! `sluice run --watch` through the binary: while a real-time graph runs,
//! a broken edit is reported (rustc-style) and the graph goes on; a good
//! edit is swapped in, the tone and the file continue, and the changed
//! gain glides to its new value.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn graph(out: &Path, db: &str) -> String {
    format!(
        "graph g(duration: 4s, realtime: true) {{
    t = tone(freq: 1000Hz, amp: 0dB)
    a = gain(db: {db})
    w = wav_out(path: \"{}\", format: f32)
    t -> a -> w
}}
",
        out.display()
    )
}

#[test]
fn watch_reports_a_bad_edit_then_swaps_a_good_one_in() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.sluice");
    let out = dir.path().join("out.wav");
    std::fs::write(&file, graph(&out, "-6dB")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--watch"])
        .arg(&file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(&file, graph(&out, "-6dB").replace("t -> a", "t -> a ->")).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(&file, graph(&out, "-12dB")).unwrap();
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stderr.contains("live.sluice:5:"),
        "no located error:\n{stderr}"
    );
    assert!(stderr.contains("the running graph goes on"), "{stderr}");
    assert!(
        stderr.contains("reloaded") && stderr.contains("crossfaded a"),
        "{stderr}"
    );

    let mut r = hound::WavReader::open(&out).unwrap();
    let x: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(x.len(), 4 * 48_000, "every sample of the 4 s is there");
    // Against the unbroken sine: -6 dB until the swap, then -12 dB, with
    // no step larger than the fade allows.
    let w = 2.0 * std::f64::consts::PI * 1000.0 / 48_000.0;
    let gains: Vec<f64> = x
        .iter()
        .enumerate()
        .filter_map(|(i, &v)| {
            let s = (w * i as f64).sin();
            (s.abs() > 0.5).then(|| v as f64 / s)
        })
        .collect();
    let (half, quarter) = (10f64.powf(-6.0 / 20.0), 10f64.powf(-12.0 / 20.0));
    assert!((gains[0] - half).abs() < 1e-3);
    assert!((gains[gains.len() - 1] - quarter).abs() < 1e-3);
    assert!(gains
        .iter()
        .all(|g| *g < half + 1e-3 && *g > quarter - 1e-3));
    assert!(gains.windows(2).all(|p| (p[1] - p[0]).abs() < 0.01));
}
