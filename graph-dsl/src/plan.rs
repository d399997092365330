//! The plan: the checked graph the runtime builds an engine from.
//!
//! A `Plan` is plain data (serde-serialisable): typed node instances,
//! port-to-port edges, a topological order, parallel levels and clock
//! domains. It holds no node code.

use crate::signature::{MediaType, Role};
use crate::value::Args;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// A byte range in the source text, for pointing diagnostics at nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Graph-wide settings from the `graph name(...)` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Audio sample rate in Hz (default 48000).
    pub rate: u32,
    /// Samples per audio tick (rate x frame; default 480).
    pub frame_samples: u32,
    /// Whether sources are paced by a clock or device.
    pub realtime: bool,
    /// Stop after this many seconds of media time, if set.
    pub duration: Option<f64>,
    /// `rate: call`: under `sluice serve` the graph runs at each call's
    /// own rate (16 or 24 kHz), so nothing is resampled; `rate` then holds
    /// [`CALL_RATE_ELSEWHERE`], the rate used outside `serve`.
    #[serde(default)]
    pub call_rate: bool,
}

/// The rate a `rate: call` graph runs at outside `sluice serve` (the
/// platform's default call rate).
pub const CALL_RATE_ELSEWHERE: u32 = 16_000;

/// The rates a `rate: call` graph may run at: the frame must give a whole
/// number of samples at each.
pub const CALL_RATES: [u32; 2] = [16_000, 24_000];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate: 48_000,
            frame_samples: 480,
            realtime: false,
            duration: None,
            call_rate: false,
        }
    }
}

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
