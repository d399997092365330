//! 16-bit PCM conversion, the format of most WAV files and of call audio.
//!
//! Full scale is 32768: `i16 -> f32` divides by it (exactly, by a power of
//! two), and `f32 -> i16` multiplies by it, rounds to nearest (ties to even,
//! as the CPU's conversion does) and clips to `-32768..=32767`: an overload
//! saturates, it never wraps around into a loud click of the other sign.
//! NaN becomes 0.

use super::lanes::{load, store, LANES};
use wide::{f32x8, i16x8, i32x8};

/// Scale between a full-scale float (1.0) and 16-bit PCM.
pub const FULL_SCALE: f32 = 32768.0;

/// Converts floats to 16-bit PCM with rounding and clipping
/// (`x` at least as long as `out`).
pub fn f32_to_i16(out: &mut [i16], x: &[f32]) {
    let x = &x[..out.len()];
    let scale = f32x8::splat(FULL_SCALE);
    let mut o = out.chunks_exact_mut(LANES);
    let mut i = x.chunks_exact(LANES);
    for (o, i) in (&mut o).zip(&mut i) {
        let wide32: i32x8 = (load(i) * scale).round_int();
        o.copy_from_slice(i16x8::from_i32x8_saturate(wide32).as_array());
    }
    for (o, i) in o.into_remainder().iter_mut().zip(i.remainder()) {
        *o = to_i16(*i);
    }
}

/// Scalar reference for [`f32_to_i16`].
pub fn f32_to_i16_scalar(out: &mut [i16], x: &[f32]) {
    for (o, i) in out.iter_mut().zip(x) {
        *o = to_i16(*i);
    }
}

/// One sample to 16-bit PCM (`as` saturates and maps NaN to 0).
fn to_i16(x: f32) -> i16 {
    ((x * FULL_SCALE).round_ties_even() as i32).clamp(-32768, 32767) as i16
}

/// Converts 16-bit PCM to floats in `-1.0..1.0` (`x` at least as long as
/// `out`).
pub fn i16_to_f32(out: &mut [f32], x: &[i16]) {
    let x = &x[..out.len()];
    let scale = f32x8::splat(1.0 / FULL_SCALE);
    let mut o = out.chunks_exact_mut(LANES);
    let mut i = x.chunks_exact(LANES);
    for (o, i) in (&mut o).zip(&mut i) {
        let v = f32x8::from_i32x8(i32x8::from_i16x8(i16x8::from_slice_unaligned(i)));
        store(v * scale, o);
    }
    for (o, i) in o.into_remainder().iter_mut().zip(i.remainder()) {
        *o = f32::from(*i) * (1.0 / FULL_SCALE);
    }
}

/// Scalar reference for [`i16_to_f32`].
pub fn i16_to_f32_scalar(out: &mut [f32], x: &[i16]) {
    for (o, i) in out.iter_mut().zip(x) {
        *o = f32::from(*i) * (1.0 / FULL_SCALE);
    }
}

/// Converts 16-bit little-endian PCM bytes, as a mono WAV file stores
/// them, straight to floats in `-1.0..1.0` (`bytes` at least twice as long
/// as `out`): one pass from the read buffer to the frame, with no `i16`
/// buffer between.
pub fn i16le_to_f32(out: &mut [f32], bytes: &[u8]) {
    let bytes = &bytes[..out.len() * 2];
    let scale = f32x8::splat(1.0 / FULL_SCALE);
    let (ov, ot) = out.as_chunks_mut::<LANES>();
    let (bv, bt) = bytes.as_chunks::<{ 2 * LANES }>();
    for (o, b) in ov.iter_mut().zip(bv) {
        let ints = i16x8::new(std::array::from_fn(|k| {
            i16::from_le_bytes([b[2 * k], b[2 * k + 1]])
        }));
        *o = (f32x8::from_i32x8(i32x8::from_i16x8(ints)) * scale).to_array();
    }
    for (o, b) in ot.iter_mut().zip(bt.chunks_exact(2)) {
        *o = f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / FULL_SCALE);
    }
}

/// Scalar reference for [`i16le_to_f32`].
pub fn i16le_to_f32_scalar(out: &mut [f32], bytes: &[u8]) {
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / FULL_SCALE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            -1.5f32..1.5,
            prop::num::f32::ANY,
            Just(0.5 / FULL_SCALE),
            Just(1.5 / FULL_SCALE),
            Just(-0.5 / FULL_SCALE),
        ]
    }

    proptest! {
        #[test]
        fn f32_to_i16_matches_scalar(x in prop::collection::vec(any_f32(), 0..100)) {
            let (mut a, mut b) = (vec![1i16; x.len()], vec![2i16; x.len()]);
            f32_to_i16(&mut a, &x);
            f32_to_i16_scalar(&mut b, &x);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn i16_to_f32_matches_scalar_and_round_trips(x in prop::collection::vec(any::<i16>(), 0..100)) {
            let (mut a, mut b) = (vec![1.0; x.len()], vec![2.0; x.len()]);
            i16_to_f32(&mut a, &x);
            i16_to_f32_scalar(&mut b, &x);
            prop_assert_eq!(&a, &b);
            let mut back = vec![0i16; x.len()];
            f32_to_i16(&mut back, &a);
            prop_assert_eq!(back, x);
        }
    }

    proptest! {
        #[test]
        fn i16le_to_f32_matches_scalar_and_the_samples(x in prop::collection::vec(any::<i16>(), 0..100)) {
            let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
            let (mut a, mut b, mut want) = (vec![1.0; x.len()], vec![2.0; x.len()], vec![3.0; x.len()]);
            i16le_to_f32(&mut a, &bytes);
            i16le_to_f32_scalar(&mut b, &bytes);
            i16_to_f32_scalar(&mut want, &x);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a, &want);
        }
    }

    #[test]
    fn clips_instead_of_wrapping() {
        let x = [
            1.0,
            -1.0,
            2.0,
            -2.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e30,
            0.999_99,
        ];
        let mut out = [0i16; 9];
        f32_to_i16(&mut out, &x);
        assert_eq!(
            out,
            [32767, -32768, 32767, -32768, 32767, -32768, 0, 32767, 32767]
        );
    }

    #[test]
    fn rounds_to_nearest() {
        let lsb = 1.0 / FULL_SCALE;
        let x = [
            0.4 * lsb,
            0.6 * lsb,
            -0.6 * lsb,
            2.5 * lsb,
            3.5 * lsb,
            100.49 * lsb,
            0.0,
            0.0,
        ];
        let mut out = [9i16; 8];
        f32_to_i16(&mut out, &x);
        assert_eq!(out, [0, 1, -1, 2, 4, 100, 0, 0]);
    }
}
