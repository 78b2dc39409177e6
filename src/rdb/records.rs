//! The record splitter: the only sequential stage of the pipeline. It walks opcodes and
//! lengths to find where each record starts and ends, borrowing everything from the map, and
//! leaves all decoding of values to `inspect` on worker threads.

use std::borrow::Cow;

use super::cursor::Cursor;
use super::error::{Error, ErrorKind, Result};
use super::header::{Header, Magic};
use super::module::{self, ModuleId};
use super::primitives::RdbStr;
use super::stream;
use super::types::{self, ValueType};

pub const OP_KEY_META_OR_SLOT_IMPORT: u8 = 243;
pub const OP_SLOT_INFO: u8 = 244;
pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION_PRE_GA: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

/// One key with its value still serialized.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub db: u64,
    pub key: Cow<'a, [u8]>,
    pub value_type: ValueType,
    pub type_byte: u8,
    /// The serialized value, a slice of the file.
    pub payload: &'a [u8],
    /// File offset of `payload[0]`.
    pub payload_offset: u64,
    /// File offset where the record starts, including its expiry/idle/freq opcodes.
    pub offset: u64,
    /// Bytes the whole record occupies in the file.
    pub rdb_bytes: u64,
    pub expire_at_ms: Option<i64>,
    pub idle_s: Option<u64>,
    pub freq: Option<u8>,
    /// An LZF string came at or before this record's key and value in the file: the writer
    /// had `rdbcompression` on, so each string it left plain failed to shrink (the advisor
    /// need not try). A key or a whole value is checked, which is where one shows first.
    pub compression_seen: bool,
}

/// Everything else the file holds besides keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    Aux {
        key: RdbStr<'a>,
        value: RdbStr<'a>,
    },
    SelectDb(u64),
    ResizeDb {
        keys: u64,
        expires: u64,
    },
    SlotInfo {
        slot: u64,
        keys: u64,
        expires: u64,
    },
    ModuleAux {
        module: ModuleId,
        when: u64,
    },
    /// A function library (7.0+), as its source code.
    Function(RdbStr<'a>),
    /// Valkey 9: an in-progress slot import.
    SlotImport {
        job: RdbStr<'a>,
        ranges: u64,
    },
    /// The end: where the EOF opcode sits and the stored checksum, if the version has one.
    Eof {
        offset: u64,
        checksum: Option<u64>,
        trailing_bytes: u64,
    },
}

/// Either a key or another item, in file order.
#[derive(Debug, Clone)]
pub enum Entry<'a> {
    Key(Record<'a>),
    Other(Item<'a>),
}

/// Iterates the entries of a dump. After the first error or EOF it yields nothing more.
pub struct Records<'a> {
    cursor: Cursor<'a>,
    header: Header,
    db: u64,
    done: bool,
    /// See [`Record::compression_seen`].
    compression_seen: bool,
}

impl<'a> Records<'a> {
    /// Parses the header and positions at the first record.
    pub fn new(data: &'a [u8]) -> Result<Records<'a>> {
        let header = Header::parse(data)?;
        let mut cursor = Cursor::new(data, 0);
        cursor.skip(header.len as u64, "header")?;
        Ok(Records {
            cursor,
            header,
            db: 0,
            done: false,
            compression_seen: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// File offset of the next entry.
    pub fn offset(&self) -> u64 {
        self.cursor.offset()
    }

    fn next_entry(&mut self) -> Result<Entry<'a>> {
        let c = &mut self.cursor;
        let record_start = c.pos();
        let mut expire_at_ms = None;
        let mut idle_s = None;
        let mut freq = None;
        loop {
            let op_offset = c.offset();
            let op = c.u8("record type")?;
            let item = match op {
                OP_EOF => {
                    let checksum = if self.header.has_checksum() {
                        Some(c.u64_le("CRC-64 trailer")?)
                    } else {
                        None
                    };
                    self.done = true;
                    Item::Eof {
                        offset: op_offset,
                        checksum,
                        trailing_bytes: c.remaining() as u64,
                    }
                }
                OP_SELECTDB => {
                    self.db = c.rdb_len("database number")?;
                    Item::SelectDb(self.db)
                }
                OP_RESIZEDB => Item::ResizeDb {
                    keys: c.rdb_len("RESIZEDB key count")?,
                    expires: c.rdb_len("RESIZEDB expires count")?,
                },
                OP_AUX => Item::Aux {
                    key: c.rdb_string("AUX key")?,
                    value: c.rdb_string("AUX value")?,
                },
                OP_EXPIRETIME_MS => {
                    expire_at_ms = Some(c.i64_le("expire time")?);
                    continue;
                }
                OP_EXPIRETIME => {
                    expire_at_ms = Some(i64::from(c.u32_le("expire time")? as i32) * 1000);
                    continue;
                }
                OP_IDLE => {
                    idle_s = Some(c.rdb_len("idle time")?);
                    continue;
                }
                OP_FREQ => {
                    freq = Some(c.u8("LFU frequency")?);
                    continue;
                }
                OP_MODULE_AUX => {
                    let module = ModuleId::decode(c.rdb_len("module id")?);
                    let when_opcode = c.rdb_len("module aux when opcode")?;
                    if when_opcode != 2 {
                        return Err(c.corrupt(format!(
                            "module aux of {} has when-opcode {when_opcode}, expected 2",
                            module.name
                        )));
                    }
                    let when = c.rdb_len("module aux when")?;
                    module::skip_framed(c)?;
                    Item::ModuleAux { module, when }
                }
                OP_FUNCTION2 => Item::Function(c.rdb_string("function library")?),
                OP_FUNCTION_PRE_GA => {
                    let name = c.rdb_string("function name")?;
                    c.skip_rdb_string("function engine")?;
                    if c.rdb_len("function description flag")? != 0 {
                        c.skip_rdb_string("function description")?;
                    }
                    c.skip_rdb_string("function code")?;
                    Item::Function(name)
                }
                OP_SLOT_INFO => Item::SlotInfo {
                    slot: c.rdb_len("slot info")?,
                    keys: c.rdb_len("slot info")?,
                    expires: c.rdb_len("slot info")?,
                },
                OP_KEY_META_OR_SLOT_IMPORT if self.header.magic == Magic::Valkey => {
                    let job = c.rdb_string("slot import job")?;
                    let ranges = c.rdb_count(2, "slot import range count")?;
                    for _ in 0..2 * ranges {
                        c.rdb_len("slot import range")?;
                    }
                    Item::SlotImport { job, ranges }
                }
                OP_KEY_META_OR_SLOT_IMPORT if self.header.version >= 13 => {
                    // Redis 8.6 key metadata: up to 7 framed class values, then the real type.
                    let classes = c.rdb_len("key metadata count")?;
                    if classes > 7 {
                        return Err(c.corrupt(format!("{classes} key metadata classes, at most 7")));
                    }
                    for _ in 0..classes {
                        c.skip(4, "key metadata class")?;
                        module::skip_framed(c)?;
                    }
                    continue;
                }
                byte => {
                    let value_type = types::value_type(byte, &self.header, op_offset)?;
                    return self.read_key(
                        byte,
                        value_type,
                        record_start,
                        expire_at_ms,
                        idle_s,
                        freq,
                    );
                }
            };
            return Ok(Entry::Other(item));
        }
    }

    fn read_key(
        &mut self,
        type_byte: u8,
        value_type: ValueType,
        record_start: usize,
        expire_at_ms: Option<i64>,
        idle_s: Option<u64>,
        freq: Option<u8>,
    ) -> Result<Entry<'a>> {
        let c = &mut self.cursor;
        let offset = c.offset() - c.pos() as u64 + record_start as u64;
        let key = c.rdb_string("key")?;
        let lzf_key = matches!(key, RdbStr::Lzf { .. });
        let key = key.to_cow()?;
        let payload_start = c.pos();
        let payload_offset = c.offset();
        skip_value(c, value_type).map_err(|e| e.in_key(&key))?;
        let payload = c.since(payload_start);
        self.compression_seen |= lzf_key || lzf_value(value_type, payload);
        Ok(Entry::Key(Record {
            db: self.db,
            key,
            value_type,
            type_byte,
            payload,
            payload_offset,
            offset,
            rdb_bytes: (c.pos() - record_start) as u64,
            expire_at_ms,
            idle_s,
            freq,
            compression_seen: self.compression_seen,
        }))
    }
}

/// The length byte of an LZF string: special encoding 3.
const LZF_SELECTOR: u8 = 0xC3;

/// Whether a value that is one string (a string, or a ziplist, listpack or intset blob) is
/// stored LZF-compressed.
fn lzf_value(value_type: ValueType, payload: &[u8]) -> bool {
    use ValueType::*;
    matches!(
        value_type,
        String
            | HashZipmap
            | ListZiplist
            | SetIntset
            | ZsetZiplist
            | HashZiplist
            | HashListpack
            | ZsetListpack
            | SetListpack
            | HashListpackExPreGa
    ) && payload.first() == Some(&LZF_SELECTOR)
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Entry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let entry = self.next_entry();
        if entry.is_err() {
            self.done = true;
        }
        Some(entry)
    }
}

/// Moves the cursor past one serialized value of `value_type`, reading lengths only.
/// The AUX fields before the first key (where servers write `redis-ver`, `ctime`,
/// `used-mem`, ...), read before the pipeline starts. Stops at the first key or the first
/// damage, so it costs nothing.
pub fn head_aux(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Ok(records) = Records::new(data) else {
        return Vec::new();
    };
    let mut aux = Vec::new();
    for entry in records {
        match entry {
            Ok(Entry::Other(Item::Aux { key, value })) => {
                if let (Ok(k), Ok(v)) = (key.to_cow(), value.to_cow()) {
                    aux.push((k.into_owned(), v.into_owned()));
                }
            }
            Ok(Entry::Other(_)) => {}
            Ok(Entry::Key(_)) | Err(_) => break,
        }
    }
    aux
}

pub fn skip_value(c: &mut Cursor<'_>, value_type: ValueType) -> Result<()> {
    use ValueType::*;
    match value_type {
        String | HashZipmap | ListZiplist | SetIntset | ZsetZiplist | HashZiplist
        | HashListpack | ZsetListpack | SetListpack | HashListpackExPreGa => {
            c.skip_rdb_string("value")?;
        }
        ListLinked | SetHashtable => {
            for _ in 0..c.rdb_count(1, "element count")? {
                c.skip_rdb_string("element")?;
            }
        }
        Hash => {
            for _ in 0..c.rdb_count(2, "field count")? {
                c.skip_rdb_string("field")?;
                c.skip_rdb_string("value")?;
            }
        }
        ZsetText => {
            for _ in 0..c.rdb_count(2, "member count")? {
                c.skip_rdb_string("member")?;
                skip_text_double(c)?;
            }
        }
        Zset2 => {
            for _ in 0..c.rdb_count(9, "member count")? {
                c.skip_rdb_string("member")?;
                c.skip(8, "score")?;
            }
        }
        ListQuicklist => {
            for _ in 0..c.rdb_count(1, "quicklist node count")? {
                c.skip_rdb_string("quicklist node")?;
            }
        }
        ListQuicklist2 => {
            for _ in 0..c.rdb_count(2, "quicklist node count")? {
                c.rdb_len("quicklist container")?;
                c.skip_rdb_string("quicklist node")?;
            }
        }
        HashListpackEx => {
            c.skip(8, "minimum field expiry")?;
            c.skip_rdb_string("value")?;
        }
        HashMetadata | HashMetadataPreGa => {
            if value_type == HashMetadata {
                c.skip(8, "minimum field expiry")?;
            }
            for _ in 0..c.rdb_count(3, "field count")? {
                c.rdb_len("field expiry")?;
                c.skip_rdb_string("field")?;
                c.skip_rdb_string("value")?;
            }
        }
        ValkeyHash2 => {
            for _ in 0..c.rdb_count(10, "field count")? {
                c.skip_rdb_string("field")?;
                c.skip_rdb_string("value")?;
                c.skip(8, "field expiry")?;
            }
        }
        Stream(version) => {
            stream::walk(c, version, |_, _, _| Ok(()))?;
        }
        Module2 => {
            c.rdb_len("module id")?;
            module::skip_framed(c)?;
        }
    }
    Ok(())
}

/// Skips a text-encoded double (type 3 scores): a length byte, with 253..255 meaning
/// NaN/+inf/-inf and no bytes following.
fn skip_text_double(c: &mut Cursor<'_>) -> Result<()> {
    let n = c.u8("score length")?;
    if n < 253 {
        c.skip(u64::from(n), "score")?;
    }
    Ok(())
}

/// Reads a text-encoded double (type 3 scores).
pub fn read_text_double(c: &mut Cursor<'_>) -> Result<f64> {
    let at = c.offset();
    let n = c.u8("score length")?;
    match n {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        _ => {
            let text = c.bytes(u64::from(n), "score")?;
            std::str::from_utf8(text)
                .ok()
                .and_then(|t| parse_score(t.trim()))
                .ok_or_else(|| Error::corrupt(at, "score is not a number"))
        }
    }
}

/// Parses a score as Redis prints them (`%.17g`, `inf`, `-inf`).
pub fn parse_score(text: &str) -> Option<f64> {
    match text {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok().filter(|v: &f64| !v.is_nan()),
    }
}

/// Checks a stored CRC-64 trailer against the checksum of `data[..=eof_offset]`, which the
/// caller may already have computed on another thread (`computed`). A stored 0 means the
/// writer did not compute one (`rdbchecksum no`).
pub fn verify_checksum(
    data: &[u8],
    eof_offset: u64,
    stored: u64,
    computed: Option<u64>,
) -> Result<Checksum> {
    if stored == 0 {
        return Ok(Checksum::NotComputed);
    }
    let computed =
        computed.unwrap_or_else(|| super::crc64::crc64(0, &data[..=eof_offset as usize]));
    if computed != stored {
        return Err(Error::new(
            eof_offset + 1,
            ErrorKind::ChecksumMismatch { stored, computed },
        ));
    }
    Ok(Checksum::Valid(stored))
}

/// Whether `data` can end in a checksum that vouches for it: a format with a CRC-64 trailer
/// and a last eight bytes that are not 0 (`rdbchecksum no`).
pub fn checksum_may_vouch(data: &[u8]) -> bool {
    Header::parse(data).is_ok_and(|h| h.has_checksum())
        && data.last_chunk::<8>().is_some_and(|t| *t != [0; 8])
}

/// What the trailer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    Valid(u64),
    NotComputed,
    /// RDB < 5 has no trailer.
    Absent,
}

#[cfg(test)]
mod tests {
    //! Handcrafted dumps for the opcodes and types no real-server fixture carries: RDB 1 and 8,
    //! release-candidate and fork-specific ids, module framing and the error paths.

    use super::*;
    use crate::rdb::inspect::{Context, Scratch, ValueItem, walk_value};
    use crate::rdb::types::Encoding;
    use crate::synth::blob::{CompactBuilder, ListpackBuilder};
    use crate::synth::writer::{self, put_len, put_raw_string};

    fn len(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_len(&mut out, n);
        out
    }

    fn s(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_raw_string(&mut out, bytes);
        out
    }

    /// A whole dump: header, body, EOF, and the CRC-64 trailer from version 5 on.
    fn dump(header: &str, body: &[u8]) -> Vec<u8> {
        writer::dump(Header::parse(header.as_bytes()).unwrap(), body)
    }

    /// A key as these tests see it: name, encoding, elements, expiry.
    type Seen = (Vec<u8>, Encoding, u64, Option<i64>);

    /// Every key and the name of every other item, checksum verified.
    fn walk(data: &[u8]) -> Result<(Vec<Seen>, Vec<String>)> {
        let ctx = Context::for_dump(data)?;
        let mut keys = Vec::new();
        let mut items = Vec::new();
        for entry in Records::new(data)? {
            match entry? {
                Entry::Key(record) => {
                    let shape = walk_value(&record, &ctx, &mut Scratch::default(), &mut |_| {})?;
                    keys.push((
                        record.key.to_vec(),
                        shape.encoding.unwrap(),
                        shape.elements,
                        record.expire_at_ms,
                    ));
                }
                Entry::Other(Item::Eof {
                    offset,
                    checksum: Some(stored),
                    ..
                }) => {
                    verify_checksum(data, offset, stored, None)?;
                    items.push("eof".to_string());
                }
                Entry::Other(item) => items.push(
                    format!("{item:?}")
                        .split([' ', '('])
                        .next()
                        .unwrap()
                        .to_string(),
                ),
            }
        }
        Ok((keys, items))
    }

    #[test]
    fn compression_is_seen_from_the_first_lzf_key_or_value_on() {
        let text = vec![b'a'; 64];
        let mut encoder = writer::StringEncoder::new(true);
        let lzf = |out: &mut Vec<u8>, encoder: &mut writer::StringEncoder| {
            let at = out.len();
            encoder.put(out, &text);
            assert_eq!(out[at], LZF_SELECTOR);
        };
        let mut body = vec![OP_SELECTDB, 0];
        // plain key and value; a hash listpack (plain); then an LZF key with a plain value,
        // and one more plain pair after it
        body.extend([0].iter().chain(&s(b"k1")).chain(&s(b"v1")));
        body.push(16);
        body.extend(s(b"h"));
        body.extend(s(&ListpackBuilder::new()
            .string(b"f")
            .string(b"v")
            .finish()));
        body.push(0);
        lzf(&mut body, &mut encoder);
        body.extend(s(b"v2"));
        body.extend([0].iter().chain(&s(b"k3")).chain(&s(b"v3")));
        // and a dump whose first LZF string is a value
        let mut second = vec![OP_SELECTDB, 0, 0];
        second.extend(s(b"k1"));
        lzf(&mut second, &mut encoder);
        second.extend([0].iter().chain(&s(b"k2")).chain(&s(b"v2")));
        for (body, seen) in [
            (body, vec![false, false, true, true]),
            (second, vec![true, true]),
        ] {
            let data = dump("REDIS0011", &body);
            let flags: Vec<bool> = Records::new(&data)
                .unwrap()
                .filter_map(|e| match e.unwrap() {
                    Entry::Key(r) => Some(r.compression_seen),
                    Entry::Other(_) => None,
                })
                .collect();
            assert_eq!(flags, seen);
        }
    }

    #[test]
    fn rdb_version_1_without_checksum() {
        let body = [
            vec![OP_SELECTDB, 0, OP_EXPIRETIME],
            1_700_000_000u32.to_le_bytes().to_vec(),
            vec![0],
            s(b"str"),
            s(b"v"),
            vec![1],
            s(b"list"),
            len(2),
            s(b"a"),
            s(b"b"),
            vec![3],
            s(b"zset"),
            len(2),
            s(b"m1"),
            vec![3],
            b"1.5".to_vec(),
            s(b"m2"),
            vec![254],
        ]
        .concat();
        let data = dump("REDIS0001", &body);
        let (keys, items) = walk(&data).unwrap();
        assert_eq!(
            keys[0],
            (
                b"str".to_vec(),
                Encoding::Embstr,
                1,
                Some(1_700_000_000_000)
            )
        );
        assert_eq!(keys[1], (b"list".to_vec(), Encoding::Linkedlist, 2, None));
        assert_eq!(keys[2], (b"zset".to_vec(), Encoding::Skiplist, 2, None));
        assert_eq!(items, ["SelectDb", "Eof"]);
    }

    #[test]
    fn rdb_version_8_long_lengths_and_framed_modules() {
        let module_id = 0x0123_4567_89AB_CDEFu64;
        let body = [
            vec![OP_MODULE_AUX],
            len(module_id),
            len(2),
            len(2),
            len(2),
            len(7),
            vec![0],
            vec![OP_SELECTDB, 0, 5],
            s(b"z"),
            len(1),
            s(b"m"),
            2.5f64.to_le_bytes().to_vec(),
            vec![7],
            s(b"mod"),
            len(module_id),
            len(5),
            s(b"payload"),
            len(4),
            1.0f64.to_le_bytes().to_vec(),
            len(0),
            // A key whose length uses the 64-bit form (RDB 8), and an empty value.
            vec![0, 0x81, 0, 0, 0, 0, 0, 0, 0, 1, b'x'],
            s(b""),
        ]
        .concat();
        let data = dump("REDIS0008", &body);
        let (keys, items) = walk(&data).unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0].1, Encoding::Skiplist);
        assert_eq!(keys[1].1, Encoding::Raw);
        assert_eq!(keys[2], (b"x".to_vec(), Encoding::Embstr, 1, None));
        assert_eq!(items, ["ModuleAux", "SelectDb", "eof"]);
    }

    #[test]
    fn functions_slot_info_and_redis_key_metadata() {
        let body = [
            vec![OP_FUNCTION_PRE_GA],
            s(b"lib"),
            s(b"LUA"),
            len(1),
            s(b"desc"),
            s(b"return 1"),
            vec![OP_FUNCTION2],
            s(b"#!lua name=lib2\nreturn 2"),
            vec![OP_SELECTDB, 0, OP_SLOT_INFO, 5, 1, 0],
            vec![OP_KEY_META_OR_SLOT_IMPORT, 1, 1, 2, 3, 4],
            len(2),
            len(9),
            len(0),
            vec![0],
            s(b"k"),
            s(b"v"),
        ]
        .concat();
        let data = dump("REDIS0013", &body);
        let (keys, items) = walk(&data).unwrap();
        assert_eq!(keys, [(b"k".to_vec(), Encoding::Embstr, 1, None)]);
        assert_eq!(
            items,
            ["Function", "Function", "SelectDb", "SlotInfo", "eof"]
        );
        // Before RDB 13, byte 243 is no opcode at all.
        let err = walk(&dump("REDIS0012", &body)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnknownType(243));
    }

    #[test]
    fn valkey_slot_import_and_hash2_with_field_ttls() {
        let body = [
            vec![OP_KEY_META_OR_SLOT_IMPORT],
            s(&[b'j'; 40]),
            len(1),
            len(0),
            len(100),
            vec![OP_SELECTDB, 0, 22],
            s(b"h"),
            len(2),
            s(b"f1"),
            s(b"v1"),
            (-1i64).to_le_bytes().to_vec(),
            s(b"f2"),
            s(b"v2"),
            1_900_000_000_000i64.to_le_bytes().to_vec(),
        ]
        .concat();
        let data = dump("VALKEY080", &body);
        let (keys, items) = walk(&data).unwrap();
        assert_eq!(keys, [(b"h".to_vec(), Encoding::Hashtable, 2, None)]);
        assert_eq!(items, ["SlotImport", "SelectDb", "eof"]);
        let record = Records::new(&data)
            .unwrap()
            .find_map(|e| match e.unwrap() {
                Entry::Key(r) => Some(r),
                _ => None,
            })
            .unwrap();
        let mut ttls = Vec::new();
        let ctx = Context::for_dump(&data).unwrap();
        walk_value(&record, &ctx, &mut Scratch::default(), &mut |item| {
            if let ValueItem::Field { expire_at_ms, .. } = item {
                ttls.push(expire_at_ms);
            }
        })
        .unwrap();
        assert_eq!(ttls, [None, Some(1_900_000_000_000)]);
    }

    #[test]
    fn redis_7_4_release_candidate_hash_types() {
        let lp = ListpackBuilder::new()
            .string(b"f")
            .string(b"v")
            .int_as(0xF4, 1_800_000_000_000)
            .finish();
        let body = [
            vec![OP_SELECTDB, 0, 22],
            s(b"meta"),
            len(1),
            len(1_800_000_000_000),
            s(b"f"),
            s(b"v"),
            vec![23],
            s(b"lpex"),
            s(&lp),
        ]
        .concat();
        let (keys, _) = walk(&dump("REDIS0012", &body)).unwrap();
        assert_eq!(keys[0], (b"meta".to_vec(), Encoding::Hashtable, 1, None));
        assert_eq!(keys[1], (b"lpex".to_vec(), Encoding::ListpackEx, 1, None));
    }

    #[test]
    fn unskippable_and_unknown_types_are_errors_at_their_offset() {
        let body = [vec![OP_SELECTDB, 0, 6], s(b"k"), len(1)].concat();
        let err = walk(&dump("REDIS0009", &body)).unwrap_err();
        assert_eq!(err.offset, 11);
        assert!(matches!(err.kind, ErrorKind::UnframedModule(_)));
        let err = walk(&dump("REDIS0009", &[OP_SELECTDB, 0, 8])).unwrap_err();
        assert_eq!((err.offset, err.kind), (11, ErrorKind::UnknownType(8)));
        // A module value with an opcode outside the framing is corrupt, and names the key.
        let body = [vec![7], s(b"m"), len(1), len(6)].concat();
        let err = walk(&dump("REDIS0009", &body)).unwrap_err();
        assert_eq!((err.offset, err.key.as_deref()), (13, Some("m")));
        assert_eq!(err.kind, ErrorKind::BadModuleOpcode(6));
    }
}
