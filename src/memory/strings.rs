//! Strings: sds headers and allocations, string objects (INT / EMBSTR / RAW), Redis 7.4 `mstr`
//! hash fields.

use super::alloc::Allocator;
use super::version::{Generation, ROBJ};
use crate::rdb::inspect::sds_header_size;

/// Header bytes of a Valkey 8.0+ sds of `len` bytes (type 8 up to 252, 16 up to 65530, ...).
pub fn valkey_sds_header_size(len: usize) -> usize {
    match len {
        0..32 => 1,
        32..=252 => 3,
        253..=65530 => 5,
        _ if (len as u64) <= (1u64 << 32) - 10 => 9,
        _ => 17,
    }
}

/// Header bytes of the sds Redis creates for `len` bytes; empty strings get a type-8 header.
#[inline]
pub fn sds_header(len: usize) -> u64 {
    if len == 0 {
        3
    } else {
        sds_header_size(len) as u64
    }
}

/// Usable size of a freshly created sds of `len` bytes: `S(len)`.
#[inline]
pub fn sds_alloc(alloc: Allocator, len: usize) -> u64 {
    alloc.usable(sds_header(len) + len as u64 + 1)
}

/// Redis 7.4 `mstr` header: 1 byte below 32, 3 below 65536, else 9.
pub fn mstr_header(len: usize) -> u64 {
    match len {
        0..32 => 1,
        32..65536 => 3,
        _ => 9,
    }
}

/// Usable size of a Redis 7.4 hash field (`hfieldNew`); a field with a TTL carries 2 flag
/// bytes and a 16-byte `ExpireMeta` in front.
pub fn mstr_alloc(alloc: Allocator, len: usize, with_ttl: bool) -> u64 {
    let meta = if with_ttl { 18 } else { 0 };
    alloc.usable(meta + mstr_header(len) + len as u64 + 1)
}

/// How a string value is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringForm {
    Int,
    Embstr,
    Raw,
}

/// The value part of `MEMORY USAGE` for a string object of `len` bytes (robj included).
pub fn string_value(generation: Generation, alloc: Allocator, form: StringForm, len: usize) -> u64 {
    match form {
        StringForm::Int => ROBJ,
        StringForm::Embstr if generation.counts_blob_lengths() => len as u64 + 2 + ROBJ,
        StringForm::Embstr => alloc.usable(ROBJ + 3 + len as u64 + 1),
        StringForm::Raw => ROBJ + sds_alloc(alloc, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Allocator::Jemalloc as J;

    #[test]
    fn sds_sizes() {
        assert_eq!(sds_header(0), 3);
        assert_eq!(sds_header(31), 1);
        assert_eq!(sds_header(32), 3);
        assert_eq!(sds_header(256), 5);
        assert_eq!(sds_alloc(J, 1), 8);
        assert_eq!(sds_alloc(J, 9), 16);
        assert_eq!(sds_alloc(J, 45), 56);
        assert_eq!(mstr_alloc(J, 5, false), 8);
        assert_eq!(mstr_alloc(J, 5, true), 32);
    }

    #[test]
    fn string_objects_match_the_worked_examples() {
        // `a` = `b`: EMBSTR J(21) = 24 on 7.x, 1 + 18 on 6.2
        assert_eq!(
            string_value(Generation::Redis72, J, StringForm::Embstr, 1),
            24
        );
        assert_eq!(
            string_value(Generation::Redis62, J, StringForm::Embstr, 1),
            19
        );
        assert_eq!(
            string_value(Generation::Redis72, J, StringForm::Embstr, 44),
            64
        );
        assert_eq!(
            string_value(Generation::Redis72, J, StringForm::Raw, 45),
            72
        );
        assert_eq!(string_value(Generation::Redis72, J, StringForm::Int, 5), 16);
    }
}
