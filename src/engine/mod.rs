//! The pure core: title classification, enrichment, DMU roles and eligibility.
//!
//! Nothing in here does I/O, reads the clock or draws random numbers: the same
//! inputs always give the same outputs. The worker (`crate::worker`) and the
//! CLI (`crate::cli`) are adapters around it. Rules and lexicons are data files
//! under `data/`, compiled in by default and replaceable at run time.

pub mod dmu;
pub mod eligibility;
pub mod enrich;
pub mod rules;
pub mod taxonomy;
pub mod titles;

pub use eligibility::decide;
pub use enrich::{Enrichment, enrich};
pub use rules::RuleSet;
pub use taxonomy::{Function, Seniority};
pub use titles::{Classification, Classifier};
