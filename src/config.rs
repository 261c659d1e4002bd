//! Configuration from the environment (contract: `AMQP_URL`, `DATABASE_URL`,
//! `HTTP_ADDR`, `RUST_LOG`; the rest is ours and documented in the README).
//! Every setting is also a flag, so `dmumatch worker --help` is the reference.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use crate::pb::Encoding;

/// The contract's defaults.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/dmumatch";

/// Where the broker and the database are. The URLs carry passwords, so they
/// come only from the environment or from files, never from flags (a
/// process's arguments are visible to every user of the machine):
/// `AMQP_URL` / `AMQP_URL_FILE`, `DATABASE_URL` / `DATABASE_URL_FILE`,
/// read by [`Connections::resolve_secret_files`].
#[derive(Args, Clone, Debug)]
pub struct Connections {
    /// RabbitMQ URL; `amqps://` for TLS.
    #[arg(skip = DEFAULT_AMQP_URL.to_owned())]
    pub amqp_url: String,
    /// PostgreSQL URL; `sslmode=require` (or `verify-ca`, `verify-full`) for TLS.
    #[arg(skip = DEFAULT_DATABASE_URL.to_owned())]
    pub database_url: String,
    /// PEM bundle of extra CA certificates for TLS to the broker and the database
    /// (the system roots are always trusted).
    #[arg(long, env = "DMUMATCH_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Connections in the PostgreSQL pool.
    #[arg(long, env = "DMUMATCH_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: usize,
}

/// The settings that are secrets: read only from the environment or from a
/// file (`X_FILE`), never flags, never logged. (`scripts/helm_check.py`
/// reads this list: the chart must pass them from a Secret.)
pub const SECRET_VARS: &[&str] = &["AMQP_URL", "DATABASE_URL", "DMUMATCH_ERASURE_PEPPER"];
/// The files that hold them (Kubernetes secret volumes), in the same order.
const SECRET_FILE_VARS: &[&str] = &[
    "AMQP_URL_FILE",
    "DATABASE_URL_FILE",
    "DMUMATCH_ERASURE_PEPPER_FILE",
];

/// `X_FILE` (a file holding the value, e.g. a Kubernetes secret volume),
/// else `X`, else None.
pub fn secret_from_env(var: &str) -> std::io::Result<Option<String>> {
    let file_var = SECRET_VARS
        .iter()
        .position(|v| *v == var)
        .map(|i| SECRET_FILE_VARS[i])
        .expect("a secret listed in SECRET_VARS");
    if let Some(path) = std::env::var_os(file_var) {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            // The path, not the content, in the message.
            std::io::Error::new(e.kind(), format!("{file_var} {}: {e}", path.display()))
        })?;
        return Ok(Some(text.trim().to_owned()));
    }
    Ok(std::env::var(var).ok())
}

impl Connections {
    /// Reads `AMQP_URL` and `DATABASE_URL` (or their `_FILE` forms) from the
    /// environment; unset, the contract's defaults stay.
    pub fn resolve_secret_files(&mut self) -> std::io::Result<()> {
        for (var, slot) in [
            ("AMQP_URL", &mut self.amqp_url),
            ("DATABASE_URL", &mut self.database_url),
        ] {
            if let Some(v) = secret_from_env(var)? {
                *slot = v;
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

impl Topology {
    /// Contact data: `contact.created`, `contact.updated`.
    pub fn contacts_queue(&self) -> String {
        format!("{}.contacts", self.queue_prefix)
    }
    /// Data-subject rights: objections, erasures, consent changes. A queue of
    /// their own so that they never wait behind a backlog of updates.
    pub fn rights_queue(&self) -> String {
        format!("{}.contact-rights", self.queue_prefix)
    }
    /// `campaign.*`.
    pub fn campaigns_queue(&self) -> String {
        format!("{}.campaigns", self.queue_prefix)
    }
    /// The dead-letter exchange (direct; routing key = the source queue).
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.queue_prefix)
    }
    /// The dead-letter queue of an input queue.
    pub fn dead_letter_queue(queue: &str) -> String {
        format!("{queue}.dlq")
    }
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
    /// At least the batch size; twice it lets the next batch arrive while one
    /// is being written.
    #[arg(long, env = "DMUMATCH_PREFETCH", default_value_t = 1000)]
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
    /// Outstanding publisher confirms of one outbox relay pass (two passes run at once).
    #[arg(long, env = "DMUMATCH_CONFIRM_WINDOW", default_value_t = 1000)]
    pub confirm_window: usize,
    /// A rules file replacing the built-in one.
    #[arg(long, env = "DMUMATCH_RULES_FILE")]
    pub rules_file: Option<PathBuf>,
    /// Longest wait for a publisher confirm, in seconds; then the message is retried.
    #[arg(long, env = "DMUMATCH_CONFIRM_TIMEOUT_SECS", default_value_t = 30)]
    pub confirm_timeout_secs: u64,
    /// How often the outbox relay looks for rows written by other replicas, in
    /// milliseconds (rows written by this process wake it at once).
    #[arg(long, env = "DMUMATCH_RELAY_POLL_MS", default_value_t = 250)]
    pub relay_poll_ms: u64,
    /// Published outbox rows are deleted after this many hours.
    #[arg(long, env = "DMUMATCH_OUTBOX_RETENTION_HOURS", default_value_t = 24)]
    pub outbox_retention_hours: u64,
    /// Inbox rows (processed event ids) are deleted after this many days; a
    /// redelivery older than that is no longer recognised as a duplicate
    /// (version gating still keeps stale contact and campaign data out).
    #[arg(long, env = "DMUMATCH_INBOX_RETENTION_DAYS", default_value_t = 14)]
    pub inbox_retention_days: u64,
    /// Contacts read per page when a campaign is decided for its whole audience.
    #[arg(long, env = "DMUMATCH_FANOUT_PAGE", default_value_t = 2000)]
    pub fanout_page: usize,
    /// Secret mixed into the hashes kept of erased contacts (id and email).
    /// Set it once and keep it: with another value, erased contacts are no
    /// longer recognised on re-import. Only from `DMUMATCH_ERASURE_PEPPER`
    /// or the file named by `DMUMATCH_ERASURE_PEPPER_FILE`.
    #[arg(skip)]
    pub erasure_pepper: String,
}

impl WorkerConfig {
    /// The defaults, with the environment applied (as `dmumatch worker` with no flags).
    /// Panics if a `*_FILE` secret cannot be read.
    pub fn from_env() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: WorkerConfig,
        }
        let mut config = <Wrapper as clap::Parser>::parse_from(["dmumatch"]).config;
        config
            .connections
            .resolve_secret_files()
            .expect("secret files readable");
        config.resolve_pepper_file().expect("secret files readable");
        config
    }

    /// `DMUMATCH_ERASURE_PEPPER_FILE` wins over `DMUMATCH_ERASURE_PEPPER`.
    pub fn resolve_pepper_file(&mut self) -> std::io::Result<()> {
        if let Some(v) = secret_from_env("DMUMATCH_ERASURE_PEPPER")? {
            self.erasure_pepper = v;
        }
        Ok(())
    }

    /// Settings that cannot work together.
    pub fn validate(&self) -> Result<(), String> {
        // A URL that cannot work stops the start, not every reconnection.
        crate::amqp::parse_url(&self.connections.amqp_url).map_err(|e| e.to_string())?;
        crate::db::parse_url(&self.connections.database_url).map_err(|e| e.to_string())?;
        if self.batch_size == 0 || self.fanout_page == 0 || self.confirm_window == 0 {
            return Err("batch size, fan-out page and confirm window must be above 0".into());
        }
        let t = &self.topology;
        for name in [
            &t.crm_exchange,
            &t.campaign_exchange,
            &t.decisions_exchange,
            &t.queue_prefix,
        ] {
            // AMQP names are short strings (255 bytes), and queue names add
            // suffixes such as ".contact-rights.dlq".
            if name.is_empty() || name.len() > 200 {
                return Err(format!("exchange or queue name {name:?}: 1 to 200 bytes"));
            }
        }
        if usize::from(self.prefetch) < self.batch_size {
            // A batch could never fill: every batch would wait the whole batch_wait.
            return Err(format!(
                "prefetch ({}) must be at least the batch size ({})",
                self.prefetch, self.batch_size
            ));
        }
        Ok(())
    }
    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_secs(self.confirm_timeout_secs)
    }
    pub fn relay_poll(&self) -> Duration {
        Duration::from_millis(self.relay_poll_ms)
    }
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
