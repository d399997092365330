use super::background_blur::{BackgroundBlur, MaskSource};
use super::planes::plane_specs;
use super::{background_blur, blur_node};
use crate::kernels::blur::{blur_plane, BlurKind, Passes, Scratch};
use sluice_dsl::{Arg, MediaType, PixelFormat, PlanPort, Settings, VideoType};
use sluice_runtime::{BuildContext, Clock, Frame, Node, PortIo, VideoFrame};

fn video(format: PixelFormat, width: u32, height: u32) -> VideoType {
    VideoType {
        format,
        width,
        height,
        fps: (30, 1),
    }
}

fn port(name: &str, ty: VideoType, connected: bool) -> PlanPort {
    PlanPort {
        name: name.to_string(),
        ty: MediaType::Video(ty),
        connected,
    }
}

/// Builds a node of `kind` the way the engine does, for one input type.
fn build(
    kind: &str,
    args: &[(&str, Arg)],
    ty: VideoType,
    mask: Option<VideoType>,
) -> Box<dyn Node> {
    let registry = crate::registry();
    let k = registry.kind(kind).expect("registered");
    let mut a = k.signature.default_args();
    for (n, v) in args {
        a.set(n, v.clone());
    }
    let mut inputs = vec![port("in", ty, true)];
    if kind == "background_blur" {
        inputs.push(port("mask", mask.unwrap_or(ty), mask.is_some()));
    }
    let outputs = [port("out", ty, true)];
    let settings = Settings::default();
    let ctx = BuildContext {
        name: kind,
        index: 0,
        args: &a,
        inputs: &inputs,
        outputs: &outputs,
        settings: &settings,
        node_names: &[],
    };
    (k.build.as_ref().expect("runnable"))(&ctx).expect("builds")
}

fn run(node: &mut dyn Node, input: &VideoFrame, mask: Option<&VideoFrame>) -> VideoFrame {
    let src = Frame::Video(input.clone());
    let m = mask.map(|m| Frame::Video(m.clone()));
    let mut out = Frame::Video(VideoFrame::new(input.ty()));
    let inputs = [Some(&src), m.as_ref()];
    {
        let mut outs = [&mut out];
        let mut io = PortIo::new(&inputs, &mut outs, Clock::default());
        node.process(&mut io);
    }
    match out {
        Frame::Video(v) => v,
        _ => unreachable!("video out"),
    }
}

/// A frame of `ty` whose planes hold a texture (hash noise and stripes).
fn textured(ty: VideoType) -> VideoFrame {
    let mut f = VideoFrame::new(ty);
    for p in 0..f.plane_count() {
        let stride = f.stride(p);
        for (i, v) in f.plane_mut(p).iter_mut().enumerate() {
            let (x, y) = (i % stride, i / stride);
            *v = (((x * 7919 + y * 104_729) % 97) as u8)
                .wrapping_add(((x / 3 + y / 5) % 2 * 60) as u8);
        }
    }
    f
}

#[test]
fn blur_node_matches_the_kernel_per_plane() {
    for format in [PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12] {
        let ty = video(format, 96, 54);
        let input = textured(ty);
        let mut node = build("blur", &[("radius", Arg::Num(12.0))], ty, None);
        let out = run(node.as_mut(), &input, None);
        for (i, spec) in plane_specs(ty).iter().enumerate() {
            let mut want = vec![0u8; input.plane(i).len()];
            let passes = Passes::for_radius(BlurKind::Gaussian, 12.0 * spec.radius_scale);
            blur_plane(
                input.plane(i),
                &mut want,
                spec.geometry,
                passes,
                &mut [Scratch::new(96)],
            );
            assert_eq!(out.plane(i), &want[..], "{format:?} plane {i}");
            assert_ne!(
                out.plane(i),
                input.plane(i),
                "{format:?} plane {i} unblurred"
            );
        }
    }
}

#[test]
fn blur_radius_changes_live_and_box_kind_differs() {
    let ty = video(PixelFormat::I420, 64, 48);
    let input = textured(ty);
    let mut node = build("blur", &[("radius", Arg::Num(2.0))], ty, None);
    let small = run(node.as_mut(), &input, None);
    node.set("radius", &Arg::Num(20.0)).expect("live radius");
    let large = run(node.as_mut(), &input, None);
    assert_ne!(small.plane(0), large.plane(0));
    assert!(node.set("kind", &Arg::Enum("box".into())).is_err());
    let mut boxed = build(
        "blur",
        &[
            ("radius", Arg::Num(20.0)),
            ("kind", Arg::Enum("box".into())),
        ],
        ty,
        None,
    );
    assert_ne!(run(boxed.as_mut(), &input, None).plane(0), large.plane(0));
    node.set("radius", &Arg::Num(0.0)).expect("live radius");
    assert_eq!(run(node.as_mut(), &input, None).data(), input.data());
}

#[test]
fn mask_input_is_required_only_for_mask_port() {
    let sig = background_blur::signature();
    let mut args = sig.default_args();
    args.set("mask", Arg::Enum("port".into()));
    let ports = (sig.ports)(&args).expect("ports");
    assert!(ports.inputs[1].required, "mask: port needs the input");
    args.set("mask", Arg::Enum("motion".into()));
    let ports = (sig.ports)(&args).expect("ports");
    assert!(!ports.inputs[1].required);
    assert_eq!(blur_node::signature().kind, "blur");
}

/// A dark textured room (values 10..40) with a bright subject (230..250)
/// in the rectangle `[x0, x1) x [y0, y1)`, as one luma plane.
fn scene_luma(w: usize, h: usize, rect: (usize, usize, usize, usize)) -> Vec<u8> {
    let (x0, y0, x1, y1) = rect;
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                230 + ((x + y) % 3 * 10) as u8
            } else {
                10 + ((x / 2 + y / 2) % 2 * 30) as u8
            }
        })
        .collect()
}

fn i420_with_luma(ty: VideoType, luma: &[u8]) -> VideoFrame {
    let mut f = VideoFrame::new(ty);
    f.plane_mut(0).copy_from_slice(luma);
    f
}

fn high_frequency(plane: &[u8], w: usize, region: (usize, usize, usize, usize)) -> u64 {
    let (x0, y0, x1, y1) = region;
    let mut e = 0u64;
    for y in y0..y1 {
        for x in x0..x1 - 1 {
            e += u64::from(plane[y * w + x].abs_diff(plane[y * w + x + 1]));
        }
    }
    e
}

#[test]
fn background_blur_keeps_subject_blurs_background_without_bleed() {
    let (w, h) = (160usize, 120usize);
    let ty = video(PixelFormat::I420, w as u32, h as u32);
    let rect = (60, 30, 100, 120);
    let input = i420_with_luma(ty, &scene_luma(w, h, rect));
    let mut mask_luma = vec![0u8; w * h];
    for (i, m) in mask_luma.iter_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        if (60..100).contains(&x) && y >= 30 {
            *m = 255;
        }
    }
    let mask = i420_with_luma(ty, &mask_luma);
    let mut node = build(
        "background_blur",
        &[
            ("mask", Arg::Enum("port".into())),
            ("radius", Arg::Num(16.0)),
        ],
        ty,
        Some(ty),
    );
    let out = run(node.as_mut(), &input, Some(&mask));
    let (o, i) = (out.plane(0), input.plane(0));
    // Subject: unchanged where the feathered mask is fully on.
    for y in 50..h {
        for x in 72..88 {
            assert_eq!(o[y * w + x], i[y * w + x], "subject pixel {x},{y}");
        }
    }
    // No bleed: background just outside the subject stays dark.
    let mut worst = 0u8;
    for y in 40..h {
        for x in (44..58).chain(102..116) {
            worst = worst.max(o[y * w + x]);
        }
    }
    assert!(
        worst <= 60,
        "bright subject bled into the background: {worst}"
    );
    // A plain blur of the same frame does bleed there (the test can fail).
    let mut plain = build("blur", &[("radius", Arg::Num(16.0))], ty, None);
    let p = run(plain.as_mut(), &input, None);
    let plain_worst = (40..h).map(|y| p.plane(0)[y * w + 57]).max().unwrap_or(0);
    assert!(
        plain_worst > 100,
        "plain blur near the subject: {plain_worst}"
    );
    // Background: high frequencies mostly gone.
    let region = (4, 4, 40, 110);
    let before = high_frequency(i, w, region);
    let after = high_frequency(o, w, region);
    assert!(
        after * 5 < before,
        "background not blurred: {before} -> {after}"
    );
}

#[test]
fn background_blur_runs_on_every_format_and_agrees_between_i420_and_nv12() {
    let (w, h) = (96u32, 64u32);
    let i420 = textured(video(PixelFormat::I420, w, h));
    let mut nv12 = VideoFrame::new(video(PixelFormat::Nv12, w, h));
    nv12.plane_mut(0).copy_from_slice(i420.plane(0));
    let (u, v) = (i420.plane(1), i420.plane(2));
    for (k, uv) in nv12.plane_mut(1).chunks_exact_mut(2).enumerate() {
        uv[0] = u[k];
        uv[1] = v[k];
    }
    let mut a = build("background_blur", &[], i420.ty(), None);
    let mut b = build("background_blur", &[], nv12.ty(), None);
    let (oa, ob) = (run(a.as_mut(), &i420, None), run(b.as_mut(), &nv12, None));
    assert_eq!(oa.plane(0), ob.plane(0));
    for (k, uv) in ob.plane(1).chunks_exact(2).enumerate() {
        assert_eq!((uv[0], uv[1]), (oa.plane(1)[k], oa.plane(2)[k]));
    }
    let (w, h) = (192u32, 128u32);
    let rgba = textured(video(PixelFormat::Rgba, w, h));
    let mut c = build("background_blur", &[], rgba.ty(), None);
    let oc = run(c.as_mut(), &rgba, None);
    let at = |x: usize, y: usize| (y * w as usize + x) * 4;
    // Portrait prior: the head (centre, 40% down) is kept, a corner blurred.
    let head = at(96, 51);
    assert_eq!(oc.plane(0)[head..head + 4], rgba.plane(0)[head..head + 4]);
    let corner = at(3, 3);
    assert_ne!(
        oc.plane(0)[corner..corner + 3],
        rgba.plane(0)[corner..corner + 3]
    );
    assert!(oc
        .plane(0)
        .chunks_exact(4)
        .zip(rgba.plane(0).chunks_exact(4))
        .all(|(o, i)| o[3] == i[3]));
}

#[test]
fn motion_mask_follows_what_moves() {
    let (w, h) = (128usize, 96usize);
    let ty = video(PixelFormat::I420, w as u32, h as u32);
    let mut node = BackgroundBlur::new(ty, MaskSource::Motion, 16.0, 8.0, true);
    let mut dst = VideoFrame::new(ty);
    for t in 0..8 {
        let x0 = 30 + 3 * t;
        let frame = i420_with_luma(ty, &scene_luma(w, h, (x0, 30, x0 + 30, 80)));
        node.run(&frame, None, &mut dst);
    }
    let (lw, _, m) = node.mask();
    let cell = |x: usize, y: usize| m[(y / 4) * lw + x / 4];
    assert!(cell(60, 55) > 200, "moving subject: {}", cell(60, 55));
    assert!(cell(8, 8) < 20, "still background: {}", cell(8, 8));
    assert!(cell(120, 90) < 20, "still background: {}", cell(120, 90));
}

#[test]
fn odd_and_tiny_sizes_run_in_every_format_and_mode() {
    for (w, h) in [(1, 1), (3, 5), (17, 9), (33, 2)] {
        for format in [PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12] {
            let ty = video(format, w, h);
            let input = textured(ty);
            let mask = textured(video(PixelFormat::Rgba, 7, 3));
            let mut blur = build("blur", &[("radius", Arg::Num(64.0))], ty, None);
            let out = run(blur.as_mut(), &input, None);
            assert_eq!(out.data().len(), input.data().len());
            for mode in ["portrait", "motion"] {
                let args = [("mask", Arg::Enum(mode.into()))];
                let mut node = build("background_blur", &args, ty, None);
                run(node.as_mut(), &input, None);
                run(node.as_mut(), &input, None);
            }
            let args = [("mask", Arg::Enum("port".into()))];
            let mut node = build("background_blur", &args, ty, Some(mask.ty()));
            run(node.as_mut(), &input, Some(&mask));
        }
    }
}

/// Chroma along the mask's edge (i420): no output sample may leave the
/// range of the input chroma around it (the background layer is a
/// weighted mean of input samples, the blend a mix of that and the input).
/// Before the fix, dividing the blurred premultiplied chroma by a tiny
/// blurred weight left green and pink lines just inside the edge.
#[test]
fn chroma_along_the_mask_edge_stays_in_the_range_of_its_neighbourhood() {
    let (w, h) = (320usize, 180usize);
    let ty = video(PixelFormat::I420, w as u32, h as u32);
    let mut input = VideoFrame::new(ty);
    for (i, v) in input.plane_mut(0).iter_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        *v = 150 + ((x * 7 + y * 13) % 23) as u8;
    }
    // A plain wall: the chroma barely varies, as in conference.sluice.
    for (p, base) in [(1, 110u8), (2, 140u8)] {
        for (i, v) in input.plane_mut(p).iter_mut().enumerate() {
            *v = base + (i * 31 % 5) as u8;
        }
    }
    let mut mask_luma = vec![0u8; w * h];
    for (i, m) in mask_luma.iter_mut().enumerate() {
        let (dx, dy) = ((i % w) as f64 - 160.0, (i / w) as f64 - 80.0);
        if (dx / 45.0).powi(2) + (dy / 60.0).powi(2) < 1.0 {
            *m = 255;
        }
    }
    let mask = i420_with_luma(ty, &mask_luma);
    let mut node = build(
        "background_blur",
        &[("mask", Arg::Enum("port".into()))],
        ty,
        Some(ty),
    );
    let out = run(node.as_mut(), &input, Some(&mask));
    let (cw, ch) = (w / 2, h / 2);
    let r = 12usize;
    for p in [1, 2] {
        let (i, o) = (input.plane(p), out.plane(p));
        for y in 0..ch {
            for x in 0..cw {
                let (mut lo, mut hi) = (255u8, 0u8);
                for yy in y.saturating_sub(r)..(y + r + 1).min(ch) {
                    for xx in x.saturating_sub(r)..(x + r + 1).min(cw) {
                        lo = lo.min(i[yy * cw + xx]);
                        hi = hi.max(i[yy * cw + xx]);
                    }
                }
                let v = o[y * cw + x];
                assert!(
                    v + 1 >= lo && v <= hi + 1,
                    "plane {p} at {x},{y}: {v} outside {lo}..={hi}"
                );
            }
        }
    }
}
