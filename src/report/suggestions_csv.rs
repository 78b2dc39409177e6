//! `suggestions.csv`: the advisor's suggestions, largest saving first, one per row.

use std::io::{self, Write};

use crate::analyze::Summary;

pub const HEADER: [&str; 10] = [
    "kind",
    "target",
    "estimated_savings_bytes",
    "confidence",
    "action",
    "scope",
    "keys",
    "memory_bytes",
    "evidence",
    "examples",
];

pub fn write(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for s in &summary.suggestions {
        w.write_record([
            s.kind.as_str(),
            &s.target,
            &s.estimated_savings_bytes.to_string(),
            s.confidence.as_str(),
            &s.action,
            s.scope.as_str(),
            &s.keys.to_string(),
            &s.memory_bytes.to_string(),
            &s.evidence,
            &s.examples.join(" "),
        ])?;
    }
    w.flush()
}
