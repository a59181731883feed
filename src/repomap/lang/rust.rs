//! Rust hooks: `mod foo;` (with `#[path = "…"]`), `use` trees expanded to one path each, and
//! `extern crate`.
//!
//! Declarations inside inline modules (`mod util { pub mod text; }`, `mod tests { use super::*; }`)
//! carry that scope, so resolution can find `util/text.rs` and read `super` from `tests`:
//! a `mod` import's `module` is the declared module's path from the file's own module
//! (`util::text`; `names` holds the `#[path]`, if any), and a `use` import's `names` holds the
//! inline scope (`["tests"]`; empty at file level).

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

use super::mask::{blank_out, word_before};

pub fn imports(node: Node, src: &[u8], out: &mut Vec<Import>) {
    let line = node.start_position().row as u32 + 1;
    match node.kind() {
        "mod_item" => {
            if node.child_by_field_name("body").is_some() {
                return;
            }
            let Some(name) = node.child_by_field_name("name") else {
                return;
            };
            let path = path_attribute(node, src);
            let raw = match &path {
                Some(p) => format!("#[path = \"{p}\"] {}", one_line(node_text(node, src))),
                None => one_line(node_text(node, src)),
            };
            let mut module = inline_scope(node, src);
            module.push(node_text(name, src).to_string());
            out.push(Import {
                line,
                raw,
                kind: "mod".into(),
                module: module.join("::"),
                names: path.into_iter().collect(),
            });
        }
        "use_declaration" => {
            let Some(arg) = node.child_by_field_name("argument") else {
                return;
            };
            let raw = one_line(node_text(node, src));
            let scope = inline_scope(node, src);
            let names: Vec<String> = if scope.is_empty() {
                vec![]
            } else {
                vec![scope.join("::")]
            };
            let mut paths = Vec::new();
            expand(arg, src, String::new(), &mut paths);
            for module in paths {
                out.push(Import {
                    line,
                    raw: raw.clone(),
                    kind: "use".into(),
                    module,
                    names: names.clone(),
                });
            }
        }
        "extern_crate_declaration" => {
            if let Some(name) = node.child_by_field_name("name") {
                out.push(Import {
                    line,
                    raw: one_line(node_text(node, src)),
                    kind: "extern_crate".into(),
                    module: node_text(name, src).to_string(),
                    names: vec![],
                });
            }
        }
        _ => {}
    }
}

/// The names of the inline modules (`mod a { mod b { … } }`) around `node`, outermost first.
fn inline_scope(node: Node, src: &[u8]) -> Vec<String> {
    let mut scope = Vec::new();
    let mut cur = node.parent();
    while let Some(n) = cur {
        if n.kind() == "mod_item"
            && let Some(name) = n.child_by_field_name("name")
        {
            scope.push(node_text(name, src).to_string());
        }
        cur = n.parent();
    }
    scope.reverse();
    scope
}

/// `#[path = "x.rs"]` on the attribute items right before a `mod` declaration.
fn path_attribute(node: Node, src: &[u8]) -> Option<String> {
    let mut prev = node.prev_sibling();
    while let Some(p) = prev {
        if p.kind() != "attribute_item" {
            if p.kind().contains("comment") {
                prev = p.prev_sibling();
                continue;
            }
            break;
        }
        let text: String = node_text(p, src).split_whitespace().collect();
        if let Some(rest) = text.strip_prefix("#[path=") {
            return Some(rest.trim_end_matches(']').trim_matches('"').to_string());
        }
        prev = p.prev_sibling();
    }
    None
}

/// Expands a use tree into full paths: `a::{b, c::D}` → `a::b`, `a::c::D`; `a::*` → `a::*`;
/// `a::b as c` → `a::b`; `a::{self}` → `a`.
fn expand(n: Node, src: &[u8], prefix: String, out: &mut Vec<String>) {
    let join = |p: &str, s: &str| {
        if p.is_empty() {
            s.to_string()
        } else if s == "self" {
            p.to_string()
        } else {
            format!("{p}::{s}")
        }
    };
    match n.kind() {
        "scoped_use_list" => {
            let base = match n.child_by_field_name("path") {
                Some(p) => join(&prefix, &compact(p, src)),
                None => prefix,
            };
            if let Some(list) = n.child_by_field_name("list") {
                expand(list, src, base, out);
            }
        }
        "use_list" => {
            let mut c = n.walk();
            for child in n.named_children(&mut c) {
                expand(child, src, prefix.clone(), out);
            }
        }
        "use_as_clause" => {
            if let Some(p) = n.child_by_field_name("path") {
                out.push(join(&prefix, &compact(p, src)));
            }
        }
        "use_wildcard" => {
            let text = compact(n, src);
            out.push(join(&prefix, &text));
        }
        k if k.contains("comment") => {}
        _ => out.push(join(&prefix, &compact(n, src))),
    }
}

fn compact(n: Node, src: &[u8]) -> String {
    node_text(n, src).split_whitespace().collect()
}

/// Rust that tree-sitter-rust 0.24 does not parse, blanked out byte for byte (see `mask`): the
/// `safe` qualifier of items in an `unsafe extern` block (Rust 2024: `pub safe fn abs(x: i32) ->
/// i32;`, `safe static X: i32;`).
pub fn mask_rust_gaps(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains("safe") {
        return std::borrow::Cow::Borrowed(src);
    }
    blank_out(src, &word_before(src, "safe", &["fn", "static"]))
}
