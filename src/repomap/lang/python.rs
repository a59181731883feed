//! Python hooks: imports as written (`import a.b`, `from ..x import y`) and docstrings.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

pub fn imports(node: Node, src: &[u8], out: &mut Vec<Import>) {
    let line = node.start_position().row as u32 + 1;
    let raw = one_line(node_text(node, src));
    let mut cursor = node.walk();
    match node.kind() {
        "import_statement" => {
            for name in node.children_by_field_name("name", &mut cursor) {
                let module = dotted(name, src);
                if !module.is_empty() {
                    out.push(Import {
                        line,
                        raw: raw.clone(),
                        kind: "import".into(),
                        module,
                        names: vec![],
                    });
                }
            }
        }
        "import_from_statement" => {
            let Some(module) = node.child_by_field_name("module_name") else {
                return;
            };
            let module: String = node_text(module, src).split_whitespace().collect();
            let mut names: Vec<String> = node
                .children_by_field_name("name", &mut cursor)
                .map(|n| dotted(n, src))
                .filter(|n| !n.is_empty())
                .collect();
            let mut c2 = node.walk();
            if node
                .named_children(&mut c2)
                .any(|c| c.kind() == "wildcard_import")
            {
                names.push("*".into());
            }
            out.push(Import {
                line,
                raw,
                kind: "from".into(),
                module,
                names,
            });
        }
        _ => {}
    }
}

/// `a.b` from a `dotted_name`, or the name of an `aliased_import`.
fn dotted(n: Node, src: &[u8]) -> String {
    let n = if n.kind() == "aliased_import" {
        match n.child_by_field_name("name") {
            Some(x) => x,
            None => return String::new(),
        }
    } else {
        n
    };
    node_text(n, src).split_whitespace().collect()
}

/// The first line of a docstring: the string that opens a class or function body.
pub fn docstring(body: Option<Node>, src: &[u8]) -> Option<String> {
    let body = body?;
    let mut cursor = body.walk();
    let first = body
        .named_children(&mut cursor)
        .find(|c| c.kind() != "comment")?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let s = first.named_child(0)?;
    if s.kind() != "string" && s.kind() != "concatenated_string" {
        return None;
    }
    let text = node_text(s, src);
    let text = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let text = text.trim_matches(|c| c == '"' || c == '\'');
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Python keywords: never references. (The soft keywords `match`, `case` and `type` are
/// identifiers almost everywhere, so they count; so do `print` and `exec`, which tree-sitter
/// also reads as identifiers.)
fn keyword(w: &str) -> bool {
    matches!(
        w,
        "False"
            | "None"
            | "True"
            | "and"
            | "as"
            | "assert"
            | "async"
            | "await"
            | "break"
            | "class"
            | "continue"
            | "def"
            | "del"
            | "elif"
            | "else"
            | "except"
            | "finally"
            | "for"
            | "from"
            | "global"
            | "if"
            | "import"
            | "in"
            | "is"
            | "lambda"
            | "nonlocal"
            | "not"
            | "or"
            | "pass"
            | "raise"
            | "return"
            | "try"
            | "while"
            | "with"
            | "yield"
    )
}

/// How deeply f-strings may nest inside replacement fields before the lexer stops looking
/// into them (Python 3.12 allows any depth; real code uses two or three).
const MAX_FSTRING_DEPTH: usize = 16;

/// The identifier tokens of Python source with their byte offsets, in order: every identifier
/// outside comments and string literals, plus those inside f-string replacement fields;
/// keywords left out. This is what the tree's `identifier` leaves hold (a test checks that on
/// the fixtures), found by one pass over the bytes instead of a walk over every node.
pub fn identifiers<'s>(src: &'s str, out: &mut Vec<(usize, &'s str)>) {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        // A byte order mark is not an identifier.
        i: if src.starts_with('\u{feff}') { 3 } else { 0 },
        case_line_end: 0,
        out,
    };
    lx.code(None, 0);
}

struct Lexer<'s, 'o> {
    src: &'s str,
    b: &'s [u8],
    i: usize,
    /// The end of the current `case …:` line, if in one.
    case_line_end: usize,
    out: &'o mut Vec<(usize, &'s str)>,
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn ident_cont(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// String prefixes (r, u, b, f and their two-letter combinations, any case) as (f-string, raw).
fn string_prefix(w: &str) -> Option<(bool, bool)> {
    let lower = w.to_ascii_lowercase();
    match lower.as_str() {
        "u" | "b" => Some((false, false)),
        "r" | "br" | "rb" => Some((false, true)),
        "f" => Some((true, false)),
        "fr" | "rf" => Some((true, true)),
        _ => None,
    }
}

impl Lexer<'_, '_> {
    fn peek(&self, at: usize) -> u8 {
        self.b.get(at).copied().unwrap_or(0)
    }

    /// Lexes code until the end, or (inside an f-string field, `field` = the field's string
    /// quote and whether it is triple) until the `}`, `:` or `!` that ends the expression.
    fn code(&mut self, field: Option<(u8, bool)>, depth: usize) {
        let mut brackets = 0usize;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b'#' => {
                    while self.i < self.b.len() && self.b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'"' | b'\'' => self.string(false, false, depth),
                b'0'..=b'9' => self.number(),
                b'.' if self.peek(self.i + 1).is_ascii_digit() => self.number(),
                b'(' | b'[' | b'{' => {
                    brackets += 1;
                    self.i += 1;
                }
                b')' | b']' | b'}' if brackets > 0 => {
                    brackets -= 1;
                    self.i += 1;
                }
                b'}' if field.is_some() => return,
                b':' | b'!' if field.is_some() && brackets == 0 => {
                    if c == b'!' && self.peek(self.i + 1) == b'=' {
                        self.i += 2;
                    } else {
                        return;
                    }
                }
                b'\n' if field.is_some_and(|(_, triple)| !triple) => return,
                c if ident_start(c) => {
                    let start = self.i;
                    while self.i < self.b.len() && ident_cont(self.b[self.i]) {
                        self.i += 1;
                    }
                    let Some(word) = self.src.get(start..self.i) else {
                        continue;
                    };
                    let next = self.peek(self.i);
                    if (next == b'"' || next == b'\'')
                        && let Some((f, raw)) = string_prefix(word)
                    {
                        self.string(f, raw, depth);
                        continue;
                    }
                    if !keyword(word) && !self.soft_keyword(start, word) {
                        self.out.push((start, word));
                    }
                }
                _ => self.i += 1,
            }
        }
    }

    /// Skips digits and `_`.
    fn digits(&mut self) {
        while self.peek(self.i).is_ascii_digit() || self.peek(self.i) == b'_' {
            self.i += 1;
        }
    }

    /// A numeric literal: `0x…`/`0o…`/`0b…`, or digits, a fraction, an exponent and a `j`
    /// (so that `1.5e100.__format__` leaves `.__format__` to the code).
    fn number(&mut self) {
        if self.peek(self.i) == b'0' && matches!(self.peek(self.i + 1) | 0x20, b'x' | b'o' | b'b') {
            self.i += 2;
            while self.peek(self.i).is_ascii_alphanumeric() || self.peek(self.i) == b'_' {
                self.i += 1;
            }
            return;
        }
        self.digits();
        if self.peek(self.i) == b'.' {
            self.i += 1;
            self.digits();
        }
        if matches!(self.peek(self.i), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(self.i + 1), b'+' | b'-'));
            if self.peek(self.i + 1 + sign).is_ascii_digit() {
                self.i += 1 + sign;
                self.digits();
            }
        }
        // Imaginary `1j`, and Python 2's long `1L`.
        if matches!(self.peek(self.i), b'j' | b'J' | b'l' | b'L') {
            self.i += 1;
        }
    }

    /// `match` and `case` opening a line that ends with `:` are keywords of a match
    /// statement, and so is the wildcard `_` on a `case` line; `__future__` after `from` is
    /// part of a future import. (The tree sees these as keywords, not identifiers.)
    fn soft_keyword(&mut self, start: usize, word: &str) -> bool {
        if !matches!(word, "match" | "case" | "_" | "__future__") {
            return false;
        }
        let line_start = self.b[..start]
            .iter()
            .rposition(|c| *c == b'\n')
            .map_or(0, |p| p + 1);
        let before = &self.b[line_start..start];
        match word {
            "match" | "case" => {
                if !before.iter().all(|c| *c == b' ' || *c == b'\t') {
                    return false;
                }
                let next = self.peek(self.i);
                if !matches!(
                    next,
                    b' ' | b'\t' | b'(' | b'[' | b'{' | b'"' | b'\'' | b'-'
                ) {
                    return false;
                }
                let end = self.b[self.i..]
                    .iter()
                    .position(|c| *c == b'\n')
                    .map_or(self.b.len(), |p| self.i + p);
                let rest = &self.b[self.i..end];
                let code = match rest.iter().rposition(|c| *c == b'#') {
                    Some(h) if !rest[..h].iter().any(|c| *c == b'"' || *c == b'\'') => &rest[..h],
                    _ => rest,
                };
                let ends_with_colon = code.trim_ascii_end().ends_with(b":");
                if ends_with_colon && word == "case" {
                    self.case_line_end = end;
                }
                ends_with_colon
            }
            "_" => start < self.case_line_end,
            "__future__" => {
                before.trim_ascii_end().ends_with(b"from") && {
                    let at = before.trim_ascii_end().len();
                    at == 4 || !(before[at - 5].is_ascii_alphanumeric() || before[at - 5] == b'_')
                }
            }
            _ => false,
        }
    }

    /// A string literal starting at its opening quote; for an f-string, the identifiers of its
    /// replacement fields.
    fn string(&mut self, fstring: bool, raw: bool, depth: usize) {
        let q = self.b[self.i];
        let triple = self.peek(self.i + 1) == q && self.peek(self.i + 2) == q;
        self.i += if triple { 3 } else { 1 };
        let fields = fstring && depth < MAX_FSTRING_DEPTH;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if c == b'\\' {
                match self.peek(self.i + 1) {
                    // `\{` still opens a field; a named escape `\N{…}` does not.
                    b'{' if fields => self.i += 1,
                    b'N' if fields && !raw && self.peek(self.i + 2) == b'{' => {
                        while self.i < self.b.len() && !matches!(self.b[self.i], b'}' | b'\n') {
                            self.i += 1;
                        }
                    }
                    _ => self.i += 2,
                }
            } else if c == q
                && (!triple || (self.peek(self.i + 1) == q && self.peek(self.i + 2) == q))
            {
                self.i += if triple { 3 } else { 1 };
                return;
            } else if c == b'\n' && !triple {
                return;
            } else if c == b'{' && fields {
                if self.peek(self.i + 1) == b'{' {
                    self.i += 2;
                } else {
                    self.i += 1;
                    self.field(q, triple, depth + 1);
                }
            } else {
                self.i += 1;
            }
        }
        self.i = self.i.min(self.b.len());
    }

    /// An f-string replacement field after its `{`: the expression, then a `!conversion` and a
    /// `:format spec` (which may hold nested fields), up to and past the closing `}`.
    fn field(&mut self, q: u8, triple: bool, depth: usize) {
        self.code(Some((q, triple)), depth);
        if self.peek(self.i) == b'!' {
            self.i += 1;
            while ident_cont(self.peek(self.i)) {
                self.i += 1;
            }
        }
        if self.peek(self.i) == b':' {
            self.i += 1;
            while self.i < self.b.len() {
                match self.b[self.i] {
                    b'{' if depth < MAX_FSTRING_DEPTH => {
                        self.i += 1;
                        self.field(q, triple, depth + 1);
                    }
                    b'}' => break,
                    b'\n' if !triple => return,
                    c if c == q => return,
                    _ => self.i += 1,
                }
            }
        }
        if self.peek(self.i) == b'}' {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repomap::extract::{node_text, parse};
    use crate::repomap::lang::Lang;

    /// The tree's `identifier` leaves, as (offset, text).
    fn tree_identifiers(src: &str) -> Vec<(usize, String)> {
        let mut parser = tree_sitter::Parser::new();
        let tree = parse(&mut parser, Lang::Python, src).expect("parses");
        let mut out = Vec::new();
        let mut w = tree.walk();
        'walk: loop {
            let n = w.node();
            if n.child_count() == 0 && n.is_named() && n.kind() == "identifier" {
                out.push((n.start_byte(), node_text(n, src.as_bytes()).to_string()));
            }
            if w.goto_first_child() {
                continue;
            }
            while !w.goto_next_sibling() {
                if !w.goto_parent() {
                    break 'walk;
                }
            }
        }
        out
    }

    fn lexed(src: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        identifiers(src, &mut out);
        out.into_iter().map(|(i, s)| (i, s.to_string())).collect()
    }

    const TRICKY: &str = r#"\u{feff}from __future__ import annotations
import os.path as osp  # a comment with words
x = 1.5e100.__format__('e') + 0x1F + 1_000j + .5 + 1e-5 + 7L if False else None
s = 'it''s' "a \" quote" b'bytes' rb'\d' '''triple ' quote
still string''' """doc "" """
f"{name!r:>{width}} {{literal}} {obj.attr['k']} {a if b else c} \N{GREEK SMALL LETTER ALPHA}"
rf"C:\{folder}\{sub}" F'{x:%Y-%m-%d}' f"{f'{inner}'}" f'''{
    multi
}'''
match command.split():
    case [action, _]:
        pass
    case Point(x=0) | _:
        result = match_count
match = re.match(pattern, text)
café = naïve + 1
print(len(s))
"#;

    #[test]
    fn lexer_finds_what_the_tree_calls_identifiers() {
        let src = TRICKY.replace("\\u{feff}", "\u{feff}");
        assert_eq!(lexed(&src), tree_identifiers(&src));
    }

    #[test]
    fn lexer_agrees_with_the_tree_on_the_python_fixtures() -> Result<(), Box<dyn std::error::Error>>
    {
        let mut checked = 0;
        for p in crate::repomap::extract::fixture_files("python")? {
            if p.extension().is_some_and(|x| x == "py") {
                let src = String::from_utf8_lossy(&std::fs::read(&p)?).into_owned();
                assert_eq!(lexed(&src), tree_identifiers(&src), "{}", p.display());
                checked += 1;
            }
        }
        assert!(checked >= 5, "only {checked} fixture files");
        Ok(())
    }

    #[test]
    fn lexer_survives_unterminated_and_deep_input() {
        for src in [
            "f'{",
            "f'{x!",
            "f'{x:",
            "'abc",
            "\"\"\"never closed",
            "x = 0x",
            "\\",
            "f'\\N{",
        ] {
            let _ = lexed(src);
        }
        let deep = format!("{}x{}", "f'{".repeat(10_000), "}'".repeat(10_000));
        assert!(lexed(&deep).len() <= 1);
        let brackets = format!("{}y{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(lexed(&brackets), vec![(10_000, "y".to_string())]);
    }
}
