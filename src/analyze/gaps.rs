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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::{Error, ErrorKind};

    fn skipped(offsets: std::ops::Range<u64>) -> SkippedKeys {
        let mut s = SkippedKeys::default();
        for offset in offsets {
            s.add(Error::corrupt(offset, "bad").in_key(b"k"));
        }
        s
    }

    #[test]
    fn skipped_keys_are_counted_and_the_first_listed_in_file_order() {
        let mut all = skipped(0..15);
        all.merge(skipped(15..40));
        assert_eq!(all.count, 40);
        let listed: Vec<u64> = all.first.iter().map(|e| e.offset).collect();
        assert_eq!(listed, (0..SkippedKeys::LISTED as u64).collect::<Vec<_>>());
    }

    #[test]
    fn one_line_per_gap() {
        assert!(Gaps::default().is_complete());
        assert_eq!(Gaps::default().to_string(), "");
        let gaps = Gaps {
            damage: Some(Damage {
                entry_offset: 90,
                error: Error::new(
                    100,
                    ErrorKind::Truncated {
                        needed: 8,
                        available: 2,
                        what: "value",
                    },
                )
                .in_key(b"user:1"),
            }),
            skipped: skipped(20..23),
        };
        assert!(!gaps.is_complete());
        assert_eq!(
            gaps.to_string(),
            "incomplete: analysed up to byte 90, where the damage starts: at byte 100 (key \
             \"user:1\"): truncated: value needs 8 bytes but only 2 remain\n\
             incomplete: skipped 3 keys with a corrupt value, the first at byte 20 (key \"k\"): \
             bad"
        );
    }
}
