//! Decisions past their validUntil are decided again without any event.

use std::time::Duration;

use chrono::Duration as Days;
use dmumatch::pb::Encoding;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_decisions_are_decided_again() {
    let mut app = spawn_app_with(|s| s.config.sweep_interval_secs = 1).await;
    let k1 = campaign("cmp-1", 1);
    let k2 = campaign("cmp-2", 1);
    app.publish_campaign(&planned(k1.clone()), Encoding::Protobuf)
        .await;
    app.publish_campaign(&planned(k2.clone()), Encoding::Protobuf)
        .await;
    app.recv_n(2, WAIT).await;
    let c = contact("c-1", 1);
    app.publish_contact(&created(c.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(3, WAIT).await;
    let first = got
        .iter()
        .filter_map(Received::decided)
        .find(|d| d.campaign_id == "cmp-1")
        .unwrap()
        .clone();
    app.publish_campaign(&cancelled("cmp-2"), Encoding::Protobuf)
        .await;
    app.wait_count("SELECT count(*) FROM campaigns WHERE active", 1, WAIT)
        .await;

    // Both decisions expire, and their stored outcome no longer matches what
    // the engine says now, so re-deciding must publish a new decision.
    let past = app.now() - Days::days(1);
    app.db
        .execute(
            "UPDATE decisions SET valid_until = $1, outcome_fingerprint = '\\x00'",
            &[&past],
        )
        .await
        .unwrap();
    let got = app.recv_n(1, WAIT).await;
    let d = got[0].decided().expect("a decision");
    assert_eq!(d.campaign_id, "cmp-1", "a cancelled campaign is not swept");
    assert_eq!(d.supersedes_decision_id, first.decision_id);
    assert_eq!(outcome_of(d), outcome_of(&expected(&c, &k1, app.now())));
    assert!(app.quiet(Duration::from_millis(2500)).await.is_empty());
    let row = app
        .db
        .query_one(
            "SELECT valid_until, decision_id::text FROM decisions WHERE campaign_id = 'cmp-1'",
            &[],
        )
        .await
        .unwrap();
    let valid_until: Option<chrono::DateTime<chrono::Utc>> = row.get(0);
    assert_eq!(
        valid_until,
        expected(&c, &k1, app.now())
            .valid_until
            .and_then(|t| t.to_datetime())
    );
    assert_eq!(row.get::<_, String>(1), d.decision_id);
    assert_eq!(
        app.count("SELECT count(*) FROM decision_history WHERE trigger = 'sweep'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM decisions WHERE campaign_id = 'cmp-2' AND outcome_fingerprint = '\\x00'")
            .await,
        1
    );
    app.cleanup().await;
}
