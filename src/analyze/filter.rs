//! Which keys a run looks at: `--db`, `--type`, `--match`.

use super::glob::Glob;
use crate::rdb::{KeyType, Record};

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub dbs: Vec<u64>,
    pub types: Vec<KeyType>,
    pub pattern: Option<Glob>,
}

impl Filter {
    pub fn accepts(&self, record: &Record<'_>) -> bool {
        (self.dbs.is_empty() || self.dbs.contains(&record.db))
            && (self.types.is_empty() || self.types.contains(&record.value_type.key_type()))
            && self
                .pattern
                .as_ref()
                .is_none_or(|g| g.is_match(&record.key))
    }
}
