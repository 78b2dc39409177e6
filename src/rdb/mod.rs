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
pub mod server;
pub mod stream;
pub mod types;
pub mod ziplist;
pub mod zipmap;

pub use cursor::Cursor;
pub use error::{Error, ErrorKind, Result};
pub use header::{Header, Magic};
pub use inspect::{Context, Scratch, Shape, ValueItem, ValueStats, inspect, walk_value};
pub use primitives::{Element, RdbStr};
pub use records::{Checksum, Entry, Item, Record, Records};
pub use server::{Family, ServerVersion};
pub use types::{Encoding, KeyType, ValueType};

/// Renders a key for CSV and messages: valid UTF-8 as it is, other bytes as `\xNN`, and a
/// backslash as `\\` so the escaping is reversible.
pub fn escape_key(key: &[u8]) -> String {
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
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_key_keeps_utf8_and_escapes_the_rest() {
        assert_eq!(super::escape_key(b"user:1"), "user:1");
        assert_eq!(super::escape_key("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(super::escape_key(b"a\\b"), "a\\\\b");
        assert_eq!(super::escape_key(b"\xff\x00k"), "\\xff\u{0}k");
    }
}
