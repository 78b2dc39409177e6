//! `--keep-going`: a damaged dump is analysed up to the damage, keys with corrupt values are
//! skipped and listed, every output says it is incomplete, and the exit code is 3.

mod common;

use std::path::Path;
use std::process::Output;

use common::{dump_with, fixture, rdbscope, string_record, temp_dir};
use rdbscope::rdb::{Entry, Records};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// What the splitter makes of a damaged dump: the keys before the damaged entry, where that
/// entry starts, and the error.
fn split_until_damage(data: &[u8]) -> (Vec<String>, u64, rdbscope::rdb::Error) {
    let mut records = Records::new(data).unwrap();
    let mut keys = Vec::new();
    loop {
        let at = records.offset();
        match records.next().expect("damage before the end") {
            Ok(Entry::Key(r)) => keys.push(rdbscope::rdb::escape_key(&r.key)),
            Ok(Entry::Other(_)) => {}
            Err(e) => return (keys, at, e),
        }
    }
}

#[test]
fn truncated_dump_is_analysed_up_to_the_damaged_entry() {
    let dir = temp_dir("keep-going-cut");
    let data = std::fs::read(fixture("redis-7.0")).unwrap();
    let cut = dir.join("cut.rdb");
    // past the first big keys (the 4 MB of them are spread through the file)
    std::fs::write(&cut, &data[..3_700_000]).unwrap();
    let (keys_before, entry_offset, error) = split_until_damage(&data[..3_700_000]);
    assert!(keys_before.len() > 50);

    // Without --keep-going: the error, exit 1.
    let out = rdbscope(&["info", s(&cut)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("rdbscope: {}: {error}\n", cut.display())
    );

    let out = rdbscope(&["info", s(&cut), "--keep-going", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["keys"], keys_before.len());
    assert_eq!(doc["damage"]["offset"], error.offset);
    assert_eq!(doc["damage"]["entry_offset"], entry_offset);
    assert_eq!(doc["damage"]["key"], error.key.clone().unwrap());
    assert_eq!(doc["damage"]["reason"], error.kind.to_string());
    assert_eq!(doc["checksum"]["status"], "not verified");
    assert_eq!(doc["skipped_keys"]["count"], 0);
    let warning = format!(
        "rdbscope: warning: incomplete: analysed up to byte {entry_offset}, where the damage \
         starts: {error}\n"
    );
    assert_eq!(stderr(&out), warning);

    let out = rdbscope(&["info", s(&cut), "--keep-going"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    let second = text.lines().nth(1).unwrap();
    assert_eq!(
        second,
        format!(
            "  WARNING      incomplete: analysed up to byte {entry_offset}, where the damage starts: {error}"
        )
    );
    assert!(text.contains("checksum     not verified"), "{text}");

    // keys: the CSV is the intact dump's, up to the damaged entry.
    let full = rdbscope(&["keys", s(&fixture("redis-7.0"))]);
    let full = String::from_utf8(full.stdout).unwrap();
    let csv = dir.join("keys.csv");
    let out = rdbscope(&["keys", s(&cut), "--keep-going", "-o", s(&csv)]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), warning);
    let written = std::fs::read_to_string(&csv).unwrap();
    let expected: Vec<&str> = full.lines().take(1 + keys_before.len()).collect();
    assert_eq!(written.lines().collect::<Vec<_>>(), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Three keys; the middle one a listpack hash whose blob is well framed (its length is right)
/// but is no listpack.
fn dump_with_a_corrupt_value() -> Vec<u8> {
    let garbage = b"this is not a listpack";
    let corrupt = [&[16, 1, b'h', garbage.len() as u8][..], garbage].concat();
    dump_with(
        &[
            string_record(b"a", b"1"),
            corrupt,
            string_record(b"b", b"2"),
        ]
        .concat(),
    )
}

#[test]
fn keys_with_corrupt_values_are_skipped_and_listed() {
    let dir = temp_dir("keep-going-skip");
    let path = dir.join("dump.rdb");
    std::fs::write(&path, dump_with_a_corrupt_value()).unwrap();
    let out = rdbscope(&["info", s(&path)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("(key \"h\")"), "{err}");

    let out = rdbscope(&["info", s(&path), "--keep-going", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["keys"], 2);
    assert_eq!(doc["damage"], serde_json::Value::Null);
    // The value was written with this CRC: the file is as the server saved it.
    assert_eq!(doc["checksum"]["status"], "valid");
    assert_eq!(doc["skipped_keys"]["count"], 1);
    let skipped = &doc["skipped_keys"]["first"][0];
    assert_eq!(skipped["key"], "h");
    // The record: 11 header and SELECTDB, 4 for "a", type 16 at 15, key 16..18, blob
    // length at 18, the blob from 19.
    let offset = skipped["offset"].as_u64().unwrap();
    assert!((19..19 + 22).contains(&offset), "{skipped}");
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "rdbscope: warning: incomplete: skipped 1 key with a corrupt value, the first at byte "
        ) && err.contains("(key \"h\")"),
        "{err}"
    );

    let out = rdbscope(&["keys", s(&path), "--keep-going"]);
    assert_eq!(out.status.code(), Some(3));
    let csv = String::from_utf8(out.stdout).unwrap();
    let keys: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(keys, ["a", "b"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checksum_mismatch_is_damage_with_every_key_counted() {
    let dir = temp_dir("keep-going-crc");
    let mut data = std::fs::read(fixture("redis-6.2")).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0x01;
    let path = dir.join("dump.rdb");
    std::fs::write(&path, &data).unwrap();
    let intact = json(&rdbscope(&[
        "info",
        s(&fixture("redis-6.2")),
        "--format",
        "json",
    ]));
    let out = rdbscope(&["info", s(&path), "--keep-going", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!(doc["keys"], intact["keys"]);
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["damage"]["offset"], data.len() - 8);
    assert_eq!(doc["damage"]["entry_offset"], data.len() - 9);
    assert!(
        doc["damage"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("CRC-64 mismatch"),
        "{doc}"
    );
    assert_eq!(doc["checksum"]["status"], "not verified");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn intact_dumps_are_complete_with_keep_going() {
    let out = rdbscope(&[
        "info",
        s(&fixture("valkey-9.1")),
        "--keep-going",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["damage"], serde_json::Value::Null);
    assert_eq!(doc["skipped_keys"]["count"], 0);
    assert_eq!(stderr(&out), "");
}

/// A one-node list (RDB 11 quicklist: a listpack of "x" and "y") between two strings. With
/// `damaged`, the second entry's back-length is wrong: its header is intact, so only a walk
/// of the node finds it.
fn dump_with_a_list(damaged: bool) -> Vec<u8> {
    let mut node = vec![13, 0, 0, 0, 2, 0, 0x81, b'x', 2, 0x81, b'y', 2, 0xFF];
    if damaged {
        node[11] = 3;
    }
    let list = [&[18, 1, b'l', 1, 2, node.len() as u8][..], &node].concat();
    dump_with(&[string_record(b"a", b"1"), list, string_record(b"b", b"2")].concat())
}

#[test]
fn analyze_counts_lists_on_the_checksums_word_and_walks_them_when_it_fails() {
    let dir = temp_dir("keep-going-list");
    let intact = dump_with_a_list(false);
    let mut damaged = dump_with_a_list(true);
    // Saved with the damage: the checksum vouches for the bytes.
    let vouched = dir.join("vouched.rdb");
    std::fs::write(&vouched, &damaged).unwrap();
    // Damaged after it was saved: the intact dump's checksum.
    let trailer = damaged.len() - 8;
    damaged[trailer..].copy_from_slice(&intact[trailer..]);
    let after = dir.join("after.rdb");
    std::fs::write(&after, &damaged).unwrap();

    // `info` walks every node and refuses both.
    let info_error = |path: &Path| {
        let out = rdbscope(&["info", s(path)]);
        assert_eq!(out.status.code(), Some(1));
        stderr(&out)
    };
    let error = info_error(&vouched);
    assert!(
        error.ends_with("(key \"l\"): listpack backlen is 3 but the entry is 2 bytes\n"),
        "{error}"
    );

    // `analyze` counts a list's elements from its nodes' headers while the checksum vouches
    // for the bytes, as the server loads a dump without walking its nodes.
    let out = rdbscope(&["analyze", s(&vouched), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["totals"]["keys"], 3);
    assert_eq!(doc["totals"]["elements"], 4);
    assert_eq!(doc["inputs"][0]["checksum"], "valid");
    // With --keys, whose keys.csv needs every element, every node is walked from the start:
    // the summary counts the keys keys.csv lists.
    let out_dir = dir.join("out");
    let args = [
        "analyze",
        s(&vouched),
        "--keys",
        "--keep-going",
        "--out-dir",
        s(&out_dir),
    ];
    assert_eq!(rdbscope(&args).status.code(), Some(3));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["totals"]["keys"], 2);
    let listed = std::fs::read_to_string(out_dir.join("keys.csv")).unwrap();
    assert_eq!(listed.lines().count(), 1 + 2, "{listed}");

    // When the checksum fails, the dump is read again walking every node: the error is
    // `info`'s, and with --keep-going the list is skipped and listed as `info` skips it.
    let out = rdbscope(&["analyze", s(&after)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), info_error(&after));
    let out = rdbscope(&["analyze", s(&after), "--keep-going", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!(doc["totals"]["keys"], 2);
    assert_eq!(doc["totals"]["elements"], 2);
    assert_eq!(doc["inputs"][0]["skipped_keys"], 1);
    assert_eq!(doc["inputs"][0]["complete"], false);
    let info = rdbscope(&["info", s(&after), "--keep-going", "--format", "json"]);
    assert_eq!(json(&info)["keys"], 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
