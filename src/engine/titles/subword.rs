//! The sub-word model (`data/titles/subword.bin`): two multinomial logistic
//! regressions (label → function, label → ISCO rank class) over hashed
//! character 3–5-grams of each word, fitted on the allowed half of ESCO
//! (`derive.rs`).
//!
//! Why: the word table knows only whole words it has seen. Unseen compounds and
//! inflections ("Windenergieanlagenmonteur", "kwaliteitsinspecteur",
//! "ostéopathe") still share their pieces with seen ones (`monteu`, `inspec`,
//! `<osteo`), so the n-grams carry evidence where the words carry none.
//!
//! The weights are quantised to i8 with one scale per table and read in place
//! from the embedded bytes: a title's n-grams are hashed on the fly and their
//! rows summed into fixed-size integer accumulators (no allocation).
//!
//! File layout: a text header (lines starting with `#`, then `key value …`
//! lines), a NUL byte, the function table (`buckets × 16` i8, row per bucket)
//! and the rank table (`buckets × 4` i8).

use super::lexicon::{LexiconError, RANK_CLASSES};

/// Functions (rows of the function table).
pub(crate) const K_FN: usize = 16;
/// Shortest and longest n-gram, in bytes of the normalised word with its `<` `>` markers.
pub(crate) const N_MIN: usize = 3;
pub(crate) const N_MAX: usize = 5;

/// The hashed n-grams of `word` (`<word>` with boundary markers, so a prefix
/// or ending is a feature of its own), as bucket numbers under `mask`.
#[inline]
pub(crate) fn grams(word: &[u8], mask: u32, mut f: impl FnMut(usize)) {
    let n = word.len() + 2;
    let at = |p: usize| -> u8 {
        if p == 0 {
            b'<'
        } else if p == n - 1 {
            b'>'
        } else {
            word[p - 1]
        }
    };
    for i in 0..n.saturating_sub(N_MIN - 1) {
        // FNV-1a, extended one byte at a time: the 3-, 4- and 5-gram at i.
        let mut h: u32 = 0x811c_9dc5;
        for j in i..(i + N_MAX).min(n) {
            h = (h ^ u32::from(at(j))).wrapping_mul(0x0100_0193);
            if j + 1 - i >= N_MIN {
                // mix the high bits down before masking (FNV's low bits are weak)
                f(((h ^ (h >> 15)) & mask) as usize);
            }
        }
    }
}

/// The loaded model; empty (no buckets) when the file is empty.
#[derive(Debug, Default)]
pub(crate) struct Subword {
    mask: u32,
    fscale: f32,
    rscale: f32,
    pub fbias: [f32; K_FN],
    pub rbias: [f32; RANK_CLASSES],
    func: &'static [u8],
    rank: &'static [u8],
    pub version: &'static str,
}

/// Summed quantised weights of a title's n-grams.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acc<const K: usize> {
    pub sum: [i32; K],
    /// words added
    pub words: u8,
}

impl<const K: usize> Acc<K> {
    pub(crate) fn new() -> Self {
        Acc {
            sum: [0; K],
            words: 0,
        }
    }
}

impl Subword {
    pub(crate) fn is_empty(&self) -> bool {
        self.func.is_empty()
    }

    pub(crate) fn load(bytes: &'static [u8]) -> Result<Subword, LexiconError> {
        let err = |msg: String| LexiconError::Parse {
            file: "subword.bin",
            line: 0,
            msg,
        };
        if bytes.is_empty() {
            return Ok(Subword::default());
        }
        let nul = bytes
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| err("no end of header (NUL)".into()))?;
        let header =
            std::str::from_utf8(&bytes[..nul]).map_err(|_| err("header is not UTF-8".into()))?;
        let mut m = Subword {
            version: header
                .lines()
                .next()
                .and_then(|l| l.split("version ").nth(1))
                .and_then(|v| v.split([' ', ',', '(']).next())
                .unwrap_or(""),
            ..Subword::default()
        };
        let mut buckets = 0usize;
        for line in header
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut it = line.split(' ');
            let key = it.next().unwrap_or("");
            let nums: Vec<f32> = it
                .map(|x| x.parse().map_err(|_| err(format!("bad number {x:?}"))))
                .collect::<Result<_, _>>()?;
            let one = || {
                nums.first()
                    .copied()
                    .ok_or_else(|| err(format!("{key}: no value")))
            };
            match key {
                "buckets" => buckets = one()? as usize,
                "fscale" => m.fscale = one()?,
                "rscale" => m.rscale = one()?,
                "fbias" if nums.len() == K_FN => m.fbias.copy_from_slice(&nums),
                "rbias" if nums.len() == RANK_CLASSES => m.rbias.copy_from_slice(&nums),
                _ => return Err(err(format!("bad header line {line:?}"))),
            }
        }
        if !buckets.is_power_of_two() {
            return Err(err(format!("buckets {buckets} is not a power of two")));
        }
        let body = &bytes[nul + 1..];
        if body.len() != buckets * (K_FN + RANK_CLASSES) {
            return Err(err(format!(
                "{} weight bytes, expected {}",
                body.len(),
                buckets * (K_FN + RANK_CLASSES)
            )));
        }
        m.mask = (buckets - 1) as u32;
        (m.func, m.rank) = body.split_at(buckets * K_FN);
        Ok(m)
    }

    /// Adds the function weights of `word`'s n-grams.
    #[inline]
    pub(crate) fn add_function(&self, word: &[u8], acc: &mut Acc<K_FN>) {
        self.add(self.func, word, acc);
    }

    /// Adds the rank-class weights of `word`'s n-grams.
    #[inline]
    pub(crate) fn add_rank(&self, word: &[u8], acc: &mut Acc<RANK_CLASSES>) {
        self.add(self.rank, word, acc);
    }

    /// Adds the rows of `table` (K i8 weights a bucket) of `word`'s n-grams.
    #[inline]
    fn add<const K: usize>(&self, table: &[u8], word: &[u8], acc: &mut Acc<K>) {
        if self.is_empty() {
            return;
        }
        acc.words += 1;
        grams(word, self.mask, |b| {
            let row = &table[b * K..b * K + K];
            for (s, &w) in acc.sum.iter_mut().zip(row) {
                *s += i32::from(w as i8);
            }
        });
    }

    /// The function logits (intercepts included) of the accumulated words.
    pub(crate) fn function_logits(&self, acc: &Acc<K_FN>) -> [f32; K_FN] {
        let mut l = self.fbias;
        for (x, &s) in l.iter_mut().zip(&acc.sum) {
            *x += self.fscale * s as f32;
        }
        l
    }

    /// The rank-class logits (intercepts included).
    pub(crate) fn rank_logits(&self, acc: &Acc<RANK_CLASSES>) -> [f32; RANK_CLASSES] {
        let mut l = self.rbias;
        for (x, &s) in l.iter_mut().zip(&acc.sum) {
            *x += self.rscale * s as f32;
        }
        l
    }
}

/// Writes the model file: header text (with the caller's comment lines), NUL,
/// then the two tables quantised to i8 (one scale each, from the largest weight).
pub(crate) fn encode(
    comments: &str,
    func: &[[f32; K_FN]],
    fbias: &[f32; K_FN],
    rank: &[[f32; RANK_CLASSES]],
    rbias: &[f32; RANK_CLASSES],
) -> Vec<u8> {
    fn scale<const K: usize>(t: &[[f32; K]]) -> f32 {
        let m = t.iter().flatten().fold(0f32, |m, &x| m.max(x.abs()));
        if m > 0.0 { m / 127.0 } else { 1.0 }
    }
    fn quantise<const K: usize>(t: &[[f32; K]], s: f32, out: &mut Vec<u8>) {
        for row in t {
            for &x in row {
                out.push((x / s).round().clamp(-127.0, 127.0) as i8 as u8);
            }
        }
    }
    let (fs, rs) = (scale(func), scale(rank));
    let join = |b: &[f32]| {
        b.iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = Vec::new();
    out.extend_from_slice(comments.as_bytes());
    out.extend_from_slice(
        format!(
            "buckets {}\nfscale {fs:e}\nrscale {rs:e}\nfbias {}\nrbias {}\n",
            func.len(),
            join(fbias),
            join(rbias)
        )
        .as_bytes(),
    );
    out.push(0);
    quantise(func, fs, &mut out);
    quantise(rank, rs, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_cover_3_to_5_bytes_with_markers() {
        let mut n = 0;
        grams(b"abc", u32::MAX, |_| n += 1);
        // "<abc>": 3 trigrams, 2 four-grams, 1 five-gram
        assert_eq!(n, 6);
        // the same n-gram hashes alike wherever it stands
        let mut a = Vec::new();
        grams(b"monteur", u32::MAX, |b| a.push(b));
        let mut b = Vec::new();
        grams(b"windmonteur", u32::MAX, |x| b.push(x));
        let shared = a.iter().filter(|x| b.contains(x)).count();
        assert!(shared >= 10, "{shared}");
    }

    #[test]
    fn encodes_and_loads() {
        let func = vec![[0.5f32; K_FN], [-1.0; K_FN]];
        let rank = vec![[0.25f32; RANK_CLASSES], [0.0; RANK_CLASSES]];
        let bytes = encode(
            "# test model, version 3\n",
            &func,
            &[0.1; K_FN],
            &rank,
            &[0.0; RANK_CLASSES],
        );
        let m = Subword::load(Vec::leak(bytes)).expect("loads");
        assert_eq!(m.version, "3");
        let mut acc = Acc::new();
        m.add_function(b"x", &mut acc);
        let l = m.function_logits(&acc);
        // "<x>" is one trigram: bucket 0 or 1, each weight -1 or 0.5 after rounding
        assert!(
            (l[0] - 0.6).abs() < 0.02 || (l[0] + 0.9).abs() < 0.02,
            "{l:?}"
        );
        assert!(Subword::load(b"buckets 3\n\0").is_err());
    }
}
