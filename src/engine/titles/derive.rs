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
use super::lexicon::{Lang, NONE, RANK_CLASSES, RANK_NAMES, Sources};
use super::normalise::Norm;
use super::subword;
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
}

/// A row that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("row {row}: unknown function {function:?}")]
    Function { row: usize, function: String },
    #[error("hand lexicon: {0}")]
    Lexicon(#[from] super::LexiconError),
}

/// The generated files.
pub struct Tables {
    /// `esco_words.tsv`
    pub esco_words: String,
    /// `subword.bin`
    pub subword: Vec<u8>,
}

/// The word table (TSV text with its header) and the sub-word model, from ESCO
/// rows. `min_n` drops words seen in fewer occupations.
pub fn derive_tables<'a>(
    rows: impl IntoIterator<Item = EscoRow<'a>>,
    hand: Sources,
    min_n: u32,
) -> Result<Tables, DeriveError> {
    let clf = Classifier::from_sources(Sources {
        esco_words: "",
        subword: b"",
        ..hand
    })?;
    let lex = &clf.lex;
    let mut acc: BTreeMap<Vec<u8>, Acc> = BTreeMap::new();
    let mut seen: HashSet<(Vec<u8>, String)> = HashSet::new();
    let mut nrows = 0usize;
    // training examples for the function model: (words, function, concept)
    let mut examples: Vec<Example> = Vec::new();
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
        let mut words = Vec::new();
        for t in norm.tokens() {
            let w = norm.text(t);
            if w.len() < 2 || !content_word(lex, t.word) {
                continue;
            }
            words.push(w.to_vec());
            let a = acc.entry(w.to_vec()).or_default();
            a.langs |= lang;
            if seen.insert((w.to_vec(), r.concept.to_owned())) {
                a.n += 1;
                a.rank[class] += 1;
            }
        }
        if !words.is_empty() {
            examples.push(Example {
                words,
                function: f as usize,
                rank: class,
                concept: r.concept.to_owned(),
            });
        }
    }
    let attribution = "# Contains labels from ESCO (European Skills, Competences, Qualifications and Occupations),\n\
         # © European Union, https://esco.ec.europa.eu. Modified: one half of the occupations, labels\n\
         # mapped from ISCO-08 to a function taxonomy; only word statistics are kept here.\n";
    let subword = train_subword(
        &examples,
        &format!(
            "# dmumatch title classifier: sub-word model, version 1 (generated by examples/titles_lexicon.rs)\n\
             # hand-lexicon digest: {}\n\
             # source rows: {nrows}\n\
             {attribution}\
             # two logistic regressions (function; ISCO rank class c,m,p,s) over hashed character\n\
             # 3-5-grams of the words (src/engine/titles/subword.rs); weights i8 x scale, a row per\n\
             # bucket: the function table (16 a bucket), then the rank table (4 a bucket)\n",
            hand_digest(&hand)
        ),
    );
    let model = train_model::<16>(&examples, &acc, |e| e.function);
    let profession = profession_weights(&examples);
    let rank_model = train_model::<RANK_CLASSES>(&examples, &acc, |e| e.rank);
    let mut out = String::new();
    out.push_str(&format!(
        "# dmumatch title classifier: ESCO-derived word table, version 2 (generated by examples/titles_lexicon.rs)\n\
         # hand-lexicon digest: {}\n\
         # source rows: {nrows}; words seen in at least {min_n} occupation(s)\n\
         # Contains labels from ESCO (European Skills, Competences, Qualifications and Occupations),\n\
         # © European Union, https://esco.ec.europa.eu. Modified: one half of the occupations, labels\n\
         # mapped from ISCO-08 to a function taxonomy; only word statistics are kept here.\n\
         # columns: word<TAB>languages<TAB>occupations<TAB>rank classes c,m,p,s (ISCO 11 / other\n\
         # managers+supervisors / professionals / rest)<TAB>function weights function:weight (the\n\
         # largest of a logistic regression of the label's function on its words)<TAB>rank weights\n\
         # class:weight (the same for the ISCO rank class); the line (bias) holds the intercepts\n",
        hand_digest(&hand)
    ));
    let bias: Vec<String> = model
        .bias
        .iter()
        .enumerate()
        .map(|(f, x)| format!("{}:{x:.2}", Function::ALL[f].id()))
        .collect();
    let rank_bias: Vec<String> = rank_model
        .bias
        .iter()
        .enumerate()
        .map(|(c, x)| format!("{}:{x:.2}", RANK_NAMES[c]))
        .collect();
    out.push_str(&format!(
        "(bias)\t*\t0\t0,0,0,0\t{}\t{}\n",
        bias.join(" "),
        rank_bias.join(" ")
    ));
    out.push_str(&format!(
        "(profession)\t*\t0\t0,0,0,0\t{}\t\n",
        profession
            .iter()
            .enumerate()
            .map(|(f, x)| format!("{}:{x:.2}", Function::ALL[f].id()))
            .collect::<Vec<_>>()
            .join(" ")
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
        let weights = model.weights.get(w.as_bytes()).map_or(String::new(), |ws| {
            format_weights(ws, FUNCTION_WEIGHTS, |f| Function::ALL[f].id())
        });
        let rank_weights = rank_model
            .weights
            .get(w.as_bytes())
            .map_or(String::new(), |ws| format_weights(ws, 2, |c| RANK_NAMES[c]));
        out.push_str(&format!(
            "{w}\t{langs}\t{}\t{},{},{},{}\t{weights}\t{rank_weights}\n",
            a.n, a.rank[0], a.rank[1], a.rank[2], a.rank[3],
        ));
    }
    Ok(Tables {
        esco_words: out,
        subword,
    })
}

/// Function weights kept a word in the table (3 lost 0.45 and 0.2 point of
/// held-out function on the two halves of `examples/titles_lexicon.rs holdout`;
/// 5 or 6 did no better than 4).
const FUNCTION_WEIGHTS: usize = 4;

/// What an unknown profession noun (an unseen word with a profession ending:
/// Epidemiologe, Pharmazeut, Gitarrist) says of the function: half the log
/// ratio of the functions of ISCO major group 2 (professionals) to those of all
/// occupations, each occupation counted once (rule 4 makes such a noun
/// senior_specialist; professionals are almost never operations, sales or
/// administration). Without it such a title got no function evidence at all.
fn profession_weights(examples: &[Example]) -> [f32; 16] {
    let mut seen = HashSet::new();
    let (mut all, mut pro) = ([0f32; 16], [0f32; 16]);
    for e in examples {
        if seen.insert(e.concept.as_str()) {
            all[e.function] += 1.0;
            if e.rank == 2 {
                pro[e.function] += 1.0;
            }
        }
    }
    let (na, np) = (all.iter().sum::<f32>(), pro.iter().sum::<f32>());
    let mut w = [0f32; 16];
    for f in 0..16 {
        if all[f] > 0.0 && np > 0.0 {
            w[f] = 0.5 * (((pro[f] + 0.5) / np).ln() - (all[f] / na).ln());
        }
    }
    w
}

/// Whether a word counts as content for the ESCO statistics: not a hand
/// lexicon preposition, stop word, noise or filler.
pub(crate) fn content_word(lex: &super::lexicon::Lexicon, word: u32) -> bool {
    use super::lexicon::Role;
    if word == NONE {
        return true;
    }
    let w = &lex.words[word as usize];
    if w.hand == NONE {
        return true;
    }
    !matches!(
        lex.hand[w.hand as usize].role,
        Role::Prep | Role::Stop | Role::Noise | Role::Junk | Role::Employer
    )
}

/// The kept weights of one word: the `keep` largest after centring (softmax
/// does not change when a word's weights shift together), positive only.
fn format_weights<const K: usize>(
    w: &[f32; K],
    keep: usize,
    name: impl Fn(usize) -> &'static str,
) -> String {
    let mut sorted = *w;
    sorted.sort_by(f32::total_cmp);
    let centre = (sorted[K / 2 - 1] + sorted[K / 2]) / 2.0;
    let mut top: Vec<(usize, f32)> = w.iter().map(|&x| x - centre).enumerate().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.iter()
        .take(keep)
        .filter(|&&(_, x)| x >= 0.05)
        .map(|&(f, x)| format!("{}:{x:.2}", name(f)))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Example {
    words: Vec<Vec<u8>>,
    function: usize,
    rank: usize,
    concept: String,
}

struct Model<const K: usize> {
    bias: [f32; K],
    weights: std::collections::HashMap<Vec<u8>, [f32; K]>,
}

/// A multinomial logistic regression of an ESCO label's class (its function,
/// or its ISCO rank class) on its words; each occupation weighs the same
/// whatever its number of labels.
fn train_model<const K: usize>(
    examples: &[Example],
    acc: &BTreeMap<Vec<u8>, Acc>,
    label: impl Fn(&Example) -> usize,
) -> Model<K> {
    let index: std::collections::HashMap<&[u8], usize> = acc
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_slice(), i))
        .collect();
    let weights = concept_weights(examples);
    let data: Vec<(Vec<usize>, usize, f32)> = examples
        .iter()
        .zip(&weights)
        .map(|(e, &wt)| {
            let mut ids: Vec<usize> = e
                .words
                .iter()
                .filter_map(|w| index.get(w.as_slice()).copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            (ids, label(e), wt)
        })
        .collect();
    // chosen on the held-out half of the ESCO occupations (examples/titles_lexicon.rs holdout)
    // (L2 3e-6 rather than 1e-5 since the examples are weighted as below: held-out
    // function +0.1 point, as good with the halves swapped; 1e-6 to 5e-6 alike)
    let (w, b) = fit::<K>(&data, index.len(), 25, 0.3, 3e-6);
    let keys: Vec<&Vec<u8>> = acc.keys().collect();
    Model {
        bias: b,
        weights: keys
            .into_iter()
            .zip(w)
            .map(|(k, ws)| (k.clone(), ws))
            .collect(),
    }
}

/// (labels of the example's occupation)^-0.75, per example: an occupation with
/// many labels (gender forms, spellings) weighs somewhat more than one with few,
/// but not in proportion. (1 / labels, every occupation alike, scored 0.3 and
/// 0.2 point lower on the two halves of the held-out check; 1, every label alike,
/// lower still.)
fn concept_weights(examples: &[Example]) -> Vec<f32> {
    let mut per_concept: std::collections::HashMap<&str, f32> = std::collections::HashMap::new();
    for e in examples {
        *per_concept.entry(e.concept.as_str()).or_default() += 1.0;
    }
    examples
        .iter()
        .map(|e| per_concept[e.concept.as_str()].powf(-0.75))
        .collect()
}

/// Buckets of the sub-word model's hash (a power of two; the file holds
/// 20 bytes per bucket).
/// (2^14 to 2^18 scored alike on the held-out occupations.)
pub const SUBWORD_BUCKETS: usize = 1 << 15;

/// The sub-word model (`subword.bin`): the same two regressions over the
/// hashed character n-grams of the label's words instead of the words, so
/// that unseen compounds and inflections get the evidence of their pieces.
fn train_subword(examples: &[Example], comments: &str) -> Vec<u8> {
    let mask = (SUBWORD_BUCKETS - 1) as u32;
    let weights = concept_weights(examples);
    let feats: Vec<Vec<usize>> = examples
        .iter()
        .map(|e| {
            let mut ids = Vec::new();
            for w in &e.words {
                subword::grams(w, mask, |b| ids.push(b));
            }
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();
    let data = |label: &dyn Fn(&Example) -> usize| -> Vec<(Vec<usize>, usize, f32)> {
        examples
            .iter()
            .zip(&feats)
            .zip(&weights)
            .map(|((e, f), &wt)| (f.clone(), label(e), wt))
            .collect()
    };
    // chosen on the held-out half of the ESCO occupations
    // (a stronger L2 penalty than the word model's: many n-grams are shared
    // by unrelated words, and only the consistent ones should keep a weight)
    let (epochs, rate, l2) = (20, 0.1, 1e-3);
    let (fw, fb) =
        fit::<{ subword::K_FN }>(&data(&|e| e.function), SUBWORD_BUCKETS, epochs, rate, l2);
    let (rw, rb) = fit::<RANK_CLASSES>(&data(&|e| e.rank), SUBWORD_BUCKETS, epochs, rate, l2);
    subword::encode(comments, &centre(fw), &fb, &centre(rw), &rb)
}

/// Shifts each feature's weights to mean zero (softmax does not change when
/// they shift together): a smaller range to quantise.
fn centre<const K: usize>(mut w: Vec<[f32; K]>) -> Vec<[f32; K]> {
    for row in &mut w {
        let m = row.iter().sum::<f32>() / K as f32;
        for x in row.iter_mut() {
            *x -= m;
        }
    }
    w
}

/// Multinomial logistic regression on sparse binary features `(ids, class,
/// example weight)`, fitted with AdaGrad and an L2 penalty. Deterministic
/// (fixed order, fixed seed): the same table every run.
fn fit<const K: usize>(
    data: &[(Vec<usize>, usize, f32)],
    nf: usize,
    epochs: usize,
    rate: f32,
    l2: f32,
) -> (Vec<[f32; K]>, [f32; K]) {
    let mut w = vec![[0f32; K]; nf];
    let mut g2 = vec![[1e-6f32; K]; nf];
    let mut b = [0f32; K];
    let mut gb = [1e-6f32; K];
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..epochs {
        // Fisher-Yates with a fixed LCG
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            order.swap(i, (seed >> 33) as usize % (i + 1));
        }
        for &k in &order {
            let (ids, y, weight) = &data[k];
            let mut logit = b;
            for &i in ids {
                for (l, x) in logit.iter_mut().zip(&w[i]) {
                    *l += x;
                }
            }
            let m = logit.iter().copied().fold(f32::MIN, f32::max);
            let z: f32 = logit.iter().map(|l| (l - m).exp()).sum();
            let mut grad = [0f32; K];
            for (f, g) in grad.iter_mut().enumerate() {
                let p = (logit[f] - m).exp() / z;
                *g = weight * (p - if f == *y { 1.0 } else { 0.0 });
            }
            for f in 0..K {
                gb[f] += grad[f] * grad[f];
                b[f] -= rate * grad[f] / gb[f].sqrt();
            }
            for &i in ids {
                for f in 0..K {
                    let g = grad[f] + l2 * w[i][f];
                    g2[i][f] += g * g;
                    w[i][f] -= rate * g / g2[i][f].sqrt();
                }
            }
        }
    }
    (w, b)
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
    fn profession_weights_favour_professionals_functions() {
        let ex = |function: Function, rank: usize, concept: &str| Example {
            words: vec![b"x".to_vec()],
            function: function as usize,
            rank,
            concept: concept.to_owned(),
        };
        let examples = [
            ex(Function::EngineeringRnd, 2, "a"),
            ex(Function::EngineeringRnd, 2, "a"),
            ex(Function::Education, 2, "b"),
            ex(Function::Operations, 3, "c"),
            ex(Function::Operations, 3, "d"),
            ex(Function::Operations, 3, "e"),
        ];
        let w = profession_weights(&examples);
        assert!(w[Function::EngineeringRnd as usize] > 0.0, "{w:?}");
        assert!(w[Function::Education as usize] > 0.0, "{w:?}");
        assert!(w[Function::Operations as usize] < 0.0, "{w:?}");
        // a function no occupation has stays neutral
        assert_eq!(w[Function::Legal as usize], 0.0);
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
        let text = derive_tables(rows, Sources::EMBEDDED, 1)
            .expect("derives")
            .esco_words;
        let line = text
            .lines()
            .find(|l| l.starts_with("rohkaffee\t"))
            .expect("prefix word counted");
        // one occupation (two labels), an ISCO 3 (staff) group, a procurement weight
        assert!(
            line.starts_with("rohkaffee\tde\t1\t0,0,0,1\tprocurement:"),
            "{line}"
        );
        let buyer = text
            .lines()
            .find(|l| l.starts_with("einkaufer\t"))
            .expect("hand words get weights too");
        assert!(buyer.contains("procurement:"), "{buyer}");
        let roaster = text
            .lines()
            .find(|l| l.starts_with("kaffeeroster\t"))
            .expect("counted");
        assert!(
            roaster.starts_with("kaffeeroster\tde\t1\t0,0,0,1\toperations:"),
            "{roaster}"
        );
        assert!(text.contains("(bias)\t*"));
        // the same input gives the same table
        assert_eq!(
            text,
            derive_tables(rows, Sources::EMBEDDED, 1)
                .expect("derives")
                .esco_words
        );
    }
}
