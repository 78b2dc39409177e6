//! A bounds-checked reader over a borrowed byte slice.
//!
//! Every read checks the bytes that remain and fails with a `Truncated` error at the absolute
//! file offset instead of panicking; nothing here allocates. `base` is the file offset of
//! `data[0]`, so a cursor over a sub-slice (a ziplist blob, say) still reports file offsets.

use super::error::{Error, ErrorKind, Result};

#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8], base: u64) -> Cursor<'a> {
        Cursor { data, pos: 0, base }
    }

    /// Position inside `data`.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute file offset of the next byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    /// The bytes between `start` (a previous `pos()`) and the current position.
    #[inline]
    pub fn since(&self, start: usize) -> &'a [u8] {
        &self.data[start..self.pos]
    }

    /// The unread rest.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub fn error(&self, kind: ErrorKind) -> Error {
        Error::new(self.offset(), kind)
    }

    pub fn corrupt(&self, message: impl Into<String>) -> Error {
        Error::corrupt(self.offset(), message)
    }

    #[inline]
    fn truncated(&self, needed: u64, what: &'static str) -> Error {
        self.error(ErrorKind::Truncated {
            needed,
            available: self.remaining() as u64,
            what,
        })
    }

    #[inline]
    pub fn bytes(&mut self, n: u64, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(self.truncated(n, what));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.data[start..self.pos])
    }

    #[inline]
    pub fn skip(&mut self, n: u64, what: &'static str) -> Result<()> {
        self.bytes(n, what).map(|_| ())
    }

    #[inline]
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let b = self.bytes(N as u64, what)?;
        Ok(b.try_into().expect("length checked"))
    }

    #[inline]
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.truncated(1, what)),
        }
    }

    /// When the next byte is a count `n <= max_first` and `n` bytes follow it, consumes the
    /// byte and those bytes and returns them; otherwise consumes nothing. The common short RDB
    /// string (a 6-bit length, then the bytes), read without building a `Result` per step.
    #[inline]
    pub(crate) fn short_run(&mut self, max_first: u8) -> Option<&'a [u8]> {
        let &first = self.data.get(self.pos)?;
        if first > max_first {
            return None;
        }
        let start = self.pos + 1;
        let bytes = self.data.get(start..start + usize::from(first))?;
        self.pos = start + usize::from(first);
        Some(bytes)
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub fn u16_le(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub fn u64_le(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn u64_be(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    pub fn i64_le(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
}
