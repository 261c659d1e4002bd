//! Broker faults confined to the test's own worker: the broker closes the
//! worker's connection (`rabbitmqctl close_connection`, found by its name),
//! and a proxy between them cuts it off for seconds. The worker reconnects
//! by itself, with backoff, `/readyz` shows the outage, nothing is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::checks::*;
use crate::harness::*;
use crate::proxy::Proxy;
use crate::workload::{Mix, campaign, campaign_msg, small_batch_stage, stream};
use dmumatch::pb;

const LONG: Duration = Duration::from_secs(240);

/// The broker's ids of the connections whose client-provided name
/// (`connection_name`, in the client properties) contains `needle`.
fn connections_named(needle: &str) -> Vec<String> {
    run(
        "rabbitmqctl",
        &["-q", "list_connections", "pid", "client_properties"],
    )
    .lines()
    .filter(|l| l.contains(needle))
    .filter_map(|l| l.split('\t').next().map(str::to_owned))
    .collect()
}

/// Counts `/readyz` answers that report the broker down, until dropped.
fn watch_readiness(addr: std::net::SocketAddr) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn({
        let seen = seen.clone();
        async move {
            loop {
                let (status, body) = http_get(addr, "/readyz").await;
                if status == 503 && body.contains("amqp=false") {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    (seen, task)
}

/// Cuts the worker off and waits until `/readyz` says so: within 10 s, since
/// lapin reports the loss at once and the session no longer waits for its
/// tasks first.
async fn cut_and_wait_unready(proxy: &Proxy, w: &mut WorkerProc) {
    proxy.cut();
    let cut_at = tokio::time::Instant::now();
    let deadline = cut_at + Duration::from_secs(10);
    loop {
        let (status, body) = w.get("/readyz").await;
        if status == 503 && body.contains("amqp=false") {
            eprintln!(
                "/readyz said amqp=false {:?} after the cut",
                cut_at.elapsed()
            );
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_closing_the_worker_connection_loses_nothing() {
    let (mut stage, sent) = small_batch_stage(&Mix {
        contacts: 4000,
        changes: true,
        tag: "cl",
    })
    .await;
    let db = stage.db().await;
    let mut w = stage.spawn("worker", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let (seen_down, watcher) = watch_readiness(w.http().await);
    let mut closed = 0;
    for _ in 0..3 {
        w.wait_ready(LONG).await;
        if count(&db, "SELECT count(*) FROM inbox").await >= sent.len() as i64 {
            break;
        }
        // The consuming connection, then the publishing one, in turn.
        let role = ["dmumatch-worker", "dmumatch-publisher"][closed as usize % 2];
        let name = format!("{role} {} ", stage.prefix);
        let ids = connections_named(&name);
        assert_eq!(ids.len(), 1, "one connection named {name:?}: {ids:?}");
        run(
            "rabbitmqctl",
            &[
                "close_connection",
                &ids[0],
                "reliability test: closed by the broker",
            ],
        );
        closed += 1;
        // Let it get back to work before the next close.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(closed >= 1, "the stream ended before the first close");
    wait_done(&stage, &db, &sent, LONG).await;
    w.wait_ready(LONG).await;
    watcher.abort();
    assert_exactly_once(&db, &stage, &sent).await;
    let wire = stage.take_wire().await;
    let duplicates = assert_wire(&db, &wire).await;
    let reconnects = w.metric("dmumatch_amqp_reconnects_total", &[]).await;
    eprintln!(
        "{} events; connection closed {closed} times; {reconnects} reconnects; \
         {} not-ready answers seen; {duplicates} duplicate copies on the wire",
        sent.len(),
        seen_down.load(Ordering::SeqCst)
    );
    assert!(reconnects >= f64::from(closed), "{reconnects} reconnects");
    assert!(
        seen_down.load(Ordering::SeqCst) > 0,
        "/readyz never showed the outage"
    );
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_out_of_reach_is_waited_out_with_backoff() {
    let proxy = Proxy::start("127.0.0.1:5672".parse().unwrap(), None).await;
    let (mut stage, sent) = small_batch_stage(&Mix {
        contacts: 3000,
        changes: false,
        tag: "px",
    })
    .await;
    let db = stage.db().await;
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    let mut w = stage.spawn("worker", &[("AMQP_URL", &url)]);
    w.wait_ready(Duration::from_secs(60)).await;
    let deadline = tokio::time::Instant::now() + LONG;
    while count(&db, "SELECT count(*) FROM inbox").await < 500 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    cut_and_wait_unready(&proxy, &mut w).await;
    let before = w.metric("dmumatch_amqp_reconnects_total", &[]).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = w.metric("dmumatch_amqp_reconnects_total", &[]).await;
    let (status, _) = w.get("/readyz").await;
    assert_eq!(status, 503, "not ready while the broker is out of reach");
    // Backoff from 0.2 s doubling: about five attempts in eight seconds.
    let attempts = after - before;
    eprintln!("reconnection attempts during 8 s without a broker: {attempts}");
    assert!((1.0..=10.0).contains(&attempts), "{attempts} attempts");

    proxy.restore();
    w.wait_ready(Duration::from_secs(60)).await;
    wait_done(&stage, &db, &sent, LONG).await;
    assert_exactly_once(&db, &stage, &sent).await;
    let wire = stage.take_wire().await;
    assert_wire(&db, &wire).await;
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}

/// A fan-out is one delivery that can run for minutes. When the connection
/// is lost it stops at once (the page in flight rolls back) instead of
/// running on for a delivery it can no longer acknowledge; after the
/// reconnect its redelivery decides the whole audience.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_stops_when_the_connection_is_lost_and_finishes_after() {
    const CONTACTS: i64 = 3000;
    let proxy = Proxy::start("127.0.0.1:5672".parse().unwrap(), None).await;
    let mut stage = Stage::new().await;
    let t = stage.config.topology.clone();
    let contacts: Vec<Msg> = stream(
        &t,
        &Mix {
            contacts: CONTACTS as usize,
            changes: false,
            tag: "fo",
        },
    )
    .into_iter()
    .filter(|m| m.exchange == t.crm_exchange)
    .collect();
    stage.publish(&contacts).await;
    let db = stage.db().await;
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    // Pages of five: hundreds of page transactions, so the cut lands mid-way.
    let mut w = stage.spawn(
        "worker",
        &[("AMQP_URL", &url), ("DMUMATCH_FANOUT_PAGE", "5")],
    );
    w.wait_ready(Duration::from_secs(60)).await;
    stage
        .wait_count(&db, "SELECT count(*) FROM inbox", CONTACTS, LONG)
        .await;

    let planned = pb::campaign_event::Event::CampaignPlanned(pb::CampaignPlanned {
        campaign: Some(campaign("cmp-f", 1, &[])),
    });
    stage.publish(&[campaign_msg(&t, planned)]).await;
    let decided = "SELECT count(*) FROM decisions WHERE campaign_id = 'cmp-f'";
    let deadline = tokio::time::Instant::now() + LONG;
    while count(&db, decided).await < 50 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    cut_and_wait_unready(&proxy, &mut w).await;
    // A page that was committing at the cut may still land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_cut = count(&db, decided).await;
    assert!(at_cut < CONTACTS, "the fan-out ended before the cut");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = count(&db, decided).await;
    eprintln!("decided at the cut: {at_cut} of {CONTACTS}; two seconds later: {later}");
    assert_eq!(later, at_cut, "the fan-out ran on without its connection");

    proxy.restore();
    w.wait_ready(Duration::from_secs(60)).await;
    stage.wait_count(&db, decided, CONTACTS, LONG).await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM campaigns WHERE campaign_id = 'cmp-f' AND NOT audience_pending",
            1,
            LONG,
        )
        .await;
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
