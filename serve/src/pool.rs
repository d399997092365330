//! A fixed pool of real-time workers that tick every call's graph on its
//! own clock: one worker per core, however many calls. There is no thread
//! per call.
//!
//! A call joins the worker with the fewest calls and stays there. A worker
//! runs every tick each of its calls has due ([`CallGraph::advance`]),
//! then sleeps until the earliest next one (at least [`GRAIN`], so the
//! ticks of many calls run together); a new call wakes it. A call
//! whose graph has ended goes to the pool's one finisher thread, which
//! finishes its nodes (files get their headers: I/O, off the workers) and
//! hands the summary to whoever waits for it. A call's graph stays
//! allocation- and lock-free after start, as on a thread of its own: the
//! worker only adds and removes calls in a list reserved up front.

use crate::call::CallGraph;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Calls a worker's list holds before it grows (growing allocates on the
/// worker, between ticks: harmless, but not needed below this).
const RESERVED: usize = 1024;

/// The longest a worker sleeps with nothing due (a new call wakes it
/// earlier).
const IDLE: Duration = Duration::from_millis(100);

/// The shortest a worker sleeps: ticks that fall due within it run
/// together at its end, at most this late. Hundreds of calls each on its
/// own 10 ms clock would otherwise wake a worker every few microseconds;
/// a call's audio crosses a jitter buffer of tens of milliseconds, so a
/// millisecond of lateness costs nothing.
const GRAIN: Duration = Duration::from_millis(1);

/// A call on the pool: its graph, and who learns how it ended.
pub struct Job {
    /// The call's graph.
    pub graph: Box<dyn CallGraph>,
    /// Set once the graph has ended and been finished.
    pub done: Arc<AtomicBool>,
    /// Gets the run's one-line summary.
    pub reply: oneshot::Sender<Result<String, String>>,
    /// Kept alive until the graph ends (the connection's ends of a call
    /// whose connection went away while it was built).
    pub keep: Option<Box<dyn Send>>,
}

/// Whether it is done; the graph is opaque.
impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("done", &self.done.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A worker, as the pool sees it.
struct Worker {
    jobs: Sender<Job>,
    thread: Thread,
    calls: Arc<AtomicUsize>,
}

/// The workers and the finisher.
pub struct Pool {
    workers: Vec<Worker>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers.len())
            .field("calls", &self.calls())
            .finish()
    }
}

impl Pool {
    /// Starts `workers` workers (at least one) and the finisher.
    pub fn new(workers: usize) -> std::io::Result<Pool> {
        let (finished, to_finish) = mpsc::channel();
        std::thread::Builder::new()
            .name("sluice-finish".into())
            .spawn(move || finish_all(to_finish))?;
        let workers = (0..workers.max(1))
            .map(|i| spawn_worker(i, finished.clone()))
            .collect::<std::io::Result<_>>()?;
        Ok(Pool { workers })
    }

    /// Calls on the pool now.
    pub fn calls(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.calls.load(Ordering::Relaxed))
            .sum()
    }

    /// Hands a call to the worker with the fewest calls.
    pub fn add(&self, job: Job) {
        let Some(w) = self
            .workers
            .iter()
            .min_by_key(|w| w.calls.load(Ordering::Relaxed))
        else {
            return;
        };
        w.calls.fetch_add(1, Ordering::Relaxed);
        if let Err(mpsc::SendError(job)) = w.jobs.send(job) {
            w.calls.fetch_sub(1, Ordering::Relaxed);
            let _ = job.reply.send(Err("the worker pool has stopped".into()));
            return;
        }
        w.thread.unpark();
    }
}

/// Starts worker `i`; its ended calls go to `finished`.
fn spawn_worker(i: usize, finished: Sender<Job>) -> std::io::Result<Worker> {
    let (jobs, incoming) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let handle = std::thread::Builder::new()
        .name(format!("sluice-worker-{i}"))
        .spawn(move || work(&incoming, &count, &finished))?;
    Ok(Worker {
        jobs,
        thread: handle.thread().clone(),
        calls,
    })
}

/// A worker's loop: take new calls, run what is due, sleep until the next
/// tick. Ends when the pool is gone and its last call has ended.
fn work(incoming: &Receiver<Job>, calls: &AtomicUsize, finished: &Sender<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(RESERVED);
    loop {
        loop {
            match incoming.try_recv() {
                Ok(job) => jobs.push(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) if jobs.is_empty() => return,
                Err(TryRecvError::Disconnected) => break,
            }
        }
        let wake = advance_all(&mut jobs, calls, finished);
        let now = Instant::now();
        std::thread::park_timeout(wake.max(now + GRAIN) - now);
    }
}

/// Runs every due tick of every call; moves ended calls to the finisher.
/// Returns when the next tick is due.
fn advance_all(jobs: &mut Vec<Job>, calls: &AtomicUsize, finished: &Sender<Job>) -> Instant {
    let mut wake = Instant::now() + IDLE;
    let mut i = 0;
    while i < jobs.len() {
        match jobs[i].graph.advance() {
            Some(next) => {
                wake = wake.min(next);
                i += 1;
            }
            None => {
                let job = jobs.swap_remove(i);
                calls.fetch_sub(1, Ordering::Relaxed);
                if let Err(mpsc::SendError(job)) = finished.send(job) {
                    finish(job);
                }
            }
        }
    }
    wake
}

/// The finisher's loop: finishes each ended call as it comes.
fn finish_all(to_finish: Receiver<Job>) {
    for job in to_finish {
        finish(job);
    }
}

/// Finishes one ended call's nodes and reports how it ended.
fn finish(job: Job) {
    let result = job.graph.finish();
    drop(job.keep);
    job.done.store(true, Ordering::Release);
    let _ = job.reply.send(result);
}
