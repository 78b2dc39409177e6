//! Every real-server fixture in testdata/ parses to exactly what its server reported before
//! SAVE (truth.csv): the same keys, types, encodings, element counts, string lengths, expiries
//! and LFU counters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rdbscope::rdb::{Context, Entry, Item, Records, Scratch, escape_key, inspect, records};

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("dump.rdb").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[derive(Debug, PartialEq)]
struct Key {
    key_type: String,
    encoding: String,
    elements: String,
    strlen: String,
    expires_at_ms: String,
    freq: String,
}

/// What rdbscope reads from a dump, in truth.csv's terms.
fn parse(dump: &Path) -> BTreeMap<(String, String), Key> {
    let data = std::fs::read(dump).unwrap();
    let mut ctx = Context::for_dump(&data).unwrap();
    // A fixture run with jemalloc preloaded: no spare room for an expire in string objects.
    let server = std::fs::read_to_string(dump.with_file_name("server.json")).unwrap_or_default();
    if server.contains("\"preload\": \"libjemalloc") {
        ctx.expire_room_in_objects = false;
    }
    let mut scratch = Scratch::default();
    let mut keys = BTreeMap::new();
    let mut saw_eof = false;
    for entry in Records::new(&data).unwrap() {
        match entry.unwrap_or_else(|e| panic!("{}: {e}", dump.display())) {
            Entry::Key(record) => {
                let stats = inspect(&record, &ctx, &mut scratch).unwrap();
                let is_string = record.value_type.key_type().as_str() == "string";
                let key = Key {
                    key_type: match &stats.shape.module {
                        Some(m) => m.name.clone(),
                        None => record.value_type.key_type().as_str().to_string(),
                    },
                    encoding: stats.encoding().as_str().to_string(),
                    elements: if stats.shape.module.is_some() {
                        String::new()
                    } else {
                        stats.shape.elements.to_string()
                    },
                    strlen: if is_string {
                        stats.largest_element.to_string()
                    } else {
                        String::new()
                    },
                    expires_at_ms: record
                        .expire_at_ms
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    freq: record.freq.map(|v| v.to_string()).unwrap_or_default(),
                };
                let id = (record.db.to_string(), escape_key(&record.key));
                assert!(
                    keys.insert(id.clone(), key).is_none(),
                    "duplicate key {id:?}"
                );
            }
            Entry::Other(Item::Eof {
                offset, checksum, ..
            }) => {
                saw_eof = true;
                if let Some(stored) = checksum {
                    records::verify_checksum(&data, offset, stored, None).unwrap();
                }
            }
            Entry::Other(_) => {}
        }
    }
    assert!(saw_eof, "{}: no EOF", dump.display());
    keys
}

fn truth(path: &Path) -> BTreeMap<(String, String), Key> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (db, key, ty, enc, el, sl, exp, freq) = (
        col("db"),
        col("key"),
        col("type"),
        col("encoding"),
        col("elements"),
        col("strlen"),
        col("expires_at_ms"),
        col("freq"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let id = (r[db].to_string(), r[key].to_string());
            let key = Key {
                key_type: r[ty].to_string(),
                encoding: r[enc].to_string(),
                elements: r[el].to_string(),
                strlen: r[sl].to_string(),
                expires_at_ms: r[exp].to_string(),
                freq: r[freq].to_string(),
            };
            (id, key)
        })
        .collect()
}

#[test]
fn every_fixture_matches_its_servers_truth() {
    let dirs = fixture_dirs();
    assert!(
        dirs.len() >= 6,
        "expected the real-server fixtures in testdata/, found {dirs:?}"
    );
    let mut compared = 0;
    for dir in dirs {
        let truth_path = dir.join("truth.csv");
        let parsed = parse(&dir.join("dump.rdb"));
        if !truth_path.exists() {
            continue;
        }
        let truth = truth(&truth_path);
        let mut problems = Vec::new();
        for (id, want) in &truth {
            match parsed.get(id) {
                None => problems.push(format!("missing {id:?}")),
                Some(got) if got != want => {
                    problems.push(format!("{id:?}: got {got:?}, server {want:?}"))
                }
                Some(_) => {}
            }
        }
        for id in parsed.keys().filter(|id| !truth.contains_key(*id)) {
            problems.push(format!("extra {id:?}"));
        }
        assert!(
            problems.is_empty(),
            "{}: {} of {} keys differ:\n{}",
            dir.display(),
            problems.len(),
            truth.len(),
            problems[..problems.len().min(20)].join("\n")
        );
        compared += truth.len();
    }
    assert!(compared > 3000, "only {compared} keys compared");
}
