//! A seeded, realistic dataset written until a target size: keys named the way applications
//! name them (`user:{id}:profile`, `session:{uuid}`, ...), values of every type in each
//! encoding the chosen format has, sized on the right side of the servers' default encoding
//! thresholds so the server that loads the dump holds each key in the intended encoding;
//! expiries, several databases, LRU or LFU data, and streams with consumer groups.

use std::collections::BTreeMap;
use std::io::Write;

use super::rng::Rng;
use super::value::{
    Consumer, ConsumerGroup, Field, KeyRecord, PendingEntry, Stream, StreamEntry, Value,
};
use super::writer::{Options, RdbWriter, Result};
use crate::rdb::inspect::is_redis_integer;
use crate::rdb::server::{Family, ServerVersion};
use crate::rdb::{Context, Encoding, Header, KeyType, Magic, ValueType};

/// What the dataset is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Sessions, counters, cached pages, tokens, locks.
    Strings,
    /// Profiles, tags, recent items, short lists: compact encodings.
    SmallCollections,
    /// Followers, leaderboards, queues, event hashes, streams: hashtable/skiplist/quicklist.
    BigCollections,
    /// All of the above, string-heavy by count, collection-heavy by bytes.
    Mixed,
}

impl Shape {
    pub const ALL: [Shape; 4] = [
        Shape::Strings,
        Shape::SmallCollections,
        Shape::BigCollections,
        Shape::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Strings => "strings",
            Shape::SmallCollections => "small-collections",
            Shape::BigCollections => "big-collections",
            Shape::Mixed => "mixed",
        }
    }

    pub fn parse(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Relative key counts of each kind.
    fn weights(self) -> &'static [(Kind, u32)] {
        use Kind::*;
        match self {
            Shape::Strings => &[
                (Session, 30),
                (Counter, 25),
                (Token, 20),
                (CachedPage, 8),
                (Thumbnail, 2),
                (Lock, 10),
                (Feature, 5),
            ],
            Shape::SmallCollections => &[
                (Profile, 35),
                (Tags, 20),
                (Recent, 15),
                (Notifications, 15),
                (OneTimeCodes, 5),
                (Counter, 10),
            ],
            Shape::BigCollections => &[
                (Followers, 25),
                (Leaderboard, 25),
                (Queue, 25),
                (Events, 15),
                (Activity, 10),
            ],
            Shape::Mixed => &[
                (Session, 20),
                (Counter, 15),
                (Token, 10),
                (CachedPage, 4),
                (Thumbnail, 1),
                (Lock, 5),
                (Feature, 2),
                (Profile, 15),
                (Tags, 8),
                (Recent, 6),
                (Notifications, 6),
                (OneTimeCodes, 2),
                (Followers, 1),
                (Leaderboard, 1),
                (Queue, 1),
                (Events, 1),
                (Activity, 1),
            ],
        }
    }

    /// A typical record size, for the first database's RESIZEDB hint.
    fn nominal_record_bytes(self) -> u64 {
        match self {
            Shape::Strings => 300,
            Shape::SmallCollections => 400,
            Shape::BigCollections => 40_000,
            Shape::Mixed => 1_500,
        }
    }
}

/// The kinds of keys an application keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Session,
    Counter,
    Token,
    CachedPage,
    Thumbnail,
    Lock,
    Feature,
    Profile,
    Tags,
    Recent,
    Notifications,
    OneTimeCodes,
    Followers,
    Leaderboard,
    Queue,
    Events,
    Activity,
}

#[derive(Debug, Clone, Copy)]
pub struct MixConfig {
    pub seed: u64,
    pub header: Header,
    pub shape: Shape,
    /// "Now" for the dump: its `ctime`, and the base of every expiry (all in the future, so
    /// a server loading the dump soon after keeps every key).
    pub clock_ms: i64,
    pub options: Options,
}

impl MixConfig {
    pub fn new(header: Header, shape: Shape, seed: u64, clock_ms: i64) -> MixConfig {
        MixConfig {
            seed,
            header,
            shape,
            clock_ms,
            options: Options::default(),
        }
    }
}

/// A key written, with the encoding the server that loads the dump holds it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub db: u64,
    pub key: Vec<u8>,
    pub key_type: KeyType,
    pub encoding: Encoding,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub keys: u64,
    pub bytes: u64,
    pub expiring: u64,
    /// Keys per database.
    pub databases: BTreeMap<u64, u64>,
    /// Keys per type and intended encoding.
    pub encodings: BTreeMap<(KeyType, Encoding), u64>,
    /// The first few keys of every type and encoding, for spot checks.
    pub samples: Vec<Sample>,
}

/// Samples kept per type and encoding.
const SAMPLES_PER_ENCODING: u64 = 3;
/// Databases used and each one's share of the bytes, in percent.
const DATABASES: [(u64, u64); 4] = [(0, 80), (1, 12), (2, 6), (9, 2)];

/// Writes a whole dump of about `target_bytes` (it stops at the first key past the target)
/// to `out`.
pub fn write<W: Write>(out: W, config: &MixConfig, target_bytes: u64) -> Result<(W, Summary)> {
    let mut g = Generator::new(config);
    let mut w = RdbWriter::new(out, config.header, config.options)?;
    g.aux_fields(&mut w)?;
    let mut summary = Summary::default();
    let mut budget_end = w.bytes_written();
    let remaining = target_bytes.saturating_sub(budget_end);
    for (db, share) in DATABASES {
        budget_end += remaining * share / 100;
        let planned = budget_end.saturating_sub(w.bytes_written());
        // RESIZEDB comes before the keys: the hint is planned bytes over the mean record
        // so far (a hint is all it is to servers, too).
        let mean = w
            .bytes_written()
            .checked_div(summary.keys)
            .unwrap_or(config.shape.nominal_record_bytes())
            .max(1);
        let keys_hint = (planned / mean).max(1);
        let expire_percent = (summary.expiring * 100)
            .checked_div(summary.keys)
            .unwrap_or(50);
        w.select_db(db)?;
        if config.header.version >= 7 {
            w.resize_db(keys_hint, keys_hint * expire_percent / 100)?;
        }
        // At least one key per database, so every database shows up.
        loop {
            let (record, encoding) = g.key();
            w.key(&record)?;
            summary.note(db, &record, encoding);
            if w.bytes_written() >= budget_end {
                break;
            }
        }
    }
    let (out, bytes) = w.finish()?;
    summary.bytes = bytes;
    Ok((out, summary))
}

/// A whole dump of about `target_bytes` in memory.
pub fn generate(config: &MixConfig, target_bytes: u64) -> (Vec<u8>, Summary) {
    write(Vec::new(), config, target_bytes)
        .expect("the mix writes only what the format holds, into a Vec")
}

impl Summary {
    fn note(&mut self, db: u64, record: &KeyRecord, encoding: Encoding) {
        let key_type = record.layout.key_type();
        self.keys += 1;
        self.expiring += u64::from(record.expire_at_ms.is_some());
        *self.databases.entry(db).or_default() += 1;
        let seen = self.encodings.entry((key_type, encoding)).or_default();
        *seen += 1;
        if *seen <= SAMPLES_PER_ENCODING {
            self.samples.push(Sample {
                db,
                key: record.key.clone(),
                key_type,
                encoding,
            });
        }
    }
}

/// Which LRU/LFU data the "server" kept for the dump (one policy per dump, as on a server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eviction {
    None,
    Lru,
    Lfu,
}

/// A key, the encoding the server holds it in, and the chance (percent) that it gets a TTL.
type Planned = (KeyRecord, Encoding, u64);

struct Generator {
    rng: Rng,
    header: Header,
    ctx: Context,
    server: ServerVersion,
    shape: Shape,
    clock_ms: i64,
    eviction: Eviction,
    /// Distinct ids keep key names unique.
    next_id: u64,
}

/// Elements at most this many, of at most `SMALL_ELEMENT` bytes, stay compact under every
/// version's defaults (the strictest: 128 sorted set and listpack set entries, 64 bytes).
const SMALL_COUNT: u64 = 100;
const SMALL_ELEMENT: usize = 60;
/// Collections of at least this many elements exceed every compact limit (512 at most).
const BIG_COUNT: u64 = 600;

const DAY_MS: i64 = 86_400_000;
const WORDS: &[&str] = &[
    "the", "user", "order", "cart", "item", "price", "status", "shipped", "pending", "name",
    "email", "created", "updated", "session", "token", "value", "count", "region", "eu-west",
    "us-east", "mobile", "desktop", "click", "view", "search", "checkout", "premium", "free",
];
const CITIES: &[&str] = &[
    "Berlin", "Lisbon", "Osaka", "Austin", "Lagos", "Lima", "Pune",
];

impl Generator {
    fn new(config: &MixConfig) -> Generator {
        let server = writing_server(config.header);
        let mut rng = Rng::new(config.seed);
        let eviction = if config.header.version >= 9 {
            *rng.pick(&[Eviction::None, Eviction::Lru, Eviction::Lfu])
        } else {
            Eviction::None
        };
        Generator {
            rng,
            header: config.header,
            ctx: Context::new(config.header, Some(server)),
            server,
            shape: config.shape,
            clock_ms: config.clock_ms,
            eviction,
            next_id: 1000,
        }
    }

    fn version(&self) -> u32 {
        self.header.version
    }

    fn aux_fields<W: Write>(&self, w: &mut RdbWriter<W>) -> Result<()> {
        if self.version() < 7 {
            return Ok(());
        }
        let version = format!(
            "{}.{}.{}",
            self.server.major, self.server.minor, self.server.patch
        );
        match self.server.family {
            Family::Valkey => w.aux(b"valkey-ver", version.as_bytes())?,
            Family::Redis => w.aux(b"redis-ver", version.as_bytes())?,
        }
        w.aux(b"redis-bits", b"64")?;
        w.aux(b"ctime", (self.clock_ms / 1000).to_string().as_bytes())?;
        w.aux(b"used-mem", b"1048576")?;
        if self.version() >= 10 {
            w.aux(b"aof-base", b"0")?;
        }
        Ok(())
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1 + self.rng.below(3);
        self.next_id
    }

    /// The next key and the encoding the server holds it in.
    fn key(&mut self) -> (KeyRecord, Encoding) {
        let weights: Vec<u32> = self.shape.weights().iter().map(|&(_, w)| w).collect();
        let kind = self.shape.weights()[self.rng.weighted(&weights)].0;
        let (mut record, encoding, expire_percent) = self.value_of(kind);
        if self.rng.percent(expire_percent) {
            let mut at = self.clock_ms + self.rng.range(3_600_000, 30 * DAY_MS as u64) as i64;
            if self.version() < 3 {
                at -= at % 1000; // RDB 1-2 store seconds
            }
            record.expire_at_ms = Some(at);
        }
        match self.eviction {
            Eviction::Lru => record.idle_s = Some(self.rng.below(86_400 * 7)),
            Eviction::Lfu => record.freq = Some(self.rng.below(256) as u8),
            Eviction::None => {}
        }
        (record, encoding)
    }

    /// A key of `kind`, its encoding, and the chance (percent) it has a TTL.
    fn value_of(&mut self, kind: Kind) -> Planned {
        let id = self.id();
        match kind {
            Kind::Session => {
                let key = format!("session:{}", self.rng.uuid());
                let value = format!(
                    "{{\"uid\":{id},\"ip\":\"10.{}.{}.{}\",\"agent\":\"{}\",\"csrf\":\"{}\"}}",
                    self.rng.below(256),
                    self.rng.below(256),
                    self.rng.below(256),
                    self.words(3, 14),
                    self.rng.hex(32)
                );
                self.string(key, value.into_bytes(), 85)
            }
            Kind::Counter => {
                let scope = self.rng.pick(&["page", "api", "login", "signup", "cart"]);
                let key = format!("counter:{scope}:{id}:{}", 20240101 + self.rng.below(365));
                let value = match self.rng.below(10) {
                    0 => self.rng.int(),
                    _ => self.rng.below(100_000) as i64,
                };
                self.string(key, value.to_string().into_bytes(), 30)
            }
            Kind::Token => {
                let key = format!("user:{id}:token");
                let value = self.rng.hex(32).into_bytes();
                self.string(key, value, 50)
            }
            Kind::CachedPage => {
                let key = format!("cache:page:{}", self.rng.hex(32));
                let len = self.rng.range(1_000, 16_000) as usize;
                let value = self.html(len);
                self.string(key, value, 90)
            }
            Kind::Thumbnail => {
                let key = format!("img:{id}:thumb");
                let len = self.rng.range(500, 3_000) as usize;
                let value = self.rng.bytes(len);
                self.string(key, value, 20)
            }
            Kind::Lock => {
                let resource = self.rng.pick(&["order", "invoice", "job", "report"]);
                let key = format!("lock:{resource}:{id}");
                let value = self.rng.uuid().into_bytes();
                self.string(key, value, 100)
            }
            Kind::Feature => {
                let key = format!(
                    "feature:{}:{id}",
                    self.rng.pick(&["beta", "dark-mode", "v2"])
                );
                let value = self.rng.pick(&["on", "off", "0", "1"]).as_bytes().to_vec();
                self.string(key, value, 0)
            }
            Kind::Profile => {
                let key = format!("user:{id}:profile");
                let mut fields = vec![
                    field("name", self.words(2, 2)),
                    field("email", format!("u{id}@example.com")),
                    field(
                        "created",
                        (1_600_000_000 + self.rng.below(1 << 27)).to_string(),
                    ),
                    field("city", self.rng.pick(CITIES).to_string()),
                ];
                for i in 0..self.rng.below(9) {
                    let value = self.words(1, 4);
                    fields.push(field(&format!("pref:{i}"), value));
                }
                self.small_hash(key, fields, 10)
            }
            Kind::Tags => {
                let key = format!("user:{id}:tags");
                let n = self.rng.range(1, SMALL_COUNT);
                if self.rng.percent(50) {
                    let mut ids: Vec<u64> = (0..n).map(|_| self.rng.below(1 << 20)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let members = ids.iter().map(|v| v.to_string().into_bytes()).collect();
                    self.set(key, members, true, false)
                } else {
                    let mut words: Vec<Vec<u8>> = (0..n)
                        .map(|i| format!("{}-{i}", self.rng.pick(WORDS)).into_bytes())
                        .collect();
                    words.dedup();
                    self.set(key, words, false, false)
                }
            }
            Kind::Recent => {
                let key = format!("user:{id}:recent");
                let n = self.rng.range(1, SMALL_COUNT);
                let members = (0..n)
                    .map(|i| {
                        let score = if self.rng.percent(70) {
                            (self.clock_ms / 1000 - i as i64 * 60) as f64
                        } else {
                            self.rng.below(1 << 30) as f64 / 1024.0
                        };
                        (format!("item:{}", self.id()).into_bytes(), score)
                    })
                    .collect();
                self.zset(key, members, false)
            }
            Kind::Notifications => {
                let key = format!("notifications:{id}");
                let n = self.rng.range(1, 50);
                let items = (0..n)
                    .map(|_| {
                        let mut text = self.words(1, 6).into_bytes();
                        text.truncate(SMALL_ELEMENT);
                        text
                    })
                    .collect();
                self.list(key, items, false)
            }
            Kind::OneTimeCodes => {
                let key = format!("user:{id}:otp");
                let n = self.rng.range(2, 8);
                let fields = (0..n)
                    .map(|i| Field {
                        name: format!("code:{i}").into_bytes(),
                        value: self.rng.range(100_000, 999_999).to_string().into_bytes(),
                        expire_at_ms: self
                            .rng
                            .percent(70)
                            .then(|| self.clock_ms + self.rng.range(3_600_000, 7_200_000) as i64),
                    })
                    .collect();
                self.hash_with_ttls(key, fields, false)
            }
            Kind::Followers => {
                let key = format!("followers:{id}");
                let n = self.rng.range(BIG_COUNT, 5_000);
                let mut ids: Vec<u64> = (0..n).map(|_| self.rng.below(1 << 32)).collect();
                ids.sort_unstable();
                ids.dedup();
                let members = ids.iter().map(|v| v.to_string().into_bytes()).collect();
                self.set(key, members, true, true)
            }
            Kind::Leaderboard => {
                let key = format!(
                    "leaderboard:{}:{id}",
                    self.rng.pick(&["chess", "kart", "quiz"])
                );
                let n = self.rng.range(BIG_COUNT, 5_000);
                let mut members: Vec<(Vec<u8>, f64)> = (0..n)
                    .map(|_| {
                        let score = self.rng.below(1 << 40) as f64 / 100.0;
                        (format!("player:{}", self.id()).into_bytes(), score)
                    })
                    .collect();
                // Servers write skiplists from the highest score down.
                members.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
                self.zset(key, members, true)
            }
            Kind::Queue => {
                let key = format!("queue:{}:{id}", self.rng.pick(&["email", "render", "sync"]));
                let n = self.rng.range(BIG_COUNT, 4_000);
                let items = (0..n)
                    .map(|j| {
                        format!(
                            "{{\"job\":{j},\"kind\":\"{}\",\"args\":\"{}\"}}",
                            self.rng.pick(WORDS),
                            self.words(2, 21)
                        )
                        .into_bytes()
                    })
                    .collect();
                self.list(key, items, true)
            }
            Kind::Events => {
                let key = format!("user:{id}:events");
                let n = self.rng.range(BIG_COUNT, 3_000);
                let ttls = self.rng.percent(30);
                let fields = (0..n)
                    .map(|i| Field {
                        name: format!("evt:{i}").into_bytes(),
                        value: self.words(2, 11).into_bytes(),
                        expire_at_ms: (ttls && self.rng.percent(50)).then(|| {
                            self.clock_ms + self.rng.range(3_600_000, 30 * DAY_MS as u64) as i64
                        }),
                    })
                    .collect();
                self.hash_with_ttls(key, fields, true)
            }
            Kind::Activity => self.stream(id),
        }
    }

    /// Between `min` and `max` words.
    fn words(&mut self, min: usize, max: usize) -> String {
        let n = self.rng.range(min as u64, max as u64);
        let words: Vec<&str> = (0..n).map(|_| *self.rng.pick(WORDS)).collect();
        words.join(" ")
    }

    /// Markup-like text: compresses the way real pages do.
    fn html(&mut self, len: usize) -> Vec<u8> {
        let mut out = String::with_capacity(len + 64);
        while out.len() < len {
            let tag = self.rng.pick(&["div", "span", "p", "li", "a"]);
            let text = self.words(2, 9);
            out.push_str(&format!(
                "<{tag} class=\"c{}\">{text}</{tag}>\n",
                self.rng.below(40)
            ));
        }
        out.truncate(len);
        out.into_bytes()
    }

    fn string(&mut self, key: String, value: Vec<u8>, ttl: u64) -> Planned {
        let encoding = self
            .ctx
            .string_encoding(value.len(), key.len(), || is_redis_integer(&value));
        let record = KeyRecord::new(key, ValueType::String, Value::String(value));
        (record, encoding, ttl)
    }

    fn small_hash(&mut self, key: String, fields: Vec<Field>, ttl: u64) -> Planned {
        let (layout, encoding) = match self.version() {
            1 => (ValueType::Hash, Encoding::Hashtable),
            2..=3 => (ValueType::HashZipmap, Encoding::Zipmap),
            4..=9 => (ValueType::HashZiplist, Encoding::Ziplist),
            _ => (ValueType::HashListpack, Encoding::Listpack),
        };
        (
            KeyRecord::new(key, layout, Value::Hash(fields)),
            encoding,
            ttl,
        )
    }

    /// A hash whose fields may have TTLs where the format has them (Redis 7.4+, Valkey 9).
    fn hash_with_ttls(&mut self, key: String, mut fields: Vec<Field>, big: bool) -> Planned {
        let valkey = self.header.magic == Magic::Valkey;
        let has_ttls = fields.iter().any(|f| f.expire_at_ms.is_some());
        let (layout, encoding) = match (valkey, self.version() >= 12, has_ttls, big) {
            (true, _, true, _) => (ValueType::ValkeyHash2, Encoding::Hashtable),
            (false, true, true, true) => (ValueType::HashMetadata, Encoding::Hashtable),
            (false, true, true, false) => (ValueType::HashListpackEx, Encoding::ListpackEx),
            (_, _, _, true) => {
                fields.iter_mut().for_each(|f| f.expire_at_ms = None);
                (ValueType::Hash, Encoding::Hashtable)
            }
            _ => {
                fields.iter_mut().for_each(|f| f.expire_at_ms = None);
                return self.small_hash(key, fields, 10);
            }
        };
        (
            KeyRecord::new(key, layout, Value::Hash(fields)),
            encoding,
            10,
        )
    }

    /// A set: integers alone fit an intset, short strings a listpack (7.2+).
    fn set(&mut self, key: String, members: Vec<Vec<u8>>, integers: bool, big: bool) -> Planned {
        let (layout, encoding) = match (big, integers, self.version()) {
            (false, true, 2..) => (ValueType::SetIntset, Encoding::Intset),
            (false, false, 11..) => (ValueType::SetListpack, Encoding::Listpack),
            _ => (ValueType::SetHashtable, Encoding::Hashtable),
        };
        (
            KeyRecord::new(key, layout, Value::Set(members)),
            encoding,
            5,
        )
    }

    fn zset(&mut self, key: String, members: Vec<(Vec<u8>, f64)>, big: bool) -> Planned {
        let v = self.version();
        let (layout, encoding) = match (big, v) {
            (true, 8..) => (ValueType::Zset2, Encoding::Skiplist),
            (true, _) | (false, 1) => (ValueType::ZsetText, Encoding::Skiplist),
            (false, 2..=9) => (ValueType::ZsetZiplist, Encoding::Ziplist),
            (false, _) => (ValueType::ZsetListpack, Encoding::Listpack),
        };
        (
            KeyRecord::new(key, layout, Value::Zset(members)),
            encoding,
            5,
        )
    }

    fn list(&mut self, key: String, items: Vec<Vec<u8>>, big: bool) -> Planned {
        let (layout, encoding) = match (self.version(), big) {
            (1, _) | (2..=6, true) => (ValueType::ListLinked, Encoding::Linkedlist),
            (2..=6, false) => (ValueType::ListZiplist, Encoding::Ziplist),
            (7..=9, _) => (ValueType::ListQuicklist, Encoding::Quicklist),
            (11.., false) => (ValueType::ListQuicklist2, Encoding::Listpack),
            _ => (ValueType::ListQuicklist2, Encoding::Quicklist),
        };
        (KeyRecord::new(key, layout, Value::List(items)), encoding, 5)
    }

    /// A stream of activity events with consumer groups (RDB 9+; a big list before that).
    fn stream(&mut self, id: u64) -> Planned {
        let key = format!("activity:{id}");
        let layout = match (self.header.magic, self.version()) {
            (Magic::Valkey, _) | (_, 11..=12) => ValueType::Stream(3),
            (_, 9) => ValueType::Stream(1),
            (_, 10) => ValueType::Stream(2),
            (_, 13..) => ValueType::Stream(4),
            _ => {
                let items = (0..BIG_COUNT)
                    .map(|i| format!("event {i} {}", self.words(4, 4)).into_bytes())
                    .collect();
                return self.list(key, items, true);
            }
        };
        let n = self.rng.range(100, 2_000);
        let (mut ms, mut seq) = ((self.clock_ms - DAY_MS) as u64, 0);
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            if self.rng.percent(80) {
                ms += 1 + self.rng.below(5_000);
                seq = 0;
            } else {
                seq += 1;
            }
            let mut fields = vec![
                (
                    b"type".to_vec(),
                    self.rng.pick(&["view", "click", "buy"]).as_bytes().to_vec(),
                ),
                (
                    b"user".to_vec(),
                    self.rng.below(1 << 20).to_string().into_bytes(),
                ),
            ];
            if self.rng.percent(30) {
                fields.push((b"note".to_vec(), self.words(3, 3).into_bytes()));
            }
            entries.push(StreamEntry {
                id: (ms, seq),
                fields,
                deleted: self.rng.percent(3),
            });
        }
        entries[0].deleted = false;
        let last = entries.last().map_or((0, 0), |e| e.id);
        let groups = (0..self.rng.below(3))
            .map(|g| {
                let live: Vec<_> = entries
                    .iter()
                    .filter(|e| !e.deleted)
                    .map(|e| e.id)
                    .collect();
                let consumers = (0..self.rng.range(1, 3))
                    .map(|c| Consumer {
                        name: format!("worker-{c}").into_bytes(),
                        seen_time_ms: self.clock_ms - self.rng.below(60_000) as i64,
                        active_time_ms: self.clock_ms - self.rng.below(120_000) as i64,
                        pending: Vec::new(),
                    })
                    .collect::<Vec<_>>();
                let mut group = ConsumerGroup {
                    name: format!("group-{g}").into_bytes(),
                    last_id: last,
                    entries_read: Some(live.len() as u64),
                    consumers,
                };
                // The newest few entries are delivered and not yet acknowledged.
                let pending = self.rng.below(live.len().min(20) as u64 + 1) as usize;
                for (i, &entry) in live[live.len() - pending..].iter().enumerate() {
                    let owner = i % group.consumers.len();
                    group.consumers[owner].pending.push(PendingEntry {
                        id: entry,
                        delivery_time_ms: self.clock_ms - self.rng.below(60_000) as i64,
                        delivery_count: self.rng.range(1, 3),
                    });
                }
                group
            })
            .collect();
        let value = Value::Stream(Stream { entries, groups });
        (KeyRecord::new(key, layout, value), Encoding::Stream, 0)
    }
}

fn field(name: &str, value: String) -> Field {
    Field::new(name.as_bytes().to_vec(), value.into_bytes())
}

/// The release whose dumps have this header, as its AUX fields name it.
fn writing_server(header: Header) -> ServerVersion {
    let (family, version) = match (header.magic, header.version) {
        (Magic::Valkey, _) => (Family::Valkey, "9.0.0"),
        (_, ..=6) => (Family::Redis, "2.8.24"),
        (_, 7) => (Family::Redis, "3.2.13"),
        (_, 8) => (Family::Redis, "4.0.14"),
        (_, 9) => (Family::Redis, "6.2.14"),
        (_, 10) => (Family::Redis, "7.0.15"),
        (_, 11) => (Family::Redis, "7.2.5"),
        (_, 12) => (Family::Redis, "7.4.2"),
        _ => (Family::Redis, "8.6.0"),
    };
    ServerVersion::parse(family, version).expect("a valid version string")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::rdb::{Entry, Records, Scratch, inspect};

    /// 2030-01-01T00:00:00Z.
    const CLOCK_MS: i64 = 1_893_456_000_000;

    type ByEncoding = BTreeMap<(KeyType, Encoding), u64>;

    /// Per type and encoding, the keys rdbscope finds; keys per database; keys with a TTL.
    fn census(dump: &[u8]) -> (ByEncoding, BTreeMap<u64, u64>, u64) {
        let ctx = Context::for_dump(dump).unwrap();
        let (mut by_encoding, mut by_db, mut expiring) = (BTreeMap::new(), BTreeMap::new(), 0);
        let mut keys = BTreeSet::new();
        let mut scratch = Scratch::default();
        for entry in Records::new(dump).unwrap() {
            if let Entry::Key(r) = entry.unwrap() {
                let stats = inspect(&r, &ctx, &mut scratch).unwrap();
                *by_encoding
                    .entry((r.value_type.key_type(), stats.encoding()))
                    .or_default() += 1;
                *by_db.entry(r.db).or_default() += 1;
                expiring += u64::from(r.expire_at_ms.is_some());
                assert!(keys.insert((r.db, r.key.to_vec())), "duplicate key");
            }
        }
        (by_encoding, by_db, expiring)
    }

    #[test]
    fn every_format_and_shape_reads_back_as_intended() {
        let mut formats: Vec<Header> = (1..=13).map(|v| Header::new(Magic::Redis, v)).collect();
        formats.push(Header::new(Magic::Valkey, 80));
        for header in formats {
            let mut seen = BTreeSet::new();
            for shape in Shape::ALL {
                let config = MixConfig::new(header, shape, 7, CLOCK_MS);
                // Big collections take tens of KB each: enough of them to meet every kind.
                let target = if shape == Shape::BigCollections {
                    1_000_000
                } else {
                    150_000
                };
                let (dump, summary) = generate(&config, target);
                let what = format!("{} {}", header.display(), shape.name());
                assert_eq!(summary.bytes, dump.len() as u64, "{what}");
                assert!(dump.len() as u64 >= target, "{what}: {} bytes", dump.len());
                let (by_encoding, by_db, expiring) = census(&dump);
                assert_eq!(by_encoding, summary.encodings, "{what}");
                assert_eq!(by_db, summary.databases, "{what}");
                assert_eq!(by_db.len(), DATABASES.len(), "{what}");
                assert_eq!(expiring, summary.expiring, "{what}");
                seen.extend(by_encoding.into_keys());
            }
            // Every encoding the format has, somewhere in its four shapes.
            let v = header.version;
            let mut wanted = vec![
                (KeyType::String, Encoding::Int),
                (KeyType::String, Encoding::Raw),
                (KeyType::Set, Encoding::Hashtable),
                (KeyType::Zset, Encoding::Skiplist),
                (KeyType::Hash, Encoding::Hashtable),
            ];
            let compact = match v {
                1 => Encoding::Hashtable,
                2..=3 => Encoding::Zipmap,
                4..=9 => Encoding::Ziplist,
                _ => Encoding::Listpack,
            };
            wanted.push((KeyType::Hash, compact));
            if v >= 2 {
                wanted.push((KeyType::Set, Encoding::Intset));
                let zset = if v >= 10 {
                    Encoding::Listpack
                } else {
                    Encoding::Ziplist
                };
                wanted.push((KeyType::Zset, zset));
            }
            if v >= 7 {
                wanted.push((KeyType::List, Encoding::Quicklist));
            } else {
                wanted.push((KeyType::List, Encoding::Linkedlist));
            }
            if (2..7).contains(&v) {
                wanted.push((KeyType::List, Encoding::Ziplist));
            }
            if v >= 11 {
                wanted.push((KeyType::List, Encoding::Listpack));
                wanted.push((KeyType::Set, Encoding::Listpack));
            }
            if v >= 9 {
                wanted.push((KeyType::Stream, Encoding::Stream));
            }
            if (12..=13).contains(&v) && header.magic == Magic::Redis {
                wanted.push((KeyType::Hash, Encoding::ListpackEx));
            }
            for w in wanted {
                assert!(
                    seen.contains(&w),
                    "{}: no {w:?} in {seen:?}",
                    header.display()
                );
            }
        }
    }

    #[test]
    fn the_seed_decides_everything() {
        let header = Header::new(Magic::Redis, 11);
        let config = MixConfig::new(header, Shape::Mixed, 3, CLOCK_MS);
        let (a, _) = generate(&config, 100_000);
        let (b, _) = generate(&config, 100_000);
        assert_eq!(a, b);
        let (c, _) = generate(&MixConfig { seed: 4, ..config }, 100_000);
        assert_ne!(a, c);
    }
}
