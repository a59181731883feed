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

/// Deeper nesting of `#if`s (generated code) is not followed: the file is unknown.
const MAX_DEPTH: usize = 64;

/// The marker's text before the branch id.
const MARK: &str = "__vibe_branch_";

#[derive(Debug, Clone, Default)]
struct LineInfo {
    /// The branches around the line, outermost first (a branch is named by the line index of
    /// the directive that opens it); shared by the lines between two directives.
    branches: std::rc::Rc<Vec<usize>>,
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
    /// The last line of each `#endif`.
    closers: Vec<usize>,
    /// Something vibe's scan does not follow: nothing about the file can be told.
    unreliable: bool,
    /// A `#line` directive or a line marker (`# 12 "file"`): the compiler's line numbers are
    /// not the file's.
    renumbers: bool,
    /// The `#include`, `#include_next` and `#import` directives outside comments: the line
    /// index, and the path written between quotes or angle brackets (None: computed).
    includes: Vec<(usize, Option<String>)>,
}

impl Branches {
    /// Reads the directives of `text` as the preprocessor does: on logical lines (a backslash
    /// at the end of a line joins the next), with comments as spaces and string literals
    /// (raw ones too) as no place for a directive. What vibe does not follow (a lone `\r` line
    /// end, a `%:` digraph directive) makes the whole file unknown.
    pub fn scan(text: &str) -> Branches {
        let mut b = Branches::default();
        if text.replace("\r\n", "\n").contains('\r') {
            b.unreliable = true;
        }
        let raw: Vec<&str> = text.lines().collect();
        let mut stack: Vec<usize> = Vec::new();
        let mut around: std::rc::Rc<Vec<usize>> = Default::default();
        let mut state = Lex::Code;
        let mut i = 0;
        while i < raw.len() {
            // The logical line: physical lines i..=last.
            let mut last = i;
            while last + 1 < raw.len() && raw[last].ends_with('\\') {
                last += 1;
            }
            let joined: String = raw[i..=last]
                .iter()
                .map(|l| l.strip_suffix('\\').unwrap_or(l))
                .collect();
            let starts_in_code = state == Lex::Code;
            let stripped = strip(&joined, &mut state);
            let head = stripped.trim_start();
            if starts_in_code && head.starts_with("%:") {
                b.unreliable = true;
            }
            let directive = head
                .strip_prefix('#')
                .filter(|_| starts_in_code || head.starts_with('#'));
            let (name, rest) = match directive {
                Some(d) => {
                    let d = d.trim_start();
                    let name: String = d
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let rest = d[name.len()..].trim().to_string();
                    (name, rest)
                }
                None => (String::new(), String::new()),
            };
            b.renumbers |= name == "line" || name.starts_with(|c: char| c.is_ascii_digit());
            let conditional = matches!(
                name.as_str(),
                "if" | "ifdef" | "ifndef" | "elif" | "elifdef" | "elifndef" | "else" | "endif"
            );
            if matches!(
                name.as_str(),
                "elif" | "elifdef" | "elifndef" | "else" | "endif"
            ) {
                stack.pop();
            }
            if stack.len() > MAX_DEPTH {
                b.unreliable = true;
                return b;
            }
            if around.as_slice() != stack.as_slice() {
                around = std::rc::Rc::new(stack.clone());
            }
            if conditional && name != "endif" {
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
            if name == "endif" {
                b.closers.push(last);
            }
            if matches!(name.as_str(), "include" | "include_next" | "import") {
                // The path as written (string contents are blanked in `stripped`): past the
                // `#`, the name and the comments around them. None: computed (`#include
                // CONFIG_H`) or not followed.
                let after = skip_blank(joined.as_str())
                    .strip_prefix('#')
                    .map(skip_blank)
                    .and_then(|a| a.strip_prefix(name.as_str()))
                    .map_or("", skip_blank);
                let close = match after.chars().next() {
                    Some('"') => Some('"'),
                    Some('<') => Some('>'),
                    _ => None,
                };
                let written = close
                    .and_then(|c| after[1..].find(c))
                    .map(|end| after[1..1 + end].to_string());
                b.includes.push((i, written));
            }
            let code = directive.is_none() && !stripped.trim().is_empty();
            for _ in i..=last {
                b.lines.push(LineInfo {
                    branches: around.clone(),
                    conditional,
                    code,
                });
            }
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
    /// preprocessor, and a `#line` after each marker and each `#endif` so that `__LINE__` in a
    /// later `#if` is what it is in the file.
    pub fn marked(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.openers.len() * 40);
        let mut next = self.openers.iter().peekable();
        let mut closers = self.closers.iter().peekable();
        for (i, line) in text.lines().enumerate() {
            out.push_str(line);
            out.push('\n');
            let mut resync = false;
            while let Some((id, _)) = next.next_if(|(_, last)| *last == i) {
                out.push_str(&format!("{MARK}{id}__\n"));
                resync = true;
            }
            resync |= closers.next_if(|last| **last == i).is_some();
            if resync {
                out.push_str(&format!("#line {}\n", i + 2));
            }
        }
        out
    }

    /// The file's includes: the line index (0-based) and the path as written (None: computed
    /// by a macro, or not followed).
    pub fn includes(&self) -> &[(usize, Option<String>)] {
        &self.includes
    }

    /// Whether line `l` (0-based) is outside every branch but include guards: every build
    /// reads it. False when that cannot be told.
    pub fn unconditional(&self, l: usize) -> bool {
        !self.unreliable
            && self
                .lines
                .get(l)
                .is_some_and(|i| i.branches.iter().all(|b| self.guards.contains(b)))
    }

    /// Whether line `l` (0-based) is compiled by this build: `taken` holds the branches whose
    /// marker the preprocessor kept (None: it was not asked). None when that cannot be told.
    pub fn compiled(&self, l: usize, taken: Option<&HashSet<usize>>) -> Option<bool> {
        if self.unreliable {
            return None;
        }
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

    /// For the skipped code lines among `from..=to` (0-based), the nearest compiled code lines
    /// above and below them (across directives): the code a skipped branch continues or is
    /// continued by (`x = y +` in an `#ifdef`, `1;` after its `#endif`).
    pub fn around_skipped(
        &self,
        from: usize,
        to: usize,
        taken: Option<&HashSet<usize>>,
    ) -> (Vec<usize>, Vec<usize>) {
        let code = |i: &usize| self.lines[*i].code && !self.lines[*i].conditional;
        let skipped = |i: usize| code(&i) && self.compiled(i, taken) == Some(false);
        let compiled = |i: &usize| code(i) && self.compiled(*i, taken) == Some(true);
        let (mut above, mut below) = (Vec::new(), Vec::new());
        for l in (from..=to.min(self.lines.len().saturating_sub(1))).filter(|l| skipped(*l)) {
            above.extend((0..l).rev().find(|i| code(i)).filter(compiled));
            below.extend((l + 1..self.lines.len()).find(|i| code(i)).filter(compiled));
        }
        above.dedup();
        below.dedup();
        (above, below)
    }

    /// The code lines `from..=to` (0-based) of `text` that are inside a branch other than an
    /// include guard, and the conditional directives among them, trimmed, one per line: what an
    /// error there is about, wherever it starts.
    pub fn branch_text(&self, text: &str, from: usize, to: usize) -> String {
        text.lines()
            .enumerate()
            .skip(from)
            .take(to.saturating_sub(from) + 1)
            .filter(|(l, _)| {
                self.lines.get(*l).is_some_and(|i| {
                    i.conditional || (i.code && i.branches.iter().any(|b| !self.guards.contains(b)))
                })
            })
            .map(|(_, line)| format!("{}\n", line.trim()))
            .collect()
    }

    /// Whether line `l` (0-based) holds code: anything but blanks, comments and directives (a
    /// directive's continuation lines included).
    pub fn is_code(&self, l: usize) -> bool {
        self.lines.get(l).is_some_and(|i| i.code)
    }

    /// Whether the file renumbers its lines (`#line`, or a line marker `# 12 "file"`).
    pub fn renumbers(&self) -> bool {
        self.renumbers
    }

    /// Whether a code line among `from..=to` (0-based) is compiled, or may be (cannot be told).
    pub fn has_compiled_code(
        &self,
        from: usize,
        to: usize,
        taken: Option<&HashSet<usize>>,
    ) -> bool {
        (from..=to.max(from)).any(|l| {
            self.lines.get(l).is_some_and(|i| i.code && !i.conditional)
                && self.compiled(l, taken) != Some(false)
        })
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

/// Where a logical line starts: in code, in a block comment, or in a raw string literal
/// (with its closing delimiter, `)delim"`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    Code,
    Comment,
    Raw(String),
}

/// `line` with comments as spaces and the inside of string and character literals as `s`
/// (so that `"/*"` opens nothing and a `#` in a string starts no directive); `state` carries a
/// block comment or a raw string over to the next line.
/// `s` past leading whitespace and `/* … */` comments ("" inside an unclosed one).
fn skip_blank(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        match s.strip_prefix("/*") {
            Some(rest) => match rest.find("*/") {
                Some(end) => s = &rest[end + 2..],
                None => return "",
            },
            None => return s,
        }
    }
}

fn strip(line: &str, state: &mut Lex) -> String {
    // Most lines have nothing to strip: no comment, string or character literal starts there.
    if *state == Lex::Code && !line.contains(['/', '"', '\'']) {
        return line.to_string();
    }
    let c: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    // Whether the current run of letters and digits is a number (`1'000` has a separator).
    let mut number = false;
    while i < c.len() {
        match state.clone() {
            Lex::Comment => {
                if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    *state = Lex::Code;
                    out.push(' ');
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            Lex::Raw(end) => {
                // Searched in place: collecting the rest of the line for every raw string
                // made a line of many quadratic.
                let end: Vec<char> = end.chars().collect();
                match c[i..].windows(end.len()).position(|w| w == end.as_slice()) {
                    Some(at) => {
                        i += at + end.len();
                        out.push('s');
                        *state = Lex::Code;
                    }
                    None => {
                        out.push('s');
                        i = c.len();
                    }
                }
                continue;
            }
            Lex::Code => {}
        }
        let ch = c[i];
        let prev = i.checked_sub(1).map(|p| c[p]);
        if ch == '/' && c.get(i + 1) == Some(&'/') {
            break;
        }
        if ch == '/' && c.get(i + 1) == Some(&'*') {
            *state = Lex::Comment;
            out.push(' ');
            i += 2;
            continue;
        }
        // A raw string: `R"delim(`, after an optional encoding prefix, not inside a name.
        if ch == 'R' && c.get(i + 1) == Some(&'"') {
            let start = (0..i)
                .rev()
                .take_while(|p| c[*p].is_ascii_alphanumeric() || c[*p] == '_')
                .last()
                .unwrap_or(i);
            let prefix: String = c[start..i].iter().collect();
            if matches!(prefix.as_str(), "" | "u8" | "u" | "U" | "L")
                // A delimiter has at most 16 characters, none of them space, `(`, `)`, `\`.
                && let Some(open) = c[i + 2..].iter().take(17).position(|x| *x == '(')
                && !c[i + 2..i + 2 + open]
                    .iter()
                    .any(|x| x.is_whitespace() || matches!(x, ')' | '\\' | '"'))
            {
                let delim: String = c[i + 2..i + 2 + open].iter().collect();
                *state = Lex::Raw(format!("){delim}\""));
                out.push('R');
                i += 3 + open;
                continue;
            }
        }
        if ch == '"' || (ch == '\'' && !(number && prev.is_some_and(|p| p.is_ascii_alphanumeric())))
        {
            out.push(ch);
            i += 1;
            while i < c.len() && c[i] != ch {
                i += if c[i] == '\\' { 2 } else { 1 };
                out.push('s');
            }
            out.push(ch);
            i += 1;
            number = false;
            continue;
        }
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' {
            if !prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '_' || p == '.' || p == '\'')
            {
                number = ch.is_ascii_digit() || ch == '.';
            }
        } else if ch != '\'' {
            number = false;
        }
        out.push(ch);
        i += 1;
    }
    out
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
            marked.contains("#ifdef _WIN32\n__vibe_branch_3__\n#line 5\nint f"),
            "{marked}"
        );
        assert!(
            marked.contains("#else\n__vibe_branch_5__\n#line 7\n/*"),
            "{marked}"
        );
        assert!(
            marked.contains("    defined(Y)\n__vibe_branch_10__\n#line 13\nint xy;"),
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
    fn comments_and_literals() {
        let mut st = Lex::Code;
        assert_eq!(strip("  // x", &mut st).trim(), "");
        assert_eq!(strip("/* a */ int x; /* b", &mut st).trim(), "int x;");
        assert_eq!(st, Lex::Comment);
        assert_eq!(strip("still */ #if 0", &mut st).trim(), "#if 0");
        assert_eq!(st, Lex::Code);
        assert_eq!(strip("s = \"/*\";", &mut st), "s = \"ss\";");
        assert_eq!(strip("n = 1'000; /*", &mut st).trim(), "n = 1'000;");
        st = Lex::Code;
        assert_eq!(strip("c = L'\"'; /*", &mut st).trim(), "c = L's';");
        assert_eq!(st, Lex::Comment);
        st = Lex::Code;
        strip("auto s = R\"x(", &mut st);
        assert_eq!(st, Lex::Raw(")x\"".into()));
        strip("#endif", &mut st);
        assert_eq!(strip(")x\"; int y;", &mut st), "s; int y;");
    }

    #[test]
    fn directives_the_preprocessor_sees_and_those_it_does_not() {
        for (text, broken) in [
            ("/**/#if 0\nint g(int a {\n#endif\n", 1),
            ("#/**/ifdef NEVER\nint g(int a {\n#endif\n", 1),
            ("/* x\n */ #if 0\nint g(int a {\n#endif\n", 2),
            ("#\\\nif 0\nint g(int a {\n#endif\n", 2),
            ("#if 0\n// note \\\n#endif\nint g(int a {\n#endif\n", 3),
            (
                "#if 0\nconst char *s = \"abc\\\n#endif\";\nint g(int a {\n#endif\n",
                3,
            ),
            (
                "#if 0\nauto s = R\"(\n#endif\n)\";\nint g(int a {\n#endif\n",
                4,
            ),
        ] {
            let b = Branches::scan(text);
            assert_eq!(
                b.compiled(broken, Some(&HashSet::new())),
                Some(false),
                "{text}"
            );
        }
        for text in [
            "%:if 0\nint g(int a {\n%:endif\n",
            "#if 0\rint g(int a {\r#endif\r",
        ] {
            let b = Branches::scan(text);
            assert_eq!(b.compiled(0, Some(&HashSet::new())), None, "{text:?}");
        }
    }

    #[test]
    fn line_numbers_are_kept_for_the_preprocessor() {
        let text = "#if 1\n#endif\n#if __LINE__ == 3\nint x;\n#endif\n";
        let marked = Branches::scan(text).marked(text);
        assert_eq!(
            marked,
            "#if 1\n__vibe_branch_0__\n#line 2\n#endif\n#line 3\n#if __LINE__ == 3\n__vibe_branch_2__\n#line 4\nint x;\n#endif\n#line 6\n"
        );
    }

    #[test]
    fn changed_lines_of_an_edit() {
        assert_eq!(changed_lines("a\nb\nc\n", "a\nB\nc\n"), [1]);
        assert_eq!(changed_lines("a\nb\nc\n", "a\nc\n"), [0, 1]);
        assert_eq!(changed_lines("a\nb\n", "a\nb\nc\nd\n"), [2, 3]);
        assert!(changed_lines("a\n", "a\n").is_empty());
    }
}
