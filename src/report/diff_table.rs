//! The terminal view of `diff`: both snapshots, the total change, the growth rate and the
//! headroom, then the patterns that changed, fastest growers first.

use std::io::{self, Write};

use super::units::{bytes, duration, signed_bytes, unix_time};
use crate::analyze::diff::{Change, Diff, Snapshot, Status};
use crate::analyze::headroom::{Growth, RunsOut};

/// Pattern rows the terminal shows; diff.csv holds them all.
const ROWS: usize = 30;

fn percent(change: &Change) -> String {
    change
        .bytes_change_pct
        .map_or("new".into(), |p| format!("{p:+.1}%"))
}

pub fn write(out: &mut dyn Write, d: &Diff) -> io::Result<()> {
    let side = |out: &mut dyn Write, name: &str, s: &Snapshot, keys: u64, b: u64| {
        let when = s.ctime.map_or("no ctime".into(), unix_time);
        writeln!(
            out,
            "{name} {} ({when}): {keys} keys, {}",
            s.inputs.join(", "),
            bytes(b)
        )
    };
    side(out, "OLD", &d.old, d.total.keys_old, d.total.bytes_old)?;
    side(out, "NEW", &d.new, d.total.keys_new, d.total.bytes_new)?;
    if !d.same_settings {
        writeln!(
            out,
            "WARNING: the two sides were analysed with different settings: patterns may not compare"
        )?;
    }
    let t = &d.total;
    writeln!(
        out,
        "\nTotal: {:+} keys, {} memory ({})",
        t.keys_change,
        signed_bytes(t.bytes_change),
        percent(t)
    )?;
    match &d.growth {
        Growth::Measured {
            seconds,
            bytes_per_day,
            ..
        } => writeln!(
            out,
            "Growth: {} a day (over {} between the snapshots)",
            signed_bytes(bytes_per_day.round() as i64),
            duration(*seconds)
        )?,
        Growth::Unknown { reason } => writeln!(out, "Growth rate: unknown ({reason})")?,
    }
    if let Some(h) = &d.headroom {
        let outlook = match (h.runs_out, h.runs_out_at) {
            (RunsOut::At, Some(at)) => format!("runs out {} at this rate", unix_time(at)),
            (RunsOut::At, None) => "runs out at this rate (the date needs NEW's ctime)".into(),
            (RunsOut::NotGrowing, _) => "not growing".into(),
            (RunsOut::AlreadyFull, _) => "already at or over maxmemory".into(),
            (RunsOut::UnknownRate, _) => "no date without a growth rate".into(),
        };
        writeln!(
            out,
            "Headroom: maxmemory {}, keys use {}, {} free; {outlook}",
            bytes(h.maxmemory),
            bytes(h.used_bytes),
            signed_bytes(h.free_bytes).trim_start_matches('+'),
        )?;
    }
    let changed: Vec<_> = d
        .patterns
        .iter()
        .filter(|p| p.status != Status::Unchanged)
        .collect();
    writeln!(
        out,
        "\nPatterns, fastest growers first ({} changed of {})",
        changed.len(),
        d.patterns.len()
    )?;
    writeln!(
        out,
        "  {:<40} {:<9} {:>9} {:>9} {:>11} {:>11} {:>11} {:>8}",
        "pattern", "status", "keys then", "keys now", "mem then", "mem now", "change", "change %"
    )?;
    for p in changed.iter().take(ROWS) {
        let c = &p.change;
        writeln!(
            out,
            "  {:<40} {:<9} {:>9} {:>9} {:>11} {:>11} {:>11} {:>8}",
            p.pattern,
            p.status.as_str(),
            c.keys_old,
            c.keys_new,
            bytes(c.bytes_old),
            bytes(c.bytes_new),
            signed_bytes(c.bytes_change),
            percent(c),
        )?;
    }
    if changed.len() > ROWS {
        writeln!(out, "  ... {} more in diff.csv", changed.len() - ROWS)?;
    }
    out.flush()
}
