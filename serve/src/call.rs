//! One call's graph and who ticks it.
//!
//! A call is a graph object (it owns the engine, the graph's ends of the
//! call's rings and its pacing clock) plus the connection's ends of the
//! rings ([`CallSide`]), which the I/O side keeps. The two meet only in
//! wait-free rings. Today [`launch`] builds the graph and ticks it on a
//! thread of its own; a pool of real-time workers can take over by
//! replacing that thread, nothing else: the I/O side only sees a
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
    /// Runs the graph in real time on the calling thread until it ends
    /// (`acs_in` ends once the call is over) or is stopped; returns a
    /// one-line summary.
    fn run(self: Box<Self>) -> Result<String, String>;
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
            .unwrap_or_else(|_| Err("the graph's thread panicked".into()))
    }
}

/// What [`launch`] hands back once the graph is built.
pub type Launched = Result<(CallSide, RunningCall), String>;

/// Builds the call's graph and ticks it in real time on a thread of its
/// own (`call-NAME`); the receiver gets the connection's ends once built.
pub fn launch(
    factory: Arc<dyn CallFactory>,
    meta: AudioMetadata,
    name: &str,
) -> oneshot::Receiver<Launched> {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("call-{name}"))
        .spawn(move || {
            let built = match factory.build(&meta) {
                Ok(b) => b,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let done = Arc::new(AtomicBool::new(false));
            let (sum_tx, sum_rx) = oneshot::channel();
            let running = RunningCall {
                done: done.clone(),
                stop: built.graph.stopper(),
                summary: sum_rx,
                stats: built.graph.stats(),
                counters: built.side.stats.clone(),
            };
            let stop = built.graph.stopper();
            let mut gone = None;
            if let Err(Ok((side, _))) = tx.send(Ok((built.side, running))) {
                // The connection went away while the graph was built: run
                // it to its end anyway, so its files are finished.
                stop();
                gone = Some(side);
            }
            let result = built.graph.run();
            drop(gone);
            done.store(true, Ordering::Release);
            let _ = sum_tx.send(result);
        });
    if let Err(e) = spawned {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Err(format!("cannot start a thread for the call: {e}")));
        return rx;
    }
    rx
}
