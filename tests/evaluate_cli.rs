//! `dmumatch evaluate` and `dmumatch rules` as a user runs them: the built-in
//! example, bad rows, bad campaigns, the output formats, the report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dmumatch::pb;

const BIN: &str = env!("CARGO_BIN_EXE_dmumatch");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("dmumatch-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn decisions(o: &Output) -> Vec<pb::EligibilityDecided> {
    stdout(o)
        .lines()
        .map(|l| pb::from_json(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn example(path: &str) -> String {
    Path::new(ROOT).join(path).display().to_string()
}

const CAMPAIGN: &str = r#"{"campaignId": "cmp-t", "version": "1", "name": "T", "brand": "northwind",
 "purpose": "marketing.communications.email", "channel": "EMAIL", "productCategory": "software.itsm",
 "dmuProfile": {"owningFunctions": ["it"], "targetRoles": ["DECIDER"]},
 "targetCountries": ["NL"], "legitimateInterestAssessmentRef": "LIA-1"}"#;

#[test]
fn built_in_example_runs_and_is_reproducible() {
    let a = run(&["evaluate"]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let d = decisions(&a);
    assert!(d.len() >= 200, "{}", d.len());
    let ids: std::collections::HashSet<_> = d.iter().map(|x| x.decision_id.as_str()).collect();
    assert_eq!(ids.len(), d.len(), "decision ids are unique");
    for x in &d {
        assert_eq!(x.rule_set_version, "2026.11.1");
        assert!(x.input_digest.starts_with("sha256:"));
        assert!(!x.reasons.is_empty() && !x.reasons[0].citation.is_empty());
        assert_eq!(
            x.decided_at
                .and_then(|t| t.to_datetime())
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
    }
    // Every decision kind and many countries occur in the example.
    for k in 1..=4 {
        assert!(d.iter().any(|x| x.decision == k), "decision {k}");
    }
    let countries: std::collections::HashSet<_> =
        d.iter().map(|x| x.jurisdiction.as_str()).collect();
    assert!(countries.len() >= 15, "{countries:?}");
    assert!(stderr(&a).contains("by decision"));
    // Each line is exactly the canonical proto3 JSON of the decision it holds.
    for (line, x) in stdout(&a).lines().zip(&d) {
        assert_eq!(line, serde_json::to_string(x).unwrap());
    }
    let b = run(&["evaluate"]);
    assert_eq!(a.stdout, b.stdout, "same inputs, same output");
    let one = run(&["evaluate", "--threads", "1"]);
    let three = run(&["evaluate", "--threads", "3"]);
    assert_eq!(a.stdout, one.stdout, "input order whatever the threads");
    assert_eq!(a.stdout, three.stdout, "input order whatever the threads");
}

#[test]
fn example_csv_and_ndjson_agree() {
    let csv = run(&[
        "evaluate",
        "--contacts",
        &example("examples/crm-export.csv"),
    ]);
    let nd = run(&[
        "evaluate",
        "--contacts",
        &example("examples/crm-export.ndjson"),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    let csv_run = run(&[
        "evaluate",
        "--contacts",
        &example("examples/crm-export.csv"),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(csv.status.code(), Some(0));
    let (a, b) = (decisions(&csv_run), decisions(&nd));
    assert_eq!(a.len(), b.len());
    // The CSV row holds one purchase date: contacts with several differ legitimately.
    let text = std::fs::read_to_string(example("examples/crm-export.ndjson")).unwrap();
    let multi: std::collections::HashSet<String> = text
        .lines()
        .map(|l| pb::from_json::<pb::Contact>(l.as_bytes()).unwrap())
        .filter(|c| c.purchases.len() > 1)
        .map(|c| c.contact_id)
        .collect();
    let mut compared = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.contact_id, y.contact_id);
        if multi.contains(&x.contact_id) {
            continue;
        }
        compared += 1;
        assert_eq!(
            (x.decision, &x.rule_id, &x.input_digest),
            (y.decision, &y.rule_id, &y.input_digest),
            "{}",
            x.contact_id
        );
    }
    assert!(compared >= 200);
}

#[test]
fn bad_ndjson_rows_are_decided_needs_review_and_the_run_goes_on() {
    let s = Scratch::new("bad-ndjson");
    let campaign = s.file("c.json", CAMPAIGN);
    let good = r#"{"contactId": "ok-1", "email": "info@acme.nl", "country": "NL", "organisation": {"legalForm": "BV"}}"#;
    let contacts = s.file(
        "contacts.ndjson",
        &[
            good,
            r#"{"contactId": "bad-date", "email": "a@b.nl", "lastVerifiedAt": "31-12-2025"}"#,
            r#"{"contactId": "bad-enum", "email": "a@b.nl", "relationship": "FRIEND"}"#,
            r#"{"email": "nobody@b.nl", "country": "NL"}"#,
            "",
            r#"{"contactId": "broken", "email": "#,
            &good.replace("ok-1", "ok-2"),
        ]
        .join("\n"),
    );
    let o = run(&[
        "evaluate",
        "--contacts",
        contacts.to_str().unwrap(),
        "--campaign",
        campaign.to_str().unwrap(),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(o.status.code(), Some(1), "exit code 1: some rows were bad");
    let err = stderr(&o);
    for needle in [
        ":2: contact bad-date:",
        ":3: contact bad-enum:",
        ":4: missing contactId",
        ":6: ",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    let d = decisions(&o);
    assert_eq!(d.len(), 6);
    let ids: Vec<&str> = d.iter().map(|x| x.contact_id.as_str()).collect();
    // Unparseable JSON gives no contact id back.
    assert_eq!(ids, ["ok-1", "bad-date", "bad-enum", "", "", "ok-2"]);
    for x in &d[1..5] {
        assert_eq!(x.decision, pb::decision::Value::NeedsReview as i32);
        assert_eq!(x.reasons[0].code, "INPUT_INVALID");
        assert_eq!(x.rule_id, "I0");
        assert!(
            x.reasons[0].message.contains("line "),
            "{}",
            x.reasons[0].message
        );
    }
    assert_eq!(d[0].rule_id, "NL2");
    assert_eq!(d[5].rule_id, "NL2");
}

#[test]
fn bad_csv_rows_are_decided_needs_review_and_the_run_goes_on() {
    let s = Scratch::new("bad-csv");
    let campaign = s.file("c.json", CAMPAIGN);
    let contacts = s.file(
        "contacts.csv",
        "contact_id,email,country,legal_form,last_verified_at,relationship\n\
         ok-1,info@acme.be,BE,NV,2026-10-01,PROSPECT\n\
         bad-date,info@acme.be,BE,NV,2026-13-45,PROSPECT\n\
         bad-enum,info@acme.be,BE,NV,2026-10-01,friend\n\
         ,info@acme.be,BE,NV,2026-10-01,PROSPECT\n\
         short,info@acme.be\n\
         ok-2,info@acme.be,BE,NV,,customer\n",
    );
    let o = run(&[
        "evaluate",
        "--contacts",
        contacts.to_str().unwrap(),
        "--campaign",
        campaign.to_str().unwrap(),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for needle in [
        ":3: contact bad-date: column last_verified_at",
        ":4: contact bad-enum: column relationship",
        ":5: missing contact_id",
        ":6: contact short: the row has 2 fields",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    let d = decisions(&o);
    assert_eq!(d.len(), 6);
    // A short row still names its contact: contact_id is the first column.
    let ids: Vec<&str> = d.iter().map(|x| x.contact_id.as_str()).collect();
    assert_eq!(ids, ["ok-1", "bad-date", "bad-enum", "", "short", "ok-2"]);
    assert_eq!(d[0].rule_id, "BE1");
    assert_eq!(d[5].rule_id, "BE1");
    assert!(d[1..5].iter().all(|x| x.reasons[0].code == "INPUT_INVALID"));
}

#[test]
fn a_short_row_names_no_contact_when_the_id_is_not_the_first_column() {
    let s = Scratch::new("short-id-later");
    let campaign = s.file("c.json", CAMPAIGN);
    // The stray comma could have shifted anything after it, the id included.
    let contacts = s.file(
        "contacts.csv",
        "email,contact_id,country
info@acme.be,ok-1,BE
in,fo@acme.be,c-2,BE
",
    );
    let o = run(&[
        "evaluate",
        "--contacts",
        contacts.to_str().unwrap(),
        "--campaign",
        campaign.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(":3: the row has 4 fields"),
        "{}",
        stderr(&o)
    );
    let ids: Vec<String> = decisions(&o).into_iter().map(|x| x.contact_id).collect();
    assert_eq!(ids, ["ok-1", ""]);
}

#[test]
fn a_target_role_that_is_no_role_is_ignored_with_a_warning() {
    let s = Scratch::new("none-role");
    let campaign = s.file(
        "c.json",
        &CAMPAIGN.replace(r#"["DECIDER"]"#, r#"["DECIDER", "NONE", "UNKNOWN"]"#),
    );
    let o = run(&[
        "evaluate",
        "--campaign",
        campaign.to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for role in ["NONE", "UNKNOWN"] {
        let warning = format!("targetRoles has {role}, which no campaign can target; ignored");
        assert!(stderr(&o).contains(&warning), "{}", stderr(&o));
    }
    let d = decisions(&o);
    let no_role = d
        .iter()
        .filter(|x| x.dmu_role == pb::dmu_role::Value::None as i32)
        .count();
    assert!(no_role > 0, "the example has contacts with no role");
    // Targeting NONE would make legitimate interest hold for them (R1).
    for x in &d {
        let relevant = x.dmu_role == pb::dmu_role::Value::Decider as i32;
        assert_eq!(x.role_relevant, relevant, "{}", x.contact_id);
    }
}

#[test]
fn a_bad_campaign_stops_the_run() {
    let s = Scratch::new("bad-campaign");
    for (name, text, needle) in [
        ("json.json", "{\"campaignId\": ", "not a contract Campaign"),
        (
            "noid.json",
            r#"{"name": "x", "channel": "EMAIL"}"#,
            "campaignId is missing",
        ),
        (
            "fn.json",
            r#"{"campaignId": "c", "dmuProfile": {"owningFunctions": ["IT"]}}"#,
            "unknown function \"IT\"",
        ),
        (
            "role.json",
            r#"{"campaignId": "c", "dmuProfile": {"targetRoles": ["BOSS"]}}"#,
            "not a contract Campaign",
        ),
    ] {
        let c = s.file(name, text);
        let o = run(&["evaluate", "--campaign", c.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(o.stdout.is_empty(), "{name}: nothing decided");
        assert!(stderr(&o).contains(needle), "{name}: {}", stderr(&o));
    }
    let o = run(&["evaluate", "--campaign", "/nonexistent/campaign.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read campaign"));
}

#[test]
fn csv_and_table_formats() {
    let o = run(&["evaluate", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header[..4],
        ["decision_id", "contact_id", "campaign_id", "decision"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert!(rows.len() >= 200);
    assert!(rows.iter().all(|x| x.len() == header.len()));

    let o = run(&["evaluate", "--format", "table"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("CONTACT") && first.contains("DECISION") && first.contains("REASON"));
    assert!(
        out.contains("by decision:") && out.contains("by country:") && out.contains("by reason")
    );
}

#[test]
fn report_is_written_and_self_contained() {
    let s = Scratch::new("report");
    let report = s.0.join("audience.html");
    let o = run(&["evaluate", "--report", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("<svg")
            && html.contains("2026.11.1")
            && html.contains("2026-12-01T00:00:00Z")
    );
    assert!(html.contains("Top reasons that block contacts"));
    assert!(
        html.contains("Telecommunicatiewet art. 11.7(1)"),
        "NL2's citation"
    );
    assert!(
        !html.contains("http") && !html.contains("<script"),
        "no external assets, no JS"
    );
}

#[test]
fn targeted_only_and_untargeted_counts() {
    let s = Scratch::new("targeting");
    let campaign = s.file("c.json", CAMPAIGN); // targets NL only
    let all = run(&["evaluate", "--campaign", campaign.to_str().unwrap()]);
    let only = run(&[
        "evaluate",
        "--campaign",
        campaign.to_str().unwrap(),
        "--targeted-only",
    ]);
    let (a, b) = (decisions(&all), decisions(&only));
    assert!(b.len() < a.len() && !b.is_empty());
    assert!(b.iter().all(|x| x.jurisdiction == "NL"));
    let untargeted = a.len() - b.len();
    assert!(
        stderr(&only).contains(&format!("{untargeted} not targeted")),
        "{}",
        stderr(&only)
    );
}

#[test]
fn several_campaigns_and_stdin() {
    let mut child = Command::new(BIN)
        .args([
            "evaluate",
            "--contacts",
            "-",
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--campaign",
            &example("examples/campaigns/itsm-launch.json"),
            "--campaign",
            &example("examples/campaigns/facility-services.json"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"contact_id,email,country,legal_form\nc1,info@acme.nl,NL,BV\nc2,info@acme.be,BE,NV\n",
        )
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = decisions(&o);
    let pairs: Vec<(&str, &str)> = d
        .iter()
        .map(|x| (x.contact_id.as_str(), x.campaign_id.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("c1", "cmp-itsm-2027q1"),
            ("c1", "cmp-cleanco-benelux"),
            ("c2", "cmp-itsm-2027q1"),
            ("c2", "cmp-cleanco-benelux")
        ]
    );
}

#[test]
fn rules_file_replaces_the_built_in_one() {
    let s = Scratch::new("rules");
    let text = std::fs::read_to_string(example("data/rules.toml"))
        .unwrap()
        .replace("version = \"2026.11.1\"", "version = \"2026.12.0-test\"")
        // Counsel decides NL personal addresses need review rather than consent.
        .replacen(
            "decision = \"NEEDS_CONSENT\"\nreason = \"NL_PERSONAL",
            "decision = \"NEEDS_REVIEW\"\nreason = \"NL_PERSONAL",
            1,
        );
    let rules = s.file("rules.toml", &text);
    let o = run(&["evaluate", "--rules", rules.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = decisions(&o);
    assert!(d.iter().all(|x| x.rule_set_version == "2026.12.0-test"));
    let nl2: Vec<_> = d.iter().filter(|x| x.rule_id == "NL2").collect();
    assert!(
        !nl2.is_empty()
            && nl2
                .iter()
                .all(|x| x.decision == pb::decision::Value::NeedsReview as i32)
    );

    let broken = s.file(
        "broken.toml",
        &text.replace("role = \"DECIDER\"", "role = \"CHIEF\""),
    );
    let o = run(&["evaluate", "--rules", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("CHIEF"), "{}", stderr(&o));
}

#[test]
fn rules_command_prints_the_table() {
    for format in ["text", "markdown"] {
        let o = run(&["rules", "--format", format]);
        assert_eq!(o.status.code(), Some(0));
        let out = stdout(&o);
        for needle in [
            "NL1",
            "NL2",
            "US1",
            "SE2",
            "R1",
            "G10",
            "D12",
            "Telecommunicatiewet art. 11.7(1)",
            "PECR reg. 22(2)",
        ] {
            assert!(out.contains(needle), "{format}: {needle}");
        }
    }
    let o = run(&["rules", "--format", "toml"]);
    assert_eq!(
        stdout(&o),
        std::fs::read_to_string(example("data/rules.toml")).unwrap()
    );
}

#[test]
fn empty_strings_and_nulls_are_not_set() {
    let s = Scratch::new("empty-strings");
    let campaign = s.file("c.json", CAMPAIGN);
    // A withdrawal of "" has not happened: the consent stands (G4), and a
    // lastVerifiedAt of "" or null is simply unknown. The file starts with a
    // byte order mark, as Windows editors write it.
    let contacts = s.file(
        "contacts.ndjson",
        concat!("\u{feff}", r#"{"contactId": "c1", "email": "jan@acme.nl", "country": "NL", "organisation": {"legalForm": "BV", "entityType": ""}, "lastVerifiedAt": "", "consents": [{"brand": "northwind", "purpose": "marketing.communications.email", "channel": "EMAIL", "capturedAt": "2026-05-01T00:00:00Z", "textVersion": "v3", "captureSource": "webform:/x", "withdrawnAt": ""}]}
{"contactId": "c2", "email": "jan@acme.nl", "country": "NL", "lastVerifiedAt": null, "relationship": "", "source": {"kind": "BUSINESS_CARD", "art14NoticeSentAt": null}}"#),
    );
    let o = run(&[
        "evaluate",
        "--contacts",
        contacts.to_str().unwrap(),
        "--campaign",
        campaign.to_str().unwrap(),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = decisions(&o);
    assert_eq!(d[0].rule_id, "G4");
    assert_eq!(d[1].rule_id, "NL2");
}

#[test]
fn semicolon_separated_spreadsheet_exports() {
    let s = Scratch::new("semicolon");
    let contacts = s.file(
        "export.csv",
        "\u{feff}Contact ID;E-mail;Country;Legal form;Last verified at\n\
         c1;info@acme.be;BE;NV;2026-10-01\n\
         c2;\"jan;smit\"@acme.be;BE;NV;2026-10-01\n",
    );
    let o = run(&[
        "evaluate",
        "--contacts",
        contacts.to_str().unwrap(),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = decisions(&o);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].rule_id, "BE1");
    assert_eq!(d[1].rule_id, "BE2");
}
