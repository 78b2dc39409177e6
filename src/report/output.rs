//! Where reports go: stdout, or a file written under a temporary name and renamed into place
//! when complete, so a failed run never leaves a half-written report or clobbers an old one.
//! A run ended by a signal leaves nothing either: the temporary name is registered with
//! `cleanup` until the rename.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::cleanup::{self, RemoveOnSignal};
use crate::error::Error;

pub enum Output {
    Stdout(BufWriter<io::Stdout>),
    File {
        tmp: PathBuf,
        dest: PathBuf,
        file: BufWriter<File>,
        /// Removes `tmp` if a signal ends the process first.
        _on_signal: RemoveOnSignal,
    },
}

impl Output {
    /// `None` or `-` means stdout.
    pub fn create(dest: Option<&Path>) -> Result<Output, Error> {
        let Some(dest) = dest.filter(|p| p.as_os_str() != "-") else {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            )));
        };
        let name = dest
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{} is not a file name", dest.display())))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".rdbscope-{}.tmp", std::process::id()));
        let tmp = dest.with_file_name(tmp_name);
        let on_signal = cleanup::remove_on_signal(&tmp);
        let file = File::create(&tmp).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        Ok(Output::File {
            tmp,
            dest: dest.to_path_buf(),
            file: BufWriter::with_capacity(1 << 16, file),
            _on_signal: on_signal,
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { file, .. } => file,
        }
    }

    /// Flushes and moves the file into place.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Output::Stdout(mut w) => w.flush().or_else(ignore_broken_pipe).map_err(stdout_error),
            Output::File {
                tmp, dest, file, ..
            } => {
                let done = file
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .and_then(|f| f.sync_all())
                    .and_then(|_| fs::rename(&tmp, &dest));
                done.map_err(|source| {
                    let _ = fs::remove_file(&tmp);
                    Error::Io { path: dest, source }
                })
            }
        }
    }

    /// Drops a partial file on failure.
    pub fn abandon(self) {
        if let Output::File { tmp, file, .. } = self {
            drop(file);
            let _ = fs::remove_file(tmp);
        }
    }

    pub fn io_error(&self, source: io::Error) -> Error {
        match self {
            Output::Stdout(_) => stdout_error(source),
            Output::File { dest, .. } => Error::Io {
                path: dest.clone(),
                source,
            },
        }
    }
}

/// A closed pipe (`rdbscope keys dump.rdb | head`) is the reader's choice, not a failure.
fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

fn stdout_error(source: io::Error) -> Error {
    Error::Io {
        path: PathBuf::from("<stdout>"),
        source,
    }
}

/// True when an error is a closed stdout pipe.
pub fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
}
