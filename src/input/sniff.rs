//! What a file is, from its first bytes: users name files freely (`dump.rdb.1`, `backup`),
//! so the content decides, not the extension.

use std::io::{self, Chain, Cursor, Read};
use std::path::Path;

use super::decompress::Compression;
use crate::error::Error;

/// Bytes `peek` reads ahead: enough for every signature below (tar's is at 257).
const HEAD: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `REDIS` or `VALKEY`: an RDB file, or an AOF with an RDB preamble.
    Rdb,
    /// gzip or zstd, which rdbscope decompresses itself.
    Compressed(Compression),
    /// Another compression format, named.
    OtherCompression(&'static str),
    /// An archive of files, named.
    Archive(&'static str),
    /// RESP commands: an AOF without an RDB preamble.
    Aof,
    /// The manifest of a multi-part AOF directory (Redis 7+).
    AofManifest,
    /// A replication stream capture: `$EOF:<mark>` or `$<length>` before the RDB.
    ReplicationCapture,
    /// Nothing known; the parser says what is wrong with it.
    Unknown,
}

pub fn shape(head: &[u8]) -> Shape {
    let digit_at = |i: usize| head.get(i).is_some_and(u8::is_ascii_digit);
    if head.starts_with(b"REDIS") || head.starts_with(b"VALKEY") {
        Shape::Rdb
    } else if head.starts_with(&[0x1F, 0x8B]) {
        Shape::Compressed(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Shape::Compressed(Compression::Zstd)
    } else if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        Shape::OtherCompression("xz")
    } else if head.starts_with(b"BZh") {
        Shape::OtherCompression("bzip2")
    } else if head.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        Shape::OtherCompression("lz4")
    } else if head.get(257..262) == Some(b"ustar") {
        Shape::Archive("tar")
    } else if head.starts_with(b"PK\x03\x04") {
        Shape::Archive("zip")
    } else if head.starts_with(b"*") && digit_at(1) {
        Shape::Aof
    } else if head.starts_with(b"file ") {
        Shape::AofManifest
    } else if head.starts_with(b"$EOF:") || (head.starts_with(b"$") && digit_at(1)) {
        Shape::ReplicationCapture
    } else {
        Shape::Unknown
    }
}

impl Shape {
    /// An explanation for the shapes rdbscope does not read; `Ok` for the others.
    pub fn explain(self, path: &Path) -> Result<(), Error> {
        let path = path.display();
        let message = match self {
            Shape::Rdb | Shape::Compressed(_) | Shape::AofManifest | Shape::Unknown => {
                return Ok(());
            }
            Shape::OtherCompression(name) => format!(
                "{path} is {name}-compressed; rdbscope reads gzip and zstd itself, decompress \
                 this one first (e.g. {name} -dc {path} | rdbscope info -)"
            ),
            Shape::Archive(name) => {
                format!("{path} is a {name} archive; extract the dump from it first")
            }
            Shape::Aof => format!(
                "{path} is an append-only file (Redis commands, no RDB snapshot inside); \
                 rdbscope reads RDB snapshots: take one with BGSAVE, or rewrite the AOF with \
                 aof-use-rdb-preamble yes"
            ),
            Shape::ReplicationCapture => format!(
                "{path} is a replication stream capture (a $EOF: or $<length> line before the \
                 RDB data); remove that first line and give the RDB data"
            ),
        };
        Err(Error::Input(message))
    }
}

/// A stream whose first bytes were read ahead, yielding them again.
pub type Peeked<R> = Chain<Cursor<Vec<u8>>, R>;

/// Reads the first bytes of a stream for `shape`, and gives back a reader that yields the
/// whole stream again.
pub fn peek<R: Read>(mut stream: R) -> io::Result<(Vec<u8>, Peeked<R>)> {
    let mut head = Vec::with_capacity(HEAD);
    (&mut stream).take(HEAD as u64).read_to_end(&mut head)?;
    Ok((head.clone(), Cursor::new(head).chain(stream)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_from_first_bytes() {
        assert_eq!(shape(b"REDIS0011\xfa"), Shape::Rdb);
        assert_eq!(shape(b"VALKEY080"), Shape::Rdb);
        assert_eq!(
            shape(&[0x1F, 0x8B, 8, 0]),
            Shape::Compressed(Compression::Gzip)
        );
        assert_eq!(
            shape(&[0x28, 0xB5, 0x2F, 0xFD, 4]),
            Shape::Compressed(Compression::Zstd)
        );
        assert_eq!(shape(b"BZh91AY"), Shape::OtherCompression("bzip2"));
        assert_eq!(shape(b"*2\r\n$6\r\nSELECT\r\n"), Shape::Aof);
        assert_eq!(
            shape(b"file appendonly.aof.1.base.rdb seq 1 type b\n"),
            Shape::AofManifest
        );
        assert_eq!(shape(b"$EOF:0123"), Shape::ReplicationCapture);
        assert_eq!(shape(b"$5612\r\nREDIS"), Shape::ReplicationCapture);
        let mut tar = vec![0; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(shape(&tar), Shape::Archive("tar"));
        assert_eq!(shape(b"hello"), Shape::Unknown);
        assert_eq!(shape(b"*"), Shape::Unknown);
    }

    #[test]
    fn peek_gives_the_whole_stream_back() {
        let data: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        let (head, mut rest) = peek(&data[..]).unwrap();
        assert_eq!(head, &data[..HEAD]);
        let mut all = Vec::new();
        rest.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        let (head, _) = peek(&b"ab"[..]).unwrap();
        assert_eq!(head, b"ab");
    }
}
