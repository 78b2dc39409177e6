//! What changed between two snapshots: keys and memory per pattern and in total, new and
//! vanished patterns, the fastest growers first, and the growth rate between their `ctime`.
//! Patterns are compared by their text, so both sides should use the same settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::headroom::{Growth, Headroom};
use super::summary::Summary;

pub const SCHEMA: &str = "rdbscope.diff/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub schema: String,
    pub old: Snapshot,
    pub new: Snapshot,
    /// Whether both sides were analysed with the same settings (else patterns may not
    /// compare).
    pub same_settings: bool,
    pub total: Change,
    /// Largest growth in bytes first, shrinking and vanished patterns last.
    pub patterns: Vec<PatternChange>,
    pub growth: Growth,
    /// With `--maxmemory` or `--config`.
    pub headroom: Option<Headroom>,
}

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The dumps it holds.
    pub inputs: Vec<String>,
    /// The latest `ctime` of its dumps (unix seconds); null when one has none.
    pub ctime: Option<i64>,
}

/// Keys and bytes (memory plus overhead) then and now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub keys_old: u64,
    pub keys_new: u64,
    pub keys_change: i64,
    pub bytes_old: u64,
    pub bytes_new: u64,
    pub bytes_change: i64,
    /// Null when there were no bytes before.
    pub bytes_change_pct: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Vanished,
    Grown,
    Shrunk,
    Unchanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Vanished => "vanished",
            Status::Grown => "grown",
            Status::Shrunk => "shrunk",
            Status::Unchanged => "unchanged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternChange {
    pub pattern: String,
    pub status: Status,
    #[serde(flatten)]
    pub change: Change,
}

impl Change {
    fn new(old: (u64, u64), new: (u64, u64)) -> Change {
        let delta = |a: u64, b: u64| (i128::from(b) - i128::from(a)) as i64;
        Change {
            keys_old: old.0,
            keys_new: new.0,
            keys_change: delta(old.0, new.0),
            bytes_old: old.1,
            bytes_new: new.1,
            bytes_change: delta(old.1, new.1),
            bytes_change_pct: (old.1 > 0)
                .then(|| 100.0 * (new.1 as f64 - old.1 as f64) / old.1 as f64),
        }
    }

    /// Whether the bytes grew by more than `pct` percent (any growth from nothing does).
    pub fn grew_more_than(&self, pct: f64) -> bool {
        self.bytes_new as f64 > self.bytes_old as f64 * (1.0 + pct / 100.0)
    }
}

impl Snapshot {
    fn of(s: &Summary) -> Snapshot {
        Snapshot {
            inputs: s.inputs.iter().map(|i| i.path.clone()).collect(),
            ctime: s
                .inputs
                .iter()
                .map(|i| i.ctime)
                .collect::<Option<Vec<i64>>>()
                .and_then(|times| times.into_iter().max()),
        }
    }
}

impl Diff {
    pub fn between(old: &Summary, new: &Summary) -> Diff {
        let (before, after) = (keys_and_bytes(old), keys_and_bytes(new));
        let mut names: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
        names.sort_unstable();
        names.dedup();
        let mut patterns: Vec<PatternChange> = names
            .into_iter()
            .map(|name| {
                let (then, now) = (before.get(name), after.get(name));
                let change = Change::new(
                    then.copied().unwrap_or_default(),
                    now.copied().unwrap_or_default(),
                );
                let status = match (then, now) {
                    (None, _) => Status::New,
                    (_, None) => Status::Vanished,
                    _ if change.bytes_change > 0 => Status::Grown,
                    _ if change.bytes_change < 0 => Status::Shrunk,
                    _ => Status::Unchanged,
                };
                PatternChange {
                    pattern: name.to_string(),
                    status,
                    change,
                }
            })
            .collect();
        patterns.sort_by(|a, b| {
            b.change
                .bytes_change
                .cmp(&a.change.bytes_change)
                .then_with(|| a.pattern.cmp(&b.pattern))
        });
        let totals = |s: &Summary| (s.totals.keys, s.totals.total_bytes());
        let total = Change::new(totals(old), totals(new));
        let (then, now) = (Snapshot::of(old), Snapshot::of(new));
        Diff {
            schema: SCHEMA.into(),
            growth: Growth::between(then.ctime, now.ctime, total.bytes_change),
            same_settings: old.settings == new.settings,
            old: then,
            new: now,
            total,
            patterns,
            headroom: None,
        }
    }

    /// Adds the headroom under `maxmemory` at the newer snapshot.
    pub fn with_headroom(mut self, maxmemory: u64) -> Diff {
        self.headroom = Some(Headroom::new(
            maxmemory,
            self.total.bytes_new,
            self.new.ctime,
            &self.growth,
        ));
        self
    }
}

/// Keys and bytes per pattern name.
fn keys_and_bytes(s: &Summary) -> BTreeMap<&str, (u64, u64)> {
    let mut map: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for p in &s.patterns {
        let entry = map.entry(p.pattern.as_str()).or_default();
        entry.0 += p.stats.stats.keys;
        entry.1 += p.stats.stats.total_bytes();
    }
    map
}

/// `--fail-if-growth`: a percentage, `10%` or `10`.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim());
    match number.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!("{text:?} is not a percentage (like 10% or 2.5)")),
    }
}
