//! Video kernels on 1280x720 frames: colour conversion, chroma
//! (de)interleaving, scaling and blending, SIMD against scalar references.
//! Throughput counts bytes read plus bytes written, to compare with the
//! machine's memory bandwidth (about 12 GB/s on one core).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_dsl::{PixelFormat, VideoType};
use sluice_nodes::kernels::color::{self, YuvSpec};
use sluice_nodes::kernels::composite;
use sluice_nodes::video::scale::{Fit, FrameScaler, Rect};
use sluice_runtime::VideoFrame;
use std::hint::black_box;

const W: usize = 1280;
const H: usize = 720;

fn frame_bytes() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let rgba: Vec<u8> = (0..W * H * 4).map(|i| (i * 7 % 251) as u8).collect();
    let c = W / 2 * H / 2;
    (rgba, vec![0; W * H], vec![0; c], vec![0; c])
}

fn conversions(c: &mut Criterion) {
    let spec = YuvSpec::default();
    let (rgba, mut y, mut u, mut v) = frame_bytes();
    let mut uv = vec![0; W * H / 2];
    let mut out = vec![0; W * H * 4];
    let yuv_bytes = (W * H * 3 / 2) as u64;
    let rgba_bytes = (W * H * 4) as u64;
    let mut g = c.benchmark_group("convert_720p");
    g.throughput(Throughput::Bytes(rgba_bytes + yuv_bytes));
    g.bench_function("rgba_to_i420", |b| {
        b.iter(|| color::rgba_to_i420(black_box(&rgba), W, H, &mut y, &mut u, &mut v, spec))
    });
    g.bench_function("rgba_to_i420_scalar", |b| {
        b.iter(|| color::rgba_to_i420_scalar(black_box(&rgba), W, H, &mut y, &mut u, &mut v, spec))
    });
    g.bench_function("rgba_to_nv12", |b| {
        b.iter(|| color::rgba_to_nv12(black_box(&rgba), W, H, &mut y, &mut uv, spec))
    });
    g.bench_function("i420_to_rgba", |b| {
        b.iter(|| color::i420_to_rgba(black_box(&y), &u, &v, W, H, &mut out, spec))
    });
    g.bench_function("i420_to_rgba_scalar", |b| {
        b.iter(|| color::i420_to_rgba_scalar(black_box(&y), &u, &v, W, H, &mut out, spec))
    });
    g.bench_function("nv12_to_rgba", |b| {
        b.iter(|| color::nv12_to_rgba(black_box(&y), &uv, W, H, &mut out, spec))
    });
    g.throughput(Throughput::Bytes(W as u64 * H as u64));
    g.bench_function("interleave_uv", |b| {
        b.iter(|| color::interleave_uv(black_box(&u), &v, &mut uv))
    });
    g.bench_function("deinterleave_uv", |b| {
        b.iter(|| color::deinterleave_uv(black_box(&uv), &mut u, &mut v))
    });
    g.finish();
}

fn ty(format: PixelFormat, w: u32, h: u32) -> VideoType {
    VideoType {
        format,
        width: w,
        height: h,
        fps: (30, 1),
    }
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_720p");
    for (name, format, (dw, dh)) in [
        ("i420_to_360p", PixelFormat::I420, (640u32, 360u32)),
        ("i420_to_1080p", PixelFormat::I420, (1920, 1080)),
        ("rgba_to_360p", PixelFormat::Rgba, (640, 360)),
    ] {
        let src_ty = ty(format, W as u32, H as u32);
        let dst_ty = ty(format, dw, dh);
        let mut src = VideoFrame::new(src_ty);
        src.data_mut()
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (i * 13 % 253) as u8);
        let mut dst = VideoFrame::new(dst_ty);
        let rect = Rect {
            x: 0,
            y: 0,
            w: dw as usize,
            h: dh as usize,
        };
        let mut s = FrameScaler::new(src_ty, dst_ty, rect, Fit::Stretch).expect("scaler");
        g.throughput(Throughput::Bytes(
            (src.data().len() + dst.data().len()) as u64,
        ));
        g.bench_function(name, |b| b.iter(|| s.run(black_box(&src), &mut dst)));
    }
    g.finish();
}

fn blending(c: &mut Criterion) {
    let n = W * H;
    let mut base = vec![100u8; n];
    let top: Vec<u8> = (0..n).map(|i| (i % 256) as u8).collect();
    let alpha: Vec<u8> = (0..n).map(|i| (i / 7 % 256) as u8).collect();
    let mut g = c.benchmark_group("blend_720p_luma");
    g.throughput(Throughput::Bytes(4 * n as u64));
    g.bench_function("blend", |b| {
        b.iter(|| composite::blend(black_box(&mut base), &top, &alpha))
    });
    g.bench_function("blend_scalar", |b| {
        b.iter(|| composite::blend_scalar(black_box(&mut base), &top, &alpha))
    });
    g.finish();
}

criterion_group!(benches, conversions, scaling, blending);
criterion_main!(benches);
