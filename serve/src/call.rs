//! One call's graph and who ticks it.
//!
//! A call is a graph object (it owns the engine, the graph's ends of the
//! call's rings and its pacing clock) plus the connection's ends of the
//! rings ([`CallSide`]), which the I/O side keeps. The two meet only in
//! wait-free rings. [`launch`] builds the graph off the I/O threads and
//! hands it to the pool of real-time workers ([`Pool`]), which ticks it
//! on its own clock; the I/O side only sees a [`RunningCall`] (is it done,
//! stop it, its summary).

use crate::pool::{Job, Pool};
use sluice_nodes::acs::call::CallSide;
use sluice_nodes::acs::protocol::AudioMetadata;
use sluice_nodes::acs::stats::CallStats;
use sluice_runtime::Stats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// One call's graph, as the server drives it.
pub trait CallGraph: Send {
    /// Something any thread calls to stop the run (the call ended and the
    /// graph does not end on its own).
    fn stopper(&self) -> Box<dyn Fn() + Send + Sync>;
    /// Runs every tick that is due by now on the calling thread (a pool
    /// worker); returns when the next one is due, or `None` once the
    /// graph has ended (`acs_in` ends once the call is over, or it was
    /// stopped). Never blocks.
    fn advance(&mut self) -> Option<Instant>;
    /// Finishes an ended graph's nodes (files get their headers; may do
    /// I/O); returns a one-line summary.
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

/// The graph and rings are opaque.
impl std::fmt::Debug for BuiltCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltCall").finish_non_exhaustive()
    }
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

/// Whether it has ended, and its counters.
impl std::fmt::Debug for RunningCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningCall")
            .field("done", &self.is_done())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl RunningCall {
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
            .unwrap_or_else(|_| Err("the call's graph was lost (its worker stopped)".into()))
    }
}

/// What [`launch`] hands back once the graph is built.
pub type Launched = Result<(CallSide, RunningCall), String>;

/// Builds the call's graph on a short-lived thread of its own
/// (`build-NAME`: building reads files and allocates, off the I/O threads
/// and the workers), then hands it to `pool`; the receiver gets the
/// connection's ends once built.
pub fn launch(
    pool: Arc<Pool>,
    factory: Arc<dyn CallFactory>,
    meta: AudioMetadata,
    name: &str,
) -> oneshot::Receiver<Launched> {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("build-{name}"))
        .spawn(move || match factory.build(&meta) {
            Ok(built) => start(&pool, built, tx),
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
    if let Err(e) = spawned {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Err(format!("cannot start a thread for the call: {e}")));
        return rx;
    }
    rx
}

/// Hands a built call to the pool and its ends to the connection.
fn start(pool: &Pool, built: BuiltCall, tx: oneshot::Sender<Launched>) {
    let done = Arc::new(AtomicBool::new(false));
    let (reply, summary) = oneshot::channel();
    let running = RunningCall {
        done: done.clone(),
        stop: built.graph.stopper(),
        summary,
        stats: built.graph.stats(),
        counters: built.side.stats.clone(),
    };
    let stop = built.graph.stopper();
    let mut keep: Option<Box<dyn Send>> = None;
    if let Err(Ok((side, _))) = tx.send(Ok((built.side, running))) {
        // The connection went away while the graph was built: run it to
        // its end anyway, so its files are finished.
        stop();
        keep = Some(Box::new(side));
    }
    pool.add(Job {
        graph: built.graph,
        done,
        reply,
        keep,
    });
}
