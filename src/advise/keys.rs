//! Rules about keys as such: `big-key` (size or element count that makes deleting, migrating
//! or evicting a key block the server; the suggestion is a split, priced part by part),
//! `long-key-names` and `small-keys-to-hash` (what each key costs just for existing).

use super::probe::{BIG_KEY_BYTES, BIG_KEY_ELEMENTS, BUCKET_FIELDS, abbreviate};
use super::{Confidence, Kind, Scope, Suggestion, measurable, push_finding};
use crate::analyze::Summary;
use crate::analyze::patterns::{Delimiters, TokenKinds};
use crate::rdb::KeyType;
use crate::report::units::bytes;

pub fn big_keys(summary: &Summary, out: &mut Vec<Suggestion>) {
    for k in &summary.evidence.big_keys {
        let per_part = k.elements.div_ceil(k.parts.max(1));
        let how = match k.key_type {
            KeyType::String => format!(
                "split the value into {} strings of about {} ({}:0, {}:1, ...; client-side \
                 chunks)",
                k.parts,
                bytes(k.memory_bytes.div_ceil(k.parts.max(1))),
                k.key,
                k.key
            ),
            KeyType::Hash => format!(
                "split into {} hashes of at most {per_part} fields ({}:<n>, n = hash(field) mod {})",
                k.parts, k.key, k.parts
            ),
            KeyType::Set | KeyType::Zset => format!(
                "split into {} {}s of at most {per_part} members ({}:<n>, n = hash(member) mod {})",
                k.parts,
                k.key_type.as_str(),
                k.key,
                k.parts
            ),
            _ => format!(
                "split into {} lists of at most {per_part} elements ({}:<n>)",
                k.parts, k.key
            ),
        };
        let effect = if k.split_savings_bytes >= 0 {
            "the parts fit a compact encoding and save memory"
        } else {
            "the parts cost extra key and object headers"
        };
        out.push(Suggestion {
            kind: Kind::BigKey,
            target: k.key.clone(),
            scope: Scope::Key,
            estimated_savings_bytes: k.split_savings_bytes,
            confidence: if k.split_savings_bytes >= 0 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            action: format!("{how}; delete the original with UNLINK (it frees in the background)"),
            keys: 1,
            memory_bytes: k.memory_bytes,
            evidence: format!(
                "db {}: {} {} of {} with {} elements (big from {} or {} elements); {effect}",
                k.db,
                k.key_type.as_str(),
                k.key,
                bytes(k.memory_bytes),
                k.elements,
                bytes(BIG_KEY_BYTES),
                BIG_KEY_ELEMENTS
            ),
            examples: vec![k.key.clone()],
        });
    }
}

/// Key names whose constant text is this long are long.
const LONG_CONSTANT_BYTES: usize = 12;

/// Patterns whose constant key text is long and costs a measurable share: the saving of
/// one-letter constant segments, priced per key.
pub fn long_key_names(summary: &Summary, out: &mut Vec<Suggestion>) {
    let delimiters = Delimiters::new(summary.settings.delimiters.as_bytes());
    for p in &summary.patterns {
        let f = &p.stats.advice.key_names;
        let constant = p.pattern.bytes().filter(|&b| b != b'*').count();
        if p.rule || constant < LONG_CONSTANT_BYTES || !measurable(f) {
            continue;
        }
        let short = String::from_utf8_lossy(&abbreviate(
            p.pattern.as_bytes(),
            delimiters,
            TokenKinds::of(p.pattern.as_bytes(), delimiters),
        ))
        .into_owned();
        let why = format!(
            "{} keys spend {} of their names on the constant text of `{}`",
            f.keys,
            bytes(f.savings_bytes),
            p.pattern
        );
        push_finding(
            out,
            p,
            f,
            Kind::LongKeyNames,
            Confidence::Medium,
            why,
            format!(
                "name the keys `{short}` instead of `{}` (keep the short names distinct across \
                 patterns); existing keys move with RENAME, or by writing both names until the \
                 old ones expire",
                p.pattern
            ),
        );
    }
}

/// Patterns of many tiny string keys without a TTL: the saving of holding them as fields of
/// hashes of [`BUCKET_FIELDS`], each key priced as its share of such a hash.
pub fn small_keys_to_hash(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let f = &p.stats.advice.small_keys;
        let Some(prefix) = p.pattern.strip_suffix('*').filter(|_| !p.rule) else {
            continue;
        };
        let why = format!(
            "{} tiny string keys without a TTL, each paying for its own key, object and dict \
             entry",
            f.keys
        );
        push_finding(
            out,
            p,
            f,
            Kind::SmallKeysToHash,
            Confidence::Medium,
            why,
            format!(
                "hold them as fields of hashes of {BUCKET_FIELDS}: `HSET {prefix}<id / \
                 {BUCKET_FIELDS}> <id> <value>` and HGET instead of `SET {prefix}<id> <value>` \
                 and GET (the hashes stay compact within hash-max-listpack-entries and -value; \
                 the keys lose their own TTLs)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::evidence::{KeyAdvice, Split};
    use crate::advise::test_support::{key, summary};

    #[test]
    fn each_big_key_is_a_suggestion_with_its_split_price() {
        let mut big = key("blob", 3 << 20);
        big.advice = KeyAdvice {
            big_key: Some(Split {
                parts: 12,
                savings_bytes: -900,
            }),
            ..KeyAdvice::default()
        };
        let s = summary(&[big, key("small", 100)], 1_000_000);
        let mut out = Vec::new();
        big_keys(&s, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].target, "blob");
        assert_eq!(out[0].estimated_savings_bytes, -900);
        assert_eq!(out[0].confidence, Confidence::Medium);
        assert!(out[0].action.starts_with("split the value into 12 strings"));
    }

    #[test]
    fn key_names_and_small_keys_fire_per_pattern_with_the_short_name() {
        let mut keys = Vec::new();
        for i in 0..100 {
            let name: &'static str =
                Box::leak(format!("notification:preferences:{i}").into_boxed_str());
            let mut k = key(name, 100);
            k.advice = KeyAdvice {
                key_names: Some(16),
                small_key: Some(40),
                ..KeyAdvice::default()
            };
            keys.push(k);
        }
        let s = summary(&keys, 1_000_000);
        let mut out = Vec::new();
        long_key_names(&s, &mut out);
        small_keys_to_hash(&s, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].kind, Kind::LongKeyNames);
        assert_eq!(out[0].estimated_savings_bytes, 1600);
        assert!(
            out[0]
                .action
                .starts_with("name the keys `n:p:*` instead of `notification:preferences:*`")
        );
        assert_eq!(out[1].estimated_savings_bytes, 4000);
        assert!(
            out[1]
                .action
                .contains("HSET notification:preferences:<id / 100> <id> <value>")
        );
    }
}
