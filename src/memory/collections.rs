//! Lists, sets, sorted sets and hashes: dict tables, skiplist nodes, quicklist nodes and
//! compact-blob sizes.

use super::alloc::Allocator;
use crate::rdb::{Cursor, Element, Record, Result, ValueType};
use std::sync::OnceLock;

/// Bucket count of a dict grown by insertion to `n` entries (`_dictExpandIfNeeded`: the
/// table doubles when an add finds `used >= size`), which is also the size of a dict presized
/// for `n` (`dictExpand(n)`): the smallest power of two `>= n`, at least 4.
pub fn dict_buckets(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        n.next_power_of_two().max(4)
    }
}

/// How a value dict was built on the writing server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictBuild {
    /// `dictExpand(n)` before the first insert (a conversion or a size hint); `None` for a
    /// dict created empty, which gets 4 buckets on its first insert.
    pub presize: Option<u64>,
    /// Inserts done by the conversion loop (one rehash step each).
    pub converted: u64,
    /// All entries at the end.
    pub total: u64,
    /// Rehash steps per insert after the conversion (2 where the command looks the element
    /// up before adding it: `HSET`, `ZADD`).
    pub steps_per_insert: u64,
}

/// The bucket arrays of a dict after it was built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DictState {
    /// Buckets of both tables (`dictSlots`).
    pub buckets: u64,
    /// Whether the dict is left mid-rehash (the old table still allocated).
    pub rehashing: bool,
    /// Rehash steps left (negative: steps to spare) when the build ended; close to zero
    /// means the outcome depends on the hash seed.
    pub margin: f64,
}

/// Expected number of non-empty buckets when `used` keys hash uniformly into `size` buckets.
fn expected_nonempty(size: u64, used: u64) -> f64 {
    let s = size as f64;
    s * (1.0 - (1.0 - 1.0 / s).powf(used as f64))
}

/// [`expected_nonempty`] of a table of a power of two buckets holding as many keys, where it
/// doubles: computed once per size (a `powf` each, a few per dict, was most of the replay).
fn expected_nonempty_when_full(size: u64) -> f64 {
    static FULL: OnceLock<[f64; 64]> = OnceLock::new();
    debug_assert!(size.is_power_of_two(), "{size}");
    let full = FULL.get_or_init(|| std::array::from_fn(|k| expected_nonempty(1 << k, 1 << k)));
    full[size.trailing_zeros() as usize]
}

/// Replays a dict's growth (`_dictExpandIfNeeded`: double when an add finds `used >= size`,
/// never while rehashing) and its incremental rehash (each step moves one non-empty bucket of
/// the old table), using the expected count of non-empty buckets. Value dicts are only
/// rehashed by operations on the key, so a dict that doubled near the end of its build keeps
/// both tables, and `MEMORY USAGE` counts both.
pub fn simulate_dict(build: DictBuild) -> DictState {
    let mut size0 = build.presize.map_or(0, |p| dict_buckets(p.max(1)));
    let mut size1 = 0u64;
    let mut left = 0.0f64;
    // Rehash steps of the `k` inserts from the `i`-th (those of the conversion take one).
    let steps = |i: u64, k: u64| {
        let ones = build.converted.saturating_sub(i).min(k);
        ones + (k - ones) * build.steps_per_insert
    };
    // From event to event (a doubling, the end of a rehash), not insert by insert: a large
    // value dict took a loop turn per element. Subtracting the steps at once rounds as one
    // at a time did: every difference but the last is exact (`left` stays positive and
    // below 2^53, the steps are whole).
    let mut i = 0;
    while i < build.total {
        if size1 > 0 {
            // the inserts from the i-th that finish the rehash
            let ones = build.converted.saturating_sub(i);
            let k = if left <= ones as f64 {
                (left.ceil() as u64).max(1)
            } else {
                let more = (left - ones as f64) / build.steps_per_insert as f64;
                ones.saturating_add(more.ceil() as u64)
            };
            let remaining = build.total - i;
            if k > remaining {
                left -= steps(i, remaining) as f64;
                break;
            }
            left -= steps(i, k) as f64;
            size0 = size1;
            size1 = 0;
            // the insert that finished it may double the table
            i += k - 1;
        }
        if size0 == 0 {
            size0 = 4;
        } else if i >= size0 {
            size1 = dict_buckets(i + 1);
            left = if i == size0 {
                expected_nonempty_when_full(size0)
            } else {
                expected_nonempty(size0, i)
            };
        } else {
            // nothing happens before the insert that finds the table full
            i = size0;
            continue;
        }
        i += 1;
    }
    DictState {
        buckets: size0 + size1,
        rehashing: size1 > 0,
        margin: left,
    }
}

/// Probability that a skiplist node gets level `l` (`zslRandomLevel`, p = 1/4, max 32).
fn level_probability(l: u32) -> f64 {
    if l >= 32 {
        0.25f64.powi(31)
    } else {
        0.75 * 0.25f64.powi(l as i32 - 1)
    }
}

/// Expected usable size of one skiplist node (`24 + 16·level` bytes, level random).
/// 45.84 bytes with jemalloc. Summed once per allocator: every sorted set in a skiplist asks.
pub fn skiplist_node_expected(alloc: Allocator) -> f64 {
    static EXPECTED: OnceLock<[f64; 3]> = OnceLock::new();
    let expected = EXPECTED.get_or_init(|| Allocator::ALL.map(node_expected));
    expected[alloc as usize]
}

fn node_expected(alloc: Allocator) -> f64 {
    (1..=32)
        .map(|l| level_probability(l) * alloc.usable(24 + 16 * l as u64) as f64)
        .sum()
}

/// The skiplist header node: always 32 levels.
pub fn skiplist_header(alloc: Allocator) -> u64 {
    alloc.usable(24 + 16 * 32)
}

/// One quicklist node as the dump stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListNode {
    /// 1 = PLAIN (one element), 2 = PACKED (listpack/ziplist).
    pub container: u64,
    /// Decoded bytes of the node's blob or element.
    pub bytes: u64,
}

/// Reads the node layout of a quicklist record (types 14 and 18); empty for other types.
/// `walk_value` reports only the total blob bytes, while each node is allocated separately.
pub fn list_nodes(record: &Record<'_>) -> Result<Vec<ListNode>> {
    let mut out = Vec::new();
    if !matches!(
        record.value_type,
        ValueType::ListQuicklist | ValueType::ListQuicklist2
    ) {
        return Ok(out);
    }
    let mut c = Cursor::new(record.payload, record.payload_offset);
    let n = c.rdb_count(2, "quicklist node count")?;
    for _ in 0..n {
        let container = if record.value_type == ValueType::ListQuicklist2 {
            c.rdb_len("quicklist container")?
        } else {
            2
        };
        let s = c.rdb_string("quicklist node")?;
        out.push(ListNode {
            container,
            bytes: s.len() as u64,
        });
    }
    Ok(out)
}

/// Bytes of a listpack entry holding `e` (encoding, data and back-length), as `lpInsert`
/// stores it: strings that are canonical int64 decimals become integers.
pub fn listpack_entry_bytes(e: Element<'_>) -> u64 {
    match as_int(e) {
        Some(v) => listpack_int_entry(v),
        None => listpack_string_entry(e.len()),
    }
}

/// Bytes of a listpack entry holding the integer `v`.
#[inline]
pub fn listpack_int_entry(v: i64) -> u64 {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    enc + backlen(enc)
}

/// Bytes of a listpack entry holding a `len`-byte string that is not an integer.
#[inline]
pub fn listpack_string_entry(len: usize) -> u64 {
    let len = len as u64;
    // the usual entry, in one test: a 1-byte header and a 1-byte back-length
    if len < 64 {
        return len + 2;
    }
    let enc = len
        + match len {
            0..64 => 1,
            64..4096 => 2,
            _ => 5,
        };
    enc + backlen(enc)
}

/// Bytes of the back-length of an entry of `enc` bytes (`lpEncodeBacklen`).
#[inline]
fn backlen(enc: u64) -> u64 {
    match enc {
        0..=127 => 1,
        128..16383 => 2,
        16383..2_097_151 => 3,
        2_097_151..268_435_455 => 4,
        _ => 5,
    }
}

/// Bytes of a listpack holding `entries` bytes of entries.
pub fn listpack_bytes(entries: u64) -> u64 {
    6 + entries + 1
}

fn as_int(e: Element<'_>) -> Option<i64> {
    match e {
        Element::Int(v) => Some(v),
        Element::Bytes(b) => crate::rdb::inspect::redis_integer(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_sizes() {
        assert_eq!(dict_buckets(1), 4);
        assert_eq!(dict_buckets(4), 4);
        assert_eq!(dict_buckets(5), 8);
        assert_eq!(dict_buckets(513), 1024);
        assert_eq!(dict_buckets(1024), 1024);
    }

    #[test]
    fn dicts_left_mid_rehash() {
        let fresh = |total, steps| DictBuild {
            presize: None,
            converted: 0,
            total,
            steps_per_insert: steps,
        };
        // 129 adds: doubled to 256 at the last add, the old 128 buckets are still there
        let s = simulate_dict(fresh(129, 1));
        assert_eq!((s.buckets, s.rehashing), (384, true));
        // 40 HSETs (2 steps each): 64 + 32 buckets
        assert_eq!(simulate_dict(fresh(40, 2)).buckets, 96);
        // 5000 HSETs after a conversion at 513: 8192 + 4096
        let converted = DictBuild {
            presize: Some(513),
            converted: 513,
            total: 5000,
            steps_per_insert: 2,
        };
        assert_eq!(simulate_dict(converted).buckets, 12288);
        // enough adds after the doubling finish the rehash
        let s = simulate_dict(fresh(120, 1));
        assert_eq!((s.buckets, s.rehashing), (128, false));
        assert_eq!(simulate_dict(fresh(4, 1)).buckets, 4);
    }

    /// [`simulate_dict`] one insert at a time, as the server goes.
    fn simulate_dict_by_insert(build: DictBuild) -> DictState {
        let mut size0 = build.presize.map_or(0, |p| dict_buckets(p.max(1)));
        let mut size1 = 0u64;
        let mut left = 0.0f64;
        for i in 0..build.total {
            if size1 > 0 {
                let steps = if i < build.converted {
                    1
                } else {
                    build.steps_per_insert
                };
                left -= steps as f64;
                if left <= 0.0 {
                    size0 = size1;
                    size1 = 0;
                }
            }
            if size1 == 0 {
                if size0 == 0 {
                    size0 = 4;
                } else if i >= size0 {
                    size1 = dict_buckets(i + 1);
                    left = expected_nonempty(size0, i);
                }
            }
        }
        DictState {
            buckets: size0 + size1,
            rehashing: size1 > 0,
            margin: left,
        }
    }

    #[test]
    fn dicts_replayed_by_event_as_by_insert() {
        let mut checked = 0;
        let totals = (0..1100)
            .chain((1100..70_000).step_by(997))
            .chain([1 << 20]);
        for total in totals {
            for presize in [None, Some(0), Some(5), Some(129), Some(513), Some(total)] {
                for converted in [0, 3, 129, 513, total / 2, total + 9] {
                    for steps_per_insert in [1, 2] {
                        let build = DictBuild {
                            presize,
                            converted,
                            total,
                            steps_per_insert,
                        };
                        let (fast, slow) = (simulate_dict(build), simulate_dict_by_insert(build));
                        assert_eq!(fast.buckets, slow.buckets, "{build:?}");
                        assert_eq!(fast.rehashing, slow.rehashing, "{build:?}");
                        assert_eq!(fast.margin.to_bits(), slow.margin.to_bits(), "{build:?}");
                        checked += usize::from(slow.rehashing);
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn skiplist_expectation() {
        let e = skiplist_node_expected(Allocator::Jemalloc);
        assert!((e - 45.84).abs() < 0.01, "{e}");
        for a in Allocator::ALL {
            assert_eq!(skiplist_node_expected(a), node_expected(a), "{a:?}");
        }
        assert_ne!(
            node_expected(Allocator::Libc),
            node_expected(Allocator::JemallocQuantum16)
        );
        assert_eq!(skiplist_header(Allocator::Jemalloc), 640);
    }

    #[test]
    fn listpack_entries() {
        assert_eq!(listpack_entry_bytes(Element::Int(5)), 2);
        assert_eq!(listpack_entry_bytes(Element::Bytes(b"123")), 2);
        assert_eq!(listpack_entry_bytes(Element::Bytes(b"1000")), 3);
        assert_eq!(listpack_entry_bytes(Element::Bytes(b"007")), 5);
        assert_eq!(listpack_entry_bytes(Element::Bytes(&[b'x'; 62])), 64);
        assert_eq!(listpack_entry_bytes(Element::Bytes(&[b'x'; 200])), 204);
        assert_eq!(listpack_bytes(0), 7);
    }

    /// A string entry's size as `lpEncodeString` and `lpEncodeBacklen` spell it out, against
    /// the function's shortcut for short strings.
    #[test]
    fn string_entries_as_listpack_encodes_them() {
        let reference = |len: u64| {
            let header = match len {
                0..64 => 1,
                64..4096 => 2,
                _ => 5,
            };
            let backlen = match header + len {
                0..=127 => 1,
                128..16383 => 2,
                16383..2_097_151 => 3,
                2_097_151..268_435_455 => 4,
                _ => 5,
            };
            header + len + backlen
        };
        let lengths = (0..70_000).chain([2_097_140, 2_097_150, 268_435_440, 268_435_460, 1 << 33]);
        for len in lengths {
            assert_eq!(listpack_string_entry(len), reference(len as u64), "{len}");
        }
    }
}
