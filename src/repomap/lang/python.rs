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
