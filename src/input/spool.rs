//! Temporary copies of inputs that cannot be mapped in place (decompressed data, pipes). The
//! copy is an unnamed file in the temporary directory: nothing is left behind however the
//! process ends, Ctrl-C and SIGKILL included. Its size is bounded so that a runaway input
//! (a decompression bomb, an endless pipe) stops with a message instead of filling the disk.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::OpenOptions;
use super::decompress::Compression;
use crate::error::Error;
use crate::report::units;

/// Share of the free space a temporary copy may take when no limit is given: the rest is
/// left to whatever else runs on the machine.
const FREE_SPACE_SHARE: (u64, u64) = (9, 10);

/// Copies `from` to a new temporary file and maps it. `compression` only words the messages;
/// `from` yields the data to analyse (already decompressing). With `options.keep_going`, data
/// that breaks off with a read error (a truncated .gz) keeps what came before, for the
/// parser to report as damage.
pub fn copy(
    path: &Path,
    mut from: impl Read,
    compression: Option<Compression>,
    options: &OpenOptions,
) -> Result<Mmap, Error> {
    let dir = options.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let temp_error = |e: io::Error| {
        Error::Input(format!(
            "cannot use the temporary directory {} (--temp-dir): {e}",
            dir.display()
        ))
    };
    let limit = match options.max_temp_size {
        Some(limit) => limit,
        None => free_space(&dir).map_err(temp_error)? / FREE_SPACE_SHARE.1 * FREE_SPACE_SHARE.0,
    };
    let mut file = unnamed_file(&dir).map_err(temp_error)?;
    let doing = match compression {
        Some(c) => format!(
            "{} is {}-compressed: decompressing it",
            path.display(),
            c.name()
        ),
        None => format!("reading {}", path.display()),
    };
    options.note(&format!(
        "{doing} to an unnamed temporary file in {} (at most {}; removed on exit)",
        dir.display(),
        units::bytes(limit)
    ));
    let mut buf = vec![0; 1 << 20];
    let mut written = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let what = match compression {
                    Some(c) => format!("the {} data is damaged", c.name()),
                    None => "reading failed".to_string(),
                };
                let message = format!(
                    "{}: {what} after {written} bytes of output: {e}",
                    path.display()
                );
                if !options.keep_going || written == 0 {
                    return Err(Error::Input(message));
                }
                eprintln!("rdbscope: warning: {message}; analysing what came before");
                break;
            }
        };
        if written + n as u64 > limit {
            return Err(Error::Input(format!(
                "{} needs more than {} of temporary space in {} (the limit: --max-temp-size, by \
                 default 90% of the free space there); raise it, or give --temp-dir on a larger \
                 file system",
                path.display(),
                units::bytes(limit),
                dir.display()
            )));
        }
        file.write_all(&buf[..n]).map_err(temp_error)?;
        written += n as u64;
    }
    if written == 0 {
        return Err(Error::Input(format!(
            "{} is empty (0 bytes{})",
            path.display(),
            if compression.is_some() {
                " once decompressed"
            } else {
                ""
            }
        )));
    }
    // SAFETY: the file is unnamed and only this process holds it, so nobody can change it.
    unsafe { Mmap::map(&file) }.map_err(temp_error)
}

/// A file in `dir` that has no name from the start where the file system allows it
/// (`O_TMPFILE`), else one created and unlinked at once.
fn unnamed_file(dir: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
    {
        Ok(file) => return Ok(file),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {}
        Err(e) => return Err(e),
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name: PathBuf = dir.join(format!(".rdbscope-{}-{stamp}.tmp", std::process::id()));
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&name)?;
    fs::remove_file(&name)?;
    Ok(file)
}

/// Bytes an unprivileged process may still write on the file system holding `dir`.
fn free_space(dir: &Path) -> io::Result<u64> {
    let c_path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs only writes into the struct it is given; the path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The regular file stdin is redirected from, if it is one and nothing was read from it yet.
pub fn regular_file_behind(stdin: &io::Stdin) -> Option<File> {
    let mut file = File::from(stdin.as_fd().try_clone_to_owned().ok()?);
    let is_file = file.metadata().ok()?.is_file();
    (is_file && file.stream_position().ok()? == 0).then_some(file)
}
