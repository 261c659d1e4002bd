//! What "nothing lost, nothing doubled" means, as checks on a test's
//! database and on what came off the wire.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio_postgres::Client;

use crate::harness::{Msg, Stage, Wire};
use crate::workload::per_queue;

/// The order-independent final state: every row as text, sorted. Ids and
/// timestamps the worker makes up (decision ids, decided_at, event ids of
/// this run) are left out.
pub async fn snapshot(db: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for (table, sql) in [
        (
            "contacts",
            "SELECT contact_id, version, md5(coalesce(data, ''::bytea)), country, function, seniority \
             FROM contacts ORDER BY contact_id",
        ),
        (
            "suppressions",
            "SELECT contact_id, scope, reason, md5(data) FROM suppressions \
             ORDER BY contact_id, md5(data)",
        ),
        (
            "consents",
            "SELECT contact_id, md5(data) FROM consents ORDER BY contact_id, md5(data)",
        ),
        (
            "campaigns",
            // No fan-out may be left owed (audience_pending).
            "SELECT campaign_id, version, active, md5(coalesce(data, ''::bytea)), \
                 audience_pending \
             FROM campaigns ORDER BY campaign_id",
        ),
        (
            "decisions",
            "SELECT contact_id, campaign_id, decision, encode(outcome_fingerprint, 'hex'), \
             rule_id, rule_set_version, input_digest \
             FROM decisions ORDER BY contact_id, campaign_id",
        ),
    ] {
        for row in db.query(sql, &[]).await.unwrap() {
            let cols: Vec<String> = (0..row.len())
                .map(|i| {
                    row.try_get::<_, Option<String>>(i)
                        .map(|v| v.unwrap_or_default())
                        .or_else(|_| row.try_get::<_, i64>(i).map(|v| v.to_string()))
                        .or_else(|_| row.try_get::<_, i16>(i).map(|v| v.to_string()))
                        .or_else(|_| row.try_get::<_, bool>(i).map(|v| v.to_string()))
                        .unwrap()
                })
                .collect();
            out.push(format!("{table}: {}", cols.join(" | ")));
        }
    }
    out
}

pub async fn count(db: &Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

/// Waits until every event of `sent` is in the inbox and the outbox is
/// published to the last row.
pub async fn wait_done(stage: &Stage, db: &Client, sent: &[Msg], timeout: Duration) {
    wait_processed(stage, db, sent.len() as i64, timeout).await;
}

/// Waits until the inbox holds `events` rows, no campaign still owes its
/// fan-out, and every outbox row is published. (A campaign event is in the
/// inbox once stored; its fan-out's pages commit after it.)
pub async fn wait_processed(stage: &Stage, db: &Client, events: i64, timeout: Duration) {
    stage
        .wait_count(db, "SELECT count(*) FROM inbox", events, timeout)
        .await;
    stage
        .wait_count(
            db,
            "SELECT count(*) FROM campaigns WHERE audience_pending",
            0,
            timeout,
        )
        .await;
    stage
        .wait_count(db, "SELECT count(*) FROM outbox_pending", 0, timeout)
        .await;
}

/// Every event took effect exactly once: one inbox row per event and queue,
/// one stored suppression or consent per event, one audit row per event and
/// pair, and every outbox row published.
pub async fn assert_exactly_once(db: &Client, stage: &Stage, sent: &[Msg]) {
    let (contacts, rights, campaigns) = per_queue(sent);
    let t = &stage.config.topology;
    for (queue, want) in [
        (t.contacts_queue(), contacts),
        (t.rights_queue(), rights),
        (t.campaigns_queue(), campaigns),
    ] {
        let n: i64 = db
            .query_one("SELECT count(*) FROM inbox WHERE queue = $1", &[&queue])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, want, "inbox rows of {queue}");
    }
    let objections = sent
        .iter()
        .filter(|m| m.routing_key == "contact.objected")
        .count() as i64;
    let consents = sent
        .iter()
        .filter(|m| m.routing_key == "contact.consent_changed")
        .count() as i64;
    assert_eq!(
        count(db, "SELECT count(*) FROM suppressions").await,
        objections,
        "one suppression per objection"
    );
    assert_eq!(
        count(db, "SELECT count(DISTINCT event_id) FROM suppressions").await,
        objections
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM consents").await,
        consents,
        "one consent per consent event"
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM (SELECT 1 FROM decision_history \
             GROUP BY event_id, contact_id, campaign_id HAVING count(*) > 1) d"
        )
        .await,
        0,
        "an event decided a pair more than once"
    );
    assert_eq!(count(db, "SELECT count(*) FROM outbox_pending").await, 0);
}

/// What came off the wire: every outbox event at least once, nothing that
/// is not in the outbox, every copy of a message id byte-identical, and the
/// latest decision of every pair among them. Returns the number of
/// duplicate copies seen.
pub async fn assert_wire(db: &Client, wire: &[Wire]) -> usize {
    let mut by_id: HashMap<&str, &Wire> = HashMap::new();
    let mut duplicates = 0;
    for w in wire {
        match by_id.get(w.message_id.as_str()) {
            Some(first) => {
                duplicates += 1;
                assert_eq!(
                    first.body, w.body,
                    "two different messages under message_id {}",
                    w.message_id
                );
                assert_eq!(first.routing_key, w.routing_key);
            }
            None => {
                by_id.insert(&w.message_id, w);
            }
        }
        assert_eq!(w.message_id, w.event.event_id, "message_id is the event id");
    }
    let outbox: HashSet<String> = db
        .query("SELECT event_id::text FROM outbox", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let on_wire: HashSet<String> = by_id.keys().map(|k| (*k).to_owned()).collect();
    let missing: Vec<_> = outbox.difference(&on_wire).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} outbox events never published, e.g. {missing:?}",
        outbox.difference(&on_wire).count()
    );
    let extra: Vec<_> = on_wire.difference(&outbox).take(5).collect();
    assert!(
        extra.is_empty(),
        "published but not in the outbox: {extra:?}"
    );

    let decided: HashSet<&str> = wire
        .iter()
        .filter_map(Wire::decided)
        .map(|d| d.decision_id.as_str())
        .collect();
    let latest: Vec<String> = db
        .query("SELECT decision_id::text FROM decisions", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!latest.is_empty());
    let unpublished = latest
        .iter()
        .filter(|id| !decided.contains(id.as_str()))
        .count();
    assert_eq!(
        unpublished,
        0,
        "latest decisions never published ({} in all)",
        latest.len()
    );
    duplicates
}
