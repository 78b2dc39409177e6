//! The files `analyze --out-dir` writes from a summary, one module per format.

use std::io::{self, Write};

use super::{patterns_csv, shards_csv, suggestions_csv, summary_json, top_keys_csv};
use crate::analyze::Summary;

/// One report file rendered from a summary.
pub struct Export {
    pub name: &'static str,
    pub write: fn(&mut dyn Write, &Summary) -> io::Result<()>,
    /// Whether the summary has what the file shows.
    pub applies: fn(&Summary) -> bool,
}

fn always(_: &Summary) -> bool {
    true
}

pub const FILES: [Export; 5] = [
    Export {
        name: "summary.json",
        write: summary_json::write,
        applies: always,
    },
    Export {
        name: "patterns.csv",
        write: patterns_csv::write,
        applies: always,
    },
    Export {
        name: "top-keys.csv",
        write: top_keys_csv::write,
        applies: always,
    },
    Export {
        name: "shards.csv",
        write: shards_csv::write,
        applies: |s| s.shards.is_some(),
    },
    Export {
        name: "suggestions.csv",
        write: suggestions_csv::write,
        applies: always,
    },
];
