//! Execution: a checked plan built into a [`graph`] of tasks and run.
//!
//! The flow, and who may use whom (no module imports one further down):
//!
//! - [`threads`], [`error`], [`layout`], [`task`], [`fade`]: leaves (what
//!   executors and threads are called, what fails, a graph's identity by
//!   name, one node's step, a crossfade);
//! - [`graph`] and [`build`]: what a reload replaces, built from a plan;
//! - [`reload`] (the front end: a new graph built and posted) and
//!   [`swap`] (the back end: the new graph swapped in between ticks);
//! - [`session`]: what outlives a reload (clocks, stop flag, mailbox,
//!   pacing origins, worker pool);
//! - [`tick`]: the one tick every executor runs, and [`priority`] for the
//!   real-time audio thread;
//! - the executors: [`unpaced`] (as fast as possible), [`realtime`] (a
//!   thread per clock domain), [`driven`] (the caller's thread);
//! - [`engine`]: the public face that picks one and finishes the run.

pub(crate) mod build;
pub mod driven;
pub mod engine;
pub mod error;
pub(crate) mod fade;
pub(crate) mod graph;
pub(crate) mod layout;
pub mod priority;
pub(crate) mod realtime;
pub mod reload;
pub mod session;
pub(crate) mod swap;
pub(crate) mod task;
pub mod threads;
pub(crate) mod tick;
pub(crate) mod unpaced;

pub use driven::Driven;
pub use engine::{Engine, Running};
pub use error::{BuildError, RunError};
pub use priority::Scheduling;
pub use reload::{Changes, ReloadError, Reloader};
pub use session::{StopHandle, DEFAULT_RT_PRIORITY};
pub use threads::{Mode, Parallel, ThreadEvent, ThreadHook, ThreadRole};
