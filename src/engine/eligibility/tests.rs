//! Every step, row and branch of `docs/spec/eligibility-rules.md`, with explicit
//! enrichment (function and seniority are set by hand, so these tests do not
//! depend on the title classifier).

use chrono::{DateTime, Utc};

use super::*;
use crate::engine::enrich::{address_kind, email_domain_matches, entity_type};
use crate::engine::titles::Classifier;
use pb::channel_ground::Value as G;
use pb::decision::Value as D;
use pb::dmu_role::Value as Role;
use pb::gdpr_basis::Value as B;
use {Function as F, Seniority as S};

const AS_OF: &str = "2026-12-01T00:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    let s = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    };
    DateTime::parse_from_rfc3339(&s)
        .unwrap()
        .with_timezone(&Utc)
}

fn ts(s: &str) -> Option<pb::Timestamp> {
    Some(t(s).into())
}

fn as_of() -> DateTime<Utc> {
    t(AS_OF)
}

/// The ITSM campaign of the dev scenarios: owning it, targets DECIDER + INFLUENCER.
fn itsm() -> pb::Campaign {
    pb::Campaign {
        campaign_id: "cmp-itsm".into(),
        version: 1,
        name: "ITSM launch".into(),
        brand: "northwind".into(),
        sender_country: "NL".into(),
        purpose: "marketing.communications.email".into(),
        channel: pb::channel::Value::Email as i32,
        product_category: "software.itsm".into(),
        similar_product_categories: vec!["software.itsm".into(), "software.servicedesk".into()],
        dmu_profile: Some(pb::DmuProfile {
            owning_functions: vec!["it".into()],
            user_functions: vec!["customer_service".into()],
            budget_functions: vec!["finance".into()],
            target_roles: vec![Role::Decider as i32, Role::Influencer as i32],
        }),
        legitimate_interest_assessment_ref: "LIA-2026-07".into(),
        ..Default::default()
    }
}

/// A prospect from a business card, informed at collection, verified two months ago.
fn contact(country: &str, legal_form: &str, email: &str) -> pb::Contact {
    let domain = email.split('@').nth(1).unwrap_or("acme.example").to_owned();
    pb::Contact {
        contact_id: format!("c-{country}-{legal_form}-{email}"),
        version: 1,
        first_name: "Jan".into(),
        last_name: "Smit".into(),
        email: email.into(),
        job_title: "(set by hand)".into(),
        country: country.into(),
        organisation: Some(pb::Organisation {
            organisation_id: "o-1".into(),
            name: "Acme".into(),
            country: country.into(),
            legal_form: legal_form.into(),
            domain,
            employee_count: 250,
            ..Default::default()
        }),
        relationship: pb::relationship::Value::Prospect as i32,
        source: Some(pb::Source {
            kind: pb::source_kind::Value::BusinessCard as i32,
            obtained_at: ts("2026-09-01"),
            informed_at_collection: true,
            ..Default::default()
        }),
        last_verified_at: ts("2026-10-01"),
        ..Default::default()
    }
}

/// A customer who bought the campaign's category with the opt-out offered.
fn customer(country: &str, legal_form: &str, email: &str, bought: &str) -> pb::Contact {
    let mut c = contact(country, legal_form, email);
    c.relationship = pb::relationship::Value::Customer as i32;
    c.source.as_mut().unwrap().kind = pb::source_kind::Value::CustomerContract as i32;
    c.purchases.push(pb::Purchase {
        product_category: "software.itsm".into(),
        purchased_at: ts(bought),
        address_supplied_by_contact: true,
        opt_out_offered_at_collection: true,
    });
    c
}

fn enrichment(c: &pb::Contact, f: F, s: S) -> Enrichment {
    let rules = RuleSet::embedded();
    let mut classification = Classifier::embedded().classify("", None);
    classification.function = f;
    classification.seniority = s;
    Enrichment {
        classification,
        entity_type: entity_type(c.organisation.as_ref(), &c.country, rules),
        address_kind: address_kind(&c.email, rules),
        email_domain_matches_organisation: email_domain_matches(&c.email, c.organisation.as_ref()),
    }
}

fn run_with(c: &pb::Contact, f: F, s: S, campaign: &pb::Campaign) -> pb::EligibilityDecided {
    decide(
        c,
        &enrichment(c, f, s),
        campaign,
        as_of(),
        RuleSet::embedded(),
    )
}

/// An IT head: DECIDER for the ITSM campaign.
fn run(c: &pb::Contact) -> pb::EligibilityDecided {
    run_with(c, F::It, S::HeadManager, &itsm())
}

#[track_caller]
fn expect(d: &pb::EligibilityDecided, decision: D, ground: G, basis: B, rule: &str) {
    let got = (
        D::try_from(d.decision).unwrap(),
        G::try_from(d.channel_ground).unwrap(),
        B::try_from(d.gdpr_basis).unwrap(),
        d.rule_id.as_str(),
    );
    assert_eq!(
        got,
        (decision, ground, basis, rule),
        "reasons: {:?}",
        d.reasons
    );
    assert!(!d.reasons.is_empty());
    for r in &d.reasons {
        assert!(!r.code.is_empty() && !r.message.is_empty() && !r.citation.is_empty());
    }
    assert_eq!(d.rule_set_version, RuleSet::embedded().version);
    assert!(d.input_digest.starts_with("sha256:") && d.input_digest.len() == 71);
}

#[track_caller]
fn expect_not_eligible(d: &pb::EligibilityDecided, decision: D, rule: &str) {
    expect(d, decision, G::None, B::None, rule);
    assert!(d.obligations.is_empty());
}

#[track_caller]
fn expect_b2b(d: &pb::EligibilityDecided, rule: &str) {
    expect(
        d,
        D::Eligible,
        G::NationalB2bExemption,
        B::LegitimateInterest,
        rule,
    );
}

fn reason(d: &pb::EligibilityDecided) -> &str {
    &d.reasons[0].code
}

fn valid_until(d: &pb::EligibilityDecided) -> Option<DateTime<Utc>> {
    d.valid_until.and_then(|v| v.to_datetime())
}

// ---------------------------------------------------------------------------
// Step 1: input

#[test]
fn i1_channel_other_than_email() {
    let mut cmp = itsm();
    cmp.channel = pb::channel::Value::Phone as i32;
    let d = run_with(
        &contact("US", "Inc.", "jan@acme.com"),
        F::It,
        S::HeadManager,
        &cmp,
    );
    expect_not_eligible(&d, D::NeedsReview, "I1");
    assert_eq!(reason(&d), "CHANNEL_NOT_SUPPORTED");
}

#[test]
fn i2_invalid_address_before_anything_else() {
    let mut c = contact("NL", "BV", "not-an-address");
    c.suppressions.push(pb::Suppression {
        scope: pb::suppression_scope::Value::All as i32,
        ..Default::default()
    });
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsReview, "I2");
    assert_eq!(reason(&d), "INVALID_ADDRESS");
}

// ---------------------------------------------------------------------------
// Step 2: hard stops

fn suppression(
    scope: pb::suppression_scope::Value,
    brand: &str,
    purpose: &str,
    at: &str,
) -> pb::Suppression {
    pb::Suppression {
        scope: scope as i32,
        brand: brand.into(),
        purpose: purpose.into(),
        reason: pb::suppression_reason::Value::Objection as i32,
        at: if at.is_empty() { None } else { ts(at) },
    }
}

#[test]
fn g1_suppression_scopes() {
    use pb::suppression_scope::Value as Sc;
    let base = customer("BE", "NV", "jan@acme.be", "2026-03-01");
    for (s, suppressed) in [
        (suppression(Sc::All, "", "", "2026-07-01"), true),
        (suppression(Sc::Brand, "northwind", "", "2026-07-01"), true),
        (suppression(Sc::Brand, "NorthWind", "", "2026-07-01"), true),
        (suppression(Sc::Brand, "othercorp", "", "2026-07-01"), false),
        (
            suppression(
                Sc::Purpose,
                "",
                "marketing.communications.email",
                "2026-07-01",
            ),
            true,
        ),
        (
            suppression(
                Sc::Purpose,
                "",
                "marketing.communications.sms",
                "2026-07-01",
            ),
            false,
        ),
        (suppression(Sc::All, "", "", ""), true), // undated: always applies
        (suppression(Sc::Unspecified, "", "", "2026-07-01"), true), // unscoped: fail-safe
        (suppression(Sc::Brand, "", "", "2026-07-01"), true), // BRAND without brand: fail-safe
    ] {
        let mut c = base.clone();
        c.suppressions.push(s.clone());
        let d = run(&c);
        if suppressed {
            expect_not_eligible(&d, D::Suppressed, "G1");
            assert_eq!(reason(&d), "SUPPRESSION_ON_FILE");
        } else {
            expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
        }
    }
}

#[test]
fn g1_future_suppression_is_ignored_until_it_happens() {
    let mut c = customer("BE", "NV", "jan@acme.be", "2026-03-01");
    c.suppressions.push(suppression(
        pb::suppression_scope::Value::All,
        "",
        "",
        "2026-12-15",
    ));
    let d = run(&c);
    expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
    assert_eq!(valid_until(&d), Some(t("2026-12-15")));
    let later = decide(
        &c,
        &enrichment(&c, F::It, S::HeadManager),
        &itsm(),
        t("2026-12-15"),
        RuleSet::embedded(),
    );
    expect_not_eligible(&later, D::Suppressed, "G1");
}

#[test]
fn g1_beats_consent_and_everything_else() {
    let mut c = contact("ES", "S.L.", "jan@acme.es");
    c.consents.push(consent("northwind", "2026-05-01", true));
    c.suppressions.push(suppression(
        pb::suppression_scope::Value::All,
        "",
        "",
        "2026-11-01",
    ));
    expect_not_eligible(&run(&c), D::Suppressed, "G1");
}

#[test]
fn g2_restricted_source() {
    let mut c = contact("US", "Inc.", "jan@acme.com");
    c.source.as_mut().unwrap().restricted = true;
    let d = run(&c);
    expect_not_eligible(&d, D::Suppressed, "G2");
    assert_eq!(reason(&d), "SOURCE_RESTRICTED");
}

fn consent(brand: &str, captured: &str, documented: bool) -> pb::Consent {
    pb::Consent {
        brand: brand.into(),
        purpose: "marketing.communications.email".into(),
        channel: pb::channel::Value::Email as i32,
        captured_at: ts(captured),
        text_version: if documented {
            "v3".into()
        } else {
            String::new()
        },
        capture_source: "webform:/whitepaper/itsm".into(),
        double_opt_in_at: ts(captured),
        withdrawn_at: None,
    }
}

#[test]
fn g3_withdrawn_consent_suppresses_without_fallback() {
    // IE generic address would be ELIGIBLE under IE1 without the consent.
    let mut c = contact("IE", "Ltd", "info@acme.ie");
    let mut k = consent("northwind", "2026-05-01", true);
    k.withdrawn_at = ts("2026-10-01");
    c.consents.push(k);
    let d = run(&c);
    expect_not_eligible(&d, D::Suppressed, "G3");
    assert_eq!(reason(&d), "CONSENT_WITHDRAWN");
}

#[test]
fn g3_only_the_latest_matching_consent_counts() {
    let mut c = contact("ES", "S.L.", "jan@acme.es");
    let mut old = consent("northwind", "2025-01-01", true);
    old.withdrawn_at = ts("2025-06-01");
    c.consents.push(consent("northwind", "2026-05-01", true));
    c.consents.push(old);
    expect(&run(&c), D::Eligible, G::Consent, B::Consent, "G4");

    // A withdrawal dated after asOf has not happened yet.
    let mut c = contact("ES", "S.L.", "jan@acme.es");
    let mut k = consent("northwind", "2026-05-01", true);
    k.withdrawn_at = ts("2027-01-10");
    c.consents.push(k);
    let d = run(&c);
    expect(&d, D::Eligible, G::Consent, B::Consent, "G4");
    assert_eq!(valid_until(&d), Some(t("2027-01-10")));
}

// ---------------------------------------------------------------------------
// Step 3: consent

#[test]
fn g4_documented_consent_with_obligations() {
    let mut c = contact("ES", "S.L.", "jan@acme.es");
    c.consents.push(consent("northwind", "2026-05-01", true));
    let d = run(&c);
    expect(&d, D::Eligible, G::Consent, B::Consent, "G4");
    assert_eq!(reason(&d), "CONSENT_ON_FILE");
    // Consent basis: no Art. 21(4) notice obligation from legitimate interest.
    assert_eq!(
        d.obligations,
        [
            "IDENTIFY_SENDER",
            "OPT_OUT_IN_EVERY_MESSAGE",
            "MARK_AS_ADVERTISING"
        ]
    );
}

#[test]
fn g4_consent_wins_even_where_the_country_or_data_would_block() {
    // Consent comes before jurisdiction and data quality (steps 3 < 4, 5).
    let mut c = contact("LU", "SARL", "jan@acme.lu");
    c.consents.push(consent("northwind", "2026-05-01", true));
    expect(&run(&c), D::Eligible, G::Consent, B::Consent, "G4");
    let mut c = contact("PL", "sp. z o.o.", "jan@acme.pl");
    c.last_verified_at = ts("2020-01-01");
    c.consents.push(consent("northwind", "2026-05-01", true));
    expect(&run(&c), D::Eligible, G::Consent, B::Consent, "G4");
}

#[test]
fn g4_consent_for_another_brand_purpose_or_channel_does_not_match() {
    let mut c = contact("AT", "GmbH", "jan@acme.at");
    c.consents.push(consent("othercorp", "2026-05-01", true));
    let mut k = consent("northwind", "2026-05-01", true);
    k.purpose = "marketing.communications.sms".into();
    c.consents.push(k);
    let mut k = consent("northwind", "2026-05-01", true);
    k.channel = pb::channel::Value::Phone as i32;
    c.consents.push(k);
    // A consent captured after asOf does not exist yet either.
    c.consents.push(consent("northwind", "2027-01-01", true));
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsConsent, "AT1");
    assert_eq!(valid_until(&d), Some(t("2027-01-01")));
}

#[test]
fn de_doi_german_consent_needs_double_opt_in() {
    let mut c = contact("DE", "GmbH", "jan@acme.de");
    c.consents.push(consent("northwind", "2026-05-01", true));
    expect(&run(&c), D::Eligible, G::Consent, B::Consent, "G4");
    c.consents[0].double_opt_in_at = None;
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsReview, "DE_DOI");
    assert_eq!(reason(&d), "CONSENT_WITHOUT_DOUBLE_OPT_IN");
    // Elsewhere double opt-in is not required.
    let mut c = contact("IT", "S.r.l.", "jan@acme.it");
    c.consents.push(consent("northwind", "2026-05-01", true));
    c.consents[0].double_opt_in_at = None;
    expect(&run(&c), D::Eligible, G::Consent, B::Consent, "G4");
}

#[test]
fn g5_consent_without_evidence() {
    for strip in ["text", "source", "captured"] {
        let mut c = contact("IT", "S.r.l.", "jan@acme.it");
        let mut k = consent("northwind", "2026-05-01", true);
        match strip {
            "text" => k.text_version.clear(),
            "source" => k.capture_source = "  ".into(),
            _ => k.captured_at = None,
        }
        c.consents.push(k);
        let d = run(&c);
        expect_not_eligible(&d, D::NeedsReview, "G5");
        assert_eq!(reason(&d), "CONSENT_EVIDENCE_MISSING", "{strip}");
    }
}

// ---------------------------------------------------------------------------
// Step 4: jurisdiction

#[test]
fn g11_no_country() {
    let d = run(&contact("", "BV", "jan@acme.com"));
    expect_not_eligible(&d, D::NeedsReview, "G11");
    assert_eq!(d.jurisdiction, "");
}

#[test]
fn g12_country_not_covered() {
    for cc in ["LU", "CH", "NO", "CA"] {
        let d = run(&contact(cc, "SARL", "jan@acme.example"));
        expect_not_eligible(&d, D::NeedsReview, "G12");
        assert_eq!(d.jurisdiction, cc);
    }
}

#[test]
fn country_falls_back_to_the_organisation_and_uk_reads_as_gb() {
    let mut c = contact("", "Ltd", "info@acme.co.uk");
    c.organisation.as_mut().unwrap().country = "uk".into();
    let d = run(&c);
    expect_b2b(&d, "UK1");
    assert_eq!(d.jurisdiction, "GB");
    // The contact's own country wins over the organisation's.
    let mut c = contact("DE", "Ltd", "info@acme.co.uk");
    c.organisation.as_mut().unwrap().country = "GB".into();
    expect_not_eligible(&run(&c), D::NeedsConsent, "DE1");
}

// ---------------------------------------------------------------------------
// Step 5: data quality

#[test]
fn g9_stale_data_calendar_months() {
    let mut c = contact("US", "Inc.", "jan@acme.com");
    c.last_verified_at = ts("2024-11-30");
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsReview, "G9");
    assert_eq!(reason(&d), "DATA_STALE");
    // Exactly 24 months: not "over" yet; the decision is valid until that instant.
    c.last_verified_at = ts("2024-12-01");
    let d = run(&c);
    expect(
        &d,
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
    assert_eq!(valid_until(&d), Some(t("2026-12-01")));
}

#[test]
fn g9_falls_back_to_obtained_at_and_ignores_future_dates() {
    let mut c = contact("US", "Inc.", "jan@acme.com");
    c.last_verified_at = None;
    c.source.as_mut().unwrap().obtained_at = ts("2024-01-01");
    expect_not_eligible(&run(&c), D::NeedsReview, "G9");
    // A verification date after asOf is ignored: the old obtainedAt decides.
    c.last_verified_at = ts("2027-01-01");
    expect_not_eligible(&run(&c), D::NeedsReview, "G9");
    // Neither date: data age unknown, not stale.
    c.last_verified_at = None;
    c.source.as_mut().unwrap().obtained_at = None;
    let d = run(&c);
    expect(
        &d,
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
    assert_eq!(valid_until(&d), None);
}

#[test]
fn g13_source_provenance() {
    for kind in [
        pb::source_kind::Value::PriorEmployerNetwork,
        pb::source_kind::Value::Scraped,
    ] {
        let mut c = contact("GB", "Ltd", "jan@acme.co.uk");
        c.source.as_mut().unwrap().kind = kind as i32;
        let d = run(&c);
        expect_not_eligible(&d, D::NeedsReview, "G13");
        assert_eq!(reason(&d), "SOURCE_PROVENANCE");
    }
}

#[test]
fn g9_before_g13() {
    let mut c = contact("GB", "Ltd", "jan@acme.co.uk");
    c.source.as_mut().unwrap().kind = pb::source_kind::Value::Scraped as i32;
    c.last_verified_at = ts("2020-01-01");
    expect_not_eligible(&run(&c), D::NeedsReview, "G9");
}

// ---------------------------------------------------------------------------
// Step 6: soft opt-in

#[test]
fn soi_in_every_country_that_allows_it_without_conditions() {
    for (cc, form) in [
        ("NL", "BV"),
        ("BE", "NV"),
        ("DE", "GmbH"),
        ("FR", "SAS"),
        ("GB", "Ltd"),
        ("DK", "A/S"),
        ("SE", "AB"),
    ] {
        let d = run(&customer(cc, form, "jan.smit@acme.example", "2026-03-01"));
        expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
        assert_eq!(reason(&d), "SOFT_OPT_IN_CUSTOMER", "{cc}");
        assert!(d.reasons[0].citation.contains("13(2)"), "{cc}");
        assert_eq!(
            d.obligations,
            [
                "IDENTIFY_SENDER",
                "OPT_OUT_IN_EVERY_MESSAGE",
                "MARK_AS_ADVERTISING",
                "ART21_OBJECTION_NOTICE"
            ],
            "{cc}"
        );
    }
}

#[test]
fn soi_citation_is_the_countrys() {
    let d = run(&customer("NL", "BV", "jan@acme.nl", "2026-03-01"));
    assert!(d.reasons[0].citation.contains("11.7(2)"), "{:?}", d.reasons);
    let d = run(&customer("DE", "GmbH", "jan@acme.de", "2026-03-01"));
    assert!(
        d.reasons[0].citation.contains("UWG §7(3)"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn soi_base_conditions() {
    // A similar category counts.
    let mut c = customer("DK", "A/S", "jan@acme.dk", "2026-03-01");
    c.purchases[0].product_category = "software.servicedesk".into();
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
    // An unrelated category does not: DK1.
    c.purchases[0].product_category = "hardware.laptops".into();
    expect_not_eligible(&run(&c), D::NeedsConsent, "DK1");
    // No opt-out offered at collection: DK1.
    let mut c = customer("DK", "A/S", "jan@acme.dk", "2026-03-01");
    c.purchases[0].opt_out_offered_at_collection = false;
    expect_not_eligible(&run(&c), D::NeedsConsent, "DK1");
    // A prospect or partner with a purchase on file is no customer: DK1.
    for rel in [
        pb::relationship::Value::Prospect,
        pb::relationship::Value::Partner,
    ] {
        let mut c = customer("DK", "A/S", "jan@acme.dk", "2026-03-01");
        c.relationship = rel as i32;
        expect_not_eligible(&run(&c), D::NeedsConsent, "DK1");
    }
    // An ex-customer keeps it.
    let mut c = customer("DK", "A/S", "jan@acme.dk", "2026-03-01");
    c.relationship = pb::relationship::Value::ExCustomer as i32;
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
    // A purchase after asOf has not happened yet.
    let c = customer("DK", "A/S", "jan@acme.dk", "2027-02-01");
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsConsent, "DK1");
    assert_eq!(valid_until(&d), Some(t("2027-02-01")));
}

#[test]
fn soi_protects_natural_persons_too() {
    // Whatever the entity type or address kind.
    let mut c = customer("NL", "eenmanszaak", "jan.smit@gmail.com", "2026-03-01");
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
    c.organisation.as_mut().unwrap().entity_type = pb::entity_type::Value::Consumer as i32;
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
}

#[test]
fn soi_is_not_checked_for_role_relevance_but_needs_an_lia() {
    // A marketing assistant at a personal address: role NONE, but R1 is for step 7 only.
    let c = customer("NL", "BV", "jan@acme.nl", "2026-03-01");
    let d = run_with(&c, F::Marketing, S::Staff, &itsm());
    expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
    assert_eq!(d.dmu_role, Role::None as i32);
    assert!(!d.role_relevant);
    let mut cmp = itsm();
    cmp.legitimate_interest_assessment_ref = " ".into();
    expect_not_eligible(
        &run_with(&c, F::It, S::HeadManager, &cmp),
        D::NeedsReview,
        "G10",
    );
}

#[test]
fn soi_ie_purchase_within_12_months() {
    let d = run(&customer("IE", "Ltd", "jan@acme.ie", "2026-03-01"));
    expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
    // The soft opt-in lapses 12 months after the purchase (then IE2 would apply).
    assert_eq!(valid_until(&d), Some(t("2027-03-01")));
    // Exactly 12 months ago is still within.
    let d = run(&customer("IE", "Ltd", "jan@acme.ie", "2025-12-01"));
    expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
    // Older: step 7 decides; generic → IE1, personal → IE2 (DMU match).
    expect_b2b(
        &run(&customer("IE", "Ltd", "info@acme.ie", "2025-01-01")),
        "IE1",
    );
    expect_b2b(
        &run(&customer("IE", "Ltd", "jan@acme.ie", "2025-01-01")),
        "IE2",
    );
    // An undated purchase cannot be shown to be within 12 months.
    let mut c = customer("IE", "Ltd", "info@acme.ie", "2026-03-01");
    c.purchases[0].purchased_at = None;
    expect_b2b(&run(&c), "IE1");
    // Any one recent purchase is enough.
    let mut c = customer("IE", "Ltd", "jan@acme.ie", "2024-01-01");
    c.purchases.push(pb::Purchase {
        purchased_at: ts("2026-06-01"),
        ..c.purchases[0].clone()
    });
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
}

#[test]
fn soi_it_address_supplied_by_contact() {
    let d = run(&customer("IT", "S.r.l.", "jan@acme.it", "2026-03-01"));
    expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
    let mut c = customer("IT", "S.r.l.", "info@acme.it", "2026-03-01");
    c.purchases[0].address_supplied_by_contact = false;
    expect_not_eligible(&run(&c), D::NeedsConsent, "IT1");
}

#[test]
fn soi_at_ecg_list() {
    let mut c = customer("AT", "GmbH", "jan@acme.at", "2026-03-01");
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
    c.exclusion_lists.push("AT_ECG".into());
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsConsent, "AT_ECG");
    assert_eq!(reason(&d), "AT_ECG_LIST");
    // The list matters for the soft opt-in only: a prospect needs consent anyway (AT1).
    let mut p = contact("AT", "GmbH", "jan@acme.at");
    p.exclusion_lists.push("AT_ECG".into());
    expect_not_eligible(&run(&p), D::NeedsConsent, "AT1");
    // The other country's list does not count.
    let mut c = customer("AT", "GmbH", "jan@acme.at", "2026-03-01");
    c.exclusion_lists.push("ES_ROBINSON".into());
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
}

#[test]
fn soi_es_robinson_list() {
    let mut c = customer("ES", "S.L.", "jan@acme.es", "2026-03-01");
    expect(
        &run(&c),
        D::Eligible,
        G::SoftOptIn,
        B::LegitimateInterest,
        "SOI",
    );
    c.exclusion_lists.push("es_robinson".into());
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsReview, "ES_ROBINSON");
    assert_eq!(reason(&d), "ES_ROBINSON_LIST");
}

#[test]
fn soi_not_in_poland_nor_the_us() {
    expect_not_eligible(
        &run(&customer("PL", "sp. z o.o.", "info@acme.pl", "2026-03-01")),
        D::NeedsConsent,
        "PL1",
    );
    let d = run(&customer("US", "Inc.", "info@acme.com", "2026-03-01"));
    expect(
        &d,
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
}

// ---------------------------------------------------------------------------
// Step 7: P1, P2 and the country rows

#[test]
fn p1_private_address_everywhere_but_the_us() {
    for cc in [
        "NL", "BE", "DE", "FR", "GB", "IE", "ES", "IT", "AT", "DK", "SE", "PL",
    ] {
        let d = run(&contact(cc, "Ltd", "jan.smit@hotmail.com"));
        expect_not_eligible(&d, D::NeedsConsent, "P1");
        assert_eq!(reason(&d), "PRIVATE_ADDRESS", "{cc}");
    }
    let d = run(&contact("US", "Inc.", "jan.smit@gmail.com"));
    expect(
        &d,
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
}

#[test]
fn p2_consumer_everywhere_but_the_us() {
    for cc in ["NL", "GB", "IE", "SE", "FR"] {
        let mut c = contact(cc, "", "info@acme.example");
        c.organisation.as_mut().unwrap().entity_type = pb::entity_type::Value::Consumer as i32;
        let d = run(&c);
        expect_not_eligible(&d, D::NeedsConsent, "P2");
        assert_eq!(reason(&d), "CONSUMER", "{cc}");
    }
    let mut c = contact("US", "", "jan@acme.com");
    c.organisation.as_mut().unwrap().entity_type = pb::entity_type::Value::Consumer as i32;
    expect(
        &run(&c),
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
}

#[test]
fn nl1_published_marketing_address() {
    let mut c = contact("NL", "NV", "Marketing@Acme.nl");
    c.organisation
        .as_mut()
        .unwrap()
        .published_marketing_addresses = vec!["marketing@acme.nl".into()];
    expect_b2b(&run(&c), "NL1");
    // A generic address that was not published: NL2.
    let c = contact("NL", "NV", "info@acme.nl");
    expect_not_eligible(&run(&c), D::NeedsConsent, "NL2");
    // A published personal address opens the channel; step 8 checks the role (R1).
    let mut c = contact("NL", "BV", "jan.smit@acme.nl");
    c.organisation
        .as_mut()
        .unwrap()
        .published_marketing_addresses = vec!["jan.smit@acme.nl".into()];
    expect_b2b(&run(&c), "NL1");
    expect_not_eligible(
        &run_with(&c, F::Marketing, S::Staff, &itsm()),
        D::NeedsConsent,
        "R1",
    );
    // A sole trader's published address: NL2 (the exception is for legal persons).
    let mut c = contact("NL", "eenmanszaak", "info@acme.nl");
    c.organisation
        .as_mut()
        .unwrap()
        .published_marketing_addresses = vec!["info@acme.nl".into()];
    expect_not_eligible(&run(&c), D::NeedsConsent, "NL2");
}

#[test]
fn nl2_personal_address_and_sole_traders() {
    let d = run(&contact("NL", "BV", "jan.smit@acme.nl"));
    expect_not_eligible(&d, D::NeedsConsent, "NL2");
    assert_eq!(reason(&d), "NL_PERSONAL_ADDRESS_REQUIRES_CONSENT");
    assert_eq!(d.reasons[0].citation, "Telecommunicatiewet art. 11.7(1)");
    for form in ["ZZP", "eenmanszaak", "vof", "maatschap"] {
        expect_not_eligible(
            &run(&contact("NL", form, "info@acme.nl")),
            D::NeedsConsent,
            "NL2",
        );
    }
}

#[test]
fn be_rows() {
    expect_b2b(&run(&contact("BE", "SRL", "info@acme.be")), "BE1");
    expect_b2b(&run(&contact("BE", "VZW", "sales+q1@acme.be")), "BE1");
    let d = run(&contact("BE", "NV", "jan.smit@acme.be"));
    expect_not_eligible(&d, D::NeedsConsent, "BE2");
    expect_not_eligible(
        &run(&contact("BE", "eenmanszaak", "info@acme.be")),
        D::NeedsConsent,
        "BE2",
    );
    // A public body counts as a legal person.
    let mut c = contact("BE", "", "info@stad.be");
    c.organisation.as_mut().unwrap().entity_type = pb::entity_type::Value::PublicBody as i32;
    expect_b2b(&run(&c), "BE1");
}

#[test]
fn consent_only_countries() {
    for (cc, form, row) in [
        ("DE", "GmbH", "DE1"),
        ("AT", "GmbH", "AT1"),
        ("DK", "ApS", "DK1"),
        ("ES", "S.L.", "ES1"),
        ("IT", "S.p.A.", "IT1"),
        ("PL", "sp. z o.o.", "PL1"),
    ] {
        for email in ["info@acme.example", "jan.smit@acme.example"] {
            let d = run(&contact(cc, form, email));
            expect_not_eligible(&d, D::NeedsConsent, row);
            assert!(reason(&d).ends_with("_CONSENT_REQUIRED"), "{cc}");
        }
        // Even a perfect DMU match with an unknown entity type changes nothing.
        expect_not_eligible(
            &run(&contact(cc, "", "info@acme.example")),
            D::NeedsConsent,
            row,
        );
    }
}

/// The facilities campaign of the dev scenarios: owning facilities, targets DECIDER + BUYER.
fn facilities() -> pb::Campaign {
    pb::Campaign {
        campaign_id: "cmp-fm".into(),
        brand: "cleanco".into(),
        sender_country: "BE".into(),
        product_category: "services.cleaning".into(),
        similar_product_categories: vec!["services.facility".into()],
        dmu_profile: Some(pb::DmuProfile {
            owning_functions: vec!["facilities".into()],
            budget_functions: vec!["finance".into()],
            target_roles: vec![Role::Decider as i32, Role::Buyer as i32],
            ..Default::default()
        }),
        legitimate_interest_assessment_ref: "LIA-FM-3".into(),
        ..itsm()
    }
}

#[test]
fn fr_rows() {
    let fm = facilities();
    // FR1: informed professional, role relevant (facility manager decides cleaning).
    let c = contact("FR", "SAS", "jan.smit@acme.fr");
    let d = run_with(&c, F::Facilities, S::HeadManager, &fm);
    expect_b2b(&d, "FR1");
    assert_eq!(d.dmu_role, Role::Decider as i32);
    assert!(d.role_relevant);
    // FR1 then R1: a communications officer is outside the DMU.
    expect_not_eligible(
        &run_with(&c, F::Marketing, S::Staff, &itsm()),
        D::NeedsConsent,
        "R1",
    );
    // FR3: not informed at collection.
    let mut c = contact("FR", "SAS", "jan.smit@acme.fr");
    c.source.as_mut().unwrap().informed_at_collection = false;
    expect_not_eligible(&run(&c), D::NeedsReview, "FR3");
    // FR4: a generic address, informed or not.
    let mut c = contact("FR", "SA", "accueil@acme.fr");
    c.source.as_mut().unwrap().informed_at_collection = false;
    expect_b2b(&run(&c), "FR4");
    // FR6: sole traders and partnerships.
    for form in ["EI", "auto-entrepreneur", "SNC"] {
        expect_not_eligible(
            &run(&contact("FR", form, "jan@acme.fr")),
            D::NeedsReview,
            "FR6",
        );
    }
}

#[test]
fn uk_rows() {
    expect_b2b(&run(&contact("GB", "Ltd", "info@acme.co.uk")), "UK1");
    let d = run_with(
        &contact("GB", "plc", "jan.smit@acme.co.uk"),
        F::It,
        S::VpDirector,
        &itsm(),
    );
    expect_b2b(&d, "UK1");
    for form in ["LLP", "Scottish partnership"] {
        expect_b2b(&run(&contact("GB", form, "jan.smit@acme.co.uk")), "UK1");
    }
    for form in ["Partnership", "Sole trader", "LP"] {
        let d = run(&contact("GB", form, "info@acme.co.uk"));
        expect_not_eligible(&d, D::NeedsConsent, "UK2");
        assert_eq!(reason(&d), "UK_INDIVIDUAL_SUBSCRIBER");
    }
}

#[test]
fn ie_rows() {
    expect_b2b(&run(&contact("IE", "Ltd", "info@acme.ie")), "IE1");
    expect_b2b(&run(&contact("IE", "Ltd", "jan.smit@acme.ie")), "IE2");
    expect_not_eligible(
        &run(&contact("IE", "Sole trader", "info@acme.ie")),
        D::NeedsReview,
        "IE3",
    );
    expect_not_eligible(
        &run(&contact("IE", "Partnership", "jan@acme.ie")),
        D::NeedsReview,
        "IE3",
    );
}

#[test]
fn se_rows() {
    expect_b2b(&run(&contact("SE", "AB", "kontakt@acme.se")), "SE1");
    expect_not_eligible(
        &run(&contact("SE", "AB", "jan.smit@acme.se")),
        D::NeedsReview,
        "SE2",
    );
    expect_not_eligible(
        &run(&contact("SE", "enskild firma", "info@acme.se")),
        D::NeedsConsent,
        "SE3",
    );
}

#[test]
fn us1_can_spam_with_postal_address() {
    let d = run_with(
        &contact("US", "Inc.", "jan.smit@acme.com"),
        F::It,
        S::VpDirector,
        &itsm(),
    );
    expect(
        &d,
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
    assert_eq!(reason(&d), "US_CAN_SPAM_OPT_OUT");
    assert_eq!(
        d.obligations,
        [
            "IDENTIFY_SENDER",
            "OPT_OUT_IN_EVERY_MESSAGE",
            "MARK_AS_ADVERTISING",
            "ART21_OBJECTION_NOTICE",
            "POSTAL_ADDRESS"
        ]
    );
    // Sole traders too; step 8 still checks the role of a named address.
    expect_not_eligible(
        &run_with(
            &contact("US", "sole proprietor", "jan@acme.com"),
            F::Sales,
            S::Staff,
            &itsm(),
        ),
        D::NeedsConsent,
        "R1",
    );
}

// ---------------------------------------------------------------------------
// X2: entity type unknown

#[test]
fn x2_same_answer_both_ways_stands() {
    // NL personal address: NL2 either way.
    let d = run(&contact("NL", "", "jan.smit@acme.nl"));
    expect_not_eligible(&d, D::NeedsConsent, "NL2");
    // US: US1 either way, then step 8 as usual.
    let d = run(&contact("US", "", "info@acme.com"));
    expect(
        &d,
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
    // BE personal: BE2 either way.
    expect_not_eligible(
        &run(&contact("BE", "", "jan@acme.be")),
        D::NeedsConsent,
        "BE2",
    );
    // FR personal, not informed: FR3 and FR6 both NEEDS_REVIEW.
    let mut c = contact("FR", "Acme Holding", "jan@acme.fr");
    c.source.as_mut().unwrap().informed_at_collection = false;
    let d = run(&c);
    assert_eq!(d.decision, D::NeedsReview as i32);
    assert_eq!(d.rule_id, "FR3");
}

#[test]
fn x2_different_answers_need_review() {
    for (cc, email) in [
        ("BE", "info@acme.be"),    // BE1 vs BE2
        ("GB", "jan@acme.co.uk"),  // UK1 vs UK2
        ("IE", "jan@acme.ie"),     // IE2 vs IE3
        ("IE", "info@acme.ie"),    // IE1 vs IE3
        ("SE", "jan@acme.se"),     // SE2 vs SE3
        ("SE", "info@acme.se"),    // SE1 vs SE3
        ("FR", "contact@acme.fr"), // FR4 vs FR6
    ] {
        let d = run(&contact(cc, "", email));
        expect_not_eligible(&d, D::NeedsReview, "X2");
        assert_eq!(reason(&d), "ENTITY_TYPE_UNKNOWN", "{cc} {email}");
    }
    // A legal form the rule set does not know is UNKNOWN too.
    expect_not_eligible(
        &run(&contact("GB", "Holdings", "info@acme.co.uk")),
        D::NeedsReview,
        "X2",
    );
}

#[test]
fn x2_comes_after_p1() {
    expect_not_eligible(
        &run(&contact("GB", "", "jan@gmail.com")),
        D::NeedsConsent,
        "P1",
    );
}

// ---------------------------------------------------------------------------
// Step 8: the legitimate-interest overlay

#[test]
fn r1_role_relevance_on_named_addresses() {
    let c = contact("IE", "Ltd", "jan.smit@acme.ie");
    // No signal in the title.
    let d = run_with(&c, F::Other, S::Unknown, &itsm());
    expect_not_eligible(&d, D::NeedsReview, "R1");
    assert_eq!(reason(&d), "ROLE_UNKNOWN");
    assert_eq!(d.dmu_role, Role::Unknown as i32);
    // A user of the product, but users are not targeted.
    let d = run_with(&c, F::CustomerService, S::Staff, &itsm());
    expect_not_eligible(&d, D::NeedsConsent, "R1");
    assert_eq!(reason(&d), "ROLE_NOT_IN_DMU");
    assert_eq!(d.dmu_role, Role::User as i32);
    // An influencer is targeted.
    let d = run_with(&c, F::It, S::SeniorSpecialist, &itsm());
    expect_b2b(&d, "IE2");
    assert_eq!(d.dmu_role, Role::Influencer as i32);
    assert!(d.role_relevant);
}

#[test]
fn r1_not_for_generic_addresses() {
    // A generic address has no person's role to check.
    let d = run_with(
        &contact("IE", "Ltd", "info@acme.ie"),
        F::Other,
        S::Unknown,
        &itsm(),
    );
    expect_b2b(&d, "IE1");
    let d = run_with(
        &contact("GB", "Ltd", "sales@acme.co.uk"),
        F::Sales,
        S::Staff,
        &itsm(),
    );
    expect_b2b(&d, "UK1");
}

#[test]
fn g10_no_lia_after_r1() {
    let mut cmp = itsm();
    cmp.legitimate_interest_assessment_ref.clear();
    let c = contact("US", "Inc.", "jan.smit@acme.com");
    let d = run_with(&c, F::It, S::CLevel, &cmp);
    expect_not_eligible(&d, D::NeedsReview, "G10");
    assert_eq!(reason(&d), "LIA_MISSING");
    // R1 comes first.
    expect_not_eligible(
        &run_with(&c, F::Marketing, S::Staff, &cmp),
        D::NeedsConsent,
        "R1",
    );
    // G10 does not apply to consent.
    let mut c = contact("ES", "S.L.", "jan@acme.es");
    c.consents.push(consent("northwind", "2026-05-01", true));
    expect(
        &run_with(&c, F::It, S::HeadManager, &cmp),
        D::Eligible,
        G::Consent,
        B::Consent,
        "G4",
    );
}

fn third_party(c: &mut pb::Contact, kind: pb::source_kind::Value, obtained: Option<&str>) {
    let s = c.source.as_mut().unwrap();
    s.kind = kind as i32;
    s.obtained_at = obtained.and_then(ts);
}

#[test]
fn g7_art14_notice_overdue() {
    let mut c = contact("US", "Inc.", "info@acme.com");
    third_party(
        &mut c,
        pb::source_kind::Value::DataBroker,
        Some("2026-10-01"),
    );
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsReview, "G7");
    assert_eq!(reason(&d), "ART14_NOTICE_OVERDUE");
    // Unknown obtainedAt counts as overdue.
    third_party(&mut c, pb::source_kind::Value::EventList, None);
    expect_not_eligible(&run(&c), D::NeedsReview, "G7");
    // Notice sent: fine.
    c.source.as_mut().unwrap().art14_notice_sent_at = ts("2026-10-05");
    expect(
        &run(&c),
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
    // A notice dated after asOf has not been sent yet.
    c.source.as_mut().unwrap().art14_notice_sent_at = ts("2026-12-20");
    let d = run(&c);
    expect_not_eligible(&d, D::NeedsReview, "G7");
    assert_eq!(valid_until(&d), Some(t("2026-12-20")));
    // First-party sources owe no Art. 14 notice.
    third_party(&mut c, pb::source_kind::Value::FirstPartyForm, None);
    expect(
        &run(&c),
        D::Eligible,
        G::CanSpamOptOut,
        B::LegitimateInterest,
        "US1",
    );
}

#[test]
fn g8_art14_notice_in_the_first_message() {
    let mut c = contact("IE", "Ltd", "info@acme.ie");
    third_party(
        &mut c,
        pb::source_kind::Value::EnrichmentVendor,
        Some("2026-11-20"),
    );
    let d = run(&c);
    expect_b2b(&d, "IE1");
    assert!(
        d.obligations
            .contains(&"ART14_NOTICE_IN_FIRST_MESSAGE".to_owned())
    );
    assert!(d.obligations.contains(&"ART21_OBJECTION_NOTICE".to_owned()));
    assert_eq!(d.reasons[1].code, "ART14_NOTICE_DUE");
    // The month runs out on 20 Dec: then G7.
    assert_eq!(valid_until(&d), Some(t("2026-12-20")));
    let later = decide(
        &c,
        &enrichment(&c, F::It, S::HeadManager),
        &itsm(),
        t("2026-12-21"),
        RuleSet::embedded(),
    );
    expect_not_eligible(&later, D::NeedsReview, "G7");
    // Exactly one month before asOf is still within.
    third_party(
        &mut c,
        pb::source_kind::Value::PartnerReferral,
        Some("2026-11-01"),
    );
    let d = run(&c);
    expect_b2b(&d, "IE1");
    assert!(
        d.obligations
            .contains(&"ART14_NOTICE_IN_FIRST_MESSAGE".to_owned())
    );
    // On a soft opt-in too.
    let mut c = customer("NL", "BV", "jan@acme.nl", "2026-03-01");
    third_party(
        &mut c,
        pb::source_kind::Value::EventList,
        Some("2026-11-15"),
    );
    let d = run(&c);
    expect(&d, D::Eligible, G::SoftOptIn, B::LegitimateInterest, "SOI");
    assert!(
        d.obligations
            .contains(&"ART14_NOTICE_IN_FIRST_MESSAGE".to_owned())
    );
}

#[test]
fn step8_order_r1_then_g10_then_g7() {
    let mut cmp = itsm();
    cmp.legitimate_interest_assessment_ref.clear();
    let mut c = contact("GB", "Ltd", "jan@acme.co.uk");
    third_party(
        &mut c,
        pb::source_kind::Value::DataBroker,
        Some("2026-01-01"),
    );
    expect_not_eligible(
        &run_with(&c, F::Other, S::Unknown, &cmp),
        D::NeedsReview,
        "R1",
    );
    expect_not_eligible(
        &run_with(&c, F::It, S::HeadManager, &cmp),
        D::NeedsReview,
        "G10",
    );
    expect_not_eligible(
        &run_with(&c, F::It, S::HeadManager, &itsm()),
        D::NeedsReview,
        "G7",
    );
}

// ---------------------------------------------------------------------------
// Validity, digest, targeting

#[test]
fn valid_until_is_the_earliest_change() {
    // NL2 now; on 1 Oct 2028 the data goes stale (G9).
    let d = run(&contact("NL", "BV", "jan@acme.nl"));
    expect_not_eligible(&d, D::NeedsConsent, "NL2");
    assert_eq!(valid_until(&d), Some(t("2028-10-01")));
    // Suppressed: no date changes it.
    let mut c = contact("NL", "BV", "jan@acme.nl");
    c.suppressions.push(suppression(
        pb::suppression_scope::Value::All,
        "",
        "",
        "2026-01-01",
    ));
    assert_eq!(valid_until(&run(&c)), None);
    // G8's month comes before the 24 months.
    let mut c = contact("GB", "Ltd", "info@acme.co.uk");
    third_party(
        &mut c,
        pb::source_kind::Value::DataBroker,
        Some("2026-11-10"),
    );
    assert_eq!(valid_until(&run(&c)), Some(t("2026-12-10")));
    // Re-deciding at validUntil + 1 s gives another answer; at validUntil the same.
    let e = enrichment(&c, F::It, S::HeadManager);
    let r = RuleSet::embedded();
    let at_limit = decide(&c, &e, &itsm(), t("2026-12-10"), r);
    let after = decide(&c, &e, &itsm(), t("2026-12-10T00:00:01Z"), r);
    assert_eq!(at_limit.rule_id, "UK1");
    assert_eq!(after.rule_id, "G7");
}

#[test]
fn digest_ignores_what_did_not_decide() {
    let a = contact("NL", "BV", "jan.smit@acme.nl");
    let mut b = a.clone();
    b.contact_id = "other".into();
    b.first_name = "Piet".into();
    b.job_title = "anything".into();
    b.email = "piet.jansen@acme.nl".into();
    b.organisation.as_mut().unwrap().name = "Other name".into();
    b.source.as_mut().unwrap().provider = "ListCo".into();
    let (da, db) = (run(&a), run(&b));
    assert_eq!(da.input_digest, db.input_digest);
    // A fact that decides changes it.
    let mut c = a.clone();
    c.email = "info@acme.nl".into();
    assert_ne!(run(&c).input_digest, da.input_digest);
    // So does the role for the campaign.
    assert_ne!(
        run_with(&a, F::Sales, S::Staff, &itsm()).input_digest,
        da.input_digest
    );
}

#[test]
fn digest_canonical_form_is_readable() {
    let c = contact("NL", "BV", "jan.smit@acme.nl");
    let e = enrichment(&c, F::It, S::HeadManager);
    let r = RuleSet::embedded();
    let f = facts(&c, &e, &PreparedCampaign::new(&itsm(), r), as_of(), r);
    let mut text = Vec::new();
    f.write_canonical("NL", &r.version, &mut |b| text.extend_from_slice(b));
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("dmumatch.inputs.v1\n2026.11.1\n1\nPERSONAL_BUSINESS\n"));
    let fields = f.canonical_fields("NL", &r.version);
    assert!(fields.contains(&("dmuRole", "DECIDER")));
    assert!(fields.contains(&("jurisdiction", "NL")));
    assert_eq!(text.lines().count(), fields.len() + 1);
    assert!(
        !text.contains("jan"),
        "no personal data in the digest input"
    );
}

#[test]
fn targeting() {
    let mut cmp = itsm();
    let nl = contact("NL", "BV", "jan@acme.nl");
    let gb = contact("GB", "Ltd", "jan@acme.co.uk");
    assert!(targets(&cmp, &nl));
    cmp.target_countries = vec!["nl".into(), "UK".into()];
    assert!(targets(&cmp, &nl) && targets(&cmp, &gb));
    assert!(!targets(&cmp, &contact("DE", "GmbH", "jan@acme.de")));
    assert!(!targets(&cmp, &contact("", "GmbH", "jan@acme.de")));
    cmp.target_organisation_ids = vec!["o-2".into()];
    assert!(!targets(&cmp, &nl));
    let mut nl2 = nl.clone();
    nl2.organisation.as_mut().unwrap().organisation_id = "o-2".into();
    assert!(targets(&cmp, &nl2));
}

#[test]
fn contract_example_contact_is_suppressed() {
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/contract/contact.json"
    ));
    let Ok(text) = text else { return };
    let c: pb::Contact = pb::from_json(&text).unwrap();
    let d = run(&c);
    expect_not_eligible(&d, D::Suppressed, "G1");
}

#[test]
fn invalid_input_decision() {
    let r = RuleSet::embedded();
    let d = decide_invalid_input(
        "c-9",
        &PreparedCampaign::new(&itsm(), r),
        "line 7: bad date",
        r,
    );
    assert_eq!(d.decision, D::NeedsReview as i32);
    assert_eq!(d.rule_id, "I0");
    assert_eq!(d.reasons[0].code, "INPUT_INVALID");
    assert!(d.reasons[0].message.contains("line 7"));
}

#[test]
fn deciding_into_a_used_buffer_leaves_nothing_behind() {
    let r = RuleSet::embedded();
    let cmp = PreparedCampaign::new(&itsm(), r);
    // A busy decision first: ELIGIBLE, two reasons, obligations, validUntil.
    let mut busy = contact("US", "Inc.", "info@acme.com");
    third_party(
        &mut busy,
        pb::source_kind::Value::DataBroker,
        Some("2026-11-20"),
    );
    let mut buf = decide_prepared(
        &busy,
        &enrichment(&busy, F::It, S::HeadManager),
        &cmp,
        as_of(),
        r,
    );
    buf.decision_id = "left over".into();
    buf.supersedes_decision_id = "left over".into();
    buf.decided_at = ts("2020-01-01");
    assert_eq!(buf.reasons.len(), 2);
    for c in [
        contact("NL", "BV", "jan@acme.nl"),
        {
            let mut c = contact("NL", "BV", "jan@acme.nl");
            c.suppressions
                .push(suppression(pb::suppression_scope::Value::All, "", "", ""));
            c
        },
        customer("IE", "Ltd", "jan@acme.ie", "2026-03-01"),
        busy.clone(),
    ] {
        let e = enrichment(&c, F::It, S::HeadManager);
        decide_prepared_into(&c, &e, &cmp, as_of(), r, &mut buf);
        assert_eq!(buf, decide_prepared(&c, &e, &cmp, as_of(), r));
    }
}
