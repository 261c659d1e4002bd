//! Command-line adapters of the core: `evaluate`, `classify`, `rules` (files
//! only, no broker, no database), `dlq` (the worker's dead letters), and
//! `bench` (the worker against the local services, timed).

pub mod bench;
pub mod classify;
pub mod contacts_csv;
pub mod dlq;
pub mod evaluate;
pub mod json;
pub mod report;
pub mod rules;
pub mod summary;
