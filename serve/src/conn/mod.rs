//! The protocol core of one connection, without I/O (sans-IO, in the
//! manner of str0m and quinn-proto): bytes from the socket and the
//! current time go in ([`Connection::receive`], [`Connection::drive`]);
//! bytes to send ([`Connection::output`]), events for the owner
//! ([`Connection::poll_event`]) and when to wake it next
//! ([`Connection::poll_timeout`]) come out. The socket code that drives it
//! stays thin, and tests and the fuzzer drive it directly.
//!
//! A connection's life:
//!
//! 1. **Handshake**: the HTTP upgrade request is read (at most
//!    [`MAX_REQUEST_BYTES`]), the bearer token checked when authentication
//!    is on (HTTP 401 otherwise), and `101 Switching Protocols` written.
//! 2. **Waiting for `AudioMetadata`**: unknown kinds are ignored; anything
//!    else first closes with 1008. Handshake and metadata together must
//!    arrive within [`Limits::setup_deadline`] of the accept.
//! 3. **Building**: [`Event::Metadata`] asks the owner to build the call's
//!    graph; meanwhile no message is read (they wait in the socket).
//! 4. **Live**: messages go to the call's [`CallSide`]; bad ones are
//!    counted and skipped, never fatal; the inbound rate is capped at
//!    [`Limits::max_message_rate`] (the excess is counted and dropped);
//!    each [`Connection::drive`] reads at most [`MESSAGES_PER_DRIVE`]
//!    messages so outbound audio and pings are never starved.
//! 5. **Closing**: a close frame with a code and a reason is sent (1002
//!    for a framing violation, 1007 for bad UTF-8, 1009 for a message too
//!    large, 1008 for a policy matter), then the connection is done once
//!    the peer answers or [`CLOSE_GRACE`] passes.

mod handshake;
pub mod pipe;
mod policy;
pub mod script;
#[cfg(test)]
mod tests;

use crate::auth::Auth;
use pipe::Pipe;
use policy::Bucket;
use sluice_nodes::acs::call::CallSide;
use sluice_nodes::acs::ids::echo;
use sluice_nodes::acs::protocol::{decode, max_chunk_bytes, AudioMetadata, Message, ProtocolError};
use sluice_nodes::acs::protocol::{MAX_MESSAGE_BYTES, STOP_AUDIO};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Bytes, Error as WsError, Message as WsMessage, WebSocket};

pub use policy::{Counts, EndKind, Outcome};

/// Largest HTTP upgrade request accepted, in bytes (larger: HTTP 431).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Messages read per [`Connection::drive`] at most: a flooding client
/// cannot keep its own outbound audio and pings from being served.
pub const MESSAGES_PER_DRIVE: usize = 64;

/// How long a close frame waits for the peer's answer.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How often a live call's outgoing audio is moved to the socket: the
/// platform's chunk period.
pub const PUMP_EVERY: Duration = Duration::from_millis(20);

/// Bytes of encoded messages tungstenite may hold when the socket is not
/// draining (about 4 s of 24 kHz audio); beyond it messages wait in
/// `acs_out`'s bounded queue, and past that the client is dropped.
pub const MAX_WRITE_BUFFER: usize = 256 * 1024;

/// Default of [`Limits::setup_deadline`].
pub const DEFAULT_SETUP_DEADLINE: Duration = Duration::from_secs(5);
/// Default of [`Limits::ping_every`].
pub const DEFAULT_PING_EVERY: Duration = Duration::from_secs(5);
/// Default of [`Limits::pong_timeout`].
pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(15);
/// Audio streams the platform sends at once (unmixed: the four dominant
/// speakers).
pub const PLATFORM_STREAMS: f64 = 4.0;
/// Messages per second of one stream in real time (one per 20 ms).
pub const STREAM_MESSAGE_RATE: f64 = 50.0;
/// How far above real time a client may send before the excess is dropped.
pub const RATE_HEADROOM: f64 = 4.0;
/// Default of [`Limits::max_message_rate`]: a few times real time.
pub const DEFAULT_MAX_MESSAGE_RATE: f64 = RATE_HEADROOM * PLATFORM_STREAMS * STREAM_MESSAGE_RATE;

/// Timings and limits of one connection.
#[derive(Debug, Clone)]
pub struct Limits {
    /// From the accept, the time allowed for the HTTP upgrade and the
    /// `AudioMetadata` together.
    pub setup_deadline: Duration,
    /// Interval of the server's pings.
    pub ping_every: Duration,
    /// A client that has not answered a ping for this long is not reading
    /// and is dropped.
    pub pong_timeout: Duration,
    /// Incoming messages per second a live call may send; the excess is
    /// counted and dropped (bursts of one second's worth pass).
    pub max_message_rate: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            setup_deadline: DEFAULT_SETUP_DEADLINE,
            ping_every: DEFAULT_PING_EVERY,
            pong_timeout: DEFAULT_PONG_TIMEOUT,
            max_message_rate: DEFAULT_MAX_MESSAGE_RATE,
        }
    }
}

/// What a connection needs to know, shared by all connections.
#[derive(Debug, Clone, Default)]
pub struct ConnConfig {
    /// Timings and limits.
    pub limits: Limits,
    /// Token check on the upgrade; `None` accepts every client.
    pub auth: Option<Arc<Auth>>,
}

/// What the owner must act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The WebSocket upgrade was accepted (the token, if required, was
    /// good); `connection_id` is the platform's `x-ms-call-connection-id`.
    Upgraded {
        /// The call connection id header, cut for logging.
        connection_id: Option<String>,
    },
    /// The upgrade was refused for a bad or missing token (HTTP 401).
    Unauthorized(String),
    /// The call's format: build its graph, then [`Connection::start_call`]
    /// or [`Connection::refuse`].
    Metadata(AudioMetadata),
    /// The connection is over (its last bytes may still be in
    /// [`Connection::output`]).
    Ended(Outcome),
}

type Ws = WebSocket<Pipe>;

enum State {
    /// Reading the HTTP upgrade request.
    Handshake(Pipe),
    /// The WebSocket is open.
    Open(Box<Ws>, Phase),
    /// Our close frame is sent; waiting for the peer's answer.
    Closing(Box<Ws>, Instant),
    /// Nothing more to read; what is left in the pipe goes out.
    Done(Pipe),
    /// Transient, while moving between states.
    Gone,
}

enum Phase {
    AwaitMeta,
    Building(AudioMetadata),
    Live(Box<Live>),
}

struct Live {
    meta: AudioMetadata,
    side: CallSide,
    bucket: Bucket,
    next_pump: Instant,
}

/// One connection's protocol state. See the module docs.
pub struct Connection {
    cfg: Arc<ConnConfig>,
    state: State,
    deadline: Instant,
    events: VecDeque<Event>,
    counts: Counts,
    connection_id: Option<String>,
    subscription: Option<String>,
    more: bool,
    next_ping: Instant,
    awaiting_pong: Option<Instant>,
    ended: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("connection_id", &self.connection_id)
            .field("counts", &self.counts)
            .finish()
    }
}

impl Connection {
    /// A connection accepted at `now`.
    pub fn new(cfg: Arc<ConnConfig>, now: Instant) -> Connection {
        let deadline = now + cfg.limits.setup_deadline;
        let next_ping = now + cfg.limits.ping_every;
        Connection {
            cfg,
            state: State::Handshake(Pipe::new()),
            deadline,
            events: VecDeque::new(),
            counts: Counts::default(),
            connection_id: None,
            subscription: None,
            more: false,
            next_ping,
            awaiting_pong: None,
            ended: false,
        }
    }

    /// Takes bytes read from the socket (at most [`Connection::input_room`]).
    pub fn receive(&mut self, bytes: &[u8]) {
        if let Some(p) = self.pipe_mut() {
            p.push_input(bytes);
        }
    }

    /// The peer closed its sending side.
    pub fn receive_eof(&mut self) {
        if let Some(p) = self.pipe_mut() {
            p.set_eof();
        }
    }

    /// Bytes the socket may read now (0: wait until [`Connection::drive`]
    /// has consumed some; TCP flow control holds the sender meanwhile).
    pub fn input_room(&self) -> usize {
        match &self.state {
            State::Handshake(p) => (MAX_REQUEST_BYTES + 1).saturating_sub(p.pending_input().len()),
            State::Open(_, Phase::Building(_)) => 0,
            State::Open(ws, _) | State::Closing(ws, _) => ws.get_ref().input_room(),
            State::Done(_) | State::Gone => 0,
        }
    }

    /// Bytes to write to the socket.
    pub fn output(&self) -> &[u8] {
        match &self.state {
            State::Handshake(p) | State::Done(p) => p.output(),
            State::Open(ws, _) | State::Closing(ws, _) => ws.get_ref().output(),
            State::Gone => &[],
        }
    }

    /// Marks `n` bytes of [`Connection::output`] written.
    pub fn consume_output(&mut self, n: usize) {
        if let Some(p) = self.pipe_mut() {
            p.consume_output(n);
        }
    }

    /// The next event for the owner.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the connection is over and its output written: drop the socket.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_)) && self.output().is_empty()
    }

    /// Whether [`Connection::drive`] stopped at its budget with work left:
    /// call it again soon (after writing the output).
    pub fn more_work(&self) -> bool {
        self.more
    }

    /// The platform's call connection id, once the upgrade was read.
    pub fn connection_id(&self) -> Option<&str> {
        self.connection_id.as_deref()
    }

    /// The call's subscription id, once its metadata arrived.
    pub fn subscription(&self) -> Option<&str> {
        self.subscription.as_deref()
    }

    /// Counters so far (messages in and out, skipped, dropped).
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// When [`Connection::drive`] must run next even if no bytes arrive.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Handshake(_) => Some(self.deadline),
            State::Open(_, Phase::Live(live)) => Some(
                live.next_pump
                    .min(self.next_ping)
                    .min(self.pong_deadline().unwrap_or(live.next_pump)),
            ),
            State::Open(_, _) => Some(self.deadline),
            State::Closing(_, since) => Some(*since + CLOSE_GRACE),
            State::Done(_) | State::Gone => None,
        }
    }

    /// Processes what arrived and what is due at `now`, up to the budget.
    pub fn drive(&mut self, now: Instant) {
        self.more = false;
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Handshake(pipe) => {
                self.state = self.handshake(pipe, now);
                self.drive_open(now);
            }
            State::Open(ws, phase) => {
                self.state = State::Open(ws, phase);
                self.drive_open(now);
            }
            State::Closing(ws, since) => self.state = self.drain_close(ws, since, now),
            s @ (State::Done(_) | State::Gone) => self.state = s,
        }
    }

    /// The owner built the call's graph: audio flows from now on.
    pub fn start_call(&mut self, side: CallSide, now: Instant) {
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Open(ws, Phase::Building(meta)) => {
                let rate = self.cfg.limits.max_message_rate;
                let live = Live {
                    meta,
                    side,
                    bucket: Bucket::new(rate, now),
                    next_pump: now,
                };
                self.state = State::Open(ws, Phase::Live(Box::new(live)));
                self.more = true;
            }
            // Ended (a deadline, the client closing) while the graph was
            // being built: stays as it was, and the call is told to end.
            other => {
                self.state = other;
                side_closed(&side);
            }
        }
    }

    /// The owner will not run the call (at capacity, draining, or its
    /// graph failed to build): closes with `code` and `reason`.
    pub fn refuse(&mut self, code: CloseCode, reason: &str, kind: EndKind, now: Instant) {
        self.close(code, reason, kind, now);
    }

    /// The call's graph has ended: closes normally.
    pub fn graph_ended(&mut self, now: Instant) {
        self.close(
            CloseCode::Normal,
            "the graph has ended",
            EndKind::Completed,
            now,
        );
    }

    /// The server is going away (drain timeout): closes with 1001.
    pub fn shut_down(&mut self, now: Instant) {
        self.close(
            CloseCode::Away,
            "the server is shutting down",
            EndKind::Shutdown,
            now,
        );
    }

    fn pipe_mut(&mut self) -> Option<&mut Pipe> {
        match &mut self.state {
            State::Handshake(p) | State::Done(p) => Some(p),
            State::Open(ws, _) | State::Closing(ws, _) => Some(ws.get_mut()),
            State::Gone => None,
        }
    }

    fn pong_deadline(&self) -> Option<Instant> {
        self.awaiting_pong.map(|t| t + self.cfg.limits.pong_timeout)
    }

    fn end(&mut self, outcome: Outcome) {
        if !self.ended {
            self.ended = true;
            self.events.push_back(Event::Ended(outcome));
        }
    }

    fn drive_open(&mut self, now: Instant) {
        let State::Open(_, phase) = &self.state else {
            return;
        };
        match phase {
            Phase::AwaitMeta | Phase::Building(_) if now >= self.deadline => {
                let reason = format!(
                    "no AudioMetadata within {:.1} s",
                    self.cfg.limits.setup_deadline.as_secs_f64()
                );
                self.close(CloseCode::Policy, &reason, EndKind::Timeout, now);
            }
            Phase::AwaitMeta => self.await_meta(now),
            Phase::Building(_) => {}
            Phase::Live(_) => self.live(now),
        }
    }

    /// Reads frames until `AudioMetadata` (or the budget) is reached.
    fn await_meta(&mut self, now: Instant) {
        for _ in 0..MESSAGES_PER_DRIVE {
            let State::Open(ws, _) = &mut self.state else {
                return;
            };
            let text = match ws.read() {
                Ok(WsMessage::Text(t)) => Bytes::from(t),
                Ok(WsMessage::Binary(b)) => b,
                Ok(WsMessage::Close(_)) => return self.peer_closed(),
                Ok(_) => continue,
                Err(e) => return self.read_failed(e, now),
            };
            self.counts.messages_in += 1;
            match decode(&text, max_chunk_bytes(24_000)) {
                Ok(Message::AudioMetadata(m)) => {
                    self.subscription = Some(echo(&m.subscription_id));
                    self.events.push_back(Event::Metadata(m.clone()));
                    if let State::Open(_, phase) = &mut self.state {
                        *phase = Phase::Building(m);
                    }
                    return;
                }
                Ok(other) => {
                    let reason = format!(
                        "the first message must be AudioMetadata, not {}",
                        kind_of(&other)
                    );
                    return self.close(CloseCode::Policy, &reason, EndKind::ProtocolError, now);
                }
                Err(ProtocolError::UnknownKind(_)) => self.counts.unknown_kinds += 1,
                Err(e) => {
                    let kind = EndKind::ProtocolError;
                    return self.close(error_code(&e), &e.to_string(), kind, now);
                }
            }
        }
        self.more = true;
    }

    /// A live call: messages in (bounded), audio out, pings.
    fn live(&mut self, now: Instant) {
        for _ in 0..MESSAGES_PER_DRIVE {
            let State::Open(ws, Phase::Live(live)) = &mut self.state else {
                return;
            };
            let text = match ws.read() {
                Ok(WsMessage::Text(t)) => Bytes::from(t),
                Ok(WsMessage::Binary(b)) => b,
                Ok(WsMessage::Pong(_)) => {
                    self.awaiting_pong = None;
                    continue;
                }
                Ok(WsMessage::Close(_)) => return self.peer_closed(),
                Ok(_) => continue,
                Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return self.after_reading(now);
                }
                Err(e) => return self.read_failed(e, now),
            };
            self.counts.messages_in += 1;
            if !live.bucket.take(now) {
                self.counts.rate_dropped += 1;
                continue;
            }
            on_message(live, &text, &mut self.counts);
        }
        self.more = true;
        self.after_reading(now);
    }

    /// Moves outgoing audio to the socket and keeps the ping schedule.
    fn after_reading(&mut self, now: Instant) {
        let State::Open(ws, Phase::Live(live)) = &mut self.state else {
            return;
        };
        if now >= live.next_pump {
            live.next_pump = now + PUMP_EVERY;
        }
        if let Err(reason) = pump(ws, live, &mut self.counts) {
            return self.close(CloseCode::Policy, &reason, EndKind::SlowClient, now);
        }
        if now >= self.next_ping {
            self.next_ping = now + self.cfg.limits.ping_every;
            self.awaiting_pong.get_or_insert(now);
            let _ = ws.write(WsMessage::Ping(Bytes::from_static(b"sluice")));
        }
        let _ = ws.flush();
        if self.pong_deadline().is_some_and(|d| now >= d) {
            let reason = format!(
                "client stopped reading (no pong for {:.1} s); call dropped",
                self.cfg.limits.pong_timeout.as_secs_f64()
            );
            self.close(CloseCode::Policy, &reason, EndKind::SlowClient, now);
        }
    }

    fn peer_closed(&mut self) {
        let outcome = Outcome::new(EndKind::ClientClosed, None, "client closed the call");
        self.finish(outcome);
    }

    fn read_failed(&mut self, e: WsError, now: Instant) {
        match e {
            WsError::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {}
            WsError::ConnectionClosed | WsError::AlreadyClosed => {
                self.finish(Outcome::new(EndKind::Lost, None, "connection closed"));
            }
            WsError::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
                let o = Outcome::new(
                    EndKind::Lost,
                    None,
                    "connection closed without a close frame",
                );
                self.finish(o);
            }
            WsError::Capacity(c) => {
                let reason = format!("message too large: {c}");
                self.close(CloseCode::Size, &reason, EndKind::ProtocolError, now);
            }
            WsError::Utf8(_) => {
                let reason = "text message is not valid UTF-8";
                self.close(CloseCode::Invalid, reason, EndKind::ProtocolError, now);
            }
            other => {
                let reason = echo(&format!("WebSocket protocol violation: {other}"));
                self.close(CloseCode::Protocol, &reason, EndKind::ProtocolError, now);
            }
        }
    }

    /// Sends a close frame and waits for the answer.
    fn close(&mut self, code: CloseCode, reason: &str, kind: EndKind, now: Instant) {
        let state = std::mem::replace(&mut self.state, State::Gone);
        let mut ws = match state {
            State::Open(ws, phase) => {
                if let Phase::Live(live) = &phase {
                    side_closed(&live.side);
                }
                ws
            }
            other => {
                self.state = other;
                return;
            }
        };
        let frame = CloseFrame {
            code,
            reason: sluice_nodes::acs::ids::cut(reason, 120).to_string().into(),
        };
        let _ = ws.close(Some(frame));
        let _ = ws.flush();
        self.end(Outcome::new(kind, Some(u16::from(code)), reason));
        self.state = State::Closing(ws, now);
    }

    /// The peer ended the connection: nothing more to read.
    fn finish(&mut self, outcome: Outcome) {
        let state = std::mem::replace(&mut self.state, State::Gone);
        let mut pipe = match state {
            State::Open(ws, phase) => {
                if let Phase::Live(live) = &phase {
                    side_closed(&live.side);
                }
                let mut ws = *ws;
                let _ = ws.flush();
                ws.into_inner()
            }
            State::Closing(ws, _) => ws.into_inner(),
            State::Handshake(p) | State::Done(p) => p,
            State::Gone => Pipe::new(),
        };
        pipe.consume_input(usize::MAX);
        self.end(outcome);
        self.state = State::Done(pipe);
    }

    /// After our close frame: reads until the peer answers (or hangs up)
    /// or the grace ends.
    fn drain_close(&mut self, mut ws: Box<Ws>, since: Instant, now: Instant) -> State {
        if now < since + CLOSE_GRACE {
            for _ in 0..MESSAGES_PER_DRIVE {
                match ws.read() {
                    Ok(_) => {}
                    Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        return State::Closing(ws, since);
                    }
                    // The close handshake completed, or the peer is gone.
                    Err(_) => return done(*ws),
                }
            }
            self.more = true;
            return State::Closing(ws, since);
        }
        done(*ws)
    }
}

/// The state after a WebSocket is over: unread input is dropped, what is
/// left to send still goes out.
fn done(ws: Ws) -> State {
    let mut pipe = ws.into_inner();
    pipe.consume_input(usize::MAX);
    State::Done(pipe)
}

/// Tells `acs_in` the call is over: it plays what is queued, then ends.
fn side_closed(side: &CallSide) {
    if let Some(inbound) = &side.inbound {
        inbound.close();
    }
}

/// Applies one message of a live call; bad ones are counted, never fatal.
fn on_message(live: &mut Live, text: &[u8], counts: &mut Counts) {
    match decode(text, live.meta.length) {
        Ok(Message::AudioData(d)) => {
            counts.bad_timestamps += u64::from(d.bad_timestamp);
            if let Some(inbound) = &mut live.side.inbound {
                inbound.audio(&d);
            }
        }
        Ok(Message::DtmfData(d)) => {
            if let Some(inbound) = &mut live.side.inbound {
                inbound.dtmf(&d);
            }
        }
        Ok(Message::StopAudio) => {
            if let Some(out) = &mut live.side.outbound {
                out.clear();
            }
        }
        Ok(Message::AudioMetadata(m)) => {
            // The call keeps the format it started with.
            counts.bad_messages += u64::from(m != live.meta);
        }
        Err(ProtocolError::UnknownKind(_)) => counts.unknown_kinds += 1,
        Err(e) => counts.skip(&e),
    }
}

/// Moves what `acs_out` produced onto the WebSocket; `Err` when the
/// client is not reading.
fn pump(ws: &mut Ws, live: &mut Live, counts: &mut Counts) -> Result<(), String> {
    let Some(out) = &mut live.side.outbound else {
        return Ok(());
    };
    if out.take_stop() {
        let _ = ws.write(WsMessage::text(STOP_AUDIO));
        counts.messages_out += 1;
    }
    if let Err(full) = out.pump() {
        return Err(format!(
            "client stopped reading ({} messages queued); call dropped",
            full.queued
        ));
    }
    while let Some(text) = out.front() {
        match ws.write(WsMessage::text(text)) {
            Ok(()) => {}
            // Buffered by tungstenite; it goes out on a later flush.
            Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(WsError::WriteBufferFull(_)) => break,
            Err(e) => return Err(format!("connection lost: {e}")),
        }
        out.sent();
        counts.messages_out += 1;
    }
    Ok(())
}

/// The WebSocket settings of every connection.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

/// A WebSocket over `pipe`, after the upgrade.
fn open(pipe: Pipe) -> Ws {
    WebSocket::from_raw_socket(pipe, Role::Server, Some(ws_config()))
}

fn kind_of(m: &Message) -> &'static str {
    match m {
        Message::AudioMetadata(_) => "AudioMetadata",
        Message::AudioData(_) => "AudioData",
        Message::DtmfData(_) => "DtmfData",
        Message::StopAudio => "StopAudio",
    }
}

/// The close code for a message refused before the call starts.
fn error_code(e: &ProtocolError) -> CloseCode {
    match e {
        ProtocolError::TooLarge { .. } => CloseCode::Size,
        ProtocolError::BadMetadata(_) => CloseCode::Unsupported,
        _ => CloseCode::Invalid,
    }
}
