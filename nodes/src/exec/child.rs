//! One slot's supervisor thread: starts the program, writes its input,
//! restarts it when it exits, closes it at the end.
//!
//! The program's standard input is non-blocking with a small pipe buffer,
//! so the writer never waits on it: media the program has not taken
//! waits in a bounded queue that drops its oldest block when full (in a
//! real-time run; an unpaced run holds the graph back instead). The
//! program runs in a process group of its own, so killing it at the end
//! also ends whatever it started, and it is always waited for (no
//! zombies).

use super::link::{Control, Packet, PacketSink, Tag};
use super::media::{samples_of, y4m_header, Pcm};
use super::reader::{forward_stderr, read_stdout, ReadMode, ReadSpec, ReaderEnds, Written};
use super::stats::Counters;
use crate::speech::rerate::Rerate;
use rtrb::{Consumer, Producer};
use sluice_dsl::VideoType;
use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a program has after its input closes before it is killed.
pub const GRACE: Duration = Duration::from_millis(500);
/// How long, once the graph has ended, what is queued may still take to
/// reach the program before the rest is dropped and its input closed (a
/// program that never reads would otherwise hold the end forever).
const FLUSH: Duration = Duration::from_millis(250);
/// First wait before a restart; doubles up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A program that ran this long before exiting restarts at once.
const STABLE: Duration = Duration::from_secs(10);
/// How often an idle writer looks for work.
const IDLE: Duration = Duration::from_millis(1);
/// The pipe buffer asked for (Linux; the kernel's minimum is a page), so
/// little media hides in the kernel where it cannot be dropped.
const PIPE_BYTES: i32 = 16 * 1024;

/// What every program of one node shares.
pub struct Spec {
    /// Program and arguments.
    pub cmd: Vec<String>,
    /// SLUICE_* variables (SLUICE_ID is added per participant).
    pub env: Vec<(String, String)>,
    /// The node's name (logs, `node`).
    pub node: String,
    /// What goes in.
    pub input: Input,
    /// How standard output is read.
    pub mode: ReadMode,
    /// Blocks the queue holds.
    pub queue: usize,
    /// Real time: drop the oldest when the queue is full; else hold back.
    pub realtime: bool,
    /// Whether the slot waits for a participant (bundles).
    pub per_participant: bool,
}

/// What the program reads.
#[derive(Clone, Copy)]
pub enum Input {
    /// Mono PCM: graph-rate ticks of `tick` samples, sent at `rate`.
    Audio {
        pcm: Pcm,
        graph_rate: u32,
        rate: u32,
        tick: usize,
    },
    /// Y4M frames.
    Video(VideoType),
}

/// A supervisor's rings.
pub struct Ends {
    /// Media from the real-time side.
    pub media: PacketSink,
    /// Start and stop (bundles).
    pub control: Option<Consumer<Control>>,
    /// Tags of blocks written, for the reader.
    pub inflight: Producer<Tag>,
    /// The reader's rings, lent to each program's reader thread.
    pub reader: Option<ReaderEnds>,
}

/// Shared between the supervisor, its readers and the node.
pub struct Shared {
    /// Set when the graph ends.
    pub closing: AtomicBool,
    /// What every slot counts.
    pub counters: Arc<Counters>,
}

/// Starts the supervisor thread of one slot.
pub fn spawn_supervisor(
    spec: Arc<Spec>,
    ends: Ends,
    shared: Arc<Shared>,
    written: Arc<Written>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sluice-exec-{}", spec.node))
        .spawn(move || Supervisor::new(spec, ends, shared, written).run())
}

/// Why a program's run ended.
enum Outcome {
    /// It exited or crashed (restart it).
    Exited,
    /// Its participant left.
    Stopped,
    /// Another participant took the slot.
    Replaced(String),
    /// The graph ended.
    Closing,
}

struct Supervisor {
    spec: Arc<Spec>,
    ends: Ends,
    shared: Arc<Shared>,
    written: Arc<Written>,
    queue: VecDeque<Packet>,
    /// Bytes being written and how far.
    pending: Vec<u8>,
    pos: usize,
    rerate: Option<Rerate>,
    scratch: Vec<f32>,
}

impl Supervisor {
    fn new(spec: Arc<Spec>, ends: Ends, shared: Arc<Shared>, written: Arc<Written>) -> Self {
        let (rerate, scratch) = match spec.input {
            Input::Audio {
                graph_rate,
                rate,
                tick,
                ..
            } => (
                Rerate::new(graph_rate, rate, tick, 8 * tick).ok(),
                vec![0.0; 8 * tick],
            ),
            Input::Video(_) => (None, Vec::new()),
        };
        Supervisor {
            queue: VecDeque::with_capacity(spec.queue + 1),
            spec,
            ends,
            shared,
            written,
            pending: Vec::new(),
            pos: 0,
            rerate,
            scratch,
        }
    }

    fn closing(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }

    fn run(mut self) {
        let mut id = if self.spec.per_participant {
            None
        } else {
            Some(String::new())
        };
        let mut backoff = MIN_BACKOFF;
        while !self.closing() {
            let Some(who) = id.clone().or_else(|| self.wait_for_start()) else {
                continue;
            };
            id = Some(who.clone());
            let started = Instant::now();
            let outcome = match self.start(&who) {
                Ok(running) => self.pump(running),
                Err(e) => {
                    Counters::bump(&self.shared.counters.spawn_failures);
                    eprintln!(
                        "[{}] cannot start `{}`: {e}",
                        self.spec.node, self.spec.cmd[0]
                    );
                    Outcome::Exited
                }
            };
            match outcome {
                Outcome::Exited => {
                    backoff = if started.elapsed() > STABLE {
                        MIN_BACKOFF
                    } else {
                        (backoff * 2).min(MAX_BACKOFF)
                    };
                    self.idle_for(backoff / 2);
                    if !self.closing() {
                        Counters::bump(&self.shared.counters.restarts);
                    }
                }
                Outcome::Stopped => id = None,
                Outcome::Replaced(next) => id = Some(next),
                Outcome::Closing => return,
            }
        }
    }

    /// Waits for a participant (dropping media meanwhile); None on close.
    fn wait_for_start(&mut self) -> Option<String> {
        while !self.closing() {
            if let Some(Ok(Control::Start(id))) = self.ends.control.as_mut().map(Consumer::pop) {
                return Some(id.as_str().to_string());
            }
            self.discard_media();
            std::thread::sleep(IDLE * 5);
        }
        None
    }

    /// Sleeps up to `d`, dropping media, unless the graph ends first.
    fn idle_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.closing() {
            self.discard_media();
            std::thread::sleep(IDLE * 5);
        }
    }

    fn discard_media(&mut self) {
        while let Ok(p) = self.ends.media.full.pop() {
            Counters::bump(&self.shared.counters.dropped);
            let _ = self.ends.media.free.push(p);
        }
    }

    /// Starts the program for participant `id` with its reader threads.
    fn start(&mut self, id: &str) -> std::io::Result<Running> {
        let spec = &self.spec;
        let mut child = Command::new(&spec.cmd[0])
            .args(&spec.cmd[1..])
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("SLUICE_ID", id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill(&mut child);
            return Err(std::io::Error::other("no pipes"));
        };
        nonblocking_small_pipe(&stdin);
        let label = if id.is_empty() {
            spec.node.clone()
        } else {
            format!("{} {id}", spec.node)
        };
        let errors = std::thread::Builder::new()
            .name("sluice-exec-err".into())
            .spawn(move || forward_stderr(stderr, &label))?;
        let read = ReadSpec {
            node: spec.node.clone(),
            id: id.to_string(),
            mode: spec.mode,
        };
        let mut ends = self
            .ends
            .reader
            .take()
            .expect("reader ends are home between runs");
        while ends.inflight.pop().is_ok() {}
        let (written, counters) = (self.written.clone(), self.shared.counters.clone());
        let reader = std::thread::Builder::new()
            .name("sluice-exec-out".into())
            .spawn(move || {
                read_stdout(stdout, &read, &mut ends, &written, &counters);
                ends
            })?;
        self.pending.clear();
        self.pos = 0;
        if let Input::Video(v) = spec.input {
            self.pending.extend_from_slice(y4m_header(v).as_bytes());
        }
        Ok(Running {
            child,
            stdin: Some(stdin),
            reader: Some(reader),
            errors: Some(errors),
        })
    }

    /// Feeds the program until it exits, its participant leaves or the
    /// graph ends; then closes it.
    fn pump(&mut self, mut running: Running) -> Outcome {
        let mut flush_until = None;
        let outcome = loop {
            self.take_media();
            if let Some(o) = self.control() {
                break o;
            }
            if self.closing() {
                let until = *flush_until.get_or_insert_with(|| Instant::now() + FLUSH);
                if self.flushed() || Instant::now() >= until {
                    self.drop_queued();
                    break Outcome::Closing;
                }
            }
            if let Ok(Some(_)) = running.child.try_wait() {
                break Outcome::Exited;
            }
            match self.write_some(running.stdin.as_mut()) {
                Ok(true) => {}
                Ok(false) => std::thread::sleep(IDLE),
                Err(_) => break Outcome::Exited,
            }
        };
        if let Some(ends) = running.close(&self.spec.node) {
            self.ends.reader = Some(ends);
        }
        outcome
    }

    /// Whether everything taken has been written to the program.
    fn flushed(&self) -> bool {
        self.queue.is_empty() && self.pos == self.pending.len()
    }

    /// Counts what the program never took as dropped (the graph ended).
    fn drop_queued(&mut self) {
        while let Some(p) = self.queue.pop_front() {
            Counters::bump(&self.shared.counters.dropped);
            let _ = self.ends.media.free.push(p);
        }
        self.discard_media();
    }

    /// Start and stop messages while a program runs.
    fn control(&mut self) -> Option<Outcome> {
        match self.ends.control.as_mut()?.pop() {
            Ok(Control::Stop) => Some(Outcome::Stopped),
            Ok(Control::Start(id)) => Some(Outcome::Replaced(id.as_str().to_string())),
            Err(_) => None,
        }
    }

    /// Moves media from the ring to the queue: oldest dropped when full
    /// in real time, left on the ring (holding the graph back) otherwise.
    fn take_media(&mut self) {
        loop {
            if !self.spec.realtime && self.queue.len() >= self.spec.queue {
                return;
            }
            let Ok(p) = self.ends.media.full.pop() else {
                return;
            };
            if self.queue.len() >= self.spec.queue {
                if let Some(old) = self.queue.pop_front() {
                    Counters::bump(&self.shared.counters.dropped);
                    let _ = self.ends.media.free.push(old);
                }
            }
            self.queue.push_back(p);
        }
    }

    /// Writes what the pipe takes; true if anything moved.
    fn write_some(&mut self, stdin: Option<&mut ChildStdin>) -> std::io::Result<bool> {
        if self.pos == self.pending.len() && !self.next_block() {
            return Ok(false);
        }
        let Some(stdin) = stdin else {
            return Ok(false);
        };
        match stdin.write(&self.pending[self.pos..]) {
            Ok(0) => Err(ErrorKind::WriteZero.into()),
            Ok(n) => {
                self.pos += n;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Encodes the oldest queued block into `pending`; false if none.
    fn next_block(&mut self) -> bool {
        let Some(p) = self.queue.pop_front() else {
            return false;
        };
        self.pending.clear();
        self.pos = 0;
        match self.spec.input {
            Input::Audio { pcm, tick, .. } => {
                samples_of(&p.data, &mut self.scratch[..tick]);
                if let Some(r) = &mut self.rerate {
                    r.push(&self.scratch[..tick]);
                    let n = r.ready().min(self.scratch.len());
                    r.pull(&mut self.scratch[..n]);
                    pcm.encode(&self.scratch[..n], &mut self.pending);
                }
            }
            Input::Video(_) => {
                self.pending.extend_from_slice(b"FRAME\n");
                self.pending.extend_from_slice(&p.data);
            }
        }
        let c = &self.shared.counters;
        Counters::bump(&c.sent);
        c.latency.record(p.sent.elapsed());
        let _ = self.ends.inflight.push(Tag {
            tick: p.tick,
            sent: p.sent,
        });
        let w = &self.written;
        let period_end = p.time + self.block_nanos();
        w.end.store(period_end, Ordering::Relaxed);
        w.sent.store(
            p.sent.saturating_duration_since(w.base).as_nanos() as u64,
            Ordering::Relaxed,
        );
        let _ = self.ends.media.free.push(p);
        true
    }

    /// Media time one block covers.
    fn block_nanos(&self) -> u64 {
        match self.spec.input {
            Input::Audio {
                graph_rate, tick, ..
            } => tick as u64 * 1_000_000_000 / graph_rate as u64,
            Input::Video(v) => v.fps.1 as u64 * 1_000_000_000 / v.fps.0.max(1) as u64,
        }
    }
}

/// A running program and its reader threads.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<ReaderEnds>>,
    errors: Option<JoinHandle<()>>,
}

impl Running {
    /// Closes the program's input, gives it `GRACE` to finish, kills its
    /// process group, reaps it and joins its readers; the reader's rings
    /// come back.
    fn close(&mut self, node: &str) -> Option<ReaderEnds> {
        drop(self.stdin.take());
        let until = Instant::now() + GRACE;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(IDLE * 5);
        }
        kill(&mut self.child);
        if let Some(e) = self.errors.take() {
            let _ = e.join();
        }
        let ends = self.reader.take().and_then(|r| r.join().ok());
        if ends.is_none() {
            eprintln!("[{node}] the output reader failed");
        }
        ends
    }
}

/// Kills the program's process group and reaps the program.
fn kill(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (it was spawned with process_group(0)); it touches no
        // memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Makes the program's input non-blocking with a small kernel buffer.
fn nonblocking_small_pipe(stdin: &ChildStdin) {
    let fd = stdin.as_raw_fd();
    // SAFETY: fcntl on a pipe descriptor we own: F_SETPIPE_SZ resizes its
    // buffer, F_GETFL/F_SETFL set O_NONBLOCK; no memory is passed.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES);
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}
