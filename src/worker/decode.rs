//! Delivery body → validated event, or the reason it is poison. Pure.

use chrono::{DateTime, Utc};

use crate::pb;

/// Why a message cannot be processed, ever: it goes to the DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    /// Stable, for metric labels and the `x-dmumatch-error-kind` header.
    pub kind: PoisonKind,
    /// Human-readable; only in the DLQ header, never in logs (a decoder
    /// error may quote the body).
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoisonKind {
    Oversize,
    ContentType,
    Decode,
    Invalid,
    /// The database rejected the message's values.
    Database,
    /// Processing the message panicked.
    Panic,
}

impl PoisonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PoisonKind::Oversize => "oversize",
            PoisonKind::ContentType => "content_type",
            PoisonKind::Decode => "decode",
            PoisonKind::Invalid => "invalid",
            PoisonKind::Database => "database",
            PoisonKind::Panic => "panic",
        }
    }
}

impl Poison {
    fn new(kind: PoisonKind, reason: impl Into<String>) -> Self {
        Poison {
            kind,
            reason: reason.into(),
        }
    }
}

/// A decoded, validated event of either input exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound<E> {
    pub event_id: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub event: E,
}

pub type ContactInbound = Inbound<pb::contact_event::Event>;
pub type CampaignInbound = Inbound<pb::campaign_event::Event>;

fn decode_body<T>(content_type: Option<&str>, body: &[u8], max: usize) -> Result<T, Poison>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    if body.len() > max {
        return Err(Poison::new(
            PoisonKind::Oversize,
            format!("message of {} bytes exceeds the limit of {max}", body.len()),
        ));
    }
    pb::decode(content_type, body).map_err(|e| match e {
        pb::DecodeError::ContentType(_) => Poison::new(PoisonKind::ContentType, e.to_string()),
        other => Poison::new(PoisonKind::Decode, other.to_string()),
    })
}

/// A timestamp outside the range of `google.protobuf.Timestamp` cannot be
/// written as JSON, so it is refused on the way in (protobuf bodies too).
fn check_ts(ts: Option<&pb::Timestamp>, what: &str) -> Result<(), Poison> {
    match ts {
        Some(t) if !t.in_range() => Err(Poison::new(
            PoisonKind::Invalid,
            format!("{what} out of range"),
        )),
        _ => Ok(()),
    }
}

fn occurred_at(ts: Option<pb::Timestamp>) -> Result<Option<DateTime<Utc>>, Poison> {
    check_ts(ts.as_ref(), "occurredAt")?;
    match ts {
        None => Ok(None),
        Some(t) => t
            .to_datetime()
            .map(Some)
            .ok_or_else(|| Poison::new(PoisonKind::Invalid, "occurredAt out of range")),
    }
}

fn required(value: &str, what: &str) -> Result<(), Poison> {
    if value.trim().is_empty() {
        Err(Poison::new(PoisonKind::Invalid, format!("{what} missing")))
    } else {
        Ok(())
    }
}

/// An enum field carries a number the schema does not know (protobuf keeps
/// unknown values as plain integers).
fn known<E: TryFrom<i32>>(value: i32, what: &str) -> Result<(), Poison> {
    E::try_from(value).map(|_| ()).map_err(|_| {
        Poison::new(
            PoisonKind::Invalid,
            format!("{what}: unknown enum value {value}"),
        )
    })
}

fn check_suppression(s: &pb::Suppression, what: &str) -> Result<(), Poison> {
    check_ts(s.at.as_ref(), &format!("{what}.at"))?;
    known::<pb::suppression_scope::Value>(s.scope, &format!("{what}.scope"))?;
    known::<pb::suppression_reason::Value>(s.reason, &format!("{what}.reason"))
}

fn check_consent(c: &pb::Consent, what: &str) -> Result<(), Poison> {
    check_ts(c.captured_at.as_ref(), &format!("{what}.capturedAt"))?;
    check_ts(
        c.double_opt_in_at.as_ref(),
        &format!("{what}.doubleOptInAt"),
    )?;
    check_ts(c.withdrawn_at.as_ref(), &format!("{what}.withdrawnAt"))?;
    known::<pb::channel::Value>(c.channel, &format!("{what}.channel"))
}

fn check_contact(c: &pb::Contact) -> Result<(), Poison> {
    required(&c.contact_id, "contact.contactId")?;
    known::<pb::relationship::Value>(c.relationship, "contact.relationship")?;
    if let Some(o) = &c.organisation {
        known::<pb::entity_type::Value>(o.entity_type, "contact.organisation.entityType")?;
    }
    if let Some(s) = &c.source {
        known::<pb::source_kind::Value>(s.kind, "contact.source.kind")?;
        check_ts(s.obtained_at.as_ref(), "contact.source.obtainedAt")?;
        check_ts(
            s.art14_notice_sent_at.as_ref(),
            "contact.source.art14NoticeSentAt",
        )?;
    }
    check_ts(c.last_verified_at.as_ref(), "contact.lastVerifiedAt")?;
    for (i, p) in c.purchases.iter().enumerate() {
        check_ts(
            p.purchased_at.as_ref(),
            &format!("contact.purchases[{i}].purchasedAt"),
        )?;
    }
    for (i, s) in c.suppressions.iter().enumerate() {
        check_suppression(s, &format!("contact.suppressions[{i}]"))?;
    }
    for (i, k) in c.consents.iter().enumerate() {
        check_consent(k, &format!("contact.consents[{i}]"))?;
    }
    if c.version < 0 {
        return Err(Poison::new(PoisonKind::Invalid, "contact.version negative"));
    }
    Ok(())
}

fn check_campaign(c: &pb::Campaign) -> Result<(), Poison> {
    required(&c.campaign_id, "campaign.campaignId")?;
    check_ts(c.scheduled_at.as_ref(), "campaign.scheduledAt")?;
    known::<pb::channel::Value>(c.channel, "campaign.channel")?;
    if let Some(p) = &c.dmu_profile {
        for r in &p.target_roles {
            known::<pb::dmu_role::Value>(*r, "campaign.dmuProfile.targetRoles")?;
        }
    }
    crate::engine::dmu::check_profile(c.dmu_profile.as_ref())
        .map_err(|e| Poison::new(PoisonKind::Invalid, format!("campaign.{e}")))?;
    for role in crate::engine::dmu::untargetable_roles(c.dmu_profile.as_ref()) {
        tracing::warn!(
            campaign_id = %c.campaign_id,
            role,
            "dmuProfile.targetRoles names a role no campaign can target; ignored"
        );
    }
    if c.version < 0 {
        return Err(Poison::new(
            PoisonKind::Invalid,
            "campaign.version negative",
        ));
    }
    Ok(())
}

/// A `crm.events` message.
pub fn contact_event(
    content_type: Option<&str>,
    body: &[u8],
    max_bytes: usize,
) -> Result<ContactInbound, Poison> {
    use pb::contact_event::Event;
    let msg: pb::ContactEvent = decode_body(content_type, body, max_bytes)?;
    required(&msg.event_id, "eventId")?;
    let occurred_at = occurred_at(msg.occurred_at)?;
    let event = msg
        .event
        .ok_or_else(|| Poison::new(PoisonKind::Invalid, "no event case set"))?;
    match &event {
        Event::ContactCreated(pb::ContactCreated { contact })
        | Event::ContactUpdated(pb::ContactUpdated { contact }) => {
            let contact = contact
                .as_ref()
                .ok_or_else(|| Poison::new(PoisonKind::Invalid, "contact missing"))?;
            check_contact(contact)?;
        }
        Event::ContactObjected(o) => {
            required(&o.contact_id, "contactObjected.contactId")?;
            let s = o.suppression.as_ref().ok_or_else(|| {
                Poison::new(PoisonKind::Invalid, "contactObjected.suppression missing")
            })?;
            check_suppression(s, "contactObjected.suppression")?;
        }
        Event::ContactErased(e) => required(&e.contact_id, "contactErased.contactId")?,
        Event::ContactConsentChanged(c) => {
            required(&c.contact_id, "contactConsentChanged.contactId")?;
            let k = c.consent.as_ref().ok_or_else(|| {
                Poison::new(PoisonKind::Invalid, "contactConsentChanged.consent missing")
            })?;
            check_consent(k, "contactConsentChanged.consent")?;
        }
    }
    Ok(Inbound {
        event_id: msg.event_id,
        occurred_at,
        event,
    })
}

/// A `campaign.events` message.
pub fn campaign_event(
    content_type: Option<&str>,
    body: &[u8],
    max_bytes: usize,
) -> Result<CampaignInbound, Poison> {
    use pb::campaign_event::Event;
    let msg: pb::CampaignEvent = decode_body(content_type, body, max_bytes)?;
    required(&msg.event_id, "eventId")?;
    let occurred_at = occurred_at(msg.occurred_at)?;
    let event = msg
        .event
        .ok_or_else(|| Poison::new(PoisonKind::Invalid, "no event case set"))?;
    match &event {
        Event::CampaignPlanned(pb::CampaignPlanned { campaign })
        | Event::CampaignUpdated(pb::CampaignUpdated { campaign }) => {
            let campaign = campaign
                .as_ref()
                .ok_or_else(|| Poison::new(PoisonKind::Invalid, "campaign missing"))?;
            check_campaign(campaign)?;
        }
        Event::CampaignCancelled(c) => required(&c.campaign_id, "campaignCancelled.campaignId")?,
    }
    Ok(Inbound {
        event_id: msg.event_id,
        occurred_at,
        event,
    })
}

/// The contact an event is about.
pub fn contact_id(event: &pb::contact_event::Event) -> &str {
    use pb::contact_event::Event;
    match event {
        Event::ContactCreated(pb::ContactCreated { contact })
        | Event::ContactUpdated(pb::ContactUpdated { contact }) => {
            contact.as_ref().map_or("", |c| c.contact_id.as_str())
        }
        Event::ContactObjected(o) => &o.contact_id,
        Event::ContactErased(e) => &e.contact_id,
        Event::ContactConsentChanged(c) => &c.contact_id,
    }
}

/// The campaign an event is about.
pub fn campaign_id(event: &pb::campaign_event::Event) -> &str {
    use pb::campaign_event::Event;
    match event {
        Event::CampaignPlanned(pb::CampaignPlanned { campaign })
        | Event::CampaignUpdated(pb::CampaignUpdated { campaign }) => {
            campaign.as_ref().map_or("", |c| c.campaign_id.as_str())
        }
        Event::CampaignCancelled(c) => &c.campaign_id,
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    const MAX: usize = 1 << 20;

    fn created(id: &str) -> pb::ContactEvent {
        pb::ContactEvent {
            event_id: "e-1".into(),
            occurred_at: None,
            event: Some(pb::contact_event::Event::ContactCreated(
                pb::ContactCreated {
                    contact: Some(pb::Contact {
                        contact_id: id.into(),
                        ..Default::default()
                    }),
                },
            )),
        }
    }

    #[test]
    fn json_and_protobuf_decode_alike() {
        let msg = created("c-1");
        let json = serde_json::to_vec(&msg).unwrap();
        let a = contact_event(Some("application/json"), &json, MAX).unwrap();
        let b = contact_event(Some("application/x-protobuf"), &msg.encode_to_vec(), MAX).unwrap();
        assert_eq!(a, b);
        assert_eq!(contact_id(&a.event), "c-1");
        // No content type: JSON first, then protobuf.
        assert_eq!(contact_event(None, &msg.encode_to_vec(), MAX).unwrap(), a);
    }

    #[test]
    fn poison_is_named() {
        let kind = |r: Result<ContactInbound, Poison>| r.unwrap_err().kind;
        let body = created("c-1").encode_to_vec();
        assert_eq!(
            kind(contact_event(Some("application/x-protobuf"), &body, 3)),
            PoisonKind::Oversize
        );
        assert_eq!(
            kind(contact_event(Some("text/plain"), &body, MAX)),
            PoisonKind::ContentType
        );
        assert_eq!(
            kind(contact_event(Some("application/json"), b"{not json", MAX)),
            PoisonKind::Decode
        );
        assert_eq!(
            kind(contact_event(
                Some("application/x-protobuf"),
                &created("").encode_to_vec(),
                MAX
            )),
            PoisonKind::Invalid
        );
        let mut no_case = created("c-1");
        no_case.event = None;
        assert_eq!(
            kind(contact_event(
                None,
                &serde_json::to_vec(&no_case).unwrap(),
                MAX
            )),
            PoisonKind::Invalid
        );
        let mut no_id = created("c-1");
        no_id.event_id.clear();
        assert_eq!(
            kind(contact_event(None, &no_id.encode_to_vec(), MAX)),
            PoisonKind::Invalid
        );
    }

    #[test]
    fn unknown_enum_numbers_are_poison() {
        let mut msg = created("c-1");
        if let Some(pb::contact_event::Event::ContactCreated(c)) = &mut msg.event {
            c.contact.as_mut().unwrap().relationship = 99;
        }
        let err =
            contact_event(Some("application/x-protobuf"), &msg.encode_to_vec(), MAX).unwrap_err();
        assert_eq!(err.kind, PoisonKind::Invalid);
        assert!(err.reason.contains("relationship"), "{}", err.reason);
        // And by name in JSON.
        let json = br#"{"eventId":"e","contactCreated":{"contact":{"contactId":"c","relationship":"FRIEND"}}}"#;
        assert_eq!(
            contact_event(Some("application/json"), json, MAX)
                .unwrap_err()
                .kind,
            PoisonKind::Decode
        );
    }

    #[test]
    fn timestamps_json_cannot_express_are_poison() {
        // Found by the fuzz smoke run: a suppression `at` with nanos past a
        // second was accepted, and JSON-encoding it later panicked.
        for bad in [
            pb::Timestamp {
                seconds: 0,
                nanos: 1_795_000_000,
            },
            pb::Timestamp {
                seconds: 0,
                nanos: -1,
            },
            pb::Timestamp {
                seconds: 300_000_000_000,
                nanos: 0,
            },
        ] {
            let mut objected = created("c-1");
            objected.event = Some(pb::contact_event::Event::ContactObjected(
                pb::ContactObjected {
                    contact_id: "c-1".into(),
                    suppression: Some(pb::Suppression {
                        at: Some(bad),
                        ..Default::default()
                    }),
                },
            ));
            let err = contact_event(None, &objected.encode_to_vec(), MAX).unwrap_err();
            assert_eq!(err.kind, PoisonKind::Invalid, "{bad:?}");
            assert!(err.reason.contains("suppression.at"), "{}", err.reason);
            let mut c = created("c-1");
            if let Some(pb::contact_event::Event::ContactCreated(k)) = &mut c.event {
                k.contact.as_mut().unwrap().last_verified_at = Some(bad);
            }
            assert!(contact_event(None, &c.encode_to_vec(), MAX).is_err());
        }
        let edge = pb::Timestamp {
            seconds: 253_402_300_799,
            nanos: 999_999_999,
        };
        let mut c = created("c-1");
        c.occurred_at = Some(edge);
        let ok = contact_event(None, &c.encode_to_vec(), MAX).unwrap();
        let json = serde_json::to_vec(&pb::ContactEvent {
            event_id: ok.event_id,
            occurred_at: Some(edge),
            event: Some(ok.event),
        })
        .unwrap();
        assert!(contact_event(Some("application/json"), &json, MAX).is_ok());
    }

    #[test]
    fn campaign_events_validate() {
        let msg = pb::CampaignEvent {
            event_id: "e".into(),
            occurred_at: None,
            event: Some(pb::campaign_event::Event::CampaignCancelled(
                pb::CampaignCancelled {
                    campaign_id: "cmp".into(),
                },
            )),
        };
        let ok = campaign_event(None, &msg.encode_to_vec(), MAX).unwrap();
        assert_eq!(campaign_id(&ok.event), "cmp");
        let planned = br#"{"eventId":"e","campaignPlanned":{}}"#;
        assert_eq!(
            campaign_event(Some("application/json"), planned, MAX)
                .unwrap_err()
                .kind,
            PoisonKind::Invalid
        );
    }
}
