//! Building a [`Graph`] from a plan: every node, ring, pool and counter a
//! run will need is allocated here, in stages:
//!
//! 1. [`schedule`]: the plan's order and levels, checked (the engine runs
//!    exactly what `sluice plan` shows);
//! 2. [`resolve`]: every kind's constructor, before any file is opened;
//! 3. [`place`]: clock domains (the plan's) and processing threads;
//! 4. [`wire`]: a pool per output port and a ring per edge;
//! 5. [`make_tasks`]: each node built (or left vacant for a reload to
//!    fill) with its ring ends, routes and counters.

use crate::control::{Route, Routes};
use crate::execution::error::BuildError;
use crate::execution::graph::Graph;
use crate::execution::layout::{EdgeLink, Layout, Origin};
use crate::execution::task::{vacant, DomainClock, Task, TaskParts};
use crate::node::BuildContext;
use crate::observation::stats::{EdgeStats, NodeStats, Stats};
use crate::registry::{Registry, SharedBuild};
use crate::transport::edge::{self, EdgeSpec, Input, Output, Policy};
use crate::transport::frame::Frame;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use sluice_dsl::{Domain, MediaType, ParamSig, Plan, PlanEdge, Role};
use std::ops::Range;
use std::sync::Arc;

/// The plan's schedule as the engine runs it.
struct Schedule {
    /// Plan nodes in the plan's order (level by level).
    nodes: Vec<NodeIndex>,
    /// Task range of each level.
    levels: Vec<Range<usize>>,
    /// Task index of each plan node.
    task_of: Vec<usize>,
}

/// A node's kind, looked up: how to build it, what it accepts live, where
/// it runs, and (at a reload) where its instance comes from.
struct Resolved {
    build: SharedBuild,
    params: Vec<ParamSig>,
    io: bool,
    origin: Origin,
}

/// Where nodes tick and run (indexed by plan node).
struct Placement {
    domains: Vec<DomainClock>,
    domain_of: Vec<usize>,
    thread_of: Vec<usize>,
    threads: usize,
}

/// Ring ends and counters, made one output port at a time (ends indexed
/// by plan node).
struct Wiring {
    inputs: Vec<Vec<Option<Input>>>,
    outputs: Vec<Vec<Output>>,
    edge_stats: Vec<EdgeStats>,
    links: Vec<EdgeLink>,
}

/// What [`make_tasks`] makes.
struct Made {
    tasks: Vec<Task>,
    routes: Routes,
    node_stats: Vec<NodeStats>,
}

impl Graph {
    /// Builds the graph of `plan`; with a running `layout`, nodes it holds
    /// unchanged are left vacant (the running instances move in at the
    /// swap), as are changed I/O sinks (built at the swap, once the old
    /// instance has closed its file). Says where each task came from.
    pub(crate) fn build(
        plan: &Plan,
        registry: &Registry,
        layout: Option<&Layout>,
    ) -> Result<(Graph, Vec<Origin>), BuildError> {
        let schedule = schedule(plan)?;
        let resolved = resolve(plan, &schedule.nodes, registry, layout)?;
        let placement = place(plan, &schedule.nodes, &resolved);
        let mut wiring = wire(plan, &placement, &schedule.task_of)?;
        let names: Vec<String> = plan.graph.node_weights().map(|n| n.name.clone()).collect();
        let mut made = make_tasks(plan, &schedule, &resolved, &placement, &mut wiring, &names)?;
        let domain_stats = placement.domains.iter().map(DomainClock::stats).collect();
        let endpoints = made
            .tasks
            .iter_mut()
            .filter_map(|t| Some((t.node.host_end()?, t.clock.domain)))
            .collect();
        let graph = Graph {
            tasks: made.tasks,
            levels: schedule.levels,
            domains: placement.domains,
            threads: placement.threads,
            stats: Arc::new(
                Stats::new(made.node_stats, wiring.edge_stats).with_domains(domain_stats),
            ),
            commands: (0..placement.threads).map(|_| Vec::new()).collect(),
            routes: Arc::new(made.routes),
            names: Arc::new(names),
            layout: Layout::of(plan),
            edges: wiring.links,
            endpoints,
        };
        Ok((graph, resolved.into_iter().map(|r| r.origin).collect()))
    }
}

/// Reads the plan's levels as task ranges, checking that they hold every
/// node once, that every edge goes to a later level, and that the plan's
/// order is its levels in turn (the order `sluice plan` shows is the one
/// that runs).
fn schedule(plan: &Plan) -> Result<Schedule, BuildError> {
    let g = &plan.graph;
    let bad = |msg: String| Err(BuildError::Plan(msg));
    let mut task_of = vec![usize::MAX; g.node_count()];
    let mut level_of = vec![0; g.node_count()];
    let mut nodes = Vec::with_capacity(g.node_count());
    let mut levels = Vec::with_capacity(plan.levels.len());
    for (l, level) in plan.levels.iter().enumerate() {
        let start = nodes.len();
        for &i in level {
            match task_of.get_mut(i.index()) {
                Some(t) if *t == usize::MAX => *t = nodes.len(),
                Some(_) => return bad(format!("node `{}` is in two levels", g[i].name)),
                None => return bad(format!("level {l} names a node the graph lacks")),
            }
            level_of[i.index()] = l;
            nodes.push(i);
        }
        if nodes.len() > start {
            levels.push(start..nodes.len());
        }
    }
    if let Some(i) = g.node_indices().find(|i| task_of[i.index()] == usize::MAX) {
        let name = &g[i].name;
        return bad(format!(
            "node `{name}` is in no level (the graph has a cycle through it?)"
        ));
    }
    if plan.order != nodes {
        return bad("the order is not the levels in turn".into());
    }
    if let Some(e) = g
        .edge_references()
        .find(|e| level_of[e.source().index()] >= level_of[e.target().index()])
    {
        let (a, b) = (&g[e.source()].name, &g[e.target()].name);
        return bad(format!("edge `{a}` -> `{b}` does not go to a later level"));
    }
    Ok(Schedule {
        nodes,
        levels,
        task_of,
    })
}

/// Looks up every node's kind, so a missing constructor is reported before
/// any file is opened.
fn resolve(
    plan: &Plan,
    nodes: &[NodeIndex],
    registry: &Registry,
    layout: Option<&Layout>,
) -> Result<Vec<Resolved>, BuildError> {
    nodes
        .iter()
        .map(|&i| {
            let n = &plan.graph[i];
            let kind = registry
                .kind(&n.kind)
                .ok_or_else(|| BuildError::UnknownKind {
                    node: n.name.clone(),
                    kind: n.kind.clone(),
                })?;
            let build = kind.constructor(&n.name)?;
            let io = kind.signature.io || n.io;
            Ok(Resolved {
                origin: layout.map_or(Origin::New, |l| l.origin(n, io, build.clone())),
                build,
                params: kind.signature.params.clone(),
                io,
            })
        })
        .collect()
}

/// Each node's clock domain (the plan's; a node connected to nothing has
/// none and never runs, so it is put with audio) and, in real time, its
/// thread: its domain's, or the I/O thread after the domains. Audio comes
/// first (its ticks go first at a tie), then video rates as they appear.
fn place(plan: &Plan, nodes: &[NodeIndex], resolved: &[Resolved]) -> Placement {
    let settings = &plan.settings;
    let domain = |i: NodeIndex| plan.graph[i].domain.unwrap_or(Domain::Audio);
    let mut domains: Vec<DomainClock> = Vec::new();
    for &i in nodes {
        if !domains.iter().any(|c| c.domain == domain(i)) {
            domains.push(DomainClock::new(
                domain(i),
                settings.rate,
                settings.frame_samples,
            ));
        }
    }
    domains.sort_by_key(|c| c.domain != Domain::Audio);
    let mut domain_of = vec![0usize; plan.graph.node_count()];
    for &i in nodes {
        domain_of[i.index()] = domains
            .iter()
            .position(|c| c.domain == domain(i))
            .unwrap_or(0);
    }
    let mut thread_of = vec![0usize; plan.graph.node_count()];
    let threads = if settings.realtime {
        let io_thread = domains.len();
        for (&i, r) in nodes.iter().zip(resolved) {
            thread_of[i.index()] = if r.io {
                io_thread
            } else {
                domain_of[i.index()]
            };
        }
        domains.len() + 1
    } else {
        1
    };
    Placement {
        domains,
        domain_of,
        thread_of,
        threads,
    }
}

/// A frame pool for every output port and a ring for every edge leaving it.
fn wire(plan: &Plan, placement: &Placement, task_of: &[usize]) -> Result<Wiring, BuildError> {
    let g = &plan.graph;
    let mut w = Wiring {
        inputs: g
            .node_weights()
            .map(|n| n.inputs.iter().map(|_| None).collect())
            .collect(),
        outputs: g.node_indices().map(|_| Vec::new()).collect(),
        edge_stats: Vec::new(),
        links: Vec::new(),
    };
    for i in g.node_indices() {
        for port in 0..g[i].outputs.len() {
            wire_port(plan, placement, task_of, (i, port), &mut w)?;
        }
    }
    Ok(w)
}

/// Connects output `port` of node `i` to every edge leaving it (in edge
/// order: the ring index within the port is stable for a reload).
fn wire_port(
    plan: &Plan,
    placement: &Placement,
    task_of: &[usize],
    (i, port): (NodeIndex, usize),
    w: &mut Wiring,
) -> Result<(), BuildError> {
    let g = &plan.graph;
    let mut edges: Vec<_> = g
        .edges_directed(i, Direction::Outgoing)
        .filter(|e| e.weight().from_port == port)
        .collect();
    edges.sort_by_key(|e| e.id());
    let specs: Vec<EdgeSpec> = edges
        .iter()
        .map(|e| edge_spec(placement, e.weight(), i, e.target()))
        .collect();
    let proto = Frame::for_type(&g[i].outputs[port].ty, plan.settings.frame_samples as usize);
    let (out, rxs) = edge::connect(&proto, &specs);
    for (k, (e, rx)) in edges.iter().zip(rxs).enumerate() {
        let (t, slot) = (e.target(), e.weight().to_port);
        let (n, tn) = (&g[i], &g[t]);
        let target = w.inputs[t.index()].get_mut(slot).ok_or_else(|| {
            let have = tn.inputs.len();
            BuildError::Plan(format!(
                "edge into `{}` slot {slot}, which has {have} inputs",
                tn.name
            ))
        })?;
        if target.is_some() {
            return Err(BuildError::Plan(format!(
                "two edges into `{}` slot {slot}",
                tn.name
            )));
        }
        let slot_name = tn.inputs[slot].name.as_str();
        w.edge_stats.push(EdgeStats {
            label: format!(
                "{}.{} -> {}.{slot_name}",
                n.name, n.outputs[port].name, tn.name
            ),
            shared: rx.shared().clone(),
        });
        w.links
            .push(EdgeLink::new(plan, e.weight(), (i, t), (port, k), task_of));
        *target = Some(rx);
    }
    w.outputs[i.index()].push(out);
    Ok(())
}

/// The ring of the edge `from -> to`: its size, and `Latest` between clock
/// domains (the reader takes the newest frame).
fn edge_spec(p: &Placement, e: &PlanEdge, from: NodeIndex, to: NodeIndex) -> EdgeSpec {
    let (a, b) = (
        &p.domains[p.domain_of[from.index()]],
        &p.domains[p.domain_of[to.index()]],
    );
    let same_thread = p.thread_of[from.index()] == p.thread_of[to.index()];
    EdgeSpec {
        capacity: capacity(&e.ty, same_thread, a, b),
        policy: if a.domain == b.domain {
            Policy::DropNewest
        } else {
            Policy::Latest
        },
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

/// Builds every node in the plan's order with its ring ends, its route for
/// controllers and its counters.
fn make_tasks(
    plan: &Plan,
    schedule: &Schedule,
    resolved: &[Resolved],
    placement: &Placement,
    wiring: &mut Wiring,
    names: &[String],
) -> Result<Made, BuildError> {
    let mut made = Made {
        tasks: Vec::with_capacity(schedule.nodes.len()),
        routes: Routes::new(),
        node_stats: Vec::with_capacity(schedule.nodes.len()),
    };
    let mut per_thread = vec![0u32; placement.threads];
    for (k, (&i, r)) in schedule.nodes.iter().zip(resolved).enumerate() {
        let n = &plan.graph[i];
        let thread = placement.thread_of[i.index()];
        let route = Route {
            thread,
            local: per_thread[thread],
            params: r.params.clone(),
        };
        made.routes.insert(n.name.clone(), route);
        per_thread[thread] += 1;
        let node = match &r.origin {
            Origin::New | Origin::Changed { .. } => {
                let ctx = BuildContext::of(n, i.index() as u32, &plan.settings, names);
                (r.build)(&ctx).map_err(|error| BuildError::Node {
                    node: n.name.clone(),
                    kind: n.kind.clone(),
                    error,
                })?
            }
            Origin::Kept | Origin::Deferred(_) => vacant(),
        };
        let stats = NodeStats::new(&n.name, &n.kind);
        if let Some(r) = node.report() {
            stats.set_report(r);
        }
        made.node_stats.push(stats);
        let domain = placement.domain_of[i.index()];
        let mut task = Task::new(TaskParts {
            name: n.name.clone(),
            kind: n.kind.clone(),
            stat: k,
            domain,
            clock: placement.domains[domain],
            thread,
            io: r.io,
            node,
            inputs: std::mem::take(&mut wiring.inputs[i.index()]),
            outputs: std::mem::take(&mut wiring.outputs[i.index()]),
            rate: plan.settings.rate,
            frame_samples: plan.settings.frame_samples as usize,
        });
        // A processing node or sink with nothing connected has nothing to
        // do, and must not keep an unpaced graph running for ever.
        if task.is_source()
            && !matches!(n.role, Role::AudioSource | Role::VideoSource | Role::Source)
        {
            task.end();
        }
        made.tasks.push(task);
    }
    Ok(made)
}
