//! Titles per second of the title classifier on one core, over a realistic mix:
//! CRM-style titles in four languages (abbreviations, compounds, gender forms,
//! combined titles, employers, noise) and ESCO occupation labels.
//!
//!   cargo bench --bench classify

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmumatch::engine::titles::Classifier;

/// (title, lang) pairs from the labelled sets, CRM-style first.
fn mix() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for text in [
        include_str!("../tests/data/crm_titles.csv"),
        include_str!("../tests/data/crm_titles_blind.csv"),
        include_str!("../tests/data/titles_dev.csv"),
    ] {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        for rec in r.records() {
            let rec = rec.expect("test data parses");
            out.push((rec[0].to_owned(), rec[1].to_owned()));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let clf = Classifier::embedded();
    let titles = mix();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(titles.len() as u64));
    g.bench_function("with_lang", |b| {
        b.iter(|| {
            for (t, l) in &titles {
                black_box(clf.classify(black_box(t), Some(l)));
            }
        })
    });
    g.bench_function("detect_lang", |b| {
        b.iter(|| {
            for (t, _) in &titles {
                black_box(clf.classify(black_box(t), None));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
