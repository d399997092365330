//! Hot reload: a new plan swapped into a running graph between ticks.
//!
//! The shape is fundsp's `realnet`: the front end ([`Reloader::prepare`],
//! on whatever thread edits the graph) builds and preallocates the whole
//! new engine, matching every node by name against what runs:
//!
//! - a node whose kind, arguments and ports are unchanged is left vacant in
//!   the new engine: at the swap the running instance moves in, so it keeps
//!   its state (a tone's phase, a file being written, a ramp in progress);
//! - a changed node is built afresh and, when its ports are alike, its old
//!   instance keeps running beside it for [`crate::fade::FADE_TICKS`] ticks
//!   while the outputs crossfade, so the change makes no click; a node of
//!   the same kind first hands its successor what it should inherit
//!   ([`Node::take_state`]: a tone's phase);
//! - an I/O sink that is new or changed is built at the swap itself, after
//!   the instance it replaces (or any removed one) has closed its file, so
//!   a sink rewriting the same path never truncates the file still open
//!   (I/O sources are built ahead like the rest: a missing file is refused
//!   before anything changes).
//!
//! The prepared engine waits in a one-slot [`Mailbox`]. Each executor
//! checks an atomic flag at its tick boundaries; on a reload the threads
//! stop before the same media time, the engine's own thread performs the
//! swap (moving nodes, copying the frames still queued in the old rings
//! into the new ones, finishing what was removed) and the threads resume
//! at that media time on the same pacing origin. Replaced instances are
//! finished and freed on the engine's thread, never on a real-time one.

use crate::engine::{BuildError, Engine};
use crate::fade::Fade;
use crate::frame::Frame;
use crate::node::{BuildContext, Flow, Node, PortIo};
use crate::registry::{Registry, SharedBuild};
use crate::stats::Stats;
use crate::task::Task;
use petgraph::graph::NodeIndex;
use sluice_dsl::{MediaType, Plan, PlanEdge, PlanNode, Role, Settings};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long [`Reloader::prepare`] waits for the previous reload to be
/// swapped in before giving up.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a task of a newly built engine comes from.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// No node of this name runs: built new.
    New,
    /// Same kind, arguments and ports: the running instance moves in.
    Kept,
    /// Rebuilt; `fade` when the ports are alike, so the old instance can
    /// run beside it for a crossfade.
    Changed {
        /// Whether to crossfade from the old instance.
        fade: bool,
    },
    /// An I/O sink built at the swap, after the old ones closed their files.
    Deferred(SharedBuild),
}

/// The nodes of a running plan by name, and its settings.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    settings: Settings,
    nodes: HashMap<String, PlanNode>,
}

impl Layout {
    /// The layout of `plan`.
    pub fn of(plan: &Plan) -> Layout {
        Layout {
            settings: plan.settings.clone(),
            nodes: plan
                .graph
                .node_weights()
                .map(|n| (n.name.clone(), n.clone()))
                .collect(),
        }
    }

    /// How the node `n` of a new plan relates to the running one.
    pub fn origin(&self, n: &PlanNode, io: bool, build: SharedBuild) -> Origin {
        let old = self.nodes.get(&n.name);
        let ports = old.is_some_and(|o| o.inputs == n.inputs && o.outputs == n.outputs);
        match old {
            Some(o) if ports && o.kind == n.kind && o.args == n.args => Origin::Kept,
            _ if io && n.role == Role::Sink => Origin::Deferred(build),
            Some(_) => Origin::Changed { fade: ports },
            None => Origin::New,
        }
    }

    /// Why a plan with `settings` cannot replace this one while running.
    fn incompatible(&self, settings: &Settings) -> Option<String> {
        let (a, b) = (&self.settings, settings);
        if a.rate != b.rate || a.frame_samples != b.frame_samples {
            return Some(format!(
                "the rate or frame changed ({} Hz x {} to {} Hz x {}); restart to apply it",
                a.rate, a.frame_samples, b.rate, b.frame_samples
            ));
        }
        (a.realtime != b.realtime).then(|| "`realtime` changed; restart to apply it".to_string())
    }
}

/// One edge of an engine, named by its ends, so the frames still queued on
/// it can follow it into a reloaded engine.
#[derive(Debug, Clone)]
pub(crate) struct EdgeLink {
    from: String,
    port: String,
    to: String,
    slot_name: String,
    ty: MediaType,
    /// Producer: plan node index until [`EdgeLink::index_tasks`], then task
    /// index; output port; edge within the port.
    from_task: usize,
    port_index: usize,
    edge: usize,
    /// Consumer's input slot.
    slot: usize,
}

impl EdgeLink {
    /// The link for edge `e` of `plan`, the `edge`-th leaving `from`'s
    /// output `port`.
    pub fn new(
        plan: &Plan,
        e: &PlanEdge,
        from: NodeIndex,
        to: NodeIndex,
        port: usize,
        edge: usize,
    ) -> EdgeLink {
        let (f, t) = (&plan.graph[from], &plan.graph[to]);
        let name = |p: Option<&sluice_dsl::PlanPort>| p.map_or(String::new(), |p| p.name.clone());
        EdgeLink {
            from: f.name.clone(),
            port: name(f.outputs.get(port)),
            to: t.name.clone(),
            slot_name: name(t.inputs.get(e.to_port)),
            ty: e.ty,
            from_task: from.index(),
            port_index: port,
            edge,
            slot: e.to_port,
        }
    }

    /// Turns the producer's plan node index into its task index
    /// (`position[node]`).
    pub fn index_tasks(&mut self, position: &[usize]) {
        self.from_task = position[self.from_task];
    }

    fn key(&self) -> (&str, &str, &str, &str) {
        (&self.from, &self.port, &self.to, &self.slot_name)
    }
}

/// An engine built for a reload, waiting to be swapped in.
pub(crate) struct Prepared {
    engine: Engine,
    origins: Vec<Origin>,
    plan: Plan,
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
    /// Whether a prepared engine waits (one atomic load: tick boundaries).
    #[inline]
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes the waiting engine, if any.
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
/// [`Engine::reloader`] before the run starts; it lives on after).
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
        let (engine, origins) =
            Engine::assemble(plan, registry, Some(&self.layout)).map_err(ReloadError::Build)?;
        let order: Vec<String> = engine.tasks.iter().map(|t| t.name.clone()).collect();
        let changes = Changes::between(&self.layout, &order, &origins);
        engine.stats.carry(&self.stats);
        self.stats = engine.stats.clone();
        self.layout = engine.layout.clone();
        self.mailbox.post(Prepared {
            engine,
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

/// Nodes and tasks a swap replaced, to finish and free on the engine's
/// thread while the new graph runs.
#[derive(Default)]
pub(crate) struct Retired {
    nodes: Vec<(String, Box<dyn Node>)>,
    tasks: Vec<Task>,
    engines: Vec<Engine>,
}

impl Retired {
    /// Finishes every retired node (errors named after the node) and frees
    /// everything.
    pub fn finish(&mut self, errors: &mut Vec<String>) {
        for (name, mut node) in self.nodes.drain(..) {
            if let Err(e) = node.finish() {
                errors.push(format!("node `{name}` (replaced): {e}"));
            }
        }
        self.tasks.clear();
        self.engines.clear();
    }
}

/// A placeholder for a node that moves in at the swap. It never runs: the
/// swap replaces every one.
struct Vacant;

impl Node for Vacant {
    fn process(&mut self, _: &mut PortIo<'_, '_>) -> Flow {
        Flow::Ended
    }
}

/// A vacant node (zero-sized: boxing it does not allocate).
pub(crate) fn vacant() -> Box<dyn Node> {
    Box::new(Vacant)
}

/// Swaps `next` into `engine`, whose executor has stopped before
/// `engine.resume_at`: returns the new tasks and what to finish and free.
pub(crate) fn swap(
    engine: &mut Engine,
    mut old: Vec<Task>,
    next: Box<Prepared>,
    errors: &mut Vec<String>,
) -> (Vec<Task>, Retired) {
    let Prepared {
        engine: mut new,
        origins,
        plan,
    } = *next;
    let mut tasks = std::mem::take(&mut new.tasks);
    let by_name: HashMap<String, usize> = old
        .iter()
        .enumerate()
        .map(|(k, t)| (t.name.clone(), k))
        .collect();
    carry_frames(&engine.edges, &mut old, &by_name, &new.edges, &mut tasks);
    let mut retired = Retired::default();
    close_old_io(&origins, &tasks, &mut old, errors);
    let at = engine.resume_at;
    for (task, origin) in tasks.iter_mut().zip(&origins) {
        let prev = by_name.get(&task.name).map(|&i| &mut old[i]);
        let name = task.name.clone();
        adopt(
            task,
            origin.clone(),
            prev,
            at,
            &mut retired,
            errors,
            |build| build_deferred(&plan, new.node_names(), &name, build),
        );
    }
    let present: HashSet<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    for t in old
        .iter_mut()
        .filter(|t| !present.contains(t.name.as_str()))
    {
        retire(t, &mut retired);
    }
    retired.tasks = old;
    new.stats.carry(&engine.stats);
    let mut replaced = std::mem::replace(engine, new);
    engine.stop = replaced.stop.clone();
    engine.clock = replaced.clock.clone();
    engine.hook = replaced.hook;
    engine.parallel = replaced.parallel;
    engine.watch = replaced.watch;
    engine.duration_ns = replaced.duration_ns;
    engine.reload = replaced.reload.clone();
    engine.resume_at = replaced.resume_at;
    engine.origins = std::mem::take(&mut replaced.origins);
    engine.pool = replaced.pool.take();
    // Kept nodes moved in above: a kept speaker paces its domain again.
    engine.device_clocks = crate::device_clock::per_domain(
        tasks.iter().map(|t| (t.domain, &*t.node)),
        engine.domains.len(),
    );
    replaced.tasks.clear();
    retired.engines.push(replaced);
    engine.reload.swapped.fetch_add(1, Ordering::AcqRel);
    (tasks, retired)
}

/// Moves the running instance (or its state, or a crossfade from it) into
/// the new task `task`.
fn adopt(
    task: &mut Task,
    origin: Origin,
    mut prev: Option<&mut Task>,
    at: u64,
    retired: &mut Retired,
    errors: &mut Vec<String>,
    build: impl FnOnce(SharedBuild) -> Result<Box<dyn Node>, String>,
) {
    task.calls = prev
        .as_ref()
        .map_or(task.clock.first_tick_at(at), |p| p.calls);
    if let (Origin::Changed { .. }, Some(p)) = (&origin, prev.as_deref_mut()) {
        if p.kind == task.kind && !p.ended {
            if let Some(state) = p.node.take_state() {
                task.node.restore_state(state);
            }
        }
    }
    match (origin, prev) {
        (Origin::Kept, Some(p)) => {
            std::mem::swap(&mut task.node, &mut p.node);
            task.fade = p.fade.take();
            task.cost_ns = p.cost_ns;
            if p.ended {
                task.end();
            }
        }
        (Origin::Changed { fade: true }, Some(p)) if !p.ended => {
            let old = std::mem::replace(&mut p.node, vacant());
            if let Some(f) = p.fade.take() {
                retired.nodes.push((p.name.clone(), f.into_old()));
            }
            task.fade = Some(Fade::new(old, task.output_frames()));
        }
        (Origin::Deferred(f), prev) => {
            if let Some(p) = prev {
                retire(p, retired);
            }
            match build(f) {
                Ok(node) => task.node = node,
                Err(e) => {
                    errors.push(format!(
                        "reload: node `{}`: {e}; it stays off until fixed",
                        task.name
                    ));
                    task.end();
                }
            }
        }
        (_, Some(p)) => retire(p, retired),
        (_, None) => {}
    }
}

/// Moves a replaced task's node (and any fading predecessor) to `retired`.
fn retire(t: &mut Task, retired: &mut Retired) {
    let node = std::mem::replace(&mut t.node, vacant());
    retired.nodes.push((t.name.clone(), node));
    if let Some(f) = t.fade.take() {
        retired.nodes.push((t.name.clone(), f.into_old()));
    }
}

/// Finishes, before anything is built at the swap, every old I/O node that
/// does not stay (removed, or replaced by a sink built at the swap), so a
/// sink has closed its file before its successor opens one.
fn close_old_io(origins: &[Origin], tasks: &[Task], old: &mut [Task], errors: &mut Vec<String>) {
    let staying: HashSet<&str> = tasks
        .iter()
        .zip(origins)
        .filter(|(_, o)| !matches!(o, Origin::Deferred(_)))
        .map(|(t, _)| t.name.as_str())
        .collect();
    for t in old
        .iter_mut()
        .filter(|t| t.io && !staying.contains(t.name.as_str()))
    {
        finish_now(t, errors);
    }
}

fn finish_now(t: &mut Task, errors: &mut Vec<String>) {
    if let Err(e) = t.node.finish() {
        errors.push(format!("node `{}` (kind `{}`): {e}", t.name, t.kind));
    }
    t.node = vacant();
}

/// Builds the deferred I/O node `name` of `plan`.
fn build_deferred(
    plan: &Plan,
    names: &[String],
    name: &str,
    build: SharedBuild,
) -> Result<Box<dyn Node>, String> {
    let g = &plan.graph;
    let i = g
        .node_indices()
        .find(|&i| g[i].name == name)
        .ok_or("not in the plan")?;
    let ctx = BuildContext::of(&g[i], i.index() as u32, &plan.settings, names);
    build(&ctx).map_err(|e| e.to_string())
}

/// Copies every frame still queued on an old edge into the new edge with
/// the same ends and type, so nothing read ahead or written behind is lost.
/// (Old tasks are found by name: the real-time executor regroups them.)
fn carry_frames(
    old_links: &[EdgeLink],
    old: &mut [Task],
    old_by_name: &HashMap<String, usize>,
    new_links: &[EdgeLink],
    new: &mut [Task],
) {
    let olds: HashMap<_, &EdgeLink> = old_links.iter().map(|l| (l.key(), l)).collect();
    for l in new_links {
        let Some(o) = olds.get(&l.key()).filter(|o| o.ty == l.ty) else {
            continue;
        };
        let Some(&consumer) = old_by_name.get(&o.to) else {
            continue;
        };
        let Some(input) = old[consumer]
            .inputs
            .get_mut(o.slot)
            .and_then(Option::as_mut)
        else {
            continue;
        };
        let out = &mut new[l.from_task].outputs[l.port_index];
        input.drain(|f: &Frame| {
            out.inject(l.edge, f);
        });
    }
}
