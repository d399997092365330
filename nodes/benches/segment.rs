//! `background_blur(mask: person)` stage by stage on one 720p i420 frame (a
//! room with the test pattern's person in it), so BENCHMARKS.md can say
//! where a frame's time goes:
//!
//! - `model_input`: the frame shrunk to the model's 256x144 RGBA (video
//!   thread);
//! - `inference`: the landscape selfie model on tract (the model's worker
//!   thread, not the video thread);
//! - `refine_full_res`: the guided upsampling of the mask to 1280x720
//!   (video thread);
//! - `blur_planes`: the three planes blurred at radius 16, one thread;
//! - `compose`: everything the video thread does per frame once a mask is
//!   there (masks, premultiply, the blur of the premultiplied layers,
//!   normalise and blend), one thread.

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_dsl::{PixelFormat, VideoType};
use sluice_ml::{Segmenter, SelfieModel};
use sluice_nodes::blur::background_blur::{BackgroundBlur, MaskSource};
use sluice_nodes::kernels::blur::{blur_plane, BlurKind, Geometry, Passes, Scratch};
use sluice_nodes::segment::input::ModelInput;
use sluice_nodes::segment::person::{ModelChoice, PersonMask};
use sluice_nodes::segment::{frame_from_rgba, grid_of, radius_cells};
use sluice_nodes::video::patterns;
use sluice_runtime::VideoFrame;
use std::hint::black_box;

const W: usize = 1280;
const H: usize = 720;

/// The room with the person pasted left of centre, as one i420 frame.
fn scene(ty: VideoType) -> VideoFrame {
    let mut rgba = patterns::room(W, H);
    let (pw, ph, person) = patterns::person(H);
    let (x0, y0) = (W / 3 - pw / 2, H - ph);
    for y in 0..ph {
        for x in 0..pw {
            let s = &person[(y * pw + x) * 4..][..4];
            let d = &mut rgba[((y0 + y) * W + x0 + x) * 4..][..4];
            let a = u32::from(s[3]);
            for c in 0..3 {
                d[c] = ((u32::from(s[c]) * a + u32::from(d[c]) * (255 - a) + 127) / 255) as u8;
            }
        }
    }
    frame_from_rgba(ty, &rgba)
}

/// A person mask that has answered for `frame` (the model has run on it).
fn settled(ty: VideoType, frame: &VideoFrame) -> PersonMask {
    let model = ModelChoice::from_arg("auto", ty);
    let mut person = PersonMask::new(ty, grid_of(ty), radius_cells(8.0), model, "bench")
        .expect("the vendored model loads");
    assert!(person.settle(frame), "the model answers");
    person
}

fn bench_stages(c: &mut Criterion) {
    let ty = VideoType {
        format: PixelFormat::I420,
        width: W as u32,
        height: H as u32,
        fps: (30, 1),
    };
    let frame = scene(ty);
    let mut group = c.benchmark_group("background_blur_person_720p");

    let mut seg = Segmenter::new(SelfieModel::Landscape).expect("model");
    let (mw, mh) = seg.size();
    let mut input = ModelInput::new(mw, mh);
    let mut rgba = vec![0u8; mw * mh * 4];
    group.bench_function("model_input", |b| {
        b.iter(|| input.fill(black_box(&frame), &mut rgba))
    });
    let mut mask = vec![0u8; mw * mh];
    group.bench_function("inference", |b| {
        b.iter(|| seg.run_rgb(black_box(&rgba), 4, &mut mask).expect("runs"))
    });

    let mut person = settled(ty, &frame);
    let mut full = vec![0u8; W * H];
    group.bench_function("refine_full_res", |b| {
        b.iter(|| person.full_res(black_box(&frame), &mut full))
    });

    let mut planes: Vec<(Vec<u8>, Geometry, Passes)> = (0..3)
        .map(|p| {
            let (w, h, r) = if p == 0 {
                (W, H, 16.0)
            } else {
                (W / 2, H / 2, 8.0)
            };
            let g = Geometry {
                width: w,
                height: h,
                stride: w,
                channels: 1,
            };
            (
                vec![0u8; w * h],
                g,
                Passes::for_radius(BlurKind::Gaussian, r),
            )
        })
        .collect();
    let mut pool = vec![Scratch::new(W)];
    group.bench_function("blur_planes", |b| {
        b.iter(|| {
            for (p, (out, g, passes)) in planes.iter_mut().enumerate() {
                blur_plane(frame.plane(p), out, *g, *passes, &mut pool);
            }
        })
    });

    let mut node = BackgroundBlur::new(ty, MaskSource::Person, 16.0, 8.0, true)
        .with_person(settled(ty, &frame));
    let mut dst = VideoFrame::new(ty);
    group.bench_function("compose", |b| {
        b.iter(|| node.compose(black_box(&frame), &mut dst))
    });
    group.finish();
}

criterion_group!(benches, bench_stages);
criterion_main!(benches);
