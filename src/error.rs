//! The application-level error: what the command line reports, and the exit code it maps to.

use std::path::PathBuf;

use crate::rdb;

#[derive(Debug)]
pub enum Error {
    /// The dump is malformed; carries the offset and key.
    Rdb { path: PathBuf, source: rdb::Error },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The input is not something rdbscope reads (a directory, an empty file, ...).
    Input(String),
    /// Arguments that parse but do not make sense together.
    Usage(String),
    /// The run succeeded and crossed a threshold the user set to alert on
    /// (`diff --fail-if-growth`).
    Threshold(String),
}

impl Error {
    /// 1 bad input or I/O, 2 usage, 4 a threshold crossed (0 and 3, complete and partial,
    /// are not errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Threshold(_) => 4,
            _ => 1,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Rdb { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Input(m) | Error::Usage(m) | Error::Threshold(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Rdb { source, .. } => Some(source),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
