//! The two executors. Both call [`Task::step`] in topological order and
//! apply queued parameter changes between ticks; they differ in pacing and
//! threads.

use crate::control::CommandRx;
use crate::engine::{Engine, Parallel, ThreadEvent, ThreadRole};
use crate::pace::PaceClock;
use crate::reload::Retired;
use crate::stats::Stats;
use crate::stopwatch::Stopwatch;
use crate::task::{DomainClock, Step, Task};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
///
/// Returns true when it stopped for a hot reload (`engine.resume_at` then
/// says where to go on), false at the end of the run.
pub(crate) fn run_unpaced(engine: &mut Engine, tasks: &mut [Task]) -> bool {
    let mut state = LoopState::new(engine, tasks);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Even a graph whose levels are one node wide runs inside the pool:
    // nodes such as `blur` split big frames into bands on it.
    if engine.parallel == Parallel::Off || cores < 2 {
        return unpaced_loop(engine, tasks, &mut state, true);
    }
    let pool = match engine.pool.take() {
        Some(pool) => Ok(pool),
        None => worker_pool(engine.hook, cores),
    };
    match pool {
        Ok(pool) => {
            let paused = pool.install(|| unpaced_loop(engine, tasks, &mut state, false));
            // Kept across a reload: its workers stay up (and watched), so
            // no thread is torn down or set up while the graph runs.
            engine.pool = Some(pool);
            paused
        }
        // No threads to be had: run on this one.
        Err(_) => unpaced_loop(engine, tasks, &mut state, true),
    }
}

/// Ends the unpaced executor's pool at the end of the run: its workers are
/// told they stopped (the thread hook) before the pool goes, so whatever
/// they free while their threads wind down is not counted as processing.
pub(crate) fn close_pool(engine: &mut Engine) {
    if let (Some(pool), Some(hook)) = (engine.pool.take(), engine.hook) {
        pool.broadcast(|_| hook(ThreadEvent::Stopping(ThreadRole::Worker)));
    }
}

/// The unpaced executor's own rayon pool, its workers marked for the
/// thread hook once they are ready to run jobs.
fn worker_pool(
    hook: Option<crate::engine::ThreadHook>,
    cores: usize,
) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .thread_name(|i| format!("sluice-worker-{i}"))
        .exit_handler(move |_| {
            if let Some(h) = hook {
                h(ThreadEvent::Stopping(ThreadRole::Worker));
            }
        })
        .build()?;
    // Each worker sets up its work-stealing state (an epoch handle) the
    // first time it looks for work, before it can run any job: so by the
    // time it runs this one, that one-off allocation is behind it and the
    // hook can start watching.
    pool.broadcast(|_| {
        if let Some(h) = hook {
            h(ThreadEvent::Started(ThreadRole::Worker));
        }
    });
    Ok(pool)
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
            next: engine
                .domains
                .iter()
                .map(|c| c.first_tick_at(engine.resume_at))
                .collect(),
            done: (0..engine.domains.len())
                .map(|d| tasks.iter().all(|t| t.domain != d || t.ended))
                .collect(),
        }
    }
}

/// The loop itself; `mark` calls the thread hook around it (the pool's
/// workers, this one included, were marked when the pool started). True
/// when it stopped for a reload.
fn unpaced_loop(
    engine: &mut Engine,
    tasks: &mut [Task],
    state: &mut LoopState,
    mark: bool,
) -> bool {
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
    let mut paused = false;
    // The domain whose next tick starts first (audio before video at a tie).
    while let Some(d) = (0..engine.domains.len())
        .filter(|&d| !done[d])
        .min_by_key(|&d| engine.domains[d].time(next[d]))
    {
        let clock = engine.domains[d];
        let k = next[d];
        let now = clock.time(k);
        if engine.reload.pending() {
            // Every tick before `now` has run, in every domain.
            engine.resume_at = now;
            paused = true;
            break;
        }
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
    paused
}

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

/// One real-time domain: tick `k` starts at `origin + time(k)` less the
/// clock's lead; a tick that ends after its clock has reached the next
/// tick's time counts an xrun.
struct DomainLoop<'a> {
    clock: DomainClock,
    role: ThreadRole,
    pace: &'a dyn PaceClock,
    origin: u64,
    start: u64,
    pause: &'a Pause,
    stop: &'a AtomicBool,
    duration: Option<u64>,
    stats: &'a Stats,
    hook: Option<crate::engine::ThreadHook>,
    watch: Stopwatch,
}

impl DomainLoop<'_> {
    /// Runs ticks until every node has ended (false) or a reload stops it
    /// before its pause time (true).
    fn run(&self, tasks: &mut [Task], commands: &mut [CommandRx]) -> bool {
        if let Some(h) = self.hook {
            h(ThreadEvent::Started(self.role));
        }
        let domain = match self.role {
            ThreadRole::Domain(d) => d,
            _ => usize::MAX,
        };
        let mut k = self.start;
        let paused = loop {
            let now = self.clock.time(k);
            let due = (self.origin + now).saturating_sub(self.pace.lead());
            self.pace.wait_until(due);
            // Checked after the wait: a tick that starts running began
            // before any pause time set since (see `run_realtime`).
            if now >= self.pause.at() {
                break true;
            }
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
                break false;
            }
        };
        self.pause.domains_out.fetch_add(1, Ordering::AcqRel);
        if let Some(h) = self.hook {
            h(ThreadEvent::Stopping(self.role));
        }
        paused
    }
}

/// The I/O thread: runs its nodes whenever their inputs have frames and
/// their outputs have room, sleeping briefly when nothing moved. Sources
/// here read ahead as far as their rings allow. For a reload it stops once
/// every domain thread has: after a last drain of what they sent (sinks
/// only; what sources read ahead stays queued and is carried over).
struct IoLoop<'a> {
    stop: &'a AtomicBool,
    duration: Option<u64>,
    stats: &'a Stats,
    hook: Option<crate::engine::ThreadHook>,
    watch: &'a Stopwatch,
    pause: &'a Pause,
    domain_threads: usize,
}

impl IoLoop<'_> {
    fn run(&self, tasks: &mut [Task], commands: &mut [CommandRx]) -> bool {
        if let Some(h) = self.hook {
            h(ThreadEvent::Started(ThreadRole::Io));
        }
        let paused = loop {
            let pausing = self.pause.at() != u64::MAX
                && self.pause.domains_out.load(Ordering::Acquire) >= self.domain_threads;
            if pausing {
                while self.pass(tasks, commands, true).1 {}
                break true;
            }
            let (live, moved) = self.pass(tasks, commands, false);
            if !live {
                break false;
            }
            if !moved {
                std::thread::sleep(Duration::from_micros(500));
            }
        };
        if let Some(h) = self.hook {
            h(ThreadEvent::Stopping(ThreadRole::Io));
        }
        paused
    }

    /// Steps every node once (only those with inputs when `draining`):
    /// whether any is still live, and whether any ran.
    fn pass(&self, tasks: &mut [Task], commands: &mut [CommandRx], draining: bool) -> (bool, bool) {
        apply_commands(commands, tasks);
        let stopped = self.stop.load(Ordering::Acquire);
        let mut live = false;
        let mut moved = false;
        let mut t0 = self.watch.now();
        for t in tasks.iter_mut().filter(|t| !(draining && t.is_source())) {
            let stopping = stopped
                || (t.is_source() && duration_reached(self.duration, t.clock.time(t.calls)));
            let (s, t1) = timed_step(t, self.stats, None, stopping, true, self.watch, t0);
            live |= s != Step::Ended;
            moved |= s == Step::Ran;
            t0 = t1;
        }
        (live, moved)
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

/// Real time: one thread per clock domain paced by the engine's clock, one
/// for I/O nodes. This thread waits for them, asks them to pause when a
/// reload is posted, and meanwhile finishes what the last reload retired.
/// Returns every task (for `finish` or the swap) and whether the threads
/// paused for a reload; thread failures go to `errors`.
pub(crate) fn run_realtime(
    engine: &mut Engine,
    tasks: Vec<Task>,
    retired: &mut Retired,
    errors: &mut Vec<String>,
) -> (Vec<Task>, bool) {
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
    // engine's. A domain keeps its origin across reloads while its clock
    // stays the same; on a new clock the origin puts `resume_at` at now.
    let paces: Vec<(Arc<dyn PaceClock>, u64)> = (0..threads)
        .map(|th| {
            let pace = match engine.device_clocks.get(th) {
                Some(Some(device)) => device.clone(),
                _ => engine.clock.clone(),
            };
            let domain = engine.domains.get(th).map(|c| c.domain);
            let kept = engine
                .origins
                .iter()
                .find(|(d, p, _)| Some(*d) == domain && Arc::ptr_eq(p, &pace));
            let origin = match kept {
                Some((_, _, origin)) => *origin,
                None => pace.now().saturating_sub(engine.resume_at),
            };
            (pace, origin)
        })
        .collect();
    engine.origins = engine
        .domains
        .iter()
        .zip(&paces)
        .map(|(c, (pace, origin))| (c.domain, pace.clone(), *origin))
        .collect();
    let stop = engine.stop.clone();
    let stats = engine.stats.clone();
    let duration = engine.duration_ns;
    let hook = engine.hook;
    let domains = engine.domains.clone();
    let watch = engine.watch;
    let resume_at = engine.resume_at;
    let reload = engine.reload.clone();
    let domain_threads = (0..io).filter(|&th| !groups[th].is_empty()).count();
    let pause = Pause {
        at: AtomicU64::new(u64::MAX),
        domains_out: AtomicUsize::new(0),
    };
    let mut out = Vec::new();
    let mut paused = false;
    let coordinator = std::thread::current();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (th, (mut group, mut cmds)) in groups.into_iter().zip(commands).enumerate() {
            if group.is_empty() {
                continue;
            }
            let (pace, origin) = (&*paces[th].0, paces[th].1);
            let (stop, stats, pause, coordinator) = (&*stop, &*stats, &pause, &coordinator);
            let name = if th == io {
                "sluice-io".to_string()
            } else {
                format!("sluice-rt-{th}")
            };
            let clock = domains.get(th).copied();
            let watch = &watch;
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
                                start: clock.first_tick_at(resume_at),
                                pause,
                                stop,
                                duration,
                                stats,
                                hook,
                                watch: *watch,
                            }
                            .run(&mut group, &mut cmds),
                            _ => IoLoop {
                                stop,
                                duration,
                                stats,
                                hook,
                                watch,
                                pause,
                                domain_threads,
                            }
                            .run(&mut group, &mut cmds),
                        }));
                    if ran.is_err() {
                        // A node panicked: stop everything and end this thread's
                        // nodes so the other threads drain instead of waiting.
                        stop.store(true, Ordering::Release);
                        pause.domains_out.fetch_add(1, Ordering::AcqRel);
                        group.iter_mut().for_each(Task::end);
                    }
                    coordinator.unpark();
                    (group, ran)
                });
            match h {
                Ok(h) => handles.push((name, h)),
                Err(e) => errors.push(format!("could not start thread {name}: {e}")),
            }
        }
        retired.finish(errors);
        // Each thread wakes this one as it leaves; a posted reload is seen
        // within one wait.
        while !handles.iter().all(|(_, h)| h.is_finished()) {
            if reload.pending() && pause.at() == u64::MAX {
                pause.at.store(pause_time(&paces[..io]), Ordering::Release);
            }
            std::thread::park_timeout(Duration::from_millis(10));
        }
        for (name, h) in handles {
            match h.join() {
                Ok((group, Ok(p))) => {
                    paused |= p;
                    out.extend(group);
                }
                Ok((group, Err(_))) => {
                    errors.push(format!("a node on thread {name} panicked"));
                    out.extend(group);
                }
                Err(_) => errors.push(format!("thread {name} panicked")),
            }
        }
    });
    if paused {
        engine.resume_at = pause.at();
    }
    (out, paused)
}
