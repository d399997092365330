//! The call server on a real loopback socket: a call streams processed
//! audio back; malformed input, a client that stops reading and calls over
//! the limit get a clear close while another call carries on unaffected.
//! Each call's graph is `acs_in -> (sum of the bundle) -> acs_out`, built
//! from the real nodes and ticked in real time by the server.

use sluice_dsl::{Arg, Args, MediaType, Settings};
use sluice_nodes::acs::call::build_call;
use sluice_nodes::acs::protocol::{decode, AudioMetadata, Message};
use sluice_nodes::acs::server::{BuiltCall, CallFactory, CallGraph, Server, ServerConfig};
use sluice_nodes::acs::{acs_in, acs_out};
use sluice_runtime::{BuildContext, Clock, Flow, Frame, Node, NodeError, PortIo};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

const RATE: u32 = 48_000;
const FRAME: usize = 480;

/// `acs_in -> sum -> acs_out`, paced by its own loop (the engine's
/// counterpart is `sluice_nodes::acs::engine`).
struct MixGraph {
    input: Box<dyn Node>,
    output: Box<dyn Node>,
    bundle: Frame,
    events: Frame,
    mixed: Frame,
    clock: Clock,
    stop: Arc<AtomicBool>,
}

impl MixGraph {
    fn tick(&mut self) -> Flow {
        if let Frame::Events(e) = &mut self.events {
            e.clear();
        }
        let flow = {
            let mut outs = [&mut self.bundle, &mut self.events];
            let mut io = PortIo::new(&[], &mut outs, self.clock);
            self.input.process(&mut io)
        };
        let (Frame::Bundle(b), Frame::Audio(a)) = (&self.bundle, &mut self.mixed) else {
            unreachable!()
        };
        a.silence();
        for (_, s) in b.present() {
            for (o, v) in a.channel_mut(0).iter_mut().zip(s.samples()) {
                *o += v;
            }
        }
        let inputs = [Some(&self.mixed)];
        let mut io = PortIo::new(&inputs, &mut [], self.clock);
        self.output.process(&mut io);
        self.clock.tick += 1;
        self.clock.time += 10_000_000;
        flow
    }
}

impl CallGraph for MixGraph {
    fn stopper(&self) -> Box<dyn Fn() + Send> {
        let stop = self.stop.clone();
        Box::new(move || stop.store(true, Ordering::Release))
    }

    /// Ticks every 10 ms of wall-clock time until `acs_in` ends.
    fn run(mut self: Box<Self>) -> Result<String, String> {
        let start = Instant::now();
        let mut n = 0u32;
        while !self.stop.load(Ordering::Acquire) && self.tick() == Flow::Continue {
            n += 1;
            let due = start + Duration::from_millis(10) * n;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
        }
        Ok(format!("{n} ticks"))
    }
}

fn build_mix(meta: &AudioMetadata) -> Result<BuiltCall, String> {
    let settings = Settings {
        rate: RATE,
        frame_samples: FRAME as u32,
        ..Settings::default()
    };
    // A deep jitter buffer: these tests share two cores with many builds.
    let mut args = Args::default();
    args.set("jitter", Arg::Num(0.2));
    args.set("max_delay", Arg::Num(1.0));
    let ctx = |name| BuildContext {
        name,
        index: 0,
        args: &args,
        inputs: &[],
        outputs: &[],
        settings: &settings,
        node_names: &[],
    };
    let (nodes, side) = build_call(meta, || -> Result<_, NodeError> {
        Ok((
            acs_in::build(&ctx("acs_in"))?,
            acs_out::build(&ctx("acs_out"))?,
        ))
    });
    let (input, output) = nodes.map_err(|e| e.0)?;
    Ok(BuiltCall {
        graph: Box::new(MixGraph {
            input,
            output,
            bundle: Frame::for_type(&MediaType::Bundle { capacity: 32 }, FRAME),
            events: Frame::for_type(&MediaType::Events, FRAME),
            mixed: Frame::for_type(&MediaType::Audio { channels: 1 }, FRAME),
            clock: Clock {
                rate: RATE,
                frame_samples: FRAME,
                ..Clock::default()
            },
            stop: Arc::new(AtomicBool::new(false)),
        }),
        side,
    })
}

struct Running {
    addr: String,
    active: Arc<std::sync::atomic::AtomicUsize>,
    shutdown: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Release);
    }
}

fn start(config: ServerConfig) -> Running {
    let factory: Arc<CallFactory> = Arc::new(build_mix);
    let server = Server::bind("127.0.0.1:0", factory, config).unwrap();
    let running = Running {
        addr: server.local_addr().unwrap().to_string(),
        active: server.active_calls(),
        shutdown: server.shutdown_flag(),
    };
    thread::spawn(move || server.run());
    running
}

fn quiet() -> ServerConfig {
    ServerConfig {
        verbose: false,
        ..ServerConfig::default()
    }
}

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(addr: &str) -> Client {
    let (ws, _) = tungstenite::connect(format!("ws://{addr}")).unwrap();
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    }
    ws
}

const METADATA: &str = r#"{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"test","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}"#;

fn audio_message(who: &str, k: usize, samples: &[i16]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let ms = k * 20;
    format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:{:02}:{:02}.{:03}Z","participantRawID":"{who}","data":"{}","silent":false}}}}"#,
        ms / 60_000,
        ms / 1000 % 60,
        ms % 1000,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn sine_chunk(k: usize, freq: f64, amp: f64) -> Vec<i16> {
    (0..320)
        .map(|i| {
            let t = (k * 320 + i) as f64 / 16_000.0;
            (amp * 32767.0 * (std::f64::consts::TAU * freq * t).sin()) as i16
        })
        .collect()
}

/// Reads whatever is available; returns decoded audio samples and the
/// close frame if the server closed.
fn drain(ws: &mut Client, audio: &mut Vec<i16>) -> Option<(CloseCode, String)> {
    loop {
        match ws.read() {
            Ok(WsMessage::Text(t)) => {
                if let Ok(Message::AudioData(d)) = decode(t.as_bytes(), 640) {
                    assert_eq!(d.samples.len(), 320);
                    audio.extend_from_slice(&d.samples);
                }
            }
            Ok(WsMessage::Close(Some(f))) => return Some((f.code, f.reason.to_string())),
            Ok(WsMessage::Close(None)) => return Some((CloseCode::Status, String::new())),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            Err(e) => return Some((CloseCode::Abnormal, e.to_string())),
        }
    }
}

/// Streams `chunks` 20 ms chunks of a 440 Hz tone in real time from two
/// participants, reading the processed audio as it comes back.
fn good_call(addr: &str, chunks: usize) -> (Vec<i16>, Option<(CloseCode, String)>) {
    let mut ws = connect(addr);
    ws.send(WsMessage::text(METADATA)).unwrap();
    let start = Instant::now();
    let mut audio = Vec::new();
    for k in 0..chunks {
        let due = start + Duration::from_millis(20 * k as u64);
        while Instant::now() < due {
            if let Some(c) = drain(&mut ws, &mut audio) {
                return (audio, Some(c));
            }
        }
        ws.send(WsMessage::text(audio_message(
            "alice",
            k,
            &sine_chunk(k, 440.0, 0.25),
        )))
        .unwrap();
        ws.send(WsMessage::text(audio_message("bob", k, &[0; 320])))
            .unwrap();
    }
    let end = Instant::now() + Duration::from_millis(600);
    while Instant::now() < end {
        if let Some(c) = drain(&mut ws, &mut audio) {
            return (audio, Some(c));
        }
    }
    let _ = ws.close(None);
    (audio, None)
}

fn amplitude(x: &[i16], freq: f64) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for (i, v) in x.iter().enumerate() {
        let ph = std::f64::consts::TAU * freq * i as f64 / 16_000.0;
        s += *v as f64 / 32768.0 * ph.sin();
        c += *v as f64 / 32768.0 * ph.cos();
    }
    2.0 * (s * s + c * c).sqrt() / x.len() as f64
}

/// Checks the returned audio is the 440 Hz tone at its level: every
/// 20 ms block after the first sound is either the tone (RMS of a
/// 0.25 sine, 440 Hz dominant) or silence from an underrun, and at least
/// `min_blocks` blocks are the tone.
fn assert_tone(audio: &[i16], min_blocks: usize) {
    let start = audio
        .iter()
        .position(|s| *s != 0)
        .expect("no sound came back");
    let mut tone = 0;
    for block in audio[start..].chunks_exact(320).skip(1) {
        let rms = (block
            .iter()
            .map(|s| (*s as f64 / 32768.0).powi(2))
            .sum::<f64>()
            / 320.0)
            .sqrt();
        if rms < 0.01 {
            continue;
        }
        let edge = block.iter().take_while(|s| **s == 0).count()
            + block.iter().rev().take_while(|s| **s == 0).count();
        if edge > 8 {
            continue; // a block straddling an underrun
        }
        assert!((rms - 0.25 / 2f64.sqrt()).abs() < 0.01, "rms {rms}");
        assert!(amplitude(block, 440.0) > 0.2 && amplitude(block, 1000.0) < 0.03);
        tone += 1;
    }
    assert!(tone >= min_blocks, "{tone} blocks of tone");
}

#[test]
fn a_call_gets_its_processed_audio_back_in_real_time() {
    let server = start(quiet());
    let (audio, closed) = good_call(&server.addr, 50);

    assert!(closed.is_none(), "{closed:?}");
    // About 1.3 s of call: 20 ms messages from the start, at least 1 s worth.
    assert!(audio.len() >= 50 * 320, "{}", audio.len());
    assert_tone(&audio, 40);
}

fn expect_close(addr: &str, messages: &[String], code: CloseCode, needle: &str) {
    let mut ws = connect(addr);
    for m in messages {
        if ws.send(WsMessage::text(m.as_str())).is_err() {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut audio = Vec::new();
    while Instant::now() < deadline {
        if let Some((c, reason)) = drain(&mut ws, &mut audio) {
            assert_eq!(c, code, "{needle}: closed with {c} {reason:?}");
            assert!(reason.contains(needle), "{needle} not in {reason:?}");
            return;
        }
    }
    panic!("not closed within 5 s (expected {needle})");
}

#[test]
fn malformed_input_closes_only_that_call() {
    let server = start(quiet());
    let addr = server.addr.clone();
    let good = thread::spawn(move || good_call(&addr, 75));
    let meta = METADATA.to_string();
    let m = |s: &str| s.to_string();
    expect_close(
        &server.addr,
        &[audio_message("a", 0, &[0; 320])],
        CloseCode::Policy,
        "first message must be AudioMetadata",
    );
    expect_close(
        &server.addr,
        &[meta.clone(), m("{not json")],
        CloseCode::Invalid,
        "malformed message",
    );
    expect_close(
        &server.addr,
        &[
            meta.clone(),
            m(r#"{"kind":"AudioData","audioData":{"participantRawID":"a","data":"%%%%"}}"#),
        ],
        CloseCode::Invalid,
        "base64",
    );
    expect_close(
        &server.addr,
        &[
            meta.clone(),
            m(r#"{"kind":"AudioData","audioData":{"participantRawID":"a","data":"AAEC"}}"#),
        ],
        CloseCode::Invalid,
        "whole number of 16-bit samples",
    );
    expect_close(
        &server.addr,
        &[meta.clone(), audio_message("a", 0, &[0; 400])],
        CloseCode::Invalid,
        "longer than the 640 bytes",
    );
    expect_close(
        &server.addr,
        &[meta.clone(), "x".repeat(2 << 20)],
        CloseCode::Size,
        "too large",
    );
    expect_close(
        &server.addr,
        &[m(
            r#"{"kind":"AudioMetadata","audioMetadata":{"encoding":"PCM","sampleRate":8000,"channels":1,"length":320}}"#,
        )],
        CloseCode::Unsupported,
        "sampleRate 8000",
    );
    // An unknown kind is ignored: the call carries on and still streams.
    let mut ws = connect(&server.addr);
    ws.send(WsMessage::text(METADATA)).unwrap();
    ws.send(WsMessage::text(
        r#"{"kind":"TranscriptionData","transcriptionData":{}}"#,
    ))
    .unwrap();
    let mut audio = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(1) {
        assert_eq!(drain(&mut ws, &mut audio), None);
    }
    assert!(audio.len() >= 5 * 320, "{}", audio.len());

    let (audio, closed) = good.join().unwrap();
    assert!(closed.is_none(), "the good call was closed: {closed:?}");
    assert!(audio.len() >= 75 * 320, "{}", audio.len());
    assert_tone(&audio, 60);
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_others_carry_on() {
    let server = start(ServerConfig {
        ping_every: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(400),
        ..quiet()
    });
    let addr = server.addr.clone();
    let good = thread::spawn(move || good_call(&addr, 100));
    let mut stuck = connect(&server.addr);
    stuck.send(WsMessage::text(METADATA)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.active.load(Ordering::Acquire) < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.active.load(Ordering::Acquire), 2);
    // Never reads again: no pongs, and its socket fills.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.active.load(Ordering::Acquire) > 1 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.active.load(Ordering::Acquire), 1, "not dropped");
    let (audio, closed) = good.join().unwrap();
    assert!(closed.is_none(), "{closed:?}");
    assert!(audio.len() >= 100 * 320, "{}", audio.len());
    assert_tone(&audio, 80);
    drop(stuck);
}

#[test]
fn calls_beyond_the_limit_are_refused() {
    let server = start(ServerConfig {
        max_calls: 1,
        ..quiet()
    });
    let mut first = connect(&server.addr);
    first.send(WsMessage::text(METADATA)).unwrap();
    thread::sleep(Duration::from_millis(50));
    expect_close(&server.addr, &[], CloseCode::Again, "limit of 1 calls");
    let mut audio = Vec::new();
    assert_eq!(drain(&mut first, &mut audio), None);
}
