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

/// Which function names a `@declarator.*` capture accepts (see the C and C++ tags queries):
/// the query captures a declaration's whole declarator, and the name is found here, which
/// keeps the queries small (spelling every declarator shape out in the query made the C++
/// one take ~230 ms to compile, in every process that met a C++ file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declarator {
    /// A function definition: a plain name (`f`, `~A`, `operator==`, `f<T>`), or a
    /// qualified one (`A::f`, `A::B::f`, `Buf<T>::f`) whose innermost scope is the parent.
    Definition,
    /// A prototype: `f`, `~A`, `operator==`.
    Declaration,
    /// A member function prototype in a class body: `f`, `~A`, `operator==`.
    Member,
}

/// How many wrapper declarators (pointer, reference, parentheses, …) may stand between a
/// declarator capture and its function declarator.
fn wrappers(how: Declarator) -> usize {
    match how {
        Declarator::Member => 2,
        _ => 3,
    }
}

/// The (name, parent) of every function declarator within reach of `decl`: `decl` itself or
/// a node at most [`wrappers`] levels below it, whose own declarator is a name `how` accepts.
pub fn function_names<'t>(decl: Node<'t>, how: Declarator) -> Vec<(Node<'t>, Option<Node<'t>>)> {
    let mut out = Vec::new();
    let mut level = vec![decl];
    for depth in 0..=wrappers(how) {
        let mut next = Vec::new();
        for n in level {
            if n.kind() == "function_declarator"
                && let Some(inner) = n.child_by_field_name("declarator")
            {
                name_of(inner, how, &mut out);
            }
            if depth < wrappers(how) {
                let mut cursor = n.walk();
                next.extend(n.named_children(&mut cursor));
            }
        }
        level = next;
    }
    out
}

/// A name node as such: `f`, `~A`, `operator==`, or the `f` of `f<T>`.
fn plain_name(n: Node) -> Option<Node> {
    match n.kind() {
        "identifier" | "destructor_name" | "operator_name" => Some(n),
        "template_function" => n
            .child_by_field_name("name")
            .filter(|x| x.kind() == "identifier"),
        _ => None,
    }
}

fn name_of<'t>(q: Node<'t>, how: Declarator, out: &mut Vec<(Node<'t>, Option<Node<'t>>)>) {
    match how {
        Declarator::Declaration => {
            if matches!(q.kind(), "identifier" | "destructor_name" | "operator_name") {
                out.push((q, None));
            }
        }
        Declarator::Member => {
            if matches!(
                q.kind(),
                "field_identifier" | "destructor_name" | "operator_name"
            ) {
                out.push((q, None));
            }
        }
        Declarator::Definition => {
            if q.kind() == "field_identifier" {
                out.push((q, None));
                return;
            }
            if let Some(n) = plain_name(q) {
                out.push((n, None));
                return;
            }
            // `A::f`, `A::B::f`, `A::B::C::f`: the innermost scope is the parent.
            let mut cur = q;
            for _ in 0..3 {
                let (Some(scope), Some(name)) = (
                    cur.child_by_field_name("scope"),
                    cur.child_by_field_name("name"),
                ) else {
                    break;
                };
                let parent = match scope.kind() {
                    "namespace_identifier" => Some(scope),
                    "template_type" => scope
                        .child_by_field_name("name")
                        .filter(|x| x.kind() == "type_identifier"),
                    _ => None,
                };
                if let (Some(parent), Some(n)) = (parent, plain_name(name)) {
                    out.push((n, Some(parent)));
                    return;
                }
                cur = name;
            }
        }
    }
}
