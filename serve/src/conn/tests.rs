//! The protocol core driven directly, without sockets: a real tungstenite
//! client on an in-memory pipe talks to a [`Connection`], and simulated
//! time stands in for the clock. The security items of the server are
//! tested here (`sec_*`), one test each.

use super::pipe::Pipe;
use super::*;
use crate::auth::{AuthConfig, PLATFORM_ISSUER};
use crate::testkit::{jwks, token, Claims};
use sluice_nodes::acs::inbound::{inbound, InboundConfig, InboundRings};
use sluice_nodes::acs::outbound::{outbound, OutRing};
use sluice_nodes::acs::stats::CallStats;
use std::sync::atomic::Ordering;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const METADATA: &str = r#"{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"sub-1","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}"#;

fn upgrade(extra: &str) -> String {
    format!(
        "GET /media HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A server connection and a client WebSocket joined by memory.
struct Harness {
    server: Connection,
    client: Option<WebSocket<Pipe>>,
    now: Instant,
    events: Vec<Event>,
    http: Vec<u8>,
}

/// The connection's side of a call at 16 kHz, with the rings' other ends.
fn call_side() -> (CallSide, InboundRings, OutRing) {
    let stats = Arc::new(CallStats::default());
    let (asm, rings) = inbound(
        InboundConfig {
            capacity: 4,
            call_rate: 16_000,
            chunk_samples: 320,
            graph_rate: 16_000,
            ring_samples: 16_000,
        },
        stats.clone(),
    )
    .unwrap();
    let (ring, out) = outbound(16_000, 16_000, 1000, stats.clone()).unwrap();
    let side = CallSide {
        inbound: Some(asm),
        outbound: Some(out),
        stats,
    };
    (side, rings, ring)
}

impl Harness {
    fn new(cfg: ConnConfig) -> Harness {
        let now = Instant::now();
        Harness {
            server: Connection::new(Arc::new(cfg), now),
            client: None,
            now,
            events: Vec::new(),
            http: Vec::new(),
        }
    }

    /// A connection past the upgrade (no authentication).
    fn open() -> Harness {
        let mut h = Harness::new(ConnConfig::default());
        h.raw(upgrade("").as_bytes());
        assert!(
            h.http_text().starts_with("HTTP/1.1 101"),
            "{}",
            h.http_text()
        );
        h
    }

    /// A live call at 16 kHz with the rings' other ends.
    fn live() -> (Harness, InboundRings, OutRing) {
        let mut h = Harness::open();
        h.send_text(METADATA);
        assert!(
            matches!(h.events.last(), Some(Event::Metadata(_))),
            "{:?}",
            h.events
        );
        let (side, rings, ring) = call_side();
        h.server.start_call(side, h.now);
        h.step();
        (h, rings, ring)
    }

    fn http_text(&self) -> String {
        String::from_utf8_lossy(&self.http).into_owned()
    }

    /// Runs the server on what it has, collects its events and output.
    fn step(&mut self) {
        self.server.drive(self.now);
        while let Some(e) = self.server.poll_event() {
            self.events.push(e);
        }
        let out = self.server.output().to_vec();
        self.server.consume_output(out.len());
        match &mut self.client {
            Some(c) => c.get_mut().push_input(&out),
            None => {
                self.http.extend_from_slice(&out);
                if let Some(end) = self.http.windows(4).position(|w| w == b"\r\n\r\n") {
                    if self.http.starts_with(b"HTTP/1.1 101") {
                        let rest = self.http.split_off(end + 4);
                        let mut pipe = Pipe::with_output_cap(usize::MAX);
                        pipe.push_input(&rest);
                        self.client = Some(WebSocket::from_raw_socket(pipe, Role::Client, None));
                    }
                }
            }
        }
    }

    /// Feeds raw bytes to the server (as much as it takes) and steps.
    fn raw(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = self.server.input_room().min(bytes.len());
            if n == 0 {
                self.step();
                if self.server.input_room() == 0 {
                    return;
                }
                continue;
            }
            self.server.receive(&bytes[..n]);
            bytes = &bytes[n..];
            self.step();
        }
        self.step();
    }

    fn send(&mut self, m: WsMessage) {
        let c = self.client.as_mut().expect("upgraded");
        c.send(m).unwrap();
        let bytes = c.get_ref().output().to_vec();
        c.get_mut().consume_output(bytes.len());
        self.raw(&bytes);
    }

    fn send_text(&mut self, t: &str) {
        self.send(WsMessage::text(t));
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.step();
    }

    /// Everything the client can read now; a close frame ends the list.
    fn received(&mut self) -> Vec<WsMessage> {
        let mut got = Vec::new();
        let Some(c) = self.client.as_mut() else {
            return got;
        };
        loop {
            match c.read() {
                Ok(m) => got.push(m),
                Err(_) => return got,
            }
        }
    }

    fn close_frame(&mut self) -> Option<(u16, String)> {
        self.received().into_iter().find_map(|m| match m {
            WsMessage::Close(Some(f)) => Some((u16::from(f.code), f.reason.to_string())),
            _ => None,
        })
    }

    fn ended(&self) -> Option<&Outcome> {
        self.events.iter().find_map(|e| match e {
            Event::Ended(o) => Some(o),
            _ => None,
        })
    }
}

fn audio(who: &str, k: usize, value: i16, extra: &str) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = std::iter::repeat_n(value.to_le_bytes(), 320)
        .flatten()
        .collect();
    let ms = k * 20;
    format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:00:{:02}.{:03}Z","participantRawID":"{who}","data":"{}","silent":false{extra}}}}}"#,
        ms / 1000,
        ms % 1000,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn auth_cfg(leeway: u64) -> ConnConfig {
    let mut cfg = AuthConfig::new(jwks(), "resource-id");
    cfg.leeway_s = leeway;
    ConnConfig {
        auth: Some(Arc::new(crate::auth::Auth::load(cfg).unwrap())),
        ..ConnConfig::default()
    }
}

fn with_token(cfg: ConnConfig, header: &str) -> Harness {
    let mut h = Harness::new(cfg);
    h.raw(upgrade(header).as_bytes());
    h
}

#[test]
fn a_call_streams_both_ways() {
    let (mut h, mut rings, mut ring) = Harness::live();
    for k in 0..3 {
        h.send_text(&audio("8:acs:a", k, 100 + k as i16, ""));
    }
    assert_eq!(rings.slots[0].joins.pop().unwrap().as_str(), "8:acs:a");
    assert_eq!(rings.slots[0].samples.slots(), 960);
    let _ = ring.samples.push_partial_slice(&[0.25; 640]);
    h.advance(PUMP_EVERY);
    let audio: Vec<_> = h
        .received()
        .into_iter()
        .filter(|m| matches!(m, WsMessage::Text(_)))
        .collect();
    assert_eq!(audio.len(), 2, "two 20 ms messages back");
    assert_eq!(h.server.counts().messages_out, 2);
    assert!(h.ended().is_none());
}

#[test]
fn sec_1_no_token_or_a_bad_token_gets_401_before_any_graph() {
    let now = crate::testkit::unix_now();
    let good = Claims {
        aud: "resource-id".into(),
        iss: PLATFORM_ISSUER.into(),
        exp: now + 300,
        nbf: Some(now - 10),
    };
    let cases = [
        ("".to_string(), "no `Authorization"),
        ("Authorization: Bearer not.a.jwt\r\n".into(), "unreadable"),
        (
            bearer(&Claims {
                exp: now - 3600,
                ..good.clone()
            }),
            "ExpiredSignature",
        ),
        (
            bearer(&Claims {
                nbf: Some(now + 3600),
                ..good.clone()
            }),
            "ImmatureSignature",
        ),
        (
            bearer(&Claims {
                aud: "someone-else".into(),
                ..good.clone()
            }),
            "InvalidAudience",
        ),
        (
            bearer(&Claims {
                iss: "https://evil.example".into(),
                ..good.clone()
            }),
            "InvalidIssuer",
        ),
        (
            format!("Authorization: Bearer {}\r\n", token(&good, "other-key")),
            "unknown key",
        ),
    ];
    for (header, needle) in cases {
        let h = with_token(auth_cfg(30), &header);
        let text = h.http_text();
        assert!(
            text.starts_with("HTTP/1.1 401 Unauthorized"),
            "{needle}: {text}"
        );
        assert!(text.contains("WWW-Authenticate: Bearer"), "{text}");
        assert!(text.contains(needle), "{needle} not in {text}");
        assert!(h.events.iter().any(|e| matches!(e, Event::Unauthorized(_))));
        assert!(!h.events.iter().any(|e| matches!(e, Event::Metadata(_))));
        assert!(h.server.is_done());
    }
    // Within the leeway an expired token still passes; a good one does.
    let just_expired = bearer(&Claims {
        exp: now - 5,
        ..good.clone()
    });
    for header in [bearer(&good), just_expired] {
        let cid = "x-ms-call-connection-id: 421f0b00-aaaa\r\n";
        let mut h = with_token(auth_cfg(30), &format!("{header}{cid}"));
        assert!(
            h.http_text().starts_with("HTTP/1.1 101"),
            "{}",
            h.http_text()
        );
        assert_eq!(h.server.connection_id(), Some("421f0b00-aaaa"));
        h.send_text(METADATA);
        assert!(h.events.iter().any(|e| matches!(e, Event::Metadata(_))));
    }
}

fn bearer(c: &Claims) -> String {
    format!("Authorization: Bearer {}\r\n", token(c, "sluice-test-only"))
}

#[test]
fn sec_2_one_deadline_covers_the_upgrade_and_the_metadata() {
    // Trickling the upgrade one byte a second: cut at the deadline.
    let mut h = Harness::new(ConnConfig::default());
    let req = upgrade("");
    let mut seconds = 0;
    for b in req.as_bytes().iter().take(20) {
        h.raw(std::slice::from_ref(b));
        h.advance(Duration::from_secs(1));
        seconds += 1;
        if h.ended().is_some() {
            break;
        }
    }
    let o = h.ended().expect("cut at the deadline");
    assert_eq!((o.kind, o.code), (EndKind::Timeout, Some(408)));
    assert_eq!(seconds, 5);
    // A quick upgrade, then the metadata trickled: cut at the same deadline,
    // counted from the accept.
    let mut h = Harness::open();
    let mut frame = Vec::new();
    {
        let mut c =
            WebSocket::from_raw_socket(Pipe::with_output_cap(usize::MAX), Role::Client, None);
        c.send(WsMessage::text(METADATA)).unwrap();
        frame.extend_from_slice(c.get_ref().output());
    }
    let mut seconds = 0;
    for b in &frame {
        h.raw(std::slice::from_ref(b));
        h.advance(Duration::from_secs(1));
        seconds += 1;
        if h.ended().is_some() {
            break;
        }
    }
    assert_eq!(seconds, 5, "closed at 5 s from the accept");
    assert_eq!(h.close_frame().map(|c| c.0), Some(1008));
    assert_eq!(h.ended().unwrap().kind, EndKind::Timeout);
    // The deadline does not apply once the call is live.
    let (mut h, _rings, _ring) = Harness::live();
    h.advance(Duration::from_secs(6));
    h.send(WsMessage::Pong(Bytes::new()));
    assert!(h.ended().is_none());
}

#[test]
fn sec_4_one_bad_message_never_ends_a_live_call() {
    let (mut h, mut rings, _ring) = Harness::live();
    let bad = [
        audio("p", 0, 1, "").replace("2024-05-21T10:00:00.000Z", "noon"),
        r#"{"kind":"DtmfData","dtmfData":{"data":"pound"}}"#.to_string(),
        audio("p", 1, 1, "").replace("\"data\":\"", "\"data\":\"AAAA"),
        r#"{"kind":"AudioData","audioData":{"data":"%%%%"}}"#.to_string(),
        "{not json".to_string(),
        r#"{"kind":"DtmfMetadata","dtmfMetadata":{}}"#.to_string(),
        r#"{"kind":"MarkData","markData":{"name":"m"}}"#.to_string(),
    ];
    for m in &bad {
        h.send_text(m);
    }
    h.send(WsMessage::binary(Vec::from(&b"\x00\x01"[..])));
    h.send_text(&audio("p", 2, 7, ""));
    assert!(h.ended().is_none(), "{:?}", h.ended());
    let c = h.server.counts();
    assert_eq!(c.bad_timestamps, 1);
    assert_eq!(c.unknown_kinds, 2);
    assert_eq!(c.bad_messages, 5, "{c:?}");
    // The bad timestamp's chunk was played in arrival order; then chunk 2.
    assert_eq!(rings.slots[0].joins.pop().unwrap().as_str(), "p");
    assert_eq!(rings.slots[0].samples.slots(), 640);
    // Unknown kinds before the metadata are ignored too.
    let mut h = Harness::open();
    h.send_text(r#"{"kind":"MarkData","markData":{}}"#);
    h.send_text(METADATA);
    assert!(h.events.iter().any(|e| matches!(e, Event::Metadata(_))));
}

#[test]
fn sec_5_echoed_client_text_is_capped() {
    let huge = "9".repeat(900 * 1024);
    let meta = METADATA.replace("16000", &format!("\"{huge}\""));
    let mut h = Harness::open();
    h.send_text(&meta);
    let (code, reason) = h.close_frame().expect("closed");
    assert_eq!(code, 1007);
    assert!(reason.len() <= 123, "{}", reason.len());
    let o = h.ended().unwrap();
    assert!(o.reason.len() <= 200, "outcome of {} bytes", o.reason.len());
    assert!(o.to_string().len() < 260);
}

#[test]
fn sec_7_a_flood_cannot_starve_its_own_audio_and_pings() {
    let (mut h, _rings, mut ring) = Harness::live();
    // 20,000 messages arrive at once.
    let mut client =
        WebSocket::from_raw_socket(Pipe::with_output_cap(usize::MAX), Role::Client, None);
    let mut bytes = Vec::new();
    for k in 0..20_000 {
        client.send(WsMessage::text(audio("p", k, 1, ""))).unwrap();
        bytes.extend_from_slice(client.get_ref().output());
        let n = client.get_ref().output().len();
        client.get_mut().consume_output(n);
    }
    let _ = ring.samples.push_partial_slice(&[0.5; 320]);
    let before = h.server.counts().messages_in;
    let mut fed = h.server.input_room();
    h.server.receive(&bytes[..fed]);
    h.step();
    let first = h.server.counts();
    assert!(
        first.messages_in - before <= MESSAGES_PER_DRIVE as u64,
        "{first:?}"
    );
    assert!(h.server.more_work());
    assert_eq!(
        first.messages_out, 1,
        "outbound audio went out in the same step"
    );
    // Over ten simulated seconds (the flood's bytes arriving as fast as
    // they are taken) the flood is cut to the rate limit, and the pings
    // keep their schedule.
    let mut pings = 0;
    for _ in 0..1000 {
        let n = h.server.input_room().min(bytes.len() - fed);
        h.server.receive(&bytes[fed..fed + n]);
        fed += n;
        h.advance(Duration::from_millis(10));
        pings += h
            .received()
            .iter()
            .filter(|m| matches!(m, WsMessage::Ping(_)))
            .count();
    }
    let c = h.server.counts();
    assert!(c.rate_dropped > 0, "{c:?}");
    let passed = c.messages_in - c.rate_dropped;
    let limit = DEFAULT_MAX_MESSAGE_RATE * 11.0;
    assert!((passed as f64) <= limit, "{passed} passed, limit {limit}");
    assert!(pings >= 2, "{pings} pings in 10 s");
    assert!(h.ended().is_none());
}

#[test]
fn sec_9_protocol_violations_get_a_close_frame() {
    // Unmasked frame from a client: 1002.
    let mut h = Harness::open();
    h.raw(&[0x81, 0x02, b'h', b'i']);
    assert_eq!(h.close_frame().map(|c| c.0), Some(1002));
    // Reserved bits set: 1002.
    let mut h = Harness::open();
    h.raw(&[0xF1, 0x80, 0, 0, 0, 0]);
    assert_eq!(h.close_frame().map(|c| c.0), Some(1002));
    // A text frame that is not UTF-8: 1007.
    let mut h = Harness::open();
    h.raw(&[0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28]);
    assert_eq!(h.close_frame().map(|c| c.0), Some(1007));
    // Also during a live call.
    let (mut h, _r, _o) = Harness::live();
    h.raw(&[0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28]);
    assert_eq!(h.close_frame().map(|c| c.0), Some(1007));
    assert_eq!(h.ended().unwrap().kind, EndKind::ProtocolError);
}

#[test]
fn a_message_too_large_closes_with_1009() {
    let mut h = Harness::open();
    let mut head = vec![0x81u8, 0xFF];
    head.extend_from_slice(&((2u64 << 20).to_be_bytes()));
    head.extend_from_slice(&[0, 0, 0, 0]);
    h.raw(&head);
    assert_eq!(h.close_frame().map(|c| c.0), Some(1009));
}

#[test]
fn not_an_upgrade_or_a_huge_request_gets_an_http_error() {
    let mut h = Harness::new(ConnConfig::default());
    h.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        h.http_text().starts_with("HTTP/1.1 400"),
        "{}",
        h.http_text()
    );
    let mut h = Harness::new(ConnConfig::default());
    let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_REQUEST_BYTES));
    h.raw(big.as_bytes());
    assert!(
        h.http_text().starts_with("HTTP/1.1 431"),
        "{}",
        h.http_text()
    );
}

#[test]
fn a_client_that_stops_answering_pings_is_dropped() {
    let (mut h, _r, _o) = Harness::live();
    for _ in 0..25 {
        h.advance(Duration::from_secs(1));
    }
    let o = h.ended().expect("dropped");
    assert_eq!((o.kind, o.code), (EndKind::SlowClient, Some(1008)));
}

#[test]
fn the_graph_ending_closes_normally_and_the_call_side_is_told() {
    let (mut h, rings, _o) = Harness::live();
    h.server.graph_ended(h.now);
    h.step();
    assert_eq!(h.close_frame().map(|c| c.0), Some(1000));
    assert!(rings.closed.load(Ordering::Acquire));
    // The client answers the close: done.
    let mut c = h.client.take().unwrap();
    let _ = c.flush();
    let bytes = c.get_ref().output().to_vec();
    h.raw(&bytes);
    h.advance(CLOSE_GRACE);
    assert!(h.server.is_done());
}

#[test]
fn a_call_built_after_its_connection_ended_leaves_it_done() {
    // The setup deadline passes while the server is still building the
    // call's graph (the fuzz target's replay found this): the late start
    // must neither reopen nor lose the ended connection, and the call is
    // told to end.
    let mut h = Harness::open();
    h.send_text(METADATA);
    h.advance(Duration::from_secs(6));
    assert_eq!(h.ended().map(|o| o.kind), Some(EndKind::Timeout));
    let (side, rings, _ring) = call_side();
    h.server.start_call(side, h.now);
    h.advance(CLOSE_GRACE + Duration::from_millis(10));
    assert!(h.server.is_done(), "{:?}", h.server);
    assert!(rings.closed.load(Ordering::Acquire));
}
