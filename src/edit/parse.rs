//! Parsing a model's answer into [`Edit`]s: search/replace blocks and whole-file blocks.
//!
//! Markers are recognised only at the start of a line, with 5–9 marker characters (models
//! miscount). Inside a block every other line is content, fences included (a Markdown file may
//! hold them); outside blocks, fences and prose are ignored. Line numbers are 1-based lines of
//! the answer.

use super::{Edit, EditKind};

/// What is wrong with an answer, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing in the answer looks like an edit block.
    #[error(
        "the answer holds no edit blocks: expected a file path line, then `<<<<<<< SEARCH`, the exact lines, `=======`, the new lines, `>>>>>>> REPLACE`"
    )]
    NoBlocks,
    /// A block whose preceding line is not a path.
    #[error(
        "answer line {line}: the block has no file path{}: put the file's path, alone on the line, right before `<<<<<<< SEARCH` or `<<<<<<< FILE`",
        found.as_deref().map(|f| format!(" (found `{f}` on line {})", line - 1)).unwrap_or_default()
    )]
    MissingPath { line: usize, found: Option<String> },
    /// A SEARCH section that ends (at `at`) before its `=======` divider.
    #[error(
        "answer line {line}: the SEARCH section has no `=======` divider (reached {what} at line {at})"
    )]
    MissingDivider {
        line: usize,
        at: usize,
        what: &'static str,
    },
    /// A block that never ends.
    #[error(
        "answer line {line}: the block has no closing `>>>>>>> {marker}` (reached {what} at line {at})"
    )]
    MissingEnd {
        line: usize,
        at: usize,
        marker: &'static str,
        what: &'static str,
    },
    /// An end marker with no block open.
    #[error("answer line {line}: `>>>>>>> {marker}` without an opening `<<<<<<< {marker}` block")]
    Stray { line: usize, marker: &'static str },
}

/// A marker line of an edit block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Search,
    Divider,
    Replace,
    FileStart,
    FileEnd,
}

/// The marker a line is, if any: 5–9 of one character at line start, then a keyword.
pub fn marker(line: &str) -> Option<Marker> {
    let line = line.trim_end();
    let first = line.chars().next()?;
    if !matches!(first, '<' | '=' | '>') {
        return None;
    }
    let run = line.chars().take_while(|&c| c == first).count();
    if !(5..=9).contains(&run) {
        return None;
    }
    let rest = line[run..].trim();
    match (first, rest.to_ascii_uppercase().as_str()) {
        ('<', "SEARCH") => Some(Marker::Search),
        ('<', "FILE") => Some(Marker::FileStart),
        ('=', "") => Some(Marker::Divider),
        ('>', "REPLACE") => Some(Marker::Replace),
        ('>', "FILE") => Some(Marker::FileEnd),
        _ => None,
    }
}

/// A Markdown code fence line (```` ``` ```` or `~~~`, indented or not).
pub fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// The path on a path line, without the decoration models add: `File:`, Markdown headings,
/// bold, backticks, a trailing colon. `None` if what is left is not one word.
fn clean_path(line: &str) -> Option<String> {
    let mut s = line.trim();
    s = s.trim_start_matches('#').trim_start();
    for prefix in ["File:", "file:", "FILE:", "Path:", "path:"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim_start();
        }
    }
    s = s.trim_matches(|c| c == '*' || c == '`' || c == '"' || c == '\'');
    s = s.trim().trim_end_matches(':');
    s = s.trim_matches(|c| c == '*' || c == '`').trim();
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        None
    } else {
        Some(s.to_string())
    }
}

/// Joins section lines, each ending in `\n` (an empty section is the empty string).
fn join(lines: &[&str]) -> String {
    let mut s = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Parses every block of an answer, in order; an answer with no block but unified diffs gives
/// their hunks as search/replace edits (see [`super::udiff`]).
pub fn parse(answer: &str) -> Result<Vec<Edit>, ParseError> {
    parse_with(answer, false).map(|(edits, _)| edits)
}

/// [`parse`], told whether the answer was cut short (`max_tokens`, or a loop vibe stopped
/// reading: [`crate::llm::StopReason::cut_short`]). In one that was, a last block (or diff
/// hunk) that the end of the answer cuts off is dropped and the blocks before it are taken;
/// the answer line where the dropped one starts comes with them. An answer whose only block
/// is cut off is still the error.
pub fn parse_answer(
    answer: &str,
    cut_short: bool,
) -> Result<(Vec<Edit>, Option<usize>), ParseError> {
    parse_with(answer, cut_short)
}

/// What is said of the block that [`parse_answer`] left out, at answer line `line`.
pub fn cut_off(line: usize) -> String {
    format!(
        "the edit block at answer line {line} was cut off by the end of the answer and is left out; the blocks before it are used"
    )
}

/// What a block that runs into the end of the answer reached.
const END_OF_ANSWER: &str = "the end of the answer";

/// An answer's lines without their endings: a CRLF answer parses like an LF one.
pub(super) fn answer_lines(answer: &str) -> Vec<&str> {
    answer
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

fn parse_with(answer: &str, cut_short: bool) -> Result<(Vec<Edit>, Option<usize>), ParseError> {
    let lines = answer_lines(answer);
    let at = |i: usize| i + 1;
    let mut edits = Vec::new();
    // Index just past the end of the previous block: a path line is looked for after it.
    let mut after_block = 0usize;
    let mut last_path: Option<String> = None;
    let mut dropped = None;
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        match marker(lines[i]) {
            Some(m @ (Marker::Search | Marker::FileStart)) => {
                let path = find_path(&lines[after_block..i], &last_path)
                    .map_err(|found| ParseError::MissingPath { line: at(i), found })?;
                let read = if m == Marker::Search {
                    read_search(&lines, i)
                } else {
                    read_file(&lines, i)
                };
                let (kind, end) = match read {
                    Ok(r) => r,
                    Err(e) if cut_short && !edits.is_empty() && reached_end(&e) => {
                        dropped = Some(at(start));
                        break;
                    }
                    Err(e) => return Err(e),
                };
                edits.push(Edit {
                    path: path.clone(),
                    kind,
                    line: at(start),
                });
                last_path = Some(path);
                i = end + 1;
                after_block = i;
            }
            Some(Marker::Replace) => {
                return Err(ParseError::Stray {
                    line: at(i),
                    marker: "REPLACE",
                });
            }
            Some(Marker::FileEnd) => {
                return Err(ParseError::Stray {
                    line: at(i),
                    marker: "FILE",
                });
            }
            // A lone `=======` outside a block is prose (a Markdown heading underline).
            Some(Marker::Divider) | None => i += 1,
        }
    }
    if edits.is_empty() {
        // No blocks: the answer's unified diffs, if it has any (models write those too).
        (edits, dropped) = super::udiff::diffs(answer, cut_short);
        if edits.is_empty() {
            return Err(ParseError::NoBlocks);
        }
    }
    // A block repeated word for word (small models repeat theirs) is applied once: again, its
    // SEARCH would no longer be there.
    let mut unique: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        if !unique.iter().any(|u| u.path == e.path && u.kind == e.kind) {
            unique.push(e);
        }
    }
    Ok((unique, dropped))
}

/// The path for a block: the last line before it that is neither blank nor a fence. With no
/// such line since the previous block, that block's path carries over (models often omit it
/// for a second block on the same file). `Err(found)` when the line is not a path.
fn find_path(between: &[&str], last: &Option<String>) -> Result<String, Option<String>> {
    match between
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty() && !is_fence(l))
    {
        Some(line) => clean_path(line).ok_or_else(|| Some(line.trim().to_string())),
        None => last.clone().ok_or(None),
    }
}

/// The index of the first line from `from` that is the `end` marker. A block start first (or,
/// when looking for a divider, a `>>>>>>> REPLACE`), or the end of the answer, is the error
/// `err(answer line, what was reached)`.
fn find_end(
    lines: &[&str],
    from: usize,
    end: Marker,
    err: impl Fn(usize, &'static str) -> ParseError,
) -> Result<usize, ParseError> {
    for (i, line) in lines.iter().enumerate().skip(from) {
        match marker(line) {
            Some(m) if m == end => return Ok(i),
            Some(Marker::Search | Marker::FileStart) => {
                return Err(err(i + 1, "another block's start"));
            }
            Some(Marker::Replace) if end == Marker::Divider => {
                return Err(err(i + 1, "`>>>>>>> REPLACE`"));
            }
            _ => {}
        }
    }
    Err(err(lines.len(), END_OF_ANSWER))
}

/// Whether a block's error is that the answer ended inside it.
fn reached_end(e: &ParseError) -> bool {
    matches!(
        e,
        ParseError::MissingDivider { what, .. } | ParseError::MissingEnd { what, .. }
            if *what == END_OF_ANSWER
    )
}

/// A SEARCH block opened at `open`: its sections and the index of its closing line.
fn read_search(lines: &[&str], open: usize) -> Result<(EditKind, usize), ParseError> {
    let line = open + 1;
    let divider = find_end(lines, open + 1, Marker::Divider, |at, what| {
        ParseError::MissingDivider { line, at, what }
    })?;
    let end = find_end(lines, divider + 1, Marker::Replace, |at, what| {
        ParseError::MissingEnd {
            line,
            at,
            marker: "REPLACE",
            what,
        }
    })?;
    Ok((
        EditKind::Replace {
            search: join(&lines[open + 1..divider]),
            replace: join(&lines[divider + 1..end]),
        },
        end,
    ))
}

/// A whole-file block opened at `open`.
fn read_file(lines: &[&str], open: usize) -> Result<(EditKind, usize), ParseError> {
    let line = open + 1;
    let end = find_end(lines, open + 1, Marker::FileEnd, |at, what| {
        ParseError::MissingEnd {
            line,
            at,
            marker: "FILE",
            what,
        }
    })?;
    Ok((
        EditKind::WholeFile {
            content: join(&lines[open + 1..end]),
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(e: &Edit) -> (&str, &str) {
        match &e.kind {
            EditKind::Replace { search, replace } => (search, replace),
            EditKind::WholeFile { .. } => panic!("not a replace: {e:?}"),
        }
    }

    #[test]
    fn one_block() {
        let a = "src/a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n";
        let e = parse(a).expect("parses");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "src/a.py");
        assert_eq!(e[0].line, 2);
        assert_eq!(replace(&e[0]), ("x = 1\n", "x = 2\n"));
    }

    #[test]
    fn fences_prose_and_several_blocks() {
        let a = "Here is the fix.\n\n```python\nsrc/a.py\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n\nAnd then:\n\n**src/b.py**\n```\n<<<<<<< SEARCH\n```inner fence kept\n=======\n>>>>>>> REPLACE\n<<<<<<< SEARCH\nsecond\n=======\nsecond'\n>>>>>>> REPLACE\n```\nDone.";
        let e = parse(a).expect("parses");
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].path.as_str(), e[0].line), ("src/a.py", 5));
        assert_eq!(replace(&e[0]), ("old\n", "new\n"));
        assert_eq!((e[1].path.as_str(), e[1].line), ("src/b.py", 16));
        assert_eq!(replace(&e[1]), ("```inner fence kept\n", ""));
        // No path line between two blocks: the previous block's path carries over.
        assert_eq!(e[2].path, "src/b.py");
        assert_eq!(replace(&e[2]), ("second\n", "second'\n"));
    }

    #[test]
    fn path_decorations() {
        for line in [
            "`src/a.py`",
            "**src/a.py**",
            "File: src/a.py",
            "### src/a.py",
            "src/a.py:",
            "  src/a.py  ",
            "**`src/a.py`**",
        ] {
            let a = format!("{line}\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
            let e = parse(&a).unwrap_or_else(|err| panic!("{line}: {err}"));
            assert_eq!(e[0].path, "src/a.py", "{line}");
        }
    }

    #[test]
    fn marker_miscounts_and_crlf() {
        let a = "a.txt\r\n<<<<< SEARCH\r\none\r\n=========\r\ntwo\r\n>>>>>>>>> REPLACE\r\n";
        let e = parse(a).expect("parses");
        assert_eq!(replace(&e[0]), ("one\n", "two\n"));
        // Four or ten characters are not markers; nor is a marker that is indented.
        let a = "a.txt\n<<<< SEARCH\n";
        assert_eq!(parse(a), Err(ParseError::NoBlocks));
        let a = "a.txt\n  <<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
        assert!(matches!(parse(a), Err(ParseError::Stray { line: 6, .. })));
        let a = "a.txt\n<<<<<<< SEARCH\n==========\n=======\ny\n>>>>>>> REPLACE\n";
        assert_eq!(
            replace(&parse(a).expect("parses")[0]),
            ("==========\n", "y\n")
        );
    }

    #[test]
    fn whole_file_and_creation() {
        let a = "new/file.txt\n<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE\n\nsmall.py\n<<<<<<< FILE\nprint(1)\n\nprint(2)\n>>>>>>> FILE\n";
        let e = parse(a).expect("parses");
        assert_eq!(replace(&e[0]), ("", "hello\n"));
        assert_eq!(e[1].path, "small.py");
        assert_eq!(
            e[1].kind,
            EditKind::WholeFile {
                content: "print(1)\n\nprint(2)\n".into()
            }
        );
    }

    #[test]
    fn malformed_answers_say_where() {
        assert_eq!(
            parse("I could not find the bug."),
            Err(ParseError::NoBlocks)
        );
        assert_eq!(parse(""), Err(ParseError::NoBlocks));
        // A unified diff, when there is no block.
        let diff = "```diff\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n```\n";
        let e = parse(diff).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(e.iter().map(replace).collect::<Vec<_>>(), [("a\n", "b\n")]);
        // Repeated word for word, a block or a hunk counts once; another path or text does not.
        let block = "a.txt\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n";
        for twice in [
            format!("{block}\n{block}"),
            format!("{diff}\nAgain:\n{diff}"),
        ] {
            let e = parse(&twice).unwrap_or_else(|err| panic!("{err}"));
            assert_eq!(e.len(), 1, "{twice}");
        }
        let other = format!("{block}\n{}", block.replace("a.txt", "b.txt"));
        assert_eq!(parse(&other).map(|e| e.len()), Ok(2));
        // No path at all.
        let e = parse("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
        assert_eq!(
            e,
            Err(ParseError::MissingPath {
                line: 1,
                found: None
            })
        );
        // Prose where the path should be.
        let e = parse("Change this:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
        assert_eq!(
            e,
            Err(ParseError::MissingPath {
                line: 2,
                found: Some("Change this:".into())
            })
        );
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("answer line 2") && msg.contains("Change this:"),
            "{msg}"
        );
        // No divider.
        let e = parse("a.py\n<<<<<<< SEARCH\na\nb\n>>>>>>> REPLACE\n");
        assert!(
            matches!(e, Err(ParseError::MissingDivider { line: 2, at: 5, .. })),
            "{e:?}"
        );
        // No end, then another block.
        let e = parse("a.py\n<<<<<<< SEARCH\na\n=======\nb\n\nb.py\n<<<<<<< SEARCH\n");
        assert!(
            matches!(e, Err(ParseError::MissingEnd { line: 2, at: 8, .. })),
            "{e:?}"
        );
        // No end at all.
        let e = parse("a.py\n<<<<<<< FILE\nx\n");
        assert!(
            matches!(
                e,
                Err(ParseError::MissingEnd {
                    line: 2,
                    marker: "FILE",
                    ..
                })
            ),
            "{e:?}"
        );
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("answer line 2:"), "{msg}");
        // An end with no start.
        let e = parse("a.py\nx\n=======\ny\n>>>>>>> REPLACE\n");
        assert_eq!(
            e,
            Err(ParseError::Stray {
                line: 5,
                marker: "REPLACE"
            })
        );
    }

    fn cut_short(answer: &str) -> Result<(Vec<Edit>, Option<usize>), ParseError> {
        parse_answer(answer, true)
    }

    #[test]
    fn an_answer_cut_short_keeps_its_whole_blocks() {
        let one = "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n";
        let whole = "b.py\n<<<<<<< FILE\ny = 1\n>>>>>>> FILE\n";
        for cut in [
            "c.py\n<<<<<<< SEARCH\nz = 1\n",
            "c.py\n<<<<<<< SEARCH\nz = 1\n=======\nz = 2\n",
            "c.py\n<<<<<<< FILE\nz = 1\n",
        ] {
            let answer = format!("{one}\n{whole}\n{cut}");
            assert!(parse(&answer).is_err(), "{answer}");
            let (edits, dropped) = cut_short(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
            let paths: Vec<&str> = edits.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(paths, ["a.py", "b.py"], "{answer}");
            assert_eq!(dropped, Some(14), "the cut block's start: {answer}");
            // The only block, cut off: nothing to take, and the error says why.
            assert!(
                matches!(
                    cut_short(cut),
                    Err(ParseError::MissingDivider { .. } | ParseError::MissingEnd { .. })
                ),
                "{cut}"
            );
        }
        // A block broken before the end is still an error: the answer is not cut there.
        let broken = format!("{one}c.py\n<<<<<<< SEARCH\nz = 1\n>>>>>>> REPLACE\n{whole}");
        assert!(cut_short(&broken).is_err());
        // Unified diffs: a hunk that runs into the end may stop anywhere (here before its `+`
        // lines: taken, it would delete the line), one closed by its fence is whole.
        let cut = "Fix:\n```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def f(x):\n-    return x +\n";
        assert_eq!(parse(cut).map(|e| e.len()), Ok(1));
        assert_eq!(cut_short(cut), Err(ParseError::NoBlocks));
        let closed = cut
            .replace("Fix:\n", "")
            .replace("x +\n", "x +\n+    return x + 1\n```\n");
        let two = format!("{closed}\n{cut}");
        let (edits, dropped) = cut_short(&two).unwrap_or_else(|e| panic!("{e}: {two}"));
        assert_eq!((edits.len(), dropped), (1, Some(14)), "{two}");
        assert!(
            matches!(&edits[0].kind, EditKind::Replace { replace, .. } if replace.contains("x + 1")),
            "{edits:?}"
        );
    }
}
