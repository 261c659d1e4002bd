//! A deterministic mixed event stream whose final state does not depend on
//! the order in which events are applied (versions gate contact and campaign
//! data; objections and consents accumulate), so that runs with faults, with
//! several workers, or in another order can be compared with a clean run.

use chrono::{TimeZone, Utc};
use dmumatch::config::Topology;
use dmumatch::pb::{self, Encoding};

use crate::harness::{Msg, Stage};

const TITLES: &[&str] = &[
    "Hoofd ICT",
    "CFO",
    "IT Manager",
    "Inkoper",
    "Geschäftsführer",
    "DSI",
    "Teamleider klantcontact",
    "Head of Procurement",
    "Directeur",
    "Stagiair marketing",
];
const COUNTRIES: &[&str] = &["NL", "DE", "FR", "BE", "NL", "GB"];

fn ts(y: i32, m: u32, d: u32) -> Option<pb::Timestamp> {
    Some(Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap().into())
}

/// Contact `i` at `version`; `tag` makes names, emails and titles
/// recognisable (the PII test greps for them).
pub fn contact(i: usize, version: i64, tag: &str) -> pb::Contact {
    let country = COUNTRIES[i % COUNTRIES.len()];
    let title = TITLES[(i + version as usize) % TITLES.len()];
    let org = i % 40;
    pb::Contact {
        contact_id: format!("c-{i}"),
        version,
        first_name: format!("{tag}first{i}"),
        last_name: format!("{tag}last{i}"),
        email: format!("{tag}mail{i}@org{org}-{tag}.example"),
        job_title: format!("{title} {tag}title"),
        language: "nl".into(),
        country: country.into(),
        organisation: Some(pb::Organisation {
            organisation_id: format!("o-{org}"),
            name: format!("Org {org} B.V."),
            country: country.into(),
            legal_form: "BV".into(),
            domain: format!("org{org}-{tag}.example"),
            employee_count: 20 + (org as i32) * 37,
            ..Default::default()
        }),
        relationship: if i.is_multiple_of(3) {
            pb::relationship::Value::Customer as i32
        } else {
            pb::relationship::Value::Prospect as i32
        },
        source: Some(pb::Source {
            kind: pb::source_kind::Value::BusinessCard as i32,
            obtained_at: ts(2026, 9, 1),
            informed_at_collection: true,
            ..Default::default()
        }),
        last_verified_at: ts(2026, 9, 1),
        ..Default::default()
    }
}

pub fn campaign(id: &str, version: i64, countries: &[&str]) -> pb::Campaign {
    pb::Campaign {
        campaign_id: id.into(),
        version,
        name: format!("campaign {id}"),
        brand: "acme-sender".into(),
        sender_country: "NL".into(),
        purpose: "marketing.communications.email".into(),
        channel: pb::channel::Value::Email as i32,
        product_category: "software.itsm".into(),
        dmu_profile: Some(pb::DmuProfile {
            owning_functions: vec!["it".into()],
            target_roles: vec![
                pb::dmu_role::Value::Decider as i32,
                pb::dmu_role::Value::Influencer as i32,
            ],
            ..Default::default()
        }),
        target_countries: countries.iter().map(|c| (*c).to_owned()).collect(),
        legitimate_interest_assessment_ref: "LIA-1".into(),
        ..Default::default()
    }
}

fn contact_msg(t: &Topology, event: pb::contact_event::Event, enc: Encoding) -> Msg {
    let key = event.routing_key().to_owned();
    let e = pb::ContactEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: ts(2026, 11, 20),
        event: Some(event),
    };
    Msg {
        exchange: t.crm_exchange.clone(),
        routing_key: key,
        content_type: Some(enc.content_type().into()),
        body: enc.encode(&e),
    }
}

pub fn campaign_msg(t: &Topology, event: pb::campaign_event::Event) -> Msg {
    let key = event.routing_key().to_owned();
    let e = pb::CampaignEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: ts(2026, 11, 20),
        event: Some(event),
    };
    Msg {
        exchange: t.campaign_exchange.clone(),
        routing_key: key,
        content_type: Some(Encoding::Protobuf.content_type().into()),
        body: Encoding::Protobuf.encode(&e),
    }
}

/// What a stream is made of.
pub struct Mix {
    pub contacts: usize,
    /// Also update every 5th contact to version 2, object to every 7th,
    /// give consent for every 11th, and update campaign A mid-stream.
    pub changes: bool,
    pub tag: &'static str,
}

/// Two campaigns first, then the contacts (and changes, interleaved).
pub fn stream(t: &Topology, mix: &Mix) -> Vec<Msg> {
    use pb::contact_event::Event as C;
    let tag = mix.tag;
    let mut out = vec![
        campaign_msg(
            t,
            pb::campaign_event::Event::CampaignPlanned(pb::CampaignPlanned {
                campaign: Some(campaign("cmp-a", 1, &[])),
            }),
        ),
        campaign_msg(
            t,
            pb::campaign_event::Event::CampaignPlanned(pb::CampaignPlanned {
                campaign: Some(campaign("cmp-b", 1, &["NL", "DE"])),
            }),
        ),
    ];
    for i in 0..mix.contacts {
        let enc = if i.is_multiple_of(2) {
            Encoding::Protobuf
        } else {
            Encoding::Json
        };
        out.push(contact_msg(
            t,
            C::ContactCreated(pb::ContactCreated {
                contact: Some(contact(i, 1, tag)),
            }),
            enc,
        ));
        if !mix.changes || i < 10 {
            continue;
        }
        // Changes to contacts created a little earlier.
        let j = i - 10;
        if j.is_multiple_of(5) {
            out.push(contact_msg(
                t,
                C::ContactUpdated(pb::ContactUpdated {
                    contact: Some(contact(j, 2, tag)),
                }),
                Encoding::Protobuf,
            ));
        }
        if j.is_multiple_of(7) {
            out.push(contact_msg(
                t,
                C::ContactObjected(pb::ContactObjected {
                    contact_id: format!("c-{j}"),
                    suppression: Some(pb::Suppression {
                        scope: pb::suppression_scope::Value::All as i32,
                        reason: pb::suppression_reason::Value::Objection as i32,
                        at: ts(2026, 11, 1),
                        ..Default::default()
                    }),
                }),
                Encoding::Json,
            ));
        }
        if j.is_multiple_of(11) {
            out.push(contact_msg(
                t,
                C::ContactConsentChanged(pb::ContactConsentChanged {
                    contact_id: format!("c-{j}"),
                    consent: Some(pb::Consent {
                        brand: "acme-sender".into(),
                        purpose: "marketing.communications.email".into(),
                        channel: pb::channel::Value::Email as i32,
                        captured_at: ts(2026, 10, 1),
                        ..Default::default()
                    }),
                }),
                Encoding::Protobuf,
            ));
        }
        if i == mix.contacts / 2 {
            let mut a = campaign("cmp-a", 2, &[]);
            a.dmu_profile
                .as_mut()
                .unwrap()
                .target_roles
                .push(pb::dmu_role::Value::User as i32);
            out.push(campaign_msg(
                t,
                pb::campaign_event::Event::CampaignUpdated(pb::CampaignUpdated {
                    campaign: Some(a),
                }),
            ));
        }
    }
    out
}

/// Events of a stream per input queue: (contacts, rights, campaigns).
pub fn per_queue(messages: &[Msg]) -> (i64, i64, i64) {
    let mut n = (0, 0, 0);
    for m in messages {
        match m.routing_key.as_str() {
            "contact.created" | "contact.updated" => n.0 += 1,
            k if k.starts_with("contact.") => n.1 += 1,
            _ => n.2 += 1,
        }
    }
    n
}

/// A stage whose workers take small batches (50, prefetch 100), so that a
/// stream spans many batches and a fault lands mid-stream, with `mix`
/// already published to it.
pub async fn small_batch_stage(mix: &Mix) -> (Stage, Vec<Msg>) {
    let mut stage = Stage::with(|c| {
        c.batch_size = 50;
        c.prefetch = 100;
    })
    .await;
    let sent = stream(&stage.config.topology, mix);
    stage.publish(&sent).await;
    (stage, sent)
}
