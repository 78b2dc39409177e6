//! The 9- or 10-byte header (rdb-format.md §1) and the format variant it selects.

use super::cursor::Cursor;
use super::error::{Error, ErrorKind, Result};

/// Which fork wrote the file, as far as the header says. Type 22 and opcode 243 mean
/// different things in the two (rdb-format.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Magic {
    Redis,
    Valkey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub magic: Magic,
    pub version: u32,
    /// Bytes the header occupies; the first record starts here.
    pub len: usize,
}

/// Newest `REDIS` version this parser walks (Redis 8.6).
pub const MAX_REDIS_VERSION: u32 = 13;
/// Valkey 9.x versions this parser walks.
pub const VALKEY_VERSIONS: std::ops::RangeInclusive<u32> = 80..=80;

impl Header {
    /// The header of a format: both magics take 9 bytes (`REDIS` + 4 digits, `VALKEY` + 3).
    pub fn new(magic: Magic, version: u32) -> Header {
        Header {
            magic,
            version,
            len: 9,
        }
    }

    pub fn parse(data: &[u8]) -> Result<Header> {
        let mut c = Cursor::new(data, 0);
        let (magic, digits) = if data.starts_with(b"REDIS") {
            c.skip(5, "header")?;
            (
                Magic::Redis,
                c.bytes(4, "header version").map_err(|_| bad_magic())?,
            )
        } else if data.starts_with(b"VALKEY") {
            c.skip(6, "header")?;
            (
                Magic::Valkey,
                c.bytes(3, "header version").map_err(|_| bad_magic())?,
            )
        } else {
            return Err(bad_magic());
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad_magic());
        }
        let version = digits
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        let supported = match magic {
            Magic::Redis => (1..=MAX_REDIS_VERSION).contains(&version),
            Magic::Valkey => VALKEY_VERSIONS.contains(&version),
        };
        if !supported {
            let name = match magic {
                Magic::Redis => "REDIS",
                Magic::Valkey => "VALKEY",
            };
            return Err(Error::new(
                5,
                ErrorKind::UnsupportedVersion {
                    magic: name,
                    version,
                },
            ));
        }
        Ok(Header {
            magic,
            version,
            len: c.pos(),
        })
    }

    /// The CRC-64 trailer exists from version 5 on.
    pub fn has_checksum(&self) -> bool {
        self.version >= 5
    }

    /// The header as written, e.g. `REDIS0011`.
    pub fn display(&self) -> String {
        match self.magic {
            Magic::Redis => format!("REDIS{:04}", self.version),
            Magic::Valkey => format!("VALKEY{:03}", self.version),
        }
    }
}

fn bad_magic() -> Error {
    Error::new(0, ErrorKind::BadMagic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_magics() {
        let h = Header::parse(b"REDIS0011\xfe").unwrap();
        assert_eq!((h.magic, h.version, h.len), (Magic::Redis, 11, 9));
        let h = Header::parse(b"VALKEY080\xff").unwrap();
        assert_eq!((h.magic, h.version, h.len), (Magic::Valkey, 80, 9));
        assert_eq!(h.display(), "VALKEY080");
        assert_eq!(Header::new(Magic::Valkey, 80), h);
        assert_eq!(Header::new(Magic::Redis, 9).display(), "REDIS0009");
    }

    #[test]
    fn refuses_unknown_versions_by_name() {
        let e = Header::parse(b"REDIS0014").unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::UnsupportedVersion {
                magic: "REDIS",
                version: 14
            }
        );
        assert_eq!(
            e.to_string(),
            "at byte 5: unsupported RDB format version REDIS 14, written by a newer server \
             than this build knows (it reads REDIS 1 to 13 and VALKEY 80)"
        );
        let e = Header::parse(b"VALKEY081").unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::UnsupportedVersion {
                magic: "VALKEY",
                version: 81
            }
        );
        assert!(
            e.to_string()
                .contains("VALKEY 81, written by a newer server")
        );
        // Valkey 9 refuses REDIS 12..79 ("foreign"); Redis has no 79 either: not newer, unknown.
        let e = Header::parse(b"VALKEY079").unwrap_err();
        assert!(!e.to_string().contains("newer"), "{e}");
        assert_eq!(Header::parse(b"REDIS0000").unwrap_err().offset, 5);
        assert_eq!(
            Header::parse(b"REDIS00x1").unwrap_err().kind,
            ErrorKind::BadMagic
        );
        assert_eq!(
            Header::parse(b"*2\r\n$6").unwrap_err().kind,
            ErrorKind::BadMagic
        );
        assert_eq!(Header::parse(b"RED").unwrap_err().kind, ErrorKind::BadMagic);
    }
}
