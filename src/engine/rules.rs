//! The versioned rule set (`data/rules.toml`): country table, thresholds,
//! webmail and role-word lists, legal forms, the DMU table, reason texts.
//!
//! SKELETON: being built (issue #3).

use std::sync::LazyLock;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file: {0}")]
    Parse(String),
}

#[derive(Debug, Default)]
pub struct RuleSet {
    pub version: String,
}

static EMBEDDED: LazyLock<RuleSet> = LazyLock::new(RuleSet::default);

impl RuleSet {
    pub fn embedded() -> &'static RuleSet {
        &EMBEDDED
    }

    pub fn from_toml(_text: &str) -> Result<RuleSet, RulesError> {
        Ok(RuleSet::default())
    }
}
