//! Streams (rdb-format.md §4.7): the outer walk every reader needs to find the record's end,
//! and the node listpack decoding that only `inspect` does.

use super::cursor::Cursor;
use super::error::Result;
use super::listpack::{self, Listpack, ListpackIter};
use super::primitives::{Element, RdbStr};

/// What the outer walk of a stream sees without opening its node listpacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamMeta {
    pub nodes: u64,
    /// Live entries, as the stream header states (`XLEN`).
    pub length: u64,
    pub last_id: (u64, u64),
    pub groups: u64,
    /// Entries pending in all groups' PELs.
    pub pending: u64,
    pub consumers: u64,
    /// Bytes of all node listpacks, decompressed.
    pub node_bytes: u64,
}

/// What a stream walk reports beyond `StreamMeta`. Every method defaults to nothing, so the
/// splitter pays only for the lengths it must read; a closure is a visitor of nodes only.
pub trait StreamVisitor<'a> {
    /// A node: its master-id string, its listpack string, and the file offset where the
    /// listpack string ends.
    fn node(&mut self, _master_id: RdbStr<'a>, _listpack: RdbStr<'a>, _end: u64) -> Result<()> {
        Ok(())
    }
    /// The start of a consumer group.
    fn group(&mut self, _name: RdbStr<'a>) {}
    /// One entry of the current group's PEL: a 16-byte big-endian ID.
    fn pending(&mut self, _id: &'a [u8]) {}
    /// A consumer of the current group and its PEL, `16 × n` bytes of IDs.
    fn consumer(&mut self, _name: RdbStr<'a>, _pel: &'a [u8]) {}
}

impl<'a, F: FnMut(RdbStr<'a>, RdbStr<'a>, u64) -> Result<()>> StreamVisitor<'a> for F {
    fn node(&mut self, master_id: RdbStr<'a>, listpack: RdbStr<'a>, end: u64) -> Result<()> {
        self(master_id, listpack, end)
    }
}

/// Walks a stream value of format `version` (1..=4), telling `visitor` what it meets.
pub fn walk<'a>(
    c: &mut Cursor<'a>,
    version: u8,
    mut visitor: impl StreamVisitor<'a>,
) -> Result<StreamMeta> {
    let mut meta = StreamMeta {
        nodes: c.rdb_count(2, "stream node count")?,
        ..Default::default()
    };
    for _ in 0..meta.nodes {
        let master = c.rdb_string("stream node id")?;
        if master.len() != 16 {
            return Err(c.corrupt(format!("stream node id of {} bytes, not 16", master.len())));
        }
        let listpack = c.rdb_string("stream node listpack")?;
        meta.node_bytes += listpack.len() as u64;
        visitor.node(master, listpack, c.offset())?;
    }
    meta.length = c.rdb_len("stream length")?;
    meta.last_id = (c.rdb_len("stream last id")?, c.rdb_len("stream last id")?);
    if version >= 2 {
        // first id, max deleted id (ms and seq each), entries added
        for _ in 0..5 {
            c.rdb_len("stream counters")?;
        }
    }
    meta.groups = c.rdb_count(3, "stream group count")?;
    for _ in 0..meta.groups {
        visitor.group(c.rdb_string("consumer group name")?);
        c.rdb_len("consumer group last id")?;
        c.rdb_len("consumer group last id")?;
        if version >= 2 {
            c.rdb_len("consumer group entries read")?;
        }
        let pel = c.rdb_count(25, "group PEL size")?;
        for _ in 0..pel {
            visitor.pending(c.bytes(16, "PEL entry")?);
            c.skip(8, "PEL delivery time")?;
            c.rdb_len("PEL delivery count")?;
        }
        meta.pending += pel;
        let consumers = c.rdb_count(10, "consumer count")?;
        for _ in 0..consumers {
            let name = c.rdb_string("consumer name")?;
            c.skip(if version >= 3 { 16 } else { 8 }, "consumer times")?;
            let owned = c.rdb_count(16, "consumer PEL size")?;
            visitor.consumer(name, c.bytes(owned * 16, "consumer PEL")?);
        }
        meta.consumers += consumers;
    }
    if version >= 4 {
        c.rdb_len("stream IDMP duration")?;
        c.rdb_len("stream IDMP max entries")?;
        let producers = c.rdb_count(2, "stream IDMP producer count")?;
        for _ in 0..producers {
            c.skip_rdb_string("stream IDMP producer id")?;
            let iids = c.rdb_count(3, "stream IDMP id count")?;
            for _ in 0..iids {
                c.skip_rdb_string("stream IDMP id")?;
                c.rdb_len("stream IDMP entry id")?;
                c.rdb_len("stream IDMP entry id")?;
            }
        }
        c.rdb_len("stream IDMP ids added")?;
        c.rdb_len("stream IDMP duplicates")?;
    }
    Ok(meta)
}

/// Entry counts of one node listpack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounts {
    pub live: u64,
    pub deleted: u64,
}

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// Master field names a node's walk keeps for its SAMEFIELDS entries.
const KEPT_FIELDS: usize = 16;

/// A node's live and deleted entry counts from the start of its master entry alone (the
/// listpack header and two integers of at most 10 bytes each), decompressing nothing more.
/// `None` where a walk must tell (anything that does not decode).
pub fn node_counts_in_header(listpack: RdbStr<'_>) -> Option<NodeCounts> {
    // an integer entry is at most 9 bytes and a 1-byte back-length
    let mut buf = [0; listpack::HEADER_LEN + 2 * 10];
    let len = listpack.len().min(buf.len());
    let prefix = listpack.prefix(&mut buf[..len])?;
    let [live, deleted] = Listpack::leading_ints(prefix, listpack.len())?;
    let (live, deleted) = (u64::try_from(live).ok()?, u64::try_from(deleted).ok()?);
    // every entry takes at least its flags, ID and lp-count: four entries of two bytes
    (live.checked_add(deleted)? <= listpack.len() as u64 / 8)
        .then_some(NodeCounts { live, deleted })
}

/// Decodes one node listpack: the master entry, then every entry, checking each entry's
/// `lp_count`; `on_value` sees the field and value of every live entry.
pub fn decode_node<'b>(
    listpack: &'b [u8],
    base: u64,
    mut on_value: impl FnMut(Element<'b>, Element<'b>),
) -> Result<NodeCounts> {
    let lp = Listpack::new(listpack, base)?;
    let mut items = lp.iter();
    let take = |items: &mut ListpackIter<'b>, what: &str| -> Result<Element<'b>> {
        items.next().unwrap_or_else(|| {
            Err(super::error::Error::corrupt(
                base,
                format!("stream node ends before {what}"),
            ))
        })
    };
    let int = |e: Element<'_>, what: &str| -> Result<i64> {
        e.as_int().ok_or_else(|| {
            super::error::Error::corrupt(base, format!("stream {what} is not an integer"))
        })
    };
    let mut next = |what: &str| take(&mut items, what);
    let count = int(next("master count")?, "master count")?;
    let deleted = int(next("master deleted count")?, "master deleted count")?;
    let master_fields = int(next("master field count")?, "master field count")?;
    if count < 0 || deleted < 0 || master_fields < 0 || master_fields as usize > listpack.len() {
        return Err(super::error::Error::corrupt(
            base,
            "stream master entry counts out of range",
        ));
    }
    // SAMEFIELDS entries reuse the master field names. Up to `KEPT_FIELDS` are kept on the
    // stack (re-reading them for every entry was a third of a stream's walk); more are
    // re-read from the listpack, so hostile counts cannot make anything allocate.
    let fields = items.clone();
    let kept = master_fields as usize <= KEPT_FIELDS;
    let mut names = [Element::Int(0); KEPT_FIELDS];
    for i in 0..master_fields as usize {
        let name = take(&mut items, "master field")?;
        if kept && let Some(slot) = names.get_mut(i) {
            *slot = name;
        }
    }
    let mut next = |what: &str| take(&mut items, what);
    if int(next("master terminator")?, "master terminator")? != 0 {
        return Err(super::error::Error::corrupt(
            base,
            "stream master entry not terminated by 0",
        ));
    }
    let mut counts = NodeCounts::default();
    let total = (count + deleted) as u64;
    for _ in 0..total {
        let flags = int(next("entry flags")?, "entry flags")?;
        next("entry id")?;
        next("entry id")?;
        let live = flags & FLAG_DELETED == 0;
        let expected_count = if flags & FLAG_SAMEFIELDS != 0 {
            let mut again = fields.clone();
            for i in 0..master_fields as usize {
                let field = match names.get(i) {
                    Some(&name) if kept => name,
                    _ => take(&mut again, "master field")?,
                };
                let value = next("entry value")?;
                if live {
                    on_value(field, value);
                }
            }
            master_fields + 3
        } else {
            let n = int(next("entry field count")?, "entry field count")?;
            if n < 0 || n as usize > listpack.len() {
                return Err(super::error::Error::corrupt(
                    base,
                    "stream entry field count out of range",
                ));
            }
            for _ in 0..n {
                let field = next("entry field")?;
                let value = next("entry value")?;
                if live {
                    on_value(field, value);
                }
            }
            2 * n + 4
        };
        if int(next("entry lp-count")?, "entry lp-count")? != expected_count {
            return Err(super::error::Error::corrupt(
                base,
                "stream entry lp-count mismatch",
            ));
        }
        if live {
            counts.live += 1;
        } else {
            counts.deleted += 1;
        }
    }
    if let Some(extra) = items.next() {
        extra?;
        return Err(super::error::Error::corrupt(
            base,
            "stream node has entries after the last one",
        ));
    }
    if counts.live != count as u64 || counts.deleted != deleted as u64 {
        return Err(super::error::Error::corrupt(
            base,
            "stream node entry counts do not match its master entry",
        ));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::blob::{CompactBuilder, ListpackBuilder};

    /// A node of one entry with the master's field, its master entry claiming `live` entries.
    fn node(live: i64) -> Vec<u8> {
        ListpackBuilder::new()
            .int(live)
            .int(0)
            .int(1)
            .string(b"field")
            .int(0)
            .int(FLAG_SAMEFIELDS)
            .int(0)
            .int(0)
            .string(b"value")
            .int(4)
            .finish()
    }

    #[test]
    fn counts_in_the_header_are_the_walks_and_hostile_ones_are_left_to_it() {
        let intact = node(1);
        let walked = decode_node(&intact, 0, |_, _| {}).unwrap();
        assert_eq!(node_counts_in_header(RdbStr::Raw(&intact)), Some(walked));
        // More entries than the node has room for, up to a count whose sum overflows: the
        // walk must decide (and refuses them). Fewer are taken on the checksum's word.
        for live in [1000, i64::MAX] {
            let hostile = node(live);
            assert_eq!(node_counts_in_header(RdbStr::Raw(&hostile)), None, "{live}");
            assert!(decode_node(&hostile, 0, |_, _| {}).is_err());
        }
    }
}
