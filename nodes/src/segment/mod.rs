//! Person segmentation in-process: `segment` (video in, person mask out),
//! the person mask of `background_blur`, and `background_replace` (a
//! virtual background). The model runs on a worker thread owned by the
//! node (`worker`), the video path only hands it pictures and takes masks
//! (`person`). Built without the `ml` cargo feature the kinds still check,
//! and building one says which feature is missing.

pub mod input;
pub mod person;
pub mod replace;
pub mod segment_node;

#[cfg(feature = "ml")]
pub mod worker;
#[cfg(feature = "ml")]
use worker::MaskWorker;

#[cfg(not(feature = "ml"))]
mod disabled;
#[cfg(not(feature = "ml"))]
use disabled::MaskWorker;

use crate::kernels::color::{rgba_to_i420, rgba_to_nv12, YuvSpec};
use sluice_dsl::{PixelFormat, VideoType};
use sluice_runtime::{Registry, VideoFrame};

/// Registers `segment` and `background_replace`.
pub fn register(r: &mut Registry) {
    r.register(segment_node::signature(), segment_node::build);
    r.register(replace::signature(), replace::build);
}

/// The mask grid is this many times coarser than the picture (as in
/// `background_blur`): 320x180 for 720p.
pub const GRID: usize = 4;

/// The coarse grid of pictures of `ty`.
pub fn grid_of(ty: VideoType) -> (usize, usize) {
    (
        (ty.width as usize).div_ceil(GRID).max(1),
        (ty.height as usize).div_ceil(GRID).max(1),
    )
}

/// The guided filter's window for a `feather` in pixels: at least one
/// grid cell.
pub fn radius_cells(feather: f64) -> usize {
    ((feather / GRID as f64).round() as usize).max(1)
}

/// An RGBA picture as a frame of `ty` (same size; allocates): for
/// pictures loaded at build, tests and tools.
pub fn frame_from_rgba(ty: VideoType, rgba: &[u8]) -> VideoFrame {
    let mut f = VideoFrame::new(ty);
    let (w, h) = (ty.width as usize, ty.height as usize);
    match ty.format {
        PixelFormat::Rgba => f.plane_mut(0).copy_from_slice(rgba),
        PixelFormat::I420 => {
            let [y, u, v] = f.planes_mut();
            rgba_to_i420(rgba, w, h, y, u, v, YuvSpec::default());
        }
        PixelFormat::Nv12 => {
            let [y, uv, _] = f.planes_mut();
            rgba_to_nv12(rgba, w, h, y, uv, YuvSpec::default());
        }
    }
    f
}

#[cfg(all(test, feature = "ml"))]
mod tests;
