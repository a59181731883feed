//! Token counts of OpenAI's BPE encodings, identical to tiktoken's `encode_ordinary(text).len()`
//! (tests compare the two on every kind of text), over the tables `build.rs` embeds.
//!
//! Counting is tiktoken's algorithm: the text is cut into pre-tokens by the encoding's regex;
//! a pre-token that is a token counts one; any other is merged from its bytes, always the
//! adjacent pair whose merged bytes have the lowest rank (the leftmost on a tie), until no pair
//! is a token. Pre-tokens under 100 bytes merge in place; longer ones (a run of spaces, a
//! base64 blob) through a heap, as tiktoken does, so that they cost O(n log n), not O(n²).
//! Nothing is decoded and no token ids are kept: only the count is needed. The count of a
//! pre-token under 100 bytes that took a merge is remembered per thread (up to 65,536 of them,
//! then the cache starts again): code repeats its identifiers, and a merge looks up every pair
//! of parts in the table (`vibe tokens` on the stdlib ~490 → ~420 ms, Node.js's first lexicon
//! ~8.2 → ~6.6 s).
//!
//! The pre-tokenizer runs on `regex-automata` (the engine of the `regex` crate), which has no
//! look-around: tiktoken's patterns end in `\s+(?!\S)|\s+` (o200k) or `\s+(?!\S)|\s` (cl100k),
//! and use possessive
//! quantifiers (cl100k). Here the end is `\s+`, and a match of it (whitespace only, no line
//! break: a run with one is matched by the alternative before) that is two or more characters
//! long and followed by more text gives its last character back, as `\s+(?!\S)` would
//! (tiktoken: "    x" is "   " and " x"). Possessive and greedy quantifiers match the same
//! here: giving a character back never lets the rest of an alternative match (the optional
//! non-letter before `\p{L}+` is no letter itself; the others end their alternative). Unlike
//! fancy-regex, which tiktoken uses, this never fails: a run of a million spaces overflowed
//! its backtracking stack, and tiktoken panics there.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use regex_automata::meta::{Cache, Regex};
use regex_automata::{Anchored, Input};

use super::Encoding;
use super::table::Table;

static O200K: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.table"));
static CL100K: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.table"));

/// The pre-tokenizer of o200k_base (tiktoken's `O200K_BASE_PAT_STR`, its last two
/// alternatives `\s+(?!\S)|\s+` as `\s+`; see the module's doc).
const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"\p{N}{1,3}",
    "|",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    "|",
    r"\s*[\r\n]+",
    "|",
    r"\s+",
);

/// The pre-tokenizer of cl100k_base: tiktoken's
/// `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`
/// with greedy quantifiers and `\s+` for its last two alternatives.
const CL100K_PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+";

/// Pre-tokens this long or longer merge through a heap.
const LARGE: usize = 100;

fn slot(encoding: Encoding) -> usize {
    match encoding {
        Encoding::O200kBase => 0,
        Encoding::Cl100kBase => 1,
    }
}

fn table(encoding: Encoding) -> Table<'static> {
    let data = match encoding {
        Encoding::O200kBase => O200K,
        Encoding::Cl100kBase => CL100K,
    };
    // Written by build.rs in this very layout; a mismatch is a build bug, not a user's error.
    #[allow(clippy::expect_used)]
    Table::new(data).expect("token table embedded by build.rs")
}

/// A compiled pre-tokenizer and a thread's search cache for it.
struct PreTokenizer {
    regex: Regex,
    cache: Cache,
}

/// Runs `f` with the calling thread's pre-tokenizer: one compiled regex shared by all threads,
/// with a search cache of the thread's own (threads sharing one cache would contend for it).
fn with_regex<R>(encoding: Encoding, f: impl FnOnce(&mut PreTokenizer) -> R) -> R {
    static SHARED: [OnceLock<Regex>; 2] = [OnceLock::new(), OnceLock::new()];
    thread_local! {
        static OWN: [RefCell<Option<PreTokenizer>>; 2] =
            const { [RefCell::new(None), RefCell::new(None)] };
    }
    OWN.with(|own| {
        let i = slot(encoding);
        let mut own = own[i].borrow_mut();
        let pre = own.get_or_insert_with(|| {
            let regex = SHARED[i]
                .get_or_init(|| {
                    let pattern = match encoding {
                        Encoding::O200kBase => O200K_PATTERN,
                        Encoding::Cl100kBase => CL100K_PATTERN,
                    };
                    // A constant pattern that tests compile; it cannot fail at run time.
                    #[allow(clippy::expect_used)]
                    Regex::new(pattern).expect("pre-tokenizer pattern")
                })
                .clone();
            let cache = regex.create_cache();
            PreTokenizer { regex, cache }
        });
        f(pre)
    })
}

/// Tokens in `text`, special-token markers counted as ordinary text.
pub fn count(encoding: Encoding, text: &str) -> usize {
    static TABLES: OnceLock<[Table<'static>; 2]> = OnceLock::new();
    let table = TABLES.get_or_init(|| [table(Encoding::O200kBase), table(Encoding::Cl100kBase)])
        [slot(encoding)];
    thread_local! {
        static MERGED: RefCell<[MergeCache; 2]> = RefCell::default();
    }
    with_regex(encoding, |pre| {
        MERGED.with_borrow_mut(|merged| {
            let merged = &mut merged[slot(encoding)];
            pre_tokens(pre, text)
                .map(|p| piece(&table, p.as_bytes(), merged))
                .sum()
        })
    })
}

/// The pre-tokens of `text`, as tiktoken's pattern cuts it. Every character begins a match of
/// either pattern (a letter, a digit, another visible character, whitespace: each has its
/// alternative), so the leftmost match from where the last one ended begins right there: the
/// search is anchored there, which spares the reverse scan an unanchored search makes to find
/// where its match begins (`vibe tokens` of the stdlib: ~12% less CPU time). Should a match ever
/// not begin there, the unanchored search finds it.
fn pre_tokens<'t>(pre: &'t mut PreTokenizer, text: &'t str) -> impl Iterator<Item = &'t str> + 't {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let input = Input::new(text).range(at..);
        let m = pre
            .regex
            .search_with(&mut pre.cache, &input.clone().anchored(Anchored::Yes))
            .or_else(|| pre.regex.search_with(&mut pre.cache, &input))?;
        let end = pre_token_end(text, m.start(), m.end());
        at = end;
        Some(&text[m.start()..end])
    })
}

/// Where the pre-token matched at `start..end` ends: `end`, except for a run of two or more
/// whitespace characters without a line break that more text follows, which gives its last
/// character back (tiktoken's `\s+(?!\S)`).
fn pre_token_end(text: &str, start: usize, end: usize) -> usize {
    if end == text.len() {
        return end;
    }
    let m = &text[start..end];
    let mut chars = m.char_indices();
    let (Some(_), Some((last, _))) = (chars.next(), chars.next_back()) else {
        return end;
    };
    if m.chars()
        .all(|c| c.is_whitespace() && c != '\r' && c != '\n')
    {
        start + last
    } else {
        end
    }
}

/// Tokens of one pre-token.
fn piece(table: &Table, bytes: &[u8], merged: &mut MergeCache) -> usize {
    if bytes.len() <= 1 || table.rank(bytes).is_some() {
        return bytes.len().min(1);
    }
    if bytes.len() < LARGE {
        if let Some(&n) = merged.get(bytes) {
            return n as usize;
        }
        let n = merge_small(table, bytes);
        if merged.len() >= MERGE_CACHE {
            merged.clear();
        }
        merged.insert(bytes.into(), n as u32);
        n
    } else {
        merge_large(table, bytes)
    }
}

/// Per thread and encoding, the token count of pieces that took a merge (a piece is counted
/// the same wherever it occurs): code repeats its identifiers, and a merge looks up every
/// pair of parts in the table, where a cached piece costs one hash.
type MergeCache = rustc_hash::FxHashMap<Box<[u8]>, u32>;

/// Pieces a thread's cache holds before it starts again.
const MERGE_CACHE: usize = 1 << 16;

/// tiktoken's in-place merge: `start[i]` is where part `i` begins (the last entry is the end
/// of the piece), `pair[i]` the rank of part `i` merged with part `i + 1`.
fn merge_small(table: &Table, bytes: &[u8]) -> usize {
    let n = bytes.len();
    debug_assert!((2..LARGE).contains(&n));
    let rank = |a: usize, b: usize| table.rank(&bytes[a..b]).unwrap_or(u32::MAX);
    let mut start = [0u8; LARGE + 1];
    let mut pair = [u32::MAX; LARGE + 1];
    for (i, (s, p)) in start.iter_mut().zip(&mut pair).enumerate().take(n + 1) {
        *s = i as u8;
        if i + 2 <= n {
            *p = rank(i, i + 2);
        }
    }
    let mut parts = n + 1;
    loop {
        let mut best = (u32::MAX, 0);
        for (i, &r) in pair[..parts - 1].iter().enumerate() {
            if r < best.0 {
                best = (r, i);
            }
        }
        let (r, i) = best;
        if r == u32::MAX {
            break;
        }
        // Part i absorbs part i + 1; the pairs that change are i's and the one before it.
        let after_next = |j: usize| {
            if j + 3 < parts {
                rank(start[j] as usize, start[j + 3] as usize)
            } else {
                u32::MAX
            }
        };
        if i > 0 {
            pair[i - 1] = after_next(i - 1);
        }
        pair[i] = after_next(i);
        start.copy_within(i + 2..parts, i + 1);
        pair.copy_within(i + 2..parts, i + 1);
        parts -= 1;
    }
    parts - 1
}

/// The same merges for a long pre-token, the lowest (rank, start) first from a heap; entries
/// made stale by an earlier merge are skipped when they come up. Positions are `u32` below 4 GiB
/// (about 20 bytes of memory per byte of the pre-token instead of 40).
fn merge_large(table: &Table, bytes: &[u8]) -> usize {
    if u32::try_from(bytes.len()).is_ok_and(|n| n < u32::MAX) {
        merge_large_at::<u32>(table, bytes)
    } else {
        merge_large_at::<usize>(table, bytes)
    }
}

/// A position in a pre-token, stored as narrow as the pre-token allows.
trait Pos: Copy + Ord {
    fn of(i: usize) -> Self;
    fn at(self) -> usize;
}

impl Pos for u32 {
    fn of(i: usize) -> Self {
        i as u32
    }
    fn at(self) -> usize {
        self as usize
    }
}

impl Pos for usize {
    fn of(i: usize) -> Self {
        i
    }
    fn at(self) -> usize {
        self
    }
}

/// No pair: no such token, or no longer a part (ranks are far below it).
const NO_PAIR: u32 = u32::MAX;

fn merge_large_at<P: Pos>(table: &Table, bytes: &[u8]) -> usize {
    let n = bytes.len();
    let rank = |a: usize, b: usize| table.rank(&bytes[a..b]).unwrap_or(NO_PAIR);
    // For each part, by where it starts: where it ends, where the part before it starts, and
    // the rank of it merged with the next part.
    let mut end: Vec<P> = (1..=n).map(P::of).collect();
    let mut prev: Vec<P> = (0..n).map(|i| P::of(i.saturating_sub(1))).collect();
    let mut pair: Vec<u32> = (0..n)
        .map(|i| if i + 2 <= n { rank(i, i + 2) } else { NO_PAIR })
        .collect();
    let mut heap: BinaryHeap<Reverse<(u32, P)>> = pair
        .iter()
        .enumerate()
        .filter(|&(_, &r)| r != NO_PAIR)
        .map(|(i, &r)| Reverse((r, P::of(i))))
        .collect();
    let mut parts = n;
    while let Some(Reverse((r, left))) = heap.pop() {
        let left = left.at();
        if pair[left] != r {
            continue;
        }
        let right = end[left].at();
        let merged_end = end[right].at();
        end[left] = P::of(merged_end);
        pair[right] = NO_PAIR;
        parts -= 1;
        pair[left] = if merged_end < n {
            prev[merged_end] = P::of(left);
            rank(left, end[merged_end].at())
        } else {
            NO_PAIR
        };
        if pair[left] != NO_PAIR {
            heap.push(Reverse((pair[left], P::of(left))));
        }
        if left > 0 {
            let before = prev[left].at();
            pair[before] = rank(before, merged_end);
            if pair[before] != NO_PAIR {
                heap.push(Reverse((pair[before], P::of(before))));
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_bpe(encoding: Encoding) -> tiktoken_rs::CoreBPE {
        match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base(),
        }
        .expect("tiktoken-rs encoding")
    }

    /// Texts of every shape the pre-tokenizers and merges treat apart.
    fn samples() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            " ",
            "a",
            "hello world",
            "Hello, World! It's I'm we'll they've you'd SHE'S",
            "fn main() {\n    println!(\"{}\", 42);\n}\n",
            "  \n\n\t\tx = 1\r\n\r\n   y  \n",
            "camelCaseIdentifier snake_case_name SCREAMING_CASE HTTPServer2Go",
            "1234567890 3.14159 1e-9 0xDEADBEEF 1,000,000",
            "<|endoftext|> <|fim_prefix|> <|endofprompt|>",
            "naïve café — “quotes” 日本語のテキスト 中文 한국어 Ελληνικά русский עברית العربية",
            "emoji 👩‍👩‍👧‍👦 🚀🔥 flags 🇫🇷🇯🇵 ∑∫√∞ ≠ ≤ ≥",
            "\u{3000}\u{a0}\u{2028}\u{85} odd spaces\u{200b}zero width",
            "//// #### ==== ---- **** //\n/* comment */\n# heading\n",
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Long pre-tokens: whitespace runs, a base64 blob, a word with no spaces.
        v.push(" ".repeat(5000) + "x");
        v.push("\n".repeat(300) + "\t".repeat(300).as_str() + "y");
        v.push(
            (0..3000u32)
                .map(|i| {
                    char::from(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            [(i * 7 % 64) as usize],
                    )
                })
                .collect(),
        );
        v.push("ab".repeat(400));
        v.push("é".repeat(99) + " " + "é".repeat(100).as_str());
        v.push("-".repeat(98) + " " + "-".repeat(99).as_str() + " " + "=".repeat(100).as_str());
        v
    }

    #[test]
    fn counts_equal_tiktoken_on_every_shape_of_text() {
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let reference = all_bpe(encoding);
            for s in samples() {
                assert_eq!(
                    count(encoding, &s),
                    reference.encode_ordinary(&s).len(),
                    "{}: {:?}",
                    encoding.name(),
                    s.chars().take(60).collect::<String>()
                );
            }
        }
    }

    #[test]
    fn counts_equal_tiktoken_on_this_repository() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for dir in [
            "src",
            "src/context",
            "src/repomap",
            "docs",
            "benches",
            "tests",
        ] {
            for e in std::fs::read_dir(root.join(dir)).expect("repository directory") {
                let p = e.expect("directory entry").path();
                if p.is_file() {
                    texts.push(std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        assert!(texts.len() > 20, "{}", texts.len());
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let reference = all_bpe(encoding);
            for t in &texts {
                assert_eq!(count(encoding, t), reference.encode_ordinary(t).len());
            }
        }
    }

    #[test]
    fn the_tables_hold_every_ordinary_token_and_no_special_one() {
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let reference = all_bpe(encoding);
            let t = table(encoding);
            let mut tokens = 0;
            for r in 0..t.ranks() {
                let bytes = t.bytes(r);
                if bytes.is_empty() {
                    continue;
                }
                tokens += 1;
                assert_eq!(t.rank(bytes), Some(r as u32));
                assert_eq!(
                    reference.decode_bytes(&[r as u32]).ok().as_deref(),
                    Some(bytes)
                );
            }
            let expected = match encoding {
                Encoding::O200kBase => 199_998,
                Encoding::Cl100kBase => 100_256,
            };
            assert_eq!(tokens, expected, "{}", encoding.name());
            for special in reference.special_tokens() {
                assert_eq!(t.rank(special.as_bytes()), None, "{special}");
            }
            assert_eq!(t.rank(b"no such token anywhere in the table"), None);
        }
    }

    /// Random texts of characters from every class the pre-tokenizers tell apart (upper,
    /// lower, titlecase, modifier and other letters, marks, digits, punctuation, each kind of
    /// whitespace, emoji), in runs, so that contractions, line breaks and long pre-tokens occur.
    fn random_texts(seed: u64, n: usize) -> Vec<String> {
        let alphabet: Vec<char> = "aAzZqQ09 5  \t\n\r\n'’sSdDlLvVeE.,;:/\\-_=+*#@!?()[]{}<>\"`~|&^%$\u{a0}\u{3000}\u{85}\u{2028}éÉßǅʰ中文日本한국語\u{301}\u{0915}\u{093f}٣٤ÅΩжЖ😀👍🏽\u{200d}🇫"
            .chars()
            .collect();
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..n)
            .map(|_| {
                let len = (next() % 160) as usize;
                let mut text = String::new();
                while text.chars().count() < len {
                    let c = alphabet[(next() % alphabet.len() as u64) as usize];
                    for _ in 0..1 + (next() % 4 == 0) as u64 * (next() % 120) {
                        text.push(c);
                    }
                }
                text
            })
            .collect()
    }

    #[test]
    fn counts_equal_tiktoken_on_random_text() {
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let reference = all_bpe(encoding);
            for text in random_texts(0x2545_f491_4f6c_dd1d, 1500) {
                assert_eq!(
                    count(encoding, &text),
                    reference.encode_ordinary(&text).len(),
                    "{}: {text:?}",
                    encoding.name()
                );
            }
        }
    }

    #[test]
    fn merged_pieces_are_counted_alike_from_the_cache_and_after_it_starts_again() {
        // More distinct merged pieces than a thread's cache holds (random lowercase words,
        // most of them several tokens), each counted twice: the second time from the cache,
        // or after it started again.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let words: Vec<String> = (0..MERGE_CACHE + 5_000)
            .map(|_| {
                (0..9)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        char::from(b'a' + (x % 26) as u8)
                    })
                    .collect()
            })
            .collect();
        let t = table(Encoding::O200kBase);
        let merged = words
            .iter()
            .filter(|w| t.rank(w.as_bytes()).is_none())
            .count();
        assert!(merged > MERGE_CACHE, "{merged}");
        let reference = all_bpe(Encoding::O200kBase);
        // A few pieces (counted, then from the cache), all of them (the cache fills and starts
        // again), the few again.
        let few = words[..2_000].join(" ");
        let all = words.join(" ");
        let texts = [few.clone(), few.clone(), all, few];
        let expected: Vec<usize> = texts
            .iter()
            .map(|t| reference.encode_ordinary(t).len())
            .collect();
        // On a thread of its own, so the cache starts empty.
        let counts = std::thread::spawn(move || {
            texts
                .iter()
                .map(|t| count(Encoding::O200kBase, t))
                .collect::<Vec<_>>()
        })
        .join()
        .expect("counting thread");
        assert_eq!(counts, expected);
    }

    /// tiktoken's own patterns, run with fancy-regex as tiktoken runs them.
    fn tiktoken_regex(encoding: Encoding) -> fancy_regex::Regex {
        let pattern = match encoding {
            Encoding::O200kBase => tiktoken_rs::O200K_BASE_PAT_STR,
            Encoding::Cl100kBase => {
                r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"
            }
        };
        fancy_regex::Regex::new(pattern).expect("tiktoken's pattern")
    }

    #[test]
    fn pre_tokens_are_tiktokens() {
        // Every sample, random text, and whitespace runs of every shape (the look-ahead that
        // is emulated) between words, digits and punctuation.
        let ws = [
            " ", "\t", "\n", "\r", "\u{a0}", "\u{3000}", "\u{85}", "\u{2028}", "\u{b}",
        ];
        let mut texts = samples();
        texts.extend(random_texts(0x9e37_79b9, 400));
        for a in ws {
            for b in ws {
                for c in ws {
                    for (pre, post) in [("x", "y"), ("1", "."), (".", ""), ("", "é"), ("'", "s")] {
                        texts.push(format!("{pre}{a}{b}{c}{post}"));
                        texts.push(format!("{pre}{a}{b}{post}{c}"));
                    }
                }
            }
        }
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let theirs = tiktoken_regex(encoding);
            with_regex(encoding, |ours| {
                for t in &texts {
                    let want: Vec<&str> = theirs
                        .find_iter(t)
                        .map(|m| m.expect("tiktoken's regex").as_str())
                        .collect();
                    let got: Vec<&str> = pre_tokens(ours, t).collect();
                    assert_eq!(got, want, "{}: {t:?}", encoding.name());
                }
            });
        }
    }

    #[test]
    fn a_million_spaces_are_counted_where_tiktoken_gives_up() {
        // tiktoken's regex overflows its backtracking stack on such a run and panics. The
        // pre-tokens are those of a shorter run: all of it but one character, then " x".
        for c in [" ", "\t", "\u{3000}"] {
            let long = c.repeat(1_100_000) + "x";
            let cut = long.len() - c.len() - 1;
            for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
                let t = table(encoding);
                let expected =
                    merge_large(&t, &long.as_bytes()[..cut]) + count(encoding, &long[cut..]);
                assert_eq!(count(encoding, &long), expected, "{}", encoding.name());
            }
        }
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let short = " ".repeat(1000) + "x";
            assert_eq!(
                count(encoding, &short),
                all_bpe(encoding).encode_ordinary(&short).len()
            );
        }
    }

    #[test]
    fn small_and_large_merges_agree() {
        let t = table(Encoding::O200kBase);
        for s in samples() {
            for chunk in s.as_bytes().chunks(97) {
                if chunk.len() >= 2 {
                    let small = merge_small(&t, chunk);
                    assert_eq!(small, merge_large_at::<u32>(&t, chunk), "{chunk:?}");
                    assert_eq!(small, merge_large_at::<usize>(&t, chunk), "{chunk:?}");
                }
            }
        }
    }
}
