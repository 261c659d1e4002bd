//! Objections, erasures and consent changes: applied at once, in any order.

use std::time::Duration;

use dmumatch::pb::{self, Encoding};
use dmumatch::worker::decide::{erasure_hash, erasure_suppression, merge};
use prost::Message;
use sha2::Digest;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

/// The latest decision row of a contact x campaign: (decision id, fingerprint).
async fn latest(app: &TestApp, contact: &str, campaign: &str) -> (String, Vec<u8>) {
    let row = app
        .db
        .query_one(
            "SELECT decision_id::text, outcome_fingerprint FROM decisions \
             WHERE contact_id = $1 AND campaign_id = $2",
            &[&contact, &campaign],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// After a rights event: for every campaign, the decision recorded is the
/// engine's for `contact`; it was published, superseding the previous one,
/// exactly when its outcome changed.
async fn assert_redecided(
    app: &mut TestApp,
    before: &[(pb::Campaign, pb::EligibilityDecided)],
    contact: &pb::Contact,
    campaigns_seen: &str,
) {
    let mut changed = 0;
    for (campaign, previous) in before {
        if !same_outcome(previous, &expected(contact, campaign, as_of())) {
            changed += 1;
        }
    }
    let got = app.recv_n(changed, WAIT).await;
    assert!(app.quiet(Duration::from_millis(1000)).await.is_empty());
    for (campaign, previous) in before {
        let want = expected(contact, campaign, as_of());
        let (id, fingerprint) = latest(app, &contact.contact_id, &campaign.campaign_id).await;
        assert_eq!(
            fingerprint,
            dmumatch::worker::decide::fingerprint(&want),
            "{campaigns_seen}"
        );
        if let Some(d) = got
            .iter()
            .filter_map(Received::decided)
            .find(|d| d.campaign_id == campaign.campaign_id)
        {
            assert_eq!(outcome_of(d), outcome_of(&want));
            assert_eq!(d.supersedes_decision_id, previous.decision_id);
            assert_eq!(d.decision_id, id);
        } else {
            assert_eq!(id, previous.decision_id, "unchanged outcome keeps its id");
        }
    }
}

/// Every latest decision recorded for the contact is SUPPRESSED, and there is one
/// per active campaign: what an objection or an erasure must leave behind.
async fn assert_all_suppressed(app: &TestApp, contact_id: &str, campaigns: i64) {
    let suppressed = pb::decision::Value::Suppressed as i32;
    let sql = format!(
        "SELECT count(*) FROM decisions WHERE contact_id = '{contact_id}' AND decision = {suppressed}"
    );
    assert_eq!(app.count(&sql).await, campaigns, "{sql}");
    let sql = format!("SELECT count(*) FROM decisions WHERE contact_id = '{contact_id}'");
    assert_eq!(app.count(&sql).await, campaigns, "{sql}");
}

async fn setup_two_campaigns(
    app: &mut TestApp,
    c: &pb::Contact,
) -> Vec<(pb::Campaign, pb::EligibilityDecided)> {
    let campaigns = [campaign("cmp-1", 1), campaign("cmp-2", 1)];
    for k in &campaigns {
        app.publish_campaign(&planned(k.clone()), Encoding::Protobuf)
            .await;
    }
    app.recv_n(2, WAIT).await;
    app.publish_contact(&created(c.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(3, WAIT).await;
    campaigns
        .into_iter()
        .map(|k| {
            let d = got
                .iter()
                .filter_map(Received::decided)
                .find(|d| d.campaign_id == k.campaign_id)
                .unwrap()
                .clone();
            (k, d)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_redecides_every_active_campaign_at_once() {
    let mut app = spawn_app().await;
    let c = contact("c-1", 1);
    let before = setup_two_campaigns(&mut app, &c).await;
    app.publish_contact(&objected("c-1", objection()), Encoding::Json)
        .await;
    let mut with = stored(&c);
    with.suppressions.push(objection());
    assert_redecided(&mut app, &before, &with, "objection").await;
    assert_all_suppressed(&app, "c-1", 2).await;
    assert_eq!(
        app.count("SELECT count(*) FROM suppressions WHERE contact_id = 'c-1' AND reason = 1")
            .await,
        1
    );
    // Went through its own queue.
    app.wait_count(
        &format!(
            "SELECT count(*) FROM inbox WHERE queue = '{}'",
            app.rights_queue()
        ),
        1,
        WAIT,
    )
    .await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_before_the_contact_applies_when_it_arrives() {
    let mut app = spawn_app().await;
    let k = campaign("cmp-1", 1);
    app.publish_campaign(&planned(k.clone()), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;
    app.publish_contact(&objected("c-9", objection()), Encoding::Protobuf)
        .await;
    // Kept, keyed by the id; nothing to decide yet.
    app.wait_count(
        "SELECT count(*) FROM suppressions WHERE contact_id = 'c-9'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM contacts WHERE contact_id = 'c-9' AND data IS NULL")
            .await,
        1
    );
    assert!(app.quiet(Duration::from_millis(800)).await.is_empty());

    let c = contact("c-9", 1);
    app.publish_contact(&created(c.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(2, WAIT).await;
    let d = got.iter().find_map(Received::decided).unwrap();
    let mut with = stored(&c);
    with.suppressions.push(objection());
    assert_eq!(outcome_of(d), outcome_of(&expected(&with, &k, as_of())));
    assert_eq!(d.decision, pb::decision::Value::Suppressed as i32);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_change_is_stored_and_decided_again() {
    let mut app = spawn_app().await;
    let c = contact("c-1", 1);
    let before = setup_two_campaigns(&mut app, &c).await;
    let consent = pb::Consent {
        brand: "acme-sender".into(),
        purpose: "marketing.communications.email".into(),
        channel: pb::channel::Value::Email as i32,
        captured_at: Some(pb::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        text_version: "v3".into(),
        capture_source: "webform".into(),
        ..Default::default()
    };
    app.publish_contact(&consent_changed("c-1", consent.clone()), Encoding::Protobuf)
        .await;
    let with = merge(stored(&c), [], [consent]);
    assert_redecided(&mut app, &before, &with, "consent").await;
    assert_eq!(
        app.count("SELECT count(*) FROM consents WHERE contact_id = 'c-1'")
            .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_keeps_only_hashes_and_a_reimport_stays_suppressed() {
    let mut app = spawn_app().await;
    let mut c = contact("c-1", 1);
    c.email = "Jan.Jansen@Acme-Test.nl".into();
    let before = setup_two_campaigns(&mut app, &c).await;
    app.publish_contact(&objected("c-1", objection()), Encoding::Protobuf)
        .await;
    let mut with = stored(&c);
    with.suppressions.push(objection());
    assert_redecided(&mut app, &before, &with, "objection").await;
    // The latest decisions now: the engine's for the objecting contact.
    let mut before = Vec::new();
    for k in [campaign("cmp-1", 1), campaign("cmp-2", 1)] {
        let mut d = expected(&with, &k, as_of());
        d.decision_id = latest(&app, "c-1", &k.campaign_id).await.0;
        before.push((k, d));
    }

    let erasure = erased("c-1");
    app.publish_contact(&erasure, Encoding::Protobuf).await;
    let erased_at = as_of();
    // Already SUPPRESSED by the objection: the erasure leaves every decision
    // SUPPRESSED under G1 (what survives an erasure is its suppression), and
    // an unchanged outcome is not published again.
    assert!(app.quiet(Duration::from_millis(1000)).await.is_empty());
    assert_all_suppressed(&app, "c-1", 2).await;

    // No personal data left: no contact row, no suppressions or consents;
    // only keyed hashes, not the plain SHA-256 of the email.
    for sql in [
        "SELECT count(*) FROM contacts",
        "SELECT count(*) FROM suppressions",
        "SELECT count(*) FROM consents",
        "SELECT count(*) FROM outbox WHERE routing_key = 'contact.enriched'",
    ] {
        assert_eq!(app.count(sql).await, 0, "{sql}");
    }
    let hashes: Vec<(Vec<u8>, String)> = app
        .db
        .query("SELECT hash, kind FROM erased_contacts ORDER BY kind", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(hashes.len(), 2);
    assert_eq!(
        hashes[0].0,
        erasure_hash("test-pepper", "contact_id", "c-1")
    );
    assert_eq!(
        hashes[1].0,
        erasure_hash("test-pepper", "email", "jan.jansen@acme-test.nl")
    );
    let plain = sha2::Sha256::digest(b"jan.jansen@acme-test.nl").to_vec();
    assert!(hashes.iter().all(|(h, _)| *h != plain));

    // Re-imported under another id with the same email (other case): suppressed.
    let mut again = contact("c-2", 1);
    again.email = " jan.jansen@ACME-TEST.nl".into();
    app.publish_contact(&created(again.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(3, WAIT).await;
    let mut with = stored(&again);
    with.suppressions.push(erasure_suppression(erased_at));
    for d in got.iter().filter_map(Received::decided) {
        let k = before
            .iter()
            .find(|(k, _)| k.campaign_id == d.campaign_id)
            .unwrap();
        assert_eq!(outcome_of(d), outcome_of(&expected(&with, &k.0, as_of())));
        assert_eq!(d.decision, pb::decision::Value::Suppressed as i32);
    }
    let s: Vec<u8> = app
        .db
        .query_one(
            "SELECT data FROM suppressions WHERE contact_id = 'c-2'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        pb::Suppression::decode(s.as_slice()).unwrap(),
        erasure_suppression(erased_at)
    );
    // Events about the erased id that come late change nothing and keep
    // nothing: an objection, and an update from before the erasure.
    app.publish_contact(&objected("c-1", objection()), Encoding::Protobuf)
        .await;
    let mut old = updated(contact("c-1", 4));
    old.occurred_at = Some((erased_at - chrono::Duration::hours(1)).into());
    app.publish_contact(&old, Encoding::Protobuf).await;
    app.wait_count(
        &format!(
            "SELECT count(*) FROM inbox WHERE queue = '{}'",
            app.rights_queue()
        ),
        3,
        WAIT,
    )
    .await;
    app.wait_count(
        &format!(
            "SELECT count(*) FROM inbox WHERE queue = '{}'",
            app.contacts_queue()
        ),
        3,
        WAIT,
    )
    .await;
    assert!(app.quiet(Duration::from_millis(800)).await.is_empty());
    for sql in [
        "SELECT count(*) FROM contacts WHERE contact_id = 'c-1'",
        "SELECT count(*) FROM suppressions WHERE contact_id = 'c-1'",
    ] {
        assert_eq!(app.count(sql).await, 0, "{sql}");
    }

    // A real re-import under the same id (another email): suppressed too, once.
    let mut same_id = contact("c-1", 5);
    same_id.email = "someone.else@acme-test.nl".into();
    let mut again = created(same_id);
    again.occurred_at = Some((erased_at + chrono::Duration::hours(1)).into());
    app.publish_contact(&again, Encoding::Protobuf).await;
    app.wait_count(
        "SELECT count(*) FROM suppressions WHERE contact_id = 'c-1' AND reason = 4",
        1,
        WAIT,
    )
    .await;
    app.cleanup().await;
}
