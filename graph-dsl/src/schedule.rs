//! The schedule of a plan, computed once: a topological order, parallel
//! levels and clock domains. The checker's plan, the runtime's hand-built
//! test plans and the engine (which runs the plan's order, levels and
//! domains as they are) all read it from here, so `sluice plan` shows the
//! order the engine runs.

use crate::plan::{Domain, Plan, PlanEdge, PlanNode};

use crate::media::{MediaType, VideoType};
use crate::settings::Settings;
use crate::signature::Role;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

impl Plan {
    /// The plan of `graph`, scheduled: every node's clock domain filled in,
    /// its parallel levels (a node's level is the longest path to it from
    /// a source) and the order, level by level and, within a level,
    /// smallest node index first. A node on a cycle is left out of the
    /// order (the checker reports cycles before it plans).
    pub fn scheduled(
        name: String,
        settings: Settings,
        mut graph: DiGraph<PlanNode, PlanEdge>,
    ) -> Plan {
        let topo = topo(&graph);
        let levels = levels(&graph, &topo);
        domains(&mut graph, &topo);
        Plan {
            name,
            settings,
            graph,
            order: levels.concat(),
            levels,
        }
    }
}

/// Kahn's algorithm, taking the smallest ready index first (source order).
fn topo(g: &DiGraph<PlanNode, PlanEdge>) -> Vec<NodeIndex> {
    let mut indeg: Vec<usize> = g
        .node_indices()
        .map(|i| g.neighbors_directed(i, Direction::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..g.node_count())
        .filter(|&i| indeg[i] == 0)
        .map(Reverse)
        .collect();
    let mut out = Vec::with_capacity(g.node_count());
    while let Some(Reverse(i)) = ready.pop() {
        out.push(NodeIndex::new(i));
        for b in g.neighbors(NodeIndex::new(i)) {
            indeg[b.index()] -= 1;
            if indeg[b.index()] == 0 {
                ready.push(Reverse(b.index()));
            }
        }
    }
    out
}

/// Each node's level is one past its deepest input's; nodes of a level
/// keep their order in `order`.
fn levels(g: &DiGraph<PlanNode, PlanEdge>, order: &[NodeIndex]) -> Vec<Vec<NodeIndex>> {
    let mut level = vec![0usize; g.node_count()];
    let mut out: Vec<Vec<NodeIndex>> = Vec::new();
    for &i in order {
        let l = g
            .neighbors_directed(i, Direction::Incoming)
            .map(|p| level[p.index()] + 1)
            .max()
            .unwrap_or(0);
        level[i.index()] = l;
        if out.len() <= l {
            out.resize_with(l + 1, Vec::new);
        }
        out[l].push(i);
    }
    out
}

/// The domain of a source of `v`: a tick per frame at its fps.
fn video_domain(v: VideoType) -> Domain {
    Domain::Video {
        fps_num: v.fps.0,
        fps_den: v.fps.1,
    }
}

/// Sources define a domain; every other node takes the domain of its
/// first connected input (in slot order).
fn domains(g: &mut DiGraph<PlanNode, PlanEdge>, order: &[NodeIndex]) {
    for &i in order {
        let d = match g[i].role {
            Role::AudioSource => Some(Domain::Audio),
            Role::VideoSource => Some(match g[i].outputs.first().map(|p| p.ty) {
                Some(MediaType::Video(v)) => video_domain(v),
                _ => Domain::Video {
                    fps_num: 30,
                    fps_den: 1,
                },
            }),
            Role::Source => Some(match g[i].outputs.first().map(|p| p.ty) {
                Some(MediaType::Video(v)) => video_domain(v),
                _ => Domain::Audio,
            }),
            Role::Process | Role::Sink => g
                .edges_directed(i, Direction::Incoming)
                .min_by_key(|e| e.weight().to_port)
                .and_then(|e| g[e.source()].domain),
        };
        g[i].domain = d;
    }
}
