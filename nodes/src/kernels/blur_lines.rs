//! The blur along one line of lanes: sixteen independent 1-D signals in
//! one `u16x16` per sample, edge-padded in a scratch line, through one box
//! (`box`), three fused boxes (Gaussian) or direct taps (small Gaussian).

use super::{Passes, MAX_PAD, MAX_RADIUS, TAP_ONE};
use crate::kernels::byte_lanes::scale;
use crate::kernels::word_lanes::{narrow16, Divider};
use std::cell::Cell;
use wide::{f32x8, i32x8, u16x16};

/// Zero lanes kept in front of the input line, so the first box's running
/// sum can subtract "before the start" without a branch.
const LEAD: usize = 2 * MAX_RADIUS + 1;

/// Zero lanes in front of the cascade's two intermediate lines: the widest
/// box of a Gaussian cascade (radius 33 at sigma 32; see [`MAX_PAD`]).
const CASCADE_LEAD: usize = 2 * (MAX_PAD / 3) + 1;

/// Lines of lanes a scratch holds: the vertical pass reads a stripe of 64
/// byte columns (one cache line of each row) as four lines of sixteen
/// lanes, so each cache line is loaded once.
pub(super) const LINES: usize = 4;

/// Working memory for one task: [`LINES`] edge-padded input lines, each
/// behind a run of zeros, a line for the direct path, the two intermediate
/// lines of the box cascade (each behind zeros) and [`LINES`] output
/// lines. Allocate at build time for the longest side.
#[derive(Debug, Clone)]
pub struct Scratch {
    a: Vec<u16x16>,
    b: Vec<[i32x8; 2]>,
    cascade: [Vec<u16x16>; 2],
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
            cascade: std::array::from_fn(|_| vec![u16x16::ZERO; CASCADE_LEAD + len]),
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
    pub(super) fn input(&mut self, k: usize) -> &mut [u16x16] {
        let len = self.line_len();
        &mut self.a[k * len + LEAD..(k + 1) * len]
    }

    /// Every input line at once, each from its `pad` on (`n` samples go
    /// at `[.. n]`, then [`replicate_edges`] with the true start).
    pub(super) fn inputs_from(&mut self, pad: usize, n: usize) -> [&mut [u16x16]; LINES] {
        let len = self.line_len();
        let mut lines = self.a.chunks_exact_mut(len);
        std::array::from_fn(|_| {
            let line = lines.next().expect("LINES lines");
            &mut line[LEAD + pad..LEAD + pad + n]
        })
    }

    /// Every output line's first `n` samples at once.
    pub(super) fn outputs(&self, n: usize) -> [&[[u8; 16]]; LINES] {
        std::array::from_fn(|k| self.output(k, n))
    }

    /// Output line `k`'s first `n` samples, sixteen bytes each.
    pub(super) fn output(&self, k: usize, n: usize) -> &[[u8; 16]] {
        &self.out[k * self.side..k * self.side + n]
    }

    /// Blurs the `n` samples of input line `k` (already edge-padded) into
    /// output line `k`: sixteen bytes per sample, one per lane.
    pub(super) fn blur_line(&mut self, k: usize, n: usize, passes: Passes) {
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
            [r1, r2, r3] => box3(
                a,
                total,
                [r1, r2, r3],
                passes.frac(),
                &mut self.cascade,
                out,
            ),
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

/// A line that one box of the cascade writes at `j` while the next reads
/// it back at `j - w`: cells, so both walks are plain iterators.
fn writer_and_reader(line: &mut [u16x16], w: usize, total: usize) -> [&[Cell<u16x16>]; 2] {
    let cells = Cell::from_mut(line).as_slice_of_cells();
    [
        &cells[CASCADE_LEAD..CASCADE_LEAD + total],
        &cells[CASCADE_LEAD - w..CASCADE_LEAD - w + total],
    ]
}

/// Three running-sum boxes fused into one streaming sweep: the input
/// enters scaled by 2^frac; each box's sum, divided exactly (rounded to
/// nearest: it starts at half the divisor) by its width, feeds the next
/// through an intermediate line (zeros in front, so sums over "before the
/// start" are exact partial sums that the later boxes subtract again), and
/// the last box divides by its width times 2^frac, back to bytes. Output
/// starts once all three windows are full, at input `2 * pad`.
#[inline]
fn box3(
    a: &[u16x16],
    total: usize,
    r: [usize; 3],
    frac: u32,
    cascade: &mut [Vec<u16x16>; 2],
    out: &mut [[u8; 16]],
) {
    let w = r.map(|r| 2 * r + 1);
    assert!(w[1] <= CASCADE_LEAD && w[2] <= CASCADE_LEAD, "box too wide");
    let d = [w[0], w[1], w[2] << frac];
    let div = d.map(|d| Divider::new(d as u32));
    let cur = &a[LEAD..LEAD + total];
    let old = &a[LEAD - w[0]..LEAD - w[0] + total];
    let [line1, line2] = cascade;
    let [new1, old1] = writer_and_reader(line1, w[1], total);
    let [new2, old2] = writer_and_reader(line2, w[2], total);
    let scale = u16x16::splat(1 << frac);
    let mut sums = d.map(|d| u16x16::splat((d / 2) as u16));
    let warm = w[0] + w[1] + w[2] - 3;
    let input = cur.iter().zip(old);
    let mut steps = input.zip(new1.iter().zip(old1)).zip(new2.iter().zip(old2));
    let mut step = |(((&c, &o), (n1, o1)), (n2, o2)): Step| {
        let [s1, s2, s3] = &mut sums;
        *s1 += (c - o) * scale;
        let x1 = div[0].narrow(*s1);
        n1.set(x1);
        *s2 += x1 - o1.get();
        let x2 = div[1].narrow(*s2);
        n2.set(x2);
        *s3 += x2 - o2.get();
        *s3
    };
    for x in steps.by_ref().take(warm) {
        step(x);
    }
    for (dst, x) in out.iter_mut().zip(steps) {
        *dst = narrow16(div[2].narrow(step(x)));
    }
}

/// One step of the cascade: input and the sample a window back, and each
/// intermediate line's cell to write and the cell a window back.
type Step<'a> = (
    (
        (&'a u16x16, &'a u16x16),
        (&'a Cell<u16x16>, &'a Cell<u16x16>),
    ),
    (&'a Cell<u16x16>, &'a Cell<u16x16>),
);

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
pub(super) fn replicate_edges(a: &mut [u16x16], pad: usize, n: usize) {
    let first = a[pad];
    let last = a[pad + n - 1];
    a[..pad].fill(first);
    a[pad + n..n + 2 * pad].fill(last);
}
