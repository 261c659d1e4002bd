//! Campaign events: the whole audience decided, streamed; cancellation.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use dmumatch::pb::{self, Encoding};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_over_10000_contacts_yields_10000_decisions_and_one_summary() {
    const N: usize = 10_000;
    // Small pages: ten transactions, the relay publishing meanwhile.
    let mut app = spawn_app_with(|s| s.config.fanout_page = 1000).await;
    let started = Instant::now();
    let exchange = app.config.topology.crm_exchange.clone();
    let messages = (0..N)
        .map(|i| {
            let e = created(contact(&format!("c-{i:05}"), 1));
            (
                exchange.clone(),
                "contact.created".to_owned(),
                Encoding::Protobuf.encode(&e),
                Encoding::Protobuf,
            )
        })
        .collect();
    app.publish_many(messages).await;
    let published = started.elapsed();
    app.wait_count(
        "SELECT count(*) FROM contacts WHERE data IS NOT NULL",
        N as i64,
        Duration::from_secs(120),
    )
    .await;
    let stored = started.elapsed();
    let enriched = app.recv_n(N, Duration::from_secs(120)).await;
    assert!(enriched.iter().all(|r| r.routing_key == "contact.enriched"));

    let k = campaign("cmp-big", 1);
    let t = Instant::now();
    app.publish_campaign(&planned(k.clone()), Encoding::Json)
        .await;
    let got = app.recv_n(N + 1, Duration::from_secs(180)).await;
    let fanned = t.elapsed();
    let decided: Vec<&pb::EligibilityDecided> = got.iter().filter_map(Received::decided).collect();
    let summaries: Vec<&pb::CampaignAudienceEvaluated> =
        got.iter().filter_map(Received::summary).collect();
    assert_eq!(decided.len(), N);
    assert_eq!(summaries.len(), 1);
    let ids: HashSet<&str> = decided.iter().map(|d| d.contact_id.as_str()).collect();
    assert_eq!(ids.len(), N);
    assert!(decided.iter().all(|d| d.campaign_id == "cmp-big"));
    let s = summaries[0];
    assert_eq!(s.total, N as i64);
    assert_eq!(s.by_decision.values().sum::<i64>(), N as i64);
    assert!(app.quiet(Duration::from_secs(1)).await.is_empty());
    assert_eq!(
        app.count("SELECT count(*) FROM decisions WHERE campaign_id = 'cmp-big'")
            .await,
        N as i64
    );
    eprintln!(
        "10k contacts: published in {published:?}, stored in {stored:?}; \
         fan-out of {N} decisions published in {fanned:?} ({:.0}/s, debug build)",
        N as f64 / fanned.as_secs_f64()
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_campaign_is_no_longer_decided() {
    let mut app = spawn_app().await;
    app.publish_campaign(&planned(campaign("cmp-1", 1)), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;
    app.publish_campaign(&cancelled("cmp-1"), Encoding::Protobuf)
        .await;
    // A late, higher version does not revive it.
    app.publish_campaign(&campaign_updated(campaign("cmp-1", 2)), Encoding::Protobuf)
        .await;
    app.wait_count("SELECT count(*) FROM inbox", 3, WAIT).await;
    app.publish_contact(&created(contact("c-1", 1)), Encoding::Protobuf)
        .await;
    let got = app.recv_n(1, WAIT).await;
    assert!(got[0].enriched().is_some());
    assert!(app.quiet(Duration::from_millis(1000)).await.is_empty());
    let row = app
        .db
        .query_one(
            "SELECT active, version, cancelled_at IS NOT NULL FROM campaigns",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i64>(1), 2);
    assert!(row.get::<_, bool>(2));
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_update_decides_again_and_a_stale_one_is_ignored() {
    let mut app = spawn_app().await;
    for i in 0..3 {
        app.publish_contact(&created(contact(&format!("c-{i}"), 1)), Encoding::Protobuf)
            .await;
    }
    app.recv_n(3, WAIT).await;
    let v1 = campaign("cmp-1", 1);
    app.publish_campaign(&planned(v1.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(4, WAIT).await;
    assert_eq!(got.iter().filter_map(Received::summary).count(), 1);

    // Same version again under another event id: stale.
    app.publish_campaign(&campaign_updated(v1.clone()), Encoding::Protobuf)
        .await;
    app.wait_count(
        "SELECT count(*) FROM inbox WHERE queue LIKE '%.campaigns'",
        2,
        WAIT,
    )
    .await;
    assert!(app.quiet(Duration::from_millis(1000)).await.is_empty());

    // A new version: decided again for all, published where the outcome changed.
    let mut v2 = campaign("cmp-1", 2);
    v2.legitimate_interest_assessment_ref.clear();
    app.publish_campaign(&campaign_updated(v2.clone()), Encoding::Protobuf)
        .await;
    let changed = (0..3)
        .filter(|i| {
            let c = contact(&format!("c-{i}"), 1);
            !same_outcome(&expected(&c, &v1, as_of()), &expected(&c, &v2, as_of()))
        })
        .count();
    let got = app.recv_n(changed + 1, WAIT).await;
    let s = got.iter().find_map(Received::summary).expect("a summary");
    assert_eq!(s.total, 3);
    for d in got.iter().filter_map(Received::decided) {
        assert!(!d.supersedes_decision_id.is_empty());
    }
    assert!(app.quiet(Duration::from_millis(800)).await.is_empty());
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standing_decisions_follow_contacts_and_campaigns_out_of_targeting() {
    let mut app = spawn_app().await;
    let mut v1 = campaign("cmp-1", 1);
    v1.target_countries = vec!["NL".into(), "GB".into()];
    app.publish_campaign(&planned(v1.clone()), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;

    let mover = contact("c-move", 1);
    let mut gb = contact("c-gb", 1);
    gb.country = "GB".into();
    gb.job_title = "CIO".into();
    let org = gb.organisation.as_mut().unwrap();
    org.country = "GB".into();
    org.legal_form = "Ltd".into();
    for c in [&mover, &gb] {
        app.publish_contact(&created(c.clone()), Encoding::Protobuf)
            .await;
    }
    app.recv_n(4, WAIT).await;

    // The contact moves to a country the campaign does not target: its
    // standing decision is decided again under the new country's law.
    let mut moved = contact("c-move", 2);
    moved.country = "DE".into();
    let org = moved.organisation.as_mut().unwrap();
    org.country = "DE".into();
    org.legal_form = "GmbH".into();
    assert!(
        !same_outcome(
            &expected(&mover, &v1, as_of()),
            &expected(&moved, &v1, as_of())
        ),
        "the test needs a move that changes the outcome"
    );
    app.publish_contact(&updated(moved.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(2, WAIT).await;
    let d = got
        .iter()
        .find_map(Received::decided)
        .expect("decided again");
    assert_eq!(outcome_of(d), outcome_of(&expected(&moved, &v1, as_of())));
    assert_eq!(d.jurisdiction, "DE");
    assert!(!d.supersedes_decision_id.is_empty());

    // The campaign narrows its targeting to neither contact and drops its
    // assessment: both standing decisions follow, outside the summary.
    let mut v2 = campaign("cmp-1", 2);
    v2.target_countries = vec!["FR".into()];
    v2.legitimate_interest_assessment_ref.clear();
    let changed: Vec<&pb::Contact> = [&moved, &gb]
        .into_iter()
        .filter(|c| !same_outcome(&expected(c, &v1, as_of()), &expected(c, &v2, as_of())))
        .collect();
    assert!(
        !changed.is_empty(),
        "the test needs an update that changes an outcome"
    );
    app.publish_campaign(&campaign_updated(v2.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(changed.len() + 1, WAIT).await;
    assert_eq!(got.iter().find_map(Received::summary).unwrap().total, 0);
    for c in changed {
        let d = got
            .iter()
            .filter_map(Received::decided)
            .find(|d| d.contact_id == c.contact_id)
            .expect("decided again");
        assert_eq!(outcome_of(d), outcome_of(&expected(c, &v2, as_of())));
    }
    assert!(app.quiet(Duration::from_millis(800)).await.is_empty());
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_cut_short_is_finished_when_its_event_is_redelivered() {
    // Pages of two contacts, each its own transaction.
    let mut app = spawn_app_with(|s| s.config.fanout_page = 2).await;
    for i in 0..5 {
        app.publish_contact(&created(contact(&format!("c-{i}"), 1)), Encoding::Protobuf)
            .await;
    }
    app.recv_n(5, WAIT).await;
    let event = planned(campaign("cmp-1", 1));
    app.publish_campaign(&event, Encoding::Protobuf).await;
    let got = app.recv_n(6, WAIT).await;
    assert_eq!(got.iter().filter_map(Received::decided).count(), 5);

    // As if the worker died after the first page had committed: the event is
    // in the inbox, the later pages' decisions are not, the fan-out is owed.
    app.stop_worker().await;
    app.db
        .batch_execute(
            "UPDATE campaigns SET audience_pending = true; \
             DELETE FROM decisions WHERE contact_id IN ('c-2', 'c-3', 'c-4')",
        )
        .await
        .unwrap();
    app.restart_worker().await;
    // The broker redelivers it: a duplicate, and still the fan-out is finished.
    app.publish_campaign(&event, Encoding::Protobuf).await;
    let got = app.recv_n(4, WAIT).await;
    let decided: HashSet<&str> = got
        .iter()
        .filter_map(Received::decided)
        .map(|d| d.contact_id.as_str())
        .collect();
    assert_eq!(decided, HashSet::from(["c-2", "c-3", "c-4"]));
    let s = got.iter().find_map(Received::summary).expect("a summary");
    assert_eq!(s.total, 5, "the summary counts the whole audience");
    assert!(app.quiet(Duration::from_millis(800)).await.is_empty());
    assert_eq!(
        app.count("SELECT count(*) FROM campaigns WHERE audience_pending")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM inbox WHERE queue LIKE '%.campaigns'")
            .await,
        1
    );
    app.cleanup().await;
}

/// The fan-out uses a page read ahead only if `decide_state_version` has not
/// moved: so every write of a table a page is read from must move it, the
/// very first one included, and the relay's bookkeeping must not (or no
/// read-ahead would ever be used).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_to_what_decisions_are_read_from_moves_the_decide_state_version() {
    let mut app = spawn_app().await;
    let pool = dmumatch::db::pool(&app.config.connections).unwrap();
    let mut client = pool.get().await.unwrap();
    let mut version = async || {
        let txn = client.transaction().await.unwrap();
        dmumatch::db::store::decide_state_version(&txn)
            .await
            .unwrap()
    };
    // Nothing drawn yet: the first draw moves `last_value` only through `is_called`.
    let fresh = version().await;
    app.db
        .batch_execute("UPDATE contacts SET seniority = 'x'")
        .await
        .unwrap();
    assert!(version().await > fresh, "the first write of a fresh schema");
    app.publish_contact(&created(contact("c-1", 1)), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;
    app.wait_count("SELECT count(*) FROM outbox_pending", 0, WAIT)
        .await;
    let mut last = version().await;
    let moves = [
        "UPDATE contacts SET seniority = 'x'",
        "INSERT INTO suppressions (contact_id, event_id, scope, reason, data) \
         VALUES ('c-1', 'e', 0, 0, '')",
        "DELETE FROM suppressions",
        "INSERT INTO consents (contact_id, event_id, data) VALUES ('c-1', 'e', '')",
        "TRUNCATE consents",
        "INSERT INTO decisions (contact_id, campaign_id, decision_id, decision, \
             outcome_fingerprint, rule_id, rule_set_version, input_digest, decided_at) \
         VALUES ('c-1', 'cmp', gen_random_uuid(), 1, '', 'r', 'v', 'd', now())",
        "UPDATE decisions SET rule_id = 's'",
        "DELETE FROM contacts",
    ];
    for sql in moves {
        app.db.batch_execute(sql).await.unwrap();
        let now = version().await;
        assert!(now > last, "{sql}: version {last} → {now}");
        last = now;
    }
    let stays = [
        "UPDATE campaigns SET audience_pending = false",
        "DELETE FROM outbox_pending",
        "INSERT INTO outbox_published (published_at, ids) VALUES (now(), '{1}')",
        "DELETE FROM outbox",
        "DELETE FROM inbox",
    ];
    for sql in stays {
        app.db.batch_execute(sql).await.unwrap();
        assert_eq!(version().await, last, "{sql}");
    }
    drop(client);
    app.cleanup().await;
}

/// Objections arrive, batch after batch, while a campaign update is decided
/// page by page (each page written while the next is read ahead): pages read
/// ahead of an objection are read again, every objection wins, and the rest
/// end as the new terms decide them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objections_during_a_fan_out_of_many_pages_all_win() {
    const N: usize = 300;
    let mut app = spawn_app_with(|s| s.config.fanout_page = 3).await;
    let contacts: Vec<pb::Contact> = (0..N)
        .map(|i| {
            let mut c = contact(&format!("c-{i:03}"), 1);
            c.country = "GB".into();
            c.job_title = "CIO".into();
            let org = c.organisation.as_mut().unwrap();
            org.country = "GB".into();
            org.legal_form = "Ltd".into();
            c
        })
        .collect();
    for c in &contacts {
        app.publish_contact(&created(c.clone()), Encoding::Protobuf)
            .await;
    }
    app.recv_n(N, WAIT).await;
    let mut v1 = campaign("cmp-1", 1);
    v1.target_countries = vec!["GB".into()];
    app.publish_campaign(&planned(v1.clone()), Encoding::Protobuf)
        .await;
    app.recv_n(N + 1, WAIT).await;

    // v2 changes every outcome, so a page decided on a contact as it was
    // before its objection would write (and publish) over the objection.
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.legitimate_interest_assessment_ref.clear();
    let with_objection = |c: &pb::Contact| {
        let mut c = c.clone();
        c.suppressions.push(objection());
        c
    };
    let c0 = &contacts[0];
    assert!(!same_outcome(
        &expected(c0, &v1, as_of()),
        &expected(c0, &v2, as_of())
    ));
    assert!(!same_outcome(
        &expected(c0, &v2, as_of()),
        &expected(&with_objection(c0), &v2, as_of())
    ));
    app.publish_campaign(&campaign_updated(v2.clone()), Encoding::Protobuf)
        .await;
    // Every other contact objects, a few milliseconds apart, from the back:
    // most batches commit between two pages of the fan-out.
    let objecting: Vec<&pb::Contact> = contacts.iter().step_by(2).rev().collect();
    for c in &objecting {
        app.publish_contact(&objected(&c.contact_id, objection()), Encoding::Protobuf)
            .await;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    app.wait_count(
        "SELECT count(*) FROM inbox WHERE queue NOT LIKE '%.campaigns'",
        (N + objecting.len()) as i64,
        WAIT,
    )
    .await;
    app.wait_count(
        "SELECT count(*) FROM inbox WHERE queue LIKE '%.campaigns'",
        2,
        WAIT,
    )
    .await;
    app.wait_count(
        "SELECT count(*) FROM campaigns WHERE audience_pending",
        0,
        WAIT,
    )
    .await;
    let rows = app
        .db
        .query(
            "SELECT contact_id, decision, rule_id FROM decisions ORDER BY contact_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), N);
    for (i, (c, row)) in contacts.iter().zip(&rows).enumerate() {
        let want = if i % 2 == 0 {
            expected(&with_objection(c), &v2, as_of())
        } else {
            expected(c, &v2, as_of())
        };
        let got: (String, i16, String) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(
            got,
            (c.contact_id.clone(), want.decision as i16, want.rule_id),
            "objected: {}",
            i % 2 == 0
        );
    }
    // nextest runs each test in a process of its own: these counters are this test's.
    let metrics = app.metrics().await;
    let pages = |read: &str| fanout_pages(&metrics, read);
    eprintln!(
        "fan-out pages: locked {}, ahead {}, again {}",
        pages("locked"),
        pages("ahead"),
        pages("again")
    );
    assert!(pages("again") > 0.0, "no objection committed between pages");
    assert!(pages("ahead") > 0.0, "no page was read ahead");
    app.cleanup().await;
}

/// The fan-out's SQL pre-filter reads the targets as the engine does: a blank
/// country targets every country, and organisation ids match trimmed on
/// both sides. (It read them raw: this campaign decided nobody.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_reads_targets_as_the_engine_does() {
    let mut app = spawn_app().await;
    for (id, org, country) in [
        ("c-1", "o-1", "NL"),
        ("c-2", "o-2 ", "DE"),
        ("c-3", "o-3", "NL"),
    ] {
        let mut c = contact(id, 1);
        c.country = country.into();
        if let Some(o) = c.organisation.as_mut() {
            o.organisation_id = org.into();
            o.country = country.into();
        }
        app.publish_contact(&created(c), Encoding::Protobuf).await;
    }
    app.recv_n(3, WAIT).await;
    let mut k = campaign("cmp-t", 1);
    k.target_countries = vec![" ".into()];
    k.target_organisation_ids = vec![" o-1".into(), "o-2".into(), String::new()];
    app.publish_campaign(&planned(k), Encoding::Protobuf).await;
    let got = app.recv_n(3, WAIT).await;
    let mut decided: Vec<&str> = got
        .iter()
        .filter_map(Received::decided)
        .map(|d| d.contact_id.as_str())
        .collect();
    decided.sort_unstable();
    assert_eq!(decided, ["c-1", "c-2"]);
    let summary = got.iter().find_map(Received::summary).expect("a summary");
    assert_eq!(summary.total, 2);
    assert!(app.quiet(Duration::from_millis(500)).await.is_empty());
    app.cleanup().await;
}

/// `dmumatch_fanout_pages_total{read}` in a metrics text.
fn fanout_pages(metrics: &str, read: &str) -> f64 {
    metric_value(
        metrics,
        "dmumatch_fanout_pages_total",
        &[&format!("read=\"{read}\"")],
    )
}

/// A page read ahead is used only while it is fresh: the decide state's
/// version sees changes, not time. With a clock that jumps ahead between
/// pages, pages are read again under the lock (nothing else writes, so the
/// version alone would have let every read-ahead through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_ahead_too_long_ago_is_read_again() {
    const N: usize = 60;
    let mut app = spawn_app_with(|s| s.config.fanout_page = 5).await;
    for i in 0..N {
        app.publish_contact(
            &created(contact(&format!("c-{i:03}"), 1)),
            Encoding::Protobuf,
        )
        .await;
    }
    app.recv_n(N, WAIT).await;
    // Two seconds of the worker's clock per millisecond.
    let ticker = tokio::spawn({
        let clock = app.clock.clone();
        async move {
            loop {
                *clock.lock().unwrap() += chrono::TimeDelta::seconds(2);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    app.publish_campaign(&planned(campaign("cmp-1", 1)), Encoding::Protobuf)
        .await;
    let got = app.recv_n(N + 1, WAIT).await;
    ticker.abort();
    assert_eq!(got.iter().filter_map(Received::decided).count(), N);
    assert_eq!(got.iter().filter_map(Received::summary).count(), 1);
    let metrics = app.metrics().await;
    let (ahead, again) = (
        fanout_pages(&metrics, "ahead"),
        fanout_pages(&metrics, "again"),
    );
    eprintln!("fan-out pages with a fast clock: ahead {ahead}, again {again}");
    assert!(again > 0.0, "a page decided seconds ago was used");
    app.cleanup().await;
}
