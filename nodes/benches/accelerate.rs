//! The cost of shortening a voiced queue (`cargo bench -p sluice-nodes
//! --bench accelerate`): one pitch search over a 20 ms tick's head, at
//! each rate a call's graph runs at, and one compression. `acs_in` makes
//! at most one search per 30 ms per participant whose queue is being
//! shortened. BENCHMARKS.md has the figures ("Server load").

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_nodes::acs::accelerate::{compress, Pitch};
use std::hint::black_box;

/// A voiced sound: a 125 Hz fundamental and two harmonics.
fn voice(rate: u32, n: usize) -> Vec<f32> {
    let f0 = std::f32::consts::TAU * 125.0 / rate as f32;
    (0..n)
        .map(|i| {
            let p = f0 * i as f32;
            0.5 * p.sin() + 0.25 * (2.0 * p).sin() + 0.12 * (3.0 * p + 1.0).sin()
        })
        .collect()
}

fn accelerate(c: &mut Criterion) {
    for rate in [16_000u32, 24_000, 48_000] {
        let (pitch, len) = (Pitch::at(rate), rate as usize / 50);
        let x = voice(rate, pitch.needs(len));
        c.bench_function(
            &format!("pitch search, 20 ms at {} kHz", rate / 1000),
            |b| b.iter(|| black_box(pitch.best_period(black_box(&x)))),
        );
        let lag = pitch.best_period(&x).0;
        let mut out = vec![0.0; len];
        c.bench_function(&format!("compress, 20 ms at {} kHz", rate / 1000), |b| {
            b.iter(|| compress(black_box(&x), lag, &mut out))
        });
    }
}

criterion_group!(benches, accelerate);
criterion_main!(benches);
