//! A soft limiter for mix outputs: transparent below a knee, smooth above
//! it, and never beyond full scale, so a loud sum bends instead of clipping
//! or wrapping.
//!
//! The curve, on the magnitude `a = |x|` (the sign is kept), with knee
//! `k = KNEE` (-3 dBFS) and `u = (a - k) / (1 - k)`:
//!
//! ```text
//! f(a) = a                              for a <= k
//! f(a) = k + (1 - k) * u / (1 + u)      for a >  k
//! ```
//!
//! `u / (1 + u)` starts at slope 1 (so the curve and its slope are
//! continuous at the knee: no corner, no added harshness) and approaches 1
//! as `a` grows, so `f` approaches full scale (1.0) without ever passing it.
//! Full scale in comes out at -1.4 dBFS, twice full scale at -0.5 dBFS.
//! It is memoryless (no attack or release), so it adds no latency and
//! cannot pump; it is a safety net for sums, not a mastering limiter.

use super::lanes::{load, store, LANES};
use wide::f32x8;

/// Where the curve leaves the identity: -3 dBFS.
pub const KNEE: f32 = 0.707_945_8;

/// Applies the soft-limit curve to `buf` in place.
pub fn soft_limit(buf: &mut [f32]) {
    let knee = f32x8::splat(KNEE);
    let room = f32x8::splat(1.0 - KNEE);
    let inv_room = f32x8::splat(1.0 / (1.0 - KNEE));
    let one = f32x8::splat(1.0);
    let sign = f32x8::splat(-0.0);
    let mut c = buf.chunks_exact_mut(LANES);
    for v in &mut c {
        let x = load(v);
        let a = x.abs();
        let over = a.simd_gt(knee);
        if over.any() {
            let u = (a - knee) * inv_room;
            let bent = (knee + room * (u / (one + u))) | (x & sign);
            store(over.select(bent, x), v);
        }
    }
    for s in c.into_remainder() {
        *s = limit_one(*s);
    }
}

/// Scalar reference for [`soft_limit`].
pub fn soft_limit_scalar(buf: &mut [f32]) {
    for s in buf {
        *s = limit_one(*s);
    }
}

/// The curve for one sample.
fn limit_one(x: f32) -> f32 {
    let a = x.abs();
    if a > KNEE {
        let u = (a - KNEE) * (1.0 / (1.0 - KNEE));
        (KNEE + (1.0 - KNEE) * (u / (1.0 + u))).copysign(x)
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn simd_matches_scalar(x in prop::collection::vec(-1e6f32..1e6, 0..100)) {
            let (mut a, mut b) = (x.clone(), x);
            soft_limit(&mut a);
            soft_limit_scalar(&mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn never_exceeds_full_scale_and_keeps_sign(x in -1e30f32..1e30) {
            let mut v = [x; 9];
            soft_limit(&mut v);
            for y in v {
                prop_assert!(y.abs() <= 1.0);
                prop_assert!(y == 0.0 || y.signum() == x.signum());
            }
        }

        #[test]
        fn transparent_below_knee(x in prop::collection::vec(-KNEE..KNEE, 0..50)) {
            let mut y = x.clone();
            soft_limit(&mut y);
            prop_assert_eq!(y, x);
        }

        #[test]
        fn monotonic(a in 0.0f32..8.0, b in 0.0f32..8.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let mut v = [lo, hi, -lo, -hi, 0.0, 0.0, 0.0, 0.0];
            soft_limit(&mut v);
            prop_assert!(v[0] <= v[1]);
            prop_assert!(v[2] >= v[3]);
        }
    }

    #[test]
    fn smooth_at_the_knee() {
        let h = 1e-3f32;
        let mut v = [KNEE - h, KNEE, KNEE + h, 1.0, 2.0, 0.0, 0.0, 0.0];
        soft_limit(&mut v);
        let left = (v[1] - v[0]) / h;
        let right = (v[2] - v[1]) / h;
        assert!((left - 1.0).abs() < 1e-2, "slope below knee {left}");
        assert!((right - 1.0).abs() < 1e-2, "slope above knee {right}");
        let db = |x: f32| 20.0 * x.log10();
        assert!(
            (db(v[3]) + 1.37).abs() < 0.05,
            "full scale in -> {} dBFS",
            db(v[3])
        );
        assert!(v[4] < 1.0 && v[4] > v[3]);
    }
}
