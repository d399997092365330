//! The person mask as the video path sees it: a segmentation model on its
//! own thread (`MaskWorker`), its newest mask resampled to a coarse grid
//! and smoothed over time, then refined at full resolution along the
//! picture's edges by a guided filter. Every step after build is
//! allocation-free and never waits for the model.

use super::input::ModelInput;
use super::MaskWorker;
use crate::kernels::guided::{GuidedFilter, GuidedUpsampler};
use crate::kernels::mask::{luma_grid, portrait_prior, Upsampler};
use sluice_dsl::{PixelFormat, VideoType};
use sluice_runtime::{NodeError, VideoFrame};

/// Which vendored model a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// 256x144, for wide pictures.
    Landscape,
    /// 256x256, for square and portrait pictures.
    Square,
}

impl ModelChoice {
    /// The `model` argument (`auto`, `landscape`, `square`) for pictures
    /// of `ty`: `auto` takes the landscape model for pictures at least 3:2
    /// wide (stretching 16:9 to 256x144 keeps its shape), else the square one.
    pub fn from_arg(arg: &str, ty: VideoType) -> ModelChoice {
        match arg {
            "landscape" => ModelChoice::Landscape,
            "square" => ModelChoice::Square,
            _ if 2 * ty.width >= 3 * ty.height => ModelChoice::Landscape,
            _ => ModelChoice::Square,
        }
    }
}

/// How fast the smoothed mask moves towards the newest model mask, per
/// video frame: half the way (settles in about four frames, so a mask that
/// arrives every second or third frame does not step, and the model's
/// frame-to-frame noise does not flicker).
const SMOOTHING: f32 = 0.5;

/// The person mask of a stream of frames of one type.
pub struct PersonMask {
    worker: MaskWorker,
    input: ModelInput,
    grid: (usize, usize),
    ty: VideoType,
    resample: Option<Upsampler>,
    target: Vec<u8>,
    spare: Vec<u8>,
    smooth: Vec<f32>,
    coarse: Vec<u8>,
    guide: Vec<u8>,
    refined: Vec<u8>,
    filter: GuidedFilter,
    up: GuidedUpsampler,
    luma: Vec<u8>,
    primed: bool,
}

/// The model and sizes, not the mask buffers.
impl std::fmt::Debug for PersonMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonMask")
            .field("worker", &self.worker)
            .field("grid", &self.grid)
            .field("ty", &self.ty)
            .finish_non_exhaustive()
    }
}

impl PersonMask {
    /// Loads the model (hash and shape checked) and starts its thread
    /// (allocates: build only). `grid` is the coarse grid the mask is
    /// smoothed and fitted on; `radius` the guided filter's window, cells.
    pub fn new(
        ty: VideoType,
        grid: (usize, usize),
        radius: usize,
        model: ModelChoice,
        name: &str,
    ) -> Result<PersonMask, NodeError> {
        let worker = MaskWorker::load(model, name)?;
        let (mw, mh) = worker.size();
        let (lw, lh) = grid;
        let (w, h) = (ty.width as usize, ty.height as usize);
        let prior = portrait_prior(lw, lh);
        Ok(PersonMask {
            worker,
            input: ModelInput::new(mw, mh),
            grid,
            ty,
            resample: (lw >= mw && lh >= mh).then(|| Upsampler::new(mw, mh, lw, lh)),
            target: prior.clone(),
            spare: vec![0; lw * lh],
            smooth: prior.iter().map(|&v| f32::from(v)).collect(),
            coarse: prior,
            guide: vec![0; lw * lh],
            refined: vec![0; lw * lh],
            filter: GuidedFilter::new(lw, lh, radius),
            up: GuidedUpsampler::new(lw, lh, w, h),
            luma: if ty.format == PixelFormat::Rgba {
                vec![0; w * h]
            } else {
                Vec::new()
            },
            primed: false,
        })
    }

    /// Changes the guided filter's window (cells); never allocates.
    pub fn set_radius(&mut self, radius: usize) {
        self.filter.set_radius(radius.max(1));
    }

    /// Takes the newest model mask if one arrived, hands `frame` to the
    /// model if it is idle, moves the smoothed mask one step and fits the
    /// refinement to `frame`. Never waits.
    pub fn update(&mut self, frame: &VideoFrame) {
        let (mw, mh) = self.worker.size();
        if let Some(mask) = self.worker.finished() {
            let (lw, lh) = self.grid;
            match &mut self.resample {
                Some(up) => up.run([mask, mask], [&mut self.target, &mut self.spare]),
                None => luma_grid(mask, mw, mh, 1, &mut self.target, lw, lh),
            }
            if !self.primed {
                // The first mask replaces the portrait prior outright.
                for (s, &t) in self.smooth.iter_mut().zip(&self.target) {
                    *s = f32::from(t);
                }
                self.primed = true;
            }
        }
        if let Some(pixels) = self.worker.idle() {
            self.input.fill(frame, pixels);
            self.worker.submit();
        }
        for ((s, &t), c) in self
            .smooth
            .iter_mut()
            .zip(&self.target)
            .zip(&mut self.coarse)
        {
            *s += SMOOTHING * (f32::from(t) - *s);
            *c = (*s + 0.5) as u8;
        }
        self.fit(frame);
    }

    fn fit(&mut self, frame: &VideoFrame) {
        let (lw, lh) = self.grid;
        let (w, h) = (frame.width(), frame.height());
        if frame.format() == PixelFormat::Rgba {
            luma_grid(frame.plane(0), w, h, 4, &mut self.guide, lw, lh);
        } else {
            luma_grid(frame.plane(0), w, h, 1, &mut self.guide, lw, lh);
        }
        self.filter.fit(&self.guide, &self.coarse);
        self.filter.apply_grid(&self.guide, &mut self.refined);
    }

    /// The smoothed, refined mask on the grid (255 = person).
    pub fn grid_mask(&self) -> &[u8] {
        &self.refined
    }

    /// The smoothed model mask on the grid before refinement.
    pub fn coarse_mask(&self) -> &[u8] {
        &self.coarse
    }

    /// The refined mask at the frame's full (luma) resolution.
    pub fn full_res(&mut self, frame: &VideoFrame, out: &mut [u8]) {
        if frame.format() == PixelFormat::Rgba {
            for (l, p) in self.luma.iter_mut().zip(frame.plane(0).chunks_exact(4)) {
                let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
                *l = ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8;
            }
            self.up
                .run(self.filter.a(), self.filter.b(), &self.luma, out);
        } else {
            self.up
                .run(self.filter.a(), self.filter.b(), frame.plane(0), out);
        }
    }

    /// Waits until the model has answered the frame it was last given,
    /// then takes that mask as it is (no smoothing): for tests and
    /// pictures, where each frame should get its own mask. Returns false
    /// on a timeout.
    pub fn settle(&mut self, frame: &VideoFrame) -> bool {
        for _ in 0..2 {
            self.update(frame);
            if !self.worker.wait(std::time::Duration::from_secs(20)) {
                return false;
            }
        }
        self.update(frame);
        for (s, &t) in self.smooth.iter_mut().zip(&self.target) {
            *s = f32::from(t);
        }
        self.coarse.copy_from_slice(&self.target);
        self.fit(frame);
        true
    }

    /// The frame type this mask was built for.
    pub fn video_type(&self) -> VideoType {
        self.ty
    }
}
