//! Mask helpers for background blur: low-resolution masks (a portrait
//! prior, luma grids for motion and mask videos), bilinear upsampling to a
//! plane, and the premultiply / normalise-and-blend steps of a
//! mask-weighted (normalised) convolution.
//!
//! Masks are 8-bit, 255 = subject. The background layer is
//! `blur(v * w) / blur(w)` with `w` the background weight, so subject
//! pixels (w = 0) cannot bleed into the blurred background; the output is
//! `a * original + (1 - a) * background` with `a` the feathered mask.

/// The soft head-and-shoulders prior on a `lw` x `lh` grid: an ellipse for
/// the head, centred a little above the middle, on a trapezoid of
/// shoulders reaching the bottom edge, with edges ramping over about 4% of
/// the height.
pub fn portrait_prior(lw: usize, lh: usize) -> Vec<u8> {
    let (w, h) = (lw as f32, lh as f32);
    let soft = (0.04 * h).max(1.0);
    let mut out = vec![0u8; lw * lh];
    for y in 0..lh {
        for x in 0..lw {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            // Head: ellipse centre (0.5 w, 0.4 h), radii 0.13 h wide-ish.
            let (rx, ry) = (0.15 * h, 0.2 * h);
            let (dx, dy) = ((px - 0.5 * w) / rx, (py - 0.4 * h) / ry);
            let head = (1.0 - (dx * dx + dy * dy).sqrt()) * rx.min(ry) / soft;
            // Shoulders: from 0.62 h (half width 0.16 h) widening to the
            // bottom (half width 0.45 h + 0.1 w), with a rounded top.
            let t = ((py - 0.62 * h) / (h - 0.62 * h)).clamp(0.0, 1.0);
            let half = 0.16 * h + t * (0.29 * h + 0.1 * w);
            let sides = (half - (px - 0.5 * w).abs()) / soft;
            let top = (py - 0.62 * h) / soft;
            let body = sides.min(top);
            let m = head.max(body).clamp(0.0, 1.0);
            out[y * lw + x] = (m * 255.0).round() as u8;
        }
    }
    out
}

/// Averages `src` (channels 1: the value; 4: rgba luma, BT.601 weights)
/// over blocks into a `lw` x `lh` grid, each grid cell covering the pixels
/// whose centres fall in it.
pub fn luma_grid(
    src: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    grid: &mut [u8],
    lw: usize,
    lh: usize,
) {
    for gy in 0..lh {
        let (y0, y1) = (
            gy * height / lh,
            ((gy + 1) * height / lh).max(gy * height / lh + 1),
        );
        for gx in 0..lw {
            let (x0, x1) = (
                gx * width / lw,
                ((gx + 1) * width / lw).max(gx * width / lw + 1),
            );
            let mut sum = 0u32;
            for y in y0..y1.min(height) {
                let row = &src[y * width * channels..];
                for x in x0..x1.min(width) {
                    sum += luma(&row[x * channels..], channels);
                }
            }
            let n = ((y1.min(height) - y0) * (x1.min(width) - x0)).max(1) as u32;
            grid[gy * lw + gx] = ((sum + n / 2) / n) as u8;
        }
    }
}

#[inline]
fn luma(px: &[u8], channels: usize) -> u32 {
    if channels >= 3 {
        (77 * u32::from(px[0]) + 150 * u32::from(px[1]) + 29 * u32::from(px[2]) + 128) >> 8
    } else {
        u32::from(px[0])
    }
}

/// Bilinear upsampling of low-resolution masks to one plane's size, with
/// the coordinate maps and a row buffer made once (allocates at build only).
#[derive(Debug, Clone)]
pub struct Upsampler {
    lw: usize,
    lh: usize,
    width: usize,
    xmap: Vec<(u32, u32)>,
    ymap: Vec<(u32, u32)>,
    rows: [Vec<u32>; 2],
}

impl Upsampler {
    /// Maps a `lw` x `lh` grid onto a `width` x `height` plane (centres
    /// aligned, edges clamped).
    pub fn new(lw: usize, lh: usize, width: usize, height: usize) -> Upsampler {
        let map = |n: usize, low: usize| -> Vec<(u32, u32)> {
            (0..n)
                .map(|i| {
                    let g = ((i as f64 + 0.5) * low as f64 / n as f64 - 0.5)
                        .clamp(0.0, (low - 1) as f64);
                    let i0 = g.floor() as u32;
                    let frac = ((g - g.floor()) * 256.0).round() as u32;
                    (i0, frac)
                })
                .collect()
        };
        Upsampler {
            lw,
            lh,
            width,
            xmap: map(width, lw),
            ymap: map(height, lh),
            rows: [vec![0; lw], vec![0; lw]],
        }
    }

    /// Upsamples `N` (at most two) masks of the grid at once (`low[k]`
    /// into `out[k]`, one byte per plane pixel): each output row blends two
    /// grid rows first, then interpolates along the row, in exact integers.
    pub fn run<const N: usize>(&mut self, low: [&[u8]; N], mut out: [&mut [u8]; N]) {
        let (lw, last_x, last_y, width) = (self.lw, self.lw - 1, self.lh as u32 - 1, self.width);
        for (y, &(y0, fy)) in self.ymap.iter().enumerate() {
            let y1 = (y0 + 1).min(last_y) as usize;
            let y0 = y0 as usize;
            for (row, grid) in self.rows.iter_mut().zip(low) {
                let (r0, r1) = (&grid[y0 * lw..][..lw], &grid[y1 * lw..][..lw]);
                for ((t, &a), &b) in row.iter_mut().zip(r0).zip(r1) {
                    *t = u32::from(a) * (256 - fy) + u32::from(b) * fy;
                }
            }
            for (o, row) in out.iter_mut().zip(&self.rows) {
                let o = &mut o[y * width..][..width];
                if width == 4 * lw {
                    widen_row::<4>(row, o, [(true, 160), (true, 224), (false, 32), (false, 96)]);
                } else if width == 2 * lw {
                    widen_row::<2>(row, o, [(true, 192), (false, 64)]);
                } else {
                    for (v, &(x0, fx)) in o.iter_mut().zip(&self.xmap) {
                        let x0 = x0 as usize;
                        let x1 = (x0 + 1).min(last_x);
                        *v = lerp(row[x0], row[x1], fx);
                    }
                }
            }
        }
    }
}

/// Interpolates between two vertically blended grid values (16.16 fixed
/// point) with `fx` / 256, to a byte.
#[inline(always)]
fn lerp(a: u32, b: u32, fx: u32) -> u8 {
    ((a * (256 - fx) + b * fx + (1 << 15)) >> 16) as u8
}

/// Horizontal interpolation when the plane is exactly `K` times the grid:
/// every cell gives `K` pixels with fixed fractions (`(left, fx)`: from the
/// previous cell or towards the next), the same values as the general map.
#[inline]
fn widen_row<const K: usize>(row: &[u32], out: &mut [u8], phases: [(bool, u32); K]) {
    let last = row.len() - 1;
    for (c, px) in out.chunks_exact_mut(K).enumerate() {
        let (prev, cur, next) = (row[c.saturating_sub(1)], row[c], row[(c + 1).min(last)]);
        for (v, &(left, fx)) in px.iter_mut().zip(&phases) {
            *v = if left {
                lerp(prev, cur, fx)
            } else {
                lerp(cur, next, fx)
            };
        }
    }
}

/// Turns a subject mask into background weights in place: 255 where the
/// mask is 0, down to 0 where it reaches one third, so that pixels only
/// partly in the subject do not carry it into the background.
pub fn to_background_weight(mask: &mut [u8]) {
    for m in mask {
        *m = (255 - 3 * i32::from(*m)).max(0) as u8;
    }
}

/// `dst[i * DST] = src[i * SRC] * weight[i] / 255`, rounded:
/// one channel of the premultiplied layer.
pub fn premultiply<const SRC: usize, const DST: usize>(src: &[u8], weight: &[u8], dst: &mut [u8]) {
    for (i, &w) in weight.iter().enumerate() {
        let v = u32::from(src[i * SRC]) * u32::from(w);
        dst[i * DST] = ((v + 127) / 255) as u8;
    }
}

/// Copies the weights into one channel of the premultiplied layer.
pub fn put_weight(weight: &[u8], dst: &mut [u8], dst_step: usize) {
    for (i, &w) in weight.iter().enumerate() {
        dst[i * dst_step] = w;
    }
}

/// Below this blurred background weight the normalised value
/// `blur(v·w) / blur(w)` is mostly rounding error (the 8-bit numerator
/// divided by a tiny weight: at weight 2 one code of error is 128 codes of
/// output), so it is faded towards the original pixel instead.
pub const RELIABLE_WEIGHT: u32 = 64;

/// One channel of the output: the blurred background is the blurred
/// premultiplied value over the blurred weight (`layer[i * STEP]` and
/// `layer[i * STEP + weight_at]`); where that weight is below
/// [`RELIABLE_WEIGHT`] it fades to the original pixel (no background
/// reached it, or too little to divide by: these pixels lie just inside
/// the subject's edge, where the division by a small weight used to leave
/// green and pink lines in the chroma). Then blends
/// `alpha * original + (1 - alpha) * background`, exact where alpha is 255.
pub fn normalise_and_blend<const ORIG: usize, const STEP: usize>(
    orig: &[u8],
    layer: &[u8],
    weight_at: usize,
    alpha: &[u8],
    out: &mut [u8],
) {
    for (i, &a) in alpha.iter().enumerate() {
        if a == 255 {
            // Inside the subject (large regions, so the branch predicts well).
            out[i * ORIG] = orig[i * ORIG];
            continue;
        }
        let o = u32::from(orig[i * ORIG]);
        let w = u32::from(layer[i * STEP + weight_at]);
        let v = u32::from(layer[i * STEP]);
        let bg = if w >= RELIABLE_WEIGHT {
            ((v * RECIP[w as usize] + (1 << 15)) >> 16).min(255)
        } else {
            // (w/64)·(v·255/w) + (1 − w/64)·o, with no division by w.
            ((v * 255 + o * (RELIABLE_WEIGHT - w) + RELIABLE_WEIGHT / 2) / RELIABLE_WEIGHT).min(255)
        };
        let a = u32::from(a);
        out[i * ORIG] = ((a * o + (255 - a) * bg + 127) / 255) as u8;
    }
}

/// `255 / w` in 16.16 fixed point, so normalising needs no division.
const RECIP: [u32; 256] = recip_table();

const fn recip_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut w = 1;
    while w < 256 {
        t[w] = (255 * 65536 + w as u32 / 2) / w as u32;
        w += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portrait_prior_has_subject_in_the_middle_and_background_at_the_sides() {
        let (lw, lh) = (160, 90);
        let m = portrait_prior(lw, lh);
        assert_eq!(m[(lh * 4 / 10) * lw + lw / 2], 255, "head centre");
        assert_eq!(m[(lh - 1) * lw + lw / 2], 255, "chest");
        assert_eq!(m[lh / 2 * lw + 2], 0, "left side");
        assert_eq!(m[2 * lw + lw - 3], 0, "top right");
        assert!(m.iter().any(|&v| v > 0 && v < 255), "soft edges");
    }

    #[test]
    fn luma_grid_averages_blocks() {
        let (w, h) = (8, 4);
        let src: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 4 { 10 } else { 200 })
            .collect();
        let mut grid = vec![0u8; 2];
        luma_grid(&src, w, h, 1, &mut grid, 2, 1);
        assert_eq!(grid, vec![10, 200]);
        let rgba: Vec<u8> = (0..w * h).flat_map(|_| [255, 255, 255, 255]).collect();
        luma_grid(&rgba, w, h, 4, &mut grid, 2, 1);
        assert_eq!(grid, vec![255, 255]);
    }

    #[test]
    fn upsampling_keeps_constants_and_interpolates_between_cells() {
        let mut up = Upsampler::new(2, 2, 8, 8);
        let (mut out, mut other) = (vec![0u8; 64], vec![0u8; 64]);
        up.run([&[77; 4], &[0, 255, 0, 255]], [&mut out, &mut other]);
        assert!(out.iter().all(|&v| v == 77));
        let row = &other[..8];
        assert_eq!(row[0], 0);
        assert_eq!(row[7], 255);
        assert!(row.windows(2).all(|p| p[0] <= p[1]), "{row:?}");
    }

    #[test]
    fn upsampling_fast_paths_match_the_general_map() {
        let grid: Vec<u8> = (0..7 * 5).map(|i| (i * 37 % 256) as u8).collect();
        for k in [2, 3, 4] {
            let (w, h) = (7 * k, 5 * k);
            let mut fast = Upsampler::new(7, 5, w, h);
            let (mut a, mut b) = (vec![0u8; w * h], vec![0u8; w * h]);
            fast.run([&grid, &grid], [&mut a, &mut b]);
            // The general map, pixel by pixel.
            let xmap = fast.xmap.clone();
            for (y, &(y0, fy)) in fast.ymap.iter().enumerate() {
                let y1 = (y0 + 1).min(4) as usize;
                for (x, &(x0, fx)) in xmap.iter().enumerate() {
                    let x1 = (x0 as usize + 1).min(6);
                    let t = |xx: usize| {
                        u32::from(grid[y0 as usize * 7 + xx]) * (256 - fy)
                            + u32::from(grid[y1 * 7 + xx]) * fy
                    };
                    assert_eq!(
                        a[y * w + x],
                        lerp(t(x0 as usize), t(x1), fx),
                        "k {k} at {x},{y}"
                    );
                }
            }
        }
    }

    #[test]
    fn blend_is_exact_in_the_subject_and_normalises_the_background() {
        let orig = [200u8, 100, 50];
        // Layer: value * weight / 255 then weight; pixel 1 blurred to a
        // background of 40 at weight 128, pixel 2 has no weight at all.
        let layer = [0u8, 0, 20, 128, 0, 0];
        let alpha = [255u8, 0, 0];
        let mut out = [0u8; 3];
        normalise_and_blend::<1, 2>(&orig, &layer, 1, &alpha, &mut out);
        assert_eq!(out, [200, 40, 50]);
    }
}
