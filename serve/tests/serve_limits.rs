//! The server on real loopback sockets: slow and hostile connections
//! cannot hold call slots, tokens are checked before any graph is built,
//! call ids stay in their folder and never collide, a client that stops
//! reading is dropped, and draining lets running calls finish.

mod common;

use common::*;
use sluice_nodes::acs::protocol::AudioMetadata;
use sluice_serve::auth::{Auth, AuthConfig, PLATFORM_ISSUER};
use sluice_serve::call::{BuiltCall, CallFactory};
use sluice_serve::conn::Limits;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message as WsMessage;

#[path = "../src/testkit.rs"]
mod testkit;

/// A factory that counts the graphs it built.
struct Counting {
    inner: Arc<dyn CallFactory>,
    built: Arc<AtomicUsize>,
}

impl CallFactory for Counting {
    fn build(&self, meta: &AudioMetadata) -> Result<BuiltCall, String> {
        self.built.fetch_add(1, Ordering::AcqRel);
        self.inner.build(meta)
    }
}

/// Sends `bytes` one at a time, `every` apart, until the server hangs up;
/// returns how long the server kept it.
fn trickle(addr: std::net::SocketAddr, bytes: Vec<u8>, every: Duration) -> Duration {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    let mut sink = [0u8; 4096];
    for b in bytes.iter().cycle() {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        match s.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        thread::sleep(every);
        if start.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    start.elapsed()
}

#[test]
fn sec_2_trickling_connections_do_not_hold_call_slots() {
    let mut cfg = quiet();
    cfg.max_calls = 1;
    cfg.limits = Limits {
        setup_deadline: Duration::from_secs(2),
        ..Limits::default()
    };
    let server = start(factory(SUM_GRAPH), cfg, false);
    let upgrade = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let addr = server.addr;
    let tricklers: Vec<_> = (0..4)
        .map(|_| {
            let bytes = upgrade.as_bytes().to_vec();
            thread::spawn(move || trickle(addr, bytes, Duration::from_millis(300)))
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    // Meanwhile a real call takes the one slot and gets its audio back.
    let (audio, closed) = short_call(&server.addr, "real", 50, Duration::from_millis(600));
    assert!(closed.is_none(), "the real call was closed: {closed:?}");
    assert!(audio.len() >= 40 * 320, "{} samples back", audio.len());
    for t in tricklers {
        let held = t.join().unwrap();
        assert!(
            held < Duration::from_secs(4),
            "a trickler was held {held:?}"
        );
    }
    // Trickled metadata after a quick upgrade is cut at the same deadline.
    let mut ws = connect(&server.addr);
    let t0 = Instant::now();
    let mut closed = None;
    while closed.is_none() && t0.elapsed() < Duration::from_secs(5) {
        closed = drain(&mut ws, &mut Vec::new());
    }
    let (code, reason) = closed.expect("closed");
    assert_eq!(code, CloseCode::Policy, "{reason}");
    assert!(
        t0.elapsed() < Duration::from_millis(2600),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn sec_1_no_graph_is_built_for_a_bad_token() {
    let mut cfg = quiet();
    let auth = Auth::load(AuthConfig::new(testkit::jwks(), "resource-id")).unwrap();
    cfg.auth = Some(Arc::new(auth));
    let built = Arc::new(AtomicUsize::new(0));
    let f = Counting {
        inner: factory(SUM_GRAPH),
        built: built.clone(),
    };
    let server = start(Arc::new(f), cfg, false);
    match tungstenite::connect(format!("ws://{}", server.addr)) {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let now = testkit::unix_now();
    let claims = testkit::Claims {
        aud: "resource-id".into(),
        iss: PLATFORM_ISSUER.into(),
        exp: now + 60,
        nbf: None,
    };
    let mut req = format!("ws://{}", server.addr)
        .into_client_request()
        .unwrap();
    let bearer = format!("Bearer {}", testkit::token(&claims, "sluice-test-only"));
    req.headers_mut()
        .insert("authorization", bearer.parse().unwrap());
    let (mut ws, _) = tungstenite::connect(req).unwrap();
    ws.send(WsMessage::text(metadata("with-token", 16_000)))
        .unwrap();
    assert!(wait_for(Duration::from_secs(5), || built
        .load(Ordering::Acquire)
        == 1));
    assert!(server
        .handle
        .metrics()
        .render()
        .contains("sluice_auth_failures_total 1"));
}

#[test]
fn sec_6_call_ids_stay_in_their_folder_and_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let graph = format!(
        "graph call(rate: call, frame: 10ms) {{
            people = acs_in(jitter: 40ms)
            people -> meter(every: 20ms) -> events_out(path: \"{root}/calls/{{call}}/levels.jsonl\")
            people -> bundle_sum -> acs_out
        }}"
    );
    let server = start(factory(&graph), quiet(), false);
    let long = "s".repeat(256);
    for id in ["..", "..", "", ".", long.as_str()] {
        let (audio, closed) = short_call(&server.addr, id, 15, Duration::from_millis(300));
        assert!(closed.is_none(), "{id:?}: {closed:?}");
        assert!(!audio.is_empty(), "{id:?}: nothing came back");
        let h = server.handle.clone();
        assert!(wait_for(Duration::from_secs(5), || h.calls_active() == 0));
    }
    assert!(
        !dir.path().join("levels.jsonl").exists(),
        "`..` escaped its folder"
    );
    assert!(
        !dir.path().join("calls/levels.jsonl").exists(),
        "`.` shared the folder"
    );
    let mut folders: Vec<String> = std::fs::read_dir(dir.path().join("calls"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 5, "{folders:?}");
    assert_eq!(&folders[..4], ["call", "call-2", "call-3", "call-4"]);
    assert_eq!(folders[4].len(), 64);
    for f in &folders {
        let levels =
            std::fs::read_to_string(dir.path().join("calls").join(f).join("levels.jsonl")).unwrap();
        assert!(levels.lines().count() >= 3, "{f}: {levels:?}");
    }
}

#[test]
fn calls_beyond_the_limit_are_refused_with_1013() {
    let mut cfg = quiet();
    cfg.max_calls = 1;
    let server = start(factory(SUM_GRAPH), cfg, false);
    let mut first = connect(&server.addr);
    first
        .send(WsMessage::text(metadata("one", 16_000)))
        .unwrap();
    let h = server.handle.clone();
    assert!(wait_for(Duration::from_secs(5), || h.calls_active() == 1));
    let (_, closed) = short_call(&server.addr, "two", 1, Duration::from_secs(2));
    let (code, reason) = closed.expect("refused");
    assert_eq!(code, CloseCode::Again, "{reason}");
    assert!(reason.contains("limit of 1 calls"), "{reason}");
    assert_eq!(
        drain(&mut first, &mut Vec::new()),
        None,
        "the first call goes on"
    );
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_others_carry_on() {
    let mut cfg = quiet();
    cfg.limits.ping_every = Duration::from_millis(100);
    cfg.limits.pong_timeout = Duration::from_millis(400);
    let server = start(factory(SUM_GRAPH), cfg, false);
    let addr = server.addr;
    let good = thread::spawn(move || short_call(&addr, "good", 100, Duration::from_millis(600)));
    let mut stuck = connect(&server.addr);
    stuck
        .send(WsMessage::text(metadata("stuck", 16_000)))
        .unwrap();
    let h = server.handle.clone();
    assert!(wait_for(Duration::from_secs(5), || h.calls_active() == 2));
    // Never reads again: no pongs.
    assert!(
        wait_for(Duration::from_secs(5), || h.calls_active() == 1),
        "not dropped"
    );
    let (audio, closed) = good.join().unwrap();
    assert!(closed.is_none(), "{closed:?}");
    assert!(audio.len() >= 90 * 320, "{}", audio.len());
    drop(stuck);
}

#[test]
fn admin_endpoints_and_draining() {
    let mut cfg = quiet();
    cfg.drain_timeout = Duration::from_secs(20);
    let server = start(factory(SUM_GRAPH), cfg, true);
    let admin = server.admin.unwrap();
    assert_eq!(http_get(&admin, "/healthz").0, 200);
    assert_eq!(http_get(&admin, "/readyz").0, 200);
    let mut ws = connect(&server.addr);
    ws.send(WsMessage::text(metadata("draining", 16_000)))
        .unwrap();
    let h = server.handle.clone();
    assert!(wait_for(Duration::from_secs(5), || h.calls_active() == 1));
    let (_, metrics) = http_get(&admin, "/metrics");
    assert!(metrics.contains("sluice_calls_active 1"), "{metrics}");
    h.drain();
    assert!(wait_for(Duration::from_secs(2), || http_get(
        &admin, "/readyz"
    )
    .0 == 503));
    // No new connections; the running call goes on.
    assert!(wait_for(Duration::from_secs(2), || TcpStream::connect(
        server.addr
    )
    .is_err()));
    for k in 0..25 {
        ws.send(WsMessage::text(audio_message("a", k, &[500; 320])))
            .unwrap();
        thread::sleep(Duration::from_millis(20));
        assert_eq!(drain(&mut ws, &mut Vec::new()), None);
    }
    ws.close(None).unwrap();
    let t0 = Instant::now();
    server.stop().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let text = h.metrics().render();
    assert!(
        text.contains("sluice_calls_total{outcome=\"client_closed\"} 1"),
        "{text}"
    );
}

#[test]
fn a_drain_timeout_closes_calls_that_go_on_with_1001() {
    let mut cfg = quiet();
    cfg.drain_timeout = Duration::from_millis(300);
    let server = start(factory(SUM_GRAPH), cfg, false);
    let mut ws = connect(&server.addr);
    ws.send(WsMessage::text(metadata("long", 16_000))).unwrap();
    let h = server.handle.clone();
    assert!(wait_for(Duration::from_secs(5), || h.calls_active() == 1));
    h.drain();
    let t0 = Instant::now();
    let mut closed = None;
    while closed.is_none() && t0.elapsed() < Duration::from_secs(5) {
        closed = drain(&mut ws, &mut Vec::new());
    }
    assert_eq!(closed.map(|c| c.0), Some(CloseCode::Away));
    server.stop().unwrap();
}
