//! The lexicons as loaded from `data/titles/`: the hand lexicon (roles, ranks,
//! functions, flags), the word-form folds and the ESCO-derived word table, behind
//! one hash map from a normalised word (or phrase) to everything known about it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::engine::taxonomy::{Function, Seniority};

/// A lexicon file that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("{file}:{line}: {msg}")]
    Parse {
        file: &'static str,
        line: usize,
        msg: String,
    },
}

pub(crate) const NONE: u32 = u32::MAX;

/// A language, as a bit of [`LangMask`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Nl = 1,
    En = 2,
    De = 4,
    Fr = 8,
}

impl Lang {
    pub(crate) fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "nl" | "NL" | "nl-NL" | "nl-BE" | "nl_NL" | "nl_BE" => Some(Lang::Nl),
            "en" | "EN" | "en-GB" | "en-US" | "en_GB" | "en_US" => Some(Lang::En),
            "de" | "DE" | "de-DE" | "de-AT" | "de-CH" | "de_DE" => Some(Lang::De),
            "fr" | "FR" | "fr-FR" | "fr-BE" | "fr_FR" | "fr_BE" => Some(Lang::Fr),
            _ => None,
        }
    }
}

/// Set of languages; 0 = any.
pub(crate) type LangMask = u8;

fn parse_langs(s: &str) -> Option<LangMask> {
    if s == "*" {
        return Some(0);
    }
    let mut m = 0;
    for l in s.split(',') {
        m |= Lang::parse(l)? as u8;
    }
    Some(m)
}

/// How a hand-lexicon entry acts in a title (`data/titles/lexicon.tsv` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Rank,
    Trainee,
    Director,
    Manager,
    Coord,
    Head,
    Vp,
    Owner,
    Partner,
    Support,
    Body,
    Member,
    Chief,
    Senior,
    Junior,
    Step,
    Deputy,
    Dept,
    Workobj,
    School,
    Division,
    Elected,
    Noise,
    Junk,
    Prep,
    Stop,
    Employer,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "rank" => Role::Rank,
            "trainee" => Role::Trainee,
            "director" => Role::Director,
            "manager" => Role::Manager,
            "coord" => Role::Coord,
            "head" => Role::Head,
            "vp" => Role::Vp,
            "owner" => Role::Owner,
            "partner" => Role::Partner,
            "support" => Role::Support,
            "body" => Role::Body,
            "member" => Role::Member,
            "chief" => Role::Chief,
            "senior" => Role::Senior,
            "junior" => Role::Junior,
            "step" => Role::Step,
            "deputy" => Role::Deputy,
            "dept" => Role::Dept,
            "workobj" => Role::Workobj,
            "school" => Role::School,
            "division" => Role::Division,
            "elected" => Role::Elected,
            "noise" => Role::Noise,
            "junk" => Role::Junk,
            "prep" => Role::Prep,
            "stop" => Role::Stop,
            "employer" => Role::Employer,
            _ => return None,
        })
    }

    /// A noun that heads people or a unit: what an "Assistant" before it
    /// steps down from, and what a "Partner" before it is managed by.
    pub(crate) fn is_managing(self) -> bool {
        matches!(
            self,
            Role::Manager | Role::Director | Role::Head | Role::Vp | Role::Chief
        )
    }

    /// A noun that carries a rank of its own (or decides one).
    pub(crate) fn is_rank_noun(self) -> bool {
        matches!(
            self,
            Role::Rank
                | Role::Trainee
                | Role::Director
                | Role::Manager
                | Role::Coord
                | Role::Head
                | Role::Vp
                | Role::Owner
                | Role::Partner
                | Role::Support
                | Role::Body
                | Role::Member
                | Role::Chief
                | Role::Elected
        )
    }
}

pub(crate) const F_TOP: u16 = 1;
pub(crate) const F_MGMT: u16 = 2;
pub(crate) const F_CMP: u16 = 4;
pub(crate) const F_LEAD: u16 = 8;
pub(crate) const F_ACCT: u16 = 16;
pub(crate) const F_WEAK: u16 = 32;
/// The noun's function stands whatever department is named with it (IT buyer, ICT teacher).
pub(crate) const F_FIX: u16 = 64;
/// The rank is a default the conventions do not fix: ESCO evidence of the other words may change it.
pub(crate) const F_SOFT: u16 = 128;
/// The reading holds for the bare word only (rule 15 "a bare Student", rule 20 "a bare
/// administrateur"): a trainee word before another person noun qualifies it (Student
/// Advisor); a rank word with anything else named is the generic noun, staff (rule 4).
pub(crate) const F_BARE: u16 = 256;
/// A degree (rule 16): with its subject ("MSc Finance") it names neither rank nor
/// function; with a person noun ("PhD Researcher") that noun decides.
pub(crate) const F_DEG: u16 = 512;
/// A legal form (GmbH, BV, SARL): the part it stands in, after a comma, names
/// the employer ("Sales Manager, Acme BV"), rule 2.
pub(crate) const F_LEGAL: u16 = 1024;
/// With `bare`: after another person noun the word is a seniority adjective like
/// "senior" (rule 4), not its bare reading ("Comptable principal", but "Principal
/// de collège" heads the school).
pub(crate) const F_ADJ: u16 = 2048;

/// Two word indices as one key.
#[inline]
pub(crate) fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// One line of the hand lexicon.
#[derive(Debug)]
pub(crate) struct Entry {
    pub key: &'static str,
    pub langs: LangMask,
    pub role: Role,
    pub rank: Option<Seniority>,
    pub function: Option<Function>,
    pub flags: u16,
    /// Next entry with the same key (another language), or NONE.
    pub next: u32,
}

impl Entry {
    pub(crate) fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// Whether the entry names a department's function (not executive or other).
    pub(crate) fn names_function(&self) -> bool {
        self.function
            .is_some_and(|f| !matches!(f, Function::Executive | Function::Other))
    }
}

/// Rank classes of the ESCO-derived table, from the ISCO level of the
/// occupations a word occurs in: c = 11 (chief executives), m = other managers
/// and supervisors, p = professionals (major group 2), s = the rest.
pub(crate) const RANK_CLASSES: usize = 4;
/// Their names in the table.
pub(crate) const RANK_NAMES: [&str; RANK_CLASSES] = ["c", "m", "p", "s"];

/// One line of the ESCO-derived word table.
#[derive(Debug)]
pub(crate) struct Derived {
    pub key: &'static str,
    pub langs: LangMask,
    /// Number of ESCO occupations (concepts) whose labels hold the word.
    pub n: u16,
    /// The largest function weights of the word (logistic regression on ESCO
    /// labels), largest first.
    pub funcs: [(Function, f32); 4],
    pub nfuncs: u8,
    /// The largest rank-class weights (class index c/m/p/s, weight).
    pub ranks: [(u8, f32); 2],
    pub nranks: u8,
}

/// Everything known about one normalised word or phrase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word {
    pub hand: u32,
    pub derived: u32,
    /// Longest phrase (in words) of the hand lexicon that starts with this word.
    pub phrase_max: u8,
    /// The word occurs in a hand phrase (so its form is kept, and folds may reach it).
    pub in_phrase: bool,
    /// Checked at load time: no fold makes it a hand word and no hand head ends
    /// it, so the normaliser can take it as it is.
    pub plain: bool,
}

impl Word {
    /// Known to the hand lexicon, alone or inside a phrase.
    #[inline]
    pub(crate) fn hand_known(&self) -> bool {
        self.hand != NONE || self.in_phrase
    }
}

/// FxHash (the rustc hasher): short keys, no DoS concern (the keys are ours).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
        }
        self.0 = h;
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A reversed trie over the compound heads of the hand lexicon (entries flagged
/// `cmp`), to find the longest known head at the end of a word in one pass.
#[derive(Debug, Default)]
pub(crate) struct SuffixTrie {
    /// (byte, child) pairs of each node, sorted by byte.
    nodes: Vec<Vec<(u8, u32)>>,
    /// The word index whose key ends at this node, or NONE.
    terminal: Vec<u32>,
}

impl SuffixTrie {
    fn insert(&mut self, key: &[u8], word: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(Vec::new());
            self.terminal.push(NONE);
        }
        let mut n = 0usize;
        for &b in key.iter().rev() {
            n = match self.nodes[n].binary_search_by_key(&b, |&(c, _)| c) {
                Ok(i) => self.nodes[n][i].1 as usize,
                Err(i) => {
                    let id = self.nodes.len();
                    self.nodes.push(Vec::new());
                    self.terminal.push(NONE);
                    self.nodes[n].insert(i, (b, id as u32));
                    id
                }
            };
        }
        self.terminal[n] = word;
    }

    /// The longest head ending `s` that leaves at least `min_prefix` bytes before
    /// it: (start of the head, word index).
    pub(crate) fn longest_head(
        &self,
        s: &[u8],
        min_prefix: usize,
        accept: impl Fn(u32) -> bool,
    ) -> Option<(usize, u32)> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut n = 0usize;
        let mut best = None;
        for i in (0..s.len()).rev() {
            let kids = &self.nodes[n];
            match kids.binary_search_by_key(&s[i], |&(c, _)| c) {
                Ok(k) => n = kids[k].1 as usize,
                Err(_) => break,
            }
            if self.terminal[n] != NONE && i >= min_prefix && accept(self.terminal[n]) {
                best = Some((i, self.terminal[n]));
            }
        }
        best
    }
}

/// The lexicon files (each may be replaced at run time).
#[derive(Clone, Copy, Debug)]
pub struct Sources {
    pub lexicon: &'static str,
    pub morphology: &'static str,
    pub esco_words: &'static str,
    /// The sub-word model (binary; empty = none).
    pub subword: &'static [u8],
}

impl Sources {
    /// The files compiled into the binary.
    pub const EMBEDDED: Sources = Sources {
        lexicon: include_str!("../../../data/titles/lexicon.tsv"),
        morphology: include_str!("../../../data/titles/morphology.tsv"),
        esco_words: include_str!("../../../data/titles/esco_words.tsv"),
        subword: include_bytes!("../../../data/titles/subword.bin"),
    };
}

#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    pub map: FxMap<&'static [u8], u32>,
    pub words: Vec<Word>,
    pub hand: Vec<Entry>,
    pub derived: Vec<Derived>,
    pub folds: Vec<(&'static [u8], &'static [u8])>,
    /// Adjective endings, with the languages they apply to.
    pub adj: Vec<(&'static [u8], LangMask)>,
    /// Agent-noun endings: an unknown word with one is a profession (true) or
    /// a trade (false).
    pub agent: Vec<(&'static [u8], bool)>,
    /// Intercepts of the function model of the derived table.
    pub bias: [f32; 16],
    /// Intercepts of the rank-class model.
    pub rank_bias: [f32; RANK_CLASSES],
    /// What an unknown profession noun (Epidemiologe, Pharmazeut) says of the
    /// function: half the log ratio of the functions of ISCO professionals to all
    /// (the `(profession)` line of `esco_words.tsv`).
    pub profession_fn: [f32; 16],
    /// The derived records that stand for an unknown trade / profession noun.
    pub trade: u32,
    pub profession: u32,
    pub heads: SuffixTrie,
    /// The first two words (word indices) of every hand phrase: a phrase is
    /// looked up only where its start matches.
    pub phrase_starts: std::collections::HashSet<u64, BuildHasherDefault<Fx>>,
    /// The sub-word model (`subword.bin`).
    pub subword: super::subword::Subword,
    /// `version N` of each text file, as read from its first line.
    pub versions: [&'static str; 3],
}

fn file_version(text: &'static str) -> &'static str {
    let first = text.lines().next().unwrap_or("");
    match first.find("version ") {
        Some(i) => first[i + 8..].split([',', ' ', '(']).next().unwrap_or(""),
        None => "",
    }
}

impl Lexicon {
    pub(crate) fn load(src: Sources) -> Result<Lexicon, LexiconError> {
        let mut lex = Lexicon {
            versions: [
                file_version(src.lexicon),
                file_version(src.morphology),
                file_version(src.esco_words),
            ],
            ..Lexicon::default()
        };
        lex.load_hand(src.lexicon)?;
        lex.load_morphology(src.morphology)?;
        lex.load_derived(src.esco_words)?;
        lex.subword = super::subword::Subword::load(src.subword)?;
        lex.mark_plain_words();
        // Not words: what an unknown agent noun votes (rule 4 staff, rule 18
        // operations for a trade; rule 4 senior_specialist for a profession).
        lex.profession = lex.derived.len() as u32;
        lex.derived.push(Derived {
            key: "(unknown profession noun)",
            langs: 0,
            n: 3,
            funcs: [(Function::Other, 0.0); 4],
            nfuncs: 0,
            ranks: [(2, 2.0), (0, 0.0)],
            nranks: 1,
        });
        lex.trade = lex.derived.len() as u32;
        lex.derived.push(Derived {
            key: "(unknown trade noun)",
            langs: 0,
            n: 3,
            funcs: [
                (Function::Operations, 1.5),
                (Function::Other, 0.0),
                (Function::Other, 0.0),
                (Function::Other, 0.0),
            ],
            nfuncs: 1,
            ranks: [(3, 2.0), (0, 0.0)],
            nranks: 1,
        });
        Ok(lex)
    }

    /// Marks the ESCO words that no fold or compound split can change (the
    /// normaliser then skips its search for them: the hot path of ESCO-style titles).
    fn mark_plain_words(&mut self) {
        let mut plain = Vec::new();
        let mut cand = [0u8; 72];
        for (&key, &i) in &self.map {
            let w = self.words[i as usize];
            if w.hand_known() || w.derived == NONE || key.len() > 60 {
                continue;
            }
            let mut changes = self.heads.longest_head(key, 2, |_| true).is_some();
            for &(ending, rep) in &self.folds {
                if changes {
                    break;
                }
                if let Some(cl) = super::normalise::fold_into(key, ending, rep, &mut cand) {
                    let c = &cand[..cl];
                    changes = self.word(c).is_some_and(|(_, x)| x.hand_known())
                        || self.heads.longest_head(c, 2, |_| true).is_some();
                }
            }
            if !changes {
                plain.push(i);
            }
        }
        for i in plain {
            self.words[i as usize].plain = true;
        }
    }

    fn word_slot(&mut self, key: &'static str) -> usize {
        let next = self.words.len() as u32;
        let idx = *self.map.entry(key.as_bytes()).or_insert(next);
        if idx == next {
            self.words.push(Word {
                hand: NONE,
                derived: NONE,
                phrase_max: 1,
                in_phrase: false,
                plain: false,
            });
        }
        idx as usize
    }

    fn load_hand(&mut self, text: &'static str) -> Result<(), LexiconError> {
        const FILE: &str = "lexicon.tsv";
        let err = |line: usize, msg: String| LexiconError::Parse {
            file: FILE,
            line,
            msg,
        };
        for (i, line) in text.lines().enumerate() {
            let ln = i + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&'static str> = line.split('\t').collect();
            if cols.len() != 6 {
                return Err(err(ln, format!("expected 6 columns, found {}", cols.len())));
            }
            let key = cols[0];
            if key.is_empty() || key.trim() != key || key.contains("  ") {
                return Err(err(ln, format!("bad key {key:?}")));
            }
            let langs =
                parse_langs(cols[1]).ok_or_else(|| err(ln, format!("bad lang {:?}", cols[1])))?;
            let role =
                Role::parse(cols[2]).ok_or_else(|| err(ln, format!("bad role {:?}", cols[2])))?;
            let rank = match cols[3] {
                "-" => None,
                s => Some(Seniority::from_id(s).ok_or_else(|| err(ln, format!("bad rank {s:?}")))?),
            };
            let function = match cols[4] {
                "-" => None,
                s => Some(
                    Function::from_id(s).ok_or_else(|| err(ln, format!("bad function {s:?}")))?,
                ),
            };
            let mut flags = 0;
            if cols[5] != "-" {
                for f in cols[5].split(',') {
                    flags |= match f {
                        "top" => F_TOP,
                        "mgmt" => F_MGMT,
                        "cmp" => F_CMP,
                        "lead" => F_LEAD,
                        "acct" => F_ACCT,
                        "weak" => F_WEAK,
                        "fix" => F_FIX,
                        "soft" => F_SOFT,
                        "bare" => F_BARE,
                        "deg" => F_DEG,
                        "legal" => F_LEGAL,
                        "adj" => F_ADJ,
                        _ => return Err(err(ln, format!("bad flag {f:?}"))),
                    };
                }
            }
            let id = self.hand.len() as u32;
            self.hand.push(Entry {
                key,
                langs,
                role,
                rank,
                function,
                flags,
                next: NONE,
            });
            let w = self.word_slot(key);
            // Chain entries of the same key, in file order.
            if self.words[w].hand == NONE {
                self.words[w].hand = id;
            } else {
                let mut e = self.words[w].hand as usize;
                while self.hand[e].next != NONE {
                    e = self.hand[e].next as usize;
                }
                self.hand[e].next = id;
            }
            let nwords = key.split(' ').count();
            if nwords > 1 {
                if nwords > 8 {
                    return Err(err(ln, "a phrase has at most 8 words".into()));
                }
                let mut first = 0;
                for (k, part) in key.split(' ').enumerate() {
                    let f = self.word_slot(part);
                    self.words[f].in_phrase = true;
                    if k == 0 {
                        self.words[f].phrase_max = self.words[f].phrase_max.max(nwords as u8);
                        first = f;
                    } else if k == 1 {
                        self.phrase_starts.insert(pair(first as u32, f as u32));
                    }
                }
            } else if flags & F_CMP != 0 {
                self.heads.insert(key.as_bytes(), w as u32);
            }
        }
        Ok(())
    }

    fn load_morphology(&mut self, text: &'static str) -> Result<(), LexiconError> {
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |msg: &str| LexiconError::Parse {
                file: "morphology.tsv",
                line: i + 1,
                msg: msg.to_owned(),
            };
            let mut cols = line.split('\t');
            match (cols.next(), cols.next(), cols.next()) {
                (Some("fold"), Some(end), rep) if !end.is_empty() => {
                    self.folds
                        .push((end.as_bytes(), rep.unwrap_or("").as_bytes()));
                }
                (Some("agent"), Some(end), Some(class @ ("pro" | "trade"))) if !end.is_empty() => {
                    self.agent.push((end.as_bytes(), class == "pro"));
                }
                (Some("adj"), Some(end), Some(langs)) if !end.is_empty() => {
                    let m = parse_langs(langs).ok_or_else(|| err("bad languages"))?;
                    self.adj.push((end.as_bytes(), m));
                }
                _ => return Err(err("expected fold, adj or agent lines (see the header)")),
            }
        }
        Ok(())
    }

    /// Whether an unknown word looks like an agent noun: Some(true) for a
    /// profession, Some(false) for a trade (also under a German -in/-innen).
    pub(crate) fn agent_noun(&self, w: &[u8], lang: Option<Lang>) -> Option<bool> {
        if w.len() < 5 || !w.iter().all(u8::is_ascii_lowercase) || self.is_adjective(w, lang) {
            return None;
        }
        let stems = [Some(w), w.strip_suffix(b"innen"), w.strip_suffix(b"in")];
        stems
            .into_iter()
            .flatten()
            .filter(|s| s.len() >= 5)
            .find_map(|s| {
                self.agent
                    .iter()
                    .find(|(e, _)| s.ends_with(e))
                    .map(|&(_, pro)| pro)
            })
    }

    /// Whether the word has an adjective ending (for the language, if known).
    pub(crate) fn is_adjective(&self, w: &[u8], lang: Option<Lang>) -> bool {
        self.adj.iter().any(|&(end, m)| {
            w.len() > end.len() + 2
                && w.ends_with(end)
                && lang.is_none_or(|l| m == 0 || m & l as u8 != 0)
        })
    }

    fn load_derived(&mut self, text: &'static str) -> Result<(), LexiconError> {
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |msg: String| LexiconError::Parse {
                file: "esco_words.tsv",
                line: i + 1,
                msg,
            };
            let mut cols = line.split('\t');
            let (Some(key), Some(langs), Some(n), Some(ranks), funcs, rank_weights) = (
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
            ) else {
                return Err(err("expected key, langs, n, ranks, functions".into()));
            };
            let langs = parse_langs(langs).ok_or_else(|| err(format!("bad langs {langs:?}")))?;
            let n: u16 = n.parse().map_err(|_| err(format!("bad count {n:?}")))?;
            // The occupations' rank classes are documentation for readers of
            // the table; the model weights below are what is used.
            let mut it = ranks.split(',');
            for _ in 0..RANK_CLASSES {
                it.next()
                    .and_then(|x| x.parse::<u32>().ok())
                    .ok_or_else(|| err(format!("bad rank counts {ranks:?}")))?;
            }
            let class = |c: &str| RANK_NAMES.iter().position(|&n| n == c);
            // `function:weight` pairs into a per-function array.
            let read_functions = |into: &mut [f32; 16]| -> Result<(), LexiconError> {
                for fc in funcs.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
                    let (f, x) = fc
                        .split_once(':')
                        .ok_or_else(|| err(format!("bad weight {fc:?}")))?;
                    let f =
                        Function::from_id(f).ok_or_else(|| err(format!("bad function {f:?}")))?;
                    into[f as usize] = x.parse().map_err(|_| err(format!("bad weight {x:?}")))?;
                }
                Ok(())
            };
            if key == "(profession)" {
                read_functions(&mut self.profession_fn)?;
                continue;
            }
            if key == "(bias)" {
                for cw in rank_weights
                    .unwrap_or("")
                    .split(' ')
                    .filter(|s| !s.is_empty())
                {
                    let (c, x) = cw
                        .split_once(':')
                        .ok_or_else(|| err(format!("bad intercept {cw:?}")))?;
                    let c = class(c).ok_or_else(|| err(format!("bad rank class {c:?}")))?;
                    self.rank_bias[c] =
                        x.parse().map_err(|_| err(format!("bad intercept {x:?}")))?;
                }
                read_functions(&mut self.bias)?;
                continue;
            }
            let mut d = Derived {
                key,
                langs,
                n,
                funcs: [(Function::Other, 0.0); 4],
                nfuncs: 0,
                ranks: [(0, 0.0); 2],
                nranks: 0,
            };
            for cw in rank_weights
                .unwrap_or("")
                .split(' ')
                .filter(|s| !s.is_empty())
            {
                let (c, x) = cw
                    .split_once(':')
                    .ok_or_else(|| err(format!("bad rank weight {cw:?}")))?;
                let c = class(c).ok_or_else(|| err(format!("bad rank class {c:?}")))?;
                let x: f32 = x.parse().map_err(|_| err(format!("bad weight {x:?}")))?;
                if (d.nranks as usize) < d.ranks.len() {
                    d.ranks[d.nranks as usize] = (c as u8, x);
                    d.nranks += 1;
                }
            }
            for fc in funcs.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
                let (f, c) = fc
                    .split_once(':')
                    .ok_or_else(|| err(format!("bad function weight {fc:?}")))?;
                let f = Function::from_id(f).ok_or_else(|| err(format!("bad function {f:?}")))?;
                let c: f32 = c.parse().map_err(|_| err(format!("bad weight {c:?}")))?;
                if (d.nfuncs as usize) < d.funcs.len() {
                    d.funcs[d.nfuncs as usize] = (f, c);
                    d.nfuncs += 1;
                }
            }
            let id = self.derived.len() as u32;
            self.derived.push(d);
            let w = self.word_slot(key);
            self.words[w].derived = id;
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn word(&self, key: &[u8]) -> Option<(u32, Word)> {
        self.map.get(key).map(|&i| (i, self.words[i as usize]))
    }

    /// The hand entry of a word for a language: the first entry listing the
    /// language, else the first entry.
    pub(crate) fn hand_entry_idx(&self, first: u32, lang: Option<Lang>) -> u32 {
        let Some(lang) = lang else {
            return first;
        };
        let mut e = first;
        while e != NONE {
            let entry = &self.hand[e as usize];
            if entry.langs == 0 || entry.langs & lang as u8 != 0 {
                return e;
            }
            e = entry.next;
        }
        // A word of another language still counts (borrowings); where a word
        // means something else in a language, the lexicon says so with an
        // entry of its own (Dutch "intern", "werk").
        first
    }

    /// A word's hand entries, in file order (`first` = `Word::hand`).
    fn entries(&self, first: u32) -> impl Iterator<Item = &Entry> {
        std::iter::successors((first != NONE).then(|| &self.hand[first as usize]), |e| {
            (e.next != NONE).then(|| &self.hand[e.next as usize])
        })
    }

    /// Whether any entry of the word has the role.
    pub(crate) fn any_role(&self, first: u32, role: Role) -> bool {
        self.entries(first).any(|e| e.role == role)
    }

    /// Whether any entry of a word is a person noun (a rank word of some kind).
    pub(crate) fn any_rank_noun(&self, first: u32) -> bool {
        self.entries(first).any(|e| e.role.is_rank_noun())
    }

    /// Whether any entry of a word has the flag.
    pub(crate) fn any_flag(&self, first: u32, flag: u16) -> bool {
        self.entries(first).any(|e| e.flags & flag != 0)
    }

    /// The union of the languages of a word's entries (0 = any).
    pub(crate) fn hand_langs(&self, first: u32) -> LangMask {
        let mut m = 0;
        for e in self.entries(first) {
            if e.langs == 0 {
                return 0;
            }
            m |= e.langs;
        }
        m
    }
}
