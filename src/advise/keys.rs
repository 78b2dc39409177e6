//! `big-key`: keys whose size or element count makes deleting, migrating or evicting them
//! block the server; the suggestion is a split, priced part by part.

use super::probe::{BIG_KEY_BYTES, BIG_KEY_ELEMENTS};
use super::{Confidence, Kind, Scope, Suggestion};
use crate::analyze::Summary;
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
}
