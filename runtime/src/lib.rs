//! Sluice's runtime: frames, wait-free edges, the [`Node`] trait, the
//! registry of node kinds, and the engine that runs a [`sluice_dsl::Plan`].

#![deny(missing_docs)]

pub mod frame;
pub mod node;
pub mod registry;

pub use frame::{
    AudioFrame, BundleFrame, Event, EventData, EventFrame, Frame, Nanos, Stream, StreamId,
    StreamState, VideoFrame,
};
pub use node::{BuildContext, Clock, Flow, Node, NodeError, PortIo};
pub use registry::{BuildFn, Kind, Registry};
