//! `patterns.csv`: one row per key pattern, largest first, for capacity-planning sheets.

use std::io::{self, Write};

use crate::analyze::Summary;
use crate::analyze::aggregate::TtlHistogram;

const COLUMNS: [&str; 16] = [
    "pattern",
    "keys",
    "memory_bytes",
    "share",
    "no_ttl_keys",
    "ttl_keys",
    "overhead_bytes",
    "rdb_bytes",
    "types",
    "encodings",
    "mean_elements",
    "max_elements",
    "largest_key",
    "largest_key_db",
    "largest_key_bytes",
    "rule",
];

pub fn write(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let ttl_columns = TtlHistogram::NAMES
        .iter()
        .flat_map(|b| [format!("ttl_{b}_keys"), format!("ttl_{b}_bytes")]);
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(ttl_columns)
        .collect();
    w.write_record(&header)?;
    for p in &summary.patterns {
        let s = &p.stats;
        let joined = |parts: Vec<&str>| parts.join("|");
        let largest = s.largest_key.as_ref();
        let mut row = vec![
            p.pattern.clone(),
            s.stats.keys.to_string(),
            s.stats.memory_bytes.to_string(),
            format!("{:.6}", p.share),
            s.stats.no_ttl_keys().to_string(),
            s.stats.ttl_keys.to_string(),
            s.stats.overhead_bytes.to_string(),
            s.stats.rdb_bytes.to_string(),
            joined(s.types.keys().map(|t| t.as_str()).collect()),
            joined(s.encodings.keys().map(|e| e.as_str()).collect()),
            format!("{:.2}", s.mean_elements()),
            s.max_elements.to_string(),
            largest.map(|k| k.key.clone()).unwrap_or_default(),
            largest.map(|k| k.db.to_string()).unwrap_or_default(),
            largest
                .map(|k| k.total_bytes().to_string())
                .unwrap_or_default(),
            p.rule.to_string(),
        ];
        for b in s.ttl.buckets() {
            row.push(b.keys.to_string());
            row.push(b.bytes.to_string());
        }
        w.write_record(&row)?;
    }
    w.flush()
}
