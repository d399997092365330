//! A picture with alpha, prepared once for compositing onto i420 or RGBA
//! frames at any position (clipped at the edges): `overlay` draws its
//! scaled top layer with it and `video_test` its moving subject.

use crate::kernels::color::{rgba_to_i420, YuvSpec};
use crate::kernels::composite::{blend, over_rgba, rgba_alpha};
use sluice_dsl::PixelFormat;
use sluice_runtime::VideoFrame;

/// An RGBA picture plus its i420 form and alpha planes (luma resolution
/// and, averaged over 2x2 blocks, chroma resolution). Buffers are sized at
/// construction; loading and drawing never allocate.
#[derive(Debug, Clone)]
pub struct Sprite {
    w: usize,
    h: usize,
    rgba: Vec<u8>,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    alpha: Vec<u8>,
    calpha: Vec<u8>,
    scratch: Vec<u8>,
    global: u8,
}

impl Sprite {
    /// An empty (transparent) sprite of `w x h` pixels (allocates).
    pub fn new(w: usize, h: usize) -> Sprite {
        let c = w.div_ceil(2) * h.div_ceil(2);
        Sprite {
            w,
            h,
            rgba: vec![0; w * h * 4],
            y: vec![16; w * h],
            u: vec![128; c],
            v: vec![128; c],
            alpha: vec![0; w * h],
            calpha: vec![0; c],
            scratch: vec![0; w * 5],
            global: 255,
        }
    }

    /// Size in pixels.
    pub fn size(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    /// The RGBA pixels, to fill before [`Sprite::prepare`].
    pub fn rgba_mut(&mut self) -> &mut [u8] {
        &mut self.rgba
    }

    /// Derives the i420 planes and alpha planes from the RGBA pixels, with
    /// every alpha scaled by `global` (0..=255). Needed before drawing on
    /// i420; drawing on RGBA uses the RGBA pixels directly.
    pub fn prepare(&mut self, global: u8, spec: YuvSpec) {
        let (w, h) = (self.w, self.h);
        self.global = global;
        rgba_to_i420(
            &self.rgba,
            w,
            h,
            &mut self.y,
            &mut self.u,
            &mut self.v,
            spec,
        );
        rgba_alpha(&self.rgba, global, &mut self.alpha);
        let cw = w.div_ceil(2);
        for (j, row) in self.calpha.chunks_exact_mut(cw).enumerate() {
            let (y0, y1) = (2 * j, (2 * j + 1).min(h - 1));
            for (k, a) in row.iter_mut().enumerate() {
                let (x0, x1) = (2 * k, (2 * k + 1).min(w - 1));
                let s: u32 = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
                    .iter()
                    .map(|&(x, y)| u32::from(self.alpha[y * w + x]))
                    .sum();
                *a = ((s + 2) / 4) as u8;
            }
        }
    }

    /// Sets the opacity used when drawing on RGBA (i420 takes it from
    /// [`Sprite::prepare`]).
    pub fn set_alpha(&mut self, global: u8) {
        self.global = global;
    }

    /// Composites the sprite onto `dst` (i420 or RGBA) with its top-left at
    /// `(x, y)`, which may lie partly or wholly outside; on i420 the
    /// position is rounded down to even so chroma stays aligned.
    pub fn draw(&mut self, dst: &mut VideoFrame, x: i64, y: i64) {
        match dst.format() {
            PixelFormat::I420 => self.draw_i420(dst, x.div_euclid(2) * 2, y.div_euclid(2) * 2),
            PixelFormat::Rgba => self.draw_rgba(dst, x, y),
            PixelFormat::Nv12 => {}
        }
    }

    fn draw_rgba(&mut self, dst: &mut VideoFrame, x: i64, y: i64) {
        let Some(c) = clip(x, y, self.w, self.h, dst.width(), dst.height()) else {
            return;
        };
        let stride = dst.stride(0);
        let plane = dst.plane_mut(0);
        for j in 0..c.rows {
            let s = ((c.sy + j) * self.w + c.sx) * 4;
            let d = (c.dy + j) * stride + c.dx * 4;
            over_rgba(
                &mut plane[d..d + c.cols * 4],
                &self.rgba[s..s + c.cols * 4],
                self.global,
                &mut self.scratch,
            );
        }
    }

    fn draw_i420(&self, dst: &mut VideoFrame, x: i64, y: i64) {
        let (dw, dh) = (dst.width(), dst.height());
        let [py, pu, pv] = dst.planes_mut();
        if let Some(c) = clip(x, y, self.w, self.h, dw, dh) {
            blend_rect(py, dw, &self.y, &self.alpha, self.w, c);
        }
        let (cw, ch) = (self.w.div_ceil(2), self.h.div_ceil(2));
        let (dcw, dch) = (dw.div_ceil(2), dh.div_ceil(2));
        if let Some(c) = clip(x / 2, y / 2, cw, ch, dcw, dch) {
            blend_rect(pu, dcw, &self.u, &self.calpha, cw, c);
            blend_rect(pv, dcw, &self.v, &self.calpha, cw, c);
        }
    }
}

/// The visible part of a `w x h` picture placed at `(x, y)` on a
/// `dw x dh` plane: source and destination origins and the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clip {
    /// First source column.
    pub sx: usize,
    /// First source row.
    pub sy: usize,
    /// First destination column.
    pub dx: usize,
    /// First destination row.
    pub dy: usize,
    /// Columns visible.
    pub cols: usize,
    /// Rows visible.
    pub rows: usize,
}

/// Clips a placement; `None` when nothing is visible.
pub fn clip(x: i64, y: i64, w: usize, h: usize, dw: usize, dh: usize) -> Option<Clip> {
    let axis = |p: i64, len: usize, dlen: usize| {
        let start = p.max(0);
        let end = (p + len as i64).min(dlen as i64);
        (end > start).then(|| ((start - p) as usize, start as usize, (end - start) as usize))
    };
    let (sx, dx, cols) = axis(x, w, dw)?;
    let (sy, dy, rows) = axis(y, h, dh)?;
    Some(Clip {
        sx,
        sy,
        dx,
        dy,
        cols,
        rows,
    })
}

fn blend_rect(dst: &mut [u8], dstride: usize, src: &[u8], alpha: &[u8], sstride: usize, c: Clip) {
    for j in 0..c.rows {
        let s = (c.sy + j) * sstride + c.sx;
        let d = (c.dy + j) * dstride + c.dx;
        blend(
            &mut dst[d..d + c.cols],
            &src[s..s + c.cols],
            &alpha[s..s + c.cols],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::vt;

    fn red_square(n: usize, a: u8) -> Sprite {
        let mut s = Sprite::new(n, n);
        for p in s.rgba_mut().chunks_exact_mut(4) {
            p.copy_from_slice(&[255, 0, 0, a]);
        }
        s.prepare(255, YuvSpec::default());
        s
    }

    #[test]
    fn clipping_handles_every_edge() {
        assert_eq!(
            clip(-3, -2, 10, 10, 20, 20).map(|c| (c.sx, c.sy, c.dx, c.dy, c.cols, c.rows)),
            Some((3, 2, 0, 0, 7, 8))
        );
        assert_eq!(
            clip(15, 18, 10, 10, 20, 20).map(|c| (c.cols, c.rows)),
            Some((5, 2))
        );
        assert_eq!(clip(20, 0, 10, 10, 20, 20), None);
        assert_eq!(clip(-10, 0, 10, 10, 20, 20), None);
    }

    #[test]
    fn opaque_sprite_replaces_pixels_inside_only() {
        let mut s = red_square(4, 255);
        let mut f = VideoFrame::new(vt(PixelFormat::I420, 10, 8));
        s.draw(&mut f, 2, 2);
        let y = f.plane(0);
        assert_eq!(y[2 * 10 + 2], 81);
        assert_eq!(y[5 * 10 + 5], 81);
        assert_eq!(y[6 * 10 + 6], 16);
        assert_eq!(y[10 + 2], 16);
        assert_eq!(f.plane(2)[5 + 1], 240);
        assert_eq!(f.plane(2)[0], 128);
        let mut f = VideoFrame::new(vt(PixelFormat::Rgba, 6, 6));
        s.draw(&mut f, -2, 4);
        assert_eq!(&f.plane(0)[(4 * 6) * 4..(4 * 6) * 4 + 4], &[255, 0, 0, 255]);
        assert_eq!(
            &f.plane(0)[(4 * 6 + 2) * 4..(4 * 6 + 2) * 4 + 4],
            &[0, 0, 0, 255]
        );
    }

    #[test]
    fn half_alpha_mixes_halfway() {
        let mut s = red_square(2, 128);
        let mut f = VideoFrame::new(vt(PixelFormat::Rgba, 2, 2));
        s.draw(&mut f, 0, 0);
        assert_eq!(&f.plane(0)[..4], &[128, 0, 0, 255]);
    }
}
