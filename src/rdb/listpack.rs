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
const HEADER_LEN: usize = 6;
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

    /// Elements in order. Each is checked as it is read; after the last one the element count
    /// is checked and a mismatch is yielded as a final `Err`. After any `Err` the iterator is
    /// exhausted.
    pub fn iter(&self) -> ListpackIter<'a> {
        // The cursor stops short of the end marker, so an entry running into or past it fails
        // as truncated, like Redis' OUT_OF_RANGE bound.
        let mut cursor = Cursor::new(&self.blob[..self.blob.len() - 1], self.base);
        cursor
            .skip(HEADER_LEN as u64, "listpack header")
            .expect("length checked by new");
        ListpackIter {
            cursor,
            base: self.base,
            num_elements: self.num_elements,
            count: 0,
            done: false,
        }
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
    fn entry(&mut self) -> Result<Element<'a>> {
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
fn backlen_width(size: u64) -> u64 {
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
pub(crate) mod tests {
    use super::*;
    use crate::rdb::error::ErrorKind;

    /// The backlen Redis writes after an entry of `size` bytes.
    fn backlen(size: usize) -> Vec<u8> {
        let width = backlen_width(size as u64) as usize;
        // Most significant 7-bit group first; all but that first byte carry bit 7.
        (0..width)
            .rev()
            .enumerate()
            .map(|(i, group)| {
                let bits = ((size >> (7 * group)) & 0x7F) as u8;
                if i == 0 { bits } else { bits | 0x80 }
            })
            .collect()
    }

    /// A complete entry: encoding + data, then the matching backlen.
    pub(crate) fn lp_entry(mut encoded: Vec<u8>) -> Vec<u8> {
        let tail = backlen(encoded.len());
        encoded.extend_from_slice(&tail);
        encoded
    }

    /// A string entry with a 1-, 2- or 5-byte header.
    pub(crate) fn lp_str(s: &[u8], header: usize) -> Vec<u8> {
        let n = s.len();
        let mut out = match header {
            1 => vec![0x80 | n as u8],
            2 => vec![0xE0 | (n >> 8) as u8, n as u8],
            _ => {
                let mut v = vec![0xF0];
                v.extend_from_slice(&(n as u32).to_le_bytes());
                v
            }
        };
        out.extend_from_slice(s);
        lp_entry(out)
    }

    /// An integer entry: `enc` 0x00 is the 7-bit uint, 0xC0 the int13, 0xF1..=0xF4 the wider
    /// forms.
    pub(crate) fn lp_int(enc: u8, v: i64) -> Vec<u8> {
        let le = v.to_le_bytes();
        let encoded = match enc {
            0x00 => vec![v as u8],
            0xC0 => {
                let u = (v as u16) & 0x1FFF;
                vec![0xC0 | (u >> 8) as u8, u as u8]
            }
            _ => {
                let width = match enc {
                    0xF1 => 2,
                    0xF2 => 3,
                    0xF3 => 4,
                    _ => 8,
                };
                let mut out = vec![enc];
                out.extend_from_slice(&le[..width]);
                out
            }
        };
        lp_entry(encoded)
    }

    /// A whole listpack from complete entries.
    pub(crate) fn listpack(entries: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = entries.concat();
        let total = HEADER_LEN + body.len() + 1;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len().min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(END);
        out
    }

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
        listpack(&[
            lp_str(b"hello", 1),
            lp_int(0x00, 7),
            lp_int(0xF1, -300),
            lp_str(b"", 1),
        ])
    }

    #[test]
    fn every_encoding_round_trips() {
        let s63 = vec![b'a'; 63];
        let s4095 = vec![b'b'; 4095];
        let s4096 = vec![b'c'; 4096];
        let entries = vec![
            lp_int(0x00, 0),
            lp_int(0x00, 127),
            lp_int(0xC0, -4096),
            lp_int(0xC0, 4095),
            lp_int(0xC0, -1),
            lp_int(0xC0, 128),
            lp_int(0xF1, i64::from(i16::MIN)),
            lp_int(0xF1, i64::from(i16::MAX)),
            lp_int(0xF2, -(1 << 23)),
            lp_int(0xF2, (1 << 23) - 1),
            lp_int(0xF2, -2),
            lp_int(0xF3, i64::from(i32::MIN)),
            lp_int(0xF3, i64::from(i32::MAX)),
            lp_int(0xF4, i64::MIN),
            lp_int(0xF4, i64::MAX),
            lp_int(0xF4, -1),
            lp_str(b"", 1),
            lp_str(&s63, 1),
            lp_str(b"ab", 2),
            lp_str(&s4095, 2),
            lp_str(b"cd", 5),
            lp_str(&s4096, 5),
        ];
        let blob = listpack(&entries);
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
            let entry = lp_str(&s, header);
            let size = header + len;
            assert_eq!(entry.len() - size, backlen_width(size as u64) as usize);
            let blob = listpack(&[entry, lp_int(0x00, 1)]);
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
        let blob = listpack(&[entry]);
        assert!(collect(&blob).is_err());

        // A 2-byte backlen of 5 where 1 byte is due.
        let blob = listpack(&[vec![0xF3, 1, 0, 0, 0, 0x00, 0x85]]);
        let e = err(&blob, 0);
        assert_eq!(e.offset, 6 + 5);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("backlen is 0")));
    }

    #[test]
    fn backlen_is_read_right_to_left_like_redis() {
        // Redis decodes from the last byte leftwards, so a continuation bit on a 1-byte backlen
        // followed (leftwards) by a zero byte still decodes to the right size. Redis loads this.
        let blob = listpack(&[vec![0x00, 0x81]]);
        assert_eq!(collect(&blob).unwrap(), vec![Element::Int(0)]);
        assert_eq!(decode_backlen(&[0x80, 0x80, 0x80, 0x80, 0x80]), None);
        assert_eq!(decode_backlen(&[0x01, 0x80, 0x85]), Some(5 + (1 << 14)));
    }

    #[test]
    fn empty_and_saturated_counts() {
        let empty = listpack(&[]);
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
        let blob = listpack(&[lp_str(b"hello", 1), lp_int(0xF4, 7)]);
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
        let blob = listpack(&[
            lp_int(0x00, 5),
            lp_int(0xC0, -5),
            lp_int(0xF1, 300),
            lp_int(0xF2, -70000),
            lp_int(0xF3, 1 << 30),
            lp_int(0xF4, -1),
            lp_str(b"abc", 1),
            lp_str(b"def", 2),
            lp_str(b"ghi", 5),
        ]);
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
