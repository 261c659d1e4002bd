//! Three worker processes on the same queues reach the state one reaches.

use std::time::Duration;

use crate::checks::*;
use crate::crash::reference;
use crate::harness::*;
use crate::workload::{Mix, small_batch_stage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_reach_the_state_of_one() {
    let mix = Mix {
        contacts: 2000,
        changes: true,
        tag: "cc",
    };
    let want = reference(&mix).await;

    // Small batches spread the stream over the three.
    let (mut stage, sent) = small_batch_stage(&mix).await;
    let mut workers: Vec<WorkerProc> = (0..3).map(|i| stage.spawn(&format!("w{i}"), &[])).collect();
    for w in &mut workers {
        w.wait_ready(Duration::from_secs(60)).await;
    }
    let db = stage.db().await;
    wait_done(&stage, &db, &sent, Duration::from_secs(240)).await;

    assert_exactly_once(&db, &stage, &sent).await;
    assert_eq!(snapshot(&db).await, want);
    let wire = stage.take_wire().await;
    assert_wire(&db, &wire).await;
    // Each of them did part of the work.
    let t = stage.config.topology.contacts_queue();
    let mut shares = Vec::new();
    for w in &mut workers {
        let n = w
            .metric("dmumatch_events_total", &[&format!("queue=\"{t}\"")])
            .await;
        shares.push(n);
    }
    eprintln!("contact events per worker: {shares:?}");
    assert!(
        shares.iter().filter(|n| **n > 0.0).count() >= 2,
        "{shares:?}"
    );
    for w in &mut workers {
        assert_eq!(w.terminate().code(), Some(0));
    }
    stage.cleanup().await;
}
