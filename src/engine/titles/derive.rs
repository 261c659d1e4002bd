//! Building `data/titles/esco_words.tsv` from ESCO occupation labels (pure: the
//! caller reads the CSV; `examples/titles_lexicon.rs` is the re-runnable
//! generator).
//!
//! Each label is normalised exactly as titles are (same hand lexicon, folds and
//! compound splits). Every word the hand lexicon does not know is counted once
//! per ESCO occupation: in how many occupations it occurs, at which ISCO level
//! (rank classes c/m/p/s) and under which function. The table is word-level
//! (no label is stored), so it generalises to unseen labels through their words
//! and compound heads.

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};

use super::Classifier;
use super::lexicon::{Lang, NONE, RANK_CLASSES, Sources};
use super::normalise::Norm;
use crate::engine::taxonomy::{Function, Seniority};

/// One row of `esco_lexicon_dev.csv` (`label, lang, kind, isco, function, concept`).
#[derive(Clone, Copy, Debug)]
pub struct EscoRow<'a> {
    pub label: &'a str,
    pub lang: &'a str,
    pub isco: &'a str,
    pub function: &'a str,
    pub concept: &'a str,
}

/// ISCO supervisor unit groups that the dev labels count as head_manager.
const SUPERVISOR_GROUPS: [&str; 6] = ["3121", "3122", "3123", "3341", "5151", "5222"];

/// The rank class of an ISCO unit group: 0 = c (11), 1 = m (other managers and
/// supervisors), 2 = p (professionals), 3 = s (the rest).
pub fn rank_class(isco: &str) -> usize {
    if isco.starts_with("11") {
        0
    } else if isco.starts_with('1') || SUPERVISOR_GROUPS.contains(&isco) {
        1
    } else if isco.starts_with('2') {
        2
    } else {
        3
    }
}

/// The seniority the dev set's mechanical rule gives an ESCO label
/// (`titles-taxonomy.md` §9): the ISCO level, with the owner, C-suite and
/// trainee word overrides. Used to score held-out ESCO labels.
pub fn isco_seniority(isco: &str, label: &str, lang: &str) -> Seniority {
    let lower = label.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    const OWNER: [&str; 8] = [
        "owner",
        "founder",
        "eigenaar",
        "oprichter",
        "inhaber",
        "gründer",
        "propriétaire",
        "fondateur",
    ];
    const CSUITE: [&str; 12] = [
        "ceo", "cfo", "coo", "cio", "cto", "cmo", "ciso", "cdo", "chro", "cco", "cpo", "cro",
    ];
    if OWNER.iter().any(|w| words.iter().any(|x| x.starts_with(w))) {
        return Seniority::Owner;
    }
    if CSUITE.iter().any(|w| has(w)) || (has("chief") && has("officer")) {
        return Seniority::CLevel;
    }
    let trainee = [
        "trainee",
        "stagiair",
        "stagiaire",
        "praktikant",
        "praktikantin",
        "auszubildende",
        "auszubildender",
    ];
    if trainee.iter().any(|w| has(w))
        || words
            .iter()
            .any(|w| w.starts_with("apprenti") || *w == "apprentice" || w.starts_with("leerling"))
        || (lang == "en" && (has("intern") || has("internship")))
    {
        return Seniority::InternTrainee;
    }
    match rank_class(isco) {
        0 => Seniority::CLevel,
        1 => Seniority::HeadManager,
        2 => Seniority::SeniorSpecialist,
        _ => Seniority::Staff,
    }
}

/// A short digest of the hand lexicon and folds: the derived table records the
/// one it was made with, and a test checks it is current.
pub fn hand_digest(src: &Sources) -> String {
    let mut h = Sha256::new();
    h.update(src.lexicon.as_bytes());
    h.update([0]);
    h.update(src.morphology.as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Default)]
struct Acc {
    langs: u8,
    n: u32,
    rank: [u32; RANK_CLASSES],
    funcs: [u32; 16],
}

/// A row that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("row {row}: unknown function {function:?}")]
    Function { row: usize, function: String },
    #[error("hand lexicon: {0}")]
    Lexicon(#[from] super::LexiconError),
}

/// The word table as TSV text (with its header), from ESCO rows. `min_n` drops
/// words seen in fewer occupations.
pub fn derive_esco_words<'a>(
    rows: impl IntoIterator<Item = EscoRow<'a>>,
    hand: Sources,
    min_n: u32,
) -> Result<String, DeriveError> {
    let clf = Classifier::from_sources(Sources {
        esco_words: "",
        ..hand
    })?;
    let lex = &clf.lex;
    let mut acc: BTreeMap<Vec<u8>, Acc> = BTreeMap::new();
    let mut seen: HashSet<(Vec<u8>, String)> = HashSet::new();
    let mut nrows = 0usize;
    for (i, r) in rows.into_iter().enumerate() {
        nrows += 1;
        let f = Function::from_id(r.function).ok_or_else(|| DeriveError::Function {
            row: i + 1,
            function: r.function.to_owned(),
        })?;
        let class = rank_class(r.isco);
        let hint = Lang::parse(r.lang);
        let lang = hint.map_or(0, |l| l as u8);
        let mut norm = Norm::new();
        norm.run(r.label, lex, hint);
        for t in norm.tokens() {
            if t.word != NONE && lex.words[t.word as usize].hand != NONE {
                continue;
            }
            let w = norm.text(t);
            if w.len() < 2 {
                continue;
            }
            let a = acc.entry(w.to_vec()).or_default();
            a.langs |= lang;
            if seen.insert((w.to_vec(), r.concept.to_owned())) {
                a.n += 1;
                a.rank[class] += 1;
                a.funcs[f as usize] += 1;
            }
        }
    }
    let mut out = String::new();
    out.push_str(&format!(
        "# dmumatch title classifier: ESCO-derived word table, version 1 (generated by examples/titles_lexicon.rs)\n\
         # hand-lexicon digest: {}\n\
         # source rows: {nrows}; words seen in at least {min_n} occupation(s)\n\
         # Contains labels from ESCO (European Skills, Competences, Qualifications and Occupations),\n\
         # © European Union, https://esco.ec.europa.eu. Modified: one half of the occupations, labels\n\
         # mapped from ISCO-08 to a function taxonomy; only word counts are kept here.\n\
         # columns: word<TAB>languages<TAB>occupations<TAB>rank classes c,m,p,s (ISCO 11 / other\n\
         # managers+supervisors / professionals / rest)<TAB>top functions function:occupations\n",
        hand_digest(&hand)
    ));
    for (w, a) in &acc {
        if a.n < min_n {
            continue;
        }
        let Ok(w) = std::str::from_utf8(w) else {
            continue;
        };
        let langs: Vec<&str> = [
            (Lang::Nl, "nl"),
            (Lang::En, "en"),
            (Lang::De, "de"),
            (Lang::Fr, "fr"),
        ]
        .iter()
        .filter(|(l, _)| a.langs & *l as u8 != 0)
        .map(|&(_, s)| s)
        .collect();
        let langs = if langs.is_empty() {
            "*".to_owned()
        } else {
            langs.join(",")
        };
        let mut fs: Vec<(usize, u32)> = a
            .funcs
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, c)| c > 0)
            .collect();
        fs.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let fs: Vec<String> = fs
            .iter()
            .take(3)
            .map(|&(f, c)| format!("{}:{c}", Function::ALL[f].id()))
            .collect();
        out.push_str(&format!(
            "{w}\t{langs}\t{}\t{},{},{},{}\t{}\n",
            a.n,
            a.rank[0],
            a.rank[1],
            a.rank[2],
            a.rank[3],
            fs.join(" ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isco_rank_classes() {
        assert_eq!(rank_class("1120"), 0);
        assert_eq!(rank_class("1211"), 1);
        assert_eq!(rank_class("3122"), 1);
        assert_eq!(rank_class("2511"), 2);
        assert_eq!(rank_class("7231"), 3);
    }

    #[test]
    fn isco_seniority_overrides() {
        assert_eq!(
            isco_seniority("1120", "Gründerin von X", "de"),
            Seniority::Owner
        );
        assert_eq!(
            isco_seniority("2529", "chief IT security officer", "en"),
            Seniority::CLevel
        );
        assert_eq!(
            isco_seniority("5223", "trainee sales assistant", "en"),
            Seniority::InternTrainee
        );
        assert_eq!(
            isco_seniority("2411", "intern auditor", "nl"),
            Seniority::SeniorSpecialist
        );
        assert_eq!(isco_seniority("7231", "monteur", "nl"), Seniority::Staff);
    }

    #[test]
    fn derives_word_counts_once_per_occupation() {
        let rows = [
            EscoRow {
                label: "Rohkaffeeeinkäufer",
                lang: "de",
                isco: "3323",
                function: "procurement",
                concept: "a",
            },
            EscoRow {
                label: "Rohkaffeeeinkäuferin",
                lang: "de",
                isco: "3323",
                function: "procurement",
                concept: "a",
            },
            EscoRow {
                label: "Kaffeeröster",
                lang: "de",
                isco: "8160",
                function: "operations",
                concept: "b",
            },
        ];
        let text = derive_esco_words(rows, Sources::EMBEDDED, 1).expect("derives");
        let line = text
            .lines()
            .find(|l| l.starts_with("rohkaffee\t"))
            .expect("prefix word counted");
        assert_eq!(line, "rohkaffee\tde\t1\t0,0,0,1\tprocurement:1");
        assert!(
            !text.lines().any(|l| l.starts_with("einkaufer\t")),
            "hand words are not derived"
        );
        assert!(text.contains("kaffeeroster\tde\t1\t0,0,0,1\toperations:1"));
    }
}
