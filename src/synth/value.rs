//! What a key holds, independent of how it is laid out in the file: the writer takes one of
//! these plus a layout (`rdb::ValueType`), so the same value can be written in every encoding
//! that can hold it and read back for comparison.

use crate::rdb::{KeyType, ValueType};

/// A stream entry ID: milliseconds and sequence number.
pub type StreamId = (u64, u64);

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    /// Members and scores; written in the order given.
    Zset(Vec<(Vec<u8>, f64)>),
    Hash(Vec<Field>),
    Stream(Stream),
}

impl Value {
    pub fn key_type(&self) -> KeyType {
        match self {
            Value::String(_) => KeyType::String,
            Value::List(_) => KeyType::List,
            Value::Set(_) => KeyType::Set,
            Value::Zset(_) => KeyType::Zset,
            Value::Hash(_) => KeyType::Hash,
            Value::Stream(_) => KeyType::Stream,
        }
    }
}

/// A hash field, with its own expiry (Redis 7.4 / Valkey 9 field TTLs) where it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
    pub expire_at_ms: Option<i64>,
}

impl Field {
    pub fn new(name: Vec<u8>, value: Vec<u8>) -> Field {
        Field {
            name,
            value,
            expire_at_ms: None,
        }
    }
}

/// A stream: entries in ID order, and consumer groups. Everything the file stores beside
/// them (length, first/last/max-deleted IDs, entries added, group PELs) is derived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    pub entries: Vec<StreamEntry>,
    pub groups: Vec<ConsumerGroup>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// Deleted by `XDEL`: kept in its node as a tombstone.
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroup {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    /// `None` is "unknown" (stored as -1).
    pub entries_read: Option<u64>,
    pub consumers: Vec<Consumer>,
}

impl ConsumerGroup {
    /// The group PEL: every consumer's pending entries, in ID order.
    pub fn pending(&self) -> Vec<&PendingEntry> {
        let mut all: Vec<&PendingEntry> = self.consumers.iter().flat_map(|c| &c.pending).collect();
        all.sort_by_key(|p| p.id);
        all
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub name: Vec<u8>,
    pub seen_time_ms: i64,
    pub active_time_ms: i64,
    /// Entries delivered to this consumer and not acknowledged, in ID order.
    pub pending: Vec<PendingEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingEntry {
    pub id: StreamId,
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
}

/// One key as the writer takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub key: Vec<u8>,
    /// How the value is laid out: the type byte the record carries.
    pub layout: ValueType,
    pub value: Value,
    pub expire_at_ms: Option<i64>,
    /// LRU idle seconds and LFU counter (RDB 9+).
    pub idle_s: Option<u64>,
    pub freq: Option<u8>,
}

impl KeyRecord {
    pub fn new(key: impl Into<Vec<u8>>, layout: ValueType, value: Value) -> KeyRecord {
        KeyRecord {
            key: key.into(),
            layout,
            value,
            expire_at_ms: None,
            idle_s: None,
            freq: None,
        }
    }
}
