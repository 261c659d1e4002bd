//! File adapters of the core: `evaluate`, `classify`, `rules`. No broker, no database.

pub mod classify;
pub mod evaluate;
pub mod rules;
