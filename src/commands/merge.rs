//! `rdbscope merge SUMMARY.json...`: one summary from the summaries of separate runs.

use std::path::{Path, PathBuf};

use super::analyze::Format;
use crate::advise;
use crate::analyze::shards::ShardPlan;
use crate::analyze::{Summary, summary};
use crate::error::Error;
use crate::report::{self, output::Output};

/// `shards`: masters to plan; by default the count the summaries were planned for.
pub fn run(
    paths: &[PathBuf],
    out_path: Option<&Path>,
    format: Format,
    shards: Option<usize>,
) -> Result<(), Error> {
    let summaries = paths
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut merged = summary::merge(&summaries).map_err(Error::Input)?;
    let planned = summaries
        .iter()
        .find_map(|s| s.shards.as_ref().map(|p| p.count));
    merged.shards = shards.or(planned).map(|n| ShardPlan::of(&merged, n));
    merged.suggestions = advise::suggest(&merged);
    let mut out = Output::create(out_path)?;
    let written = match format {
        Format::Table => report::summary_table::write(out.writer(), &merged),
        Format::Json => report::summary_json::write(out.writer(), &merged),
    };
    match written {
        Ok(()) => out.finish(),
        Err(e) => {
            let e = out.io_error(e);
            out.abandon();
            Err(e)
        }
    }
}

/// Reads a summary.json.
pub fn read(path: &Path) -> Result<Summary, Error> {
    let text = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|e| {
        Error::Input(format!(
            "{}: not an rdbscope summary.json ({e})",
            path.display()
        ))
    })
}
