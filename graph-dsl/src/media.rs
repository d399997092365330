//! The media types that flow on edges (audio, video of a size and pixel
//! format, events): what ports declare and what the checker matches.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A pixel layout of a video frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixelFormat {
    /// 8-bit RGBA, interleaved, one plane.
    Rgba,
    /// 8-bit planar YUV 4:2:0: Y, then U, then V.
    I420,
    /// 8-bit YUV 4:2:0: Y, then interleaved UV.
    Nv12,
}

impl PixelFormat {
    /// Every pixel format.
    pub const ALL: [PixelFormat; 3] = [PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12];

    /// The name used in graph text (`convert(format: i420)`).
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgba => "rgba",
            PixelFormat::I420 => "i420",
            PixelFormat::Nv12 => "nv12",
        }
    }

    /// Parses a name as written in graph text.
    pub fn from_name(s: &str) -> Option<PixelFormat> {
        PixelFormat::ALL.into_iter().find(|f| f.name() == s)
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The concrete type of a video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VideoType {
    /// Pixel layout.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate as a fraction `num/den` frames per second.
    pub fps: (u32, u32),
}

/// The concrete type carried by an edge once the graph is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    /// Audio at the graph rate with this many channels.
    Audio {
        /// Channel count (1 mono, 2 stereo, ...).
        channels: u16,
    },
    /// Up to `capacity` participant audio streams (mono, graph rate).
    Bundle {
        /// The most streams present at once; fixes buffer sizes at build time.
        capacity: u32,
    },
    /// Video frames.
    Video(VideoType),
    /// Timestamped event records.
    Events,
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaType::Audio { channels: 1 } => write!(f, "audio(mono)"),
            MediaType::Audio { channels: 2 } => write!(f, "audio(stereo)"),
            MediaType::Audio { channels } => write!(f, "audio({channels}ch)"),
            MediaType::Bundle { capacity } => write!(f, "bundle({capacity})"),
            MediaType::Video(v) => {
                let (n, d) = v.fps;
                if d == 1 {
                    write!(f, "video({} {}x{} {}fps)", v.format, v.width, v.height, n)
                } else {
                    write!(
                        f,
                        "video({} {}x{} {}/{}fps)",
                        v.format, v.width, v.height, n, d
                    )
                }
            }
            MediaType::Events => write!(f, "events"),
        }
    }
}
