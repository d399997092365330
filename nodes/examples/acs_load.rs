//! Load harness for `sluice serve` (not a test: this machine's figures go
//! to BENCHMARKS.md). Serves calls in-process on loopback, opens N
//! concurrent calls of four participants streaming in real time, and
//! measures per-call latency (a loud burst once a second, timed from send
//! to its return), the share of the expected return audio that arrived,
//! closed calls and resident memory. With `--ramp` it then raises N until
//! calls fall behind real time.
//!
//! ```text
//! cargo run --release -p sluice-nodes --example acs_load -- --calls 50 --seconds 30 [--ramp] [GRAPH]
//! ```
//!
//! The default graph (48 kHz, so every call is resampled both ways) is
//! `acs_in -> bundle_sum -> acs_out`, with `bundle_sum` a harness-local
//! node; a GRAPH file (e.g. examples/graphs/call_analytics.sluice) runs
//! with the standard registry instead.

use sluice_dsl::{Accepts, Args, Ports, Role, SourceFile};
use sluice_nodes::acs::engine::factory;
use sluice_nodes::acs::protocol::{decode, Message};
use sluice_nodes::acs::server::{Server, ServerConfig};
use sluice_nodes::sig;
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Registry};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

const DEFAULT_GRAPH: &str = "
graph load(rate: 48kHz, frame: 10ms) {
    people = acs_in(jitter: 60ms)
    people -> bundle_sum -> acs_out
}
";

struct BundleSum;

impl Node for BundleSum {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(b) = io.bundle_in(0) else {
            return Flow::Continue;
        };
        let out = io.audio_out(0);
        out.silence();
        for (_, s) in b.present() {
            for (o, v) in out.channel_mut(0).iter_mut().zip(s.samples()) {
                *o += v;
            }
        }
        Flow::Continue
    }
}

fn registry() -> Registry {
    let mut r = sluice_nodes::registry();
    if r.kind("bundle_sum").is_none() {
        r.register(
            sig::signature("bundle_sum", "sums a bundle", Role::Process, |_: &Args| {
                Ok(Ports {
                    inputs: vec![sig::input("in", Accepts::Bundle)],
                    outputs: vec![sig::output("out", sig::audio(1))],
                    ..Ports::default()
                })
            }),
            |_: &BuildContext| -> Result<Box<dyn Node>, NodeError> { Ok(Box::new(BundleSum)) },
        );
    }
    r
}

/// What one call saw.
#[derive(Debug, Default)]
struct CallResult {
    latencies_ms: Vec<f64>,
    messages: u64,
    expected: u64,
    closed: Option<String>,
}

fn pcm_message(p: usize, k: usize, loud: bool) -> String {
    use base64::Engine;
    let amp = if loud { 0.5 } else { 0.01 };
    let freq = 300.0 + 150.0 * p as f64;
    let bytes: Vec<u8> = (0..320)
        .flat_map(|i| {
            let t = (k * 320 + i) as f64 / 16_000.0;
            ((amp * 32767.0 * (std::f64::consts::TAU * freq * t).sin()) as i16).to_le_bytes()
        })
        .collect();
    let ms = k * 20;
    format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:{:02}:{:02}.{:03}Z","participantRawID":"8:acs:load-{p}","data":"{}","silent":false}}}}"#,
        ms / 60_000,
        ms / 1000 % 60,
        ms % 1000,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn call(addr: &str, seconds: u64, index: usize) -> CallResult {
    let mut r = CallResult::default();
    let mut ws: WebSocket<MaybeTlsStream<TcpStream>> =
        match tungstenite::connect(format!("ws://{addr}")) {
            Ok((ws, _)) => ws,
            Err(e) => {
                r.closed = Some(e.to_string());
                return r;
            }
        };
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        let _ = s.set_read_timeout(Some(Duration::from_millis(1)));
    }
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
                    .send(WsMessage::text(pcm_message(p, k, loud && p == 0)))
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
        match ws.read() {
            Ok(WsMessage::Text(t)) => {
                r.messages += 1;
                if let Ok(Message::AudioData(d)) = decode(t.as_bytes(), 640) {
                    let loud = d.samples.iter().any(|s| s.unsigned_abs() > 8000);
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

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Runs `n` calls for `seconds`; returns whether they kept up.
fn round(addr: &str, n: usize, seconds: u64) -> bool {
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (pk, st) = (peak.clone(), stop.clone());
    let sampler = thread::spawn(move || {
        while !st.load(Ordering::Acquire) {
            pk.fetch_max((rss_mib() * 1024.0) as u64, Ordering::Relaxed);
            thread::sleep(Duration::from_millis(200));
        }
    });
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let addr = addr.to_string();
            thread::spawn(move || call(&addr, seconds, i))
        })
        .collect();
    let results: Vec<CallResult> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::Release);
    let _ = sampler.join();
    let mut lat: Vec<f64> = results
        .iter()
        .flat_map(|r| r.latencies_ms.clone())
        .collect();
    lat.sort_by(f64::total_cmp);
    let closed = results.iter().filter(|r| r.closed.is_some()).count();
    let got: u64 = results.iter().map(|r| r.messages).sum();
    if let Some(reason) = results.iter().find_map(|r| r.closed.as_deref()) {
        println!("     first close: {reason}");
    }
    let expected: u64 = results.iter().map(|r| r.expected).sum::<u64>().max(1);
    let bursts = (seconds as usize) * n;
    let missed = bursts.saturating_sub(lat.len());
    let (p50, p99, max) = (
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "{n:>4} calls x {seconds} s: latency p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms; \
         returned {:.1}% of real time; bursts missed {missed}/{bursts}; closed {closed}; \
         peak RSS {:.0} MiB",
        100.0 * got as f64 / expected as f64,
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    closed == 0 && p99 < 300.0 && got as f64 >= 0.97 * expected as f64 && missed <= bursts / 50
}

fn main() {
    let mut calls = 50usize;
    let mut seconds = 30u64;
    let mut ramp = false;
    let mut graph = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--calls" => calls = args.next().and_then(|v| v.parse().ok()).unwrap_or(calls),
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or(seconds),
            "--ramp" => ramp = true,
            path => graph = Some(path.to_string()),
        }
    }
    let text = match &graph {
        Some(p) => std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}")),
        None => DEFAULT_GRAPH.to_string(),
    };
    let registry = registry();
    let checked = sluice_dsl::check(&SourceFile::new("load.sluice", text.as_str()), &registry);
    let Some(plan) = checked.plan else {
        eprintln!("{:?}", checked.diagnostics);
        std::process::exit(1);
    };
    let server = Server::bind(
        "127.0.0.1:0",
        factory(plan, registry).unwrap(),
        ServerConfig {
            max_calls: 4096,
            verbose: false,
            ..ServerConfig::default()
        },
    )
    .unwrap();
    let addr = server.local_addr().unwrap().to_string();
    thread::spawn(move || server.run());
    println!("idle RSS {:.0} MiB", rss_mib());
    let mut ok = round(&addr, calls, seconds);
    let mut best = if ok { calls } else { 0 };
    while ramp && ok {
        calls += calls / 2;
        thread::sleep(Duration::from_secs(2));
        ok = round(&addr, calls, 10);
        if ok {
            best = calls;
        }
    }
    println!("largest count that kept up: {best}");
}
