//! CRC-64/Jones as Redis computes it for the RDB trailer and DUMP payloads (rdb-format.md §6):
//! reflected polynomial 0x95ac9329ac4bc9b5, init 0, no final xor.
//!
//! Whole dumps are checksummed (tens of GB), so this is slicing-by-16: sixteen 256-entry tables
//! let one step fold 16 input bytes with independent lookups instead of a serial chain of 16.
//! The tables are built by a `const fn`, so they live in read-only data with no start-up cost.

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

/// Continues the CRC `crc` over `data`; start with 0. Incremental:
/// `crc64(crc64(0, a), b) == crc64(0, a ++ b)`, so a file can be checksummed chunk by chunk.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
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

    /// Deterministic pseudo-random bytes (xorshift64), so failures reproduce.
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 32) as u8
            })
            .collect()
    }

    #[test]
    fn check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(reference(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(crc64(0, b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = noise(1000, 7);
        let whole = crc64(0, &data);
        for split in [0, 1, 7, 15, 16, 17, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(crc64(crc64(0, a), b), whole, "split at {split}");
        }
    }

    #[test]
    fn matches_bitwise_reference() {
        // Every length up to a few blocks exercises the tail loop and block/tail boundaries,
        // and a non-zero starting CRC checks the fold of `crc` into the first block.
        let data = noise(300, 0x9E37_79B9_7F4A_7C15);
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
}
