//! Writes the pictures of docs/blur.md through the real nodes: a 480x270
//! rgba scene (a figure in front of a textured room) before blurring, after
//! `blur` (gaussian and box, radius 8) and after `background_blur`
//! (portrait mask, radius 16).
//!
//! `cargo run -p sluice-nodes --example blur_pictures [OUT_DIR]`
//! (default `docs/images`).

use sluice_dsl::{Arg, Args, MediaType, PixelFormat, PlanPort, Settings, VideoType};
use sluice_runtime::{BuildContext, Clock, Frame, PortIo, VideoFrame};
use std::path::Path;

/// A picture: file name, node kind and arguments.
type Run<'a> = (&'a str, &'a str, &'a [(&'a str, Arg)]);

const W: usize = 480;
const H: usize = 270;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/images".into());
    std::fs::create_dir_all(&dir).expect("output directory");
    let ty = VideoType {
        format: PixelFormat::Rgba,
        width: W as u32,
        height: H as u32,
        fps: (30, 1),
    };
    let mut scene = VideoFrame::new(ty);
    paint_scene(scene.plane_mut(0));
    save(&dir, "blur_before.png", &scene);
    let runs: [Run; 3] = [
        ("blur_gaussian.png", "blur", &[("radius", Arg::Num(8.0))]),
        (
            "blur_box.png",
            "blur",
            &[("radius", Arg::Num(8.0)), ("kind", Arg::Enum("box".into()))],
        ),
        (
            "background_blur.png",
            "background_blur",
            &[("mask", Arg::Enum("portrait".into()))],
        ),
    ];
    for (file, kind, args) in runs {
        let out = run(kind, args, &scene);
        save(&dir, file, &out);
    }
}

/// Builds `kind` through the registry and processes one frame.
fn run(kind: &str, args: &[(&str, Arg)], input: &VideoFrame) -> VideoFrame {
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
        ty: MediaType::Video(input.ty()),
        connected,
    };
    let inputs = [port("in", true), port("mask", false)];
    let outputs = [port("out", true)];
    let settings = Settings::default();
    let ctx = BuildContext {
        name: kind,
        index: 0,
        args: &a,
        inputs: &inputs[..if kind == "blur" { 1 } else { 2 }],
        outputs: &outputs,
        settings: &settings,
        node_names: &[],
    };
    let mut node = (k.build.expect("runnable"))(&ctx).expect("builds");
    let src = Frame::Video(input.clone());
    let mut out = Frame::Video(VideoFrame::new(input.ty()));
    let ins = [Some(&src), None];
    {
        let mut outs = [&mut out];
        let mut io = PortIo::new(&ins, &mut outs, Clock::default());
        node.process(&mut io);
    }
    match out {
        Frame::Video(v) => v,
        _ => unreachable!("video output"),
    }
}

/// A room (wall with a framed picture and shelves of books, a tiled floor)
/// and a figure in the middle: a head and shoulders in a striped shirt.
fn paint_scene(px: &mut [u8]) {
    for y in 0..H {
        for x in 0..W {
            let (fx, fy) = (x as f32, y as f32);
            let mut c = if y > 200 {
                // Floor tiles.
                let t = ((x / 24 + (y - 200) / 12) % 2) as u8;
                [150 - 40 * t, 120 - 30 * t, 90 - 20 * t]
            } else {
                // Wallpaper: fine vertical stripes.
                let s = ((x / 3) % 2) as u8;
                [200 - 18 * s, 196 - 18 * s, 170 - 14 * s]
            };
            // A framed picture with a small checkerboard, top left.
            if (40..150).contains(&x) && (30..110).contains(&y) {
                c = if (44..146).contains(&x) && (34..106).contains(&y) {
                    let k = ((x / 6 + y / 6) % 2) as u8;
                    [40 + 170 * k, 90 + 60 * k, 160 - 100 * k]
                } else {
                    [90, 60, 30]
                };
            }
            // Bookshelf on the right: shelves and books of varied colours.
            if (340..460).contains(&x) && (40..190).contains(&y) {
                let shelf = (y - 40) % 50 >= 44;
                c = if shelf {
                    [110, 80, 50]
                } else {
                    let book = (x - 340) / 9 + (y - 40) / 50 * 7;
                    let hue = (book * 67 % 255) as u8;
                    [hue, 255 - hue, ((book * 151) % 200) as u8 + 30]
                };
            }
            // The figure: head ellipse centred (0.5 w, 0.4 h), shoulders below.
            let (dx, dy) = ((fx - 0.5 * W as f32) / 38.0, (fy - 0.4 * H as f32) / 52.0);
            let head = dx * dx + dy * dy < 1.0;
            let t = ((fy - 0.62 * H as f32) / (0.38 * H as f32)).clamp(0.0, 1.0);
            let half = 0.16 * H as f32 + t * (0.29 * H as f32 + 0.1 * W as f32);
            let body = fy > 0.64 * H as f32 && (fx - 0.5 * W as f32).abs() < half - 6.0;
            let neck = (fx - 0.5 * W as f32).abs() < 16.0 && (140..180).contains(&y);
            if body {
                let stripe = ((y / 5) % 2) as u8;
                c = [30 + 160 * stripe, 60 + 40 * stripe, 140 - 60 * stripe];
            } else if head || neck {
                let eye = ((fx - 0.5 * W as f32).abs() - 13.0).abs() < 4.0
                    && (fy - 0.38 * H as f32).abs() < 3.0;
                let hair = dy < -0.55;
                c = if eye {
                    [40, 30, 30]
                } else if hair {
                    [70, 45, 25]
                } else {
                    [225, 180, 150]
                };
            }
            let i = (y * W + x) * 4;
            px[i..i + 3].copy_from_slice(&c);
            px[i + 3] = 255;
        }
    }
}

fn save(dir: &str, name: &str, frame: &VideoFrame) {
    let path = Path::new(dir).join(name);
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), W as u32, H as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().expect("png header");
    let rgb: Vec<u8> = frame
        .plane(0)
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    writer.write_image_data(&rgb).expect("png data");
    println!("wrote {}", path.display());
}
