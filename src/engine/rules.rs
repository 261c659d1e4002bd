//! The versioned rule set (`data/rules.toml`): country table, thresholds,
//! webmail and role-word lists, legal forms, the DMU table, reason texts.
//!
//! The file is parsed into raw serde structs, then validated and compiled into
//! the lookups the hot path uses (hash sets, bit masks, outcome indices). The
//! evaluation *order* of `docs/spec/eligibility-rules.md` is code (`eligibility.rs`);
//! everything it consults is here, so a new country, row or list entry needs no
//! code change. Validation refuses a file the engine could not run exactly:
//! unknown enum names, missing rules the steps refer to, a country table with
//! a gap, a DMU table without a catch-all row.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use serde::Deserialize;

use super::taxonomy::{Function, Seniority};
use crate::pb;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file: {0}")]
    Parse(String),
    #[error("rules file: {0}")]
    Invalid(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, RulesError> {
    Err(RulesError::Invalid(msg.into()))
}

// ---------------------------------------------------------------------------
// Raw file format (see data/rules.toml for the meaning of every field)

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: String,
    #[serde(default)]
    spec: String,
    thresholds: RawThresholds,
    #[serde(default)]
    jurisdiction: RawJurisdiction,
    sources: RawSources,
    soft_opt_in: RawSoftOptInGlobal,
    obligations: RawObligations,
    address: RawAddress,
    #[serde(default)]
    legal_form: Vec<RawLegalForm>,
    dmu: Vec<RawDmu>,
    rule: Vec<RawRule>,
    country: Vec<RawCountry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    data_stale_months: u32,
    art14_notice_months: u32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    third_party: Vec<String>,
    provenance_review: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSoftOptInGlobal {
    relationships: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObligations {
    always: Vec<String>,
    legitimate_interest: Vec<String>,
    art14_first_message: Vec<String>,
    #[serde(default)]
    text: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddress {
    webmail_domains: Vec<String>,
    role_words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLegalForm {
    entity_type: String,
    #[serde(default)]
    countries: Vec<String>,
    forms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDmu {
    id: String,
    #[serde(default)]
    seniority: Vec<String>,
    #[serde(default)]
    function: Vec<String>,
    #[serde(default)]
    employee_count_below: Option<i32>,
    role: String,
}

/// The outcome fields of a rule, case or row.
struct RawOutcome {
    decision: Option<String>,
    ground: Option<String>,
    basis: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    citation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    step: u8,
    title: String,
    when: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    ground: Option<String>,
    #[serde(default)]
    basis: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    citation: Option<String>,
    #[serde(default)]
    case: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    when: String,
    decision: String,
    #[serde(default)]
    ground: Option<String>,
    #[serde(default)]
    basis: Option<String>,
    reason: String,
    message: String,
    citation: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountry {
    code: String,
    name: String,
    law: String,
    #[serde(default = "yes")]
    p_rules: bool,
    #[serde(default)]
    obligations: Vec<String>,
    #[serde(default)]
    consent_double_opt_in_rule: Option<String>,
    soft_opt_in: RawCountrySoi,
    row: Vec<RawRow>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountrySoi {
    allowed: bool,
    #[serde(default)]
    purchase_within_months: Option<u32>,
    #[serde(default)]
    address_supplied_by_contact: bool,
    #[serde(default)]
    exclusion_list: Option<String>,
    #[serde(default)]
    on_list_rule: Option<String>,
    #[serde(default)]
    citation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    id: String,
    entity: Vec<String>,
    address: Vec<String>,
    #[serde(default)]
    published_marketing_address: Option<bool>,
    #[serde(default)]
    informed_at_collection: Option<bool>,
    decision: String,
    #[serde(default)]
    ground: Option<String>,
    #[serde(default)]
    basis: Option<String>,
    reason: String,
    message: String,
    citation: String,
}

// ---------------------------------------------------------------------------
// Compiled form

/// Index into [`RuleSet::outcome`].
pub type OutcomeId = u16;

/// What a rule, case or row decides, with its reason text.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub rule_id: String,
    pub decision: pb::decision::Value,
    pub ground: pb::channel_ground::Value,
    pub basis: pb::gdpr_basis::Value,
    pub reason: pb::Reason,
}

/// A general rule as written, for `dmumatch rules`.
#[derive(Clone, Debug)]
pub struct RuleDoc {
    pub id: String,
    pub step: u8,
    pub title: String,
    pub when: String,
    /// Obligation-only rules (G8) keep the decision and add an obligation.
    pub obligation_only: bool,
    /// (case name, case condition, outcome); one entry with empty name for single-outcome rules.
    pub cases: Vec<(String, String, OutcomeId)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub data_stale_months: u32,
    pub art14_notice_months: u32,
}

/// Bits of entity types a row accepts.
pub mod entity_bits {
    pub const LEGAL_PERSON: u8 = 1;
    pub const PUBLIC_BODY: u8 = 2;
    pub const SOLE_TRADER: u8 = 4;
    pub const PARTNERSHIP: u8 = 8;
    pub const CONSUMER: u8 = 16;
    pub const ALL: u8 = 31;
}

/// Bits of address kinds a row accepts.
pub mod address_bits {
    pub const PERSONAL_BUSINESS: u8 = 1;
    pub const GENERIC_ROLE: u8 = 2;
    pub const PRIVATE: u8 = 4;
    pub const ALL: u8 = 7;
}

/// Entity bit of an entity type; UNKNOWN and UNSPECIFIED have none (X2 handles them).
pub fn entity_bit(e: pb::entity_type::Value) -> u8 {
    use pb::entity_type::Value as E;
    match e {
        E::LegalPerson => entity_bits::LEGAL_PERSON,
        E::PublicBody => entity_bits::PUBLIC_BODY,
        E::SoleTrader => entity_bits::SOLE_TRADER,
        E::Partnership => entity_bits::PARTNERSHIP,
        E::Consumer => entity_bits::CONSUMER,
        E::Unspecified | E::Unknown => 0,
    }
}

/// Address bit of an address kind; INVALID and UNSPECIFIED have none.
pub fn address_bit(a: pb::address_kind::Value) -> u8 {
    use pb::address_kind::Value as A;
    match a {
        A::PersonalBusiness => address_bits::PERSONAL_BUSINESS,
        A::GenericRole => address_bits::GENERIC_ROLE,
        A::Private => address_bits::PRIVATE,
        A::Unspecified | A::Invalid => 0,
    }
}

/// One row of a country's step-7 table.
#[derive(Clone, Debug)]
pub struct CountryRow {
    pub id: String,
    pub entity: Vec<String>,
    pub address: Vec<String>,
    pub entity_mask: u8,
    pub address_mask: u8,
    pub published_marketing_address: Option<bool>,
    pub informed_at_collection: Option<bool>,
    pub outcome: OutcomeId,
}

impl CountryRow {
    #[inline]
    pub fn matches(&self, entity: u8, address: u8, published: bool, informed: bool) -> bool {
        self.entity_mask & entity != 0
            && self.address_mask & address != 0
            && self
                .published_marketing_address
                .is_none_or(|p| p == published)
            && self.informed_at_collection.is_none_or(|i| i == informed)
    }
}

/// Step 6 for one country.
#[derive(Clone, Debug)]
pub struct SoftOptIn {
    pub allowed: bool,
    /// IE: the purchase must be within this many months of asOf, else step 7.
    pub purchase_within_months: Option<u32>,
    /// IT: the address must have been supplied by the contact, else step 7.
    pub address_supplied_by_contact: bool,
    /// AT/ES: being on this list diverts to `on_list`.
    pub exclusion_list: Option<String>,
    pub on_list: Option<OutcomeId>,
    /// The SOI outcome with this country's citation.
    pub outcome: OutcomeId,
}

#[derive(Clone, Debug)]
pub struct Country {
    pub code: String,
    pub name: String,
    pub law: String,
    /// P1/P2 apply (everywhere but the US).
    pub p_rules: bool,
    /// Obligations this country adds to every ELIGIBLE.
    pub obligations: Vec<String>,
    /// DE: G4 also needs `doubleOptInAt`, else this outcome.
    pub consent_double_opt_in: Option<OutcomeId>,
    pub soft_opt_in: SoftOptIn,
    pub rows: Vec<CountryRow>,
}

impl Country {
    /// The first row that matches, if any.
    #[inline]
    pub fn row_for(
        &self,
        entity: u8,
        address: u8,
        published: bool,
        informed: bool,
    ) -> Option<&CountryRow> {
        self.rows
            .iter()
            .find(|r| r.matches(entity, address, published, informed))
    }
}

/// Bits of the 16 functions.
pub type FunctionMask = u16;

pub fn function_bit(f: Function) -> FunctionMask {
    1 << (f as u8)
}

pub fn seniority_bit(s: Seniority) -> u8 {
    1 << (s as u8)
}

/// One row of the DMU table.
#[derive(Clone, Debug)]
pub struct DmuRow {
    pub id: String,
    pub seniority: Vec<String>,
    pub function: Vec<String>,
    /// 0 = any seniority.
    pub seniority_mask: u8,
    /// Fixed functions; with the profile flags below, 0 and no flags = any function.
    pub function_mask: FunctionMask,
    pub owning: bool,
    pub user: bool,
    pub budget: bool,
    pub employee_count_below: Option<i32>,
    pub role: pb::dmu_role::Value,
}

/// The fixed rules the evaluation steps refer to by id.
#[derive(Clone, Copy, Debug)]
pub struct Fixed {
    pub i0: OutcomeId,
    pub i1: OutcomeId,
    pub i2: OutcomeId,
    pub g1: OutcomeId,
    pub g2: OutcomeId,
    pub g3: OutcomeId,
    pub g4: OutcomeId,
    pub g5: OutcomeId,
    pub g11: OutcomeId,
    pub g12: OutcomeId,
    pub g9: OutcomeId,
    pub g13: OutcomeId,
    pub p1: OutcomeId,
    pub p2: OutcomeId,
    pub x2: OutcomeId,
    pub r1_role_unknown: OutcomeId,
    pub r1_not_in_dmu: OutcomeId,
    pub g10: OutcomeId,
    pub g7: OutcomeId,
    /// G8 does not decide; its reason is added to the ELIGIBLE it leaves standing.
    pub g8: OutcomeId,
}

#[derive(Debug)]
pub struct LegalFormEntry {
    pub default: Option<pb::entity_type::Value>,
    pub by_country: Vec<(String, pb::entity_type::Value)>,
}

#[derive(Debug)]
pub struct RuleSet {
    pub version: String,
    pub spec: String,
    pub thresholds: Thresholds,
    pub aliases: BTreeMap<String, String>,
    /// Bits by `SourceKind` value.
    pub third_party_sources: u32,
    pub provenance_review_sources: u32,
    /// Bits by `Relationship` value.
    pub soft_opt_in_relationships: u32,
    pub obligations_always: Vec<String>,
    pub obligations_legitimate_interest: Vec<String>,
    pub obligations_art14: Vec<String>,
    pub obligation_text: BTreeMap<String, String>,
    pub webmail_domains: HashSet<String>,
    pub role_words: HashSet<String>,
    pub legal_forms: HashMap<String, LegalFormEntry>,
    pub dmu: Vec<DmuRow>,
    pub rules: Vec<RuleDoc>,
    pub outcomes: Vec<Outcome>,
    pub fixed: Fixed,
    pub countries: Vec<Country>,
    country_index: HashMap<String, usize>,
    /// The legal forms as written, by entity type and countries, for `dmumatch rules`.
    pub legal_form_doc: Vec<(String, Vec<String>, Vec<String>)>,
    /// Webmail and role-word lists in file order, for `dmumatch rules`.
    pub webmail_doc: Vec<String>,
    pub role_words_doc: Vec<String>,
}

static EMBEDDED_TEXT: &str = include_str!("../../data/rules.toml");

static EMBEDDED: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::from_toml(EMBEDDED_TEXT).unwrap_or_else(|e| panic!("embedded data/rules.toml: {e}"))
});

impl RuleSet {
    /// The rule set compiled into the binary (`data/rules.toml`).
    pub fn embedded() -> &'static RuleSet {
        &EMBEDDED
    }

    /// The text of the embedded rules file.
    pub fn embedded_text() -> &'static str {
        EMBEDDED_TEXT
    }

    #[inline]
    pub fn outcome(&self, id: OutcomeId) -> &Outcome {
        &self.outcomes[id as usize]
    }

    /// The country table for an ISO code (aliases such as UK → GB applied).
    pub fn country(&self, code: &str) -> Option<&Country> {
        let code = self.canonical_country(code);
        self.country_index.get(code).map(|&i| &self.countries[i])
    }

    /// UK → GB and any other alias; the code itself otherwise.
    pub fn canonical_country<'a>(&'a self, code: &'a str) -> &'a str {
        self.aliases.get(code).map_or(code, String::as_str)
    }

    /// The rule documentation entry by id.
    pub fn rule(&self, id: &str) -> Option<&RuleDoc> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Message and citation for a reason code, wherever it is defined.
    pub fn reason(&self, code: &str) -> Option<&pb::Reason> {
        self.outcomes
            .iter()
            .map(|o| &o.reason)
            .find(|r| r.code == code)
    }

    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| RulesError::Parse(e.to_string()))?;
        compile(raw)
    }
}

fn parse_enum<T>(what: &str, name: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, RulesError> {
    f(name).ok_or_else(|| RulesError::Invalid(format!("unknown {what} {name:?}")))
}

fn decision(name: &str) -> Result<pb::decision::Value, RulesError> {
    match parse_enum("decision", name, pb::decision::Value::from_str_name)? {
        pb::decision::Value::Unspecified => invalid("decision UNSPECIFIED is not a decision"),
        d => Ok(d),
    }
}

fn bitmask<T: Copy>(
    what: &str,
    names: &[String],
    parse: impl Fn(&str) -> Option<T>,
    bit: impl Fn(T) -> u32,
) -> Result<u32, RulesError> {
    let mut mask = 0;
    for n in names {
        mask |= bit(parse_enum(what, n, &parse)?);
    }
    Ok(mask)
}

/// Builds an outcome; ELIGIBLE needs a ground and defaults its basis to
/// legitimate interest (spec: "where a row says ELIGIBLE, gdprBasis is LEGITIMATE_INTEREST").
fn build_outcome(rule_id: &str, o: RawOutcome) -> Result<Outcome, RulesError> {
    let ctx = |m: &str| RulesError::Invalid(format!("rule {rule_id}: {m}"));
    let d = decision(o.decision.as_deref().ok_or_else(|| ctx("no decision"))?)?;
    let reason = o.reason.ok_or_else(|| ctx("no reason code"))?;
    let message = o.message.ok_or_else(|| ctx("no message"))?;
    let citation = o.citation.ok_or_else(|| ctx("no citation"))?;
    if reason.is_empty() || message.is_empty() || citation.is_empty() {
        return Err(ctx("empty reason, message or citation"));
    }
    let (ground, basis) = if d == pb::decision::Value::Eligible {
        let g = parse_enum(
            "channel ground",
            o.ground
                .as_deref()
                .ok_or_else(|| ctx("ELIGIBLE without ground"))?,
            pb::channel_ground::Value::from_str_name,
        )?;
        let b = match o.basis.as_deref() {
            Some(b) => parse_enum("GDPR basis", b, pb::gdpr_basis::Value::from_str_name)?,
            None => pb::gdpr_basis::Value::LegitimateInterest,
        };
        if g == pb::channel_ground::Value::None || b == pb::gdpr_basis::Value::None {
            return Err(ctx("ELIGIBLE needs a channel ground and a GDPR basis"));
        }
        (g, b)
    } else {
        if o.ground.is_some() || o.basis.is_some() {
            return Err(ctx("only ELIGIBLE has a ground or basis"));
        }
        (pb::channel_ground::Value::None, pb::gdpr_basis::Value::None)
    };
    Ok(Outcome {
        rule_id: rule_id.to_owned(),
        decision: d,
        ground,
        basis,
        reason: pb::Reason {
            code: reason,
            message,
            citation,
        },
    })
}

/// Legal forms are compared lower-cased, without dots, spaces, hyphens,
/// commas, apostrophes or diacritics. Writes into `buf`; None if it does not fit.
pub fn normalise_legal_form<'b>(form: &str, buf: &'b mut [u8; 64]) -> Option<&'b str> {
    let mut n = 0;
    for c in form.chars() {
        if matches!(c, '.' | ' ' | '-' | ',' | '\'' | '’' | '_' | '\t') {
            continue;
        }
        let c = fold_char(c);
        for lc in c.to_lowercase() {
            let mut tmp = [0u8; 4];
            let s = lc.encode_utf8(&mut tmp);
            if n + s.len() > buf.len() {
                return None;
            }
            buf[n..n + s.len()].copy_from_slice(s.as_bytes());
            n += s.len();
        }
    }
    std::str::from_utf8(&buf[..n]).ok()
}

/// A country code trimmed and ASCII upper-cased into `buf` ("nl " → "NL");
/// longer strings come back trimmed but unchanged (they match no country).
pub fn upper_code<'a>(code: &'a str, buf: &'a mut [u8; 8]) -> &'a str {
    let code = code.trim();
    let b = code.as_bytes();
    if b.len() > buf.len() || !b.is_ascii() {
        return code;
    }
    for (o, c) in buf.iter_mut().zip(b) {
        *o = c.to_ascii_uppercase();
    }
    std::str::from_utf8(&buf[..b.len()]).unwrap_or(code)
}

/// Latin letters with diacritics → the base letter (enough for legal forms).
fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ą' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ą' => 'A',
        'ç' | 'ć' | 'č' => 'c',
        'Ç' | 'Ć' | 'Č' => 'C',
        'è' | 'é' | 'ê' | 'ë' | 'ę' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' | 'Ę' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ł' => 'l',
        'Ł' => 'L',
        'ñ' | 'ń' => 'n',
        'Ñ' | 'Ń' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'ś' | 'š' => 's',
        'Ś' | 'Š' => 'S',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        'ź' | 'ż' | 'ž' => 'z',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        'æ' => 'a',
        'ß' => 's',
        other => other,
    }
}

fn push(outcomes: &mut Vec<Outcome>, o: Outcome) -> Result<OutcomeId, RulesError> {
    let id = OutcomeId::try_from(outcomes.len())
        .map_err(|_| RulesError::Invalid("too many outcomes".into()))?;
    outcomes.push(o);
    Ok(id)
}

fn compile(raw: RawFile) -> Result<RuleSet, RulesError> {
    if raw.version.trim().is_empty() {
        return invalid("version is empty");
    }
    if raw.thresholds.data_stale_months == 0 || raw.thresholds.art14_notice_months == 0 {
        return invalid("thresholds must be at least one month");
    }

    let source_bit = |k: pb::source_kind::Value| 1u32 << (k as i32);
    let third_party_sources = bitmask(
        "source kind",
        &raw.sources.third_party,
        pb::source_kind::Value::from_str_name,
        source_bit,
    )?;
    let provenance_review_sources = bitmask(
        "source kind",
        &raw.sources.provenance_review,
        pb::source_kind::Value::from_str_name,
        source_bit,
    )?;
    let soft_opt_in_relationships = bitmask(
        "relationship",
        &raw.soft_opt_in.relationships,
        pb::relationship::Value::from_str_name,
        |r| 1u32 << (r as i32),
    )?;

    let mut aliases = BTreeMap::new();
    for (k, v) in raw.jurisdiction.aliases {
        aliases.insert(k.trim().to_ascii_uppercase(), v.trim().to_ascii_uppercase());
    }

    // Outcomes: general rules first, then country rows.
    let mut outcomes: Vec<Outcome> = Vec::new();

    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    for r in raw.rule {
        if !seen.insert(r.id.clone()) {
            return invalid(format!("rule {} defined twice", r.id));
        }
        let obligation_only = match r.kind.as_deref() {
            None | Some("decision") => false,
            Some("obligation") => true,
            Some(k) => return invalid(format!("rule {}: unknown kind {k:?}", r.id)),
        };
        let mut cases = Vec::new();
        if r.case.is_empty() {
            let mut o = RawOutcome {
                decision: r.decision,
                ground: r.ground,
                basis: r.basis,
                reason: r.reason,
                message: r.message,
                citation: r.citation,
            };
            if obligation_only {
                if o.decision.is_some() {
                    return invalid(format!("rule {}: an obligation rule has no decision", r.id));
                }
                // Kept as ELIGIBLE so its reason can ride on the decision it leaves standing.
                o.decision = Some("ELIGIBLE".into());
                o.ground = Some("NATIONAL_B2B_EXEMPTION".into());
            }
            cases.push((
                String::new(),
                String::new(),
                push(&mut outcomes, build_outcome(&r.id, o)?)?,
            ));
        } else {
            if r.decision.is_some() || r.reason.is_some() {
                return invalid(format!("rule {}: either cases or one outcome", r.id));
            }
            for c in r.case {
                let o = RawOutcome {
                    decision: Some(c.decision),
                    ground: c.ground,
                    basis: c.basis,
                    reason: Some(c.reason),
                    message: Some(c.message),
                    citation: Some(c.citation),
                };
                let id = push(&mut outcomes, build_outcome(&r.id, o)?)?;
                cases.push((c.name, c.when, id));
            }
        }
        rules.push(RuleDoc {
            id: r.id,
            step: r.step,
            title: r.title,
            when: r.when,
            obligation_only,
            cases,
        });
    }
    // Stable: file order inside a step.
    rules.sort_by_key(|r| r.step);

    let find = |id: &str, case: &str| -> Result<OutcomeId, RulesError> {
        let r = rules
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| RulesError::Invalid(format!("rule {id} is missing")))?;
        r.cases
            .iter()
            .find(|(n, _, _)| n == case)
            .map(|c| c.2)
            .ok_or_else(|| {
                RulesError::Invalid(format!(
                    "rule {id} needs {}",
                    if case.is_empty() {
                        "a single outcome".to_owned()
                    } else {
                        format!("case {case:?}")
                    }
                ))
            })
    };
    let fixed = Fixed {
        i0: find("I0", "")?,
        i1: find("I1", "")?,
        i2: find("I2", "")?,
        g1: find("G1", "")?,
        g2: find("G2", "")?,
        g3: find("G3", "")?,
        g4: find("G4", "")?,
        g5: find("G5", "")?,
        g11: find("G11", "")?,
        g12: find("G12", "")?,
        g9: find("G9", "")?,
        g13: find("G13", "")?,
        p1: find("P1", "")?,
        p2: find("P2", "")?,
        x2: find("X2", "")?,
        r1_role_unknown: find("R1", "role_unknown")?,
        r1_not_in_dmu: find("R1", "not_in_dmu")?,
        g10: find("G10", "")?,
        g7: find("G7", "")?,
        g8: find("G8", "")?,
    };
    let soi_generic = find("SOI", "")?;
    {
        let o = |id: OutcomeId| &outcomes[id as usize];
        if o(fixed.g4).decision != pb::decision::Value::Eligible
            || o(soi_generic).decision != pb::decision::Value::Eligible
        {
            return invalid("G4 and SOI must decide ELIGIBLE");
        }
        for (name, id) in [("G1", fixed.g1), ("G2", fixed.g2), ("G3", fixed.g3)] {
            if o(id).decision == pb::decision::Value::Eligible {
                return invalid(format!("{name} cannot decide ELIGIBLE"));
            }
        }
        if !rules.iter().any(|r| r.id == "G8" && r.obligation_only) {
            return invalid("G8 must be kind = \"obligation\"");
        }
    }

    // Countries.
    let mut countries = Vec::new();
    let mut country_index = HashMap::new();
    let mut row_ids = HashSet::new();
    for c in raw.country {
        let code = c.code.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return invalid(format!(
                "country code {:?} is not ISO 3166-1 alpha-2",
                c.code
            ));
        }
        if aliases.contains_key(&code) {
            return invalid(format!("country {code} is also an alias"));
        }
        if country_index
            .insert(code.clone(), countries.len())
            .is_some()
        {
            return invalid(format!("country {code} defined twice"));
        }
        let soi_base = outcomes[soi_generic as usize].clone();
        let soi_outcome = Outcome {
            reason: pb::Reason {
                citation: match &c.soft_opt_in.citation {
                    Some(cit) => format!("{cit}; {}", soi_base.reason.citation),
                    None => soi_base.reason.citation.clone(),
                },
                ..soi_base.reason.clone()
            },
            ..soi_base
        };
        let on_list = match (&c.soft_opt_in.exclusion_list, &c.soft_opt_in.on_list_rule) {
            (Some(_), Some(rule)) => Some(find(rule, "")?),
            (None, None) => None,
            _ => {
                return invalid(format!(
                    "country {code}: exclusion_list and on_list_rule go together"
                ));
            }
        };
        let soft_opt_in = SoftOptIn {
            allowed: c.soft_opt_in.allowed,
            purchase_within_months: c.soft_opt_in.purchase_within_months,
            address_supplied_by_contact: c.soft_opt_in.address_supplied_by_contact,
            exclusion_list: c.soft_opt_in.exclusion_list,
            on_list,
            outcome: push(&mut outcomes, soi_outcome)?,
        };
        let consent_double_opt_in = c
            .consent_double_opt_in_rule
            .as_deref()
            .map(|r| find(r, ""))
            .transpose()?;
        let mut rows = Vec::new();
        for r in c.row {
            if !row_ids.insert(r.id.clone()) || rules.iter().any(|x| x.id == r.id) {
                return invalid(format!("row id {} used twice", r.id));
            }
            let mut entity_mask = 0;
            for e in &r.entity {
                entity_mask |= match e.as_str() {
                    "any" => entity_bits::ALL,
                    "L" => entity_bits::LEGAL_PERSON | entity_bits::PUBLIC_BODY,
                    other => match pb::entity_type::Value::from_str_name(other) {
                        Some(v) if entity_bit(v) != 0 => entity_bit(v),
                        _ => return invalid(format!("row {}: unknown entity {other:?}", r.id)),
                    },
                };
            }
            let mut address_mask = 0;
            for a in &r.address {
                address_mask |= match a.as_str() {
                    "any" => address_bits::ALL,
                    other => match pb::address_kind::Value::from_str_name(other) {
                        Some(v) if address_bit(v) != 0 => address_bit(v),
                        _ => return invalid(format!("row {}: unknown address {other:?}", r.id)),
                    },
                };
            }
            let outcome = push(
                &mut outcomes,
                build_outcome(
                    &r.id,
                    RawOutcome {
                        decision: Some(r.decision),
                        ground: r.ground,
                        basis: r.basis,
                        reason: Some(r.reason),
                        message: Some(r.message),
                        citation: Some(r.citation),
                    },
                )?,
            )?;
            rows.push(CountryRow {
                id: r.id,
                entity: r.entity,
                address: r.address,
                entity_mask,
                address_mask,
                published_marketing_address: r.published_marketing_address,
                informed_at_collection: r.informed_at_collection,
                outcome,
            });
        }
        let country = Country {
            code,
            name: c.name,
            law: c.law,
            p_rules: c.p_rules,
            obligations: c.obligations,
            consent_double_opt_in,
            soft_opt_in,
            rows,
        };
        check_total(&country)?;
        countries.push(country);
    }
    if countries.is_empty() {
        return invalid("no [[country]] tables");
    }

    // Legal forms.
    let mut legal_forms: HashMap<String, LegalFormEntry> = HashMap::new();
    let mut legal_form_doc = Vec::new();
    for lf in raw.legal_form {
        let et = parse_enum(
            "entity type",
            &lf.entity_type,
            pb::entity_type::Value::from_str_name,
        )?;
        if matches!(
            et,
            pb::entity_type::Value::Unspecified | pb::entity_type::Value::Unknown
        ) {
            return invalid(format!("legal forms cannot map to {}", lf.entity_type));
        }
        let countries_up: Vec<String> = lf
            .countries
            .iter()
            .map(|c| c.trim().to_ascii_uppercase())
            .collect();
        for form in &lf.forms {
            let mut buf = [0u8; 64];
            let key = normalise_legal_form(form, &mut buf)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| {
                    RulesError::Invalid(format!("legal form {form:?} is empty or too long"))
                })?
                .to_owned();
            let entry = legal_forms.entry(key).or_insert(LegalFormEntry {
                default: None,
                by_country: Vec::new(),
            });
            if countries_up.is_empty() {
                if entry.default.is_some_and(|d| d != et) {
                    return invalid(format!("legal form {form:?} maps to two entity types"));
                }
                entry.default = Some(et);
            } else {
                for c in &countries_up {
                    if entry.by_country.iter().any(|(k, v)| k == c && *v != et) {
                        return invalid(format!("legal form {form:?} in {c} maps to two types"));
                    }
                    entry.by_country.push((c.clone(), et));
                }
            }
        }
        legal_form_doc.push((lf.entity_type, countries_up, lf.forms));
    }

    // DMU table.
    let mut dmu = Vec::new();
    for d in raw.dmu {
        let mut seniority_mask = 0u8;
        for s in &d.seniority {
            let s = Seniority::from_id(s)
                .ok_or_else(|| RulesError::Invalid(format!("{}: unknown seniority {s:?}", d.id)))?;
            seniority_mask |= seniority_bit(s);
        }
        let (mut function_mask, mut owning, mut user, mut budget) = (0, false, false, false);
        for f in &d.function {
            match f.as_str() {
                "@owning" => owning = true,
                "@user" => user = true,
                "@budget" => budget = true,
                id => {
                    function_mask |= function_bit(Function::from_id(id).ok_or_else(|| {
                        RulesError::Invalid(format!("{}: unknown function {id:?}", d.id))
                    })?)
                }
            }
        }
        let role = parse_enum("DMU role", &d.role, pb::dmu_role::Value::from_str_name)?;
        dmu.push(DmuRow {
            id: d.id,
            seniority: d.seniority,
            function: d.function,
            seniority_mask,
            function_mask,
            owning,
            user,
            budget,
            employee_count_below: d.employee_count_below,
            role,
        });
    }
    match dmu.last() {
        Some(last)
            if last.seniority_mask == 0
                && last.function_mask == 0
                && !(last.owning || last.user || last.budget)
                && last.employee_count_below.is_none() => {}
        _ => return invalid("the DMU table must end with a row without conditions"),
    }

    let lower =
        |v: &[String]| -> HashSet<String> { v.iter().map(|s| s.trim().to_lowercase()).collect() };
    let webmail_domains = lower(&raw.address.webmail_domains);
    let role_words = lower(&raw.address.role_words);
    if webmail_domains
        .iter()
        .any(|d| !d.contains('.') || d.contains('@'))
    {
        return invalid("webmail_domains must be domains");
    }

    let all_obligations = raw
        .obligations
        .always
        .iter()
        .chain(&raw.obligations.legitimate_interest)
        .chain(&raw.obligations.art14_first_message)
        .chain(countries.iter().flat_map(|c| &c.obligations));
    for o in all_obligations {
        if !raw.obligations.text.is_empty() && !raw.obligations.text.contains_key(o) {
            return invalid(format!("obligation {o} has no [obligations.text] entry"));
        }
    }

    Ok(RuleSet {
        version: raw.version,
        spec: raw.spec,
        thresholds: Thresholds {
            data_stale_months: raw.thresholds.data_stale_months,
            art14_notice_months: raw.thresholds.art14_notice_months,
        },
        aliases,
        third_party_sources,
        provenance_review_sources,
        soft_opt_in_relationships,
        obligations_always: raw.obligations.always,
        obligations_legitimate_interest: raw.obligations.legitimate_interest,
        obligations_art14: raw.obligations.art14_first_message,
        obligation_text: raw.obligations.text,
        webmail_doc: raw.address.webmail_domains,
        role_words_doc: raw.address.role_words,
        webmail_domains,
        role_words,
        legal_forms,
        dmu,
        rules,
        outcomes,
        fixed,
        countries,
        country_index,
        legal_form_doc,
    })
}

/// Every legal person, sole trader and partnership at a personal or generic
/// address must reach a row (and, without P1/P2, consumers and private
/// addresses too), whatever the published/informed flags: a gap would leave a
/// contact undecided.
fn check_total(c: &Country) -> Result<(), RulesError> {
    use address_bits as A;
    use entity_bits as E;
    let mut entities = vec![
        E::LEGAL_PERSON,
        E::PUBLIC_BODY,
        E::SOLE_TRADER,
        E::PARTNERSHIP,
    ];
    let mut addresses = vec![A::PERSONAL_BUSINESS, A::GENERIC_ROLE];
    if !c.p_rules {
        entities.push(E::CONSUMER);
        addresses.push(A::PRIVATE);
    }
    for &e in &entities {
        for &a in &addresses {
            for published in [false, true] {
                for informed in [false, true] {
                    if c.row_for(e, a, published, informed).is_none() {
                        return invalid(format!(
                            "country {}: no row for entity bit {e}, address bit {a} \
                             (published {published}, informed {informed})",
                            c.code
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load() {
        let r = RuleSet::embedded();
        assert_eq!(r.version, "2026.11.1");
        assert_eq!(r.countries.len(), 13);
        for code in [
            "NL", "BE", "DE", "FR", "GB", "IE", "ES", "IT", "AT", "DK", "SE", "PL", "US",
        ] {
            assert!(r.country(code).is_some(), "{code}");
        }
        assert_eq!(r.country("UK").unwrap().code, "GB");
        assert!(r.country("LU").is_none());
        assert_eq!(r.dmu.len(), 12);
        assert!(r.webmail_domains.contains("gmail.com"));
        assert!(r.role_words.contains("zentrale"));
        assert_eq!(r.thresholds.data_stale_months, 24);
        assert_eq!(
            r.country("IE").unwrap().soft_opt_in.purchase_within_months,
            Some(12)
        );
    }

    #[test]
    fn every_outcome_has_code_message_and_citation() {
        let r = RuleSet::embedded();
        for o in &r.outcomes {
            assert!(!o.reason.code.is_empty(), "{}", o.rule_id);
            assert!(!o.reason.message.is_empty(), "{}", o.rule_id);
            assert!(!o.reason.citation.is_empty(), "{}", o.rule_id);
            assert_eq!(
                o.decision == pb::decision::Value::Eligible,
                o.ground != pb::channel_ground::Value::None,
                "{}",
                o.rule_id
            );
        }
        // The contract's example reason code for NL2.
        let nl2 = &r.country("NL").unwrap().rows[1];
        assert_eq!(
            r.outcome(nl2.outcome).reason.code,
            "NL_PERSONAL_ADDRESS_REQUIRES_CONSENT"
        );
    }

    #[test]
    fn legal_forms_normalise() {
        let mut buf = [0u8; 64];
        assert_eq!(normalise_legal_form("S.r.l.", &mut buf), Some("srl"));
        assert_eq!(normalise_legal_form("sp. z o.o.", &mut buf), Some("spzoo"));
        assert_eq!(
            normalise_legal_form("Coöperatie", &mut buf),
            Some("cooperatie")
        );
        assert_eq!(
            normalise_legal_form("Auto-Entrepreneur", &mut buf),
            Some("autoentrepreneur")
        );
        assert_eq!(normalise_legal_form(&"x".repeat(65), &mut buf), None);
    }

    fn edit(from: &str, to: &str) -> String {
        let text = RuleSet::embedded_text();
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1)
    }

    #[test]
    fn rejects_unknown_enum_names() {
        let text = edit("decision = \"NEEDS_CONSENT\"", "decision = \"MAYBE\"");
        let e = RuleSet::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("MAYBE"), "{e}");
    }

    #[test]
    fn rejects_a_country_with_a_gap() {
        // Without NL2, a personal address in NL reaches no row.
        let text = edit(
            "id = \"NL2\"\nentity = [\"any\"]",
            "id = \"NL2\"\nentity = [\"CONSUMER\"]",
        );
        let e = RuleSet::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("country NL: no row"), "{e}");
    }

    #[test]
    fn rejects_missing_fixed_rule() {
        let text = edit("id = \"G13\"", "id = \"G13X\"");
        let e = RuleSet::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("G13 is missing"), "{e}");
    }

    #[test]
    fn rejects_dmu_table_without_catch_all() {
        let text = edit(
            "id = \"D12\"\nrole = \"NONE\"",
            "id = \"D12\"\nseniority = [\"staff\"]\nrole = \"NONE\"",
        );
        let e = RuleSet::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("DMU table"), "{e}");
    }

    #[test]
    fn a_new_country_is_data_only() {
        // Luxembourg added as a consent-only country: no code change needed.
        let text = format!(
            "{}\n[[country]]\ncode = \"LU\"\nname = \"Luxembourg\"\nlaw = \"Loi du 30 mai 2005 art. 11\"\n\
             [country.soft_opt_in]\nallowed = true\n\
             [[country.row]]\nid = \"LU1\"\nentity = [\"any\"]\naddress = [\"any\"]\n\
             decision = \"NEEDS_CONSENT\"\nreason = \"LU_CONSENT_REQUIRED\"\n\
             message = \"Consent needed.\"\ncitation = \"Loi du 30 mai 2005 art. 11\"\n",
            RuleSet::embedded_text()
        );
        let r = RuleSet::from_toml(&text).unwrap();
        assert_eq!(r.countries.len(), 14);
        assert_eq!(r.country("LU").unwrap().rows[0].id, "LU1");
    }
}
