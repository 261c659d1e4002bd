//! `kill -9` of the worker process mid-stream, three times, then a restart: every
//! event took effect exactly once, every decision went out at least once,
//! and a message that went out twice went out under the same message id.

use std::time::Duration;

use crate::checks::*;
use crate::harness::*;
use crate::workload::{Mix, stream};

const LONG: Duration = Duration::from_secs(240);

/// Waits until the inbox holds at least `n` events; fails if the worker
/// finishes the whole stream first (the kill would not be mid-stream).
async fn wait_inbox_at_least(db: &tokio_postgres::Client, n: i64, total: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let got = count(db, "SELECT count(*) FROM inbox").await;
        if got >= n {
            assert!(got < total, "the stream ended before the kill");
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "inbox stuck at {got}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A clean run of the same stream: the state every faulty run must reach.
pub async fn reference(mix: &Mix) -> Vec<String> {
    let mut stage = Stage::new().await;
    let sent = stream(&stage.config.topology, mix);
    stage.publish(&sent).await;
    let mut w = stage.spawn("reference", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    wait_done(&stage, &db, &sent, LONG).await;
    assert_exactly_once(&db, &stage, &sent).await;
    let snap = snapshot(&db).await;
    assert_eq!(w.terminate().code(), Some(0), "{}", w.log_text());
    stage.cleanup().await;
    snap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_and_doubles_nothing() {
    let mix = Mix {
        contacts: 3600,
        changes: true,
        tag: "k9",
    };
    let want = reference(&mix).await;

    let mut stage = Stage::with(|c| {
        // Smaller batches and relay windows: more commits and confirms in
        // flight for the kill to land in.
        c.batch_size = 100;
        c.prefetch = 200;
        c.confirm_window = 200;
    })
    .await;
    let sent = stream(&stage.config.topology, &mix);
    let total = sent.len() as i64;
    assert!(total >= 5000, "{total} events");
    stage.publish(&sent).await;
    let db = stage.db().await;

    let mut kills = Vec::new();
    for (round, fraction) in [(1, 0.15), (2, 0.4), (3, 0.7)] {
        let mut w = stage.spawn(&format!("victim{round}"), &[]);
        let at = wait_inbox_at_least(&db, (total as f64 * fraction) as i64, total).await;
        w.kill9();
        kills.push(at);
    }
    let mut w = stage.spawn("survivor", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    wait_done(&stage, &db, &sent, LONG).await;

    assert_exactly_once(&db, &stage, &sent).await;
    assert_eq!(
        snapshot(&db).await,
        want,
        "the same final state as a clean run"
    );
    let wire = stage.take_wire().await;
    let duplicates = assert_wire(&db, &wire).await;
    eprintln!(
        "{total} events; killed at {kills:?} processed; {} messages on the wire, \
         {duplicates} duplicate copies (same message_id and body)",
        wire.len()
    );
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
