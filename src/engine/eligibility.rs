//! May this contact be emailed for this campaign? (`docs/spec/eligibility-rules.md`)
//!
//! The decision is made in two parts:
//!
//! 1. [`Facts`]: the spec's "derived inputs" at one instant — a small `Copy`
//!    struct of booleans and enums (matching suppression, matching consent
//!    state, jurisdiction, staleness, soft-opt-in purchase, entity type,
//!    address kind, DMU role, Art. 14 timing …). Only this step reads dates.
//! 2. [`evaluate`]: the evaluation order, steps 1–8, over the facts and the
//!    rule set. It returns the outcome (a row or rule of the rule set) and
//!    whether G8's obligation applies.
//!
//! Because the verdict is a function of the facts, `inputDigest` is the
//! SHA-256 of the facts' canonical form (plus the jurisdiction code and the
//! rule-set version): the same inputs that decided give the same digest,
//! whatever the field order, the names, the title wording or the other
//! fields of the record. No email address, name or title enters it.
//!
//! `validUntil` is found exactly: every instant at which a fact can flip (a
//! threshold such as "verified + 24 months", or a dated event after `asOf`)
//! is a candidate; the facts are derived again just after each candidate in
//! time order, and the first one whose verdict differs gives `validUntil`.

use std::borrow::Cow;

use chrono::{DateTime, Months, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::dmu::{ProfileMasks, dmu_row};
use super::enrich::Enrichment;
use super::rules::{Country, OutcomeId, RuleSet, address_bit, entity_bit, entity_bits, upper_code};
use super::taxonomy::{Function, Seniority};
use crate::pb;

use pb::address_kind::Value as AddressKind;
use pb::decision::Value as Decision;
use pb::entity_type::Value as EntityType;

/// A campaign with its lookups computed once (profile masks, categories,
/// targeting), for deciding many contacts against it.
#[derive(Clone, Debug)]
pub struct PreparedCampaign {
    pub campaign_id: String,
    pub version: i64,
    channel_email: bool,
    lia: bool,
    brand: String,
    purpose: String,
    /// `productCategory` and `similarProductCategories`, trimmed, non-empty.
    categories: Vec<String>,
    pub profile: ProfileMasks,
    /// Canonical (aliases applied) upper-case codes; empty = every country.
    target_countries: Vec<String>,
    target_organisations: Vec<String>,
}

impl PreparedCampaign {
    pub fn new(c: &pb::Campaign, rules: &RuleSet) -> PreparedCampaign {
        let mut categories: Vec<String> = std::iter::once(&c.product_category)
            .chain(&c.similar_product_categories)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        categories.dedup();
        PreparedCampaign {
            campaign_id: c.campaign_id.clone(),
            version: c.version,
            channel_email: c.channel == pb::channel::Value::Email as i32,
            lia: !c.legitimate_interest_assessment_ref.trim().is_empty(),
            brand: c.brand.trim().to_owned(),
            purpose: c.purpose.trim().to_owned(),
            categories,
            profile: ProfileMasks::new(c.dmu_profile.as_ref()),
            target_countries: c
                .target_countries
                .iter()
                .map(|t| {
                    let mut buf = [0u8; 8];
                    rules.canonical_country(upper_code(t, &mut buf)).to_owned()
                })
                .filter(|t| !t.is_empty())
                .collect(),
            target_organisations: c
                .target_organisation_ids
                .iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// Target countries as the engine reads them: canonical codes; empty =
    /// every country.
    pub fn target_countries(&self) -> &[String] {
        &self.target_countries
    }

    /// Target organisation ids, trimmed; empty = every organisation.
    pub fn target_organisations(&self) -> &[String] {
        &self.target_organisations
    }

    /// Whether the campaign's targeting (countries, organisations) includes the contact.
    pub fn targets(&self, contact: &pb::Contact, rules: &RuleSet) -> bool {
        if !self.target_countries.is_empty() {
            let mut buf = [0u8; 8];
            let code = rules.canonical_country(upper_code(contact_country(contact), &mut buf));
            if !self.target_countries.iter().any(|t| t == code) {
                return false;
            }
        }
        if !self.target_organisations.is_empty() {
            let org = contact
                .organisation
                .as_ref()
                .map_or("", |o| o.organisation_id.trim());
            if !self.target_organisations.iter().any(|t| t == org) {
                return false;
            }
        }
        true
    }

    fn product_matches(&self, category: &str) -> bool {
        let category = category.trim();
        self.categories
            .iter()
            .any(|c| c.eq_ignore_ascii_case(category))
    }
}

/// Whether the campaign's targeting (countries, organisations) includes the contact.
/// `targetCountries` empty = every country; `targetOrganisationIds` empty =
/// every organisation (in the target countries). UK is read as GB on both sides.
pub fn targets(campaign: &pb::Campaign, contact: &pb::Contact) -> bool {
    let rules = RuleSet::embedded();
    PreparedCampaign::new(campaign, rules).targets(contact, rules)
}

/// `contact.country`, else the organisation's.
fn contact_country(contact: &pb::Contact) -> &str {
    let c = contact.country.trim();
    if c.is_empty() {
        contact
            .organisation
            .as_ref()
            .map_or("", |o| o.country.trim())
    } else {
        c
    }
}

/// The decision for one contact × campaign at `as_of`. Pure: `decision_id`,
/// `decided_at` and `supersedes_decision_id` are left for the caller to set.
pub fn decide(
    contact: &pb::Contact,
    enrichment: &Enrichment,
    campaign: &pb::Campaign,
    as_of: DateTime<Utc>,
    rules: &RuleSet,
) -> pb::EligibilityDecided {
    decide_prepared(
        contact,
        enrichment,
        &PreparedCampaign::new(campaign, rules),
        as_of,
        rules,
    )
}

/// [`decide`] against a campaign prepared once.
pub fn decide_prepared(
    contact: &pb::Contact,
    enrichment: &Enrichment,
    campaign: &PreparedCampaign,
    as_of: DateTime<Utc>,
    rules: &RuleSet,
) -> pb::EligibilityDecided {
    let mut out = pb::EligibilityDecided::default();
    decide_prepared_into(contact, enrichment, campaign, as_of, rules, &mut out);
    out
}

/// [`decide_prepared`] into an existing message, reusing its buffers: for
/// deciding many contacts in a loop without allocating per decision.
pub fn decide_prepared_into(
    contact: &pb::Contact,
    enrichment: &Enrichment,
    campaign: &PreparedCampaign,
    as_of: DateTime<Utc>,
    rules: &RuleSet,
    out: &mut pb::EligibilityDecided,
) {
    let ctx = Context::new(contact, enrichment, campaign, rules);
    let facts = ctx.facts(as_of);
    let verdict = evaluate(&facts, ctx.country, rules);
    let valid_until = ctx.valid_until(as_of, verdict);
    build_into(&ctx, &facts, verdict, valid_until, out);
}

/// `NEEDS_REVIEW` with reason `INPUT_INVALID` (rule I0) for a record that
/// could not be read; `detail` says what was wrong (no personal data).
pub fn decide_invalid_input(
    contact_id: &str,
    campaign: &PreparedCampaign,
    detail: &str,
    rules: &RuleSet,
) -> pb::EligibilityDecided {
    let o = rules.outcome(rules.fixed.i0);
    let mut reason = o.reason.clone();
    if !detail.is_empty() {
        reason.message = format!("{} ({detail})", reason.message);
    }
    pb::EligibilityDecided {
        contact_id: contact_id.to_owned(),
        campaign_id: campaign.campaign_id.clone(),
        decision: o.decision as i32,
        rule_id: o.rule_id.clone(),
        reasons: vec![reason],
        rule_set_version: rules.version.clone(),
        ..Default::default()
    }
}

/// The revocation of an erased contact's decisions: `SUPPRESSED` under G1.
/// The contact's data is gone, so step 1 would call the missing address
/// invalid and answer NEEDS_REVIEW; what survives an erasure is its
/// suppression (scope ALL, reason ERASURE), and that is the hard stop.
pub fn decide_erased(
    contact_id: &str,
    campaign: &PreparedCampaign,
    rules: &RuleSet,
) -> pb::EligibilityDecided {
    let o = rules.outcome(rules.fixed.g1);
    pb::EligibilityDecided {
        contact_id: contact_id.to_owned(),
        campaign_id: campaign.campaign_id.clone(),
        decision: o.decision as i32,
        rule_id: o.rule_id.clone(),
        reasons: vec![o.reason.clone()],
        rule_set_version: rules.version.clone(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------
// Facts

/// The state of the latest matching consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentState {
    None,
    Withdrawn,
    /// capturedAt, textVersion and captureSource set.
    Documented {
        double_opt_in: bool,
    },
    /// Evidence missing (G5).
    Undocumented,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jurisdiction {
    Unknown,
    NotCovered,
    Covered,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftOptInState {
    /// No purchase meets the base conditions (or no relationship that allows it).
    None,
    /// A purchase meets the base conditions but not the country's (IE 12 months, IT address).
    CountryConditionFails,
    Qualifies,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObtainedAge {
    Unknown,
    WithinNoticePeriod,
    OverNoticePeriod,
}

/// The derived inputs at one instant: everything the evaluation order reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub channel_email: bool,
    pub address: AddressKind,
    pub suppressed: bool,
    pub restricted: bool,
    pub consent: ConsentState,
    pub jurisdiction: Jurisdiction,
    pub stale: bool,
    pub provenance_review: bool,
    pub soft_opt_in: SoftOptInState,
    pub on_exclusion_list: bool,
    pub entity: EntityType,
    pub published_marketing_address: bool,
    pub informed_at_collection: bool,
    pub function: Function,
    pub seniority: Seniority,
    pub dmu_role: pb::dmu_role::Value,
    pub role_relevant: bool,
    pub lia: bool,
    pub third_party: bool,
    pub art14_notice_sent: bool,
    pub obtained: ObtainedAge,
}

/// What decided: an outcome of the rule set, and whether G8 added its obligation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: OutcomeId,
    pub art14_in_first_message: bool,
}

#[inline]
fn ts(t: &Option<pb::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(|t| t.to_datetime())
}

/// Set and not after `at`: dates after asOf are ignored.
#[inline]
fn happened(t: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    t.filter(|d| *d <= at)
}

fn add_months(d: DateTime<Utc>, m: u32) -> Option<DateTime<Utc>> {
    d.checked_add_months(Months::new(m))
}

impl Dates {
    fn new(contact: &pb::Contact, rules: &RuleSet) -> Dates {
        let th = rules.thresholds;
        let obtained = contact.source.as_ref().and_then(|s| ts(&s.obtained_at));
        let verified = ts(&contact.last_verified_at);
        Dates {
            obtained,
            verified,
            obtained_stale: obtained.and_then(|d| add_months(d, th.data_stale_months)),
            verified_stale: verified.and_then(|d| add_months(d, th.data_stale_months)),
            obtained_notice: obtained.and_then(|d| add_months(d, th.art14_notice_months)),
        }
    }
}

/// Everything about one contact × campaign that does not depend on the instant.
struct Context<'a> {
    contact: &'a pb::Contact,
    enrichment: &'a Enrichment,
    campaign: &'a PreparedCampaign,
    rules: &'a RuleSet,
    /// Upper-cased, aliases applied; "" when unknown.
    jurisdiction: Cow<'a, str>,
    country: Option<&'a Country>,
    dmu_role: pb::dmu_role::Value,
    /// The dated inputs and their limits, computed once for every instant.
    dates: Dates,
}

/// `(date, date + N months)` for the time limits of the rules.
#[derive(Clone, Copy, Default)]
struct Dates {
    obtained: Option<DateTime<Utc>>,
    verified: Option<DateTime<Utc>>,
    /// obtained + data_stale_months, verified + data_stale_months
    obtained_stale: Option<DateTime<Utc>>,
    verified_stale: Option<DateTime<Utc>>,
    /// obtained + art14_notice_months
    obtained_notice: Option<DateTime<Utc>>,
}

impl<'a> Context<'a> {
    fn new(
        contact: &'a pb::Contact,
        enrichment: &'a Enrichment,
        campaign: &'a PreparedCampaign,
        rules: &'a RuleSet,
    ) -> Self {
        let mut buf = [0u8; 8];
        let code = rules.canonical_country(upper_code(contact_country(contact), &mut buf));
        let country = rules.country(code);
        // Borrowed from the rule set when covered: no allocation in the common case.
        let jurisdiction = match country {
            Some(c) => Cow::Borrowed(c.code.as_str()),
            None if code.is_empty() => Cow::Borrowed(""),
            None => Cow::Owned(code.to_owned()),
        };
        let c = &enrichment.classification;
        let employees = contact
            .organisation
            .as_ref()
            .map_or(0, |o| o.employee_count);
        let dmu_role = dmu_row(c.function, c.seniority, employees, &campaign.profile, rules).role;
        Context {
            contact,
            enrichment,
            campaign,
            rules,
            jurisdiction,
            country,
            dmu_role,
            dates: Dates::new(contact, rules),
        }
    }

    fn facts(&self, at: DateTime<Utc>) -> Facts {
        let (contact, campaign, rules) = (self.contact, self.campaign, self.rules);
        let source = contact.source.as_ref();
        let source_kind = source.map_or(0, |s| s.kind);
        let kind_bit = |mask: u32| (0..32).contains(&source_kind) && mask & (1 << source_kind) != 0;
        let d = &self.dates;
        // dataAge from lastVerifiedAt, else obtainedAt; dates after `at` are ignored.
        let happened_by = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t <= at);
        let stale_limit = if happened_by(d.verified) {
            d.verified_stale
        } else if happened_by(d.obtained) {
            d.obtained_stale
        } else {
            None
        };
        let stale = stale_limit.is_some_and(|limit| limit < at);
        let obtained_age = if !happened_by(d.obtained) {
            ObtainedAge::Unknown
        } else if d.obtained_notice.is_some_and(|limit| limit >= at) {
            ObtainedAge::WithinNoticePeriod
        } else {
            ObtainedAge::OverNoticePeriod
        };
        let (soft_opt_in, on_exclusion_list) = self.soft_opt_in(at);
        let email = contact.email.trim();
        let org = contact.organisation.as_ref();
        Facts {
            channel_email: campaign.channel_email,
            address: self.enrichment.address_kind,
            suppressed: self.suppressed(at),
            restricted: source.is_some_and(|s| s.restricted),
            consent: self.consent(at),
            jurisdiction: match (self.jurisdiction.is_empty(), self.country) {
                (true, _) => Jurisdiction::Unknown,
                (false, None) => Jurisdiction::NotCovered,
                (false, Some(_)) => Jurisdiction::Covered,
            },
            stale,
            provenance_review: kind_bit(rules.provenance_review_sources),
            soft_opt_in,
            on_exclusion_list,
            entity: self.enrichment.entity_type,
            published_marketing_address: org.is_some_and(|o| {
                o.published_marketing_addresses
                    .iter()
                    .any(|p| p.trim().eq_ignore_ascii_case(email))
            }),
            informed_at_collection: source.is_some_and(|s| s.informed_at_collection),
            function: self.enrichment.classification.function,
            seniority: self.enrichment.classification.seniority,
            dmu_role: self.dmu_role,
            role_relevant: campaign.profile.targets(self.dmu_role),
            lia: campaign.lia,
            third_party: kind_bit(rules.third_party_sources),
            art14_notice_sent: happened(source.and_then(|s| ts(&s.art14_notice_sent_at)), at)
                .is_some(),
            obtained: obtained_age,
        }
    }

    /// A suppression dated at or before `at` (or undated) whose scope covers the
    /// campaign. Fail-safe readings: an unscoped suppression, or a BRAND/PURPOSE
    /// one without its brand/purpose, applies to everything; brand and purpose
    /// compare without ASCII case.
    fn suppressed(&self, at: DateTime<Utc>) -> bool {
        use pb::suppression_scope::Value as Scope;
        let c = self.campaign;
        self.contact.suppressions.iter().any(|s| {
            if ts(&s.at).is_some_and(|d| d > at) {
                return false;
            }
            match Scope::try_from(s.scope).unwrap_or(Scope::Unspecified) {
                Scope::All | Scope::Unspecified => true,
                Scope::Brand => {
                    let b = s.brand.trim();
                    b.is_empty() || b.eq_ignore_ascii_case(&c.brand)
                }
                Scope::Purpose => {
                    let p = s.purpose.trim();
                    p.is_empty() || p.eq_ignore_ascii_case(&c.purpose)
                }
            }
        })
    }

    /// The latest (by capturedAt) consent for the campaign's brand, purpose and
    /// EMAIL captured at or before `at`; one without capturedAt counts as the
    /// oldest and cannot be documented.
    fn consent(&self, at: DateTime<Utc>) -> ConsentState {
        let c = self.campaign;
        let mut latest: Option<(Option<DateTime<Utc>>, &pb::Consent)> = None;
        for k in &self.contact.consents {
            if k.channel != pb::channel::Value::Email as i32
                || k.brand.trim() != c.brand
                || k.purpose.trim() != c.purpose
            {
                continue;
            }
            let captured = ts(&k.captured_at);
            if captured.is_some_and(|d| d > at) {
                continue;
            }
            // Later entries win ties: a CRM appends.
            if latest.is_none_or(|(l, _)| captured >= l) {
                latest = Some((captured, k));
            }
        }
        let Some((captured, k)) = latest else {
            return ConsentState::None;
        };
        if happened(ts(&k.withdrawn_at), at).is_some() {
            ConsentState::Withdrawn
        } else if captured.is_some()
            && !k.text_version.trim().is_empty()
            && !k.capture_source.trim().is_empty()
        {
            ConsentState::Documented {
                double_opt_in: happened(ts(&k.double_opt_in_at), at).is_some(),
            }
        } else {
            ConsentState::Undocumented
        }
    }

    /// Soft-opt-in purchase state under the country's conditions, and whether the
    /// contact is on the country's soft-opt-in exclusion list.
    fn soft_opt_in(&self, at: DateTime<Utc>) -> (SoftOptInState, bool) {
        let contact = self.contact;
        let relationship_ok = (0..32).contains(&contact.relationship)
            && self.rules.soft_opt_in_relationships & (1 << contact.relationship) != 0;
        let soi = self.country.map(|c| &c.soft_opt_in);
        let on_list = soi
            .and_then(|s| s.exclusion_list.as_deref())
            .is_some_and(|list| {
                contact
                    .exclusion_lists
                    .iter()
                    .any(|l| l.trim().eq_ignore_ascii_case(list))
            });
        if !relationship_ok {
            return (SoftOptInState::None, on_list);
        }
        let mut state = SoftOptInState::None;
        for p in &contact.purchases {
            if !p.opt_out_offered_at_collection
                || !self.campaign.product_matches(&p.product_category)
            {
                continue;
            }
            let date = ts(&p.purchased_at);
            if date.is_some_and(|d| d > at) {
                continue;
            }
            let country_ok = soi.is_none_or(|s| {
                (!s.address_supplied_by_contact || p.address_supplied_by_contact)
                    && s.purchase_within_months.is_none_or(|m| {
                        date.and_then(|d| add_months(d, m))
                            .is_some_and(|limit| limit >= at)
                    })
            });
            if country_ok {
                return (SoftOptInState::Qualifies, on_list);
            }
            state = SoftOptInState::CountryConditionFails;
        }
        (state, on_list)
    }

    /// The earliest instant after which the same inputs give another verdict.
    fn valid_until(&self, as_of: DateTime<Utc>, base: Verdict) -> Option<DateTime<Utc>> {
        let mut candidates = Candidates::new();
        let event = |c: &mut Candidates, d: Option<DateTime<Utc>>| {
            if let Some(d) = d.filter(|d| *d > as_of) {
                c.push(d, d);
            }
        };
        let c = self.contact;
        let source = c.source.as_ref();
        let d = self.dates;
        event(&mut candidates, d.obtained);
        event(&mut candidates, d.verified);
        event(
            &mut candidates,
            source.and_then(|s| ts(&s.art14_notice_sent_at)),
        );
        for k in &c.consents {
            event(&mut candidates, ts(&k.captured_at));
            event(&mut candidates, ts(&k.withdrawn_at));
            event(&mut candidates, ts(&k.double_opt_in_at));
        }
        for s in &c.suppressions {
            event(&mut candidates, ts(&s.at));
        }
        for p in &c.purchases {
            event(&mut candidates, ts(&p.purchased_at));
        }
        // A limit T holds at T itself ("over" is strict): evaluate just after it.
        let limit = |c: &mut Candidates, t: Option<DateTime<Utc>>| {
            if let Some(t) = t.filter(|t| *t >= as_of) {
                c.push(t, t + TimeDelta::nanoseconds(1));
            }
        };
        limit(&mut candidates, d.verified_stale);
        limit(&mut candidates, d.obtained_stale);
        limit(&mut candidates, d.obtained_notice);
        if let Some(m) = self
            .country
            .and_then(|c| c.soft_opt_in.purchase_within_months)
        {
            for p in &c.purchases {
                limit(
                    &mut candidates,
                    ts(&p.purchased_at).and_then(|d| add_months(d, m)),
                );
            }
        }
        candidates
            .sorted()
            .iter()
            .find(|&&(_, eval)| evaluate(&self.facts(eval), self.country, self.rules) != base)
            .map(|&(reported, _)| reported)
    }
}

/// (instant reported, instant evaluated) pairs, on the stack for the usual
/// handful, spilling to the heap for contacts with many dated records.
struct Candidates {
    inline: [(DateTime<Utc>, DateTime<Utc>); 12],
    len: usize,
    spill: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Candidates {
    fn new() -> Self {
        Candidates {
            inline: [(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC); 12],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, reported: DateTime<Utc>, eval: DateTime<Utc>) {
        if self.len < self.inline.len() {
            self.inline[self.len] = (reported, eval);
            self.len += 1;
        } else {
            self.spill.push((reported, eval));
        }
    }

    /// In the order they are evaluated.
    fn sorted(&mut self) -> &[(DateTime<Utc>, DateTime<Utc>)] {
        if self.spill.is_empty() {
            let v = &mut self.inline[..self.len];
            v.sort_unstable_by_key(|&(_, eval)| eval);
            v
        } else {
            self.spill.extend_from_slice(&self.inline[..self.len]);
            self.spill.sort_unstable_by_key(|&(_, eval)| eval);
            &self.spill
        }
    }
}

// ---------------------------------------------------------------------------
// The evaluation order

/// Steps 1–8 of the specification over the facts; first match decides.
pub fn evaluate(f: &Facts, country: Option<&Country>, rules: &RuleSet) -> Verdict {
    let fx = &rules.fixed;
    let done = |outcome| Verdict {
        outcome,
        art14_in_first_message: false,
    };
    // 1. Input
    if !f.channel_email {
        return done(fx.i1);
    }
    if address_bit(f.address) == 0 {
        return done(fx.i2);
    }
    // 2. Hard stops
    if f.suppressed {
        return done(fx.g1);
    }
    if f.restricted {
        return done(fx.g2);
    }
    if f.consent == ConsentState::Withdrawn {
        return done(fx.g3);
    }
    // 3. Consent
    match f.consent {
        ConsentState::Documented { double_opt_in } => {
            return match country.and_then(|c| c.consent_double_opt_in) {
                Some(doi) if !double_opt_in => done(doi),
                _ => done(fx.g4),
            };
        }
        ConsentState::Undocumented => return done(fx.g5),
        ConsentState::None | ConsentState::Withdrawn => {}
    }
    // 4. Jurisdiction
    let country = match (f.jurisdiction, country) {
        (Jurisdiction::Unknown, _) => return done(fx.g11),
        (_, None) | (Jurisdiction::NotCovered, _) => return done(fx.g12),
        (Jurisdiction::Covered, Some(c)) => c,
    };
    // 5. Data quality
    if f.stale {
        return done(fx.g9);
    }
    if f.provenance_review {
        return done(fx.g13);
    }
    // 6. Soft opt-in
    let soi = &country.soft_opt_in;
    if soi.allowed && f.soft_opt_in == SoftOptInState::Qualifies {
        if f.on_exclusion_list
            && let Some(on_list) = soi.on_list
        {
            return done(on_list);
        }
        return overlay(f, soi.outcome, false, rules);
    }
    // 7. The country's rule for everyone else
    let step7 = country_rule(f, country, rules);
    if rules.outcome(step7).decision != Decision::Eligible {
        return done(step7);
    }
    overlay(f, step7, true, rules)
}

/// Step 7: P1/P2, then the country's rows, with X2 for an unknown entity type.
fn country_rule(f: &Facts, country: &Country, rules: &RuleSet) -> OutcomeId {
    let fx = &rules.fixed;
    if country.p_rules {
        if f.address == AddressKind::Private {
            return fx.p1;
        }
        if f.entity == EntityType::Consumer {
            return fx.p2;
        }
    }
    let (a, p, i) = (
        address_bit(f.address),
        f.published_marketing_address,
        f.informed_at_collection,
    );
    let row = |e: u8| country.row_for(e, a, p, i).map(|r| r.outcome);
    let entity = entity_bit(f.entity);
    if entity != 0 {
        // The rule set is validated so that every entity × address has a row.
        return row(entity).unwrap_or(fx.x2);
    }
    // X2: as a legal person and as a sole trader; agree → that, else review.
    match (
        row(entity_bits::LEGAL_PERSON),
        row(entity_bits::SOLE_TRADER),
    ) {
        (Some(l), Some(s)) => {
            let (lo, so) = (rules.outcome(l), rules.outcome(s));
            if lo.decision == so.decision && lo.ground == so.ground {
                l
            } else {
                fx.x2
            }
        }
        _ => fx.x2,
    }
}

/// Step 8, the legitimate-interest overlay, on an ELIGIBLE of step 6 or 7.
fn overlay(f: &Facts, eligible: OutcomeId, from_step7: bool, rules: &RuleSet) -> Verdict {
    let fx = &rules.fixed;
    let done = |outcome| Verdict {
        outcome,
        art14_in_first_message: false,
    };
    if from_step7 && f.address == AddressKind::PersonalBusiness {
        if f.dmu_role == pb::dmu_role::Value::Unknown {
            return done(fx.r1_role_unknown);
        }
        if !f.role_relevant {
            return done(fx.r1_not_in_dmu);
        }
    }
    if !f.lia {
        return done(fx.g10);
    }
    if f.third_party && !f.art14_notice_sent {
        return match f.obtained {
            ObtainedAge::Unknown | ObtainedAge::OverNoticePeriod => done(fx.g7),
            ObtainedAge::WithinNoticePeriod => Verdict {
                outcome: eligible,
                art14_in_first_message: true,
            },
        };
    }
    done(eligible)
}

// ---------------------------------------------------------------------------
// Output

/// `dst = src`, reusing `dst`'s buffer.
#[inline]
fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// Writes the decision into `out`, reusing its buffers (`clone_from`).
fn build_into(
    ctx: &Context<'_>,
    facts: &Facts,
    verdict: Verdict,
    valid_until: Option<DateTime<Utc>>,
    out: &mut pb::EligibilityDecided,
) {
    let rules = ctx.rules;
    let o = rules.outcome(verdict.outcome);
    let eligible = o.decision == Decision::Eligible;
    let mut n_reasons = 0;
    let mut reason = |r: &pb::Reason| {
        match out.reasons.get_mut(n_reasons) {
            Some(slot) => slot.clone_from(r),
            None => out.reasons.push(r.clone()),
        }
        n_reasons += 1;
    };
    reason(&o.reason);
    if eligible && verdict.art14_in_first_message {
        reason(&rules.outcome(rules.fixed.g8).reason);
    }
    out.reasons.truncate(n_reasons);
    let mut n_obligations = 0;
    if eligible {
        let art14: &[String] = if verdict.art14_in_first_message {
            &rules.obligations_art14
        } else {
            &[]
        };
        let li: &[String] = if o.basis == pb::gdpr_basis::Value::LegitimateInterest {
            &rules.obligations_legitimate_interest
        } else {
            &[]
        };
        let country: &[String] = ctx.country.map_or(&[], |c| &c.obligations);
        for ob in rules
            .obligations_always
            .iter()
            .chain(li)
            .chain(art14)
            .chain(country)
        {
            match out.obligations.get_mut(n_obligations) {
                Some(slot) => set(slot, ob),
                None => out.obligations.push(ob.clone()),
            }
            n_obligations += 1;
        }
    }
    out.obligations.truncate(n_obligations);
    out.decision_id.clear();
    set(&mut out.contact_id, &ctx.contact.contact_id);
    set(&mut out.campaign_id, &ctx.campaign.campaign_id);
    out.decision = o.decision as i32;
    out.channel_ground = o.ground as i32;
    out.gdpr_basis = o.basis as i32;
    set(&mut out.jurisdiction, &ctx.jurisdiction);
    set(&mut out.rule_id, &o.rule_id);
    out.dmu_role = facts.dmu_role as i32;
    out.role_relevant = facts.role_relevant;
    set(&mut out.rule_set_version, &rules.version);
    write_input_digest(facts, &ctx.jurisdiction, rules, &mut out.input_digest);
    out.decided_at = None;
    out.valid_until = valid_until.map(pb::Timestamp::from);
    out.supersedes_decision_id.clear();
}

impl Facts {
    /// The facts as (name, value) pairs, in the canonical order; enum values by
    /// their contract names.
    pub fn canonical_fields<'a>(
        &self,
        jurisdiction: &'a str,
        rule_set_version: &'a str,
    ) -> [(&'static str, &'a str); 23] {
        let b = |v: bool| if v { "1" } else { "0" };
        let consent = match self.consent {
            ConsentState::None => "NONE",
            ConsentState::Withdrawn => "WITHDRAWN",
            ConsentState::Documented {
                double_opt_in: true,
            } => "DOCUMENTED_DOUBLE_OPT_IN",
            ConsentState::Documented {
                double_opt_in: false,
            } => "DOCUMENTED",
            ConsentState::Undocumented => "UNDOCUMENTED",
        };
        let soi = match self.soft_opt_in {
            SoftOptInState::None => "NONE",
            SoftOptInState::CountryConditionFails => "COUNTRY_CONDITION_FAILS",
            SoftOptInState::Qualifies => "QUALIFIES",
        };
        let obtained = match self.obtained {
            ObtainedAge::Unknown => "UNKNOWN",
            ObtainedAge::WithinNoticePeriod => "WITHIN_NOTICE_PERIOD",
            ObtainedAge::OverNoticePeriod => "OVER_NOTICE_PERIOD",
        };
        [
            ("ruleSetVersion", rule_set_version),
            ("channelEmail", b(self.channel_email)),
            ("addressKind", self.address.as_str_name()),
            ("suppressed", b(self.suppressed)),
            ("sourceRestricted", b(self.restricted)),
            ("consent", consent),
            ("jurisdiction", jurisdiction),
            ("dataStale", b(self.stale)),
            ("sourceProvenanceReview", b(self.provenance_review)),
            ("softOptIn", soi),
            ("onExclusionList", b(self.on_exclusion_list)),
            ("entityType", self.entity.as_str_name()),
            (
                "publishedMarketingAddress",
                b(self.published_marketing_address),
            ),
            ("informedAtCollection", b(self.informed_at_collection)),
            ("function", self.function.id()),
            ("seniority", self.seniority.id()),
            ("dmuRole", self.dmu_role.as_str_name()),
            ("roleRelevant", b(self.role_relevant)),
            ("liaRef", b(self.lia)),
            ("thirdPartySource", b(self.third_party)),
            ("art14NoticeSent", b(self.art14_notice_sent)),
            ("obtained", obtained),
            ("end", ""),
        ]
    }

    /// The canonical form hashed into `inputDigest`: the line
    /// `dmumatch.inputs.v1`, then the value of each of
    /// [`Facts::canonical_fields`] on a line of its own, in that order.
    pub fn write_canonical(
        &self,
        jurisdiction: &str,
        rule_set_version: &str,
        out: &mut impl FnMut(&[u8]),
    ) {
        out(b"dmumatch.inputs.v1\n");
        for (_, v) in self.canonical_fields(jurisdiction, rule_set_version) {
            out(v.as_bytes());
            out(b"\n");
        }
    }
}

/// `sha256:<hex>` of [`Facts::write_canonical`], into `out`.
fn write_input_digest(facts: &Facts, jurisdiction: &str, rules: &RuleSet, out: &mut String) {
    let mut h = Sha256::new();
    facts.write_canonical(jurisdiction, &rules.version, &mut |b| h.update(b));
    out.clear();
    out.push_str("sha256:");
    push_hex(out, &h.finalize());
}

pub(crate) fn push_hex(s: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
}

/// The facts of a contact × campaign at `as_of` (what the rules read; the unit tests check them).
pub fn facts(
    contact: &pb::Contact,
    enrichment: &Enrichment,
    campaign: &PreparedCampaign,
    as_of: DateTime<Utc>,
    rules: &RuleSet,
) -> Facts {
    Context::new(contact, enrichment, campaign, rules).facts(as_of)
}

#[cfg(test)]
mod tests;
