//! DMU role from function × seniority × organisation size × campaign profile
//! (rules D1–D12 of `docs/eligibility-rules.md`).
//!
//! SKELETON: being built (issue #2).

use super::rules::RuleSet;
use super::taxonomy::{Function, Seniority};
use crate::pb;

pub fn dmu_role(
    _function: Function,
    _seniority: Seniority,
    _employee_count: i32,
    _profile: Option<&pb::DmuProfile>,
    _rules: &RuleSet,
) -> pb::dmu_role::Value {
    pb::dmu_role::Value::Unknown
}
