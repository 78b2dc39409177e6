//! Intset blobs (rdb-format.md §5.3): RDB type 11, sets of integers stored as one sorted array.
//!
//! The layout is fixed-width, so `Intset::new` can check the whole shape up front (Redis'
//! `intsetValidateIntegrity` without the deep part) and iteration cannot fail; `validate`
//! adds the ordering check.

use std::iter::FusedIterator;

use super::cursor::Cursor;
use super::error::{Error, Result};

/// encoding + length.
const HEADER_LEN: usize = 8;

/// An intset whose header and size have been checked.
#[derive(Debug, Clone, Copy)]
pub struct Intset<'a> {
    /// The members, without the header.
    members: &'a [u8],
    base: u64,
    encoding: u32,
}

impl<'a> Intset<'a> {
    /// Checks encoding ∈ {2, 4, 8}, a non-zero length and a blob of exactly
    /// 8 + length × encoding bytes. `base` is the file offset of `blob[0]`.
    pub fn new(blob: &'a [u8], base: u64) -> Result<Intset<'a>> {
        let mut c = Cursor::new(blob, base);
        let encoding = c.u32_le("intset encoding")?;
        if !matches!(encoding, 2 | 4 | 8) {
            return Err(Error::corrupt(
                base,
                format!("invalid intset encoding {encoding}"),
            ));
        }
        let len = c.u32_le("intset length")?;
        if len == 0 {
            return Err(Error::corrupt(base + 4, "empty intset"));
        }
        let expected = HEADER_LEN as u64 + u64::from(len) * u64::from(encoding);
        if expected != blob.len() as u64 {
            return Err(Error::corrupt(
                base + 4,
                format!(
                    "intset of {len} {encoding}-byte members needs {expected} bytes, blob is {}",
                    blob.len()
                ),
            ));
        }
        Ok(Intset {
            members: c.rest(),
            base: base + HEADER_LEN as u64,
            encoding,
        })
    }

    /// Number of members.
    pub fn len(&self) -> u64 {
        (self.members.len() / self.encoding as usize) as u64
    }

    /// Never true for a valid intset (`new` rejects empty ones); here for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Bytes per member: 2, 4 or 8.
    pub fn encoding(&self) -> u32 {
        self.encoding
    }

    /// Members in stored order (ascending once `validate` has passed).
    pub fn iter(&self) -> IntsetIter<'a> {
        IntsetIter {
            chunks: self.members.chunks_exact(self.encoding as usize),
        }
    }

    /// Checks that members are strictly ascending, as Redis' binary search requires.
    pub fn validate(&self) -> Result<()> {
        let mut prev = None;
        for (i, v) in self.iter().enumerate() {
            if prev.is_some_and(|p| p >= v) {
                return Err(Error::corrupt(
                    self.base + (i * self.encoding as usize) as u64,
                    format!("intset member {i} ({v}) is not above the previous one"),
                ));
            }
            prev = Some(v);
        }
        Ok(())
    }
}

/// Iterator over an intset's members; see [`Intset::iter`].
#[derive(Debug, Clone)]
pub struct IntsetIter<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for IntsetIter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        let chunk = self.chunks.next()?;
        // Place the member in the top bytes of a u64 so the arithmetic shift sign-extends any
        // of the three widths.
        let width = chunk.len();
        let mut buf = [0u8; 8];
        buf[8 - width..].copy_from_slice(chunk);
        Some(i64::from_le_bytes(buf) >> (64 - 8 * width))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for IntsetIter<'_> {}
impl FusedIterator for IntsetIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::blob::intset;

    #[test]
    fn every_width_round_trips() {
        for (enc, members) in [
            (2, vec![i64::from(i16::MIN), -1, 0, 1, i64::from(i16::MAX)]),
            (4, vec![i64::from(i32::MIN), -70000, 5, i64::from(i32::MAX)]),
            (8, vec![i64::MIN, -1, i64::MAX]),
        ] {
            let blob = intset(enc, &members);
            let set = Intset::new(&blob, 0).unwrap();
            assert_eq!(set.encoding(), enc);
            assert_eq!(set.len(), members.len() as u64);
            assert!(!set.is_empty());
            assert_eq!(set.iter().len(), members.len());
            assert_eq!(set.iter().collect::<Vec<_>>(), members);
            set.validate().unwrap();
        }
    }

    #[test]
    fn bad_shapes_are_rejected() {
        let e = Intset::new(&intset(3, &[1]), 50).unwrap_err();
        assert_eq!(e.offset, 50);
        assert!(Intset::new(&intset(2, &[]), 0).is_err());
        let mut long = intset(2, &[1, 2]);
        long.push(0);
        assert_eq!(Intset::new(&long, 50).unwrap_err().offset, 54);
        let short = intset(4, &[1, 2]);
        assert!(Intset::new(&short[..short.len() - 1], 0).is_err());
        assert!(Intset::new(&short[..5], 0).is_err());
        // A length whose byte count overflows 32 bits must not wrap into a match.
        let mut huge = intset(8, &[1]);
        huge[4..8].copy_from_slice(&0x2000_0000u32.to_le_bytes());
        assert!(Intset::new(&huge, 0).is_err());
    }

    #[test]
    fn order_is_checked() {
        let blob = intset(4, &[1, 5, 5, 9]);
        let e = Intset::new(&blob, 100).unwrap().validate().unwrap_err();
        assert_eq!(e.offset, 100 + 8 + 2 * 4);
        let blob = intset(2, &[3, -3]);
        assert_eq!(
            Intset::new(&blob, 0)
                .unwrap()
                .validate()
                .unwrap_err()
                .offset,
            10
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        let blob = intset(2, &[-2, 7, 300]);
        for len in 0..=blob.len() {
            if let Ok(set) = Intset::new(&blob[..len], 0) {
                let _ = set.validate();
            }
        }
        let mut m = blob.clone();
        for i in 0..blob.len() {
            for v in 0..=255u8 {
                m[i] = v;
                if let Ok(set) = Intset::new(&m, 0) {
                    set.iter().for_each(drop);
                    let _ = set.validate();
                }
            }
            m[i] = blob[i];
        }
    }
}
