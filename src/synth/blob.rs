//! Builders of the compact blobs (rdb-format.md §5): listpack, ziplist, intset and zipmap.
//!
//! `element` encodes a value the way the server does (an integer when the bytes are one in
//! canonical form, else a string with the shortest header); the explicit forms (`int_as`,
//! `string_with_header`, `entry`, `verbatim`) write any layout the format allows, minimal or
//! not, valid or not, so the parser's tests can build exactly the bytes they need.

use crate::rdb::inspect::is_redis_integer;
use crate::rdb::listpack::backlen_width;

/// The integer `string2ll` / `lpStringToInt64` read from `bytes`, if the bytes are exactly its
/// canonical decimal form (so storing the integer loses nothing).
pub fn canonical_int(bytes: &[u8]) -> Option<i64> {
    if !is_redis_integer(bytes) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// What listpacks and ziplists share: a sequence of integer and string entries, each in the
/// encoding the server would pick.
pub trait CompactBuilder {
    /// Longest strings the 1- and 2-byte string headers announce.
    const SHORT_STRING: usize;
    const MEDIUM_STRING: usize;

    /// An integer entry in the smallest encoding.
    fn int(&mut self, v: i64) -> &mut Self;
    /// A string entry with a 1-, 2- or 5-byte header (the length must fit the first two).
    fn string_with_header(&mut self, s: &[u8], header: usize) -> &mut Self;
    /// The bytes so far (header placeholder included) and the entry count.
    fn entries(&self) -> (&[u8], usize);
    /// The finished blob; the builder starts over empty.
    fn finish(&mut self) -> Vec<u8>;

    /// A string entry with the shortest header.
    fn string(&mut self, s: &[u8]) -> &mut Self {
        let header = match s.len() {
            n if n <= Self::SHORT_STRING => 1,
            n if n <= Self::MEDIUM_STRING => 2,
            _ => 5,
        };
        self.string_with_header(s, header)
    }

    fn len(&self) -> usize {
        self.entries().1
    }

    /// Bytes the blob has once finished.
    fn blob_len(&self) -> usize {
        self.entries().0.len() + 1
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a value as `lpAppend` / `ziplistPush` store it: an integer when the bytes are
    /// one in canonical form.
    fn element(&mut self, bytes: &[u8]) -> &mut Self {
        match canonical_int(bytes) {
            Some(v) => self.int(v),
            None => self.string(bytes),
        }
    }
}

/// listpack: total_bytes + num_elements.
const LP_HEADER: usize = 6;
/// ziplist: zlbytes + zltail + zllen.
const ZL_HEADER: usize = 10;
const END: u8 = 0xFF;

/// A listpack under construction; `finish` hands out the blob and empties the builder.
#[derive(Debug, Clone)]
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackBuilder {
    fn default() -> ListpackBuilder {
        ListpackBuilder {
            buf: vec![0; LP_HEADER],
            count: 0,
        }
    }
}

impl ListpackBuilder {
    pub fn new() -> ListpackBuilder {
        ListpackBuilder::default()
    }

    /// An integer entry in the encoding `enc`: 0x00 the 7-bit uint, 0xC0 the 13-bit int,
    /// 0xF1..=0xF4 the 16/24/32/64-bit ones. `v` is truncated to the width.
    pub fn int_as(&mut self, enc: u8, v: i64) -> &mut Self {
        let start = self.buf.len();
        match enc {
            0x00 => self.buf.push(v as u8 & 0x7F),
            0xC0 => {
                let u = (v as u16) & 0x1FFF;
                self.buf
                    .extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
            }
            _ => {
                let width = match enc {
                    0xF1 => 2,
                    0xF2 => 3,
                    0xF3 => 4,
                    _ => 8,
                };
                self.buf.push(enc);
                self.buf.extend_from_slice(&v.to_le_bytes()[..width]);
            }
        }
        self.close_entry(start)
    }

    /// An entry from its encoding and data bytes; the backlen is computed.
    pub fn entry(&mut self, encoded: &[u8]) -> &mut Self {
        let start = self.buf.len();
        self.buf.extend_from_slice(encoded);
        self.close_entry(start)
    }

    /// An entry exactly as given, backlen included (or not): counted as one element.
    pub fn verbatim(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.count += 1;
        self
    }

    /// Appends the backlen of the entry that starts at `start`.
    fn close_entry(&mut self, start: usize) -> &mut Self {
        let size = self.buf.len() - start;
        let width = backlen_width(size as u64) as usize;
        // Most significant 7-bit group first; every byte but that first one carries bit 7.
        for (i, group) in (0..width).rev().enumerate() {
            let bits = ((size >> (7 * group)) & 0x7F) as u8;
            self.buf.push(if i == 0 { bits } else { bits | 0x80 });
        }
        self.count += 1;
        self
    }
}

impl CompactBuilder for ListpackBuilder {
    const SHORT_STRING: usize = 63;
    const MEDIUM_STRING: usize = 4095;

    fn string_with_header(&mut self, s: &[u8], header: usize) -> &mut Self {
        let start = self.buf.len();
        let n = s.len();
        match header {
            1 => self.buf.push(0x80 | n as u8),
            2 => self
                .buf
                .extend_from_slice(&[0xE0 | (n >> 8) as u8, n as u8]),
            _ => {
                self.buf.push(0xF0);
                self.buf.extend_from_slice(&(n as u32).to_le_bytes());
            }
        }
        self.buf.extend_from_slice(s);
        self.close_entry(start)
    }

    fn int(&mut self, v: i64) -> &mut Self {
        let enc = match v {
            0..=127 => 0x00,
            -4096..=4095 => 0xC0,
            _ if i16::try_from(v).is_ok() => 0xF1,
            -8_388_608..=8_388_607 => 0xF2,
            _ if i32::try_from(v).is_ok() => 0xF3,
            _ => 0xF4,
        };
        self.int_as(enc, v)
    }

    fn entries(&self) -> (&[u8], usize) {
        (&self.buf, self.count)
    }

    fn finish(&mut self) -> Vec<u8> {
        let ListpackBuilder { mut buf, count } = std::mem::take(self);
        buf.push(END);
        let total = buf.len() as u32;
        buf[0..4].copy_from_slice(&total.to_le_bytes());
        // 65535 means "count not stored, walk".
        buf[4..6].copy_from_slice(&(count.min(65535) as u16).to_le_bytes());
        buf
    }
}

/// A ziplist under construction; `finish` hands out the blob and empties the builder.
#[derive(Debug, Clone)]
pub struct ZiplistBuilder {
    buf: Vec<u8>,
    count: usize,
    /// Size of the last entry, which the next one's prevlen repeats.
    prev_size: usize,
    /// Offset of the last entry (zltail).
    tail: usize,
    /// Redis before 2.6 (RDB < 6) only had the 16/32/64-bit integer encodings.
    legacy_ints: bool,
}

impl Default for ZiplistBuilder {
    fn default() -> ZiplistBuilder {
        ZiplistBuilder {
            buf: vec![0; ZL_HEADER],
            count: 0,
            prev_size: 0,
            tail: ZL_HEADER,
            legacy_ints: false,
        }
    }
}

impl ZiplistBuilder {
    pub fn new() -> ZiplistBuilder {
        ZiplistBuilder::default()
    }

    /// Integer encodings as the server writing RDB `version` chose them.
    pub fn for_version(version: u32) -> ZiplistBuilder {
        ZiplistBuilder {
            legacy_ints: version < 6,
            ..ZiplistBuilder::default()
        }
    }

    /// An integer entry with encoding byte `enc`: 0xC0/0xD0/0xE0 16/32/64-bit, 0xF0 24-bit,
    /// 0xFE 8-bit, 0xF1..=0xFD the immediates 0..=12 (`v` is then ignored).
    pub fn int_as(&mut self, enc: u8, v: i64) -> &mut Self {
        let width = match enc {
            0xC0 => 2,
            0xD0 => 4,
            0xE0 => 8,
            0xF0 => 3,
            0xFE => 1,
            _ => 0,
        };
        let start = self.open_entry(false);
        self.buf.push(enc);
        self.buf.extend_from_slice(&v.to_le_bytes()[..width]);
        self.close_entry(start)
    }

    /// An entry from its encoding and data bytes, after the shortest prevlen.
    pub fn entry(&mut self, body: &[u8]) -> &mut Self {
        let start = self.open_entry(false);
        self.buf.extend_from_slice(body);
        self.close_entry(start)
    }

    /// An entry whose prevlen takes the 5-byte form even if the value is small, as a cascade
    /// update leaves it.
    pub fn entry_with_large_prevlen(&mut self, body: &[u8]) -> &mut Self {
        let start = self.open_entry(true);
        self.buf.extend_from_slice(body);
        self.close_entry(start)
    }

    /// Writes the prevlen of a new entry and returns where the entry starts.
    fn open_entry(&mut self, large_prevlen: bool) -> usize {
        let start = self.buf.len();
        self.tail = start;
        if self.prev_size < 254 && !large_prevlen {
            self.buf.push(self.prev_size as u8);
        } else {
            self.buf.push(0xFE);
            self.buf
                .extend_from_slice(&(self.prev_size as u32).to_le_bytes());
        }
        start
    }

    fn close_entry(&mut self, start: usize) -> &mut Self {
        self.prev_size = self.buf.len() - start;
        self.count += 1;
        self
    }
}

impl CompactBuilder for ZiplistBuilder {
    const SHORT_STRING: usize = 63;
    const MEDIUM_STRING: usize = 16383;

    /// Lengths are big-endian.
    fn string_with_header(&mut self, s: &[u8], header: usize) -> &mut Self {
        let start = self.open_entry(false);
        let n = s.len();
        match header {
            1 => self.buf.push(n as u8),
            2 => self
                .buf
                .extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
            _ => {
                self.buf.push(0x80);
                self.buf.extend_from_slice(&(n as u32).to_be_bytes());
            }
        }
        self.buf.extend_from_slice(s);
        self.close_entry(start)
    }

    /// The smallest encoding the version has (`zipTryEncoding`).
    fn int(&mut self, v: i64) -> &mut Self {
        let enc = match v {
            _ if self.legacy_ints => match v {
                _ if i16::try_from(v).is_ok() => 0xC0,
                _ if i32::try_from(v).is_ok() => 0xD0,
                _ => 0xE0,
            },
            0..=12 => 0xF1 + v as u8,
            -128..=127 => 0xFE,
            _ if i16::try_from(v).is_ok() => 0xC0,
            -8_388_608..=8_388_607 => 0xF0,
            _ if i32::try_from(v).is_ok() => 0xD0,
            _ => 0xE0,
        };
        self.int_as(enc, v)
    }

    fn entries(&self) -> (&[u8], usize) {
        (&self.buf, self.count)
    }

    /// Keeps the builder's integer encodings.
    fn finish(&mut self) -> Vec<u8> {
        let fresh = ZiplistBuilder {
            legacy_ints: self.legacy_ints,
            ..ZiplistBuilder::default()
        };
        let ZiplistBuilder {
            mut buf,
            count,
            tail,
            ..
        } = std::mem::replace(self, fresh);
        buf.push(END);
        let total = buf.len() as u32;
        buf[0..4].copy_from_slice(&total.to_le_bytes());
        buf[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        buf[8..10].copy_from_slice(&(count.min(65535) as u16).to_le_bytes());
        buf
    }
}

/// The smallest intset width (2, 4 or 8 bytes) that holds every member.
pub fn intset_width(members: &[i64]) -> u32 {
    let fits = |lo: i64, hi: i64| members.iter().all(|v| (lo..=hi).contains(v));
    if fits(i16::MIN.into(), i16::MAX.into()) {
        2
    } else if fits(i32::MIN.into(), i32::MAX.into()) {
        4
    } else {
        8
    }
}

/// An intset blob of `width`-byte members, stored in the order given (servers keep them
/// strictly ascending).
pub fn intset(width: u32, members: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + members.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for v in members {
        out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    out
}

/// A zipmap (Redis 2.4's small hash) under construction.
#[derive(Debug, Clone, Default)]
pub struct ZipmapBuilder {
    body: Vec<u8>,
    count: usize,
}

impl ZipmapBuilder {
    pub fn new() -> ZipmapBuilder {
        ZipmapBuilder::default()
    }

    /// A pair as Redis 2.4 stored it: shortest lengths, no free space.
    pub fn pair(&mut self, field: &[u8], value: &[u8]) -> &mut Self {
        self.pair_with(field, value, 0, false)
    }

    /// A pair with `free` spare bytes after the value, and 5-byte lengths if `big_lengths`.
    pub fn pair_with(
        &mut self,
        field: &[u8],
        value: &[u8],
        free: u8,
        big_lengths: bool,
    ) -> &mut Self {
        self.length(field.len(), big_lengths);
        self.body.extend_from_slice(field);
        self.length(value.len(), big_lengths);
        self.body.push(free);
        self.body.extend_from_slice(value);
        self.body
            .extend(std::iter::repeat_n(0xAA, usize::from(free)));
        self.count += 1;
        self
    }

    fn length(&mut self, n: usize, big: bool) {
        if n < 254 && !big {
            self.body.push(n as u8);
        } else {
            self.body.push(254);
            self.body.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }

    /// The finished blob (count byte 254 from 254 pairs on: "walk to count").
    pub fn finish(&mut self) -> Vec<u8> {
        let ZipmapBuilder { body, count } = std::mem::take(self);
        let mut out = Vec::with_capacity(body.len() + 2);
        out.push(count.min(254) as u8);
        out.extend_from_slice(&body);
        out.push(END);
        out
    }
}
