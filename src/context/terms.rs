//! Words of code and of task text, made comparable: identifiers split at `snake_case`,
//! `camelCase` and digit boundaries, lowercased, stemmed (Snowball English), and hashed to 32
//! bits. A whole compound identifier is also kept as one term (`jsondecoder`), so a task that
//! names `JSONDecoder` exactly scores higher than one that only shares its words.
//!
//! Terms are FNV-1a hashes, stable across runs and platforms, so the lexicon stores no
//! vocabulary. Two words sharing a hash (about one pair in a 100,000-word vocabulary) only blur
//! their two scores.

use rust_stemmers::{Algorithm, Stemmer};

/// A term: the FNV-1a hash of its text.
pub type Term = u32;

/// Words that carry nothing in a task ("fix the bug in ...") or are everywhere in code.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "but", "by", "can", "could", "do", "does", "doesn", "don", "each", "for",
    "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "just", "may",
    "more", "most", "must", "no", "not", "of", "on", "once", "only", "or", "other", "our", "out",
    "over", "same", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "you", "your",
];

/// Task words that describe the change, not the code it touches.
const TASK_WORDS: &[&str] = &[
    "add",
    "added",
    "adds",
    "allow",
    "allows",
    "backport",
    "backported",
    "bug",
    "bugs",
    "case",
    "cases",
    "change",
    "changes",
    "cherry",
    "correct",
    "correctly",
    "crash",
    "crashes",
    "fail",
    "fails",
    "failing",
    "fix",
    "fixed",
    "fixes",
    "handle",
    "handles",
    "handling",
    "implement",
    "improve",
    "issue",
    "make",
    "new",
    "now",
    "picked",
    "properly",
    "refactor",
    "remove",
    "removed",
    "support",
    "supports",
    "update",
    "updated",
    "use",
    "uses",
    "using",
    "wrong",
    "instead",
    "without",
];

pub fn stemmer() -> Stemmer {
    Stemmer::create(Algorithm::English)
}

pub fn hash(text: &str) -> Term {
    hash_bytes(text.as_bytes())
}

/// [`hash`] of any bytes, usable in constants.
pub const fn hash_bytes(bytes: &[u8]) -> Term {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}

/// Splits an identifier into its lowercase words: `parseHTTPResponse2` → parse, http,
/// response, 2; `__init__` → init; `JSONDecoder` → json, decoder.
pub fn split_identifier(ident: &str) -> Vec<String> {
    let mut words = Vec::new();
    for piece in ident.split(['_', '-', '$']) {
        let chars: Vec<char> = piece.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (p, c) = (chars[i - 1], chars[i]);
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // An acronym with one lowercase letter stays one word: a plural (`URLs`, `getIDs`,
            // `APIsFor`, not `ur` + `ls`) or a version (`IPv6`, `SSLv3`, not `i` + `pv`).
            let short_tail = !chars.get(i + 2).is_some_and(|n| n.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower && !short_tail)
                || (p.is_alphabetic() && c.is_ascii_digit())
                || (p.is_ascii_digit() && c.is_alphabetic());
            if boundary {
                words.push(chars[start..i].iter().collect::<String>().to_lowercase());
                start = i;
            }
        }
        if start < chars.len() {
            words.push(chars[start..].iter().collect::<String>().to_lowercase());
        }
    }
    words.retain(|w| !w.is_empty());
    words
}

/// Calls `f` with each word-like run of `text` (letters, digits, `_`): identifiers and words.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut start = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                f(&text[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        f(&text[s..]);
    }
}

/// Trailer keys (`Key: value` lines at a commit message's end) that name people, reviews or
/// other systems, besides every `…-by` key (`Signed-off-by`, `Co-authored-by`, `Reported-by`).
/// `Fixes:`, `Closes:` and `Bug:` stay: their values are references (dropped as terms) or the
/// subject of the commit fixed, which is about the same code.
const TRAILER_KEYS: &[&str] = &[
    "change-id",
    "cherry-picked-from",
    "commit-queue",
    "cr-commit-position",
    "differential revision",
    "git-svn-id",
    "link",
    "message-id",
    "part-of",
    "piperorigin-revid",
    "pr-url",
    "pull-request",
    "reviewed-on",
];

/// The text without what names people and other systems rather than code: trailer lines
/// (`Signed-off-by: A <a@b.org>`, `Reviewed-on: …`, `Change-Id: …`, `git-svn-id: …`; see
/// `TRAILER_KEYS`) and e-mail addresses. A task pasted with its commit message's trailers
/// would otherwise match code by the words of names and mail hosts (`key@linux.ibm.com`), and
/// past commits by who signed them rather than by what they changed. As git reads them,
/// trailers are the lines of the last paragraph, never of the first (the title: `link: pass
/// --as-needed` names a component, and a pasted build log's `cc: error: …` stays); `Cc:` only
/// with a mail address. The headers of a commit pasted as `git log` or `git show` print it
/// (`commit <hash>`, `Author:`, `Date:`, … up to the first blank line) and of a patch mail as
/// `git format-patch` writes it (`From <hash> …`, `From:`, `Date:`; the `Subject:` line keeps
/// its subject, without `[PATCH …]`) go too: a date's `Dec` would match decimal code. Each
/// pasted commit's message has its own last paragraph, which ends where its diff starts.
///
/// A mail's MIME headers go too where a patch tool folded them into a subject (`… in
/// floatformat. MIME-Version: 1.0 Content-Type: text/plain; charset=UTF-8
/// Content-Transfer-Encoding: 8bit`): the group as mail headers write it, `MIME-Version: 1.0`
/// followed by a `Content-Type:` (and maybe the encoding); their words (content, type, text,
/// encoding) would match code by chance. A `Content-Type:` alone in prose stays. The lines
/// `git cherry-pick -x` and `git revert` add go too, as git writes them
/// (`(cherry picked from commit <hash>)`, `This reverts commit <hash>.`): `commit` and
/// `picked` matched a database module's code in a backport's task.
pub fn without_trailers(text: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match without_tool_lines(text) {
        Cow::Borrowed(text) => trailers_of(text),
        Cow::Owned(text) => Cow::Owned(trailers_of(&text).into_owned()),
    }
}

/// The text without its MIME header groups and the lines git's cherry-pick and revert add
/// ([`without_trailers`]); the line ends of what goes stay, so that lines keep their places.
fn without_tool_lines(text: &str) -> std::borrow::Cow<'_, str> {
    static TOOL_LINES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            concat!(
                r#"(?i)MIME-Version:\s*1\.0\s+Content-Type:\s*[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w-]+=(?:"[^"\n]*"|[^\s;"]+))*;?(?:\s+Content-Transfer-Encoding:\s*(?:7bit|8bit|binary|quoted-printable|base64)\b)?"#,
                // What `git cherry-pick -x` and `git revert` write, in their case (prose that
                // says "this reverts commit …" stays).
                r#"|(?-i:\(cherry picked from commit [0-9a-f]{7,64}\)|\bThis reverts commit [0-9a-f]{7,64}\b(?:, reversing\s+changes made to [0-9a-f]{7,64}\b)?\.?)"#,
            ),
        )
        .expect("a valid pattern")
    });
    if !text.contains(':') && !text.contains("commit") {
        return std::borrow::Cow::Borrowed(text);
    }
    TOOL_LINES.replace_all(text, |m: &regex::Captures| {
        m[0].chars().filter(|&c| c == '\n').collect::<String>()
    })
}

/// Most words one written word's brace lists stand for; a word that stands for more stays as
/// written.
const MAX_BRACED: usize = 16;

/// The text with the brace lists of shell and commit-message shorthand written out, each word
/// as the words it stands for, separated by spaces: `src/{parser,lexer}.c` → `src/parser.c
/// src/lexer.c`, `{LZMA,BZ2}Decompressor` → `LZMADecompressor BZ2Decompressor`, `lib{,64}` →
/// `lib lib64`, and a word's several lists multiplied (`{a,b}_{x,y}.c`, four files). A list's
/// items are names or path pieces (letters, digits, `_ . - + /`), at least two, not all empty;
/// anything else in braces leaves its word as written (`{"a":1,"b":2}`, `{ a, b }`, nested
/// lists), as does standing for more than 16 words (`MAX_BRACED`); a shell variable stays as
/// written beside the lists of its word (`${ROOT}/src/{a,b}.c`). Lines keep their
/// places: no list holds a line end.
pub fn with_braces_expanded(text: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if !text.contains('{') || !text.contains(',') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut changed = false;
    let mut start = None;
    // Words as runs of non-whitespace, with the whitespace between them left as it was.
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                start = None;
                let word = &text[s..i];
                if let Some(words) = braced_words(word) {
                    out.push_str(&text[last..s]);
                    out.push_str(&words.join(" "));
                    last = i;
                    changed = true;
                }
            }
            _ => {}
        }
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The words one written word's brace lists stand for (see [`with_braces_expanded`]), or
/// `None` when it has no list to write out.
fn braced_words(word: &str) -> Option<Vec<String>> {
    if !word.contains('{') || !word.contains(',') {
        return None;
    }
    let item = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || "_.-+/".contains(c))
    };
    // The word as literal pieces and lists, in order; a shell variable (`${ROOT}`) is literal.
    let mut pieces: Vec<Vec<&str>> = Vec::new();
    let mut lists = 0;
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let end = open + 1 + close + 1;
        if rest[..open].ends_with('$') {
            pieces.push(vec![&rest[..end]]);
            rest = &rest[end..];
            continue;
        }
        let items: Vec<&str> = after[..close].split(',').collect();
        let list = items.len() >= 2
            && items.iter().all(|s| item(s))
            && items.iter().any(|s| !s.is_empty());
        if !list {
            return None;
        }
        pieces.push(vec![&rest[..open]]);
        pieces.push(items);
        lists += 1;
        rest = &rest[end..];
    }
    if lists == 0 || rest.contains('}') {
        return None;
    }
    pieces.push(vec![rest]);
    let count = pieces
        .iter()
        .try_fold(1usize, |n, p| n.checked_mul(p.len()))?;
    if count > MAX_BRACED {
        return None;
    }
    let mut words = vec![String::new()];
    for piece in pieces {
        words = words
            .iter()
            .flat_map(|w| piece.iter().map(move |p| format!("{w}{p}")))
            .collect();
    }
    Some(words)
}

fn trailers_of(text: &str) -> std::borrow::Cow<'_, str> {
    let lines: Vec<&str> = text.lines().collect();
    let blank = |i: usize| lines[i].trim().is_empty();
    let (header, blocks) = header_lines(&lines);
    let trailer = |line: &str| {
        let Some((key, value)) = key_value(line.trim_start(), 2) else {
            return false;
        };
        let key = key.to_ascii_lowercase();
        let by = key.len() > 3 && (key.ends_with("-by") || key.ends_with(" by"));
        by || TRAILER_KEYS.contains(&key.as_str()) || (key == "cc" && value.contains('@'))
    };
    // Trailers are looked for in each message: the text before the first pasted commit, and
    // each pasted commit's from its headers to the next one's, up to where its diff starts
    // (`diff --git` of `git show`; the `---` line of a patch mail).
    let mut trailers = vec![false; lines.len()];
    let mut starts: Vec<usize> = vec![0];
    starts.extend(blocks.iter().copied().filter(|&b| b > 0));
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        // Every start but the first is a pasted commit's; the first is when the text opens
        // with one.
        let pasted = k > 0 || blocks.first() == Some(&0);
        let message_end = (start..end)
            .find(|&i| {
                let l = lines[i];
                l.starts_with("diff --git ")
                    || l.starts_with("diff --cc ")
                    || (pasted && l.trim_end() == "---")
            })
            .unwrap_or(end);
        // The last paragraph: after the last blank line that follows some text (the title).
        let Some(first_text) =
            (start..message_end).find(|&i| !blank(i) && header[i] != Header::Drop)
        else {
            continue;
        };
        let text_end = (first_text..message_end)
            .rev()
            .find(|&i| !blank(i))
            .map_or(message_end, |i| i + 1);
        let last_start = (first_text..text_end)
            .rev()
            .find(|&i| blank(i))
            .map_or(text_end, |b| b + 1);
        for i in last_start..text_end {
            trailers[i] = header[i] == Header::No && trailer(lines[i]);
        }
    }
    // One pass: the kept lines, with their mail addresses left out.
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for (at, line) in lines.iter().enumerate() {
        let line = match header[at] {
            Header::No => *line,
            Header::Drop => {
                changed = true;
                continue;
            }
            Header::Subject(subject) => {
                changed = true;
                subject
            }
        };
        if trailers[at] {
            changed = true;
            continue;
        }
        let mut first = true;
        for word in line.split_whitespace() {
            if is_mail_address(word) || is_reference_link(word) {
                changed = true;
                continue;
            }
            if !first {
                out.push(' ');
            }
            out.push_str(word);
            first = false;
        }
        out.push('\n');
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// What becomes of a line that may belong to a pasted commit's or patch mail's headers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Header<'a> {
    No,
    Drop,
    /// A patch mail's `Subject:` line: only its subject stays.
    Subject(&'a str),
}

/// Marks the header block of each commit pasted as `git log` / `git show` print it (a line
/// `commit <hash>`, maybe with ref names, then `Key: value` lines with an `Author:` among them,
/// up to a blank line) or as `git format-patch` writes it (`From <40-digit hash> <date>`, then
/// mail headers with a `From:` among them, folded lines included, up to a blank line), and
/// returns where each block starts. A block that is not all such lines is left alone.
fn header_lines<'a>(lines: &[&'a str]) -> (Vec<Header<'a>>, Vec<usize>) {
    let hash = |w: &str, min: usize| {
        (min..=64).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let mut out = vec![Header::No; lines.len()];
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let mut words = line.split(' ');
        let needed = match (words.next(), words.next()) {
            (Some("commit"), Some(h)) if hash(h, 7) => {
                let rest = line["commit ".len() + h.len()..].trim();
                (rest.is_empty() || (rest.starts_with('(') && rest.ends_with(')')))
                    .then_some("author")
            }
            (Some("From"), Some(h)) if hash(h, 40) => Some("from"),
            _ => None,
        };
        // A patch file's mail headers without git's `From <hash>` line (as quilt and Debian's
        // patches carry them): a paragraph that opens with `From:` and a mail address, whose
        // fields include a `Subject:`; the `From:` line is a field of its own block.
        let paragraph = i == 0 || lines[i - 1].trim().is_empty();
        let (needed, first) = match needed {
            Some(needed) => (needed, i + 1),
            None if paragraph
                && key_value(line, 1).is_some_and(|(k, v)| {
                    k.eq_ignore_ascii_case("from") && v.split_whitespace().any(is_mail_address)
                }) =>
            {
                ("subject", i)
            }
            None => {
                i += 1;
                continue;
            }
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim().is_empty())
            .unwrap_or(lines.len());
        // Each line a field (keys of up to four words: `Author`, `AuthorDate`, `Primary key
        // fingerprint` of `--show-signature`, `X-Mailer`) or a folded line (None).
        let mut fields = Vec::with_capacity(end - first);
        for l in &lines[first..end] {
            let folded = l.starts_with([' ', '\t']);
            match key_value(l, 4) {
                _ if folded => fields.push(None),
                Some(f) => fields.push(Some(f)),
                None => break,
            }
        }
        let fields_only = fields.len() == end - first;
        let has_needed = fields
            .iter()
            .any(|f| f.is_some_and(|(k, _)| k.eq_ignore_ascii_case(needed)));
        if !(fields_only && has_needed) {
            i += 1;
            continue;
        }
        blocks.push(i);
        out[i] = Header::Drop;
        let mail = needed != "author";
        let mut in_subject = false;
        for (j, field) in (first..end).zip(fields) {
            let Some((k, v)) = field else {
                // A folded line continues the field above it: the subject's stays.
                out[j] = if in_subject { Header::No } else { Header::Drop };
                continue;
            };
            in_subject = mail && k.eq_ignore_ascii_case("subject");
            out[j] = if in_subject {
                Header::Subject(without_patch_tags(v.trim()))
            } else {
                Header::Drop
            };
        }
        i = end;
    }
    (out, blocks)
}

/// A `Key: value` line's key and value, the key (not starting with a blank) made of at most
/// `words` words of ASCII letters, digits and `-`: a trailer's, a commit's or a mail's header.
fn key_value(line: &str, words: usize) -> Option<(&str, &str)> {
    line.split_once(':').filter(|(k, _)| {
        !k.is_empty()
            && !k.starts_with(' ')
            && k.split(' ').count() <= words
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
    })
}

/// A patch mail's subject without its leading `[PATCH]`, `[PATCH v2 3/7]`, `[RFC PATCH]` tags.
fn without_patch_tags(subject: &str) -> &str {
    let mut s = subject;
    while let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((tag, after)) if tag.split_whitespace().any(is_patch_word) => {
                s = after.trim_start()
            }
            _ => break,
        }
    }
    s
}

/// `PATCH`, `patch` or `PATCHv2`, a word of a patch mail's subject tag (not `dispatcher`).
fn is_patch_word(word: &str) -> bool {
    let w = word.to_ascii_uppercase();
    w == "PATCH"
        || w.strip_prefix("PATCHV")
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

/// Top-level domains of mail hosts written bare (`ann@example.org`); in brackets or after
/// `mailto:` any domain counts.
const MAIL_TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "mil", "int", "io", "dev", "ai", "app", "info", "biz", "me",
    "co", "us", "uk", "de", "fr", "nl", "be", "ch", "at", "it", "es", "pt", "se", "no", "fi", "dk",
    "pl", "cz", "hu", "ru", "ua", "jp", "cn", "kr", "tw", "in", "au", "nz", "ca", "br", "ar", "mx",
    "eu", "ie", "il", "gr", "ro",
];

/// A mail address: `<a.b@mail.example.org>`, `Ann<a@b.org>`, `mailto:a@b.org`, or bare
/// `ann@example.org` with a common mail domain (not Python's `x@self.proj`, `trunk@1234`, a
/// path's `pkg@1.2/x.py`, a scope's `@babel/core`, `logo@2x.png` or `wg-quick@wg0.service`).
fn is_mail_address(word: &str) -> bool {
    let (marked, w) = match word.rsplit_once('<') {
        Some((_, after)) => (true, after),
        None => match word.split_once("mailto:") {
            Some((_, after)) => (true, after),
            None => (false, word),
        },
    };
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    w.split_once('@').is_some_and(|(local, host)| {
        !local.is_empty()
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+-_%".contains(&b))
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && host.rsplit_once('.').is_some_and(|(name, tld)| {
                let tld = tld.to_ascii_lowercase();
                !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && tld.len() >= 2
                    && tld.bytes().all(|b| b.is_ascii_alphabetic())
                    && (marked || MAIL_TLDS.contains(&tld.as_str()))
            })
    })
}

/// A link to an issue, a pull or merge request, a bug, a review, a commit or a mail
/// (`https://github.com/o/r/issues/123`, `…/pull/7/files`, `…/commit/5f11478ce7fd`,
/// `https://bugs.debian.org/1023456`, `show_bug.cgi?id=123`, `https://bugs.python.org/issue4567`,
/// `https://lore.kernel.org/r/<id@host>`): like a tracker's id, a reference to something
/// outside the code, whose words (github, issues, the project's name) would match code by
/// chance. A path segment of three or more digits, a commit hash, a mail id or a last segment
/// ending in three digits (`issue4567`, `D12345`) makes one; documentation links
/// (`https://docs.python.org/3/library/os.html`) stay.
fn is_reference_link(word: &str) -> bool {
    let w = word.trim_matches(|c: char| "<>()[]{}.,;:'\"`".contains(c));
    let Some(rest) = w
        .strip_prefix("https://")
        .or_else(|| w.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let digits = |s: &str, min: usize| s.len() >= min && s.bytes().all(|b| b.is_ascii_digit());
    let id_in_query = query
        .split('&')
        .any(|pair| pair.split_once('=').is_some_and(|(_, v)| digits(v, 1)));
    let segments: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
    // A link to a file of a repository (`…/blob/<commit>/src/a.rs`) names code, not a
    // reference: `context::rank` finds the file it names.
    if segments
        .iter()
        .any(|s| matches!(*s, "blob" | "raw" | "tree" | "src"))
    {
        return false;
    }
    let last = segments.last().copied().unwrap_or_default();
    let numbered = last.len() > 3
        && last.bytes().all(|b| b.is_ascii_alphanumeric())
        && last.as_bytes()[last.len() - 3..]
            .iter()
            .all(u8::is_ascii_digit);
    // `issues/7`, `pull/7`, `merge_requests/7`, `+bug/7`, `ticket/7`: an id of any length.
    let kinds = [
        "issues",
        "pull",
        "pulls",
        "merge_requests",
        "+bug",
        "bug",
        "ticket",
        "tickets",
    ];
    let after_kind = segments
        .windows(2)
        .any(|p| kinds.contains(&p[0]) && digits(p[1], 1));
    id_in_query
        || numbered
        || after_kind
        || segments.iter().any(|s| {
            digits(s, 3)
                || s.contains('@')
                || (s.len() >= 7
                    && s.bytes().all(|b| b.is_ascii_hexdigit())
                    && s.bytes().any(|b| b.is_ascii_digit()))
        })
}

/// A part of an identifier too short to be a term alone: one letter, or a number.
fn short_part(p: &str) -> bool {
    p.len() < 2 || p.bytes().all(|b| b.is_ascii_digit())
}

/// Turns words into terms.
pub struct Analyzer {
    stemmer: Stemmer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { stemmer: stemmer() }
    }
}

impl Analyzer {
    /// The terms of one identifier or word: each of its parts stemmed, plus the whole
    /// (lowercased) when it has several parts. Pure numbers and one-letter parts are dropped,
    /// but not from the whole: `u128`, `i32`, `h2`, `k8s`, `e2e` are terms.
    pub fn word_terms(&self, word: &str, mut f: impl FnMut(Term)) {
        if word.len() > 64 {
            return;
        }
        let parts = split_identifier(word);
        // A run of dropped parts inside a longer identifier is a term of its own
        // (`decode_u128` → u128).
        let mut run: Vec<&str> = Vec::new();
        let end_run = |run: &mut Vec<&str>, f: &mut dyn FnMut(Term)| {
            if run.len() > 1 && run.len() < parts.len() {
                let joined = run.concat();
                if !joined.bytes().all(|b| b.is_ascii_digit()) {
                    f(hash(&joined));
                }
            }
            run.clear();
        };
        for p in &parts {
            if short_part(p) {
                run.push(p);
                continue;
            }
            end_run(&mut run, &mut f);
            f(hash(&self.stemmer.stem(p)));
        }
        end_run(&mut run, &mut f);
        if parts.len() > 1 {
            let whole: String = parts.concat();
            if !whole.bytes().all(|b| b.is_ascii_digit()) {
                f(hash(&whole));
            }
        }
    }

    /// The terms of a text: every word's terms, in order, repeats included.
    pub fn text_terms(&self, text: &str) -> Vec<Term> {
        let mut out = Vec::new();
        for_each_word(text, |w| self.word_terms(w, |t| out.push(t)));
        out
    }
}

/// One term of a task, with what it came from.
#[derive(Debug, Clone)]
pub struct QueryTerm {
    pub term: Term,
    /// The word as the task wrote it (the first occurrence).
    pub word: String,
    /// An identifier-looking word (`snake_case`, `camelCase`, a dotted path's part) or its
    /// whole: a strong signal.
    pub code_like: bool,
    /// A whole compound identifier (`jsondecoder`), not one of its parts.
    pub whole: bool,
}

/// The distinct terms of a task, stopwords and change-describing words dropped.
pub fn query_terms(analyzer: &Analyzer, task: &str) -> Vec<QueryTerm> {
    let mut out: Vec<QueryTerm> = Vec::new();
    // A set beside the list: a pasted log of 100,000 distinct words took seconds to check
    // against the list alone.
    let mut seen: std::collections::HashSet<Term> = std::collections::HashSet::new();
    for_each_word(task, |w| {
        let lower = w.to_lowercase();
        if STOPWORDS.contains(&lower.as_str())
            || TASK_WORDS.contains(&lower.as_str())
            || is_reference(task, w)
        {
            return;
        }
        let parts = split_identifier(w);
        // `C0`, `u128`, `h2`: a word of short parts only, which prose has too ("C0 control
        // characters"); it weighs as a plain word.
        let short = parts.iter().all(|p| short_part(p));
        let code_like = (parts.len() > 1 && !short) || w.contains('_');
        let mut push = |term: Term, whole: bool| {
            if seen.insert(term) {
                out.push(QueryTerm {
                    term,
                    word: w.to_string(),
                    code_like,
                    whole,
                });
            }
        };
        let whole_term = (parts.len() > 1 && !short).then(|| hash(&parts.concat()));
        analyzer.word_terms(w, |t| push(t, Some(t) == whole_term));
    });
    out
}

/// Whether the word `w` (a slice of `task`) is a reference to something outside the code: a
/// commit hash (`5f11478ce7fd`: seven or more hex digits, letters and digits mixed) or an issue
/// tracker's prefix (`GH-102126`, `bpo-4567`, `JDK-8012345`: a word joined to four or more
/// digits by `-`). Their pieces (`ce`, `fda`, `gh`) would only match code by chance.
fn is_reference(task: &str, w: &str) -> bool {
    if looks_like_hash(w) {
        return true;
    }
    // The word with the `-` and digits that follow it in the task.
    let start = w.as_ptr() as usize - task.as_ptr() as usize;
    let tail = &task[start + w.len()..];
    let run = tail
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(tail.len());
    is_tracker_id(task[start..start + w.len() + run].trim_end_matches('-'))
}

/// An issue tracker's id: letters joined by `-` to a number of four or more digits, maybe
/// followed by more numbers (`GH-102126`, `bpo-4567`, `JDK-8012345`, `CVE-2022-40303`); not a
/// standard's or an encoding's (`ISO-8601`, `Windows-1252`: see `NOT_TRACKERS`).
pub fn is_tracker_id(token: &str) -> bool {
    let mut parts = token.split('-');
    let letters = parts.next().is_some_and(|p| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_alphabetic())
            && !NOT_TRACKERS.contains(&p.to_ascii_lowercase().as_str())
    });
    let numbers: Vec<&str> = parts.collect();
    letters
        && numbers.first().is_some_and(|n| n.len() >= 4)
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A word that carries nothing in a task (`the`, `in`, `same`), lowercased.
pub fn is_stop_word(lower: &str) -> bool {
    STOPWORDS.contains(&lower)
}

/// A word that says what kind of change a task is rather than what code it touches (`fix`,
/// `add`, `refactor`, …), lowercased.
pub fn is_change_word(lower: &str) -> bool {
    TASK_WORDS.contains(&lower)
}

/// Of the tracker references a text writes, the first this many count (a pasted changelog
/// names thousands).
pub const MAX_REFS: usize = 50;

/// Prefixes of ids that look like a tracker's and name a standard or an encoding
/// (`ISO-8601`, `RFC-2119`, `Windows-1252`, `ISO-8859-1`).
const NOT_TRACKERS: &[&str] = &[
    "ansi", "ascii", "big", "cp", "din", "ecma", "en", "euc", "fips", "gb", "ibm", "iec", "ieee",
    "iso", "jis", "koi", "ks", "latin", "mac", "md", "ms", "nist", "posix", "rfc", "sha", "tis",
    "ucs", "unicode", "utf", "win", "windows", "x",
];

/// The first `max` issue and tracker references a text writes, each once, in order, in one
/// spelling: `#123`, `(#123)`, `gh-123`, `GH-123`, `issue 123` and `issue #123` as `#123`
/// (GitHub numbers issues and pull requests in one sequence, and CPython writes its issues
/// `gh-`; a link to an issue, `…/issues/123`, is not read: it is often another repository's);
/// other trackers' ids lowercased whole ([`is_tracker_id`]: `bpo-4567`, `JDK-8012345` →
/// `jdk-8012345`, `CVE-2022-40303`). A `#` after a letter or digit (`repo#12`, `C#`) or an
/// `&` (`&#13;`) is none.
pub fn tracker_refs(text: &str, max: usize) -> Vec<String> {
    static REFS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"(?i)(?:^|[^0-9a-z_&])#(\d{1,9})(?-u:\b)|\bgh-(\d{1,9})(?-u:\b)",
            r"|\bissue\s+#?(\d{1,9})(?-u:\b)|\b([a-z]+(?:-\d+)+)\b",
        ))
        .expect("a valid pattern")
    });
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for c in REFS.captures_iter(text) {
        if out.len() >= max {
            break;
        }
        let number = (1..=3).find_map(|i| c.get(i));
        let r = match (number, c.get(4)) {
            (Some(n), _) => format!("#{}", n.as_str().trim_start_matches('0')),
            (None, Some(id)) if is_tracker_id(id.as_str()) => id.as_str().to_ascii_lowercase(),
            _ => continue,
        };
        if r != "#" && seen.insert(r.clone()) {
            out.push(r);
        }
    }
    out
}

/// The term under which a commit's message holds a tracker reference (see [`tracker_refs`]):
/// no word of any text analyses to it.
pub fn reference_term(reference: &str) -> Term {
    hash(&format!("\u{1}{reference}"))
}

/// The subject of the commit a task reverts or applies again, as `git revert` and the tools
/// that reland a change write its first line: `Revert "parser: accept empty headers"`,
/// `Reapply "…"`, `Reland "…"` (GitHub's `Revert "…" (#123)` too), and whether it reverts.
pub fn reverted_subject(task: &str) -> Option<(&str, bool)> {
    static REVERT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"^(?i:(revert)|reapply|re-apply|reland|re-land)\s+"(.+)"(?:\s+\(#\d+\))?$"#,
        )
        .expect("a valid pattern")
    });
    let first = task.lines().find(|l| !l.trim().is_empty())?.trim();
    let c = REVERT.captures(first)?;
    Some((c.get(2)?.as_str(), c.get(1).is_some()))
}

/// A word that may be a commit hash: 7 to 64 hex digits, letters and digits mixed (`5f11478`;
/// not `deadbeef`, not `1234567`).
fn looks_like_hash(w: &str) -> bool {
    (7..=64).contains(&w.len())
        && w.bytes().all(|b| b.is_ascii_hexdigit())
        && w.bytes().any(|b| b.is_ascii_digit())
        && w.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The first `max` commit hashes a text writes ("fixes a regression from 5f11478", `Fixes:
/// 1a2b3c4d5e ("tspi: cache keys")`, `This reverts commit …`), lowercased, each once, in order.
pub fn commit_hashes(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for_each_word(text, |w| {
        if out.len() < max && looks_like_hash(w) {
            let w = w.to_ascii_lowercase();
            if !out.contains(&w) {
                out.push(w);
            }
        }
    });
    out
}

/// Whether the task refers to the commit before it: "fix the bug in the previous commit",
/// "add the file the last commit forgot", "see prior commit". Only "commit": "the previous
/// change in the editor buffer" and "the latest patch release" are about other things.
pub fn refers_to_last_commit(task: &str) -> bool {
    static LAST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(?:previous|last|prior|preceding)\s+commit\b")
            .expect("a valid pattern")
    });
    LAST.is_match(task)
}

/// Whether the task is about tests (then test files are not discounted).
/// A test's name in camelCase: `TestCase`, `TestLedger`, `testLedger`, `LedgerTest`,
/// `LedgerTests` (not `Testament`, `Latest`, `Contest`).
fn names_a_test(w: &str) -> bool {
    let upper_at = |i: usize| w[i..].starts_with(|c: char| c.is_ascii_uppercase());
    let lower_before =
        |i: usize| w[..i].ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    (w.starts_with("Test") || w.starts_with("test")) && w.len() > 4 && upper_at(4)
        || w.ends_with("Test") && w.len() > 4 && lower_before(w.len() - 4)
        || w.ends_with("Tests") && w.len() > 5 && lower_before(w.len() - 5)
}

pub fn mentions_tests(task: &str) -> bool {
    let mut found = false;
    for_each_word(task, |w| {
        let l = w.to_lowercase();
        if matches!(
            l.as_str(),
            "test"
                | "tests"
                | "testing"
                | "tested"
                | "spec"
                | "specs"
                | "pytest"
                | "unittest"
                | "fixture"
                | "fixtures"
                | "flaky"
                | "coverage"
                | "e2e"
                | "unittests"
                | "testcase"
                | "testcases"
                | "testsuite"
                | "testsuites"
                | "doctest"
                | "doctests"
        ) || l.starts_with("test_")
            || l.starts_with("tests_")
            || l.ends_with("_test")
            || l.ends_with("_tests")
            || names_a_test(w)
        {
            found = true;
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_and_mail_addresses_are_not_task_text() {
        let message = "tspi: fix a leak in Tspi_Key_LoadKey\n\n\
                       Fixes: 1a2b3c4d5e (\"tspi: cache keys\")\n\
                       Reported-by: Andy Lutomirski <luto@users.sourceforge.net>\n\
                       Signed-off-by:  Kent Yoder <key@linux.vnet.ibm.com>\n\
                       \tCo-Authored-By: A. N. Other <other@example.org>\n\
                       Change-Id: I0123456789abcdef\n\
                       git-svn-id: https://svn.example.org/trunk@1234 5f2c-11de\n\
                       Mailed by key@linux.vnet.ibm.com to the list.\n\
                       Note: @property and @babel/core stay; so does a: b.";
        let text = without_trailers(message);
        assert_eq!(
            text,
            "tspi: fix a leak in Tspi_Key_LoadKey\n\n\
             Fixes: 1a2b3c4d5e (\"tspi: cache keys\")\n\
             Mailed by to the list.\n\
             Note: @property and @babel/core stay; so does a: b.\n"
        );
        let a = Analyzer::default();
        let words: Vec<String> = query_terms(&a, &text).into_iter().map(|q| q.word).collect();
        for gone in ["key", "linux", "Kent", "Yoder", "signed", "svn", "Change"] {
            assert!(!words.iter().any(|w| w == gone), "{gone}: {words:?}");
        }
        // The title is never a trailer; paths and versions with an `@` are no mail addresses.
        let title = "link: pass --as-needed\n\nsee packages/@scope/x@1.2/index.js, a@b";
        assert_eq!(without_trailers(title), title);
        // Trailers are the last paragraph's lines, `Cc:` only with an address: a pasted build
        // log's `cc: error:` stays.
        let log = "build fails\n\ncc: error: lib/foo.c: No such file\nReported-by: CI";
        assert_eq!(
            without_trailers(log),
            "build fails\n\ncc: error: lib/foo.c: No such file\n"
        );
        // Blank lines after the trailers change nothing.
        assert_eq!(
            without_trailers("fix it\n\nReported-by: Thursday CI\n\n\n"),
            "fix it\n\n\n\n"
        );
        let body =
            "fix it\n\nReported-by: CI\nmore words\n\nCc: Ann <ann@example.org>\nCc: the list";
        assert_eq!(
            without_trailers(body),
            "fix it\n\nReported-by: CI\nmore words\n\nCc: the list\n"
        );
        // A commit pasted as `git show` prints it: the headers go, the message is read as one.
        let shown = "commit 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b (HEAD -> main, origin/main)\n\
                     Merge: 1a2b3c4 5d6e7f8\n\
                     Author: Dec Ember <dec@example.org>\n\
                     Date:   Thu Dec 4 18:43:22 2026 +0000\n\n\
                     \x20   link: pass --as-needed\n\n\
                     \x20   Signed-off-by: Dec Ember <dec@example.org>\n";
        let text = without_trailers(shown);
        assert_eq!(text, "\nlink: pass --as-needed\n\n");
        assert_eq!(
            crate::context::rank::component_of(&text).as_deref(),
            Some("link")
        );
        // A patch mail as `git format-patch` writes it.
        let mail = "From 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b Mon Sep 17 00:00:00 2001\n\
                    From: Ann <ann@example.org>\n\
                    Date: Thu, 4 Dec 2026 18:43:22 +0000\n\
                    Subject: [PATCH v2 3/7] xmlreader: fix a leak\n \
                    when the input ends early\n\n\
                    The body.\n";
        assert_eq!(
            without_trailers(mail),
            "xmlreader: fix a leak\nwhen the input ends early\n\nThe body.\n"
        );
        // `git show` prints the diff after the message, and `git log` several commits: each
        // message's trailers go; `--show-signature`'s lines are headers too.
        let signed = "\n\n    Signed-off-by: Dec Ember <dec@example.org>\n";
        let show = format!(
            "commit 1a2b3c4d (HEAD)\nAuthor: A <a@example.org>\n\
             gpg: Signature made Thu Dec  4 18:43:22 2026 UTC\n\
             gpg:                using RSA key 0123ABCD\n\
             Primary key fingerprint: 0123 4567 89AB\nDate:   Thu Dec 4\n\n\
             \x20   parse: check the length{signed}\n\
             diff --git a/lib/parse.py b/lib/parse.py\n--- a/lib/parse.py\n+++ b/lib/parse.py\n"
        );
        let text = without_trailers(&show);
        assert!(!text.contains("Dec") && !text.contains("gpg"), "{text}");
        assert!(text.contains("diff --git a/lib/parse.py"), "{text}");
        let log = format!(
            "commit 1a2b3c4d\nAuthor: A <a@example.org>\nDate: Thu Dec 4\n\n    parse: one{signed}\n\
             commit 5e6f7a8b\nAuthor: B <b@example.org>\nDate: Wed Dec 3\n\n    parse: two{signed}"
        );
        assert_eq!(without_trailers(&log), "\nparse: one\n\n\n\nparse: two\n\n");
        let bare = "From 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b Mon Sep 17 00:00:00 2001\n\
                    From: Ann <ann@example.org>\nSubject: [PATCH] parse: check it\n\n\
                    Signed-off-by: Dec Ember <dec@example.org>\n---\n lib/parse.py | 2 +-\n";
        assert_eq!(
            without_trailers(bare),
            "parse: check it\n\n---\nlib/parse.py | 2 +-\n"
        );
        // A patch file's headers without git's `From <hash>` line, as quilt and Debian's
        // patches carry them, with MIME headers a patch tool folded into the subject.
        let quilt = "From: Ann <ann+x@users.noreply.example.org>\n\
                     Date: Fri, 12 Jul 2024 11:38:34 +0200\n\
                     Subject: [PATCH] [4.2.x] Fixed -- Prevented excessive memory\n  \
                     consumption in floatformat. MIME-Version: 1.0 Content-Type: text/plain;\n \
                     charset=UTF-8 Content-Transfer-Encoding: 8bit\n\
                     MIME-Version: 1.0\n\
                     Content-Type: text/plain; charset=\"utf-8\"\n\
                     Content-Transfer-Encoding: 8bit\n\n\
                     Thanks Dec for the report.\n\n\
                     Co-authored-by: Bo <bo@example.org>\n---\n lib/a.py | 2 +-\n";
        assert_eq!(
            without_trailers(quilt),
            "[4.2.x] Fixed -- Prevented excessive memory\nconsumption in floatformat.\n\n\n\n\n\n\
             Thanks Dec for the report.\n\n---\nlib/a.py | 2 +-\n"
        );
        // MIME headers only go with a `MIME-Version: 1.0`; and a `From:` line opens a header
        // block only with a mail address and a `Subject:`.
        for (text, read) in [
            (
                "Content-Type: text/plain; charset=UTF-8 is sent for JSON",
                "Content-Type: text/plain; charset=UTF-8 is sent for JSON",
            ),
            // Headers quoted in a report about mail code are words of the report.
            (
                "the mail has MIME-Version: 1.0 but Content-Type: text/plain; charset=utf-8 is wrong",
                "the mail has MIME-Version: 1.0 but Content-Type: text/plain; charset=utf-8 is wrong",
            ),
            (
                "From: Ann <ann@example.org>\nTo: the list\nthe parser crashes",
                "From: Ann\nTo: the list\nthe parser crashes\n",
            ),
            (
                "see below\nFrom: Ann <ann@example.org>\nSubject: x",
                "see below\nFrom: Ann\nSubject: x\n",
            ),
            // What git cherry-pick -x and git revert add goes; a commit named in prose stays.
            (
                "fix deadlock (GH-102222)\n\n(cherry picked from commit 5f11478ce7fda826)\n",
                "fix deadlock (GH-102222)\n\n\n",
            ),
            (
                "Revert \"x\"\n\nThis reverts commit 1a2b3c4d5e.\nIt broke y.",
                "Revert \"x\"\n\n\nIt broke y.",
            ),
            (
                "the fix from commit 1a2b3c4d5e was lost",
                "the fix from commit 1a2b3c4d5e was lost",
            ),
            (
                "I think this reverts commit 1a2b3c4d5e (Cherry picked from Commit 1a2b3c4d5e)",
                "I think this reverts commit 1a2b3c4d5e (Cherry picked from Commit 1a2b3c4d5e)",
            ),
            (
                "Revert \"Merge x\"\n\nThis reverts commit 1a2b3c4d5e, reversing\nchanges made to 5f6e7d8c9b.\n",
                "Revert \"Merge x\"\n\n\n\n",
            ),
        ] {
            assert_eq!(without_trailers(text), read, "{text:?}");
        }
        assert_eq!(
            without_patch_tags("[dispatcher] [PATCH] x: fix"),
            "[dispatcher] [PATCH] x: fix"
        );
        assert_eq!(without_patch_tags("[RFC PATCHv2 1/2] x: fix"), "x: fix");
        // Text that only starts like a header block stays whole: a block needs `Author:` (a
        // commit) or `From:` (a mail), and nothing but header lines.
        for kept in [
            "commit abc1234 broke the build",
            "From 1a2b3c4 on, the cache is stale",
            "Broken since\ncommit 4f2a9c1\nSymptom: parse_header returns a short record",
            "commit deadbeef\nTypeError: bad\n    at parseHeader (src/parse.js:10:5)",
            "commit 1234567\nname: build\non: push\njobs:\n  test:",
            "From 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b onwards\nNote: the cache is stale",
            "commit 1234567\nAuthor: A\nthe parser crashes",
        ] {
            assert_eq!(without_trailers(kept), kept, "{kept:?}");
        }

        // Mail addresses, and what only looks like one.
        for mail in [
            "<a@b.example>",
            "Ann<ann@example.org>",
            "mailto:a@b.org",
            "a.b@x.co.uk",
        ] {
            assert!(is_mail_address(mail), "{mail}");
        }
        for not in [
            "logo@2x.png",
            "x@self.proj",
            "wg-quick@wg0.service",
            "file@v1.js",
            "@a/b",
        ] {
            assert!(!is_mail_address(not), "{not}");
        }
        // Links to issues, requests, bugs, commits and mails; not documentation.
        for link in [
            "https://github.com/nodejs/node/issues/33279",
            "(https://github.com/o/r/pull/7/files#diff-1a2b)",
            "https://github.com/o/r/commit/5f11478ce7fd.",
            "<https://bugs.debian.org/1023456>",
            "https://bugzilla.redhat.com/show_bug.cgi?id=2148442",
            "https://bugs.python.org/issue4567",
            "https://gitlab.com/o/r/-/merge_requests/12",
            "https://lore.kernel.org/r/20230101.abc@host.example",
            "http://reviews.llvm.org/D12345",
        ] {
            assert!(is_reference_link(link), "{link}");
        }
        for not in [
            "https://docs.python.org/3/library/os.html",
            "https://example.com/a\u{e9}12",
            "https://example.com/\u{20ac}1",
            "https://github.com/o/r/blob/5f11478ce7fd0123/src/a.rs#L2",
            "https://github.com/o/r/blob/main/docs/guide.md?plain=1#L3",
            "https://example.com/api/v2/users",
            "https://github.com/o/r",
            "github.com/o/r/issues/1234",
            "https://",
        ] {
            assert!(!is_reference_link(not), "{not}");
        }
        assert_eq!(
            without_trailers(
                "dns: fix lookups on IPv6-only hosts, see https://github.com/nodejs/node/issues/33279"
            ),
            "dns: fix lookups on IPv6-only hosts, see\n"
        );
        // Nothing to take out: the task as it is.
        let plain = "component: fix it\nsee foo.c";
        assert!(matches!(
            without_trailers(plain),
            std::borrow::Cow::Borrowed(t) if t == plain
        ));
    }

    #[test]
    fn letters_and_digits_make_a_term_together() {
        let a = Analyzer::default();
        let terms = |w: &str| {
            let mut out = Vec::new();
            a.word_terms(w, |t| out.push(t));
            out
        };
        for w in ["u128", "i32", "h2", "k8s", "e2e", "f1234"] {
            assert_eq!(terms(w), [hash(w)], "{w}");
        }
        assert_eq!(
            terms("decode_u128"),
            [hash("decod"), hash("u128"), hash("decodeu128")]
        );
        assert_eq!(terms("base64"), [hash("base"), hash("base64")]);
        assert!(terms("2").is_empty() && terms("x").is_empty() && terms("1_2").is_empty());
        // The task's `u128` matches the code's.
        assert!(
            query_terms(&a, "fix u128 overflow")
                .iter()
                .any(|q| q.term == hash("u128"))
        );
    }

    #[test]
    fn identifiers_split_into_words() {
        assert_eq!(
            split_identifier("parseHTTPResponse2"),
            ["parse", "http", "response", "2"]
        );
        assert_eq!(split_identifier("JSONDecoder"), ["json", "decoder"]);
        assert_eq!(split_identifier("__init__"), ["init"]);
        assert_eq!(split_identifier("raw_decode"), ["raw", "decode"]);
        assert_eq!(split_identifier("x"), ["x"]);
        assert_eq!(split_identifier("URLs"), ["urls"]);
        assert_eq!(split_identifier("getIDsFor"), ["get", "ids", "for"]);
        assert_eq!(split_identifier("HTTPServer"), ["http", "server"]);
        assert_eq!(split_identifier("HTTPSession"), ["http", "session"]);
        assert_eq!(split_identifier("IPv6"), ["ipv", "6"]);
        assert_eq!(split_identifier("is_ipv6"), ["is", "ipv", "6"]);
        assert_eq!(split_identifier("IOError"), ["io", "error"]);
    }

    #[test]
    fn task_terms_stem_and_match_code_terms() {
        let a = Analyzer::default();
        let q = query_terms(&a, "Fix the decoder when decoding JSONDecoder errors");
        let words: Vec<&str> = q.iter().map(|t| t.word.as_str()).collect();
        // "decoder" and "decoding" share the stem; "Fix", "the", "when" are dropped.
        assert_eq!(words, ["decoder", "JSONDecoder", "JSONDecoder", "errors"]);
        let code = a.text_terms("class JSONDecoder: def raw_decode(self): raise DecodeError");
        for t in &q {
            assert!(code.contains(&t.term) || t.word == "errors", "{t:?}");
        }
        assert!(q.iter().any(|t| t.whole && t.term == hash("jsondecoder")));
    }

    #[test]
    fn commit_hashes_and_tracker_ids_are_not_terms() {
        let a = Analyzer::default();
        let q = query_terms(
            &a,
            "gh-102126: fix deadlock in commit 5f11478ce7fda826 bpo-4567 UTF-8 SHA-256",
        );
        let words: Vec<&str> = q.iter().map(|t| t.word.as_str()).collect();
        assert_eq!(words, ["deadlock", "commit", "UTF", "SHA"]);
        // A standard's or an encoding's id is no tracker's: its name is a word of the task.
        let q = query_terms(&a, "parse ISO-8601 dates in Windows-1252 files");
        let words: Vec<&str> = q.iter().map(|t| t.word.as_str()).collect();
        assert_eq!(words, ["parse", "ISO", "dates", "Windows", "files"]);
    }

    #[test]
    fn brace_lists_are_written_out() {
        let cases = [
            ("fix src/{parser,lexer}.c", "fix src/parser.c src/lexer.c"),
            (
                "UAF in `{LZMA,BZ2}Decompressor`",
                "UAF in `LZMADecompressor` `BZ2Decompressor`",
            ),
            (
                "ignore /usr/lib{32,x32}/ now",
                "ignore /usr/lib32/ /usr/libx32/ now",
            ),
            ("lib{,64}", "lib lib64"),
            ("{a,b}_{x,y}.c:12", "a_x.c:12 a_y.c:12 b_x.c:12 b_y.c:12"),
            // Lines keep their places; the blanks around a word stay as they were.
            ("one\n\t{a,b}.h  two\n", "one\n\ta.h b.h  two\n"),
            (
                "piuparts-{master,slave}-deps",
                "piuparts-master-deps piuparts-slave-deps",
            ),
            // A shell variable stays as written, the list beside it is written out.
            ("${ROOT}/src/{a,b}.c", "${ROOT}/src/a.c ${ROOT}/src/b.c"),
        ];
        for (text, want) in cases {
            assert_eq!(with_braces_expanded(text), want, "{text}");
        }
        // Not lists: shell variables, JSON, lists with blanks, nested or unclosed braces,
        // one item, only empty items, and a word standing for more than 16.
        for text in [
            "echo ${HOME} ${a,b}",
            r#"{"a":1,"b":2}"#,
            "{ a, b }",
            "{a,{b,c}}",
            "{a,b",
            "a,b}",
            "{a}.c, b",
            "x{,}y",
            "{a,b,c,d,e}{f,g,h,i}.c",
            "plain text, with commas",
        ] {
            assert!(
                matches!(with_braces_expanded(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
        // Some words of a text are lists and some are not.
        assert_eq!(with_braces_expanded("${X} {a,b}.c {c}"), "${X} a.c b.c {c}");
    }

    #[test]
    fn tracker_references_are_found_in_one_spelling() {
        let text = "Work on issue #13 (#74), see gh-13 and Issue 7; fixes bpo-4567, JDK-8012345 \
                    and CVE-2022-40303 #13\n#042: not repo#12, C#, &#10;, UTF-8, x86-64, SHA-256, \
                    ISO 8859, ISO-8601, Windows-1252, RFC-2119, 2 issues 13 years old; \
                    https://github.com/o/r/issues/99 修复#21中的问题";
        assert_eq!(
            tracker_refs(text, 50),
            [
                "#13",
                "#74",
                "#7",
                "bpo-4567",
                "jdk-8012345",
                "cve-2022-40303",
                "#42",
                "#21"
            ]
        );
        assert_eq!(tracker_refs(text, 2), ["#13", "#74"]);
        assert!(tracker_refs("plain words, a #tag and #", 50).is_empty());
    }

    #[test]
    fn reverted_subjects_are_read() {
        let cases = [
            (
                "Revert \"parser: accept empty headers\"\n\nThis reverts commit 1a2b3c4.",
                Some(("parser: accept empty headers", true)),
            ),
            ("\n  revert \"x\" (#123)", Some(("x", true))),
            (
                "Revert \"Revert \"a: b\"\"",
                Some(("Revert \"a: b\"", true)),
            ),
            ("Reland \"[X] y\"", Some(("[X] y", false))),
            ("Reapply \"z\"", Some(("z", false))),
            ("Revert the parser change", None),
            ("Revert \"\"", None),
            ("Don't revert \"x\"", None),
        ];
        for (task, want) in cases {
            assert_eq!(reverted_subject(task), want, "{task}");
        }
    }

    #[test]
    fn commit_hashes_are_found() {
        let text = "Fixes: 1A2B3C4D5E (\"tspi: cache keys\")\nregression from 5f11478, see 5f11478; \
                    not deadbeef, 1234567, a1b2c3 or 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0; 9e16feb";
        assert_eq!(commit_hashes(text, 5), ["1a2b3c4d5e", "5f11478", "9e16feb"]);
        assert_eq!(commit_hashes(text, 2), ["1a2b3c4d5e", "5f11478"]);
    }

    #[test]
    fn the_last_commit_is_referred_to() {
        for task in [
            "Fixing problem with previous commit",
            "Fix the bug in the previous commit, and sync with internal.",
            "Adding missing file from Previous Commit.",
            "revert last\ncommit",
            "Styling the prompt (see previous commit)",
        ] {
            assert!(refers_to_last_commit(task), "{task}");
        }
        for task in [
            "Undo should restore the previous change in the editor buffer",
            "Upgrade lodash to the latest patch release",
            "Show the most recent commit in the status bar",
            "commit the previous value before the last write",
            "the last committed transaction is lost",
            "show the last commits of a branch in the log view",
            "previous release notes",
        ] {
            assert!(!refers_to_last_commit(task), "{task}");
        }
    }

    #[test]
    fn tests_are_mentioned() {
        assert!(mentions_tests("Add a regression test for X"));
        assert!(mentions_tests("fix test_parse flakiness"));
        assert!(!mentions_tests("contest results are wrong"));
        for task in [
            "add a TestCase for ledger rounding",
            "LedgerTest fails on leap days",
            "rename testLedger",
            "TestLedger: cover refunds",
            "ParserTests are slow",
            "split integration_tests by crate",
            "run the unittests under valgrind",
            "doctest output drifts",
            "tests_helpers: share a tempdir",
        ] {
            assert!(mentions_tests(task), "{task}");
        }
        for task in [
            "Testament of the ledger",
            "Latest rates are stale",
            "Contest closes early",
        ] {
            assert!(!mentions_tests(task), "{task}");
        }
    }
}
