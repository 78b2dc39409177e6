//! `rdbscope analyze DUMP...`: where the memory goes, by pattern, type, encoding, database
//! and TTL, with the largest keys.

use std::cell::Cell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{ScanEnd, scan, threads};
use crate::analyze::shards::ShardPlan;
use crate::analyze::slots::SlotRange;
use crate::analyze::{Aggregate, Filter, InputSummary, KeyFacts, Settings, Summary};
use crate::error::Error;
use crate::input::Dump;
use crate::memory::{Allocator, Model};
use crate::rdb::{self, Checksum, Item, Scratch, inspect};
use crate::report::output::{self, Output};
use crate::report::{self, export};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

pub struct Options {
    pub dumps: Vec<PathBuf>,
    pub out_dir: Option<PathBuf>,
    pub format: Format,
    /// Also write `keys.csv` (needs `out_dir`).
    pub keys: bool,
    pub settings: Settings,
    pub filter: Filter,
    /// Masters to plan (`--shards`).
    pub shards: Option<usize>,
    pub threads: Option<usize>,
    pub quiet: bool,
}

pub fn run(opts: &Options) -> Result<(), Error> {
    if opts.keys && opts.out_dir.is_none() {
        return Err(Error::Usage(
            "--keys writes keys.csv: it needs --out-dir".into(),
        ));
    }
    let dumps = opts
        .dumps
        .iter()
        .map(|p| Dump::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let threads = threads(opts.threads);
    let (combined, mut summary) =
        summarize(&dumps, &opts.settings, &opts.filter, threads, opts.quiet)?;
    summary.shards = opts.shards.map(|n| ShardPlan::of(&summary, n));

    if let Some(dir) = &opts.out_dir {
        write_out_dir(dir, &summary, &combined, &dumps, opts, threads)?;
    }
    let mut out = Output::create(None)?;
    let written = match opts.format {
        Format::Table => report::summary_table::write(out.writer(), &summary),
        Format::Json => report::summary_json::write(out.writer(), &summary),
    };
    written.map_err(|e| out.io_error(e))?;
    out.finish()
}

/// Analyses the dumps into one aggregate (it still names keys' patterns for keys.csv) and
/// its summary.
pub fn summarize(
    dumps: &[Dump],
    settings: &Settings,
    filter: &Filter,
    threads: usize,
    quiet: bool,
) -> Result<(Aggregate, Summary), Error> {
    let progress = Progress::new(dumps, quiet);
    let mut combined = Aggregate::new(settings);
    let mut inputs = Vec::new();
    for dump in dumps {
        let (agg, input) = analyze_dump(dump, settings, filter, threads, &progress)?;
        inputs.push(input);
        combined.merge(agg);
    }
    progress.finish();
    let summary = combined.summary(settings, inputs);
    Ok((combined, summary))
}

/// Scans one dump, folding its keys into per-worker aggregates merged at the end.
fn analyze_dump(
    dump: &Dump,
    settings: &Settings,
    filter: &Filter,
    threads: usize,
    progress: &Progress,
) -> Result<(Aggregate, InputSummary), Error> {
    let data = dump.bytes();
    let head = rdb::records::head_aux(data);
    let aux = |name: &[u8]| {
        head.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<i64>().ok())
    };
    let ctime = aux(b"ctime");
    let now_ms = ctime.map(|s| s.saturating_mul(1000));
    // One aggregate per worker thread: a batch locks only its own, so workers never wait.
    let workers: Vec<Mutex<Aggregate>> = (0..threads)
        .map(|_| Mutex::new(Aggregate::new(settings)))
        .collect();
    let end = scan(
        dump,
        threads,
        |ctx, batch| -> rdb::Result<(u64, u64)> {
            let model = Model::for_context(ctx, Allocator::Jemalloc);
            let mut scratch = Scratch::default();
            let slot = rayon::current_thread_index().unwrap_or(0) % workers.len();
            let mut agg = workers[slot].lock().expect("a worker never panics");
            let mut keys = 0;
            for record in batch.iter().filter(|r| filter.accepts(r)) {
                let stats = inspect(record, ctx, &mut scratch)?;
                let estimate = model.estimate(record, ctx, &mut scratch)?;
                let facts = KeyFacts {
                    db: record.db,
                    key: &record.key,
                    key_type: record.value_type.key_type(),
                    encoding: stats.encoding(),
                    memory_bytes: estimate.memory_bytes,
                    overhead_bytes: estimate.overhead_bytes,
                    rdb_bytes: record.rdb_bytes,
                    elements: stats.shape.elements,
                    expire_at_ms: record.expire_at_ms,
                };
                if facts.total_bytes() < settings.min_bytes {
                    continue;
                }
                agg.add(&facts, &settings.rules, now_ms);
                keys += 1;
            }
            let end = batch.last().map_or(0, |r| r.offset + r.rdb_bytes);
            Ok((keys, end))
        },
        |done| {
            let (keys, end) = done.map_err(|source| Error::Rdb {
                path: dump.path().to_path_buf(),
                source,
            })?;
            progress.advance(keys, end);
            Ok(())
        },
    )?;
    progress.file_done(data.len() as u64);
    let mut agg = Aggregate::new(settings);
    for worker in workers {
        agg.merge(worker.into_inner().expect("a worker never panics"));
    }
    let model = Model::for_context(&end.ctx, Allocator::Jemalloc);
    let input = InputSummary {
        path: dump.path().display().to_string(),
        file_bytes: data.len() as u64,
        rdb_version: end.header.version,
        server: end.ctx.server.map(|s| s.to_string()),
        model: model.generation.name().to_string(),
        allocator: format!("{:?}", model.allocator).to_lowercase(),
        ctime,
        used_mem: aux(b"used-mem").and_then(|v| u64::try_from(v).ok()),
        checksum: checksum_text(&end),
        complete: true,
        totals: agg.totals,
        slots: SlotRange::of(&agg.slots),
    };
    Ok((agg, input))
}

fn checksum_text(end: &ScanEnd<'_>) -> String {
    let trailing = end
        .items
        .iter()
        .any(|i| matches!(i, Item::Eof { trailing_bytes, .. } if *trailing_bytes > 0));
    let text = match end.checksum {
        Checksum::Valid(_) => "valid",
        Checksum::NotComputed => "not computed",
        Checksum::Absent => "absent",
    };
    if trailing {
        format!("{text} (bytes after the end of the RDB data)")
    } else {
        text.into()
    }
}

/// Writes every report of `--out-dir`, all or none.
fn write_out_dir(
    dir: &Path,
    summary: &Summary,
    agg: &Aggregate,
    dumps: &[Dump],
    opts: &Options,
    threads: usize,
) -> Result<(), Error> {
    output::write_dir(dir, |files| {
        for file in export::FILES.iter().filter(|f| (f.applies)(summary)) {
            files.render(file.name, |out| (file.write)(out, summary))?;
        }
        if opts.keys {
            files.file("keys.csv", |out| {
                let pattern = |key: &[u8]| agg.pattern_of(key, &opts.settings.rules);
                super::keys::write_keys(dumps, &opts.filter, threads, out, Some(&pattern))
            })?;
        }
        Ok(())
    })
}

/// The progress bar: bytes of all inputs, keys, throughput, ETA. Drawn only when stderr is
/// a terminal and `--quiet` is not given, so batch jobs get a clean stderr.
struct Progress {
    bar: Option<ProgressBar>,
    /// Bytes of the inputs already finished.
    base: Cell<u64>,
    keys: Cell<u64>,
}

impl Progress {
    fn new(dumps: &[Dump], quiet: bool) -> Progress {
        let total: u64 = dumps.iter().map(|d| d.bytes().len() as u64).sum();
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
                )
                .expect("the template is valid"),
            );
            bar
        });
        Progress {
            bar,
            base: Cell::new(0),
            keys: Cell::new(0),
        }
    }

    /// A batch ending at `offset` of the current input is done.
    fn advance(&self, keys: u64, offset: u64) {
        self.keys.set(self.keys.get() + keys);
        if let Some(bar) = &self.bar {
            bar.set_position(self.base.get() + offset);
            bar.set_message(format!("{} keys", self.keys.get()));
        }
    }

    fn file_done(&self, bytes: u64) {
        self.base.set(self.base.get() + bytes);
        if let Some(bar) = &self.bar {
            bar.set_position(self.base.get());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
