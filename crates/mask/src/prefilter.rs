//! Block prefilter: classifies 64 bytes at a time into bit masks and keeps only the trigger
//! positions that could belong to an address.
//!
//! Logs are full of dots and colons (timestamps, durations, versions) that are not addresses;
//! visiting each of them one by one caps the scan near the speed of a trigger walk. This
//! filter rejects them in bulk, with bit arithmetic over a 128-byte window (a block plus the
//! next one as lookahead):
//!
//! * IPv4: a dot between two digits that starts a chain of three such dots, each 2–4 bytes
//!   after the previous. The first dot of every dotted quad passes (`1.2.3.4` …
//!   `255.255.255.255`, `010.001.002.003`); times, decimals and three-part versions do not.
//! * IPv6: the first colon of a `::`, or a colon starting a chain of six colons,
//!   each 2–5 bytes after the previous. Every IPv6 text form has `::` or at least six colons
//!   (seven, or six before an embedded IPv4), so its first colon passes.
//! * E-mail: every `@`, `\`, `%` (for `%40`) and `0xEF` (first byte of `＠`).
//!
//! # Contract
//!
//! No false negatives: for every address the scanner would find, the position at which the
//! memchr walk ([`crate::scan::scan_memchr`]) finds it passes this filter. The filter may pass
//! positions that hold nothing; [`crate::scan::candidate_at`] rejects those. The tests compare
//! the filtered scan with the byte-by-byte reference on adversarial inputs.

/// Bit masks of one 64-byte block: bit `i` describes byte `i`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Masks {
    dot: u64,
    colon: u64,
    special: u64,
}

/// Positions (bits) in `cur` that may start an address, given the next block as lookahead.
/// `digits` gives the digit masks of both blocks and whether the byte before `cur` is a digit;
/// it is called only for the rare windows with three dots in a row.
#[inline(always)] // called once per block from the scan loop; keeps the masks in registers
pub(crate) fn candidates(cur: &Masks, next: &Masks, digits: impl FnOnce() -> (u64, u64, bool)) -> u64 {
    if cur.dot | cur.colon == 0 {
        return cur.special; // most blocks of prose and JSON: no IP can start here
    }
    let mut found = 0u64;
    if cur.dot != 0 {
        let dot = u128::from(cur.dot) | u128::from(next.dot) << 64;
        let succ = |m: u128| m >> 2 | m >> 3 | m >> 4;
        // A dotted quad has three dots in a row, each between digits; versions (1.2.3) and
        // decimals stop early, and most windows (one time stamp per line) do not even hold three
        // dots. Digits are looked at only when the dots alone pass.
        if dot.count_ones() >= 3 && (dot & succ(dot & succ(dot))) as u64 != 0 {
            let (digit_cur, digit_next, digit_before) = digits();
            let digit = u128::from(digit_cur) | u128::from(digit_next) << 64;
            let quad_dot = dot & (digit << 1 | u128::from(digit_before)) & digit >> 1;
            found |= (quad_dot & succ(quad_dot & succ(quad_dot))) as u64;
        }
    }
    if cur.colon != 0 {
        let colon = u128::from(cur.colon) | u128::from(next.colon) << 64;
        let mut chain = 0;
        // A six-colon chain starting in this block ends inside the window.
        if colon.count_ones() >= 6 {
            let succ = |m: u128| m >> 2 | m >> 3 | m >> 4 | m >> 5;
            chain = colon;
            for _ in 0..5 {
                chain = colon & succ(chain);
                if chain == 0 {
                    break; // times (12:34:56) end here after two rounds
                }
            }
        }
        // Only the first colon of a "::": any colon of an address finds the same span.
        found |= (colon & colon >> 1 | chain) as u64;
    }
    found | cur.special
}

/// Classifies 64 bytes.
#[inline(always)] // one call per block on the hot path
pub(crate) fn classify(block: &[u8; 64]) -> Masks {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::classify(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        classify_scalar(block)
    }
}

/// The digit mask of 64 bytes (the portable definition; the SIMD versions must agree with it).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn digits_scalar(block: &[u8; 64]) -> u64 {
    block.iter().enumerate().filter(|(_, b)| b.is_ascii_digit()).fold(0, |m, (i, _)| m | 1 << i)
}

/// Digit mask of 64 bytes, for the SSE2 / portable scan loop.
#[inline(always)] // called for the few windows with three dots in a row
fn digits(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::digits(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        digits_scalar(block)
    }
}

/// The portable definition of [`classify`]; the SIMD versions must agree with it.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn classify_scalar(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        if b == b'.' {
            m.dot |= bit;
        }
        if b == b':' {
            m.colon |= bit;
        }
        if matches!(b, b'@' | b'\\' | b'%' | 0xEF) {
            m.special |= bit;
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    use super::Masks;

    #[target_feature(enable = "sse2")]
    #[inline]
    fn eq(v: __m128i, c: u8) -> __m128i {
        _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8))
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn bits(m: __m128i) -> u64 {
        u64::from(_mm_movemask_epi8(m) as u16)
    }

    /// One 16-byte lane: dot, colon and special (`@ \\ % 0xEF`) bits.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn lane(v: __m128i) -> [u64; 3] {
        let special = _mm_or_si128(_mm_or_si128(eq(v, b'@'), eq(v, b'\\')), _mm_or_si128(eq(v, b'%'), eq(v, 0xEF)));
        [bits(eq(v, b'.')), bits(eq(v, b':')), bits(special)]
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn digits_sse2(block: &[u8; 64]) -> u64 {
        let mut mask = 0;
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: `chunk` is exactly 16 readable bytes and `_mm_loadu_si128` has no
            // alignment requirement.
            let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
            // Signed compares: bytes >= 0x80 are negative, so they are never digits.
            let digit = _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(b'/' as i8)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(b':' as i8)),
            );
            mask |= bits(digit) << (16 * k);
        }
        mask
    }

    #[inline(always)] // a few calls per window with three dots in a row
    pub(super) fn digits(block: &[u8; 64]) -> u64 {
        // SAFETY: SSE2 is part of the x86_64 baseline (see `classify`).
        unsafe { digits_sse2(block) }
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn classify_sse2(block: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: `chunk` is exactly 16 readable bytes and `_mm_loadu_si128` has no
            // alignment requirement.
            let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
            let [dot, colon, special] = lane(v);
            let shift = 16 * k;
            m.dot |= dot << shift;
            m.colon |= colon << shift;
            m.special |= special << shift;
        }
        m
    }

    #[inline(always)] // once per block on the hot path
    pub(super) fn classify(block: &[u8; 64]) -> Masks {
        // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU has it, so calling an
        // `enable = "sse2"` function cannot reach an unsupported instruction.
        unsafe { classify_sse2(block) }
    }
}

/// The same classifier 32 bytes at a time. Half the loads, compares and mask merges of SSE2;
/// chosen at run time, so the scan loop that inlines it is compiled for AVX2 as a whole.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_set1_epi8, _mm256_setr_epi8, _mm256_shuffle_epi8,
    };

    use super::Masks;

    /// Entry `n` (in both 128-bit lanes) is the special byte whose low nibble is `n` (`@` 0x40,
    /// `%` 0x25, `\\` 0x5C, 0xEF); the others hold 0x40, whose low nibble is not `n`.
    #[target_feature(enable = "avx2")]
    #[inline]
    #[rustfmt::skip]
    fn special_by_low_nibble() -> __m256i {
        const AT: i8 = b'@' as i8;
        const PCT: i8 = b'%' as i8;
        const BSL: i8 = b'\\' as i8;
        const EF: i8 = 0xEFu8 as i8;
        _mm256_setr_epi8(
            AT, AT, AT, AT, AT, PCT, AT, AT, AT, AT, AT, AT, BSL, AT, AT, EF,
            AT, AT, AT, AT, AT, PCT, AT, AT, AT, AT, AT, AT, BSL, AT, AT, EF,
        )
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn eq(v: __m256i, c: u8) -> __m256i {
        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn bits(m: __m256i) -> u64 {
        u64::from(_mm256_movemask_epi8(m) as u32)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn classify(block: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for (k, chunk) in block.chunks_exact(32).enumerate() {
            // SAFETY: `chunk` is exactly 32 readable bytes and `_mm256_loadu_si256` has no
            // alignment requirement.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>()) };
            // The four special bytes have distinct low nibbles: one table lookup finds them all.
            let expected = _mm256_shuffle_epi8(special_by_low_nibble(), _mm256_and_si256(v, _mm256_set1_epi8(0x0F)));
            let special = _mm256_cmpeq_epi8(v, expected);
            let shift = 32 * k;
            m.dot |= bits(eq(v, b'.')) << shift;
            m.colon |= bits(eq(v, b':')) << shift;
            m.special |= bits(special) << shift;
        }
        m
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn digits(block: &[u8; 64]) -> u64 {
        let mut mask = 0;
        for (k, chunk) in block.chunks_exact(32).enumerate() {
            // SAFETY: `chunk` is exactly 32 readable bytes and `_mm256_loadu_si256` has no
            // alignment requirement.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>()) };
            // Signed compares: bytes >= 0x80 are negative, so they are never digits.
            let digit = _mm256_and_si256(
                _mm256_cmpgt_epi8(v, _mm256_set1_epi8(b'/' as i8)),
                _mm256_cmpgt_epi8(_mm256_set1_epi8(b':' as i8), v),
            );
            mask |= bits(digit) << (32 * k);
        }
        mask
    }

    /// Proof that the running CPU has AVX2, POPCNT, BMI1 and BMI2 (every AVX2 CPU so far): the
    /// only way to reach the AVX2 scan loop.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(());

    impl Avx2 {
        pub(super) fn detect() -> Option<Avx2> {
            let all = std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("popcnt")
                && std::is_x86_feature_detected!("bmi1")
                && std::is_x86_feature_detected!("bmi2");
            all.then_some(Avx2(()))
        }
    }
}

/// The scan loop over prefiltered blocks: same findings as the memchr walk, far fewer visits.
#[inline(always)] // each role's render closure is inlined into its own copy of the loop
pub(crate) fn scan_blocks(hay: &[u8], emit: impl FnMut(crate::scan::Finding)) {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = avx2::Avx2::detect() {
        return scan_blocks_avx2(token, hay, emit);
    }
    scan_blocks_with(hay, emit, classify, digits);
}

/// [`scan_blocks_with`] compiled for AVX2, with the AVX2 classifier inlined into it.
#[cfg(target_arch = "x86_64")]
#[inline(always)] // keeps the caller's render closure inlinable; the body below is the real function
fn scan_blocks_avx2(_proof: avx2::Avx2, hay: &[u8], emit: impl FnMut(crate::scan::Finding)) {
    #[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
    fn scan(hay: &[u8], emit: impl FnMut(crate::scan::Finding)) {
        scan_blocks_with(hay, emit, |block| avx2::classify(block), |block| avx2::digits(block));
    }
    // SAFETY: an `Avx2` value exists only after `is_x86_feature_detected!` said yes to each of
    // these features, so the running CPU executes every instruction `scan` may contain.
    unsafe { scan(hay, emit) }
}

/// `f` of the 64 bytes at `offset`, zero-padded past the end of `hay`; `empty` once past it.
#[inline(always)] // once or twice per block on the hot path
fn on_block<T>(hay: &[u8], offset: usize, empty: T, f: impl Fn(&[u8; 64]) -> T) -> T {
    if let Some(block) = hay.get(offset..offset + 64) {
        f(block.try_into().expect("64-byte slice"))
    } else if offset < hay.len() {
        let mut padded = [0u8; 64];
        padded[..hay.len() - offset].copy_from_slice(&hay[offset..]);
        f(&padded)
    } else {
        empty
    }
}

#[inline(always)] // inlined into each entry point with that entry point's classifier
fn scan_blocks_with(
    hay: &[u8],
    mut emit: impl FnMut(crate::scan::Finding),
    classify: impl Fn(&[u8; 64]) -> Masks,
    digits: impl Fn(&[u8; 64]) -> u64,
) {
    use crate::scan::{Outcome, candidate_at};

    let n = hay.len();
    let block_at = |offset: usize| on_block(hay, offset, Masks::default(), &classify);
    let digits_at = |offset: usize| on_block(hay, offset, 0, &digits);
    let mut from = 0;
    let mut floor = 0;
    let mut offset = 0;
    let mut cur = block_at(0);
    while offset < n {
        let next = block_at(offset + 64);
        let mut bits = candidates(&cur, &next, || {
            (digits_at(offset), digits_at(offset + 64), offset > 0 && hay[offset - 1].is_ascii_digit())
        });
        if from > offset {
            bits &= if from - offset >= 64 { 0 } else { !0u64 << (from - offset) };
        }
        while bits != 0 {
            let p = offset + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if p < from {
                continue;
            }
            match candidate_at(hay, p, floor) {
                Outcome::Found(f) => {
                    emit(f);
                    floor = f.end;
                    from = f.end;
                }
                Outcome::Skip(_) => from = p + 1,
            }
        }
        cur = next;
        offset += 64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_classifiers_agree_with_the_scalar_definition() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let alphabet = b".:0123456789@\\%40abcdefxyz \xEF\xBC\xA0";
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = if state.is_multiple_of(7) {
                    (state >> 8) as u8
                } else {
                    alphabet[(state >> 16) as usize % alphabet.len()]
                };
            }
            let fast = classify(&block);
            let slow = classify_scalar(&block);
            assert_eq!((fast.dot, fast.colon, fast.special), (slow.dot, slow.colon, slow.special));
            assert_eq!(digits(&block), digits_scalar(&block));
            #[cfg(target_arch = "x86_64")]
            if avx2::Avx2::detect().is_some() {
                // SAFETY: AVX2 was detected just above.
                let (wide, wide_digits) = unsafe { (avx2::classify(&block), avx2::digits(&block)) };
                assert_eq!((wide.dot, wide.colon, wide.special), (slow.dot, slow.colon, slow.special));
                assert_eq!(wide_digits, digits_scalar(&block));
            }
        }
    }

    #[test]
    fn every_address_shape_passes() {
        fn passes(text: &[u8], at: usize) -> bool {
            let mut cur = [0u8; 64];
            let mut next = [0u8; 64];
            cur[..text.len().min(64)].copy_from_slice(&text[..text.len().min(64)]);
            if text.len() > 64 {
                next[..text.len() - 64].copy_from_slice(&text[64..]);
            }
            candidates(&classify(&cur), &classify(&next), || (digits(&cur), digits(&next), false)) & 1 << at != 0
        }
        assert!(passes(b"1.2.3.4", 1));
        assert!(passes(b"255.255.255.255", 3));
        assert!(passes(b"2001:0db8:85a3:0000:0000:8a2e:0370:7334", 4));
        assert!(passes(b"0:0:0:0:0:ffff:1.2.3.4", 1));
        assert!(passes(b"fe80::1", 4));
        assert!(passes(b"a%40b.co", 1));
        assert!(!passes(b"12:34:56.789", 2), "times are rejected in bulk");
        assert!(!passes(b"12:34:56.789", 8));
        assert!(!passes(b"duration 1.234s", 10));
        assert!(!passes(b"okhttp/4.12.0", 8), "three-part versions are rejected in bulk");
        assert!(passes(b"010.001.002.003", 3));
        // An address straddling the block edge is seen through the lookahead.
        let mut long = vec![b' '; 60];
        long.extend_from_slice(b"10.20.30.40");
        assert!(passes(&long, 62));
    }
}
