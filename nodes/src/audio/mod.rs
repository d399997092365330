//! Audio node kinds: sources, gain, mixing, panning, delay, WAV files,
//! event output and the device/WebSocket kinds declared for later issues.

pub mod delay;
pub mod gain;
pub mod levels;
pub mod mix;
pub mod noise;
pub mod null;
pub mod pan;
pub mod remix;
pub mod tone;
pub mod wav_in;
pub mod wav_out;
pub mod wav_read;
pub mod wav_write;

#[cfg(test)]
pub mod testing;

use sluice_runtime::Registry;

/// Adds every audio node kind to `r`.
pub fn register(r: &mut Registry) {
    r.register(tone::signature(), tone::build);
    r.register(noise::signature(), noise::build);
    r.register(gain::signature(), gain::build);
    r.register(mix::signature(), mix::build);
    r.register(null::signature(), null::build);
    r.register(pan::signature(), pan::build);
    r.register(delay::signature(), delay::build);
    r.register(remix::signature(), remix::build);
    r.register(wav_in::signature(), wav_in::build);
    r.register(wav_out::signature(), wav_out::build);
}
