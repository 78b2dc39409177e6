//! The analysis pipeline: batches of records from the splitter are inspected on rayon
//! workers and folded into mergeable aggregates.

pub mod aggregate;
pub mod diff;
pub mod filter;
pub mod gaps;
pub mod glob;
pub mod hash_tags;
pub mod headroom;
pub mod inventory;
pub mod patterns;
pub mod pipeline;
pub mod shards;
pub mod slots;
pub mod summary;

pub use aggregate::{Aggregate, KeyFacts, Settings, Stats};
pub use filter::Filter;
pub use gaps::{Damage, Gaps, SkippedKeys};
pub use glob::Glob;
pub use inventory::{Inventory, KeyCounts};
pub use patterns::{PatternSettings, PatternTree, Rule};
pub use summary::{InputSummary, Summary};
