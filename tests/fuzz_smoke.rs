//! The fuzz targets of `fuzz/` on the stable toolchain: each body gets a
//! bounded run of inputs mutated from real seeds (the contract's examples,
//! the example CRM export, labelled titles) by a seeded generator, so a run
//! is repeatable. This is not coverage-guided fuzzing (`scripts/fuzz.sh` runs
//! `cargo fuzz` for that); it is the same targets, run for a bounded time in
//! the test suite, and any panic fails with the input that caused it.
//!
//! `DMUMATCH_FUZZ_SECS` (default 3) and `DMUMATCH_FUZZ_SEED` change the
//! budget per target and the seed.

#[path = "../fuzz/fuzz_targets/bodies.rs"]
mod bodies;

use std::time::{Duration, Instant};

/// xorshift64*: a few lines instead of a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b";",
    b"\t",
    b"\0",
    b"\xff",
    b"null",
    b"-1",
    b"0",
    b"99999999999999999999",
    b"1e309",
    b"\"FRIEND\"",
    b"\\u0000",
    b"\xc3\x28",
    b"\"version\":\"-5\"",
    b"\"occurredAt\":\"9999-99-99T00:00:00Z\"",
    b"\"2026-02-30\"",
    b"CEO",
    b"Hoofd",
    b"(m/w/d)",
    b"&",
    b"|",
    b"\xe2\x80\x8b",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                input.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(16)).min(len);
                input.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(32)).min(len);
                let piece = input[a..b].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, piece);
            }
            5 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, t.iter().copied());
            }
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            _ => input.truncate(rng.below(len + 1)),
        }
    }
    input.truncate(64 * 1024);
}

fn budget() -> Duration {
    let secs = std::env::var("DMUMATCH_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// Runs `target` on every seed, then on mutants until the budget is spent.
fn smoke(name: &str, seeds: Vec<Vec<u8>>, target: fn(&[u8]) -> bool) {
    assert!(!seeds.is_empty());
    let seed = std::env::var("DMUMATCH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64 ^ name.len() as u64);
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let mut runs = 0u64;
    let mut accepted = 0u64;
    let mut run = |input: &[u8]| match std::panic::catch_unwind(|| target(input)) {
        Ok(ok) => accepted += u64::from(ok),
        Err(panic) => {
            let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
            panic!(
                "{name}: panic on input (hex) {hex}\n({:?})",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
            );
        }
    };
    for s in &seeds {
        run(s);
        runs += 1;
    }
    let mut input = Vec::new();
    while started.elapsed() < budget() {
        if runs.is_multiple_of(4) || input.is_empty() {
            input = seeds[rng.below(seeds.len())].clone();
        }
        mutate(&mut rng, &seeds, &mut input);
        run(&input);
        runs += 1;
    }
    eprintln!(
        "{name}: {runs} inputs ({accepted} accepted) in {:.1} s (seed {seed}), no panic",
        started.elapsed().as_secs_f64()
    );
    assert!(runs > 100, "{name}: only {runs} inputs");
    assert!(
        accepted > 10,
        "{name}: only {accepted} inputs got past the parser"
    );
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn file(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The contract's examples, prefixed with the content-type byte, in JSON
/// and re-encoded as protobuf.
fn event_seeds<T>(paths: &[&str]) -> Vec<Vec<u8>>
where
    T: prost::Message + Default + serde::Serialize + serde::de::DeserializeOwned,
{
    let mut out = Vec::new();
    for p in paths {
        let json = file(p);
        let msg: T = dmumatch::pb::from_json(&json).unwrap_or_else(|e| panic!("{p}: {e}"));
        out.push([&[0u8][..], &json].concat());
        out.push([&[1u8][..], &msg.encode_to_vec()].concat());
        out.push([&[2u8][..], &json].concat());
    }
    out
}

#[test]
fn fuzz_decode_contact_event() {
    smoke(
        "decode_contact_event",
        event_seeds::<dmumatch::pb::ContactEvent>(&[
            "tests/data/contract/contact_event.json",
            "tests/data/contract/contact_objected_event.json",
        ]),
        bodies::decode_contact_event,
    );
}

#[test]
fn fuzz_decode_campaign_event() {
    smoke(
        "decode_campaign_event",
        event_seeds::<dmumatch::pb::CampaignEvent>(&["tests/data/contract/campaign_event.json"]),
        bodies::decode_campaign_event,
    );
}

#[test]
fn fuzz_contacts_csv() {
    let text = String::from_utf8(file("examples/crm-export.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut seeds = Vec::new();
    for chunk in lines[1..].chunks(4).take(40) {
        let mut s = vec![0u8];
        s.extend_from_slice(lines[0].as_bytes());
        for l in chunk {
            s.push(b'\n');
            s.extend_from_slice(l.as_bytes());
        }
        seeds.push(s.clone());
        // The same rows with ';' (byte 1 picks it).
        let semi: Vec<u8> = s
            .iter()
            .map(|b| if *b == b',' { b';' } else { *b })
            .collect();
        seeds.push([&[1u8][..], &semi[1..]].concat());
    }
    smoke("contacts_csv", seeds, bodies::contacts_csv);
}

#[test]
fn fuzz_classify_title() {
    let text = String::from_utf8(file("tests/data/crm_titles.csv")).unwrap();
    let seeds: Vec<Vec<u8>> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split(',');
            let title = cols.next()?;
            let lang = match cols.next()? {
                "nl" => 1,
                "en" => 2,
                "de" => 3,
                "fr" => 4,
                _ => 0,
            };
            Some([&[lang][..], title.as_bytes()].concat())
        })
        .collect();
    smoke("classify_title", seeds, bodies::classify_title);
}
