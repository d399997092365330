//! `adjust(brightness, contrast, saturation)`: live picture controls on
//! RGBA, i420 or nv12. In RGB terms: `c' = (c - mid) * contrast + mid +
//! brightness`, then colour is pushed from (or toward) its luma by
//! `saturation`. On YUV the same thing is luma and chroma lookup tables
//! (chroma scales by contrast x saturation), recomputed only when a value
//! changes, so a frame costs one table lookup per sample.

use super::formats;
use crate::sig::{input, live, output, param, quantity, signature as sig};
use sluice_dsl::{Arg, Args, OutType, PixelFormat, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `adjust` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "adjust",
        "Brightness (-1..1, added as a fraction of full scale), contrast (0..4, \
         around mid grey) and saturation (0 grey .. 4). All three can change \
         while running. Works on rgba, i420 and nv12 directly.",
        Role::Process,
        ports,
    );
    s.params = vec![
        live(param(
            "brightness",
            quantity(UnitKind::Ratio, -1.0, 1.0),
            Arg::Num(0.0),
            "Added light, -1..1",
        )),
        live(param(
            "contrast",
            quantity(UnitKind::Ratio, 0.0, 4.0),
            Arg::Num(1.0),
            "Contrast factor",
        )),
        live(param(
            "saturation",
            quantity(UnitKind::Ratio, 0.0, 4.0),
            Arg::Num(1.0),
            "Colour factor",
        )),
    ];
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

/// The three controls.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Controls {
    brightness: f32,
    contrast: f32,
    saturation: f32,
}

/// Builds an `adjust` node.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let a = ctx.args;
    let mut n = Adjust {
        c: Controls {
            brightness: a.need_num("brightness")? as f32,
            contrast: a.need_num("contrast")? as f32,
            saturation: a.need_num("saturation")? as f32,
        },
        luma: [0; 256],
        chroma: [0; 256],
        rgb: [0; 256],
        sat_q8: 256,
    };
    n.tables();
    Ok(Box::new(n))
}

/// Applies the controls through tables.
struct Adjust {
    c: Controls,
    luma: [u8; 256],
    chroma: [u8; 256],
    rgb: [u8; 256],
    sat_q8: i32,
}

fn q(x: f32) -> u8 {
    (x + 0.5).clamp(0.0, 255.0) as u8
}

impl Adjust {
    /// Recomputes the tables from the controls (no allocation).
    fn tables(&mut self) {
        let Controls {
            brightness: b,
            contrast: k,
            saturation: s,
        } = self.c;
        for i in 0..256 {
            let v = i as f32;
            // Limited-range luma: mid grey is 125.5, full scale 219 codes.
            self.luma[i] = q((v - 125.5) * k + 125.5 + b * 219.0);
            self.chroma[i] = q((v - 128.0) * k * s + 128.0);
            self.rgb[i] = q((v - 127.5) * k + 127.5 + b * 255.0);
        }
        self.sat_q8 = (s * 256.0).round() as i32;
    }

    fn rgba(&self, src: &[u8], dst: &mut [u8]) {
        for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
            let c = [
                self.rgb[s[0] as usize],
                self.rgb[s[1] as usize],
                self.rgb[s[2] as usize],
            ];
            if self.sat_q8 == 256 {
                d[..3].copy_from_slice(&c);
            } else {
                let l = (77 * i32::from(c[0]) + 150 * i32::from(c[1]) + 29 * i32::from(c[2]) + 128)
                    >> 8;
                for k in 0..3 {
                    let v = l + (((i32::from(c[k]) - l) * self.sat_q8 + 128) >> 8);
                    d[k] = v.clamp(0, 255) as u8;
                }
            }
            d[3] = s[3];
        }
    }
}

fn map(table: &[u8; 256], src: &[u8], dst: &mut [u8]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = table[s as usize];
    }
}

impl Node for Adjust {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let Some(src) = io.video_in(0) else {
            return Flow::Continue;
        };
        let dst = io.video_out(0);
        match src.format() {
            PixelFormat::Rgba => self.rgba(src.plane(0), dst.plane_mut(0)),
            _ => {
                map(&self.luma, src.plane(0), dst.plane_mut(0));
                for p in 1..src.plane_count() {
                    map(&self.chroma, src.plane(p), dst.plane_mut(p));
                }
            }
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        let v = value
            .as_num()
            .ok_or_else(|| NodeError::new(format!("`{key}` takes a number")))?
            as f32;
        match key {
            "brightness" => self.c.brightness = v.clamp(-1.0, 1.0),
            "contrast" => self.c.contrast = v.clamp(0.0, 4.0),
            "saturation" => self.c.saturation = v.clamp(0.0, 4.0),
            _ => {
                return Err(NodeError::new(format!(
                    "`{key}` cannot change while running"
                )))
            }
        }
        self.tables();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::color::YuvSpec;
    use crate::test_support::{args_with_defaults, rgba_frame, video, video_types, vt};
    use crate::video::convert::convert_frame;
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::VideoFrame;

    fn picture() -> VideoFrame {
        rgba_frame(8, 4, |x, y| {
            [(40 + x * 20) as u8, (60 + y * 30) as u8, 100, 255]
        })
    }

    fn adjust(src: &VideoFrame, given: &[(&str, Arg)]) -> VideoFrame {
        let a = args_with_defaults(&signature(), given);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[src.ty()]))
            .build()
            .unwrap();
        n.run(&[&video(src)]);
        n.video(0).clone()
    }

    fn to(f: &VideoFrame, format: PixelFormat) -> VideoFrame {
        let mut out = VideoFrame::new(vt(format, f.width() as u32, f.height() as u32));
        convert_frame(f, &mut out, YuvSpec::default());
        out
    }

    #[test]
    fn defaults_change_nothing() {
        let p = picture();
        assert_eq!(adjust(&p, &[]).data(), p.data());
        let y = to(&p, PixelFormat::Nv12);
        assert_eq!(adjust(&y, &[]).data(), y.data());
    }

    #[test]
    fn rgba_and_yuv_agree() {
        // 2x2 blocks of one colour, so 4:2:0 itself loses nothing.
        let p = rgba_frame(8, 4, |x, y| {
            [(40 + x / 2 * 40) as u8, (60 + y / 2 * 60) as u8, 100, 255]
        });
        let given = [
            ("brightness", Arg::Num(0.1)),
            ("contrast", Arg::Num(1.3)),
            ("saturation", Arg::Num(0.5)),
        ];
        let via_rgb = adjust(&p, &given);
        let via_yuv = to(
            &adjust(&to(&p, PixelFormat::I420), &given),
            PixelFormat::Rgba,
        );
        for (a, b) in via_rgb.data().iter().zip(via_yuv.data()) {
            assert!(a.abs_diff(*b) <= 6, "{a} vs {b}");
        }
    }

    #[test]
    fn zero_saturation_is_grey_and_brightness_brightens() {
        let g = adjust(&picture(), &[("saturation", Arg::Num(0.0))]);
        for p in g.plane(0).chunks_exact(4) {
            assert!(
                p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1,
                "{p:?}"
            );
        }
        let p = picture();
        let b = adjust(&p, &[("brightness", Arg::Num(0.2))]);
        assert!(b.plane(0).iter().zip(p.plane(0)).all(|(a, b)| a >= b));
    }

    #[test]
    fn live_changes_apply_on_the_next_frame() {
        let p = picture();
        let a = args_with_defaults(&signature(), &[]);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[p.ty()]))
            .build()
            .unwrap();
        n.set("contrast", &Arg::Num(0.0)).unwrap();
        n.run(&[&video(&p)]);
        assert!(n
            .video(0)
            .plane(0)
            .chunks_exact(4)
            .all(|px| px[..3] == [128, 128, 128]));
        assert!(n.set("nope", &Arg::Num(1.0)).is_err());
    }
}
