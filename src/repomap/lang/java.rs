//! Java hooks: `import a.b.C;`, `import a.b.*;`, `import static a.b.C.m;`.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

pub fn imports(node: Node, src: &[u8], out: &mut Vec<Import>) {
    let mut cursor = node.walk();
    let mut module = String::new();
    let mut is_static = false;
    let mut wildcard = false;
    for c in node.children(&mut cursor) {
        match c.kind() {
            "static" => is_static = true,
            "asterisk" => wildcard = true,
            "scoped_identifier" | "identifier" => {
                module = node_text(c, src).split_whitespace().collect();
            }
            _ => {}
        }
    }
    if module.is_empty() {
        return;
    }
    if wildcard {
        module.push_str(".*");
    }
    out.push(Import {
        line: node.start_position().row as u32 + 1,
        raw: one_line(node_text(node, src)),
        kind: if is_static { "import_static" } else { "import" }.into(),
        module,
        names: vec![],
    });
}
