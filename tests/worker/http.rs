//! /metrics, /healthz, /readyz, and a graceful shutdown that loses nothing.

use std::time::Duration;

use dmumatch::pb::Encoding;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let mut app = spawn_app().await;
    let addr = app.worker().http_addr();
    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    let (status, body) = http_get(addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    app.publish_contact(&created(contact("c-1", 1)), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;
    // The relay counts a confirm once it has it (after we may have the message).
    app.wait_count("SELECT count(*) FROM outbox_pending", 0, WAIT)
        .await;
    let q = app.contacts_queue();
    let (status, metrics) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        format!(
            "dmumatch_events_total{{queue=\"{q}\",type=\"contact.created\",outcome=\"processed\"}} 1"
        ),
        format!("dmumatch_processing_seconds_bucket{{queue=\"{q}\",le=\"0.005\"}}"),
        format!("dmumatch_batch_size_count{{queue=\"{q}\"}} 1"),
        "dmumatch_published_total{result=\"ack\"}".to_owned(),
        "dmumatch_outbox_backlog".to_owned(),
    ] {
        assert!(metrics.contains(&needle), "{needle} missing:\n{metrics}");
    }
    // No personal data in metrics.
    assert!(!metrics.contains("acme-test.nl") && !metrics.contains("Jansen"));

    // Shutdown: not ready any more, at once.
    app.worker().stop();
    assert!(!app.worker().readiness().ready());
    if let Ok(Ok(mut s)) = tokio::time::timeout(
        Duration::from_millis(100),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = s
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf);
        assert!(text.is_empty() || text.contains(" 503 "), "{text}");
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_requeues_what_it_has_not_started_and_loses_nothing() {
    const N: i64 = 3000;
    let mut app = spawn_app_with(|s| {
        s.config.batch_size = 100;
        s.config.prefetch = 200;
    })
    .await;
    let crm = app.config.topology.crm_exchange.clone();
    let messages = (0..N)
        .map(|i| {
            (
                crm.clone(),
                "contact.created".to_owned(),
                Encoding::Protobuf.encode(&created(contact(&format!("c-{i}"), 1))),
                Encoding::Protobuf,
            )
        })
        .collect();
    app.publish_many(messages).await;
    // Stop in the middle of the stream.
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.count("SELECT count(*) FROM inbox").await < 200 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.stop_worker().await;
    let processed = app.count("SELECT count(*) FROM inbox").await;
    let queued = i64::from(app.queue_len(&app.contacts_queue()).await);
    assert_eq!(
        processed + queued,
        N,
        "processed {processed}, requeued {queued}"
    );
    assert!(queued > 0, "stopped before the end of the stream");
    // The relay's last pass published what was committed.
    assert_eq!(app.count("SELECT count(*) FROM outbox_pending").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox").await,
        processed,
        "one contactEnriched per processed event"
    );

    // A new worker takes the rest; every event took effect once.
    app.restart_worker().await;
    app.wait_count("SELECT count(*) FROM inbox", N, Duration::from_secs(120))
        .await;
    app.wait_count(
        "SELECT count(DISTINCT id) FROM outbox_published, unnest(ids) AS id",
        N,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, N);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_refuses_a_database_it_has_not_migrated() {
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut config = dmumatch::config::WorkerConfig::from_env();
    config.connections.amqp_url = AMQP_URL.into();
    config.connections.database_url = format!("{PG}/{prefix}");
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    config.topology.queue_prefix = prefix.clone();
    config.migrate_on_start = false;
    let _cleanup = Cleanup {
        config: config.clone(),
        db: prefix.clone(),
    };
    let run = |config| async move {
        let stop = tokio_util::sync::CancellationToken::new();
        let worker = dmumatch::worker::Worker::start(config, stop).await.unwrap();
        tokio::time::timeout(WAIT, worker.stopped())
            .await
            .expect("the worker gives up at once")
            .unwrap_err()
            .to_string()
    };
    // No database at all.
    let err = run(config.clone()).await;
    assert!(
        err.contains("does not exist") && err.contains("dmumatch migrate"),
        "{err}"
    );
    // A database without the schema.
    connect("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE \"{prefix}\""))
        .await
        .unwrap();
    let err = run(config.clone()).await;
    assert!(
        err.contains("version 0") && err.contains("dmumatch migrate"),
        "{err}"
    );
    // `dmumatch migrate` does it; then the worker starts.
    dmumatch::db::migrate(&config.connections).await.unwrap();
    dmumatch::db::check_schema(&config.connections)
        .await
        .unwrap();
}
