//! The compiled masker: policy checked once, then rendering of the three role views.

use std::fmt;
use std::io::Write as _;
use std::ops::Range;

use hmac::{Hmac, Mac};
use regex::bytes::Regex;
use serde::Serialize;
use sha2::Sha256;

use crate::dictionary::Dictionary;
use crate::policy::{BuildError, EmailShape, MIN_TOKEN_KEY_BYTES, Policy, Role};
use crate::scan::{AtForm, Finding, Kind};
use crate::view;

/// How many findings of each type one call saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// E-mail addresses.
    pub emails: u64,
    /// IPv4 addresses.
    pub ipv4: u64,
    /// IPv6 addresses.
    pub ipv6: u64,
    /// Matches of user-defined identifiers.
    pub custom: u64,
}

impl Counts {
    /// All findings together.
    pub fn total(&self) -> u64 {
        self.emails + self.ipv4 + self.ipv6 + self.custom
    }

    fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Email { .. } => self.emails += 1,
            Kind::Ipv4 => self.ipv4 += 1,
            Kind::Ipv6(_) => self.ipv6 += 1,
            Kind::Custom(_) => self.custom += 1,
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, rhs: Counts) {
        self.emails += rhs.emails;
        self.ipv4 += rhs.ipv4;
        self.ipv6 += rhs.ipv6;
        self.custom += rhs.custom;
    }
}

/// A keyed pseudonym generator. Its `Debug` never shows the key.
#[derive(Clone)]
struct TokenKey {
    id: String,
    mac: Hmac<Sha256>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

#[derive(Debug)]
struct Identifier {
    name: String,
    /// `None` for a dictionary identifier (its terms are in [`Masker::dictionary`]).
    regex: Option<Regex>,
}

/// Builds a [`Masker`] from a [`Policy`] and an optional HMAC token key. Its `Debug` never shows
/// the key.
#[derive(Default)]
pub struct MaskerBuilder {
    policy: Policy,
    token_key: Option<Vec<u8>>,
}

impl fmt::Debug for MaskerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.token_key.as_ref().map(|_| "<redacted>");
        f.debug_struct("MaskerBuilder").field("policy", &self.policy).field("token_key", &key).finish()
    }
}

impl MaskerBuilder {
    /// Starts from `policy`.
    pub fn new(policy: Policy) -> MaskerBuilder {
        MaskerBuilder { policy, token_key: None }
    }

    /// Readonly tokens become keyed pseudonyms (HMAC-SHA-256) with this secret. At least 16
    /// bytes; 32 random bytes are recommended.
    pub fn token_key(mut self, secret: impl Into<Vec<u8>>) -> MaskerBuilder {
        self.token_key = Some(secret.into());
        self
    }

    /// Validates everything and compiles the masker.
    pub fn build(self) -> Result<Masker, BuildError> {
        let Policy { operator, readonly, identifiers } = self.policy;
        if !matches!(operator.ipv4_prefix, 0 | 8 | 16 | 24) {
            return Err(BuildError::Ipv4Prefix(operator.ipv4_prefix));
        }
        if operator.ipv6_prefix == 0 || operator.ipv6_prefix > 112 || operator.ipv6_prefix % 16 != 0 {
            return Err(BuildError::Ipv6Prefix(operator.ipv6_prefix));
        }
        let id = readonly.token_key_id;
        if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(BuildError::TokenKeyId(id));
        }
        let key_id = id.clone();
        let token = match self.token_key {
            None => None,
            Some(secret) if secret.len() < MIN_TOKEN_KEY_BYTES => {
                return Err(BuildError::TokenKeyTooShort(secret.len()));
            }
            Some(secret) => Some(TokenKey {
                id,
                mac: Hmac::<Sha256>::new_from_slice(&secret).expect("HMAC takes keys of any length"),
            }),
        };
        let mut compiled: Vec<Identifier> = Vec::with_capacity(identifiers.len());
        for ident in &identifiers {
            let name_ok = ident.name.len() <= 32
                && ident.name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && ident.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !matches!(ident.name.as_str(), "email" | "ipv4" | "ipv6");
            if !name_ok {
                return Err(BuildError::IdentifierName(ident.name.clone()));
            }
            if compiled.iter().any(|c| c.name == ident.name) {
                return Err(BuildError::DuplicateIdentifier(ident.name.clone()));
            }
            let Some(pattern) = &ident.pattern else {
                compiled.push(Identifier { name: ident.name.clone(), regex: None });
                continue;
            };
            let regex = Regex::new(pattern)
                .map_err(|e| BuildError::IdentifierPattern { name: ident.name.clone(), message: e.to_string() })?;
            if regex.is_match(b"") {
                return Err(BuildError::IdentifierMatchesEmpty(ident.name.clone()));
            }
            compiled.push(Identifier { name: ident.name.clone(), regex: Some(regex) });
        }
        let samples = view::samples(&key_id, compiled.iter().map(|c| c.name.as_str()));
        for ident in &compiled {
            let Some(regex) = &ident.regex else { continue };
            if let Some(sample) = samples.iter().find(|s| regex.is_match(s.as_bytes())) {
                return Err(BuildError::IdentifierMatchesView { name: ident.name.clone(), sample: sample.clone() });
            }
        }
        let dictionary = Dictionary::compile(&identifiers, &samples)?;
        let mut cut_after = [true; 2];
        for (slot, b) in cut_after.iter_mut().zip(CUT_AFTER) {
            *slot =
                !dictionary.holds(b) && identifiers.iter().all(|i| i.pattern.as_deref().is_none_or(|p| spares(p, b)));
        }
        let json_numbers = dictionary.numeric()
            || identifiers.iter().any(|i| i.pattern.as_deref().is_some_and(may_match_number_bytes_only));
        Ok(Masker {
            email_shape: operator.email,
            ipv4_keep: usize::from(operator.ipv4_prefix / 8),
            ipv6_keep: usize::from(operator.ipv6_prefix / 16),
            token,
            identifiers: compiled,
            dictionary,
            cut_after,
            json_numbers,
        })
    }
}

/// The compiled, immutable masker. Cheap to share across threads (`Send + Sync`).
///
/// Build it once (at cold start), then call [`Masker::mask_into`] per record.
#[derive(Debug)]
pub struct Masker {
    email_shape: EmailShape,
    ipv4_keep: usize,
    ipv6_keep: usize,
    token: Option<TokenKey>,
    identifiers: Vec<Identifier>,
    dictionary: Dictionary,
    /// With identifiers: the white space bytes (space, tab) after which a line may be cut
    /// ([`Masker::cut_point`]), none when some identifier may match one or read past a new
    /// haystack's start.
    cut_after: [bool; 2],
    /// Some identifier may match a string of JSON-number bytes only, so [`json_number_span`]
    /// can quote a match, reading white space across line breaks: cuts must be [`json_apart`].
    json_numbers: bool,
}

impl Default for Masker {
    fn default() -> Self {
        MaskerBuilder::default().build().expect("the default policy is valid")
    }
}

impl Masker {
    /// A masker with the default policy and no token key.
    pub fn new() -> Masker {
        Masker::default()
    }

    /// A builder for a custom policy or a token key.
    pub fn builder(policy: Policy) -> MaskerBuilder {
        MaskerBuilder::new(policy)
    }

    /// Whether readonly tokens are keyed pseudonyms.
    pub fn has_token_key(&self) -> bool {
        self.token.is_some()
    }

    /// Every finding in `hay`, in order, non-overlapping.
    pub fn find(&self, hay: &[u8]) -> Vec<Finding> {
        self.find_declining(hay, None)
    }

    /// [`Masker::find`]; `declined` receives where each user-defined identifier's match that
    /// was left out starts.
    fn find_declining(&self, hay: &[u8], declined: Option<&mut Vec<usize>>) -> Vec<Finding> {
        let mut found = Vec::new();
        crate::decode::scan(hay, |f| found.push(f));
        if !self.identifiers.is_empty() {
            found = self.merge_identifiers(hay, std::slice::from_ref(&(0..hay.len())), found, declined);
        }
        found
    }

    /// [`Masker::find`] restricted to the findings in `lines` (whole lines of `hay`, in order,
    /// disjoint), which are searched with the rest of `hay` as their context; for built-in
    /// findings only the lines flagged `true`.
    fn find_in_lines(&self, hay: &[u8], lines: &[(Range<usize>, bool)]) -> Vec<Finding> {
        let mut found = Vec::new();
        for (r, builtin) in lines {
            if *builtin {
                crate::decode::scan(&hay[r.clone()], |f| found.push(shifted(f, r.start)));
            }
        }
        let ranges: Vec<Range<usize>> = lines.iter().map(|(r, _)| r.clone()).collect();
        self.merge_identifiers(hay, &ranges, found, None)
    }

    /// The name of user-defined identifier `index` (from [`Kind::Custom`]).
    pub fn identifier_name(&self, index: u16) -> Option<&str> {
        self.identifiers.get(usize::from(index)).map(|i| i.name.as_str())
    }

    /// Appends the `role` view of `hay` to `out` and returns what was found.
    ///
    /// Admin output is `hay` byte for byte. Invalid UTF-8 is copied through and still scanned.
    pub fn mask_into(&self, role: Role, hay: &[u8], out: &mut Vec<u8>) -> Counts {
        out.reserve(hay.len());
        if !self.identifiers.is_empty() {
            // In segments cut where `cut_point` allows: the findings, the rendered list and the
            // rounds' lines are kept for one segment at a time, not for the whole buffer
            // (a 32 MiB line of terms took 13 times its size).
            let mut counts = Counts::default();
            let mut from = 0;
            while let Some(to) = self.segment_end(hay, from) {
                counts += self.mask_identifiers_into(role, &hay[from..to], out, true);
                from = to;
            }
            counts += self.mask_identifiers_into(role, &hay[from..], out, true);
            return counts;
        }
        // One branch on the role, outside the loop; each arm is its own monomorphised scan.
        match role {
            Role::Admin => {
                out.extend_from_slice(hay);
                let mut counts = Counts::default();
                crate::decode::scan(hay, |f| counts.add(f.kind));
                counts
            }
            Role::Operator => {
                self.render_streaming::<false>(role, hay, out, |m, hay, f, out| m.render_operator(hay, f, out))
            }
            Role::Readonly => {
                self.render_streaming::<false>(role, hay, out, |m, hay, f, out| m.render_readonly(hay, f, out))
            }
        }
    }

    /// Where the segment of `hay` from `from` ends: the last cut ([`Masker::cut_point`]) within
    /// [`SEGMENT`] bytes, or within twice, four times… as many when there is none; `None` when
    /// the rest is one segment.
    fn segment_end(&self, hay: &[u8], from: usize) -> Option<usize> {
        let mut len = SEGMENT;
        // The rest up to twice the size is left whole: no tiny last segment.
        while hay.len() - from > 2 * len {
            if let Some(cut) = self.cut_point(&hay[from..from + len]).filter(|&c| c > 0) {
                return Some(from + cut);
            }
            len *= 2;
        }
        None
    }

    /// [`Masker::mask_into`] with user-defined identifiers. With `narrow`, the readonly view's
    /// second round searches only the lines [`second_round_lines`] names; without, every line
    /// a replacement changed (the reference the tests compare the narrow round with).
    fn mask_identifiers_into(&self, role: Role, hay: &[u8], out: &mut Vec<u8>, narrow: bool) -> Counts {
        let mut declined = Vec::new();
        let found = self.find_declining(hay, Some(&mut declined));
        let start = out.len();
        let mut rendered = Vec::new();
        // Terms only: the built-in kinds are searched again where the narrow rule says
        // ([`view::GlueCheck`]); a pattern may match any text glued to a token.
        let terms_only = narrow && role == Role::Readonly && self.identifiers.iter().all(|i| i.regex.is_none());
        let counts = self.render_findings(role, hay, &found, out, &mut rendered, !terms_only);
        if terms_only {
            rendered = second_round_lines(hay, rendered, &found, declined, out.len() - start);
        }
        self.settle_view(role, start, out, rendered, !terms_only);
        counts
    }

    /// The `role` view with every changed line searched again for user-defined identifiers:
    /// the reference for the narrower second round of [`Masker::mask_into`].
    #[doc(hidden)]
    ///
    /// Without identifiers: the view with every line that has a token glued to its text
    /// ([`view::token_glued`]) searched again, the reference for the narrower rule the masker
    /// uses ([`view::GlueCheck`]).
    pub fn mask_searching_every_changed_line(&self, role: Role, hay: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(hay.len());
        if self.identifiers.is_empty() {
            match role {
                Role::Admin => out.extend_from_slice(hay),
                Role::Operator => {
                    self.render_streaming::<true>(role, hay, &mut out, |m, hay, f, out| m.render_operator(hay, f, out));
                }
                Role::Readonly => {
                    self.render_streaming::<true>(role, hay, &mut out, |m, hay, f, out| m.render_readonly(hay, f, out));
                }
            }
        } else {
            self.mask_identifiers_into(role, hay, &mut out, false);
        }
        out
    }

    /// Where `hay` may be cut without changing any verdict: the largest `c` such that masking
    /// `hay[..c]` and then `hay[c..]` (followed by any further text) gives the same output and
    /// the same counts as masking the whole, or `None` when `hay` holds no such place.
    ///
    /// A cut goes after the last newline (no address, token or identifier match spans a line
    /// break, and every verdict reads only its own line). A line without one is cut in the
    /// middle of [`CUT_CONTEXT`] bytes on each side without a single trigger byte (`@ . : % \`
    /// or a byte of a full-width form): every look-around of the scanner ends within that
    /// distance, and a run crossing the cut is too long to hold an address on both sides of it.
    ///
    /// With user-defined identifiers such a cut must also fall where no identifier's match
    /// crosses it and none of their look-arounds reads a different verdict across it, so it
    /// goes right after a space or tab in such a stretch, and only when:
    ///
    /// * no term holds that byte and no pattern can match it, nor asserts a line or text edge
    ///   (`^`, `$`, `\A`, `\z`: a piece's edge would satisfy one), nor matches the empty string
    ///   (decided once, when the masker is built, from each pattern's syntax tree). Every match
    ///   then lies on one side, and the search of each side finds what the whole finds there.
    ///   A policy with a term holding a space cuts lines only after tabs;
    /// * whole-word checks (the terms', a pattern's `\b`, the second round's
    ///   [`crate::dictionary::word_next_to`]) read one character on each side of a match:
    ///   white space and a piece's edge are both outside a word. Escapes, which may decode to
    ///   a word character, start with a backslash, a trigger byte;
    /// * the byte after the cut is no white space, JSON-number byte, `,` `}` `]` or `:`, and
    ///   the byte before the white space that ends at the cut (found within [`CUT_CONTEXT`]) is
    ///   no `:` `[` `,` or `"`: the JSON-number rule ([`json_number_span`]), which skips white
    ///   space from a number to the bytes around it, then finds no value position after the
    ///   cut and no closing bracket before it, on each side as across the cut, in the input and
    ///   in a view (tokens start with `<` or `"` and end with `>` or `"`);
    /// * a mask token holds no white space ([`view::inside_token`] reads nothing across it),
    ///   and the scanner, re-run around an identifier's match ([`token_keeps_neighbours`]) and
    ///   on changed lines in later rounds, reads nothing through white space (the
    ///   [`view::is_apart`] bytes) and finds no trigger in the input within the quiet stretch.
    ///
    /// The answer depends only on the bytes within [`CUT_CONTEXT`] of the cut, so a window of a
    /// larger buffer (its last bytes plus that much context) finds the same cuts in it.
    ///
    /// ```
    /// use logmask_mask::{Masker, Role};
    ///
    /// let masker = Masker::new();
    /// let text = b"a bob@example.com\nb 10.0.0.1";
    /// let cut = masker.cut_point(text).unwrap();
    /// assert_eq!(cut, 18);
    /// let mut pieces = masker.mask(Role::Readonly, &text[..cut]).0;
    /// pieces.extend(masker.mask(Role::Readonly, &text[cut..]).0);
    /// assert_eq!(pieces, masker.mask(Role::Readonly, text).0);
    /// ```
    pub fn cut_point(&self, hay: &[u8]) -> Option<usize> {
        let nl = memchr::memrchr(b'\n', hay);
        let after = nl.map_or(0, |nl| nl + 1);
        // A later cut within the last line, if any, is larger.
        let line = &hay[after..];
        if self.identifiers.is_empty() {
            return quiet_cut(line).map(|c| after + c).or(nl.map(|nl| nl + 1));
        }
        if let Some(c) = self.white_space_cut(line) {
            return Some(after + c);
        }
        if !self.json_numbers {
            return nl.map(|nl| nl + 1);
        }
        memchr::memrchr_iter(b'\n', hay).map(|nl| nl + 1).find(|&c| json_apart(hay, c))
    }

    /// The last cut in `line` (no newline) that [`Masker::cut_point`] allows with identifiers:
    /// after a space or tab they spare, [`CUT_CONTEXT`] trigger-free bytes on each side, and
    /// apart from JSON numbers ([`json_apart`]).
    fn white_space_cut(&self, line: &[u8]) -> Option<usize> {
        let [space, tab] = self.cut_after;
        if !space && !tab {
            return None;
        }
        let mut bound = line.len();
        loop {
            let trigger = line[..bound].iter().rposition(|&b| is_trigger(b));
            let quiet_from = trigger.map_or(0, |t| t + 1);
            if bound - quiet_from >= 2 * CUT_CONTEXT {
                // Cuts in lo..=hi have the quiet context on each side.
                let (lo, hi) = (quiet_from + CUT_CONTEXT, bound - CUT_CONTEXT);
                let mut end = hi;
                while let Some(i) = memchr::memrchr2(b' ', b'\t', &line[lo - 1..end]) {
                    let cut = lo + i;
                    let spared = if line[cut - 1] == b' ' { space } else { tab };
                    if spared && (!self.json_numbers || json_apart(line, cut)) {
                        return Some(cut);
                    }
                    end = cut - 1;
                }
            }
            bound = trigger?;
        }
    }

    /// The `role` view of `hay` as a new buffer, with the counts.
    pub fn mask(&self, role: Role, hay: &[u8]) -> (Vec<u8>, Counts) {
        let mut out = Vec::with_capacity(hay.len());
        let counts = self.mask_into(role, hay, &mut out);
        (out, counts)
    }

    /// The `role` view of a string. Replacements are ASCII and cut only at finding edges, so
    /// the output is valid UTF-8.
    pub fn mask_str(&self, role: Role, text: &str) -> (String, Counts) {
        let (out, counts) = self.mask(role, text.as_bytes());
        let out = String::from_utf8(out).expect("masking keeps UTF-8 valid: findings end on char boundaries");
        (out, counts)
    }

    #[inline(always)] // the closure must be inlined into each role's copy of the scan loop
    fn render_streaming<const WIDE: bool>(
        &self,
        role: Role,
        hay: &[u8],
        out: &mut Vec<u8>,
        render: impl Fn(&Masker, &[u8], &Finding, &mut Vec<u8>),
    ) -> Counts {
        let mut counts = Counts::default();
        let mut copied = 0;
        let start = out.len();
        // Tokens glued to the text around them: rare (addresses stand between spaces, quotes
        // and brackets), so the list is allocated only when one is.
        let mut glued = Vec::new();
        let mut check = view::GlueCheck::default();
        crate::decode::scan(hay, |f| {
            append(out, &hay[copied..f.start]);
            let from = out.len();
            render(self, hay, &f, out);
            if WIDE {
                if view::token_glued(hay, f.start, f.end, &out[from..]) {
                    glued.push((from - start, true));
                }
            } else if check.replaced(out, start, from, hay.get(f.end), from - start, |at| glued.push((at, true))) {
                glued.push((from - start, true));
            }
            copied = f.end;
            counts.add(f.kind);
        });
        out.extend_from_slice(&hay[copied..]);
        check.ended(out, |at| glued.push((at, true)));
        if !glued.is_empty() {
            self.settle_view(role, start, out, glued, WIDE);
        }
        counts
    }

    /// Renders `hay` with `found` masked into `out`; `rendered` receives where each finding's
    /// replacement starts, relative to where the view starts in `out`, and whether it is a
    /// user-defined identifier's.
    fn render_findings(
        &self,
        role: Role,
        hay: &[u8],
        found: &[Finding],
        out: &mut Vec<u8>,
        rendered: &mut Vec<(usize, bool)>,
        wide: bool,
    ) -> Counts {
        let mut counts = Counts::default();
        let mut copied = 0;
        let base = out.len();
        // The narrow rule of `render_streaming`, glued text read in the view; callers ask for
        // the wide one when a pattern may match any text glued to a token, and for the
        // reference the narrow one is tested against.
        let narrow = !wide;
        let mut check = view::GlueCheck::default();
        for f in found {
            counts.add(f.kind);
            out.extend_from_slice(&hay[copied..f.start]);
            let from = out.len() - base;
            match role {
                Role::Admin => out.extend_from_slice(&hay[f.start..f.end]),
                Role::Operator => self.render_operator(hay, f, out),
                Role::Readonly => self.render_readonly(hay, f, out),
            }
            let glued = if narrow {
                check.replaced(out, base, base + from, hay.get(f.end), rendered.len(), |entry| rendered[entry].1 = true)
            } else {
                view::token_glued(hay, f.start, f.end, &out[base + from..])
            };
            rendered.push((from, glued || matches!(f.kind, Kind::Custom(_))));
            copied = f.end;
        }
        out.extend_from_slice(&hay[copied..]);
        check.ended(out, |entry| rendered[entry].1 = true);
        counts
    }

    /// Masks what a view uncovered in `out[start..]`, so that the view is what masking it again
    /// gives (a fixed point):
    ///
    /// * a user-defined identifier's match that overlapped an address loses to it, but the
    ///   operator view leaves part of the address visible ("ORD-7376::10.0.0.1" becomes
    ///   "ORD-7376:0:0:*"), and there it is a match again;
    /// * text that ran into an address stands apart once the address is a token
    ///   (`10.0.0.1::1` reads `<ipv4>::1`, `2001:db8::1bob@…` reads `2001:db8::<email>`): the
    ///   scanner judges text next to a token as it reads, so such text is an address of its
    ///   own in the view, and is masked here (it stayed readable while a token made the text
    ///   glued to it no address, and so did an address glued to a token typed into the input).
    ///
    /// Not counted: the counts are the input's findings. `rendered` holds, per replacement,
    /// where it starts in the view and whether the built-in kinds must be searched again on
    /// its line (an identifier's token, or a token glued to text that could hold an address:
    /// [`view::GlueCheck`]; with identifiers [`view::token_glued`]).
    /// Up to eight rounds: each masks at least one more match (the fuzz target checks that the
    /// views hold nothing the scanner finds).
    ///
    /// Each round searches only the lines a replacement of the previous one changed, and the
    /// few lines around them whose JSON-number rule reads into a changed line
    /// ([`lines_to_search_again`]): every other line, and everything its verdicts read, is as
    /// the previous round saw it, and that round found nothing there.
    fn settle_view(&self, role: Role, start: usize, out: &mut Vec<u8>, mut rendered: Vec<(usize, bool)>, wide: bool) {
        if role == Role::Admin {
            return; // the input byte for byte: it would find the same matches every round
        }
        // Each round masks at least one more match and a token is never matched again (the
        // identifiers' patterns are the user's; one that matches its own token would loop).
        for _ in 0..8 {
            let found = self.found_again(&out[start..], &rendered);
            if found.is_empty() {
                return;
            }
            let view = out.split_off(start);
            rendered.clear();
            self.render_findings(role, &view, &found, out, &mut rendered, wide);
        }
        self.redact_unsettled(start, out, rendered);
    }

    /// What the lines of `view` that `rendered` names ([`lines_to_search_again`]) still hold.
    fn found_again(&self, view: &[u8], rendered: &[(usize, bool)]) -> Vec<Finding> {
        if rendered.is_empty() {
            return Vec::new();
        }
        self.find_in_lines(view, &lines_to_search_again(view, rendered))
    }

    /// Fails safe where [`Masker::settle_view`]'s rounds ran out: a chain of addresses, each
    /// hidden by the next until that one is masked, uncovers one address per round
    /// ("3@r.ϼ9::.3@山.ϼ9::…" took a round per e-mail: fuzz find). Each address still found
    /// takes the text glued to it (up to the nearest [`view::is_apart`] byte on each side, or
    /// the line's end) down with it: the whole stretch becomes the address's readonly token, in
    /// every view. Text apart from a token judges as it did (the rule
    /// [`view::GlueCheck`] rests on), so a pass leaves nothing to find; the
    /// loop is a bound, not a hope.
    fn redact_unsettled(&self, start: usize, out: &mut Vec<u8>, mut rendered: Vec<(usize, bool)>) {
        for _ in 0..4 {
            let found = self.found_again(&out[start..], &rendered);
            if found.is_empty() {
                return;
            }
            let view = out.split_off(start);
            rendered.clear();
            let mut copied = 0;
            for f in &found {
                if f.start < copied {
                    continue; // inside the stretch already taken
                }
                let from =
                    view[copied..f.start].iter().rposition(|&b| view::is_apart(b)).map_or(copied, |i| copied + i + 1);
                let to = view[f.end..].iter().position(|&b| view::is_apart(b)).map_or(view.len(), |i| f.end + i);
                out.extend_from_slice(&view[copied..from]);
                rendered.push((out.len() - start, true));
                self.render_readonly_token(&view, f, out);
                copied = to;
            }
            out.extend_from_slice(&view[copied..]);
        }
        // Unreachable by the argument above. Should it ever be reached, no text that still
        // holds an address is shown: the whole view becomes one token.
        if let Some(f) = self.found_again(&out[start..], &rendered).first() {
            debug_assert!(false, "a view did not settle");
            let view = out.split_off(start);
            self.render_readonly_token(&view, f, out);
        }
    }

    /// Adds the user-defined identifiers' matches in `lines` (whole lines of `hay`, in order)
    /// that do not overlap a built-in finding and do not change what is found around them
    /// once masked.
    ///
    /// `declined`, when given, receives the start of every match left out.
    fn merge_identifiers(
        &self,
        hay: &[u8],
        lines: &[Range<usize>],
        builtin: Vec<Finding>,
        mut declined: Option<&mut Vec<usize>>,
    ) -> Vec<Finding> {
        let mut extra: Vec<Finding> = Vec::new();
        let mut inside_tokens = Vec::new();
        let mut candidate = |start: usize, end: usize, kind: Kind| {
            if view::inside_token(hay, start, end) {
                inside_tokens.push(start);
            } else {
                let (start, end) = json_number_span(hay, start, end).unwrap_or((start, end));
                extra.push(Finding { start, end, kind });
            }
        };
        // Line by line: a match never spans a line break, whatever the pattern, so a buffer may
        // be cut after any newline without changing what is found (`cut_point`).
        let patterns = self.identifiers.iter().any(|i| i.regex.is_some());
        for r in lines {
            let mut line_start = r.start;
            let text = if patterns { &hay[r.clone()] } else { &[] };
            for line in text.split_inclusive(|&b| b == b'\n') {
                for (index, ident) in self.identifiers.iter().enumerate() {
                    let Some(regex) = &ident.regex else { continue };
                    let kind = Kind::Custom(u16::try_from(index).expect("identifier count fits u16"));
                    for m in regex.find_iter(line) {
                        candidate(line_start + m.start(), line_start + m.end(), kind);
                    }
                }
                line_start += line.len();
            }
            // Terms never hold a line break: all the lines at once.
            self.dictionary.find(&hay[r.clone()], |start, end, index| {
                candidate(r.start + start, r.start + end, Kind::Custom(index));
            });
        }
        if let Some(declined) = declined.as_deref_mut() {
            declined.append(&mut inside_tokens);
        }
        if extra.is_empty() {
            return builtin;
        }
        extra.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut merged = Vec::with_capacity(builtin.len() + extra.len());
        let mut b = builtin.into_iter().peekable();
        let mut last_end = 0;
        for x in extra {
            while let Some(f) = b.next_if(|f| f.start <= x.start) {
                last_end = last_end.max(f.end);
                merged.push(f);
            }
            let overlaps_next = b.peek().is_some_and(|f| f.start < x.end);
            let quoted = json_number_span(hay, x.start, x.end) == Some((x.start, x.end));
            if x.start >= last_end && !overlaps_next && token_keeps_neighbours(hay, x.start, x.end, quoted) {
                last_end = x.end;
                merged.push(x);
            } else if let Some(declined) = declined.as_deref_mut() {
                declined.push(x.start);
            }
        }
        merged.extend(b);
        merged
    }

    /// What the operator view keeps of IP addresses: (IPv4 octets, IPv6 groups).
    fn ip_keep(&self) -> (usize, usize) {
        (self.ipv4_keep, self.ipv6_keep)
    }

    fn render_operator(&self, hay: &[u8], f: &Finding, out: &mut Vec<u8>) {
        let text = &hay[f.start..f.end];
        match f.kind {
            Kind::Email { at, form } => match self.email_shape {
                EmailShape::FirstChar => {
                    view::operator_email(&hay[f.start..at], &hay[at..f.end], form, true, self.ip_keep(), out);
                }
                EmailShape::DomainOnly => {
                    view::operator_email(&hay[f.start..at], &hay[at..f.end], form, false, self.ip_keep(), out);
                }
                EmailShape::Token => self.render_readonly(hay, f, out),
            },
            Kind::Ipv4 => view::operator_ipv4(text, self.ipv4_keep, out),
            Kind::Ipv6(addr) => view::operator_ipv6(addr, self.ipv6_keep, out),
            Kind::Custom(index) => {
                let quoted = json_number_span(hay, f.start, f.end) == Some((f.start, f.end));
                let name = self.identifiers[usize::from(index)].name.as_bytes();
                view::write_quoted(quoted, out, |out| self.write_token(name, None, out));
            }
        }
    }

    fn render_readonly(&self, hay: &[u8], f: &Finding, out: &mut Vec<u8>) {
        if let Kind::Custom(_) = f.kind
            && json_number_span(hay, f.start, f.end) == Some((f.start, f.end))
        {
            view::write_quoted(true, out, |out| self.render_readonly_token(hay, f, out));
            return;
        }
        self.render_readonly_token(hay, f, out);
    }

    fn render_readonly_token(&self, hay: &[u8], f: &Finding, out: &mut Vec<u8>) {
        let text = &hay[f.start..f.end];
        let Some(key) = &self.token else {
            // Each arm copies a token of constant length: no call per finding.
            match f.kind {
                Kind::Email { .. } => out.extend_from_slice(view::EMAIL_TOKEN),
                Kind::Ipv4 => out.extend_from_slice(view::IPV4_TOKEN),
                Kind::Ipv6(_) => out.extend_from_slice(view::IPV6_TOKEN),
                Kind::Custom(index) => {
                    self.write_token(self.identifiers[usize::from(index)].name.as_bytes(), None, out)
                }
            }
            return;
        };
        let mut normal = Vec::with_capacity(text.len());
        let type_name: &[u8] = match f.kind {
            Kind::Email { at, form } => {
                normalize_email(text, at - f.start, form, &mut normal);
                view::EMAIL
            }
            Kind::Ipv4 => {
                let octets =
                    crate::ipv4::parse_ipv4(&crate::decode::ipv4_text(text)).expect("findings are valid addresses");
                write!(normal, "{}", std::net::Ipv4Addr::from(octets)).expect("Vec write");
                view::IPV4
            }
            Kind::Ipv6(addr) => {
                write!(normal, "{addr}").expect("Vec write");
                view::IPV6
            }
            Kind::Custom(index) => {
                self.dictionary.normalize(index, text, &mut normal);
                self.identifiers[usize::from(index)].name.as_bytes()
            }
        };
        let mut mac = key.mac.clone();
        mac.update(type_name);
        mac.update(b"\0");
        mac.update(&normal);
        let digest = mac.finalize().into_bytes();
        self.write_token(type_name, Some((&key.id, &digest[..6])), out);
    }

    /// A token in the readonly format ([`view::token`]).
    fn write_token(&self, type_name: &[u8], pseudonym: Option<(&str, &[u8])>, out: &mut Vec<u8>) {
        view::token(type_name, pseudonym, out);
    }
}

/// Appends `bytes` to `out`. Between dense findings the text copied is a byte or two, and a call
/// to memcpy per finding was a tenth of the readonly view's instructions on `::1 ` repeated.
#[inline(always)]
fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() <= 8 {
        for &b in bytes {
            out.push(b);
        }
    } else {
        out.extend_from_slice(bytes);
    }
}

/// How far around a cut [`Masker::cut_point`] needs bytes without a trigger: more than any
/// look-around of the scanner (a local part is scanned 256 bytes back, a domain 253 on, a token
/// 160 back) and than the 64-byte run limit.
pub const CUT_CONTEXT: usize = 1024;

/// Bytes that can start or change a verdict: the scanner's triggers, and 0xEF (the lead byte of
/// the full-width forms).
fn is_trigger(b: u8) -> bool {
    matches!(b, b'@' | b'.' | b':' | b'%' | b'\\' | 0xEF)
}

/// The size [`Masker::mask_into`] cuts a buffer into, with identifiers, where it can (256 KiB: with
/// 1 MiB a 32 MiB line of terms peaked at 69–84 MB through two threads, now 55–60 MB): the
/// findings and rounds of one segment are held at a time (about 13 times its size at worst).
const SEGMENT: usize = 1 << 18;

/// The white space after which a line may be cut with identifiers, in the order of
/// `Masker::cut_after`.
const CUT_AFTER: [u8; 2] = [b' ', b'\t'];

/// Whether no match of `pattern` can cover byte `b` (ASCII), and its matches in a piece that
/// starts or ends next to `b` are its matches in the whole there ([`Masker::cut_point`]): no
/// line or text anchor (a piece's edge satisfies one where the whole has `b`), no empty match
/// (one could stand at a piece's edge). Word boundaries read `b` and a piece's edge alike when
/// `b` is white space. A pattern that does not parse spares nothing.
fn spares(pattern: &str, b: u8) -> bool {
    use regex_syntax::hir::{Class, Hir, HirKind, Look};
    fn covers(hir: &Hir, b: u8) -> bool {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => false,
            HirKind::Literal(lit) => lit.0.contains(&b),
            HirKind::Class(Class::Unicode(class)) => {
                class.ranges().iter().any(|r| r.start() <= char::from(b) && char::from(b) <= r.end())
            }
            HirKind::Class(Class::Bytes(class)) => class.ranges().iter().any(|r| r.start() <= b && b <= r.end()),
            HirKind::Repetition(rep) => covers(&rep.sub, b),
            HirKind::Capture(cap) => covers(&cap.sub, b),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(|h| covers(h, b)),
        }
    }
    // As `regex::bytes::Regex::new` parses it: Unicode on, matches need not be UTF-8.
    let Ok(hir) = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern) else {
        return false;
    };
    let props = hir.properties();
    let word_looks_only = props.look_set().iter().all(|look| {
        matches!(
            look,
            Look::WordAscii
                | Look::WordAsciiNegate
                | Look::WordUnicode
                | Look::WordUnicodeNegate
                | Look::WordStartAscii
                | Look::WordEndAscii
                | Look::WordStartUnicode
                | Look::WordEndUnicode
                | Look::WordStartHalfAscii
                | Look::WordEndHalfAscii
                | Look::WordStartHalfUnicode
                | Look::WordEndHalfUnicode
        )
    });
    b.is_ascii() && word_looks_only && props.minimum_len() != Some(0) && !covers(&hir, b)
}

/// Whether `pattern` may match a string of JSON-number bytes only (then [`json_number_span`]
/// may quote its match): its syntax tree with every class cut down to those bytes still
/// matches something. Look-arounds count as passing. A pattern that does not parse may.
fn may_match_number_bytes_only(pattern: &str) -> bool {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn within(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => true,
            HirKind::Literal(lit) => lit.0.iter().all(|&b| is_number_byte(b)),
            HirKind::Class(Class::Unicode(class)) => class.ranges().iter().any(|r| {
                (0..=0x7f).any(|b| is_number_byte(b) && r.start() <= char::from(b) && char::from(b) <= r.end())
            }),
            HirKind::Class(Class::Bytes(class)) => {
                class.ranges().iter().any(|r| (r.start()..=r.end()).any(is_number_byte))
            }
            HirKind::Repetition(rep) => rep.min == 0 || within(&rep.sub),
            HirKind::Capture(cap) => within(&cap.sub),
            HirKind::Concat(subs) => subs.iter().all(within),
            HirKind::Alternation(subs) => subs.iter().any(within),
        }
    }
    regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern).ok().is_none_or(|hir| within(&hir))
}

/// Whether the JSON-number rule ([`json_number_span`]) reads the same verdicts in the pieces
/// of `hay` cut at `cut` as in the whole. The rule skips white space (line breaks too) from a
/// number to the bytes around it; a piece's edge reads as no value position and no closing
/// bracket. So the white space around the cut (found within [`CUT_CONTEXT`] on each side, so
/// that a window finds the same answer) must not stand between a number and a closing `,` `}`
/// `]`, nor between an opening `:` `[` `,` and a number, nor between `"` and `:` (a key and its
/// colon); a number next to a `:` counts too, as it may become a quoted token in a view.
fn json_apart(hay: &[u8], cut: usize) -> bool {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let floor = cut.saturating_sub(CUT_CONTEXT);
    let ceiling = hay.len().min(cut + CUT_CONTEXT);
    let (Some(before), Some(after)) =
        (hay[floor..cut].iter().rev().find(|b| !space(b)), hay[cut..ceiling].iter().find(|b| !space(b)))
    else {
        // White space up to the window's edge: the byte beyond it is out of reach.
        return false;
    };
    let (before, after) = (*before, *after);
    let closes = is_number_byte(before) && matches!(after, b',' | b'}' | b']' | b':');
    let opens = matches!(before, b':' | b'[' | b',') && is_number_byte(after);
    let keyed = before == b'"' && after == b':';
    !(closes || opens || keyed)
}

/// The last cut in `hay` with [`CUT_CONTEXT`] trigger-free bytes on each side.
fn quiet_cut(hay: &[u8]) -> Option<usize> {
    let mut bound = hay.len();
    loop {
        let trigger = hay[..bound].iter().rposition(|&b| is_trigger(b));
        let quiet_from = trigger.map_or(0, |t| t + 1);
        if bound - quiet_from >= 2 * CUT_CONTEXT {
            return Some(bound - CUT_CONTEXT);
        }
        bound = trigger?;
    }
}

/// A finding of `hay[by..]` as a finding of `hay`.
fn shifted(f: Finding, by: usize) -> Finding {
    let kind = match f.kind {
        Kind::Email { at, form } => Kind::Email { at: at + by, form },
        kind => kind,
    };
    Finding { start: f.start + by, end: f.end + by, kind }
}

/// The readonly view's second round, with dictionary terms only (no patterns): of the
/// replacements `rendered` (view offset, whether the built-in kinds must be searched again on
/// its line: an identifier's token, or the narrow rule of [`view::GlueCheck`]) for `found` (in
/// order), those whose lines the round must search, each with that flag, plus the view offsets
/// of the `declined` matches (input offsets), flagged.
///
/// A term's match in the view that the input did not have lies in text the view copied (a
/// term holds no `<` or `>`, and one inside a token is declined), so it differs from the input
/// only in what stands around it. What can change is a whole-word verdict right next to a
/// token, and only where the character there is a word character or may decode to one
/// ([`crate::dictionary::word_next_to`]): an address glued to a letter of another script
/// ("1.2.3.4éclair") or to an escape's last digit ("caf\u00e91.2.3.4"). Next to Japanese text,
/// punctuation or white space, a term stands as a whole word or not whatever the address
/// became; a token holds no JSON-number byte, quote or space. What else changes: the verdict
/// of a match declined because masking it would have changed an address nearby (that address
/// is a token now), or because it overlapped another match. Those lines are searched again for
/// terms, and for the built-in kinds where flagged; the other lines are not (a fifth of app
/// logs hold an address, and Japanese text glues addresses to words: they were searched
/// twice). Patterns may match anything, tokens included: with any, every changed line is.
fn second_round_lines(
    hay: &[u8],
    rendered: Vec<(usize, bool)>,
    found: &[Finding],
    mut declined: Vec<usize>,
    view_len: usize,
) -> Vec<(usize, bool)> {
    declined.sort_unstable();
    let mut lines = Vec::with_capacity(declined.len());
    let mut next = declined.iter().copied().peekable();
    // The view offset of input offset `d` between two findings: `d + shift`, with `shift` what
    // the replacements before it added (a token is longer or shorter than its address).
    let mut shift = 0isize;
    for (i, (f, &(from, builtin_again))) in found.iter().zip(&rendered).enumerate() {
        while let Some(d) = next.next_if(|&d| d < f.end) {
            // Inside a finding: where its replacement starts.
            let at = if d >= f.start { from } else { d.saturating_add_signed(shift) };
            lines.push((at, true));
        }
        if builtin_again {
            lines.push((from, true));
        } else if crate::dictionary::word_next_to(hay, f.start, f.end) {
            lines.push((from, false));
        }
        // Where the replacement ends: the copied text after it is as long as in the input.
        let end = match (found.get(i + 1), rendered.get(i + 1)) {
            (Some(g), Some(&(g_from, _))) => g_from - (g.start - f.end),
            _ => view_len - (hay.len() - f.end),
        };
        shift = end as isize - f.end as isize;
    }
    lines.extend(next.map(|d| (d.saturating_add_signed(shift), true)));
    lines.sort_unstable();
    lines
}

/// The lines of `view` whose findings may differ from those of the text that `rendered`
/// (replacements, as spans of `view`, in order) were made in: the lines holding a replacement,
/// and the nearest line on each side whose [`json_number_span`] may read into one — that rule
/// alone looks across line breaks (every other verdict reads only its own line, see
/// [`Masker::cut_point`]). It skips white space backwards from a number to a `:`, `[` or `,`
/// (a `:` then back to a `"`) and forwards to a `,`, `}` or `]`, and applies only to a run of
/// number bytes that starts with a digit or `-`: the line before a replacement (past blank
/// lines) counts when it ends in such a run after nothing or a `:`, `[` or `,`, the line after
/// (past blank lines and lone colons) when it starts with one that is not followed by other
/// text on its line. (No view seen so far turns a line's edge into one of those bytes, so
/// these lines have never found anything new; they are searched because nothing proves they
/// cannot.)
///
/// Each line comes with whether its built-in findings must be searched again: only on a line
/// with an identifier's token or a token glued to its text ([`view::token_glued`]). Other
/// built-in replacements leave no built-in finding in a view (the engine's idempotence, held by
/// the property tests), and the lines around them are unchanged.
fn lines_to_search_again(view: &[u8], rendered: &[(usize, bool)]) -> Vec<(Range<usize>, bool)> {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let line_at = |i: usize| -> Range<usize> {
        let start = memchr::memrchr(b'\n', &view[..i]).map_or(0, |n| n + 1);
        let end = memchr::memchr(b'\n', &view[i..]).map_or(view.len(), |n| i + n + 1);
        start..end
    };
    let starts_json_number = |run: &[u8]| run.first().is_some_and(|&b| b == b'-' || b.is_ascii_digit());
    let mut lines: Vec<(Range<usize>, bool)> = Vec::new();
    let mut searched_to = 0;
    let mut this_line = 0;
    for &(from, custom) in rendered {
        if from < searched_to {
            lines[this_line].1 |= custom; // on a line already taken
            continue;
        }
        let line = line_at(from);
        searched_to = line.end;
        // Back over blank lines to the nearest line with text.
        let mut before = line.start;
        while before > 0 {
            let prev = line_at(before - 1);
            let text = &view[prev.clone()];
            if let Some(last) = text.iter().rposition(|b| !space(b)) {
                let run = text[..=last].iter().rev().take_while(|&&b| is_number_byte(b)).count();
                let before_run = text[..last + 1 - run].iter().rev().find(|b| !space(b));
                if starts_json_number(&text[last + 1 - run..=last])
                    && matches!(before_run, None | Some(b':' | b'[' | b','))
                {
                    lines.push((prev, false));
                }
                break;
            }
            before = prev.start;
        }
        this_line = lines.len();
        lines.push((line.clone(), custom));
        // On over blank lines and lone colons to the nearest line with other text.
        let mut after = line.end;
        while after < view.len() {
            let next = line_at(after);
            let text = &view[next.clone()];
            match text.iter().position(|b| !space(b) && *b != b':') {
                None => after = next.end,
                Some(first) => {
                    let run = text[first..].iter().take_while(|&&b| is_number_byte(b)).count();
                    let rest = text[first + run..].iter().find(|b| !space(b));
                    if starts_json_number(&text[first..first + run]) && matches!(rest, None | Some(b',' | b'}' | b']'))
                    {
                        lines.push((next, false));
                    }
                    break;
                }
            }
        }
    }
    lines.sort_unstable_by_key(|(r, _)| r.start);
    let mut merged: Vec<(Range<usize>, bool)> = Vec::with_capacity(lines.len());
    for (r, builtin) in lines {
        match merged.last_mut() {
            // The same line twice (after one replacement, before another), or the next line
            // with the same flag.
            Some((last, b)) if r.start < last.end || (r.start == last.end && *b == builtin) => {
                last.end = last.end.max(r.end);
                *b |= builtin;
            }
            _ => merged.push((r, builtin)),
        }
    }
    merged
}

/// Bytes of a JSON number.
pub(crate) fn is_number_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
}

/// The whole JSON number around a user-defined identifier's match, when the match lies in one
/// and the number is a JSON value (after `"key":`, `[` or `,`; before `,`, `}` or `]`). Such a
/// match is masked as a JSON string (`{"accountId":"<account>"}`): a bare token there would
/// make valid JSON invalid, and leaving the number would leak it.
fn json_number_span(hay: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    if !hay[start..end].iter().all(|&b| is_number_byte(b)) {
        return None;
    }
    let s = start - hay[..start].iter().rev().take_while(|&&b| is_number_byte(b)).count();
    let e = end + hay[end..].iter().take_while(|&&b| is_number_byte(b)).count();
    if !(hay[s] == b'-' || hay[s].is_ascii_digit()) {
        return None;
    }
    let space = |b: &&u8| matches!(**b, b' ' | b'\t' | b'\r' | b'\n');
    let mut before = hay[..s].iter().rev().skip_while(space);
    let value_position = match before.next() {
        Some(b':') => before.find(|b| !space(b)) == Some(&b'"'),
        Some(b'[' | b',') => true,
        _ => false,
    };
    let closes = matches!(hay[e..].iter().find(|b| !space(b)), Some(b',' | b'}' | b']'));
    (value_position && closes).then_some((s, e))
}

/// The address as a reader would type it: at sign plain, URL escapes decoded, ASCII lowercased;
/// so `Bob%2Btag%40Example.com` and `bob+tag\u0040example.com` give one pseudonym.
fn normalize_email(text: &[u8], at: usize, form: AtForm, out: &mut Vec<u8>) {
    let (local, rest) = text.split_at(at);
    let domain = &rest[form.len()..];
    let decode = form == AtForm::UrlEncoded;
    // `\u0062ob@example\u002ecom` is bob@example.com: escapes of address characters decoded.
    let (local, domain) = (crate::decode::decode_text(local), crate::decode::decode_text(domain));
    for part in [&local[..], b"@".as_slice(), &domain[..]] {
        let mut i = 0;
        while i < part.len() {
            let b = part[i];
            if decode
                && b == b'%'
                && i + 2 < part.len()
                && part[i + 1].is_ascii_hexdigit()
                && part[i + 2].is_ascii_hexdigit()
            {
                let hex = std::str::from_utf8(&part[i + 1..i + 3]).expect("hex digits are ASCII");
                out.push(u8::from_str_radix(hex, 16).expect("two hex digits").to_ascii_lowercase());
                i += 3;
            } else {
                out.push(b.to_ascii_lowercase());
                i += 1;
            }
        }
    }
}

/// How far around a user-defined identifier's match a token can change what the scanner finds:
/// the longest span an address candidate looks at (an e-mail's local part and domain).
const NEIGHBOURHOOD: usize = 640;

/// Whether a token in place of `hay[start..end]` leaves the findings around it as they are. A
/// match that cuts a number or a word ("ORD-1219" of "ORD-12192.0.2.1") would leave a tail that
/// reads as an address once the token's `>` stands before it, and masking the masked text would
/// mask again. Such a match is left alone, like a built-in candidate that runs into a word.
fn token_keeps_neighbours(hay: &[u8], start: usize, end: usize, quoted: bool) -> bool {
    // Next to a byte a token changes no verdict by (the narrow glued-text rule's), the token's
    // own `<`/`>` change nothing: most matches stop here.
    let apart = |b: Option<&u8>| b.is_none_or(|&b| view::is_apart(b));
    if apart(start.checked_sub(1).map(|i| &hay[i])) && apart(hay.get(end)) {
        return true;
    }
    let token = view::token_stand_in(quoted);
    // Within the line: no verdict reads past a line break (`Masker::cut_point` relies on it),
    // and log lines are far shorter than the neighbourhood, which was scanned twice per match.
    let mut from = start.saturating_sub(NEIGHBOURHOOD);
    from += memchr::memrchr(b'\n', &hay[from..start]).map_or(0, |nl| nl + 1);
    let mut to = hay.len().min(end + NEIGHBOURHOOD);
    to = memchr::memchr(b'\n', &hay[end..to]).map_or(to, |nl| end + nl);
    let mut masked = Vec::with_capacity(to - from - (end - start) + token.len());
    masked.extend_from_slice(&hay[from..start]);
    masked.extend_from_slice(token);
    masked.extend_from_slice(&hay[end..to]);
    let spans = |text: &[u8], to_hay: &dyn Fn(usize) -> usize| {
        let mut spans = Vec::new();
        crate::decode::scan(text, |f| spans.push((to_hay(f.start), to_hay(f.end))));
        spans
    };
    let token_end = start - from + token.len();
    let around = |i: usize| if i < token_end { from + i } else { end + (i - token_end) };
    spans(&hay[from..to], &|i| from + i) == spans(&masked, &around)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{IdentifierPolicy, OperatorPolicy};

    const KEY: &[u8; 32] = b"masker unit test key, 32 bytes!!";

    fn with_identifier(name: &str, pattern: &str) -> Result<Masker, BuildError> {
        let identifiers =
            vec![IdentifierPolicy { name: name.to_owned(), pattern: Some(pattern.to_owned()), ..Default::default() }];
        Masker::builder(Policy { identifiers, ..Policy::default() }).build()
    }

    fn with_operator(operator: OperatorPolicy) -> Result<Masker, BuildError> {
        Masker::builder(Policy { operator, ..Policy::default() }).build()
    }

    #[test]
    fn prefixes_outside_their_steps_are_refused() {
        let default = OperatorPolicy::default();
        for bits in [0, 8, 16, 24] {
            assert!(with_operator(OperatorPolicy { ipv4_prefix: bits, ..default.clone() }).is_ok(), "{bits}");
        }
        for bits in [1, 12, 25, 32, 255] {
            let err = with_operator(OperatorPolicy { ipv4_prefix: bits, ..default.clone() }).unwrap_err();
            assert_eq!(err, BuildError::Ipv4Prefix(bits));
        }
        for bits in [16, 48, 112] {
            assert!(with_operator(OperatorPolicy { ipv6_prefix: bits, ..default.clone() }).is_ok(), "{bits}");
        }
        for bits in [0, 8, 50, 128, 255] {
            let err = with_operator(OperatorPolicy { ipv6_prefix: bits, ..default.clone() }).unwrap_err();
            assert_eq!(err, BuildError::Ipv6Prefix(bits));
        }
    }

    #[test]
    fn token_key_ids_and_keys_are_checked() {
        for id in ["", "seventeen-chars-x", "k 1", "k1:", "キー"] {
            let mut policy = Policy::default();
            policy.readonly.token_key_id = id.to_owned();
            assert_eq!(Masker::builder(policy).build().unwrap_err(), BuildError::TokenKeyId(id.to_owned()), "{id:?}");
        }
        let short = Masker::builder(Policy::default()).token_key(vec![7u8; 15]).build().unwrap_err();
        assert_eq!(short, BuildError::TokenKeyTooShort(15));
        assert!(Masker::builder(Policy::default()).token_key(vec![7u8; 16]).build().unwrap().has_token_key());
        assert!(!Masker::new().has_token_key());
    }

    #[test]
    fn identifier_names_and_patterns_are_checked() {
        for name in ["", "Order", "1st", "order-id", "email", "ipv4", "ipv6", &"x".repeat(33)] {
            assert_eq!(with_identifier(name, "ORD-[0-9]+").unwrap_err(), BuildError::IdentifierName(name.to_owned()));
        }
        assert!(with_identifier(&"x".repeat(32), "ORD-[0-9]+").is_ok());
        assert!(matches!(with_identifier("order", "ORD-[0-9"), Err(BuildError::IdentifierPattern { .. })));
        assert_eq!(with_identifier("order", "x*").unwrap_err(), BuildError::IdentifierMatchesEmpty("order".to_owned()));
        let twice = vec![
            IdentifierPolicy { name: "order".to_owned(), pattern: Some("A-[0-9]+".to_owned()), ..Default::default() },
            IdentifierPolicy { name: "order".to_owned(), pattern: Some("B-[0-9]+".to_owned()), ..Default::default() },
        ];
        let err = Masker::builder(Policy { identifiers: twice, ..Policy::default() }).build().unwrap_err();
        assert_eq!(err, BuildError::DuplicateIdentifier("order".to_owned()));
    }

    #[test]
    fn identifiers_that_match_a_view_are_refused() {
        // Issue 14: a pattern matching its own token (or any view's text) grew the output on
        // every pass.
        for (name, pattern) in [("customer_id", "[a-z_]+_id"), ("ab", "[a-z]"), ("x", "<email>"), ("y", r"\*\*\*@")] {
            let err = with_identifier(name, pattern).unwrap_err();
            assert!(matches!(err, BuildError::IdentifierMatchesView { .. }), "{pattern}: {err:?}");
        }
        assert!(with_identifier("account", "[0-9]{12}").is_ok());
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let builder = Masker::builder(Policy::default()).token_key(*KEY);
        let shown = format!("{builder:?}");
        assert!(shown.contains("<redacted>") && !shown.contains("masker unit test key"), "{shown}");
        let masker = builder.build().unwrap();
        let shown = format!("{masker:?}");
        assert!(shown.contains("<redacted>") && !shown.contains("masker unit test key"), "{shown}");
    }

    #[test]
    fn pseudonyms_depend_on_the_key_and_the_address_only() {
        let keyed = Masker::builder(Policy::default()).token_key(*KEY).build().unwrap();
        let other = Masker::builder(Policy::default()).token_key(*b"another key of thirty-two bytes!").build().unwrap();
        let view = |m: &Masker, text: &str| m.mask_str(Role::Readonly, text).0;
        let bob = view(&keyed, "bob@example.com");
        assert!(bob.starts_with("<email:k1:") && bob.len() == "<email:k1:>".len() + 12, "{bob}");
        assert_eq!(view(&keyed, "Bob@Example.COM"), bob);
        assert_eq!(view(&keyed, r"bob\u0040example\u002ecom"), bob);
        assert_ne!(view(&keyed, "carol@example.com"), bob);
        assert_ne!(view(&other, "bob@example.com"), bob);
        assert_eq!(view(&keyed, "10.0.0.1"), view(&keyed, "010.000.000.001"));
        assert_eq!(view(&keyed, "2001:DB8::1"), view(&keyed, "2001:db8:0:0:0:0:0:1"));
        // Without a key the token is the type alone.
        assert_eq!(view(&Masker::new(), "bob@example.com 10.0.0.1 ::1"), "<email> <ipv4> <ipv6>");
    }

    #[test]
    fn counts_are_per_kind_and_the_same_in_every_role() {
        let masker = with_identifier("order", "ORD-[0-9]{4}").unwrap();
        let text = b"a@example.com b@example.org 10.0.0.1 2001:db8::1 ORD-1234 fe80::1 ";
        let expected = Counts { emails: 2, ipv4: 1, ipv6: 2, custom: 1 };
        for role in Role::ALL {
            assert_eq!(masker.mask(role, text).1, expected, "{role}");
        }
        assert_eq!(expected.total(), 6);
        assert_eq!(masker.find(text).len(), 6);
        let mut sum = expected;
        sum += Counts { emails: 1, ..Counts::default() };
        assert_eq!(sum.emails, 3);
        assert_eq!(masker.identifier_name(0), Some("order"));
        assert_eq!(masker.identifier_name(1), None);
    }

    #[test]
    fn views_follow_the_operator_policy() {
        let text = "bob@example.com 192.0.2.1 2001:db8:1:2::1";
        let m = |operator| with_operator(operator).unwrap().mask_str(Role::Operator, text).0;
        let default = OperatorPolicy::default();
        assert_eq!(m(default.clone()), "b***@example.com 192.0.2.* 2001:db8:1:*");
        assert_eq!(
            m(OperatorPolicy { email: EmailShape::DomainOnly, ipv4_prefix: 0, ipv6_prefix: 16 }),
            "***@example.com *.*.*.* 2001:*"
        );
        assert_eq!(
            m(OperatorPolicy { email: EmailShape::Token, ipv4_prefix: 16, ..default }),
            "<email> 192.0.*.* 2001:db8:1:*"
        );
    }

    #[test]
    fn mask_into_appends_and_admin_is_the_input() {
        let masker = Masker::new();
        let mut out = b"kept ".to_vec();
        masker.mask_into(Role::Readonly, b"to bob@example.com", &mut out);
        assert_eq!(out, b"kept to <email>");
        let bytes = b"\xff bob@example.com \xfe";
        let (admin, counts) = masker.mask(Role::Admin, bytes);
        assert_eq!((admin.as_slice(), counts.emails), (&bytes[..], 1));
        assert_eq!(masker.mask(Role::Readonly, bytes).0, b"\xff <email> \xfe");
    }

    #[test]
    fn identifier_matches_in_json_numbers_stay_json() {
        let masker = with_identifier("account", "[0-9]{12}").unwrap();
        let (view, counts) = masker.mask_str(Role::Readonly, r#"{"accountId":123456789012,"n":[123456789012]}"#);
        assert_eq!(view, r#"{"accountId":"<account>","n":["<account>"]}"#);
        assert_eq!(counts.custom, 2);
    }

    #[test]
    fn cut_points_follow_newlines_and_quiet_stretches() {
        let masker = Masker::new();
        assert_eq!(masker.cut_point(b"no newline 10.0.0.1"), None);
        assert_eq!(masker.cut_point(b"a\nb 10.0.0.1"), Some(2));
        let quiet = [b"10.0.0.1 ".as_slice(), &[b'x'; 3 * CUT_CONTEXT]].concat();
        assert_eq!(masker.cut_point(&quiet), Some(quiet.len() - CUT_CONTEXT));
        // With identifiers, only newlines cut: a pattern may match anything else.
        let ids = with_identifier("order", "ORD-[0-9]{4}").unwrap();
        assert_eq!(ids.cut_point(&quiet), None);
        assert_eq!(ids.cut_point(b"a\nb"), Some(2));
    }

    fn from_toml(toml: &str, key: bool) -> Masker {
        let builder = Masker::builder(Policy::from_toml(toml).expect("a valid test policy"));
        if key { builder.token_key(*KEY) } else { builder }.build().expect("a valid test policy")
    }

    /// Terms of every kind (case-insensitive, inside words, a JSON number, Japanese, a term
    /// that is a prefix of another) and patterns with word boundaries: cuts after spaces and
    /// tabs.
    const TERMS_AND_PATTERNS: &str = "[[identifiers]]\nname = \"customer\"\n\
        terms = [\"acme\", \"yamada\", \"12345\", \"山田\", \"éclair\", \"acme-corp\"]\ncase_insensitive = true\n\
        [[identifiers]]\nname = \"project\"\nterms = [\"zq7\"]\ninside_words = true\n\
        [[identifiers]]\nname = \"order\"\npattern = 'ORD-[0-9]{4}'\n\
        [[identifiers]]\nname = \"account\"\npattern = '\\bcust[0-9]{3}\\b'\n";

    /// A term holding a space: cuts after tabs only.
    const SPACED_TERM: &str = "[[identifiers]]\nname = \"customer\"\nterms = [\"acme corp\", \"yamada\"]\n";

    /// A pattern that may match white space (`\s`), one anchored at a line's start: newlines
    /// only.
    const NEWLINES_ONLY: [&str; 2] = [
        "[[identifiers]]\nname = \"order\"\npattern = 'ORD\\s[0-9]{4}'\n",
        "[[identifiers]]\nname = \"acct\"\npattern = '(?m)^acct[0-9]+'\n",
    ];

    #[test]
    fn cuts_inside_lines_follow_what_the_identifiers_spare() {
        let line = "yamada acme ".repeat(400);
        let terms = from_toml(TERMS_AND_PATTERNS, false);
        let cut = terms.cut_point(line.as_bytes()).expect("a cut after a space");
        assert_eq!(line.as_bytes()[cut - 1], b' ');
        assert!(cut <= line.len() - CUT_CONTEXT && cut > line.len() - CUT_CONTEXT - 12, "{cut}");
        let spaced = from_toml(SPACED_TERM, false);
        assert_eq!(spaced.cut_point(line.as_bytes()), None);
        let tabbed = line.replace(' ', "\t");
        assert_eq!(tabbed.as_bytes()[spaced.cut_point(tabbed.as_bytes()).expect("a cut after a tab") - 1], b'\t');
        for toml in NEWLINES_ONLY {
            let masker = from_toml(toml, false);
            assert_eq!(masker.cut_point(line.as_bytes()), None, "{toml}");
            assert_eq!(masker.cut_point(tabbed.as_bytes()), None, "{toml}");
        }
        // Not next to a JSON number or its brackets, not in white space too long to see past,
        // not near a trigger byte.
        for text in [
            ", 12345".repeat(600),
            "12345 ,".repeat(600),
            " ".repeat(4000),
            "yamada a.b ".repeat(400),
            format!("{}\n", "yamada \"x\": acme ".repeat(300)),
        ] {
            let cut = terms.cut_point(text.as_bytes());
            assert!(cut.is_none_or(|c| c == text.len()), "{text:.40}: {cut:?}");
        }
        let numbers = "12345 ".repeat(600);
        assert!(terms.cut_point(numbers.as_bytes()).is_some_and(|c| c < numbers.len() - CUT_CONTEXT));
        // Line breaks too, where a term may be a JSON number: the rule skips white space
        // across them (`"a": 12345\n}` is pretty-printed JSON).
        for text in ["{\"a\": 12345\n}", "{\"a\":\n12345}", "[\n12345\n]", "\"a\"\n: 12345}", "x\n"] {
            assert_eq!(terms.cut_point(text.as_bytes()), None, "{text:?}");
            assert_eq!(spaced.cut_point(text.as_bytes()), Some(text.rfind('\n').unwrap() + 1), "{text:?}");
        }
        assert_eq!(terms.cut_point(b"a 12345\n2024-05-01 acme\n[\n12345,\n"), Some(24));
        // Patterns: what they spare.
        for (pattern, space) in [
            (r"ORD-[0-9]{4}", true),
            (r"\bcust\b", true),
            (r"(?-u:\b)x\B", true),
            (r"a.b", false),
            (r"a\sb", false),
            (r"a[^x]b", false),
            (r"(?-u:[\x00-\x7f])", false),
            (r"a\W", false),
            (r"x|$", false),
            (r"\Ax", false),
            (r"(?m)x$", false),
            (r"x?\b", false),
        ] {
            assert_eq!(spares(pattern, b' '), space, "{pattern}");
        }
        assert!(spares(r"a b", b'\t') && !spares(r"a\tb", b'\t') && !spares("(", b' '));
        for (pattern, numeric) in [
            ("[0-9]{12}", true),
            ("ORD-[0-9]+", false),
            ("[a-f0-9]+", true),
            ("x|-1", true),
            ("a?e", true),
            ("(", true),
        ] {
            assert_eq!(may_match_number_bytes_only(pattern), numeric, "{pattern}");
        }
    }

    /// Masks `text` cut at each cut `cut_point` gives for a window ending at each of `ends`,
    /// like a stream reading that far, and the whole unsegmented, and compares.
    fn pieces_mask_as_the_whole(masker: &Masker, text: &[u8], ends: &[usize]) -> Result<(), String> {
        let mut cuts: Vec<usize> =
            ends.iter().filter_map(|&e| masker.cut_point(&text[..e.min(text.len())])).filter(|&c| c > 0).collect();
        cuts.sort_unstable();
        cuts.dedup();
        for role in [Role::Operator, Role::Readonly] {
            let mut whole = Vec::new();
            let whole_counts = masker.mask_identifiers_into(role, text, &mut whole, true);
            let mut pieces = Vec::new();
            let mut counts = Counts::default();
            let mut from = 0;
            for &cut in cuts.iter().chain([&text.len()]) {
                counts += masker.mask_identifiers_into(role, &text[from..cut], &mut pieces, true);
                from = cut;
            }
            if pieces != whole || counts != whole_counts {
                return Err(format!(
                    "{role} view cut at {cuts:?} differs:\npieces: {:?}\n whole: {:?}",
                    String::from_utf8_lossy(&pieces),
                    String::from_utf8_lossy(&whole)
                ));
            }
            // Segmented inside the engine: the same.
            let (segmented, segmented_counts) = masker.mask(role, text);
            if segmented != whole || segmented_counts != whole_counts {
                return Err(format!("{role} view segmented differs"));
            }
        }
        Ok(())
    }

    mod pieces_cut_where_cut_point_says {
        use super::*;
        use proptest::prelude::*;

        /// Terms glued to addresses, next to escapes, in JSON numbers after colons and white
        /// space, a term with a space, patterns' matches, runs of spaces and tabs, and long
        /// stretches without triggers (where lines may be cut).
        const PIECES: &[&str] = &[
            "acme",
            "ACME",
            "yamada",
            "acme corp",
            "acme-corp",
            "zq7",
            "xzq7y",
            "12345",
            "-12345",
            "ORD-1234",
            "ORD 1234",
            "cust123",
            "acct12",
            "山田",
            "éclair",
            "acme@example.com",
            "bob@acme.com",
            "10.0.0.1acme",
            "yamada10.0.0.1",
            "fe80::1",
            "\\u00e9",
            "caf\\u00e9",
            "\\u0061cme",
            "\\n",
            "<customer>",
            "<email:k1:abcdefabcdef>",
            "\"a\":",
            "\"a\": ",
            ": ",
            "[",
            "]",
            ",",
            ", ",
            "{",
            "}",
            "\"",
            " ",
            "  ",
            "\t",
            " \t ",
            "\n",
            "x",
            "é",
            "-",
            ".",
        ];

        fn text() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                6 => proptest::sample::select(PIECES).prop_map(|p| p.as_bytes().to_vec()),
                1 => (proptest::sample::select(vec![
                    "yamada ", "acme yamada ", " ", "  \t", "[12345, ", ", 12345", "x ", "cust123 ", "ORD-1234 ",
                    "zq7 ", "山田 ", "é ", "acme corp ", "acct12 ", "yamada\t",
                ]), 100..700usize)
                    .prop_map(|(unit, n)| unit.repeat(n).into_bytes()),
            ];
            proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
        }

        fn maskers() -> &'static [Masker] {
            static MASKERS: std::sync::OnceLock<Vec<Masker>> = std::sync::OnceLock::new();
            MASKERS.get_or_init(|| {
                let mut maskers = Vec::new();
                for toml in [TERMS_AND_PATTERNS, SPACED_TERM, NEWLINES_ONLY[0], NEWLINES_ONLY[1]] {
                    maskers.push(from_toml(toml, false));
                    maskers.push(from_toml(toml, true));
                }
                maskers
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
                ..ProptestConfig::default()
            })]

            #[test]
            fn mask_as_the_whole(text in text(), ends in proptest::collection::vec(any::<proptest::sample::Index>(), 1..6)) {
                let mut ends: Vec<usize> = ends.iter().map(|i| i.index(text.len() + 1)).collect();
                ends.push(text.len());
                for masker in maskers() {
                    if let Err(e) = pieces_mask_as_the_whole(masker, &text, &ends) {
                        prop_assert!(false, "{}\ntext: {:?}", e, String::from_utf8_lossy(&text));
                    }
                }
            }
        }
    }

    #[test]
    fn a_long_line_of_terms_masks_in_segments_as_a_whole() {
        // Longer than two segments, cut only after spaces: the engine's segments give what one
        // pass over the whole line gives.
        let masker = from_toml(TERMS_AND_PATTERNS, true);
        let mut line = "yamada acme [12345, 12345] cust123 ".repeat(3 * SEGMENT / 35).into_bytes();
        line.extend_from_slice(b"bob@example.com");
        for role in [Role::Operator, Role::Readonly] {
            let mut whole = Vec::new();
            let whole_counts = masker.mask_identifiers_into(role, &line, &mut whole, true);
            let (segmented, counts) = masker.mask(role, &line);
            assert!(segmented == whole, "{role}");
            assert_eq!(counts, whole_counts);
            assert_eq!(counts.emails, 1);
        }
        assert!(masker.segment_end(&line, 0).is_some_and(|c| c > SEGMENT / 2 && c <= SEGMENT));
    }

    /// The rounds as they were first written: every round searches the whole view again.
    fn mask_searching_whole_views(masker: &Masker, role: Role, hay: &[u8]) -> Vec<u8> {
        let found = masker.find(hay);
        let mut out = Vec::new();
        masker.render_findings(role, hay, &found, &mut out, &mut Vec::new(), true);
        for _ in 0..8 {
            let found = masker.find(&out);
            if found.is_empty() {
                break;
            }
            let view = std::mem::take(&mut out);
            masker.render_findings(role, &view, &found, &mut out, &mut Vec::new(), true);
        }
        out
    }

    mod rounds_search_only_changed_lines {
        use super::*;
        use proptest::prelude::*;

        /// Addresses, terms, a pattern's matches, JSON numbers and the white space, colons
        /// and line breaks that put them on neighbouring lines.
        const PIECES: &[&str] = &[
            "bob@example.com",
            "10.0.0.1",
            "fe80::1",
            "acme",
            "Acme",
            "12345",
            "-12345",
            "123",
            "ORD-7376",
            "ORD-1219",
            "\n",
            "\n\n",
            " ",
            "\t",
            ":",
            "\"a\":",
            "\"",
            ",",
            "[",
            "]",
            "{",
            "}",
            "e",
            "x",
            "-",
            ".",
            "\\u0061cme",
            "<",
            ">",
            "山田",
        ];

        fn masker() -> &'static Masker {
            static MASKER: std::sync::OnceLock<Masker> = std::sync::OnceLock::new();
            MASKER.get_or_init(|| {
                let identifiers = vec![
                    IdentifierPolicy {
                        name: "order".into(),
                        pattern: Some("ORD-[0-9]{4}".into()),
                        ..Default::default()
                    },
                    IdentifierPolicy {
                        name: "customer".into(),
                        terms: vec!["acme".into(), "12345".into(), "123".into(), "山田".into()],
                        case_insensitive: true,
                        ..Default::default()
                    },
                ];
                Masker::builder(Policy { identifiers, ..Policy::default() }).build().expect("a valid test policy")
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1024),
                ..ProptestConfig::default()
            })]

            #[test]
            fn and_mask_as_searching_whole_views(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40)) {
                let text = pieces.concat();
                for role in [Role::Operator, Role::Readonly] {
                    let (view, _) = masker().mask(role, text.as_bytes());
                    let whole = mask_searching_whole_views(masker(), role, text.as_bytes());
                    prop_assert_eq!(String::from_utf8_lossy(&view), String::from_utf8_lossy(&whole), "{} of {:?}", role, text);
                }
            }
        }
    }
}
