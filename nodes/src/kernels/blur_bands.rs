//! Running the line blur over a plane: the horizontal pass in bands of
//! rows (sixteen bytes of sixteen rows gathered into lanes by transposes),
//! the vertical pass in stripes of byte columns (each row's bytes are
//! already lanes). With more than one scratch, each task takes a band or a
//! run of stripes, on rayon.

use super::lines::{replicate_edges, Scratch, LINES};
use super::{Geometry, Passes};
use crate::kernels::byte_transpose::transpose16x16;
use crate::kernels::word_lanes::{transpose4x4, transpose8x8_u16, widen16};
#[cfg(not(miri))]
use rayon::prelude::*;
use wide::u16x16;

/// Byte columns per vertical stripe, the unit tasks split the columns
/// by: one cache line of each row, so no two tasks write the same line.
const STRIPE: usize = 16 * LINES;

/// A plane that parallel tasks share through a raw pointer. A task makes
/// slices only of the bytes it owns (its band of rows, or its stripes'
/// pieces of each row), so no two live slices overlap; a slice of the
/// whole plane per task would alias.
#[derive(Clone, Copy)]
struct SharedPlane {
    ptr: *mut u8,
    g: Geometry,
}

// SAFETY: `SharedPlane` is a pointer and a shape. Sending or sharing it
// hands out no access by itself; every access goes through `band` or
// `piece`, whose callers guarantee that tasks running at the same time
// never touch the same byte.
unsafe impl Send for SharedPlane {}
// SAFETY: as above.
unsafe impl Sync for SharedPlane {}

impl SharedPlane {
    /// Shares `data`, which must hold the plane `g` (checked).
    fn new(data: &mut [u8], g: Geometry) -> SharedPlane {
        assert!(data.len() >= g.len(), "buffer smaller than the plane");
        SharedPlane {
            ptr: data.as_mut_ptr(),
            g,
        }
    }

    /// Rows `y0 .. y0 + n` (from the first byte of row `y0` to the last
    /// pixel byte of the last row).
    ///
    /// # Safety
    /// The plane's buffer must outlive the slice and be used only through
    /// this `SharedPlane` meanwhile, and no other live slice may cover
    /// these rows.
    unsafe fn band<'a>(&self, y0: usize, n: usize) -> &'a mut [u8] {
        let g = self.g;
        assert!(n > 0 && y0 + n <= g.height, "band outside the plane");
        let len = (n - 1) * g.stride + g.row_bytes();
        // SAFETY: the range lies inside the plane (asserted above, and
        // `new` checked the buffer holds `g.len()` bytes); exclusivity is
        // the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(y0 * g.stride), len) }
    }

    /// Bytes `x .. x + len` of row `y`.
    ///
    /// # Safety
    /// As for [`SharedPlane::band`], for these bytes.
    #[inline(always)]
    unsafe fn piece<'a>(&self, y: usize, x: usize, len: usize) -> &'a mut [u8] {
        let g = self.g;
        assert!(
            y < g.height && x + len <= g.row_bytes(),
            "piece outside the plane"
        );
        // SAFETY: inside row `y` of the plane (asserted); exclusivity is
        // the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(y * g.stride + x), len) }
    }
}

/// Runs `work(t, scratch)` for every scratch in the pool, at the same time
/// when there is more than one: on rayon, or under Miri on scoped threads
/// (rayon's deque uses an epoch collector outside Miri's Stacked Borrows).
fn each_task(pool: &mut [Scratch], work: impl Fn(usize, &mut Scratch) + Send + Sync) {
    if let [one] = pool {
        return work(0, one);
    }
    #[cfg(not(miri))]
    pool.par_iter_mut()
        .enumerate()
        .for_each(|(t, scratch)| work(t, scratch));
    #[cfg(miri)]
    std::thread::scope(|scope| {
        let work = &work;
        for (t, scratch) in pool.iter_mut().enumerate() {
            scope.spawn(move || work(t, scratch));
        }
    });
}

/// Horizontal passes into `dst` in bands of rows, from `src`, or in place
/// when `src` is `None` (each band is read before it is written).
pub(super) fn horizontal<const CH: usize>(
    src: Option<&[u8]>,
    dst: &mut [u8],
    g: Geometry,
    passes: Passes,
    pool: &mut [Scratch],
) {
    let band = band_rows(g.height, pool.len(), 16 / CH);
    let plane = SharedPlane::new(dst, g);
    each_task(pool, |t, scratch| {
        let y0 = t * band;
        if y0 >= g.height {
            return;
        }
        let n = band.min(g.height - y0);
        // SAFETY: `dst` is borrowed mutably for this whole call and used
        // only through `plane` until the tasks end; task `t` owns rows
        // `t * band ..` up to the next task's first row, so the bands of
        // tasks running together are disjoint.
        let out = unsafe { plane.band(y0, n) };
        let src = src.map(|s| &s[y0 * g.stride..]);
        horizontal_band::<CH>(src, out, n, g, passes, scratch);
    });
}

/// Rows per band: the height split evenly across the tasks, in multiples of
/// the rows one line of lanes carries.
fn band_rows(height: usize, tasks: usize, rows: usize) -> usize {
    height.div_ceil(tasks).div_ceil(rows).max(1) * rows
}

/// Blurs the `height` rows of `out` from `src` (or from `out` itself), a
/// line of lanes (16 / CH rows) at a time.
fn horizontal_band<const CH: usize>(
    src: Option<&[u8]>,
    out: &mut [u8],
    height: usize,
    g: Geometry,
    passes: Passes,
    s: &mut Scratch,
) {
    let rows = 16 / CH;
    let band = Geometry { height, ..g };
    let mut y = 0;
    while y < height {
        let n = rows.min(height - y);
        let from: &[u8] = src.unwrap_or(out);
        gather_rows::<CH>(from, band, y, n, passes.pad(), s.input(0));
        s.blur_line(0, g.width, passes);
        scatter_rows::<CH>(s.output(0, g.width), out, band, y, n);
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
        1 => {
            for (b, out) in line.chunks_exact_mut(16).enumerate() {
                let block =
                    std::array::from_fn(|i| r[i][16 * b..16 * b + 16].try_into().expect("16"));
                for (o, column) in out.iter_mut().zip(transpose16x16(block)) {
                    *o = widen16(column);
                }
            }
            g.width / 16 * 16
        }
        2 => {
            for (b, out) in line.chunks_exact_mut(8).enumerate() {
                let block: [[u8; 16]; 8] =
                    std::array::from_fn(|i| r[i][16 * b..16 * b + 16].try_into().expect("16"));
                for (o, px) in out.iter_mut().zip(transpose8x8_u16(block)) {
                    *o = widen16(px);
                }
            }
            g.width / 8 * 8
        }
        _ => {
            for (b, out) in line.chunks_exact_mut(4).enumerate() {
                let block: [[u8; 16]; 4] =
                    std::array::from_fn(|i| r[i][16 * b..16 * b + 16].try_into().expect("16"));
                for (o, px) in out.iter_mut().zip(transpose4x4(block)) {
                    *o = widen16(px);
                }
            }
            g.width / 4 * 4
        }
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
    let rows = &mut out[y * g.stride..];
    let mut store = |i: usize, x: usize, bytes: &[u8]| {
        let at = i * g.stride + x * CH;
        rows[at..at + bytes.len()].copy_from_slice(bytes);
    };
    let done = match CH {
        1 => {
            for (b, block) in samples.chunks_exact(16).enumerate() {
                let block = block.try_into().expect("sixteen samples");
                for (i, row) in transpose16x16(block).iter().enumerate().take(n) {
                    store(i, 16 * b, row);
                }
            }
            g.width / 16 * 16
        }
        2 => {
            for (b, block) in samples.chunks_exact(8).enumerate() {
                let block: [[u8; 16]; 8] = block.try_into().expect("eight samples");
                for (i, row) in transpose8x8_u16(block).iter().enumerate().take(n) {
                    store(i, 8 * b, row);
                }
            }
            g.width / 8 * 8
        }
        _ => {
            for (b, block) in samples.chunks_exact(4).enumerate() {
                let block: [[u8; 16]; 4] = block.try_into().expect("four samples");
                for (i, row) in transpose4x4(block).iter().enumerate().take(n) {
                    store(i, 4 * b, row);
                }
            }
            g.width / 4 * 4
        }
    };
    for (x, b) in samples.iter().enumerate().skip(done) {
        for i in 0..n {
            store(i, x, &b[i * CH..(i + 1) * CH]);
        }
    }
}

/// Vertical passes in place, each task taking a run of stripes.
pub(super) fn vertical(data: &mut [u8], g: Geometry, passes: Passes, pool: &mut [Scratch]) {
    let stripes = g.row_bytes().div_ceil(STRIPE);
    let per_task = stripes.div_ceil(pool.len());
    let plane = SharedPlane::new(data, g);
    each_task(pool, |t, scratch| {
        let first = (per_task * t).min(stripes);
        let end = (per_task * (t + 1)).min(stripes);
        let columns = STRIPE * first..(STRIPE * end).min(g.row_bytes());
        // SAFETY: `data` is borrowed mutably for this whole call and used
        // only through `plane` until the tasks end; task `t` touches only
        // byte columns `columns` of each row, and the tasks' column ranges
        // are disjoint.
        unsafe { vertical_columns(&plane, columns, passes, scratch) };
    });
}

/// Blurs byte columns `columns` down the plane, a stripe (at most
/// [`STRIPE`] bytes) at a time: each row's piece of the stripe is spread
/// over up to four lines of sixteen lanes, each line blurred, and the
/// pieces written back.
///
/// # Safety
/// No other task may touch these columns meanwhile (see
/// [`SharedPlane::piece`]).
unsafe fn vertical_columns(
    plane: &SharedPlane,
    columns: std::ops::Range<usize>,
    passes: Passes,
    s: &mut Scratch,
) {
    let (h, pad) = (plane.g.height, passes.pad());
    for x in columns.clone().step_by(STRIPE) {
        let width = STRIPE.min(columns.end - x);
        let [l0, l1, l2, l3] = s.inputs_from(pad, h);
        for (y, (((a0, a1), a2), a3)) in l0.iter_mut().zip(l1).zip(l2).zip(l3).enumerate() {
            // SAFETY: these columns are this task's (the caller's promise).
            let piece = unsafe { plane.piece(y, x, width) };
            if let Ok(whole) = <&[u8; STRIPE]>::try_from(&*piece) {
                let q: [[u8; 16]; LINES] = std::array::from_fn(|k| {
                    whole[16 * k..16 * k + 16]
                        .try_into()
                        .expect("sixteen bytes")
                });
                [*a0, *a1, *a2, *a3] = q.map(widen16);
            } else {
                for (k, bytes) in piece.chunks(16).enumerate() {
                    *[&mut *a0, &mut *a1, &mut *a2, &mut *a3][k] = widen16(sixteen(bytes));
                }
            }
        }
        for k in 0..width.div_ceil(16) {
            replicate_edges(s.input(k), pad, h);
            s.blur_line(k, h, passes);
        }
        let [o0, o1, o2, o3] = s.outputs(h);
        for (y, (((b0, b1), b2), b3)) in o0.iter().zip(o1).zip(o2).zip(o3).enumerate() {
            // SAFETY: as above.
            let piece = unsafe { plane.piece(y, x, width) };
            if let Ok(whole) = <&mut [u8; STRIPE]>::try_from(&mut *piece) {
                for (k, bytes) in [b0, b1, b2, b3].into_iter().enumerate() {
                    whole[16 * k..16 * k + 16].copy_from_slice(bytes);
                }
            } else {
                for (k, bytes) in piece.chunks_mut(16).enumerate() {
                    bytes.copy_from_slice(&[b0, b1, b2, b3][k][..bytes.len()]);
                }
            }
        }
    }
}

/// Up to sixteen bytes, zero-filled to sixteen.
#[inline(always)]
fn sixteen(bytes: &[u8]) -> [u8; 16] {
    match <[u8; 16]>::try_from(bytes) {
        Ok(whole) => whole,
        Err(_) => {
            let mut out = [0u8; 16];
            out[..bytes.len()].copy_from_slice(bytes);
            out
        }
    }
}
