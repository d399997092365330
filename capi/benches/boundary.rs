//! The host boundary's cost (`cargo bench --workspace --bench boundary`):
//! one frame pushed into `app_in -> app_out` (no processing between),
//! one tick, and the frame popped and given back, through the Rust API
//! (the caller's thread steps) and through the C functions (the engine
//! thread steps; the caller waits for the pop), for a 720p i420 frame
//! and 10 ms of 48 kHz stereo; against a plain copy of the same frame,
//! the floor, and for the C path's two threads against the same two
//! copies made on two threads with nothing between them. BENCHMARKS.md
//! has the table ("Host boundary").

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_capi::*;
use sluice_dsl::SourceFile;
use sluice_runtime::{AudioFrame, Driven, Engine, Input, Output, VideoFrame};
use std::ffi::CString;
use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

const VIDEO: &str = r#"graph v {
    app_in(name: "in", type: video, size: 1280x720, format: i420, fps: 30) -> app_out(name: "out")
}"#;

const AUDIO: &str = r#"graph a(rate: 48kHz, frame: 10ms) {
    app_in(name: "in", type: audio, rate: 48kHz, channels: 2) -> app_out(name: "out")
}"#;

const W: usize = 1280;
const H: usize = 720;
const SAMPLES: usize = 960;

fn engine(text: &str) -> Engine {
    let registry = sluice_nodes::registry();
    let file = SourceFile::new("bench.sluice", text);
    let plan = sluice_dsl::check(&file, &registry).plan.expect("checks");
    Engine::build(&plan, &registry).expect("builds")
}

/// A host frame: i420 planes.
fn planes() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        (0..W * H).map(|i| (i % 251) as u8).collect(),
        vec![128; W * H / 4],
        vec![128; W * H / 4],
    )
}

fn copy_floor(c: &mut Criterion) {
    let (y, u, v) = planes();
    let (mut dy, mut du, mut dv) = (vec![0u8; W * H], vec![0u8; W * H / 4], vec![0u8; W * H / 4]);
    c.bench_function("copy 720p i420 (floor)", |b| {
        b.iter(|| {
            dy.copy_from_slice(black_box(&y));
            du.copy_from_slice(black_box(&u));
            dv.copy_from_slice(black_box(&v));
        })
    });
    let audio = vec![0.25f32; SAMPLES];
    let mut out = vec![0f32; SAMPLES];
    c.bench_function("copy 10 ms stereo (floor)", |b| {
        b.iter(|| out.copy_from_slice(black_box(&audio)))
    });
}

/// The floor of a handoff to another thread: the caller copies the frame
/// into a shared buffer, a second thread copies it on into another and
/// says so, and the caller reads the result: the C path's two copies and
/// wake-ups, with nothing of Sluice's between them.
fn handoff_floor(c: &mut Criterion) {
    handoff(
        c,
        "copy 720p i420 to another thread and on (floor)",
        W * H * 3 / 2,
    );
    handoff(
        c,
        "copy 10 ms stereo to another thread and on (floor)",
        SAMPLES * 4,
    );
}

/// [`handoff_floor`] for a frame of `len` bytes.
fn handoff(c: &mut Criterion, name: &str, len: usize) {
    let src: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let shared = Arc::new(Handoff {
        inbox: Mutex::new(vec![0u8; len]),
        outbox: Mutex::new(vec![0u8; len]),
        turn: AtomicU8::new(IDLE),
    });
    let other = shared.clone();
    let worker = std::thread::spawn(move || other.serve());
    c.bench_function(name, |b| {
        b.iter(|| {
            shared.inbox.lock().expect("inbox").copy_from_slice(&src);
            shared.turn.store(ASKED, Ordering::Release);
            worker.thread().unpark();
            while shared.turn.load(Ordering::Acquire) != DONE {
                std::hint::spin_loop();
            }
            black_box(shared.outbox.lock().expect("outbox")[0]);
            shared.turn.store(IDLE, Ordering::Relaxed);
        })
    });
    shared.turn.store(QUIT, Ordering::Release);
    worker.thread().unpark();
    worker.join().expect("worker");
}

const IDLE: u8 = 0;
const ASKED: u8 = 1;
const DONE: u8 = 2;
const QUIT: u8 = 3;

/// The two buffers of [`handoff_floor`] and whose turn it is (the locks
/// are never contended: the turn orders the threads).
struct Handoff {
    inbox: Mutex<Vec<u8>>,
    outbox: Mutex<Vec<u8>>,
    turn: AtomicU8,
}

impl Handoff {
    /// The second thread: parks until asked, copies inbox to outbox.
    fn serve(&self) {
        loop {
            match self.turn.load(Ordering::Acquire) {
                ASKED => {
                    let inbox = self.inbox.lock().expect("inbox");
                    self.outbox.lock().expect("outbox").copy_from_slice(&inbox);
                    self.turn.store(DONE, Ordering::Release);
                }
                QUIT => return,
                _ => std::thread::park(),
            }
        }
    }
}

fn rust_video(c: &mut Criterion) {
    let mut e = engine(VIDEO);
    let mut input: Input<VideoFrame> = e.input("in").expect("in");
    let mut output: Output = e.output("out").expect("out");
    let mut driven: Driven = e.drive();
    let (y, u, v) = planes();
    c.bench_function("rust push-step-pop 720p i420", |b| {
        b.iter(|| {
            let pushed = input.push_planes(&[&y, &u, &v], &[W, W / 2, W / 2]);
            assert_eq!(pushed, Ok(true));
            driven.step(input.domain());
            let frame = output.pop().expect("a frame");
            black_box(frame.video().map(|f| f.plane(0)[0]));
        })
    });
}

fn rust_audio(c: &mut Criterion) {
    let mut e = engine(AUDIO);
    let mut input: Input<AudioFrame> = e.input("in").expect("in");
    let mut output: Output = e.output("out").expect("out");
    let mut driven: Driven = e.drive();
    let samples = vec![0.25f32; SAMPLES];
    c.bench_function("rust push-step-pop 10 ms stereo", |b| {
        b.iter(|| {
            assert_eq!(input.push_interleaved(&samples), Ok(true));
            driven.step(input.domain());
            let frame = output.pop().expect("a frame");
            black_box(frame.audio().map(|a| a.channel(0)[0]));
        })
    });
}

/// An open, started C graph and its two handles.
struct CGraph {
    graph: *mut SluiceGraph,
    input: *mut SluiceInput,
    output: *mut SluiceOutput,
}

fn c_graph(text: &str) -> CGraph {
    let mut err = SLUICE_OK;
    let (i, o) = (
        CString::new("in").expect("in"),
        CString::new("out").expect("out"),
    );
    // SAFETY: the text is `text.len()` bytes, the names NUL-terminated.
    unsafe {
        let graph = sluice_graph_open(text.as_ptr().cast(), text.len(), &mut err);
        assert_eq!(err, SLUICE_OK);
        let g = CGraph {
            graph,
            input: sluice_input(graph, i.as_ptr()),
            output: sluice_output(graph, o.as_ptr()),
        };
        assert_eq!(sluice_start(graph), SLUICE_OK);
        g
    }
}

fn c_video(c: &mut Criterion) {
    let g = c_graph(VIDEO);
    let (y, u, v) = planes();
    let ptrs = [y.as_ptr(), u.as_ptr(), v.as_ptr()];
    let strides = [W, W / 2, W / 2];
    c.bench_function("c push-pop-release 720p i420", |b| {
        b.iter(|| {
            // SAFETY: live handles; the planes hold a 720p i420 frame.
            unsafe {
                let pushed = sluice_push_video(
                    g.input,
                    ptrs.as_ptr(),
                    strides.as_ptr(),
                    W as u32,
                    H as u32,
                    SLUICE_FORMAT_I420,
                    0,
                );
                assert_eq!(pushed, SLUICE_OK);
                let mut frame = std::mem::zeroed::<SluiceVideoFrame>();
                while sluice_pop_video(g.output, &mut frame) == SLUICE_NONE {
                    std::hint::spin_loop();
                }
                black_box(*frame.planes[0]);
                sluice_frame_release(&mut frame);
            }
        })
    });
    // SAFETY: an open graph, no handle in use.
    unsafe { sluice_close(g.graph) };
}

fn c_audio(c: &mut Criterion) {
    let g = c_graph(AUDIO);
    let samples = vec![0.25f32; SAMPLES];
    let mut out = vec![0f32; SAMPLES];
    c.bench_function("c push-pop 10 ms stereo", |b| {
        b.iter(|| {
            // SAFETY: live handles; both buffers hold 960 samples.
            unsafe {
                assert_eq!(
                    sluice_push_audio(g.input, samples.as_ptr(), SAMPLES, 0),
                    SLUICE_OK
                );
                let out_ptr = out.as_mut_ptr();
                while sluice_pop_audio(g.output, out_ptr, SAMPLES, std::ptr::null_mut())
                    == SLUICE_NONE
                {
                    std::hint::spin_loop();
                }
            }
            black_box(out[0]);
        })
    });
    // SAFETY: an open graph, no handle in use.
    unsafe { sluice_close(g.graph) };
}

criterion_group!(
    boundary,
    copy_floor,
    handoff_floor,
    rust_video,
    rust_audio,
    c_video,
    c_audio
);
criterion_main!(boundary);
