//! `denoise`: RNNoise noise suppression per stream (nnnoiseless, weights
//! built in).
//!
//! RNNoise works at 48 kHz on 480-sample frames of 16-bit-range floats.
//! At 48 kHz with 10 ms ticks a tick is one frame and the node adds no
//! delay beyond RNNoise's own; at other rates each stream is resampled to
//! 48 kHz and back, and at tick sizes that are not whole frames the output
//! waits for one frame and one tick (the queue and the resamplers'
//! blocks), on top of the resamplers' own delay. Every buffer is sized at
//! build and RNNoise does not allocate per frame
//! (nodes/tests/speech_no_alloc.rs), so it runs on the audio thread.

use super::rerate::Rerate;
use crate::sig;
use nnnoiseless::{DenoiseState, RnnModel};
use sluice_dsl::{Accepts, Args, MediaType, OutType, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Frame, Node, NodeError, PortIo, StreamState};
use std::sync::OnceLock;

/// RNNoise's rate.
const RATE: u32 = 48_000;
/// RNNoise's frame.
const FRAME: usize = DenoiseState::FRAME_SIZE;
/// Full scale of the 16-bit range RNNoise expects.
const SCALE: f32 = 32_768.0;

/// The `denoise` signature.
pub fn signature() -> Signature {
    sig::signature(
        "denoise",
        "Removes background noise (fans, keyboards, hiss, street) from speech with \
         RNNoise, a small recurrent network (nnnoiseless; weights built in). Each \
         channel of plain audio and each participant of a bundle is cleaned on its \
         own. Works at 48 kHz in 10 ms frames. At 48 kHz with ticks of whole 10 ms \
         frames it adds no delay beyond RNNoise's own; at other rates the audio is \
         resampled there and back, and at other tick sizes the output waits for one \
         frame and one tick (20 ms with 10 ms ticks) plus the resamplers' own delay.",
        Role::Process,
        ports,
    )
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::AudioOrBundle)],
        outputs: vec![sig::output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// RNNoise's weights, parsed once and shared by every stream.
fn model() -> &'static RnnModel {
    static MODEL: OnceLock<RnnModel> = OnceLock::new();
    MODEL.get_or_init(RnnModel::default)
}

/// Builds a `denoise`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let streams = match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Audio { channels }) => channels as usize,
        Some(MediaType::Bundle { capacity }) => capacity as usize,
        other => {
            return Err(NodeError::new(format!(
                "denoise needs audio or a bundle, got {other:?}"
            )))
        }
    };
    let tick = ctx.settings.frame_samples as usize;
    let rate = ctx.settings.rate;
    let lanes = (0..streams)
        .map(|_| Lane::new(rate, tick))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(Denoise { lanes }))
}

/// One stream's path: to 48 kHz, through RNNoise a frame at a time, back.
struct Lane {
    state: Box<DenoiseState<'static>>,
    /// Graph rate to 48 kHz, scaled to the 16-bit range.
    up: Rerate,
    /// Cleaned 48 kHz to the graph rate.
    down: Rerate,
    frame_in: [f32; FRAME],
    frame_out: [f32; FRAME],
    /// Graph-rate samples the output waits for before it starts (the
    /// queue's delay).
    lead: usize,
    started: bool,
}

impl Lane {
    fn new(rate: u32, tick: usize) -> Result<Lane, NodeError> {
        let tick48 = tick * RATE as usize / rate as usize;
        let direct = rate == RATE && tick.is_multiple_of(FRAME);
        // Enough that a tick's output is always there once started: one
        // frame of queue plus a tick for the resamplers' blocks; counted at
        // 48 kHz, waited for at the graph rate.
        let lead48 = if direct { 0 } else { FRAME + tick48 };
        let lead = lead48 * rate as usize / RATE as usize;
        let queue = 4 * (tick48 + FRAME) + lead48;
        Ok(Lane {
            state: DenoiseState::with_model(model()),
            up: Rerate::new(rate, RATE, tick, queue)?,
            down: Rerate::new(RATE, rate, FRAME, queue + 4 * tick)?,
            frame_in: [0.0; FRAME],
            frame_out: [0.0; FRAME],
            lead,
            started: false,
        })
    }

    /// Cleans one tick of `samples` in place.
    fn run(&mut self, samples: &mut [f32]) {
        for s in samples.iter_mut() {
            *s *= SCALE;
        }
        self.up.push(samples);
        while self.up.pull(&mut self.frame_in) {
            self.state
                .process_frame(&mut self.frame_out, &self.frame_in);
            self.down.push(&self.frame_out);
        }
        if !self.started && self.down.ready() >= samples.len() + self.lead {
            self.started = true;
        }
        if !(self.started && self.down.pull(samples)) {
            samples.fill(0.0);
        }
        for s in samples.iter_mut() {
            *s *= 1.0 / SCALE;
        }
    }

    /// Drops queued audio (a new participant in the slot). RNNoise's state
    /// is kept (resetting it would allocate); it adapts within about 0.5 s.
    fn clear(&mut self) {
        self.up.clear();
        self.down.clear();
        self.started = false;
    }
}

struct Denoise {
    lanes: Vec<Lane>,
}

impl Node for Denoise {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let input = io.input(0);
        match (input, io.output(0)) {
            (Some(Frame::Audio(a)), Frame::Audio(out)) => {
                out.data_mut().copy_from_slice(a.data());
                for (c, lane) in self.lanes.iter_mut().enumerate() {
                    lane.run(out.channel_mut(c));
                }
            }
            (Some(Frame::Bundle(b)), Frame::Bundle(out)) => {
                for ((lane, s), o) in self.lanes.iter_mut().zip(b.slots()).zip(out.slots_mut()) {
                    o.id = s.id;
                    o.state = s.state;
                    match s.state {
                        StreamState::Absent => {
                            o.samples_mut().fill(0.0);
                            continue;
                        }
                        StreamState::Joined => lane.clear(),
                        _ => {}
                    }
                    o.samples_mut().copy_from_slice(s.samples());
                    lane.run(o.samples_mut());
                }
            }
            _ => {}
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests;
