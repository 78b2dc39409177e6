//! Which hash tags hold the memory, in bounded space. Every key with a `{tag}` lands in its
//! tag's slot, so one heavy tag is memory no slot move can spread. Tags are as many as users
//! or tenants, so they are not tallied one by one: the keys are *threshold-sampled* instead.
//!
//! A key of `bytes` is kept when `bytes >= threshold * u`, where `u` in [0, 1) is a hash of
//! the key, so with probability `min(1, bytes / threshold)`; a kept key stands for
//! `max(bytes, threshold)` bytes, which makes every tag's estimate unbiased, and every key
//! of at least `threshold` bytes is counted exactly. The threshold starts at 0 (every key
//! kept: exact) and doubles while more than [`CAPACITY`] keys are kept. The kept set is then
//! a function of the set of keys alone (the smallest threshold on the doubling grid that
//! keeps at most `CAPACITY` keys, and the keys it admits), whatever the order keys arrive in
//! or workers, files and summaries are merged: merging is exact and deterministic.

use serde::{Deserialize, Serialize};

use super::slots::{Slot, key_slot};
use crate::rdb::{escape_key, unescape_key};

/// Keys a sample holds at most.
pub const CAPACITY: usize = 1024;

/// A sampled key: its tag, its bytes (memory plus overhead), and the hash that decided it.
/// summary.json lists it as `[tag, bytes, hash]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SampledKey(
    /// Escaped like keys (`\xNN` for bytes that are not UTF-8).
    pub String,
    pub u64,
    pub u64,
);

/// The mergeable sample of keys with a hash tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSample {
    /// 0 while every tagged key is kept (the tallies are exact).
    pub threshold: u64,
    /// Sorted, so equal samples serialize equally.
    pub keys: Vec<SampledKey>,
}

/// What the sample says of one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagEstimate {
    pub tag: String,
    pub slot: Slot,
    /// Keys of the tag in the sample (all its keys when the sample is exact).
    pub sampled_keys: u64,
    /// Memory plus overhead: exact when the sample is, else an unbiased estimate.
    pub bytes: u64,
}

impl TagSample {
    /// Offers a key; keys without a hash tag are not sampled.
    pub fn add(&mut self, tag: &[u8], key: &[u8], bytes: u64) {
        let hash = key_hash(key);
        if admits(self.threshold, bytes, hash) {
            self.keys.push(SampledKey(escape_key(tag), bytes, hash));
            self.shrink();
        }
    }

    pub fn merge(&mut self, other: TagSample) {
        self.threshold = self.threshold.max(other.threshold);
        self.keys.extend(other.keys);
        let threshold = self.threshold;
        self.keys.retain(|k| admits(threshold, k.1, k.2));
        self.shrink();
    }

    /// Raises the threshold until the sample fits.
    fn shrink(&mut self) {
        while self.keys.len() > CAPACITY {
            self.threshold = self.threshold.saturating_mul(2).max(1);
            let threshold = self.threshold;
            self.keys.retain(|k| admits(threshold, k.1, k.2));
        }
    }

    /// Sorts the keys: the sample's canonical form for summary.json.
    pub fn finish(&mut self) {
        self.keys.sort();
    }

    pub fn is_exact(&self) -> bool {
        self.threshold == 0
    }

    /// Tags by estimated bytes, largest first (then by tag).
    pub fn tags(&self) -> Vec<TagEstimate> {
        let mut keys: Vec<&SampledKey> = self.keys.iter().collect();
        keys.sort();
        let mut tags: Vec<TagEstimate> = Vec::new();
        for k in keys {
            let bytes = k.1.max(self.threshold);
            match tags.last_mut() {
                Some(t) if t.tag == k.0 => {
                    t.sampled_keys += 1;
                    t.bytes += bytes;
                }
                _ => tags.push(TagEstimate {
                    tag: k.0.clone(),
                    // The tag alone hashes to the slot of every key that carries it.
                    slot: key_slot(&unescape_key(&k.0)),
                    sampled_keys: 1,
                    bytes,
                }),
            }
        }
        tags.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.tag.cmp(&b.tag)));
        tags
    }
}

/// Whether a key of `bytes` with `hash` (read as `u = hash / 2^64`) is kept at `threshold`:
/// `bytes >= threshold * u`, in integers.
fn admits(threshold: u64, bytes: u64, hash: u64) -> bool {
    (u128::from(bytes) << 64) >= u128::from(threshold) * u128::from(hash)
}

/// A fixed 64-bit hash (FNV-1a, then the SplitMix64 finalizer to spread it): summaries
/// written by different builds must sample the same keys.
fn key_hash(key: &[u8]) -> u64 {
    let mut h = key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(keys: impl Iterator<Item = (String, u64)>) -> TagSample {
        let mut s = TagSample::default();
        for (key, bytes) in keys {
            let tag = crate::analyze::slots::hash_tag(key.as_bytes()).unwrap();
            s.add(tag, key.as_bytes(), bytes);
        }
        s.finish();
        s
    }

    #[test]
    fn exact_below_capacity() {
        let s = sample((0..10).map(|i| (format!("{{t{}}}:{i}", i % 3), 100 + i)));
        assert!(s.is_exact());
        let tags = s.tags();
        assert_eq!(tags[0].tag, "t0");
        assert_eq!(tags[0].sampled_keys, 4);
        assert_eq!(tags[0].bytes, 100 + 103 + 106 + 109);
        assert_eq!(u16::from(tags[0].slot), u16::from(key_slot(b"{t0}:x")));
        let total: u64 = tags.iter().map(|t| t.bytes).sum();
        assert_eq!(total, (100..110).sum::<u64>());
    }

    /// Past capacity the sample is bounded, independent of order and of how it is split
    /// and merged, keeps every key of at least the threshold, and still finds the heavy tag.
    #[test]
    fn bounded_order_independent_and_finds_the_heavy_tag() {
        // 20,000 keys of 100 bytes over 2,000 tags, plus one tag of 200 keys of 5,000 bytes.
        let keys: Vec<(String, u64)> = (0..20_000)
            .map(|i| (format!("{{user{}}}:{i}", i % 2000), 100))
            .chain((0..200).map(|i| (format!("{{whale}}:{i}"), 5000)))
            .collect();
        let whole = sample(keys.iter().cloned());
        assert!(whole.keys.len() <= CAPACITY);
        // 2,000,000 bytes of small keys over 1,024 places: about 2,000 bytes a place.
        assert_eq!(whole.threshold, 4096);
        let reversed = sample(keys.iter().rev().cloned());
        assert_eq!(reversed, whole);
        let mut left = sample(keys.iter().step_by(2).cloned());
        let right = sample(keys.iter().skip(1).step_by(2).cloned());
        left.merge(right);
        left.finish();
        assert_eq!(left, whole);

        let whale = &whole.tags()[0];
        assert_eq!(whale.tag, "whale");
        // Its keys are above the threshold: counted exactly.
        assert_eq!((whale.sampled_keys, whale.bytes), (200, 1_000_000));
        let estimate: u64 = whole.tags().iter().map(|t| t.bytes).sum();
        let truth = 20_000 * 100 + 200 * 5000;
        let error = estimate.abs_diff(truth) as f64 / truth as f64;
        assert!(error < 0.1, "total estimate {estimate} vs {truth}");
    }
}
