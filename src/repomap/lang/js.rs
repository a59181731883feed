//! JavaScript / TypeScript hooks: `import … from "x"`, `export … from "x"`, `require("x")`,
//! `import("x")` and `import x = require("x")`.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

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
