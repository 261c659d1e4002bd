//! Contact → who they are: title classification, entity type, address kind.
//!
//! SKELETON: being built (issues #2/#3).

use super::rules::RuleSet;
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

pub fn enrich(contact: &pb::Contact, classifier: &Classifier, _rules: &RuleSet) -> Enrichment {
    let lang = (!contact.language.is_empty()).then_some(contact.language.as_str());
    Enrichment {
        classification: classifier.classify(&contact.job_title, lang),
        entity_type: pb::entity_type::Value::Unknown,
        address_kind: pb::address_kind::Value::Invalid,
        email_domain_matches_organisation: false,
    }
}
