//! Level measurement kernels: energy (sum of squares), RMS, peak and dBFS.
//!
//! Meters and the dominant-speaker ranking run these over every stream of a
//! bundle every tick (1,000 streams of 480 samples in the dominant bench), so
//! they are memory-bound loops over `f32x8` with four independent
//! accumulators. Each SIMD kernel has a scalar reference that adds in the
//! same order (32 lane sums, combined in a fixed order), so the two agree
//! bit for bit; the proptests check that, and check the result against an
//! `f64` sum within a stated tolerance.

use wide::f32x8;

/// Lanes summed independently: four `f32x8` accumulators (enough to hide
/// the add latency on current x86 cores).
const LANES: usize = 32;

/// Levels below this amplitude read as the floor (-120 dBFS = 1e-6).
pub const FLOOR_DBFS: f32 = -120.0;

fn load(c: &[f32]) -> f32x8 {
    let mut a = [0.0f32; 8];
    a.copy_from_slice(c);
    f32x8::new(a)
}

/// Adds the 32 lane sums in the fixed order both versions use:
/// vector k = lanes 8k..8k+8, combined as (v0 + v1) + (v2 + v3), then the
/// eight lanes left to right.
fn combine(acc: [f32x8; 4]) -> f32 {
    let v = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    v.to_array().iter().fold(0.0, |s, x| s + x)
}

/// Sum of squares of `x` (the energy of a frame), SIMD.
pub fn energy(x: &[f32]) -> f32 {
    let mut acc = [f32x8::ZERO; 4];
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        for (k, a) in acc.iter_mut().enumerate() {
            let v = load(&b[k * 8..k * 8 + 8]);
            *a += v * v;
        }
    }
    blocks
        .remainder()
        .iter()
        .fold(combine(acc), |s, v| s + v * v)
}

/// Scalar reference for [`energy`]: the same additions in the same order.
pub fn energy_scalar(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        for (l, v) in lanes.iter_mut().zip(b) {
            *l += v * v;
        }
    }
    let mut v = [0.0f32; 8];
    for (i, o) in v.iter_mut().enumerate() {
        *o = (lanes[i] + lanes[8 + i]) + (lanes[16 + i] + lanes[24 + i]);
    }
    let total = v.iter().fold(0.0, |s, x| s + x);
    blocks.remainder().iter().fold(total, |s, v| s + v * v)
}

/// Largest absolute sample of `x` (0 for an empty slice), SIMD.
pub fn peak(x: &[f32]) -> f32 {
    let mut acc = [f32x8::ZERO; 4];
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = a.max(load(&b[k * 8..k * 8 + 8]).abs());
        }
    }
    let v = acc[0].max(acc[1]).max(acc[2].max(acc[3]));
    let head = v.to_array().iter().fold(0.0f32, |m, x| m.max(*x));
    blocks.remainder().iter().fold(head, |m, x| m.max(x.abs()))
}

/// Scalar reference for [`peak`] (max is exact, so any order agrees).
pub fn peak_scalar(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Root mean square of `x` (0 for an empty slice).
pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        0.0
    } else {
        (energy(x) / x.len() as f32).sqrt()
    }
}

/// Scalar reference for [`rms`].
pub fn rms_scalar(x: &[f32]) -> f32 {
    if x.is_empty() {
        0.0
    } else {
        (energy_scalar(x) / x.len() as f32).sqrt()
    }
}

/// An amplitude (RMS or peak, full scale 1.0) in dBFS, floored at
/// [`FLOOR_DBFS`] so silence reads -120 rather than minus infinity.
pub fn dbfs(amplitude: f32) -> f32 {
    if amplitude > 1e-6 {
        (20.0 * amplitude.log10()).max(FLOOR_DBFS)
    } else {
        FLOOR_DBFS
    }
}

/// A mean square (energy per sample) in dBFS, floored like [`dbfs`]; saves
/// the square root where only the level in dB is wanted.
pub fn power_dbfs(mean_square: f32) -> f32 {
    if mean_square > 1e-12 {
        (10.0 * mean_square.log10()).max(FLOOR_DBFS)
    } else {
        FLOOR_DBFS
    }
}

/// [`power_dbfs`] within 0.001 dB, without a call to `log10`: the
/// exponent from the float's bits and ln of the mantissa m in [1, 2) from
/// the series 2 atanh((m - 1) / (m + 1)) to the seventh power (error under
/// 1e-5). The dominant-speaker ranking takes one per stream per tick
/// (1,000 streams in its bench).
pub fn fast_power_dbfs(mean_square: f32) -> f32 {
    if mean_square <= 1e-12 {
        return FLOOR_DBFS;
    }
    let bits = mean_square.to_bits();
    let exponent = ((bits >> 23) & 0xff) as f32 - 127.0;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln_m = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (0.2 + t2 * (1.0 / 7.0))));
    // 10 log10(x) = (10 / ln 10) (e ln 2 + ln m).
    let db = 4.342_945 * (exponent * std::f32::consts::LN_2 + ln_m);
    if db > FLOOR_DBFS {
        db
    } else {
        FLOOR_DBFS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> impl Strategy<Value = Vec<f32>> {
        proptest::collection::vec(-1.0f32..1.0, 0..2000)
    }

    proptest! {
        #[test]
        fn energy_simd_matches_scalar_bit_exact(x in samples()) {
            prop_assert_eq!(energy(&x).to_bits(), energy_scalar(&x).to_bits());
        }

        #[test]
        fn energy_close_to_f64_sum(x in samples()) {
            let exact: f64 = x.iter().map(|v| (*v as f64) * (*v as f64)).sum();
            let got = energy(&x) as f64;
            // f32 sums of n positive terms in 32 lanes: error well under
            // n/32 * eps relative; 1e-5 relative is a loose, honest bound.
            prop_assert!((got - exact).abs() <= 1e-5 * exact + 1e-30, "{got} vs {exact}");
        }

        #[test]
        fn peak_simd_matches_scalar(x in samples()) {
            prop_assert_eq!(peak(&x).to_bits(), peak_scalar(&x).to_bits());
        }

        #[test]
        fn fast_power_dbfs_matches_log10(x in 1e-13f32..4.0) {
            let (fast, exact) = (fast_power_dbfs(x), power_dbfs(x));
            prop_assert!((fast - exact).abs() < 1e-3, "{x}: {fast} vs {exact}");
        }

        #[test]
        fn rms_simd_matches_scalar(x in samples()) {
            prop_assert_eq!(rms(&x).to_bits(), rms_scalar(&x).to_bits());
        }
    }

    #[test]
    fn sine_levels_are_physical() {
        // A full-scale sine: RMS 1/sqrt(2) = -3.01 dBFS, peak 0 dBFS.
        let x: Vec<f32> = (0..48_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
            .collect();
        assert!((dbfs(rms(&x)) + 3.0103).abs() < 0.01);
        assert!(dbfs(peak(&x)).abs() < 0.001);
        assert!((power_dbfs(energy(&x) / x.len() as f32) + 3.0103).abs() < 0.01);
    }

    #[test]
    fn silence_reads_the_floor() {
        assert_eq!(dbfs(rms(&[0.0; 480])), FLOOR_DBFS);
        assert_eq!(dbfs(peak(&[])), FLOOR_DBFS);
        assert_eq!(power_dbfs(0.0), FLOOR_DBFS);
        assert_eq!(dbfs(1e-7), FLOOR_DBFS);
        assert!((dbfs(1e-5) + 100.0).abs() < 1e-3);
    }

    #[test]
    fn peak_sees_negative_samples_in_every_position() {
        for n in [1, 7, 8, 31, 32, 33, 100] {
            for pos in 0..n {
                let mut x = vec![0.1f32; n];
                x[pos] = -0.9;
                assert_eq!(peak(&x), 0.9, "n {n} pos {pos}");
            }
        }
    }
}
