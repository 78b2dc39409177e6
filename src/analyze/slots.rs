//! Redis Cluster hash slots: the slot a key would live in, and per-slot keys and bytes, so
//! a dump of one server (or of a cluster's nodes) can be planned as a cluster. The slot is
//! what the server's `keyHashSlot` computes: CRC-16/XMODEM of the key, or of its hash tag,
//! modulo 16384.

use serde::{Deserialize, Serialize};

use crate::swar::has_byte;

/// Hash slots of a Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection), slicing by 8:
/// `TABLES[k][v]` is the CRC of byte `v` followed by `k` zero bytes, so eight bytes fold
/// with independent lookups (every key is hashed; one lookup a byte was a serial chain).
const TABLES: [[u16; 256]; 8] = crc16_tables();

const fn crc16_tables() -> [[u16; 256]; 8] {
    let mut t = [[0u16; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

pub fn crc16(data: &[u8]) -> u16 {
    // eight bytes a step, then the rest in one step of its length
    let (eights, rest) = data.as_chunks::<8>();
    let crc = eights.iter().fold(0, fold_bytes);
    match rest.len() {
        0 => crc,
        1 => (crc << 8) ^ TABLES[0][usize::from((crc >> 8) as u8 ^ rest[0])],
        2 => fold_bytes::<2>(crc, rest.first_chunk().unwrap()),
        3 => fold_bytes::<3>(crc, rest.first_chunk().unwrap()),
        4 => fold_bytes::<4>(crc, rest.first_chunk().unwrap()),
        5 => fold_bytes::<5>(crc, rest.first_chunk().unwrap()),
        6 => fold_bytes::<6>(crc, rest.first_chunk().unwrap()),
        _ => fold_bytes::<7>(crc, rest.first_chunk().unwrap()),
    }
}

/// The CRC after `N` (2 to 8) more bytes: the CRC's two bytes are absorbed by the first two.
#[inline]
fn fold_bytes<const N: usize>(crc: u16, bytes: &[u8; N]) -> u16 {
    let [hi, lo] = crc.to_be_bytes();
    let head =
        TABLES[N - 1][usize::from(bytes[0] ^ hi)] ^ TABLES[N - 2][usize::from(bytes[1] ^ lo)];
    // a range of constant bounds, so that it unrolls
    (2..N).fold(head, |crc, i| {
        crc ^ TABLES[N - 1 - i][usize::from(bytes[i])]
    })
}

/// The hash tag Redis Cluster hashes instead of the key: what lies between the first `{`
/// and the first `}` after it, when that is not empty.
pub fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = open_brace(key)?;
    let rest = &key[open + 1..];
    let close = memchr::memchr(b'}', rest)?;
    (close > 0).then(|| &rest[..close])
}

/// Where a key's first `{` is. Every key is searched, and for keys this short memchr's setup
/// cost more than the search (one byte at a time more than the CRC): the usual key has none,
/// so its words are tested together, eight bytes a step and no branch a step, and only a key
/// with one is searched byte by byte.
fn open_brace(key: &[u8]) -> Option<usize> {
    let braces = |word: &[u8; 8]| has_byte(u64::from_ne_bytes(*word), b'{');
    let find = || key.iter().position(|&b| b == b'{');
    // the last eight bytes, overlapping the words, cover the rest
    let Some(last) = key.last_chunk() else {
        return find();
    };
    let (words, _) = key.as_chunks::<8>();
    let any = words
        .iter()
        .fold(braces(last), |any, word| any | braces(word));
    if any == 0 { None } else { find() }
}

/// The slot `CLUSTER KEYSLOT key` answers.
pub fn key_slot(key: &[u8]) -> Slot {
    tag_and_slot(key).1
}

/// A key's [`hash_tag`] and slot, found once for all that needs them.
pub fn tag_and_slot(key: &[u8]) -> (Option<&[u8]>, Slot) {
    let tag = hash_tag(key);
    (tag, slot_of(key, tag))
}

/// [`key_slot`] of a key whose [`hash_tag`] is known.
pub fn slot_of(key: &[u8], tag: Option<&[u8]>) -> Slot {
    Slot(crc16(tag.unwrap_or(key)) & (SLOTS as u16 - 1))
}

/// A slot number, below 16384 by construction (also when read from a summary.json), so it
/// always indexes a [`SlotTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Slot(u16);

impl Slot {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl TryFrom<u16> for Slot {
    type Error = String;

    fn try_from(n: u16) -> Result<Slot, String> {
        if usize::from(n) < SLOTS {
            Ok(Slot(n))
        } else {
            Err(format!("slot {n} is not below {SLOTS}"))
        }
    }
}

impl From<Slot> for u16 {
    fn from(s: Slot) -> u16 {
        s.0
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The contiguous slot ranges `redis-cli --cluster create` gives `masters` masters (1 to
/// 16384): its arithmetic to the letter, single-precision float included, so the plan names
/// the slots a new cluster really gets (3 masters: 0-5460, 5461-10922, 10923-16383).
pub fn cluster_create_ranges(masters: usize) -> Vec<(Slot, Slot)> {
    assert!((1..=SLOTS).contains(&masters), "1 to {SLOTS} masters");
    let per_master = SLOTS as f32 / masters as f32;
    let mut cursor = 0f32;
    let mut first = 0u16;
    (0..masters)
        .map(|i| {
            // `lround` rounds halves away from zero, as `f32::round` does.
            let mut last = (cursor + per_master - 1.0).round() as u16;
            if usize::from(last) >= SLOTS || i == masters - 1 {
                last = SLOTS as u16 - 1;
            }
            last = last.max(first);
            let range = (Slot(first), Slot(last));
            first = last + 1;
            cursor += per_master;
            range
        })
        .collect()
}

/// Keys and bytes (memory plus overhead) of one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotLoad {
    pub keys: u64,
    pub bytes: u64,
}

/// One non-empty slot as summary.json lists it: `[slot, keys, bytes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRow(pub Slot, pub u64, pub u64);

/// Keys and bytes of every slot: fixed size, so it merges by addition whatever the key space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotTable(Box<[SlotLoad]>);

impl Default for SlotTable {
    fn default() -> SlotTable {
        SlotTable(vec![SlotLoad::default(); SLOTS].into_boxed_slice())
    }
}

impl SlotTable {
    /// Asks the CPU to bring `slot`'s counters into cache ahead of [`SlotTable::add`]: with
    /// a dump streaming through the caches the table's lines are usually evicted, and
    /// waiting out that miss in `add` was an eighth of `analyze` on a real dump.
    pub fn prefetch(&self, slot: Slot) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint; it cannot fault and reads nothing the program sees.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>((&raw const self.0[slot.index()]).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    pub fn add(&mut self, slot: Slot, bytes: u64) {
        let load = &mut self.0[slot.index()];
        load.keys += 1;
        load.bytes += bytes;
    }

    pub fn merge(&mut self, other: &SlotTable) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            mine.keys += theirs.keys;
            mine.bytes += theirs.bytes;
        }
    }

    pub fn get(&self, slot: Slot) -> SlotLoad {
        self.0[slot.index()]
    }

    /// Keys and bytes of the slots `first..=last`.
    pub fn sum(&self, first: Slot, last: Slot) -> SlotLoad {
        self.0[first.index()..=last.index()]
            .iter()
            .fold(SlotLoad::default(), |sum, l| SlotLoad {
                keys: sum.keys + l.keys,
                bytes: sum.bytes + l.bytes,
            })
    }

    /// The slots holding keys, in slot order, as summary.json lists them.
    pub fn rows(&self) -> Vec<SlotRow> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, l)| l.keys > 0)
            .map(|(i, l)| SlotRow(Slot(i as u16), l.keys, l.bytes))
            .collect()
    }

    pub fn from_rows(rows: &[SlotRow]) -> SlotTable {
        let mut table = SlotTable::default();
        for &SlotRow(slot, keys, bytes) in rows {
            let load = &mut table.0[slot.index()];
            load.keys += keys;
            load.bytes += bytes;
        }
        table
    }
}

/// Which slots one input's keys fall in: a cluster node's dump shows the node's ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRange {
    pub min: Slot,
    pub max: Slot,
    /// Distinct slots holding keys.
    pub distinct: u64,
}

impl SlotRange {
    /// `None` for an input without keys.
    pub fn of(table: &SlotTable) -> Option<SlotRange> {
        let rows = table.rows();
        Some(SlotRange {
            min: rows.first()?.0,
            max: rows.last()?.0,
            distinct: rows.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(key: &str) -> u16 {
        key_slot(key.as_bytes()).into()
    }

    /// The numbers are `CLUSTER KEYSLOT` answers of Redis 7.0.15 (cluster-enabled).
    #[test]
    fn slots_are_the_servers() {
        assert_eq!(crc16(b"123456789"), 0x31c3, "the CRC-16/XMODEM check value");
        // slicing by 8 agrees with one byte at a time, at every length
        let bytewise = |data: &[u8]| {
            data.iter().fold(0u16, |crc, &b| {
                (crc << 8) ^ TABLES[0][usize::from((crc >> 8) as u8 ^ b)]
            })
        };
        let data: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 0..data.len() {
            assert_eq!(crc16(&data[..len]), bytewise(&data[..len]), "length {len}");
        }
        assert_eq!(slot("123456789"), 12739);
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("bar"), 5061);
        assert_eq!(slot("hello"), 866);
        assert_eq!(slot(""), 0);
        assert_eq!(slot("{user1000}.following"), 3443);
        assert_eq!(slot("{user1000}.followers"), 3443);
        // An empty tag hashes the whole key; only the first `{` counts.
        assert_eq!(slot("foo{}{bar}"), 8363);
        assert_eq!(slot("{}"), 15257);
        assert_eq!(slot("foo{{bar}}zap"), 4015);
        assert_eq!(slot("foo{{bar}}zap"), slot("{bar"));
        assert_eq!(slot("foo{bar}{zap}"), 5061);
        assert_eq!(slot("{a"), 10276);
        assert_eq!(slot("a}b{c}"), 7365);
    }

    /// What `redis-cli --cluster create` (7.0.15) printed for fresh masters.
    #[test]
    fn ranges_are_redis_clis() {
        let ranges = |n: usize| -> Vec<(u16, u16)> {
            cluster_create_ranges(n)
                .into_iter()
                .map(|(a, b)| (a.0, b.0))
                .collect()
        };
        assert_eq!(ranges(3), [(0, 5460), (5461, 10922), (10923, 16383)]);
        assert_eq!(
            ranges(5),
            [
                (0, 3276),
                (3277, 6553),
                (6554, 9829),
                (9830, 13106),
                (13107, 16383)
            ]
        );
        assert_eq!(
            ranges(6),
            [
                (0, 2730),
                (2731, 5460),
                (5461, 8191),
                (8192, 10922),
                (10923, 13652),
                (13653, 16383)
            ]
        );
        assert_eq!(
            ranges(7),
            [
                (0, 2340),
                (2341, 4680),
                (4681, 7021),
                (7022, 9361),
                (9362, 11702),
                (11703, 14042),
                (14043, 16383)
            ]
        );
        assert_eq!(ranges(8)[7], (14336, 16383));
        assert_eq!(ranges(1), [(0, 16383)]);
        // Every count tiles the slots: contiguous, no gaps, each master at least one slot.
        for n in [1, 2, 3, 10, 100, 1000, 9999, 16383, SLOTS] {
            let r = ranges(n);
            assert_eq!(r.len(), n);
            assert_eq!(r[0].0, 0);
            assert_eq!(r[n - 1].1, 16383);
            assert!(r.windows(2).all(|w| w[1].0 == w[0].1 + 1), "{n}");
            assert!(r.iter().all(|(a, b)| a <= b), "{n}");
        }
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"{user1000}.following"), Some(&b"user1000"[..]));
        assert_eq!(hash_tag(b"foo{{bar}}zap"), Some(&b"{bar"[..]));
        assert_eq!(hash_tag(b"foo{}{bar}"), None);
        assert_eq!(hash_tag(b"no tag"), None);
        assert_eq!(hash_tag(b"open{only"), None);
    }

    /// The word-at-a-time search against memchr, on random keys of bytes near `{`.
    #[test]
    fn open_brace_is_memchr() {
        let mut rng = crate::synth::rng::Rng::new(9);
        for _ in 0..100_000 {
            let len = rng.below(40) as usize;
            let braces = *rng.pick(&[0, 2, 10, 50]);
            let key: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.percent(braces) {
                        b'{'
                    } else {
                        *rng.pick(&[b'a', b'z', b'|', b'}', 0x00, 0x7f, 0x80, 0xfb, 0xff])
                    }
                })
                .collect();
            assert_eq!(open_brace(&key), memchr::memchr(b'{', &key), "{key:?}");
        }
    }

    #[test]
    fn table_rows_round_trip_and_merge_by_addition() {
        let mut a = SlotTable::default();
        a.add(key_slot(b"foo"), 10);
        a.add(key_slot(b"foo"), 5);
        let mut b = SlotTable::default();
        b.add(key_slot(b"bar"), 7);
        b.add(key_slot(b"foo"), 1);
        a.merge(&b);
        let rows = a.rows();
        assert_eq!(
            rows,
            [SlotRow(Slot(5061), 1, 7), SlotRow(Slot(12182), 3, 16)]
        );
        assert_eq!(SlotTable::from_rows(&rows), a);
        let range = SlotRange::of(&a).unwrap();
        assert_eq!((range.min.0, range.max.0, range.distinct), (5061, 12182, 2));
        assert_eq!(SlotRange::of(&SlotTable::default()), None);
        assert!(serde_json::from_str::<SlotRow>("[16384, 1, 1]").is_err());
        assert_eq!(serde_json::to_string(&rows[0]).unwrap(), "[5061,1,7]");
    }
}
