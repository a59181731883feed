//! Which lines of a C or C++ file this build compiles, for the syntax stage's overrule.
//!
//! A compiler that accepts a file proves nothing about the `#if` branches its preprocessor
//! skipped (`#ifdef _WIN32` on Linux, a feature the build leaves out). To learn which branches
//! were taken, vibe puts a marker line (`__vibe_branch_12__`) after every `#if`, `#ifdef`,
//! `#ifndef`, `#elif` and `#else` of a copy of the file and runs the build's own preprocessor on
//! it (`-E`, the same flags): a branch was taken when its marker is in the output. A line is
//! compiled when every branch around it was taken.
//!
//! Invariant: no answer is better than a wrong one. A line is "compiled" only on the
//! preprocessor's word (or outside every branch but include guards when there is none);
//! comment and blank lines never count against a file.

use std::collections::HashSet;

/// The marker's text before the branch id.
const MARK: &str = "__vibe_branch_";

#[derive(Debug, Clone, Default)]
struct LineInfo {
    /// The branches around the line, outermost first (a branch is named by the line index of
    /// the directive that opens it).
    branches: Vec<usize>,
    /// An `#if`/`#ifdef`/`#ifndef`/`#elif`/`#else`/`#endif` line (or its continuation).
    conditional: bool,
    /// Anything but blanks and comments.
    code: bool,
}

/// A C or C++ file's conditional structure.
#[derive(Debug, Clone, Default)]
pub struct Branches {
    lines: Vec<LineInfo>,
    /// Branches that are include guards (`#ifndef X` then `#define X`).
    guards: HashSet<usize>,
    /// Per opened branch, the last line of its directive (after which the marker goes).
    openers: Vec<(usize, usize)>,
}

impl Branches {
    /// Reads the directives of `text`, outside comments.
    pub fn scan(text: &str) -> Branches {
        let raw: Vec<&str> = text.lines().collect();
        let mut b = Branches::default();
        let mut stack: Vec<usize> = Vec::new();
        let mut in_comment = false;
        let mut i = 0;
        while i < raw.len() {
            let starts_in_comment = in_comment;
            let (code, still) = code_of(raw[i], in_comment);
            in_comment = still;
            let directive = (!starts_in_comment)
                .then(|| raw[i].trim_start().strip_prefix('#'))
                .flatten()
                .map(|d| {
                    let d = d.trim_start();
                    let name: String = d
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let rest = d[name.len()..].trim().to_string();
                    (name, rest)
                });
            // A directive goes on over lines ending with a backslash.
            let mut last = i;
            if directive.is_some() {
                while last + 1 < raw.len() && raw[last].ends_with('\\') {
                    last += 1;
                }
            }
            let (name, rest) = directive.unwrap_or_default();
            let conditional = matches!(
                name.as_str(),
                "if" | "ifdef" | "ifndef" | "elif" | "elifdef" | "elifndef" | "else" | "endif"
            );
            match name.as_str() {
                "elif" | "elifdef" | "elifndef" | "else" | "endif" => {
                    stack.pop();
                }
                _ => {}
            }
            let around = stack.clone();
            match name.as_str() {
                "if" | "ifdef" | "ifndef" | "elif" | "elifdef" | "elifndef" | "else" => {
                    if name == "ifndef" {
                        let guarded = rest.split_whitespace().next().unwrap_or("");
                        let next = raw[last + 1..].iter().find(|l| !l.trim().is_empty());
                        let defines = next.and_then(|l| {
                            let d = l.trim_start().strip_prefix('#')?.trim_start();
                            d.strip_prefix("define")?.split_whitespace().next()
                        });
                        if !guarded.is_empty() && defines == Some(guarded) {
                            b.guards.insert(i);
                        }
                    }
                    stack.push(i);
                    b.openers.push((i, last));
                }
                _ => {}
            }
            for l in i..=last {
                b.lines.push(LineInfo {
                    branches: around.clone(),
                    conditional,
                    code: if l == i { code } else { !conditional },
                });
            }
            // The continuation lines of a directive are no comment scanning's business.
            i = last + 1;
        }
        b
    }

    /// Whether the file has branches (include guards too: `#ifndef N` / `#define N 512` looks
    /// like one, and a build may define N).
    pub fn has_branches(&self) -> bool {
        !self.openers.is_empty()
    }

    /// `text` with a marker line after every directive that opens a branch, for the
    /// preprocessor (the file's line numbers change; nothing reads them).
    pub fn marked(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.openers.len() * 24);
        let mut next = self.openers.iter().peekable();
        for (i, line) in text.lines().enumerate() {
            out.push_str(line);
            out.push('\n');
            while let Some((id, _)) = next.next_if(|(_, last)| *last == i) {
                out.push_str(&format!("{MARK}{id}__\n"));
            }
        }
        out
    }

    /// Whether line `l` (0-based) is compiled by this build: `taken` holds the branches whose
    /// marker the preprocessor kept (None: it was not asked). None when that cannot be told.
    pub fn compiled(&self, l: usize, taken: Option<&HashSet<usize>>) -> Option<bool> {
        let info = self.lines.get(l)?;
        let inside = |branches: &[usize]| -> Option<bool> {
            match taken {
                Some(t) => Some(branches.iter().all(|b| t.contains(b))),
                None if branches.iter().all(|b| self.guards.contains(b)) => Some(true),
                None => None,
            }
        };
        if info.conditional {
            // The preprocessor checks how `#if`s nest even where it skips, but tree-sitter may
            // report the code of the branch a directive opens or closes at the directive.
            // The nearest code line on each side, up to the next directive of its kind.
            let near = |mut range: Box<dyn Iterator<Item = usize>>| {
                range
                    .find(|i| self.lines[*i].code || self.lines[*i].conditional)
                    .filter(|i| !self.lines[*i].conditional)
            };
            let above = near(Box::new((0..l).rev()));
            let below = near(Box::new(l + 1..self.lines.len()));
            let mut all = vec![inside(&info.branches)];
            all.extend(above.map(|a| inside(&self.lines[a].branches)));
            all.extend(below.map(|b| inside(&self.lines[b].branches)));
            return all.into_iter().try_fold(true, |acc, c| Some(acc && c?));
        }
        if !info.code {
            return Some(true);
        }
        inside(&info.branches)
    }

    /// Whether the lines `from..=to` (0-based) are all compiled; None when any cannot be told.
    pub fn span_compiled(
        &self,
        from: usize,
        to: usize,
        taken: Option<&HashSet<usize>>,
    ) -> Option<bool> {
        (from..=to.max(from)).try_fold(true, |acc, l| Some(acc && self.compiled(l, taken)?))
    }
}

/// The branches whose marker is in the preprocessor's output.
pub fn taken(output: &str) -> HashSet<usize> {
    let mut out = HashSet::new();
    let mut rest = output;
    while let Some(i) = rest.find(MARK) {
        rest = &rest[i + MARK.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if rest[digits.len()..].starts_with("__")
            && let Ok(id) = digits.parse()
        {
            out.insert(id);
        }
    }
    out
}

/// The lines of `new` (0-based) an edit of `old` wrote or removed lines next to.
pub fn changed_lines(old: &str, new: &str) -> Vec<usize> {
    use similar::DiffOp;
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for op in diff.ops() {
        match *op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { new_index, .. } => {
                out.extend(new_index.checked_sub(1));
                out.push(new_index);
            }
            DiffOp::Insert {
                new_index, new_len, ..
            }
            | DiffOp::Replace {
                new_index, new_len, ..
            } => out.extend(new_index..new_index + new_len),
        }
    }
    out
}

/// Whether `line` has code outside comments, and whether a block comment is still open at its
/// end (`in_comment`: one was open at its start). Strings and character literals are skipped
/// so that `"/*"` opens nothing.
fn code_of(line: &str, mut in_comment: bool) -> (bool, bool) {
    let b = line.as_bytes();
    let mut code = false;
    let mut i = 0;
    while i < b.len() {
        if in_comment {
            if b[i..].starts_with(b"*/") {
                in_comment = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => break,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                in_comment = true;
                i += 2;
            }
            q @ (b'"' | b'\'') => {
                // `1'000` (a C++14 digit separator) is no literal.
                if q == b'\'' && i > 0 && b[i - 1].is_ascii_alphanumeric() {
                    i += 1;
                    continue;
                }
                code = true;
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c => {
                code |= !c.is_ascii_whitespace();
                i += 1;
            }
        }
    }
    (code, in_comment)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "#ifndef A_H /* guard */\n#define A_H\nint a;\n#ifdef _WIN32\nint f(int a {\n#else\n/* #if 0 in a comment\n   #endif */\nint g;\n#endif\n#if defined(X) && \\\n    defined(Y)\nint xy;\n#endif\nint b;\n#endif\n";

    #[test]
    fn branches_and_include_guards() {
        let b = Branches::scan(FILE);
        assert_eq!(b.lines.len(), 16);
        assert!(b.has_branches());
        // Without the preprocessor: only lines outside every branch but the guard are known.
        let known: Vec<Option<bool>> = (0..16).map(|l| b.compiled(l, None)).collect();
        assert_eq!(known[2], Some(true), "int a;");
        assert_eq!(known[4], None, "int f(int a {{");
        assert_eq!(known[6], Some(true), "a comment line");
        assert_eq!(known[8], None, "int g;");
        assert_eq!(known[14], Some(true), "int b;");
        let marked = b.marked(FILE);
        assert!(
            marked.contains("#ifdef _WIN32\n__vibe_branch_3__\nint f"),
            "{marked}"
        );
        assert!(marked.contains("#else\n__vibe_branch_5__\n/*"), "{marked}");
        assert!(
            marked.contains("    defined(Y)\n__vibe_branch_10__\nint xy;"),
            "{marked}"
        );
        assert!(!marked.contains("__vibe_branch_6__"), "{marked}");
        // The preprocessor took the guard and the #else.
        let taken = taken("int a;\n__vibe_branch_0__\n__vibe_branch_5__ int g;\n");
        assert_eq!(taken, HashSet::from([0, 5]));
        let t = Some(&taken);
        assert_eq!(b.compiled(4, t), Some(false), "int f(int a {{");
        assert_eq!(b.compiled(8, t), Some(true), "int g;");
        assert_eq!(b.compiled(12, t), Some(false), "int xy;");
        // `#else` sits between a skipped and a taken branch; `#endif` after a taken one.
        assert_eq!(b.compiled(5, t), Some(false));
        assert_eq!(b.compiled(9, t), Some(true));
        assert_eq!(b.span_compiled(2, 3, t), Some(false));
        assert_eq!(b.span_compiled(6, 9, t), Some(true));
    }

    #[test]
    fn a_default_value_is_no_include_guard() {
        // `#ifndef N` / `#define N 512` looks like a guard; built with -DN=1024 it is skipped.
        let text = "#ifndef N\n#define N 512\nint x[N] = {;\n#endif\n";
        let b = Branches::scan(text);
        assert_eq!(b.compiled(2, Some(&HashSet::new())), Some(false));
        assert_eq!(b.compiled(2, Some(&HashSet::from([0]))), Some(true));
    }

    #[test]
    fn code_and_comments() {
        assert_eq!(code_of("  // x", false), (false, false));
        assert_eq!(code_of("/* a */ int x; /* b", false), (true, true));
        assert_eq!(code_of("still */", true), (false, false));
        assert_eq!(code_of("s = \"/*\";", false), (true, false));
        assert_eq!(code_of("n = 1'000; /*", false), (true, true));
    }

    #[test]
    fn changed_lines_of_an_edit() {
        assert_eq!(changed_lines("a\nb\nc\n", "a\nB\nc\n"), [1]);
        assert_eq!(changed_lines("a\nb\nc\n", "a\nc\n"), [0, 1]);
        assert_eq!(changed_lines("a\nb\n", "a\nb\nc\nd\n"), [2, 3]);
        assert!(changed_lines("a\n", "a\n").is_empty());
    }
}
