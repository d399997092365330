//! `spatialize` must not allocate or free after build: a counting global
//! allocator watches `process` and `set` while participants join, move
//! every tick (in azimuth, elevation and distance), fall silent and leave,
//! for each HRTF source.

use sluice_dsl::Arg;
use sluice_nodes::spatial::spatialize::{Config, Hrtf, Spatialize};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::testing::skip_unless_ci;
use sluice_runtime::{AudioFrame, BundleFrame, Clock, Frame, Node, PortIo, StreamId, StreamState};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const KEMAR: &str = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa";

fn exercise(hrtf: Hrtf) {
    let capacity = 8;
    let config = Config {
        spread: 120.0,
        slots: 4,
        positions: None,
        hrtf: hrtf.clone(),
        // Eight sources at 0.3 sum past the limiter's knee: it runs too.
        limit: true,
    };
    let mut node = Spatialize::new(&config, capacity, 48_000, 480).expect("builds");
    let mut input = Frame::Bundle(BundleFrame::new(capacity, 480));
    let mut output = Frame::Audio(AudioFrame::new(2, 480));
    let ids: Vec<StreamId> = (0..capacity)
        .map(|i| StreamId::new(&format!("p{i}")))
        .collect();
    let keys: Vec<String> = (0..capacity).map(|i| format!("position.p{i}")).collect();
    let late = "position.latecomer".to_string();
    let moves: Vec<Arg> = (0..16)
        .map(|k| {
            let az = Arg::Num((k * 37 % 360) as f64 - 180.0);
            if k % 2 == 0 {
                az
            } else {
                let el = Arg::Num((k * 23 % 130) as f64 - 40.0);
                Arg::List(vec![az, el, Arg::Num(0.2 + 0.4 * k as f64)])
            }
        })
        .collect();
    let ((), counted) = counting::watch(|| {
        for t in 0..60usize {
            // Moves alternate between azimuths and full positions with
            // elevation and distance (values made before the watch).
            node.set(&keys[t % capacity], &moves[t % moves.len()])
                .expect("settable");
            if t == 3 {
                node.set(&late, &Arg::Num(45.0)).expect("settable");
            }
            let Frame::Bundle(b) = &mut input else {
                unreachable!()
            };
            for (i, s) in b.slots_mut().iter_mut().enumerate() {
                // Slot i is present from tick 2i to tick 2i + 30, silent in between now and then.
                let (from, to) = (2 * i, 2 * i + 30);
                s.id = ids[i];
                s.state = match t {
                    t if t == from => StreamState::Joined,
                    t if t == to => StreamState::Left,
                    t if t > from && t < to && t % 7 == 0 => StreamState::Silent,
                    t if t > from && t < to => StreamState::Active,
                    _ => StreamState::Absent,
                };
                let silent = !matches!(
                    s.state,
                    StreamState::Joined | StreamState::Active | StreamState::Left
                );
                for (n, v) in s.samples_mut().iter_mut().enumerate() {
                    *v = if silent {
                        0.0
                    } else {
                        ((n + t * 480) as f32 * 0.01 * (i + 1) as f32).sin() * 0.3
                    };
                }
            }
            let clock = Clock {
                tick: t as u64,
                time: t as u64 * 10_000_000,
                rate: 48_000,
                frame_samples: 480,
            };
            let inputs = [Some(&input)];
            let mut outputs = [&mut output];
            node.process(&mut PortIo::new(&inputs, &mut outputs, clock));
        }
    });
    let Frame::Audio(a) = &output else {
        unreachable!()
    };
    assert!(a.data().iter().all(|v| v.is_finite()));
    assert!(
        counted.is_zero(),
        "{hrtf:?}: process/set allocated: {counted:?}"
    );
}

#[test]
fn spatialize_does_not_allocate_while_running() {
    exercise(Hrtf::Builtin);
    exercise(Hrtf::Pan);
    if std::path::Path::new(KEMAR).exists() {
        exercise(Hrtf::Sofa(KEMAR.to_string()));
    } else {
        skip_unless_ci(&format!("libmysofa1 not installed ({KEMAR} missing)"));
    }
}
