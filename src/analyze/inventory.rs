//! What `rdbscope info` reports: the file's metadata and key counts by database, type and
//! encoding. Counts are folded per batch on workers and merged in order.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Gaps;
use crate::memory::{Estimate, Model};
use crate::rdb::{Checksum, Encoding, Header, Item, KeyType, Record, ValueStats, escape_key};

/// Key counts of one database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbCounts {
    pub keys: u64,
    pub expires: u64,
    /// What RESIZEDB announced (a hint; Redis writes it before the keys).
    pub resize_hint: Option<(u64, u64)>,
}

/// Counts over keys, mergeable across batches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub keys: u64,
    pub rdb_bytes: u64,
    pub by_db: BTreeMap<u64, DbCounts>,
    pub by_type: BTreeMap<KeyType, u64>,
    pub by_encoding: BTreeMap<(KeyType, Encoding), u64>,
    /// Module values by module type name.
    pub by_module: BTreeMap<String, u64>,
    /// Σ `memory_bytes` of the estimates (module values: their key part only).
    pub memory_bytes: u64,
    /// Σ `overhead_bytes` of the estimates.
    pub overhead_bytes: u64,
}

impl KeyCounts {
    pub fn add(&mut self, record: &Record<'_>, stats: &ValueStats, estimate: &Estimate) {
        let key_type = record.value_type.key_type();
        self.keys += 1;
        self.memory_bytes += estimate.memory_bytes;
        self.overhead_bytes += estimate.overhead_bytes;
        self.rdb_bytes += record.rdb_bytes;
        let db = self.by_db.entry(record.db).or_default();
        db.keys += 1;
        db.expires += u64::from(record.expire_at_ms.is_some());
        *self.by_type.entry(key_type).or_default() += 1;
        *self
            .by_encoding
            .entry((key_type, stats.encoding()))
            .or_default() += 1;
        if let Some(module) = &stats.shape.module {
            *self.by_module.entry(module.name.clone()).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: KeyCounts) {
        self.keys += other.keys;
        self.memory_bytes += other.memory_bytes;
        self.overhead_bytes += other.overhead_bytes;
        self.rdb_bytes += other.rdb_bytes;
        for (db, c) in other.by_db {
            let mine = self.by_db.entry(db).or_default();
            mine.keys += c.keys;
            mine.expires += c.expires;
        }
        for (t, n) in other.by_type {
            *self.by_type.entry(t).or_default() += n;
        }
        for (e, n) in other.by_encoding {
            *self.by_encoding.entry(e).or_default() += n;
        }
        for (m, n) in other.by_module {
            *self.by_module.entry(m).or_default() += n;
        }
    }
}

/// Everything `info` shows about one dump.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub header: Header,
    pub file_bytes: u64,
    /// AUX fields in file order, keys and values escaped like keys.
    pub aux: Vec<(String, String)>,
    pub functions: Vec<String>,
    pub module_aux: Vec<String>,
    /// `None`: not verified, because a `--keep-going` scan stopped before the trailer or the
    /// trailer did not match (then `gaps` says why).
    pub checksum: Option<Checksum>,
    pub trailing_bytes: u64,
    /// The bytes after the RDB data are AOF commands: the file is an RDB-preamble AOF.
    pub aof_tail: bool,
    pub counts: KeyCounts,
    /// The model the estimates come from.
    pub model: Option<Model>,
    /// What a `--keep-going` scan missed; the counts cover everything else.
    pub gaps: Gaps,
    current_db: Option<u64>,
}

impl Inventory {
    pub fn new(header: Header, file_bytes: u64) -> Inventory {
        Inventory {
            header,
            file_bytes,
            aux: Vec::new(),
            functions: Vec::new(),
            module_aux: Vec::new(),
            checksum: None,
            trailing_bytes: 0,
            aof_tail: false,
            counts: KeyCounts::default(),
            model: None,
            gaps: Gaps::default(),
            current_db: None,
        }
    }

    /// Records a non-key item. Checksum verification is done by the caller (it can run
    /// beside the pipeline); this only notes where the file ended.
    pub fn add_item(&mut self, item: &Item<'_>) {
        match item {
            Item::Aux { key, value } => {
                let text = |s: &crate::rdb::RdbStr<'_>| {
                    s.to_cow()
                        .map(|b| escape_key(&b))
                        .unwrap_or_else(|e| format!("<{e}>"))
                };
                self.aux.push((text(key), text(value)));
            }
            Item::ResizeDb { keys, expires } => {
                if let Some(db) = self.current_db {
                    self.counts.by_db.entry(db).or_default().resize_hint = Some((*keys, *expires));
                }
            }
            Item::SelectDb(db) => self.current_db = Some(*db),
            Item::Function(code) => {
                let name = code.to_cow().map(|c| library_name(&c)).unwrap_or_default();
                self.functions.push(name);
            }
            Item::ModuleAux { module, .. } => self.module_aux.push(module.name.clone()),
            Item::Eof { trailing_bytes, .. } => self.trailing_bytes = *trailing_bytes,
            Item::SlotInfo { .. } | Item::SlotImport { .. } => {}
        }
    }

    pub fn aux(&self, key: &str) -> Option<&str> {
        self.aux
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The library name from a `#!lua name=mylib` shebang line.
fn library_name(code: &[u8]) -> String {
    let first = code.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("name="))
        .unwrap_or("?")
        .to_string()
}
