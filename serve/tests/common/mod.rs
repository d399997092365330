//! Shared by the server's socket tests: a server on loopback in a thread,
//! a blocking WebSocket client, the platform's messages, and a test-only
//! node kind (`bundle_sum`).
#![allow(dead_code)]

use sluice_dsl::{Accepts, Args, Ports, Role, SourceFile};
use sluice_nodes::acs::protocol::{decode, Message};
use sluice_nodes::sig;
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Registry};
use sluice_serve::call::CallFactory;
use sluice_serve::engine::EngineFactory;
use sluice_serve::server::{ServeConfig, Server, ServerHandle};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as WsMessage, WebSocket};

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

/// The standard registry plus `bundle_sum`.
pub fn registry() -> Registry {
    let mut r = sluice_nodes::registry();
    r.register(
        sig::signature(
            "bundle_sum",
            "test: sums a bundle",
            Role::Process,
            |_: &Args| {
                Ok(Ports {
                    inputs: vec![sig::input("in", Accepts::Bundle)],
                    outputs: vec![sig::output("out", sig::audio(1))],
                    ..Ports::default()
                })
            },
        ),
        |_: &BuildContext| -> Result<Box<dyn Node>, NodeError> { Ok(Box::new(BundleSum)) },
    );
    r
}

/// A factory for graph text, with `bundle_sum` available.
pub fn factory(text: &str) -> Arc<dyn CallFactory> {
    let registry = registry();
    let checked = sluice_dsl::check(&SourceFile::new("call.sluice", text), &registry);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    Arc::new(EngineFactory::new(plan, registry).unwrap())
}

/// The graph most tests use: the call's rate, the bundle summed back.
pub const SUM_GRAPH: &str = "
graph call(rate: call, frame: 10ms) {
    people = acs_in(jitter: 200ms, max_delay: 2s)
    people -> bundle_sum -> acs_out(queue: 2s)
}
";

/// A server running on loopback.
pub struct Running {
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub handle: ServerHandle,
    pub thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Drains and waits for the server to return.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.handle.drain();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.drain();
    }
}

/// Starts a server for `factory` with `cfg` (quiet unless said otherwise).
pub fn start(factory: Arc<dyn CallFactory>, cfg: ServeConfig, admin: bool) -> Running {
    let mut server = Server::bind("127.0.0.1:0", factory, cfg).unwrap();
    let admin = admin.then(|| server.bind_admin("127.0.0.1:0").unwrap());
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    Running {
        addr,
        admin,
        handle,
        thread: Some(thread),
    }
}

/// A quiet configuration.
pub fn quiet() -> ServeConfig {
    let mut cfg = ServeConfig::default();
    cfg.log.quiet = true;
    cfg
}

pub type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// Connects; reads time out after 2 ms so a loop can interleave sends.
pub fn connect(addr: &SocketAddr) -> Client {
    let (ws, _) = tungstenite::connect(format!("ws://{addr}")).unwrap();
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    }
    ws
}

/// `AudioMetadata` at `rate` for `subscription`.
pub fn metadata(subscription: &str, rate: u32) -> String {
    format!(
        r#"{{"kind":"AudioMetadata","audioMetadata":{{"subscriptionId":"{subscription}","encoding":"PCM","sampleRate":{rate},"channels":1,"length":{}}}}}"#,
        rate / 50 * 2
    )
}

/// One 20 ms chunk of `samples` from `who`, chunk number `k`.
pub fn audio_message(who: &str, k: usize, samples: &[i16]) -> String {
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

/// Reads what is available: audio samples into `audio`; the close frame
/// (code, reason) if the server closed.
pub fn drain(ws: &mut Client, audio: &mut Vec<i16>) -> Option<(CloseCode, String)> {
    loop {
        match ws.read() {
            Ok(WsMessage::Text(t)) => {
                if let Ok(Message::AudioData(d)) = decode(t.as_bytes(), 960) {
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

/// A short real call: metadata, `chunks` chunks of a constant in real
/// time, then reads for `tail`; returns the audio that came back and the
/// close, if any.
pub fn short_call(
    addr: &SocketAddr,
    subscription: &str,
    chunks: usize,
    tail: Duration,
) -> (Vec<i16>, Option<(CloseCode, String)>) {
    let mut ws = connect(addr);
    ws.send(WsMessage::text(metadata(subscription, 16_000)))
        .unwrap();
    let start = Instant::now();
    let mut audio = Vec::new();
    for k in 0..chunks {
        let due = start + Duration::from_millis(20 * k as u64);
        while Instant::now() < due {
            if let Some(c) = drain(&mut ws, &mut audio) {
                return (audio, Some(c));
            }
        }
        if ws
            .send(WsMessage::text(audio_message("alice", k, &[1000; 320])))
            .is_err()
        {
            return (audio, drain(&mut ws, &mut Vec::new()));
        }
    }
    let end = Instant::now() + tail;
    while Instant::now() < end {
        if let Some(c) = drain(&mut ws, &mut audio) {
            return (audio, Some(c));
        }
    }
    let _ = ws.close(None);
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        if drain(&mut ws, &mut audio).is_some() {
            break;
        }
    }
    (audio, None)
}

/// Waits until `f` holds or `timeout` passes; whether it held.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// An HTTP GET on `addr`: (status code, body).
pub fn http_get(addr: &SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}
