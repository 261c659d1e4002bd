//! `dmumatch classify [TITLE…] [--input FILE.csv] [--evidence]`: job titles →
//! function, seniority, confidence as CSV on stdout.
//!
//! With `--input`, FILE's columns pass through unchanged and the three (four
//! with `--evidence`) columns are appended. FILE has a `title` column and may
//! have `lang` (empty = detect). The file is streamed: one record buffer is
//! reused, so memory stays flat whatever its size. A bad row (wrong number of
//! fields, invalid UTF-8) is reported with its line number on stderr and
//! skipped; the run goes on and the exit code is 1 if any row was bad.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use crate::engine::titles::{Classification, Classifier, Sources};

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// Titles to classify (alternative to --input).
    #[arg(conflicts_with = "input")]
    pub titles: Vec<String>,
    /// CSV file with a `title` column and optionally `lang`; `-` reads stdin.
    #[arg(long, value_name = "FILE.csv")]
    pub input: Option<PathBuf>,
    /// Language of the TITLE arguments (nl, en, de, fr); default: detect.
    #[arg(long)]
    pub lang: Option<String>,
    /// Add an `evidence` column: the words that decided, `;`-separated.
    #[arg(long)]
    pub evidence: bool,
    /// A directory with replacement lexicon files (lexicon.tsv, morphology.tsv,
    /// esco_words.tsv, subword.bin); a file it lacks falls back to the embedded one.
    #[arg(long, env = "DMUMATCH_TITLES_LEXICON", value_name = "DIR")]
    pub lexicon_dir: Option<PathBuf>,
}

/// Returns the process exit code: 0, or 1 if any input row was bad.
pub fn run(args: ClassifyArgs) -> anyhow::Result<i32> {
    let owned;
    let clf: &Classifier = match &args.lexicon_dir {
        Some(dir) => {
            owned = load_lexicons(dir)?;
            &owned
        }
        None => Classifier::embedded(),
    };
    let stdout = io::stdout();
    let mut out = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(stdout.lock());
    let mut evidence = String::new();
    let mut code = 0;
    match &args.input {
        None => {
            let mut header = vec!["title", "function", "seniority", "confidence"];
            if args.evidence {
                header.push("evidence");
            }
            out.write_record(&header)?;
            for t in &args.titles {
                let c = clf.classify(t, args.lang.as_deref());
                out.write_field(t)?;
                write_classification(&mut out, &c, args.evidence.then_some(&mut evidence))?;
            }
        }
        Some(path) => {
            let input: Box<dyn Read> = if path == Path::new("-") {
                Box::new(io::stdin().lock())
            } else {
                Box::new(File::open(path).with_context(|| format!("{}", path.display()))?)
            };
            let bad = classify_csv(clf, input, &mut out, args.evidence, &mut evidence)
                .with_context(|| format!("{}", path.display()))?;
            if bad > 0 {
                eprintln!("dmumatch classify: {bad} bad row(s) skipped");
                code = 1;
            }
        }
    }
    out.flush()?;
    Ok(code)
}

/// Stream `input` (CSV with a header) to `out`, appending the classification
/// of each row. Returns the number of bad rows (reported on stderr).
pub fn classify_csv<R: Read, W: Write>(
    clf: &Classifier,
    input: R,
    out: &mut csv::Writer<W>,
    with_evidence: bool,
    evidence: &mut String,
) -> anyhow::Result<u64> {
    let mut rdr = csv::ReaderBuilder::new()
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let header = rdr.byte_headers().context("reading the header")?.clone();
    let names: Vec<&str> = header
        .iter()
        .map(|h| std::str::from_utf8(h).map(|s| s.trim_start_matches('\u{feff}')))
        .collect::<Result<_, _>>()
        .context("the header is not valid UTF-8")?;
    let title_col = names
        .iter()
        .position(|h| h.eq_ignore_ascii_case("title"))
        .context("no `title` column in the header")?;
    let lang_col = names.iter().position(|h| h.eq_ignore_ascii_case("lang"));
    for h in &header {
        out.write_field(h)?;
    }
    out.write_field("function")?;
    out.write_field("seniority")?;
    out.write_field("confidence")?;
    if with_evidence {
        out.write_field("evidence")?;
    }
    out.write_record(None::<&[u8]>)?;

    let mut rec = csv::ByteRecord::new();
    let mut bad = 0u64;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        eprintln!(
                            "dmumatch classify: line {line}: {len} field(s), expected {expected_len}; row skipped"
                        );
                        bad += 1;
                        continue;
                    }
                    csv::ErrorKind::Io(_) => return Err(e.into()),
                    _ => {
                        eprintln!("dmumatch classify: line {line}: {e}; row skipped");
                        bad += 1;
                        continue;
                    }
                }
            }
        }
        // Every field passes through, so the whole record must be UTF-8.
        if let Err(e) = std::str::from_utf8(rec.as_slice()) {
            let line = rec.position().map_or(0, csv::Position::line);
            eprintln!(
                "dmumatch classify: line {line}: not valid UTF-8 (byte {}); row skipped",
                e.valid_up_to()
            );
            bad += 1;
            continue;
        }
        let field = |i: usize| rec.get(i).map(|b| std::str::from_utf8(b).unwrap_or(""));
        let title = field(title_col).unwrap_or("");
        let lang = lang_col.and_then(field).filter(|l| !l.is_empty());
        let c = clf.classify(title, lang);
        for f in &rec {
            out.write_field(f)?;
        }
        write_classification(out, &c, with_evidence.then_some(&mut *evidence))?;
    }
    Ok(bad)
}

fn write_classification<W: Write>(
    out: &mut csv::Writer<W>,
    c: &Classification,
    evidence: Option<&mut String>,
) -> csv::Result<()> {
    out.write_field(c.function.id())?;
    out.write_field(c.seniority.id())?;
    // confidence with two decimals, formatted without allocating
    let v = (c.confidence.clamp(0.0, 1.0) * 100.0).round() as u32;
    let digits = [
        b'0' + (v / 100) as u8,
        b'.',
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ];
    out.write_field(digits)?;
    if let Some(buf) = evidence {
        buf.clear();
        c.evidence.write_to(buf, "; ");
        out.write_field(buf.as_bytes())?;
    }
    out.write_record(None::<&[u8]>)
}

/// Lexicon files from `dir`, each falling back to the embedded one. Read once
/// per process and kept for its lifetime (the evidence refers into them).
fn load_lexicons(dir: &Path) -> anyhow::Result<Classifier> {
    let read = |name: &str, default: &'static str| -> anyhow::Result<&'static str> {
        let p = dir.join(name);
        match std::fs::read_to_string(&p) {
            Ok(s) => Ok(String::leak(s)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(default),
            Err(e) => Err(e).with_context(|| format!("{}", p.display())),
        }
    };
    let e = Sources::EMBEDDED;
    let src = Sources {
        lexicon: read("lexicon.tsv", e.lexicon)?,
        morphology: read("morphology.tsv", e.morphology)?,
        esco_words: read("esco_words.tsv", e.esco_words)?,
        subword: match std::fs::read(dir.join("subword.bin")) {
            Ok(b) => Vec::leak(b),
            Err(err) if err.kind() == io::ErrorKind::NotFound => e.subword,
            Err(err) => {
                Err(err).with_context(|| format!("{}", dir.join("subword.bin").display()))?
            }
        },
    };
    Classifier::from_sources(src).with_context(|| format!("lexicons in {}", dir.display()))
}
