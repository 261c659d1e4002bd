//! Around the engine: which decisions changed, and the rows that record and
//! publish them. Pure (the clock and the ids come in through [`Decider`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::db::store::{DecisionRow, HistoryRow, OutboxRow, PreviousDecision, WriteSet};
use crate::engine::eligibility::{self, PreparedCampaign};
use crate::engine::{self, Classifier, Enrichment, RuleSet};
use crate::pb::{self, Encoding};

/// What caused a decision, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Trigger<'a> {
    /// The routing key of the event, or `sweep`.
    pub kind: &'a str,
    pub event_id: Option<&'a str>,
}

/// Decides and records; one per transaction (its clock reading is the
/// transaction's `asOf`).
pub struct Decider<'a> {
    pub rules: &'a RuleSet,
    pub classifier: &'a Classifier,
    pub now: DateTime<Utc>,
    pub encoding: Encoding,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn datetime(ts: Option<pb::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(pb::Timestamp::to_datetime)
}

impl Decider<'_> {
    pub fn enrich(&self, contact: &pb::Contact) -> Enrichment {
        engine::enrich(contact, self.classifier, self.rules)
    }

    /// The outbox row of `event`, and the event back (a decision is still
    /// needed after it is encoded, and cloning it cost more than encoding).
    fn outbox(
        &self,
        aggregate_type: &'static str,
        aggregate_id: &str,
        event: pb::decision_event::Event,
    ) -> (OutboxRow, pb::decision_event::Event) {
        let routing_key = event.routing_key();
        let msg = pb::DecisionEvent {
            event_id: new_id(),
            occurred_at: Some(self.now.into()),
            event: Some(event),
        };
        let payload = self.encoding.encode(&msg);
        let row = OutboxRow {
            event_id: msg.event_id,
            aggregate_type,
            aggregate_id: aggregate_id.to_owned(),
            routing_key,
            message_type: pb::type_name::DECISION_EVENT,
            content_type: self.encoding.content_type(),
            payload,
        };
        (row, msg.event.expect("set above"))
    }

    /// `contactEnriched` for a newly stored contact version.
    pub fn enriched(&self, contact: &pb::Contact, enrichment: &Enrichment, out: &mut WriteSet) {
        let (row, _) = self.outbox(
            "contact",
            &contact.contact_id,
            pb::decision_event::Event::ContactEnriched(enrichment.to_event(contact)),
        );
        out.outbox.push(row);
    }

    /// Decides one contact x campaign and records what changed:
    /// - outcome changed (or first decision): new decision id, superseding the
    ///   previous one; latest row, history and an outbox event;
    /// - same outcome, other inputs or rule set: history and latest row, no event;
    /// - only `validUntil` moved: the latest row;
    /// - nothing changed: nothing.
    ///
    /// Returns the decision (for audience summaries).
    ///
    /// `campaign` is prepared once per transaction or page: preparing it for
    /// every contact cost more than deciding.
    pub fn decide(
        &self,
        contact: &pb::Contact,
        enrichment: &Enrichment,
        campaign: &PreparedCampaign,
        previous: Option<&PreviousDecision>,
        trigger: Trigger<'_>,
        out: &mut WriteSet,
    ) -> pb::EligibilityDecided {
        let d = eligibility::decide_prepared(contact, enrichment, campaign, self.now, self.rules);
        self.record(d, previous, trigger, out)
    }

    /// The revocation of an erased contact's decision for one campaign.
    pub fn revoke_erased(
        &self,
        contact_id: &str,
        campaign: &PreparedCampaign,
        previous: Option<&PreviousDecision>,
        trigger: Trigger<'_>,
        out: &mut WriteSet,
    ) -> pb::EligibilityDecided {
        let d = eligibility::decide_erased(contact_id, campaign, self.rules);
        self.record(d, previous, trigger, out)
    }

    /// Records a decision against the previous one (see [`Decider::decide`]).
    fn record(
        &self,
        mut d: pb::EligibilityDecided,
        previous: Option<&PreviousDecision>,
        trigger: Trigger<'_>,
        out: &mut WriteSet,
    ) -> pb::EligibilityDecided {
        d.decided_at = Some(self.now.into());
        let fingerprint = fingerprint(&d);
        let valid_until = datetime(d.valid_until);
        let changed_outcome = previous.is_none_or(|p| p.fingerprint != fingerprint);
        if changed_outcome {
            d.decision_id = new_id();
            d.supersedes_decision_id = previous.map(|p| p.decision_id.clone()).unwrap_or_default();
        } else if let Some(p) = previous {
            d.decision_id.clone_from(&p.decision_id);
            d.supersedes_decision_id.clear();
        }
        let changed_inputs = previous.is_some_and(|p| {
            p.input_digest != d.input_digest || p.rule_set_version != d.rule_set_version
        });
        let moved_validity = previous.is_some_and(|p| p.valid_until != valid_until);
        if !(changed_outcome || changed_inputs || moved_validity) {
            return d;
        }
        out.decisions.push(DecisionRow {
            contact_id: d.contact_id.clone(),
            campaign_id: d.campaign_id.clone(),
            decision_id: d.decision_id.clone(),
            decision: i16::try_from(d.decision).unwrap_or(0),
            fingerprint,
            rule_id: d.rule_id.clone(),
            rule_set_version: d.rule_set_version.clone(),
            input_digest: d.input_digest.clone(),
            decided_at: self.now,
            valid_until,
            first: previous.is_none(),
        });
        if changed_outcome || changed_inputs {
            out.history.push(HistoryRow {
                decision_id: d.decision_id.clone(),
                contact_id: d.contact_id.clone(),
                campaign_id: d.campaign_id.clone(),
                decision: i16::try_from(d.decision).unwrap_or(0),
                rule_id: d.rule_id.clone(),
                rule_set_version: d.rule_set_version.clone(),
                input_digest: d.input_digest.clone(),
                decided_at: self.now,
                valid_until,
                published: changed_outcome,
                trigger: trigger.kind.to_owned(),
                event_id: trigger.event_id.map(str::to_owned),
                payload: prost::Message::encode_to_vec(&d),
            });
        }
        if changed_outcome {
            metrics::counter!(crate::worker::metrics::DECISIONS_PUBLISHED,
                "decision" => decision_name(d.decision))
            .increment(1);
            let contact_id = d.contact_id.clone();
            let (row, sent) = self.outbox(
                "contact",
                &contact_id,
                pb::decision_event::Event::EligibilityDecided(d),
            );
            out.outbox.push(row);
            let pb::decision_event::Event::EligibilityDecided(sent) = sent else {
                unreachable!("the event passed in");
            };
            return sent;
        }
        d
    }

    /// `campaignAudienceEvaluated`, once a campaign's whole audience is decided.
    pub fn summary(&self, summary: AudienceSummary, out: &mut WriteSet) {
        let campaign_id = summary.campaign_id.clone();
        let event = pb::CampaignAudienceEvaluated {
            campaign_id: summary.campaign_id,
            evaluated_at: Some(self.now.into()),
            total: summary.total,
            by_decision: summary.by_decision.into_iter().collect(),
            by_reason: summary.by_reason.into_iter().collect(),
            by_jurisdiction: summary.by_jurisdiction.into_iter().collect(),
        };
        let (row, _) = self.outbox(
            "campaign",
            &campaign_id,
            pb::decision_event::Event::CampaignAudienceEvaluated(event),
        );
        out.outbox.push(row);
    }
}

/// The enum name of a decision value, e.g. `ELIGIBLE`.
pub fn decision_name(value: i32) -> &'static str {
    pb::decision::Value::try_from(value).map_or("UNSPECIFIED", |v| v.as_str_name())
}

/// Counts of a campaign's audience.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AudienceSummary {
    pub campaign_id: String,
    pub total: i64,
    pub by_decision: BTreeMap<String, i64>,
    pub by_reason: BTreeMap<String, i64>,
    pub by_jurisdiction: BTreeMap<String, i64>,
}

impl AudienceSummary {
    pub fn new(campaign_id: &str) -> Self {
        AudienceSummary {
            campaign_id: campaign_id.to_owned(),
            ..Default::default()
        }
    }

    pub fn add(&mut self, d: &pb::EligibilityDecided) {
        self.total += 1;
        *self
            .by_decision
            .entry(decision_name(d.decision).to_owned())
            .or_default() += 1;
        let mut codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            *self.by_reason.entry(code.to_owned()).or_default() += 1;
        }
        let jurisdiction = if d.jurisdiction.is_empty() {
            "UNKNOWN"
        } else {
            &d.jurisdiction
        };
        *self
            .by_jurisdiction
            .entry(jurisdiction.to_owned())
            .or_default() += 1;
    }

    /// Adds the counts of `other` (a page's) to these.
    pub fn absorb(&mut self, other: AudienceSummary) {
        self.total += other.total;
        for (mine, theirs) in [
            (&mut self.by_decision, other.by_decision),
            (&mut self.by_reason, other.by_reason),
            (&mut self.by_jurisdiction, other.by_jurisdiction),
        ] {
            for (key, n) in theirs {
                *mine.entry(key).or_default() += n;
            }
        }
    }
}

/// What makes two decisions "the same outcome": decision, channel ground,
/// GDPR basis, rule and obligations (order-free). Reasons' wording, the
/// digest and the validity are not part of it.
pub fn fingerprint(d: &pb::EligibilityDecided) -> Vec<u8> {
    let mut h = Sha256::new();
    for v in [d.decision, d.channel_ground, d.gdpr_basis] {
        h.update(v.to_le_bytes());
    }
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field(&d.rule_id);
    let mut obligations: Vec<&str> = d.obligations.iter().map(String::as_str).collect();
    obligations.sort_unstable();
    obligations.dedup();
    for o in obligations {
        field(o);
    }
    h.finalize().to_vec()
}

/// The contact as stored: without first and last name (never needed to decide).
pub fn strip_names(contact: &mut pb::Contact) {
    contact.first_name.clear();
    contact.last_name.clear();
}

/// A contact with the suppressions and consents received as events merged in.
/// A consent event replaces the contact's own record of the same consent
/// (brand, purpose, channel, capturedAt), except that a withdrawal is never
/// undone by a record without one.
pub fn merge(
    mut contact: pb::Contact,
    suppressions: impl IntoIterator<Item = pb::Suppression>,
    consents: impl IntoIterator<Item = pb::Consent>,
) -> pb::Contact {
    for s in suppressions {
        if !contact.suppressions.contains(&s) {
            contact.suppressions.push(s);
        }
    }
    for c in consents {
        let same = |k: &pb::Consent| {
            k.brand == c.brand
                && k.purpose == c.purpose
                && k.channel == c.channel
                && k.captured_at == c.captured_at
        };
        match contact.consents.iter_mut().find(|k| same(k)) {
            Some(existing) => {
                if existing.withdrawn_at.is_none() || c.withdrawn_at.is_some() {
                    *existing = c;
                }
            }
            None => contact.consents.push(c),
        }
    }
    contact
}

/// Upper case, `UK` read as `GB` (for the targeting pre-filter only).
pub fn normalise_country(country: &str) -> String {
    let c = country.trim().to_ascii_uppercase();
    if c == "UK" { "GB".to_owned() } else { c }
}

/// The stored country codes (see [`countries`]) a fan-out reads for a
/// campaign; empty = every country. Never narrower than the engine's
/// targeting, which reads a code through the rule set's aliases: each
/// canonical target and every code that is an alias of it.
pub fn prefilter_countries(campaign: &PreparedCampaign, rules: &RuleSet) -> Vec<String> {
    let mut out = Vec::new();
    for target in campaign.target_countries() {
        out.push(target.clone());
        for (from, to) in &rules.aliases {
            if to == target {
                out.push(from.clone());
                out.push(normalise_country(from));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The contact's own country and its organisation's, normalised.
pub fn countries(contact: &pb::Contact) -> (String, String) {
    (
        normalise_country(&contact.country),
        normalise_country(
            contact
                .organisation
                .as_ref()
                .map_or("", |o| o.country.as_str()),
        ),
    )
}

/// Keyed hash of an erased contact's id or email: SHA-256 over the pepper,
/// the kind and the value, each length-prefixed.
pub fn erasure_hash(pepper: &str, kind: &str, value: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [pepper, kind, value] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().to_vec()
}

/// Emails compare without surrounding space or case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Suppression of every campaign, reason erasure.
pub fn erasure_suppression(at: DateTime<Utc>) -> pb::Suppression {
    pb::Suppression {
        scope: pb::suppression_scope::Value::All as i32,
        reason: pb::suppression_reason::Value::Erasure as i32,
        at: Some(at.into()),
        ..Default::default()
    }
}

/// Campaigns decoded and prepared once per transaction.
#[derive(Debug, Default)]
pub struct Campaigns {
    pub list: Vec<PreparedCampaign>,
}

impl Campaigns {
    pub fn decode(
        rows: Vec<(String, Vec<u8>)>,
        rules: &RuleSet,
    ) -> Result<Self, prost::DecodeError> {
        let list = rows
            .into_iter()
            .map(|(_, data)| {
                let c: pb::Campaign = prost::Message::decode(data.as_slice())?;
                Ok::<_, prost::DecodeError>(PreparedCampaign::new(&c, rules))
            })
            .collect::<Result<_, _>>()?;
        Ok(Campaigns { list })
    }

    pub fn by_id(&self) -> HashMap<&str, &PreparedCampaign> {
        self.list
            .iter()
            .map(|c| (c.campaign_id.as_str(), c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn decider(now: DateTime<Utc>) -> Decider<'static> {
        Decider {
            rules: RuleSet::embedded(),
            classifier: Classifier::embedded(),
            now,
            encoding: Encoding::Protobuf,
        }
    }

    fn contact() -> pb::Contact {
        pb::Contact {
            contact_id: "c-1".into(),
            first_name: "Jan".into(),
            last_name: "Jansen".into(),
            email: "jan@acme.nl".into(),
            ..Default::default()
        }
    }

    fn prepared() -> PreparedCampaign {
        PreparedCampaign::new(&campaign(), RuleSet::embedded())
    }

    fn campaign() -> pb::Campaign {
        pb::Campaign {
            campaign_id: "cmp-1".into(),
            channel: pb::channel::Value::Email as i32,
            ..Default::default()
        }
    }

    #[test]
    fn first_decision_is_published_and_recorded() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let d = decider(now);
        let c = contact();
        let mut out = WriteSet::default();
        let trigger = Trigger {
            kind: "contact.created",
            event_id: Some("e-1"),
        };
        let got = d.decide(&c, &d.enrich(&c), &prepared(), None, trigger, &mut out);
        assert_eq!(out.decisions.len(), 1);
        assert_eq!(out.history.len(), 1);
        assert_eq!(out.outbox.len(), 1);
        assert!(out.history[0].published);
        assert_eq!(out.outbox[0].routing_key, "eligibility.decided");
        assert!(got.supersedes_decision_id.is_empty());
        assert_eq!(
            uuid::Uuid::parse_str(&got.decision_id)
                .unwrap()
                .get_version_num(),
            7
        );
        // The payload is the decision, as the engine gave it, plus our fields.
        let event: pb::DecisionEvent =
            prost::Message::decode(out.outbox[0].payload.as_slice()).unwrap();
        let Some(pb::decision_event::Event::EligibilityDecided(sent)) = event.event else {
            panic!("not a decision");
        };
        let mut expected = engine::decide(&c, &d.enrich(&c), &campaign(), now, d.rules);
        expected.decision_id.clone_from(&got.decision_id);
        expected.decided_at = Some(now.into());
        assert_eq!(sent, expected);
    }

    #[test]
    fn an_unchanged_outcome_is_not_published_again() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let d = decider(now);
        let c = contact();
        let e = d.enrich(&c);
        let mut out = WriteSet::default();
        let t = Trigger {
            kind: "contact.updated",
            event_id: None,
        };
        let first = d.decide(&c, &e, &prepared(), None, t, &mut out);
        let previous = PreviousDecision {
            decision_id: first.decision_id.clone(),
            fingerprint: fingerprint(&first),
            rule_set_version: first.rule_set_version.clone(),
            input_digest: first.input_digest.clone(),
            valid_until: datetime(first.valid_until),
        };
        let mut again = WriteSet::default();
        let second = d.decide(&c, &e, &prepared(), Some(&previous), t, &mut again);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(second.decision_id, first.decision_id);

        // Another outcome supersedes the previous decision.
        let other = PreviousDecision {
            fingerprint: vec![0; 32],
            ..previous.clone()
        };
        let mut changed = WriteSet::default();
        let third = d.decide(&c, &e, &prepared(), Some(&other), t, &mut changed);
        assert_eq!(changed.outbox.len(), 1);
        assert_eq!(third.supersedes_decision_id, first.decision_id);
        assert_ne!(third.decision_id, first.decision_id);

        // Same outcome, other inputs: history and latest row, no event.
        let digest = PreviousDecision {
            input_digest: "sha256:other".into(),
            ..previous
        };
        let mut audit = WriteSet::default();
        d.decide(&c, &e, &prepared(), Some(&digest), t, &mut audit);
        assert_eq!(
            (
                audit.decisions.len(),
                audit.history.len(),
                audit.outbox.len()
            ),
            (1, 1, 0)
        );
        assert!(!audit.history[0].published);
    }

    #[test]
    fn fingerprint_ignores_obligation_order_but_not_rule() {
        let a = pb::EligibilityDecided {
            decision: 1,
            rule_id: "NL1".into(),
            obligations: vec!["A".into(), "B".into()],
            ..Default::default()
        };
        let mut b = a.clone();
        b.obligations.reverse();
        b.reasons.push(pb::Reason::default());
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.rule_id = "NL2".into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn merge_keeps_withdrawals_and_dedups_suppressions() {
        let captured = Some(pb::Timestamp {
            seconds: 10,
            nanos: 0,
        });
        let given = pb::Consent {
            brand: "b".into(),
            purpose: "p".into(),
            channel: 1,
            captured_at: captured,
            ..Default::default()
        };
        let withdrawn = pb::Consent {
            withdrawn_at: Some(pb::Timestamp {
                seconds: 20,
                nanos: 0,
            }),
            ..given.clone()
        };
        let s = erasure_suppression(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let mut c = contact();
        c.consents = vec![given.clone()];
        c.suppressions = vec![s.clone()];
        let merged = merge(c.clone(), [s.clone()], [withdrawn.clone()]);
        assert_eq!(merged.consents, vec![withdrawn.clone()]);
        assert_eq!(merged.suppressions, vec![s]);
        // A later snapshot without the withdrawal does not undo it.
        let mut w = c.clone();
        w.consents = vec![withdrawn.clone()];
        assert_eq!(merge(w, [], [given]).consents, vec![withdrawn]);
    }

    #[test]
    fn erasure_hashes_depend_on_pepper_kind_and_value() {
        let a = erasure_hash("p", "email", "x@y.nl");
        assert_eq!(a, erasure_hash("p", "email", "x@y.nl"));
        assert_ne!(a, erasure_hash("q", "email", "x@y.nl"));
        assert_ne!(a, erasure_hash("p", "contact_id", "x@y.nl"));
        assert_eq!(normalise_email(" Jan@Acme.NL "), "jan@acme.nl");
        assert_eq!(normalise_country(" uk"), "GB");
    }

    #[test]
    fn the_fan_out_pre_filter_reads_every_alias_of_a_target() {
        let text = RuleSet::embedded_text().replace(
            "aliases = { UK = \"GB\" }",
            "aliases = { UK = \"GB\", EL = \"GR\" }",
        );
        let rules = RuleSet::from_toml(&text).unwrap();
        assert_eq!(rules.canonical_country("EL"), "GR", "the alias is in");
        let prefilter = |targets: &[&str], rules: &RuleSet| {
            let c = pb::Campaign {
                target_countries: targets.iter().map(|t| (*t).to_owned()).collect(),
                ..campaign()
            };
            prefilter_countries(&PreparedCampaign::new(&c, rules), rules)
        };
        // A contact stored as EL is targeted by a campaign for GR, and the
        // other way round: the pre-filter must read both.
        assert_eq!(prefilter(&["gr"], &rules), ["EL", "GR"]);
        assert_eq!(prefilter(&[" EL "], &rules), ["EL", "GR"]);
        assert_eq!(prefilter(&["uk"], RuleSet::embedded()), ["GB", "UK"]);
        // Blank entries target nothing in particular, so no filter at all.
        assert!(prefilter(&[" ", ""], RuleSet::embedded()).is_empty());
    }

    #[test]
    fn summary_counts_decisions_reasons_and_jurisdictions() {
        let mut s = AudienceSummary::new("cmp");
        let reason = |code: &str| pb::Reason {
            code: code.into(),
            ..Default::default()
        };
        s.add(&pb::EligibilityDecided {
            decision: 1,
            jurisdiction: "NL".into(),
            reasons: vec![reason("A"), reason("A"), reason("B")],
            ..Default::default()
        });
        s.add(&pb::EligibilityDecided {
            decision: 4,
            ..Default::default()
        });
        assert_eq!(s.total, 2);
        assert_eq!(s.by_decision["ELIGIBLE"], 1);
        assert_eq!(s.by_decision["SUPPRESSED"], 1);
        assert_eq!(s.by_reason["A"], 1);
        assert_eq!(s.by_jurisdiction["UNKNOWN"], 1);
    }

    #[test]
    fn summaries_of_pages_add_up_to_the_summary_of_the_whole() {
        let decided = |decision: i32, jurisdiction: &str| pb::EligibilityDecided {
            decision,
            jurisdiction: jurisdiction.into(),
            reasons: vec![pb::Reason {
                code: format!("R{decision}"),
                ..Default::default()
            }],
            ..Default::default()
        };
        let all = [decided(1, "NL"), decided(4, "DE"), decided(1, "DE")];
        let mut whole = AudienceSummary::new("cmp");
        all.iter().for_each(|d| whole.add(d));
        let (mut first, mut second) = (AudienceSummary::new("cmp"), AudienceSummary::new("cmp"));
        first.add(&all[0]);
        all[1..].iter().for_each(|d| second.add(d));
        first.absorb(second);
        assert_eq!(first, whole);
    }
}
