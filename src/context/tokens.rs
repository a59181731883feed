//! Exact token counts in OpenAI's encodings (o200k_base, cl100k_base), the same as tiktoken's,
//! by vibe's own BPE ([`bpe`]) over token tables that `build.rs` embeds ([`table`]): nothing
//! to load at run time, where building tiktoken-rs's encoder took ~0.1 s per process.

mod bpe;
pub mod table;

use std::collections::HashMap;

use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub const NAMES: [&'static str; 2] = ["o200k_base", "cl100k_base"];

    /// An encoding by its tiktoken name.
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name {
            "o200k_base" => Some(Encoding::O200kBase),
            "cl100k_base" => Some(Encoding::Cl100kBase),
            _ => None,
        }
    }

    /// The encoding a model's prompts are counted in. OpenAI models by name (a provider prefix
    /// such as `openai/` is ignored); every other model gets o200k_base, the closest widely
    /// used BPE built into vibe.
    pub fn for_model(model: &str) -> Encoding {
        let m = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        // A fine-tuned model, `ft:<base>:<org>:<name>:<id>`, counts as its base model.
        let m = match m.strip_prefix("ft:") {
            Some(rest) => rest.split(':').next().unwrap_or(rest).to_string(),
            None => m,
        };
        let cl100k = [
            "gpt-4-",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-3",
            "text-embedding-ada",
        ];
        if m == "gpt-4" || cl100k.iter().any(|p| m.starts_with(p)) {
            Encoding::Cl100kBase
        } else {
            Encoding::O200kBase
        }
    }

    /// The configured encoding: a name, or `auto` to follow the model.
    pub fn configured(encoding: &str, model: &str) -> Result<Encoding, String> {
        if encoding == "auto" {
            return Ok(Encoding::for_model(model));
        }
        Encoding::from_name(encoding).ok_or_else(|| {
            format!(
                "unknown encoding `{encoding}`; use auto, {}",
                Encoding::NAMES.join(" or ")
            )
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    /// Tokens in `text`, special-token markers counted as ordinary text: tiktoken's
    /// `encode_ordinary(text).len()`, counted by [`bpe`] over tables built into the binary (no
    /// load time). Each thread uses its own clone of the compiled pre-tokenizer, so threads
    /// count in parallel without contending.
    pub fn count(self, text: &str) -> usize {
        bpe::count(self, text)
    }

    /// The length of a start of `text` (at a character boundary) that counts at most `max`
    /// tokens, found by halving with exact counts at character boundaries; only the first
    /// `max` × 32 bytes are looked at (a token is rarely longer than a few bytes), so a huge
    /// text costs no more than that. Counts of longer starts are nearly, not strictly, larger
    /// (a character can join the token before it): the start found fits, and is the longest
    /// that does up to such a join.
    pub fn prefix_within(self, text: &str, max: usize) -> usize {
        let mut hi = text.len().min(max.saturating_mul(32).max(64));
        while !text.is_char_boundary(hi) {
            hi -= 1;
        }
        if self.count(&text[..hi]) <= max {
            return hi;
        }
        // count(text[..lo]) <= max < count(text[..up]), both at character boundaries; halved
        // over bytes, each probe moved to a boundary (no list of them: a 128k-token ceiling
        // looks at 4 MB).
        let (mut lo, mut up) = (0, hi);
        while lo < up {
            let mut mid = lo + (up - lo) / 2;
            while mid > lo && !text.is_char_boundary(mid) {
                mid -= 1;
            }
            if mid == lo {
                // No boundary in the lower half: the next one after `lo`.
                mid = lo + 1;
                while mid < up && !text.is_char_boundary(mid) {
                    mid += 1;
                }
                if mid >= up {
                    break;
                }
            }
            if self.count(&text[..mid]) <= max {
                lo = mid;
            } else {
                up = mid;
            }
        }
        lo
    }
}

/// Exact counts through the index's token cache (`token_counts`): the map's lines and
/// `vibe context`'s blocks are counted once, and counted again only on a miss.
/// Lines are keyed with their digits as `0` (see [`zero_digits`]); a block by its exact text.
pub struct CountCache<'s> {
    store: &'s Store,
    encoding: Encoding,
    memo: HashMap<i64, u32>,
    fresh: Vec<(i64, u32)>,
}

impl<'s> CountCache<'s> {
    pub fn new(store: &'s Store, encoding: Encoding) -> Self {
        CountCache {
            store,
            encoding,
            memo: HashMap::new(),
            fresh: Vec::new(),
        }
    }

    fn cached(
        &mut self,
        key: i64,
        count: impl FnOnce() -> u32,
    ) -> Result<usize, crate::store::Error> {
        if let Some(n) = self.memo.get(&key) {
            return Ok(*n as usize);
        }
        let n = match self.store.token_count(key)? {
            Some(n) => n,
            None => {
                let n = count();
                self.fresh.push((key, n));
                n
            }
        };
        self.memo.insert(key, n);
        Ok(n as usize)
    }

    /// Tokens of `line` followed by a newline.
    pub fn count(&mut self, line: &str) -> Result<usize, crate::store::Error> {
        let encoding = self.encoding;
        self.cached(line_key(encoding, line), || count_line(encoding, line))
    }

    pub fn count_all(&mut self, lines: &[String]) -> Result<usize, crate::store::Error> {
        let mut n = 0;
        for l in lines {
            n += self.count(l)?;
        }
        Ok(n)
    }

    /// Tokens of a whole block of text.
    pub fn count_block(&mut self, text: &str) -> Result<usize, crate::store::Error> {
        let encoding = self.encoding;
        self.cached(block_key(encoding, text), || encoding.count(text) as u32)
    }

    /// How many counts the tokenizer had to make.
    pub fn misses(&self) -> usize {
        self.fresh.len()
    }

    pub fn save(self) {
        // A cache that cannot be written (say, a read-only checkout) only costs speed.
        if let Err(e) = self.store.put_token_counts(&self.fresh) {
            tracing::debug!("token cache not saved: {e}");
        }
    }
}

/// Every ASCII digit as `0`. Digits pre-tokenize in runs of at most three, and every run of one
/// to three digits is one token in o200k_base and cl100k_base (a test in `repomap::render`
/// checks all 1,110), so a line's count does not depend on which digits it holds.
pub(crate) fn zero_digits(line: &str) -> std::borrow::Cow<'_, str> {
    if line.bytes().any(|b| b.is_ascii_digit()) {
        std::borrow::Cow::Owned(
            line.chars()
                .map(|c| if c.is_ascii_digit() { '0' } else { c })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

fn key(parts: &[&[u8]]) -> i64 {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    let b = h.finalize();
    let mut k = [0u8; 8];
    k.copy_from_slice(&b.as_bytes()[..8]);
    i64::from_le_bytes(k)
}

/// The token-cache key of a map line under an encoding.
pub fn line_key(encoding: Encoding, line: &str) -> i64 {
    key(&[
        encoding.name().as_bytes(),
        &[0],
        zero_digits(line).as_bytes(),
    ])
}

/// The token-cache key of a block of `vibe context` under an encoding.
pub fn block_key(encoding: Encoding, text: &str) -> i64 {
    key(&[
        b"block\0",
        encoding.name().as_bytes(),
        &[0],
        text.as_bytes(),
    ])
}

/// Exact tokens of `line` plus its newline.
pub fn count_line(encoding: Encoding, line: &str) -> u32 {
    encoding.count(&format!("{}\n", zero_digits(line))) as u32
}

/// The text `vibe tokens` counts in `bytes`: UTF-16 with a byte-order mark (what Windows
/// PowerShell's `>` and Notepad's "Unicode" write) decoded, the mark dropped, as Python's
/// `utf-16` codec reads it; anything else as UTF-8, invalid bytes replaced with U+FFFD (a UTF-8
/// byte-order mark stays, as Python's `utf-8` codec keeps it). An unpaired surrogate or an odd
/// last byte of UTF-16 is U+FFFD too.
pub fn decode_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let be = match bytes {
        [0xFF, 0xFE, ..] => false,
        [0xFE, 0xFF, ..] => true,
        _ => return String::from_utf8_lossy(bytes),
    };
    let units: Vec<u16> = bytes[2..]
        .chunks_exact(2)
        .map(|c| match be {
            true => u16::from_be_bytes([c[0], c[1]]),
            false => u16::from_le_bytes([c[0], c[1]]),
        })
        .collect();
    let mut text: String = char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    // An odd last byte is one U+FFFD, together with a high surrogate just before it (which
    // waited for its pair: Python reports both as one truncated sequence), else on its own.
    let odd = bytes.len() % 2 == 1;
    if odd && !units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    text.into()
}

/// Pieces of about this many bytes are counted separately (and in parallel).
const PIECE: usize = 64 * 1024;

/// Cuts `text` into pieces whose counts add up to the count of the whole: only right after a
/// `\n` that is followed by a character that is neither whitespace nor `/`. There, both
/// encodings' pre-tokenizers always end a pre-token (a run of whitespace or punctuation may
/// swallow following newlines, and punctuation a following `/`, but nothing else crosses a line
/// end), and BPE never merges across pre-tokens.
pub fn split_for_counting(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    while text.len() - start > PIECE {
        let mut cut = None;
        let mut i = start + PIECE;
        while i + 1 < bytes.len() {
            if bytes[i] == b'\n' {
                let next = bytes[i + 1];
                // Unicode whitespace (U+3000, U+00A0, …) joins a newline like ASCII spaces do.
                let safe = if next >= 0x80 {
                    !text[i + 1..].starts_with(char::is_whitespace)
                } else {
                    !(next.is_ascii_whitespace() || next == b'/' || next == 0x0b)
                };
                if safe {
                    cut = Some(i + 1);
                    break;
                }
            }
            i += 1;
        }
        match cut {
            Some(c) => {
                pieces.push(&text[start..c]);
                start = c;
            }
            None => break,
        }
    }
    pieces.push(&text[start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_a_mark_is_decoded_and_the_rest_read_as_utf8() {
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("héllo 😀\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&le), "héllo 😀\r\n");
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("ab".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_text(&be), "ab");
        // An odd last byte and an unpaired surrogate are replaced, as Python's codec does.
        assert_eq!(decode_text(&[0xFF, 0xFE, b'a', 0, b'b']), "a\u{FFFD}");
        assert_eq!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8, b'a', 0]), "\u{FFFD}a");
        assert_eq!(decode_text(&[0xFF, 0xFE]), "");
        // An odd last byte after a high surrogate: one U+FFFD for both (it was read as the
        // surrogate's pair, U+10000 here); after a pair, a low or a high surrogate before it.
        assert_eq!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8, 0x00]), "\u{FFFD}");
        assert_eq!(decode_text(&[0xFE, 0xFF, 0xD8, 0x3D, 0x41]), "\u{FFFD}");
        assert_eq!(
            decode_text(&[0xFF, 0xFE, 0x00, 0xD8, 0x00, 0xDC, 0x00]),
            "\u{10000}\u{FFFD}"
        );
        assert_eq!(
            decode_text(&[0xFF, 0xFE, 0x00, 0xDC, 0x00]),
            "\u{FFFD}\u{FFFD}"
        );
        assert_eq!(
            decode_text(&[0xFF, 0xFE, 0x00, 0xD8, 0x00, 0xD8, 0x00]),
            "\u{FFFD}\u{FFFD}"
        );
        assert_eq!(decode_text(&[0xFF, 0xFE, 0x00]), "\u{FFFD}");
        // Not UTF-16: UTF-8, invalid bytes replaced, a UTF-8 mark kept.
        assert_eq!(decode_text(b"\xEF\xBB\xBFx"), "\u{FEFF}x");
        assert_eq!(decode_text(b"a\xFFb"), "a\u{FFFD}b");
        assert_eq!(decode_text(b"\xFF"), "\u{FFFD}");
    }

    #[test]
    fn split_pieces_add_up() {
        let unit = "def f(x):\n    return x  # ü\n\n\n// c\n/* */\n  \n\tx = (1,\n)\n\n\u{3000}\n\u{a0}y\n";
        let text = unit.repeat(20_000);
        let pieces = split_for_counting(&text);
        assert!(pieces.len() > 5, "{}", pieces.len());
        assert_eq!(pieces.concat(), text);
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let sum: usize = pieces.iter().map(|p| enc.count(p)).sum();
            assert_eq!(sum, enc.count(&text), "{}", enc.name());
        }
    }

    #[test]
    fn models_pick_their_encoding() {
        for (model, enc) in [
            ("gpt-4o", Encoding::O200kBase),
            ("gpt-4o-mini", Encoding::O200kBase),
            ("gpt-4.1", Encoding::O200kBase),
            ("o3-mini", Encoding::O200kBase),
            ("gpt-5", Encoding::O200kBase),
            ("gpt-4", Encoding::Cl100kBase),
            ("gpt-4-turbo", Encoding::Cl100kBase),
            ("openai/gpt-3.5-turbo", Encoding::Cl100kBase),
            ("text-embedding-3-small", Encoding::Cl100kBase),
            ("claude-sonnet-4", Encoding::O200kBase),
            ("qwen2.5-coder:7b", Encoding::O200kBase),
            ("ft:gpt-4-0613:acme::8abc", Encoding::Cl100kBase),
            (
                "ft:gpt-3.5-turbo-0125:acme:tuned:9xyz",
                Encoding::Cl100kBase,
            ),
            ("ft:gpt-4o-mini-2024-07-18:acme::7def", Encoding::O200kBase),
        ] {
            assert_eq!(Encoding::for_model(model), enc, "{model}");
        }
        assert_eq!(
            Encoding::configured("cl100k_base", "gpt-4o"),
            Ok(Encoding::Cl100kBase)
        );
        assert!(Encoding::configured("p50k", "x").is_err());
    }

    #[test]
    fn prefixes_within_a_count() {
        let e = Encoding::O200kBase;
        let text = "héllo wörld, ".repeat(10_000);
        for max in [0, 1, 7, 100, 1000] {
            let n = e.prefix_within(&text, max);
            assert!(text.is_char_boundary(n));
            assert!(e.count(&text[..n]) <= max, "{max}");
            // Nearly all of the room is used.
            assert!(
                e.count(&text[..n]) + 3 >= max,
                "{max}: {}",
                e.count(&text[..n])
            );
        }
        assert_eq!(e.prefix_within("short", 100), 5);
        // The next character would not fit: nothing is left short.
        let mixed = "aé 日本 x\u{1F600}yz, ".repeat(3000);
        for max in [1, 2, 3, 5, 8, 13, 100, 777] {
            let n = e.prefix_within(&mixed, max);
            let next = mixed[n..].chars().next().map_or(n, |c| n + c.len_utf8());
            assert!(e.count(&mixed[..n]) <= max, "{max}");
            assert!(e.count(&mixed[..next]) > max, "{max}: {n}");
        }
        // One token of many bytes is not cut inside a character.
        let run = "あ".repeat(100_000);
        let n = e.prefix_within(&run, 10);
        assert!(run.is_char_boundary(n) && e.count(&run[..n]) <= 10);
    }
}
