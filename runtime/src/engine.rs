//! The engine: builds every node, ring and pool from a [`Plan`], runs the
//! graph on an executor, and finishes every node when it ends or is stopped.

use crate::control::{self, CommandRx, ControlError, Controller, Route, Routes};
use crate::edge::{self, EdgeSpec, Input, Policy};
use crate::exec;
use crate::frame::Frame;
use crate::node::{BuildContext, NodeError};
use crate::pace::{PaceClock, SystemClock};
use crate::registry::Registry;
use crate::reload::{self, EdgeLink, Layout, Mailbox, Origin, Reloader, Retired};
use crate::stats::{EdgeStats, NodeStats, Stats, Summary};
use crate::stopwatch::Stopwatch;
use crate::task::{DomainClock, Task, TaskParts};
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use sluice_dsl::{Arg, Domain, MediaType, Plan, Role};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Why an engine could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildError {
    /// The plan names a kind the registry does not know.
    UnknownKind {
        /// Node name.
        node: String,
        /// Kind name.
        kind: String,
    },
    /// The kind checks but has no constructor (yet, or in this build).
    NotImplemented {
        /// Node name.
        node: String,
        /// Kind name.
        kind: String,
        /// Why it cannot run, when the registry says.
        reason: Option<String>,
    },
    /// The node's constructor failed (a missing file, a bad header).
    Node {
        /// Node name.
        node: String,
        /// Kind name.
        kind: String,
        /// What went wrong.
        error: NodeError,
    },
    /// The plan itself is inconsistent (a cycle, an edge to a missing port).
    Plan(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::UnknownKind { node, kind } => {
                write!(f, "node `{node}`: unknown kind `{kind}`")
            }
            BuildError::NotImplemented { node, kind, reason } => match reason {
                Some(why) => write!(f, "node `{node}` (kind `{kind}`) cannot run: {why}"),
                None => write!(f, "node `{node}` (kind `{kind}`) is not implemented yet"),
            },
            BuildError::Node { node, kind, error } => {
                write!(f, "node `{node}` (kind `{kind}`): {error}")
            }
            BuildError::Plan(msg) => write!(f, "invalid plan: {msg}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Why a run did not end cleanly. The run still finished every node it could.
#[derive(Debug, Clone)]
pub struct RunError {
    /// One line per problem (`node `x`: could not write header: ...`).
    pub errors: Vec<String>,
    /// What the run did before the errors, if it got that far.
    pub summary: Option<Box<Summary>>,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.errors.join("\n"))
    }
}

impl std::error::Error for RunError {}

/// Which executor runs the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unpaced, every node on the calling thread, levels spread over rayon
    /// when they are worth it. Never drops.
    AsFastAsPossible,
    /// One thread per clock domain paced by a [`PaceClock`], I/O nodes on
    /// their own non-real-time thread.
    RealTime,
}

/// When the as-fast-as-possible executor runs a level's nodes in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallel {
    /// Never: every node on the calling thread.
    Off,
    /// When the level's nodes together took at least 50 µs last tick
    /// (below that, waking workers costs more than it saves).
    Auto,
    /// Whenever a level has two or more nodes of the ticking domain.
    Always,
}

/// What an engine thread tells the thread hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadEvent {
    /// The thread is about to run its first tick.
    Started(ThreadRole),
    /// The thread has run its last tick.
    Stopping(ThreadRole),
}

/// What an engine thread does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadRole {
    /// The as-fast-as-possible loop (the thread that called `run`).
    Unpaced,
    /// A real-time clock domain's thread (index into the domains).
    Domain(usize),
    /// The non-real-time I/O thread.
    Io,
    /// A rayon worker of the as-fast-as-possible executor's own pool.
    Worker,
}

/// Called on each processing thread as it starts and stops ticking (tests
/// use it to mark the threads a counting allocator watches).
pub type ThreadHook = fn(ThreadEvent);

/// Stops a running engine from any thread (Ctrl-C handlers, UIs).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the engine to stop: sources end at the next tick, the graph
    /// drains, every node is finished.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Everything a built graph needs to run; see the crate docs for the flow.
pub struct Engine {
    pub(crate) tasks: Vec<Task>,
    /// Task ranges of each parallel level (as-fast-as-possible executor).
    pub(crate) levels: Vec<std::ops::Range<usize>>,
    pub(crate) domains: Vec<DomainClock>,
    pub(crate) mode: Mode,
    pub(crate) threads: usize,
    pub(crate) duration_ns: Option<u64>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) commands: Vec<Vec<CommandRx>>,
    pub(crate) clock: Arc<dyn PaceClock>,
    /// A node's own pace clock per domain (a sound device), over `clock`.
    pub(crate) device_clocks: Vec<Option<Arc<dyn PaceClock>>>,
    pub(crate) hook: Option<ThreadHook>,
    pub(crate) parallel: Parallel,
    pub(crate) watch: Stopwatch,
    routes: Arc<Routes>,
    names: Arc<Vec<String>>,
    /// What is running, for matching a reloaded plan against it.
    pub(crate) layout: Layout,
    /// Every edge by name, for carrying queued frames across a reload.
    pub(crate) edges: Vec<EdgeLink>,
    /// Where a reloaded plan waits for the next tick boundary.
    pub(crate) reload: Arc<Mailbox>,
    /// Media time the executor starts (or resumes, after a reload) from.
    pub(crate) resume_at: u64,
    /// Each real-time domain's pace clock and its origin on it, once
    /// started (kept across reloads, so the schedule does not shift).
    pub(crate) origins: Vec<(Domain, Arc<dyn PaceClock>, u64)>,
    /// The unpaced executor's worker pool, once started (kept across
    /// reloads).
    pub(crate) pool: Option<rayon::ThreadPool>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("nodes", &self.tasks.len())
            .field("mode", &self.mode)
            .field("threads", &self.threads)
            .finish()
    }
}

/// The domain a node ticks in: the plan's, else what its role implies.
fn domain_of(plan: &Plan, i: NodeIndex) -> Domain {
    let n = &plan.graph[i];
    if let Some(d) = n.domain {
        return d;
    }
    let video = n.outputs.iter().find_map(|p| match p.ty {
        MediaType::Video(v) => Some(v.fps),
        _ => None,
    });
    match (n.role, video) {
        (Role::VideoSource, Some((fps_num, fps_den))) => Domain::Video { fps_num, fps_den },
        _ => Domain::Audio,
    }
}

/// Frames an edge's ring holds: one tick of slack on a thread's own edges,
/// enough to bridge clock rates between domains, half a second (eight video
/// frames) between a real-time thread and the I/O thread.
fn capacity(ty: &MediaType, same_thread: bool, from: &DomainClock, to: &DomainClock) -> usize {
    let video = matches!(ty, MediaType::Video(_));
    if from.domain != to.domain {
        let ratio = to.period().div_ceil(from.period().max(1)) as usize;
        return (ratio + 2).min(if video { 8 } else { 64 });
    }
    if same_thread {
        return if video { 1 } else { 2 };
    }
    if video {
        8
    } else {
        (500_000_000 / from.period().max(1) as usize).clamp(4, 256)
    }
}

/// Nodes in execution order and their level (longest path from a source).
fn schedule(plan: &Plan) -> Result<(Vec<NodeIndex>, Vec<usize>), BuildError> {
    let order = petgraph::algo::toposort(&plan.graph, None).map_err(|c| {
        BuildError::Plan(format!(
            "the graph has a cycle through `{}`",
            plan.graph[c.node_id()].name
        ))
    })?;
    let mut level = vec![0usize; plan.graph.node_count()];
    for &n in &order {
        let l = plan
            .graph
            .neighbors_directed(n, Direction::Incoming)
            .map(|p| level[p.index()] + 1)
            .max()
            .unwrap_or(0);
        level[n.index()] = l;
    }
    let mut sorted = order;
    sorted.sort_by_key(|n| level[n.index()]);
    Ok((sorted, level))
}

impl Engine {
    /// Builds every node (via its kind's constructor), every ring and every
    /// frame pool. All allocation happens here.
    pub fn build(plan: &Plan, registry: &Registry) -> Result<Engine, BuildError> {
        Engine::assemble(plan, registry, None).map(|(engine, _)| engine)
    }

    /// Builds an engine for `plan`; with a running `layout`, nodes it holds
    /// unchanged are left vacant (the running instances move in at the
    /// swap), as are changed I/O nodes (built at the swap, once the old
    /// instance has closed its file). Says where each task came from.
    pub(crate) fn assemble(
        plan: &Plan,
        registry: &Registry,
        layout: Option<&Layout>,
    ) -> Result<(Engine, Vec<Origin>), BuildError> {
        let settings = &plan.settings;
        let g = &plan.graph;
        let mode = if settings.realtime {
            Mode::RealTime
        } else {
            Mode::AsFastAsPossible
        };
        let (order, level) = schedule(plan)?;

        // Kinds first, so a missing constructor is reported before any
        // file is opened.
        let mut builds = Vec::with_capacity(order.len());
        for &i in &order {
            let n = &g[i];
            let kind = registry
                .kind(&n.kind)
                .ok_or_else(|| BuildError::UnknownKind {
                    node: n.name.clone(),
                    kind: n.kind.clone(),
                })?;
            let build = kind.constructor(&n.name)?;
            let io = kind.signature.io || n.io;
            let origin = layout.map_or(Origin::New, |l| l.origin(n, io, build.clone()));
            builds.push((build, kind.signature.params.clone(), io, origin));
        }

        // Clock domains and threads.
        let mut domains: Vec<DomainClock> = Vec::new();
        let mut domain_idx = vec![0usize; g.node_count()];
        for &i in &order {
            let d = domain_of(plan, i);
            let k = domains
                .iter()
                .position(|c| c.domain == d)
                .unwrap_or_else(|| {
                    domains.push(DomainClock::new(d, settings.rate, settings.frame_samples));
                    domains.len() - 1
                });
            domain_idx[i.index()] = k;
        }
        let io_thread = domains.len();
        let mut thread_of = vec![0usize; g.node_count()];
        let mut threads = 1;
        if mode == Mode::RealTime {
            threads = domains.len() + 1;
            for (k, &i) in order.iter().enumerate() {
                thread_of[i.index()] = if builds[k].2 {
                    io_thread
                } else {
                    domain_idx[i.index()]
                };
            }
        }

        // Rings and pools, one output port at a time.
        let mut inputs: Vec<Vec<Option<Input>>> = g
            .node_indices()
            .map(|i| (0..g[i].inputs.len()).map(|_| None).collect())
            .collect();
        let mut outputs: Vec<Vec<edge::Output>> = g.node_indices().map(|_| Vec::new()).collect();
        let mut edge_stats = Vec::new();
        let mut links = Vec::new();
        for i in g.node_indices() {
            let n = &g[i];
            for (port, p) in n.outputs.iter().enumerate() {
                let mut edges: Vec<_> = g
                    .edges_directed(i, Direction::Outgoing)
                    .filter(|e| e.weight().from_port == port)
                    .collect();
                edges.sort_by_key(|e| e.id());
                let specs: Vec<EdgeSpec> = edges
                    .iter()
                    .map(|e| {
                        let t = e.target();
                        let from = &domains[domain_idx[i.index()]];
                        let to = &domains[domain_idx[t.index()]];
                        EdgeSpec {
                            capacity: capacity(
                                &e.weight().ty,
                                thread_of[i.index()] == thread_of[t.index()],
                                from,
                                to,
                            ),
                            policy: if from.domain == to.domain {
                                Policy::DropNewest
                            } else {
                                Policy::Latest
                            },
                        }
                    })
                    .collect();
                let proto = Frame::for_type(&p.ty, settings.frame_samples as usize);
                let (out, rxs) = edge::connect(&proto, &specs);
                for (k, (e, rx)) in edges.iter().zip(rxs).enumerate() {
                    let t = e.target();
                    let slot = e.weight().to_port;
                    let tn = &g[t];
                    let target = inputs[t.index()].get_mut(slot).ok_or_else(|| {
                        BuildError::Plan(format!(
                            "edge into `{}` slot {slot}, which has {} inputs",
                            tn.name,
                            tn.inputs.len()
                        ))
                    })?;
                    if target.is_some() {
                        return Err(BuildError::Plan(format!(
                            "two edges into `{}` slot {slot}",
                            tn.name
                        )));
                    }
                    edge_stats.push(EdgeStats {
                        label: format!(
                            "{}.{} -> {}.{}",
                            n.name,
                            p.name,
                            tn.name,
                            tn.inputs.get(slot).map_or("?", |s| s.name.as_str())
                        ),
                        shared: rx.shared().clone(),
                    });
                    links.push(EdgeLink::new(plan, e.weight(), i, t, port, k));
                    *target = Some(rx);
                }
                outputs[i.index()].push(out);
            }
        }

        // Nodes.
        let names: Vec<String> = g.node_indices().map(|i| g[i].name.clone()).collect();
        let mut tasks = Vec::with_capacity(order.len());
        let mut node_stats = Vec::with_capacity(order.len());
        let mut routes = Routes::new();
        let mut per_thread = vec![0u32; threads];
        for (k, &i) in order.iter().enumerate() {
            let n = &g[i];
            let (build, params, _, origin) = &builds[k];
            let ctx = BuildContext::of(n, i.index() as u32, settings, &names);
            let node = match origin {
                Origin::New | Origin::Changed { .. } => {
                    build(&ctx).map_err(|error| BuildError::Node {
                        node: n.name.clone(),
                        kind: n.kind.clone(),
                        error,
                    })?
                }
                Origin::Kept | Origin::Deferred(_) => reload::vacant(),
            };
            let thread = thread_of[i.index()];
            routes.insert(
                n.name.clone(),
                Route {
                    thread,
                    local: per_thread[thread],
                    params: params.clone(),
                },
            );
            per_thread[thread] += 1;
            node_stats.push(NodeStats {
                name: n.name.clone(),
                kind: n.kind.clone(),
                time: Default::default(),
            });
            let mut task = Task::new(TaskParts {
                name: n.name.clone(),
                kind: n.kind.clone(),
                stat: k,
                domain: domain_idx[i.index()],
                clock: domains[domain_idx[i.index()]],
                thread,
                io: builds[k].2,
                node,
                inputs: std::mem::take(&mut inputs[i.index()]),
                outputs: std::mem::take(&mut outputs[i.index()]),
                rate: settings.rate,
                frame_samples: settings.frame_samples as usize,
            });
            // A processing node or sink with nothing connected has nothing to
            // do, and must not keep an unpaced graph running for ever.
            if task.is_source() && !matches!(n.role, Role::AudioSource | Role::VideoSource) {
                task.end();
            }
            tasks.push(task);
        }
        let mut position = vec![0usize; g.node_count()];
        for (k, &i) in order.iter().enumerate() {
            position[i.index()] = k;
        }
        for l in links.iter_mut() {
            l.index_tasks(&position);
        }
        let mut levels = Vec::new();
        let mut start = 0;
        for k in 1..=order.len() {
            if k == order.len() || level[order[k].index()] != level[order[start].index()] {
                levels.push(start..k);
                start = k;
            }
        }
        let device_clocks = crate::device_clock::per_domain(
            tasks.iter().map(|t| (t.domain, &*t.node)),
            domains.len(),
        );
        let domain_stats = domains.iter().map(DomainClock::stats).collect();
        let engine = Engine {
            tasks,
            levels,
            domains,
            mode,
            threads,
            duration_ns: settings
                .duration
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| (d * 1e9).round() as u64),
            stats: Arc::new(Stats::new(node_stats, edge_stats).with_domains(domain_stats)),
            stop: Arc::new(AtomicBool::new(false)),
            commands: (0..threads).map(|_| Vec::new()).collect(),
            clock: Arc::new(SystemClock::new()),
            device_clocks,
            hook: None,
            parallel: Parallel::Auto,
            watch: Stopwatch::calibrate(),
            routes: Arc::new(routes),
            names: Arc::new(names),
            layout: Layout::of(plan),
            edges: links,
            reload: Arc::new(Mailbox::default()),
            resume_at: 0,
            origins: Vec::new(),
            pool: None,
        };
        Ok((engine, builds.into_iter().map(|b| b.3).collect()))
    }

    /// Which executor will run the graph (`settings.realtime`).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Live statistics, readable from any thread while the graph runs.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// A handle that stops the run from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// A new controller for live parameter changes (each one gets its own
    /// rings; make them before `start`).
    pub fn controller(&mut self) -> Controller {
        let (c, rxs) = control::channel(self.routes.clone(), self.names.clone(), self.threads);
        for (t, rx) in rxs.into_iter().enumerate() {
            self.commands[t].push(rx);
        }
        c
    }

    /// Sets a parameter before the run starts (`--set node.param=value`);
    /// checked like a live change, then applied at once.
    pub fn set(&mut self, node: &str, key: &str, value: Arg) -> Result<(), ControlError> {
        let route = control::validate(&self.routes, node, key, &value)?;
        let thread = route.thread;
        let local = route.local as usize;
        let task = self
            .tasks
            .iter_mut()
            .filter(|t| t.thread == thread)
            .nth(local)
            .ok_or_else(|| ControlError::UnknownNode(node.to_string()))?;
        task.node.set(key, &value).map_err(|e| ControlError::Node {
            node: node.to_string(),
            key: key.to_string(),
            error: e.0,
        })
    }

    /// Paces the real-time executor with `clock` instead of the system
    /// clock (tests use [`crate::pace::SimClock`]).
    pub fn set_pace_clock(&mut self, clock: Arc<dyn PaceClock>) {
        self.clock = clock;
    }

    /// Calls `hook` on every processing thread as it starts and stops.
    pub fn set_thread_hook(&mut self, hook: ThreadHook) {
        self.hook = Some(hook);
    }

    /// When the as-fast-as-possible executor spreads a level over rayon
    /// ([`Parallel::Auto`] by default).
    pub fn set_parallel(&mut self, parallel: Parallel) {
        self.parallel = parallel;
    }

    /// Whether every `process` call is timed for the stats (on by default;
    /// off saves a counter read per node per tick, and `Parallel::Auto`
    /// then has no costs to go by and stays on one thread).
    pub fn set_timing(&mut self, on: bool) {
        self.watch.enabled = on;
    }

    /// A handle that swaps in a new plan while the graph runs (`sluice run
    /// --watch`): nodes left unchanged keep their state, changed ones are
    /// crossfaded. See [`Reloader`].
    pub fn reloader(&self) -> Reloader {
        Reloader::new(self.layout.clone(), self.reload.clone(), self.stats.clone())
    }

    /// Node names in plan order.
    pub fn node_names(&self) -> &[String] {
        &self.names
    }

    /// Runs the graph to its end (every source ended, the duration reached,
    /// or a stop), drains it, finishes every node, and reports.
    pub fn run(mut self) -> Result<Summary, RunError> {
        let started = Instant::now();
        let mut tasks = std::mem::take(&mut self.tasks);
        let mut errors = Vec::new();
        let mut retired = Retired::default();
        loop {
            let paused = match self.mode {
                Mode::AsFastAsPossible => {
                    retired.finish(&mut errors);
                    let engine = &mut self;
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        exec::run_unpaced(engine, &mut tasks)
                    }));
                    // On a panic, still finish every node below: files get
                    // valid headers for what was written before it.
                    ran.unwrap_or_else(|_| {
                        errors.push("a node panicked; the run was cut short".to_string());
                        false
                    })
                }
                Mode::RealTime => {
                    let (t, paused) =
                        exec::run_realtime(&mut self, tasks, &mut retired, &mut errors);
                    tasks = t;
                    paused
                }
            };
            retired.finish(&mut errors);
            let next = if paused { self.reload.take() } else { None };
            match next {
                Some(next) => {
                    let (t, r) = reload::swap(&mut self, tasks, next, &mut errors);
                    tasks = t;
                    retired = r;
                }
                None if paused => {}
                None => break,
            }
        }
        self.reload.close();
        exec::close_pool(&mut self);
        let wall = started.elapsed();
        retired.finish(&mut errors);
        for t in tasks.iter_mut() {
            if let Err(e) = t.node.finish() {
                errors.push(format!("node `{}` (kind `{}`): {e}", t.name, t.kind));
            }
            if let Some(fade) = t.fade.take() {
                if let Err(e) = fade.into_old().finish() {
                    errors.push(format!("node `{}` (replaced): {e}", t.name));
                }
            }
        }
        let summary = Summary::from_stats(&self.stats, wall, self.stop.load(Ordering::Acquire));
        if errors.is_empty() {
            Ok(summary)
        } else {
            Err(RunError {
                errors,
                summary: Some(Box::new(summary)),
            })
        }
    }

    /// Runs the graph on a new thread; the handle stops it and waits.
    pub fn start(self) -> Running {
        let stop = self.stop_handle();
        let stats = self.stats();
        let thread = std::thread::Builder::new()
            .name("sluice-engine".into())
            .spawn(move || self.run())
            .expect("spawning the engine thread");
        Running {
            stop,
            stats,
            thread,
        }
    }
}

/// A graph running on its own thread.
#[derive(Debug)]
pub struct Running {
    stop: StopHandle,
    stats: Arc<Stats>,
    thread: JoinHandle<Result<Summary, RunError>>,
}

impl Running {
    /// Asks the run to stop (drain and finish); returns at once.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// A handle to stop it from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Live statistics.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Whether the run has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the end of the run.
    pub fn wait(self) -> Result<Summary, RunError> {
        self.thread.join().unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(RunError {
                errors: vec![format!("the engine panicked: {msg}")],
                summary: None,
            })
        })
    }
}
