//! Moving bytes in and out of eight-lane vectors: saturating narrowing
//! with scaling, and 8x8 byte transposes (SSE2 on x86_64, masked word
//! swaps elsewhere), for the blur kernels' gathers and scatters.

use wide::{f32x8, i32x8};

/// Rounds `sum / divisor` to 0..=255 per lane.
#[inline(always)]
pub(crate) fn scale(sum: i32x8, inv: f32x8) -> [u8; 8] {
    narrow((sum.round_float() * inv).fast_round_int())
}

/// Eight lanes to eight bytes, saturating to 0..=255.
#[inline(always)]
pub(crate) fn narrow(v: i32x8) -> [u8; 8] {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        use std::arch::x86_64::{
            __m256i, _mm256_castsi256_si128, _mm256_extracti128_si256, _mm_cvtsi128_si64,
            _mm_packus_epi16, _mm_packus_epi32,
        };
        // SAFETY: AVX2 is enabled at compile time (checked by the cfg);
        // `__m256i` and `i32x8` are both 32 plain bytes of eight i32 lanes.
        unsafe {
            let v = std::mem::transmute::<i32x8, __m256i>(v);
            let words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            let bytes = _mm_packus_epi16(words, words);
            (_mm_cvtsi128_si64(bytes) as u64).to_le_bytes()
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        v.to_array().map(|x| x.clamp(0, 255) as u8)
    }
}

/// Eight bytes of `row` from `at`, as a little-endian word.
#[inline(always)]
pub(crate) fn load8(row: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(row[at..at + 8].try_into().expect("eight bytes"))
}

/// The 8x8 byte transpose in SSE2: eight words in, four registers out,
/// register k holding output words 2k (low half) and 2k + 1 (high half).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn transpose8x8_sse2(w: [u64; 8]) -> [std::arch::x86_64::__m128i; 4] {
    use std::arch::x86_64::{
        _mm_cvtsi64_si128, _mm_unpackhi_epi16, _mm_unpackhi_epi32, _mm_unpacklo_epi16,
        _mm_unpacklo_epi32, _mm_unpacklo_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline; these intrinsics only
    // move and shuffle register lanes.
    unsafe {
        let r = w.map(|v| _mm_cvtsi64_si128(v as i64));
        let a0 = _mm_unpacklo_epi8(r[0], r[1]);
        let a1 = _mm_unpacklo_epi8(r[2], r[3]);
        let a2 = _mm_unpacklo_epi8(r[4], r[5]);
        let a3 = _mm_unpacklo_epi8(r[6], r[7]);
        let b0 = _mm_unpacklo_epi16(a0, a1);
        let b1 = _mm_unpackhi_epi16(a0, a1);
        let b2 = _mm_unpacklo_epi16(a2, a3);
        let b3 = _mm_unpackhi_epi16(a2, a3);
        [
            _mm_unpacklo_epi32(b0, b2),
            _mm_unpackhi_epi32(b0, b2),
            _mm_unpacklo_epi32(b1, b3),
            _mm_unpackhi_epi32(b1, b3),
        ]
    }
}

/// Transposes an 8x8 block of bytes held as eight little-endian words
/// (word i, byte j becomes word j, byte i): twelve SSE2 unpacks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn transpose8x8(w: [u64; 8]) -> [u64; 8] {
    use std::arch::x86_64::{_mm_cvtsi128_si64, _mm_unpackhi_epi64};
    let c = transpose8x8_sse2(w);
    // SAFETY: SSE2 is part of the x86_64 baseline.
    let lo = |v| unsafe { _mm_cvtsi128_si64(v) as u64 };
    // SAFETY: as above.
    let hi = |v| unsafe { _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64 };
    [
        lo(c[0]),
        hi(c[0]),
        lo(c[1]),
        hi(c[1]),
        lo(c[2]),
        hi(c[2]),
        lo(c[3]),
        hi(c[3]),
    ]
}

/// Transposes an 8x8 block of bytes held as eight little-endian words
/// (word i, byte j becomes word j, byte i), in three swap stages.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn transpose8x8(w: [u64; 8]) -> [u64; 8] {
    transpose8x8_scalar(w)
}

/// The portable transpose: three stages of masked swaps in 64-bit words.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
pub(crate) fn transpose8x8_scalar(mut w: [u64; 8]) -> [u64; 8] {
    #[inline(always)]
    fn swap(w: &mut [u64; 8], i: usize, j: usize, shift: u32, mask: u64) {
        let t = ((w[i] >> shift) ^ w[j]) & mask;
        w[j] ^= t;
        w[i] ^= t << shift;
    }
    const M1: u64 = 0x00FF_00FF_00FF_00FF;
    const M2: u64 = 0x0000_FFFF_0000_FFFF;
    const M4: u64 = 0x0000_0000_FFFF_FFFF;
    swap(&mut w, 0, 1, 8, M1);
    swap(&mut w, 2, 3, 8, M1);
    swap(&mut w, 4, 5, 8, M1);
    swap(&mut w, 6, 7, 8, M1);
    swap(&mut w, 0, 2, 16, M2);
    swap(&mut w, 1, 3, 16, M2);
    swap(&mut w, 4, 6, 16, M2);
    swap(&mut w, 5, 7, 16, M2);
    swap(&mut w, 0, 4, 32, M4);
    swap(&mut w, 1, 5, 32, M4);
    swap(&mut w, 2, 6, 32, M4);
    swap(&mut w, 3, 7, 32, M4);
    w
}
