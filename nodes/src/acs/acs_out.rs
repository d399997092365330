//! `acs_out`: audio streamed back into the call over the connection
//! `sluice serve` opened for it.

use super::call::CallSetup;
use super::outbound::{outbound, OutRing};
use super::stats::CallStats;
use crate::sig;
use sluice_dsl::{Accepts, Arg, Args, Constraint, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};
use std::sync::atomic::Ordering;

/// The checker's view of `acs_out`.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "acs_out",
        "Streams mono audio back into the call under `sluice serve`: resampled to \
         the call's rate and sent as one AudioData message per 20 ms from the moment \
         the call starts. `set acs_out.stop=true` (barge-in) drops what is queued and \
         sends StopAudio. A client that stops reading for longer than `queue` is \
         disconnected; other calls are unaffected.",
        Role::Sink,
        ports,
    );
    s.params = vec![
        sig::param(
            "queue",
            sig::quantity(UnitKind::Time, 0.04, 10.0),
            Arg::Num(1.0),
            "outgoing audio held while the client is slow; beyond it the call is dropped",
        ),
        sig::live(sig::param(
            "stop",
            sluice_dsl::ParamType::Bool,
            Arg::Bool(false),
            "set to true to stop the audio already sent (barge-in: sends StopAudio)",
        )),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Audio { channels: Some(1) })],
        outputs: Vec::new(),
        // One connection per call: `build` refuses a second `acs_out`.
        constraints: vec![Constraint::OnePerGraph],
        ..Ports::default()
    })
}

/// Builds `acs_out` for the call `setup` describes: creates the call's
/// outgoing ring and leaves the connection's end in `setup`.
pub fn build(ctx: &BuildContext, setup: &CallSetup) -> Result<Box<dyn Node>, NodeError> {
    let queue_ms = (ctx.args.need_num("queue")? * 1000.0).round() as u32;
    let (ring, out) = outbound(
        ctx.settings.rate,
        setup.format().rate,
        queue_ms,
        setup.stats().clone(),
    )
    .map_err(NodeError::new)?;
    setup.leave_outbound(out)?;
    Ok(Box::new(AcsOut { ring }))
}

/// The node: pushes each tick's samples into the outgoing ring.
pub struct AcsOut {
    ring: OutRing,
}

/// The ring holds only audio.
impl std::fmt::Debug for AcsOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsOut").finish_non_exhaustive()
    }
}

impl AcsOut {
    /// A node over this ring (tests build it directly).
    pub fn new(ring: OutRing) -> AcsOut {
        AcsOut { ring }
    }
}

impl Node for AcsOut {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(audio) = io.audio_in(0) {
            let (_, rest) = self.ring.samples.push_partial_slice(audio.channel(0));
            CallStats::add(&self.ring.stats.dropped_out, rest.len() as u64);
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value) {
            ("stop", Arg::Bool(true)) => {
                self.ring.stop.fetch_add(1, Ordering::Release);
                Ok(())
            }
            ("stop", Arg::Bool(false)) => Ok(()),
            _ => Err(NodeError::new(format!(
                "`{key}` cannot change while running (only `stop`)"
            ))),
        }
    }
}
