//! Contact → who they are: title classification, entity type, address kind.
//!
//! Entity type and address kind follow the "Derived inputs" table of
//! `docs/spec/eligibility-rules.md`; the lists they consult (legal forms, webmail
//! domains, role words) are data in the rule set.

use super::rules::{RuleSet, normalise_legal_form, upper_code};
use super::titles::{Classification, Classifier};
use crate::pb;

#[derive(Clone, Debug, PartialEq)]
pub struct Enrichment {
    pub classification: Classification,
    pub entity_type: pb::entity_type::Value,
    pub address_kind: pb::address_kind::Value,
    pub email_domain_matches_organisation: bool,
}

impl Enrichment {
    /// The `contactEnriched` payload.
    pub fn to_event(&self, contact: &pb::Contact) -> pb::ContactEnriched {
        pb::ContactEnriched {
            contact_id: contact.contact_id.clone(),
            contact_version: contact.version,
            function: self.classification.function.id().to_owned(),
            seniority: self.classification.seniority.id().to_owned(),
            confidence: self.classification.confidence,
            evidence: self.classification.evidence_strings(),
            entity_type: self.entity_type as i32,
            address_kind: self.address_kind as i32,
            email_domain_matches_organisation: self.email_domain_matches_organisation,
        }
    }
}

pub fn enrich(contact: &pb::Contact, classifier: &Classifier, rules: &RuleSet) -> Enrichment {
    let lang = (!contact.language.is_empty()).then_some(contact.language.as_str());
    let org = contact.organisation.as_ref();
    Enrichment {
        classification: classifier.classify(&contact.job_title, lang),
        entity_type: entity_type(org, &contact.country, rules),
        address_kind: address_kind(&contact.email, rules),
        email_domain_matches_organisation: email_domain_matches(&contact.email, org),
    }
}

/// `organisation.entityType` if given, else from the legal form and the
/// country (the contact's, else the organisation's), else UNKNOWN.
pub fn entity_type(
    org: Option<&pb::Organisation>,
    contact_country: &str,
    rules: &RuleSet,
) -> pb::entity_type::Value {
    use pb::entity_type::Value as E;
    let Some(org) = org else { return E::Unknown };
    match E::try_from(org.entity_type) {
        Ok(E::Unspecified) | Err(_) => {}
        Ok(given) => return given,
    }
    let country = if contact_country.trim().is_empty() {
        org.country.trim()
    } else {
        contact_country.trim()
    };
    legal_form_entity_type(&org.legal_form, country, rules).unwrap_or(E::Unknown)
}

/// The entity type a legal form gives in a country, if the rule set knows it.
pub fn legal_form_entity_type(
    legal_form: &str,
    country: &str,
    rules: &RuleSet,
) -> Option<pb::entity_type::Value> {
    let form = legal_form.trim();
    if form.is_empty() {
        return None;
    }
    let lookup = |form: &str| {
        let mut buf = [0u8; 64];
        let key = normalise_legal_form(form, &mut buf)?;
        let entry = rules.legal_forms.get(key)?;
        let mut cbuf = [0u8; 8];
        let country = rules.canonical_country(upper_code(country, &mut cbuf));
        entry
            .by_country
            .iter()
            .find(|(c, _)| c == country)
            .map(|(_, e)| *e)
            .or(entry.default)
    };
    // "UG (haftungsbeschränkt)": if the whole form is unknown, try without the parenthesis.
    lookup(form).or_else(|| {
        let head = form.split('(').next()?.trim();
        (head.len() < form.len() && !head.is_empty())
            .then(|| lookup(head))
            .flatten()
    })
}

/// Splits a trimmed address into (local, domain) if it is syntactically usable
/// (exactly one `@`, a non-empty local part, a domain with a dot).
fn split_address(email: &str) -> Option<(&str, &str)> {
    let email = email.trim();
    let (local, domain) = email.split_once('@')?;
    if local.is_empty() || domain.contains('@') || !domain.contains('.') {
        return None;
    }
    Some((local, domain))
}

/// ASCII-lower-cases `s` into `buf`; None if it does not fit.
fn lower_into<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let b = s.as_bytes();
    let out = buf.get_mut(..b.len())?;
    for (o, c) in out.iter_mut().zip(b) {
        *o = c.to_ascii_lowercase();
    }
    std::str::from_utf8(out).ok()
}

/// INVALID, PRIVATE, GENERIC_ROLE or PERSONAL_BUSINESS, in that order.
pub fn address_kind(email: &str, rules: &RuleSet) -> pb::address_kind::Value {
    use pb::address_kind::Value as A;
    let Some((local, domain)) = split_address(email) else {
        return A::Invalid;
    };
    let mut dbuf = [0u8; 256];
    let is_webmail = match lower_into(domain, &mut dbuf) {
        Some(d) => rules.webmail_domains.contains(d),
        None => rules.webmail_domains.contains(&domain.to_lowercase()),
    };
    if is_webmail {
        return A::Private;
    }
    // The local part, lower-cased, without a "+tag".
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    let mut lbuf = [0u8; 64];
    let is_role = match lower_into(local, &mut lbuf) {
        Some(l) => rules.role_words.contains(l),
        None => rules.role_words.contains(&local.to_lowercase()),
    };
    if is_role {
        A::GenericRole
    } else {
        A::PersonalBusiness
    }
}

/// The email's domain is the organisation's domain or one of its subdomains.
pub fn email_domain_matches(email: &str, org: Option<&pb::Organisation>) -> bool {
    let Some((_, domain)) = split_address(email) else {
        return false;
    };
    let Some(org) = org else { return false };
    let od = org.domain.trim();
    let od = od.strip_prefix("www.").unwrap_or(od);
    if od.is_empty() {
        return false;
    }
    domain.eq_ignore_ascii_case(od)
        || (domain.len() > od.len() + 1
            && domain.as_bytes()[domain.len() - od.len() - 1] == b'.'
            && domain[domain.len() - od.len()..].eq_ignore_ascii_case(od))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::address_kind::Value as A;
    use pb::entity_type::Value as E;

    fn kind(email: &str) -> A {
        address_kind(email, RuleSet::embedded())
    }

    #[test]
    fn invalid_addresses() {
        for e in [
            "",
            "   ",
            "not-an-address",
            "a@b@c.nl",
            "@acme.nl",
            "jan@localhost",
            "jan@",
        ] {
            assert_eq!(kind(e), A::Invalid, "{e:?}");
        }
    }

    #[test]
    fn private_addresses_win_over_role_words() {
        assert_eq!(kind("jan.smit@hotmail.com"), A::Private);
        assert_eq!(kind("info@GMAIL.com"), A::Private);
        assert_eq!(kind("piet@ziggo.nl"), A::Private);
        assert_eq!(kind("jan@mail.gmail.com"), A::PersonalBusiness); // exact domains only
    }

    #[test]
    fn role_words_case_and_plus_tag() {
        assert_eq!(kind("info@acme.nl"), A::GenericRole);
        assert_eq!(kind("Info@Acme.NL"), A::GenericRole);
        assert_eq!(kind("sales+emea@acme.com"), A::GenericRole);
        assert_eq!(kind("accueil@societe.fr"), A::GenericRole);
        assert_eq!(kind("zentrale@firma.de"), A::GenericRole);
        assert_eq!(kind(" kontakt@firma.se "), A::GenericRole);
        assert_eq!(kind("info.nl@acme.nl"), A::PersonalBusiness); // equals, not starts with
        assert_eq!(kind("jan.smit+news@acme.nl"), A::PersonalBusiness);
    }

    fn org(legal_form: &str, country: &str) -> pb::Organisation {
        pb::Organisation {
            legal_form: legal_form.into(),
            country: country.into(),
            ..Default::default()
        }
    }

    fn et(legal_form: &str, country: &str) -> E {
        entity_type(Some(&org(legal_form, country)), "", RuleSet::embedded())
    }

    #[test]
    fn entity_type_from_the_contracts_legal_forms() {
        for f in [
            "BV",
            "B.V.",
            "nv",
            "N.V.",
            "GmbH",
            "Ltd",
            "Ltd.",
            "plc",
            "LLP",
            "Inc.",
            "SAS",
            "S.r.l.",
            "S.p.A.",
            "S.L.",
            "sp. z o.o.",
            "S.A.",
            "A/S",
            "AB",
            "Oy",
            "coöperatie",
            "Stichting",
            "Scottish partnership",
        ] {
            assert_eq!(et(f, "NL"), E::LegalPerson, "{f}");
        }
        for f in [
            "eenmanszaak",
            "ZZP",
            "e.K.",
            "Sole trader",
            "EI",
            "auto-entrepreneur",
        ] {
            assert_eq!(et(f, "FR"), E::SoleTrader, "{f}");
        }
        for f in [
            "vof",
            "V.O.F.",
            "maatschap",
            "GbR",
            "KG",
            "Partnership",
            "SNC",
            "OHG",
        ] {
            assert_eq!(et(f, "DE"), E::Partnership, "{f}");
        }
        assert_eq!(et("UG (haftungsbeschränkt)", "DE"), E::LegalPerson);
        assert_eq!(et("Acme Holding", "NL"), E::Unknown);
        assert_eq!(et("", "NL"), E::Unknown);
    }

    #[test]
    fn entity_type_country_specific_forms() {
        assert_eq!(et("CV", "NL"), E::Partnership);
        assert_eq!(et("C.V.", "BE"), E::LegalPerson);
        assert_eq!(et("SAS", "FR"), E::LegalPerson);
        assert_eq!(et("S.a.s.", "IT"), E::Partnership);
        assert_eq!(et("HB", "SE"), E::LegalPerson);
        assert_eq!(et("HB", "NL"), E::Unknown);
        // The contact's country decides over the organisation's, UK read as GB.
        let o = org("CV", "NL");
        assert_eq!(
            entity_type(Some(&o), "BE", RuleSet::embedded()),
            E::LegalPerson
        );
    }

    #[test]
    fn given_entity_type_wins() {
        let mut o = org("BV", "NL");
        o.entity_type = E::PublicBody as i32;
        assert_eq!(
            entity_type(Some(&o), "", RuleSet::embedded()),
            E::PublicBody
        );
        assert_eq!(entity_type(None, "NL", RuleSet::embedded()), E::Unknown);
    }

    #[test]
    fn email_domain_matching() {
        let mut o = org("BV", "NL");
        o.domain = "www.acme.nl".into();
        assert!(email_domain_matches("jan@acme.nl", Some(&o)));
        assert!(email_domain_matches("jan@Mail.ACME.nl", Some(&o)));
        assert!(!email_domain_matches("jan@notacme.nl", Some(&o)));
        assert!(!email_domain_matches("jan@gmail.com", Some(&o)));
        assert!(!email_domain_matches("broken", Some(&o)));
        assert!(!email_domain_matches("jan@acme.nl", None));
    }

    #[test]
    fn enrich_fills_every_field() {
        let c = pb::Contact {
            contact_id: "c1".into(),
            email: "info@acme.nl".into(),
            country: "NL".into(),
            organisation: Some(pb::Organisation {
                legal_form: "BV".into(),
                domain: "acme.nl".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = enrich(&c, Classifier::embedded(), RuleSet::embedded());
        assert_eq!(e.entity_type, E::LegalPerson);
        assert_eq!(e.address_kind, A::GenericRole);
        assert!(e.email_domain_matches_organisation);
        let ev = e.to_event(&c);
        assert_eq!(ev.address_kind, A::GenericRole as i32);
    }
}
