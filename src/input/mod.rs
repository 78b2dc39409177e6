//! Opening a dump: whatever the user points at (a dump, a compressed dump, stdin, an AOF file
//! or directory) becomes one memory-mapped RDB image, so the parser borrows from the page
//! cache instead of copying gigabytes into the heap.
//!
//! - A plain dump is mapped in place; its size and modification time are noted so that a file
//!   changed while it is read is reported instead of analysed (`Dump::verify_unchanged`).
//! - gzip and zstd data (recognised by their magic bytes, whatever the file is called), stdin
//!   and other pipes are spooled to an unnamed temporary file (`spool`), then mapped.
//! - AOF shapes are recognised (`aof`): a multi-part AOF directory or its manifest leads to
//!   its base RDB; an AOF without an RDB preamble is explained, not parsed.

mod aof;
mod decompress;
mod sniff;
mod spool;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use memmap2::Mmap;

use crate::error::Error;
use sniff::Shape;

/// How to open inputs that cannot be mapped in place.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Where decompressed data and stdin are spooled; `None` means the system's temporary
    /// directory (`$TMPDIR`).
    pub temp_dir: Option<PathBuf>,
    /// The most a temporary copy may take; `None` means 90% of the free space where it goes.
    pub max_temp_size: Option<u64>,
    /// No notes on stderr.
    pub quiet: bool,
    /// Compressed data that breaks off (a truncated .gz) is analysed up to the break, for the
    /// scan to report as damage (`--keep-going`), instead of refused.
    pub keep_going: bool,
}

impl OpenOptions {
    /// One line on stderr about what is being done with the input, unless quiet.
    fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("rdbscope: {message}");
        }
    }
}

/// A memory-mapped RDB image, ready for the parser.
pub struct Dump {
    /// What messages name: the file whose bytes are parsed (an AOF directory's base file).
    path: PathBuf,
    map: Mmap,
    /// Set when the file is mapped in place: the file and what it looked like when mapped.
    in_place: Option<(File, Snapshot)>,
}

/// What a mapped file looked like; if it changes while mapped, pages may vanish (SIGBUS) or
/// hold other data than was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    len: u64,
    modified: Option<SystemTime>,
}

impl Snapshot {
    fn of(file: &File) -> io::Result<Snapshot> {
        let meta = file.metadata()?;
        Ok(Snapshot {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// `-` names stdin, as for output files.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

impl Dump {
    /// Opens `path` (`-` for stdin) as an RDB image; see the module comment for what is
    /// accepted. Anything else gets an `Error::Input` that says what it is.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Dump, Error> {
        if is_stdin(path) {
            return Dump::open_stdin(options);
        }
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io_error)?;
        if meta.is_dir() {
            let base = aof::base_of_directory(path, options)?;
            return Dump::open_file(&base, options);
        }
        if meta.is_file() {
            return Dump::open_file(path, options);
        }
        // A FIFO, a character device, `<(zcat dump.rdb.gz)`: read it as a stream.
        let file = File::open(path).map_err(io_error)?;
        Dump::from_stream(path, file, options)
    }

    fn open_stdin(options: &OpenOptions) -> Result<Dump, Error> {
        let path = Path::new("<stdin>");
        let stdin = io::stdin();
        // `rdbscope info - < dump.rdb`: a redirected regular file is mapped like any other.
        if let Some(file) = spool::regular_file_behind(&stdin) {
            return Dump::map_file(path, file, options);
        }
        Dump::from_stream(path, stdin.lock(), options)
    }

    fn open_file(path: &Path, options: &OpenOptions) -> Result<Dump, Error> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Dump::map_file(path, file, options)
    }

    /// Maps a regular file in place, unless it is compressed or an AOF manifest.
    fn map_file(path: &Path, file: File, options: &OpenOptions) -> Result<Dump, Error> {
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let before = Snapshot::of(&file).map_err(io_error)?;
        if before.len == 0 {
            return Err(Error::Input(format!(
                "{} is empty (0 bytes)",
                path.display()
            )));
        }
        // SAFETY: the map is read-only. A file truncated by another process while mapped
        // raises SIGBUS on access: `verify_unchanged` catches the common case of a file
        // rewritten or shrunk before or during the scan, and `crate::cleanup` turns the
        // signal into a message (README, "Things to know").
        let map = unsafe { Mmap::map(&file) }.map_err(io_error)?;
        match sniff::shape(&map) {
            Shape::Rdb => {}
            Shape::Compressed(compression) => {
                return decompress::spool(path, compression, &map[..], options);
            }
            Shape::AofManifest => {
                let base = aof::base_of_manifest(path, &map, options)?;
                return Dump::open_file(&base, options);
            }
            other => other.explain(path)?,
        }
        Ok(Dump {
            path: path.to_path_buf(),
            map,
            in_place: Some((file, before)),
        })
    }

    /// Spools a stream (stdin, a pipe), decompressing it on the way if it is compressed.
    fn from_stream(path: &Path, stream: impl Read, options: &OpenOptions) -> Result<Dump, Error> {
        let (head, stream) = sniff::peek(stream).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if head.is_empty() {
            return Err(Error::Input(format!(
                "{} is empty (0 bytes)",
                path.display()
            )));
        }
        match sniff::shape(&head) {
            Shape::Compressed(compression) => decompress::spool(path, compression, stream, options),
            other => {
                other.explain(path)?;
                // Not an RDB, or a version this build does not read: say so before copying.
                crate::rdb::Header::parse(&head).map_err(|source| Error::Rdb {
                    path: path.to_path_buf(),
                    source,
                })?;
                let map = spool::copy(path, stream, None, options)?;
                Dump::spooled(path, map)
            }
        }
    }

    /// A dump whose bytes are in our own temporary file: checks what the data is.
    fn spooled(path: &Path, map: Mmap) -> Result<Dump, Error> {
        match sniff::shape(&map) {
            Shape::Compressed(inner) => {
                return Err(Error::Input(format!(
                    "{} is compressed twice ({} inside); decompress it once first",
                    path.display(),
                    inner.name()
                )));
            }
            Shape::AofManifest => {
                return Err(Error::Input(format!(
                    "{} is an AOF manifest; give the appendonlydir directory it belongs to",
                    path.display()
                )));
            }
            other => other.explain(path)?,
        }
        Ok(Dump {
            path: path.to_path_buf(),
            map,
            in_place: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Fails if a dump mapped in place changed size or modification time since it was
    /// mapped: what was parsed may then not be what the file holds, or held.
    pub fn verify_unchanged(&self) -> Result<(), Error> {
        let Some((file, before)) = &self.in_place else {
            return Ok(());
        };
        let now = Snapshot::of(file).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        if now == *before {
            return Ok(());
        }
        let what = if now.len != before.len {
            format!("its size went from {} to {} bytes", before.len, now.len)
        } else {
            "it was modified".to_string()
        };
        Err(Error::Input(format!(
            "{} changed while being read ({what}); the results would not be reliable: analyse \
             a finished dump or a copy",
            self.path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_file(tag: &str, data: &[u8]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("rdbscope-input-{}-{tag}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        path
    }

    #[test]
    fn a_file_that_changes_after_mapping_is_reported() {
        let path = scratch_file("grows", b"REDIS0011\xff");
        let dump = Dump::open(&path, &OpenOptions::default()).unwrap();
        assert!(dump.verify_unchanged().is_ok());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, b"more").unwrap();
        let err = dump.verify_unchanged().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{} changed while being read (its size went from 10 to 14 bytes); the results \
                 would not be reliable: analyse a finished dump or a copy",
                path.display()
            )
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_spooled_copy_is_ours_and_cannot_change() {
        let path = scratch_file("spooled", b"REDIS0011\xff");
        let stream = std::fs::File::open(&path).unwrap();
        let options = OpenOptions {
            quiet: true,
            ..OpenOptions::default()
        };
        let dump = Dump::from_stream(&path, stream, &options).unwrap();
        std::fs::write(&path, b"changed").unwrap();
        assert_eq!(dump.bytes(), b"REDIS0011\xff");
        assert!(dump.verify_unchanged().is_ok());
        std::fs::remove_file(&path).unwrap();
    }
}
