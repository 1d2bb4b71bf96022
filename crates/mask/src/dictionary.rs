//! Dictionary identifiers: exact terms (VIP customer names, internal host names, project code
//! names) listed in the policy, inline or in a terms file, masked like any user-defined
//! identifier (`<customer>` in the operator and readonly views, a keyed pseudonym
//! `<customer:k1:…>` in the readonly view when a token key is set).
//!
//! ```toml
//! [[identifiers]]
//! name = "customer"
//! terms_file = "customers.txt"    # relative to the policy file
//! case_insensitive = true         # ASCII letters only
//!
//! [[identifiers]]
//! name = "project"
//! terms = ["Bluebird", "山田商事"]
//! ```
//!
//! Every term of every dictionary identifier is compiled once, when the masker is built, into
//! one Aho-Corasick automaton (two when case-sensitive and case-insensitive dictionaries are
//! mixed: ASCII case folding is a property of the whole automaton).
//!
//! # Whole words
//!
//! A term matches only as a whole word: a letter, digit or `_` of the term's first (last)
//! character must not continue a word before (after) it, unless its identifier sets
//! `inside_words = true` (then it matches wherever it occurs, and the start-position filter
//! lets every position through). Word characters are ASCII letters,
//! digits and `_`, and the letters and digits of scripts that separate words with spaces
//! (accented Latin, Greek, Cyrillic, …): `Ren` does not match in `René`, `acme` does not match in
//! `acmes`, but `acme` matches in `acme-corp`, `acme.example` and `"acme"`.
//!
//! Scripts written without spaces between words — Han, Hiragana, Katakana, Hangul, Thai, Lao,
//! Khmer, Myanmar, and the full-width and half-width forms used with them — have no word
//! boundaries a program can see without a dictionary of the language, so their characters are
//! never word characters: a term written in them matches wherever it occurs (`山田` in
//! `山田太郎様`, also in `小山田`), and an ASCII term written directly against them matches too
//! (`ACME` in `ACMEの担当`). Over-masking a Japanese name is the safe side for a masking tool;
//! requiring a script change at the edges would leave `山田` readable in `山田太郎`, which is how
//! names are written.
//!
//! # Escapes
//!
//! JSON writers escape non-ASCII text (`\u5c71\u7530` is `山田`; Python's `json.dumps` does it by
//! default) and control characters (`\n` before a name in a stack trace). A haystack with a
//! backslash is searched with its JSON escapes (`\uXXXX` with surrogate pairs, `\n`, `\t`, `\"`,
//! `\\`, `\/`, …) decoded, and each match is mapped back to the escapes it covers, so the token
//! replaces whole escapes and a JSON string stays valid. Percent-encoded terms (`%E5%B1%B1`) are
//! not decoded.
//!
//! # Terms
//!
//! A term is 1–[`MAX_TERM_BYTES`] bytes of UTF-8 without control characters, `"`, `\`, `<` or
//! `>` (a replacement must never cut a JSON string's quote or escape, nor a mask token), and
//! without spaces at its ends. A term that the masker's own output matches (`email`, the key id,
//! another identifier's name, `0`) is refused: masking a view again would change it. One term in
//! two identifiers is refused (a match could only be one of them).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;

use aho_corasick::automaton::{Automaton as _, StateID};
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, MatchKind};

use crate::policy::{BuildError, IdentifierPolicy, Policy};

/// The longest term, in bytes (a DNS name is at most 253).
pub const MAX_TERM_BYTES: usize = 256;

/// The most terms a policy may list, over all its identifiers (the automaton of 100 000 terms
/// of 16 bytes takes tens of megabytes; a Lambda function has 128 MB).
pub const MAX_TERMS: usize = 100_000;

/// The largest terms file, in bytes.
pub const MAX_TERMS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// What is wrong with one term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TermProblem {
    /// The term is empty.
    Empty,
    /// The term is longer than [`MAX_TERM_BYTES`].
    TooLong,
    /// The term starts or ends with white space.
    EdgeSpace,
    /// The term holds a character no term may hold.
    Forbidden(char),
}

impl std::fmt::Display for TermProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TermProblem::Empty => f.write_str("is empty"),
            TermProblem::TooLong => write!(f, "is longer than {MAX_TERM_BYTES} bytes"),
            TermProblem::EdgeSpace => f.write_str("starts or ends with white space"),
            TermProblem::Forbidden(c) => write!(
                f,
                "holds {c:?}: terms may not hold control characters, '\"', '\\\\', '<' or '>' \
                 (a mask must never cut a JSON string or a mask token)"
            ),
        }
    }
}

/// Why the dictionary identifiers of a policy were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TermsError {
    /// An identifier with neither a pattern nor terms.
    #[error("identifier {0:?}: needs a `pattern`, or `terms` / `terms_file`")]
    NoMatcher(String),
    /// An identifier with a pattern and terms.
    #[error("identifier {0:?}: has both a `pattern` and terms; define two identifiers")]
    PatternAndTerms(String),
    /// `case_insensitive` on a pattern identifier.
    #[error("identifier {0:?}: `case_insensitive` applies to terms; write `(?i)` in a pattern")]
    CaseWithoutTerms(String),
    /// `inside_words` on a pattern identifier.
    #[error("identifier {0:?}: `inside_words` applies to terms; a pattern matches where it matches")]
    InsideWordsWithoutTerms(String),
    /// `terms = []` and a terms file with no term (only blank lines and comments).
    #[error("identifier {0:?}: lists no terms")]
    NoTerms(String),
    /// A term that cannot be used.
    #[error("identifier {name:?}: term {term:?}{} {problem}", line.map(|l| format!(" (terms file line {l})")).unwrap_or_default())]
    BadTerm {
        /// The identifier's name.
        name: String,
        /// The term (cut to its first 80 characters).
        term: String,
        /// Its line in the terms file, when it comes from one.
        line: Option<usize>,
        /// What is wrong with it.
        problem: TermProblem,
    },
    /// A terms file that cannot be read, is too big or is not UTF-8.
    #[error("identifier {name:?}: terms file {path}: {problem}")]
    File {
        /// The identifier's name.
        name: String,
        /// The file, as resolved against the policy file's directory.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// A relative `terms_file` in a policy that was not read with [`Policy::from_file`].
    #[error(
        "identifier {name:?}: terms_file {path:?} is relative to a policy file, but this policy was \
         not read from one (use Policy::from_file, or an absolute path)"
    )]
    Unresolved {
        /// The identifier's name.
        name: String,
        /// The path as written.
        path: String,
    },
    /// A term that matches text the masker writes into its views.
    #[error(
        "identifier {name:?}: term {term:?} matches {sample:?}, which the masker writes into its \
         views (masking a view again would change it, without end)"
    )]
    MatchesView {
        /// The identifier's name.
        name: String,
        /// The term.
        term: String,
        /// A piece of masked output it matches.
        sample: String,
    },
    /// One term (up to ASCII case, where either identifier ignores it) in two identifiers.
    #[error("term {term:?} is listed by identifiers {first:?} and {second:?}; a match can only be one of them")]
    Shared {
        /// The term.
        term: String,
        /// The identifier that lists it first.
        first: String,
        /// The other one.
        second: String,
    },
    /// More terms than [`MAX_TERMS`].
    #[error("the policy lists {0} terms; at most {MAX_TERMS} are allowed")]
    TooMany(usize),
}

impl Policy {
    /// Reads a policy file and the terms files it names (relative to the policy file's
    /// directory). Their terms are added to the identifiers' `terms` and `terms_file` is cleared,
    /// so the returned policy (and any fingerprint of it) holds the terms themselves.
    ///
    /// A terms file has one term per line; blank lines and lines whose first non-blank character
    /// is `#` are ignored, and white space at both ends of a line is removed (a term that starts
    /// with `#` goes in `terms`). At most [`MAX_TERMS_FILE_BYTES`], UTF-8 (a leading byte-order
    /// mark is skipped).
    // Here rather than in policy.rs: terms files are the only reason a policy needs its path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, BuildError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| BuildError::PolicyFile { path: path.display().to_string(), message: e.to_string() })?;
        let mut policy = Policy::from_toml(&text)?;
        let base = path.parent().unwrap_or(Path::new(""));
        for ident in &mut policy.identifiers {
            if let Some(file) = ident.terms_file.take() {
                let file = base.join(file);
                let terms = read_terms_file(&ident.name, &file)?;
                if terms.is_empty() {
                    return Err(TermsError::NoTerms(ident.name.clone()).into());
                }
                ident.terms.extend(terms);
            }
        }
        Ok(policy)
    }
}

/// The terms of a terms file, with their line numbers in `BadTerm` errors.
fn read_terms_file(name: &str, path: &Path) -> Result<Vec<String>, TermsError> {
    let fail = |problem: String| TermsError::File { name: name.to_owned(), path: path.display().to_string(), problem };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    // `take`: the size from metadata says nothing about a pipe or a device (`/dev/zero`).
    file.take(MAX_TERMS_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_TERMS_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_TERMS_FILE_BYTES} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        fail(format!("not UTF-8 (line {line})"))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut terms = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let term = line.trim();
        if term.is_empty() || term.starts_with('#') {
            continue;
        }
        check_term(term).map_err(|problem| bad_term(name, term, Some(n + 1), problem))?;
        terms.push(term.to_owned());
    }
    Ok(terms)
}

fn bad_term(name: &str, term: &str, line: Option<usize>, problem: TermProblem) -> TermsError {
    TermsError::BadTerm { name: name.to_owned(), term: term.chars().take(80).collect(), line, problem }
}

fn check_term(term: &str) -> Result<(), TermProblem> {
    if term.is_empty() {
        return Err(TermProblem::Empty);
    }
    if term.len() > MAX_TERM_BYTES {
        return Err(TermProblem::TooLong);
    }
    if let Some(c) = term.chars().find(|&c| c.is_control() || matches!(c, '"' | '\\' | '<' | '>')) {
        return Err(TermProblem::Forbidden(c));
    }
    if term.starts_with(char::is_whitespace) || term.ends_with(char::is_whitespace) {
        return Err(TermProblem::EdgeSpace);
    }
    Ok(())
}

/// One automaton and, per pattern, the identifier it belongs to.
#[derive(Debug)]
struct Automaton {
    /// Searched anchored, from the positions [`Starts`] lets through: a walk down the trie of
    /// terms that stops at the first byte no term continues with. A contiguous NFA: ~1 MB for
    /// 10 000 terms where a DFA took 18 MB, and the walks are short (most end on their first
    /// or second byte), so the DFA's one-lookup transitions bought little.
    nfa: contiguous::NFA,
    start: StateID,
    owner: Vec<u16>,
}

impl Automaton {
    fn new(terms: &[&str], owner: Vec<u16>, case_insensitive: bool) -> Automaton {
        let nfa = contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(case_insensitive)
            // Searches start where `Starts` says, never where the automaton's prefilter would.
            .prefilter(false)
            .build(terms)
            .expect("terms are few and short enough for an automaton (MAX_TERMS, MAX_TERM_BYTES)");
        let start = nfa.start_state(Anchored::Yes).expect("a contiguous NFA supports anchored searches");
        Automaton { nfa, start, owner }
    }

    /// Calls `emit` for every term that `text[at..]` starts with and that stands as a whole word
    /// (or whose identifier matches inside words: `whole`, per identifier index, is false).
    #[inline(always)]
    fn walk(&self, text: &[u8], at: usize, whole: &[bool], emit: &mut dyn FnMut(usize, usize, u16)) {
        let nfa = &self.nfa;
        let mut sid = self.start;
        for (i, &b) in text[at..].iter().enumerate() {
            sid = nfa.next_state(Anchored::Yes, sid, b);
            if nfa.is_dead(sid) {
                return;
            }
            if nfa.is_match(sid) {
                let end = at + i + 1;
                for m in 0..nfa.match_len(sid) {
                    let pid = nfa.match_pattern(sid, m);
                    // A state's matches include the terms that end here but start later (its
                    // suffixes): those are found from their own start.
                    let owner = self.owner[pid.as_usize()];
                    if nfa.pattern_len(pid) == end - at && (!whole[usize::from(owner)] || whole_word(text, at, end)) {
                        emit(at, end, owner);
                    }
                }
            }
        }
    }
}

/// The positions a term may start at, and a quick test of the bytes there, so that the
/// automaton is walked from a few positions instead of every byte.
///
/// A term whose first character is a word character matches only where no word character
/// precedes it (the whole-word rule): an ASCII letter, digit or `_` right after another one
/// never starts a match, and log text is mostly such bytes. A term that starts with any other
/// character — Japanese, accented, punctuation — may start at any occurrence of its first byte
/// (a UTF-8 lead byte, or that punctuation). Of those positions, only the ones whose byte some
/// term starts with are kept (an exact set of ASCII bytes; lead bytes in pairs of high
/// nibbles), and of those the ones whose two bytes some term starts with (eight Teddy
/// buckets, false hits allowed). At each position left, the first four bytes
/// (ASCII-lowercased) are looked up in a hashed bit set of the terms' first four; only a hit
/// walks the automaton.
#[derive(Debug)]
struct Starts {
    /// What the block classifier looks up.
    tables: Tables,
    /// Some identifier's terms match inside words: a word byte after another may start one.
    inside_words: bool,
    /// Bit `n` set when some term is `n` < [`KEY`] bytes long (its key is shorter).
    short: u8,
    /// Hashed bit set of every term's key: its first `min(len, 4)` bytes, lowercased, and
    /// that length.
    keys: Vec<u64>,
    /// `64 - log2(bits in keys)`.
    shift: u32,
    /// Whether the running CPU has SSSE3, AVX2 (checked once, when the dictionary is compiled).
    #[cfg(target_arch = "x86_64")]
    ssse3: bool,
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

/// A block and the bytes after it that the keys of its last positions read.
type Window = [u8; 64 + KEY];

/// The classifier's lookup tables, each indexed by a nibble (the layout `pshufb` looks up).
///
/// A byte's class is a row picked by its low nibble, tested at the bit [`HI_BIT`] gives its
/// high nibble: the six of printable ASCII have a bit each, and the four of UTF-8 lead bytes
/// share two (0xC–0xD, 0xE–0xF); the others (controls, continuation bytes) have none and
/// are in no class. One bit per high nibble serves both classes below, so the classifier
/// looks the high nibble up once.
#[derive(Debug, Default)]
struct Tables {
    /// The bytes some term starts with (both cases of an ASCII letter in a case-insensitive
    /// dictionary), and bytes that share their row and bit: a lead byte passes with the other
    /// of its pair of high nibbles (0xC3 with 0xD3), which the pairs and keys then weed out.
    first: [u8; 16],
    /// The terms' first two bytes in eight buckets, Teddy-style: bit `k` of
    /// `pairs[0][lo]`, `pairs[1][hi]`, `pairs[2][lo']` and `pairs[3][hi']` all set when bucket
    /// `k` holds a pair whose first byte has the nibbles `hi`, `lo` and whose second byte has
    /// `hi'`, `lo'` (a one-byte term's pair takes any second byte). Every term's pair passes;
    /// other pairs pass only when one bucket holds all four of their nibbles, so the buckets
    /// are filled to cover as few byte pairs as they can. On the benchmark's terms and app
    /// logs this leaves a third of the positions the first-byte sets let through.
    pairs: [[u8; 16]; 4],
}

/// The bit of a high nibble in a row of [`Tables::first`] or [`WORD_ROWS`].
const HI_BIT: [u8; 16] = [0, 0, 1, 2, 4, 8, 16, 32, 0, 0, 0, 0, 64, 64, 128, 128];

/// Whether the class `rows` (one row per low nibble, see [`Tables`]) holds byte `b`.
fn in_rows(rows: &[u8; 16], b: u8) -> bool {
    rows[usize::from(b & 15)] & HI_BIT[usize::from(b >> 4)] != 0
}

/// Adds byte `b` to the class `rows` (and the bytes that share its row and bit).
fn add_to_rows(rows: &mut [u8; 16], b: u8) {
    rows[usize::from(b & 15)] |= HI_BIT[usize::from(b >> 4)];
}

/// ASCII letters, digits and `_` as rows of [`Tables`]: exact (no byte shares a bit with them).
const WORD_ROWS: [u8; 16] = {
    let mut rows = [0u8; 16];
    let mut b = 0usize;
    while b < 128 {
        if is_ascii_word_byte(b as u8) {
            rows[b & 15] |= HI_BIT[b >> 4];
        }
        b += 1;
    }
    rows
};

/// Fills the eight buckets of [`Tables::pairs`] with `pairs` (`None`: any second byte):
/// each pair goes to the bucket whose nibble sets grow the least, measured as the number of
/// byte pairs the bucket then covers (the product of its four set sizes).
fn pair_buckets(pairs: &std::collections::BTreeSet<(u8, Option<u8>)>) -> [[u8; 16]; 4] {
    const ALL: u16 = u16::MAX;
    let nibbles = |&(a, b): &(u8, Option<u8>)| -> [u16; 4] {
        let (lo1, hi1) = b.map_or((ALL, ALL), |b| (1 << (b & 15), 1 << (b >> 4)));
        [1 << (a & 15), 1 << (a >> 4), lo1, hi1]
    };
    let covered = |sets: &[u16; 4]| sets.iter().map(|s| u64::from(s.count_ones())).product::<u64>();
    let mut buckets = [[0u16; 4]; 8];
    for pair in pairs {
        let add = nibbles(pair);
        let grown = |b: &[u16; 4]| -> [u16; 4] { std::array::from_fn(|i| b[i] | add[i]) };
        let best = (0..8)
            .min_by_key(|&k| {
                let b = &buckets[k];
                let before = if b[0] == 0 { 0 } else { covered(b) };
                (covered(&grown(b)) - before, covered(b))
            })
            .expect("eight buckets");
        buckets[best] = grown(&buckets[best]);
    }
    let mut tables = [[0u8; 16]; 4];
    for (k, bucket) in buckets.iter().enumerate() {
        for (table, set) in tables.iter_mut().zip(bucket) {
            for (nibble, entry) in table.iter_mut().enumerate() {
                if set >> nibble & 1 == 1 {
                    *entry |= 1 << k;
                }
            }
        }
    }
    tables
}

impl Starts {
    fn new<'t>(terms: impl Iterator<Item = (&'t str, bool)>) -> Starts {
        let mut starts = Starts {
            tables: Tables::default(),
            inside_words: false,
            short: 0,
            keys: Vec::new(),
            shift: 0,
            #[cfg(target_arch = "x86_64")]
            ssse3: std::is_x86_feature_detected!("ssse3"),
            #[cfg(target_arch = "x86_64")]
            avx2: std::is_x86_feature_detected!("avx2"),
        };
        let mut keys = std::collections::HashSet::new();
        let mut pairs = std::collections::BTreeSet::new();
        for (term, case_insensitive) in terms {
            let bytes = term.as_bytes();
            let first = bytes[0];
            let cases = |b: u8| {
                if case_insensitive { [b.to_ascii_lowercase(), b.to_ascii_uppercase()] } else { [b, b] }
            };
            for a in cases(first) {
                match bytes.get(1) {
                    None => {
                        pairs.insert((a, None));
                    }
                    Some(&b) => pairs.extend(cases(b).map(|b| (a, Some(b)))),
                }
            }
            // A term is UTF-8 without control characters: its first byte is printable ASCII or
            // a lead byte, 0xC2 and up, and has a bit in the rows.
            for b in cases(first) {
                add_to_rows(&mut starts.tables.first, b);
            }
            let n = bytes.len().min(KEY);
            if n < KEY {
                starts.short |= 1 << n;
            }
            keys.insert((key(&bytes[..n]), n));
        }
        // ~16 bits per key: a few percent of false hits. Sized by the keys, not the terms:
        // terms share prefixes, and a set that stays in the L1 cache is what keeps the
        // per-position test cheap (10 000 terms of the benchmark have ~330 keys).
        let log2 = (keys.len() * 16).next_power_of_two().trailing_zeros().clamp(9, 24);
        starts.tables.pairs = pair_buckets(&pairs);
        starts.keys = vec![0; 1 << (log2 - 6)];
        starts.shift = 64 - log2;
        for (key, n) in keys {
            let slot = starts.slot(key, n);
            starts.keys[slot >> 6] |= 1 << (slot & 63);
        }
        starts
    }

    #[inline(always)]
    fn slot(&self, key: u32, len: usize) -> usize {
        let h = (u64::from(key) | (len as u64) << 32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> self.shift) as usize
    }

    #[inline(always)]
    fn has(&self, key: u32, len: usize) -> bool {
        let slot = self.slot(key, len);
        self.keys[slot >> 6] >> (slot & 63) & 1 == 1
    }

    /// Bit `i` set where byte `i` of a block with these classes may start a term, given
    /// whether the byte before the block is an ASCII word byte; and whether the block's last
    /// byte is one.
    #[inline(always)]
    fn positions(&self, classes: Classes, before_word: bool) -> (u64, bool) {
        let word = classes.word;
        let word_start = !(word << 1 | u64::from(before_word)) | u64::from(self.inside_words).wrapping_neg();
        let at = classes.start & (word_start | !word);
        (at, word >> 63 == 1)
    }

    /// The positions of `at` whose four-byte key is a term's (false hits allowed): without a
    /// branch per position, which one in log text is about as likely as the other.
    #[inline(always)]
    fn keyed(&self, window: &Window, mut at: u64) -> u64 {
        let mut hit = 0;
        // The first two without a loop: on app logs a block has none, one or two about equally
        // often (31, 37, 24 %), and a loop mispredicts its exit that often (10 % faster without;
        // with three, slower again). An empty `at` reads the window's last bytes and keeps no
        // bit.
        for _ in 0..2 {
            let i = at.trailing_zeros() as usize;
            let present = u64::from(at != 0);
            at &= at.wrapping_sub(1);
            let four = window[i..i + KEY].try_into().expect("the window holds KEY bytes past its block");
            let slot = self.slot(lower4(u32::from_le_bytes(four)), KEY);
            hit |= (self.keys[slot >> 6] >> (slot & 63) & present) << (i & 63);
        }
        while at != 0 {
            let i = at.trailing_zeros() as usize;
            at &= at - 1;
            let four = window[i..i + KEY].try_into().expect("the window holds KEY bytes past its block");
            let slot = self.slot(lower4(u32::from_le_bytes(four)), KEY);
            hit |= (self.keys[slot >> 6] >> (slot & 63) & 1) << i;
        }
        hit
    }

    /// Whether a term shorter than [`KEY`] bytes may start `rest`.
    fn short_key(&self, rest: &[u8]) -> bool {
        (1..KEY).any(|n| self.short & (1 << n) != 0 && rest.len() >= n && self.has(key(&rest[..n]), n))
    }
}

/// Bytes of a term's key.
const KEY: usize = 4;

/// Four bytes (little-endian) with ASCII capitals lowercased, without a branch per byte.
#[inline(always)]
fn lower4(x: u32) -> u32 {
    const HIGH: u32 = 0x8080_8080;
    // With bit 7 cleared, adding `0x80 - lo` sets bit 7 exactly when the byte is >= lo,
    // without carries between bytes.
    let low = x & !HIGH;
    let at_least_a = low.wrapping_add(0x3F3F_3F3F);
    let past_z = low.wrapping_add(0x2525_2525);
    x | (at_least_a & !past_z & !x & HIGH) >> 2
}

/// A term's key: its first bytes (at most [`KEY`]), lowercased, little-endian.
fn key(bytes: &[u8]) -> u32 {
    let mut four = [0; KEY];
    four[..bytes.len()].copy_from_slice(bytes);
    lower4(u32::from_le_bytes(four))
}

const fn is_ascii_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Bit masks of a 64-byte block: bit `i` describes byte `i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Classes {
    /// ASCII letters, digits and `_`.
    word: u64,
    /// Bytes some term may start with ([`Tables::first`]) that, with the byte after them,
    /// may be a term's first two ([`Tables::pairs`]).
    start: u64,
}

/// The portable definition of the classifier; the SIMD version must agree with it.
fn classify_scalar(window: &Window, t: &Tables) -> Classes {
    let mut c = Classes::default();
    for (i, pair) in window[..65].windows(2).enumerate() {
        let (b, next) = (pair[0], pair[1]);
        c.word |= u64::from(in_rows(&WORD_ROWS, b)) << i;
        let [lo, hi, next_lo, next_hi] = &t.pairs;
        let buckets = lo[usize::from(b & 15)]
            & hi[usize::from(b >> 4)]
            & next_lo[usize::from(next & 15)]
            & next_hi[usize::from(next >> 4)];
        c.start |= u64::from(in_rows(&t.first, b) && buckets != 0) << i;
    }
    c
}

#[cfg(target_arch = "x86_64")]
mod ssse3 {
    use core::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128,
        _mm_shuffle_epi8, _mm_srli_epi16,
    };

    use super::{Classes, HI_BIT, Tables, WORD_ROWS, Window};
    use crate::simd::x128::bits;

    /// [`super::classify_scalar`] 16 bytes at a time: a class is two table lookups (`pshufb`),
    /// the row of the low nibble and the bit of the high one, and a test for a common bit;
    /// the pairs are four lookups (Teddy).
    #[target_feature(enable = "ssse3")]
    #[inline]
    pub(super) fn classify(window: &Window, t: &Tables) -> Classes {
        // SAFETY: every table is 16 bytes, and `_mm_loadu_si128` has no alignment requirement.
        let table = |bytes: &[u8; 16]| unsafe { _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>()) };
        let (first_rows, word_rows, hi_bits) = (table(&t.first), table(&WORD_ROWS), table(&HI_BIT));
        let pairs = t.pairs.each_ref().map(table);
        let (nibble, zero) = (_mm_set1_epi8(0x0F), _mm_setzero_si128());
        let mut c = Classes::default();
        for k in 0..4 {
            let at = 16 * k;
            // SAFETY: `at + 1 + 16 <= 65 <= window.len()`: both loads read 16 bytes inside
            // `window`, and `_mm_loadu_si128` has no alignment requirement.
            let (v, next) = unsafe {
                (
                    _mm_loadu_si128(window.as_ptr().add(at).cast::<__m128i>()),
                    _mm_loadu_si128(window.as_ptr().add(at + 1).cast::<__m128i>()),
                )
            };
            let lo = _mm_and_si128(v, nibble);
            let hi = _mm_and_si128(_mm_srli_epi16(v, 4), nibble);
            let hi_bit = _mm_shuffle_epi8(hi_bits, hi);
            let not_word = _mm_cmpeq_epi8(_mm_and_si128(_mm_shuffle_epi8(word_rows, lo), hi_bit), zero);
            let not_first = _mm_cmpeq_epi8(_mm_and_si128(_mm_shuffle_epi8(first_rows, lo), hi_bit), zero);
            let next_lo = _mm_and_si128(next, nibble);
            let next_hi = _mm_and_si128(_mm_srli_epi16(next, 4), nibble);
            let buckets = _mm_and_si128(
                _mm_and_si128(_mm_shuffle_epi8(pairs[0], lo), _mm_shuffle_epi8(pairs[1], hi)),
                _mm_and_si128(_mm_shuffle_epi8(pairs[2], next_lo), _mm_shuffle_epi8(pairs[3], next_hi)),
            );
            let no_start = _mm_or_si128(not_first, _mm_cmpeq_epi8(buckets, zero));
            c.word |= (!bits(not_word) & 0xFFFF) << at;
            c.start |= (!bits(no_start) & 0xFFFF) << at;
        }
        c
    }
}

/// The SSSE3 classifier 32 bytes at a time (`vpshufb` looks up within each 128-bit lane, so
/// the tables are in both).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{
        __m128i, __m256i, _mm_loadu_si128, _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_cmpeq_epi8,
        _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8,
        _mm256_srli_epi16,
    };

    use super::{Classes, HI_BIT, Tables, WORD_ROWS, Window};
    use crate::simd::x256::bits;

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn classify(window: &Window, t: &Tables) -> Classes {
        // SAFETY: every table is 16 bytes, and `_mm_loadu_si128` has no alignment requirement.
        let table = |bytes: &[u8; 16]| {
            _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>()) })
        };
        let (first_rows, word_rows, hi_bits) = (table(&t.first), table(&WORD_ROWS), table(&HI_BIT));
        let pairs = t.pairs.each_ref().map(table);
        let (nibble, zero) = (_mm256_set1_epi8(0x0F), _mm256_setzero_si256());
        let mut c = Classes::default();
        for k in 0..2 {
            let at = 32 * k;
            // SAFETY: `at + 1 + 32 <= 65 <= window.len()`: both loads read 32 bytes inside
            // `window`, and `_mm256_loadu_si256` has no alignment requirement.
            let (v, next) = unsafe {
                (
                    _mm256_loadu_si256(window.as_ptr().add(at).cast::<__m256i>()),
                    _mm256_loadu_si256(window.as_ptr().add(at + 1).cast::<__m256i>()),
                )
            };
            let lo = _mm256_and_si256(v, nibble);
            let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            let hi_bit = _mm256_shuffle_epi8(hi_bits, hi);
            let not_word = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(word_rows, lo), hi_bit), zero);
            let not_first = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(first_rows, lo), hi_bit), zero);
            let next_lo = _mm256_and_si256(next, nibble);
            let next_hi = _mm256_and_si256(_mm256_srli_epi16(next, 4), nibble);
            let buckets = _mm256_and_si256(
                _mm256_and_si256(_mm256_shuffle_epi8(pairs[0], lo), _mm256_shuffle_epi8(pairs[1], hi)),
                _mm256_and_si256(_mm256_shuffle_epi8(pairs[2], next_lo), _mm256_shuffle_epi8(pairs[3], next_hi)),
            );
            let no_start = _mm256_or_si256(not_first, _mm256_cmpeq_epi8(buckets, zero));
            c.word |= (!bits(not_word) & 0xFFFF_FFFF) << at;
            c.start |= (!bits(no_start) & 0xFFFF_FFFF) << at;
        }
        c
    }
}

/// The compiled dictionary identifiers of a masker: immutable, `Send + Sync`.
#[derive(Debug)]
pub(crate) struct Dictionary {
    /// Case-sensitive terms, then ASCII case-insensitive ones.
    automata: Vec<Automaton>,
    /// Where any of them may start (`None` without terms).
    starts: Option<Starts>,
    /// The same terms in unanchored automata searched at every byte: the obviously-correct
    /// search the fast one is tested against.
    #[cfg(test)]
    reference: Vec<(aho_corasick::AhoCorasick, Vec<u16>)>,
    /// Per identifier index: whether its terms match only as whole words (not `inside_words`).
    whole: Vec<bool>,
    /// Per identifier index: `None` for a pattern identifier, else whether the dictionary
    /// ignores ASCII case.
    folded: Vec<Option<bool>>,
    /// Per byte value: whether some term holds it (a match can then cover such a byte).
    held: [bool; 256],
    /// Some term is JSON-number bytes only (`12345`, `e`): its matches may become quoted.
    numeric: bool,
}

impl Dictionary {
    /// Checks and compiles the terms of `identifiers` (indexed as the masker's identifiers):
    /// `samples` are pieces of the masker's views that no term may match.
    pub(crate) fn compile(identifiers: &[IdentifierPolicy], samples: &[String]) -> Result<Dictionary, TermsError> {
        let mut count = 0;
        for ident in identifiers {
            let has_terms = !ident.terms.is_empty() || ident.terms_file.is_some();
            match (&ident.pattern, has_terms) {
                (None, false) => return Err(TermsError::NoMatcher(ident.name.clone())),
                (Some(_), true) => return Err(TermsError::PatternAndTerms(ident.name.clone())),
                (Some(_), false) if ident.case_insensitive => {
                    return Err(TermsError::CaseWithoutTerms(ident.name.clone()));
                }
                (Some(_), false) if ident.inside_words => {
                    return Err(TermsError::InsideWordsWithoutTerms(ident.name.clone()));
                }
                _ => {}
            }
            count += ident.terms.len();
        }
        // Terms files of a policy built in code (`Policy::from_file` has read the others).
        let mut file_terms: Vec<Vec<String>> = Vec::with_capacity(identifiers.len());
        for ident in identifiers {
            let terms = match &ident.terms_file {
                None => Vec::new(),
                Some(path) if !Path::new(path).is_absolute() => {
                    return Err(TermsError::Unresolved { name: ident.name.clone(), path: path.clone() });
                }
                Some(path) => read_terms_file(&ident.name, Path::new(path))?,
            };
            if ident.pattern.is_none() && ident.terms.is_empty() && terms.is_empty() {
                return Err(TermsError::NoTerms(ident.name.clone()));
            }
            count += terms.len();
            file_terms.push(terms);
        }
        if count > MAX_TERMS {
            return Err(TermsError::TooMany(count));
        }
        let mut terms: [(Vec<&str>, Vec<u16>); 2] = Default::default();
        // Lowercased term → (identifier, case-insensitive, term) of every listing.
        let mut seen: HashMap<String, Vec<(u16, bool, &str)>> = HashMap::new();
        let mut held = [false; 256];
        let mut numeric = false;
        for (index, (ident, from_file)) in identifiers.iter().zip(&file_terms).enumerate() {
            let index = u16::try_from(index).expect("identifier count fits u16");
            for term in ident.terms.iter().chain(from_file) {
                check_term(term).map_err(|p| bad_term(&ident.name, term, None, p))?;
                let listings = seen.entry(term.to_ascii_lowercase()).or_default();
                let mut duplicate = false;
                for &(other, folded, other_term) in listings.iter() {
                    let same = other_term == term || folded || ident.case_insensitive;
                    if other != index && same {
                        return Err(TermsError::Shared {
                            term: term.clone(),
                            first: identifiers[usize::from(other)].name.clone(),
                            second: ident.name.clone(),
                        });
                    }
                    duplicate |= same;
                }
                if duplicate {
                    continue;
                }
                listings.push((index, ident.case_insensitive, term));
                numeric |= term.bytes().all(crate::masker::is_number_byte);
                for b in term.bytes() {
                    held[usize::from(b)] = true;
                    if ident.case_insensitive {
                        held[usize::from(b.to_ascii_lowercase())] = true;
                        held[usize::from(b.to_ascii_uppercase())] = true;
                    }
                }
                let slot = &mut terms[usize::from(ident.case_insensitive)];
                slot.0.push(term);
                slot.1.push(index);
            }
        }
        let mut dictionary = Dictionary {
            automata: Vec::new(),
            starts: terms.iter().any(|t| !t.0.is_empty()).then(|| {
                let mut starts = Starts::new(
                    terms.iter().enumerate().flat_map(|(folded, t)| t.0.iter().map(move |&w| (w, folded == 1))),
                );
                starts.inside_words = identifiers.iter().any(|i| i.pattern.is_none() && i.inside_words);
                starts
            }),
            #[cfg(test)]
            reference: terms
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.0.is_empty())
                .map(|(folded, (list, owner))| {
                    let ac = aho_corasick::AhoCorasick::builder()
                        .ascii_case_insensitive(folded == 1)
                        .build(list)
                        .expect("test terms compile");
                    (ac, owner.clone())
                })
                .collect(),
            whole: identifiers.iter().map(|i| !i.inside_words).collect(),
            folded: identifiers.iter().map(|i| i.pattern.is_none().then_some(i.case_insensitive)).collect(),
            held,
            numeric,
        };
        for (case_insensitive, (list, owner)) in terms.into_iter().enumerate() {
            if !list.is_empty() {
                dictionary.automata.push(Automaton::new(&list, owner, case_insensitive == 1));
            }
        }
        for sample in samples {
            let mut hit = None;
            dictionary.find(sample.as_bytes(), |start, end, index| hit = hit.or(Some((start, end, index))));
            if let Some((start, end, index)) = hit {
                return Err(TermsError::MatchesView {
                    name: identifiers[usize::from(index)].name.clone(),
                    term: sample[start..end].to_owned(),
                    sample: sample.clone(),
                });
            }
        }
        Ok(dictionary)
    }

    /// Whether some term holds byte `b`, so that a match may cover it. A match covers only the
    /// bytes of its term (or escapes decoding to them, which start with a backslash).
    pub(crate) fn holds(&self, b: u8) -> bool {
        self.held[usize::from(b)]
    }

    /// Whether some term is JSON-number bytes only.
    pub(crate) fn numeric(&self) -> bool {
        self.numeric
    }

    /// Whether there is no term at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.automata.is_empty()
    }

    /// Calls `emit(start, end, identifier)` for every whole-word match of a term in `hay`, JSON
    /// escapes decoded, overlapping ones included (the caller picks among them), not in order.
    pub(crate) fn find(&self, hay: &[u8], emit: impl FnMut(usize, usize, u16)) {
        self.find_with(hay, emit, Dictionary::find_in);
    }

    /// [`Dictionary::find`] with every byte tried by an unanchored automaton.
    #[cfg(test)]
    fn find_reference(&self, hay: &[u8], emit: impl FnMut(usize, usize, u16)) {
        self.find_with(hay, emit, Dictionary::find_in_reference);
    }

    fn find_with(
        &self,
        hay: &[u8],
        mut emit: impl FnMut(usize, usize, u16),
        find_in: impl Fn(&Dictionary, &[u8], &mut dyn FnMut(usize, usize, u16)),
    ) {
        if self.is_empty() {
            return;
        }
        // Lines without a backslash are searched as they are; a line with one is decoded first.
        // No term spans a line break, so the pieces find what the whole would.
        let mut from = 0;
        while let Some(b) = memchr::memchr(b'\\', &hay[from..]) {
            let line_start = memchr::memrchr(b'\n', &hay[from..from + b]).map_or(from, |n| from + n + 1);
            let line_end = memchr::memchr(b'\n', &hay[from + b..]).map_or(hay.len(), |n| from + b + n + 1);
            find_in(self, &hay[from..line_start], &mut |s, e, index| emit(from + s, from + e, index));
            let line = &hay[line_start..line_end];
            match Unescaped::new(line) {
                Some(u) => find_in(self, &u.text, &mut |s, e, index| {
                    emit(line_start + u.input_start(s), line_start + u.input_end(e), index)
                }),
                None => find_in(self, line, &mut |s, e, index| emit(line_start + s, line_start + e, index)),
            }
            from = line_end;
        }
        find_in(self, &hay[from..], &mut |s, e, index| emit(from + s, from + e, index));
    }

    /// The matches in `text` (no escapes decoded): 64 bytes at a time, the positions where a
    /// term may start ([`Starts`]), then the automata walked from the few whose key is a term's.
    fn find_in(&self, text: &[u8], emit: &mut dyn FnMut(usize, usize, u16)) {
        let Some(starts) = &self.starts else { return };
        #[cfg(target_arch = "x86_64")]
        if starts.avx2 {
            #[target_feature(enable = "avx2")]
            fn blocks(d: &Dictionary, starts: &Starts, text: &[u8], emit: &mut dyn FnMut(usize, usize, u16)) {
                d.find_blocks(starts, text, emit, |window| avx2::classify(window, &starts.tables));
            }
            // SAFETY: `starts.avx2` is true only when `is_x86_feature_detected!` said the
            // running CPU has AVX2, so it executes every instruction `blocks` may contain.
            return unsafe { blocks(self, starts, text, emit) };
        }
        #[cfg(target_arch = "x86_64")]
        if starts.ssse3 {
            #[target_feature(enable = "ssse3")]
            fn blocks(d: &Dictionary, starts: &Starts, text: &[u8], emit: &mut dyn FnMut(usize, usize, u16)) {
                d.find_blocks(starts, text, emit, |window| ssse3::classify(window, &starts.tables));
            }
            // SAFETY: `starts.ssse3` is true only when `is_x86_feature_detected!` said the
            // running CPU has SSSE3, so it executes every instruction `blocks` may contain.
            return unsafe { blocks(self, starts, text, emit) };
        }
        self.find_blocks(starts, text, emit, |window| classify_scalar(window, &starts.tables));
    }

    #[inline(always)] // the classifier must be inlined into each copy of the loop
    fn find_blocks(
        &self,
        starts: &Starts,
        text: &[u8],
        emit: &mut dyn FnMut(usize, usize, u16),
        classify: impl Fn(&Window) -> Classes,
    ) {
        let mut before_word = false;
        let mut base = 0;
        // Zero padding for the last blocks: a zero byte starts no term and is in no key (terms
        // hold no control characters). The loop body is written once, so that it and the
        // classifier are inlined into the loop (a closure called from two places was kept out
        // of line: a call per block).
        let mut padded: Window;
        while base < text.len() {
            let window = match text[base..].first_chunk::<{ 64 + KEY }>() {
                Some(window) => window,
                None => {
                    padded = [0; 64 + KEY];
                    padded[..text.len() - base].copy_from_slice(&text[base..]);
                    &padded
                }
            };
            let classes = classify(window);
            let at;
            (at, before_word) = starts.positions(classes, before_word);
            let mut hit = starts.keyed(window, at);
            if starts.short != 0 {
                let mut rest = at & !hit;
                while rest != 0 {
                    let i = rest.trailing_zeros();
                    rest &= rest - 1;
                    if base + (i as usize) < text.len() && starts.short_key(&text[base + i as usize..]) {
                        hit |= 1 << i;
                    }
                }
            }
            while hit != 0 {
                let i = base + hit.trailing_zeros() as usize;
                hit &= hit - 1;
                self.walk(text, i, emit);
            }
            base += 64;
        }
    }

    /// Every automaton walked from `text[at..]`: out of the scan loop, which it would crowd.
    #[inline(never)]
    fn walk(&self, text: &[u8], at: usize, emit: &mut dyn FnMut(usize, usize, u16)) {
        for automaton in &self.automata {
            automaton.walk(text, at, &self.whole, emit);
        }
    }

    #[cfg(test)]
    fn find_in_reference(&self, text: &[u8], emit: &mut dyn FnMut(usize, usize, u16)) {
        for (ac, owner) in &self.reference {
            for m in ac.find_overlapping_iter(text) {
                let index = owner[m.pattern().as_usize()];
                if !self.whole[usize::from(index)] || whole_word(text, m.start(), m.end()) {
                    emit(m.start(), m.end(), index);
                }
            }
        }
    }

    /// The text a keyed pseudonym of identifier `index`'s match is computed from: the match
    /// with its JSON escapes decoded, ASCII-lowercased for a case-insensitive dictionary, so
    /// `ACME`, `acme` and `\u0061cme` give one pseudonym. Other identifiers' text as it is.
    pub(crate) fn normalize(&self, index: u16, text: &[u8], out: &mut Vec<u8>) {
        let Some(&Some(folded)) = self.folded.get(usize::from(index)) else {
            out.extend_from_slice(text);
            return;
        };
        let from = out.len();
        match Unescaped::new(text) {
            Some(u) => out.extend_from_slice(&u.text),
            None => out.extend_from_slice(text),
        }
        if folded {
            out[from..].make_ascii_lowercase();
        }
    }
}

/// Whether `text[start..end]` stands as a whole word (see the module docs).
fn whole_word(text: &[u8], start: usize, end: usize) -> bool {
    let word = |c: Option<char>| c.is_some_and(is_word_char);
    let joins_before = word(char_at(text, start)) && word(char_before(text, start));
    let joins_after = word(char_before(text, end)) && word(char_at(text, end));
    !joins_before && !joins_after
}

/// Whether masking `text[start..end]` may change the whole-word verdict of a term's match
/// next to it (see the module docs): the character on either side is a word character, may be
/// one once decoded (a backslash: `\u0061` is `a`; an escape's last byte is a letter or a digit,
/// so it counts already), or is no valid UTF-8. A match next to a character of a script written
/// without spaces, or next to ASCII punctuation, stands as a whole word or not whatever the
/// masked text reads.
pub(crate) fn word_next_to(text: &[u8], start: usize, end: usize) -> bool {
    let joins = |b: u8, c: Option<char>| match b {
        b'\\' => true,
        0..=0x7F => is_ascii_word_byte(b),
        _ => c.is_none_or(is_word_char),
    };
    let before = start.checked_sub(1).is_some_and(|i| joins(text[i], char_before(text, start)));
    before || text.get(end).is_some_and(|&b| joins(b, char_at(text, end)))
}

/// Letters and digits of scripts that put spaces between words, and `_`.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return is_ascii_word_byte(c as u8);
    }
    !written_without_spaces(c) && c.is_alphanumeric()
}

/// Scripts whose words are not separated by spaces (and the width forms used with them).
fn written_without_spaces(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF     // Thai, Lao
        | 0x1000..=0x109F   // Myanmar
        | 0x1100..=0x11FF   // Hangul Jamo
        | 0x1780..=0x17FF   // Khmer
        | 0x2E80..=0x2FDF   // CJK radicals
        | 0x3000..=0x303F   // CJK symbols (々, 〆)
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3100..=0x31FF   // Bopomofo, Hangul compatibility Jamo, Katakana extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xA960..=0xA97F   // Hangul Jamo extended A
        | 0xAC00..=0xD7FF   // Hangul syllables, Jamo extended B
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF00..=0xFFEF   // full-width and half-width forms
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

/// The character starting at `i`, if a valid one does.
fn char_at(text: &[u8], i: usize) -> Option<char> {
    let lead = *text.get(i)?;
    let len = match lead {
        0x00..=0x7F => return Some(char::from(lead)),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return None,
    };
    std::str::from_utf8(text.get(i..i + len)?).ok()?.chars().next()
}

/// The character ending at `i`, if a valid one does.
fn char_before(text: &[u8], i: usize) -> Option<char> {
    let from = i.saturating_sub(4);
    let start = (from..i).rev().find(|&j| text[j] & 0xC0 != 0x80)?;
    let c = char_at(text, start)?;
    (start + c.len_utf8() == i).then_some(c)
}

/// A haystack with its JSON escapes decoded, and where each decoded escape came from.
struct Unescaped {
    text: Vec<u8>,
    /// `(decoded offset, decoded length, input offset, input length)` per escape, in order.
    units: Vec<(usize, usize, usize, usize)>,
}

impl Unescaped {
    /// `None` when `hay` holds no backslash (nothing to decode: the common case).
    fn new(hay: &[u8]) -> Option<Unescaped> {
        let first = memchr::memchr(b'\\', hay)?;
        let mut u = Unescaped { text: Vec::with_capacity(hay.len()), units: Vec::new() };
        u.text.extend_from_slice(&hay[..first]);
        let mut i = first;
        while i < hay.len() {
            let Some(rel) = memchr::memchr(b'\\', &hay[i..]) else {
                u.text.extend_from_slice(&hay[i..]);
                break;
            };
            u.text.extend_from_slice(&hay[i..i + rel]);
            i += rel;
            let mut buf = [0; 4];
            let (decoded, len): (&[u8], usize) = match hay.get(i + 1) {
                Some(b'"') => (b"\"", 2),
                Some(b'\\') => (b"\\", 2),
                Some(b'/') => (b"/", 2),
                Some(b'b') => (b"\x08", 2),
                Some(b'f') => (b"\x0c", 2),
                Some(b'n') => (b"\n", 2),
                Some(b'r') => (b"\r", 2),
                Some(b't') => (b"\t", 2),
                Some(b'u') => match unicode_escape(hay, i) {
                    Some((c, len)) => (c.encode_utf8(&mut buf).as_bytes(), len),
                    None => (b"\\", 1),
                },
                _ => (b"\\", 1),
            };
            if len > 1 {
                u.units.push((u.text.len(), decoded.len(), i, len));
            }
            u.text.extend_from_slice(decoded);
            i += len;
        }
        Some(u)
    }

    /// The last unit at or before decoded offset `d`.
    fn unit(&self, d: usize) -> Option<(usize, usize, usize, usize)> {
        let i = self.units.partition_point(|u| u.0 <= d);
        i.checked_sub(1).map(|i| self.units[i])
    }

    /// The input offset where decoded offset `d` starts (a unit's start when inside one).
    fn input_start(&self, d: usize) -> usize {
        match self.unit(d) {
            None => d,
            Some((dec, dec_len, raw, raw_len)) if d >= dec + dec_len => raw + raw_len + (d - dec - dec_len),
            Some((_, _, raw, _)) => raw,
        }
    }

    /// The input offset where decoded offset `d` ends (a unit's end when inside one).
    fn input_end(&self, d: usize) -> usize {
        match self.unit(d) {
            None => d,
            Some((dec, _, raw, _)) if d == dec => raw,
            Some((dec, dec_len, raw, raw_len)) if d >= dec + dec_len => raw + raw_len + (d - dec - dec_len),
            Some((_, _, raw, raw_len)) => raw + raw_len,
        }
    }
}

/// The character of a `\uXXXX` escape at `i` (a surrogate pair as one character) and the
/// escape's length. A lone surrogate is not decoded.
fn unicode_escape(hay: &[u8], i: usize) -> Option<(char, usize)> {
    let unit = |at: usize| -> Option<u32> {
        let esc = hay.get(at..at + 6)?;
        if esc[0] != b'\\' || esc[1] != b'u' {
            return None;
        }
        let hex = std::str::from_utf8(&esc[2..]).ok()?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()
    };
    let high = unit(i)?;
    match high {
        0xD800..=0xDBFF => {
            let low = unit(i + 6).filter(|l| (0xDC00..=0xDFFF).contains(l))?;
            let c = char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?;
            Some((c, 12))
        }
        0xDC00..=0xDFFF => None,
        c => Some((char::from_u32(c)?, 6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(toml: &str) -> Result<Dictionary, TermsError> {
        let policy = Policy::from_toml(toml).expect("test policy parses");
        Dictionary::compile(&policy.identifiers, &[])
    }

    fn matches(d: &Dictionary, hay: &str) -> Vec<(String, u16)> {
        let mut found = Vec::new();
        d.find(hay.as_bytes(), |s, e, i| found.push((hay[s..e].to_owned(), i)));
        found.sort();
        found
    }

    #[test]
    fn whole_words_in_ascii_and_in_scripts_with_spaces() {
        let d = dict("[[identifiers]]\nname = 'c'\nterms = ['acme', 'Ren', 'Müller']\n").unwrap();
        let words = |hay| matches(&d, hay).into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        assert_eq!(words("acme acmes xacme acme_1 acme-corp acme.example \"acme\""), ["acme", "acme", "acme", "acme"]);
        assert_eq!(words("René Ren Renée Müllers Müller"), ["Müller", "Ren"]);
        assert_eq!(words("ACME"), Vec::<String>::new(), "case-sensitive by default");
    }

    #[test]
    fn terms_in_scripts_without_spaces_match_anywhere() {
        let d = dict("[[identifiers]]\nname = 'c'\nterms = ['山田', 'ACME']\n").unwrap();
        let words = |hay| matches(&d, hay).into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        assert_eq!(words("山田太郎様"), ["山田"]);
        assert_eq!(words("小山田"), ["山田"]);
        assert_eq!(words("ACMEの担当"), ["ACME"]);
        assert_eq!(words("担当ACME"), ["ACME"]);
        assert_eq!(words("ＸACME"), ["ACME"], "a full-width letter is not a word character");
        assert_eq!(words("xACME"), Vec::<String>::new());
    }

    #[test]
    fn ascii_case_insensitive_option() {
        let d = dict("[[identifiers]]\nname = 'c'\nterms = ['acme']\ncase_insensitive = true\n").unwrap();
        assert_eq!(matches(&d, "ACME Acme aCmE ACMEs").len(), 3);
    }

    #[test]
    fn json_escapes_are_decoded_and_mapped_back_to_whole_escapes() {
        let d = dict("[[identifiers]]\nname = 'c'\nterms = ['山田', 'acme', '😀x']\n").unwrap();
        let hay = r#"{"a":"\u5c71\u7530様","b":"\nacme","c":"\u0061cme","d":"\\u5c71\u7530","e":"\ud83d\ude00x"}"#;
        let found = matches(&d, hay);
        let texts: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, [r"\u0061cme", r"\u5c71\u7530", r"\ud83d\ude00x", "acme"]);
        // `\n` before a name is a line break, not the letter n; an escaped backslash is text.
        let lone = matches(&d, r#"{"a":"\ud83dx"}"#);
        assert!(lone.is_empty());
    }

    #[test]
    fn overlapping_terms_are_all_reported() {
        let d = dict("[[identifiers]]\nname = 'c'\nterms = ['acme co', 'acme']\n").unwrap();
        // The longer term fails the word rule ("acme cow"), the shorter one still matches.
        assert_eq!(matches(&d, "acme cow"), [("acme".to_owned(), 0)]);
        assert_eq!(matches(&d, "acme co.").len(), 2);
    }

    #[test]
    fn bad_configurations_are_typed_errors() {
        let err = |toml: &str| dict(toml).unwrap_err();
        assert_eq!(err("[[identifiers]]\nname = 'c'\n"), TermsError::NoMatcher("c".into()));
        assert_eq!(
            err("[[identifiers]]\nname = 'c'\nterms = ['a']\npattern = 'x'\n"),
            TermsError::PatternAndTerms("c".into())
        );
        assert_eq!(
            err("[[identifiers]]\nname = 'c'\npattern = 'x'\ncase_insensitive = true\n"),
            TermsError::CaseWithoutTerms("c".into())
        );
        for (term, problem) in [
            ("", TermProblem::Empty),
            (" a", TermProblem::EdgeSpace),
            ("a\"b", TermProblem::Forbidden('"')),
            ("a<b", TermProblem::Forbidden('<')),
            ("a\\b", TermProblem::Forbidden('\\')),
            ("a\nb", TermProblem::Forbidden('\n')),
        ] {
            let ident = IdentifierPolicy { name: "c".into(), terms: vec![term.into()], ..Default::default() };
            let e = Dictionary::compile(&[ident], &[]).unwrap_err();
            assert!(matches!(e, TermsError::BadTerm { problem: p, .. } if p == problem), "{term:?}: {e}");
        }
        let long = "x".repeat(MAX_TERM_BYTES + 1);
        assert!(matches!(
            err(&format!("[[identifiers]]\nname = 'c'\nterms = ['{long}']\n")),
            TermsError::BadTerm { problem: TermProblem::TooLong, .. }
        ));
        assert_eq!(
            err(
                "[[identifiers]]\nname = 'a'\nterms = ['Acme']\n[[identifiers]]\nname = 'b'\nterms = ['acme']\ncase_insensitive = true\n"
            ),
            TermsError::Shared { term: "acme".into(), first: "a".into(), second: "b".into() }
        );
        // Different case, both case-sensitive: two different terms.
        assert!(
            dict("[[identifiers]]\nname = 'a'\nterms = ['Acme']\n[[identifiers]]\nname = 'b'\nterms = ['acme']\n")
                .is_ok()
        );
        assert!(matches!(
            err("[[identifiers]]\nname = 'c'\nterms_file = 'customers.txt'\n"),
            TermsError::Unresolved { .. }
        ));
    }

    #[test]
    fn terms_matching_a_view_are_refused() {
        let policy =
            Policy::from_toml("[[identifiers]]\nname = 'c'\nterms = ['bob', 'Email']\ncase_insensitive = true\n")
                .unwrap();
        let samples = vec!["<ipv4>".to_owned(), "<email>".to_owned()];
        let e = Dictionary::compile(&policy.identifiers, &samples).unwrap_err();
        assert_eq!(e, TermsError::MatchesView { name: "c".into(), term: "email".into(), sample: "<email>".into() });
    }

    #[test]
    fn terms_files_resolve_next_to_the_policy_file() {
        let dir = std::env::temp_dir().join(format!("logmask-dictionary-unit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        let policy = dir.join("conf/policy.toml");
        std::fs::write(&policy, "[[identifiers]]\nname = 'c'\nterms = ['inline']\nterms_file = 'terms.txt'\n").unwrap();
        let write_terms = |bytes: &[u8]| std::fs::write(dir.join("conf/terms.txt"), bytes).unwrap();
        write_terms("\u{feff}# comment\r\n  Acme Corp \r\n\n\t# indented comment\n山田\n".as_bytes());
        let loaded = Policy::from_file(&policy).unwrap();
        assert_eq!(loaded.identifiers[0].terms, ["inline", "Acme Corp", "山田"]);
        assert_eq!(loaded.identifiers[0].terms_file, None, "the terms are in the policy now");
        write_terms(b"ok\nbad \"quote\"\n");
        assert!(matches!(
            Policy::from_file(&policy),
            Err(BuildError::Terms(TermsError::BadTerm { line: Some(2), problem: TermProblem::Forbidden('"'), .. }))
        ));
        write_terms(b"ok\n\xc3\x28\n");
        let e = Policy::from_file(&policy).unwrap_err().to_string();
        assert!(e.contains("not UTF-8 (line 2)") && e.contains("terms.txt"), "{e}");
        std::fs::File::create(dir.join("conf/terms.txt")).unwrap().set_len(MAX_TERMS_FILE_BYTES + 1).unwrap();
        assert!(Policy::from_file(&policy).unwrap_err().to_string().contains("larger than"));
        std::fs::remove_file(dir.join("conf/terms.txt")).unwrap();
        assert!(matches!(Policy::from_file(&policy), Err(BuildError::Terms(TermsError::File { .. }))));
        assert!(matches!(Policy::from_file(dir.join("none.toml")), Err(BuildError::PolicyFile { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn byte_classes_agree_with_the_scalar_definitions() {
        let mut t = Tables::default();
        let firsts = [b'-', b'.', b'A', b'z', b'_', b'7', b'~', 0xC3, 0xE5, 0xE9, 0xF0];
        for b in firsts {
            add_to_rows(&mut t.first, b);
        }
        for b in 0..=255u8 {
            // Every first byte is in the class; controls and continuation bytes never are.
            assert!(!firsts.contains(&b) || in_rows(&t.first, b), "{b:#x}");
            assert!(!(b < 0x20 || (0x80..0xC0).contains(&b)) || !in_rows(&t.first, b), "{b:#x}");
        }
        let pairs: std::collections::BTreeSet<(u8, Option<u8>)> =
            [(b'A', Some(b'c')), (b'z', Some(b'z')), (0xE5, Some(0xB1)), (b'-', None), (b'7', Some(0xFF))].into();
        t.pairs = pair_buckets(&pairs);
        for b in 0..=255u8 {
            for lane in [0, 5, 15, 16, 31, 32, 63] {
                for fill in [0x00, 0x7F, 0x80, 0xFF, b'z', b'0', b'-', b'c', 0xB1] {
                    let mut window = [fill; 64 + KEY];
                    window[lane] = b;
                    let want = classify_scalar(&window, &t);
                    assert_eq!(want.word >> lane & 1 == 1, is_ascii_word_byte(b));
                    // Every listed pair passes, at any lane.
                    let listed = pairs.iter().any(|&(a, c)| a == b && c.is_none_or(|c| c == fill));
                    assert!(!listed || want.start >> lane & 1 == 1, "{b:#x} then {fill:#x}");
                    assert!(in_rows(&t.first, b) || want.start >> lane & 1 == 0, "{b:#x}");
                    #[cfg(target_arch = "x86_64")]
                    if std::is_x86_feature_detected!("ssse3") {
                        // SAFETY: the CPU has SSSE3 (checked on the line above).
                        assert_eq!(unsafe { ssse3::classify(&window, &t) }, want, "{b:#x} in lane {lane}");
                    }
                    #[cfg(target_arch = "x86_64")]
                    if std::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2 (checked on the line above).
                        assert_eq!(unsafe { avx2::classify(&window, &t) }, want, "{b:#x} in lane {lane}");
                    }
                    let four = u32::from_le_bytes([b, fill, b, fill]);
                    let want = u32::from_le_bytes([b, fill, b, fill].map(|c| c.to_ascii_lowercase()));
                    assert_eq!(lower4(four), want, "{b:#x}, {fill:#x}");
                }
            }
        }
    }

    #[test]
    fn pair_buckets_pass_every_pair_and_few_others() {
        // The benchmark's shape of terms: capitalised names over a few syllables, Japanese names.
        let mut pairs = std::collections::BTreeSet::new();
        for a in b"KNRTMSBLXVDQkntrmsblxvdq" {
            for b in b"aoihue" {
                pairs.insert((*a, Some(*b)));
            }
        }
        let t = pair_buckets(&pairs);
        let passes = |a: u8, b: u8| {
            t[0][usize::from(a & 15)]
                & t[1][usize::from(a >> 4)]
                & t[2][usize::from(b & 15)]
                & t[3][usize::from(b >> 4)]
                != 0
        };
        assert!(pairs.iter().all(|&(a, b)| passes(a, b.unwrap())));
        let others = (0..=255u8).flat_map(|a| (0..=255u8).map(move |b| (a, b))).filter(|&(a, b)| passes(a, b)).count();
        assert!(others < 4 * pairs.len(), "{others} byte pairs pass for {} listed", pairs.len());
    }

    #[test]
    fn short_punctuated_and_non_ascii_first_bytes_start_matches() {
        let d = dict(
            "[[identifiers]]\nname = 'c'\nterms = ['Q', 'ab', '-x', '.net', 'é1', '田']\ncase_insensitive = true\n",
        )
        .unwrap();
        let words = |hay| matches(&d, hay).into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        assert_eq!(words("q AB a-x .NET zé1 小田 xq ab_"), ["-x", ".NET", "AB", "q", "田"]);
        assert_eq!(words("Q"), ["Q"]);
        assert_eq!(words("é1 ab"), ["ab", "é1"]);
        let d = dict("[[identifiers]]\nname = 'c'\nterms = ['12ab', '_x', 'ab']\n").unwrap();
        let words = |hay| matches(&d, hay).into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        assert_eq!(words("12ab 312ab _x a_x ab"), ["12ab", "_x", "ab"]);
    }

    mod fast_and_reference_searches_agree {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of terms and text: word and non-word ASCII, capitals, accented and Japanese
        /// letters, escapes, line breaks.
        const PIECES: &[&str] = &[
            "a", "b", "A", "B", "ab", "Ab", "abc", "_", "1", "-", ".", " ", "é", "É", "田", "山", "ア", "Ｘ", "x", "ä",
            "\\u0061", "\\n", "\\u5c71", "\n", "\"", "<", ":", "acme", "ACME",
        ];

        fn piece() -> impl Strategy<Value = &'static str> {
            proptest::sample::select(PIECES)
        }

        /// A valid term from the pieces: what no term may hold taken out.
        fn term() -> impl Strategy<Value = String> {
            proptest::collection::vec(piece(), 1..4).prop_map(|v| {
                let t: String = v.concat().chars().filter(|&c| !c.is_control() && !"\"\\<>".contains(c)).collect();
                let t = t.trim();
                if t.is_empty() { "a".to_owned() } else { t.to_owned() }
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
                ..ProptestConfig::default()
            })]

            #[test]
            fn on_random_terms_and_text(
                exact in proptest::collection::vec(term(), 0..6),
                folded in proptest::collection::vec(term(), 0..6),
                text in proptest::collection::vec(piece(), 0..60),
                cut in 0usize..8,
                inside in proptest::array::uniform2(any::<bool>()),
            ) {
                let ident = |name: &str, terms: &[String], case_insensitive, inside_words| IdentifierPolicy {
                    name: name.into(),
                    terms: terms.to_vec(),
                    case_insensitive,
                    inside_words,
                    ..Default::default()
                };
                let mut idents = vec![ident("e", &exact, false, inside[0]), ident("f", &folded, true, inside[1])];
                idents.retain(|i| !i.terms.is_empty());
                let Ok(d) = Dictionary::compile(&idents, &[]) else { return Ok(()) };
                prop_assert!(exact.iter().chain(&folded).all(|t| check_term(t).is_ok()));
                let text = text.concat();
                // Start the text at any offset: the 8-byte words fall differently.
                let text = &text.as_bytes()[cut.min(text.len())..];
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                d.find(text, |s, e, i| fast.push((s, e, i)));
                d.find_reference(text, |s, e, i| slow.push((s, e, i)));
                fast.sort_unstable();
                slow.sort_unstable();
                prop_assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn terms_inside_words_when_asked() {
        let toml = "[[identifiers]]\nname = 'w'\nterms = ['acme']\n\
                    [[identifiers]]\nname = 'i'\nterms = ['zq7', '山田']\ninside_words = true\n";
        let d = dict(toml).unwrap();
        assert_eq!(matches(&d, "acmes xacme acme"), [("acme".to_owned(), 0)]);
        assert_eq!(
            matches(&d, "xzq7y zq7s bzq7 山田太郎"),
            [("zq7", 1), ("zq7", 1), ("zq7", 1), ("山田", 1)].map(|(t, i)| (t.to_owned(), i))
        );
        assert_eq!(
            dict("[[identifiers]]\nname = 'p'\npattern = 'x'\ninside_words = true\n").unwrap_err(),
            TermsError::InsideWordsWithoutTerms("p".into())
        );
        // A term the masker's own output holds inside a word is refused like any other.
        let policy = Policy::from_toml("[[identifiers]]\nname = 'm'\nterms = ['mail']\ninside_words = true\n").unwrap();
        assert!(matches!(
            crate::Masker::builder(policy).build(),
            Err(BuildError::Terms(TermsError::MatchesView { .. }))
        ));
    }

    #[test]
    fn pseudonym_text_is_decoded_and_folded() {
        let d = dict("[[identifiers]]\nname = 'r'\npattern = 'x'\n[[identifiers]]\nname = 'c'\nterms = ['acme']\ncase_insensitive = true\n")
            .unwrap();
        let norm = |i, t: &str| {
            let mut out = Vec::new();
            d.normalize(i, t.as_bytes(), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(norm(1, r"\u0041CME"), "acme");
        assert_eq!(norm(0, r"X\u0041"), r"X\u0041", "a pattern identifier's text is left as it is");
    }
}
