//! One module per subcommand: each opens its inputs, runs the pipeline and hands the result
//! to `report`.

pub mod analyze;
pub mod info;
pub mod keys;
pub mod merge;

use std::path::Path;

use crate::analyze::pipeline::{self, PipelineError};
use crate::error::Error;
use crate::input::Dump;
use crate::memory::{Allocator, ConfigError, Generation, Model, Origin, ServerConfig};
use crate::rdb::{self, Checksum, Item, Record, Records};

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

/// What a full scan saw besides keys.
pub struct ScanEnd<'a> {
    pub header: rdb::Header,
    /// What the workers knew of the writer.
    pub ctx: rdb::Context,
    /// The model the keys were priced with.
    pub model: Model,
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
    choice: &ModelChoice,
    work: impl Fn(&rdb::Context, &Model, Vec<Record<'a>>) -> T + Sync,
    sink: impl FnMut(T) -> Result<(), Error>,
) -> Result<ScanEnd<'a>, Error> {
    let data = dump.bytes();
    let rdb_error = |source| Error::Rdb {
        path: dump.path().to_path_buf(),
        source,
    };
    let records = Records::new(data).map_err(rdb_error)?;
    let header = *records.header();
    let mut ctx = rdb::Context::new(header, rdb::ServerVersion::from_dump(data));
    if let Some(size) = choice.config.list_max_listpack_size {
        ctx.list_max_listpack_size = size;
    }
    let model = choice.model(&ctx);
    let mut items = Vec::new();
    let guess_len = data.len().saturating_sub(8);
    let (outcome, guess) = std::thread::scope(|s| {
        let guess = header
            .has_checksum()
            .then(|| s.spawn(|| rdb::crc64::crc64(0, &data[..guess_len])));
        let outcome = pipeline::run(
            records,
            threads,
            |batch| work(&ctx, &model, batch),
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
        model,
        items,
        checksum,
    })
}
