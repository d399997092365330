//! Helpers for testing nodes and graphs without the graph language: build a
//! [`Plan`] by hand ([`PlanBuilder`]), run it ([`run_graph`],
//! [`run_ticks`]), or drive one node on given frames ([`NodeHarness`]).
//! Other crates' tests use these; they allocate freely (test code).

use crate::execution::{BuildError, Engine};
use crate::node::{BuildContext, Clock, Flow, Node, NodeError, PortIo};
use crate::observation::stats::Summary;
use crate::registry::Registry;
use crate::transport::frame::Frame;
use petgraph::graph::{DiGraph, NodeIndex};
use sluice_dsl::{
    Arg, Args, MediaType, OutType, Plan, PlanEdge, PlanNode, PlanPort, Role, Settings, Span,
};

/// Assembles a [`Plan`] from nodes with explicit port types and edges.
///
/// Ports are named `in0, in1, ...` and `out0, out1, ...`. Role, `io` and
/// `endless` come from the kind's signature when the registry knows it.
/// The schedule (order, levels, clock domains) is the checker's own.
#[derive(Debug, Clone)]
pub struct PlanBuilder<'r> {
    registry: &'r Registry,
    graph: DiGraph<PlanNode, PlanEdge>,
    settings: Settings,
}

impl<'r> PlanBuilder<'r> {
    /// An empty graph with default settings (48 kHz, 480-sample ticks).
    pub fn new(registry: &'r Registry) -> Self {
        PlanBuilder {
            registry,
            graph: DiGraph::new(),
            settings: Settings::default(),
        }
    }

    /// Replaces the graph settings.
    pub fn settings(&mut self, settings: Settings) -> &mut Self {
        self.settings = settings;
        self
    }

    /// Adds a node with these input slot and output port types; its
    /// arguments are `args` over the signature's defaults, as the checker
    /// would fill them.
    pub fn node(
        &mut self,
        name: &str,
        kind: &str,
        args: Args,
        inputs: &[MediaType],
        outputs: &[MediaType],
    ) -> &mut Self {
        let sig = self.registry.kind(kind).map(|k| &k.signature);
        let args = match sig {
            Some(s) => {
                let mut all = s.default_args();
                all.overlay(&args);
                all
            }
            None => args,
        };
        let port = |prefix: &str, i: usize, ty: &MediaType| PlanPort {
            name: format!("{prefix}{i}"),
            ty: *ty,
            connected: prefix == "out",
        };
        let role = sig.map_or(
            if inputs.is_empty() {
                Role::AudioSource
            } else if outputs.is_empty() {
                Role::Sink
            } else {
                Role::Process
            },
            |s| s.role,
        );
        self.graph.add_node(PlanNode {
            name: name.to_string(),
            kind: kind.to_string(),
            endless: sig.is_some_and(|s| (s.endless)(&args)),
            io: sig.is_some_and(|s| s.io),
            args,
            inputs: inputs
                .iter()
                .enumerate()
                .map(|(i, t)| port("in", i, t))
                .collect(),
            outputs: outputs
                .iter()
                .enumerate()
                .map(|(i, t)| port("out", i, t))
                .collect(),
            role,
            domain: None,
            inserted: false,
            span: Span::default(),
        });
        self
    }

    fn index(&self, name: &str) -> NodeIndex {
        self.graph
            .node_indices()
            .find(|&i| self.graph[i].name == name)
            .unwrap_or_else(|| panic!("PlanBuilder: no node named `{name}`"))
    }

    /// Connects output `port` of `from` to input `slot` of `to`.
    pub fn connect(&mut self, from: &str, port: usize, to: &str, slot: usize) -> &mut Self {
        let (a, b) = (self.index(from), self.index(to));
        let ty = self.graph[a].outputs[port].ty;
        self.graph[b].inputs[slot].connected = true;
        self.graph.add_edge(
            a,
            b,
            PlanEdge {
                from_port: port,
                to_port: slot,
                ty,
            },
        );
        self
    }

    /// The plan, scheduled as the checker schedules one
    /// ([`Plan::scheduled`]: domains, order and levels). Panics on a cycle
    /// (a bug in the test).
    pub fn build(&self) -> Plan {
        let plan = Plan::scheduled("test".into(), self.settings.clone(), self.graph.clone());
        assert_eq!(
            plan.order.len(),
            plan.graph.node_count(),
            "PlanBuilder: cycle"
        );
        plan
    }
}

/// Builds and runs `plan` to its end; errors as text.
pub fn run_graph(plan: &Plan, registry: &Registry) -> Result<Summary, String> {
    let engine = Engine::build(plan, registry).map_err(|e| e.to_string())?;
    engine.run().map_err(|e| e.to_string())
}

/// Runs `plan` for `ticks` audio ticks of media time (sets the duration).
pub fn run_ticks(plan: &Plan, registry: &Registry, ticks: u64) -> Result<Summary, String> {
    let mut plan = plan.clone();
    let s = &plan.settings;
    plan.settings.duration = Some(ticks as f64 * s.frame_samples as f64 / s.rate as f64);
    run_graph(&plan, registry)
}

/// One node driven by hand: give it input frames, read its outputs. Stamps
/// and clears outputs like the engine does, and counts ticks.
pub struct NodeHarness {
    node: Box<dyn Node>,
    outputs: Vec<Frame>,
    settings: Settings,
    tick: u64,
}

impl NodeHarness {
    /// Builds a node of `kind` from the registry with these arguments over
    /// the signature's defaults, and these port types, as the engine would.
    pub fn build(
        registry: &Registry,
        kind: &str,
        args: Args,
        inputs: &[MediaType],
        outputs: &[MediaType],
        settings: Settings,
    ) -> Result<NodeHarness, BuildError> {
        let k = registry.kind(kind).ok_or_else(|| BuildError::UnknownKind {
            node: kind.into(),
            kind: kind.into(),
        })?;
        let build = k.constructor(kind)?;
        let mut all = k.signature.default_args();
        all.overlay(&args);
        let ports = |ts: &[MediaType], p: &str| -> Vec<PlanPort> {
            ts.iter()
                .enumerate()
                .map(|(i, t)| PlanPort {
                    name: format!("{p}{i}"),
                    ty: *t,
                    connected: true,
                })
                .collect()
        };
        let (ins, outs) = (ports(inputs, "in"), ports(outputs, "out"));
        let names = vec![kind.to_string()];
        let ctx = BuildContext {
            name: kind,
            index: 0,
            args: &all,
            inputs: &ins,
            outputs: &outs,
            settings: &settings,
            node_names: &names,
        };
        let node = build(&ctx).map_err(|error| BuildError::Node {
            node: kind.into(),
            kind: kind.into(),
            error,
        })?;
        Ok(NodeHarness::from_node(node, outputs, settings))
    }

    /// Wraps an already built node with outputs of these types.
    pub fn from_node(node: Box<dyn Node>, outputs: &[MediaType], settings: Settings) -> Self {
        let n = settings.frame_samples as usize;
        NodeHarness {
            node,
            outputs: outputs.iter().map(|t| Frame::for_type(t, n)).collect(),
            settings,
            tick: 0,
        }
    }

    /// The clock of the next tick.
    pub fn clock(&self) -> Clock {
        let s = &self.settings;
        let ns = self.tick as u128 * s.frame_samples as u128 * 1_000_000_000 / s.rate as u128;
        Clock {
            tick: self.tick,
            time: ns as u64,
            rate: s.rate,
            frame_samples: s.frame_samples as usize,
        }
    }

    /// Runs one tick on `inputs` (one per input slot, `None` for none).
    pub fn process(&mut self, inputs: &[Option<&Frame>]) -> Flow {
        let clock = self.clock();
        for f in &mut self.outputs {
            f.set_time(clock.time);
            if let Frame::Events(e) = f {
                e.clear();
            }
        }
        let mut outs: Vec<&mut Frame> = self.outputs.iter_mut().collect();
        let mut io = PortIo::new(inputs, &mut outs, clock);
        let flow = self.node.process(&mut io);
        self.tick += 1;
        flow
    }

    /// Output `i` as the last tick left it.
    pub fn output(&self, i: usize) -> &Frame {
        &self.outputs[i]
    }

    /// Applies a parameter change as the control ring would.
    pub fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        self.node.set(key, value)
    }

    /// Finishes the node (flush files).
    pub fn finish(&mut self) -> Result<(), NodeError> {
        self.node.finish()
    }

    /// The node itself.
    pub fn node_mut(&mut self) -> &mut dyn Node {
        &mut *self.node
    }
}

impl std::fmt::Debug for NodeHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHarness")
            .field("tick", &self.tick)
            .finish()
    }
}

/// Builds one node of `kind` as the checker and the engine would: the
/// signature's defaults, then `given` on top, output types derived from the
/// `inputs` types. Returns the node and its output types (for examples and
/// tests that drive nodes by hand without writing graph text).
pub fn build_node(
    registry: &Registry,
    kind: &str,
    given: &[(&str, Arg)],
    inputs: &[MediaType],
    settings: &Settings,
) -> Result<(Box<dyn Node>, Vec<MediaType>), String> {
    let k = registry.kind(kind).ok_or(format!("no kind `{kind}`"))?;
    let sig = &k.signature;
    let mut args = sig.default_args();
    for (name, v) in given {
        args.set(name, v.clone());
    }
    let ins: Vec<Option<MediaType>> = inputs.iter().copied().map(Some).collect();
    let outs = (sig.ports)(&args)?
        .outputs
        .iter()
        .map(|o| match o.ty {
            OutType::Fixed(t) => Ok(t),
            OutType::SameAs(i) => ins.get(i).copied().flatten().ok_or(format!("no input {i}")),
            OutType::Derived(f) => f(&args, &ins),
        })
        .collect::<Result<Vec<_>, String>>()?;
    let port = |ty: &MediaType| PlanPort {
        name: "p".into(),
        ty: *ty,
        connected: true,
    };
    let in_ports: Vec<PlanPort> = inputs.iter().map(port).collect();
    let out_ports: Vec<PlanPort> = outs.iter().map(port).collect();
    let names = vec![kind.to_string()];
    let ctx = BuildContext {
        name: kind,
        index: 0,
        args: &args,
        inputs: &in_ports,
        outputs: &out_ports,
        settings,
        node_names: &names,
    };
    let build = k.constructor(kind).map_err(|e| e.to_string())?;
    let node = build(&ctx).map_err(|e| format!("{kind}: {e}"))?;
    Ok((node, outs))
}
