//! Go hooks: each `import_spec` is one import of a package path.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

pub fn imports(node: Node, src: &[u8], out: &mut Vec<Import>) {
    let Some(path) = node.child_by_field_name("path") else {
        return;
    };
    let module = node_text(path, src).trim_matches(|c| c == '"' || c == '`');
    if module.is_empty() {
        return;
    }
    out.push(Import {
        line: node.start_position().row as u32 + 1,
        raw: format!("import {}", one_line(node_text(node, src))),
        kind: "import".into(),
        module: module.to_string(),
        names: vec![],
    });
}
