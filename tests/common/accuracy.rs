//! The memory model against the servers' own `MEMORY USAGE key SAMPLES 0`: estimates every
//! key of a `testdata/<fixture>/` dump, pairs it with `truth.csv`, and checks the issue's
//! bounds. Shared by `tests/accuracy.rs` (asserts the bounds) and `examples/accuracy.rs`
//! (writes `docs/accuracy.md`), which include this file by path.
#![allow(dead_code)] // each includer uses its own subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rdbscope::memory::alloc::LIBC_CHUNK_REUSE;
use rdbscope::memory::{Allocator, Certainty, Model, Origin};
use rdbscope::rdb::{Context, Entry, Records, Scratch, escape_key};

/// The targets: this share of keys within ±5 %, every key within ±20 %, the sum
/// within ±2 %.
pub const SHARE_WITHIN_5: f64 = 0.99;
pub const ALL_WITHIN_PCT: f64 = 20.0;
pub const SUM_WITHIN_PCT: f64 = 2.0;

/// One key: the model's estimate and the server's number.
pub struct Row {
    pub key: String,
    /// `type encoding` as the server reported them.
    pub kind: String,
    pub estimate: u64,
    pub truth: u64,
    pub certainty: Certainty,
}

impl Row {
    /// `(estimate − truth) / truth` in percent.
    pub fn error_pct(&self) -> f64 {
        if self.truth == 0 {
            return if self.estimate == 0 { 0.0 } else { 100.0 };
        }
        (self.estimate as f64 - self.truth as f64) / self.truth as f64 * 100.0
    }
}

/// One fixture compared key by key.
pub struct Fixture {
    pub name: String,
    pub model: Model,
    pub rows: Vec<Row>,
    /// Keys in the dump without a truth row, or truth rows the dump lacks.
    pub unmatched: usize,
    /// Keys the model could not estimate (parse errors), with the error.
    pub failed: Vec<String>,
}

/// Every `testdata/*/` with a dump and its truth, sorted by name.
pub fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("testdata/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("truth.csv").is_file() && p.join("dump.rdb").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// The model the fixture's server corresponds to, from `server.json`.
fn model_for(ctx: &Context, server: &serde_json::Value) -> Model {
    let mut allocator = server["mem_allocator"]
        .as_str()
        .and_then(Allocator::from_info)
        .unwrap_or(Allocator::Jemalloc);
    // Distribution packages link the system jemalloc, built with the default 16-byte
    // quantum; so does a server run with that library preloaded. `INFO` cannot tell.
    let package = server["package"].as_str().unwrap_or("");
    if (allocator == Allocator::Jemalloc && package.contains("Debian"))
        || server["preload"]
            .as_str()
            .is_some_and(|p| p.contains("jemalloc"))
    {
        allocator = Allocator::JemallocQuantum16;
    }
    let mut model = Model::for_context(ctx, allocator);
    // The LFU/LRU fixtures re-create every key with RESTORE before the truth is taken.
    if server["truth_notes"]["freq_idle"]
        .as_str()
        .is_some_and(|n| n.contains("RESTORE"))
    {
        model.origin = Origin::Loaded;
    }
    model
}

/// Estimates every key of `dir/dump.rdb` and pairs it with `dir/truth.csv`.
pub fn compare(dir: &Path) -> Fixture {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let server: serde_json::Value = std::fs::read(dir.join("server.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let data = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb is readable");
    let mut ctx = Context::for_dump(&data).expect("dump header parses");
    let model = model_for(&ctx, &server);
    if model.allocator == Allocator::JemallocQuantum16 && server["preload"].is_string() {
        // no spare room for an expire in Valkey string objects (see `Context`)
        ctx.expire_room_in_objects = false;
    }

    let mut truth: HashMap<(u64, String), (String, u64)> = HashMap::new();
    let mut reader = csv::Reader::from_path(dir.join("truth.csv")).expect("truth.csv");
    for rec in reader.records() {
        let rec = rec.expect("truth.csv row");
        let Ok(usage) = rec[5].parse::<u64>() else {
            continue;
        };
        let db: u64 = rec[0].parse().expect("truth.csv db");
        let kind = format!("{} {}", &rec[2], &rec[3]);
        truth.insert((db, rec[1].to_string()), (kind, usage));
    }

    let mut rows = Vec::new();
    let mut failed = Vec::new();
    let mut unmatched = 0;
    let mut scratch = Scratch::default();
    for entry in Records::new(&data).expect("dump parses") {
        let record = match entry {
            Ok(Entry::Key(r)) => r,
            Ok(Entry::Other(_)) => continue,
            Err(e) => {
                failed.push(format!("splitter: {e}"));
                break;
            }
        };
        let key = escape_key(&record.key);
        let Some((kind, usage)) = truth.remove(&(record.db, key.clone())) else {
            unmatched += 1;
            continue;
        };
        match model.estimate(&record, &ctx, &mut scratch) {
            Ok(est) => rows.push(Row {
                key,
                kind,
                estimate: est.memory_bytes,
                truth: usage,
                certainty: est.certainty,
            }),
            Err(e) => failed.push(format!("{key}: {e}")),
        }
    }
    unmatched += truth.len();
    Fixture {
        name,
        model,
        rows,
        unmatched,
        failed,
    }
}

/// How a fixture measures up against the targets. Module values are left out: their value
/// part is unknown offline.
pub struct Summary {
    pub keys: usize,
    pub within_5: usize,
    pub within_20: usize,
    /// Within the bound or off by no more than one glibc chunk step.
    pub within_5_or_chunk: usize,
    pub within_20_or_chunk: usize,
    pub exact: usize,
    /// Keys off to the byte whose estimate the model marks as an expectation (random terms:
    /// skiplist levels, hash-seed dependent buckets).
    pub random_inexact: usize,
    /// Keys the model marks [`Certainty::Exact`] that are not exact to the byte.
    pub claimed_exact_but_off: usize,
    pub truth_sum: u64,
    pub estimate_sum: u64,
}

impl Summary {
    pub fn of(fixture: &Fixture) -> Summary {
        let rows: Vec<&Row> = fixture
            .rows
            .iter()
            .filter(|r| r.certainty != Certainty::ValueUnknown)
            .collect();
        let chunk_step = |r: &Row| r.estimate.abs_diff(r.truth) <= LIBC_CHUNK_REUSE;
        let count = |pred: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| pred(r)).count();
        Summary {
            keys: rows.len(),
            within_5: count(&|r| r.error_pct().abs() <= 5.0),
            within_20: count(&|r| r.error_pct().abs() <= ALL_WITHIN_PCT),
            within_5_or_chunk: count(&|r| r.error_pct().abs() <= 5.0 || chunk_step(r)),
            within_20_or_chunk: count(&|r| r.error_pct().abs() <= ALL_WITHIN_PCT || chunk_step(r)),
            exact: count(&|r| r.estimate == r.truth),
            random_inexact: count(&|r| r.estimate != r.truth && r.certainty == Certainty::Expected),
            claimed_exact_but_off: count(&|r| {
                r.estimate != r.truth && r.certainty == Certainty::Exact
            }),
            truth_sum: rows.iter().map(|r| r.truth).sum(),
            estimate_sum: rows.iter().map(|r| r.estimate).sum(),
        }
    }

    pub fn share(&self, n: usize) -> f64 {
        n as f64 / self.keys.max(1) as f64
    }

    pub fn sum_error_pct(&self) -> f64 {
        (self.estimate_sum as f64 - self.truth_sum as f64) / self.truth_sum.max(1) as f64 * 100.0
    }

    /// The three bounds. On a glibc-built server a key also counts as within when it
    /// is off by at most one 16-byte chunk step (`LIBC_CHUNK_REUSE`): which small allocations
    /// got the larger chunk depends on the process's allocation history, not on the dump.
    pub fn check(&self, allocator: Allocator) -> Result<(), String> {
        let (within_5, within_20) = if allocator == Allocator::Libc {
            (self.within_5_or_chunk, self.within_20_or_chunk)
        } else {
            (self.within_5, self.within_20)
        };
        let mut failures = Vec::new();
        if self.share(within_5) < SHARE_WITHIN_5 {
            failures.push(format!("{within_5}/{} keys within ±5 %", self.keys));
        }
        if within_20 < self.keys {
            failures.push(format!(
                "{} keys outside ±{ALL_WITHIN_PCT} %",
                self.keys - within_20
            ));
        }
        if self.sum_error_pct().abs() > SUM_WITHIN_PCT {
            failures.push(format!("sum off by {:+.2} %", self.sum_error_pct()));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}
