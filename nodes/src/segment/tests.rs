//! Person segmentation on real photographs of people (public domain,
//! tests/data/NOTICE), through the real model: the mask, the detail kept
//! and removed by `background_blur`, and `background_replace`.

use super::person::{ModelChoice, PersonMask};
use super::replace::{cover, BackgroundReplace};
use super::{frame_from_rgba, grid_of};
use crate::blur::background_blur::{BackgroundBlur, MaskSource};
use crate::video::image_in::decode_png;
use crate::video::patterns::beach;
use sluice_dsl::{Arg, MediaType, PixelFormat, PlanPort, Settings, VideoType};
use sluice_runtime::{BuildContext, Clock, Frame, PortIo, VideoFrame};

/// A rectangle `(x0, y0, x1, y1)`, end exclusive.
type Rect = (usize, usize, usize, usize);

/// A photo with regions decided by looking at it: the face, and
/// textured background.
struct Photo {
    file: &'static str,
    face: Rect,
    background: &'static [Rect],
}

const PHOTOS: [Photo; 2] = [
    Photo {
        // Eileen Collins: face in the middle; the flag (stripes and
        // stars) on the left, the shuttle model on the right.
        file: "astronaut.png",
        face: (92, 30, 136, 86),
        background: &[(0, 0, 36, 120), (186, 0, 232, 100)],
    },
    Photo {
        // Grace Hopper: face in the middle; the flag on the left.
        file: "grace_hopper.png",
        face: (100, 95, 160, 160),
        background: &[(0, 0, 50, 170)],
    },
];

fn photo(file: &str, format: PixelFormat) -> VideoFrame {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/").to_string() + file;
    let (w, h, rgba) = decode_png(&path).expect("test photo");
    let ty = VideoType {
        format,
        width: w,
        height: h,
        fps: (30, 1),
    };
    frame_from_rgba(ty, &rgba)
}

fn person(ty: VideoType) -> PersonMask {
    let model = ModelChoice::from_arg("auto", ty);
    PersonMask::new(ty, grid_of(ty), 2, model, "segment").expect("model loads")
}

/// Mean absolute difference of horizontal and vertical luma neighbours.
fn detail(luma: &[u8], w: usize, r: Rect) -> f64 {
    let (x0, y0, x1, y1) = r;
    let (mut sum, mut n) = (0u64, 0u64);
    for y in y0..y1 - 1 {
        for x in x0..x1 - 1 {
            let v = luma[y * w + x];
            sum += u64::from(v.abs_diff(luma[y * w + x + 1]))
                + u64::from(v.abs_diff(luma[(y + 1) * w + x]));
            n += 2;
        }
    }
    sum as f64 / n as f64
}

fn mean(plane: &[u8], w: usize, r: Rect) -> f64 {
    let (x0, y0, x1, y1) = r;
    let sum: u64 = (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| u64::from(plane[y * w + x]))
        .sum();
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

#[test]
fn segment_mask_is_high_on_faces_and_low_on_the_background() {
    for p in &PHOTOS {
        let frame = photo(p.file, PixelFormat::I420);
        let mut seg = person(frame.ty());
        assert!(seg.settle(&frame), "model answered");
        let w = frame.width();
        let mut mask = vec![0u8; w * frame.height()];
        seg.full_res(&frame, &mut mask);
        let face = mean(&mask, w, p.face);
        assert!(face > 200.0, "{}: mask on the face {face:.0}", p.file);
        for &r in p.background {
            let bg = mean(&mask, w, r);
            assert!(
                bg < 50.0,
                "{}: mask on the background {r:?}: {bg:.0}",
                p.file
            );
        }
    }
}

#[test]
fn background_blur_keeps_the_face_and_blurs_the_room_on_photos() {
    for format in [PixelFormat::I420, PixelFormat::Rgba] {
        for p in &PHOTOS {
            let frame = photo(p.file, format);
            let ty = frame.ty();
            let mut blur = BackgroundBlur::new(ty, MaskSource::Person, 16.0, 8.0, true)
                .with_person(person(ty));
            assert!(blur.person().expect("person").settle(&frame));
            let mut out = VideoFrame::new(ty);
            blur.compose(&frame, &mut out);
            let (luma_in, luma_out) = (luma(&frame), luma(&out));
            let w = frame.width();
            let kept = detail(&luma_out, w, p.face) / detail(&luma_in, w, p.face);
            assert!(
                kept >= 0.85,
                "{} {format:?}: face keeps {kept:.2} of its detail",
                p.file
            );
            for &r in p.background {
                let kept = detail(&luma_out, w, r) / detail(&luma_in, w, r);
                assert!(
                    kept <= 0.5,
                    "{} {format:?}: background {r:?} keeps {kept:.2}",
                    p.file
                );
            }
        }
    }
}

/// The luma of a frame (rgba: BT.601 weights).
fn luma(f: &VideoFrame) -> Vec<u8> {
    match f.format() {
        PixelFormat::Rgba => f
            .plane(0)
            .chunks_exact(4)
            .map(|p| {
                ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8)
                    as u8
            })
            .collect(),
        _ => f.plane(0).to_vec(),
    }
}

#[test]
fn background_replace_puts_the_person_on_the_new_background() {
    let p = &PHOTOS[0];
    for format in [PixelFormat::I420, PixelFormat::Nv12] {
        let frame = photo(p.file, format);
        let ty = frame.ty();
        let (w, h) = (ty.width as usize, ty.height as usize);
        let bg = cover(&beach(w, h), w, h, ty);
        let mut node = BackgroundReplace::new(person(ty), bg.clone());
        assert!(node.person().settle(&frame));
        let mut out = VideoFrame::new(ty);
        node.compose(&frame, &mut out);
        let diff = |a: &VideoFrame, r: Rect| {
            let (x0, y0, x1, y1) = r;
            let mut d = 0u64;
            for y in y0..y1 {
                for x in x0..x1 {
                    d += u64::from(a.plane(0)[y * w + x].abs_diff(out.plane(0)[y * w + x]));
                }
            }
            d as f64 / ((x1 - x0) * (y1 - y0)) as f64
        };
        assert!(diff(&frame, p.face) < 3.0, "{format:?}: face changed");
        for &r in p.background {
            assert!(
                diff(&bg, r) < 8.0,
                "{format:?}: background {r:?} not replaced"
            );
        }
    }
}

#[test]
fn segment_node_outputs_a_gray_mask_of_the_input_size() {
    let frame = photo(PHOTOS[0].file, PixelFormat::Rgba);
    let ty = frame.ty();
    let registry = crate::registry();
    let kind = registry.kind("segment").expect("registered");
    let args = kind.signature.default_args();
    let out_ty = VideoType {
        format: PixelFormat::I420,
        ..ty
    };
    let port = |ty| PlanPort {
        name: "x".into(),
        ty: MediaType::Video(ty),
        connected: true,
    };
    let (inputs, outputs, settings) = ([port(ty)], [port(out_ty)], Settings::default());
    let ctx = BuildContext {
        name: "segment",
        index: 0,
        args: &args,
        inputs: &inputs,
        outputs: &outputs,
        settings: &settings,
        node_names: &[],
    };
    let mut node = (kind.build.as_ref().expect("runnable"))(&ctx).expect("builds");
    let src = Frame::Video(frame);
    let mut out = Frame::Video(VideoFrame::new(out_ty));
    // The model answers within a few frames; the node never waits for it.
    let face = PHOTOS[0].face;
    let mut on_face = 0.0;
    for _ in 0..200 {
        let inputs = [Some(&src)];
        let mut outs = [&mut out];
        let mut io = PortIo::new(&inputs, &mut outs, Clock::default());
        node.process(&mut io);
        let Frame::Video(m) = &out else {
            unreachable!()
        };
        on_face = mean(m.plane(0), m.width(), face);
        if on_face > 200.0 {
            assert!(m.plane(1).iter().chain(m.plane(2)).all(|&c| c == 128));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(on_face > 200.0, "mask on the face {on_face:.0}");
    assert!(node.set("feather", &Arg::Num(16.0)).is_ok());
}
