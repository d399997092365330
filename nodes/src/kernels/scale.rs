//! Resampling of 8-bit planes (one to four interleaved channels).
//!
//! A separable triangle (bilinear) filter whose support widens with the
//! downscale factor, as Pillow does: upscaling is plain bilinear, while
//! downscaling averages every source pixel under the output pixel instead
//! of skipping rows (no aliasing on a 4x gallery thumbnail). Tap tables are
//! computed once at build; per frame, a vertical pass (SIMD across the row)
//! blends source rows into a float row, then a horizontal pass gathers it.

use wide::f32x8;

/// Resampling weights along one axis: output coordinate `i` reads source
/// indices `start[i] .. start[i] + n` with weights `weights[i*n ..][..n]`
/// (zero-padded), every index inside the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Taps {
    n: usize,
    start: Vec<u32>,
    weights: Vec<f32>,
}

impl Taps {
    /// Taps mapping `dst_len` outputs onto the source window
    /// `src_start .. src_start + src_span` (in source pixels, fractional for
    /// crops) of a source `src_len` long. Allocates: build time only.
    pub fn new(src_len: usize, src_start: f64, src_span: f64, dst_len: usize) -> Taps {
        assert!(src_len > 0 && dst_len > 0, "empty axis");
        let scale = src_span / dst_len as f64;
        let support = scale.max(1.0);
        let n = (2.0 * support).ceil() as usize + 2;
        let mut start = Vec::with_capacity(dst_len);
        let mut weights = vec![0f32; n * dst_len];
        let last = src_len as i64 - 1;
        for i in 0..dst_len {
            let center = src_start + (i as f64 + 0.5) * scale;
            let weight = |j: i64| 1.0 - ((j as f64 + 0.5 - center) / support).abs();
            let lo = (center - support - 0.5).floor() as i64;
            let hi = (center + support + 0.5).ceil() as i64;
            // Contributing indices span at most ceil(2 * support) + 1 < n.
            let j0 = (lo..=hi).find(|&j| weight(j) > 0.0).unwrap_or(lo);
            let first = j0.clamp(0, last);
            let w = &mut weights[i * n..(i + 1) * n];
            let mut sum = 0.0;
            for j in j0..=hi {
                let x = weight(j);
                if x > 0.0 {
                    w[(j.clamp(0, last) - first) as usize] += x as f32;
                    sum += x;
                }
            }
            if sum == 0.0 {
                w[0] = 1.0;
                sum = 1.0;
            }
            for x in w.iter_mut() {
                *x = (f64::from(*x) / sum) as f32;
            }
            start.push(first as u32);
        }
        Taps { n, start, weights }.tightened(src_len)
    }

    /// Trims every window to the widest one actually used and moves
    /// windows at the right edge left, so each reads exactly `n` source
    /// pixels inside the source (zero weights where it overhangs): the
    /// horizontal pass then needs no branches or bounds per tap.
    fn tightened(self, src_len: usize) -> Taps {
        let used = |i: usize| {
            let w = &self.weights[i * self.n..(i + 1) * self.n];
            w.iter().rposition(|&x| x != 0.0).map_or(1, |k| k + 1)
        };
        let n = (0..self.start.len())
            .map(used)
            .max()
            .unwrap_or(1)
            .min(src_len);
        let mut start = Vec::with_capacity(self.start.len());
        let mut weights = vec![0f32; n * self.start.len()];
        for (i, &s) in self.start.iter().enumerate() {
            let s = s as usize;
            let shift = (s + n).saturating_sub(src_len);
            let old = &self.weights[i * self.n..(i + 1) * self.n];
            let new = &mut weights[i * n..(i + 1) * n];
            for (k, &w) in old.iter().enumerate().filter(|(_, w)| **w != 0.0) {
                new[k + shift] = w;
            }
            start.push((s - shift) as u32);
        }
        Taps { n, start, weights }
    }

    /// Output length.
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether there are no outputs.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// Source index range `lo..hi` that the windows read (every window
    /// lies inside the source).
    pub fn source_range(&self) -> (usize, usize) {
        let lo = self.start.iter().min().map_or(0, |&s| s as usize);
        let hi = self.start.iter().max().map_or(0, |&s| s as usize + self.n);
        (lo, hi)
    }

    fn at(&self, i: usize) -> (usize, &[f32]) {
        (
            self.start[i] as usize,
            &self.weights[i * self.n..(i + 1) * self.n],
        )
    }
}

/// Blends source rows `first..first+weights.len()` (each `out.len()` bytes
/// from column byte `col`, rows `stride` apart) into `out` (SIMD).
pub fn vertical(
    src: &[u8],
    stride: usize,
    col: usize,
    first: usize,
    weights: &[f32],
    out: &mut [f32],
) {
    let len = out.len();
    let mut started = false;
    for (t, &w) in weights.iter().enumerate() {
        if w == 0.0 {
            continue;
        }
        let row = &src[(first + t) * stride + col..][..len];
        let wv = f32x8::splat(w);
        let mut chunks = out.chunks_exact_mut(8);
        for (acc, px) in (&mut chunks).zip(row.chunks_exact(8)) {
            let mut a = [0f32; 8];
            for k in 0..8 {
                a[k] = f32::from(px[k]);
            }
            let v = f32x8::from(a) * wv;
            let sum = if started {
                f32x8::from(&acc[..]) + v
            } else {
                v
            };
            acc.copy_from_slice(&sum.to_array());
        }
        let done = len / 8 * 8;
        blend_row(&row[done..], w, started, &mut out[done..]);
        started = true;
    }
}

fn blend_row(row: &[u8], w: f32, started: bool, out: &mut [f32]) {
    for (acc, &px) in out.iter_mut().zip(row) {
        let v = f32::from(px) * w;
        *acc = if started { *acc + v } else { v };
    }
}

/// Scalar reference for [`vertical`].
pub fn vertical_scalar(
    src: &[u8],
    stride: usize,
    col: usize,
    first: usize,
    weights: &[f32],
    out: &mut [f32],
) {
    let mut started = false;
    for (t, &w) in weights.iter().enumerate() {
        if w == 0.0 {
            continue;
        }
        let row = &src[(first + t) * stride + col..][..out.len()];
        blend_row(row, w, started, out);
        started = true;
    }
}

/// Gathers one output row from a blended float row whose first pixel is
/// source pixel `origin`, `channels` interleaved samples per pixel
/// (reference version: any tap count and channel count).
pub fn horizontal(acc: &[f32], origin: usize, channels: usize, taps: &Taps, out: &mut [u8]) {
    for i in 0..taps.len() {
        let (s, w) = taps.at(i);
        let base = (s - origin) * channels;
        for c in 0..channels {
            let mut sum = 0f32;
            for (k, &wk) in w.iter().enumerate() {
                sum += wk * acc[base + k * channels + c];
            }
            out[i * channels + c] = (sum.clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
}

/// The horizontal taps laid out for eight-lane steps: for every output
/// sample (pixel x channel) the index of its first input sample in the
/// blended row, and its weights lane-major (`[block][tap][lane]`), so a
/// step loads indices and weights contiguously and gathers only the
/// samples. Built once per scaler.
#[derive(Debug, Clone)]
struct LanePlan {
    n: usize,
    channels: usize,
    at: Vec<u32>,
    weights: Vec<f32>,
}

impl LanePlan {
    fn new(taps: &Taps, origin: usize, channels: usize) -> LanePlan {
        let total = taps.len() * channels;
        let blocks = total / 8;
        let n = taps.n;
        let at = (0..total)
            .map(|o| {
                ((taps.start[o / channels] as usize - origin) * channels + o % channels) as u32
            })
            .collect();
        let mut weights = vec![0f32; blocks * n * 8];
        for blk in 0..blocks {
            for k in 0..n {
                for l in 0..8 {
                    let o = blk * 8 + l;
                    weights[(blk * n + k) * 8 + l] = taps.weights[o / channels * n + k];
                }
            }
        }
        LanePlan {
            n,
            channels,
            at,
            weights,
        }
    }
}

/// [`horizontal`] with `N` taps: eight output samples per step in `f32x8`
/// lanes (samples gathered per lane; weights, sum, clamp and rounding
/// vectorised). The same sums in the same order as the reference, so the
/// same bytes; the last partial step uses the reference arithmetic.
fn horizontal_lanes<const N: usize>(acc: &[f32], plan: &LanePlan, taps: &Taps, out: &mut [u8]) {
    let ch = plan.channels;
    let total = plan.at.len();
    let (zero, top, half) = (f32x8::splat(0.0), f32x8::splat(255.0), f32x8::splat(0.5));
    for ((dst, at), w) in out[..total]
        .chunks_exact_mut(8)
        .zip(plan.at.chunks_exact(8))
        .zip(plan.weights.chunks_exact(8 * N))
    {
        let mut sum = f32x8::splat(0.0);
        for (k, wk) in w.chunks_exact(8).enumerate() {
            let a = f32x8::from(std::array::from_fn::<f32, 8, _>(|l| {
                acc[at[l] as usize + k * ch]
            }));
            sum += f32x8::from(wk) * a;
        }
        let q = (sum.max(zero).min(top) + half).trunc_int().to_array();
        for (d, v) in dst.iter_mut().zip(q) {
            *d = v as u8;
        }
    }
    for o in total / 8 * 8..total {
        let i = o / ch;
        let mut sum = 0f32;
        for k in 0..N {
            sum += taps.weights[i * N + k] * acc[plan.at[o] as usize + k * ch];
        }
        out[o] = (sum.clamp(0.0, 255.0) + 0.5) as u8;
    }
}

/// [`horizontal`] for RGBA: one pixel per step, its four channels side by
/// side (`N` taps known, so the window is checked once and the loops
/// unroll); measured faster than eight-lane gathers for four channels.
fn horizontal_rgba<const N: usize>(acc: &[f32], origin: usize, taps: &Taps, out: &mut [u8]) {
    for ((o, &s), w) in out
        .chunks_exact_mut(4)
        .zip(&taps.start)
        .zip(taps.weights.chunks_exact(N))
    {
        let b = (s as usize - origin) * 4;
        let win = &acc[b..b + N * 4];
        let mut sum = [0f32; 4];
        for (k, &wk) in w.iter().enumerate() {
            for c in 0..4 {
                sum[c] += wk * win[k * 4 + c];
            }
        }
        for c in 0..4 {
            o[c] = (sum[c].clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
}

/// The fastest horizontal pass for this tap and channel count; the same
/// bytes as [`horizontal`].
fn horizontal_fast(acc: &[f32], plan: &LanePlan, taps: &Taps, origin: usize, out: &mut [u8]) {
    match (plan.n, plan.channels) {
        (2, 4) => horizontal_rgba::<2>(acc, origin, taps, out),
        (3, 4) => horizontal_rgba::<3>(acc, origin, taps, out),
        (4, 4) => horizontal_rgba::<4>(acc, origin, taps, out),
        (5, 4) => horizontal_rgba::<5>(acc, origin, taps, out),
        (6, 4) => horizontal_rgba::<6>(acc, origin, taps, out),
        (1, _) => horizontal_lanes::<1>(acc, plan, taps, out),
        (2, _) => horizontal_lanes::<2>(acc, plan, taps, out),
        (3, _) => horizontal_lanes::<3>(acc, plan, taps, out),
        (4, _) => horizontal_lanes::<4>(acc, plan, taps, out),
        (5, _) => horizontal_lanes::<5>(acc, plan, taps, out),
        (6, _) => horizontal_lanes::<6>(acc, plan, taps, out),
        _ => horizontal(acc, origin, plan.channels, taps, out),
    }
}

/// A prepared resize of one plane: source window to a destination
/// rectangle, with its scratch row. Allocates at build only.
#[derive(Debug, Clone)]
pub struct PlaneScaler {
    x: Taps,
    lanes: LanePlan,
    y: Taps,
    channels: usize,
    cols: (usize, usize),
    row: Vec<f32>,
}

/// Where a scaler reads and writes, in pixels of the plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    /// Source plane size.
    pub src: (usize, usize),
    /// Source window origin (fractional for centred crops).
    pub src_origin: (f64, f64),
    /// Source window size.
    pub src_span: (f64, f64),
    /// Destination rectangle size.
    pub dst: (usize, usize),
}

impl Mapping {
    /// The whole source onto a `dst` rectangle.
    pub fn whole(src: (usize, usize), dst: (usize, usize)) -> Mapping {
        Mapping {
            src,
            src_origin: (0.0, 0.0),
            src_span: (src.0 as f64, src.1 as f64),
            dst,
        }
    }
}

impl PlaneScaler {
    /// A scaler for `channels` interleaved samples per pixel.
    pub fn new(m: Mapping, channels: usize) -> PlaneScaler {
        let x = Taps::new(m.src.0, m.src_origin.0, m.src_span.0, m.dst.0);
        let y = Taps::new(m.src.1, m.src_origin.1, m.src_span.1, m.dst.1);
        let cols = x.source_range();
        let row = vec![0.0; (cols.1 - cols.0) * channels];
        let lanes = LanePlan::new(&x, cols.0, channels);
        PlaneScaler {
            x,
            lanes,
            y,
            channels,
            cols,
            row,
        }
    }

    /// Resizes `src` (rows `src_stride` bytes apart) into `dst` at pixel
    /// `(dx, dy)` (rows `dst_stride` bytes apart), with the SIMD vertical
    /// pass and specialised horizontal pass (`simd`) or the scalar
    /// references. Never allocates.
    pub fn run(
        &mut self,
        src: &[u8],
        src_stride: usize,
        dst: &mut [u8],
        dst_stride: usize,
        at: (usize, usize),
        simd: bool,
    ) {
        let ch = self.channels;
        let col = self.cols.0 * ch;
        let width = self.x.len() * ch;
        for j in 0..self.y.len() {
            let (first, w) = self.y.at(j);
            if simd {
                vertical(src, src_stride, col, first, w, &mut self.row);
            } else {
                vertical_scalar(src, src_stride, col, first, w, &mut self.row);
            }
            let o = (at.1 + j) * dst_stride + at.0 * ch;
            let out = &mut dst[o..o + width];
            if simd {
                horizontal_fast(&self.row, &self.lanes, &self.x, self.cols.0, out);
            } else {
                horizontal(&self.row, self.cols.0, ch, &self.x, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(
        src: &[u8],
        sw: usize,
        sh: usize,
        ch: usize,
        dw: usize,
        dh: usize,
        simd: bool,
    ) -> Vec<u8> {
        let mut s = PlaneScaler::new(Mapping::whole((sw, sh), (dw, dh)), ch);
        let mut out = vec![0; dw * dh * ch];
        s.run(src, sw * ch, &mut out, dw * ch, (0, 0), simd);
        out
    }

    #[test]
    fn taps_sum_to_one_and_stay_inside() {
        for (s, d) in [(10, 3), (3, 10), (1280, 320), (7, 7), (1, 5), (5, 1)] {
            let t = Taps::new(s, 0.0, s as f64, d);
            for i in 0..d {
                let (st, w) = t.at(i);
                assert!(st + w.len() <= s, "window inside the source");
                let sum: f32 = w.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{s}->{d}: {sum}");
                for (k, &x) in w.iter().enumerate() {
                    assert!(x >= 0.0);
                    if x != 0.0 {
                        assert!(st + k < s);
                    }
                }
            }
        }
    }

    #[test]
    fn identity_size_copies_the_plane() {
        let src: Vec<u8> = (0..13 * 5 * 4).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(run(&src, 13, 5, 4, 13, 5, true), src);
    }

    #[test]
    fn constant_planes_stay_constant() {
        let src = vec![173u8; 37 * 19];
        for (dw, dh) in [(9, 4), (80, 41), (37, 19), (1, 1)] {
            assert!(run(&src, 37, 19, 1, dw, dh, true).iter().all(|&v| v == 173));
        }
    }

    #[test]
    fn downscale_by_two_averages_pairs() {
        // A 1-pixel checker halves to mid grey instead of aliasing.
        let src: Vec<u8> = (0..64 * 64)
            .map(|i| if (i % 64 + i / 64) % 2 == 0 { 0 } else { 200 })
            .collect();
        let out = run(&src, 64, 64, 1, 16, 16, true);
        for &v in &out {
            assert!((95..=105).contains(&v), "{v}");
        }
    }

    #[test]
    fn upscale_of_a_ramp_is_a_ramp() {
        let src: Vec<u8> = (0..8).map(|i| i * 30).collect();
        let out = run(&src, 8, 1, 1, 16, 1, true);
        for pair in out[1..15].windows(2) {
            assert!(pair[1] >= pair[0]);
            assert!(pair[1] - pair[0] <= 16);
        }
    }

    proptest! {
        #[test]
        fn simd_matches_scalar(
            sw in 1usize..40, sh in 1usize..12, dw in 1usize..50, dh in 1usize..12,
            ch in 1usize..5, seed in any::<u32>()
        ) {
            let src: Vec<u8> = (0..sw * sh * ch)
                .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 24) as u8)
                .collect();
            prop_assert_eq!(run(&src, sw, sh, ch, dw, dh, true), run(&src, sw, sh, ch, dw, dh, false));
        }

        #[test]
        fn vertical_simd_matches_scalar(
            len in 0usize..70, w in proptest::collection::vec(0f32..1.0, 1..6),
            seed in any::<u32>()
        ) {
            let rows = w.len();
            let src: Vec<u8> = (0..len * rows)
                .map(|i| ((i as u32).wrapping_mul(2246822519).wrapping_add(seed) >> 24) as u8)
                .collect();
            let mut a = vec![0f32; len];
            let mut b = vec![0f32; len];
            vertical(&src, len, 0, 0, &w, &mut a);
            vertical_scalar(&src, len, 0, 0, &w, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
