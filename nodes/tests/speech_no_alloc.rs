//! The speech nodes do not allocate while processing: `denoise` runs
//! RNNoise on the audio thread (at 48 kHz and through resampling at
//! 16 kHz), and `vad` (with `meter(vad: silero)`) only hands ticks to its
//! worker, under a counting global allocator.

use sluice_dsl::{Arg, Args, MediaType, PlanPort, Settings};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{BuildContext, Clock, Frame, Node, PortIo, StreamId, StreamState};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn port(ty: MediaType) -> PlanPort {
    PlanPort {
        name: "p".into(),
        ty,
        connected: true,
    }
}

fn node(kind: &str, args: &Args, ty: MediaType, out: MediaType, rate: u32) -> Box<dyn Node> {
    let reg = sluice_nodes::registry();
    let build = reg.kind(kind).and_then(|k| k.build.clone()).expect(kind);
    let sig = &reg.kind(kind).expect(kind).signature;
    let mut full = Args::default();
    for p in &sig.params {
        if let Some(d) = &p.default {
            full.set(&p.name, d.clone());
        }
    }
    for (k, v) in &args.0 {
        full.set(k, v.clone());
    }
    let settings = Settings {
        rate,
        frame_samples: rate / 100,
        ..Settings::default()
    };
    let names = vec![kind.to_string()];
    build(&BuildContext {
        name: kind,
        index: 0,
        args: &full,
        inputs: &[port(ty)],
        outputs: &[port(out)],
        settings: &settings,
        node_names: &names,
    })
    .expect(kind)
}

/// A bundle of `n` participants speaking noise, all present.
fn bundle(n: usize, len: usize, t: u64) -> Frame {
    let mut f = Frame::for_type(&MediaType::Bundle { capacity: n as u32 }, len);
    let Frame::Bundle(b) = &mut f else {
        unreachable!()
    };
    for (i, s) in b.slots_mut().iter_mut().enumerate() {
        s.id = StreamId::new(&format!("p{i}"));
        s.state = if t == 0 {
            StreamState::Joined
        } else {
            StreamState::Active
        };
        for (k, x) in s.samples_mut().iter_mut().enumerate() {
            let phase = (t as usize * len + k) as f32 * (0.01 + i as f32 * 0.003);
            *x = 0.2 * phase.sin() * ((k * 7919 + i) % 13) as f32 / 13.0;
        }
    }
    f
}

/// Runs `ticks` ticks of `n` and returns what the run allocated.
fn count(
    n: &mut dyn Node,
    frames: &[Frame],
    out: &mut Frame,
    rate: u32,
    ticks: u64,
) -> counting::Counts {
    let len = (rate / 100) as usize;
    let run = |n: &mut dyn Node, out: &mut Frame, t: u64| {
        let clock = Clock {
            tick: t,
            time: t * 10_000_000,
            rate,
            frame_samples: len,
        };
        let input = &frames[(t as usize).min(1)];
        let mut outs = [out];
        n.process(&mut PortIo::new(&[Some(input)], &mut outs, clock));
    };
    for t in 0..5 {
        run(n, out, t);
    }
    counting::settle();
    let ((), counted) = counting::watch(|| {
        for t in 5..ticks {
            if let Frame::Events(e) = out {
                e.clear();
            }
            run(n, out, t);
        }
    });
    counted
}

#[test]
fn denoise_runs_on_the_audio_thread_without_allocating() {
    for rate in [48_000, 16_000] {
        let len = (rate / 100) as usize;
        let ty = MediaType::Bundle { capacity: 4 };
        let mut n = node("denoise", &Args::default(), ty, ty, rate);
        let frames = [bundle(4, len, 0), bundle(4, len, 1)];
        let mut out = Frame::for_type(&ty, len);
        let counted = count(n.as_mut(), &frames, &mut out, rate, 2_000);
        assert!(
            counted.is_zero(),
            "denoise at {rate} Hz allocated: {counted:?}"
        );
    }
}

#[test]
fn vad_and_meter_with_the_model_hand_ticks_over_without_allocating() {
    let ty = MediaType::Bundle { capacity: 4 };
    let mut args = Args::default();
    args.set("vad", Arg::Enum("silero".into()));
    for (kind, args) in [("vad", Args::default()), ("meter", args)] {
        let mut n = node(kind, &args, ty, MediaType::Events, 48_000);
        let frames = [bundle(4, 480, 0), bundle(4, 480, 1)];
        let mut out = Frame::for_type(&MediaType::Events, 480);
        let counted = count(n.as_mut(), &frames, &mut out, 48_000, 1_000);
        assert!(counted.is_zero(), "{kind} allocated: {counted:?}");
        let Frame::Events(e) = &out else {
            unreachable!()
        };
        assert_eq!(
            e.events().len(),
            4,
            "{kind}: the period ending on the last tick, one event per participant"
        );
        n.finish().unwrap();
    }
}
