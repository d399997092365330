//! `speaker`: audio played on a sound device.

use crate::sig;
use sluice_dsl::{Accepts, Args, Ports, Role, Signature};
#[cfg(feature = "live")]
use sluice_runtime::{BuildContext, Node, NodeError};

/// The checker's view of `speaker`.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "speaker",
        "Plays audio on a sound device at the graph rate (behind the `live` cargo \
         feature). The node pushes each tick into a wait-free ring; the device callback \
         only copies out of it (silence and a counted xrun when it runs dry) and counts \
         the frames it plays: in a real-time graph that count paces the audio domain, so \
         the graph follows the device's crystal, not the CPU's. Mono is played on every \
         channel. Without a sound card `device` must be given (`null` \
         is a smoke test).",
        Role::Sink,
        ports,
    );
    s.params = vec![super::device_param()];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Audio { channels: None })],
        outputs: Vec::new(),
        constraints: vec![sluice_dsl::Constraint::Rule(super::device_support)],
        ..Ports::default()
    })
}

/// Opens the device and builds the node.
#[cfg(feature = "live")]
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    use super::device::{open, Ring};
    let channels = match ctx.inputs.first().map(|p| p.ty) {
        Some(sluice_dsl::MediaType::Audio { channels }) => channels,
        _ => 1,
    };
    let frame = ctx.settings.frame_samples as usize;
    let ch = usize::from(channels);
    // Room for the device clock's lead (a tick plus the device's largest
    // callback) and a tick more, with callbacks up to 14 ticks long.
    let (producer, consumer) = rtrb::RingBuffer::new(16 * frame * ch);
    let stream = open(
        ctx.args.need_str("device")?,
        ctx.settings.rate,
        channels,
        Ring::Playback(consumer),
    )
    .map_err(super::device_error)?;
    let clock = sluice_runtime::DeviceClock::new(
        stream.counter.clone(),
        ctx.settings.rate,
        u64::from(ctx.settings.frame_samples),
    );
    Ok(Box::new(imp::Speaker {
        ring: producer,
        clock: (!stream.null).then(|| std::sync::Arc::new(clock) as _),
        stream,
        interleaved: vec![0.0; frame * ch],
    }))
}

#[cfg(feature = "live")]
mod imp {
    use super::super::device::DeviceStream;
    use sluice_runtime::{Flow, Node, PaceClock, PortIo};
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    /// The node: interleaves one tick into the playback ring.
    pub struct Speaker {
        pub ring: rtrb::Producer<f32>,
        pub stream: DeviceStream,
        pub interleaved: Vec<f32>,
        /// The device's clock, for the audio domain; `None` on the null
        /// device, whose unpaced callback is no clock (the domain then
        /// keeps the system clock, so `device: "null"` runs in real time).
        pub clock: Option<Arc<dyn PaceClock>>,
    }

    /// Whether the device paces the graph; the ring and stream are opaque.
    impl std::fmt::Debug for Speaker {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Speaker")
                .field("device_clock", &self.clock.is_some())
                .finish_non_exhaustive()
        }
    }

    impl Node for Speaker {
        fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
            let Some(audio) = io.audio_in(0) else {
                return Flow::Continue;
            };
            let ch = audio.channels();
            let n = (audio.len() * ch).min(self.interleaved.len());
            for c in 0..ch {
                for (i, v) in audio.channel(c).iter().enumerate() {
                    if let Some(slot) = self.interleaved.get_mut(i * ch + c) {
                        *slot = *v;
                    }
                }
            }
            // Push whole frames only, so channels never slip.
            let room = self.ring.slots() / ch * ch;
            let push = n.min(room);
            let (_, rest) = self.ring.push_partial_slice(&self.interleaved[..push]);
            let dropped = (n - push + rest.len()) as u64;
            if dropped > 0 {
                self.stream
                    .stats
                    .dropped
                    .fetch_add(dropped, Ordering::Relaxed);
            }
            Flow::Continue
        }

        fn pace_clock(&self) -> Option<Arc<dyn PaceClock>> {
            self.clock.clone()
        }
    }
}
