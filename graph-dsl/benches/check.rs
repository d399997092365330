//! Parse + check time for generated graphs of 1k, 10k and 100k nodes with
//! two edges per node (each `mix` fed by the two nodes before it). The
//! target is under 100 ms for 10k nodes and linear growth.
//!
//! Two measurements: wall time (criterion's default) and the CPU time of
//! the benchmarking thread (from /proc/thread-self/schedstat, in ns), which
//! stays meaningful on a machine shared with other work.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_dsl::{check, testing, SourceFile};
use std::fmt::Write;

/// `n` nodes: two tones, then mixes each fed by the two previous nodes,
/// with a sink on the last one (about 2n edges).
fn graph(n: usize) -> String {
    let mut s = String::with_capacity(n * 60);
    let _ = writeln!(
        s,
        "n0 = tone(freq: 440Hz)\nn1 = tone(freq: 1kHz, amp: -6dB)"
    );
    for i in 2..n - 1 {
        let _ = writeln!(
            s,
            "n{i} = mix(normalize: true)\n[n{}, n{}] -> n{i}",
            i - 1,
            i - 2
        );
    }
    let _ = writeln!(s, "n{} -> null", n - 2);
    s
}

/// CPU time of the calling thread in nanoseconds (Linux schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Criterion measurement of the benchmarking thread's CPU time.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

fn run<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let cat = testing::catalogue();
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let file = SourceFile::new("bench.sluice", graph(n));
        let plan = check(&file, &cat)
            .plan
            .expect("the generated graph is valid");
        assert_eq!(plan.graph.node_count(), n);
        assert!(plan.graph.edge_count() >= 2 * n - 5);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &file, |b, f| {
            b.iter(|| check(f, &cat))
        });
    }
    g.finish();
}

fn wall(c: &mut Criterion) {
    run(c, "check_wall");
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    run(c, "check_cpu");
}

criterion_group!(wall_benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu
}
criterion_main!(wall_benches, cpu_benches);
