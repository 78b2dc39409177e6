//! Compares the memory model with the servers' own `MEMORY USAGE key SAMPLES 0`.
//!
//! `cargo run --release --example accuracy` reads every `testdata/<fixture>/` that has a
//! `truth.csv`, estimates every key of its `dump.rdb`, prints a markdown table per fixture,
//! type and encoding, and writes it to `docs/accuracy.md`.
//!
//! Options: `--detail` also prints every key whose estimate is off (to stderr);
//! `--only NAME` restricts to fixtures whose name contains NAME; `--no-write` skips the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[path = "../tests/common/accuracy.rs"]
mod accuracy;

use accuracy::{Fixture, Row, Summary, compare, fixture_dirs};
use rdbscope::memory::{Allocator, Certainty};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let detail = args.iter().any(|a| a == "--detail");
    let no_write = args.iter().any(|a| a == "--no-write");
    let only: Option<&String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs: Vec<_> = fixture_dirs()
        .into_iter()
        .filter(|p| {
            only.is_none_or(|o| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .contains(o.as_str())
            })
        })
        .collect();
    let fixtures: Vec<Fixture> = dirs.iter().map(|d| compare(d)).collect();
    if detail {
        for f in &fixtures {
            for r in &f.rows {
                if r.estimate != r.truth {
                    eprintln!(
                        "{}\t{}\t{}\t{}\t{}\t{:+}\t{:+.2}%",
                        f.name,
                        r.kind,
                        short(&r.key),
                        r.estimate,
                        r.truth,
                        r.estimate as i64 - r.truth as i64,
                        r.error_pct()
                    );
                }
            }
            for e in &f.failed {
                eprintln!("{}\tFAILED\t{e}", f.name);
            }
        }
    }
    let report = render(&fixtures);
    print!("{report}");
    if !no_write && only.is_none() {
        let path = root.join("docs").join("accuracy.md");
        std::fs::write(&path, report).expect("docs/accuracy.md is writable");
        eprintln!("wrote docs/accuracy.md");
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn render(fixtures: &[Fixture]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Memory model accuracy\n");
    let _ = writeln!(
        out,
        "Estimates of `rdbscope::memory::Model` against `MEMORY USAGE key SAMPLES 0` taken on the \
         server that wrote each fixture (`testdata/*/truth.csv`). Regenerate with \
         `cargo run --release --example accuracy`.\n"
    );
    let _ = writeln!(
        out,
        "Targets: at least 99 % of keys within ±5 %, every key within ±20 %, the sum within ±2 % \
         (`cargo test --test accuracy` asserts them). On glibc-built servers a key off by one \
         16-byte chunk step also counts (the `+chunk` columns): see *Known uncertainty*.\n"
    );
    let _ = writeln!(out, "## Per fixture\n");
    let _ = writeln!(
        out,
        "| fixture | model | allocator | keys | within ±5 % | +chunk | within ±20 % | +chunk | exact | sum truth | sum estimate | sum error | bounds |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut module_keys = Vec::new();
    for f in fixtures {
        let modules = f
            .rows
            .iter()
            .filter(|r| r.certainty == Certainty::ValueUnknown)
            .count();
        if modules > 0 {
            module_keys.push(format!("{} ({modules} keys)", f.name));
        }
        let s = Summary::of(f);
        let pct = |n| format!("{:.1} %", s.share(n) * 100.0);
        let libc = f.model.allocator == Allocator::Libc;
        let chunk = |n| if libc { pct(n) } else { "–".to_string() };
        let _ = writeln!(
            out,
            "| {} | {} | {:?} | {} | {} | {} | {} | {} | {} | {} | {} | {:+.2} % | {} |",
            f.name,
            f.model.generation.name(),
            f.model.allocator,
            s.keys,
            pct(s.within_5),
            chunk(s.within_5_or_chunk),
            pct(s.within_20),
            chunk(s.within_20_or_chunk),
            pct(s.exact),
            s.truth_sum,
            s.estimate_sum,
            s.sum_error_pct(),
            match s.check(f.model.allocator) {
                Ok(()) => "met".to_string(),
                Err(e) => format!("**not met**: {e}"),
            }
        );
    }
    if !module_keys.is_empty() {
        let _ = writeln!(
            out,
            "\nModule values (RedisJSON, Bloom, TimeSeries, ...) are opaque to an offline reader: \
             their estimate is the key part only, and they are left out of the totals above \
             ({}); they are listed in the table below.",
            module_keys.join(", ")
        );
    }
    let notes: Vec<String> = fixtures
        .iter()
        .filter(|f| f.unmatched > 0 || !f.failed.is_empty())
        .map(|f| {
            format!(
                "- {}: {} keys without a counterpart, {} failed",
                f.name,
                f.unmatched,
                f.failed.len()
            )
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\n{}", notes.join("\n"));
    }
    let _ = writeln!(out, "\n## Per fixture, type and encoding\n");
    let _ = writeln!(
        out,
        "Errors are `(estimate − truth) / truth`; median and p99 are of the absolute error.\n"
    );
    let _ = writeln!(
        out,
        "| fixture | type | encoding | keys | sum error | median abs | p99 abs | worst key | estimate | truth |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---|---:|---:|");
    for f in fixtures {
        let mut groups: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
        for r in &f.rows {
            groups.entry(r.kind.as_str()).or_default().push(r);
        }
        for (kind, rows) in groups {
            let (ty, enc) = kind.split_once(' ').unwrap_or((kind, ""));
            let mut errs: Vec<f64> = rows.iter().map(|r| r.error_pct().abs()).collect();
            errs.sort_by(f64::total_cmp);
            let worst = rows
                .iter()
                .max_by(|a, b| a.error_pct().abs().total_cmp(&b.error_pct().abs()))
                .unwrap();
            let truth: u64 = rows.iter().map(|r| r.truth).sum();
            let est: u64 = rows.iter().map(|r| r.estimate).sum();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:+.2} % | {:.2} % | {:.2} % | {} | {} | {} |",
                f.name,
                ty,
                enc,
                rows.len(),
                (est as f64 - truth as f64) / truth.max(1) as f64 * 100.0,
                percentile(&errs, 50.0),
                percentile(&errs, 99.0),
                if worst.estimate == worst.truth {
                    "(all exact)".to_string()
                } else {
                    format!(
                        "`{}`",
                        short(&worst.key).replace('|', "\\|").replace('`', "'")
                    )
                },
                worst.estimate,
                worst.truth
            );
        }
    }
    out.push_str(NOTES);
    out
}

const NOTES: &str = "
## How the fixtures are modelled

- **Model**: picked from the dump's `redis-ver` / `valkey-ver` AUX field
  (`memory::Generation`). **Allocator**: from `server.json` (`mem_allocator`); the Debian
  `redis-server` package links the system jemalloc, built with the default 16-byte quantum
  (`Allocator::JemallocQuantum16`), which `INFO` cannot tell from the 8-byte-quantum jemalloc
  bundled with Redis. Getting this wrong costs 5–10 % on small keys. The `*-jemalloc`
  fixtures run glibc-built Valkey binaries with Debian's jemalloc in `LD_PRELOAD`: `INFO`
  still says `libc`, `server.json` → `preload` says what was loaded, and they are modelled
  with the 16-byte quantum too.
- **Origin**: the truth is taken on the server that wrote the dump, where keys were built by
  commands (`Origin::Commands`: value dicts grown by doubling and often left mid-rehash, the
  last stream node preallocated at 4 KiB). The `redis-7.0-lfu` / `-lru` fixtures re-create
  every key with `RESTORE`, which is a load (`Origin::Loaded`: dicts presized, blobs exact).
  The dump does not record which applies; a server restarted from its RDB, or a replica after
  a full sync, holds loaded layouts.

## Known uncertainty

- Skiplist node levels are random: sorted sets in skiplist encoding use the expected node
  size (±1 % on 1000 members, ±0.2 % on 100 000, a few % on small sets).
- Big keys (strings of 1–4 MB, collections of 100 000 elements) are within 0.2 % on the
  jemalloc fixtures: large strings land on jemalloc's page-multiple classes (four per
  doubling: 1 000 000 bytes in the 1 MiB class, 2.5 MB in 2.5 MiB, 4 MB in 4 MiB), and the
  100 000-element dicts are left mid-rehash after their last doubling (65 536 → 131 072
  buckets) or not, depending on the rehash steps per insert (one per `SADD`, two per `ZADD`,
  two per `HSET` until 7.2 and one from 7.4), which the model replays.
- Value dicts left mid-rehash depend on the hash seed; the model replays growth and the
  incremental rehash with expected bucket occupancy (`memory::collections::simulate_dict`),
  and marks estimates near the boundary `Certainty::Expected`.
- glibc builds (Redis 6.2 here, both Valkeys): when the best free chunk exceeds a request by
  less than 32 bytes, glibc hands out the whole chunk, so a small object, listpack or sds can
  come out one 16-byte step larger than its size class. Which ones do depends on what the
  process freed before (command order, client buffers, rehashing), not on the data: about 5 %
  of the Valkey keys read exactly 16 bytes above the model (in `valkey-8.1`, 24 of the 27 hash
  objects re-created by `PEXPIREAT`; in `valkey-9.1`, a run of 15 consecutive `SET counter:N`
  objects and a few listpacks grown by `realloc`). On a 40-byte object that is +40 %, so the
  per-key bounds cannot hold for these keys from a dump alone; the test counts a key within
  the bound when it is off by at most one such step (`memory::alloc::LIBC_CHUNK_REUSE`), and
  every glibc estimate is `Certainty::Expected`. Values of 64 KiB or more come from a query
  buffer whose size depends on how the client's bytes arrived (±4 KiB).
- glibc fixtures differ from run to run in which keys got a larger chunk; a key whose object
  and listpack both did is 32 bytes off, beyond the allowance (see `testdata/README.md`).
- Valkey 8.1+ hashtables: child buckets are an expectation (Poisson fill of 7-slot buckets,
  seeded hash: ±1–20 buckets of 64 bytes on 1000–100 000 elements, marked
  `Certainty::Expected`);
  the rax of streams is rebuilt from the IDs (allocation sizes of in-order inserts). The
  `hashtable` struct is 72 bytes in 8.1 and 80 in 9.x, where hashes add 8 bytes of metadata
  (the volatile-field set), a field with a TTL stores its 8-byte expiry in the entry and two
  or more such fields a vector of pointers (created for two at 24 bytes, then grown to the
  allocator's usable sizes); skiplist nodes embed their member, and the zset, skiplist and
  header are counted as 544 bytes whatever the allocator. A stream emptied by `XDEL` keeps
  its rax head at the size it had holding the first ID. Apart from these random terms, the
  Valkey 8.1 and 9.1 estimates are exact on the jemalloc fixtures.
- Module values are unknown offline (only the key part is counted).
- Redis 8.x and Valkey 8.0 have no fixture: Redis 8.x uses the 7.4 accounting and every
  estimate is marked `Certainty::Expected`. Redis 7.2 has none either (its set and zset
  rules are shared with 7.4 and Valkey 7.2).
";

fn short(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let mut s: String = if chars.len() > 40 {
        chars[..37].iter().collect::<String>() + "..."
    } else {
        key.to_string()
    };
    s = s
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    s
}
