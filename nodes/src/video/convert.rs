//! `convert(format, matrix, range)`: pixel format conversion. The graph
//! language inserts one wherever an edge's pixel format is not one the
//! consumer accepts, so most graphs never write it.

use super::{formats, video_input, video_port};
use crate::kernels::color::{self, Matrix, Range, YuvSpec};
use crate::sig::{choice, choice_arg, input, output, param, required, signature as sig};
use sluice_dsl::{Args, MediaType, OutType, PixelFormat, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};

/// The `convert` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "convert",
        "Converts video to another pixel format (rgba, i420, nv12). RGB and YUV \
         are related by `matrix` (bt601, bt709) and `range` (limited: Y 16-235, \
         full: 0-255); untagged YUV is BT.601 limited, as ffmpeg assumes. 4:2:0 \
         chroma is the average of each 2x2 block. Inserted automatically where \
         a consumer needs another format.",
        Role::Process,
        ports,
    );
    s.params = vec![
        required(
            "format",
            choice(&["rgba", "i420", "nv12"]),
            "Pixel format to produce",
        ),
        param(
            "matrix",
            choice(&["bt601", "bt709"]),
            choice_arg("bt601"),
            "YUV matrix",
        ),
        param(
            "range",
            choice(&["limited", "full"]),
            choice_arg("limited"),
            "YUV code range",
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

fn target(args: &Args) -> Result<PixelFormat, String> {
    let name = args.need_str("format")?;
    PixelFormat::from_name(name).ok_or_else(|| format!("unknown pixel format `{name}`"))
}

fn derive(args: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let mut v = video_input(inputs, 0)?;
    v.format = target(args)?;
    Ok(MediaType::Video(v))
}

/// The YUV flavour named by `matrix` and `range` arguments.
pub fn yuv_spec(args: &Args) -> Result<YuvSpec, String> {
    Ok(YuvSpec {
        matrix: match args.need_str("matrix")? {
            "bt709" => Matrix::Bt709,
            _ => Matrix::Bt601,
        },
        range: match args.need_str("range")? {
            "full" => Range::Full,
            _ => Range::Limited,
        },
    })
}

/// Builds a `convert` node.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let from = video_port(ctx.inputs, 0)?;
    let to = video_port(ctx.outputs, 0)?;
    if (from.width, from.height) != (to.width, to.height) {
        return Err(NodeError::new("convert keeps the frame size"));
    }
    Ok(Box::new(Convert {
        spec: yuv_spec(ctx.args)?,
    }))
}

/// Converts each frame with the colour kernels.
struct Convert {
    spec: YuvSpec,
}

/// Converts `src` into `dst` (same size, any two formats).
pub fn convert_frame(src: &VideoFrame, dst: &mut VideoFrame, spec: YuvSpec) {
    use PixelFormat::*;
    let (w, h) = (src.width(), src.height());
    match (src.format(), dst.format()) {
        (a, b) if a == b => dst.data_mut().copy_from_slice(src.data()),
        (Rgba, I420) => {
            let [y, u, v] = dst.planes_mut();
            color::rgba_to_i420(src.plane(0), w, h, y, u, v, spec);
        }
        (Rgba, Nv12) => {
            let [y, uv, _] = dst.planes_mut();
            color::rgba_to_nv12(src.plane(0), w, h, y, uv, spec);
        }
        (I420, Rgba) => {
            let (y, u, v) = (src.plane(0), src.plane(1), src.plane(2));
            color::i420_to_rgba(y, u, v, w, h, dst.plane_mut(0), spec);
        }
        (Nv12, Rgba) => {
            color::nv12_to_rgba(src.plane(0), src.plane(1), w, h, dst.plane_mut(0), spec)
        }
        (I420, Nv12) => {
            let [y, uv, _] = dst.planes_mut();
            y.copy_from_slice(src.plane(0));
            color::interleave_uv(src.plane(1), src.plane(2), uv);
        }
        (Nv12, I420) => {
            let [y, u, v] = dst.planes_mut();
            y.copy_from_slice(src.plane(0));
            color::deinterleave_uv(src.plane(1), u, v);
        }
        _ => unreachable!("every pair of the three formats is handled above"),
    }
}

impl Node for Convert {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        if let Some(src) = io.video_in(0) {
            convert_frame(src, io.video_out(0), self.spec);
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, e, rgba_frame, video, video_types, vt};
    use sluice_runtime::testing::NodeHarness;

    fn convert(src: &VideoFrame, to: &str, extra: &[(&str, sluice_dsl::Arg)]) -> VideoFrame {
        let mut given = vec![("format", e(to))];
        given.extend(extra.iter().cloned());
        let a = args_with_defaults(&signature(), &given);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[src.ty()]))
            .build()
            .unwrap();
        assert_eq!(n.run(&[&video(src)]), Flow::Continue);
        n.video(0).clone()
    }

    #[test]
    fn output_type_keeps_size_and_fps_with_the_new_format() {
        let a = args_with_defaults(&signature(), &[("format", e("nv12"))]);
        let n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[vt(PixelFormat::Rgba, 33, 17)]))
            .build()
            .unwrap();
        assert_eq!(
            n.output_types()[0],
            MediaType::Video(vt(PixelFormat::Nv12, 33, 17))
        );
    }

    #[test]
    fn every_format_round_trips_through_every_other() {
        let src = rgba_frame(34, 18, |x, y| {
            // 2x2 blocks of one colour, so 4:2:0 loses nothing but rounding.
            let (bx, by) = (x / 2, y / 2);
            [(bx * 15) as u8, (by * 27) as u8, ((bx + by) * 9) as u8, 255]
        });
        for mid in ["i420", "nv12"] {
            for (m, r) in [("bt601", "limited"), ("bt709", "full")] {
                let extra = [("matrix", e(m)), ("range", e(r))];
                let yuv = convert(&src, mid, &extra);
                let other = convert(&yuv, if mid == "i420" { "nv12" } else { "i420" }, &extra);
                let back = convert(&other, "rgba", &extra);
                for (a, b) in src.data().iter().zip(back.data()) {
                    assert!(a.abs_diff(*b) <= 3, "{mid} {m} {r}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn matrix_and_range_change_the_codes() {
        let red = rgba_frame(2, 2, |_, _| [255, 0, 0, 255]);
        let y601 = convert(&red, "i420", &[]).plane(0)[0];
        let y709 = convert(&red, "i420", &[("matrix", e("bt709"))]).plane(0)[0];
        let yfull = convert(&red, "i420", &[("range", e("full"))]).plane(0)[0];
        assert_eq!((y601, y709, yfull), (81, 63, 76));
    }
}
