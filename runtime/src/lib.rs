//! Sluice's runtime: frames, wait-free edges, the [`Node`] trait, the
//! registry of node kinds, and the engine that runs a [`sluice_dsl::Plan`].
//!
//! Build an [`Engine`] from a plan and a [`Registry`] (every node, ring and
//! frame pool is allocated there), optionally take a [`Controller`] for live
//! parameter changes and a [`StopHandle`], then [`Engine::run`] (or
//! [`Engine::start`]). After the start, processing threads neither allocate
//! nor lock; see `docs/architecture.md`.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod control;
pub mod counting;
pub mod device_clock;
pub mod edge;
pub mod engine;
mod exec;
mod fade;
pub mod frame;
pub mod node;
pub mod pace;
pub mod pool;
pub mod registry;
pub mod reload;
pub mod stats;
mod stopwatch;
mod task;
pub mod testing;

pub use control::{ControlError, Controller};
pub use device_clock::{DeviceClock, DeviceCounter};
pub use engine::{
    BuildError, Engine, Mode, Parallel, RunError, Running, StopHandle, ThreadEvent, ThreadRole,
};
pub use frame::{
    AudioFrame, BundleFrame, Event, EventData, EventFrame, Frame, JsonText, Nanos, Stream,
    StreamId, StreamState, VideoFrame,
};
pub use node::{BuildContext, Clock, Flow, Node, NodeError, PortIo};
pub use pace::{PaceClock, SimClock, SystemClock};
pub use registry::{BuildFn, Kind, Registry};
pub use reload::{Changes, ReloadError, Reloader};
pub use stats::{Stats, Summary};
