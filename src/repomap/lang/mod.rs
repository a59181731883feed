//! Languages vibe parses: detection (extension, then shebang, then content) and the per-language
//! tree-sitter grammar, tags query and hooks (docstrings, imports).
//!
//! Invariant: each language's query is compiled at most once per process (a `OnceLock`), and a
//! query that does not compile is an error naming its `.scm` file.

use std::sync::OnceLock;

use serde::Serialize;

pub mod c;
pub mod go;
pub mod java;
pub mod js;
pub mod mask;
pub mod python;
pub mod rust;

/// A language with a grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Rust,
    Go,
    Java,
    C,
    Cpp,
}

pub const ALL: [Lang; 9] = [
    Lang::Python,
    Lang::JavaScript,
    Lang::TypeScript,
    Lang::Tsx,
    Lang::Rust,
    Lang::Go,
    Lang::Java,
    Lang::C,
    Lang::Cpp,
];

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Rust => "rust",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
        }
    }

    pub fn from_name(s: &str) -> Option<Lang> {
        ALL.into_iter().find(|l| l.name() == s)
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }

    /// The `.scm` file this language's tags query lives in, and its text (embedded).
    pub fn query_source(self) -> (&'static str, &'static str) {
        match self {
            Lang::Python => (
                "src/repomap/queries/python/tags.scm",
                include_str!("../queries/python/tags.scm"),
            ),
            Lang::JavaScript => (
                "src/repomap/queries/javascript/tags.scm",
                include_str!("../queries/javascript/tags.scm"),
            ),
            Lang::TypeScript | Lang::Tsx => (
                "src/repomap/queries/typescript/tags.scm",
                include_str!("../queries/typescript/tags.scm"),
            ),
            Lang::Rust => (
                "src/repomap/queries/rust/tags.scm",
                include_str!("../queries/rust/tags.scm"),
            ),
            Lang::Go => (
                "src/repomap/queries/go/tags.scm",
                include_str!("../queries/go/tags.scm"),
            ),
            Lang::Java => (
                "src/repomap/queries/java/tags.scm",
                include_str!("../queries/java/tags.scm"),
            ),
            Lang::C => (
                "src/repomap/queries/c/tags.scm",
                include_str!("../queries/c/tags.scm"),
            ),
            Lang::Cpp => (
                "src/repomap/queries/cpp/tags.scm",
                include_str!("../queries/cpp/tags.scm"),
            ),
        }
    }

    /// The compiled tags query, built once per process.
    pub fn query(self) -> Result<&'static Compiled, String> {
        static CELLS: [OnceLock<Result<Compiled, String>>; 9] = [const { OnceLock::new() }; 9];
        let idx = ALL.iter().position(|l| *l == self).unwrap_or(0);
        CELLS[idx]
            .get_or_init(|| Compiled::new(self))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A lexer that finds the identifiers the tree's reference leaves hold, straight from the
    /// source text, where the language has one. Then the tree walk skips every subtree in
    /// which no tags pattern can start (most of the tree), which is several times cheaper.
    #[allow(clippy::type_complexity)]
    pub fn reference_lexer(self) -> Option<for<'s> fn(&'s str, &mut Vec<(usize, &'s str)>)> {
        match self {
            Lang::Python => Some(python::identifiers),
            _ => None,
        }
    }

    /// The grammar's node-types.json (what each node kind may contain), where a reference lexer
    /// makes it useful.
    fn node_types(self) -> Option<&'static str> {
        match self {
            Lang::Python => Some(tree_sitter_python::NODE_TYPES),
            _ => None,
        }
    }

    /// Leaf node kinds whose text counts as a reference to an identifier.
    pub fn reference_kinds(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["identifier"],
            Lang::JavaScript => &[
                "identifier",
                "property_identifier",
                "shorthand_property_identifier",
                "shorthand_property_identifier_pattern",
            ],
            Lang::TypeScript | Lang::Tsx => &[
                "identifier",
                "property_identifier",
                "shorthand_property_identifier",
                "shorthand_property_identifier_pattern",
                "type_identifier",
            ],
            Lang::Rust => &["identifier", "type_identifier", "field_identifier"],
            Lang::Go => &[
                "identifier",
                "type_identifier",
                "field_identifier",
                "package_identifier",
            ],
            Lang::Java => &["identifier", "type_identifier"],
            Lang::C => &["identifier", "type_identifier", "field_identifier"],
            Lang::Cpp => &[
                "identifier",
                "type_identifier",
                "field_identifier",
                "namespace_identifier",
            ],
        }
    }
}

/// A compiled query with the capture indexes the extractor needs.
pub struct Compiled {
    pub query: tree_sitter::Query,
    pub name: Option<u32>,
    pub body: Option<u32>,
    pub parent: Option<u32>,
    pub import: Option<u32>,
    pub package: Option<u32>,
    pub entry: Option<u32>,
    /// `@declarator.<how>` captures (C, C++): the capture index and which function names the
    /// declarator may lead to (see [`c::Declarator`]).
    pub declarators: Vec<(u32, c::Declarator)>,
    /// For each capture index, the definition kind if it is `@definition.<kind>`.
    pub def_kinds: Vec<Option<&'static str>>,
    /// Per pattern, its `(#not-parent-kind? @capture kind…)` predicates: a match is dropped when
    /// the capture's parent node is of one of the kinds. (A wildcard parent pattern
    /// `(_ (x) @c)` with a text predicate says the same, but costs Query::new far more.)
    pub not_parent_kinds: Vec<Vec<(u32, Vec<String>)>>,
    /// Node kind ids that count as references.
    pub ref_kind_ids: Vec<u16>,
    /// `roots[kind_id]`: some pattern can start at a node of this kind. `None` when a pattern
    /// can start anywhere (a wildcard root), and the query must then run over the whole tree.
    pub roots: Option<Vec<bool>>,
    /// `prune[kind_id]`: no pattern can start inside a node of this kind, so a walk for pattern
    /// roots need not enter it. Only for languages with a reference lexer (otherwise the walk
    /// must visit every leaf anyway).
    pub prune: Option<Vec<bool>>,
}

/// Definition kinds vibe records, as written in `@definition.<kind>` captures.
pub const KINDS: &[&str] = &[
    "function",
    "method",
    "class",
    "struct",
    "enum",
    "union",
    "trait",
    "interface",
    "type",
    "constant",
    "macro",
    "impl",
    "module",
    "namespace",
];

impl Compiled {
    fn new(lang: Lang) -> Result<Compiled, String> {
        let (file, src) = lang.query_source();
        let grammar = lang.grammar();
        let query = tree_sitter::Query::new(&grammar, src).map_err(|e| {
            format!(
                "{file}:{}:{}: query does not compile for {}: {:?} {}",
                e.row + 1,
                e.column + 1,
                lang.name(),
                e.kind,
                e.message
            )
        })?;
        let names = query.capture_names();
        let find = |n: &str| names.iter().position(|c| *c == n).map(|i| i as u32);
        let mut def_kinds = Vec::with_capacity(names.len());
        for n in names {
            match n.strip_prefix("definition.") {
                Some(k) => match KINDS.iter().find(|x| **x == k) {
                    Some(k) => def_kinds.push(Some(*k)),
                    None => return Err(format!("{file}: unknown definition kind `{n}`")),
                },
                None => def_kinds.push(None),
            }
        }
        let mut not_parent_kinds = Vec::with_capacity(query.pattern_count());
        for p in 0..query.pattern_count() {
            let mut filters = Vec::new();
            for pred in query.general_predicates(p) {
                let args = &pred.args;
                match (&*pred.operator, args.first()) {
                    ("not-parent-kind?", Some(tree_sitter::QueryPredicateArg::Capture(c)))
                        if args.len() > 1 =>
                    {
                        let mut kinds = Vec::new();
                        for a in &args[1..] {
                            match a {
                                tree_sitter::QueryPredicateArg::String(k) => {
                                    kinds.push(k.to_string())
                                }
                                tree_sitter::QueryPredicateArg::Capture(_) => {
                                    return Err(format!(
                                        "{file}: #not-parent-kind? takes one capture, then node kinds"
                                    ));
                                }
                            }
                        }
                        filters.push((*c, kinds));
                    }
                    (op, _) => {
                        return Err(format!(
                            "{file}: unknown or malformed predicate #{op} (supported beyond \
                             tree-sitter's own: #not-parent-kind? @capture kind…)"
                        ));
                    }
                }
            }
            not_parent_kinds.push(filters);
        }
        let mut ref_kind_ids = Vec::new();
        for k in lang.reference_kinds() {
            let id = grammar.id_for_node_kind(k, true);
            if id != 0 {
                ref_kind_ids.push(id);
            }
        }
        ref_kind_ids.sort_unstable();
        let roots: Option<Vec<bool>> = root_kinds(&query, src).map(|names| {
            (0..grammar.node_kind_count() as u16)
                .map(|id| {
                    grammar.node_kind_is_named(id)
                        && grammar
                            .node_kind_for_id(id)
                            .is_some_and(|k| names.iter().any(|n| n == k))
                })
                .collect()
        });
        let prune = match (&roots, lang.node_types(), lang.reference_lexer()) {
            (Some(roots), Some(types), Some(_)) => prunable(&grammar, roots.as_slice(), types),
            _ => None,
        };
        Ok(Compiled {
            prune,
            roots,
            name: find("name"),
            body: find("body"),
            parent: find("parent"),
            import: find("import"),
            package: find("package"),
            entry: find("entry"),
            declarators: [
                (find("declarator.definition"), c::Declarator::Definition),
                (find("declarator.declaration"), c::Declarator::Declaration),
                (find("declarator.member"), c::Declarator::Member),
            ]
            .into_iter()
            .filter_map(|(i, how)| i.map(|i| (i, how)))
            .collect(),
            def_kinds,
            not_parent_kinds,
            ref_kind_ids,
            query,
        })
    }
}

/// Which node kinds cannot hold a pattern root anywhere below them, from the grammar's
/// node-types.json: a kind can hold one if a kind it may contain (through fields, children and
/// supertypes) is a root kind or can hold one. Kinds node-types.json does not describe (ERROR,
/// anonymous tokens) are never pruned. `None` if the JSON does not read.
fn prunable(grammar: &tree_sitter::Language, roots: &[bool], types: &str) -> Option<Vec<bool>> {
    use std::collections::{HashMap, HashSet};
    let v: serde_json::Value = serde_json::from_str(types).ok()?;
    let mut subtypes: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut contains: HashMap<&str, Vec<&str>> = HashMap::new();
    fn names(list: Option<&serde_json::Value>) -> Vec<&str> {
        list.and_then(|l| l.as_array())
            .map(|a| {
                a.iter()
                    .filter(|t| t["named"].as_bool() == Some(true))
                    .filter_map(|t| t["type"].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }
    for t in v.as_array()? {
        let Some(name) = t["type"].as_str() else {
            continue;
        };
        if t["named"].as_bool() != Some(true) {
            continue;
        }
        if t.get("subtypes").is_some() {
            subtypes.insert(name, names(t.get("subtypes")));
            continue;
        }
        let mut kids = names(t.get("children").and_then(|c| c.get("types")));
        if let Some(fields) = t.get("fields").and_then(|f| f.as_object()) {
            for f in fields.values() {
                kids.extend(names(f.get("types")));
            }
        }
        contains.insert(name, kids);
    }
    // Supertypes stand for their subtypes (which may be supertypes again).
    let expand = |kids: &[&str]| -> HashSet<String> {
        let mut out = HashSet::new();
        let mut stack: Vec<&str> = kids.to_vec();
        while let Some(k) = stack.pop() {
            if !out.insert(k.to_string()) {
                continue;
            }
            if let Some(s) = subtypes.get(k) {
                stack.extend(s.iter().copied());
            }
        }
        out
    };
    let contains: HashMap<&str, HashSet<String>> =
        contains.iter().map(|(k, v)| (*k, expand(v))).collect();
    let root_names: HashSet<&str> = (0..grammar.node_kind_count() as u16)
        .filter(|id| roots.get(*id as usize).copied().unwrap_or(false))
        .filter_map(|id| grammar.node_kind_for_id(id))
        .collect();
    let mut holds: HashSet<&str> = HashSet::new();
    loop {
        let before = holds.len();
        for (k, kids) in &contains {
            if !holds.contains(k)
                && kids
                    .iter()
                    .any(|c| root_names.contains(c.as_str()) || holds.contains(c.as_str()))
            {
                holds.insert(k);
            }
        }
        if holds.len() == before {
            break;
        }
    }
    Some(
        (0..grammar.node_kind_count() as u16)
            .map(|id| {
                grammar.node_kind_is_named(id)
                    && grammar
                        .node_kind_for_id(id)
                        .is_some_and(|k| contains.contains_key(k) && !holds.contains(k))
            })
            .collect(),
    )
}

/// The node kinds the query's patterns start at, read from each pattern's own source text
/// (`(kind …)`, or each branch of a top-level `[ … ]`). `None` if any pattern may start at any
/// node (`(_ …)`, a bare string, a parenthesised group), so the caller falls back to running the
/// query over the whole tree.
fn root_kinds(query: &tree_sitter::Query, src: &str) -> Option<Vec<String>> {
    fn head(text: &str) -> Option<&str> {
        let rest = text.trim_start().strip_prefix('(')?.trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        (!name.is_empty() && name != "_").then_some(name)
    }
    let mut names = Vec::new();
    for i in 0..query.pattern_count() {
        let text = src.get(query.start_byte_for_pattern(i)..query.end_byte_for_pattern(i))?;
        let text = text.trim_start();
        if let Some(alts) = text.strip_prefix('[') {
            // Each top-level branch of the alternation.
            let mut depth = 0i32;
            let mut in_str = false;
            let mut prev = '\0';
            for (at, c) in alts.char_indices() {
                if in_str {
                    if c == '"' && prev != '\\' {
                        in_str = false;
                    }
                } else {
                    match c {
                        '"' if depth == 0 => return None,
                        '"' => in_str = true,
                        '(' | '[' => {
                            if depth == 0 {
                                names.push(head(&alts[at..])?.to_string());
                            }
                            depth += 1;
                        }
                        ')' | ']' => {
                            depth -= 1;
                            if depth < 0 {
                                break;
                            }
                        }
                        ';' if depth == 0 => {}
                        _ => {}
                    }
                }
                prev = c;
            }
        } else {
            names.push(head(text)?.to_string());
        }
    }
    names.sort();
    names.dedup();
    Some(names)
}

/// Detects a file's language from its path and its first bytes.
pub fn detect(path: &str, head: &[u8]) -> Option<Lang> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => by_extension(&ext.to_ascii_lowercase(), head),
        _ => by_shebang(head).or_else(|| by_content(head)),
    }
}

fn by_extension(ext: &str, head: &[u8]) -> Option<Lang> {
    Some(match ext {
        "py" | "pyi" | "pyw" => Lang::Python,
        "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
        "ts" | "mts" | "cts" => Lang::TypeScript,
        "tsx" => Lang::Tsx,
        "rs" => Lang::Rust,
        "go" => Lang::Go,
        "java" => Lang::Java,
        "c" => Lang::C,
        "h" => {
            if looks_like_cpp(head) {
                Lang::Cpp
            } else {
                Lang::C
            }
        }
        "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "inl" | "tpp" => {
            Lang::Cpp
        }
        _ => return None,
    })
}

/// A `.h` file is C++ if it uses constructs C does not have.
fn looks_like_cpp(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("class ")
            || l.starts_with("namespace ")
            || l.starts_with("template<")
            || l.starts_with("template <")
            || l.starts_with("using namespace")
            || l.starts_with("#include <string>")
            || l.starts_with("#include <vector>")
            || l.starts_with("#include <memory>")
            || l.starts_with("public:")
            || l.starts_with("private:")
    })
}

/// `#!/usr/bin/env python3`, `#!/usr/bin/node`, `#!/usr/bin/env -S deno run`.
fn by_shebang(head: &[u8]) -> Option<Lang> {
    let first = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let mut prog = words.next()?.rsplit('/').next()?;
    if prog == "env" {
        prog = words.find(|w| !w.starts_with('-'))?;
    }
    let prog = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match prog {
        "python" | "pypy" | "uv" => Lang::Python,
        "node" | "nodejs" | "bun" => Lang::JavaScript,
        "deno" | "ts-node" | "tsx" => Lang::TypeScript,
        "rust-script" => Lang::Rust,
        _ => return None,
    })
}

/// A cautious content check for files with neither extension nor shebang.
fn by_content(head: &[u8]) -> Option<Lang> {
    if head.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    let lines: Vec<&str> = text.lines().map(str::trim_start).take(200).collect();
    let starts = |p: &str| lines.iter().filter(|l| l.starts_with(p)).count();
    if starts("package ") > 0 && starts("func ") > 0 {
        return Some(Lang::Go);
    }
    if starts("package ") > 0 && (starts("public class") + starts("import java")) > 0 {
        return Some(Lang::Java);
    }
    if starts("fn ") + starts("pub fn ") > 0 && starts("use ") + starts("let ") + starts("mod ") > 0
    {
        return Some(Lang::Rust);
    }
    if starts("#include") > 0 {
        return Some(if looks_like_cpp(head) {
            Lang::Cpp
        } else {
            Lang::C
        });
    }
    if starts("def ") + starts("class ") > 0 && starts("import ") + starts("from ") > 0 {
        return Some(Lang::Python);
    }
    if starts("const ") + starts("function ") > 0 && text.contains("require(") {
        return Some(Lang::JavaScript);
    }
    None
}

/// The type of a text file that is not source vibe parses: its lowercased extension, or a
/// well-known file name, or `other`.
pub fn text_type(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "Makefile" | "makefile" | "GNUmakefile" => return "makefile".into(),
        "Dockerfile" => return "dockerfile".into(),
        "CMakeLists.txt" => return "cmake".into(),
        _ => {}
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 10 => {
            let ext = ext.to_ascii_lowercase();
            match ext.as_str() {
                "md" | "markdown" => "markdown".into(),
                "yml" | "yaml" => "yaml".into(),
                "htm" | "html" => "html".into(),
                _ => ext,
            }
        }
        _ => "other".into(),
    }
}

/// Source code in languages vibe does not parse, by the file type `text_type` gives it, with
/// the tag of a fenced block of it. `vibe context` ranks these files by their words and paths,
/// as source code (no symbols, no graph edges): a Ruby, PHP or Kotlin file of a project is as
/// much its code as the parsed ones.
const UNPARSED: &[(&str, &str)] = &[
    ("awk", "awk"),
    ("clj", "clojure"),
    ("cljs", "clojure"),
    ("coffee", "coffeescript"),
    ("cr", "crystal"),
    ("cs", "csharp"),
    ("cu", "cuda"),
    ("cuh", "cuda"),
    ("dart", "dart"),
    ("el", "elisp"),
    ("elm", "elm"),
    ("erl", "erlang"),
    ("ex", "elixir"),
    ("exs", "elixir"),
    ("fs", "fsharp"),
    ("groovy", "groovy"),
    ("hrl", "erlang"),
    ("hs", "haskell"),
    ("jl", "julia"),
    ("kt", "kotlin"),
    ("kts", "kotlin"),
    ("lua", "lua"),
    ("m", "objectivec"),
    ("ml", "ocaml"),
    ("mli", "ocaml"),
    ("mm", "objectivec"),
    ("nim", "nim"),
    ("nix", "nix"),
    ("php", "php"),
    ("pl", "perl"),
    ("pm", "perl"),
    ("ps1", "powershell"),
    ("pxd", "cython"),
    ("pyx", "cython"),
    ("r", "r"),
    ("rake", "ruby"),
    ("rb", "ruby"),
    ("scala", "scala"),
    ("sol", "solidity"),
    ("svelte", "svelte"),
    ("swift", "swift"),
    ("tcl", "tcl"),
    ("tf", "hcl"),
    ("vb", "vbnet"),
    ("vue", "vue"),
    ("zig", "zig"),
];

/// The fence tag of source code vibe does not parse, by its file type (see `text_type`);
/// `None` for anything else.
pub fn unparsed_code(ftype: &str) -> Option<&'static str> {
    UNPARSED
        .binary_search_by(|(t, _)| t.cmp(&ftype))
        .ok()
        .map(|i| UNPARSED[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        for lang in ALL {
            if let Err(e) = lang.query() {
                panic!("{e}");
            }
        }
    }

    /// Every language but C and C++ (whose queries match "any parent except a block") can run
    /// its query only at pattern roots; see `extract::tests::root_dispatch_matches_whole_tree`.
    #[test]
    fn queries_have_dispatchable_roots() {
        for lang in ALL {
            let q = lang.query().unwrap_or_else(|e| panic!("{e}"));
            let expected = !matches!(lang, Lang::C | Lang::Cpp);
            assert_eq!(q.roots.is_some(), expected, "{lang:?}");
        }
    }

    #[test]
    fn every_grammar_parses_a_snippet() -> Result<(), Box<dyn std::error::Error>> {
        let snippets = [
            (Lang::Python, "def f(x):\n    return x\n"),
            (Lang::JavaScript, "function f(x) { return <a>{x}</a>; }\n"),
            (
                Lang::TypeScript,
                "function f(x: number): number { return x; }\n",
            ),
            (Lang::Tsx, "const A = (p: P) => <div>{p.x}</div>;\n"),
            (Lang::Rust, "fn f(x: u32) -> u32 { x }\n"),
            (Lang::Go, "package main\nfunc f(x int) int { return x }\n"),
            (Lang::Java, "class A { int f(int x) { return x; } }\n"),
            (Lang::C, "int f(int x) { return x; }\n"),
            (Lang::Cpp, "template<class T> T f(T x) { return x; }\n"),
        ];
        for (lang, src) in snippets {
            let mut p = tree_sitter::Parser::new();
            p.set_language(&lang.grammar())?;
            let tree = p.parse(src, None).ok_or("no tree")?;
            assert!(!tree.root_node().has_error(), "{lang:?}");
        }
        Ok(())
    }

    #[test]
    fn detection() {
        assert_eq!(detect("a/b.py", b""), Some(Lang::Python));
        assert_eq!(detect("a/b.TSX", b""), Some(Lang::Tsx));
        assert_eq!(detect("x.h", b"class A {};"), Some(Lang::Cpp));
        assert_eq!(detect("x.h", b"int f(void);"), Some(Lang::C));
        assert_eq!(
            detect("bin/tool", b"#!/usr/bin/env python3\nprint(1)\n"),
            Some(Lang::Python)
        );
        assert_eq!(
            detect("bin/tool", b"#!/usr/bin/env -S node --x\n"),
            Some(Lang::JavaScript)
        );
        assert_eq!(detect("bin/tool", b"#!/bin/sh\necho\n"), None);
        assert_eq!(
            detect("run", b"package main\n\nfunc main() {}\n"),
            Some(Lang::Go)
        );
        assert_eq!(detect(".bashrc", b"def x"), None);
        assert_eq!(detect("README", b"hello"), None);
        assert_eq!(text_type("docs/a.MD"), "markdown");
        assert_eq!(text_type("Makefile"), "makefile");
        assert_eq!(text_type("LICENSE"), "other");
        assert_eq!(
            unparsed_code(&text_type("app/models/User.RB")),
            Some("ruby")
        );
        assert_eq!(unparsed_code(&text_type("src/Main.kt")), Some("kotlin"));
        assert_eq!(unparsed_code(&text_type("docs/a.md")), None);
        assert_eq!(unparsed_code(&text_type("a.py")), None);
    }

    #[test]
    fn unparsed_table_is_sorted() {
        assert!(UNPARSED.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
