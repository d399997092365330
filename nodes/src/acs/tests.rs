//! The jitter and assembly stage end to end: decoded messages in through
//! the connection's `Assembler`, ticks of a real `acs_in` out; and
//! `acs_out` through the connection's `Outbound` to encoded messages.

use super::accelerate::Pitch;
use super::call::{CallSetup, CallSide};
use super::protocol::{decode, AudioData, AudioMetadata, Dtmf, Message};
use super::stats::CallStats;
use super::{acs_in, acs_out};
use sluice_dsl::{Arg, MediaType, PlanPort, Settings};
use sluice_runtime::{
    BuildContext, Clock, EventData, Flow, Frame, Node, NodeError, PortIo, StreamState,
};

const T0: i64 = 1_716_286_272_000_000;

fn meta(rate: u32) -> AudioMetadata {
    AudioMetadata {
        subscription_id: "test".into(),
        sample_rate: rate,
        channels: 1,
        length: rate as usize / 50 * 2,
    }
}

fn settings(rate: u32) -> Settings {
    Settings {
        rate,
        frame_samples: rate / 100,
        ..Settings::default()
    }
}

struct Call {
    node: Box<dyn Node>,
    side: CallSide,
    frames: Vec<Frame>,
    clock: Clock,
}

/// Builds an `acs_in` for a call at `call_rate` in a graph at `graph_rate`.
fn call(call_rate: u32, graph_rate: u32, args: &[(&str, Arg)]) -> Call {
    let mut a = acs_in::signature().default_args();
    for (k, v) in args {
        a.set(k, v.clone());
    }
    let capacity = a.need_num("capacity").expect("defaulted") as u32;
    let s = settings(graph_rate);
    let outputs = [
        PlanPort {
            name: "out".into(),
            ty: MediaType::Bundle { capacity },
            connected: true,
        },
        PlanPort {
            name: "events".into(),
            ty: MediaType::Events,
            connected: true,
        },
    ];
    let names = vec!["acs_in".to_string()];
    let ctx = BuildContext {
        name: "acs_in",
        index: 0,
        args: &a,
        inputs: &[],
        outputs: &outputs,
        settings: &s,
        node_names: &names,
    };
    let setup = CallSetup::new(&meta(call_rate));
    let node = acs_in::build(&ctx, &setup);
    let side = setup.take_side();
    let frames = outputs
        .iter()
        .map(|p| Frame::for_type(&p.ty, s.frame_samples as usize))
        .collect();
    Call {
        node: node.unwrap(),
        side,
        frames,
        clock: Clock {
            tick: 0,
            time: 0,
            rate: graph_rate,
            frame_samples: s.frame_samples as usize,
        },
    }
}

/// One tick's view of a slot.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    state: StreamState,
    id: String,
    samples: Vec<f32>,
}

impl Call {
    fn send(&mut self, who: &str, k: i64, samples: Vec<i16>) {
        self.side.inbound.as_mut().unwrap().audio(&AudioData {
            timestamp: Some(T0 + k * 20_000),
            bad_timestamp: false,
            participant: who.into(),
            samples,
            silent: false,
        });
    }

    /// Runs one tick; returns every slot and the events.
    fn tick(&mut self) -> (Flow, Vec<Seen>, Vec<(String, EventData)>) {
        for f in &mut self.frames {
            if let Frame::Events(e) = f {
                e.clear();
            }
        }
        let flow = {
            let mut outs: Vec<&mut Frame> = self.frames.iter_mut().collect();
            let mut io = PortIo::new(&[], &mut outs, self.clock);
            self.node.process(&mut io)
        };
        self.clock.tick += 1;
        self.clock.time += 10_000_000;
        let Frame::Bundle(b) = &self.frames[0] else {
            unreachable!()
        };
        let seen = b
            .slots()
            .iter()
            .map(|s| Seen {
                state: s.state,
                id: s.id.as_str().to_string(),
                samples: s.samples().to_vec(),
            })
            .collect();
        let Frame::Events(e) = &self.frames[1] else {
            unreachable!()
        };
        let events = e
            .events()
            .iter()
            .map(|e| (e.id.as_str().to_string(), e.data))
            .collect();
        (flow, seen, events)
    }

    fn stats(&self) -> &CallStats {
        &self.side.stats
    }
}

fn constant(v: i16, n: usize) -> Vec<i16> {
    vec![v; n]
}

#[test]
fn outside_serve_acs_nodes_check_but_say_where_they_run() {
    let reg = crate::registry();
    for kind in ["acs_in", "acs_out"] {
        let k = reg.kind(kind).unwrap();
        let e = k.constructor("n").err().unwrap().to_string();
        assert!(e.contains("sluice serve"), "{e}");
    }
}

#[test]
fn a_bound_registry_builds_one_acs_in_per_call() {
    let mut reg = crate::registry();
    let setup = CallSetup::new(&meta(16_000));
    super::bind(&mut reg, &setup);
    let a = acs_in::signature().default_args();
    let s = settings(16_000);
    let ctx = BuildContext {
        name: "acs_in",
        index: 0,
        args: &a,
        inputs: &[],
        outputs: &[],
        settings: &s,
        node_names: &[],
    };
    let build = reg.kind("acs_in").unwrap().constructor("acs_in").unwrap();
    assert!(build(&ctx).is_ok());
    let second: NodeError = build(&ctx).err().unwrap();
    assert!(second.0.contains("only one `acs_in`"), "{second}");
    assert!(setup.take_side().inbound.is_some());
}

#[test]
fn join_play_silence_and_leave_after_the_timeout() {
    // Graph at the call rate, so samples pass through unchanged.
    let mut c = call(
        16_000,
        16_000,
        &[("jitter", Arg::Num(0.02)), ("leave_after", Arg::Num(0.1))],
    );
    let (_, seen, _) = c.tick();
    assert!(seen.iter().all(|s| s.state == StreamState::Absent));
    for k in 0..3 {
        c.send("8:acs:alice", k, constant(1000 + k as i16, 320));
    }
    let (_, seen, ev) = c.tick();
    assert_eq!(seen[0].state, StreamState::Joined);
    assert_eq!(seen[0].id, "8:acs:alice");
    assert!(seen[0].samples.iter().all(|s| *s == 1000.0 / 32768.0));
    assert_eq!(ev, [("8:acs:alice".to_string(), EventData::Joined)]);
    let states: Vec<_> = (0..5).map(|_| c.tick().1[0].state).collect();
    assert_eq!(states, [StreamState::Active; 5]);
    // 60 ms sent, 60 ms played: now silence until leave_after (100 ms).
    let mut states = Vec::new();
    let mut left_event = None;
    for _ in 0..12 {
        let (_, seen, ev) = c.tick();
        states.push(seen[0].state);
        if !ev.is_empty() {
            left_event = Some(ev);
        }
    }
    let left = states.iter().position(|s| *s == StreamState::Left).unwrap();
    assert!(states[..left].iter().all(|s| *s == StreamState::Silent));
    assert_eq!(left, 9, "{states:?}");
    assert!(states[left + 1..].iter().all(|s| *s == StreamState::Absent));
    assert_eq!(
        left_event.unwrap(),
        [("8:acs:alice".to_string(), EventData::Left)]
    );
    // The slot is free again: a new participant takes it.
    c.send("8:acs:bob", 100, constant(7, 320));
    c.send("8:acs:bob", 101, constant(7, 320));
    let (_, seen, _) = c.tick();
    assert_eq!(
        (seen[0].state, seen[0].id.as_str()),
        (StreamState::Joined, "8:acs:bob")
    );
    assert!(
        c.stats()
            .underruns
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

#[test]
fn absent_slots_are_not_touched_each_tick() {
    let mut c = call(16_000, 16_000, &[("capacity", Arg::Num(4.0))]);
    let Frame::Bundle(b) = &mut c.frames[0] else {
        unreachable!()
    };
    for s in b.slots_mut() {
        s.samples_mut().fill(7.0);
    }
    c.send("p", 0, constant(100, 320));
    c.send("p", 1, constant(100, 320));
    let (_, seen, _) = c.tick();
    assert_eq!(seen[0].state, StreamState::Joined);
    assert!(seen[0].samples.iter().all(|s| *s == 100.0 / 32768.0));
    for s in &seen[1..] {
        assert_eq!(s.state, StreamState::Absent);
        assert!(
            s.samples.iter().all(|v| *v == 7.0),
            "an absent slot was written"
        );
    }
}

#[test]
fn reordered_chunks_come_out_in_capture_order() {
    let mut c = call(16_000, 16_000, &[("jitter", Arg::Num(0.06))]);
    for k in [0i64, 2, 1, 3, 5, 4, 6, 7] {
        c.send("p", k, constant(k as i16 + 1, 320));
    }
    let mut values = Vec::new();
    for _ in 0..16 {
        let (_, seen, _) = c.tick();
        values.push(seen[0].samples[0]);
        assert!(seen[0].samples.iter().all(|s| *s == seen[0].samples[0]));
    }
    let expect: Vec<f32> = (1..=8).flat_map(|k| [k as f32 / 32768.0; 2]).collect();
    assert_eq!(values, expect);
}

#[test]
fn a_lost_chunk_becomes_silence_and_is_counted() {
    let mut c = call(16_000, 16_000, &[("jitter", Arg::Num(0.02))]);
    for k in [0i64, 1, 3, 4, 5, 6] {
        c.send("p", k, constant(100, 320));
    }
    let values: Vec<f32> = (0..14).map(|_| c.tick().1[0].samples[0]).collect();
    let on = 100.0 / 32768.0;
    assert_eq!(&values[..4], [on; 4]);
    assert_eq!(&values[4..6], [0.0; 2]);
    assert_eq!(&values[6..12], [on; 6]);
    assert_eq!(
        c.stats()
            .concealed_chunks
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn participants_beyond_capacity_are_dropped_and_counted() {
    let mut c = call(
        16_000,
        16_000,
        &[("capacity", Arg::Num(3.0)), ("jitter", Arg::Num(0.0))],
    );
    for who in ["a", "b", "c", "d"] {
        c.send(who, 0, constant(10, 320));
    }
    let (_, seen, ev) = c.tick();
    let ids: Vec<_> = seen.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(seen.iter().all(|s| s.state == StreamState::Joined));
    assert_eq!(ev.len(), 3);
    assert_eq!(
        c.stats()
            .refused_chunks
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// Amplitude of `freq` in `x` by correlation.
fn amplitude(x: &[f32], rate: u32, freq: f64) -> f64 {
    let (mut s, mut co) = (0.0f64, 0.0f64);
    for (i, v) in x.iter().enumerate() {
        let ph = std::f64::consts::TAU * freq * i as f64 / rate as f64;
        s += *v as f64 * ph.sin();
        co += *v as f64 * ph.cos();
    }
    2.0 * (s * s + co * co).sqrt() / x.len() as f64
}

#[test]
fn resamples_16k_and_24k_calls_to_the_graph_rate() {
    for call_rate in [16_000u32, 24_000] {
        let mut c = call(call_rate, 48_000, &[("jitter", Arg::Num(0.04))]);
        let chunk = call_rate as usize / 50;
        let mut out = Vec::new();
        for k in 0..50i64 {
            let pcm = (0..chunk)
                .map(|i| {
                    let n = k as usize * chunk + i;
                    let t = n as f64 / call_rate as f64;
                    (16384.0 * (std::f64::consts::TAU * 1000.0 * t).sin()) as i16
                })
                .collect();
            c.send("p", k, pcm);
            for _ in 0..2 {
                let (_, seen, _) = c.tick();
                if seen[0].state.present() {
                    out.extend_from_slice(&seen[0].samples);
                }
            }
        }
        // One second in; all but the resampler's and jitter buffer's
        // latency (under 100 ms) has come out at 48 kHz.
        assert!(out.len() >= 48_000 - 4_800, "{call_rate}: {}", out.len());
        let steady = &out[4_800..out.len() - 960];
        let a = amplitude(steady, 48_000, 1000.0);
        assert!((a - 0.5).abs() < 0.01, "{call_rate}: amplitude {a}");
        assert!(amplitude(steady, 48_000, 2000.0) < 0.005);
    }
}

#[test]
fn dtmf_arrives_as_an_event() {
    let mut c = call(16_000, 16_000, &[]);
    c.side.inbound.as_mut().unwrap().dtmf(&Dtmf {
        tone: '#',
        participant: "4:+15551234567".into(),
    });
    let (_, _, ev) = c.tick();
    assert_eq!(ev, [("4:+15551234567".to_string(), EventData::Dtmf('#'))]);
}

#[test]
fn a_closed_call_plays_out_what_is_queued_then_ends() {
    let mut c = call(16_000, 16_000, &[("jitter", Arg::Num(0.04))]);
    c.send("p", 0, constant(5, 320));
    c.side.inbound.as_ref().unwrap().close();
    let (flow, seen, _) = c.tick();
    assert_eq!((flow, seen[0].state), (Flow::Continue, StreamState::Joined));
    let (flow, seen, ev) = c.tick();
    assert_eq!((flow, seen[0].state), (Flow::Ended, StreamState::Left));
    assert_eq!(seen[0].samples[0], 5.0 / 32768.0);
    assert_eq!(ev[0].1, EventData::Left);
}

#[test]
fn a_sender_running_ahead_is_held_to_max_delay() {
    let mut c = call(
        16_000,
        16_000,
        &[("jitter", Arg::Num(0.02)), ("max_delay", Arg::Num(0.1))],
    );
    for k in 0..12 {
        c.send("p", k, constant(k as i16 + 1, 320));
    }
    let (_, seen, _) = c.tick();
    // 240 ms queued at once; all but the newest 20 ms (the jitter target)
    // is dropped so the participant stays within `max_delay`.
    assert_eq!(seen[0].samples[0], 12.0 / 32768.0);
    let dropped = c
        .stats()
        .dropped_in
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(dropped, 11 * 320);
}

fn out_call(graph_rate: u32, call_rate: u32, queue: f64) -> (Box<dyn Node>, CallSide) {
    let mut a = acs_out::signature().default_args();
    a.set("queue", Arg::Num(queue));
    let s = settings(graph_rate);
    let inputs = [PlanPort {
        name: "in".into(),
        ty: MediaType::Audio { channels: 1 },
        connected: true,
    }];
    let ctx = BuildContext {
        name: "acs_out",
        index: 1,
        args: &a,
        inputs: &inputs,
        outputs: &[],
        settings: &s,
        node_names: &[],
    };
    let setup = CallSetup::new(&meta(call_rate));
    let node = acs_out::build(&ctx, &setup);
    let side = setup.take_side();
    (node.unwrap(), side)
}

fn feed(node: &mut dyn Node, frame: &Frame) {
    let inputs = [Some(frame)];
    let mut io = PortIo::new(&inputs, &mut [], Clock::default());
    node.process(&mut io);
}

#[test]
fn acs_out_sends_20ms_messages_at_the_call_rate() {
    for call_rate in [16_000u32, 24_000] {
        let (mut node, mut side) = out_call(48_000, call_rate, 1.0);
        let mut frame = Frame::for_type(&MediaType::Audio { channels: 1 }, 480);
        let mut got = Vec::new();
        for tick in 0..100usize {
            if let Frame::Audio(a) = &mut frame {
                for (i, s) in a.channel_mut(0).iter_mut().enumerate() {
                    let t = (tick * 480 + i) as f64 / 48_000.0;
                    *s = (0.25 * (std::f64::consts::TAU * 440.0 * t).sin()) as f32;
                }
            }
            feed(node.as_mut(), &frame);
            let out = side.outbound.as_mut().unwrap();
            out.pump().unwrap();
            while let Some(text) = out.front() {
                let Message::AudioData(d) = decode(text.as_bytes(), 2000).unwrap() else {
                    panic!("not audio")
                };
                assert_eq!(d.samples.len(), call_rate as usize / 50);
                got.extend(d.samples.iter().map(|s| *s as f32 / 32768.0));
                out.sent();
            }
        }
        assert!(got.len() >= call_rate as usize * 9 / 10, "{}", got.len());
        let a = amplitude(&got[call_rate as usize / 10..], call_rate, 440.0);
        assert!((a - 0.25).abs() < 0.01, "{call_rate}: {a}");
    }
}

#[test]
fn barge_in_drops_queued_audio_and_asks_for_stop_audio() {
    let (mut node, mut side) = out_call(16_000, 16_000, 1.0);
    let frame = Frame::for_type(&MediaType::Audio { channels: 1 }, 160);
    for _ in 0..10 {
        feed(node.as_mut(), &frame);
    }
    let out = side.outbound.as_mut().unwrap();
    out.pump().unwrap();
    assert_eq!(out.queued(), 5);
    assert!(!out.take_stop());
    node.set("stop", &Arg::Bool(true)).unwrap();
    let out = side.outbound.as_mut().unwrap();
    assert!(out.take_stop());
    assert_eq!(out.queued(), 0);
    assert!(!out.take_stop());
    assert!(node.set("queue", &Arg::Num(2.0)).is_err());
}

#[test]
fn a_client_that_stops_reading_is_reported_once_the_queue_is_full() {
    let (mut node, mut side) = out_call(16_000, 16_000, 0.1);
    let frame = Frame::for_type(&MediaType::Audio { channels: 1 }, 160);
    let out_of_room = (0..40).any(|_| {
        feed(node.as_mut(), &frame);
        side.outbound.as_mut().unwrap().pump().is_err()
    });
    assert!(out_of_room);
    assert_eq!(side.outbound.as_ref().unwrap().queued(), 5);
}

/// Streams one 20 ms chunk of `level` every two ticks after a head start
/// of `ahead` chunks (a client that stalled and then sent its late audio
/// at once), for `seconds`; returns how many chunks behind the newest
/// sent the audio played in the last tick is. Each 10 ms half of chunk k
/// starts with `level + k + 1`, so every frame played names its chunk.
fn chunks_behind_after(level: i16, ahead: i64, seconds: i64) -> i64 {
    let mut c = call(16_000, 16_000, &[]);
    let chunk = |k: i64| {
        let mut s = vec![level; 320];
        s[0] = level + k as i16 + 1;
        s[160] = s[0];
        s
    };
    for k in 0..ahead {
        c.send("p", k, chunk(k));
    }
    let mut next = ahead;
    let mut played = 0;
    for tick in 0..seconds * 100 {
        if tick % 2 == 0 {
            c.send("p", next, chunk(next));
            next += 1;
        }
        let (_, seen, _) = c.tick();
        let mark = (seen[0].samples[0] * 32768.0).round() as i64 - i64::from(level);
        if (1..=next).contains(&mark) {
            played = mark - 1;
        }
    }
    next - 1 - played
}

#[test]
fn a_queue_left_deep_by_a_stall_is_shortened_in_quiet_frames() {
    // 160 ms queued beyond the steady flow: played as is, that delay
    // would stay for the whole call (a tick plays exactly one frame).
    let behind = chunks_behind_after(200, 8, 3);
    assert!(
        behind <= 4,
        "quiet audio: {behind} chunks behind at the end (the 40 ms jitter target is 2)"
    );
}

/// Streams `wave` (sample n of one participant's 16 kHz audio) in 20 ms
/// chunks: `ahead` of them at once (a client that stalled, then sent its
/// late audio), then one every two ticks, for `seconds`. Returns what
/// the participant played and the samples still queued at the end.
fn play_after_stall(wave: impl Fn(i64) -> i16, ahead: i64, seconds: i64) -> (Vec<f32>, i64) {
    let mut c = call(16_000, 16_000, &[]);
    let chunk = |k: i64| (k * 320..(k + 1) * 320).map(&wave).collect::<Vec<_>>();
    for k in 0..ahead {
        c.send("p", k, chunk(k));
    }
    let (mut next, mut played) = (ahead, Vec::new());
    for tick in 0..seconds * 100 {
        if tick % 2 == 0 {
            c.send("p", next, chunk(next));
            next += 1;
        }
        let (_, seen, _) = c.tick();
        if seen[0].state != StreamState::Absent {
            played.extend_from_slice(&seen[0].samples);
        }
    }
    let stats = c.stats();
    assert_eq!(CallStats::get(&stats.underruns), 0);
    let dropped = CallStats::get(&stats.dropped_in) as i64;
    let queued = next * 320 - played.len() as i64 - dropped;
    (played, queued)
}

/// A loud voice: a 125 Hz fundamental and two harmonics, at 16 kHz.
fn voice(n: i64) -> i16 {
    let p = std::f64::consts::TAU * 125.0 * n as f64 / 16_000.0;
    (9000.0 * p.sin() + 4000.0 * (2.0 * p).sin() + 2000.0 * (3.0 * p + 1.0).sin()) as i16
}

/// The largest step between neighbouring samples: a click shows as one.
fn largest_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_voice_catches_up_by_whole_pitch_periods_at_its_own_pitch() {
    let (played, queued) = play_after_stall(voice, 8, 3);
    assert!(
        queued <= 3 * 320,
        "{queued} samples still queued (the 8-chunk head start is 2,560)"
    );
    let wave: Vec<f32> = (0..2000).map(|n| f32::from(voice(n)) / 32768.0).collect();
    let allowed = largest_step(&wave) * 1.05;
    assert!(
        largest_step(&played) <= allowed,
        "a click: {} against the voice's own {allowed}",
        largest_step(&played)
    );
    let pitch = Pitch::at(16_000);
    for at in [3200, 16_000, 40_000] {
        let (lag, repeats) = pitch.best_period(&played[at..]);
        assert_eq!(
            (lag, repeats > 0.99),
            (128, true),
            "at sample {at}: {repeats}"
        );
    }
}

#[test]
fn sound_that_does_not_repeat_is_never_cut_to_shorten_a_queue() {
    let noise = |n: i64| {
        // splitmix64's finalizer: each sample independent of the last.
        let mut h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((h ^ (h >> 31)) >> 48) as i16 / 2
    };
    let (_, queued) = play_after_stall(noise, 8, 3);
    assert!(
        queued >= 8 * 320,
        "loud noise keeps its head start: {queued} samples queued"
    );
}

#[test]
fn a_queue_at_the_jitter_target_is_left_alone() {
    // Two chunks ahead is the 40 ms jitter target itself: nothing to shed.
    assert_eq!(chunks_behind_after(200, 2, 3), 2);
}
