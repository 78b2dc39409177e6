//! Listpack blobs (rdb-format.md §5.2): RDB types 16, 17, 20, 25, quicklist v2 packed nodes
//! and stream nodes.
//!
//! `Listpack::new` checks only the header; walking (`iter`, `validate`) applies the rules of
//! Redis' `lpValidateIntegrity`/`lpValidateNext`, so anything Redis would refuse to load is an
//! error here too.

use std::iter::FusedIterator;

use super::cursor::Cursor;
use super::error::{Error, Result};
use super::primitives::{Element, check_blob_frame};

/// total_bytes + num_elements.
pub const HEADER_LEN: usize = 6;
const END: u8 = 0xFF;
/// num_elements value meaning "too many to count, walk the entries".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// A listpack whose header has been checked; entries are checked as they are walked.
#[derive(Debug, Clone, Copy)]
pub struct Listpack<'a> {
    blob: &'a [u8],
    base: u64,
    num_elements: u16,
}

impl<'a> Listpack<'a> {
    /// Checks the header: at least 7 bytes, total_bytes equal to the blob length and a final
    /// 0xFF. `base` is the file offset of `blob[0]`.
    pub fn new(blob: &'a [u8], base: u64) -> Result<Listpack<'a>> {
        let mut c = check_blob_frame(blob, base, "listpack", "total_bytes", HEADER_LEN + 1)?;
        let num_elements = c.u16_le("listpack num_elements")?;
        Ok(Listpack {
            blob,
            base,
            num_elements,
        })
    }

    /// The element count from the header, or `None` when it saturated at 65535 and only a
    /// walk can tell.
    pub fn header_count(&self) -> Option<u16> {
        (self.num_elements != COUNT_UNKNOWN).then_some(self.num_elements)
    }

    pub fn blob_len(&self) -> usize {
        self.blob.len()
    }

    /// [`Listpack::header_count`] from the first [`HEADER_LEN`] bytes of a listpack of
    /// `blob_len` bytes, when `total_bytes` agrees with that length: a compressed listpack's count
    /// without decompressing it. Nothing past the header is checked.
    pub fn count_in_header(header: &[u8; HEADER_LEN], blob_len: usize) -> Option<u16> {
        let [b0, b1, b2, b3, c0, c1] = *header;
        let count = u16::from_le_bytes([c0, c1]);
        (u32::from_le_bytes([b0, b1, b2, b3]) as usize == blob_len && count != COUNT_UNKNOWN)
            .then_some(count)
    }

    /// The first `N` elements, all integers, of a listpack of `blob_len` bytes from `prefix`,
    /// its first bytes only (`total_bytes` must agree with `blob_len`): a stream node's
    /// master counts without decompressing the node. The elements read are checked as a walk
    /// checks them; nothing after them is.
    pub fn leading_ints<const N: usize>(prefix: &[u8], blob_len: usize) -> Option<[i64; N]> {
        let header = prefix.first_chunk::<HEADER_LEN>()?;
        let [b0, b1, b2, b3, ..] = *header;
        if u32::from_le_bytes([b0, b1, b2, b3]) as usize != blob_len {
            return None;
        }
        let mut items = ListpackIter::after_header(prefix, 0, COUNT_UNKNOWN);
        let mut ints = [0; N];
        for int in &mut ints {
            *int = items.entry().ok()?.as_int()?;
        }
        Some(ints)
    }

    /// Elements in order. Each is checked as it is read; after the last one the element count
    /// is checked and a mismatch is yielded as a final `Err`. After any `Err` the iterator is
    /// exhausted.
    pub fn iter(&self) -> ListpackIter<'a> {
        // The cursor stops short of the end marker, so an entry running into or past it fails
        // as truncated, like Redis' OUT_OF_RANGE bound.
        let entries = &self.blob[..self.blob.len() - 1];
        ListpackIter::after_header(entries, self.base, self.num_elements)
    }

    /// Walks every element with full validation and returns the element count.
    pub fn validate(&self) -> Result<u64> {
        self.iter().try_fold(0, |n, entry| entry.map(|_| n + 1))
    }
}

/// Iterator over a listpack's elements; see [`Listpack::iter`].
#[derive(Debug, Clone)]
pub struct ListpackIter<'a> {
    cursor: Cursor<'a>,
    base: u64,
    num_elements: u16,
    count: u64,
    done: bool,
}

impl<'a> ListpackIter<'a> {
    /// An iterator over the entries of `bytes` (a listpack, or the start of one, whose
    /// header `new` or the caller checked), `base` the file offset of its first byte.
    fn after_header(bytes: &'a [u8], base: u64, num_elements: u16) -> ListpackIter<'a> {
        let mut cursor = Cursor::new(bytes, base);
        cursor
            .skip(HEADER_LEN as u64, "listpack header")
            .expect("the header was checked");
        ListpackIter {
            cursor,
            base,
            num_elements,
            count: 0,
            done: false,
        }
    }

    /// The common entries (a 7-bit integer, a string under 64 bytes, a 13-bit integer) with
    /// their one-byte backlen, decoded in one step when they are well-formed; anything else,
    /// including every malformed entry, is left to `entry`.
    #[inline]
    fn small_entry(&mut self) -> Option<Element<'a>> {
        let rest = self.cursor.rest();
        let &enc = rest.first()?;
        let (size, element) = match enc {
            0x00..=0x7F => (1, Element::Int(i64::from(enc))),
            0x80..=0xBF => {
                let size = 1 + usize::from(enc & 0x3F);
                (size, Element::Bytes(rest.get(1..size)?))
            }
            0xC0..=0xDF => {
                let raw = (u16::from(enc & 0x1F) << 8) | u16::from(*rest.get(1)?);
                (2, Element::Int(i64::from(((raw << 3) as i16) >> 3)))
            }
            _ => return None,
        };
        // Sizes under 128 have a one-byte backlen equal to the size.
        if usize::from(*rest.get(size)?) != size {
            return None;
        }
        self.cursor.skip(size as u64 + 1, "listpack entry").ok()?;
        self.count += 1;
        Some(element)
    }

    fn entry(&mut self) -> Result<Element<'a>> {
        if let Some(element) = self.small_entry() {
            return Ok(element);
        }
        let c = &mut self.cursor;
        let start = c.pos();
        let entry_offset = c.offset();
        let enc = c.u8("listpack entry encoding")?;
        let element = match enc {
            0x00..=0x7F => Element::Int(i64::from(enc)),
            0x80..=0xBF => Element::Bytes(c.bytes(u64::from(enc & 0x3F), "listpack string")?),
            0xC0..=0xDF => {
                let low = c.u8("listpack int13")?;
                let raw = (u16::from(enc & 0x1F) << 8) | u16::from(low);
                // Move bit 12 to the sign bit and shift back to sign-extend.
                Element::Int(i64::from(((raw << 3) as i16) >> 3))
            }
            0xE0..=0xEF => {
                let low = c.u8("listpack string length")?;
                let len = (u64::from(enc & 0x0F) << 8) | u64::from(low);
                Element::Bytes(c.bytes(len, "listpack string")?)
            }
            0xF0 => {
                let len = c.u32_le("listpack string length")?;
                Element::Bytes(c.bytes(u64::from(len), "listpack string")?)
            }
            0xF1 => Element::Int(i64::from(c.u16_le("listpack int16")? as i16)),
            0xF2 => {
                // Load into the top three bytes so the arithmetic shift sign-extends.
                let [a, b, d] = c.array::<3>("listpack int24")?;
                Element::Int(i64::from(i32::from_le_bytes([0, a, b, d]) >> 8))
            }
            0xF3 => Element::Int(i64::from(c.u32_le("listpack int32")? as i32)),
            0xF4 => Element::Int(c.i64_le("listpack int64")?),
            END => {
                return Err(Error::corrupt(
                    entry_offset,
                    "listpack end marker 0xff before the end of the blob",
                ));
            }
            _ => {
                return Err(Error::corrupt(
                    entry_offset,
                    format!("invalid listpack entry encoding 0x{enc:02x}"),
                ));
            }
        };
        let size = (c.pos() - start) as u64;
        let backlen_offset = c.offset();
        // Like `lpValidateNext`: the backlen width follows from the entry size, and the bytes
        // there, read right to left as a backward walk would, must give that size back.
        c.skip(backlen_width(size), "listpack backlen")?;
        let decoded = decode_backlen(c.since(0));
        if decoded != Some(size) {
            let shown = decoded.map_or("more than 5 bytes".to_string(), |v| v.to_string());
            return Err(Error::corrupt(
                backlen_offset,
                format!("listpack backlen is {shown} but the entry is {size} bytes"),
            ));
        }
        self.count += 1;
        Ok(element)
    }

    /// The check Redis makes once the walk reaches the end marker.
    fn finish(&self) -> Result<()> {
        if self.num_elements != COUNT_UNKNOWN && u64::from(self.num_elements) != self.count {
            return Err(Error::corrupt(
                self.base + 4,
                format!(
                    "listpack num_elements {} but it holds {} elements",
                    self.num_elements, self.count
                ),
            ));
        }
        Ok(())
    }
}

impl<'a> Iterator for ListpackIter<'a> {
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

impl FusedIterator for ListpackIter<'_> {}

/// Bytes of backlen Redis writes for an entry of `size` encoding+data bytes (`lpEncodeBacklen`;
/// note the strict `<` from 16383 on).
pub fn backlen_width(size: u64) -> u64 {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Decodes the backlen that ends `before` (`lpDecodeBacklen`): 7 bits per byte, least
/// significant byte last, bit 7 set on every byte but the most significant. `None` when no
/// terminating byte is found within 5 bytes.
fn decode_backlen(before: &[u8]) -> Option<u64> {
    let mut value = 0;
    for (i, &b) in before.iter().rev().take(5).enumerate() {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::error::ErrorKind;
    use crate::synth::blob::{CompactBuilder, ListpackBuilder};

    fn collect(blob: &[u8]) -> Result<Vec<Element<'_>>> {
        Listpack::new(blob, 0)?.iter().collect()
    }

    fn err(blob: &[u8], base: u64) -> Error {
        let e = match Listpack::new(blob, base) {
            Ok(lp) => lp.validate().expect_err("should be rejected"),
            Err(e) => e,
        };
        // The iterator must agree with `validate` and stop after its error.
        if let Ok(lp) = Listpack::new(blob, base) {
            let mut it = lp.iter();
            assert_eq!(it.by_ref().find_map(|r| r.err()).as_ref(), Some(&e));
            assert!(it.next().is_none());
        }
        e
    }

    fn sample() -> Vec<u8> {
        ListpackBuilder::new()
            .string_with_header(b"hello", 1)
            .int_as(0x00, 7)
            .int_as(0xF1, -300)
            .string_with_header(b"", 1)
            .finish()
    }

    #[test]
    fn every_encoding_round_trips() {
        let s63 = vec![b'a'; 63];
        let s4095 = vec![b'b'; 4095];
        let s4096 = vec![b'c'; 4096];
        let mut lp = ListpackBuilder::new();
        for (enc, v) in [
            (0x00, 0),
            (0x00, 127),
            (0xC0, -4096),
            (0xC0, 4095),
            (0xC0, -1),
            (0xC0, 128),
            (0xF1, i64::from(i16::MIN)),
            (0xF1, i64::from(i16::MAX)),
            (0xF2, -(1 << 23)),
            (0xF2, (1 << 23) - 1),
            (0xF2, -2),
            (0xF3, i64::from(i32::MIN)),
            (0xF3, i64::from(i32::MAX)),
            (0xF4, i64::MIN),
            (0xF4, i64::MAX),
            (0xF4, -1),
        ] {
            lp.int_as(enc, v);
        }
        for (s, header) in [
            (&b""[..], 1),
            (&s63, 1),
            (b"ab", 2),
            (&s4095, 2),
            (b"cd", 5),
            (&s4096, 5),
        ] {
            lp.string_with_header(s, header);
        }
        let blob = lp.finish();
        let expected = vec![
            Element::Int(0),
            Element::Int(127),
            Element::Int(-4096),
            Element::Int(4095),
            Element::Int(-1),
            Element::Int(128),
            Element::Int(-32768),
            Element::Int(32767),
            Element::Int(-8388608),
            Element::Int(8388607),
            Element::Int(-2),
            Element::Int(-2147483648),
            Element::Int(2147483647),
            Element::Int(i64::MIN),
            Element::Int(i64::MAX),
            Element::Int(-1),
            Element::Bytes(b""),
            Element::Bytes(&s63),
            Element::Bytes(b"ab"),
            Element::Bytes(&s4095),
            Element::Bytes(b"cd"),
            Element::Bytes(&s4096),
        ];
        assert_eq!(collect(&blob).unwrap(), expected);
        let lp = Listpack::new(&blob, 0).unwrap();
        assert_eq!(lp.validate().unwrap(), expected.len() as u64);
        assert_eq!(lp.header_count(), Some(expected.len() as u16));
        assert_eq!(lp.blob_len(), blob.len());
    }

    #[test]
    fn backlen_widths_follow_redis_thresholds() {
        for (size, width) in [
            (1, 1),
            (127, 1),
            (128, 2),
            (16382, 2),
            (16383, 3),
            (2097150, 3),
            (2097151, 4),
            (268435454, 4),
            (268435455, 5),
            (u64::from(u32::MAX) + 5, 5),
        ] {
            assert_eq!(backlen_width(size), width, "size {size}");
        }
        // Entry sizes 127/128 (12-bit strings), 16382/16383 at the 2-to-3 boundary, and a
        // 16383-byte string (entry size 16388) all round-trip with the widths Redis writes.
        for len in [125usize, 126, 16377, 16378, 16383] {
            let s = vec![b'q'; len];
            let header = if len < 4096 { 2 } else { 5 };
            let alone = ListpackBuilder::new()
                .string_with_header(&s, header)
                .finish();
            let size = header + len;
            let entry_len = alone.len() - HEADER_LEN - 1;
            assert_eq!(entry_len - size, backlen_width(size as u64) as usize);
            let blob = ListpackBuilder::new()
                .string_with_header(&s, header)
                .int_as(0x00, 1)
                .finish();
            assert_eq!(
                collect(&blob).unwrap(),
                vec![Element::Bytes(&s), Element::Int(1)]
            );
        }
    }

    #[test]
    fn non_redis_backlen_width_is_rejected() {
        // Size 16383 fits a 2-byte backlen, but Redis writes (and expects) 3 bytes.
        let s = vec![b'q'; 16378];
        let mut entry = vec![0xF0];
        entry.extend_from_slice(&16378u32.to_le_bytes());
        entry.extend_from_slice(&s);
        entry.extend_from_slice(&[0x7F, 0xFF]);
        let blob = ListpackBuilder::new().verbatim(&entry).finish();
        assert!(collect(&blob).is_err());

        // A 2-byte backlen of 5 where 1 byte is due.
        let blob = ListpackBuilder::new()
            .verbatim(&[0xF3, 1, 0, 0, 0, 0x00, 0x85])
            .finish();
        let e = err(&blob, 0);
        assert_eq!(e.offset, 6 + 5);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("backlen is 0")));
    }

    #[test]
    fn backlen_is_read_right_to_left_like_redis() {
        // Redis decodes from the last byte leftwards, so a continuation bit on a 1-byte backlen
        // followed (leftwards) by a zero byte still decodes to the right size. Redis loads this.
        let blob = ListpackBuilder::new().verbatim(&[0x00, 0x81]).finish();
        assert_eq!(collect(&blob).unwrap(), vec![Element::Int(0)]);
        assert_eq!(decode_backlen(&[0x80, 0x80, 0x80, 0x80, 0x80]), None);
        assert_eq!(decode_backlen(&[0x01, 0x80, 0x85]), Some(5 + (1 << 14)));
    }

    #[test]
    fn empty_and_saturated_counts() {
        let empty = ListpackBuilder::new().finish();
        assert_eq!(empty.len(), 7);
        assert_eq!(Listpack::new(&empty, 0).unwrap().validate().unwrap(), 0);

        let mut blob = sample();
        blob[4..6].copy_from_slice(&65535u16.to_le_bytes());
        let lp = Listpack::new(&blob, 0).unwrap();
        assert_eq!(lp.header_count(), None);
        assert_eq!(lp.validate().unwrap(), 4);
    }

    #[test]
    fn corruption_is_reported_where_it_is() {
        let blob = sample();
        // Entries: "hello" at 6 (7 bytes), 7 at 13 (2), int16 at 15 (4), "" at 19 (2), end 21.

        let mut bad = blob.clone();
        bad[1] = 1;
        let e = err(&bad, 100);
        assert_eq!(e.offset, 100);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("total_bytes")));

        let mut bad = blob.clone();
        bad[21] = 0;
        assert_eq!(err(&bad, 100).offset, 121);

        let mut bad = blob.clone();
        bad[15] = 0xF5;
        let e = err(&bad, 100);
        assert_eq!(e.offset, 115);
        assert_eq!(
            e.kind,
            ErrorKind::Corrupt("invalid listpack entry encoding 0xf5".into())
        );

        let mut bad = blob.clone();
        bad[12] = 5;
        let e = err(&bad, 100);
        assert_eq!(e.offset, 112);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("backlen is 5")));

        let mut bad = blob.clone();
        bad[4] = 3;
        let e = err(&bad, 100);
        assert_eq!(e.offset, 104);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("num_elements 3")));

        // A string running into the end marker.
        let mut bad = blob.clone();
        bad[6] = 0x80 | 20;
        assert!(matches!(err(&bad, 0).kind, ErrorKind::Truncated { .. }));

        // An early end marker: the walk must end exactly at the blob's end.
        let mut bad = blob.clone();
        bad[19] = END;
        assert_eq!(err(&bad, 0).offset, 19);

        assert!(Listpack::new(&blob[..6], 0).is_err());
    }

    #[test]
    fn truncated_blob_with_patched_header() {
        // Cut inside the last entry but fix total_bytes and the end marker.
        let blob = ListpackBuilder::new()
            .string_with_header(b"hello", 1)
            .int_as(0xF4, 7)
            .finish();
        let mut cut = blob[..blob.len() - 5].to_vec();
        let n = cut.len() as u32;
        cut[0..4].copy_from_slice(&n.to_le_bytes());
        *cut.last_mut().unwrap() = END;
        let e = err(&cut, 0);
        assert!(
            matches!(e.kind, ErrorKind::Truncated { needed: 8, .. }),
            "{e:?}"
        );
        assert_eq!(e.offset, 14);
    }

    #[test]
    fn hostile_input_never_panics() {
        let blob = ListpackBuilder::new()
            .int_as(0x00, 5)
            .int_as(0xC0, -5)
            .int_as(0xF1, 300)
            .int_as(0xF2, -70000)
            .int_as(0xF3, 1 << 30)
            .int_as(0xF4, -1)
            .string_with_header(b"abc", 1)
            .string_with_header(b"def", 2)
            .string_with_header(b"ghi", 5)
            .finish();
        let walk = |b: &[u8]| {
            if let Ok(lp) = Listpack::new(b, 0) {
                lp.iter().for_each(drop);
                let _ = lp.validate();
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
