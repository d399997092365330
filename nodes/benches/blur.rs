//! Blur throughput: radius 16 on 720p and 1080p rgba and i420 frames, on one
//! thread and on every rayon thread. Criterion reports the time per frame;
//! the throughput line is frame bytes per second, to compare with the
//! machine's ~12 GB/s one-core memory bandwidth. Also `background_blur`
//! (portrait mask, radius 16) on 720p i420 and rgba.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_dsl::{PixelFormat, VideoType};
use sluice_nodes::blur::background_blur::{BackgroundBlur, MaskSource};
use sluice_nodes::kernels::blur::{blur_plane, BlurKind, Geometry, Passes, Scratch};
use sluice_runtime::VideoFrame;
use std::hint::black_box;

struct Frame {
    planes: Vec<(Vec<u8>, Geometry, f64)>,
}

/// A frame of `format` with textured content; each plane with the radius
/// it is blurred at (chroma of i420 at half the radius).
fn frame(format: &str, w: usize, h: usize, radius: f64) -> Frame {
    let plane = |w: usize, h: usize, ch: usize, r: f64| {
        let g = Geometry {
            width: w,
            height: h,
            stride: w * ch,
            channels: ch,
        };
        let data = (0..g.len())
            .map(|i| ((i * 7919) % 251 + (i / (w * ch)) % 5) as u8)
            .collect();
        (data, g, r)
    };
    let planes = match format {
        "rgba" => vec![plane(w, h, 4, radius)],
        _ => vec![
            plane(w, h, 1, radius),
            plane(w / 2, h / 2, 1, radius / 2.0),
            plane(w / 2, h / 2, 1, radius / 2.0),
        ],
    };
    Frame { planes }
}

fn bench_blur(c: &mut Criterion) {
    let threads = rayon::current_num_threads();
    let mut group = c.benchmark_group("blur_r16");
    for (w, h) in [(1280, 720), (1920, 1080)] {
        for format in ["i420", "rgba"] {
            for kind in [BlurKind::Gaussian, BlurKind::Box] {
                let src = frame(format, w, h, 16.0);
                let mut dst = frame(format, w, h, 16.0);
                let bytes: usize = src.planes.iter().map(|p| p.0.len()).sum();
                group.throughput(Throughput::Bytes(bytes as u64));
                for tasks in [1, threads * 4] {
                    let mut pool = vec![Scratch::new(w.max(h)); tasks];
                    let label = format!(
                        "{format}_{w}x{h}_{kind:?}_{}",
                        if tasks == 1 { "1thread" } else { "allthreads" }
                    );
                    group.bench_function(BenchmarkId::from_parameter(label), |b| {
                        b.iter(|| {
                            for ((s, g, r), (d, _, _)) in
                                src.planes.iter().zip(dst.planes.iter_mut())
                            {
                                blur_plane(
                                    black_box(s),
                                    d,
                                    *g,
                                    Passes::for_radius(kind, *r),
                                    &mut pool,
                                );
                            }
                        })
                    });
                    if tasks == 1 && threads == 1 {
                        break;
                    }
                }
            }
        }
    }
    group.finish();
}

fn bench_background_blur(c: &mut Criterion) {
    let mut group = c.benchmark_group("background_blur_r16");
    for format in [PixelFormat::I420, PixelFormat::Rgba] {
        let ty = VideoType {
            format,
            width: 1280,
            height: 720,
            fps: (30, 1),
        };
        let mut src = VideoFrame::new(ty);
        for (i, v) in src.data_mut().iter_mut().enumerate() {
            *v = ((i * 7919) % 251) as u8;
        }
        let mut dst = VideoFrame::new(ty);
        group.throughput(Throughput::Bytes(src.data().len() as u64));
        for (threads, realtime) in [("1thread", true), ("allthreads", false)] {
            let mut node = BackgroundBlur::new(ty, MaskSource::Portrait, 16.0, 8.0, realtime);
            let label = format!("{}_1280x720_portrait_{threads}", format.name());
            group.bench_function(BenchmarkId::from_parameter(label), |b| {
                b.iter(|| node.run(black_box(&src), None, &mut dst))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_blur, bench_background_blur);
criterion_main!(benches);
