//! Crossfading a node replaced by a hot reload into its successor.
//!
//! For [`FADE_TICKS`] ticks after the swap the old instance keeps running on
//! the same inputs into frames of its own, and each output the new instance
//! writes is blended from the old output to the new one: per sample for
//! audio and bundles (a linear ramp across the tick), per frame for video.
//! Events are not blended (the new node's are sent). Everything is
//! allocated at the swap, off the real-time path; once the fade is over the
//! old node stays here idle, so it is dropped (and finished) off the
//! real-time path too, at the next reload or the end of the run.

use crate::node::{Clock, Flow, Node, PortIo};
use crate::transport::frame::{AudioFrame, BundleFrame, Frame, VideoFrame};

/// How many ticks of the node's clock domain a crossfade lasts: 40 ms of
/// audio at the default 10 ms tick, four video frames.
pub const FADE_TICKS: u32 = 4;

/// The replaced instance of a node and its fade's progress.
pub(crate) struct Fade {
    old: Box<dyn Node>,
    scratch: Box<[Frame]>,
    ptrs: Box<[*mut Frame]>,
    tick: u32,
}

// SAFETY: `ptrs` is scratch space filled from `scratch` (owned by the same
// value) and used within one `run` call; nothing in a fade is tied to a
// thread, and `old` is `Send`.
unsafe impl Send for Fade {}

impl Fade {
    /// A fade from `old`, whose outputs are shaped like `protos` (the new
    /// instance's output frames). Allocates: swap time only.
    pub fn new(old: Box<dyn Node>, protos: Vec<Frame>) -> Fade {
        let n = protos.len();
        Fade {
            old,
            scratch: protos.into_boxed_slice(),
            ptrs: vec![std::ptr::null_mut(); n].into_boxed_slice(),
            tick: 0,
        }
    }

    /// Whether the old instance still contributes.
    pub fn active(&self) -> bool {
        self.tick < FADE_TICKS
    }

    /// The old instance, to finish and drop off the real-time path.
    pub fn into_old(self) -> Box<dyn Node> {
        self.old
    }

    /// Runs the old instance on `ins` and blends its outputs into `outs`,
    /// which the new instance has just written for the same tick.
    pub fn run(&mut self, ins: &[Option<&Frame>], outs: &mut [&mut Frame], clock: Clock) {
        if !self.active() {
            return;
        }
        for ((s, p), o) in self
            .scratch
            .iter_mut()
            .zip(self.ptrs.iter_mut())
            .zip(outs.iter())
        {
            s.set_time(o.time());
            if let Frame::Events(e) = s {
                e.clear();
            }
            *p = s as *mut Frame;
        }
        // SAFETY: every pointer was just set from a distinct element of
        // `self.scratch`, which is not otherwise borrowed during the call;
        // `&mut Frame` has the layout of `*mut Frame`.
        let scratch: &mut [&mut Frame] = unsafe {
            std::slice::from_raw_parts_mut(
                self.ptrs.as_mut_ptr() as *mut &mut Frame,
                self.ptrs.len(),
            )
        };
        let flow = self.old.process(&mut PortIo::new(ins, scratch, clock));
        let from = self.tick as f32 / FADE_TICKS as f32;
        let to = (self.tick + 1) as f32 / FADE_TICKS as f32;
        for (o, s) in outs.iter_mut().zip(self.scratch.iter()) {
            blend(o, s, from, to);
        }
        self.tick = if flow == Flow::Ended {
            FADE_TICKS
        } else {
            self.tick + 1
        };
    }
}

/// Blends `old` into `new` in place: the weight of `new` ramps from `from`
/// to `to` across the frame. Frames of different shapes are left as `new`.
pub fn blend(new: &mut Frame, old: &Frame, from: f32, to: f32) {
    match (new, old) {
        (Frame::Audio(n), Frame::Audio(o)) => blend_audio(n, o, from, to),
        (Frame::Bundle(n), Frame::Bundle(o)) => blend_bundle(n, o, from, to),
        (Frame::Video(n), Frame::Video(o)) => blend_video(n, o, to),
        _ => {}
    }
}

fn blend_audio(new: &mut AudioFrame, old: &AudioFrame, from: f32, to: f32) {
    if new.channels() != old.channels() || new.len() != old.len() {
        return;
    }
    for c in 0..new.channels() {
        ramp(new.channel_mut(c), old.channel(c), from, to);
    }
}

fn blend_bundle(new: &mut BundleFrame, old: &BundleFrame, from: f32, to: f32) {
    if new.len() != old.len() {
        return;
    }
    for (n, o) in new.slots_mut().iter_mut().zip(old.slots()) {
        if n.state.present() && o.state.present() && n.id == o.id {
            ramp(n.samples_mut(), o.samples(), from, to);
        }
    }
}

/// `new = old + (new - old) * g`, with `g` going linearly from `from` to
/// `to` and reaching `to` on the last sample.
fn ramp(new: &mut [f32], old: &[f32], from: f32, to: f32) {
    let step = (to - from) / new.len().max(1) as f32;
    for (i, (n, o)) in new.iter_mut().zip(old).enumerate() {
        let g = from + step * (i + 1) as f32;
        *n = *o + (*n - *o) * g;
    }
}

fn blend_video(new: &mut VideoFrame, old: &VideoFrame, to: f32) {
    if new.ty() != old.ty() {
        return;
    }
    let a = (to.clamp(0.0, 1.0) * 256.0).round() as u16;
    for (n, o) in new.data_mut().iter_mut().zip(old.data()) {
        *n = ((*o as u16 * (256 - a) + *n as u16 * a + 128) >> 8) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ramps_from_old_to_new_across_the_fade() {
        let mut old = AudioFrame::new(1, 4);
        old.channel_mut(0).fill(1.0);
        let mut out = Vec::new();
        for t in 0..FADE_TICKS {
            let mut new = Frame::Audio(AudioFrame::new(1, 4));
            let from = t as f32 / FADE_TICKS as f32;
            let to = (t + 1) as f32 / FADE_TICKS as f32;
            blend(&mut new, &Frame::Audio(old.clone()), from, to);
            let Frame::Audio(a) = new else { unreachable!() };
            out.extend_from_slice(a.channel(0));
        }
        // The old signal (1.0) fades to the new one (0.0) in equal steps.
        let steps: Vec<f32> = out.windows(2).map(|w| w[0] - w[1]).collect();
        assert!(
            steps.iter().all(|s| (s - 1.0 / 16.0).abs() < 1e-6),
            "{steps:?}"
        );
        assert_eq!(*out.last().unwrap(), 0.0);
    }

    #[test]
    fn video_ends_on_the_new_frame() {
        let ty = sluice_dsl::VideoType {
            format: sluice_dsl::PixelFormat::Rgba,
            width: 2,
            height: 2,
            fps: (30, 1),
        };
        let mut old = VideoFrame::new(ty);
        old.data_mut().fill(200);
        let mut new = VideoFrame::new(ty);
        new.data_mut().fill(100);
        let mut half = Frame::Video(new.clone());
        blend(&mut half, &Frame::Video(old.clone()), 0.25, 0.5);
        let mut end = Frame::Video(new);
        blend(&mut end, &Frame::Video(old), 0.75, 1.0);
        let (Frame::Video(h), Frame::Video(e)) = (half, end) else {
            unreachable!()
        };
        assert!(h.data().iter().all(|&b| b == 150));
        assert!(e.data().iter().all(|&b| b == 100));
    }
}
