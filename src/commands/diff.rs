//! `rdbscope diff OLD NEW`: what grew between two snapshots, each a dump (analysed with
//! default settings) or a summary.json, and how long until `maxmemory`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::analyze::{self, Format};
use super::{Input, ModelChoice, ScanOptions, merge, threads};
use crate::analyze::diff::Diff;
use crate::analyze::headroom::maxmemory_from_config;
use crate::analyze::{Filter, Settings, Summary};
use crate::error::Error;
use crate::input::OpenOptions;
use crate::report::output::{self, Output};
use crate::report::{diff_csv, diff_json, diff_table};

/// Where the memory limit comes from.
pub enum MaxMemory {
    Bytes(u64),
    /// A redis.conf; only its `maxmemory` line is read.
    Config(PathBuf),
}

pub struct Options {
    pub old: PathBuf,
    pub new: PathBuf,
    pub format: Format,
    /// Write diff.json and diff.csv here.
    pub out_dir: Option<PathBuf>,
    /// Exit with code 4 when total memory grew by more than this percentage.
    pub fail_if_growth: Option<f64>,
    pub maxmemory: Option<MaxMemory>,
    pub threads: Option<usize>,
    pub quiet: bool,
}

pub fn run(opts: &Options) -> Result<(), Error> {
    let threads = threads(opts.threads);
    let old = load(&opts.old, threads, opts.quiet)?;
    let new = load(&opts.new, threads, opts.quiet)?;
    let mut diff = Diff::between(&old, &new);
    if let Some(limit) = &opts.maxmemory {
        diff = diff.with_headroom(maxmemory(limit)?);
    }
    if let Some(dir) = &opts.out_dir {
        output::write_dir(dir, |files| {
            files.render("diff.json", |out| diff_json::write(out, &diff))?;
            files.render("diff.csv", |out| diff_csv::write(out, &diff))
        })?;
    }
    let mut out = Output::create(None)?;
    let written = match opts.format {
        Format::Table => diff_table::write(out.writer(), &diff),
        Format::Json => diff_json::write(out.writer(), &diff),
    };
    written.map_err(|e| out.io_error(e))?;
    out.finish()?;
    match opts.fail_if_growth {
        Some(pct) if diff.total.grew_more_than(pct) => Err(Error::Threshold(format!(
            "total memory grew by {}, more than --fail-if-growth {pct}%",
            diff.total
                .bytes_change_pct
                .map_or("more than nothing".into(), |p| format!("{p:.2}%"))
        ))),
        _ => Ok(()),
    }
}

/// A summary.json as it is, or a dump analysed with default settings: told apart by
/// content (a JSON object starts with `{`; anything else goes to the RDB parser, which
/// names what is wrong with it).
fn load(path: &Path, threads: usize, quiet: bool) -> Result<Summary, Error> {
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if head[..read].trim_ascii_start().starts_with(b"{") {
        let summary = merge::read(path)?;
        summary
            .check_schema()
            .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
        return Ok(summary);
    }
    let options = analyze::Options {
        inputs: vec![Input {
            path: path.to_path_buf(),
            open: OpenOptions {
                quiet,
                ..OpenOptions::default()
            },
            scan: ScanOptions {
                threads: Some(threads),
                ..ScanOptions::default()
            },
        }],
        out_dir: None,
        format: Format::Json,
        keys: false,
        settings: Settings::default(),
        filter: Filter::default(),
        model: ModelChoice::default(),
        shards: None,
        quiet,
    };
    Ok(analyze::analyze(&options)?.summary)
}

fn maxmemory(limit: &MaxMemory) -> Result<u64, Error> {
    let bytes = match limit {
        MaxMemory::Bytes(bytes) => *bytes,
        MaxMemory::Config(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let found = maxmemory_from_config(&text)
                .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
            found.ok_or_else(|| Error::Input(format!("{}: no maxmemory line", path.display())))?
        }
    };
    if bytes == 0 {
        return Err(Error::Input(
            "maxmemory is 0 (no limit): there is no headroom to compute".into(),
        ));
    }
    Ok(bytes)
}
