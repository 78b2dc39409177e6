//! Valkey 8.1+: the key is embedded in the value object, and sets, hashes and sorted sets
//! use the open-addressing `hashtable` (64-byte buckets of 7 slots with chained child
//! buckets). `MEMORY USAGE` is `objectComputeSize` alone, which counts the whole object
//! allocation (robj, expire field, embedded key) from 8.1.x (PR valkey-io/valkey#2290).

use super::alloc::Allocator;
use super::strings::valkey_sds_header_size;

/// `sizeof(hashtable)` in Valkey 8.1 (type, rehash index, two tables, used, exponents and
/// pause counters, child bucket counts, safe iterator list). `MEMORY USAGE` adds the struct
/// size, not its allocation, so it is the same with every allocator. Measured: one-member
/// sets and zsets are 8 bytes smaller on 8.1 than on 9.1.
pub const HASHTABLE_81: u64 = 72;
/// `sizeof(hashtable)` in Valkey 9.x.
pub const HASHTABLE_9: u64 = 80;
/// Valkey 9 hashes keep the volatile-field set (`vset`, one pointer) in the hashtable's
/// metadata, which `hashtableMemUsage` counts.
pub const HASH_METADATA_9: u64 = 8;
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

/// Whether a table of `n` entries likely has child buckets, whose number depends on the hash
/// seed (the estimate is then an expectation).
pub fn has_random_children(n: u64) -> bool {
    expected_child_buckets(n, buckets_for(n)) >= 0.05
}

/// `hashtableMemUsage` of a table with a `header`-byte struct (and metadata) built by `n`
/// inserts (grown on demand when an insert finds it full) or presized for `presize` entries,
/// with `steps` rehash steps per insert.
pub fn hashtable_usage(header: u64, n: u64, presize: Option<u64>, steps: u64) -> (u64, bool) {
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
    (header + BUCKET * (size + old + children), old > 0)
}

/// Expected usable size of a Valkey 9 skiplist node (`zslCreateNode`): score and backward
/// pointer (16 bytes), 16 per level, then the member embedded as a header-size byte and an
/// sds. The level is random (`zslRandomLevel`, p = 1/4).
pub fn skiplist_node_with_member(alloc: Allocator, member_len: usize) -> f64 {
    (1..=32u32)
        .map(|l| {
            let p = if l == 32 {
                0.25f64.powi(31)
            } else {
                0.75 * 0.25f64.powi(l as i32 - 1)
            };
            p * alloc.usable(16 + 16 * l as u64 + 1 + sds_size(member_len)) as f64
        })
        .sum()
}

/// `hashTypeEntryMemUsage` (`hashTypeCreateEntry`): field and value embedded in one
/// allocation up to 128 bytes, else the field with a value pointer plus the value sds. A
/// field with a TTL (Valkey 9) carries its 8-byte expiry in front and needs an sds header of
/// type 8 or more (type 5 has no spare flag bits).
pub fn hash_entry(alloc: Allocator, field_len: usize, value_len: usize, with_ttl: bool) -> u64 {
    let field5 = sds_size(field_len);
    let field8 = field5.max(3 + field_len as u64 + 1);
    let (field_size, expiry) = if with_ttl { (field8, 8) } else { (field5, 0) };
    let value_size = 3 + value_len as u64 + 1;
    if expiry + field_size + value_size <= 128 {
        alloc.usable(expiry + field_size + value_size)
    } else {
        alloc.usable(expiry + 8 + field8) + sds_alloc(alloc, value_len)
    }
}

/// Valkey 9's set of a hash's fields with a TTL (`vset`): nothing for one field (the pointer
/// is stored inline), then a vector of pointers behind an 8-byte header (`pVector`), grown
/// with `zrealloc_usable`. Past 127 entries it becomes a radix tree of time buckets, which
/// the dump cannot size exactly (the vector formula is used as an approximation).
/// The vector is created for two pointers at its exact size (24 bytes, counted as such) and
/// grown one pointer at a time with `zrealloc_usable`, so its capacity is what the usable
/// size holds: 24, then `usable(8 + 8·k)` whenever the k-th pointer does not fit. Measured
/// on Valkey 9.1 with glibc (24, 40, 40, 56, 56, 72, 72, 88 for 2..9 fields) and with a
/// 16-byte-quantum jemalloc (24, 32, 48, 48, 64, 64, 80, 80).
pub fn volatile_set(alloc: Allocator, ttl_fields: u64) -> u64 {
    if ttl_fields < 2 {
        return 0;
    }
    let (mut size, mut capacity) = (24, 2);
    for k in 3..=ttl_fields {
        if k > capacity {
            size = alloc.usable(8 + 8 * k);
            capacity = (size - 8) / 8;
        }
    }
    size
}

/// Valkey 9 skiplists: the zset, the skiplist and its 32-level header node as
/// `objectComputeSize` adds them, by struct size rather than allocation. Measured on Valkey
/// 9.1: a one-member skiplist is its object, its member's node, the hashtable and 544 bytes,
/// with glibc and with jemalloc alike.
pub const SKIPLIST_FIXED_9: u64 = 544;

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

    /// Measured on Valkey 9.1.2 (glibc): `HSET h a 1` is 200 bytes with or without a field
    /// TTL; two fields with a TTL add a 24-byte vector; 7 and 9 fields 72 and 88.
    #[test]
    fn valkey_9_hash_field_ttls() {
        let l = Allocator::Libc;
        assert_eq!(hash_entry(l, 1, 1, false), 24);
        assert_eq!(hash_entry(l, 1, 1, true), 24);
        let one_field = object(l, 1, false, None, 16)
            + hashtable_usage(HASHTABLE_9 + HASH_METADATA_9, 1, None, 1).0
            + hash_entry(l, 1, 1, false);
        assert_eq!(one_field, 200);
        assert_eq!(volatile_set(l, 1), 0);
        assert_eq!(volatile_set(l, 2), 24);
        assert_eq!(volatile_set(l, 7), 72);
        assert_eq!(volatile_set(l, 9), 88);
        let j = Allocator::JemallocQuantum16;
        let sizes: Vec<u64> = (2..=9).map(|k| volatile_set(j, k)).collect();
        assert_eq!(sizes, [24, 32, 48, 48, 64, 64, 80, 80]);
        // a 76-byte value no longer fits the 128-byte embedded entry once the TTL is added
        assert_eq!(hash_entry(l, 40, 76, false), 136);
        assert_eq!(hash_entry(l, 40, 76, true), 72 + 88);
    }

    /// Measured on Valkey 9.1.2 (glibc): each further level-1 member `b`, `c`, ... of a
    /// skiplist zset adds 40 bytes.
    #[test]
    fn valkey_9_skiplist_nodes_embed_the_member() {
        let level1 = Allocator::Libc.usable(16 + 16 + 1 + sds_size(1));
        assert_eq!(level1, 40);
        assert!(skiplist_node_with_member(Allocator::Libc, 1) > 40.0);
    }

    #[test]
    fn child_buckets_grow_with_fill() {
        assert!(expected_child_buckets(10, 4) < 0.1);
        assert!(expected_child_buckets(28, 4) > 0.5);
    }
}
