//! Small transport tests sized for Miri (`cargo +nightly miri test -p
//! sluice-runtime --test miri`): they exercise every `unsafe` block (pool
//! frame access, lent output frames, the `PortIo` pointer views) on one and
//! on two threads. They also run as ordinary tests.

mod common;

use common::*;
use sluice_dsl::MediaType;
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::transport::edge::{connect, EdgeSpec, Policy, Poll};
use sluice_runtime::{Engine, Frame, Parallel};

fn spec(capacity: usize, policy: Policy) -> EdgeSpec {
    EdgeSpec { capacity, policy }
}

fn mono() -> Frame {
    Frame::for_type(&MediaType::Audio { channels: 1 }, 4)
}

fn put(f: Option<&mut Frame>, v: f32) {
    match f {
        Some(Frame::Audio(a)) => a.data_mut().fill(v),
        _ => panic!("no audio frame"),
    }
}

fn get(f: Option<&Frame>) -> f32 {
    match f {
        Some(Frame::Audio(a)) => a.data()[0],
        _ => panic!("no audio frame"),
    }
}

#[test]
fn fan_out_shares_one_frame_and_returns_it() {
    let (mut out, mut ins) = connect(
        &mono(),
        &[spec(2, Policy::DropNewest), spec(2, Policy::DropNewest)],
    );
    let pool = out.pool().clone();
    put(out.frame_mut(), 7.0);
    assert_eq!(out.publish(), 2);
    assert_eq!(ins[0].poll(), Poll::Ready);
    assert_eq!(ins[1].poll(), Poll::Ready);
    let a = ins[0].frame().unwrap() as *const Frame;
    let b = ins[1].frame().unwrap() as *const Frame;
    assert_eq!(a, b, "one frame, two readers");
    assert_eq!(get(ins[0].frame()), 7.0);
    ins[0].consumed();
    assert_eq!(
        pool.free(),
        pool.len() - 1,
        "still held by the second reader"
    );
    ins[1].consumed();
    assert_eq!(pool.free(), pool.len());
}

#[test]
fn full_ring_drops_on_its_edge_only() {
    let (mut out, mut ins) = connect(
        &mono(),
        &[spec(1, Policy::DropNewest), spec(3, Policy::DropNewest)],
    );
    for v in 0..3 {
        put(out.frame_mut(), v as f32);
        out.publish();
    }
    out.end();
    assert_eq!(ins[0].shared().drops(), 2);
    assert_eq!(ins[1].shared().drops(), 0);
    let mut got = vec![];
    while ins[1].poll() == Poll::Ready {
        got.push(get(ins[1].frame()));
        ins[1].consumed();
    }
    assert_eq!(got, [0.0, 1.0, 2.0]);
    assert_eq!(ins[0].poll(), Poll::Ready);
    assert_eq!(get(ins[0].frame()), 0.0);
}

#[test]
fn latest_edge_keeps_the_newest() {
    let (mut out, mut ins) = connect(&mono(), &[spec(3, Policy::Latest)]);
    let pool = out.pool().clone();
    for v in 0..3 {
        put(out.frame_mut(), v as f32);
        out.publish();
    }
    assert_eq!(ins[0].poll(), Poll::Ready);
    assert_eq!(get(ins[0].frame()), 2.0);
    ins[0].consumed();
    assert_eq!(ins[0].poll(), Poll::Ready, "held until a newer one arrives");
    assert_eq!(ins[0].shared().skipped(), 2);
    out.end();
    drop(ins);
    assert_eq!(pool.free(), pool.len());
}

#[test]
fn two_threads_hand_off_in_order() {
    let (mut out, mut ins) = connect(&mono(), &[spec(2, Policy::DropNewest)]);
    let mut input = ins.pop().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = vec![];
        loop {
            match input.poll() {
                Poll::Ready => {
                    got.push(get(input.frame()));
                    input.consumed();
                }
                Poll::Empty => std::thread::yield_now(),
                Poll::Ended => return got,
            }
        }
    });
    for v in 0..20 {
        while !out.has_room() {
            std::thread::yield_now();
        }
        put(out.frame_mut(), v as f32);
        out.publish();
    }
    out.end();
    let want: Vec<f32> = (0..20).map(|v| v as f32).collect();
    assert_eq!(reader.join().unwrap(), want);
}

#[test]
fn engine_runs_a_small_graph() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "m_a",
        "counter",
        args(&[("id", 1.0), ("count", 5.0)]),
        &[],
        &[MONO],
    )
    .node(
        "m_b",
        "counter",
        args(&[("id", 2.0), ("count", 3.0)]),
        &[],
        &[MONO],
    )
    .node("m_sum", "sum", args(&[]), &[MONO, MONO], &[MONO])
    .node("m_sink", "collect", args(&[]), &[MONO], &[])
    .node("m_tap", "collect", args(&[]), &[MONO], &[])
    .connect("m_a", 0, "m_sum", 0)
    .connect("m_b", 0, "m_sum", 1)
    .connect("m_a", 0, "m_tap", 0)
    .connect("m_sum", 0, "m_sink", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    e.set_parallel(Parallel::Off);
    e.run().unwrap();
    let want: Vec<f32> = (0..5)
        .map(|k| value(1.0, k) + if k < 3 { value(2.0, k) } else { 0.0 })
        .collect();
    assert_eq!(collected("m_sink").values, want);
    assert_eq!(collected("m_tap").values.len(), 5);
}

/// A reload handed over before the first tick: the gain is swapped in and
/// crossfaded (the fade's lent scratch frames are the `unsafe` part), the
/// counter and the sink are kept.
#[test]
fn reload_swaps_and_crossfades() {
    let r = registry();
    let graph = |gain: f64| {
        let mut b = PlanBuilder::new(&r);
        b.node(
            "rl_src",
            "counter",
            args(&[("id", 3.0), ("count", 8.0)]),
            &[],
            &[MONO],
        )
        .node("rl_gain", "gain", args(&[("gain", gain)]), &[MONO], &[MONO])
        .node("rl_sink", "collect", args(&[]), &[MONO], &[])
        .connect("rl_src", 0, "rl_gain", 0)
        .connect("rl_gain", 0, "rl_sink", 0);
        b.build()
    };
    let mut e = Engine::build(&graph(1.0), &r).unwrap();
    e.set_parallel(Parallel::Off);
    let mut reloader = e.reloader();
    let changes = reloader.prepare(&graph(2.0), &r).unwrap();
    assert_eq!(changes.kept, ["rl_sink", "rl_src"]);
    e.run().unwrap();
    assert!(reloader.applied());
    let got = collected("rl_sink").values;
    // Four ticks of ramp from gain 1 to gain 2 (not uniform frames: NaN),
    // then gain 2.
    assert_eq!(got.len(), 8);
    assert!(got[..4].iter().all(|v| v.is_nan()), "{got:?}");
    let want: Vec<f32> = (4..8).map(|k| 2.0 * value(3.0, k)).collect();
    assert_eq!(got[4..], want[..]);
}
