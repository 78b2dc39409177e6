//! `rdbscope keys DUMP`: one CSV row per key, streamed in file order.

use std::path::Path;

use super::{ModelChoice, scan, threads};
use crate::analyze::Filter;
use crate::error::Error;
use crate::input::Dump;
use crate::rdb::{self, Scratch};
use crate::report::keys_csv;
use crate::report::output::Output;

pub fn run(
    path: &Path,
    out_path: Option<&Path>,
    filter: &Filter,
    choice: &ModelChoice,
    thread_count: Option<usize>,
) -> Result<(), Error> {
    let dump = Dump::open(path)?;
    let mut out = Output::create(out_path)?;
    let written = write_keys(
        std::slice::from_ref(&dump),
        filter,
        choice,
        threads(thread_count),
        &mut out,
        None,
    );
    match written {
        Ok(()) => out.finish(),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

/// Names a key's pattern for the `pattern` column of `analyze --keys`.
pub type PatternOf<'p> = &'p (dyn Fn(&[u8]) -> String + Sync);

/// Writes the header and one row per key of every dump, in file order.
pub fn write_keys(
    dumps: &[Dump],
    filter: &Filter,
    choice: &ModelChoice,
    threads: usize,
    out: &mut Output,
    pattern: Option<PatternOf<'_>>,
) -> Result<(), Error> {
    let header = match pattern {
        Some(_) => format!("{},pattern", keys_csv::HEADER),
        None => keys_csv::HEADER.to_string(),
    };
    writeln!(out.writer(), "{header}").map_err(|e| out.io_error(e))?;
    for dump in dumps {
        let rdb_error = |source| Error::Rdb {
            path: dump.path().to_path_buf(),
            source,
        };
        scan(
            dump,
            threads,
            choice,
            |ctx, model, batch| -> rdb::Result<Vec<u8>> {
                let mut scratch = Scratch::default();
                let mut rows = keys_csv::batch_writer();
                for record in batch.iter().filter(|r| filter.accepts(r)) {
                    let (stats, estimate) =
                        model.inspect_and_estimate(record, ctx, &mut scratch)?;
                    let pattern = pattern.map(|p| p(&record.key));
                    keys_csv::write_row(&mut rows, record, &stats, &estimate, pattern.as_deref());
                }
                Ok(rows.into_inner().expect("flushing to a Vec cannot fail"))
            },
            |rows| {
                let rows = rows.map_err(rdb_error)?;
                out.writer().write_all(&rows).map_err(|e| out.io_error(e))
            },
        )?;
    }
    Ok(())
}
