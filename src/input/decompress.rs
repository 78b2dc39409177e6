//! gzip and zstd, decompressed in pure Rust into a temporary copy (`spool`): nightly backups
//! are usually compressed, and the parser needs one contiguous map.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

use super::{Dump, OpenOptions, spool};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Decompresses `compressed` into a temporary file and opens that as the dump.
pub fn spool(
    path: &Path,
    compression: Compression,
    compressed: impl Read,
    options: &OpenOptions,
) -> Result<Dump, Error> {
    let map = match compression {
        // Concatenated members (`cat a.gz b.gz`, pigz) are one stream, as gunzip sees it.
        Compression::Gzip => spool::copy(
            path,
            flate2::read::MultiGzDecoder::new(compressed),
            Some(compression),
            options,
        )?,
        Compression::Zstd => spool::copy(
            path,
            ZstdFrames::new(BufReader::new(compressed)),
            Some(compression),
            options,
        )?,
    };
    Dump::spooled(path, map)
}

/// Every frame of a zstd stream in turn, skipping skippable frames, as `zstd -d` does.
struct ZstdFrames<R: BufRead> {
    source: R,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(source: R) -> ZstdFrames<R> {
        ZstdFrames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.in_frame {
                if self.source.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.decoder.reset(&mut self.source) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        io::copy(
                            &mut (&mut self.source).take(u64::from(length)),
                            &mut io::sink(),
                        )?;
                        continue;
                    }
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
            }
            while self.decoder.can_collect() == 0 && !self.decoder.is_finished() {
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.in_frame = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_gzip_member_is_read() {
        let both = [gzip(b"REDIS0011"), gzip(b"\xff")].concat();
        let out = read_all(flate2::read::MultiGzDecoder::new(&both[..])).unwrap();
        assert_eq!(out, b"REDIS0011\xff");
    }

    #[test]
    fn every_zstd_frame_is_read_and_skippable_frames_skipped() {
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        // A skippable frame: magic 0x184D2A50, a 4-byte length, that many bytes.
        let skippable = [
            &0x184D_2A50u32.to_le_bytes()[..],
            &3u32.to_le_bytes(),
            b"abc",
        ]
        .concat();
        let stream = [zstd(&payload[..1000]), skippable, zstd(&payload[1000..])].concat();
        let out = read_all(ZstdFrames::new(&stream[..])).unwrap();
        assert_eq!(out, payload);
    }

    #[test]
    fn damaged_zstd_is_an_error() {
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 13) as u8).collect();
        let stream = zstd(&payload);
        let cut = &stream[..stream.len() / 2];
        assert!(read_all(ZstdFrames::new(cut)).is_err());
        let mut flipped = stream.clone();
        flipped[4] ^= 0xFF;
        assert!(read_all(ZstdFrames::new(&flipped[..])).is_err());
    }
}
