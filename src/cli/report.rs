//! `evaluate --report FILE.html`: one self-contained page (inline CSS and SVG,
//! no scripts, no external assets) for a marketing or privacy lead: the
//! audience by decision, country, deciding reason and DMU role, the reasons
//! that block contacts with their citations, and the obligations on the sends.

use std::fmt::Write as _;

use super::summary::{
    ByDecision, CampaignInfo, CampaignStats, DECISIONS, ROLES, RunInfo, decision_name, total,
};
use crate::engine::RuleSet;
use crate::pb;

fn colour(d: pb::decision::Value) -> &'static str {
    match d {
        pb::decision::Value::Eligible => "#2e7d32",
        pb::decision::Value::NeedsConsent => "#e08a00",
        pb::decision::Value::NeedsReview => "#3f6fc4",
        pb::decision::Value::Suppressed => "#b3261e",
        pb::decision::Value::Unspecified => "#888888",
    }
}

fn label(d: pb::decision::Value) -> &'static str {
    match d {
        pb::decision::Value::Eligible => "Eligible",
        pb::decision::Value::NeedsConsent => "Needs consent",
        pb::decision::Value::NeedsReview => "Needs review",
        pb::decision::Value::Suppressed => "Suppressed",
        pb::decision::Value::Unspecified => "—",
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn pct(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

const CSS: &str = r##"
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1080px; margin:0 auto; padding:28px 24px 60px; }
h1 { font-size:26px; margin:0 0 4px; }
h2 { font-size:20px; margin:40px 0 6px; padding-top:18px; border-top:2px solid var(--line); }
h3 { font-size:16px; margin:28px 0 8px; }
.meta { color:var(--muted); font-size:13.5px; }
.meta b { color:var(--ink); font-weight:600; }
.tiles { display:flex; gap:12px; flex-wrap:wrap; margin:18px 0 8px; }
.tile { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 16px; min-width:150px; flex:1; border-top:5px solid var(--c); }
.tile .n { font-size:28px; font-weight:700; }
.tile .l { color:var(--muted); font-size:13px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px 18px; margin:10px 0; }
.legend { display:flex; gap:16px; flex-wrap:wrap; font-size:13px; color:var(--muted); margin:4px 0 10px; }
.legend i { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:6px; vertical-align:-1px; }
svg text { font-family:inherit; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { text-align:left; padding:7px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12.5px; text-transform:uppercase; letter-spacing:.03em; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
code { font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:#f0f2f5; padding:1px 4px; border-radius:4px; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; white-space:nowrap; }
.cite { color:var(--muted); font-size:12.5px; }
.note { color:var(--muted); font-size:12.5px; margin-top:40px; }
"##;

/// One horizontal bar per row, stacked by decision, scaled to the largest row.
fn stacked_bars(rows: &[(String, ByDecision)]) -> String {
    const LABEL: f64 = 190.0;
    const BAR: f64 = 600.0;
    const ROW: f64 = 26.0;
    let max = rows.iter().map(|(_, c)| total(c)).max().unwrap_or(0).max(1);
    let h = ROW * rows.len() as f64 + 6.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg viewBox="0 0 {w} {h}" width="100%" role="img">"##,
        w = LABEL + BAR + 80.0
    );
    for (i, (name, c)) in rows.iter().enumerate() {
        let y = i as f64 * ROW + 3.0;
        let _ = write!(
            s,
            r##"<text x="{x}" y="{ty}" text-anchor="end" font-size="13" fill="#1d2330">{}</text>"##,
            esc(name),
            x = LABEL - 10.0,
            ty = y + 15.0
        );
        let mut x = LABEL;
        for d in DECISIONS {
            let n = c[d as usize];
            if n == 0 {
                continue;
            }
            let w = BAR * n as f64 / max as f64;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="19" rx="2" fill="{}"><title>{}: {} {} ({:.0}%)</title></rect>"##,
                colour(d),
                esc(name),
                n,
                label(d),
                pct(n, total(c))
            );
            x += w;
        }
        let _ = write!(
            s,
            r##"<text x="{tx:.1}" y="{ty}" font-size="12.5" fill="#5b6475">{}</text>"##,
            total(c),
            tx = x + 6.0,
            ty = y + 15.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The whole audience as one 100 % bar with the shares written on it.
fn decision_bar(c: &ByDecision) -> String {
    const W: f64 = 870.0;
    let sum = total(c).max(1);
    let mut s = format!(r##"<svg viewBox="0 0 {W} 46" width="100%" role="img">"##);
    let mut x = 0.0;
    for d in DECISIONS {
        let n = c[d as usize];
        if n == 0 {
            continue;
        }
        let w = W * n as f64 / sum as f64;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="0" width="{w:.1}" height="46" fill="{}"><title>{}: {} ({:.1}%)</title></rect>"##,
            colour(d),
            label(d),
            n,
            pct(n, sum)
        );
        if w > 60.0 {
            let _ = write!(
                s,
                r##"<text x="{tx:.1}" y="29" font-size="14" font-weight="600" fill="#fff">{:.0}%</text>"##,
                pct(n, sum),
                tx = x + 10.0
            );
        }
        x += w;
    }
    s.push_str("</svg>");
    s
}

/// Bars for the deciding reasons, coloured by the decision they lead to.
fn reason_bars(stats: &CampaignStats) -> String {
    const LABEL: f64 = 400.0;
    const BAR: f64 = 390.0;
    const ROW: f64 = 24.0;
    let reasons = stats.reasons_sorted();
    let max = reasons.first().map_or(1, |r| r.1.count).max(1);
    let h = ROW * reasons.len() as f64 + 6.0;
    let mut s = format!(
        r##"<svg viewBox="0 0 {w} {h}" width="100%" role="img">"##,
        w = LABEL + BAR + 80.0
    );
    for (i, (code, c)) in reasons.iter().enumerate() {
        let y = i as f64 * ROW + 3.0;
        let d =
            pb::decision::Value::try_from(c.decision).unwrap_or(pb::decision::Value::Unspecified);
        let w = (BAR * c.count as f64 / max as f64).max(1.0);
        let _ = write!(
            s,
            r##"<text x="{x}" y="{ty}" text-anchor="end" font-size="12" fill="#1d2330"><tspan font-weight="600">{}</tspan> · {}</text><rect x="{LABEL}" y="{y}" width="{w:.1}" height="17" rx="2" fill="{}"><title>{}: {} ({})</title></rect><text x="{tx:.1}" y="{ty}" font-size="12.5" fill="#5b6475">{}</text>"##,
            esc(&c.rule_id),
            esc(code),
            colour(d),
            esc(code),
            c.count,
            label(d),
            c.count,
            x = LABEL - 10.0,
            ty = y + 13.0,
            tx = LABEL + w + 6.0
        );
    }
    s.push_str("</svg>");
    s
}

fn legend() -> String {
    let mut s = String::from(r##"<div class="legend">"##);
    for d in DECISIONS {
        let _ = write!(
            s,
            r##"<span><i style="background:{}"></i>{}</span>"##,
            colour(d),
            label(d)
        );
    }
    s.push_str("</div>");
    s
}

fn pill(d: i32) -> String {
    let v = pb::decision::Value::try_from(d).unwrap_or(pb::decision::Value::Unspecified);
    format!(
        r##"<span class="pill" style="background:{}">{}</span>"##,
        colour(v),
        decision_name(d)
    )
}

fn campaign_section(
    out: &mut String,
    info: &CampaignInfo,
    s: &CampaignStats,
    rules: &RuleSet,
    multi: bool,
) {
    if multi {
        let _ = write!(
            out,
            "<h2>{} <span class=\"meta\">{}</span></h2>",
            esc(&info.name),
            esc(&info.campaign_id)
        );
    }
    let _ = write!(
        out,
        r##"<p class="meta">Campaign <b>{}</b> ({}) · brand <b>{}</b> · product <b>{}</b> · DMU roles targeted <b>{}</b> · legitimate-interest assessment <b>{}</b></p>"##,
        esc(&info.name),
        esc(&info.campaign_id),
        esc(&info.brand),
        esc(&info.product_category),
        esc(&info.target_roles.join(", ")),
        if info.lia_ref.is_empty() {
            "none on file".to_owned()
        } else {
            esc(&info.lia_ref)
        }
    );
    out.push_str(r##"<div class="tiles">"##);
    for d in DECISIONS {
        let n = s.by_decision[d as usize];
        let _ = write!(
            out,
            r##"<div class="tile" style="--c:{}"><div class="n">{}</div><div class="l">{} · {:.0}%</div></div>"##,
            colour(d),
            n,
            label(d),
            pct(n, s.total)
        );
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        r##"<p class="meta">{} decisions · {} contacts outside the campaign's targeting (decided all the same) · {} unreadable rows (decided <code>NEEDS_REVIEW</code>, reason <code>INPUT_INVALID</code>)</p>"##,
        s.total, s.untargeted, s.invalid
    );

    out.push_str("<h3>The audience by decision</h3><div class=\"card\">");
    out.push_str(&legend());
    out.push_str(&decision_bar(&s.by_decision));
    out.push_str("</div>");

    out.push_str("<h3>By country (the recipient's law applies)</h3><div class=\"card\">");
    out.push_str(&legend());
    let rows: Vec<(String, ByDecision)> = s
        .jurisdictions_sorted()
        .into_iter()
        .map(|(j, c)| {
            let name = match rules.country(j) {
                Some(k) => format!("{} · {}", k.code, k.name),
                None if j == "(unknown)" => "no country on record".to_owned(),
                None => format!("{j} · not covered"),
            };
            (name, *c)
        })
        .collect();
    out.push_str(&stacked_bars(&rows));
    out.push_str("</div>");

    out.push_str("<h3>By DMU role for this offer</h3><div class=\"card\">");
    out.push_str(&legend());
    let rows: Vec<(String, ByDecision)> = ROLES
        .iter()
        .map(|&r| (r, s.by_role[r as usize]))
        .filter(|(_, c)| total(c) > 0)
        .map(|(r, c)| {
            let targeted = if info.target_roles.iter().any(|t| t == r.as_str_name()) {
                " ✓"
            } else {
                ""
            };
            (format!("{}{targeted}", r.as_str_name()), c)
        })
        .collect();
    out.push_str(&stacked_bars(&rows));
    out.push_str(r##"<p class="meta">✓ = a role the campaign targets. A named business address outside these roles is not mailed on legitimate interest (rule R1).</p></div>"##);

    out.push_str("<h3>Why: the reason that decided each contact</h3><div class=\"card\">");
    out.push_str(&legend());
    out.push_str(&reason_bars(s));
    out.push_str("</div>");

    let blocked: u64 = s.total - s.by_decision[pb::decision::Value::Eligible as usize];
    out.push_str("<h3>Top reasons that block contacts</h3><div class=\"card\"><table><tr><th>#</th><th>Contacts</th><th>Decision</th><th>Rule · reason</th><th>What it means · citation</th></tr>");
    let mut rank = 0;
    for (code, c) in s.reasons_sorted() {
        if c.decision == pb::decision::Value::Eligible as i32 {
            continue;
        }
        rank += 1;
        if rank > 12 {
            break;
        }
        let (message, citation) = rules
            .reason(code)
            .map_or(("", ""), |r| (r.message.as_str(), r.citation.as_str()));
        let _ = write!(
            out,
            r##"<tr><td class="num">{rank}</td><td class="num">{} <span class="meta">({:.0}% of blocked)</span></td><td>{}</td><td><code>{}</code><br><code>{}</code></td><td>{}<br><span class="cite">{}</span></td></tr>"##,
            c.count,
            pct(c.count, blocked),
            pill(c.decision),
            esc(&c.rule_id),
            esc(code),
            esc(message),
            esc(citation)
        );
    }
    if rank == 0 {
        out.push_str(r##"<tr><td colspan="5">No contact is blocked.</td></tr>"##);
    }
    out.push_str("</table></div>");

    if !s.by_obligation.is_empty() {
        out.push_str("<h3>What the eligible emails must carry</h3><div class=\"card\"><table><tr><th>Obligation</th><th>Sends</th><th>What to do</th></tr>");
        for (o, n) in &s.by_obligation {
            let text = rules.obligation_text.get(o).map_or("", String::as_str);
            let _ = write!(
                out,
                r##"<tr><td><code>{}</code></td><td class="num">{}</td><td>{}</td></tr>"##,
                esc(o),
                n,
                esc(text)
            );
        }
        out.push_str("</table></div>");
    }
}

/// The report page.
pub fn render(
    run: &RunInfo,
    campaigns: &[(CampaignInfo, CampaignStats)],
    rules: &RuleSet,
) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = match campaigns {
        [(info, _)] => format!("Email audience: {}", info.name),
        _ => format!("Email audience: {} campaigns", campaigns.len()),
    };
    let _ = write!(
        out,
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t}</title><style>{CSS}</style></head><body><main><h1>{t}</h1><p class="meta">As of <b>{}</b> · rule set <b>{}</b> · {} contacts from <b>{}</b></p>"##,
        esc(&run.as_of),
        esc(&run.rule_set_version),
        run.rows,
        esc(&run.contacts_source),
        t = esc(&title)
    );
    for (info, s) in campaigns {
        campaign_section(&mut out, info, s, rules, campaigns.len() > 1);
    }
    let _ = write!(
        out,
        r##"<p class="note">Decided by dmumatch under rule set {} as of {}. Each decision names the rule that made it; <code>dmumatch rules</code> prints the full table with citations. Only <b>Eligible</b> permits a send, with the obligations above. This report summarises rules researched from public sources; it is not legal advice, and rows marked ⚠ in the rule table await counsel's confirmation.</p></main></body></html>"##,
        esc(&run.rule_set_version),
        esc(&run.as_of)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_self_contained_and_escaped() {
        let mut s = CampaignStats::default();
        s.add(&pb::EligibilityDecided {
            decision: pb::decision::Value::NeedsConsent as i32,
            jurisdiction: "NL".into(),
            rule_id: "NL2".into(),
            reasons: vec![
                RuleSet::embedded()
                    .reason("NL_PERSONAL_ADDRESS_REQUIRES_CONSENT")
                    .unwrap()
                    .clone(),
            ],
            ..Default::default()
        });
        let info = CampaignInfo {
            campaign_id: "c<1>".into(),
            name: "Launch <script>".into(),
            brand: "b".into(),
            product_category: "p".into(),
            lia_ref: String::new(),
            target_roles: vec!["DECIDER".into()],
        };
        let run = RunInfo {
            contacts_source: "x.csv".into(),
            as_of: "2026-12-01T00:00:00Z".into(),
            rule_set_version: "2026.11.1".into(),
            rows: 1,
            elapsed_s: 0.1,
        };
        let html = render(&run, &[(info, s)], RuleSet::embedded());
        assert!(html.contains("Launch &lt;script&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("http"), "no external references");
        assert!(
            !html.contains("src=") && !html.contains("href="),
            "no external assets"
        );
        assert!(html.contains("Telecommunicatiewet art. 11.7(1)"));
        assert!(html.contains("<svg"));
    }
}
