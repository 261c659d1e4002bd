//! May this contact be emailed for this campaign? (`docs/eligibility-rules.md`)
//!
//! SKELETON: being built (issue #3).

use chrono::{DateTime, Utc};

use super::enrich::Enrichment;
use super::rules::RuleSet;
use crate::pb;

/// Whether the campaign's targeting (countries, organisations) includes the contact.
pub fn targets(_campaign: &pb::Campaign, _contact: &pb::Contact) -> bool {
    true
}

/// The decision for one contact × campaign at `as_of`. Pure: `decision_id`,
/// `decided_at` and `supersedes_decision_id` are left for the caller to set.
pub fn decide(
    contact: &pb::Contact,
    _enrichment: &Enrichment,
    campaign: &pb::Campaign,
    _as_of: DateTime<Utc>,
    rules: &RuleSet,
) -> pb::EligibilityDecided {
    pb::EligibilityDecided {
        contact_id: contact.contact_id.clone(),
        campaign_id: campaign.campaign_id.clone(),
        decision: pb::decision::Value::NeedsReview as i32,
        rule_set_version: rules.version.clone(),
        ..Default::default()
    }
}
