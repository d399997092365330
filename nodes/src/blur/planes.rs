//! The planes of a video frame as the blur kernels see them, and a blurrer
//! that owns the scratch to blur whole frames without allocating.

use crate::kernels::blur::{blur_plane, BlurKind, Geometry, Passes, Scratch};
use sluice_dsl::Settings;
use sluice_dsl::{PixelFormat, VideoType};
use sluice_runtime::VideoFrame;

/// Frames with at least this many pixels are blurred in bands on rayon
/// (when the graph is not real-time): below it the fork costs more than it
/// saves.
const PARALLEL_PIXELS: usize = 320 * 240;

/// Scratch for blurring frames of type `ty`: one per rayon task for large
/// frames when the graph is not real-time (the as-fast-as-possible executor
/// runs nodes on rayon already), else one, used on the calling thread, so a
/// real-time graph never waits on other threads.
pub fn scratch_pool(ty: VideoType, settings: &Settings) -> Vec<Scratch> {
    let side = ty.width.max(ty.height) as usize;
    let parallel =
        !settings.realtime && (ty.width as usize) * (ty.height as usize) >= PARALLEL_PIXELS;
    let tasks = if parallel {
        (rayon::current_num_threads() * 2).clamp(1, 64)
    } else {
        1
    };
    vec![Scratch::new(side); tasks]
}

/// The scratch a blur may fork over from this thread: all of it on a rayon
/// worker (the as-fast-as-possible executor's own pool, whose fork-join uses
/// the worker's local deque), only the first elsewhere, since forking from
/// a thread outside any pool goes through rayon's global injector queue,
/// which allocates and frees its blocks as jobs pass.
pub fn tasks(pool: &mut [Scratch]) -> &mut [Scratch] {
    if rayon::current_thread_index().is_some() {
        pool
    } else {
        &mut pool[..1]
    }
}

/// One plane: its shape and the fraction of the radius it is blurred at
/// (chroma planes of 4:2:0 are half size, so half the radius).
#[derive(Debug, Clone, Copy)]
pub struct PlaneSpec {
    /// Shape of the plane.
    pub geometry: Geometry,
    /// Radius multiplier (1 for luma and rgba, 0.5 for 4:2:0 chroma).
    pub radius_scale: f64,
}

/// The planes of frames of type `ty`, in plane order.
pub fn plane_specs(ty: VideoType) -> Vec<PlaneSpec> {
    let (w, h) = (ty.width as usize, ty.height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let plane = |width, height, channels, radius_scale| PlaneSpec {
        geometry: Geometry {
            width,
            height,
            stride: width * channels,
            channels,
        },
        radius_scale,
    };
    match ty.format {
        PixelFormat::Rgba => vec![plane(w, h, 4, 1.0)],
        PixelFormat::I420 => vec![
            plane(w, h, 1, 1.0),
            plane(cw, ch, 1, 0.5),
            plane(cw, ch, 1, 0.5),
        ],
        PixelFormat::Nv12 => vec![plane(w, h, 1, 1.0), plane(cw, ch, 2, 0.5)],
    }
}

/// Blurs frames of one type: the plane shapes, the passes for the current
/// radius, and one scratch per rayon task, all sized at build time.
#[derive(Debug)]
pub struct FrameBlur {
    planes: Vec<PlaneSpec>,
    passes: Vec<Passes>,
    pool: Vec<Scratch>,
}

impl FrameBlur {
    /// A blurrer for frames of type `ty` (allocates: build time only).
    /// Large frames use every rayon thread unless the graph is real-time.
    pub fn new(ty: VideoType, kind: BlurKind, radius: f64, settings: &Settings) -> FrameBlur {
        let planes = plane_specs(ty);
        let mut blur = FrameBlur {
            passes: vec![Passes::NONE; planes.len()],
            planes,
            pool: scratch_pool(ty, settings),
        };
        blur.set_radius(kind, radius);
        blur
    }

    /// Changes kind or radius (clamped to 0..=64); never allocates.
    pub fn set_radius(&mut self, kind: BlurKind, radius: f64) {
        for (p, spec) in self.passes.iter_mut().zip(&self.planes) {
            *p = Passes::for_radius(kind, radius * spec.radius_scale);
        }
    }

    /// Blurs every plane of `src` into `dst` (same type).
    pub fn blur(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        for (i, (spec, passes)) in self.planes.iter().zip(&self.passes).enumerate() {
            blur_plane(
                src.plane(i),
                dst.plane_mut(i),
                spec.geometry,
                *passes,
                tasks(&mut self.pool),
            );
        }
    }
}
