//! The two executors. Both call [`Task::step`] in topological order and
//! apply queued parameter changes between ticks; they differ in pacing and
//! threads.

use crate::control::CommandRx;
use crate::engine::{Engine, Parallel, ThreadEvent, ThreadRole};
use crate::pace::PaceClock;
use crate::stats::Stats;
use crate::stopwatch::Stopwatch;
use crate::task::{DomainClock, Step, Task};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A level is spread over rayon only when its nodes together take at least
/// this long per tick: below it, waking workers costs more than it saves.
const PARALLEL_MIN_NS: u64 = 50_000;

/// Applies every queued parameter change to `tasks` (this thread's nodes,
/// indexed as the routes say).
fn apply_commands(rxs: &mut [CommandRx], tasks: &mut [Task]) {
    for rx in rxs {
        rx.apply(|local, key, value| match tasks.get_mut(local as usize) {
            Some(t) => t.node.set(key, value),
            None => Ok(()),
        });
    }
}

/// Runs one task and records its time (`t0` is when its step began; the
/// return value is when it ended, the next task's start).
#[inline]
fn timed_step(
    task: &mut Task,
    stats: &Stats,
    tick: Option<(u64, u64)>,
    stopping: bool,
    backpressure: bool,
    watch: &Stopwatch,
    t0: u64,
) -> (Step, u64) {
    let step = task.step(tick, stopping, backpressure);
    let t1 = watch.now();
    if step == Step::Ran && watch.enabled {
        let ns = watch.ns(t0, t1);
        stats.nodes[task.stat].time.record(ns);
        task.cost_ns = (task.cost_ns * 7 + ns) / 8;
    }
    (step, t1)
}

fn duration_reached(duration: Option<u64>, t: u64) -> bool {
    duration.is_some_and(|d| t >= d)
}

/// As fast as possible: every domain's ticks interleaved by media time; a
/// level's nodes spread over rayon when worth it, and nodes may split their
/// own work (blur bands) over the same pool.
///
/// With parallelism on, the loop runs inside a rayon pool of its own (built
/// here, before the first tick) so a level's fork-join pushes onto the loop
/// thread's local deque: no global injector queue, whose blocks would be
/// allocated and freed as jobs pass through it.
pub(crate) fn run_unpaced(engine: &mut Engine, tasks: &mut [Task]) {
    let mut state = LoopState::new(engine, tasks);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Even a graph whose levels are one node wide runs inside the pool:
    // nodes such as `blur` split big frames into bands on it.
    if engine.parallel == Parallel::Off || cores < 2 {
        unpaced_loop(engine, tasks, &mut state, true);
        return;
    }
    let hook = engine.hook;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .thread_name(|i| format!("sluice-worker-{i}"))
        .exit_handler(move |_| {
            if let Some(h) = hook {
                h(ThreadEvent::Stopping(ThreadRole::Worker));
            }
        })
        .build();
    match pool {
        Ok(pool) => {
            // Each worker sets up its work-stealing state (an epoch handle)
            // the first time it looks for work, before it can run any job:
            // so by the time it runs this one, that one-off allocation is
            // behind it and the hook can start watching.
            pool.broadcast(|_| {
                if let Some(h) = hook {
                    h(ThreadEvent::Started(ThreadRole::Worker));
                }
            });
            pool.install(|| unpaced_loop(engine, tasks, &mut state, false));
        }
        // No threads to be had: run on this one.
        Err(_) => unpaced_loop(engine, tasks, &mut state, true),
    }
}

/// What the unpaced loop keeps between ticks, allocated before it starts.
struct LoopState {
    commands: Vec<CommandRx>,
    /// Next tick of each domain.
    next: Vec<u64>,
    /// Domains whose nodes have all ended.
    done: Vec<bool>,
}

impl LoopState {
    fn new(engine: &mut Engine, tasks: &[Task]) -> LoopState {
        LoopState {
            commands: std::mem::take(&mut engine.commands[0]),
            next: vec![0u64; engine.domains.len()],
            done: (0..engine.domains.len())
                .map(|d| tasks.iter().all(|t| t.domain != d))
                .collect(),
        }
    }
}

/// The loop itself; `mark` calls the thread hook around it (the pool's
/// workers, this one included, were marked when the pool started).
fn unpaced_loop(engine: &mut Engine, tasks: &mut [Task], state: &mut LoopState, mark: bool) {
    let stats = &*engine.stats;
    let watch = &engine.watch;
    let LoopState {
        commands,
        next,
        done,
    } = state;
    if let (Some(h), true) = (engine.hook, mark) {
        h(ThreadEvent::Started(ThreadRole::Unpaced));
    }
    // The domain whose next tick starts first (audio before video at a tie).
    while let Some(d) = (0..engine.domains.len())
        .filter(|&d| !done[d])
        .min_by_key(|&d| engine.domains[d].time(next[d]))
    {
        let clock = engine.domains[d];
        let k = next[d];
        let now = clock.time(k);
        let stopping =
            engine.stop.load(Ordering::Acquire) || duration_reached(engine.duration_ns, now);
        apply_commands(commands, tasks);
        let mut live = false;
        let mut ran = false;
        for range in engine.levels.iter() {
            let level = &mut tasks[range.clone()];
            // A level of one node (a chain) never goes parallel: skip the scan.
            let worth = level.len() > 1 && {
                let (count, cost) = level
                    .iter()
                    .filter(|t| t.domain == d && !t.ended)
                    .fold((0, 0), |(c, s), t| (c + 1, s + t.cost_ns));
                count > 1
                    && match engine.parallel {
                        Parallel::Off => false,
                        Parallel::Auto => cost >= PARALLEL_MIN_NS,
                        Parallel::Always => true,
                    }
            };
            if worth {
                let (l, r) = level
                    .par_iter_mut()
                    .filter(|t| t.domain == d)
                    .map(|t| {
                        let (s, _) = timed_step(
                            t,
                            stats,
                            Some((k, now)),
                            stopping,
                            false,
                            watch,
                            watch.now(),
                        );
                        (s != Step::Ended, s == Step::Ran)
                    })
                    .reduce(|| (false, false), |a, b| (a.0 | b.0, a.1 | b.1));
                live |= l;
                ran |= r;
            } else {
                let mut t0 = watch.now();
                for t in level.iter_mut().filter(|t| t.domain == d) {
                    let (s, t1) = timed_step(t, stats, Some((k, now)), stopping, false, watch, t0);
                    live |= s != Step::Ended;
                    ran |= s == Step::Ran;
                    t0 = t1;
                }
            }
        }
        if ran {
            stats.tick(clock.time(k + 1));
        }
        next[d] += 1;
        if !live {
            done[d] = true;
        }
    }
    if let (Some(h), true) = (engine.hook, mark) {
        h(ThreadEvent::Stopping(ThreadRole::Unpaced));
    }
}

/// One real-time domain: tick `k` starts at `origin + time(k)` less the
/// clock's lead; a tick that ends after its clock has reached the next
/// tick's time counts an xrun.
struct DomainLoop<'a> {
    clock: DomainClock,
    role: ThreadRole,
    pace: &'a dyn PaceClock,
    origin: u64,
    stop: &'a AtomicBool,
    duration: Option<u64>,
    stats: &'a Stats,
    hook: Option<crate::engine::ThreadHook>,
    watch: Stopwatch,
}

impl DomainLoop<'_> {
    fn run(&self, tasks: &mut [Task], commands: &mut [CommandRx]) {
        if let Some(h) = self.hook {
            h(ThreadEvent::Started(self.role));
        }
        let domain = match self.role {
            ThreadRole::Domain(d) => d,
            _ => usize::MAX,
        };
        let mut k = 0u64;
        loop {
            let now = self.clock.time(k);
            let due = (self.origin + now).saturating_sub(self.pace.lead());
            self.pace.wait_until(due);
            let late = self.pace.now().saturating_sub(due);
            let stopping =
                self.stop.load(Ordering::Acquire) || duration_reached(self.duration, now);
            apply_commands(commands, tasks);
            let mut live = false;
            let mut ran = false;
            let watch = &self.watch;
            let began = watch.now();
            let mut t0 = began;
            for t in tasks.iter_mut() {
                let (s, t1) = timed_step(t, self.stats, Some((k, now)), stopping, false, watch, t0);
                live |= s != Step::Ended;
                ran |= s == Step::Ran;
                t0 = t1;
            }
            if ran {
                self.stats.tick(self.clock.time(k + 1));
                let xrun = self.pace.now() > self.origin + self.clock.time(k + 1);
                self.stats
                    .domain_tick(domain, late, watch.ns(began, t0), xrun);
            }
            k += 1;
            if !live {
                break;
            }
        }
        if let Some(h) = self.hook {
            h(ThreadEvent::Stopping(self.role));
        }
    }
}

/// The I/O thread: runs its nodes whenever their inputs have frames and
/// their outputs have room, sleeping briefly when nothing moved. Sources
/// here read ahead as far as their rings allow.
fn run_io(
    tasks: &mut [Task],
    commands: &mut [CommandRx],
    stop: &AtomicBool,
    duration: Option<u64>,
    stats: &Stats,
    hook: Option<crate::engine::ThreadHook>,
    watch: &Stopwatch,
) {
    if let Some(h) = hook {
        h(ThreadEvent::Started(ThreadRole::Io));
    }
    loop {
        apply_commands(commands, tasks);
        let stopped = stop.load(Ordering::Acquire);
        let mut live = false;
        let mut moved = false;
        let mut t0 = watch.now();
        for t in tasks.iter_mut() {
            let stopping =
                stopped || (t.is_source() && duration_reached(duration, t.clock.time(t.calls)));
            let (s, t1) = timed_step(t, stats, None, stopping, true, watch, t0);
            live |= s != Step::Ended;
            moved |= s == Step::Ran;
            t0 = t1;
        }
        if !live {
            break;
        }
        if !moved {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    if let Some(h) = hook {
        h(ThreadEvent::Stopping(ThreadRole::Io));
    }
}

/// Real time: one thread per clock domain paced by the engine's clock, one
/// for I/O nodes. Returns every task (for `finish`) and thread failures.
pub(crate) fn run_realtime(engine: &mut Engine, tasks: Vec<Task>) -> (Vec<Task>, Vec<String>) {
    let threads = engine.threads;
    let io = threads - 1;
    let mut groups: Vec<Vec<Task>> = (0..threads).map(|_| Vec::new()).collect();
    for t in tasks {
        let th = t.thread;
        groups[th].push(t);
    }
    let mut commands: Vec<Vec<CommandRx>> = std::mem::take(&mut engine.commands);
    commands.resize_with(threads, Vec::new);
    // Each domain on its device's clock if a node offers one, else the
    // engine's; tick 0 of each starts at its clock's now.
    let paces: Vec<(Arc<dyn PaceClock>, u64)> = (0..threads)
        .map(|th| {
            let pace = match engine.device_clocks.get(th) {
                Some(Some(device)) => device.clone(),
                _ => engine.clock.clone(),
            };
            let origin = pace.now();
            (pace, origin)
        })
        .collect();
    let stop = engine.stop.clone();
    let stats = engine.stats.clone();
    let duration = engine.duration_ns;
    let hook = engine.hook;
    let domains = engine.domains.clone();
    let watch = engine.watch;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (th, (mut group, mut cmds)) in groups.into_iter().zip(commands).enumerate() {
            if group.is_empty() {
                continue;
            }
            let (pace, origin) = (&*paces[th].0, paces[th].1);
            let (stop, stats) = (&*stop, &*stats);
            let name = if th == io {
                "sluice-io".to_string()
            } else {
                format!("sluice-rt-{th}")
            };
            let clock = domains.get(th).copied();
            let h = std::thread::Builder::new()
                .name(name.clone())
                .spawn_scoped(s, move || {
                    let ran =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match clock {
                            Some(clock) if th != io => DomainLoop {
                                clock,
                                role: ThreadRole::Domain(th),
                                pace,
                                origin,
                                stop,
                                duration,
                                stats,
                                hook,
                                watch,
                            }
                            .run(&mut group, &mut cmds),
                            _ => run_io(&mut group, &mut cmds, stop, duration, stats, hook, &watch),
                        }));
                    if ran.is_err() {
                        // A node panicked: stop everything and end this thread's
                        // nodes so the other threads drain instead of waiting.
                        stop.store(true, Ordering::Release);
                        group.iter_mut().for_each(Task::end);
                    }
                    (group, ran.is_ok())
                });
            match h {
                Ok(h) => handles.push((name, h)),
                Err(e) => errors.push(format!("could not start thread {name}: {e}")),
            }
        }
        for (name, h) in handles {
            match h.join() {
                Ok((group, ok)) => {
                    if !ok {
                        errors.push(format!("a node on thread {name} panicked"));
                    }
                    out.extend(group);
                }
                Err(_) => errors.push(format!("thread {name} panicked")),
            }
        }
    });
    (out, errors)
}
