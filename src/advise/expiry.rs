//! `no-ttl` and `expired-at-snapshot`: memory that expiry would free, or should have freed.

use super::{Confidence, Kind, Suggestion, percent, worth};
use crate::analyze::Summary;
use crate::analyze::aggregate::TtlHistogram;
use crate::analyze::summary::PatternRow;
use crate::report::units::bytes;

/// Words in a key name that say its keys are meant to go away.
const TRANSIENT_WORDS: [&str; 12] = [
    "cache",
    "session",
    "sess",
    "tmp",
    "temp",
    "lock",
    "otp",
    "token",
    "nonce",
    "ratelimit",
    "throttle",
    "captcha",
];

/// Patterns with keys that never expire: worst where the pattern's other keys do expire (a
/// write path that forgets the TTL), suspicious where the name says the data is transient.
/// The saving is what the keys hold: a TTL frees all of it, eventually.
pub fn no_ttl(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let st = &p.stats.stats;
        let none = p.stats.ttl.none;
        if none.keys == 0 || !worth(none.bytes) {
            continue;
        }
        let (confidence, why) = if st.ttl_keys > 0 {
            (
                Confidence::Medium,
                format!(
                    "{} of {} keys never expire while the others do ({}): a write path that \
                     forgets the TTL",
                    none.keys,
                    st.keys,
                    usual_ttl(p)
                ),
            )
        } else if is_transient(&p.pattern) {
            (
                Confidence::Low,
                format!(
                    "none of its {} keys expires, though the name suggests transient data",
                    st.keys
                ),
            )
        } else {
            continue;
        };
        let base = Suggestion::pattern(
            Kind::NoTtl,
            &p.pattern,
            confidence,
            none.bytes,
            none.keys,
            none.bytes,
        );
        out.push(Suggestion {
            action: format!(
                "set a TTL where these keys are written (`SET <key> <value> EX <seconds>` or \
                 `EXPIRE <key> <seconds>`), and give the existing ones one: `redis-cli --scan \
                 --pattern '{}'` piped to EXPIRE",
                p.pattern
            ),
            evidence: format!("{why}; they hold {}", bytes(none.bytes)),
            ..base
        });
    }
}

/// Keys that had expired when the snapshot was taken but still held memory: expired keys are
/// freed when touched or when the active expire cycle samples them.
pub fn expired_at_snapshot(summary: &Summary, out: &mut Vec<Suggestion>) {
    let total = summary.totals.total_bytes();
    for p in &summary.patterns {
        let expired = p.stats.ttl.expired;
        if expired.keys == 0 || !worth(expired.bytes) {
            continue;
        }
        let base = Suggestion::pattern(
            Kind::ExpiredAtSnapshot,
            &p.pattern,
            Confidence::High,
            expired.bytes,
            expired.keys,
            expired.bytes,
        );
        out.push(Suggestion {
            action: format!(
                "reclaim them now with `redis-cli --scan --pattern '{}' > /dev/null` (SCAN deletes \
                 the expired keys it visits); if this recurs, raise `active-expire-effort` \
                 (redis.conf, 1-10, default 1)",
                p.pattern
            ),
            evidence: format!(
                "{} keys had expired before the snapshot's ctime and still held {} ({} of the \
                 dataset)",
                expired.keys,
                bytes(expired.bytes),
                percent(expired.bytes, total)
            ),
            ..base
        });
    }
}

/// The TTL bucket most of a pattern's expiring keys fall in, in words.
fn usual_ttl(p: &PatternRow) -> String {
    let buckets = p.stats.ttl.buckets();
    let names = TtlHistogram::NAMES;
    let (name, _) = names
        .iter()
        .zip(buckets)
        .take(6)
        .skip(1)
        .max_by_key(|(_, b)| b.keys)
        .expect("five buckets");
    let words = match *name {
        "lt_1h" => "within an hour",
        "lt_1d" => "within a day",
        "lt_7d" => "within a week",
        "lt_30d" => "within 30 days",
        _ => "in 30 days or more",
    };
    format!("most expire {words}")
}

fn is_transient(pattern: &str) -> bool {
    let lower = pattern.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| TRANSIENT_WORDS.contains(&word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::test_support::{key, summary};

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn patterns_that_mix_ttl_and_no_ttl_fire() {
        let mut keys = Vec::new();
        for (i, name) in ["user:1:cart", "user:2:cart", "user:3:cart"]
            .iter()
            .enumerate()
        {
            let mut k = key(name, 2000);
            if i > 0 {
                k.expire_at_ms = Some(NOW + 600_000);
            }
            keys.push(k);
        }
        keys.push(key("config:main", 5000));
        keys.push(key("cache:front", 2000));
        let s = summary(&keys, NOW);
        let mut out = Vec::new();
        no_ttl(&s, &mut out);
        let targets: Vec<(&str, Confidence, i64)> = out
            .iter()
            .map(|s| (s.target.as_str(), s.confidence, s.estimated_savings_bytes))
            .collect();
        // memory plus the 8-byte overhead of the test keys
        assert_eq!(
            targets,
            [
                ("user:*:cart", Confidence::Medium, 2008),
                ("cache:front", Confidence::Low, 2008)
            ]
        );
        assert!(out[0].evidence.contains("most expire within an hour"));
    }

    #[test]
    fn expired_keys_fire_with_their_bytes() {
        let mut keys = Vec::new();
        for name in ["s:1", "s:2", "s:3"] {
            let mut k = key(name, 600);
            k.expire_at_ms = Some(NOW - 1);
            keys.push(k);
        }
        let s = summary(&keys, NOW);
        let mut out = Vec::new();
        expired_at_snapshot(&s, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].target, "s:*");
        assert_eq!(out[0].keys, 3);
        // 3 x (600 + 8 overhead)
        assert_eq!(out[0].estimated_savings_bytes, 1824);
    }
}
