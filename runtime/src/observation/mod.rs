//! Observation: what a run counts while it runs, readable from any thread
//! without slowing the processing threads ([`stats`]), and how node time
//! is measured cheaply ([`stopwatch`], sampled by [`timing`]).

pub mod stats;
pub(crate) mod stopwatch;
pub mod timing;

pub use timing::DEFAULT_TIMING_EVERY;
