//! The RDB file format: a zero-copy splitter that finds record boundaries, and the inner
//! walkers (`inspect`) that decode blobs on worker threads. Knows nothing of memory or reports.

pub mod crc64;
pub mod cursor;
pub mod error;
pub mod header;
pub mod inspect;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod module;
pub mod primitives;
pub mod records;
pub mod score;
pub mod server;
pub mod stream;
pub mod types;
pub mod ziplist;
pub mod zipmap;

pub use cursor::Cursor;
pub use error::{Error, ErrorKind, Result};
pub use header::{Header, Magic};
pub use inspect::{Context, Score, Scratch, Shape, ValueItem, ValueStats, inspect, walk_value};
pub use primitives::{Element, RdbStr};
pub use records::{Checksum, Entry, Item, Record, Records};
pub use server::{Family, ServerVersion};
pub use types::{Encoding, KeyType, ValueType};

/// Renders a key for CSV and messages: valid UTF-8 as it is, other bytes as `\xNN`, and a
/// backslash as `\\` so the escaping is reversible.
pub fn escape_key(key: &[u8]) -> String {
    escaped_key(key).into_owned()
}

/// [`escape_key`], borrowing the key where it needs no escape (most keys: checked without
/// building anything, for the per-key paths that only compare).
pub fn escaped_key(key: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(key)
        && !key.contains(&b'\\')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(key.len());
    for chunk in key.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(ch);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// How `key` as [`escape_key`] renders orders against an already escaped key, without
/// building anything for the usual ASCII key (this breaks ties of every listed-key ranking).
/// Inlined: the first eight bytes decide most ties, and the call cost more than they do.
#[inline]
pub fn cmp_escaped(key: &[u8], escaped: &str) -> std::cmp::Ordering {
    let escaped = escaped.as_bytes();
    match word_at(key, escaped, 0) {
        Word::Decides(order) => order,
        Word::Same => cmp_escaped_from(key, escaped, 8),
        Word::Stop => cmp_escaped_from(key, escaped, 0),
    }
}

/// Eight bytes of a key against the same of an escaped key.
enum Word {
    /// The key's are their own escape and differ: the first that differs decides
    /// (big-endian words compare as their bytes do).
    Decides(std::cmp::Ordering),
    /// The key's are their own escape and equal.
    Same,
    /// Fewer than eight bytes left in either, or the key's are not their own escape.
    Stop,
}

#[inline]
fn word_at(key: &[u8], escaped: &[u8], at: usize) -> Word {
    let (Some(mine), Some(theirs)) = (key[at..].first_chunk(), escaped[at..].first_chunk()) else {
        return Word::Stop;
    };
    if odd_bytes(u64::from_ne_bytes(*mine)) != 0 {
        Word::Stop
    } else if mine != theirs {
        Word::Decides(u64::from_be_bytes(*mine).cmp(&u64::from_be_bytes(*theirs)))
    } else {
        Word::Same
    }
}

/// [`cmp_escaped`] past `at`, where the key's bytes are their own escape and equal the
/// escaped key's.
fn cmp_escaped_from(key: &[u8], escaped: &[u8], mut at: usize) -> std::cmp::Ordering {
    loop {
        match word_at(key, escaped, at) {
            Word::Decides(order) => return order,
            Word::Same => at += 8,
            Word::Stop => break,
        }
    }
    // the last eight bytes of the shorter, overlapping those compared: no byte-wise tail
    let end = key.len().min(escaped.len());
    if end >= 8 && end - 8 <= at {
        match word_at(key, escaped, end - 8) {
            Word::Decides(order) => return order,
            // equal up to the shorter: an ASCII key escapes to itself, the longer is after
            Word::Same => return key.len().cmp(&escaped.len()),
            Word::Stop => {}
        }
    }
    cmp_escaped_rest(key, escaped, at)
}

/// The rest of [`cmp_escaped_from`], byte-wise: out of line, so that the word steps (all
/// that most ties take) run without saving registers.
#[inline(never)]
fn cmp_escaped_rest(key: &[u8], escaped: &[u8], at: usize) -> std::cmp::Ordering {
    // an ASCII prefix escapes to itself, so the rest compares on its own
    let (key, escaped) = (&key[at..], &escaped[at..]);
    if is_own_escape(key) {
        key.cmp(escaped)
    } else {
        escaped_key(key).as_bytes().cmp(escaped)
    }
}

/// The high bit of each byte of a word that is not its own escape (a high bit, or a zero
/// byte in the word xor backslashes), and maybe of bytes after one: zero iff none is.
fn odd_bytes(v: u64) -> u64 {
    (v & crate::swar::HIGHS) | crate::swar::has_byte(v, b'\\')
}

/// Whether a key is ASCII without a backslash, so its own escape: eight bytes a step, since
/// it runs on every tie.
fn is_own_escape(key: &[u8]) -> bool {
    let (words, tail) = key.as_chunks::<8>();
    words.iter().all(|w| odd_bytes(u64::from_ne_bytes(*w)) == 0)
        && tail.iter().all(|&b| b < 0x80 && b != b'\\')
}

/// The inverse of [`escape_key`], for keys read back from rdbscope's own reports.
pub fn unescape_key(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x')) if i + 4 <= bytes.len() => {
                match std::str::from_utf8(&bytes[i + 2..i + 4])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 4;
                    }
                    None => {
                        out.push(b'\\');
                        i += 1;
                    }
                }
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescape_inverts_escape() {
        for key in [
            &b"user:1"[..],
            b"a\\b",
            b"\xff\x00k",
            b"\\x41",
            "caf\u{e9}".as_bytes(),
        ] {
            assert_eq!(super::unescape_key(&super::escape_key(key)), key);
        }
    }

    #[test]
    fn escape_key_keeps_utf8_and_escapes_the_rest() {
        assert_eq!(super::escape_key(b"user:1"), "user:1");
        assert_eq!(super::escape_key("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(super::escape_key(b"a\\b"), "a\\\\b");
        assert_eq!(super::escape_key(b"\xff\x00k"), "\\xff\u{0}k");
    }

    #[test]
    fn own_escape_is_ascii_without_backslash() {
        let mut key = [b'a'; 19];
        for at in 0..key.len() {
            for b in 0..=255u8 {
                key[at] = b;
                for len in at..=key.len() {
                    let k = &key[..len];
                    let plain = k.iter().all(|&c| c < 0x80 && c != b'\\');
                    assert_eq!(super::is_own_escape(k), plain, "{k:?}");
                }
            }
            key[at] = b'a';
        }
    }

    #[test]
    fn cmp_escaped_orders_as_the_escaped_text() {
        let keys: [&[u8]; 12] = [
            b"",
            b"a",
            b"user:1",
            b"user:10",
            b"a\\b",
            b"a]",
            b"\xff\x00k",
            b"\\x41",
            "caf\u{e9}".as_bytes(),
            "caf\u{e9}s".as_bytes(),
            b"caf\xe9",
            b"\x7f\x80",
        ];
        for a in keys {
            for b in keys {
                let escaped = super::escape_key(b);
                assert_eq!(
                    super::cmp_escaped(a, &escaped),
                    super::escape_key(a).cmp(&escaped),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    /// The word-at-a-time path against the plain one, on random keys that share long
    /// prefixes and differ in every kind of byte (ASCII, backslash, UTF-8, invalid).
    #[test]
    fn cmp_escaped_word_steps_agree_with_the_escaped_text() {
        use crate::synth::rng::Rng;
        // mostly plain ASCII, so that whole words match and differ
        let byte = |rng: &mut Rng, odd: u64| {
            if rng.percent(odd) {
                *rng.pick(b"\\\x00\x7f\x80\xc3\xa9\xe2\x82\xac\xff")
            } else {
                *rng.pick(b"ab:~0")
            }
        };
        let key = |rng: &mut Rng, odd: u64| {
            let len = rng.below(40) as usize;
            (0..len).map(|_| byte(rng, odd)).collect::<Vec<u8>>()
        };
        let mut rng = Rng::new(7);
        for _ in 0..200_000 {
            let odd = *rng.pick(&[0, 2, 10, 40]);
            let a = key(&mut rng, odd);
            let mut b = a.clone();
            match rng.below(4) {
                0 => b = key(&mut rng, odd),
                1 if !b.is_empty() => {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] = byte(&mut rng, odd);
                }
                2 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
                _ => b.push(byte(&mut rng, odd)),
            }
            let escaped = super::escape_key(&b);
            assert_eq!(
                super::cmp_escaped(&a, &escaped),
                super::escape_key(&a).cmp(&escaped),
                "{a:?} vs {b:?}"
            );
        }
    }
}
