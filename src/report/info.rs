//! `rdbscope info`: the file's metadata and key counts, as a terminal table or JSON.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::units;
use crate::analyze::Inventory;
use crate::rdb::{self, Checksum, KeyType};

pub fn json(path: &str, inv: &Inventory) -> Value {
    let aux: serde_json::Map<String, Value> = inv
        .aux
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let ctime = inv.aux("ctime").and_then(|v| v.parse::<i64>().ok());
    let databases: Vec<Value> = inv
        .counts
        .by_db
        .iter()
        .map(|(db, c)| {
            json!({
                "db": db,
                "keys": c.keys,
                "expires": c.expires,
                "resize_hint": c.resize_hint.map(|(k, e)| json!({"keys": k, "expires": e})),
            })
        })
        .collect();
    let types: serde_json::Map<String, Value> = inv
        .counts
        .by_type
        .iter()
        .map(|(t, n)| (t.as_str().to_string(), json!(n)))
        .collect();
    let encodings: Vec<Value> = inv
        .counts
        .by_encoding
        .iter()
        .map(|((t, e), n)| json!({"type": t.as_str(), "encoding": e.as_str(), "keys": n}))
        .collect();
    json!({
        "schema": "rdbscope.info/1",
        "file": path,
        "file_bytes": inv.file_bytes,
        "header": inv.header.display(),
        "magic": inv.header.magic,
        "rdb_version": inv.header.version,
        "server_version": server_version(inv),
        "ctime": ctime,
        "ctime_utc": ctime.map(units::unix_time),
        "used_mem": inv.aux("used-mem").and_then(|v| v.parse::<u64>().ok()),
        "estimated_memory": estimated_json(inv),
        "aux": aux,
        "checksum": checksum_json(inv.checksum),
        "trailing_bytes": inv.trailing_bytes,
        "aof_preamble": inv.aof_tail,
        "complete": inv.gaps.is_complete(),
        "damage": inv.gaps.damage.as_ref().map(|d| json!({
            "offset": d.error.offset,
            "entry_offset": d.entry_offset,
            "key": d.error.key,
            "reason": d.error.kind.to_string(),
        })),
        "skipped_keys": {
            "count": inv.gaps.skipped.count,
            "first": inv.gaps.skipped.first.iter().map(error_json).collect::<Vec<_>>(),
        },
        "keys": inv.counts.keys,
        "rdb_bytes": inv.counts.rdb_bytes,
        "databases": databases,
        "types": types,
        "encodings": encodings,
        "modules": inv.counts.by_module,
        "functions": inv.functions,
        "module_aux": inv.module_aux,
    })
}

/// The dataset as the model prices it: Σ `memory_bytes` (what `MEMORY USAGE` would add up
/// to) plus Σ `overhead_bytes`, and which model that is.
fn estimated_json(inv: &Inventory) -> Value {
    let c = &inv.counts;
    match inv.model {
        Some(m) => json!({
            "model": m.generation.name(),
            "allocator": m.allocator.name(),
            "origin": m.origin.name(),
            "memory_bytes": c.memory_bytes,
            "overhead_bytes": c.overhead_bytes,
            "total_bytes": c.memory_bytes + c.overhead_bytes,
            "module_values_not_counted": c.by_module.values().sum::<u64>(),
        }),
        None => Value::Null,
    }
}

fn server_version(inv: &Inventory) -> Option<String> {
    inv.aux("valkey-ver")
        .or(inv.aux("redis-ver"))
        .map(str::to_string)
}

fn checksum_json(c: Option<Checksum>) -> Value {
    match c {
        Some(Checksum::Valid(v)) => json!({"status": "valid", "value": format!("0x{v:016x}")}),
        Some(Checksum::NotComputed) => json!({"status": "not computed"}),
        Some(Checksum::Absent) => json!({"status": "absent"}),
        None => json!({"status": "not verified"}),
    }
}

fn error_json(e: &rdb::Error) -> Value {
    json!({"offset": e.offset, "key": e.key, "reason": e.kind.to_string()})
}

pub fn table(out: &mut dyn Write, path: &str, inv: &Inventory) -> io::Result<()> {
    writeln!(out, "{path}")?;
    if !inv.gaps.is_complete() {
        for line in inv.gaps.to_string().lines() {
            writeln!(out, "  WARNING      {line}")?;
        }
    }
    writeln!(
        out,
        "  format       {} ({} bytes)",
        inv.header.display(),
        inv.file_bytes
    )?;
    let server = match (inv.aux("valkey-ver"), inv.aux("redis-ver")) {
        (Some(v), _) => format!("Valkey {v}"),
        (None, Some(v)) => format!("Redis {v}"),
        (None, None) => "unknown (no version AUX field)".into(),
    };
    writeln!(out, "  written by   {server}")?;
    if let Some(ctime) = inv.aux("ctime").and_then(|v| v.parse::<i64>().ok()) {
        writeln!(out, "  created      {}", units::unix_time(ctime))?;
    }
    if let Some(mem) = inv.aux("used-mem").and_then(|v| v.parse::<u64>().ok()) {
        writeln!(
            out,
            "  used-mem     {} ({mem} bytes, as the server reported at save)",
            units::bytes(mem)
        )?;
    }
    if let Some(m) = inv.model {
        let c = &inv.counts;
        let total = c.memory_bytes + c.overhead_bytes;
        let modules: u64 = c.by_module.values().sum();
        let modules = if modules > 0 {
            format!("; {modules} module values counted by key only")
        } else {
            String::new()
        };
        writeln!(
            out,
            "  estimated    {} ({total} bytes: MEMORY USAGE {} + overhead {}; {} model, {}, origin {}{modules})",
            units::bytes(total),
            c.memory_bytes,
            c.overhead_bytes,
            m.generation.name(),
            m.allocator.name(),
            m.origin.name(),
        )?;
    }
    let checksum = match inv.checksum {
        Some(Checksum::Valid(v)) => format!("valid (0x{v:016x})"),
        Some(Checksum::NotComputed) => "not computed (saved with rdbchecksum no)".into(),
        Some(Checksum::Absent) => "none (format version before 5)".into(),
        None => "not verified (see the warning above)".into(),
    };
    writeln!(out, "  checksum     {checksum}")?;
    if inv.aof_tail {
        writeln!(
            out,
            "  trailing     {} bytes of AOF commands after the RDB preamble (not analysed)",
            inv.trailing_bytes
        )?;
    } else if inv.trailing_bytes > 0 {
        writeln!(
            out,
            "  trailing     {} bytes after the end of the RDB data",
            inv.trailing_bytes
        )?;
    }
    writeln!(
        out,
        "  keys         {} ({} serialized)",
        inv.counts.keys,
        units::bytes(inv.counts.rdb_bytes)
    )?;
    if !inv.functions.is_empty() {
        writeln!(out, "  functions    {}", inv.functions.join(", "))?;
    }
    if !inv.module_aux.is_empty() {
        writeln!(out, "  module data  {}", inv.module_aux.join(", "))?;
    }
    let other_aux: Vec<String> = inv
        .aux
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "redis-ver" | "valkey-ver" | "ctime" | "used-mem"
            )
        })
        .map(|(k, v)| format!("{k}={}", shorten(v)))
        .collect();
    if !other_aux.is_empty() {
        writeln!(out, "  aux          {}", other_aux.join(" "))?;
    }
    writeln!(out)?;
    writeln!(out, "  {:<6} {:>12} {:>12}", "db", "keys", "expires")?;
    for (db, c) in &inv.counts.by_db {
        writeln!(out, "  {:<6} {:>12} {:>12}", db, c.keys, c.expires)?;
    }
    writeln!(out)?;
    writeln!(out, "  {:<8} {:<12} {:>12}", "type", "encoding", "keys")?;
    for t in KeyType::ALL {
        let Some(total) = inv.counts.by_type.get(&t) else {
            continue;
        };
        writeln!(out, "  {:<8} {:<12} {:>12}", t.as_str(), "(all)", total)?;
        for ((_, e), n) in inv
            .counts
            .by_encoding
            .iter()
            .filter(|((kt, _), _)| *kt == t)
        {
            writeln!(out, "  {:<8} {:<12} {:>12}", "", e.as_str(), n)?;
        }
    }
    for (module, n) in &inv.counts.by_module {
        writeln!(out, "  module   {module:<12} {n:>12}")?;
    }
    Ok(())
}

fn shorten(v: &str) -> String {
    if v.chars().count() > 48 {
        format!("{}...", v.chars().take(45).collect::<String>())
    } else {
        v.to_string()
    }
}
