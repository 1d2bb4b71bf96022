//! Byte-class steps the block classifiers share ([`crate::prefilter`] for addresses,
//! [`crate::dictionary`] for terms), 16 bytes (`x128`) or 32 bytes (`x256`) at a time. Each
//! returns 0xFF in the lanes whose byte is in the class; `bits` folds such a mask into one bit
//! per byte. Both classifiers test their SIMD versions against a scalar definition.

/// SSE2 steps (any x86-64 CPU has SSE2).
#[cfg(target_arch = "x86_64")]
pub(crate) mod x128 {
    use core::arch::x86_64::{__m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_movemask_epi8, _mm_set1_epi8};

    /// Bytes equal to `c`.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) fn eq(v: __m128i, c: u8) -> __m128i {
        _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8))
    }

    /// ASCII digits: adding 80 maps `0`–`9`, and only them, to the ten smallest signed bytes.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) fn digit(v: __m128i) -> __m128i {
        _mm_cmpgt_epi8(_mm_set1_epi8(-118), _mm_add_epi8(v, _mm_set1_epi8(80)))
    }

    /// One bit per byte of a class mask.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(crate) fn bits(m: __m128i) -> u64 {
        u64::from(_mm_movemask_epi8(m) as u16)
    }
}

/// The same steps with AVX2, 32 bytes at a time.
#[cfg(target_arch = "x86_64")]
pub(crate) mod x256 {
    use core::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_movemask_epi8, _mm256_set1_epi8,
    };

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn eq(v: __m256i, c: u8) -> __m256i {
        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn digit(v: __m256i) -> __m256i {
        _mm256_cmpgt_epi8(_mm256_set1_epi8(-118), _mm256_add_epi8(v, _mm256_set1_epi8(80)))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn bits(m: __m256i) -> u64 {
        u64::from(_mm256_movemask_epi8(m) as u32)
    }
}
