//! `rdbscope analyze --shards N`: per-slot tallies against slots computed here, bit by bit,
//! from keys.csv; shard totals that add up to the dump's; the ranges redis-cli gives; the
//! merge law with a plan; the documented schema; slots against a live cluster node's
//! `CLUSTER KEYSLOT` (skipped without `redis-server` unless `RDBSCOPE_REQUIRE_LIVE=1`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::live::{Server, cmd, free_port, server_binary};
use common::{analyze, csv_rows, dump, json, rdbscope, rdbscope_ok, u};
use rdbscope::analyze::slots::key_slot;
use rdbscope::rdb::{escape_key, unescape_key};
use serde_json::Value;

/// CRC-16/XMODEM a bit at a time and the hash-tag rule, written from the cluster spec
/// independently of the table-driven code under test.
fn slot_of(key: &[u8]) -> u64 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &byte in hashed {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    u64::from(crc % 16384)
}

/// Keys per slot, from keys.csv.
fn keys_per_slot(keys_csv: &Path) -> BTreeMap<u64, u64> {
    let mut r = csv::Reader::from_path(keys_csv).unwrap();
    let key_column = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "key")
        .unwrap();
    let mut slots = BTreeMap::new();
    for row in r.records() {
        let key = unescape_key(&row.unwrap()[key_column]);
        *slots.entry(slot_of(&key)).or_default() += 1;
    }
    slots
}

#[test]
fn the_independent_crc_agrees_with_the_server() {
    // `CLUSTER KEYSLOT` answers of Redis 7.0.15.
    for (key, slot) in [
        ("foo", 12182),
        ("bar", 5061),
        ("hello", 866),
        ("{user1000}.following", 3443),
        ("{user1000}.followers", 3443),
        ("foo{}{bar}", 8363),
        ("foo{{bar}}zap", 4015),
        ("", 0),
    ] {
        assert_eq!(slot_of(key.as_bytes()), slot, "{key:?}");
    }
}

#[test]
fn shard_totals_add_up_to_the_dump_and_slots_to_its_keys() {
    let dir = analyze("plan", &["--shards", "3", "--keys", &dump("redis-7.0")]);
    let s = json(&dir.join("summary.json"));
    let totals = &s["totals"];
    let total_bytes = u(&totals["memory_bytes"]) + u(&totals["overhead_bytes"]);
    assert_eq!(u(&totals["keys"]), 528);

    // Per slot: the keys counted here from keys.csv, and bytes that add up to the total.
    let expected = keys_per_slot(&dir.join("keys.csv"));
    let slots: BTreeMap<u64, u64> = s["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (u(&r[0]), u(&r[1])))
        .collect();
    assert_eq!(slots, expected);
    let slot_bytes: u64 = s["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| u(&r[2]))
        .sum();
    assert_eq!(slot_bytes, total_bytes);
    let range = &s["inputs"][0]["slots"];
    assert_eq!(u(&range["min"]), *expected.keys().next().unwrap());
    assert_eq!(u(&range["max"]), *expected.keys().last().unwrap());
    assert_eq!(u(&range["distinct"]), expected.len() as u64);

    // The plan: redis-cli's ranges, shard totals that add up exactly.
    let plan = &s["shards"];
    assert_eq!(u(&plan["count"]), 3);
    let shards = plan["shards"].as_array().unwrap();
    let ranges: Vec<(u64, u64)> = shards
        .iter()
        .map(|sh| (u(&sh["first_slot"]), u(&sh["last_slot"])))
        .collect();
    assert_eq!(ranges, [(0, 5460), (5461, 10922), (10923, 16383)]);
    for (sh, (first, last)) in shards.iter().zip(&ranges) {
        let keys: u64 = expected.range(first..=last).map(|(_, n)| n).sum();
        assert_eq!(u(&sh["keys"]), keys);
    }
    assert_eq!(shards.iter().map(|sh| u(&sh["keys"])).sum::<u64>(), 528);
    assert_eq!(
        shards.iter().map(|sh| u(&sh["bytes"])).sum::<u64>(),
        total_bytes
    );
    assert_eq!(u(&plan["total_bytes"]), total_bytes);
    assert_eq!(u(&plan["mean_bytes"]), total_bytes / 3);
    let max = shards.iter().map(|sh| u(&sh["bytes"])).max().unwrap();
    assert_eq!(u(&plan["max_bytes"]), max);
    let imbalance = plan["imbalance"].as_f64().unwrap();
    assert!((imbalance - max as f64 / (total_bytes as f64 / 3.0)).abs() < 1e-9);

    // Hottest slots: the largest of the slot table, each in its shard.
    let top = plan["top_slots"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    let mut by_bytes: Vec<(u64, u64)> = s["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (u(&r[2]), u(&r[0])))
        .collect();
    by_bytes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (t, (bytes, slot)) in top.iter().zip(&by_bytes) {
        assert_eq!((u(&t["bytes"]), u(&t["slot"])), (*bytes, *slot));
        let shard = ranges.iter().position(|(a, b)| (a..=b).contains(&slot));
        assert_eq!(u(&t["shard"]), shard.unwrap() as u64);
    }
    // The fixture's key names carry no hash tag.
    assert_eq!(plan["hash_tags"]["exact"], true);
    assert!(plan["hash_tags"]["top"].as_array().unwrap().is_empty());

    // Big keys: every top key of at least a tenth of the mean shard, in its slot.
    let big = &plan["big_keys"];
    let limit = u(&big["limit_bytes"]);
    assert_eq!(limit, total_bytes / 3 / 10);
    let expected_big: Vec<&str> = s["top_keys"]["by_memory"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| u(&k["memory_bytes"]) + u(&k["overhead_bytes"]) >= limit)
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    let big_keys = big["keys"].as_array().unwrap();
    assert_eq!(
        big_keys
            .iter()
            .map(|k| k["key"].as_str().unwrap())
            .collect::<Vec<_>>(),
        expected_big
    );
    assert!(big_keys.len() >= 3, "{big_keys:?}");
    assert_eq!(big_keys[0]["key"], "big:zset:100k");
    for k in big_keys {
        assert_eq!(
            u(&k["slot"]),
            slot_of(k["key"].as_str().unwrap().as_bytes())
        );
    }
    assert_eq!(big["complete"], true);

    // shards.csv holds the same rows.
    let header = std::fs::read_to_string(dir.join("shards.csv")).unwrap();
    assert!(header.starts_with("shard,first_slot,last_slot,slots,keys,bytes,share,vs_mean\n"));
    let rows = csv_rows(&dir.join("shards.csv"));
    assert_eq!(rows.len(), 3);
    for (row, sh) in rows.iter().zip(shards) {
        assert_eq!(row["keys"].parse::<u64>().unwrap(), u(&sh["keys"]));
        assert_eq!(row["bytes"].parse::<u64>().unwrap(), u(&sh["bytes"]));
    }
    assert_eq!(rows[1]["slots"], "5462");
}

#[test]
fn without_shards_there_is_no_plan_and_no_shards_csv() {
    let dir = analyze("no-plan", &[&dump("redis-6.2")]);
    let s = json(&dir.join("summary.json"));
    assert!(s["shards"].is_null());
    assert!(!s["slots"].as_array().unwrap().is_empty());
    assert!(!dir.join("shards.csv").exists());
    for bad in ["0", "16385", "x"] {
        let out = rdbscope(&["analyze", "--shards", bad, &dump("redis-6.2")]);
        assert_eq!(out.status.code(), Some(2), "--shards {bad}");
    }
}

/// Per-file summaries merged equal one run over both files, plan included; `merge --shards`
/// replans.
#[test]
fn merged_summaries_recompute_the_plan() {
    let (a, b) = (dump("redis-7.0"), dump("valkey-9.1"));
    let one = json(&analyze("merge-one", &["--shards", "3", &a, &b]).join("summary.json"));
    let left = analyze("merge-left", &["--shards", "3", &a]).join("summary.json");
    let right = analyze("merge-right", &["--shards", "3", &b]).join("summary.json");
    let merge = |extra: &[&str]| -> Value {
        let mut args = vec!["merge", left.to_str().unwrap(), right.to_str().unwrap()];
        args.extend_from_slice(extra);
        serde_json::from_slice(&rdbscope_ok(&args).stdout).unwrap()
    };
    assert_eq!(merge(&[]), one);
    let five = json(&analyze("merge-five", &["--shards", "5", &a, &b]).join("summary.json"));
    assert_eq!(merge(&["--shards", "5"]), five);
    let shards = five["shards"]["shards"].as_array().unwrap();
    assert_eq!(shards.iter().map(|sh| u(&sh["keys"])).sum::<u64>(), 1059);

    // The inputs as they are: each with its slot range, in the terminal too.
    let out = rdbscope(&[
        "merge",
        "--format",
        "table",
        left.to_str().unwrap(),
        right.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Shard plan: 3 masters",
        "0-5460",
        "Hottest slots",
        "Keys no slot move can split",
        "The inputs as they are",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

#[test]
fn planned_summaries_validate_against_the_documented_schema() {
    let schema: Value = serde_json::from_str(include_str!("../docs/summary.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let out = rdbscope(&[
        "analyze",
        "--format",
        "json",
        "--shards",
        "7",
        &dump("redis-7.0"),
        &dump("redis-6.0"),
    ]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut bad = doc.clone();
    bad["slots"][0][0] = Value::from(16384);
    assert!(!validator.is_valid(&bad));
}

/// Keys of every shape: the fixture's names, binary bytes, and braces at every position
/// (none, empty tags, nested, unclosed, several).
fn tricky_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = [
        "foo",
        "{user1000}.following",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "}{",
        "{",
        "}",
        "{}",
        "{{}}",
        "a{b}c{d}",
        "",
    ]
    .iter()
    .map(|k| k.as_bytes().to_vec())
    .collect();
    for i in 0..4000usize {
        let mut key: Vec<u8> = (0..i % 23)
            .map(|j| ((i * 7 + j * 13) % 256) as u8)
            .collect();
        for (at, brace) in [(i % 5, b'{'), (i % 11, b'}'), (i % 3 + 4, b'}')] {
            if i % (at + 2) != 0 {
                key.insert(at.min(key.len()), brace);
            }
        }
        keys.push(key);
    }
    let dir = analyze("live-keys", &["--keys", &dump("redis-7.0")]);
    let mut r = csv::Reader::from_path(dir.join("keys.csv")).unwrap();
    for row in r.records() {
        keys.push(unescape_key(&row.unwrap()[1]));
    }
    keys
}

#[test]
fn slots_are_what_a_live_cluster_node_answers() {
    const TEST: &str = "slots_are_what_a_live_cluster_node_answers";
    let Some(bin) = server_binary(TEST) else {
        return;
    };
    let bus_port = free_port().to_string();
    let server = Server::start(
        &bin,
        &[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-port",
            &bus_port,
        ],
        None,
    );
    let mut client = server.client();
    let keys = tricky_keys();
    let commands: Vec<_> = keys.iter().map(|k| cmd!("CLUSTER", "KEYSLOT", k)).collect();
    let answers = client.run(&commands);
    for (key, answer) in keys.iter().zip(&answers) {
        assert_eq!(
            i64::from(u16::from(key_slot(key))),
            answer.int(),
            "CLUSTER KEYSLOT {:?}",
            escape_key(key)
        );
    }
    assert!(keys.len() > 4500);
}
