//! Proof of the real-time rule: after start, the processing threads neither
//! allocate nor free. A counting global allocator counts only on threads the
//! engine's thread hook marks (from their first tick to their last; for
//! the driven executor, the caller's thread inside each step).

mod common;

use common::*;
use sluice_dsl::{Arg, Domain, Settings};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::{Engine, Parallel, SimClock, ThreadEvent};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

static THREADS: AtomicU64 = AtomicU64::new(0);

/// The counters are global: the tests of this file run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn hook(e: ThreadEvent) {
    if matches!(e, ThreadEvent::Started(_)) {
        THREADS.fetch_add(1, Ordering::Relaxed);
    }
    counting::thread_hook(e);
}

const TICKS: u64 = 10_000;

/// 26 nodes: 4 sources, gains, pass-throughs, a 3-way fan-out, a 4-input
/// sum and a 2-input sum, sinks on the real-time thread and one sink on the
/// I/O thread (the hand-off to a writer thread is inside the proof).
fn graph(prefix: &str, settings: Settings) -> sluice_dsl::Plan {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(settings);
    let n = |s: &str| format!("{prefix}_{s}");
    let cap = args(&[("capacity", TICKS as f64 + 10.0)]);
    for i in 0..4 {
        b.node(
            &n(&format!("src{i}")),
            "counter",
            args(&[("id", i as f64)]),
            &[],
            &[MONO],
        )
        .node(
            &n(&format!("gain{i}")),
            "gain",
            args(&[("gain", 0.5)]),
            &[MONO],
            &[MONO],
        )
        .node(&n(&format!("pass{i}")), "pass", args(&[]), &[MONO], &[MONO])
        .connect(&n(&format!("src{i}")), 0, &n(&format!("gain{i}")), 0)
        .connect(&n(&format!("gain{i}")), 0, &n(&format!("pass{i}")), 0);
    }
    b.node(&n("mix"), "sum", args(&[]), &[MONO; 4], &[MONO]);
    for i in 0..4 {
        b.connect(&n(&format!("pass{i}")), 0, &n("mix"), i);
    }
    // Fan-out of the mix to three branches.
    b.node(&n("a"), "gain", args(&[]), &[MONO], &[MONO])
        .node(&n("b"), "pass", args(&[]), &[MONO], &[MONO])
        .node(&n("c"), "pass", args(&[]), &[MONO], &[MONO])
        .connect(&n("mix"), 0, &n("a"), 0)
        .connect(&n("mix"), 0, &n("b"), 0)
        .connect(&n("mix"), 0, &n("c"), 0)
        .node(&n("ab"), "sum", args(&[]), &[MONO; 2], &[MONO])
        .connect(&n("a"), 0, &n("ab"), 0)
        .connect(&n("b"), 0, &n("ab"), 1)
        .node(&n("ab2"), "gain", args(&[]), &[MONO], &[MONO])
        .connect(&n("ab"), 0, &n("ab2"), 0)
        .node(&n("c2"), "pass", args(&[]), &[MONO], &[MONO])
        .connect(&n("c"), 0, &n("c2"), 0)
        .node(&n("sink_ab"), "collect", cap.clone(), &[MONO], &[])
        .connect(&n("ab2"), 0, &n("sink_ab"), 0)
        .node(&n("sink_c"), "collect", cap.clone(), &[MONO], &[])
        .connect(&n("c2"), 0, &n("sink_c"), 0)
        .node(&n("sink_src0"), "collect", cap.clone(), &[MONO], &[])
        .connect(&n("src0"), 0, &n("sink_src0"), 0)
        .node(&n("disk"), "io_collect", cap, &[MONO], &[])
        .connect(&n("mix"), 0, &n("disk"), 0);
    let plan = b.build();
    assert!(plan.graph.node_count() >= 20, "{}", plan.graph.node_count());
    plan
}

fn settings(realtime: bool) -> Settings {
    Settings {
        realtime,
        duration: Some(TICKS as f64 * 0.01),
        ..Settings::default()
    }
}

#[test]
fn no_allocation_on_processing_threads_after_start() {
    let _g = SERIAL.lock().unwrap();
    // Both executors, one after the other (the counters are global).
    for (prefix, realtime, parallel) in [
        ("na_rt", true, Parallel::Auto),
        ("na_un", false, Parallel::Off),
        ("na_par", false, Parallel::Always),
    ] {
        let r = registry();
        let mut e = Engine::build(&graph(prefix, settings(realtime)), &r).unwrap();
        e.set_thread_hook(hook);
        e.set_parallel(parallel);
        e.set_pace_clock(Arc::new(SimClock::new()));
        let mut ctl = e.controller();
        // A change queued before start is applied on the processing thread
        // between ticks, and its value freed back here.
        ctl.set(&format!("{prefix}_a"), "gain", Arg::Num(2.0))
            .unwrap();
        THREADS.store(0, Ordering::Relaxed);
        counting::settle();
        let before = counting::counts();
        let s = e.run().unwrap();
        let counted = counting::counts().since(before);
        let (allocs, frees) = (counted.allocs, counted.frees);
        let threads = THREADS.load(Ordering::Relaxed);
        assert_eq!(ctl.pending(), 0);
        let want_threads = match (realtime, parallel) {
            (true, _) => 2,
            (false, Parallel::Always) => {
                std::thread::available_parallelism().map_or(1, |n| n.get().min(2)) as u64
            }
            _ => 1,
        };
        assert!(
            threads >= want_threads,
            "{prefix}: {threads} threads watched"
        );
        assert!(s.ticks >= TICKS, "{prefix}: {} ticks", s.ticks);
        assert_eq!(
            (allocs, frees),
            (0, 0),
            "{prefix}: allocations/frees after start"
        );
        let ab = collected(&format!("{prefix}_sink_ab")).values;
        assert_eq!(ab.len() as u64, TICKS);
        // mix = 0.5 * sum of ids*1e6 + 4k; ab = 2 * mix + mix.
        let k = 17u64;
        let mix: f32 = (0..4).map(|i| 0.5 * value(i as f32, k)).sum();
        assert_eq!(ab[k as usize], 3.0 * mix);
    }
}

#[test]
fn driven_steps_do_not_allocate() {
    let _g = SERIAL.lock().unwrap();
    // The caller's thread is watched inside every step (the hook marks
    // it), and unwatched between steps, where it sends a live change.
    for (prefix, realtime) in [("na_dr", false), ("na_drt", true)] {
        let r = registry();
        let mut e = Engine::build(&graph(prefix, settings(realtime)), &r).unwrap();
        e.set_thread_hook(hook);
        let mut ctl = e.controller();
        let mut d = e.drive();
        THREADS.store(0, Ordering::Relaxed);
        counting::settle();
        let before = counting::counts();
        let mut steps = 0u64;
        while !d.step(Domain::Audio) {
            steps += 1;
            if steps == TICKS / 2 {
                ctl.set(&format!("{prefix}_a"), "gain", Arg::Num(2.0))
                    .unwrap();
            }
            if steps.is_multiple_of(1000) {
                d.step_until(d.next_tick(Domain::Audio).unwrap_or(0));
            }
        }
        let counted = counting::counts().since(before);
        assert!(THREADS.load(Ordering::Relaxed) >= TICKS, "{prefix}");
        assert_eq!(
            (counted.allocs, counted.frees),
            (0, 0),
            "{prefix}: allocations/frees inside steps"
        );
        let s = d.finish().unwrap();
        assert_eq!(s.ticks, TICKS, "{prefix}");
        assert_eq!(ctl.pending(), 0);
        let ab = collected(&format!("{prefix}_sink_ab")).values;
        assert_eq!(ab.len() as u64, TICKS);
        // The gain of `a` went from 1 to 2 halfway: ab = a + b = 3 mix.
        let k = TICKS - 1;
        let mix: f32 = (0..4).map(|i| 0.5 * value(i as f32, k)).sum();
        assert_eq!(ab[k as usize], 3.0 * mix, "{prefix}");
    }
}
