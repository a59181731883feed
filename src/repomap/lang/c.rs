//! C / C++ hooks: `#include "x.h"` (kind `include`) and `#include <x.h>` (`include_system`);
//! a computed `#include MACRO` is not an import.

use tree_sitter::Node;

use crate::repomap::extract::{Import, node_text, one_line};

use super::mask::{blank_out, is_ident, skip_space, starts_word};
use crate::text::line_start;

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

/// C and C++ that tree-sitter cannot know, blanked out byte for byte (see `mask`): the export
/// and visibility macros between `class`, `struct` or `union` and the name being defined
/// (`class FMT_API format_error : public std::runtime_error {`, `class Q_CORE_EXPORT QObject`,
/// `struct LLVM_LIBRARY_VISIBILITY X final {`). Unexpanded, the macro reads as the class's
/// name and the rest as an error: the class, its methods and what follows were lost.
///
/// A macro is written in capitals (digits and `_` too); what follows it is one or more such
/// macros, the name, then `:` (a base clause, not `::` or a bit-field's width), `{` (a body,
/// not a brace initialiser), `final` or `<` (a specialisation, not an explicit
/// instantiation). `struct stat st;`, `struct FOO bar = {0};` and a range-for's `(struct FOO
/// x : xs)` stay as they are. Also blanked: a macro around a base (`base_macros`), the
/// macros in a declaration's head besides its type (`function_macros`) and those after its
/// parameters (`trailing_macros`).
pub fn mask_c_gaps(src: &str) -> std::borrow::Cow<'_, str> {
    let b = src.as_bytes();
    let mut blank = Vec::new();
    for key in ["class", "struct", "union"] {
        for (at, _) in src.match_indices(key) {
            if !starts_word(b, at, key.len()) {
                continue;
            }
            let mut i = skip_space(b, at + key.len());
            if i == at + key.len() || in_brackets(b, at) {
                continue;
            }
            // The macros: every capitalised word before the last word (a few at most: prose
            // in a comment is no head, and must not be read to its end at every `class`).
            let mut words = Vec::new();
            while let Some(end) = word_end(b, i) {
                words.push((i, end));
                let next = skip_space(b, end);
                if next == end || words.len() > 8 {
                    break;
                }
                i = next;
            }
            if words.len() > 8 {
                continue;
            }
            let Some(&(_, last_end)) = words.last() else {
                continue;
            };
            // `final` after the name is no name.
            let mut n = words.len();
            if n >= 2 && &b[words[n - 1].0..last_end] == b"final" {
                n -= 1;
            }
            let macros = &words[..n.saturating_sub(1)];
            if !macros.iter().all(|&(s, e)| is_macro(&b[s..e])) {
                continue;
            }
            let after = skip_space(b, last_end);
            let opens = match b.get(after) {
                // `struct FOO bar{};` initialises a variable.
                Some(b'{') => {
                    after > last_end
                        || b[after..]
                            .iter()
                            .take_while(|&&c| c != b'}')
                            .any(|&c| c == b';')
                }
                // A specialisation's `<…>` comes before its body or bases; an explicit
                // instantiation's (`template class API X<T>;`) does not.
                Some(b'<') => after_angles(b, after)
                    .is_some_and(|k| matches!(b.get(skip_space(b, k)), Some(b'{' | b':'))),
                Some(b':') => {
                    b.get(after + 1) != Some(&b':')
                        && !b
                            .get(skip_space(b, after + 1))
                            .is_some_and(u8::is_ascii_digit)
                }
                _ => false,
            };
            if opens {
                blank.extend_from_slice(macros);
                if b[after] == b':' {
                    base_macros(b, after + 1, &mut blank);
                }
            }
        }
    }
    function_macros(b, &mut blank);
    trailing_macros(b, &mut blank);
    blank.sort_unstable();
    blank.dedup();
    blank_out(src, &blank)
}

/// The macros wrapping base classes in the base clause from `i` (Chromium's and V8's `class
/// A : public NON_EXPORTED_BASE(B) {`): the macro's name and brackets, the base kept.
fn base_macros(b: &[u8], mut i: usize, blank: &mut Vec<(usize, usize)>) {
    let limit = (i + 1000).min(b.len());
    while i < limit && !matches!(b[i], b'{' | b';') {
        let Some(end) = word_end(b, i).filter(|_| i == 0 || !is_ident(b[i - 1])) else {
            i += 1;
            continue;
        };
        let open = skip_space(b, end);
        if !is_macro(&b[i..end]) || b.get(open) != Some(&b'(') {
            i = end;
            continue;
        }
        let mut depth = 0usize;
        let close = (open..limit).find(|&k| match b[k] {
            b'(' => {
                depth += 1;
                false
            }
            b')' => {
                depth -= 1;
                depth == 0
            }
            _ => false,
        });
        let Some(close) = close.filter(|&c| !b[open..c].iter().any(|&c| matches!(c, b'{' | b';')))
        else {
            return;
        };
        blank.push((i, open + 1));
        blank.push((close, close + 1));
        i = close + 1;
    }
}

/// Whether the keyword at `at` stands in brackets, after `(` and qualifiers: `for (struct FOO x :
/// xs)` declares a variable.
fn in_brackets(b: &[u8], at: usize) -> bool {
    let mut k = at;
    loop {
        let before = b[..k].trim_ascii_end();
        match before.last() {
            Some(b'(') => return true,
            Some(&c) if is_ident(c) => {
                let word = last_word(before);
                if !matches!(word, b"const" | b"volatile") {
                    return false;
                }
                k = before.len() - word.len();
            }
            _ => return false,
        }
    }
}

/// The end of the balanced `<…>` that starts at `open`, if it closes before a `;`, `{` or `}`.
fn after_angles(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &c) in b.iter().enumerate().skip(open).take(500) {
        match c {
            b'<' => depth += 1,
            b'>' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            b';' | b'{' | b'}' => return None,
            _ => {}
        }
    }
    None
}

/// The attribute macros after a declarator's parameters, before its `;` or body (`int
/// (*RedisModule_Alloc)(size_t bytes) REDISMODULE_ATTR;`, `void f(const char *fmt, ...)
/// PRINTF_FORMAT(1, 2);`, `Maybe<bool> Set() V8_WARN_UNUSED_RESULT {`).
fn trailing_macros(b: &[u8], blank: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(k) = b[from..].iter().position(|&c| c == b')') {
        let close = from + k;
        from = close + 1;
        // On the same line: `)` then the macro.
        let at = close
            + 1
            + b[close + 1..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
        let Some(end) = word_end(b, at).filter(|&e| is_macro(&b[at..e])) else {
            continue;
        };
        if in_comment_or_directive(b, close) || !closes_parameters(b, close) {
            continue;
        }
        let mut after = skip_space(b, end);
        if b.get(after) == Some(&b'(') {
            let Some(k) = b[after..].iter().take(200).position(|&c| c == b')') else {
                continue;
            };
            if b[after + 1..after + k]
                .iter()
                .any(|&c| matches!(c, b'(' | b';' | b'{'))
            {
                continue;
            }
            after = skip_space(b, after + k + 1);
        }
        if matches!(b.get(after), Some(b';' | b'{')) {
            blank.push((at, after));
        }
    }
}

/// Whether the line up to `at` is a comment's (`// decodeURI (encodedURI)`, ` * f(x)`) or a
/// preprocessor line's (`#if defined(X)`, and the lines a `\\` continues).
fn in_comment_or_directive(b: &[u8], at: usize) -> bool {
    let start = line_start(b, at);
    let line = b[start..at].trim_ascii_start();
    // The line before, if any, ends with `\`.
    let continued = start > 0
        && b[line_start(b, start - 1)..start - 1]
            .trim_ascii_end()
            .ends_with(b"\\");
    continued
        || line.starts_with(b"#")
        || line.starts_with(b"*")
        || line.starts_with(b"/*")
        || line.windows(2).any(|w| w == b"//")
}

/// Whether the `)` at `close` ends a declarator's parameters (`f(int a)`, `(*f)(int a)`): the
/// `(` it closes follows a name that is no keyword and no macro's, or a `)`. A cast's
/// (`(char *)NULL`, `return (int)x`) and a macro's (`typedef LHASH_OF(S) PROP_TABLE;`)
/// follow anything else.
fn closes_parameters(b: &[u8], close: usize) -> bool {
    let mut depth = 0usize;
    let mut k = close;
    let lowest = close.saturating_sub(4000);
    let open = loop {
        match b[k] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    break k;
                }
            }
            b';' | b'{' | b'}' => return false,
            _ => {}
        }
        if k == lowest {
            return false;
        }
        k -= 1;
    };
    let before = b[..open].trim_ascii_end();
    match before.last() {
        Some(b')') => true,
        Some(&c) if is_ident(c) => {
            let name = last_word(before);
            !STATEMENT.contains(&name) && !QUALIFIERS.contains(&name) && !is_macro(name)
        }
        _ => false,
    }
}

/// Words that qualify a declaration without being its type.
const QUALIFIERS: &[&[u8]] = &[
    b"static",
    b"inline",
    b"extern",
    b"const",
    b"volatile",
    b"virtual",
    b"explicit",
    b"constexpr",
    b"consteval",
    b"constinit",
    b"friend",
    b"register",
    b"thread_local",
    b"mutable",
    b"typename",
    b"struct",
    b"enum",
    b"union",
    b"class",
    b"__inline",
    b"__inline__",
    b"__forceinline",
    b"_Noreturn",
    b"__stdcall",
    b"__cdecl",
    b"__fastcall",
    b"__thiscall",
    b"__vectorcall",
    b"__clrcall",
    b"_cdecl",
    b"_stdcall",
    b"restrict",
    b"__restrict",
    b"__restrict__",
    b"_Atomic",
    b"__thread",
    b"_Thread_local",
    b"__extension__",
];

/// Keywords no declaration's head has: a line that has one is a statement.
const STATEMENT: &[&[u8]] = &[
    b"return",
    b"else",
    b"case",
    b"goto",
    b"new",
    b"delete",
    b"throw",
    b"sizeof",
    b"typedef",
    b"using",
    b"namespace",
    b"if",
    b"while",
    b"for",
    b"switch",
    b"do",
    b"co_return",
    b"co_await",
    b"co_yield",
    b"default",
    b"defined",
    b"__has_include",
    b"template",
    b"public",
    b"private",
    b"protected",
];

/// The macros in a declaration's head, between its type and its name or before both
/// (`inline void FORCE_INLINE Debug(`, `NAPI_EXTERN napi_status NAPI_CDECL napi_create(`,
/// `XMLPUBFUN xmlChar * XMLCALL xmlStrdup(`, `V8_EXPORT_PRIVATE std::ostream& operator<<(`,
/// `extern NODE_EXTERN_PRIVATE EnabledDebugList enabled_debug_list;`): a line (not a
/// preprocessor line's continuation) that begins with words (qualified names and template
/// arguments too, `*` and `&` between them, no blank line) and ends them with a name and `(`,
/// `;`, `=` or `[`. The capitalised words before the name are macros when the head has a type
/// besides them or is a constructor's (`explicit`, `~`); else one of them is the type: the one
/// before a `*` or `&` (`CURL_EXTERN CURL *curl_easy_init(`), the one after a qualifier
/// (`ALIGN64 static const BN_ULONG one[40]`), or the first (`DWORD WINAPI ThreadProc(`, `BOOL
/// ok;`). A capitalised name is a macro's (K&R compatibility:
/// `trio_make_double TRIO_ARGS1((values), …)`), and a head with `return`, `case` and the
/// like is a statement's: neither is touched.
fn function_macros(b: &[u8], blank: &mut Vec<(usize, usize)>) {
    let mut line = 0;
    while line < b.len() {
        let next = b[line..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |n| line + n + 1);
        let start = line
            + b[line..next]
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\t'))
                .count();
        line = next;
        // A line that continues a preprocessor line (`#define X \`) is the macro's text.
        if in_comment_or_directive(b, start) {
            continue;
        }
        let mut i = start;
        let mut words: Vec<(usize, usize)> = Vec::new();
        let opens = loop {
            let Some(end) = type_word_end(b, i) else {
                break false;
            };
            words.push((i, end));
            // `operator<<(`, `operator()(`, `operator bool(`: the name.
            if &b[i..end] == b"operator" {
                break true;
            }
            let mut j = end;
            let mut newlines = 0;
            while b
                .get(j)
                .is_some_and(|&c| c.is_ascii_whitespace() || c == b'*' || c == b'&')
            {
                newlines += usize::from(b[j] == b'\n');
                j += 1;
            }
            if matches!(b.get(j), Some(b'(' | b';' | b'=' | b'[')) {
                break true;
            }
            // Words end at anything else, at a blank line, and after a few.
            if j == end || newlines > 1 || words.len() > 8 {
                break false;
            }
            i = j;
        };
        let word = |&(s, e): &(usize, usize)| &b[s..e];
        let Some((name, head)) = words.split_last() else {
            continue;
        };
        if !opens
            || head.is_empty()
            || is_macro(word(name))
            || head.iter().any(|w| STATEMENT.contains(&word(w)))
        {
            continue;
        }
        // A constructor or destructor has no type (`V8_INLINE explicit Operand(`,
        // `V8_EXPORT_PRIVATE ~Scope();`).
        let typed = b[name.0] == b'~'
            || head.iter().any(|w| {
                let w = word(w);
                w == b"explicit" || !is_macro(w) && !QUALIFIERS.contains(&w)
            });
        // Without another type, one of the capitalised words is the type: the one before a
        // `*` or `&`, the one after a qualifier (`ALIGN64 static const BN_ULONG one[40]`),
        // else the first.
        let pointer = |&(_, e): &(usize, usize)| matches!(b[skip_space(b, e)], b'*' | b'&');
        let the_type = (!typed).then(|| {
            head.iter()
                .position(|w| is_macro(word(w)) && pointer(w))
                .or_else(|| {
                    (1..head.len()).rev().find(|&k| {
                        is_macro(word(&head[k])) && QUALIFIERS.contains(&word(&head[k - 1]))
                    })
                })
                .or_else(|| head.iter().position(|w| is_macro(word(w))))
        });
        blank.extend(
            head.iter()
                .enumerate()
                .filter(|&(k, w)| is_macro(word(w)) && the_type.flatten() != Some(k))
                .map(|(_, &w)| w),
        );
    }
}

/// The end of a type's or a name's word at `i`: an identifier, `::` and further identifiers
/// (`v8::MaybeLocal`, `::f`, `~A`), template arguments (`<v8::Object>`, brackets balanced,
/// no `;`, `{` or `}` inside).
fn type_word_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        if b[i..].starts_with(b"::") {
            i += 2;
        } else if b.get(i) == Some(&b'~') {
            i += 1;
        }
        let start = i;
        i = word_end(b, i)?;
        if b.get(i) == Some(&b'<') && &b[start..i] != b"operator" {
            i = after_angles(b, i)?;
        }
        if !b[i..].starts_with(b"::") {
            return Some(i);
        }
    }
}

/// The identifier `b` ends with (empty if none).
fn last_word(b: &[u8]) -> &[u8] {
    &b[b.iter().rposition(|&c| !is_ident(c)).map_or(0, |p| p + 1)..]
}

/// Where a definition's head begins once the macros [`mask_c_gaps`] blanked in front of it
/// are counted back in: the parse starts `GTEST_API_ size_t GetFileSize(FILE* file)` at
/// `size_t`, and a line of such macros alone above it (`V8_EXPORT_PRIVATE`, then `void f();`)
/// is not in its range. `start` is where the parsed definition begins; what is before it on its
/// line, and on at most two lines right above it, counts only when it is capitalised words
/// alone, and not the tail of a preprocessor line (`#define X \`, `#elif … \`): anything else
/// there is another statement's.
pub fn head_start(b: &[u8], start: usize) -> usize {
    let first = |from: usize, to: usize| {
        from + b[from..to]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count()
    };
    let mut line = line_start(b, start);
    if in_comment_or_directive(b, line) || !macros_alone(&b[line..start]) {
        return start;
    }
    let mut head = first(line, start);
    for _ in 0..2 {
        if line == 0 {
            break;
        }
        let above = line_start(b, line - 1);
        let text = &b[above..line - 1];
        if text.iter().all(u8::is_ascii_whitespace)
            || !macros_alone(text)
            || in_comment_or_directive(b, above)
        {
            break;
        }
        head = first(above, line);
        line = above;
    }
    head
}

/// Whether `text` holds nothing but capitalised words ([`is_macro`]) and blanks.
fn macros_alone(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match word_end(text, i) {
            Some(end) if is_macro(&text[i..end]) => i = end,
            _ => return false,
        }
    }
    true
}

/// The end of the identifier starting at `i`, if one does.
fn word_end(b: &[u8], i: usize) -> Option<usize> {
    if !b
        .get(i)
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
    {
        return None;
    }
    let mut end = i;
    while b
        .get(end)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
    {
        end += 1;
    }
    Some(end)
}

/// An export macro's spelling: capitals, digits and `_`, with a capital, two bytes or more.
fn is_macro(w: &[u8]) -> bool {
    w.len() >= 2
        && w.iter().any(u8::is_ascii_uppercase)
        && w.iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}
