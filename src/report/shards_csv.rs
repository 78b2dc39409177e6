//! `shards.csv` (with `--shards N`): one row per planned master.

use std::io::{self, Write};

use crate::analyze::Summary;

pub const HEADER: [&str; 8] = [
    "shard",
    "first_slot",
    "last_slot",
    "slots",
    "keys",
    "bytes",
    "share",
    "vs_mean",
];

pub fn write(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let Some(plan) = &summary.shards else {
        return w.flush();
    };
    for s in &plan.shards {
        w.write_record([
            s.shard.to_string(),
            s.first_slot.to_string(),
            s.last_slot.to_string(),
            s.slot_count().to_string(),
            s.keys.to_string(),
            s.bytes.to_string(),
            format!("{:.6}", plan.share(s.bytes)),
            format!("{:.4}", plan.vs_mean(s.bytes)),
        ])?;
    }
    w.flush()
}
