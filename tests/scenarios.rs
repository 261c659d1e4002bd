//! The eligibility scenarios (`tests/data/scenarios/`) through the engine.
//!
//! - `dev_scenarios_with_hand_labelled_titles`: every dev scenario, with the
//!   job title's function and seniority given by hand (labelled under the
//!   taxonomy's conventions), so the eligibility rules are checked on their
//!   own: decision, channel ground, GDPR basis, ruleId and obligations.
//! - `dev_scenarios_with_the_classifier`: the same through the real title
//!   classifier, with the checker's criterion (ruleId not compared).
//! - `blind_scenarios_with_the_classifier`: 60 scenarios written from the
//!   rules alone by a reader who saw neither the code nor its output, aimed at
//!   what the dev set leaves out (precedence, exact boundaries, countries and
//!   DMU roles it does not exercise); ruleId compared too.

use chrono::{DateTime, Utc};
use dmumatch::engine::taxonomy::{Function, Seniority};
use dmumatch::engine::{Classifier, Enrichment, RuleSet, decide, enrich};
use dmumatch::pb;
use serde_json::Value;

struct Scenario {
    name: String,
    as_of: DateTime<Utc>,
    campaign: pb::Campaign,
    contact: pb::Contact,
    expect: Value,
}

fn scenarios(file: &str) -> Vec<Scenario> {
    let path = format!("{}/tests/data/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Scenario {
                name: v["name"].as_str().unwrap().to_owned(),
                as_of: DateTime::parse_from_rfc3339(v["asOf"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc),
                campaign: pb::from_json(v["campaign"].to_string().as_bytes()).unwrap(),
                contact: pb::from_json(v["contact"].to_string().as_bytes()).unwrap(),
                expect: v["expect"].clone(),
            }
        })
        .collect()
}

/// The dev titles labelled by hand under `titles-taxonomy.md` §5.
fn hand_label(title: &str) -> (Function, Seniority) {
    use {Function as F, Seniority as S};
    match title {
        "DSI" => (F::It, S::CLevel),
        "IT Manager" | "IT-chef" => (F::It, S::HeadManager),
        "Teamleider Servicedesk" => (F::It, S::HeadManager),
        "Directeur" | "Geschäftsführer" => (F::Executive, S::CLevel),
        "Facility Manager" | "Responsable des services généraux" => {
            (F::Facilities, S::HeadManager)
        }
        "Chargée de communication" => (F::Marketing, S::Staff),
        "IT Director" | "VP Information Technology" => (F::It, S::VpDirector),
        "CIO" => (F::It, S::CLevel),
        "n.v.t." | "" => (F::Other, S::Unknown),
        "Servicedesk medewerker" => (F::It, S::Staff),
        "Senior Buyer" => (F::Procurement, S::SeniorSpecialist),
        "CFO" => (F::Finance, S::CLevel),
        "Finance Director" => (F::Finance, S::VpDirector),
        "Founder" => (F::Executive, S::Owner),
        other => panic!("no hand label for the dev title {other:?}: add one"),
    }
}

fn with_classification(mut e: Enrichment, f: Function, s: Seniority) -> Enrichment {
    e.classification.function = f;
    e.classification.seniority = s;
    e
}

fn names(d: &pb::EligibilityDecided) -> [(&'static str, &'static str); 3] {
    [
        (
            "decision",
            pb::decision::Value::try_from(d.decision).map_or("?", |x| x.as_str_name()),
        ),
        (
            "channelGround",
            pb::channel_ground::Value::try_from(d.channel_ground).map_or("?", |x| x.as_str_name()),
        ),
        (
            "gdprBasis",
            pb::gdpr_basis::Value::try_from(d.gdpr_basis).map_or("?", |x| x.as_str_name()),
        ),
    ]
}

/// Decision, channel ground, GDPR basis, (ruleId) and obligations as the
/// scenario's `expect` names them; returns what differs.
fn mismatch(d: &pb::EligibilityDecided, expect: &Value, check_rule_id: bool) -> Option<String> {
    let mut wrong = Vec::new();
    for (k, v) in names(d) {
        if expect[k].as_str() != Some(v) {
            wrong.push(format!("{k} {v} (expected {})", expect[k]));
        }
    }
    if check_rule_id
        && let Some(rule) = expect["ruleId"].as_str()
        && rule != d.rule_id
    {
        wrong.push(format!("ruleId {} (expected {rule})", d.rule_id));
    }
    if let Some(need) = expect["obligationsInclude"].as_array() {
        for o in need {
            if !d.obligations.iter().any(|x| Some(x.as_str()) == o.as_str()) {
                wrong.push(format!("obligations {:?} lack {o}", d.obligations));
            }
        }
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

#[test]
fn dev_scenarios_with_hand_labelled_titles() {
    let rules = RuleSet::embedded();
    let all = scenarios("scenarios_dev.ndjson");
    assert!(all.len() >= 50);
    let mut failures = Vec::new();
    for s in &all {
        let (f, sen) = hand_label(&s.contact.job_title);
        let e = with_classification(enrich(&s.contact, Classifier::embedded(), rules), f, sen);
        let d = decide(&s.contact, &e, &s.campaign, s.as_of, rules);
        if let Some(m) = mismatch(&d, &s.expect, true) {
            failures.push(format!("{}: {m}", s.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fail:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Every scenario of `file` through the real classifier; the failures.
fn with_the_classifier(file: &str, check_rule_id: bool) -> (usize, Vec<String>) {
    let rules = RuleSet::embedded();
    let all = scenarios(file);
    let failures = all
        .iter()
        .filter_map(|s| {
            let e = enrich(&s.contact, Classifier::embedded(), rules);
            let d = decide(&s.contact, &e, &s.campaign, s.as_of, rules);
            mismatch(&d, &s.expect, check_rule_id).map(|m| format!("{}: {m}", s.name))
        })
        .collect();
    (all.len(), failures)
}

#[test]
fn dev_scenarios_with_the_classifier() {
    // The checker's criterion: decision, ground, basis and obligations.
    let (n, failures) = with_the_classifier("scenarios_dev.ndjson", false);
    assert!(n >= 50);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn blind_scenarios_with_the_classifier() {
    let (n, failures) = with_the_classifier("scenarios_blind.ndjson", true);
    assert_eq!(n, 60);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
