//! Property tests of the transport: random fan-outs, capacities and
//! interleavings of producer and reader steps (single-threaded schedules and
//! real threads), and random DAGs through the engine. Every frame arrives at
//! most once and in order, every loss is a counted drop, a held frame is
//! never overwritten, and every pooled frame returns to its pool.

mod common;

use common::*;
use proptest::prelude::*;
use sluice_dsl::MediaType;
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::transport::edge::{connect, EdgeSpec, Input, Output, Policy, Poll};
use sluice_runtime::{Engine, Frame, Parallel};
use std::collections::HashMap;

const SAMPLES: usize = 8;

fn proto() -> Frame {
    Frame::for_type(&MediaType::Audio { channels: 1 }, SAMPLES)
}

fn write(out: &mut Output, seq: u32) {
    let Some(Frame::Audio(a)) = out.frame_mut() else {
        panic!("no free frame for seq {seq}: the pool is too small")
    };
    a.data_mut().fill(seq as f32);
}

fn read(input: &Input) -> u32 {
    let Some(Frame::Audio(a)) = input.frame() else {
        panic!("no frame held")
    };
    let v = a.data()[0];
    assert!(a.data().iter().all(|&x| x == v), "a frame was torn");
    v as u32
}

/// One reader: what it got, and the frame it is holding (checked again on
/// release: nobody may write a held frame).
#[derive(Default)]
struct Reader {
    got: Vec<u32>,
    holding: Option<u32>,
}

#[derive(Debug, Clone)]
enum Op {
    /// The producer writes and publishes the next frame.
    Produce,
    /// Reader `r` takes a frame if none is held.
    Take(usize),
    /// Reader `r` releases the frame it holds.
    Release(usize),
}

fn ops(readers: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        3 => Just(Op::Produce),
        3 => (0..readers).prop_map(Op::Take),
        3 => (0..readers).prop_map(Op::Release),
    ];
    prop::collection::vec(op, 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_interleavings_keep_order_and_return_every_frame(
        caps in prop::collection::vec(1usize..6, 1..5),
        seed_ops in ops(4),
    ) {
        let specs: Vec<EdgeSpec> = caps
            .iter()
            .map(|&c| EdgeSpec { capacity: c, policy: Policy::DropNewest })
            .collect();
        let (mut out, mut inputs) = connect(&proto(), &specs);
        let pool = out.pool().clone();
        let n = inputs.len();
        let mut readers: Vec<Reader> = (0..n).map(|_| Reader::default()).collect();
        let mut produced = 0u32;
        for op in seed_ops {
            match op {
                Op::Produce => {
                    write(&mut out, produced);
                    out.publish();
                    produced += 1;
                }
                Op::Take(r)
                    if r < n
                        && readers[r].holding.is_none()
                        && inputs[r].poll() == Poll::Ready =>
                {
                    let v = read(&inputs[r]);
                    readers[r].got.push(v);
                    readers[r].holding = Some(v);
                }
                Op::Release(r) if r < n => {
                    if let Some(v) = readers[r].holding.take() {
                        prop_assert_eq!(read(&inputs[r]), v, "a held frame was overwritten");
                        inputs[r].consumed();
                    }
                }
                _ => {}
            }
        }
        // End, then drain every reader.
        out.end();
        for (r, input) in inputs.iter_mut().enumerate() {
            if readers[r].holding.take().is_some() {
                input.consumed();
            }
            loop {
                match input.poll() {
                    Poll::Ready => {
                        let v = read(input);
                        readers[r].got.push(v);
                        input.consumed();
                    }
                    Poll::Ended => break,
                    Poll::Empty => prop_assert!(false, "ended edge reported empty"),
                }
            }
        }
        for (r, input) in inputs.iter().enumerate() {
            let got = &readers[r].got;
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "reader {} out of order: {:?}", r, got);
            prop_assert!(got.iter().all(|&v| v < produced));
            prop_assert_eq!(got.len() as u64 + input.shared().drops(), produced as u64,
                "reader {}: every frame is received or a counted drop", r);
        }
        prop_assert_eq!(pool.free(), pool.len(), "every frame back in the pool");
    }

    #[test]
    fn latest_readers_see_the_newest_frame(
        cap in 1usize..6,
        bursts in prop::collection::vec(0u32..8, 1..40),
    ) {
        let (mut out, mut inputs) =
            connect(&proto(), &[EdgeSpec { capacity: cap, policy: Policy::Latest }]);
        let pool = out.pool().clone();
        let input = &mut inputs[0];
        let mut produced = 0u32;
        let mut last_seen = None;
        for b in bursts {
            let mut pushed = None;
            for _ in 0..b {
                write(&mut out, produced);
                if out.publish() == 1 {
                    pushed = Some(produced);
                }
                produced += 1;
            }
            if input.poll() == Poll::Ready {
                let v = read(input);
                // The newest frame that got into the ring, else the one held.
                prop_assert_eq!(Some(v), pushed.or(last_seen));
                last_seen = Some(v);
                input.consumed();
            }
        }
        out.end();
        input.poll();
        input.close();
        prop_assert_eq!(pool.free(), pool.len());
    }
}

#[test]
fn two_threads_hand_off_every_frame_in_order() {
    // Readers on their own threads; the producer spins on full rings so
    // nothing drops, and the readers hold frames for random stretches.
    for (caps, frames) in [
        (vec![1], 20_000u32),
        (vec![2, 5, 1], 20_000),
        (vec![8; 4], 20_000),
    ] {
        let specs: Vec<EdgeSpec> = caps
            .iter()
            .map(|&c| EdgeSpec {
                capacity: c,
                policy: Policy::DropNewest,
            })
            .collect();
        let (mut out, inputs) = connect(&proto(), &specs);
        let pool = out.pool().clone();
        let handles: Vec<_> = inputs
            .into_iter()
            .enumerate()
            .map(|(r, mut input)| {
                std::thread::spawn(move || {
                    let mut next = 0u32;
                    let mut spin = r as u32;
                    loop {
                        match input.poll() {
                            Poll::Ready => {
                                let v = read(&input);
                                assert_eq!(v, next, "reader {r}");
                                spin = spin.wrapping_mul(1_103_515_245).wrapping_add(12345);
                                for _ in 0..(spin >> 28) {
                                    std::hint::spin_loop();
                                }
                                assert_eq!(read(&input), v, "held frame overwritten");
                                input.consumed();
                                next += 1;
                            }
                            Poll::Empty => std::thread::yield_now(),
                            Poll::Ended => return next,
                        }
                    }
                })
            })
            .collect();
        for seq in 0..frames {
            while !out.has_room() {
                std::thread::yield_now();
            }
            write(&mut out, seq);
            assert_eq!(out.publish(), caps.len());
        }
        out.end();
        for h in handles {
            assert_eq!(h.join().unwrap(), frames);
        }
        assert_eq!(pool.free(), pool.len());
    }
}

#[test]
fn fan_out_into_rings_that_drain_while_publishing_never_over_releases() {
    // The producer publishes without waiting, so some rings are full at
    // the moment it looks and drain before it pushes: every frame's reader
    // count must still match the rings that took it (an over-release trips
    // the pool's debug assertion, and a frame reused too early shows up
    // as a held frame being overwritten).
    let specs = vec![
        EdgeSpec {
            capacity: 1,
            policy: Policy::DropNewest,
        };
        3
    ];
    let (mut out, inputs) = connect(&proto(), &specs);
    let pool = out.pool().clone();
    let shared: Vec<_> = inputs.iter().map(|i| i.shared().clone()).collect();
    let readers: Vec<_> = inputs
        .into_iter()
        .enumerate()
        .map(|(r, mut input)| {
            std::thread::spawn(move || {
                let (mut got, mut last, mut spin) = (0u64, None::<u32>, r as u32 + 1);
                loop {
                    match input.poll() {
                        Poll::Ready => {
                            let v = read(&input);
                            assert!(last.is_none_or(|l| v > l), "reader {r}: {v} after {last:?}");
                            spin = spin.wrapping_mul(1_103_515_245).wrapping_add(12345);
                            for _ in 0..(spin >> 29) {
                                std::hint::spin_loop();
                            }
                            assert_eq!(read(&input), v, "held frame overwritten");
                            input.consumed();
                            last = Some(v);
                            got += 1;
                        }
                        Poll::Empty => std::hint::spin_loop(),
                        Poll::Ended => return got,
                    }
                }
            })
        })
        .collect();
    let sent = 200_000u32;
    for seq in 0..sent {
        write(&mut out, seq);
        out.publish();
    }
    out.end();
    for (h, sh) in readers.into_iter().zip(&shared) {
        let got = h.join().unwrap();
        assert_eq!(got + sh.drops(), u64::from(sent));
    }
    assert_eq!(pool.free(), pool.len());
}

/// A random DAG: sources with random lengths, then nodes that sum one to
/// three earlier nodes (or pass one through), every node tapped by a sink.
#[derive(Debug, Clone)]
struct Dag {
    counts: Vec<u64>,
    nodes: Vec<Vec<usize>>,
}

fn dag() -> impl Strategy<Value = Dag> {
    (prop::collection::vec(1u64..40, 1..4), 1usize..10).prop_flat_map(|(counts, n)| {
        let s = counts.len();
        let nodes = (0..n)
            .map(|i| prop::collection::vec(0..s + i, 1..4))
            .collect::<Vec<_>>();
        (Just(counts), nodes).prop_map(|(counts, nodes)| Dag { counts, nodes })
    })
}

/// What node `i` outputs at each tick, with the engine's rules: a node runs
/// in a tick when any of its inputs produced, and sums the present ones in
/// slot order.
fn model(d: &Dag) -> Vec<Vec<Option<f32>>> {
    let ticks = *d.counts.iter().max().unwrap() as usize;
    let mut out: Vec<Vec<Option<f32>>> = d
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            (0..ticks)
                .map(|k| ((k as u64) < c).then(|| value(i as f32, k as u64)))
                .collect()
        })
        .collect();
    for inputs in &d.nodes {
        let col = (0..ticks)
            .map(|k| {
                let mut acc: Option<f32> = None;
                for &i in inputs {
                    if let Some(v) = out[i][k] {
                        acc = Some(acc.map_or(v, |a| a + v));
                    }
                }
                acc
            })
            .collect();
        out.push(col);
    }
    out
}

static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn random_dags_deliver_what_the_model_says(d in dag(), parallel in any::<bool>()) {
        let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = registry();
        let mut b = PlanBuilder::new(&r);
        let name = |i: usize| format!("dag{case}_n{i}");
        for (i, &c) in d.counts.iter().enumerate() {
            b.node(&name(i), "counter", args(&[("id", i as f64), ("count", c as f64)]), &[], &[MONO]);
        }
        let s = d.counts.len();
        for (j, inputs) in d.nodes.iter().enumerate() {
            let me = name(s + j);
            b.node(&me, "sum", args(&[]), &vec![MONO; inputs.len()], &[MONO]);
            for (slot, &i) in inputs.iter().enumerate() {
                b.connect(&name(i), 0, &me, slot);
            }
        }
        for i in 0..s + d.nodes.len() {
            let tap = format!("{}_tap", name(i));
            b.node(&tap, "collect", args(&[]), &[MONO], &[]);
            b.connect(&name(i), 0, &tap, 0);
        }
        let mut e = Engine::build(&b.build(), &r).unwrap();
        e.set_parallel(if parallel { Parallel::Always } else { Parallel::Off });
        let summary = e.run().unwrap();
        prop_assert_eq!(summary.drops, 0);
        let want = model(&d);
        let mut got = HashMap::new();
        for i in 0..s + d.nodes.len() {
            let c = collected(&format!("{}_tap", name(i)));
            got.insert(i, c.values);
        }
        for (i, col) in want.iter().enumerate() {
            let expect: Vec<f32> = col.iter().flatten().copied().collect();
            prop_assert_eq!(&got[&i], &expect, "node {}", i);
        }
    }
}
