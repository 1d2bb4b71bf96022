//! The trigger-by-trigger `memchr` walk that the block prefilter replaced, and the every-byte
//! reference scan: the oracles the tests (and the benchmarks' baseline) compare the hot path
//! ([`crate::prefilter::scan_blocks`]) with. Neither is used to mask anything.
//!
//! The walk jumps from trigger to trigger with two `memchr3` searches (`@ . :` and `% \ 0xEF`)
//! and asks [`candidate_at`] at each, following its skip hints; the reference scan asks at every
//! trigger byte and ignores the hints. Both hold the prefilter to its contract: no position the
//! walk would find an address at may be filtered out.

use memchr::memchr3;

use crate::scan::{Finding, Outcome, candidate_at};

const NONE: usize = usize::MAX;

#[inline]
fn find_structural(hay: &[u8], from: usize) -> usize {
    memchr3(b'@', b'.', b':', &hay[from..]).map_or(NONE, |i| from + i)
}

#[inline]
fn find_disguise(hay: &[u8], from: usize) -> usize {
    memchr3(b'%', b'\\', 0xEF, &hay[from..]).map_or(NONE, |i| from + i)
}

/// Calls `emit` for every address in `hay`, in order, without overlaps.
#[inline]
pub(crate) fn scan(hay: &[u8], mut emit: impl FnMut(Finding)) {
    let mut from = 0;
    let mut floor = 0;
    let mut next_structural = find_structural(hay, 0);
    let mut next_disguise = find_disguise(hay, 0);
    loop {
        if next_structural < from {
            next_structural = find_structural(hay, from);
        }
        if next_disguise < from {
            next_disguise = find_disguise(hay, from);
        }
        let p = next_structural.min(next_disguise);
        if p == NONE {
            return;
        }
        match candidate_at(hay, p, floor) {
            Outcome::Found(f) => {
                debug_assert!(f.start >= floor && f.start <= p && f.end > p);
                emit(f);
                floor = f.end;
                from = f.end;
            }
            Outcome::Skip(hint) => from = hint.max(p + 1),
            Outcome::SkipSame(_) | Outcome::LongRun { .. } => from = p + 1,
        }
        if from >= hay.len() {
            return;
        }
    }
}

/// The slow, obviously-correct twin of [`scan`]: tries every byte, no memchr, no skip hints.
/// Used by the tests as the oracle for the prefilter.
pub(crate) fn reference_scan(hay: &[u8]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut floor = 0;
    let mut i = 0;
    while i < hay.len() {
        if matches!(hay[i], b'@' | b'.' | b':' | b'%' | b'\\' | 0xEF)
            && let Outcome::Found(f) = candidate_at(hay, i, floor)
        {
            found.push(f);
            floor = f.end;
            i = f.end;
            continue;
        }
        i += 1;
    }
    found
}
