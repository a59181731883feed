//! The syntax stage: tree-sitter's ERROR and MISSING nodes, with the grammars the repo map
//! already uses ([`crate::repomap::lang`]). Always available: no external tool.

use std::path::Path;

use crate::heal::diagnostics::{Diagnostic, Severity, Stage};
use crate::repomap::lang;

/// At most this many syntax errors are reported per file (one broken brace can cascade).
const MAX_PER_FILE: usize = 20;

/// One diagnostic per ERROR node (not descending into it) and per MISSING node of each file
/// with a grammar. Files vibe has no grammar for are passed over.
pub fn check(root: &Path, files: &[String]) -> Vec<Diagnostic> {
    spans(root, files, MAX_PER_FILE)
        .into_iter()
        .map(|f| f.diagnostic)
        .collect()
}

/// A syntax error with the extent of the node it reports.
#[derive(Debug, Clone)]
pub struct Found {
    pub diagnostic: Diagnostic,
    /// The node's last line (1-based): an ERROR node can run on well past its first.
    pub end_line: u32,
}

/// [`check`] with at most `max` errors per file, each with its node's last line.
pub fn spans(root: &Path, files: &[String], max: usize) -> Vec<Found> {
    let mut out = Vec::new();
    for f in files {
        match std::fs::read(root.join(f)) {
            Ok(b) => out.extend(errors_in(f, &String::from_utf8_lossy(&b), max)),
            Err(e) => out.push(Found {
                diagnostic: diag(f, 0, None, None, format!("cannot read the file: {e}")),
                end_line: 0,
            }),
        }
    }
    out
}

/// The syntax errors of `text`, the content of `f` (whose name picks the grammar), at most
/// `max`.
pub fn errors_in(f: &str, text: &str, max: usize) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let Some(lang) = lang::detect(f, text.as_bytes()) else {
        return out;
    };
    let mut parser = tree_sitter::Parser::new();
    let Some(tree) = crate::repomap::extract::parse(&mut parser, lang, text) else {
        return out;
    };
    let mut cursor = tree.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        if descend && (node.is_error() || node.is_missing()) {
            let p = node.start_position();
            let (line, col) = (p.row as u32 + 1, p.column as u32 + 1);
            let end = (node.end_position().row as u32 + 1).max(line);
            if node.is_missing() {
                let kind = node.kind();
                out.push(Found {
                    diagnostic: diag(
                        f,
                        line,
                        Some(col),
                        Some("missing"),
                        format!("missing `{kind}`"),
                    ),
                    end_line: line,
                });
            } else {
                let near = snippet(text.get(node.start_byte()..node.end_byte()).unwrap_or(""));
                out.push(Found {
                    diagnostic: diag(
                        f,
                        line,
                        Some(col),
                        Some("syntax"),
                        format!("syntax error near `{near}`"),
                    ),
                    end_line: end,
                });
            }
            descend = false;
        }
        if out.len() >= max {
            break;
        }
        if descend && node.has_error() && cursor.goto_first_child() {
            continue;
        }
        descend = true;
        if cursor.goto_next_sibling() {
            continue;
        }
        // Up until a node with a next sibling.
        let mut done = true;
        while cursor.goto_parent() {
            if cursor.goto_next_sibling() {
                done = false;
                break;
            }
        }
        if done {
            break;
        }
    }
    out
}

fn diag(
    file: &str,
    line: u32,
    column: Option<u32>,
    code: Option<&str>,
    message: String,
) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line,
        column,
        severity: Severity::Error,
        code: code.map(str::to_string),
        message,
        stage: Stage::Syntax,
        source: "tree-sitter".into(),
    }
}

/// The first line of an error node's text, at most 40 characters.
fn snippet(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    let mut s: String = line.chars().take(40).collect();
    if line.chars().count() > 40 {
        s.push('…');
    }
    if s.is_empty() {
        "end of file".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(name: &str, src: &str) -> Vec<String> {
        let d = crate::heal::tools::TempDir::new("vibe-test").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(d.path().join(name), src).unwrap_or_else(|e| panic!("{e}"));
        check(d.path(), &[name.to_string()])
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column.unwrap_or(0), d.message))
            .collect()
    }

    #[test]
    fn errors_and_missing_nodes() {
        assert!(errors("a.py", "def f(x):\n    return x\n").is_empty());
        assert_eq!(errors("a.py", "def f(x):\n    return x +\n").len(), 1);
        let c = errors("a.c", "int main(void) {\n  return 0\n}\n");
        assert_eq!(c, ["2:11: missing `;`"]);
        let js = errors("a.js", "const a = 1;\nfoo(;\n");
        assert!(js.iter().all(|e| e.starts_with("2:")), "{js:?}");
        assert!(errors("README.md", "# (((").is_empty());
        for (name, ok) in [
            ("a.rs", "fn main() {}\n"),
            ("a.go", "package main\nfunc main() {}\n"),
            ("A.java", "class A {}\n"),
            ("a.ts", "let x: number = 1;\n"),
            ("a.tsx", "const A = () => <div/>;\n"),
            ("a.jsx", "const A = () => <div/>;\n"),
            ("a.cpp", "int main() { return 0; }\n"),
        ] {
            assert!(errors(name, ok).is_empty(), "{name}");
        }
    }
}
