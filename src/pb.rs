//! The wire schema (`proto/dmumatch/v1`), generated at build time: prost types
//! for protobuf and pbjson serde impls for the canonical proto3 JSON mapping,
//! plus the codec both the worker and the CLI use.

use chrono::{DateTime, SecondsFormat, Utc};
use prost::Message;
use serde::de::DeserializeOwned;

#[allow(clippy::all, clippy::pedantic)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/dmumatch.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/dmumatch.v1.serde.rs"));
}
pub use generated::*;

pub const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// `google.protobuf.Timestamp`, with the canonical JSON form (RFC 3339, `Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.seconds, u32::try_from(self.nanos).ok()?)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self
            .to_datetime()
            .ok_or_else(|| serde::ser::Error::custom("timestamp out of range"))?;
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| Timestamp::from(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 timestamp {s:?}: {e}")))
    }
}

/// Why a message body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported content type {0:?}")]
    ContentType(String),
    #[error("not decodable as JSON ({json}) nor as protobuf ({protobuf})")]
    Neither {
        json: serde_json::Error,
        protobuf: prost::DecodeError,
    },
}

/// The name of an enum field's value (`decision::Value::as_str_name` and the
/// like); None for a number the schema does not know.
pub fn enum_name<T: TryFrom<i32>>(v: i32, name: fn(&T) -> &'static str) -> Option<&'static str> {
    T::try_from(v).ok().map(|t| name(&t))
}

/// Canonical proto3 JSON → message. `null` means "not set" for every field, as
/// the proto3 JSON mapping says, and so does `""` (`docs/spec/eligibility-rules.md`:
/// a field that is absent, null or "" is not set); pbjson accepts neither for
/// every type (a `""` timestamp fails). The mapping also accepts an integer
/// written as `49.0` or `1e1`, which pbjson refuses for integer fields. So a
/// body that fails the fast path is retried with its null and `""` members
/// removed and its integral numbers written as integers.
pub fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(first) => {
            let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else {
                return Err(first);
            };
            if !normalise(&mut value) {
                return Err(first);
            }
            serde_json::from_value(value)
        }
    }
}

/// Removes `null` and `""` object members and turns numbers with no fraction
/// into integers, recursively; says whether it changed anything. An integer is
/// valid wherever a float is, so the rewrite needs no schema. A fraction, or a
/// number out of the 64-bit range, is left for the decoder to refuse.
fn normalise(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
            let mut changed = map.len() != before;
            for v in map.values_mut() {
                changed |= normalise(v);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| normalise(v) | c),
        Value::Number(n) => {
            let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) else {
                return false;
            };
            // 2^63 and 2^64 are exact in f64; the casts below are then lossless.
            let int = if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                Some(serde_json::Number::from(f as i64))
            } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                Some(serde_json::Number::from(f as u64))
            } else {
                None
            };
            int.map(|i| *n = i).is_some()
        }
        _ => false,
    }
}

/// Decodes a message body by its AMQP `content_type`; a missing one is tried as
/// JSON, then as protobuf (contract).
pub fn decode<T: Message + Default + DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, DecodeError> {
    // "application/json; charset=utf-8" is still JSON, and media types are
    // case-insensitive (RFC 9110 §8.3.1): "Application/JSON" too.
    let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim());
    match media {
        Some(m) if m.eq_ignore_ascii_case(CONTENT_TYPE_JSON) => Ok(from_json(body)?),
        Some(m) if m.eq_ignore_ascii_case(CONTENT_TYPE_PROTOBUF) => Ok(T::decode(body)?),
        None | Some("") => from_json(body).or_else(|json| {
            T::decode(body).map_err(|protobuf| DecodeError::Neither { json, protobuf })
        }),
        Some(other) => Err(DecodeError::ContentType(other.to_owned())),
    }
}

/// The wire encodings dmumatch writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Protobuf,
    Json,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => CONTENT_TYPE_PROTOBUF,
            Encoding::Json => CONTENT_TYPE_JSON,
        }
    }

    pub fn encode<T: Message + serde::Serialize>(self, msg: &T) -> Vec<u8> {
        match self {
            Encoding::Protobuf => msg.encode_to_vec(),
            // Serializing generated types to a Vec cannot fail: no maps with
            // non-string keys, no non-finite floats we produce.
            Encoding::Json => serde_json::to_vec(msg).expect("generated types serialize"),
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "protobuf" | CONTENT_TYPE_PROTOBUF => Ok(Encoding::Protobuf),
            "json" | CONTENT_TYPE_JSON => Ok(Encoding::Json),
            _ => Err(format!("unknown encoding {s:?} (protobuf or json)")),
        }
    }
}

/// Full message names, for the AMQP `type` property.
pub mod type_name {
    pub const CONTACT_EVENT: &str = "dmumatch.v1.ContactEvent";
    pub const CAMPAIGN_EVENT: &str = "dmumatch.v1.CampaignEvent";
    pub const DECISION_EVENT: &str = "dmumatch.v1.DecisionEvent";
}

/// The routing keys of the inbound events (contract): one per oneof case.
pub mod routing_key {
    pub const CONTACT_CREATED: &str = "contact.created";
    pub const CONTACT_UPDATED: &str = "contact.updated";
    pub const CONTACT_OBJECTED: &str = "contact.objected";
    pub const CONTACT_ERASED: &str = "contact.erased";
    pub const CONTACT_CONSENT_CHANGED: &str = "contact.consent_changed";
    pub const CAMPAIGN_PLANNED: &str = "campaign.planned";
    pub const CAMPAIGN_UPDATED: &str = "campaign.updated";
    pub const CAMPAIGN_CANCELLED: &str = "campaign.cancelled";

    /// Every inbound routing key.
    pub const INBOUND: [&str; 8] = [
        CONTACT_CREATED,
        CONTACT_UPDATED,
        CONTACT_OBJECTED,
        CONTACT_ERASED,
        CONTACT_CONSENT_CHANGED,
        CAMPAIGN_PLANNED,
        CAMPAIGN_UPDATED,
        CAMPAIGN_CANCELLED,
    ];
}

/// Routing keys = the oneof case (contract).
impl contact_event::Event {
    pub fn routing_key(&self) -> &'static str {
        match self {
            contact_event::Event::ContactCreated(_) => routing_key::CONTACT_CREATED,
            contact_event::Event::ContactUpdated(_) => routing_key::CONTACT_UPDATED,
            contact_event::Event::ContactObjected(_) => routing_key::CONTACT_OBJECTED,
            contact_event::Event::ContactErased(_) => routing_key::CONTACT_ERASED,
            contact_event::Event::ContactConsentChanged(_) => routing_key::CONTACT_CONSENT_CHANGED,
        }
    }
}

impl campaign_event::Event {
    pub fn routing_key(&self) -> &'static str {
        match self {
            campaign_event::Event::CampaignPlanned(_) => routing_key::CAMPAIGN_PLANNED,
            campaign_event::Event::CampaignUpdated(_) => routing_key::CAMPAIGN_UPDATED,
            campaign_event::Event::CampaignCancelled(_) => routing_key::CAMPAIGN_CANCELLED,
        }
    }
}

impl decision_event::Event {
    pub fn routing_key(&self) -> &'static str {
        match self {
            decision_event::Event::ContactEnriched(_) => "contact.enriched",
            decision_event::Event::EligibilityDecided(_) => "eligibility.decided",
            decision_event::Event::CampaignAudienceEvaluated(_) => "campaign.audience_evaluated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn employees(json: &str) -> Result<i32, serde_json::Error> {
        let text = format!(r#"{{"contactId": "c1", "organisation": {{"employeeCount": {json}}}}}"#);
        from_json::<Contact>(text.as_bytes()).map(|c| c.organisation.unwrap().employee_count)
    }

    #[test]
    fn integers_in_any_form_the_json_mapping_accepts() {
        assert_eq!(employees("49").unwrap(), 49);
        assert_eq!(employees("\"49\"").unwrap(), 49);
        assert_eq!(employees("49.0").unwrap(), 49);
        assert_eq!(employees("1e1").unwrap(), 10);
        assert_eq!(employees("2.5E2").unwrap(), 250);
        assert_eq!(employees("-0.0").unwrap(), 0);
        // Still refused: a fraction, and a number beyond the field's range.
        assert!(employees("49.5").is_err());
        assert!(employees("1e10").is_err());
        assert!(employees("1e30").is_err());
        let c: Contact = from_json(br#"{"contactId": "c1", "version": 3.0}"#).unwrap();
        assert_eq!(c.version, 3);
    }
}
