//! Blurs the frames of a Y4M file with the blur kernel and prints frames
//! per second, for benches/peers/video_blur.sh to compare with ffmpeg.
//!
//! `blur_fps IN.y4m i420|rgba gaussian|box|background RADIUS [FRAMES]`
//! (`background`: `background_blur` with the portrait mask, feather 8)
//!
//! Up to 32 frames are decoded (and converted to rgba, BT.601 limited
//! range, when asked) before timing, then FRAMES frames (default 300) are
//! blurred cycling through them. Prints wall-clock fps and fps per CPU
//! second of the process (robust when other jobs share the machine). One
//! thread: `RAYON_NUM_THREADS=1`.

use sluice_dsl::{PixelFormat, VideoType};
use sluice_nodes::blur::background_blur::{BackgroundBlur, MaskSource};
use sluice_nodes::kernels::blur::{blur_plane, BlurKind, Geometry, Passes, Scratch};
use sluice_runtime::VideoFrame;
use std::time::Instant;

type Planes = Vec<(Vec<u8>, Geometry)>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: blur_fps IN.y4m i420|rgba gaussian|box RADIUS [FRAMES]");
        std::process::exit(2);
    }
    let rgba = args[2] == "rgba";
    let background = args[3] == "background";
    let kind = if args[3] == "box" {
        BlurKind::Box
    } else {
        BlurKind::Gaussian
    };
    let radius: f64 = args[4].parse().expect("radius in pixels");
    let count: usize = args.get(5).map_or(300, |s| s.parse().expect("frame count"));
    let frames = read_frames(&args[1], rgba, 32);
    let (w, h) = (frames[0][0].1.width, frames[0][0].1.height);
    let tasks = rayon::current_num_threads();
    let mut pool = vec![Scratch::new(w.max(h)); tasks];
    if background {
        return background_fps(&frames, rgba, radius, count);
    }
    let mut out: Planes = frames[0].clone();
    let mut blur = |f: &Planes, out: &mut Planes| {
        for (i, ((src, g), (dst, _))) in f.iter().zip(out.iter_mut()).enumerate() {
            let r = if i == 0 { radius } else { radius / 2.0 };
            blur_plane(src, dst, *g, Passes::for_radius(kind, r), &mut pool);
        }
    };
    for f in frames.iter().take(4) {
        blur(f, &mut out);
    }
    let label = format!(
        "{w}x{h} {} {kind:?} r{radius} threads {tasks}",
        if rgba { "rgba" } else { "i420" }
    );
    timed(&label, count, |i| blur(&frames[i % frames.len()], &mut out));
}

/// Runs `step` for frames `0 .. count` and prints wall and CPU frame rates.
fn timed(label: &str, count: usize, mut step: impl FnMut(usize)) {
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..count {
        step(i);
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{label}: {count} frames, {:.1} fps wall, {:.1} fps per cpu-second",
        count as f64 / wall,
        count as f64 / cpu.max(1e-9)
    );
}

/// The same frames through `background_blur` (portrait mask).
fn background_fps(frames: &[Planes], rgba: bool, radius: f64, count: usize) {
    let (w, h) = (frames[0][0].1.width, frames[0][0].1.height);
    let ty = VideoType {
        format: if rgba {
            PixelFormat::Rgba
        } else {
            PixelFormat::I420
        },
        width: w as u32,
        height: h as u32,
        fps: (30, 1),
    };
    let videos: Vec<VideoFrame> = frames
        .iter()
        .map(|f| {
            let mut v = VideoFrame::new(ty);
            for (i, (data, _)) in f.iter().enumerate() {
                v.plane_mut(i).copy_from_slice(data);
            }
            v
        })
        .collect();
    let threads = rayon::current_num_threads();
    let mut node = BackgroundBlur::new(ty, MaskSource::Portrait, radius, 8.0, threads == 1);
    let mut out = VideoFrame::new(ty);
    let label = format!(
        "{w}x{h} {} background_blur r{radius} threads {threads}",
        ty.format.name()
    );
    timed(&label, count, |i| {
        node.run(&videos[i % videos.len()], None, &mut out)
    });
}

/// User plus system CPU time of the whole process, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn read_frames(path: &str, rgba: bool, max: usize) -> Vec<Planes> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut dec = y4m::decode(std::io::BufReader::new(file)).expect("a Y4M file");
    let (w, h) = (dec.get_width(), dec.get_height());
    let plane = |data: Vec<u8>, w: usize, h: usize, ch: usize| {
        let g = Geometry {
            width: w,
            height: h,
            stride: w * ch,
            channels: ch,
        };
        (data, g)
    };
    let mut frames = Vec::new();
    while frames.len() < max {
        let Ok(f) = dec.read_frame() else { break };
        let (y, u, v) = (f.get_y_plane(), f.get_u_plane(), f.get_v_plane());
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        frames.push(if rgba {
            vec![plane(to_rgba(y, u, v, w, h), w, h, 4)]
        } else {
            vec![
                plane(y.to_vec(), w, h, 1),
                plane(u.to_vec(), cw, ch, 1),
                plane(v.to_vec(), cw, ch, 1),
            ]
        });
    }
    assert!(!frames.is_empty(), "{path}: no frames");
    frames
}

/// BT.601 limited-range YUV 4:2:0 to rgba.
fn to_rgba(y: &[u8], u: &[u8], v: &[u8], w: usize, h: usize) -> Vec<u8> {
    let cw = w.div_ceil(2);
    let mut out = vec![255u8; w * h * 4];
    for row in 0..h {
        for x in 0..w {
            let c = (row / 2) * cw + x / 2;
            let yy = 1.164 * (f32::from(y[row * w + x]) - 16.0);
            let (cb, cr) = (f32::from(u[c]) - 128.0, f32::from(v[c]) - 128.0);
            let px = &mut out[(row * w + x) * 4..][..3];
            px[0] = (yy + 1.596 * cr).clamp(0.0, 255.0) as u8;
            px[1] = (yy - 0.392 * cb - 0.813 * cr).clamp(0.0, 255.0) as u8;
            px[2] = (yy + 2.017 * cb).clamp(0.0, 255.0) as u8;
        }
    }
    out
}
