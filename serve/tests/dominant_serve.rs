//! A call through the server with two participants playing steady tones
//! into `dominant(top: 4) -> mix`: both must come back at their own level
//! (before the fix, one came back at about a third of its level and a
//! graph of two tones read from files was silent).

mod common;

use common::{connect, drain, factory, quiet, start, Client};
use std::time::{Duration, Instant};
use tungstenite::Message as WsMessage;

const GRAPH: &str = "
graph call(rate: 16kHz, frame: 10ms) {
    acs_in(jitter: 200ms, max_delay: 2s) -> dominant(top: 4) -> mix -> acs_out(queue: 2s)
}
";

/// 20 ms chunks sent per participant (3 s).
const CHUNKS: usize = 150;
const AMP: f64 = 0.25;
const TONES: [(&str, f64); 2] = [("8:acs:alice", 440.0), ("8:acs:bob", 1000.0)];

fn chunk_message(who: &str, freq: f64, k: usize) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..320)
        .flat_map(|i| {
            let t = (k * 320 + i) as f64 / 16_000.0;
            ((AMP * 32767.0 * (std::f64::consts::TAU * freq * t).sin()) as i16).to_le_bytes()
        })
        .collect();
    let ms = k * 20;
    format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:00:{:02}.{:03}Z","participantRawID":"{who}","data":"{}","silent":false}}}}"#,
        ms / 1000,
        ms % 1000,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Reads what is available; the call must not be closed under the test.
fn read_some(ws: &mut Client, out: &mut Vec<i16>) {
    if let Some(close) = drain(ws, out) {
        panic!("closed: {close:?}");
    }
}

/// The amplitude of the `freq` component of a block at 16 kHz.
fn amplitude(x: &[i16], freq: f64) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for (i, v) in x.iter().enumerate() {
        let ph = std::f64::consts::TAU * freq * i as f64 / 16_000.0;
        s += f64::from(*v) / 32768.0 * ph.sin();
        c += f64::from(*v) / 32768.0 * ph.cos();
    }
    2.0 * (s * s + c * c).sqrt() / x.len() as f64
}

#[test]
fn two_participants_playing_tones_both_come_back_at_full_level() {
    let server = start(factory(GRAPH), quiet(), false);
    let mut ws = connect(&server.addr);
    ws.send(WsMessage::text(
        r#"{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"tones","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}"#,
    ))
    .unwrap();
    let mut back = Vec::new();
    let start = Instant::now();
    for k in 0..CHUNKS {
        let due = start + Duration::from_millis(20 * k as u64);
        while Instant::now() < due {
            read_some(&mut ws, &mut back);
        }
        for (who, freq) in TONES {
            ws.send(WsMessage::text(chunk_message(who, freq, k)))
                .unwrap();
        }
    }
    let end = Instant::now() + Duration::from_millis(800);
    while Instant::now() < end {
        read_some(&mut ws, &mut back);
    }
    let _ = ws.close(None);
    server.stop().unwrap();

    // Blocks of 20 ms that are whole (no underrun or edge of the call
    // inside): each tone must be there at its own amplitude.
    let whole: Vec<&[i16]> = back
        .chunks_exact(320)
        .filter(|b| b.iter().filter(|s| **s == 0).count() < 4)
        .collect();
    assert!(
        whole.len() >= CHUNKS / 2,
        "{} whole blocks back",
        whole.len()
    );
    for (who, freq) in TONES {
        let low: Vec<f64> = whole
            .iter()
            .map(|b| amplitude(b, freq))
            .filter(|a| (a - AMP).abs() > 0.02)
            .collect();
        assert!(
            low.len() * 20 <= whole.len(),
            "{who}: {} of {} blocks not at amplitude {AMP}: {:?}",
            low.len(),
            whole.len(),
            &low[..low.len().min(8)]
        );
    }
}
