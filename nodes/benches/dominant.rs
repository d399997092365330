//! `dominant` over 1,000 participants per 10 ms tick (target: under
//! 100 us), and the energy kernel it runs on against its scalar reference.

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_dsl::{MediaType, PlanPort, Settings};
use sluice_nodes::conference::dominant;
use sluice_nodes::conference::rng::Rng;
use sluice_nodes::kernels::level::{energy, energy_scalar};
use sluice_runtime::{BuildContext, Clock, Frame, PortIo, StreamId, StreamState};
use std::hint::black_box;

const N: usize = 1000;
const TICK: usize = 480;

/// A bundle of `N` participants: most carry low noise, a few speak.
fn input(rng: &mut Rng) -> Frame {
    let mut f = Frame::for_type(&MediaType::Bundle { capacity: N as u32 }, TICK);
    if let Frame::Bundle(b) = &mut f {
        for (i, s) in b.slots_mut().iter_mut().enumerate() {
            s.id = StreamId::new(&format!("p{i}"));
            s.state = StreamState::Active;
            let amp = if i % 200 == 0 { 0.3 } else { 0.002 };
            for x in s.samples_mut() {
                *x = amp * rng.gauss();
            }
        }
    }
    f
}

fn bench_dominant(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let frames = [input(&mut rng), input(&mut rng)];
    let args = dominant::signature().default_args();
    let port = |ty| PlanPort {
        name: "p".into(),
        ty,
        connected: true,
    };
    let ins = [port(MediaType::Bundle { capacity: N as u32 })];
    let outs = [port(MediaType::Bundle { capacity: 4 })];
    let settings = Settings::default();
    let names = vec!["dominant".to_string()];
    let ctx = BuildContext {
        name: "dominant",
        index: 0,
        args: &args,
        inputs: &ins,
        outputs: &outs,
        settings: &settings,
        node_names: &names,
    };
    let mut node = dominant::build(&ctx).unwrap();
    let mut out = Frame::for_type(&outs[0].ty, TICK);
    let mut t = 0u64;
    c.bench_function("dominant 1000 participants, one 10 ms tick", |b| {
        b.iter(|| {
            let inputs = [Some(&frames[(t % 2) as usize])];
            let mut outputs = [&mut out];
            let clock = Clock {
                tick: t,
                time: t * 10_000_000,
                rate: 48_000,
                frame_samples: TICK,
            };
            let mut io = PortIo::new(&inputs, &mut outputs, clock);
            t += 1;
            black_box(node.process(&mut io))
        })
    });
}

fn bench_energy(c: &mut Criterion) {
    let mut rng = Rng::new(2);
    let x: Vec<f32> = (0..TICK).map(|_| rng.gauss()).collect();
    c.bench_function("energy 480 simd", |b| b.iter(|| energy(black_box(&x))));
    c.bench_function("energy 480 scalar", |b| {
        b.iter(|| energy_scalar(black_box(&x)))
    });
    // The floor under `dominant`: reading every stream of the same two
    // alternating bundles once.
    let frames = [input(&mut rng), input(&mut rng)];
    let mut t = 0;
    c.bench_function("energy of 1000 streams x 480 (memory floor)", |b| {
        b.iter(|| {
            t += 1;
            let Frame::Bundle(f) = &frames[t % 2] else {
                unreachable!()
            };
            f.slots().iter().map(|s| energy(s.samples())).sum::<f32>()
        })
    });
}

criterion_group!(benches, bench_dominant, bench_energy);
criterion_main!(benches);
