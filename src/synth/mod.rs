//! Synthetic dumps: an RDB encoder for every format the parser reads (`writer`, with the blob
//! builders in `blob` and the values it takes in `value`), and a seeded generator of realistic
//! datasets (`mix`). Tests, benchmarks and the `gen_dump` example use it; the parser does not.

pub mod blob;
pub mod mix;
pub mod rng;
pub mod value;
pub mod writer;

#[cfg(test)]
mod round_trip;

pub use rng::Rng;
pub use value::{
    Consumer, ConsumerGroup, Field, KeyRecord, PendingEntry, Stream, StreamEntry, StreamId, Value,
};
pub use writer::{Options, RdbWriter, WriteError};
