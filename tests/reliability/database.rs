//! PostgreSQL faults confined to the test's own database: its backends
//! terminated again and again, and the database made unreachable for a
//! while. Nothing is acknowledged before it is committed, the consumers wait
//! (with backoff) instead of spinning, and they resume by themselves.

use std::time::Duration;

use crate::checks::*;
use crate::harness::*;
use crate::workload::{Mix, stream};

const LONG: Duration = Duration::from_secs(240);

async fn terminate_backends(admin: &tokio_postgres::Client, db: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND application_name = 'dmumatch'",
            &[&db],
        )
        .await
        .map(|r| r.get(0))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_terminated_again_and_again_lose_nothing() {
    let mut stage = Stage::with(|c| {
        c.batch_size = 100;
        c.prefetch = 200;
    })
    .await;
    let mix = Mix {
        contacts: 2500,
        changes: true,
        tag: "tb",
    };
    let sent = stream(&stage.config.topology, &mix);
    stage.publish(&sent).await;
    let mut w = stage.spawn("worker", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    let admin = pg_connect("postgres").await;
    let name = stage.db_name().to_owned();
    let mut terminated = 0;
    let mut rounds = 0;
    let deadline = tokio::time::Instant::now() + LONG;
    // Every 400 ms, twenty times over (or until the stream is done): often
    // enough to hit commits, batches and relay passes, seldom enough that
    // work gets done in between.
    while rounds < 20 && count(&db, "SELECT count(*) FROM inbox").await < sent.len() as i64 {
        assert!(tokio::time::Instant::now() < deadline);
        terminated += terminate_backends(&admin, &name).await;
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    wait_done(&stage, &db, &sent, LONG).await;
    assert_exactly_once(&db, &stage, &sent).await;
    let wire = stage.take_wire().await;
    let duplicates = assert_wire(&db, &wire).await;
    let errors = w
        .metric("dmumatch_db_errors_total", &["kind=\"unavailable\""])
        .await;
    eprintln!(
        "{} events; {terminated} backends terminated in {rounds} rounds; \
         {errors} database errors; {duplicates} duplicate copies on the wire",
        sent.len()
    );
    assert!(terminated > 0 && errors > 0.0, "the fault never hit");
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_pauses_the_consumers_then_they_resume() {
    let mut stage = Stage::with(|c| {
        c.batch_size = 100;
        c.prefetch = 200;
    })
    .await;
    let mix = Mix {
        contacts: 2500,
        changes: false,
        tag: "ur",
    };
    let sent = stream(&stage.config.topology, &mix);
    stage.publish(&sent).await;
    let db = stage.db().await;
    let admin = pg_connect("postgres").await;
    let name = stage.db_name().to_owned();
    let mut w = stage.spawn("worker", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let deadline = tokio::time::Instant::now() + LONG;
    while count(&db, "SELECT count(*) FROM inbox").await < 300 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Outage: no new connections to this database, the open ones killed.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    terminate_backends(&admin, &name).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = w.get("/readyz").await;
        if status == 503 && body.contains("db=false") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let processed = |text: &str| metric_value(text, "dmumatch_events_total", &[]);
    let errors =
        |text: &str| metric_value(text, "dmumatch_db_errors_total", &["kind=\"unavailable\""]);
    // A batch that committed just before the outage may still be acknowledged
    // (and counted) after /readyz turned: wait until the count stands still.
    let mut before = w.get("/metrics").await.1;
    let settle = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = w.get("/metrics").await.1;
        if processed(&now) == processed(&before) {
            break;
        }
        assert!(tokio::time::Instant::now() < settle, "still acknowledging");
        before = now;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = w.get("/metrics").await.1;
    let (status, _) = w.get("/readyz").await;
    assert_eq!(status, 503, "not ready while the database is away");
    assert_eq!(
        processed(&after),
        processed(&before),
        "nothing acknowledged while nothing can be committed"
    );
    // With backoff (0.1 s doubling per consumer, 0.2 s for the relay) six
    // seconds cost a few dozen attempts at most; a spinning consumer would
    // make thousands.
    let attempts = errors(&after) - errors(&before);
    eprintln!("database errors during 6 s of outage: {attempts}");
    assert!(attempts < 60.0, "{attempts} attempts in 6 s: spinning");
    // The deliveries were kept, not requeued to the DLQ or dropped.
    let dlq =
        dmumatch::config::Topology::dead_letter_queue(&stage.config.topology.contacts_queue());
    assert_eq!(stage.queue_len(&dlq).await, 0);

    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true"
        ))
        .await
        .unwrap();
    let db = stage.db().await;
    wait_done(&stage, &db, &sent, LONG).await;
    w.wait_ready(Duration::from_secs(60)).await;
    assert_exactly_once(&db, &stage, &sent).await;
    let wire = stage.take_wire().await;
    assert_wire(&db, &wire).await;
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
