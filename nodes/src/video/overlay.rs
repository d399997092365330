//! `overlay(x, y, scale, alpha)`: composites the `top` video (RGBA, with
//! its own alpha) over the `base` video (i420 or RGBA) at `(x, y)`,
//! resized by `scale` and faded by `alpha`: the AR case (a scene drawn over
//! a remote participant). Position and alpha can change while running.
//!
//! The top layer is resampled premultiplied (no dark or coloured fringes
//! at transparent edges); on an i420 base it is converted to YUV and
//! blended per plane, with chroma alpha averaged over each 2x2 block.

use super::sprite::Sprite;
use super::{formats, video_port};
use crate::kernels::color::YuvSpec;
use crate::kernels::composite::{premultiply, unpremultiply};
use crate::kernels::scale::{Mapping, PlaneScaler};
use crate::sig::{input, live, output, param, quantity, signature as sig};
use sluice_dsl::{Arg, Args, OutType, PixelFormat, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `overlay` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "overlay",
        "Draws the `top` video (rgba, its alpha respected) over the `base` video \
         (i420 or rgba) with its top-left corner at (`x`, `y`), resized by \
         `scale` and faded by `alpha`. `x`, `y` and `alpha` can change while \
         running; the top may hang over any edge.",
        Role::Process,
        ports,
    );
    let px = || {
        quantity(
            UnitKind::Pixels,
            -f64::from(super::MAX_SIDE),
            f64::from(super::MAX_SIDE),
        )
    };
    s.params = vec![
        live(param(
            "x",
            px(),
            Arg::Num(0.0),
            "Left edge of the top layer on the base",
        )),
        live(param(
            "y",
            px(),
            Arg::Num(0.0),
            "Top edge of the top layer on the base",
        )),
        param(
            "scale",
            quantity(UnitKind::Ratio, 0.01, 16.0),
            Arg::Num(1.0),
            "Size of the top layer",
        ),
        live(param(
            "alpha",
            quantity(UnitKind::Ratio, 0.0, 1.0),
            Arg::Num(1.0),
            "Opacity of the top layer",
        )),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![
            input("base", formats(&[PixelFormat::I420, PixelFormat::Rgba])),
            input("top", formats(&[PixelFormat::Rgba])),
        ],
        outputs: vec![output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// Builds an `overlay` node: sizes the scaled top layer and its buffers.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let base = video_port(ctx.inputs, 0)?;
    let top = video_port(ctx.inputs, 1)?;
    if top.format != PixelFormat::Rgba || base.format == PixelFormat::Nv12 {
        return Err(NodeError::new(
            "overlay takes an i420 or rgba base and an rgba top",
        ));
    }
    let k = ctx.args.need_num("scale")?;
    let (tw, th) = (top.width as usize, top.height as usize);
    let size = |v: usize| ((v as f64 * k).round() as usize).clamp(1, super::MAX_SIDE as usize);
    let (sw, sh) = (size(tw), size(th));
    let scaler = ((sw, sh) != (tw, th)).then(|| {
        (
            PlaneScaler::new(Mapping::whole((tw, th), (sw, sh)), 4),
            vec![0u8; tw * th * 4],
        )
    });
    let a = ctx.args;
    Ok(Box::new(Overlay {
        x: a.need_num("x")?,
        y: a.need_num("y")?,
        alpha: a.need_num("alpha")?,
        sprite: Sprite::new(sw, sh),
        scaler,
        yuv_base: base.format == PixelFormat::I420,
    }))
}

/// Composites the top layer each frame.
struct Overlay {
    x: f64,
    y: f64,
    alpha: f64,
    sprite: Sprite,
    scaler: Option<(PlaneScaler, Vec<u8>)>,
    yuv_base: bool,
}

impl Node for Overlay {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let (Some(base), Some(top)) = (io.video_in(0), io.video_in(1)) else {
            return Flow::Continue;
        };
        let out = io.video_out(0);
        out.data_mut().copy_from_slice(base.data());
        let (sw, _) = self.sprite.size();
        match &mut self.scaler {
            Some((scaler, premul)) => {
                premultiply(top.plane(0), premul);
                let dst = self.sprite.rgba_mut();
                scaler.run(premul, top.stride(0), dst, sw * 4, (0, 0), true);
                unpremultiply(dst);
            }
            None => self.sprite.rgba_mut().copy_from_slice(top.plane(0)),
        }
        let global = (self.alpha * 255.0).round().clamp(0.0, 255.0) as u8;
        if self.yuv_base {
            self.sprite.prepare(global, YuvSpec::default());
        } else {
            self.sprite.set_alpha(global);
        }
        self.sprite
            .draw(out, self.x.round() as i64, self.y.round() as i64);
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        let v = value
            .as_num()
            .ok_or_else(|| NodeError::new(format!("`{key}` takes a number")))?;
        match key {
            "x" => self.x = v,
            "y" => self.y = v,
            "alpha" => self.alpha = v.clamp(0.0, 1.0),
            _ => {
                return Err(NodeError::new(format!(
                    "`{key}` cannot change while running"
                )))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, rgba_frame, video, video_types, vt};
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::VideoFrame;

    fn run(base: &VideoFrame, top: &VideoFrame, given: &[(&str, Arg)]) -> VideoFrame {
        let a = args_with_defaults(&signature(), given);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[base.ty(), top.ty()]))
            .build()
            .unwrap();
        n.run(&[&video(base), &video(top)]);
        n.video(0).clone()
    }

    #[test]
    fn opaque_top_lands_at_its_position_on_rgba() {
        let base = rgba_frame(20, 10, |_, _| [0, 0, 255, 255]);
        let top = rgba_frame(4, 4, |_, _| [255, 0, 0, 255]);
        let out = run(&base, &top, &[("x", Arg::Num(18.0)), ("y", Arg::Num(-2.0))]);
        let px = |x: usize, y: usize| out.plane(0)[(y * 20 + x) * 4..][..4].to_vec();
        assert_eq!(px(18, 0), [255, 0, 0, 255]);
        assert_eq!(px(19, 1), [255, 0, 0, 255]);
        assert_eq!(px(17, 0), [0, 0, 255, 255]);
        assert_eq!(px(18, 2), [0, 0, 255, 255]);
    }

    #[test]
    fn alpha_and_the_tops_own_alpha_multiply() {
        let base = rgba_frame(4, 4, |_, _| [0, 0, 0, 255]);
        let top = rgba_frame(4, 4, |x, _| [200, 200, 200, if x < 2 { 255 } else { 0 }]);
        let out = run(&base, &top, &[("alpha", Arg::Num(0.5))]);
        assert_eq!(out.plane(0)[0], 100);
        assert_eq!(out.plane(0)[3 * 4], 0);
    }

    #[test]
    fn scaled_top_on_i420_base() {
        let mut base = VideoFrame::new(vt(PixelFormat::I420, 32, 16));
        base.plane_mut(0).fill(50);
        let top = rgba_frame(4, 4, |_, _| [255, 255, 255, 255]);
        let out = run(
            &base,
            &top,
            &[
                ("x", Arg::Num(8.0)),
                ("y", Arg::Num(4.0)),
                ("scale", Arg::Num(2.0)),
            ],
        );
        let y = out.plane(0);
        assert_eq!(y[4 * 32 + 8], 235);
        assert_eq!(y[11 * 32 + 15], 235);
        assert_eq!(y[12 * 32 + 15], 50);
        assert_eq!(y[4 * 32 + 16], 50);
        assert_eq!(out.plane(1)[2 * 16 + 4], 128);
    }

    #[test]
    fn transparent_edges_do_not_fringe_when_scaled() {
        // An opaque white square inside transparent black: scaled up, the
        // edge pixels are white with partial alpha, never grey.
        let top = rgba_frame(8, 8, |x, y| {
            if (2..6).contains(&x) && (2..6).contains(&y) {
                [255, 255, 255, 255]
            } else {
                [0, 0, 0, 0]
            }
        });
        let base = rgba_frame(24, 24, |_, _| [255, 255, 255, 255]);
        let out = run(&base, &top, &[("scale", Arg::Num(3.0))]);
        assert!(out
            .plane(0)
            .chunks_exact(4)
            .all(|p| p[..3] == [255, 255, 255]));
    }

    #[test]
    fn live_position_moves_the_top() {
        let base = rgba_frame(8, 8, |_, _| [0, 0, 0, 255]);
        let top = rgba_frame(2, 2, |_, _| [255, 255, 255, 255]);
        let a = args_with_defaults(&signature(), &[]);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[base.ty(), top.ty()]))
            .build()
            .unwrap();
        n.set("x", &Arg::Num(6.0)).unwrap();
        n.run(&[&video(&base), &video(&top)]);
        assert_eq!(n.video(0).plane(0)[0], 0);
        assert_eq!(n.video(0).plane(0)[6 * 4], 255);
        assert!(n.set("scale", &Arg::Num(2.0)).is_err());
    }
}
