//! `rdbscope keys DUMP`: one CSV row per key, streamed in file order.

use std::path::Path;

use super::{Gaps, Input, scan};
use crate::analyze::Filter;
use crate::error::Error;
use crate::input::Dump;
use crate::rdb::inspect;
use crate::report::keys_csv::{self, Rows};
use crate::report::output::Output;

/// Writes the CSV; with `--keep-going` it holds every key before the damage but the skipped
/// ones, and the returned gaps say what is missing.
pub fn run(input: &Input, out_path: Option<&Path>, filter: &Filter) -> Result<Gaps, Error> {
    // The output first: an unwritable destination fails before a long decompression.
    let mut out = Output::create(out_path)?;
    let written = input
        .open()
        .and_then(|dump| write_keys(&dump, input, filter, &mut out));
    match written {
        Ok(gaps) => out.finish().map(|()| gaps),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

fn write_keys(
    dump: &Dump,
    input: &Input,
    filter: &Filter,
    out: &mut Output,
) -> Result<Gaps, Error> {
    writeln!(out.writer(), "{}", keys_csv::HEADER).map_err(|e| out.io_error(e))?;
    let end = scan(
        dump,
        input.scan,
        |rows: &mut Rows, ctx, scratch, record| {
            if filter.accepts(record) {
                rows.push(record, &inspect(record, ctx, scratch)?);
            }
            Ok(())
        },
        |rows| {
            out.writer()
                .write_all(&rows.into_bytes())
                .map_err(|e| out.io_error(e))
        },
    )?;
    Ok(end.gaps)
}
