//! Command-line definitions. No logic: parsing only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rdbscope",
    version,
    about = "Where did the memory go? Offline analysis of Redis and Valkey RDB dumps."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Format version, AUX fields, checksum, and key counts per database, type and encoding.
    Info {
        /// The dump file (what SAVE/BGSAVE writes).
        dump: PathBuf,
        #[arg(long, value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// One CSV row per key, in file order.
    Keys {
        dump: PathBuf,
        /// Write to FILE instead of stdout (written to a temporary name, renamed when complete).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Where the memory goes: totals by type, encoding and database, key patterns, TTLs and
    /// the largest keys. Several dumps (a cluster's shards) are reported together.
    Analyze {
        #[arg(required = true, value_name = "DUMP")]
        dumps: Vec<PathBuf>,
        /// Write summary.json, patterns.csv and top-keys.csv (and keys.csv with --keys) to DIR.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// What to print on stdout.
        #[arg(long, value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
        /// Keys in each top-keys ranking.
        #[arg(long, value_name = "N", default_value_t = rdbscope::analyze::aggregate::DEFAULT_TOP)]
        top: usize,
        /// Also write keys.csv (one row per key with its pattern) to --out-dir; costs a
        /// second pass over the dumps.
        #[arg(long)]
        keys: bool,
        /// A pattern rule that wins over inference: a Redis glob (`user:*:profile`) or
        /// `re:` and a regular expression. Repeatable; the first match wins.
        #[arg(long = "pattern", value_name = "RULE")]
        rules: Vec<String>,
        /// Bytes that separate key segments.
        #[arg(long, default_value = ":")]
        delimiters: String,
        /// Patterns reported at most; beyond it the widest prefixes collapse into `*`.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        max_patterns: usize,
        /// Distinct literal segments under one prefix before they collapse into `*`.
        #[arg(long, value_name = "N", default_value_t = 100)]
        fanout: usize,
        #[command(flatten)]
        filter: FilterArgs,
        /// Only keys that cost at least N bytes (memory plus overhead).
        #[arg(long, value_name = "N", default_value_t = 0)]
        min_bytes: u64,
        /// Plan a cluster of N masters: the memory each would hold with slots split as
        /// `redis-cli --cluster create` splits them, hot slots and hash tags, big keys.
        #[arg(long, value_name = "N", value_parser = shard_count)]
        shards: Option<usize>,
        #[arg(long)]
        threads: Option<usize>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Combines summary.json files of separate runs (shards analysed on different machines)
    /// into the summary one run over all their dumps would have written.
    Merge {
        #[arg(required = true, value_name = "SUMMARY")]
        summaries: Vec<PathBuf>,
        /// Write to FILE instead of stdout (written to a temporary name, renamed when complete).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = InfoFormat::Json)]
        format: InfoFormat,
        /// Plan N masters (default: the count the summaries were planned for, if any).
        #[arg(long, value_name = "N", value_parser = shard_count)]
        shards: Option<usize>,
    },
    /// What grew between two snapshots (dumps or summary.json files): keys and memory per
    /// pattern and in total, the growth rate, and the headroom under maxmemory.
    Diff {
        /// The older snapshot: a dump (analysed with default settings) or a summary.json.
        old: PathBuf,
        /// The newer snapshot.
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
        /// Write diff.json and diff.csv to DIR.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Exit with code 4 when total memory grew by more than PCT percent (`10%` or `10`).
        #[arg(long, value_name = "PCT", value_parser = rdbscope::analyze::diff::parse_percent)]
        fail_if_growth: Option<f64>,
        /// The memory limit for the headroom, as redis.conf writes it (`4gb`, `512mb`).
        #[arg(long, value_name = "BYTES", value_parser = rdbscope::analyze::headroom::parse_memory_size, conflicts_with = "config")]
        maxmemory: Option<u64>,
        /// A redis.conf to read the memory limit from (its `maxmemory` line).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long)]
        threads: Option<usize>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
}

/// 1 to 16384 masters: a master needs at least one slot.
fn shard_count(text: &str) -> Result<usize, String> {
    let slots = rdbscope::analyze::slots::SLOTS;
    match text.parse::<usize>() {
        Ok(n) if (1..=slots).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of masters from 1 to {slots}")),
    }
}

/// Which keys a command looks at.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only keys of database N (repeatable).
    #[arg(long = "db", value_name = "N")]
    pub dbs: Vec<u64>,
    /// Only keys of this type (repeatable).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub types: Vec<TypeArg>,
    /// Only keys matching a Redis glob pattern (SCAN MATCH syntax).
    #[arg(long = "match", value_name = "GLOB")]
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InfoFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    String,
    List,
    Set,
    Zset,
    Hash,
    Stream,
    Module,
}
