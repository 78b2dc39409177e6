//! Property tests of the writer against the parser: seeded random values in every layout of
//! every format, written, split and walked back, must come back equal — key, type byte,
//! encoding, every element's bytes, scores, field TTLs, stream statistics, expiry, LRU/LFU.

use super::rng::Rng;
use super::value::{
    Consumer, ConsumerGroup, Field, KeyRecord, PendingEntry, Stream, StreamEntry, Value,
};
use super::writer::{Options, RdbWriter, WriteError};
use crate::rdb::inspect::{
    Context, Scratch, Shape, ValueItem, inspect, shape_from_headers, walk_value,
};
use crate::rdb::records::verify_checksum;
use crate::rdb::{Encoding, Entry, Header, Item, KeyType, Magic, Records, ValueType};

/// Every format the parser reads, by header.
fn formats() -> Vec<Header> {
    let mut all: Vec<Header> = (1..=13).map(|v| Header::new(Magic::Redis, v)).collect();
    all.push(Header::new(Magic::Valkey, 80));
    all
}

/// Every layout the writer can express in `header` (all but module values).
fn layouts(header: Header) -> Vec<ValueType> {
    (0..=255u8)
        .filter_map(|b| ValueType::from_byte(b, &header))
        .filter(|&t| t != ValueType::Module2)
        .filter(|&t| {
            let probe = KeyRecord::new("k", t, sample_for(t));
            RdbWriter::new(Vec::new(), header, Options::default())
                .and_then(|mut w| w.key(&probe))
                .is_ok()
        })
        .collect()
}

/// The smallest value of the kind a layout holds, to probe whether the format has it.
fn sample_for(layout: ValueType) -> Value {
    use crate::rdb::KeyType;
    match layout.key_type() {
        KeyType::String => Value::String(b"v".to_vec()),
        KeyType::List => Value::List(vec![b"1".to_vec()]),
        KeyType::Set => Value::Set(vec![b"1".to_vec()]),
        KeyType::Zset => Value::Zset(vec![(b"m".to_vec(), 1.0)]),
        KeyType::Hash => Value::Hash(vec![Field::new(b"f".to_vec(), b"v".to_vec())]),
        KeyType::Stream | KeyType::Module => Value::Stream(Stream::default()),
    }
}

/// A byte string of the kinds that take different paths: canonical integers of every width
/// (stored as integers), near-integers that must stay strings, text that compresses, noise
/// that does not, and the empty string; occasionally long.
fn element(rng: &mut Rng) -> Vec<u8> {
    match rng.below(12) {
        0..=2 => rng.int().to_string().into_bytes(),
        3 => rng
            .pick(&["007", "-0", "+5", " 5", "1e3", "9223372036854775808", ""])
            .as_bytes()
            .to_vec(),
        4 => {
            let len = rng.range(1, 40) as usize;
            rng.bytes(len)
        }
        5 => {
            let len = *rng.pick(&[63, 64, 4095, 4096, 16_383, 16_384, 20_000]);
            let unit = rng.alnum(7);
            unit.iter().copied().cycle().take(len).collect()
        }
        6 => {
            let len = rng.range(100, 3_000) as usize;
            rng.bytes(len)
        }
        _ => {
            let len = rng.range(0, 30) as usize;
            rng.alnum(len)
        }
    }
}

/// Distinct elements (set members, hash fields, sorted set members are unique).
fn distinct(rng: &mut Rng, n: u64, make: impl Fn(&mut Rng) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for _ in 0..n {
        let e = make(rng);
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

fn score(rng: &mut Rng) -> f64 {
    match rng.below(9) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => -0.0,
        3 => rng.int() as f64,
        4 => f64::from_bits(rng.next_u64() & !(0x7FF << 52)), // subnormal or zero
        5 => (rng.below(2000) as f64 - 1000.0) / 8.0,
        _ => {
            let v = f64::from_bits(rng.next_u64());
            if v.is_nan() { 0.5 } else { v }
        }
    }
}

fn stream(rng: &mut Rng) -> Stream {
    let mut entries = Vec::new();
    let (mut ms, mut seq) = (rng.below(1 << 44), 0);
    let fields_pool = [b"a".to_vec(), b"temp".to_vec(), b"42".to_vec()];
    // Some streams have every entry with the same 20 fields: SAMEFIELDS entries of more master
    // fields than the walk keeps at hand, so it re-reads their names.
    let wide = rng.percent(10);
    for _ in 0..rng.below(300) {
        if rng.percent(70) {
            ms += rng.range(1, 1 << 20);
            seq = rng.below(3);
        } else {
            seq += 1;
        }
        let fields = if wide {
            (0..20)
                .map(|i| (format!("field{i}").into_bytes(), element(rng)))
                .collect()
        } else {
            let n = rng.range(1, 3) as usize;
            (0..n)
                .map(|i| {
                    let name = if rng.percent(80) {
                        fields_pool[i].clone()
                    } else {
                        element(rng)
                    };
                    (name, element(rng))
                })
                .collect()
        };
        entries.push(StreamEntry {
            id: (ms, seq),
            fields,
            deleted: rng.percent(15),
        });
    }
    let ids: Vec<_> = entries.iter().map(|e| e.id).collect();
    let groups = (0..rng.below(3))
        .map(|g| {
            let mut unused = ids.clone();
            let consumers = (0..rng.below(3))
                .map(|c| {
                    // Each entry is pending in one consumer at most.
                    let mut pending = Vec::new();
                    for _ in 0..rng.below(4).min(unused.len() as u64) {
                        let id = unused.remove(rng.below(unused.len() as u64) as usize);
                        pending.push(PendingEntry {
                            id,
                            delivery_time_ms: rng.below(1 << 41) as i64,
                            delivery_count: rng.below(5),
                        });
                    }
                    pending.sort_by_key(|p| p.id);
                    Consumer {
                        name: format!("c{c}").into_bytes(),
                        seen_time_ms: rng.below(1 << 41) as i64,
                        active_time_ms: rng.below(1 << 41) as i64,
                        pending,
                    }
                })
                .collect();
            ConsumerGroup {
                name: format!("g{g}").into_bytes(),
                last_id: (rng.below(1 << 44), rng.below(9)),
                entries_read: rng.percent(70).then(|| rng.below(1000)),
                consumers,
            }
        })
        .collect();
    Stream { entries, groups }
}

/// A random value that `layout` can hold in `header`.
fn value_for(rng: &mut Rng, layout: ValueType) -> Value {
    use ValueType as T;
    let n = if rng.percent(10) {
        rng.range(100, 700)
    } else {
        rng.range(1, 12)
    };
    match layout {
        T::String => Value::String(element(rng)),
        T::ListLinked | T::ListZiplist | T::ListQuicklist | T::ListQuicklist2 => {
            Value::List((0..n).map(|_| element(rng)).collect())
        }
        T::SetIntset => Value::Set(distinct(rng, n, |r| r.int().to_string().into_bytes())),
        T::SetHashtable | T::SetListpack => Value::Set(distinct(rng, n, element)),
        T::ZsetText | T::Zset2 | T::ZsetZiplist | T::ZsetListpack => {
            let members = distinct(rng, n, element);
            Value::Zset(members.into_iter().map(|m| (m, score(rng))).collect())
        }
        T::Stream(_) => Value::Stream(stream(rng)),
        _ => {
            let ttls = layout.has_field_ttls();
            let names = distinct(rng, n, element);
            Value::Hash(
                names
                    .into_iter()
                    .map(|name| Field {
                        name,
                        value: element(rng),
                        expire_at_ms: (ttls && rng.percent(50))
                            .then(|| rng.range(1, (1 << 48) - 1) as i64),
                    })
                    .collect(),
            )
        }
    }
}

/// What the parser gave back for one key.
struct ReadBack {
    key: Vec<u8>,
    layout: ValueType,
    expire_at_ms: Option<i64>,
    idle_s: Option<u64>,
    freq: Option<u8>,
    shape: Shape,
    items: Vec<Got>,
    /// A list or stream whose shape its nodes' headers gave as well (the same, checked).
    from_headers: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Got {
    Member(Vec<u8>),
    Field(Vec<u8>, Vec<u8>, Option<i64>),
    Scored(Vec<u8>, u64),
}

fn read_back(dump: &[u8]) -> Vec<ReadBack> {
    let ctx = Context::for_dump(dump).unwrap();
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    let mut eof = false;
    for entry in Records::new(dump).unwrap() {
        match entry.unwrap() {
            Entry::Key(r) => {
                let mut items = Vec::new();
                let shape = walk_value(&r, &ctx, &mut scratch, &mut |item| {
                    items.push(match item {
                        ValueItem::Member(e) => Got::Member(e.to_vec()),
                        ValueItem::Field {
                            field,
                            value,
                            expire_at_ms,
                        } => Got::Field(field.to_vec(), value.to_vec(), expire_at_ms),
                        ValueItem::Scored { member, score, .. } => {
                            Got::Scored(member.to_vec(), score.value().expect("checked").to_bits())
                        }
                    })
                })
                .unwrap_or_else(|e| panic!("walking {:?}: {e}", r.value_type));
                // `inspect` takes shortcuts (LZF strings are measured, not decompressed) and
                // must agree with the full walk.
                let stats = inspect(&r, &ctx, &mut scratch).unwrap();
                assert_eq!(stats.shape, shape, "{:?}", r.value_type);
                let lens = items.iter().flat_map(|item| match item {
                    Got::Member(m) | Got::Scored(m, _) => vec![m.len() as u64],
                    Got::Field(f, v, _) => vec![f.len() as u64, v.len() as u64],
                });
                assert_eq!(stats.element_bytes, lens.clone().sum::<u64>());
                assert_eq!(stats.largest_element, lens.max().unwrap_or(0));
                let from_headers = shape_from_headers(&r, &ctx);
                if let Some(headers) = &from_headers {
                    assert_eq!(headers, &shape, "{:?}", r.value_type);
                }
                out.push(ReadBack {
                    key: r.key.to_vec(),
                    layout: r.value_type,
                    expire_at_ms: r.expire_at_ms,
                    idle_s: r.idle_s,
                    freq: r.freq,
                    shape,
                    items,
                    from_headers: from_headers.is_some(),
                });
            }
            Entry::Other(Item::Eof {
                offset,
                checksum,
                trailing_bytes,
            }) => {
                assert_eq!(trailing_bytes, 0);
                if let Some(stored) = checksum {
                    verify_checksum(dump, offset, stored, None).unwrap();
                }
                eof = true;
            }
            Entry::Other(_) => {}
        }
    }
    assert!(eof, "no EOF");
    out
}

/// The items a value should come back as, in the order the parser meets them.
fn expected_items(layout: ValueType, value: &Value) -> Vec<Got> {
    use ValueType as T;
    match value {
        Value::String(s) => vec![Got::Member(s.clone())],
        Value::List(items) => items.iter().cloned().map(Got::Member).collect(),
        Value::Set(items) => {
            let mut items = items.clone();
            if layout == T::SetIntset {
                items.sort_by_key(|m| std::str::from_utf8(m).unwrap().parse::<i64>().unwrap());
            }
            items.into_iter().map(Got::Member).collect()
        }
        Value::Zset(members) => members
            .iter()
            .map(|(m, s)| {
                // Type 3 prints scores as text, and -0 as 0 like the server.
                let s = if layout == T::ZsetText && *s == 0.0 {
                    0.0
                } else {
                    *s
                };
                Got::Scored(m.clone(), s.to_bits())
            })
            .collect(),
        Value::Hash(fields) => {
            let mut fields: Vec<&Field> = fields.iter().collect();
            if matches!(layout, T::HashListpackEx | T::HashListpackExPreGa) {
                fields.sort_by_key(|f| f.expire_at_ms.unwrap_or(i64::MAX));
            }
            fields
                .into_iter()
                .map(|f| Got::Field(f.name.clone(), f.value.clone(), f.expire_at_ms))
                .collect()
        }
        Value::Stream(s) => s
            .entries
            .iter()
            .filter(|e| !e.deleted)
            .flat_map(|e| e.fields.iter())
            .map(|(f, v)| Got::Field(f.clone(), v.clone(), None))
            .collect(),
    }
}

/// Compares element lists, naming the first difference briefly (values can be 20 KB).
fn same_items(what: &str, got: &[Got], want: &[Got]) {
    let brief = |g: &Got| {
        let cut = |b: &[u8]| crate::rdb::escape_key(&b[..b.len().min(40)]);
        match g {
            Got::Member(m) => format!("member {} ({} bytes)", cut(m), m.len()),
            Got::Field(f, v, t) => format!(
                "field {} = {} ({} bytes) ttl {t:?}",
                cut(f),
                cut(v),
                v.len()
            ),
            Got::Scored(m, s) => format!("member {} score {}", cut(m), f64::from_bits(*s)),
        }
    };
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{what}: element {i}: read {} but wrote {}",
            brief(&got[i]),
            brief(&want[i])
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: element count");
}

/// The encoding the parser must report for a layout.
fn expected_encoding(ctx: &Context, record: &KeyRecord, shape: &Shape, plain: usize) -> Encoding {
    use ValueType as T;
    match (&record.layout, &record.value) {
        (T::String, Value::String(s)) => ctx.string_encoding(s.len(), record.key.len(), || {
            crate::rdb::inspect::is_redis_integer(s)
        }),
        (T::ListLinked, _) => Encoding::Linkedlist,
        (T::ListZiplist | T::ZsetZiplist | T::HashZiplist, _) => Encoding::Ziplist,
        (T::ListQuicklist, _) => Encoding::Quicklist,
        (T::ListQuicklist2, Value::List(items)) => {
            let one_packed_node = shape.nodes == 1
                && items.iter().all(|i| i.len() < plain)
                && shape.blob_bytes <= 8192;
            if ctx.header.version >= 11 && one_packed_node {
                Encoding::Listpack
            } else {
                Encoding::Quicklist
            }
        }
        (T::SetIntset, _) => Encoding::Intset,
        (T::SetListpack | T::ZsetListpack | T::HashListpack, _) => Encoding::Listpack,
        (T::HashListpackEx | T::HashListpackExPreGa, _) => Encoding::ListpackEx,
        (T::HashZipmap, _) => Encoding::Zipmap,
        (T::ZsetText | T::Zset2, _) => Encoding::Skiplist,
        (T::Stream(_), _) => Encoding::Stream,
        _ => Encoding::Hashtable,
    }
}

fn check_stream(stream: &Stream, shape: &Shape) {
    let stats = shape.stream.as_ref().expect("stream statistics");
    let deleted = stream.entries.iter().filter(|e| e.deleted).count() as u64;
    assert_eq!(stats.entries, stream.entries.len() as u64 - deleted);
    assert_eq!(stats.deleted, deleted);
    assert_eq!(stats.groups, stream.groups.len() as u64);
    let pending: usize = stream.groups.iter().map(|g| g.pending().len()).sum();
    assert_eq!(stats.pending, pending as u64);
    let consumers: usize = stream.groups.iter().map(|g| g.consumers.len()).sum();
    assert_eq!(stats.consumers, consumers as u64);
    assert_eq!(
        stats.last_id,
        stream.entries.last().map_or((0, 0), |e| e.id)
    );
}

/// Writes `records` in one dump of format `header` and checks each reads back equal.
/// Writes `records`, reads them back and compares; returns how many lists and streams their
/// nodes' headers read.
fn round_trip(header: Header, options: Options, records: &[KeyRecord]) -> [usize; 2] {
    let mut w = RdbWriter::new(Vec::new(), header, options).unwrap();
    if header.version >= 7 {
        w.aux(b"redis-bits", b"64").unwrap();
    }
    w.select_db(0).unwrap();
    for r in records {
        w.key(r)
            .unwrap_or_else(|e| panic!("{} {:?}: {e}", header.display(), r.layout));
    }
    let (dump, size) = w.finish().unwrap();
    assert_eq!(size, dump.len() as u64);
    let ctx = Context::for_dump(&dump).unwrap();
    let back = read_back(&dump);
    assert_eq!(back.len(), records.len());
    for (r, b) in records.iter().zip(&back) {
        let what = format!("{} {:?} key {:?}", header.display(), r.layout, r.key);
        assert_eq!(b.key, r.key, "{what}");
        assert_eq!(b.layout, r.layout, "{what}");
        assert_eq!(b.expire_at_ms, r.expire_at_ms, "{what}");
        assert_eq!((b.idle_s, b.freq), (r.idle_s, r.freq), "{what}");
        same_items(&what, &b.items, &expected_items(r.layout, &r.value));
        let encoding = expected_encoding(&ctx, r, &b.shape, options.plain_node_bytes);
        assert_eq!(b.shape.encoding, Some(encoding), "{what}");
        let elements = match &r.value {
            Value::String(_) => 1,
            Value::List(v) | Value::Set(v) => v.len(),
            Value::Zset(v) => v.len(),
            Value::Hash(v) => v.len(),
            Value::Stream(s) => {
                check_stream(s, &b.shape);
                s.entries.iter().filter(|e| !e.deleted).count()
            }
        };
        assert_eq!(b.shape.elements, elements as u64, "{what}");
    }
    let read_from_headers = |kind| {
        back.iter()
            .filter(|b| b.from_headers && b.layout.key_type() == kind)
            .count()
    };
    [
        read_from_headers(KeyType::List),
        read_from_headers(KeyType::Stream),
    ]
}

#[test]
fn every_layout_of_every_format_round_trips() {
    let mut rng = Rng::new(0x5eed);
    let (mut covered, mut from_headers) = (0, [0, 0]);
    for header in formats() {
        let layouts = layouts(header);
        assert!(layouts.len() >= 5, "{}: {layouts:?}", header.display());
        for round in 0..6 {
            let options = Options {
                compress: round % 3 != 2,
                list_node_bytes: *rng.pick(&[64, 512, 8192]),
                plain_node_bytes: *rng.pick(&[100, 5000, 1 << 30]),
                stream_node_entries: rng.range(1, 120) as usize,
                stream_node_bytes: *rng.pick(&[50, 4096]),
            };
            let records: Vec<KeyRecord> = layouts
                .iter()
                .enumerate()
                .map(|(i, &layout)| {
                    let mut r = KeyRecord::new(
                        [element(&mut rng), format!(":{round}:{i}").into_bytes()].concat(),
                        layout,
                        value_for(&mut rng, layout),
                    );
                    if rng.percent(40) {
                        // RDB 1-2 store 32-bit seconds.
                        r.expire_at_ms = Some(if header.version < 3 {
                            rng.below(1 << 31) as i64 * 1000
                        } else {
                            rng.below(1 << 42) as i64
                        });
                    }
                    if header.version >= 9 {
                        match rng.below(3) {
                            0 => r.idle_s = Some(rng.below(1 << 40)),
                            1 => r.freq = Some(rng.below(256) as u8),
                            _ => {}
                        }
                    }
                    r
                })
                .collect();
            let [lists, streams] = round_trip(header, options, &records);
            from_headers[0] += lists;
            from_headers[1] += streams;
            covered += records.len();
        }
    }
    assert!(covered > 1000, "{covered} records");
    let [lists, streams] = from_headers;
    assert!(
        lists > 50 && streams > 20,
        "{lists} lists and {streams} streams read from headers"
    );
}

#[test]
fn impossible_requests_are_refused_and_write_nothing() {
    let header = Header::new(Magic::Redis, 9);
    let mut w = RdbWriter::new(Vec::new(), header, Options::default()).unwrap();
    let before = w.bytes_written();
    let refused = [
        KeyRecord::new(
            "k",
            ValueType::HashListpack,
            sample_for(ValueType::HashListpack),
        ),
        KeyRecord::new("k", ValueType::SetIntset, Value::Set(vec![b"x".to_vec()])),
        KeyRecord::new("k", ValueType::String, Value::List(vec![])),
        KeyRecord::new(
            "k",
            ValueType::Zset2,
            Value::Zset(vec![(b"m".to_vec(), f64::NAN)]),
        ),
        KeyRecord::new(
            "k",
            ValueType::Hash,
            Value::Hash(vec![Field {
                expire_at_ms: Some(5),
                ..Field::new(b"f".to_vec(), b"v".to_vec())
            }]),
        ),
    ];
    for r in &refused {
        assert!(matches!(w.key(r), Err(WriteError::Unsupported(_))), "{r:?}");
    }
    assert_eq!(w.bytes_written(), before);
    let old = Header::new(Magic::Redis, 6);
    let mut w = RdbWriter::new(Vec::new(), old, Options::default()).unwrap();
    assert!(w.aux(b"k", b"v").is_err());
    let mut lru = KeyRecord::new("k", ValueType::String, Value::String(b"v".to_vec()));
    lru.idle_s = Some(1);
    assert!(w.key(&lru).is_err());
}
