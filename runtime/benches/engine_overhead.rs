//! Engine overhead per node per tick: a source, a chain of 100 nodes and a
//! sink, run unpaced on one thread. `noop` nodes touch no samples (the
//! engine alone: polling, frame hand-off, stamping, dispatch, timing);
//! `pass` nodes copy their 480-sample input (a realistic cheapest node).
//! Divide the time per tick by 102 for the per-node figure. Node times are
//! sampled (every 8th tick by default); `_every_tick` times every tick
//! (what sampling saves) and `_untimed` none (what the stats cost).
//! `driven` steps the same chain from the bench's own thread
//! ([`Engine::drive`]).

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sluice_dsl::{Domain, Settings};
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::{Engine, Parallel};
use std::time::{Duration, Instant};

fn chain(kind: &str, ticks: u64) -> sluice_dsl::Plan {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(Settings {
        duration: Some(ticks as f64 * 0.01),
        ..Settings::default()
    });
    b.node("src", "counter", args(&[("id", 1.0)]), &[], &[MONO]);
    let mut prev = "src".to_string();
    for i in 0..100 {
        let name = format!("n{i}");
        b.node(&name, kind, args(&[]), &[MONO], &[MONO])
            .connect(&prev, 0, &name, 0);
        prev = name;
    }
    b.node("sink", "noop", args(&[]), &[MONO], &[])
        .connect(&prev, 0, "sink", 0);
    b.build()
}

/// How a variant times its nodes: every how many ticks (0: never).
const VARIANTS: [(&str, &str, u32); 4] = [
    ("noop", "noop", 8),
    ("noop_every_tick", "noop", 1),
    ("noop_untimed", "noop", 0),
    ("pass", "pass", 8),
];

fn overhead(c: &mut Criterion) {
    let r = registry();
    let mut g = c.benchmark_group("chain100");
    for (id, kind, every) in VARIANTS {
        g.bench_function(BenchmarkId::new("tick", id), |b| {
            b.iter_custom(|iters| {
                let mut e = Engine::build(&chain(kind, iters), &r).unwrap();
                e.set_parallel(Parallel::Off);
                e.set_timing(every > 0);
                e.set_timing_every(every);
                let s = e.run().unwrap();
                assert_eq!(s.ticks, iters);
                // The run's own wall time covers the ticks and the drain.
                s.wall_time.max(Duration::from_nanos(1))
            })
        });
    }
    g.bench_function(BenchmarkId::new("tick", "noop_driven"), |b| {
        b.iter_custom(|iters| {
            let mut d = Engine::build(&chain("noop", iters), &r).unwrap().drive();
            let t0 = Instant::now();
            for _ in 0..iters {
                d.step(Domain::Audio);
            }
            let spent = t0.elapsed();
            assert_eq!(d.finish().unwrap().ticks, iters);
            spent.max(Duration::from_nanos(1))
        })
    });
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
