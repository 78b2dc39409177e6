//! The exhaustive damage sweep behind `tests/robustness.rs`, too long for `cargo test`:
//!
//! ```sh
//! cargo run --release --example sweep -- testdata/*/dump.rdb
//! ```
//!
//! For every dump: a truncation at every byte offset, and two flips of every byte (all bits,
//! and the lowest bit). Each damaged copy is walked as a full analysis would (split, inspect
//! every record, verify the CRC-64) and must end in an error whose offset lies in the damaged
//! entry, or in a clean result where the format cannot notice (no checksum). It must take at
//! most `PER_INPUT` and allocate at most what the intact dump needs (or its own size) plus a
//! little. Prints figures per dump and in all; exits 1 if any input misbehaved.
//!
//! Walks resume at the damaged entry (see tests/common/walk.rs). Two shortcuts make a million
//! walks per dump affordable, both exact:
//! - the walk reads a window of the file, from the damaged entry to a little past the first
//!   intact boundary after the change; only a truncation error can be an artefact of the
//!   window, and one makes the walk start over on the whole rest of the file;
//! - a single-byte flip whose walk gets back onto the intact dump's entry boundaries parses
//!   like the intact dump from there on, and its CRC-64 then differs from the stored one: a
//!   64-bit CRC detects every error burst of up to 64 bits, so the mismatch is certain and is
//!   counted as caught by the checksum, without computing the rest of the file's CRC.

#[path = "../tests/common/walk.rs"]
mod walk;

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use rdbscope::rdb::crc64::crc64;
use rdbscope::rdb::{Checksum, Context, Entry, Error, ErrorKind, Item, Records, Scratch};
use rdbscope::rdb::{inspect, records};
use walk::{Baseline, overlaps, same_context, tracked, untracked, walk_from_start};

/// The longest one damaged input may take in a release build.
const PER_INPUT: Duration = Duration::from_millis(500);
/// Allowance above the larger of the intact dump's largest allocation and the input's size.
const ALLOC_SLACK: usize = 4096;
/// Bytes read past the first intact boundary after the change.
const WINDOW: u64 = 64 << 10;
/// Failures printed per dump.
const SHOWN: usize = 10;

/// How a damaged copy's walk ended.
enum Verdict {
    Error(Error),
    /// Ran to EOF with this checksum status.
    Clean(Checksum),
    /// Back on the intact dump's boundaries after a flip: the CRC-64 catches it, if any.
    Resynced,
}

/// Figures of one dump (or all).
#[derive(Default)]
struct Figures {
    bytes: u64,
    truncations: u64,
    flips: u64,
    errors: u64,
    crc_caught: u64,
    clean: u64,
    failures: Vec<String>,
    failure_count: u64,
    slowest: (Duration, String),
    largest_excess: (usize, String),
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.bytes += other.bytes;
        self.truncations += other.truncations;
        self.flips += other.flips;
        self.errors += other.errors;
        self.crc_caught += other.crc_caught;
        self.clean += other.clean;
        self.failure_count += other.failure_count;
        if other.slowest.0 > self.slowest.0 {
            self.slowest = other.slowest;
        }
        if other.largest_excess.0 > self.largest_excess.0 {
            self.largest_excess = other.largest_excess;
        }
    }

    fn fail(&mut self, case: String) {
        self.failure_count += 1;
        if self.failures.len() < SHOWN {
            self.failures.push(case);
        }
    }
}

struct Sweeper<'a> {
    intact: &'a Baseline,
    spliced: Vec<u8>,
    figures: Figures,
}

impl Sweeper<'_> {
    /// Walks one damaged copy and checks time and memory; `None` after a panic.
    fn probe(
        &mut self,
        data: &[u8],
        changed: Range<u64>,
        flip: bool,
        case: &str,
    ) -> Option<Verdict> {
        let intact = self.intact;
        let started = Instant::now();
        let spliced = &mut self.spliced;
        let (verdict, largest) = tracked(|| {
            catch_unwind(AssertUnwindSafe(|| {
                if changed.start < intact.header_len {
                    // The header decides everything after it: walk the whole file.
                    return match walk_from_start(data, Some(intact), Some(&changed)) {
                        Ok(outcome) => Verdict::Clean(outcome.checksum),
                        Err(e) => Verdict::Error(e),
                    };
                }
                let from = intact.entry_at(changed.start);
                resumed(intact, spliced, data, from, &changed, flip, true)
                    .or_else(|| resumed(intact, spliced, data, from, &changed, flip, false))
                    .expect("a walk of the whole rest ends")
            }))
        });
        let elapsed = started.elapsed();
        if elapsed > self.figures.slowest.0 {
            self.figures.slowest = (elapsed, case.to_string());
        }
        if elapsed > PER_INPUT {
            self.figures.fail(format!("{case}: took {elapsed:?}"));
        }
        let excess = largest.saturating_sub(data.len());
        if excess > self.figures.largest_excess.0 {
            self.figures.largest_excess = (excess, case.to_string());
        }
        let allowed = intact.largest_alloc.max(data.len()) + ALLOC_SLACK;
        if largest > allowed {
            self.figures.fail(format!(
                "{case}: allocated {largest} bytes at once (allowed {allowed})"
            ));
        }
        match verdict {
            Ok(verdict) => Some(verdict),
            Err(_) => {
                self.figures.fail(format!("{case}: panicked"));
                None
            }
        }
    }

    fn truncations(&mut self) {
        let data = &self.intact.data;
        for cut in 0..data.len() as u64 {
            let case = format!("{}: cut at {cut}", self.intact.name);
            self.figures.truncations += 1;
            // Nothing changed, the tail is gone: the entry holding the cut is the damaged one.
            let lowest = if cut < self.intact.header_len {
                0
            } else {
                self.intact.spans[self.intact.entry_at(cut)].start
            };
            match self.probe(&data[..cut as usize], cut..cut, false, &case) {
                None => {}
                Some(Verdict::Error(e)) if (lowest..=cut).contains(&e.offset) => {
                    self.figures.errors += 1
                }
                Some(Verdict::Error(e)) => self
                    .figures
                    .fail(format!("{case}: error outside {lowest}..={cut}: {e}")),
                Some(_) => self.figures.fail(format!("{case}: no error")),
            }
        }
    }

    fn flips(&mut self) {
        let intact = self.intact;
        let mut data = intact.data.clone();
        let len = data.len() as u64;
        for pos in 0..len {
            let byte = intact.data[pos as usize];
            for mask in [0xFF, 0x01] {
                data[pos as usize] = byte ^ mask;
                let case = format!("{}: byte {pos} ^ 0x{mask:02x}", intact.name);
                self.figures.flips += 1;
                let lowest = if pos < intact.header_len {
                    0
                } else {
                    intact.spans[intact.entry_at(pos)].start
                };
                match self.probe(&data, pos..pos + 1, true, &case) {
                    None => {}
                    Some(Verdict::Error(e)) if (lowest..=len).contains(&e.offset) => {
                        self.figures.errors += 1
                    }
                    Some(Verdict::Error(e)) => self
                        .figures
                        .fail(format!("{case}: error outside {lowest}..={len}: {e}")),
                    Some(Verdict::Resynced) if intact.has_crc() => self.figures.crc_caught += 1,
                    Some(Verdict::Clean(Checksum::Valid(_))) if intact.has_crc() => self
                        .figures
                        .fail(format!("{case}: the CRC-64 did not catch it")),
                    Some(_) => self.figures.clean += 1,
                }
            }
            data[pos as usize] = byte;
        }
    }
}

/// A walk resumed at entry `from` of a copy of `intact` changed in `changed` (a truncation:
/// an empty range at the cut). With `windowed`, only a window of the file is read, and
/// `None` says the window was too small.
fn resumed(
    intact: &Baseline,
    spliced: &mut Vec<u8>,
    data: &[u8],
    from: usize,
    changed: &Range<u64>,
    flip: bool,
    windowed: bool,
) -> Option<Verdict> {
    let start = intact.spans[from].start;
    let header_len = intact.header_len;
    let delta = start - header_len;
    let shift = |mut e: Error| {
        e.offset += delta;
        e
    };
    let end = if windowed {
        let next = intact.spans[intact.entry_at(changed.end.min(intact.eof_offset))].end;
        (next + WINDOW).min(data.len() as u64)
    } else {
        data.len() as u64
    };
    untracked(|| {
        spliced.clear();
        spliced.extend_from_slice(&data[..header_len as usize]);
        spliced.extend_from_slice(&data[start as usize..end as usize]);
    });
    let ctx = Context::for_dump(data).expect("the header is intact");
    let memo = same_context(&intact.ctx, &ctx);
    let mut records = Records::new(spliced).expect("the header is intact");
    let mut scratch = Scratch::default();
    let window_too_small = |e: &Error| {
        windowed && (end as usize) < data.len() && matches!(e.kind, ErrorKind::Truncated { .. })
    };
    loop {
        let at = records.offset() + delta;
        if flip && at >= changed.end && intact.by_start.contains_key(&at) {
            return Some(Verdict::Resynced);
        }
        let entry = match records.next().expect("entries end in an error or EOF") {
            Ok(entry) => entry,
            Err(e) if window_too_small(&e) => return None,
            Err(e) => return Some(Verdict::Error(shift(e))),
        };
        match entry {
            Entry::Key(record) => {
                let offset = record.offset + delta;
                let span = offset..offset + record.rdb_bytes;
                let known = memo
                    && intact.clean_keys.contains(&(offset, record.rdb_bytes))
                    && !overlaps(changed, &span);
                if !known && let Err(e) = inspect(&record, &ctx, &mut scratch) {
                    return Some(Verdict::Error(shift(e)));
                }
            }
            Entry::Other(Item::Eof {
                offset, checksum, ..
            }) => {
                if windowed && (end as usize) < data.len() {
                    return None; // the trailing bytes were cut off by the window
                }
                let eof = offset + delta;
                let checksum = match checksum {
                    Some(stored) => {
                        let computed = crc64(
                            intact.crc_before[from],
                            &data[start as usize..=eof as usize],
                        );
                        match records::verify_checksum(data, eof, stored, Some(computed)) {
                            Ok(checksum) => checksum,
                            Err(e) => return Some(Verdict::Error(e)),
                        }
                    }
                    None => Checksum::Absent,
                };
                return Some(Verdict::Clean(checksum));
            }
            Entry::Other(_) => {}
        }
    }
}

fn max_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: sweep DUMP...");
        std::process::exit(2);
    }
    let started = Instant::now();
    let mut total = Figures::default();
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6} {:>10} {:>9}",
        "dump", "bytes", "cuts", "flips", "errors", "crc", "clean", "fail", "slowest", "alloc+"
    );
    for path in &paths {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let name = Path::new(path)
            .parent()
            .and_then(Path::file_name)
            .filter(|_| path.ends_with("dump.rdb"))
            .or_else(|| Path::new(path).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.clone());
        let intact = Baseline::new(name.clone(), data);
        let mut sweeper = Sweeper {
            intact: &intact,
            spliced: Vec::new(),
            figures: Figures {
                bytes: intact.data.len() as u64,
                ..Figures::default()
            },
        };
        sweeper.truncations();
        sweeper.flips();
        let f = sweeper.figures;
        println!(
            "{:<34} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6} {:>10.1?} {:>9}",
            name,
            f.bytes,
            f.truncations,
            f.flips,
            f.errors,
            f.crc_caught,
            f.clean,
            f.failure_count,
            f.slowest.0,
            f.largest_excess.0
        );
        for failure in &f.failures {
            println!("    {failure}");
        }
        total.add(f);
    }
    println!(
        "{} dumps, {} bytes: {} truncations and {} flips in {:.1?}: {} errors at the damage, {} \
         flips caught by the CRC-64, {} clean walks (no checksum), {} misbehaved; slowest \
         input {:?} ({}); largest allocation beyond an input's size {} bytes ({}); max RSS \
         {} MiB",
        paths.len(),
        total.bytes,
        total.truncations,
        total.flips,
        started.elapsed(),
        total.errors,
        total.crc_caught,
        total.clean,
        total.failure_count,
        total.slowest.0,
        total.slowest.1,
        total.largest_excess.0,
        total.largest_excess.1,
        max_rss_kib() / 1024
    );
    if total.failure_count > 0 {
        std::process::exit(1);
    }
}
