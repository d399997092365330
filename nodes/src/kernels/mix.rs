//! Mixing: summing many equally long slices into one.
//!
//! Two shapes of the same sum, both adding the inputs in the order given so
//! the SIMD versions are bit-exact with their scalar references:
//! - [`mix_into`] keeps a block of the output in registers and walks every
//!   input for that block: the fewest loads and stores while all inputs sit
//!   in cache (a handful to a few dozen streams of one tick).
//! - [`accumulate`] adds one input to an accumulator: the accumulator stays
//!   in L1 while each input streams through once, front to back, which is
//!   what the hardware prefetcher handles best when thousands of streams do
//!   not fit in cache.

use super::lanes::{load, store, LANES};
use wide::f32x8;

/// Output samples kept in registers per pass of [`mix_into`] (four vectors).
const BLOCK: usize = 4 * LANES;

/// Writes the sample-wise sum of `inputs` to `out` (zero when there are no
/// inputs). Every input must be at least as long as `out`.
pub fn mix_into(out: &mut [f32], inputs: &[&[f32]]) {
    let Some((first, rest)) = inputs.split_first() else {
        out.fill(0.0);
        return;
    };
    let n = out.len();
    let blocks = n / BLOCK * BLOCK;
    let mut i = 0;
    while i < blocks {
        let mut acc = [
            load(&first[i..]),
            load(&first[i + LANES..]),
            load(&first[i + 2 * LANES..]),
            load(&first[i + 3 * LANES..]),
        ];
        for x in rest {
            let x = &x[i..i + BLOCK];
            for (k, a) in acc.iter_mut().enumerate() {
                *a += load(&x[k * LANES..]);
            }
        }
        for (k, a) in acc.iter().enumerate() {
            store(*a, &mut out[i + k * LANES..]);
        }
        i += BLOCK;
    }
    while i + LANES <= n {
        let mut acc: f32x8 = load(&first[i..]);
        for x in rest {
            acc += load(&x[i..]);
        }
        store(acc, &mut out[i..]);
        i += LANES;
    }
    for j in i..n {
        let mut acc = first[j];
        for x in rest {
            acc += x[j];
        }
        out[j] = acc;
    }
}

/// Scalar reference for [`mix_into`]: the same sums in the same order.
pub fn mix_into_scalar(out: &mut [f32], inputs: &[&[f32]]) {
    let Some((first, rest)) = inputs.split_first() else {
        out.fill(0.0);
        return;
    };
    out.copy_from_slice(&first[..out.len()]);
    for x in rest {
        accumulate_scalar(out, x);
    }
}

/// Adds `x` to `acc` sample by sample (`x` at least as long as `acc`).
pub fn accumulate(acc: &mut [f32], x: &[f32]) {
    let x = &x[..acc.len()];
    let mut a = acc.chunks_exact_mut(LANES);
    let mut b = x.chunks_exact(LANES);
    for (a, b) in (&mut a).zip(&mut b) {
        store(load(a) + load(b), a);
    }
    for (a, b) in a.into_remainder().iter_mut().zip(b.remainder()) {
        *a += *b;
    }
}

/// Scalar reference for [`accumulate`].
pub fn accumulate_scalar(acc: &mut [f32], x: &[f32]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += *b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn streams() -> impl Strategy<Value = Vec<Vec<f32>>> {
        (0usize..100, 0usize..12).prop_flat_map(|(len, count)| {
            prop::collection::vec(prop::collection::vec(-4.0f32..4.0, len), count)
        })
    }

    proptest! {
        #[test]
        fn mix_into_matches_scalar_bit_exactly(inputs in streams()) {
            let len = inputs.first().map_or(7, Vec::len);
            let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
            let mut simd = vec![9.0; len];
            let mut scalar = vec![-9.0; len];
            mix_into(&mut simd, &refs);
            mix_into_scalar(&mut scalar, &refs);
            prop_assert_eq!(simd, scalar);
        }

        #[test]
        fn accumulate_matches_scalar_bit_exactly(inputs in streams()) {
            let len = inputs.first().map_or(0, Vec::len);
            let mut simd = vec![0.5; len];
            let mut scalar = vec![0.5; len];
            for x in &inputs {
                accumulate(&mut simd, x);
                accumulate_scalar(&mut scalar, x);
            }
            prop_assert_eq!(simd, scalar);
        }
    }

    #[test]
    fn mix_sums_known_values() {
        let a = [1.0f32; 37];
        let b: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let mut out = [0.0f32; 37];
        mix_into(&mut out, &[&a, &b]);
        for (i, o) in out.iter().enumerate() {
            assert_eq!(*o, 1.0 + i as f32);
        }
        mix_into(&mut out, &[]);
        assert!(out.iter().all(|&o| o == 0.0));
    }
}
