//! A frame shrunk to the model's input: each model pixel is the mean of
//! the block of picture pixels it covers (a box filter: no aliasing), then
//! converted to RGB (BT.601 limited, what untagged YUV is).

use crate::kernels::color::{i420_to_rgba, YuvSpec};
use sluice_dsl::PixelFormat;
use sluice_runtime::VideoFrame;

/// A `w` x `h` plane whose samples are `step` bytes apart.
#[derive(Clone, Copy)]
struct Plane<'a> {
    data: &'a [u8],
    w: usize,
    h: usize,
    step: usize,
}

/// Means of `src` over blocks into `dst`, `dw` x `dh` cells `dstep` bytes
/// apart.
fn block_mean(src: Plane, dst: &mut [u8], dw: usize, dh: usize, dstep: usize) {
    let Plane { data, w, h, step } = src;
    for gy in 0..dh {
        let y0 = gy * h / dh;
        let y1 = ((gy + 1) * h / dh).max(y0 + 1).min(h);
        for gx in 0..dw {
            let x0 = gx * w / dw;
            let x1 = ((gx + 1) * w / dw).max(x0 + 1).min(w);
            let mut sum = 0u32;
            for row in data[y0 * w * step..].chunks(w * step).take(y1 - y0) {
                sum += (x0..x1).map(|x| u32::from(row[x * step])).sum::<u32>();
            }
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            dst[(gy * dw + gx) * dstep] = ((sum + n / 2) / n) as u8;
        }
    }
}

/// Shrinks frames to the model's size; owns the small YUV planes.
#[derive(Debug, Clone)]
pub struct ModelInput {
    mw: usize,
    mh: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl ModelInput {
    /// For a model of `mw` x `mh` (even) pixels (allocates: build only).
    pub fn new(mw: usize, mh: usize) -> ModelInput {
        let c = (mw / 2) * (mh / 2);
        ModelInput {
            mw,
            mh,
            y: vec![0; mw * mh],
            u: vec![0; c],
            v: vec![0; c],
        }
    }

    /// Writes `frame` shrunk to the model's size as RGBA into `rgba`.
    pub fn fill(&mut self, frame: &VideoFrame, rgba: &mut [u8]) {
        let (w, h, mw, mh) = (frame.width(), frame.height(), self.mw, self.mh);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let plane = |data, w, h, step| Plane { data, w, h, step };
        match frame.format() {
            PixelFormat::Rgba => {
                for c in 0..3 {
                    let src = plane(&frame.plane(0)[c..], w, h, 4);
                    block_mean(src, &mut rgba[c..], mw, mh, 4);
                }
                return;
            }
            PixelFormat::I420 => {
                block_mean(
                    plane(frame.plane(1), cw, ch, 1),
                    &mut self.u,
                    mw / 2,
                    mh / 2,
                    1,
                );
                block_mean(
                    plane(frame.plane(2), cw, ch, 1),
                    &mut self.v,
                    mw / 2,
                    mh / 2,
                    1,
                );
            }
            PixelFormat::Nv12 => {
                let uv = frame.plane(1);
                block_mean(plane(uv, cw, ch, 2), &mut self.u, mw / 2, mh / 2, 1);
                block_mean(plane(&uv[1..], cw, ch, 2), &mut self.v, mw / 2, mh / 2, 1);
            }
        }
        block_mean(plane(frame.plane(0), w, h, 1), &mut self.y, mw, mh, 1);
        i420_to_rgba(&self.y, &self.u, &self.v, mw, mh, rgba, YuvSpec::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::vt;

    #[test]
    fn shrinking_keeps_colours_in_every_format() {
        // A frame half red (left), half blue, in each format: the model
        // input is red on the left and blue on the right.
        for format in [PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12] {
            let (w, h) = (64, 36);
            let mut rgba = vec![0u8; w * h * 4];
            for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
                let red = i % w < w / 2;
                p.copy_from_slice(if red {
                    &[220, 20, 20, 255]
                } else {
                    &[20, 20, 220, 255]
                });
            }
            let frame = crate::segment::frame_from_rgba(vt(format, w as u32, h as u32), &rgba);
            let mut input = ModelInput::new(16, 8);
            let mut out = vec![0u8; 16 * 8 * 4];
            input.fill(&frame, &mut out);
            let left = &out[(4 * 16 + 2) * 4..][..3];
            let right = &out[(4 * 16 + 13) * 4..][..3];
            assert!(left[0] > 180 && left[2] < 60, "{format:?} left {left:?}");
            assert!(
                right[2] > 180 && right[0] < 60,
                "{format:?} right {right:?}"
            );
        }
    }
}
