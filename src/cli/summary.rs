//! Counts over a run of `evaluate`, per campaign: by decision, deciding reason,
//! jurisdiction and DMU role. Each worker thread keeps its own and they are
//! merged at the end, so counting costs no locking.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use crate::pb;

pub const DECISIONS: [pb::decision::Value; 4] = [
    pb::decision::Value::Eligible,
    pb::decision::Value::NeedsConsent,
    pb::decision::Value::NeedsReview,
    pb::decision::Value::Suppressed,
];

/// DMU roles in the order people read them.
pub const ROLES: [pb::dmu_role::Value; 8] = [
    pb::dmu_role::Value::Decider,
    pb::dmu_role::Value::Approver,
    pb::dmu_role::Value::Influencer,
    pb::dmu_role::Value::Buyer,
    pb::dmu_role::Value::User,
    pb::dmu_role::Value::Gatekeeper,
    pb::dmu_role::Value::Unknown,
    pb::dmu_role::Value::None,
];

/// Counts indexed by `Decision` value (0 = unspecified, unused).
pub type ByDecision = [u64; 5];

#[derive(Clone, Debug, Default)]
pub struct ReasonCount {
    pub count: u64,
    pub decision: i32,
    pub rule_id: String,
}

#[derive(Clone, Debug, Default)]
pub struct CampaignStats {
    /// Decisions written (unreadable rows included).
    pub total: u64,
    /// Contacts the campaign's targeting leaves out (decided all the same
    /// unless `--targeted-only`).
    pub untargeted: u64,
    /// Rows that could not be read (decided NEEDS_REVIEW, INPUT_INVALID).
    pub invalid: u64,
    pub by_decision: ByDecision,
    /// By the deciding (first) reason code.
    pub by_reason: HashMap<String, ReasonCount>,
    pub by_jurisdiction: BTreeMap<String, ByDecision>,
    /// Indexed by `DmuRole` value.
    pub by_role: [ByDecision; 8],
    pub by_obligation: BTreeMap<String, u64>,
}

impl CampaignStats {
    pub fn add(&mut self, d: &pb::EligibilityDecided) {
        let k = usize::try_from(d.decision).unwrap_or(0).min(4);
        self.total += 1;
        self.by_decision[k] += 1;
        if let Some(r) = d.reasons.first() {
            match self.by_reason.get_mut(r.code.as_str()) {
                Some(c) => c.count += 1,
                None => {
                    self.by_reason.insert(
                        r.code.clone(),
                        ReasonCount {
                            count: 1,
                            decision: d.decision,
                            rule_id: d.rule_id.clone(),
                        },
                    );
                }
            }
        }
        let j = if d.jurisdiction.is_empty() {
            "(unknown)"
        } else {
            d.jurisdiction.as_str()
        };
        match self.by_jurisdiction.get_mut(j) {
            Some(c) => c[k] += 1,
            None => {
                let mut c = ByDecision::default();
                c[k] = 1;
                self.by_jurisdiction.insert(j.to_owned(), c);
            }
        }
        let role = usize::try_from(d.dmu_role).unwrap_or(0).min(7);
        self.by_role[role][k] += 1;
        for o in &d.obligations {
            match self.by_obligation.get_mut(o.as_str()) {
                Some(c) => *c += 1,
                None => {
                    self.by_obligation.insert(o.clone(), 1);
                }
            }
        }
    }

    pub fn merge(&mut self, other: CampaignStats) {
        self.total += other.total;
        self.untargeted += other.untargeted;
        self.invalid += other.invalid;
        add_counts(&mut self.by_decision, &other.by_decision);
        for (code, c) in other.by_reason {
            self.by_reason
                .entry(code)
                .and_modify(|m| m.count += c.count)
                .or_insert(c);
        }
        for (j, c) in other.by_jurisdiction {
            add_counts(self.by_jurisdiction.entry(j).or_default(), &c);
        }
        for (mine, theirs) in self.by_role.iter_mut().zip(other.by_role) {
            add_counts(mine, &theirs);
        }
        for (o, c) in other.by_obligation {
            *self.by_obligation.entry(o).or_default() += c;
        }
    }

    /// Reasons by count, largest first (ties by code).
    pub fn reasons_sorted(&self) -> Vec<(&str, &ReasonCount)> {
        let mut v: Vec<_> = self
            .by_reason
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// Jurisdictions by number of contacts, largest first.
    pub fn jurisdictions_sorted(&self) -> Vec<(&str, &ByDecision)> {
        let mut v: Vec<_> = self
            .by_jurisdiction
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        v.sort_by(|a, b| total(b.1).cmp(&total(a.1)).then(a.0.cmp(b.0)));
        v
    }
}

fn add_counts(a: &mut ByDecision, b: &ByDecision) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

pub fn total(c: &ByDecision) -> u64 {
    c.iter().sum()
}

pub fn decision_name(d: i32) -> &'static str {
    pb::decision::Value::try_from(d).map_or("?", |v| v.as_str_name())
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "0%".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / of as f64)
    }
}

/// What the run was about, for the summary and the report.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub contacts_source: String,
    pub as_of: String,
    pub rule_set_version: String,
    pub rows: u64,
    pub elapsed_s: f64,
}

/// The campaign as people name it.
#[derive(Clone, Debug)]
pub struct CampaignInfo {
    pub campaign_id: String,
    pub name: String,
    pub brand: String,
    pub product_category: String,
    pub lia_ref: String,
    pub target_roles: Vec<String>,
}

impl CampaignInfo {
    pub fn new(c: &pb::Campaign) -> CampaignInfo {
        CampaignInfo {
            campaign_id: c.campaign_id.clone(),
            name: c.name.clone(),
            brand: c.brand.clone(),
            product_category: c.product_category.clone(),
            lia_ref: c.legitimate_interest_assessment_ref.clone(),
            target_roles: c
                .dmu_profile
                .as_ref()
                .map(|p| {
                    p.target_roles
                        .iter()
                        .map(|&r| {
                            pb::dmu_role::Value::try_from(r)
                                .map_or("?", |v| v.as_str_name())
                                .to_owned()
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The plain-text summary (stderr for ndjson/csv, after the table for `table`).
pub fn write_text(
    out: &mut dyn Write,
    run: &RunInfo,
    campaigns: &[(CampaignInfo, CampaignStats)],
) -> io::Result<()> {
    writeln!(
        out,
        "dmumatch evaluate: {} contacts from {}, as of {}, rule set {} ({:.2} s)",
        run.rows, run.contacts_source, run.as_of, run.rule_set_version, run.elapsed_s
    )?;
    for (info, s) in campaigns {
        writeln!(out)?;
        writeln!(
            out,
            "campaign {} \"{}\" (brand {}): {} decisions, {} not targeted by the campaign, {} unreadable rows",
            info.campaign_id, info.name, info.brand, s.total, s.untargeted, s.invalid
        )?;
        writeln!(out, "  by decision:")?;
        for d in DECISIONS {
            let n = s.by_decision[d as usize];
            writeln!(
                out,
                "    {:<14} {:>9}  {:>4}",
                d.as_str_name(),
                n,
                pct(n, s.total)
            )?;
        }
        writeln!(out, "  by reason (the one that decided):")?;
        for (code, c) in s.reasons_sorted().iter().take(15) {
            writeln!(
                out,
                "    {:<40} {:>9}  {:>4}  {:<13} {}",
                code,
                c.count,
                pct(c.count, s.total),
                decision_name(c.decision),
                c.rule_id
            )?;
        }
        if s.by_reason.len() > 15 {
            writeln!(out, "    … and {} more", s.by_reason.len() - 15)?;
        }
        writeln!(
            out,
            "  by country:          total   ELIGIBLE  NEEDS_CONSENT  NEEDS_REVIEW  SUPPRESSED"
        )?;
        for (j, c) in s.jurisdictions_sorted() {
            writeln!(
                out,
                "    {:<14} {:>9}  {:>9}  {:>13}  {:>12}  {:>10}",
                j,
                total(c),
                c[1],
                c[2],
                c[3],
                c[4]
            )?;
        }
        writeln!(
            out,
            "  by DMU role:         total   ELIGIBLE  NEEDS_CONSENT  NEEDS_REVIEW  SUPPRESSED"
        )?;
        for role in ROLES {
            let c = &s.by_role[role as usize];
            if total(c) == 0 {
                continue;
            }
            writeln!(
                out,
                "    {:<14} {:>9}  {:>9}  {:>13}  {:>12}  {:>10}",
                role.as_str_name(),
                total(c),
                c[1],
                c[2],
                c[3],
                c[4]
            )?;
        }
        if !s.by_obligation.is_empty() {
            writeln!(out, "  obligations on the eligible sends:")?;
            for (o, n) in &s.by_obligation {
                writeln!(out, "    {o:<40} {n:>9}")?;
            }
        }
    }
    Ok(())
}
