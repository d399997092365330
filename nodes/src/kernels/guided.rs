//! Edge-aware mask refinement: the fast guided filter (He and Sun 2015,
//! after He, Sun and Tang 2010).
//!
//! A segmentation model's mask is coarse (256x144 for a 720p picture) and
//! its edges wander a few pixels from the real outline of hair and
//! shoulders. The guided filter fits, in every small window of a coarse
//! grid, the mask as a linear function of the picture's luma
//! (`mask ≈ a·luma + b`); the coefficients are smooth, so they can be
//! upsampled bilinearly and applied to the full-resolution luma, where the
//! mask then follows the picture's own edges pixel by pixel.
//!
//! Everything is `f32` on the grid (a few tens of thousands of cells) and
//! one multiply-add per pixel at full resolution.

/// Guided-filter coefficients on a `lw` x `lh` grid, with all the scratch
/// they need allocated once.
#[derive(Debug, Clone)]
pub struct GuidedFilter {
    lw: usize,
    lh: usize,
    radius: usize,
    eps: f32,
    i: Vec<f32>,
    p: Vec<f32>,
    mean_i: Vec<f32>,
    mean_p: Vec<f32>,
    corr_ip: Vec<f32>,
    corr_ii: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
    tmp: Vec<f32>,
    acc: Vec<f32>,
}

/// The default regularisation, in (0..1 luma)²: edges weaker than about
/// 3% of full scale are smoothed over rather than followed.
pub const DEFAULT_EPS: f32 = 1e-3;

impl GuidedFilter {
    /// A filter for `lw` x `lh` grids, window radius `radius` cells
    /// (allocates: build only).
    pub fn new(lw: usize, lh: usize, radius: usize) -> GuidedFilter {
        let n = lw * lh;
        GuidedFilter {
            lw,
            lh,
            radius,
            eps: DEFAULT_EPS,
            i: vec![0.0; n],
            p: vec![0.0; n],
            mean_i: vec![0.0; n],
            mean_p: vec![0.0; n],
            corr_ip: vec![0.0; n],
            corr_ii: vec![0.0; n],
            a: vec![0.0; n],
            b: vec![0.0; n],
            tmp: vec![0.0; n],
            acc: vec![0.0; lw],
        }
    }

    /// Changes the window radius (cells); never allocates.
    pub fn set_radius(&mut self, radius: usize) {
        self.radius = radius;
    }

    /// Computes the smoothed coefficients `a`, `b` (mask in 0..1 as
    /// `a·luma + b`, luma in 0..1) from a guide and a mask on the grid.
    pub fn fit(&mut self, guide: &[u8], mask: &[u8]) {
        let (n, r) = (self.lw * self.lh, self.radius);
        for k in 0..n {
            self.i[k] = f32::from(guide[k]) * (1.0 / 255.0);
            self.p[k] = f32::from(mask[k]) * (1.0 / 255.0);
        }
        let (w, h) = (self.lw, self.lh);
        let s = &mut Scratch {
            tmp: &mut self.tmp,
            acc: &mut self.acc,
        };
        box_mean(&self.i, &mut self.mean_i, w, h, r, s);
        box_mean(&self.p, &mut self.mean_p, w, h, r, s);
        for k in 0..n {
            self.a[k] = self.i[k] * self.p[k];
            self.b[k] = self.i[k] * self.i[k];
        }
        box_mean(&self.a, &mut self.corr_ip, w, h, r, s);
        box_mean(&self.b, &mut self.corr_ii, w, h, r, s);
        for k in 0..n {
            let (mi, mp) = (self.mean_i[k], self.mean_p[k]);
            let var = (self.corr_ii[k] - mi * mi).max(0.0);
            let a = (self.corr_ip[k] - mi * mp) / (var + self.eps);
            self.i[k] = a;
            self.p[k] = mp - a * mi;
        }
        box_mean(&self.i, &mut self.a, w, h, r, s);
        box_mean(&self.p, &mut self.b, w, h, r, s);
    }

    /// The smoothed slope `a` per cell (after [`GuidedFilter::fit`]).
    pub fn a(&self) -> &[f32] {
        &self.a
    }

    /// The smoothed offset `b` per cell.
    pub fn b(&self) -> &[f32] {
        &self.b
    }

    /// The refined mask on the grid itself: `a·guide + b`, 0..=255.
    pub fn apply_grid(&self, guide: &[u8], out: &mut [u8]) {
        for ((o, &g), (&a, &b)) in out.iter_mut().zip(guide).zip(self.a.iter().zip(&self.b)) {
            *o = to_byte(a * f32::from(g) + 255.0 * b);
        }
    }
}

struct Scratch<'a> {
    tmp: &'a mut [f32],
    acc: &'a mut [f32],
}

/// Mean over the `(2r+1)²` window clipped to the grid (so edges average
/// what they have), by running sums: horizontal, then vertical.
fn box_mean(src: &[f32], dst: &mut [f32], w: usize, h: usize, r: usize, s: &mut Scratch) {
    for (row, out) in src.chunks_exact(w).zip(s.tmp.chunks_exact_mut(w)) {
        let mut sum: f32 = row[..r.min(w)].iter().sum();
        for x in 0..w {
            if x + r < w {
                sum += row[x + r];
            }
            if x > r {
                sum -= row[x - r - 1];
            }
            let count = (x + r).min(w - 1) + 1 - x.saturating_sub(r);
            out[x] = sum / count as f32;
        }
    }
    s.acc.fill(0.0);
    for row in s.tmp.chunks_exact(w).take(r.min(h)) {
        for (a, &v) in s.acc.iter_mut().zip(row) {
            *a += v;
        }
    }
    for y in 0..h {
        if y + r < h {
            let add = &s.tmp[(y + r) * w..][..w];
            for (a, &v) in s.acc.iter_mut().zip(add) {
                *a += v;
            }
        }
        if y > r {
            let sub = &s.tmp[(y - r - 1) * w..][..w];
            for (a, &v) in s.acc.iter_mut().zip(sub) {
                *a -= v;
            }
        }
        let inv = 1.0 / ((y + r).min(h - 1) + 1 - y.saturating_sub(r)) as f32;
        for (d, &a) in dst[y * w..][..w].iter_mut().zip(s.acc.iter()) {
            *d = a * inv;
        }
    }
}

#[inline(always)]
fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 255.0) + 0.5) as u8
}

/// Applies grid coefficients at full resolution: `a` and `b` are
/// interpolated bilinearly (centres aligned, edges clamped) and each pixel
/// gets `a·luma + b`. The two grid rows an output row needs are widened to
/// the plane's width once and kept while consecutive rows share them.
#[derive(Debug, Clone)]
pub struct GuidedUpsampler {
    lw: usize,
    width: usize,
    xmap: Vec<(u32, f32)>,
    ymap: Vec<(u32, f32)>,
    /// Widened `a` and `255·b` of two grid rows, and which rows they hold.
    wide: [[Vec<f32>; 2]; 2],
    held: [usize; 2],
}

fn coord_map(n: usize, low: usize) -> Vec<(u32, f32)> {
    (0..n)
        .map(|i| {
            let g = ((i as f64 + 0.5) * low as f64 / n as f64 - 0.5).clamp(0.0, (low - 1) as f64);
            (g.floor() as u32, (g - g.floor()) as f32)
        })
        .collect()
}

impl GuidedUpsampler {
    /// Maps a `lw` x `lh` grid onto a `width` x `height` plane (allocates).
    pub fn new(lw: usize, lh: usize, width: usize, height: usize) -> GuidedUpsampler {
        GuidedUpsampler {
            lw,
            width,
            xmap: coord_map(width, lw),
            ymap: coord_map(height, lh),
            wide: std::array::from_fn(|_| std::array::from_fn(|_| vec![0.0; width])),
            held: [usize::MAX; 2],
        }
    }

    /// Writes `a·luma + 255·b` for every pixel of `luma` (stride = width)
    /// into `out`, 0..=255.
    pub fn run(&mut self, a: &[f32], b: &[f32], luma: &[u8], out: &mut [u8]) {
        self.held = [usize::MAX; 2];
        let last = (a.len() / self.lw - 1) as u32;
        let rows = luma
            .chunks_exact(self.width)
            .zip(out.chunks_exact_mut(self.width));
        for ((l, o), k) in rows.zip(0..self.ymap.len()) {
            let (y0, fy) = self.ymap[k];
            let y1 = (y0 + 1).min(last) as usize;
            let s0 = self.widen(a, b, y0 as usize);
            let s1 = self.widen(a, b, y1);
            let ([a0, b0], [a1, b1]) = (&self.wide[s0], &self.wide[s1]);
            blend_row(l, o, [a0, b0, a1, b1], fy);
        }
    }

    /// Makes grid row `y` available widened; returns its slot.
    fn widen(&mut self, a: &[f32], b: &[f32], y: usize) -> usize {
        if let Some(slot) = self.held.iter().position(|&h| h == y) {
            return slot;
        }
        // Replace the slot holding the lower (older) row.
        let slot = if self.held[0] == usize::MAX
            || (self.held[1] != usize::MAX && self.held[0] < self.held[1])
        {
            0
        } else {
            1
        };
        let last = self.lw - 1;
        let (ra, rb) = (&a[y * self.lw..][..self.lw], &b[y * self.lw..][..self.lw]);
        let [wa, wb] = &mut self.wide[slot];
        for ((va, vb), &(x0, fx)) in wa.iter_mut().zip(wb.iter_mut()).zip(&self.xmap) {
            let (x0, x1) = (x0 as usize, (x0 as usize + 1).min(last));
            *va = ra[x0] + fx * (ra[x1] - ra[x0]);
            *vb = 255.0 * (rb[x0] + fx * (rb[x1] - rb[x0]));
        }
        self.held[slot] = y;
        slot
    }
}

/// One output row: `a` and `b` interpolated between two widened grid rows
/// by `fy`, then `a·luma + b` to a byte (vectorised by the compiler: no
/// branches, contiguous slices).
#[inline]
fn blend_row(luma: &[u8], out: &mut [u8], rows: [&[f32]; 4], fy: f32) {
    let [a0, b0, a1, b1] = rows;
    let n = out.len();
    let (a0, b0, a1, b1, luma) = (&a0[..n], &b0[..n], &a1[..n], &b1[..n], &luma[..n]);
    for x in 0..n {
        let a = a0[x] + fy * (a1[x] - a0[x]);
        let b = b0[x] + fy * (b1[x] - b0[x]);
        out[x] = to_byte(a * f32::from(luma[x]) + b);
    }
}

/// Averages 2x2 blocks of a `w` x `h` plane into a `w.div_ceil(2)` x
/// `h.div_ceil(2)` plane (the last row or column repeats on odd sizes):
/// how 4:2:0 chroma samples relate to the luma grid, so a mask made at luma
/// resolution lines up with the chroma it blends.
pub fn half_mean(src: &[u8], w: usize, h: usize, dst: &mut [u8]) {
    let cw = w.div_ceil(2);
    for (j, row) in dst.chunks_exact_mut(cw).take(h.div_ceil(2)).enumerate() {
        let (r0, r1) = (
            &src[2 * j * w..][..w],
            &src[(2 * j + 1).min(h - 1) * w..][..w],
        );
        for (k, d) in row.iter_mut().enumerate() {
            let (x0, x1) = (2 * k, (2 * k + 1).min(w - 1));
            let s = u32::from(r0[x0]) + u32::from(r0[x1]) + u32::from(r1[x0]) + u32::from(r1[x1]);
            *d = ((s + 2) / 4) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_matches_a_direct_window_average() {
        let (w, h, r) = (9, 7, 2);
        let src: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 11) as f32).collect();
        let mut dst = vec![0.0; w * h];
        let (mut tmp, mut acc) = (vec![0.0; w * h], vec![0.0; w]);
        let s = &mut Scratch {
            tmp: &mut tmp,
            acc: &mut acc,
        };
        box_mean(&src, &mut dst, w, h, r, s);
        for y in 0..h {
            for x in 0..w {
                let (mut sum, mut n) = (0.0, 0.0);
                for yy in y.saturating_sub(r)..=(y + r).min(h - 1) {
                    for xx in x.saturating_sub(r)..=(x + r).min(w - 1) {
                        sum += src[yy * w + xx];
                        n += 1.0;
                    }
                }
                assert!((dst[y * w + x] - sum / n).abs() < 1e-4, "{x},{y}");
            }
        }
    }

    #[test]
    fn a_mask_that_is_a_function_of_the_guide_comes_back_unchanged() {
        // Where the mask is exactly the guide (a = 1, b = 0), the filter
        // reproduces it, at grid and at full resolution.
        let (lw, lh) = (16, 12);
        let guide: Vec<u8> = (0..lw * lh).map(|i| ((i * 53) % 256) as u8).collect();
        let mut gf = GuidedFilter::new(lw, lh, 2);
        gf.eps = 1e-6;
        gf.fit(&guide, &guide);
        let mut out = vec![0u8; lw * lh];
        gf.apply_grid(&guide, &mut out);
        for (o, g) in out.iter().zip(&guide) {
            assert!(o.abs_diff(*g) <= 2, "{o} vs {g}");
        }
    }

    #[test]
    fn refined_edge_follows_the_full_resolution_picture() {
        // The picture: dark left, bright right, edge at x = 37 (not on a
        // grid line). The coarse mask says "subject" on the bright side
        // but blurs the edge over many pixels; the refined mask is sharp
        // at the picture's own edge.
        let (w, h, grid) = (80, 16, 4);
        let (lw, lh) = (w / grid, h / grid);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| if i % w >= 37 { 200 } else { 40 })
            .collect();
        let mut guide = vec![0u8; lw * lh];
        crate::kernels::mask::luma_grid(&luma, w, h, 1, &mut guide, lw, lh);
        // The model's soft edge: a ramp over cells 7..11 (28 pixels).
        let coarse: Vec<u8> = (0..lw * lh)
            .map(|i| (((i % lw) as f32 - 7.0) / 4.0).clamp(0.0, 1.0) * 255.0)
            .map(|v| v as u8)
            .collect();
        let mut gf = GuidedFilter::new(lw, lh, 3);
        gf.fit(&guide, &coarse);
        let mut up = GuidedUpsampler::new(lw, lh, w, h);
        let mut out = vec![0u8; w * h];
        up.run(gf.a(), gf.b(), &luma, &mut out);
        let row = &out[8 * w..9 * w];
        assert!(row[36] + 100 < row[37], "sharp at the edge: {row:?}");
        assert!(row[30] < 100 && row[45] > 150, "{row:?}");
    }

    #[test]
    fn half_mean_averages_blocks_and_repeats_odd_edges() {
        let src = [0, 4, 8, 8, 4, 0, 100, 100, 100];
        let mut dst = [0u8; 4];
        half_mean(&src, 3, 3, &mut dst);
        assert_eq!(dst, [4, 4, 100, 100]);
    }
}
