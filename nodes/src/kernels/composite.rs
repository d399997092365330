//! Alpha compositing of 8-bit samples ("over" with straight alpha), exact
//! to the nearest code: `(top*a + base*(255-a)) / 255` rounded, computed
//! in 16-bit lanes (`u16x16`, 16 samples per step).

use wide::{u16x16, u8x16};

/// Exact `round(x / 255)` for `x <= 255 * 255`, as `(y + (y >> 8)) >> 8`
/// with `y = x + 128`.
#[inline(always)]
fn div255(x: u32) -> u8 {
    let y = x + 128;
    ((y + (y >> 8)) >> 8) as u8
}

#[inline(always)]
fn div255x(x: u16x16) -> u16x16 {
    let y = x + u16x16::splat(128);
    (y + (y >> 8)) >> 8
}

/// Blends `top` over `base` sample by sample with per-sample alpha
/// `alpha` (0 keeps base, 255 takes top). All three slices have the same
/// length (SIMD).
pub fn blend(base: &mut [u8], top: &[u8], alpha: &[u8]) {
    let n = base.len().min(top.len()).min(alpha.len());
    let (base, top, alpha) = (&mut base[..n], &top[..n], &alpha[..n]);
    let full = u16x16::splat(255);
    for ((b, t), a) in base
        .chunks_exact_mut(16)
        .zip(top.chunks_exact(16))
        .zip(alpha.chunks_exact(16))
    {
        let bv = u16x16::from(u8x16::from(&b[..]));
        let tv = u16x16::from(u8x16::from(t));
        let av = u16x16::from(u8x16::from(a));
        let out = div255x(tv * av + bv * (full - av)).to_array();
        for (d, s) in b.iter_mut().zip(out) {
            *d = s as u8;
        }
    }
    let done = n / 16 * 16;
    blend_scalar(&mut base[done..], &top[done..], &alpha[done..]);
}

/// Scalar reference for [`blend`].
pub fn blend_scalar(base: &mut [u8], top: &[u8], alpha: &[u8]) {
    for ((b, &t), &a) in base.iter_mut().zip(top).zip(alpha) {
        let a = u32::from(a);
        *b = div255(u32::from(t) * a + u32::from(*b) * (255 - a));
    }
}

/// The effective alpha of each RGBA pixel of `top` times `global`
/// (0..=255), written to `alpha` (one byte per pixel).
pub fn rgba_alpha(top: &[u8], global: u8, alpha: &mut [u8]) {
    for (a, p) in alpha.iter_mut().zip(top.chunks_exact(4)) {
        *a = div255(u32::from(p[3]) * u32::from(global));
    }
}

/// Spreads per-pixel alpha to each of `channels` interleaved samples.
pub fn spread_alpha(alpha: &[u8], channels: usize, out: &mut [u8]) {
    for (o, &a) in out.chunks_exact_mut(channels).zip(alpha) {
        o.fill(a);
    }
}

/// Composites an RGBA row over an RGBA row: colour by [`blend`] with the
/// top's alpha times `global`; the result's alpha is `a + b*(1-a)`.
/// `scratch` holds `2 * pixels` bytes.
pub fn over_rgba(base: &mut [u8], top: &[u8], global: u8, scratch: &mut [u8]) {
    let px = base.len().min(top.len()) / 4;
    let (alpha, spread) = scratch[..px * 5].split_at_mut(px);
    let (base, top) = (&mut base[..px * 4], &top[..px * 4]);
    rgba_alpha(top, global, alpha);
    spread_alpha(alpha, 4, spread);
    for (a, b) in alpha.iter_mut().zip(base.chunks_exact(4)) {
        let (ta, ba) = (u32::from(*a), u32::from(b[3]));
        *a = (ta + u32::from(div255(ba * (255 - ta)))) as u8;
    }
    blend(base, top, spread);
    for (b, &a) in base.chunks_exact_mut(4).zip(alpha.iter()) {
        b[3] = a;
    }
}

/// Copies RGBA pixels with colour multiplied by alpha, so resampling
/// does not bleed the colour of invisible pixels into visible edges.
pub fn premultiply(src: &[u8], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        let a = u32::from(s[3]);
        for k in 0..3 {
            d[k] = div255(u32::from(s[k]) * a);
        }
        d[3] = s[3];
    }
}

/// Undoes [`premultiply`] in place (colour of transparent pixels is 0).
pub fn unpremultiply(buf: &mut [u8]) {
    for p in buf.chunks_exact_mut(4) {
        let a = u32::from(p[3]);
        for c in &mut p[..3] {
            *c = match a {
                0 => 0,
                _ => ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn div255_is_exact_rounding() {
        for x in 0..=255u32 * 255 {
            assert_eq!(u32::from(div255(x)), (x * 2 + 255) / 510, "{x}");
        }
    }

    #[test]
    fn alpha_extremes_pick_one_side() {
        let mut base = vec![10u8; 20];
        blend(&mut base, &[200; 20], &[255; 20]);
        assert!(base.iter().all(|&v| v == 200));
        blend(&mut base, &[0; 20], &[0; 20]);
        assert!(base.iter().all(|&v| v == 200));
    }

    #[test]
    fn rgba_over_opaque_base_stays_opaque() {
        let mut base = [0, 0, 255, 255].repeat(3);
        let top = [255, 0, 0, 128].repeat(3);
        let mut scratch = vec![0; 15];
        over_rgba(&mut base, &top, 255, &mut scratch);
        assert_eq!(&base[..4], &[128, 0, 127, 255]);
    }

    #[test]
    fn premultiply_round_trips_opaque_and_half_alpha() {
        let src = [200, 100, 50, 255, 200, 100, 50, 128, 9, 9, 9, 0];
        let mut p = [0u8; 12];
        premultiply(&src, &mut p);
        assert_eq!(&p[4..8], &[100, 50, 25, 128]);
        unpremultiply(&mut p);
        assert_eq!(&p[..4], &src[..4]);
        assert!(p[4].abs_diff(200) <= 1 && p[5].abs_diff(100) <= 1);
        assert_eq!(&p[8..], &[0, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn blend_simd_matches_scalar(data in proptest::collection::vec(any::<(u8, u8, u8)>(), 0..100)) {
            let mut a: Vec<u8> = data.iter().map(|d| d.0).collect();
            let mut b = a.clone();
            let top: Vec<u8> = data.iter().map(|d| d.1).collect();
            let alpha: Vec<u8> = data.iter().map(|d| d.2).collect();
            blend(&mut a, &top, &alpha);
            blend_scalar(&mut b, &top, &alpha);
            prop_assert_eq!(a, b);
        }
    }
}
