//! Text normalisation and multi-pattern matching.
//!
//! Tickets and rule patterns go through the same [`normalise`], so that a pattern written once
//! matches the many ways customers write the same thing:
//!
//! - lowercase; every character that is not a letter or a digit separates words, apostrophes
//!   join (`can't` → `cant`); letters and digits split (`Xid79` → `xid 79`, `k8s` → `k 8 s`);
//! - parenthesised PCI addresses are dropped, so that a kernel log line
//!   `NVRM: Xid (PCI:0000:3b:00): 79` reads `nvrm xid 79`;
//! - filler words (articles, most pronouns, forms of "to be", "please" …) are dropped, so that
//!   `the API server is down` matches the pattern `api server down`. "we", "our" and "my" are
//!   kept: `our operator` and `we installed` are how customers say a component is theirs;
//! - a light stemmer folds English inflections: plurals (`nodes`, `policies`, `crashes`), `-ing`
//!   and `-ed` (with undoubling: `flapping` → `flap`) and a final `e` (`tune`, `tuning` and
//!   `tuned` all become `tun`). Stems need not be words; they only need to agree.
//!
//! Invariant: a normalised string is empty or starts and ends with a space and has exactly one
//! space between words, so a pattern `" api server "` found in it by plain substring search is
//! always a whole-word match. [`PatternIndex`] relies on that: one Aho-Corasick automaton over all
//! the (deduplicated) patterns of a rule set, built once, reports every whole-word occurrence,
//! overlapping ones included, in one pass over the text.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

/// Normalises `text` into a fresh string (see the module documentation).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    normalise_into(&mut out, text);
    out
}

/// Appends the normalised form of `text` to `out`, which must be empty or itself normalised
/// (ending with a space). The result is normalised. Appending the description after the title
/// keeps them one text, with the title first.
pub fn normalise_into(out: &mut String, text: &str) {
    if out.is_empty() {
        out.push(' ');
    }
    let mut word_start = out.len();
    let mut prev = Class::Separator;
    let mut skip_until = 0;
    for (pos, ch) in text.char_indices() {
        if pos < skip_until {
            continue;
        }
        if ch == '('
            && let Some(len) = pci_address_len(&text[pos..])
        {
            skip_until = pos + len;
            prev = end_word(out, &mut word_start, prev);
            continue;
        }
        if ch == '\'' || ch == '\u{2019}' {
            continue;
        }
        let class = if ch.is_numeric() {
            Class::Digit
        } else if ch.is_alphanumeric() {
            Class::Letter
        } else {
            Class::Separator
        };
        if class != prev {
            prev = end_word(out, &mut word_start, prev);
        }
        if class != Class::Separator {
            out.extend(ch.to_lowercase());
            prev = class;
        }
    }
    end_word(out, &mut word_start, prev);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Separator,
    Letter,
    Digit,
}

/// Closes the word that started at `word_start` (if `prev` says one is open): drops it when it
/// is a filler word, stems it, and appends the separating space.
fn end_word(out: &mut String, word_start: &mut usize, prev: Class) -> Class {
    if prev != Class::Separator && out.len() > *word_start {
        let word = &out[*word_start..];
        if is_filler(word) {
            out.truncate(*word_start);
        } else {
            if word.bytes().all(|b| b.is_ascii_lowercase()) {
                let (keep, add_y) = stem(word.as_bytes());
                out.truncate(*word_start + keep);
                if add_y {
                    out.push('y');
                }
            }
            out.push(' ');
        }
    }
    *word_start = out.len();
    Class::Separator
}

/// Length of a parenthesised PCI address at the start of `s` (`(PCI:0000:3b:00)`), if any.
fn pci_address_len(s: &str) -> Option<usize> {
    let rest = s.get(1..5)?;
    if !rest.eq_ignore_ascii_case("pci:") {
        return None;
    }
    let close = s.get(..40).unwrap_or(s).find(')')?;
    let inner = &s[5..close];
    inner
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        .then_some(close + 1)
}

/// Words that carry no meaning for classification.
fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "a" | "an"
            | "the"
            | "your"
            | "their"
            | "its"
            | "this"
            | "that"
            | "these"
            | "those"
            | "is"
            | "are"
            | "was"
            | "were"
            | "be"
            | "been"
            | "am"
            | "it"
            | "i"
            | "you"
            | "they"
            | "us"
            | "me"
            | "of"
            | "to"
            | "please"
            | "pls"
            | "just"
            | "very"
            | "really"
            | "super"
    )
}

/// A light English stemmer over lowercase ASCII: returns how many bytes of `w` to keep and
/// whether to append `y` (`policies` → `policy`).
fn stem(w: &[u8]) -> (usize, bool) {
    let ends = |n: usize, suffix: &[u8]| n >= suffix.len() && w[n - suffix.len()..n] == *suffix;
    let mut n = w.len();
    if n >= 5 && ends(n, b"ies") {
        return (n - 3, true);
    }
    if n >= 5 && (ends(n, b"sses") || ends(n, b"shes") || ends(n, b"ches") || ends(n, b"xes")) {
        n -= 2;
    } else if n >= 4 && ends(n, b"s") && !ends(n, b"ss") && !ends(n, b"us") && !ends(n, b"is") {
        n -= 1;
    }
    if n >= 6 && ends(n, b"ing") {
        n = undouble(w, n - 3);
    } else if n >= 5 && ends(n, b"ed") && !ends(n, b"eed") {
        n = undouble(w, n - 2);
    }
    if n >= 4 && ends(n, b"e") {
        n -= 1;
    }
    (n, false)
}

/// `flapp` → `flap`, `runn` → `run`; keeps `ll`, `ss`, `zz` (`install`, `pass`) and short stems.
fn undouble(w: &[u8], n: usize) -> usize {
    match (
        n.checked_sub(2).and_then(|i| w.get(i)),
        n.checked_sub(1).and_then(|i| w.get(i)),
    ) {
        (Some(a), Some(b))
            if a == b
                && n >= 4
                && !matches!(b, b'l' | b's' | b'z' | b'a' | b'e' | b'i' | b'o' | b'u') =>
        {
            n - 1
        }
        _ => n,
    }
}

/// Error building a pattern index.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the pattern automaton: {0}")]
pub struct IndexError(#[from] aho_corasick::BuildError);

/// Normalised patterns mapped to targets of type `T`, searched with one automaton.
///
/// Equal patterns are stored once; each keeps the list of every target that registered it.
#[derive(Debug, Clone)]
pub struct PatternIndex<T> {
    automaton: AhoCorasick,
    targets: Vec<Vec<T>>,
}

impl<T> PatternIndex<T> {
    /// Builds the index from `(normalised pattern, target)` entries.
    pub fn build(entries: impl IntoIterator<Item = (String, T)>) -> Result<Self, IndexError> {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<T>> = Vec::new();
        for (pattern, target) in entries {
            let id = *ids.entry(pattern.clone()).or_insert_with(|| {
                patterns.push(pattern);
                targets.push(Vec::new());
                patterns.len() - 1
            });
            if let Some(list) = targets.get_mut(id) {
                list.push(target);
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)?;
        Ok(PatternIndex { automaton, targets })
    }

    /// How many distinct patterns the index holds.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the index holds no pattern.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Calls `f(pattern id, start offset, end offset, targets)` for every occurrence of every
    /// pattern in `haystack` (a normalised string), overlapping occurrences included, in order of
    /// their end. A match spans its padding spaces: `start` is the space before its first word,
    /// `end` is just past the space after its last word.
    pub fn for_each_match(&self, haystack: &str, mut f: impl FnMut(usize, usize, usize, &[T])) {
        for m in self.automaton.find_overlapping_iter(haystack) {
            let id = m.pattern().as_usize();
            if let Some(targets) = self.targets.get(id) {
                f(id, m.start(), m.end(), targets);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_punctuation_fillers_and_whitespace() {
        assert_eq!(normalise("The API server is DOWN!!"), " api server down ");
        assert_eq!(normalise("  kubectl\thangs…\n\n503 "), " kubectl hang 503 ");
        assert_eq!(normalise("can't reach"), " cant reach ");
        assert_eq!(normalise(""), " ");
        assert_eq!(normalise("!!!"), " ");
    }

    #[test]
    fn splits_letters_from_digits_and_drops_pci_addresses() {
        assert_eq!(normalise("Xid79"), " xid 79 ");
        assert_eq!(normalise("XID-48"), " xid 48 ");
        assert_eq!(
            normalise("NVRM: Xid (PCI:0000:3b:00): 79, pid=1234"),
            " nvrm xid 79 pid 1234 "
        );
        assert_eq!(normalise("(pci: off)"), " pci off ");
    }

    #[test]
    fn stems_inflections_to_common_forms() {
        let same = |a: &str, b: &str| assert_eq!(normalise(a), normalise(b), "{a} vs {b}");
        same("nodes", "node");
        same("policies", "policy");
        same("crashes", "crash");
        same("flapping", "flaps");
        same("tuning", "tune");
        same("tuned", "tune");
        same("scheduling", "schedule");
        same("OOMKilled", "oomkill");
        same("installed", "install");
        same("running", "run");
        same("exceeded", "exceeds");
        assert_ne!(normalise("scheduler"), normalise("schedule"));
        assert_eq!(normalise("ingress status"), " ingress status ");
    }

    #[test]
    fn index_reports_whole_word_overlapping_matches_once_per_occurrence() {
        let index = PatternIndex::build([
            (normalise("api server"), 'a'),
            (normalise("server 503"), 'b'),
            (normalise("api"), 'c'),
            (normalise("api server"), 'd'),
        ])
        .unwrap();
        assert_eq!(index.len(), 3);
        let mut seen = Vec::new();
        index.for_each_match(&normalise("the API server: 503; rapid"), |_, _, _, t| {
            seen.extend_from_slice(t)
        });
        seen.sort_unstable();
        assert_eq!(seen, ['a', 'b', 'c', 'd']);
    }
}
