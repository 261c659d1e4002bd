//! DMU role from function × seniority × organisation size × campaign profile
//! (rules D1–D12 of `docs/spec/eligibility-rules.md`), driven by the `[[dmu]]`
//! table of the rule set: first matching row wins.

use super::rules::{DmuRow, FunctionMask, RuleSet, function_bit, seniority_bit};
use super::taxonomy::{Function, Seniority};
use crate::pb;

/// Why a campaign's DMU profile cannot be used as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("dmuProfile.{field} has unknown function {id:?} (known: {known})")]
    UnknownFunction {
        field: &'static str,
        id: String,
        known: String,
    },
}

/// Checks a campaign's function ids against the taxonomy: one it does not
/// know would silently target nobody. The worker dead-letters such a campaign
/// and `evaluate` refuses it; unknown enum numbers are the decoder's.
pub fn check_profile(profile: Option<&pb::DmuProfile>) -> Result<(), ProfileError> {
    let Some(p) = profile else { return Ok(()) };
    for (field, ids) in [
        ("owningFunctions", &p.owning_functions),
        ("userFunctions", &p.user_functions),
        ("budgetFunctions", &p.budget_functions),
    ] {
        if let Some(id) = ids.iter().find(|id| Function::from_id(id.trim()).is_none()) {
            let known: Vec<&str> = Function::ALL.iter().map(|f| f.id()).collect();
            return Err(ProfileError::UnknownFunction {
                field,
                id: id.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok(())
}

/// NONE and UNKNOWN in `targetRoles`, which the contract does not list.
/// `ProfileMasks` never counts them: targeting NONE would make legitimate
/// interest hold for contacts with no role for the offer (R1). The callers
/// warn instead of refusing, so the rest of the campaign is still decided.
pub fn untargetable_roles(profile: Option<&pb::DmuProfile>) -> Vec<&'static str> {
    let roles = profile.map_or(&[][..], |p| &p.target_roles[..]);
    roles.iter().filter_map(|&r| untargetable(r)).collect()
}

/// The name of a `targetRoles` value that is no role (NONE, UNKNOWN).
fn untargetable(role: i32) -> Option<&'static str> {
    use pb::dmu_role::Value as R;
    match R::try_from(role) {
        Ok(v @ (R::None | R::Unknown)) => Some(v.as_str_name()),
        _ => None,
    }
}

/// A campaign's DMU profile as bit masks, computed once per campaign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileMasks {
    pub owning: FunctionMask,
    pub user: FunctionMask,
    pub budget: FunctionMask,
    /// Bits by `DmuRole` value.
    pub target_roles: u16,
}

impl ProfileMasks {
    /// Unknown function ids are ignored here (`check_profile` refuses them
    /// before); an empty `budgetFunctions` means `[finance]`.
    pub fn new(profile: Option<&pb::DmuProfile>) -> ProfileMasks {
        let mask = |ids: &[String]| {
            ids.iter()
                .filter_map(|id| Function::from_id(id.trim()))
                .fold(0, |m, f| m | function_bit(f))
        };
        let Some(p) = profile else {
            return ProfileMasks {
                budget: function_bit(Function::Finance),
                ..Default::default()
            };
        };
        let budget = if p.budget_functions.is_empty() {
            function_bit(Function::Finance)
        } else {
            mask(&p.budget_functions)
        };
        ProfileMasks {
            owning: mask(&p.owning_functions),
            user: mask(&p.user_functions),
            budget,
            // NONE and UNKNOWN never count (see `untargetable_roles`).
            target_roles: p
                .target_roles
                .iter()
                .filter(|&&r| (0..16).contains(&r) && untargetable(r).is_none())
                .fold(0, |m, &r| m | (1 << r)),
        }
    }

    #[inline]
    pub fn targets(&self, role: pb::dmu_role::Value) -> bool {
        self.target_roles & (1 << (role as i32)) != 0
    }
}

impl DmuRow {
    #[inline]
    fn matches(&self, f: FunctionMask, s: u8, employee_count: i32, p: &ProfileMasks) -> bool {
        if self.seniority_mask != 0 && self.seniority_mask & s == 0 {
            return false;
        }
        let has_function_condition =
            self.function_mask != 0 || self.owning || self.user || self.budget;
        if has_function_condition
            && self.function_mask & f == 0
            && !(self.owning && p.owning & f != 0)
            && !(self.user && p.user & f != 0)
            && !(self.budget && p.budget & f != 0)
        {
            return false;
        }
        // "employeeCount known and < N"; 0 means unknown.
        self.employee_count_below
            .is_none_or(|n| employee_count > 0 && employee_count < n)
    }
}

/// The first DMU row that matches.
pub fn dmu_row<'r>(
    function: Function,
    seniority: Seniority,
    employee_count: i32,
    profile: &ProfileMasks,
    rules: &'r RuleSet,
) -> &'r DmuRow {
    let (f, s) = (function_bit(function), seniority_bit(seniority));
    rules
        .dmu
        .iter()
        .find(|r| r.matches(f, s, employee_count, profile))
        // The rule set is validated to end with a row without conditions.
        .unwrap_or_else(|| rules.dmu.last().expect("validated DMU table"))
}

/// The DMU role of a contact for a campaign profile.
pub fn dmu_role(
    function: Function,
    seniority: Seniority,
    employee_count: i32,
    profile: Option<&pb::DmuProfile>,
    rules: &RuleSet,
) -> pb::dmu_role::Value {
    dmu_row(
        function,
        seniority,
        employee_count,
        &ProfileMasks::new(profile),
        rules,
    )
    .role
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::dmu_role::Value as R;
    use {Function as F, Seniority as S};

    #[test]
    fn a_profile_names_known_functions_and_roles() {
        let profile = |owning: &[&str], roles: &[R]| pb::DmuProfile {
            owning_functions: owning.iter().map(|s| s.to_string()).collect(),
            target_roles: roles.iter().map(|&r| r as i32).collect(),
            ..Default::default()
        };
        assert_eq!(check_profile(None), Ok(()));
        let ok = profile(&["it", " finance "], &[R::Decider, R::Gatekeeper]);
        assert_eq!(check_profile(Some(&ok)), Ok(()));
        let e = check_profile(Some(&profile(&["IT"], &[]))).unwrap_err();
        assert!(
            matches!(&e, ProfileError::UnknownFunction { field: "owningFunctions", id, .. } if id == "IT"),
            "{e}"
        );
        for role in [R::None, R::Unknown] {
            let p = profile(&["it"], &[R::Decider, role]);
            assert_eq!(check_profile(Some(&p)), Ok(()));
            assert_eq!(untargetable_roles(Some(&p)), vec![role.as_str_name()]);
            let masks = ProfileMasks::new(Some(&p));
            assert!(masks.targets(R::Decider) && !masks.targets(role));
        }
        assert!(untargetable_roles(Some(&ok)).is_empty());
    }

    /// The ITSM profile of the contract: owning it, users customer_service, budget finance.
    fn itsm() -> pb::DmuProfile {
        pb::DmuProfile {
            owning_functions: vec!["it".into()],
            user_functions: vec!["customer_service".into()],
            budget_functions: vec!["finance".into()],
            target_roles: vec![R::Decider as i32, R::Influencer as i32],
        }
    }

    fn row(f: F, s: S, n: i32) -> (&'static str, R) {
        let r = dmu_row(
            f,
            s,
            n,
            &ProfileMasks::new(Some(&itsm())),
            RuleSet::embedded(),
        );
        (r.id.as_str(), r.role)
    }

    #[test]
    fn d1_top_of_the_owning_function_or_executive_decides() {
        assert_eq!(row(F::It, S::CLevel, 500), ("D1", R::Decider)); // CIO
        assert_eq!(row(F::Executive, S::Owner, 500), ("D1", R::Decider));
        assert_eq!(row(F::Executive, S::CLevel, 0), ("D1", R::Decider)); // CEO, size unknown
    }

    #[test]
    fn d2_any_top_rank_decides_in_a_small_company() {
        assert_eq!(row(F::Marketing, S::CLevel, 12), ("D2", R::Decider));
        assert_eq!(row(F::Finance, S::Owner, 49), ("D2", R::Decider));
        // 50 is not small; 0 is unknown, not small.
        assert_eq!(row(F::Finance, S::CLevel, 50), ("D7", R::Approver));
        assert_eq!(row(F::Marketing, S::CLevel, 0), ("D8", R::Approver));
    }

    #[test]
    fn d3_heads_of_the_owning_function_decide() {
        assert_eq!(row(F::It, S::HeadManager, 250), ("D3", R::Decider));
        assert_eq!(row(F::It, S::VpDirector, 250), ("D3", R::Decider));
    }

    #[test]
    fn d4_senior_specialists_of_the_owning_function_influence() {
        assert_eq!(row(F::It, S::SeniorSpecialist, 250), ("D4", R::Influencer));
    }

    #[test]
    fn d5_staff_of_the_owning_function_use() {
        assert_eq!(row(F::It, S::Staff, 250), ("D5", R::User));
        assert_eq!(row(F::It, S::InternTrainee, 250), ("D5", R::User));
        assert_eq!(row(F::It, S::Unknown, 250), ("D5", R::User));
    }

    #[test]
    fn d6_procurement_buys() {
        assert_eq!(
            row(F::Procurement, S::SeniorSpecialist, 250),
            ("D6", R::Buyer)
        );
        // Even at the top: D6 comes before D7/D8, after D1/D2.
        assert_eq!(row(F::Procurement, S::VpDirector, 250), ("D6", R::Buyer));
        assert_eq!(row(F::Procurement, S::CLevel, 250), ("D6", R::Buyer));
    }

    #[test]
    fn d7_budget_holders_approve() {
        assert_eq!(row(F::Finance, S::HeadManager, 250), ("D7", R::Approver));
        assert_eq!(row(F::Finance, S::CLevel, 250), ("D7", R::Approver)); // CFO
        assert_eq!(row(F::Finance, S::SeniorSpecialist, 250).1, R::None);
    }

    #[test]
    fn d8_other_top_ranks_approve() {
        assert_eq!(row(F::Marketing, S::CLevel, 250), ("D8", R::Approver)); // CMO
        assert_eq!(row(F::Hr, S::Owner, 250), ("D8", R::Approver));
    }

    #[test]
    fn d9_user_functions_use() {
        assert_eq!(row(F::CustomerService, S::Staff, 250), ("D9", R::User));
        assert_eq!(
            row(F::CustomerService, S::HeadManager, 250),
            ("D9", R::User)
        );
    }

    #[test]
    fn d10_administration_gatekeeps() {
        assert_eq!(
            row(F::Administration, S::Staff, 250),
            ("D10", R::Gatekeeper)
        );
    }

    #[test]
    fn d11_no_signal_is_unknown() {
        assert_eq!(row(F::Other, S::Unknown, 250), ("D11", R::Unknown));
    }

    #[test]
    fn d12_otherwise_none() {
        assert_eq!(row(F::Marketing, S::Staff, 250), ("D12", R::None));
        assert_eq!(row(F::Other, S::Staff, 250), ("D12", R::None));
        assert_eq!(row(F::Sales, S::Unknown, 250), ("D12", R::None));
    }

    #[test]
    fn budget_defaults_to_finance_and_profile_may_be_absent() {
        let mut p = itsm();
        p.budget_functions.clear();
        let masks = ProfileMasks::new(Some(&p));
        let r = dmu_row(F::Finance, S::HeadManager, 250, &masks, RuleSet::embedded());
        assert_eq!(r.id, "D7");
        assert_eq!(
            dmu_role(F::Finance, S::HeadManager, 250, None, RuleSet::embedded()),
            R::Approver
        );
        // Without a profile nothing is owning: an IT head is no decider.
        assert_eq!(
            dmu_role(F::It, S::HeadManager, 250, None, RuleSet::embedded()),
            R::None
        );
    }

    #[test]
    fn facilities_profile_changes_who_decides() {
        let fm = pb::DmuProfile {
            owning_functions: vec!["facilities".into()],
            target_roles: vec![R::Decider as i32, R::Buyer as i32],
            ..Default::default()
        };
        let m = ProfileMasks::new(Some(&fm));
        let rules = RuleSet::embedded();
        assert_eq!(
            dmu_row(F::Facilities, S::HeadManager, 250, &m, rules).role,
            R::Decider
        );
        assert_eq!(dmu_row(F::It, S::HeadManager, 250, &m, rules).role, R::None);
        assert!(m.targets(R::Buyer) && !m.targets(R::User));
    }
}
