//! `blur` and `background_blur` never allocate after build: processing
//! frames and changing the radius live, counted by a global allocator;
//! serially (real-time graphs) and in bands on a rayon pool (the unpaced
//! executor), with the pool's workers counted too.

use sluice_dsl::{Arg, MediaType, PixelFormat, PlanPort, Settings, VideoType};
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
    let mut a = k.signature.default_args();
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

/// A frame of a real photo of a person (tests/data), in `format`.
fn photo(format: PixelFormat) -> VideoFrame {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/astronaut.png");
    let (w, h, rgba) = sluice_nodes::video::image_in::decode_png(path).expect("photo");
    let ty = VideoType {
        format,
        width: w,
        height: h,
        fps: (30, 1),
    };
    sluice_nodes::segment::frame_from_rgba(ty, &rgba)
}

/// The person mask's video path (`segment`, `background_blur` with the
/// default `person` mask, `background_replace`) while the model runs on its
/// own thread and its masks arrive: nothing allocates on the video thread.
/// The model's thread allocates (tract) and is not watched.
#[cfg(feature = "ml")]
#[test]
fn person_masks_do_not_allocate_with_the_model_running() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("beach.png");
    let file = std::io::BufWriter::new(std::fs::File::create(&image).expect("png"));
    let mut enc = png::Encoder::new(file, 64, 36);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let beach = sluice_nodes::video::patterns::beach(64, 36);
    enc.write_header()
        .expect("header")
        .write_image_data(&beach)
        .expect("data");
    let image = Arg::Str(image.to_str().expect("utf-8").to_string());
    for format in [PixelFormat::I420, PixelFormat::Rgba] {
        let input = photo(format);
        let ty = input.ty();
        let mask_ty = VideoType {
            format: PixelFormat::I420,
            ..ty
        };
        let mut nodes = [
            build("background_blur", &[], ty, false),
            build("background_replace", &[("image", image.clone())], ty, false),
        ];
        let mut segment = build("segment", &[], ty, false);
        let src = Frame::Video(input);
        let mut out = Frame::Video(VideoFrame::new(ty));
        let mut mask = Frame::Video(VideoFrame::new(mask_ty));
        let feather = Arg::Num(12.0);
        let ((), counted) = counting::watch(|| {
            for tick in 0..40 {
                let inputs = [Some(&src), None];
                for node in nodes.iter_mut() {
                    let mut outs = [&mut out];
                    let mut io = PortIo::new(&inputs, &mut outs, Clock::default());
                    node.process(&mut io);
                }
                let mut outs = [&mut mask];
                let mut io = PortIo::new(&inputs[..1], &mut outs, Clock::default());
                segment.process(&mut io);
                if tick == 20 {
                    segment.set("feather", &feather).expect("live feather");
                }
                // About a video frame's time: masks arrive while counting.
                std::thread::sleep(std::time::Duration::from_millis(15));
            }
        });
        assert!(
            counted.is_zero(),
            "{format:?}: allocations with the model running: {counted:?}"
        );
        // The model did answer during the run: the face is in the mask.
        let Frame::Video(m) = &mask else {
            unreachable!("video")
        };
        let w = m.width();
        let face: u32 = (40..80).map(|y| u32::from(m.plane(0)[y * w + 112])).sum();
        assert!(
            face / 40 > 200,
            "{format:?}: mask on the face {}",
            face / 40
        );
    }
}
