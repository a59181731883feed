//! Tags extraction: one parsed file → its definitions, references and imports.
//!
//! Definitions and imports come from the language's `.scm` tags query; references are every
//! identifier-like leaf, collected with one cursor walk (much cheaper than a query pattern that
//! matches every identifier), or, for languages with a reference lexer (Python), read from the
//! text while the walk skips subtrees where no pattern can start. Invariant: nothing here
//! recurses on the syntax tree, so pathologically deep input (10,000 nested brackets) cannot
//! overflow the stack.

use rustc_hash::FxHashMap;

use serde::Serialize;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, QueryCursor, Tree};

use super::lang::{Compiled, Lang};

/// One definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Symbol {
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
    /// The definition's first line(s) as written, up to its body, whitespace collapsed.
    pub signature: String,
    /// 1-based first line.
    pub line: u32,
    /// 1-based last line.
    pub end_line: u32,
    /// First line of the docstring or doc comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// What an import-like statement says, before it is resolved to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    /// 1-based line of the statement.
    pub line: u32,
    /// The statement as written, on one line.
    pub raw: String,
    /// How to read `module`, e.g. `import`, `from`, `mod`, `use`, `include`, `include_system`.
    pub kind: String,
    /// The module path or specifier (`os.path`, `..pkg`, `./util`, `crate::a::b`, `fmt`).
    pub module: String,
    /// Names imported from the module, where the statement lists them (and, for Rust `mod`
    /// with `#[path]`, the path).
    pub names: Vec<String>,
}

/// Everything vibe keeps about one source file.
#[derive(Debug, Clone, Default)]
pub struct FileTags {
    pub symbols: Vec<Symbol>,
    /// Identifier → occurrences, sorted by name.
    pub refs: Vec<(String, u32)>,
    pub imports: Vec<Import>,
    /// Java `package a.b;` / Go `package x`.
    pub package: Option<String>,
    /// Python `if __name__ == "__main__":`.
    pub main_guard: bool,
    /// The tree has ERROR or MISSING nodes; what parsed is still returned.
    pub has_errors: bool,
}

/// Signatures longer than this are cut with an ellipsis.
const MAX_SIGNATURE: usize = 200;

/// Parses `src` as `lang`. The parser is reused across calls (one per thread). TypeScript, Rust,
/// Java, C and C++ the grammars do not know yet are masked first (see `lang::mask`); the tree's
/// positions are still those of `src`.
pub fn parse(parser: &mut Parser, lang: Lang, src: &str) -> Option<Tree> {
    parser.set_language(&lang.grammar()).ok()?;
    match lang {
        Lang::TypeScript | Lang::Tsx => {
            parser.parse(super::lang::js::mask_typescript_gaps(src).as_ref(), None)
        }
        Lang::Rust => parser.parse(super::lang::rust::mask_rust_gaps(src).as_ref(), None),
        Lang::Java => parser.parse(super::lang::java::mask_java_gaps(src).as_ref(), None),
        Lang::C | Lang::Cpp => parser.parse(super::lang::c::mask_c_gaps(src).as_ref(), None),
        _ => parser.parse(src, None),
    }
}

/// Extracts tags from a parsed tree.
pub fn extract(
    lang: Lang,
    q: &Compiled,
    tree: &Tree,
    src: &str,
    cursor: &mut QueryCursor,
) -> FileTags {
    extract_with(lang, q, tree, src, cursor, q.roots.as_deref())
}

/// [`extract`], with the pattern-root dispatch given explicitly (`None`: run the query over the
/// whole tree), so a test can check that both give the same tags.
pub fn extract_with(
    lang: Lang,
    q: &Compiled,
    tree: &Tree,
    src: &str,
    cursor: &mut QueryCursor,
    roots: Option<&[bool]>,
) -> FileTags {
    let bytes = src.as_bytes();
    let root = tree.root_node();
    let mut tags = FileTags {
        has_errors: root.has_error(),
        ..Default::default()
    };

    struct RawDef<'t> {
        node: Node<'t>,
        kind: &'static str,
        name: String,
        name_start: usize,
        body: Option<Node<'t>>,
        parent: Option<String>,
    }
    let mut defs: Vec<RawDef> = Vec::new();
    // Run the query only at nodes where a pattern can start (one walk of the tree, shared with
    // the reference count), each time with a start depth of 0: the query cursor then never
    // walks expression subtrees no pattern can start in.
    let mut refs: FxHashMap<&str, u32> = FxHashMap::default();
    let mut ref_nodes: Vec<(usize, &str)> = Vec::with_capacity(src.len() / 24);
    let mut starts: Vec<Node> = Vec::new();
    // With a reference lexer, references come from the text and the walk only looks for
    // pattern roots, skipping subtrees that cannot hold one. Otherwise one walk collects the
    // reference leaves and, when the query's pattern roots are known, the nodes to run it at;
    // without roots the query runs once over the whole tree.
    let lexer = lang.reference_lexer();
    if let Some(lex) = lexer {
        lex(src, &mut ref_nodes);
    }
    let prune = match (lexer, roots) {
        (Some(_), Some(_)) => q.prune.as_deref(),
        _ => None,
    };
    let is = |table: Option<&[bool]>, kind: u16| {
        table.is_some_and(|r| r.get(kind as usize).copied().unwrap_or(false))
    };
    if lexer.is_none() || roots.is_some() {
        let mut walk = root.walk();
        'walk: loop {
            let node = walk.node();
            let kind = node.kind_id();
            if is(roots, kind) {
                starts.push(node);
            }
            if lexer.is_none()
                && node.child_count() == 0
                && q.ref_kind_ids.binary_search(&kind).is_ok()
            {
                let text = node_text(node, bytes);
                if !text.is_empty() {
                    ref_nodes.push((node.start_byte(), text));
                }
            }
            if !is(prune, kind) && walk.goto_first_child() {
                continue;
            }
            while !walk.goto_next_sibling() {
                if !walk.goto_parent() {
                    break 'walk;
                }
            }
        }
    }
    if roots.is_some() {
        cursor.set_max_start_depth(Some(0));
    } else {
        starts.push(root);
        cursor.set_max_start_depth(None);
    }
    for start in starts {
        let mut matches = cursor.matches(&q.query, start, bytes);
        while let Some(m) = matches.next() {
            let mut def: Option<(Node, &'static str)> = None;
            let (mut name, mut body, mut parent) = (None, None, None);
            let mut declarator = None;
            for c in m.captures() {
                let i = c.index;
                if let Some(kind) = q.def_kinds.get(i as usize).copied().flatten() {
                    def = Some((c.node, kind));
                } else if let Some((_, how)) = q.declarators.iter().find(|d| d.0 == i) {
                    declarator = Some((c.node, *how));
                } else if Some(i) == q.name {
                    name = Some(c.node);
                } else if Some(i) == q.body {
                    body = Some(c.node);
                } else if Some(i) == q.parent {
                    parent = Some(c.node);
                } else if Some(i) == q.import {
                    import_hook(lang, c.node, bytes, &mut tags.imports);
                } else if Some(i) == q.package {
                    tags.package = package_name(c.node, bytes);
                } else if Some(i) == q.entry {
                    tags.main_guard = true;
                }
            }
            let Some((node, kind)) = def else { continue };
            let filters = q.not_parent_kinds.get(m.pattern_index).map(Vec::as_slice);
            let excluded = filters.unwrap_or(&[]).iter().any(|(capture, kinds)| {
                m.captures()
                    .iter()
                    .filter(|c| c.index == *capture)
                    .filter_map(|c| c.node.parent())
                    .any(|p| kinds.iter().any(|k| k == p.kind()))
            });
            if excluded {
                continue;
            }
            let names = match (name, declarator) {
                (Some(name), _) => vec![(name, parent)],
                (None, Some((d, how))) => super::lang::c::function_names(d, how),
                (None, None) => Vec::new(),
            };
            for (name, parent) in names {
                let text = node_text(name, bytes);
                if text.is_empty() {
                    continue;
                }
                defs.push(RawDef {
                    node,
                    kind,
                    name: text.to_string(),
                    name_start: name.start_byte(),
                    body,
                    parent: parent.map(|p| node_text(p, bytes).to_string()),
                });
            }
        }
    }

    // One definition per (node, name): one node may define several names (`const a = 1, b = 2;`),
    // and a broken parse can match the same (node, name) twice; the more specific kind wins.
    defs.sort_by(|a, b| {
        let key = |d: &RawDef| {
            (
                d.node.start_byte(),
                std::cmp::Reverse(d.node.end_byte()),
                d.name_start,
                kind_priority(d.kind),
            )
        };
        key(a).cmp(&key(b))
    });
    defs.dedup_by(|b, a| a.node.id() == b.node.id() && a.name_start == b.name_start);

    // Lexical parents: a stack of enclosing definitions (defs are sorted by start, outer first).
    let mut stack: Vec<(usize, usize, usize)> = Vec::new(); // (end_byte, symbol index, node id)
    let mut name_starts: Vec<usize> = Vec::with_capacity(defs.len());
    for d in &defs {
        let start = d.node.start_byte();
        while let Some(&(end, _, node)) = stack.last() {
            // Names sharing one node (`const a = 1, b = 2;`) are siblings, not parent and child.
            if start >= end || node == d.node.id() {
                stack.pop();
            } else {
                break;
            }
        }
        let enclosing = stack.last().map(|&(_, i, _)| i);
        let mut kind = d.kind.to_string();
        let mut parent = d.parent.clone();
        if let Some(i) = enclosing {
            let outer: &Symbol = &tags.symbols[i];
            if parent.is_none() {
                parent = Some(outer.name.clone());
            }
            if kind == "function" && is_container(&outer.kind) {
                kind = "method".to_string();
            }
        }
        if kind == "function" && d.parent.is_some() {
            kind = "method".to_string();
        }
        let sig_end = d.body.map(|b| b.start_byte()).unwrap_or(d.node.end_byte());
        // C and C++: the export macros blanked before parsing that began the head are its own
        // (a `#define`'s is the directive). They come before the parsed head's signature, whose
        // first line alone stands for a long prototype.
        let head = match lang {
            Lang::C | Lang::Cpp if d.kind != "macro" => super::lang::c::head_start(bytes, start),
            _ => start,
        };
        let parsed = signature(
            &without_comments(d.node, src, start, sig_end),
            d.body.is_none(),
        );
        let signature = if head < start {
            signature(&format!("{} {parsed}", &src[head..start]), false)
        } else {
            parsed
        };
        let doc = doc_hook(lang, d.node, d.body, bytes);
        tags.symbols.push(Symbol {
            name: d.name.clone(),
            kind,
            parent,
            signature,
            line: (d.node.start_position().row - newlines(&bytes[head..start])) as u32 + 1,
            end_line: end_row(d.node) as u32 + 1,
            doc,
        });
        name_starts.push(d.name_start);
        stack.push((d.node.end_byte(), tags.symbols.len() - 1, d.node.id()));
    }
    name_starts.sort_unstable();

    for (start, text) in ref_nodes {
        if name_starts.binary_search(&start).is_err() {
            *refs.entry(text).or_insert(0) += 1;
        }
    }
    tags.refs = refs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    tags.refs.sort_unstable();
    tags
}

/// How many line ends `b` holds.
fn newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// The last row a node covers (a node ending at column 0 ends on the row before).
fn end_row(n: Node) -> usize {
    let end = n.end_position();
    if end.column == 0 && end.row > n.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// Lower sorts first: when two patterns define one node, the first kind here wins.
fn kind_priority(kind: &str) -> u8 {
    match kind {
        "method" => 0,
        "function" => 1,
        "constant" => 9,
        _ => 5,
    }
}

/// Kinds whose function members are methods.
fn is_container(kind: &str) -> bool {
    matches!(
        kind,
        "class" | "struct" | "trait" | "interface" | "impl" | "enum" | "union"
    )
}

pub fn node_text<'s>(n: Node, src: &'s [u8]) -> &'s str {
    std::str::from_utf8(&src[n.start_byte()..n.end_byte()]).unwrap_or("")
}

/// Collapses whitespace runs to one space and cuts long signatures. A body-less definition
/// (a constant, a prototype) keeps only its first line unless it is short.
pub fn signature(text: &str, bodyless: bool) -> String {
    // A body's opening brace (`type Shape interface {`) and a macro's line continuation are
    // not part of the signature.
    let text = text.trim().trim_end_matches(['{', '\\']).trim_end();
    let text = if bodyless && (text.lines().count() > 4 || text.len() > 300) {
        text.lines().next().unwrap_or("")
    } else {
        text
    };
    let mut out = String::with_capacity(text.len().min(MAX_SIGNATURE + 4));
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX_SIGNATURE {
            break;
        }
    }
    if out.len() > MAX_SIGNATURE {
        let mut cut = MAX_SIGNATURE;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The source between `start` and `end`, leaving out the comments in it at any depth (`class
/// A(B):  # note` must not put the note in the signature, nor Java's `@SuppressWarnings("x") //
/// why` above `public class A` comment out the rest of a signature joined into one line).
/// Iterative: a definition's head may nest deeper than a recursion should go.
fn without_comments(def: Node, src: &str, start: usize, end: usize) -> String {
    let end = end.max(start);
    let mut out = String::with_capacity(end - start);
    let mut pos = start;
    let mut cursor = def.walk();
    let mut more = cursor.goto_first_child();
    while more {
        let node = cursor.node();
        if node.start_byte() >= end {
            // Every node after it begins later still.
            break;
        }
        let mut descend = false;
        if node.end_byte() > pos {
            if node.kind().contains("comment") {
                if node.start_byte() >= pos {
                    join_after_comment(&mut out, &src[pos..node.start_byte()], pos > start);
                    pos = node.end_byte().min(end);
                }
            } else {
                descend = node.child_count() > 0;
            }
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        more = loop {
            if cursor.goto_next_sibling() {
                break true;
            }
            // The cursor's root is `def`: no parent above it.
            if !cursor.goto_parent() {
                break false;
            }
        };
    }
    join_after_comment(&mut out, &src[pos..end], pos > start);
    out
}

/// Appends `chunk`, which follows a comment left out when `after_comment`, without the blanks
/// that stood by the comment before a closing bracket or separator and after an opening
/// bracket: `f(int a /* x */, char *s /* y */)` is `f(int a, char *s)`, not `f(int a , char *s
/// )`.
fn join_after_comment(out: &mut String, chunk: &str, after_comment: bool) {
    if !after_comment {
        out.push_str(chunk);
        return;
    }
    let rest = chunk.trim_start();
    if rest.starts_with([',', ';', ')', ']', '>', '}', ':'])
        || out.trim_end().ends_with(['(', '[', '<', '{'])
    {
        out.truncate(out.trim_end().len());
        out.push_str(rest);
    } else {
        out.push_str(chunk);
    }
}

/// Collapses a statement to one line, for `Import::raw`.
pub fn one_line(text: &str) -> String {
    signature(text, false)
}

fn import_hook(lang: Lang, node: Node, src: &[u8], out: &mut Vec<Import>) {
    match lang {
        Lang::Python => super::lang::python::imports(node, src, out),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => super::lang::js::imports(node, src, out),
        Lang::Rust => super::lang::rust::imports(node, src, out),
        Lang::Go => super::lang::go::imports(node, src, out),
        Lang::Java => super::lang::java::imports(node, src, out),
        Lang::C | Lang::Cpp => super::lang::c::imports(node, src, out),
    }
}

/// `package a.b.c;` (Java) / `package main` (Go): the last named child is the name.
fn package_name(node: Node, src: &[u8]) -> Option<String> {
    let mut cursor = node.walk();
    let name = node
        .named_children(&mut cursor)
        .filter(|c| !c.kind().contains("comment"))
        .last()?;
    Some(node_text(name, src).split_whitespace().collect::<String>())
}

fn doc_hook(lang: Lang, def: Node, body: Option<Node>, src: &[u8]) -> Option<String> {
    match lang {
        Lang::Python => super::lang::python::docstring(body, src),
        _ => comment_doc(def, src),
    }
}

/// The first text line of the comment block right above a definition (skipping attributes and
/// decorators), looking through wrappers such as `export` and `template<…>`.
pub fn comment_doc(def: Node, src: &[u8]) -> Option<String> {
    let mut node = def;
    while let Some(p) = node.parent() {
        if matches!(
            p.kind(),
            "export_statement"
                | "template_declaration"
                | "decorated_definition"
                | "lexical_declaration"
        ) {
            node = p;
        } else {
            break;
        }
    }
    let mut lines: Vec<&str> = Vec::new();
    let mut next_row = node.start_position().row;
    let mut prev = node.prev_sibling();
    while let Some(p) = prev {
        let kind = p.kind();
        if kind == "attribute_item" || kind == "decorator" || kind == "annotation" {
            next_row = p.start_position().row;
            prev = p.prev_sibling();
            continue;
        }
        if !kind.contains("comment") || end_row(p) + 1 < next_row {
            break;
        }
        // `//!` and `/*!` document the enclosing module, not the next item.
        let text = node_text(p, src).trim_start();
        if text.starts_with("//!") || text.starts_with("/*!") {
            break;
        }
        lines.push(node_text(p, src));
        next_row = p.start_position().row;
        prev = p.prev_sibling();
    }
    // `lines` runs bottom-up; the doc's first line is in the topmost comment.
    for text in lines.iter().rev() {
        for l in text.lines() {
            let l = strip_comment_marker(l);
            if !l.is_empty() {
                return Some(l.to_string());
            }
        }
    }
    None
}

fn strip_comment_marker(line: &str) -> &str {
    let mut l = line.trim();
    for p in ["///", "//!", "/**", "/*!", "/*", "//", "*/", "*", "#"] {
        if let Some(rest) = l.strip_prefix(p) {
            l = rest;
            break;
        }
    }
    l.trim_end_matches("*/").trim()
}

/// Every file under `tests/fixtures/<dir>`, for tests that check all fixtures.
#[cfg(test)]
pub(crate) fn fixture_files(dir: &str) -> std::io::Result<Vec<std::path::PathBuf>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut stack = vec![root.join(dir)];
    let mut out = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running the query only at pattern roots must find exactly what a whole-tree run finds:
    /// checked on every fixture file of every language.
    #[test]
    fn root_dispatch_matches_whole_tree() -> Result<(), Box<dyn std::error::Error>> {
        let mut checked = 0;
        for p in fixture_files("")? {
            let text = String::from_utf8_lossy(&std::fs::read(&p)?).into_owned();
            let name = p.to_string_lossy().into_owned();
            let Some(lang) = crate::repomap::lang::detect(&name, text.as_bytes()) else {
                continue;
            };
            let q = lang.query()?;
            let Some(roots) = q.roots.as_deref() else {
                continue;
            };
            let mut parser = Parser::new();
            let tree = parse(&mut parser, lang, &text).ok_or("parse")?;
            let mut cursor = QueryCursor::new();
            let a = extract_with(lang, q, &tree, &text, &mut cursor, Some(roots));
            let b = extract_with(lang, q, &tree, &text, &mut cursor, None);
            assert_eq!(a.symbols, b.symbols, "{name}");
            assert_eq!(a.imports, b.imports, "{name}");
            assert_eq!(a.refs, b.refs, "{name}");
            assert_eq!(
                (a.package, a.main_guard),
                (b.package, b.main_guard),
                "{name}"
            );
            checked += 1;
        }
        assert!(checked > 5, "only {checked} fixture files checked");
        Ok(())
    }

    /// `#not-parent-kind?` (C, C++): declarations in function bodies, `for` heads and `case`
    /// labels are not definitions; the same text at file or namespace level is; a specifier
    /// under a typedef is reported once, by the typedef patterns.
    #[test]
    fn parent_kind_filters_c_and_cpp() -> Result<(), Box<dyn std::error::Error>> {
        let src = "const int LIMIT = 3;\n\
                   int proto(int);\n\
                   typedef struct Tag { int x; } Alias;\n\
                   int f(int n) {\n\
                   \x20   const int local = 2;\n\
                   \x20   int inner(int);\n\
                   \x20   for (const int *p = 0; p; ) {}\n\
                   \x20   switch (n) { case 1: { const int in_case = 1; } }\n\
                   \x20   struct Local { int y; };\n\
                   \x20   return local;\n\
                   }\n";
        let cpp_extra = "namespace ns {\nconst int NS_LIMIT = 4;\nint ns_proto();\n}\n";
        for (lang, src) in [
            (Lang::C, src.to_string()),
            (Lang::Cpp, format!("{src}{cpp_extra}")),
        ] {
            let mut parser = Parser::new();
            let tree = parse(&mut parser, lang, &src).ok_or("no tree")?;
            let tags = extract(lang, lang.query()?, &tree, &src, &mut QueryCursor::new());
            let mut names: Vec<(String, String)> = tags
                .symbols
                .iter()
                .map(|s| (s.name.clone(), s.kind.clone()))
                .collect();
            names.sort();
            let mut want: Vec<(String, String)> = [
                ("Alias", "struct"),
                ("LIMIT", "constant"),
                ("Local", "struct"),
                ("Tag", "struct"),
                ("f", "function"),
                ("proto", "function"),
            ]
            .iter()
            .map(|(n, k)| (n.to_string(), k.to_string()))
            .collect();
            if lang == Lang::Cpp {
                want.push(("NS_LIMIT".into(), "constant".into()));
                want.push(("ns".into(), "namespace".into()));
                want.push(("ns_proto".into(), "function".into()));
                want.sort();
            }
            assert_eq!(names, want, "{}", lang.name());
        }
        Ok(())
    }

    /// Comments inside a definition's head, at any depth, are not in its signature (helper 97:
    /// `@SuppressWarnings("deprecation") // deliberate … public class StringUtilsTest`, whose
    /// `//` comments out the rest once joined into one line).
    #[test]
    fn comments_in_a_head_are_not_in_its_signature() -> Result<(), Box<dyn std::error::Error>> {
        for (lang, src, name, want) in [
            (
                Lang::Java,
                "@SuppressWarnings(\"deprecation\") // deliberate use\npublic class StringUtilsTest {\n}\n",
                "StringUtilsTest",
                "@SuppressWarnings(\"deprecation\") public class StringUtilsTest",
            ),
            (
                Lang::TypeScript,
                "export class ZodCatch<T> extends ZodType<\n  unknown // any input will pass\n> {\n}\n",
                "ZodCatch",
                "class ZodCatch<T> extends ZodType< unknown>",
            ),
            (
                Lang::Python,
                "def f(a,  # the first\n      b):  # note\n    return a\n",
                "f",
                "def f(a, b):",
            ),
            // No blanks left where the comments were (review of helper 99: `f(int a , char *s
            // )`, `S<T >`).
            (
                Lang::C,
                "int f(int a /* x */, char *s /* y */) {\n  return a;\n}\n",
                "f",
                "int f(int a, char *s)",
            ),
            (
                Lang::Rust,
                "pub struct S<T /* the item */> {\n    x: T,\n}\n",
                "S",
                "pub struct S<T>",
            ),
            (
                Lang::TypeScript,
                "class A {\n  m( // the value\n    x: number\n  ): void {}\n}\n",
                "m",
                "m(x: number ): void",
            ),
        ] {
            let mut parser = Parser::new();
            let tree = parse(&mut parser, lang, src).ok_or("no tree")?;
            let tags = extract(lang, lang.query()?, &tree, src, &mut QueryCursor::new());
            let sym = tags.symbols.iter().find(|s| s.name == name).ok_or(name)?;
            assert_eq!(sym.signature, want, "{}", lang.name());
        }
        Ok(())
    }

    /// The export macros that begin a C or C++ head, blanked before parsing, are in its
    /// signature and its range: on its line (`GTEST_API_ size_t GetFileSize(`) and on a line
    /// of their own above it (`V8_EXPORT_PRIVATE`); another statement above is not (helper
    /// 100).
    #[test]
    fn leading_macros_begin_a_c_head() -> Result<(), Box<dyn std::error::Error>> {
        let src = "GTEST_API_ size_t GetFileSize(FILE* file);\n\
                   class A {\n\
                   \x20public:\n\
                   \x20 V8_EXPORT_PRIVATE\n\
                   \x20 void Run(int n);\n\
                   \x20 V8_EXPORT_PRIVATE V8_INLINE static int Count();\n\
                   };\n\
                   const int X = 1;\n\
                   int g(void) {\n\
                   \x20 return X;\n\
                   }\n\
                   MODULE_LICENSE(\"GPL\");\n\
                   int h(void);\n\
                   CURL_EXTERN CURL *curl_easy_init(void);\n\
                   #define FLAGS \\\n\
                   \x20 FLAG_A\n\
                   int flags_of(void);\n\
                   MYLIB_API\n\
                   int long_prototype(int a,\n\
                   \x20 int b,\n\
                   \x20 int c,\n\
                   \x20 int d,\n\
                   \x20 int e);\n";
        let mut parser = Parser::new();
        let tree = parse(&mut parser, Lang::Cpp, src).ok_or("no tree")?;
        let tags = extract(
            Lang::Cpp,
            Lang::Cpp.query()?,
            &tree,
            src,
            &mut QueryCursor::new(),
        );
        let mut got: Vec<(&str, u32, &str)> = tags
            .symbols
            .iter()
            .map(|s| (s.name.as_str(), s.line, s.signature.as_str()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("A", 2, "class A"),
                (
                    "Count",
                    6,
                    "V8_EXPORT_PRIVATE V8_INLINE static int Count();"
                ),
                ("FLAGS", 15, "#define FLAGS \\ FLAG_A"),
                (
                    "GetFileSize",
                    1,
                    "GTEST_API_ size_t GetFileSize(FILE* file);"
                ),
                ("Run", 4, "V8_EXPORT_PRIVATE void Run(int n);"),
                ("X", 8, "const int X = 1;"),
                (
                    "curl_easy_init",
                    14,
                    "CURL_EXTERN CURL *curl_easy_init(void);"
                ),
                ("flags_of", 17, "int flags_of(void);"),
                ("g", 9, "int g(void)"),
                ("h", 13, "int h(void);"),
                ("long_prototype", 18, "MYLIB_API int long_prototype(int a,"),
            ]
        );
        Ok(())
    }

    #[test]
    fn signatures_collapse_and_cut() {
        assert_eq!(signature("def f(a,\n      b):", false), "def f(a, b):");
        let long = format!("X = [{}]", "1, ".repeat(200));
        let s = signature(&long, true);
        assert!(s.ends_with('…') && s.len() <= MAX_SIGNATURE + 3);
        assert_eq!(
            signature("BIG = {\n 1: 2,\n 3: 4,\n 5: 6,\n 7: 8,\n}", true),
            "BIG = {"
        );
    }

    #[test]
    fn comment_markers() {
        assert_eq!(strip_comment_marker("/// Hello */"), "Hello");
        assert_eq!(strip_comment_marker(" * world"), "world");
        assert_eq!(strip_comment_marker("# py"), "py");
    }
}
