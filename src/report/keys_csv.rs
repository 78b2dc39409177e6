//! `rdbscope keys`: one CSV row per key.

use super::units;
use crate::memory::{Certainty, Estimate};
use crate::rdb::{KeyType, Record, ValueStats, escape_key};

pub const HEADER: &str = "db,key,type,encoding,memory_bytes,overhead_bytes,rdb_bytes,elements,\
                          largest_element_bytes,expires_at_ms,idle_s,freq";

/// redis-rdb-tools' memory report (`rdb -c memory`), for spreadsheets and scripts built on it.
pub const RDBTOOLS_HEADER: &str =
    "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry";

/// Which columns a keys CSV has.
#[derive(Clone, Copy)]
pub enum Columns<'p> {
    /// [`HEADER`].
    Standard,
    /// [`HEADER`] and the key's pattern (`analyze --keys`).
    WithPattern(&'p (dyn Fn(&[u8]) -> String + Sync)),
    /// [`RDBTOOLS_HEADER`] (`keys --rdbtools`).
    RdbTools,
}

impl Columns<'_> {
    pub fn header(&self) -> String {
        match self {
            Columns::Standard => HEADER.to_string(),
            Columns::WithPattern(_) => format!("{HEADER},pattern"),
            Columns::RdbTools => RDBTOOLS_HEADER.to_string(),
        }
    }
}

/// A batch's rows, formatted on a worker and written in file order by one writer.
pub struct Rows(csv::Writer<Vec<u8>>);

impl Default for Rows {
    fn default() -> Rows {
        Rows(
            csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new()),
        )
    }
}

impl Rows {
    /// Appends one key's row. `memory_bytes` is empty for module values, whose size only the
    /// module knows.
    pub fn push(
        &mut self,
        columns: Columns<'_>,
        record: &Record<'_>,
        stats: &ValueStats,
        estimate: &Estimate,
    ) {
        let type_name = match &stats.shape.module {
            Some(module) => module.name.clone(),
            None => record.value_type.key_type().as_str().to_string(),
        };
        let opt = |v: Option<String>| v.unwrap_or_default();
        let is_module = stats.shape.module.is_some();
        let memory = (estimate.certainty != Certainty::ValueUnknown)
            .then(|| estimate.memory_bytes.to_string());
        let elements = (!is_module).then(|| stats.shape.elements.to_string());
        let largest = (!is_module).then(|| stats.largest_element.to_string());
        let written = match columns {
            Columns::RdbTools => {
                // rdbtools names sorted sets `sortedset`.
                let type_name = match record.value_type.key_type() {
                    KeyType::Zset => "sortedset".to_string(),
                    _ => type_name,
                };
                self.0.write_record([
                    record.db.to_string(),
                    type_name,
                    escape_key(&record.key),
                    opt(memory),
                    stats.encoding().as_str().to_string(),
                    opt(elements),
                    opt(largest),
                    opt(record.expire_at_ms.map(units::iso_millis)),
                ])
            }
            Columns::Standard | Columns::WithPattern(_) => {
                let row = [
                    record.db.to_string(),
                    escape_key(&record.key),
                    type_name,
                    stats.encoding().as_str().to_string(),
                    opt(memory),
                    estimate.overhead_bytes.to_string(),
                    record.rdb_bytes.to_string(),
                    opt(elements),
                    opt(largest),
                    opt(record.expire_at_ms.map(|v| v.to_string())),
                    opt(record.idle_s.map(|v| v.to_string())),
                    opt(record.freq.map(|v| v.to_string())),
                ];
                match columns {
                    Columns::WithPattern(pattern) => {
                        let pattern = pattern(&record.key);
                        self.0
                            .write_record(row.iter().map(String::as_str).chain([&*pattern]))
                    }
                    _ => self.0.write_record(&row),
                }
            }
        };
        written.expect("writing to a Vec cannot fail");
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_inner().expect("flushing to a Vec cannot fail")
    }
}
