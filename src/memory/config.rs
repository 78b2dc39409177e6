//! The settings of a `redis.conf` / `valkey.conf` that change what keys cost: encoding
//! thresholds, list node size and compression, stream node limits, cluster mode, and the
//! eviction settings later consumers need (shared integers depend on `maxmemory-policy`).
//! Every other directive is ignored.

use std::path::{Path, PathBuf};

use super::Limits;

/// How deep `include` may nest before the file is rejected (a loop, most likely).
const MAX_INCLUDE_DEPTH: usize = 10;

/// What a config file sets: the encoding thresholds (the server defaults where the file says
/// nothing), and the other settings as `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerConfig {
    pub limits: Limits,
    /// `list-max-listpack-size` / `list-max-ziplist-size`: negative = node size class,
    /// positive = elements per node.
    pub list_max_listpack_size: Option<i64>,
    pub list_compress_depth: Option<u64>,
    pub stream_node_max_entries: Option<u64>,
    /// Bytes (`0` = no limit).
    pub maxmemory: Option<u64>,
    pub maxmemory_policy: Option<String>,
    pub cluster_enabled: Option<bool>,
}

/// Why a config file could not be used.
#[derive(Debug)]
pub enum ConfigError {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A directive this module reads has a value it cannot accept.
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            ConfigError::Invalid {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {}

const POLICIES: [&str; 8] = [
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

impl ServerConfig {
    /// Reads a config file, following `include` lines relative to the including file.
    pub fn read(path: &Path) -> Result<ServerConfig, ConfigError> {
        let mut config = ServerConfig::default();
        config.read_file(path, 0)?;
        Ok(config)
    }

    fn read_file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
            let invalid = |message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: i + 1,
                message,
            };
            let words = split_words(line).map_err(|m| invalid(m.to_string()))?;
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if name == "include" {
                let [file] = args else {
                    return Err(invalid("include takes one file".into()));
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(invalid(format!(
                        "include nested deeper than {MAX_INCLUDE_DEPTH} files"
                    )));
                }
                let base = path.parent().unwrap_or(Path::new("."));
                self.read_file(&base.join(file), depth + 1)?;
                continue;
            }
            self.set(&name, args).map_err(invalid)?;
        }
        Ok(())
    }

    /// Applies one directive; later lines win, as in the server.
    fn set(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let one = || match args {
            [v] => Ok(v.as_str()),
            _ => Err(format!("{name} takes one value, got {}", args.len())),
        };
        let count = || parse_count(name, one()?);
        let l = &mut self.limits;
        match name {
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                l.hash_max_listpack_entries = count()?
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                l.hash_max_listpack_value = count()?
            }
            "set-max-intset-entries" => l.set_max_intset_entries = count()?,
            "set-max-listpack-entries" => l.set_max_listpack_entries = count()?,
            "set-max-listpack-value" => l.set_max_listpack_value = count()?,
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                l.zset_max_listpack_entries = count()?
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                l.zset_max_listpack_value = count()?
            }
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                let v = one()?;
                let size: i64 = v
                    .parse()
                    .map_err(|_| format!("{name}: `{v}` is not an integer"))?;
                if size == 0 || size < -5 {
                    return Err(format!("{name}: {size} is not -5..-1 or a positive count"));
                }
                self.list_max_listpack_size = Some(size)
            }
            "list-compress-depth" => self.list_compress_depth = Some(count()?),
            "stream-node-max-bytes" => l.stream_node_max_bytes = parse_memory(name, one()?)?,
            "stream-node-max-entries" => self.stream_node_max_entries = Some(count()?),
            "maxmemory" => self.maxmemory = Some(parse_memory(name, one()?)?),
            "maxmemory-policy" => {
                let v = one()?.to_ascii_lowercase();
                if !POLICIES.contains(&v.as_str()) {
                    return Err(format!("maxmemory-policy: `{v}` is not a policy"));
                }
                self.maxmemory_policy = Some(v)
            }
            "cluster-enabled" => {
                self.cluster_enabled = Some(match one()?.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    v => return Err(format!("cluster-enabled: `{v}` is not yes or no")),
                })
            }
            _ => {}
        }
        Ok(())
    }
}

fn parse_count(name: &str, v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("{name}: `{v}` is not a non-negative integer"))
}

/// A memory amount as the server reads it (`memtoll`): a number with an optional unit,
/// `k`/`m`/`g` in powers of 1000 and `kb`/`mb`/`gb` in powers of 1024, case-insensitive.
fn parse_memory(name: &str, v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let multiplier = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("{name}: `{v}` has an unknown unit")),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{name}: `{v}` is not a memory amount"))
}

/// Splits a config line into words as the server does (`sdssplitargs`): blanks separate,
/// `"..."` and `'...'` quote, `#` starts a comment at the beginning of a line.
fn split_words(line: &str) -> Result<Vec<String>, &'static str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Vec::new());
    }
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("unbalanced quotes"),
                    Some(c) if c == first => break,
                    Some('\\') if first == '"' => {
                        word.push(chars.next().ok_or("unbalanced quotes")?)
                    }
                    Some(c) => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err("closing quote must be followed by a space");
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rdbscope-config-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_thresholds_in_both_spellings_and_follows_includes() {
        let dir = temp_dir("include");
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        write(
            &dir.join("conf.d"),
            "memory.conf",
            "maxmemory 2gb\nmaxmemory-policy ALLKEYS-LFU\n",
        );
        let main = write(
            &dir,
            "redis.conf",
            "# comment\nhash-max-ziplist-entries 128\nhash-max-listpack-value \"32\"\n\
             include conf.d/memory.conf\nzset-max-ziplist-value 10\nlist-max-ziplist-size -3\n\
             cluster-enabled yes\nbind 127.0.0.1 ::1\nset-max-intset-entries 1024\n",
        );
        let c = ServerConfig::read(&main).unwrap();
        assert_eq!(c.limits.hash_max_listpack_entries, 128);
        assert_eq!(c.limits.hash_max_listpack_value, 32);
        assert_eq!(c.limits.zset_max_listpack_value, 10);
        assert_eq!(c.list_max_listpack_size, Some(-3));
        assert_eq!(c.maxmemory, Some(2 << 30));
        assert_eq!(c.maxmemory_policy.as_deref(), Some("allkeys-lfu"));
        assert_eq!(c.cluster_enabled, Some(true));
        assert_eq!(c.limits.set_max_intset_entries, 1024);
        assert_eq!(c.limits.set_max_listpack_entries, 128);
    }

    #[test]
    fn malformed_values_name_file_and_line() {
        let dir = temp_dir("bad");
        let path = write(
            &dir,
            "redis.conf",
            "port 6379\n\nhash-max-listpack-entries lots\n",
        );
        let err = ServerConfig::read(&path).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "redis.conf:3: hash-max-listpack-entries: `lots` is not a non-negative integer"
            ),
            "{err}"
        );
        let path = write(&dir, "loop.conf", "include loop.conf\n");
        let err = ServerConfig::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("loop.conf:1: include nested deeper than 10"),
            "{err}"
        );
        let path = write(&dir, "unit.conf", "maxmemory 3tb\n");
        assert!(ServerConfig::read(&path).is_err());
    }

    #[test]
    fn memory_units_follow_memtoll() {
        assert_eq!(parse_memory("m", "100"), Ok(100));
        assert_eq!(parse_memory("m", "1k"), Ok(1000));
        assert_eq!(parse_memory("m", "1KB"), Ok(1024));
        assert_eq!(parse_memory("m", "5mb"), Ok(5 << 20));
    }

    #[test]
    fn words_split_like_the_server() {
        assert_eq!(
            split_words(r#"  save "" 'a b' "x\"y" "#).unwrap(),
            vec!["save", "", "a b", "x\"y"]
        );
        assert!(split_words("dir \"/tmp").is_err());
    }
}
