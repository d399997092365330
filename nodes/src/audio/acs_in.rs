//! `acs_in`: a call's incoming audio under `sluice serve` (declared; the
//! WebSocket server is a later issue).

use crate::sig::{always, output, signature as sig};
use sluice_dsl::{Args, MediaType, OutType, Ports, Role, Signature};

/// Most participants one call's bundle holds.
pub const CAPACITY: u32 = 32;

/// The `acs_in` kind: checks today, runs once `sluice serve` lands.
pub fn signature() -> Signature {
    let mut s = sig(
        "acs_in",
        "The call's participants under `sluice serve`: Azure Communication \
         Services audio streaming (`AudioData` messages of 16-bit PCM, 16 or \
         24 kHz mono, tagged with `participantRawID`) as a bundle of up to \
         32 streams, resampled to the graph rate; ids are the raw ids.",
        Role::AudioSource,
        ports,
    );
    s.io = true;
    s.endless = always;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        outputs: vec![output(
            "out",
            OutType::Fixed(MediaType::Bundle { capacity: CAPACITY }),
        )],
        ..Ports::default()
    })
}
