//! The dev scenarios through the worker give the engine's decisions.
//!
//! `tests/data/scenarios/scenarios_dev.ndjson` is a copy of the project's shared
//! development scenarios (`shared/data/scenarios_dev.ndjson`, written for
//! dmumatch from `docs/spec/eligibility-rules.md`). Every decision the worker
//! publishes is compared with what `engine::decide` gives for the same inputs
//! at the same `asOf`, and each scenario's own campaign must get the decision,
//! channel ground and GDPR basis the file expects.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dmumatch::engine::{self, Classifier, RuleSet};
use dmumatch::pb::{self, Encoding};
use serde_json::Value;

use crate::helpers::*;

struct Scenario {
    contact: pb::Contact,
    campaign_key: String,
    /// `expect` of the scenario file: decision, channelGround, gdprBasis.
    expect: [String; 3],
}

fn load() -> (Vec<Scenario>, Vec<pb::Campaign>, DateTime<Utc>) {
    let text = include_str!("../data/scenarios/scenarios_dev.ndjson");
    let mut campaigns: Vec<(String, pb::Campaign)> = Vec::new();
    let mut scenarios = Vec::new();
    let mut as_of = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let t = DateTime::parse_from_rfc3339(v["asOf"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        assert!(as_of.is_none_or(|a| a == t), "one asOf for all scenarios");
        as_of = Some(t);
        let campaign_json = serde_json::to_string(&v["campaign"]).unwrap();
        let contact: pb::Contact =
            pb::from_json(serde_json::to_string(&v["contact"]).unwrap().as_bytes()).unwrap();
        // Campaigns that share an id but differ get ids of their own.
        let key = match campaigns.iter().find(|(j, _)| *j == campaign_json) {
            Some((_, c)) => c.campaign_id.clone(),
            None => {
                let mut c: pb::Campaign = pb::from_json(campaign_json.as_bytes()).unwrap();
                let same_id = campaigns
                    .iter()
                    .filter(|(_, k)| k.campaign_id.starts_with(&c.campaign_id))
                    .count();
                if same_id > 0 {
                    c.campaign_id = format!("{}~{}", c.campaign_id, same_id + 1);
                }
                campaigns.push((campaign_json, c.clone()));
                c.campaign_id
            }
        };
        let field = |k: &str| v["expect"][k].as_str().unwrap_or("NONE").to_owned();
        scenarios.push(Scenario {
            contact,
            campaign_key: key,
            expect: [
                field("decision"),
                field("channelGround"),
                field("gdprBasis"),
            ],
        });
    }
    (
        scenarios,
        campaigns.into_iter().map(|(_, c)| c).collect(),
        as_of.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_scenarios_through_the_worker_give_the_engines_decisions() {
    let (scenarios, campaigns, as_of) = load();
    assert!(scenarios.len() >= 50 && campaigns.len() >= 3);
    assert!(
        scenarios
            .iter()
            .all(|s| campaigns.iter().any(|c| c.campaign_id == s.campaign_key))
    );
    let mut app = spawn_app().await;
    app.set_clock(as_of);

    // What the engine says for every contact x campaign it targets.
    let rules = RuleSet::embedded();
    let classifier = Classifier::embedded();
    let mut want: HashMap<(String, String), (pb::EligibilityDecided, String)> = HashMap::new();
    for s in &scenarios {
        let e = engine::enrich(&s.contact, classifier, rules);
        let kept = stored(&s.contact);
        let kept_e = engine::enrich(&kept, classifier, rules);
        for c in &campaigns {
            if engine::eligibility::targets(c, &s.contact) {
                let d = engine::decide(&s.contact, &e, c, as_of, rules);
                // The worker never keeps names; the digest is of what it keeps.
                let digest = engine::decide(&kept, &kept_e, c, as_of, rules).input_digest;
                want.insert(
                    (s.contact.contact_id.clone(), c.campaign_id.clone()),
                    (d, digest),
                );
            }
        }
    }
    let pairs = |part: &[Scenario]| {
        part.iter()
            .filter(|s| {
                want.keys()
                    .any(|(contact, _)| *contact == s.contact.contact_id)
            })
            .map(|s| {
                want.keys()
                    .filter(|(c, _)| *c == s.contact.contact_id)
                    .count()
            })
            .sum::<usize>()
    };

    // Half the contacts before the campaigns (decided by the campaigns'
    // fan-out), half after (decided on arrival); JSON and protobuf.
    let (early, late) = scenarios.split_at(scenarios.len() / 2);
    for s in early {
        app.publish_contact(&created(s.contact.clone()), Encoding::Json)
            .await;
    }
    let mut got = app.recv_n(early.len(), Duration::from_secs(30)).await;
    assert!(got.iter().all(|r| r.enriched().is_some()));
    for c in &campaigns {
        app.publish_campaign(&planned(c.clone()), Encoding::Protobuf)
            .await;
    }
    let fanned = app
        .recv_n(pairs(early) + campaigns.len(), Duration::from_secs(60))
        .await;
    let summaries: i64 = fanned
        .iter()
        .filter_map(Received::summary)
        .map(|s| s.total)
        .sum();
    assert_eq!(summaries, pairs(early) as i64);
    got.extend(fanned);
    for s in late {
        app.publish_contact(&created(s.contact.clone()), Encoding::Protobuf)
            .await;
    }
    got.extend(
        app.recv_n(late.len() + pairs(late), Duration::from_secs(60))
            .await,
    );
    assert!(app.quiet(Duration::from_millis(500)).await.is_empty());

    let mut seen = 0;
    for d in got.iter().filter_map(Received::decided) {
        let key = (d.contact_id.clone(), d.campaign_id.clone());
        let (engine_d, digest) = want
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected {key:?}"));
        let mut mine = outcome_of(d);
        assert_eq!(mine.input_digest, *digest, "{key:?}: digest");
        mine.input_digest.clone_from(&engine_d.input_digest);
        assert_eq!(mine, outcome_of(engine_d), "{key:?}");
        seen += 1;
    }
    assert_eq!(seen, want.len());
    // And each scenario's own campaign got the decision the file expects.
    for s in &scenarios {
        let d = got
            .iter()
            .filter_map(Received::decided)
            .find(|d| d.contact_id == s.contact.contact_id && d.campaign_id == s.campaign_key)
            .unwrap_or_else(|| panic!("{}: no decision", s.contact.contact_id));
        let name = |v: &serde_json::Value| v.as_str().unwrap_or("NONE").to_owned();
        let json = serde_json::to_value(d).unwrap();
        let got = [
            name(&json["decision"]),
            name(&json["channelGround"]),
            name(&json["gdprBasis"]),
        ];
        assert_eq!(got, s.expect, "{}", s.contact.contact_id);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM decisions").await,
        want.len() as i64
    );
    app.cleanup().await;
}
