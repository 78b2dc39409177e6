//! Live-server round trip: start a private `redis-server`, fill it with a seeded dataset
//! covering every type and encoding boundary, record what the server itself reports for each
//! key, `SAVE`, and check that rdbscope's parser (and the built binary) read the dump back to
//! the same facts.
//!
//! Skipped (and passing) where `redis-server` is not on the PATH, unless
//! `RDBSCOPE_REQUIRE_LIVE=1`, which turns a missing or too old server into a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

mod common;

use common::live::{
    Client, Cmd, Reply, Server, cmd, expect_ok, find_on_path, server_version, shown, skip_or_fail,
};
use rdbscope::rdb::records::verify_checksum;
use rdbscope::rdb::{Checksum, Context, Entry, Item, Records, Scratch, escape_key, inspect};

/// 2100-01-01T00:00:00Z in ms: the base of every TTL, so expiries are fixed absolute values.
const FAR_FUTURE_MS: i64 = 4_102_444_800_000;
const DBS: [u64; 3] = [0, 3, 9];
const TEST: &str = "live_server_round_trip";
const LIBRARY: &str = "rdbscope_live";

#[test]
fn live_server_round_trip() {
    let Some(server_bin) = find_on_path("redis-server") else {
        skip_or_fail(TEST, "redis-server was not found on the PATH");
        return;
    };
    let started = Instant::now();
    let server = Server::start(&server_bin, &[], None);
    let mut client = server.client();

    let version = server_version(&mut client);
    if version < (7, 0) {
        skip_or_fail(
            TEST,
            &format!(
                "{} is Redis {}.{}, this test needs 7.0+ (PEXPIRETIME, FUNCTION LOAD)",
                server_bin.display(),
                version.0,
                version.1
            ),
        );
        return;
    }

    let expected = populate(&mut client);
    let truth = gather_truth(&mut client);
    let total = dbsize_total(&mut client);
    assert_eq!(
        truth.len() as u64,
        total,
        "SCAN found a different number of keys than DBSIZE reports"
    );
    assert!(total >= 2000, "dataset too small: {total} keys");
    let coverage = check_coverage(&truth);

    expect_ok(&client.call(&cmd!("SAVE")), "SAVE");
    let dump_path = server.dir.path().join("dump.rdb");
    let bytes = fs::read(&dump_path).expect("read dump.rdb after SAVE");

    let parsed = parse_dump(&bytes, &expected);
    report_differences("parsed dump", &diff(&truth, &parsed));

    check_binary(&dump_path, &truth, total);

    let _ = writeln!(
        std::io::stderr(),
        "live_server: Redis {}.{}, {total} keys in dbs {DBS:?}, {} byte dump, all facts match ({:.1?})\n  {coverage}",
        version.0,
        version.1,
        bytes.len(),
        started.elapsed()
    );
}

/// Fails if the dataset no longer reaches every Redis 7.0 encoding, or the dbs it should
/// fill; returns a one-line census of (type/encoding: keys).
fn check_coverage(truth: &Facts) -> String {
    let mut census: BTreeMap<(String, String), u64> = BTreeMap::new();
    for facts in truth.values() {
        *census
            .entry((facts.key_type.clone(), facts.encoding.clone()))
            .or_default() += 1;
    }
    let wanted = [
        ("string", "int"),
        ("string", "embstr"),
        ("string", "raw"),
        ("list", "quicklist"),
        ("set", "intset"),
        ("set", "hashtable"),
        ("zset", "listpack"),
        ("zset", "skiplist"),
        ("hash", "listpack"),
        ("hash", "hashtable"),
        ("stream", "stream"),
    ];
    for (t, e) in wanted {
        assert!(
            census.contains_key(&(t.to_string(), e.to_string())),
            "the dataset has no {t} key with encoding {e}: {census:?}"
        );
    }
    let dbs: BTreeSet<u64> = truth.keys().map(|(db, _)| *db).collect();
    assert_eq!(dbs, BTreeSet::from(DBS), "databases holding keys");
    let expiring = truth.values().filter(|f| f.expire_at_ms.is_some()).count();
    assert!(expiring > 100, "only {expiring} keys with a TTL");
    let parts: Vec<String> = census
        .iter()
        .map(|((t, e), n)| format!("{t}/{e}={n}"))
        .collect();
    format!("{} (with TTL: {expiring})", parts.join(" "))
}

// ---------------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------------

/// splitmix64: a tiny seeded generator, so every run builds the same dataset.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn alnum(&mut self, len: usize) -> Vec<u8> {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize])
            .collect()
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Integers of every width: 7-bit to full 64-bit, either sign.
    fn int(&mut self) -> i64 {
        (self.next() as i64) >> self.below(64)
    }

    /// A short element: an integer, text, or (rarely) binary bytes.
    fn element(&mut self, max_len: usize) -> Vec<u8> {
        match self.below(10) {
            0..=2 => self.int().to_string().into_bytes(),
            3 => {
                let len = 1 + self.below(max_len as u64) as usize;
                self.bytes(len)
            }
            _ => {
                let len = self.below(max_len as u64 + 1) as usize;
                self.alnum(len)
            }
        }
    }
}

/// Facts about the dataset that the server cannot report but the dump must show.
struct Expected {
    /// The stream whose XDELs leave every node partly alive, so its dump marks exactly this
    /// many entries deleted.
    stream_key: Vec<u8>,
    stream_deleted: u64,
}

/// Builds one database's batch of commands at a time and sends it as a pipeline.
/// The server's encoding thresholds, read with CONFIG GET so the dataset straddles the limits
/// the server actually applies (Redis' shipped defaults: hashes 512 entries, zsets 128, both
/// 64-byte values, intsets 512).
struct Limits {
    set_intset_entries: u64,
    zset_entries: u64,
    zset_value: usize,
    hash_entries: u64,
    hash_value: usize,
}

impl Limits {
    fn read(client: &mut Client) -> Limits {
        let mut get = |name: &str| -> u64 {
            let reply = client.run(&[cmd!("CONFIG", "GET", name)]);
            let pair = reply[0].array();
            assert_eq!(pair.len(), 2, "CONFIG GET {name}: {pair:?}");
            pair[1].text().parse().expect("numeric config value")
        };
        Limits {
            set_intset_entries: get("set-max-intset-entries"),
            zset_entries: get("zset-max-listpack-entries"),
            zset_value: get("zset-max-listpack-value") as usize,
            hash_entries: get("hash-max-listpack-entries"),
            hash_value: get("hash-max-listpack-value") as usize,
        }
    }
}

struct Loader<'c> {
    client: &'c mut Client,
    limits: Limits,
    rng: Rng,
    batch: Vec<Cmd>,
    /// Counts keys given a TTL, so expiries are distinct absolute values.
    ttl_seq: i64,
}

impl Loader<'_> {
    fn push(&mut self, command: Cmd) {
        self.batch.push(command);
        if self.batch.len() >= 500 {
            self.flush();
        }
    }

    fn flush(&mut self) -> Vec<Reply> {
        let batch = std::mem::take(&mut self.batch);
        self.client.run(&batch)
    }

    fn select(&mut self, db: u64) {
        self.push(cmd!("SELECT", db));
    }

    fn expire(&mut self, key: &[u8]) {
        self.ttl_seq += 1;
        let at = FAR_FUTURE_MS + self.ttl_seq * 1_000 + self.ttl_seq % 997;
        self.push(cmd!("PEXPIREAT", key, at));
    }

    fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.push(cmd!("SET", key.as_ref(), value.as_ref()));
    }

    /// A multi-element command, split so no single command is huge.
    fn multi(&mut self, verb: &str, key: &[u8], args: Vec<Vec<u8>>, per_element: usize) {
        for chunk in args.chunks(200 * per_element) {
            let mut command = cmd!(verb, key);
            command.extend(chunk.iter().cloned());
            self.push(command);
        }
    }

    fn list(&mut self, key: &[u8], items: Vec<Vec<u8>>) {
        self.multi("RPUSH", key, items, 1);
    }

    fn set_members(&mut self, key: &[u8], members: Vec<Vec<u8>>) {
        self.multi("SADD", key, members, 1);
    }

    fn zset(&mut self, key: &[u8], members: Vec<(String, Vec<u8>)>) {
        let args = members
            .into_iter()
            .flat_map(|(score, member)| [score.into_bytes(), member])
            .collect();
        self.multi("ZADD", key, args, 2);
    }

    fn hash(&mut self, key: &[u8], fields: Vec<(Vec<u8>, Vec<u8>)>) {
        let args = fields.into_iter().flat_map(|(f, v)| [f, v]).collect();
        self.multi("HSET", key, args, 2);
    }

    fn score(&mut self) -> String {
        match self.rng.below(8) {
            0 => self.rng.int().to_string(),
            1 => (self.rng.below(1000) as i64 - 500).to_string(),
            2 => "inf".into(),
            3 => "-inf".into(),
            _ => format!("{}", (self.rng.next() as i64 as f64) / 1e9),
        }
    }
}

fn populate(client: &mut Client) -> Expected {
    let limits = Limits::read(client);
    let mut l = Loader {
        client,
        limits,
        rng: Rng(0x5eed_2024_0d15_ea5e),
        batch: Vec::new(),
        ttl_seq: 0,
    };

    // ---- db 0: every type, every encoding boundary ----
    l.select(0);
    strings(&mut l);
    lists(&mut l);
    sets(&mut l);
    zsets(&mut l);
    hashes(&mut l);
    let expected = streams(&mut l);
    binary_keys(&mut l);
    l.flush();

    // ---- db 3 and db 9: smaller mixed populations, db 9 mostly expiring ----
    for (db, count, ttl_every) in [(3u64, 400u64, 7u64), (9, 250, 2)] {
        l.select(db);
        for i in 0..count {
            let key = format!("db{db}:{}:{i}", ["s", "l", "S", "z", "h"][(i % 5) as usize]);
            let key = key.as_bytes();
            match i % 5 {
                0 => {
                    let v = l.rng.element(60);
                    l.set(key, v);
                }
                1 => {
                    let items = (0..l.rng.range(1, 30)).map(|_| l.rng.element(30)).collect();
                    l.list(key, items);
                }
                2 => {
                    let members = (0..l.rng.range(1, 30))
                        .map(|_| {
                            if i % 2 == 0 {
                                l.rng.int().to_string().into_bytes()
                            } else {
                                l.rng.element(20)
                            }
                        })
                        .collect();
                    l.set_members(key, members);
                }
                3 => {
                    let members = (0..l.rng.range(1, 30))
                        .map(|_| (l.score(), l.rng.element(30)))
                        .collect();
                    l.zset(key, members);
                }
                _ => {
                    let fields = (0..l.rng.range(1, 30))
                        .map(|_| (l.rng.element(20), l.rng.element(40)))
                        .collect();
                    l.hash(key, fields);
                }
            }
            if i % ttl_every == 0 {
                l.expire(key);
            }
        }
        l.flush();
    }
    l.select(0);
    l.flush();

    // ---- a function library (saved globally, not per db) ----
    let code = format!(
        "#!lua name={LIBRARY}\nredis.register_function('rdbscope_echo', function(keys, args) return args[1] end)"
    );
    let reply = l.client.run(&[cmd!("FUNCTION", "LOAD", code)]);
    assert_eq!(reply[0].bytes(), LIBRARY.as_bytes());
    expected
}

fn strings(l: &mut Loader<'_>) {
    let r = &mut l.rng;
    let fixed: Vec<(&str, Vec<u8>)> = vec![
        ("str:empty", Vec::new()),
        ("str:short", b"hello".to_vec()),
        ("str:44", r.alnum(44)),
        ("str:45", r.alnum(45)),
        ("str:20digits", b"12345678901234567890".to_vec()),
        ("str:21digits", b"123456789012345678901".to_vec()),
        ("str:1k", r.alnum(1024)),
        ("str:100k:compressible", b"rdbscope ".repeat(100 * 1024 / 9)),
        ("str:100k:incompressible", r.bytes(100 * 1024)),
        ("str:binary", vec![0, 0xff, 0xfe, b'\r', b'\n', 0x80]),
        ("str:utf8", "ключ → 値 🚀".as_bytes().to_vec()),
    ];
    let numbers: Vec<String> = [
        0,
        1,
        -1,
        42,
        9999,
        10_000,
        -12345,
        i32::MAX as i64,
        i32::MIN as i64,
        1 << 32,
        -(1 << 40),
        i64::MAX,
        i64::MIN,
        i64::MAX - 1,
        i64::MIN + 1,
    ]
    .iter()
    .map(i64::to_string)
    .chain(
        // Not integers to Redis: leading zeros, signs, spaces, overflow, decimals.
        [
            "007",
            "00",
            "-0",
            "+1",
            " 1",
            "1 ",
            "1.5",
            "0x10",
            "9223372036854775808",
            "-9223372036854775809",
            "-",
            "1e3",
        ]
        .map(String::from),
    )
    .collect();
    for (key, value) in fixed {
        l.set(key, value);
    }
    for (i, n) in numbers.iter().enumerate() {
        l.set(format!("str:num:{i}"), n);
    }
    // The bulk of the keys: small strings of every flavour, lengths around the embstr limit.
    for i in 0..1500u64 {
        let key = format!("str:n:{i:05}");
        let value = match l.rng.below(6) {
            0 => l.rng.int().to_string().into_bytes(),
            1 => {
                let len = l.rng.range(40, 50) as usize;
                l.rng.alnum(len)
            }
            2 => format!("{:0width$}", l.rng.below(1000), width = 4).into_bytes(),
            _ => l.rng.element(70),
        };
        l.set(&key, value);
        if i % 5 == 0 {
            l.expire(key.as_bytes());
        }
    }
    l.expire(b"str:empty");
    l.expire(b"str:100k:incompressible");
    l.expire(b"str:num:11");
}

fn lists(l: &mut Loader<'_>) {
    for i in 0..60u64 {
        let key = format!("list:small:{i}");
        let items = (0..l.rng.range(1, 20)).map(|_| l.rng.element(40)).collect();
        l.list(key.as_bytes(), items);
        if i % 4 == 0 {
            l.expire(key.as_bytes());
        }
    }
    // Several quicklist nodes each (8 KB per node at list-max-listpack-size -2).
    for i in 0..3u64 {
        let key = format!("list:multinode:{i}");
        let items = (0..2000).map(|_| l.rng.element(30)).collect();
        l.list(key.as_bytes(), items);
    }
    let ints = (0..1000)
        .map(|_| l.rng.int().to_string().into_bytes())
        .collect();
    l.list(b"list:ints", ints);
    let big = vec![
        l.rng.alnum(10_000),
        b"x".to_vec(),
        l.rng.bytes(20_000),
        Vec::new(),
    ];
    l.list(b"list:bigelements", big);
    l.expire(b"list:bigelements");
    // Nodes held LZF-compressed in memory are written as they are.
    l.push(cmd!("CONFIG", "SET", "list-compress-depth", "1"));
    let items = (0..3000)
        .map(|i| format!("compressible-{}", i % 50).into_bytes())
        .collect();
    l.list(b"list:compressed", items);
    l.push(cmd!("CONFIG", "SET", "list-compress-depth", "0"));
}

fn sets(l: &mut Loader<'_>) {
    for i in 0..60u64 {
        let key = format!("set:intset:{i}");
        let width = [8u32, 16, 32, 64][(i % 4) as usize];
        let members = (0..l.rng.range(1, 100))
            .map(|_| {
                ((l.rng.next() as i64) >> (64 - width))
                    .to_string()
                    .into_bytes()
            })
            .collect();
        l.set_members(key.as_bytes(), members);
        if i % 3 == 0 {
            l.expire(key.as_bytes());
        }
    }
    let extremes = [i64::MIN, i64::MAX, 0, -1, 1]
        .map(|v| v.to_string().into_bytes())
        .to_vec();
    l.set_members(b"set:intset:extremes", extremes);
    // Exactly at set-max-intset-entries, one over, and well over.
    let limit = l.limits.set_intset_entries;
    for n in [limit, limit + 1, limit + 100] {
        let members = (0..n as i64)
            .map(|v| (v * 3 - 700).to_string().into_bytes())
            .collect();
        l.set_members(format!("set:ints:{n}").as_bytes(), members);
    }
    // A non-canonical integer makes an integer set a hashtable.
    let members = vec![b"1".to_vec(), b"2".to_vec(), b"007".to_vec()];
    l.set_members(b"set:ints:leadingzero", members);
    for i in 0..40u64 {
        let key = format!("set:strings:{i}");
        let members = (0..l.rng.range(1, 40)).map(|_| l.rng.element(30)).collect();
        l.set_members(key.as_bytes(), members);
    }
    for i in 0..2u64 {
        let members = (0..1500)
            .map(|_| {
                let len = l.rng.range(1, 200) as usize;
                l.rng.alnum(len)
            })
            .collect();
        l.set_members(format!("set:strings:big:{i}").as_bytes(), members);
    }
    l.expire(b"set:strings:big:1");
}

fn zsets(l: &mut Loader<'_>) {
    for i in 0..60u64 {
        let key = format!("zset:small:{i}");
        let members = (0..l.rng.range(1, 60))
            .map(|_| (l.score(), l.rng.element(40)))
            .collect();
        l.zset(key.as_bytes(), members);
        if i % 6 == 0 {
            l.expire(key.as_bytes());
        }
    }
    // At and over zset-max-listpack-entries and zset-max-listpack-value.
    let limit = l.limits.zset_entries;
    for n in [limit, limit + 1, 1000.max(limit + 2)] {
        let members = (0..n)
            .map(|j| (l.score(), format!("member-{j}").into_bytes()))
            .collect();
        l.zset(format!("zset:members:{n}").as_bytes(), members);
    }
    let limit = l.limits.zset_value;
    for len in [limit, limit + 1] {
        let members = vec![
            ("1".to_string(), l.rng.alnum(len)),
            ("2".to_string(), b"short".to_vec()),
        ];
        l.zset(format!("zset:memberlen:{len}").as_bytes(), members);
    }
    // Shrunk below the limits after conversion: still a skiplist.
    let members = (0..200)
        .map(|j| (j.to_string(), format!("m{j}").into_bytes()))
        .collect();
    l.zset(b"zset:shrunk", members);
    l.push(cmd!("ZREMRANGEBYRANK", "zset:shrunk", 0, 189));
    l.expire(format!("zset:members:{}", 1000.max(l.limits.zset_entries + 2)).as_bytes());
}

fn hashes(l: &mut Loader<'_>) {
    for i in 0..80u64 {
        let key = format!("hash:small:{i}");
        let fields = (0..l.rng.range(1, 60))
            .map(|_| (l.rng.element(30), l.rng.element(60)))
            .collect();
        l.hash(key.as_bytes(), fields);
        if i % 5 == 0 {
            l.expire(key.as_bytes());
        }
    }
    // At and over hash-max-listpack-entries and hash-max-listpack-value.
    let limit = l.limits.hash_entries;
    for n in [limit, limit + 1, 2000.max(limit + 2)] {
        let fields = (0..n)
            .map(|j| (format!("field-{j}").into_bytes(), l.rng.element(40)))
            .collect();
        l.hash(format!("hash:fields:{n}").as_bytes(), fields);
    }
    let limit = l.limits.hash_value;
    for len in [limit, limit + 1] {
        let value = vec![(b"f".to_vec(), l.rng.alnum(len))];
        l.hash(format!("hash:valuelen:{len}").as_bytes(), value);
        let field = vec![(l.rng.alnum(len), b"v".to_vec())];
        l.hash(format!("hash:fieldlen:{len}").as_bytes(), field);
    }
    let ints = (0..100)
        .map(|_| {
            (
                l.rng.int().to_string().into_bytes(),
                l.rng.int().to_string().into_bytes(),
            )
        })
        .collect();
    l.hash(b"hash:ints", ints);
    l.expire(format!("hash:fields:{}", 2000.max(l.limits.hash_entries + 2)).as_bytes());
}

fn streams(l: &mut Loader<'_>) -> Expected {
    let key = b"stream:events".to_vec();
    let base_ms = 1_700_000_000_000u64;
    for i in 0..300u64 {
        let id = format!("{}-{}", base_ms + i / 3, i % 3);
        let mut command = cmd!("XADD", key, id, "kind", "click", "n", i);
        if i % 10 == 0 {
            // A different field set: not a SAMEFIELDS entry.
            command.extend(cmd!("extra", l.rng.alnum(12)));
        }
        l.push(command);
    }
    l.push(cmd!("XGROUP", "CREATE", key, "g1", "0"));
    l.push(cmd!("XGROUP", "CREATE", key, "g2", "0"));
    l.push(cmd!(
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        20,
        "STREAMS",
        key,
        ">"
    ));
    l.push(cmd!(
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        10,
        "STREAMS",
        key,
        ">"
    ));
    l.push(cmd!(
        "XREADGROUP",
        "GROUP",
        "g2",
        "carol",
        "COUNT",
        5,
        "STREAMS",
        key,
        ">"
    ));
    l.push(cmd!("XGROUP", "CREATECONSUMER", key, "g2", "dave"));
    l.push(cmd!(
        "XACK",
        key,
        "g1",
        format!("{base_ms}-0"),
        format!("{base_ms}-1")
    ));
    // Every 7th entry deleted (some of them pending): no node loses all its entries.
    let mut deleted = 0;
    for i in (3..300u64).step_by(7) {
        let id = format!("{}-{}", base_ms + i / 3, i % 3);
        l.push(cmd!("XDEL", key, id));
        deleted += 1;
    }
    l.expire(&key);

    // A small stream without groups, and empty streams (one made by XDEL, one by MKSTREAM).
    for i in 0..5u64 {
        let value = l.rng.alnum(8);
        l.push(cmd!(
            "XADD",
            "stream:small",
            format!("{}-1", i + 1),
            "v",
            value
        ));
    }
    l.push(cmd!("XADD", "stream:emptied", "5-5", "f", "v"));
    l.push(cmd!("XDEL", "stream:emptied", "5-5"));
    l.push(cmd!(
        "XGROUP",
        "CREATE",
        "stream:mkstream",
        "g",
        "$",
        "MKSTREAM"
    ));
    Expected {
        stream_key: key,
        stream_deleted: deleted,
    }
}

fn binary_keys(l: &mut Loader<'_>) {
    let keys: [&[u8]; 7] = [
        b"\xff\xfe\x00bin",
        b"\x80",
        b"line\r\nbreak",
        b"comma,\"quoted\"",
        b"back\\slash",
        b"\x00",
        "ключ:utf8".as_bytes(),
    ];
    for (i, key) in keys.iter().enumerate() {
        let mut typed = key.to_vec();
        match i % 5 {
            0 => {
                let value = l.rng.bytes(20);
                l.set(&typed, value);
            }
            1 => {
                typed.extend_from_slice(b":list");
                let items = vec![l.rng.bytes(5), l.rng.bytes(70)];
                l.list(&typed, items);
            }
            2 => {
                typed.extend_from_slice(b"\xc0set");
                let members = vec![l.rng.bytes(3), l.rng.bytes(9)];
                l.set_members(&typed, members);
            }
            3 => {
                typed.extend_from_slice(b"\xc1zset");
                let members = vec![("1.25".to_string(), l.rng.bytes(7))];
                l.zset(&typed, members);
            }
            _ => {
                typed.extend_from_slice(b"\xc2hash");
                let fields = vec![(l.rng.bytes(4), l.rng.bytes(4))];
                l.hash(&typed, fields);
            }
        }
        // The plain key as a string too, whatever the typed one is.
        if i % 5 != 0 {
            let value = l.rng.bytes(3);
            l.set(key, value);
        }
        if i % 2 == 0 {
            l.expire(key);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The facts compared
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct KeyFacts {
    key_type: String,
    encoding: String,
    /// LLEN/SCARD/ZCARD/HLEN/XLEN; 1 for strings.
    elements: u64,
    /// STRLEN, for strings only.
    strlen: Option<u64>,
    expire_at_ms: Option<i64>,
    /// Streams only: groups, consumers, pending entries, last id, node count.
    stream: Option<String>,
}

type Facts = BTreeMap<(u64, Vec<u8>), KeyFacts>;

fn stream_summary(groups: u64, consumers: u64, pending: u64, last_id: &str, nodes: u64) -> String {
    format!(
        "groups={groups} consumers={consumers} pending={pending} last_id={last_id} nodes={nodes}"
    )
}

fn dbsize_total(client: &mut Client) -> u64 {
    let mut total = 0;
    for db in 0..16u64 {
        let replies = client.run(&[cmd!("SELECT", db), cmd!("DBSIZE")]);
        total += replies[1].int() as u64;
    }
    client.run(&[cmd!("SELECT", 0)]);
    total
}

/// What the server says about every key, asked before SAVE.
fn gather_truth(client: &mut Client) -> Facts {
    let mut facts = Facts::new();
    for db in 0..16u64 {
        client.run(&[cmd!("SELECT", db)]);
        let mut keys = BTreeSet::new();
        let mut cursor = b"0".to_vec();
        loop {
            let reply = client.call(&cmd!("SCAN", cursor, "COUNT", 1000));
            let parts = reply.array();
            cursor = parts[0].bytes().to_vec();
            keys.extend(parts[1].array().iter().map(|k| k.bytes().to_vec()));
            if cursor == b"0" {
                break;
            }
        }
        let keys: Vec<Vec<u8>> = keys.into_iter().collect();
        for chunk in keys.chunks(500) {
            let types: Vec<String> = client
                .run(&chunk.iter().map(|k| cmd!("TYPE", k)).collect::<Vec<_>>())
                .iter()
                .map(Reply::text)
                .collect();
            let mut commands = Vec::new();
            for (key, key_type) in chunk.iter().zip(&types) {
                let count = match key_type.as_str() {
                    "string" => "STRLEN",
                    "list" => "LLEN",
                    "set" => "SCARD",
                    "zset" => "ZCARD",
                    "hash" => "HLEN",
                    "stream" => "XLEN",
                    other => panic!("unexpected type {other} of {}", shown(key)),
                };
                commands.push(cmd!("OBJECT", "ENCODING", key));
                commands.push(cmd!(count, key));
                commands.push(cmd!("PEXPIRETIME", key));
            }
            let replies = client.run(&commands);
            for ((key, key_type), r) in chunk.iter().zip(types).zip(replies.chunks(3)) {
                let count = r[1].int() as u64;
                let is_string = key_type == "string";
                let stream = (key_type == "stream").then(|| stream_truth(client, key));
                let expire = r[2].int();
                facts.insert(
                    (db, key.clone()),
                    KeyFacts {
                        key_type,
                        encoding: r[0].text(),
                        elements: if is_string { 1 } else { count },
                        strlen: is_string.then_some(count),
                        expire_at_ms: (expire != -1).then_some(expire),
                        stream,
                    },
                );
            }
        }
    }
    client.run(&[cmd!("SELECT", 0)]);
    facts
}

fn stream_truth(client: &mut Client, key: &[u8]) -> String {
    let replies = client.run(&[cmd!("XINFO", "STREAM", key), cmd!("XINFO", "GROUPS", key)]);
    let info = &replies[0];
    let (mut consumers, mut pending) = (0, 0);
    for group in replies[1].array() {
        consumers += group.field("consumers").int() as u64;
        pending += group.field("pending").int() as u64;
    }
    stream_summary(
        replies[1].array().len() as u64,
        consumers,
        pending,
        &info.field("last-generated-id").text(),
        info.field("radix-tree-keys").int() as u64,
    )
}

/// Reads the dump with the library: every key's facts, plus the checks on non-key items.
fn parse_dump(bytes: &[u8], expected: &Expected) -> Facts {
    let mut records = Records::new(bytes).expect("dump header parses");
    let ctx = Context::for_dump(bytes).expect("dump context");
    let mut scratch = Scratch::default();
    let mut facts = Facts::new();
    let mut eof = None;
    let mut libraries = Vec::new();
    for entry in records.by_ref() {
        match entry.expect("dump parses") {
            Entry::Key(record) => {
                let stats = inspect(&record, &ctx, &mut scratch)
                    .unwrap_or_else(|e| panic!("inspect {} failed: {e}", shown(&record.key)));
                let key_type = record.value_type.key_type().as_str().to_string();
                let is_string = key_type == "string";
                let stream = stats.shape.stream.as_ref().map(|s| {
                    stream_summary(
                        s.groups,
                        s.consumers,
                        s.pending,
                        &format!("{}-{}", s.last_id.0, s.last_id.1),
                        stats.shape.nodes,
                    )
                });
                if record.key.starts_with(b"list:multinode") || *record.key == *b"list:compressed" {
                    assert!(
                        stats.shape.nodes > 1,
                        "{} should span several quicklist nodes, parsed {}",
                        shown(&record.key),
                        stats.shape.nodes
                    );
                }
                if record.key.as_ref() == expected.stream_key.as_slice() {
                    let deleted = stats.shape.stream.as_ref().map(|s| s.deleted);
                    assert_eq!(
                        deleted,
                        Some(expected.stream_deleted),
                        "entries marked deleted in {}",
                        shown(&record.key)
                    );
                }
                let previous = facts.insert(
                    (record.db, record.key.to_vec()),
                    KeyFacts {
                        key_type,
                        encoding: stats.encoding().as_str().to_string(),
                        elements: stats.shape.elements,
                        strlen: is_string.then_some(stats.largest_element),
                        expire_at_ms: record.expire_at_ms,
                        stream,
                    },
                );
                assert!(
                    previous.is_none(),
                    "key {} appears twice in db {}",
                    shown(&record.key),
                    record.db
                );
            }
            Entry::Other(Item::Function(code)) => {
                libraries.push(code.to_cow().expect("function code").into_owned());
            }
            Entry::Other(Item::Eof {
                offset,
                checksum,
                trailing_bytes,
            }) => eof = Some((offset, checksum, trailing_bytes)),
            Entry::Other(_) => {}
        }
    }
    let (offset, checksum, trailing) = eof.expect("the dump ends with an EOF item");
    assert_eq!(trailing, 0, "bytes after the checksum");
    assert_eq!(offset as usize + 9, bytes.len(), "EOF opcode position");
    let stored = checksum.expect("Redis 7 dumps carry a CRC-64");
    match verify_checksum(bytes, offset, stored, None) {
        Ok(Checksum::Valid(_)) => {}
        other => panic!("checksum of the saved dump: {other:?}"),
    }
    assert_eq!(libraries.len(), 1, "one function library in the dump");
    let needle = format!("name={LIBRARY}");
    assert!(
        String::from_utf8_lossy(&libraries[0]).contains(&needle),
        "function library code lacks {needle:?}"
    );
    facts
}

/// One disagreement between the server and what rdbscope read.
struct Difference {
    db: u64,
    key: String,
    what: &'static str,
    server: String,
    dump: String,
}

fn diff(truth: &Facts, other: &Facts) -> Vec<Difference> {
    let mut out = Vec::new();
    let show = |v: &dyn fmt::Debug| format!("{v:?}");
    for ((db, key), t) in truth {
        let name = shown(key);
        let Some(o) = other.get(&(*db, key.clone())) else {
            out.push(Difference {
                db: *db,
                key: name,
                what: "presence",
                server: "present".into(),
                dump: "missing".into(),
            });
            continue;
        };
        let fields: [(&'static str, String, String); 6] = [
            ("type", t.key_type.clone(), o.key_type.clone()),
            ("encoding", t.encoding.clone(), o.encoding.clone()),
            ("elements", t.elements.to_string(), o.elements.to_string()),
            ("strlen", show(&t.strlen), show(&o.strlen)),
            ("expire_at_ms", show(&t.expire_at_ms), show(&o.expire_at_ms)),
            ("stream", show(&t.stream), show(&o.stream)),
        ];
        for (what, server, dump) in fields {
            if server != dump {
                out.push(Difference {
                    db: *db,
                    key: name.clone(),
                    what,
                    server,
                    dump,
                });
            }
        }
    }
    for (db, key) in other.keys() {
        if !truth.contains_key(&(*db, key.clone())) {
            out.push(Difference {
                db: *db,
                key: shown(key),
                what: "presence",
                server: "missing".into(),
                dump: "present".into(),
            });
        }
    }
    out
}

fn report_differences(source: &str, differences: &[Difference]) {
    if differences.is_empty() {
        return;
    }
    let mut table = format!(
        "{} difference(s) between the server and the {source}; the first {}:\n{:<3} {:<32} {:<13} {:<40} {}\n",
        differences.len(),
        differences.len().min(20),
        "db",
        "key",
        "what",
        "server",
        "dump"
    );
    for d in differences.iter().take(20) {
        table.push_str(&format!(
            "{:<3} {:<32} {:<13} {:<40} {}\n",
            d.db, d.key, d.what, d.server, d.dump
        ));
    }
    panic!("{table}");
}

// ---------------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------------

fn run_binary(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_rdbscope"))
        .args(args)
        .output()
        .expect("run rdbscope");
    assert!(
        output.status.success(),
        "rdbscope {:?} exited with {}\n--- stderr ---\n{}",
        args,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn check_binary(dump: &Path, truth: &Facts, total: u64) {
    let dump = dump.as_os_str();

    // keys: one CSV row per key, and each row agrees with the server.
    let csv = run_binary(&["keys".as_ref(), dump]);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_slice());
    let headers = reader.headers().expect("CSV header").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column in {headers:?}"))
    };
    let (c_db, c_key, c_type, c_enc, c_elements, c_largest, c_expire) = (
        column("db"),
        column("key"),
        column("type"),
        column("encoding"),
        column("elements"),
        column("largest_element_bytes"),
        column("expires_at_ms"),
    );
    let mut rows = Facts::new();
    let mut row_count = 0u64;
    for row in reader.records() {
        let row = row.expect("CSV row");
        row_count += 1;
        let num = |i: usize| -> u64 { row[i].parse().expect("numeric CSV field") };
        let key_type = row[c_type].to_string();
        let is_string = key_type == "string";
        rows.insert(
            (num(c_db), row[c_key].as_bytes().to_vec()),
            KeyFacts {
                key_type,
                encoding: row[c_enc].to_string(),
                elements: num(c_elements),
                strlen: is_string.then(|| num(c_largest)),
                expire_at_ms: (!row[c_expire].is_empty())
                    .then(|| row[c_expire].parse().expect("numeric expiry")),
                stream: None,
            },
        );
    }
    assert_eq!(row_count, total, "`rdbscope keys` rows vs DBSIZE total");
    // The CSV names keys escaped and has no stream details.
    let truth_as_csv: Facts = truth
        .iter()
        .map(|((db, key), facts)| {
            let facts = KeyFacts {
                stream: None,
                ..facts.clone()
            };
            ((*db, escape_key(key).into_bytes()), facts)
        })
        .collect();
    report_differences("`rdbscope keys` CSV", &diff(&truth_as_csv, &rows));

    // info --format json: the key count and the function library.
    let json = run_binary(&["info".as_ref(), dump, "--format".as_ref(), "json".as_ref()]);
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("info JSON parses");
    assert_eq!(doc["keys"].as_u64(), Some(total), "info JSON \"keys\"");
    assert_eq!(doc["checksum"]["status"], "valid", "info JSON checksum");
    assert_eq!(
        doc["functions"],
        serde_json::json!([LIBRARY]),
        "info JSON functions"
    );
}

/// The server loads a synthetic RDB 9 and RDB 10 dump: every key arrives (DBSIZE over all
/// databases), sampled keys of every type and encoding have the type and encoding the writer
/// intended, and when the server saves the RDB 10 data again, every value whose layout it
/// keeps comes out byte for byte as the writer wrote it (LZF, listpacks, intsets, quicklist
/// nodes, streams, skiplists in score order).
#[test]
fn synthetic_dumps_load_into_the_server() {
    use common::live::TempDir;
    use rdbscope::rdb::{Encoding, Header, KeyType, Magic};
    use rdbscope::synth::mix::{self, MixConfig, Shape};
    use std::time::{SystemTime, UNIX_EPOCH};

    const TEST: &str = "synthetic_dumps_load_into_the_server";
    let Some(server_bin) = find_on_path("redis-server") else {
        skip_or_fail(TEST, "redis-server was not found on the PATH");
        return;
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    for version in [9, 10] {
        let config = MixConfig::new(Header::new(Magic::Redis, version), Shape::Mixed, 11, now_ms);
        let (dump, summary) = mix::generate(&config, 6 << 20);
        let staging = TempDir::new();
        let dump_path = staging.path().join("synthetic.rdb");
        fs::write(&dump_path, &dump).expect("write the synthetic dump");
        let server = Server::start(&server_bin, &[], Some(&dump_path));
        let mut client = server.client();
        let server_version = server_version(&mut client);
        if server_version < (7, 0) {
            skip_or_fail(TEST, "this test needs Redis 7.0+ to load RDB 10");
            return;
        }
        assert_eq!(
            dbsize_total(&mut client),
            summary.keys,
            "RDB {version}: keys loaded vs keys written"
        );
        let mut checked = BTreeSet::new();
        for sample in &summary.samples {
            let replies = client.run(&[
                cmd!("SELECT", sample.db),
                cmd!("TYPE", sample.key),
                cmd!("OBJECT", "ENCODING", sample.key),
            ]);
            // Redis 7 converts the ziplists of older dumps to listpacks as it loads them.
            let encoding = match sample.encoding {
                Encoding::Ziplist if sample.key_type != KeyType::List => Encoding::Listpack,
                e => e,
            };
            let key = shown(&sample.key);
            assert_eq!(replies[1].text(), sample.key_type.as_str(), "type of {key}");
            assert_eq!(replies[2].text(), encoding.as_str(), "RDB {version}: {key}");
            checked.insert((sample.key_type, sample.encoding));
        }
        assert!(
            checked.len() >= 10,
            "RDB {version}: only {checked:?} spot-checked"
        );
        if version == 10 {
            expect_ok(&client.call(&cmd!("SAVE")), "SAVE");
            let saved = fs::read(server.dir.path().join("dump.rdb")).expect("read the saved dump");
            compare_payloads(&dump, &saved);
        }
    }
}

/// Every key's value bytes in a dump, by database and key, with its type byte.
fn payloads(dump: &[u8]) -> BTreeMap<(u64, Vec<u8>), (u8, Vec<u8>)> {
    Records::new(dump)
        .expect("dump header parses")
        .filter_map(|entry| match entry.expect("dump parses") {
            Entry::Key(r) => Some(((r.db, r.key.to_vec()), (r.type_byte, r.payload.to_vec()))),
            Entry::Other(_) => None,
        })
        .collect()
}

/// Values the server re-saves must equal the written ones, except hashtable-encoded sets and
/// hashes, whose element order is the server's hash order.
fn compare_payloads(written: &[u8], saved: &[u8]) {
    const SET_HASHTABLE: u8 = 2;
    const HASH: u8 = 4;
    let (written, saved) = (payloads(written), payloads(saved));
    assert_eq!(written.len(), saved.len(), "keys in the re-saved dump");
    let mut compared = BTreeMap::<u8, usize>::new();
    for (key, (type_byte, bytes)) in &written {
        let (saved_type, saved_bytes) = &saved[key];
        assert_eq!(saved_type, type_byte, "type byte of {}", shown(&key.1));
        if matches!(*type_byte, SET_HASHTABLE | HASH) {
            continue;
        }
        assert!(
            saved_bytes == bytes,
            "{} (type {type_byte}): the server saved {} bytes, the writer wrote {}; first \
             difference at byte {:?}",
            shown(&key.1),
            saved_bytes.len(),
            bytes.len(),
            saved_bytes.iter().zip(bytes).position(|(a, b)| a != b)
        );
        *compared.entry(*type_byte).or_default() += 1;
    }
    // Strings, intsets, listpack hashes and zsets, skiplist zsets, quicklists and streams.
    for type_byte in [0, 5, 11, 16, 17, 18, 19] {
        assert!(
            compared.get(&type_byte).is_some_and(|&n| n > 0),
            "no values of type {type_byte} compared: {compared:?}"
        );
    }
}
