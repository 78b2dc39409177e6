//! `rdbscope info DUMP`

use super::{Gaps, Input, ModelChoice, ScanOptions, scan};
use crate::analyze::{Inventory, KeyCounts};
use crate::error::Error;
use crate::input::Dump;
use crate::report::{self, output::Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Prints the report; returns what a `--keep-going` scan missed (it is in the report too).
pub fn run(input: &Input, format: Format, choice: &ModelChoice) -> Result<Gaps, Error> {
    let dump = input.open()?;
    let inventory = inventory(&dump, input.scan, choice)?;
    let name = input.path.display().to_string();
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
    out.finish()?;
    Ok(inventory.gaps)
}

/// Counts every key of the dump by database, type and encoding, and adds up its estimates.
pub fn inventory(
    dump: &Dump,
    options: ScanOptions,
    choice: &ModelChoice,
) -> Result<Inventory, Error> {
    let mut counts = KeyCounts::default();
    let end = scan(
        dump,
        options,
        choice,
        |batch: &mut KeyCounts, ctx, model, scratch, record| {
            let (stats, estimate) = model.inspect_and_estimate(record, ctx, scratch)?;
            batch.add(record, &stats, &estimate);
            Ok(())
        },
        |batch| {
            counts.merge(batch);
            Ok(())
        },
    )?;
    let data = dump.bytes();
    let mut inv = Inventory::new(end.header, data.len() as u64);
    for item in &end.items {
        inv.add_item(item);
    }
    let trailing = &data[data.len() - inv.trailing_bytes as usize..];
    inv.aof_tail = trailing.starts_with(b"*");
    inv.counts.merge(counts);
    inv.checksum = end.checksum;
    inv.model = Some(end.model);
    inv.gaps = end.gaps;
    Ok(inv)
}
