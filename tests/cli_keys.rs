//! `rdbscope keys`: one CSV row per key in file order, filters, escaping, and output files that
//! are never half-written.

mod common;

use std::process::Output;

use common::{fixture, rdbscope, temp_dir};

use rdbscope::rdb::{Entry, Records, escape_key};

const HEADER: &str = "db,key,type,encoding,memory_bytes,overhead_bytes,rdb_bytes,elements,\
                      largest_element_bytes,expires_at_ms,idle_s,freq";

fn rows(out: &Output) -> Vec<csv::StringRecord> {
    rows_under(out, HEADER)
}

/// The rows of a successful run's CSV, whose header must be `header`.
fn rows_under(out: &Output, header: &str) -> Vec<csv::StringRecord> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(
        reader
            .headers()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
            .join(","),
        header
    );
    reader.records().map(Result::unwrap).collect()
}

#[test]
fn one_row_per_key_in_file_order_whatever_the_thread_count() {
    let dump = fixture("redis-7.0");
    let one = rdbscope(&["keys", dump.to_str().unwrap(), "--threads", "1"]);
    let four = rdbscope(&["keys", dump.to_str().unwrap(), "--threads", "4"]);
    assert_eq!(one.stdout, four.stdout);
    let rows = rows(&one);
    let data = std::fs::read(&dump).unwrap();
    let in_file: Vec<(String, String)> = Records::new(&data)
        .unwrap()
        .filter_map(|e| match e.unwrap() {
            Entry::Key(r) => Some((r.db.to_string(), escape_key(&r.key))),
            Entry::Other(_) => None,
        })
        .collect();
    let listed: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    assert_eq!(listed, in_file);
    assert_eq!(rows.len(), 528);
    let rdb_bytes: u64 = rows.iter().map(|r| r[6].parse::<u64>().unwrap()).sum();
    assert!(
        rdb_bytes > 500_000 && rdb_bytes < data.len() as u64,
        "{rdb_bytes}"
    );
}

#[test]
fn columns_match_the_servers_truth() {
    let dump = fixture("redis-7.0-lfu");
    let rows = rows(&rdbscope(&["keys", dump.to_str().unwrap()]));
    let truth_path = dump.with_file_name("truth.csv");
    let truth: std::collections::HashMap<(String, String), csv::StringRecord> =
        csv::Reader::from_path(truth_path)
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                ((r[0].to_string(), r[1].to_string()), r)
            })
            .collect();
    assert_eq!(rows.len(), truth.len());
    for row in &rows {
        let t = &truth[&(row[0].to_string(), row[1].to_string())];
        assert_eq!(
            (&row[2], &row[3]),
            (&t[2], &t[3]),
            "type/encoding of {}",
            &row[1]
        );
        assert_eq!(&row[7], &t[4], "elements of {}", &row[1]);
        assert_eq!(&row[9], &t[7], "expiry of {}", &row[1]);
        assert_eq!(&row[11], &t[9], "freq of {}", &row[1]);
        assert!(!row[11].is_empty());
    }
}

/// memory_bytes of `key` in db 0 of the redis-7.0 fixture, with extra arguments.
fn memory_of(key: &str, args: &[&str]) -> (u64, u64) {
    let dump = fixture("redis-7.0");
    let mut all = vec!["keys", dump.to_str().unwrap(), "--db", "0", "--match", key];
    all.extend_from_slice(args);
    let rows = rows(&rdbscope(&all));
    assert_eq!(rows.len(), 1, "{key}");
    (rows[0][4].parse().unwrap(), rows[0][5].parse().unwrap())
}

/// The redis-7.0-lfu fixture re-creates every key with RESTORE (a load) on Debian's
/// redis-server, which links the system jemalloc: priced that way, every key's memory_bytes
/// is what the server's MEMORY USAGE reported.
#[test]
fn memory_bytes_equal_the_servers_memory_usage() {
    let dump = fixture("redis-7.0-lfu");
    let rows = rows(&rdbscope(&[
        "keys",
        dump.to_str().unwrap(),
        "--allocator",
        "jemalloc-16",
        "--origin",
        "loaded",
    ]));
    let truth: std::collections::HashMap<(String, String), String> =
        csv::Reader::from_path(dump.with_file_name("truth.csv"))
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                ((r[0].to_string(), r[1].to_string()), r[5].to_string())
            })
            .collect();
    assert_eq!(rows.len(), 353);
    for row in &rows {
        let usage = &truth[&(row[0].to_string(), row[1].to_string())];
        assert_eq!(&row[4], usage, "memory_bytes of {}", &row[1]);
        // the main dict bucket, plus the expires entry and bucket for a key with a TTL
        let overhead = if row[9].is_empty() { "8" } else { "48" };
        assert_eq!(&row[5], overhead, "overhead_bytes of {}", &row[1]);
    }
}

#[test]
fn target_allocator_and_config_change_the_numbers() {
    // str:len:045 is RAW: key sds J(13) + dictEntry 24 + robj 16 + sds J(49)
    assert_eq!(memory_of("str:len:045", &[]), (16 + 24 + 16 + 56, 8));
    assert_eq!(
        memory_of("str:len:045", &["--allocator", "jemalloc-16"]).0,
        120
    );
    assert_eq!(
        memory_of("str:len:045", &["--allocator", "libc"]).0,
        24 + 24 + 16 + 56
    );
    // str:len:040 is EMBSTR: one J(16 + 3 + 40 + 1) block on 7.x, `len + 18` unrounded on 6.2
    assert_eq!(memory_of("str:len:040", &[]).0, 16 + 24 + 64);
    assert_eq!(
        memory_of("str:len:040", &["--target", "6.2"]).0,
        16 + 24 + 58
    );
    // Redis 7.0 in cluster mode adds 16 bytes of dictEntry metadata per key, 7.2 adds 8
    let dir = temp_dir("conf");
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, "# cluster\ncluster-enabled yes\n").unwrap();
    let conf = conf.to_str().unwrap();
    assert_eq!(
        memory_of("str:len:040", &["--config", conf]).0,
        16 + 24 + 64 + 16
    );
    assert_eq!(
        memory_of("str:len:040", &["--config", conf, "--target", "7.2"]).0,
        16 + 24 + 64 + 8
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_model_options_are_usage_errors_with_the_line() {
    let dump = fixture("redis-7.0");
    let d = dump.to_str().unwrap();
    let dir = temp_dir("badconf");
    let conf = dir.join("redis.conf");
    std::fs::write(
        &conf,
        "port 6379\nhash-max-listpack-entries 128\nmaxmemory lots\n",
    )
    .unwrap();
    let out = rdbscope(&["keys", d, "--config", conf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redis.conf:3: maxmemory: `lots`"), "{err}");
    assert!(out.stdout.is_empty());
    let missing = rdbscope(&[
        "keys",
        d,
        "--config",
        dir.join("none.conf").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let target = rdbscope(&["keys", d, "--target", "redis-seven"]);
    assert_eq!(target.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&target.stderr).contains("--target redis-seven"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn filters_by_db_type_and_glob() {
    let dump = fixture("redis-7.0");
    let d = dump.to_str().unwrap();
    let db15 = rows(&rdbscope(&["keys", d, "--db", "15"]));
    assert_eq!(db15.len(), 6);
    assert!(db15.iter().all(|r| &r[0] == "15"));
    let two = rows(&rdbscope(&["keys", d, "--db", "15", "--db", "1"]));
    assert_eq!(two.len(), 306);
    let sets_and_zsets = rows(&rdbscope(&["keys", d, "--type", "set", "--type", "zset"]));
    assert_eq!(sets_and_zsets.len(), 37 + 20);
    assert!(
        sets_and_zsets
            .iter()
            .all(|r| &r[2] == "set" || &r[2] == "zset")
    );
    let streams = rows(&rdbscope(&[
        "keys", d, "--match", "*stream*", "--type", "stream",
    ]));
    assert!(
        !streams.is_empty()
            && streams
                .iter()
                .all(|r| r[1].contains("stream") && &r[2] == "stream")
    );
    let lengths = rows(&rdbscope(&["keys", d, "--match", "str:len:0[0-4]?"]));
    assert_eq!(lengths.len(), 50);
}

#[test]
fn non_utf8_keys_are_escaped() {
    let rows = rows(&rdbscope(&["keys", fixture("redis-7.0").to_str().unwrap()]));
    assert!(
        rows.iter().any(|r| r[1].contains("\\xff")),
        "no escaped byte in any key"
    );
    assert!(
        rows.iter().any(|r| r[1].contains("caf\u{e9}")),
        "UTF-8 keys stay as they are"
    );
}

#[test]
fn output_file_is_complete_or_absent() {
    let dir = temp_dir("out");
    let out = dir.join("keys.csv");
    let ok = rdbscope(&[
        "keys",
        fixture("redis-6.2").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok.status.success());
    assert!(ok.stdout.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.lines().next(), Some(HEADER));
    assert!(written.ends_with('\n'));

    let data = std::fs::read(fixture("redis-6.2")).unwrap();
    let broken = dir.join("broken.rdb");
    std::fs::write(&broken, &data[..data.len() - 100]).unwrap();
    let failed = rdbscope(&[
        "keys",
        broken.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        written,
        "existing report was touched"
    );
    let fresh = dir.join("fresh.csv");
    rdbscope(&[
        "keys",
        broken.to_str().unwrap(),
        "-o",
        fresh.to_str().unwrap(),
    ]);
    assert!(!fresh.exists());
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["broken.rdb", "keys.csv"],
        "temporary files left behind"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A `--target` release without the dump's encoding (a listpack priced as Redis 6.2, hash
/// field TTLs before 7.4) prices what that release would load, never fails.
#[test]
fn every_target_prices_every_fixture() {
    for target in [
        "6.2",
        "7.0",
        "7.2",
        "7.4",
        "8.0",
        "valkey-8.0",
        "valkey-8.1",
        "valkey-9.0",
    ] {
        for dump in common::fixture_dumps() {
            let out = rdbscope(&["keys", dump.to_str().unwrap(), "--target", target]);
            assert!(
                out.status.success(),
                "--target {target} {}: {}",
                dump.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The 7.0 dump's listpack hash as 6.2 holds it: a ziplist of the same elements.
    let dump = fixture("redis-7.0");
    let row = |target: &str| -> Vec<String> {
        let out = rdbscope(&[
            "keys",
            dump.to_str().unwrap(),
            "--target",
            target,
            "--match",
            "hash:small",
        ]);
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let (as_62, as_70) = (row("6.2"), row("7.0"));
    assert_eq!(
        as_62[3], "listpack",
        "the encoding column stays what the dump holds"
    );
    let (m62, m70): (u64, u64) = (as_62[4].parse().unwrap(), as_70[4].parse().unwrap());
    assert!(m62 > 0 && m62 != m70, "6.2 {m62} vs 7.0 {m70}");
}

#[test]
fn unwritable_destinations_fail_before_reading_and_leave_nothing() {
    let dir = temp_dir("unwritable");
    let dump = fixture("redis-6.2");
    let not_a_dir = dir.join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    for dest in [
        not_a_dir.join("keys.csv"),
        dir.join("missing").join("keys.csv"),
    ] {
        let out = rdbscope(&["keys", dump.to_str().unwrap(), "-o", dest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", dest.display());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("rdbscope: ") && err.contains(".keys.csv.rdbscope-"),
            "{err}"
        );
    }
    assert_eq!(common::listing(&dir), ["file"]);
    assert_eq!(std::fs::read(&not_a_dir).unwrap(), b"x");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Ctrl-C while the report is being written: the temporary file goes, the old report stays.
/// The input is a FIFO that nobody writes to yet, so the run is reliably caught with its
/// output file open (it is created before the input is opened).
#[test]
fn interrupted_runs_leave_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let dir = temp_dir("sigint");
    let fifo = dir.join("dump.fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a plain libc call with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let out = dir.join("keys.csv");
    std::fs::write(&out, "old report\n").unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rdbscope"))
        .args(["keys", fifo.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while common::listing(&dir).len() < 3 {
        assert!(
            started.elapsed().as_secs() < 20,
            "no temporary file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        common::listing(&dir)
            .iter()
            .any(|n| n.starts_with(".keys.csv.rdbscope-"))
    );
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.signal(), Some(libc::SIGINT));
    assert_eq!(common::listing(&dir), ["dump.fifo", "keys.csv"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old report\n");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keep_going_output_is_renamed_into_place_with_every_key_before_the_damage() {
    let dir = temp_dir("partial-out");
    let data = std::fs::read(fixture("redis-6.2")).unwrap();
    let broken = dir.join("broken.rdb");
    std::fs::write(&broken, &data[..data.len() - 100]).unwrap();
    let out = dir.join("keys.csv");
    let run = rdbscope(&[
        "keys",
        broken.to_str().unwrap(),
        "--keep-going",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(3));
    let full = rdbscope(&["keys", fixture("redis-6.2").to_str().unwrap()]);
    let full = String::from_utf8(full.stdout).unwrap();
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(full.starts_with(&written) && written.lines().count() > 100);
    assert_eq!(common::listing(&dir), ["broken.rdb", "keys.csv"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--rdbtools` keeps redis-rdb-tools' memory CSV: its header, `sortedset`, an ISO expiry,
/// and the same sizes as the native columns.
#[test]
fn rdbtools_columns() {
    let dump = fixture("redis-7.0");
    let tools = rows_under(
        &rdbscope(&["keys", "--rdbtools", dump.to_str().unwrap()]),
        "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry",
    );
    let native = rows(&rdbscope(&["keys", dump.to_str().unwrap()]));
    assert_eq!(tools.len(), native.len());
    for (r, n) in tools.iter().zip(&native) {
        assert_eq!(r[2], n[1], "same key order");
        assert_eq!(r[3], n[4], "size_in_bytes is memory_bytes");
        assert_eq!(r[5], n[7]);
        let expected_type = if &n[2] == "zset" { "sortedset" } else { &n[2] };
        assert_eq!(&r[1], expected_type);
        match n[9].parse::<i64>() {
            Ok(ms) => {
                assert_eq!(r[7].len(), 26, "{}", &r[7]);
                assert!(r[7].ends_with(&format!("{:03}000", ms % 1000)), "{}", &r[7]);
            }
            Err(_) => assert!(r[7].is_empty()),
        }
    }
}

/// `-o /dev/null` (or a FIFO) is written in place: renaming a temporary file over it would
/// replace the device when run as root.
#[test]
fn output_to_a_device_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dump = fixture("redis-7.0");
    let out = rdbscope(&["keys", dump.to_str().unwrap(), "-o", "/dev/null"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is still a device"
    );
}
