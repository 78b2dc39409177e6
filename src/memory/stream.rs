//! Streams: the radix trees (`streamRadixTreeMemoryUsage`), node listpacks, consumer groups,
//! consumers and their PELs. The rax node counts are not in the dump; for keys inserted in
//! order they equal the node count of the canonical compressed trie over the 16-byte IDs.

use super::alloc::Allocator;
use super::version::{Generation, ROBJ, STREAM_NACK};
use crate::rdb::stream::{self, StreamVisitor};
use crate::rdb::{Cursor, Error, RdbStr, Record, Result, ValueType};

/// What the accounting needs from a stream record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamLayout {
    /// Master IDs (big-endian ms, seq) of the node listpacks, in order.
    pub node_ids: Vec<[u8; 16]>,
    /// Decoded bytes of each node listpack.
    pub node_bytes: Vec<u64>,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub pel: Vec<[u8; 16]>,
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumer {
    pub name_len: u64,
    pub pel: Vec<[u8; 16]>,
}

/// Collects the layout from the parser's one stream walk.
impl<'a> StreamVisitor<'a> for &mut StreamLayout {
    fn node(&mut self, master_id: RdbStr<'a>, listpack: RdbStr<'a>, end: u64) -> Result<()> {
        let id = master_id.to_cow()?;
        // The walk has already checked the id is 16 bytes.
        self.node_ids.push(
            id.as_ref()
                .try_into()
                .map_err(|_| Error::corrupt(end, "stream node id is not 16 bytes"))?,
        );
        self.node_bytes.push(listpack.len() as u64);
        Ok(())
    }

    fn group(&mut self, _name: RdbStr<'a>) {
        self.groups.push(Group::default());
    }

    fn pending(&mut self, id: &'a [u8]) {
        if let Some(group) = self.groups.last_mut() {
            group.pel.push(id16(id));
        }
    }

    fn consumer(&mut self, name: RdbStr<'a>, pel: &'a [u8]) {
        if let Some(group) = self.groups.last_mut() {
            let pel = pel.chunks_exact(16).map(id16).collect();
            group.consumers.push(Consumer {
                name_len: name.len() as u64,
                pel,
            });
        }
    }
}

fn id16(bytes: &[u8]) -> [u8; 16] {
    bytes.try_into().expect("the walk hands out 16-byte IDs")
}

/// Reads the parts of a stream record the memory model needs.
pub fn layout(record: &Record<'_>) -> Result<StreamLayout> {
    Ok(layout_and_meta(record)?.0)
}

/// [`layout`] and the stream header the same walk reads.
pub fn layout_and_meta(record: &Record<'_>) -> Result<(StreamLayout, stream::StreamMeta)> {
    let mut out = StreamLayout::default();
    let mut meta = stream::StreamMeta::default();
    if let ValueType::Stream(version) = record.value_type {
        let mut c = Cursor::new(record.payload, record.payload_offset);
        meta = stream::walk(&mut c, version, &mut out)?;
    }
    Ok((out, meta))
}

/// Valkey 8.1+ (`raxAllocSize`): what a stream whose entries were all deleted keeps beyond an
/// empty one. Removing the last key of a rax leaves the head node at its allocation: the
/// compressed node that held the first ID's 16 bytes (`raxRemoveChild` turns it into an
/// empty node without shrinking it). Measured on Valkey 8.1 and 9.1: `XADD` + `XDEL` of one
/// entry is 16 bytes above an empty stream with glibc, 24 with a 16-byte-quantum jemalloc.
pub fn emptied_rax_head(s: &StreamLayout, meta: &stream::StreamMeta, alloc: Allocator) -> u64 {
    if !s.node_ids.is_empty() || meta.last_id == (0, 0) {
        return 0;
    }
    alloc.usable(rax_node_bytes(16, 1, false)) - alloc.usable(rax_node_bytes(0, 0, false))
}

/// Visits every node of the compressed radix tree (rax) holding `keys` (distinct, equal
/// length), as in-order inserts build it: its edge bytes, children and whether it holds a
/// value.
fn rax_walk(keys: &[[u8; 16]], visit: &mut impl FnMut(u64, u64, bool)) {
    fn walk(keys: &[&[u8]], visit: &mut impl FnMut(u64, u64, bool)) {
        if keys.is_empty() {
            return visit(0, 0, false);
        }
        if keys.iter().all(|k| k.is_empty()) {
            return visit(0, 0, true);
        }
        let first = keys[0];
        let common = keys[1..].iter().fold(first.len(), |n, k| {
            n.min(
                first
                    .iter()
                    .zip(k.iter())
                    .take_while(|(a, b)| a == b)
                    .count(),
            )
        });
        if common > 0 {
            visit(common as u64, 1, false);
            let tails: Vec<&[u8]> = keys.iter().map(|k| &k[common..]).collect();
            return walk(&tails, visit);
        }
        let mut edges = 0;
        let mut start = 0;
        while start < keys.len() {
            let byte = keys[start].first();
            let mut end = start + 1;
            while end < keys.len() && keys[end].first() == byte {
                end += 1;
            }
            let tails: Vec<&[u8]> = keys[start..end].iter().map(|k| &k[1..]).collect();
            walk(&tails, visit);
            edges += 1;
            start = end;
        }
        visit(edges, edges, false);
    }
    let mut sorted: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    sorted.sort_unstable();
    sorted.dedup();
    walk(&sorted, visit)
}

/// Node count of the rax holding `keys`.
pub fn rax_nodes(keys: &[[u8; 16]]) -> u64 {
    let mut nodes = 0;
    rax_walk(keys, &mut |_, _, _| nodes += 1);
    nodes
}

/// Bytes of one rax node (`raxNodeCurrentLength`): a 4-byte header, the edge bytes padded
/// to pointer alignment, one child pointer (compressed) or one per edge (branch), and the
/// value pointer of a key node.
fn rax_node_bytes(edge_bytes: u64, children: u64, has_value: bool) -> u64 {
    let padding = (8 - (edge_bytes + 4) % 8) % 8;
    4 + edge_bytes + padding + 8 * children + if has_value { 8 } else { 0 }
}

/// Allocated bytes of a rax holding `keys` (each with a value): the struct (head, element
/// and node counts, allocation size) and every node, as Valkey's `raxAllocSize` tracks them.
pub fn rax_alloc_size(keys: &[[u8; 16]], alloc: Allocator) -> u64 {
    let mut total = alloc.usable(32);
    rax_walk(keys, &mut |edge_bytes, children, has_value| {
        total += alloc.usable(rax_node_bytes(edge_bytes, children, has_value))
    });
    total
}

/// `streamRadixTreeMemoryUsage`: 16 bytes per element and 244 per node (the rax struct is
/// not counted).
fn rax_usage(keys: &[[u8; 16]]) -> u64 {
    16 * keys.len() as u64 + 244 * rax_nodes(keys)
}

/// The value part of `MEMORY USAGE` for a stream (robj included), all listpacks walked.
/// From 6.2, `XADD` creates each node listpack with `prealloc` bytes (`stream-node-max-bytes`,
/// at most 4096) and shrinks it only when the node is full, so the last node keeps that
/// allocation on the writing server.
pub fn stream_value(
    generation: Generation,
    alloc: Allocator,
    s: &StreamLayout,
    prealloc: u64,
) -> u64 {
    let structs = generation.structs();
    let rax = |keys: &[[u8; 16]]| {
        if generation.is_valkey_hashtable() {
            rax_alloc_size(keys, alloc)
        } else {
            rax_usage(keys)
        }
    };
    let mut total = ROBJ + structs.stream + rax(&s.node_ids);
    let last = s.node_bytes.len().saturating_sub(1);
    for (i, &bytes) in s.node_bytes.iter().enumerate() {
        total += if generation == Generation::Redis60 {
            bytes
        } else if i == last {
            alloc.usable(bytes.max(prealloc))
        } else {
            alloc.usable(bytes)
        };
    }
    for g in &s.groups {
        total += structs.stream_cg + rax(&g.pel) + STREAM_NACK * g.pel.len() as u64;
        for consumer in &g.consumers {
            total += structs.stream_consumer + consumer.name_len + rax(&consumer.pel);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&ms.to_be_bytes());
        out[8..].copy_from_slice(&seq.to_be_bytes());
        out
    }

    #[test]
    fn rax_node_counts() {
        assert_eq!(rax_nodes(&[]), 1);
        assert_eq!(rax_nodes(&[id(1, 0)]), 2);
        // two IDs differing in the last byte: prefix node, branch node, two leaves
        assert_eq!(rax_nodes(&[id(1, 0), id(1, 1)]), 4);
    }

    #[test]
    fn rax_allocations() {
        // empty: struct 32 -> 40 and an 8-byte root -> 24 with glibc
        assert_eq!(rax_alloc_size(&[], Allocator::Libc), 64);
        // one key: a 16-byte compressed node (32 -> 40) and a leaf (16 -> 24)
        assert_eq!(rax_alloc_size(&[id(5, 0)], Allocator::Libc), 40 + 40 + 24);
    }

    #[test]
    fn one_entry_stream_matches_the_worked_example() {
        // `XADD s1 * a 1` on 7.2: 16 + 80 + R(1, 2) + J(lp) with a listpack of ~30 bytes
        let s = StreamLayout {
            node_ids: vec![id(1_700_000_000_000, 0)],
            node_bytes: vec![30],
            groups: vec![],
        };
        assert_eq!(
            stream_value(Generation::Redis72, Allocator::Jemalloc, &s, 0),
            632
        );
        assert_eq!(
            stream_value(Generation::Redis72, Allocator::Jemalloc, &s, 4096),
            632 - 32 + 4096
        );
    }
}
