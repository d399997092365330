//! `segment(model, feather)`: video in, person mask out. The mask is gray
//! i420 video of the input's size, 255 = person (luma; chroma neutral), so
//! `background_blur(mask: port)`, `overlay` or a user's own nodes can use
//! it. It is the model's mask, smoothed over time and refined along the
//! picture's edges at full resolution.

use super::person::{ModelChoice, PersonMask};
use super::{grid_of, radius_cells};
use crate::blur::blur_node::formats;
use crate::sig::{choice, choice_arg, input, live, output, param, quantity, signature as sig};
use crate::video::{video_input, video_port};
use sluice_dsl::{
    Arg, Args, MediaType, OutType, PixelFormat, Ports, Role, Signature, UnitKind, VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The default edge window of the refinement, pixels (one home for the
/// signature and the constructor).
pub const DEFAULT_FEATHER: f64 = 8.0;

/// The `model` parameter shared by every kind that runs the model.
pub fn model_param() -> sluice_dsl::ParamSig {
    param(
        "model",
        choice(&["auto", "landscape", "square"]),
        choice_arg("auto"),
        "Segmentation model: `landscape` (256x144, for wide pictures), `square` \
         (256x256), or `auto` (landscape for pictures at least 3:2 wide)",
    )
}

/// The `segment` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "segment",
        "Person segmentation: the mask of the people in the picture as gray i420 \
         video of the same size (255 = person). MediaPipe's selfie segmentation \
         model runs in-process on its own thread at the rate it manages; the \
         newest mask is smoothed over time and refined along the picture's \
         edges at full resolution (guided filter). Needs the `ml` feature (on \
         by default).",
        Role::Process,
        ports,
    );
    s.params = vec![
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

fn mask_type(_: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let v = video_input(inputs, 0)?;
    Ok(MediaType::Video(VideoType {
        format: PixelFormat::I420,
        ..v
    }))
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", formats())],
        outputs: vec![output("out", OutType::Derived(mask_type))],
        ..Ports::default()
    })
}

/// Builds a `segment`: loads the model and starts its thread.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let ty = video_port(ctx.inputs, 0)?;
    let model = ModelChoice::from_arg(ctx.args.need_str("model")?, ty);
    let feather = ctx.args.need_num("feather")?;
    let person = PersonMask::new(ty, grid_of(ty), radius_cells(feather), model, ctx.name)?;
    Ok(Box::new(Segment { person }))
}

/// A running `segment`.
#[derive(Debug)]
pub struct Segment {
    person: PersonMask,
}

impl Node for Segment {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(src) = io.video_in(0) {
            self.person.update(src);
            let out = io.video_out(0);
            let [y, u, v] = out.planes_mut();
            self.person.full_res(src, y);
            u.fill(128);
            v.fill(128);
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
