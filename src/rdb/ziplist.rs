//! Ziplist blobs (rdb-format.md §5.1): RDB types 10, 12, 13 and quicklist v1 nodes.
//!
//! `Ziplist::new` checks only the header; walking (`iter`, `validate`) applies every rule of
//! Redis' `ziplistValidateIntegrity`, because Redis always deep-validates ziplists on load and
//! an analyzer must not trust what Redis would refuse.

use std::iter::FusedIterator;

use super::cursor::Cursor;
use super::error::{Error, Result};
use super::primitives::{Element, check_blob_frame};

/// zlbytes + zltail + zllen.
pub const HEADER_LEN: usize = 10;
const END: u8 = 0xFF;
/// zllen value meaning "too many to count, walk the entries".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// A ziplist whose header has been checked; entries are checked as they are walked.
#[derive(Debug, Clone, Copy)]
pub struct Ziplist<'a> {
    blob: &'a [u8],
    base: u64,
    zltail: u32,
    zllen: u16,
}

impl<'a> Ziplist<'a> {
    /// Checks the header: at least 11 bytes, zlbytes equal to the blob length, a final 0xFF and
    /// a zltail inside the blob. `base` is the file offset of `blob[0]`.
    pub fn new(blob: &'a [u8], base: u64) -> Result<Ziplist<'a>> {
        let mut c = check_blob_frame(blob, base, "ziplist", "zlbytes", HEADER_LEN + 1)?;
        let zltail = c.u32_le("ziplist zltail")?;
        let zllen = c.u16_le("ziplist zllen")?;
        let last = blob.len() - 1;
        if zltail as usize > last {
            return Err(Error::corrupt(
                base + 4,
                format!("ziplist zltail {zltail} points past the end marker at {last}"),
            ));
        }
        Ok(Ziplist {
            blob,
            base,
            zltail,
            zllen,
        })
    }

    /// The entry count from the header, or `None` when it saturated at 65535 and only a walk
    /// can tell.
    pub fn header_count(&self) -> Option<u16> {
        (self.zllen != COUNT_UNKNOWN).then_some(self.zllen)
    }

    pub fn blob_len(&self) -> usize {
        self.blob.len()
    }

    /// [`Ziplist::header_count`] from the first [`HEADER_LEN`] bytes of a ziplist of
    /// `blob_len` bytes, when `zlbytes` agrees with that length: a compressed ziplist's count
    /// without decompressing it. Nothing past the header is checked.
    pub fn count_in_header(header: &[u8; HEADER_LEN], blob_len: usize) -> Option<u16> {
        let [b0, b1, b2, b3, .., c0, c1] = *header;
        let zllen = u16::from_le_bytes([c0, c1]);
        (u32::from_le_bytes([b0, b1, b2, b3]) as usize == blob_len && zllen != COUNT_UNKNOWN)
            .then_some(zllen)
    }

    /// Entries in order. Each is checked as it is read; after the last one the end conditions
    /// (zltail, zllen) are checked and a failure is yielded as a final `Err`. After any `Err`
    /// the iterator is exhausted.
    pub fn iter(&self) -> ZiplistIter<'a> {
        // The cursor stops short of the end marker, so an entry running into or past it fails
        // as truncated, exactly like Redis' "entry inside [header end, end byte]" bound.
        let mut cursor = Cursor::new(&self.blob[..self.blob.len() - 1], self.base);
        cursor
            .skip(HEADER_LEN as u64, "ziplist header")
            .expect("length checked by new");
        ZiplistIter {
            cursor,
            base: self.base,
            zltail: self.zltail,
            zllen: self.zllen,
            prev_size: 0,
            last_start: None,
            count: 0,
            done: false,
        }
    }

    /// Walks every entry with full validation and returns the entry count.
    pub fn validate(&self) -> Result<u64> {
        self.iter().try_fold(0, |n, entry| entry.map(|_| n + 1))
    }
}

/// Iterator over a ziplist's entries; see [`Ziplist::iter`].
#[derive(Debug, Clone)]
pub struct ZiplistIter<'a> {
    cursor: Cursor<'a>,
    base: u64,
    zltail: u32,
    zllen: u16,
    /// Size of the previous entry, which the next entry's prevlen must repeat (0 at first).
    prev_size: u64,
    /// Blob position of the last entry read, which zltail must name.
    last_start: Option<usize>,
    count: u64,
    done: bool,
}

impl<'a> ZiplistIter<'a> {
    fn entry(&mut self) -> Result<Element<'a>> {
        let c = &mut self.cursor;
        let start = c.pos();
        let entry_offset = c.offset();
        let first = c.u8("ziplist prevlen")?;
        if first == END {
            return Err(Error::corrupt(
                entry_offset,
                "ziplist end marker 0xff before the end of the blob",
            ));
        }
        // 0xFE announces the 5-byte form, which may legally hold a value below 254: Redis'
        // cascade update keeps the large form rather than shrinking entries.
        let prevlen = if first < 0xFE {
            u64::from(first)
        } else {
            u64::from(c.u32_le("ziplist prevlen")?)
        };
        if prevlen != self.prev_size {
            return Err(Error::corrupt(
                entry_offset,
                format!(
                    "ziplist entry prevlen {prevlen} but the previous entry is {} bytes",
                    self.prev_size
                ),
            ));
        }
        let enc_offset = c.offset();
        let enc = c.u8("ziplist entry encoding")?;
        let element = match enc >> 6 {
            // String lengths are big-endian, unlike everything else in a ziplist.
            0b00 => Element::Bytes(c.bytes(u64::from(enc & 0x3F), "ziplist string")?),
            0b01 => {
                let low = c.u8("ziplist string length")?;
                let len = (u64::from(enc & 0x3F) << 8) | u64::from(low);
                Element::Bytes(c.bytes(len, "ziplist string")?)
            }
            0b10 => {
                let len = c.u32_be("ziplist string length")?;
                Element::Bytes(c.bytes(u64::from(len), "ziplist string")?)
            }
            _ => Element::Int(match enc {
                0xC0 => i64::from(c.u16_le("ziplist int16")? as i16),
                0xD0 => i64::from(c.u32_le("ziplist int32")? as i32),
                0xE0 => c.i64_le("ziplist int64")?,
                0xF0 => {
                    // Load into the top three bytes so the arithmetic shift sign-extends.
                    let [a, b, d] = c.array::<3>("ziplist int24")?;
                    i64::from(i32::from_le_bytes([0, a, b, d]) >> 8)
                }
                0xFE => i64::from(c.u8("ziplist int8")? as i8),
                0xF1..=0xFD => i64::from(enc & 0x0F) - 1,
                _ => {
                    return Err(Error::corrupt(
                        enc_offset,
                        format!("invalid ziplist entry encoding 0x{enc:02x}"),
                    ));
                }
            }),
        };
        self.prev_size = (c.pos() - start) as u64;
        self.last_start = Some(start);
        self.count += 1;
        Ok(element)
    }

    /// The checks Redis makes once the walk reaches the end marker.
    fn finish(&self) -> Result<()> {
        // An empty ziplist has no last entry to point at; Redis skips the check then too.
        if let Some(last) = self.last_start
            && self.zltail as usize != last
        {
            return Err(Error::corrupt(
                self.base + 4,
                format!(
                    "ziplist zltail {} but the last entry starts at {last}",
                    self.zltail
                ),
            ));
        }
        if self.zllen != COUNT_UNKNOWN && u64::from(self.zllen) != self.count {
            return Err(Error::corrupt(
                self.base + 8,
                format!(
                    "ziplist zllen {} but it holds {} entries",
                    self.zllen, self.count
                ),
            ));
        }
        Ok(())
    }
}

impl<'a> Iterator for ZiplistIter<'a> {
    type Item = Result<Element<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.cursor.is_empty() {
            self.done = true;
            return self.finish().err().map(Err);
        }
        let result = self.entry();
        self.done = result.is_err();
        Some(result)
    }
}

impl FusedIterator for ZiplistIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::error::ErrorKind;
    use crate::synth::blob::{CompactBuilder, ZiplistBuilder};

    fn collect(blob: &[u8]) -> Result<Vec<Element<'_>>> {
        Ziplist::new(blob, 0)?.iter().collect()
    }

    fn err(blob: &[u8], base: u64) -> Error {
        let e = match Ziplist::new(blob, base) {
            Ok(z) => z.validate().expect_err("should be rejected"),
            Err(e) => e,
        };
        // The iterator must agree with `validate` and stop after its error.
        if let Ok(z) = Ziplist::new(blob, base) {
            let mut it = z.iter();
            assert_eq!(it.by_ref().find_map(|r| r.err()).as_ref(), Some(&e));
            assert!(it.next().is_none());
        }
        e
    }

    fn sample() -> Vec<u8> {
        ZiplistBuilder::new()
            .string_with_header(b"hello", 1)
            .int_as(0xF3, 2)
            .int_as(0xC0, -300)
            .string_with_header(b"", 1)
            .finish()
    }

    #[test]
    fn every_encoding_round_trips() {
        let long14 = vec![b'x'; 300];
        let long32 = vec![b'y'; 20_000];
        let mut zl = ZiplistBuilder::new();
        for (s, header) in [
            (&b"abc"[..], 1),
            (b"", 1),
            (&long14, 2),
            (b"short-in-14", 2),
            (&long32, 5),
            (b"short-in-32", 5),
        ] {
            zl.string_with_header(s, header);
        }
        for (enc, v) in [
            (0xC0, i64::from(i16::MIN)),
            (0xC0, 12345),
            (0xD0, i64::from(i32::MIN)),
            (0xD0, 70000),
            (0xE0, i64::MIN),
            (0xE0, i64::MAX),
            (0xF0, -(1 << 23)),
            (0xF0, (1 << 23) - 1),
            (0xF0, -2),
            (0xFE, -128),
            (0xFE, 127),
            (0xF1, 0),
            (0xFD, 12),
            (0xF7, 6),
        ] {
            zl.int_as(enc, v);
        }
        let blob = zl.finish();
        let expected = vec![
            Element::Bytes(b"abc"),
            Element::Bytes(b""),
            Element::Bytes(&long14),
            Element::Bytes(b"short-in-14"),
            Element::Bytes(&long32),
            Element::Bytes(b"short-in-32"),
            Element::Int(-32768),
            Element::Int(12345),
            Element::Int(-2147483648),
            Element::Int(70000),
            Element::Int(i64::MIN),
            Element::Int(i64::MAX),
            Element::Int(-8388608),
            Element::Int(8388607),
            Element::Int(-2),
            Element::Int(-128),
            Element::Int(127),
            Element::Int(0),
            Element::Int(12),
            Element::Int(6),
        ];
        assert_eq!(collect(&blob).unwrap(), expected);
        let z = Ziplist::new(&blob, 0).unwrap();
        assert_eq!(z.validate().unwrap(), expected.len() as u64);
        assert_eq!(z.header_count(), Some(expected.len() as u16));
        assert_eq!(z.blob_len(), blob.len());
    }

    #[test]
    fn prevlen_large_form_including_small_values() {
        // Entry 1 follows a 20003-byte entry, so it needs the 5-byte form; entry 2 uses it for
        // a small value, as a cascade update leaves it.
        let big = vec![b'z'; 20_000];
        let blob = ZiplistBuilder::new()
            .string_with_header(&big, 5)
            .int_as(0xF2, 1)
            .entry_with_large_prevlen(&[1, b'v'])
            .finish();
        assert_eq!(blob[HEADER_LEN + 1 + 5 + 20_000], 0xFE);
        let got = collect(&blob).unwrap();
        assert_eq!(
            got,
            vec![Element::Bytes(&big), Element::Int(1), Element::Bytes(b"v")]
        );
        // Even the first entry may carry a large-form zero.
        let blob = ZiplistBuilder::new()
            .entry_with_large_prevlen(&[1, b'a'])
            .finish();
        assert_eq!(collect(&blob).unwrap(), vec![Element::Bytes(b"a")]);
    }

    #[test]
    fn empty_and_saturated_counts() {
        let empty = ZiplistBuilder::new().finish();
        assert_eq!(empty.len(), 11);
        assert_eq!(Ziplist::new(&empty, 0).unwrap().validate().unwrap(), 0);

        let mut blob = sample();
        blob[8..10].copy_from_slice(&65535u16.to_le_bytes());
        let z = Ziplist::new(&blob, 0).unwrap();
        assert_eq!(z.header_count(), None);
        assert_eq!(z.validate().unwrap(), 4);
    }

    #[test]
    fn header_corruption() {
        let blob = sample();

        let mut bad = blob.clone();
        bad[0] ^= 1;
        let e = err(&bad, 1000);
        assert_eq!(e.offset, 1000);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("zlbytes")));

        let mut bad = blob.clone();
        *bad.last_mut().unwrap() = 0xFE;
        assert_eq!(err(&bad, 1000).offset, 1000 + blob.len() as u64 - 1);

        let mut bad = blob.clone();
        bad[4..8].copy_from_slice(&(blob.len() as u32).to_le_bytes());
        assert_eq!(err(&bad, 1000).offset, 1004);

        assert!(Ziplist::new(&blob[..10], 0).is_err());
        assert!(Ziplist::new(&[], 0).is_err());
    }

    #[test]
    fn entry_corruption() {
        let blob = sample();
        // Entries: "hello" at 10 (7 bytes), imm 2 at 17 (2), int16 at 19 (4), "" at 23 (2).

        let mut bad = blob.clone();
        bad[19 + 1] = 0xC5;
        let e = err(&bad, 500);
        assert_eq!(e.offset, 500 + 20);
        assert_eq!(
            e.kind,
            ErrorKind::Corrupt("invalid ziplist entry encoding 0xc5".into())
        );

        let mut bad = blob.clone();
        bad[17] = 6;
        let e = err(&bad, 500);
        assert_eq!(e.offset, 517);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("prevlen 6")));

        // A string length running into the end marker.
        let mut bad = blob.clone();
        bad[11] = 20;
        assert!(matches!(err(&bad, 0).kind, ErrorKind::Truncated { .. }));

        // zltail at an entry that is not the last.
        let mut bad = blob.clone();
        bad[4..8].copy_from_slice(&19u32.to_le_bytes());
        assert_eq!(err(&bad, 500).offset, 504);

        let mut bad = blob.clone();
        bad[8] = 5;
        let e = err(&bad, 500);
        assert_eq!(e.offset, 508);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("zllen 5")));

        // An early end marker with bytes after it: walk must end exactly at the blob's end.
        let mut bad = ZiplistBuilder::new()
            .string_with_header(b"a", 1)
            .string_with_header(b"b", 1)
            .finish();
        bad[13] = END;
        assert_eq!(err(&bad, 0).offset, 13);
    }

    #[test]
    fn truncated_blob_with_patched_header() {
        // Cut inside the last entry but fix zlbytes and the end marker, so only the entry walk
        // can notice.
        let blob = ZiplistBuilder::new()
            .string_with_header(b"hello", 1)
            .int_as(0xE0, 7)
            .finish();
        let mut cut = blob[..blob.len() - 4].to_vec();
        let n = cut.len() as u32;
        cut[0..4].copy_from_slice(&n.to_le_bytes());
        *cut.last_mut().unwrap() = END;
        let e = err(&cut, 0);
        assert!(
            matches!(e.kind, ErrorKind::Truncated { needed: 8, .. }),
            "{e:?}"
        );
        assert_eq!(e.offset, 19);
    }

    #[test]
    fn hostile_input_never_panics() {
        let blob = ZiplistBuilder::new()
            .string_with_header(b"abc", 1)
            .string_with_header(b"def", 2)
            .string_with_header(b"ghi", 5)
            .int_as(0xC0, -5)
            .int_as(0xD0, 9)
            .int_as(0xE0, -9)
            .int_as(0xF0, 77)
            .int_as(0xFE, 3)
            .int_as(0xF4, 3)
            .finish();
        let walk = |b: &[u8]| {
            if let Ok(z) = Ziplist::new(b, 0) {
                z.iter().for_each(drop);
                let _ = z.validate();
            }
        };
        for len in 0..=blob.len() {
            walk(&blob[..len]);
        }
        let mut m = blob.clone();
        for i in 0..blob.len() {
            for v in 0..=255u8 {
                m[i] = v;
                walk(&m);
            }
            m[i] = blob[i];
        }
    }
}
