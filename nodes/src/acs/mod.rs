//! The server side of a call: `acs_in` and `acs_out` exchange a call's
//! audio with a calling platform (Azure Communication Services audio
//! streaming) over a WebSocket, under `sluice serve`.

pub mod protocol;
pub mod timestamp;

use sluice_runtime::Registry;

/// Registers `acs_in` and `acs_out`.
pub fn register(_r: &mut Registry) {}
