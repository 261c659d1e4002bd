//! `dmumatch rules`: the rule table with its citations, as counsel would read
//! it — in evaluation order, each rule with its condition, decision, reason
//! code, message and citation; then the country table, obligations, the DMU
//! table and the lists. `--format toml` prints the rules file itself, the
//! starting point for a `--rules` file of one's own.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::engine::RuleSet;
use crate::engine::rules::{Country, CountryRow, Outcome, RuleDoc};
use crate::pb;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    /// The rules file itself.
    Toml,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print this rules file instead of the built-in one (it is validated first).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

/// Returns the process exit code.
pub fn run(args: RulesArgs) -> anyhow::Result<i32> {
    let (text, rules) = match &args.rules {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read rules file {}", p.display()))?;
            let rules = RuleSet::from_toml(&text).with_context(|| p.display().to_string())?;
            (text, rules)
        }
        None => (
            RuleSet::embedded_text().to_owned(),
            RuleSet::from_toml(RuleSet::embedded_text())?,
        ),
    };
    let out = match args.format {
        Format::Toml => text,
        Format::Text => render(&rules, false),
        Format::Markdown => render(&rules, true),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(0)
}

const STEPS: [&str; 8] = [
    "Input",
    "Hard stops",
    "Consent",
    "Jurisdiction",
    "Data quality",
    "Soft opt-in (ePrivacy Directive art. 13(2))",
    "The country's rule for everyone else",
    "The legitimate-interest overlay (on every ELIGIBLE of steps 6 and 7)",
];

fn verdict(o: &Outcome) -> String {
    if o.decision == pb::decision::Value::Eligible {
        format!(
            "ELIGIBLE ({} / {})",
            o.ground.as_str_name(),
            o.basis.as_str_name()
        )
    } else {
        o.decision.as_str_name().to_owned()
    }
}

fn row_condition(r: &CountryRow) -> String {
    let mut parts = vec![
        format!("entity {}", r.entity.join(" or ")),
        format!("address {}", r.address.join(" or ")),
    ];
    match r.published_marketing_address {
        Some(true) => {
            parts.push("address listed in organisation.publishedMarketingAddresses".into())
        }
        Some(false) => parts.push("address not listed in publishedMarketingAddresses".into()),
        None => {}
    }
    match r.informed_at_collection {
        Some(true) => parts.push("informed at collection".into()),
        Some(false) => parts.push("not informed at collection".into()),
        None => {}
    }
    parts.join("; ")
}

fn soft_opt_in_condition(c: &Country, rules: &RuleSet) -> String {
    let s = &c.soft_opt_in;
    if !s.allowed {
        return "no soft opt-in: customers go on to step 7".into();
    }
    let mut parts = Vec::new();
    if let Some(m) = s.purchase_within_months {
        parts.push(format!(
            "the purchase is within {m} months of asOf, else step 7"
        ));
    }
    if s.address_supplied_by_contact {
        parts.push("the address was supplied by the contact in the sale, else step 7".into());
    }
    if let (Some(list), Some(o)) = (&s.exclusion_list, s.on_list) {
        let o = rules.outcome(o);
        parts.push(format!(
            "not on {list}; on it → {} (rule {}, reason {})",
            verdict(o),
            o.rule_id,
            o.reason.code
        ));
    }
    if parts.is_empty() {
        "allowed, no extra condition".into()
    } else {
        format!("allowed if {}", parts.join("; "))
    }
}

struct Doc {
    md: bool,
    out: String,
}

impl Doc {
    fn h(&mut self, level: usize, text: &str) {
        if self.md {
            let _ = writeln!(self.out, "\n{} {text}\n", "#".repeat(level));
        } else if level <= 2 {
            let _ = writeln!(self.out, "\n{}", text.to_uppercase());
            let _ = writeln!(self.out, "{}", "=".repeat(text.chars().count()));
        } else {
            let _ = writeln!(self.out, "\n{text}");
            let _ = writeln!(self.out, "{}", "-".repeat(text.chars().count()));
        }
    }

    fn p(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// One rule or row: id, title, condition, verdict, reason, citation.
    fn rule(&mut self, id: &str, title: &str, when: &str, o: Option<&Outcome>) {
        if self.md {
            if title.is_empty() {
                let _ = write!(self.out, "- **{id}** *When* {when}");
            } else {
                let _ = write!(self.out, "- **{id}** {title}. *When* {when}");
            }
            if let Some(o) = o {
                let _ = write!(
                    self.out,
                    " → **{}**, reason `{}`: {} *({})*",
                    verdict(o),
                    o.reason.code,
                    o.reason.message,
                    o.reason.citation
                );
            }
            self.out.push('\n');
        } else {
            if title.is_empty() {
                let _ = writeln!(self.out, "  {id:<12} when:     {when}");
            } else {
                let _ = writeln!(self.out, "  {id:<12} {title}");
                let _ = writeln!(self.out, "  {:<12} when:     {when}", "");
            }
            if let Some(o) = o {
                let _ = writeln!(self.out, "  {:<12} decides:  {}", "", verdict(o));
                let _ = writeln!(
                    self.out,
                    "  {:<12} reason:   {} — {}",
                    "", o.reason.code, o.reason.message
                );
                let _ = writeln!(self.out, "  {:<12} citation: {}", "", o.reason.citation);
            }
        }
    }

    fn general(&mut self, r: &RuleDoc, rules: &RuleSet) {
        if r.obligation_only {
            let o = rules.outcome(r.cases[0].2);
            let when = format!(
                "{} (keeps ELIGIBLE, adds {})",
                r.when,
                rules.obligations_art14.join(", ")
            );
            if self.md {
                let _ = writeln!(
                    self.out,
                    "- **{}** {}. *When* {when}, reason `{}`: {} *({})*",
                    r.id, r.title, o.reason.code, o.reason.message, o.reason.citation
                );
            } else {
                self.rule(&r.id, &r.title, &when, None);
                let _ = writeln!(
                    self.out,
                    "  {:<12} reason:   {} — {}",
                    "", o.reason.code, o.reason.message
                );
                let _ = writeln!(self.out, "  {:<12} citation: {}", "", o.reason.citation);
            }
            return;
        }
        if r.cases.len() == 1 && r.cases[0].0.is_empty() {
            self.rule(&r.id, &r.title, &r.when, Some(rules.outcome(r.cases[0].2)));
        } else {
            for (_, when, o) in &r.cases {
                self.rule(
                    &r.id,
                    &r.title,
                    &format!("{}, and {when}", r.when),
                    Some(rules.outcome(*o)),
                );
            }
        }
    }
}

pub fn render(rules: &RuleSet, md: bool) -> String {
    let mut d = Doc {
        md,
        out: String::new(),
    };
    if md {
        let _ = writeln!(d.out, "# dmumatch rule set {}", rules.version);
    } else {
        let _ = writeln!(d.out, "dmumatch rule set {}", rules.version);
    }
    d.p("");
    d.p(&format!("Implements {}.", rules.spec));
    d.p("Two gates must both be open before a B2B marketing email may be sent: the channel gate (ePrivacy Directive 2002/58/EC art. 13 as each country implemented it; `channelGround`) and the data-protection gate (one GDPR art. 6(1) basis; `gdprBasis`). The rules below are tried in order; the first that matches decides. Every decision names its rule (`ruleId`) and carries the reason, message and citation shown here. This is research from public sources, not legal advice; rows marked ⚠ in the rules file await counsel.");
    d.p(&format!(
        "\nThresholds (calendar months): data stale after {} months (G9); Art. 14 notice due within {} month(s) (G7/G8). Applicable law: the recipient's country (contact, else organisation); aliases: {}.",
        rules.thresholds.data_stale_months,
        rules.thresholds.art14_notice_months,
        rules
            .aliases
            .iter()
            .map(|(a, b)| format!("{a} = {b}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    for (i, step) in STEPS.iter().enumerate() {
        let n = i as u8 + 1;
        d.h(2, &format!("Step {n}: {step}"));
        for r in rules.rules.iter().filter(|r| r.step == n) {
            d.general(r, rules);
        }
        if n == 6 {
            d.p("");
            if md {
                d.p("| country | soft-opt-in condition | citation |\n|---|---|---|");
            }
            for c in &rules.countries {
                let cond = soft_opt_in_condition(c, rules);
                let cit = if c.soft_opt_in.allowed {
                    rules.outcome(c.soft_opt_in.outcome).reason.citation.clone()
                } else {
                    String::new()
                };
                if md {
                    d.p(&format!("| {} | {cond} | {cit} |", c.code));
                } else {
                    d.p(&format!("  {:<4} {cond}", c.code));
                    if !cit.is_empty() {
                        d.p(&format!("       citation: {cit}"));
                    }
                }
            }
        }
        if n == 7 {
            d.p(&format!(
                "\nP1/P2 apply in: {}. Then the country's rows, in order (L = LEGAL_PERSON or PUBLIC_BODY):",
                rules
                    .countries
                    .iter()
                    .filter(|c| c.p_rules)
                    .map(|c| c.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            for c in &rules.countries {
                d.h(3, &format!("{} — {} ({})", c.code, c.name, c.law));
                for r in &c.rows {
                    d.rule(&r.id, "", &row_condition(r), Some(rules.outcome(r.outcome)));
                }
                if !c.obligations.is_empty() {
                    d.p(&format!(
                        "  extra obligations on ELIGIBLE: {}",
                        c.obligations.join(", ")
                    ));
                }
                if let Some(doi) = c.consent_double_opt_in {
                    d.p(&format!(
                        "  consent (G4) also needs doubleOptInAt, else rule {}",
                        rules.outcome(doi).rule_id
                    ));
                }
            }
        }
    }

    d.h(2, "Obligations on every ELIGIBLE");
    let list = |v: &[String]| v.join(", ");
    d.p(&format!("- always: {}", list(&rules.obligations_always)));
    d.p(&format!(
        "- when gdprBasis = LEGITIMATE_INTEREST: {}",
        list(&rules.obligations_legitimate_interest)
    ));
    d.p(&format!(
        "- when G8 applies: {}",
        list(&rules.obligations_art14)
    ));
    for c in rules.countries.iter().filter(|c| !c.obligations.is_empty()) {
        d.p(&format!("- {}: {}", c.code, list(&c.obligations)));
    }
    for (o, text) in &rules.obligation_text {
        d.p(&format!("  {o}: {text}"));
    }

    d.h(2, "DMU role (first match wins)");
    d.p("Functions prefixed @ come from the campaign's dmuProfile (budget defaults to finance).");
    if md {
        d.p("| # | seniority | function | employees | role |\n|---|---|---|---|---|");
    }
    for r in &rules.dmu {
        let any = |v: &[String]| {
            if v.is_empty() {
                "any".to_owned()
            } else {
                v.join(", ")
            }
        };
        let size = r
            .employee_count_below
            .map_or("any".to_owned(), |n| format!("known and < {n}"));
        if md {
            d.p(&format!(
                "| {} | {} | {} | {size} | {} |",
                r.id,
                any(&r.seniority),
                any(&r.function),
                r.role.as_str_name()
            ));
        } else {
            d.p(&format!(
                "  {:<4} seniority {:<48} function {:<30} employees {:<14} → {}",
                r.id,
                any(&r.seniority),
                any(&r.function),
                size,
                r.role.as_str_name()
            ));
        }
    }

    d.h(2, "Lists");
    d.p(&format!(
        "Webmail and consumer ISP domains (PRIVATE): {}.",
        rules.webmail_doc.join(", ")
    ));
    d.p(&format!(
        "\nRole words, the local part of a GENERIC_ROLE address: {}.",
        rules.role_words_doc.join(", ")
    ));
    d.p("\nLegal forms → entity type (matched without case, dots, spaces or hyphens):");
    for (et, countries, forms) in &rules.legal_form_doc {
        let scope = if countries.is_empty() {
            String::new()
        } else {
            format!(" (in {})", countries.join(", "))
        };
        d.p(&format!("- {et}{scope}: {}", forms.join(", ")));
    }
    d.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_row_and_citation_is_printed() {
        let rules = RuleSet::embedded();
        for md in [false, true] {
            let text = render(rules, md);
            for r in &rules.rules {
                assert!(text.contains(&r.id), "{}", r.id);
            }
            for c in &rules.countries {
                for r in &c.rows {
                    assert!(text.contains(&r.id), "{}", r.id);
                }
            }
            for o in &rules.outcomes {
                assert!(text.contains(&o.reason.citation), "{}", o.reason.citation);
                assert!(text.contains(&o.reason.code), "{}", o.reason.code);
            }
            for r in &rules.dmu {
                assert!(text.contains(&r.id));
            }
            assert!(text.to_lowercase().contains("step 8"));
        }
    }
}
