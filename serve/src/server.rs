//! The sockets behind `sluice serve`: event-driven connections on a small
//! fixed set of I/O threads (tokio), each a thin loop around its protocol
//! core ([`Connection`]). An idle or pending socket costs no thread.
//!
//! Admission: a connection counts toward `max_pending` from its accept
//! until its `AudioMetadata` arrives (over the cap: HTTP 503 at once), and
//! toward `max_calls` from then on (over the cap: close 1013). Draining
//! (SIGTERM, Ctrl-C or [`ServerHandle::drain`]) stops accepting, answers
//! `/readyz` with 503, lets running calls finish for up to
//! `drain_timeout`, then closes what is left with 1001 and returns.

use crate::admin::{self, AdminState};
use crate::auth::Auth;
use crate::call::{launch, CallFactory, Launched, RunningCall};
use crate::conn::{ConnConfig, Connection, Counts, EndKind, Event, Limits, Outcome};
use crate::log::{Field, Log};
use crate::metrics::{Metrics, Refusal};
use crate::pool::Pool;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tungstenite::protocol::frame::coding::CloseCode;

/// Default of [`ServeConfig::max_calls`].
pub const DEFAULT_MAX_CALLS: usize = 64;
/// Default of [`ServeConfig::max_pending`].
pub const DEFAULT_MAX_PENDING: usize = 1024;
/// Default of [`ServeConfig::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Most I/O threads by default (fewer on a machine with fewer cores).
pub const DEFAULT_IO_THREADS: usize = 4;
/// Bytes read from a socket at a time.
pub const READ_CHUNK: usize = 4096;
/// How long a call's graph may take to play out and end after its
/// connection closed before it is stopped.
pub const GRAPH_END_WAIT: Duration = Duration::from_secs(2);
/// How often the JWKS file is checked for changes.
pub const JWKS_REFRESH: Duration = Duration::from_secs(10);
/// After the drain, how long connections get to send their close.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// The answer to a connection over the pending cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Length: 0\r\nConnection: close\r\n\r\n";

/// Limits, timings and options of the server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Per-connection timings and limits.
    pub limits: Limits,
    /// Calls served at once (counted from their `AudioMetadata`).
    pub max_calls: usize,
    /// Connections without `AudioMetadata` yet.
    pub max_pending: usize,
    /// How long a drain lets running calls finish.
    pub drain_timeout: Duration,
    /// I/O threads.
    pub io_threads: usize,
    /// Real-time workers that tick every call's graph (one per core by
    /// default; there is no thread per call).
    pub workers: usize,
    /// Token check; `None` accepts every client.
    pub auth: Option<Arc<Auth>>,
    /// Log lines.
    pub log: Log,
    /// Drain on SIGTERM and Ctrl-C (a second one shuts down at once).
    pub handle_signals: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ServeConfig {
            limits: Limits::default(),
            max_calls: DEFAULT_MAX_CALLS,
            max_pending: DEFAULT_MAX_PENDING,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            io_threads: cores.clamp(1, DEFAULT_IO_THREADS),
            workers: cores,
            auth: None,
            log: Log::default(),
            handle_signals: false,
        }
    }
}

struct Shared {
    cfg: ServeConfig,
    conn: Arc<ConnConfig>,
    factory: Arc<dyn CallFactory>,
    pool: Arc<Pool>,
    metrics: Arc<Metrics>,
    draining: Arc<AtomicBool>,
    shutdown: AtomicBool,
    wake: Notify,
    tasks: AtomicUsize,
    next_id: AtomicU64,
}

/// A handle on a running server, for other threads (tests, embedding
/// programs).
#[derive(Clone)]
pub struct ServerHandle(Arc<Shared>);

/// What the server is doing now.
impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("calls_active", &self.calls_active())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Starts draining (as SIGTERM does).
    pub fn drain(&self) {
        self.0.draining.store(true, Ordering::Release);
        self.0.wake.notify_waiters();
    }

    /// Calls running now.
    pub fn calls_active(&self) -> usize {
        self.0.metrics.calls_active.load(Ordering::Acquire) as usize
    }

    /// Connections waiting for their `AudioMetadata`.
    pub fn pending(&self) -> usize {
        self.0.metrics.pending.load(Ordering::Acquire) as usize
    }

    /// The server's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }
}

/// A bound server, not yet running.
pub struct Server {
    listener: std::net::TcpListener,
    admin: Option<std::net::TcpListener>,
    shared: Arc<Shared>,
}

/// Where it listens.
impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .field(
                "admin",
                &self.admin.as_ref().and_then(|a| a.local_addr().ok()),
            )
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `addr` (`127.0.0.1:0` picks a free port).
    pub fn bind(addr: &str, factory: Arc<dyn CallFactory>, cfg: ServeConfig) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let conn = Arc::new(ConnConfig {
            limits: cfg.limits.clone(),
            auth: cfg.auth.clone(),
        });
        let pool = Arc::new(Pool::new(cfg.workers)?);
        Ok(Server {
            listener,
            admin: None,
            shared: Arc::new(Shared {
                cfg,
                conn,
                factory,
                pool,
                metrics: Arc::new(Metrics::default()),
                draining: Arc::new(AtomicBool::new(false)),
                shutdown: AtomicBool::new(false),
                wake: Notify::new(),
                tasks: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
            }),
        })
    }

    /// Binds the admin endpoints on `addr`.
    pub fn bind_admin(&mut self, addr: &str) -> io::Result<SocketAddr> {
        let l = std::net::TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        let a = l.local_addr()?;
        self.admin = Some(l);
        Ok(a)
    }

    /// The address calls connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle for other threads.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle(self.shared.clone())
    }

    /// Serves until drained (blocks the calling thread).
    pub fn run(self) -> io::Result<()> {
        self.run_when_ready(|| {})
    }

    /// Serves until drained, calling `ready` once the signal handlers are
    /// in place: a "listening" line printed there is a promise that a
    /// SIGTERM from then on drains rather than kills.
    pub fn run_when_ready(self, ready: impl FnOnce()) -> io::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.shared.cfg.io_threads.max(1))
            .thread_name("serve-io")
            .enable_io()
            .enable_time()
            .build()?;
        rt.block_on(self.main(ready))
    }

    async fn main(self, ready: impl FnOnce()) -> io::Result<()> {
        let shared = self.shared.clone();
        let mut side_tasks = Vec::new();
        if shared.cfg.handle_signals {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate())?;
            let int = signal(SignalKind::interrupt())?;
            side_tasks.push(tokio::spawn(signals(shared.clone(), term, int)));
        }
        ready();
        let listener = TcpListener::from_std(self.listener)?;
        if let Some(admin) = self.admin {
            let state = Arc::new(AdminState {
                metrics: shared.metrics.clone(),
                draining: shared.draining.clone(),
            });
            side_tasks.push(tokio::spawn(admin::serve(
                TcpListener::from_std(admin)?,
                state,
            )));
        }
        if let Some(auth) = shared.cfg.auth.clone() {
            side_tasks.push(tokio::spawn(refresh_jwks(auth, shared.cfg.log)));
        }
        accept(&listener, &shared).await;
        drop(listener);
        drain(&shared).await;
        for t in side_tasks {
            t.abort();
        }
        Ok(())
    }
}

/// Accepts connections until draining starts.
async fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.draining.load(Ordering::Acquire) {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shared.wake.notified() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                shared
                    .cfg
                    .log
                    .warn("accept_failed", &format!("accept failed: {e}"), &[]);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let pending = &shared.metrics.pending;
        if pending.load(Ordering::Acquire) as usize >= shared.cfg.max_pending {
            let _ = stream.try_write(BUSY);
            shared.metrics.refused(Refusal::Pending);
            continue;
        }
        pending.fetch_add(1, Ordering::AcqRel);
        shared.tasks.fetch_add(1, Ordering::AcqRel);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(Task::new(shared.clone(), id, peer).run(stream));
    }
}

/// Waits for running calls (up to the drain timeout), then closes the rest.
async fn drain(shared: &Arc<Shared>) {
    let log = shared.cfg.log;
    let m = &shared.metrics;
    let open = || m.calls_active.load(Ordering::Acquire) + m.pending.load(Ordering::Acquire);
    let timeout = shared.cfg.drain_timeout;
    log.info(
        "drain",
        &format!(
            "draining: no new calls; waiting up to {:.0} s for {} open",
            timeout.as_secs_f64(),
            open()
        ),
        &[("open", Field::Num(open()))],
    );
    let deadline = Instant::now() + timeout;
    while open() > 0 && Instant::now() < deadline && !shared.shutdown.load(Ordering::Acquire) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shared.shutdown.store(true, Ordering::Release);
    shared.wake.notify_waiters();
    let deadline = Instant::now() + SHUTDOWN_WAIT;
    while shared.tasks.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    log.info("stopped", "stopped", &[]);
}

/// SIGTERM or Ctrl-C drains; a second one shuts down at once.
async fn signals(
    shared: Arc<Shared>,
    mut term: tokio::signal::unix::Signal,
    mut int: tokio::signal::unix::Signal,
) {
    loop {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if shared.draining.swap(true, Ordering::AcqRel) {
            shared.shutdown.store(true, Ordering::Release);
        }
        shared.wake.notify_waiters();
    }
}

/// Reads the JWKS again whenever the file changes.
async fn refresh_jwks(auth: Arc<Auth>, log: Log) {
    loop {
        tokio::time::sleep(JWKS_REFRESH).await;
        match auth.refresh() {
            Ok(true) => log.info(
                "jwks",
                &format!("reloaded {}", auth.jwks_path().display()),
                &[],
            ),
            Ok(false) => {}
            Err(e) => log.warn("jwks", &format!("{e}; keeping the previous keys"), &[]),
        }
    }
}

/// One connection's task: the socket, its protocol core, and its call.
struct Task {
    shared: Arc<Shared>,
    id: u64,
    peer: SocketAddr,
    pending: bool,
    in_call: bool,
    building: Option<oneshot::Receiver<Launched>>,
    call: Option<RunningCall>,
    reported: Counts,
    outcome: Option<Outcome>,
    started: Instant,
    shut: bool,
}

impl Task {
    fn new(shared: Arc<Shared>, id: u64, peer: SocketAddr) -> Task {
        Task {
            shared,
            id,
            peer,
            pending: true,
            in_call: false,
            building: None,
            call: None,
            reported: Counts::default(),
            outcome: None,
            started: Instant::now(),
            shut: false,
        }
    }

    async fn run(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let mut conn = Connection::new(self.shared.conn.clone(), Instant::now());
        let mut buf = [0u8; READ_CHUNK];
        loop {
            let now = Instant::now();
            self.tell(&mut conn, now);
            conn.drive(now);
            while let Some(ev) = conn.poll_event() {
                self.on_event(ev, &mut conn, now);
            }
            self.report(&conn);
            write_out(&stream, &mut conn);
            if conn.is_done() {
                break;
            }
            if conn.more_work() {
                tokio::task::yield_now().await;
                continue;
            }
            let wake = conn.poll_timeout().unwrap_or(now + Duration::from_secs(60));
            let room = conn.input_room().min(READ_CHUNK);
            tokio::select! {
                r = built(&mut self.building) => {
                    self.building = None;
                    self.on_built(r, &mut conn);
                }
                r = stream.readable(), if room > 0 => match r.and_then(|_| stream.try_read(&mut buf[..room])) {
                    Ok(0) => conn.receive_eof(),
                    Ok(n) => conn.receive(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => conn.receive_eof(),
                },
                _ = stream.writable(), if !conn.output().is_empty() => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = self.shared.wake.notified() => {}
            }
        }
        self.finish().await;
    }

    /// Tells the core what happened outside it: shutdown, the graph's end.
    fn tell(&mut self, conn: &mut Connection, now: Instant) {
        if !self.shut && self.shared.shutdown.load(Ordering::Acquire) {
            self.shut = true;
            conn.shut_down(now);
        }
        if self.call.as_ref().is_some_and(RunningCall::is_done) && self.outcome.is_none() {
            conn.graph_ended(now);
        }
    }

    fn on_event(&mut self, ev: Event, conn: &mut Connection, now: Instant) {
        match ev {
            Event::Upgraded { .. } => {}
            Event::Unauthorized(why) => {
                self.shared.metrics.auth_failed();
                let msg = format!("connection {} from {}: refused: {why}", self.id, self.peer);
                self.shared
                    .cfg
                    .log
                    .call("auth_failed", &msg, &[("conn", Field::Num(self.id))]);
            }
            Event::Metadata(meta) => {
                self.leave_pending();
                match self.admit() {
                    Ok(()) => {
                        self.in_call = true;
                        let (pool, factory) =
                            (self.shared.pool.clone(), self.shared.factory.clone());
                        self.building = Some(launch(pool, factory, meta, &self.id.to_string()));
                    }
                    Err((code, reason, why)) => {
                        self.shared.metrics.refused(why);
                        conn.refuse(code, &reason, EndKind::Refused, now);
                    }
                }
            }
            Event::Ended(outcome) => self.outcome = Some(outcome),
        }
    }

    /// Takes a call slot, or says why not.
    fn admit(&self) -> Result<(), (CloseCode, String, Refusal)> {
        if self.shared.draining.load(Ordering::Acquire) {
            let reason = "the server is draining; try another".to_string();
            return Err((CloseCode::Away, reason, Refusal::Draining));
        }
        let max = self.shared.cfg.max_calls as u64;
        let active = &self.shared.metrics.calls_active;
        active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| {
                let reason = format!("server is at its limit of {max} calls");
                (CloseCode::Again, reason, Refusal::Capacity)
            })
    }

    fn on_built(&mut self, r: Launched, conn: &mut Connection) {
        let now = Instant::now();
        match r {
            Ok((side, running)) => {
                let metrics = &self.shared.metrics;
                metrics.call_started(self.id, running.stats.clone(), running.counters.clone());
                conn.start_call(side, now);
                self.call = Some(running);
                let msg = format!(
                    "call {} from {}: started (subscription {}, connection {})",
                    self.id,
                    self.peer,
                    conn.subscription().unwrap_or("-"),
                    conn.connection_id().unwrap_or("-")
                );
                self.shared
                    .cfg
                    .log
                    .call("call_start", &msg, &self.fields(conn));
            }
            Err(e) => {
                self.shared.metrics.refused(Refusal::Graph);
                let reason = format!("cannot start the graph: {e}");
                conn.refuse(CloseCode::Error, &reason, EndKind::Refused, now);
            }
        }
    }

    fn fields<'a>(&'a self, conn: &'a Connection) -> Vec<(&'static str, Field<'a>)> {
        vec![
            ("call", Field::Num(self.id)),
            (
                "subscription_id",
                Field::Str(conn.subscription().unwrap_or("")),
            ),
            (
                "call_connection_id",
                Field::Str(conn.connection_id().unwrap_or("")),
            ),
        ]
    }

    fn leave_pending(&mut self) {
        if std::mem::take(&mut self.pending) {
            self.shared.metrics.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Adds what the connection counted since the last report.
    fn report(&mut self, conn: &Connection) {
        let now = conn.counts();
        if now != self.reported {
            self.shared.metrics.add_counts(&now.since(&self.reported));
            self.reported = now;
        }
    }

    /// Waits for the call's graph to end, then counts and logs the call.
    async fn finish(mut self) {
        self.leave_pending();
        let summary = match self.call.take() {
            Some(call) => Some(end_graph(call).await),
            None => None,
        };
        let outcome = self
            .outcome
            .take()
            .unwrap_or_else(|| Outcome::new(EndKind::Lost, None, "connection ended"));
        let m = &self.shared.metrics;
        if self.in_call {
            m.call_done(self.id);
            m.calls_active.fetch_sub(1, Ordering::AcqRel);
            m.call_ended(outcome.kind);
        }
        if self.in_call || outcome.kind != EndKind::Lost {
            self.log_end(&outcome, summary);
        }
        self.shared.tasks.fetch_sub(1, Ordering::AcqRel);
    }

    fn log_end(&self, outcome: &Outcome, summary: Option<Result<String, String>>) {
        let c = self.reported;
        let graph = match &summary {
            Some(Ok(s)) => s.clone(),
            Some(Err(e)) => format!("graph failed: {e}"),
            None => "no graph".into(),
        };
        let msg = format!(
            "call {} from {}: {outcome}; {:.1} s, {} messages in, {} out, {} skipped, \
             {} unknown, {} over the rate; {graph}",
            self.id,
            self.peer,
            self.started.elapsed().as_secs_f64(),
            c.messages_in,
            c.messages_out,
            c.bad_messages,
            c.unknown_kinds,
            c.rate_dropped,
        );
        let fields = [
            ("call", Field::Num(self.id)),
            ("outcome", Field::Str(outcome.kind.label())),
            ("reason", Field::Str(&outcome.reason)),
            (
                "seconds",
                Field::Float(self.started.elapsed().as_secs_f64()),
            ),
            ("messages_in", Field::Num(c.messages_in)),
            ("messages_out", Field::Num(c.messages_out)),
            ("skipped", Field::Num(c.bad_messages)),
            ("rate_dropped", Field::Num(c.rate_dropped)),
            ("graph", Field::Str(&graph)),
        ];
        self.shared.cfg.log.call("call_end", &msg, &fields);
    }
}

/// The build's result, or never while no build is running.
async fn built(rx: &mut Option<oneshot::Receiver<Launched>>) -> Launched {
    match rx {
        Some(r) => r
            .await
            .unwrap_or_else(|_| Err("the call's thread ended before its graph was built".into())),
        None => std::future::pending().await,
    }
}

/// Writes what the core has to send, as far as the socket takes it.
fn write_out(stream: &TcpStream, conn: &mut Connection) {
    while !conn.output().is_empty() {
        match stream.try_write(conn.output()) {
            Ok(n) => conn.consume_output(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(_) => {
                // The peer is gone: what is left cannot be delivered.
                let n = conn.output().len();
                conn.consume_output(n);
                conn.receive_eof();
            }
        }
    }
}

/// Lets the graph play out what is queued and end (its connection has
/// closed `acs_in`); stops it if it does not end in time.
async fn end_graph(call: RunningCall) -> Result<String, String> {
    let deadline = Instant::now() + GRAPH_END_WAIT;
    while !call.is_done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !call.is_done() {
        call.stop();
    }
    call.summary().await
}
