//! Test harness: a worker in-process against the real RabbitMQ and
//! PostgreSQL, with its own database and its own exchange and queue names,
//! removed again when the test ends (also when it fails).

#[path = "../common/metrics.rs"]
mod metrics;
pub use metrics::metric_value;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dmumatch::config::WorkerConfig;
use dmumatch::engine::{self, Classifier, RuleSet};
use dmumatch::pb::{self, Encoding};
use dmumatch::worker::{Options, Worker, WorkerHandle};
use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    message::BasicGetMessage,
    options::*,
    types::{AMQPValue, FieldTable},
};
use prost::Message;
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const PG: &str = "postgres://postgres@127.0.0.1:5432";

/// The `asOf` of the dev scenarios; the default test clock.
pub fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// What a test may change before the worker starts.
pub struct Setup {
    pub config: WorkerConfig,
    /// The binding key of the test's listener on the decisions exchange.
    pub bind: &'static str,
}

/// A decision-exchange message as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub routing_key: String,
    pub properties: BasicProperties,
    pub event: pb::DecisionEvent,
}

impl Received {
    pub fn decided(&self) -> Option<&pb::EligibilityDecided> {
        match &self.event.event {
            Some(pb::decision_event::Event::EligibilityDecided(d)) => Some(d),
            _ => None,
        }
    }
    pub fn enriched(&self) -> Option<&pb::ContactEnriched> {
        match &self.event.event {
            Some(pb::decision_event::Event::ContactEnriched(e)) => Some(e),
            _ => None,
        }
    }
    pub fn summary(&self) -> Option<&pb::CampaignAudienceEvaluated> {
        match &self.event.event {
            Some(pb::decision_event::Event::CampaignAudienceEvaluated(s)) => Some(s),
            _ => None,
        }
    }
}

pub struct TestApp {
    pub db_name: String,
    pub config: WorkerConfig,
    pub clock: Arc<Mutex<DateTime<Utc>>>,
    pub worker: Option<WorkerHandle>,
    pub stop: CancellationToken,
    pub amqp: Connection,
    pub publisher: Channel,
    pub db: Client,
    decisions: lapin::Consumer,
    listen_queue: String,
    cleaned: bool,
}

/// A fresh worker with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A fresh worker; `tweak` adjusts the configuration first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Setup)) -> TestApp {
    init_tracing();
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut config = WorkerConfig::from_env();
    config.connections.amqp_url = AMQP_URL.into();
    config.connections.database_url = format!("{PG}/{prefix}");
    config.connections.db_pool_size = 4;
    config.topology.crm_exchange = format!("{prefix}.crm.events");
    config.topology.campaign_exchange = format!("{prefix}.campaign.events");
    config.topology.decisions_exchange = format!("{prefix}.dmu.decisions");
    config.topology.queue_prefix = prefix.clone();
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    config.migrate_on_start = true;
    config.sweep_interval_secs = 3600;
    config.shutdown_timeout_secs = 10;
    config.relay_poll_ms = 100;
    config.erasure_pepper = "test-pepper".into();
    let mut setup = Setup { config, bind: "#" };
    tweak(&mut setup);
    let Setup { config, bind } = setup;

    let amqp = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .expect("RabbitMQ on 127.0.0.1:5672");
    let publisher = amqp.create_channel().await.unwrap();
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    // Bind our listener before the worker publishes anything.
    let listen = amqp.create_channel().await.unwrap();
    listen
        .exchange_declare(
            config.topology.decisions_exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let q = listen
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    listen
        .queue_bind(
            q.name().clone(),
            config.topology.decisions_exchange.as_str().into(),
            bind.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let decisions = listen
        .basic_consume(
            q.name().clone(),
            "test".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();

    let clock = Arc::new(Mutex::new(as_of()));
    let stop = CancellationToken::new();
    let options = Options {
        clock: {
            let clock = clock.clone();
            Arc::new(move || *clock.lock().unwrap())
        },
    };
    let worker = Worker::start_with(config.clone(), stop.clone(), options)
        .await
        .expect("worker starts");
    wait_ready(&worker).await;
    // Ready means migrated: the database exists now.
    let db = connect(&prefix).await;
    TestApp {
        db_name: prefix,
        config,
        clock,
        worker: Some(worker),
        stop,
        amqp,
        publisher,
        db,
        decisions,
        listen_queue: q.name().to_string(),
        cleaned: false,
    }
}

async fn wait_ready(worker: &WorkerHandle) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !worker.readiness().ready() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "worker not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn connect(db: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(&format!("{PG}/{db}"), NoTls)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    tokio::spawn(conn);
    client
}

fn init_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            dmumatch::telemetry::init(false);
        }
    });
}

impl TestApp {
    pub fn worker(&self) -> &WorkerHandle {
        self.worker.as_ref().expect("worker running")
    }

    pub async fn wait_ready(&self) {
        wait_ready(self.worker()).await;
    }

    pub fn set_clock(&self, t: DateTime<Utc>) {
        *self.clock.lock().unwrap() = t;
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.clock.lock().unwrap()
    }

    pub fn contacts_queue(&self) -> String {
        self.config.topology.contacts_queue()
    }
    pub fn rights_queue(&self) -> String {
        self.config.topology.rights_queue()
    }
    pub fn campaigns_queue(&self) -> String {
        self.config.topology.campaigns_queue()
    }

    /// Publishes raw bytes with confirms (as any AMQP client would).
    pub async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let mut props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(uuid::Uuid::new_v4().to_string().into());
        if let Some(ct) = content_type {
            props = props.with_content_type(ct.into());
        }
        self.publish_raw_with(exchange, routing_key, props, body)
            .await;
    }

    /// Publishes raw bytes with these properties, with confirms.
    pub async fn publish_raw_with(
        &self,
        exchange: &str,
        routing_key: &str,
        props: BasicProperties,
        body: &[u8],
    ) {
        let confirm = self
            .publisher
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                props,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack());
        assert!(
            confirm.take_message().is_none(),
            "unroutable: {routing_key}"
        );
    }

    /// Publishes without waiting for each confirm (bulk loads).
    pub async fn publish_many(&self, messages: Vec<(String, String, Vec<u8>, Encoding)>) {
        for (exchange, key, body, enc) in messages {
            // Dropped unawaited, a confirm is collected by wait_for_confirms.
            drop(
                self.publisher
                    .basic_publish(
                        exchange.as_str().into(),
                        key.as_str().into(),
                        BasicPublishOptions::default(),
                        &body,
                        BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_content_type(enc.content_type().into()),
                    )
                    .await
                    .unwrap(),
            );
        }
        let returned = self.publisher.wait_for_confirms().await.unwrap();
        assert!(returned.is_empty());
    }

    pub async fn publish_contact(&self, event: &pb::ContactEvent, enc: Encoding) {
        let key = event.event.as_ref().unwrap().routing_key();
        self.publish_raw(
            &self.config.topology.crm_exchange,
            key,
            Some(enc.content_type()),
            &enc.encode(event),
        )
        .await;
    }

    pub async fn publish_campaign(&self, event: &pb::CampaignEvent, enc: Encoding) {
        let key = event.event.as_ref().unwrap().routing_key();
        self.publish_raw(
            &self.config.topology.campaign_exchange,
            key,
            Some(enc.content_type()),
            &enc.encode(event),
        )
        .await;
    }

    /// Binds the test's listener to the decisions exchange with `key` too.
    pub async fn bind(&self, key: &str) {
        let ch = self.amqp.create_channel().await.unwrap();
        ch.queue_bind(
            self.listen_queue.as_str().into(),
            self.config.topology.decisions_exchange.as_str().into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        let _ = ch.close(200, "bye".into()).await;
    }

    /// The next decision-exchange message, or None after `timeout`.
    pub async fn recv(&mut self, timeout: Duration) -> Option<Received> {
        let d = tokio::time::timeout(timeout, self.decisions.next())
            .await
            .ok()??
            .unwrap();
        let ct = d.properties.content_type().as_ref().map(|c| c.as_str());
        let event: pb::DecisionEvent = pb::decode(ct, &d.data).expect("decision event decodes");
        Some(Received {
            routing_key: d.routing_key.to_string(),
            properties: d.properties.clone(),
            event,
        })
    }

    /// Exactly `n` messages (fails after `timeout`).
    pub async fn recv_n(&mut self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv(left).await {
                Some(r) => out.push(r),
                None => panic!(
                    "received {} of {n} messages within {timeout:?}: {:?}",
                    out.len(),
                    out.iter().map(|r| &r.routing_key).collect::<Vec<_>>()
                ),
            }
        }
        out
    }

    /// Whatever arrives within `window` (to show that nothing more does).
    pub async fn quiet(&mut self, window: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + window;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.recv(left).await {
                Some(r) => out.push(r),
                None => return out,
            }
        }
    }

    /// Polls a SQL count until it reaches `want`.
    pub async fn wait_count(&self, sql: &str, want: i64, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = self.count(sql).await;
            if n == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "`{sql}` = {n}, want {want}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.db.query_one(sql, &[]).await.unwrap().get(0)
    }

    /// Takes every message off a queue (basic.get, acked).
    pub async fn drain_queue(&self, queue: &str) -> Vec<BasicGetMessage> {
        let ch = self.amqp.create_channel().await.unwrap();
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            out.push(m);
        }
        out
    }

    /// Ready messages in a queue.
    pub async fn queue_len(&self, queue: &str) -> u32 {
        let ch = self.amqp.create_channel().await.unwrap();
        ch.queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap()
        .message_count()
    }

    pub async fn metrics(&self) -> String {
        http_get(self.worker().http_addr(), "/metrics").await.1
    }

    /// Stops the worker and waits for it.
    pub async fn stop_worker(&mut self) {
        if let Some(w) = self.worker.take() {
            w.stop();
            w.stopped().await.expect("worker stops cleanly");
        }
    }

    /// Starts a new worker on the same names and database.
    pub async fn restart_worker(&mut self) {
        self.stop_worker().await;
        self.stop = CancellationToken::new();
        let clock = self.clock.clone();
        let options = Options {
            clock: Arc::new(move || *clock.lock().unwrap()),
        };
        self.worker = Some(
            Worker::start_with(self.config.clone(), self.stop.clone(), options)
                .await
                .unwrap(),
        );
        self.wait_ready().await;
    }

    /// Stops the worker and removes everything the test created.
    pub async fn cleanup(mut self) {
        self.stop_worker().await;
        cleanup_names(&self.config, &self.db_name).await;
        self.cleaned = true;
    }
}

impl Drop for TestApp {
    /// A failed test still removes its names and database (on a thread of
    /// its own: Drop cannot await).
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        self.stop.cancel();
        let config = self.config.clone();
        let db = self.db_name.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(cleanup_names(&config, &db));
        })
        .join();
    }
}

pub async fn cleanup_names(config: &WorkerConfig, db: &str) {
    if let Ok(conn) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await {
        dmumatch::amqp::topology::delete(&conn, &config.topology, &[]).await;
        let _ = conn.close(200, "bye".into()).await;
    }
    let admin = connect("postgres").await;
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .await;
}

/// Removes a test's names (and database, if any) when dropped, even after a
/// failed assertion.
pub struct Cleanup {
    pub config: WorkerConfig,
    pub db: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (config, db) = (self.config.clone(), self.db.clone());
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(cleanup_names(&config, &db));
        })
        .join();
    }
}

/// A minimal HTTP/1.1 GET: (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// A header of a dead letter, as text.
pub fn header(props: &BasicProperties, key: &str) -> Option<String> {
    props.headers().as_ref()?.inner().get(key).map(|v| match v {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).to_string(),
        AMQPValue::ShortString(s) => s.to_string(),
        other => format!("{other:?}"),
    })
}

// ---- test data ----

pub fn contact(id: &str, version: i64) -> pb::Contact {
    pb::Contact {
        contact_id: id.into(),
        version,
        first_name: "Jan".into(),
        last_name: "Jansen".into(),
        email: format!("{id}@acme-test.nl"),
        job_title: "Hoofd ICT".into(),
        language: "nl".into(),
        country: "NL".into(),
        organisation: Some(pb::Organisation {
            organisation_id: "o-17".into(),
            name: "Acme B.V.".into(),
            country: "NL".into(),
            legal_form: "BV".into(),
            domain: "acme-test.nl".into(),
            employee_count: 120,
            ..Default::default()
        }),
        relationship: pb::relationship::Value::Prospect as i32,
        source: Some(pb::Source {
            kind: pb::source_kind::Value::BusinessCard as i32,
            obtained_at: Some(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap().into()),
            informed_at_collection: true,
            ..Default::default()
        }),
        last_verified_at: Some(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap().into()),
        ..Default::default()
    }
}

pub fn campaign(id: &str, version: i64) -> pb::Campaign {
    pb::Campaign {
        campaign_id: id.into(),
        version,
        name: "ITSM launch".into(),
        brand: "acme-sender".into(),
        sender_country: "NL".into(),
        purpose: "marketing.communications.email".into(),
        channel: pb::channel::Value::Email as i32,
        product_category: "software.itsm".into(),
        dmu_profile: Some(pb::DmuProfile {
            owning_functions: vec!["it".into()],
            target_roles: vec![pb::dmu_role::Value::Decider as i32],
            ..Default::default()
        }),
        legitimate_interest_assessment_ref: "LIA-1".into(),
        ..Default::default()
    }
}

fn event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn contact_event(event: pb::contact_event::Event) -> pb::ContactEvent {
    pb::ContactEvent {
        event_id: event_id(),
        occurred_at: Some(as_of().into()),
        event: Some(event),
    }
}

pub fn created(c: pb::Contact) -> pb::ContactEvent {
    contact_event(pb::contact_event::Event::ContactCreated(
        pb::ContactCreated { contact: Some(c) },
    ))
}

pub fn updated(c: pb::Contact) -> pb::ContactEvent {
    contact_event(pb::contact_event::Event::ContactUpdated(
        pb::ContactUpdated { contact: Some(c) },
    ))
}

pub fn objected(id: &str, s: pb::Suppression) -> pb::ContactEvent {
    contact_event(pb::contact_event::Event::ContactObjected(
        pb::ContactObjected {
            contact_id: id.into(),
            suppression: Some(s),
        },
    ))
}

pub fn erased(id: &str) -> pb::ContactEvent {
    contact_event(pb::contact_event::Event::ContactErased(pb::ContactErased {
        contact_id: id.into(),
    }))
}

pub fn consent_changed(id: &str, c: pb::Consent) -> pb::ContactEvent {
    contact_event(pb::contact_event::Event::ContactConsentChanged(
        pb::ContactConsentChanged {
            contact_id: id.into(),
            consent: Some(c),
        },
    ))
}

pub fn campaign_event(event: pb::campaign_event::Event) -> pb::CampaignEvent {
    pb::CampaignEvent {
        event_id: event_id(),
        occurred_at: Some(as_of().into()),
        event: Some(event),
    }
}

pub fn planned(c: pb::Campaign) -> pb::CampaignEvent {
    campaign_event(pb::campaign_event::Event::CampaignPlanned(
        pb::CampaignPlanned { campaign: Some(c) },
    ))
}

pub fn campaign_updated(c: pb::Campaign) -> pb::CampaignEvent {
    campaign_event(pb::campaign_event::Event::CampaignUpdated(
        pb::CampaignUpdated { campaign: Some(c) },
    ))
}

pub fn cancelled(id: &str) -> pb::CampaignEvent {
    campaign_event(pb::campaign_event::Event::CampaignCancelled(
        pb::CampaignCancelled {
            campaign_id: id.into(),
        },
    ))
}

pub fn objection() -> pb::Suppression {
    pb::Suppression {
        scope: pb::suppression_scope::Value::All as i32,
        reason: pb::suppression_reason::Value::Objection as i32,
        at: Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap().into()),
        ..Default::default()
    }
}

// ---- what the engine says (the tests assert plumbing, not rules) ----

/// The contact as the worker keeps it: without names.
pub fn stored(c: &pb::Contact) -> pb::Contact {
    let mut c = c.clone();
    c.first_name.clear();
    c.last_name.clear();
    c
}

/// `engine::decide` for the contact as the worker keeps it, at `as_of`.
pub fn expected(
    contact: &pb::Contact,
    campaign: &pb::Campaign,
    at: DateTime<Utc>,
) -> pb::EligibilityDecided {
    let c = stored(contact);
    let e = engine::enrich(&c, Classifier::embedded(), RuleSet::embedded());
    engine::decide(&c, &e, campaign, at, RuleSet::embedded())
}

/// The decision without the fields the worker adds.
pub fn outcome_of(d: &pb::EligibilityDecided) -> pb::EligibilityDecided {
    let mut d = d.clone();
    d.decision_id.clear();
    d.decided_at = None;
    d.supersedes_decision_id.clear();
    d
}

/// Whether two decisions have the same outcome (what triggers publication).
pub fn same_outcome(a: &pb::EligibilityDecided, b: &pb::EligibilityDecided) -> bool {
    dmumatch::worker::decide::fingerprint(a) == dmumatch::worker::decide::fingerprint(b)
}

pub fn encode<T: Message>(m: &T) -> Vec<u8> {
    m.encode_to_vec()
}
