//! The real-time workers of `sluice serve`: a fixed pool of threads (one
//! per core by default), each ticking every call graph it holds on that
//! call's own clock. A call costs a slot in a worker's list, not a thread:
//! no stack per call, and no context switch per tick.
//!
//! Graphs are built and finished off the workers, on the pool's setup
//! thread, because building allocates and finishing writes files. In
//! between, a worker only steps them ([`CallGraph::step_until`]: no
//! allocation, no lock), and calls move to a worker and back through
//! wait-free rings made when the pool starts, so a worker's loop neither
//! allocates nor locks; it sleeps until the earliest tick due.

use crate::call::{CallFactory, CallGraph, Launched, RunningCall};
use rtrb::{Consumer, Producer, PushError, RingBuffer};
use sluice_nodes::acs::call::CallSide;
use sluice_nodes::acs::protocol::AudioMetadata;
use sluice_runtime::{ThreadEvent, ThreadHook, ThreadRole};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most calls a pool holds at once, whatever `max_calls` says (its rings
/// are made for this many when it starts).
pub const MAX_SLOTS: usize = 1 << 16;
/// How often the setup thread looks for ended calls to finish.
pub const FINISH_POLL: Duration = Duration::from_millis(20);
/// Longest a worker without calls sleeps before it looks again.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// A call on its way to, on, or back from a worker.
struct Slot {
    graph: Box<dyn CallGraph>,
    stop: Box<dyn Fn() + Send + Sync>,
    stopped: bool,
    /// When the call's media time 0 was: set by the worker taking it.
    origin: Option<Instant>,
    done: Arc<AtomicBool>,
    summary: oneshot::Sender<Result<String, String>>,
    /// The connection's ends of a call whose connection left while it was
    /// built: kept until the graph is finished, as a connection would.
    orphan: Option<CallSide>,
}

impl Slot {
    /// Runs every tick due by `now`; returns the instant of the next one,
    /// or `None` once the graph has ended.
    fn step(&mut self, now: Instant, closing: bool) -> Option<Instant> {
        if closing && !self.stopped {
            self.stopped = true;
            (self.stop)();
        }
        let origin = *self.origin.get_or_insert(now);
        let media = now.saturating_duration_since(origin).as_nanos() as u64;
        if self.graph.step_until(media) {
            return None;
        }
        Some(match self.graph.next_tick() {
            Some(next) => origin + Duration::from_nanos(next),
            None => now + IDLE_WAIT,
        })
    }

    /// Finishes the graph (its files get their headers) and hands the
    /// summary to the connection.
    fn finish(self) {
        let result = self.graph.finish();
        drop(self.orphan);
        self.done.store(true, Ordering::Release);
        let _ = self.summary.send(result);
    }
}

/// A request to the setup thread.
struct Job {
    meta: AudioMetadata,
    reply: oneshot::Sender<Launched>,
}

/// What the pool's threads share.
struct Shared {
    closing: AtomicBool,
    workers_alive: AtomicUsize,
}

/// The setup thread's end of one worker.
struct Feed {
    calls: Producer<Slot>,
    ended: Consumer<Slot>,
    load: Arc<AtomicUsize>,
    thread: Thread,
}

/// A fixed set of real-time worker threads plus one setup thread.
pub struct Pool {
    jobs: Option<mpsc::Sender<Job>>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    setup: Option<JoinHandle<()>>,
}

impl Pool {
    /// Starts `workers` workers (at least one) that hold up to `capacity`
    /// calls together, building graphs with `factory`. `hook`, if given,
    /// is told when each worker starts and stops (tests watch the whole
    /// worker loop with a counting allocator).
    pub fn start(
        factory: Arc<dyn CallFactory>,
        workers: usize,
        capacity: usize,
        hook: Option<ThreadHook>,
    ) -> std::io::Result<Pool> {
        let capacity = capacity.clamp(1, MAX_SLOTS);
        let shared = Arc::new(Shared {
            closing: AtomicBool::new(false),
            workers_alive: AtomicUsize::new(0),
        });
        let mut feeds = Vec::new();
        let mut handles = Vec::new();
        for k in 0..workers.max(1) {
            let (feed, handle) = spawn_worker(k, capacity, shared.clone(), hook)?;
            feeds.push(feed);
            handles.push(handle);
        }
        let (jobs, rx) = mpsc::channel();
        let setup_shared = shared.clone();
        let setup = std::thread::Builder::new()
            .name("serve-setup".into())
            .spawn(move || Setup { factory, feeds }.run(rx, &setup_shared))?;
        Ok(Pool {
            jobs: Some(jobs),
            shared,
            workers: handles,
            setup: Some(setup),
        })
    }

    /// Builds the call's graph off the I/O threads and puts it on the
    /// least loaded worker; the receiver gets the connection's ends.
    pub fn launch(&self, meta: AudioMetadata) -> oneshot::Receiver<Launched> {
        let (reply, rx) = oneshot::channel();
        let sent = self.jobs.as_ref().map(|j| j.send(Job { meta, reply }));
        if let Some(Err(mpsc::SendError(job))) = sent {
            let _ = job.reply.send(Err("the server is shutting down".into()));
        }
        rx
    }
}

impl Drop for Pool {
    /// Stops the calls still running, lets them drain and finish, then
    /// ends the threads.
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        drop(self.jobs.take());
        for w in self.workers.drain(..) {
            w.thread().unpark();
            let _ = w.join();
        }
        if let Some(s) = self.setup.take() {
            let _ = s.join();
        }
    }
}

fn spawn_worker(
    k: usize,
    capacity: usize,
    shared: Arc<Shared>,
    hook: Option<ThreadHook>,
) -> std::io::Result<(Feed, JoinHandle<()>)> {
    let (calls, calls_rx) = RingBuffer::new(capacity);
    let (ended_tx, ended) = RingBuffer::new(capacity);
    let load = Arc::new(AtomicUsize::new(0));
    shared.workers_alive.fetch_add(1, Ordering::AcqRel);
    let worker = Worker {
        incoming: calls_rx,
        ended: ended_tx,
        calls: Vec::with_capacity(capacity),
        load: load.clone(),
        shared,
    };
    let handle = std::thread::Builder::new()
        .name(format!("serve-rt-{k}"))
        .spawn(move || worker.run(hook))?;
    let thread = handle.thread().clone();
    Ok((
        Feed {
            calls,
            ended,
            load,
            thread,
        },
        handle,
    ))
}

/// One worker thread: its calls, and its ends of the rings.
struct Worker {
    incoming: Consumer<Slot>,
    ended: Producer<Slot>,
    calls: Vec<Slot>,
    load: Arc<AtomicUsize>,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(mut self, hook: Option<ThreadHook>) {
        if let Some(h) = hook {
            h(ThreadEvent::Started(ThreadRole::Driven));
        }
        loop {
            let closing = self.shared.closing.load(Ordering::Acquire);
            self.take_new();
            let wake = self.step_all(closing);
            if closing && self.calls.is_empty() && self.incoming.is_empty() {
                break;
            }
            let now = Instant::now();
            if wake > now {
                std::thread::park_timeout(wake - now);
            }
        }
        if let Some(h) = hook {
            h(ThreadEvent::Stopping(ThreadRole::Driven));
        }
        self.shared.workers_alive.fetch_sub(1, Ordering::AcqRel);
    }

    /// Moves the calls the setup thread sent into the list (which has room
    /// for them all: both are `capacity` long).
    fn take_new(&mut self) {
        while self.calls.len() < self.calls.capacity() {
            match self.incoming.pop() {
                Ok(slot) => self.calls.push(slot),
                Err(_) => return,
            }
        }
    }

    /// Steps every call; sends the ended ones back; returns when the next
    /// tick of any call is due.
    fn step_all(&mut self, closing: bool) -> Instant {
        let now = Instant::now();
        let mut wake = now + IDLE_WAIT;
        let mut i = 0;
        while i < self.calls.len() {
            match self.calls[i].step(now, closing) {
                Some(next) => {
                    wake = wake.min(next);
                    i += 1;
                }
                None => {
                    let slot = self.calls.swap_remove(i);
                    if let Err(PushError::Full(slot)) = self.ended.push(slot) {
                        // The setup thread is behind: hand it over next time.
                        self.calls.push(slot);
                        i += 1;
                        continue;
                    }
                    self.load.fetch_sub(1, Ordering::AcqRel);
                }
            }
        }
        wake
    }
}

/// The setup thread: builds graphs, deals them out, finishes ended ones.
struct Setup {
    factory: Arc<dyn CallFactory>,
    feeds: Vec<Feed>,
}

impl Setup {
    fn run(mut self, jobs: mpsc::Receiver<Job>, shared: &Shared) {
        loop {
            let open = match jobs.recv_timeout(FINISH_POLL) {
                Ok(job) => {
                    self.build(job);
                    true
                }
                Err(RecvTimeoutError::Timeout) => true,
                Err(RecvTimeoutError::Disconnected) => false,
            };
            self.finish_ended();
            if !open && shared.workers_alive.load(Ordering::Acquire) == 0 {
                self.finish_ended();
                return;
            }
            if !open {
                std::thread::sleep(FINISH_POLL);
            }
        }
    }

    fn build(&mut self, job: Job) {
        let built = match self.factory.build(&job.meta) {
            Ok(b) => b,
            Err(e) => {
                let _ = job.reply.send(Err(e));
                return;
            }
        };
        let done = Arc::new(AtomicBool::new(false));
        let (summary, summary_rx) = oneshot::channel();
        let running = RunningCall::new(
            done.clone(),
            built.graph.stopper(),
            summary_rx,
            built.graph.stats(),
            built.side.stats.clone(),
        );
        let mut slot = Slot {
            stop: built.graph.stopper(),
            graph: built.graph,
            stopped: false,
            origin: None,
            done,
            summary,
            orphan: None,
        };
        if let Err(Ok((side, _))) = job.reply.send(Ok((built.side, running))) {
            // The connection went away while the graph was built: run it
            // to its end anyway, so its files are finished.
            (slot.stop)();
            slot.stopped = true;
            slot.orphan = Some(side);
        }
        self.deal(slot);
    }

    /// Puts a call on the least loaded worker with room.
    fn deal(&mut self, slot: Slot) {
        let Some(feed) = self
            .feeds
            .iter_mut()
            .filter(|f| f.calls.slots() > 0)
            .min_by_key(|f| f.load.load(Ordering::Acquire))
        else {
            // Every ring is full (more calls than the pool was made for):
            // the call ends here; its connection sees the graph end.
            (slot.stop)();
            slot.finish();
            return;
        };
        feed.load.fetch_add(1, Ordering::AcqRel);
        if let Err(PushError::Full(slot)) = feed.calls.push(slot) {
            feed.load.fetch_sub(1, Ordering::AcqRel);
            slot.finish();
            return;
        }
        feed.thread.unpark();
    }

    fn finish_ended(&mut self) {
        for feed in &mut self.feeds {
            while let Ok(slot) = feed.ended.pop() {
                slot.finish();
            }
        }
    }
}
