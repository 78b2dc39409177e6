//! Zipmap blobs (rdb-format.md §5.4): RDB type 9, the small-hash encoding of Redis ≤ 2.4.
//!
//! Redis converts zipmaps on load and always validates them (`zipmapValidateIntegrity`); the
//! walk here applies the same rules and additionally requires the end marker to be the last
//! byte of the blob, which every zipmap Redis wrote satisfies.

use std::iter::FusedIterator;

use super::cursor::Cursor;
use super::error::{Error, Result};

const END: u8 = 0xFF;
/// A length byte announcing a 4-byte length; as the count byte, "count unknown, walk".
const BIGLEN: u8 = 254;

/// A zipmap whose framing (count byte, final 0xFF) has been checked.
#[derive(Debug, Clone, Copy)]
pub struct Zipmap<'a> {
    blob: &'a [u8],
    base: u64,
}

impl<'a> Zipmap<'a> {
    /// Checks the blob holds a count byte and ends in 0xFF. `base` is the file offset of
    /// `blob[0]`.
    pub fn new(blob: &'a [u8], base: u64) -> Result<Zipmap<'a>> {
        match blob {
            [_, .., last] if *last == END => Ok(Zipmap { blob, base }),
            [_, .., last] => Err(Error::corrupt(
                base + blob.len() as u64 - 1,
                format!("zipmap ends in 0x{last:02x}, not the 0xff end marker"),
            )),
            _ => Err(Error::corrupt(
                base,
                format!(
                    "zipmap of {} bytes is shorter than its 2-byte minimum",
                    blob.len()
                ),
            )),
        }
    }

    /// The pair count from the header, or `None` when it is 254 ("too many, walk").
    pub fn header_count(&self) -> Option<u8> {
        let count = self.blob[0];
        (count != BIGLEN).then_some(count)
    }

    /// `(field, value)` pairs in order. Each is checked as it is read; after the last one the
    /// count is checked (non-zero, equal to the header unless 254) and a failure is yielded as
    /// a final `Err`. After any `Err` the iterator is exhausted.
    pub fn iter(&self) -> ZipmapIter<'a> {
        // The cursor stops short of the end marker, so a pair running into or past it fails as
        // truncated; it starts after the count byte.
        let mut cursor = Cursor::new(&self.blob[..self.blob.len() - 1], self.base);
        cursor
            .skip(1, "zipmap count")
            .expect("length checked by new");
        ZipmapIter {
            cursor,
            base: self.base,
            header: self.blob[0],
            count: 0,
            done: false,
        }
    }

    /// Walks every pair with full validation and returns the pair count.
    pub fn validate(&self) -> Result<u64> {
        self.iter().try_fold(0, |n, pair| pair.map(|_| n + 1))
    }
}

/// Iterator over a zipmap's pairs; see [`Zipmap::iter`].
#[derive(Debug, Clone)]
pub struct ZipmapIter<'a> {
    cursor: Cursor<'a>,
    base: u64,
    header: u8,
    count: u64,
    done: bool,
}

impl<'a> ZipmapIter<'a> {
    /// A field or value length: one byte below 254, else a 4-byte little-endian length after
    /// the marker byte (`zipmapDecodeLength` treats 255 like 254 here).
    fn length(&mut self, what: &'static str) -> Result<u64> {
        let first = self.cursor.u8(what)?;
        if first < BIGLEN {
            Ok(u64::from(first))
        } else {
            Ok(u64::from(self.cursor.u32_le(what)?))
        }
    }

    fn pair(&mut self) -> Result<(&'a [u8], &'a [u8])> {
        if self.cursor.peek() == Some(END) {
            return Err(self
                .cursor
                .corrupt("zipmap end marker 0xff before the end of the blob"));
        }
        let field_len = self.length("zipmap field length")?;
        let field = self.cursor.bytes(field_len, "zipmap field")?;
        let value_len = self.length("zipmap value length")?;
        // Spare bytes Redis left after the value to grow it in place; not part of the value.
        let free = self.cursor.u8("zipmap free byte count")?;
        let value = self.cursor.bytes(value_len, "zipmap value")?;
        self.cursor.skip(u64::from(free), "zipmap free space")?;
        self.count += 1;
        Ok((field, value))
    }

    /// The checks Redis makes once the walk reaches the end marker.
    fn finish(&self) -> Result<()> {
        if self.count == 0 {
            return Err(Error::corrupt(self.base, "empty zipmap"));
        }
        if self.header != BIGLEN && u64::from(self.header) != self.count {
            return Err(Error::corrupt(
                self.base,
                format!(
                    "zipmap count {} but it holds {} pairs",
                    self.header, self.count
                ),
            ));
        }
        Ok(())
    }
}

impl<'a> Iterator for ZipmapIter<'a> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.cursor.is_empty() {
            self.done = true;
            return self.finish().err().map(Err);
        }
        let result = self.pair();
        self.done = result.is_err();
        Some(result)
    }
}

impl FusedIterator for ZipmapIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::error::ErrorKind;
    use crate::synth::blob::ZipmapBuilder;

    /// A zipmap blob; each pair is (field, value, free bytes, use 5-byte lengths), and the count
    /// byte is `count` whatever the pairs.
    fn zipmap(count: u8, pairs: &[(&[u8], &[u8], u8, bool)]) -> Vec<u8> {
        let mut map = ZipmapBuilder::new();
        for &(field, value, free, big) in pairs {
            map.pair_with(field, value, free, big);
        }
        let mut blob = map.finish();
        blob[0] = count;
        blob
    }

    fn err(blob: &[u8], base: u64) -> Error {
        let e = match Zipmap::new(blob, base) {
            Ok(z) => z.validate().expect_err("should be rejected"),
            Err(e) => e,
        };
        // The iterator must agree with `validate` and stop after its error.
        if let Ok(z) = Zipmap::new(blob, base) {
            let mut it = z.iter();
            assert_eq!(it.by_ref().find_map(|r| r.err()).as_ref(), Some(&e));
            assert!(it.next().is_none());
        }
        e
    }

    #[test]
    fn pairs_round_trip() {
        let long = vec![b'v'; 300];
        let blob = zipmap(
            3,
            &[
                (b"name", b"redis", 0, false),
                (b"f", &long, 4, false),
                (b"", b"x", 1, true),
            ],
        );
        let z = Zipmap::new(&blob, 0).unwrap();
        assert_eq!(z.header_count(), Some(3));
        let pairs: Vec<_> = z.iter().collect::<Result<_>>().unwrap();
        assert_eq!(
            pairs,
            vec![
                (&b"name"[..], &b"redis"[..]),
                (b"f", &long[..]),
                (b"", b"x")
            ]
        );
        assert_eq!(z.validate().unwrap(), 3);

        let blob = zipmap(BIGLEN, &[(b"a", b"1", 0, false)]);
        let z = Zipmap::new(&blob, 0).unwrap();
        assert_eq!(z.header_count(), None);
        assert_eq!(z.validate().unwrap(), 1);
    }

    #[test]
    fn corruption_is_reported() {
        assert_eq!(err(&[], 10).offset, 10);
        assert_eq!(err(&[1, 2, 0xFE], 10).offset, 12);
        let e = err(&[0, END], 10);
        assert_eq!(e, Error::corrupt(10, "empty zipmap"));

        let blob = zipmap(2, &[(b"k", b"v", 0, false)]);
        let e = err(&blob, 10);
        assert_eq!(e.offset, 10);
        assert!(matches!(e.kind, ErrorKind::Corrupt(ref m) if m.contains("count 2")));

        // Field length 9 runs past the end marker.
        let mut bad = zipmap(1, &[(b"k", b"v", 0, false)]);
        bad[1] = 9;
        assert!(matches!(err(&bad, 0).kind, ErrorKind::Truncated { .. }));

        // Free space running past the end marker.
        let mut bad = zipmap(1, &[(b"k", b"v", 0, false)]);
        bad[4] = 3;
        assert!(matches!(err(&bad, 0).kind, ErrorKind::Truncated { .. }));

        // An early end marker with bytes after it.
        let mut blob = zipmap(1, &[(b"k", b"v", 0, false)]);
        blob.insert(1, END);
        assert_eq!(err(&blob, 0).offset, 1);
    }

    #[test]
    fn hostile_input_never_panics() {
        let blob = zipmap(2, &[(b"ab", b"cd", 2, false), (b"e", b"fgh", 0, true)]);
        let walk = |b: &[u8]| {
            if let Ok(z) = Zipmap::new(b, 0) {
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
