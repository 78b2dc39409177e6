//! Outputs: one file per format. Nothing here computes; it only renders what `analyze` made.

pub mod info;
pub mod keys_csv;
pub mod output;
pub mod units;
