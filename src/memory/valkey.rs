//! Valkey 8.1+: the key is embedded in the value object, and sets, hashes and sorted sets
//! use the open-addressing `hashtable` (64-byte buckets of 7 slots with chained child
//! buckets). `MEMORY USAGE` is `objectComputeSize` alone, which counts the whole object
//! allocation (robj, expire field, embedded key) from 8.1.x (PR valkey-io/valkey#2290).

use super::alloc::Allocator;
use super::strings::valkey_sds_header_size;

/// `sizeof(hashtable)` (type, rehash index, two tables, used, exponents and pause counters,
/// child bucket counts, safe iterator list).
pub const HASHTABLE: u64 = 80;
pub const BUCKET: u64 = 64;
const ENTRIES_PER_BUCKET: u64 = 7;

/// `sdsReqSize` with Valkey's sds types.
pub fn sds_size(len: usize) -> u64 {
    let h = if len == 0 {
        3
    } else {
        valkey_sds_header_size(len) as u64
    };
    h + len as u64 + 1
}

/// `sdsAllocSize` of a freshly created sds.
pub fn sds_alloc(alloc: Allocator, len: usize) -> u64 {
    alloc.usable(sds_size(len))
}

/// The value object with the key embedded (`createObjectWithKeyAndExpire`): robj, an expire
/// field when the key has a TTL or a key of 128 bytes or more, the key's header-size byte
/// and the key sds.
/// Valkey 9 leaves out the value pointer of an object whose value is embedded
/// (`embedded_value_base` = 8 instead of 16).
pub fn object(
    alloc: Allocator,
    key_len: usize,
    has_expire: bool,
    embstr_value: Option<usize>,
    embedded_value_base: u64,
) -> u64 {
    let base = if embstr_value.is_some() {
        embedded_value_base
    } else {
        16
    };
    let mut size = base + 1 + sds_size(key_len);
    let expire_field = has_expire || (embstr_value.is_none() && key_len >= 128);
    if expire_field {
        size += 8;
    }
    if let Some(len) = embstr_value {
        size += 3 + len as u64 + 1;
    }
    alloc.usable(size)
}

/// Top-level buckets for a table holding `capacity` entries (`nextBucketExp`: at most
/// 32/5 entries per bucket, rounded up to a power of two).
pub fn buckets_for(capacity: u64) -> u64 {
    if capacity == 0 {
        return 0;
    }
    let min = (capacity * 5 - 1) / 32 + 1;
    min.next_power_of_two()
}

/// Expected child buckets when `n` entries hash into `buckets` buckets: a chain of 7-slot
/// buckets where every full bucket but the last gives one slot to the child pointer.
pub fn expected_child_buckets(n: u64, buckets: u64) -> f64 {
    if buckets == 0 || n == 0 {
        return 0.0;
    }
    let lambda = n as f64 / buckets as f64;
    // Poisson terms, summed until negligible.
    let mut p = (-lambda).exp();
    let mut expected = 0.0;
    for x in 1..=200u64 {
        p *= lambda / x as f64;
        if x > ENTRIES_PER_BUCKET {
            let children = (x - ENTRIES_PER_BUCKET).div_ceil(ENTRIES_PER_BUCKET - 1);
            expected += p * children as f64;
        }
        if x > 2 * ENTRIES_PER_BUCKET && p < 1e-12 {
            break;
        }
    }
    expected * buckets as f64
}

/// `hashtableMemUsage` of a table built by `n` inserts (grown on demand when an insert finds
/// it full) or presized for `presize` entries, with `steps` rehash steps per insert.
pub fn hashtable_usage(n: u64, presize: Option<u64>, steps: u64) -> (u64, bool) {
    let mut size = presize.map_or(0, buckets_for);
    let mut old = 0u64;
    let mut left = 0u64;
    for used in 0..n {
        if old > 0 {
            left = left.saturating_sub(steps);
            if left == 0 {
                old = 0;
            }
        }
        if old == 0 && used + 1 > size * ENTRIES_PER_BUCKET {
            let next = buckets_for(used + 1);
            if size > 0 && used > 0 {
                old = size;
                left = size;
            }
            size = next;
        }
    }
    let children = expected_child_buckets(n, size).round() as u64;
    (HASHTABLE + BUCKET * (size + old + children), old > 0)
}

/// Expected usable size of a Valkey 9 skiplist node, which embeds its member sds after the
/// levels.
pub fn skiplist_node_with_member(alloc: Allocator, member_len: usize) -> f64 {
    (1..=32u32)
        .map(|l| {
            let p = if l == 32 {
                0.25f64.powi(31)
            } else {
                0.75 * 0.25f64.powi(l as i32 - 1)
            };
            p * alloc.usable(24 + 16 * l as u64 + sds_size(member_len)) as f64
        })
        .sum()
}

/// `hashTypeEntryMemUsage`: field and value embedded in one allocation up to 128 bytes,
/// else the field with a value pointer plus the value sds.
pub fn hash_entry(alloc: Allocator, field_len: usize, value_len: usize) -> u64 {
    let field_size = sds_size(field_len);
    let value_size = 3 + value_len as u64 + 1;
    if field_size + value_size <= 128 {
        alloc.usable(field_size + value_size)
    } else {
        let field8 = sds_size(field_len).max(3 + field_len as u64 + 1);
        alloc.usable(8 + field8) + sds_alloc(alloc, value_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_counts() {
        assert_eq!(buckets_for(1), 1);
        assert_eq!(buckets_for(7), 2);
        assert_eq!(buckets_for(6), 1);
        assert_eq!(buckets_for(8), 2);
        assert_eq!(buckets_for(15), 4);
        assert_eq!(buckets_for(1000), 256);
    }

    #[test]
    fn objects_embed_their_key() {
        // "counter:0" as an INT: 16 + 1 + (1 + 9 + 1) = 28 -> 40 with glibc
        assert_eq!(object(Allocator::Libc, 9, false, None, 16), 40);
        assert_eq!(object(Allocator::Libc, 5, false, None, 16), 24);
        // Valkey 9: "12345" = 19 bytes, embedded without the pointer: 8 + 1 + 7 + 23 = 39
        assert_eq!(object(Allocator::Libc, 5, false, Some(19), 8), 40);
    }

    #[test]
    fn child_buckets_grow_with_fill() {
        assert!(expected_child_buckets(10, 4) < 0.1);
        assert!(expected_child_buckets(28, 4) > 0.5);
    }
}
