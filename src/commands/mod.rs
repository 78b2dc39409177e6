//! One module per subcommand: each opens its inputs, runs the pipeline through `scan` and
//! hands the result to `report`. `scan` is where every subcommand gets the same treatment of
//! damage: stop at it, or with `--keep-going` analyse around it and say what is missing.

pub mod analyze;
pub mod diff;
pub mod info;
pub mod keys;
pub mod merge;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use crate::analyze::{Damage, Gaps, SkippedKeys};

use crate::analyze::pipeline::{self, PipelineError};
use crate::error::Error;
use crate::input::{Dump, OpenOptions};
use crate::memory::{Allocator, ConfigError, Generation, Model, Origin, ServerConfig};
use crate::rdb::{self, Checksum, Item, Record, Records, Scratch};

/// What every subcommand is told about its input.
#[derive(Debug, Clone)]
pub struct Input {
    /// The dump, `-` for stdin (see `input::Dump::open` for what else is accepted).
    pub path: PathBuf,
    pub open: OpenOptions,
    pub scan: ScanOptions,
}

impl Input {
    pub fn open(&self) -> Result<Dump, Error> {
        Dump::open(&self.path, &self.open)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Worker threads; `None` means every core.
    pub threads: Option<usize>,
    /// Analyse what can be analysed instead of stopping at the first damage; what was
    /// missed is reported as `Gaps`.
    pub keep_going: bool,
    /// Take the dump's bytes for the server's until its stored checksum is checked at the
    /// end ([`rdb::Context::checksum_vouches`]): a caller that asks must scan again without
    /// it unless the scan ends with that checksum valid ([`ScanEnd::vouched`]), so it asks
    /// only of a dump that can have one ([`rdb::records::checksum_may_vouch`]).
    pub trust_checksum: bool,
}

/// How keys are priced: the memory-model options every subcommand takes (`ModelArgs` on the
/// command line), resolved once by [`ModelChoice::new`].
#[derive(Debug, Clone)]
pub struct ModelChoice {
    /// Overrides the release the dump names.
    pub target: Option<Generation>,
    pub allocator: Allocator,
    pub config: ServerConfig,
    pub origin: Origin,
}

impl Default for ModelChoice {
    /// The dump's own release, bundled jemalloc, compiled-in thresholds, built by commands.
    fn default() -> ModelChoice {
        ModelChoice {
            target: None,
            allocator: Allocator::Jemalloc,
            config: ServerConfig::default(),
            origin: Origin::Commands,
        }
    }
}

impl ModelChoice {
    /// Parses `--target` and reads `--config`. An unknown target or a malformed config line
    /// is a usage error (exit 2); a config file that cannot be read is an I/O error (exit 1).
    pub fn new(
        target: Option<&str>,
        allocator: Allocator,
        config: Option<&Path>,
        origin: Origin,
    ) -> Result<ModelChoice, Error> {
        let target = target
            .map(|t| {
                Generation::from_target(t).ok_or_else(|| {
                    Error::Usage(format!(
                        "--target {t}: expected a release such as 6.2, 7.4, 8.0 or valkey-8.1"
                    ))
                })
            })
            .transpose()?;
        let config = match config {
            None => ServerConfig::default(),
            Some(path) => ServerConfig::read(path).map_err(|e| match e {
                ConfigError::Io { path, source } => Error::Io { path, source },
                invalid @ ConfigError::Invalid { .. } => Error::Usage(invalid.to_string()),
            })?,
        };
        Ok(ModelChoice {
            target,
            allocator,
            config,
            origin,
        })
    }

    /// The model for a dump: its writer's release unless a target was given, with the
    /// config's thresholds and cluster mode.
    pub fn model(&self, ctx: &rdb::Context) -> Model {
        let mut model = Model::for_context(ctx, self.allocator);
        if let Some(generation) = self.target {
            model.generation = generation;
        }
        model.limits = self.config.limits;
        model.cluster = self.config.cluster_enabled.unwrap_or(false);
        model.origin = self.origin;
        model
    }
}

/// Worker threads to use: the user's choice, else every core.
pub fn threads(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

thread_local! {
    /// A worker thread's decompression buffers, between the batches it runs.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// What a worker made of one batch: the per-record accumulator, the keys it skipped, and
/// the CRC of the bytes it was split from, with where they are.
struct Batch<A> {
    acc: A,
    skipped: SkippedKeys,
    crc: Option<(u64, Range<usize>)>,
}

/// What a full scan saw besides keys.
pub struct ScanEnd<'a> {
    pub header: rdb::Header,
    /// What the workers knew of the writer.
    pub ctx: rdb::Context,
    /// The model the keys were priced with.
    pub model: Model,
    /// Non-key items in file order.
    pub items: Vec<Item<'a>>,
    /// `None` when the scan stopped before the trailer, or the trailer did not match (both
    /// only with `keep_going`; the reason is then in `gaps`).
    pub checksum: Option<Checksum>,
    /// What a `keep_going` scan could not analyse; empty when the output is complete.
    pub gaps: Gaps,
}

impl ScanEnd<'_> {
    /// Whether what the scan read stands: it did not take the bytes on trust, or the checksum
    /// that vouched for them proved valid.
    pub fn vouched(&self) -> bool {
        !self.ctx.checksum_vouches || matches!(self.checksum, Some(Checksum::Valid(_)))
    }
}

/// Runs the pipeline over a whole dump and verifies its checksum. `per_record` runs on the
/// workers for every key record, folding it into the batch's accumulator `A` (with the
/// model `choice` resolves for this dump); `sink` receives the accumulators in file order.
///
/// Without `keep_going` the first error ends the scan. With it, a record `per_record` fails
/// on is skipped and listed in `Gaps::skipped` (so `per_record` must leave the accumulator
/// as it was when it fails: inspect first, then fold), and an error of the splitter, which
/// cannot find where the next record starts, ends the scan with everything before the
/// damaged entry delivered and the damage in `Gaps::damage`.
///
/// The CRC of everything but the last 8 bytes, where the trailer of a plain dump sits, is
/// folded by the workers, each over the stretch of the file its batch was split from, and
/// joined in file order; only a file with bytes after its trailer (an RDB-preamble AOF) needs
/// a second pass.
pub fn scan<'a, A: Default + Send>(
    dump: &'a Dump,
    options: ScanOptions,
    choice: &ModelChoice,
    per_record: impl Fn(&mut A, &rdb::Context, &Model, &mut Scratch, &Record<'a>) -> rdb::Result<()>
    + Sync,
    mut sink: impl FnMut(A) -> Result<(), Error>,
) -> Result<ScanEnd<'a>, Error> {
    let data = dump.bytes();
    let rdb_error = |source| Error::Rdb {
        path: dump.path().to_path_buf(),
        source,
    };
    let records = Records::new(data).map_err(rdb_error)?;
    let header = *records.header();
    let mut ctx = rdb::Context::new(header, rdb::ServerVersion::from_dump(data));
    // glibc's 16-byte chunks leave room for an expire a jemalloc size class does not
    ctx.expire_room_in_objects = choice.allocator == Allocator::Libc;
    ctx.checksum_vouches = options.trust_checksum;
    let model = choice.model(&ctx);
    let mut items = Vec::new();
    let mut skipped = SkippedKeys::default();
    let guess_len = data.len().saturating_sub(8);
    // The bytes of a stretch the CRC covers: all but the trailer's 8.
    let checksummed = |stretch: Range<u64>| -> Range<usize> {
        let clamp = |at: u64| (at as usize).min(guess_len);
        clamp(stretch.start)..clamp(stretch.end)
    };
    // Each worker folds the CRC of the stretch its batch came from, and the sink joins them
    // in file order: the splitter's thread only splits, and each byte is read into the cache
    // of the core that parses it alone (folded by the splitter, it went into two cores').
    let work = |batch: &[Record<'a>], stretch: Range<u64>| -> rdb::Result<Batch<A>> {
        let crc = header.has_checksum().then(|| {
            let bytes = checksummed(stretch);
            (rdb::crc64::crc64(0, &data[bytes.clone()]), bytes)
        });
        // Each worker keeps its decompression buffers from batch to batch, so they grow (and
        // their blobs are measured before growing) a few times per thread, not per batch.
        let mut scratch = SCRATCH.with_borrow_mut(std::mem::take);
        let mut acc = A::default();
        let mut skipped = SkippedKeys::default();
        for record in batch {
            if let Err(e) = per_record(&mut acc, &ctx, &model, &mut scratch, record) {
                let e = e.in_key(&record.key);
                if !options.keep_going {
                    return Err(e);
                }
                skipped.add(e);
            }
        }
        SCRATCH.with_borrow_mut(|kept| *kept = scratch);
        Ok(Batch { acc, skipped, crc })
    };
    // The CRC of the file's first `crc_upto` bytes.
    let (mut crc, mut crc_upto) = (0u64, 0usize);
    let outcome = pipeline::run(
        records,
        threads(options.threads),
        work,
        |batch| {
            let batch = batch.map_err(rdb_error)?;
            if let Some((part, bytes)) = batch.crc {
                // bytes no stretch covers: the header, before the first
                let before = rdb::crc64::crc64(crc, &data[crc_upto..bytes.start]);
                crc = rdb::crc64::crc64_combine(before, part, bytes.len() as u64);
                crc_upto = bytes.end;
            }
            skipped.merge(batch.skipped);
            sink(batch.acc)
        },
        |item| items.push(item.clone()),
    );
    // A file that changed under the map explains any error it caused, so it is said first.
    dump.verify_unchanged()?;
    let mut damage = match outcome {
        Ok(()) => None,
        Err(PipelineError::Rdb {
            error,
            entry_offset,
        }) if options.keep_going => Some(Damage {
            entry_offset,
            error,
        }),
        Err(PipelineError::Rdb { error, .. }) => return Err(rdb_error(error)),
        Err(PipelineError::Sink(e)) => return Err(e),
    };
    let checksum = match items.last() {
        Some(&Item::Eof {
            offset,
            checksum: Some(stored),
            ..
        }) => {
            let computed = (header.has_checksum() && offset as usize + 1 == guess_len)
                .then(|| rdb::crc64::crc64(crc, &data[crc_upto..guess_len]));
            match rdb::records::verify_checksum(data, offset, stored, computed) {
                Ok(checksum) => Some(checksum),
                Err(error) if options.keep_going => {
                    damage = Some(Damage {
                        entry_offset: offset,
                        error,
                    });
                    None
                }
                Err(error) => return Err(rdb_error(error)),
            }
        }
        Some(Item::Eof { .. }) => Some(Checksum::Absent),
        _ => None,
    };
    Ok(ScanEnd {
        header,
        ctx,
        model,
        items,
        checksum,
        gaps: Gaps { damage, skipped },
    })
}
