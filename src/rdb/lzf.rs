//! LZF (rdb-format.md §7): decompression for the parser, and the compressor servers use, so
//! the synthetic writer and the advisor see exactly the bytes a server would store.
//!
//! The decompressor's output cannot alias the map, so callers pass a reusable buffer; its size
//! is bounded up front by what the compressed bytes could expand to.

use std::hint::select_unpredictable;

use super::error::{Error, ErrorKind, Result};

/// The most output one input byte of LZF can produce: a 3-byte back-reference yields at most
/// 7 + 255 + 2 = 264 bytes.
const MAX_EXPANSION: u64 = 88;

/// Rejects a declared length the compressed bytes could never produce, before anything is
/// allocated for it.
pub fn check_declared_len(compressed_len: usize, original_len: u64, offset: u64) -> Result<()> {
    if original_len > (compressed_len as u64).saturating_mul(MAX_EXPANSION) {
        return Err(Error::new(
            offset,
            ErrorKind::Lzf("declared length is larger than the compressed bytes can expand to"),
        ));
    }
    if original_len == 0 || compressed_len == 0 {
        return Err(Error::new(
            offset,
            ErrorKind::Lzf("empty compressed string"),
        ));
    }
    Ok(())
}

/// Walks the control bytes only and returns the length `input` decompresses to, checking
/// every run and back-reference; nothing is written or allocated.
fn decompressed_len(input: &[u8], offset: u64) -> Result<usize> {
    let fail = |why| Err(Error::new(offset, ErrorKind::Lzf(why)));
    let (mut i, mut produced) = (0, 0usize);
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            i += ctrl + 1;
            if i > input.len() {
                return fail("literal run past the end of the input");
            }
            produced += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&extra) = input.get(i) else {
                    return fail("back-reference past the end of the input");
                };
                len += extra as usize;
                i += 1;
            }
            let Some(&low) = input.get(i) else {
                return fail("back-reference past the end of the input");
            };
            i += 1;
            if ((ctrl & 0x1F) << 8) + low as usize + 1 > produced {
                return fail("back-reference before the start of the output");
            }
            produced += len + 2;
        }
    }
    Ok(produced)
}

/// Checks that `input` decompresses to exactly `original_len` bytes without decompressing it:
/// every literal run and back-reference is checked as `decompress_into` checks them, so a
/// caller that needs only the length (a string value's size) pays a walk of the control bytes.
pub fn validate(input: &[u8], original_len: usize, offset: u64) -> Result<()> {
    check_declared_len(input.len(), original_len as u64, offset)?;
    if decompressed_len(input, offset)? != original_len {
        return Err(Error::new(
            offset,
            ErrorKind::Lzf("decompressed length differs from the declared length"),
        ));
    }
    Ok(())
}

/// Decompresses `input` into `out` (its old contents are replaced); the result must be exactly
/// `original_len` bytes. A declared length beyond what the input could expand to is refused
/// before anything is allocated, and when the buffer must grow the input is measured first
/// (`validate`), so a corrupted declared length costs no memory: the buffer only ever grows to
/// a length the compressed bytes really produce. On failure the error is the one `validate`
/// gives (the same checks in the same order) and `out` holds unspecified bytes.
pub fn decompress_into(
    input: &[u8],
    original_len: usize,
    offset: u64,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_declared_len(input.len(), original_len as u64, offset)?;
    if original_len > out.capacity() {
        validate(input, original_len, offset)?;
        out.clear();
        out.reserve_exact(original_len);
    }
    // Every byte is overwritten, so a reused buffer's old bytes need no clearing: only what
    // it grows by is zeroed.
    out.resize(original_len, 0);
    if decompress_exact(input, out).is_some() {
        return Ok(());
    }
    // The fast loop only says that something is wrong; the walk says what, and where.
    Err(match validate(input, original_len, offset) {
        Err(e) => e,
        // Unreachable: both accept exactly the inputs producing `original_len` bytes.
        Ok(()) => Error::new(
            offset,
            ErrorKind::Lzf("decompressed length differs from the declared length"),
        ),
    })
}

/// Bytes one wide copy moves; copies round up to it where the buffers leave room.
const WIDE: usize = 16;

/// For a back-reference distance under 16: its smallest multiple of at least 16 (a table, not
/// a division on every short reference).
const PATTERN_STEP: [usize; WIDE] = {
    let mut steps = [0; WIDE];
    let mut d = 1;
    while d < WIDE {
        steps[d] = d * WIDE.div_ceil(d);
        d += 1;
    }
    steps
};

/// Decompresses `input` to fill `out` exactly; `None` when it is malformed or produces a
/// different length. Copies are fixed-size chunks (a literal run in one 32-byte copy, a
/// reference in 16-byte ones), which may write past the token's end into output bytes the
/// next tokens overwrite. Away from the ends of both buffers, one bounds check per token
/// covers the common tokens: any literal run, and a reference of at most 16 bytes that does
/// not overlap what it writes (nearly all references in listpacks and ziplists), copied in
/// one chunk. The other tokens are checked on their own. Back-references closer than their
/// length repeat a short pattern: its first bytes are copied one by one until the pattern,
/// repeated, spans 16 bytes or more, and that multiple of the distance serves for wide copies.
fn decompress_exact(input: &[u8], out: &mut [u8]) -> Option<()> {
    let out_len = out.len();
    let (mut ip, mut op) = (0usize, 0usize);
    while ip < input.len() {
        if let (Some(head), true) = (
            input[ip..].first_chunk::<{ 1 + MAX_LITERAL }>(),
            op + MAX_LITERAL <= out_len,
        ) {
            let ctrl = usize::from(head[0]);
            if ctrl < 32 {
                *out[op..].first_chunk_mut().unwrap() =
                    *head[1..].first_chunk::<MAX_LITERAL>().unwrap();
                op += ctrl + 1;
                ip += ctrl + 2;
                continue;
            }
            // Whether the length takes a second byte is data, not a pattern a predictor
            // learns (a quarter of listpack references do): select, do not branch.
            let extended = ctrl >= 7 << 5;
            let len = (ctrl >> 5) + select_unpredictable(extended, usize::from(head[1]), 0);
            let low = usize::from(select_unpredictable(extended, head[2], head[1]));
            let step = 2 + usize::from(extended);
            let distance = ((ctrl & 0x1F) << 8) + low + 1;
            if distance > op {
                return None;
            }
            if len + 2 <= WIDE.min(distance) {
                out.copy_within(op - distance..op - distance + WIDE, op);
                op += len + 2;
                ip += step;
                continue;
            }
        }
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            out.get_mut(op..op + n)?
                .copy_from_slice(input.get(ip..ip + n)?);
            ip += n;
            op += n;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += usize::from(*input.get(ip)?);
            ip += 1;
        }
        let distance = ((ctrl & 0x1F) << 8) + usize::from(*input.get(ip)?) + 1;
        ip += 1;
        let len = len + 2;
        let end = op + len;
        if distance > op || end > out_len {
            return None;
        }
        if end + WIDE <= out_len {
            let mut from = op - distance;
            let mut to = op;
            if distance < WIDE {
                // Grow the pattern to a multiple of the distance of at least 16 bytes.
                let step = PATTERN_STEP[distance];
                let grow = (step - distance).min(len);
                let window = &mut out[from..op + grow];
                for i in distance..distance + grow {
                    window[i] = window[i - distance];
                }
                to += grow;
                // Where the pattern is not yet complete, `grow == len`: nothing is left.
                from = to.saturating_sub(step);
            }
            while to < end {
                out.copy_within(from..from + WIDE, to);
                from += WIDE;
                to += WIDE;
            }
        } else if distance >= len {
            out.copy_within(op - distance..op - distance + len, op);
        } else {
            let window = &mut out[op - distance..end];
            for i in distance..distance + len {
                window[i] = window[i - distance];
            }
        }
        op = end;
    }
    (op == out_len).then_some(())
}

/// Hash table size of the compressor: 2^16 slots, liblzf's `HLOG` as Redis and Valkey build it.
const HASH_BITS: u32 = 16;
/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 1 << 5;
/// Farthest back a reference can point.
const MAX_DISTANCE: usize = 1 << 13;
/// Longest reference: 7 + 255 + 2 bytes.
const MAX_MATCH: usize = (1 << 8) + (1 << 3);
/// Largest input compressed; RDB strings this long are not compressed by servers either.
const MAX_INPUT: usize = (u32::MAX / 2) as usize;

/// The compressor of liblzf 3.6 with the settings servers compile it with (`HLOG` 16,
/// `VERY_FAST`), decision for decision, so its output is the server's (liblzf started from a
/// clean hash table) and "does it fit in `max_len`" is answered the same way. The table is
/// reused between calls: slots hold positions in a running stream that never goes back, so
/// entries left by earlier inputs are recognised as stale without clearing 256 KiB per call.
pub struct Compressor {
    slots: Box<[u32]>,
    /// Stream position of the current input's first byte.
    base: u32,
}

impl Default for Compressor {
    fn default() -> Compressor {
        Compressor {
            slots: vec![0; 1 << HASH_BITS].into_boxed_slice(),
            base: 1,
        }
    }
}

impl Compressor {
    /// Compresses `input` into `out` (cleared first) as `lzf_compress(input, len, out,
    /// max_len)` does; `false` when the result would not fit in `max_len` bytes (`out` then
    /// holds a partial result).
    pub fn compress_into(&mut self, input: &[u8], max_len: usize, out: &mut Vec<u8>) -> bool {
        out.clear();
        // liblzf takes 32-bit lengths; slot positions must not wrap within one input either.
        if input.is_empty() || max_len == 0 || input.len() > MAX_INPUT {
            return false;
        }
        if self.base > MAX_INPUT as u32 {
            self.slots.fill(0);
            self.base = 1;
        }
        let base = self.base;
        self.base += input.len() as u32 + 1;
        let end = input.len();
        let slot_of = |h: u32| {
            ((h >> (24 - HASH_BITS)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HASH_BITS) - 1))
                as usize
        };

        let mut literals = 0usize;
        out.push(0); // opens a literal run; its control byte is patched when the run ends
        let mut ip = 0usize;
        let mut hval = match input {
            [a, b, ..] => (u32::from(*a) << 8) | u32::from(*b),
            _ => 0,
        };
        while ip + 2 < end {
            hval = (hval << 8) | u32::from(input[ip + 2]);
            let slot = slot_of(hval);
            // Slots naming an earlier input hold positions below `base`.
            let candidate = self.slots[slot].checked_sub(base).map(|p| p as usize);
            self.slots[slot] = base + ip as u32;
            // liblzf never refers back to the input's first byte (`ref > in_data`).
            let found = candidate.filter(|&r| {
                r > 0 && ip - r - 1 < MAX_DISTANCE && input[r..r + 3] == input[ip..ip + 3]
            });
            let Some(r) = found else {
                if out.len() >= max_len {
                    return false;
                }
                push_literal(out, &mut literals, input[ip]);
                ip += 1;
                continue;
            };
            if out.len() - usize::from(literals == 0) + 4 >= max_len {
                return false;
            }
            close_run(out, literals);
            let distance = ip - r - 1;
            let len = match_len(input, r, ip, (end - ip - 2).min(MAX_MATCH));
            let stored = len - 2;
            if stored < 7 {
                out.push(((distance >> 8) + (stored << 5)) as u8);
            } else {
                out.push(((distance >> 8) + (7 << 5)) as u8);
                out.push((stored - 7) as u8);
            }
            out.push(distance as u8);
            literals = 0;
            out.push(0);
            ip += len;
            if ip + 2 >= end {
                break;
            }
            // VERY_FAST: hash the two positions just before the new `ip`, rebuilding the rolling
            // hash from there.
            ip -= 2;
            hval = (u32::from(input[ip]) << 8) | u32::from(input[ip + 1]);
            for _ in 0..2 {
                hval = (hval << 8) | u32::from(input[ip + 2]);
                self.slots[slot_of(hval)] = base + ip as u32;
                ip += 1;
            }
        }
        // At most two bytes are left, plus perhaps one control byte.
        if out.len() + 3 > max_len {
            return false;
        }
        for &byte in &input[ip..] {
            push_literal(out, &mut literals, byte);
        }
        close_run(out, literals);
        true
    }
}

/// Appends one literal byte, closing the run when it is full and opening the next.
fn push_literal(out: &mut Vec<u8>, literals: &mut usize, byte: u8) {
    *literals += 1;
    out.push(byte);
    if *literals == MAX_LITERAL {
        close_run(out, *literals);
        *literals = 0;
        out.push(0);
    }
}

/// Writes the control byte of the open literal run, or drops it if the run is empty.
fn close_run(out: &mut Vec<u8>, literals: usize) {
    if literals == 0 {
        out.pop();
    } else {
        let run_start = out.len() - literals - 1;
        out[run_start] = (literals - 1) as u8;
    }
}

/// Bytes `input[r..]` and `input[ip..]` share, at least 3 (already compared), as liblzf counts
/// them: its unrolled first 16 comparisons do not check `max_match`, so near the end of the
/// input a match may run up to two bytes past it, still inside the input.
fn match_len(input: &[u8], r: usize, ip: usize, max_match: usize) -> usize {
    let mut len = 2;
    if max_match > 16 {
        for _ in 0..16 {
            len += 1;
            if input[r + len] != input[ip + len] {
                return len;
            }
        }
    }
    loop {
        len += 1;
        if len >= max_match || input[r + len] != input[ip + len] {
            return len;
        }
    }
}

/// Compresses `input` as a server does into a buffer of `max_len` bytes; `None` when it does
/// not fit. Callers compressing many values should keep a [`Compressor`].
pub fn compress(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    Compressor::default()
        .compress_into(input, max_len, &mut out)
        .then_some(out)
}

/// LZF as liblzf's `lzf_decompress` defines it, one byte at a time, written for clarity,
/// not speed: the definition the fast decoder is tested against (unit tests, fuzz targets).
/// `None` for data that is malformed or does not produce exactly `original_len` bytes;
/// producing nothing is malformed too (`lzf_decompress` returns 0 for failure, and Redis
/// refuses the string).
pub fn decompress_bytewise(input: &[u8], original_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut ip = 0;
    while ip < input.len() {
        match next_token(input, &mut ip)? {
            Token::Literal(run) => out.extend_from_slice(run),
            Token::Reference { len, distance } => {
                if distance > out.len() {
                    return None;
                }
                for _ in 0..len {
                    out.push(out[out.len() - distance]);
                }
            }
        }
        if out.len() > original_len {
            return None;
        }
    }
    (!out.is_empty() && out.len() == original_len).then_some(out)
}

/// Fills `out` with the first `out.len()` bytes `input` decompresses to, decoding no further:
/// a compact blob's header (its element count) read without decompressing the blob. `None`
/// when the stream is malformed or ends before then. Only the tokens read are checked, so a
/// `Some` says nothing of the rest of the stream.
pub fn decompress_prefix(input: &[u8], out: &mut [u8]) -> Option<()> {
    let (mut ip, mut op) = (0, 0);
    while op < out.len() {
        let room = out.len() - op;
        match next_token(input, &mut ip)? {
            Token::Literal(run) => {
                let n = run.len().min(room);
                out[op..op + n].copy_from_slice(&run[..n]);
                op += n;
            }
            Token::Reference { len, distance } => {
                if distance > op {
                    return None;
                }
                for _ in 0..len.min(room) {
                    out[op] = out[op - distance];
                    op += 1;
                }
            }
        }
    }
    Some(())
}

/// One LZF token, as the byte-at-a-time decoders read it.
enum Token<'a> {
    Literal(&'a [u8]),
    /// `len` bytes copied from `distance` bytes back in the output.
    Reference {
        len: usize,
        distance: usize,
    },
}

/// Reads the token at `input[*ip..]` and steps past it; `None` when it runs past the end.
fn next_token<'a>(input: &'a [u8], ip: &mut usize) -> Option<Token<'a>> {
    let ctrl = usize::from(*input.get(*ip)?);
    let mut i = *ip + 1;
    if ctrl < 32 {
        let run = input.get(i..i + ctrl + 1)?;
        *ip = i + run.len();
        return Some(Token::Literal(run));
    }
    let mut len = ctrl >> 5;
    if len == 7 {
        len += usize::from(*input.get(i)?);
        i += 1;
    }
    let distance = ((ctrl & 0x1F) << 8) + usize::from(*input.get(i)?) + 1;
    *ip = i + 1;
    Some(Token::Reference {
        len: len + 2,
        distance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_overlapping_reference() {
        // "abc" literal, then a back-reference of length 7 at distance 3: "abcabcabca".
        let input = [2, b'a', b'b', b'c', (5 << 5), 2];
        let mut out = Vec::new();
        decompress_into(&input, 10, 0, &mut out).unwrap();
        assert_eq!(out, b"abcabcabca");
    }

    #[test]
    fn long_reference_uses_the_extra_length_byte() {
        // "a", then len 7 + 10 + 2 = 19 copies at distance 1.
        let input = [0, b'a', (7 << 5), 10, 0];
        let mut out = Vec::new();
        decompress_into(&input, 20, 0, &mut out).unwrap();
        assert_eq!(out, vec![b'a'; 20]);
    }

    /// Deterministic bytes: text-like runs (compressible) or noise, so failures reproduce.
    fn sample(len: usize, seed: u64, compressible: bool) -> Vec<u8> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: [&[u8]; 6] = [b"user", b":", b"profile", b" ", b"\"name\":", b"0123"];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            if compressible {
                out.extend_from_slice(words[(next() % 6) as usize]);
            } else {
                out.push(next() as u8);
            }
        }
        out.truncate(len);
        out
    }

    #[test]
    fn compress_round_trips_through_the_decompressor() {
        let mut compressor = Compressor::default();
        let (mut packed, mut unpacked) = (Vec::new(), Vec::new());
        for len in (1..600).chain([4095, 8192, 8193, 70_000, 300_000]) {
            for (seed, compressible) in [(len as u64, true), (len as u64 + 7, false)] {
                let input = sample(len, seed, compressible);
                let room = len + len / 32 + 16;
                assert!(
                    compressor.compress_into(&input, room, &mut packed),
                    "len {len}"
                );
                assert!(packed.len() <= room);
                decompress_into(&packed, len, 0, &mut unpacked).unwrap();
                assert_eq!(unpacked, input, "len {len} compressible {compressible}");
                if compressible && len >= 4095 {
                    assert!(packed.len() < len / 2, "len {len}: {} bytes", packed.len());
                }
                // A fresh table gives the same bytes: stale slots are never used.
                assert_eq!(compress(&input, room).unwrap(), packed);
            }
        }
    }

    #[test]
    fn compress_respects_the_output_limit_like_liblzf() {
        let input = sample(1000, 3, true);
        let mut out = Vec::new();
        let mut c = Compressor::default();
        assert!(c.compress_into(&input, 1000, &mut out));
        let needed = out.len();
        for limit in [needed + 4, 0, 1, needed / 2] {
            if c.compress_into(&input, limit, &mut out) {
                assert!(out.len() <= limit);
            } else {
                assert!(limit < needed + 4, "limit {limit} needed {needed}");
            }
        }
        // Noise does not fit in its own length minus 4, the room servers give it.
        let noise = sample(500, 9, false);
        assert!(compress(&noise, noise.len() - 4).is_none());
        assert!(compress(b"", 10).is_none());
    }

    #[test]
    fn compress_matches_liblzf_decisions() {
        // liblzf never refers back to the first byte and keeps the last two input bytes as
        // literals: "aa" (run of 2), a 21-byte reference at distance 1, "aa".
        let input = [b'a'; 25];
        assert_eq!(
            compress(&input, 25).unwrap(),
            [1, b'a', b'a', 0xE0, 12, 0, 1, b'a', b'a']
        );
        // A literal run of exactly 32 closes and the next one starts.
        let input: Vec<u8> = (0..40u8).collect();
        let packed = compress(&input, 100).unwrap();
        assert_eq!(packed[0], 31);
        assert_eq!(packed[33], 7);
        assert_eq!(packed.len(), 42);
    }

    /// A random but well-formed token stream: literal runs and back-references of every
    /// length at every distance the output so far allows, short distances (overlapping
    /// copies) favoured. Returns the stream and what it decompresses to.
    fn random_tokens(seed: &mut u64, tokens: usize) -> (Vec<u8>, Vec<u8>) {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let (mut packed, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..tokens {
            if plain.is_empty() || next() % 3 == 0 {
                let n = (next() % 32) as usize + 1;
                packed.push((n - 1) as u8);
                for _ in 0..n {
                    let b = next() as u8;
                    packed.push(b);
                    plain.push(b);
                }
            } else {
                let max_distance = plain.len().min(MAX_DISTANCE);
                let distance = match next() % 3 {
                    0 => (next() % 16) as usize + 1,
                    1 => (next() % 64) as usize + 1,
                    _ => (next() % MAX_DISTANCE as u64) as usize + 1,
                }
                .min(max_distance);
                let len = match next() % 3 {
                    0 => (next() % 7) as usize + 3,
                    1 => (next() % 40) as usize + 3,
                    _ => (next() % 262) as usize + 3,
                };
                let stored = len - 2;
                let d = distance - 1;
                if stored < 7 {
                    packed.push(((stored << 5) | (d >> 8)) as u8);
                } else {
                    packed.push(((7 << 5) | (d >> 8)) as u8);
                    packed.push((stored - 7) as u8);
                }
                packed.push(d as u8);
                for _ in 0..len {
                    plain.push(plain[plain.len() - distance]);
                }
            }
        }
        (packed, plain)
    }

    /// Property test of the fast decoder against the byte-at-a-time reference: random
    /// well-formed streams, then the same damaged (bytes changed, cut short, a wrong declared
    /// length). Accepted input gives the reference's bytes; refused input gives exactly the
    /// error of the control-byte walk (`validate`), which is where errors used to come from.
    #[test]
    fn fast_decoder_matches_the_reference() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut out = Vec::new();
        let (mut accepted, mut refused) = (0, 0);
        for case in 0..6000 {
            let tokens = [1, 2, 5, 20, 200][case % 5];
            let (mut packed, plain) = random_tokens(&mut seed, tokens);
            let mut declared = plain.len();
            let r = {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            match case % 4 {
                0 => {}
                1 => {
                    let at = (r as usize >> 8) % packed.len();
                    packed[at] = (r >> 40) as u8;
                }
                2 => packed.truncate((r as usize >> 8) % packed.len()),
                _ => declared = (declared as i64 + (r % 9) as i64 - 4).max(0) as usize,
            }
            // Reused and fresh buffers, both with stale bytes.
            if case % 2 == 0 {
                out = vec![0xAA; (r % 300) as usize];
            }
            let ours = decompress_into(&packed, declared, 77, &mut out);
            match decompress_bytewise(&packed, declared) {
                Some(expected) => {
                    assert!(ours.is_ok(), "case {case}: {ours:?}");
                    assert_eq!(out, expected, "case {case}");
                    accepted += 1;
                }
                None => {
                    let err = ours.expect_err("the reference refuses it");
                    assert_eq!(Err(err), validate(&packed, declared, 77), "case {case}");
                    refused += 1;
                }
            }
        }
        assert!(accepted > 2000 && refused > 1000, "{accepted} {refused}");
    }

    /// The one-chunk path for short references, at its edges: every distance under 17 with
    /// every length from 3 to 18 (one byte or two), so references that overlap what they
    /// write (distance under the length) and references longer than one chunk take the other
    /// paths. Literal runs around each keep the decoder away from the buffers' ends.
    #[test]
    fn short_references_match_the_reference_decoder() {
        let run: Vec<u8> = (1..=32).collect();
        let mut out = Vec::new();
        for distance in 1..=17usize {
            for len in 3..=18usize {
                let mut packed = vec![31];
                packed.extend_from_slice(&run);
                let (stored, d) = (len - 2, distance - 1);
                if stored < 7 {
                    packed.push(((stored << 5) | (d >> 8)) as u8);
                } else {
                    packed.extend_from_slice(&[((7 << 5) | (d >> 8)) as u8, (stored - 7) as u8]);
                }
                packed.push(d as u8);
                packed.push(31);
                packed.extend_from_slice(&run);
                let original_len = 64 + len;
                let expected = decompress_bytewise(&packed, original_len).unwrap();
                decompress_into(&packed, original_len, 0, &mut out).unwrap();
                assert_eq!(out, expected, "distance {distance} length {len}");
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut out = Vec::new();
        let short = decompress_into(&[2, b'a'], 3, 40, &mut out).unwrap_err();
        assert_eq!(short.offset, 40);
        assert!(decompress_into(&[0, b'a', (1 << 5), 5], 4, 0, &mut out).is_err());
        assert!(decompress_into(&[0, b'a'], 2, 0, &mut out).is_err());
        assert!(check_declared_len(2, 1_000_000, 0).is_err());
    }

    /// Every LZF string of the real-server fixtures (values and quicklist nodes),
    /// decompressed and compressed again, gives back the server's own bytes.
    #[test]
    fn compress_reproduces_the_servers_bytes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let (mut checked, mut plain) = (0, Vec::new());
        for dir in std::fs::read_dir(root).unwrap() {
            let Ok(data) = std::fs::read(dir.unwrap().path().join("dump.rdb")) else {
                continue;
            };
            for_each_lzf_string(&data, &mut |compressed, original_len| {
                decompress_into(compressed, original_len, 0, &mut plain).unwrap();
                assert_eq!(compress(&plain, plain.len()).unwrap(), compressed);
                checked += 1;
            });
        }
        assert!(checked >= 100, "{checked} LZF strings");
    }

    /// Calls `f` with every LZF string value and quicklist node of a dump.
    fn for_each_lzf_string(data: &[u8], f: &mut dyn FnMut(&[u8], usize)) {
        use crate::rdb::{Cursor, Entry, RdbStr, Records, ValueType};
        for entry in Records::new(data).unwrap() {
            let Entry::Key(record) = entry.unwrap() else {
                continue;
            };
            let mut c = Cursor::new(record.payload, record.payload_offset);
            let strings = match record.value_type {
                ValueType::String => 1,
                ValueType::ListQuicklist2 => {
                    let nodes = c.rdb_count(2, "nodes").unwrap();
                    for _ in 0..nodes {
                        c.rdb_len("container").unwrap();
                        if let RdbStr::Lzf {
                            compressed,
                            original_len,
                            ..
                        } = c.rdb_string("node").unwrap()
                        {
                            f(compressed, original_len);
                        }
                    }
                    0
                }
                _ => 0,
            };
            if strings == 1
                && let RdbStr::Lzf {
                    compressed,
                    original_len,
                    ..
                } = c.rdb_string("value").unwrap()
            {
                f(compressed, original_len);
            }
        }
    }

    /// The bytes a token stream produces up to its first malformed token, one token at a
    /// time: the reference for prefixes of damaged streams, written apart from `next_token`
    /// so that it does not share its mistakes.
    fn output_before_damage(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            let ctrl = usize::from(input[i]);
            if ctrl < 32 {
                let Some(run) = input.get(i + 1..i + 2 + ctrl) else {
                    break;
                };
                out.extend_from_slice(run);
                i += 2 + ctrl;
                continue;
            }
            let long = ctrl >> 5 == 7;
            let extra = match input.get(i + 1) {
                Some(&extra) if long => usize::from(extra),
                None if long => break,
                _ => 0,
            };
            let Some(&low) = input.get(i + 1 + usize::from(long)) else {
                break;
            };
            let len = (ctrl >> 5) + extra + 2;
            let distance = ((ctrl & 0x1F) << 8) + usize::from(low) + 1;
            if distance > out.len() {
                break;
            }
            for _ in 0..len {
                out.push(out[out.len() - distance]);
            }
            i += 2 + usize::from(long);
        }
        out
    }

    /// A prefix is read exactly when the stream produces that many bytes before any damage,
    /// and is the start of what it produces: random streams, intact, with a byte changed, and
    /// cut short.
    #[test]
    fn prefix_is_the_start_of_the_decompression() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let (mut read, mut refused) = (0, 0);
        for case in 0..3000 {
            let (mut packed, plain) = random_tokens(&mut seed, 1 + case % 9);
            match case % 3 {
                0 => assert_eq!(output_before_damage(&packed), plain),
                1 => {
                    let at = (seed as usize) % packed.len();
                    packed[at] ^= (seed >> 17) as u8 | 1;
                }
                _ => packed.truncate((seed as usize) % packed.len()),
            }
            let reference = output_before_damage(&packed);
            for want in [0, 1, 5, 6, 10, 11, 40, 300] {
                let mut out = vec![0; want];
                if want <= reference.len() {
                    assert_eq!(
                        decompress_prefix(&packed, &mut out),
                        Some(()),
                        "case {case}"
                    );
                    assert_eq!(out, reference[..want], "case {case}, {want} bytes");
                    read += 1;
                } else {
                    assert_eq!(decompress_prefix(&packed, &mut out), None, "case {case}");
                    refused += 1;
                }
            }
        }
        assert!(
            read > 10_000 && refused > 1_000,
            "{read} read, {refused} refused"
        );
    }
}
