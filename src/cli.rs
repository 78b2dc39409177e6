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
        /// The dump: an RDB file (gzip or zstd compressed too), an RDB-preamble AOF, a
        /// multi-part AOF directory or its manifest, or - for stdin.
        #[arg(value_name = "DUMP")]
        dump: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        #[arg(long, value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// One CSV row per key, in file order.
    Keys {
        /// The dump, as for `info`.
        #[arg(value_name = "DUMP")]
        dump: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        /// Write to FILE instead of stdout (written to a temporary name, renamed when complete).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// redis-rdb-tools' memory CSV columns instead (database,type,key,size_in_bytes,
        /// encoding,num_elements,len_largest_element,expiry), for existing spreadsheets.
        #[arg(long)]
        rdbtools: bool,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Where the memory goes: totals by type, encoding and database, key patterns, TTLs and
    /// the largest keys. Several dumps (a cluster's shards) are reported together.
    Analyze {
        /// The dumps, as for `info` (several: a cluster's shards, reported together).
        #[arg(required = true, value_name = "DUMP")]
        dumps: Vec<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
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
        #[command(flatten)]
        model: ModelArgs,
        /// The server's eviction policy (wins over the one in --config), for the advisor to
        /// check against the data's TTLs.
        #[arg(long, value_enum, value_name = "POLICY")]
        maxmemory_policy: Option<PolicyArg>,
        /// Plan a cluster of N masters: the memory each would hold with slots split as
        /// `redis-cli --cluster create` splits them, hot slots and hash tags, big keys.
        #[arg(long, value_name = "N", value_parser = shard_count)]
        shards: Option<usize>,
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

/// How to read the input; every subcommand that reads dumps takes these.
#[derive(Debug, Args)]
pub struct ReadArgs {
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
    /// No notes or progress bar on stderr (where a temporary copy goes, which AOF file is
    /// read).
    #[arg(short, long)]
    pub quiet: bool,
    /// Worker threads (default: all cores); 1 runs everything on one thread.
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

/// How keys are priced (`memory_bytes`, `overhead_bytes`); every subcommand that estimates
/// memory flattens these.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Price keys as this release would hold them (6.2, 7.0, 7.2, 7.4, 8.0, valkey-8.0,
    /// valkey-8.1, valkey-9.0) instead of the release that wrote the dump. Encodings stay the
    /// ones the dump records.
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// The server's allocator: `jemalloc` is the jemalloc bundled with Redis/Valkey (8-byte
    /// quantum); `jemalloc-16` a system jemalloc with the default 16-byte quantum, as
    /// distribution packages link it (Debian's redis-server; INFO reports both as jemalloc);
    /// `libc` is glibc malloc.
    #[arg(long, value_enum, default_value_t = AllocatorArg::Jemalloc)]
    pub allocator: AllocatorArg,
    /// The server's redis.conf / valkey.conf: encoding thresholds, list node size, stream
    /// node limits, maxmemory settings, cluster-enabled (other directives are ignored;
    /// `include` is followed relative to the file).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How the keys came to be: built by write `commands` (dicts grown by doubling, stream
    /// nodes preallocated) or `loaded` from an RDB (restart, replica sync, RESTORE).
    #[arg(long, value_enum, default_value_t = OriginArg::Commands)]
    pub origin: OriginArg,
}

/// `maxmemory-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    Noeviction,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AllocatorArg {
    Jemalloc,
    #[value(name = "jemalloc-16")]
    Jemalloc16,
    Libc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OriginArg {
    Commands,
    Loaded,
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
