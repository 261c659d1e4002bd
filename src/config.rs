//! Configuration from the environment (contract: `AMQP_URL`, `DATABASE_URL`,
//! `HTTP_ADDR`, `RUST_LOG`; the rest is ours and documented in the README).
//! Every setting is also a flag, so `dmumatch worker --help` is the reference.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use crate::pb::Encoding;

/// Where the broker and the database are.
#[derive(Args, Clone, Debug)]
pub struct Connections {
    /// RabbitMQ URL; `amqps://` for TLS. `AMQP_URL_FILE` reads it from a file.
    #[arg(
        long,
        env = "AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// PostgreSQL URL; `sslmode=require` for TLS. `DATABASE_URL_FILE` reads it from a file.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/dmumatch"
    )]
    pub database_url: String,
    /// PEM bundle of extra CA certificates for TLS to the broker and the database
    /// (the system roots are always trusted).
    #[arg(long, env = "DMUMATCH_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Connections in the PostgreSQL pool.
    #[arg(long, env = "DMUMATCH_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: usize,
}

impl Connections {
    /// Secrets may come from files (Kubernetes secret volumes): `X_FILE` wins over `X`.
    pub fn resolve_secret_files(&mut self) -> std::io::Result<()> {
        for (var, slot) in [
            ("AMQP_URL_FILE", &mut self.amqp_url),
            ("DATABASE_URL_FILE", &mut self.database_url),
        ] {
            if let Some(path) = std::env::var_os(var) {
                *slot = std::fs::read_to_string(path)?.trim().to_owned();
            }
        }
        Ok(())
    }
}

/// Names on the broker; the contract fixes the defaults, deployments may rename.
#[derive(Args, Clone, Debug)]
pub struct Topology {
    #[arg(long, env = "DMUMATCH_CRM_EXCHANGE", default_value = "crm.events")]
    pub crm_exchange: String,
    #[arg(
        long,
        env = "DMUMATCH_CAMPAIGN_EXCHANGE",
        default_value = "campaign.events"
    )]
    pub campaign_exchange: String,
    #[arg(
        long,
        env = "DMUMATCH_DECISIONS_EXCHANGE",
        default_value = "dmu.decisions"
    )]
    pub decisions_exchange: String,
    /// Prefix of dmumatch's own queues and dead-letter exchange.
    #[arg(long, env = "DMUMATCH_QUEUE_PREFIX", default_value = "dmumatch")]
    pub queue_prefix: String,
    /// Deliveries of one message before it is dead-lettered (quorum `x-delivery-limit`).
    #[arg(long, env = "DMUMATCH_DELIVERY_LIMIT", default_value_t = 5)]
    pub delivery_limit: u32,
}

/// The long-running worker.
#[derive(Args, Clone, Debug)]
pub struct WorkerConfig {
    #[command(flatten)]
    pub connections: Connections,
    #[command(flatten)]
    pub topology: Topology,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:9464")]
    pub http_addr: SocketAddr,
    /// Encoding of published decision events: protobuf or json.
    #[arg(long, env = "DMUMATCH_OUTPUT_ENCODING", default_value = "protobuf")]
    pub output_encoding: Encoding,
    /// Unacknowledged deliveries per consumer (the main backpressure valve).
    #[arg(long, env = "DMUMATCH_PREFETCH", default_value_t = 500)]
    pub prefetch: u16,
    /// Deliveries handled in one database transaction.
    #[arg(long, env = "DMUMATCH_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: usize,
    /// Longest wait to fill a batch, in milliseconds.
    #[arg(long, env = "DMUMATCH_BATCH_WAIT_MS", default_value_t = 20)]
    pub batch_wait_ms: u64,
    /// Larger message bodies are dead-lettered unread.
    #[arg(long, env = "DMUMATCH_MAX_MESSAGE_BYTES", default_value_t = 1 << 20)]
    pub max_message_bytes: usize,
    /// Apply pending migrations at start (otherwise refuse to run on an old schema).
    #[arg(long, env = "DMUMATCH_MIGRATE_ON_START", default_value_t = false)]
    pub migrate_on_start: bool,
    /// How often decisions past their validUntil are decided again, in seconds.
    #[arg(long, env = "DMUMATCH_SWEEP_INTERVAL_SECS", default_value_t = 60)]
    pub sweep_interval_secs: u64,
    /// On SIGTERM, how long in-flight work may take before the worker exits, in seconds.
    #[arg(long, env = "DMUMATCH_SHUTDOWN_TIMEOUT_SECS", default_value_t = 20)]
    pub shutdown_timeout_secs: u64,
    /// Outstanding publisher confirms of the outbox relay.
    #[arg(long, env = "DMUMATCH_CONFIRM_WINDOW", default_value_t = 1000)]
    pub confirm_window: usize,
    /// A rules file replacing the built-in one.
    #[arg(long, env = "DMUMATCH_RULES_FILE")]
    pub rules_file: Option<PathBuf>,
}

impl WorkerConfig {
    pub fn batch_wait(&self) -> Duration {
        Duration::from_millis(self.batch_wait_ms)
    }
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs)
    }
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}
