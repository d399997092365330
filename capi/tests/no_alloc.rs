//! Proves the C host path never allocates: after `sluice_start`, the C
//! functions' pushes (video and audio, f32 and s16), pops and releases
//! allocate and free nothing, on the caller's thread and on the engine
//! thread that runs the graph for them (watched from its first tick on).

use sluice_capi::*;
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::ThreadEvent;
use std::ffi::CString;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const GRAPH: &str = r#"graph host(rate: 48kHz, frame: 10ms) {
    app_in(name: "camera", type: video, size: 320x180, format: i420, fps: 30)
        -> background_blur(mask: portrait) -> app_out(name: "outgoing")
    app_in(name: "mic", type: audio, rate: 48kHz, channels: 2)
        -> gain(db: -6dB) -> app_out(name: "speaker")
}"#;

const ROUNDS: usize = 200;

/// Watches the engine thread from its first tick until it ends (the
/// tick-end events are ignored, so its loop between ticks is counted too).
fn watch_engine(event: ThreadEvent) {
    if matches!(event, ThreadEvent::Started(_)) {
        counting::thread_hook(event);
    }
}

struct Host {
    graph: *mut SluiceGraph,
    camera: *mut SluiceInput,
    mic: *mut SluiceInput,
    outgoing: *mut SluiceOutput,
    speaker: *mut SluiceOutput,
}

fn start() -> Host {
    let mut err = SLUICE_ERR_PANIC;
    // SAFETY: the text is `GRAPH.len()` bytes; `err` is writable.
    let graph = unsafe { sluice_graph_open(GRAPH.as_ptr().cast(), GRAPH.len(), &mut err) };
    assert_eq!(err, SLUICE_OK);
    // SAFETY: `graph` was just opened.
    assert!(unsafe { &*graph }.set_thread_hook(watch_engine));
    let name = |n: &str| CString::new(n).expect("a name");
    // SAFETY: an open graph and NUL-terminated names.
    let host = unsafe {
        Host {
            graph,
            camera: sluice_input(graph, name("camera").as_ptr()),
            mic: sluice_input(graph, name("mic").as_ptr()),
            outgoing: sluice_output(graph, name("outgoing").as_ptr()),
            speaker: sluice_output(graph, name("speaker").as_ptr()),
        }
    };
    assert!(!host.camera.is_null() && !host.mic.is_null());
    assert!(!host.outgoing.is_null() && !host.speaker.is_null());
    // SAFETY: an open graph.
    assert_eq!(unsafe { sluice_start(graph) }, SLUICE_OK);
    host
}

/// A camera frame and 10 ms of stereo, as the host owns them.
struct Media {
    y: Vec<u8>,
    uv: Vec<u8>,
    audio: Vec<f32>,
    audio_i16: Vec<i16>,
    out: Vec<f32>,
    out_i16: Vec<i16>,
}

fn media() -> Media {
    Media {
        y: (0..320 * 180).map(|i| (i % 251) as u8).collect(),
        uv: vec![128; 160 * 90],
        audio: (0..960)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect(),
        audio_i16: (0..960)
            .map(|i| if i % 2 == 0 { 16384 } else { -16384 })
            .collect(),
        out: vec![0.0; 960],
        out_i16: vec![0; 960],
    }
}

/// One round through the C functions: push a frame and 10 ms of audio,
/// pop both (waiting for the engine thread), release the frame. Returns
/// the popped frame's width and the audio's first sample.
fn round(h: &Host, m: &mut Media, k: usize) -> (u32, f32) {
    let planes = [m.y.as_ptr(), m.uv.as_ptr(), m.uv.as_ptr()];
    let strides = [320usize, 160, 160];
    let pts = k as u64;
    // SAFETY: live handles; the planes hold 320x180 i420 at these
    // strides; the audio buffers hold 960 samples.
    unsafe {
        let pushed = sluice_push_video(
            h.camera,
            planes.as_ptr(),
            strides.as_ptr(),
            320,
            180,
            SLUICE_FORMAT_I420,
            pts,
        );
        assert_eq!(pushed, SLUICE_OK);
        let pushed = if k.is_multiple_of(2) {
            sluice_push_audio(h.mic, m.audio.as_ptr(), 960, pts)
        } else {
            sluice_push_audio_i16(h.mic, m.audio_i16.as_ptr(), 960, pts)
        };
        assert_eq!(pushed, SLUICE_OK);
        let mut frame = std::mem::zeroed::<SluiceVideoFrame>();
        while sluice_pop_video(h.outgoing, &mut frame) == SLUICE_NONE {
            std::thread::yield_now();
        }
        let width = frame.width;
        assert_eq!(frame.pts_ns, pts);
        assert_eq!(sluice_frame_release(&mut frame), SLUICE_OK);
        let level = if k.is_multiple_of(2) {
            while sluice_pop_audio(h.speaker, m.out.as_mut_ptr(), 960, std::ptr::null_mut())
                == SLUICE_NONE
            {
                std::thread::yield_now();
            }
            m.out[0]
        } else {
            while sluice_pop_audio_i16(h.speaker, m.out_i16.as_mut_ptr(), 960, std::ptr::null_mut())
                == SLUICE_NONE
            {
                std::thread::yield_now();
            }
            f32::from(m.out_i16[0]) / 32767.0
        };
        (width, level)
    }
}

#[test]
fn c_pushes_pops_and_releases_allocate_nothing_on_either_thread() {
    let h = start();
    let mut m = media();
    // Warm-up rounds: the engine thread's first ticks (lazily sized
    // kernel state), counted from its first tick but before the window.
    for k in 0..3 {
        round(&h, &mut m, k);
    }
    let (seen, counts) = counting::watch(|| {
        let mut seen = (0u32, 0usize);
        for k in 3..3 + ROUNDS {
            let (width, level) = round(&h, &mut m, k);
            seen.0 = seen.0.max(width);
            seen.1 += usize::from((level - 0.2506).abs() < 1e-3);
        }
        seen
    });
    assert!(
        counts.is_zero(),
        "{ROUNDS} rounds through the C functions allocated (caller and engine thread): {counts:?}"
    );
    assert_eq!(
        seen,
        (320, ROUNDS),
        "every round popped a blurred frame and -6 dB audio"
    );
    // SAFETY: an open graph, no handle in use.
    assert_eq!(unsafe { sluice_close(h.graph) }, SLUICE_OK);
}
