//! The server side of a call: `acs_in` and `acs_out` exchange a call's
//! audio with a calling platform (Azure Communication Services audio
//! streaming) over a WebSocket, under `sluice serve`.
//!
//! Threads of one call: the connection thread (socket I/O, JSON, base64,
//! reordering, resampling: [`inbound::Assembler`], [`outbound::Outbound`])
//! and the graph's own threads; they meet only in wait-free rings created
//! when the graph is built ([`call::build_call`]).

pub mod acs_in;
pub mod acs_out;
pub mod call;
pub mod engine;
pub mod inbound;
pub mod jitter;
pub mod outbound;
pub mod protocol;
pub mod resample;
pub mod server;
pub mod timestamp;

use sluice_runtime::Registry;

/// Registers `acs_in` and `acs_out`.
pub fn register(r: &mut Registry) {
    r.register(acs_in::signature(), acs_in::build);
    r.register(acs_out::signature(), acs_out::build);
}

#[cfg(test)]
mod tests;
