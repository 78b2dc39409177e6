//! The files `analyze --out-dir` writes from a summary, one module per format.

use std::io::{self, Write};

use super::{patterns_csv, suggestions_csv, summary_json, top_keys_csv};
use crate::analyze::Summary;

/// One report file rendered from a summary.
pub struct Export {
    pub name: &'static str,
    pub write: fn(&mut dyn Write, &Summary) -> io::Result<()>,
}

pub const FILES: [Export; 4] = [
    Export {
        name: "summary.json",
        write: summary_json::write,
    },
    Export {
        name: "patterns.csv",
        write: patterns_csv::write,
    },
    Export {
        name: "top-keys.csv",
        write: top_keys_csv::write,
    },
    Export {
        name: "suggestions.csv",
        write: suggestions_csv::write,
    },
];
