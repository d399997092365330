//! Separable blur of 8-bit planes by running sums, at a cost independent of
//! the radius.
//!
//! A Gaussian of standard deviation sigma is approximated by three box
//! passes whose widths are chosen from sigma (Kovesi's mixed widths: two
//! sizes, so the variance matches to within a fraction of a pixel); `box`
//! is one pass of width 2r+1. Every pass is a running sum in 16-bit
//! integers, with `frac` fraction bits (2 at sigma 8) chosen so that no sum
//! reaches 2^15; after each box the sum is divided exactly (rounded to
//! nearest) by the box width with one high multiply, so nothing drifts and
//! the error per pass is below half a fraction step.
//!
//! Layout: sixteen independent 1-D signals travel together in one `u16x16`
//! (sixteen byte columns for the vertical direction; for the horizontal
//! direction, the channels of 16/`channels` rows). The signal is first
//! copied, edge-replicated by the total radius on both sides, into a small
//! scratch line that stays in cache; the passes then need no edge tests.
//! Horizontal first (source to destination, bands of rows), then vertical in
//! place on the destination (stripes of 64 byte columns, one cache line of
//! each row, as four lines of lanes). The three boxes run fused in one streaming sweep per line.
//! With more than one [`Scratch`], bands and stripes run on rayon, one
//! scratch per task. Gaussians below sigma 2.5, which odd-width boxes cannot
//! shape, are one direct pass of fixed-point taps instead.

use super::byte_lanes::{load8, scale, transpose8x8};
use super::word_lanes::{
    narrow16, shl, transpose4x4, transpose8x8_u16, widen16, widen_words, Divider,
};
use rayon::prelude::*;
use wide::{f32x8, i32x8, u16x16};

/// Largest radius the kernels are sized for (pixels).
pub const MAX_RADIUS: usize = 64;

/// Largest padding a pass plan needs: the sum of its radii (three Gaussian
/// passes of width up to 65 for sigma 32).
pub const MAX_PAD: usize = 3 * 33;

/// Which blur: the Gaussian approximation or a plain box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlurKind {
    /// Three box passes approximating a Gaussian of sigma = radius / 2.
    Gaussian,
    /// One box of width 2r+1.
    Box,
}

/// Widest tap radius of the direct (FIR) path used for small Gaussians.
const MAX_TAPS: usize = 8;

/// Fixed-point scale of the FIR taps: they sum to exactly this.
const TAP_ONE: i32 = 1 << 14;

/// The passes of one blur in one direction: up to three running-sum boxes,
/// or, for a Gaussian too small for boxes to shape well (sigma < 2.5), one
/// direct pass of fixed-point Gaussian taps. `Copy` and allocation-free, so
/// a live radius change just builds a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passes {
    radii: [usize; 3],
    count: usize,
    taps: [i32; 2 * MAX_TAPS + 1],
    tap_radius: usize,
    frac: u32,
}

impl Passes {
    /// No blur at all (radius 0): the plane is copied.
    pub const NONE: Passes = Passes {
        radii: [0; 3],
        count: 0,
        taps: [0; 2 * MAX_TAPS + 1],
        tap_radius: 0,
        frac: 0,
    };

    /// The passes for `kind` at `radius` pixels (clamped to 0..=64);
    /// a Gaussian's sigma is radius / 2, as DESIGN.md defines it.
    pub fn for_radius(kind: BlurKind, radius: f64) -> Passes {
        let radius = radius.clamp(0.0, MAX_RADIUS as f64);
        match kind {
            BlurKind::Gaussian => Passes::gaussian(radius / 2.0),
            BlurKind::Box => Passes::boxes(radius.round() as usize),
        }
    }

    /// One box of width 2r+1.
    pub fn boxes(radius: usize) -> Passes {
        if radius == 0 {
            return Passes::NONE;
        }
        Passes {
            radii: [radius.min(MAX_RADIUS), 0, 0],
            count: 1,
            ..Passes::NONE
        }
    }

    /// A Gaussian of `sigma` pixels (clamped to 0..=32). From sigma 2.5 up:
    /// three boxes of two neighbouring odd widths whose total variance is
    /// nearest sigma^2 (Kovesi, "Fast almost-Gaussian filtering", 2010).
    /// Below: direct taps to 3 sigma, which boxes of odd width cannot match.
    pub fn gaussian(sigma: f64) -> Passes {
        let sigma = sigma.clamp(0.0, MAX_RADIUS as f64 / 2.0);
        if sigma < 0.2 {
            return Passes::NONE;
        }
        if sigma < 2.5 {
            return Passes::taps(sigma);
        }
        let n = 3.0;
        let ideal = (12.0 * sigma * sigma / n + 1.0).sqrt();
        let mut wl = ideal.floor() as usize;
        if wl.is_multiple_of(2) {
            wl -= 1;
        }
        let wlf = wl as f64;
        let m = ((12.0 * sigma * sigma - n * wlf * wlf - 4.0 * n * wlf - 3.0 * n)
            / (-4.0 * wlf - 4.0))
            .round()
            .clamp(0.0, n) as usize;
        let rl = wl / 2;
        let mut radii = [rl + 1; 3];
        radii[..m].fill(rl);
        let widest = 2 * (rl + 1) + 1;
        let frac = (0..=6).rev().find(|&f| widest << f <= 128).unwrap_or(0);
        Passes {
            radii,
            count: 3,
            frac,
            ..Passes::NONE
        }
    }

    /// Sampled Gaussian taps to 3 sigma in fixed point, the centre tap
    /// absorbing the rounding so they sum to exactly [`TAP_ONE`].
    fn taps(sigma: f64) -> Passes {
        let t = ((3.0 * sigma).ceil() as usize).clamp(1, MAX_TAPS);
        let g = |i: usize| {
            let d = i as f64 - t as f64;
            (-d * d / (2.0 * sigma * sigma)).exp()
        };
        let norm: f64 = (0..=2 * t).map(g).sum();
        let mut taps = [0i32; 2 * MAX_TAPS + 1];
        for (i, w) in taps.iter_mut().enumerate().take(2 * t + 1) {
            *w = (g(i) / norm * f64::from(TAP_ONE)).round() as i32;
        }
        let total: i32 = taps.iter().sum();
        taps[t] += TAP_ONE - total;
        Passes {
            taps,
            tap_radius: t,
            ..Passes::NONE
        }
    }

    /// Whether the blur leaves the plane as it is.
    pub fn is_identity(&self) -> bool {
        self.count == 0 && self.tap_radius == 0
    }

    /// The radii of the box passes in order (empty for the direct path).
    pub fn radii(&self) -> &[usize] {
        &self.radii[..self.count]
    }

    /// Samples of edge replication each side needs.
    pub fn pad(&self) -> usize {
        self.tap_radius + self.radii().iter().sum::<usize>()
    }

    /// Fraction bits the box cascade carries between passes: the most that
    /// keep every sum (widest box x 255 x 2^frac) below 2^15.
    pub fn frac(&self) -> u32 {
        self.frac
    }

    /// The standard deviation of the combined kernel, in pixels.
    pub fn sigma(&self) -> f64 {
        if self.tap_radius > 0 {
            let t = self.tap_radius as f64;
            let var: f64 = self
                .taps
                .iter()
                .enumerate()
                .map(|(i, &w)| f64::from(w) * (i as f64 - t).powi(2))
                .sum();
            return (var / f64::from(TAP_ONE)).sqrt();
        }
        let var: f64 = self
            .radii()
            .iter()
            .map(|&r| {
                let w = (2 * r + 1) as f64;
                (w * w - 1.0) / 12.0
            })
            .sum();
        var.sqrt()
    }

    /// The direct path's taps (empty for boxes).
    fn tap_weights(&self) -> &[i32] {
        if self.tap_radius == 0 {
            return &[];
        }
        &self.taps[..2 * self.tap_radius + 1]
    }
}

/// The shape of an 8-bit plane: `width` pixels of `channels` interleaved
/// bytes (1, 2 or 4), `height` rows, `stride` bytes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bytes from one row to the next (at least width * channels).
    pub stride: usize,
    /// Interleaved channels per pixel: 1 (a Y plane), 2 (nv12 UV), 4 (rgba).
    pub channels: usize,
}

impl Geometry {
    /// Bytes of pixel data in a row.
    pub fn row_bytes(&self) -> usize {
        self.width * self.channels
    }

    /// Bytes a buffer must hold for this plane.
    pub fn len(&self) -> usize {
        if self.height == 0 {
            0
        } else {
            (self.height - 1) * self.stride + self.row_bytes()
        }
    }

    /// Whether the plane holds no pixels.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    fn check(&self, src: usize, dst: usize) {
        assert!(
            matches!(self.channels, 1 | 2 | 4),
            "channels must be 1, 2 or 4"
        );
        assert!(self.stride >= self.row_bytes(), "stride shorter than a row");
        assert!(
            src >= self.len() && dst >= self.len(),
            "buffer smaller than the plane"
        );
    }
}

/// Zero lanes kept in front of the input line, so the first box's running
/// sum can subtract "before the start" without a branch.
const LEAD: usize = 2 * MAX_RADIUS + 1;

/// Ring length for the later boxes of a cascade (a power of two longer
/// than the widest Gaussian box, 2 * 33 + 1).
const RING: usize = 128;

/// Lines of lanes a scratch holds: a vertical stripe is 64 byte columns
/// (one cache line of each row) wide, four lines of sixteen lanes.
const LINES: usize = 4;

/// Working memory for one task: edge-padded input lines (each behind a run
/// of zeros), a line for the direct path, two rings for the box cascade and
/// the output lines. Allocate at build time for the longest side.
#[derive(Debug, Clone)]
pub struct Scratch {
    a: Vec<u16x16>,
    b: Vec<[i32x8; 2]>,
    rings: Box<[[u16x16; RING]; 2]>,
    out: Vec<[u8; 16]>,
    side: usize,
}

impl Scratch {
    /// Scratch for planes whose width and height are at most `max_side`.
    pub fn new(max_side: usize) -> Scratch {
        let len = max_side + 2 * MAX_PAD;
        Scratch {
            a: vec![u16x16::ZERO; LINES * (LEAD + len)],
            b: vec![[i32x8::ZERO; 2]; len],
            rings: Box::new([[u16x16::ZERO; RING]; 2]),
            out: vec![[0; 16]; LINES * max_side],
            side: max_side,
        }
    }

    /// Longest side this scratch serves.
    pub fn max_side(&self) -> usize {
        self.side
    }

    fn line_len(&self) -> usize {
        LEAD + self.side + 2 * MAX_PAD
    }

    /// Input line `k`: samples go at `[pad .. pad + n]`.
    fn input(&mut self, k: usize) -> &mut [u16x16] {
        let len = self.line_len();
        &mut self.a[k * len + LEAD..(k + 1) * len]
    }

    /// Output line `k`'s first `n` samples, sixteen bytes each.
    fn output(&self, k: usize, n: usize) -> &[[u8; 16]] {
        &self.out[k * self.side..k * self.side + n]
    }

    /// Blurs the `n` samples of input line `k` (already edge-padded) into
    /// output line `k`: sixteen bytes per sample, one per lane.
    fn blur_line(&mut self, k: usize, n: usize, passes: Passes) {
        let total = n + 2 * passes.pad();
        let len = self.line_len();
        let a = &self.a[k * len..(k + 1) * len];
        let out = &mut self.out[k * self.side..k * self.side + n];
        if passes.tap_radius > 0 {
            let inv = f32x8::splat(1.0 / TAP_ONE as f32);
            let b = &mut self.b[..total];
            for (d, &v) in b.iter_mut().zip(&a[LEAD..LEAD + total]) {
                *d = widen_halves(v);
            }
            let sums = tap_pass(b, passes.tap_weights(), passes.pad(), n);
            for (o, [lo, hi]) in out.iter_mut().zip(sums) {
                o[..8].copy_from_slice(&scale(lo, inv));
                o[8..].copy_from_slice(&scale(hi, inv));
            }
            return;
        }
        match *passes.radii() {
            [r] => box1(a, total, r, out),
            [r1, r2, r3] => box3(a, total, [r1, r2, r3], passes.frac, &mut self.rings, out),
            _ => unreachable!("one or three boxes"),
        }
    }
}

/// Sixteen u16 lanes as two vectors of eight i32 lanes.
#[inline(always)]
fn widen_halves(v: u16x16) -> [i32x8; 2] {
    let a = v.to_array();
    [
        i32x8::new(std::array::from_fn(|i| i32::from(a[i]))),
        i32x8::new(std::array::from_fn(|i| i32::from(a[8 + i]))),
    ]
}

/// One running-sum box over the input line, streaming: output `i` is the
/// sum of inputs `i .. i + w`, divided by `w` and rounded. The sum starts
/// at `w / 2`, so the truncating division rounds to nearest for free; up
/// to 255 x 129 + 64 it needs the wide divider.
#[inline]
fn box1(a: &[u16x16], total: usize, r: usize, out: &mut [[u8; 16]]) {
    let w = 2 * r + 1;
    let div = Divider::new(w as u32);
    let cur = &a[LEAD..LEAD + total];
    let old = &a[LEAD - w..LEAD - w + total];
    let mut acc = u16x16::splat((w / 2) as u16);
    let warm = 2 * r;
    for (&c, &o) in cur[..warm].iter().zip(&old[..warm]) {
        acc += c - o;
    }
    for ((&c, &o), d) in cur[warm..].iter().zip(&old[warm..]).zip(out) {
        acc += c - o;
        *d = narrow16(div.wide(acc));
    }
}

/// Three running-sum boxes fused into one streaming sweep: the input
/// enters scaled by 2^frac; each box's sum, divided exactly (rounded to
/// nearest: it starts at half the divisor) by its width, feeds the next
/// through a small ring (zeroed, so sums over "before the start" are exact
/// partial sums that the later boxes subtract again), and the last box
/// divides by its width times 2^frac, back to bytes. Nothing but the input
/// line and two rings is touched. Output starts once all three windows are
/// full, at input `2 * pad`.
#[inline]
fn box3(
    a: &[u16x16],
    total: usize,
    r: [usize; 3],
    frac: u32,
    rings: &mut [[u16x16; RING]; 2],
    out: &mut [[u8; 16]],
) {
    let w = r.map(|r| 2 * r + 1);
    debug_assert!(w[1] < RING && w[2] < RING);
    let d = [w[0], w[1], w[2] << frac];
    let div = d.map(|d| Divider::new(d as u32));
    let cur = &a[LEAD..LEAD + total];
    let old = &a[LEAD - w[0]..LEAD - w[0] + total];
    let [ring1, ring2] = rings;
    ring1.fill(u16x16::ZERO);
    ring2.fill(u16x16::ZERO);
    let [mut s1, mut s2, mut s3] = d.map(|d| u16x16::splat((d / 2) as u16));
    let mut step = |j: usize, c: u16x16, o: u16x16| {
        s1 += shl(c - o, frac);
        let x1 = div[0].narrow(s1);
        let old1 = ring1[j.wrapping_sub(w[1]) & (RING - 1)];
        ring1[j & (RING - 1)] = x1;
        s2 += x1 - old1;
        let x2 = div[1].narrow(s2);
        let old2 = ring2[j.wrapping_sub(w[2]) & (RING - 1)];
        ring2[j & (RING - 1)] = x2;
        s3 += x2 - old2;
        s3
    };
    let warm = w[0] + w[1] + w[2] - 3;
    for (j, (&c, &o)) in cur[..warm].iter().zip(&old[..warm]).enumerate() {
        step(j, c, o);
    }
    let (cur, old) = (&cur[warm..], &old[warm..]);
    for (j, ((&c, &o), dst)) in cur.iter().zip(old).zip(out).enumerate() {
        *dst = narrow16(div[2].narrow(step(warm + j, c, o)));
    }
}

/// Blurs `src` into `dst` (same geometry). One scratch runs serially on the
/// calling thread; more run bands and stripes on rayon, one task per
/// scratch. Panics (a programming error) if a buffer or scratch is too small.
pub fn blur_plane(src: &[u8], dst: &mut [u8], g: Geometry, passes: Passes, pool: &mut [Scratch]) {
    g.check(src.len(), dst.len());
    if g.is_empty() {
        return;
    }
    assert!(!pool.is_empty(), "no scratch");
    assert!(
        pool.iter().all(|s| s.max_side() >= g.width.max(g.height)),
        "scratch too small for the plane"
    );
    if passes.is_identity() {
        for y in 0..g.height {
            let row = y * g.stride..y * g.stride + g.row_bytes();
            dst[row.clone()].copy_from_slice(&src[row]);
        }
        return;
    }
    match g.channels {
        1 => horizontal::<1>(src, dst, g, passes, pool),
        2 => horizontal::<2>(src, dst, g, passes, pool),
        _ => horizontal::<4>(src, dst, g, passes, pool),
    }
    vertical(dst, g, passes, pool);
}

/// Blurs a plane in place (the horizontal pass reads each band before it
/// writes it, so no second buffer is needed).
pub fn blur_plane_in_place(data: &mut [u8], g: Geometry, passes: Passes, pool: &mut [Scratch]) {
    g.check(data.len(), data.len());
    if g.is_empty() || passes.is_identity() {
        return;
    }
    assert!(
        pool.iter().all(|s| s.max_side() >= g.width.max(g.height)),
        "scratch too small for the plane"
    );
    match g.channels {
        1 => horizontal_in_place::<1>(data, g, passes, pool),
        2 => horizontal_in_place::<2>(data, g, passes, pool),
        _ => horizontal_in_place::<4>(data, g, passes, pool),
    }
    vertical(data, g, passes, pool);
}

/// Direct convolution with fixed-point taps: output `i` is
/// `sum(w[k] * src[pad + i - t + k])`, both halves of the lanes.
#[inline]
fn tap_pass<'a>(
    src: &'a [[i32x8; 2]],
    w: &'a [i32],
    pad: usize,
    n: usize,
) -> impl Iterator<Item = [i32x8; 2]> + 'a {
    let t = w.len() / 2;
    src[pad - t..].windows(w.len()).take(n).map(move |win| {
        win.iter()
            .zip(w)
            .fold([i32x8::ZERO; 2], |[lo, hi], (v, &k)| {
                let k = i32x8::splat(k);
                [lo + v[0] * k, hi + v[1] * k]
            })
    })
}

/// Edge-replicates `a[pad .. pad + n]` outwards by `pad` on both sides.
#[inline]
fn replicate_edges(a: &mut [u16x16], pad: usize, n: usize) {
    let first = a[pad];
    let last = a[pad + n - 1];
    a[..pad].fill(first);
    a[pad + n..n + 2 * pad].fill(last);
}

/// Horizontal passes, src to dst, in bands of rows.
fn horizontal<const CH: usize>(
    src: &[u8],
    dst: &mut [u8],
    g: Geometry,
    passes: Passes,
    pool: &mut [Scratch],
) {
    let rows = 16 / CH;
    let band = band_rows(g.height, pool.len(), rows);
    if pool.len() == 1 {
        horizontal_band::<CH>(src, dst, 0, g, passes, &mut pool[0]);
        return;
    }
    let chunks = dst[..g.len()].par_chunks_mut(band * g.stride);
    chunks
        .zip(pool.par_iter_mut())
        .enumerate()
        .for_each(|(i, (out, scratch))| {
            horizontal_band::<CH>(src, out, i * band, g, passes, scratch)
        });
}

/// Horizontal passes in place, in bands of rows.
fn horizontal_in_place<const CH: usize>(
    data: &mut [u8],
    g: Geometry,
    passes: Passes,
    pool: &mut [Scratch],
) {
    let rows = 16 / CH;
    let band = band_rows(g.height, pool.len(), rows);
    let len = g.len();
    let work = |(i, (band_data, scratch)): (usize, (&mut [u8], &mut Scratch))| {
        let band_height = band.min(g.height - i * band);
        let sub = Geometry {
            height: band_height,
            ..g
        };
        let mut y0 = 0;
        while y0 < band_height {
            let n = rows.min(band_height - y0);
            gather_rows::<CH>(band_data, sub, y0, n, passes.pad(), scratch.input(0));
            scratch.blur_line(0, g.width, passes);
            scatter_rows::<CH>(scratch.output(0, g.width), band_data, sub, y0, n);
            y0 += rows;
        }
    };
    if pool.len() == 1 {
        work((0, (&mut data[..len], &mut pool[0])));
    } else {
        data[..len]
            .par_chunks_mut(band * g.stride)
            .zip(pool.par_iter_mut())
            .enumerate()
            .for_each(work);
    }
}

/// Rows per band: the height split evenly across the tasks, in multiples of
/// the rows one line of lanes carries.
fn band_rows(height: usize, tasks: usize, rows: usize) -> usize {
    height.div_ceil(tasks).div_ceil(rows).max(1) * rows
}

/// Blurs rows `y0 ..` of `out` (which starts at row `y0` of the plane and
/// holds up to a band of rows) from `src`.
fn horizontal_band<const CH: usize>(
    src: &[u8],
    out: &mut [u8],
    y0: usize,
    g: Geometry,
    passes: Passes,
    s: &mut Scratch,
) {
    let rows = 16 / CH;
    let band_height = (out.len() + g.stride - g.row_bytes()) / g.stride;
    let band_height = band_height.min(g.height - y0);
    let src_band = &src[y0 * g.stride..];
    let sub = Geometry {
        height: band_height,
        ..g
    };
    let mut y = 0;
    while y < band_height {
        let n = rows.min(band_height - y);
        gather_rows::<CH>(src_band, sub, y, n, passes.pad(), s.input(0));
        s.blur_line(0, g.width, passes);
        scatter_rows::<CH>(s.output(0, g.width), out, sub, y, n);
        y += rows;
    }
}

/// Loads `n` rows from `y` (the lanes of missing rows repeat the last one)
/// into `a[pad ..]`, pixel after pixel, and pads the edges.
#[inline]
fn gather_rows<const CH: usize>(
    src: &[u8],
    g: Geometry,
    y: usize,
    n: usize,
    pad: usize,
    a: &mut [u16x16],
) {
    let rows = 16 / CH;
    let rb = g.row_bytes();
    let r: [&[u8]; 16] = std::array::from_fn(|i| {
        let yy = y + i.min(rows - 1).min(n - 1);
        &src[yy * g.stride..yy * g.stride + rb]
    });
    let line = &mut a[pad..pad + g.width];
    let done = match CH {
        4 => {
            let blocks = g.width / 4;
            for (b, out) in line.chunks_exact_mut(4).enumerate() {
                let block: [[u8; 16]; 4] =
                    std::array::from_fn(|i| r[i][16 * b..16 * b + 16].try_into().expect("16"));
                for (o, px) in out.iter_mut().zip(transpose4x4(block)) {
                    *o = widen16(px);
                }
            }
            4 * blocks
        }
        1 => {
            let blocks = g.width / 8;
            for (b, out) in line.chunks_exact_mut(8).enumerate() {
                let lo = transpose8x8(std::array::from_fn(|i| load8(r[i], 8 * b)));
                let hi = transpose8x8(std::array::from_fn(|i| load8(r[8 + i], 8 * b)));
                for ((o, &l), &h) in out.iter_mut().zip(&lo).zip(&hi) {
                    *o = widen_words(l, h);
                }
            }
            8 * blocks
        }
        2 => {
            let blocks = g.width / 8;
            for (b, out) in line.chunks_exact_mut(8).enumerate() {
                let block: [[u8; 16]; 8] =
                    std::array::from_fn(|i| r[i][16 * b..16 * b + 16].try_into().expect("16"));
                for (o, px) in out.iter_mut().zip(transpose8x8_u16(block)) {
                    *o = widen16(px);
                }
            }
            8 * blocks
        }
        _ => 0,
    };
    for (x, v) in line.iter_mut().enumerate().skip(done) {
        let mut px = [0u8; 16];
        for (i, bytes) in px.chunks_exact_mut(CH).enumerate() {
            bytes.copy_from_slice(&r[i][x * CH..(x + 1) * CH]);
        }
        *v = widen16(px);
    }
    replicate_edges(a, pad, g.width);
}

/// Stores the first `n` of the line's rows at `y` (sample `x` holds pixel
/// `x` of each row, `CH` bytes per row).
#[inline]
fn scatter_rows<const CH: usize>(
    samples: &[[u8; 16]],
    out: &mut [u8],
    g: Geometry,
    y: usize,
    n: usize,
) {
    let mut done = 0;
    if n == 16 / CH {
        let rows = &mut out[y * g.stride..];
        match CH {
            4 => {
                for (b, block) in samples.chunks_exact(4).enumerate() {
                    let block: [[u8; 16]; 4] = block.try_into().expect("four samples");
                    for (i, row) in transpose4x4(block).iter().enumerate() {
                        let at = i * g.stride + 16 * b;
                        rows[at..at + 16].copy_from_slice(row);
                    }
                }
                done = g.width / 4 * 4;
            }
            1 => {
                for (b, block) in samples.chunks_exact(8).enumerate() {
                    for half in 0..2 {
                        let words = std::array::from_fn(|x| load8(&block[x], 8 * half));
                        for (i, w) in transpose8x8(words).into_iter().enumerate() {
                            let at = (8 * half + i) * g.stride + 8 * b;
                            rows[at..at + 8].copy_from_slice(&w.to_le_bytes());
                        }
                    }
                }
                done = g.width / 8 * 8;
            }
            2 => {
                for (b, block) in samples.chunks_exact(8).enumerate() {
                    let block: [[u8; 16]; 8] = block.try_into().expect("eight samples");
                    for (i, row) in transpose8x8_u16(block).iter().enumerate() {
                        let at = i * g.stride + 16 * b;
                        rows[at..at + 16].copy_from_slice(row);
                    }
                }
                done = g.width / 8 * 8;
            }
            _ => {}
        }
    }
    for (x, b) in samples.iter().enumerate().skip(done) {
        for i in 0..n {
            let at = (y + i) * g.stride + x * CH;
            out[at..at + CH].copy_from_slice(&b[i * CH..(i + 1) * CH]);
        }
    }
}
/// A plane shared by tasks that each write their own byte columns.
#[derive(Clone, Copy)]
struct Columns {
    ptr: *mut u8,
    len: usize,
}

impl Columns {
    /// The whole plane again.
    ///
    /// # Safety
    /// The plane must outlive the slice, and callers holding slices at the
    /// same time must touch disjoint bytes.
    unsafe fn plane<'a>(&self) -> &'a mut [u8] {
        // SAFETY: upheld by the caller, as documented above.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

// SAFETY: `Columns` is only used by `vertical`, whose tasks touch disjoint
// sets of byte columns of one live `&mut [u8]`, so no byte is shared.
unsafe impl Send for Columns {}
// SAFETY: as above: concurrent tasks never access the same byte.
unsafe impl Sync for Columns {}

/// Vertical passes in place, in stripes of [`STRIPE`] byte columns.
fn vertical(data: &mut [u8], g: Geometry, passes: Passes, pool: &mut [Scratch]) {
    let stripes = g.row_bytes().div_ceil(STRIPE);
    if pool.len() == 1 {
        for x in 0..stripes {
            vertical_stripe(data, STRIPE * x, g, passes, &mut pool[0]);
        }
        return;
    }
    let per_task = stripes.div_ceil(pool.len());
    let cols = Columns {
        ptr: data.as_mut_ptr(),
        len: g.len(),
    };
    pool.par_iter_mut().enumerate().for_each(|(t, scratch)| {
        // SAFETY: `cols` comes from `data`, borrowed mutably for this whole
        // call and at least `g.len()` long (checked by the caller). Task `t`
        // reads and writes only byte columns `STRIPE * per_task * t ..` up to the
        // next task's first column, so tasks never touch the same byte, and
        // no other reference to `data` is used while they run.
        let plane = unsafe { cols.plane() };
        let end = (per_task * (t + 1)).min(stripes);
        for x in per_task * t..end {
            vertical_stripe(plane, STRIPE * x, g, passes, scratch);
        }
    });
}

/// Byte columns per vertical stripe: one cache line of each row.
const STRIPE: usize = 16 * LINES;

/// Blurs byte columns `x0 .. x0 + STRIPE` (fewer at the right edge) down
/// the plane: each row's bytes are spread over up to four lines of sixteen
/// lanes, each line blurred, and the rows written back.
fn vertical_stripe(data: &mut [u8], x0: usize, g: Geometry, passes: Passes, s: &mut Scratch) {
    let pad = passes.pad();
    let width = STRIPE.min(g.row_bytes() - x0);
    let lines = width.div_ceil(16);
    let h = g.height;
    let len = s.line_len();
    let (a, side) = (&mut s.a, s.side);
    for (y, row) in data[x0..].chunks(g.stride).take(h).enumerate() {
        let row = &row[..width];
        let at = LEAD + pad + y;
        if width == STRIPE {
            for (k, bytes) in row.chunks_exact(16).enumerate() {
                a[k * len + at] = widen16(bytes.try_into().expect("sixteen bytes"));
            }
        } else {
            for (k, bytes) in row.chunks(16).enumerate() {
                let mut b = [0u8; 16];
                b[..bytes.len()].copy_from_slice(bytes);
                a[k * len + at] = widen16(b);
            }
        }
    }
    for k in 0..lines {
        replicate_edges(s.input(k), pad, h);
        s.blur_line(k, h, passes);
    }
    let out = &s.out;
    for (y, row) in data[x0..].chunks_mut(g.stride).take(h).enumerate() {
        let row = &mut row[..width];
        if width == STRIPE {
            for (k, bytes) in row.chunks_exact_mut(16).enumerate() {
                bytes.copy_from_slice(&out[k * side + y]);
            }
        } else {
            for (k, bytes) in row.chunks_mut(16).enumerate() {
                bytes.copy_from_slice(&out[k * side + y][..bytes.len()]);
            }
        }
    }
}

/// Scalar reference: the same passes, edge handling and rounding as
/// [`blur_plane`], one sample at a time, for tests and proptests.
pub fn blur_plane_scalar(src: &[u8], dst: &mut [u8], g: Geometry, passes: Passes) {
    g.check(src.len(), dst.len());
    let rb = g.row_bytes();
    let mut tmp = vec![0u8; g.height * rb];
    for y in 0..g.height {
        for c in 0..g.channels {
            let line: Vec<i64> = (0..g.width)
                .map(|x| i64::from(src[y * g.stride + x * g.channels + c]))
                .collect();
            for (x, v) in blur_line_scalar(&line, passes).into_iter().enumerate() {
                tmp[y * rb + x * g.channels + c] = v;
            }
        }
    }
    for xb in 0..rb {
        let line: Vec<i64> = (0..g.height).map(|y| i64::from(tmp[y * rb + xb])).collect();
        for (y, v) in blur_line_scalar(&line, passes).into_iter().enumerate() {
            dst[y * g.stride + xb] = v;
        }
    }
}

/// One line through the passes, scalar: pad by replication, then either
/// the taps (divided in f32 and rounded half to even, like the SIMD path)
/// or the boxes: input scaled by 2^frac, each window sum divided by the
/// width rounding half up, the last by the width times 2^frac.
fn blur_line_scalar(line: &[i64], passes: Passes) -> Vec<u8> {
    let n = line.len() as i64;
    let pad = passes.pad() as i64;
    let mut cur: Vec<i64> = (-pad..n + pad)
        .map(|i| line[i.clamp(0, n - 1) as usize])
        .collect();
    let w = passes.tap_weights();
    if !w.is_empty() {
        let inv = 1.0 / TAP_ONE as f32;
        return cur
            .windows(w.len())
            .map(|win| win.iter().zip(w).map(|(&v, &k)| v * i64::from(k)).sum())
            .map(|s: i64| ((s as f32) * inv).round_ties_even().clamp(0.0, 255.0) as u8)
            .collect();
    }
    let radii = passes.radii();
    cur.iter_mut().for_each(|v| *v <<= passes.frac);
    for (k, &r) in radii.iter().enumerate() {
        let w = 2 * r as i64 + 1;
        let d = if k + 1 == radii.len() {
            w << passes.frac
        } else {
            w
        };
        cur = cur
            .windows(w as usize)
            .map(|win| (win.iter().sum::<i64>() + d / 2) / d)
            .collect();
    }
    cur.iter().map(|&v| v.clamp(0, 255) as u8).collect()
}

#[cfg(test)]
#[path = "blur_tests.rs"]
mod tests;
