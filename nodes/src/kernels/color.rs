//! Colour conversion between RGBA and 8-bit YUV 4:2:0 (i420 planar, nv12
//! interleaved), BT.601 or BT.709, limited or full range.
//!
//! Arithmetic is 16-bit fixed point in `i32` lanes, so the `wide` kernels
//! and their scalar references give bit-identical results. RGBA to 4:2:0
//! averages each 2x2 block's RGB before computing chroma (a box filter, as
//! libyuv does); 4:2:0 to RGBA takes each chroma sample for its 2x2 block
//! (nearest, as libyuv's fast path does). Odd widths and heights replicate
//! the last column or row. Frames are tightly packed (stride = row bytes).

use wide::i32x8;

/// Fixed-point fraction bits.
const S: u32 = 16;
const HALF: i32 = 1 << (S - 1);

/// Which luma weights relate RGB to YUV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matrix {
    /// ITU-R BT.601 (SD video; what untagged YUV is taken to be).
    #[default]
    Bt601,
    /// ITU-R BT.709 (HD video).
    Bt709,
}

/// Which code values YUV uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    /// Y in 16..=235, chroma in 16..=240 (video, "tv" range).
    #[default]
    Limited,
    /// Every code 0..=255 (JPEG, "pc" range).
    Full,
}

/// A YUV flavour: matrix and range. The default, BT.601 limited, is what
/// ffmpeg assumes for untagged YUV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YuvSpec {
    /// Luma weights.
    pub matrix: Matrix,
    /// Code range.
    pub range: Range,
}

impl YuvSpec {
    /// Luma weights `(kr, kb)`.
    pub fn weights(self) -> (f64, f64) {
        match self.matrix {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
        }
    }

    /// `(luma offset, luma scale, chroma scale)` from 0..=255 RGB units.
    pub fn range_params(self) -> (f64, f64, f64) {
        match self.range {
            Range::Limited => (16.0, 219.0 / 255.0, 224.0 / 255.0),
            Range::Full => (0.0, 1.0, 1.0),
        }
    }
}

fn fixed(x: f64) -> i32 {
    (x * f64::from(1u32 << S)).round() as i32
}

/// Fixed-point RGB to YUV coefficients, derived once per spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToYuv {
    y: [i32; 3],
    u: [i32; 3],
    v: [i32; 3],
    y_bias: i32,
}

impl ToYuv {
    /// Coefficients for `spec`; rows are adjusted so white maps exactly to
    /// the top luma code and greys to neutral chroma.
    pub fn new(spec: YuvSpec) -> ToYuv {
        let (kr, kb) = spec.weights();
        let (yo, ys, cs) = spec.range_params();
        let (yr, yb) = (fixed(ys * kr), fixed(ys * kb));
        let yg = fixed(ys) - yr - yb;
        let du = cs / (2.0 * (1.0 - kb));
        let dv = cs / (2.0 * (1.0 - kr));
        let (ur, ub) = (fixed(-kr * du), fixed((1.0 - kb) * du));
        let (vr, vb) = (fixed((1.0 - kr) * dv), fixed(-kb * dv));
        ToYuv {
            y: [yr, yg, yb],
            u: [ur, -ur - ub, ub],
            v: [vr, -vr - vb, vb],
            y_bias: fixed(yo) + HALF,
        }
    }
}

/// Floating-point RGB to YUV for single colours (lookup tables and
/// pictures built once; per-frame work uses the fixed-point kernels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToYuvFloat {
    spec: YuvSpec,
}

impl ToYuvFloat {
    /// A converter for `spec`.
    pub fn new(spec: YuvSpec) -> ToYuvFloat {
        ToYuvFloat { spec }
    }

    /// The rounded YUV codes of an RGB colour (0..=255 per channel).
    pub fn convert(&self, r: f64, g: f64, b: f64) -> (u8, u8, u8) {
        let (kr, kb) = self.spec.weights();
        let (yo, ys, cs) = self.spec.range_params();
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let u = 128.0 + cs * (b - y) / (2.0 * (1.0 - kb));
        let v = 128.0 + cs * (r - y) / (2.0 * (1.0 - kr));
        let q = |x: f64| x.round().clamp(0.0, 255.0) as u8;
        (q(yo + ys * y), q(u), q(v))
    }
}

/// Fixed-point YUV to RGB coefficients, derived once per spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToRgb {
    y: i32,
    y_off: i32,
    rv: i32,
    gu: i32,
    gv: i32,
    bu: i32,
}

impl ToRgb {
    /// Coefficients for `spec`.
    pub fn new(spec: YuvSpec) -> ToRgb {
        let (kr, kb) = spec.weights();
        let kg = 1.0 - kr - kb;
        let (yo, ys, cs) = spec.range_params();
        ToRgb {
            y: fixed(1.0 / ys),
            y_off: yo as i32,
            rv: fixed(2.0 * (1.0 - kr) / cs),
            gu: fixed(-2.0 * kb * (1.0 - kb) / (kg * cs)),
            gv: fixed(-2.0 * kr * (1.0 - kr) / (kg * cs)),
            bu: fixed(2.0 * (1.0 - kb) / cs),
        }
    }
}

/// Read access to one row of chroma pairs (planar U and V, or interleaved).
pub trait UvRow {
    /// Chroma pair `k` as `(u, v)`.
    fn get(&self, k: usize) -> (i32, i32);
    /// Chroma pairs `k0..k0 + 8` as U and V lanes.
    fn get8(&self, k0: usize) -> ([i32; 8], [i32; 8]);
}

/// Write access to one row of chroma pairs.
pub trait UvRowMut {
    /// Stores chroma pair `k`.
    fn set(&mut self, k: usize, u: u8, v: u8);
    /// Stores chroma pairs `k0..k0 + 8` from lanes already in 0..=255.
    fn set8(&mut self, k0: usize, u: [i32; 8], v: [i32; 8]);
}

/// A planar chroma row: separate U and V slices (i420).
#[derive(Debug)]
pub struct Planar<T>(pub T, pub T);
/// An interleaved chroma row: U, V, U, V... (nv12).
#[derive(Debug)]
pub struct Interleaved<T>(pub T);

impl UvRow for Planar<&[u8]> {
    #[inline(always)]
    fn get(&self, k: usize) -> (i32, i32) {
        (i32::from(self.0[k]), i32::from(self.1[k]))
    }

    #[inline(always)]
    fn get8(&self, k0: usize) -> ([i32; 8], [i32; 8]) {
        let u: &[u8; 8] = self.0[k0..k0 + 8].try_into().expect("8 samples");
        let v: &[u8; 8] = self.1[k0..k0 + 8].try_into().expect("8 samples");
        (u.map(i32::from), v.map(i32::from))
    }
}

impl UvRow for Interleaved<&[u8]> {
    #[inline(always)]
    fn get(&self, k: usize) -> (i32, i32) {
        (i32::from(self.0[2 * k]), i32::from(self.0[2 * k + 1]))
    }

    #[inline(always)]
    fn get8(&self, k0: usize) -> ([i32; 8], [i32; 8]) {
        let p: &[u8; 16] = self.0[2 * k0..2 * k0 + 16].try_into().expect("8 pairs");
        (
            std::array::from_fn(|k| i32::from(p[2 * k])),
            std::array::from_fn(|k| i32::from(p[2 * k + 1])),
        )
    }
}

impl UvRowMut for Planar<&mut [u8]> {
    #[inline(always)]
    fn set(&mut self, k: usize, u: u8, v: u8) {
        self.0[k] = u;
        self.1[k] = v;
    }

    #[inline(always)]
    fn set8(&mut self, k0: usize, u: [i32; 8], v: [i32; 8]) {
        let du: &mut [u8; 8] = (&mut self.0[k0..k0 + 8]).try_into().expect("8 samples");
        *du = u.map(|x| x as u8);
        let dv: &mut [u8; 8] = (&mut self.1[k0..k0 + 8]).try_into().expect("8 samples");
        *dv = v.map(|x| x as u8);
    }
}

impl UvRowMut for Interleaved<&mut [u8]> {
    #[inline(always)]
    fn set(&mut self, k: usize, u: u8, v: u8) {
        self.0[2 * k] = u;
        self.0[2 * k + 1] = v;
    }

    #[inline(always)]
    fn set8(&mut self, k0: usize, u: [i32; 8], v: [i32; 8]) {
        let d: &mut [u8; 16] = (&mut self.0[2 * k0..2 * k0 + 16])
            .try_into()
            .expect("8 pairs");
        *d = std::array::from_fn(|i| if i % 2 == 0 { u[i / 2] } else { v[i / 2] } as u8);
    }
}

#[inline(always)]
fn rgb_at(row: &[u8], x: usize) -> [i32; 3] {
    let p = &row[x * 4..x * 4 + 3];
    [i32::from(p[0]), i32::from(p[1]), i32::from(p[2])]
}

#[inline(always)]
fn clamp_u8(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

#[inline(always)]
fn luma(c: &ToYuv, p: [i32; 3]) -> u8 {
    clamp_u8((c.y[0] * p[0] + c.y[1] * p[1] + c.y[2] * p[2] + c.y_bias) >> S)
}

/// Chroma from RGB sums over four pixels.
#[inline(always)]
fn chroma4(c: &ToYuv, s: [i32; 3]) -> (u8, u8) {
    let bias = (128 << (S + 2)) + (1 << (S + 1));
    let u = (c.u[0] * s[0] + c.u[1] * s[1] + c.u[2] * s[2] + bias) >> (S + 2);
    let v = (c.v[0] * s[0] + c.v[1] * s[1] + c.v[2] * s[2] + bias) >> (S + 2);
    (clamp_u8(u), clamp_u8(v))
}

/// Scalar reference for one row pair from column pair `k0` on: writes luma
/// of both rows (`y1` is `None` for the last row of an odd height, when `r1`
/// repeats `r0`) and one chroma row.
#[allow(clippy::too_many_arguments)]
fn rgba_pair_scalar<O: UvRowMut>(
    r0: &[u8],
    r1: &[u8],
    y0: &mut [u8],
    mut y1: Option<&mut [u8]>,
    uv: &mut O,
    width: usize,
    k0: usize,
    c: &ToYuv,
) {
    for k in k0..width.div_ceil(2) {
        let x0 = 2 * k;
        let x1 = (x0 + 1).min(width - 1);
        let ps = [
            rgb_at(r0, x0),
            rgb_at(r0, x1),
            rgb_at(r1, x0),
            rgb_at(r1, x1),
        ];
        y0[x0] = luma(c, ps[0]);
        if x1 != x0 {
            y0[x1] = luma(c, ps[1]);
        }
        if let Some(y1) = y1.as_deref_mut() {
            y1[x0] = luma(c, ps[2]);
            if x1 != x0 {
                y1[x1] = luma(c, ps[3]);
            }
        }
        let mut s = [0; 3];
        for p in ps {
            for i in 0..3 {
                s[i] += p[i];
            }
        }
        let (u, v) = chroma4(c, s);
        uv.set(k, u, v);
    }
}

/// R, G, B of the 8 even and the 8 odd pixels of the 16 from pixel `x0`:
/// each pixel is loaded as one little-endian word and its bytes masked out.
#[inline(always)]
fn load16(row: &[u8], x0: usize) -> ([i32x8; 3], [i32x8; 3]) {
    let chunk: &[u8; 64] = row[x0 * 4..x0 * 4 + 64].try_into().expect("16 pixels");
    let word = |k: usize| {
        i32::from_le_bytes([
            chunk[4 * k],
            chunk[4 * k + 1],
            chunk[4 * k + 2],
            chunk[4 * k + 3],
        ])
    };
    let even = i32x8::from(std::array::from_fn::<i32, 8, _>(|k| word(2 * k)));
    let odd = i32x8::from(std::array::from_fn::<i32, 8, _>(|k| word(2 * k + 1)));
    let m = i32x8::splat(0xFF);
    let split = |p: i32x8| [p & m, (p >> 8u32) & m, (p >> 16u32) & m];
    (split(even), split(odd))
}

#[inline(always)]
fn dot8(w: [i32; 3], p: &[i32x8; 3], bias: i32, shift: u32) -> [i32; 8] {
    let acc = p[0] * i32x8::splat(w[0])
        + p[1] * i32x8::splat(w[1])
        + p[2] * i32x8::splat(w[2])
        + i32x8::splat(bias);
    (acc >> shift)
        .max(i32x8::splat(0))
        .min(i32x8::splat(255))
        .to_array()
}

#[inline(always)]
fn store_luma(y: &mut [u8], x0: usize, even: [i32; 8], odd: [i32; 8]) {
    let out: &mut [u8; 16] = (&mut y[x0..x0 + 16]).try_into().expect("16 pixels");
    *out = std::array::from_fn(|i| if i % 2 == 0 { even[i / 2] } else { odd[i / 2] } as u8);
}

/// SIMD row pair: 16 pixels (8 chroma pairs) per step, scalar tail.
#[allow(clippy::too_many_arguments)]
fn rgba_pair_simd<O: UvRowMut>(
    r0: &[u8],
    r1: &[u8],
    y0: &mut [u8],
    y1: &mut [u8],
    uv: &mut O,
    width: usize,
    c: &ToYuv,
) {
    let blocks = width / 16;
    let cbias = (128 << (S + 2)) + (1 << (S + 1));
    for blk in 0..blocks {
        let x0 = blk * 16;
        let (e0, o0) = load16(r0, x0);
        let (e1, o1) = load16(r1, x0);
        store_luma(
            y0,
            x0,
            dot8(c.y, &e0, c.y_bias, S),
            dot8(c.y, &o0, c.y_bias, S),
        );
        store_luma(
            y1,
            x0,
            dot8(c.y, &e1, c.y_bias, S),
            dot8(c.y, &o1, c.y_bias, S),
        );
        let sum = [
            e0[0] + o0[0] + e1[0] + o1[0],
            e0[1] + o0[1] + e1[1] + o1[1],
            e0[2] + o0[2] + e1[2] + o1[2],
        ];
        let u = dot8(c.u, &sum, cbias, S + 2);
        let v = dot8(c.v, &sum, cbias, S + 2);
        uv.set8(x0 / 2, u, v);
    }
    rgba_pair_scalar(r0, r1, y0, Some(y1), uv, width, blocks * 8, c);
}

/// Shared driver: walks row pairs, handing each to the SIMD or scalar row.
#[allow(clippy::too_many_arguments)]
fn rgba_to_yuv<O: UvRowMut, F: FnMut(usize) -> O>(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    mut uv_row: F,
    spec: YuvSpec,
    simd: bool,
) {
    let c = ToYuv::new(spec);
    let row = width * 4;
    for (j, ys) in y[..width * height].chunks_mut(2 * width).enumerate() {
        let r0 = &src[2 * j * row..(2 * j + 1) * row];
        let mut uv = uv_row(j);
        if ys.len() == 2 * width {
            let r1 = &src[(2 * j + 1) * row..(2 * j + 2) * row];
            let (y0, y1) = ys.split_at_mut(width);
            if simd {
                rgba_pair_simd(r0, r1, y0, y1, &mut uv, width, &c);
            } else {
                rgba_pair_scalar(r0, r1, y0, Some(y1), &mut uv, width, 0, &c);
            }
        } else {
            rgba_pair_scalar(r0, r0, ys, None, &mut uv, width, 0, &c);
        }
    }
}

fn check_rgba(src: &[u8], width: usize, height: usize) {
    assert!(src.len() >= width * height * 4, "rgba buffer too small");
}

/// RGBA to i420 (SIMD). `u` and `v` hold `ceil(w/2) x ceil(h/2)` samples.
pub fn rgba_to_i420(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
    spec: YuvSpec,
) {
    rgba_to_i420_impl(src, width, height, y, u, v, spec, true);
}

/// Scalar reference for [`rgba_to_i420`].
pub fn rgba_to_i420_scalar(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
    spec: YuvSpec,
) {
    rgba_to_i420_impl(src, width, height, y, u, v, spec, false);
}

#[allow(clippy::too_many_arguments)]
fn rgba_to_i420_impl(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
    spec: YuvSpec,
    simd: bool,
) {
    check_rgba(src, width, height);
    let cw = width.div_ceil(2);
    let mut urows = u.chunks_mut(cw);
    let mut vrows = v.chunks_mut(cw);
    let rows = move |_| {
        Planar(
            urows.next().expect("u plane too small"),
            vrows.next().expect("v plane too small"),
        )
    };
    rgba_to_yuv(src, width, height, y, rows, spec, simd);
}

/// RGBA to nv12 (SIMD). `uv` holds `ceil(h/2)` rows of `2*ceil(w/2)` bytes.
pub fn rgba_to_nv12(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    uv: &mut [u8],
    spec: YuvSpec,
) {
    rgba_to_nv12_impl(src, width, height, y, uv, spec, true);
}

/// Scalar reference for [`rgba_to_nv12`].
pub fn rgba_to_nv12_scalar(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    uv: &mut [u8],
    spec: YuvSpec,
) {
    rgba_to_nv12_impl(src, width, height, y, uv, spec, false);
}

fn rgba_to_nv12_impl(
    src: &[u8],
    width: usize,
    height: usize,
    y: &mut [u8],
    uv: &mut [u8],
    spec: YuvSpec,
    simd: bool,
) {
    check_rgba(src, width, height);
    let mut rows = uv.chunks_mut(2 * width.div_ceil(2));
    let next = move |_| Interleaved(rows.next().expect("uv plane too small"));
    rgba_to_yuv(src, width, height, y, next, spec, simd);
}

/// Scalar reference for one output row of YUV to RGBA from pixel `x0` on.
fn yuv_row_scalar<I: UvRow>(y: &[u8], uv: &I, dst: &mut [u8], width: usize, x0: usize, c: &ToRgb) {
    for x in x0..width {
        let (u, v) = uv.get(x / 2);
        let (u, v) = (u - 128, v - 128);
        let yy = c.y * (i32::from(y[x]) - c.y_off) + HALF;
        let p = &mut dst[x * 4..x * 4 + 4];
        p[0] = clamp_u8((yy + c.rv * v) >> S);
        p[1] = clamp_u8((yy + c.gu * u + c.gv * v) >> S);
        p[2] = clamp_u8((yy + c.bu * u) >> S);
        p[3] = 255;
    }
}

#[inline(always)]
fn clamp8(x: i32x8) -> i32x8 {
    (x >> S).max(i32x8::splat(0)).min(i32x8::splat(255))
}

#[inline(always)]
fn pack(r: i32x8, g: i32x8, b: i32x8) -> [i32; 8] {
    let px: i32x8 = r | (g << 8u32) | (b << 16u32) | i32x8::splat(255 << 24);
    px.to_array()
}

/// SIMD row of YUV to RGBA: 16 pixels (8 chroma pairs) per step.
fn yuv_row_simd<I: UvRow>(y: &[u8], uv: &I, dst: &mut [u8], width: usize, c: &ToRgb) {
    let blocks = width / 16;
    let (off, scale, half) = (i32x8::splat(c.y_off), i32x8::splat(c.y), i32x8::splat(HALF));
    let bias = i32x8::splat(128);
    for blk in 0..blocks {
        let x0 = blk * 16;
        let (ua, va) = uv.get8(x0 / 2);
        let ys: &[u8; 16] = y[x0..x0 + 16].try_into().expect("16 pixels");
        let out: &mut [u8; 64] = (&mut dst[x0 * 4..x0 * 4 + 64])
            .try_into()
            .expect("16 pixels");
        // Eight consecutive pixels at a time, each chroma sample used twice,
        // so results come out in pixel order and store as whole words.
        for (part, out) in out.chunks_exact_mut(32).enumerate() {
            let dup = |a: &[i32; 8]| {
                i32x8::from(std::array::from_fn::<i32, 8, _>(|i| a[4 * part + i / 2]))
            };
            let (u, v) = (dup(&ua) - bias, dup(&va) - bias);
            let yv = i32x8::from(std::array::from_fn::<i32, 8, _>(|i| {
                i32::from(ys[8 * part + i])
            }));
            let yy = (yv - off) * scale + half;
            let r = clamp8(yy + v * i32x8::splat(c.rv));
            let g = clamp8(yy + u * i32x8::splat(c.gu) + v * i32x8::splat(c.gv));
            let b = clamp8(yy + u * i32x8::splat(c.bu));
            for (d, w) in out.chunks_exact_mut(4).zip(pack(r, g, b)) {
                d.copy_from_slice(&w.to_le_bytes());
            }
        }
    }
    yuv_row_scalar(y, uv, dst, width, blocks * 16, c);
}

fn yuv_to_rgba<I: UvRow, F: FnMut(usize) -> I>(
    y: &[u8],
    mut uv_row: F,
    width: usize,
    height: usize,
    dst: &mut [u8],
    spec: YuvSpec,
    simd: bool,
) {
    assert!(dst.len() >= width * height * 4, "rgba buffer too small");
    let c = ToRgb::new(spec);
    for (j, out) in dst[..width * height * 4]
        .chunks_exact_mut(width * 4)
        .enumerate()
    {
        let yr = &y[j * width..(j + 1) * width];
        let uv = uv_row(j / 2);
        if simd {
            yuv_row_simd(yr, &uv, out, width, &c);
        } else {
            yuv_row_scalar(yr, &uv, out, width, 0, &c);
        }
    }
}

/// i420 to RGBA (SIMD), alpha opaque.
pub fn i420_to_rgba(
    y: &[u8],
    u: &[u8],
    v: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    spec: YuvSpec,
) {
    let cw = width.div_ceil(2);
    let rows = |j: usize| Planar(&u[j * cw..(j + 1) * cw], &v[j * cw..(j + 1) * cw]);
    yuv_to_rgba(y, rows, width, height, dst, spec, true);
}

/// Scalar reference for [`i420_to_rgba`].
pub fn i420_to_rgba_scalar(
    y: &[u8],
    u: &[u8],
    v: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    spec: YuvSpec,
) {
    let cw = width.div_ceil(2);
    let rows = |j: usize| Planar(&u[j * cw..(j + 1) * cw], &v[j * cw..(j + 1) * cw]);
    yuv_to_rgba(y, rows, width, height, dst, spec, false);
}

/// nv12 to RGBA (SIMD), alpha opaque.
pub fn nv12_to_rgba(
    y: &[u8],
    uv: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    spec: YuvSpec,
) {
    let cw = 2 * width.div_ceil(2);
    let rows = |j: usize| Interleaved(&uv[j * cw..(j + 1) * cw]);
    yuv_to_rgba(y, rows, width, height, dst, spec, true);
}

/// Scalar reference for [`nv12_to_rgba`].
pub fn nv12_to_rgba_scalar(
    y: &[u8],
    uv: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    spec: YuvSpec,
) {
    let cw = 2 * width.div_ceil(2);
    let rows = |j: usize| Interleaved(&uv[j * cw..(j + 1) * cw]);
    yuv_to_rgba(y, rows, width, height, dst, spec, false);
}

/// Interleaves planar U and V into nv12's UV plane (i420 to nv12 chroma;
/// luma is a plain copy). A plain loop on purpose: LLVM turns it into byte
/// shuffles that measured faster than a `wide` round trip (54 us against
/// 68 us per 720p frame), so there is no separate SIMD version.
pub fn interleave_uv(u: &[u8], v: &[u8], uv: &mut [u8]) {
    for ((p, &a), &b) in uv.chunks_exact_mut(2).zip(u).zip(v) {
        p[0] = a;
        p[1] = b;
    }
}

/// Splits nv12's UV plane into planar U and V (nv12 to i420 chroma). A
/// plain loop for the same reason as [`interleave_uv`] (75 us against
/// 408 us with `wide::u8x32` loads per 720p frame).
pub fn deinterleave_uv(uv: &[u8], u: &mut [u8], v: &mut [u8]) {
    for ((p, a), b) in uv.chunks_exact(2).zip(u.iter_mut()).zip(v.iter_mut()) {
        *a = p[0];
        *b = p[1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPECS: [YuvSpec; 4] = [
        YuvSpec {
            matrix: Matrix::Bt601,
            range: Range::Limited,
        },
        YuvSpec {
            matrix: Matrix::Bt601,
            range: Range::Full,
        },
        YuvSpec {
            matrix: Matrix::Bt709,
            range: Range::Limited,
        },
        YuvSpec {
            matrix: Matrix::Bt709,
            range: Range::Full,
        },
    ];

    fn planes(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let c = w.div_ceil(2) * h.div_ceil(2);
        (vec![0; w * h], vec![0; c], vec![0; c])
    }

    /// Floating-point reference of one pixel's YUV from the spec's formula.
    fn yuv_float(spec: YuvSpec, r: f64, g: f64, b: f64) -> (f64, f64, f64) {
        let (kr, kb) = spec.weights();
        let (yo, ys, cs) = spec.range_params();
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let u = (b - y) / (2.0 * (1.0 - kb));
        let v = (r - y) / (2.0 * (1.0 - kr));
        (yo + ys * y, 128.0 + cs * u, 128.0 + cs * v)
    }

    #[test]
    fn known_values_match_the_standards() {
        let lim = SPECS[0];
        let mut rgba = vec![255u8; 4 * 4];
        let (mut y, mut u, mut v) = planes(2, 2);
        rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, lim);
        assert_eq!((y[0], u[0], v[0]), (235, 128, 128), "white, limited");
        rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, SPECS[1]);
        assert_eq!((y[0], u[0], v[0]), (255, 128, 128), "white, full");
        for p in rgba.chunks_exact_mut(4) {
            p.copy_from_slice(&[0, 0, 0, 255]);
        }
        rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, lim);
        assert_eq!((y[0], u[0], v[0]), (16, 128, 128), "black, limited");
        // Pure red in BT.601 limited: Y 81, Cb 90, Cr 240 (Rec. 601 tables).
        for p in rgba.chunks_exact_mut(4) {
            p.copy_from_slice(&[255, 0, 0, 255]);
        }
        rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, lim);
        assert_eq!((y[0], u[0], v[0]), (81, 90, 240));
        // Pure red in BT.709 limited: Y 63, Cb 102, Cr 240.
        rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, SPECS[2]);
        assert_eq!((y[0], u[0], v[0]), (63, 102, 240));
    }

    #[test]
    fn flat_colours_match_the_float_formula_within_one_code() {
        for spec in SPECS {
            for &(r, g, b) in &[
                (12u8, 200u8, 99u8),
                (255, 128, 0),
                (3, 3, 250),
                (90, 90, 90),
            ] {
                let rgba: Vec<u8> = [r, g, b, 255].repeat(4);
                let (mut y, mut u, mut v) = planes(2, 2);
                rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, spec);
                let (fy, fu, fv) = yuv_float(spec, r.into(), g.into(), b.into());
                for (got, want) in [(y[0], fy), (u[0], fu), (v[0], fv)] {
                    assert!((f64::from(got) - want.clamp(0.0, 255.0)).abs() <= 0.51);
                }
                let mut back = vec![0u8; 16];
                i420_to_rgba(&y, &u, &v, 2, 2, &mut back, spec);
                for (got, want) in back[..3].iter().zip([r, g, b]) {
                    let tol = if spec.range == Range::Limited { 2 } else { 1 };
                    assert!(
                        got.abs_diff(want) <= tol,
                        "{spec:?} {:?} -> {:?}",
                        (r, g, b),
                        &back[..3]
                    );
                }
            }
        }
    }

    #[test]
    fn chroma_is_the_average_of_its_two_by_two_block() {
        // Left column red, right column blue: chroma is that of magenta-ish
        // average (127.5, 0, 127.5), luma per pixel.
        let mut rgba = Vec::new();
        for _ in 0..2 {
            rgba.extend_from_slice(&[255, 0, 0, 255, 0, 0, 255, 255]);
        }
        let (mut y, mut u, mut v) = planes(2, 2);
        rgba_to_i420(&rgba, 2, 2, &mut y, &mut u, &mut v, SPECS[0]);
        let (_, fu, fv) = yuv_float(SPECS[0], 127.5, 0.0, 127.5);
        assert!((f64::from(u[0]) - fu).abs() <= 0.51);
        assert!((f64::from(v[0]) - fv).abs() <= 0.51);
        assert_eq!((y[0], y[1]), (81, 41));
    }

    fn arb_image() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
        (1usize..70, 1usize..9).prop_flat_map(|(w, h)| {
            (
                Just(w),
                Just(h),
                proptest::collection::vec(any::<u8>(), w * h * 4),
            )
        })
    }

    fn arb_spec() -> impl Strategy<Value = YuvSpec> {
        (0usize..4).prop_map(|i| SPECS[i])
    }

    proptest! {
        #[test]
        fn rgba_to_i420_simd_matches_scalar((w, h, rgba) in arb_image(), spec in arb_spec()) {
            let (mut y, mut u, mut v) = planes(w, h);
            let (mut y2, mut u2, mut v2) = planes(w, h);
            rgba_to_i420(&rgba, w, h, &mut y, &mut u, &mut v, spec);
            rgba_to_i420_scalar(&rgba, w, h, &mut y2, &mut u2, &mut v2, spec);
            prop_assert_eq!((y, u, v), (y2, u2, v2));
        }

        #[test]
        fn rgba_to_nv12_simd_matches_scalar_and_i420((w, h, rgba) in arb_image(), spec in arb_spec()) {
            let c = w.div_ceil(2) * h.div_ceil(2);
            let (mut y, mut uv) = (vec![0; w * h], vec![0; 2 * c]);
            let (mut y2, mut uv2) = (vec![0; w * h], vec![0; 2 * c]);
            rgba_to_nv12(&rgba, w, h, &mut y, &mut uv, spec);
            rgba_to_nv12_scalar(&rgba, w, h, &mut y2, &mut uv2, spec);
            prop_assert_eq!(&y, &y2);
            prop_assert_eq!(&uv, &uv2);
            let (mut y3, mut u3, mut v3) = planes(w, h);
            rgba_to_i420(&rgba, w, h, &mut y3, &mut u3, &mut v3, spec);
            let mut uv3 = vec![0; 2 * c];
            interleave_uv(&u3, &v3, &mut uv3);
            prop_assert_eq!(&y, &y3);
            prop_assert_eq!(uv, uv3);
        }

        #[test]
        fn i420_to_rgba_simd_matches_scalar((w, h, data) in arb_image(), spec in arb_spec()) {
            let c = w.div_ceil(2) * h.div_ceil(2);
            let (y, rest) = data.split_at(w * h);
            let (u, v) = (&rest[..c], &rest[c..2 * c]);
            let mut a = vec![0u8; w * h * 4];
            let mut b = vec![0u8; w * h * 4];
            i420_to_rgba(y, u, v, w, h, &mut a, spec);
            i420_to_rgba_scalar(y, u, v, w, h, &mut b, spec);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn nv12_to_rgba_simd_matches_scalar_and_i420((w, h, data) in arb_image(), spec in arb_spec()) {
            let c = w.div_ceil(2) * h.div_ceil(2);
            let (y, rest) = data.split_at(w * h);
            let uv = &rest[..2 * c];
            let mut a = vec![0u8; w * h * 4];
            let mut b = vec![0u8; w * h * 4];
            nv12_to_rgba(y, uv, w, h, &mut a, spec);
            nv12_to_rgba_scalar(y, uv, w, h, &mut b, spec);
            prop_assert_eq!(&a, &b);
            let (mut u, mut v) = (vec![0; c], vec![0; c]);
            deinterleave_uv(uv, &mut u, &mut v);
            i420_to_rgba_scalar(y, &u, &v, w, h, &mut b, spec);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn interleave_and_deinterleave_invert_each_other(u in proptest::collection::vec(any::<u8>(), 0..100)) {
            let v: Vec<u8> = u.iter().map(|x| x.wrapping_mul(7)).collect();
            let mut a = vec![0; 2 * u.len()];
            interleave_uv(&u, &v, &mut a);
            for k in 0..u.len() {
                prop_assert_eq!((a[2 * k], a[2 * k + 1]), (u[k], v[k]));
            }
            let (mut u2, mut v2) = (vec![0; u.len()], vec![0; u.len()]);
            deinterleave_uv(&a, &mut u2, &mut v2);
            prop_assert_eq!(&u2, &u);
            prop_assert_eq!(&v2, &v);
        }

        #[test]
        fn round_trip_of_smooth_images_stays_close(w in 2usize..40, h in 2usize..10, spec in arb_spec(), seed in any::<u8>()) {
            // 2x2 blocks of one colour survive 4:2:0 up to rounding.
            let mut rgba = vec![0u8; w * h * 4];
            for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
                let (x, y) = ((i % w) / 2, (i / w) / 2);
                let s = seed as usize;
                p.copy_from_slice(&[((x * 37 + s) % 256) as u8, ((y * 53 + s * 3) % 256) as u8, ((x * y * 11 + s) % 256) as u8, 255]);
            }
            let (mut y, mut u, mut v) = planes(w, h);
            rgba_to_i420(&rgba, w, h, &mut y, &mut u, &mut v, spec);
            let mut back = vec![0u8; w * h * 4];
            i420_to_rgba(&y, &u, &v, w, h, &mut back, spec);
            let tol = if spec.range == Range::Limited { 3 } else { 2 };
            for (a, b) in rgba.iter().zip(&back) {
                prop_assert!(a.abs_diff(*b) <= tol, "{} vs {}", a, b);
            }
        }
    }
}
