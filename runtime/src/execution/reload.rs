//! Hot reload: a new plan swapped into a running graph between ticks.
//!
//! The shape is fundsp's `realnet`: the front end ([`Reloader::prepare`],
//! on whatever thread edits the graph) builds and preallocates the whole
//! new [`Graph`], matching every node by name against what runs:
//!
//! - a node whose kind, arguments and ports are unchanged is left vacant in
//!   the new graph: at the swap the running instance moves in, so it keeps
//!   its state (a tone's phase, a file being written, a ramp in progress);
//! - a changed node is built afresh and, when its ports are alike, its old
//!   instance keeps running beside it for [`crate::execution::fade::FADE_TICKS`] ticks
//!   while the outputs crossfade, so the change makes no click; a node of
//!   the same kind first hands its successor what it should inherit
//!   ([`crate::Node::take_state`]: a tone's phase);
//! - an I/O sink that is new or changed is built at the swap itself, after
//!   the instance it replaces (or any removed one) has closed its file, so
//!   a sink rewriting the same path never truncates the file still open
//!   (I/O sources are built ahead like the rest: a missing file is refused
//!   before anything changes).
//!
//! The prepared graph waits in a one-slot [`Mailbox`]. Each executor
//! checks an atomic flag at its tick boundaries; on a reload the threads
//! stop before the same media time, the engine's own thread performs the
//! swap ([`crate::execution::swap`]: moving nodes, copying the frames still
//! queued in the old rings into the new ones, finishing what was removed)
//! and the threads resume at that media time on the same pacing origin.
//! Replaced instances are finished and freed on the engine's thread, never
//! on a real-time one. What outlives the swap (clocks, stop flag, this
//! mailbox) lives in the engine's session, which the swap never touches.

use crate::execution::error::BuildError;
use crate::execution::graph::Graph;
use crate::execution::layout::{Layout, Origin};
use crate::observation::stats::Stats;
use crate::registry::Registry;
use sluice_dsl::Plan;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long [`Reloader::prepare`] waits for the previous reload to be
/// swapped in before giving up.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A graph built for a reload, waiting to be swapped in.
pub(crate) struct Prepared {
    pub graph: Graph,
    pub origins: Vec<Origin>,
    pub plan: Plan,
}

/// The one-slot handoff between a [`Reloader`] and the running engine.
/// Real-time threads only read `pending`; the slot's lock is taken by the
/// reloader's thread and the engine's own (non-real-time) thread.
#[derive(Default)]
pub(crate) struct Mailbox {
    pending: AtomicBool,
    closed: AtomicBool,
    slot: Mutex<Option<Box<Prepared>>>,
    /// Plans handed over, and plans swapped in.
    posted: AtomicU64,
    swapped: AtomicU64,
}

impl Mailbox {
    /// Whether a prepared graph waits (one atomic load: tick boundaries).
    #[inline]
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the waiting graph, if any.
    pub(crate) fn take(&self) -> Option<Box<Prepared>> {
        let next = self.slot.lock().ok()?.take();
        self.pending.store(false, Ordering::Release);
        next
    }

    fn post(&self, p: Prepared) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(Box::new(p));
            self.posted.fetch_add(1, Ordering::AcqRel);
            self.pending.store(true, Ordering::Release);
        }
    }

    /// Counts a plan as swapped in.
    pub(crate) fn mark_swapped(&self) {
        self.swapped.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether every plan handed over has been swapped in.
    fn all_swapped(&self) -> bool {
        self.swapped.load(Ordering::Acquire) == self.posted.load(Ordering::Acquire)
    }

    /// The run is over: later reloads are refused, a waiting one dropped.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        drop(self.take());
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("pending", &self.pending())
            .finish()
    }
}

/// Why a reload was refused. The running graph is untouched.
#[derive(Debug, Clone, PartialEq)]
pub enum ReloadError {
    /// A node of the new plan could not be built (a missing file).
    Build(BuildError),
    /// The new plan changes what cannot change while running.
    Settings(String),
    /// The previous reload has not been swapped in yet.
    Busy,
    /// The run is over.
    Ended,
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Build(e) => e.fmt(f),
            ReloadError::Settings(s) => f.write_str(s),
            ReloadError::Busy => f.write_str("the previous reload has not been applied yet"),
            ReloadError::Ended => f.write_str("the graph is no longer running"),
        }
    }
}

impl std::error::Error for ReloadError {}

/// What a reload changes, by node name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Unchanged: the running instances go on.
    pub kept: Vec<String>,
    /// Rebuilt and crossfaded from the running instance.
    pub faded: Vec<String>,
    /// Rebuilt and started fresh (their ports changed, or they do I/O).
    pub rebuilt: Vec<String>,
    /// New names.
    pub added: Vec<String>,
    /// Gone: finished at the swap.
    pub removed: Vec<String>,
}

impl Changes {
    fn between(old: &Layout, order: &[String], origins: &[Origin]) -> Changes {
        let mut c = Changes::default();
        for (name, origin) in order.iter().zip(origins) {
            let list = match origin {
                _ if !old.nodes.contains_key(name) => &mut c.added,
                Origin::Kept => &mut c.kept,
                Origin::Changed { fade: true } => &mut c.faded,
                _ => &mut c.rebuilt,
            };
            list.push(name.clone());
        }
        let new: HashSet<&str> = order.iter().map(String::as_str).collect();
        c.removed = old
            .nodes
            .keys()
            .filter(|n| !new.contains(n.as_str()))
            .cloned()
            .collect();
        for list in [
            &mut c.kept,
            &mut c.faded,
            &mut c.rebuilt,
            &mut c.added,
            &mut c.removed,
        ] {
            list.sort();
        }
        c
    }

    /// Whether the new plan is the running one.
    pub fn is_empty(&self) -> bool {
        self.faded.is_empty()
            && self.rebuilt.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![format!("{} kept", self.kept.len())];
        for (what, names) in [
            ("crossfaded", &self.faded),
            ("restarted", &self.rebuilt),
            ("added", &self.added),
            ("removed", &self.removed),
        ] {
            if !names.is_empty() {
                parts.push(format!("{what} {}", names.join(", ")));
            }
        }
        f.write_str(&parts.join("; "))
    }
}

/// Swaps new plans into a running engine (take it with
/// [`crate::Engine::reloader`] before the run starts; it lives on after).
pub struct Reloader {
    layout: Layout,
    mailbox: Arc<Mailbox>,
    stats: Arc<Stats>,
}

impl fmt::Debug for Reloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloader")
            .field("nodes", &self.layout.nodes.len())
            .finish()
    }
}

impl Reloader {
    pub(crate) fn new(layout: Layout, mailbox: Arc<Mailbox>, stats: Arc<Stats>) -> Reloader {
        Reloader {
            layout,
            mailbox,
            stats,
        }
    }

    /// Builds `plan` on this thread (every allocation and file opened here,
    /// except I/O nodes, which open at the swap), then hands it to the
    /// running engine, which swaps it in at its next tick boundary. Waits
    /// first for a previous reload to be swapped in. On an error nothing
    /// changes.
    pub fn prepare(&mut self, plan: &Plan, registry: &Registry) -> Result<Changes, ReloadError> {
        self.wait_applied()?;
        if let Some(why) = self.layout.incompatible(&plan.settings) {
            return Err(ReloadError::Settings(why));
        }
        let (graph, origins) =
            Graph::build(plan, registry, Some(&self.layout)).map_err(ReloadError::Build)?;
        let order: Vec<String> = graph.tasks.iter().map(|t| t.name.clone()).collect();
        let changes = Changes::between(&self.layout, &order, &origins);
        graph.stats.carry(&self.stats);
        graph.stats.carry_reports(&self.stats);
        self.stats = graph.stats.clone();
        self.layout = graph.layout.clone();
        self.mailbox.post(Prepared {
            graph,
            origins,
            plan: plan.clone(),
        });
        Ok(changes)
    }

    /// The statistics of the newest plan handed over (they carry the run's
    /// ticks and media time on from the graph they replace).
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Whether the last plan handed over has been swapped in (false for
    /// one the run ended before).
    pub fn applied(&self) -> bool {
        self.mailbox.all_swapped()
    }

    fn wait_applied(&self) -> Result<(), ReloadError> {
        let start = Instant::now();
        loop {
            if self.mailbox.closed.load(Ordering::Acquire) {
                return Err(ReloadError::Ended);
            }
            if !self.mailbox.pending() {
                return Ok(());
            }
            if start.elapsed() > APPLY_TIMEOUT {
                return Err(ReloadError::Busy);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
