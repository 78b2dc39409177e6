//! Throughput of the format layer's two byte-crunching kernels, apart from any dump:
//!
//! - `crc64`: the dispatching `crc64` (carry-less-multiply folding where the CPU has it) and
//!   the slicing-by-16 tables it falls back to, over 16 MiB;
//! - `lzf`: decompression of LZF data the server's compressor wrote, from text-like values
//!   (long back-references), listpack-like blobs (short tokens), the compressed quicklist
//!   nodes, ziplists and stream listpacks of a synthetic mixed dump (the blobs that dominate
//!   its parse) and noise (literal runs), next to a `memcpy` of the same output size; and
//!   `validate`, the walk of the control bytes that checks a string value's length without
//!   decompressing.
//!
//! `cargo bench --bench format [-- FILTER]`; throughput is in bytes of output per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rdbscope::rdb::crc64::{crc64, crc64_table};
use rdbscope::rdb::{Cursor, Entry, Header, Magic, RdbStr, Records, ValueType, lzf, stream};
use rdbscope::synth::mix::{self, MixConfig, Shape};

/// xorshift64: the same bytes every run.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn crc(c: &mut Criterion) {
    let mut seed = 1;
    let data: Vec<u8> = (0..16 << 20).map(|_| next(&mut seed) as u8).collect();
    let mut group = c.benchmark_group("crc64");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("dispatch", |b| b.iter(|| crc64(0, black_box(&data))));
    group.bench_function("table", |b| b.iter(|| crc64_table(0, black_box(&data))));
    group.finish();
}

/// Values of one kind, each compressed on its own as a server stores it.
fn corpus(kind: &str, value_len: usize, total: usize) -> Vec<(Vec<u8>, usize)> {
    let mut seed = 7;
    let words: [&[u8]; 8] = [
        b"user:",
        b"1000",
        b"profile",
        b"\"name\":\"",
        b"\x05",
        b"\xf3",
        b"session",
        b"0000",
    ];
    let mut compressor = lzf::Compressor::default();
    let mut values = Vec::new();
    let mut produced = 0;
    while produced < total {
        let mut value = Vec::with_capacity(value_len);
        while value.len() < value_len {
            match kind {
                // Repetitive text: long matches.
                "text" => value.extend_from_slice(if next(&mut seed).is_multiple_of(4) {
                    b"the quick brown fox jumps over the lazy dog; "
                } else {
                    words[(next(&mut seed) % 8) as usize]
                }),
                // Listpack-like: short entries with a few varying bytes each, short matches.
                "listpack" => {
                    value.extend_from_slice(words[(next(&mut seed) % 8) as usize]);
                    let n = next(&mut seed);
                    value.extend_from_slice(&n.to_le_bytes()[..(n % 4) as usize]);
                }
                _ => value.push(next(&mut seed) as u8),
            }
        }
        value.truncate(value_len);
        let mut packed = Vec::new();
        if !compressor.compress_into(&value, value_len + value_len / 16 + 16, &mut packed) {
            panic!("{kind}: does not compress");
        }
        produced += value_len;
        values.push((packed, value_len));
    }
    values
}

/// The LZF-compressed compact blobs (quicklist nodes, ziplists, listpacks, stream nodes) of a
/// synthetic mixed dump of about `dump_bytes`, in the RDB 9 format of the 1 GiB benchmark dump.
fn dump_blobs(dump_bytes: u64) -> Vec<(Vec<u8>, usize)> {
    let config = MixConfig::new(
        Header::new(Magic::Redis, 9),
        Shape::Mixed,
        1,
        1_893_456_000_000,
    );
    let (dump, _) = mix::generate(&config, dump_bytes);
    let mut blobs = Vec::new();
    let mut keep = |s: RdbStr| {
        if let RdbStr::Lzf {
            compressed,
            original_len,
            ..
        } = s
        {
            blobs.push((compressed.to_vec(), original_len));
        }
    };
    for entry in Records::new(&dump).unwrap() {
        let Entry::Key(record) = entry.unwrap() else {
            continue;
        };
        let mut c = Cursor::new(record.payload, record.payload_offset);
        match record.value_type {
            ValueType::ListQuicklist | ValueType::ListQuicklist2 => {
                for _ in 0..c.rdb_count(2, "nodes").unwrap() {
                    if record.value_type == ValueType::ListQuicklist2 {
                        c.rdb_len("container").unwrap();
                    }
                    keep(c.rdb_string("node").unwrap());
                }
            }
            ValueType::ListZiplist
            | ValueType::ZsetZiplist
            | ValueType::HashZiplist
            | ValueType::HashListpack
            | ValueType::ZsetListpack
            | ValueType::SetListpack => keep(c.rdb_string("blob").unwrap()),
            ValueType::Stream(version) => {
                stream::walk(&mut c, version, |_, listpack, _| {
                    keep(listpack);
                    Ok(())
                })
                .unwrap();
            }
            _ => {}
        }
    }
    blobs
}

fn decompression(c: &mut Criterion) {
    let mut group = c.benchmark_group("lzf");
    let kinds = [
        ("text", corpus("text", 4096, 8 << 20)),
        ("listpack", corpus("listpack", 8192, 8 << 20)),
        ("mixed-dump", dump_blobs(12 << 20)),
        ("noise", corpus("noise", 1024, 8 << 20)),
    ];
    for (kind, values) in kinds {
        let total: usize = values.iter().map(|(_, n)| n).sum();
        let packed: usize = values.iter().map(|(p, _)| p.len()).sum();
        eprintln!(
            "lzf {kind}: {total} bytes from {packed} compressed in {} values",
            values.len()
        );
        group.throughput(Throughput::Bytes(total as u64));
        let mut out = Vec::new();
        group.bench_function(format!("decompress/{kind}"), |b| {
            b.iter(|| {
                for (packed, len) in &values {
                    lzf::decompress_into(packed, *len, 0, &mut out).unwrap();
                    black_box(&out);
                }
            })
        });
        // What a string value costs the parser: its length, checked without decompressing.
        group.bench_function(format!("validate/{kind}"), |b| {
            b.iter(|| {
                for (packed, len) in &values {
                    lzf::validate(black_box(packed), *len, 0).unwrap();
                }
            })
        });
        let longest = values.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let source = vec![1u8; longest];
        let mut copy = vec![0u8; longest];
        group.bench_function(format!("memcpy/{kind}"), |b| {
            b.iter(|| {
                for (_, len) in &values {
                    copy[..*len].copy_from_slice(black_box(&source[..*len]));
                    black_box(&copy);
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = crc, decompression
}
criterion_main!(benches);
