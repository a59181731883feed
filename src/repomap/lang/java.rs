//! Java hooks: `import a.b.C;`, `import a.b.*;`, `import static a.b.C.m;`.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

use super::mask::{blank_out, is_ident, skip_space, word_before};

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

/// Java that tree-sitter-java 0.23 does not parse, blanked out byte for byte (see `mask`): the
/// `module` of a module import (Java 25: `import module java.base;`), which then reads as an
/// import of the module's name.
pub fn mask_java_gaps(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains("module") {
        return std::borrow::Cow::Borrowed(src);
    }
    let b = src.as_bytes();
    let blank: Vec<(usize, usize)> = word_before(src, "import", &["module"])
        .into_iter()
        .filter_map(|(_, end)| {
            let at = skip_space(b, end);
            let name = skip_space(b, at + 6);
            (name > at + 6 && b.get(name).is_some_and(|&c| is_ident(c))).then_some((at, at + 6))
        })
        .collect();
    blank_out(src, &blank)
}
