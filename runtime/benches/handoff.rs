//! Frame hand-off across one edge, against the raw rings it is built on.
//!
//! - `raw/rtrb` and `raw/ringbuf`: push then pop of one pointer-sized value
//!   on one thread (the floor for any hand-off).
//! - `raw/rtrb_with_return_ring`: the same plus the trip back on a second
//!   ring (the return-ring pool design, for one reader).
//! - `edge/audio` and `edge/video1080p`: one pooled frame through a Sluice
//!   edge: take a free frame, publish its handle, poll, read, release. The
//!   frame is never copied, so the 8 MB video frame costs what audio does.
//! - `threads/*`: 100 000 values from one thread to another through each
//!   ring (both sides yield when the ring is full or empty, so the figure
//!   holds up on a shared machine), per value.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringbuf::traits::{Consumer as _, Producer as _, Split};
use sluice_dsl::{MediaType, PixelFormat, VideoType};
use sluice_runtime::transport::edge::{connect, EdgeSpec, Policy, Poll};
use sluice_runtime::Frame;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn raw(c: &mut Criterion) {
    let mut g = c.benchmark_group("raw");
    let (mut tx, mut rx) = rtrb::RingBuffer::<usize>::new(4);
    g.bench_function("rtrb", |b| {
        b.iter(|| {
            tx.push(black_box(0x1000usize)).unwrap();
            black_box(rx.pop().unwrap())
        })
    });
    // The alternative pool design: a handle goes out on one ring and comes
    // back on a return ring (what a single-reader pool would cost).
    let (mut tx, mut rx) = rtrb::RingBuffer::<usize>::new(4);
    let (mut back_tx, mut back_rx) = rtrb::RingBuffer::<usize>::new(4);
    back_tx.push(0x1000).unwrap();
    g.bench_function("rtrb_with_return_ring", |b| {
        b.iter(|| {
            let h = back_rx.pop().unwrap();
            tx.push(black_box(h)).unwrap();
            let h = black_box(rx.pop().unwrap());
            back_tx.push(h).unwrap();
        })
    });
    let rb = ringbuf::HeapRb::<usize>::new(4);
    let (mut tx, mut rx) = rb.split();
    g.bench_function("ringbuf", |b| {
        b.iter(|| {
            tx.try_push(black_box(0x1000usize)).unwrap();
            black_box(rx.try_pop().unwrap())
        })
    });
    g.finish();
}

fn edge(c: &mut Criterion) {
    let mut g = c.benchmark_group("edge");
    let video = MediaType::Video(VideoType {
        format: PixelFormat::Rgba,
        width: 1920,
        height: 1080,
        fps: (30, 1),
    });
    for (name, ty) in [
        ("audio", MediaType::Audio { channels: 2 }),
        ("video1080p", video),
    ] {
        let proto = Frame::for_type(&ty, 480);
        let (mut out, mut inputs) = connect(
            &proto,
            &[EdgeSpec {
                capacity: 2,
                policy: Policy::DropNewest,
            }],
        );
        let input = &mut inputs[0];
        g.bench_function(name, |b| {
            b.iter(|| {
                let f = out.frame_mut().unwrap();
                f.set_time(black_box(1));
                out.publish();
                assert_eq!(input.poll(), Poll::Ready);
                black_box(input.frame().unwrap().time());
                input.consumed();
            })
        });
    }
    g.finish();
}

/// Moves `n` values from this thread to a spinning consumer thread.
fn two_threads_rtrb(n: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<usize>::new(256);
    let t = std::thread::spawn(move || {
        let mut got = 0;
        while got < n {
            if rx.pop().is_ok() {
                got += 1;
            } else {
                std::thread::yield_now();
            }
        }
    });
    let start = Instant::now();
    for i in 0..n {
        while tx.push(i as usize).is_err() {
            std::thread::yield_now();
        }
    }
    t.join().unwrap();
    start.elapsed()
}

fn two_threads_ringbuf(n: u64) -> Duration {
    let (mut tx, mut rx) = ringbuf::HeapRb::<usize>::new(256).split();
    let t = std::thread::spawn(move || {
        let mut got = 0;
        while got < n {
            if rx.try_pop().is_some() {
                got += 1;
            } else {
                std::thread::yield_now();
            }
        }
    });
    let start = Instant::now();
    for i in 0..n {
        while tx.try_push(i as usize).is_err() {
            std::thread::yield_now();
        }
    }
    t.join().unwrap();
    start.elapsed()
}

fn threads(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut g = c.benchmark_group("threads");
    g.throughput(Throughput::Elements(N));
    g.bench_function(BenchmarkId::new("rtrb", N), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| two_threads_rtrb(N)).sum())
    });
    g.bench_function(BenchmarkId::new("ringbuf", N), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| two_threads_ringbuf(N)).sum())
    });
    g.finish();
}

criterion_group!(benches, raw, edge, threads);
criterion_main!(benches);
