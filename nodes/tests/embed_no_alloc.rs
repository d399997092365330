//! Proves the host path never allocates: after the engine is built and
//! its endpoints handed out, pushes into `app_in`, driven steps through
//! real nodes, and pops from `app_out` allocate and free nothing, on the
//! stepping thread and on a separate host thread that pops.

use sluice_dsl::{Domain, SourceFile};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{AudioFrame, Driven, Engine, Input, Output, VideoFrame};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Video and audio in, through real processing, out to the host.
const GRAPH: &str = r#"graph host(rate: 48kHz, frame: 10ms) {
    app_in(name: "camera", type: video, size: 320x180, format: i420, fps: 30)
        -> background_blur(mask: portrait) -> app_out(name: "outgoing")
    app_in(name: "mic", type: audio, rate: 48kHz, channels: 2)
        -> gain(db: -6dB) -> app_out(name: "speaker")
}"#;

const STEPS: usize = 300;

struct Host {
    driven: Driven,
    camera: Input<VideoFrame>,
    mic: Input<AudioFrame>,
    outgoing: Output,
    speaker: Output,
}

fn host() -> Host {
    let registry = sluice_nodes::registry();
    let file = SourceFile::new("host.sluice", GRAPH);
    let checked = sluice_dsl::check(&file, &registry);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{}", checked.diagnostics.render(&file, false)));
    let mut engine = Engine::build(&plan, &registry).expect("builds");
    Host {
        camera: engine.input("camera").expect("camera"),
        mic: engine.input("mic").expect("mic"),
        outgoing: engine.output("outgoing").expect("outgoing"),
        speaker: engine.output("speaker").expect("speaker"),
        driven: engine.drive(),
    }
}

/// A camera frame the host owns (i420 planes) and 10 ms of stereo.
struct Media {
    y: Vec<u8>,
    uv: Vec<u8>,
    audio: Vec<f32>,
}

fn media() -> Media {
    Media {
        y: (0..320 * 180).map(|i| (i % 251) as u8).collect(),
        uv: vec![128; 160 * 90],
        audio: (0..960)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect(),
    }
}

/// One round of the host path: push, step, pop (frames checked).
fn round(h: &mut Host, m: &Media) -> (usize, f32) {
    let planes = [&m.y[..], &m.uv[..], &m.uv[..]];
    assert_eq!(h.camera.push_planes(&planes, &[320, 160, 160]), Ok(true));
    assert_eq!(h.mic.push_interleaved(&m.audio), Ok(true));
    h.driven.step(Domain::Audio);
    h.driven.step(h.camera.domain());
    let video = h.outgoing.pop().map(|f| f.video().map_or(0, |v| v.width()));
    let level = h
        .speaker
        .pop()
        .map(|f| f.audio().map_or(0.0, |a| a.channel(0)[0]));
    (video.unwrap_or(0), level.unwrap_or(0.0))
}

#[test]
fn push_step_pop_allocates_nothing() {
    let mut h = host();
    let m = media();
    // One warm-up round (first touches of lazily sized kernel state).
    round(&mut h, &m);
    let (seen, counts) = counting::watch(|| {
        let mut seen = (0, 0.0f32);
        for _ in 0..STEPS {
            let (w, level) = round(&mut h, &m);
            seen = (seen.0 + w, seen.1.max(level));
        }
        seen
    });
    assert!(counts.is_zero(), "{STEPS} rounds allocated: {counts:?}");
    assert_eq!(seen.0, 320 * STEPS, "every round popped a 320-wide frame");
    assert!(
        (seen.1 - 0.25).abs() < 1e-3,
        "-6 dB on 0.5 gives 0.25: {}",
        seen.1
    );
    assert_eq!((h.camera.dropped(), h.mic.dropped()), (0, 0));
    assert_eq!(h.outgoing.dropped(), 0);
    h.driven.finish().expect("finishes");
}

#[test]
fn a_host_thread_that_pops_allocates_nothing() {
    let Host {
        mut driven,
        mut camera,
        mut outgoing,
        ..
    } = host();
    let m = media();
    let planes = [&m.y[..], &m.uv[..], &m.uv[..]];
    let popper = std::thread::spawn(move || {
        let (popped, counts) = counting::watch(|| {
            let mut popped = 0;
            // A popper that falls behind makes the graph drop (counted).
            while popped + (outgoing.dropped() as usize) < STEPS {
                match outgoing.pop() {
                    Some(f) => popped += usize::from(f.video().is_some()),
                    None => std::hint::spin_loop(),
                }
            }
            popped
        });
        (popped, counts, outgoing)
    });
    let (_, counts) = counting::watch(|| {
        for _ in 0..STEPS {
            assert_eq!(camera.push_planes(&planes, &[320, 160, 160]), Ok(true));
            driven.step(camera.domain());
        }
    });
    let (popped, pop_counts, outgoing) = popper.join().expect("popper");
    assert!(
        counts.is_zero(),
        "pushing and stepping allocated: {counts:?}"
    );
    assert!(pop_counts.is_zero(), "popping allocated: {pop_counts:?}");
    assert_eq!(popped + outgoing.dropped() as usize, STEPS);
    driven.finish().expect("finishes");
}

#[test]
fn bad_names_media_and_sizes_are_clear_errors() {
    let registry = sluice_nodes::registry();
    let file = SourceFile::new("host.sluice", GRAPH);
    let plan = sluice_dsl::check(&file, &registry).plan.expect("checks");
    let mut engine = Engine::build(&plan, &registry).expect("builds");
    let unknown = engine.input::<VideoFrame>("camra").unwrap_err().to_string();
    assert!(
        unknown.contains("`camera`") && unknown.contains("`mic`"),
        "{unknown}"
    );
    let wrong = engine
        .input::<AudioFrame>("camera")
        .unwrap_err()
        .to_string();
    assert_eq!(wrong, "`camera` carries video, not audio");
    let mut camera = engine.input::<VideoFrame>("camera").expect("camera");
    let taken = engine
        .input::<VideoFrame>("camera")
        .unwrap_err()
        .to_string();
    assert!(taken.contains("handed out already"), "{taken}");
    assert!(
        engine.output("camera").is_err(),
        "an input is not an output"
    );
    let short = vec![0u8; 100];
    let err = camera.push_planes(&[&short, &short, &short], &[320, 160, 160]);
    assert!(err.unwrap_err().to_string().contains("plane 0"));
    let mut mic = engine.input::<AudioFrame>("mic").expect("mic");
    let err = mic.push_interleaved(&[0.0; 480]).unwrap_err().to_string();
    assert!(err.contains("960 values"), "{err}");
    assert_eq!(
        (camera.queued(), mic.queued()),
        (0, 0),
        "refused pushes queue nothing"
    );
}
