//! `mic`: audio captured from a sound device.

use crate::sig;
use sluice_dsl::{Arg, Args, MediaType, OutType, Ports, Role, Signature};
#[cfg(feature = "live")]
use sluice_runtime::{BuildContext, Node, NodeError};

/// The checker's view of `mic`.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "mic",
        "Audio captured from a sound device at the graph rate (behind the `live` cargo \
         feature). The device callback only copies into a wait-free ring; the node pops \
         one tick from it, so capture latency stays within a few ticks. `sluice devices` \
         lists devices; without a sound card `device` must be given (`null` is a smoke test).",
        Role::AudioSource,
        ports,
    );
    s.endless = sig::always;
    s.params = vec![
        super::device_param(),
        sig::param(
            "channels",
            sig::int(1, 8),
            Arg::Num(1.0),
            "channels delivered to the graph (a mono graph gets the device's channels averaged)",
        ),
    ];
    s
}

fn ports(args: &Args) -> Result<Ports, String> {
    let channels = args.need_num("channels")? as u16;
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![sig::output(
            "out",
            OutType::Fixed(MediaType::Audio { channels }),
        )],
        constraints: vec![sluice_dsl::Constraint::Rule(super::device_support)],
        ..Ports::default()
    })
}

/// Opens the device and builds the node.
#[cfg(feature = "live")]
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    use super::device::{open, Ring};
    let channels = ctx.args.need_num("channels")? as u16;
    let frame = ctx.settings.frame_samples as usize;
    let (producer, consumer) = rtrb::RingBuffer::new(8 * frame * usize::from(channels));
    let stream = open(
        ctx.args.need_str("device")?,
        ctx.settings.rate,
        channels,
        Ring::Capture(producer),
    )
    .map_err(super::device_error)?;
    Ok(Box::new(imp::Mic {
        ring: consumer,
        _stream: stream,
        channels: usize::from(channels),
        frame,
    }))
}

#[cfg(feature = "live")]
mod imp {
    use super::super::device::DeviceStream;
    use sluice_runtime::{Flow, Node, PortIo};

    /// The node: deinterleaves one tick from the capture ring.
    pub struct Mic {
        pub ring: rtrb::Consumer<f32>,
        pub _stream: DeviceStream,
        pub channels: usize,
        pub frame: usize,
    }

    /// Its shape; the ring and device stream are opaque.
    impl std::fmt::Debug for Mic {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Mic")
                .field("channels", &self.channels)
                .field("frame", &self.frame)
                .finish_non_exhaustive()
        }
    }

    impl Node for Mic {
        fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
            let (ch, len) = (self.channels, self.frame);
            // Keep latency bounded: beyond four ticks queued, skip the oldest.
            let queued = self.ring.slots();
            if queued > 4 * ch * len {
                let skip = (queued - 2 * ch * len) / ch * ch;
                if let Ok(c) = self.ring.read_chunk(skip) {
                    c.commit_all();
                }
            }
            let out = io.audio_out(0);
            let available = (self.ring.slots() / ch).min(len);
            for i in 0..len {
                for c in 0..ch {
                    let v = if i < available {
                        self.ring.pop().unwrap_or(0.0)
                    } else {
                        0.0
                    };
                    out.channel_mut(c)[i] = v;
                }
            }
            Flow::Continue
        }
    }
}
