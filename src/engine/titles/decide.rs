//! Normalised words → lexicon items → function and seniority, by the
//! conventions of `docs/spec/titles-taxonomy.md` §5 (rule numbers in comments).
//!
//! A title is split into parts (rule 1). In each part the words become items:
//! hand-lexicon entries (longest phrase first), ESCO-derived words, or nothing.
//! The rank comes from the rank nouns outside complements ("Assistant *to the
//! CEO*"), adjusted by modifiers; the function from the first department named,
//! else the rank noun's own function, else the derived votes. Parts combine by
//! the highest rank and the first function named; the employer tail is used
//! only as rule 2 allows.

use super::lexicon::{
    Derived, F_ACCT, F_ADJ, F_BARE, F_DEG, F_FIX, F_LEAD, F_MGMT, F_SOFT, F_TOP, F_WEAK, Lang,
    Lexicon, NONE, Role, pair,
};
use super::normalise::{MAX_TOKENS, Norm, T_EMPLOYER};
use super::subword::{self, K_FN};
use super::{Classification, Evidence, EvidenceSource as Src, EvidenceTarget as Tgt};
use crate::engine::taxonomy::{Function, Seniority};

// Thresholds on the ESCO function model, chosen on the held-out half of the
// ESCO occupations against the CRM test sets (examples/titles_lexicon.rs).
/// A word whose largest function weight reaches this names a function (rule 6).
const NAMES_FUNCTION: f32 = 1.5;
/// Model probability that overrides a generic hand reading of the function.
const OVERRIDE: f32 = 0.7;
/// … a department word (only with two or more words agreeing).
const OVERRIDE_DEPT: f32 = 0.95;
/// … that decides when the hand lexicon names no function.
const DECIDE: f32 = 0.25;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Hand(u32),
    Derived(u32),
    /// A word no table knows: only the sub-word model reads it.
    Unknown,
}

#[derive(Clone, Copy, Debug)]
struct Item {
    kind: Kind,
    /// The ESCO record of the item's word (also for a hand word), or NONE.
    dw: u32,
    part: u8,
    /// The item's tokens (a phrase spans several).
    toks: (u8, u8),
    complement: bool,
    employer: bool,
}

/// How sure a part's function is, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FnSrc {
    None,
    /// a generic top word: executive only when nothing else is named (rule 1)
    Top,
    Derived,
    Workobj,
    Noun,
    WeakDept,
    Dept,
    /// elected office, school head: the convention fixes it
    Forced,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RankSrc {
    None,
    Default,
    Derived,
    Modifier,
    Hand,
}

#[derive(Clone, Copy, Debug)]
struct PartOut {
    rank: Option<Seniority>,
    rank_src: RankSrc,
    rank_word: &'static str,
    rank_esco: bool,
    rank_share: f32,
    modifier: Option<&'static str>,
    func: Option<Function>,
    fsrc: FnSrc,
    fword: &'static str,
    fshare: f32,
    mgmt: bool,
    professional: bool,
}

impl PartOut {
    const EMPTY: PartOut = PartOut {
        rank: None,
        rank_src: RankSrc::None,
        rank_word: "",
        rank_esco: false,
        rank_share: 0.0,
        modifier: None,
        func: None,
        fsrc: FnSrc::None,
        fword: "",
        fshare: 0.0,
        mgmt: false,
        professional: false,
    };
}

/// One step down the ladder (associate, assistant before a rank noun: rule 12).
fn step_down(s: Seniority) -> Seniority {
    match s {
        Seniority::Owner => Seniority::CLevel,
        Seniority::CLevel => Seniority::VpDirector,
        Seniority::VpDirector => Seniority::HeadManager,
        Seniority::HeadManager => Seniority::SeniorSpecialist,
        Seniority::SeniorSpecialist | Seniority::Staff => Seniority::Staff,
        s => s,
    }
}

pub(crate) struct Decider<'a> {
    lex: &'a Lexicon,
    norm: &'a Norm,
    lang: Option<Lang>,
    items: [Item; MAX_TOKENS],
    n: usize,
    /// A salutation, degree or filler was seen (rule 16).
    junk: bool,
    /// Parts (bits) with a word no lexicon knows.
    unknown_parts: u16,
    /// Parts (bits) with a degree (rule 16).
    degree_parts: u16,
}

impl<'a> Decider<'a> {
    /// Classify a normalised title (the decider lives on this stack frame only).
    pub(crate) fn run(lex: &'a Lexicon, norm: &'a Norm, lang: Option<Lang>) -> Classification {
        let mut d = Decider {
            lex,
            norm,
            lang,
            items: [Item {
                kind: Kind::Hand(NONE),
                dw: NONE,
                part: 0,
                toks: (0, 0),
                complement: false,
                employer: false,
            }; MAX_TOKENS],
            n: 0,
            junk: false,
            unknown_parts: 0,
            degree_parts: 0,
        };
        d.build_items();
        d.decide()
    }

    fn push(&mut self, kind: Kind, dw: u32, part: u8, toks: (usize, usize), employer: bool) {
        if self.n < MAX_TOKENS {
            self.items[self.n] = Item {
                kind,
                dw,
                part,
                toks: (toks.0 as u8, toks.1 as u8),
                complement: false,
                employer,
            };
            self.n += 1;
        }
    }

    /// Words → items: the longest hand phrase at each word, else the hand word,
    /// else the derived word (exact, folded, or its longest known ending).
    fn build_items(&mut self) {
        let lex = self.lex;
        let norm = self.norm;
        let toks = norm.tokens();
        let mut i = 0;
        while i < toks.len() {
            let t = toks[i];
            let employer = t.flags & T_EMPLOYER != 0;
            let mut step = 1;
            let mut kind = None;
            if t.word != NONE {
                let w = lex.words[t.word as usize];
                if w.phrase_max >= 2
                    && toks.get(i + 1).is_some_and(|n| {
                        n.word != NONE && lex.phrase_starts.contains(&pair(t.word, n.word))
                    })
                {
                    let maxk = (w.phrase_max as usize).min(toks.len() - i);
                    for k in (2..=maxk).rev() {
                        let last = toks[i + k - 1];
                        if last.part != t.part || (last.flags & T_EMPLOYER != 0) != employer {
                            continue;
                        }
                        let slice = &norm.buf[t.start as usize..last.end as usize];
                        if let Some((_, pw)) = lex.word(slice)
                            && pw.hand != NONE
                        {
                            let e = lex.hand_entry_idx(pw.hand, self.lang);
                            if e != NONE {
                                kind = Some(Kind::Hand(e));
                                step = k;
                                break;
                            }
                        }
                    }
                }
                if kind.is_none() {
                    let e = if w.hand != NONE {
                        lex.hand_entry_idx(w.hand, self.lang)
                    } else {
                        NONE
                    };
                    if e != NONE {
                        kind = Some(Kind::Hand(e));
                    } else if w.derived != NONE {
                        kind = Some(Kind::Derived(w.derived));
                    }
                }
            }
            if kind.is_none() {
                kind = derived_backoff(lex, norm.text(&t), self.lang).map(Kind::Derived);
            }
            // (the agent-noun guess stays beside the sub-word model: dropping it
            // lost on the held-out occupations)
            if kind.is_none() && !employer {
                kind = match lex.agent_noun(norm.text(&t), self.lang) {
                    Some(true) => Some(Kind::Derived(lex.profession)),
                    Some(false) => Some(Kind::Derived(lex.trade)),
                    None => None,
                };
            }
            let toks_range = (i, i + step);
            i += step;
            let Some(kind) = kind else {
                if !employer && t.end - t.start >= 3 {
                    self.unknown_parts |= 1 << t.part;
                    if !lex.subword.is_empty() {
                        self.push(Kind::Unknown, NONE, t.part, toks_range, false);
                    }
                }
                continue;
            };
            if let Kind::Hand(e) = kind {
                match lex.hand[e as usize].role {
                    Role::Junk => {
                        self.junk = true;
                        if lex.hand[e as usize].flags & F_DEG != 0 {
                            self.degree_parts |= 1 << t.part;
                        }
                        continue;
                    }
                    Role::Noise | Role::Stop | Role::Employer => continue,
                    _ => {}
                }
            }
            let dw = match kind {
                Kind::Derived(d) => d,
                Kind::Hand(_) if step == 1 && t.word != NONE => lex.words[t.word as usize].derived,
                Kind::Hand(_) | Kind::Unknown => NONE,
            };
            self.push(kind, dw, t.part, toks_range, employer);
        }
        // Rule 16: a degree and its subject ("MSc Finance", "Dipl.-Ing.
        // Maschinenbau") name nobody's job; a person noun with it does.
        if self.degree_parts != 0 {
            let mut person = 0u16;
            for it in &self.items[..self.n] {
                if let Kind::Hand(e) = it.kind
                    && lex.hand[e as usize].role.is_rank_noun()
                {
                    person |= 1 << it.part;
                }
            }
            let drop = self.degree_parts & !person;
            self.unknown_parts &= !drop;
            let mut k = 0;
            for i in 0..self.n {
                if drop & (1 << self.items[i].part) == 0 {
                    self.items[k] = self.items[i];
                    k += 1;
                }
            }
            self.n = k;
        }
        // A part with no rank word qualifies a bare rank word before it
        // ("Director, Product Management", "Manager, Finance"): one part then.
        // (After a part that names a function it stays a part of its own:
        // "Officemanager / HR" is administration, rule 1.)
        // After a top-management or board title, or one that names its own
        // function, such a part that names no department we know is the
        // employer ("Bestuurder, AZ Sint-Jan", "Store Manager, Tesco Extra"):
        // it never overrides the title (rule 2).
        let mut prev: Option<(u8, bool, Option<bool>)> = None;
        let mut i = 0;
        while i < self.n {
            let part = self.items[i].part;
            let end = i + self.items[i..self.n]
                .iter()
                .take_while(|it| it.part == part)
                .count();
            let entries = self.items[i..end].iter().filter_map(|it| match it.kind {
                Kind::Hand(e) => Some(&lex.hand[e as usize]),
                Kind::Derived(_) | Kind::Unknown => None,
            });
            let (mut ranked, mut hand_names) = (false, false);
            // Some(needs_name): the part holds a title that a trailing employer
            // cannot override; a director, VP or head takes a function after a
            // comma too ("Director, Sustainability"), so for it only a part
            // holding a name (a word no table knows) is the employer.
            let mut titled: Option<bool> = None;
            for e in entries {
                let r = e.role;
                ranked |= r.is_rank_noun() || matches!(r, Role::Senior | Role::Junior | Role::Step);
                hand_names |= matches!(
                    r,
                    Role::Dept | Role::Workobj | Role::Division | Role::School
                );
                // a board or top-management title, or a person noun that
                // names its own function ("HR Business Partner", "Store Manager")
                if r.is_rank_noun() && (e.has(F_MGMT) || (!e.has(F_WEAK) && e.names_function())) {
                    let needs_name =
                        matches!(r, Role::Director | Role::Vp | Role::Head | Role::Chief);
                    titled = Some(titled.map_or(needs_name, |n| n && needs_name));
                }
            }
            let names = hand_names
                || self.items[i..end]
                    .iter()
                    .any(|it| matches!(it.kind, Kind::Derived(_)));
            match prev {
                Some((p, false, prev_titled)) if !ranked && !self.items[i].employer => {
                    let employer = !hand_names
                        && prev_titled.is_some_and(|needs_name| {
                            !needs_name
                                || self.items[i..end]
                                    .iter()
                                    .any(|it| matches!(it.kind, Kind::Unknown))
                        });
                    for it in &mut self.items[i..end] {
                        it.part = p;
                        it.employer |= employer;
                    }
                    prev = Some((p, true, prev_titled));
                }
                _ => prev = Some((part, names, titled)),
            }
            i = end;
        }
        // Complements: after the first preposition that follows a rank noun.
        let mut part = u8::MAX;
        let mut seen_rank = false;
        let mut in_comp = false;
        for it in &mut self.items[..self.n] {
            if it.part != part {
                part = it.part;
                seen_rank = false;
                in_comp = false;
            }
            match it.kind {
                Kind::Hand(e) => {
                    let role = lex.hand[e as usize].role;
                    if role == Role::Prep && seen_rank {
                        in_comp = true;
                    }
                    if role.is_rank_noun() {
                        seen_rank = true;
                    }
                }
                Kind::Derived(_) | Kind::Unknown => {}
            }
            it.complement = in_comp;
        }
    }

    fn entry(&self, it: &Item) -> Option<&'a super::lexicon::Entry> {
        match it.kind {
            Kind::Hand(e) => Some(&self.lex.hand[e as usize]),
            Kind::Derived(_) | Kind::Unknown => None,
        }
    }

    fn role(&self, it: &Item) -> Option<Role> {
        self.entry(it).map(|e| e.role)
    }

    fn decide(&self) -> Classification {
        let junk = self.junk;
        let nparts = self.norm.nparts.max(1);
        let mut outs = [PartOut::EMPTY; super::normalise::MAX_PARTS as usize];
        for (p, out) in outs.iter_mut().enumerate().take(nparts as usize) {
            *out = self.part(p as u8);
        }
        let outs = &outs[..nparts as usize];

        // Rule 1: the highest rank of the parts that carry a rank word. A part
        // with none ("Stagiair Marketing & Communicatie", "…, Benelux") is a
        // department or a list item, not a title of its own, and must not
        // outrank one that names its rank (rule 15: trainee words decide).
        let worded = |o: &PartOut| matches!(o.rank_src, RankSrc::Hand | RankSrc::Modifier);
        let any_worded = outs.iter().any(|o| o.rank.is_some() && worded(o));
        let mut rank_part = None;
        for (i, o) in outs.iter().enumerate() {
            if any_worded && !worded(o) {
                continue;
            }
            if let Some(r) = o.rank {
                let better = match rank_part {
                    None => true,
                    Some(j) => {
                        let b: &PartOut = &outs[j];
                        b.rank.is_none_or(|br| r < br)
                            || (b.rank == Some(r)
                                && b.rank_src != RankSrc::Hand
                                && o.rank_src == RankSrc::Hand)
                    }
                };
                if better {
                    rank_part = Some(i);
                }
            }
        }
        // … and the first function named.
        let named = outs.iter().position(|o| o.fsrc > FnSrc::Top);
        let mut ev = Evidence::default();
        let mut seniority = Seniority::Unknown;
        let mut rank_conf = if junk { 0.6 } else { 0.3 };
        let mut mgmt = false;
        let mut professional = false;
        if let Some(i) = rank_part {
            let o = &outs[i];
            seniority = o.rank.unwrap_or(Seniority::Unknown);
            mgmt = o.mgmt;
            professional = o.professional;
            rank_conf = match o.rank_src {
                RankSrc::Hand => 0.92,
                RankSrc::Modifier => 0.75,
                RankSrc::Derived => 0.45 + 0.4 * o.rank_share,
                RankSrc::Default => 0.5,
                RankSrc::None => 0.3,
            };
            if !o.rank_word.is_empty() {
                let src = if o.rank_word.starts_with('(') {
                    Src::Rule
                } else if o.rank_esco {
                    Src::Esco
                } else if o.rank_src == RankSrc::Default {
                    Src::Rule
                } else {
                    Src::Lexicon
                };
                ev.push(o.rank_word, src, Tgt::Seniority(seniority));
            }
            if let Some(m) = o.modifier {
                ev.push(m, Src::Lexicon, Tgt::Seniority(seniority));
            }
        }
        let mut function = Function::Other;
        let mut func_conf = 0.3;
        let fpart = named.or_else(|| outs.iter().position(|o| o.fsrc == FnSrc::Top));
        if let Some(i) = fpart {
            let o = &outs[i];
            if let Some(f) = o.func {
                function = f;
                func_conf = match o.fsrc {
                    FnSrc::Forced | FnSrc::Dept => 0.92,
                    FnSrc::WeakDept | FnSrc::Noun => 0.85,
                    FnSrc::Workobj => 0.75,
                    FnSrc::Derived => 0.35 + 0.5 * o.fshare,
                    FnSrc::Top => 0.85,
                    FnSrc::None => 0.3,
                };
                let src = if o.fword.starts_with('(') {
                    Src::Rule
                } else if o.fsrc == FnSrc::Derived {
                    Src::Esco
                } else {
                    Src::Lexicon
                };
                ev.push(o.fword, src, Tgt::Function(f));
            }
            // Parts naming different functions: the first wins, less surely.
            if outs
                .iter()
                .any(|x| x.fsrc > FnSrc::Top && x.func.is_some() && x.func != o.func)
            {
                func_conf *= 0.85;
            }
        }
        // Rule 2: a professional title that names no function takes it from
        // the employer; top management stays executive whatever the employer.
        if named.is_none()
            && !mgmt
            && professional
            && let Some((f, word, share, esco)) = self.employer_function()
        {
            function = f;
            func_conf = if esco { 0.35 + 0.4 * share } else { 0.8 };
            ev.push(
                word,
                if esco { Src::Esco } else { Src::Lexicon },
                Tgt::Function(f),
            );
        }
        if seniority == Seniority::Unknown && function == Function::Other && junk {
            ev.push(
                "no rank or function word",
                Src::Rule,
                Tgt::Seniority(Seniority::Unknown),
            );
        }
        let confidence: f32 = (rank_conf * func_conf).sqrt();
        Classification {
            function,
            seniority,
            confidence: (confidence * 100.0).round() / 100.0,
            evidence: ev,
        }
    }

    fn employer_function(&self) -> Option<(Function, &'static str, f32, bool)> {
        let its = self.items[..self.n].iter().filter(|it| it.employer);
        let mut dv = Votes::new(self.lex);
        for it in its {
            match it.kind {
                Kind::Hand(e) => {
                    let e = &self.lex.hand[e as usize];
                    if matches!(e.role, Role::Dept | Role::School)
                        && let Some(f) = e.function
                    {
                        return Some((f, e.key, 1.0, false));
                    }
                }
                Kind::Derived(d) => dv.add(&self.lex.derived[d as usize], true),
                Kind::Unknown => {}
            }
        }
        // the employer's words must point clearly to one function
        dv.best(None)
            .filter(|&(_, _, s)| s >= 0.5)
            .map(|(f, w, s)| (f, w, s, true))
    }

    /// Whether the part names a function, a division or a workobject besides
    /// the item at `except` (a director of it is a functional director).
    fn names_function(&self, items: &[Item], except: usize) -> bool {
        items.iter().enumerate().any(|(j, it)| {
            j != except
                && match it.kind {
                    Kind::Derived(d) => {
                        // only a word that clearly belongs to one function
                        let d = &self.lex.derived[d as usize];
                        d.nfuncs > 0 && d.funcs[0].1 >= NAMES_FUNCTION
                    }
                    Kind::Unknown => false,
                    Kind::Hand(e) => {
                        let e = &self.lex.hand[e as usize];
                        matches!(e.role, Role::Dept | Role::Workobj | Role::Division)
                            || (e.role == Role::Rank
                                && e.names_function()
                                && e.rank.is_some_and(|r| r >= Seniority::SeniorSpecialist))
                    }
                }
        })
    }

    /// Whether the bare-only reading of the hand word at `j` is off (rules 15,
    /// 20): a trainee word before another person noun only qualifies it
    /// ("Student Advisor"; an assistant stays a working student); a rank word
    /// with anything else named ("Administratrice des ventes") is the generic noun.
    fn not_bare(&self, items: &[Item], j: usize) -> bool {
        let Some(e) = self.entry(&items[j]).filter(|e| e.has(F_BARE)) else {
            return false;
        };
        let trainee = e.role == Role::Trainee;
        items.iter().enumerate().any(|(k, o)| {
            k != j
                && match o.kind {
                    Kind::Derived(_) | Kind::Unknown => !trainee,
                    Kind::Hand(h) => {
                        let r = self.lex.hand[h as usize].role;
                        if trainee {
                            !o.complement
                                && r.is_rank_noun()
                                && !matches!(r, Role::Support | Role::Trainee)
                        } else {
                            // (a school is what a bare principal heads)
                            r.is_rank_noun()
                                || matches!(r, Role::Dept | Role::Workobj | Role::Division)
                        }
                    }
                }
        })
    }

    /// Whether the hand word at `j` is, here, a seniority adjective (flag `adj`:
    /// "Comptable principal") rather than a person noun of its own.
    fn adjective(&self, items: &[Item], j: usize) -> bool {
        self.entry(&items[j]).is_some_and(|e| e.has(F_ADJ)) && self.not_bare(items, j)
    }

    /// The ESCO function model's votes of the items' words.
    fn votes<'i>(&self, items: impl IntoIterator<Item = &'i Item>) -> Votes {
        let mut v = Votes::new(self.lex);
        for it in items {
            // an unknown profession noun: the functions of professionals, and
            // a domain the sub-word model reads (Epidemiologe, Pharmazeut)
            if it.dw == self.lex.profession {
                for (l, x) in v.logit.iter_mut().zip(&self.lex.profession_fn) {
                    *l += x;
                }
                v.words += 1;
                v.domain += 1;
                continue;
            }
            if it.dw != NONE {
                v.add(
                    &self.lex.derived[it.dw as usize],
                    matches!(it.kind, Kind::Derived(_)),
                );
            }
            // a word no table knows still names a domain: its pieces tell which
            v.domain += u8::from(matches!(it.kind, Kind::Unknown));
        }
        v
    }

    /// The management body named in the part (directie, board), whose rank
    /// and standing its member takes (rule 13).
    fn body(&self, items: &[Item]) -> Option<&'a super::lexicon::Entry> {
        items
            .iter()
            .filter_map(|o| self.entry(o))
            .find(|b| b.role == Role::Body)
    }

    fn has_role(&self, items: &[Item], role: Role) -> bool {
        items.iter().any(|it| self.role(it) == Some(role))
    }

    fn part(&self, p: u8) -> PartOut {
        let all = &self.items[..self.n];
        let start = all.iter().position(|it| it.part == p && !it.employer);
        let Some(start) = start else {
            let mut out = PartOut::EMPTY;
            if self.unknown_parts & (1 << p) != 0 {
                out.rank = Some(Seniority::Staff);
                out.rank_src = RankSrc::Default;
                out.rank_word = "no rank word";
            }
            return out;
        };
        let len = all[start..]
            .iter()
            .take_while(|it| it.part == p && !it.employer)
            .count();
        let items = &all[start..start + len];
        let mut out = PartOut::EMPTY;

        let school = self.has_role(items, Role::School);
        let mut school_head = false;
        let mut support_head = None;
        let mut winner: Option<usize> = None;
        let mut best: Option<Seniority> = None;
        let mut elected = false;
        // the manager read as an account manager, a sales rep (rule 5)
        let mut account_rep = None;

        // Rule 15: a trainee word decides the rank.
        if let Some(j) = (0..items.len()).find(|&k| {
            self.role(&items[k]) == Some(Role::Trainee)
                && !items[k].complement
                && !self.not_bare(items, k)
        }) {
            best = Some(Seniority::InternTrainee);
            winner = Some(j);
        }

        // Gatekeepers: the assistant / secretary is the head noun, the boss
        // after it only its complement — except English "Assistant Manager".
        let mut step_from_assistant = None;
        if best.is_none()
            && let Some(j) = items
                .iter()
                .position(|it| self.role(it) == Some(Role::Support) && !it.complement)
        {
            let e = self.entry(&items[j]).expect("hand item");
            let premod = matches!(e.key, "assistant" | "asst")
                && items[j + 1..]
                    .iter()
                    .take_while(|it| self.role(it) != Some(Role::Prep))
                    .any(|it| {
                        self.role(it).is_some_and(Role::is_managing)
                            || (self.role(it) == Some(Role::Rank)
                                && self
                                    .entry(it)
                                    .and_then(|e| e.rank)
                                    .is_some_and(|r| r <= Seniority::SeniorSpecialist))
                    });
            if premod {
                step_from_assistant = Some(e.key);
            } else {
                support_head = Some(j);
                best = Some(Seniority::Staff);
                winner = Some(j);
            }
        }

        // The rank nouns outside complements (inside them if there are no others).
        if best.is_none() {
            let outside = items
                .iter()
                .any(|it| !it.complement && self.role(it).is_some_and(|r| r.is_rank_noun()));
            for (j, it) in items.iter().enumerate() {
                if it.complement && outside {
                    continue;
                }
                let Some(e) = self.entry(it) else { continue };
                let r = match e.role {
                    Role::Rank if self.adjective(items, j) => None,
                    Role::Rank if self.not_bare(items, j) => Some(Seniority::Staff),
                    Role::Rank => {
                        // A deputy head of a school (adjunct-directeur
                        // basisschool) heads it as well: rules 6 and 14.
                        if school && e.has(F_LEAD) {
                            school_head = true;
                        }
                        e.rank
                    }
                    // A body before another person noun only qualifies it: the
                    // board is an object ("circuit board designer") or whom the
                    // person serves ("Vorstandsreferent"); its member takes its
                    // rank (rule 13).
                    Role::Body => {
                        let qualifies = items[j + 1..].iter().any(|o| {
                            !o.complement
                                && self.role(o).is_some_and(|r| {
                                    r.is_rank_noun() && !matches!(r, Role::Body | Role::Member)
                                })
                        });
                        if qualifies { None } else { e.rank }
                    }
                    Role::Elected => {
                        elected = true;
                        e.rank
                    }
                    Role::Director => {
                        if school {
                            school_head = true;
                            Some(Seniority::CLevel)
                        } else if self.names_function(items, j)
                            // "X Director" that names its function itself
                            // ("Creative Director"): rule 6.
                            || e.names_function()
                        {
                            Some(Seniority::VpDirector)
                        } else {
                            Some(Seniority::CLevel)
                        }
                    }
                    Role::Head => {
                        if school && e.has(F_LEAD) {
                            school_head = true;
                            Some(Seniority::CLevel)
                        } else {
                            e.rank.or(Some(Seniority::HeadManager))
                        }
                    }
                    Role::Manager => {
                        // Rule 5: a manager of a work object is an individual
                        // contributor; an account manager a sales rep.
                        // Partner anywhere before it is managed ("Partner
                        // Success Manager"), but an account manager stays one
                        // ("Partner Account Manager").
                        let (mut any, mut acct, mut other_obj) = (false, false, false);
                        for (k, o) in items.iter().enumerate() {
                            match self.role(o) {
                                Some(Role::Workobj) if k != j => {
                                    any = true;
                                    if self.entry(o).is_some_and(|e| e.has(F_ACCT)) {
                                        acct = true;
                                    } else {
                                        other_obj = true;
                                    }
                                }
                                Some(Role::Partner) if k < j => any = true,
                                _ => {}
                            }
                        }
                        let acct_only = acct && !other_obj;
                        let dept = items.iter().any(|o| self.role(o) == Some(Role::Dept));
                        // "X manager" with X no department nor object we know:
                        // ISCO tells a professional role from a managing one.
                        let professional = !any
                            && !dept
                            && self.derived_rank(items).is_some_and(|(r, _, s)| {
                                r == Seniority::SeniorSpecialist && s >= 0.6
                            });
                        Some(if professional {
                            Seniority::SeniorSpecialist
                        } else if !any {
                            Seniority::HeadManager
                        } else if acct_only {
                            account_rep = Some(j);
                            Seniority::Staff
                        } else {
                            Seniority::SeniorSpecialist
                        })
                    }
                    Role::Coord => {
                        // Rule 9: a Dutch coördinator of a whole department leads
                        // it; one of something more specific coordinates
                        // (logistiek coördinator goederenvervoer).
                        let dept = items.iter().any(|o| self.role(o) == Some(Role::Dept))
                            && !items.iter().any(|o| matches!(o.kind, Kind::Derived(_)))
                            && self.unknown_parts & (1 << p) == 0;
                        Some(if dept {
                            Seniority::HeadManager
                        } else {
                            Seniority::Staff
                        })
                    }
                    Role::Vp => Some(if self.names_function(items, j) {
                        Seniority::VpDirector
                    } else {
                        Seniority::CLevel
                    }),
                    Role::Owner => {
                        let obj = j > 0 && self.role(&items[j - 1]) == Some(Role::Workobj);
                        Some(if obj {
                            Seniority::SeniorSpecialist
                        } else {
                            Seniority::Owner
                        })
                    }
                    Role::Partner => {
                        // Rule 11: "Partner Manager", "Partner Sales Manager" —
                        // partner is what is managed. Before a profession
                        // ("Partner Advocaat", "Partner Tax Advisor") it is
                        // the equity partner.
                        let before_noun = items[j + 1..]
                            .iter()
                            .filter(|o| !o.complement)
                            .filter_map(|o| self.role(o))
                            .any(|r| r.is_managing() || r == Role::Coord);
                        if before_noun { None } else { e.rank }
                    }
                    Role::Member => self.body(items).and_then(|b| b.rank),
                    Role::Chief => {
                        let officer = items[j + 1..]
                            .iter()
                            .filter_map(|o| self.entry(o))
                            .any(|o| o.key == "officer" || o.key == "officers");
                        Some(if officer {
                            Seniority::CLevel
                        } else {
                            Seniority::HeadManager
                        })
                    }
                    _ => None,
                };
                if let Some(r) = r
                    && best.is_none_or(|b| r < b)
                {
                    best = Some(r);
                    winner = Some(j);
                }
            }
        }

        // A default rank the conventions leave open (conseiller, researcher):
        // clear ESCO evidence of the other words decides.
        if let Some(j) = winner
            && self.entry(&items[j]).is_some_and(|e| e.has(F_SOFT))
            && let Some((r, _, s)) = self.derived_rank(items)
            && s >= 0.6
            && r >= Seniority::HeadManager
        {
            best = Some(r);
        }
        // Modifiers (rules 4, 12).
        if support_head.is_none() && best != Some(Seniority::InternTrainee) {
            let mut step = step_from_assistant;
            let mut senior = None;
            let mut junior = None;
            for (k, it) in items.iter().enumerate().filter(|(_, it)| !it.complement) {
                if let Some(e) = self.entry(it) {
                    match e.role {
                        Role::Step => step = Some(e.key),
                        Role::Senior => senior = Some(e.key),
                        Role::Rank if self.adjective(items, k) => senior = Some(e.key),
                        Role::Junior => junior = Some(e.key),
                        _ => {}
                    }
                }
            }
            if let Some(k) = step {
                let before = best;
                best = Some(match best {
                    Some(b) => step_down(b),
                    None => Seniority::Staff,
                });
                if before.is_some() {
                    out.modifier = Some(k);
                } else {
                    out.rank_word = k;
                    out.rank_src = RankSrc::Modifier;
                }
            }
            if let Some(k) = senior
                && best.is_none_or(|b| b >= Seniority::Staff)
                && best != Some(Seniority::InternTrainee)
            {
                if best.is_some() {
                    out.modifier = Some(k);
                } else {
                    out.rank_word = k;
                    out.rank_src = RankSrc::Modifier;
                }
                best = Some(Seniority::SeniorSpecialist);
            }
            if let Some(k) = junior
                && best.is_none_or(|b| b == Seniority::SeniorSpecialist || b == Seniority::Staff)
            {
                if best.is_some() {
                    out.modifier = Some(k);
                } else {
                    out.rank_word = k;
                    out.rank_src = RankSrc::Modifier;
                }
                best = Some(Seniority::Staff);
            }
        }
        if let Some(j) = winner {
            let e = self.entry(&items[j]).expect("hand item");
            out.rank_word = e.key;
            out.rank_src = RankSrc::Hand;
            // a member of a board is a board title (rule 2)
            let board = e.role == Role::Member && self.body(items).is_some_and(|b| b.has(F_MGMT));
            out.mgmt = (e.has(F_MGMT) || board) && !self.not_bare(items, j);
            out.professional = matches!(e.role, Role::Partner)
                || (best == Some(Seniority::SeniorSpecialist) && !e.has(F_MGMT));
        }

        // No rank word: the derived rank classes, else staff (rule 4).
        let derived_fn = self.votes(items);
        if best.is_none() {
            if let Some((r, word, share)) = self.derived_rank(items) {
                best = Some(r);
                out.rank_src = RankSrc::Derived;
                out.rank_word = word;
                out.rank_esco = true;
                out.rank_share = share;
                out.professional = r == Seniority::SeniorSpecialist;
            } else if self.unknown_parts & (1 << p) != 0
                || items.iter().any(|it| {
                    matches!(it.kind, Kind::Derived(_))
                        || matches!(
                            self.role(it),
                            Some(Role::Dept | Role::Workobj | Role::School)
                        )
                })
            {
                // An occupation word we do not know is most likely staff (rule 4).
                best = Some(Seniority::Staff);
                out.rank_src = RankSrc::Default;
                out.rank_word = "no rank word";
            }
        }
        out.rank = best;

        // Function.
        let set = |out: &mut PartOut, f: Function, src: FnSrc, word: &'static str| {
            out.func = Some(f);
            out.fsrc = src;
            out.fword = word;
        };
        let winner_e = winner.and_then(|j| self.entry(&items[j]));
        if elected {
            set(
                &mut out,
                Function::Other,
                FnSrc::Forced,
                winner_e.map_or("", |e| e.key),
            );
            return out;
        }
        if school_head {
            set(
                &mut out,
                Function::Education,
                FnSrc::Forced,
                winner_e.map_or("", |e| e.key),
            );
            return out;
        }
        if winner_e.is_some_and(|e| {
            e.role == Role::Rank
                && e.function == Some(Function::Education)
                && e.rank == Some(Seniority::CLevel)
        }) {
            let e = winner_e.expect("checked");
            set(&mut out, Function::Education, FnSrc::Forced, e.key);
            return out;
        }
        // Buyers buy, teachers teach: the noun's function stands whatever is
        // named with it (IT buyer, ICT teacher: rule 22); an account manager
        // sells (rule 5).
        if let Some(e) = winner_e.filter(|e| e.has(F_FIX) && e.function.is_some()) {
            set(&mut out, e.function.expect("checked"), FnSrc::Dept, e.key);
            return out;
        }
        // A category is managed for procurement whatever its goods (category
        // manager food, §2): a fixed work object of a manager stands too.
        if winner_e.is_some_and(|e| e.role == Role::Manager)
            && let Some(e) = items
                .iter()
                .filter(|it| !it.complement)
                .filter_map(|it| self.entry(it))
                .find(|e| e.role == Role::Workobj && e.has(F_FIX) && e.function.is_some())
        {
            set(
                &mut out,
                e.function.expect("checked"),
                FnSrc::Workobj,
                e.key,
            );
            return out;
        }
        // (a senior or key account manager sells too: "Sr. Accountmanager Zorg")
        if winner.is_some()
            && winner == account_rep
            && let Some(a) = items
                .iter()
                .filter_map(|it| self.entry(it))
                .find(|e| e.has(F_ACCT))
        {
            set(&mut out, Function::Sales, FnSrc::Dept, a.key);
            return out;
        }
        // (only words the hand lexicon does not know may decide, so the model
        // is not even evaluated without them)
        let derived_best = if derived_fn.domain > 0 {
            derived_fn.best(None)
        } else {
            None
        };
        let hand = self.hand_function(items, winner, winner_e, support_head, best, derived_best);
        // Where the hand lexicon names no function, the word model and the
        // sub-word model decide together. A department named (rule 1) yields
        // to the word model alone: the two together are surer than either,
        // and a department must keep winning against anything less than the
        // evidence its threshold was set for ("Alternante marketing digital").
        // A noun, work object or top word reading — the conventions name no
        // function for most occupation words: ISCO does — yields to both
        // models together, read on the same words as the reading; an
        // assistant's function is its own, so there only the words outside
        // the complement count (the boss named after it is ignored:
        // "Assistante de direction"). Held-out ESCO labels: function
        // 65.7 → 66.4 %; letting both override a department too gained
        // another 0.5 point but broke that CRM convention.
        let combined = match hand {
            Some((_, FnSrc::Top | FnSrc::Workobj | FnSrc::Noun, _)) if derived_fn.domain > 0 => {
                if support_head.is_some() {
                    let own = self.votes(items.iter().filter(|it| !it.complement));
                    if own.domain > 0 {
                        own.best(self.subword_function(items, true))
                    } else {
                        None
                    }
                } else {
                    derived_fn.best(self.subword_function(items, false))
                }
            }
            _ => derived_best,
        };
        let decided = match hand {
            None if derived_fn.domain > 0 => derived_fn
                .best(self.subword_function(items, false))
                .filter(|&(_, _, share)| share >= DECIDE),
            None => None,
            Some((hf, src, _)) => combined.filter(|&(f, _, share)| {
                // Strong ESCO evidence beats a generic hand reading (the
                // conventions name no function for most occupation words: ISCO does).
                let strong = share >= OVERRIDE && (f != Function::Other || share >= 0.75);
                let very = derived_fn.words >= 2 && share >= OVERRIDE_DEPT && f != Function::Other;
                match src {
                    FnSrc::Dept => very,
                    FnSrc::Forced => false,
                    _ => strong && hf != f,
                }
            }),
        };
        if let Some((f, word, share)) = decided {
            set(&mut out, f, FnSrc::Derived, word);
            out.fshare = share;
            return out;
        }
        match hand {
            Some((f, src, word)) => set(&mut out, f, src, word),
            None => {
                if let Some(e) = winner_e
                    && e.function == Some(Function::Other)
                {
                    out.func = Some(Function::Other);
                    out.fword = e.key;
                }
            }
        }
        out
    }

    /// The function the hand lexicon gives a part, by the conventions (rules
    /// 1, 5, 17-22), strongest reading first.
    fn hand_function(
        &self,
        items: &[Item],
        winner: Option<usize>,
        winner_e: Option<&'a super::lexicon::Entry>,
        support_head: Option<usize>,
        best: Option<Seniority>,
        derived_best: Option<(Function, &'static str, f32)>,
    ) -> Option<(Function, FnSrc, &'static str)> {
        // The first department named (rule 1), strong before weak.
        for weak in [false, true] {
            if let Some(e) = items
                .iter()
                .filter_map(|it| self.entry(it))
                .find(|e| e.role == Role::Dept && e.has(F_WEAK) == weak && e.function.is_some())
            {
                let src = if weak { FnSrc::WeakDept } else { FnSrc::Dept };
                return Some((e.function.expect("checked"), src, e.key));
            }
        }
        if let Some(j) = support_head {
            // The assistant's own department, not the boss's.
            let f = items
                .iter()
                .enumerate()
                .filter(|&(k, it)| k != j && !it.complement)
                .filter_map(|(_, it)| self.entry(it))
                .find(|e| {
                    e.role == Role::Rank
                        && e.rank.is_some_and(|r| r > Seniority::VpDirector)
                        && e.names_function()
                });
            return Some(match f {
                Some(e) => (e.function.expect("checked"), FnSrc::Noun, e.key),
                // a care or dental assistant is no office assistant: ESCO may say so
                None => {
                    let e = self.entry(&items[j]).expect("hand item");
                    (
                        e.function.unwrap_or(Function::Administration),
                        FnSrc::Workobj,
                        e.key,
                    )
                }
            });
        }
        // A generic occupation noun (technician, designer) yields to what the
        // other words say (KfZ-Technikerin, Glücksspieldesigner).
        let weak_noun_yields = |e: &super::lexicon::Entry| {
            e.has(F_WEAK)
                && derived_best
                    .is_some_and(|(f, _, s)| s >= 0.5 && (f != Function::Other || s >= 0.75))
        };
        if let Some(e) = winner_e
            .filter(|e| e.names_function() && e.role != Role::Partner && !weak_noun_yields(e))
        {
            return Some((e.function.expect("checked"), FnSrc::Noun, e.key));
        }
        if let Some(e) = (0..items.len())
            .filter(|&k| !self.adjective(items, k))
            .filter_map(|k| self.entry(&items[k]))
            .find(|e| {
                e.role.is_rank_noun()
                    && !matches!(e.role, Role::Partner | Role::Body | Role::Support)
                    && e.names_function()
                    && !weak_noun_yields(e)
            })
        {
            return Some((e.function.expect("checked"), FnSrc::Noun, e.key));
        }
        if let Some(e) = items
            .iter()
            .filter_map(|it| self.entry(it))
            .find(|e| matches!(e.role, Role::Workobj | Role::Division) && e.function.is_some())
        {
            return Some((e.function.expect("checked"), FnSrc::Workobj, e.key));
        }
        // "Partner Manager": the partner channel is sales.
        if let Some(j) = items
            .iter()
            .position(|it| self.role(it) == Some(Role::Partner))
            && winner != Some(j)
        {
            return Some((
                Function::Sales,
                FnSrc::Workobj,
                self.entry(&items[j]).expect("hand item").key,
            ));
        }
        // Rule 1: a generic top word (owner, founder, directeur) gives
        // executive when no department is named.
        let functional = matches!(best, Some(Seniority::VpDirector | Seniority::HeadManager))
            && winner_e.is_some_and(|e| matches!(e.role, Role::Director | Role::Vp));
        if !functional
            && let Some(e) = (0..items.len())
                .filter(|&k| !self.not_bare(items, k))
                .filter_map(|k| self.entry(&items[k]))
                .find(|e| e.role.is_rank_noun() && e.has(F_TOP))
        {
            return Some((e.function.unwrap_or(Function::Executive), FnSrc::Top, e.key));
        }
        None
    }

    /// The words of the part the sub-word model reads: content words only, as
    /// in training (`derive::content_word`).
    fn subword_words(&self, items: &[Item], own: bool, mut f: impl FnMut(&[u8])) {
        for it in items.iter().filter(|it| !(own && it.complement)) {
            for t in &self.norm.tokens()[it.toks.0 as usize..it.toks.1 as usize] {
                let w = self.norm.text(t);
                if w.len() >= 2 && super::derive::content_word(self.lex, t.word) {
                    f(w);
                }
            }
        }
    }

    /// The sub-word model's function logits over the part's words (`own`:
    /// outside the complement only).
    fn subword_function(&self, items: &[Item], own: bool) -> Option<[f32; K_FN]> {
        let sw = &self.lex.subword;
        if sw.is_empty() {
            return None;
        }
        let mut acc = subword::Acc::new();
        self.subword_words(items, own, |w| sw.add_function(w, &mut acc));
        (acc.words > 0).then(|| sw.function_logits(&acc))
    }

    /// The rank class the ESCO-derived words vote for (rule 4: a degree-level
    /// profession is senior_specialist; ISCO 11 c_level; other managers head_manager).
    fn derived_rank(&self, items: &[Item]) -> Option<(Seniority, &'static str, f32)> {
        // A logistic regression of the ISCO rank class on all the words (hand
        // words too: they were fitted together), as for the function.
        let mut logit = self.lex.rank_bias;
        let mut domain = items.iter().any(|it| matches!(it.kind, Kind::Unknown));
        let mut top_word = "";
        let mut top_w = 0f32;
        for it in items {
            if it.dw == NONE {
                continue;
            }
            let d = &self.lex.derived[it.dw as usize];
            if d.nranks == 0 {
                continue;
            }
            domain |= matches!(it.kind, Kind::Derived(_));
            for &(c, x) in &d.ranks[..d.nranks as usize] {
                logit[c as usize] += x;
            }
            if d.ranks[0].1 > top_w {
                top_w = d.ranks[0].1;
                top_word = d.key;
            }
        }
        if !domain {
            return None;
        }
        let sw = &self.lex.subword;
        if !sw.is_empty() {
            let mut acc = subword::Acc::new();
            self.subword_words(items, false, |w| sw.add_rank(w, &mut acc));
            if acc.words > 0 {
                combine(&mut logit, &sw.rank_logits(&acc));
                if top_word.is_empty() {
                    top_word = WORD_PARTS;
                }
            }
        }
        let (k, &m) = logit
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("four classes");
        let z: f32 = logit.iter().map(|&l| (l - m).exp()).sum();
        let r = match k {
            0 => Seniority::CLevel,
            1 => Seniority::HeadManager,
            2 => Seniority::SeniorSpecialist,
            _ => Seniority::Staff,
        };
        Some((r, top_word, 1.0 / z))
    }
}

/// Function votes of ESCO-derived words.
struct Votes {
    /// logits of the ESCO function model: intercepts plus the words' weights
    logit: [f32; 16],
    /// words that carried weights
    words: u8,
    /// of them, words the hand lexicon does not know (the domain: "dental" in
    /// dental assistant); generic hand words alone do not decide
    domain: u8,
    top_word: &'static str,
    top_w: f32,
    top_f: Function,
}

impl Votes {
    fn new(lex: &Lexicon) -> Votes {
        Votes {
            logit: lex.bias,
            words: 0,
            domain: 0,
            top_word: "",
            top_w: 0.0,
            top_f: Function::Other,
        }
    }

    fn add(&mut self, d: &Derived, domain: bool) {
        if d.nfuncs == 0 {
            return;
        }
        self.domain += u8::from(domain);
        for &(f, x) in &d.funcs[..d.nfuncs as usize] {
            self.logit[f as usize] += x;
        }
        self.words += 1;
        if d.funcs[0].1 > self.top_w {
            self.top_w = d.funcs[0].1;
            self.top_word = d.key;
            self.top_f = d.funcs[0].0;
        }
    }

    /// The function the words point to, the most telling word, and the model's
    /// probability of it.
    fn best(&self, subword: Option<[f32; K_FN]>) -> Option<(Function, &'static str, f32)> {
        let mut logit = self.logit;
        match subword {
            None if self.words == 0 => return None,
            None => {}
            Some(s) if self.words == 0 => logit = s,
            Some(s) => combine(&mut logit, &s),
        }
        let (k, &m) = logit
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("sixteen functions");
        let z: f32 = logit.iter().map(|&l| (l - m).exp()).sum();
        let f = Function::ALL[k];
        // the evidence names the telling word when it agrees, else the model
        let word = if subword.is_none() || (self.words > 0 && self.top_f == f) {
            self.top_word
        } else {
            WORD_PARTS
        };
        Some((f, word, 1.0 / z))
    }
}

/// The evidence word of a sub-word model decision.
const WORD_PARTS: &str = "(word parts)";

/// Adds the sub-word model's logits to the word model's: a product of the two
/// experts, each fitted alone on the same labels (weighting them otherwise
/// did no better on the held-out occupations).
fn combine<const K: usize>(logit: &mut [f32; K], subword: &[f32; K]) {
    for (l, s) in logit.iter_mut().zip(subword) {
        *l += s;
    }
}

/// A word the derived table does not hold as it is: a known fold of it, else
/// its longest known ending (an unseen compound's head: Lieddichter → dichter).
fn derived_backoff(lex: &Lexicon, w: &[u8], lang: Option<Lang>) -> Option<u32> {
    if w.len() < 7 {
        return None;
    }
    let fits = |d: &Derived| lang.is_none_or(|l| d.langs == 0 || d.langs & l as u8 != 0);
    for pos in 3..w.len().saturating_sub(3) {
        if !w.is_char_boundary_at(pos) {
            continue;
        }
        let suffix = &w[pos..];
        if let Some((_, word)) = lex.word(suffix)
            && word.derived != NONE
        {
            let d = &lex.derived[word.derived as usize];
            if fits(d) && (d.n >= 2 || suffix.len() >= 6) {
                return Some(word.derived);
            }
        }
    }
    None
}

trait CharBoundary {
    fn is_char_boundary_at(&self, i: usize) -> bool;
}

impl CharBoundary for [u8] {
    #[inline]
    fn is_char_boundary_at(&self, i: usize) -> bool {
        // not a UTF-8 continuation byte
        self.get(i).is_none_or(|&b| (b as i8) >= -0x40)
    }
}

/// The language the title is written in (rule 23: any Dutch word makes it nl).
pub(crate) fn detect_lang(lex: &Lexicon, norm: &Norm) -> Option<Lang> {
    let mut seen = if norm.marker_langs.count_ones() == 1 {
        norm.marker_langs
    } else {
        0
    };
    if norm.dutch_spelling {
        seen |= Lang::Nl as u8;
    }
    for t in norm.tokens() {
        if t.word == NONE {
            continue;
        }
        let w = lex.words[t.word as usize];
        let m = if w.hand != NONE {
            lex.hand_langs(w.hand)
        } else if w.derived != NONE {
            lex.derived[w.derived as usize].langs
        } else {
            0
        };
        if m.count_ones() == 1 {
            seen |= m;
        }
    }
    [Lang::Nl, Lang::De, Lang::Fr, Lang::En]
        .into_iter()
        .find(|&l| seen & l as u8 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_down_the_ladder() {
        assert_eq!(step_down(Seniority::Owner), Seniority::CLevel);
        assert_eq!(
            step_down(Seniority::HeadManager),
            Seniority::SeniorSpecialist
        );
        assert_eq!(step_down(Seniority::Staff), Seniority::Staff);
    }
}
