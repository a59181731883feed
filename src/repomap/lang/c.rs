//! C / C++ hooks: `#include "x.h"` (kind `include`) and `#include <x.h>` (`include_system`);
//! a computed `#include MACRO` is not an import.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

pub fn imports(node: Node, src: &[u8], out: &mut Vec<Import>) {
    let Some(path) = node.child_by_field_name("path") else {
        return;
    };
    let text = node_text(path, src).trim();
    let (kind, module) = match path.kind() {
        "system_lib_string" => (
            "include_system",
            text.trim_start_matches('<').trim_end_matches('>'),
        ),
        "string_literal" => ("include", text.trim_matches('"')),
        // A computed include (`#include PLATFORM_HEADER`) names no file we can know.
        _ => return,
    };
    if module.is_empty() {
        return;
    }
    out.push(Import {
        line: node.start_position().row as u32 + 1,
        raw: one_line(node_text(node, src)),
        kind: kind.into(),
        module: module.to_string(),
        names: vec![],
    });
}
