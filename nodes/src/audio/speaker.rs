//! `speaker`: a sound card output (declared; it runs with the `live`
//! feature's device backend, a later issue).

use crate::sig::{any_audio, input, param, signature as sig};
use sluice_dsl::{Arg, Args, ParamType, Ports, Role, Signature};

/// The `speaker` kind: checks today, runs once the device backend lands.
pub fn signature() -> Signature {
    let mut s = sig(
        "speaker",
        "Plays audio on a sound card (mono or stereo, resampled to the \
         device rate); in a real-time graph the device paces the audio \
         clock. `sluice devices` lists the device names.",
        Role::Sink,
        ports,
    );
    s.params = vec![param(
        "device",
        ParamType::Str,
        Arg::Str("default".into()),
        "output device name, or `default`",
    )];
    s.io = true;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", any_audio())],
        ..Ports::default()
    })
}
