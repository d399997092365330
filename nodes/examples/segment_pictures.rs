//! Writes the person-segmentation pictures of docs/blur.md through the
//! real nodes, and prints the quality figures the tests check: on the
//! public-domain photos in tests/data, the input, the `segment` mask,
//! `background_blur` (person mask) and `background_replace`; and the same
//! for one frame of `video_test(pattern: moving)`.
//!
//! `cargo run --release -p sluice-nodes --example segment_pictures [OUT_DIR]`
//! (default `docs/images`).

use sluice_dsl::{PixelFormat, VideoType};
use sluice_nodes::blur::background_blur::{BackgroundBlur, MaskSource};
use sluice_nodes::segment::person::{ModelChoice, PersonMask};
use sluice_nodes::segment::replace::{cover, BackgroundReplace};
use sluice_nodes::segment::{frame_from_rgba, grid_of};
use sluice_nodes::video::image_in::decode_png;
use sluice_runtime::VideoFrame;
use std::path::Path;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/images".into());
    std::fs::create_dir_all(&dir).expect("output directory");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = root.join("tests/data");
    for name in ["astronaut", "grace_hopper"] {
        let (w, h, rgba) =
            decode_png(data.join(format!("{name}.png")).to_str().expect("utf-8")).expect("photo");
        let ty = VideoType {
            format: PixelFormat::I420,
            width: w,
            height: h,
            fps: (30, 1),
        };
        pictures(&dir, name, &frame_from_rgba(ty, &rgba));
    }
    let moving = moving_frame(640, 360, 60);
    pictures(&dir, "moving", &moving);
}

/// Frame `n` of `video_test(pattern: moving)` at `w` x `h`, through the
/// registry as a graph would build it.
fn moving_frame(w: u32, h: u32, n: usize) -> VideoFrame {
    use sluice_dsl::{Arg, MediaType, PlanPort, Settings};
    use sluice_runtime::{BuildContext, Clock, Frame, PortIo};
    let registry = sluice_nodes::registry();
    let kind = registry.kind("video_test").expect("registered");
    let mut args = kind.signature.default_args();
    args.set("size", Arg::Size(w, h));
    args.set("pattern", Arg::Enum("moving".into()));
    let ty = VideoType {
        format: PixelFormat::I420,
        width: w,
        height: h,
        fps: (30, 1),
    };
    let outputs = [PlanPort {
        name: "out".into(),
        ty: MediaType::Video(ty),
        connected: true,
    }];
    let settings = Settings::default();
    let ctx = BuildContext {
        name: "cam",
        index: 0,
        args: &args,
        inputs: &[],
        outputs: &outputs,
        settings: &settings,
        node_names: &[],
    };
    let mut node = (kind.build.as_ref().expect("runnable"))(&ctx).expect("builds");
    let mut out = Frame::Video(VideoFrame::new(ty));
    for _ in 0..=n {
        let mut outs = [&mut out];
        let mut io = PortIo::new(&[], &mut outs, Clock::default());
        node.process(&mut io);
    }
    match out {
        Frame::Video(v) => v,
        _ => unreachable!("video output"),
    }
}

fn pictures(dir: &str, name: &str, frame: &VideoFrame) {
    let ty = frame.ty();
    let model = ModelChoice::from_arg("auto", ty);
    let person = || PersonMask::new(ty, grid_of(ty), 2, model, "segment").expect("model");
    let mut blur =
        BackgroundBlur::new(ty, MaskSource::Person, 16.0, 8.0, true).with_person(person());
    let p = blur.person().expect("person");
    assert!(p.settle(frame), "model answered");
    let mut mask = VideoFrame::new(ty);
    p.full_res(frame, mask.plane_mut(0));
    mask.plane_mut(1).fill(128);
    mask.plane_mut(2).fill(128);
    let mut blurred = VideoFrame::new(ty);
    blur.compose(frame, &mut blurred);
    let backdrop = sluice_nodes::video::patterns::beach(ty.width as usize, ty.height as usize);
    let bg = cover(&backdrop, ty.width as usize, ty.height as usize, ty);
    let mut replace = BackgroundReplace::new(person(), bg);
    assert!(replace.person().settle(frame), "model answered");
    let mut replaced = VideoFrame::new(ty);
    replace.compose(frame, &mut replaced);
    for (suffix, f) in [
        ("before", frame),
        ("mask", &mask),
        ("blur", &blurred),
        ("replace", &replaced),
    ] {
        save(
            &Path::new(dir).join(format!("segment_{name}_{suffix}.png")),
            f,
        );
    }
    println!("{name}: {}x{} written", ty.width, ty.height);
}

/// Saves an i420 frame as an RGB PNG.
fn save(path: &Path, f: &VideoFrame) {
    let (w, h) = (f.width(), f.height());
    let mut rgba = vec![0u8; w * h * 4];
    sluice_nodes::kernels::color::i420_to_rgba(
        f.plane(0),
        f.plane(1),
        f.plane(2),
        w,
        h,
        &mut rgba,
        Default::default(),
    );
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create png"));
    let mut enc = png::Encoder::new(file, w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .expect("png header")
        .write_image_data(&rgb)
        .expect("png data");
}
