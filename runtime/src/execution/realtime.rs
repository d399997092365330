//! The real-time executor: one thread per clock domain, paced by its clock
//! (a sound device's, else the session's), and one non-real-time thread
//! for I/O nodes, joined to the others by rings. The calling thread waits
//! for them, asks them to pause when a reload is posted, and meanwhile
//! finishes what the last reload retired.
//!
//! The audio domain's thread asks for real-time scheduling first
//! ([`crate::execution::priority`]); refused, it runs on at normal
//! priority, and the stats say which it got.

use crate::clock::pace::PaceClock;
use crate::control::CommandRx;
use crate::execution::graph::Graph;
use crate::execution::priority;
use crate::execution::session::Session;
use crate::execution::swap::Retired;
use crate::execution::task::{DomainClock, Task};
use crate::execution::threads::{ThreadEvent, ThreadRole};
use crate::execution::tick::{apply_commands, Outcome, Tick};
use crate::observation::stats::Stats;
use sluice_dsl::Domain;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{ScopedJoinHandle, Thread};
use std::time::Duration;

/// What a real-time segment's threads share to stop together for a
/// reload: the media time to stop before (`u64::MAX`: none asked) and how
/// many domain threads have left their loop.
struct Pause {
    at: AtomicU64,
    domains_out: AtomicUsize,
}

impl Pause {
    fn at(&self) -> u64 {
        self.at.load(Ordering::Acquire)
    }
}

/// What one processing thread takes and gives back.
struct Work {
    thread: usize,
    tasks: Vec<Task>,
    commands: Vec<CommandRx>,
}

/// A thread's result: its work back, and whether it paused for a reload
/// (`Err`: a node panicked).
type Joined = (Work, Result<bool, ()>);

/// Runs `graph` in real time until it ends (false) or its threads paused
/// for a reload (true; the session's `resume_at` says where). Thread
/// failures go to `errors`; the tasks are back in the graph either way.
pub(crate) fn run(
    graph: &mut Graph,
    session: &mut Session,
    retired: &mut Retired,
    errors: &mut Vec<String>,
) -> bool {
    let paces = paces(graph, session);
    let work = split(graph);
    let pause = Pause {
        at: AtomicU64::new(u64::MAX),
        domains_out: AtomicUsize::new(0),
    };
    let io = graph.threads - 1;
    let (back, paused) = {
        let shared = Shared {
            session,
            stats: &graph.stats,
            domains: &graph.domains,
            paces: &paces,
            pause: &pause,
            coordinator: std::thread::current(),
            domain_threads: work.iter().filter(|w| w.thread != io).count(),
        };
        std::thread::scope(|s| {
            let handles = spawn(s, &shared, work, errors);
            retired.finish(errors);
            // Each thread wakes this one as it leaves; a posted reload is
            // seen within one wait.
            while !handles.iter().all(|(_, h)| h.is_finished()) {
                if shared.session.mailbox.pending() && pause.at() == u64::MAX {
                    pause.at.store(pause_time(&paces[..io]), Ordering::Release);
                }
                std::thread::park_timeout(Duration::from_millis(10));
            }
            join(handles, errors)
        })
    };
    rejoin(graph, back);
    if paused {
        session.resume_at = pause.at();
    }
    paused
}

/// The graph's tasks and command rings taken apart by thread (threads
/// with no task left out).
fn split(graph: &mut Graph) -> Vec<Work> {
    let mut commands = std::mem::take(&mut graph.commands);
    commands.resize_with(graph.threads, Vec::new);
    graph
        .split_by_thread()
        .into_iter()
        .zip(commands)
        .enumerate()
        .map(|(thread, (tasks, commands))| Work {
            thread,
            tasks,
            commands,
        })
        .filter(|w| !w.tasks.is_empty())
        .collect()
}

/// Puts what the threads gave back into the graph, in the plan's order.
fn rejoin(graph: &mut Graph, back: Vec<Work>) {
    graph.commands = (0..graph.threads).map(|_| Vec::new()).collect();
    let mut groups = Vec::with_capacity(back.len());
    for w in back {
        graph.commands[w.thread] = w.commands;
        groups.push(w.tasks);
    }
    graph.rejoin(groups);
}

/// Each thread's pace clock and origin on it: a domain on its device's
/// clock if a node offers one, else the session's. A domain keeps its
/// origin across reloads while its clock stays the same; on a new clock
/// the origin puts `resume_at` at now. Remembered in the session.
fn paces(graph: &Graph, session: &mut Session) -> Vec<(Arc<dyn PaceClock>, u64)> {
    let devices = graph.device_clocks();
    let paces: Vec<(Arc<dyn PaceClock>, u64)> = (0..graph.threads)
        .map(|th| {
            let pace = match devices.get(th) {
                Some(Some(device)) => device.clone(),
                _ => session.clock.clone(),
            };
            let domain = graph.domains.get(th).map(|c| c.domain);
            let kept = session
                .origins
                .iter()
                .find(|(d, p, _)| Some(*d) == domain && Arc::ptr_eq(p, &pace));
            let origin = match kept {
                Some((_, _, origin)) => *origin,
                None => pace.now().saturating_sub(session.resume_at),
            };
            (pace, origin)
        })
        .collect();
    session.origins = graph
        .domains
        .iter()
        .zip(&paces)
        .map(|(c, (pace, origin))| (c.domain, pace.clone(), *origin))
        .collect();
    paces
}

/// What every thread of a segment reads.
struct Shared<'a> {
    session: &'a Session,
    stats: &'a Stats,
    domains: &'a [DomainClock],
    paces: &'a [(Arc<dyn PaceClock>, u64)],
    pause: &'a Pause,
    coordinator: Thread,
    domain_threads: usize,
}

/// Starts a thread for each piece of work: domain threads, then the I/O
/// thread (the last index).
fn spawn<'s, 'e>(
    s: &'s std::thread::Scope<'s, 'e>,
    shared: &'s Shared<'e>,
    work: Vec<Work>,
    errors: &mut Vec<String>,
) -> Vec<(String, ScopedJoinHandle<'s, Joined>)> {
    let mut handles = Vec::new();
    for w in work {
        let name = match shared.domains.get(w.thread) {
            Some(_) => format!("sluice-rt-{}", w.thread),
            None => "sluice-io".to_string(),
        };
        match std::thread::Builder::new()
            .name(name.clone())
            .spawn_scoped(s, move || shared.thread(w))
        {
            Ok(h) => handles.push((name, h)),
            Err(e) => errors.push(format!("could not start thread {name}: {e}")),
        }
    }
    handles
}

/// Waits for every thread; says whether they paused for a reload.
fn join(
    handles: Vec<(String, ScopedJoinHandle<'_, Joined>)>,
    errors: &mut Vec<String>,
) -> (Vec<Work>, bool) {
    let mut back = Vec::with_capacity(handles.len());
    let mut paused = false;
    for (name, h) in handles {
        match h.join() {
            Ok((w, Ok(p))) => {
                paused |= p;
                back.push(w);
            }
            Ok((w, Err(()))) => {
                errors.push(format!("a node on thread {name} panicked"));
                back.push(w);
            }
            Err(_) => errors.push(format!("thread {name} panicked")),
        }
    }
    (back, paused)
}

impl Shared<'_> {
    /// One processing thread, start to end. A node that panics stops
    /// everything: this thread's nodes end so the others drain instead of
    /// waiting for them.
    fn thread(&self, mut w: Work) -> Joined {
        let domain = self.domains.get(w.thread).copied();
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match domain {
            Some(clock) => self.domain_loop(w.thread, clock, &mut w),
            None => self.io_loop(&mut w),
        }));
        if ran.is_err() {
            self.session.stop.store(true, Ordering::Release);
            self.pause.domains_out.fetch_add(1, Ordering::AcqRel);
            w.tasks.iter_mut().for_each(Task::end);
        }
        self.coordinator.unpark();
        (w, ran.map_err(|_| ()))
    }

    /// One clock domain's thread: tick `k` starts at `origin + time(k)`
    /// less the clock's lead; a tick that ends after its clock has reached
    /// the next tick's time counts an xrun. Runs until every node has
    /// ended (false) or a reload stops it before its pause time (true).
    fn domain_loop(&self, d: usize, clock: DomainClock, w: &mut Work) -> bool {
        if let (Some(p), Domain::Audio) = (self.session.rt_priority, clock.domain) {
            if let Some(s) = self.stats.domains.get(d) {
                s.set_scheduling(priority::request_fifo(p));
            }
        }
        let role = ThreadRole::Domain(d);
        self.session.tell(ThreadEvent::Started(role));
        let (pace, origin) = (&*self.paces[d].0, self.paces[d].1);
        let mut k = clock.first_tick_at(self.session.resume_at);
        let paused = loop {
            let now = clock.time(k);
            let due = (origin + now).saturating_sub(pace.lead());
            pace.wait_until(due);
            // Checked after the wait: a tick that starts running began
            // before any pause time set since (see `pause_time`).
            if now >= self.pause.at() {
                break true;
            }
            let late = pace.now().saturating_sub(due);
            if !self.domain_tick(d, clock, k, late, w).live {
                break false;
            }
            k += 1;
        };
        self.pause.domains_out.fetch_add(1, Ordering::AcqRel);
        self.session.tell(ThreadEvent::Stopping(role));
        paused
    }

    /// Tick `k` of domain `d`, started `late` ns after it was due.
    fn domain_tick(
        &self,
        d: usize,
        clock: DomainClock,
        k: u64,
        late: u64,
        w: &mut Work,
    ) -> Outcome {
        let (pace, origin) = (&*self.paces[d].0, self.paces[d].1);
        let now = clock.time(k);
        apply_commands(&mut w.commands, &mut w.tasks, None);
        let watch = &self.session.timing.watch;
        let tick = Tick {
            stats: self.stats,
            watch,
            domain: d,
            clock: Some((k, now)),
            stopping: self.session.stopping(now),
            timed: self.session.timing.samples(k),
        };
        let began = watch.now();
        let out = tick.run(&mut w.tasks);
        if out.ran {
            let ended = watch.now();
            self.stats.tick(clock.time(k + 1));
            let xrun = pace.now() > origin + clock.time(k + 1);
            self.stats
                .domain_tick(d, late, watch.ns(began, ended), xrun);
        }
        out
    }

    /// The I/O thread: runs its nodes whenever their inputs have frames
    /// and their outputs have room, sleeping briefly when nothing moved.
    /// Sources here read ahead as far as their rings allow. For a reload
    /// it stops once every domain thread has: after a last drain of what
    /// they sent (sinks only; what sources read ahead stays queued and is
    /// carried over).
    fn io_loop(&self, w: &mut Work) -> bool {
        self.session.tell(ThreadEvent::Started(ThreadRole::Io));
        let mut passes = 0u64;
        let paused = loop {
            passes += 1;
            let pausing = self.pause.at() != u64::MAX
                && self.pause.domains_out.load(Ordering::Acquire) >= self.domain_threads;
            if pausing {
                while self.io_pass(w, true, passes).ran {}
                break true;
            }
            let out = self.io_pass(w, false, passes);
            if !out.live {
                break false;
            }
            if !out.ran {
                std::thread::sleep(Duration::from_micros(500));
            }
        };
        self.session.tell(ThreadEvent::Stopping(ThreadRole::Io));
        paused
    }

    /// Steps every I/O node once (only those with inputs when `draining`),
    /// with back-pressure: a node waits for room rather than dropping.
    fn io_pass(&self, w: &mut Work, draining: bool, pass: u64) -> Outcome {
        apply_commands(&mut w.commands, &mut w.tasks, None);
        let s = self.session;
        let tick = Tick {
            stats: self.stats,
            watch: &s.timing.watch,
            domain: usize::MAX,
            clock: None,
            stopping: s.stop.load(Ordering::Acquire),
            timed: s.timing.samples(pass),
        };
        let mut out = Outcome::default();
        let mut t0 = if tick.timed { tick.watch.now() } else { 0 };
        for t in w.tasks.iter_mut().filter(|t| !(draining && t.is_source())) {
            let stopping = tick.stopping || (t.is_source() && s.stopping(t.clock.time(t.calls)));
            let (step, t1) = tick.step(t, stopping, true, t0);
            out = out.add(step);
            t0 = t1;
        }
        out
    }
}

/// A media time after the start of every tick already begun in any domain
/// (a tick starts up to its clock's lead before its time), so each domain
/// thread can stop before the first tick at or after it.
fn pause_time(paces: &[(Arc<dyn PaceClock>, u64)]) -> u64 {
    paces
        .iter()
        .map(|(pace, origin)| (pace.now() + pace.lead()).saturating_sub(*origin))
        .max()
        .unwrap_or(0)
        + 1
}
