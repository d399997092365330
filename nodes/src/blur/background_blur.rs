//! `background_blur(radius, mask, feather)`: blurs what is behind the
//! subject, the way video-call apps do.
//!
//! The subject mask lives on a grid four times coarser than the picture
//! (cheap to make and to feather). The default, `person`, is a
//! segmentation model's mask (on its own thread, see `crate::segment`),
//! refined at full resolution along the picture's edges. The background
//! layer is a normalised convolution, `blur(v * w) / blur(w)` with `w` the
//! background weight, so the subject's pixels carry no weight and cannot
//! bleed into the blurred background around it. The mask then blends the
//! original over that layer at full resolution (chroma with the mask
//! averaged over 2x2 blocks, as chroma is): subject pixels where the mask
//! is 255 are the original bytes.

use super::blur_node::formats;
use super::planes::{scratch_pool, tasks};
use crate::kernels::blur::{blur_plane, blur_plane_in_place, BlurKind, Geometry, Passes, Scratch};
use crate::kernels::guided::half_mean;
use crate::kernels::mask::{
    luma_grid, normalise_and_blend, portrait_prior, premultiply, put_weight, to_background_weight,
    Upsampler,
};
use crate::segment::person::{ModelChoice, PersonMask};
use crate::segment::segment_node::model_param;
use crate::segment::{radius_cells, GRID};
use crate::sig::{
    any_video, choice, choice_arg, input, live, optional_input, output, param, quantity,
    signature as sig,
};
use sluice_dsl::{Arg, Args, OutType, PixelFormat, Ports, Role, Signature, UnitKind, VideoType};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};

/// The default mask source (one home for the signature and `build`).
pub const DEFAULT_MASK: &str = "person";

/// The `background_blur` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "background_blur",
        "Blurs the background behind a subject without the subject bleeding into \
         it (mask-weighted blur), blending with a feathered mask at full \
         resolution. `mask`: `person` (a segmentation model run in-process, \
         refined along the picture's edges; needs the `ml` feature, on by \
         default), `portrait` (a soft head-and-shoulders prior), `motion` \
         (frame differencing with decay: what moves stays sharp) or `port` \
         (the luma of the video on the `mask` input, 255 = subject, e.g. from \
         `segment`).",
        Role::Process,
        ports,
    );
    s.params = vec![
        live(param(
            "radius",
            quantity(UnitKind::Pixels, 0.0, 64.0),
            Arg::Num(16.0),
            "Background blur radius (Gaussian, sigma = radius / 2)",
        )),
        param(
            "mask",
            choice(&["person", "portrait", "motion", "port"]),
            choice_arg(DEFAULT_MASK),
            "Where the subject mask comes from",
        ),
        live(param(
            "feather",
            quantity(UnitKind::Pixels, 0.0, 64.0),
            Arg::Num(8.0),
            "Softness of the mask edge (person: the edge refinement's window)",
        )),
        model_param(),
    ];
    s
}

fn ports(args: &Args) -> Result<Ports, String> {
    let mask = if args.need_str("mask")? == "port" {
        input("mask", any_video())
    } else {
        optional_input("mask", any_video())
    };
    Ok(Ports {
        inputs: vec![input("in", formats()), mask],
        outputs: vec![output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// Builds a `background_blur`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let ty = super::video_type(ctx, 0)?;
    let source = match ctx.args.need_str("mask")? {
        "motion" => MaskSource::Motion,
        "port" => MaskSource::Port,
        "portrait" => MaskSource::Portrait,
        _ => MaskSource::Person,
    };
    if source == MaskSource::Port && !ctx.inputs.get(1).is_some_and(|p| p.connected) {
        return Err(NodeError::new(
            "mask: port needs a video connected to the `mask` input",
        ));
    }
    let feather = ctx.args.need_num("feather")?;
    let mut node = BackgroundBlur::new(
        ty,
        source,
        ctx.args.need_num("radius")?,
        feather,
        ctx.settings.realtime,
    );
    if source == MaskSource::Person {
        let model = ModelChoice::from_arg(ctx.args.need_str("model")?, ty);
        let person = PersonMask::new(ty, node.grid, radius_cells(feather), model, ctx.name)?;
        node = node.with_person(person);
    }
    Ok(Box::new(node))
}

/// Where the subject mask comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskSource {
    /// The segmentation model's mask (see [`BackgroundBlur::with_person`]).
    Person,
    /// The fixed head-and-shoulders prior.
    Portrait,
    /// Frame differencing with decay.
    Motion,
    /// The luma of the `mask` input.
    Port,
}

/// One layer blurred together: a plane (or the two chroma planes) with its
/// background weight interleaved, the masks at its resolution, and the
/// passes.
struct Layer {
    geometry: Geometry,
    radius_scale: f64,
    passes: Passes,
    data: Vec<u8>,
    alpha: Vec<u8>,
    weight: Vec<u8>,
}

impl Layer {
    fn new(width: usize, height: usize, channels: usize, radius_scale: f64) -> Layer {
        let geometry = Geometry {
            width,
            height,
            stride: width * channels,
            channels,
        };
        Layer {
            geometry,
            radius_scale,
            passes: Passes::NONE,
            data: vec![0; geometry.len()],
            alpha: vec![0; width * height],
            weight: vec![0; width * height],
        }
    }
}

/// Frame differencing at grid resolution: motion energy that decays, so a
/// subject that stops moving fades out over about two seconds.
struct Motion {
    prev: Vec<u8>,
    cur: Vec<u8>,
    energy: Vec<f32>,
    spread: Vec<u8>,
    decay: f32,
    primed: bool,
}

/// A background blur sized for one input type.
pub struct BackgroundBlur {
    ty: VideoType,
    source: MaskSource,
    grid: (usize, usize),
    raw: Vec<u8>,
    feathered: Vec<u8>,
    prior: Vec<u8>,
    motion: Motion,
    feather_passes: Passes,
    grid_pool: Vec<Scratch>,
    up: Upsampler,
    person: Option<PersonMask>,
    layers: Vec<Layer>,
    pool: Vec<Scratch>,
}

/// The frame type and mask grid, not the mask buffers.
impl std::fmt::Debug for BackgroundBlur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundBlur")
            .field("ty", &self.ty)
            .field("grid", &self.grid)
            .field("person", &self.person.is_some())
            .finish_non_exhaustive()
    }
}

impl BackgroundBlur {
    /// A background blur for frames of type `ty` (allocates: build only).
    /// Not `realtime`: large frames use every rayon thread. The `Person`
    /// source needs its model added with [`BackgroundBlur::with_person`];
    /// until then it keeps the portrait prior.
    pub fn new(
        ty: VideoType,
        source: MaskSource,
        radius: f64,
        feather: f64,
        realtime: bool,
    ) -> BackgroundBlur {
        let (w, h) = (ty.width as usize, ty.height as usize);
        let grid = (w.div_ceil(GRID).max(1), h.div_ceil(GRID).max(1));
        let cells = grid.0 * grid.1;
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let layers = match ty.format {
            PixelFormat::Rgba => vec![Layer::new(w, h, 4, 1.0)],
            PixelFormat::I420 | PixelFormat::Nv12 => {
                vec![Layer::new(w, h, 2, 1.0), Layer::new(cw, ch, 4, 0.5)]
            }
        };
        let fps = f64::from(ty.fps.0) / f64::from(ty.fps.1.max(1));
        let settings = sluice_dsl::Settings {
            realtime,
            ..Default::default()
        };
        let mut node = BackgroundBlur {
            ty,
            source,
            grid,
            raw: vec![0; cells],
            feathered: vec![0; cells],
            prior: portrait_prior(grid.0, grid.1),
            motion: Motion {
                prev: vec![0; cells],
                cur: vec![0; cells],
                energy: vec![0.0; cells],
                spread: vec![0; cells],
                decay: 0.5f64.powf(1.0 / (2.0 * fps.max(1.0))) as f32,
                primed: false,
            },
            feather_passes: Passes::NONE,
            grid_pool: vec![Scratch::new(grid.0.max(grid.1))],
            up: Upsampler::new(grid.0, grid.1, w, h),
            person: None,
            layers,
            pool: scratch_pool(ty, &settings),
        };
        node.set_radius(radius);
        node.set_feather(feather);
        node
    }

    /// Changes the background blur radius; never allocates.
    pub fn set_radius(&mut self, radius: f64) {
        for l in &mut self.layers {
            l.passes = Passes::for_radius(BlurKind::Gaussian, radius * l.radius_scale);
        }
    }

    /// Changes the mask feathering (pixels); never allocates.
    pub fn set_feather(&mut self, feather: f64) {
        self.feather_passes = Passes::for_radius(BlurKind::Gaussian, feather / GRID as f64);
        if let Some(p) = &mut self.person {
            p.set_radius(radius_cells(feather));
        }
    }

    /// Gives a `Person` blur its model (built by the caller, so a model
    /// error is the caller's to report).
    pub fn with_person(mut self, person: PersonMask) -> BackgroundBlur {
        self.person = Some(person);
        self
    }

    /// The person mask, when the source is `Person` (tests, pictures).
    pub fn person(&mut self) -> Option<&mut PersonMask> {
        self.person.as_mut()
    }

    /// The subject mask of the last frame, on the grid (for tests and
    /// pictures): `(width, height, bytes)`; feathered, or for `Person`
    /// refined.
    pub fn mask(&self) -> (usize, usize, &[u8]) {
        match &self.person {
            Some(p) => (self.grid.0, self.grid.1, p.grid_mask()),
            None => (self.grid.0, self.grid.1, &self.feathered),
        }
    }

    /// The full-resolution alpha the last frame was blended with (luma
    /// resolution; 255 = subject).
    pub fn alpha(&self) -> &[u8] {
        &self.layers[0].alpha
    }

    /// Blurs the background of `src` into `dst`; `mask` is the mask video's
    /// frame when the source is `port` (the previous mask is kept when it
    /// has none this tick).
    pub fn run(&mut self, src: &VideoFrame, mask: Option<&VideoFrame>, dst: &mut VideoFrame) {
        match &mut self.person {
            Some(p) => p.update(src),
            None => self.update_mask(src, mask),
        }
        self.compose(src, dst);
    }

    /// The masks and the blend alone, with the mask as it stands (after
    /// [`BackgroundBlur::run`] or a settled person mask).
    pub fn compose(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        self.masks(src);
        match self.ty.format {
            PixelFormat::Rgba => self.rgba(src, dst),
            PixelFormat::I420 => self.i420(src, dst),
            PixelFormat::Nv12 => self.nv12(src, dst),
        }
    }

    /// The blend's alpha and the background weight at full resolution,
    /// then for the chroma layer averaged over 2x2 blocks (the way 4:2:0
    /// chroma relates to luma, so colour and brightness change together at
    /// the edge).
    fn masks(&mut self, src: &VideoFrame) {
        let [l0, rest @ ..] = self.layers.as_mut_slice() else {
            return;
        };
        if let Some(p) = &mut self.person {
            p.full_res(src, &mut l0.alpha);
            self.up.run([p.grid_mask()], [&mut l0.weight]);
        } else {
            let g = Geometry {
                width: self.grid.0,
                height: self.grid.1,
                stride: self.grid.0,
                channels: 1,
            };
            blur_plane(
                &self.raw,
                &mut self.feathered,
                g,
                self.feather_passes,
                &mut self.grid_pool,
            );
            self.up.run(
                [&self.feathered, &self.raw],
                [&mut l0.alpha, &mut l0.weight],
            );
        }
        to_background_weight(&mut l0.weight);
        if let Some(l1) = rest.first_mut() {
            let (w, h) = (src.width(), src.height());
            half_mean(&l0.alpha, w, h, &mut l1.alpha);
            half_mean(&l0.weight, w, h, &mut l1.weight);
        }
    }

    fn update_mask(&mut self, src: &VideoFrame, mask: Option<&VideoFrame>) {
        let (lw, lh) = self.grid;
        match self.source {
            MaskSource::Portrait | MaskSource::Person => self.raw.copy_from_slice(&self.prior),
            MaskSource::Port => {
                if let Some(m) = mask {
                    let ch = if m.format() == PixelFormat::Rgba {
                        4
                    } else {
                        1
                    };
                    luma_grid(m.plane(0), m.width(), m.height(), ch, &mut self.raw, lw, lh);
                }
            }
            MaskSource::Motion => {
                let ch = if src.format() == PixelFormat::Rgba {
                    4
                } else {
                    1
                };
                let m = &mut self.motion;
                luma_grid(
                    src.plane(0),
                    src.width(),
                    src.height(),
                    ch,
                    &mut m.cur,
                    lw,
                    lh,
                );
                if m.primed {
                    for ((e, &c), &p) in m.energy.iter_mut().zip(&m.cur).zip(&m.prev) {
                        let d = (f32::from(c) - f32::from(p)).abs();
                        let hit = ((d - 3.0) / 12.0).clamp(0.0, 1.0);
                        *e = (*e * m.decay).max(hit);
                    }
                }
                m.primed = true;
                std::mem::swap(&mut m.prev, &mut m.cur);
                // Differences mark edges and texture of what moves; a short
                // box spreads them over the body between.
                for (s, &e) in m.spread.iter_mut().zip(&m.energy) {
                    *s = (e * 255.0).round() as u8;
                }
                let g = Geometry {
                    width: lw,
                    height: lh,
                    stride: lw,
                    channels: 1,
                };
                blur_plane_in_place(&mut m.spread, g, Passes::boxes(3), &mut self.grid_pool);
                for (r, &s) in self.raw.iter_mut().zip(&m.spread) {
                    *r = (3 * u32::from(s)).min(255) as u8;
                }
            }
        }
    }

    fn rgba(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        let l = &mut self.layers[0];
        let s = src.plane(0);
        for c in 0..3 {
            premultiply::<4, 4>(&s[c..], &l.weight, &mut l.data[c..]);
        }
        put_weight(&l.weight, &mut l.data[3..], 4);
        blur_plane_in_place(&mut l.data, l.geometry, l.passes, tasks(&mut self.pool));
        let d = dst.plane_mut(0);
        for c in 0..3 {
            normalise_and_blend::<4, 4>(&s[c..], &l.data[c..], 3 - c, &l.alpha, &mut d[c..]);
        }
        for (o, i) in d.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
            o[3] = i[3];
        }
    }

    fn luma(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        let l = &mut self.layers[0];
        premultiply::<1, 2>(src.plane(0), &l.weight, &mut l.data);
        put_weight(&l.weight, &mut l.data[1..], 2);
        blur_plane_in_place(&mut l.data, l.geometry, l.passes, tasks(&mut self.pool));
        normalise_and_blend::<1, 2>(src.plane(0), &l.data, 1, &l.alpha, dst.plane_mut(0));
    }

    fn i420(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        self.luma(src, dst);
        let l = &mut self.layers[1];
        premultiply::<1, 4>(src.plane(1), &l.weight, &mut l.data);
        premultiply::<1, 4>(src.plane(2), &l.weight, &mut l.data[1..]);
        put_weight(&l.weight, &mut l.data[2..], 4);
        put_weight(&l.weight, &mut l.data[3..], 4);
        blur_plane_in_place(&mut l.data, l.geometry, l.passes, tasks(&mut self.pool));
        normalise_and_blend::<1, 4>(src.plane(1), &l.data, 2, &l.alpha, dst.plane_mut(1));
        normalise_and_blend::<1, 4>(src.plane(2), &l.data[1..], 1, &l.alpha, dst.plane_mut(2));
    }

    fn nv12(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        self.luma(src, dst);
        let l = &mut self.layers[1];
        let uv = src.plane(1);
        premultiply::<2, 4>(uv, &l.weight, &mut l.data);
        premultiply::<2, 4>(&uv[1..], &l.weight, &mut l.data[1..]);
        put_weight(&l.weight, &mut l.data[2..], 4);
        put_weight(&l.weight, &mut l.data[3..], 4);
        blur_plane_in_place(&mut l.data, l.geometry, l.passes, tasks(&mut self.pool));
        let d = dst.plane_mut(1);
        normalise_and_blend::<2, 4>(uv, &l.data, 2, &l.alpha, d);
        normalise_and_blend::<2, 4>(&uv[1..], &l.data[1..], 1, &l.alpha, &mut d[1..]);
    }
}

impl Node for BackgroundBlur {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let mask = io.video_in(1);
        if let Some(src) = io.video_in(0) {
            self.run(src, mask, io.video_out(0));
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("radius", Some(r)) => self.set_radius(r),
            ("feather", Some(f)) => self.set_feather(f),
            _ => {
                return Err(NodeError::new(format!(
                    "`{key}` cannot change while running"
                )))
            }
        }
        Ok(())
    }
}
