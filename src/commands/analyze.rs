//! `rdbscope analyze DUMP...`: where the memory goes, by pattern, type, encoding, database
//! and TTL, with the largest keys.

use std::cell::Cell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Gaps, Input, ModelChoice, ScanEnd, ScanOptions, scan, threads};
use crate::advise::evidence::KeyAdvice;
use crate::advise::{self, probe::Probe, probe::Run};
use crate::analyze::patterns::TokenKinds;
use crate::analyze::shards::ShardPlan;
use crate::analyze::slots::{SlotRange, tag_and_slot};
use crate::analyze::{Aggregate, Filter, InputSummary, KeyFacts, Settings, Summary};
use crate::error::Error;
use crate::input::Dump;
use crate::memory::whatif::Collection;
use crate::rdb::{self, Checksum, Item, KeyType};
use crate::report::keys_csv::Columns;
use crate::report::output::{self, Output};
use crate::report::{self, export};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

pub struct Options {
    pub inputs: Vec<Input>,
    pub out_dir: Option<PathBuf>,
    pub format: Format,
    /// Also write `keys.csv` (needs `out_dir`).
    pub keys: bool,
    pub settings: Settings,
    pub filter: Filter,
    pub model: ModelChoice,
    /// Masters to plan (`--shards`).
    pub shards: Option<usize>,
    /// No progress bar.
    pub quiet: bool,
}

/// Prints the summary (and writes `--out-dir`); returns what `--keep-going` scans missed.
pub fn run(opts: &Options) -> Result<Gaps, Error> {
    let analysis = analyze(opts)?;
    if let Some(dir) = &opts.out_dir {
        write_out_dir(dir, &analysis, opts)?;
    }
    let mut out = Output::create(None)?;
    let written = match opts.format {
        Format::Table => report::summary_table::write(out.writer(), &analysis.summary),
        Format::Json => report::summary_json::write(out.writer(), &analysis.summary),
    };
    written.map_err(|e| out.io_error(e))?;
    out.finish()?;
    Ok(analysis.gaps)
}

/// What one `analyze` run computed, before anything is written.
pub struct Analysis {
    pub summary: Summary,
    /// The settled aggregate: it names each key's pattern for `keys.csv`.
    pub aggregate: Aggregate,
    pub dumps: Vec<Dump>,
    pub gaps: Gaps,
}

/// Scans every input and summarises them together.
pub fn analyze(opts: &Options) -> Result<Analysis, Error> {
    if opts.keys && opts.out_dir.is_none() {
        return Err(Error::Usage(
            "--keys writes keys.csv: it needs --out-dir".into(),
        ));
    }
    let dumps = opts
        .inputs
        .iter()
        .map(Input::open)
        .collect::<Result<Vec<_>, _>>()?;
    let progress = Progress::new(&dumps, opts.quiet);
    let mut aggregate = Aggregate::new(&opts.settings);
    let mut inputs = Vec::new();
    let mut gaps = Gaps::default();
    for (dump, input) in dumps.iter().zip(&opts.inputs) {
        let (agg, summary, dump_gaps) = analyze_dump(dump, input, opts, &progress)?;
        inputs.push(summary);
        aggregate.merge(agg);
        gaps.merge(dump_gaps);
    }
    progress.finish();
    let mut summary = aggregate.summary(&opts.settings, inputs);
    summary.shards = opts.shards.map(|n| ShardPlan::of(&summary, n));
    summary.suggestions = advise::suggest(&summary);
    Ok(Analysis {
        summary,
        aggregate,
        dumps,
        gaps,
    })
}

/// Batch progress: keys folded and where the batch ends in the file; and the advisor's
/// probe with its buffers.
#[derive(Default)]
struct Done {
    keys: u64,
    end: u64,
    probe: Probe,
}

/// Scans one dump, folding its keys into per-worker aggregates merged at the end.
fn analyze_dump(
    dump: &Dump,
    input: &Input,
    opts: &Options,
    progress: &Progress,
) -> Result<(Aggregate, InputSummary, Gaps), Error> {
    let data = dump.bytes();
    let head = rdb::records::head_aux(data);
    let aux = |name: &[u8]| {
        head.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<i64>().ok())
    };
    let ctime = aux(b"ctime");
    let now_ms = ctime.map(|s| s.saturating_mul(1000));
    let settings = &opts.settings;
    let run = Run {
        delimiters: settings.patterns.delimiter_set(),
        now_ms,
    };
    // First with the checksum vouching for the bytes (lists and streams are counted from
    // their nodes' headers, not walked); a scan that does not end with it valid is run again
    // with every check, so that damage is reported as a full walk finds it. Not with
    // `--keys`: `keys.csv` walks every node for its largest elements, and the summary must
    // count the keys it lists.
    let trust = !opts.keys && rdb::records::checksum_may_vouch(data);
    let (agg, end) = match scan_keys(dump, input, opts, progress, &run, trust) {
        Ok((agg, end)) if end.vouched() => (agg, end),
        Err(e) if !trust => return Err(e),
        _ => {
            progress.restart_file();
            scan_keys(dump, input, opts, progress, &run, false)?
        }
    };
    progress.file_done(data.len() as u64);
    let damage = end.gaps.damage.as_ref();
    let input = InputSummary {
        path: input.path.display().to_string(),
        file_bytes: data.len() as u64,
        rdb_version: end.header.version,
        server: end.ctx.server.map(|s| s.to_string()),
        model: end.model.generation.name().to_string(),
        allocator: end.model.allocator.name().to_string(),
        ctime,
        used_mem: aux(b"used-mem").and_then(|v| u64::try_from(v).ok()),
        checksum: checksum_text(&end),
        complete: end.gaps.is_complete(),
        damage_offset: damage.map(|d| d.entry_offset),
        damage: damage.map(|d| d.error.to_string()),
        skipped_keys: end.gaps.skipped.count,
        totals: agg.totals,
        slots: SlotRange::of(&agg.slots),
    };
    Ok((agg, input, end.gaps))
}

/// One scan of `dump` into per-worker aggregates, merged at the end.
fn scan_keys<'d>(
    dump: &'d Dump,
    input: &Input,
    opts: &Options,
    progress: &Progress,
    run: &Run,
    trust_checksum: bool,
) -> Result<(Aggregate, ScanEnd<'d>), Error> {
    let settings = &opts.settings;
    let now_ms = run.now_ms;
    // One aggregate per worker thread: a key locks only its worker's, so nobody waits.
    let workers: Vec<Mutex<Aggregate>> = (0..threads(input.scan.threads))
        .map(|_| Mutex::new(Aggregate::new(settings)))
        .collect();
    let options = ScanOptions {
        trust_checksum,
        ..input.scan
    };
    let end = scan(
        dump,
        options,
        &opts.model,
        |done: &mut Done, ctx, model, scratch, record| {
            done.end = record.offset + record.rdb_bytes;
            if !opts.filter.accepts(record) {
                return Ok(());
            }
            // (one worker: no thread to look up)
            let worker = match workers.len() {
                1 => 0,
                n => rayon::current_thread_index().unwrap_or(0) % n,
            };
            let mut agg = workers[worker].lock().expect("a worker never panics");
            let (hash_tag, slot) = tag_and_slot(&record.key);
            agg.prefetch_slot(slot);
            let mut collection = Collection::new(model, KeyType::String, 0, false);
            let priced = model.price(record, ctx, scratch, &mut collection)?;
            let (stats, estimate) = (&priced.stats, &priced.estimate);
            if estimate.memory_bytes + estimate.overhead_bytes < settings.min_bytes {
                return Ok(());
            }
            let token_kinds = TokenKinds::of(&record.key, run.delimiters);
            let mut advice = KeyAdvice::default();
            done.probe.observe(
                model,
                ctx,
                run,
                record,
                token_kinds,
                &collection,
                &priced,
                scratch,
                &mut advice,
            )?;
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
                token_kinds,
                advice: &advice,
                slot,
                hash_tag,
            };
            agg.add(&facts, &settings.rules, now_ms);
            done.keys += 1;
            Ok(())
        },
        |done| {
            progress.advance(done.keys, done.end);
            Ok(())
        },
    )?;
    let mut agg = Aggregate::new(settings);
    for worker in workers {
        agg.merge(worker.into_inner().expect("a worker never panics"));
    }
    Ok((agg, end))
}

fn checksum_text(end: &ScanEnd<'_>) -> String {
    let trailing = end
        .items
        .iter()
        .any(|i| matches!(i, Item::Eof { trailing_bytes, .. } if *trailing_bytes > 0));
    let text = match end.checksum {
        Some(Checksum::Valid(_)) => "valid",
        Some(Checksum::NotComputed) => "not computed",
        Some(Checksum::Absent) => "absent",
        None => "not verified (damaged dump)",
    };
    if trailing {
        format!("{text} (bytes after the end of the RDB data)")
    } else {
        text.into()
    }
}

/// Writes every report of `--out-dir`, all or none.
fn write_out_dir(dir: &Path, analysis: &Analysis, opts: &Options) -> Result<(), Error> {
    let (summary, agg, dumps) = (&analysis.summary, &analysis.aggregate, &analysis.dumps);
    output::write_dir(dir, |files| {
        for file in export::FILES.iter().filter(|f| (f.applies)(summary)) {
            files.render(file.name, |out| (file.write)(out, summary))?;
        }
        if opts.keys {
            files.file("keys.csv", |out| {
                let pattern = |key: &[u8]| agg.pattern_of(key, &opts.settings.rules);
                // The same damage as the first pass: its gaps are already reported.
                let options = opts.inputs.first().map(|i| i.scan).unwrap_or_default();
                super::keys::write_keys(
                    dumps,
                    options,
                    &opts.filter,
                    &opts.model,
                    out,
                    Columns::WithPattern(&pattern),
                )
                .map(|_| ())
            })?;
        }
        Ok(())
    })
}

/// The progress bar: bytes of all inputs, keys, throughput, ETA. Drawn only when stderr is
/// a terminal and `--quiet` is not given, so batch jobs get a clean stderr.
struct Progress {
    bar: Option<ProgressBar>,
    /// Bytes of the inputs already finished ...
    base: Cell<u64>,
    /// ... and their keys.
    base_keys: Cell<u64>,
    /// Keys of the current input so far.
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
            base_keys: Cell::new(0),
            keys: Cell::new(0),
        }
    }

    /// A batch ending at `offset` of the current input is done.
    fn advance(&self, keys: u64, offset: u64) {
        self.keys.set(self.keys.get() + keys);
        if let Some(bar) = &self.bar {
            bar.set_position(self.base.get() + offset);
            bar.set_message(format!("{} keys", self.base_keys.get() + self.keys.get()));
        }
    }

    /// The current input is scanned again from its start.
    fn restart_file(&self) {
        self.keys.set(0);
        if let Some(bar) = &self.bar {
            bar.set_position(self.base.get());
        }
    }

    fn file_done(&self, bytes: u64) {
        self.base.set(self.base.get() + bytes);
        self.base_keys
            .set(self.base_keys.get() + self.keys.replace(0));
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
