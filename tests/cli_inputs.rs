//! What every subcommand accepts as its input: compressed dumps and stdin give exactly the
//! results of the plain file, AOF shapes lead to their RDB or are explained, and everything
//! else gets one line saying what it is.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{fixture, listing, rdbscope, rdbscope_with_stdin, string_record, temp_dir};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> &Output {
    assert!(out.status.success(), "{}", stderr(out));
    out
}

/// `info --format json` without the `file` field, which names what was given.
fn info_json(out: &Output) -> serde_json::Value {
    let mut doc: serde_json::Value = serde_json::from_slice(&succeeded(out).stdout).unwrap();
    doc.as_object_mut().unwrap().remove("file");
    doc
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Compressed {
    dir: PathBuf,
    plain: PathBuf,
    data: Vec<u8>,
}

fn compressed_copies(tag: &str, fixture_name: &str) -> Compressed {
    let dir = temp_dir(tag);
    let plain = fixture(fixture_name);
    let data = std::fs::read(&plain).unwrap();
    std::fs::write(dir.join("dump.rdb.gz"), gzip(&data)).unwrap();
    std::fs::write(dir.join("dump.rdb.zst"), zstd(&data)).unwrap();
    // Named without a hint: the magic bytes decide.
    std::fs::write(dir.join("backup-monday"), gzip(&data)).unwrap();
    std::fs::create_dir(dir.join("tmp")).unwrap();
    Compressed { dir, plain, data }
}

#[test]
fn compressed_dumps_give_the_plain_files_results() {
    for name in ["redis-7.0", "valkey-9.1"] {
        let c = compressed_copies(&format!("compressed-{name}"), name);
        let tmp = c.dir.join("tmp");
        let plain_info = info_json(&rdbscope(&["info", s(&c.plain), "--format", "json"]));
        let plain_keys = succeeded(&rdbscope(&["keys", s(&c.plain)])).stdout.clone();
        assert!(plain_keys.len() > 10_000);
        for file in ["dump.rdb.gz", "dump.rdb.zst", "backup-monday"] {
            let path = c.dir.join(file);
            let args = ["--temp-dir", s(&tmp)];
            let info = rdbscope(&[&["info", s(&path), "--format", "json"], &args[..]].concat());
            assert_eq!(info_json(&info), plain_info, "{name} {file}");
            let note = stderr(&info);
            assert!(
                note.contains("-compressed: decompressing it to an unnamed temporary file in")
                    && note.contains(s(&tmp))
                    && note.contains("removed on exit"),
                "{note}"
            );
            let keys = rdbscope(&[&["keys", s(&path), "-q"], &args[..]].concat());
            assert_eq!(succeeded(&keys).stdout, plain_keys, "{name} {file}");
            assert_eq!(stderr(&keys), "", "--quiet");
            assert!(
                listing(&tmp).is_empty(),
                "left in the temp dir: {:?}",
                listing(&tmp)
            );
        }
        std::fs::remove_dir_all(&c.dir).unwrap();
    }
}

#[test]
fn stdin_gives_the_plain_files_results() {
    let c = compressed_copies("stdin", "redis-6.2");
    let plain_info = info_json(&rdbscope(&["info", s(&c.plain), "--format", "json"]));
    let piped = rdbscope_with_stdin(&["info", "-", "--format", "json"], &c.data);
    assert_eq!(info_json(&piped), plain_info);
    assert!(stderr(&piped).contains("reading <stdin> to an unnamed temporary file"));
    let gz = std::fs::read(c.dir.join("dump.rdb.gz")).unwrap();
    let piped_gz = rdbscope_with_stdin(&["info", "-", "--format", "json"], &gz);
    assert_eq!(info_json(&piped_gz), plain_info);
    assert!(stderr(&piped_gz).contains("<stdin> is gzip-compressed"));
    // A redirected regular file is mapped in place: no copy, no note.
    let redirected = std::process::Command::new(env!("CARGO_BIN_EXE_rdbscope"))
        .args(["info", "-", "--format", "json"])
        .stdin(Stdio::from(std::fs::File::open(&c.plain).unwrap()))
        .output()
        .unwrap();
    assert_eq!(info_json(&redirected), plain_info);
    assert_eq!(stderr(&redirected), "");
    // Refused from its first bytes, before anything is copied: no note.
    let garbage = rdbscope_with_stdin(&["info", "-"], b"hello world");
    assert_eq!(garbage.status.code(), Some(1));
    assert_eq!(
        stderr(&garbage),
        "rdbscope: <stdin>: at byte 0: not an RDB file (no REDIS or VALKEY header)\n"
    );
    let empty = rdbscope_with_stdin(&["info", "-"], b"");
    assert_eq!(empty.status.code(), Some(1));
    assert_eq!(stderr(&empty), "rdbscope: <stdin> is empty (0 bytes)\n");
    std::fs::remove_dir_all(&c.dir).unwrap();
}

#[test]
fn temporary_space_is_bounded() {
    let c = compressed_copies("bounded", "redis-7.0");
    let gz = c.dir.join("dump.rdb.gz");
    let tmp = c.dir.join("tmp");
    let out = rdbscope(&[
        "info",
        s(&gz),
        "--max-temp-size",
        "100K",
        "--temp-dir",
        s(&tmp),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("dump.rdb.gz needs more than 100.0 KiB of temporary space in")
            && err.contains("--max-temp-size"),
        "{err}"
    );
    assert!(listing(&tmp).is_empty());
    // The fixture decompresses to 4435139 bytes: a limit of exactly that is enough.
    let exact = rdbscope(&["info", s(&gz), "-q", "--max-temp-size", "4435139"]);
    succeeded(&exact);
    let missing = rdbscope(&["info", s(&gz), "--temp-dir", s(&c.dir.join("missing"))]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("cannot use the temporary directory"),
        "{}",
        stderr(&missing)
    );
    let usage = rdbscope(&["info", s(&gz), "--max-temp-size", "lots"]);
    assert_eq!(usage.status.code(), Some(2));
    std::fs::remove_dir_all(&c.dir).unwrap();
}

#[test]
fn damaged_compressed_data_is_an_error_or_with_keep_going_damage() {
    let c = compressed_copies("damaged-gz", "redis-7.0");
    let gz = std::fs::read(c.dir.join("dump.rdb.gz")).unwrap();
    let cut = c.dir.join("cut.rdb.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let out = rdbscope(&["info", s(&cut), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cut.rdb.gz: the gzip data is damaged after "),
        "{err}"
    );
    let kept = rdbscope(&["info", s(&cut), "-q", "--keep-going", "--format", "json"]);
    assert_eq!(kept.status.code(), Some(3), "{}", stderr(&kept));
    let doc: serde_json::Value = serde_json::from_slice(&kept.stdout).unwrap();
    assert_eq!(doc["complete"], false);
    assert!(
        doc["damage"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("truncated:")
    );
    assert!(doc["keys"].as_u64().unwrap() > 0);
    let err = stderr(&kept);
    assert!(
        err.contains("warning: ") && err.contains("the gzip data is damaged"),
        "{err}"
    );
    std::fs::remove_dir_all(&c.dir).unwrap();
}

#[test]
fn rdb_preamble_aof_is_analysed_as_its_rdb() {
    let dir = temp_dir("preamble");
    let plain = fixture("redis-7.0");
    let mut data = std::fs::read(&plain).unwrap();
    let commands = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    data.extend_from_slice(commands);
    let aof = dir.join("appendonly.aof");
    std::fs::write(&aof, &data).unwrap();
    let mut doc = info_json(&rdbscope(&["info", s(&aof), "--format", "json"]));
    let plain_doc = info_json(&rdbscope(&["info", s(&plain), "--format", "json"]));
    assert_eq!(doc["checksum"], plain_doc["checksum"]);
    assert_eq!(doc["checksum"]["status"], "valid");
    assert_eq!(doc["trailing_bytes"], commands.len());
    assert_eq!(doc["aof_preamble"], true);
    assert_eq!(plain_doc["aof_preamble"], false);
    for field in ["file_bytes", "trailing_bytes", "aof_preamble"] {
        doc[field] = plain_doc[field].clone();
    }
    assert_eq!(doc, plain_doc);
    let table = rdbscope(&["info", s(&aof)]);
    let text = String::from_utf8(succeeded(&table).stdout.clone()).unwrap();
    assert!(
        text.contains(&format!(
            "trailing     {} bytes of AOF commands after the RDB preamble (not analysed)",
            commands.len()
        )),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Redis 7 data directory: `dump.rdb`, and `appendonlydir/` with a manifest, a base and
/// two incremental files.
fn multi_part_aof(tag: &str, base_name: &str, base: &[u8]) -> PathBuf {
    let data_dir = temp_dir(tag);
    let dir = data_dir.join("appendonlydir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(base_name), base).unwrap();
    let incr = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
    std::fs::write(dir.join("appendonly.aof.1.incr.aof"), incr).unwrap();
    std::fs::write(dir.join("appendonly.aof.2.incr.aof"), incr).unwrap();
    let manifest = format!(
        "file {base_name} seq 2 type b\n\
         file appendonly.aof.1.incr.aof seq 1 type i\n\
         file appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    std::fs::write(dir.join("appendonly.aof.manifest"), manifest).unwrap();
    data_dir
}

#[test]
fn multi_part_aof_directory_is_analysed_through_its_base_rdb() {
    let plain = fixture("redis-7.0");
    let data = std::fs::read(&plain).unwrap();
    let data_dir = multi_part_aof("multipart", "appendonly.aof.2.base.rdb", &data);
    let dir = data_dir.join("appendonlydir");
    let plain_keys = succeeded(&rdbscope(&["keys", s(&plain)])).stdout.clone();
    let out = rdbscope(&["keys", s(&dir)]);
    assert_eq!(succeeded(&out).stdout, plain_keys);
    assert_eq!(
        stderr(&out),
        format!(
            "rdbscope: {} is a multi-part AOF: analysing its base snapshot \
             appendonly.aof.2.base.rdb (2 incremental command files after it not included)\n",
            dir.display()
        )
    );
    let manifest = dir.join("appendonly.aof.manifest");
    let out = rdbscope(&["keys", s(&manifest), "-q"]);
    assert_eq!(succeeded(&out).stdout, plain_keys);
    assert_eq!(stderr(&out), "");
    // The data directory itself: pointed to what is inside.
    let out = rdbscope(&["info", s(&data_dir)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "rdbscope: {} is a directory; give the dump file inside it, or its AOF directory \
             {}\n",
            data_dir.display(),
            dir.display()
        )
    );
    std::fs::write(data_dir.join("dump.rdb"), &data).unwrap();
    let out = rdbscope(&["info", s(&data_dir)]);
    assert!(
        stderr(&out).contains(&format!("e.g. {}", data_dir.join("dump.rdb").display())),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&data_dir).unwrap();
}

#[test]
fn aof_without_rdb_is_explained() {
    let commands = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
    let data_dir = multi_part_aof("aofbase", "appendonly.aof.1.base.aof", commands);
    let dir = data_dir.join("appendonlydir");
    let out = rdbscope(&["info", s(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("has an AOF base, appendonly.aof.1.base.aof (commands, no RDB snapshot"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // A manifest that names itself as the base is not followed round in circles.
    let manifest = dir.join("appendonly.aof.manifest");
    std::fs::write(&manifest, "file appendonly.aof.manifest seq 1 type b\n").unwrap();
    let out = rdbscope(&["info", s(&manifest)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "rdbscope: {} names appendonly.aof.manifest as the AOF base, which is not an RDB \
             file\n",
            manifest.display()
        )
    );
    let single = dir.join("appendonly.aof.1.incr.aof");
    let out = rdbscope(&["info", s(&single)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is an append-only file (Redis commands, no RDB snapshot"));
    std::fs::remove_dir_all(&data_dir).unwrap();
}

#[test]
fn other_shapes_get_one_line() {
    let dir = temp_dir("shapes");
    let mut tar = vec![0u8; 1024];
    tar[257..262].copy_from_slice(b"ustar");
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "d.rdb.xz",
            b"\xfd7zXZ\x00\x00".to_vec(),
            "is xz-compressed; rdbscope reads gzip and zstd",
        ),
        ("d.rdb.bz2", b"BZh91AY&SY".to_vec(), "is bzip2-compressed"),
        (
            "d.tar",
            tar,
            "is a tar archive; extract the dump from it first",
        ),
        (
            "capture.rdb",
            b"$EOF:0123456789\r\nREDIS0011".to_vec(),
            "replication stream capture",
        ),
        (
            "random.bin",
            b"hello world".to_vec(),
            "not an RDB file (no REDIS or VALKEY header)",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = rdbscope(&["info", s(&path)]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = stderr(&out);
        assert!(
            err.contains(expected) && err.lines().count() == 1,
            "{name}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn newer_format_versions_are_refused_by_name() {
    let dir = temp_dir("newer");
    for (header, named) in [("REDIS0014", "REDIS 14"), ("VALKEY081", "VALKEY 81")] {
        let path = dir.join(format!("{header}.rdb"));
        let mut data = common::dump_with(b"");
        data[..9].copy_from_slice(header.as_bytes());
        std::fs::write(&path, data).unwrap();
        let out = rdbscope(&["info", s(&path)]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            format!(
                "rdbscope: {}: at byte 5: unsupported RDB format version {named}, written by a \
                 newer server than this build knows (it reads REDIS 1 to 13 and VALKEY 80)\n",
                path.display()
            )
        );
        // --keep-going cannot analyse around a header it does not understand.
        let out = rdbscope(&["info", s(&path), "--keep-going"]);
        assert_eq!(out.status.code(), Some(1));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A dump truncated by another process while rdbscope has it mapped: the run ends with a
/// message and exit code 1, not a crash. rdbscope is held mid-scan by not reading its
/// output; then the file is cut to half and the output drained.
#[test]
fn a_dump_truncated_while_mapped_is_reported_not_a_crash() {
    use std::io::Read;
    let dir = temp_dir("shrinking");
    let body: Vec<u8> = (0..100_000)
        .flat_map(|i| string_record(format!("key:{i:06}").as_bytes(), b"value"))
        .collect();
    let data = common::dump_with(&body);
    let path = dir.join("dump.rdb");
    std::fs::write(&path, &data).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rdbscope"))
        .args(["keys", s(&path), "--threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&maps)
        .unwrap_or_default()
        .contains(s(&path))
    {
        assert!(
            started.elapsed().as_secs() < 20,
            "the dump was never mapped"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Let it fill the output pipe and stall.
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(data.len() as u64 / 2)
        .unwrap();
    let mut csv = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut csv).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the input could not be read (SIGBUS): the file shrank while being read")
            || err.contains("dump.rdb changed while being read (its size went from"),
        "{err}"
    );
    assert!(
        csv.len() < 100_000 * 30,
        "it did not finish: {} bytes",
        csv.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
