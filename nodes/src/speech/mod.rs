//! Speech nodes: noise suppression (`denoise`, RNNoise) and a speech
//! model's voice activity (`vad`, Silero), each per participant.

pub mod denoise;
pub mod rerate;
#[cfg(feature = "ml")]
pub mod vad;

#[cfg(test)]
pub(crate) mod testdata;

use sluice_runtime::Registry;

/// Registers the speech node kinds.
pub fn register(r: &mut Registry) {
    r.register(denoise::signature(), denoise::build);
    #[cfg(feature = "ml")]
    r.register(vad::signature(), vad::build);
}
