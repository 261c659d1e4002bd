//! Job title → function × seniority (`docs/spec/titles-taxonomy.md`).
//!
//! Pure and allocation-free on the hot path: a title is normalised into a
//! stack buffer ([`normalise`]), its words matched against the lexicons of
//! `data/titles/` ([`lexicon`]), and function and seniority decided by the
//! labelling conventions of the taxonomy's §5 ([`decide`]). The evidence is a
//! small inline array of references into the (static) lexicons.

mod decide;
pub mod derive;
mod lexicon;
mod normalise;
mod subword;

use std::fmt::{self, Write as _};
use std::sync::LazyLock;

use super::taxonomy::{Function, Seniority};
pub use lexicon::{LexiconError, Sources};

/// Where a piece of evidence came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceSource {
    /// the hand lexicon (`data/titles/lexicon.tsv`)
    Lexicon,
    /// the ESCO-derived word table (`data/titles/esco_words.tsv`)
    Esco,
    /// a rule with no word behind it (e.g. "no rank word → staff", rule 4)
    Rule,
}

/// What a piece of evidence decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceTarget {
    Function(Function),
    Seniority(Seniority),
}

/// One word (or rule) and what it decided, e.g. `hoofd → head_manager`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvidenceItem {
    pub word: &'static str,
    pub source: EvidenceSource,
    pub target: EvidenceTarget,
}

impl fmt::Display for EvidenceItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match self.target {
            EvidenceTarget::Function(x) => x.id(),
            EvidenceTarget::Seniority(x) => x.id(),
        };
        f.write_str(self.word)?;
        f.write_str("→")?;
        f.write_str(target)?;
        if self.source == EvidenceSource::Esco {
            f.write_str(" (esco)")?;
        }
        Ok(())
    }
}

const MAX_EVIDENCE: usize = 6;

/// What decided a classification: at most six items, inline (no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    items: [EvidenceItem; MAX_EVIDENCE],
    len: u8,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            items: [EvidenceItem {
                word: "",
                source: EvidenceSource::Rule,
                target: EvidenceTarget::Seniority(Seniority::Unknown),
            }; MAX_EVIDENCE],
            len: 0,
        }
    }
}

impl Evidence {
    pub(crate) fn push(
        &mut self,
        word: &'static str,
        source: EvidenceSource,
        target: EvidenceTarget,
    ) {
        if word.is_empty() || (self.len as usize) >= MAX_EVIDENCE {
            return;
        }
        let item = EvidenceItem {
            word,
            source,
            target,
        };
        if self.items().contains(&item) {
            return;
        }
        self.items[self.len as usize] = item;
        self.len += 1;
    }

    pub fn items(&self) -> &[EvidenceItem] {
        &self.items[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append the items to `out`, separated by `sep` (for CSV output with a
    /// reused buffer).
    pub fn write_to(&self, out: &mut String, sep: &str) {
        for (i, it) in self.items().iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            let _ = write!(out, "{it}");
        }
    }
}

/// The outcome for one title.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Classification {
    pub function: Function,
    pub seniority: Seniority,
    /// 0..=1: how sure the classifier is of both axes together.
    pub confidence: f32,
    /// What decided.
    pub evidence: Evidence,
}

impl Classification {
    /// The evidence as text, e.g. `["hoofd→head_manager", "ict→it"]`.
    pub fn evidence_strings(&self) -> Vec<String> {
        self.evidence
            .items()
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

/// A compiled set of lexicons and rules.
#[derive(Debug)]
pub struct Classifier {
    pub(crate) lex: lexicon::Lexicon,
}

static EMBEDDED: LazyLock<Classifier> = LazyLock::new(|| {
    Classifier::from_sources(Sources::EMBEDDED).expect("the embedded title lexicons parse (tested)")
});

impl Default for Classifier {
    /// The embedded lexicons (a fresh copy; prefer [`Classifier::embedded`]).
    fn default() -> Self {
        Classifier::from_sources(Sources::EMBEDDED)
            .expect("the embedded title lexicons parse (tested)")
    }
}

impl Classifier {
    /// The lexicons compiled into the binary.
    pub fn embedded() -> &'static Classifier {
        &EMBEDDED
    }

    /// A classifier over other lexicon files (same formats as `data/titles/`).
    /// The text must live for the whole process (e.g. `String::leak` of a file
    /// read once at start-up): the evidence refers into it.
    pub fn from_sources(src: Sources) -> Result<Classifier, LexiconError> {
        Ok(Classifier {
            lex: lexicon::Lexicon::load(src)?,
        })
    }

    /// The versions of the lexicon files: `lexicon N, morphology N, esco-words N, subword N`.
    pub fn version(&self) -> String {
        let [a, b, c] = self.lex.versions;
        let d = self.lex.subword.version;
        format!("lexicon {a}, morphology {b}, esco-words {c}, subword {d}")
    }

    /// `lang` is an ISO 639-1 hint ("nl", "en", "de", "fr"); None or "" = detect
    /// (rule 23: any Dutch word makes it nl).
    pub fn classify(&self, title: &str, lang: Option<&str>) -> Classification {
        let hint = lang.and_then(lexicon::Lang::parse);
        let mut norm = normalise::Norm::new();
        norm.run(title, &self.lex, hint);
        // Rule 23: pure English is English — also when no word tells.
        let lang = hint
            .or_else(|| decide::detect_lang(&self.lex, &norm))
            .or(Some(lexicon::Lang::En));
        decide::Decider::run(&self.lex, &norm, lang)
    }
}

#[cfg(test)]
mod tests;
