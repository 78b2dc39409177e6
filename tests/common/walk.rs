//! Walking damaged copies of a dump quickly and exactly, shared by `tests/robustness.rs` and
//! the exhaustive sweep (`examples/sweep.rs`), each of which uses a subset.
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
//! the input is the intact dump's.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use rdbscope::rdb::crc64::crc64;
use rdbscope::rdb::{Checksum, Context, Entry, Error, Item, Records, Scratch, inspect, records};

// ---------------------------------------------------------------------------------------------
// Allocation tracking

/// The system allocator, noting the largest single request made by the current thread while
/// that thread has tracking switched on. Tests run on parallel threads, so the state is
/// per thread; the cells are const-initialised and need no destructor, so touching them from
/// inside the allocator never allocates.
pub struct Tracking;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

pub fn note(size: usize) {
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
pub static ALLOCATOR: Tracking = Tracking;

/// Runs `f` with tracking off (for the test's own copies of the input).
pub fn untracked<T>(f: impl FnOnce() -> T) -> T {
    let was = TRACKING.with(|t| t.replace(false));
    let out = f();
    TRACKING.with(|t| t.set(was));
    out
}

/// Runs `f` with tracking on and returns its result and the largest single allocation it made.
pub fn tracked<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|m| m.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, LARGEST.with(Cell::get))
}

// ---------------------------------------------------------------------------------------------
// Walking

/// How a walk that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub checksum: Checksum,
    pub trailing_bytes: u64,
}

/// One entry of an intact dump: where it starts and ends, and whether it is a key.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub key: bool,
}

/// An intact dump and what a walk of it found.
pub struct Baseline {
    pub name: String,
    pub data: Vec<u8>,
    pub header_len: u64,
    pub ctx: Context,
    /// Entries in file order, the EOF item last.
    pub spans: Vec<Span>,
    /// Entry index by start offset.
    pub by_start: HashMap<u64, usize>,
    /// `crc64(0, data[..start])` for each entry.
    pub crc_before: Vec<u64>,
    /// Key records as (offset, bytes): they all inspected cleanly.
    pub clean_keys: HashSet<(u64, u64)>,
    pub eof_offset: u64,
    pub stored_checksum: Option<u64>,
    pub outcome: Outcome,
    /// The largest single allocation of a walk of the intact dump (decompressed LZF strings
    /// may exceed the file's size).
    pub largest_alloc: usize,
}

impl Baseline {
    pub fn new(name: String, data: Vec<u8>) -> Baseline {
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
    pub fn has_crc(&self) -> bool {
        self.stored_checksum.is_some_and(|c| c != 0)
    }

    /// Index of the entry holding byte `pos` (`pos` at or past the header).
    pub fn entry_at(&self, pos: u64) -> usize {
        self.spans.partition_point(|s| s.start <= pos) - 1
    }
}

pub fn same_context(a: &Context, b: &Context) -> bool {
    a.header == b.header
        && a.server == b.server
        && a.list_max_listpack_size == b.list_max_listpack_size
}

/// A literal walk of `data` from its first byte. With `intact` given, a record byte-identical
/// to a record of the intact dump (same offset and length, no byte in `changed`, same
/// context) is not inspected again: it inspected cleanly there, and inspection depends on
/// nothing else.
pub fn walk_from_start(
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

pub fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The walk of `data`, a copy of `intact`'s dump with nothing changed before the start of
/// entry `from`, resumed at that entry (see the module comment). `changed` is the byte range
/// that differs; a truncation changes none, it only removes the tail. `resync` allows the
/// walk to stop once it is back on the intact dump's entry boundaries past every change.
/// `spliced` is a reusable buffer.
pub fn walk_resumed(
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
