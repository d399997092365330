//! The conference nodes do not allocate while processing: participants
//! (synthetic voices and files) -> dominant, mix_minus, unmix and meter,
//! run for thousands of ticks under a counting global allocator.

use sluice_dsl::{Arg, Args, MediaType, PlanPort, Settings};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{BuildContext, Clock, Frame, Node, PortIo};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn port(ty: MediaType) -> PlanPort {
    PlanPort {
        name: "p".into(),
        ty,
        connected: true,
    }
}

/// Builds a `kind` node as the engine would: `given` over the signature's
/// defaults.
fn node(kind: &str, given: &Args, ins: &[MediaType], outs: &[MediaType]) -> Box<dyn Node> {
    let reg = sluice_nodes::registry();
    let k = reg.kind(kind).expect(kind);
    let build = k.constructor(kind).expect(kind);
    let mut args = k.signature.default_args();
    args.overlay(given);
    let ins: Vec<PlanPort> = ins.iter().map(|t| port(*t)).collect();
    let outs: Vec<PlanPort> = outs.iter().map(|t| port(*t)).collect();
    let settings = Settings::default();
    let names = vec![kind.to_string()];
    let ctx = BuildContext {
        name: kind,
        index: 0,
        args: &args,
        inputs: &ins,
        outputs: &outs,
        settings: &settings,
        node_names: &names,
    };
    build(&ctx).expect(kind)
}

fn run<'f>(
    n: &mut dyn Node,
    inputs: &[Option<&'f Frame>],
    outputs: &mut [&'f mut Frame],
    tick: u64,
) {
    let clock = Clock {
        tick,
        time: tick * 10_000_000,
        rate: 48_000,
        frame_samples: 480,
    };
    let mut io = PortIo::new(inputs, outputs, clock);
    n.process(&mut io);
}

#[test]
fn file_participants_stream_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // Stereo at the graph rate, stereo resampled from 44.1 kHz, and mono
    // decoded straight into its slot.
    for (name, seconds, rate, channels) in [
        ("a", 3, 48_000, 2),
        ("b", 5, 44_100, 2),
        ("c", 4, 48_000, 1),
    ] {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(dir.path().join(format!("{name}.wav")), spec).unwrap();
        for n in 0..rate as usize * seconds * usize::from(channels) {
            w.write_sample(((n * 37) % 20_000) as i16 - 10_000).unwrap();
        }
        w.finalize().unwrap();
    }
    let mut a = Args::default();
    a.set("path", Arg::Str(format!("{}/*.wav", dir.path().display())));
    let ty = MediaType::Bundle { capacity: 3 };
    let mut people = node("participants", &a, &[], &[ty]);
    let mut dominant = node("dominant", &Args::default(), &[ty], &[ty]);
    let mut f_people = Frame::for_type(&ty, 480);
    let mut f_top = Frame::for_type(&ty, 480);
    let ((), counted) = counting::watch(|| {
        for t in 0..500 {
            run(people.as_mut(), &[], &mut [&mut f_people], t);
            run(dominant.as_mut(), &[Some(&f_people)], &mut [&mut f_top], t);
        }
    });
    assert!(
        counted.is_zero(),
        "allocations while streaming files: {counted:?}"
    );
}

#[test]
fn conference_graph_processes_without_allocating() {
    let mut a = Args::default();
    a.set("synth", Arg::Num(8.0));
    a.set("seed", Arg::Num(3.0));
    let people_ty = MediaType::Bundle { capacity: 8 };
    let top_ty = MediaType::Bundle { capacity: 4 };
    let mono = MediaType::Audio { channels: 1 };
    let mut people = node("participants", &a, &[], &[people_ty]);
    let mut dominant = node("dominant", &Args::default(), &[people_ty], &[top_ty]);
    let mut minus = node("mix_minus", &Args::default(), &[people_ty], &[people_ty]);
    let mut ids = Args::default();
    ids.set(
        "ids",
        Arg::List(vec![Arg::Str("voice1".into()), Arg::Str("voice2".into())]),
    );
    let mut unmix = node("unmix", &ids, &[people_ty], &[mono, mono]);
    let mut meter = node(
        "meter",
        &Args::default(),
        &[people_ty],
        &[MediaType::Events],
    );
    let mut meter_top = node("meter", &Args::default(), &[top_ty], &[MediaType::Events]);

    let mut f_people = Frame::for_type(&people_ty, 480);
    let mut f_top = Frame::for_type(&top_ty, 480);
    let mut f_minus = Frame::for_type(&people_ty, 480);
    let mut f_u0 = Frame::for_type(&mono, 480);
    let mut f_u1 = Frame::for_type(&mono, 480);
    let mut f_ev = Frame::for_type(&MediaType::Events, 480);
    let mut f_ev2 = Frame::for_type(&MediaType::Events, 480);
    let mut events = 0;

    // The counter works: an allocation made while counting is seen.
    let ((), counted) = counting::watch(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(counted.allocs > 0);

    let ((), counted) = counting::watch(|| {
        for t in 0..6000 {
            run(people.as_mut(), &[], &mut [&mut f_people], t);
            run(dominant.as_mut(), &[Some(&f_people)], &mut [&mut f_top], t);
            run(minus.as_mut(), &[Some(&f_people)], &mut [&mut f_minus], t);
            run(
                unmix.as_mut(),
                &[Some(&f_people)],
                &mut [&mut f_u0, &mut f_u1],
                t,
            );
            for f in [&mut f_ev, &mut f_ev2] {
                if let Frame::Events(e) = f {
                    e.clear();
                }
            }
            run(meter.as_mut(), &[Some(&f_people)], &mut [&mut f_ev], t);
            run(meter_top.as_mut(), &[Some(&f_top)], &mut [&mut f_ev2], t);
            if let Frame::Events(e) = &f_ev {
                events += e.events().len();
            }
        }
    });
    assert!(
        counted.is_zero(),
        "allocations while processing: {counted:?}"
    );
    assert!(events > 600, "the meter saw too little: {events} events");
}
