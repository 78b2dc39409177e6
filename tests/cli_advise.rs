//! The advisor against a real server: a private `redis-server` is filled with data that each
//! kind of suggestion must fire on, `SAVE`d and analysed; every suggestion's target and saving
//! are checked against the memory model (keys.csv) and, where the change can be applied,
//! against the server: the change is made and `MEMORY USAGE` measured again. A well-tuned
//! dataset gets no suggestion at all.
//!
//! Skipped (and passing) where `redis-server` is not on the PATH, unless
//! `RDBSCOPE_REQUIRE_LIVE=1`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::live::{Client, Cmd, Reply, Server, cmd, server_binary};
use common::{rdbscope, temp_dir};
use serde_json::Value;

const TEST: &str = "cli_advise";

/// A started server (7.0 or later), or `None` when the test is skipped.
fn server() -> Option<(Server, Client)> {
    let bin = server_binary(TEST)?;
    let server = Server::start(&bin, &["--enable-debug-command", "yes"], None);
    let client = server.client();
    Some((server, client))
}

fn memory_usage(client: &mut Client, keys: &[String]) -> Vec<i64> {
    let commands: Vec<Cmd> = keys
        .iter()
        .map(|k| cmd!("MEMORY", "USAGE", k, "SAMPLES", "0"))
        .collect();
    client.run(&commands).iter().map(Reply::int).collect()
}

fn total_usage(client: &mut Client, keys: &[String]) -> i64 {
    memory_usage(client, keys).iter().sum()
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// SAVEs, analyses the dump (with `extra` options) with the allocator of Debian's build (a
/// system jemalloc with its default 16-byte quantum; INFO names both builds `jemalloc`), and
/// returns the summary and keys.csv (key -> memory and overhead bytes).
fn analyze(
    server: &Server,
    client: &mut Client,
    extra: &[&str],
) -> (Value, BTreeMap<String, (i64, i64)>) {
    assert_eq!(client.call(&cmd!("SAVE")), Reply::Simple(b"OK".to_vec()));
    let dir = temp_dir(&format!("advise-{}-{}", server.port, extra.len()));
    let dump = server.dir.path().join("dump.rdb");
    let mut args = vec![
        "analyze",
        "--quiet",
        "--keys",
        "--allocator",
        "jemalloc-16",
        "--out-dir",
        dir.to_str().unwrap(),
        dump.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = rdbscope(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let mut keys = BTreeMap::new();
    let mut rows = csv::Reader::from_path(dir.join("keys.csv")).unwrap();
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (key, memory, overhead) = (col("key"), col("memory_bytes"), col("overhead_bytes"));
    for row in rows.records() {
        let row = row.unwrap();
        let db = &row[0];
        keys.insert(
            format!("{db}:{}", &row[key]),
            (row[memory].parse().unwrap(), row[overhead].parse().unwrap()),
        );
    }
    check_csv(&dir, &summary);
    (summary, keys)
}

/// suggestions.csv holds the summary's suggestions, in the same order.
fn check_csv(dir: &Path, summary: &Value) {
    let text = std::fs::read_to_string(dir.join("suggestions.csv")).unwrap();
    assert!(text.starts_with("kind,target,estimated_savings_bytes,confidence,action,"));
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let csv: Vec<(String, String, i64)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string(), r[2].parse().unwrap())
        })
        .collect();
    let json: Vec<(String, String, i64)> = suggestions(summary)
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["target"].as_str().unwrap().to_string(),
                s["estimated_savings_bytes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(csv, json);
}

fn suggestions(summary: &Value) -> &Vec<Value> {
    summary["suggestions"].as_array().unwrap()
}

/// The one suggestion of `kind` for `target`.
fn suggestion<'a>(summary: &'a Value, kind: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = suggestions(summary)
        .iter()
        .filter(|s| s["kind"] == kind && s["target"] == target)
        .collect();
    assert_eq!(found.len(), 1, "{kind} on {target}: {found:?}");
    found[0]
}

/// Exactly these (kind, target) suggestions fire, largest saving first.
fn assert_fired(summary: &Value, expected: &[(&str, &str)]) {
    let fired: BTreeSet<(String, String)> = suggestions(summary)
        .iter()
        .map(|s| {
            let text = |f: &str| s[f].as_str().unwrap().to_string();
            (text("kind"), text("target"))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(k, t)| (k.to_string(), t.to_string()))
        .collect();
    assert_eq!(fired, expected);
    let listed: Vec<i64> = suggestions(summary).iter().map(savings).collect();
    assert!(
        listed.windows(2).all(|w| w[0] >= w[1]),
        "largest saving first"
    );
}

fn savings(s: &Value) -> i64 {
    s["estimated_savings_bytes"].as_i64().unwrap()
}

/// Σ memory (and overhead) of keys.csv rows `db:key`.
fn modelled(keys: &BTreeMap<String, (i64, i64)>, db: u64, names: &[String]) -> (i64, i64) {
    names.iter().fold((0, 0), |(m, o), k| {
        let (km, ko) = keys[&format!("{db}:{k}")];
        (m + km, o + ko)
    })
}

/// Fixed-width fields and values, so any split of a hash gives parts of the same size.
fn hash_fields(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .flat_map(|j| {
            [
                format!("f{j:05}").into_bytes(),
                format!("v{j:05}").into_bytes(),
            ]
        })
        .collect()
}

/// One HSET per field, as applications grow hashes (the model replays that growth).
fn hset_one_by_one(client: &mut Client, key: &str, pairs: &[Vec<u8>]) {
    let commands: Vec<Cmd> = pairs
        .chunks(2)
        .map(|p| cmd!("HSET", key, &p[0], &p[1]))
        .collect();
    client.run(&commands);
}

#[test]
fn every_kind_fires_and_its_saving_holds_on_the_server() {
    let Some((server, mut client)) = server() else {
        return;
    };
    client.run(&[cmd!("DEBUG", "SET-ACTIVE-EXPIRE", "0")]);

    // json-in-string: flat JSON documents.
    let docs = names("doc:", 200);
    let doc = |i: usize| {
        format!(
            r#"{{"id":{i},"score":{},"level":{},"country":"DE","lang":"de","active":true,"tier":2,"visits":{},"age":{},"group":"b","zip":"10115","opt":false}}"#,
            i % 100,
            i % 7,
            i * 13,
            20 + i % 50
        )
    };
    let commands: Vec<Cmd> = (0..docs.len())
        .map(|i| cmd!("SET", &docs[i], doc(i)))
        .collect();
    client.run(&commands);
    // numeric-string: zero-padded integers and decimals (expiring, as small-keys-to-hash
    // would fire on tiny keys without a TTL).
    let prices = names("price:", 300);
    let amounts = names("amount:", 300);
    let mut commands: Vec<Cmd> = Vec::new();
    for i in 0..300 {
        commands.push(cmd!(
            "SET",
            &prices[i],
            format!("{:05}", i + 1),
            "EX",
            86_400
        ));
        let amount = format!("{}.{:02}", i, 1 + i % 99);
        commands.push(cmd!("SET", &amounts[i], amount, "EX", 86_400));
    }
    client.run(&commands);
    // compressible-value: 8 KiB pages of repetitive markup.
    let pages = names("page:", 20);
    let page = |i: usize| -> Vec<u8> {
        (0..250)
            .map(|r| format!("<tr><td>row {r}</td><td>page {i}</td></tr>\n"))
            .collect::<String>()
            .into_bytes()[..8192]
            .to_vec()
    };
    let commands: Vec<Cmd> = (0..pages.len())
        .map(|i| cmd!("SET", &pages[i], page(i)))
        .collect();
    client.run(&commands);
    // encoding-threshold: hashes of 600 fields (over 512), and small listpack hashes.
    let profiles = names("profile:", 5);
    for p in &profiles {
        hset_one_by_one(&mut client, p, &hash_fields(600));
    }
    for i in 0..20 {
        let short_fields: Vec<Vec<u8>> = (0..20).map(|j| format!("a{j}").into_bytes()).collect();
        hset_one_by_one(&mut client, &format!("small:{i}"), &short_fields);
    }
    // big-key: a 20,000-field hash.
    let big_fields = hash_fields(20_000);
    hset_one_by_one(&mut client, "bighash", &big_fields);
    // no-ttl: half of a pattern expires in a day, half never.
    let carts = names("cart:", 100);
    let mut commands: Vec<Cmd> = Vec::new();
    for (i, c) in carts.iter().enumerate() {
        commands.push(cmd!("SET", c, "x".repeat(200)));
        if i % 2 == 0 {
            commands.push(cmd!("EXPIRE", c, 86_400));
        }
    }
    client.run(&commands);
    let no_ttl_carts: Vec<String> = carts.iter().skip(1).step_by(2).cloned().collect();
    // expired-at-snapshot: keys that expire before the SAVE, with active expiry off.
    let sessions = names("sess:", 100);
    let commands: Vec<Cmd> = sessions
        .iter()
        .map(|s| cmd!("SET", s, "y".repeat(100)))
        .collect();
    client.run(&commands);
    let sessions_usage = total_usage(&mut client, &sessions);
    // An absolute expiry 300 ms ahead of the server's clock: `PEXPIRE key 1` deletes the key
    // at once when the server reads its clock twice more than a millisecond apart (a loaded
    // machine), and the key is then missing from the snapshot.
    let time = client.call(&cmd!("TIME"));
    let [secs, micros] = [0, 1].map(|i| time.array()[i].text().parse::<i64>().unwrap());
    let at_ms = secs * 1000 + micros / 1000 + 300;
    let commands: Vec<Cmd> = sessions
        .iter()
        .map(|s| cmd!("PEXPIREAT", s, at_ms))
        .collect();
    client.run(&commands);
    // The snapshot's ctime has whole seconds: wait until the expiries are a second behind.
    std::thread::sleep(std::time::Duration::from_millis(1400));
    // multiple-databases: keys in db 2.
    let orders = names("order:", 50);
    let mut commands: Vec<Cmd> = vec![cmd!("SELECT", 2)];
    commands.extend(
        orders
            .iter()
            .map(|o| cmd!("SET", o, "pending", "EX", 86_400)),
    );
    commands.push(cmd!("SELECT", 0));
    client.run(&commands);

    let before: BTreeMap<&str, i64> = [
        ("doc", total_usage(&mut client, &docs)),
        ("price", total_usage(&mut client, &prices)),
        ("amount", total_usage(&mut client, &amounts)),
        ("page", total_usage(&mut client, &pages)),
        ("profile", total_usage(&mut client, &profiles)),
        (
            "bighash",
            total_usage(&mut client, &["bighash".to_string()]),
        ),
        ("cart", total_usage(&mut client, &no_ttl_carts)),
    ]
    .into();
    let (summary, keys) = analyze(&server, &mut client, &[]);

    assert_fired(
        &summary,
        &[
            ("json-in-string", "doc:*"),
            ("numeric-string", "price:*"),
            ("numeric-string", "amount:*"),
            ("compressible-value", "page:*"),
            ("encoding-threshold", "profile:*"),
            ("big-key", "bighash"),
            ("no-ttl", "cart:*"),
            ("expired-at-snapshot", "sess:*"),
            ("multiple-databases", "db 2"),
        ],
    );
    // The model priced the keys as the server holds them.
    for (name, keys_of) in [("doc", &docs), ("page", &pages), ("profile", &profiles)] {
        assert_eq!(modelled(&keys, 0, keys_of).0, before[name], "{name}");
    }

    // json-in-string: each document as a hash of its fields.
    let s = suggestion(&summary, "json-in-string", "doc:*");
    assert_eq!(s["confidence"], "high");
    assert_eq!(s["keys"], 200);
    let mut commands: Vec<Cmd> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let object: serde_json::Map<String, Value> = serde_json::from_str(&doc(i)).unwrap();
        let mut hset: Cmd = cmd!("HSET", d);
        for (field, value) in object {
            hset.push(field.into_bytes());
            hset.push(match value {
                Value::String(text) => text.into_bytes(),
                other => other.to_string().into_bytes(),
            });
        }
        commands.push(cmd!("DEL", d));
        commands.push(hset);
    }
    client.run(&commands);
    assert_eq!(savings(s), before["doc"] - total_usage(&mut client, &docs));

    // numeric-string: canonical integers, and decimals as fixed-point integers.
    let s = suggestion(&summary, "numeric-string", "price:*");
    assert_eq!(s["confidence"], "high");
    let commands: Vec<Cmd> = (0..300).map(|i| cmd!("SET", &prices[i], i + 1)).collect();
    client.run(&commands);
    assert_eq!(
        savings(s),
        before["price"] - total_usage(&mut client, &prices)
    );
    let s = suggestion(&summary, "numeric-string", "amount:*");
    assert_eq!(s["confidence"], "medium");
    let commands: Vec<Cmd> = (0..300)
        .map(|i| cmd!("SET", &amounts[i], i * 100 + 1 + i % 99))
        .collect();
    client.run(&commands);
    assert_eq!(
        savings(s),
        before["amount"] - total_usage(&mut client, &amounts)
    );

    // compressible-value: the pages LZF-compressed by the client.
    let s = suggestion(&summary, "compressible-value", "page:*");
    let commands: Vec<Cmd> = (0..pages.len())
        .map(|i| {
            let p = page(i);
            cmd!(
                "SET",
                &pages[i],
                rdbscope::rdb::lzf::compress(&p, p.len()).unwrap()
            )
        })
        .collect();
    client.run(&commands);
    assert_eq!(
        savings(s),
        before["page"] - total_usage(&mut client, &pages)
    );

    // big-key: 40 compact hashes of 500 fields; applied before the limit changes.
    let s = suggestion(&summary, "big-key", "bighash");
    assert_eq!(s["confidence"], "high");
    let parts: Vec<String> = names("bighash:", 40);
    for (i, chunk) in big_fields.chunks(2 * 500).enumerate() {
        let mut hset: Cmd = cmd!("HSET", &parts[i]);
        hset.extend(chunk.iter().cloned());
        client.run(&[hset]);
    }
    assert!(
        s["action"]
            .as_str()
            .unwrap()
            .starts_with("split into 40 hashes of at most 500")
    );
    assert_eq!(
        savings(s),
        before["bighash"] - total_usage(&mut client, &parts)
    );

    // encoding-threshold: the exact limit, then each hash reloaded under it.
    let s = suggestion(&summary, "encoding-threshold", "profile:*");
    let action = s["action"].as_str().unwrap();
    assert!(
        action.starts_with("redis.conf `hash-max-listpack-entries 600`"),
        "{action}"
    );
    assert!(
        s["evidence"]
            .as_str()
            .unwrap()
            .contains("consistent with the default 512")
    );
    client.run(&[cmd!("CONFIG", "SET", "hash-max-listpack-entries", 600)]);
    for p in &profiles {
        let payload = client.call(&cmd!("DUMP", p)).bytes().to_vec();
        client.run(&[cmd!("DEL", p), cmd!("RESTORE", p, 0, payload)]);
        let encoding = client.call(&cmd!("OBJECT", "ENCODING", p)).text();
        assert_eq!(encoding, "listpack");
    }
    assert_eq!(
        savings(s),
        before["profile"] - total_usage(&mut client, &profiles)
    );

    // no-ttl: what the keys without a TTL hold, as the model and the server count it.
    let s = suggestion(&summary, "no-ttl", "cart:*");
    assert_eq!(s["confidence"], "medium");
    assert_eq!(s["keys"], 50);
    let (memory, overhead) = modelled(&keys, 0, &no_ttl_carts);
    assert_eq!(memory, before["cart"]);
    assert_eq!(savings(s), memory + overhead);

    // expired-at-snapshot: what the expired keys held; a SCAN over them frees them.
    let s = suggestion(&summary, "expired-at-snapshot", "sess:*");
    assert_eq!(s["keys"], 100);
    let (memory, overhead) = modelled(&keys, 0, &sessions);
    assert_eq!(memory, sessions_usage);
    assert_eq!(savings(s), memory + overhead);
    let dbsize = client.call(&cmd!("DBSIZE")).int();
    let mut cursor = "0".to_string();
    loop {
        let reply = client.call(&cmd!("SCAN", &cursor, "MATCH", "sess:*", "COUNT", 1000));
        cursor = reply.array()[0].text();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(client.call(&cmd!("DBSIZE")).int(), dbsize - 100);

    // multiple-databases: the keys copied into db 0 under the prefix cost what it says.
    let s = suggestion(&summary, "multiple-databases", "db 2");
    assert_eq!(s["keys"], 50);
    client.run(&[cmd!("SELECT", 2)]);
    let in_db2 = total_usage(&mut client, &orders);
    let commands: Vec<Cmd> = orders
        .iter()
        .map(|o| cmd!("COPY", o, format!("db2:{o}"), "DB", 0))
        .collect();
    client.run(&commands);
    client.run(&[cmd!("SELECT", 0)]);
    let prefixed: Vec<String> = orders.iter().map(|o| format!("db2:{o}")).collect();
    assert_eq!(savings(s), in_db2 - total_usage(&mut client, &prefixed));
}

#[test]
fn the_other_kinds_fire_and_their_savings_hold_on_the_server() {
    let Some((server, mut client)) = server() else {
        return;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // long-key-names: long constant segments (with TTLs, so they are not small-keys-to-hash).
    let notices = names("notification:preferences:", 300);
    let commands: Vec<Cmd> = notices
        .iter()
        .map(|k| cmd!("SET", k, "x", "EX", 86_400))
        .collect();
    client.run(&commands);
    // small-keys-to-hash: a thousand tiny flags with ids of one width.
    let flags: Vec<String> = (1000..2000).map(|i| format!("flag:{i}")).collect();
    let commands: Vec<Cmd> = flags.iter().map(|k| cmd!("SET", k, "on")).collect();
    client.run(&commands);
    // hash-field-names: compact hashes with long field names.
    let products = names("pr:", 200);
    let long_fields = [
        "product_description",
        "manufacturer_name",
        "warehouse_location",
        "available_quantity",
        "last_inventory_check",
    ];
    let mut commands: Vec<Cmd> = Vec::new();
    for p in &products {
        let mut hset: Cmd = cmd!("HSET", p);
        for (j, f) in long_fields.iter().enumerate() {
            hset.push(f.as_bytes().to_vec());
            hset.push(format!("v{j}").into_bytes());
        }
        commands.push(hset);
    }
    client.run(&commands);
    // set-cardinality-only (and big-key): two sets of 20,000 visitor ids.
    let visitors: Vec<String> = (1..=2).map(|d| format!("visitors:2024-05-0{d}")).collect();
    for v in &visitors {
        for chunk in (0..20_000).collect::<Vec<u32>>().chunks(1000) {
            let mut sadd: Cmd = cmd!("SADD", v);
            sadd.extend(chunk.iter().map(|i| format!("u{i}").into_bytes()));
            client.run(&[sadd]);
        }
    }
    // list-compression: lists of many 8 KiB nodes of repetitive log lines.
    let logs = names("log:", 3);
    for l in &logs {
        let commands: Vec<Cmd> = (0..3000)
            .map(|i| {
                cmd!(
                    "RPUSH",
                    l,
                    format!("level=info event=login user={} ok", i % 50)
                )
            })
            .collect();
        client.run(&commands);
    }
    // stream-untrimmed: a month-old backlog before a recent hour.
    let old_from = now_ms - 30 * 86_400_000;
    let mut commands: Vec<Cmd> = (0..1050i64)
        .map(|i| {
            cmd!(
                "XADD",
                "events:orders",
                format!("{}-0", old_from + i),
                "order",
                i
            )
        })
        .collect();
    let recent_from = now_ms - 3_600_000;
    commands.extend((0..500i64).map(|i| {
        cmd!(
            "XADD",
            "events:orders",
            format!("{}-0", recent_from + i),
            "order",
            i
        )
    }));
    client.run(&commands);
    // cold-keys: keys RESTOREd with ten days of LRU idle time.
    client.run(&[cmd!("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")]);
    let archive = names("archive:", 50);
    let commands: Vec<Cmd> = archive
        .iter()
        .map(|k| cmd!("SET", k, "z".repeat(100)))
        .collect();
    client.run(&commands);
    for k in &archive {
        let payload = client.call(&cmd!("DUMP", k)).bytes().to_vec();
        client.run(&[cmd!(
            "RESTORE", k, 0, payload, "REPLACE", "IDLETIME", 864_000
        )]);
    }

    let before: BTreeMap<&str, i64> = [
        ("notices", total_usage(&mut client, &notices)),
        ("flags", total_usage(&mut client, &flags)),
        ("products", total_usage(&mut client, &products)),
        ("visitors", total_usage(&mut client, &visitors)),
        ("logs", total_usage(&mut client, &logs)),
        (
            "events",
            total_usage(&mut client, &["events:orders".to_string()]),
        ),
        ("archive", total_usage(&mut client, &archive)),
    ]
    .into();
    let (summary, _) = analyze(&server, &mut client, &[]);
    assert_fired(
        &summary,
        &[
            ("long-key-names", "notification:preferences:*"),
            ("small-keys-to-hash", "flag:*"),
            ("hash-field-names", "pr:*"),
            ("set-cardinality-only", "visitors:*"),
            ("big-key", "visitors:2024-05-01"),
            ("big-key", "visitors:2024-05-02"),
            ("list-compression", "log:*"),
            ("stream-untrimmed", "events:orders"),
            ("cold-keys", "archive:*"),
        ],
    );

    // long-key-names: the keys renamed as suggested.
    let s = suggestion(&summary, "long-key-names", "notification:preferences:*");
    assert!(
        s["action"]
            .as_str()
            .unwrap()
            .starts_with("name the keys `n:p:*` instead")
    );
    let renamed: Vec<String> = (0..notices.len()).map(|i| format!("n:p:{i}")).collect();
    let commands: Vec<Cmd> = notices
        .iter()
        .zip(&renamed)
        .map(|(old, new)| cmd!("RENAME", old, new))
        .collect();
    client.run(&commands);
    assert_eq!(
        savings(s),
        before["notices"] - total_usage(&mut client, &renamed)
    );

    // small-keys-to-hash: ten hashes of 100 flags. Each key was priced as a hundredth of its
    // hash, rounded up: the estimate is below the measure by at most a byte a key.
    let s = suggestion(&summary, "small-keys-to-hash", "flag:*");
    assert_eq!(s["keys"], 1000);
    let buckets = names("flag:", 20).split_off(10);
    for (b, chunk) in buckets.iter().zip(flags.chunks(100)) {
        let mut hset: Cmd = cmd!("HSET", b);
        for f in chunk {
            hset.push(f.as_bytes()["flag:".len()..].to_vec());
            hset.push(b"on".to_vec());
        }
        client.run(&[hset]);
    }
    let measured = before["flags"] - total_usage(&mut client, &buckets);
    assert!(
        (savings(s)..=savings(s) + 1000).contains(&measured),
        "{s} vs {measured}"
    );

    // hash-field-names: the hashes rewritten with two-byte field names.
    let s = suggestion(&summary, "hash-field-names", "pr:*");
    let mut commands: Vec<Cmd> = Vec::new();
    for p in &products {
        let mut hset: Cmd = cmd!("HSET", p);
        for j in 0..long_fields.len() {
            hset.push(format!("f{j}").into_bytes());
            hset.push(format!("v{j}").into_bytes());
        }
        commands.push(cmd!("DEL", p));
        commands.push(hset);
    }
    client.run(&commands);
    assert_eq!(
        savings(s),
        before["products"] - total_usage(&mut client, &products)
    );

    // set-cardinality-only: the sets as HyperLogLogs.
    let s = suggestion(&summary, "set-cardinality-only", "visitors:*");
    assert_eq!(s["confidence"], "low");
    for v in &visitors {
        client.run(&[cmd!("DEL", v)]);
        for chunk in (0..20_000).collect::<Vec<u32>>().chunks(1000) {
            let mut pfadd: Cmd = cmd!("PFADD", v);
            pfadd.extend(chunk.iter().map(|i| format!("u{i}").into_bytes()));
            client.run(&[pfadd]);
        }
    }
    assert_eq!(
        savings(s),
        before["visitors"] - total_usage(&mut client, &visitors)
    );

    // list-compression: the lists reloaded under list-compress-depth 1.
    let s = suggestion(&summary, "list-compression", "log:*");
    client.run(&[cmd!("CONFIG", "SET", "list-compress-depth", 1)]);
    for l in &logs {
        let payload = client.call(&cmd!("DUMP", l)).bytes().to_vec();
        client.run(&[cmd!("DEL", l), cmd!("RESTORE", l, 0, payload)]);
    }
    assert_eq!(savings(s), before["logs"] - total_usage(&mut client, &logs));

    // stream-untrimmed: the backlog trimmed as suggested.
    let s = suggestion(&summary, "stream-untrimmed", "events:orders");
    let cutoff = summary["inputs"][0]["ctime"].as_i64().unwrap() * 1000 - 7 * 86_400_000;
    client.run(&[cmd!("XTRIM", "events:orders", "MINID", "~", cutoff)]);
    let events = ["events:orders".to_string()];
    assert_eq!(
        savings(s),
        before["events"] - total_usage(&mut client, &events)
    );

    // cold-keys: what the idle keys hold.
    let s = suggestion(&summary, "cold-keys", "archive:*");
    assert_eq!(s["keys"], 50);
    assert_eq!(savings(s), before["archive"]);

    // eviction-policy: volatile-lru cannot evict this data, which has almost no TTLs.
    let (with_policy, _) = analyze(
        &server,
        &mut client,
        &["--maxmemory-policy", "volatile-lru"],
    );
    let s = suggestion(&with_policy, "eviction-policy", "maxmemory-policy");
    let ttl_none = with_policy["ttl"]["none"]["bytes"].as_i64().unwrap();
    assert_eq!(savings(s), ttl_none);
    assert!(
        s["action"]
            .as_str()
            .unwrap()
            .contains("maxmemory-policy allkeys-lru")
    );
    assert_eq!(
        with_policy["settings"]["advice"]["maxmemory_policy"],
        "volatile-lru"
    );
}

/// Compact hashes, canonical integers, short incompressible values, TTLs on transient data,
/// one database: nothing to suggest.
#[test]
fn a_well_tuned_dataset_gets_no_suggestion() {
    let Some((server, mut client)) = server() else {
        return;
    };
    let mut commands: Vec<Cmd> = Vec::new();
    for i in 0..300 {
        commands.push(cmd!(
            "HSET",
            format!("user:{i}"),
            "name",
            format!("user{i}"),
            "age",
            30 + i % 40
        ));
        commands.push(cmd!("HSET", format!("counters:{}", i / 100), i, i * 7));
        commands.push(cmd!(
            "SET",
            format!("session:{i}"),
            format!("token-{i:08x}"),
            "EX",
            3600
        ));
        commands.push(cmd!("SADD", format!("tags:{i}"), i, i + 1, i + 2));
    }
    client.run(&commands);
    let (summary, _) = analyze(&server, &mut client, &[]);
    assert_eq!(summary["totals"]["keys"], 903);
    assert_eq!(suggestions(&summary), &Vec::<Value>::new());
    let out = rdbscope(&[
        "analyze",
        "--allocator",
        "jemalloc-16",
        server.dir.path().join("dump.rdb").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\nSuggestions: none"));
}
