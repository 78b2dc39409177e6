//! One module per subcommand: each opens its inputs, runs the pipeline and hands the result
//! to `report`.

pub mod analyze;
pub mod diff;
pub mod info;
pub mod keys;
pub mod merge;

use crate::analyze::pipeline::{self, PipelineError};
use crate::error::Error;
use crate::input::Dump;
use crate::rdb::{self, Checksum, Item, Record, Records};

/// Worker threads to use: the user's choice, else every core.
pub fn threads(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// What a full scan saw besides keys.
pub struct ScanEnd<'a> {
    pub header: rdb::Header,
    /// What the workers knew of the writer.
    pub ctx: rdb::Context,
    /// Non-key items in file order.
    pub items: Vec<Item<'a>>,
    pub checksum: Checksum,
}

/// Runs the pipeline over a whole dump and verifies its checksum. The CRC of everything but
/// the last 8 bytes, where the trailer of a plain dump sits, is computed on a thread of its
/// own beside the pipeline; only a file with bytes after its trailer needs a second pass.
pub fn scan<'a, T: Send>(
    dump: &'a Dump,
    threads: usize,
    work: impl Fn(&rdb::Context, Vec<Record<'a>>) -> T + Sync,
    sink: impl FnMut(T) -> Result<(), Error>,
) -> Result<ScanEnd<'a>, Error> {
    let data = dump.bytes();
    let rdb_error = |source| Error::Rdb {
        path: dump.path().to_path_buf(),
        source,
    };
    let records = Records::new(data).map_err(rdb_error)?;
    let header = *records.header();
    let ctx = rdb::Context::new(header, rdb::ServerVersion::from_dump(data));
    let mut items = Vec::new();
    let guess_len = data.len().saturating_sub(8);
    let (outcome, guess) = std::thread::scope(|s| {
        let guess = header
            .has_checksum()
            .then(|| s.spawn(|| rdb::crc64::crc64(0, &data[..guess_len])));
        let outcome = pipeline::run(
            records,
            threads,
            |batch| work(&ctx, batch),
            sink,
            |item| items.push(item.clone()),
        );
        (
            outcome,
            guess.map(|g| g.join().expect("checksum thread does not panic")),
        )
    });
    outcome.map_err(|e| match e {
        PipelineError::Rdb(source) => rdb_error(source),
        PipelineError::Sink(e) => e,
    })?;
    let checksum = match items.last() {
        Some(&Item::Eof {
            offset,
            checksum: Some(stored),
            ..
        }) => {
            let computed = guess.filter(|_| offset as usize + 1 == guess_len);
            rdb::records::verify_checksum(data, offset, stored, computed).map_err(rdb_error)?
        }
        _ => Checksum::Absent,
    };
    Ok(ScanEnd {
        header,
        ctx,
        items,
        checksum,
    })
}
