//! `diff.json` (schema `rdbscope.diff/1`, documented in the README).

use std::io::{self, Write};

use crate::analyze::diff::Diff;

pub fn write(out: &mut dyn Write, diff: &Diff) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, diff).map_err(io::Error::from)?;
    writeln!(out)
}
