//! `top-keys.csv`: the largest keys by memory, then the largest by element count.

use std::io::{self, Write};

use crate::analyze::Summary;
use crate::analyze::aggregate::KeyRef;

pub const HEADER: [&str; 11] = [
    "ranking",
    "rank",
    "db",
    "key",
    "type",
    "encoding",
    "memory_bytes",
    "overhead_bytes",
    "elements",
    "expires_at_ms",
    "pattern",
];

pub fn write(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let rankings: [(&str, &[KeyRef]); 2] = [
        ("memory", &summary.top_keys.by_memory),
        ("elements", &summary.top_keys.by_elements),
    ];
    for (ranking, keys) in rankings {
        for (i, k) in keys.iter().enumerate() {
            w.write_record([
                ranking.to_string(),
                (i + 1).to_string(),
                k.db.to_string(),
                k.key.clone(),
                k.key_type.as_str().to_string(),
                k.encoding.as_str().to_string(),
                k.memory_bytes.to_string(),
                k.overhead_bytes.to_string(),
                k.elements.to_string(),
                k.expire_at_ms.map(|v| v.to_string()).unwrap_or_default(),
                k.pattern.clone(),
            ])?;
        }
    }
    w.flush()
}
