//! The plan: the checked graph the runtime builds an engine from.
//!
//! A `Plan` is plain data (serde-serialisable): typed node instances,
//! port-to-port edges, a topological order, parallel levels and clock
//! domains. It holds no node code.

use crate::media::MediaType;
use crate::settings::Settings;
use crate::signature::Role;
use crate::span::Span;
use crate::value::Args;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// A clock domain: the nodes that tick together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    /// Ticks every audio frame.
    Audio,
    /// Ticks every video frame at this rate (`num/den` fps).
    Video {
        /// Frame rate numerator.
        fps_num: u32,
        /// Frame rate denominator.
        fps_den: u32,
    },
}

/// A port of a planned node instance, with its concrete type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPort {
    /// Port name (`out0`, `mask`, `in`, ...; variadic slots are numbered).
    pub name: String,
    /// Concrete type (for an unconnected optional input, what it accepts
    /// most narrowly; the runtime leaves it empty).
    pub ty: MediaType,
    /// Whether an edge feeds this input (always true for outputs).
    pub connected: bool,
}

/// One node instance in the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNode {
    /// Stable instance name (declared, or kind-based for anonymous nodes).
    pub name: String,
    /// Node kind.
    pub kind: String,
    /// Checked arguments, defaults filled in.
    pub args: Args,
    /// Input slots in order.
    pub inputs: Vec<PlanPort>,
    /// Output ports in order.
    pub outputs: Vec<PlanPort>,
    /// Source, process or sink.
    pub role: Role,
    /// Whether it does file or socket I/O.
    pub io: bool,
    /// Clock domain it ticks in (`None` for a node connected to nothing).
    pub domain: Option<Domain>,
    /// Inserted by the checker (an automatic conversion), not written.
    pub inserted: bool,
    /// A source that never ends on its own with these arguments.
    pub endless: bool,
    /// Where it was written (for an inserted node: the edge it sits on).
    pub span: Span,
}

/// An edge from an output port to an input slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanEdge {
    /// Output port index on the source node.
    pub from_port: usize,
    /// Input slot index on the target node.
    pub to_port: usize,
    /// Type carried.
    pub ty: MediaType,
}

/// A checked, typed, scheduled graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Graph name (from the header, else the file stem).
    pub name: String,
    /// Graph settings.
    pub settings: Settings,
    /// Nodes and port-to-port edges.
    pub graph: DiGraph<PlanNode, PlanEdge>,
    /// A topological order of every node.
    pub order: Vec<NodeIndex>,
    /// Parallel levels: every node's inputs come from earlier levels.
    pub levels: Vec<Vec<NodeIndex>>,
}

impl Plan {
    /// The node index of the instance named `name`.
    pub fn node_by_name(&self, name: &str) -> Option<NodeIndex> {
        self.graph
            .node_indices()
            .find(|&i| self.graph[i].name == name)
    }

    /// Sources that never end on its own (an unpaced run needs a duration).
    pub fn endless_sources(&self) -> impl Iterator<Item = &PlanNode> {
        self.graph.node_weights().filter(|n| n.endless)
    }
}
