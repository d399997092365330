//! A connection driven by a byte string of operations, with simulated
//! time: the fuzz target `acs_connection` and its replay test run any
//! input through it as a reproducible session (an upgrade, frames a real
//! client would send or raw bytes, time passing, the call starting and
//! ending) and check what must always hold:
//!
//! - nothing panics, and no step produces more than [`MAX_STEP_OUTPUT`];
//! - a connection ends at most once, and asks for a call at most once;
//! - without a live call it ends by the setup deadline;
//! - once told the graph ended, it is done within the close grace.

use super::pipe::Pipe;
use super::{CallSide, ConnConfig, Connection, Event, CLOSE_GRACE};
use sluice_nodes::acs::inbound::{inbound, InboundConfig};
use sluice_nodes::acs::outbound::outbound;
use sluice_nodes::acs::stats::CallStats;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::Role;
use tungstenite::{Bytes, Message, WebSocket};

/// Most bytes one step may ask to send.
pub const MAX_STEP_OUTPUT: usize = 1 << 20;

/// A valid upgrade request.
pub const UPGRADE: &str =
    "GET / HTTP/1.1\r\nHost: s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A valid `AudioMetadata` at 16 kHz.
pub const METADATA: &str = r#"{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"fuzz","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}"#;

/// What a session did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Whether the call went live.
    pub live: bool,
    /// Whether the connection ended.
    pub ended: bool,
    /// Bytes the server sent.
    pub sent: usize,
}

struct Session {
    conn: Connection,
    client: WebSocket<Pipe>,
    now: Instant,
    accepted: Instant,
    report: Report,
    asked: bool,
    told_end: Option<Instant>,
}

/// Runs `data` as a session; panics if an invariant breaks.
pub fn run(data: &[u8]) -> Report {
    let now = Instant::now();
    let mut s = Session {
        conn: Connection::new(Arc::new(ConnConfig::default()), now),
        client: WebSocket::from_raw_socket(Pipe::with_output_cap(usize::MAX), Role::Client, None),
        now,
        accepted: now,
        report: Report::default(),
        asked: false,
        told_end: None,
    };
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = s.op(op, tail);
        s.step();
    }
    for _ in 0..40 {
        s.now += Duration::from_secs(1);
        s.step();
        if s.report.live && s.told_end.is_none() {
            s.conn.graph_ended(s.now);
            s.told_end = Some(s.now);
        }
    }
    assert!(
        s.conn.is_done(),
        "not done 40 s after the input: {:?}",
        s.conn
    );
    s.report
}

impl Session {
    /// Applies one operation; returns the input left.
    fn op<'a>(&mut self, op: u8, rest: &'a [u8]) -> &'a [u8] {
        match op % 12 {
            0 => self.feed(UPGRADE.as_bytes()),
            1 => return self.with_len(rest, |s, b| s.feed(b)),
            2 => return self.with_len(rest, |s, b| s.frame(Data::Text, b)),
            3 => return self.with_len(rest, |s, b| s.frame(Data::Binary, b)),
            4 => self.message(Message::text(METADATA)),
            5 => self.message(Message::text(audio(rest.first().copied().unwrap_or(0)))),
            6 => {
                let ms = u64::from(rest.first().copied().unwrap_or(1)) * 20;
                self.now += Duration::from_millis(ms);
                return rest.get(1..).unwrap_or_default();
            }
            7 => self.start_call(),
            8 => self.end_graph(),
            9 => self.conn.receive_eof(),
            10 => self.message(Message::Pong(Bytes::from_static(b"p"))),
            _ => self.message(Message::Close(None)),
        }
        rest
    }

    /// Takes a length byte and that many bytes for `f`.
    fn with_len<'a>(&mut self, rest: &'a [u8], f: impl FnOnce(&mut Self, &[u8])) -> &'a [u8] {
        let Some((&n, tail)) = rest.split_first() else {
            return rest;
        };
        let n = (n as usize * 8).min(tail.len());
        f(self, &tail[..n]);
        &tail[n..]
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = self.conn.input_room().min(bytes.len());
            if n == 0 {
                return;
            }
            self.conn.receive(&bytes[..n]);
            bytes = &bytes[n..];
            self.step();
        }
    }

    fn frame(&mut self, data: Data, payload: &[u8]) {
        let f = Frame::message(Bytes::copy_from_slice(payload), OpCode::Data(data), true);
        self.message(Message::Frame(f));
    }

    fn message(&mut self, m: Message) {
        if self.client.write(m).is_ok() && self.client.flush().is_ok() {
            let out = self.client.get_ref().output().to_vec();
            self.client.get_mut().consume_output(out.len());
            self.feed(&out);
        }
    }

    /// Starts the call the way the server does: only once the connection
    /// has asked for it (its metadata arrived), and only once.
    fn start_call(&mut self) {
        if !self.asked || self.report.live {
            return;
        }
        let stats = Arc::new(CallStats::default());
        let cfg = InboundConfig {
            capacity: 4,
            call_rate: 16_000,
            chunk_samples: 320,
            graph_rate: 16_000,
            ring_samples: 4_000,
        };
        let (Ok((asm, _rings)), Ok((_ring, out))) = (
            inbound(cfg, stats.clone()),
            outbound(16_000, 16_000, 200, stats.clone()),
        ) else {
            return;
        };
        let side = CallSide {
            inbound: Some(asm),
            outbound: Some(out),
            stats,
        };
        self.report.live = true;
        self.conn.start_call(side, self.now);
    }

    /// Tells the connection its call's graph ended, as the server does:
    /// only for a call that started.
    fn end_graph(&mut self) {
        if self.report.live {
            self.conn.graph_ended(self.now);
            self.told_end.get_or_insert(self.now);
        }
    }

    /// Drives the connection and checks the invariants.
    fn step(&mut self) {
        self.conn.drive(self.now);
        while let Some(e) = self.conn.poll_event() {
            match e {
                Event::Metadata(_) => {
                    assert!(
                        !self.asked && !self.report.ended,
                        "metadata asked twice or late"
                    );
                    self.asked = true;
                }
                Event::Ended(_) => {
                    assert!(!self.report.ended, "ended twice");
                    self.report.ended = true;
                }
                Event::Upgraded { .. } | Event::Unauthorized(_) => {}
            }
        }
        let out = self.conn.output().len();
        assert!(out <= MAX_STEP_OUTPUT, "{out} bytes to send");
        self.report.sent += out;
        let bytes = self.conn.output().to_vec();
        self.conn.consume_output(out);
        self.client.get_mut().push_input(&bytes);
        while self.client.read().is_ok() {}
        let deadline = self.accepted + super::DEFAULT_SETUP_DEADLINE;
        if !self.report.live && self.now > deadline {
            assert!(self.report.ended, "still open past the setup deadline");
        }
        if let Some(t) = self.told_end {
            if self.now > t + CLOSE_GRACE + Duration::from_millis(1) && self.report.ended {
                assert!(self.conn.is_done(), "not done after the close grace");
            }
        }
    }
}

fn audio(who: u8) -> String {
    format!(
        r#"{{"kind":"AudioData","audioData":{{"participantRawID":"p{who}","data":"AAABAAIAAwA=","silent":false}}}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripted_call_goes_live_and_ends() {
        let r = run(&[0, 4, 7, 5, 1, 6, 5, 5, 6, 2, 8]);
        assert!(r.ended);
        assert!(r.sent > 0);
    }

    #[test]
    fn garbage_ends_by_the_deadline() {
        let r = run(b"\x01\x10GET / HTTP/1.1\r\n\x06\xff\x06\xff");
        assert!(r.ended);
    }
}
