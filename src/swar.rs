//! Byte tests eight at a time in a `u64`, for the scans that run on every key or value: key
//! tokens, hash tags, escapes, JSON strings.

/// Every byte 0x01.
pub const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// Every byte 0x80.
pub const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The high bit of each byte of `word` that is `b`, exactly: for where the bytes are.
#[inline(always)]
pub fn equal_bytes(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    // a byte is zero iff neither its low seven bits nor its high bit are set
    !(((x & !HIGHS) + !HIGHS) | x) & HIGHS
}

/// Nonzero iff some byte of `word` is `b`: one step cheaper than [`equal_bytes`], but a byte
/// after one that is `b` may be flagged too, so it says whether, not where.
#[inline(always)]
pub fn has_byte(word: u64, b: u8) -> u64 {
    zero_bytes(word ^ (ONES * u64::from(b)))
}

/// Nonzero iff some byte of `x` is zero (the high bits of the zero bytes, and maybe of bytes
/// after one).
#[inline(always)]
pub fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against byte-by-byte tests, on words of bytes near the one looked for.
    #[test]
    fn word_tests_agree_with_byte_tests() {
        let mut rng = crate::synth::rng::Rng::new(21);
        for _ in 0..100_000 {
            let b = *rng.pick(&[0x00, b'{', b'"', b'\\', 0x7f, 0x80, 0xff]);
            let bytes: [u8; 8] = std::array::from_fn(|_| {
                *rng.pick(&[
                    b,
                    b.wrapping_add(1),
                    b.wrapping_sub(1),
                    b ^ 0x80,
                    0x00,
                    0xff,
                ])
            });
            let word = u64::from_le_bytes(bytes);
            let exact = bytes
                .iter()
                .enumerate()
                .fold(0, |m, (i, &x)| m | u64::from(x == b) << (8 * i + 7));
            assert_eq!(equal_bytes(word, b), exact, "{bytes:?} {b}");
            assert_eq!(has_byte(word, b) != 0, exact != 0, "{bytes:?} {b}");
        }
    }
}
