//! `blur` and `background_blur` never allocate after build: processing
//! frames and changing the radius live, counted by a global allocator.

use sluice_dsl::{Arg, Args, MediaType, PixelFormat, PlanPort, Settings, VideoType};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{BuildContext, Clock, Frame, Node, PortIo, VideoFrame};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn build(kind: &str, args: &[(&str, Arg)], ty: VideoType, mask: bool) -> Box<dyn Node> {
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
        realtime: true,
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
    (k.build.expect("runnable"))(&ctx).expect("builds")
}

#[test]
fn blur_nodes_do_not_allocate_while_running() {
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
