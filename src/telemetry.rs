//! Logging: JSON lines on stderr, filtered by `RUST_LOG` (default `info`).
//! Never log personal data (emails, names, titles): log ids and counts.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// `json = false` gives compact human-readable lines (the CLI on a terminal).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
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
