//! Loading and storing eight f32 lanes from plain slices, shared by the
//! kernels so each one reads as arithmetic, not as pointer juggling.

use wide::f32x8;

/// Lanes per vector: every kernel walks its slices in chunks of this many.
pub const LANES: usize = 8;

/// The first eight samples of `s` as one vector (an unaligned load; `s` is
/// a `chunks_exact(LANES)` chunk, so the length check folds away).
#[inline(always)]
pub fn load(s: &[f32]) -> f32x8 {
    let a: [f32; LANES] = s[..LANES].try_into().expect("chunk of eight");
    f32x8::new(a)
}

/// Writes a vector to the first eight samples of `s`.
#[inline(always)]
pub fn store(v: f32x8, s: &mut [f32]) {
    s[..LANES].copy_from_slice(v.as_array());
}

/// The lane indices 0..8 as floats, for ramps.
#[inline(always)]
pub fn ramp_offsets() -> f32x8 {
    f32x8::new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
}
