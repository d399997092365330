//! `vad`: a speech model's voice activity per stream, as events.
//!
//! Silero VAD v6 (MIT, vendored in sluice-ml) runs on a worker thread
//! (`worker.rs`); this node hands it each tick's audio and, once per
//! period, writes one event per present stream:
//! `{"t", "node", "id", "speech": probability, "speaking": bool}`.
//! `speech` is the highest frame probability in the period; `speaking` is
//! true when any frame of it was speech (above `threshold`, held for
//! 100 ms after it falls 0.15 below).

pub mod worker;

use crate::audio::events_out::escape_into;
use crate::period::{self, Period};
use crate::sig;
use sluice_dsl::{Accepts, Arg, Args, MediaType, OutType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{
    BuildContext, EventFrame, Flow, Frame, Node, NodeError, PortIo, StreamId, StreamState,
};
use std::io::Write;
use worker::VadLink;

/// The default probability where speech starts.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// The `vad` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "vad",
        "Voice activity from a speech model (Silero VAD v6, MIT, built in; run at \
         16 kHz on a worker thread, so the audio thread never waits for it). One event \
         per stream per period (`every`): {\"t\", \"node\", \"id\", \"speech\": the \
         highest speech probability in the period, \"speaking\": whether any of it was \
         speech}. Speech starts at `threshold` and ends 100 ms after the probability \
         falls 0.15 below it. Unlike `meter`'s level-based flag, it tells speech from \
         loud noise.",
        Role::Process,
        ports,
    );
    s.params = vec![
        period::param(0.01, "period of the events"),
        sig::param(
            "threshold",
            sig::quantity(UnitKind::Ratio, 0.2, 0.95),
            Arg::Num(DEFAULT_THRESHOLD),
            "speech probability where speech starts",
        ),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::AudioOrBundle)],
        outputs: vec![sig::output("out", OutType::Fixed(MediaType::Events))],
        ..Ports::default()
    })
}

/// Builds a `vad` (loads the model once per process).
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let streams = match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Audio { .. }) => 1,
        Some(MediaType::Bundle { capacity }) => capacity as usize,
        other => {
            return Err(NodeError::new(format!(
                "vad needs audio or a bundle, got {other:?}"
            )))
        }
    };
    let tick = ctx.settings.frame_samples as usize;
    let threshold = ctx.args.need_num("threshold")? as f32;
    let link = VadLink::start(
        ctx.name,
        streams,
        ctx.settings.rate,
        tick,
        threshold,
        ctx.settings.realtime,
    )?;
    let mut name = Vec::new();
    escape_into(&mut name, ctx.name);
    Ok(Box::new(Vad {
        node: ctx.index,
        name,
        link,
        period: Period::from_args(ctx)?,
        ids: vec![StreamId::default(); streams],
        seen: vec![false; streams],
        mono: vec![0.0; tick],
        line: Vec::with_capacity(1024 + 6 * StreamId::CAPACITY),
    }))
}

struct Vad {
    node: u32,
    /// The node's name, escaped for JSON.
    name: Vec<u8>,
    link: VadLink,
    period: Period,
    ids: Vec<StreamId>,
    /// Slots present in the current period.
    seen: Vec<bool>,
    mono: Vec<f32>,
    /// One event line (never grows past its capacity).
    line: Vec<u8>,
}

impl Vad {
    /// Writes slot `i`'s event for the period and forgets the period.
    fn emit(&mut self, out: &mut EventFrame, i: usize) {
        if !std::mem::take(&mut self.seen[i]) {
            return;
        }
        let (speech, speaking) = self.link.take(i);
        let l = &mut self.line;
        l.clear();
        let _ = write!(
            l,
            "{{\"t\": {:.3}, \"node\": \"",
            self.period.start() as f64 * 1e-9
        );
        l.extend_from_slice(&self.name);
        l.extend_from_slice(b"\", \"id\": \"");
        escape_into(l, self.ids[i].as_str());
        let _ = write!(l, "\", \"speech\": {speech:.3}, \"speaking\": {speaking}}}");
        let text = std::str::from_utf8(l).unwrap_or("{}");
        out.push_json(self.period.start(), self.node, self.ids[i], text);
    }
}

impl Node for Vad {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let clock = io.clock();
        let last = self.period.tick(&clock);
        let input = io.input(0);
        let out = io.events_out(0);
        match input {
            Some(Frame::Audio(a)) => {
                let scale = 1.0 / a.channels().max(1) as f32;
                self.mono.fill(0.0);
                for c in 0..a.channels() {
                    for (m, s) in self.mono.iter_mut().zip(a.channel(c)) {
                        *m += s * scale;
                    }
                }
                self.link.push_mono(clock.tick, &self.mono);
                self.seen[0] = true;
            }
            Some(Frame::Bundle(b)) => {
                self.link.push_bundle(clock.tick, b);
                for (i, s) in b.slots().iter().enumerate() {
                    if s.state == StreamState::Joined {
                        self.emit(out, i);
                        self.ids[i] = s.id;
                    }
                    self.seen[i] |= s.state.present();
                }
                if b.slots().iter().any(|s| s.state == StreamState::Left) {
                    self.link.settle(clock.tick);
                    for (i, s) in b.slots().iter().enumerate() {
                        if s.state == StreamState::Left {
                            self.emit(out, i);
                        }
                    }
                }
            }
            _ => {}
        }
        if last {
            self.link.settle(clock.tick);
            for i in 0..self.seen.len() {
                self.emit(out, i);
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        self.link.close()
    }
}

#[cfg(test)]
mod tests;
