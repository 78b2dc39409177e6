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
    /// An existing destination that is not a regular file (`/dev/null`, a FIFO, a
    /// terminal): written in place, since renaming over it would replace the device.
    Device {
        dest: PathBuf,
        file: BufWriter<File>,
    },
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
        if fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = fs::OpenOptions::new()
                .write(true)
                .open(dest)
                .map_err(|source| Error::Io {
                    path: dest.to_path_buf(),
                    source,
                })?;
            return Ok(Output::Device {
                dest: dest.to_path_buf(),
                file: BufWriter::with_capacity(1 << 16, file),
            });
        }
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
            Output::Device { file, .. } | Output::File { file, .. } => file,
        }
    }

    /// Flushes and moves the file into place.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Output::Stdout(mut w) => w.flush().or_else(ignore_broken_pipe).map_err(stdout_error),
            Output::Device { dest, mut file } => file
                .flush()
                .or_else(ignore_broken_pipe)
                .map_err(|source| Error::Io { path: dest, source }),
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
            Output::Device { dest, .. } | Output::File { dest, .. } => Error::Io {
                path: dest.clone(),
                source,
            },
        }
    }
}

/// Writes a set of files into `dir`, each under a temporary name, and renames them all only
/// when every one is complete: a failure part-way leaves none of the new files and the old
/// ones untouched.
pub fn write_dir(
    dir: &Path,
    write: impl FnOnce(&mut DirFiles<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = DirFiles {
        dir,
        outputs: Vec::new(),
    };
    match write(&mut files) {
        Ok(()) => files.outputs.into_iter().try_for_each(Output::finish),
        Err(e) => {
            files.outputs.into_iter().for_each(Output::abandon);
            Err(e)
        }
    }
}

/// The files of one [`write_dir`].
pub struct DirFiles<'d> {
    dir: &'d Path,
    outputs: Vec<Output>,
}

impl DirFiles<'_> {
    /// Adds the file `name`, written by `write`.
    pub fn file(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut Output) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut out = Output::create(Some(&self.dir.join(name)))?;
        let written = write(&mut out);
        self.outputs.push(out);
        written
    }

    /// Adds the file `name`, rendered by a report function.
    pub fn render(
        &mut self,
        name: &str,
        render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        self.file(name, |out| {
            let written = render(out.writer());
            written.map_err(|e| out.io_error(e))
        })
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
