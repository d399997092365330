//! Spatial audio: participants placed around the listener (azimuth,
//! elevation, distance) and rendered binaurally (HRTF convolution) or by
//! equal-power panning.

pub mod convolver;
pub mod equalizer;
pub mod hrir;
pub mod position;
pub mod seats;
pub mod spatialize;

#[cfg(test)]
mod level_tests;
#[cfg(test)]
mod tests;

use sluice_runtime::Registry;

/// Adds the spatial audio kinds to `r`.
pub fn register(r: &mut Registry) {
    r.register(spatialize::signature(), spatialize::build);
}
