//! What each fuzz target checks, shared with `tests/regressions.rs`, which replays every input
//! a target once failed on. Beyond "no panic, no hang, no huge allocation" (libFuzzer's own
//! checks): every error offset lies within the input, the splitter's records are exact slices
//! of it, walkers agree with themselves, and LZF agrees with a plain reference decoder.
#![allow(dead_code)] // each fuzz target uses one check; the regression test uses them all

use std::borrow::Cow;

use rdbscope::rdb::intset::Intset;
use rdbscope::rdb::listpack::Listpack;
use rdbscope::rdb::ziplist::Ziplist;
use rdbscope::rdb::zipmap::Zipmap;
use rdbscope::rdb::{
    self, Context, Cursor, Entry, Header, Item, Magic, Record, Records, Scratch, ValueType,
    inspect, lzf, module, records, walk_value,
};

fn within(e: &rdb::Error, input: &[u8]) {
    assert!(
        e.offset <= input.len() as u64,
        "error offset {} past the {}-byte input: {e}",
        e.offset,
        input.len()
    );
}

/// The record splitter alone: entries tile the file, payloads are slices of it, the trailer
/// is where EOF says.
pub fn splitter(data: &[u8]) {
    split(data, |_, _| {});
}

/// A whole dump as `rdbscope info` walks it: the splitter, then every record inspected.
pub fn dump(data: &[u8]) {
    let Ok(ctx) = Context::for_dump(data) else {
        return;
    };
    let mut scratch = Scratch::default();
    split(data, |record, data| {
        if let Err(e) = inspect(record, &ctx, &mut scratch) {
            within(&e, data);
        }
    });
}

fn split(data: &[u8], mut on_record: impl FnMut(&Record<'_>, &[u8])) {
    let mut records = match Records::new(data) {
        Ok(records) => records,
        Err(e) => return within(&e, data),
    };
    let header = *records.header();
    loop {
        let start = records.offset();
        let Some(entry) = records.next() else { break };
        match entry {
            Ok(Entry::Key(record)) => {
                let at = record.payload_offset as usize;
                let end = at + record.payload.len();
                assert_eq!(record.offset, start, "a record starts where its entry does");
                assert_eq!(
                    &data[at..end],
                    record.payload,
                    "the payload is the file's bytes"
                );
                assert_eq!(record.offset + record.rdb_bytes, end as u64);
                assert_eq!(
                    records.offset(),
                    end as u64,
                    "the next entry follows the payload"
                );
                on_record(&record, data);
            }
            Ok(Entry::Other(Item::Eof {
                offset,
                checksum,
                trailing_bytes,
            })) => {
                let trailer = if header.has_checksum() { 8 } else { 0 };
                assert_eq!(offset + 1 + trailer + trailing_bytes, data.len() as u64);
                if let Some(stored) = checksum
                    && let Err(e) = records::verify_checksum(data, offset, stored, None)
                {
                    within(&e, data);
                }
            }
            Ok(Entry::Other(_)) => assert!(records.offset() > start, "an entry has bytes"),
            Err(e) => within(&e, data),
        }
    }
}

pub fn ziplist(data: &[u8]) {
    match Ziplist::new(data, 0) {
        Ok(zl) => elements(data, zl.validate(), zl.iter()),
        Err(e) => within(&e, data),
    }
}

pub fn listpack(data: &[u8]) {
    match Listpack::new(data, 0) {
        Ok(lp) => elements(data, lp.validate(), lp.iter()),
        Err(e) => within(&e, data),
    }
}

pub fn zipmap(data: &[u8]) {
    match Zipmap::new(data, 0) {
        Ok(zm) => elements(data, zm.validate(), zm.iter()),
        Err(e) => within(&e, data),
    }
}

/// An iteration agrees with `validate`: the same count, or an error at the same place.
fn elements<T>(
    data: &[u8],
    validated: rdb::Result<u64>,
    iter: impl Iterator<Item = rdb::Result<T>>,
) {
    let mut n = 0u64;
    for element in iter {
        match element {
            Ok(_) => n += 1,
            Err(e) => {
                within(&e, data);
                assert_eq!(validated.err(), Some(e));
                return;
            }
        }
    }
    assert_eq!(validated, Ok(n));
}

pub fn intset(data: &[u8]) {
    match Intset::new(data, 0) {
        Ok(set) => {
            assert_eq!(set.iter().count() as u64, set.len());
            if let Err(e) = set.validate() {
                within(&e, data);
            }
        }
        Err(e) => within(&e, data),
    }
}

/// The first two bytes are the declared length (LE), the rest the compressed data.
pub fn lzf(data: &[u8]) {
    let [lo, hi, input @ ..] = data else {
        return;
    };
    let original_len = usize::from(u16::from_le_bytes([*lo, *hi]));
    let mut out = Vec::new();
    let ours = lzf::decompress_into(input, original_len, 0, &mut out);
    match (ours, lzf::decompress_bytewise(input, original_len)) {
        (Ok(()), Some(expected)) => assert_eq!(out, expected),
        (Ok(()), None) => panic!("accepted data the reference decoder rejects"),
        (Err(e), Some(_)) => panic!("rejected data the reference decoder accepts: {e}"),
        (Err(e), None) => within(&e, data),
    }
}

/// The first byte picks the stream format (1 to 4), the rest is a stream value.
pub fn stream(data: &[u8]) {
    let [selector, payload @ ..] = data else {
        return;
    };
    let version = selector % 4 + 1;
    let type_byte = [15, 19, 21, 26][usize::from(version - 1)];
    value(ValueType::Stream(version), type_byte, payload);
}

/// A module value (type 7) through its framing, and the bare framing.
pub fn module(data: &[u8]) {
    if let Err(e) = module::skip_framed(&mut Cursor::new(data, 0)) {
        within(&e, data);
    }
    value(ValueType::Module2, 7, data);
}

/// A value as the splitter frames it, then as a worker walks and inspects it.
fn value(value_type: ValueType, type_byte: u8, payload: &[u8]) {
    let mut c = Cursor::new(payload, 0);
    if let Err(e) = records::skip_value(&mut c, value_type) {
        return within(&e, payload);
    }
    let framed = &payload[..c.pos()];
    let record = Record {
        db: 0,
        key: Cow::Borrowed(b"k"),
        value_type,
        type_byte,
        payload: framed,
        payload_offset: 0,
        offset: 0,
        rdb_bytes: framed.len() as u64,
        expire_at_ms: None,
        idle_s: None,
        freq: None,
        compression_seen: false,
    };
    let ctx = Context::new(
        Header {
            magic: Magic::Redis,
            version: 13,
            len: 9,
        },
        None,
    );
    let mut scratch = Scratch::default();
    if let Err(e) = walk_value(&record, &ctx, &mut scratch, &mut |_| {}) {
        within(&e, payload);
    }
    if let Err(e) = inspect(&record, &ctx, &mut scratch) {
        within(&e, payload);
    }
}
