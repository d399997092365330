//! One call's graph and who ticks it.
//!
//! A call is a graph object (it owns the engine, the graph's ends of the
//! call's rings and its pacing clock) plus the connection's ends of the
//! rings ([`CallSide`]), which the I/O side keeps. The two meet only in
//! wait-free rings. The pool of real-time workers ([`crate::pool`])
//! builds the graph and ticks it; the I/O side only sees a
//! [`RunningCall`] (is it done, stop it, its summary).

use sluice_nodes::acs::call::CallSide;
use sluice_nodes::acs::protocol::AudioMetadata;
use sluice_nodes::acs::stats::CallStats;
use sluice_runtime::Stats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// One call's graph, as the server drives it.
pub trait CallGraph: Send {
    /// Something any thread calls to stop the run (the call ended and the
    /// graph does not end on its own).
    fn stopper(&self) -> Box<dyn Fn() + Send + Sync>;
    /// Runs every tick due by `media` (nanoseconds of the call's media
    /// time) on the calling thread, a real-time worker: it must neither
    /// allocate nor lock. Returns whether the graph has ended (`acs_in`
    /// ends once the call is over, or it was stopped).
    fn step_until(&mut self, media: u64) -> bool;
    /// Media time (nanoseconds) of the next tick due, `None` once ended:
    /// the worker sleeps until the earliest of its calls'.
    fn next_tick(&self) -> Option<u64>;
    /// Finishes the ended graph (files get their headers; off the
    /// workers) and returns a one-line summary.
    fn finish(self: Box<Self>) -> Result<String, String>;
    /// The graph's live statistics (tick times), if it keeps any.
    fn stats(&self) -> Option<Arc<Stats>> {
        None
    }
}

/// A call's graph, built, with the connection's ends of its rings.
pub struct BuiltCall {
    /// The graph.
    pub graph: Box<dyn CallGraph>,
    /// The connection's ends.
    pub side: CallSide,
}

/// Builds a call's graph for its format (off the I/O threads).
pub trait CallFactory: Send + Sync {
    /// Builds the graph of the call `meta` describes.
    fn build(&self, meta: &AudioMetadata) -> Result<BuiltCall, String>;
}

impl<F> CallFactory for F
where
    F: Fn(&AudioMetadata) -> Result<BuiltCall, String> + Send + Sync,
{
    fn build(&self, meta: &AudioMetadata) -> Result<BuiltCall, String> {
        self(meta)
    }
}

/// A call whose graph is running, as the I/O side sees it.
pub struct RunningCall {
    done: Arc<AtomicBool>,
    stop: Box<dyn Fn() + Send + Sync>,
    summary: oneshot::Receiver<Result<String, String>>,
    /// The graph's live statistics, for the metrics.
    pub stats: Option<Arc<Stats>>,
    /// The call's counters, for the metrics.
    pub counters: Arc<CallStats>,
}

impl RunningCall {
    /// The I/O side's view of a call: `done` is set once `summary` has
    /// been sent; `stop` stops the graph.
    pub fn new(
        done: Arc<AtomicBool>,
        stop: Box<dyn Fn() + Send + Sync>,
        summary: oneshot::Receiver<Result<String, String>>,
        stats: Option<Arc<Stats>>,
        counters: Arc<CallStats>,
    ) -> RunningCall {
        RunningCall {
            done,
            stop,
            summary,
            stats,
            counters,
        }
    }

    /// Whether the graph has ended (its summary is ready).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Stops the graph (it drains and finishes its files).
    pub fn stop(&self) {
        (self.stop)();
    }

    /// The run's one-line summary, once the graph has ended.
    pub async fn summary(self) -> Result<String, String> {
        self.summary
            .await
            .unwrap_or_else(|_| Err("the call was dropped before it was finished".into()))
    }
}

/// What [`crate::pool::Pool::launch`] hands back once the graph is built.
pub type Launched = Result<(CallSide, RunningCall), String>;
