//! `filter(kind)`: grayscale, sepia or invert, on RGBA, i420 or nv12
//! without a format conversion. YUV is treated as BT.601 limited (the
//! untagged default): grayscale neutralises chroma, invert maps Y to
//! 251 - Y and chroma to 256 - C (exactly RGB inversion in limited range),
//! and sepia maps each 2x2 block's luma through the sepia matrix.

use super::formats;
use crate::kernels::color::{ToYuvFloat, YuvSpec};
use crate::sig::{choice, input, output, required, signature as sig};
use sluice_dsl::{Args, OutType, PixelFormat, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};

/// The `filter` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "filter",
        "A colour filter: `grayscale`, `sepia` or `invert`. Works on rgba, i420 \
         and nv12 directly (alpha is kept).",
        Role::Process,
        ports,
    );
    s.params = vec![required(
        "kind",
        choice(&["grayscale", "sepia", "invert"]),
        "Which filter",
    )];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input(
            "in",
            formats(&[PixelFormat::I420, PixelFormat::Rgba, PixelFormat::Nv12]),
        )],
        outputs: vec![output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Grayscale,
    Sepia,
    Invert,
}

/// The classic sepia matrix (rows give R, G, B from R, G, B).
const SEPIA: [[f64; 3]; 3] = [
    [0.393, 0.769, 0.189],
    [0.349, 0.686, 0.168],
    [0.272, 0.534, 0.131],
];

/// Luma-indexed tables for YUV: new Y, and chroma for a block of that
/// mean luma.
struct YuvTables {
    y: [u8; 256],
    u: [u8; 256],
    v: [u8; 256],
}

fn sepia_tables() -> YuvTables {
    let conv = ToYuvFloat::new(YuvSpec::default());
    let mut t = YuvTables {
        y: [0; 256],
        u: [0; 256],
        v: [0; 256],
    };
    for i in 0..256 {
        let g = ((i as f64 - 16.0) * 255.0 / 219.0).clamp(0.0, 255.0);
        let rgb = SEPIA.map(|row| ((row[0] + row[1] + row[2]) * g).min(255.0));
        let (y, u, v) = conv.convert(rgb[0], rgb[1], rgb[2]);
        t.y[i] = y;
        t.u[i] = u;
        t.v[i] = v;
    }
    t
}

/// Builds a `filter` node.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let kind = match ctx.args.need_str("kind")? {
        "grayscale" => Kind::Grayscale,
        "sepia" => Kind::Sepia,
        "invert" => Kind::Invert,
        other => return Err(NodeError::new(format!("unknown filter kind {other:?}"))),
    };
    Ok(Box::new(Filter {
        kind,
        sepia: sepia_tables(),
    }))
}

/// Applies one filter.
struct Filter {
    kind: Kind,
    sepia: YuvTables,
}

fn rgba(kind: Kind, src: &[u8], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        let (r, g, b) = (u32::from(s[0]), u32::from(s[1]), u32::from(s[2]));
        match kind {
            Kind::Grayscale => {
                let l = ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8;
                d[..3].fill(l);
            }
            Kind::Sepia => {
                for (k, row) in SEPIA.iter().enumerate() {
                    let v = row[0] * f64::from(r) + row[1] * f64::from(g) + row[2] * f64::from(b);
                    d[k] = (v + 0.5).min(255.0) as u8;
                }
            }
            Kind::Invert => {
                for k in 0..3 {
                    d[k] = 255 - s[k];
                }
            }
        }
        d[3] = s[3];
    }
}

/// Sepia chroma for 4:2:0: each chroma sample from its 2x2 block's mean luma.
fn sepia_chroma(t: &YuvTables, src: &VideoFrame, dst: &mut VideoFrame) {
    let (w, h) = (src.width(), src.height());
    let y = src.plane(0);
    let cw = w.div_ceil(2);
    let nv12 = src.format() == PixelFormat::Nv12;
    let [_, p1, p2] = dst.planes_mut();
    for j in 0..h.div_ceil(2) {
        let (r0, r1) = (2 * j * w, (2 * j + 1).min(h - 1) * w);
        for k in 0..cw {
            let (x0, x1) = (2 * k, (2 * k + 1).min(w - 1));
            let s = u32::from(y[r0 + x0])
                + u32::from(y[r0 + x1])
                + u32::from(y[r1 + x0])
                + u32::from(y[r1 + x1]);
            let m = ((s + 2) / 4) as usize;
            if nv12 {
                p1[j * 2 * cw + 2 * k] = t.u[m];
                p1[j * 2 * cw + 2 * k + 1] = t.v[m];
            } else {
                p1[j * cw + k] = t.u[m];
                p2[j * cw + k] = t.v[m];
            }
        }
    }
}

impl Filter {
    fn yuv(&self, src: &VideoFrame, dst: &mut VideoFrame) {
        match self.kind {
            Kind::Grayscale => {
                dst.plane_mut(0).copy_from_slice(src.plane(0));
                let [_, a, b] = dst.planes_mut();
                a.fill(128);
                b.fill(128);
            }
            Kind::Invert => {
                for (d, &s) in dst.plane_mut(0).iter_mut().zip(src.plane(0)) {
                    *d = (251 - i32::from(s)).clamp(0, 255) as u8;
                }
                for p in 1..src.plane_count() {
                    for (d, &s) in dst.plane_mut(p).iter_mut().zip(src.plane(p)) {
                        *d = (256 - i32::from(s)).min(255) as u8;
                    }
                }
            }
            Kind::Sepia => {
                sepia_chroma(&self.sepia, src, dst);
                for (d, &s) in dst.plane_mut(0).iter_mut().zip(src.plane(0)) {
                    *d = self.sepia.y[s as usize];
                }
            }
        }
    }
}

impl Node for Filter {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let Some(src) = io.video_in(0) else {
            return Flow::Continue;
        };
        let dst = io.video_out(0);
        match src.format() {
            PixelFormat::Rgba => rgba(self.kind, src.plane(0), dst.plane_mut(0)),
            PixelFormat::I420 | PixelFormat::Nv12 => self.yuv(src, dst),
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, e, rgba_frame, video, video_types, vt};
    use crate::video::convert::convert_frame;
    use sluice_runtime::testing::NodeHarness;

    fn run(kind: &str, src: &VideoFrame) -> VideoFrame {
        let a = args_with_defaults(&signature(), &[("kind", e(kind))]);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[src.ty()]))
            .build()
            .unwrap();
        n.run(&[&video(src)]);
        n.video(0).clone()
    }

    fn picture() -> VideoFrame {
        rgba_frame(16, 8, |x, y| {
            [
                (x * 16) as u8,
                (y * 30) as u8,
                ((x + y) * 9) as u8,
                255 - x as u8,
            ]
        })
    }

    fn to(f: &VideoFrame, format: PixelFormat) -> VideoFrame {
        let mut out = VideoFrame::new(vt(format, f.width() as u32, f.height() as u32));
        convert_frame(f, &mut out, YuvSpec::default());
        out
    }

    #[test]
    fn grayscale_removes_colour_in_every_format() {
        let g = run("grayscale", &picture());
        for p in g.plane(0).chunks_exact(4) {
            assert!(p[0] == p[1] && p[1] == p[2]);
        }
        for f in [PixelFormat::I420, PixelFormat::Nv12] {
            let g = run("grayscale", &to(&picture(), f));
            assert!(g.plane(1).iter().all(|&c| c == 128));
            assert_eq!(g.plane(0), to(&picture(), f).plane(0));
        }
    }

    #[test]
    fn invert_twice_is_identity_and_matches_rgb_inversion() {
        let p = picture();
        let twice = run("invert", &run("invert", &p));
        assert_eq!(twice.data(), p.data());
        // Inverting in YUV equals converting the RGB-inverted picture.
        let yuv = run("invert", &to(&p, PixelFormat::I420));
        let via_rgb = to(&run("invert", &p), PixelFormat::I420);
        for (a, b) in yuv.data().iter().zip(via_rgb.data()) {
            assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
        }
    }

    #[test]
    fn sepia_of_grey_agrees_between_rgba_and_yuv() {
        let grey = rgba_frame(8, 4, |x, _| {
            [(x * 30) as u8, (x * 30) as u8, (x * 30) as u8, 255]
        });
        let via_yuv = to(
            &run("sepia", &to(&grey, PixelFormat::I420)),
            PixelFormat::Rgba,
        );
        let via_rgb = run("sepia", &grey);
        for (a, b) in via_yuv.data().iter().zip(via_rgb.data()) {
            assert!(a.abs_diff(*b) <= 6, "{a} vs {b}");
        }
        // Warm: red above green above blue for a mid grey.
        let p = &via_rgb.plane(0)[4 * 4..4 * 4 + 3];
        assert!(p[0] > p[1] && p[1] > p[2], "{p:?}");
    }
}
