//! Generator and held-out check for the ESCO-derived files of the title
//! classifier (`data/titles/esco_words.tsv`, `data/titles/subword.bin`).
//!
//!   cargo run --release --example titles_lexicon -- generate [ESCO_CSV] [OUT_DIR]
//!   cargo run --release --example titles_lexicon -- holdout  [ESCO_CSV]
//!
//! ESCO_CSV defaults to ../shared/data/esco_lexicon_dev.csv, from the repository root (columns
//! label,lang,kind,isco,function,concept), OUT_DIR to data/titles.
//! `NO_SUBWORD=1 … holdout` scores without the sub-word model, for comparison;
//! `FLIP=1 … holdout` swaps the two halves (trains on the scored half, scores
//! the other): a second estimate, to tell a change from the noise of one split.
//! `holdout` splits the ESCO occupations (concepts) in two by a hash, derives the
//! table from one half and scores the other half's labels: function against the
//! label's function, seniority against the ISCO rule of `titles-taxonomy.md` §9.

use std::collections::BTreeMap;

use dmumatch::engine::taxonomy::{Function, Seniority};
use dmumatch::engine::titles::derive::{EscoRow, derive_tables, isco_seniority};
use dmumatch::engine::titles::{Classifier, EvidenceSource, EvidenceTarget, Sources};
use sha2::{Digest, Sha256};

const DEFAULT_INPUT: &str = "../shared/data/esco_lexicon_dev.csv";
/// Words seen in fewer occupations are left out of the shipped table.
const MIN_OCCUPATIONS: u32 = 1;

struct Row {
    label: String,
    lang: String,
    isco: String,
    function: String,
    concept: String,
}

fn read(path: &str) -> anyhow::Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(path)?;
    let h = r.headers()?.clone();
    let col = |name: &str| {
        h.iter()
            .position(|c| c == name)
            .ok_or_else(|| anyhow::anyhow!("{path}: no {name} column"))
    };
    let (l, g, i, f, c) = (
        col("label")?,
        col("lang")?,
        col("isco")?,
        col("function")?,
        col("concept")?,
    );
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        rows.push(Row {
            label: rec[l].to_owned(),
            lang: rec[g].to_owned(),
            isco: rec[i].to_owned(),
            function: rec[f].to_owned(),
            concept: rec[c].to_owned(),
        });
    }
    Ok(rows)
}

fn esco(r: &Row) -> EscoRow<'_> {
    EscoRow {
        label: &r.label,
        lang: &r.lang,
        isco: &r.isco,
        function: &r.function,
        concept: &r.concept,
    }
}

fn in_first_half(concept: &str) -> bool {
    (Sha256::digest(concept.as_bytes())[0] < 128) != std::env::var_os("FLIP").is_some()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("");
    let input = args.get(1).map_or(DEFAULT_INPUT, String::as_str);
    match cmd {
        "generate" => {
            let dir = std::path::Path::new(args.get(2).map_or("data/titles", String::as_str));
            let rows = read(input)?;
            let t = derive_tables(rows.iter().map(esco), Sources::EMBEDDED, MIN_OCCUPATIONS)?;
            let (words, model) = (dir.join("esco_words.tsv"), dir.join("subword.bin"));
            std::fs::write(&words, &t.esco_words)?;
            std::fs::write(&model, &t.subword)?;
            eprintln!(
                "{}: {} words, {} bytes; {}: {} bytes",
                words.display(),
                t.esco_words.lines().filter(|l| !l.starts_with('#')).count(),
                t.esco_words.len(),
                model.display(),
                t.subword.len()
            );
        }
        "holdout" => holdout(&read(input)?)?,
        _ => anyhow::bail!(
            "usage: titles_lexicon generate [ESCO_CSV] [OUT_DIR] | holdout [ESCO_CSV]"
        ),
    }
    Ok(())
}

fn holdout(rows: &[Row]) -> anyhow::Result<()> {
    let train = rows.iter().filter(|r| in_first_half(&r.concept)).map(esco);
    let t = derive_tables(train, Sources::EMBEDDED, MIN_OCCUPATIONS)?;
    let subword: &'static [u8] = if std::env::var_os("NO_SUBWORD").is_some() {
        b""
    } else {
        Vec::leak(t.subword)
    };
    let clf = Classifier::from_sources(Sources {
        esco_words: String::leak(t.esco_words),
        subword,
        ..Sources::EMBEDDED
    })?;
    let verbose = std::env::var_os("VERBOSE").is_some();
    let mut per_lang: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut conf_bins = [[0usize; 2]; 10];
    // function accuracy by what decided it
    let mut by_source: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    for r in rows.iter().filter(|r| !in_first_half(&r.concept)) {
        let c = clf.classify(&r.label, Some(&r.lang));
        let want_f = Function::from_id(&r.function).unwrap_or(Function::Other);
        let want_s: Seniority = isco_seniority(&r.isco, &r.label, &r.lang);
        let e = per_lang.entry(&r.lang).or_default();
        e[0] += 1;
        e[1] += usize::from(c.function == want_f);
        e[2] += usize::from(c.seniority == want_s);
        let fsrc = c
            .evidence
            .items()
            .iter()
            .rev()
            .find(|e| matches!(e.target, EvidenceTarget::Function(_)))
            .map_or("none".to_owned(), |e| match e.source {
                EvidenceSource::Rule => e.word.to_owned(),
                s => format!("{s:?}"),
            });
        let b = by_source.entry(fsrc).or_default();
        b[0] += 1;
        b[1] += usize::from(c.function == want_f);
        let bin = ((c.confidence * 10.0) as usize).min(9);
        conf_bins[bin][0] += 1;
        conf_bins[bin][1] += usize::from(c.function == want_f && c.seniority == want_s);
        if verbose && (c.function != want_f || c.seniority != want_s) {
            println!(
                "MISS {:?} ({}, isco {}): want {}/{} got {}/{} {:?}",
                r.label,
                r.lang,
                r.isco,
                want_f,
                want_s,
                c.function,
                c.seniority,
                c.evidence_strings()
            );
        }
    }
    let mut tot = [0usize; 3];
    for (lang, [n, f, s]) in &per_lang {
        println!(
            "  {lang}: n={n} function {:.1}% seniority {:.1}%",
            100.0 * *f as f64 / *n as f64,
            100.0 * *s as f64 / *n as f64
        );
        tot[0] += n;
        tot[1] += f;
        tot[2] += s;
    }
    println!("function accuracy by the evidence that decided it:");
    for (k, [n, ok]) in &by_source {
        println!("  {k}: n={n} {:.1}%", 100.0 * *ok as f64 / *n as f64);
    }
    println!("confidence calibration (bin: n, both axes right):");
    for (i, [n, ok]) in conf_bins.iter().enumerate() {
        if *n > 0 {
            println!(
                "  {:.1}-{:.1}: n={n} {:.1}%",
                i as f64 / 10.0,
                (i + 1) as f64 / 10.0,
                100.0 * *ok as f64 / *n as f64
            );
        }
    }
    // Sampled like titles_dev.csv: no "/" pairs, at most 60 characters and 7 words,
    // at most 2 labels an occupation.
    let mut per_concept: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dev_like = [0usize; 3];
    for r in rows.iter().filter(|r| !in_first_half(&r.concept)) {
        if r.label.contains('/')
            || r.label.chars().count() > 60
            || r.label.split_whitespace().count() > 7
        {
            continue;
        }
        let k = per_concept.entry(&r.concept).or_default();
        if *k >= 2 {
            continue;
        }
        *k += 1;
        let c = clf.classify(&r.label, Some(&r.lang));
        dev_like[0] += 1;
        dev_like[1] +=
            usize::from(c.function == Function::from_id(&r.function).unwrap_or(Function::Other));
        dev_like[2] += usize::from(c.seniority == isco_seniority(&r.isco, &r.label, &r.lang));
    }
    println!(
        "holdout, sampled like titles_dev.csv: function {:.1}% seniority {:.1}% (n={})",
        100.0 * dev_like[1] as f64 / dev_like[0] as f64,
        100.0 * dev_like[2] as f64 / dev_like[0] as f64,
        dev_like[0]
    );
    println!(
        "holdout (ESCO concepts not used for the table): function {:.1}% seniority {:.1}% (n={})",
        100.0 * tot[1] as f64 / tot[0] as f64,
        100.0 * tot[2] as f64 / tot[0] as f64,
        tot[0]
    );
    Ok(())
}
