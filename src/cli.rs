//! Command-line definitions. No logic: parsing only.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
        /// Only keys of database N (repeatable).
        #[arg(long = "db", value_name = "N")]
        dbs: Vec<u64>,
        /// Only keys of this type (repeatable).
        #[arg(long = "type", value_enum, value_name = "TYPE")]
        types: Vec<TypeArg>,
        /// Only keys matching a Redis glob pattern (SCAN MATCH syntax).
        #[arg(long = "match", value_name = "GLOB")]
        pattern: Option<String>,
        #[arg(long)]
        threads: Option<usize>,
    },
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
