//! `dmumatch worker`: RabbitMQ in, PostgreSQL state, decision events out.
//!
//! Tasks: one consumer per input queue (batches → one transaction → one
//! multiple ack), the outbox relay (publisher confirms), the sweep
//! (`validUntil`), a database probe and the HTTP endpoints. A supervisor
//! rebuilds the AMQP session (connection, topology, channels, consumers,
//! relay) with exponential backoff whenever any of it fails.
//!
//! Library entry: [`Worker::start`] returns a [`WorkerHandle`]; cancel the
//! token to stop (as SIGTERM does): `/readyz` turns 503, consumers stop and
//! requeue what they have not started, the batch in flight finishes, the
//! relay makes a last pass, channels and connection close.

pub mod consume;
pub mod decide;
pub mod decode;
pub mod metrics;
pub mod process;
pub mod relay;
pub mod sweep;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use futures_util::StreamExt;
use lapin::{
    Connection,
    options::{BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions},
    types::FieldTable,
};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::amqp::{self, AmqpError, topology};
use crate::config::WorkerConfig;
use crate::db::{self, DbError};
use crate::engine::{Classifier, RuleSet};
use crate::http::{self, Readiness};
use consume::{Backoff, QueueConsumer, QueueKind, sleep_or_stop};
use process::{Clock, Ctx};
use relay::Relay;
use sweep::Sweeper;

/// Outbox relay passes in flight at once (each on its own confirm channel
/// and database connection): one commits while the next publishes.
const RELAY_PASSES: usize = 2;

/// Why a worker task stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error(transparent)]
    AmqpSetup(#[from] AmqpError),
    #[error("the broker cancelled the consumer of {0}")]
    ConsumerEnded(String),
    #[error("dead-lettering failed: {0}")]
    DeadLetter(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Task(String),
}

/// What tests (and embedders) may replace.
#[derive(Clone)]
pub struct Options {
    /// `asOf` of every decision; the system clock by default.
    pub clock: Clock,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(Utc::now),
        }
    }
}

/// A running worker.
pub struct WorkerHandle {
    http_addr: SocketAddr,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl WorkerHandle {
    /// Where /metrics, /healthz and /readyz answer (the bound port, if
    /// `HTTP_ADDR` asked for port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }
    /// Starts a graceful shutdown (as SIGTERM does).
    pub fn stop(&self) {
        self.readiness.set_draining();
        self.stop.cancel();
    }
    /// Waits until the worker has stopped.
    pub async fn stopped(self) -> anyhow::Result<()> {
        self.task.await.context("worker task")?
    }
}

pub struct Worker;

impl Worker {
    pub async fn start(
        config: WorkerConfig,
        stop: CancellationToken,
    ) -> anyhow::Result<WorkerHandle> {
        Self::start_with(config, stop, Options::default()).await
    }

    /// Binds the HTTP address and starts everything in the background; the
    /// database and the broker are waited for (with `/readyz` at 503).
    pub async fn start_with(
        config: WorkerConfig,
        stop: CancellationToken,
        options: Options,
    ) -> anyhow::Result<WorkerHandle> {
        config.validate().map_err(anyhow::Error::msg)?;
        let rules: &'static RuleSet = match &config.rules_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                // Loaded once per process start; lives as long as the process.
                Box::leak(Box::new(RuleSet::from_toml(&text)?))
            }
            None => RuleSet::embedded(),
        };
        if config.erasure_pepper.is_empty() {
            tracing::warn!(
                "DMUMATCH_ERASURE_PEPPER is not set: erased contacts are kept as unsalted hashes"
            );
        }
        let metrics = http::metrics_handle();
        let readiness = Arc::new(Readiness::default());
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding HTTP_ADDR {}", config.http_addr))?;
        let http_addr = listener.local_addr()?;
        let http_stop = CancellationToken::new();
        tokio::spawn(http::serve(
            listener,
            http::router(metrics, readiness.clone()),
            http_stop.clone(),
        ));
        let ctx = Arc::new(Ctx {
            pool: db::pool(&config.connections)?,
            rules,
            classifier: Classifier::embedded(),
            encoding: config.output_encoding,
            clock: options.clock,
            pepper: config.erasure_pepper.clone(),
            fanout_page: config.fanout_page,
            outbox_written: Arc::new(Notify::new()),
        });
        let task = {
            let readiness = readiness.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let result = main(config, ctx, readiness, stop).await;
                http_stop.cancel();
                result
            })
        };
        tracing::info!(%http_addr, "worker started");
        Ok(WorkerHandle {
            http_addr,
            readiness,
            stop,
            task,
        })
    }
}

/// `dmumatch worker`: runs until SIGTERM or SIGINT.
pub async fn run(mut config: WorkerConfig) -> anyhow::Result<()> {
    config.resolve_pepper_file()?;
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            stop.cancel();
        }
    });
    Worker::start(config, stop).await?.stopped().await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn main(
    config: WorkerConfig,
    ctx: Arc<Ctx>,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    tokio::spawn({
        let (stop, readiness) = (stop.clone(), readiness.clone());
        async move {
            stop.cancelled().await;
            readiness.set_draining();
        }
    });

    // The database first: schema checked (or migrated) before any message.
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let prepared = if config.migrate_on_start {
            db::migrate_database(&config.connections).await
        } else {
            db::check_schema(&config.connections).await
        };
        match prepared {
            Ok(()) => break,
            Err(e @ (DbError::Schema(_) | DbError::Config(_))) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "database not reachable yet");
                if !sleep_or_stop(backoff.next_delay(), &stop).await {
                    return Ok(());
                }
            }
        }
    }
    readiness.set_db(true);

    let background = CancellationToken::new();
    let probe = tokio::spawn(probe_database(
        ctx.clone(),
        readiness.clone(),
        background.clone(),
    ));
    let sweeper = tokio::spawn(
        Sweeper {
            ctx: ctx.clone(),
            interval: config.sweep_interval(),
            outbox_retention: Duration::from_secs(config.outbox_retention_hours * 3600),
            inbox_retention: Duration::from_secs(config.inbox_retention_days * 86_400),
        }
        .run(background.clone()),
    );

    let supervised = supervise(&config, &ctx, &readiness, &stop);
    tokio::pin!(supervised);
    let deadline = async {
        stop.cancelled().await;
        tokio::time::sleep(config.shutdown_timeout()).await;
    };
    tokio::select! {
        () = &mut supervised => {}
        () = deadline => tracing::warn!(
            "shutdown deadline passed; unfinished deliveries return to the queue"
        ),
    }
    background.cancel();
    let _ = probe.await;
    let _ = sweeper.await;
    tracing::info!("worker stopped");
    Ok(())
}

/// Rebuilds the AMQP session until stopped.
async fn supervise(
    config: &WorkerConfig,
    ctx: &Arc<Ctx>,
    readiness: &Arc<Readiness>,
    stop: &CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    let mut attempt = 0u64;
    while !stop.is_cancelled() {
        if attempt > 0 {
            ::metrics::counter!(metrics::RECONNECTS).increment(1);
        }
        attempt += 1;
        let mut established = false;
        let result = session(config, ctx, readiness, stop, &mut established).await;
        readiness.set_amqp(false);
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, established, "AMQP session ended; reconnecting");
                if established {
                    backoff.reset();
                }
                if !sleep_or_stop(backoff.next_delay(), stop).await {
                    return;
                }
            }
        }
    }
}

/// The name the broker shows for our consuming connection: which deployment
/// (queue prefix), which host and process, so an operator (or a test) can
/// find it. The publishing connection is named `dmumatch-publisher …`.
pub fn connection_name(config: &WorkerConfig) -> String {
    connection_name_as("dmumatch-worker", config)
}

fn connection_name_as(role: &str, config: &WorkerConfig) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    format!(
        "{role} {} {host}:{}",
        config.topology.queue_prefix,
        std::process::id()
    )
}

/// One AMQP session: connect, declare, consume and relay until stopped or
/// until something fails.
async fn session(
    config: &WorkerConfig,
    ctx: &Arc<Ctx>,
    readiness: &Arc<Readiness>,
    stop: &CancellationToken,
    established: &mut bool,
) -> Result<(), WorkerError> {
    let c = &config.connections;
    let ca = c.ca_file.as_deref();
    let conn = amqp::connect(&c.amqp_url, ca, &connection_name(config)).await?;
    // Publishing on a connection of its own: under a resource alarm RabbitMQ
    // stops reading from connections that publish, and acknowledgements on
    // the same connection would stall with them, so the queues could not
    // drain.
    let publisher = match amqp::connect(
        &c.amqp_url,
        ca,
        &connection_name_as("dmumatch-publisher", config),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            amqp::close_connection(&conn).await;
            return Err(e.into());
        }
    };
    let result = run_session(config, ctx, readiness, stop, established, &conn, &publisher).await;
    amqp::close_connection(&publisher).await;
    amqp::close_connection(&conn).await;
    result
}

async fn run_session(
    config: &WorkerConfig,
    ctx: &Arc<Ctx>,
    readiness: &Arc<Readiness>,
    stop: &CancellationToken,
    established: &mut bool,
    conn: &Connection,
    publisher: &Connection,
) -> Result<(), WorkerError> {
    // lapin reports a lost connection here at once. The consumers notice only
    // at their next call on it, after the batch in flight: /readyz must not
    // claim a broker meanwhile, and nothing they still do can reach it.
    let mut events =
        futures_util::stream::select(conn.events_listener(), publisher.events_listener());
    let t = &config.topology;
    let declared = topology::declare(conn, t).await?;
    if !declared.at_least_once {
        // (either the broker refused at-least-once, or a queue declared with
        // other arguments is kept as it is: the warnings above say which)
        tracing::warn!("dead-lettering may be at-most-once on at least one input queue");
    }

    let consumers_stop = stop.child_token();
    let mut consumers = JoinSet::new();
    for q in topology::input_queues(t) {
        // A confirm channel of its own: lapin numbers a publish and queues its
        // frames under separate locks, so two consumers dead-lettering at once
        // on one channel could each be handed the other's confirm.
        let dlq_channel = publisher.create_channel().await?;
        dlq_channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let channel = conn.create_channel().await?;
        channel
            .basic_qos(config.prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("dmumatch-{}", uuid::Uuid::new_v4().simple());
        let stream = channel
            .basic_consume(
                q.name.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let kind = if q.exchange == t.campaign_exchange {
            QueueKind::Campaigns
        } else {
            QueueKind::Contacts
        };
        let consumer = QueueConsumer {
            queue: q.name.clone(),
            kind,
            dead_letter_exchange: t.dead_letter_exchange(),
            channel,
            consumer_tag: tag,
            dlq_channel,
            ctx: ctx.clone(),
            readiness: readiness.clone(),
            batch_size: config.batch_size,
            batch_wait: config.batch_wait(),
            max_message_bytes: config.max_message_bytes,
            confirm_timeout: config.confirm_timeout(),
        };
        consumers.spawn(consumer.run(stream, consumers_stop.clone()));
    }

    let mut relay_channels = Vec::with_capacity(RELAY_PASSES);
    for _ in 0..RELAY_PASSES {
        let channel = publisher.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        relay_channels.push(channel);
    }
    // The relay stops after the consumers, so its last pass sees their last batch.
    let relay_stop = CancellationToken::new();
    // Aborted if this session is dropped (the shutdown deadline passed):
    // a detached relay would hold the connection open and run on.
    let mut relay = AbortOnDropHandle::new(tokio::spawn(
        Relay {
            ctx: ctx.clone(),
            channels: relay_channels,
            exchange: t.decisions_exchange.clone(),
            window: config.confirm_window,
            confirm_timeout: config.confirm_timeout(),
            poll: config.relay_poll(),
            drain_deadline: config.shutdown_timeout() / 2,
            readiness: readiness.clone(),
        }
        .run(relay_stop.clone()),
    ));
    readiness.set_amqp(true);
    *established = true;
    tracing::info!("AMQP session established");

    let flatten = |joined: Result<Result<(), WorkerError>, tokio::task::JoinError>| {
        joined.unwrap_or_else(|e| Err(WorkerError::Task(format!("task failed: {e}"))))
    };
    let mut failure: Option<WorkerError> = None;
    let mut relay_done = false;
    loop {
        tokio::select! {
            joined = consumers.join_next() => match joined {
                None => break,
                Some(r) => if let Err(e) = flatten(r) {
                    failure.get_or_insert(e);
                    consumers_stop.cancel();
                },
            },
            r = &mut relay, if !relay_done => {
                relay_done = true;
                if let Err(e) = flatten(r) {
                    failure.get_or_insert(e);
                    consumers_stop.cancel();
                }
            }
            // A channel closed with an error is reported here too; that one
            // ends through its own task.
            Some(event) = events.next() => if let lapin::Event::Error(e) = event
                && !(conn.status().connected() && publisher.status().connected())
            {
                readiness.set_amqp(false);
                failure.get_or_insert(e.into());
                // A consumer's batch (a whole fan-out, say) would otherwise run
                // to its end before its ack fails. Dropped, its transaction
                // rolls back; what committed unacknowledged is redelivered and
                // found in the inbox. The relay is not aborted: if the
                // publishing connection is the one lost, lapin fails its
                // confirms at once; if not, its last pass below publishes
                // what is committed (within the drain deadline).
                consumers.abort_all();
            },
        }
    }
    relay_stop.cancel();
    if !relay_done && let Err(e) = flatten(relay.await) {
        failure.get_or_insert(e);
    }
    match failure {
        Some(e) => Err(e),
        None if stop.is_cancelled() => Ok(()),
        None => Err(WorkerError::Task("session ended without a stop".into())),
    }
}

/// Keeps `/readyz` honest while no message flows.
async fn probe_database(ctx: Arc<Ctx>, readiness: Arc<Readiness>, stop: CancellationToken) {
    loop {
        let ok = tokio::time::timeout(Duration::from_secs(3), async {
            let client = ctx.pool.get().await.ok()?;
            client.simple_query("SELECT 1").await.ok()
        })
        .await
        .ok()
        .flatten()
        .is_some();
        readiness.set_db(ok);
        if !sleep_or_stop(Duration::from_secs(2), &stop).await {
            return;
        }
    }
}
