//! Video nodes: file and test sources, sinks, format conversion, filters,
//! scaling and compositing. Frames are rgba, i420 or nv12 (see
//! `sluice_runtime::VideoFrame`); the kernels live in `crate::kernels`.

use sluice_dsl::{MediaType, PixelFormat, PlanPort, VideoType};
use sluice_runtime::{NodeError, Registry};

pub mod adjust;
pub mod convert;
pub mod filter;
pub mod grid;
pub mod image_in;
pub mod overlay;
pub mod patterns;
pub mod png_out;
pub mod scale;
pub mod sprite;
pub mod video_test;
pub mod y4m_header;
pub mod y4m_in;
pub mod y4m_out;

/// Largest width or height a file may declare: larger headers are refused
/// before anything is allocated (16384 x 16384 RGBA is already 1 GiB).
pub const MAX_SIDE: u32 = 16384;

/// Largest picture a file may declare, in pixels (64 Mpx: 256 MiB as RGBA).
pub const MAX_PIXELS: usize = 1 << 26;

/// Registers every video node kind.
pub fn register(r: &mut Registry) {
    r.register(adjust::signature(), adjust::build);
    r.register(convert::signature(), convert::build);
    r.register(filter::signature(), filter::build);
    r.register(grid::signature(), grid::build);
    r.register(image_in::signature(), image_in::build);
    r.register(overlay::signature(), overlay::build);
    r.register(png_out::signature(), png_out::build);
    r.register(scale::signature(), scale::build);
    r.register(video_test::signature(), video_test::build);
    r.register(y4m_in::signature(), y4m_in::build);
    r.register(y4m_out::signature(), y4m_out::build);
}

/// The video type of plan port `i` (the plan guarantees video; anything
/// else is an engine bug reported as an error, not a panic).
pub fn video_port(ports: &[PlanPort], i: usize) -> Result<VideoType, NodeError> {
    match ports.get(i).map(|p| p.ty) {
        Some(MediaType::Video(v)) => Ok(v),
        other => Err(NodeError::new(format!(
            "port {i} should carry video, found {other:?}"
        ))),
    }
}

/// The video type of derived-type input slot `i`.
pub fn video_input(inputs: &[Option<MediaType>], i: usize) -> Result<VideoType, String> {
    match inputs.get(i).copied().flatten() {
        Some(MediaType::Video(v)) => Ok(v),
        Some(other) => Err(format!("expected video, got {other}")),
        None => Err("the video input is not connected".to_string()),
    }
}

/// A frame rate in fps as the exact fraction video headers use: whole
/// rates as `n/1`, the NTSC family (29.97...) as `n*1000/1001`, anything
/// else to a thousandth.
pub fn fps_fraction(fps: f64) -> (u32, u32) {
    let whole = fps.round();
    if (fps - whole).abs() < 1e-9 {
        return (whole as u32, 1);
    }
    let ntsc = (fps * 1.001).round();
    if (fps - ntsc * 1000.0 / 1001.0).abs() < 1e-3 {
        return ((ntsc as u32) * 1000, 1001);
    }
    let (mut n, mut d) = ((fps * 1000.0).round() as u32, 1000u32);
    let g = gcd(n, d);
    n /= g;
    d /= g;
    (n, d)
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// Creates the folders of an output path (DESIGN: output folders are
/// created), naming the path on failure.
pub fn create_parent_dirs(path: &str) -> Result<(), NodeError> {
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            NodeError::new(format!(
                "{path}: cannot create folder {}: {e}",
                dir.display()
            ))
        }),
        _ => Ok(()),
    }
}

/// Accepts exactly these formats (the first is what the language converts
/// other formats to).
pub fn formats(f: &[PixelFormat]) -> sluice_dsl::Accepts {
    sluice_dsl::Accepts::Video {
        formats: f.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_fractions_are_exact() {
        assert_eq!(fps_fraction(30.0), (30, 1));
        assert_eq!(fps_fraction(29.97), (30000, 1001));
        assert_eq!(fps_fraction(30000.0 / 1001.0), (30000, 1001));
        assert_eq!(fps_fraction(12.5), (25, 2));
    }

    #[test]
    fn every_kind_registers() {
        let mut r = Registry::new();
        register(&mut r);
        for k in [
            "adjust",
            "convert",
            "filter",
            "grid",
            "image_in",
            "overlay",
            "png_out",
            "scale",
            "video_test",
            "y4m_in",
            "y4m_out",
        ] {
            assert!(r.kind(k).is_some_and(|k| k.build.is_some()), "{k}");
        }
    }
}
