//! `diff.csv`: the total, then one row per pattern, fastest growers first, for the nightly
//! job to keep.

use std::io::{self, Write};

use crate::analyze::diff::{Change, Diff};

pub const HEADER: [&str; 9] = [
    "pattern",
    "status",
    "keys_old",
    "keys_new",
    "keys_change",
    "bytes_old",
    "bytes_new",
    "bytes_change",
    "bytes_change_pct",
];

pub fn write(out: &mut dyn Write, diff: &Diff) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let row = |pattern: &str, status: &str, c: &Change| {
        [
            pattern.to_string(),
            status.to_string(),
            c.keys_old.to_string(),
            c.keys_new.to_string(),
            c.keys_change.to_string(),
            c.bytes_old.to_string(),
            c.bytes_new.to_string(),
            c.bytes_change.to_string(),
            c.bytes_change_pct
                .map(|p| format!("{p:.4}"))
                .unwrap_or_default(),
        ]
    };
    // The total's row is the one with status `total` (its pattern is empty).
    w.write_record(row("", "total", &diff.total))?;
    for p in &diff.patterns {
        w.write_record(row(&p.pattern, p.status.as_str(), &p.change))?;
    }
    w.flush()
}
