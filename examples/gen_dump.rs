//! Writes a synthetic dump: a seeded, realistic dataset of about the requested size.
//!
//! ```sh
//! cargo run --release --example gen_dump -- --size 1GiB --version 9 --seed 1 out.rdb
//! ```
//!
//! Options: `--size N[KiB|MiB|GiB|KB|MB|GB]` (default 64MiB), `--version N` (an RDB version,
//! 1..=13, or `valkey80`; default 9), `--seed N` (default 1),
//! `--shape strings|small-collections|big-collections|mixed` (default mixed), `--clock-ms MS`
//! (the dump's "now", default the current time, so every expiry lies in the future of a
//! server loading the dump today), `--no-compress` (as `rdbcompression no`).
//! The dump is written to a temporary name beside OUT and renamed when complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rdbscope::rdb::{Header, Magic};
use rdbscope::synth::mix::{self, MixConfig, Shape};

struct Args {
    size: u64,
    header: Header,
    seed: u64,
    shape: Shape,
    clock_ms: i64,
    compress: bool,
    out: PathBuf,
}

fn usage() -> String {
    "usage: gen_dump [--size N[KiB|MiB|GiB]] [--version 1..13|valkey80] [--seed N] \
     [--shape strings|small-collections|big-collections|mixed] [--clock-ms MS] [--no-compress] OUT"
        .to_string()
}

fn parse_size(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

fn parse_version(text: &str) -> Option<Header> {
    if text.eq_ignore_ascii_case("valkey80") {
        return Some(Header::new(Magic::Valkey, 80));
    }
    let version: u32 = text.parse().ok()?;
    (1..=rdbscope::rdb::header::MAX_REDIS_VERSION)
        .contains(&version)
        .then(|| Header::new(Magic::Redis, version))
}

fn parse_args() -> Result<Args, String> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut args = Args {
        size: 64 << 20,
        header: Header::new(Magic::Redis, 9),
        seed: 1,
        shape: Shape::Mixed,
        clock_ms: now_ms,
        compress: true,
        out: PathBuf::new(),
    };
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--size" => {
                let v = value("--size")?;
                args.size = parse_size(&v).ok_or(format!("bad size {v:?}"))?;
            }
            "--version" => {
                let v = value("--version")?;
                args.header = parse_version(&v).ok_or(format!("bad version {v:?}"))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                args.seed = v.parse().map_err(|_| format!("bad seed {v:?}"))?;
            }
            "--shape" => {
                let v = value("--shape")?;
                args.shape = Shape::parse(&v).ok_or(format!("bad shape {v:?}"))?;
            }
            "--clock-ms" => {
                let v = value("--clock-ms")?;
                args.clock_ms = v.parse().map_err(|_| format!("bad clock {v:?}"))?;
            }
            "--no-compress" => args.compress = false,
            "-h" | "--help" => return Err(usage()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{}", usage())),
            _ if out.is_none() => out = Some(PathBuf::from(arg)),
            _ => return Err(usage()),
        }
    }
    args.out = out.ok_or_else(usage)?;
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut config = MixConfig::new(args.header, args.shape, args.seed, args.clock_ms);
    config.options.compress = args.compress;
    let mut temp_name = args.out.file_name().unwrap_or_default().to_os_string();
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = args.out.with_file_name(temp_name);
    let started = Instant::now();
    let written = File::create(&temp)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            mix::write(BufWriter::with_capacity(1 << 20, f), &config, args.size)
                .map_err(|e| e.to_string())
        })
        .and_then(|(file, summary)| {
            file.into_inner()
                .map_err(|e| e.to_string())?
                .sync_all()
                .map_err(|e| e.to_string())?;
            std::fs::rename(&temp, &args.out).map_err(|e| e.to_string())?;
            Ok(summary)
        });
    let summary = match written {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            eprintln!("gen_dump: {}: {e}", args.out.display());
            return ExitCode::from(1);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: {} {} dump, {} bytes, {} keys ({} expiring) in {:?}, {:.1}s ({:.0} MB/s)",
        args.out.display(),
        args.header.display(),
        args.shape.name(),
        summary.bytes,
        summary.keys,
        summary.expiring,
        summary.databases,
        secs,
        summary.bytes as f64 / secs / 1e6
    );
    for ((key_type, encoding), keys) in &summary.encodings {
        println!(
            "  {:<7} {:<11} {keys}",
            key_type.as_str(),
            encoding.as_str()
        );
    }
    ExitCode::SUCCESS
}
