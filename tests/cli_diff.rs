//! `rdbscope diff OLD NEW`: per-pattern and total changes against the two summaries' own
//! numbers, the same diff from dumps and from summaries, the CSV and JSON outputs, the
//! growth threshold's exit code, the headroom date from the snapshots' ctime, and changes
//! planted on a live server (skipped without `redis-server` unless `RDBSCOPE_REQUIRE_LIVE=1`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::live::{Server, cmd, expect_ok, server_binary};
use common::{analyze, csv_rows, dump, file_names, json, rdbscope, rdbscope_ok, temp_dir, u};
use serde_json::Value;

/// A fixture's summary.json, analysed with default settings into a directory of the test's
/// own (`tag`: tests run in parallel).
fn summary(name: &str, tag: &str) -> PathBuf {
    analyze(&format!("{tag}-{name}"), &[&dump(name)]).join("summary.json")
}

fn diff_json(old: &Path, new: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "diff",
        "--quiet",
        "--format",
        "json",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    serde_json::from_slice(&rdbscope_ok(&args).stdout).unwrap()
}

/// Pattern name to (keys, memory plus overhead) of a summary.json.
fn patterns(summary: &Value) -> BTreeMap<String, (u64, u64)> {
    summary["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let bytes = u(&p["memory_bytes"]) + u(&p["overhead_bytes"]);
            (
                p["pattern"].as_str().unwrap().to_string(),
                (u(&p["keys"]), bytes),
            )
        })
        .collect()
}

fn total_bytes(summary: &Value) -> u64 {
    u(&summary["totals"]["memory_bytes"]) + u(&summary["totals"]["overhead_bytes"])
}

/// Writes a copy of a summary.json with each input's ctime replaced.
fn with_ctime(summary: &Path, ctime: i64, tag: &str) -> PathBuf {
    let mut doc = json(summary);
    for input in doc["inputs"].as_array_mut().unwrap() {
        input["ctime"] = Value::from(ctime);
    }
    let path = temp_dir(tag).join("summary.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

#[test]
fn summaries_of_two_fixtures_diff_pattern_by_pattern() {
    let (old_path, new_path) = (
        summary("redis-7.0", "by-pattern"),
        summary("redis-stack-7.4", "by-pattern"),
    );
    let (old, new) = (json(&old_path), json(&new_path));
    let d = diff_json(&old_path, &new_path, &[]);
    assert_eq!(d["schema"], "rdbscope.diff/1");
    assert_eq!(d["same_settings"], true);

    let total = &d["total"];
    assert_eq!(u(&total["keys_old"]), 528);
    assert_eq!(u(&total["keys_new"]), 545);
    assert_eq!(total["keys_change"], 17);
    assert_eq!(u(&total["bytes_old"]), total_bytes(&old));
    assert_eq!(u(&total["bytes_new"]), total_bytes(&new));
    let change = total_bytes(&new) as i64 - total_bytes(&old) as i64;
    assert_eq!(total["bytes_change"], change);
    let pct = 100.0 * change as f64 / total_bytes(&old) as f64;
    assert!((total["bytes_change_pct"].as_f64().unwrap() - pct).abs() < 1e-9);

    // Every pattern of either side, with both sides' own numbers.
    let (before, after) = (patterns(&old), patterns(&new));
    let rows = d["patterns"].as_array().unwrap();
    let names: BTreeSet<&str> = rows
        .iter()
        .map(|p| p["pattern"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = before
        .keys()
        .chain(after.keys())
        .map(String::as_str)
        .collect();
    assert_eq!(names, expected);
    assert_eq!(rows.len(), names.len());
    for p in rows {
        let name = p["pattern"].as_str().unwrap();
        let (then, now) = (before.get(name), after.get(name));
        let (k0, b0) = then.copied().unwrap_or_default();
        let (k1, b1) = now.copied().unwrap_or_default();
        assert_eq!((u(&p["keys_old"]), u(&p["bytes_old"])), (k0, b0), "{name}");
        assert_eq!((u(&p["keys_new"]), u(&p["bytes_new"])), (k1, b1), "{name}");
        let status = match (then, now) {
            (None, _) => "new",
            (_, None) => "vanished",
            _ if b1 > b0 => "grown",
            _ if b1 < b0 => "shrunk",
            _ => "unchanged",
        };
        assert_eq!(p["status"], status, "{name}");
    }
    // The module types only Redis Stack holds are new patterns; nothing vanished.
    let with_status = |status: &str| -> BTreeSet<&str> {
        rows.iter()
            .filter(|p| p["status"] == status)
            .map(|p| p["pattern"].as_str().unwrap())
            .collect()
    };
    let new_patterns = with_status("new");
    for name in ["doc:*", "json:doc", "bf:users", "ts:temp", "hash:fttl:big"] {
        assert!(new_patterns.contains(name), "{name} in {new_patterns:?}");
    }
    assert_eq!(
        u(&rows.iter().find(|p| p["pattern"] == "doc:*").unwrap()["keys_new"]),
        3
    );
    assert!(with_status("vanished").is_empty());
    // Fastest growers first.
    let changes: Vec<i64> = rows
        .iter()
        .map(|p| p["bytes_change"].as_i64().unwrap())
        .collect();
    assert!(changes.windows(2).all(|w| w[0] >= w[1]));

    // The fixtures' ctimes are seconds apart, the newer one first: no rate.
    assert_eq!(d["growth"]["status"], "measured");
    assert!(d["headroom"].is_null());
    let back = diff_json(&new_path, &old_path, &[]);
    assert_eq!(back["growth"]["status"], "unknown");
    assert_eq!(back["growth"]["reason"], "NEW's ctime is before OLD's");
    assert_eq!(back["total"]["bytes_change"], -change);
}

/// A dump is analysed with default settings: diffing dumps is diffing their summaries.
#[test]
fn dumps_and_their_summaries_diff_the_same() {
    let (a, b) = ("valkey-9.1", "redis-7.0");
    let (summary_a, summary_b) = (summary(a, "dumps"), summary(b, "dumps"));
    let from_summaries = diff_json(&summary_a, &summary_b, &[]);
    let from_dumps = diff_json(Path::new(&dump(a)), Path::new(&dump(b)), &[]);
    assert_eq!(from_dumps["total"], from_summaries["total"]);
    assert_eq!(from_dumps["patterns"], from_summaries["patterns"]);
    let mixed = diff_json(&summary_a, Path::new(&dump(b)), &[]);
    assert_eq!(mixed["patterns"], from_summaries["patterns"]);
    assert_eq!(mixed["new"]["inputs"][0], dump(b));

    let dir = temp_dir("diff-garbage");
    let garbage = dir.join("notes.txt");
    std::fs::write(&garbage, "not a dump").unwrap();
    let out = rdbscope(&["diff", &dump(a), garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
    let mut other = json(&summary_a);
    other["schema"] = Value::from("rdbscope.summary/0");
    let other_path = dir.join("other.json");
    std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    let out = rdbscope(&["diff", other_path.to_str().unwrap(), &dump(b)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another version of rdbscope"));
}

#[test]
fn fail_if_growth_exits_4_after_writing_the_reports() {
    // valkey-9.1's keys cost less than redis-7.0's: from one to the other memory grows.
    let (small, large) = (summary("valkey-9.1", "fail"), summary("redis-7.0", "fail"));
    let small_bytes = total_bytes(&json(&small));
    let grown = 100.0 * (total_bytes(&json(&large)) as f64 / small_bytes as f64 - 1.0);
    // The thresholds below straddle the measured growth with a margin either side.
    assert!((30.0..50.0).contains(&grown), "{grown}");

    let dir = temp_dir("diff-fail");
    let run = |threshold: &str, old: &Path, new: &Path| {
        rdbscope(&[
            "diff",
            "--out-dir",
            dir.to_str().unwrap(),
            "--fail-if-growth",
            threshold,
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ])
    };
    let out = run("10%", &small, &large);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("more than --fail-if-growth 10%"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("OLD "));
    let written = json(&dir.join("diff.json"));
    assert_eq!(u(&written["total"]["bytes_old"]), small_bytes);

    // diff.csv: the total first, then the patterns as diff.json lists them.
    let rows = csv_rows(&dir.join("diff.csv"));
    assert_eq!(rows[0]["status"], "total");
    assert_eq!(
        rows[0]["bytes_change"],
        written["total"]["bytes_change"].to_string()
    );
    let patterns = written["patterns"].as_array().unwrap();
    assert_eq!(rows.len(), patterns.len() + 1);
    for (row, p) in rows[1..].iter().zip(patterns) {
        assert_eq!(row["pattern"], p["pattern"].as_str().unwrap());
        assert_eq!(row["status"], p["status"].as_str().unwrap());
        assert_eq!(row["bytes_new"], p["bytes_new"].to_string());
    }

    assert_eq!(run("60", &small, &large).status.code(), Some(0));
    assert_eq!(run("0", &large, &small).status.code(), Some(0), "shrinking");
    for bad in ["ten", "-5", "5%%"] {
        assert_eq!(run(bad, &small, &large).status.code(), Some(2), "{bad}");
    }
}

#[test]
fn headroom_runs_out_at_the_rate_between_the_ctimes() {
    const T0: i64 = 1_700_000_000;
    const WEEK: i64 = 7 * 86_400;
    let (small, large) = (
        summary("valkey-9.1", "headroom"),
        summary("redis-7.0", "headroom"),
    );
    let old = with_ctime(&small, T0, "ctime-old");
    let new = with_ctime(&large, T0 + WEEK, "ctime-new");
    let (used, grown) = (
        total_bytes(&json(&large)),
        total_bytes(&json(&large)) - total_bytes(&json(&small)),
    );

    let conf_dir = temp_dir("diff-conf");
    let conf = conf_dir.join("redis.conf");
    std::fs::write(
        &conf,
        "port 6379\n# maxmemory 1mb\nmaxmemory 64m\nmaxmemory-policy noeviction\n",
    )
    .unwrap();
    let d = diff_json(&old, &new, &["--config", conf.to_str().unwrap()]);
    assert_eq!(d["growth"]["status"], "measured");
    assert_eq!(d["growth"]["seconds"], WEEK);
    assert_eq!(u(&d["growth"]["bytes"]), grown);
    let h = &d["headroom"];
    assert_eq!(u(&h["maxmemory"]), 64_000_000);
    assert_eq!(u(&h["used_bytes"]), used);
    assert_eq!(u(&h["free_bytes"]), 64_000_000 - used);
    assert_eq!(h["runs_out"], "at");
    let expected = T0 + WEEK + ((64_000_000 - used) as i64 * WEEK) / grown as i64;
    assert_eq!(h["runs_out_at"], expected);
    assert_eq!(d, diff_json(&old, &new, &["--maxmemory", "64m"]));

    let text = rdbscope_ok(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--maxmemory",
        "64m",
    ]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("runs out 20"), "{text}");

    // Shrinking: not growing. Over the limit: already full. Same ctime: no rate.
    let shrunk = with_ctime(&small, T0 + WEEK, "ctime-shrunk");
    let back = diff_json(
        &with_ctime(&large, T0, "ctime-large"),
        &shrunk,
        &["--maxmemory", "64mb"],
    );
    assert_eq!(back["headroom"]["runs_out"], "not_growing");
    assert!(back["headroom"]["runs_out_at"].is_null());
    let full = diff_json(&old, &new, &["--maxmemory", "1mb"]);
    assert_eq!(full["headroom"]["runs_out"], "already_full");
    assert_eq!(full["headroom"]["free_bytes"], (1 << 20) - used as i64);
    let same = diff_json(
        &old,
        &with_ctime(&large, T0, "ctime-same"),
        &["--maxmemory", "1gb"],
    );
    assert_eq!(same["growth"]["status"], "unknown");
    assert_eq!(same["headroom"]["runs_out"], "unknown_rate");

    let out = rdbscope(&[
        "diff",
        &dump("redis-7.0"),
        &dump("redis-7.0"),
        "--maxmemory",
        "1gb",
        "--config",
        conf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "--maxmemory or --config");
    let none = conf_dir.join("empty.conf");
    std::fs::write(&none, "port 6379\n").unwrap();
    let out = rdbscope(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--config",
        none.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no maxmemory line"));
}

#[test]
fn a_failed_diff_leaves_old_reports_untouched() {
    let dir = temp_dir("diff-atomic");
    std::fs::write(dir.join("diff.json"), "old").unwrap();
    let truncated = dir.join("truncated.rdb");
    let bytes = std::fs::read(dump("redis-7.0")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = rdbscope(&[
        "diff",
        "--out-dir",
        dir.to_str().unwrap(),
        &dump("redis-7.0"),
        truncated.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let names = file_names(&dir);
    assert_eq!(names, ["diff.json", "truncated.rdb"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("diff.json")).unwrap(),
        "old"
    );
}

/// The fixture loaded into a real server, changed there (100 new `planted:N` strings, the
/// `tags:*` sets deleted, the one `hash:big:*` hash grown) and saved: the diff shows those
/// three patterns and nothing else.
#[test]
fn diff_shows_exactly_the_changes_planted_on_a_live_server() {
    const TEST: &str = "diff_shows_exactly_the_changes_planted_on_a_live_server";
    let Some(bin) = server_binary(TEST) else {
        return;
    };
    let fixture = common::fixture("redis-7.0");
    let server = Server::start(&bin, &[], Some(&fixture));
    let mut client = server.client();
    let saved = server.dir.path().join("dump.rdb");
    let dir = temp_dir("diff-live");
    let (baseline, changed) = (dir.join("baseline.rdb"), dir.join("changed.rdb"));
    expect_ok(&client.call(&cmd!("SAVE")), "SAVE");
    std::fs::copy(&saved, &baseline).unwrap();

    let value = vec![b'v'; 100];
    let mut plant = vec![cmd!("SELECT", "0")];
    plant.extend((0..100).map(|i| cmd!("SET", format!("planted:{i}"), value)));
    client.run(&plant);
    let mut deleted = 0;
    for db in 0..16 {
        client.run(&[cmd!("SELECT", db)]);
        let keys = client.call(&cmd!("KEYS", "tags:*"));
        for key in keys.array() {
            deleted += client.call(&cmd!("DEL", key.bytes())).int();
        }
    }
    assert_eq!(deleted, 20);
    let fields: Vec<Vec<u8>> = (0..1000)
        .flat_map(|i| [format!("grown-{i}").into_bytes(), b"x".repeat(20)])
        .collect();
    let mut grow = cmd!("HSET", "hash:big:5000");
    grow.extend(fields);
    client.run(&[cmd!("SELECT", "0"), grow]);
    let usage: i64 = client
        .run(
            &(0..100)
                .map(|i| cmd!("MEMORY", "USAGE", format!("planted:{i}"), "SAMPLES", "0"))
                .collect::<Vec<_>>(),
        )
        .iter()
        .map(|r| r.int())
        .sum();
    expect_ok(&client.call(&cmd!("SAVE")), "SAVE");
    std::fs::copy(&saved, &changed).unwrap();

    let status = |d: &Value| -> BTreeMap<String, String> {
        d["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] != "unchanged")
            .map(|p| {
                let name = p["pattern"].as_str().unwrap().to_string();
                (name, p["status"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let planted: BTreeMap<String, String> = [
        ("hash:big:*", "grown"),
        ("planted:*", "new"),
        ("tags:*", "vanished"),
    ]
    .iter()
    .map(|(p, s)| (p.to_string(), s.to_string()))
    .collect();

    // Against the fixture itself, and against the server's own save before the changes.
    for old in [fixture.as_path(), baseline.as_path()] {
        let d = diff_json(old, &changed, &[]);
        assert_eq!(status(&d), planted, "diff {}", old.display());
        assert_eq!(d["total"]["keys_change"], 80);
        let row = |name: &str| {
            d["patterns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["pattern"] == name)
                .unwrap()
                .clone()
        };
        let new = row("planted:*");
        assert_eq!((u(&new["keys_old"]), u(&new["keys_new"])), (0, 100));
        let gone = row("tags:*");
        assert_eq!((u(&gone["keys_old"]), u(&gone["keys_new"])), (20, 0));
        assert_eq!(u(&gone["bytes_new"]), 0);
        let grown = row("hash:big:*");
        assert_eq!((u(&grown["keys_old"]), u(&grown["keys_new"])), (1, 1));
        assert!(grown["bytes_change"].as_i64().unwrap() > 1000 * 20);
        // The fastest grower leads.
        assert_eq!(d["patterns"][0]["pattern"], "hash:big:*");
    }
    // The planted keys' memory is what the server reported for them.
    let summary: Value = serde_json::from_slice(
        &rdbscope_ok(&["analyze", "--format", "json", changed.to_str().unwrap()]).stdout,
    )
    .unwrap();
    let row = summary["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pattern"] == "planted:*")
        .unwrap();
    assert_eq!(u(&row["memory_bytes"]) as i64, usage);
}
