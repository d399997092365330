//! Normalized correlation of two equal stretches of audio: how closely
//! one repeats the other (1: the same shape, 0: unrelated or silent),
//! whatever their levels. `acs_in` looks for pitch periods with it.

use super::lanes::{load, LANES};
use wide::f32x8;

/// `Σab / √(Σa² Σb²)` over `a` and `b` (the shorter one's length); 0 when
/// either is silent.
pub fn normalized(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (mut ab, mut aa, mut bb) = (f32x8::ZERO, f32x8::ZERO, f32x8::ZERO);
    let (a8, b8) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a8.remainder(), b8.remainder());
    for (p, q) in a8.zip(b8) {
        let (p, q) = (load(p), load(q));
        ab = p.mul_add(q, ab);
        aa = p.mul_add(p, aa);
        bb = q.mul_add(q, bb);
    }
    let (mut ab, mut aa, mut bb) = (ab.reduce_add(), aa.reduce_add(), bb.reduce_add());
    for (p, q) in a_rest.iter().zip(b_rest) {
        ab += p * q;
        aa += p * p;
        bb += q * q;
    }
    ratio(ab, aa * bb)
}

/// Scalar reference for [`normalized`], summed in f64.
pub fn normalized_scalar(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&p, &q) in a.iter().zip(b) {
        let (p, q) = (f64::from(p), f64::from(q));
        ab += p * q;
        aa += p * p;
        bb += q * q;
    }
    ratio(ab as f32, (aa * bb) as f32)
}

/// `ab / √energies`, or 0 for silence.
fn ratio(ab: f32, energies: f32) -> f32 {
    let norm = energies.sqrt();
    if norm > 0.0 {
        ab / norm
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_scalar(
            x in proptest::collection::vec(-1.0f32..1.0, 2..800),
            split in 0.0f64..1.0,
        ) {
            let (a, b) = x.split_at(((x.len() as f64 * split) as usize).clamp(1, x.len() - 1));
            let (got, want) = (normalized(a, b), normalized_scalar(a, b));
            prop_assert!((got - want).abs() < 1e-4, "{} against {}", got, want);
        }
    }

    #[test]
    fn same_shape_at_any_level_is_one_and_silence_is_zero() {
        let a: Vec<f32> = (0..100).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = a.iter().map(|v| v * 0.01).collect();
        assert!((normalized(&a, &b) - 1.0).abs() < 1e-5);
        assert!((normalized(&a, &b.iter().map(|v| -v).collect::<Vec<_>>()) + 1.0).abs() < 1e-5);
        assert_eq!(normalized(&a, &[0.0; 100]), 0.0);
    }
}
