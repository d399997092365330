//! `blur` and `background_blur` never allocate after build: processing
//! frames and changing the radius live, counted by a global allocator;
//! serially (real-time graphs) and in bands on a rayon pool (the unpaced
//! executor), with the pool's workers counted too.

use sluice_dsl::{Arg, Args, MediaType, PixelFormat, PlanPort, Settings, VideoType};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{
    BuildContext, Clock, Frame, Node, PortIo, ThreadEvent, ThreadRole, VideoFrame,
};
use std::sync::{Mutex, OnceLock};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The counts are global over watched threads, and the banded test's pool
/// workers stay watched: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

/// A two-thread pool whose workers are watched from their start; kept for
/// the whole process, so no worker exits (and frees) while a test counts.
fn watched_pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .start_handler(|_| counting::thread_hook(ThreadEvent::Started(ThreadRole::Worker)))
            .build()
            .expect("a pool")
    })
}

fn build(kind: &str, args: &[(&str, Arg)], ty: VideoType, mask: bool) -> Box<dyn Node> {
    build_in(kind, args, ty, mask, true)
}

fn build_in(
    kind: &str,
    args: &[(&str, Arg)],
    ty: VideoType,
    mask: bool,
    realtime: bool,
) -> Box<dyn Node> {
    let registry = sluice_nodes::registry();
    let k = registry.kind(kind).expect("registered");
    let mut a = Args::default();
    for p in &k.signature.params {
        if let Some(d) = &p.default {
            a.set(&p.name, d.clone());
        }
    }
    for (n, v) in args {
        a.set(n, v.clone());
    }
    let port = |name: &str, connected| PlanPort {
        name: name.to_string(),
        ty: MediaType::Video(ty),
        connected,
    };
    let inputs = [port("in", true), port("mask", mask)];
    let outputs = [port("out", true)];
    let settings = Settings {
        realtime,
        ..Settings::default()
    };
    let ctx = BuildContext {
        name: kind,
        index: 0,
        args: &a,
        inputs: &inputs[..if kind == "blur" { 1 } else { 2 }],
        outputs: &outputs,
        settings: &settings,
        node_names: &[],
    };
    (k.build.as_ref().expect("runnable"))(&ctx).expect("builds")
}

#[test]
fn blur_nodes_do_not_allocate_while_running() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    for format in [PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12] {
        let ty = VideoType {
            format,
            width: 320,
            height: 240,
            fps: (30, 1),
        };
        let mut nodes = vec![
            build("blur", &[], ty, false),
            build("blur", &[("kind", Arg::Enum("box".into()))], ty, false),
            build("background_blur", &[], ty, false),
            build(
                "background_blur",
                &[("mask", Arg::Enum("motion".into()))],
                ty,
                false,
            ),
            build(
                "background_blur",
                &[("mask", Arg::Enum("port".into()))],
                ty,
                true,
            ),
        ];
        let mut input = VideoFrame::new(ty);
        for (i, v) in input.data_mut().iter_mut().enumerate() {
            *v = (i * 31 % 251) as u8;
        }
        let src = Frame::Video(input);
        let mask = Frame::Video(VideoFrame::new(ty));
        let mut out = Frame::Video(VideoFrame::new(ty));
        let radius = Arg::Num(40.0);
        let ((), counted) = counting::watch(|| {
            for node in &mut nodes {
                for tick in 0..3 {
                    let inputs = [Some(&src), Some(&mask)];
                    let mut outs = [&mut out];
                    let mut io = PortIo::new(&inputs, &mut outs, Clock::default());
                    node.process(&mut io);
                    if tick == 1 {
                        node.set("radius", &radius).expect("live radius");
                    }
                }
            }
        });
        assert!(
            counted.is_zero(),
            "{format:?}: allocations while running: {counted:?}"
        );
    }
}

/// The banded path: a frame large enough to be cut into bands, a graph that
/// is not real-time, and the node run inside a rayon pool (as the unpaced
/// executor runs it), with every worker of the pool watched too.
#[test]
fn banded_blur_does_not_allocate_while_running() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let pool = watched_pool();
    for format in [PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12] {
        let ty = VideoType {
            format,
            width: 640,
            height: 480,
            fps: (30, 1),
        };
        let mut nodes = vec![
            build_in("blur", &[], ty, false, false),
            build_in("background_blur", &[], ty, false, false),
        ];
        let mut input = VideoFrame::new(ty);
        for (i, v) in input.data_mut().iter_mut().enumerate() {
            *v = (i * 31 % 251) as u8;
        }
        let src = Frame::Video(input);
        let mut out = Frame::Video(VideoFrame::new(ty));
        let mut tick = |nodes: &mut Vec<Box<dyn Node>>| {
            for node in nodes.iter_mut() {
                let inputs = [Some(&src), None];
                let mut outs = [&mut out];
                let mut io = PortIo::new(&inputs, &mut outs, Clock::default());
                node.process(&mut io);
            }
        };
        pool.install(|| tick(&mut nodes));
        // What the warm-up retired (rayon's deque buffers) is freed now, on
        // every worker, not while counting.
        pool.broadcast(|_| counting::settle());
        let radius = Arg::Num(40.0);
        let ((), counted) = pool.install(|| {
            counting::watch(|| {
                for t in 0..3 {
                    tick(&mut nodes);
                    if t == 1 {
                        for node in nodes.iter_mut() {
                            node.set("radius", &radius).expect("live radius");
                        }
                    }
                }
            })
        });
        assert!(
            counted.is_zero(),
            "{format:?}: allocations while running in bands: {counted:?}"
        );
    }
}
