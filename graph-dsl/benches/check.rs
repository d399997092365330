//! Parse + check time for generated graphs of 1k, 10k and 100k nodes with
//! two edges per node (each `mix` fed by the two nodes before it). The
//! target is under 100 ms for 10k nodes and linear growth.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_dsl::{check, testing, SourceFile};
use std::fmt::Write;

/// `n` nodes: two tones, then mixes each fed by the two previous nodes,
/// with a sink on the last one (about 2n edges).
fn graph(n: usize) -> String {
    let mut s = String::with_capacity(n * 40);
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

fn bench(c: &mut Criterion) {
    let cat = testing::catalogue();
    let mut g = c.benchmark_group("check");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let file = SourceFile::new("bench.sluice", graph(n));
        let checked = check(&file, &cat);
        let plan = checked.plan.expect("the generated graph is valid");
        assert_eq!(plan.graph.node_count(), n);
        assert!(plan.graph.edge_count() >= 2 * n - 5);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &file, |b, f| {
            b.iter(|| check(f, &cat))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
