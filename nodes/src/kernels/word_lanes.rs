//! Sixteen 16-bit lanes for the blur's running sums: widening bytes,
//! saturating back to bytes, shifts, exact division by a constant with one
//! high multiply, and the transposes that gather rgba and two-channel rows (AVX2
//! and SSE2 on x86_64, plain arrays elsewhere).
//!
//! Sixteen lanes of u16 do twice the work per instruction of eight i32
//! lanes; the blur keeps every sum below 2^15 (or 2^16 for a plain box) so
//! nothing overflows, and divides exactly so no error builds up.

use wide::{u16x16, u8x16};

/// Sixteen bytes to sixteen lanes, zero-extended.
#[inline(always)]
pub(crate) fn widen16(b: [u8; 16]) -> u16x16 {
    u16x16::from(u8x16::from(b))
}

/// Sixteen lanes to sixteen bytes, saturating to 0..=255.
#[inline(always)]
pub(crate) fn narrow16(v: u16x16) -> [u8; 16] {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        use std::arch::x86_64::{
            __m128i, __m256i, _mm256_castsi256_si128, _mm256_extracti128_si256, _mm_packus_epi16,
        };
        // SAFETY: AVX2 is enabled at compile time (checked by the cfg);
        // `__m256i` and `u16x16` are both 32 plain bytes, `__m128i` and
        // `[u8; 16]` both 16. Lanes below 2^15 read the same as i16.
        unsafe {
            let v = std::mem::transmute::<u16x16, __m256i>(v);
            let b = _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            std::mem::transmute::<__m128i, [u8; 16]>(b)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        v.to_array().map(|x| x.min(255) as u8)
    }
}

/// The high 16 bits of each lane's product with `m`. On AVX2 this is one
/// `vpmulhuw` in inline assembly: through the intrinsic, LLVM widens the
/// lanes to 32 bits around the multiply (six instructions instead of one).
#[inline(always)]
fn mulhi(v: u16x16, m: u16x16) -> u16x16 {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", not(miri)))]
    {
        use std::arch::x86_64::__m256i;
        // SAFETY: AVX2 is enabled at compile time (checked by the cfg), so
        // `vpmulhuw` on ymm registers exists; it reads and writes only the
        // named registers (no memory, no stack, no flags). `__m256i` and
        // `u16x16` are both 32 plain bytes.
        unsafe {
            let (v, m) = (
                std::mem::transmute::<u16x16, __m256i>(v),
                std::mem::transmute::<u16x16, __m256i>(m),
            );
            let out: __m256i;
            std::arch::asm!(
                "vpmulhuw {o}, {a}, {b}",
                o = lateout(ymm_reg) out,
                a = in(ymm_reg) v,
                b = in(ymm_reg) m,
                options(pure, nomem, nostack, preserves_flags),
            );
            std::mem::transmute::<__m256i, u16x16>(out)
        }
    }
    // Miri runs no inline assembly.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2", not(miri))))]
    {
        v.mul_keep_high(m)
    }
}

/// Each lane shifted right by `n` bits (n < 16).
#[inline(always)]
fn shr(v: u16x16, n: u32) -> u16x16 {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        use std::arch::x86_64::{__m256i, _mm256_srl_epi16, _mm_cvtsi32_si128};
        // SAFETY: AVX2 is enabled at compile time (checked by the cfg);
        // `__m256i` and `u16x16` are both 32 plain bytes.
        unsafe {
            let v = std::mem::transmute::<u16x16, __m256i>(v);
            let s = _mm256_srl_epi16(v, _mm_cvtsi32_si128(n as i32));
            std::mem::transmute::<__m256i, u16x16>(s)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        u16x16::new(v.to_array().map(|x| x >> n))
    }
}

/// Exact `n / d` for a constant `d` (3..=32767) by one high multiply
/// (Granlund and Montgomery, "Division by invariant integers using
/// multiplication", 1994): `narrow` numerators are below 2^15, where a
/// 16-bit multiplier suffices; `wide` ones reach 2^16 and need the
/// round-down-and-fix form. The final right shift by `l - 1` is a second
/// high multiply, by `2^(17 - l)`: a shift by a register count is two
/// micro-operations on Intel cores, a multiply one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Divider {
    narrow: u16x16,
    wide: u16x16,
    unshift: u16x16,
}

impl Divider {
    /// The multipliers for dividing by `d`.
    pub(crate) fn new(d: u32) -> Divider {
        let (narrow, wide, shift) = Divider::constants(d);
        Divider {
            narrow: u16x16::splat(narrow),
            wide: u16x16::splat(wide),
            unshift: u16x16::splat(1 << (16 - shift)),
        }
    }

    /// `(narrow multiplier, wide multiplier, shift)` for `d`: with
    /// `l = ceil(log2 d)`, `ceil(2^(15+l) / d)` and
    /// `floor(2^16 (2^l - d) / d) + 1`, both below 2^16, and `l - 1`
    /// (at least 1, so `2^(16 - shift)` fits in a lane).
    pub(crate) fn constants(d: u32) -> (u16, u16, u32) {
        assert!((3..1 << 15).contains(&d), "divisor out of range");
        let l = 32 - (d - 1).leading_zeros();
        let narrow = (1u64 << (15 + l)).div_ceil(u64::from(d));
        let wide = ((1u64 << 16) * ((1u64 << l) - u64::from(d))) / u64::from(d) + 1;
        (narrow as u16, wide as u16, l - 1)
    }

    /// `n / d` for lanes below 2^15.
    #[inline(always)]
    pub(crate) fn narrow(&self, n: u16x16) -> u16x16 {
        mulhi(mulhi(n, self.narrow), self.unshift)
    }

    /// `n / d` for any lanes.
    #[inline(always)]
    pub(crate) fn wide(&self, n: u16x16) -> u16x16 {
        let t = mulhi(n, self.wide);
        mulhi(t + shr(n - t, 1), self.unshift)
    }
}

/// The scalar model of [`Divider::narrow`], for tests.
#[cfg(test)]
pub(crate) fn narrow_div_scalar(n: u16, d: u32) -> u16 {
    let (m, _, s) = Divider::constants(d);
    ((u32::from(n) * u32::from(m)) >> (16 + s)) as u16
}

/// The scalar model of [`Divider::wide`], for tests.
#[cfg(test)]
pub(crate) fn wide_div_scalar(n: u16, d: u32) -> u16 {
    let (_, m, s) = Divider::constants(d);
    let t = (u32::from(n) * u32::from(m)) >> 16;
    ((t + ((u32::from(n) - t) >> 1)) >> s) as u16
}

/// Transposes four rows of four dwords (four rgba pixels of four rows into
/// four pixels of four rows each, and back): four unpack pairs.
#[inline(always)]
pub(crate) fn transpose4x4(r: [[u8; 16]; 4]) -> [[u8; 16]; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_unpackhi_epi32, _mm_unpackhi_epi64, _mm_unpacklo_epi32, _mm_unpacklo_epi64,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; `__m128i` and
        // `[u8; 16]` are both 16 plain bytes.
        unsafe {
            let v = r.map(|b| std::mem::transmute::<[u8; 16], __m128i>(b));
            let a = _mm_unpacklo_epi32(v[0], v[1]);
            let b = _mm_unpacklo_epi32(v[2], v[3]);
            let c = _mm_unpackhi_epi32(v[0], v[1]);
            let d = _mm_unpackhi_epi32(v[2], v[3]);
            [
                _mm_unpacklo_epi64(a, b),
                _mm_unpackhi_epi64(a, b),
                _mm_unpacklo_epi64(c, d),
                _mm_unpackhi_epi64(c, d),
            ]
            .map(|x| std::mem::transmute::<__m128i, [u8; 16]>(x))
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        transpose4x4_scalar(r)
    }
}

/// The portable 4x4 dword transpose.
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(crate) fn transpose4x4_scalar(r: [[u8; 16]; 4]) -> [[u8; 16]; 4] {
    std::array::from_fn(|j| {
        let mut out = [0u8; 16];
        for (i, row) in r.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&row[4 * j..4 * j + 4]);
        }
        out
    })
}

/// Transposes eight rows of eight 16-bit elements (eight two-byte pixels
/// of eight rows into eight pixels of eight rows each, and back): three
/// stages of SSE2 unpacks.
#[inline(always)]
pub(crate) fn transpose8x8_u16(r: [[u8; 16]; 8]) -> [[u8; 16]; 8] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_unpackhi_epi16, _mm_unpackhi_epi32, _mm_unpackhi_epi64,
            _mm_unpacklo_epi16, _mm_unpacklo_epi32, _mm_unpacklo_epi64,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; `__m128i` and
        // `[u8; 16]` are both 16 plain bytes.
        unsafe {
            let v = r.map(|b| std::mem::transmute::<[u8; 16], __m128i>(b));
            let a: [__m128i; 8] = std::array::from_fn(|i| {
                let (x, y) = (v[2 * (i / 2)], v[2 * (i / 2) + 1]);
                if i % 2 == 0 {
                    _mm_unpacklo_epi16(x, y)
                } else {
                    _mm_unpackhi_epi16(x, y)
                }
            });
            // a[0] = r0p0 r1p0 r0p1 r1p1 r0p2 r1p2 r0p3 r1p3, a[1] = p4..p7.
            let b: [__m128i; 8] = std::array::from_fn(|i| {
                let (x, y) = (
                    a[(i / 4) * 4 + (i % 4) / 2],
                    a[(i / 4) * 4 + 2 + (i % 4) / 2],
                );
                if i % 2 == 0 {
                    _mm_unpacklo_epi32(x, y)
                } else {
                    _mm_unpackhi_epi32(x, y)
                }
            });
            // b[0] = r0p0 r1p0 r2p0 r3p0 r0p1 r1p1 r2p1 r3p1; b[1] = p2, p3;
            // b[2] = p4, p5; b[3] = p6, p7; b[4..] the same for rows 4-7.
            let c: [__m128i; 8] = std::array::from_fn(|i| {
                let (x, y) = (b[i / 2], b[4 + i / 2]);
                if i % 2 == 0 {
                    _mm_unpacklo_epi64(x, y)
                } else {
                    _mm_unpackhi_epi64(x, y)
                }
            });
            c.map(|x| std::mem::transmute::<__m128i, [u8; 16]>(x))
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        transpose8x8_u16_scalar(r)
    }
}

/// The portable 8x8 transpose of 16-bit elements.
#[cfg(any(test, not(target_arch = "x86_64")))]
pub(crate) fn transpose8x8_u16_scalar(r: [[u8; 16]; 8]) -> [[u8; 16]; 8] {
    std::array::from_fn(|j| {
        let mut out = [0u8; 16];
        for (i, row) in r.iter().enumerate() {
            out[2 * i..2 * i + 2].copy_from_slice(&row[2 * j..2 * j + 2]);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // 30 million divisions: hours under Miri
    fn dividers_are_exact() {
        for d in 3..=600u32 {
            for n in 0..1u32 << 15 {
                assert_eq!(u32::from(narrow_div_scalar(n as u16, d)), n / d, "{n}/{d}");
            }
        }
        for d in 3..=300u32 {
            for n in 0..1u32 << 16 {
                assert_eq!(u32::from(wide_div_scalar(n as u16, d)), n / d, "{n}/{d}");
            }
        }
    }

    #[test]
    fn simd_dividers_match_scalar() {
        // Under Miri, one numerator block in 64 (still every divisor).
        let step = if cfg!(miri) { 1024 } else { 16 };
        for d in [3u32, 4, 7, 17, 68, 129, 255, 1000] {
            let div = Divider::new(d);
            for base in (0..1u32 << 16).step_by(step) {
                let n: [u16; 16] = std::array::from_fn(|i| (base + i as u32) as u16);
                let wide = div.wide(u16x16::new(n)).to_array();
                for (i, &x) in n.iter().enumerate() {
                    assert_eq!(wide[i], wide_div_scalar(x, d));
                }
                if base < 1 << 15 {
                    let narrow = div.narrow(u16x16::new(n)).to_array();
                    for (i, &x) in n.iter().enumerate() {
                        assert_eq!(narrow[i], narrow_div_scalar(x, d));
                    }
                }
            }
        }
    }

    #[test]
    fn transpose4x4_moves_dword_ij_to_ji() {
        let r: [[u8; 16]; 4] = std::array::from_fn(|i| std::array::from_fn(|b| (16 * i + b) as u8));
        let t = transpose4x4(r);
        assert_eq!(t, transpose4x4_scalar(r));
        for (j, row) in t.iter().enumerate() {
            for (i, px) in row.chunks_exact(4).enumerate() {
                assert_eq!(px, &r[i][4 * j..4 * j + 4]);
            }
        }
        assert_eq!(transpose4x4(t), r);
    }

    #[test]
    fn transpose8x8_u16_moves_pair_ij_to_ji() {
        let r: [[u8; 16]; 8] = std::array::from_fn(|i| std::array::from_fn(|b| (16 * i + b) as u8));
        let t = transpose8x8_u16(r);
        assert_eq!(t, transpose8x8_u16_scalar(r));
        for (j, row) in t.iter().enumerate() {
            for (i, px) in row.chunks_exact(2).enumerate() {
                assert_eq!(px, &r[i][2 * j..2 * j + 2]);
            }
        }
        assert_eq!(transpose8x8_u16(t), r);
    }

    #[test]
    fn widen_narrow_round_trip() {
        let b: [u8; 16] = std::array::from_fn(|i| (i * 17) as u8);
        assert_eq!(narrow16(widen16(b)), b);
        assert_eq!(narrow16(u16x16::splat(300)), [255; 16]);
    }
}
