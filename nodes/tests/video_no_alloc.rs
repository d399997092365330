//! Proves the video nodes' `process` never allocates: a counting global
//! allocator watches hundreds of ticks of a real chain (test camera, Y4M
//! file in, filters, scaling, compositing, gallery, conversions, Y4M file
//! out), built the way the engine builds nodes.

use sluice_dsl::{Arg, MediaType, Settings, VideoType};
use sluice_nodes::registry;
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::testing::build_node;
use sluice_runtime::{Clock, Flow, Frame, Node, PortIo, Registry};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// A node built from the registry with its output frame.
struct Stage {
    node: Box<dyn Node>,
    out: Vec<Frame>,
    ty: Option<VideoType>,
}

fn stage(reg: &Registry, kind: &str, given: &[(&str, Arg)], inputs: &[VideoType]) -> Stage {
    let ins: Vec<MediaType> = inputs.iter().map(|&v| MediaType::Video(v)).collect();
    let (node, outs) =
        build_node(reg, kind, given, &ins, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    let ty = outs.first().and_then(|t| match t {
        MediaType::Video(v) => Some(*v),
        _ => None,
    });
    Stage {
        node,
        out: outs.iter().map(|t| Frame::for_type(t, 480)).collect(),
        ty,
    }
}

/// Runs `stages[i]` with inputs taken from the outputs of `wiring[i]`.
fn tick(stages: &mut [Stage], wiring: &[Vec<usize>], t: u64) -> bool {
    let mut ended = false;
    for (i, from) in wiring.iter().enumerate() {
        let (before, rest) = stages.split_at_mut(i);
        let me = &mut rest[0];
        let mut ins: [Option<&Frame>; 8] = [None; 8];
        for (slot, &src) in from.iter().enumerate() {
            ins[slot] = Some(&before[src].out[0]);
        }
        let n = from.len();
        let mut outs: [&mut Frame; 1] = match me.out.first_mut() {
            Some(f) => [f],
            None => {
                let mut io = PortIo::new(&ins[..n], &mut [], Clock::default());
                me.node.process(&mut io);
                continue;
            }
        };
        let clock = Clock {
            tick: t,
            time: t * 33_333_333,
            rate: 48_000,
            frame_samples: 480,
        };
        let mut io = PortIo::new(&ins[..n], &mut outs, clock);
        ended |= me.node.process(&mut io) == Flow::Ended;
    }
    ended
}

/// Ticks run (more than the 5-frame input file, so `loop` rewinds).
const TICKS: u64 = 30;

#[test]
fn video_chain_does_not_allocate_while_processing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry();
    let size = Arg::Size(320, 180);
    let path = |n: &str| Arg::Str(dir.path().join(n).to_string_lossy().into_owned());
    let e = |s: &str| Arg::Enum(s.into());
    // Prepare an input file with y4m_out itself (allocation not counted).
    {
        let cam = stage(
            &reg,
            "video_test",
            &[("size", size.clone()), ("pattern", e("checker"))],
            &[],
        );
        let ty = cam.ty.unwrap();
        let mut w = vec![
            cam,
            stage(&reg, "y4m_out", &[("path", path("in.y4m"))], &[ty]),
        ];
        for t in 0..5 {
            tick(&mut w, &[vec![], vec![0]], t);
        }
        w[1].node.finish().unwrap();
    }
    let mut s = Vec::new();
    let mut wiring: Vec<Vec<usize>> = Vec::new();
    let mut add = |s: &mut Vec<Stage>, kind: &str, given: &[(&str, Arg)], from: Vec<usize>| {
        let tys: Vec<VideoType> = from.iter().map(|&i| s[i].ty.unwrap()).collect();
        s.push(stage(&reg, kind, given, &tys));
        wiring.push(from);
        s.len() - 1
    };
    let cam = add(
        &mut s,
        "video_test",
        &[("size", size.clone()), ("pattern", e("moving"))],
        vec![],
    );
    let file = add(
        &mut s,
        "y4m_in",
        &[("path", path("in.y4m")), ("loop", Arg::Bool(true))],
        vec![],
    );
    let sepia = add(&mut s, "filter", &[("kind", e("sepia"))], vec![cam]);
    let adj = add(
        &mut s,
        "adjust",
        &[("contrast", Arg::Num(1.2))],
        vec![sepia],
    );
    let rgba = add(&mut s, "convert", &[("format", e("rgba"))], vec![file]);
    let small = add(
        &mut s,
        "scale",
        &[("size", Arg::Size(100, 60)), ("fit", e("letterbox"))],
        vec![rgba],
    );
    let over = add(
        &mut s,
        "overlay",
        &[
            ("x", Arg::Num(-30.0)),
            ("scale", Arg::Num(0.7)),
            ("alpha", Arg::Num(0.8)),
        ],
        vec![adj, small],
    );
    let gray = add(&mut s, "filter", &[("kind", e("grayscale"))], vec![file]);
    let grid = add(
        &mut s,
        "grid",
        &[("size", Arg::Size(640, 360))],
        vec![over, gray, cam],
    );
    let nv12 = add(
        &mut s,
        "convert",
        &[("format", e("nv12")), ("matrix", e("bt709"))],
        vec![grid],
    );
    let back = add(&mut s, "convert", &[("format", e("i420"))], vec![nv12]);
    add(&mut s, "y4m_out", &[("path", path("out.y4m"))], vec![back]);
    // One warm-up tick (first writes may size OS-side buffers), then count.
    tick(&mut s, &wiring, 0);
    let ((), counted) = counting::watch(|| {
        for t in 1..TICKS {
            tick(&mut s, &wiring, t);
        }
    });
    for st in &mut s {
        st.node.finish().unwrap();
    }
    assert!(counted.is_zero(), "process allocated: {counted:?}");
    let written = std::fs::read(dir.path().join("out.y4m")).unwrap();
    let header = written.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(
        written.len(),
        header + TICKS as usize * (6 + 640 * 360 * 3 / 2)
    );
}
