//! Frame- and argument-making helpers for the nodes' tests. The harness
//! itself is `sluice_runtime::testing::NodeHarness`, the one custom-node
//! authors use too; these only make its inputs and read its outputs.

use sluice_dsl::{Arg, Args, MediaType, PixelFormat, Signature, VideoType};
use sluice_runtime::testing::{NodeHarness, NodeSetup};
use sluice_runtime::{AudioFrame, BundleFrame, Frame, VideoFrame};

/// The mono audio type.
pub const MONO: MediaType = MediaType::Audio { channels: 1 };
/// The stereo audio type.
pub const STEREO: MediaType = MediaType::Audio { channels: 2 };

/// The setup of a node of standard kind `kind` (from [`crate::registry`]).
pub fn kind(kind: &str) -> NodeSetup {
    NodeHarness::kind(&crate::registry(), kind).expect("a standard kind")
}

/// Arguments from `(name, value)` pairs.
pub fn args(pairs: &[(&str, Arg)]) -> Args {
    let mut a = Args::default();
    for (k, v) in pairs {
        a.set(k, v.clone());
    }
    a
}

/// Arguments with every default of `sig` filled in, then `pairs` applied
/// (as the checker fills them; for calling `ports` and `endless`).
pub fn args_with_defaults(sig: &Signature, pairs: &[(&str, Arg)]) -> Args {
    let mut a = sig.default_args();
    a.overlay(&args(pairs));
    a
}

/// A string argument.
pub fn s(v: &str) -> Arg {
    Arg::Str(v.to_string())
}

/// An enum argument.
pub fn e(v: &str) -> Arg {
    Arg::Enum(v.to_string())
}

/// An audio frame holding these channels.
pub fn audio_frame(channels: &[&[f32]]) -> Frame {
    let len = channels[0].len();
    let mut f = AudioFrame::new(channels.len(), len);
    for (c, s) in channels.iter().enumerate() {
        f.channel_mut(c).copy_from_slice(s);
    }
    Frame::Audio(f)
}

/// The bundle inside a frame.
pub fn bundle(f: &Frame) -> &BundleFrame {
    match f {
        Frame::Bundle(b) => b,
        _ => panic!("not a bundle"),
    }
}

/// A video type at 30 fps.
pub fn vt(format: PixelFormat, width: u32, height: u32) -> VideoType {
    VideoType {
        format,
        width,
        height,
        fps: (30, 1),
    }
}

/// Media types of these video types (a video node's input slots).
pub fn video_types(types: &[VideoType]) -> Vec<MediaType> {
    types.iter().map(|&v| MediaType::Video(v)).collect()
}

/// A video input frame (a copy of `f`).
pub fn video(f: &VideoFrame) -> Frame {
    Frame::Video(f.clone())
}

/// An RGBA frame filled by `f(x, y) -> [r, g, b, a]`.
pub fn rgba_frame(w: u32, h: u32, f: impl Fn(usize, usize) -> [u8; 4]) -> VideoFrame {
    let mut fr = VideoFrame::new(vt(PixelFormat::Rgba, w, h));
    let wu = w as usize;
    for (i, p) in fr.plane_mut(0).chunks_exact_mut(4).enumerate() {
        p.copy_from_slice(&f(i % wu, i / wu));
    }
    fr
}
