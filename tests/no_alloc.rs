//! Proof of the real-time rule over real nodes: graphs written in the
//! language, checked, built with the standard registry and run in a real
//! engine; a counting global allocator counts only on the threads the
//! engine's thread hook marks (from their first tick to their last), and
//! after start they neither allocate nor free.

use sluice_dsl::{Arg, Plan, SourceFile};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{Controller, Engine, Parallel, Reloader, SimClock, Summary, ThreadEvent};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

static THREADS: AtomicU64 = AtomicU64::new(0);

/// The counters are global: the tests of this file run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn hook(e: ThreadEvent) {
    if matches!(e, ThreadEvent::Started(_)) {
        THREADS.fetch_add(1, Ordering::Relaxed);
    }
    counting::thread_hook(e);
}

/// Checks graph text with the standard registry; panics with the
/// diagnostics when it is not valid.
fn plan(text: &str, realtime: bool) -> Plan {
    let file = SourceFile::new("<test>", text);
    let checked = sluice_dsl::check(&file, &sluice_nodes::registry());
    let mut plan = checked
        .plan
        .unwrap_or_else(|| panic!("{}", checked.diagnostics.render(&file, false)));
    plan.settings.realtime = realtime;
    plan
}

/// The executors a graph is proven in: real time on a simulated clock,
/// unpaced on one thread, unpaced with parallel levels.
const EXECUTORS: [(&str, bool, Parallel); 3] = [
    ("realtime", true, Parallel::Auto),
    ("unpaced", false, Parallel::Off),
    ("parallel", false, Parallel::Always),
];

/// What a test can drive a running engine with.
struct Handles {
    ctl: Controller,
    reloader: Reloader,
}

/// Builds `text`, runs it (calling `during` with the engine's controller
/// and reloader on this thread every millisecond while it runs) and asserts
/// that the watched threads did not allocate or free.
fn prove(
    label: &str,
    text: &str,
    realtime: bool,
    parallel: Parallel,
    mut during: impl FnMut(&mut Handles, u64),
) -> Summary {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registry = sluice_nodes::registry();
    let mut engine = Engine::build(&plan(text, realtime), &registry).expect("build");
    engine.set_thread_hook(hook);
    engine.set_parallel(parallel);
    engine.set_pace_clock(Arc::new(SimClock::new()));
    let mut handles = Handles {
        ctl: engine.controller(),
        reloader: engine.reloader(),
    };
    THREADS.store(0, Ordering::Relaxed);
    counting::settle();
    let before = counting::counts();
    let running = engine.start();
    let mut round = 0;
    while !running.is_finished() {
        during(&mut handles, round);
        round += 1;
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let summary = running.wait().expect("run");
    let counted = counting::counts().since(before);
    let counts = (counted.allocs, counted.frees);
    assert!(
        THREADS.load(Ordering::Relaxed) >= 1,
        "{label}: no thread watched"
    );
    assert_eq!(counts, (0, 0), "{label}: allocations and frees after start");
    summary
}

fn wav_frames(path: &Path) -> (u32, u16) {
    let r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (r.duration(), r.spec().channels)
}

/// Checks a WAV's length: exact when unpaced; in real time on the
/// simulated clock the ticks outrun the writer thread, so frames may be
/// dropped on the writer's edge (by design, and counted), never more.
fn assert_length(path: &Path, s: &Summary, want: u64, channels: u16) {
    let (frames, ch) = wav_frames(path);
    assert_eq!(ch, channels, "{}", path.display());
    let frames = frames as u64;
    assert!(frames <= want, "{}: {frames} > {want}", path.display());
    assert!(
        frames + s.drops * 480 >= want,
        "{}: {frames} frames, {} drops, {want} wanted",
        path.display(),
        s.drops
    );
}

const TICKS: u64 = 10_000;

/// At least 20 nodes: three tones and a noise, four gains, a four-input
/// mix fanned out to a delay, two pans, a meter and a null; a stereo mix
/// and gain to a WAV file (the writer thread hand-off is inside the proof)
/// and the meter's events to a JSON-lines file.
#[test]
fn big_audio_graph_does_not_allocate() {
    for (label, realtime, parallel) in EXECUTORS {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("big.wav");
        let events = dir.path().join("levels.jsonl");
        let text = format!(
            r#"graph big(rate: 48kHz, frame: 10ms, duration: {}s) {{
    t1 = tone(freq: 220Hz, amp: -12dB)
    t2 = tone(freq: 330Hz, amp: -12dB)
    t3 = tone(freq: 440Hz, amp: -12dB)
    n1 = noise(amp: -30dB, seed: 1)
    g1 = gain(db: -3dB)
    g2 = gain(db: -6dB)
    g3 = gain(db: -1dB)
    g4 = gain(db: -10dB)
    t1 -> g1
    t2 -> g2
    t3 -> g3
    n1 -> g4
    m = mix
    [g1, g2, g3, g4] -> m
    d = delay(time: 25ms)
    p1 = pan(azimuth: -30deg)
    p2 = pan(azimuth: 40deg)
    mt = meter(every: 100ms)
    m -> [d, p1, mt]
    d -> p2
    st = mix(limit: false)
    [p1, p2] -> st
    st -> gain(db: -2dB) -> wav_out(path: {:?})
    g1 -> null
    g4 -> delay(time: 5ms) -> null
    mt -> events_out(path: {:?})
}}"#,
            TICKS / 100,
            wav.display().to_string(),
            events.display().to_string()
        );
        assert!(plan(&text, false).graph.node_count() >= 20);
        let s = prove(label, &text, realtime, parallel, |_, _| {});
        assert!(s.ticks >= TICKS, "{label}: {} ticks", s.ticks);
        assert_length(&wav, &s, TICKS * 480, 2);
        let lines = std::fs::read_to_string(&events).unwrap().lines().count() as u64;
        assert!(
            lines <= TICKS / 10 && lines + s.drops >= TICKS / 10,
            "{label}: {lines}"
        );
    }
}

/// Conference audio: synthetic participants ranked by `dominant` and mixed,
/// and a mix-minus written one file per participant.
#[test]
fn conference_audio_does_not_allocate() {
    for (label, realtime, parallel) in EXECUTORS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().display().to_string();
        let text = format!(
            r#"graph conf(duration: 5s) {{
    people = participants(synth: 6, seed: 3)
    people -> dominant(top: 4, hold: 300ms) -> mix -> wav_out(path: "{out}/mixed.wav")
    people -> mix_minus -> wav_out(path: "{out}/minus/{{id}}.wav")
}}"#
        );
        let s = prove(label, &text, realtime, parallel, |_, _| {});
        assert!(s.ticks >= 500, "{label}: {} ticks", s.ticks);
        assert_length(&dir.path().join("mixed.wav"), &s, 5 * 48_000, 1);
        let files = std::fs::read_dir(dir.path().join("minus")).unwrap().count();
        assert!(files >= 2, "{label}: {files} mix-minus files");
    }
}

/// Video: blur, background blur, an explicit conversion to rgba, a filter,
/// and the conversion back to i420 that the language inserts before Y4M;
/// a second blur beside the first makes a level two wide, so the parallel
/// executor runs in its own pool and the blurs fork their bands there.
#[test]
fn video_graph_does_not_allocate() {
    for (label, realtime, parallel) in EXECUTORS {
        let dir = tempfile::tempdir().unwrap();
        let y4m = dir.path().join("v.y4m");
        let text = format!(
            r#"graph v {{
    cam = video_test(size: 320x240, fps: 30, frames: 100, pattern: moving)
    cam -> blur(radius: 4) -> background_blur(radius: 8, mask: motion)
        -> convert(format: rgba) -> filter(kind: sepia) -> y4m_out(path: {:?})
    cam -> blur(radius: 16) -> null
}}"#,
            y4m.display().to_string()
        );
        let p = plan(&text, false);
        let kinds: Vec<_> = p.graph.node_weights().map(|n| n.kind.clone()).collect();
        assert_eq!(
            kinds.iter().filter(|k| *k == "convert").count(),
            2,
            "{kinds:?}"
        );
        let s = prove(label, &text, realtime, parallel, |_, _| {});
        let bytes = std::fs::read(&y4m).unwrap();
        let frames = bytes.windows(6).filter(|w| w == b"FRAME\n").count();
        assert!(
            frames <= 100 && frames as u64 + s.drops >= 100,
            "{label}: {frames}"
        );
    }
}

/// Spatial audio with participants moved through the engine's controller
/// while it runs (each move is a new value through the control ring).
#[test]
fn moving_spatialize_does_not_allocate() {
    for (label, realtime, parallel) in EXECUTORS {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("room.wav");
        let text = format!(
            r#"graph room(duration: 8s) {{
    room = spatialize(positions: [-30deg, [30deg, 20deg, 2m], [0deg, -10deg]])
    participants(synth: 4, seed: 5) -> room
    room -> wav_out(path: {:?})
}}"#,
            wav.display().to_string()
        );
        let (mut moves, mut list_moves) = (0, 0);
        let s = prove(label, &text, realtime, parallel, |h, round| {
            let id = format!("voice{}", 1 + round % 4);
            let azimuth = Arg::Num((round * 37 % 180) as f64 - 90.0);
            // Every other move also sets elevation and distance.
            let value = if round % 2 == 0 {
                azimuth
            } else {
                let elevation = Arg::Num((round * 23 % 120) as f64 - 40.0);
                Arg::List(vec![azimuth, elevation, Arg::Num(0.5 + round as f64 % 3.0)])
            };
            let list = matches!(value, Arg::List(_));
            if h.ctl.set("room", &format!("position.{id}"), value).is_ok() {
                moves += 1;
                list_moves += usize::from(list);
            }
        });
        assert!(s.ticks >= 800, "{label}: {} ticks", s.ticks);
        assert!(moves >= 1, "{label}: no move was queued");
        assert!(
            list_moves >= 1,
            "{label}: no [azimuth, elevation, distance] move was queued"
        );
        assert_length(&wav, &s, 8 * 48_000, 2);
    }
}

/// A hot reload mid-run: the tone and the file are kept, the gain is
/// crossfaded, a pan is added. The swap itself runs on the engine's own
/// thread between ticks (unwatched: it builds and frees); the watched
/// processing threads, crossfade ticks included, still never allocate.
/// The run is long (300 s of simulated time) so that the swap lands
/// within it even when a loaded machine is slow to prepare the reload;
/// when it still ended first, the run says nothing and is made again (up
/// to three times).
#[test]
fn a_reload_does_not_allocate_on_processing_threads() {
    for (label, realtime, parallel) in EXECUTORS {
        let swapped = (1..=3).any(|attempt| {
            let swapped = reload_without_allocating(label, realtime, parallel);
            if !swapped {
                eprintln!("{label}, attempt {attempt}: the run ended before the swap; again");
            }
            swapped
        });
        assert!(
            swapped,
            "{label}: never swapped in (three runs ended first)"
        );
    }
}

/// One run of [`a_reload_does_not_allocate_on_processing_threads`];
/// whether the new plan was swapped in before the run ended.
fn reload_without_allocating(label: &str, realtime: bool, parallel: Parallel) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("r.wav");
    let text = |db: &str, extra: &str| {
        format!(
            r#"graph r(duration: 300s) {{
t = tone(freq: 440Hz)
a = gain(db: {db})
t -> a -> wav_out(path: {:?})
{extra}
}}"#,
            wav.display().to_string()
        )
    };
    let after = plan(&text("-12dB", "t -> pan(azimuth: 30deg) -> null"), realtime);
    let registry = sluice_nodes::registry();
    let mut reloaded = None;
    let s = prove(label, &text("-6dB", ""), realtime, parallel, |h, _| {
        if reloaded.is_none() {
            reloaded = Some(h.reloader.prepare(&after, &registry));
        }
    });
    let changes = reloaded.expect("no reload was tried").expect("reload");
    assert_eq!(changes.faded, ["a"], "{label}");
    assert_eq!(changes.added, ["null", "pan"], "{label}");
    assert!(s.ticks >= 30_000, "{label}: {} ticks", s.ticks);
    assert_length(&wav, &s, 300 * 48_000, 1);
    let pan = s.nodes.iter().find(|n| n.name == "pan");
    pan.is_some_and(|n| n.calls > 0)
}
