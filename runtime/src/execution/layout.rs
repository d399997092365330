//! A graph's identity by name: which nodes run with what arguments and
//! ports, and which edge joins which named ends. A hot reload matches a new
//! plan against it (what to keep, fade, rebuild) and carries the frames
//! still queued on an edge to the new edge with the same ends.

use crate::registry::BuildFn;
use petgraph::graph::NodeIndex;
use sluice_dsl::{MediaType, Plan, PlanEdge, PlanNode, Role, Settings};
use std::collections::HashMap;

/// Where a task of a newly built graph comes from.
#[derive(Debug, Clone, Copy)]
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
    Deferred(BuildFn),
}

/// The nodes of a running plan by name, and its settings.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub settings: Settings,
    pub nodes: HashMap<String, PlanNode>,
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
    pub fn origin(&self, n: &PlanNode, io: bool, build: BuildFn) -> Origin {
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
    pub fn incompatible(&self, settings: &Settings) -> Option<String> {
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

/// One edge of a graph, named by its ends, so the frames still queued on
/// it can follow it into a reloaded graph.
#[derive(Debug, Clone)]
pub(crate) struct EdgeLink {
    from: String,
    port: String,
    to: String,
    slot_name: String,
    pub ty: MediaType,
    /// Producer's task index, output port and edge within the port.
    pub from_task: usize,
    pub port_index: usize,
    pub edge: usize,
    /// Consumer's task index and input slot.
    pub to_task: usize,
    pub slot: usize,
}

impl EdgeLink {
    /// The link for edge `e` of `plan`, the `edge`-th leaving `from`'s
    /// output `port`; `task_of` gives a plan node's task index.
    pub fn new(
        plan: &Plan,
        e: &PlanEdge,
        (from, to): (NodeIndex, NodeIndex),
        (port, edge): (usize, usize),
        task_of: &[usize],
    ) -> EdgeLink {
        let (f, t) = (&plan.graph[from], &plan.graph[to]);
        let name = |p: Option<&sluice_dsl::PlanPort>| p.map_or(String::new(), |p| p.name.clone());
        EdgeLink {
            from: f.name.clone(),
            port: name(f.outputs.get(port)),
            to: t.name.clone(),
            slot_name: name(t.inputs.get(e.to_port)),
            ty: e.ty,
            from_task: task_of[from.index()],
            port_index: port,
            edge,
            to_task: task_of[to.index()],
            slot: e.to_port,
        }
    }

    /// The edge's ends by name: what a reloaded graph's edge is matched by.
    pub fn key(&self) -> (&str, &str, &str, &str) {
        (&self.from, &self.port, &self.to, &self.slot_name)
    }
}
