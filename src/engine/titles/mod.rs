//! Job title → function × seniority (`docs/titles-taxonomy.md`).
//!
//! SKELETON: the API the rest of the crate calls. The classifier itself is
//! being built (issue #2).

use std::sync::LazyLock;

use super::taxonomy::{Function, Seniority};

/// The outcome for one title.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub function: Function,
    pub seniority: Seniority,
    /// 0..=1
    pub confidence: f32,
    /// What decided, e.g. `hoofd→head_manager`, `ict→it`.
    pub evidence: Vec<String>,
}

/// A compiled set of lexicons and rules.
#[derive(Debug, Default)]
pub struct Classifier {}

static EMBEDDED: LazyLock<Classifier> = LazyLock::new(Classifier::default);

impl Classifier {
    /// The lexicons compiled into the binary.
    pub fn embedded() -> &'static Classifier {
        &EMBEDDED
    }

    /// `lang` is an ISO 639-1 hint ("nl", "en", "de", "fr"); None or "" = detect.
    pub fn classify(&self, _title: &str, _lang: Option<&str>) -> Classification {
        Classification {
            function: Function::Other,
            seniority: Seniority::Unknown,
            confidence: 0.0,
            evidence: Vec::new(),
        }
    }
}
