//! LZF decompression (rdb-format.md §7). The output cannot alias the map, so callers pass a
//! reusable buffer; its size is bounded up front by what the compressed bytes could expand to.

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

/// Decompresses `input` into `out` (cleared first); the result must be exactly `original_len`.
/// The input is measured before anything is allocated, so a corrupted declared length costs
/// no memory: the buffer only ever grows to a length the compressed bytes really produce.
pub fn decompress_into(
    input: &[u8],
    original_len: usize,
    offset: u64,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_declared_len(input.len(), original_len as u64, offset)?;
    if decompressed_len(input, offset)? != original_len {
        return Err(Error::new(
            offset,
            ErrorKind::Lzf("decompressed length differs from the declared length"),
        ));
    }
    out.clear();
    out.reserve_exact(original_len);
    // `decompressed_len` walked this same control flow and checked every bound.
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            out.extend_from_slice(&input[i..i + ctrl + 1]);
            i += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += input[i] as usize;
                i += 1;
            }
            let distance = ((ctrl & 0x1F) << 8) + input[i] as usize + 1;
            i += 1;
            let (start, len) = (out.len() - distance, len + 2);
            if distance >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping copy: the reference repeats bytes it is itself producing.
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    Ok(())
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

    #[test]
    fn rejects_bad_input() {
        let mut out = Vec::new();
        let short = decompress_into(&[2, b'a'], 3, 40, &mut out).unwrap_err();
        assert_eq!(short.offset, 40);
        assert!(decompress_into(&[0, b'a', (1 << 5), 5], 4, 0, &mut out).is_err());
        assert!(decompress_into(&[0, b'a'], 2, 0, &mut out).is_err());
        assert!(check_declared_len(2, 1_000_000, 0).is_err());
    }
}
