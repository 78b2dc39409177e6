//! Which accounting applies: server generations and their struct sizes.

use crate::rdb::{Family, ServerVersion};

/// A group of releases that share one `MEMORY USAGE` accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    /// Redis 6.0 (and older): as 6.2, but stream listpacks are counted by length.
    Redis60,
    /// Redis 6.2 (and older dumps we have no better model for): EMBSTR, ziplists,
    /// intsets and quicklist nodes are counted unrounded; `dict` is 96 bytes.
    Redis62,
    /// Redis 7.0: listpacks, every blob counted by its allocation, 40-byte quicklist nodes.
    Redis70,
    /// Redis 7.2: listpack lists and sets, `no_value` set dicts (still counted 24 per member).
    Redis72,
    /// Redis 7.4: kvstore, hash fields as `mstr`, hash field expiry (`listpackex`).
    Redis74,
    /// Redis 8.x: key embedded in the value object (`kvobj`). **Unverified**: modelled as 7.4.
    Redis8,
    /// Valkey 8.0: keys embedded in the main dict entry.
    Valkey80,
    /// Valkey 8.1+: open-addressing `hashtable` (64-byte buckets of 7 slots) for the keyspace,
    /// sets, hashes and sorted sets; the key is embedded in the value object.
    Valkey81,
    /// Valkey 9.x: as 8.1, with larger embedded strings and hash field expiry.
    Valkey9,
}

impl Generation {
    /// The generation of a server release; `None` (a dump without version AUX fields) gets
    /// the RDB-version default the caller picks.
    pub fn of(server: ServerVersion) -> Generation {
        let v = (server.major, server.minor);
        match server.family {
            Family::Redis => match v {
                (..=5, _) | (6, 0) => Generation::Redis60,
                (6, _) => Generation::Redis62,
                (7, 0) => Generation::Redis70,
                (7, 1..=3) => Generation::Redis72,
                (7, _) => Generation::Redis74,
                _ => Generation::Redis8,
            },
            Family::Valkey => match v {
                (..=7, _) => Generation::Redis72, // Valkey 7.2 is Redis 7.2.4
                (8, 0) => Generation::Valkey80,
                (8, _) => Generation::Valkey81,
                _ => Generation::Valkey9,
            },
        }
    }

    /// Parses a release as `--target` takes it: `7.2`, `redis-7.2`, `6.2.14`, `valkey-8.1`.
    pub fn from_target(target: &str) -> Option<Generation> {
        let lower = target.trim().to_ascii_lowercase();
        let (family, version) = if let Some(v) = lower.strip_prefix("valkey-") {
            (Family::Valkey, v)
        } else {
            (
                Family::Redis,
                lower.strip_prefix("redis-").unwrap_or(&lower),
            )
        };
        let mut parts = version.split('.').map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Generation::of(ServerVersion {
            family,
            major,
            minor,
            patch,
        }))
    }

    /// The generation a dump without version AUX fields most likely comes from.
    pub fn from_rdb_version(rdb_version: u32) -> Generation {
        match rdb_version {
            ..=9 => Generation::Redis62,
            10 => Generation::Redis70,
            11 => Generation::Redis72,
            12 => Generation::Redis74,
            13..=79 => Generation::Redis8,
            _ => Generation::Valkey9,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Generation::Redis60 => "Redis 6.0",
            Generation::Redis62 => "Redis 6.2",
            Generation::Redis70 => "Redis 7.0",
            Generation::Redis72 => "Redis 7.2",
            Generation::Redis74 => "Redis 7.4",
            Generation::Redis8 => "Redis 8.x",
            Generation::Valkey80 => "Valkey 8.0",
            Generation::Valkey81 => "Valkey 8.1",
            Generation::Valkey9 => "Valkey 9.x",
        }
    }

    /// Before Redis 7.0 small blobs and EMBSTR strings are counted by their length, not by
    /// their allocation.
    pub fn counts_blob_lengths(self) -> bool {
        self <= Generation::Redis62
    }

    pub fn is_valkey_hashtable(self) -> bool {
        matches!(self, Generation::Valkey81 | Generation::Valkey9)
    }

    /// Struct sizes on x86-64.
    pub fn structs(self) -> Structs {
        let old = self <= Generation::Redis62;
        Structs {
            dict: if old { 96 } else { 56 },
            quicklist_node: if old { 32 } else { 40 },
            // 6.0 does not count the stream struct at all
            stream: match self {
                Generation::Redis60 => 0,
                Generation::Redis62 => 40,
                _ => 80,
            },
            stream_cg: if old { 32 } else { 40 },
            stream_consumer: if self <= Generation::Redis70 { 24 } else { 32 },
        }
    }
}

/// Sizes of the server structs the accounting adds (`sizeof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Structs {
    pub dict: u64,
    pub quicklist_node: u64,
    pub stream: u64,
    pub stream_cg: u64,
    pub stream_consumer: u64,
}

pub const ROBJ: u64 = 16;
pub const DICT_ENTRY: u64 = 24;
pub const QUICKLIST: u64 = 40;
pub const ZSET: u64 = 16;
pub const ZSKIPLIST: u64 = 32;
pub const STREAM_NACK: u64 = 24;

#[cfg(test)]
mod tests {
    use super::*;

    fn v(family: Family, major: u32, minor: u32) -> ServerVersion {
        ServerVersion {
            family,
            major,
            minor,
            patch: 0,
        }
    }

    #[test]
    fn maps_releases_to_generations() {
        assert_eq!(Generation::of(v(Family::Redis, 6, 0)), Generation::Redis60);
        assert_eq!(Generation::of(v(Family::Redis, 6, 2)), Generation::Redis62);
        assert_eq!(Generation::of(v(Family::Redis, 7, 0)), Generation::Redis70);
        assert_eq!(Generation::of(v(Family::Redis, 7, 2)), Generation::Redis72);
        assert_eq!(Generation::of(v(Family::Redis, 7, 4)), Generation::Redis74);
        assert_eq!(Generation::of(v(Family::Redis, 8, 2)), Generation::Redis8);
        assert_eq!(
            Generation::of(v(Family::Valkey, 8, 0)),
            Generation::Valkey80
        );
        assert_eq!(
            Generation::of(v(Family::Valkey, 8, 1)),
            Generation::Valkey81
        );
        assert_eq!(Generation::of(v(Family::Valkey, 9, 1)), Generation::Valkey9);
        assert_eq!(Generation::from_target("7.2"), Some(Generation::Redis72));
        assert_eq!(
            Generation::from_target("redis-6.2.14"),
            Some(Generation::Redis62)
        );
        assert_eq!(Generation::from_target("8.0"), Some(Generation::Redis8));
        assert_eq!(
            Generation::from_target("valkey-8.1"),
            Some(Generation::Valkey81)
        );
        assert_eq!(
            Generation::from_target("Valkey-9.0"),
            Some(Generation::Valkey9)
        );
        assert_eq!(Generation::from_target("seven"), None);
        assert_eq!(Generation::from_target("7.2.4.1"), None);
        assert_eq!(Generation::Redis62.structs().dict, 96);
        assert_eq!(Generation::Redis70.structs().quicklist_node, 40);
        assert_eq!(Generation::Redis72.structs().stream_consumer, 32);
    }
}
