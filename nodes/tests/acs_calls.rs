//! Eight concurrent calls of four participants for five seconds on
//! loopback, each through its own engine built from graph text: every
//! call's processed audio comes back complete and in order.
//!
//! The graph runs at the call's rate (16 kHz), so samples pass through
//! exactly: participant `p` sends, in chunk `k`, the constant
//! `(k mod 7 + 1) << 3p`. The bundle is summed (a test node), so every
//! returned sample carries each participant's chunk counter in its own
//! three bits. Per participant, the counters must then advance by one
//! from chunk to chunk, each chunk exactly 320 samples long (silence from
//! an underrun may split a chunk, never drop or repeat one), and all 250
//! chunks must come back.

use sluice_dsl::{Accepts, Args, Ports, Role, SourceFile};
use sluice_nodes::acs::engine::factory;
use sluice_nodes::acs::server::{Server, ServerConfig};
use sluice_nodes::sig;
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Registry};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

const CALLS: usize = 8;
const PEOPLE: usize = 4;
const CHUNKS: usize = 250;

/// Test-only kind: the sum of a bundle's present streams.
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

fn bundle_sum_ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Bundle)],
        outputs: vec![sig::output("out", sig::audio(1))],
        ..Ports::default()
    })
}

fn registry() -> Registry {
    let mut r = sluice_nodes::registry();
    r.register(
        sig::signature(
            "bundle_sum",
            "test: sums a bundle",
            Role::Process,
            bundle_sum_ports,
        ),
        |_: &BuildContext| -> Result<Box<dyn Node>, NodeError> { Ok(Box::new(BundleSum)) },
    );
    r
}

const GRAPH: &str = "
graph call(rate: 16kHz, frame: 10ms) {
    people = acs_in(jitter: 200ms, max_delay: 2s)
    people -> bundle_sum -> acs_out(queue: 2s)
}
";

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

fn value(p: usize, k: usize) -> i16 {
    (((k % 7) + 1) << (3 * p)) as i16
}

fn chunk_message(p: usize, k: usize) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = std::iter::repeat_n(value(p, k).to_le_bytes(), 320)
        .flatten()
        .collect();
    let ms = k * 20;
    format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:00:{:02}.{:03}Z","participantRawID":"8:acs:call-person-{p}","data":"{}","silent":false}}}}"#,
        ms / 1000,
        ms % 1000,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn read_some(ws: &mut Client, out: &mut Vec<i16>) -> Result<(), String> {
    loop {
        match ws.read() {
            Ok(WsMessage::Text(t)) => {
                match sluice_nodes::acs::protocol::decode(t.as_bytes(), 640) {
                    Ok(sluice_nodes::acs::protocol::Message::AudioData(d)) => {
                        out.extend_from_slice(&d.samples)
                    }
                    other => return Err(format!("unexpected message {other:?}")),
                }
            }
            Ok(WsMessage::Close(f)) => return Err(format!("closed: {f:?}")),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// One call: streams five seconds from four participants in real time and
/// returns everything that came back.
fn call(addr: &str) -> Result<Vec<i16>, String> {
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}")).map_err(|e| e.to_string())?;
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(2)))
            .map_err(|e| e.to_string())?;
    }
    ws.send(WsMessage::text(
        r#"{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"load","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}"#,
    ))
    .map_err(|e| e.to_string())?;
    let mut back = Vec::new();
    let start = Instant::now();
    for k in 0..CHUNKS {
        let due = start + Duration::from_millis(20 * k as u64);
        while Instant::now() < due {
            read_some(&mut ws, &mut back)?;
        }
        for p in 0..PEOPLE {
            ws.send(WsMessage::text(chunk_message(p, k)))
                .map_err(|e| e.to_string())?;
        }
    }
    // Read until every participant's last chunk is back (or 10 s pass).
    let deadline = Instant::now() + Duration::from_secs(10);
    let last: i16 = (0..PEOPLE).map(|p| value(p, CHUNKS - 1)).sum();
    while Instant::now() < deadline {
        read_some(&mut ws, &mut back)?;
        let tail_seen = back.iter().rev().take(4000).any(|v| *v == last);
        if tail_seen && back.iter().rev().take(320).all(|v| *v == 0) {
            break;
        }
    }
    let _ = ws.close(None);
    Ok(back)
}

/// Checks one participant's 3-bit field: chunks in order, none missing,
/// none repeated, each exactly 320 samples.
fn check_participant(back: &[i16], p: usize) -> Result<(), String> {
    let mut expected = 0usize;
    let mut run = 0usize;
    for (i, v) in back.iter().enumerate() {
        let field = ((*v as usize) >> (3 * p)) & 7;
        if field == 0 {
            continue; // silence before joining, after leaving, or an underrun
        }
        if field != expected % 7 + 1 {
            if run == 320 && field == (expected + 1) % 7 + 1 {
                expected += 1;
                run = 0;
            } else {
                return Err(format!(
                    "participant {p}: sample {i} is chunk counter {field}, expected chunk \
                     {expected} (counter {}) after {run} samples of it",
                    expected % 7 + 1
                ));
            }
        }
        run += 1;
        if run > 320 {
            return Err(format!("participant {p}: chunk {expected} longer than 320"));
        }
    }
    if expected + 1 != CHUNKS || run != 320 {
        return Err(format!(
            "participant {p}: {} of {CHUNKS} chunks came back (last one {run} samples)",
            expected + 1
        ));
    }
    Ok(())
}

#[test]
fn eight_calls_of_four_participants_come_back_complete_and_in_order() {
    let registry = registry();
    let checked = sluice_dsl::check(&SourceFile::new("call.sluice", GRAPH), &registry);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let server = Server::bind(
        "127.0.0.1:0",
        factory(plan, registry).unwrap(),
        ServerConfig {
            verbose: false,
            ..ServerConfig::default()
        },
    )
    .unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let shutdown = server.shutdown_flag();
    let active = server.active_calls();
    thread::spawn(move || server.run());
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let addr = addr.clone();
            thread::spawn(move || call(&addr))
        })
        .collect();
    for (i, c) in calls.into_iter().enumerate() {
        let back = c
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
        for p in 0..PEOPLE {
            check_participant(&back, p).unwrap_or_else(|e| panic!("call {i}: {e}"));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while active.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(active.load(Ordering::Acquire), 0, "calls still open");
    shutdown.store(true, Ordering::Release);
}

#[test]
fn a_graph_without_acs_nodes_is_refused() {
    let mut reg = Registry::new();
    sluice_nodes::live::register(&mut reg);
    let plan = sluice_dsl::check(
        &SourceFile::new(
            "y.sluice",
            "mic(device: \"null\") -> speaker(device: \"null\")",
        ),
        &reg,
    )
    .plan
    .unwrap();
    let e = factory(plan, reg).err().unwrap();
    assert!(e.contains("neither `acs_in` nor `acs_out`"), "{e}");
}
