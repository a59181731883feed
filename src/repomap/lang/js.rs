//! JavaScript / TypeScript hooks: `import … from "x"`, `export … from "x"`, `require("x")`,
//! `import("x")` and `import x = require("x")`.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

use super::mask::{blank_out, is_ident, skip_space, starts_word, word_before};

pub fn imports(node: Node, src: &[u8], out: &mut Vec<Import>) {
    let source = node
        .child_by_field_name("source")
        .or_else(|| first_string(node));
    let Some(source) = source else { return };
    let module = unquote(node_text(source, src));
    if module.is_empty() {
        return;
    }
    let mut names = Vec::new();
    collect_names(node, src, &mut names);
    out.push(Import {
        line: node.start_position().row as u32 + 1,
        raw: one_line(node_text(node, src)),
        kind: "import".into(),
        module: module.to_string(),
        names,
    });
}

/// The first string literal under `node` (breadth-first, a few levels deep).
fn first_string(node: Node) -> Option<Node> {
    let mut queue = vec![node];
    let mut i = 0;
    while i < queue.len() && i < 64 {
        let n = queue[i];
        i += 1;
        if n.kind() == "string" {
            return Some(n);
        }
        let mut c = n.walk();
        queue.extend(n.named_children(&mut c));
    }
    None
}

/// Imported binding names (`{a, b as c}` → a, b; default import → its local name).
fn collect_names(node: Node, src: &[u8], out: &mut Vec<String>) {
    let Some(clause) = ({
        let mut c = node.walk();
        node.named_children(&mut c)
            .find(|c| c.kind() == "import_clause" || c.kind() == "export_clause")
    }) else {
        return;
    };
    let mut stack = vec![clause];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "import_specifier" | "export_specifier" => {
                if let Some(name) = n.child_by_field_name("name") {
                    out.push(node_text(name, src).to_string());
                }
            }
            "identifier" => out.push(node_text(n, src).to_string()),
            _ => {
                let mut c = n.walk();
                stack.extend(n.named_children(&mut c));
            }
        }
    }
    out.sort();
}

pub fn unquote(s: &str) -> &str {
    s.trim().trim_matches(|c| c == '"' || c == '\'' || c == '`')
}

/// Valid TypeScript that tree-sitter-typescript 0.23 does not parse, blanked out byte for byte
/// (so every position in the tree is still a position in `src`) to code it does parse:
/// - `export type * from "x"` and `export type * as ns from "x"` (TypeScript 5.0): `type`;
/// - type arguments after an import type, `import("./a").B<string>`: the `<…>`;
/// - variance annotations, `interface I<in out T>`: `in` and `out`.
///
/// Without this, a file using them has a syntax error for `vibe heal` and loses the symbols
/// and imports around it.
pub fn mask_typescript_gaps(src: &str) -> std::borrow::Cow<'_, str> {
    let b = src.as_bytes();
    let mut blank: Vec<(usize, usize)> = Vec::new();
    // Bracket scans stop after this many bytes in all, so that no file costs more than a few
    // passes over it, however its brackets are (un)balanced.
    let mut budget = 4 * b.len() + 65_536;
    for (at, end) in word_before(src, "export", &["type"]) {
        let t = skip_space(b, end);
        if starts_statement(b, at) && b.get(skip_space(b, t + 4)) == Some(&b'*') {
            blank.push((t, t + 4));
        }
    }
    for (at, _) in src.match_indices("import") {
        // An import type stands where a type does: after `:`, `=`, `<`, `,`, `|`, `&`, `(`,
        // `[` or `=>`; not in a comment's prose (`@returns import("./a").B<T`).
        let before = b[..at].iter().rev().find(|c| !c.is_ascii_whitespace());
        let in_type = before.is_some_and(|c| b":=<,|&([>".contains(c));
        if !starts_word(b, at, 6) || !in_type {
            continue;
        }
        let mut i = skip_space(b, at + 6);
        if b.get(i) != Some(&b'(') {
            continue;
        }
        let Some(close) = closing(b, i, b'(', b')', &mut budget) else {
            continue;
        };
        // `.Name` segments, then type arguments.
        i = close + 1;
        let mut named = false;
        while b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(|&c| is_ident(c)) {
                i += 1;
            }
            named = i > start;
        }
        let open = skip_space(b, i);
        if named
            && b.get(open) == Some(&b'<')
            && let Some(end) = closing(b, open, b'<', b'>', &mut budget)
            && !leaves_a_comment(&b[open..end])
        {
            blank.push((open, end + 1));
        }
    }
    for kw in ["interface", "class", "type"] {
        for (at, _) in src.match_indices(kw) {
            if !starts_word(b, at, kw.len()) {
                continue;
            }
            let mut i = skip_space(b, at + kw.len());
            let name = i;
            while b.get(i).is_some_and(|&c| is_ident(c)) {
                i += 1;
            }
            let open = skip_space(b, i);
            if i == name || b.get(open) != Some(&b'<') {
                continue;
            }
            let Some(end) = closing(b, open, b'<', b'>', &mut budget) else {
                continue;
            };
            // Each parameter's leading `in` / `out` modifiers, at the list's own depth.
            let mut depth = 0usize;
            let mut param_start = true;
            let mut j = open + 1;
            while j < end {
                let c = b[j];
                if depth == 0 && param_start && !c.is_ascii_whitespace() {
                    param_start = false;
                    while let Some(len) = variance_modifier(b, j) {
                        blank.push((j, j + len));
                        j = skip_space(b, j + len);
                    }
                    continue;
                }
                match c {
                    b'<' | b'(' | b'[' | b'{' => depth += 1,
                    b'>' if b[j - 1] == b'=' => {}
                    b'>' | b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    b',' if depth == 0 => param_start = true,
                    _ => {}
                }
                j += 1;
            }
        }
    }
    blank_out(src, &blank)
}

/// The length of an `in` or `out` variance modifier at `at`: followed by a type parameter's
/// name (not by `extends`, which makes `out` the parameter's own name).
fn variance_modifier(b: &[u8], at: usize) -> Option<usize> {
    [&b"in"[..], b"out"].into_iter().find_map(|m| {
        let after = at + m.len();
        let next = skip_space(b, after);
        let ok = b[at..].starts_with(m)
            && b.get(after).is_some_and(u8::is_ascii_whitespace)
            && b.get(next).is_some_and(|&c| is_ident(c))
            && !(b[next..].starts_with(b"extends") && starts_word(b, next, 7));
        ok.then_some(m.len())
    })
}

/// Whether only blanks stand between `at` and the start of its line or the end of the statement
/// or block before it (not inside a string: `"export type *"`).
fn starts_statement(b: &[u8], at: usize) -> bool {
    let before = b[..at].iter().rev().find(|&&c| c != b' ' && c != b'\t');
    before.is_none_or(|&c| matches!(c, b'\n' | b'\r' | b';' | b'{' | b'}'))
}

/// Whether a bracketed range runs out of a comment or into one: then it is prose, not code.
fn leaves_a_comment(range: &[u8]) -> bool {
    range.windows(2).any(|w| w == b"*/" || w == b"//")
        || range
            .split(|&c| c == b'\n')
            .skip(1)
            .any(|line| line.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'*'))
}

/// The position of the bracket closing the one at `open` (nesting counted, `=>` not a close),
/// within 4 KiB and what is left of `budget` (bytes to scan in all). For `<`, a `;` or an
/// unmatched `}` outside braces ends the search: not a type argument list.
fn closing(b: &[u8], open: usize, left: u8, right: u8, budget: &mut usize) -> Option<usize> {
    let (mut depth, mut braces) = (0usize, 0usize);
    for (k, &c) in b.iter().enumerate().skip(open).take(4096) {
        *budget = budget.checked_sub(1)?;
        if c == left {
            depth += 1;
        } else if c == right && !(right == b'>' && b[k - 1] == b'=') {
            depth -= 1;
            if depth == 0 {
                return Some(k);
            }
        } else if right == b'>' {
            match c {
                b'{' => braces += 1,
                b'}' if braces == 0 => return None,
                b'}' => braces -= 1,
                b';' if braces == 0 => return None,
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repomap::lang::Lang;

    fn has_error(lang: Lang, src: &str) -> bool {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&lang.grammar()).ok();
        p.parse(src, None)
            .is_none_or(|tree| tree.root_node().has_error())
    }

    #[test]
    fn masks_only_what_the_grammar_lacks_byte_for_byte() {
        let cases = [
            ("export type * from \"./t\";", "export      * from \"./t\";"),
            (
                "export type *\n  as ns from \"./t\";",
                "export      *\n  as ns from \"./t\";",
            ),
            (
                "let a: import(\"./a\").B.C<Map<K, () => V>>;",
                "let a: import(\"./a\").B.C                 ;",
            ),
            (
                "let c: import(\"r\").C<D<{ a?: M; b: 1 }> | U>;",
                "let c: import(\"r\").C                        ;",
            ),
            (
                "interface I<in out T, const U> {}",
                "interface I<       T, const U> {}",
            ),
            (
                "type F<\n  out R> = () => R;",
                "type F<\n      R> = () => R;",
            ),
        ];
        for (src, masked) in cases {
            assert_eq!(mask_typescript_gaps(src), masked);
            assert!(has_error(Lang::TypeScript, src), "{src}");
            assert!(!has_error(Lang::TypeScript, masked), "{masked}");
        }
        // Valid code the grammar parses stays as it is.
        for src in [
            "export type { A } from \"./a\";",
            "export * from \"./a\";",
            "const m = await import(\"./a\");",
            "let x: import(\"./a\").B;",
            "type X<out extends string> = out;",
            "class C<T> { type = 1; }",
            "if (type < inner) {}",
            "const exported = { type: 1 };",
            "const s = \"export type * from\";",
            "// returns import(\"./a\").Loader<T for now\nconst q = \"a>b\";",
            "/**\n * @returns import(\"./a\").Map<string, number\n */\nexport function f(a: number, b: number) { return a > b; }",
            "/* x: import(\"./a\").B<T */ let y = a > b;",
        ] {
            assert_eq!(mask_typescript_gaps(src), src);
        }
    }
}
