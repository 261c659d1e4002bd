//! `dmumatch evaluate`: the whole decision path over a CRM export, in-process.
//!
//! Streaming and in order: a reader thread cuts the input into chunks of raw
//! records, worker threads parse, enrich, decide and format them, and this
//! thread writes the chunks back in input order. Channels are bounded, so
//! memory stays flat whatever the file size. See `docs/evaluate.md`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use csv::ByteRecord;
use sha2::{Digest, Sha256};

use super::contacts_csv::{self, Columns};
use super::summary::{CampaignInfo, CampaignStats, RunInfo};
use crate::engine::eligibility::{PreparedCampaign, decide_invalid_input, decide_prepared_into};
use crate::engine::{Classifier, RuleSet, enrich};
use crate::pb;

/// The built-in example (README's first command): a CRM export and a campaign.
pub const EXAMPLE_CONTACTS: &str = include_str!("../../examples/crm-export.csv");
pub const EXAMPLE_CAMPAIGN: &str = include_str!("../../examples/campaigns/itsm-launch.json");
/// The export date of the example, its default asOf (so its output is stable).
pub const EXAMPLE_AS_OF: &str = "2026-12-01T00:00:00Z";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One `eligibilityDecided` JSON object a line (canonical proto3 JSON).
    Ndjson,
    /// One flat CSV row per decision, with a header.
    Csv,
    /// Aligned columns for people, then the summary.
    Table,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// By extension (.csv; .ndjson/.jsonl/.json), else by the first byte.
    Auto,
    Csv,
    Ndjson,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Contacts: CSV (columns in docs/evaluate.md) or NDJSON (one contract
    /// Contact a line); `-` reads stdin. Default: the built-in example export.
    #[arg(long, value_name = "FILE")]
    pub contacts: Option<PathBuf>,
    /// Campaign (contract JSON). Repeat to decide every contact for several.
    /// Default: the built-in example campaign.
    #[arg(long, value_name = "FILE")]
    pub campaign: Vec<PathBuf>,
    /// The instant to decide at (RFC 3339). Default: now; for the built-in
    /// example, its export date.
    #[arg(long, value_name = "RFC3339", value_parser = parse_as_of)]
    pub as_of: Option<DateTime<Utc>>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// How to read --contacts.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    /// A rules file replacing the built-in one (see docs/rules.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Also write a self-contained HTML report of the audience.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write decisions only for contacts the campaign targets
    /// (targetCountries / targetOrganisationIds); they are counted either way.
    #[arg(long)]
    pub targeted_only: bool,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_as_of(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 instant ({e}), e.g. 2026-12-01T00:00:00Z"))
}

/// Exit codes (documented in docs/evaluate.md).
pub const EXIT_OK: i32 = 0;
pub const EXIT_BAD_ROWS: i32 = 1;

/// Records per chunk handed to a worker.
const CHUNK: usize = 1024;

/// A campaign loaded and checked, with its prepared form.
struct LoadedCampaign {
    campaign: pb::Campaign,
    prepared: PreparedCampaign,
}

/// Reads and checks a campaign file: bad JSON, no id or an unknown function id
/// stop the run with a clear message; a target role that is no role is ignored
/// with a warning.
fn load_campaign(text: &[u8], name: &str, rules: &RuleSet) -> anyhow::Result<LoadedCampaign> {
    let c: pb::Campaign =
        pb::from_json(text).with_context(|| format!("campaign {name}: not a contract Campaign"))?;
    if c.campaign_id.trim().is_empty() {
        bail!("campaign {name}: campaignId is missing");
    }
    crate::engine::dmu::check_profile(c.dmu_profile.as_ref())
        .map_err(|e| anyhow::anyhow!("campaign {name}: {e}"))?;
    for role in crate::engine::dmu::untargetable_roles(c.dmu_profile.as_ref()) {
        eprintln!(
            "dmumatch: warning: campaign {name}: dmuProfile.targetRoles has {role}, \
             which no campaign can target; ignored"
        );
    }
    if c.channel == pb::channel::Value::Unspecified as i32 {
        eprintln!("dmumatch: warning: campaign {name} has no channel; every contact gets I1");
    }
    let prepared = PreparedCampaign::new(&c, rules);
    Ok(LoadedCampaign {
        campaign: c,
        prepared,
    })
}

/// The decision id the CLI gives: a UUID (version 8) hashed from what
/// identifies the decision, so the same run gives the same ids.
pub fn decision_id(
    campaign: &PreparedCampaign,
    contact_id: &str,
    contact_version: i64,
    as_of: &str,
    input_digest: &str,
    line: u64,
) -> String {
    let mut h = Sha256::new();
    h.update(b"dmumatch.decision.v1\n");
    for part in [
        campaign.campaign_id.as_str(),
        contact_id,
        as_of,
        input_digest,
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.update(campaign.version.to_le_bytes());
    h.update(contact_version.to_le_bytes());
    h.update(line.to_le_bytes());
    let bytes: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

enum Source {
    Example,
    Stdin,
    File(PathBuf),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Example => "examples/crm-export.csv (built in)".into(),
            Source::Stdin => "stdin".into(),
            Source::File(p) => p.display().to_string(),
        }
    }

    fn open(&self) -> anyhow::Result<Box<dyn BufRead + Send>> {
        const CAP: usize = 1 << 16;
        Ok(match self {
            Source::Example => Box::new(EXAMPLE_CONTACTS.as_bytes()),
            Source::Stdin => Box::new(BufReader::with_capacity(CAP, io::stdin())),
            Source::File(p) => Box::new(BufReader::with_capacity(
                CAP,
                File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
            )),
        })
    }

    fn extension(&self) -> Option<String> {
        match self {
            Source::Example => Some("csv".into()),
            Source::Stdin => None,
            Source::File(p) => p
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase()),
        }
    }
}

/// By extension, else NDJSON when the first non-blank byte is `{`.
fn detect_format(source: &Source, input: &mut dyn BufRead) -> anyhow::Result<InputFormat> {
    match source.extension().as_deref() {
        Some("csv") => return Ok(InputFormat::Csv),
        Some("ndjson" | "jsonl" | "json") => return Ok(InputFormat::Ndjson),
        _ => {}
    }
    let buf = input.fill_buf().context("cannot read the contacts")?;
    let buf = buf.strip_prefix(pb::BOM).unwrap_or(buf);
    let first = buf.iter().find(|b| !b.is_ascii_whitespace());
    Ok(if first == Some(&b'{') {
        InputFormat::Ndjson
    } else {
        InputFormat::Csv
    })
}

/// Buffers handed back for reuse, so that memory allocated on one thread is
/// not freed on another: cross-thread frees contend on the allocator's arena
/// lock, which was the largest cost after the work itself.
#[derive(Default)]
struct Pools {
    records: Mutex<Vec<Vec<ByteRecord>>>,
    outputs: Mutex<Vec<Vec<u8>>>,
}

impl Pools {
    fn take_records(&self) -> Vec<ByteRecord> {
        self.records
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }

    fn give_records(&self, v: Vec<ByteRecord>) {
        if let Ok(mut p) = self.records.lock() {
            p.push(v);
        }
    }

    fn take_output(&self) -> Vec<u8> {
        self.outputs
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| Vec::with_capacity(1 << 20))
    }

    fn give_output(&self, mut v: Vec<u8>) {
        v.clear();
        if let Ok(mut p) = self.outputs.lock() {
            p.push(v);
        }
    }
}

/// `,`, `;` (spreadsheet exports in NL, BE, DE, FR) or tab: whichever the header line has most of.
fn sniff_delimiter(input: &mut dyn BufRead) -> anyhow::Result<u8> {
    let buf = input.fill_buf().context("cannot read the contacts")?;
    let header = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    Ok([b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .unwrap_or(b','))
}

/// Raw records of one chunk, in input order.
enum Records {
    Csv(Vec<ByteRecord>),
    /// (line number, JSON text)
    Ndjson(Vec<(u64, Vec<u8>)>),
}

struct Chunk {
    seq: u64,
    records: Records,
}

/// A chunk decided and formatted.
struct Done {
    seq: u64,
    output: Vec<u8>,
    /// Lines for stderr, in input order.
    errors: Vec<String>,
    rows: u64,
}

/// Cuts the CSV input into chunks; stops quietly when the workers are gone.
fn read_csv(
    mut r: csv::Reader<Box<dyn BufRead + Send>>,
    tx: SyncSender<Chunk>,
    pools: &Pools,
) -> anyhow::Result<()> {
    // New records are sized like the last one, so none is grown field by field.
    let (mut bytes, mut fields) = (256, 64);
    for seq in 0.. {
        // Records come back from the workers and are read into again.
        let mut recs = pools.take_records();
        let mut n = 0;
        while n < CHUNK {
            if n == recs.len() {
                recs.push(ByteRecord::with_capacity(bytes, fields));
            }
            if !r
                .read_byte_record(&mut recs[n])
                .context("reading the contacts")?
            {
                break;
            }
            bytes = recs[n].as_slice().len().next_power_of_two().max(64);
            fields = recs[n].len().max(1);
            n += 1;
        }
        recs.truncate(n);
        if recs.is_empty()
            || tx
                .send(Chunk {
                    seq,
                    records: Records::Csv(recs),
                })
                .is_err()
        {
            break;
        }
    }
    Ok(())
}

/// Cuts the NDJSON input into chunks of non-blank lines.
fn read_ndjson(mut r: Box<dyn BufRead + Send>, tx: SyncSender<Chunk>) -> anyhow::Result<()> {
    let mut line_no = 0u64;
    let mut eof = false;
    for seq in 0.. {
        let mut lines = Vec::with_capacity(CHUNK);
        while lines.len() < CHUNK {
            let mut buf = Vec::new();
            if r.read_until(b'\n', &mut buf)
                .context("reading the contacts")?
                == 0
            {
                eof = true;
                break;
            }
            line_no += 1;
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            lines.push((line_no, buf));
        }
        if lines.is_empty()
            || tx
                .send(Chunk {
                    seq,
                    records: Records::Ndjson(lines),
                })
                .is_err()
            || eof
        {
            break;
        }
    }
    Ok(())
}

/// What every worker shares.
struct Shared<'a> {
    rules: &'a RuleSet,
    classifier: &'a Classifier,
    campaigns: &'a [LoadedCampaign],
    columns: Option<&'a Columns>,
    header_len: usize,
    as_of: DateTime<Utc>,
    as_of_text: String,
    format: Format,
    targeted_only: bool,
    source_name: String,
    json: super::json::DecisionJson,
    pools: Pools,
}

/// A worker's contact and decision, reused row after row.
#[derive(Default)]
struct Buffers {
    contact: pb::Contact,
    decided: pb::EligibilityDecided,
    spare: Option<ByteRecord>,
}

/// Where a worker writes one chunk's decisions.
enum Sink {
    Bytes(Vec<u8>),
    Csv(Box<csv::Writer<Vec<u8>>>),
}

impl Sink {
    fn new(format: Format, buf: Vec<u8>) -> Sink {
        match format {
            Format::Csv => Sink::Csv(Box::new(
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(buf),
            )),
            _ => Sink::Bytes(buf),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Sink::Bytes(b) => b,
            Sink::Csv(w) => w.into_inner().unwrap_or_default(),
        }
    }
}

/// The columns of `--format csv`.
pub const CSV_OUTPUT_HEADER: [&str; 22] = [
    "decision_id",
    "contact_id",
    "campaign_id",
    "decision",
    "channel_ground",
    "gdpr_basis",
    "jurisdiction",
    "rule_id",
    "reason_code",
    "reason",
    "citation",
    "dmu_role",
    "role_relevant",
    "function",
    "seniority",
    "entity_type",
    "address_kind",
    "obligations",
    "valid_until",
    "rule_set_version",
    "input_digest",
    "decided_at",
];

fn table_header(multi: bool) -> String {
    let mut s = String::new();
    if multi {
        s.push_str(&format!("{:<14} ", "CAMPAIGN"));
    }
    s.push_str(&format!(
        "{:<16} {:<3} {:<13} {:<22} {:<11} {:<10} {:<30} {}\n",
        "CONTACT",
        "CC",
        "DECISION",
        "CHANNEL GROUND",
        "RULE",
        "DMU ROLE",
        "FUNCTION/SENIORITY",
        "REASON"
    ));
    s
}

fn fit(s: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= width {
        s.into()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t.into()
    }
}

fn enum_name<T: TryFrom<i32>>(v: i32, name: fn(&T) -> &'static str) -> &'static str {
    pb::enum_name(v, name).unwrap_or("?")
}

fn ts_text(t: &Option<pb::Timestamp>) -> String {
    t.and_then(|t| t.to_datetime())
        .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

impl Shared<'_> {
    fn emit(
        &self,
        sink: &mut Sink,
        d: &pb::EligibilityDecided,
        enrichment: Option<&crate::engine::Enrichment>,
    ) {
        let decision = enum_name(d.decision, pb::decision::Value::as_str_name);
        let ground = enum_name(d.channel_ground, pb::channel_ground::Value::as_str_name);
        let role = enum_name(d.dmu_role, pb::dmu_role::Value::as_str_name);
        let reason = d.reasons.first();
        match (sink, self.format) {
            (Sink::Bytes(out), Format::Ndjson) => {
                self.json.write(out, d);
                out.push(b'\n');
            }
            (Sink::Bytes(out), _) => {
                let multi = self.campaigns.len() > 1;
                let fs = enrichment.map_or(String::new(), |e| {
                    format!(
                        "{}/{}",
                        e.classification.function, e.classification.seniority
                    )
                });
                if multi {
                    let _ = write!(out, "{:<14} ", fit(&d.campaign_id, 14));
                }
                let _ = writeln!(
                    out,
                    "{:<16} {:<3} {:<13} {:<22} {:<11} {:<10} {:<30} {}",
                    fit(&d.contact_id, 16),
                    d.jurisdiction,
                    decision,
                    ground,
                    d.rule_id,
                    role,
                    fit(&fs, 30),
                    reason.map_or("", |r| r.code.as_str()),
                );
            }
            (Sink::Csv(w), _) => {
                let (function, seniority, entity, address) = match enrichment {
                    Some(e) => (
                        e.classification.function.id(),
                        e.classification.seniority.id(),
                        e.entity_type.as_str_name(),
                        e.address_kind.as_str_name(),
                    ),
                    None => ("", "", "", ""),
                };
                let _ = w.write_record([
                    d.decision_id.as_str(),
                    &d.contact_id,
                    &d.campaign_id,
                    decision,
                    ground,
                    enum_name(d.gdpr_basis, pb::gdpr_basis::Value::as_str_name),
                    &d.jurisdiction,
                    &d.rule_id,
                    reason.map_or("", |r| r.code.as_str()),
                    reason.map_or("", |r| r.message.as_str()),
                    reason.map_or("", |r| r.citation.as_str()),
                    role,
                    if d.role_relevant { "true" } else { "false" },
                    function,
                    seniority,
                    entity,
                    address,
                    &d.obligations.join(";"),
                    &ts_text(&d.valid_until),
                    &d.rule_set_version,
                    &d.input_digest,
                    &ts_text(&d.decided_at),
                ]);
            }
        }
    }

    /// Parse, enrich, decide and format one chunk; `buf` is reused across chunks.
    fn work(&self, chunk: Chunk, stats: &mut [CampaignStats], buf: &mut Buffers) -> Done {
        let mut sink = Sink::new(self.format, self.pools.take_output());
        let mut errors = Vec::new();
        let mut rows = 0;
        let mut one = |parsed: Result<(), contacts_csv::RowError>, line: u64, buf: &mut Buffers| {
            rows += 1;
            match parsed {
                Ok(()) => self.decide_one(&buf.contact, line, &mut sink, stats, &mut buf.decided),
                Err(e) => {
                    errors.push(format!(
                        "{}:{line}: {}{}",
                        self.source_name,
                        if e.contact_id.is_empty() {
                            String::new()
                        } else {
                            format!("contact {}: ", e.contact_id)
                        },
                        e.message
                    ));
                    self.invalid_one(&e, line, &mut sink, stats);
                }
            }
        };
        match chunk.records {
            Records::Csv(mut recs) => {
                let cols = self.columns.expect("CSV input has columns");
                for slot in recs.iter_mut() {
                    let line = slot.position().map_or(0, |p| p.line());
                    let parsed = if slot.len() != self.header_len {
                        Err(contacts_csv::RowError {
                            contact_id: cols.leading_id(slot),
                            message: format!(
                                "the row has {} fields, the header {}",
                                slot.len(),
                                self.header_len
                            ),
                        })
                    } else {
                        // Take the record out (leaving the spare in its place),
                        // check its UTF-8 once for the whole row, put it back.
                        let rec = std::mem::replace(slot, buf.spare.take().unwrap_or_default());
                        let (parsed, back) = match csv::StringRecord::from_byte_record(rec) {
                            Ok(srec) => (
                                contacts_csv::contact_into(&srec, cols, &mut buf.contact),
                                srec.into_byte_record(),
                            ),
                            Err(e) => {
                                let message = format!("not UTF-8 ({})", e.utf8_error());
                                let back = e.into_byte_record();
                                let contact_id = cols.leading_id(&back);
                                (
                                    Err(contacts_csv::RowError {
                                        contact_id,
                                        message,
                                    }),
                                    back,
                                )
                            }
                        };
                        buf.spare = Some(std::mem::replace(slot, back));
                        parsed
                    };
                    one(parsed, line, buf);
                }
                self.pools.give_records(recs);
            }
            Records::Ndjson(lines) => {
                for (line, text) in &lines {
                    let parsed = parse_json_contact(text).map(|c| buf.contact = c);
                    one(parsed, *line, buf);
                }
            }
        }
        Done {
            seq: chunk.seq,
            output: sink.finish(),
            errors,
            rows,
        }
    }

    fn decide_one(
        &self,
        contact: &pb::Contact,
        line: u64,
        sink: &mut Sink,
        stats: &mut [CampaignStats],
        d: &mut pb::EligibilityDecided,
    ) {
        let enrichment = enrich(contact, self.classifier, self.rules);
        for (c, s) in self.campaigns.iter().zip(stats.iter_mut()) {
            if !c.prepared.targets(contact, self.rules) {
                s.untargeted += 1;
                if self.targeted_only {
                    continue;
                }
            }
            decide_prepared_into(contact, &enrichment, &c.prepared, self.as_of, self.rules, d);
            d.decision_id = decision_id(
                &c.prepared,
                &contact.contact_id,
                contact.version,
                &self.as_of_text,
                &d.input_digest,
                line,
            );
            d.decided_at = Some(self.as_of.into());
            s.add(d);
            self.emit(sink, d, Some(&enrichment));
        }
    }

    fn invalid_one(
        &self,
        e: &contacts_csv::RowError,
        line: u64,
        sink: &mut Sink,
        stats: &mut [CampaignStats],
    ) {
        let detail = format!("line {line}: {}", e.message);
        for (c, s) in self.campaigns.iter().zip(stats.iter_mut()) {
            let mut d = decide_invalid_input(&e.contact_id, &c.prepared, &detail, self.rules);
            d.decision_id = decision_id(&c.prepared, &e.contact_id, 0, &self.as_of_text, "", line);
            d.decided_at = Some(self.as_of.into());
            s.invalid += 1;
            s.add(&d);
            self.emit(sink, &d, None);
        }
    }
}

/// One NDJSON line → a contact; a missing `contactId` is an error.
fn parse_json_contact(text: &[u8]) -> Result<pb::Contact, contacts_csv::RowError> {
    match pb::from_json::<pb::Contact>(text) {
        Ok(c) if c.contact_id.trim().is_empty() => Err(contacts_csv::RowError {
            contact_id: String::new(),
            message: "missing contactId".into(),
        }),
        Ok(c) => Ok(c),
        Err(e) => {
            let contact_id = serde_json::from_slice::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("contactId")?.as_str().map(str::to_owned))
                .unwrap_or_default();
            Err(contacts_csv::RowError {
                contact_id,
                message: format!("not a contract Contact: {e}"),
            })
        }
    }
}

/// A progress line on stderr for long runs, only when stderr is a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            enabled: io::stderr().is_terminal(),
            started: now,
            last: now,
            shown: false,
        }
    }

    fn tick(&mut self, rows: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        // Small files finish before the first second: no indicator at all.
        if now - self.started < Duration::from_secs(1)
            || now - self.last < Duration::from_millis(250)
        {
            return;
        }
        self.last = now;
        self.shown = true;
        let rate = rows as f64 / (now - self.started).as_secs_f64();
        eprint!("\r\x1b[K  {rows} contacts, {rate:.0}/s");
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }
}

pub fn run(args: EvaluateArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let owned_rules;
    let rules: &RuleSet = match &args.rules {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read rules file {}", p.display()))?;
            owned_rules = RuleSet::from_toml(&text).with_context(|| p.display().to_string())?;
            &owned_rules
        }
        None => RuleSet::embedded(),
    };
    let source = match &args.contacts {
        None => Source::Example,
        Some(p) if p.as_os_str() == "-" => Source::Stdin,
        Some(p) => Source::File(p.clone()),
    };
    let mut campaigns = Vec::new();
    if args.campaign.is_empty() {
        campaigns.push(load_campaign(
            EXAMPLE_CAMPAIGN.as_bytes(),
            "examples/campaigns/itsm-launch.json",
            rules,
        )?);
    }
    for p in &args.campaign {
        let text =
            std::fs::read(p).with_context(|| format!("cannot read campaign {}", p.display()))?;
        campaigns.push(load_campaign(&text, &p.display().to_string(), rules)?);
    }
    let as_of = match (args.as_of, &source) {
        (Some(t), _) => t,
        (None, Source::Example) => parse_as_of(EXAMPLE_AS_OF).map_err(anyhow::Error::msg)?,
        (None, _) => Utc::now(),
    };

    let mut input = source.open()?;
    let input_format = match args.input_format {
        InputFormat::Auto => detect_format(&source, &mut input)?,
        f => f,
    };
    let (csv_reader, ndjson_reader) = match input_format {
        InputFormat::Csv => (
            Some(
                csv::ReaderBuilder::new()
                    .delimiter(sniff_delimiter(&mut input)?)
                    .flexible(true)
                    .buffer_capacity(1 << 16)
                    .from_reader(input),
            ),
            None,
        ),
        _ => (None, Some(input)),
    };
    let mut csv_reader = csv_reader;
    let (columns, header_len) = match &mut csv_reader {
        Some(r) => {
            let header = r
                .byte_headers()
                .with_context(|| format!("{}: cannot read the CSV header", source.name()))?
                .clone();
            if header.is_empty() {
                // An empty file: nothing to decide.
                (None, 0)
            } else {
                let cols = Columns::from_header(&header)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", source.name()))?;
                (Some(cols), header.len())
            }
        }
        None => (None, 0),
    };

    if columns.is_none() {
        csv_reader = None;
    }
    let shared = Shared {
        rules,
        classifier: Classifier::embedded(),
        campaigns: &campaigns,
        columns: columns.as_ref(),
        header_len,
        as_of,
        as_of_text: as_of.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        format: args.format,
        targeted_only: args.targeted_only,
        source_name: source.name(),
        json: super::json::DecisionJson::new(rules, Some(as_of.into())),
        pools: Pools::default(),
    };
    let workers = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match args.format {
        Format::Csv => writeln!(out, "{}", CSV_OUTPUT_HEADER.join(","))?,
        Format::Table => out.write_all(table_header(campaigns.len() > 1).as_bytes())?,
        Format::Ndjson => {}
    }

    let (rows, stats) = std::thread::scope(|s| -> anyhow::Result<(u64, Vec<CampaignStats>)> {
        let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(workers * 2);
        let (done_tx, done_rx) = sync_channel::<Done>(workers * 2);
        let pools = &shared.pools;
        let reader = s.spawn(move || match (csv_reader, ndjson_reader) {
            (Some(r), _) => read_csv(r, chunk_tx, pools),
            (None, Some(r)) => read_ndjson(r, chunk_tx),
            (None, None) => Ok(()),
        });
        // Only the workers hold the receiver: when they stop, a reader blocked
        // on a full channel gets an error and stops too.
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let mut handles = Vec::new();
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let chunk_rx = Arc::clone(&chunk_rx);
            let shared = &shared;
            handles.push(s.spawn(move || {
                let mut stats = vec![CampaignStats::default(); shared.campaigns.len()];
                let mut buf = Buffers::default();
                loop {
                    let next = chunk_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(chunk)) = next else { break };
                    if done_tx
                        .send(shared.work(chunk, &mut stats, &mut buf))
                        .is_err()
                    {
                        break;
                    }
                }
                stats
            }));
        }
        drop(done_tx);
        drop(chunk_rx);
        let written = write_in_order(done_rx, &mut out, &shared.pools);
        // Stop the producers if writing failed, then collect everything.
        let mut stats = vec![CampaignStats::default(); campaigns.len()];
        for h in handles {
            let worker_stats = h
                .join()
                .map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
            for (a, b) in stats.iter_mut().zip(worker_stats) {
                a.merge(b);
            }
        }
        let read = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
        let rows = written?;
        read?;
        Ok((rows, stats))
    })?;
    out.flush().or_else(ignore_broken_pipe)?;
    drop(out);

    let run = RunInfo {
        contacts_source: source.name(),
        as_of: shared.as_of_text.clone(),
        rule_set_version: rules.version.clone(),
        rows,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    let per_campaign: Vec<(CampaignInfo, CampaignStats)> = campaigns
        .iter()
        .map(|c| CampaignInfo::new(&c.campaign))
        .zip(stats)
        .collect();
    if args.format == Format::Table {
        let mut o = io::stdout().lock();
        writeln!(o).or_else(ignore_broken_pipe)?;
        super::summary::write_text(&mut o, &run, &per_campaign).or_else(ignore_broken_pipe)?;
    } else {
        super::summary::write_text(&mut io::stderr().lock(), &run, &per_campaign)?;
    }
    if let Some(path) = &args.report {
        let html = super::report::render(&run, &per_campaign, rules);
        std::fs::write(path, html).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("dmumatch: report written to {}", path.display());
    }
    let bad = per_campaign.iter().any(|(_, s)| s.invalid > 0);
    Ok(if bad { EXIT_BAD_ROWS } else { EXIT_OK })
}

/// Writes finished chunks in input order, error lines to stderr; returns rows read.
fn write_in_order(
    done: Receiver<Done>,
    out: &mut impl Write,
    pools: &Pools,
) -> anyhow::Result<u64> {
    let mut pending = BTreeMap::new();
    let (mut next, mut rows) = (0u64, 0u64);
    let mut progress = Progress::new();
    for d in done {
        pending.insert(d.seq, d);
        while let Some(d) = pending.remove(&next) {
            if !d.errors.is_empty() {
                progress.clear();
                let mut err = io::stderr().lock();
                for e in &d.errors {
                    writeln!(err, "dmumatch: {e}")?;
                }
            }
            if let Err(e) = out.write_all(&d.output) {
                progress.clear();
                // Closing the pipe early (| head) is not an error.
                ignore_broken_pipe(e)?;
                return Ok(rows);
            }
            rows += d.rows;
            next += 1;
            pools.give_output(d.output);
            progress.tick(rows);
        }
    }
    progress.clear();
    Ok(rows)
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}
