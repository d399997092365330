//! Audio node kinds: sources, gain, mixing, panning, delay, WAV files,
//! event output and the device/WebSocket kinds declared for later issues.

use sluice_runtime::Registry;

/// Adds every audio node kind to `r`.
pub fn register(r: &mut Registry) {
    let _ = r;
}
