//! The per-key part of the rules, run on the workers while a key's elements are at hand:
//! which alternatives apply to the key and what each would save. Every alternative is priced
//! with the memory model's what-if API ([`crate::memory::whatif`]), the formulas that priced
//! the key itself, so a saving is the difference of two estimates of one model.
//!
//! Only keys that can be candidates are walked again (strings, collections held in a
//! hashtable, big keys); the rest cost nothing here.

use super::evidence::{
    Access, CompactForm, CompactObservation, ENTRY_BOUNDS, KeyAdvice, LENGTH_BOUNDS, Split,
    ThresholdObservation,
};
use std::cell::RefCell;

use super::json;
use crate::analyze::patterns::{Delimiters, TokenKinds, tokens};
use crate::memory::collections::{listpack_int_entry, listpack_string_entry};
use crate::memory::stream::{StreamLayout, layout, stream_value};
use crate::memory::whatif::{Collection, Member, QuicklistNode, Scalar};
use crate::memory::{Generation, Model, Origin, Priced};
use crate::rdb::inspect::stored_lzf_of;
use crate::rdb::lzf::Compressor;
use crate::rdb::primitives::decimal_len;
use crate::rdb::{
    Context, Cursor, Element, Encoding, KeyType, RdbStr, Record, Result, Scratch, ValueStats,
    ValueType, walk_value,
};

/// A key is big from this much memory (with overhead) ...
pub const BIG_KEY_BYTES: u64 = 1 << 20;
/// ... or this many elements: deleting, migrating or evicting it blocks the server.
pub const BIG_KEY_ELEMENTS: u64 = 10_000;
/// Parts a big string is split into are at most this long.
const STRING_PART_BYTES: u64 = 256 << 10;
/// Elements per part of a split list, or of a collection whose elements are too long for a
/// compact encoding.
const PART_ELEMENTS: u64 = 1000;
/// Strings from this long are tried with LZF ...
pub const COMPRESS_MIN_BYTES: u64 = 1024;
/// ... on at most this many leading bytes ...
const COMPRESS_SAMPLE_BYTES: usize = 64 << 10;
/// ... and count as compressible when the sample shrinks by at least a fifth.
const COMPRESS_MAX_RATIO: f64 = 0.8;
/// JSON documents larger than this are not parsed.
const JSON_MAX_BYTES: u64 = 1 << 20;
/// The longest text a number can be written in (a 64-bit integer with padding, a decimal).
const NUMBER_MAX_BYTES: u64 = 32;
/// Decimal places a fixed-point integer may take over (`19.99` -> 1999 cents).
const MAX_DECIMALS: u32 = 6;
/// Fields per hash when tiny string keys are bucketed into hashes.
pub const BUCKET_FIELDS: u64 = 100;
/// Sets from this many members are priced as a HyperLogLog ...
pub const HLL_MIN_MEMBERS: u64 = 10_000;
/// ... whose dense form is a 12,304-byte string (`HLL_DENSE_SIZE`).
const HLL_DENSE_BYTES: usize = 16 + 12_288;
/// Interior list nodes compressed per key; beyond, the saving is scaled from them.
const LIST_NODES_SAMPLED: usize = 64;
/// `quicklist.c`: nodes shorter than this are not compressed ...
const MIN_COMPRESS_BYTES: u64 = 48;
/// ... nor those LZF shrinks by less than this.
const MIN_COMPRESS_IMPROVE: u64 = 8;
/// Stream entries older than this before the snapshot are what `stream-untrimmed` prices.
pub const STREAM_RETENTION_MS: i64 = 7 * 86_400_000;
/// Stream IDs before 2000-01-01 are not times (`XADD <key> 1-1`): such streams are left out.
const STREAM_TIMES_FROM_MS: u64 = 946_684_800_000;

/// What the probe knows of the run besides the key.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub delimiters: Delimiters,
    /// The snapshot's time (its `ctime`), if the dump has one.
    pub now_ms: Option<i64>,
}

/// Reusable buffers of the probe; one per batch of keys.
#[derive(Default)]
pub struct Probe {
    text: Vec<u8>,
    packed: Vec<u8>,
}

thread_local! {
    /// The worker thread's compressor, created at its first compressible candidate: its
    /// table (256 KiB) was allocated and zeroed again for every batch.
    static LZF: RefCell<Option<Box<Compressor>>> = const { RefCell::new(None) };
}

/// One key being probed: the key, and what pricing an alternative needs.
struct Subject<'a> {
    model: &'a Model,
    ctx: &'a Context,
    run: &'a Run,
    record: &'a Record<'a>,
    /// The key's constant tokens under the run's delimiters.
    constant: TokenKinds,
    stats: &'a ValueStats,
    /// Over the big-key bounds.
    big: bool,
    key_len: usize,
    has_expire: bool,
    /// `MEMORY USAGE` of the key as it is.
    now: u64,
}

impl Subject<'_> {
    /// What the key saves in an alternative costing `cost`, if anything.
    fn saving(&self, cost: u64) -> Option<u64> {
        self.now.checked_sub(cost).filter(|&s| s > 0)
    }

    /// A string key (named with `extra` more bytes) holding `len` bytes of text.
    fn text(&self, extra: usize, len: usize) -> u64 {
        let key_len = self.key_len + extra;
        let encoding = self.ctx.string_encoding(len, key_len, || false);
        self.model
            .string_cost(key_len, self.has_expire, len, encoding)
            .memory_bytes
    }

    /// The key holding the integer `v`.
    fn integer(&self, v: i64) -> u64 {
        let len = decimal_len(v);
        self.model
            .string_cost(self.key_len, self.has_expire, len, Encoding::Int)
            .memory_bytes
    }
}

impl Probe {
    /// What the alternatives of one key would save, into `advice` (empty when called).
    /// `priced` is the key's own pricing.
    #[allow(clippy::too_many_arguments)] // the scan's per-key arguments, passed on
    pub fn observe(
        &mut self,
        model: &Model,
        ctx: &Context,
        run: &Run,
        record: &Record<'_>,
        constant: TokenKinds,
        collection: &Collection,
        priced: &Priced<'_>,
        scratch: &mut Scratch,
        advice: &mut KeyAdvice,
    ) -> Result<()> {
        let (stats, estimate) = (&priced.stats, &priced.estimate);
        let big = estimate.memory_bytes + estimate.overhead_bytes >= BIG_KEY_BYTES
            || stats.shape.elements >= BIG_KEY_ELEMENTS;
        let subject = Subject {
            model,
            ctx,
            run,
            record,
            constant,
            stats,
            big,
            key_len: record.key.len(),
            has_expire: record.expire_at_ms.is_some(),
            now: estimate.memory_bytes,
        };
        match record.value_type.key_type() {
            KeyType::String => self.string(&subject, priced.string, advice)?,
            KeyType::Hash | KeyType::Set | KeyType::Zset => {
                self::collection(&subject, collection, scratch, advice)?
            }
            KeyType::List => {
                if big {
                    advice.big_key = Some(split_list(&subject, scratch)?);
                }
                advice.list_compression = self.list_compression(&subject)?;
            }
            KeyType::Stream => {
                if let Some(st) = &stats.shape.stream {
                    advice.stream_entries = Some((st.entries, st.deleted));
                }
                advice.stream_trim = stream_trim(&subject)?;
            }
            KeyType::Module => {}
        }
        advice.key_names = key_names(&subject);
        advice.access = record
            .idle_s
            .map(Access::IdleSeconds)
            .or(record.freq.map(Access::Frequency));
        if record.db != 0 {
            let prefix = "db:".len() + decimal_digits(record.db);
            let has_expire = subject.has_expire;
            advice.db_prefix_bytes =
                model.key_name_saving(subject.key_len + prefix, subject.key_len, has_expire);
        }
        Ok(())
    }

    /// Saving of `list-compress-depth 1` on a quicklist of 3 nodes or more: every node but the
    /// first and last LZF-compressed where the server would (48 bytes or more, 8 saved). A
    /// node the dump holds LZF-compressed has the LZF bytes the server would make. Where the
    /// dump compressed some nodes it tried all, so its plain ones do not compress; in a dump
    /// saved without compression nodes are compressed here, [`LIST_NODES_SAMPLED`] per key at
    /// most, the rest scaled from them.
    fn list_compression(&mut self, s: &Subject<'_>) -> Result<Option<u64>> {
        let record = s.record;
        if s.stats.encoding() != Encoding::Quicklist
            || !matches!(
                record.value_type,
                ValueType::ListQuicklist | ValueType::ListQuicklist2
            )
        {
            return Ok(None);
        }
        let mut c = Cursor::new(record.payload, record.payload_offset);
        let n = c.rdb_count(2, "quicklist node count")?;
        if n < 3 {
            return Ok(None);
        }
        let mut nodes = Vec::new();
        for _ in 0..n {
            let container = if record.value_type == ValueType::ListQuicklist2 {
                c.rdb_len("quicklist container")?
            } else {
                2
            };
            nodes.push((container, c.rdb_string("quicklist node")?));
        }
        let dump_compressed = nodes.iter().any(|(_, n)| matches!(n, RdbStr::Lzf { .. }));
        let (mut now, mut after) = (Vec::new(), Vec::new());
        let (mut interior, mut priced) = (0u64, 0u64);
        for (i, (container, node)) in nodes.into_iter().enumerate() {
            let len = node.len() as u64;
            if container == 1 {
                now.push(QuicklistNode::Plain(len));
                after.push(QuicklistNode::Plain(len));
                continue;
            }
            now.push(QuicklistNode::Packed(len));
            let inside = i > 0 && i as u64 + 1 < n;
            let compressed = match node {
                _ if !inside => None,
                _ if len < MIN_COMPRESS_BYTES => Some(len),
                RdbStr::Raw(_) if dump_compressed => Some(len),
                RdbStr::Lzf { compressed, .. } => Some(compressed.len() as u64),
                RdbStr::Raw(bytes) if priced < LIST_NODES_SAMPLED as u64 => {
                    Some(if compress(bytes, &mut self.packed) {
                        self.packed.len() as u64
                    } else {
                        len
                    })
                }
                _ => None,
            };
            interior += u64::from(inside);
            priced += u64::from(compressed.is_some());
            after.push(match compressed {
                Some(clen) if clen + MIN_COMPRESS_IMPROVE < len && len >= MIN_COMPRESS_BYTES => {
                    QuicklistNode::Compressed(clen)
                }
                _ => QuicklistNode::Packed(len),
            });
        }
        let cost = |nodes: &[QuicklistNode]| {
            s.model
                .quicklist_cost(s.key_len, s.has_expire, nodes)
                .memory_bytes
        };
        let saved = cost(&now).saturating_sub(cost(&after));
        Ok((saved > 0).then(|| saved * interior / priced.max(1)))
    }

    /// `value`: the string as pricing read it, if it did.
    fn string(
        &mut self,
        s: &Subject<'_>,
        value: Option<RdbStr<'_>>,
        advice: &mut KeyAdvice,
    ) -> Result<()> {
        let (record, stats) = (s.record, s.stats);
        let len = stats.largest_element;
        let numeric = stats.encoding() != Encoding::Int && len <= NUMBER_MAX_BYTES;
        let compressible = len >= COMPRESS_MIN_BYTES;
        // what `small_key` prices: reading a value with a TTL for it would be wasted
        let small = len <= s.model.limits.hash_max_listpack_value && !s.has_expire;
        let keep = (len as usize).min(COMPRESS_SAMPLE_BYTES.max(JSON_MAX_BYTES as usize));
        // A value the server stored LZF-compressed was measured by the server's own
        // compressor (ours makes the same bytes), and its first literal byte says whether it
        // can be JSON: decompressing it is needed only for the checks that read it (and fails
        // on damage, which the memory model checked unless the checksum vouches for it; the
        // splitter framed the payload as this one string).
        let value = match value {
            Some(value) => value,
            None => Cursor::new(record.payload, record.payload_offset).rdb_string("value")?,
        };
        let stored = stored_lzf_of(value).map(|(packed, len, _)| (packed, len));
        let may_be_json = len <= JSON_MAX_BYTES
            && stored.is_none_or(|(packed, _)| {
                packed
                    .get(1)
                    .is_none_or(|&b| b == b'{' || b.is_ascii_whitespace())
            });
        // A plain value from a writer that compressed did not shrink by more than 4 bytes
        // (`rdbSaveLzfStringObject`), so it is not compressible here either.
        let measure = compressible && stored.is_none() && !record.compression_seen;
        // The value as the checks read it: a plain string in place, a compressed one
        // decompressed (up to `keep` bytes matter), an integer as its digits only for the
        // numeric check (it is int-encoded unless the release keeps integers as text).
        let text: &[u8] = match value {
            _ if !(numeric || small || may_be_json || measure) => &[],
            RdbStr::Raw(b) => b,
            RdbStr::Int(_) if !numeric => &[],
            RdbStr::Int(_) | RdbStr::Lzf { .. } => value.decode(&mut self.text)?,
        };
        let text = &text[..text.len().min(keep)];
        if numeric {
            match number_text(text) {
                Some(Number::Integer(v)) => advice.integer_text = s.saving(s.integer(v)),
                Some(Number::Decimal(v)) => advice.decimal_text = s.saving(s.integer(v)),
                None => {}
            }
        }
        if len <= JSON_MAX_BYTES
            && text.trim_ascii_start().first() == Some(&b'{')
            && let Some(cost) = json_as_hash(s, text)
        {
            advice.json_in_string = s.saving(cost);
        }
        if let (true, Some((packed, _))) = (compressible, stored) {
            if packed.len() as f64 <= COMPRESS_MAX_RATIO * len as f64 {
                advice.compressible = s.saving(s.text(0, packed.len()));
            }
        } else if measure {
            let sample = &text[..text.len().min(COMPRESS_SAMPLE_BYTES)];
            if compress(sample, &mut self.packed) {
                let (sampled, packed) = (sample.len() as u128, self.packed.len() as u128);
                if packed as f64 <= COMPRESS_MAX_RATIO * sampled as f64 {
                    // The sample's ratio applied to the whole value (exact when it is the value).
                    let compressed = (u128::from(len) * packed).div_ceil(sampled) as usize;
                    advice.compressible = s.saving(s.text(0, compressed));
                }
            }
        }
        if small {
            let value = match value {
                RdbStr::Int(v) => Scalar::of(Element::Int(v)),
                _ => Scalar::bytes(text),
            };
            advice.small_key = small_key(s, value);
        }
        if s.big {
            let parts = len.div_ceil(STRING_PART_BYTES).max(1);
            let step = len.div_ceil(parts);
            let split: u64 = (0..parts)
                .map(|i| s.text(part_suffix(i), step.min(len - i * step) as usize))
                .sum();
            advice.big_key = Some(Split {
                parts,
                savings_bytes: s.now as i64 - split as i64,
            });
        }
        Ok(())
    }
}

/// Digits of `n` in decimal.
fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// LZF-compresses `input` into `packed` as the server would; `false` when that does not
/// shrink it.
fn compress(input: &[u8], packed: &mut Vec<u8>) -> bool {
    LZF.with_borrow_mut(|lzf| {
        let lzf = lzf.get_or_insert_with(Box::default);
        lzf.compress_into(input, input.len(), packed)
    })
}

/// The cost of a JSON object as a hash of its top-level fields (string values decoded,
/// other values as their JSON text), or `None` when `text` is not a non-empty JSON object.
/// Values are read as raw slices, not built into trees: this runs for every JSON string.
fn json_as_hash(s: &Subject<'_>, text: &[u8]) -> Option<u64> {
    let object = json::object_fields(text)?;
    if object.is_empty() {
        return None;
    }
    let mut hash = Collection::new(s.model, KeyType::Hash, s.key_len, s.has_expire);
    for &(ref field, raw) in &object {
        let value = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => Scalar::bytes(plain.as_bytes()),
            Some(_) => Scalar::bytes(serde_json::from_str::<String>(raw).ok()?.as_bytes()),
            None => Scalar::bytes(raw.as_bytes()),
        };
        hash.push(Member::Field {
            field: Scalar::bytes(field.as_bytes()),
            value,
            ttl: false,
        });
    }
    let limits = &s.model.limits;
    let encoding = if hash.len() <= limits.hash_max_listpack_entries
        && hash.max_len() as u64 <= limits.hash_max_listpack_value
    {
        s.model.compact_encoding()
    } else {
        Encoding::Hashtable
    };
    Some(s.model.cost(&hash, encoding)?.memory_bytes)
}

/// Hashes, sets and sorted sets: the compact encoding the server held (for inferring its
/// limits), and for those in a hashtable the saving of their compact form and of a split.
/// `c`: the key's elements, from the walk that priced it.
fn collection(
    s: &Subject<'_>,
    c: &Collection,
    scratch: &mut Scratch,
    advice: &mut KeyAdvice,
) -> Result<()> {
    let (record, stats) = (s.record, s.stats);
    let key_type = record.value_type.key_type();
    let n = stats.shape.elements;
    let largest = stats.largest_element;
    if let Some(form) = compact_form_held(key_type, stats.encoding()) {
        advice.compact = Some(CompactObservation {
            form,
            entries: n,
            max_element_bytes: largest,
        });
    }
    // Hash records with field TTLs are left out: their compact form depends on the release.
    let plain = matches!(
        record.value_type,
        ValueType::Hash | ValueType::SetHashtable | ValueType::ZsetText | ValueType::Zset2
    );
    let candidate = plain
        && n <= ENTRY_BOUNDS[ENTRY_BOUNDS.len() - 1]
        && largest <= LENGTH_BOUNDS[LENGTH_BOUNDS.len() - 1];
    if key_type == KeyType::Set && n >= HLL_MIN_MEMBERS {
        let hll = s
            .model
            .string_cost(s.key_len, s.has_expire, HLL_DENSE_BYTES, Encoding::Raw);
        advice.set_cardinality = s.saving(hll.memory_bytes);
    }
    let hash_without_ttls = matches!(
        record.value_type,
        ValueType::Hash | ValueType::HashListpack | ValueType::HashZiplist | ValueType::HashZipmap
    );
    if !(hash_without_ttls || (plain && (candidate || s.big))) {
        return Ok(());
    }
    if hash_without_ttls {
        advice.field_names = field_names(s, c);
    }
    if !plain {
        return Ok(());
    }
    let form = compact_form_for(s.model, c);
    if candidate
        && let Some(form) = form
        && let Some(e) = s.model.cost(c, compact_encoding(s.model, form))
        && let Some(savings_bytes) = s.saving(e.memory_bytes)
    {
        advice.threshold = Some(ThresholdObservation {
            form,
            entries: n,
            max_element_bytes: largest,
            savings_bytes,
        });
    }
    if s.big {
        let (limit, encoding) = part_layout(s.model, key_type, form, largest);
        let mut split = 0;
        let parts = split_walk(s, scratch, part_size(n, limit), |part, _| {
            split += s.model.cost(part, encoding).map_or(0, |e| e.memory_bytes);
        })?;
        advice.big_key = Some(Split {
            parts,
            savings_bytes: s.now as i64 - split as i64,
        });
    }
    Ok(())
}

/// Walks a big key's elements again into consecutive parts of `part_len` (the first walk
/// keeps sums, not elements, so that a 10-million-member set costs no memory), named
/// `<key>:<i>`; `part` gets each part and, for a list (whose nodes it packs), its elements.
/// Returns the number of parts.
fn split_walk(
    s: &Subject<'_>,
    scratch: &mut Scratch,
    part_len: u64,
    mut part: impl FnMut(&Collection, &[Member]),
) -> Result<u64> {
    let kind = s.record.value_type.key_type();
    let read = s.model.member_reader(s.ctx);
    let named = |i: u64| Collection::new(s.model, kind, s.key_len + part_suffix(i), s.has_expire);
    let keep = kind == KeyType::List;
    let (mut parts, mut current, mut members) = (0, named(0), Vec::new());
    walk_value(s.record, s.ctx, scratch, &mut |item| {
        let m = read(item);
        current.push(m);
        if keep {
            members.push(m);
        }
        if current.len() == part_len {
            part(&current, &members);
            parts += 1;
            current = named(parts);
            members.clear();
        }
    })?;
    if !current.is_empty() {
        part(&current, &members);
        parts += 1;
    }
    Ok(parts.max(1))
}

/// Saving of a hash's field names cut to [`SHORT_FIELD_BYTES`](crate::memory::whatif::SHORT_FIELD_BYTES) (integers kept), in the
/// encoding it has.
fn field_names(s: &Subject<'_>, c: &Collection) -> Option<u64> {
    let encoding = match s.stats.encoding() {
        Encoding::Hashtable => Encoding::Hashtable,
        _ => s.model.compact_encoding(),
    };
    s.saving(s.model.cost(&c.with_short_fields(), encoding)?.memory_bytes)
}

/// Saving of a key name whose constant segments (those the pattern keeps) are one letter
/// each: `user:1234:profile` as `u:1234:p`.
fn key_names(s: &Subject<'_>) -> Option<u64> {
    let short = s.constant.abbreviated_len();
    let saved = s.model.key_name_saving(s.key_len, short, s.has_expire);
    (saved > 0).then_some(saved)
}

/// A key with each constant segment cut to its first byte (after its delimiter); segments
/// with a variable part stay whole. [`TokenKinds::abbreviated_len`] is its length.
pub fn abbreviate(key: &[u8], delimiters: Delimiters, kinds: TokenKinds) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len());
    for (i, token) in tokens(key, delimiters).enumerate() {
        let lead = usize::from(token.first().is_some_and(|&b| delimiters.contains(b)));
        out.extend_from_slice(if kinds.is_constant(i) && token.len() > lead + 1 {
            &token[..lead + 1]
        } else {
            token
        });
    }
    out
}

/// A tiny string key (`value` fits a compact hash) without a TTL whose name ends in an id:
/// its share of a hash of [`BUCKET_FIELDS`] such keys (field: the id, value: the value),
/// against what it costs alone.
fn small_key(s: &Subject<'_>, value: Scalar) -> Option<u64> {
    let bucket = BUCKET_FIELDS.min(s.model.limits.hash_max_listpack_entries);
    if bucket == 0 {
        return None;
    }
    let (i, last) = s.constant.last(&s.record.key, s.run.delimiters);
    if s.constant.is_constant(i) {
        return None;
    }
    let id = match last.first() {
        Some(&d) if s.run.delimiters.contains(d) => &last[1..],
        _ => last,
    };
    let cost = s
        .model
        .repeated_field_cost(s.key_len, Scalar::bytes(id), value, bucket);
    s.saving(cost.div_ceil(bucket))
}

/// Saving of trimming a stream's entries older than [`STREAM_RETENTION_MS`] before the
/// snapshot (`XTRIM <key> MINID ~ <id>`: whole nodes go, consumer groups stay).
fn stream_trim(s: &Subject<'_>) -> Result<Option<u64>> {
    let Some(now) = s.run.now_ms else {
        return Ok(None);
    };
    let cutoff = (now - STREAM_RETENTION_MS).max(0) as u64;
    let full = layout(s.record)?;
    let last_ms = s.stats.shape.stream.as_ref().map_or(0, |st| st.last_id.0);
    if last_ms < STREAM_TIMES_FROM_MS {
        return Ok(None);
    }
    let ms = |id: &[u8; 16]| u64::from_be_bytes(id[..8].try_into().expect("8 bytes"));
    // A node goes when every entry in it is older: the next node starts before the cutoff.
    let old = (0..full.node_ids.len())
        .take_while(|&i| full.node_ids.get(i + 1).map_or(last_ms, ms) < cutoff)
        .count();
    if old == 0 {
        return Ok(None);
    }
    let trimmed = StreamLayout {
        node_ids: full.node_ids[old..].to_vec(),
        node_bytes: full.node_bytes[old..].to_vec(),
        groups: full.groups.clone(),
    };
    let m = s.model;
    // As `Model::estimate` prices streams: XADD preallocates the last node on the writer.
    let prealloc = match m.origin {
        Origin::Commands => m.limits.stream_node_max_bytes.min(4096),
        Origin::Loaded => 0,
    };
    let price = |l: &StreamLayout| stream_value(m.generation, m.allocator, l, prealloc);
    Ok(price(&full).checked_sub(price(&trimmed)).filter(|&v| v > 0))
}

/// The compact form these elements can take on this release.
fn compact_form_for(model: &Model, c: &Collection) -> Option<CompactForm> {
    match c.kind {
        KeyType::Hash => Some(CompactForm::HashListpack),
        KeyType::Zset => Some(CompactForm::ZsetListpack),
        KeyType::Set if c.intset_bytes().is_some() => Some(CompactForm::SetIntset),
        KeyType::Set if model.generation >= Generation::Redis72 => Some(CompactForm::SetListpack),
        _ => None,
    }
}

fn compact_encoding(model: &Model, form: CompactForm) -> Encoding {
    match form {
        CompactForm::SetIntset => Encoding::Intset,
        CompactForm::SetListpack => Encoding::Listpack,
        CompactForm::HashListpack | CompactForm::ZsetListpack => model.compact_encoding(),
    }
}

/// Members per part of a split, and the encoding the parts get: the compact limit when the
/// elements fit a compact encoding this release has, else [`PART_ELEMENTS`] in a hashtable
/// (skiplist).
fn part_layout(
    model: &Model,
    key_type: KeyType,
    form: Option<CompactForm>,
    largest: u64,
) -> (u64, Encoding) {
    let l = &model.limits;
    let compact = form.map(|form| match form {
        CompactForm::HashListpack => (l.hash_max_listpack_entries, l.hash_max_listpack_value, form),
        CompactForm::SetIntset => (l.set_max_intset_entries, u64::MAX, form),
        CompactForm::SetListpack => (l.set_max_listpack_entries, l.set_max_listpack_value, form),
        CompactForm::ZsetListpack => (l.zset_max_listpack_entries, l.zset_max_listpack_value, form),
    });
    match compact {
        Some((entries, value, form)) if largest <= value && entries > 0 => {
            (entries, compact_encoding(model, form))
        }
        _ if key_type == KeyType::Zset => (PART_ELEMENTS, Encoding::Skiplist),
        _ => (PART_ELEMENTS, Encoding::Hashtable),
    }
}

/// A big list split into lists of [`PART_ELEMENTS`], packed into nodes of the writer's
/// `list-max-listpack-size`.
fn split_list(s: &Subject<'_>, scratch: &mut Scratch) -> Result<Split> {
    let (node_limit, _) = s.ctx.list_node_limits();
    let entry = |m: &Member| match *m {
        Member::Plain(Scalar { int: Some(v), .. }) => listpack_int_entry(v),
        Member::Plain(Scalar { len, .. }) => listpack_string_entry(len),
        _ => 0,
    };
    let n = s.stats.shape.elements;
    let mut split = 0;
    let mut nodes = Vec::new();
    let parts = split_walk(s, scratch, part_size(n, PART_ELEMENTS), |part, members| {
        nodes.clear();
        let mut bytes = 7;
        for m in members {
            let e = entry(m);
            if bytes > 7 && bytes + e > node_limit {
                nodes.push(QuicklistNode::Packed(bytes));
                bytes = 7;
            }
            bytes += e;
        }
        nodes.push(QuicklistNode::Packed(bytes));
        let listpack = (nodes.len() == 1)
            .then(|| s.model.cost(part, Encoding::Listpack))
            .flatten();
        split += match listpack {
            Some(e) => e.memory_bytes,
            None => {
                s.model
                    .quicklist_cost(part.key_len, s.has_expire, &nodes)
                    .memory_bytes
            }
        };
    })?;
    Ok(Split {
        parts,
        savings_bytes: s.now as i64 - split as i64,
    })
}

/// Elements per part when `n` are split evenly (as `hash(member) mod parts` spreads them) into
/// the fewest parts of at most `limit`.
fn part_size(n: u64, limit: u64) -> u64 {
    let parts = n.div_ceil(limit).max(1);
    n.div_ceil(parts).max(1)
}

/// Bytes `:<part>` adds to a key name.
fn part_suffix(part: u64) -> usize {
    1 + part.to_string().len()
}

/// The compact form a collection is held in, if it is compact.
fn compact_form_held(key_type: KeyType, encoding: Encoding) -> Option<CompactForm> {
    let compact = matches!(
        encoding,
        Encoding::Listpack | Encoding::Ziplist | Encoding::Zipmap | Encoding::Intset
    );
    match key_type {
        _ if !compact => None,
        KeyType::Hash => Some(CompactForm::HashListpack),
        KeyType::Zset => Some(CompactForm::ZsetListpack),
        KeyType::Set if encoding == Encoding::Intset => Some(CompactForm::SetIntset),
        KeyType::Set => Some(CompactForm::SetListpack),
        _ => None,
    }
}

/// A number written in a form the server keeps as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    /// An integer with padding, a sign, leading zeros or a zero fraction (`007`, `+5`, `3.00`).
    Integer(i64),
    /// A decimal, as the fixed-point integer of its decimal places (`19.99` -> 1999).
    Decimal(i64),
}

/// Reads text the server did not int-encode as a number, if it is one.
fn number_text(text: &[u8]) -> Option<Number> {
    let t = text.trim_ascii();
    let (negative, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[..0]),
    };
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let frac = &frac[..frac.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1)];
    if frac.len() as u32 > MAX_DECIMALS {
        return None;
    }
    let magnitude: i64 = std::str::from_utf8(&[int, frac].concat())
        .ok()?
        .parse()
        .ok()?;
    let value = if negative { -magnitude } else { magnitude };
    Some(if frac.is_empty() {
        Number::Integer(value)
    } else {
        Number::Decimal(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_segments_are_cut_to_a_letter() {
        let d = Delimiters::new(b":");
        let short = |k: &str| {
            let constant = TokenKinds::of(k.as_bytes(), d);
            String::from_utf8(abbreviate(k.as_bytes(), d, constant)).unwrap()
        };
        assert_eq!(short("notification:preferences:1234"), "n:p:1234");
        assert_eq!(short("user:1234:profile_v2"), "u:1234:p");
        assert_eq!(short("user_1234:x"), "user_1234:x");
        assert_eq!(short("notification:preferences:*"), "n:p:*");
    }

    #[test]
    fn numbers_in_text_form() {
        assert_eq!(number_text(b"007"), Some(Number::Integer(7)));
        assert_eq!(number_text(b" +12 "), Some(Number::Integer(12)));
        assert_eq!(number_text(b"-3.000"), Some(Number::Integer(-3)));
        assert_eq!(number_text(b"19.99"), Some(Number::Decimal(1999)));
        assert_eq!(number_text(b"-0.5"), Some(Number::Decimal(-5)));
        assert_eq!(number_text(b"1.1234567"), None);
        assert_eq!(number_text(b"12a"), None);
        assert_eq!(number_text(b"."), None);
        assert_eq!(number_text(b"99999999999999999999"), None);
    }
}
