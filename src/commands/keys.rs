//! `rdbscope keys DUMP`: one CSV row per key, streamed in file order.

use std::path::Path;

use super::{Gaps, Input, ModelChoice, ScanOptions, scan};
use crate::analyze::Filter;
use crate::error::Error;
use crate::input::Dump;
use crate::report::keys_csv::{Columns, Rows};
use crate::report::output::Output;

/// Writes the CSV; with `--keep-going` it holds every key before the damage but the skipped
/// ones, and the returned gaps say what is missing.
pub fn run(
    input: &Input,
    out_path: Option<&Path>,
    filter: &Filter,
    choice: &ModelChoice,
    columns: Columns<'_>,
) -> Result<Gaps, Error> {
    // The output first: an unwritable destination fails before a long decompression.
    let mut out = Output::create(out_path)?;
    let written = input.open().and_then(|dump| {
        write_keys(
            std::slice::from_ref(&dump),
            input.scan,
            filter,
            choice,
            &mut out,
            columns,
        )
    });
    match written {
        Ok(gaps) => out.finish().map(|()| gaps),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

/// Writes the header and one row per key of every dump, in file order; returns what a
/// `--keep-going` scan missed.
pub fn write_keys(
    dumps: &[Dump],
    options: ScanOptions,
    filter: &Filter,
    choice: &ModelChoice,
    out: &mut Output,
    columns: Columns<'_>,
) -> Result<Gaps, Error> {
    writeln!(out.writer(), "{}", columns.header()).map_err(|e| out.io_error(e))?;
    let mut gaps = Gaps::default();
    for dump in dumps {
        let end = scan(
            dump,
            options,
            choice,
            |rows: &mut Rows, ctx, model, scratch, record| {
                if filter.accepts(record) {
                    let (stats, estimate) = model.inspect_and_estimate(record, ctx, scratch)?;
                    rows.push(columns, record, &stats, &estimate);
                }
                Ok(())
            },
            |rows| {
                out.writer()
                    .write_all(&rows.into_bytes())
                    .map_err(|e| out.io_error(e))
            },
        )?;
        gaps.merge(end.gaps);
    }
    Ok(gaps)
}
