//! Helpers for testing nodes and graphs without the graph language: build a
//! [`Plan`] by hand ([`PlanBuilder`]), run it ([`run_graph`],
//! [`run_ticks`]), or drive one node on given frames ([`NodeHarness`], the
//! harness every node test uses, custom nodes' included).
//! Other crates' tests use these; they allocate freely (test code).

use crate::execution::{BuildError, Engine};
use crate::node::{BuildContext, Clock, Flow, Node, NodeError, PortIo};
use crate::observation::stats::Summary;
use crate::registry::{Constructor, Registry, SharedBuild};
use crate::transport::frame::{AudioFrame, Frame, VideoFrame};
use petgraph::graph::{DiGraph, NodeIndex};
use sluice_dsl::{
    Arg, Args, MediaType, OutType, Plan, PlanEdge, PlanNode, PlanPort, Role, Settings, Signature,
    Span,
};
use std::sync::Arc;

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
/// and clears outputs like the engine does, and counts ticks. It is the
/// one harness for every node test, the workspace's and custom-node
/// authors' alike, so a node is tested exactly as the engine builds it.
///
/// ```
/// use sluice_dsl::{Accepts, Args, InPort, MediaType, OutPort, OutType, Ports, Role, Signature};
/// use sluice_runtime::testing::NodeHarness;
/// use sluice_runtime::{AudioFrame, BuildContext, Flow, Frame, Node, NodeError, PortIo};
///
/// /// Doubles every sample.
/// struct Double;
///
/// impl Node for Double {
///     fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
///         let Some(input) = io.audio_in(0) else {
///             return Flow::Continue;
///         };
///         for (o, x) in io.audio_out(0).data_mut().iter_mut().zip(input.data()) {
///             *o = 2.0 * x;
///         }
///         Flow::Continue
///     }
/// }
///
/// fn build(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
///     Ok(Box::new(Double))
/// }
///
/// fn ports(_: &Args) -> Result<Ports, String> {
///     Ok(Ports {
///         inputs: vec![InPort {
///             name: "in".into(),
///             accepts: Accepts::Audio { channels: None },
///             required: true,
///             variadic: false,
///         }],
///         outputs: vec![OutPort {
///             name: "out".into(),
///             aliases: Vec::new(),
///             ty: OutType::SameAs(0),
///         }],
///         ..Ports::default()
///     })
/// }
///
/// let sig = Signature {
///     kind: "double".into(),
///     doc: "Doubles every sample.".into(),
///     params: Vec::new(),
///     ports,
///     role: Role::Process,
///     io: false,
///     endless: |_| false,
/// };
/// let mono = MediaType::Audio { channels: 1 };
/// // Output types come from the signature (`SameAs(0)`: mono).
/// let mut h = NodeHarness::of(sig, build).inputs(&[mono]).build().unwrap();
/// assert_eq!(h.output_types(), &[mono]);
/// let mut input = AudioFrame::new(1, 480);
/// input.channel_mut(0).fill(0.25);
/// assert_eq!(h.run(&[&Frame::Audio(input)]), Flow::Continue);
/// assert!(h.audio(0).channel(0).iter().all(|&s| s == 0.5));
/// assert_eq!(h.clock().tick, 1);
/// ```
pub struct NodeHarness {
    node: Box<dyn Node>,
    outputs: Vec<Frame>,
    out_types: Vec<MediaType>,
    settings: Settings,
    tick: u64,
}

/// How to build the node under test: a signature and constructor, the
/// arguments over the signature's defaults (as the checker fills them),
/// the port types and the graph settings. Made by [`NodeHarness::of`] or
/// [`NodeHarness::kind`]; [`NodeSetup::build`] builds it as the engine
/// would. Output types are derived from the signature unless given.
pub struct NodeSetup {
    signature: Signature,
    build: SharedBuild,
    args: Args,
    inputs: Vec<MediaType>,
    outputs: Option<Vec<MediaType>>,
    settings: Settings,
    index: u32,
    names: Vec<String>,
}

impl NodeSetup {
    /// Overlays `given` on the arguments so far.
    pub fn args(mut self, given: Args) -> Self {
        self.args.overlay(&given);
        self
    }

    /// Sets one argument.
    pub fn arg(mut self, name: &str, value: Arg) -> Self {
        self.args.set(name, value);
        self
    }

    /// Replaces the arguments with exactly `args`, without the signature's
    /// defaults (to test a constructor's own checks of what it is given).
    pub fn exact_args(mut self, args: Args) -> Self {
        self.args = args;
        self
    }

    /// The input slots' types.
    pub fn inputs(mut self, types: &[MediaType]) -> Self {
        self.inputs = types.to_vec();
        self
    }

    /// The output ports' types, instead of the ones the signature derives.
    pub fn outputs(mut self, types: &[MediaType]) -> Self {
        self.outputs = Some(types.to_vec());
        self
    }

    /// The graph settings (default: 48 kHz, 480-sample ticks).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The node's plan index and every node's name by index (the node's
    /// own name is `names[index]`), for nodes that report or resolve them.
    pub fn named(mut self, index: u32, names: &[&str]) -> Self {
        self.index = index;
        self.names = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// The output types: the given ones, else derived as the checker does.
    pub fn output_types(&self) -> Result<Vec<MediaType>, String> {
        match &self.outputs {
            Some(t) => Ok(t.clone()),
            None => derive_outputs(&self.signature, &self.args, &self.inputs),
        }
    }

    /// Builds the node; a constructor's error (or outputs that cannot be
    /// derived) comes back as the error.
    pub fn build(self) -> Result<NodeHarness, NodeError> {
        let out_types = self.output_types().map_err(NodeError::new)?;
        let fallback = [self.signature.kind.clone()];
        let names = if self.names.is_empty() {
            &fallback[..]
        } else {
            &self.names[..]
        };
        let name = names
            .get(self.index as usize)
            .map_or(&*self.signature.kind, |n| n);
        let (ins, outs) = (ports(&self.inputs, "in"), ports(&out_types, "out"));
        let ctx = BuildContext {
            name,
            index: self.index,
            args: &self.args,
            inputs: &ins,
            outputs: &outs,
            settings: &self.settings,
            node_names: names,
        };
        let node = (self.build)(&ctx)?;
        Ok(NodeHarness::from_node(node, &out_types, self.settings))
    }
}

impl std::fmt::Debug for NodeSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSetup")
            .field("kind", &self.signature.kind)
            .field("args", &self.args)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

fn ports(types: &[MediaType], prefix: &str) -> Vec<PlanPort> {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| PlanPort {
            name: format!("{prefix}{i}"),
            ty: *t,
            connected: true,
        })
        .collect()
}

/// Output types of a node of `sig` with `args` on inputs of these types,
/// as the checker derives them (`Fixed`, `SameAs`, `Derived`).
pub fn derive_outputs(
    sig: &Signature,
    args: &Args,
    inputs: &[MediaType],
) -> Result<Vec<MediaType>, String> {
    let ins: Vec<Option<MediaType>> = inputs.iter().copied().map(Some).collect();
    (sig.ports)(args)?
        .outputs
        .iter()
        .map(|o| match o.ty {
            OutType::Fixed(t) => Ok(t),
            OutType::SameAs(i) => ins.get(i).copied().flatten().ok_or(format!("no input {i}")),
            OutType::Derived(f) => f(args, &ins),
        })
        .collect()
}

impl NodeHarness {
    /// Starts the setup of a node of `signature` built by `build` (a
    /// custom node's own constructor, say), arguments at their defaults.
    pub fn of(signature: Signature, build: impl Constructor + 'static) -> NodeSetup {
        NodeSetup {
            args: signature.default_args(),
            signature,
            build: Arc::new(build),
            inputs: Vec::new(),
            outputs: None,
            settings: Settings::default(),
            index: 0,
            names: Vec::new(),
        }
    }

    /// Starts the setup of a node of `kind` from the registry.
    pub fn kind(registry: &Registry, kind: &str) -> Result<NodeSetup, BuildError> {
        let k = registry.kind(kind).ok_or_else(|| BuildError::UnknownKind {
            node: kind.into(),
            kind: kind.into(),
        })?;
        let build = k.constructor(kind)?;
        Ok(NodeSetup {
            args: k.signature.default_args(),
            signature: k.signature.clone(),
            build,
            inputs: Vec::new(),
            outputs: None,
            settings: Settings::default(),
            index: 0,
            names: Vec::new(),
        })
    }

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
        NodeHarness::kind(registry, kind)?
            .args(args)
            .inputs(inputs)
            .outputs(outputs)
            .settings(settings)
            .build()
            .map_err(|error| BuildError::Node {
                node: kind.into(),
                kind: kind.into(),
                error,
            })
    }

    /// Wraps an already built node with outputs of these types.
    pub fn from_node(node: Box<dyn Node>, outputs: &[MediaType], settings: Settings) -> Self {
        let n = settings.frame_samples as usize;
        NodeHarness {
            node,
            outputs: outputs.iter().map(|t| Frame::for_type(t, n)).collect(),
            out_types: outputs.to_vec(),
            settings,
            tick: 0,
        }
    }

    /// The clock of the next tick.
    pub fn clock(&self) -> Clock {
        self.clock_at(self.tick)
    }

    /// The clock of tick `tick` under the harness's settings.
    pub fn clock_at(&self, tick: u64) -> Clock {
        let s = &self.settings;
        let ns = tick as u128 * s.frame_samples as u128 * 1_000_000_000 / s.rate as u128;
        Clock {
            tick,
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

    /// Runs the next tick with every input slot given a frame.
    pub fn run(&mut self, inputs: &[&Frame]) -> Flow {
        let ins: Vec<Option<&Frame>> = inputs.iter().map(|f| Some(*f)).collect();
        self.process(&ins)
    }

    /// Runs tick `tick` (its clock and media time) on these frames.
    pub fn run_at(&mut self, tick: u64, inputs: &[&Frame]) -> Flow {
        self.tick = tick;
        self.run(inputs)
    }

    /// Output `i` as the last tick left it.
    pub fn output(&self, i: usize) -> &Frame {
        &self.outputs[i]
    }

    /// Every output as the last tick left them.
    pub fn outputs(&self) -> &[Frame] {
        &self.outputs
    }

    /// The output ports' types.
    pub fn output_types(&self) -> &[MediaType] {
        &self.out_types
    }

    /// Audio output `i`; panics (a bug in the test) if it is not audio.
    pub fn audio(&self, i: usize) -> &AudioFrame {
        match &self.outputs[i] {
            Frame::Audio(a) => a,
            _ => panic!("output {i} is not audio"),
        }
    }

    /// Video output `i`; panics (a bug in the test) if it is not video.
    pub fn video(&self, i: usize) -> &VideoFrame {
        match &self.outputs[i] {
            Frame::Video(v) => v,
            _ => panic!("output {i} is not video"),
        }
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
    let mut setup = NodeHarness::kind(registry, kind)
        .map_err(|e| e.to_string())?
        .inputs(inputs)
        .settings(settings.clone());
    for (name, v) in given {
        setup = setup.arg(name, v.clone());
    }
    let h = setup.build().map_err(|e| format!("{kind}: {e}"))?;
    Ok((h.node, h.out_types))
}

/// Says why a test or bench skips on a user's machine (a peer tool or a
/// system library it needs is missing); under `CI=true`, where .ci/run
/// installs every one of them, it fails instead, so a missing tool can
/// never pass silently.
pub fn skip_unless_ci(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}, and CI=true"
    );
    println!("skipped: {why}");
}
