//! Conference audio: participant bundles (`participants`), the dominant
//! speakers (`dominant`), what each participant should hear (`mix_minus`),
//! one output per participant (`unmix`) and levels (`meter`).

pub mod dominant;
pub mod meter;
pub mod mix_minus;
pub mod participants;
pub mod rng;
pub mod speech_model;
pub mod unmix;
pub mod vad;
pub mod voices;
pub mod wav_streams;

#[cfg(test)]
pub(crate) mod testkit;

use sluice_runtime::Registry;

/// Registers the conference node kinds.
pub fn register(r: &mut Registry) {
    r.register(dominant::signature(), dominant::build);
    r.register(meter::signature(), meter::build);
    r.register(mix_minus::signature(), mix_minus::build);
    r.register(participants::signature(), participants::build);
    r.register(unmix::signature(), unmix::build);
}
