//! End to end through the `sluice` binary: the example graphs, the README's
//! main command, Ctrl-C, exit codes, `--set`, an ffmpeg pipe, and a mix of
//! inputs of different lengths.

use sluice_runtime::testing::skip_unless_ci;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary working directory where `examples/` is the repository's
/// (linked), so graphs' relative paths read and write as in the README.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("examples"), dir.path().join("examples")).unwrap();
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let out = sluice().args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "sluice {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn has(tool: &str) -> bool {
    let found = Command::new("which")
        .arg(tool)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip_unless_ci(&format!("{tool} not installed"));
    }
    found
}

fn wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Int => r
            .samples::<i16>()
            .map(|s| s.unwrap() as f32 / 32768.0)
            .collect(),
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
    };
    (spec, samples)
}

fn rms_db(x: &[f32]) -> f64 {
    let e: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64;
    10.0 * e.log10()
}

/// Frames in a Y4M file, counted by their headers.
fn y4m_frames(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"YUV4MPEG2 "), "{}", path.display());
    let header = bytes.iter().position(|&b| b == b'\n').unwrap();
    let line = std::str::from_utf8(&bytes[..header]).unwrap();
    let dim = |c: char| -> usize {
        line.split(' ')
            .find_map(|f| f.strip_prefix(c))
            .unwrap()
            .parse()
            .unwrap()
    };
    let frame = 6 + dim('W') * dim('H') * 3 / 2;
    assert_eq!(
        (bytes.len() - header - 1) % frame,
        0,
        "{}: partial frame",
        path.display()
    );
    (bytes.len() - header - 1) / frame
}

/// `(frames, width, height)` of a video as ffprobe decodes it.
fn ffprobe(path: &Path) -> (usize, usize, usize) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Vec<usize> = text.trim().split(',').map(|s| s.parse().unwrap()).collect();
    (v[2], v[0], v[1])
}

#[test]
fn hello_writes_a_two_second_wav() {
    let dir = workdir();
    run_in(dir.path(), &["run", "examples/graphs/hello.sluice"]);
    let (spec, samples) = wav(&dir.path().join("out/hello.wav"));
    assert_eq!((spec.sample_rate, spec.channels), (48_000, 1));
    assert_eq!(samples.len(), 2 * 48_000);
    // A -12 dBFS sine has an RMS of -15 dBFS; the noise adds little.
    assert!(
        (rms_db(&samples) + 15.0).abs() < 0.5,
        "{}",
        rms_db(&samples)
    );
}

#[test]
fn readme_conference_command_writes_its_three_outputs() {
    let dir = workdir();
    run_in(dir.path(), &["run", "examples/graphs/conference.sluice"]);
    let out = dir.path().join("out");
    let (spec, samples) = wav(&out.join("heard.wav"));
    assert_eq!(spec.channels, 2);
    assert_eq!(samples.len(), 2 * 10 * spec.sample_rate as usize);
    assert!(rms_db(&samples) > -50.0, "heard is silent");
    let levels = std::fs::read_to_string(out.join("levels.jsonl")).unwrap();
    assert!(
        levels.lines().count() >= 100,
        "{} lines",
        levels.lines().count()
    );
    let mut speaking = 0;
    for line in levels.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            v["t"].is_number() && v["node"].is_string() && v["id"].is_string(),
            "{line}"
        );
        if v.get("event").is_none() {
            assert!(
                v["rms_dbfs"].is_number() && v["peak_dbfs"].is_number(),
                "{line}"
            );
            speaking += v["speaking"].as_bool().expect(line) as usize;
        }
    }
    assert!(speaking > 0, "nobody ever spoke");
    assert_eq!(y4m_frames(&out.join("sent.y4m")), 300);
}

/// Samples at full scale (|x| >= 0.999): a clipped peak.
fn at_full_scale(x: &[f32]) -> usize {
    x.iter().filter(|v| v.abs() >= 0.999).count()
}

#[test]
fn example_conferences_never_reach_full_scale() {
    // The README's conference (its video lines dropped: the audio path is
    // what is measured, and the camera's blur is the slow part in a debug
    // build) and the spatial conference, each for its whole duration.
    let dir = workdir();
    for (graph, heard) in [
        ("conference.sluice", "heard.wav"),
        ("spatial_conference.sluice", "spatial.wav"),
    ] {
        let text = std::fs::read_to_string(root().join("examples/graphs").join(graph)).unwrap();
        let audio: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("cam"))
            .collect();
        run_in(dir.path(), &["run", "-e", &audio.join("\n")]);
        let (_, samples) = wav(&dir.path().join("out").join(heard));
        assert!(rms_db(&samples) > -50.0, "{graph}: silent");
        assert_eq!(
            at_full_scale(&samples),
            0,
            "{graph}: samples at full scale in out/{heard}"
        );
    }
}

#[test]
fn every_example_graph_runs() {
    let needs_devices = ["live_monitor.sluice", "call_analytics.sluice"];
    let dir = workdir();
    let mut ran = 0;
    for entry in std::fs::read_dir(root().join("examples/graphs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".sluice") || needs_devices.contains(&name.as_str()) {
            continue;
        }
        let graph = format!("examples/graphs/{name}");
        run_in(dir.path(), &["run", &graph, "--duration", "1s"]);
        ran += 1;
    }
    assert!(ran >= 10, "{ran} graphs");
    let written = std::fs::read_dir(dir.path().join("out")).unwrap().count();
    assert!(written >= 10, "{written} outputs");
}

#[test]
fn ctrl_c_leaves_valid_files() {
    let dir = workdir();
    let text = r#"graph long(realtime: true) {
    tone(freq: 440Hz, amp: -12dB) -> wav_out(path: "out/long.wav")
    video_test(size: 320x240, fps: 30, pattern: moving) -> y4m_out(path: "out/long.y4m")
}"#;
    let child = sluice()
        .args(["run", "-e", text])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the run is well under way (both files growing).
    let y4m = dir.path().join("out/long.y4m");
    let frame = 6 + 320 * 240 * 3 / 2;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(100));
        if std::fs::metadata(&y4m).is_ok_and(|m| m.len() > 20 * frame) {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, samples) = wav(&dir.path().join("out/long.wav"));
    assert!(samples.len() >= 48_000 / 4, "{} samples", samples.len());
    let frames = y4m_frames(&dir.path().join("out/long.y4m"));
    assert!(frames >= 10, "{frames} frames");
    if has("ffprobe") {
        assert_eq!(
            ffprobe(&dir.path().join("out/long.y4m")),
            (frames, 320, 240)
        );
        let probe = Command::new("ffprobe")
            .args(["-v", "error"])
            .arg(dir.path().join("out/long.wav"))
            .status()
            .unwrap();
        assert!(probe.success());
    }
}

#[test]
fn check_exit_codes() {
    let ok = sluice()
        .args(["check", "-e", "tone -> null"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let bad = sluice()
        .args(["check", "-e", "tone -> nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown name `nope`"));
}

#[test]
fn endless_unpaced_graph_needs_a_duration() {
    let out = sluice()
        .args(["run", "-e", "tone -> null"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("never ends") && err.contains("--duration"),
        "{err}"
    );
}

#[test]
fn set_changes_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"graph g(duration: 1s) { tone(freq: 1kHz, amp: -6dB) -> gain(db: 0dB) -> wav_out(path: "out.wav", format: f32) }"#;
    run_in(dir.path(), &["run", "-e", text]);
    let (_, plain) = wav(&dir.path().join("out.wav"));
    run_in(dir.path(), &["run", "-e", text, "--set", "gain.db=-6dB"]);
    let (_, quieter) = wav(&dir.path().join("out.wav"));
    // A live parameter set at start is built in: it holds from the first
    // sample, with no ramp over the first tick.
    let drop = rms_db(&plain) - rms_db(&quieter);
    assert!((drop - 6.0).abs() < 0.05, "{drop} dB");
    let first_tick = rms_db(&plain[..480]) - rms_db(&quieter[..480]);
    assert!(
        (first_tick - 6.0).abs() < 0.05,
        "first tick: {first_tick} dB"
    );
}

#[test]
fn set_places_a_participant_in_elevation_and_distance() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"graph g(duration: 2s) {
        room = spatialize(hrtf: "none")
        participants(synth: 1, seed: 2) -> room -> wav_out(path: "out.wav", format: f32)
    }"#;
    run_in(dir.path(), &["run", "-e", text]);
    let (_, ahead) = wav(&dir.path().join("out.wav"));
    // Straight up: equal-power pan stays centred, and 2 m is 6 dB down.
    let set = "room.position.voice1=[90deg, 90deg, 2m]";
    run_in(dir.path(), &["run", "-e", text, "--set", set]);
    let (_, above) = wav(&dir.path().join("out.wav"));
    let right = |x: &[f32]| x.iter().skip(1).step_by(2).copied().collect::<Vec<f32>>();
    let left = |x: &[f32]| x.iter().step_by(2).copied().collect::<Vec<f32>>();
    let drop = rms_db(&ahead) - rms_db(&above);
    assert!((drop - 6.02).abs() < 0.05, "{drop} dB");
    assert!((rms_db(&left(&above)) - rms_db(&right(&above))).abs() < 0.01);
    // To the right at 1 m: the left ear falls silent, the right gains 3 dB.
    run_in(
        dir.path(),
        &[
            "run",
            "-e",
            text,
            "--set",
            "room.position.voice1=[90deg, 0deg, 1m]",
        ],
    );
    let (_, side) = wav(&dir.path().join("out.wav"));
    assert!(left(&side).iter().all(|v| v.abs() < 1e-6));
    let gain = rms_db(&right(&side)) - rms_db(&right(&ahead));
    assert!((gain - 3.01).abs() < 0.05, "{gain} dB");
    // A wrong position is refused before running, naming the item.
    let out = sluice()
        .args([
            "run",
            "-e",
            text,
            "--set",
            "room.position.voice1=[0deg, 120deg]",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("item 2") && err.contains("out of range"),
        "{err}"
    );
}

#[test]
fn ffmpeg_pipe_round_trip() {
    if !has("ffmpeg") || !has("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut ffmpeg = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=2",
        ])
        .args(["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::fs::File::create(dir.path().join("out.y4m")).unwrap();
    let status = sluice()
        .args([
            "run",
            "-e",
            r#"y4m_in(path: "-") -> blur(radius: 8) -> y4m_out(path: "-")"#,
        ])
        .stdin(ffmpeg.stdout.take().unwrap())
        .stdout(out)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(ffmpeg.wait().unwrap().success());
    assert_eq!(ffprobe(&dir.path().join("out.y4m")), (50, 320, 240));
}

/// Like `sox -m`: an input that ends is silence from then on, and the mix
/// keeps going with the rest.
#[test]
fn mix_keeps_going_after_a_short_input_ends() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&short, spec).unwrap();
    for i in 0..24_000 {
        let x = (i as f32 * 300.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
        w.write_sample((x * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    let text = format!(
        r#"graph g(duration: 2s) {{ [tone(freq: 440Hz, amp: -20dB), wav_in(path: {:?})] -> mix(limit: false) -> wav_out(path: "m.wav", format: f32) }}"#,
        short.display().to_string()
    );
    run_in(dir.path(), &["run", "-e", &text]);
    let (_, m) = wav(&dir.path().join("m.wav"));
    assert_eq!(m.len(), 2 * 48_000);
    // While both play: the short file's -9 dBFS RMS dominates; after it
    // ends, the -20 dBFS tone alone (-23 dBFS RMS) goes on to the end.
    assert!(
        (rms_db(&m[1_000..23_000]) + 8.5).abs() < 1.0,
        "{}",
        rms_db(&m[1_000..23_000])
    );
    let tail = rms_db(&m[48_000..]);
    assert!((tail + 23.0).abs() < 0.2, "{tail}");
}

/// Runs `sluice` with `stdin` piped in.
fn sluice_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = sluice()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn check_rejects_a_tone_that_run_would_refuse_at_its_frequency() {
    let graph = "tone(freq: 30kHz) -> null";
    for args in [
        &["check", "-e", graph][..],
        &["run", "-e", graph, "--duration", "1s"],
    ] {
        let out = sluice().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: `freq` must be below half the graph rate\n  --> <expr>:1:12\n"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(" 1 | tone(freq: 30kHz) -> null\n   |            ^^|^^\n"),
            "{err}"
        );
        assert!(
            err.contains("help: lower `freq`, or raise the rate"),
            "{err}"
        );
    }
}

#[test]
fn a_node_that_cannot_start_is_shown_at_its_place_in_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("g.sluice");
    std::fs::write(
        &graph,
        "graph g(duration: 1s) {\n    wav_in(path: \"gone.wav\") -> wav_out(path: \"o.wav\")\n}\n",
    )
    .unwrap();
    let out = sluice()
        .arg("run")
        .arg(&graph)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    // check warned; the run fails at the same place, with the reason.
    assert!(
        err.contains("warning: gone.wav does not exist (yet)"),
        "{err}"
    );
    let at = format!("--> {}:2:5\n", graph.display());
    let failure = err
        .split("error: `wav_in` could not start: gone.wav: No such file or directory")
        .nth(1)
        .unwrap_or_else(|| panic!("no located failure in\n{err}"));
    assert!(failure.contains(&at) && failure.contains("^^^"), "{err}");
}

#[test]
fn y4m_in_loop_on_a_pipe_is_refused_at_check() {
    let mut stream = b"YUV4MPEG2 W4 H4 F30:1 C420jpeg\nFRAME\n".to_vec();
    stream.extend_from_slice(&[128u8; 24]);
    let out = sluice_with_stdin(
        &["check", "-e", r#"y4m_in(path: "-", loop: true) -> null"#],
        &stream,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(
            "error: `loop` needs a file: standard input cannot start over\n  --> <expr>:1:25\n"
        ),
        "{err}"
    );
}

#[test]
fn wav_in_of_an_mp3_says_how_to_convert_it_and_that_way_works() {
    if !has("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
        ])
        .args(["-ar", "48000", "song.mp3"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    let out = sluice()
        .args(["check", "-e", r#"wav_in(path: "song.mp3") -> null"#])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("it holds MP3 audio"), "{err}");
    assert!(err.contains("--> <expr>:1:14"), "{err}");
    let pipe = r#"ffmpeg -i song.mp3 -f wav - | sluice run -e 'wav_in(path: "-") -> ...'"#;
    assert!(err.contains(pipe), "{err}");
    // The suggested pipe, with a real sink.
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-v", "error", "-i", "song.mp3", "-f", "wav", "-"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = sluice()
        .args([
            "run",
            "-e",
            r#"wav_in(path: "-") -> wav_out(path: "song.wav")"#,
        ])
        .current_dir(dir.path())
        .stdin(ffmpeg.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(ffmpeg.wait().unwrap().success());
    let (spec, samples) = wav(&dir.path().join("song.wav"));
    assert_eq!(spec.sample_rate, 48_000);
    assert!(samples.len() >= 47_000, "{} samples", samples.len());
}
