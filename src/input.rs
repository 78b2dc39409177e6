//! Opening a dump: memory-map the file so the parser borrows from the page cache instead of
//! copying gigabytes into the heap.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::Error;

/// A memory-mapped dump file.
pub struct Dump {
    path: PathBuf,
    map: Mmap,
}

impl Dump {
    pub fn open(path: &Path) -> Result<Dump, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(Error::Input(format!(
                "{} is a directory; give the dump file inside it (usually dump.rdb)",
                path.display()
            )));
        }
        if meta.len() == 0 {
            return Err(Error::Input(format!(
                "{} is empty (0 bytes)",
                path.display()
            )));
        }
        // SAFETY: the map is read-only. A file truncated by another process while mapped
        // raises SIGBUS on access; rdbscope is meant for finished dumps and backups, and the
        // README says so.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Ok(Dump {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}
