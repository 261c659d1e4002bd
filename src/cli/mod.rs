//! File adapters of the core: `evaluate`, `classify`, `rules`. No broker, no database.

pub mod classify;
pub mod contacts_csv;
pub mod evaluate;
pub mod json;
pub mod report;
pub mod rules;
pub mod summary;
