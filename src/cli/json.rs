//! The `ndjson` output of `evaluate`: canonical proto3 JSON of
//! `EligibilityDecided` with defaults written out, byte for byte what the
//! generated pbjson serializer writes (a test holds it to that), but with each
//! reason's JSON escaped once per rule set instead of once per decision — the
//! reasons' messages and citations are most of an output line.

use std::collections::HashMap;

use crate::engine::RuleSet;
use crate::pb;

/// Pre-escaped JSON of the rule set's reasons, and of a fixed `decidedAt`.
pub struct DecisionJson {
    /// code → (message, citation, `{"code":…,"message":…,"citation":…}`)
    reasons: HashMap<String, Vec<(String, String, Vec<u8>)>>,
    decided_at: Option<(pb::Timestamp, Vec<u8>)>,
}

fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Strings, generated messages and timestamps in range always serialize.
    let _ = serde_json::to_writer(&mut *out, v);
}

impl DecisionJson {
    pub fn new(rules: &RuleSet, decided_at: Option<pb::Timestamp>) -> DecisionJson {
        let mut reasons: HashMap<String, Vec<(String, String, Vec<u8>)>> = HashMap::new();
        for o in &rules.outcomes {
            let r = &o.reason;
            let entry = reasons.entry(r.code.clone()).or_default();
            if !entry
                .iter()
                .any(|(m, c, _)| *m == r.message && *c == r.citation)
            {
                let mut frag = Vec::new();
                json(&mut frag, r);
                entry.push((r.message.clone(), r.citation.clone(), frag));
            }
        }
        let decided_at = decided_at.map(|t| {
            let mut v = Vec::new();
            json(&mut v, &t);
            (t, v)
        });
        DecisionJson {
            reasons,
            decided_at,
        }
    }

    fn reason(&self, out: &mut Vec<u8>, r: &pb::Reason) {
        let cached = self.reasons.get(&r.code).and_then(|v| {
            v.iter()
                .find(|(m, c, _)| *m == r.message && *c == r.citation)
        });
        match cached {
            Some((_, _, frag)) => out.extend_from_slice(frag),
            None => json(out, r),
        }
    }

    fn timestamp(&self, out: &mut Vec<u8>, t: &pb::Timestamp) {
        match &self.decided_at {
            Some((fixed, text)) if fixed == t => out.extend_from_slice(text),
            _ => json(out, t),
        }
    }

    /// Appends one decision as a JSON object (no newline). Every scalar,
    /// enum and list is written, defaults too, as the generated serializer does.
    pub fn write(&self, out: &mut Vec<u8>, d: &pb::EligibilityDecided) {
        use pb::{channel_ground, decision, dmu_role, enum_name, gdpr_basis};
        let key = |out: &mut Vec<u8>, name: &str| {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        };
        // An unknown enum number has no name and is written as null.
        out.extend_from_slice(b"{\"decisionId\":");
        json(out, &d.decision_id);
        key(out, "contactId");
        json(out, &d.contact_id);
        key(out, "campaignId");
        json(out, &d.campaign_id);
        key(out, "decision");
        json(out, &enum_name(d.decision, decision::Value::as_str_name));
        key(out, "channelGround");
        json(
            out,
            &enum_name(d.channel_ground, channel_ground::Value::as_str_name),
        );
        key(out, "gdprBasis");
        json(
            out,
            &enum_name(d.gdpr_basis, gdpr_basis::Value::as_str_name),
        );
        key(out, "jurisdiction");
        json(out, &d.jurisdiction);
        key(out, "ruleId");
        json(out, &d.rule_id);
        key(out, "dmuRole");
        json(out, &enum_name(d.dmu_role, dmu_role::Value::as_str_name));
        key(out, "roleRelevant");
        json(out, &d.role_relevant);
        key(out, "reasons");
        out.push(b'[');
        for (i, r) in d.reasons.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.reason(out, r);
        }
        out.push(b']');
        key(out, "obligations");
        json(out, &d.obligations);
        key(out, "ruleSetVersion");
        json(out, &d.rule_set_version);
        key(out, "inputDigest");
        json(out, &d.input_digest);
        // Message fields have presence, not a default: absent stays absent.
        for (name, t) in [("decidedAt", &d.decided_at), ("validUntil", &d.valid_until)] {
            if let Some(t) = t {
                key(out, name);
                self.timestamp(out, t);
            }
        }
        key(out, "supersedesDecisionId");
        json(out, &d.supersedes_decision_id);
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_pbjson(w: &DecisionJson, d: &pb::EligibilityDecided) {
        let mut ours = Vec::new();
        w.write(&mut ours, d);
        let theirs = serde_json::to_vec(d).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap()
        );
    }

    #[test]
    fn byte_for_byte_the_canonical_json() {
        let rules = RuleSet::embedded();
        let at: pb::Timestamp = chrono::DateTime::from_timestamp(1_796_083_200, 0)
            .unwrap()
            .into();
        let w = DecisionJson::new(rules, Some(at));
        same_as_pbjson(&w, &pb::EligibilityDecided::default());
        for (i, o) in rules.outcomes.iter().enumerate() {
            let mut d = pb::EligibilityDecided {
                decision_id: format!("id-{i}"),
                contact_id: "c \"quoted\" \\ \u{1}é€😀".into(),
                campaign_id: "cmp".into(),
                decision: o.decision as i32,
                channel_ground: o.ground as i32,
                gdpr_basis: o.basis as i32,
                jurisdiction: "NL".into(),
                rule_id: o.rule_id.clone(),
                dmu_role: (i % 8) as i32,
                role_relevant: i % 2 == 0,
                reasons: vec![o.reason.clone()],
                obligations: if i % 3 == 0 {
                    vec![]
                } else {
                    vec!["IDENTIFY_SENDER".into(), "POSTAL_ADDRESS".into()]
                },
                rule_set_version: rules.version.clone(),
                input_digest: "sha256:00".into(),
                decided_at: Some(at),
                valid_until: (i % 2 == 1).then(|| pb::Timestamp {
                    seconds: 1_800_000_000 + i as i64,
                    nanos: (i as i32) * 1000,
                }),
                supersedes_decision_id: if i % 4 == 0 {
                    "prev".into()
                } else {
                    String::new()
                },
            };
            same_as_pbjson(&w, &d);
            // A reason not in the rule set (an I0 detail) takes the slow path.
            d.reasons[0].message.push_str(" (line 7: \"bad\")");
            d.reasons.push(o.reason.clone());
            d.decided_at = Some(pb::Timestamp {
                seconds: 5,
                nanos: 0,
            });
            same_as_pbjson(&w, &d);
        }
    }
}
