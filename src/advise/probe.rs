//! The per-key part of the rules, run on the workers while a key's elements are at hand:
//! which alternatives apply to the key and what each would save. Every alternative is priced
//! with the memory model's what-if API ([`crate::memory::whatif`]), the formulas that priced
//! the key itself, so a saving is the difference of two estimates of one model.
//!
//! Only keys that can be candidates are walked again (strings, collections held in a
//! hashtable, big keys); the rest cost nothing here.

use super::evidence::{
    CompactForm, CompactObservation, ENTRY_BOUNDS, KeyAdvice, LENGTH_BOUNDS, Split,
    ThresholdObservation,
};
use crate::memory::collections::{listpack_int_entry, listpack_string_entry};
use crate::memory::whatif::{Collection, Member, QuicklistNode, Scalar};
use crate::memory::{Estimate, Generation, Model};
use crate::rdb::lzf::Compressor;
use crate::rdb::{
    Context, Element, Encoding, KeyType, Record, Result, Scratch, ValueItem, ValueStats, ValueType,
    walk_value,
};

/// A key is big from this much memory (with overhead) ...
pub const BIG_KEY_BYTES: u64 = 1 << 20;
/// ... or this many elements: deleting, migrating or evicting it blocks the server.
pub const BIG_KEY_ELEMENTS: u64 = 10_000;
/// Parts a big string is split into are at most this long.
const STRING_PART_BYTES: u64 = 256 << 10;
/// Elements per part of a split list, or of a collection whose elements are too long for a
/// compact encoding.
const PART_ELEMENTS: usize = 1000;
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

/// Reusable buffers of the probe; one per batch of keys.
#[derive(Default)]
pub struct Probe {
    text: Vec<u8>,
    packed: Vec<u8>,
    /// Created at the first compressible candidate (its table is 256 KiB).
    lzf: Option<Box<Compressor>>,
}

/// One key being probed: the key, and what pricing an alternative needs.
struct Subject<'a> {
    model: &'a Model,
    ctx: &'a Context,
    record: &'a Record<'a>,
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
        let len = v.to_string().len();
        self.model
            .string_cost(self.key_len, self.has_expire, len, Encoding::Int)
            .memory_bytes
    }

    /// `members` as a key of `kind` named with `extra` more bytes, in `encoding`.
    fn collection(
        &self,
        kind: KeyType,
        extra: usize,
        members: &[Member],
        encoding: Encoding,
    ) -> Option<Estimate> {
        let c = Collection {
            kind,
            key_len: self.key_len + extra,
            has_expire: self.has_expire,
            members: members.to_vec(),
        };
        self.model.cost(&c, encoding)
    }
}

impl Probe {
    /// What the alternatives of one key would save. `stats` and `estimate` are the key's own.
    pub fn observe(
        &mut self,
        model: &Model,
        ctx: &Context,
        record: &Record<'_>,
        stats: &ValueStats,
        estimate: &Estimate,
        scratch: &mut Scratch,
    ) -> Result<KeyAdvice> {
        let big = estimate.memory_bytes + estimate.overhead_bytes >= BIG_KEY_BYTES
            || stats.shape.elements >= BIG_KEY_ELEMENTS;
        let subject = Subject {
            model,
            ctx,
            record,
            stats,
            big,
            key_len: record.key.len(),
            has_expire: record.expire_at_ms.is_some(),
            now: estimate.memory_bytes,
        };
        let mut advice = KeyAdvice::default();
        match record.value_type.key_type() {
            KeyType::String => self.string(&subject, scratch, &mut advice)?,
            KeyType::Hash | KeyType::Set | KeyType::Zset => {
                collection(&subject, scratch, &mut advice)?
            }
            KeyType::List if big => {
                let (c, _) = Collection::walk(record, ctx, scratch)?;
                advice.big_key = Some(split_list(&subject, &c.members));
            }
            _ => {}
        }
        if record.db != 0 {
            let prefix = format!("db{}:", record.db).len();
            let has_expire = subject.has_expire;
            advice.db_prefix_bytes = model
                .key_name_cost(subject.key_len + prefix, has_expire)
                .saturating_sub(model.key_name_cost(subject.key_len, has_expire));
        }
        Ok(advice)
    }

    fn string(
        &mut self,
        s: &Subject<'_>,
        scratch: &mut Scratch,
        advice: &mut KeyAdvice,
    ) -> Result<()> {
        let (record, stats) = (s.record, s.stats);
        let len = stats.largest_element;
        let numeric = stats.encoding() != Encoding::Int && len <= NUMBER_MAX_BYTES;
        let compressible = len >= COMPRESS_MIN_BYTES;
        let keep = (len as usize).min(COMPRESS_SAMPLE_BYTES.max(JSON_MAX_BYTES as usize));
        let text = &mut self.text;
        text.clear();
        walk_value(record, s.ctx, scratch, &mut |item| {
            if let ValueItem::Member(Element::Bytes(b)) = item {
                let json = len <= JSON_MAX_BYTES && b.trim_ascii_start().first() == Some(&b'{');
                if numeric || compressible || json {
                    text.extend_from_slice(&b[..b.len().min(keep)]);
                }
            }
        })?;
        if numeric {
            match number_text(&self.text) {
                Some(Number::Integer(v)) => advice.integer_text = s.saving(s.integer(v)),
                Some(Number::Decimal(v)) => advice.decimal_text = s.saving(s.integer(v)),
                None => {}
            }
        }
        if len <= JSON_MAX_BYTES
            && self.text.trim_ascii_start().first() == Some(&b'{')
            && let Some(cost) = json_as_hash(s, &self.text)
        {
            advice.json_in_string = s.saving(cost);
        }
        if compressible {
            let sample = &self.text[..self.text.len().min(COMPRESS_SAMPLE_BYTES)];
            let lzf = self.lzf.get_or_insert_with(Box::default);
            if lzf.compress_into(sample, sample.len(), &mut self.packed) {
                let (sampled, packed) = (sample.len() as u128, self.packed.len() as u128);
                if packed as f64 <= COMPRESS_MAX_RATIO * sampled as f64 {
                    // The sample's ratio applied to the whole value (exact when it is the value).
                    let compressed = (u128::from(len) * packed).div_ceil(sampled) as usize;
                    advice.compressible = s.saving(s.text(0, compressed));
                }
            }
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

/// The cost of a JSON object as a hash of its top-level fields (nested values stay JSON
/// text), or `None` when `text` is not a non-empty JSON object.
fn json_as_hash(s: &Subject<'_>, text: &[u8]) -> Option<u64> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(text).ok()?;
    if object.is_empty() {
        return None;
    }
    let mut longest = 0;
    let mut pairs = Vec::with_capacity(object.len());
    for (field, value) in &object {
        let value = match value {
            serde_json::Value::String(v) => Scalar::bytes(v.as_bytes()),
            other => Scalar::bytes(other.to_string().as_bytes()),
        };
        longest = longest.max(field.len()).max(value.len);
        pairs.push((Scalar::bytes(field.as_bytes()), value));
    }
    let limits = &s.model.limits;
    let encoding = if object.len() as u64 <= limits.hash_max_listpack_entries
        && longest as u64 <= limits.hash_max_listpack_value
    {
        s.model.compact_encoding()
    } else {
        Encoding::Hashtable
    };
    let hash = Collection::hash(s.key_len, s.has_expire, pairs);
    Some(s.model.cost(&hash, encoding)?.memory_bytes)
}

/// Hashes, sets and sorted sets: the compact encoding the server held (for inferring its
/// limits), and for those in a hashtable the saving of their compact form and of a split.
fn collection(s: &Subject<'_>, scratch: &mut Scratch, advice: &mut KeyAdvice) -> Result<()> {
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
    if !plain || !(candidate || s.big) {
        return Ok(());
    }
    let (c, _) = Collection::walk(record, s.ctx, scratch)?;
    let Some(form) = compact_form_for(s.model, &c) else {
        return Ok(());
    };
    let compact = compact_encoding(s.model, form);
    if candidate
        && let Some(e) = s.collection(key_type, 0, &c.members, compact)
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
        let (limit, encoding) = part_layout(s.model, form, largest);
        let mut split = 0;
        let parts = c.members.chunks(part_size(c.members.len(), limit));
        let count = parts.len().max(1);
        for (i, members) in parts.enumerate() {
            let part = s.collection(key_type, part_suffix(i as u64), members, encoding);
            split += part.map_or(0, |e| e.memory_bytes);
        }
        advice.big_key = Some(Split {
            parts: count as u64,
            savings_bytes: s.now as i64 - split as i64,
        });
    }
    Ok(())
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
/// elements fit a compact encoding, else [`PART_ELEMENTS`] in a hashtable (skiplist).
fn part_layout(model: &Model, form: CompactForm, largest: u64) -> (usize, Encoding) {
    let l = &model.limits;
    let (entries, value) = match form {
        CompactForm::HashListpack => (l.hash_max_listpack_entries, l.hash_max_listpack_value),
        CompactForm::SetIntset => (l.set_max_intset_entries, u64::MAX),
        CompactForm::SetListpack => (l.set_max_listpack_entries, l.set_max_listpack_value),
        CompactForm::ZsetListpack => (l.zset_max_listpack_entries, l.zset_max_listpack_value),
    };
    if largest <= value && entries > 0 {
        (entries as usize, compact_encoding(model, form))
    } else if form == CompactForm::ZsetListpack {
        (PART_ELEMENTS, Encoding::Skiplist)
    } else {
        (PART_ELEMENTS, Encoding::Hashtable)
    }
}

/// A big list split into lists of [`PART_ELEMENTS`], packed into nodes of the writer's
/// `list-max-listpack-size`.
fn split_list(s: &Subject<'_>, members: &[Member]) -> Split {
    let (node_limit, _) = s.ctx.list_node_limits();
    let entry = |m: &Member| match *m {
        Member::Plain(Scalar { int: Some(v), .. }) => listpack_int_entry(v),
        Member::Plain(Scalar { len, .. }) => listpack_string_entry(len),
        _ => 0,
    };
    let mut split = 0;
    let parts = members.chunks(part_size(members.len(), PART_ELEMENTS));
    let count = parts.len().max(1);
    for (i, part) in parts.enumerate() {
        let mut nodes = Vec::new();
        let mut bytes = 7;
        for m in part {
            let e = entry(m);
            if bytes > 7 && bytes + e > node_limit {
                nodes.push(QuicklistNode::Packed(bytes));
                bytes = 7;
            }
            bytes += e;
        }
        nodes.push(QuicklistNode::Packed(bytes));
        let extra = part_suffix(i as u64);
        let listpack = (nodes.len() == 1)
            .then(|| s.collection(KeyType::List, extra, part, Encoding::Listpack))
            .flatten();
        split += match listpack {
            Some(e) => e.memory_bytes,
            None => {
                s.model
                    .quicklist_cost(s.key_len + extra, s.has_expire, &nodes)
                    .memory_bytes
            }
        };
    }
    Split {
        parts: count as u64,
        savings_bytes: s.now as i64 - split as i64,
    }
}

/// Elements per part when `n` are split evenly (as `hash(member) mod parts` spreads them) into
/// the fewest parts of at most `limit`.
fn part_size(n: usize, limit: usize) -> usize {
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
