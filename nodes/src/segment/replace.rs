//! `background_replace(image, model, feather)`: a virtual background. The
//! picture (PNG) is scaled to cover the frame (centred, overflow cut) and
//! converted to the frame's format once, at build; every frame then
//! blends the person over it with the same refined mask as `segment`, the
//! chroma with that mask averaged over each 2x2 block as the chroma is.

use super::person::{ModelChoice, PersonMask};
use super::segment_node::{model_param, DEFAULT_FEATHER};
use super::{frame_from_rgba, grid_of, radius_cells};
use crate::blur::blur_node::formats;
use crate::kernels::composite::{blend, spread_alpha};
use crate::kernels::guided::half_mean;
use crate::kernels::scale::{Mapping, PlaneScaler};
use crate::sig::{input, live, output, param, quantity, required, signature as sig};
use crate::video::image_in::decode_png;
use crate::video::video_port;
use sluice_dsl::{
    Arg, Args, OutType, ParamType, PixelFormat, Ports, Role, Signature, UnitKind, VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};

/// The `background_replace` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "background_replace",
        "Virtual background: keeps the people in the picture (the `segment` \
         model's refined mask) and replaces everything else with `image` (PNG, \
         scaled to cover the frame, centred). Needs the `ml` feature (on by \
         default).",
        Role::Process,
        ports,
    );
    s.params = vec![
        required("image", ParamType::Path, "Background picture (PNG)"),
        model_param(),
        live(param(
            "feather",
            quantity(UnitKind::Pixels, 1.0, 64.0),
            Arg::Num(DEFAULT_FEATHER),
            "Window of the edge refinement: larger is smoother and softer",
        )),
    ];
    s
}

fn ports(args: &Args) -> Result<Ports, String> {
    let image = args.need_str("image")?;
    let mut warnings = Vec::new();
    if !std::path::Path::new(image).exists() {
        warnings.push(format!("{image} does not exist yet"));
    }
    Ok(Ports {
        inputs: vec![input("in", formats())],
        outputs: vec![output("out", OutType::SameAs(0))],
        warnings,
        ..Ports::default()
    })
}

/// `rgba` (`iw` x `ih`) scaled to cover `ty` (centred, overflow cut), as
/// a frame of `ty`.
pub fn cover(rgba: &[u8], iw: usize, ih: usize, ty: VideoType) -> VideoFrame {
    let (w, h) = (ty.width as usize, ty.height as usize);
    let scale = (w as f64 / iw as f64).max(h as f64 / ih as f64);
    let span = (w as f64 / scale, h as f64 / scale);
    let map = Mapping {
        src: (iw, ih),
        src_origin: ((iw as f64 - span.0) / 2.0, (ih as f64 - span.1) / 2.0),
        src_span: span,
        dst: (w, h),
    };
    let mut scaled = vec![0u8; w * h * 4];
    PlaneScaler::new(map, 4).run(rgba, iw * 4, &mut scaled, w * 4, (0, 0), true);
    frame_from_rgba(ty, &scaled)
}

/// Builds a `background_replace`: reads and scales the picture, loads
/// the model.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let ty = video_port(ctx.inputs, 0)?;
    let path = ctx.args.need_str("image")?;
    let (iw, ih, rgba) = decode_png(path).map_err(NodeError::new)?;
    let background = cover(&rgba, iw as usize, ih as usize, ty);
    let model = ModelChoice::from_arg(ctx.args.need_str("model")?, ty);
    let feather = ctx.args.need_num("feather")?;
    let person = PersonMask::new(ty, grid_of(ty), radius_cells(feather), model, ctx.name)?;
    Ok(Box::new(BackgroundReplace::new(person, background)))
}

/// A running virtual background.
pub struct BackgroundReplace {
    person: PersonMask,
    background: VideoFrame,
    alpha: Vec<u8>,
    chroma_alpha: Vec<u8>,
    spread: Vec<u8>,
}

/// The mask and the background's type, not the pictures.
impl std::fmt::Debug for BackgroundReplace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundReplace")
            .field("person", &self.person)
            .field("background", &self.background.ty())
            .finish_non_exhaustive()
    }
}

impl BackgroundReplace {
    /// Puts the person of each frame on `background` (same type as the
    /// frames; allocates: build only).
    pub fn new(person: PersonMask, background: VideoFrame) -> BackgroundReplace {
        let (w, h) = (background.width(), background.height());
        let chroma = w.div_ceil(2) * h.div_ceil(2);
        let spread = match background.format() {
            PixelFormat::Rgba => 4 * w * h,
            PixelFormat::Nv12 => 2 * chroma,
            PixelFormat::I420 => 0,
        };
        BackgroundReplace {
            person,
            alpha: vec![0; w * h],
            chroma_alpha: vec![0; chroma],
            spread: vec![0; spread],
            background,
        }
    }

    /// The person mask (for tests and pictures).
    pub fn person(&mut self) -> &mut PersonMask {
        &mut self.person
    }

    /// Blends the person of `src` over the background into `dst`.
    pub fn run(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        self.person.update(src);
        self.compose(src, dst);
    }

    /// The blend alone, with the mask as it stands.
    pub fn compose(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        self.person.full_res(src, &mut self.alpha);
        dst.data_mut().copy_from_slice(self.background.data());
        let (w, h) = (src.width(), src.height());
        match src.format() {
            PixelFormat::Rgba => {
                spread_alpha(&self.alpha, 4, &mut self.spread);
                blend(dst.plane_mut(0), src.plane(0), &self.spread);
            }
            format => {
                blend(dst.plane_mut(0), src.plane(0), &self.alpha);
                half_mean(&self.alpha, w, h, &mut self.chroma_alpha);
                let ca = &self.chroma_alpha;
                if format == PixelFormat::I420 {
                    blend(dst.plane_mut(1), src.plane(1), ca);
                    blend(dst.plane_mut(2), src.plane(2), ca);
                } else {
                    spread_alpha(ca, 2, &mut self.spread);
                    blend(dst.plane_mut(1), src.plane(1), &self.spread);
                }
            }
        }
    }
}

impl Node for BackgroundReplace {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(src) = io.video_in(0) {
            self.run(src, io.video_out(0));
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("feather", Some(f)) => {
                self.person.set_radius(radius_cells(f));
                Ok(())
            }
            _ => Err(NodeError::new(format!(
                "`{key}` cannot change while running"
            ))),
        }
    }
}
