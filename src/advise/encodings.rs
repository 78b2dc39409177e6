//! `encoding-threshold`: collections held in a hashtable (or skiplist) only because they are a
//! little over a compact-encoding limit. The rule names the exact limit that admits them and
//! the bytes their compact form saves (priced per key by the probe).
//!
//! The limits are the server's config when given; otherwise they are inferred from the dump:
//! at least the largest compact collection seen, below the smallest hashtable one whose
//! elements fit. The compiled-in defaults equal the shipped redis.conf (hash 512 entries,
//! sets 512 as intset and 128 as listpack, sorted sets 128, 64-byte elements), so a dump that
//! is consistent with them is reported as such.

use super::evidence::{CompactForm, ThresholdCell, cells_by_form};
use super::{Confidence, Kind, Settings, Suggestion, worth, ziplist_names};
use crate::analyze::Summary;
use crate::memory::Limits;
use crate::report::units::bytes;

/// "Just over": up to this many times a limit.
const JUST_OVER: u64 = 2;

/// The limits of one compact form and where they come from.
struct FormLimits {
    entries: u64,
    /// `None` for intsets, which take any integer.
    value: Option<u64>,
    source: String,
}

pub fn encoding_threshold(summary: &Summary, settings: &Settings, out: &mut Vec<Suggestion>) {
    let all_cells = cells_by_form(summary.patterns.iter().map(|p| &p.stats.advice));
    let ziplist = ziplist_names(summary);
    for (&form, cells) in &all_cells {
        let limits = match &settings.limits {
            Some(l) => {
                let (entries, value) = limits_of(l, form);
                FormLimits {
                    entries,
                    value,
                    source: "from the server's config".into(),
                }
            }
            None => infer(summary, form, cells),
        };
        for p in &summary.patterns {
            let chosen: Vec<&ThresholdCell> = p
                .stats
                .advice
                .threshold_cells
                .iter()
                .filter(|c| c.form == form && just_over(c, &limits))
                .collect();
            let savings: u64 = chosen.iter().map(|c| c.finding.savings_bytes).sum();
            if chosen.is_empty() || !worth(savings) {
                continue;
            }
            out.push(suggestion(&p.pattern, form, &limits, &chosen, ziplist));
        }
    }
}

fn suggestion(
    pattern: &str,
    form: CompactForm,
    limits: &FormLimits,
    chosen: &[&ThresholdCell],
    ziplist: bool,
) -> Suggestion {
    let (entries_name, value_name) = directives(form, ziplist);
    let max_entries = chosen.iter().map(|c| c.max_entries).max().unwrap_or(0);
    let min_entries = chosen.iter().map(|c| c.min_entries).min().unwrap_or(0);
    let max_element = chosen
        .iter()
        .map(|c| c.max_element_bytes)
        .max()
        .unwrap_or(0);
    let keys: u64 = chosen.iter().map(|c| c.finding.keys).sum();
    let memory: u64 = chosen.iter().map(|c| c.finding.memory_bytes).sum();
    let savings: u64 = chosen.iter().map(|c| c.finding.savings_bytes).sum();
    let mut lines = Vec::new();
    if max_entries > limits.entries {
        lines.push(format!("{entries_name} {max_entries}"));
    }
    if let (Some(v), Some(name)) = (limits.value, value_name)
        && max_element > v
    {
        lines.push(format!("{name} {max_element}"));
    }
    let mut examples: Vec<_> = chosen
        .iter()
        .flat_map(|c| c.finding.examples.iter())
        .collect();
    examples.sort_by(|a, b| {
        (std::cmp::Reverse(a.savings_bytes), &a.key)
            .cmp(&(std::cmp::Reverse(b.savings_bytes), &b.key))
    });
    let key_type = form.key_type().as_str();
    let table = if form == CompactForm::ZsetListpack {
        "skiplist"
    } else {
        "hashtable"
    };
    let base = Suggestion::pattern(
        Kind::EncodingThreshold,
        pattern,
        Confidence::Medium,
        savings,
        keys,
        memory,
    );
    Suggestion {
        action: format!(
            "redis.conf `{}` (or CONFIG SET); the keys turn {} when rewritten or reloaded \
             (restart, replica resync). Trade-off: a {} is scanned linearly, so each access to \
             these keys costs O({max_entries}) instead of O(1)",
            lines.join("`, `"),
            form.encoding(),
            form.encoding()
        ),
        evidence: format!(
            "{keys} {key_type} keys held as {table} with {min_entries} to {max_entries} elements of \
             at most {max_element} bytes take {} and {} less as {}; limits {}",
            bytes(memory),
            bytes(savings),
            form.encoding(),
            limits.source
        ),
        examples: examples.iter().take(3).map(|e| e.key.clone()).collect(),
        ..base
    }
}

/// Whether a cell is over the limits, but by no more than [`JUST_OVER`] times.
fn just_over(c: &ThresholdCell, l: &FormLimits) -> bool {
    let within = c.max_entries <= JUST_OVER * l.entries
        && l.value.is_none_or(|v| c.max_element_bytes <= JUST_OVER * v);
    let over = c.max_entries > l.entries || l.value.is_some_and(|v| c.max_element_bytes > v);
    within && over
}

fn limits_of(l: &Limits, form: CompactForm) -> (u64, Option<u64>) {
    match form {
        CompactForm::HashListpack => (l.hash_max_listpack_entries, Some(l.hash_max_listpack_value)),
        CompactForm::SetIntset => (l.set_max_intset_entries, None),
        CompactForm::SetListpack => (l.set_max_listpack_entries, Some(l.set_max_listpack_value)),
        CompactForm::ZsetListpack => (l.zset_max_listpack_entries, Some(l.zset_max_listpack_value)),
    }
}

/// The config directives of a form (the `ziplist` spellings before Redis 7.0).
fn directives(form: CompactForm, ziplist: bool) -> (&'static str, Option<&'static str>) {
    match (form, ziplist) {
        (CompactForm::HashListpack, false) => {
            ("hash-max-listpack-entries", Some("hash-max-listpack-value"))
        }
        (CompactForm::HashListpack, true) => {
            ("hash-max-ziplist-entries", Some("hash-max-ziplist-value"))
        }
        (CompactForm::SetIntset, _) => ("set-max-intset-entries", None),
        (CompactForm::SetListpack, _) => {
            ("set-max-listpack-entries", Some("set-max-listpack-value"))
        }
        (CompactForm::ZsetListpack, false) => {
            ("zset-max-listpack-entries", Some("zset-max-listpack-value"))
        }
        (CompactForm::ZsetListpack, true) => {
            ("zset-max-ziplist-entries", Some("zset-max-ziplist-value"))
        }
    }
}

/// The limits the writer most likely ran with, from the encodings in the dump.
fn infer(summary: &Summary, form: CompactForm, cells: &[&ThresholdCell]) -> FormLimits {
    let (default_entries, default_value) = limits_of(&Limits::default(), form);
    let extent = summary.evidence.compact_extent(form);
    let value = default_value.map(|v| extent.map_or(v, |e| e.max_element_bytes.max(v)));
    let lower = extent.map_or(0, |e| e.max_entries);
    // Collections whose elements all fit are hashtables because of their count.
    let upper = cells
        .iter()
        .filter(|c| value.is_none_or(|v| c.max_element_bytes <= v))
        .map(|c| c.min_entries.saturating_sub(1))
        .min();
    let entries = match upper {
        _ if lower > default_entries => lower,
        Some(u) if u < default_entries => u.max(lower),
        _ => default_entries,
    };
    let seen = match (extent, upper) {
        (Some(e), Some(u)) => format!(
            "the largest {} had {} elements, the smallest {} with fitting elements {}",
            form.encoding(),
            e.max_entries,
            "hashtable",
            u + 1
        ),
        (Some(e), None) => format!(
            "the largest {} had {} elements",
            form.encoding(),
            e.max_entries
        ),
        (None, Some(u)) => format!("the smallest hashtable with fitting elements had {}", u + 1),
        (None, None) => "nothing to go by".into(),
    };
    let verdict = if entries == default_entries {
        format!("consistent with the default {default_entries}")
    } else {
        format!("{entries}, not the default {default_entries}")
    };
    FormLimits {
        entries,
        value,
        source: format!("inferred from the dump ({seen}: {verdict}; no --config given)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::evidence::{CompactObservation, KeyAdvice, ThresholdObservation};
    use crate::advise::test_support::{Key, key, summary};
    use crate::rdb::{Encoding, KeyType};

    fn hash(name: &'static str, entries: u64, largest: u64, saving: Option<u64>) -> Key {
        let mut k = key(name, 20_000);
        k.key_type = KeyType::Hash;
        k.elements = entries;
        k.advice = match saving {
            Some(savings_bytes) => {
                k.encoding = Encoding::Hashtable;
                KeyAdvice {
                    threshold: Some(ThresholdObservation {
                        form: CompactForm::HashListpack,
                        entries,
                        max_element_bytes: largest,
                        savings_bytes,
                    }),
                    ..KeyAdvice::default()
                }
            }
            None => {
                k.encoding = Encoding::Listpack;
                KeyAdvice {
                    compact: Some(CompactObservation {
                        form: CompactForm::HashListpack,
                        entries,
                        max_element_bytes: largest,
                    }),
                    ..KeyAdvice::default()
                }
            }
        };
        k
    }

    #[test]
    fn names_the_exact_limit_inferred_from_the_dump() {
        // The server ran with 128: listpacks up to 120 entries, hashtables from 130.
        let keys = [
            hash("profile:1", 120, 20, None),
            hash("profile:2", 130, 20, Some(9000)),
            hash("profile:3", 200, 30, Some(12000)),
            hash("profile:4", 5000, 30, Some(1)),
            hash("blob:1", 10, 600, Some(5000)),
        ];
        let s = summary(&keys, 1_000_000);
        let mut out = Vec::new();
        encoding_threshold(&s, &Settings::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        let sug = &out[0];
        assert_eq!(sug.target, "profile:*");
        assert_eq!(sug.estimated_savings_bytes, 21000);
        assert_eq!(sug.keys, 2);
        assert!(
            sug.action
                .starts_with("redis.conf `hash-max-listpack-entries 200`"),
            "{}",
            sug.action
        );
        assert!(
            sug.evidence.contains("129, not the default 512"),
            "{}",
            sug.evidence
        );
        assert_eq!(sug.examples, ["profile:3", "profile:2"]);

        // With the config given, its limits count.
        let config = Settings {
            limits: Some(Limits {
                hash_max_listpack_entries: 150,
                ..Limits::default()
            }),
            ..Settings::default()
        };
        let mut out = Vec::new();
        encoding_threshold(&s, &config, &mut out);
        // 130 entries fit 150: that hash shrank and turns compact on reload anyway.
        assert_eq!(out[0].estimated_savings_bytes, 12000);
        assert!(
            out[0]
                .action
                .starts_with("redis.conf `hash-max-listpack-entries 200`")
        );
        assert!(out[0].evidence.contains("from the server's config"));
    }
}
