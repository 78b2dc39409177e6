//! rdbscope: offline memory analysis of Redis and Valkey RDB snapshots.
//!
//! Data flows one way: `rdb` (the format) -> `analyze` (the pipeline) -> `report` (the
//! outputs); `commands` wires them together for each subcommand. `synth` writes dumps for
//! tests and benchmarks.

pub mod advise;
pub mod analyze;
pub mod cleanup;
pub mod commands;
pub mod error;
pub mod input;
pub mod memory;
pub mod rdb;
pub mod report;
pub mod swar;
pub mod synth;

pub use error::Error;
