//! `rdbscope keys`: one CSV row per key.

use crate::memory::{Certainty, Estimate};
use crate::rdb::{Record, ValueStats, escape_key};

pub const HEADER: &str = "db,key,type,encoding,memory_bytes,overhead_bytes,rdb_bytes,elements,\
                          largest_element_bytes,expires_at_ms,idle_s,freq";

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
    /// module knows; `analyze --keys` adds the key's pattern as a last column.
    pub fn push(
        &mut self,
        record: &Record<'_>,
        stats: &ValueStats,
        estimate: &Estimate,
        pattern: Option<&str>,
    ) {
        let type_name = match &stats.shape.module {
            Some(module) => module.name.clone(),
            None => record.value_type.key_type().as_str().to_string(),
        };
        let opt = |v: Option<String>| v.unwrap_or_default();
        let is_module = stats.shape.module.is_some();
        let row = [
            record.db.to_string(),
            escape_key(&record.key),
            type_name,
            stats.encoding().as_str().to_string(),
            opt((estimate.certainty != Certainty::ValueUnknown)
                .then(|| estimate.memory_bytes.to_string())),
            estimate.overhead_bytes.to_string(),
            record.rdb_bytes.to_string(),
            opt((!is_module).then(|| stats.shape.elements.to_string())),
            opt((!is_module).then(|| stats.largest_element.to_string())),
            opt(record.expire_at_ms.map(|v| v.to_string())),
            opt(record.idle_s.map(|v| v.to_string())),
            opt(record.freq.map(|v| v.to_string())),
        ];
        let written = match pattern {
            Some(p) => self
                .0
                .write_record(row.iter().map(String::as_str).chain([p])),
            None => self.0.write_record(&row),
        };
        written.expect("writing to a Vec cannot fail");
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_inner().expect("flushing to a Vec cannot fail")
    }
}
