//! CRC-64/Jones as Redis computes it for the RDB trailer and DUMP payloads (rdb-format.md §6):
//! reflected polynomial 0x95ac9329ac4bc9b5, init 0, no final xor.
//!
//! Whole dumps are checksummed (tens of GB) beside the parse, so the checksum must cost a
//! fraction of a core. On x86_64 with PCLMULQDQ the bulk of the input is folded with carry-less
//! multiplies (eight 16-byte lanes, 128 bytes a step, well over 10 GB/s); the few bytes a fold
//! leaves are finished by slicing-by-16, which is also the fallback everywhere else: sixteen
//! 256-entry tables let one step fold 16 input bytes with independent lookups instead of a
//! serial chain of 16. The tables and the folding constants are computed by `const fn`s from
//! [`POLY`], so they live in read-only data with no start-up cost.

/// The reflected form of the Jones polynomial 0xad93d23594c935a9.
const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

/// Bytes folded per step of the main loop (= number of tables).
const SLICES: usize = 16;

/// `TABLES[0]` is the classic byte-at-a-time table; `TABLES[k][b]` is the CRC of byte `b`
/// followed by `k` zero bytes, so a byte `k` positions before the end of a block can be looked
/// up directly.
static TABLES: [[u64; 256]; SLICES] = make_tables();

const fn make_tables() -> [[u64; 256]; SLICES] {
    let mut t = [[0u64; 256]; SLICES];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < SLICES {
        let mut i = 0;
        while i < 256 {
            // Appending one zero byte to the message of table k-1.
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Inputs shorter than this go to the tables: below a few folding steps the set-up (feature
/// check, lane loads, final reduction through the tables) costs more than it saves.
const FOLD_MIN_LEN: usize = 256;

/// Continues the CRC `crc` over `data`; start with 0. Incremental:
/// `crc64(crc64(0, a), b) == crc64(0, a ++ b)`, so a file can be checksummed chunk by chunk.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= FOLD_MIN_LEN && clmul::available() {
        // SAFETY: `available` has just checked that this CPU has PCLMULQDQ and SSE4.1, the
        // target features `fold` is compiled with.
        return unsafe { clmul::fold(crc, data) };
    }
    crc64_table(crc, data)
}

/// The CRC of `a ++ b` from `crc_a` (of `a`) and `crc_b` (of `b`, `len_b` bytes long), both
/// from zero: lets workers checksum the stretches of a file they parse, in any order, and the
/// results be joined in file order. With init 0 and no final xor the CRC is linear, so
/// `crc(a ++ b) = crc(a ++ zeros) ^ crc(b)`, and appending `n` zero bytes multiplies the
/// remainder by `x^(8n) mod P`: `O(log n)` products, not `n` table steps.
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    let shifted = mul_mod(crc_a.reverse_bits(), x_pow_bytes(len_b)).reverse_bits();
    shifted ^ crc_b
}

/// `a(x) · b(x) mod P(x)` with both in the normal bit order (coefficient of `x^i` in bit `i`).
fn mul_mod(a: u64, b: u64) -> u64 {
    let mut product = 0u64;
    for i in (0..64).rev() {
        product = times_x(product);
        if (b >> i) & 1 == 1 {
            product ^= a;
        }
    }
    product
}

/// `r(x) · x mod P(x)`, in the normal bit order.
const fn times_x(r: u64) -> u64 {
    // P without its x^64 term
    let poly = POLY.reverse_bits();
    let carry = r >> 63;
    let r = r << 1;
    if carry == 1 { r ^ poly } else { r }
}

/// `x^(8n) mod P(x)` in the normal bit order, by squaring.
fn x_pow_bytes(mut n: u64) -> u64 {
    // x^8, then x^16, x^32, ...: one square per bit of n
    let mut power = 1u64 << 8;
    let mut result = 1u64;
    while n != 0 {
        if n & 1 == 1 {
            result = mul_mod(result, power);
        }
        power = mul_mod(power, power);
        n >>= 1;
    }
    result
}

/// The table-driven CRC (slicing-by-16): the fallback, the finish of the folding version, and
/// its reference in tests.
pub fn crc64_table(mut crc: u64, data: &[u8]) -> u64 {
    let t = &TABLES;
    let (words, tail) = data.as_chunks::<8>();
    let (blocks, odd_word) = words.as_chunks::<2>();
    for [lo, hi] in blocks {
        // The running CRC is xored into the first 8 bytes (reflected CRCs consume input
        // least-significant byte first); the last 8 bytes go in as they are.
        let a = crc ^ u64::from_le_bytes(*lo);
        let b = u64::from_le_bytes(*hi);
        crc = t[15][(a & 0xFF) as usize]
            ^ t[14][((a >> 8) & 0xFF) as usize]
            ^ t[13][((a >> 16) & 0xFF) as usize]
            ^ t[12][((a >> 24) & 0xFF) as usize]
            ^ t[11][((a >> 32) & 0xFF) as usize]
            ^ t[10][((a >> 40) & 0xFF) as usize]
            ^ t[9][((a >> 48) & 0xFF) as usize]
            ^ t[8][(a >> 56) as usize]
            ^ t[7][(b & 0xFF) as usize]
            ^ t[6][((b >> 8) & 0xFF) as usize]
            ^ t[5][((b >> 16) & 0xFF) as usize]
            ^ t[4][((b >> 24) & 0xFF) as usize]
            ^ t[3][((b >> 32) & 0xFF) as usize]
            ^ t[2][((b >> 40) & 0xFF) as usize]
            ^ t[1][((b >> 48) & 0xFF) as usize]
            ^ t[0][(b >> 56) as usize];
    }
    for &byte in odd_word.as_flattened().iter().chain(tail) {
        crc = t[0][((crc ^ u64::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

/// `x^n mod P(x)` in the reflected bit order the CRC uses (coefficient of `x^i` in bit
/// `63 - i`), for the folding constants.
///
/// How folding works: 16 message bytes loaded little-endian into a 128-bit lane hold the
/// polynomial `H·x^64 + L` (`H` in the low 64 bits, `L` in the high 64, both reflected).
/// Moving that lane `d` bits further along the message multiplies it by `x^d`, and modulo
/// `P` that is `H·(x^(d+64) mod P) + L·(x^d mod P)`: two 64×64-bit carry-less products,
/// each under 128 bits, xored into the lane that sits `d` bits later. A carry-less multiply
/// of two reflected 64-bit values gives the reflected product shifted by one bit (the
/// product has 127 coefficients, the register 128), so each constant is taken one power
/// lower: `x^(d+63)` and `x^(d-1)`.
const fn xpow_mod_reflected(n: u32) -> u64 {
    let mut r: u64 = 1; // x^0
    let mut i = 0;
    while i < n {
        r = times_x(r);
        i += 1;
    }
    r.reverse_bits()
}

/// The two multipliers that move a 128-bit lane `d` bits along the message: for its low
/// half (`H`) and its high half (`L`).
const fn fold_constants(d: u32) -> (u64, u64) {
    (xpow_mod_reflected(d + 63), xpow_mod_reflected(d - 1))
}

/// Moving a lane by 1024 bits: eight lanes of 16 bytes fold onto themselves 128 bytes on.
const FOLD_BY_8: (u64, u64) = fold_constants(1024);
/// Moving a lane by 128 bits: one lane folds onto the next 16 bytes.
const FOLD_BY_1: (u64, u64) = fold_constants(128);
/// Moving lane `i` of eight onto the last: by `(7 - i) · 128` bits.
const FOLD_LANES: [(u64, u64); 7] = [
    fold_constants(7 * 128),
    fold_constants(6 * 128),
    fold_constants(5 * 128),
    fold_constants(4 * 128),
    fold_constants(3 * 128),
    fold_constants(2 * 128),
    fold_constants(128),
];

#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::*;

    use super::{FOLD_BY_1, FOLD_BY_8, FOLD_LANES, crc64_table};

    /// Whether this CPU can run [`fold`]; the standard library caches the answer.
    #[inline]
    pub fn available() -> bool {
        is_x86_feature_detected!("pclmulqdq") && is_x86_feature_detected!("sse4.1")
    }

    #[inline]
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    fn constants((for_low, for_high): (u64, u64)) -> __m128i {
        _mm_set_epi64x(for_high as i64, for_low as i64)
    }

    /// `lane` moved along the message by the distance `k` was made for (see
    /// `xpow_mod_reflected`), to be xored into the lane found there.
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    fn shift(lane: __m128i, k: __m128i) -> __m128i {
        _mm_xor_si128(
            _mm_clmulepi64_si128::<0x00>(lane, k),
            _mm_clmulepi64_si128::<0x11>(lane, k),
        )
    }

    #[inline]
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    fn load(block: &[u8; 16]) -> __m128i {
        // SAFETY: `block` is 16 readable bytes; `loadu` has no alignment requirement.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    /// The CRC of `data` continued from `crc`, as `crc64_table` computes it. `data` must be
    /// at least 16 bytes long.
    ///
    /// # Safety
    ///
    /// The CPU must support PCLMULQDQ and SSE4.1 (check with [`available`]).
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    pub unsafe fn fold(crc: u64, data: &[u8]) -> u64 {
        let (blocks, tail) = data.as_chunks::<16>();
        debug_assert!(!blocks.is_empty());
        // A running CRC is the same as xoring it into the message's next 64 bits.
        let start = _mm_set_epi64x(0, crc as i64);
        let (groups, rest) = blocks.as_chunks::<8>();
        let (mut acc, rest) = match groups.split_first() {
            Some((first, groups)) => {
                let mut lanes = [_mm_setzero_si128(); 8];
                for (lane, block) in lanes.iter_mut().zip(first) {
                    *lane = load(block);
                }
                lanes[0] = _mm_xor_si128(lanes[0], start);
                let k8 = constants(FOLD_BY_8);
                for group in groups {
                    for (lane, block) in lanes.iter_mut().zip(group) {
                        *lane = _mm_xor_si128(shift(*lane, k8), load(block));
                    }
                }
                // Every lane moved onto the last one.
                let mut acc = lanes[7];
                for (lane, &k) in lanes[..7].iter().zip(&FOLD_LANES) {
                    acc = _mm_xor_si128(acc, shift(*lane, constants(k)));
                }
                (acc, rest)
            }
            None => (_mm_xor_si128(load(&rest[0]), start), &rest[1..]),
        };
        let k1 = constants(FOLD_BY_1);
        for block in rest {
            acc = _mm_xor_si128(shift(acc, k1), load(block));
        }
        // What is left is congruent to the whole message so far, aligned to its end: its CRC
        // from zero is the message's CRC. The tables finish it and the tail.
        let mut folded = [0u8; 16];
        folded[..8].copy_from_slice(&(_mm_extract_epi64::<0>(acc) as u64).to_le_bytes());
        folded[8..].copy_from_slice(&(_mm_extract_epi64::<1>(acc) as u64).to_le_bytes());
        crc64_table(crc64_table(0, &folded), tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time definition, independent of the tables.
    fn reference(mut crc: u64, data: &[u8]) -> u64 {
        for &byte in data {
            crc ^= u64::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    /// xorshift64: deterministic, so failures reproduce.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    /// Deterministic pseudo-random bytes.
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len).map(|_| (next(&mut seed) >> 32) as u8).collect()
    }

    #[test]
    fn check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(crc64_table(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(reference(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(crc64(0, b""), 0);
        // Long enough to be folded.
        let long = b"123456789".repeat(100);
        assert_eq!(crc64(0, &long), reference(0, &long));
    }

    /// The folding constants, recomputed with the bitwise CRC: `k` bytes of which only the
    /// first bit is set are the polynomial `x^(8k-1)`, and their CRC from zero is
    /// `x^(8k-1) · x^64 mod P`, in the register's reflected order.
    #[test]
    fn folding_constants_match_the_bitwise_crc() {
        let by_crc = |n: u32| {
            assert_eq!((n - 63) % 8, 0);
            let mut message = vec![0u8; ((n - 63) / 8) as usize];
            message[0] = 1;
            reference(0, &message)
        };
        for n in (71..2200).step_by(8) {
            assert_eq!(xpow_mod_reflected(n), by_crc(n), "x^{n}");
        }
        for (d, (low, high)) in [(1024, FOLD_BY_8), (128, FOLD_BY_1)]
            .into_iter()
            .chain((1..8).rev().map(|j| j * 128).zip(FOLD_LANES))
        {
            assert_eq!(low, by_crc(d + 63), "d {d}");
            assert_eq!(high, by_crc(d - 1), "d {d}");
        }
        assert_eq!(xpow_mod_reflected(0), 1u64.reverse_bits());
    }

    #[test]
    fn combined_parts_equal_the_whole() {
        let data = noise(70_000, 0x51);
        let whole = crc64(0, &data);
        for cut in [0, 1, 7, 8, 255, 256, 4096, 65_535, 69_999, 70_000] {
            let (a, b) = data.split_at(cut);
            let joined = crc64_combine(crc64(0, a), crc64(0, b), b.len() as u64);
            assert_eq!(joined, whole, "cut at {cut}");
        }
        // three parts, joined left to right
        let (a, rest) = data.split_at(1000);
        let (b, c) = rest.split_at(30_000);
        let ab = crc64_combine(crc64(0, a), crc64(0, b), b.len() as u64);
        assert_eq!(crc64_combine(ab, crc64(0, c), c.len() as u64), whole);
        // against the bitwise reference too: a part of zeros moves the CRC by itself
        let zeros = vec![0u8; 1234];
        assert_eq!(crc64_combine(whole, 0, 1234), reference(whole, &zeros));
        // lengths far past any test data: moving by a + b is moving by a, then by b
        for (a, b) in [
            (1u64 << 32, 5),
            (1 << 40, 12_345),
            (1 << 62, 1 << 62),
            (u64::MAX - 7, 7),
        ] {
            let once = crc64_combine(whole, 0, a + b);
            assert_eq!(
                crc64_combine(crc64_combine(whole, 0, a), 0, b),
                once,
                "{a} + {b}"
            );
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = noise(1000, 7);
        let whole = crc64(0, &data);
        for split in [0, 1, 7, 15, 16, 17, 255, 256, 257, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(crc64(crc64(0, a), b), whole, "split at {split}");
        }
    }

    #[test]
    fn matches_bitwise_reference() {
        // Every length up to a few blocks exercises the tail loop and block/tail boundaries,
        // and a non-zero starting CRC checks the fold of `crc` into the first block.
        let data = noise(700, 0x9E37_79B9_7F4A_7C15);
        for len in 0..data.len() {
            let part = &data[..len];
            assert_eq!(crc64(0, part), reference(0, part), "len {len}");
            assert_eq!(
                crc64(0xDEAD_BEEF, part),
                reference(0xDEAD_BEEF, part),
                "len {len}"
            );
        }
        let big = noise(1 << 16, 42);
        assert_eq!(crc64(0, &big), reference(0, &big));
    }

    /// Property test of the dispatching `crc64` (folding where the CPU can) against the
    /// tables: random lengths (mostly past the folding threshold, some huge), alignments,
    /// starting CRCs, and the same bytes fed in random chunks.
    #[test]
    fn folding_matches_the_tables() {
        let buffer = noise(1 << 20, 0x5EED);
        let mut seed = 0x0123_4567_89AB_CDEFu64;
        for case in 0..4000 {
            let len = match case % 4 {
                0 => (next(&mut seed) % 64) as usize,
                1 => (next(&mut seed) % 1024) as usize,
                2 => (next(&mut seed) % 9000) as usize,
                _ => (next(&mut seed) % (1 << 19)) as usize,
            };
            let start = (next(&mut seed) % 64) as usize;
            let data = &buffer[start..start + len];
            let init = if case % 3 == 0 { 0 } else { next(&mut seed) };
            let expected = crc64_table(init, data);
            assert_eq!(
                crc64(init, data),
                expected,
                "case {case}: len {len} at {start}"
            );
            let mut crc = init;
            let mut rest = data;
            while !rest.is_empty() {
                let n = ((next(&mut seed) % 3000) as usize).min(rest.len());
                let (chunk, tail) = rest.split_at(n);
                crc = crc64(crc, chunk);
                rest = tail;
            }
            assert_eq!(crc, expected, "case {case}: chunked, len {len} at {start}");
        }
    }

    /// The folding code itself from its 16-byte minimum, below the dispatch threshold.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn short_folds_match_the_tables() {
        if !clmul::available() {
            return;
        }
        let data = noise(2048, 99);
        let mut seed = 17u64;
        for len in 16..data.len() {
            let start = len % 16;
            let part = &data[start..len];
            if part.len() < 16 {
                continue;
            }
            let init = next(&mut seed);
            // SAFETY: the CPU's features were checked above.
            let folded = unsafe { clmul::fold(init, part) };
            assert_eq!(folded, crc64_table(init, part), "len {}", part.len());
        }
    }
}
