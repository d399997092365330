//! The driven executor: the caller's thread runs the graph, one tick at a
//! time, when the caller says. No thread is made; nothing is paced. For a
//! server that ticks many graphs on a fixed pool of worker threads, and
//! for a host program whose own pushes drive the clock.
//!
//! A tick is the one the unpaced executor runs ([`Cursor::tick`]): queued
//! parameter changes, then every node of the domain in the plan's order,
//! I/O nodes included, all on the calling thread. A step allocates and
//! frees nothing, unless it finds a hot reload waiting: then it swaps the
//! new graph in first (building deferred sinks, finishing what was
//! replaced), as the engine's own thread does in the other executors.

use crate::clock::pace::PaceClock;
use crate::execution::error::RunError;
use crate::execution::graph::Graph;
use crate::execution::session::{Session, StopHandle};
use crate::execution::swap::{self, Retired};
use crate::execution::task::DomainClock;
use crate::execution::threads::{Parallel, ThreadEvent, ThreadRole};
use crate::execution::tick::Cursor;
use crate::observation::stats::{Stats, Summary};
use sluice_dsl::Domain;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// An engine run by its caller's thread: see [`crate::Engine::drive`].
///
/// Call [`Driven::step`] (one tick of a domain) or [`Driven::step_until`]
/// (every tick due by a media time) until either says the graph has
/// ended, then [`Driven::finish`] (which finishes every node: call it,
/// or files are left without their headers). A stop works as elsewhere:
/// sources end at their next tick and the graph drains over the next few
/// steps.
pub struct Driven {
    graph: Graph,
    session: Session,
    cursor: Cursor,
    retired: Retired,
    errors: Vec<String>,
    started: Instant,
}

impl std::fmt::Debug for Driven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driven")
            .field("nodes", &self.graph.tasks.len())
            .field("ended", &self.is_ended())
            .finish()
    }
}

impl Driven {
    pub(crate) fn new(mut graph: Graph, session: Session) -> Driven {
        let at = session.resume_at;
        Driven {
            cursor: Cursor::new(&mut graph, |c| c.first_tick_at(at)),
            graph,
            session,
            retired: Retired::default(),
            errors: Vec::new(),
            started: Instant::now(),
        }
    }

    /// The graph's clock domains (audio first when it has one).
    pub fn domains(&self) -> Vec<Domain> {
        self.graph.domains.iter().map(|c| c.domain).collect()
    }

    /// Media time, in nanoseconds, at which `domain`'s next tick starts;
    /// `None` once its nodes have all ended (or if the graph has no such
    /// domain).
    pub fn next_tick(&self, domain: Domain) -> Option<u64> {
        let d = self.index(domain)?;
        (!self.cursor.done[d]).then(|| self.graph.domains[d].time(self.cursor.next[d]))
    }

    /// Runs the next tick of `domain` (nothing if it has ended or the
    /// graph has none); returns whether the whole graph has ended.
    pub fn step(&mut self, domain: Domain) -> bool {
        self.swap_if_posted();
        if let Some(d) = self.index(domain).filter(|&d| !self.cursor.done[d]) {
            self.tick(d);
        }
        self.is_ended()
    }

    /// Runs every tick, of every domain, that starts at or before `time`
    /// (nanoseconds of media time), in media-time order (audio before
    /// video at a tie); returns whether the graph has ended.
    pub fn step_until(&mut self, time: u64) -> bool {
        loop {
            self.swap_if_posted();
            match self.cursor.earliest(&self.graph.domains) {
                Some(d) if self.graph.domains[d].time(self.cursor.next[d]) <= time => self.tick(d),
                _ => return self.is_ended(),
            }
        }
    }

    /// Media time, in nanoseconds, at which the next tick of any domain
    /// starts; `None` once the graph has ended. A caller pacing many
    /// graphs sleeps until the earliest of these.
    pub fn next_due(&self) -> Option<u64> {
        let d = self.cursor.earliest(&self.graph.domains)?;
        Some(self.graph.domains[d].time(self.cursor.next[d]))
    }

    /// For a caller that paces the graph itself (a pool of workers ticking
    /// many graphs in real time): runs every tick due by `clock`'s now (its
    /// origin is the graph's media time 0), as [`Driven::step_until`]
    /// does, and records each tick's lateness, duration and xrun (it ended
    /// after the next tick was due) in the domain statistics, as the
    /// real-time executor does. Returns whether the graph has ended.
    pub fn run_due(&mut self, clock: &dyn PaceClock) -> bool {
        loop {
            self.swap_if_posted();
            let Some(d) = self.cursor.earliest(&self.graph.domains) else {
                return true;
            };
            let domain = self.graph.domains[d];
            let (k, now) = (self.cursor.next[d], clock.now());
            let due = domain.time(k);
            if due > now {
                return false;
            }
            let watch = self.session.timing.watch;
            let began = watch.now();
            self.tick(d);
            let took = watch.ns(began, watch.now());
            let xrun = clock.now() > domain.time(k + 1);
            self.graph.stats.domain_tick(d, now - due, took, xrun);
        }
    }

    /// Whether every node has ended (sources done, or stopped and
    /// drained).
    pub fn is_ended(&self) -> bool {
        self.cursor.ended()
    }

    /// Live statistics (a reload replaces them: ask again after one).
    pub fn stats(&self) -> Arc<Stats> {
        self.graph.stats.clone()
    }

    /// A handle that stops the run from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.session.stop_handle()
    }

    /// Finishes every node (files get their headers) and reports, as
    /// [`crate::Engine::run`] does at the end of a run.
    pub fn finish(mut self) -> Result<Summary, RunError> {
        self.cursor.park(&mut self.graph);
        let mut errors = std::mem::take(&mut self.errors);
        self.retired.finish(&mut errors);
        self.graph.finish_nodes(&mut errors);
        let wall = self.started.elapsed();
        self.session.conclude(&self.graph.stats, wall, errors)
    }

    fn index(&self, domain: Domain) -> Option<usize> {
        self.graph.domains.iter().position(|c| c.domain == domain)
    }

    /// One tick of domain `d` on this thread. A node that panics ends the
    /// run: every node ends, and `finish` reports it.
    fn tick(&mut self, d: usize) {
        self.session.tell(ThreadEvent::Started(ThreadRole::Driven));
        let (graph, session, cursor) = (&mut self.graph, &self.session, &mut self.cursor);
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cursor.tick(graph, session, d, Parallel::Off)
        }));
        self.session.tell(ThreadEvent::Stopping(ThreadRole::Driven));
        if ran.is_err() {
            self.errors
                .push("a node panicked; the run was cut short".to_string());
            self.session.stop.store(true, Ordering::Release);
            self.graph.tasks.iter_mut().for_each(|t| t.end());
            self.cursor.done.iter_mut().for_each(|d| *d = true);
        }
    }

    /// Swaps in a reload waiting in the mailbox. Each domain resumes at its
    /// own next tick; a new domain at the earliest of them.
    fn swap_if_posted(&mut self) {
        if !self.session.mailbox.pending() {
            return;
        }
        let Some(next) = self.session.mailbox.take() else {
            return;
        };
        let at: Vec<(Domain, u64)> = (0..self.graph.domains.len())
            .map(|d| (self.graph.domains[d].domain, self.cursor.next[d]))
            .collect();
        let earliest = (0..at.len())
            .map(|d| self.graph.domains[d].time(at[d].1))
            .min()
            .unwrap_or(self.session.resume_at);
        let first_tick = |c: &DomainClock| match at.iter().find(|(d, _)| *d == c.domain) {
            Some(&(_, k)) => k,
            None => c.first_tick_at(earliest),
        };
        let cursor = std::mem::replace(&mut self.cursor, Cursor::empty());
        cursor.park(&mut self.graph);
        self.retired = swap::swap(&mut self.graph, next, first_tick, &mut self.errors);
        self.session.mailbox.mark_swapped();
        self.retired.finish(&mut self.errors);
        self.session.resume_at = earliest;
        self.cursor = Cursor::new(&mut self.graph, first_tick);
    }
}
