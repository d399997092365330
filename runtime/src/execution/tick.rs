//! One tick, as every executor runs it: queued parameter changes applied,
//! then each node of the ticking domain stepped in the plan's order (a
//! level spread over rayon when the unpaced executor finds it worth it),
//! its time recorded when the tick is sampled.
//!
//! The unpaced and driven executors also share [`Cursor`]: each domain's
//! next tick, and [`Cursor::tick`], which runs one over the whole graph.

use crate::control::CommandRx;
use crate::execution::graph::Graph;
use crate::execution::session::Session;
use crate::execution::task::{DomainClock, Step, Task};
use crate::execution::threads::Parallel;
use crate::observation::stats::Stats;
use crate::observation::stopwatch::Stopwatch;
use rayon::prelude::*;
use std::ops::Range;

/// A level is spread over rayon only when its nodes together take at least
/// this long per tick: below it, waking workers costs more than it saves.
const PARALLEL_MIN_NS: u64 = 50_000;

/// Applies every queued parameter change to the node the routes number
/// `local` on its thread: `tasks` are that thread's own (`thread` None),
/// or every task, filtered by thread (`Some`; a scan, but commands are
/// rare and it allocates nothing).
pub(crate) fn apply_commands(rxs: &mut [CommandRx], tasks: &mut [Task], thread: Option<usize>) {
    for rx in rxs {
        rx.apply(|local, key, value| {
            let local = local as usize;
            let task = match thread {
                None => tasks.get_mut(local),
                Some(th) => tasks.iter_mut().filter(|t| t.thread == th).nth(local),
            };
            match task {
                Some(t) => t.node.set(key, value),
                None => Ok(()),
            }
        });
    }
}

/// What a tick (or part of one) did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    /// Some node has not ended.
    pub live: bool,
    /// Some node ran.
    pub ran: bool,
}

impl Outcome {
    /// This and one more step.
    pub fn add(self, s: Step) -> Outcome {
        Outcome {
            live: self.live | (s != Step::Ended),
            ran: self.ran | (s == Step::Ran),
        }
    }

    /// Either.
    fn or(self, o: Outcome) -> Outcome {
        Outcome {
            live: self.live | o.live,
            ran: self.ran | o.ran,
        }
    }
}

/// One tick of one domain: what each of its nodes' steps needs.
pub(crate) struct Tick<'a> {
    pub stats: &'a Stats,
    pub watch: &'a Stopwatch,
    pub domain: usize,
    /// The domain's tick (index, media time); `None` on the I/O thread.
    pub clock: Option<(u64, u64)>,
    /// Sources end instead of running (a stop, or the duration reached).
    pub stopping: bool,
    /// Whether node times are measured this tick.
    pub timed: bool,
}

impl Tick<'_> {
    /// Steps one task (`backpressure`: only with room on every output);
    /// `t0` is when its step began, the return's second value when it
    /// ended (both 0 on an untimed tick).
    #[inline]
    pub fn step(&self, t: &mut Task, stopping: bool, backpressure: bool, t0: u64) -> (Step, u64) {
        let s = t.step(self.clock, stopping, backpressure);
        if s == Step::Ran {
            self.stats.nodes[t.stat].count_call();
        }
        if !self.timed {
            return (s, 0);
        }
        let t1 = self.watch.now();
        if s == Step::Ran {
            let ns = self.watch.ns(t0, t1);
            self.stats.nodes[t.stat].time.record(ns);
            t.cost_ns = (t.cost_ns * 7 + ns) / 8;
        }
        (s, t1)
    }

    /// Steps the domain's tasks in `tasks` in order on this thread.
    pub fn run(&self, tasks: &mut [Task]) -> Outcome {
        let mut out = Outcome::default();
        let mut t0 = if self.timed { self.watch.now() } else { 0 };
        for t in tasks.iter_mut().filter(|t| t.domain == self.domain) {
            let (s, t1) = self.step(t, self.stopping, false, t0);
            out = out.add(s);
            t0 = t1;
        }
        out
    }

    /// Steps the domain's tasks of one level in parallel on the current
    /// rayon pool.
    fn run_parallel(&self, level: &mut [Task]) -> Outcome {
        level
            .par_iter_mut()
            .filter(|t| t.domain == self.domain)
            .map(|t| {
                let t0 = if self.timed { self.watch.now() } else { 0 };
                Outcome::default().add(self.step(t, self.stopping, false, t0).0)
            })
            .reduce(Outcome::default, Outcome::or)
    }

    /// Steps the domain's tasks level by level, spreading a level over
    /// rayon when `parallel` says it is worth it.
    pub fn run_levels(
        &self,
        tasks: &mut [Task],
        levels: &[Range<usize>],
        parallel: Parallel,
    ) -> Outcome {
        if parallel == Parallel::Off {
            return self.run(tasks);
        }
        let mut out = Outcome::default();
        for range in levels {
            let level = &mut tasks[range.clone()];
            out = out.or(if self.worth_spreading(level, parallel) {
                self.run_parallel(level)
            } else {
                self.run(level)
            });
        }
        out
    }

    /// Whether a level has two or more live nodes of this domain and, with
    /// `Auto`, they took long enough last time to pay for waking workers.
    fn worth_spreading(&self, level: &[Task], parallel: Parallel) -> bool {
        // A level of one node (a chain) never goes parallel: skip the scan.
        if level.len() < 2 {
            return false;
        }
        let (count, cost) = level
            .iter()
            .filter(|t| t.domain == self.domain && !t.ended)
            .fold((0, 0), |(c, s), t| (c + 1, s + t.cost_ns));
        count > 1
            && match parallel {
                Parallel::Off => false,
                Parallel::Auto => cost >= PARALLEL_MIN_NS,
                Parallel::Always => true,
            }
    }
}

/// Where the unpaced and driven executors are: each domain's next tick and
/// whether its nodes have all ended. Allocated before the first tick.
pub(crate) struct Cursor {
    pub next: Vec<u64>,
    pub done: Vec<bool>,
    /// The controllers' rings, by the graph's processing thread.
    commands: Vec<Vec<CommandRx>>,
}

impl Cursor {
    /// Starts each domain of `graph` at the tick `first_tick` gives it,
    /// and takes the graph's command rings (one thread runs every node
    /// here, whatever threads the graph was placed on).
    pub fn new(graph: &mut Graph, first_tick: impl Fn(&DomainClock) -> u64) -> Cursor {
        let none = graph.commands.iter().map(|_| Vec::new()).collect();
        Cursor {
            next: graph.domains.iter().map(first_tick).collect(),
            done: (0..graph.domains.len())
                .map(|d| graph.tasks.iter().all(|t| t.domain != d || t.ended))
                .collect(),
            commands: std::mem::replace(&mut graph.commands, none),
        }
    }

    /// A cursor over nothing (a placeholder while a graph is swapped).
    pub fn empty() -> Cursor {
        Cursor {
            next: Vec::new(),
            done: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// Gives the command rings back to the graph.
    pub fn park(self, graph: &mut Graph) {
        graph.commands = self.commands;
    }

    /// The domain whose next tick starts first (audio before video at a
    /// tie), of those not done.
    pub fn earliest(&self, domains: &[DomainClock]) -> Option<usize> {
        (0..domains.len())
            .filter(|&d| !self.done[d])
            .min_by_key(|&d| domains[d].time(self.next[d]))
    }

    /// Whether every domain is done.
    pub fn ended(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    /// Runs domain `d`'s next tick over the whole graph on this thread (and
    /// the current rayon pool, when `parallel` allows).
    pub fn tick(&mut self, graph: &mut Graph, session: &Session, d: usize, parallel: Parallel) {
        let clock = graph.domains[d];
        let k = self.next[d];
        let now = clock.time(k);
        let one_thread = graph.threads == 1;
        for (th, rxs) in self.commands.iter_mut().enumerate() {
            apply_commands(rxs, &mut graph.tasks, (!one_thread).then_some(th));
        }
        let tick = Tick {
            stats: &graph.stats,
            watch: &session.timing.watch,
            domain: d,
            clock: Some((k, now)),
            stopping: session.stopping(now),
            timed: session.timing.samples(k),
        };
        let out = tick.run_levels(&mut graph.tasks, &graph.levels, parallel);
        if out.ran {
            graph.stats.tick(clock.time(k + 1));
        }
        self.next[d] += 1;
        if !out.live {
            self.done[d] = true;
        }
    }
}
