//! The server side of a call: `acs_in` and `acs_out` exchange a call's
//! audio with a calling platform (Azure Communication Services audio
//! streaming) over a WebSocket, under `sluice serve` (crate `sluice-serve`).
//!
//! This module holds the nodes and the pieces of the connection they need:
//! the message format ([`protocol`]), the connection's ends of the rings
//! ([`inbound::Assembler`], [`outbound::Outbound`]) and how a host binds a
//! graph's nodes to one call ([`bind`]). The graph's threads and the
//! connection meet only in wait-free rings created when the graph is built.

pub mod accelerate;
pub mod acs_in;
pub mod acs_out;
pub mod call;
pub mod ids;
pub mod inbound;
pub mod jitter;
pub mod outbound;
pub mod protocol;
pub mod resample;
pub mod stats;
pub mod timestamp;

use call::CallSetup;
use sluice_runtime::Registry;
use std::sync::Arc;

/// Why `acs_in` and `acs_out` cannot run outside `sluice serve`.
pub const SERVE_ONLY: &str = "it exchanges a call's audio over a WebSocket and runs only under \
     `sluice serve --listen ADDR FILE` (one graph per call)";

/// Declares `acs_in` and `acs_out`: they check everywhere, and run only
/// where a host binds them to a call ([`bind`]).
pub fn register(r: &mut Registry) {
    r.declare_unavailable(acs_in::signature(), SERVE_ONLY);
    r.declare_unavailable(acs_out::signature(), SERVE_ONLY);
}

/// Registers `acs_in` and `acs_out` in `registry` with constructors bound
/// to `setup`: a graph built from it exchanges audio with that call.
pub fn bind(registry: &mut Registry, setup: &Arc<CallSetup>) {
    let s = setup.clone();
    registry.register(acs_in::signature(), move |ctx: &_| acs_in::build(ctx, &s));
    let s = setup.clone();
    registry.register(acs_out::signature(), move |ctx: &_| acs_out::build(ctx, &s));
}

#[cfg(test)]
mod tests;
