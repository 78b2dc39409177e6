//! Outputs: one file per format. Nothing here computes; it only renders what `analyze` made.

pub mod diff_csv;
pub mod diff_json;
pub mod diff_table;
pub mod export;
pub mod info;
pub mod keys_csv;
pub mod output;
pub mod patterns_csv;
pub mod shards_csv;
pub mod suggestions_csv;
pub mod summary_json;
pub mod summary_table;
pub mod top_keys_csv;
pub mod units;
