//! Damaged input never panics, hangs or allocates wildly: truncations of every dump (at every
//! record boundary and at sampled offsets inside records) and single-byte flips must give an
//! error (or, for flips the format cannot detect, a clean result), every error must carry a
//! sensible byte offset, and absurd lengths must be refused before anything is sized by them.
//!
//! Walks are exact and quick: see `common/walk.rs`. To keep resumed walks honest, a
//! deterministic share of the cases is also walked from the first byte of the file, and both
//! walks must agree exactly.

mod common;
#[path = "common/walk.rs"]
mod walk;

use std::collections::HashSet;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rdbscope::rdb::{Checksum, Entry, Error, ErrorKind, Records};
use walk::{Baseline, Outcome, tracked, walk_from_start, walk_resumed};

// ---------------------------------------------------------------------------------------------
// Inputs

fn crate_dumps() -> Vec<PathBuf> {
    common::rdb_crate_dumps()
}

const MIN_FIXTURES: usize = 8;
const MIN_CRATE_DUMPS: usize = 25;

/// Every dump, intact and analysed, so the tests cannot pass vacuously on an empty list.
fn all_dumps() -> Vec<Baseline> {
    let fixtures = common::fixture_dumps();
    let crate_dumps = crate_dumps();
    assert!(
        fixtures.len() >= MIN_FIXTURES,
        "only {} testdata/*/dump.rdb fixtures found, expected at least {MIN_FIXTURES}",
        fixtures.len()
    );
    assert!(
        crate_dumps.len() >= MIN_CRATE_DUMPS,
        "only {} dumps in the rdb crate, expected at least {MIN_CRATE_DUMPS}",
        crate_dumps.len()
    );
    let fixtures = fixtures.iter().map(|p| {
        let dir = p.parent().and_then(Path::file_name).unwrap_or_default();
        (format!("testdata/{}", dir.to_string_lossy()), p)
    });
    let crate_dumps = crate_dumps.iter().map(|p| {
        let file = p.file_name().unwrap_or_default();
        (format!("rdb crate {}", file.to_string_lossy()), p)
    });
    fixtures
        .chain(crate_dumps)
        .map(|(name, path)| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
            Baseline::new(name, data)
        })
        .collect()
}

/// The longest one damaged input may take (a debug build walks the largest fixture from its
/// first byte in about 50 ms): anything slower is a hang or a quadratic walk in the making.
const PER_INPUT: Duration = Duration::from_secs(2);

/// Every how many cases a resumed walk is checked against a walk from the first byte.
const CROSS_CHECK_EVERY: u64 = 16;

/// Runs one damaged input through the walk, catching panics and timing it.
struct Runner {
    test: &'static str,
    current: Arc<Mutex<String>>,
    spliced: Vec<u8>,
    cases: u64,
    cross_checked: u64,
    failures: Vec<String>,
    slowest: (Duration, String),
    /// The largest allocation beyond the input's own size, with its size and case.
    largest_alloc: (usize, usize, String),
}

impl Runner {
    fn new(test: &'static str, current: Arc<Mutex<String>>) -> Runner {
        Runner {
            test,
            current,
            spliced: Vec::new(),
            cases: 0,
            cross_checked: 0,
            failures: Vec::new(),
            slowest: (Duration::ZERO, String::new()),
            largest_alloc: (0, 0, String::new()),
        }
    }

    /// Walks `data` (a damaged copy of `intact`'s dump, unchanged before entry `from`, or
    /// before the header ends when `from` is `None`) and returns the result; a panic is
    /// recorded as a failure and yields `None`.
    fn walk(
        &mut self,
        intact: &Baseline,
        data: &[u8],
        from: Option<usize>,
        changed: Option<&Range<u64>>,
        resync: bool,
        case: &str,
    ) -> Option<Result<Outcome, Error>> {
        self.cases += 1;
        *self.current.lock().unwrap() = format!("{}: {case}", intact.name);
        let started = Instant::now();
        let (result, largest) = tracked(|| {
            catch_unwind(AssertUnwindSafe(|| match from {
                Some(from) => walk_resumed(intact, &mut self.spliced, data, from, changed, resync),
                None => walk_from_start(data, Some(intact), changed),
            }))
        });
        let elapsed = started.elapsed();
        if elapsed > self.slowest.0 {
            self.slowest = (elapsed, format!("{}: {case}", intact.name));
        }
        if elapsed > PER_INPUT {
            let why = format!("took {elapsed:?}, more than {PER_INPUT:?}");
            self.fail(intact, data, changed, case, &why);
        }
        let excess = largest.saturating_sub(data.len());
        if excess > self.largest_alloc.0 || self.largest_alloc.2.is_empty() {
            self.largest_alloc = (excess, largest, format!("{}: {case}", intact.name));
        }
        let allowed = intact.largest_alloc.max(data.len()) + ALLOC_SLACK;
        if largest > allowed {
            let why = format!(
                "allocated {largest} bytes at once; the intact dump needs at most {} and the \
                 input is {} bytes",
                intact.largest_alloc,
                data.len()
            );
            self.fail(intact, data, changed, case, &why);
        }
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                self.fail(
                    intact,
                    data,
                    changed,
                    case,
                    &format!("panic: {}", message(&*panic)),
                );
                return None;
            }
        };
        if from.is_some() && self.cases.is_multiple_of(CROSS_CHECK_EVERY) {
            self.cross_checked += 1;
            match catch_unwind(AssertUnwindSafe(|| {
                walk_from_start(data, Some(intact), changed)
            })) {
                Ok(literal) if literal == result => {}
                Ok(literal) => self.fail(
                    intact,
                    data,
                    changed,
                    case,
                    &format!("the resumed walk gave {result:?}, a walk from the start {literal:?}"),
                ),
                Err(panic) => self.fail(
                    intact,
                    data,
                    changed,
                    case,
                    &format!("panic (walk from the start): {}", message(&*panic)),
                ),
            }
        }
        Some(result)
    }

    fn fail(
        &mut self,
        intact: &Baseline,
        data: &[u8],
        changed: Option<&Range<u64>>,
        case: &str,
        why: &str,
    ) {
        let around = changed.map_or(data.len().saturating_sub(16)..data.len(), |c| {
            c.start.saturating_sub(16) as usize..(c.end as usize + 16).min(data.len())
        });
        self.failures.push(format!(
            "{}: {case} ({} bytes): {why}\n    bytes {}..{}: {}",
            intact.name,
            data.len(),
            around.start,
            around.end,
            hex(&data[around.clone()])
        ));
    }

    fn finish(self) {
        eprintln!(
            "{}: {} walks ({} cross-checked from the start); slowest {:?} ({}); largest \
             allocation beyond the input's size: {} bytes over, {} in all ({})",
            self.test,
            self.cases,
            self.cross_checked,
            self.slowest.0,
            self.slowest.1,
            self.largest_alloc.0,
            self.largest_alloc.1,
            self.largest_alloc.2,
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} damaged inputs misbehaved; the first ones:\n{}",
            self.test,
            self.failures.len(),
            self.cases,
            self.failures
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a test body on its own thread and fails the test, naming the case at hand, if it has
/// not finished within `limit`: a hang must not hang the test run.
fn with_watchdog(test: &'static str, limit: Duration, body: fn(&mut Runner)) {
    let current = Arc::new(Mutex::new(String::from("loading the dumps")));
    let (done, finished) = mpsc::channel();
    let shared = Arc::clone(&current);
    std::thread::Builder::new()
        .name(test.into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let mut runner = Runner::new(test, shared);
                body(&mut runner);
                runner.finish();
            }));
            let _ = done.send(outcome);
        })
        .expect("spawning the test thread");
    match finished.recv_timeout(limit) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!(
            "{test}: not finished after {limit:?}; stuck at {}",
            current.lock().unwrap()
        ),
    }
}

const WATCHDOG: Duration = Duration::from_secs(120);

/// SplitMix64: a tiny seeded generator, so every run samples the same positions.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `range` (which must not be empty).
    fn below(&mut self, range: Range<u64>) -> u64 {
        range.start + self.next() % (range.end - range.start)
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation

fn truncated_is_an_error(
    runner: &mut Runner,
    intact: &Baseline,
    cut: u64,
    from: Option<usize>,
    lowest: u64,
    case: &str,
) {
    let data = &intact.data[..cut as usize];
    match runner.walk(intact, data, from, None, false, case) {
        None => {}
        Some(Ok(outcome)) => runner.fail(
            intact,
            data,
            None,
            case,
            &format!("the truncated dump walked cleanly: {outcome:?}"),
        ),
        Some(Err(e)) if e.offset > cut || e.offset < lowest => runner.fail(
            intact,
            data,
            None,
            case,
            &format!("error offset {} is outside {lowest}..={cut}: {e}", e.offset),
        ),
        Some(Err(_)) => {}
    }
}

#[test]
fn truncation_at_every_record_boundary_is_an_error() {
    with_watchdog(
        "truncation_at_every_record_boundary_is_an_error",
        WATCHDOG,
        |runner| {
            let started = Instant::now();
            let dumps = all_dumps();
            let mut boundaries = 0;
            for intact in &dumps {
                let len = intact.data.len() as u64;
                // Inside the header nothing can be resumed; those walks are short anyway.
                for cut in 0..intact.header_len {
                    truncated_is_an_error(runner, intact, cut, None, 0, &format!("cut at {cut}"));
                }
                for (i, span) in intact.spans.iter().enumerate() {
                    // A cut exactly at an entry's start fails reading its first byte, so the
                    // error is exactly there. Resume one entry earlier, so that a complete
                    // entry precedes the cut.
                    let b = span.start;
                    if b >= len {
                        continue;
                    }
                    boundaries += 1;
                    let from = i.checked_sub(1);
                    let case = format!("cut at entry boundary {b}");
                    truncated_is_an_error(runner, intact, b, from, b, &case);
                }
                // Inside the CRC trailer (or, without one, the EOF byte itself).
                let cut = len - 1;
                let from = Some(intact.spans.len() - 1);
                truncated_is_an_error(
                    runner,
                    intact,
                    cut,
                    from,
                    intact.eof_offset,
                    "cut before the last byte",
                );
            }
            eprintln!(
                "{} dumps ({} bytes), {boundaries} entry boundaries cut, in {:?}",
                dumps.len(),
                dumps.iter().map(|d| d.data.len()).sum::<usize>(),
                started.elapsed()
            );
        },
    );
}

/// Cuts sampled per dump (every interior offset when a dump has fewer).
const INTERIOR_CUTS_PER_DUMP: usize = 150;

#[test]
fn truncation_inside_records_is_an_error() {
    with_watchdog(
        "truncation_inside_records_is_an_error",
        WATCHDOG,
        |runner| {
            let started = Instant::now();
            let dumps = all_dumps();
            let mut rng = SplitMix64(0x7275_6e63_6174_6531);
            let mut cuts = 0;
            for intact in &dumps {
                let interior: u64 = intact.spans.iter().map(|s| s.end - s.start - 1).sum();
                let mut chosen: Vec<u64> = if interior as usize <= INTERIOR_CUTS_PER_DUMP {
                    intact
                        .spans
                        .iter()
                        .flat_map(|s| s.start + 1..s.end)
                        .collect()
                } else {
                    // Half by entry (every kind of record gets cut), half by byte (big records
                    // get cut in many places).
                    (0..INTERIOR_CUTS_PER_DUMP)
                        .map(|k| {
                            let span = if k % 2 == 0 {
                                loop {
                                    let s = intact.spans
                                        [rng.below(0..intact.spans.len() as u64) as usize];
                                    if s.end - s.start > 1 {
                                        break s;
                                    }
                                }
                            } else {
                                intact.spans[intact.entry_at(
                                    rng.below(intact.header_len..intact.data.len() as u64),
                                )]
                            };
                            if span.end - span.start > 1 {
                                rng.below(span.start + 1..span.end)
                            } else {
                                span.start + 1
                            }
                        })
                        .filter(|&c| c < intact.data.len() as u64)
                        .collect()
                };
                chosen.sort_unstable();
                chosen.dedup();
                for cut in chosen {
                    let from = intact.entry_at(cut);
                    let span = intact.spans[from];
                    if cut <= span.start {
                        continue;
                    }
                    cuts += 1;
                    let kind = if span.key { "key record" } else { "entry" };
                    let case = format!(
                        "cut at {cut} inside the {kind} at {}..{}",
                        span.start, span.end
                    );
                    truncated_is_an_error(runner, intact, cut, Some(from), span.start, &case);
                }
            }
            eprintln!(
                "{cuts} cuts inside entries of {} dumps, in {:?}",
                dumps.len(),
                started.elapsed()
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Byte flips

/// Dumps up to this size have every byte flipped; larger ones a sample.
const FLIP_EVERY_BYTE_UP_TO: usize = 1024;
/// Flipped positions sampled per larger dump, on top of the first 64 bytes...
const FLIP_SAMPLES: usize = 1000;
/// ... but fewer in the largest dumps, whose walks cost more: at most this many bytes over
/// all the sampled positions of one dump.
const FLIP_SAMPLED_BYTES: usize = 16_000_000;

#[test]
fn byte_flips_never_panic() {
    with_watchdog("byte_flips_never_panic", WATCHDOG, |runner| {
        let started = Instant::now();
        let dumps = all_dumps();
        let mut rng = SplitMix64(0x666c_6970_7321_2121);
        let (mut flips, mut caught, mut clean, mut unprotected) = (0, 0, 0, Vec::new());
        for intact in &dumps {
            let len = intact.data.len();
            let mut positions: Vec<u64> = if len <= FLIP_EVERY_BYTE_UP_TO {
                (0..len as u64).collect()
            } else {
                let mut p: Vec<u64> = (0..64).collect();
                let samples = FLIP_SAMPLES.min(FLIP_SAMPLED_BYTES / len);
                p.extend((0..samples).map(|k| {
                    if k % 2 == 0 {
                        let span = intact.spans[rng.below(0..intact.spans.len() as u64) as usize];
                        rng.below(span.start..span.end)
                    } else {
                        rng.below(0..len as u64)
                    }
                }));
                p
            };
            positions.sort_unstable();
            positions.dedup();
            let mut data = intact.data.clone();
            for pos in positions {
                for mask in [0xFF, 0x01] {
                    let byte = intact.data[pos as usize];
                    data[pos as usize] = byte ^ mask;
                    let (from, lowest) = if pos < intact.header_len {
                        (None, 0)
                    } else {
                        let from = intact.entry_at(pos);
                        (Some(from), intact.spans[from].start)
                    };
                    let case = format!(
                        "byte {pos} flipped from 0x{byte:02x} to 0x{:02x}",
                        byte ^ mask
                    );
                    let changed = pos..pos + 1;
                    flips += 1;
                    match runner.walk(intact, &data, from, Some(&changed), true, &case) {
                        None => {}
                        Some(Err(e)) if e.offset < lowest || e.offset > len as u64 => runner.fail(
                            intact,
                            &data,
                            Some(&changed),
                            &case,
                            &format!("error offset {} is outside {lowest}..={len}: {e}", e.offset),
                        ),
                        Some(Err(_)) => caught += 1,
                        Some(Ok(outcome)) if intact.has_crc() => match outcome.checksum {
                            // The flip chose a format version without the trailer: nothing
                            // can notice, but the trailer is reported as trailing bytes.
                            Checksum::Absent if outcome.trailing_bytes >= 8 => {
                                unprotected.push(format!("{}: {case}", intact.name));
                            }
                            _ => runner.fail(
                                intact,
                                &data,
                                Some(&changed),
                                &case,
                                &format!("the CRC-64 did not catch the flip: {outcome:?}"),
                            ),
                        },
                        Some(Ok(_)) => clean += 1,
                    }
                    data[pos as usize] = byte;
                }
            }
        }
        eprintln!(
            "{flips} byte flips in {} dumps in {:?}: {caught} errors, {clean} clean walks of \
             dumps without a checksum, {} header flips to a version without the CRC trailer: {}",
            dumps.len(),
            started.elapsed(),
            unprotected.len(),
            unprotected.join("; ")
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Absurd lengths

/// Allowance above the input's size for the walk's own small allocations (error messages,
/// the context, a key rendered for an error).
const ALLOC_SLACK: usize = 4096;

/// A minimal REDIS0011 dump: SELECTDB 0, `body`, EOF and a zero ("not computed") checksum.
/// `body` starts at offset 11.
fn handmade(body: &[u8]) -> Vec<u8> {
    [b"REDIS0011\xfe\x00", body, b"\xff\0\0\0\0\0\0\0\0"].concat()
}

/// Bytes of the length prefix starting with `first`.
fn len_width(first: u8) -> usize {
    match first {
        0x00..=0x3F | 0xC0..=0xFF => 1,
        0x40..=0x7F => 2,
        0x80 => 5,
        _ => 9,
    }
}

const HUGE_64: &[u8] = b"\x81\xff\xff\xff\xff\xff\xff\xff\xff";
const HUGE_32: &[u8] = b"\x80\xff\xff\xff\xff";

struct AbsurdCase {
    what: String,
    data: Vec<u8>,
    offset: u64,
    key: Option<String>,
    kind: fn(&ErrorKind) -> bool,
}

fn truncated(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Truncated { .. })
}
fn lzf(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Lzf(_))
}
fn corrupt(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Corrupt(_))
}
fn any(_: &ErrorKind) -> bool {
    true
}

fn handmade_cases() -> Vec<AbsurdCase> {
    let k = Some("k".to_string());
    let case = |what: &str, body: &[u8], offset, key: &Option<String>, kind| AbsurdCase {
        what: what.into(),
        data: handmade(body),
        offset,
        key: key.clone(),
        kind,
    };
    // Offsets: 11 type byte, 12 key length, 13 "k", 14 the value.
    let string = |len: &[u8]| [b"\x00\x01k", len, b"abc"].concat();
    // A ziplist of no entries whose zlbytes says 2 GB: zlbytes, zltail 10, zllen 0, end.
    let ziplist = b"\xff\xff\xff\x7f\x0a\x00\x00\x00\x00\x00\xff";
    // An intset of 2-byte members claiming 2^32-1 of them, holding one.
    let intset = b"\x02\x00\x00\x00\xff\xff\xff\xff\x05\x00";
    vec![
        case(
            "string of 2^64-1 bytes",
            &string(HUGE_64),
            23,
            &k,
            truncated,
        ),
        case(
            "string of 2^32-1 bytes",
            &string(HUGE_32),
            19,
            &k,
            truncated,
        ),
        case(
            "key of 2^64-1 bytes",
            &[b"\x00", HUGE_64, b"k"].concat(),
            21,
            &None,
            truncated,
        ),
        case(
            "LZF string declaring 2^64-1 bytes",
            &[b"\x00\x01k\xc3\x05", HUGE_64, b"\x04abcde"].concat(),
            14,
            &k,
            lzf,
        ),
        case(
            "LZF string declaring 64 bytes but holding 1",
            b"\x00\x01k\xc3\x02\x40\x40\x00A",
            14,
            &k,
            lzf,
        ),
        case(
            "LZF string declaring 88 times its 200 compressed bytes",
            &[
                &b"\x00\x01k\xc3\x40\xc8\x80\x00\x00\x44\xc0"[..],
                &[0x1F; 200][..],
            ]
            .concat(),
            14,
            &k,
            lzf,
        ),
        case(
            "LZF key declaring 2^64-1 bytes",
            &[b"\x00\xc3\x05", HUGE_64, b"\x04abcde\x01v"].concat(),
            12,
            &None,
            lzf,
        ),
        case(
            "set of 2^40 members and none present",
            b"\x02\x01k\x81\x00\x00\x01\x00\x00\x00\x00\x00",
            14,
            &k,
            corrupt,
        ),
        case(
            "hash of 2^64-1 fields",
            &[b"\x04\x01k", HUGE_64, b"\x01f\x01v"].concat(),
            14,
            &k,
            corrupt,
        ),
        case(
            "quicklist of 2^32-1 nodes",
            &[b"\x12\x01k", HUGE_32, b"\x02\x01x"].concat(),
            14,
            &k,
            corrupt,
        ),
        case(
            "stream of 2^64-1 nodes",
            &[b"\x15\x01k", HUGE_64].concat(),
            14,
            &k,
            corrupt,
        ),
        // The blob starts at 15, after its one-byte length; zlbytes is its first field.
        case(
            "ziplist whose zlbytes says 2 GB",
            &[b"\x0a\x01k\x0b", &ziplist[..]].concat(),
            15,
            &k,
            corrupt,
        ),
        // The intset's length field is at 15 + 4.
        case(
            "intset claiming 2^32-1 members",
            &[b"\x0b\x01k\x0a", &intset[..]].concat(),
            19,
            &k,
            corrupt,
        ),
    ]
}

/// A stream (format 1) whose one node's master entry claims 1000 fields in a 1 KB listpack
/// that holds 500 small integers: nothing may be sized by the claim before it is checked.
fn stream_claiming_many_fields() -> AbsurdCase {
    let mut listpack = vec![0, 0, 0, 0, 0xFF, 0xFF];
    listpack.extend_from_slice(&[0x01, 0x01, 0x00, 0x01]); // count 1, deleted 0
    listpack.extend_from_slice(&[0xC3, 0xE8, 0x02]); // master fields: 1000
    for _ in 0..500 {
        listpack.extend_from_slice(&[0x00, 0x01]);
    }
    listpack.push(0xFF);
    let total = listpack.len() as u32;
    listpack[..4].copy_from_slice(&total.to_le_bytes());
    let mut body = b"\x0f\x01k\x01\x10".to_vec(); // type 15, key, one node, 16-byte id
    body.extend_from_slice(&[0; 16]);
    body.extend_from_slice(&[0x40 | (total >> 8) as u8, total as u8]);
    body.extend_from_slice(&listpack);
    body.extend_from_slice(b"\x00\x00\x00\x00"); // length, last id, no groups
    let data = handmade(&body);
    // Offsets: 14 node count, 15 id length, 16 id, 32 listpack length, 34 the listpack.
    AbsurdCase {
        what: "stream node claiming 1000 master fields".into(),
        offset: 34,
        key: Some("k".into()),
        kind: any,
        data,
    }
}

/// Absurd lengths patched into a dump: the first string's length, collection count, LZF
/// declared length and listpack `total_bytes`, each made 2^64-1 (and 2^32-1 for the string).
/// Each case comes with the index of the entry it patches, where its walk resumes.
fn patched_cases(intact: &Baseline) -> Vec<(usize, AbsurdCase)> {
    let data = &intact.data;
    let mut cases = Vec::new();
    let mut seen = HashSet::new();
    for entry in Records::new(data).expect("intact dump") {
        let Entry::Key(record) = entry.expect("intact dump") else {
            continue;
        };
        let from = intact.by_start[&record.offset];
        let at = record.payload_offset as usize;
        let first = record.payload[0];
        let width = len_width(first);
        // As errors render keys (long ones cut).
        let key = Error::corrupt(0, "").in_key(&record.key).key;
        let patch = |range: Range<usize>, with: &[u8]| {
            [&data[..range.start], with, &data[range.end..]].concat()
        };
        let what = |what: &str| format!("{what} of key {:?} at {at}", key.as_deref().unwrap_or(""));
        match record.type_byte {
            0 if first < 0xC0 && seen.insert("string") => {
                for huge in [HUGE_64, HUGE_32] {
                    let case = AbsurdCase {
                        what: what(&format!("string length {}", hex(huge))),
                        data: patch(at..at + width, huge),
                        offset: (at + huge.len()) as u64,
                        key: key.clone(),
                        kind: truncated,
                    };
                    cases.push((from, case));
                }
            }
            0 if first == 0xC3 && seen.insert("lzf") => {
                let clen = at + 1;
                let ulen = clen + len_width(data[clen]);
                let case = AbsurdCase {
                    what: what("LZF declared length"),
                    data: patch(ulen..ulen + len_width(data[ulen]), HUGE_64),
                    offset: at as u64,
                    key: key.clone(),
                    kind: lzf,
                };
                cases.push((from, case));
            }
            1 | 2 | 4 | 5 | 18 if first < 0xC0 && seen.insert("count") => {
                let case = AbsurdCase {
                    what: what(&format!("count of type {}", record.type_byte)),
                    data: patch(at..at + width, HUGE_64),
                    offset: at as u64,
                    key: key.clone(),
                    kind: corrupt,
                };
                cases.push((from, case));
            }
            16 | 17 | 20 if first < 0xC0 && seen.insert("listpack") => {
                // The listpack's total_bytes is the first field of the blob.
                let blob = at + width;
                let case = AbsurdCase {
                    what: what("listpack total_bytes"),
                    data: patch(blob..blob + 4, b"\xff\xff\xff\xff"),
                    offset: blob as u64,
                    key: key.clone(),
                    kind: corrupt,
                };
                cases.push((from, case));
            }
            _ => {}
        }
    }
    cases
}

#[test]
fn huge_lengths_patched_into_every_dump_are_rejected_without_allocating() {
    with_watchdog(
        "huge_lengths_patched_into_every_dump_are_rejected_without_allocating",
        WATCHDOG,
        |runner| {
            let started = Instant::now();
            let dumps = all_dumps();
            let mut kinds = std::collections::BTreeMap::<String, usize>::new();
            for intact in &dumps {
                for (from, case) in patched_cases(intact) {
                    *kinds
                        .entry(case.what.split(' ').next().unwrap().to_string())
                        .or_default() += 1;
                    // The patch is inside the record, which must be inspected again.
                    let record = intact.spans[from];
                    let changed = record.start..record.end;
                    let Some(result) = runner.walk(
                        intact,
                        &case.data,
                        Some(from),
                        Some(&changed),
                        false,
                        &case.what,
                    ) else {
                        continue;
                    };
                    let why = match result {
                        Ok(outcome) => format!("walked cleanly: {outcome:?}"),
                        Err(e) if e.offset != case.offset => {
                            format!("error at byte {}, expected {}: {e}", e.offset, case.offset)
                        }
                        Err(e) if !(case.kind)(&e.kind) || e.key != case.key => {
                            format!("unexpected error (key {:?}): {e}", e.key)
                        }
                        Err(_) => continue,
                    };
                    runner.fail(intact, &case.data, Some(&changed), &case.what, &why);
                }
            }
            // Every kind of patch is exercised somewhere.
            for kind in ["string", "LZF", "count", "listpack"] {
                assert!(
                    kinds.get(kind).is_some_and(|&n| n >= 3),
                    "{kind}: {kinds:?}"
                );
            }
            eprintln!(
                "absurd lengths patched into {} dumps: {kinds:?}, in {:?}",
                dumps.len(),
                started.elapsed()
            );
        },
    );
}

#[test]
fn huge_lengths_are_rejected_without_allocating() {
    let started = Instant::now();
    let mut cases = handmade_cases();
    cases.push(stream_claiming_many_fields());
    let mut failures = Vec::new();
    for case in &cases {
        let t = Instant::now();
        let (result, largest) =
            tracked(|| catch_unwind(AssertUnwindSafe(|| walk_from_start(&case.data, None, None))));
        let elapsed = t.elapsed();
        let limit = case.data.len() + ALLOC_SLACK;
        let mut problems = Vec::new();
        match result {
            Err(panic) => problems.push(format!("panic: {}", message(&*panic))),
            Ok(Ok(outcome)) => problems.push(format!("walked cleanly: {outcome:?}")),
            Ok(Err(e)) => {
                if e.offset != case.offset {
                    problems.push(format!(
                        "error at byte {}, expected {}",
                        e.offset, case.offset
                    ));
                }
                if !(case.kind)(&e.kind) {
                    problems.push(format!("unexpected kind {:?}", e.kind));
                }
                if e.key != case.key {
                    problems.push(format!("key {:?}, expected {:?}", e.key, case.key));
                }
                if !problems.is_empty() {
                    problems.push(format!("the error: {e}"));
                }
            }
        }
        if largest > limit {
            problems.push(format!(
                "allocated {largest} bytes at once for a {}-byte input",
                case.data.len()
            ));
        }
        if elapsed > Duration::from_millis(500) {
            problems.push(format!("took {elapsed:?}"));
        }
        if !problems.is_empty() {
            let head = &case.data[..case.data.len().min(96)];
            failures.push(format!(
                "{}: {}\n    first bytes: {}",
                case.what,
                problems.join("; "),
                hex(head)
            ));
        }
    }
    eprintln!(
        "{} absurd-length inputs ({} handmade) checked in {:?}",
        cases.len(),
        handmade_cases().len() + 1,
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The command line under a memory limit

/// Address space the whole process may use: a dump of half a megabyte, however damaged, is
/// analysed well within it (intact runs need under 64 MiB, thread stacks included).
const CLI_ADDRESS_SPACE: u64 = 128 << 20;

/// Runs rdbscope with its address space limited: an allocation sized by a hostile length
/// would fail and abort the process, which the exit status shows.
fn rdbscope_limited(args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rdbscope"));
    command.args(args);
    // SAFETY: setrlimit is async-signal-safe and touches no state of the parent.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: CLI_ADDRESS_SPACE,
                rlim_max: CLI_ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    command.output().unwrap()
}

#[test]
fn the_command_line_stays_within_a_memory_limit() {
    let path = common::fixture("redis-7.0");
    let intact = Baseline::new("testdata/redis-7.0".into(), std::fs::read(&path).unwrap());
    let ok = rdbscope_limited(&["info", path.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = common::temp_dir("memory-limit");
    let cases = patched_cases(&intact);
    assert!(cases.len() >= 4);
    for (i, (_, case)) in cases.iter().enumerate() {
        let damaged = dir.join(format!("case-{i}.rdb"));
        std::fs::write(&damaged, &case.data).unwrap();
        for command in ["info", "keys"] {
            let out = rdbscope_limited(&[command, damaged.to_str().unwrap()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command} {}: {err}", case.what);
            assert!(
                err.contains(&format!("at byte {}", case.offset)),
                "{command} {}: {err}",
                case.what
            );
            let kept = rdbscope_limited(&[command, damaged.to_str().unwrap(), "--keep-going"]);
            assert_eq!(
                kept.status.code(),
                Some(3),
                "{command} {} --keep-going",
                case.what
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Found by the sweep: one flipped bit in a MODULE_AUX value of the Redis Stack dump sends
/// the splitter into reading half a megabyte as one key; rendering that key for the error
/// allocated twice its size, and printed it whole across many lines.
#[test]
fn a_key_made_of_half_the_file_is_reported_in_one_short_line() {
    let mut data = std::fs::read(common::fixture("redis-stack-7.4")).unwrap();
    data[107] ^= 0x01;
    let (result, largest) = tracked(|| walk_from_start(&data, None, None));
    let err = result.unwrap_err();
    assert_eq!(err.offset, 524_551);
    assert!(
        largest <= data.len() + ALLOC_SLACK,
        "allocated {largest} bytes at once"
    );
    let message = err.to_string();
    assert!(message.len() < 1024 && !message.contains('\n'), "{message}");
    assert!(
        message.contains("... (524371 bytes)\"): invalid string encoding 0xc8"),
        "{message}"
    );
}
