//! `blur(radius, kind)`: a Gaussian (three running-sum boxes, sigma =
//! radius / 2) or box blur of rgba, i420 or nv12 video, at a cost that does
//! not grow with the radius. 4:2:0 chroma is blurred at half the radius (it
//! is half the size); rgba alpha is blurred like the colours.

use super::planes::FrameBlur;
use crate::kernels::blur::BlurKind;
use crate::sig::{choice, choice_arg, input, live, output, param, quantity, signature as sig};
use sluice_dsl::{Accepts, Arg, Args, OutType, PixelFormat, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `blur` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "blur",
        "Blurs video. `gaussian`: radius r means sigma r/2 (radius 16 is ffmpeg \
         gblur sigma 8), three running-sum box passes; `box`: one box of width \
         2r+1. Cost does not depend on the radius. rgba, i420, nv12 (4:2:0 \
         chroma at half the radius; alpha is blurred too).",
        Role::Process,
        ports,
    );
    s.params = vec![
        live(param(
            "radius",
            quantity(UnitKind::Pixels, 0.0, 64.0),
            Arg::Num(8.0),
            "Blur radius (gaussian: sigma = radius / 2)",
        )),
        param(
            "kind",
            choice(&["gaussian", "box"]),
            choice_arg("gaussian"),
            "Gaussian or box",
        ),
    ];
    s
}

/// Video formats the blur works on directly.
pub fn formats() -> Accepts {
    Accepts::Video {
        formats: vec![PixelFormat::I420, PixelFormat::Rgba, PixelFormat::Nv12],
    }
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", formats())],
        outputs: vec![output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// The kind named in the arguments.
pub fn blur_kind(args: &Args) -> Result<BlurKind, String> {
    Ok(match args.need_str("kind")? {
        "box" => BlurKind::Box,
        _ => BlurKind::Gaussian,
    })
}

/// Builds a `blur`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let ty = super::video_type(ctx, 0)?;
    let kind = blur_kind(ctx.args)?;
    let radius = ctx.args.need_num("radius")?;
    Ok(Box::new(Blur {
        kind,
        blur: FrameBlur::new(ty, kind, radius, ctx.settings),
    }))
}

/// A running blur: the kind and a blurrer sized for the input.
struct Blur {
    kind: BlurKind,
    blur: FrameBlur,
}

impl Node for Blur {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(src) = io.video_in(0) {
            self.blur.blur(src, io.video_out(0));
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("radius", Some(r)) => {
                self.blur.set_radius(self.kind, r);
                Ok(())
            }
            _ => Err(NodeError::new(format!(
                "`{key}` cannot change while running"
            ))),
        }
    }
}
