//! Differential test: rdbscope's parser against the `rdb` crate (a dev-dependency) as an
//! oracle, over the crate's packaged dumps and our own real-server fixtures.
//!
//! The oracle decodes strings, lists, sets, sorted sets and hashes; it skips streams and
//! module values, and it does not read Valkey's magic. For every dump the oracle parses we
//! require rdbscope to parse it too and to agree on the keys, expiries and values.

use std::collections::{BTreeMap, BTreeSet};
mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rdb::{RdbDecoder, RdbValue, filter::Simple};
use rdbscope::rdb::{Context, Entry, KeyType, Records, Scratch, ValueItem, walk_value};

/// The rdb crate's own dumps are always there, so they carry the floors that keep the test
/// from passing vacuously: today the oracle and rdbscope both parse all 31 of them, holding
/// 133 keys (68 strings, 24 lists, 13 sets, 19 hashes, 9 sorted sets).
const MIN_CRATE_DUMPS: usize = 30;
const MIN_CRATE_KEYS: usize = 125;
/// Per logical type, over the crate's dumps.
const MIN_CRATE_KEYS_PER_TYPE: usize = 5;
/// Our fixtures may be absent while they are regenerated; each one the oracle can read must
/// add at least this many keys (they hold 350 to 520 today).
const MIN_KEYS_PER_FIXTURE: usize = 100;
/// Mismatches printed per dump.
const SHOW: usize = 8;

/// A decoded value in a form both parsers can be normalised to.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    String(Vec<u8>),
    /// In order.
    List(Vec<Vec<u8>>),
    /// Sorted, duplicates kept (a parser emitting one twice shows up).
    Set(Vec<Vec<u8>>),
    /// Sorted by field, duplicates kept.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// Sorted by member; scores compared bit for bit (NaNs equal).
    Zset(Vec<(Vec<u8>, f64)>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Hash(_) => "hash",
            Value::Zset(_) => "zset",
        }
    }

    fn normalised(mut self) -> Value {
        match &mut self {
            Value::Set(m) => m.sort(),
            Value::Hash(f) => f.sort(),
            Value::Zset(m) => m.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))),
            Value::String(_) | Value::List(_) => {}
        }
        self
    }

    fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Zset(a), Value::Zset(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|((ma, sa), (mb, sb))| {
                        ma == mb && (sa.to_bits() == sb.to_bits() || (sa.is_nan() && sb.is_nan()))
                    })
            }
            _ => self == other,
        }
    }
}

#[derive(Debug, Clone)]
struct Key {
    expire_at_ms: Option<i64>,
    value: Value,
}

type DbKey = (u64, Vec<u8>);

/// Keys rdbscope found, split into the ones the oracle decodes and the ones it skips.
#[derive(Default)]
struct Ours {
    keys: BTreeMap<DbKey, Key>,
    skipped_types: BTreeMap<DbKey, KeyType>,
}

fn show(bytes: &[u8]) -> String {
    rdbscope::rdb::escape_key(bytes)
}

fn show_key((db, key): &DbKey) -> String {
    format!("db{db}:{:?}", show(key))
}

/// The `rdb` crate's packaged dumps; there must be some.
fn oracle_dumps() -> Vec<PathBuf> {
    let dumps = common::rdb_crate_dumps();
    assert!(
        !dumps.is_empty(),
        "no .rdb dumps in the rdb crate's package"
    );
    dumps
}

/// Decodes a dump with the oracle. `Err` if the oracle cannot parse it.
fn parse_oracle(bytes: &[u8]) -> Result<BTreeMap<DbKey, Key>, String> {
    let decoder = RdbDecoder::new(bytes, Simple::new()).map_err(|e| e.to_string())?;
    let mut db = 0u64;
    let mut keys = BTreeMap::new();
    for item in decoder {
        let item = item.map_err(|e| format!("{e} (after {} keys)", keys.len()))?;
        let (key, expiry, value) = match item {
            RdbValue::SelectDb(n) => {
                db = u64::from(n);
                continue;
            }
            RdbValue::String { key, value, expiry } => (key, expiry, Value::String(value)),
            RdbValue::List {
                key,
                values,
                expiry,
            } => (key, expiry, Value::List(values)),
            RdbValue::Set {
                key,
                members,
                expiry,
            } => (key, expiry, Value::Set(members)),
            RdbValue::Hash {
                key,
                values,
                expiry,
            } => (key, expiry, Value::Hash(values.into_iter().collect())),
            RdbValue::SortedSet {
                key,
                values,
                expiry,
            } => (
                key,
                expiry,
                Value::Zset(values.into_iter().map(|(s, m)| (m, s)).collect()),
            ),
            RdbValue::ResizeDb { .. } | RdbValue::AuxField { .. } | RdbValue::Checksum(_) => {
                continue;
            }
        };
        let entry = Key {
            // The oracle holds expiries as u64; the bits are the file's.
            expire_at_ms: expiry.map(|e| e as i64),
            value: value.normalised(),
        };
        if keys.insert((db, key.clone()), entry).is_some() {
            return Err(format!("duplicate key {}", show_key(&(db, key))));
        }
    }
    Ok(keys)
}

/// Decodes a dump with rdbscope. `Err` carries the error with its offset.
fn parse_ours(bytes: &[u8]) -> Result<Ours, String> {
    let records = Records::new(bytes).map_err(|e| format!("header: {e}"))?;
    let ctx = Context::for_dump(bytes).map_err(|e| format!("header: {e}"))?;
    let mut scratch = Scratch::default();
    let mut ours = Ours::default();
    let mut saw_eof = false;
    for entry in records {
        let record = match entry {
            Ok(Entry::Key(record)) => record,
            Ok(Entry::Other(rdbscope::rdb::Item::Eof { .. })) => {
                saw_eof = true;
                continue;
            }
            Ok(Entry::Other(_)) => continue,
            Err(e) => return Err(format!("splitting records: {e}")),
        };
        let db_key = (record.db, record.key.to_vec());
        let key_type = record.value_type.key_type();
        if matches!(key_type, KeyType::Stream | KeyType::Module) {
            walk_value(&record, &ctx, &mut scratch, &mut |_| {}).map_err(|e| {
                format!(
                    "walking {} at offset {}: {e}",
                    show_key(&db_key),
                    record.offset
                )
            })?;
            ours.skipped_types.insert(db_key, key_type);
            continue;
        }
        let mut members = Vec::new();
        let mut fields = Vec::new();
        let mut scored = Vec::new();
        walk_value(&record, &ctx, &mut scratch, &mut |item| match item {
            ValueItem::Member(e) => members.push(e.to_vec()),
            ValueItem::Field { field, value, .. } => fields.push((field.to_vec(), value.to_vec())),
            ValueItem::Scored { member, score } => {
                scored.push((member.to_vec(), score.value().expect("checked by the walk")))
            }
        })
        .map_err(|e| {
            format!(
                "walking {} ({:?}) at offset {}: {e}",
                show_key(&db_key),
                record.value_type,
                record.offset
            )
        })?;
        let mixed = |what: &str| {
            format!(
                "{} ({:?}) yielded {what}",
                show_key(&db_key),
                record.value_type
            )
        };
        let value = match key_type {
            KeyType::String => {
                if members.len() != 1 || !fields.is_empty() || !scored.is_empty() {
                    return Err(mixed("other than one member"));
                }
                Value::String(members.pop().unwrap_or_default())
            }
            KeyType::List | KeyType::Set => {
                if !fields.is_empty() || !scored.is_empty() {
                    return Err(mixed("fields or scores"));
                }
                if key_type == KeyType::List {
                    Value::List(members)
                } else {
                    Value::Set(members)
                }
            }
            KeyType::Hash => {
                if !members.is_empty() || !scored.is_empty() {
                    return Err(mixed("members or scores"));
                }
                Value::Hash(fields)
            }
            KeyType::Zset => {
                if !members.is_empty() || !fields.is_empty() {
                    return Err(mixed("members or fields"));
                }
                Value::Zset(scored)
            }
            KeyType::Stream | KeyType::Module => unreachable!(),
        };
        let key = Key {
            expire_at_ms: record.expire_at_ms,
            value: value.normalised(),
        };
        if ours.keys.insert(db_key.clone(), key).is_some() {
            return Err(format!("duplicate key {}", show_key(&db_key)));
        }
    }
    if !saw_eof {
        return Err("ended without an EOF record".into());
    }
    Ok(ours)
}

/// Renders bytes for a message, escaped and cut to a readable length.
fn text(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    if bytes.len() > MAX {
        format!("{:?}...({} bytes)", show(&bytes[..MAX]), bytes.len())
    } else {
        format!("{:?}", show(bytes))
    }
}

/// One element of a value, rendered for a message.
trait Render {
    fn render(&self) -> String;
}

impl Render for Vec<u8> {
    fn render(&self) -> String {
        text(self)
    }
}

impl Render for (Vec<u8>, Vec<u8>) {
    fn render(&self) -> String {
        format!("{}: {}", text(&self.0), text(&self.1))
    }
}

impl Render for (Vec<u8>, f64) {
    fn render(&self) -> String {
        format!("{}: {:?}", text(&self.0), self.1)
    }
}

fn brief(v: &Value) -> String {
    fn list<T: Render>(items: &[T]) -> String {
        const MAX: usize = 6;
        let mut s: Vec<String> = items.iter().take(MAX).map(Render::render).collect();
        if items.len() > MAX {
            s.push(format!("... {} in all", items.len()));
        }
        s.join(", ")
    }
    match v {
        Value::String(s) => format!("string {}", text(s)),
        Value::List(m) => format!("list [{}]", list(m)),
        Value::Set(m) => format!("set {{{}}}", list(m)),
        Value::Hash(f) => format!("hash {{{}}}", list(f)),
        Value::Zset(m) => format!("zset {{{}}}", list(m)),
    }
}

/// Describes where two values first differ.
fn first_difference(ours: &Value, theirs: &Value) -> String {
    fn at<T: Render>(a: &[T], b: &[T]) -> String {
        match a.iter().zip(b).position(|(x, y)| x.render() != y.render()) {
            Some(i) => format!(
                "element {i}: ours {} vs oracle {}",
                a[i].render(),
                b[i].render()
            ),
            None => format!("lengths: ours {} vs oracle {}", a.len(), b.len()),
        }
    }
    let detail = match (ours, theirs) {
        (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => at(a, b),
        (Value::Hash(a), Value::Hash(b)) => at(a, b),
        (Value::Zset(a), Value::Zset(b)) => at(a, b),
        _ => "the whole string".into(),
    };
    format!(
        "\n      ours:   {}\n      oracle: {}\n      first difference: {detail}",
        brief(ours),
        brief(theirs)
    )
}

/// Compares one dump; returns the mismatches and, per type, how many keys agreed.
fn compare(
    ours: &Ours,
    theirs: &BTreeMap<DbKey, Key>,
    per_type: &mut BTreeMap<&'static str, usize>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (k, t) in theirs {
        let Some(o) = ours.keys.get(k) else {
            let why = match ours.skipped_types.get(k) {
                Some(kt) => format!(" (rdbscope says it is a {})", kt.as_str()),
                None => String::new(),
            };
            problems.push(format!(
                "{}: oracle has a {} key rdbscope lacks{why}",
                show_key(k),
                t.value.type_name()
            ));
            continue;
        };
        if o.value.type_name() != t.value.type_name() {
            problems.push(format!(
                "{}: type ours {} vs oracle {}",
                show_key(k),
                o.value.type_name(),
                t.value.type_name()
            ));
            continue;
        }
        if o.expire_at_ms != t.expire_at_ms {
            problems.push(format!(
                "{}: expiry ours {:?} vs oracle {:?}",
                show_key(k),
                o.expire_at_ms,
                t.expire_at_ms
            ));
            continue;
        }
        if !o.value.same(&t.value) {
            problems.push(format!(
                "{}: {} values differ{}",
                show_key(k),
                t.value.type_name(),
                first_difference(&o.value, &t.value)
            ));
            continue;
        }
        *per_type.entry(t.value.type_name()).or_default() += 1;
    }
    for (k, o) in &ours.keys {
        if !theirs.contains_key(k) {
            problems.push(format!(
                "{}: rdbscope has a {} key the oracle lacks: {}",
                show_key(k),
                o.value.type_name(),
                brief(&o.value)
            ));
        }
    }
    problems
}

/// What one group of dumps (the crate's, or ours) contributed.
#[derive(Debug, Default)]
struct Tally {
    dumps: usize,
    keys: usize,
    not_comparable: usize,
    with_expiry: usize,
    per_type: BTreeMap<&'static str, usize>,
}

#[test]
fn rdbscope_agrees_with_the_rdb_crate() {
    let crate_dumps = oracle_dumps();
    let fixtures = common::fixture_dumps();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    let mut report = String::new();
    let mut failures = String::new();
    let mut from_crate = Tally::default();
    let mut from_fixtures = Tally::default();
    let mut oracle_failed = BTreeSet::new();

    let all = crate_dumps
        .iter()
        .map(|p| {
            (
                true,
                p,
                format!("rdb crate {}", p.file_name().unwrap().display()),
            )
        })
        .chain(fixtures.iter().map(|p| {
            let name = p.strip_prefix(root).unwrap_or(p).display().to_string();
            (false, p, name)
        }));
    for (is_crate_dump, path, name) in all {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let ours = parse_ours(&bytes);
        let theirs = match parse_oracle(&bytes) {
            Ok(t) => t,
            Err(e) => {
                // Not comparable (Valkey 9's magic, for one): noted, not judged here.
                let ours_note = match &ours {
                    Ok(o) => format!("rdbscope ok, {} keys", o.keys.len() + o.skipped_types.len()),
                    Err(e) => format!("rdbscope FAILS too: {e}"),
                };
                writeln!(report, "  {name}: oracle cannot parse ({e}); {ours_note}").unwrap();
                oracle_failed.insert(name);
                continue;
            }
        };
        let ours = match ours {
            Ok(o) => o,
            Err(e) => {
                writeln!(
                    failures,
                    "{name}: rdbscope fails where the oracle decodes {} keys: {e}",
                    theirs.len()
                )
                .unwrap();
                continue;
            }
        };
        let tally = if is_crate_dump {
            &mut from_crate
        } else {
            &mut from_fixtures
        };
        let problems = compare(&ours, &theirs, &mut tally.per_type);
        tally.dumps += 1;
        tally.keys += theirs.len();
        tally.not_comparable += ours.skipped_types.len();
        tally.with_expiry += theirs.values().filter(|k| k.expire_at_ms.is_some()).count();
        writeln!(
            report,
            "  {name}: {} keys compared, {} stream/module keys not comparable{}",
            theirs.len(),
            ours.skipped_types.len(),
            if problems.is_empty() {
                String::new()
            } else {
                format!(", {} MISMATCHES", problems.len())
            }
        )
        .unwrap();
        if !problems.is_empty() {
            writeln!(failures, "{name}: {} mismatches", problems.len()).unwrap();
            for p in problems.iter().take(SHOW) {
                writeln!(failures, "    {p}").unwrap();
            }
            if problems.len() > SHOW {
                writeln!(failures, "    ... and {} more", problems.len() - SHOW).unwrap();
            }
        }
    }
    println!(
        "differential:\n  rdb crate dumps: {from_crate:?}\n  our fixtures: {from_fixtures:?}\n\
         oracle could not parse: {oracle_failed:?}\n{report}"
    );

    assert!(
        failures.is_empty(),
        "rdbscope disagrees with the oracle:\n{failures}"
    );
    assert!(
        from_crate.dumps >= MIN_CRATE_DUMPS,
        "only {} of the rdb crate's dumps compared, expected at least {MIN_CRATE_DUMPS}; \
         oracle failed on {oracle_failed:?}",
        from_crate.dumps
    );
    assert!(
        from_crate.keys >= MIN_CRATE_KEYS,
        "only {} keys of the rdb crate's dumps compared, expected at least {MIN_CRATE_KEYS}",
        from_crate.keys
    );
    for t in ["string", "list", "set", "hash", "zset"] {
        let n = from_crate.per_type.get(t).copied().unwrap_or(0);
        assert!(
            n >= MIN_CRATE_KEYS_PER_TYPE,
            "only {n} {t} keys of the rdb crate's dumps compared, \
             expected at least {MIN_CRATE_KEYS_PER_TYPE}"
        );
    }
    assert!(
        from_fixtures.keys >= MIN_KEYS_PER_FIXTURE * from_fixtures.dumps,
        "{} fixtures compared but only {} keys in all, expected at least {MIN_KEYS_PER_FIXTURE} each",
        from_fixtures.dumps,
        from_fixtures.keys
    );
}

/// The comparison itself must be able to fail: a changed value, a missing key and a changed
/// expiry are each reported.
#[test]
fn comparison_detects_differences() {
    let k = (0u64, b"k".to_vec());
    let theirs: BTreeMap<DbKey, Key> = [(
        k.clone(),
        Key {
            expire_at_ms: Some(5),
            value: Value::Zset(vec![(b"m".to_vec(), 1.0)]),
        },
    )]
    .into();
    let mut per_type = BTreeMap::new();

    let mut ours = Ours::default();
    ours.keys.insert(k.clone(), theirs[&k].clone());
    assert!(compare(&ours, &theirs, &mut per_type).is_empty());

    ours.keys.get_mut(&k).unwrap().value = Value::Zset(vec![(b"m".to_vec(), 1.5)]);
    assert_eq!(compare(&ours, &theirs, &mut per_type).len(), 1);

    ours.keys.get_mut(&k).unwrap().value = theirs[&k].value.clone();
    ours.keys.get_mut(&k).unwrap().expire_at_ms = None;
    assert_eq!(compare(&ours, &theirs, &mut per_type).len(), 1);

    ours.keys.clear();
    ours.keys.insert((1, b"k".to_vec()), theirs[&k].clone());
    assert_eq!(compare(&ours, &theirs, &mut per_type).len(), 2);
}

/// Synthetic dumps of every format the oracle reads (RDB 1 to 13) and every shape: the
/// oracle and rdbscope agree on every key, and together account for every key written.
#[test]
fn synthetic_dumps_agree_with_the_rdb_crate() {
    use rdbscope::rdb::{Header, Magic};
    use rdbscope::synth::mix::{self, MixConfig, Shape};

    /// 2030-01-01T00:00:00Z.
    const CLOCK_MS: i64 = 1_893_456_000_000;
    let mut per_type = BTreeMap::new();
    let mut failures = String::new();
    for version in 1..=13 {
        for shape in Shape::ALL {
            let config = MixConfig::new(Header::new(Magic::Redis, version), shape, 5, CLOCK_MS);
            let (dump, summary) = mix::generate(&config, 300_000);
            let name = format!("RDB {version} {}", shape.name());
            let theirs = parse_oracle(&dump).unwrap_or_else(|e| panic!("{name}: oracle: {e}"));
            let ours = parse_ours(&dump).unwrap_or_else(|e| panic!("{name}: rdbscope: {e}"));
            let problems = compare(&ours, &theirs, &mut per_type);
            for p in problems.iter().take(SHOW) {
                writeln!(failures, "{name}: {p}").unwrap();
            }
            assert_eq!(
                (theirs.len() + ours.skipped_types.len()) as u64,
                summary.keys,
                "{name}: keys compared plus streams vs keys written"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "rdbscope disagrees with the oracle:\n{failures}"
    );
    for t in ["string", "list", "set", "hash", "zset"] {
        assert!(
            per_type.get(t).is_some_and(|&n| n >= 100),
            "too few {t} keys compared: {per_type:?}"
        );
    }
}
