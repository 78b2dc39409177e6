//! Decoding values on worker threads: walks every element of a record's payload, whatever the
//! encoding, and derives the encoding the server held. `walk_value` is the one element walk;
//! `inspect` folds it into the per-key statistics the reports need.

use super::cursor::Cursor;
use super::error::{Error, Result};
use super::header::Header;
use super::intset::Intset;
use super::listpack::Listpack;
use super::module::{self, ModuleId};
use super::primitives::{Element, RdbStr};
use super::records::{Record, parse_score, read_text_double};
use super::server::{Family, ServerVersion};
use super::stream;
use super::types::{Encoding, KeyType, ValueType};
use super::ziplist::Ziplist;
use super::zipmap::Zipmap;

/// What decides an encoding the file alone does not pin down: the format, the release that
/// wrote it, and server settings.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub header: Header,
    /// The release that wrote the dump, from its AUX fields.
    pub server: Option<ServerVersion>,
    /// `list-max-listpack-size`: a one-node quicklist within it was a listpack list on 7.2+.
    pub list_max_listpack_size: i64,
    /// Valkey 8.1+: whether the writer's allocator left room for an expire field in a string
    /// object created without one, so that a later `EXPIRE` kept it `embstr` (glibc's 16-byte
    /// chunks usually do; a jemalloc size class of the exact size does not, and the object is
    /// re-created, `raw` when key, expire and value exceed 64 bytes, 128 on 9.x). `true`
    /// here; the commands set it from `--allocator` (`false` unless `libc`).
    pub expire_room_in_objects: bool,
    /// The dump's stored CRC-64 is checked when the scan ends, and a scan that does not end
    /// with it valid is run again with this off: until then the bytes are taken to be the
    /// server's, so a list's element count is read from its nodes' headers
    /// ([`shape_from_headers`]) rather than by decompressing and walking every node, as
    /// a server loads a dump with a valid checksum without walking its nodes either. Off
    /// unless the caller asks (`analyze` without `--keys`, whose summary never reads a
    /// list's or stream's elements; the advisor walks a big list itself).
    pub checksum_vouches: bool,
}

impl Context {
    pub fn new(header: Header, server: Option<ServerVersion>) -> Context {
        Context {
            header,
            server,
            list_max_listpack_size: -2,
            expire_room_in_objects: true,
            checksum_vouches: false,
        }
    }

    /// Reads the header and the writer's version from a dump.
    pub fn for_dump(data: &[u8]) -> super::error::Result<Context> {
        Ok(Context::new(
            Header::parse(data)?,
            ServerVersion::from_dump(data),
        ))
    }

    /// Whether a string value of `len` bytes was embedded in its object (`embstr`).
    fn is_embstr(&self, len: usize, key_len: usize, has_expire: bool) -> bool {
        // Valkey 8.1+ embeds the key (an sds with a 1-byte header-size prefix) in the object
        // too, so the value's room depends on it. An expire set after the value (the usual
        // SET then EXPIRE) does not re-encode it, as the servers' own OBJECT ENCODING shows.
        let embedded_key = 1 + sds_header_size(key_len) + key_len + 1;
        let value_sds8 = 3 + len + 1;
        let expire = if has_expire && !self.expire_room_in_objects {
            8
        } else {
            0
        };
        match self.server {
            // `shouldEmbedStringObject`: up to two cache lines, robj minus its pointer.
            Some(v) if v.at_least(Family::Valkey, 9, 0) => {
                len <= 255 && 8 + expire + embedded_key + value_sds8 <= 128
            }
            // `createStringObjectWithKeyAndExpire`: the whole robj within 64 bytes, for values
            // that were created embstr (44 bytes at most).
            Some(v) if v.at_least(Family::Valkey, 8, 1) => {
                len <= 44 && 16 + expire + embedded_key + value_sds8 <= 64
            }
            // Redis 3.2 raised the limit from 39 to 44 bytes; RDB 7 is 3.2's format.
            _ => len <= if self.header.version >= 7 { 44 } else { 39 },
        }
    }

    /// The encoding a string value of `len` bytes had: `int` when `is_integer` says the bytes
    /// are one `tryObjectEncoding` stores as a long (asked only within its 20 bytes), else
    /// embstr or raw by size.
    pub fn string_encoding(
        &self,
        len: usize,
        key_len: usize,
        is_integer: impl FnOnce() -> bool,
    ) -> Encoding {
        self.string_encoding_of_key(len, key_len, false, is_integer)
    }

    /// [`Context::string_encoding`] of a key with or without an expire (which matters on
    /// Valkey 8.1+: see [`Context::expire_room_in_objects`]).
    pub fn string_encoding_of_key(
        &self,
        len: usize,
        key_len: usize,
        has_expire: bool,
        is_integer: impl FnOnce() -> bool,
    ) -> Encoding {
        if len <= 20 && is_integer() {
            Encoding::Int
        } else if self.is_embstr(len, key_len, has_expire) {
            Encoding::Embstr
        } else {
            Encoding::Raw
        }
    }

    /// Listpack-encoded lists exist from Redis 7.2 (RDB 11) and in every Valkey.
    fn has_listpack_lists(&self) -> bool {
        self.header.version >= 11
    }

    /// Size and count limits of a listpack list node (`quicklistNodeLimit`).
    pub fn list_node_limits(&self) -> (u64, u64) {
        let fill = self.list_max_listpack_size;
        if fill >= 0 {
            (u64::MAX, fill.max(1) as u64)
        } else {
            let level = ((-fill - 1) as u32).min(4);
            (4096u64 << level, u64::MAX)
        }
    }
}

/// Reusable buffers for values that must be materialised (LZF, nested LZF nodes).
#[derive(Debug, Default)]
pub struct Scratch {
    outer: Vec<u8>,
    inner: Vec<u8>,
}

/// One element of a value, as `walk_value` hands it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueItem<'b> {
    /// A string value, list element or set member.
    Member(Element<'b>),
    /// A hash field and its value, with the field's own expiry where the encoding has one.
    Field {
        field: Element<'b>,
        value: Element<'b>,
        expire_at_ms: Option<i64>,
    },
    /// A sorted set member and its score.
    Scored {
        member: Element<'b>,
        score: Score<'b>,
    },
}

/// A sorted-set score as the dump holds it: a double, or the entry a listpack or ziplist
/// stores (the writer's text or integer form), checked to be a number by the walk unless the
/// checksum vouches for the bytes, and read as a double only when asked (pricing a compact
/// sorted set, or spelling the score as the writer did, never needs the double).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score<'b>(ScoreForm<'b>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum ScoreForm<'b> {
    Double(f64),
    Stored(Element<'b>),
}

impl<'b> Score<'b> {
    /// The score; `None` only for a stored text that is not a number, which the walk lets
    /// through when the checksum vouches for the bytes.
    pub fn value(&self) -> Option<f64> {
        match self.0 {
            ScoreForm::Double(v) => Some(v),
            ScoreForm::Stored(Element::Int(v)) => Some(v as f64),
            ScoreForm::Stored(Element::Bytes(b)) => score_text(b),
        }
    }

    /// The score as a listpack or ziplist stores it.
    pub fn stored(&self) -> Option<Element<'b>> {
        match self.0 {
            ScoreForm::Double(_) => None,
            ScoreForm::Stored(e) => Some(e),
        }
    }
}

/// A score stored as text, read as `parse_score` reads it.
fn score_text(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok().and_then(parse_score)
}

/// Whether [`score_text`] reads `b`: the plain decimals servers write (`-12.5`) are
/// recognised in one pass, anything else (exponents, `inf`) is parsed.
fn is_score_text(b: &[u8]) -> bool {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let mut dots = 0;
    let plain = digits.first().is_some_and(u8::is_ascii_digit)
        && digits.last().is_some_and(u8::is_ascii_digit)
        && digits.iter().all(|&c| {
            dots += usize::from(c == b'.');
            c.is_ascii_digit() || c == b'.'
        })
        && dots <= 1;
    plain || score_text(b).is_some()
}

/// The shape of a value: what the memory model and the reports need besides its elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    pub encoding: Option<Encoding>,
    /// Elements as the server counts them (`LLEN`, `HLEN`, ...; 1 for a string).
    pub elements: u64,
    /// Quicklist nodes, or stream nodes.
    pub nodes: u64,
    /// Bytes of the compact blobs (listpack, ziplist, intset, zipmap), decompressed.
    pub blob_bytes: u64,
    /// Boxed: the shape is returned with every key, and few are streams.
    pub stream: Option<Box<StreamStats>>,
    /// Boxed, as `stream`.
    pub module: Option<Box<ModuleId>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub entries: u64,
    pub deleted: u64,
    pub groups: u64,
    pub pending: u64,
    pub consumers: u64,
    pub last_id: (u64, u64),
}

/// Walks every element of `record`'s value with full validation of inner blobs, calling
/// `visit` for each, and returns the value's shape.
pub fn walk_value(
    record: &Record<'_>,
    ctx: &Context,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(ValueItem<'_>),
) -> Result<Shape> {
    walk(record, ctx, scratch, visit).map_err(|e| e.in_key(&record.key))
}

fn walk(
    record: &Record<'_>,
    ctx: &Context,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(ValueItem<'_>),
) -> Result<Shape> {
    use ValueType::*;
    let mut c = Cursor::new(record.payload, record.payload_offset);
    let c = &mut c;
    // A compact sorted set's score texts are checked to be numbers unless the checksum
    // vouches for the bytes (as a server loading a dump does not check them either): that
    // check was a fiftieth of `analyze` on a real dump.
    let check_scores = !ctx.checksum_vouches;
    let mut shape = Shape::default();
    let Scratch { outer, inner } = scratch;
    let encoding = match record.value_type {
        String => {
            // An integer-encoded value is visited as the integer, as blobs' integers are:
            // formatting its digits cost an allocation per key.
            let value = element(c.rdb_string("value")?, outer)?;
            visit(ValueItem::Member(value));
            shape.elements = 1;
            string_encoding(record, ctx, value.len(), Some(value))
        }
        ListLinked | SetHashtable => {
            let n = c.rdb_count(1, "element count")?;
            for _ in 0..n {
                let s = c.rdb_string("element")?;
                visit(ValueItem::Member(element(s, outer)?));
            }
            shape.elements = n;
            if record.value_type == ListLinked {
                Encoding::Linkedlist
            } else {
                Encoding::Hashtable
            }
        }
        Hash => {
            let n = c.rdb_count(2, "field count")?;
            for _ in 0..n {
                let field = c.rdb_string("field")?;
                let value = c.rdb_string("value")?;
                let field = element(field, outer)?;
                let value = element(value, inner)?;
                visit(ValueItem::Field {
                    field,
                    value,
                    expire_at_ms: None,
                });
            }
            shape.elements = n;
            Encoding::Hashtable
        }
        ZsetText | Zset2 => {
            let n = c.rdb_count(2, "member count")?;
            for _ in 0..n {
                let member = c.rdb_string("member")?;
                let at = c.offset();
                let score = if record.value_type == Zset2 {
                    f64::from_le_bytes(c.array("score")?)
                } else {
                    read_text_double(c)?
                };
                if score.is_nan() {
                    return Err(Error::corrupt(at, "sorted set score is NaN"));
                }
                visit(ValueItem::Scored {
                    member: element(member, outer)?,
                    score: Score(ScoreForm::Double(score)),
                });
            }
            shape.elements = n;
            Encoding::Skiplist
        }
        HashMetadata | HashMetadataPreGa => {
            let min_expire = if record.value_type == HashMetadata {
                Some(c.i64_le("minimum field expiry")?)
            } else {
                None
            };
            let n = c.rdb_count(3, "field count")?;
            for _ in 0..n {
                let ttl = c.rdb_len("field expiry")?;
                let field = element(c.rdb_string("field")?, outer)?;
                let value = element(c.rdb_string("value")?, inner)?;
                let expire_at_ms = match (ttl, min_expire) {
                    (0, _) => None,
                    (t, Some(min)) => Some((t as i64).wrapping_add(min).wrapping_sub(1)),
                    (t, None) => Some(t as i64),
                };
                visit(ValueItem::Field {
                    field,
                    value,
                    expire_at_ms,
                });
            }
            shape.elements = n;
            Encoding::Hashtable
        }
        ValkeyHash2 => {
            let n = c.rdb_count(10, "field count")?;
            for _ in 0..n {
                let field = c.rdb_string("field")?;
                let value = c.rdb_string("value")?;
                let at = c.offset();
                let expiry = c.i64_le("field expiry")?;
                if expiry < -1 {
                    return Err(Error::corrupt(
                        at,
                        format!("field expiry {expiry} is invalid"),
                    ));
                }
                let field = element(field, outer)?;
                let value = element(value, inner)?;
                let expire_at_ms = (expiry != -1).then_some(expiry);
                visit(ValueItem::Field {
                    field,
                    value,
                    expire_at_ms,
                });
            }
            shape.elements = n;
            Encoding::Hashtable
        }
        HashZipmap => {
            let (blob, origin) = read_blob(c, "zipmap", outer)?;
            shape.blob_bytes = blob.len() as u64;
            shape.elements = origin.locate((|| {
                let mut n = 0;
                for pair in Zipmap::new(blob, origin.base)?.iter() {
                    let (field, value) = pair?;
                    let (field, value) = (Element::Bytes(field), Element::Bytes(value));
                    visit(ValueItem::Field {
                        field,
                        value,
                        expire_at_ms: None,
                    });
                    n += 1;
                }
                Ok(n)
            })())?;
            Encoding::Zipmap
        }
        SetIntset => {
            let (blob, origin) = read_blob(c, "intset", outer)?;
            shape.blob_bytes = blob.len() as u64;
            let set = origin.locate(
                Intset::new(blob, origin.base).and_then(|set| set.validate().map(|_| set)),
            )?;
            for v in set.iter() {
                visit(ValueItem::Member(Element::Int(v)));
            }
            shape.elements = set.len();
            Encoding::Intset
        }
        ListZiplist | ZsetZiplist | HashZiplist => {
            let (blob, origin) = read_blob(c, "ziplist", outer)?;
            shape.blob_bytes = blob.len() as u64;
            let key_type = record.value_type.key_type();
            shape.elements = origin
                .locate(Ziplist::new(blob, origin.base).and_then(|z| {
                    visit_flat(key_type, z.iter(), origin.base, check_scores, visit)
                }))?;
            Encoding::Ziplist
        }
        HashListpack | ZsetListpack | SetListpack => {
            let (blob, origin) = read_blob(c, "listpack", outer)?;
            shape.blob_bytes = blob.len() as u64;
            let key_type = record.value_type.key_type();
            shape.elements = origin
                .locate(Listpack::new(blob, origin.base).and_then(|l| {
                    visit_flat(key_type, l.iter(), origin.base, check_scores, visit)
                }))?;
            Encoding::Listpack
        }
        HashListpackEx | HashListpackExPreGa => {
            if record.value_type == HashListpackEx {
                c.i64_le("minimum field expiry")?;
            }
            let (blob, origin) = read_blob(c, "listpack", outer)?;
            shape.blob_bytes = blob.len() as u64;
            let at = origin.base;
            shape.elements = origin.locate((|| {
                let mut n = 0;
                let mut items = Listpack::new(blob, at)?.iter();
                while let Some(field) = items.next() {
                    let field = field?;
                    let value = items.next().ok_or_else(|| odd_tuple(at))??;
                    let ttl = items.next().ok_or_else(|| odd_tuple(at))??;
                    let ttl = ttl
                        .as_int()
                        .ok_or_else(|| Error::corrupt(at, "field TTL is not an integer"))?;
                    let expire_at_ms = (ttl != 0).then_some(ttl);
                    visit(ValueItem::Field {
                        field,
                        value,
                        expire_at_ms,
                    });
                    n += 1;
                }
                Ok(n)
            })())?;
            Encoding::ListpackEx
        }
        ListQuicklist | ListQuicklist2 => {
            let nodes = c.rdb_count(2, "quicklist node count")?;
            let mut packed_nodes = 0;
            for _ in 0..nodes {
                let container = if record.value_type == ListQuicklist2 {
                    c.rdb_len("quicklist container")?
                } else {
                    2
                };
                let (node, origin) = read_blob(c, "quicklist node", outer)?;
                let at = origin.base;
                match container {
                    1 => {
                        visit(ValueItem::Member(Element::Bytes(node)));
                        shape.elements += 1;
                    }
                    2 => {
                        shape.blob_bytes += node.len() as u64;
                        packed_nodes += 1;
                        shape.elements += origin.locate(if record.value_type == ListQuicklist {
                            Ziplist::new(node, at)
                                .and_then(|z| visit_flat(KeyType::List, z.iter(), at, true, visit))
                        } else {
                            Listpack::new(node, at)
                                .and_then(|l| visit_flat(KeyType::List, l.iter(), at, true, visit))
                        })?;
                    }
                    other => {
                        return Err(Error::corrupt(
                            at,
                            format!("quicklist container {other} is not 1 or 2"),
                        ));
                    }
                }
            }
            shape.nodes = nodes;
            quicklist_encoding(ctx, record.value_type, &shape, packed_nodes)
        }
        Stream(version) => {
            let mut counts = stream::NodeCounts::default();
            let meta = stream::walk(c, version, |_, listpack, end| {
                let origin = Blob::of(listpack, end);
                let bytes = listpack.decode(outer)?;
                let node =
                    origin.locate(stream::decode_node(bytes, origin.base, |field, value| {
                        visit(ValueItem::Field {
                            field,
                            value,
                            expire_at_ms: None,
                        })
                    }))?;
                counts.live += node.live;
                counts.deleted += node.deleted;
                Ok(())
            })?;
            stream_shape(&mut shape, &meta, counts)
                .map_err(|why| Error::corrupt(record.payload_offset, why))?;
            Encoding::Stream
        }
        Module2 => {
            shape.module = Some(Box::new(ModuleId::decode(c.rdb_len("module id")?)));
            module::skip_framed(c)?;
            Encoding::Raw
        }
    };
    if !c.is_empty() {
        return Err(c.corrupt("value has trailing bytes"));
    }
    shape.encoding = Some(encoding);
    Ok(shape)
}

/// Where a blob string's bytes sit, for error offsets.
#[derive(Debug, Clone, Copy)]
struct Blob {
    /// File offset of the blob's first byte, or of the compressed string.
    base: u64,
    /// LZF (or INT) strings are materialised: positions inside them are not file offsets.
    materialised: bool,
}

impl Blob {
    /// Describes a string that the cursor has just read, ending at file offset `end`.
    fn of(s: RdbStr<'_>, end: u64) -> Blob {
        match s {
            RdbStr::Raw(bytes) => Blob {
                base: end - bytes.len() as u64,
                materialised: false,
            },
            RdbStr::Lzf { offset, .. } => Blob {
                base: offset,
                materialised: true,
            },
            RdbStr::Int(_) => Blob {
                base: end,
                materialised: true,
            },
        }
    }

    /// Reports an error found inside a materialised blob at the string itself, saying how far
    /// into the decoded bytes it was.
    fn locate<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|e| {
            if self.materialised && e.offset >= self.base {
                let kind = super::error::ErrorKind::Corrupt(format!(
                    "{} bytes into LZF-compressed data: {}",
                    e.offset - self.base,
                    e.kind
                ));
                Error {
                    offset: self.base,
                    kind,
                    key: e.key,
                }
            } else {
                e
            }
        })
    }
}

/// Reads a blob string and decodes it into `scratch` if it is compressed.
fn read_blob<'d: 's, 's>(
    c: &mut Cursor<'d>,
    what: &'static str,
    scratch: &'s mut Vec<u8>,
) -> Result<(&'s [u8], Blob)> {
    let s = c.rdb_string(what)?;
    let origin = Blob::of(s, c.offset());
    Ok((s.decode(scratch)?, origin))
}

/// The encoding of a quicklist record of `shape` (nodes, blob bytes and elements counted):
/// on 7.2+ one packed node within `list-max-listpack-size` was a listpack list.
fn quicklist_encoding(ctx: &Context, layout: ValueType, shape: &Shape, packed: u64) -> Encoding {
    let (size_limit, count_limit) = ctx.list_node_limits();
    let one_small_node = shape.nodes == 1
        && packed == 1
        && shape.blob_bytes <= size_limit
        && shape.elements <= count_limit;
    if layout == ValueType::ListQuicklist2 && ctx.has_listpack_lists() && one_small_node {
        Encoding::Listpack
    } else {
        Encoding::Quicklist
    }
}

/// The shape of a list or stream read from its nodes' headers alone, decompressing and
/// walking none of them: for a dump whose checksum vouches for its bytes
/// ([`Context::checksum_vouches`]). `None` for other values, and where a walk must decide
/// (see [`list_shape_from_headers`]).
pub fn shape_from_headers(record: &Record<'_>, ctx: &Context) -> Option<Shape> {
    match record.value_type {
        ValueType::ListQuicklist => list_shape_from_headers(record, ctx, true),
        ValueType::ListQuicklist2 => list_shape_from_headers(record, ctx, false),
        ValueType::Stream(version) => stream_shape_from_headers(record, version),
        _ => None,
    }
}

/// A quicklist's shape from its nodes' headers alone: nodes, blob bytes (declared lengths
/// of compressed nodes), and elements from each ziplist's `zllen` or listpack's
/// `num_elements` (a compressed node's header decompressed on its own), without
/// decompressing or walking any node. For a dump whose checksum vouches for its bytes
/// ([`Context::checksum_vouches`]). `None` where a walk must decide: a count that saturated
/// at 65535, a header that disagrees with its blob, anything malformed (the walk reports
/// it). `largest_element` and `element_bytes` are not known this way.
fn list_shape_from_headers(record: &Record<'_>, ctx: &Context, ziplists: bool) -> Option<Shape> {
    let mut c = Cursor::new(record.payload, record.payload_offset);
    let nodes = c.rdb_count(2, "quicklist node count").ok()?;
    let mut shape = Shape {
        nodes,
        ..Shape::default()
    };
    let mut packed = 0;
    for _ in 0..nodes {
        let container = if ziplists {
            2
        } else {
            c.rdb_len("quicklist container").ok()?
        };
        let node = c.rdb_string("quicklist node").ok()?;
        match container {
            1 => shape.elements += 1,
            2 => {
                shape.elements += u64::from(packed_count(node, ziplists)?);
                shape.blob_bytes += node.len() as u64;
                packed += 1;
            }
            _ => return None,
        }
    }
    if !c.is_empty() {
        return None;
    }
    shape.encoding = Some(quicklist_encoding(ctx, record.value_type, &shape, packed));
    Some(shape)
}

/// Fills in a stream's shape from its walk: `meta`, and the entries its nodes hold, which
/// must be the stream's length.
fn stream_shape(
    shape: &mut Shape,
    meta: &stream::StreamMeta,
    counts: stream::NodeCounts,
) -> std::result::Result<(), String> {
    if counts.live != meta.length {
        return Err(format!(
            "stream length {} but its nodes hold {} entries",
            meta.length, counts.live
        ));
    }
    shape.nodes = meta.nodes;
    shape.blob_bytes = meta.node_bytes;
    shape.elements = meta.length;
    shape.stream = Some(Box::new(StreamStats {
        entries: counts.live,
        deleted: counts.deleted,
        groups: meta.groups,
        pending: meta.pending,
        consumers: meta.consumers,
        last_id: meta.last_id,
    }));
    Ok(())
}

/// A stream's shape with each node's entry counts read from the start of its master entry
/// ([`stream::node_counts_in_header`]) rather than by decompressing and walking the node.
/// As [`list_shape_from_headers`], for a dump whose checksum vouches for its bytes.
fn stream_shape_from_headers(record: &Record<'_>, version: u8) -> Option<Shape> {
    let mut c = Cursor::new(record.payload, record.payload_offset);
    let mut counts = Some(stream::NodeCounts::default());
    let meta = stream::walk(&mut c, version, |_, listpack, _| {
        counts = counts
            .zip(stream::node_counts_in_header(listpack))
            .and_then(|(all, node)| {
                Some(stream::NodeCounts {
                    live: all.live.checked_add(node.live)?,
                    deleted: all.deleted.checked_add(node.deleted)?,
                })
            });
        Ok(())
    })
    .ok()?;
    let counts = counts?;
    if !c.is_empty() {
        return None;
    }
    let mut shape = Shape::default();
    stream_shape(&mut shape, &meta, counts).ok()?;
    shape.encoding = Some(Encoding::Stream);
    Some(shape)
}

/// The element count in a packed quicklist node's header.
fn packed_count(node: RdbStr<'_>, ziplist: bool) -> Option<u16> {
    fn header<const N: usize>(node: RdbStr<'_>) -> Option<[u8; N]> {
        node.prefix(&mut [0; N])?.try_into().ok()
    }
    if ziplist {
        Ziplist::count_in_header(&header(node)?, node.len())
    } else {
        Listpack::count_in_header(&header(node)?, node.len())
    }
}

fn odd_tuple(at: u64) -> Error {
    Error::corrupt(
        at,
        "listpack element count is not a multiple of the tuple size",
    )
}

/// Decodes an RDB string element, borrowing where possible.
fn element<'s>(s: RdbStr<'s>, scratch: &'s mut Vec<u8>) -> Result<Element<'s>> {
    Ok(match s {
        RdbStr::Int(v) => Element::Int(v),
        other => Element::Bytes(other.decode(scratch)?),
    })
}

/// Visits a flat compact blob: members for lists and sets, pairs for hashes and sorted sets.
fn visit_flat<'b>(
    key_type: KeyType,
    mut items: impl Iterator<Item = Result<Element<'b>>>,
    at: u64,
    check_scores: bool,
    visit: &mut dyn FnMut(ValueItem<'_>),
) -> Result<u64> {
    let mut n = 0;
    while let Some(first) = items.next() {
        let first = first?;
        match key_type {
            KeyType::Hash => {
                let value = items.next().ok_or_else(|| odd_tuple(at))??;
                visit(ValueItem::Field {
                    field: first,
                    value,
                    expire_at_ms: None,
                });
            }
            KeyType::Zset => {
                let stored = items.next().ok_or_else(|| odd_tuple(at))??;
                if let Element::Bytes(b) = stored
                    && check_scores
                    && !is_score_text(b)
                {
                    return Err(Error::corrupt(at, "sorted set score is not a number"));
                }
                visit(ValueItem::Scored {
                    member: first,
                    score: Score(ScoreForm::Stored(stored)),
                });
            }
            _ => visit(ValueItem::Member(first)),
        }
        n += 1;
    }
    Ok(n)
}

/// Whether `string2ll` accepts the bytes exactly (no sign but '-', no leading zeros, no
/// "-0", fits in i64) within the 20 bytes `tryObjectEncoding` considers.
pub fn is_redis_integer(bytes: &[u8]) -> bool {
    redis_integer(bytes).is_some()
}

/// The value of bytes [`is_redis_integer`] accepts.
#[inline]
pub fn redis_integer(bytes: &[u8]) -> Option<i64> {
    // Called for every element the memory model prices: most are told apart by their first
    // byte, and the digits are accumulated in one pass rather than checked, converted to
    // text and parsed again.
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] if bytes.len() <= 20 => {}
        _ => return None,
    }
    let mut value = 0u64;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    if negative {
        0i64.checked_sub_unsigned(value)
    } else {
        i64::try_from(value).ok()
    }
}

/// Header bytes of the sds type Redis picks for a string of `len` bytes (`sdsReqType`).
#[inline]
pub fn sds_header_size(len: usize) -> usize {
    match len {
        0..32 => 1,
        32..256 => 3,
        256..65536 => 5,
        _ if (len as u64) < 1 << 32 => 9,
        _ => 17,
    }
}

/// Per-key statistics: the value's shape plus element size figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueStats {
    pub key_type: Option<KeyType>,
    pub shape: Shape,
    /// The largest element in bytes (member, field or value; the string itself for strings);
    /// 0 for a list or stream read from its nodes' headers ([`shape_from_headers`]).
    pub largest_element: u64,
    /// Bytes of all elements (members; fields and values) as Redis returns them; 0 where
    /// `largest_element` is.
    pub element_bytes: u64,
}

impl ValueStats {
    pub fn encoding(&self) -> Encoding {
        self.shape.encoding.unwrap_or(Encoding::Raw)
    }
}

/// Walks a record's value and folds it into `ValueStats`.
pub fn inspect(record: &Record<'_>, ctx: &Context, scratch: &mut Scratch) -> Result<ValueStats> {
    if let Some((stats, _)) = string_stats(record, ctx).map_err(|e| e.in_key(&record.key))? {
        return Ok(stats);
    }
    let mut largest = 0u64;
    let mut total = 0u64;
    let mut add = |len: usize| {
        largest = largest.max(len as u64);
        total += len as u64;
    };
    let shape = walk_value(record, ctx, scratch, &mut |item| match item {
        ValueItem::Member(e) => add(e.len()),
        ValueItem::Scored { member, .. } => add(member.len()),
        ValueItem::Field { field, value, .. } => {
            add(field.len());
            add(value.len());
        }
    })?;
    Ok(ValueStats {
        key_type: Some(record.value_type.key_type()),
        shape,
        largest_element: largest,
        element_bytes: total,
    })
}

/// The statistics of a string value from one read of it, without the walk, and the value
/// as read. One stored LZF-compressed and longer than 20 bytes is not
/// decompressed: that long it cannot be an integer, so its length decides the encoding, and
/// once the compressed data checks out its declared length is exact (decompressing only to
/// count bytes was the largest cost of reading string-heavy dumps); while the checksum
/// vouches for the bytes ([`Context::checksum_vouches`]) the declared length is taken as it
/// is. `None` for any other value (the walk then reads it, and reports any damage).
pub fn string_stats<'a>(
    record: &Record<'a>,
    ctx: &Context,
) -> Result<Option<(ValueStats, RdbStr<'a>)>> {
    if record.value_type != ValueType::String {
        return Ok(None);
    }
    let mut c = Cursor::new(record.payload, record.payload_offset);
    let value = c.rdb_string("value")?;
    if !c.is_empty() {
        return Ok(None);
    }
    let (len, element) = match value {
        RdbStr::Raw(bytes) => (bytes.len(), Some(Element::Bytes(bytes))),
        RdbStr::Int(v) => (value.len(), Some(Element::Int(v))),
        _ => match stored_lzf_of(value) {
            Some((compressed, original_len, offset)) => {
                if !ctx.checksum_vouches {
                    super::lzf::validate(compressed, original_len, offset)?;
                }
                (original_len, None)
            }
            None => return Ok(None),
        },
    };
    let stats = ValueStats {
        key_type: Some(KeyType::String),
        shape: Shape {
            encoding: Some(string_encoding(record, ctx, len, element)),
            elements: 1,
            ..Shape::default()
        },
        largest_element: len as u64,
        element_bytes: len as u64,
    };
    Ok(Some((stats, value)))
}

/// The encoding of `record`'s string value of `len` bytes; `value`, when at hand, says
/// whether it is an integer (one that is not, an LZF string over 20 bytes, is not).
fn string_encoding(
    record: &Record<'_>,
    ctx: &Context,
    len: usize,
    value: Option<Element<'_>>,
) -> Encoding {
    let has_expire = record.expire_at_ms.is_some();
    ctx.string_encoding_of_key(len, record.key.len(), has_expire, || match value {
        Some(Element::Int(_)) => true,
        Some(Element::Bytes(bytes)) => is_redis_integer(bytes),
        None => false,
    })
}

/// A string value already read, if it is stored LZF-compressed and longer than 20 bytes:
/// its compressed bytes, its length and the offset of the compressed bytes.
pub fn stored_lzf_of(value: RdbStr<'_>) -> Option<(&[u8], usize, u64)> {
    match value {
        RdbStr::Lzf {
            compressed,
            original_len,
            offset,
        } if original_len > 20 => Some((compressed, original_len, offset)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass check against its definition: `string2ll` accepts exactly the decimal
    /// text `i64` formats (no '+', no leading zeros, no "-0", in range).
    #[test]
    fn redis_integer_matches_i64_round_trip() {
        let defined = |b: &[u8]| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .is_some_and(|v| v.to_string().as_bytes() == b)
        };
        let mut cases: Vec<Vec<u8>> = [
            "0",
            "-0",
            "00",
            "01",
            "-",
            "",
            "+1",
            "1",
            "-1",
            " 1",
            "1 ",
            "12a",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "-99999999999999999999",
            "123456789012345678901",
            "1e5",
            "0x10",
            "\u{663}",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for (seed, text) in
            random_texts(0x9E37_79B9_7F4A_7C15, 20_000, 22, b"0123456789-01234567899")
        {
            cases.push(text);
            cases.push((seed as i64 >> (seed % 64)).to_string().into_bytes());
        }
        for case in cases {
            assert_eq!(is_redis_integer(&case), defined(&case), "{case:?}");
            let parsed = std::str::from_utf8(&case).ok().and_then(|s| s.parse().ok());
            assert_eq!(
                redis_integer(&case),
                parsed.filter(|_| defined(&case)),
                "{case:?}"
            );
        }
    }

    /// A record of db 0 without expiry holding `payload` (at offset 0).
    fn record_of<'a>(key: &'a [u8], value_type: ValueType, payload: &'a [u8]) -> Record<'a> {
        Record {
            db: 0,
            key: key.into(),
            value_type,
            type_byte: 0,
            payload,
            payload_offset: 0,
            offset: 0,
            rdb_bytes: 0,
            expire_at_ms: None,
            idle_s: None,
            freq: None,
            compression_seen: false,
        }
    }

    /// An integer-encoded string value is visited as its integer: the text `decode` makes of
    /// it, and the encoding that text gets.
    #[test]
    fn integer_strings_walk_as_their_decoded_text() {
        let ctx = Context::new(Header::parse(b"REDIS0009").unwrap(), None);
        let values = [
            0, 7, -1, -128, 127, 128, -129, -32_768, 32_767, 32_768, -32_769,
        ];
        for v in values
            .into_iter()
            .chain([i64::from(i32::MIN), i64::from(i32::MAX)])
        {
            let payload = match v {
                -128..=127 => vec![0xC0, v as i8 as u8],
                -32_768..=32_767 => [&[0xC1][..], &(v as i16).to_le_bytes()].concat(),
                _ => [&[0xC2][..], &(v as i32).to_le_bytes()].concat(),
            };
            let record = record_of(b"counter:1", ValueType::String, &payload);
            let value = Cursor::new(&payload, 0).rdb_string("value").unwrap();
            assert_eq!(value, RdbStr::Int(v));
            let plain = value.decode(&mut Vec::new()).unwrap().to_vec();
            let mut seen = Vec::new();
            let shape = walk_value(&record, &ctx, &mut Scratch::default(), &mut |item| {
                if let ValueItem::Member(e) = item {
                    seen.push(e.to_vec());
                }
            })
            .unwrap();
            assert_eq!(seen, std::slice::from_ref(&plain), "{v}");
            let encoding =
                ctx.string_encoding_of_key(plain.len(), 9, false, || is_redis_integer(&plain));
            assert_eq!(
                (shape.encoding, encoding),
                (Some(Encoding::Int), Encoding::Int)
            );
            let stats = inspect(&record, &ctx, &mut Scratch::default()).unwrap();
            assert_eq!(stats.largest_element, plain.len() as u64, "{v}");
        }
    }

    /// A compact sorted set's score text that is no number is refused by a walk that checks,
    /// and let through, read as `None` and priced as stored, while the checksum vouches.
    #[test]
    fn score_texts_are_checked_unless_the_checksum_vouches() {
        use crate::memory::{Allocator, Generation, Model};
        use crate::synth::blob::{CompactBuilder, ListpackBuilder};
        let blob = ListpackBuilder::new()
            .string(b"alice")
            .string(b"1.5")
            .string(b"bob")
            .string(b"fast")
            .finish();
        let mut payload = Vec::new();
        crate::synth::writer::put_raw_string(&mut payload, &blob);
        let record = record_of(b"board", ValueType::ZsetListpack, &payload);
        let mut ctx = Context::new(Header::parse(b"REDIS0011").unwrap(), None);
        let strict = walk_value(&record, &ctx, &mut Scratch::default(), &mut |_| {});
        let error = strict.unwrap_err().to_string();
        assert!(error.contains("score is not a number"), "{error}");
        ctx.checksum_vouches = true;
        let mut scores = Vec::new();
        // a release that spells scores otherwise reads the doubles (Redis 7.0 wrote these)
        let reader = Model::new(Generation::Redis62, Allocator::Jemalloc).member_reader(&ctx);
        let mut members = Vec::new();
        let shape = walk_value(&record, &ctx, &mut Scratch::default(), &mut |item| {
            if let ValueItem::Scored { score, .. } = item {
                scores.push(score.value());
            }
            members.push(reader(item));
        })
        .unwrap();
        assert_eq!(shape.elements, 2);
        assert_eq!(scores, [Some(1.5), None]);
        let score_len = |m: &crate::memory::whatif::Member| match m {
            crate::memory::whatif::Member::Scored { score, .. } => score.len,
            _ => 0,
        };
        assert_eq!(members.iter().map(score_len).collect::<Vec<_>>(), [3, 4]);
    }

    /// A string read by `string_stats` has the statistics and the bytes the walk gives it (an
    /// LZF one its decompressed length), and is an integer where the walk's is.
    #[test]
    fn string_stats_agree_with_the_walk() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut seen = [0; 3];
        for fixture in std::fs::read_dir(root).unwrap() {
            let Ok(data) = std::fs::read(fixture.unwrap().path().join("dump.rdb")) else {
                continue;
            };
            let ctx = Context::for_dump(&data).unwrap();
            let mut scratch = Scratch::default();
            for entry in super::super::Records::new(&data).unwrap() {
                let super::super::Entry::Key(record) = entry.unwrap() else {
                    continue;
                };
                let Some((stats, value)) = string_stats(&record, &ctx).unwrap() else {
                    continue;
                };
                let mut walked = Vec::new();
                let shape = walk_value(&record, &ctx, &mut scratch, &mut |item| {
                    if let ValueItem::Member(e) = item {
                        walked.push((e.to_vec(), matches!(e, Element::Int(_))));
                    }
                })
                .unwrap();
                let [(bytes, int)] = &walked[..] else {
                    panic!("{walked:?}")
                };
                let key = super::super::escape_key(&record.key);
                let vouched = Context {
                    checksum_vouches: true,
                    ..ctx
                };
                let trusted = string_stats(&record, &vouched).unwrap().unwrap();
                assert_eq!(trusted, (stats.clone(), value), "{key}");
                assert_eq!(stats.shape, shape, "{key}");
                assert_eq!(stats.largest_element, bytes.len() as u64, "{key}");
                assert_eq!(stats.element_bytes, bytes.len() as u64, "{key}");
                let decoded = value.decode(&mut Vec::new()).unwrap().to_vec();
                let is_int = matches!(value, RdbStr::Int(_));
                assert_eq!((&decoded, is_int), (bytes, *int), "{key}");
                seen[match value {
                    RdbStr::Lzf { .. } => 0,
                    RdbStr::Int(_) => 1,
                    RdbStr::Raw(_) => 2,
                }] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 10), "{seen:?}");
    }

    /// `n` random texts over `alphabet`, shorter than `max_len` bytes, each with the xorshift
    /// state it was drawn from.
    fn random_texts(mut seed: u64, n: usize, max_len: u64, alphabet: &[u8]) -> Vec<(u64, Vec<u8>)> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let pick =
                    |i: usize| alphabet[((seed >> (i * 5 % 60)) % alphabet.len() as u64) as usize];
                (seed, (0..(seed % max_len) as usize).map(pick).collect())
            })
            .collect()
    }

    /// The one-pass check of a stored score accepts exactly the texts `parse_score` reads.
    #[test]
    fn score_check_matches_parse_score() {
        let mut cases: Vec<Vec<u8>> = [
            "0",
            "-0",
            "1.5",
            "-1.5",
            "1.",
            ".5",
            "-.5",
            "1..5",
            "1.5.",
            "--1",
            "-",
            "",
            ".",
            "1e5",
            "1e",
            "1e-05",
            "-1.0000000000000001e+300",
            "inf",
            "-inf",
            "+inf",
            "Infinity",
            "nan",
            "NaN",
            "+1",
            " 1",
            "1 ",
            "0x10",
            "1_0",
            "12345678901234567890123",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let texts = random_texts(
            0x2545_F491_4F6C_DD1D,
            50_000,
            9,
            b"0123456789..--+eEinf \xff",
        );
        cases.extend(texts.into_iter().map(|(_, text)| text));
        let mut plain = 0;
        for case in cases {
            let read = score_text(&case).is_some();
            assert_eq!(is_score_text(&case), read, "{case:?}");
            plain += usize::from(read);
        }
        assert!(plain > 1000, "{plain}");
    }
}
