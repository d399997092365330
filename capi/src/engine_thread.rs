//! The engine's own thread: it owns the [`Driven`] engine, parks while
//! nothing is queued, and runs one tick of an input's clock domain for
//! each frame pushed into that input, so the host's pushes drive the
//! clock without the host's callback thread ever running the graph.
//!
//! Each push also sends the host's timestamp on a small ring; the thread
//! notes which media time the tick it runs for that push had, and a pop
//! maps a frame's media time back to the host's timestamp through those
//! notes ([`Stamps`]).

use sluice_dsl::Domain;
use sluice_runtime::{Driven, RunError, Summary};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};

/// Timestamps a push can have waiting for its tick: more than an input's
/// frames, so the ring is never full while a frame could be queued.
pub(crate) const PTS_RING: usize = 4 * sluice_runtime::transport::host::HOST_FRAMES;

/// Ticks whose host timestamps a domain remembers: a pop finds its
/// frame's among the last this many ticks (frames wait in an output's
/// ring of 4 at most).
const STAMPS: usize = 16;

/// One remembered tick: its media time (plus one; 0 while it is being
/// written) and the host timestamp of the push it ran for.
#[derive(Debug, Default)]
struct Slot {
    time: AtomicU64,
    pts: AtomicU64,
}

/// The host timestamps of a domain's recent ticks, written by the engine
/// thread and read by any popping thread (a seqlock per slot: no lock,
/// no allocation).
#[derive(Debug, Default)]
pub(crate) struct Stamps {
    slots: [Slot; STAMPS],
    next: AtomicUsize,
}

impl Stamps {
    /// Notes that the tick at media time `time` ran for a push stamped
    /// `pts` (engine thread only).
    fn record(&self, time: u64, pts: u64) {
        let at = self.next.load(Ordering::Relaxed);
        self.next.store((at + 1) % STAMPS, Ordering::Relaxed);
        let slot = &self.slots[at];
        slot.time.store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        slot.pts.store(pts, Ordering::Relaxed);
        slot.time.store(time + 1, Ordering::Release);
    }

    /// The host timestamp of the push whose tick had media time `time`,
    /// if it is still remembered.
    pub(crate) fn find(&self, time: u64) -> Option<u64> {
        self.slots.iter().find_map(|slot| {
            let before = slot.time.load(Ordering::Acquire);
            if before != time + 1 {
                return None;
            }
            let pts = slot.pts.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            (slot.time.load(Ordering::Relaxed) == before).then_some(pts)
        })
    }
}

/// What the engine thread shares with the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    /// True from start until stop: pushes are taken while it is.
    live: AtomicBool,
    /// Per clock domain, the host timestamps of its recent ticks.
    stamps: Vec<(Domain, Stamps)>,
}

impl Shared {
    /// Whether the graph runs (started, not stopped).
    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The timestamps of `domain`'s ticks.
    pub(crate) fn stamps(&self, domain: Domain) -> Option<&Stamps> {
        self.stamps
            .iter()
            .find(|(d, _)| *d == domain)
            .map(|(_, s)| s)
    }
}

/// What a handle needs of the running engine: the shared state and the
/// thread to wake.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) shared: Arc<Shared>,
    pub(crate) engine: Thread,
}

impl Link {
    /// Wakes the engine thread (allocates nothing, never blocks).
    pub(crate) fn wake(&self) {
        self.engine.unpark();
    }
}

/// The engine thread's end of an input: its domain and the timestamps of
/// the pushes waiting for their tick.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) domain: Domain,
    pub(crate) pts: rtrb::Consumer<u64>,
}

/// The running engine thread.
#[derive(Debug)]
pub(crate) struct EngineThread {
    link: Link,
    handle: JoinHandle<Result<Summary, RunError>>,
}

impl EngineThread {
    /// Starts the thread that runs `driven` for the pushes `feeds` bring.
    pub(crate) fn spawn(driven: Driven, feeds: Vec<Feed>) -> std::io::Result<EngineThread> {
        let shared = Arc::new(Shared {
            live: AtomicBool::new(true),
            stamps: driven
                .domains()
                .into_iter()
                .map(|d| (d, Stamps::default()))
                .collect(),
        });
        let inside = shared.clone();
        let handle = std::thread::Builder::new()
            .name("sluice-engine".to_string())
            .spawn(move || run(driven, feeds, &inside))?;
        let engine = handle.thread().clone();
        Ok(EngineThread {
            link: Link { shared, engine },
            handle,
        })
    }

    /// What the handles need to push and pop.
    pub(crate) fn link(&self) -> &Link {
        &self.link
    }

    /// Stops taking pushes, lets the thread drain and finish the graph,
    /// and waits for it; the run's summary or what went wrong.
    pub(crate) fn stop(self) -> Result<Summary, String> {
        self.link.shared.live.store(false, Ordering::Release);
        self.link.wake();
        match self.handle.join() {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("the engine thread panicked".to_string()),
        }
    }
}

/// The engine thread: a tick per queued push until stopped, then the
/// graph drained and finished.
fn run(mut driven: Driven, mut feeds: Vec<Feed>, shared: &Shared) -> Result<Summary, RunError> {
    loop {
        let stepped = step_queued(&mut driven, &mut feeds, shared);
        if !shared.is_live() {
            break;
        }
        if !stepped {
            std::thread::park();
        }
    }
    driven.stop_handle().stop();
    let domains = driven.domains();
    while !driven.is_ended() {
        for &d in &domains {
            driven.step(d);
        }
    }
    driven.finish()
}

/// Runs one tick of each feed's domain per push waiting there, noting its
/// host timestamp; whether any ran.
fn step_queued(driven: &mut Driven, feeds: &mut [Feed], shared: &Shared) -> bool {
    let mut stepped = false;
    for feed in feeds {
        while let Ok(pts) = feed.pts.pop() {
            if let (Some(time), Some(stamps)) =
                (driven.next_tick(feed.domain), shared.stamps(feed.domain))
            {
                stamps.record(time, pts);
            }
            driven.step(feed.domain);
            stepped = true;
        }
    }
    stepped
}
