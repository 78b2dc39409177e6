//! `summary.json` (schema `rdbscope.summary/1`, documented in the README).

use std::io::{self, Write};

use crate::analyze::Summary;

pub fn write(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, summary).map_err(io::Error::from)?;
    writeln!(out)
}
