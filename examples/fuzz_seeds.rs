//! Seed corpora for the fuzz targets, cut from real dumps (see fuzz/README.md):
//!
//! ```sh
//! cargo run --release --example fuzz_seeds -- fuzz/corpus testdata/*/dump.rdb
//! ```
//!
//! Writes `OUT/TARGET/HASH` files: small dumps for `splitter` and `dump` (large dumps are cut
//! into standalone dumps of a few records each, so that every execution is quick), and every
//! ziplist, listpack, intset, zipmap, LZF string, stream and module value the dumps hold, as
//! the matching target expects its input.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rdbscope::rdb::crc64::crc64;
use rdbscope::rdb::{Cursor, Entry, Item, RdbStr, Record, Records, ValueType, stream};

/// Larger seeds slow every execution down; the fuzzers grow inputs themselves.
const MAX_SEED: usize = 64 << 10;
/// Records per standalone dump cut from a large one, by bytes.
const CHUNK: usize = 16 << 10;
/// Seeds kept per target.
const MAX_PER_TARGET: usize = 400;

struct Seeds {
    out: PathBuf,
    written: HashMap<&'static str, usize>,
}

impl Seeds {
    fn add(&mut self, target: &'static str, bytes: &[u8]) {
        let count = self.written.entry(target).or_default();
        if bytes.len() > MAX_SEED || *count >= MAX_PER_TARGET {
            return;
        }
        let dir = self.out.join(target);
        std::fs::create_dir_all(&dir).expect("creating the corpus directory");
        // Not the CRC-64: a dump with its own CRC trailer always checksums to the same value.
        let mut hash = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(bytes, &mut hash);
        let path = dir.join(format!("{:016x}", std::hash::Hasher::finish(&hash)));
        if !path.exists() {
            std::fs::write(&path, bytes).expect("writing a seed");
            *count += 1;
        }
    }

    /// An RDB string: the blob it holds for `target` (if any), and its LZF data for `lzf`.
    fn blob(&mut self, target: Option<&'static str>, s: RdbStr<'_>) {
        if let RdbStr::Lzf {
            compressed,
            original_len,
            ..
        } = s
            && let Ok(len) = u16::try_from(original_len)
        {
            self.add("lzf", &[&len.to_le_bytes()[..], compressed].concat());
        }
        if let Some(target) = target
            && let Ok(bytes) = s.to_cow()
        {
            self.add(target, &bytes);
        }
    }

    fn record(&mut self, record: &Record<'_>) {
        use ValueType::*;
        let mut c = Cursor::new(record.payload, record.payload_offset);
        // Seeds are best effort: a value that does not parse is simply not cut up.
        let _ = (|| -> rdbscope::rdb::Result<()> {
            match record.value_type {
                String => self.blob(None, c.rdb_string("value")?),
                ListZiplist | ZsetZiplist | HashZiplist => {
                    self.blob(Some("ziplist"), c.rdb_string("value")?)
                }
                HashListpack | ZsetListpack | SetListpack | HashListpackExPreGa => {
                    self.blob(Some("listpack"), c.rdb_string("value")?)
                }
                HashListpackEx => {
                    c.skip(8, "minimum expiry")?;
                    self.blob(Some("listpack"), c.rdb_string("value")?)
                }
                SetIntset => self.blob(Some("intset"), c.rdb_string("value")?),
                HashZipmap => self.blob(Some("zipmap"), c.rdb_string("value")?),
                ListQuicklist => {
                    for _ in 0..c.rdb_len("nodes")? {
                        self.blob(Some("ziplist"), c.rdb_string("node")?);
                    }
                }
                ListQuicklist2 => {
                    for _ in 0..c.rdb_len("nodes")? {
                        let container = c.rdb_len("container")?;
                        let node = c.rdb_string("node")?;
                        self.blob((container == 2).then_some("listpack"), node);
                    }
                }
                Stream(version) => {
                    self.add("stream", &[&[version - 1][..], record.payload].concat());
                    stream::walk(&mut c, version, |_, listpack, _| {
                        self.blob(Some("listpack"), listpack);
                        Ok(())
                    })?;
                }
                Module2 => self.add("module", record.payload),
                _ => {}
            }
            Ok(())
        })();
    }
}

/// The RDB length encoding of `n`.
fn rdb_len(n: u64) -> Vec<u8> {
    match n {
        0..64 => vec![n as u8],
        64..16384 => vec![0x40 | (n >> 8) as u8, n as u8],
        _ => [&[0x81][..], &n.to_be_bytes()].concat(),
    }
}

/// A standalone dump of `body`: the header of `data`, SELECTDB, `body`, EOF and the CRC.
fn standalone(data: &[u8], header_len: usize, has_crc: bool, db: u64, body: &[u8]) -> Vec<u8> {
    let mut out = [
        &data[..header_len],
        &[0xFE][..],
        &rdb_len(db),
        body,
        &[0xFF],
    ]
    .concat();
    if has_crc {
        let crc = crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

fn cut(seeds: &mut Seeds, path: &Path) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut records = match Records::new(&data) {
        Ok(records) => records,
        Err(e) => return eprintln!("{}: skipped: {e}", path.display()),
    };
    if data.len() <= MAX_SEED {
        seeds.add("splitter", &data);
        seeds.add("dump", &data);
    }
    let header = *records.header();
    let mut chunk = (0, 0..0); // (db, byte range of whole entries)
    loop {
        let start = records.offset() as usize;
        let Some(entry) = records.next() else { break };
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return eprintln!("{}: stopped: {e}", path.display()),
        };
        let end = records.offset() as usize;
        let db = match &entry {
            Entry::Key(record) => {
                seeds.record(record);
                record.db
            }
            Entry::Other(Item::Eof { .. }) => break,
            Entry::Other(_) => chunk.0,
        };
        if chunk.1.is_empty() {
            chunk = (db, start..start);
        }
        chunk.1.end = end;
        if chunk.1.len() >= CHUNK && data.len() > MAX_SEED {
            let dump = standalone(
                &data,
                header.len,
                header.has_checksum(),
                chunk.0,
                &data[chunk.1.clone()],
            );
            seeds.add("splitter", &dump);
            seeds.add("dump", &dump);
            chunk.1 = end..end;
        }
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: fuzz_seeds OUT_DIR DUMP...");
        std::process::exit(2);
    };
    let mut seeds = Seeds {
        out: PathBuf::from(out),
        written: HashMap::new(),
    };
    for dump in args {
        cut(&mut seeds, Path::new(&dump));
    }
    let mut counts: Vec<_> = seeds.written.into_iter().collect();
    counts.sort();
    for (target, n) in counts {
        println!("{target}: {n} seeds");
    }
}
