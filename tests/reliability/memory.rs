//! Memory through a 100,000-event backlog: prefetch, batch size, relay
//! window and fan-out page bound what the worker holds, not the backlog.
//! Prints the peak RSS (VmHWM) of the worker process; `#[ignore]`d (slow
//! group). `DMUMATCH_BIN=target/release/dmumatch` measures a release build.

use std::time::{Duration, Instant};

use lapin::{options::*, types::AMQPValue, types::FieldTable};

use crate::checks::*;
use crate::harness::*;
use crate::workload::{Mix, stream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: 100,000 events (runs in the slow group)"]
async fn peak_rss_through_a_100k_backlog() {
    const CONTACTS: usize = 100_000;
    let mut stage = Stage::new().await;
    // The wire queue keeps only the latest messages: this test measures the
    // worker, not the broker.
    {
        let wire = stage.wire_queue();
        let x = stage.config.topology.decisions_exchange.clone();
        let ch = stage.amqp().await.create_channel().await.unwrap();
        ch.queue_delete(wire.as_str().into(), QueueDeleteOptions::default())
            .await
            .unwrap();
        let mut args = FieldTable::default();
        args.insert("x-max-length".into(), AMQPValue::LongInt(1000));
        ch.queue_declare(
            wire.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .unwrap();
        ch.queue_bind(
            wire.as_str().into(),
            x.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    }
    let sent = stream(
        &stage.config.topology,
        &Mix {
            contacts: CONTACTS,
            changes: false,
            tag: "mem",
        },
    );
    let t = Instant::now();
    stage.publish(&sent).await;
    eprintln!(
        "backlog of {} events published in {:.1} s",
        sent.len(),
        t.elapsed().as_secs_f64()
    );
    let backlog = stage
        .queue_len(&stage.config.topology.contacts_queue())
        .await;
    assert_eq!(
        backlog as usize, CONTACTS,
        "the whole backlog waits before the worker starts"
    );

    let mut w = stage.spawn("worker", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let start = Instant::now();
    let db = stage.db().await;
    wait_done(&stage, &db, &sent, Duration::from_secs(900)).await;
    let secs = start.elapsed().as_secs_f64();
    let peak_kib = w.peak_rss_kib();
    let published = count(&db, "SELECT count(*) FROM outbox").await;
    eprintln!(
        "{{\"test\":\"memory\",\"binary\":\"{}\",\"events\":{},\"published\":{published},\
         \"seconds\":{secs:.1},\"events_per_s\":{:.0},\"peak_rss_mb\":{:.1},\
         \"prefetch\":{},\"batch_size\":{}}}",
        bin().display(),
        sent.len(),
        sent.len() as f64 / secs,
        peak_kib as f64 / 1024.0,
        stage.config.prefetch,
        stage.config.batch_size
    );
    assert_exactly_once(&db, &stage, &sent).await;
    // Generous: the bound is prefetch × message size plus buffers, far below this.
    assert!(peak_kib < 400 * 1024, "peak RSS {peak_kib} KiB");
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
