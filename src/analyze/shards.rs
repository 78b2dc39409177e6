//! A shard plan: what each of N cluster masters would hold if the analysed keys were spread
//! over them with slots split as `redis-cli --cluster create` splits them. Computed from a
//! summary's slot table, hash-tag sample and top keys alone, so a merged summary gets the
//! plan of the whole cluster.

use serde::{Deserialize, Serialize};

use super::hash_tags::TagEstimate;
use super::slots::{Slot, SlotTable, cluster_create_ranges, key_slot};
use super::summary::Summary;
use crate::rdb::unescape_key;

/// Slots and hash tags listed in a plan.
pub const TOP: usize = 10;
/// A key at least this share (in percent) of the mean shard is "big": moving slots cannot
/// split it, and a few of them make a shard visibly heavier than its peers.
pub const BIG_KEY_PERCENT_OF_MEAN: u64 = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPlan {
    /// Masters planned.
    pub count: usize,
    /// Memory plus overhead of all keys: the shards' bytes add up to it.
    pub total_bytes: u64,
    pub mean_bytes: u64,
    pub max_bytes: u64,
    /// The most loaded shard over the mean (1.0: even; 0 without keys).
    pub imbalance: f64,
    pub shards: Vec<ShardLoad>,
    /// The slots holding the most bytes, largest first.
    pub top_slots: Vec<SlotHotspot>,
    pub hash_tags: TagHotspots,
    pub big_keys: BigKeys,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardLoad {
    pub shard: usize,
    pub first_slot: Slot,
    pub last_slot: Slot,
    pub keys: u64,
    /// Memory plus overhead.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotHotspot {
    pub slot: Slot,
    pub shard: usize,
    pub keys: u64,
    pub bytes: u64,
}

/// The hash tags holding the most bytes, from the summary's tag sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagHotspots {
    /// Whether every tagged key was counted (else the bytes are estimates; see
    /// `analyze::hash_tags`).
    pub exact: bool,
    /// The sample's threshold: keys of at least this many bytes are always counted.
    pub threshold: u64,
    pub top: Vec<TagHotspot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagHotspot {
    #[serde(flatten)]
    pub tag: TagEstimate,
    pub shard: usize,
}

/// Keys no slot move can split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BigKeys {
    /// `BIG_KEY_PERCENT_OF_MEAN` percent of the mean shard.
    pub limit_bytes: u64,
    /// False when every key of the top-keys list is this big: more may exist beyond
    /// `--top`.
    pub complete: bool,
    pub keys: Vec<BigKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BigKey {
    pub db: u64,
    pub key: String,
    pub pattern: String,
    pub slot: Slot,
    pub shard: usize,
    /// Memory plus overhead.
    pub bytes: u64,
}

impl ShardLoad {
    pub fn slot_count(&self) -> u64 {
        u64::from(u16::from(self.last_slot) - u16::from(self.first_slot)) + 1
    }
}

impl ShardPlan {
    /// `bytes` as a share of all keys' bytes (0 without keys).
    pub fn share(&self, bytes: u64) -> f64 {
        ratio(bytes as f64, self.total_bytes as f64)
    }

    /// `bytes` over the mean shard (0 without keys).
    pub fn vs_mean(&self, bytes: u64) -> f64 {
        ratio(bytes as f64, self.total_bytes as f64 / self.count as f64)
    }

    /// The plan for `count` masters (1 to 16384).
    pub fn of(summary: &Summary, count: usize) -> ShardPlan {
        let ranges = cluster_create_ranges(count);
        let shard_of = |slot: Slot| ranges.partition_point(|&(_, last)| last < slot);
        let table = SlotTable::from_rows(&summary.slots);
        let shards: Vec<ShardLoad> = ranges
            .iter()
            .enumerate()
            .map(|(shard, &(first_slot, last_slot))| {
                let load = table.sum(first_slot, last_slot);
                ShardLoad {
                    shard,
                    first_slot,
                    last_slot,
                    keys: load.keys,
                    bytes: load.bytes,
                }
            })
            .collect();
        let total_bytes: u64 = shards.iter().map(|s| s.bytes).sum();
        let max_bytes = shards.iter().map(|s| s.bytes).max().unwrap_or(0);

        let mut hottest = summary.slots.clone();
        hottest.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        let top_slots = hottest
            .iter()
            .take(TOP)
            .map(|r| SlotHotspot {
                slot: r.0,
                shard: shard_of(r.0),
                keys: r.1,
                bytes: r.2,
            })
            .collect();

        let sample = &summary.hash_tag_sample;
        let hash_tags = TagHotspots {
            exact: sample.is_exact(),
            threshold: sample.threshold,
            top: sample
                .tags()
                .into_iter()
                .take(TOP)
                .map(|tag| TagHotspot {
                    shard: shard_of(tag.slot),
                    tag,
                })
                .collect(),
        };

        let mean_bytes = total_bytes / count as u64;
        let limit_bytes = mean_bytes * BIG_KEY_PERCENT_OF_MEAN / 100;
        let ranked = &summary.top_keys.by_memory;
        let keys: Vec<BigKey> = ranked
            .iter()
            .filter(|k| k.total_bytes() >= limit_bytes.max(1))
            .map(|k| {
                let slot = key_slot(&unescape_key(&k.key));
                BigKey {
                    db: k.db,
                    key: k.key.clone(),
                    pattern: k.pattern.clone(),
                    slot,
                    shard: shard_of(slot),
                    bytes: k.total_bytes(),
                }
            })
            .collect();
        let complete = ranked.len() < summary.settings.top || keys.len() < ranked.len();
        ShardPlan {
            count,
            total_bytes,
            mean_bytes,
            max_bytes,
            imbalance: ratio(max_bytes as f64, total_bytes as f64 / count as f64),
            shards,
            top_slots,
            hash_tags,
            big_keys: BigKeys {
                limit_bytes,
                complete,
                keys,
            },
        }
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole == 0.0 { 0.0 } else { part / whole }
}
