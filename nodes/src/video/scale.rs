//! `scale(size, fit)`: resizes video in any format, per plane, with the
//! resampler of `kernels::scale` (bilinear up, area-weighted down).
//! `fit`: `stretch` fills the frame, `letterbox` keeps the aspect ratio
//! with black bars, `crop` keeps it by cutting the overflow (centred).

use super::{formats, video_input, video_port};
use crate::kernels::scale::{Mapping, PlaneScaler};
use crate::sig::{choice, choice_arg, input, output, param, required, signature as sig};
use sluice_dsl::{
    Args, MediaType, OutType, ParamType, PixelFormat, Ports, Role, Signature, VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};

/// The `scale` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "scale",
        "Resizes video (any format). `fit`: stretch (fill, aspect may change), \
         letterbox (whole picture, black bars), crop (fill, centred, edges cut). \
         Bilinear when enlarging, area-weighted when shrinking (no aliasing).",
        Role::Process,
        ports,
    );
    s.params = vec![
        required(
            "size",
            ParamType::Size {
                max: super::MAX_SIDE,
            },
            "Output size",
        ),
        param(
            "fit",
            choice(&["stretch", "letterbox", "crop"]),
            choice_arg("stretch"),
            "How to keep the aspect ratio",
        ),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", formats(&[]))],
        outputs: vec![output("out", OutType::Derived(derive))],
        ..Ports::default()
    })
}

fn derive(args: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let mut v = video_input(inputs, 0)?;
    let (w, h) = args.need_size("size")?;
    v.width = w;
    v.height = h;
    Ok(MediaType::Video(v))
}

/// How a picture fills a rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Fill, ignoring the aspect ratio.
    Stretch,
    /// Fit inside, with bars.
    Letterbox,
    /// Fill, cutting the overflow.
    Crop,
}

impl Fit {
    /// The fit named in graph text (`stretch`, `letterbox` or `crop`).
    pub fn from_name(s: &str) -> Fit {
        match s {
            "letterbox" => Fit::Letterbox,
            "crop" => Fit::Crop,
            _ => Fit::Stretch,
        }
    }
}

/// A rectangle in output pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left.
    pub x: usize,
    /// Top.
    pub y: usize,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

/// Scales frames of one type into a rectangle of frames of another (same
/// pixel format), plane by plane; all buffers are sized at construction.
#[derive(Debug, Clone)]
pub struct FrameScaler {
    planes: Vec<(PlaneScaler, (usize, usize))>,
    letterboxed: bool,
}

fn even(v: usize, yuv: bool) -> usize {
    if yuv {
        v & !1
    } else {
        v
    }
}

impl FrameScaler {
    /// A scaler from `src` frames into `rect` of `dst` frames.
    pub fn new(
        src: VideoType,
        dst: VideoType,
        rect: Rect,
        fit: Fit,
    ) -> Result<FrameScaler, NodeError> {
        if src.format != dst.format {
            return Err(NodeError::new(format!(
                "scale keeps the pixel format ({} in, {} out)",
                src.format, dst.format
            )));
        }
        let yuv = src.format != PixelFormat::Rgba;
        let (sw, sh) = (f64::from(src.width), f64::from(src.height));
        let (rw, rh) = (rect.w as f64, rect.h as f64);
        // Luma-plane placement: the destination rectangle and source window.
        let (mut dst_rect, mut origin, mut span) = (rect, (0.0, 0.0), (sw, sh));
        match fit {
            Fit::Stretch => {}
            Fit::Letterbox => {
                let k = (rw / sw).min(rh / sh);
                let w = even(((sw * k).round() as usize).clamp(1, rect.w), yuv).max(1);
                let h = even(((sh * k).round() as usize).clamp(1, rect.h), yuv).max(1);
                dst_rect = Rect {
                    x: even(rect.x + (rect.w - w) / 2, yuv),
                    y: even(rect.y + (rect.h - h) / 2, yuv),
                    w,
                    h,
                };
            }
            Fit::Crop => {
                let k = (rw / sw).max(rh / sh);
                span = (rw / k, rh / k);
                origin = ((sw - span.0) / 2.0, (sh - span.1) / 2.0);
            }
        }
        let mut planes = Vec::new();
        let luma_channels = if yuv { 1 } else { 4 };
        let map = Mapping {
            src: (src.width as usize, src.height as usize),
            src_origin: origin,
            src_span: span,
            dst: (dst_rect.w, dst_rect.h),
        };
        planes.push((
            PlaneScaler::new(map, luma_channels),
            (dst_rect.x, dst_rect.y),
        ));
        if yuv {
            let half = |v: usize| v.div_ceil(2);
            let cmap = Mapping {
                src: (half(map.src.0), half(map.src.1)),
                src_origin: (origin.0 / 2.0, origin.1 / 2.0),
                src_span: (span.0 / 2.0, span.1 / 2.0),
                dst: (half(dst_rect.w), half(dst_rect.h)),
            };
            let at = (dst_rect.x / 2, dst_rect.y / 2);
            let chroma_planes = if src.format == PixelFormat::I420 {
                2
            } else {
                1
            };
            let channels = if src.format == PixelFormat::I420 {
                1
            } else {
                2
            };
            for _ in 0..chroma_planes {
                planes.push((PlaneScaler::new(cmap, channels), at));
            }
        }
        Ok(FrameScaler {
            planes,
            letterboxed: dst_rect != rect,
        })
    }

    /// Whether the picture leaves bars to paint.
    pub fn letterboxed(&self) -> bool {
        self.letterboxed
    }

    /// Scales `src` into `dst` (never allocates).
    pub fn run(&mut self, src: &VideoFrame, dst: &mut VideoFrame) {
        for (p, (scaler, at)) in self.planes.iter_mut().enumerate() {
            let stride = dst.stride(p);
            scaler.run(
                src.plane(p),
                src.stride(p),
                dst.plane_mut(p),
                stride,
                *at,
                true,
            );
        }
    }
}

/// Builds a `scale` node.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let src = video_port(ctx.inputs, 0)?;
    let dst = video_port(ctx.outputs, 0)?;
    let rect = Rect {
        x: 0,
        y: 0,
        w: dst.width as usize,
        h: dst.height as usize,
    };
    let scaler = FrameScaler::new(src, dst, rect, Fit::from_name(ctx.args.need_str("fit")?))?;
    Ok(Box::new(Scale { scaler }))
}

/// Resizes each frame.
struct Scale {
    scaler: FrameScaler,
}

impl Node for Scale {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let Some(src) = io.video_in(0) else {
            return Flow::Continue;
        };
        let dst = io.video_out(0);
        if self.scaler.letterboxed() {
            dst.fill_black();
        }
        self.scaler.run(src, dst);
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, e, rgba_frame, video, video_types, vt};
    use sluice_dsl::Arg;
    use sluice_runtime::testing::NodeHarness;

    fn scale(src: &VideoFrame, w: u32, h: u32, fit: &str) -> VideoFrame {
        let a = args_with_defaults(&signature(), &[("size", Arg::Size(w, h)), ("fit", e(fit))]);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[src.ty()]))
            .build()
            .unwrap();
        assert_eq!(
            n.output_types()[0],
            MediaType::Video(VideoType {
                width: w,
                height: h,
                ..src.ty()
            })
        );
        n.run(&[&video(src)]);
        n.video(0).clone()
    }

    #[test]
    fn stretch_keeps_a_flat_colour_in_every_format() {
        let mut f = VideoFrame::new(vt(PixelFormat::I420, 64, 36));
        f.plane_mut(0).fill(100);
        f.plane_mut(1).fill(90);
        f.plane_mut(2).fill(200);
        let out = scale(&f, 31, 17, "stretch");
        assert!(out.plane(0).iter().all(|&v| v == 100));
        assert!(out.plane(1).iter().all(|&v| v == 90));
        assert!(out.plane(2).iter().all(|&v| v == 200));
        let mut f = VideoFrame::new(vt(PixelFormat::Nv12, 20, 10));
        for p in f.plane_mut(1).chunks_exact_mut(2) {
            p.copy_from_slice(&[60, 180]);
        }
        let out = scale(&f, 48, 30, "stretch");
        assert!(out.plane(1).chunks_exact(2).all(|p| p == [60, 180]));
    }

    #[test]
    fn letterbox_puts_bars_around_the_whole_picture() {
        let f = rgba_frame(40, 40, |_, _| [200, 50, 50, 255]);
        let out = scale(&f, 80, 40, "letterbox");
        let px = |x: usize, y: usize| &out.plane(0)[(y * 80 + x) * 4..(y * 80 + x) * 4 + 4];
        assert_eq!(px(5, 20), [0, 0, 0, 255]);
        assert_eq!(px(75, 20), [0, 0, 0, 255]);
        assert_eq!(px(20, 0), [200, 50, 50, 255]);
        assert_eq!(px(59, 39), [200, 50, 50, 255]);
    }

    #[test]
    fn crop_fills_and_cuts_the_sides() {
        // Left quarter red, right quarter blue, middle green: a 2:1 picture
        // cropped to 1:1 keeps only the middle.
        let f = rgba_frame(80, 40, |x, _| match x {
            0..20 => [255, 0, 0, 255],
            60.. => [0, 0, 255, 255],
            _ => [0, 255, 0, 255],
        });
        let out = scale(&f, 20, 20, "crop");
        for p in out.plane(0).chunks_exact(4) {
            assert!(p[1] > 200 && p[0] < 40 && p[2] < 40, "{p:?}");
        }
    }

    #[test]
    fn i420_letterbox_keeps_chroma_aligned() {
        let mut f = VideoFrame::new(vt(PixelFormat::I420, 32, 32));
        f.plane_mut(0).fill(200);
        f.plane_mut(1).fill(60);
        let out = scale(&f, 64, 32, "letterbox");
        // The picture is 32 wide at x = 16..48: chroma 8..24.
        let (y, u) = (out.plane(0), out.plane(1));
        assert_eq!((y[15], y[16], y[47], y[48]), (16, 200, 200, 16));
        assert_eq!((u[7], u[8], u[23], u[24]), (128, 60, 60, 128));
    }
}
