//! Rules about how collections hold their elements: `hash-field-names`,
//! `set-cardinality-only`, `list-compression`, `stream-untrimmed`. The probe priced each key's
//! alternative; these rules report the patterns where it adds up.

use super::probe::{HLL_MIN_MEMBERS, STREAM_RETENTION_MS};
use super::{Confidence, Kind, Settings, Suggestion, measurable, percent, push_finding};
use crate::analyze::Summary;
use crate::memory::whatif::SHORT_FIELD_BYTES;

pub fn hash_field_names(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let f = &p.stats.advice.field_names;
        if !measurable(f) {
            continue;
        }
        let why = format!(
            "{} hashes repeat their field names in every key; names of {SHORT_FIELD_BYTES} bytes \
             would save {} of what they take",
            f.keys,
            percent(f.savings_bytes, f.memory_bytes)
        );
        push_finding(
            out,
            p,
            f,
            Kind::HashFieldNames,
            Confidence::Medium,
            why,
            "give the fields short names in the client (a fixed map such as `description` -> \
             `d`), for new keys and by rewriting the existing ones",
        );
    }
}

pub fn set_cardinality_only(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let f = &p.stats.advice.set_cardinality;
        let why = format!(
            "{} sets of {HLL_MIN_MEMBERS} members or more, the shape of unique-visitor counting; \
             whether only their size is used the dump cannot tell",
            f.keys
        );
        push_finding(
            out,
            p,
            f,
            Kind::SetCardinalityOnly,
            Confidence::Low,
            why,
            "if the sets are only counted (SCARD, no SISMEMBER/SMEMBERS), use a HyperLogLog: \
             `PFADD <key> <member>` and `PFCOUNT <key>`, 12 KB per key at most, with a 0.81% \
             standard error",
        );
    }
}

pub fn list_compression(summary: &Summary, settings: &Settings, out: &mut Vec<Suggestion>) {
    if settings.list_compress_depth.is_some_and(|d| d > 0) {
        return;
    }
    for p in &summary.patterns {
        let f = &p.stats.advice.list_compression;
        let why = format!(
            "{} lists of three nodes or more whose inner nodes LZF-compress by {} of the keys' \
             memory",
            f.keys,
            percent(f.savings_bytes, f.memory_bytes)
        );
        push_finding(
            out,
            p,
            f,
            Kind::ListCompression,
            Confidence::Medium,
            why,
            "redis.conf `list-compress-depth 1` (or CONFIG SET): every node but the head and tail \
             is held LZF-compressed, so pushes and pops at the ends stay as fast, while LINDEX, \
             LRANGE and LSET inside the list decompress the nodes they touch; existing lists \
             compress when rewritten or reloaded",
        );
    }
}

pub fn stream_untrimmed(summary: &Summary, out: &mut Vec<Suggestion>) {
    let days = STREAM_RETENTION_MS / 86_400_000;
    for p in &summary.patterns {
        let a = &p.stats.advice;
        let f = &a.stream_trim;
        let why = format!(
            "{} streams ({} entries, {} more deleted but still in their nodes) keep entries \
             older than {days} days before the snapshot: nothing trims them",
            f.keys, a.stream_entries, a.stream_deleted
        );
        push_finding(
            out,
            p,
            f,
            Kind::StreamUntrimmed,
            Confidence::Medium,
            why,
            format!(
                "trim as you add: `XADD <key> MINID ~ <unix ms {days} days ago> * ...` (or \
                 `MAXLEN ~ <entries>`), and once now: `XTRIM <key> MINID ~ <that id>`; whole \
                 nodes go, consumer groups stay"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::evidence::KeyAdvice;
    use crate::advise::test_support::{key, summary};
    use crate::rdb::KeyType;

    #[test]
    fn list_compression_is_not_suggested_where_the_config_has_it() {
        let mut k = key("log:1", 90_000);
        k.key_type = KeyType::List;
        k.advice = KeyAdvice {
            list_compression: Some(30_000),
            ..KeyAdvice::default()
        };
        let s = summary(&[k], 1_000_000);
        let mut out = Vec::new();
        list_compression(&s, &Settings::default(), &mut out);
        assert_eq!(out[0].estimated_savings_bytes, 30_000);
        let configured = Settings {
            list_compress_depth: Some(1),
            ..Settings::default()
        };
        let mut out = Vec::new();
        list_compression(&s, &configured, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn field_names_need_a_measurable_share() {
        let hashes = |saving| {
            let mut k = key("item:1", 100_000);
            k.key_type = KeyType::Hash;
            k.advice = KeyAdvice {
                field_names: Some(saving),
                ..KeyAdvice::default()
            };
            summary(&[k], 1_000_000)
        };
        let mut out = Vec::new();
        hash_field_names(&hashes(4000), &mut out);
        assert!(
            out.is_empty(),
            "4% of the keys' memory is not worth a migration"
        );
        hash_field_names(&hashes(6000), &mut out);
        assert_eq!(out[0].estimated_savings_bytes, 6000);
    }
}
