//! Audio node kinds: sources, gain, mixing, panning, delay, WAV files and
//! event output (devices are in `live`, call streaming in `acs`).

pub mod delay;
pub mod events_out;
pub mod gain;
pub mod levels;
pub mod mix;
pub mod noise;
pub mod null;
pub mod pan;
pub mod remix;
pub mod sniff;
pub mod tone;
pub mod wav_in;
pub mod wav_out;
pub mod wav_read;
pub mod wav_stream;
pub mod wav_write;

#[cfg(test)]
mod sox_agreement;

use sluice_runtime::Registry;

/// Adds every audio node kind to `r`.
pub fn register(r: &mut Registry) {
    r.register(tone::signature(), tone::build);
    r.register(noise::signature(), noise::build);
    r.register(wav_in::signature(), wav_in::build);
    r.register(gain::signature(), gain::build);
    r.register(mix::signature(), mix::build);
    r.register(pan::signature(), pan::build);
    r.register(delay::signature(), delay::build);
    r.register(remix::signature(), remix::build);
    r.register(wav_out::signature(), wav_out::build);
    r.register(events_out::signature(), events_out::build);
    r.register(null::signature(), null::build);
}

#[cfg(test)]
mod tests {
    use sluice_dsl::{Catalogue, Role};

    #[test]
    fn every_kind_is_registered_with_consistent_ports() {
        let r = crate::registry();
        let runnable = [
            "tone",
            "noise",
            "wav_in",
            "gain",
            "mix",
            "pan",
            "delay",
            "remix",
            "wav_out",
            "events_out",
            "null",
        ];
        for kind in runnable {
            assert!(
                r.kind(kind).is_some_and(|k| k.build.is_some()),
                "{kind} runs"
            );
        }
        // The device kinds run only with the `live` feature; without it
        // they are declared (graphs check, `run` says which feature).
        for kind in ["mic", "speaker"] {
            let runs = r.kind(kind).is_some_and(|k| k.build.is_some());
            assert_eq!(runs, cfg!(feature = "live"), "{kind}");
        }
        // The call kinds are declared here and bound by `sluice serve`.
        for kind in ["acs_in", "acs_out"] {
            assert!(r.kind(kind).is_some_and(|k| k.build.is_none()), "{kind}");
        }
        for kind in runnable
            .iter()
            .chain(&["mic", "speaker", "acs_in", "acs_out"])
        {
            let sig = r.signature(kind).unwrap();
            let mut args = sluice_dsl::Args::default();
            // Defaults, a file for a required argument or an optional
            // `path` (events_out takes `path` or `url`, not both).
            for p in &sig.params {
                let value = match &p.default {
                    Some(d) => d.clone(),
                    None if p.required || p.name == "path" => sluice_dsl::Arg::Str("x.wav".into()),
                    None => continue,
                };
                args.set(&p.name, value);
            }
            let ports = (sig.ports)(&args).unwrap();
            match sig.role {
                Role::AudioSource => assert!(ports.inputs.is_empty() && !ports.outputs.is_empty()),
                Role::Sink => assert!(ports.outputs.is_empty() && !ports.inputs.is_empty()),
                _ => assert!(!ports.inputs.is_empty() && !ports.outputs.is_empty()),
            }
            assert!(!sig.doc.is_empty(), "{kind} is documented");
        }
    }
}
