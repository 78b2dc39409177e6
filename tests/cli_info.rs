//! `rdbscope info`: the table and JSON outputs on real fixtures, and the errors and exit codes
//! bad input gets.

mod common;

use std::path::Path;

use common::{dump_of_several_batches, fixture, rdbscope, temp_dir};
use rdbscope::synth::mix::Shape;

fn json(path: &Path) -> serde_json::Value {
    let out = rdbscope(&["info", path.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Keys per (db) in a fixture's truth.csv.
fn truth_counts(name: &str) -> std::collections::BTreeMap<u64, (u64, u64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
        .join("truth.csv");
    let mut counts = std::collections::BTreeMap::new();
    for row in csv::Reader::from_path(path).unwrap().records() {
        let row = row.unwrap();
        let entry = counts
            .entry(row[0].parse::<u64>().unwrap())
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += u64::from(!row[7].is_empty());
    }
    counts
}

#[test]
fn table_names_the_format_server_and_counts() {
    let out = rdbscope(&["info", fixture("redis-7.0").to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("REDIS0010 (4435139 bytes)"), "{text}");
    assert!(text.contains("written by   Redis 7.0.15"), "{text}");
    assert!(text.contains("checksum     valid (0x"), "{text}");
    assert!(text.contains("keys         528 "), "{text}");
    assert!(text.contains("functions    mylib"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["quicklist", "38"])),
        "{text}"
    );
}

#[test]
fn json_counts_equal_the_servers_truth() {
    for name in [
        "redis-7.0",
        "redis-6.2",
        "redis-stack-7.4",
        "valkey-8.1",
        "valkey-9.1",
    ] {
        let doc = json(&fixture(name));
        assert_eq!(doc["schema"], "rdbscope.info/1");
        let truth = truth_counts(name);
        let total: u64 = truth.values().map(|c| c.0).sum();
        assert_eq!(doc["keys"], total, "{name}");
        let dbs: Vec<(u64, u64, u64)> = doc["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["db"].as_u64().unwrap(),
                    d["keys"].as_u64().unwrap(),
                    d["expires"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(u64, u64, u64)> = truth.iter().map(|(db, (k, e))| (*db, *k, *e)).collect();
        assert_eq!(dbs, want, "{name}");
        assert_eq!(doc["checksum"]["status"], "valid", "{name}");
        let by_type: u64 = doc["types"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(by_type, total, "{name}");
    }
}

#[test]
fn json_reports_versions_aux_and_modules() {
    let doc = json(&fixture("valkey-9.1"));
    assert_eq!(doc["header"], "VALKEY080");
    assert_eq!(doc["magic"], "valkey");
    assert_eq!(doc["server_version"], "9.1.2");
    let doc = json(&fixture("redis-stack-7.4"));
    assert_eq!(doc["rdb_version"], 12);
    assert_eq!(doc["modules"]["ReJSON-RL"], 3);
    assert_eq!(doc["modules"]["TSDB-TYPE"], 2);
    assert!(doc["used_mem"].as_u64().unwrap() > 1_000_000);
    assert_eq!(
        doc["ctime"].as_i64().unwrap().to_string(),
        doc["aux"]["ctime"].as_str().unwrap()
    );
}

#[test]
fn checksum_not_computed_is_not_an_error() {
    let doc = json(&fixture("redis-7.0-nocrc"));
    assert_eq!(doc["checksum"]["status"], "not computed");
}

#[test]
fn checksum_mismatch_names_both_values() {
    let dir = temp_dir("crc");
    let mut data = std::fs::read(fixture("redis-7.0")).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0x55;
    let path = dir.join("dump.rdb");
    std::fs::write(&path, &data).unwrap();
    let out = rdbscope(&["info", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("at byte {}", data.len() - 8)),
        "{err}"
    );
    assert!(err.contains("CRC-64 mismatch: file says 0x"), "{err}");
    assert!(err.contains("computed 0xfe5fcfab73bf00ee"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_get_one_line_and_exit_1() {
    let dir = temp_dir("bad");
    let truncated = dir.join("truncated.rdb");
    let data = std::fs::read(fixture("redis-7.0")).unwrap();
    std::fs::write(&truncated, &data[..data.len() / 2]).unwrap();
    let empty = dir.join("empty.rdb");
    std::fs::write(&empty, b"").unwrap();
    let aof = dir.join("appendonly.aof");
    std::fs::write(&aof, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n").unwrap();
    let newer = dir.join("newer.rdb");
    std::fs::write(&newer, b"REDIS0099\xff").unwrap();
    let cases: [(&Path, &str); 6] = [
        (&truncated, "truncated:"),
        (&empty, "is empty"),
        (&dir, "is a directory"),
        (
            &aof,
            "is an append-only file (Redis commands, no RDB snapshot inside)",
        ),
        (
            &newer,
            "unsupported RDB format version REDIS 99, written by a newer server",
        ),
        (&dir.join("missing.rdb"), "No such file"),
    ];
    for (path, expected) in cases {
        let out = rdbscope(&["info", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("rdbscope: ") && err.contains(expected),
            "{}: {err}",
            path.display()
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let err = String::from_utf8(rdbscope(&["info", truncated.to_str().unwrap()]).stderr).unwrap();
    assert!(err.contains("at byte ") && err.contains("(key \""), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(rdbscope(&["info"]).status.code(), Some(2));
    assert_eq!(
        rdbscope(&["info", "x", "--format", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(rdbscope(&["frobnicate"]).status.code(), Some(2));
}

/// The estimated dataset total is the sum of the keys' estimates, and on a fixture the model
/// reproduces exactly (RESTOREd keys on Debian's jemalloc), the sum of the server's
/// `MEMORY USAGE` (85282 bytes) plus the per-key overheads.
#[test]
fn estimated_total_sums_the_keys_estimates() {
    let dump = fixture("redis-7.0-lfu");
    let d = dump.to_str().unwrap();
    let model = ["--allocator", "jemalloc-16", "--origin", "loaded"];
    let out = rdbscope(&[&["info", d, "--format", "json"], &model[..]].concat());
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "rdbscope.info/1");
    let est = &doc["estimated_memory"];
    assert_eq!(est["model"], "Redis 7.0");
    assert_eq!(est["allocator"], "jemalloc-16");
    assert_eq!(est["origin"], "loaded");
    assert_eq!(est["memory_bytes"], 85282);
    let expires: u64 = truth_counts("redis-7.0-lfu").values().map(|c| c.1).sum();
    let overhead = 8 * 353 + 40 * expires;
    assert_eq!(est["overhead_bytes"], overhead);
    assert_eq!(est["total_bytes"], 85282 + overhead);
    assert_eq!(est["module_values_not_counted"], 0);

    let keys = rdbscope(&[&["keys", d], &model[..]].concat());
    let mut reader = csv::Reader::from_reader(keys.stdout.as_slice());
    let (memory, over) = reader.records().fold((0u64, 0u64), |(m, o), r| {
        let r = r.unwrap();
        (
            m + r[4].parse::<u64>().unwrap(),
            o + r[5].parse::<u64>().unwrap(),
        )
    });
    assert_eq!((memory, over), (85282, overhead));

    let table = rdbscope(&[&["info", d], &model[..]].concat());
    let text = String::from_utf8(table.stdout).unwrap();
    let expected = format!(
        "({} bytes: MEMORY USAGE 85282 + overhead {overhead}; Redis 7.0 model, jemalloc-16, origin loaded)",
        85282 + overhead
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("estimated") && l.ends_with(&expected)),
        "{text}"
    );
}

#[test]
fn target_overrides_the_writers_release() {
    let d = fixture("redis-7.0");
    let out = rdbscope(&[
        "info",
        d.to_str().unwrap(),
        "--format",
        "json",
        "--target",
        "valkey-8.1",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["estimated_memory"]["model"], "Valkey 8.1");
    assert_eq!(json(&d)["estimated_memory"]["model"], "Redis 7.0");
    assert_ne!(
        doc["estimated_memory"]["memory_bytes"],
        json(&d)["estimated_memory"]["memory_bytes"]
    );
}

/// The CRC-64 the workers fold stretch by stretch, joined in file order, agrees with the
/// writer's whatever the thread count: a dump of several batches, intact, then with its
/// trailer changed.
#[test]
fn checksum_of_many_batches_whatever_the_thread_count() {
    let (mut data, _) = dump_of_several_batches(Shape::Strings, 3, 6 << 20);
    let dir = temp_dir("crc-batches");
    let path = dir.join("dump.rdb");
    std::fs::write(&path, &data).unwrap();
    let stored = u64::from_le_bytes(data[data.len() - 8..].try_into().unwrap());
    let last = data.len() - 1;
    data[last] ^= 0x55;
    let changed = dir.join("changed.rdb");
    std::fs::write(&changed, &data).unwrap();
    for threads in ["1", "2", "3"] {
        let out = rdbscope(&[
            "info",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--threads",
            threads,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["checksum"]["status"], "valid", "--threads {threads}");
        assert_eq!(
            doc["checksum"]["value"],
            format!("0x{stored:016x}"),
            "--threads {threads}"
        );
        let out = rdbscope(&["info", changed.to_str().unwrap(), "--threads", threads]);
        assert_eq!(out.status.code(), Some(1), "--threads {threads}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("computed 0x{stored:016x}")),
            "--threads {threads}: {err}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
