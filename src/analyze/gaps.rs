//! What a `--keep-going` scan could not analyse: the damage it stopped at, and the keys it
//! skipped. Every output reports these the same way, and is complete only when there are none.

use std::fmt;

use crate::rdb;

/// What a `--keep-going` scan could not analyse. Empty means the output is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gaps {
    /// Where the scan stopped: from here on the file could not be split into records.
    pub damage: Option<Damage>,
    /// Well-framed records whose values are corrupt (a bad listpack inside an intact
    /// record): the splitter found where they end, so only these keys are missing.
    pub skipped: SkippedKeys,
}

impl Gaps {
    pub fn is_complete(&self) -> bool {
        self.damage.is_none() && self.skipped.count == 0
    }

    /// Adds the gaps of a later input; the first damage is the one reported.
    pub fn merge(&mut self, other: Gaps) {
        if self.damage.is_none() {
            self.damage = other.damage;
        }
        self.skipped.merge(other.skipped);
    }
}

/// The damage a `--keep-going` scan stopped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where the damaged entry starts: every entry before it was analysed.
    pub entry_offset: u64,
    /// What is wrong, with the exact byte offset and, where known, the key.
    pub error: rdb::Error,
}

/// Keys skipped because their values are corrupt: how many, and the first ones in file
/// order (the list is bounded; a dump can have millions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkippedKeys {
    pub count: u64,
    pub first: Vec<rdb::Error>,
}

impl SkippedKeys {
    /// How many skipped keys are listed.
    pub const LISTED: usize = 20;

    pub fn add(&mut self, error: rdb::Error) {
        self.count += 1;
        if self.first.len() < Self::LISTED {
            self.first.push(error);
        }
    }

    pub fn merge(&mut self, other: SkippedKeys) {
        self.count += other.count;
        let room = Self::LISTED.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }
}

impl fmt::Display for Gaps {
    /// One line per gap, for a warning on stderr or in a terminal report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        if let Some(damage) = &self.damage {
            lines.push(format!(
                "incomplete: analysed up to byte {}, where the damage starts: {}",
                damage.entry_offset, damage.error
            ));
        }
        if let Some(first) = self.skipped.first.first() {
            let n = self.skipped.count;
            lines.push(format!(
                "incomplete: skipped {n} key{} with a corrupt value, the first {first}",
                if n == 1 { "" } else { "s" }
            ));
        }
        f.write_str(&lines.join("\n"))
    }
}
