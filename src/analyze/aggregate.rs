//! The mergeable result of an analysis: totals, breakdowns, patterns, TTL histogram and top
//! keys. Workers fold keys into their own `Aggregate`; `merge` is associative and
//! commutative, so the same operation combines workers, files and shards analysed
//! elsewhere. Every part is bounded: fixed histograms, a bounded pattern tree, top-N lists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hash_tags::TagSample;
use super::patterns::{PatternSettings, PatternTree, Rule, Tally, TokenKinds, match_rule};
use super::slots::{Slot, SlotTable};
use crate::advise::evidence::{Evidence, GlobalEvidence, GlobalKey, KeyAdvice};
use crate::rdb::{Encoding, KeyType, cmp_escaped, escape_key};

/// What the pipeline knows of one key once it is inspected and priced.
#[derive(Debug, Clone, Copy)]
pub struct KeyFacts<'a> {
    pub db: u64,
    pub key: &'a [u8],
    pub key_type: KeyType,
    pub encoding: Encoding,
    /// `MEMORY USAGE` on the writer.
    pub memory_bytes: u64,
    /// Per-key bytes `MEMORY USAGE` leaves out (expires entry, bucket share).
    pub overhead_bytes: u64,
    pub rdb_bytes: u64,
    pub elements: u64,
    pub expire_at_ms: Option<i64>,
    /// The key's constant tokens under the run's delimiters ([`TokenKinds::of`]).
    pub token_kinds: TokenKinds,
    /// What the advisor's probe found: alternatives and their savings.
    pub advice: &'a KeyAdvice,
    /// The key's Redis Cluster hash slot ([`super::slots::key_slot`]), known before the key
    /// is priced: early enough to prefetch the slot's counters ([`Aggregate::prefetch_slot`]).
    pub slot: Slot,
    /// The key's hash tag, found with its slot ([`super::slots::tag_and_slot`]) so that the
    /// key is searched once.
    pub hash_tag: Option<&'a [u8]>,
}

impl KeyFacts<'_> {
    /// What the key costs in all: the number shares and rankings are computed on.
    pub fn total_bytes(&self) -> u64 {
        self.memory_bytes + self.overhead_bytes
    }
}

/// Sums over a set of keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub keys: u64,
    /// Σ `MEMORY USAGE`.
    pub memory_bytes: u64,
    /// Σ per-key bytes outside `MEMORY USAGE`.
    pub overhead_bytes: u64,
    /// Σ serialized record bytes in the dump.
    pub rdb_bytes: u64,
    pub elements: u64,
    /// Keys with an expiry.
    pub ttl_keys: u64,
}

impl Stats {
    fn add(&mut self, k: &KeyFacts<'_>) {
        self.keys += 1;
        self.memory_bytes += k.memory_bytes;
        self.overhead_bytes += k.overhead_bytes;
        self.rdb_bytes += k.rdb_bytes;
        self.elements += k.elements;
        self.ttl_keys += u64::from(k.expire_at_ms.is_some());
    }

    pub fn merge(&mut self, o: &Stats) {
        self.keys += o.keys;
        self.memory_bytes += o.memory_bytes;
        self.overhead_bytes += o.overhead_bytes;
        self.rdb_bytes += o.rdb_bytes;
        self.elements += o.elements;
        self.ttl_keys += o.ttl_keys;
    }

    pub fn total_bytes(&self) -> u64 {
        self.memory_bytes + self.overhead_bytes
    }

    pub fn no_ttl_keys(&self) -> u64 {
        self.keys - self.ttl_keys
    }
}

/// Stats per database, in order: a sorted vector, since a dump holds few databases and
/// every key counts in one (an ordered map's entry cost more than the stats it found).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByDb(Vec<(u64, Stats)>);

impl ByDb {
    /// The stats of a database, created empty where missing. A dump lists its databases in
    /// order, so the key's is nearly always the last: that test is inlined, the search not.
    #[inline]
    fn entry(&mut self, db: u64) -> &mut Stats {
        let at = match self.0.last() {
            Some(&(last, _)) if last == db => self.0.len() - 1,
            _ => self.find(db),
        };
        &mut self.0[at].1
    }

    /// Where a database is, inserted empty where missing.
    fn find(&mut self, db: u64) -> usize {
        self.0
            .binary_search_by_key(&db, |&(d, _)| d)
            .unwrap_or_else(|at| {
                self.0.insert(at, (db, Stats::default()));
                at
            })
    }

    /// The databases holding keys, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Stats)> + '_ {
        self.0.iter().copied()
    }

    fn merge(&mut self, o: &ByDb) {
        for (db, s) in o.iter() {
            self.entry(db).merge(&s);
        }
    }
}

impl FromIterator<(u64, Stats)> for ByDb {
    fn from_iter<I: IntoIterator<Item = (u64, Stats)>>(rows: I) -> ByDb {
        let mut by_db = ByDb::default();
        for (db, s) in rows {
            by_db.entry(db).merge(&s);
        }
        by_db
    }
}

/// Keys and bytes of one TTL bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub keys: u64,
    /// Σ memory plus overhead.
    pub bytes: u64,
}

impl Bucket {
    fn merge(&mut self, o: &Bucket) {
        self.keys += o.keys;
        self.bytes += o.bytes;
    }
}

/// Keys by remaining TTL at the time of the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtlHistogram {
    /// Expired before the snapshot was taken, still in memory (not yet reclaimed).
    pub expired: Bucket,
    pub lt_1h: Bucket,
    pub lt_1d: Bucket,
    pub lt_7d: Bucket,
    pub lt_30d: Bucket,
    pub gte_30d: Bucket,
    /// An expiry the histogram cannot place: the dump has no reference time.
    pub unknown: Bucket,
    /// No expiry.
    pub none: Bucket,
}

impl TtlHistogram {
    /// Bucket names in order, as the CSV columns and the terminal show them.
    pub const NAMES: [&'static str; 8] = [
        "expired", "lt_1h", "lt_1d", "lt_7d", "lt_30d", "gte_30d", "unknown", "none",
    ];

    pub fn buckets(&self) -> [&Bucket; 8] {
        [
            &self.expired,
            &self.lt_1h,
            &self.lt_1d,
            &self.lt_7d,
            &self.lt_30d,
            &self.gte_30d,
            &self.unknown,
            &self.none,
        ]
    }

    /// The bucket at an [`index`](Self::index) (a match, not an array of all eight built
    /// per key).
    fn bucket_mut(&mut self, at: usize) -> &mut Bucket {
        match at {
            0 => &mut self.expired,
            1 => &mut self.lt_1h,
            2 => &mut self.lt_1d,
            3 => &mut self.lt_7d,
            4 => &mut self.lt_30d,
            5 => &mut self.gte_30d,
            6 => &mut self.unknown,
            _ => &mut self.none,
        }
    }

    /// The bucket index of an expiry, relative to the snapshot time.
    pub fn index(expire_at_ms: Option<i64>, now_ms: Option<i64>) -> usize {
        const HOUR: i64 = 3_600_000;
        let (Some(at), Some(now)) = (expire_at_ms, now_ms) else {
            return if expire_at_ms.is_some() { 6 } else { 7 };
        };
        match at.saturating_sub(now) {
            r if r <= 0 => 0,
            r if r < HOUR => 1,
            r if r < 24 * HOUR => 2,
            r if r < 7 * 24 * HOUR => 3,
            r if r < 30 * 24 * HOUR => 4,
            _ => 5,
        }
    }

    /// Counts a key in the bucket at `at` (its [`index`](Self::index), found once per key).
    fn add(&mut self, at: usize, bytes: u64) {
        let b = self.bucket_mut(at);
        b.keys += 1;
        b.bytes += bytes;
    }

    pub fn merge(&mut self, o: &TtlHistogram) {
        for (at, o) in o.buckets().into_iter().enumerate() {
            self.bucket_mut(at).merge(o);
        }
    }
}

/// Whether a key ranks before one already listed (`listed`: its metric, db and escaped key):
/// larger metric first, then by db and key, so any merge order lists the same keys. The key
/// is escaped only on a tie of metric and db: this runs for every key (three times, and
/// once a finding), so each part is one test rather than an order of tuples.
pub fn ranks_before(metric: u64, db: u64, key: &[u8], listed: (u64, u64, &str)) -> bool {
    if metric != listed.0 {
        metric > listed.0
    } else if db != listed.1 {
        db < listed.1
    } else {
        cmp_escaped(key, listed.2).is_lt()
    }
}

/// One key named in a report: the largest of a pattern, or a top key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    pub db: u64,
    /// Escaped like every key rdbscope prints (`\xNN` for bytes that are not UTF-8).
    pub key: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub encoding: Encoding,
    pub memory_bytes: u64,
    pub overhead_bytes: u64,
    pub rdb_bytes: u64,
    pub elements: u64,
    pub expire_at_ms: Option<i64>,
    /// Filled when the aggregate is finished (patterns settle only then).
    #[serde(default)]
    pub pattern: String,
}

impl KeyRef {
    fn of(k: &KeyFacts<'_>) -> KeyRef {
        KeyRef {
            db: k.db,
            key: escape_key(k.key),
            key_type: k.key_type,
            encoding: k.encoding,
            memory_bytes: k.memory_bytes,
            overhead_bytes: k.overhead_bytes,
            rdb_bytes: k.rdb_bytes,
            elements: k.elements,
            expire_at_ms: k.expire_at_ms,
            pattern: String::new(),
        }
    }

    pub fn total_bytes(&self) -> u64 {
        self.memory_bytes + self.overhead_bytes
    }

    /// Ranking order: larger first, then by database and key so ties are deterministic.
    fn rank(&self, metric: u64) -> (std::cmp::Reverse<u64>, u64, &str) {
        (std::cmp::Reverse(metric), self.db, &self.key)
    }
}

/// A name of which there are few: its place in a [`Counts`].
pub trait Dense: Copy + Ord + 'static {
    /// Every value, in order.
    const ALL: &'static [Self];
    fn index(self) -> usize;
}

impl Dense for KeyType {
    const ALL: &'static [KeyType] = &KeyType::ALL;
    fn index(self) -> usize {
        self as usize
    }
}

impl Dense for Encoding {
    const ALL: &'static [Encoding] = &Encoding::ALL;
    fn index(self) -> usize {
        self as usize
    }
}

/// Keys per type or per encoding, as a map of those present (in order) to their count; held
/// as an array because every key counts in one of each per pattern, where ordered-map
/// lookups cost more than the rest of the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts<K> {
    counts: [u64; 16],
    of: std::marker::PhantomData<K>,
}

impl<K: Dense> Default for Counts<K> {
    fn default() -> Self {
        assert!(K::ALL.len() <= 16, "Counts holds 16 names");
        Counts {
            counts: [0; 16],
            of: std::marker::PhantomData,
        }
    }
}

impl<K: Dense> Counts<K> {
    pub fn add(&mut self, k: K, n: u64) {
        self.counts[k.index()] += n;
    }

    pub fn merge(&mut self, o: &Counts<K>) {
        for (mine, theirs) in self.counts.iter_mut().zip(o.counts) {
            *mine += theirs;
        }
    }

    /// The names counted at least once, with their counts, in order.
    pub fn iter(&self) -> impl Iterator<Item = (K, u64)> + '_ {
        K::ALL
            .iter()
            .map(|&k| (k, self.counts[k.index()]))
            .filter(|&(_, n)| n > 0)
    }

    /// The names counted at least once, in order.
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.iter().map(|(k, _)| k)
    }
}

impl<K: Dense + Serialize> Serialize for Counts<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Dense + Deserialize<'de>> Deserialize<'de> for Counts<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<K, u64>::deserialize(d)?;
        let mut counts = Counts::default();
        for (k, n) in map {
            counts.add(k, n);
        }
        Ok(counts)
    }
}

/// Stats per type and encoding, held densely like [`Counts`]; a type's are the sums of its
/// encodings'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByEncoding(Box<[[Stats; 16]; 8]>);

impl Default for ByEncoding {
    fn default() -> Self {
        assert!(KeyType::ALL.len() <= 8 && Encoding::ALL.len() <= 16);
        ByEncoding(Box::default())
    }
}

impl ByEncoding {
    fn add(&mut self, k: &KeyFacts<'_>) {
        self.0[k.key_type.index()][k.encoding.index()].add(k);
    }

    /// Sets one cell (a summary's row).
    pub fn set(&mut self, key_type: KeyType, encoding: Encoding, stats: Stats) {
        self.0[key_type.index()][encoding.index()] = stats;
    }

    fn merge(&mut self, o: &ByEncoding) {
        for (mine, theirs) in self.0.iter_mut().flatten().zip(o.0.iter().flatten()) {
            mine.merge(theirs);
        }
    }

    /// The encodings holding keys, by type and encoding.
    pub fn encodings(&self) -> impl Iterator<Item = (KeyType, Encoding, Stats)> + '_ {
        KeyType::ALL.iter().flat_map(move |&t| {
            Encoding::ALL
                .iter()
                .map(move |&e| (t, e, self.0[t.index()][e.index()]))
                .filter(|(_, _, s)| s.keys > 0)
        })
    }

    /// The types holding keys, in order.
    pub fn types(&self) -> impl Iterator<Item = (KeyType, Stats)> + '_ {
        KeyType::ALL
            .iter()
            .map(|&t| {
                let mut sum = Stats::default();
                self.0[t.index()].iter().for_each(|s| sum.merge(s));
                (t, sum)
            })
            .filter(|(_, s)| s.keys > 0)
    }
}

/// Per-pattern tallies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternStats {
    #[serde(flatten)]
    pub stats: Stats,
    pub types: Counts<KeyType>,
    pub encodings: Counts<Encoding>,
    pub max_elements: u64,
    pub ttl: TtlHistogram,
    pub largest_key: Option<KeyRef>,
    /// What the advisor's rules need to know of the pattern.
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub advice: Evidence,
}

impl PatternStats {
    /// Folds a key in; `ttl_at` is its TTL bucket.
    fn add(&mut self, k: &KeyFacts<'_>, ttl_at: usize) {
        self.stats.add(k);
        self.types.add(k.key_type, 1);
        self.encodings.add(k.encoding, 1);
        self.max_elements = self.max_elements.max(k.elements);
        self.ttl.add(ttl_at, k.total_bytes());
        self.advice.add(k.db, k.key, k.memory_bytes, k.advice);
        let larger = self.largest_key.as_ref().is_none_or(|l| {
            ranks_before(
                k.total_bytes(),
                k.db,
                k.key,
                (l.total_bytes(), l.db, &l.key),
            )
        });
        if larger {
            self.largest_key = Some(KeyRef::of(k));
        }
    }

    pub fn mean_elements(&self) -> f64 {
        if self.stats.keys == 0 {
            0.0
        } else {
            self.stats.elements as f64 / self.stats.keys as f64
        }
    }
}

impl Tally for PatternStats {
    fn merge(&mut self, o: PatternStats) {
        self.stats.merge(&o.stats);
        self.types.merge(&o.types);
        self.encodings.merge(&o.encodings);
        self.max_elements = self.max_elements.max(o.max_elements);
        self.ttl.merge(&o.ttl);
        self.advice.merge(&o.advice);
        if let Some(l) = o.largest_key {
            let larger = self
                .largest_key
                .as_ref()
                .is_none_or(|m| l.rank(l.total_bytes()) < m.rank(m.total_bytes()));
            if larger {
                self.largest_key = Some(l);
            }
        }
    }
}

/// The N largest keys by one metric: a buffer sorted and cut back to N when it reaches 2N,
/// so an insert costs O(1) amortised and the result does not depend on insertion order.
#[derive(Debug, Clone)]
pub struct TopN {
    limit: usize,
    metric: fn(&KeyRef) -> u64,
    keys: Vec<KeyRef>,
    /// The N-th key at the last trim (metric, db, key): nothing ranked after it can enter.
    floor: Option<(u64, u64, String)>,
}

impl TopN {
    pub fn new(limit: usize, metric: fn(&KeyRef) -> u64) -> TopN {
        TopN {
            limit,
            metric,
            keys: Vec::new(),
            floor: None,
        }
    }

    /// Whether a key with this metric could enter the list (avoids building a `KeyRef`;
    /// equal metrics are common, so ties are decided here too).
    fn admits(&self, value: u64, db: u64, key: &[u8]) -> bool {
        self.limit > 0
            && self
                .floor
                .as_ref()
                .is_none_or(|(metric, floor_db, floor_key)| {
                    ranks_before(value, db, key, (*metric, *floor_db, floor_key))
                })
    }

    pub fn push(&mut self, key: KeyRef) {
        self.keys.push(key);
        if self.keys.len() >= 2 * self.limit.max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let metric = self.metric;
        self.keys
            .sort_by(|a, b| a.rank(metric(a)).cmp(&b.rank(metric(b))));
        self.keys.truncate(self.limit);
        if self.keys.len() == self.limit {
            self.floor = self.keys.last().map(|k| (metric(k), k.db, k.key.clone()));
        }
    }

    pub fn merge(&mut self, other: TopN) {
        for k in other.keys {
            self.push(k);
        }
    }

    /// The list, largest first.
    pub fn into_sorted(mut self) -> Vec<KeyRef> {
        self.trim();
        self.keys
    }
}

/// Which keys a run looks at beyond the `Filter`, and how it groups them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub patterns: PatternSettings,
    pub rules: Vec<Rule>,
    pub top: usize,
    /// Only keys whose memory (with overhead) is at least this many bytes.
    pub min_bytes: u64,
    /// What the advisor knows of the server besides the dump.
    pub advice: crate::advise::Settings,
}

/// Keys per top-keys ranking unless `--top` says otherwise.
pub const DEFAULT_TOP: usize = 100;

impl Default for Settings {
    /// `analyze` without options; what `diff` analyses dumps with.
    fn default() -> Settings {
        Settings {
            patterns: PatternSettings::default(),
            rules: Vec::new(),
            top: DEFAULT_TOP,
            min_bytes: 0,
            advice: crate::advise::Settings::default(),
        }
    }
}

/// Everything an analysis folds keys into.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub totals: Stats,
    pub by_db: ByDb,
    pub by_encoding: ByEncoding,
    pub ttl: TtlHistogram,
    pub patterns: PatternTree<PatternStats>,
    /// One tally per `--pattern` rule, in the order given.
    pub rules: Vec<(String, PatternStats)>,
    pub top_by_memory: TopN,
    pub top_by_elements: TopN,
    /// Keys and bytes per Redis Cluster hash slot.
    pub slots: SlotTable,
    pub hash_tags: TagSample,
    /// The advisor's evidence about the dataset as a whole.
    pub evidence: GlobalEvidence,
}

impl Aggregate {
    pub fn new(settings: &Settings) -> Aggregate {
        Aggregate {
            totals: Stats::default(),
            by_db: ByDb::default(),
            by_encoding: ByEncoding::default(),
            ttl: TtlHistogram::default(),
            patterns: PatternTree::new(settings.patterns.clone()),
            rules: settings
                .rules
                .iter()
                .map(|r| (r.text.clone(), PatternStats::default()))
                .collect(),
            top_by_memory: TopN::new(settings.top, KeyRef::total_bytes),
            top_by_elements: TopN::new(settings.top, |k| k.elements),
            slots: SlotTable::default(),
            hash_tags: TagSample::default(),
            evidence: GlobalEvidence::default(),
        }
    }

    /// Folds one key in. `now_ms` is the snapshot time the TTL buckets are relative to.
    pub fn add(&mut self, k: &KeyFacts<'_>, rules: &[Rule], now_ms: Option<i64>) {
        self.totals.add(k);
        self.by_db.entry(k.db).add(k);
        self.by_encoding.add(k);
        let ttl_at = TtlHistogram::index(k.expire_at_ms, now_ms);
        self.ttl.add(ttl_at, k.total_bytes());
        let tally = match match_rule(rules, k.key) {
            Some(i) => &mut self.rules[i].1,
            None => self.patterns.entry(k.key, &k.token_kinds),
        };
        tally.add(k, ttl_at);
        if self.top_by_memory.admits(k.total_bytes(), k.db, k.key) {
            self.top_by_memory.push(KeyRef::of(k));
        }
        if self.top_by_elements.admits(k.elements, k.db, k.key) {
            self.top_by_elements.push(KeyRef::of(k));
        }
        self.slots.add(k.slot, k.total_bytes());
        if let Some(tag) = k.hash_tag {
            self.hash_tags.add(tag, k.key, k.total_bytes());
        }
        let global = GlobalKey {
            db: k.db,
            key: k.key,
            key_type: k.key_type,
            memory_bytes: k.memory_bytes,
            elements: k.elements,
        };
        self.evidence.add(&global, k.advice);
    }

    /// Asks for the counters of `slot` ahead of [`Aggregate::add`]: with a dump streaming
    /// through the caches the slot table's lines are usually evicted, and waiting out that
    /// miss in `add` took a tenth of `analyze` on a real dump. Pricing the key in between
    /// gives the line time to arrive.
    pub fn prefetch_slot(&self, slot: Slot) {
        self.slots.prefetch(slot);
    }

    pub fn merge(&mut self, o: Aggregate) {
        self.totals.merge(&o.totals);
        self.by_db.merge(&o.by_db);
        self.by_encoding.merge(&o.by_encoding);
        self.ttl.merge(&o.ttl);
        self.patterns.merge(o.patterns);
        for (text, stats) in o.rules {
            match self.rules.iter_mut().find(|(t, _)| *t == text) {
                Some((_, mine)) => mine.merge(stats),
                None => self.rules.push((text, stats)),
            }
        }
        self.top_by_memory.merge(o.top_by_memory);
        self.top_by_elements.merge(o.top_by_elements);
        self.slots.merge(&o.slots);
        self.hash_tags.merge(o.hash_tags);
        self.evidence.merge(&o.evidence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::slots::{key_slot, tag_and_slot};
    use std::cmp::Reverse;
    use std::fmt::Debug;

    fn facts(key: &'static str, memory: u64, elements: u64, ttl: Option<i64>) -> KeyFacts<'static> {
        let (hash_tag, slot) = tag_and_slot(key.as_bytes());
        KeyFacts {
            db: 0,
            key: key.as_bytes(),
            key_type: KeyType::Hash,
            encoding: Encoding::Listpack,
            memory_bytes: memory,
            overhead_bytes: 8,
            rdb_bytes: memory / 2,
            elements,
            expire_at_ms: ttl,
            token_kinds: TokenKinds::of(key.as_bytes(), PatternSettings::default().delimiter_set()),
            advice: &KeyAdvice::NONE,
            slot,
            hash_tag,
        }
    }

    fn settings(top: usize) -> Settings {
        Settings {
            patterns: PatternSettings::default(),
            rules: vec![Rule::parse("cfg*").unwrap()],
            top,
            min_bytes: 0,
            advice: crate::advise::Settings::default(),
        }
    }

    /// `Counts` reads and writes as the ordered map it replaced.
    fn counts_are_an_ordered_map<K: Dense + Serialize + for<'de> Deserialize<'de> + Debug>() {
        for (i, k) in K::ALL.iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
        }
        assert!(K::ALL.windows(2).all(|w| w[0] < w[1]));
        let mut counts = Counts::<K>::default();
        let mut map = BTreeMap::new();
        for (i, &k) in K::ALL.iter().enumerate().rev().step_by(2) {
            counts.add(k, i as u64 + 1);
            counts.add(k, 1);
            *map.entry(k).or_default() += i as u64 + 2;
        }
        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(json, serde_json::to_string(&map).unwrap());
        assert_eq!(serde_json::from_str::<Counts<K>>(&json).unwrap(), counts);
        assert_eq!(counts.iter().collect::<BTreeMap<_, _>>(), map);
    }

    #[test]
    fn counts_of_types_and_encodings() {
        counts_are_an_ordered_map::<KeyType>();
        counts_are_an_ordered_map::<Encoding>();
    }

    #[test]
    fn ttl_buckets_relative_to_snapshot() {
        let now = Some(1_000_000_000_000);
        let at = |ms: i64| TtlHistogram::index(Some(1_000_000_000_000 + ms), now);
        assert_eq!(at(-1), 0);
        assert_eq!(at(0), 0);
        assert_eq!(at(1), 1);
        assert_eq!(at(3_600_000), 2);
        assert_eq!(at(86_400_000 * 6), 3);
        assert_eq!(at(86_400_000 * 29), 4);
        assert_eq!(at(86_400_000 * 30), 5);
        assert_eq!(TtlHistogram::index(None, now), 7);
        assert_eq!(TtlHistogram::index(Some(5), None), 6);
    }

    /// `ranks_before` is the order of (larger metric, db, escaped key).
    #[test]
    fn ranks_before_is_the_listed_order() {
        let mut rng = crate::synth::rng::Rng::new(11);
        let keys: [&[u8]; 6] = [b"a", b"b", b"user:1", b"user:10", b"a\\b", b"\xff"];
        for _ in 0..5000 {
            let (m, d, k) = (rng.below(3), rng.below(3), *rng.pick(&keys));
            let listed = *rng.pick(&keys);
            let (lm, ld, lk) = (rng.below(3), rng.below(3), escape_key(listed));
            let plain = (Reverse(m), d, escape_key(k).as_str()) < (Reverse(lm), ld, lk.as_str());
            assert_eq!(
                ranks_before(m, d, k, (lm, ld, &lk)),
                plain,
                "{m} {d} {k:?} {lk}"
            );
        }
    }

    /// `bucket_mut` and `buckets` name the buckets in the same order.
    #[test]
    fn ttl_bucket_at_an_index_is_the_listed_one() {
        let mut h = TtlHistogram::default();
        for at in 0..8 {
            h.add(at, at as u64 + 1);
        }
        let mut twice = h;
        twice.merge(&h);
        for (at, (b, t)) in h.buckets().into_iter().zip(twice.buckets()).enumerate() {
            let bytes = at as u64 + 1;
            assert_eq!((b.keys, b.bytes), (1, bytes), "{}", TtlHistogram::NAMES[at]);
            assert_eq!(
                (t.keys, t.bytes),
                (2, 2 * bytes),
                "{}",
                TtlHistogram::NAMES[at]
            );
        }
    }

    /// `ByDb` against the ordered map it replaced, with databases in and out of order, and
    /// merged from parts.
    #[test]
    fn by_db_is_an_ordered_map() {
        let mut rng = crate::synth::rng::Rng::new(3);
        let (mut whole, mut left, mut right) = (ByDb::default(), ByDb::default(), ByDb::default());
        let mut map = BTreeMap::<u64, Stats>::new();
        for i in 0..2000 {
            let db = if rng.percent(80) {
                i / 300
            } else {
                *rng.pick(&[0, 1, 3, 15, 1 << 40])
            };
            let k = KeyFacts {
                db,
                ..facts("k", rng.below(1000), rng.below(9), None)
            };
            whole.entry(db).add(&k);
            if rng.percent(50) {
                &mut left
            } else {
                &mut right
            }
            .entry(db)
            .add(&k);
            map.entry(db).or_default().add(&k);
        }
        let rows: Vec<(u64, Stats)> = map.into_iter().collect();
        assert_eq!(whole.iter().collect::<Vec<_>>(), rows);
        left.merge(&right);
        assert_eq!(left, whole);
        assert_eq!(rows.iter().rev().copied().collect::<ByDb>(), whole);
    }

    #[test]
    fn top_n_is_order_independent() {
        let keys = [("a", 5), ("b", 9), ("c", 5), ("d", 1), ("e", 9), ("f", 7)];
        let run = |order: &[usize]| {
            let mut t = TopN::new(3, KeyRef::total_bytes);
            for &i in order {
                let (k, m) = keys[i];
                t.push(KeyRef::of(&facts(k, m, 1, None)));
            }
            t.into_sorted()
                .into_iter()
                .map(|k| k.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&[0, 1, 2, 3, 4, 5]), ["b", "e", "f"]);
        assert_eq!(run(&[5, 4, 3, 2, 1, 0]), ["b", "e", "f"]);
    }

    #[test]
    fn merge_of_parts_equals_the_whole() {
        let keys = [
            facts("user:1:profile", 100, 3, None),
            facts("user:2:profile", 300, 5, Some(10)),
            facts("cfg:main", 50, 1, None),
            facts("session:abc", 70, 1, Some(2_000_000)),
            facts("{cart9}:items", 40, 2, None),
            facts("{cart9}:total", 20, 1, None),
        ];
        let s = settings(2);
        let mut whole = Aggregate::new(&s);
        let mut left = Aggregate::new(&s);
        let mut right = Aggregate::new(&s);
        for (i, k) in keys.iter().enumerate() {
            whole.add(k, &s.rules, Some(1_000_000));
            let part = if i % 2 == 0 { &mut left } else { &mut right };
            part.add(k, &s.rules, Some(1_000_000));
        }
        left.merge(right);
        assert_eq!(left.totals, whole.totals);
        assert_eq!(left.totals.keys, 6);
        assert_eq!(left.totals.memory_bytes, 580);
        assert_eq!(left.totals.ttl_keys, 2);
        assert_eq!(left.ttl, whole.ttl);
        assert_eq!(left.ttl.expired.keys, 1);
        assert_eq!(left.ttl.lt_1h.keys, 1);
        assert_eq!(left.ttl.none.keys, 4);
        assert_eq!(left.slots, whole.slots);
        let cart = left.slots.get(key_slot(b"{cart9}"));
        assert_eq!((cart.keys, cart.bytes), (2, 40 + 20 + 2 * 8));
        let rows = left.slots.rows();
        assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), 6);
        assert_eq!(rows.iter().map(|r| r.2).sum::<u64>(), 580 + 6 * 8);
        left.hash_tags.finish();
        whole.hash_tags.finish();
        assert_eq!(left.hash_tags, whole.hash_tags);
        assert_eq!(left.hash_tags.tags()[0].bytes, 76);
        assert_eq!(left.rules, whole.rules);
        assert_eq!(left.rules[0].1.stats.keys, 1);
        assert_eq!(
            left.patterns.clone().into_patterns(),
            whole.patterns.clone().into_patterns()
        );
        let top: Vec<String> = left
            .top_by_memory
            .into_sorted()
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert_eq!(top, ["user:2:profile", "user:1:profile"]);
        let profile = &whole.patterns.into_patterns()[1];
        assert_eq!(profile.0, b"user:*:profile");
        assert_eq!(profile.1.stats.keys, 2);
        assert_eq!(profile.1.max_elements, 5);
        assert_eq!(
            profile.1.largest_key.as_ref().unwrap().key,
            "user:2:profile"
        );
    }
}
