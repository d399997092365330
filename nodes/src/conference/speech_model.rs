//! `vad: energy | silero` for the conference nodes that decide who is
//! speaking (`meter`, `dominant`): the parameter, and the speech model's
//! worker when it is chosen. One home, so both nodes offer the same
//! choice with the same default and words.
//!
//! Energy (the level above the stream's own noise floor) is the default:
//! it costs nothing per stream, while the model costs about 3 ms of CPU
//! per second per stream (BENCHMARKS.md), three cores at 1,000
//! participants.

use crate::sig;
#[cfg(feature = "ml")]
pub use crate::speech::vad::worker::VadLink;
use sluice_dsl::ParamSig;
use sluice_runtime::{BuildContext, NodeError};

/// The ways `speaking` can be decided; the first is the default.
#[cfg(feature = "ml")]
const VADS: &[&str] = &["energy", "silero"];
#[cfg(not(feature = "ml"))]
const VADS: &[&str] = &["energy"];

/// The `vad` parameter.
pub fn param() -> ParamSig {
    sig::param(
        "vad",
        sig::choice(VADS),
        sig::choice_arg(VADS[0]),
        "what decides `speaking`: energy (level above the stream's noise floor, free) \
         or silero (the speech model of `vad`, on a worker thread: tells speech from \
         loud noise)",
    )
}

/// The speech model's worker for `streams` slots, when `vad: silero`.
#[cfg(feature = "ml")]
pub fn start(ctx: &BuildContext, streams: usize) -> Result<Option<VadLink>, NodeError> {
    if ctx.args.str("vad") != Some("silero") {
        return Ok(None);
    }
    let threshold = crate::speech::vad::DEFAULT_THRESHOLD as f32;
    let s = ctx.settings;
    VadLink::start(
        ctx.name,
        streams,
        s.rate,
        s.frame_samples as usize,
        threshold,
        s.realtime,
    )
    .map(Some)
}

/// Without the `ml` feature `vad` offers only energy: no worker.
#[cfg(not(feature = "ml"))]
pub fn start(_: &BuildContext, _: usize) -> Result<Option<VadLink>, NodeError> {
    Ok(None)
}

/// Without the `ml` feature there is no model: a link that cannot exist.
#[cfg(not(feature = "ml"))]
#[derive(Debug)]
pub enum VadLink {}

#[cfg(not(feature = "ml"))]
impl VadLink {
    /// Never called: no value exists.
    pub fn settle(&self, _: u64) {
        match *self {}
    }
    /// Never called: no value exists.
    pub fn take(&self, _: usize) -> (f32, bool) {
        match *self {}
    }
    /// Never called: no value exists.
    pub fn push_mono(&mut self, _: u64, _: &[f32]) {
        match *self {}
    }
    /// Never called: no value exists.
    pub fn push_bundle(&mut self, _: u64, _: &sluice_runtime::BundleFrame) {
        match *self {}
    }
    /// Never called: no value exists.
    pub fn close(&mut self) -> Result<(), NodeError> {
        match *self {}
    }
}
