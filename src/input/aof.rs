//! Append-only files. Since Redis 7 the AOF is a directory (`appendonlydir/`) whose manifest
//! lists a base file, written by a rewrite, and incremental command files after it. The base
//! is an RDB snapshot (`*.base.rdb`) unless the server runs with `aof-use-rdb-preamble no`;
//! rdbscope analyses that snapshot. An RDB-preamble AOF of Redis 4.0 to 6.2 (one file) needs
//! nothing here: it starts with `REDIS`, and the parser stops at the RDB's end.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::OpenOptions;
use super::sniff::{self, Shape};
use crate::error::Error;

/// The manifest name Redis uses by default (`appendfilename` + `.manifest`).
const DEFAULT_MANIFEST: &str = "appendonly.aof.manifest";

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ManifestEntry {
    file: String,
    kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Base,
    History,
    Incremental,
}

/// The base RDB of a multi-part AOF directory, or an explanation of what `dir` is.
pub fn base_of_directory(dir: &Path, options: &OpenOptions) -> Result<PathBuf, Error> {
    let io_error = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let manifests: Vec<&String> = names.iter().filter(|n| n.ends_with(".manifest")).collect();
    let manifest = match manifests.as_slice() {
        [] => return Err(explain_directory(dir, &names)),
        [one] => *one,
        _ if names.iter().any(|n| n == DEFAULT_MANIFEST) => DEFAULT_MANIFEST,
        several => {
            return Err(Error::Input(format!(
                "{} holds several AOF manifests ({}); give the one to read",
                dir.display(),
                several
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let path = dir.join(manifest);
    let mut text = Vec::new();
    File::open(&path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut text))
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    base_of_manifest(&path, &text, options)
}

/// What a directory without a manifest is, and what to give instead.
fn explain_directory(dir: &Path, names: &[String]) -> Error {
    let dumps: Vec<&String> = names
        .iter()
        .filter(|n| {
            [".rdb", ".rdb.gz", ".rdb.zst"]
                .iter()
                .any(|x| n.ends_with(x))
        })
        .collect();
    let hint = match (dumps.first(), names.iter().any(|n| n == "appendonlydir")) {
        (Some(dump), _) => format!(
            "give the dump file inside it, e.g. {}",
            dir.join(dump).display()
        ),
        (None, true) => format!(
            "give the dump file inside it, or its AOF directory {}",
            dir.join("appendonlydir").display()
        ),
        (None, false) => "it holds no .rdb file and no AOF manifest".to_string(),
    };
    Error::Input(format!("{} is a directory; {hint}", dir.display()))
}

/// The base RDB a manifest (`path`, holding `text`) lists, checked to be an RDB.
pub fn base_of_manifest(path: &Path, text: &[u8], options: &OpenOptions) -> Result<PathBuf, Error> {
    let entries = parse_manifest(text).map_err(|why| {
        Error::Input(format!(
            "{} is not a valid AOF manifest: {why}",
            path.display()
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let incremental = entries
        .iter()
        .filter(|e| e.kind == FileKind::Incremental)
        .count();
    let Some(base) = entries.iter().find(|e| e.kind == FileKind::Base) else {
        return Err(Error::Input(format!(
            "the AOF in {} has no base file, only commands; rdbscope reads RDB snapshots: take \
             one with BGSAVE or BGREWRITEAOF",
            dir.display()
        )));
    };
    let base_path = dir.join(&base.file);
    let mut head = Vec::new();
    File::open(&base_path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|source| Error::Io {
            path: base_path.clone(),
            source,
        })?;
    match sniff::shape(&head) {
        Shape::Rdb | Shape::Compressed(_) => {}
        Shape::Aof => {
            return Err(Error::Input(format!(
                "the AOF in {} has an AOF base, {} (commands, no RDB snapshot: the server runs \
                 with aof-use-rdb-preamble no); rdbscope reads RDB snapshots: take one with \
                 BGSAVE",
                dir.display(),
                base.file
            )));
        }
        // Anything else, a manifest naming itself included, is not a base to follow.
        _ => {
            return Err(Error::Input(format!(
                "{} names {} as the AOF base, which is not an RDB file",
                path.display(),
                base.file
            )));
        }
    }
    options.note(&format!(
        "{} is a multi-part AOF: analysing its base snapshot {} ({incremental} incremental \
         command file{} after it not included)",
        dir.display(),
        base.file,
        if incremental == 1 { "" } else { "s" }
    ));
    Ok(base_path)
}

/// Parses `file NAME seq N type b|h|i` lines (Redis `aofLoadManifestFromFile`): key-value
/// pairs in any order, names quoted when they hold spaces, `#` lines ignored.
fn parse_manifest(text: &[u8]) -> Result<Vec<ManifestEntry>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not text".to_string())?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_args(line).ok_or_else(|| format!("line {}: unbalanced quotes", n + 1))?;
        if words.len() % 2 != 0 {
            return Err(format!("line {}: not key-value pairs", n + 1));
        }
        let (mut file, mut kind) = (None, None);
        for pair in words.chunks(2) {
            match pair[0].as_str() {
                "file" => file = Some(pair[1].clone()),
                "type" => {
                    kind = Some(match pair[1].as_str() {
                        "b" => FileKind::Base,
                        "h" => FileKind::History,
                        "i" => FileKind::Incremental,
                        other => return Err(format!("line {}: unknown type {other}", n + 1)),
                    })
                }
                _ => {}
            }
        }
        match (file, kind) {
            (Some(file), Some(kind)) => entries.push(ManifestEntry { file, kind }),
            _ => return Err(format!("line {}: no file or type", n + 1)),
        }
    }
    if entries.is_empty() {
        return Err("no entries".to_string());
    }
    Ok(entries)
}

/// Splits a line into words as Redis' `sdssplitargs` does for what manifests hold: plain
/// words, and double-quoted words with backslash escapes.
fn split_args(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(match chars.next()? {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    }),
                    c => word.push(c),
                }
            }
        } else {
            word.push(first);
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

    #[test]
    fn manifest_lines_in_any_order_with_quoted_names() {
        let text = b"file appendonly.aof.3.base.rdb seq 3 type b\n\
                     # a comment\n\
                     type h seq 2 file appendonly.aof.2.incr.aof\n\
                     file \"my append.aof.4.incr.aof\" seq 4 type i\n";
        let entries = parse_manifest(text).unwrap();
        assert_eq!(
            entries,
            [
                ManifestEntry {
                    file: "appendonly.aof.3.base.rdb".into(),
                    kind: FileKind::Base
                },
                ManifestEntry {
                    file: "appendonly.aof.2.incr.aof".into(),
                    kind: FileKind::History
                },
                ManifestEntry {
                    file: "my append.aof.4.incr.aof".into(),
                    kind: FileKind::Incremental
                },
            ]
        );
    }

    #[test]
    fn malformed_manifests_are_refused() {
        assert!(parse_manifest(b"").is_err());
        assert!(parse_manifest(b"file a seq 1").is_err());
        assert!(parse_manifest(b"file a type x").is_err());
        assert!(parse_manifest(b"file \"a seq 1 type b").is_err());
        assert!(parse_manifest(b"\xff\xfe").is_err());
    }
}
