//! The terminal summary of `analyze`: totals, types, databases, the largest patterns with
//! their TTL coverage, the TTL histogram and the largest keys, in human units.

use std::io::{self, Write};

use super::units::bytes;
use crate::advise::Suggestion;
use crate::analyze::Summary;
use crate::analyze::aggregate::{KeyRef, Stats, TtlHistogram};
use crate::analyze::shards::{BIG_KEY_PERCENT_OF_MEAN, ShardPlan};

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
    if let Some(plan) = &s.shards {
        shard_plan(out, s, plan)?;
    }
    suggestions(out, &s.suggestions)?;
    out.flush()
}

/// The `--shards` section: the planned masters, then what concentrates memory, then the
/// inputs as they are when there are several (a cluster's nodes).
fn shard_plan(out: &mut dyn Write, s: &Summary, plan: &ShardPlan) -> io::Result<()> {
    writeln!(
        out,
        "\nShard plan: {} masters, slots split as redis-cli --cluster create splits them",
        plan.count
    )?;
    writeln!(
        out,
        "  {:<6} {:<13} {:>10} {:>11} {:>7} {:>8}",
        "shard", "slots", "keys", "memory", "share", "vs mean"
    )?;
    for sh in plan.shards.iter().take(ROWS) {
        writeln!(
            out,
            "  {:<6} {:<13} {:>10} {:>11} {:>6.1}% {:>8.2}",
            sh.shard,
            format!("{}-{}", sh.first_slot, sh.last_slot),
            sh.keys,
            bytes(sh.bytes),
            100.0 * plan.share(sh.bytes),
            plan.vs_mean(sh.bytes),
        )?;
    }
    if plan.shards.len() > ROWS {
        writeln!(out, "  ... {} more in shards.csv", plan.shards.len() - ROWS)?;
    }
    writeln!(
        out,
        "  most loaded: {} ({:.2}x the mean of {})",
        bytes(plan.max_bytes),
        plan.imbalance,
        bytes(plan.mean_bytes)
    )?;
    writeln!(out, "\n  Hottest slots")?;
    writeln!(
        out,
        "  {:<6} {:>6} {:>10} {:>11} {:>7}",
        "slot", "shard", "keys", "memory", "share"
    )?;
    for h in &plan.top_slots {
        writeln!(
            out,
            "  {:<6} {:>6} {:>10} {:>11} {:>6.1}%",
            h.slot,
            h.shard,
            h.keys,
            bytes(h.bytes),
            100.0 * plan.share(h.bytes)
        )?;
    }
    if !plan.hash_tags.top.is_empty() {
        let how = if plan.hash_tags.exact {
            "exact".to_string()
        } else {
            format!(
                "estimated from a sample; keys of {} or more counted exactly",
                bytes(plan.hash_tags.threshold)
            )
        };
        writeln!(out, "\n  Hash tags holding the most memory ({how})")?;
        writeln!(
            out,
            "  {:<30} {:>6} {:>6} {:>10} {:>11}",
            "tag", "slot", "shard", "keys", "memory"
        )?;
        for t in &plan.hash_tags.top {
            writeln!(
                out,
                "  {:<30} {:>6} {:>6} {:>10} {:>11}",
                format!("{{{}}}", t.tag.tag),
                t.tag.slot,
                t.shard,
                t.tag.sampled_keys,
                bytes(t.tag.bytes)
            )?;
        }
    }
    let big = &plan.big_keys;
    if !big.keys.is_empty() {
        let more = if big.complete {
            ""
        } else {
            "; more may exist beyond --top"
        };
        writeln!(
            out,
            "\n  Keys no slot move can split (at least {} = {BIG_KEY_PERCENT_OF_MEAN}% of the mean shard{more})",
            bytes(big.limit_bytes)
        )?;
        writeln!(
            out,
            "  {:<40} {:>3} {:>6} {:>6} {:>11}",
            "key", "db", "slot", "shard", "memory"
        )?;
        for k in big.keys.iter().take(ROWS) {
            writeln!(
                out,
                "  {:<40} {:>3} {:>6} {:>6} {:>11}",
                k.key,
                k.db,
                k.slot,
                k.shard,
                bytes(k.bytes)
            )?;
        }
    }
    if s.inputs.len() > 1 {
        writeln!(
            out,
            "\n  The inputs as they are (one per node of a cluster)"
        )?;
        for i in &s.inputs {
            let slots = match i.slots {
                Some(r) => format!("slots {}-{} ({} used)", r.min, r.max, r.distinct),
                None => "no keys".into(),
            };
            writeln!(
                out,
                "  {:<40} {:<28} {:>10} keys {:>11} {:>7}",
                i.path,
                slots,
                i.totals.keys,
                bytes(i.totals.total_bytes()),
                percent(i.totals.total_bytes(), s.totals.total_bytes()),
            )?;
        }
    }
    Ok(())
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
