//! Proof of the real-time rule for the audio nodes: after build, `process`
//! allocates and frees nothing, on every path a run takes: resampling,
//! looping, mixing, panning, delaying, per-participant files opened as
//! participants join, leave, return and get recycled, and event lines.
//! A counting global allocator counts only while this thread has switched
//! counting on, around `process` calls.

use sluice_dsl::{Arg, MediaType, PlanPort, Settings};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{
    BuildContext, Clock, Event, EventData, Frame, Node, PortIo, StreamId, StreamState,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const N: usize = 480;
const MONO: MediaType = MediaType::Audio { channels: 1 };
const STEREO: MediaType = MediaType::Audio { channels: 2 };

/// Builds a `kind` node as the engine would: `args` over the signature's
/// defaults.
fn build(kind: &str, args: &[(&str, Arg)], ins: &[MediaType], outs: &[MediaType]) -> Box<dyn Node> {
    let registry = sluice_nodes::registry();
    let k = registry.kind(kind).expect("a standard kind");
    let mut a = k.signature.default_args();
    for (name, v) in args {
        a.set(name, v.clone());
    }
    let port = |(i, ty): (usize, &MediaType)| PlanPort {
        name: format!("p{i}"),
        ty: *ty,
        connected: true,
    };
    let ins: Vec<PlanPort> = ins.iter().enumerate().map(port).collect();
    let outs: Vec<PlanPort> = outs.iter().enumerate().map(port).collect();
    let names = vec!["meter".to_string()];
    (k.constructor(kind).expect("runnable"))(&BuildContext {
        name: "n",
        index: 0,
        args: &a,
        inputs: &ins,
        outputs: &outs,
        settings: &Settings::default(),
        node_names: &names,
    })
    .unwrap()
}

/// Runs one `process` with counting on; returns allocations and frees.
fn counted<'f>(
    node: &mut dyn Node,
    ins: &[Option<&'f Frame>],
    outs: &mut [&'f mut Frame],
    tick: u64,
) -> u64 {
    let clock = Clock {
        tick,
        time: tick * 10_000_000,
        rate: 48_000,
        frame_samples: N,
    };
    let (_, c) = counting::watch(|| node.process(&mut PortIo::new(ins, outs, clock)));
    c.allocs + c.frees
}

fn write_wav(path: &std::path::Path, rate: u32, channels: u16, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames * usize::from(channels) {
        w.write_sample(((i * 37) % 2000) as i16 - 1000).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn audio_nodes_process_without_allocating() {
    let ((), probe) = counting::watch(|| drop(std::hint::black_box(vec![1u8; 3])));
    assert_eq!(
        (probe.allocs, probe.frees),
        (1, 1),
        "the counter sees an allocation and a free"
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a44, a48) = (d.join("a44.wav"), d.join("a48.wav"));
    write_wav(&a44, 44_100, 2, 30_000);
    write_wav(&a48, 48_000, 1, 7_000);
    let s = |p: &std::path::Path| Arg::Str(p.to_str().unwrap().into());

    let mut nodes: Vec<(&str, Box<dyn Node>)> = vec![
        (
            "tone",
            build(
                "tone",
                &[("freq", Arg::Num(440.0)), ("amp", Arg::Num(-12.0))],
                &[],
                &[MONO],
            ),
        ),
        (
            "noise",
            build(
                "noise",
                &[("amp", Arg::Num(-30.0)), ("seed", Arg::Num(3.0))],
                &[],
                &[MONO],
            ),
        ),
        (
            "wav_in 44.1k",
            build(
                "wav_in",
                &[("path", s(&a44)), ("loop", Arg::Bool(true))],
                &[],
                &[STEREO],
            ),
        ),
        (
            "wav_in 48k",
            build(
                "wav_in",
                &[("path", s(&a48)), ("loop", Arg::Bool(true))],
                &[],
                &[MONO],
            ),
        ),
    ];
    let mut src_frames: Vec<Frame> = [MONO, MONO, STEREO, MONO]
        .iter()
        .map(|t| Frame::for_type(t, N))
        .collect();

    let mut mixer = build(
        "mix",
        &[("normalize", Arg::Bool(true)), ("limit", Arg::Bool(true))],
        &[MONO, MONO, STEREO, MONO],
        &[STEREO],
    );
    let mut gainer = build("gain", &[("db", Arg::Num(-6.0))], &[STEREO], &[STEREO]);
    let mut down = build("remix", &[("channels", Arg::Num(1.0))], &[STEREO], &[MONO]);
    let mut panner = build("pan", &[("azimuth", Arg::Num(30.0))], &[MONO], &[STEREO]);
    let mut delayer = build("delay", &[("time", Arg::Num(0.0123))], &[STEREO], &[STEREO]);
    let mut out = build(
        "wav_out",
        &[
            ("path", s(&d.join("out/mix.wav"))),
            ("format", Arg::Enum("s16".into())),
        ],
        &[STEREO],
        &[],
    );
    let bundle_ty = MediaType::Bundle { capacity: 3 };
    let template = format!("{}/people/{{id}}/voice.wav", d.display());
    let mut per_id = build(
        "wav_out",
        &[
            ("path", Arg::Str(template)),
            ("format", Arg::Enum("f32".into())),
        ],
        &[bundle_ty],
        &[],
    );
    let mut events = build(
        "events_out",
        &[("path", s(&d.join("events.jsonl")))],
        &[MediaType::Events],
        &[],
    );
    let mut bundle_mix = build(
        "mix",
        &[("normalize", Arg::Bool(true)), ("limit", Arg::Bool(false))],
        &[bundle_ty],
        &[MONO],
    );

    let mut mixed = Frame::for_type(&STEREO, N);
    let mut gained = Frame::for_type(&STEREO, N);
    let mut mono = Frame::for_type(&MONO, N);
    let mut panned = Frame::for_type(&STEREO, N);
    let mut delayed = Frame::for_type(&STEREO, N);
    let mut bundle = Frame::for_type(&bundle_ty, N);
    let mut bundle_out = Frame::for_type(&MONO, N);
    let mut ev = Frame::for_type(&MediaType::Events, N);
    let ids: Vec<StreamId> = (0..12)
        .map(|k| StreamId::new(&format!("caller #{k}")))
        .collect();

    let mut total = 0;
    for t in 0..600u64 {
        for ((name, node), frame) in nodes.iter_mut().zip(&mut src_frames) {
            let n = counted(node.as_mut(), &[], &mut [frame], t);
            assert_eq!(n, 0, "{name} allocated in tick {t}");
        }
        let ins: Vec<Option<&Frame>> = src_frames.iter().map(Some).collect();
        total += counted(mixer.as_mut(), &ins, &mut [&mut mixed], t);
        if t == 100 {
            gainer.set("db", &Arg::Num(-3.0)).unwrap();
            panner.set("azimuth", &Arg::Num(-60.0)).unwrap();
        }
        total += counted(gainer.as_mut(), &[Some(&mixed)], &mut [&mut gained], t);
        total += counted(down.as_mut(), &[Some(&gained)], &mut [&mut mono], t);
        total += counted(panner.as_mut(), &[Some(&mono)], &mut [&mut panned], t);
        total += counted(delayer.as_mut(), &[Some(&panned)], &mut [&mut delayed], t);
        total += counted(out.as_mut(), &[Some(&delayed)], &mut [], t);

        // Participants come and go: each of 12 ids is present for 40
        // ticks in turn, three slots, so writers are reused, recycled and
        // files reopened.
        let Frame::Bundle(b) = &mut bundle else {
            unreachable!()
        };
        for (slot, s) in b.slots_mut().iter_mut().enumerate() {
            let k = ((t / 40) as usize + slot * 5) % ids.len();
            let phase = t % 40;
            s.id = ids[k];
            s.state = match phase {
                0 => StreamState::Joined,
                39 => StreamState::Left,
                10..=15 => StreamState::Silent,
                _ => StreamState::Active,
            };
            s.samples_mut().fill(0.01 * slot as f32);
        }
        total += counted(per_id.as_mut(), &[Some(&bundle)], &mut [], t);
        total += counted(
            bundle_mix.as_mut(),
            &[Some(&bundle)],
            &mut [&mut bundle_out],
            t,
        );

        let Frame::Events(e) = &mut ev else {
            unreachable!()
        };
        e.clear();
        for (k, id) in ids.iter().enumerate().take(8) {
            e.push(Event {
                time: t * 10_000_000,
                node: 0,
                id: *id,
                data: EventData::Level {
                    rms_dbfs: -20.0 - k as f32,
                    peak_dbfs: -6.0,
                    speaking: k % 2 == 0,
                },
            });
        }
        total += counted(events.as_mut(), &[Some(&ev)], &mut [], t);
    }
    assert_eq!(total, 0, "allocations or frees in process");
    out.finish().unwrap();
    per_id.finish().unwrap();
    events.finish().unwrap();
    assert!(d.join("people/caller__7/voice.wav").exists());
    let lines = std::fs::read_to_string(d.join("events.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 600 * 8);
}
