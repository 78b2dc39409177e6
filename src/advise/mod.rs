//! The advisor: rules that turn a finished summary into suggestions, each with the bytes it
//! saves as the memory model prices it. The rules are pure functions of the summary (whose
//! evidence the analysis gathered per key, [`probe`]), so a merged summary gives the
//! suggestions one run over all its dumps would have given.

pub mod evidence;
pub mod probe;

mod access;
mod collections;
mod databases;
mod encodings;
mod expiry;
mod json;
mod keys;
mod values;

use serde::{Deserialize, Serialize};

use crate::analyze::Summary;
use crate::analyze::summary::PatternRow;
use crate::memory::Limits;
use crate::report::units::bytes;
use evidence::Finding;

/// Savings below this are not worth an operator's attention (suggestions that state a cost
/// or a risk rather than a saving are always reported).
pub const MIN_SAVINGS_BYTES: u64 = 1024;

/// What a suggestion is about; the stable id is its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    BigKey,
    NoTtl,
    ExpiredAtSnapshot,
    JsonInString,
    NumericString,
    CompressibleValue,
    EncodingThreshold,
    MultipleDatabases,
    LongKeyNames,
    SmallKeysToHash,
    ColdKeys,
    EvictionPolicy,
    StreamUntrimmed,
    HashFieldNames,
    ListCompression,
    SetCardinalityOnly,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BigKey => "big-key",
            Kind::NoTtl => "no-ttl",
            Kind::ExpiredAtSnapshot => "expired-at-snapshot",
            Kind::JsonInString => "json-in-string",
            Kind::NumericString => "numeric-string",
            Kind::CompressibleValue => "compressible-value",
            Kind::EncodingThreshold => "encoding-threshold",
            Kind::MultipleDatabases => "multiple-databases",
            Kind::LongKeyNames => "long-key-names",
            Kind::SmallKeysToHash => "small-keys-to-hash",
            Kind::ColdKeys => "cold-keys",
            Kind::EvictionPolicy => "eviction-policy",
            Kind::StreamUntrimmed => "stream-untrimmed",
            Kind::HashFieldNames => "hash-field-names",
            Kind::ListCompression => "list-compression",
            Kind::SetCardinalityOnly => "set-cardinality-only",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

/// What the target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Pattern,
    Key,
    Database,
    Server,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Pattern => "pattern",
            Scope::Key => "key",
            Scope::Database => "database",
            Scope::Server => "server",
        }
    }
}

/// One piece of advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub kind: Kind,
    /// A key pattern, a key, `db N`, or `server`.
    pub target: String,
    pub scope: Scope,
    /// Bytes the action frees, from the memory model; negative when the action costs memory
    /// (splitting a big key, prefixing key names).
    pub estimated_savings_bytes: i64,
    pub confidence: Confidence,
    /// A redis.conf line, a command, or the change in the client's data layout.
    pub action: String,
    /// Keys the suggestion is about, and their `MEMORY USAGE` now.
    pub keys: u64,
    pub memory_bytes: u64,
    /// What the rule saw.
    pub evidence: String,
    pub examples: Vec<String>,
}

impl Suggestion {
    /// A suggestion about `keys` of a pattern holding `memory_bytes`; the caller fills in
    /// the action and evidence.
    fn pattern(
        kind: Kind,
        pattern: &str,
        confidence: Confidence,
        savings: u64,
        keys: u64,
        memory_bytes: u64,
    ) -> Suggestion {
        Suggestion {
            kind,
            target: pattern.to_string(),
            scope: Scope::Pattern,
            estimated_savings_bytes: savings as i64,
            confidence,
            action: String::new(),
            keys,
            memory_bytes,
            evidence: String::new(),
            examples: Vec::new(),
        }
    }
}

/// What the advisor knows of the server besides the dump (`--config`, `--maxmemory-policy`).
/// Part of the summary's settings, so a merged summary is advised as one run would be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Encoding thresholds from the server's config; inferred from the dump when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// The server's `maxmemory-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxmemory_policy: Option<String>,
    /// The server's `list-compress-depth`, when its config gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_compress_depth: Option<u64>,
}

/// Every suggestion for a summary, largest saving first.
pub fn suggest(summary: &Summary) -> Vec<Suggestion> {
    let settings = &summary.settings.advice;
    let mut out = Vec::new();
    keys::big_keys(summary, &mut out);
    expiry::no_ttl(summary, &mut out);
    expiry::expired_at_snapshot(summary, &mut out);
    values::json_in_string(summary, &mut out);
    values::numeric_string(summary, &mut out);
    values::compressible_value(summary, &mut out);
    encodings::encoding_threshold(summary, settings, &mut out);
    databases::multiple_databases(summary, &mut out);
    keys::long_key_names(summary, &mut out);
    keys::small_keys_to_hash(summary, &mut out);
    collections::hash_field_names(summary, &mut out);
    collections::set_cardinality_only(summary, &mut out);
    collections::list_compression(summary, settings, &mut out);
    collections::stream_untrimmed(summary, &mut out);
    access::cold_keys(summary, &mut out);
    access::eviction_policy(summary, settings, &mut out);
    out.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.estimated_savings_bytes),
            a.kind,
            &a.target,
        )
            .cmp(&(
                std::cmp::Reverse(b.estimated_savings_bytes),
                b.kind,
                &b.target,
            ))
    });
    out
}

/// A pattern-level suggestion from one finding, if it saves enough.
fn push_finding(
    out: &mut Vec<Suggestion>,
    p: &PatternRow,
    f: &Finding,
    kind: Kind,
    confidence: Confidence,
    why: String,
    action: impl Into<String>,
) {
    if f.is_empty() || !worth(f.savings_bytes) {
        return;
    }
    let base = Suggestion::pattern(
        kind,
        &p.pattern,
        confidence,
        f.savings_bytes,
        f.keys,
        f.memory_bytes,
    );
    out.push(Suggestion {
        action: action.into(),
        evidence: format!(
            "{why}; they take {} and would take {} less",
            bytes(f.memory_bytes),
            bytes(f.savings_bytes)
        ),
        examples: f.example_keys(),
        ..base
    });
}

/// Whether a saving is worth reporting.
fn worth(savings: u64) -> bool {
    savings >= MIN_SAVINGS_BYTES
}

/// Whether a finding's saving is a measurable share (a twentieth) of what its keys take:
/// renaming keys or fields is a migration, not worth it for less.
fn measurable(f: &Finding) -> bool {
    f.savings_bytes * 20 >= f.memory_bytes
}

/// `part` of `whole` as a percentage with one decimal.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

/// Whether every input's model is older than Redis 7.0, whose directives still say
/// `ziplist`.
fn ziplist_names(summary: &Summary) -> bool {
    !summary.inputs.is_empty()
        && summary
            .inputs
            .iter()
            .all(|i| i.model.starts_with("Redis 6"))
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Summaries built by hand for the rule tests.
    use crate::analyze::aggregate::{KeyFacts, Settings as AnalyzeSettings};
    use crate::analyze::patterns::TokenKinds;
    use crate::analyze::{Aggregate, InputSummary, PatternSettings, Summary};
    use crate::rdb::{Encoding, KeyType};

    use super::evidence::KeyAdvice;

    pub struct Key {
        pub db: u64,
        pub key: &'static str,
        pub key_type: KeyType,
        pub encoding: Encoding,
        pub memory: u64,
        pub elements: u64,
        pub expire_at_ms: Option<i64>,
        pub advice: KeyAdvice,
    }

    pub fn key(key: &'static str, memory: u64) -> Key {
        Key {
            db: 0,
            key,
            key_type: KeyType::String,
            encoding: Encoding::Embstr,
            memory,
            elements: 1,
            expire_at_ms: None,
            advice: KeyAdvice::default(),
        }
    }

    /// The summary of `keys`, with the snapshot taken at `now_ms`.
    pub fn summary(keys: &[Key], now_ms: i64) -> Summary {
        let settings = AnalyzeSettings {
            patterns: PatternSettings::default(),
            rules: Vec::new(),
            top: 10,
            min_bytes: 0,
            advice: super::Settings::default(),
        };
        let mut agg = Aggregate::new(&settings);
        for k in keys {
            let (hash_tag, slot) = crate::analyze::slots::tag_and_slot(k.key.as_bytes());
            let facts = KeyFacts {
                db: k.db,
                key: k.key.as_bytes(),
                key_type: k.key_type,
                encoding: k.encoding,
                memory_bytes: k.memory,
                overhead_bytes: 8,
                rdb_bytes: k.memory / 2,
                elements: k.elements,
                expire_at_ms: k.expire_at_ms,
                token_kinds: TokenKinds::of(k.key.as_bytes(), settings.patterns.delimiter_set()),
                advice: &k.advice,
                slot,
                hash_tag,
            };
            agg.add(&facts, &settings.rules, Some(now_ms));
        }
        let input = InputSummary {
            path: "dump.rdb".into(),
            file_bytes: 0,
            rdb_version: 11,
            server: Some("Redis 7.2.4".into()),
            model: "Redis 7.2".into(),
            allocator: "jemalloc".into(),
            ctime: Some(now_ms / 1000),
            used_mem: None,
            checksum: "valid".into(),
            complete: true,
            damage_offset: None,
            damage: None,
            skipped_keys: 0,
            totals: agg.totals,
            slots: crate::analyze::slots::SlotRange::of(&agg.slots),
        };
        agg.summary(&settings, vec![input])
    }
}
