//! `rdbscope info DUMP`

use std::path::Path;

use super::{ModelChoice, scan, threads};
use crate::analyze::{Inventory, KeyCounts};
use crate::error::Error;
use crate::input::Dump;
use crate::rdb::{self, Scratch};
use crate::report::{self, output::Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

pub fn run(
    path: &Path,
    format: Format,
    choice: &ModelChoice,
    thread_count: Option<usize>,
) -> Result<(), Error> {
    let dump = Dump::open(path)?;
    let inventory = inventory(&dump, choice, threads(thread_count))?;
    let name = path.display().to_string();
    let mut out = Output::create(None)?;
    let written = match format {
        Format::Table => report::info::table(out.writer(), &name, &inventory),
        Format::Json => {
            let doc = report::info::json(&name, &inventory);
            serde_json::to_writer_pretty(&mut *out.writer(), &doc)
                .map_err(std::io::Error::from)
                .and_then(|_| writeln!(out.writer()))
        }
    };
    written.map_err(|e| out.io_error(e))?;
    out.finish()
}

/// Counts every key of the dump by database, type and encoding, and adds up its estimates.
pub fn inventory(dump: &Dump, choice: &ModelChoice, threads: usize) -> Result<Inventory, Error> {
    let mut counts = KeyCounts::default();
    let end = scan(
        dump,
        threads,
        choice,
        |ctx, model, batch| -> rdb::Result<KeyCounts> {
            let mut scratch = Scratch::default();
            let mut counts = KeyCounts::default();
            for record in &batch {
                let (stats, estimate) = model.inspect_and_estimate(record, ctx, &mut scratch)?;
                counts.add(record, &stats, &estimate);
            }
            Ok(counts)
        },
        |batch| {
            let batch = batch.map_err(|source| Error::Rdb {
                path: dump.path().to_path_buf(),
                source,
            })?;
            counts.merge(batch);
            Ok(())
        },
    )?;
    let mut inv = Inventory::new(end.header, dump.bytes().len() as u64);
    for item in &end.items {
        inv.add_item(item);
    }
    inv.counts.merge(counts);
    inv.checksum = end.checksum;
    inv.model = Some(end.model);
    Ok(inv)
}
