//! Load generator for `sluice serve`, run as its own process against a
//! server in another (not a test: this machine's figures go to
//! BENCHMARKS.md). Opens N concurrent calls of four participants streaming
//! 16 kHz PCM in real time and measures latency (a loud burst once a
//! second, timed from send to its return, jitter buffer included), the
//! share of real-time audio that came back, closed calls, the server's
//! memory per call and its threads with 1,000 idle sockets open.
//!
//! ```text
//! sluice serve --listen 127.0.0.1:9000 --max-calls 4096 --max-pending 4096 \
//!     examples/graphs/call_analytics.sluice &
//! cargo run --release -p sluice-serve --example acs_load -- \
//!     --addr 127.0.0.1:9000 --pid $! --calls 50 --seconds 30
//! ```

use sluice_nodes::acs::protocol::{decode, Message};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

/// What one call saw.
#[derive(Debug, Default)]
struct CallResult {
    latencies_ms: Vec<f64>,
    messages: u64,
    expected: u64,
    closed: Option<String>,
}

/// Tone frequency of participant `p`. Each is a whole number of cycles
/// in 20 ms (6, 9, 12 and 15), so every 20 ms chunk of a participant
/// holds the same samples, and [`Payloads`] encodes each chunk once.
fn tone_hz(p: usize) -> f64 {
    300.0 + 150.0 * p as f64
}

/// The base64 samples of one 20 ms chunk per participant, quiet and
/// loud: made once, so the generator's CPU goes to the sockets rather
/// than to sines and base64 (it shares the machine with the server).
struct Payloads {
    quiet: [String; 4],
    loud: String,
}

impl Payloads {
    fn new() -> Payloads {
        Payloads {
            quiet: std::array::from_fn(|p| chunk_base64(p, 0.01)),
            loud: chunk_base64(0, 0.5),
        }
    }
}

fn chunk_base64(p: usize, amp: f64) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..320)
        .flat_map(|i| {
            let t = i as f64 / 16_000.0;
            ((amp * 32767.0 * (std::f64::consts::TAU * tone_hz(p) * t).sin()) as i16).to_le_bytes()
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pcm_message(payloads: &Payloads, p: usize, k: usize, loud: bool) -> String {
    let ms = k * 20;
    let data = if loud {
        &payloads.loud
    } else {
        &payloads.quiet[p]
    };
    format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:{:02}:{:02}.{:03}Z","participantRawID":"8:acs:load-{p}","data":"{data}","silent":false}}}}"#,
        ms / 60_000,
        ms / 1000 % 60,
        ms % 1000,
    )
}

fn call(addr: &str, seconds: u64, index: usize, payloads: &Payloads) -> CallResult {
    let mut r = CallResult::default();
    let mut ws: WebSocket<MaybeTlsStream<TcpStream>> =
        match tungstenite::client::connect_with_config(format!("ws://{addr}"), Some(ws_config()), 0)
        {
            Ok((ws, _)) => ws,
            Err(e) => {
                r.closed = Some(e.to_string());
                return r;
            }
        };
    let meta = format!(
        r#"{{"kind":"AudioMetadata","audioMetadata":{{"subscriptionId":"load-{index}","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}}}"#
    );
    if ws.send(WsMessage::text(meta)).is_err() {
        r.closed = Some("send failed".into());
        return r;
    }
    let start = Instant::now();
    let chunks = (seconds * 50) as usize;
    let mut burst_sent: Option<Instant> = None;
    let mut k = 0;
    while k < chunks || start.elapsed() < Duration::from_millis(20 * chunks as u64 + 500) {
        if k < chunks && start.elapsed() >= Duration::from_millis(20 * k as u64) {
            let loud = k % 50 == 25;
            for p in 0..4 {
                if ws
                    .send(WsMessage::text(pcm_message(payloads, p, k, loud && p == 0)))
                    .is_err()
                {
                    r.closed = Some("send failed".into());
                    return r;
                }
            }
            if loud {
                burst_sent = Some(Instant::now());
            }
            k += 1;
            continue;
        }
        wait_until(&ws, start + Duration::from_millis(20 * k as u64));
        match ws.read() {
            Ok(WsMessage::Text(t)) => {
                r.messages += 1;
                if let Ok(Message::AudioData(d)) = decode(t.as_bytes(), 640) {
                    let loud = d.samples.iter().any(|s| s.unsigned_abs() > 3000);
                    if let (true, Some(sent)) = (loud, burst_sent) {
                        r.latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
                        burst_sent = None;
                    }
                }
            }
            Ok(WsMessage::Close(f)) => {
                r.closed = Some(f.map_or(String::new(), |f| f.reason.to_string()));
                r.expected = start.elapsed().as_millis() as u64 / 20;
                return r;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                r.closed = Some(e.to_string());
                return r;
            }
        }
    }
    r.expected = chunks as u64;
    let _ = ws.close(None);
    r
}

/// The client's socket settings: tungstenite zeroes its whole read
/// buffer before each read (128 KiB by default), which made memset the
/// generator's largest cost; the server's messages are under 4 KiB.
fn ws_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Lets the next read wait for the server's answer until the next chunk
/// is due (at least 1 ms): the thread sleeps in the read, woken by data or
/// by its send time, instead of polling.
fn wait_until(ws: &WebSocket<MaybeTlsStream<TcpStream>>, due: Instant) {
    let wait = due
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        let _ = s.set_read_timeout(Some(wait));
    }
}

/// A field of `/proc/PID/status` (`VmRSS`, `Threads`), as a number.
fn status(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Runs `n` calls for `seconds` and prints what they saw.
fn round(addr: &str, pid: u32, n: usize, seconds: u64) {
    let idle_kib = status(pid, "VmRSS:");
    let payloads = std::sync::Arc::new(Payloads::new());
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let addr = addr.to_string();
            let payloads = payloads.clone();
            thread::spawn(move || call(&addr, seconds, i, &payloads))
        })
        .collect();
    thread::sleep(Duration::from_secs(seconds / 2));
    let busy_kib = status(pid, "VmRSS:");
    let busy_threads = status(pid, "Threads:");
    let results: Vec<CallResult> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut lat: Vec<f64> = results
        .iter()
        .flat_map(|r| r.latencies_ms.clone())
        .collect();
    lat.sort_by(f64::total_cmp);
    let closed = results.iter().filter(|r| r.closed.is_some()).count();
    if let Some(reason) = results.iter().find_map(|r| r.closed.as_deref()) {
        println!("     first close: {reason}");
    }
    let got: u64 = results.iter().map(|r| r.messages).sum();
    let expected: u64 = results.iter().map(|r| r.expected).sum::<u64>().max(1);
    println!(
        "{n:>4} calls x {seconds} s: latency p50 {:.0} ms, p99 {:.0} ms; returned {:.1}% of \
         real time; closed {closed}; server {:.2} MiB per call, {busy_threads} threads",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        100.0 * got as f64 / expected as f64,
        (busy_kib - idle_kib) / 1024.0 / n as f64,
    );
}

/// Opens `n` sockets that send nothing and reports the server's threads.
fn idle_sockets(addr: &str, pid: u32, n: usize) {
    let before = status(pid, "Threads:");
    let open: Vec<TcpStream> = (0..n)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    thread::sleep(Duration::from_secs(1));
    let during = status(pid, "Threads:");
    println!(
        "{} idle sockets: server threads {before} before, {during} with them open",
        open.len()
    );
}

fn main() {
    let (mut addr, mut pid) = (String::from("127.0.0.1:9000"), 0u32);
    let (mut calls, mut seconds, mut idle) = (50usize, 30u64, 1000usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--addr" => addr = v,
            "--pid" => pid = v.parse().unwrap_or(0),
            "--calls" => calls = v.parse().unwrap_or(calls),
            "--seconds" => seconds = v.parse().unwrap_or(seconds),
            "--idle" => idle = v.parse().unwrap_or(idle),
            other => {
                eprintln!("unknown option `{other}` (--addr --pid --calls --seconds --idle)");
                std::process::exit(2);
            }
        }
    }
    if idle > 0 {
        idle_sockets(&addr, pid, idle);
        thread::sleep(Duration::from_secs(2));
    }
    round(&addr, pid, calls, seconds);
}
