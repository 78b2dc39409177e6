//! The parser's one error type. Every error carries the absolute byte offset in the file
//! where the problem was seen and, once the splitter knows it, the key being read: an operator
//! with a damaged 20 GB dump needs to know where to look, not just that something is wrong.

use std::fmt;

/// What went wrong; `Error` adds where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Fewer bytes remain than a length or fixed-size field needs.
    Truncated {
        needed: u64,
        available: u64,
        what: &'static str,
    },
    /// The file does not start with `REDIS` or `VALKEY` and a version number.
    BadMagic,
    /// A format version newer (or older) than this build understands.
    UnsupportedVersion { magic: &'static str, version: u32 },
    /// A length byte outside the valid encodings (e.g. 0x82..0xBF).
    BadLength(u8),
    /// A string encoding selector 0xC4..0xFF.
    BadStringEncoding(u8),
    /// A type byte that is neither a known object type nor an opcode.
    UnknownType(u8),
    /// A module type id whose value cannot be skipped (the pre-GA unframed form).
    UnframedModule(String),
    /// An opcode inside a module value stream other than EOF/SINT/UINT/FLOAT/DOUBLE/STRING.
    BadModuleOpcode(u64),
    /// LZF data that does not decompress to its declared length.
    Lzf(&'static str),
    /// The CRC-64 trailer does not match the computed checksum.
    ChecksumMismatch { stored: u64, computed: u64 },
    /// A structural rule of an inner blob or record was broken.
    Corrupt(String),
}

/// A parse error: what, at which byte of the file, and in which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub offset: u64,
    pub kind: ErrorKind,
    /// The key being read, escaped for display, when known.
    pub key: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Bytes of a key shown in an error.
const KEY_SHOWN: usize = 200;

/// A key as `escape_key` renders it, with control characters escaped too, so that an error
/// stays on one line.
fn escape_for_message(key: &[u8]) -> String {
    let mut out = String::new();
    for c in crate::rdb::escape_key(key).chars() {
        match c as u32 {
            _ if !c.is_control() => out.push(c),
            code @ 0..0x100 => out.push_str(&format!("\\x{code:02x}")),
            code => out.push_str(&format!("\\u{{{code:x}}}")),
        }
    }
    out
}

impl Error {
    pub fn new(offset: u64, kind: ErrorKind) -> Error {
        Error {
            offset,
            kind,
            key: None,
        }
    }

    pub fn corrupt(offset: u64, message: impl Into<String>) -> Error {
        Error::new(offset, ErrorKind::Corrupt(message.into()))
    }

    /// Attaches the key being read, unless a more specific one is already set. A long key is
    /// cut: damage can turn megabytes of a value into a "key", and the message must stay a line.
    pub fn in_key(mut self, key: &[u8]) -> Error {
        if self.key.is_none() {
            self.key = Some(if key.len() <= KEY_SHOWN {
                escape_for_message(key)
            } else {
                format!(
                    "{}... ({} bytes)",
                    escape_for_message(&key[..KEY_SHOWN]),
                    key.len()
                )
            });
        }
        self
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated {
                needed,
                available,
                what,
            } => write!(
                f,
                "truncated: {what} needs {needed} bytes but only {available} remain"
            ),
            ErrorKind::BadMagic => f.write_str("not an RDB file (no REDIS or VALKEY header)"),
            ErrorKind::UnsupportedVersion { magic, version } => {
                use crate::rdb::header::{MAX_REDIS_VERSION, VALKEY_VERSIONS};
                let newest = match *magic {
                    "VALKEY" => *VALKEY_VERSIONS.end(),
                    _ => MAX_REDIS_VERSION,
                };
                write!(f, "unsupported RDB format version {magic} {version}")?;
                if *version > newest {
                    f.write_str(", written by a newer server than this build knows")?;
                }
                let valkey = match (VALKEY_VERSIONS.start(), VALKEY_VERSIONS.end()) {
                    (first, last) if first == last => format!("{first}"),
                    (first, last) => format!("{first} to {last}"),
                };
                write!(
                    f,
                    " (it reads REDIS 1 to {MAX_REDIS_VERSION} and VALKEY {valkey})"
                )
            }
            ErrorKind::BadLength(b) => write!(f, "invalid length encoding byte 0x{b:02x}"),
            ErrorKind::BadStringEncoding(b) => write!(f, "invalid string encoding 0x{b:02x}"),
            ErrorKind::UnknownType(b) => write!(f, "unknown object type or opcode {b}"),
            ErrorKind::UnframedModule(name) => write!(
                f,
                "module value of '{name}' in the pre-GA unframed form cannot be skipped without the module"
            ),
            ErrorKind::BadModuleOpcode(op) => write!(f, "invalid module value opcode {op}"),
            ErrorKind::Lzf(why) => write!(f, "bad LZF data: {why}"),
            ErrorKind::ChecksumMismatch { stored, computed } => write!(
                f,
                "CRC-64 mismatch: file says 0x{stored:016x}, computed 0x{computed:016x}"
            ),
            ErrorKind::Corrupt(m) => f.write_str(m),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}", self.offset)?;
        if let Some(key) = &self.key {
            write!(f, " (key \"{key}\")")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_errors_are_one_line_and_cut_when_long() {
        let short = Error::corrupt(5, "bad").in_key(b"user:1");
        assert_eq!(short.to_string(), "at byte 5 (key \"user:1\"): bad");
        let lines = Error::corrupt(5, "bad").in_key("a\nb\u{85}c\\".as_bytes());
        assert_eq!(lines.key.unwrap(), "a\\x0ab\\x85c\\\\");
        let long = vec![0xFFu8; 300_000];
        let e = Error::corrupt(5, "bad").in_key(&long);
        let key = e.key.unwrap();
        assert_eq!(
            key,
            format!("{}... (300000 bytes)", "\\xff".repeat(KEY_SHOWN))
        );
    }
}
