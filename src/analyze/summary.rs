//! The finished, serializable form of an [`Aggregate`]: what `summary.json` holds and what
//! every report renders. A summary converts back into an aggregate, so `rdbscope merge`
//! combines summaries with the same `merge` that combines workers.

use serde::{Deserialize, Serialize};

use super::aggregate::{Aggregate, KeyRef, PatternStats, Settings, Stats, TopN, TtlHistogram};
use super::hash_tags::TagSample;
use super::patterns::{PatternSettings, PatternTree, Rule, Tally, match_rule};
use super::shards::ShardPlan;
use super::slots::{SlotRange, SlotRow, SlotTable};
use crate::advise::Suggestion;
use crate::advise::evidence::GlobalEvidence;
use crate::rdb::{Encoding, KeyType, escape_key, unescape_key};

pub const SCHEMA: &str = "rdbscope.summary/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    /// False when an input was analysed only up to damage (`--keep-going`).
    pub complete: bool,
    pub inputs: Vec<InputSummary>,
    pub settings: SummarySettings,
    pub totals: Stats,
    pub by_db: Vec<DbRow>,
    pub by_type: Vec<TypeRow>,
    pub by_encoding: Vec<EncodingRow>,
    pub ttl: TtlHistogram,
    /// Largest first (memory plus overhead), then by pattern.
    pub patterns: Vec<PatternRow>,
    /// Prefixes whose literal children collapsed into `*` (needed to merge summaries).
    pub collapsed_prefixes: Vec<String>,
    pub top_keys: TopKeys,
    /// Non-empty Redis Cluster hash slots, `[slot, keys, bytes]` in slot order.
    pub slots: Vec<SlotRow>,
    /// The sample of keys with a hash tag (what `merge` needs to rank tags).
    pub hash_tag_sample: TagSample,
    /// With `--shards N`: the memory of N masters, computed from `slots`.
    pub shards: Option<ShardPlan>,
    /// What the advisor's rules know of the dataset as a whole (per-pattern evidence is in
    /// `patterns`).
    #[serde(default)]
    pub evidence: GlobalEvidence,
    /// The advisor's suggestions, largest saving first; made from the rest of the summary
    /// (so `merge` makes them again rather than combining them).
    #[serde(default)]
    pub suggestions: Vec<Suggestion>,
}

/// One analysed dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    pub path: String,
    pub file_bytes: u64,
    pub rdb_version: u32,
    /// The writer's release from its AUX fields, e.g. `redis 7.0.15`.
    pub server: Option<String>,
    /// The memory model the estimates used.
    pub model: String,
    pub allocator: String,
    /// The dump's `ctime` AUX field (unix seconds): TTL buckets are relative to it.
    pub ctime: Option<i64>,
    /// The writer's `used-mem` AUX field: its `used_memory` when it saved.
    pub used_mem: Option<u64>,
    pub checksum: String,
    /// False when a `--keep-going` scan missed part of the dump; then `damage_offset` and
    /// `damage` say where it stopped and why, and `skipped_keys` counts corrupt values.
    pub complete: bool,
    pub damage_offset: Option<u64>,
    pub damage: Option<String>,
    pub skipped_keys: u64,
    pub totals: Stats,
    /// The slots its keys fall in (a cluster node's dump shows the node's slots); `None`
    /// without keys.
    pub slots: Option<SlotRange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummarySettings {
    pub delimiters: String,
    pub fanout: usize,
    pub max_patterns: usize,
    pub top: usize,
    pub rules: Vec<String>,
    pub min_bytes: u64,
    /// The advisor's settings (the server's config), so `merge` advises as `analyze` did.
    #[serde(default)]
    pub advice: crate::advise::Settings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbRow {
    pub db: u64,
    #[serde(flatten)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeRow {
    #[serde(rename = "type")]
    pub key_type: KeyType,
    #[serde(flatten)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodingRow {
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub encoding: Encoding,
    #[serde(flatten)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternRow {
    pub pattern: String,
    /// Whether the pattern is a `--pattern` rule rather than inferred.
    pub rule: bool,
    /// Share of all keys' memory plus overhead.
    pub share: f64,
    #[serde(flatten)]
    pub stats: PatternStats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopKeys {
    pub by_memory: Vec<KeyRef>,
    pub by_elements: Vec<KeyRef>,
}

impl Summary {
    /// Refuses a summary written by another version of rdbscope.
    pub fn check_schema(&self) -> Result<(), String> {
        if self.schema == SCHEMA {
            Ok(())
        } else {
            Err(format!(
                "schema {:?} is not {SCHEMA:?}: written by another version of rdbscope",
                self.schema
            ))
        }
    }
}

impl SummarySettings {
    pub fn of(settings: &Settings) -> SummarySettings {
        SummarySettings {
            delimiters: settings.patterns.delimiters.clone(),
            fanout: settings.patterns.fanout,
            max_patterns: settings.patterns.max_patterns,
            top: settings.top,
            rules: settings.rules.iter().map(|r| r.text.clone()).collect(),
            min_bytes: settings.min_bytes,
            advice: settings.advice.clone(),
        }
    }

    pub fn to_settings(&self) -> Result<Settings, String> {
        Ok(Settings {
            patterns: PatternSettings {
                delimiters: self.delimiters.clone(),
                fanout: self.fanout,
                max_patterns: self.max_patterns,
            },
            rules: self
                .rules
                .iter()
                .map(|r| Rule::parse(r))
                .collect::<Result<_, _>>()?,
            top: self.top,
            min_bytes: self.min_bytes,
            advice: self.advice.clone(),
        })
    }
}

impl Aggregate {
    /// Settles the patterns (`max_patterns`), names every key's pattern and produces the
    /// summary. Takes the aggregate by reference: the settled tree still resolves keys for
    /// a `keys.csv` written afterwards.
    pub fn summary(&mut self, settings: &Settings, inputs: Vec<InputSummary>) -> Summary {
        self.patterns.finish();
        let total = self.totals.total_bytes();
        let share = |s: &Stats| {
            if total == 0 {
                0.0
            } else {
                s.total_bytes() as f64 / total as f64
            }
        };
        let mut patterns: Vec<PatternRow> = self
            .patterns
            .clone()
            .into_patterns()
            .into_iter()
            .map(|(p, stats)| (escape_key(&p), false, stats))
            .chain(
                self.rules
                    .iter()
                    .filter(|(_, s)| s.stats.keys > 0)
                    .map(|(text, s)| (text.clone(), true, s.clone())),
            )
            .map(|(pattern, rule, mut stats)| {
                if let Some(k) = &mut stats.largest_key {
                    k.pattern = pattern.clone();
                }
                PatternRow {
                    share: share(&stats.stats),
                    pattern,
                    rule,
                    stats,
                }
            })
            .collect();
        patterns.sort_by(|a, b| {
            (std::cmp::Reverse(a.stats.stats.total_bytes()), &a.pattern)
                .cmp(&(std::cmp::Reverse(b.stats.stats.total_bytes()), &b.pattern))
        });
        let named = |top: &TopN| {
            let mut keys = top.clone().into_sorted();
            for k in &mut keys {
                k.pattern = self.pattern_of(&unescape_key(&k.key), &settings.rules);
            }
            keys
        };
        let top_keys = TopKeys {
            by_memory: named(&self.top_by_memory),
            by_elements: named(&self.top_by_elements),
        };
        Summary {
            schema: SCHEMA.into(),
            complete: inputs.iter().all(|i| i.complete),
            inputs,
            settings: SummarySettings::of(settings),
            totals: self.totals,
            by_db: self
                .by_db
                .iter()
                .map(|(db, stats)| DbRow { db, stats })
                .collect(),
            by_type: self
                .by_encoding
                .types()
                .map(|(key_type, stats)| TypeRow { key_type, stats })
                .collect(),
            by_encoding: self
                .by_encoding
                .encodings()
                .map(|(key_type, encoding, stats)| EncodingRow {
                    key_type,
                    encoding,
                    stats,
                })
                .collect(),
            ttl: self.ttl,
            patterns,
            collapsed_prefixes: self
                .patterns
                .collapsed_prefixes()
                .iter()
                .map(|p| escape_key(p))
                .collect(),
            top_keys,
            slots: self.slots.rows(),
            hash_tag_sample: {
                let mut sample = self.hash_tags.clone();
                sample.finish();
                sample
            },
            shards: None,
            evidence: self.evidence.clone(),
            suggestions: Vec::new(),
        }
    }

    /// The pattern a key is reported under: its `--pattern` rule, else the inferred one.
    pub fn pattern_of(&self, key: &[u8], rules: &[Rule]) -> String {
        match match_rule(rules, key) {
            Some(i) => rules[i].text.clone(),
            None => self.patterns.resolve(key),
        }
    }

    /// Rebuilds the aggregate a summary was made from (as far as merging needs).
    pub fn from_summary(s: &Summary, settings: &Settings) -> Aggregate {
        let mut agg = Aggregate::new(settings);
        agg.totals = s.totals;
        agg.by_db = s.by_db.iter().map(|r| (r.db, r.stats)).collect();
        // a type's row is the sum of its encodings' rows
        for r in &s.by_encoding {
            agg.by_encoding.set(r.key_type, r.encoding, r.stats);
        }
        agg.ttl = s.ttl;
        let mut tree = PatternTree::new(settings.patterns.clone());
        for prefix in &s.collapsed_prefixes {
            tree.collapse_prefix(&unescape_key(prefix));
        }
        for row in &s.patterns {
            if row.rule {
                match agg.rules.iter_mut().find(|(t, _)| *t == row.pattern) {
                    Some((_, mine)) => mine.merge(row.stats.clone()),
                    None => agg.rules.push((row.pattern.clone(), row.stats.clone())),
                }
            } else {
                tree.add_pattern(&unescape_key(&row.pattern), row.stats.clone());
            }
        }
        agg.patterns = tree;
        for k in &s.top_keys.by_memory {
            agg.top_by_memory.push(k.clone());
        }
        for k in &s.top_keys.by_elements {
            agg.top_by_elements.push(k.clone());
        }
        agg.slots = SlotTable::from_rows(&s.slots);
        agg.hash_tags = s.hash_tag_sample.clone();
        agg.evidence = s.evidence.clone();
        agg
    }
}

/// Combines summaries of separate runs into the summary one run over all their inputs
/// would have written. They must agree on the pattern settings.
pub fn merge(summaries: &[Summary]) -> Result<Summary, String> {
    let first = summaries.first().ok_or("nothing to merge")?;
    for s in summaries {
        s.check_schema()?;
        if s.settings != first.settings {
            return Err(
                "the summaries were made with different settings (--delimiters, --max-patterns, --top, --pattern, --min-bytes)"
                    .into(),
            );
        }
    }
    let settings = first.settings.to_settings()?;
    let mut agg = Aggregate::new(&settings);
    for s in summaries {
        agg.merge(Aggregate::from_summary(s, &settings));
    }
    let inputs = summaries.iter().flat_map(|s| s.inputs.clone()).collect();
    let mut merged = agg.summary(&settings, inputs);
    merged.complete = summaries.iter().all(|s| s.complete);
    Ok(merged)
}
