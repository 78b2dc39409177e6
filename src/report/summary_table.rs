//! The terminal summary of `analyze`: totals, types, databases, the largest patterns with
//! their TTL coverage, the TTL histogram and the largest keys, in human units.

use std::io::{self, Write};

use super::units::bytes;
use crate::advise::Suggestion;
use crate::analyze::Summary;
use crate::analyze::aggregate::{KeyRef, Stats, TtlHistogram};

/// Rows of each ranking the terminal shows; the files hold all of `--top`.
const ROWS: usize = 15;

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

pub fn write(out: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let total = s.totals.total_bytes();
    writeln!(
        out,
        "{} keys, {} in memory ({} MEMORY USAGE + {} per-key overhead), {} serialized",
        s.totals.keys,
        bytes(total),
        bytes(s.totals.memory_bytes),
        bytes(s.totals.overhead_bytes),
        bytes(s.totals.rdb_bytes),
    )?;
    if !s.complete {
        writeln!(
            out,
            "WARNING: incomplete: an input was analysed only up to damage"
        )?;
    }
    for i in &s.inputs {
        let server = i.server.as_deref().unwrap_or("unknown server");
        let used = i
            .used_mem
            .map(|u| format!(", used-mem {}", bytes(u)))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}: {server}, RDB {}, {} keys, {} estimated{used} (model {}, {}), checksum {}",
            i.path,
            i.rdb_version,
            i.totals.keys,
            bytes(i.totals.total_bytes()),
            i.model,
            i.allocator,
            i.checksum,
        )?;
    }

    writeln!(out, "\nBy type")?;
    let header = |out: &mut dyn Write, first: &str| {
        writeln!(
            out,
            "  {first:<22} {:>10} {:>11} {:>7} {:>10} {:>11}",
            "keys", "memory", "share", "with TTL", "serialized"
        )
    };
    let row = |out: &mut dyn Write, name: &str, st: &Stats| {
        writeln!(
            out,
            "  {name:<22} {:>10} {:>11} {:>7} {:>10} {:>11}",
            st.keys,
            bytes(st.total_bytes()),
            percent(st.total_bytes(), total),
            percent(st.ttl_keys, st.keys),
            bytes(st.rdb_bytes),
        )
    };
    header(out, "type")?;
    for t in &s.by_type {
        row(out, t.key_type.as_str(), &t.stats)?;
    }
    writeln!(out, "\nBy encoding")?;
    header(out, "type/encoding")?;
    for e in &s.by_encoding {
        row(
            out,
            &format!("{}/{}", e.key_type.as_str(), e.encoding.as_str()),
            &e.stats,
        )?;
    }
    if s.by_db.len() > 1 {
        writeln!(out, "\nBy database")?;
        header(out, "db")?;
        for d in &s.by_db {
            row(out, &d.db.to_string(), &d.stats)?;
        }
    }

    writeln!(
        out,
        "\nLargest patterns ({} of {})",
        s.patterns.len().min(ROWS),
        s.patterns.len()
    )?;
    writeln!(
        out,
        "  {:<40} {:>10} {:>11} {:>7} {:>8} {:>10}",
        "pattern", "keys", "memory", "share", "no TTL", "mean elts"
    )?;
    for p in s.patterns.iter().take(ROWS) {
        let st = &p.stats.stats;
        writeln!(
            out,
            "  {:<40} {:>10} {:>11} {:>7} {:>8} {:>10.1}",
            p.pattern,
            st.keys,
            bytes(st.total_bytes()),
            format!("{:.1}%", 100.0 * p.share),
            percent(st.no_ttl_keys(), st.keys),
            p.stats.mean_elements(),
        )?;
    }

    let reference = if s.inputs.iter().all(|i| i.ctime.is_some()) {
        "relative to the snapshot's ctime"
    } else {
        "an input has no ctime: its expiries are 'unknown'"
    };
    writeln!(out, "\nTTL remaining ({reference})")?;
    for (name, b) in TtlHistogram::NAMES.iter().zip(s.ttl.buckets()) {
        if b.keys > 0 {
            writeln!(
                out,
                "  {name:<10} {:>10} keys {:>11} {:>7}",
                b.keys,
                bytes(b.bytes),
                percent(b.bytes, total)
            )?;
        }
    }

    let ranking = |out: &mut dyn Write, title: &str, keys: &[KeyRef]| -> io::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        writeln!(out, "\n{title}")?;
        writeln!(
            out,
            "  {:<40} {:>3} {:<20} {:>11} {:>10}",
            "key", "db", "type/encoding", "memory", "elements"
        )?;
        for k in keys.iter().take(ROWS) {
            writeln!(
                out,
                "  {:<40} {:>3} {:<20} {:>11} {:>10}",
                k.key,
                k.db,
                format!("{}/{}", k.key_type.as_str(), k.encoding.as_str()),
                bytes(k.total_bytes()),
                k.elements,
            )?;
        }
        Ok(())
    };
    ranking(out, "Largest keys by memory", &s.top_keys.by_memory)?;
    ranking(out, "Largest keys by elements", &s.top_keys.by_elements)?;
    suggestions(out, &s.suggestions)?;
    out.flush()
}

/// The advisor's suggestions, largest saving first, each with its action and evidence.
fn suggestions(out: &mut dyn Write, list: &[Suggestion]) -> io::Result<()> {
    if list.is_empty() {
        return writeln!(out, "\nSuggestions: none");
    }
    writeln!(
        out,
        "\nSuggestions ({} of {}, largest saving first; all in suggestions.csv)",
        list.len().min(ROWS),
        list.len()
    )?;
    for s in list.iter().take(ROWS) {
        let saving = s.estimated_savings_bytes;
        let amount = if saving >= 0 {
            format!("saves {}", bytes(saving.unsigned_abs()))
        } else {
            format!("costs {}", bytes(saving.unsigned_abs()))
        };
        writeln!(
            out,
            "  {:<19} {:<40} {:>16}  {} confidence",
            s.kind.as_str(),
            s.target,
            amount,
            s.confidence.as_str()
        )?;
        writeln!(out, "      do:  {}", s.action)?;
        writeln!(out, "      why: {}", s.evidence)?;
    }
    Ok(())
}
