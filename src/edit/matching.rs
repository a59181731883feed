//! Applying the edits of one file to its text: finding each SEARCH section, then splicing.
//!
//! Matching is line-based and tried in tiers, stopping at the first tier with any match:
//! exact lines; lines equal but for trailing whitespace; lines equal but for one uniform
//! indentation offset (the replacement is then re-indented by the same offset). A tier with
//! more than one match is an error naming the lines. Line endings are kept: lines outside a
//! match are untouched byte for byte, replacement lines take the ending of the lines they
//! replace (or the file's usual ending), and a file without a final newline keeps lacking one.

use super::{Edit, EditKind};

/// Why a SEARCH section could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatchError {
    /// The SEARCH lines are nowhere in the file; `nearest` is the most similar window.
    #[error("{path}: the SEARCH section at answer line {line} matches nothing in the file{}",
        nearest.as_ref().map(|n| n.to_string()).unwrap_or_default())]
    NotFound {
        path: String,
        line: usize,
        nearest: Option<Nearest>,
    },
    /// The SEARCH lines match in several places (1-based first lines of each).
    #[error("{path}: the SEARCH section at answer line {line} matches {} places (lines {}); add surrounding lines to make it unique",
        at.len(), at.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        path: String,
        line: usize,
        at: Vec<usize>,
    },
    /// An empty SEARCH section on a file that has content: it only creates files.
    #[error(
        "{path}: the SEARCH section at answer line {line} is empty, but the file already has content; an empty SEARCH only creates a new file (copy the lines to change into SEARCH, or use a `<<<<<<< FILE` block)"
    )]
    EmptySearch { path: String, line: usize },
}

/// The window of the file most similar to a SEARCH section that matched nowhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// 1-based line of the window's first line.
    pub start: usize,
    /// The file's lines there, without line endings.
    pub lines: Vec<String>,
    /// 0..=1: how alike the window and the SEARCH lines are.
    pub similarity: f64,
}

impl std::fmt::Display for Nearest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = self.start + self.lines.len().max(1) - 1;
        write!(
            f,
            ".\nThe most similar lines are {}-{end} ({:.0}% alike); copy SEARCH lines exactly from them:",
            self.start,
            self.similarity * 100.0
        )?;
        let width = end.to_string().len();
        for (i, l) in self.lines.iter().enumerate() {
            write!(f, "\n{:>width$} | {l}", self.start + i)?;
        }
        Ok(())
    }
}

/// One line of a text: its content and its ending (`\n`, `\r\n` or empty for a last line
/// without one).
#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    eol: &'a str,
}

fn split_lines(s: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (line, eol_len) = match rest.find('\n') {
            Some(n) if n > 0 && rest.as_bytes()[n - 1] == b'\r' => (&rest[..n - 1], 2),
            Some(n) => (&rest[..n], 1),
            None => (rest, 0),
        };
        let eol = &rest[line.len()..line.len() + eol_len];
        out.push(Line { text: line, eol });
        rest = &rest[line.len() + eol_len..];
    }
    out
}

/// The ending most lines of a text use (`\n` when it has none).
pub(super) fn usual_eol(s: &str) -> &'static str {
    let crlf = s.matches("\r\n").count();
    let lf = s.matches('\n').count() - crlf;
    if crlf > lf { "\r\n" } else { "\n" }
}

/// Rewrites a text's line endings to `eol` (content from a model arrives with `\n`).
pub(super) fn with_eol(s: &str, eol: &str) -> String {
    split_lines(s)
        .iter()
        .map(|l| {
            if l.eol.is_empty() {
                l.text.to_string()
            } else {
                format!("{}{eol}", l.text)
            }
        })
        .collect()
}

fn indent(s: &str) -> &str {
    &s[..s.len() - s.trim_start().len()]
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// How a window matched: the indentation to add to the replacement's lines (after removing
/// `strip` leading whitespace characters), when the tier is the indentation one.
#[derive(Clone, Debug, Default, PartialEq)]
struct Reindent {
    strip: usize,
    add: String,
}

/// Every window of `file` that equals `search` under one tier.
fn find(file: &[Line], search: &[&str], tier: u8) -> Vec<(usize, Reindent)> {
    let n = search.len();
    if n == 0 || n > file.len() {
        return Vec::new();
    }
    // For the indentation tier: the search lines' common indentation (in characters).
    let common = search
        .iter()
        .filter(|l| !is_blank(l))
        .map(|l| indent(l).chars().count())
        .min()
        .unwrap_or(0);
    let mut out = Vec::new();
    for start in 0..=file.len() - n {
        let window = &file[start..start + n];
        let hit = match tier {
            0 => window.iter().zip(search).all(|(f, s)| f.text == *s),
            1 => window
                .iter()
                .zip(search)
                .all(|(f, s)| f.text.trim_end() == s.trim_end()),
            _ => match indent_offset(window, search, common) {
                Some(add) => {
                    out.push((start, Reindent { strip: common, add }));
                    continue;
                }
                None => false,
            },
        };
        if hit {
            out.push((start, Reindent::default()));
        }
    }
    out
}

/// The indentation `P` such that every non-blank window line is `P` + the search line without
/// its `common` leading whitespace (trailing whitespace ignored); blank lines match blank lines.
fn indent_offset(window: &[Line], search: &[&str], common: usize) -> Option<String> {
    let mut prefix: Option<&str> = None;
    for (f, s) in window.iter().zip(search) {
        if is_blank(s) || is_blank(f.text) {
            if is_blank(s) != is_blank(f.text) {
                return None;
            }
            continue;
        }
        let rel = strip_chars(s, common).trim_end();
        let ft = f.text.trim_end();
        let p = ft.strip_suffix(rel)?;
        if !p.trim().is_empty() {
            return None;
        }
        match prefix {
            None => prefix = Some(p),
            Some(q) if q == p => {}
            Some(_) => return None,
        }
    }
    prefix.map(str::to_string)
}

/// `s` without up to `n` leading whitespace characters.
fn strip_chars(s: &str, n: usize) -> &str {
    let mut rest = s;
    for _ in 0..n {
        match rest.chars().next() {
            Some(c) if c.is_whitespace() => rest = &rest[c.len_utf8()..],
            _ => break,
        }
    }
    rest
}

/// Applies `edits` (all for one file, in order) to `original`.
pub fn apply_to_text(original: &str, edits: &[&Edit]) -> Result<String, MatchError> {
    // A byte-order mark is not part of the first line an edit quotes, and stays where it is
    // whatever the edits (a whole-file rewrite never has it).
    if let Some(rest) = original.strip_prefix(BOM) {
        let out = apply_to_text(rest, edits)?;
        return Ok(with_bom(&out));
    }
    let mut text = original.to_string();
    for edit in edits {
        text = match &edit.kind {
            EditKind::WholeFile { content } => {
                let eol = if text.is_empty() {
                    "\n"
                } else {
                    usual_eol(&text)
                };
                with_eol(content, eol)
            }
            EditKind::Replace { search, replace } => apply_one(&text, edit, search, replace)?,
        };
    }
    Ok(text)
}

/// The UTF-8 byte-order mark some editors write at the start of a file.
pub const BOM: char = '\u{feff}';

/// `text` starting with a byte-order mark (one, whether it had it or not).
pub fn with_bom(text: &str) -> String {
    format!("{BOM}{}", text.strip_prefix(BOM).unwrap_or(text))
}

fn apply_one(text: &str, edit: &Edit, search: &str, replace: &str) -> Result<String, MatchError> {
    let file = split_lines(text);
    let search: Vec<&str> = split_lines(search).iter().map(|l| l.text).collect();
    let replace: Vec<&str> = split_lines(replace).iter().map(|l| l.text).collect();
    if search.is_empty() {
        if !text.is_empty() {
            return Err(MatchError::EmptySearch {
                path: edit.path.clone(),
                line: edit.line,
            });
        }
        let lines: Vec<Line> = replace.iter().map(|&t| Line { text: t, eol: "" }).collect();
        return Ok(splice(&[], 0, 0, &lines, &Reindent::default(), "\n", true));
    }
    for tier in 0..3 {
        let hits = find(&file, &search, tier);
        match hits.as_slice() {
            [] => continue,
            [(start, reindent)] => {
                let end = start + search.len();
                let eol = match file[*start].eol {
                    "" => usual_eol(text),
                    e => e,
                };
                // The last line of the file keeps lacking a newline if it lacked one.
                let keep_open = end == file.len() && file[end - 1].eol.is_empty();
                let lines: Vec<Line> = replace.iter().map(|&t| Line { text: t, eol: "" }).collect();
                return Ok(splice(
                    &file, *start, end, &lines, reindent, eol, !keep_open,
                ));
            }
            many => {
                return Err(MatchError::Ambiguous {
                    path: edit.path.clone(),
                    line: edit.line,
                    at: many.iter().map(|(s, _)| s + 1).collect(),
                });
            }
        }
    }
    Err(MatchError::NotFound {
        path: edit.path.clone(),
        line: edit.line,
        nearest: nearest(&file, &search),
    })
}

/// `file` with lines `start..end` replaced by `new` (re-indented, ending in `eol`; the very last
/// line gets no ending when `close_last` is false).
fn splice(
    file: &[Line],
    start: usize,
    end: usize,
    new: &[Line],
    reindent: &Reindent,
    eol: &str,
    close_last: bool,
) -> String {
    let mut out = String::new();
    for l in &file[..start] {
        out.push_str(l.text);
        out.push_str(l.eol);
    }
    for (i, l) in new.iter().enumerate() {
        if !is_blank(l.text) && (reindent.strip > 0 || !reindent.add.is_empty()) {
            out.push_str(&reindent.add);
            out.push_str(strip_chars(l.text, reindent.strip));
        } else {
            out.push_str(l.text);
        }
        let last = i + 1 == new.len() && end == file.len();
        if !last || close_last {
            out.push_str(eol);
        }
    }
    for l in &file[end..] {
        out.push_str(l.text);
        out.push_str(l.eol);
    }
    // The file's last lines deleted: the line before them is the last now, and lacks an ending
    // as the file's last line did ("a\nBAD" without BAD is "a", not "a\n").
    if new.is_empty() && end == file.len() && !close_last && start > 0 {
        out.truncate(out.len() - file[start - 1].eol.len());
    }
    out
}

/// Above this many line comparisons, lines are compared only for equality (trimmed), not for
/// character-level similarity, so a huge file does not stall the error report.
const FUZZY_BUDGET: usize = 2_000_000;

/// The window of the file (as long as the SEARCH section) most like it, if any is alike at all.
fn nearest(file: &[Line], search: &[&str]) -> Option<Nearest> {
    if file.is_empty() {
        return None;
    }
    let n = search.len().min(file.len());
    let fuzzy = file.len().saturating_mul(n) <= FUZZY_BUDGET;
    let sim = |a: &str, b: &str| -> f64 {
        let (a, b) = (a.trim(), b.trim());
        if a == b {
            1.0
        } else if !fuzzy || a.is_empty() || b.is_empty() {
            0.0
        } else {
            f64::from(similar::TextDiff::from_chars(a, b).ratio())
        }
    };
    let mut best: Option<(usize, f64)> = None;
    for start in 0..=file.len() - n {
        let score: f64 = (0..n).map(|k| sim(file[start + k].text, search[k])).sum();
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((start, score));
        }
    }
    let (start, score) = best?;
    let similarity = score / search.len() as f64;
    (similarity > 0.0).then(|| Nearest {
        start: start + 1,
        lines: file[start..start + n]
            .iter()
            .map(|l| l.text.to_string())
            .collect(),
        similarity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(search: &str, replace: &str) -> Edit {
        Edit {
            path: "f.py".into(),
            kind: EditKind::Replace {
                search: search.into(),
                replace: replace.into(),
            },
            line: 7,
        }
    }

    fn apply(text: &str, search: &str, replace: &str) -> Result<String, MatchError> {
        apply_to_text(text, &[&edit(search, replace)])
    }

    #[test]
    fn exact_match_replaces_only_those_lines() {
        let t = "a\nb\nc\n";
        assert_eq!(apply(t, "b\n", "B1\nB2\n"), Ok("a\nB1\nB2\nc\n".into()));
        assert_eq!(apply(t, "b\n", ""), Ok("a\nc\n".into()));
        assert_eq!(apply(t, "a\nb\nc\n", "x\n"), Ok("x\n".into()));
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_line_one_and_stays() {
        let t = "\u{feff}def f(x):\n    return x\n";
        assert_eq!(
            apply(t, "def f(x):\n", "def f(x, y):\n"),
            Ok("\u{feff}def f(x, y):\n    return x\n".into())
        );
        let whole = Edit {
            path: "f.py".into(),
            kind: EditKind::WholeFile {
                content: "def g():\n    pass\n".into(),
            },
            line: 1,
        };
        assert_eq!(
            apply_to_text(t, &[&whole]),
            Ok("\u{feff}def g():\n    pass\n".into())
        );
        assert_eq!(apply("x = 1\n", "x = 1\n", "x = 2\n"), Ok("x = 2\n".into()));
    }

    /// A file without a final newline keeps lacking one when its last lines are deleted, and
    /// keeps one when it had one.
    #[test]
    fn deleting_the_last_lines_keeps_the_missing_final_newline() {
        assert_eq!(apply("a\nBAD", "BAD", ""), Ok("a".into()));
        assert_eq!(apply("a\r\nb\r\nBAD", "b\nBAD", ""), Ok("a".into()));
        assert_eq!(apply("a\nBAD\n", "BAD\n", ""), Ok("a\n".into()));
        assert_eq!(apply("a\nBAD", "BAD", "c"), Ok("a\nc".into()));
        assert_eq!(apply("BAD", "BAD", ""), Ok("".into()));
    }

    #[test]
    fn edits_apply_in_order() {
        let (e1, e2) = (edit("a\n", "b\n"), edit("b\n", "c\n"));
        assert_eq!(apply_to_text("a\n", &[&e1, &e2]), Ok("c\n".into()));
    }

    #[test]
    fn trailing_whitespace_is_tolerated() {
        let t = "def f():  \n    return 1\t\n";
        assert_eq!(
            apply(t, "def f():\n    return 1\n", "def f():\n    return 2\n"),
            Ok("def f():\n    return 2\n".into())
        );
    }

    #[test]
    fn indentation_offset_is_reapplied() {
        let t =
            "class A:\n    def f(self):\n        if x:\n            return 1\n\n        return 2\n";
        // The model dropped the class's indentation.
        let r = apply(
            t,
            "def f(self):\n    if x:\n        return 1\n\n    return 2\n",
            "def f(self):\n    if x:\n        return 10\n    return 20\n",
        );
        assert_eq!(
            r,
            Ok("class A:\n    def f(self):\n        if x:\n            return 10\n        return 20\n"
                .into())
        );
        // Too much indentation, and tabs in the file.
        let t = "fn main() {\n\tlet x = 1;\n\tlet y = 2;\n}\n";
        let r = apply(
            t,
            "        let x = 1;\n        let y = 2;\n",
            "        let x = 3;\n            nested();\n",
        );
        assert_eq!(
            r,
            Ok("fn main() {\n\tlet x = 3;\n\t    nested();\n}\n".into())
        );
        // Inconsistent offsets do not match.
        let t = "a:\n    b\n  c\n";
        assert!(matches!(
            apply(t, "b\nc\n", "x\n"),
            Err(MatchError::NotFound { .. })
        ));
    }

    #[test]
    fn ambiguous_names_the_lines() {
        let t = "x = 1\ny = 2\nx = 1\n";
        let r = apply(t, "x = 1\n", "x = 3\n");
        assert_eq!(
            r,
            Err(MatchError::Ambiguous {
                path: "f.py".into(),
                line: 7,
                at: vec![1, 3]
            })
        );
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("lines 1, 3") && msg.contains("answer line 7"),
            "{msg}"
        );
        // An exact unique match wins over looser ones elsewhere.
        assert_eq!(
            apply("x = 1 \nx = 1\n", "x = 1\n", "z\n"),
            Ok("x = 1 \nz\n".into())
        );
    }

    #[test]
    fn not_found_shows_the_nearest_lines() {
        let t = "import os\n\ndef load(path):\n    with open(path) as f:\n        return f.read()\n\ndef save(path, data):\n    pass\n";
        let r = apply(
            t,
            "def load(path):\n    with open(path, 'r') as f:\n        return f.read()\n",
            "x\n",
        );
        let Err(MatchError::NotFound {
            nearest: Some(n), ..
        }) = &r
        else {
            panic!("{r:?}")
        };
        assert_eq!(n.start, 3);
        assert_eq!(n.lines[1], "    with open(path) as f:");
        assert!(n.similarity > 0.8 && n.similarity < 1.0, "{}", n.similarity);
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("lines are 3-5"), "{msg}");
        assert!(msg.contains("4 |     with open(path) as f:"), "{msg}");
        // Nothing alike at all.
        assert!(matches!(
            apply("a\n", "zzz\n", "y\n"),
            Err(MatchError::NotFound { nearest: None, .. })
        ));
    }

    #[test]
    fn empty_search_creates_only() {
        assert_eq!(apply("", "", "new\n"), Ok("new\n".into()));
        assert!(matches!(
            apply("old\n", "", "new\n"),
            Err(MatchError::EmptySearch { .. })
        ));
    }

    #[test]
    fn crlf_stays_crlf() {
        let t = "a\r\nb\r\nc\r\n";
        assert_eq!(
            apply(t, "b\n", "B\nB2\n"),
            Ok("a\r\nB\r\nB2\r\nc\r\n".into())
        );
        // Mixed endings: lines outside the match keep theirs.
        let t = "a\nb\r\nc\n";
        assert_eq!(apply(t, "b\n", "B\n"), Ok("a\nB\r\nc\n".into()));
        // Whole-file content takes the file's usual ending.
        let whole = Edit {
            path: "f".into(),
            kind: EditKind::WholeFile {
                content: "x\ny\n".into(),
            },
            line: 1,
        };
        assert_eq!(
            apply_to_text("a\r\nb\r\n", &[&whole]),
            Ok("x\r\ny\r\n".into())
        );
    }

    #[test]
    fn a_missing_final_newline_stays_missing() {
        assert_eq!(apply("a\nb", "b\n", "c\n"), Ok("a\nc".into()));
        assert_eq!(apply("a\nb", "a\n", "z\n"), Ok("z\nb".into()));
    }
}
