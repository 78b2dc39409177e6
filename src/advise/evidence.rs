//! What the rules need to know, gathered while the keys are analysed: per pattern (JSON and
//! numeric strings, compressible values, collections just over a compact-encoding threshold)
//! and for the whole dataset (compact encodings seen, big keys, keys outside db 0).
//!
//! Every saving is priced per key on the worker that holds the key's elements ([`super::probe`])
//! and only summed here. Everything merges like the `Aggregate`: sums, maxima, fixed buckets,
//! and example lists ordered by (saving, db, key) and cut to a fixed length, so workers, files
//! and merged summaries give the same evidence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::aggregate::ranks_before;
use crate::rdb::{KeyType, escape_key};

/// Example keys kept per finding.
const EXAMPLES: usize = 3;
/// Big keys kept for the whole dataset.
pub const BIG_KEYS_LISTED: usize = 20;

/// A key named as an example of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub db: u64,
    /// Escaped like every key rdbscope prints.
    pub key: String,
    pub savings_bytes: u64,
}

/// Ranking order of listed keys: larger first, then by db and key, so any merge order gives
/// the same list.
fn rank(metric: u64, db: u64, key: &str) -> (std::cmp::Reverse<u64>, u64, &str) {
    (std::cmp::Reverse(metric), db, key)
}

/// Keys for which one alternative layout is cheaper, and what it saves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub keys: u64,
    /// Σ `MEMORY USAGE` of those keys as they are.
    pub memory_bytes: u64,
    /// Σ bytes the alternative saves, priced per key by the memory model.
    pub savings_bytes: u64,
    /// The keys that save most (ties by db and key).
    pub examples: Vec<Example>,
}

impl Finding {
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// Inlined (into each finding of [`Evidence::add`]): most keys only count, and a key
    /// that saves less than the last example is out without a call.
    #[inline(always)]
    pub fn add(&mut self, db: u64, key: &[u8], memory_bytes: u64, savings_bytes: u64) {
        self.keys += 1;
        self.memory_bytes += memory_bytes;
        self.savings_bytes += savings_bytes;
        let out = self.examples.len() >= EXAMPLES
            && self
                .examples
                .last()
                .is_some_and(|l| savings_bytes < l.savings_bytes);
        if !out {
            self.offer_example(db, key, savings_bytes);
        }
    }

    /// The rest of [`Finding::add`]: whether the key ranks before the last example.
    #[inline(never)]
    fn offer_example(&mut self, db: u64, key: &[u8], savings_bytes: u64) {
        let full = self.examples.len() >= EXAMPLES;
        if full
            && self.examples.last().is_some_and(|l| {
                !ranks_before(savings_bytes, db, key, (l.savings_bytes, l.db, &l.key))
            })
        {
            return;
        }
        self.add_example(db, key, savings_bytes);
    }

    fn add_example(&mut self, db: u64, key: &[u8], savings_bytes: u64) {
        self.push_examples(std::iter::once(Example {
            db,
            key: escape_key(key),
            savings_bytes,
        }));
    }

    pub fn merge(&mut self, o: &Finding) {
        self.keys += o.keys;
        self.memory_bytes += o.memory_bytes;
        self.savings_bytes += o.savings_bytes;
        self.push_examples(o.examples.iter().cloned());
    }

    fn push_examples(&mut self, more: impl Iterator<Item = Example>) {
        self.examples.extend(more);
        self.examples.sort_by(|a, b| {
            rank(a.savings_bytes, a.db, &a.key).cmp(&rank(b.savings_bytes, b.db, &b.key))
        });
        self.examples.dedup();
        self.examples.truncate(EXAMPLES);
    }

    /// The example keys, for a report.
    pub fn example_keys(&self) -> Vec<String> {
        self.examples.iter().map(|e| e.key.clone()).collect()
    }
}

/// A compact encoding a collection can have, with the directives that bound it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompactForm {
    HashListpack,
    SetIntset,
    SetListpack,
    ZsetListpack,
}

impl CompactForm {
    pub fn key_type(self) -> KeyType {
        match self {
            CompactForm::HashListpack => KeyType::Hash,
            CompactForm::SetIntset | CompactForm::SetListpack => KeyType::Set,
            CompactForm::ZsetListpack => KeyType::Zset,
        }
    }

    /// The encoding's name as `OBJECT ENCODING` prints it.
    pub fn encoding(self) -> &'static str {
        match self {
            CompactForm::SetIntset => "intset",
            _ => "listpack",
        }
    }
}

/// Upper bounds of the element-count buckets of [`ThresholdCell`]: halves of powers of two, so
/// every compiled-in and shipped limit (64, 128, 512) and twice it are bucket bounds.
pub const ENTRY_BOUNDS: [u64; 14] = [
    64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 8192,
];
/// Upper bounds of the largest-element buckets (bytes).
pub const LENGTH_BOUNDS: [u64; 10] = [16, 32, 48, 64, 96, 128, 192, 256, 512, 1024];

/// Bucket bound for a value, or `None` past the last bound.
pub fn bucket(bounds: &[u64], value: u64) -> Option<u64> {
    bounds.iter().copied().find(|&b| value <= b)
}

/// Collections held in a hashtable (or skiplist) whose compact form would be cheaper, grouped
/// by element count and largest element so a rule can pick exactly the limits that admit them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdCell {
    pub form: CompactForm,
    /// The element-count bucket (an [`ENTRY_BOUNDS`] value) ...
    pub entries_bucket: u64,
    /// ... and the largest-element bucket (a [`LENGTH_BOUNDS`] value) of this cell.
    pub element_bucket: u64,
    pub min_entries: u64,
    pub max_entries: u64,
    /// The longest member, field or value of any key in the cell.
    pub max_element_bytes: u64,
    #[serde(flatten)]
    pub finding: Finding,
}

/// One collection's threshold observation, as the probe prices it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdObservation {
    pub form: CompactForm,
    pub entries: u64,
    pub max_element_bytes: u64,
    pub savings_bytes: u64,
}

/// A compact collection as the probe sees it: the limits the server ran with admitted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactObservation {
    pub form: CompactForm,
    pub entries: u64,
    pub max_element_bytes: u64,
}

/// What splitting a big key into parts would cost (negative) or save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub parts: u64,
    pub savings_bytes: i64,
}

/// How recently a key was used, as the server's eviction policy recorded it in the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// LRU policies: seconds since the last access.
    IdleSeconds(u64),
    /// LFU policies: the logarithmic access counter (new keys start at 5, it decays while
    /// the key is not used).
    Frequency(u8),
}

/// Upper bounds (exclusive) of the idle-time buckets, in seconds: a day, a week, 30 days.
pub const IDLE_BOUNDS: [u64; 3] = [86_400, 7 * 86_400, 30 * 86_400];
/// Upper bounds (exclusive) of the LFU counter buckets: never used since it decayed, below the
/// counter of a new key, new or lightly used, used.
pub const FREQUENCY_BOUNDS: [u8; 3] = [1, 5, 10];

/// Keys and their `MEMORY USAGE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub keys: u64,
    pub memory_bytes: u64,
}

impl Tally {
    fn add(&mut self, keys: u64, memory_bytes: u64) {
        self.keys += keys;
        self.memory_bytes += memory_bytes;
    }
}

/// A pattern's keys by how recently they were used (the dump carries one or the other,
/// depending on the policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessHistogram {
    /// By [`IDLE_BOUNDS`], the last bucket open-ended.
    pub idle: [Tally; 4],
    /// By [`FREQUENCY_BOUNDS`], the last bucket open-ended.
    pub frequency: [Tally; 4],
}

impl AccessHistogram {
    fn is_empty(&self) -> bool {
        *self == AccessHistogram::default()
    }

    fn add(&mut self, access: Access, memory_bytes: u64) {
        let (bucket, at) = match access {
            Access::IdleSeconds(s) => (
                &mut self.idle,
                IDLE_BOUNDS.iter().filter(|&&b| s >= b).count(),
            ),
            Access::Frequency(f) => (
                &mut self.frequency,
                FREQUENCY_BOUNDS.iter().filter(|&&b| f >= b).count(),
            ),
        };
        bucket[at].add(1, memory_bytes);
    }

    fn merge(&mut self, o: &AccessHistogram) {
        for (mine, theirs) in self.idle.iter_mut().zip(&o.idle) {
            mine.add(theirs.keys, theirs.memory_bytes);
        }
        for (mine, theirs) in self.frequency.iter_mut().zip(&o.frequency) {
            mine.add(theirs.keys, theirs.memory_bytes);
        }
    }
}

/// What the probe found for one key; folded into the pattern's [`Evidence`] and the
/// [`GlobalEvidence`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyAdvice {
    /// Savings of the alternatives that apply to this key.
    pub json_in_string: Option<u64>,
    pub integer_text: Option<u64>,
    pub decimal_text: Option<u64>,
    pub compressible: Option<u64>,
    pub key_names: Option<u64>,
    pub small_key: Option<u64>,
    pub field_names: Option<u64>,
    pub set_cardinality: Option<u64>,
    pub list_compression: Option<u64>,
    pub stream_trim: Option<u64>,
    /// A stream's live and deleted entries.
    pub stream_entries: Option<(u64, u64)>,
    pub access: Option<Access>,
    pub threshold: Option<ThresholdObservation>,
    pub compact: Option<CompactObservation>,
    pub big_key: Option<Split>,
    /// Outside db 0: bytes a `db<N>:` prefix adds to the key name when it moves to db 0.
    pub db_prefix_bytes: u64,
}

impl KeyAdvice {
    /// No alternative found, as a constant (a key starts from `default()`, which only sets
    /// the discriminants: copying this was a call to `memcpy` per key).
    pub const NONE: KeyAdvice = KeyAdvice {
        json_in_string: None,
        integer_text: None,
        decimal_text: None,
        compressible: None,
        key_names: None,
        small_key: None,
        field_names: None,
        set_cardinality: None,
        list_compression: None,
        stream_trim: None,
        stream_entries: None,
        access: None,
        threshold: None,
        compact: None,
        big_key: None,
        db_prefix_bytes: 0,
    };
}

/// The evidence of one pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Strings holding a JSON object; saving of a hash per object.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub json_in_string: Finding,
    /// Integers in a text form the server cannot int-encode (`007`, `+5`, ` 12`, `3.0`).
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub integer_text: Finding,
    /// Decimals (`19.99`): saving of a fixed-point integer.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub decimal_text: Finding,
    /// Large strings whose bytes compress well with LZF; saving of client-side compression.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub compressible: Finding,
    /// Sorted by form and buckets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threshold_cells: Vec<ThresholdCell>,
    /// Key names whose constant segments are long; saving of one-letter segments.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub key_names: Finding,
    /// Tiny string keys without a TTL; saving of holding them as fields of 100-field hashes.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub small_keys: Finding,
    /// Hashes; saving of two-byte field names.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub field_names: Finding,
    /// Sets of 10,000 members or more; saving of a HyperLogLog (when only counted).
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub set_cardinality: Finding,
    /// Lists of 3 nodes or more stored uncompressed; saving of `list-compress-depth 1`.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub list_compression: Finding,
    /// Streams holding entries older than a week before the snapshot; saving of trimming them.
    #[serde(default, skip_serializing_if = "Finding::is_empty")]
    pub stream_trim: Finding,
    /// Σ live and deleted (XDEL'd, still in their nodes) stream entries.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stream_entries: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stream_deleted: u64,
    #[serde(default, skip_serializing_if = "AccessHistogram::is_empty")]
    pub access: AccessHistogram,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }

    /// Inlined into the pattern's tally: the call's saves and restores were a fifth of it.
    #[inline]
    pub fn add(&mut self, db: u64, key: &[u8], memory_bytes: u64, a: &KeyAdvice) {
        // one test a finding (not a table of them walked per key): most keys have one or two
        let add = |finding: &mut Finding, saving: Option<u64>| {
            if let Some(saving) = saving {
                finding.add(db, key, memory_bytes, saving);
            }
        };
        add(&mut self.json_in_string, a.json_in_string);
        add(&mut self.integer_text, a.integer_text);
        add(&mut self.decimal_text, a.decimal_text);
        add(&mut self.compressible, a.compressible);
        add(&mut self.key_names, a.key_names);
        add(&mut self.small_keys, a.small_key);
        add(&mut self.field_names, a.field_names);
        add(&mut self.set_cardinality, a.set_cardinality);
        add(&mut self.list_compression, a.list_compression);
        add(&mut self.stream_trim, a.stream_trim);
        if let Some((entries, deleted)) = a.stream_entries {
            self.stream_entries += entries;
            self.stream_deleted += deleted;
        }
        if let Some(access) = a.access {
            self.access.add(access, memory_bytes);
        }
        if let Some(t) = a.threshold {
            let cell = self.cell(t.form, t.entries, t.max_element_bytes);
            cell.min_entries = cell.min_entries.min(t.entries);
            cell.max_entries = cell.max_entries.max(t.entries);
            cell.max_element_bytes = cell.max_element_bytes.max(t.max_element_bytes);
            cell.finding.add(db, key, memory_bytes, t.savings_bytes);
        }
    }

    /// The cell of a collection, created empty where missing (the probe only reports
    /// collections within the last bounds).
    fn cell(&mut self, form: CompactForm, entries: u64, element: u64) -> &mut ThresholdCell {
        let entries_bucket = bucket(&ENTRY_BOUNDS, entries).unwrap_or(u64::MAX);
        let element_bucket = bucket(&LENGTH_BOUNDS, element).unwrap_or(u64::MAX);
        let at = self
            .threshold_cells
            .binary_search_by(|c| {
                (c.form, c.entries_bucket, c.element_bucket).cmp(&(
                    form,
                    entries_bucket,
                    element_bucket,
                ))
            })
            .unwrap_or_else(|at| {
                self.threshold_cells.insert(
                    at,
                    ThresholdCell {
                        form,
                        entries_bucket,
                        element_bucket,
                        min_entries: u64::MAX,
                        max_entries: 0,
                        max_element_bytes: 0,
                        finding: Finding::default(),
                    },
                );
                at
            });
        &mut self.threshold_cells[at]
    }

    pub fn merge(&mut self, o: &Evidence) {
        self.json_in_string.merge(&o.json_in_string);
        self.integer_text.merge(&o.integer_text);
        self.decimal_text.merge(&o.decimal_text);
        self.compressible.merge(&o.compressible);
        self.key_names.merge(&o.key_names);
        self.small_keys.merge(&o.small_keys);
        self.field_names.merge(&o.field_names);
        self.set_cardinality.merge(&o.set_cardinality);
        self.list_compression.merge(&o.list_compression);
        self.stream_trim.merge(&o.stream_trim);
        self.stream_entries += o.stream_entries;
        self.stream_deleted += o.stream_deleted;
        self.access.merge(&o.access);
        for c in &o.threshold_cells {
            let mine = self.cell(c.form, c.entries_bucket, c.element_bucket);
            mine.min_entries = mine.min_entries.min(c.min_entries);
            mine.max_entries = mine.max_entries.max(c.max_entries);
            mine.max_element_bytes = mine.max_element_bytes.max(c.max_element_bytes);
            mine.finding.merge(&c.finding);
        }
    }
}

/// The largest element count and element a compact encoding held: the server's limits were
/// at least these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactExtent {
    pub form: CompactForm,
    pub keys: u64,
    pub max_entries: u64,
    pub max_element_bytes: u64,
}

/// A key over the big-key bounds, with the price of splitting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BigKey {
    pub db: u64,
    pub key: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub memory_bytes: u64,
    pub elements: u64,
    pub parts: u64,
    /// Negative: what the parts cost beyond the key as it is.
    pub split_savings_bytes: i64,
}

/// Keys of one database other than 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseMove {
    pub db: u64,
    pub keys: u64,
    /// Σ bytes a `db<N>:` prefix adds to the key names.
    pub prefix_bytes: u64,
}

/// Evidence about the dataset as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalEvidence {
    /// Per compact form, sorted.
    pub compact: Vec<CompactExtent>,
    /// Largest first (memory, then db and key), at most [`BIG_KEYS_LISTED`].
    pub big_keys: Vec<BigKey>,
    /// Sorted by db.
    pub databases: Vec<DatabaseMove>,
}

/// One key as the global evidence needs it.
pub struct GlobalKey<'a> {
    pub db: u64,
    pub key: &'a [u8],
    pub key_type: KeyType,
    pub memory_bytes: u64,
    pub elements: u64,
}

impl GlobalEvidence {
    /// Inlined: most keys are in db 0 and have none of these, and the call cost more than
    /// the test.
    #[inline]
    pub fn add(&mut self, k: &GlobalKey<'_>, a: &KeyAdvice) {
        if a.compact.is_some() || a.big_key.is_some() || k.db != 0 {
            self.add_found(k, a);
        }
    }

    fn add_found(&mut self, k: &GlobalKey<'_>, a: &KeyAdvice) {
        if let Some(c) = a.compact {
            self.add_compact(&CompactExtent {
                form: c.form,
                keys: 1,
                max_entries: c.entries,
                max_element_bytes: c.max_element_bytes,
            });
        }
        if let Some(split) = a.big_key {
            let admits = self.big_keys.len() < BIG_KEYS_LISTED
                || self
                    .big_keys
                    .last()
                    .is_some_and(|l| l.memory_bytes <= k.memory_bytes);
            if admits {
                self.add_big_keys(std::iter::once(BigKey {
                    db: k.db,
                    key: escape_key(k.key),
                    key_type: k.key_type,
                    memory_bytes: k.memory_bytes,
                    elements: k.elements,
                    parts: split.parts,
                    split_savings_bytes: split.savings_bytes,
                }));
            }
        }
        if k.db != 0 {
            self.add_database(&DatabaseMove {
                db: k.db,
                keys: 1,
                prefix_bytes: a.db_prefix_bytes,
            });
        }
    }

    fn add_compact(&mut self, e: &CompactExtent) {
        match self.compact.binary_search_by(|c| c.form.cmp(&e.form)) {
            Ok(at) => {
                let c = &mut self.compact[at];
                c.keys += e.keys;
                c.max_entries = c.max_entries.max(e.max_entries);
                c.max_element_bytes = c.max_element_bytes.max(e.max_element_bytes);
            }
            Err(at) => self.compact.insert(at, e.clone()),
        }
    }

    fn add_big_keys(&mut self, more: impl Iterator<Item = BigKey>) {
        self.big_keys.extend(more);
        self.big_keys.sort_by(|a, b| {
            rank(a.memory_bytes, a.db, &a.key).cmp(&rank(b.memory_bytes, b.db, &b.key))
        });
        self.big_keys.truncate(BIG_KEYS_LISTED);
    }

    fn add_database(&mut self, d: &DatabaseMove) {
        match self.databases.binary_search_by(|m| m.db.cmp(&d.db)) {
            Ok(at) => {
                self.databases[at].keys += d.keys;
                self.databases[at].prefix_bytes += d.prefix_bytes;
            }
            Err(at) => self.databases.insert(at, d.clone()),
        }
    }

    pub fn merge(&mut self, o: &GlobalEvidence) {
        for c in &o.compact {
            self.add_compact(c);
        }
        self.add_big_keys(o.big_keys.iter().cloned());
        for d in &o.databases {
            self.add_database(d);
        }
    }

    /// The compact extent of a form, if any key had it.
    pub fn compact_extent(&self, form: CompactForm) -> Option<&CompactExtent> {
        self.compact.iter().find(|c| c.form == form)
    }
}

/// Cells of all patterns together, per form (the dataset-wide view a limit applies to).
pub fn cells_by_form<'a>(
    evidence: impl Iterator<Item = &'a Evidence>,
) -> BTreeMap<CompactForm, Vec<&'a ThresholdCell>> {
    let mut out: BTreeMap<CompactForm, Vec<&ThresholdCell>> = BTreeMap::new();
    for e in evidence {
        for c in &e.threshold_cells {
            out.entry(c.form).or_default().push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_merge_in_any_order() {
        let mut a = Finding::default();
        let mut b = Finding::default();
        let mut whole = Finding::default();
        for (i, saving) in [5u64, 9, 9, 1, 7].into_iter().enumerate() {
            let key = format!("k{i}");
            let part = if i % 2 == 0 { &mut a } else { &mut b };
            part.add(0, key.as_bytes(), 100, saving);
            whole.add(0, key.as_bytes(), 100, saving);
        }
        b.merge(&a);
        assert_eq!(b, whole);
        assert_eq!(whole.savings_bytes, 31);
        assert_eq!(whole.example_keys(), ["k1", "k2", "k4"]);
    }

    /// The inlined test of `Finding::add` skips only keys that would not make the examples:
    /// against offering every key, on savings that grow (so the examples keep changing)
    /// with many ties, in two databases, some keys not their own escape.
    #[test]
    fn finding_add_skips_only_keys_that_would_not_list() {
        let mut rng = crate::synth::rng::Rng::new(9);
        let (mut fast, mut plain) = (Finding::default(), Finding::default());
        for i in 0..20_000u64 {
            let db = rng.below(2);
            let len = 1 + rng.below(12) as usize;
            let mut key = rng.alnum(len);
            if rng.percent(10) {
                key.push(*rng.pick(&[b'\\', 0xff, 0x01]));
            }
            let saving = rng.below(i / 2000 + 2);
            fast.add(db, &key, 100, saving);
            plain.keys += 1;
            plain.memory_bytes += 100;
            plain.savings_bytes += saving;
            plain.offer_example(db, &key, saving);
            assert_eq!(fast, plain, "key {i}");
        }
        assert_eq!(fast.examples.len(), EXAMPLES);
    }

    /// The inlined test of `GlobalEvidence::add` skips only keys that `add_found` leaves as
    /// they were.
    #[test]
    fn global_add_skips_only_what_adds_nothing() {
        let mut rng = crate::synth::rng::Rng::new(5);
        let (mut fast, mut plain) = (GlobalEvidence::default(), GlobalEvidence::default());
        for i in 0..3000u64 {
            let advice = KeyAdvice {
                compact: rng.percent(30).then_some(CompactObservation {
                    form: *rng.pick(&[CompactForm::HashListpack, CompactForm::SetIntset]),
                    entries: rng.below(600),
                    max_element_bytes: rng.below(80),
                }),
                big_key: rng.percent(5).then_some(Split {
                    parts: rng.range(2, 9),
                    savings_bytes: rng.int() % 1000,
                }),
                db_prefix_bytes: rng.below(5),
                ..KeyAdvice::default()
            };
            let key = format!("k{i}");
            let k = GlobalKey {
                db: *rng.pick(&[0, 0, 0, 1, 9]),
                key: key.as_bytes(),
                key_type: KeyType::Hash,
                memory_bytes: rng.below(100_000),
                elements: rng.below(1000),
            };
            fast.add(&k, &advice);
            plain.add_found(&k, &advice);
        }
        assert_eq!(fast, plain);
        assert!(!fast.compact.is_empty() && !fast.big_keys.is_empty());
        assert!(!fast.databases.is_empty());
    }

    #[test]
    fn cells_group_by_buckets() {
        let mut e = Evidence::default();
        let advice = |entries, len, saving| KeyAdvice {
            threshold: Some(ThresholdObservation {
                form: CompactForm::HashListpack,
                entries,
                max_element_bytes: len,
                savings_bytes: saving,
            }),
            ..KeyAdvice::default()
        };
        e.add(0, b"a", 1000, &advice(600, 10, 100));
        e.add(0, b"b", 1000, &advice(700, 14, 50));
        e.add(0, b"c", 1000, &advice(900, 10, 70));
        assert_eq!(e.threshold_cells.len(), 2);
        let first = &e.threshold_cells[0];
        assert_eq!((first.entries_bucket, first.element_bucket), (768, 16));
        assert_eq!((first.min_entries, first.max_entries), (600, 700));
        assert_eq!(first.finding.savings_bytes, 150);
        let mut merged = Evidence::default();
        merged.merge(&e);
        merged.merge(&Evidence::default());
        assert_eq!(merged, e);
    }
}
