use super::*;
use crate::speech::testdata::{level, padded_speech, speech, white};
use crate::test_support::MONO;
use sluice_runtime::testing::NodeHarness;
use sluice_runtime::{AudioFrame, EventData};

/// Runs `input` (48 kHz mono) through a `vad`; every event as JSON.
fn events(input: &[f32]) -> Vec<serde_json::Value> {
    let mut node = NodeHarness::of(signature(), build)
        .inputs(&[MONO])
        .outputs(&[MediaType::Events])
        .build()
        .unwrap();
    let mut all = Vec::new();
    for (t, chunk) in input.chunks_exact(480).enumerate() {
        let mut a = AudioFrame::new(1, 480);
        a.data_mut().copy_from_slice(chunk);
        node.run_at(t as u64, &[&Frame::Audio(a)]);
        all.extend(json_of(node.output(0)));
    }
    node.finish().unwrap();
    all
}

fn json_of(f: &Frame) -> Vec<serde_json::Value> {
    let Frame::Events(e) = f else { panic!() };
    e.events()
        .iter()
        .map(|ev| match ev.data {
            EventData::Json(t) => serde_json::from_str(e.json(t)).unwrap(),
            _ => panic!("not json"),
        })
        .collect()
}

/// The fraction of events within `from..to` seconds that say speaking.
fn speaking_share(events: &[serde_json::Value], from: f64, to: f64) -> f64 {
    let inside: Vec<_> = events
        .iter()
        .filter(|e| (from..to).contains(&e["t"].as_f64().unwrap()))
        .collect();
    let yes = inside.iter().filter(|e| e["speaking"] == true).count();
    yes as f64 / inside.len() as f64
}

#[test]
fn speech_is_speaking_for_most_of_its_length() {
    let pad = 1.0;
    let input = padded_speech(48_000, pad as f32);
    let len = speech(16_000).len() as f64 / 16_000.0;
    let start = std::time::Instant::now();
    let ev = events(&input);
    let frames = input.len() as f64 / 48_000.0 * 16_000.0 / 512.0;
    eprintln!(
        "vad: {:.3} ms of wall time per 32 ms model frame (whole node, this build)",
        start.elapsed().as_secs_f64() * 1e3 / frames
    );
    assert_eq!(ev.len(), input.len() / 4_800, "one event per 100 ms");
    let e = &ev[15];
    assert_eq!(
        e["node"], "vad",
        "the harness names the node after its kind"
    );
    assert_eq!(e["id"], "");
    assert!((e["t"].as_f64().unwrap() - 1.5).abs() < 1e-9);
    let share = speaking_share(&ev, pad, pad + len);
    let before = speaking_share(&ev, 0.0, pad - 0.1);
    eprintln!(
        "vad: speaking in {:.0}% of the speech, {:.0}% of the silence before",
        share * 100.0,
        before * 100.0
    );
    assert!(
        share >= 0.6,
        "speaking in {:.0}% of the speech",
        share * 100.0
    );
    assert_eq!(before, 0.0, "silence is not speech");
}

#[test]
fn white_noise_louder_than_speech_is_rarely_speaking() {
    let speech_level = level(&speech(48_000));
    let rms = 10f32.powf((speech_level + 6.0) / 20.0);
    let noise = white(48_000 * 6, rms, 21);
    let ev = events(&noise);
    let share = speaking_share(&ev, 0.0, 6.0);
    eprintln!(
        "vad: white noise at {:.1} dBFS (speech {speech_level:.1}): speaking in {:.1}%",
        level(&noise),
        share * 100.0
    );
    assert!(share <= 0.10, "noise speaking in {:.0}%", share * 100.0);
}

#[test]
fn each_participant_gets_its_own_events() {
    let ty = MediaType::Bundle { capacity: 3 };
    let mut node = NodeHarness::of(signature(), build)
        .inputs(&[ty])
        .outputs(&[MediaType::Events])
        .build()
        .unwrap();
    let talk = padded_speech(48_000, 0.5);
    let hiss = white(talk.len(), 0.02, 4);
    let mut input = Frame::for_type(&ty, 480);
    let mut all = Vec::new();
    let ticks = talk.len() / 480;
    for t in 0..ticks {
        let Frame::Bundle(b) = &mut input else {
            panic!()
        };
        let s = b.slots_mut();
        for (i, (id, src)) in [("alice", &talk), ("bob", &hiss)].into_iter().enumerate() {
            s[i].id = StreamId::new(id);
            s[i].state = if t == 0 {
                StreamState::Joined
            } else {
                StreamState::Active
            };
            s[i].samples_mut()
                .copy_from_slice(&src[t * 480..(t + 1) * 480]);
        }
        node.run_at(t as u64, &[&input]);
        all.extend(json_of(node.output(0)));
    }
    node.finish().unwrap();
    let of = |id: &str| all.iter().filter(|e| e["id"] == id).collect::<Vec<_>>();
    assert_eq!(of("alice").len(), ticks / 10);
    assert_eq!(of("bob").len(), ticks / 10);
    assert!(of("").is_empty(), "the empty slot is silent");
    let spoke = |id: &str| of(id).iter().filter(|e| e["speaking"] == true).count();
    assert!(
        spoke("alice") * 2 > of("alice").len(),
        "alice spoke in {}",
        spoke("alice")
    );
    assert_eq!(spoke("bob"), 0, "bob only hissed");
}
