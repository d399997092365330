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
//! direction, the channels of 16/`channels` rows, gathered by transposes).
//! The signal is first copied, edge-replicated by the total radius on both
//! sides, into a scratch line; the passes then need no edge tests, and the
//! three boxes run fused in one streaming sweep per line (`blur_lines.rs`).
//! Horizontal first (source to destination, bands of rows), then vertical
//! in place on the destination, sixteen byte columns at a time
//! (`blur_bands.rs`). With more than one [`Scratch`], bands and stripes of
//! columns run on rayon, one scratch per task. Gaussians below sigma 2.5,
//! which odd-width boxes cannot shape, are one direct pass of fixed-point
//! taps instead.

#[path = "blur_bands.rs"]
mod bands;
#[path = "blur_lines.rs"]
mod lines;

pub use lines::Scratch;

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

    fn check_pool(&self, pool: &[Scratch]) {
        assert!(!pool.is_empty(), "no scratch");
        assert!(
            pool.iter()
                .all(|s| s.max_side() >= self.width.max(self.height)),
            "scratch too small for the plane"
        );
    }
}

/// Blurs `src` into `dst` (same geometry). One scratch runs serially on the
/// calling thread; more run bands and stripes on rayon, one task per
/// scratch. Panics (a programming error) if a buffer or scratch is too small.
pub fn blur_plane(src: &[u8], dst: &mut [u8], g: Geometry, passes: Passes, pool: &mut [Scratch]) {
    g.check(src.len(), dst.len());
    g.check_pool(pool);
    if g.is_empty() {
        return;
    }
    if passes.is_identity() {
        for y in 0..g.height {
            let row = y * g.stride..y * g.stride + g.row_bytes();
            dst[row.clone()].copy_from_slice(&src[row]);
        }
        return;
    }
    horizontal(Some(src), dst, g, passes, pool);
    bands::vertical(dst, g, passes, pool);
}

/// Blurs a plane in place (the horizontal pass reads each band before it
/// writes it, so no second buffer is needed).
pub fn blur_plane_in_place(data: &mut [u8], g: Geometry, passes: Passes, pool: &mut [Scratch]) {
    g.check(data.len(), data.len());
    g.check_pool(pool);
    if g.is_empty() || passes.is_identity() {
        return;
    }
    horizontal(None, data, g, passes, pool);
    bands::vertical(data, g, passes, pool);
}

/// The horizontal passes for the plane's channel count.
fn horizontal(
    src: Option<&[u8]>,
    dst: &mut [u8],
    g: Geometry,
    passes: Passes,
    pool: &mut [Scratch],
) {
    match g.channels {
        1 => bands::horizontal::<1>(src, dst, g, passes, pool),
        2 => bands::horizontal::<2>(src, dst, g, passes, pool),
        _ => bands::horizontal::<4>(src, dst, g, passes, pool),
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
