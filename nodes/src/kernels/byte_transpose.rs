//! The 16x16 byte transpose the blur's horizontal pass uses on 8-bit
//! planes: sixteen rows of sixteen bytes in, sixteen columns out (row `i`,
//! byte `j` becomes row `j`, byte `i`). Sixteen rows then travel as the
//! sixteen lanes of one vector, so a running sum along the rows is one
//! vector add per pixel, and the same transpose puts the results back.
//!
//! On x86_64 it is stages of unpacks (8, 16, 32-bit interleaves): with
//! AVX2, 24 unpacks and 8 permutes in eight registers; with SSE2 alone a
//! fourth (64-bit) stage, 64 unpacks; elsewhere a plain loop.

/// Transposes sixteen rows of sixteen bytes.
#[inline(always)]
pub fn transpose16x16(rows: [[u8; 16]; 16]) -> [[u8; 16]; 16] {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        x86::transpose_avx2(rows)
    }
    #[cfg(all(target_arch = "x86_64", not(target_feature = "avx2")))]
    {
        x86::transpose_sse2(rows)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        transpose16x16_scalar(rows)
    }
}

/// The reference: byte by byte.
pub fn transpose16x16_scalar(rows: [[u8; 16]; 16]) -> [[u8; 16]; 16] {
    std::array::from_fn(|j| std::array::from_fn(|i| rows[i][j]))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #[allow(unused_imports)]
    use std::arch::x86_64::*;

    /// One interleave stage over `N` vectors: output `2k` and `2k + 1` are
    /// the low and high interleaves (`$lo`, `$hi`) of the inputs `$pair(k)`
    /// names.
    macro_rules! stage {
        ($v:expr, $lo:ident, $hi:ident, $pair:expr) => {{
            let v = &$v;
            let pair = $pair;
            std::array::from_fn(|i| {
                let (a, b): (usize, usize) = pair(i / 2);
                // SAFETY: the unpacks only shuffle register lanes, and the
                // instruction set they need is enabled at compile time
                // (SSE2 is the x86_64 baseline; AVX2 checked by the cfg).
                unsafe {
                    if i % 2 == 0 {
                        $lo(v[a], v[b])
                    } else {
                        $hi(v[a], v[b])
                    }
                }
            })
        }};
    }

    /// AVX2: rows `i` and `i + 8` share a register, so the first three
    /// stages transpose both halves at once in eight registers (nothing
    /// spills); a quadword permute then pairs the halves: register `m` is
    /// columns `2m` (low lane) and `2m + 1` (high lane).
    #[cfg(target_feature = "avx2")]
    #[inline(always)]
    pub(super) fn transpose_avx2(rows: [[u8; 16]; 16]) -> [[u8; 16]; 16] {
        // SAFETY: AVX2 is enabled at compile time (checked by the cfg);
        // `[u8; 16]` and `__m128i`, `[[u8; 16]; 2]` and `__m256i` are
        // plain bytes of the same size.
        let r: [__m256i; 8] = std::array::from_fn(|i| unsafe {
            let lo = std::mem::transmute::<[u8; 16], __m128i>(rows[i]);
            let hi = std::mem::transmute::<[u8; 16], __m128i>(rows[i + 8]);
            _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi)
        });
        let a: [__m256i; 8] = stage!(r, _mm256_unpacklo_epi8, _mm256_unpackhi_epi8, |k: usize| (
            2 * k,
            2 * k + 1
        ));
        let b: [__m256i; 8] = stage!(
            a,
            _mm256_unpacklo_epi16,
            _mm256_unpackhi_epi16,
            |k: usize| {
                let (g, q) = (k / 2, k % 2);
                (4 * g + q, 4 * g + q + 2)
            }
        );
        let c: [__m256i; 8] = stage!(
            b,
            _mm256_unpacklo_epi32,
            _mm256_unpackhi_epi32,
            |k: usize| (k, k + 4)
        );
        let mut out = [[0u8; 16]; 16];
        for (m, v) in c.into_iter().enumerate() {
            // SAFETY: as above.
            let pair = unsafe {
                std::mem::transmute::<__m256i, [[u8; 16]; 2]>(_mm256_permute4x64_epi64::<
                    0b11_01_10_00,
                >(v))
            };
            out[2 * m] = pair[0];
            out[2 * m + 1] = pair[1];
        }
        out
    }

    /// SSE2: after stage 1, vector `2k` holds columns 0-7 of rows 2k and
    /// 2k+1 (byte pairs), `2k + 1` columns 8-15. Stage 2 joins row pairs
    /// into quads (16-bit units), stage 3 quads into octets (32-bit),
    /// stage 4 the two octets (64-bit): vector `j` is then column `j`.
    #[cfg(any(test, not(target_feature = "avx2")))]
    #[inline(always)]
    pub(super) fn transpose_sse2(rows: [[u8; 16]; 16]) -> [[u8; 16]; 16] {
        // SAFETY: `[u8; 16]` and `__m128i` are both 16 plain bytes.
        let r = rows.map(|b| unsafe { std::mem::transmute::<[u8; 16], __m128i>(b) });
        let a: [__m128i; 16] = stage!(r, _mm_unpacklo_epi8, _mm_unpackhi_epi8, |k: usize| (
            2 * k,
            2 * k + 1
        ));
        let b: [__m128i; 16] = stage!(a, _mm_unpacklo_epi16, _mm_unpackhi_epi16, |k: usize| {
            let (g, q) = (k / 2, k % 2);
            (4 * g + q, 4 * g + q + 2)
        });
        let c: [__m128i; 16] = stage!(b, _mm_unpacklo_epi32, _mm_unpackhi_epi32, |k: usize| {
            let (g, q) = (k / 4, k % 4);
            (8 * g + q, 8 * g + 4 + q)
        });
        let d: [__m128i; 16] = stage!(c, _mm_unpacklo_epi64, _mm_unpackhi_epi64, |k: usize| (
            k,
            k + 8
        ));
        // SAFETY: as above, in the other direction.
        d.map(|v| unsafe { std::mem::transmute::<__m128i, [u8; 16]>(v) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn moves_byte_ij_to_ji() {
        let rows: [[u8; 16]; 16] =
            std::array::from_fn(|i| std::array::from_fn(|j| (16 * i + j) as u8));
        let t = transpose16x16(rows);
        for (j, col) in t.iter().enumerate() {
            for (i, &b) in col.iter().enumerate() {
                assert_eq!(usize::from(b), 16 * i + j);
            }
        }
        assert_eq!(transpose16x16(t), rows);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

        /// The SIMD transpose agrees with the scalar one on any bytes.
        #[test]
        fn simd_matches_scalar(bytes in proptest::collection::vec(any::<u8>(), 256)) {
            let rows: [[u8; 16]; 16] =
                std::array::from_fn(|i| bytes[16 * i..16 * i + 16].try_into().expect("16"));
            prop_assert_eq!(transpose16x16(rows), transpose16x16_scalar(rows));
            #[cfg(target_arch = "x86_64")]
            prop_assert_eq!(x86::transpose_sse2(rows), transpose16x16_scalar(rows));
        }
    }
}
