//! RDB lengths and strings (rdb-format.md §3.1, §3.2), and the `Element` that every inner
//! blob walker yields.

use std::borrow::Cow;

use super::cursor::Cursor;
use super::error::{ErrorKind, Result};
use super::lzf;

/// A decoded length prefix: either a length, or the `11xxxxxx` special-encoding selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    Len(u64),
    Special(u8),
}

impl<'a> Cursor<'a> {
    /// Reads a length or a special-encoding selector (§3.1).
    #[inline]
    pub fn rdb_len_or_special(&mut self, what: &'static str) -> Result<Len> {
        let first = self.u8(what)?;
        match first >> 6 {
            0 => Ok(Len::Len(u64::from(first & 0x3F))),
            1 => {
                let second = self.u8(what)?;
                Ok(Len::Len((u64::from(first & 0x3F) << 8) | u64::from(second)))
            }
            2 => match first {
                0x80 => Ok(Len::Len(u64::from(self.u32_be(what)?))),
                0x81 => Ok(Len::Len(self.u64_be(what)?)),
                _ => Err(self.error_at_back(1, ErrorKind::BadLength(first))),
            },
            _ => Ok(Len::Special(first & 0x3F)),
        }
    }

    /// Reads a plain length; a special-encoding selector here is corruption.
    #[inline]
    pub fn rdb_len(&mut self, what: &'static str) -> Result<u64> {
        match self.rdb_len_or_special(what)? {
            Len::Len(n) => Ok(n),
            Len::Special(s) => Err(self.error_at_back(1, ErrorKind::BadLength(0xC0 | s))),
        }
    }

    /// A count of items that each take at least `min_item_bytes` bytes: rejecting counts the
    /// remaining input cannot hold keeps loops and any sizing derived from them bounded.
    pub fn rdb_count(&mut self, min_item_bytes: u64, what: &'static str) -> Result<u64> {
        let start = self.offset();
        let n = self.rdb_len(what)?;
        if n.saturating_mul(min_item_bytes) > self.remaining() as u64 {
            return Err(super::error::Error::corrupt(
                start,
                format!(
                    "{what} {n} cannot fit in the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(n)
    }

    /// Reads an RDB string without decoding it: raw bytes are borrowed, INT forms parsed,
    /// LZF bytes borrowed and checked for a plausible declared size.
    #[inline(always)]
    pub fn rdb_string(&mut self, what: &'static str) -> Result<RdbStr<'a>> {
        // Most strings of a dump are under 64 bytes: a length byte `00xxxxxx`, then the bytes;
        // most others are integers. Both are read in place, the rest out of line.
        if let Some(bytes) = self.short_run(0x3F) {
            return Ok(RdbStr::Raw(bytes));
        }
        if let Some(v) = self.int_string() {
            return Ok(RdbStr::Int(v));
        }
        self.long_rdb_string(what)
    }

    /// An integer-encoded string (`0xC0`-`0xC2` and the integer) read in place, or `None`
    /// with nothing consumed.
    #[inline]
    fn int_string(&mut self) -> Option<i64> {
        let rest = self.rest();
        let (v, size) = match *rest.first()? {
            0xC0 => (i64::from(*rest.get(1)? as i8), 2),
            0xC1 => (
                i64::from(i16::from_le_bytes(*rest.get(1..)?.first_chunk()?)),
                3,
            ),
            0xC2 => (
                i64::from(i32::from_le_bytes(*rest.get(1..)?.first_chunk()?)),
                5,
            ),
            _ => return None,
        };
        self.skip(size, "integer string").ok()?;
        Some(v)
    }

    #[inline(never)]
    fn long_rdb_string(&mut self, what: &'static str) -> Result<RdbStr<'a>> {
        match self.rdb_len_or_special(what)? {
            Len::Len(n) => Ok(RdbStr::Raw(self.bytes(n, what)?)),
            Len::Special(0) => Ok(RdbStr::Int(i64::from(self.u8(what)? as i8))),
            Len::Special(1) => Ok(RdbStr::Int(i64::from(self.u16_le(what)? as i16))),
            Len::Special(2) => Ok(RdbStr::Int(i64::from(self.u32_le(what)? as i32))),
            Len::Special(3) => {
                let offset = self.offset() - 1;
                let compressed_len = self.rdb_len(what)?;
                let original_len = self.rdb_len(what)?;
                let compressed = self.bytes(compressed_len, what)?;
                lzf::check_declared_len(compressed.len(), original_len, offset)?;
                Ok(RdbStr::Lzf {
                    compressed,
                    original_len: original_len as usize,
                    offset,
                })
            }
            Len::Special(s) => Err(self.error_at_back(1, ErrorKind::BadStringEncoding(0xC0 | s))),
        }
    }

    /// Skips an RDB string, reading only its lengths. The splitter's inner loop (every
    /// element of a hashtable-encoded value): a short string is stepped over in place, the
    /// rest read out of line.
    #[inline]
    pub fn skip_rdb_string(&mut self, what: &'static str) -> Result<()> {
        if self.short_run(0x3F).is_some() {
            return Ok(());
        }
        // integer members of hashtable sets are as common as short strings
        if self.int_string().is_some() {
            return Ok(());
        }
        self.skip_long_rdb_string(what)
    }

    #[inline(never)]
    fn skip_long_rdb_string(&mut self, what: &'static str) -> Result<()> {
        self.rdb_string(what).map(|_| ())
    }

    fn error_at_back(&self, back: u64, kind: ErrorKind) -> super::error::Error {
        super::error::Error::new(self.offset() - back, kind)
    }
}

/// An RDB string as stored: nothing is copied or decompressed until asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdbStr<'a> {
    Raw(&'a [u8]),
    Int(i64),
    Lzf {
        compressed: &'a [u8],
        original_len: usize,
        offset: u64,
    },
}

impl<'a> RdbStr<'a> {
    /// Length of the decoded bytes.
    pub fn len(&self) -> usize {
        match self {
            RdbStr::Raw(b) => b.len(),
            RdbStr::Int(v) => decimal_len(*v),
            RdbStr::Lzf { original_len, .. } => *original_len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `buf.len()` decoded bytes, decompressing no more of an LZF string than
    /// that (`lzf::decompress_prefix`): a blob's header. `None` when the string is shorter,
    /// an integer, or its compressed stream fails before then.
    pub fn prefix<'s>(&self, buf: &'s mut [u8]) -> Option<&'s [u8]>
    where
        'a: 's,
    {
        match *self {
            RdbStr::Raw(bytes) => bytes.get(..buf.len()),
            RdbStr::Lzf { compressed, .. } => {
                lzf::decompress_prefix(compressed, buf)?;
                Some(buf)
            }
            RdbStr::Int(_) => None,
        }
    }

    /// The decoded bytes, borrowed where the file holds them verbatim.
    pub fn to_cow(&self) -> Result<Cow<'a, [u8]>> {
        match *self {
            RdbStr::Raw(b) => Ok(Cow::Borrowed(b)),
            RdbStr::Int(v) => Ok(Cow::Owned(v.to_string().into_bytes())),
            RdbStr::Lzf {
                compressed,
                original_len,
                offset,
            } => {
                let mut out = Vec::new();
                lzf::decompress_into(compressed, original_len, offset, &mut out)?;
                Ok(Cow::Owned(out))
            }
        }
    }

    /// The decoded bytes, using `scratch` for the forms that must be materialised, so a worker
    /// decoding many blobs reuses one buffer. Raw bytes, most elements, are borrowed inline:
    /// a call per element costs more than the borrow.
    #[inline]
    pub fn decode<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<&'s [u8]>
    where
        'a: 's,
    {
        match *self {
            RdbStr::Raw(b) => Ok(b),
            _ => self.materialise(scratch),
        }
    }

    /// `decode`, out of line, for the forms written into `scratch`.
    #[inline(never)]
    fn materialise<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<&'s [u8]>
    where
        'a: 's,
    {
        match *self {
            RdbStr::Raw(b) => Ok(b),
            RdbStr::Int(v) => {
                scratch.clear();
                scratch.extend_from_slice(v.to_string().as_bytes());
                Ok(scratch)
            }
            RdbStr::Lzf {
                compressed,
                original_len,
                offset,
            } => {
                lzf::decompress_into(compressed, original_len, offset, scratch)?;
                Ok(scratch)
            }
        }
    }
}

/// Checks what ziplists and listpacks share: at least `min_len` bytes, a leading u32 total
/// equal to the blob's length, and a final 0xFF end marker. Returns a cursor just after the
/// total, so the caller reads the rest of its own header.
pub(crate) fn check_blob_frame<'a>(
    blob: &'a [u8],
    base: u64,
    kind: &'static str,
    total_field: &'static str,
    min_len: usize,
) -> Result<Cursor<'a>> {
    let mut c = Cursor::new(blob, base);
    if blob.len() < min_len {
        return Err(c.corrupt(format!(
            "{kind} of {} bytes is shorter than its {min_len}-byte minimum",
            blob.len()
        )));
    }
    let total = c.u32_le(total_field)?;
    if u64::from(total) != blob.len() as u64 {
        return Err(super::error::Error::corrupt(
            base,
            format!(
                "{kind} {total_field} {total} but the blob is {} bytes",
                blob.len()
            ),
        ));
    }
    let last = blob.len() - 1;
    if blob[last] != 0xFF {
        return Err(super::error::Error::corrupt(
            base + last as u64,
            format!(
                "{kind} ends in 0x{:02x}, not the 0xff end marker",
                blob[last]
            ),
        ));
    }
    Ok(c)
}

/// One element of a collection as stored: a byte string or an integer (ziplists, listpacks
/// and intsets store integers natively; Redis renders them as decimal text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Element<'_> {
    /// Length of the element as Redis returns it (decimal text for integers).
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Element::Bytes(b) => b.len(),
            Element::Int(v) => decimal_len(*v),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element as an integer, if it is one (stream counters may be either form).
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Element::Int(v) => Some(v),
            Element::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            Element::Bytes(b) => b.to_vec(),
            Element::Int(v) => v.to_string().into_bytes(),
        }
    }
}

/// Number of characters of `v` in decimal, sign included.
#[inline]
pub fn decimal_len(v: i64) -> usize {
    // the digit count is floor(bits * log10 2) or one more (1233 / 4096 ~ log10 2 is close
    // enough below 2^64), which one comparison tells; 0 counts as 1, and `| 1` never crosses
    // a power of ten
    let u = v.unsigned_abs() | 1;
    let guess = (((64 - u.leading_zeros()) * 1233) >> 12) as usize;
    let digits = guess + usize::from(u >= POW10_U64[guess]);
    digits + usize::from(v < 0)
}

/// 10^0 ..= 10^19.
const POW10_U64: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_in_every_form() {
        let data = [
            0x05, 0x41, 0x02, 0x80, 0, 1, 0, 0, 0x81, 0, 0, 0, 1, 0, 0, 0, 0,
        ];
        let mut c = Cursor::new(&data, 0);
        assert_eq!(c.rdb_len("t").unwrap(), 5);
        assert_eq!(c.rdb_len("t").unwrap(), 0x102);
        assert_eq!(c.rdb_len("t").unwrap(), 65536);
        assert_eq!(c.rdb_len("t").unwrap(), 1 << 32);
        assert!(c.is_empty());
    }

    #[test]
    fn bad_length_byte_names_its_offset() {
        let mut c = Cursor::new(&[0x00, 0x82], 100);
        c.rdb_len("t").unwrap();
        let e = c.rdb_len("t").unwrap_err();
        assert_eq!(e.offset, 101);
        assert_eq!(e.kind, ErrorKind::BadLength(0x82));
    }

    #[test]
    fn int_strings_decode_to_decimal() {
        let data = [0xC0, 0xFE, 0xC1, 0x39, 0x30, 0xC2, 0x00, 0x00, 0x00, 0x80];
        let mut c = Cursor::new(&data, 0);
        assert_eq!(c.rdb_string("t").unwrap(), RdbStr::Int(-2));
        assert_eq!(c.rdb_string("t").unwrap(), RdbStr::Int(12345));
        let s = c.rdb_string("t").unwrap();
        assert_eq!(s, RdbStr::Int(i32::MIN as i64));
        assert_eq!(&*s.to_cow().unwrap(), b"-2147483648");
        assert_eq!(s.len(), 11);
    }

    #[test]
    fn truncated_string_is_an_error() {
        let mut c = Cursor::new(&[0x05, b'a', b'b'], 7);
        let e = c.rdb_string("value").unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(matches!(
            e.kind,
            ErrorKind::Truncated {
                needed: 5,
                available: 2,
                ..
            }
        ));
    }

    /// The splitter's in-place skips end where reading the string ends, with the same error:
    /// every string form (6-, 14-, 32-bit lengths, the three integers, LZF, bad selectors),
    /// whole and cut at every byte.
    #[test]
    fn skipping_a_string_is_reading_it() {
        let strings: [&[u8]; 9] = [
            &[0x03, b'a', b'b', b'c'],
            &[0x40, 0x41, b'x'],
            &[0x80, 0, 0, 0, 2, b'h', b'i'],
            &[0xC0, 0xFE],
            &[0xC1, 0x39, 0x30],
            &[0xC2, 0, 0, 0, 0x80],
            &[0xC3, 0x02, 0x03, 0x01, b'a', b'b'],
            &[0xC4, 0x00],
            &[0x82, 0x00],
        ];
        for s in strings {
            for cut in 0..=s.len() {
                let data = &s[..cut];
                let (mut read, mut skipped) = (Cursor::new(data, 40), Cursor::new(data, 40));
                let want = read.rdb_string("t").map(|_| read.pos());
                let got = skipped.skip_rdb_string("t").map(|()| skipped.pos());
                assert_eq!(got, want, "{s:02x?} cut to {cut}");
            }
        }
    }

    #[test]
    fn decimal_lengths() {
        let mut values = vec![0, 1, -1, i64::MAX, i64::MIN, i64::MIN + 1];
        for k in 0..19 {
            let p = 10i64.pow(k);
            values.extend([p - 1, p, p + 1, -p, -(p - 1), -(p + 1), 2 * p, p / 2 + 3]);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> (x % 64)) as i64);
            values.push(x as i64);
        }
        for v in values {
            assert_eq!(decimal_len(v), v.to_string().len(), "{v}");
        }
    }
}
