//! Key patterns: `user:1234:profile` becomes `user:*:profile`.
//!
//! A key is cut into tokens at the delimiters (each token keeps the delimiter before it, so
//! patterns join back exactly), variable tokens become `*` ([`normalize`]), and the tokens are
//! inserted into a [`PatternTree`]. Where one prefix has more distinct literal children than
//! the fan-out bound, they collapse into `*` too: that catches identifiers no rule recognises
//! and keeps the tree bounded whatever the key count.
//!
//! Collapsing depends only on the *set* of distinct normalized keys (a node collapses iff
//! more than `fanout` distinct literal children reach it, counted after the collapses above
//! it), so trees built on different workers, files or machines merge into the tree one run
//! over everything would have built. `max_patterns` is applied once, when a tree is
//! finished.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use super::glob::Glob;
use crate::rdb::escape_key;
use crate::swar::equal_bytes;

/// How keys are cut and how far the tree may grow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PatternSettings {
    /// Bytes that separate key segments.
    pub delimiters: String,
    /// Distinct literal children a prefix may have before they collapse into `*`.
    pub fanout: usize,
    /// Patterns a finished tree may report; beyond it the widest prefixes collapse.
    pub max_patterns: usize,
}

impl Default for PatternSettings {
    fn default() -> PatternSettings {
        PatternSettings {
            delimiters: ":".into(),
            fanout: 100,
            max_patterns: 1000,
        }
    }
}

impl PatternSettings {
    pub fn delimiter_set(&self) -> Delimiters {
        Delimiters::new(self.delimiters.as_bytes())
    }
}

/// Nodes a tree may hold while a run is under way; past it the widest prefix collapses
/// early. Only a key space with thousands of unrecognised literal segments at several
/// levels reaches it, and it is what keeps memory bounded there.
const MAX_NODES: usize = 50_000;

/// A user's `--pattern` rule: a Redis glob, or `re:` and a regular expression.
#[derive(Debug, Clone)]
pub struct Rule {
    pub text: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Glob(Glob),
    Regex(regex::bytes::Regex),
}

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, String> {
        let matcher = match text.strip_prefix("re:") {
            Some(re) => Matcher::Regex(
                regex::bytes::Regex::new(re).map_err(|e| format!("--pattern {text:?}: {e}"))?,
            ),
            None => Matcher::Glob(Glob::new(text)),
        };
        Ok(Rule {
            text: text.to_string(),
            matcher,
        })
    }

    pub fn is_match(&self, key: &[u8]) -> bool {
        match &self.matcher {
            Matcher::Glob(g) => g.is_match(key),
            Matcher::Regex(r) => r.is_match(key),
        }
    }
}

/// The first rule matching `key`, by index.
pub fn match_rule(rules: &[Rule], key: &[u8]) -> Option<usize> {
    rules.iter().position(|r| r.is_match(key))
}

/// The delimiter bytes, as a set that is cheap to copy into every worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    set: [u64; 4],
    /// The delimiter, if there is exactly one (kept: keys are cut by it a word at a time).
    single: Option<u8>,
}

impl Delimiters {
    pub const fn new(bytes: &[u8]) -> Delimiters {
        let mut set = [0u64; 4];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            set[(b >> 6) as usize] |= 1 << (b & 63);
            i += 1;
        }
        let single = match bytes {
            [first, ..]
                if set[0].count_ones()
                    + set[1].count_ones()
                    + set[2].count_ones()
                    + set[3].count_ones()
                    == 1 =>
            {
                Some(*first)
            }
            _ => None,
        };
        Delimiters { set, single }
    }

    pub fn contains(self, b: u8) -> bool {
        self.set[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
}

/// Segments a key is cut into at most; the rest of a longer key is one variable token, so
/// a hostile key cannot build a deep tree.
const MAX_TOKENS: usize = 32;

/// Cuts `key` into tokens at the delimiters; each token but the first starts with its
/// delimiter. Past [`MAX_TOKENS`] the rest of the key is one token.
pub fn tokens(key: &[u8], delimiters: Delimiters) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut count = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        // Every token but the first starts at its delimiter.
        let from = if count == 0 { 0 } else { start + 1 };
        count += 1;
        let end = if count == MAX_TOKENS {
            key.len()
        } else {
            key[from.min(key.len())..]
                .iter()
                .position(|&b| delimiters.contains(b))
                .map_or(key.len(), |p| from + p)
        };
        let token = &key[start..end];
        done = end == key.len();
        start = end;
        Some(token)
    })
}

/// The variable token after each possible delimiter, so the common case allocates nothing.
static STARS: [[u8; 2]; 256] = {
    let mut t = [[0, b'*']; 256];
    let mut i = 0;
    while i < 256 {
        t[i][0] = i as u8;
        i += 1;
    }
    t
};

/// How a token's pattern form relates to the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Kept as it is (a name).
    Constant,
    /// Replaced by `*` as a whole (an id, a number, ...).
    Variable,
    /// Some of its `_ - . @ #`-separated parts are replaced.
    Mixed,
}

impl TokenKind {
    pub fn of(token: &[u8], delimiters: Delimiters) -> TokenKind {
        let (_, segment) = split_delimiter(token, delimiters);
        TokenKind::of_segment(segment, byte_classes(segment))
    }

    /// The kind in the low two bits of `bits` (as [`TokenKinds`] keeps it).
    fn from_bits(bits: u64) -> TokenKind {
        match bits & 3 {
            0 => TokenKind::Constant,
            1 => TokenKind::Variable,
            _ => TokenKind::Mixed,
        }
    }

    /// The kind of a token's segment whose [`byte_classes`] are `counts`.
    #[inline(always)]
    fn of_segment(segment: &[u8], counts: u32) -> TokenKind {
        if is_variable_counted(segment, counts) {
            TokenKind::Variable
        // the inner separators are all "other" bytes
        } else if counts >> 24 != 0 && has_variable_part(segment) {
            TokenKind::Mixed
        } else {
            TokenKind::Constant
        }
    }
}

/// A token with its variable parts replaced by `*`: the whole segment when it is an id,
/// number, date, address or random token, else each `_ - . @ #`-separated part that is.
pub fn normalize(token: &[u8], delimiters: Delimiters) -> Cow<'_, [u8]> {
    normalize_as(token, delimiters, TokenKind::of(token, delimiters))
}

/// [`normalize`] of a token already classified.
#[inline]
fn normalize_as(token: &[u8], delimiters: Delimiters, kind: TokenKind) -> Cow<'_, [u8]> {
    let (delim, segment) = split_delimiter(token, delimiters);
    match kind {
        TokenKind::Constant => Cow::Borrowed(token),
        TokenKind::Variable => Cow::Borrowed(match delim.first() {
            Some(&d) => &STARS[usize::from(d)],
            None => b"*",
        }),
        TokenKind::Mixed => Cow::Owned(normalize_parts(delim, segment)),
    }
}

/// A [`TokenKind::Mixed`] token's normalized form: `delim` and the segment with its variable
/// inner parts replaced.
fn normalize_parts(delim: &[u8], segment: &[u8]) -> Vec<u8> {
    let mut out = delim.to_vec();
    let mut at = 0;
    for part in inner_parts(segment) {
        if at > 0 {
            out.push(segment[at - 1]);
        }
        out.extend_from_slice(if is_variable(part) { b"*" } else { part });
        at += part.len() + 1;
    }
    out
}

/// A token's leading delimiter (empty for the first token) and the rest.
fn split_delimiter(token: &[u8], delimiters: Delimiters) -> (&[u8], &[u8]) {
    match token.first() {
        Some(&b) if delimiters.contains(b) => token.split_at(1),
        _ => (&token[..0], token),
    }
}

/// Separators inside a segment whose parts are normalized one by one (`order_2024-01-01`).
const INNER: &[u8] = b"_-.@#";

fn inner_parts(segment: &[u8]) -> impl Iterator<Item = &[u8]> {
    segment.split(|b| INNER.contains(b))
}

/// Whether a segment has inner parts and one of them is variable (checked before building
/// anything: most tokens are names).
fn has_variable_part(segment: &[u8]) -> bool {
    segment.iter().any(|b| INNER.contains(b)) && inner_parts(segment).any(is_variable)
}

/// How a key is cut and the [`TokenKind`] of each of its tokens (two bits each), with the
/// length of its [abbreviated](crate::advise::probe::abbreviate) name. Computed once per
/// key, in one pass over its bytes: the pattern tree and the advisor's key-name check both
/// need them, and classifying tokens was a fifth of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenKinds {
    bits: u64,
    /// Where each token after the first starts. Only for keys of up to [`CUT_BYTES`];
    /// longer ones are cut again.
    starts: [u8; MAX_TOKENS - 1],
    /// Tokens of the key.
    count: u8,
    /// The key's length with each constant token cut to its delimiter and first byte.
    short: usize,
}

/// The longest key whose cuts [`TokenKinds`] keeps.
const CUT_BYTES: usize = u8::MAX as usize;

impl TokenKinds {
    pub fn of(key: &[u8], delimiters: Delimiters) -> TokenKinds {
        match delimiters.single {
            // the usual case: a few operations a word
            Some(d) => TokenKinds::scan(key, |word| equal_bytes(word, d)),
            None => TokenKinds::scan(key, |word| {
                (0..8).fold(0, |found, i| {
                    let hit = delimiters.contains((word >> (8 * i)) as u8);
                    found | u64::from(hit) << (8 * i + 7)
                })
            }),
        }
    }

    /// [`TokenKinds::of`]: finds the delimiters eight bytes a step, and counts each
    /// segment's [`byte_classes`] without a comparison a byte (a loop doing both was a
    /// twentieth of `analyze`). `delimiters_in`: the high bit of each byte of a
    /// little-endian word that is a delimiter.
    #[inline(always)]
    fn scan(key: &[u8], delimiters_in: impl Fn(u64) -> u64) -> TokenKinds {
        let mut starts = [0; MAX_TOKENS - 1];
        let (mut bits, mut short) = (0, 0);
        // the current token, its segment (after its delimiter) and its index
        let (mut start, mut from, mut count) = (0, 0, 0);
        let mut base = 0;
        'words: while base < key.len() {
            let (word, valid) = word_at(key, base);
            let mut found = delimiters_in(word) & valid;
            while found != 0 {
                let at = base + found.trailing_zeros() as usize / 8;
                let (kind, abbreviated) = TokenKinds::token_kind(key, start, from, at);
                bits |= (kind as u64) << (2 * count);
                short += abbreviated;
                // (truncated past `CUT_BYTES`, and then not read)
                starts[count] = at as u8;
                (start, from, count) = (at, at + 1, count + 1);
                if count == MAX_TOKENS - 1 {
                    // The rest of the key is the last token, delimiters and all.
                    break 'words;
                }
                found &= found - 1;
            }
            base += 8;
        }
        let (kind, abbreviated) = TokenKinds::token_kind(key, start, from, key.len());
        TokenKinds {
            bits: bits | (kind as u64) << (2 * count),
            starts,
            count: count as u8 + 1,
            short: short + abbreviated,
        }
    }

    /// The kind of the token `key[start..end]`, whose segment starts at `from`, and its
    /// length abbreviated.
    #[inline(always)]
    fn token_kind(key: &[u8], start: usize, from: usize, end: usize) -> (TokenKind, usize) {
        let segment = &key[from..end];
        let kind = TokenKind::of_segment(segment, byte_classes(segment));
        let abbreviated = if kind == TokenKind::Constant && segment.len() > 1 {
            from - start + 1
        } else {
            end - start
        };
        (kind, abbreviated)
    }

    /// Calls `f` with each token of `key` (the key these kinds are of) and its kind, in
    /// order: [`tokens`] without cutting again.
    #[inline]
    pub fn each<'k>(
        self,
        key: &'k [u8],
        delimiters: Delimiters,
        mut f: impl FnMut(TokenKind, &'k [u8]),
    ) {
        if key.len() > CUT_BYTES {
            for (i, token) in tokens(key, delimiters).enumerate() {
                f(self.kind(i), token);
            }
            return;
        }
        let (mut bits, mut start) = (self.bits, 0);
        for &end in &self.starts[..usize::from(self.count) - 1] {
            let end = usize::from(end);
            f(TokenKind::from_bits(bits), &key[start..end]);
            bits >>= 2;
            start = end;
        }
        f(TokenKind::from_bits(bits), &key[start..]);
    }

    /// The index and the last token of `key` (the key these kinds are of): the last of
    /// [`tokens`] without cutting again.
    pub fn last(self, key: &[u8], delimiters: Delimiters) -> (usize, &[u8]) {
        if key.len() > CUT_BYTES {
            let last = tokens(key, delimiters).enumerate().last();
            return last.expect("a key, even empty, is a token");
        }
        let i = usize::from(self.count) - 1;
        let start = i.checked_sub(1).map_or(0, |j| usize::from(self.starts[j]));
        (i, &key[start..])
    }

    /// The segments of the variable tokens (what the normalized key replaces by `*`), in
    /// order, unless a token is [`TokenKind::Mixed`]. Keys of up to [`CUT_BYTES`] only.
    fn holes(&self, key_len: usize) -> Option<impl Iterator<Item = Range<usize>> + Clone> {
        // (a mixed token's high bit)
        const VARIABLE: u64 = 0x5555_5555_5555_5555;
        let mut variables = self.bits;
        (variables & !VARIABLE == 0).then_some(std::iter::from_fn(move || {
            (variables != 0).then(|| {
                let i = variables.trailing_zeros() as usize / 2;
                variables &= variables - 1;
                let from = match i {
                    0 => 0,
                    _ => usize::from(self.starts[i - 1]) + 1,
                };
                let to = match i + 1 < usize::from(self.count) {
                    true => usize::from(self.starts[i]),
                    false => key_len,
                };
                from..to
            })
        }))
    }

    /// The kind of the `i`-th token (from 0).
    pub fn kind(self, i: usize) -> TokenKind {
        TokenKind::from_bits(self.bits >> (2 * i))
    }

    pub fn is_constant(self, i: usize) -> bool {
        self.kind(i) == TokenKind::Constant
    }

    /// The length of the key's [abbreviated](crate::advise::probe::abbreviate) name.
    pub fn abbreviated_len(self) -> usize {
        self.short
    }
}

/// Whether a segment is an identifier rather than a name: an integer or decimal, a hex id
/// of 8+ digits, a UUID, a date, an e-mail address, an IPv4 address, or a long token that
/// mixes letters and digits the way generated ids (ULIDs, base64 session ids) do.
pub fn is_variable(s: &[u8]) -> bool {
    is_variable_counted(s, byte_classes(s))
}

/// [`is_variable`] of a segment whose [`byte_classes`] are `counts`.
#[inline]
fn is_variable_counted(s: &[u8], counts: u32) -> bool {
    if s.is_empty() {
        return false;
    }
    // Names are short; a segment this long is data.
    if s.len() > 64 {
        return true;
    }
    // The byte classes say which specific shapes are plausible; only those are checked,
    // since this runs for every segment of every key. The commonest answers come first.
    let [digits, letters, hex_letters, others] = counts.to_le_bytes().map(usize::from);
    if others == 0 && letters == 0 {
        return true;
    }
    // too short for a hex or generated id
    if others == 0 && s.len() < 8 {
        return false;
    }
    has_id_shape(s, digits, letters, hex_letters, others)
}

/// The rest of [`is_variable_counted`].
#[inline(never)]
fn has_id_shape(
    s: &[u8],
    digits: usize,
    letters: usize,
    hex_letters: usize,
    others: usize,
) -> bool {
    if others == 0 {
        if s.len() >= 8 && digits > 0 && hex_letters == letters {
            return true;
        }
        return is_random_token(s, digits, letters);
    }
    if letters == 0 && is_number(s) {
        return true;
    }
    (s.len() == 36 && others == 4 && hex_letters == letters && is_uuid(s))
        || (s.len() >= 10 && is_date(s))
        || (letters == 0 && is_ipv4(s))
        || (s.contains(&b'@') && is_email(s))
        || is_random_token(s, digits, letters)
}

/// A segment's bytes by class: four byte-wide counters in one word (see [`BYTE_CLASS`]),
/// exact up to 255 bytes and only read up to 64. Eight bytes a step, as it runs on every
/// segment of every key.
fn byte_classes(s: &[u8]) -> u32 {
    let class = |b: u8| BYTE_CLASS[usize::from(b)];
    let (words, rest) = s.as_chunks::<8>();
    let n = words.iter().fold(0, |n: u32, word| {
        n.wrapping_add(word.iter().map(|&b| class(b)).sum::<u32>())
    });
    rest.iter().fold(n, |n, &b| n.wrapping_add(class(b)))
}

/// Per byte: 1 in the first byte of the word for a digit, the second for a letter, the third
/// for a hex letter (with the second), the fourth for anything else.
const BYTE_CLASS: [u32; 256] = {
    let mut t = [1 << 24; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_digit() {
            t[b] = 1;
        } else if c.is_ascii_hexdigit() {
            t[b] = 1 << 8 | 1 << 16;
        } else if c.is_ascii_alphabetic() {
            t[b] = 1 << 8;
        }
        b += 1;
    }
    t
};

/// The eight bytes of `key` from `base` as a little-endian word (zero past the key's end),
/// and a mask of those in the key.
#[inline(always)]
fn word_at(key: &[u8], base: usize) -> (u64, u64) {
    let n = key.len() - base;
    if n >= 8 {
        (
            u64::from_le_bytes(key[base..base + 8].try_into().unwrap()),
            !0,
        )
    } else if key.len() >= 8 {
        let last = u64::from_le_bytes(*key.last_chunk().unwrap());
        (last >> (8 * (8 - n)), (1 << (8 * n)) - 1)
    } else {
        // (a key this short is rare)
        let word = key.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b));
        (word, (1 << (8 * n)) - 1)
    }
}

/// An integer or decimal with an optional minus sign.
fn is_number(s: &[u8]) -> bool {
    let body = s.strip_prefix(b"-").unwrap_or(s);
    let mut parts = body.splitn(2, |&b| b == b'.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
}

/// A UUID, given its 36 bytes are 32 digits or hex letters and 4 others.
fn is_uuid(s: &[u8]) -> bool {
    [8, 13, 18, 23].iter().all(|&i| s[i] == b'-')
}

/// `YYYY-MM-DD` or `YYYY/MM/DD`, optionally followed by a time.
fn is_date(s: &[u8]) -> bool {
    s.len() >= 10
        && s[..10].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-' || *b == b'/',
            _ => b.is_ascii_digit(),
        })
        && s[4] == s[7]
}

fn is_ipv4(s: &[u8]) -> bool {
    let octet = |p: &[u8]| {
        (1..=3).contains(&p.len())
            && p.iter().all(u8::is_ascii_digit)
            && p.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')) <= 255
    };
    s.split(|&b| b == b'.').count() == 4 && s.split(|&b| b == b'.').all(octet)
}

fn is_email(s: &[u8]) -> bool {
    match s.iter().position(|&b| b == b'@') {
        Some(at) if at > 0 => {
            let domain = &s[at + 1..];
            domain.len() >= 3
                && domain.contains(&b'.')
                && !domain.contains(&b'@')
                && domain.first() != Some(&b'.')
        }
        _ => false,
    }
}

/// Generated ids: 16+ characters of the id alphabets (alphanumerics, `_-+/=`) with letters
/// and digits, or 8+ alphanumerics that switch between letters and digits at least 4 times
/// (`a8Fk2Lq9`, not `user2fa` or `v2beta`).
fn is_random_token(s: &[u8], digits: usize, letters: usize) -> bool {
    let id_alphabet = |b: &u8| b.is_ascii_alphanumeric() || b"_-+/=".contains(b);
    if s.len() >= 16 && digits > 0 && letters > 0 && s.iter().all(id_alphabet) {
        return true;
    }
    if s.len() < 8 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let switches = s
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    switches >= 4
}

/// Whether a token (with its delimiter) is the variable token `*`.
fn is_star(token: &[u8]) -> bool {
    token.last() == Some(&b'*') && token.len() <= 2
}

/// The variable token with the same delimiter as `token`.
fn star_of(token: &[u8], delimiters: Delimiters) -> Box<[u8]> {
    match token.first() {
        Some(&b) if delimiters.contains(b) => Box::new([b, b'*']),
        _ => Box::new([b'*']),
    }
}

/// What is tallied per pattern: anything that merges by addition.
pub trait Tally: Default {
    fn merge(&mut self, other: Self);
}

type NodeId = usize;

/// A word-at-a-time multiplicative hash (as rustc's FxHash) for the children maps: tokens
/// are short, and a node holds at most `fanout` literal children before they collapse, so
/// crafted collisions cannot cost more than that; a keyed hash (SipHash) was a twentieth of
/// `analyze`.
#[derive(Default)]
struct WordHash(u64);

impl WordHash {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

impl Hasher for WordHash {
    fn write(&mut self, bytes: &[u8]) {
        let (words, tail) = bytes.as_chunks::<8>();
        for word in words {
            self.mix(u64::from_le_bytes(*word));
        }
        if !tail.is_empty() {
            // the tail as a zero-padded little-endian word
            self.mix(tail.iter().rev().fold(0, |n, &b| n << 8 | u64::from(b)));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        // the multiply leaves the low bits, which pick the bucket, the weakest
        self.0.rotate_left(26)
    }
}

#[derive(Debug, Clone)]
struct Node<T> {
    children: HashMap<Box<[u8]>, NodeId, BuildHasherDefault<WordHash>>,
    collapsed: bool,
    /// Totals of the keys whose pattern ends here.
    end: Option<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            children: HashMap::default(),
            collapsed: false,
            end: None,
        }
    }
}

/// The inferred patterns of a key space with a tally per pattern; see the module doc.
#[derive(Debug, Clone)]
pub struct PatternTree<T> {
    settings: PatternSettings,
    delimiters: Delimiters,
    /// No delimiter is `*` (asked once, not per key): see [`PatternTree::entry`].
    star_free: bool,
    nodes: Vec<Node<T>>,
    /// Nodes reachable from the root (collapsing orphans subtrees in the arena).
    live: usize,
    walks: Walks,
}

/// Slots of [`Walks`] (a power of two); they hold keys of up to [`CUT_BYTES`].
const WALK_SLOTS: usize = 256;

/// Where recently entered normalized keys ended in the tree, so that a key of a known
/// pattern costs a hash and a comparison instead of a map lookup per token. Direct-mapped
/// and the normalized key compared: a crafted hash collision costs a miss, never a wrong
/// node. Only a collapse moves a path (new nodes add paths), so a collapse (a new
/// `epoch`) empties it.
#[derive(Debug, Clone)]
struct Walks {
    epoch: u64,
    /// Allocated at the first walk.
    slots: Vec<Walk>,
}

#[derive(Debug, Clone, Default)]
struct Walk {
    /// 0: empty.
    epoch: u64,
    key: Vec<u8>,
    node: NodeId,
}

impl Walks {
    fn new() -> Walks {
        Walks {
            epoch: 1,
            slots: Vec::new(),
        }
    }

    /// The slot of a normalized key given as `form` with each of `holes` (ranges of it, in
    /// order) standing for `*`: the length and the words [`same_bytes`] compares of each run
    /// between them.
    fn slot(form: &[u8], holes: impl Iterator<Item = Range<usize>>) -> usize {
        let mut h = WordHash::default();
        let mut mix_run = |run: &[u8]| {
            h.mix(run.len() as u64);
            let Some(&last) = run.last_chunk() else {
                h.mix(short_word(run));
                return;
            };
            // the words before the last eight bytes, then those (as `same_bytes` reads them)
            let mut at = 0;
            while at + 8 < run.len() {
                h.mix(u64::from_le_bytes(*run[at..].first_chunk().unwrap()));
                at += 8;
            }
            h.mix(u64::from_le_bytes(last));
        };
        let mut at = 0;
        for hole in holes {
            mix_run(&form[at..hole.start]);
            at = hole.end;
        }
        mix_run(&form[at..]);
        h.finish() as usize & (WALK_SLOTS - 1)
    }

    /// The node kept in `slot` for the normalized key `form` with `holes` standing for `*`
    /// (see [`Walks::slot`]), compared run by run.
    fn get(
        &self,
        slot: usize,
        form: &[u8],
        holes: impl Iterator<Item = Range<usize>>,
    ) -> Option<NodeId> {
        let walk = self.slots.get(slot).filter(|w| w.epoch == self.epoch)?;
        let mut kept = walk.key.as_slice();
        let mut at = 0;
        for hole in holes {
            let run = &form[at..hole.start];
            let (head, rest) = kept.split_at_checked(run.len())?;
            let (&star, rest) = rest.split_first()?;
            if star != b'*' || !same_bytes(head, run) {
                return None;
            }
            kept = rest;
            at = hole.end;
        }
        same_bytes(kept, &form[at..]).then_some(walk.node)
    }

    fn put(&mut self, slot: usize, key: &[u8], node: NodeId) {
        if self.slots.is_empty() {
            self.slots.resize_with(WALK_SLOTS, Walk::default);
        }
        let walk = &mut self.slots[slot];
        walk.epoch = self.epoch;
        walk.key.clear();
        walk.key.extend_from_slice(key);
        walk.node = node;
    }
}

/// `a == b` for the short keys of [`Walks`] in a few word comparisons, without a call.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return short_word(a) == short_word(b);
    }
    // the words before the last eight bytes, then those (which may overlap them)
    let mut at = 0;
    while at + 8 < a.len() {
        if a[at..].first_chunk::<8>() != b[at..].first_chunk::<8>() {
            return false;
        }
        at += 8;
    }
    a.last_chunk::<8>() == b.last_chunk::<8>()
}

/// The bytes of a slice shorter than 8 bytes as a word, without a loop: its first and last
/// four bytes (overlapping) from 4 bytes on, its first, middle and last byte below. Two
/// slices of the same length have the same word iff they are equal.
#[inline(always)]
fn short_word(s: &[u8]) -> u64 {
    let n = s.len();
    if n >= 4 {
        let half = |at: usize| u64::from(u32::from_le_bytes(s[at..at + 4].try_into().unwrap()));
        half(0) | half(n - 4) << 32
    } else if n > 0 {
        u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16
    } else {
        0
    }
}

impl<T: Tally> PatternTree<T> {
    pub fn new(settings: PatternSettings) -> PatternTree<T> {
        let delimiters = settings.delimiter_set();
        PatternTree {
            delimiters,
            star_free: !delimiters.contains(b'*'),
            settings,
            nodes: vec![Node::default()],
            live: 1,
            walks: Walks::new(),
        }
    }

    pub fn settings(&self) -> &PatternSettings {
        &self.settings
    }

    /// The tally of `key`'s pattern, created if new; `kinds`: the key's [`TokenKinds`]
    /// under the tree's delimiters.
    pub fn entry(&mut self, key: &[u8], kinds: &TokenKinds) -> &mut T {
        // Cut at every delimiter (none is `*`, no last token holds the rest of the key), a
        // normalized key says alone which tokens it is made of: it can stand for its walk.
        // (Short keys only: that bounds the buffer and the slots.)
        let cached =
            self.star_free && usize::from(kinds.count) < MAX_TOKENS && key.len() <= CUT_BYTES;
        let node = if !cached {
            self.walk(key, *kinds)
        } else if let Some(holes) = kinds.holes(key.len()) {
            // the usual key: its normalized form is compared in place, nothing is copied
            self.cached_walk(key, holes, key, kinds)
        } else {
            let (normalized, len) = self.normalized(key, *kinds);
            self.cached_walk(&normalized[..len], std::iter::empty(), key, kinds)
        };
        if self.live > MAX_NODES {
            self.relieve_pressure();
            return self.entry(key, kinds);
        }
        self.nodes[node].end.get_or_insert_with(T::default)
    }

    /// The node of `key`, kept in [`Walks`] under its normalized key: `form` with `holes`
    /// standing for `*`.
    #[inline(always)]
    fn cached_walk(
        &mut self,
        form: &[u8],
        holes: impl Iterator<Item = Range<usize>> + Clone,
        key: &[u8],
        kinds: &TokenKinds,
    ) -> NodeId {
        let slot = Walks::slot(form, holes.clone());
        if let Some(node) = self.walks.get(slot, form, holes) {
            return node;
        }
        self.walk_and_keep(slot, key, kinds)
    }

    /// The node of a key [`Walks`] does not hold, kept in `slot`. Out of line: most keys are
    /// held, and this path's buffers cost every key a larger frame.
    #[inline(never)]
    fn walk_and_keep(&mut self, slot: usize, key: &[u8], kinds: &TokenKinds) -> NodeId {
        let epoch = self.walks.epoch;
        let node = self.walk(key, *kinds);
        // (a walk that collapsed a node is not kept, to keep the argument simple)
        if self.walks.epoch == epoch {
            let (normalized, len) = self.normalized(key, *kinds);
            self.walks.put(slot, &normalized[..len], node);
        }
        node
    }

    /// The node of `key`, a map lookup per token.
    fn walk(&mut self, key: &[u8], kinds: TokenKinds) -> NodeId {
        let delimiters = self.delimiters;
        let mut node = 0;
        kinds.each(key, delimiters, |kind, token| {
            node = self.child(node, &normalize_as(token, delimiters, kind));
        });
        node
    }

    /// The normalized form of a key of up to [`CUT_BYTES`] (no token is longer normalized),
    /// and its length.
    fn normalized(&self, key: &[u8], kinds: TokenKinds) -> ([u8; CUT_BYTES], usize) {
        let delimiters = self.delimiters;
        let mut normalized = [0u8; CUT_BYTES];
        let mut len = 0;
        let mut put = |piece: &[u8]| {
            normalized[len..len + piece.len()].copy_from_slice(piece);
            len += piece.len();
        };
        // Runs of constant tokens are copied whole, a variable token's delimiter with the
        // run before it.
        let (mut run, mut at, mut first) = (0, 0, true);
        kinds.each(key, delimiters, |kind, token| {
            match kind {
                TokenKind::Constant => {}
                TokenKind::Variable => {
                    put(&key[run..at + usize::from(!first)]);
                    put(b"*");
                }
                TokenKind::Mixed => {
                    put(&key[run..at]);
                    put(&normalize_as(token, delimiters, kind));
                }
            }
            at += token.len();
            if kind != TokenKind::Constant {
                run = at;
            }
            first = false;
        });
        put(&key[run..]);
        (normalized, len)
    }

    /// Adds a pattern (as `resolve` or a summary wrote it) with its tally.
    pub fn add_pattern(&mut self, pattern: &[u8], tally: T) {
        let mut node = 0;
        for token in tokens(pattern, self.delimiters) {
            node = self.child(node, token);
        }
        match &mut self.nodes[node].end {
            Some(t) => t.merge(tally),
            end @ None => *end = Some(tally),
        }
    }

    /// The child of `node` for `token`, following or causing a collapse.
    fn child(&mut self, node: NodeId, token: &[u8]) -> NodeId {
        if let Some(&id) = self.nodes[node].children.get(token) {
            return id;
        }
        let delimiters = self.delimiters;
        let literal = !is_star(token);
        if literal && self.nodes[node].collapsed {
            let star = star_of(token, delimiters);
            return self.child(node, &star);
        }
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.live += 1;
        self.nodes[node].children.insert(token.into(), id);
        if literal && self.literal_children(node) > self.settings.fanout {
            self.collapse(node);
            let star = star_of(token, delimiters);
            return self.nodes[node].children[&star];
        }
        id
    }

    fn literal_children(&self, node: NodeId) -> usize {
        self.nodes[node]
            .children
            .keys()
            .filter(|t| !is_star(t))
            .count()
    }

    /// Folds every literal child of `node` into the `*` child of its delimiter.
    fn collapse(&mut self, node: NodeId) {
        self.nodes[node].collapsed = true;
        self.walks.epoch += 1;
        let delimiters = self.delimiters;
        let literals: Vec<(Box<[u8]>, NodeId)> = self.nodes[node]
            .children
            .iter()
            .filter(|(t, _)| !is_star(t))
            .map(|(t, &id)| (t.clone(), id))
            .collect();
        for (token, id) in literals {
            self.nodes[node].children.remove(&token);
            let star = self.child(node, &star_of(&token, delimiters));
            self.graft(id, star);
        }
    }

    /// Merges the subtree at `from` into the subtree at `into` (same tree). A collapsed
    /// `from` collapses `into`: the literals that collapsed it now reach `into`.
    fn graft(&mut self, from: NodeId, into: NodeId) {
        self.live -= 1;
        if self.nodes[from].collapsed && !self.nodes[into].collapsed {
            self.collapse(into);
        }
        if let Some(t) = self.nodes[from].end.take() {
            match &mut self.nodes[into].end {
                Some(e) => e.merge(t),
                end @ None => *end = Some(t),
            }
        }
        let children = std::mem::take(&mut self.nodes[from].children);
        for (token, child) in children {
            let target = self.child(into, &token);
            self.graft(child, target);
        }
    }

    /// Collapses the prefix with the most literal children (ties: the earliest node).
    fn collapse_widest(&mut self) -> bool {
        let widest = self
            .reachable_ids()
            .into_iter()
            .max_by_key(|&id| (self.literal_children(id), std::cmp::Reverse(id)));
        match widest {
            Some(id) if self.literal_children(id) > 0 => {
                self.collapse(id);
                true
            }
            _ => false,
        }
    }

    /// Past [`MAX_NODES`]: collapses the widest prefixes until half the budget is left (so
    /// the scan is rare), then rebuilds the arena if orphaned subtrees fill it.
    fn relieve_pressure(&mut self) {
        let mut ids = self.reachable_ids();
        ids.sort_by_key(|&id| (std::cmp::Reverse(self.literal_children(id)), id));
        for id in ids {
            if self.live <= MAX_NODES / 2 {
                break;
            }
            if self.literal_children(id) > 0 {
                self.collapse(id);
            }
        }
        if self.nodes.len() > 2 * MAX_NODES {
            let prefixes = self.collapsed_prefixes();
            let fresh = PatternTree::new(self.settings.clone());
            let patterns = std::mem::replace(self, fresh).into_patterns();
            for prefix in prefixes {
                self.collapse_prefix(&prefix);
            }
            for (pattern, tally) in patterns {
                self.add_pattern(&pattern, tally);
            }
        }
    }

    fn reachable_ids(&self) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(self.live);
        let mut stack = vec![0];
        while let Some(id) = stack.pop() {
            stack.extend(self.nodes[id].children.values());
            out.push(id);
        }
        out
    }

    /// Nodes reachable from the root with their pattern prefix, in a deterministic order.
    fn reachable(&self) -> Vec<(NodeId, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![(0, Vec::new())];
        while let Some((id, prefix)) = stack.pop() {
            let mut children: Vec<_> = self.nodes[id].children.iter().collect();
            children.sort();
            for (token, &child) in children.into_iter().rev() {
                stack.push((child, [prefix.as_slice(), token].concat()));
            }
            out.push((id, prefix));
        }
        out
    }

    /// Merges another tree built with the same settings. Its collapses carry over first: a
    /// prefix that collapsed there saw more literal children than the bound, so the union
    /// does too.
    pub fn merge(&mut self, other: PatternTree<T>) {
        for prefix in other.collapsed_prefixes() {
            self.collapse_prefix(&prefix);
        }
        for (pattern, tally) in other.into_patterns() {
            self.add_pattern(&pattern, tally);
        }
    }

    /// The prefixes whose literal children collapsed into `*`, in byte order; with the
    /// patterns they are all a summary needs to rebuild the tree.
    pub fn collapsed_prefixes(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self
            .reachable()
            .into_iter()
            .filter(|(id, _)| self.nodes[*id].collapsed)
            .map(|(_, prefix)| prefix)
            .collect();
        out.sort();
        out
    }

    /// Collapses the node at `prefix` (as `collapsed_prefixes` names it), creating it if new.
    pub fn collapse_prefix(&mut self, prefix: &[u8]) {
        let mut node = 0;
        if !prefix.is_empty() {
            for token in tokens(prefix, self.delimiters) {
                node = self.child(node, token);
            }
        }
        if !self.nodes[node].collapsed {
            self.collapse(node);
        }
    }

    /// Applies `max_patterns`: collapses the widest prefixes until few enough patterns remain
    /// (or nothing is left to collapse).
    pub fn finish(&mut self) {
        while self.pattern_count() > self.settings.max_patterns && self.collapse_widest() {}
    }

    pub fn pattern_count(&self) -> usize {
        self.reachable_ids()
            .into_iter()
            .filter(|&id| self.nodes[id].end.is_some())
            .count()
    }

    /// The pattern `key` falls under in this tree (which must have seen the key).
    pub fn resolve(&self, key: &[u8]) -> String {
        let delimiters = self.delimiters;
        let mut node = 0;
        let mut pattern = Vec::with_capacity(key.len());
        for token in tokens(key, delimiters) {
            let token = normalize(token, delimiters);
            let next = match self.nodes[node].children.get(&*token) {
                Some(&id) => Some((id, &*token)),
                None => {
                    let star = star_of(&token, delimiters);
                    self.nodes[node]
                        .children
                        .get_key_value(&star)
                        .map(|(t, &id)| (id, &**t))
                }
            };
            let Some((id, used)) = next else {
                // Not seen by this tree: the normalized key is the best answer.
                pattern.extend_from_slice(&token);
                continue;
            };
            pattern.extend_from_slice(used);
            node = id;
        }
        escape_key(&pattern)
    }

    /// Every pattern with its tally, in byte order of the pattern.
    pub fn into_patterns(mut self) -> Vec<(Vec<u8>, T)> {
        let mut out: Vec<(Vec<u8>, T)> = self
            .reachable()
            .into_iter()
            .filter_map(|(id, prefix)| self.nodes[id].end.take().map(|t| (prefix, t)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    struct Count(u64);
    impl Tally for Count {
        fn merge(&mut self, other: Count) {
            self.0 += other.0;
        }
    }

    fn tree(fanout: usize) -> PatternTree<Count> {
        PatternTree::new(PatternSettings {
            fanout,
            ..PatternSettings::default()
        })
    }

    fn add(t: &mut PatternTree<Count>, key: &str) {
        let kinds = TokenKinds::of(key.as_bytes(), t.delimiters);
        t.entry(key.as_bytes(), &kinds).0 += 1;
    }

    fn patterns(t: PatternTree<Count>) -> Vec<(String, u64)> {
        t.into_patterns()
            .into_iter()
            .map(|(p, c)| (String::from_utf8(p).unwrap(), c.0))
            .collect()
    }

    /// `is_variable` as first written: one byte-class count, then every shape in turn.
    fn plain_is_variable(s: &[u8]) -> bool {
        if s.is_empty() {
            return false;
        }
        if s.len() > 64 {
            return true;
        }
        let counts: u32 = s.iter().map(|&b| BYTE_CLASS[usize::from(b)]).sum();
        let [digits, letters, hex_letters, others] = counts.to_le_bytes().map(usize::from);
        let uuid = |s: &[u8]| {
            s.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
        };
        if others == 0 {
            if letters == 0 {
                return true;
            }
            if s.len() >= 8 && digits > 0 && hex_letters == letters {
                return true;
            }
            return is_random_token(s, digits, letters);
        }
        if letters == 0 && is_number(s) {
            return true;
        }
        (s.len() == 36 && uuid(s))
            || (s.len() >= 10 && is_date(s))
            || (letters == 0 && is_ipv4(s))
            || (s.contains(&b'@') && is_email(s))
            || is_random_token(s, digits, letters)
    }

    /// A token's kind by the plain definition.
    fn plain_kind(token: &[u8], d: Delimiters) -> TokenKind {
        let (_, segment) = split_delimiter(token, d);
        if plain_is_variable(segment) {
            TokenKind::Variable
        } else if segment.iter().any(|b| INNER.contains(b))
            && inner_parts(segment).any(plain_is_variable)
        {
            TokenKind::Mixed
        } else {
            TokenKind::Constant
        }
    }

    /// `entry` as first written: a map lookup per normalized token, no cache.
    fn plain_entry<'t>(t: &'t mut PatternTree<Count>, key: &[u8]) -> &'t mut Count {
        let d = t.delimiters;
        let mut node = 0;
        for token in tokens(key, d) {
            node = t.child(node, &normalize(token, d));
        }
        if t.live > MAX_NODES {
            t.relieve_pressure();
            return plain_entry(t, key);
        }
        t.nodes[node].end.get_or_insert_with(Count::default)
    }

    /// Segments of every shape the classifier tells apart, and their near misses.
    const SEGMENTS: &[&[u8]] = &[
        b"",
        b"user",
        b"profile",
        b"v2",
        b"user2fa",
        b"v2beta",
        b"cafebabe",
        b"deadbeef01",
        b"123",
        b"-5",
        b"3.25",
        b"1.2.3",
        b"0",
        b"-",
        b"-.5",
        b"12.",
        b"a8Fk2Lq9",
        b"a8Fk2Lq",
        b"550e8400-e29b-41d4-a716-446655440000",
        b"550e8400-e29b-41d4-a716-44665544000g",
        b"550e8400xe29b-41d4-a716-446655440000",
        b"550e8400-e29b-41d4-a716-4466554400-0",
        b"55008400-1234-4154-1716-446655440000",
        b"55008400-1234-4154-17164-46655440000",
        b"2024-01-05",
        b"2024/01/05T10",
        b"2024-01/05",
        b"10.0.0.255",
        b"10.0.0.256",
        b"jane.doe@example.com",
        b"@example.com",
        b"a@b.c",
        b"01ARZ3NDEKTSV4RRFFQ69G5FAV",
        b"dGhpc2lzYXRva2VuMTIz",
        b"dGhpc2lzYXRva2VuMTIz==",
        b"order_2024-01-01",
        b"img-42.png",
        b"a_b-c.d@e#f",
        b"user_1234",
        b"*",
        b"**",
        b"\xff\xfe",
        b"caf\xc3\xa9",
        b"tab\tx",
    ];

    /// Random keys from [`SEGMENTS`], random bytes and long runs, joined by random
    /// delimiters (including none, several in a row, at either end).
    fn random_keys(seed: u64, n: usize, joins: &[u8]) -> Vec<Vec<u8>> {
        let mut seed = seed;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        (0..n)
            .map(|_| {
                let tokens = match next(10) {
                    0 => 30 + next(10),
                    _ => 1 + next(5),
                };
                let mut key = Vec::new();
                for t in 0..tokens {
                    if t > 0 || next(8) == 0 {
                        for _ in 0..1 + usize::from(next(6) == 0) {
                            key.push(joins[next(joins.len())]);
                        }
                    }
                    match next(12) {
                        0 => key.extend((0..next(20)).map(|_| next(256) as u8)),
                        1 => key.extend(std::iter::repeat_n(b"ab1"[next(3)], 40 + next(100))),
                        _ => key.extend_from_slice(SEGMENTS[next(SEGMENTS.len())]),
                    }
                }
                key
            })
            .collect()
    }

    /// Delimiter sets: the default, several, with a letter, only a letter, one that is `*`.
    const DELIMITER_SETS: &[&[u8]] = &[b":", b":/", b"a:", b"a", b":*", b"-"];

    #[test]
    fn token_kinds_match_the_plain_definition() {
        for (seed, &set) in DELIMITER_SETS.iter().enumerate() {
            let d = Delimiters::new(set);
            let joins = [set, b":/."].concat();
            let mut keys = random_keys(seed as u64 + 1, 5000, &joins);
            keys.extend(SEGMENTS.iter().map(|s| s.to_vec()));
            keys.extend([&b""[..], b":", b"::", b":a:", b"a::b"].map(<[u8]>::to_vec));
            keys.push(":".repeat(200).into_bytes());
            keys.push([&b"x:"[..], &[b'y'; 300], b":1"].concat());
            for key in &keys {
                let kinds = TokenKinds::of(key, d);
                let plain: Vec<&[u8]> = tokens(key, d).collect();
                let mut each = Vec::new();
                kinds.each(key, d, |kind, token| each.push((kind, token)));
                assert_eq!(each.len(), plain.len(), "{key:?}");
                let last = plain.iter().copied().enumerate().next_back();
                assert_eq!(Some(kinds.last(key, d)), last, "{key:?}");
                for (i, (&token, (kind, cut))) in plain.iter().zip(each).enumerate() {
                    assert_eq!(cut, token, "{key:?} {i}");
                    assert_eq!(kind, plain_kind(token, d), "{key:?} {i}");
                    assert_eq!(kinds.kind(i), kind, "{key:?} {i}");
                    assert_eq!(TokenKind::of(token, d), kind, "{key:?} {i}");
                }
                assert_eq!(
                    kinds.abbreviated_len(),
                    crate::advise::probe::abbreviate(key, d, kinds).len(),
                    "{key:?}"
                );
            }
        }
        for s in SEGMENTS {
            assert_eq!(is_variable(s), plain_is_variable(s), "{s:?}");
        }
        for b in 0..=255 {
            assert_eq!(Delimiters::new(&[b]).single, Some(b));
            assert_eq!(Delimiters::new(&[b, b]).single, Some(b));
            assert_eq!(Delimiters::new(&[b, b ^ 1]).single, None);
            assert_eq!(Delimiters::new(&[b, b ^ 128]).single, None);
        }
        assert_eq!(Delimiters::new(b"").single, None);
    }

    /// A kept walk is found run by run exactly when its normalized key is the key's: on
    /// pairs of crafted near misses (a literal where the other has `*`, one byte more) and
    /// of random keys.
    #[test]
    fn walks_compare_runs_as_normalized_keys() {
        let t = tree(100);
        let d = t.delimiters;
        let crafted = [
            "a:x",
            "a:1",
            "a:*",
            "a:12",
            "a:",
            "1",
            "x",
            "*",
            "1:",
            "x:",
            "*:",
            "a:1:2",
            "a:x:2",
            "a:1:y",
            "user:1:profile",
            "user:x:profile",
            "user:12:profile",
            "user:1:profilex",
        ];
        let mut keys: Vec<Vec<u8>> = crafted.iter().map(|k| k.as_bytes().to_vec()).collect();
        keys.extend(random_keys(99, 300, b":"));
        keys.retain(|k| k.len() <= CUT_BYTES && TokenKinds::of(k, d).count < MAX_TOKENS as u8);
        let pairs = keys
            .iter()
            .flat_map(|a| crafted.iter().map(move |b| (a, b.as_bytes())));
        let neighbours = keys
            .iter()
            .zip(keys.iter().skip(1))
            .map(|(a, b)| (a, b.as_slice()));
        for (kept, key) in pairs.chain(neighbours) {
            let (kept, kept_len) = t.normalized(kept, TokenKinds::of(kept, d));
            let kinds = TokenKinds::of(key, d);
            let (normalized, len) = t.normalized(key, kinds);
            let mut walks = Walks::new();
            walks.put(0, &kept[..kept_len], 7);
            let found = match kinds.holes(key.len()) {
                Some(holes) => walks.get(0, key, holes),
                None => walks.get(0, &normalized[..len], std::iter::empty()),
            };
            let same = kept[..kept_len] == normalized[..len];
            assert_eq!(found, same.then_some(7), "{key:?}");
        }
    }

    /// The word steps of [`TokenKinds::of`] against byte steps: `word_at` on every length
    /// and offset, `equal_bytes` on every byte beside its near misses, `byte_classes` on
    /// every length.
    #[test]
    fn word_steps_match_byte_steps() {
        let key: Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(151) ^ 0x5a).collect();
        for len in 0..=key.len() {
            let key = &key[..len];
            for base in (0..len).step_by(8) {
                let mut padded = [0; 8];
                let n = (len - base).min(8);
                padded[..n].copy_from_slice(&key[base..base + n]);
                let valid =
                    u64::from_le_bytes(std::array::from_fn(|i| if i < n { 0xff } else { 0 }));
                assert_eq!(
                    word_at(key, base),
                    (u64::from_le_bytes(padded), valid),
                    "{len} {base}"
                );
            }
            let plain = key.iter().map(|&b| BYTE_CLASS[usize::from(b)]).sum::<u32>();
            assert_eq!(byte_classes(key), plain, "{len}");
        }
        for b in 0..=255u8 {
            let bytes = [b, b ^ 1, b ^ 0x80, b, 0, 0xff, b.wrapping_add(1), b];
            let plain = bytes
                .iter()
                .enumerate()
                .fold(0, |m, (i, &x)| m | u64::from(x == b) << (8 * i + 7));
            assert_eq!(equal_bytes(u64::from_le_bytes(bytes), b), plain, "{b}");
        }
    }

    /// Trees built by `entry` (with its cache of walks) and by plain walks agree on every
    /// pattern and collapse, through collapses, pressure relief and repeated keys.
    #[test]
    fn cached_walks_match_plain_walks() {
        for (seed, &set) in DELIMITER_SETS.iter().enumerate() {
            for fanout in [2, 5, 100] {
                let settings = PatternSettings {
                    delimiters: String::from_utf8(set.to_vec()).unwrap(),
                    fanout,
                    ..PatternSettings::default()
                };
                let mut fast = PatternTree::<Count>::new(settings.clone());
                let mut plain = PatternTree::<Count>::new(settings);
                let d = fast.delimiters;
                let keys =
                    random_keys(seed as u64 * 7 + fanout as u64, 3000, &[set, b":"].concat());
                for key in keys.iter().chain(&keys).chain(keys.iter().rev()) {
                    fast.entry(key, &TokenKinds::of(key, d)).0 += 1;
                    plain_entry(&mut plain, key).0 += 1;
                }
                assert_eq!(fast.collapsed_prefixes(), plain.collapsed_prefixes());
                assert_eq!(fast.into_patterns(), plain.into_patterns());
            }
        }
    }

    #[test]
    fn token_kinds_say_what_normalize_does() {
        let d = Delimiters::new(b":/");
        for key in [
            "user:1234:profile",
            "order_2024-01-01:x",
            "a:b:c",
            "session:550e8400-e29b-41d4-a716-446655440000",
            "img/v2/abc@example.com/42.png",
            "",
            ":",
        ] {
            let kinds = TokenKinds::of(key.as_bytes(), d);
            for (i, token) in tokens(key.as_bytes(), d).enumerate() {
                let normalized = normalize(token, d);
                assert_eq!(
                    kinds.is_constant(i),
                    normalized.as_ref() == token,
                    "{key} {i}"
                );
                let star = normalized.as_ref().ends_with(b"*") && normalized.len() <= 2;
                assert_eq!(kinds.kind(i) == TokenKind::Variable, star, "{key} {i}");
            }
        }
    }

    /// `same_bytes` is `==` on every length up to the cache's, for equal slices and ones
    /// that differ in one byte anywhere.
    #[test]
    fn same_bytes_is_equality() {
        let base: Vec<u8> = (0..=CUT_BYTES as u8).map(|b| b.wrapping_mul(37)).collect();
        for n in 0..=CUT_BYTES {
            let a = &base[..n];
            assert!(same_bytes(a, a), "{n}");
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 1 << (at % 8);
                assert!(!same_bytes(a, &b), "{n} {at}");
            }
            if n > 0 {
                assert!(!same_bytes(a, &a[..n - 1]), "{n}");
            }
        }
    }

    #[test]
    fn tokens_keep_their_delimiter() {
        let cut = |key: &'static [u8], d: &[u8]| -> Vec<&'static [u8]> {
            tokens(key, Delimiters::new(d)).collect()
        };
        assert_eq!(
            cut(b"a:b/c::", b":/"),
            vec![&b"a"[..], b":b", b"/c", b":", b":"]
        );
        assert_eq!(cut(b"", b":"), vec![&b""[..]]);
        assert_eq!(cut(b":x", b":"), vec![&b""[..], b":x"]);
        let deep = ":".repeat(1000);
        let t: Vec<&[u8]> = tokens(deep.as_bytes(), Delimiters::new(b":")).collect();
        assert_eq!(t.len(), MAX_TOKENS);
        assert_eq!(t[MAX_TOKENS - 1].len(), 1000 - (MAX_TOKENS - 2));
    }

    #[test]
    fn variable_segments() {
        for v in [
            "123",
            "-5",
            "3.25",
            "0",
            "deadbeef01",
            "550e8400-e29b-41d4-a716-446655440000",
            "2024-01-05",
            "2024/01/05T10",
            "10.0.0.255",
            "jane.doe@example.com",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "dGhpc2lzYXRva2VuMTIz",
            "a8Fk2Lq9",
        ] {
            assert!(is_variable(v.as_bytes()), "{v} is variable");
        }
        for l in [
            "user", "profile", "v2", "user2fa", "v2beta", "cafebabe", "1.2.3", "session", "a-b", "",
        ] {
            assert!(!is_variable(l.as_bytes()), "{l} is literal");
        }
    }

    #[test]
    fn normalize_replaces_whole_and_inner_parts() {
        let n = |t: &str| {
            String::from_utf8(normalize(t.as_bytes(), Delimiters::new(b":")).into_owned()).unwrap()
        };
        assert_eq!(n(":1234"), ":*");
        assert_eq!(n("user"), "user");
        assert_eq!(n(":user_1234"), ":user_*");
        assert_eq!(n(":img-42.png"), ":img-*.png");
        assert_eq!(n(":550e8400-e29b-41d4-a716-446655440000"), ":*");
    }

    #[test]
    fn infers_patterns_with_ids() {
        let mut t = tree(100);
        for i in 0..50 {
            add(&mut t, &format!("user:{i}:profile"));
            add(&mut t, &format!("user:{i}:cart"));
        }
        add(&mut t, "config");
        assert_eq!(
            patterns(t),
            vec![
                ("config".into(), 1),
                ("user:*:cart".into(), 50),
                ("user:*:profile".into(), 50)
            ]
        );
    }

    #[test]
    fn high_fanout_literals_collapse_and_resolve_follows() {
        let mut t = tree(3);
        for name in ["alpha", "beta", "gamma", "delta", "epsilon"] {
            add(&mut t, &format!("cache:{name}:v"));
        }
        add(&mut t, "other");
        assert_eq!(t.resolve(b"cache:alpha:v"), "cache:*:v");
        assert_eq!(t.resolve(b"cache:zeta:v"), "cache:*:v");
        assert_eq!(t.resolve(b"other"), "other");
        assert_eq!(
            patterns(t),
            vec![("cache:*:v".into(), 5), ("other".into(), 1)]
        );
    }

    #[test]
    fn merging_equals_one_tree_over_everything() {
        let keys: Vec<String> = (0..40)
            .map(|i| format!("k:{}:{}", ["a", "b", "c", "d", "e", "f"][i % 6], i % 7))
            .chain((0..10).map(|i| format!("z{i}x:q")))
            .collect();
        let mut whole = tree(4);
        keys.iter().for_each(|k| add(&mut whole, k));
        let mut left = tree(4);
        let mut right = tree(4);
        for (i, k) in keys.iter().enumerate() {
            add(if i % 3 == 0 { &mut left } else { &mut right }, k);
        }
        left.merge(right);
        assert_eq!(patterns(left), patterns(whole));
    }

    /// Random key spaces split at random among three trees, merged in both orders, give
    /// the tree of one sequential pass.
    #[test]
    fn merge_is_order_independent_on_random_key_spaces() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let words = ["u", "v", "w", "x", "y", "z", "aa", "bb", "cc"];
        for _ in 0..200 {
            let keys: Vec<String> = (0..60)
                .map(|_| {
                    (0..1 + next(4))
                        .map(|_| words[next(words.len() as u64) as usize].to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                })
                .collect();
            let mut whole = tree(3);
            keys.iter().for_each(|k| add(&mut whole, k));
            let mut parts = [tree(3), tree(3), tree(3)];
            for k in keys.iter().rev() {
                add(&mut parts[next(3) as usize], k);
            }
            let [a, b, c] = parts;
            let (mut ab_c, mut c_ba) = (a.clone(), c.clone());
            ab_c.merge(b.clone());
            ab_c.merge(c);
            c_ba.merge(b);
            c_ba.merge(a);
            let expected = patterns(whole);
            assert_eq!(patterns(ab_c), expected, "keys {keys:?}");
            assert_eq!(patterns(c_ba), expected, "keys {keys:?}");
        }
    }

    /// A key space of unrecognised literal names at every level cannot grow the tree past
    /// its node budget, and its arena stays bounded too.
    #[test]
    fn hostile_literal_key_spaces_stay_bounded() {
        let mut t = tree(100);
        let mut plain = tree(100);
        // 90 names per level (under the fan-out bound), four levels: millions of patterns.
        let word = |n: u64| format!("n{}{}", char::from(b'a' + (n % 26) as u8), n % 90 / 26);
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 24
        };
        for _ in 0..150_000 {
            let key = format!(
                "{}:{}:{}:{}",
                word(next()),
                word(next()),
                word(next()),
                word(next())
            );
            add(&mut t, &key);
            plain_entry(&mut plain, key.as_bytes()).0 += 1;
        }
        assert!(
            !t.collapsed_prefixes().is_empty(),
            "the budget forced collapses"
        );
        assert_eq!(t.collapsed_prefixes(), plain.collapsed_prefixes());
        assert_eq!(t.clone().into_patterns(), plain.into_patterns());
        assert!(t.live <= MAX_NODES + 1, "{} live nodes", t.live);
        assert!(
            t.nodes.len() <= 2 * MAX_NODES + 128,
            "{} nodes in the arena",
            t.nodes.len()
        );
        let total: u64 = t.clone().into_patterns().iter().map(|(_, c)| c.0).sum();
        assert_eq!(total, 150_000, "no key is lost by collapsing");
    }

    #[test]
    fn max_patterns_collapses_widest_prefix_first() {
        let mut t = PatternTree::<Count>::new(PatternSettings {
            max_patterns: 3,
            ..PatternSettings::default()
        });
        for k in ["a:x", "a:y", "a:z", "b:x", "b:y"] {
            add(&mut t, k);
        }
        t.finish();
        assert_eq!(
            patterns(t),
            vec![("a:*".into(), 3), ("b:x".into(), 1), ("b:y".into(), 1)]
        );
    }

    #[test]
    fn rules_glob_and_regex() {
        let g = Rule::parse("user:*:profile").unwrap();
        assert!(g.is_match(b"user:abc:profile"));
        assert!(!g.is_match(b"user:abc:cart"));
        let r = Rule::parse(r"re:^sess_[0-9]+$").unwrap();
        assert!(r.is_match(b"sess_42"));
        assert!(!r.is_match(b"sess_x"));
        assert!(Rule::parse("re:(").is_err());
        assert_eq!(match_rule(&[g, r], b"sess_1"), Some(1));
    }
}
