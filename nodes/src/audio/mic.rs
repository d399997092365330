//! `mic`: a sound card input (declared; it runs with the `live` feature's
//! device backend, a later issue).

use crate::sig::{always, audio, output, param, signature as sig};
use sluice_dsl::{Arg, Args, ParamType, Ports, Role, Signature};

/// The `mic` kind: checks today, runs once the device backend lands.
pub fn signature() -> Signature {
    let mut s = sig(
        "mic",
        "Captures mono audio from a sound card, resampled to the graph rate; \
         in a real-time graph it paces the audio clock. `sluice devices` \
         lists the device names.",
        Role::AudioSource,
        ports,
    );
    s.params = vec![param(
        "device",
        ParamType::Str,
        Arg::Str("default".into()),
        "input device name, or `default`",
    )];
    s.io = true;
    s.endless = always;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        outputs: vec![output("out", audio(1))],
        ..Ports::default()
    })
}
