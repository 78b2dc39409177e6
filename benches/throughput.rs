//! Throughput of each stage over synthetic dumps of each shape (strings, small collections,
//! big collections), generated at start — tens of MB each, so a run takes a couple of minutes:
//!
//! - `split`: the splitter alone (`rdb::Records`), the pipeline's only sequential stage;
//! - `split+inspect`: parse-only: the splitter and `inspect` of every record on the workers
//!   (`commands::scan`, the splitter folding the CRC-64); 1 and 2 threads;
//! - `analyze`: the full `rdbscope analyze` without `--keys` (inspect, price, classify, fold,
//!   summarise); 1 and 2 threads.
//!
//! `cargo bench --bench throughput [-- FILTER]`; throughput is in bytes of dump per second.
//! `RDBSCOPE_BENCH_DUMP=FILE cargo bench --bench throughput -- external` measures a dump of
//! your own (a real server's) the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rdbscope::analyze::{Filter, PatternSettings, Settings};
use rdbscope::commands::analyze::{self, Format, Options};
use rdbscope::commands::{Input, ModelChoice, ScanOptions, scan};
use rdbscope::input::{Dump, OpenOptions};
use rdbscope::memory::{Allocator, Origin};
use rdbscope::rdb::{Entry, Header, Magic, Records, inspect};
use rdbscope::synth::mix::{self, MixConfig, Shape};

/// Dump size per shape.
const DUMP_BYTES: u64 = 48 << 20;
/// 2030-01-01T00:00:00Z: fixed, so every run reads the same bytes.
const CLOCK_MS: i64 = 1_893_456_000_000;
const SHAPES: [Shape; 3] = [
    Shape::Strings,
    Shape::SmallCollections,
    Shape::BigCollections,
];

/// Writes each shape's dump (Redis 7.2's format) under the target directory's temp area;
/// with `RDBSCOPE_BENCH_DUMP=FILE`, that dump (a real server's, say) is measured as well, as
/// the group `external`.
fn dumps() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut dumps: Vec<(String, PathBuf)> = SHAPES
        .iter()
        .map(|&shape| {
            let config = MixConfig::new(Header::new(Magic::Redis, 11), shape, 1, CLOCK_MS);
            let (bytes, _) = mix::generate(&config, DUMP_BYTES);
            let path = dir.join(format!("bench-{}.rdb", shape.name()));
            std::fs::write(&path, bytes).expect("write the benchmark dump");
            (shape.name().to_string(), path)
        })
        .collect();
    if let Some(path) = std::env::var_os("RDBSCOPE_BENCH_DUMP") {
        dumps.push(("external".to_string(), PathBuf::from(path)));
    }
    dumps
}

fn stages(c: &mut Criterion) {
    let dumps = dumps();
    let choice = ModelChoice::new(None, Allocator::Jemalloc, None, Origin::Commands)
        .expect("the default model");
    for (name, path) in &dumps {
        let dump = Dump::open(path, &OpenOptions::default()).expect("open the benchmark dump");
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(dump.bytes().len() as u64));
        group.bench_function("split", |b| {
            b.iter(|| {
                let mut keys = 0u64;
                for entry in Records::new(dump.bytes()).unwrap() {
                    keys += u64::from(matches!(entry.unwrap(), Entry::Key(_)));
                }
                keys
            })
        });
        for threads in [1, 2] {
            let scan_options = ScanOptions {
                threads: Some(threads),
                keep_going: false,
            };
            group.bench_with_input(
                BenchmarkId::new("split+inspect", threads),
                &threads,
                |b, _| {
                    b.iter(|| {
                        let mut keys = 0u64;
                        scan(
                            &dump,
                            scan_options,
                            &choice,
                            |n: &mut u64, ctx, _, scratch, record| {
                                inspect(record, ctx, scratch)?;
                                *n += 1;
                                Ok(())
                            },
                            |n| {
                                keys += n;
                                Ok(())
                            },
                        )
                        .unwrap();
                        keys
                    })
                },
            );
            let options = Options {
                inputs: vec![Input {
                    path: path.clone(),
                    open: OpenOptions::default(),
                    scan: scan_options,
                }],
                out_dir: None,
                format: Format::Json,
                keys: false,
                settings: Settings {
                    patterns: PatternSettings::default(),
                    rules: Vec::new(),
                    top: 100,
                    min_bytes: 0,
                    advice: rdbscope::advise::Settings::default(),
                },
                filter: Filter::default(),
                model: choice.clone(),
                shards: None,
                quiet: true,
            };
            group.bench_with_input(BenchmarkId::new("analyze", threads), &threads, |b, _| {
                b.iter(|| analyze::analyze(&options).unwrap().summary.totals)
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = stages
}
criterion_main!(benches);
