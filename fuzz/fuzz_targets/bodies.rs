//! The fuzz target bodies, shared by the libFuzzer targets (`cargo fuzz`)
//! and the stable smoke run (`tests/fuzz_smoke.rs`). Each takes arbitrary
//! bytes and says whether it accepted them; a panic is a finding. Beyond "no panic", each checks what must
//! hold for any input it accepts.

#![allow(dead_code)]

use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use dmumatch::cli::contacts_csv::{self, Columns};
use dmumatch::engine::{self, Classifier, RuleSet};
use dmumatch::pb::{self, Encoding};
use dmumatch::worker::decode;

const MAX: usize = 1 << 20;

/// The first byte picks the declared content type; the rest is the body.
fn content_type(data: &[u8]) -> (Option<&'static str>, &[u8]) {
    match data.split_first() {
        None => (None, data),
        Some((b, rest)) => (
            match b % 4 {
                0 => Some("application/json"),
                1 => Some("application/x-protobuf"),
                2 => None,
                _ => Some("text/plain"),
            },
            rest,
        ),
    }
}

fn campaign() -> &'static pb::Campaign {
    static C: OnceLock<pb::Campaign> = OnceLock::new();
    C.get_or_init(|| pb::Campaign {
        campaign_id: "cmp-fuzz".into(),
        version: 1,
        brand: "acme".into(),
        sender_country: "NL".into(),
        purpose: "marketing.communications.email".into(),
        channel: pb::channel::Value::Email as i32,
        product_category: "software.itsm".into(),
        dmu_profile: Some(pb::DmuProfile {
            owning_functions: vec!["it".into()],
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A contact through the whole engine: enrich, target, decide.
fn decide(contact: &pb::Contact) {
    let rules = RuleSet::embedded();
    let e = engine::enrich(contact, Classifier::embedded(), rules);
    let _ = e.to_event(contact);
    let _ = engine::eligibility::targets(campaign(), contact);
    let as_of = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let d = engine::decide(contact, &e, campaign(), as_of, rules);
    assert!(d.input_digest.starts_with("sha256:"), "{d:?}");
    // What the worker publishes and `evaluate` prints can be written as JSON.
    serde_json::to_vec(&d).unwrap_or_else(|err| panic!("decision as JSON: {err}: {d:?}"));
}

/// `crm.events` bodies: decode + validate; what is accepted survives a
/// round trip through both encodings unchanged and goes through the engine.
pub fn decode_contact_event(data: &[u8]) -> bool {
    let (ct, body) = content_type(data);
    let Ok(inbound) = decode::contact_event(ct, body, MAX) else {
        return false;
    };
    assert!(!inbound.event_id.trim().is_empty());
    assert!(!decode::contact_id(&inbound.event).trim().is_empty());
    let msg = pb::ContactEvent {
        event_id: inbound.event_id.clone(),
        occurred_at: inbound.occurred_at.map(Into::into),
        event: Some(inbound.event.clone()),
    };
    for enc in [Encoding::Protobuf, Encoding::Json] {
        let again = decode::contact_event(Some(enc.content_type()), &enc.encode(&msg), MAX)
            .unwrap_or_else(|p| panic!("{enc:?} round trip refused: {p:?}"));
        assert_eq!(again, inbound, "{enc:?} round trip");
    }
    if let pb::contact_event::Event::ContactCreated(pb::ContactCreated { contact: Some(c) })
    | pb::contact_event::Event::ContactUpdated(pb::ContactUpdated { contact: Some(c) }) =
        &inbound.event
    {
        decide(c);
    }
    true
}

/// `campaign.events` bodies, as [`decode_contact_event`].
pub fn decode_campaign_event(data: &[u8]) -> bool {
    let (ct, body) = content_type(data);
    let Ok(inbound) = decode::campaign_event(ct, body, MAX) else {
        return false;
    };
    assert!(!decode::campaign_id(&inbound.event).trim().is_empty());
    let msg = pb::CampaignEvent {
        event_id: inbound.event_id.clone(),
        occurred_at: inbound.occurred_at.map(Into::into),
        event: Some(inbound.event.clone()),
    };
    for enc in [Encoding::Protobuf, Encoding::Json] {
        let again = decode::campaign_event(Some(enc.content_type()), &enc.encode(&msg), MAX)
            .unwrap_or_else(|p| panic!("{enc:?} round trip refused: {p:?}"));
        assert_eq!(again, inbound, "{enc:?} round trip");
    }
    if let pb::campaign_event::Event::CampaignPlanned(pb::CampaignPlanned { campaign: Some(c) })
    | pb::campaign_event::Event::CampaignUpdated(pb::CampaignUpdated { campaign: Some(c) }) =
        &inbound.event
    {
        let contact = pb::Contact {
            contact_id: "c".into(),
            country: "NL".into(),
            ..Default::default()
        };
        let rules = RuleSet::embedded();
        let e = engine::enrich(&contact, Classifier::embedded(), rules);
        let as_of = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let _ = engine::decide(&contact, &e, c, as_of, rules);
    }
    true
}

/// The contacts CSV reader (`evaluate --contacts FILE.csv`): the first byte
/// picks the delimiter; every row is an error or a contact the engine takes.
pub fn contacts_csv(data: &[u8]) -> bool {
    let (delimiter, body) = match data.split_first() {
        Some((b, rest)) => ([b',', b';', b'\t'][usize::from(*b) % 3], rest),
        None => (b',', data),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(body);
    let Ok(header) = reader.byte_headers().cloned() else {
        return false;
    };
    let Ok(columns) = Columns::from_header(&header) else {
        return false;
    };
    let mut accepted = false;
    for record in reader.records().take(64) {
        let Ok(record) = record else {
            continue;
        };
        if let Ok(contact) = contacts_csv::contact(&record, &columns) {
            decide(&contact);
            accepted = true;
        }
    }
    accepted
}

/// The title classifier: any text, any language hint.
pub fn classify_title(data: &[u8]) -> bool {
    let (lang, body) = match data.split_first() {
        Some((b, rest)) => (
            [None, Some("nl"), Some("en"), Some("de"), Some("fr")][usize::from(*b) % 5],
            rest,
        ),
        None => (None, data),
    };
    let title = String::from_utf8_lossy(body);
    let c = Classifier::embedded().classify(&title, lang);
    assert!(
        c.confidence.is_finite() && (0.0..=1.0).contains(&c.confidence),
        "confidence {} for {title:?}",
        c.confidence
    );
    let _ = c.evidence_strings();
    let _ = (c.function.id(), c.seniority.id());
    true
}
