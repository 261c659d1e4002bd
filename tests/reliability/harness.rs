//! Fault-injection harness: the worker as a separate process (`dmumatch
//! worker`, configured through the environment as in production) against
//! the real RabbitMQ and PostgreSQL, with a fresh database and fresh
//! exchange and queue names per test, removed again when the test ends.
//!
//! Every decision event the workers publish is routed into a durable "wire"
//! queue of the test, so the test can read everything that went out,
//! duplicates included, even across a broker restart.

#[path = "../common/metrics.rs"]
mod metrics;
pub use metrics::metric_value;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dmumatch::amqp::topology;
use dmumatch::config::WorkerConfig;
use dmumatch::pb;
use lapin::{
    BasicProperties, Connection, ConnectionProperties, ExchangeKind, options::*, types::FieldTable,
};
use tokio_postgres::{Client, NoTls};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const PG: &str = "postgres://postgres@127.0.0.1:5432";

/// One message to publish: exchange, routing key, content type, body.
#[derive(Clone, Debug)]
pub struct Msg {
    pub exchange: String,
    pub routing_key: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A decision event as it came off the wire.
#[derive(Clone, Debug)]
pub struct Wire {
    pub routing_key: String,
    pub message_id: String,
    pub body: Vec<u8>,
    pub event: pb::DecisionEvent,
}

impl Wire {
    pub fn decided(&self) -> Option<&pb::EligibilityDecided> {
        match &self.event.event {
            Some(pb::decision_event::Event::EligibilityDecided(d)) => Some(d),
            _ => None,
        }
    }
}

/// Names, database and the test's own AMQP connection.
pub struct Stage {
    pub prefix: String,
    pub config: WorkerConfig,
    pub dir: PathBuf,
    amqp: Option<Connection>,
    cleaned: bool,
}

fn new_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub async fn amqp_connect() -> Connection {
    Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .expect("RabbitMQ on 127.0.0.1:5672")
}

pub async fn pg_connect(db: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(&format!("{PG}/{db}"), NoTls)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    tokio::spawn(conn);
    client
}

impl Stage {
    /// Fresh names and database; the topology and the wire queue are declared
    /// and the schema migrated, so events can be published before any worker
    /// runs.
    pub async fn new() -> Stage {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut WorkerConfig)) -> Stage {
        let prefix = new_prefix();
        let mut config = WorkerConfig::from_env();
        config.connections.amqp_url = AMQP_URL.into();
        config.connections.database_url = format!("{PG}/{prefix}");
        config.connections.db_pool_size = 4;
        config.topology.crm_exchange = format!("{prefix}.crm.events");
        config.topology.campaign_exchange = format!("{prefix}.campaign.events");
        config.topology.decisions_exchange = format!("{prefix}.dmu.decisions");
        config.topology.queue_prefix = prefix.clone();
        config.http_addr = "127.0.0.1:0".parse().unwrap();
        config.sweep_interval_secs = 3600;
        config.shutdown_timeout_secs = 10;
        config.relay_poll_ms = 100;
        config.erasure_pepper = "test-pepper".into();
        tweak(&mut config);
        let dir = std::env::temp_dir().join(format!("dmumatch-{prefix}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut stage = Stage {
            prefix,
            config,
            dir,
            amqp: None,
            cleaned: false,
        };
        stage.declare().await;
        dmumatch::db::migrate(&stage.config.connections)
            .await
            .expect("migrate the test database");
        stage
    }

    /// (Re)declares the topology and the wire queue; after a broker restart too.
    pub async fn declare(&mut self) {
        let conn = amqp_connect().await;
        dmumatch::amqp::topology::declare(&conn, &self.config.topology)
            .await
            .expect("topology");
        let ch = conn.create_channel().await.unwrap();
        ch.exchange_declare(
            self.config.topology.decisions_exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.queue_declare(
            self.wire_queue().as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.queue_bind(
            self.wire_queue().as_str().into(),
            self.config.topology.decisions_exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        self.amqp = Some(conn);
    }

    pub fn wire_queue(&self) -> String {
        format!("{}.wire", self.prefix)
    }

    pub fn db_name(&self) -> &str {
        &self.prefix
    }

    pub async fn db(&self) -> Client {
        pg_connect(&self.prefix).await
    }

    /// The test's own AMQP connection (reopened if the broker dropped it).
    pub async fn amqp(&mut self) -> &Connection {
        if !self.amqp.as_ref().is_some_and(|c| c.status().connected()) {
            self.amqp = Some(amqp_connect().await);
        }
        self.amqp.as_ref().unwrap()
    }

    /// Environment of a worker process on this stage.
    pub fn worker_env(&self) -> Vec<(String, String)> {
        let c = &self.config;
        let t = &c.topology;
        [
            ("AMQP_URL", c.connections.amqp_url.clone()),
            ("DATABASE_URL", c.connections.database_url.clone()),
            ("HTTP_ADDR", c.http_addr.to_string()),
            ("RUST_LOG", "info".into()),
            (
                "DMUMATCH_DB_POOL_SIZE",
                c.connections.db_pool_size.to_string(),
            ),
            ("DMUMATCH_CRM_EXCHANGE", t.crm_exchange.clone()),
            ("DMUMATCH_CAMPAIGN_EXCHANGE", t.campaign_exchange.clone()),
            ("DMUMATCH_DECISIONS_EXCHANGE", t.decisions_exchange.clone()),
            ("DMUMATCH_QUEUE_PREFIX", t.queue_prefix.clone()),
            ("DMUMATCH_DELIVERY_LIMIT", t.delivery_limit.to_string()),
            ("DMUMATCH_PREFETCH", c.prefetch.to_string()),
            ("DMUMATCH_BATCH_SIZE", c.batch_size.to_string()),
            ("DMUMATCH_BATCH_WAIT_MS", c.batch_wait_ms.to_string()),
            (
                "DMUMATCH_MAX_MESSAGE_BYTES",
                c.max_message_bytes.to_string(),
            ),
            (
                "DMUMATCH_SWEEP_INTERVAL_SECS",
                c.sweep_interval_secs.to_string(),
            ),
            (
                "DMUMATCH_SHUTDOWN_TIMEOUT_SECS",
                c.shutdown_timeout_secs.to_string(),
            ),
            ("DMUMATCH_RELAY_POLL_MS", c.relay_poll_ms.to_string()),
            ("DMUMATCH_CONFIRM_WINDOW", c.confirm_window.to_string()),
            (
                "DMUMATCH_CONFIRM_TIMEOUT_SECS",
                c.confirm_timeout_secs.to_string(),
            ),
            ("DMUMATCH_ERASURE_PEPPER", c.erasure_pepper.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts `dmumatch worker` with this stage's environment plus `extra`
    /// (which wins); its stderr (JSON logs) goes to a file.
    pub fn spawn(&self, name: &str, extra: &[(&str, &str)]) -> WorkerProc {
        let mut env: HashMap<String, String> = self.worker_env().into_iter().collect();
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        spawn_worker(&self.dir, name, &env)
    }

    /// Publishes everything with publisher confirms (a window at a time).
    pub async fn publish(&mut self, messages: &[Msg]) {
        let ch = self.amqp().await.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        for chunk in messages.chunks(2000) {
            for m in chunk {
                let mut props = BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_message_id(uuid::Uuid::new_v4().to_string().into());
                if let Some(ct) = &m.content_type {
                    props = props.with_content_type(ct.as_str().into());
                }
                drop(
                    ch.basic_publish(
                        m.exchange.as_str().into(),
                        m.routing_key.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        &m.body,
                        props,
                    )
                    .await
                    .unwrap(),
                );
            }
            let returned = ch.wait_for_confirms().await.unwrap();
            assert!(returned.is_empty(), "unroutable test messages");
        }
        let _ = ch.close(200, "bye".into()).await;
    }

    /// Ready messages in a queue.
    pub async fn queue_len(&mut self, queue: &str) -> u32 {
        let ch = self.amqp().await.create_channel().await.unwrap();
        let n = ch
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .message_count();
        let _ = ch.close(200, "bye".into()).await;
        n
    }

    /// Everything in the wire queue so far (taken off it).
    pub async fn take_wire(&mut self) -> Vec<Wire> {
        let queue = self.wire_queue();
        let ch = self.amqp().await.create_channel().await.unwrap();
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            let d = m.delivery;
            let ct = d.properties.content_type().as_ref().map(|c| c.to_string());
            let event: pb::DecisionEvent =
                pb::decode(ct.as_deref(), &d.data).expect("decision events decode");
            out.push(Wire {
                routing_key: d.routing_key.to_string(),
                message_id: d
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|m| m.to_string())
                    .expect("every decision event has a message_id"),
                body: d.data,
                event,
            });
        }
        let _ = ch.close(200, "bye".into()).await;
        out
    }

    /// Polls a count on the test database until it reaches `want`.
    pub async fn wait_count(&self, db: &Client, sql: &str, want: i64, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n: i64 = db.query_one(sql, &[]).await.unwrap().get(0);
            if n == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "`{sql}` = {n}, want {want} after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn cleanup(mut self) {
        cleanup(&self.config, &self.prefix, &self.dir).await;
        self.cleaned = true;
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        let (config, prefix, dir) = (self.config.clone(), self.prefix.clone(), self.dir.clone());
        // Keep the logs of a failed test for a look.
        eprintln!("test logs kept in {}", dir.display());
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(cleanup_names(&config, &prefix));
        })
        .join();
    }
}

async fn cleanup(config: &WorkerConfig, prefix: &str, dir: &Path) {
    cleanup_names(config, prefix).await;
    let _ = std::fs::remove_dir_all(dir);
}

pub async fn cleanup_names(config: &WorkerConfig, prefix: &str) {
    if let Ok(conn) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await {
        topology::delete(&conn, &config.topology, &[format!("{prefix}.wire")]).await;
        let _ = conn.close(200, "bye".into()).await;
    }
    if let Ok((admin, conn)) = tokio_postgres::connect(&format!("{PG}/postgres"), NoTls).await {
        tokio::spawn(conn);
        let _ = admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{prefix}\" WITH (FORCE)"
            ))
            .await;
    }
}

/// A `dmumatch worker` process.
pub struct WorkerProc {
    pub child: Child,
    pub log: PathBuf,
    http: Option<SocketAddr>,
}

pub fn bin() -> PathBuf {
    std::env::var_os("DMUMATCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dmumatch")))
}

pub fn spawn_worker(dir: &Path, name: &str, env: &HashMap<String, String>) -> WorkerProc {
    let log = dir.join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()));
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(bin())
        .arg("worker")
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("dmumatch worker starts");
    WorkerProc {
        child,
        log,
        http: None,
    }
}

impl WorkerProc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The HTTP address, read from the "worker started" log line.
    pub async fn http(&mut self) -> SocketAddr {
        if let Some(a) = self.http {
            return a;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            for line in self.log_text().lines() {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                    && v["fields"]["message"] == "worker started"
                    && let Some(a) = v["fields"]["http_addr"].as_str()
                {
                    self.http = Some(a.parse().unwrap());
                    return self.http.unwrap();
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("worker exited with {status}:\n{}", self.log_text());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "worker did not start:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// GET on the worker's HTTP address: (status, body); (0, "") if it does not answer.
    pub async fn get(&mut self, path: &str) -> (u16, String) {
        let addr = self.http().await;
        http_get(addr, path).await
    }

    pub async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (status, _) = self.get("/readyz").await;
            if status == 200 {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("worker exited with {status}:\n{}", self.log_text());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "worker not ready within {timeout:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A metric's value (the sum over its series that contain every `labels` part).
    pub async fn metric(&mut self, name: &str, labels: &[&str]) -> f64 {
        let (_, text) = self.get("/metrics").await;
        metric_value(&text, name, labels)
    }

    /// SIGKILL: no drain, no last relay pass, nothing flushed.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A minimal HTTP/1.1 GET: (status, body); (0, "") when nothing answers.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf).to_string();
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        Some((status, body))
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or((0, String::new()))
}

/// Runs a command and returns its stdout; panics with its stderr on failure.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}
