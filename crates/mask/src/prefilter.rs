//! Block prefilter: classifies 64 bytes at a time into bit masks and keeps only the trigger
//! positions that could belong to an address.
//!
//! Logs are full of dots and colons (timestamps, durations, versions) that are not addresses;
//! visiting each of them one by one caps the scan near the speed of a trigger walk. This
//! filter rejects them in bulk. The SIMD classifier already looks at each byte's neighbours
//! (it reads a 66-byte window: 64 bytes and one byte either side), so the masks it hands over
//! are narrow. Blocks overlap: the scan advances [`STRIDE`] = 56 bytes, and the last 8 bytes of
//! each block are the lookahead its chains need, so the bit arithmetic is on one 64-bit word:
//!
//! * IPv4: a dot between two digits that starts a chain of three such dots, each 2–4 bytes
//!   after the previous. The first dot of every dotted quad passes (`1.2.3.4` …
//!   `255.255.255.255`, `010.001.002.003`); times, decimals and three-part versions do not.
//! * IPv6: the first colon of a `::`, or a colon starting a chain of six colons,
//!   each 2–5 bytes after the previous. Every IPv6 text form has `::` or at least six colons
//!   (seven, or six before an embedded IPv4), so its first colon passes. A six-colon chain
//!   reaches 25 bytes on: it is followed into the next block, only when five colons with a
//!   successor make one possible (times have one, a MAC address four).
//! * E-mail: every `@`, `\`, `%` (for `%40`) and `0xEF` (first byte of `＠`).
//!
//! # Contract
//!
//! No false negatives: for every address the scanner would find, the position at which the
//! memchr walk ([`crate::oracle::scan`]) finds it passes this filter. The filter may pass
//! positions that hold nothing; [`crate::scan::candidate_at`] rejects those. The tests compare
//! the filtered scan with the byte-by-byte reference on adversarial inputs.

/// The bytes one block is classified from: the byte before it, its 64 bytes, the byte after.
type Window = [u8; 66];

/// Bit masks of one 64-byte block: bit `i` describes byte `i` of the block.
#[derive(Clone, Copy, Default)]
struct Masks {
    /// `.` with an ASCII digit on both sides.
    quad_dot: u64,
    colon: u64,
    /// `@ \\ % 0xEF`
    special: u64,
}

/// Every successor of the bits of `m` at distance 2 to 4: the next dot of a dotted quad.
#[inline(always)]
fn next_quad_dot(m: u64) -> u64 {
    m >> 2 | m >> 3 | m >> 4
}

/// Every successor at distance 2 to 5: the next colon of an IPv6 address.
#[inline(always)]
fn next_colon(m: u128) -> u128 {
    m >> 2 | m >> 3 | m >> 4 | m >> 5
}

/// How far the scan advances per block. The classifier reads 64 bytes, so the last eight of each
/// block are lookahead: every IPv4 chain and `::` that starts in the first 56 ends inside the
/// block, and the chain arithmetic runs on one 64-bit word with plain shifts. (Across two words
/// it takes double-width shifts: the whole scan ran 28 % slower that way on the AMD EPYC the
/// benchmarks were measured on, for 14 % more classified bytes here.)
const STRIDE: usize = 56;
const LIVE: u64 = (1 << STRIDE) - 1;
/// Positions of the next block a six-colon chain starting in this one can reach (25 bytes on).
const CHAIN_REACH: u64 = (1 << 25) - 1;

/// Colons followed by another colon 2 to 5 bytes on: every colon of a six-colon chain but the
/// last. Exact for the first 58 positions of a block, which covers the ones that are read.
#[inline(always)]
fn colons_with_successor(m: &Masks) -> u64 {
    let c = m.colon;
    c & (c >> 2 | c >> 3 | c >> 4 | c >> 5)
}

/// Positions (bits) in the first [`STRIDE`] bytes of `cur` that may start an address; `next` is
/// the block [`STRIDE`] bytes on, for the rare chains that reach past `cur`.
#[inline(always)] // called once per block from the scan loop; keeps the masks in registers
fn candidates(cur: &Masks, cur_chain: u64, next: &Masks, next_chain: u64) -> u64 {
    // Branch-free but for the rare six-colon test: which blocks hold dots and colons between
    // digits is data the branch predictor cannot learn.
    let q = cur.quad_dot;
    let quad = q & next_quad_dot(q & next_quad_dot(q));
    let c = cur.colon;
    // Only the first colon of a "::": any colon of an address finds the same span. A special
    // byte right before a colon starts nothing (an at sign needs a domain's first byte after
    // it, `%40` and `\u0040` spell no colon, and 0xEF then is no full-width form): dense
    // addresses after at signs (`@::1` repeated) skip the visit.
    let mut found = (quad | c & c >> 1 | cur.special & !(c >> 1)) & LIVE;
    // Times have one colon with a successor, a MAC address four; six-colon chains need five.
    if (cur_chain & LIVE).count_ones() + (next_chain & CHAIN_REACH).count_ones() >= 5 {
        let colon = u128::from(cur.colon & LIVE) | u128::from(next.colon) << STRIDE;
        let mut chain = colon & next_colon(colon);
        for _ in 0..4 {
            chain = colon & next_colon(chain);
        }
        found |= chain as u64 & LIVE;
    }
    found
}

/// Classifies the 64 bytes in the middle of `window`.
#[inline(always)] // one call per block on the hot path
fn classify(window: &Window) -> Masks {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::classify(window)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        classify_scalar(window)
    }
}

/// The portable definition of [`classify`]; the SIMD versions must agree with it.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_scalar(window: &Window) -> Masks {
    let mut m = Masks::default();
    for i in 0..64 {
        let bit = 1u64 << i;
        let [before, b, after] = [window[i], window[i + 1], window[i + 2]];
        if b == b'.' && before.is_ascii_digit() && after.is_ascii_digit() {
            m.quad_dot |= bit;
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
    use core::arch::x86_64::{__m128i, _mm_and_si128, _mm_loadu_si128, _mm_or_si128};

    use super::{Masks, Window};
    use crate::simd::x128::{bits, digit, eq};

    #[target_feature(enable = "sse2")]
    #[inline]
    fn classify_sse2(window: &Window) -> Masks {
        let mut m = Masks::default();
        for k in 0..4 {
            let at = 16 * k;
            // SAFETY: `at + 2 + 16 <= 66`: every load reads 16 bytes inside `window`, and
            // `_mm_loadu_si128` has no alignment requirement.
            let (before, v, after) = unsafe {
                let p = window.as_ptr().add(at);
                (
                    _mm_loadu_si128(p.cast::<__m128i>()),
                    _mm_loadu_si128(p.add(1).cast::<__m128i>()),
                    _mm_loadu_si128(p.add(2).cast::<__m128i>()),
                )
            };
            let quad_dot = _mm_and_si128(eq(v, b'.'), _mm_and_si128(digit(before), digit(after)));
            let special = _mm_or_si128(_mm_or_si128(eq(v, b'@'), eq(v, b'\\')), _mm_or_si128(eq(v, b'%'), eq(v, 0xEF)));
            m.quad_dot |= bits(quad_dot) << at;
            m.colon |= bits(eq(v, b':')) << at;
            m.special |= bits(special) << at;
        }
        m
    }

    #[inline(always)] // once per block on the hot path
    pub(super) fn classify(window: &Window) -> Masks {
        // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU has it, so calling an
        // `enable = "sse2"` function cannot reach an unsupported instruction.
        unsafe { classify_sse2(window) }
    }
}

/// The same classifier 32 bytes at a time. Half the loads, compares and mask merges of SSE2;
/// chosen at run time, so the scan loop that inlines it is compiled for AVX2 as a whole.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_set1_epi8, _mm256_setr_epi8,
        _mm256_shuffle_epi8,
    };

    use super::{Masks, Window};
    use crate::simd::x256::{bits, digit, eq};

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
    pub(super) fn classify(window: &Window) -> Masks {
        let mut m = Masks::default();
        for k in 0..2 {
            let at = 32 * k;
            // SAFETY: `at + 2 + 32 <= 66`: every load reads 32 bytes inside `window`, and
            // `_mm256_loadu_si256` has no alignment requirement.
            let (before, v, after) = unsafe {
                let p = window.as_ptr().add(at);
                (
                    _mm256_loadu_si256(p.cast::<__m256i>()),
                    _mm256_loadu_si256(p.add(1).cast::<__m256i>()),
                    _mm256_loadu_si256(p.add(2).cast::<__m256i>()),
                )
            };
            let quad_dot = _mm256_and_si256(eq(v, b'.'), _mm256_and_si256(digit(before), digit(after)));
            // The four special bytes have distinct low nibbles: one table lookup finds them all.
            let expected = _mm256_shuffle_epi8(special_by_low_nibble(), _mm256_and_si256(v, _mm256_set1_epi8(0x0F)));
            let special = _mm256_cmpeq_epi8(v, expected);
            m.quad_dot |= bits(quad_dot) << at;
            m.colon |= bits(eq(v, b':')) << at;
            m.special |= bits(special) << at;
        }
        m
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
    // Held here, outside the loop's own function, which then needs no cleanup of its own.
    let _stars = crate::view::StarScan::open(hay);
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = avx2::Avx2::detect() {
        return scan_blocks_avx2(token, hay, emit);
    }
    scan_blocks_with(hay, emit, classify);
}

/// [`scan_blocks_with`] compiled for AVX2, with the AVX2 classifier inlined into it.
#[cfg(target_arch = "x86_64")]
#[inline(always)] // keeps the caller's render closure inlinable; the body below is the real function
fn scan_blocks_avx2(_proof: avx2::Avx2, hay: &[u8], emit: impl FnMut(crate::scan::Finding)) {
    #[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
    fn scan(hay: &[u8], emit: impl FnMut(crate::scan::Finding)) {
        scan_blocks_with(hay, emit, |window| avx2::classify(window));
    }
    // SAFETY: an `Avx2` value exists only after `is_x86_feature_detected!` said yes to each of
    // these features, so the running CPU executes every instruction `scan` may contain.
    unsafe { scan(hay, emit) }
}

/// The classifier alone over `hay`, its masks folded into one word: the floor under any scan
/// built on it (no candidates, no visits), measured by the benchmarks next to the real scan.
pub(crate) fn classify_only(hay: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if avx2::Avx2::detect().is_some() {
        #[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
        fn fold_avx2(hay: &[u8]) -> u64 {
            fold_masks(hay, |window| avx2::classify(window))
        }
        // SAFETY: AVX2, POPCNT, BMI1 and BMI2 were detected just above.
        return unsafe { fold_avx2(hay) };
    }
    fold_masks(hay, classify)
}

#[inline(always)] // inlined into each entry point with that entry point's classifier
fn fold_masks(hay: &[u8], classify: impl Fn(&Window) -> Masks) -> u64 {
    let mut folded = 0u64;
    for offset in (0..hay.len()).step_by(STRIDE) {
        let m = masks_at(hay, offset, &classify);
        folded ^= m.quad_dot ^ m.colon.rotate_left(21) ^ m.special.rotate_left(42);
    }
    folded
}

/// The masks of the block at `offset`, zero-padded outside `hay`; empty once past its end.
#[inline(always)] // once per block on the hot path
fn masks_at(hay: &[u8], offset: usize, classify: impl Fn(&Window) -> Masks) -> Masks {
    if let Some(window) = offset.checked_sub(1).and_then(|before| hay.get(before..offset + 65)) {
        classify(window.try_into().expect("66-byte slice"))
    } else if offset < hay.len() {
        // The first block and the last one or two: rare, so a copy is cheap enough.
        let mut window = [0u8; 66];
        let from = offset.saturating_sub(1);
        let to = hay.len().min(offset + 65);
        window[from + 1 - offset..to + 1 - offset].copy_from_slice(&hay[from..to]);
        classify(&window)
    } else {
        Masks::default()
    }
}

/// Triggers of one byte judged up to a position: set from `Outcome::SkipSame`, cleared by a
/// finding (a new floor can shorten a run, so the judgement no longer holds) back to what
/// `Outcome::LongRun` judged whatever the floor.
#[derive(Clone, Copy, Default)]
struct Judged {
    colon: usize,
    dot: usize,
    percent: usize,
    /// Colons and dots judged whatever the floor.
    kept_colon: usize,
    kept_dot: usize,
}

impl Judged {
    #[inline(always)]
    fn slot(&mut self, byte: u8) -> Option<&mut usize> {
        match byte {
            b':' => Some(&mut self.colon),
            b'.' => Some(&mut self.dot),
            b'%' => Some(&mut self.percent),
            _ => None,
        }
    }

    /// A finding moved the floor: what holds whatever the floor is left.
    #[inline(always)]
    fn new_floor(self) -> Judged {
        Judged { colon: self.kept_colon, dot: self.kept_dot, percent: 0, ..self }
    }
}

/// Bits of the block at `offset` that lie before `until`.
#[inline(always)]
fn below(until: usize, offset: usize) -> u64 {
    match until.saturating_sub(offset) {
        0 => 0,
        k if k >= 64 => !0,
        k => (1u64 << k) - 1,
    }
}

#[inline(always)] // inlined into each entry point with that entry point's classifier
fn scan_blocks_with(hay: &[u8], mut emit: impl FnMut(crate::scan::Finding), classify: impl Fn(&Window) -> Masks) {
    use crate::scan::{Outcome, candidate_at};

    let n = hay.len();
    let mut from = 0;
    let mut floor = 0;
    let mut offset = 0;
    let mut judged = Judged::default();
    let mut cur = masks_at(hay, 0, &classify);
    let mut cur_chain = colons_with_successor(&cur);
    while offset < n {
        let next = masks_at(hay, offset + STRIDE, &classify);
        let next_chain = colons_with_successor(&next);
        let all = candidates(&cur, cur_chain, &next, next_chain);
        let from_on = |from: usize| {
            if from <= offset {
                !0
            } else if from - offset >= 64 {
                0
            } else {
                !0u64 << (from - offset)
            }
        };
        let mut bits = all & from_on(from);
        // A long run judged once: its other colons and dots drop out in bulk.
        bits &= !(cur.colon & below(judged.colon, offset) | cur.quad_dot & below(judged.dot, offset));
        while bits != 0 {
            let p = offset + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if p < from || judged.slot(hay[p]).is_some_and(|until| p < *until) {
                continue;
            }
            let outcome = candidate_at(hay, p, floor);
            match outcome {
                Outcome::Found(f) => {
                    emit(f);
                    floor = f.end;
                    from = f.end;
                    // The new floor ends every judgement but the long runs', also of the bits
                    // cleared in bulk.
                    judged = judged.new_floor();
                    bits = all & from_on(from);
                }
                Outcome::Skip(_) => from = p + 1,
                Outcome::SkipSame(until) | Outcome::LongRun { until, .. } => {
                    from = p + 1;
                    if let Some(slot) = judged.slot(hay[p]) {
                        *slot = until;
                    }
                    if let Outcome::LongRun { kept, .. } = outcome {
                        match hay[p] {
                            b':' => judged.kept_colon = judged.kept_colon.max(kept),
                            b'.' => judged.kept_dot = judged.kept_dot.max(kept),
                            _ => {}
                        }
                    }
                    // The rest of this block's bits of that byte: in bulk too.
                    bits &= !(cur.colon & below(judged.colon, offset) | cur.quad_dot & below(judged.dot, offset));
                }
            }
        }
        cur = next;
        cur_chain = next_chain;
        offset += STRIDE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: Masks, b: Masks) -> bool {
        (a.quad_dot, a.colon, a.special) == (b.quad_dot, b.colon, b.special)
    }

    #[test]
    fn simd_classifiers_agree_with_the_scalar_definition() {
        let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
        let alphabet = b".:0123456789@\\%40abcdefxyz/ \xEF\xBC\xA0";
        for _ in 0..5000 {
            let mut window = [0u8; 66];
            for b in &mut window {
                // Mostly the bytes the classes are about, sometimes any byte.
                *b = if rng.u8(..7) == 0 { rng.u8(..) } else { alphabet[rng.usize(..alphabet.len())] };
            }
            let slow = classify_scalar(&window);
            assert!(same(classify(&window), slow));
            #[cfg(target_arch = "x86_64")]
            if avx2::Avx2::detect().is_some() {
                // SAFETY: AVX2 was detected just above.
                assert!(same(unsafe { avx2::classify(&window) }, slow));
            }
        }
    }

    #[test]
    fn the_digit_test_takes_exactly_the_ten_digits() {
        for b in 0..=255u8 {
            let mut window = [b'.'; 66];
            window[0] = b;
            window[2] = b'7';
            let quad_dot = classify(&window).quad_dot & 1 != 0;
            assert_eq!(quad_dot, b.is_ascii_digit(), "byte {b:#04x}");
        }
    }

    /// Whether position `at` of the first block of `text` passes the filter.
    fn passes(text: &[u8], at: usize) -> bool {
        let (cur, next) = (masks_at(text, 0, classify), masks_at(text, STRIDE, classify));
        candidates(&cur, colons_with_successor(&cur), &next, colons_with_successor(&next)) & 1 << at != 0
    }

    #[test]
    fn every_address_shape_passes() {
        assert!(passes(b"1.2.3.4", 1));
        assert!(passes(b"255.255.255.255", 3));
        assert!(passes(b"2001:0db8:85a3:0000:0000:8a2e:0370:7334", 4));
        assert!(passes(b"0:0:0:0:0:ffff:1.2.3.4", 1));
        assert!(passes(b"fe80::1", 4));
        assert!(passes(b"a%40b.co", 1));
        assert!(passes(b"010.001.002.003", 3));
        // An address straddling the block edge is seen through the lookahead.
        let mut long = vec![b' '; 52];
        long.extend_from_slice(b"10.20.30.40");
        assert!(passes(&long, 54));
        let mut long = vec![b' '; 54];
        long.extend_from_slice(b"1:2:3:4:5:6:7:8");
        assert!(passes(&long, 55));
        assert!(!passes(&long, 57), "past the stride the next block decides");
    }

    #[test]
    fn near_misses_are_rejected_in_bulk() {
        assert!(!passes(b"12:34:56.789", 2), "times");
        assert!(!passes(b"12:34:56.789", 8));
        assert!(!passes(b"duration 1.234s", 10), "decimals");
        assert!(!passes(b"okhttp/4.12.0", 8), "three-part versions");
        assert!(!passes(b"java.lang.Thread.run", 4), "dots between letters");
        assert!(!passes(b"hwaddr 02:42:ac:11:00:02 at 12:34:56", 9), "MAC addresses, even next to a time");
        assert!(!passes(b"1.2.3", 1));
    }

    #[test]
    fn the_byte_before_a_block_counts() {
        // The dot at the start of the second block sits between digits only because of the
        // last byte of the first block.
        let mut text = vec![b' '; STRIDE - 1];
        text.extend_from_slice(b"1.2.3.4");
        let before = masks_at(&text, STRIDE, classify);
        assert_eq!(before.quad_dot & 1, 1);
        text[STRIDE - 1] = b'x';
        assert_eq!(masks_at(&text, STRIDE, classify).quad_dot & 1, 0);
    }

    #[test]
    fn addresses_at_every_offset_around_block_edges_agree_with_the_reference() {
        let shapes: [&[u8]; 10] = [
            b"1.2.3.4",
            b"255.255.255.255",
            b"1:2:3:4:5:6:7:8",
            b"0:0:0:0:0:ffff:10.0.0.1",
            b"fe80::1",
            b"::1",
            b"a@b.co",
            b"a%40b.co",
            br"a\u0040b.co",
            "a＠b.jp".as_bytes(),
        ];
        // Fillers that put digits, dots and colons right next to the address.
        for filler in [b' ', b'9', b'.', b':', b'x'] {
            for shape in shapes {
                for at in 40..200 {
                    let mut text = vec![filler; at];
                    text.push(b' ');
                    text.extend_from_slice(shape);
                    text.push(b' ');
                    text.extend(std::iter::repeat_n(filler, 70));
                    let reference = crate::oracle::reference_scan(&text);
                    let mut fast = Vec::new();
                    scan_blocks(&text, |f| fast.push(f));
                    assert_eq!(fast, reference, "{:?}", String::from_utf8_lossy(&text));
                    // The SSE2 (or portable) loop, which AVX2 machines never run otherwise.
                    let mut baseline = Vec::new();
                    scan_blocks_with(&text, |f| baseline.push(f), classify);
                    assert_eq!(baseline, reference, "{:?}", String::from_utf8_lossy(&text));
                }
            }
        }
    }

    /// Runs that every trigger of them could judge again: the scan must judge each once.
    #[test]
    fn adversarial_runs_cost_a_few_steps_per_byte() {
        // The last four hold a finding in every unit of a long colon run: the run was walked to
        // its end after each finding (a MiB of "10.0.0.1::1" took half a minute).
        let units: [&str; 16] = [
            ":",
            "::1",
            "1.",
            "%40",
            "1.2.3.4.",
            "a:",
            "1.1.1.1.1:",
            "::1.",
            "a@",
            "@",
            "%40a.",
            "1:1.1:1.",
            "10.0.0.1::1",
            "1.2.3.4::",
            ":1.2.3.4",
            "x@y.zz::1.2.3.4:",
        ];
        for unit in units {
            let hay = unit.repeat(64 * 1024 / unit.len());
            crate::scan::WORK.with(|w| w.set(0));
            let mut found = 0;
            scan_blocks(hay.as_bytes(), |_| found += 1);
            let work = crate::scan::WORK.with(|w| w.get());
            let per_byte = work as f64 / hay.len() as f64;
            assert!(per_byte <= 4.0, "{unit:?}: {per_byte:.1} steps per byte ({found} findings)");
        }
    }

    #[test]
    fn the_classifier_floor_folds_every_mask() {
        assert_eq!(classify_only(b"plain words, nothing to classify"), 0);
        let long = [b' '; 200];
        for byte in [b':', b'@', b'%'] {
            let mut text = long;
            text[150] = byte;
            assert_ne!(classify_only(&text), 0, "{}", byte as char);
        }
        assert_ne!(classify_only(b"v1.2"), 0);
        assert_eq!(classify_only(b"v1.x"), 0, "a dot between a digit and a letter is not classified");
    }
}
