//! The node contract: what a node kind implements, what it may do where.
//!
//! A node is built once, off the real-time path, from its checked arguments
//! ([`BuildContext`]): that is where it allocates, opens files and sizes its
//! state. After the engine starts, [`Node::process`] is called once per tick
//! of the node's clock domain and must not allocate, free, lock, block or do
//! I/O (nodes whose signature says `io` run on a non-real-time thread and
//! may do file or socket I/O there, still without allocating).

use crate::clock::pace::PaceClock;
use crate::observation::stats::Report;
use crate::transport::frame::{AudioFrame, BundleFrame, EventFrame, Frame, Nanos, VideoFrame};
use crate::transport::host::HostEnd;
use sluice_dsl::{Arg, Args, PlanNode, PlanPort, Settings};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// An error from building, controlling or finishing a node, in words a user
/// can act on (it is printed after the node's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError(pub String);

impl NodeError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> NodeError {
        NodeError(msg.into())
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NodeError {}

/// Lets constructors use `?` on argument accessors (`Args::need_num`) and
/// other checks that explain themselves in a `String`.
impl From<String> for NodeError {
    fn from(msg: String) -> NodeError {
        NodeError(msg)
    }
}

impl From<std::io::Error> for NodeError {
    fn from(e: std::io::Error) -> NodeError {
        NodeError(e.to_string())
    }
}

/// Whether a node goes on after this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// More to come.
    Continue,
    /// The node has produced its last frame (a source at end of input);
    /// the frames written in this call are still delivered.
    Ended,
}

/// Where the node is in media time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// Ticks of this node's domain since the start (0-based).
    pub tick: u64,
    /// Media time of this tick's first sample or frame.
    pub time: Nanos,
    /// Graph sample rate in Hz.
    pub rate: u32,
    /// Audio samples per tick.
    pub frame_samples: usize,
}

impl Clock {
    /// Media time in seconds.
    pub fn seconds(&self) -> f64 {
        self.time as f64 * 1e-9
    }
}

/// A node's view of its ports for one tick: input frames shared read-only
/// (`None` when an optional input is unconnected or has no frame this tick)
/// and output frames lent exclusively, already sized for the edge's type.
///
/// Accessors panic when a port's type differs from the one asked for: the
/// plan guarantees types, so that is a bug in the node, not bad input.
pub struct PortIo<'a, 'f> {
    inputs: &'a [Option<&'f Frame>],
    outputs: &'a mut [&'f mut Frame],
    clock: Clock,
}

/// The ports' count and the tick, not the frames (a frame's samples would
/// bury the rest).
impl fmt::Debug for PortIo<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortIo")
            .field("inputs", &self.inputs.len())
            .field("outputs", &self.outputs.len())
            .field("clock", &self.clock)
            .finish()
    }
}

impl<'a, 'f> PortIo<'a, 'f> {
    /// Ports for one call (the engine builds these without allocating;
    /// tests build them by hand).
    pub fn new(
        inputs: &'a [Option<&'f Frame>],
        outputs: &'a mut [&'f mut Frame],
        clock: Clock,
    ) -> Self {
        PortIo {
            inputs,
            outputs,
            clock,
        }
    }

    /// The tick being processed.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Number of input slots.
    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// Number of output ports.
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }

    /// Input slot `i`, if it holds a frame this tick.
    pub fn input(&self, i: usize) -> Option<&'f Frame> {
        self.inputs.get(i).copied().flatten()
    }

    /// Output port `i`.
    pub fn output(&mut self, i: usize) -> &mut Frame {
        self.outputs[i]
    }

    /// Audio input `i`.
    pub fn audio_in(&self, i: usize) -> Option<&'f AudioFrame> {
        match self.input(i)? {
            Frame::Audio(a) => Some(a),
            other => panic!("input {i} is {}, not audio", kind_name(other)),
        }
    }

    /// Bundle input `i`.
    pub fn bundle_in(&self, i: usize) -> Option<&'f BundleFrame> {
        match self.input(i)? {
            Frame::Bundle(b) => Some(b),
            other => panic!("input {i} is {}, not a bundle", kind_name(other)),
        }
    }

    /// Video input `i`.
    pub fn video_in(&self, i: usize) -> Option<&'f VideoFrame> {
        match self.input(i)? {
            Frame::Video(v) => Some(v),
            other => panic!("input {i} is {}, not video", kind_name(other)),
        }
    }

    /// Events input `i`.
    pub fn events_in(&self, i: usize) -> Option<&'f EventFrame> {
        match self.input(i)? {
            Frame::Events(e) => Some(e),
            other => panic!("input {i} is {}, not events", kind_name(other)),
        }
    }

    /// Audio output `i`.
    pub fn audio_out(&mut self, i: usize) -> &mut AudioFrame {
        match self.output(i) {
            Frame::Audio(a) => a,
            other => panic!("output {i} is {}, not audio", kind_name(other)),
        }
    }

    /// Bundle output `i`.
    pub fn bundle_out(&mut self, i: usize) -> &mut BundleFrame {
        match self.output(i) {
            Frame::Bundle(b) => b,
            other => panic!("output {i} is {}, not a bundle", kind_name(other)),
        }
    }

    /// Video output `i`.
    pub fn video_out(&mut self, i: usize) -> &mut VideoFrame {
        match self.output(i) {
            Frame::Video(v) => v,
            other => panic!("output {i} is {}, not video", kind_name(other)),
        }
    }

    /// Events output `i` (the engine clears it before each call).
    pub fn events_out(&mut self, i: usize) -> &mut EventFrame {
        match self.output(i) {
            Frame::Events(e) => e,
            other => panic!("output {i} is {}, not events", kind_name(other)),
        }
    }
}

fn kind_name(f: &Frame) -> &'static str {
    match f {
        Frame::Audio(_) => "audio",
        Frame::Bundle(_) => "a bundle",
        Frame::Video(_) => "video",
        Frame::Events(_) => "events",
    }
}

/// What a node's constructor gets: its checked arguments and the concrete
/// types of its ports, from the plan.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// The instance's stable name (`blur`, `blur_2`, or as declared).
    pub name: &'a str,
    /// The instance's index in the plan (events carry it).
    pub index: u32,
    /// Checked arguments, defaults filled in.
    pub args: &'a Args,
    /// Input slots with their types.
    pub inputs: &'a [PlanPort],
    /// Output ports with their types.
    pub outputs: &'a [PlanPort],
    /// Graph settings (rate, frame size).
    pub settings: &'a Settings,
    /// Every instance's name by plan index (for sinks that print names).
    pub node_names: &'a [String],
}

impl<'a> BuildContext<'a> {
    /// The context of plan node `node` (index `index`), as the engine
    /// builds it: at start, and for a sink built at a hot reload's swap.
    pub fn of(
        node: &'a PlanNode,
        index: u32,
        settings: &'a Settings,
        node_names: &'a [String],
    ) -> BuildContext<'a> {
        BuildContext {
            name: &node.name,
            index,
            args: &node.args,
            inputs: &node.inputs,
            outputs: &node.outputs,
            settings,
            node_names,
        }
    }
}

/// A processing node. See the module docs for what each method may do.
pub trait Node: Send {
    /// Processes one tick: read inputs, write every output. Called only when
    /// every connected input holds a frame (sources: every tick until they
    /// return [`Flow::Ended`]). Must not allocate, lock, block or (unless
    /// the kind is `io`) do I/O.
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow;

    /// Applies a live parameter change between ticks. `key` is what follows
    /// the node's name (`radius`, `position.alice`); `value` is already
    /// checked against the parameter's type. Must not allocate.
    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        let _ = value;
        Err(NodeError::new(format!(
            "`{key}` cannot change while running"
        )))
    }

    /// Finalises after the last tick (flushes and closes files, writes
    /// headers). Called off the real-time path; may allocate and do I/O.
    fn finish(&mut self) -> Result<(), NodeError> {
        Ok(())
    }

    /// On a hot reload that changes this node's arguments, gives what its
    /// replacement (same kind and name) should inherit: a phase, a ranking.
    /// Called on the engine's thread at the swap (may allocate). Give a
    /// copy: this instance still runs for the crossfade afterwards. (A node
    /// whose arguments did not change is not replaced at all.)
    fn take_state(&mut self) -> Option<Box<dyn Any + Send>> {
        None
    }

    /// Receives what the instance this one replaces gave in
    /// [`Node::take_state`], before this one's first tick.
    fn restore_state(&mut self, state: Box<dyn Any + Send>) {
        let _ = state;
    }

    /// The clock that should pace this node's domain in real time, if the
    /// node has one: a sound device's callback (see
    /// [`crate::clock::device_clock`]). Asked once after build; `None` (the
    /// default) leaves the domain on the engine's clock.
    fn pace_clock(&self) -> Option<Arc<dyn PaceClock>> {
        None
    }

    /// For a host endpoint (`app_in`, `app_out`): the host's end of its
    /// queue, taken once by the engine after build, so a program that
    /// embeds the engine can push or pop by the endpoint's name
    /// ([`crate::Engine::input`]). `None` (the default) for other nodes.
    fn host_end(&mut self) -> Option<HostEnd> {
        None
    }

    /// Whether the node has results that trail its input: once every
    /// input has ended it is called on, each tick with no input frames
    /// (`io.input(i)` is `None`), until it returns [`Flow::Ended`]. For a
    /// program still answering the last media it was given. Asked each
    /// tick after the inputs end; `false` (the default) ends the node
    /// with its inputs.
    fn trails(&self) -> bool {
        false
    }

    /// What the node counts beyond the engine's own figures (a child
    /// program's restarts, the media it dropped, its latency), shown by
    /// `--stats` under the node table. Asked once after build; the engine
    /// keeps the `Arc` and formats it from another thread while the node
    /// runs, so it must read atomics only. `None` (the default): nothing.
    fn report(&self) -> Option<Report> {
        None
    }
}
