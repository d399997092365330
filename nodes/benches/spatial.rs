//! Cost of `spatialize` per source per 10 ms tick (480 samples at 48 kHz),
//! with every slot of a 64-participant bundle speaking: builtin spherical
//! head, the MIT KEMAR SOFA set (if installed), equal-power panning; each
//! with sources on the horizontal plane and with sources placed off the
//! grid in elevation and distance (`_3d`: every filter blended from four
//! directions); and the worst case where every source moves every tick
//! (both filters run, and each move re-blends the source's filters).
//! Throughput is in sources, so criterion prints sources per second;
//! divide by 100 ticks per second for sources one core renders live.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_dsl::Arg;
use sluice_nodes::spatial::hrir::HrirSet;
use sluice_nodes::spatial::spatialize::{self, Config, Hrtf, Spatialize};
use sluice_runtime::testing::skip_unless_ci;
use sluice_runtime::{AudioFrame, BundleFrame, Clock, Frame, Node, PortIo, StreamId, StreamState};
use std::hint::black_box;

const RATE: u32 = 48_000;
const BLOCK: usize = 480;
const SOURCES: usize = 64;
const KEMAR: &str = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa";

fn bundle() -> Frame {
    let mut b = BundleFrame::new(SOURCES, BLOCK);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for (i, s) in b.slots_mut().iter_mut().enumerate() {
        s.id = StreamId::new(&format!("p{i}"));
        s.state = StreamState::Active;
        for v in s.samples_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *v = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
    }
    Frame::Bundle(b)
}

/// Where the sources are and whether they move.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// Seats on the horizontal plane, still.
    Plane,
    /// Off-grid azimuth, elevation and distance, still.
    Spread3d,
    /// Jumping between two azimuths every tick.
    MovingAzimuth,
    /// Jumping in azimuth, elevation and distance every tick.
    Moving3d,
}

fn position(i: usize, flip: bool) -> Arg {
    let az = if flip { -60.0 } else { 60.0 } + i as f64 * 1.7;
    let el = (i as f64 * 7.3) % 100.0 - 30.0;
    let d = if flip { 0.7 } else { 1.9 } + i as f64 * 0.01;
    Arg::List(vec![Arg::Num(az), Arg::Num(el), Arg::Num(d)])
}

fn bench_case(c: &mut Criterion, name: &str, set: Option<&HrirSet>, place: Place) {
    let config = Config {
        spread: 120.0,
        slots: 8,
        positions: None,
        hrtf: Hrtf::Builtin,
        limit: spatialize::DEFAULT_LIMIT,
    };
    let mut node = Spatialize::with_hrirs(&config, set, SOURCES, BLOCK);
    let input = bundle();
    let mut output = Frame::Audio(AudioFrame::new(2, BLOCK));
    let clock = Clock {
        tick: 0,
        time: 0,
        rate: RATE,
        frame_samples: BLOCK,
    };
    let ids: Vec<String> = (0..SOURCES).map(|i| format!("position.p{i}")).collect();
    let flips: [Vec<Arg>; 2] =
        [false, true].map(|f| (0..SOURCES).map(|i| position(i, f)).collect());
    if place == Place::Spread3d {
        for (key, p) in ids.iter().zip(&flips[0]) {
            node.set(key, p).expect("settable");
        }
    }
    let mut tick = 0u64;
    let mut g = c.benchmark_group("spatialize_64_sources_per_tick");
    g.throughput(Throughput::Elements(SOURCES as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            tick += 1;
            let flip = tick.is_multiple_of(2);
            match place {
                Place::Plane | Place::Spread3d => {}
                Place::MovingAzimuth => {
                    let az = if flip { -60.0 } else { 60.0 };
                    for (i, key) in ids.iter().enumerate() {
                        node.set(key, &Arg::Num(az + i as f64)).expect("settable");
                    }
                }
                Place::Moving3d => {
                    for (key, p) in ids.iter().zip(&flips[usize::from(flip)]) {
                        node.set(key, p).expect("settable");
                    }
                }
            }
            let inputs = [Some(&input)];
            let mut outputs = [&mut output];
            let mut io = PortIo::new(&inputs, &mut outputs, clock);
            black_box(node.process(&mut io));
        })
    });
    g.finish();
}

fn spatialize(c: &mut Criterion) {
    let builtin = HrirSet::builtin(RATE);
    bench_case(c, "builtin", Some(&builtin), Place::Plane);
    bench_case(c, "builtin_3d", Some(&builtin), Place::Spread3d);
    bench_case(c, "builtin_moving", Some(&builtin), Place::MovingAzimuth);
    bench_case(c, "builtin_moving_3d", Some(&builtin), Place::Moving3d);
    bench_case(c, "pan", None, Place::Plane);
    bench_case(c, "pan_3d", None, Place::Spread3d);
    match HrirSet::from_sofa(KEMAR, RATE) {
        Ok(kemar) => {
            bench_case(c, "sofa_kemar", Some(&kemar), Place::Plane);
            bench_case(c, "sofa_kemar_3d", Some(&kemar), Place::Spread3d);
            bench_case(c, "sofa_kemar_moving", Some(&kemar), Place::MovingAzimuth);
            bench_case(c, "sofa_kemar_moving_3d", Some(&kemar), Place::Moving3d);
        }
        Err(e) => skip_unless_ci(&format!("SOFA bench ({e})")),
    }
}

criterion_group!(benches, spatialize);
criterion_main!(benches);
