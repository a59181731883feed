//! Rendering blocks of context and packing them into an exact token budget.
//!
//! A block is one file: its path (and the line ranges shown, when partial), then its text in a
//! fenced code block, then an empty line. The map section is the repo map's own lines.
//!
//! Counting is exact and additive. Every block ends with `\n` and the next block (or map line)
//! starts with a path, which never starts with whitespace or `/`: tiktoken's pre-tokenizer
//! (o200k_base and cl100k_base alike) always splits there, so the tokens of the whole context
//! are the sum of its blocks' tokens. Each block is counted once as a whole, and the count is
//! cached in the index by a hash of its text, so a repeated or similar task rarely needs the
//! tokenizer. Tests check the sum against a count of the final text.

use crate::repomap::extract::Symbol;
use crate::repomap::render::shown_path;

pub use crate::repomap::render::ELIDED;

/// How a file is included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Included {
    Full,
    Partial,
    Skeleton,
    Map,
    None,
}

impl Included {
    pub fn name(self) -> &'static str {
        match self {
            Included::Full => "full",
            Included::Partial => "partial",
            Included::Skeleton => "skeleton",
            Included::Map => "map",
            Included::None => "none",
        }
    }
}

/// A fence longer than any run of backticks in the text (CommonMark), at least three.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// The language tag of a fenced block.
pub fn fence_language(language: Option<&str>, path: &str) -> &'static str {
    match language {
        Some("python") => "python",
        Some("javascript") => "javascript",
        Some("typescript") => "typescript",
        Some("tsx") => "tsx",
        Some("rust") => "rust",
        Some("go") => "go",
        Some("java") => "java",
        Some("c") => "c",
        Some("cpp") => "cpp",
        _ => match path.rsplit_once('.').map(|(_, e)| e) {
            Some("md" | "markdown") => "markdown",
            Some("toml") => "toml",
            Some("json") => "json",
            Some("yaml" | "yml") => "yaml",
            Some("sh" | "bash" | "zsh") => "sh",
            Some("fish") => "fish",
            Some("graphql") => "graphql",
            Some("xml" | "pom" | "xsd" | "xsl" | "xslt" | "svg" | "plist") => "xml",
            _ => match crate::repomap::lang::text_type(path).as_str() {
                "cmake" => "cmake",
                other => crate::repomap::lang::unparsed_code(other).unwrap_or(""),
            },
        },
    }
}

fn block(header: &str, lang: &str, body: &str) -> String {
    let fence = fence_for(body);
    let mut s = String::with_capacity(header.len() + body.len() + 32);
    s.push_str(header);
    s.push('\n');
    s.push_str(&fence);
    s.push_str(lang);
    s.push('\n');
    s.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&fence);
    s.push_str("\n\n");
    s
}

/// A whole file.
pub fn full_block(path: &str, lang: &str, text: &str) -> String {
    block(&shown_path(path), lang, text)
}

/// At most this many lines are passed over to reach the line that names a definition (its
/// annotations, a C return type on a line of its own), and at most this many decorations are
/// taken from above it.
const MAX_ANNOTATIONS: usize = 4;
/// Decorations above a definition are looked for at most this many lines up (a
/// `@pytest.mark.parametrize` of many cases).
const MAX_DECORATION_LINES: usize = 100;

/// The characters of `line` outside its strings and comments (`//` and a `#` not starting an
/// attribute, to the end of the line; `/* … */`), with their byte offsets; of a string, its
/// opening quote alone. A `'` opens a string only on a line that begins with `@` (a Python or
/// TypeScript decorator) or `template` (a C++ character literal), where it cannot be a Rust
/// lifetime.
fn code_chars(line: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let head = line.trim_start();
    let single_quotes = head.starts_with('@') || head.starts_with("template");
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut chars = line.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some((at, c)) = chars.next() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '"' => {
                    quote = Some(c);
                    return Some((at, c));
                }
                '\'' if single_quotes => {
                    quote = Some(c);
                    return Some((at, c));
                }
                '/' if chars.peek().is_some_and(|&(_, n)| n == '/') => return None,
                '/' if chars.peek().is_some_and(|&(_, n)| n == '*') => {
                    chars.next();
                    let mut star = false;
                    for (_, d) in chars.by_ref() {
                        if star && d == '/' {
                            break;
                        }
                        star = d == '*';
                    }
                }
                '#' if chars.peek().is_none_or(|&(_, n)| n != '[' && n != '!') => return None,
                _ => return Some((at, c)),
            }
        }
        None
    })
}

/// Opening minus closing brackets on `line`, outside its strings and comments.
fn bracket_balance(line: &str) -> i64 {
    // Most lines have none: no need to read them character by character.
    if !line
        .bytes()
        .any(|b| matches!(b, b'(' | b')' | b'[' | b']' | b'{' | b'}'))
    {
        return 0;
    }
    code_chars(line)
        .map(|(_, c)| match c {
            '(' | '[' | '{' => 1,
            ')' | ']' | '}' => -1,
            _ => 0,
        })
        .sum()
}

/// Whether `line` is a decorator or an attribute and nothing more (Python's `@app.route(…)`,
/// Rust's `#[test]`, C++'s `[[nodiscard]]`, TypeScript's `@Input()`), or begins one that
/// goes on over the next lines: it says what the definition below it is. Not a declaration
/// decorated on its own line (`@Input() label: string;`, `#[derive(Debug)] struct A;`).
fn is_decoration(line: &str) -> bool {
    let l = line.trim_start();
    if l.strip_prefix("template")
        .is_some_and(|rest| rest.trim_start().starts_with('<'))
    {
        return is_template_head(l);
    }
    let decorator = l.starts_with('@') && !l.starts_with("@@");
    if !(decorator || l.starts_with("#[") || l.starts_with("[[")) {
        return false;
    }
    // Where the decoration ends: past its name (`@a.b`) and bracketed parts (`(…)`, `[0]`),
    // or the line ends inside its brackets.
    let mut depth = 0i64;
    let mut end = l.len();
    for (at, c) in code_chars(l) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if depth == 0
                && !(c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | '@' | '#' | ':')) =>
            {
                end = at;
                break;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return true;
    }
    // Nothing but a comment after it.
    let rest = l[end..].trim_start();
    rest.is_empty() || code_chars(rest).next().is_none()
}

/// Whether `line`, which begins with `template` (after its indentation), is a C++ template's
/// head and nothing more but a comment (`template <typename T, int N = (1 > 0)>`, `<char C =
/// '>'>`, `<>`, `<typename T> /* why */`): the definition it is for begins on the next line
/// (the parser's definition begins there). A list that goes on over the next lines is not
/// taken.
fn is_template_head(line: &str) -> bool {
    let (mut angles, mut parens) = (0i64, 0i64);
    let mut closed = false;
    for (_, c) in code_chars(line).skip("template".len()) {
        match c {
            // Only blanks (and comments, which `code_chars` leaves out) after the list.
            _ if closed && !c.is_whitespace() => return false,
            '(' | '[' | '{' => parens += 1,
            ')' | ']' | '}' => parens -= 1,
            '<' if parens == 0 => angles += 1,
            '>' if parens == 0 => {
                angles -= 1;
                closed = angles == 0;
            }
            _ => {}
        }
    }
    closed
}

/// Where a definition's lines begin: its first line, or the first of the decorations right
/// above it that the parser leaves outside it (Python's decorators, Rust's attributes, a
/// TypeScript method's decorators), up to [`MAX_ANNOTATIONS`] of them, each whole however many
/// lines its arguments take (up to [`MAX_DECORATION_LINES`] in all).
fn first_line(text_lines: &[&str], s: &Symbol) -> usize {
    let lines = text_lines.len().max(1);
    let own = (s.line as usize).clamp(1, lines);
    // Whether lines `from..=to` are decorations one after another, each whole: every line
    // outside a decoration's brackets begins one, and the brackets close on the last line.
    let decorations = |from: usize, to: usize| {
        let mut balance = 0;
        for line in &text_lines[from - 1..to] {
            if balance == 0 && !is_decoration(line) {
                return false;
            }
            balance += bracket_balance(line);
            if balance < 0 {
                return false;
            }
        }
        balance == 0
    };
    let mut start = own;
    let mut taken = 0;
    // The brackets of the lines from here down to the definition: below 0, this line is
    // inside a decoration's arguments (a blank line too); otherwise a line that is no
    // decoration ends the decorations.
    let mut below = 0i64;
    let mut k = own - 1;
    // Right above the definition, a decoration's arguments end in `)` or `]`: the `}` of the
    // function before (C, Java) is no decoration's, and the lines above it need no reading.
    if k >= 1 {
        let above = text_lines[k - 1].trim_end();
        if !is_decoration(above) && !above.ends_with([')', ']', '>']) {
            return own;
        }
    }
    while k >= 1 && own - k <= MAX_DECORATION_LINES && taken < MAX_ANNOTATIONS {
        let line = text_lines[k - 1];
        below += bracket_balance(line);
        if is_decoration(line) {
            if decorations(k, own - 1) {
                start = k;
                taken += 1;
            }
        } else if below >= 0 {
            break;
        }
        k -= 1;
    }
    start
}

/// Whether `line` has `name` as a whole word (`node` is not in `node_t`).
fn has_word(line: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    !name.is_empty()
        && line.match_indices(name).any(|(at, _)| {
            !line[..at].chars().next_back().is_some_and(word)
                && !line[at + name.len()..].chars().next().is_some_and(word)
        })
}

/// The lines a definition spans, from its decorations (see [`first_line`]) to its end.
fn span(text_lines: &[&str], s: &Symbol) -> (usize, usize) {
    let a = first_line(text_lines, s);
    (a, (s.end_line as usize).clamp(a, text_lines.len().max(1)))
}

/// A definition's first line (see [`first_line`]), and the line that names it, up to
/// [`MAX_ANNOTATIONS`] lines further: past its annotations (Java's `@Override`, a
/// multi-line `@SuppressWarnings({…})`) and a C return type on a line of its own. The line that
/// names it is the one a signature is for.
fn head_lines(text_lines: &[&str], s: &Symbol) -> (usize, usize) {
    let lines = text_lines.len().max(1);
    let own = (s.line as usize).clamp(1, lines);
    let start = first_line(text_lines, s);
    let last = (s.end_line as usize)
        .clamp(own, lines)
        .min(own + MAX_ANNOTATIONS);
    // The first line with the name that is not a decoration nor inside one's brackets
    // (`@JsonProperty("size")` names `size` too).
    let mut balance = 0;
    let named = (own..=last).find(|&l| {
        let line = text_lines.get(l - 1).copied().unwrap_or_default();
        if balance <= 0 && has_word(line, &s.name) && !is_decoration(line) {
            return true;
        }
        balance += bracket_balance(line);
        false
    });
    let end = match named {
        Some(l) => l,
        None => {
            let mut end = own;
            while end < last && text_lines.get(end - 1).is_some_and(|l| is_decoration(l)) {
                end += 1;
            }
            end
        }
    };
    (start, end)
}

/// The 1-based line ranges (inclusive) a partial or skeleton block of a `lang` file shows, with
/// the rest elided: each definition's head (whole when `expanded`), and a Go group's opener.
fn shown_ranges(
    lang: &str,
    text_lines: &[&str],
    symbols: &[Symbol],
    expanded: &[usize],
) -> Vec<(usize, usize)> {
    let lines = text_lines.len();
    let mut shown: Vec<(usize, usize)> = Vec::new();
    for (i, s) in symbols.iter().enumerate() {
        let (start, head_end) = head_lines(text_lines, s);
        let end = if expanded.contains(&i) {
            (s.end_line as usize).clamp(start, lines.max(1))
        } else {
            head_end
        };
        shown.push((start, end));
    }
    with_openers(lang, text_lines, &mut shown);
    merged(shown)
}

/// Lines scanned up from a shown range for the group that holds it.
const MAX_GROUP_LINES: usize = 500;

/// `ranges` with the line that opens the group each begins in, in a Go file (gofmt's `const (`,
/// `var (`, `type (` at the margin, the group's lines indented below it): `KindB` shown
/// without its `const (` reads as a loose line. Other languages have no such groups, and
/// their indented definitions (methods) would be scanned up for nothing.
fn with_openers(lang: &str, text_lines: &[&str], ranges: &mut Vec<(usize, usize)>) {
    if lang != "go" {
        return;
    }
    let indented = |l: &str| l.trim().is_empty() || l.starts_with([' ', '\t']);
    let openers: Vec<usize> = ranges
        .iter()
        .filter(|&&(a, _)| {
            text_lines
                .get(a.wrapping_sub(1))
                .is_some_and(|l| indented(l))
        })
        .filter_map(|&(a, _)| {
            let k = (1..a)
                .rev()
                .take(MAX_GROUP_LINES)
                .find(|&k| !indented(text_lines[k - 1]))?;
            matches!(text_lines[k - 1].trim_end(), "const (" | "var (" | "type (").then_some(k)
        })
        .collect();
    ranges.extend(openers.into_iter().map(|k| (k, k)));
}

/// Ranges sorted, with overlapping and adjacent ones merged.
pub(crate) fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// A file reduced to the given line ranges; each gap becomes one `⋮` line at the indentation
/// of the line after it.
pub fn ranges_body(text: &str, ranges: &[(usize, usize)]) -> String {
    // Lines as written, trailing blanks and a CRLF file's `\r` included, as whole files come:
    // lines in full are the file's text (a string literal's blanks are its value).
    let lines: Vec<&str> = text
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect();
    let mut out = String::new();
    let mut next = 1;
    for &(a, b) in ranges {
        if a > next {
            let indent: String = lines
                .get(a - 1)
                .map(|l| {
                    l.chars()
                        .take_while(|&c| c.is_whitespace() && c != '\r')
                        .collect()
                })
                .unwrap_or_default();
            out.push_str(&indent);
            out.push_str(ELIDED);
            out.push('\n');
        }
        for l in lines.iter().take(b.min(lines.len())).skip(a - 1) {
            out.push_str(l);
            out.push('\n');
        }
        next = b + 1;
    }
    if next <= lines.len() {
        out.push_str(ELIDED);
        out.push('\n');
    }
    out
}

/// `10-50, 120-180`.
pub fn describe_ranges(ranges: &[(usize, usize)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A file with only its definitions' first lines (and the expanded definitions in full).
pub fn partial_block(
    path: &str,
    lang: &str,
    text: &str,
    symbols: &[Symbol],
    expanded: &[usize],
) -> (String, Vec<(usize, usize)>) {
    let text_lines: Vec<&str> = text.lines().collect();
    let lines = text_lines.len();
    let ranges = shown_ranges(lang, &text_lines, symbols, expanded);
    let header = if expanded.is_empty() {
        format!(
            "{} (signatures only, bodies elided; {lines} lines)",
            shown_path(path)
        )
    } else {
        // The expanded definitions' own ranges are the ones worth naming.
        let full: Vec<(usize, usize)> = expanded
            .iter()
            .filter_map(|&i| symbols.get(i))
            .map(|s| span(&text_lines, s))
            .collect();
        format!(
            "{} (lines {} of {lines} in full, other definitions as signatures)",
            shown_path(path),
            describe_ranges(&merged(full))
        )
    };
    (block(&header, lang, &ranges_body(text, &ranges)), ranges)
}

/// Lines shown either side of a line the task names whose definition is too large to show
/// (a class's attribute), in a focused block.
pub const AROUND_FOCUSED: usize = 2;

/// Lines shown either side of a line the task names that no definition holds (a test
/// framework's `test("…", () => {…})` call at the top of a file), in a focused block.
pub const AROUND_LOOSE: usize = 10;

/// A file too large for its signatures: only the `keep` definitions in full, with the first
/// line of each definition that encloses one of them (its `impl`, class or module), the lines
/// around each of `named` (lines the task names that no kept definition holds, each with how
/// many lines either side), and the rest elided.
pub fn focused_block(
    path: &str,
    lang: &str,
    text: &str,
    symbols: &[Symbol],
    keep: &[usize],
    named: &[(usize, usize)],
) -> (String, Vec<(usize, usize)>) {
    let text_lines: Vec<&str> = text.lines().collect();
    let lines = text_lines.len().max(1);
    let full: Vec<(usize, usize)> = keep
        .iter()
        .filter_map(|&i| symbols.get(i))
        .map(|s| span(&text_lines, s))
        .collect();
    let mut shown = full.clone();
    let around: Vec<(usize, usize)> = named
        .iter()
        .filter(|&&(l, _)| (1..=lines).contains(&l))
        .map(|&(l, k)| (l.saturating_sub(k).max(1), (l + k).min(lines)))
        .collect();
    for s in symbols {
        let (a, b) = span(&text_lines, s);
        if full.iter().chain(&around).any(|&(x, y)| a < x && y <= b) {
            shown.push(head_lines(&text_lines, s));
        }
    }
    shown.extend(&around);
    with_openers(lang, &text_lines, &mut shown);
    let ranges = merged(shown);
    let header = if full.is_empty() {
        // Only lines around those the task names.
        format!(
            "{} (lines {} of {lines}, the rest elided)",
            shown_path(path),
            describe_ranges(&ranges)
        )
    } else if around.is_empty() {
        format!(
            "{} (lines {} of {lines} in full, the rest elided)",
            shown_path(path),
            describe_ranges(&merged(full))
        )
    } else {
        // Where the lines around those the task names are, too.
        format!(
            "{} (lines {} of {lines} in full, {} around lines the task names, the rest elided)",
            shown_path(path),
            describe_ranges(&merged(full)),
            describe_ranges(&merged(around))
        )
    };
    (block(&header, lang, &ranges_body(text, &ranges)), ranges)
}

/// Lines shown around each line the task names in a file without definitions.
const AROUND_NAMED: usize = 10;

/// The lines worth showing of a file without definitions (documentation, configuration, code
/// vibe does not parse) that does not fit whole: the passage of
/// [`CHUNK_LINES`](super::lexicon::CHUNK_LINES) lines, cut as the lexicon cuts them, where the
/// most distinct task terms occur (then the most occurrences; the first of equals), widened
/// to the paragraphs it cuts, and `AROUND_NAMED` lines either side of each line the task
/// names. `terms_in` gives the task's terms in a line. Empty when nothing matches and no line
/// is named.
pub fn windows<T: Ord + Clone>(
    text: &str,
    named: &[u32],
    mut terms_in: impl FnMut(&str, &mut Vec<T>),
) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let best = best_passage(&lines, &mut terms_in);
    if let Some(k) = best {
        // Widened to whole paragraphs (blank lines), by at most `AROUND_NAMED` lines each way:
        // a passage cut in the middle of a function or a section.
        let blank = |n: usize| lines[n - 1].trim().is_empty();
        let mut start = k * super::lexicon::CHUNK_LINES + 1;
        let mut end = (start + super::lexicon::CHUNK_LINES - 1).min(lines.len());
        for _ in 0..AROUND_NAMED {
            if start > 1 && !blank(start - 1) && !blank(start) {
                start -= 1;
            }
            if end < lines.len() && !blank(end + 1) && !blank(end) {
                end += 1;
            }
        }
        ranges.push((start, end));
    }
    for &line in named {
        let line = line as usize;
        if (1..=lines.len()).contains(&line) {
            ranges.push((
                line.saturating_sub(AROUND_NAMED).max(1),
                (line + AROUND_NAMED).min(lines.len()),
            ));
        }
    }
    merged(ranges)
}

/// How many distinct terms `found` holds (sorted, as a line of data can hold thousands).
pub fn distinct<T: Ord + Clone>(found: &[T]) -> usize {
    let mut all = found.to_vec();
    all.sort_unstable();
    all.dedup();
    all.len()
}

/// The passage (its index: lines `CHUNK_LINES` × k + 1 on) where the most distinct task terms
/// occur, then the most occurrences; the first of equals. `None` when no line has one.
fn best_passage<T: Ord + Clone>(
    lines: &[&str],
    terms_in: &mut impl FnMut(&str, &mut Vec<T>),
) -> Option<usize> {
    let mut best: Option<((usize, usize), usize)> = None;
    let mut found: Vec<T> = Vec::new();
    for (k, chunk) in lines.chunks(super::lexicon::CHUNK_LINES).enumerate() {
        found.clear();
        for line in chunk {
            terms_in(line, &mut found);
        }
        let score = (distinct(&found), found.len());
        if score.0 > 0 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
}

/// The lines of a file's best passage (see `windows`) that have task terms, each with how
/// many distinct ones (1-based lines): where the task's words meet in a file none of whose
/// definitions the task names.
pub fn passage_hits<T: Ord + Clone>(
    text: &str,
    mut terms_in: impl FnMut(&str, &mut Vec<T>),
) -> Vec<(u32, usize)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(k) = best_passage(&lines, &mut terms_in) else {
        return Vec::new();
    };
    let start = k * super::lexicon::CHUNK_LINES;
    let mut found: Vec<T> = Vec::new();
    let mut hits = Vec::new();
    for (i, line) in lines
        .iter()
        .enumerate()
        .skip(start)
        .take(super::lexicon::CHUNK_LINES)
    {
        found.clear();
        terms_in(line, &mut found);
        if !found.is_empty() {
            hits.push((i as u32 + 1, distinct(&found)));
        }
    }
    hits
}

/// A file reduced to the line ranges `windows` chose, the rest elided.
pub fn window_block(path: &str, lang: &str, text: &str, ranges: &[(usize, usize)]) -> String {
    let header = format!(
        "{} (lines {} of {}, the rest elided)",
        shown_path(path),
        describe_ranges(ranges),
        text.split_inclusive('\n').count()
    );
    block(&header, lang, &ranges_body(text, ranges))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tokens::Encoding;

    fn sym(name: &str, line: u32, end_line: u32) -> Symbol {
        Symbol {
            name: name.into(),
            kind: "function".into(),
            parent: None,
            signature: format!("def {name}():"),
            line,
            end_line,
            doc: None,
        }
    }

    /// The passage with the most distinct task words (then the most of them) is shown, cut as
    /// the lexicon cuts passages, with the lines around each named line.
    #[test]
    fn windows_show_the_best_passage_and_named_lines() {
        let mut text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        text = text.replacen("line 50\n", "alpha beta\n", 1);
        text = text.replacen("line 90\n", "alpha alpha alpha\n", 1);
        let terms_in = |line: &str, found: &mut Vec<String>| {
            for w in line.split_whitespace() {
                if ["alpha", "beta"].contains(&w) {
                    found.push(w.to_string());
                }
            }
        };
        // Widened by at most 10 lines each way when no blank line is nearer.
        assert_eq!(windows(&text, &[], terms_in), [(31, 90)]);
        assert_eq!(
            windows(&text, &[3, 95, 500, 0], terms_in),
            [(1, 13), (31, 100)]
        );
        assert_eq!(windows("x\ny\n", &[], terms_in), []);
        // The lines of the best passage with task words, and how many distinct ones.
        assert_eq!(passage_hits(&text, terms_in), [(50, 2)]);
        assert_eq!(passage_hits("x\ny\n", terms_in), []);
        // A paragraph across the passage's edges is shown whole.
        let mut para = text.clone();
        for n in [38, 39, 84] {
            para = para.replacen(&format!("line {n}\n"), "\n", 1);
        }
        assert_eq!(windows(&para, &[], terms_in), [(40, 83)]);
        let block = window_block("a.txt", "", &text, &[(41, 42)]);
        assert_eq!(
            block,
            "a.txt (lines 41-42 of 100, the rest elided)\n```\n⋮\nline 41\nline 42\n⋮\n```\n\n"
        );
    }

    /// A signature of an annotated definition shows the line that names it too.
    #[test]
    fn annotations_lead_to_the_line_that_names_the_definition() {
        let text = "class A {\n    @Override\n    @Deprecated\n    public String toString() {\n        return \"a\";\n    }\n    void b() {\n        int x;\n    }\n}\n";
        let symbols = [sym("A", 1, 10), sym("toString", 2, 6), sym("b", 7, 9)];
        let (block, ranges) = partial_block("A.java", "java", text, &symbols, &[]);
        assert_eq!(ranges, [(1, 4), (7, 7)]);
        assert!(
            block.contains(
                "    @Deprecated\n    public String toString() {\n    ⋮\n    void b() {\n"
            ),
            "{block}"
        );
        // A definition of one annotation line and nothing else stays one line.
        let one = [sym("x", 2, 2)];
        let (_, ranges) = partial_block("A.java", "java", text, &one, &[]);
        assert_eq!(ranges, [(2, 2)]);
    }

    /// Decorations above a definition are taken whole and only when they are decorations
    /// alone; a signature is the line with the definition's name as a word (review of helper
    /// 95).
    #[test]
    fn decorations_and_the_line_that_names_a_definition() {
        for (line, yes) in [
            ("@staticmethod", true),
            (
                "    @app.route(\"/x\", methods=[\"POST\"])  # (see docs",
                true,
            ),
            ("@app.route(", true),
            ("#[derive(Debug, Clone)]", true),
            ("#[cfg(test)] // tests", true),
            ("#[cfg(test)] /* tests */", true),
            ("@register \"name\"", false),
            ("[[deprecated(\"use frob_gamma2\")]]", true),
            ("@buttons[0].clicked.connect", true),
            ("@Input() label: string;", false),
            ("@Output() clicked = new EventEmitter();", false),
            ("#[derive(Debug)] pub struct Marker;", false),
            ("@@ -1,3 +1,4 @@", false),
            ("def f():", false),
            // C++ templates' heads, on a line of their own.
            ("template <typename OutputIt, typename Char>", true),
            ("  template<> // specialised", true),
            ("template <int N = (1 > 0)>", true),
            (
                "template <typename T> T twice(T x) { return x + x; }",
                false,
            ),
            ("template <typename T,", false),
            ("template <char C = '>'>", true),
            ("template <typename T> /* why */", true),
            ("template <typename T> /* why */ int f();", false),
            ("template <typename T> \"x\"", false),
            ("template_name(x);", false),
        ] {
            assert_eq!(is_decoration(line), yes, "{line}");
        }
        let lines = |t: &'static str| -> Vec<&'static str> { t.lines().collect() };
        // Brackets in strings do not count; a one-line decorated declaration is no decoration.
        let text = lines(
            "@app.route(\"/a(\")\ndef a_view():\n    pass\n@app.route(\"/b)\")\ndef b_view():\n    pass\n",
        );
        assert_eq!(first_line(&text, &sym("a_view", 2, 3)), 1);
        assert_eq!(first_line(&text, &sym("b_view", 5, 6)), 4);
        let text = lines(
            "class C {\n  @Input() label: string;\n  @Output() clicked = 1;\n  constructor() {}\n}\n",
        );
        assert_eq!(first_line(&text, &sym("constructor", 4, 4)), 4);
        // A decorator of many lines, blank ones among its cases.
        let mut long =
            String::from("import pytest\n\n@pytest.mark.parametrize(\n    \"x\",\n    [\n");
        for k in 0..30 {
            long.push_str(&format!("        {k},\n"));
            if k == 10 {
                long.push('\n');
            }
        }
        long.push_str("    ],\n)\ndef test_x(x):\n    assert x\n");
        let text: Vec<&str> = long.lines().collect();
        let def = text.iter().position(|l| l.starts_with("def ")).unwrap_or(0) as u32 + 1;
        assert_eq!(first_line(&text, &sym("test_x", def, def + 1)), 3);
        // The name as a word: past `static node_t *` to `node (void)`, past a C++ attribute.
        let text = lines("static node_t *\nnode (void)\n{\n  return 0;\n}\n");
        assert_eq!(head_lines(&text, &sym("node", 1, 5)), (1, 2));
        let text = lines(
            "[[deprecated(\"use frob_gamma2\")]]\nint frob_gamma(int a)\n{\n  return a;\n}\n",
        );
        assert_eq!(head_lines(&text, &sym("frob_gamma", 1, 5)), (1, 2));
        // A C++ template's head comes with its definition (helper 97: format.h's
        // `write_escaped_cp` was shown in full without its `template <…>` line).
        let text = lines(
            "}\n\ntemplate <typename OutputIt, typename Char>\nauto write_escaped_cp(OutputIt out) -> OutputIt {\n  return out;\n}\n",
        );
        assert_eq!(span(&text, &sym("write_escaped_cp", 4, 6)), (3, 6));
        assert_eq!(head_lines(&text, &sym("write_escaped_cp", 4, 6)), (3, 4));
    }

    #[test]
    fn partial_blocks_elide_between_ranges() {
        let text = "import os\n\ndef a():\n    return 1\n\ndef b():\n    x = 2\n    return x\n";
        let symbols = [sym("a", 3, 4), sym("b", 6, 8)];
        let (block, ranges) = partial_block("m.py", "python", text, &symbols, &[1]);
        assert_eq!(ranges, [(3, 3), (6, 8)]);
        assert_eq!(
            block,
            "m.py (lines 6-8 of 8 in full, other definitions as signatures)\n```python\n⋮\ndef a():\n⋮\ndef b():\n    x = 2\n    return x\n```\n\n"
        );
        // Definitions one right after another are one range in the header (helper 97:
        // `3597-3598, 3599-3602`).
        let text = "import os\ndef a():\n    return 1\ndef b():\n    return 2\n";
        let symbols = [sym("a", 2, 3), sym("b", 4, 5)];
        let (block, _) = partial_block("m.py", "python", text, &symbols, &[0, 1]);
        assert!(
            block.starts_with("m.py (lines 2-5 of 5 in full, "),
            "{block}"
        );
    }

    #[test]
    fn lines_in_full_keep_their_trailing_blanks() {
        // A string literal's trailing blanks and a CRLF file's `\r` are the file's text, as
        // a whole-file block shows it.
        let text =
            "def a():\r\n    s = \"x  \t\"\r\n    return s   \r\n\r\ndef b():\r\n    pass\r\n";
        let symbols = [sym("a", 1, 3), sym("b", 5, 6)];
        let (block, _) = partial_block("m.py", "python", text, &symbols, &[0]);
        assert!(
            block.contains("```python\ndef a():\r\n    s = \"x  \t\"\r\n    return s   \r\n⋮\ndef b():\r\n⋮\n```"),
            "{block:?}"
        );
    }

    /// A Go group's members come with the line that opens the group (helper 97: `KindB` shown
    /// without its `const (`); an indented definition under anything else does not.
    #[test]
    fn members_of_a_go_group_come_with_its_opener() {
        let go = "package x\n\nconst (\n\tKindA = iota\n\tKindB\n)\n\nvar (\n\tname = \"x\"\n)\n\nfunc f() {\n\tx := 1\n}\n";
        let symbols = [sym("KindB", 5, 5), sym("name", 9, 9), sym("f", 12, 14)];
        let (_, ranges) = partial_block("x.go", "go", go, &symbols, &[]);
        assert_eq!(ranges, [(3, 3), (5, 5), (8, 9), (12, 12)]);
        let (block, _) = focused_block("x.go", "go", go, &symbols, &[0], &[(13, 0)]);
        assert!(block.contains("const (\n\t⋮\n\tKindB\n⋮\n"), "{block}");
        assert!(!block.contains("var ("), "{block}");
        // Python's methods, a Go function's lines: no group.
        let py = "class A:\n    def f(self):\n        pass\n";
        let (_, ranges) = partial_block("a.py", "python", py, &[sym("f", 2, 3)], &[]);
        assert_eq!(ranges, [(2, 2)]);
    }

    #[test]
    fn focused_blocks_keep_the_definitions_and_what_encloses_them() {
        let text = "impl A {\n    fn a() {\n        1\n    }\n    fn b() {\n        2\n    }\n}\nfn c() {\n    3\n}\n";
        let symbols = [
            sym("A", 1, 8),
            sym("a", 2, 4),
            sym("b", 5, 7),
            sym("c", 9, 11),
        ];
        let (block, ranges) = focused_block("m.rs", "rust", text, &symbols, &[2], &[]);
        assert_eq!(ranges, [(1, 1), (5, 7)]);
        assert_eq!(
            block,
            "m.rs (lines 5-7 of 11 in full, the rest elided)\n```rust\nimpl A {\n    ⋮\n    fn b() {\n        2\n    }\n⋮\n```\n\n"
        );
    }

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }

    #[test]
    fn blocks_are_additive_in_tokens() {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let a = full_block("a.py", "python", "x = (1,\n)\n\n\n");
            let b = full_block(".github/x.js", "javascript", "// comment\n  indented\n");
            let c = full_block("c.rs", "rust", "   \n/// doc\nfn f() {}");
            let whole = format!("{a}{b}{c}");
            assert_eq!(
                enc.count(&whole),
                enc.count(&a) + enc.count(&b) + enc.count(&c),
                "{}",
                enc.name()
            );
        }
    }
}
