//! The mix kernel: 32 streams of one 10 ms tick (in cache; SIMD against the
//! scalar reference) and 10,000 streams (out of cache; bytes per second
//! against the machine's memory bandwidth).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_nodes::kernels::mix::{accumulate, accumulate_scalar, mix_into, mix_into_scalar};
use std::hint::black_box;

const TICK: usize = 480;

fn streams(count: usize) -> Vec<Vec<f32>> {
    (0..count)
        .map(|k| {
            (0..TICK)
                .map(|i| ((i * 7 + k * 13) % 101) as f32 / 101.0 - 0.5)
                .collect()
        })
        .collect()
}

fn by_accumulate(out: &mut [f32], inputs: &[&[f32]]) {
    out.copy_from_slice(inputs[0]);
    for x in &inputs[1..] {
        accumulate(out, x);
    }
}

fn bench_mix(c: &mut Criterion) {
    for count in [32usize, 10_000] {
        let data = streams(count);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let mut out = vec![0.0f32; TICK];
        let mut g = c.benchmark_group(format!("mix_{count}x{TICK}"));
        g.throughput(Throughput::Bytes((count * TICK * 4) as u64));
        g.bench_function(BenchmarkId::new("simd", "register_blocked"), |b| {
            b.iter(|| mix_into(black_box(&mut out), black_box(&refs)))
        });
        g.bench_function(BenchmarkId::new("simd", "accumulate"), |b| {
            b.iter(|| by_accumulate(black_box(&mut out), black_box(&refs)))
        });
        g.bench_function(BenchmarkId::new("scalar", "reference"), |b| {
            b.iter(|| mix_into_scalar(black_box(&mut out), black_box(&refs)))
        });
        g.bench_function(BenchmarkId::new("scalar", "accumulate"), |b| {
            b.iter(|| {
                out.copy_from_slice(refs[0]);
                for x in &refs[1..] {
                    accumulate_scalar(black_box(&mut out), black_box(x));
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_mix);
criterion_main!(benches);
