//! Rules about access and eviction: `cold-keys` (from the LRU idle times or LFU counters the
//! dump carries when the server ran such a policy) and `eviction-policy` (a policy that cannot
//! evict the data's shape).

use super::evidence::{FREQUENCY_BOUNDS, IDLE_BOUNDS, Tally};
use super::{Confidence, Kind, Scope, Settings, Suggestion, percent, worth};
use crate::analyze::Summary;
use crate::report::units::bytes;

/// Keys idle this long (the second idle bound: a week) are cold.
const COLD_IDLE_BUCKET: usize = 2;

pub fn cold_keys(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let access = &p.stats.advice.access;
        let idle = sum(&access.idle[COLD_IDLE_BUCKET..]);
        let never = access.frequency[0];
        let (cold, confidence, why) = if idle.keys > 0 {
            let days = IDLE_BOUNDS[COLD_IDLE_BUCKET - 1] / 86_400;
            (
                idle,
                Confidence::Medium,
                format!("idle for {days} days or more (LRU idle time)"),
            )
        } else {
            let why = format!(
                "with an LFU counter below {} (decayed to nothing: not used for a long while)",
                FREQUENCY_BOUNDS[0]
            );
            (never, Confidence::Low, why)
        };
        if cold.keys == 0 || !worth(cold.memory_bytes) {
            continue;
        }
        let base = Suggestion::pattern(
            Kind::ColdKeys,
            &p.pattern,
            confidence,
            cold.memory_bytes,
            cold.keys,
            cold.memory_bytes,
        );
        out.push(Suggestion {
            action: format!(
                "expire or archive what nobody reads: give `{}` a TTL (`EXPIRE <key> <seconds>` \
                 when written), move the cold keys to cheaper storage, or let an allkeys-lru \
                 policy with a maxmemory evict them first",
                p.pattern
            ),
            evidence: format!(
                "{} of {} keys {why} at the snapshot hold {}",
                cold.keys,
                p.stats.stats.keys,
                bytes(cold.memory_bytes)
            ),
            ..base
        });
    }
}

fn sum(buckets: &[Tally]) -> Tally {
    buckets.iter().fold(Tally::default(), |t, b| Tally {
        keys: t.keys + b.keys,
        memory_bytes: t.memory_bytes + b.memory_bytes,
    })
}

/// A policy that cannot evict most of the data (`volatile-*` while most bytes have no TTL), or
/// that cannot evict at all on data shaped like a cache (`noeviction` while most bytes expire).
pub fn eviction_policy(summary: &Summary, settings: &Settings, out: &mut Vec<Suggestion>) {
    let Some(policy) = settings.maxmemory_policy.as_deref() else {
        return;
    };
    let total = summary.totals.total_bytes();
    let persistent = summary.ttl.none.bytes;
    let expiring = total - persistent;
    let (evictable, suggested, why) = match policy {
        p if p.starts_with("volatile-") && persistent * 2 > total => (
            persistent,
            "allkeys-lru` if the keys without a TTL are cache data; else give them TTLs (`EXPIRE)",
            format!(
                "{policy} evicts only keys with a TTL, but {} of the bytes ({}) have none: at \
                 maxmemory writes fail although most data is never evictable",
                percent(persistent, total),
                bytes(persistent)
            ),
        ),
        "noeviction" if expiring * 2 > total => (
            expiring,
            "volatile-lru` (expiring keys go first; the others stay",
            format!(
                "noeviction refuses writes at maxmemory, yet {} of the bytes ({}) expire, the \
                 shape of cache data that could be evicted instead",
                percent(expiring, total),
                bytes(expiring)
            ),
        ),
        _ => return,
    };
    out.push(Suggestion {
        kind: Kind::EvictionPolicy,
        target: "maxmemory-policy".into(),
        scope: Scope::Server,
        estimated_savings_bytes: evictable as i64,
        confidence: Confidence::Medium,
        action: format!("redis.conf `maxmemory-policy {suggested}), or CONFIG SET at runtime"),
        keys: summary.totals.keys,
        memory_bytes: total,
        evidence: format!("{why}; the saving is what the suggested policy can evict"),
        examples: Vec::new(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::evidence::{Access, KeyAdvice};
    use crate::advise::test_support::{key, summary};

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn idle_keys_are_cold_and_policies_are_checked_against_the_ttls() {
        let mut keys = Vec::new();
        for (name, idle) in [("old:1", 30 * 86_400), ("old:2", 8 * 86_400), ("old:3", 60)] {
            let mut k = key(name, 2000);
            k.advice = KeyAdvice {
                access: Some(Access::IdleSeconds(idle)),
                ..KeyAdvice::default()
            };
            keys.push(k);
        }
        let mut cached = key("cache:1", 1000);
        cached.expire_at_ms = Some(NOW + 60_000);
        keys.push(cached);
        let s = summary(&keys, NOW);
        let mut out = Vec::new();
        cold_keys(&s, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].keys, out[0].estimated_savings_bytes), (2, 4000));
        assert_eq!(out[0].confidence, Confidence::Medium);

        let policy = |p: &str| Settings {
            maxmemory_policy: Some(p.into()),
            ..Settings::default()
        };
        let mut out = Vec::new();
        eviction_policy(&s, &policy("volatile-lru"), &mut out);
        // the three keys without a TTL, with their 8-byte overhead
        assert_eq!(out[0].estimated_savings_bytes, 6024);
        assert!(out[0].action.contains("maxmemory-policy allkeys-lru"));
        let mut out = Vec::new();
        eviction_policy(&s, &policy("noeviction"), &mut out);
        eviction_policy(&s, &policy("allkeys-lru"), &mut out);
        assert!(
            out.is_empty(),
            "noeviction on data that mostly never expires is a choice"
        );
    }
}
