//! Sluice's runtime: frames, wait-free edges, the [`Node`] trait, the
//! registry of node kinds, and the engine that runs a [`sluice_dsl::Plan`].
//!
//! Build an [`Engine`] from a plan and a [`Registry`] (every node, ring and
//! frame pool is allocated there), optionally take a [`Controller`] for live
//! parameter changes and a [`StopHandle`], then [`Engine::run`] (or
//! [`Engine::start`], or [`Engine::drive`] to tick it from your own
//! thread). After the start, processing threads neither allocate nor lock;
//! see `docs/architecture.md`.
//!
//! The modules follow a frame's way: [`node`] and [`registry`] (what a
//! node is, kinds by name), [`transport`] (frames, pools, edges),
//! [`execution`] (graph, session, executors, reload), [`clock`] (what
//! paces real time), [`control`] (live parameters) and [`observation`]
//! (statistics); [`counting`] and [`testing`] serve tests.

pub mod clock;
pub mod control;
pub mod counting;
pub mod execution;
pub mod node;
pub mod observation;
pub mod registry;
pub mod testing;
pub mod transport;

pub use clock::{DeviceClock, DeviceCounter, PaceClock, SimClock, SystemClock};
pub use control::{ControlError, Controller};
pub use execution::{
    BuildError, Changes, Driven, Engine, Mode, Parallel, ReloadError, Reloader, RunError, Running,
    Scheduling, StopHandle, ThreadEvent, ThreadHook, ThreadRole,
};
pub use node::{BuildContext, Clock, Flow, Node, NodeError, PortIo};
pub use observation::stats::{Report, Stats, Summary};
pub use registry::{BuildFn, Constructor, Kind, Registry, SharedBuild};
pub use transport::frame::{
    AudioFrame, BundleFrame, Event, EventData, EventFrame, Frame, JsonText, Nanos, Stream,
    StreamId, StreamState, VideoFrame,
};
pub use transport::host::{
    EndpointError, Held, HostCounters, HostMedia, Input, Output, Popped, PushError,
};
