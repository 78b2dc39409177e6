//! The analysis pipeline: batches of records from the splitter are inspected on rayon
//! workers and folded into mergeable aggregates.

pub mod filter;
pub mod gaps;
pub mod glob;
pub mod inventory;
pub mod pipeline;

pub use filter::Filter;
pub use gaps::{Damage, Gaps, SkippedKeys};
pub use glob::Glob;
pub use inventory::{Inventory, KeyCounts};
