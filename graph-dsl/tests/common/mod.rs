//! Helpers shared by the integration tests.

#![allow(dead_code)]

use sluice_dsl::Plan;

/// Everything in a plan except source positions, as JSON: two texts with
/// the same meaning (one formatted, one not) give equal fingerprints.
pub fn fingerprint(plan: &Plan) -> String {
    let mut v = serde_json::to_value(plan).expect("plans serialise");
    strip_spans(&mut v);
    v.to_string()
}

fn strip_spans(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("span");
            for x in m.values_mut() {
                strip_spans(x);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// Valid graph texts covering the language: header, comments, groups,
/// ports, conversions, `;`, split chains, strings with escapes.
pub const SEEDS: &[&str] = &[
    "# conference: what one listener hears\ngraph conference(rate: 48kHz, frame: 10ms) {\n    people  = participants(synth: 6)   # six voices\n    loudest = dominant(top: 4, hold: 300ms)\n    people -> loudest -> mix -> pan(azimuth: 30deg) -> wav_out(path: \"out/heard.wav\")\n    people -> meter -> events_out(path: \"out/levels.jsonl\")\n\n    # the camera\n    cam = video_test(size: 1280x720, fps: 30, frames: 300, pattern: moving)\n    cam -> background_blur(radius: 16) -> y4m_out(path: \"out/sent.y4m\")\n}\n",
    "a = tone(freq: 1kHz); b = tone(freq: 2.5kHz, amp: -6dB)\n[a, b] -> mix(normalize: true) -> gain(db: -3dB) -> null\n",
    "u = unmix(ids: [alice, \"bob\"])\nparticipants(path: \"people/*.wav\") -> u\nu.alice -> wav_out(path: \"a \\\"quoted\\\"\\t\\u{e9}.wav\")\nu.out1 -> null # trailing\n",
    "graph v {\n  base = video_test(frames: 10, format: rgba)\n  top = video_test(frames: 10, size: 320x240)\n  ov = overlay(x: -10px, y: 20)\n  [base, top] -> overlay(alpha: 50%) -> null\n  [ base ,\n    top ] -> [ ov.base, ov.top ]\n  ov -> y4m_out(path: \"o.y4m\")\n}\n",
    "graph g(realtime: true, duration: 10s) {\n    tone ->\n        pan(azimuth: -90deg)\n        -> pan\n        -> wav_out(path: \"s.wav\")\n    video_test(frames: 3) -> blur(radius: 4, kind: box) -> y4m_out(path: \"-\")\n}\n",
];
