//! What the normalized correlation of two stretches of audio needs (how
//! closely one repeats the other, whatever their levels:
//! `Σab / √(Σa² Σb²)`) when `a` stays and `b` moves: `Σab` and `Σb²` in
//! one pass, `Σa²` once with [`super::level::energy`]. `acs_in` looks for
//! pitch periods with it.

use super::lanes::{load, LANES};
use wide::f32x8;

/// `(Σ a[n] b[n], Σ b[n]²)` over the shorter one's length.
pub fn dot_energy(a: &[f32], b: &[f32]) -> (f32, f32) {
    let n = a.len().min(b.len());
    let (a8, b8) = (a[..n].chunks_exact(LANES), b[..n].chunks_exact(LANES));
    let (a_rest, b_rest) = (a8.remainder(), b8.remainder());
    let (mut ab, mut bb) = (f32x8::ZERO, f32x8::ZERO);
    for (p, q) in a8.zip(b8) {
        let (p, q) = (load(p), load(q));
        ab = p.mul_add(q, ab);
        bb = q.mul_add(q, bb);
    }
    a_rest
        .iter()
        .zip(b_rest)
        .fold((ab.reduce_add(), bb.reduce_add()), |(ab, bb), (p, q)| {
            (ab + p * q, bb + q * q)
        })
}

/// Scalar reference for [`dot_energy`], summed in f64.
pub fn dot_energy_scalar(a: &[f32], b: &[f32]) -> (f32, f32) {
    let (ab, bb) = a
        .iter()
        .zip(b)
        .fold((0.0f64, 0.0f64), |(ab, bb), (&p, &q)| {
            let (p, q) = (f64::from(p), f64::from(q));
            (ab + p * q, bb + q * q)
        });
    (ab as f32, bb as f32)
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
            let (got, want) = (dot_energy(a, b), dot_energy_scalar(a, b));
            prop_assert!((got.0 - want.0).abs() < 1e-4, "{:?} against {:?}", got, want);
            prop_assert!((got.1 - want.1).abs() < 1e-3 * want.1.max(1.0), "{:?} against {:?}", got, want);
        }
    }

    #[test]
    fn sums_the_products_of_the_shorter_length() {
        assert_eq!(dot_energy(&[1.0; 20], &[2.0; 17]), (34.0, 68.0));
        assert_eq!(dot_energy(&[0.5, -1.0], &[4.0, 3.0, 9.0]), (-1.0, 25.0));
    }
}
