//! `acs_out`: audio streamed back into the call under `sluice serve`
//! (declared; the WebSocket server is a later issue).

use crate::sig::{input, signature as sig};
use sluice_dsl::{Accepts, Args, Ports, Role, Signature};

/// The `acs_out` kind: checks today, runs once `sluice serve` lands.
pub fn signature() -> Signature {
    let mut s = sig(
        "acs_out",
        "Streams mono audio back into the call under `sluice serve`, as \
         Azure Communication Services `AudioData` messages (16-bit PCM at \
         the call's rate, 20 ms each).",
        Role::Sink,
        ports,
    );
    s.io = true;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", Accepts::Audio { channels: Some(1) })],
        ..Ports::default()
    })
}
