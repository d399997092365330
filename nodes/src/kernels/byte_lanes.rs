//! Moving bytes out of eight-lane vectors: saturating narrowing with
//! scaling, for the blur kernels' direct (tap) path.

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
