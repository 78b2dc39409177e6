//! Damaged input never panics, hangs or allocates wildly: truncations of every dump (at every
//! record boundary and at sampled offsets inside records) and single-byte flips must give an
//! error (or, for flips the format cannot detect, a clean result), every error must carry a
//! sensible byte offset, and absurd lengths must be refused before anything is sized by them.
//!
//! A "walk" is what a full analysis does with a dump: split every entry, inspect every key
//! record, and verify the CRC-64 trailer at EOF. Walking a 570 KB fixture from the start for
//! each of thousands of mutations would take minutes in a debug build, so most walks resume at
//! the last entry boundary before the first changed byte. This is exact, not an approximation:
//! the splitter is a left-to-right fold whose only state carried between entries is the
//! database number (which no error depends on), so the entries before that boundary split
//! exactly as in the intact dump; inspection is a pure function of a record's bytes, its
//! offset and the context, so a record byte-identical to one that inspected cleanly is not
//! inspected again; and the CRC is continued from its value at the boundary
//! (`crc64(crc64(0, a), b) == crc64(0, a ++ b)`). A resumed walk also stops at the first
//! entry boundary it shares with the intact dump past the changed byte, since from there on
//! the input is the intact dump's. To keep this honest, a deterministic share of the cases is
//! also walked from the first byte of the file, and both walks must agree exactly.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rdbscope::rdb::crc64::crc64;
use rdbscope::rdb::{
    Checksum, Context, Entry, Error, ErrorKind, Item, Records, Scratch, inspect, records,
};

// ---------------------------------------------------------------------------------------------
// Allocation tracking

/// The system allocator, noting the largest single request made by the current thread while
/// that thread has tracking switched on. Tests run on parallel threads, so the state is
/// per thread; the cells are const-initialised and need no destructor, so touching them from
/// inside the allocator never allocates.
struct Tracking;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = TRACKING.try_with(|on| {
        if on.get() {
            let _ = LARGEST.try_with(|max| max.set(max.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` with tracking off (for the test's own copies of the input).
fn untracked<T>(f: impl FnOnce() -> T) -> T {
    let was = TRACKING.with(|t| t.replace(false));
    let out = f();
    TRACKING.with(|t| t.set(was));
    out
}

/// Runs `f` with tracking on and returns its result and the largest single allocation it made.
fn tracked<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|m| m.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, LARGEST.with(Cell::get))
}

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

// ---------------------------------------------------------------------------------------------
// Walking

/// How a walk that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    checksum: Checksum,
    trailing_bytes: u64,
}

/// One entry of an intact dump: where it starts and ends, and whether it is a key.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    end: u64,
    key: bool,
}

/// An intact dump and what a walk of it found.
struct Baseline {
    name: String,
    data: Vec<u8>,
    header_len: u64,
    ctx: Context,
    /// Entries in file order, the EOF item last.
    spans: Vec<Span>,
    /// Entry index by start offset.
    by_start: HashMap<u64, usize>,
    /// `crc64(0, data[..start])` for each entry.
    crc_before: Vec<u64>,
    /// Key records as (offset, bytes): they all inspected cleanly.
    clean_keys: HashSet<(u64, u64)>,
    eof_offset: u64,
    stored_checksum: Option<u64>,
    outcome: Outcome,
    /// The largest single allocation of a walk of the intact dump (decompressed LZF strings
    /// may exceed the file's size).
    largest_alloc: usize,
}

impl Baseline {
    fn new(name: String, data: Vec<u8>) -> Baseline {
        let (outcome, largest_alloc) = tracked(|| walk_from_start(&data, None, None));
        let outcome =
            outcome.unwrap_or_else(|e| panic!("{name}: the intact dump does not walk: {e}"));
        let ctx = Context::for_dump(&data).expect("checked by the walk");
        let mut records = Records::new(&data).expect("checked by the walk");
        let header_len = records.offset();
        let mut spans = Vec::new();
        let mut clean_keys = HashSet::new();
        let (mut eof_offset, mut stored_checksum) = (0, None);
        loop {
            let start = records.offset();
            let Some(entry) = records.next() else { break };
            let key = match entry.expect("checked by the walk") {
                Entry::Key(record) => {
                    assert_eq!(record.offset, start, "{name}: record offset");
                    clean_keys.insert((record.offset, record.rdb_bytes));
                    true
                }
                Entry::Other(Item::Eof {
                    offset, checksum, ..
                }) => {
                    (eof_offset, stored_checksum) = (offset, checksum);
                    false
                }
                Entry::Other(_) => false,
            };
            spans.push(Span {
                start,
                end: records.offset(),
                key,
            });
        }
        let by_start = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.start, i))
            .collect();
        let mut crc_before = Vec::with_capacity(spans.len());
        let mut crc = crc64(0, &data[..header_len as usize]);
        for span in &spans {
            crc_before.push(crc);
            crc = crc64(crc, &data[span.start as usize..span.end as usize]);
        }
        Baseline {
            name,
            data,
            header_len,
            ctx,
            spans,
            by_start,
            crc_before,
            clean_keys,
            eof_offset,
            stored_checksum,
            outcome,
            largest_alloc,
        }
    }

    /// Whether a flip anywhere must be caught: the trailer holds a real checksum.
    fn has_crc(&self) -> bool {
        self.stored_checksum.is_some_and(|c| c != 0)
    }

    /// Index of the entry holding byte `pos` (`pos` at or past the header).
    fn entry_at(&self, pos: u64) -> usize {
        self.spans.partition_point(|s| s.start <= pos) - 1
    }
}

fn same_context(a: &Context, b: &Context) -> bool {
    a.header == b.header
        && a.server == b.server
        && a.list_max_listpack_size == b.list_max_listpack_size
}

/// A literal walk of `data` from its first byte. With `intact` given, a record byte-identical
/// to a record of the intact dump (same offset and length, no byte in `changed`, same
/// context) is not inspected again: it inspected cleanly there, and inspection depends on
/// nothing else.
fn walk_from_start(
    data: &[u8],
    intact: Option<&Baseline>,
    changed: Option<&Range<u64>>,
) -> Result<Outcome, Error> {
    let ctx = Context::for_dump(data)?;
    let memo = intact.filter(|b| same_context(&b.ctx, &ctx));
    let mut scratch = Scratch::default();
    for entry in Records::new(data)? {
        match entry? {
            Entry::Key(record) => {
                let span = record.offset..record.offset + record.rdb_bytes;
                let known = memo.is_some_and(|b| {
                    b.clean_keys.contains(&(record.offset, record.rdb_bytes))
                        && changed.iter().all(|c| !overlaps(c, &span))
                });
                if !known {
                    inspect(&record, &ctx, &mut scratch)?;
                }
            }
            Entry::Other(Item::Eof {
                offset,
                checksum,
                trailing_bytes,
            }) => {
                let checksum = match checksum {
                    Some(stored) => records::verify_checksum(data, offset, stored, None)?,
                    None => Checksum::Absent,
                };
                return Ok(Outcome {
                    checksum,
                    trailing_bytes,
                });
            }
            Entry::Other(_) => {}
        }
    }
    panic!("the entries ended without an error or an EOF item");
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The walk of `data`, a copy of `intact`'s dump with nothing changed before the start of
/// entry `from`, resumed at that entry (see the module comment). `changed` is the byte range
/// that differs; a truncation changes none, it only removes the tail. `resync` allows the
/// walk to stop once it is back on the intact dump's entry boundaries past every change.
/// `spliced` is a reusable buffer.
fn walk_resumed(
    intact: &Baseline,
    spliced: &mut Vec<u8>,
    data: &[u8],
    from: usize,
    changed: Option<&Range<u64>>,
    resync: bool,
) -> Result<Outcome, Error> {
    let start = intact.spans[from].start;
    let header_len = intact.header_len;
    let delta = start - header_len;
    let shift = |mut e: Error| {
        e.offset += delta;
        e
    };
    let ctx = Context::for_dump(data)?;
    let memo = same_context(&intact.ctx, &ctx);
    let last_change = changed.map_or(0, |c| c.end);
    // The header, then the file from the entry on: the splitter sees the same bytes in the
    // same order, `delta` bytes earlier.
    untracked(|| {
        spliced.clear();
        spliced.extend_from_slice(&data[..header_len as usize]);
        spliced.extend_from_slice(&data[start as usize..]);
    });
    let spliced = &spliced[..];
    let mut records = Records::new(spliced).map_err(shift)?;
    let mut scratch = Scratch::default();
    let checksum = |eof: u64, stored: u64| -> Result<Checksum, Error> {
        let computed = crc64(
            intact.crc_before[from],
            &data[start as usize..=eof as usize],
        );
        records::verify_checksum(data, eof, stored, Some(computed))
    };
    loop {
        let at = records.offset() + delta;
        if resync && at >= last_change && intact.by_start.contains_key(&at) {
            // Back in step with the intact dump, past every change: the rest is its bytes.
            let checksum = match intact.stored_checksum {
                Some(stored) => checksum(intact.eof_offset, stored)?,
                None => Checksum::Absent,
            };
            return Ok(Outcome {
                checksum,
                trailing_bytes: intact.outcome.trailing_bytes,
            });
        }
        let Some(entry) = records.next() else {
            panic!("the entries ended without an error or an EOF item");
        };
        match entry.map_err(shift)? {
            Entry::Key(record) => {
                let offset = record.offset + delta;
                let span = offset..offset + record.rdb_bytes;
                let known = memo
                    && intact.clean_keys.contains(&(offset, record.rdb_bytes))
                    && changed.iter().all(|c| !overlaps(c, &span));
                if !known {
                    inspect(&record, &ctx, &mut scratch).map_err(shift)?;
                }
            }
            Entry::Other(Item::Eof {
                offset,
                checksum: stored,
                trailing_bytes,
            }) => {
                let checksum = match stored {
                    Some(stored) => checksum(offset + delta, stored)?,
                    None => Checksum::Absent,
                };
                return Ok(Outcome {
                    checksum,
                    trailing_bytes,
                });
            }
            Entry::Other(_) => {}
        }
    }
}

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

/// Absurd lengths patched into the smallest fixture: a string's length, a collection's count
/// and an LZF string's declared length, each made 2^64-1 (and 2^32-1 for the string).
fn patched_fixture_cases() -> Vec<AbsurdCase> {
    let mut fixtures: Vec<(Vec<u8>, String)> = common::fixture_dumps()
        .into_iter()
        .map(|p| {
            let name = p.parent().and_then(Path::file_name).unwrap_or_default();
            let name = format!("testdata/{}", name.to_string_lossy());
            (std::fs::read(&p).expect("readable fixture"), name)
        })
        .collect();
    fixtures.sort_by_key(|(data, _)| data.len());
    let (data, name) = fixtures.into_iter().next().expect("a fixture");
    let mut cases = Vec::new();
    let mut seen = HashSet::new();
    for entry in Records::new(&data).expect("intact fixture") {
        let Entry::Key(record) = entry.expect("intact fixture") else {
            continue;
        };
        let at = record.payload_offset as usize;
        let first = record.payload[0];
        let width = len_width(first);
        let key = Some(rdbscope::rdb::escape_key(&record.key));
        let patch = |range: Range<usize>, with: &[u8]| {
            [&data[..range.start], with, &data[range.end..]].concat()
        };
        let what = |what: &str| {
            format!(
                "{name}: {what} of key {:?} at {at}",
                key.as_deref().unwrap_or("")
            )
        };
        match record.type_byte {
            0 if first < 0xC0 && seen.insert("string") => {
                for huge in [HUGE_64, HUGE_32] {
                    cases.push(AbsurdCase {
                        what: what(&format!("string length {}", hex(huge))),
                        data: patch(at..at + width, huge),
                        offset: (at + huge.len()) as u64,
                        key: key.clone(),
                        kind: truncated,
                    });
                }
            }
            0 if first == 0xC3 && seen.insert("lzf") => {
                let clen = at + 1;
                let ulen = clen + len_width(data[clen]);
                cases.push(AbsurdCase {
                    what: what("LZF declared length"),
                    data: patch(ulen..ulen + len_width(data[ulen]), HUGE_64),
                    offset: at as u64,
                    key: key.clone(),
                    kind: lzf,
                });
            }
            1 | 2 | 4 | 5 | 18 if first < 0xC0 && seen.insert("count") => {
                cases.push(AbsurdCase {
                    what: what(&format!("count of type {}", record.type_byte)),
                    data: patch(at..at + width, HUGE_64),
                    offset: at as u64,
                    key: key.clone(),
                    kind: corrupt,
                });
            }
            16 | 17 | 20 if first < 0xC0 && seen.insert("listpack") => {
                // The listpack's total_bytes is the first field of the blob.
                let blob = at + width;
                cases.push(AbsurdCase {
                    what: what("listpack total_bytes"),
                    data: patch(blob..blob + 4, b"\xff\xff\xff\xff"),
                    offset: blob as u64,
                    key: key.clone(),
                    kind: corrupt,
                });
            }
            _ => {}
        }
    }
    for needed in ["string", "lzf", "count", "listpack"] {
        assert!(
            seen.contains(needed),
            "{name} has no {needed} value to patch"
        );
    }
    cases
}

#[test]
fn huge_lengths_are_rejected_without_allocating() {
    let started = Instant::now();
    let mut cases = handmade_cases();
    cases.push(stream_claiming_many_fields());
    cases.extend(patched_fixture_cases());
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
