//! Properties of the eligibility engine over generated contacts and campaigns
//! (proptest): suppression always wins, only ELIGIBLE carries a ground or a
//! basis, every ELIGIBLE carries the base obligations, same inputs give the
//! same decision and digest, and `validUntil` is exactly where the answer
//! changes.

use chrono::{DateTime, TimeDelta, Utc};
use dmumatch::engine::taxonomy::{Function, Seniority};
use dmumatch::engine::{Classifier, Enrichment, RuleSet, decide, enrich};
use dmumatch::pb;
use proptest::prelude::*;
use proptest::sample::select;

const BRAND: &str = "northwind";
const PURPOSE: &str = "marketing.communications.email";

fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A date, or none: anywhere from 2019 to 2028 (some after asOf), near asOf,
/// or on the thresholds' boundaries (1, 12 and 24 months before asOf).
fn date() -> impl Strategy<Value = Option<pb::Timestamp>> {
    const AS_OF: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z
    const DAY: i64 = 86_400;
    let at = |s: i64| {
        Some(pb::Timestamp {
            seconds: s,
            nanos: 0,
        })
    };
    prop_oneof![
        1 => Just(None),
        2 => (1_546_300_800i64..1_830_297_600).prop_map(at),
        2 => (-90 * DAY..90 * DAY).prop_map(move |d| at(AS_OF + d)),
        2 => (select(vec![
            1_793_491_200i64, // 2026-11-01: one month before
            1_764_547_200,    // 2025-12-01: 12 months before
            1_733_011_200,    // 2024-12-01: 24 months before
        ]), -2i64..=2).prop_map(move |(b, d)| at(b + d * DAY)),
    ]
}

fn purchase() -> impl Strategy<Value = pb::Purchase> {
    (
        select(vec![
            "software.itsm",
            "software.servicedesk",
            "hardware.laptops",
            "",
        ]),
        date(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(c, d, a, o)| pb::Purchase {
            product_category: c.into(),
            purchased_at: d,
            address_supplied_by_contact: a,
            opt_out_offered_at_collection: o,
        })
}

fn consent() -> impl Strategy<Value = pb::Consent> {
    (
        select(vec![BRAND, "othercorp"]),
        select(vec![PURPOSE, "marketing.communications.sms"]),
        0i32..5,
        date(),
        select(vec!["", "v3"]),
        select(vec!["", "webform:/x"]),
        date(),
        prop::option::weighted(0.3, date()).prop_map(Option::flatten),
    )
        .prop_map(|(b, p, ch, cap, tv, cs, doi, w)| pb::Consent {
            brand: b.into(),
            purpose: p.into(),
            channel: ch,
            captured_at: cap,
            text_version: tv.into(),
            capture_source: cs.into(),
            double_opt_in_at: doi,
            withdrawn_at: w,
        })
}

fn suppression() -> impl Strategy<Value = pb::Suppression> {
    (
        0i32..4,
        select(vec!["", BRAND, "othercorp", "NorthWind"]),
        select(vec!["", PURPOSE, "marketing.communications.sms"]),
        0i32..6,
        date(),
    )
        .prop_map(|(scope, b, p, r, at)| pb::Suppression {
            scope,
            brand: b.into(),
            purpose: p.into(),
            reason: r,
            at,
        })
}

const COUNTRIES: [&str; 17] = [
    "NL", "BE", "DE", "FR", "GB", "UK", "IE", "ES", "IT", "AT", "DK", "SE", "PL", "US", "LU", "",
    "nl",
];

fn contact() -> impl Strategy<Value = pb::Contact> {
    let who = (
        select(COUNTRIES.to_vec()),
        select(COUNTRIES.to_vec()),
        select(vec![
            "BV",
            "GmbH",
            "Ltd",
            "SAS",
            "eenmanszaak",
            "Partnership",
            "CV",
            "",
            "Holding",
            "Inc.",
        ]),
        0i32..7,
        select(vec![
            "jan.smit@acme.example",
            "info@acme.example",
            "Sales+x@acme.example",
            "jan@gmail.com",
            "not-an-address",
            "",
        ]),
        0i32..6,
        any::<bool>(),
        0i32..300,
    );
    let source = (
        0i32..13,
        date(),
        any::<bool>(),
        date(),
        prop::bool::weighted(0.1),
    );
    let lists = (
        prop::collection::vec(purchase(), 0..3),
        prop::collection::vec(consent(), 0..3),
        prop::collection::vec(suppression(), 0..3),
        date(),
        prop::collection::vec(select(vec!["ES_ROBINSON", "AT_ECG", "OTHER"]), 0..2),
    );
    (who, source, lists).prop_map(
        |(
            (cc, occ, lf, et, email, rel, published, emp),
            (kind, obt, inf, art14, restricted),
            (pur, con, sup, ver, excl),
        )| {
            pb::Contact {
                contact_id: "c-1".into(),
                version: 1,
                first_name: "Jan".into(),
                last_name: "Smit".into(),
                email: email.into(),
                job_title: "t".into(),
                country: cc.into(),
                organisation: Some(pb::Organisation {
                    organisation_id: "o-1".into(),
                    name: "Acme".into(),
                    country: occ.into(),
                    legal_form: lf.into(),
                    entity_type: et,
                    domain: "acme.example".into(),
                    employee_count: emp,
                    published_marketing_addresses: if published {
                        vec![email.to_uppercase()]
                    } else {
                        vec![]
                    },
                    ..Default::default()
                }),
                relationship: rel,
                purchases: pur,
                source: Some(pb::Source {
                    kind,
                    provider: "p".into(),
                    obtained_at: obt,
                    informed_at_collection: inf,
                    art14_notice_sent_at: art14,
                    restricted,
                }),
                consents: con,
                suppressions: sup,
                last_verified_at: ver,
                exclusion_lists: excl.into_iter().map(str::to_owned).collect(),
                ..Default::default()
            }
        },
    )
}

fn campaign() -> impl Strategy<Value = pb::Campaign> {
    (
        prop::bool::weighted(0.9),
        prop::collection::vec(select(Function::ALL.to_vec()), 0..3),
        prop::collection::vec(select(Function::ALL.to_vec()), 0..2),
        prop::collection::vec(1i32..7, 0..4),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(email, owning, users, roles, lia)| pb::Campaign {
            campaign_id: "cmp-1".into(),
            version: 1,
            brand: BRAND.into(),
            purpose: PURPOSE.into(),
            channel: if email {
                pb::channel::Value::Email as i32
            } else {
                pb::channel::Value::Phone as i32
            },
            product_category: "software.itsm".into(),
            similar_product_categories: vec!["software.servicedesk".into()],
            dmu_profile: Some(pb::DmuProfile {
                owning_functions: owning.iter().map(|f| f.id().to_owned()).collect(),
                user_functions: users.iter().map(|f| f.id().to_owned()).collect(),
                budget_functions: vec![],
                target_roles: roles,
            }),
            legitimate_interest_assessment_ref: if lia { "LIA-1".into() } else { String::new() },
            ..Default::default()
        })
}

fn classification() -> impl Strategy<Value = (Function, Seniority)> {
    (
        select(Function::ALL.to_vec()),
        select(Seniority::ALL.to_vec()),
    )
}

fn enrichment(c: &pb::Contact, (f, s): (Function, Seniority)) -> Enrichment {
    let mut e = enrich(c, Classifier::embedded(), RuleSet::embedded());
    e.classification.function = f;
    e.classification.seniority = s;
    e
}

fn run(
    c: &pb::Contact,
    cmp: &pb::Campaign,
    fs: (Function, Seniority),
    at: DateTime<Utc>,
) -> pb::EligibilityDecided {
    decide(c, &enrichment(c, fs), cmp, at, RuleSet::embedded())
}

/// A suppression that covers the campaign and has happened by `at`, read
/// straight from the spec (unscoped or unnamed scopes apply: fail-safe).
fn matching_suppression(c: &pb::Contact, at: DateTime<Utc>) -> bool {
    c.suppressions.iter().any(|s| {
        let happened = s.at.is_none_or(|t| t.to_datetime().unwrap() <= at);
        let covers = match s.scope {
            2 => s.brand.is_empty() || s.brand.eq_ignore_ascii_case(BRAND),
            3 => s.purpose.is_empty() || s.purpose == PURPOSE,
            _ => true,
        };
        happened && covers
    })
}

/// Everything a decision says, but its ids and times.
fn outcome(d: &pb::EligibilityDecided) -> (i32, i32, i32, String, Vec<String>, Vec<String>) {
    (
        d.decision,
        d.channel_ground,
        d.gdpr_basis,
        d.rule_id.clone(),
        d.reasons.iter().map(|r| r.code.clone()).collect(),
        d.obligations.clone(),
    )
}

const ELIGIBLE: i32 = pb::decision::Value::Eligible as i32;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_matching_suppression_always_suppresses(c in contact(), cmp in campaign(), fs in classification()) {
        let d = run(&c, &cmp, fs, as_of());
        if matching_suppression(&c, as_of()) {
            // Whatever else holds, no send.
            prop_assert_ne!(d.decision, ELIGIBLE);
            // Only step 1 (a campaign that is not email, an unusable address) comes first.
            if d.rule_id != "I1" && d.rule_id != "I2" {
                prop_assert_eq!(d.decision, pb::decision::Value::Suppressed as i32, "{:?}", d.rule_id);
                prop_assert_eq!(&d.rule_id, "G1");
            }
        } else {
            prop_assert_ne!(&d.rule_id, "G1");
        }
    }

    #[test]
    fn only_eligible_carries_a_ground_a_basis_or_obligations(c in contact(), cmp in campaign(), fs in classification()) {
        let d = run(&c, &cmp, fs, as_of());
        if d.decision != ELIGIBLE {
            prop_assert_eq!(d.channel_ground, 0);
            prop_assert_eq!(d.gdpr_basis, 0);
            prop_assert!(d.obligations.is_empty());
        } else {
            prop_assert_ne!(d.channel_ground, 0);
            prop_assert_ne!(d.gdpr_basis, 0);
        }
        prop_assert!(!d.reasons.is_empty());
        for r in &d.reasons {
            prop_assert!(!r.code.is_empty() && !r.message.is_empty() && !r.citation.is_empty());
        }
    }

    #[test]
    fn every_eligible_carries_the_base_obligations(c in contact(), cmp in campaign(), fs in classification()) {
        let d = run(&c, &cmp, fs, as_of());
        if d.decision == ELIGIBLE {
            for o in ["IDENTIFY_SENDER", "OPT_OUT_IN_EVERY_MESSAGE", "MARK_AS_ADVERTISING"] {
                prop_assert!(d.obligations.iter().any(|x| x == o), "{:?}", d.obligations);
            }
            let li = d.gdpr_basis == pb::gdpr_basis::Value::LegitimateInterest as i32;
            prop_assert_eq!(li, d.obligations.iter().any(|x| x == "ART21_OBJECTION_NOTICE"));
            prop_assert_eq!(d.jurisdiction == "US", d.obligations.iter().any(|x| x == "POSTAL_ADDRESS"));
            // Never a fallback from withdrawn consent, never eligible on a restricted source.
            prop_assert!(!c.source.as_ref().unwrap().restricted);
        }
    }

    #[test]
    fn same_inputs_same_decision_and_digest(c in contact(), cmp in campaign(), fs in classification()) {
        let a = run(&c, &cmp, fs, as_of());
        let b = run(&c, &cmp, fs, as_of());
        prop_assert_eq!(&a, &b);
        // Through JSON (fields in another order) and with what does not decide changed.
        let json = serde_json::to_value(&c).unwrap(); // serde_json::Value sorts keys
        let mut c2: pb::Contact = pb::from_json(json.to_string().as_bytes()).unwrap();
        c2.contact_id = "another-id".into();
        c2.first_name = "Piet".into();
        c2.job_title = "something else".into();
        c2.source.as_mut().unwrap().provider = "other".into();
        c2.organisation.as_mut().unwrap().name = "Other".into();
        let d = run(&c2, &cmp, fs, as_of());
        prop_assert_eq!(&a.input_digest, &d.input_digest);
        prop_assert_eq!(outcome(&a), outcome(&d));
        prop_assert!(a.input_digest.starts_with("sha256:") && a.input_digest.len() == 71);
    }

    #[test]
    fn valid_until_is_where_the_answer_changes(c in contact(), cmp in campaign(), fs in classification()) {
        let d = run(&c, &cmp, fs, as_of());
        match d.valid_until.and_then(|t| t.to_datetime()) {
            Some(v) => {
                prop_assert!(v >= as_of());
                let mid = as_of() + (v - as_of()) / 2;
                if mid < v {
                    prop_assert_eq!(outcome(&run(&c, &cmp, fs, mid)), outcome(&d));
                }
                let after = run(&c, &cmp, fs, v + TimeDelta::nanoseconds(1));
                prop_assert_ne!(outcome(&after), outcome(&d));
            }
            None => {
                let later = run(&c, &cmp, fs, as_of() + TimeDelta::days(3650));
                prop_assert_eq!(outcome(&later), outcome(&d));
            }
        }
    }
}
