//! Writes the pictures of docs/video.md and docs/blur.md through the real
//! nodes, png_out included: the test patterns and each video node's effect
//! at 320x180, and the blurs at 480x270 on the `moving` camera pattern
//! (i420, as a camera gives it; its figure stands in the middle at frame
//! 0, where the portrait mask expects a subject).
//!
//! `cargo run --release -p sluice-nodes --example video_snapshots [OUT_DIR]`
//! (default `docs/images`); `tools/pictures.sh` runs it with the other
//! picture programs.

use sluice_dsl::{Arg, MediaType, PixelFormat, Settings, VideoType};
use sluice_nodes::registry;
use sluice_runtime::testing::build_node;
use sluice_runtime::{Clock, Frame, Node, PortIo, Registry, VideoFrame};

/// One built node and its output frame.
struct Stage {
    node: Box<dyn Node>,
    out: Option<Frame>,
}

fn stage(reg: &Registry, kind: &str, given: &[(&str, Arg)], inputs: &[VideoType]) -> Stage {
    let ins: Vec<MediaType> = inputs.iter().map(|&v| MediaType::Video(v)).collect();
    let (node, outs) =
        build_node(reg, kind, given, &ins, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    Stage {
        node,
        out: outs.first().map(|t| Frame::for_type(t, 480)),
    }
}

impl Stage {
    fn run(&mut self, inputs: &[&VideoFrame]) -> Option<VideoFrame> {
        let frames: Vec<Frame> = inputs.iter().map(|f| Frame::Video((*f).clone())).collect();
        let ins: Vec<Option<&Frame>> = frames.iter().map(Some).collect();
        let mut outs: Vec<&mut Frame> = self.out.iter_mut().collect();
        let mut io = PortIo::new(&ins, &mut outs, Clock::default());
        self.node.process(&mut io);
        match &self.out {
            Some(Frame::Video(v)) => Some(v.clone()),
            _ => None,
        }
    }
}

/// Writes `f` as `DIR/NAME.png` through `png_out` (which takes every
/// format: rgba with alpha, YUV converted to RGB).
fn save(reg: &Registry, dir: &str, name: &str, f: &VideoFrame) {
    let path = format!("{dir}/{name}.png");
    let given = [
        ("path", Arg::Str(path.clone())),
        ("compression", Arg::Enum("best".into())),
    ];
    let mut out = stage(reg, "png_out", &given, &[f.ty()]);
    out.run(&[f]);
    out.node.finish().expect("png written");
    println!("{path}");
}

/// Frame `frame` of the `video_test` pattern `name`, `w`x`h`.
fn pattern_sized(reg: &Registry, name: &str, frame: usize, (w, h): (u32, u32)) -> VideoFrame {
    let given = [
        ("size", Arg::Size(w, h)),
        ("pattern", Arg::Enum(name.into())),
    ];
    let mut s = stage(reg, "video_test", &given, &[]);
    let mut f = None;
    for _ in 0..=frame {
        f = s.run(&[]);
    }
    f.expect("frame")
}

fn pattern(reg: &Registry, name: &str, frame: usize) -> VideoFrame {
    pattern_sized(reg, name, frame, (320, 180))
}

/// A picture: file name, node kind and arguments.
type Run<'a> = (&'a str, &'a str, &'a [(&'a str, Arg)]);

/// docs/blur.md's pictures: the camera before, after `blur` (gaussian and
/// box, radius 8) and after `background_blur` with the portrait mask
/// (the person mask's pictures are `segment_pictures`').
fn blur_pictures(reg: &Registry, dir: &str) {
    let cam = pattern_sized(reg, "moving", 0, (480, 270));
    save(reg, dir, "blur_before", &cam);
    let runs: [Run; 3] = [
        ("blur_gaussian", "blur", &[("radius", Arg::Num(8.0))]),
        (
            "blur_box",
            "blur",
            &[("radius", Arg::Num(8.0)), ("kind", Arg::Enum("box".into()))],
        ),
        (
            "background_blur",
            "background_blur",
            &[("mask", Arg::Enum("portrait".into()))],
        ),
    ];
    for (name, kind, given) in runs {
        let out = stage(reg, kind, given, &[cam.ty()]).run(&[&cam]);
        save(reg, dir, name, &out.expect("frame"));
    }
}

/// A round sticker with a soft edge: colour from a gradient, alpha falling
/// off towards the rim (what an AR layer looks like).
fn sticker(n: u32) -> VideoFrame {
    let ty = VideoType {
        format: PixelFormat::Rgba,
        width: n,
        height: n,
        fps: (30, 1),
    };
    let mut f = VideoFrame::new(ty);
    let c = n as f64 / 2.0;
    for (i, p) in f.plane_mut(0).chunks_exact_mut(4).enumerate() {
        let (x, y) = ((i % n as usize) as f64 + 0.5, (i / n as usize) as f64 + 0.5);
        let r = ((x - c).powi(2) + (y - c).powi(2)).sqrt() / c;
        let ring = (r - 0.8).abs() < 0.08;
        let a = if r > 1.0 {
            0.0
        } else if ring {
            1.0
        } else {
            0.55 * (1.0 - r) + 0.2
        };
        let col = if ring {
            [255, 210, 40]
        } else {
            [
                (255.0 * x / n as f64) as u8,
                80,
                (255.0 * y / n as f64) as u8,
            ]
        };
        p.copy_from_slice(&[col[0], col[1], col[2], (a * 255.0) as u8]);
    }
    f
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/images".into());
    std::fs::create_dir_all(&dir).expect("output directory");
    let reg = registry();
    let dir = dir.as_str();
    blur_pictures(&reg, dir);
    for p in ["bars", "gradient", "checker"] {
        save(&reg, dir, &format!("video_test_{p}"), &pattern(&reg, p, 0));
    }
    let cam = pattern(&reg, "moving", 20);
    save(&reg, dir, "video_test_moving", &cam);
    for kind in ["grayscale", "sepia", "invert"] {
        let mut f = stage(
            &reg,
            "filter",
            &[("kind", Arg::Enum(kind.into()))],
            &[cam.ty()],
        );
        save(
            &reg,
            dir,
            &format!("filter_{kind}"),
            &f.run(&[&cam]).expect("frame"),
        );
    }
    let given = [
        ("brightness", Arg::Num(0.1)),
        ("contrast", Arg::Num(1.4)),
        ("saturation", Arg::Num(1.8)),
    ];
    save(
        &reg,
        dir,
        "adjust",
        &stage(&reg, "adjust", &given, &[cam.ty()])
            .run(&[&cam])
            .expect("frame"),
    );
    let top = sticker(64);
    let given = [
        ("x", Arg::Num(200.0)),
        ("y", Arg::Num(20.0)),
        ("scale", Arg::Num(1.5)),
        ("alpha", Arg::Num(0.9)),
    ];
    save(
        &reg,
        dir,
        "overlay",
        &stage(&reg, "overlay", &given, &[cam.ty(), top.ty()])
            .run(&[&cam, &top])
            .expect("frame"),
    );
    let tiles: Vec<VideoFrame> = ["bars", "gradient", "moving", "checker", "moving"]
        .iter()
        .enumerate()
        .map(|(i, p)| pattern(&reg, p, i * 40))
        .collect();
    let tys: Vec<VideoType> = tiles.iter().map(|f| f.ty()).collect();
    let refs: Vec<&VideoFrame> = tiles.iter().collect();
    let given = [("columns", Arg::Num(3.0)), ("size", Arg::Size(320, 180))];
    save(
        &reg,
        dir,
        "grid",
        &stage(&reg, "grid", &given, &tys).run(&refs).expect("frame"),
    );
    let given = [
        ("size", Arg::Size(320, 180)),
        ("fit", Arg::Enum("letterbox".into())),
    ];
    let tall = pattern(&reg, "gradient", 0);
    let mut narrow = stage(
        &reg,
        "scale",
        &[("size", Arg::Size(120, 180))],
        &[tall.ty()],
    );
    let narrow = narrow.run(&[&tall]).expect("frame");
    save(
        &reg,
        dir,
        "scale_letterbox",
        &stage(&reg, "scale", &given, &[narrow.ty()])
            .run(&[&narrow])
            .expect("frame"),
    );
}
