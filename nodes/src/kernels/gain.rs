//! Gain: constant, and linear ramps for clickless changes.
//!
//! A ramp from `g0` to `g1` over `n` samples applies `g0 + (g1 - g0) / n * i`
//! to sample `i`, so the last sample gets one step short of `g1` and a ramp
//! in the next tick that starts at `g1` continues without a corner. The SIMD
//! versions compute the same expressions as the scalar references (no fused
//! multiply-add), so they agree bit-exactly.

use super::lanes::{load, ramp_offsets, store, LANES};
use wide::f32x8;

/// Writes `x * g` to `out` (`x` at least as long as `out`).
pub fn gain_into(out: &mut [f32], x: &[f32], g: f32) {
    let x = &x[..out.len()];
    let gv = f32x8::splat(g);
    let mut o = out.chunks_exact_mut(LANES);
    let mut i = x.chunks_exact(LANES);
    for (o, i) in (&mut o).zip(&mut i) {
        store(load(i) * gv, o);
    }
    for (o, i) in o.into_remainder().iter_mut().zip(i.remainder()) {
        *o = *i * g;
    }
}

/// Scalar reference for [`gain_into`].
pub fn gain_into_scalar(out: &mut [f32], x: &[f32], g: f32) {
    for (o, i) in out.iter_mut().zip(x) {
        *o = *i * g;
    }
}

/// Multiplies `buf` by `g` in place.
pub fn gain(buf: &mut [f32], g: f32) {
    let gv = f32x8::splat(g);
    let mut c = buf.chunks_exact_mut(LANES);
    for v in &mut c {
        store(load(v) * gv, v);
    }
    for s in c.into_remainder() {
        *s *= g;
    }
}

/// Scalar reference for [`gain`].
pub fn gain_scalar(buf: &mut [f32], g: f32) {
    for s in buf {
        *s *= g;
    }
}

/// Writes `x` ramped linearly from gain `g0` to `g1` over `out.len()`
/// samples to `out`.
pub fn ramp_into(out: &mut [f32], x: &[f32], g0: f32, g1: f32) {
    let n = out.len();
    let x = &x[..n];
    let step = ramp_step(g0, g1, n);
    let (g0v, stepv, offs) = (f32x8::splat(g0), f32x8::splat(step), ramp_offsets());
    let mut o = out.chunks_exact_mut(LANES);
    let mut i = x.chunks_exact(LANES);
    let mut base = 0usize;
    for (o, i) in (&mut o).zip(&mut i) {
        let g = g0v + stepv * (f32x8::splat(base as f32) + offs);
        store(load(i) * g, o);
        base += LANES;
    }
    for (k, (o, i)) in o.into_remainder().iter_mut().zip(i.remainder()).enumerate() {
        *o = *i * (g0 + step * ((base as f32) + k as f32));
    }
}

/// Scalar reference for [`ramp_into`].
pub fn ramp_into_scalar(out: &mut [f32], x: &[f32], g0: f32, g1: f32) {
    let n = out.len();
    let step = ramp_step(g0, g1, n);
    for (j, (o, i)) in out.iter_mut().zip(x).enumerate() {
        let (base, k) = (j / LANES * LANES, j % LANES);
        *o = *i * (g0 + step * ((base as f32) + k as f32));
    }
}

/// Ramps `buf` in place from gain `g0` to `g1` over its length.
pub fn ramp(buf: &mut [f32], g0: f32, g1: f32) {
    let step = ramp_step(g0, g1, buf.len());
    let (g0v, stepv, offs) = (f32x8::splat(g0), f32x8::splat(step), ramp_offsets());
    let mut c = buf.chunks_exact_mut(LANES);
    let mut base = 0usize;
    for v in &mut c {
        let g = g0v + stepv * (f32x8::splat(base as f32) + offs);
        store(load(v) * g, v);
        base += LANES;
    }
    for (k, s) in c.into_remainder().iter_mut().enumerate() {
        *s *= g0 + step * ((base as f32) + k as f32);
    }
}

/// Scalar reference for [`ramp`].
pub fn ramp_scalar(buf: &mut [f32], g0: f32, g1: f32) {
    let step = ramp_step(g0, g1, buf.len());
    for (j, s) in buf.iter_mut().enumerate() {
        let (base, k) = (j / LANES * LANES, j % LANES);
        *s *= g0 + step * ((base as f32) + k as f32);
    }
}

/// Gain change per sample for a ramp over `n` samples.
fn ramp_step(g0: f32, g1: f32, n: usize) -> f32 {
    if n == 0 {
        0.0
    } else {
        (g1 - g0) / n as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(-2.0f32..2.0, 0..200)
    }

    proptest! {
        #[test]
        fn constant_gain_matches_scalar(x in samples(), g in -4.0f32..4.0) {
            let (mut a, mut b) = (vec![0.0; x.len()], vec![1.0; x.len()]);
            gain_into(&mut a, &x, g);
            gain_into_scalar(&mut b, &x, g);
            prop_assert_eq!(&a, &b);
            let (mut c, mut d) = (x.clone(), x.clone());
            gain(&mut c, g);
            gain_scalar(&mut d, g);
            prop_assert_eq!(&c, &d);
            prop_assert_eq!(&a, &c);
        }

        #[test]
        fn ramp_matches_scalar(x in samples(), g0 in 0.0f32..2.0, g1 in 0.0f32..2.0) {
            let (mut a, mut b) = (vec![0.0; x.len()], vec![1.0; x.len()]);
            ramp_into(&mut a, &x, g0, g1);
            ramp_into_scalar(&mut b, &x, g0, g1);
            prop_assert_eq!(&a, &b);
            let (mut c, mut d) = (x.clone(), x.clone());
            ramp(&mut c, g0, g1);
            ramp_scalar(&mut d, g0, g1);
            prop_assert_eq!(&c, &d);
            prop_assert_eq!(&a, &c);
        }
    }

    #[test]
    fn ramp_goes_from_g0_towards_g1_linearly() {
        let ones = [1.0f32; 480];
        let mut out = [0.0f32; 480];
        ramp_into(&mut out, &ones, 0.0, 1.0);
        assert_eq!(out[0], 0.0);
        assert!((out[240] - 0.5).abs() < 1e-6);
        assert!((out[479] - 479.0 / 480.0).abs() < 1e-6);
        let steps = out.windows(2).map(|w| w[1] - w[0]);
        assert!(steps.into_iter().all(|d| (d - 1.0 / 480.0).abs() < 1e-6));
    }
}
