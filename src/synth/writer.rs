//! The RDB encoder: every opcode and layout the parser reads, in the forms servers write
//! them (shortest lengths, integer and LZF strings by `rdbSaveRawString`'s rules, blob entry
//! encodings by the server's own choices), streamed to any `Write` with the CRC-64 computed on
//! the way.

use std::fmt;
use std::io::{self, Write};

use super::blob::{
    CompactBuilder, ListpackBuilder, ZiplistBuilder, ZipmapBuilder, canonical_int, intset,
    intset_width,
};
use super::value::{Field, KeyRecord, Stream, StreamId, Value};
use crate::rdb::crc64::crc64;
use crate::rdb::lzf::Compressor;
use crate::rdb::records::{
    OP_AUX, OP_EOF, OP_EXPIRETIME, OP_EXPIRETIME_MS, OP_FREQ, OP_FUNCTION2, OP_IDLE, OP_RESIZEDB,
    OP_SELECTDB,
};
use crate::rdb::{Header, ValueType};

/// Server settings that shape what is written.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `rdbcompression`: strings over 20 bytes are stored LZF-compressed when that saves at
    /// least 4 bytes.
    pub compress: bool,
    /// Quicklist node size limit (`list-max-listpack-size -2`: 8 KiB).
    pub list_node_bytes: usize,
    /// List elements this long get a plain node of their own (RDB 10+; `packed_threshold`).
    pub plain_node_bytes: usize,
    /// `stream-node-max-entries` and `stream-node-max-bytes`.
    pub stream_node_entries: usize,
    pub stream_node_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            compress: true,
            list_node_bytes: 8192,
            plain_node_bytes: 1 << 30,
            stream_node_entries: 100,
            stream_node_bytes: 4096,
        }
    }
}

#[derive(Debug)]
pub enum WriteError {
    Io(io::Error),
    /// The format version cannot express the request, or the value does not fit the layout.
    Unsupported(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "{e}"),
            WriteError::Unsupported(why) => write!(f, "cannot write this: {why}"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> WriteError {
        WriteError::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, WriteError>;

fn unsupported<T>(why: impl Into<String>) -> Result<T> {
    Err(WriteError::Unsupported(why.into()))
}

/// Appends a length in its shortest form (rdb-format.md §3.1).
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    match n {
        0..64 => out.push(n as u8),
        64..16384 => out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
        _ if n <= u64::from(u32::MAX) => {
            out.push(0x80);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(0x81);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Appends a string as its length and bytes, never integer-encoded or compressed.
pub fn put_raw_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends an integer-encoded string (0xC0..0xC2) in the narrowest width.
pub fn put_int_string(out: &mut Vec<u8>, v: i32) {
    if let Ok(b) = i8::try_from(v) {
        out.extend_from_slice(&[0xC0, b as u8]);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&h.to_le_bytes());
    } else {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends an LZF string (0xC3): both lengths, then the compressed bytes.
pub fn put_lzf_string(out: &mut Vec<u8>, compressed: &[u8], original_len: usize) {
    out.push(0xC3);
    put_len(out, compressed.len() as u64);
    put_len(out, original_len as u64);
    out.extend_from_slice(compressed);
}

/// Strings as `rdbSaveRawString` stores them: an integer if the bytes are a canonical one
/// that fits 32 bits, else LZF when compression is on, the string is over 20 bytes and the
/// result fits in 4 bytes less, else verbatim.
pub struct StringEncoder {
    compress: bool,
    compressor: Compressor,
    packed: Vec<u8>,
}

impl StringEncoder {
    pub fn new(compress: bool) -> StringEncoder {
        StringEncoder {
            compress,
            compressor: Compressor::default(),
            packed: Vec::new(),
        }
    }

    pub fn put(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        if bytes.len() <= 11
            && let Some(v) = canonical_int(bytes).and_then(|v| i32::try_from(v).ok())
        {
            put_int_string(out, v);
        } else if self.compress
            && bytes.len() > 20
            && self
                .compressor
                .compress_into(bytes, bytes.len() - 4, &mut self.packed)
        {
            put_lzf_string(out, &self.packed, bytes.len());
        } else {
            put_raw_string(out, bytes);
        }
    }
}

/// A whole dump from a hand-built body: header, the body as it is, EOF and (RDB 5+) CRC-64.
pub fn dump(header: Header, body: &[u8]) -> Vec<u8> {
    let mut w = RdbWriter::new(Vec::new(), header, Options::default())
        .expect("writing to a Vec cannot fail");
    w.raw(body).expect("writing to a Vec cannot fail");
    w.finish().expect("writing to a Vec cannot fail").0
}

/// Writes a dump record by record; `finish` adds the EOF opcode and checksum.
pub struct RdbWriter<W: Write> {
    out: W,
    encoder: Encoder,
    /// The record being built, written out whole.
    record: Vec<u8>,
    crc: u64,
    written: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a dump of format `header` (`Header::new(Magic::Redis, 9)`, say).
    pub fn new(out: W, header: Header, options: Options) -> Result<RdbWriter<W>> {
        let mut w = RdbWriter {
            out,
            encoder: Encoder::new(header, options),
            record: Vec::new(),
            crc: 0,
            written: 0,
        };
        w.record.extend_from_slice(header.display().as_bytes());
        w.emit()?;
        Ok(w)
    }

    pub fn header(&self) -> Header {
        self.encoder.header
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// An AUX field (RDB 7+); integer-looking values are stored integer-encoded, as servers do.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.encoder.require(7, "AUX fields")?;
        self.record.push(OP_AUX);
        self.encoder.strings.put(&mut self.record, key);
        self.encoder.strings.put(&mut self.record, value);
        self.emit()
    }

    /// A function library (RDB 10+), as its source code.
    pub fn function(&mut self, code: &[u8]) -> Result<()> {
        self.encoder.require(10, "functions")?;
        self.record.push(OP_FUNCTION2);
        self.encoder.strings.put(&mut self.record, code);
        self.emit()
    }

    pub fn select_db(&mut self, db: u64) -> Result<()> {
        self.record.push(OP_SELECTDB);
        put_len(&mut self.record, db);
        self.emit()
    }

    /// The sizing hint of the selected database (RDB 7+).
    pub fn resize_db(&mut self, keys: u64, expires: u64) -> Result<()> {
        self.encoder.require(7, "RESIZEDB")?;
        self.record.push(OP_RESIZEDB);
        put_len(&mut self.record, keys);
        put_len(&mut self.record, expires);
        self.emit()
    }

    /// One key: its expiry/LRU/LFU opcodes, type byte, key and value. Nothing is written if
    /// the format cannot express it.
    pub fn key(&mut self, record: &KeyRecord) -> Result<()> {
        let built = self.encoder.key(&mut self.record, record);
        if built.is_err() {
            self.record.clear();
        }
        built?;
        self.emit()
    }

    /// Bytes as they are, for hand-built records (tests of odd or damaged input).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.record.extend_from_slice(bytes);
        self.emit()
    }

    /// Ends the dump: EOF and, from RDB 5 on, the CRC-64 of everything before it. Returns the
    /// output and the dump's size.
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.record.push(OP_EOF);
        self.emit()?;
        if self.encoder.header.has_checksum() {
            let crc = self.crc.to_le_bytes();
            self.out.write_all(&crc)?;
            self.written += crc.len() as u64;
        }
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn emit(&mut self) -> Result<()> {
        self.crc = crc64(self.crc, &self.record);
        self.out.write_all(&self.record)?;
        self.written += self.record.len() as u64;
        self.record.clear();
        Ok(())
    }
}

/// Encodes records into a buffer; knows the format version and server settings.
struct Encoder {
    header: Header,
    options: Options,
    strings: StringEncoder,
    listpack: ListpackBuilder,
    ziplist: ZiplistBuilder,
}

impl Encoder {
    fn new(header: Header, options: Options) -> Encoder {
        Encoder {
            header,
            options,
            strings: StringEncoder::new(options.compress),
            listpack: ListpackBuilder::new(),
            ziplist: ZiplistBuilder::for_version(header.version),
        }
    }

    fn require(&self, version: u32, what: &str) -> Result<()> {
        if self.header.version < version {
            return unsupported(format!(
                "{what} need RDB {version}, this is {}",
                self.header.display()
            ));
        }
        Ok(())
    }

    fn key(&mut self, out: &mut Vec<u8>, r: &KeyRecord) -> Result<()> {
        self.check_layout(r)?;
        if let Some(at) = r.expire_at_ms {
            if self.header.version >= 3 {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            } else {
                let Ok(seconds) = i32::try_from(at / 1000) else {
                    return unsupported(format!("expiry {at} ms does not fit RDB 1-2 seconds"));
                };
                out.push(OP_EXPIRETIME);
                out.extend_from_slice(&seconds.to_le_bytes());
            }
        }
        if let Some(idle) = r.idle_s {
            self.require(9, "LRU idle times")?;
            out.push(OP_IDLE);
            put_len(out, idle);
        }
        if let Some(freq) = r.freq {
            self.require(9, "LFU counters")?;
            out.extend_from_slice(&[OP_FREQ, freq]);
        }
        out.push(r.layout.byte());
        self.strings.put(out, &r.key);
        self.value(out, r.layout, &r.value)
    }

    /// The layout must exist in this format and hold this kind of value.
    fn check_layout(&self, r: &KeyRecord) -> Result<()> {
        use ValueType::*;
        let since = match r.layout {
            String | ListLinked | SetHashtable | ZsetText | Hash => 1,
            HashZipmap | ListZiplist | SetIntset | ZsetZiplist => 2,
            HashZiplist => 4,
            ListQuicklist => 7,
            Zset2 | Module2 => 8,
            Stream(1) => 9,
            HashListpack | ZsetListpack | ListQuicklist2 | Stream(2) => 10,
            SetListpack | Stream(3) => 11,
            HashMetadataPreGa | HashListpackExPreGa | HashMetadata | HashListpackEx => 12,
            Stream(_) => 13,
            ValkeyHash2 => 80,
        };
        if ValueType::from_byte(r.layout.byte(), &self.header) != Some(r.layout)
            || self.header.version < since
        {
            return unsupported(format!("{:?} in {}", r.layout, self.header.display()));
        }
        if r.layout.key_type() != r.value.key_type() {
            return unsupported(format!(
                "a {} value in layout {:?}",
                r.value.key_type().as_str(),
                r.layout
            ));
        }
        Ok(())
    }

    fn value(&mut self, out: &mut Vec<u8>, layout: ValueType, value: &Value) -> Result<()> {
        use ValueType as T;
        match (layout, value) {
            (T::String, Value::String(s)) => self.strings.put(out, s),
            (T::ListLinked, Value::List(items)) | (T::SetHashtable, Value::Set(items)) => {
                put_len(out, items.len() as u64);
                for item in items {
                    self.strings.put(out, item);
                }
            }
            (T::ZsetText | T::Zset2, Value::Zset(members)) => {
                put_len(out, members.len() as u64);
                for (member, score) in members {
                    check_score(*score)?;
                    self.strings.put(out, member);
                    if layout == T::Zset2 {
                        out.extend_from_slice(&score.to_le_bytes());
                    } else {
                        put_text_double(out, *score);
                    }
                }
            }
            (T::ListZiplist, Value::List(items)) => {
                let blob = compact(&mut self.ziplist, items);
                self.strings.put(out, &blob);
            }
            (T::SetListpack, Value::Set(items)) => {
                let blob = compact(&mut self.listpack, items);
                self.strings.put(out, &blob);
            }
            (T::SetIntset, Value::Set(items)) => {
                let mut members = Vec::with_capacity(items.len());
                for item in items {
                    let Some(v) = canonical_int(item) else {
                        return unsupported("an intset member that is not an integer");
                    };
                    members.push(v);
                }
                // Intsets are kept sorted; a set has no order of its own.
                members.sort_unstable();
                if members.windows(2).any(|w| w[0] == w[1]) || members.is_empty() {
                    return unsupported("an intset must be non-empty with unique members");
                }
                self.strings
                    .put(out, &intset(intset_width(&members), &members));
            }
            (T::ZsetZiplist | T::ZsetListpack, Value::Zset(members)) => {
                let mut flat = Vec::with_capacity(2 * members.len());
                for (member, score) in members {
                    check_score(*score)?;
                    flat.push(member.clone());
                    flat.push(score_text(*score).into_bytes());
                }
                let blob = if layout == T::ZsetZiplist {
                    compact(&mut self.ziplist, &flat)
                } else {
                    compact(&mut self.listpack, &flat)
                };
                self.strings.put(out, &blob);
            }
            (T::ListQuicklist, Value::List(items)) => {
                let nodes = quicklist_nodes(&mut self.ziplist, items, self.options, false);
                self.put_nodes(out, false, nodes);
            }
            (T::ListQuicklist2, Value::List(items)) => {
                let nodes = quicklist_nodes(&mut self.listpack, items, self.options, true);
                self.put_nodes(out, true, nodes);
            }
            (T::Stream(version), Value::Stream(stream)) => self.stream(out, version, stream),
            (_, Value::Hash(fields)) => self.hash(out, layout, fields)?,
            _ => {
                return unsupported(format!(
                    "a {} value in layout {layout:?}",
                    value.key_type().as_str()
                ));
            }
        }
        Ok(())
    }

    fn hash(&mut self, out: &mut Vec<u8>, layout: ValueType, fields: &[Field]) -> Result<()> {
        use ValueType as T;
        if !layout.has_field_ttls() && fields.iter().any(|f| f.expire_at_ms.is_some()) {
            return unsupported(format!("field TTLs in layout {layout:?}"));
        }
        if fields.iter().filter_map(|f| f.expire_at_ms).any(|t| t <= 0) {
            return unsupported("a field expiry at or before the epoch");
        }
        let min_expire = fields.iter().filter_map(|f| f.expire_at_ms).min();
        match layout {
            T::Hash => {
                put_len(out, fields.len() as u64);
                for f in fields {
                    self.strings.put(out, &f.name);
                    self.strings.put(out, &f.value);
                }
            }
            T::HashZipmap => {
                let mut map = ZipmapBuilder::new();
                for f in fields {
                    map.pair(&f.name, &f.value);
                }
                self.strings.put(out, &map.finish());
            }
            T::HashZiplist | T::HashListpack => {
                let flat = fields.iter().flat_map(|f| [&f.name, &f.value]);
                let blob = if layout == T::HashZiplist {
                    compact(&mut self.ziplist, flat)
                } else {
                    compact(&mut self.listpack, flat)
                };
                self.strings.put(out, &blob);
            }
            T::HashListpackEx | T::HashListpackExPreGa => {
                if layout == T::HashListpackEx {
                    out.extend_from_slice(&min_expire.unwrap_or(0).to_le_bytes());
                }
                // Triples are kept ordered by expiry, the ones without at the end.
                let mut order: Vec<&Field> = fields.iter().collect();
                order.sort_by_key(|f| f.expire_at_ms.unwrap_or(i64::MAX));
                for f in order {
                    self.listpack
                        .element(&f.name)
                        .element(&f.value)
                        .int(f.expire_at_ms.unwrap_or(0));
                }
                let blob = self.listpack.finish();
                self.strings.put(out, &blob);
            }
            T::HashMetadata | T::HashMetadataPreGa => {
                // TTLs are stored relative to the smallest one, plus 1 (0 means none).
                let base = match layout {
                    T::HashMetadata => {
                        let min = min_expire.unwrap_or(0);
                        out.extend_from_slice(&min.to_le_bytes());
                        min - 1
                    }
                    _ => 0,
                };
                put_len(out, fields.len() as u64);
                for f in fields {
                    put_len(out, f.expire_at_ms.map_or(0, |t| (t - base) as u64));
                    self.strings.put(out, &f.name);
                    self.strings.put(out, &f.value);
                }
            }
            T::ValkeyHash2 => {
                put_len(out, fields.len() as u64);
                for f in fields {
                    self.strings.put(out, &f.name);
                    self.strings.put(out, &f.value);
                    out.extend_from_slice(&f.expire_at_ms.unwrap_or(-1).to_le_bytes());
                }
            }
            _ => return unsupported(format!("a hash value in layout {layout:?}")),
        }
        Ok(())
    }

    /// A quicklist: its nodes, each behind its container kind in format 2.
    fn put_nodes(&mut self, out: &mut Vec<u8>, v2: bool, nodes: Vec<(u64, Vec<u8>)>) {
        put_len(out, nodes.len() as u64);
        for (container, node) in nodes {
            if v2 {
                put_len(out, container);
            }
            self.strings.put(out, &node);
        }
    }

    /// A stream of format `version` (1..=4): node listpacks as `streamAppendItem` builds them,
    /// then the metadata and consumer groups.
    fn stream(&mut self, out: &mut Vec<u8>, version: u8, s: &Stream) {
        let nodes = self.stream_nodes(s);
        put_len(out, nodes.len() as u64);
        for (master, blob) in &nodes {
            self.strings.put(out, &id_bytes(*master));
            self.strings.put(out, blob);
        }
        let live = s.entries.iter().filter(|e| !e.deleted);
        let last_id = s.entries.last().map_or((0, 0), |e| e.id);
        put_len(out, live.clone().count() as u64);
        put_id(out, last_id);
        if version >= 2 {
            let first_id = live.clone().next().map_or((0, 0), |e| e.id);
            let max_deleted = s
                .entries
                .iter()
                .filter(|e| e.deleted)
                .map(|e| e.id)
                .max()
                .unwrap_or((0, 0));
            put_id(out, first_id);
            put_id(out, max_deleted);
            put_len(out, s.entries.len() as u64);
        }
        put_len(out, s.groups.len() as u64);
        for g in &s.groups {
            self.strings.put(out, &g.name);
            put_id(out, g.last_id);
            if version >= 2 {
                put_len(out, g.entries_read.unwrap_or(u64::MAX));
            }
            let pel = g.pending();
            put_len(out, pel.len() as u64);
            for p in pel {
                out.extend_from_slice(&id_bytes(p.id));
                out.extend_from_slice(&p.delivery_time_ms.to_le_bytes());
                put_len(out, p.delivery_count);
            }
            put_len(out, g.consumers.len() as u64);
            for c in &g.consumers {
                self.strings.put(out, &c.name);
                out.extend_from_slice(&c.seen_time_ms.to_le_bytes());
                if version >= 3 {
                    out.extend_from_slice(&c.active_time_ms.to_le_bytes());
                }
                put_len(out, c.pending.len() as u64);
                for p in &c.pending {
                    out.extend_from_slice(&id_bytes(p.id));
                }
            }
        }
        if version >= 4 {
            // Idempotent-producer settings (duration, max entries), no producers, no IDs.
            for n in [100, 100, 0, 0, 0] {
                put_len(out, n);
            }
        }
    }

    /// Splits the entries into nodes the way appends fill them, and encodes each.
    fn stream_nodes(&mut self, s: &Stream) -> Vec<(StreamId, Vec<u8>)> {
        let mut nodes = Vec::new();
        let mut start = 0;
        while start < s.entries.len() {
            let mut end = start + 1;
            let mut bytes = 0;
            while end < s.entries.len() && end - start < self.options.stream_node_entries {
                bytes += s.entries[end - 1]
                    .fields
                    .iter()
                    .map(|(f, v)| f.len() + v.len() + 4)
                    .sum::<usize>();
                if bytes >= self.options.stream_node_bytes {
                    break;
                }
                end += 1;
            }
            nodes.push(self.stream_node(&s.entries[start..end]));
            start = end;
        }
        nodes
    }

    fn stream_node(&mut self, entries: &[super::value::StreamEntry]) -> (StreamId, Vec<u8>) {
        const DELETED: i64 = 1;
        const SAME_FIELDS: i64 = 2;
        let master = entries[0].id;
        let master_fields = &entries[0].fields;
        let deleted = entries.iter().filter(|e| e.deleted).count();
        let lp = &mut self.listpack;
        lp.int((entries.len() - deleted) as i64)
            .int(deleted as i64)
            .int(master_fields.len() as i64);
        for (name, _) in master_fields {
            lp.element(name);
        }
        lp.int(0);
        for e in entries {
            let same = e.fields.len() == master_fields.len()
                && e.fields.iter().zip(master_fields).all(|(a, b)| a.0 == b.0);
            let flags = if e.deleted { DELETED } else { 0 } | if same { SAME_FIELDS } else { 0 };
            lp.int(flags)
                .int(e.id.0.wrapping_sub(master.0) as i64)
                .int(e.id.1.wrapping_sub(master.1) as i64);
            let n = e.fields.len() as i64;
            if same {
                for (_, value) in &e.fields {
                    lp.element(value);
                }
                lp.int(n + 3);
            } else {
                lp.int(n);
                for (name, value) in &e.fields {
                    lp.element(name).element(value);
                }
                lp.int(2 * n + 4);
            }
        }
        (master, lp.finish())
    }
}

/// A compact blob of `elements`, each stored as the server stores it.
fn compact<B: CompactBuilder, E: AsRef<[u8]>>(
    builder: &mut B,
    elements: impl IntoIterator<Item = E>,
) -> Vec<u8> {
    for e in elements {
        builder.element(e.as_ref());
    }
    builder.finish()
}

/// Quicklist nodes (container 2 = packed, 1 = plain): each packed node filled while the
/// server's size estimate stays within the limit (`_quicklistNodeAllowInsert`), and in format
/// 2 (`plain`) elements over the threshold in plain nodes of their own.
fn quicklist_nodes<B: CompactBuilder>(
    builder: &mut B,
    items: &[Vec<u8>],
    options: Options,
    plain: bool,
) -> Vec<(u64, Vec<u8>)> {
    /// What the server adds to an element's length to estimate its entry size.
    const ENTRY_OVERHEAD: usize = 11;
    let mut nodes = Vec::new();
    for item in items {
        let alone = plain && item.len() >= options.plain_node_bytes;
        let full = builder.blob_len() + item.len() + ENTRY_OVERHEAD > options.list_node_bytes;
        if !builder.is_empty() && (alone || full) {
            nodes.push((2, builder.finish()));
        }
        if alone {
            nodes.push((1, item.clone()));
        } else {
            builder.element(item);
        }
    }
    if !builder.is_empty() {
        nodes.push((2, builder.finish()));
    }
    nodes
}

/// A stream ID as stored in rax keys and PELs: ms then seq, big-endian.
fn id_bytes((ms, seq): StreamId) -> [u8; 16] {
    let mut b = [0; 16];
    b[..8].copy_from_slice(&ms.to_be_bytes());
    b[8..].copy_from_slice(&seq.to_be_bytes());
    b
}

fn put_id(out: &mut Vec<u8>, (ms, seq): StreamId) {
    put_len(out, ms);
    put_len(out, seq);
}

fn check_score(score: f64) -> Result<()> {
    if score.is_nan() {
        return unsupported("a NaN sorted set score");
    }
    Ok(())
}

/// A type-3 score (`rdbSaveDoubleValue`): a length byte and the text, 254/255 for ±inf. Like
/// the server, it prints -0 as 0.
fn put_text_double(out: &mut Vec<u8>, score: f64) {
    if score.is_infinite() {
        out.push(if score > 0.0 { 254 } else { 255 });
    } else {
        let text = score_text(if score == 0.0 { 0.0 } else { score });
        out.push(text.len() as u8);
        out.extend_from_slice(text.as_bytes());
    }
}

/// A score as `d2string` prints it: `inf`, `-inf`, `-0`, integers in the exact range of a
/// double as integers, anything else as `%.17g`.
pub fn score_text(v: f64) -> String {
    /// |v| below 2^52: every integral double there is exactly an i64.
    const EXACT: f64 = 4_503_599_627_370_496.0;
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if v > -EXACT && v < EXACT && v.fract() == 0.0 {
        return (v as i64).to_string();
    }
    crate::rdb::score::ScoreText::g17(v).as_str().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_like_d2string() {
        for (v, text) in [
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (-0.0, "-0"),
            (3.0, "3"),
            (-4_503_599_627_370_495.0, "-4503599627370495"),
            (9_007_199_254_740_992.0, "9007199254740992"),
            (98_510_038_418_884_000.0, "98510038418884000"),
            (1e21, "1e+21"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(score_text(v), text, "{v:e}");
            if v.is_finite() {
                assert_eq!(text.parse::<f64>().unwrap().to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn strings_take_the_servers_forms() {
        let mut enc = StringEncoder::new(true);
        let mut out = Vec::new();
        for (input, stored) in [
            (&b"12"[..], &[0xC0, 12][..]),
            (b"-129", &[0xC1, 0x7F, 0xFF]),
            (b"2147483647", &[0xC2, 0xFF, 0xFF, 0xFF, 0x7F]),
            (b"2147483648", b"\x0a2147483648"),
            (b"007", b"\x03007"),
            (b"", b"\x00"),
        ] {
            out.clear();
            enc.put(&mut out, input);
            assert_eq!(out, stored, "{:?}", String::from_utf8_lossy(input));
        }
        // Over 20 bytes and compressible: LZF, with both lengths.
        out.clear();
        enc.put(&mut out, &[b'a'; 25]);
        assert_eq!(
            out,
            [0xC3, 9, 25, 1, b'a', b'a', 0xE0, 12, 0, 1, b'a', b'a']
        );
        // Compression off, or nothing saved: verbatim.
        let mut plain = StringEncoder::new(false);
        out.clear();
        plain.put(&mut out, &[b'a'; 25]);
        assert_eq!(out.len(), 26);
        out.clear();
        enc.put(&mut out, b"abcdefghijklmnopqrstuvwxyz");
        assert_eq!(out[0], 26);
    }

    #[test]
    fn lengths_take_the_shortest_form() {
        for (n, bytes) in [
            (63, vec![63]),
            (64, vec![0x40, 64]),
            (16383, vec![0x7F, 0xFF]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            put_len(&mut out, n);
            assert_eq!(out, bytes, "{n}");
        }
    }
}
