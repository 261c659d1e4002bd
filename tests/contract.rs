//! Every JSON example of the contract survives JSON → message → protobuf bytes
//! → message → JSON, equal up to defaults (proto3 omits default values).

use std::path::Path;

use dmumatch::pb;
use prost::Message;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn round_trip<T>(file: &str)
where
    T: Message + Default + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/contract")
        .join(file);
    let text = std::fs::read(&path).unwrap();
    let msg: T = pb::from_json(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let bytes = msg.encode_to_vec();
    let back = T::decode(bytes.as_slice()).unwrap();
    assert_eq!(back, msg, "{file}: protobuf round trip");
    let json = serde_json::to_value(&back).unwrap();
    let original: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(
        without_defaults(json.clone()),
        without_defaults(original),
        "{file}: JSON round trip"
    );
    // And the JSON we write reads back as the same message.
    assert_eq!(serde_json::from_value::<T>(json).unwrap(), msg);
}

/// Drops what proto3 JSON treats as "not set": null, "", 0, false, [], {} and
/// the zero enum names; and reads int64 strings as numbers.
fn without_defaults(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, without_defaults(v)))
                .filter(|(_, v)| !is_default(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_defaults).collect()),
        Value::String(s) if s.parse::<i64>().is_ok() => Value::from(s.parse::<i64>().unwrap()),
        Value::Number(n) if n.is_f64() => Value::from((n.as_f64().unwrap() as f32).to_string()),
        other => other,
    }
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "UNSPECIFIED" || s == "NONE",
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

#[test]
fn contact() {
    round_trip::<pb::Contact>("contact.json");
}

#[test]
fn campaign() {
    round_trip::<pb::Campaign>("campaign.json");
}

#[test]
fn contact_enriched() {
    round_trip::<pb::ContactEnriched>("contact_enriched.json");
}

#[test]
fn eligibility_decided() {
    round_trip::<pb::EligibilityDecided>("eligibility_decided.json");
}

#[test]
fn campaign_audience_evaluated() {
    round_trip::<pb::CampaignAudienceEvaluated>("campaign_audience_evaluated.json");
}

#[test]
fn events() {
    round_trip::<pb::ContactEvent>("contact_event.json");
    round_trip::<pb::ContactEvent>("contact_objected_event.json");
    round_trip::<pb::CampaignEvent>("campaign_event.json");
    round_trip::<pb::DecisionEvent>("decision_event.json");
}

#[test]
fn decode_by_content_type() {
    let json = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/contract/contact_event.json"),
    )
    .unwrap();
    let from_json: pb::ContactEvent = pb::decode(Some("application/json"), &json).unwrap();
    let bytes = from_json.encode_to_vec();
    let from_proto: pb::ContactEvent = pb::decode(Some("application/x-protobuf"), &bytes).unwrap();
    assert_eq!(from_json, from_proto);
    // Media types are case-insensitive; parameters are ignored.
    assert_eq!(
        pb::decode::<pb::ContactEvent>(Some("Application/JSON; charset=UTF-8"), &json).unwrap(),
        from_json
    );
    assert_eq!(
        pb::decode::<pb::ContactEvent>(Some("APPLICATION/X-PROTOBUF"), &bytes).unwrap(),
        from_json
    );
    // No content type: JSON first, then protobuf.
    assert_eq!(
        pb::decode::<pb::ContactEvent>(None, &json).unwrap(),
        from_json
    );
    assert_eq!(
        pb::decode::<pb::ContactEvent>(None, &bytes).unwrap(),
        from_json
    );
    assert!(matches!(
        pb::decode::<pb::ContactEvent>(Some("text/plain"), &json),
        Err(pb::DecodeError::ContentType(_))
    ));
    assert!(
        pb::decode::<pb::ContactEvent>(Some("application/json"), b"{\"contactCreated\": 5}")
            .is_err()
    );
    assert!(
        pb::decode::<pb::ContactEvent>(
            Some("application/json"),
            br#"{"contactCreated":{"contact":{"relationship":"NOPE"}}}"#
        )
        .is_err()
    );
}

#[test]
fn timestamps_are_z_normalised() {
    let c: pb::Consent = pb::from_json(br#"{"capturedAt":"2026-01-10T10:00:00+01:00"}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&c).unwrap()["capturedAt"],
        "2026-01-10T09:00:00Z"
    );
}
