//! Helpers shared by the integration tests: where the dumps are, and how to run the binary.
#![allow(dead_code)] // each test binary uses its own subset

pub mod live;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// `testdata/NAME/dump.rdb`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
        .join("dump.rdb")
}

/// Runs the built `rdbscope` binary.
pub fn rdbscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdbscope"))
        .args(args)
        .output()
        .unwrap()
}

/// `testdata/NAME/dump.rdb` as an argument.
pub fn dump(name: &str) -> String {
    fixture(name).to_str().unwrap().to_string()
}

/// Runs the binary, asserting success.
pub fn rdbscope_ok(args: &[&str]) -> Output {
    let out = rdbscope(args);
    assert!(
        out.status.success(),
        "rdbscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `analyze` with `args` into a fresh out-dir, asserting success, and returns the dir.
pub fn analyze(tag: &str, args: &[&str]) -> PathBuf {
    let dir = temp_dir(tag);
    let mut all = vec!["analyze", "--quiet", "--out-dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = rdbscope_ok(&all);
    assert!(out.stderr.is_empty(), "--quiet keeps stderr clean");
    dir
}

pub fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A CSV file as rows of column name to value.
pub fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            let row = row.unwrap();
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The names in a directory, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

pub fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is a count"))
}

/// Every real-server fixture: `testdata/*/dump.rdb`, sorted.
pub fn fixture_dumps() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("dump.rdb"))
        .filter(|p| p.is_file())
        .collect();
    dumps.sort();
    dumps
}

/// A fresh, empty directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdbscope-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A synthetic RDB 11 dump of about `bytes` (`shape`, `seed`) with keys enough for several
/// of the pipeline's batches (4096 records each): its bytes and its number of keys.
pub fn dump_of_several_batches(
    shape: rdbscope::synth::mix::Shape,
    seed: u64,
    bytes: u64,
) -> (Vec<u8>, u64) {
    use rdbscope::rdb::{Header, Magic};
    use rdbscope::synth::mix::{self, MixConfig};
    /// 2030-01-01T00:00:00Z.
    const CLOCK_MS: i64 = 1_893_456_000_000;
    let config = MixConfig::new(Header::new(Magic::Redis, 11), shape, seed, CLOCK_MS);
    let (data, summary) = mix::generate(&config, bytes);
    assert!(
        summary.keys > 3 * 4096,
        "{} keys: too few for several batches",
        summary.keys
    );
    (data, summary.keys)
}

/// The `rdb` crate's packaged dumps, found through `cargo metadata` as the dev-dependency was
/// resolved.
pub fn rdb_crate_dumps() -> Vec<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} metadata: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata printed invalid JSON");
    let packages = meta["packages"]
        .as_array()
        .expect("cargo metadata has no packages array");
    let rdb: Vec<&serde_json::Value> = packages
        .iter()
        .filter(|p| p["name"] == "rdb")
        .filter(|p| p["version"].as_str().is_some_and(|v| v.starts_with("0.4.")))
        .collect();
    assert_eq!(
        rdb.len(),
        1,
        "expected exactly one `rdb` 0.4.x package in cargo metadata"
    );
    let manifest = rdb[0]["manifest_path"]
        .as_str()
        .expect("rdb package has no manifest_path");
    let dir = Path::new(manifest)
        .parent()
        .expect("manifest_path has no parent")
        .join("tests")
        .join("dumps");
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot list the rdb crate's dumps in {}: {e}",
                dir.display()
            )
        })
        .map(|e| e.expect("reading the dump directory").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rdb"))
        .collect();
    dumps.sort();
    dumps
}

/// Runs the built `rdbscope` binary with `input` on its stdin.
pub fn rdbscope_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rdbscope"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A writer thread, so that a child that stops reading early cannot deadlock the test.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A REDIS0011 dump of `body` (records after SELECTDB 0) with a valid CRC-64 trailer.
pub fn dump_with(body: &[u8]) -> Vec<u8> {
    let mut data = [b"REDIS0011\xfe\x00", body, b"\xff"].concat();
    let crc = rdbscope::rdb::crc64::crc64(0, &data);
    data.extend_from_slice(&crc.to_le_bytes());
    data
}

/// A string record: type 0, key, value (both shorter than 64 bytes).
pub fn string_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    assert!(key.len() < 64 && value.len() < 64);
    [&[0, key.len() as u8][..], key, &[value.len() as u8], value].concat()
}

/// The names of the entries in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
