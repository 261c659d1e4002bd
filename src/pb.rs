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
/// The UTF-8 byte order mark.
pub const BOM: &[u8] = "\u{feff}".as_bytes();

/// `google.protobuf.Timestamp`, with the canonical JSON form (RFC 3339, `Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Within the range of `google.protobuf.Timestamp` (0001-01-01 to
    /// 9999-12-31, nanos below a second): what its canonical JSON form can
    /// express, so nothing outside it is read in and written out again.
    pub fn in_range(&self) -> bool {
        const MIN: i64 = -62_135_596_800;
        const MAX: i64 = 253_402_300_799;
        (MIN..=MAX).contains(&self.seconds) && (0..1_000_000_000).contains(&self.nanos)
    }

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
        let t = DateTime::parse_from_rfc3339(&s)
            .map(|t| Timestamp::from(t.with_timezone(&Utc)))
            .map_err(|e| {
                serde::de::Error::custom(format!("invalid RFC 3339 timestamp {s:?}: {e}"))
            })?;
        // chrono reads a leap second (…:60) as nanos ≥ 1e9, and year 0000.
        if !t.in_range() {
            return Err(serde::de::Error::custom(format!(
                "timestamp {s:?} out of range (0001-01-01 to 9999-12-31, no leap second)"
            )));
        }
        Ok(t)
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
    // Windows editors start a UTF-8 file with one; RFC 8259 lets a reader skip it.
    let body = body.strip_prefix(BOM).unwrap_or(body);
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(first) => {
            let mut value = match serde_json::from_slice::<Strict>(body) {
                Ok(Strict(v)) => v,
                // A member given twice: say so, not what the fast path tripped on.
                Err(e) if e.is_data() => return Err(e),
                Err(_) => return Err(first),
            };
            if !normalise(&mut value) {
                return Err(first);
            }
            serde_json::from_value(value)
        }
    }
}

/// A JSON value that refuses a member given twice, in either spelling
/// (`withdrawnAt`, `withdrawn_at`). serde_json's `Value` keeps the last one,
/// and with `null` removed after it a repeated `"withdrawnAt": null` would
/// erase a withdrawal.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(items.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(lower_camel(&key)) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(out.into())
    }
}

/// A proto field name's JSON spelling: `withdrawn_at` → `withdrawnAt`.
fn lower_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Removes `null` and `""` object members and turns numbers with no fraction
/// into integers, recursively; says whether it changed anything. An integer is
/// valid wherever a float is, so the rewrite needs no schema. A fraction is
/// left for the decoder to refuse.
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
            // Only where a float holds every integer exactly (|f| ≤ 2^53): a
            // larger one may already have been rounded, and is refused.
            match n.as_f64() {
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                    *n = serde_json::Number::from(f as i64);
                    true
                }
                _ => false,
            }
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

/// Full message names, for the AMQP `type` property of what the worker publishes.
pub mod type_name {
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
        // Above 2^53 a float may already be rounded: refused, not guessed.
        assert!(
            from_json::<Contact>(br#"{"contactId": "c1", "version": 9007199254740993.0}"#).is_err()
        );
        let c: Contact = from_json(br#"{"contactId": "c1", "version": 3.0}"#).unwrap();
        assert_eq!(c.version, 3);
    }

    #[test]
    fn a_member_given_twice_is_refused_on_either_path() {
        let withdrawn = r#""consents": [{"brand": "b", "withdrawnAt": "2026-02-01T00:00:00Z"#;
        for (twice, slow_path) in [
            (r#""withdrawnAt": null"#, ""),
            (r#""withdrawnAt": null"#, r#", "firstName": null"#),
            (
                r#""withdrawnAt": "2026-03-01T00:00:00Z""#,
                r#", "firstName": """#,
            ),
            (r#""withdrawn_at": null"#, r#", "version": 3.0"#),
        ] {
            let text = format!(r#"{{"contactId": "c1", {withdrawn}", {twice}}}]{slow_path}}}"#);
            let err = from_json::<Contact>(text.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("duplicate field"), "{text}: {err}");
        }
        // Once each, in either spelling, is fine on the slow path.
        let c: Contact = from_json(
            br#"{"contact_id": "c1", "lastVerifiedAt": null, "organisation": {"employee_count": 4.9e1}}"#,
        )
        .unwrap();
        assert_eq!(c.contact_id, "c1");
        assert_eq!(c.organisation.unwrap().employee_count, 49);
        // A byte order mark before the body is skipped, on either path.
        for body in [
            &br#"{"contactId": "c1"}"#[..],
            br#"{"contactId": "c1", "email": null}"#,
        ] {
            let c: Contact = from_json(&[BOM, body].concat()).unwrap();
            assert_eq!(c.contact_id, "c1");
        }
    }

    #[test]
    fn timestamps_outside_the_canonical_range_are_refused() {
        let at = |t: &str| {
            let text = format!(r#"{{"contactId": "c1", "lastVerifiedAt": "{t}"}}"#);
            from_json::<Contact>(text.as_bytes()).map(|c| c.last_verified_at.unwrap())
        };
        assert!(at("2026-06-30T12:00:60Z").is_err());
        assert!(at("0000-01-01T00:00:00Z").is_err());
        assert!(at("0001-01-01T00:30:00+01:00").is_err());
        assert_eq!(at("0001-01-01T00:00:00Z").unwrap().seconds, -62_135_596_800);
        assert_eq!(
            at("9999-12-31T23:59:59.999999999Z").unwrap(),
            Timestamp {
                seconds: 253_402_300_799,
                nanos: 999_999_999
            }
        );
        // An offset is converted to UTC.
        assert_eq!(
            at("2026-09-01T02:00:00+02:00").unwrap(),
            at("2026-09-01T00:00:00Z").unwrap()
        );
    }
}
