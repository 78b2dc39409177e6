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
        #[command(flatten)]
        dump: DumpArgs,
        #[arg(long, value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
    },
    /// One CSV row per key, in file order.
    Keys {
        #[command(flatten)]
        dump: DumpArgs,
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
    },
}

/// The input and how to read it; every subcommand takes these.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The dump: an RDB file (gzip or zstd compressed too), an RDB-preamble AOF, a multi-part
    /// AOF directory or its manifest, or - for stdin.
    #[arg(value_name = "DUMP")]
    pub path: PathBuf,
    /// On damage, analyse what precedes it (and skip keys whose values are corrupt) instead
    /// of stopping; the output is marked incomplete and the exit code is 3.
    #[arg(long)]
    pub keep_going: bool,
    /// Where compressed input and stdin are decompressed to [default: $TMPDIR].
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// The most that temporary copy may take, e.g. 500M or 40G [default: 90% of the free
    /// space in the temporary directory].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_temp_size: Option<u64>,
    /// No notes on stderr (where a temporary copy goes, which AOF file is read).
    #[arg(short, long)]
    pub quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A byte count with an optional binary suffix: `1048576`, `512K`, `40G`.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 500M, 40G)"))?;
    let shift = match suffix.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {suffix:?} (use K, M, G or T)"
            ));
        }
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_with_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("40G"), Ok(40 << 30));
        assert_eq!(parse_size("3GiB"), Ok(3 << 30));
        assert_eq!(parse_size("2t"), Ok(2 << 40));
        assert!(parse_size("G").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
