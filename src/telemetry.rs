//! Logging: JSON lines on stderr, filtered by `RUST_LOG` (default `info`).
//! Never log personal data (emails, names, titles): log ids and counts.

use tracing::{Level, Metadata};
use tracing_subscriber::{EnvFilter, filter::filter_fn, fmt, prelude::*};

/// Dependencies that log the data passing through them below `info`:
/// tokio-postgres logs every statement's bind parameters (emails, titles) at
/// debug, lapin and amq-protocol log frames, message bodies included, at
/// trace. They stay at `info` at most, whatever `RUST_LOG` asks for.
const DATA_TARGETS: &[&str] = &[
    "tokio_postgres",
    "postgres_protocol",
    "deadpool_postgres",
    "lapin",
    "amq_protocol",
];

/// Whether an event may be logged at all (see [`DATA_TARGETS`]).
pub fn may_log(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || !DATA_TARGETS.iter().any(|t| meta.target().starts_with(t))
}

/// `json = false` gives compact human-readable lines (the CLI on a terminal).
pub fn init(json: bool) {
    init_with_default(json, "info");
}

/// [`init`] with another level than `info` when `RUST_LOG` is unset.
pub fn init_with_default(json: bool, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(filter_fn(may_log));
    // A second init (tests) is harmless; ignore the error.
    let _ = if json {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(fmt::layer().compact().with_writer(std::io::stderr))
            .try_init()
    };
}
