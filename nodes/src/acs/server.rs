//! The WebSocket server behind `sluice serve`: one thread per connection,
//! one graph instance per call, on blocking tungstenite.
//!
//! A connection's life: WebSocket handshake; the first message must be
//! `AudioMetadata` (else it is closed with 1008 and the reason); the graph
//! is built for the call's format ([`CallFactory`], through
//! [`build_call`](super::call::build_call)) and ticked in real time on its
//! own thread; the connection thread then reads messages into the call's
//! [`Assembler`](super::inbound::Assembler) and writes the messages `acs_out`
//! produced. Bad input closes only that call, with a close code and a
//! reason a person can read:
//!
//! | input | policy |
//! |---|---|
//! | malformed JSON, bad base64, odd byte count, frame over `length` | close 1007 |
//! | message over 1 MiB | close 1009 |
//! | first message not `AudioMetadata` | close 1008 |
//! | unknown `kind` (a newer platform) | ignored and counted |
//! | client stops reading (no pong for `pong_timeout`, or `acs_out`'s queue full) | close 1008, dropped |
//! | more than `max_calls` calls | close 1013 (try again later) |
//!
//! Memory per call is bounded: messages are capped at 1 MiB, the write
//! buffer at [`MAX_WRITE_BUFFER`], the rings at their build-time sizes.

use super::call::{CallSide, CallStats};
use super::protocol::{decode, max_chunk_bytes, AudioMetadata, Message, ProtocolError};
use super::protocol::{MAX_MESSAGE_BYTES, STOP_AUDIO};
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Bytes, Error as WsError, Message as WsMessage, WebSocket};

/// Bytes of encoded messages tungstenite may hold when the socket is not
/// draining (about 4 s of 24 kHz audio); beyond it messages wait in
/// `acs_out`'s bounded queue.
pub const MAX_WRITE_BUFFER: usize = 256 * 1024;

/// One call's graph, as the server drives it.
pub trait CallGraph: Send {
    /// Something the connection thread calls to stop the run (the call
    /// ended and the graph does not end on its own).
    fn stopper(&self) -> Box<dyn Fn() + Send>;
    /// Runs the graph in real time on the calling thread until it ends
    /// (`acs_in` ends once the call is over) or is stopped; returns a
    /// one-line summary.
    fn run(self: Box<Self>) -> Result<String, String>;
}

/// A call's graph, built, with the connection's ends of its rings.
pub struct BuiltCall {
    /// The graph.
    pub graph: Box<dyn CallGraph>,
    /// The connection's ends.
    pub side: CallSide,
}

/// Builds a call's graph for its format; called on the connection thread.
pub type CallFactory = dyn Fn(&AudioMetadata) -> Result<BuiltCall, String> + Send + Sync;

/// Limits and timings of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Calls served at once; more are refused with close code 1013.
    pub max_calls: usize,
    /// How long a new connection may take to send its `AudioMetadata`.
    pub first_message_timeout: Duration,
    /// Interval of the server's pings.
    pub ping_every: Duration,
    /// A client that has not answered a ping for this long is not reading
    /// and is dropped.
    pub pong_timeout: Duration,
    /// Print one line per call start and end to stderr.
    pub verbose: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_calls: 64,
            first_message_timeout: Duration::from_secs(10),
            ping_every: Duration::from_secs(5),
            pong_timeout: Duration::from_secs(15),
            verbose: true,
        }
    }
}

/// A listening server.
pub struct Server {
    listener: TcpListener,
    factory: Arc<CallFactory>,
    config: ServerConfig,
    active: Arc<AtomicUsize>,
    shutdown: Arc<AtomicBool>,
}

impl Server {
    /// Binds `addr` (`127.0.0.1:0` picks a free port).
    pub fn bind(addr: &str, factory: Arc<CallFactory>, config: ServerConfig) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            factory,
            config,
            active: Arc::new(AtomicUsize::new(0)),
            shutdown: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Set to stop accepting; running calls finish on their own.
    pub fn shutdown_flag(&self) -> Arc<AtomicBool> {
        self.shutdown.clone()
    }

    /// Calls in progress right now.
    pub fn active_calls(&self) -> Arc<AtomicUsize> {
        self.active.clone()
    }

    /// Accepts connections until the shutdown flag is set, one thread each.
    pub fn run(self) {
        let mut next_call = 1u64;
        while !self.shutdown.load(Ordering::Acquire) {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let call = next_call;
                    next_call += 1;
                    self.spawn(stream, peer, call);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    eprintln!("serve: accept failed: {e}");
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn spawn(&self, stream: TcpStream, peer: SocketAddr, call: u64) {
        let (factory, config, active) = (
            self.factory.clone(),
            self.config.clone(),
            self.active.clone(),
        );
        let result = thread::Builder::new()
            .name(format!("call-{call}"))
            .spawn(move || {
                let over = active.fetch_add(1, Ordering::AcqRel) >= config.max_calls;
                let _count = Leave(&active);
                let outcome = connection(stream, factory.as_ref(), &config, over);
                if config.verbose {
                    eprintln!("serve: call {call} from {peer}: {outcome}");
                }
            });
        if let Err(e) = result {
            eprintln!("serve: cannot start a thread for {peer}: {e}");
        }
    }
}

/// Counts a call out of the active calls however its thread ends.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How a connection ended, for the log.
struct Outcome(String);

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Ws = WebSocket<TcpStream>;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

fn connection(
    stream: TcpStream,
    factory: &CallFactory,
    cfg: &ServerConfig,
    over_capacity: bool,
) -> Outcome {
    let setup = stream
        .set_nonblocking(false)
        .and_then(|_| stream.set_nodelay(true))
        .and_then(|_| stream.set_read_timeout(Some(cfg.first_message_timeout)))
        .and_then(|_| stream.set_write_timeout(Some(cfg.first_message_timeout)));
    if let Err(e) = setup {
        return Outcome(format!("socket setup failed: {e}"));
    }
    let mut ws = match tungstenite::accept_with_config(stream, Some(ws_config())) {
        Ok(ws) => ws,
        Err(e) => return Outcome(format!("WebSocket handshake failed: {e}")),
    };
    if over_capacity {
        let reason = format!("server is at its limit of {} calls", cfg.max_calls);
        return close(&mut ws, CloseCode::Again, &reason);
    }
    let meta = match first_message(&mut ws) {
        Ok(m) => m,
        Err((code, reason)) => return close_with(&mut ws, code, &reason, code != CloseCode::Size),
    };
    let built = match factory(&meta) {
        Ok(b) => b,
        Err(e) => {
            return close(
                &mut ws,
                CloseCode::Error,
                &format!("cannot start the graph: {e}"),
            )
        }
    };
    if let Err(e) = ws.get_mut().set_nonblocking(true) {
        return Outcome(format!("socket setup failed: {e}"));
    }
    Call::start(ws, built, meta, cfg).run()
}

/// Reads the first data message; it must be `AudioMetadata`.
fn first_message(ws: &mut Ws) -> Result<AudioMetadata, (CloseCode, String)> {
    loop {
        let text = match ws.read() {
            Ok(WsMessage::Text(t)) => Bytes::from(t),
            Ok(WsMessage::Binary(b)) => b,
            Ok(WsMessage::Close(_)) => {
                return Err((CloseCode::Normal, "closed before AudioMetadata".into()))
            }
            Ok(_) => continue,
            Err(e) => return Err(read_error(&e)),
        };
        return match decode(&text, max_chunk_bytes(24_000)) {
            Ok(Message::AudioMetadata(m)) => Ok(m),
            Ok(other) => Err((
                CloseCode::Policy,
                format!(
                    "the first message must be AudioMetadata, not {}",
                    kind_of(&other)
                ),
            )),
            Err(e) => Err((error_code(&e), e.to_string())),
        };
    }
}

fn kind_of(m: &Message) -> &'static str {
    match m {
        Message::AudioMetadata(_) => "AudioMetadata",
        Message::AudioData(_) => "AudioData",
        Message::DtmfData(_) => "DtmfData",
        Message::StopAudio => "StopAudio",
    }
}

fn error_code(e: &ProtocolError) -> CloseCode {
    match e {
        ProtocolError::TooLarge { .. } => CloseCode::Size,
        ProtocolError::BadMetadata(_) => CloseCode::Unsupported,
        _ => CloseCode::Invalid,
    }
}

fn read_error(e: &WsError) -> (CloseCode, String) {
    match e {
        WsError::Capacity(c) => (CloseCode::Size, format!("message too large: {c}")),
        WsError::Io(io) if matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => (
            CloseCode::Policy,
            "no AudioMetadata within the time allowed".into(),
        ),
        other => (CloseCode::Protocol, other.to_string()),
    }
}

/// Sends a close frame with `reason` (cut to fit a control frame) and
/// waits briefly for the client's reply.
fn close(ws: &mut Ws, code: CloseCode, reason: &str) -> Outcome {
    close_with(ws, code, reason, true)
}

/// As [`close`]; `read_reply: false` after a read error that leaves the
/// frame reader mid-frame (an oversized message), where only flushing is safe.
fn close_with(ws: &mut Ws, code: CloseCode, reason: &str, read_reply: bool) -> Outcome {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..end].into(),
    };
    let _ = ws.get_mut().set_nonblocking(true);
    let _ = ws.close(Some(frame));
    let deadline = Instant::now() + Duration::from_secs(1);
    while !read_reply && Instant::now() < deadline {
        match ws.flush() {
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            _ => break,
        }
    }
    while read_reply && Instant::now() < deadline {
        match ws.read() {
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                let _ = ws.flush();
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break,
            Ok(_) => {}
        }
    }
    Outcome(format!("closed ({}): {reason}", u16::from(code)))
}

/// A running call: the connection side and its graph thread.
struct Call<'a> {
    ws: Ws,
    side: CallSide,
    meta: AudioMetadata,
    cfg: &'a ServerConfig,
    graph: Option<thread::JoinHandle<Result<String, String>>>,
    stop: Box<dyn Fn() + Send>,
    done: Arc<AtomicBool>,
    unknown: u64,
    received: u64,
    started: Instant,
}

impl<'a> Call<'a> {
    fn start(ws: Ws, built: BuiltCall, meta: AudioMetadata, cfg: &'a ServerConfig) -> Call<'a> {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let stop = built.graph.stopper();
        let graph = built.graph;
        let handle = thread::Builder::new()
            .name("call-graph".into())
            .spawn(move || {
                let result = graph.run();
                d.store(true, Ordering::Release);
                result
            })
            .ok();
        Call {
            ws,
            side: built.side,
            meta,
            cfg,
            graph: handle,
            stop,
            done,
            unknown: 0,
            received: 0,
            started: Instant::now(),
        }
    }

    fn run(mut self) -> Outcome {
        let ended = self.serve();
        if let Some(inbound) = &self.side.inbound {
            inbound.close();
        }
        // Let `acs_in` play out what is queued and end the graph; stop it
        // if it does not end on its own (a graph without `acs_in`).
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.done.load(Ordering::Acquire) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        if !self.done.load(Ordering::Acquire) {
            (self.stop)();
        }
        let graph = match self.graph.take().map(|h| h.join()) {
            Some(Ok(Ok(summary))) => summary,
            Some(Ok(Err(e))) => format!("graph failed: {e}"),
            Some(Err(_)) => "graph thread panicked".into(),
            None => "graph thread could not start".into(),
        };
        let s = &self.side.stats;
        Outcome(format!(
            "{ended}; {:.1} s, {} messages in, {} out, {graph}; late {}, concealed {}, \
             refused {}, dropped in {} / out {} samples, underruns {}, unknown kinds {}, stops {}",
            self.started.elapsed().as_secs_f64(),
            self.received,
            CallStats::get(&s.sent_messages),
            CallStats::get(&s.late_chunks),
            CallStats::get(&s.concealed_chunks),
            CallStats::get(&s.refused_chunks),
            CallStats::get(&s.dropped_in),
            CallStats::get(&s.dropped_out),
            CallStats::get(&s.underruns),
            self.unknown,
            CallStats::get(&s.stops_sent),
        ))
    }

    /// The connection loop; returns how it ended.
    fn serve(&mut self) -> Outcome {
        let mut last_ping = Instant::now();
        let mut last_pong = Instant::now();
        let mut ping_due = false;
        loop {
            let mut busy = false;
            loop {
                match self.ws.read() {
                    Ok(WsMessage::Text(t)) => {
                        busy = true;
                        if let Err(out) = self.on_message(t.as_bytes()) {
                            return out;
                        }
                    }
                    Ok(WsMessage::Binary(b)) => {
                        busy = true;
                        if let Err(out) = self.on_message(&b) {
                            return out;
                        }
                    }
                    Ok(WsMessage::Pong(_)) => {
                        last_pong = Instant::now();
                        ping_due = false;
                    }
                    Ok(WsMessage::Close(_)) => {
                        let _ = self.ws.flush();
                        return Outcome("client closed the call".into());
                    }
                    Ok(_) => {}
                    Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                        return Outcome("connection closed".into())
                    }
                    Err(e @ WsError::Capacity(_)) => {
                        let (code, reason) = read_error(&e);
                        return close_with(&mut self.ws, code, &reason, false);
                    }
                    Err(e) => return Outcome(format!("connection lost: {e}")),
                }
            }
            if let Err(out) = self.send_audio() {
                return out;
            }
            let now = Instant::now();
            if now.duration_since(last_ping) >= self.cfg.ping_every {
                last_ping = now;
                if !ping_due {
                    ping_due = true;
                    last_pong = now;
                }
                let _ = self
                    .ws
                    .write(WsMessage::Ping(Bytes::from_static(b"sluice")));
            }
            let _ = self.ws.flush();
            if ping_due && now.duration_since(last_pong) >= self.cfg.pong_timeout {
                let reason = format!(
                    "client stopped reading (no pong for {:.1} s); call dropped",
                    self.cfg.pong_timeout.as_secs_f64()
                );
                return close(&mut self.ws, CloseCode::Policy, &reason);
            }
            if self.done.load(Ordering::Acquire) {
                return close(&mut self.ws, CloseCode::Normal, "the graph has ended");
            }
            if !busy {
                thread::sleep(Duration::from_millis(2));
            }
        }
    }

    fn on_message(&mut self, text: &[u8]) -> Result<(), Outcome> {
        self.received += 1;
        match decode(text, self.meta.length) {
            Ok(Message::AudioData(d)) => {
                if let Some(inbound) = &mut self.side.inbound {
                    inbound.audio(&d);
                }
                Ok(())
            }
            Ok(Message::DtmfData(d)) => {
                if let Some(inbound) = &mut self.side.inbound {
                    inbound.dtmf(&d);
                }
                Ok(())
            }
            Ok(Message::StopAudio) => {
                if let Some(out) = &mut self.side.outbound {
                    out.clear();
                }
                Ok(())
            }
            Ok(Message::AudioMetadata(m)) if m == self.meta => Ok(()),
            Ok(Message::AudioMetadata(_)) => Err(close(
                &mut self.ws,
                CloseCode::Policy,
                "AudioMetadata changed during the call",
            )),
            Err(ProtocolError::UnknownKind(_)) => {
                self.unknown += 1;
                Ok(())
            }
            Err(e) => Err(close(&mut self.ws, error_code(&e), &e.to_string())),
        }
    }

    /// Moves what `acs_out` produced onto the socket.
    fn send_audio(&mut self) -> Result<(), Outcome> {
        let Some(out) = &mut self.side.outbound else {
            return Ok(());
        };
        if out.take_stop() {
            let _ = self.ws.write(WsMessage::text(STOP_AUDIO));
        }
        if let Err(full) = out.pump() {
            let reason = format!(
                "client stopped reading ({} messages queued); call dropped",
                full.queued
            );
            return Err(close(&mut self.ws, CloseCode::Policy, &reason));
        }
        while let Some(text) = out.front() {
            match self.ws.write(WsMessage::text(text)) {
                Ok(()) => out.sent(),
                // Buffered by tungstenite; it goes out on a later flush.
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => out.sent(),
                Err(WsError::WriteBufferFull(_)) => break,
                Err(e) => return Err(Outcome(format!("connection lost: {e}"))),
            }
        }
        Ok(())
    }
}
