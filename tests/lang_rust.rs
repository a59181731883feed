//! Rust: exact symbols, resolved imports, edges and externals of the `rust` fixture (a
//! workspace: a library with `mod` files in both layouts, `#[path]` modules, file modules
//! declared inside an inline module, `crate::` / `super::` / `self::` paths, a `mod tests` with
//! `use super::*`, a binary in src/main.rs and a `[[bin]]` in src/bin, an integration test, and a
//! second workspace crate used by name; serde and tokio from Cargo.toml).

use serde_json::{Value, json};

use crate::util::{Test, map_edges as edges, map_file as file};

/// `vibe map --json` of a fresh copy of the rust fixture.
fn rust_map() -> Value {
    Test::fixture("rust").run(&["map", "--json"]).json()
}

#[test]
fn symbols_are_exact() {
    let map = rust_map();
    // Impl blocks are definitions named after their type, and their functions are methods with
    // that type as parent (a trait's too); tuple and unit structs have no body, so their
    // signature is the whole item; `///` docs are found above `#[derive]` and `#[macro_export]`;
    // items of an inline module have it as parent.
    assert_eq!(
        file(&map, "src/lib.rs")["symbols"],
        json!([
            {"name": "util", "kind": "module", "parent": null, "signature": "pub mod util", "line": 9, "end_line": 18, "doc": "Helpers that are not part of the public API."},
            {"name": "clamp", "kind": "function", "parent": "util", "signature": "pub fn clamp(n: usize) -> usize", "line": 15, "end_line": 17, "doc": "Clamps a length to the store's limit."},
            {"name": "MAX_KEY_LEN", "kind": "constant", "parent": null, "signature": "pub const MAX_KEY_LEN: usize = 256;", "line": 23, "end_line": 23, "doc": "Longest key the store accepts."},
            {"name": "GREETING", "kind": "constant", "parent": null, "signature": "static GREETING: &str = \"kv\";", "line": 25, "end_line": 25},
            {"name": "Error", "kind": "enum", "parent": null, "signature": "pub enum Error", "line": 29, "end_line": 32, "doc": "Everything that can go wrong."},
            {"name": "Result", "kind": "type", "parent": null, "signature": "pub type Result<T> = std::result::Result<T, Error>;", "line": 34, "end_line": 34},
            {"name": "found", "kind": "macro", "parent": null, "signature": "macro_rules! found", "line": 38, "end_line": 42, "doc": "Builds a `Result` from an option."},
            {"name": "greeting", "kind": "function", "parent": null, "signature": "pub fn greeting() -> &'static str", "line": 44, "end_line": 47},
        ])
    );
    assert_eq!(
        file(&map, "src/store/mod.rs")["symbols"],
        json!([
            {"name": "Store", "kind": "trait", "parent": null, "signature": "pub trait Store", "line": 8, "end_line": 16, "doc": "A place to keep values."},
            {"name": "get", "kind": "method", "parent": "Store", "signature": "fn get(&self, key: &str) -> Result<String>;", "line": 10, "end_line": 10, "doc": "Looks a key up."},
            {"name": "put", "kind": "method", "parent": "Store", "signature": "fn put(&mut self, key: &str, value: String) -> Result<()>;", "line": 11, "end_line": 11},
            {"name": "has", "kind": "method", "parent": "Store", "signature": "fn has(&self, key: &str) -> bool", "line": 13, "end_line": 15},
            {"name": "check", "kind": "function", "parent": null, "signature": "pub fn check(key: &str) -> Result<()>", "line": 18, "end_line": 23},
        ])
    );
    assert_eq!(
        file(&map, "src/store/memory.rs")["symbols"],
        json!([
            {"name": "MemoryStore", "kind": "struct", "parent": null, "signature": "pub struct MemoryStore", "line": 10, "end_line": 12, "doc": "Keeps everything in a hash map."},
            {"name": "Hit", "kind": "struct", "parent": null, "signature": "pub struct Hit(pub String);", "line": 15, "end_line": 15, "doc": "A key that was looked up."},
            {"name": "Marker", "kind": "struct", "parent": null, "signature": "pub struct Marker;", "line": 17, "end_line": 17},
            {"name": "Bits", "kind": "union", "parent": null, "signature": "pub union Bits", "line": 19, "end_line": 22},
            {"name": "MemoryStore", "kind": "impl", "parent": null, "signature": "impl MemoryStore", "line": 24, "end_line": 31},
            {"name": "CAPACITY", "kind": "constant", "parent": "MemoryStore", "signature": "pub const CAPACITY: usize = 1024;", "line": 25, "end_line": 25},
            {"name": "new", "kind": "method", "parent": "MemoryStore", "signature": "pub fn new() -> Self", "line": 28, "end_line": 30, "doc": "An empty store."},
            {"name": "MemoryStore", "kind": "impl", "parent": null, "signature": "impl Store for MemoryStore", "line": 33, "end_line": 43},
            {"name": "get", "kind": "method", "parent": "MemoryStore", "signature": "fn get(&self, key: &str) -> Result<String>", "line": 34, "end_line": 36},
            {"name": "put", "kind": "method", "parent": "MemoryStore", "signature": "fn put(&mut self, key: &str, value: String) -> Result<()>", "line": 38, "end_line": 42},
            {"name": "tests", "kind": "module", "parent": null, "signature": "mod tests", "line": 46, "end_line": 53},
            {"name": "starts_empty", "kind": "function", "parent": "tests", "signature": "fn starts_empty()", "line": 50, "end_line": 52},
        ])
    );
    assert_eq!(
        file(&map, "src/net/codec.rs")["symbols"],
        json!([
            {"name": "Frame", "kind": "struct", "parent": null, "signature": "pub struct Frame", "line": 7, "end_line": 9, "doc": "One message on the wire."},
            {"name": "Frame", "kind": "impl", "parent": null, "signature": "impl Frame", "line": 11, "end_line": 16},
            {"name": "encode", "kind": "method", "parent": "Frame", "signature": "pub fn encode(&self, store: &dyn Store) -> Vec<u8>", "line": 12, "end_line": 15},
        ])
    );
    assert_eq!(
        file(&map, "crates/kv-proto/src/lib.rs")["symbols"],
        json!([
            {"name": "Request", "kind": "enum", "parent": null, "signature": "pub enum Request", "line": 4, "end_line": 7, "doc": "A request from a client."},
        ])
    );
}

#[test]
fn mod_and_use_paths_resolve_to_the_defining_file() {
    let map = rust_map();
    // A `mod` inside an inline module is listed with its path from the file's module
    // (`util::text`) and lives in that module's directory (src/util/); a `#[path]` there is
    // relative to that directory too, while a file-level `#[path]` is relative to the file, and
    // the file it loads owns its directory like a mod.rs (`mod sys;` → src/platform/sys.rs).
    // `use` paths go to the deepest module file they name; an item (`crate::Result`) is in its
    // module's file; `use super::*` in `mod tests` is the file itself, so it has no target.
    assert_eq!(
        file(&map, "src/lib.rs")["imports"],
        json!([
            {"line": 3, "raw": "pub mod net;", "module": "net", "resolved": ["src/net.rs"]},
            {"line": 4, "raw": "pub mod store;", "module": "store", "resolved": ["src/store/mod.rs"]},
            {"line": 6, "raw": "#[path = \"platform/unix_impl.rs\"] mod platform;", "module": "platform", "resolved": ["src/platform/unix_impl.rs"]},
            {"line": 10, "raw": "pub mod text;", "module": "util::text", "resolved": ["src/util/text.rs"]},
            {"line": 12, "raw": "#[path = \"fmt_impl.rs\"] pub mod fmt;", "module": "util::fmt", "resolved": ["src/util/fmt_impl.rs"]},
            {"line": 20, "raw": "pub use store::Store;", "module": "store::Store", "resolved": ["src/store/mod.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/main.rs")["imports"],
        json!([
            {"line": 1, "raw": "use kv_proto::Request;", "module": "kv_proto::Request", "resolved": ["crates/kv-proto/src/lib.rs"]},
            {"line": 2, "raw": "use kv_store::store::{MemoryStore, Store};", "module": "kv_store::store::MemoryStore", "resolved": ["src/store/mod.rs"]},
            {"line": 2, "raw": "use kv_store::store::{MemoryStore, Store};", "module": "kv_store::store::Store", "resolved": ["src/store/mod.rs"]},
            {"line": 3, "raw": "use tokio::runtime::Runtime;", "module": "tokio::runtime::Runtime", "resolved": [], "external": "tokio"},
        ])
    );
    assert_eq!(
        file(&map, "src/bin/kvctl.rs")["imports"],
        json!([
            {"line": 1, "raw": "extern crate kv_store;", "module": "kv_store", "resolved": ["src/lib.rs"]},
            {"line": 3, "raw": "use std::env;", "module": "std::env", "resolved": [], "external": "std"},
            {"line": 5, "raw": "use kv_store::net::codec::Frame;", "module": "kv_store::net::codec::Frame", "resolved": ["src/net/codec.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/net.rs")["imports"],
        json!([
            {"line": 3, "raw": "pub mod codec;", "module": "codec", "resolved": ["src/net/codec.rs"]},
            {"line": 5, "raw": "use self::codec::Frame;", "module": "self::codec::Frame", "resolved": ["src/net/codec.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/net/codec.rs")["imports"],
        json!([
            {"line": 1, "raw": "use super::super::store::Store;", "module": "super::super::store::Store", "resolved": ["src/store/mod.rs"]},
            {"line": 2, "raw": "use super::serve;", "module": "super::serve", "resolved": ["src/net.rs"]},
            {"line": 3, "raw": "use crate::util;", "module": "crate::util", "resolved": ["src/lib.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/platform/unix_impl.rs")["imports"],
        json!([
            {"line": 1, "raw": "mod sys;", "module": "sys", "resolved": ["src/platform/sys.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/store/mod.rs")["imports"],
        json!([
            {"line": 1, "raw": "mod memory;", "module": "memory", "resolved": ["src/store/memory.rs"]},
            {"line": 3, "raw": "pub use self::memory::MemoryStore;", "module": "self::memory::MemoryStore", "resolved": ["src/store/memory.rs"]},
            {"line": 4, "raw": "use crate::util::text::normalize;", "module": "crate::util::text::normalize", "resolved": ["src/util/text.rs"]},
            {"line": 5, "raw": "use crate::{Error, Result};", "module": "crate::Error", "resolved": ["src/lib.rs"]},
            {"line": 5, "raw": "use crate::{Error, Result};", "module": "crate::Result", "resolved": ["src/lib.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/store/memory.rs")["imports"],
        json!([
            {"line": 1, "raw": "use std::collections::HashMap;", "module": "std::collections::HashMap", "resolved": [], "external": "std"},
            {"line": 3, "raw": "use serde::{Deserialize, Serialize};", "module": "serde::Deserialize", "resolved": [], "external": "serde"},
            {"line": 3, "raw": "use serde::{Deserialize, Serialize};", "module": "serde::Serialize", "resolved": [], "external": "serde"},
            {"line": 5, "raw": "use super::{check, Store};", "module": "super::check", "resolved": ["src/store/mod.rs"]},
            {"line": 5, "raw": "use super::{check, Store};", "module": "super::Store", "resolved": ["src/store/mod.rs"]},
            {"line": 6, "raw": "use crate::Result;", "module": "crate::Result", "resolved": ["src/lib.rs"]},
            {"line": 47, "raw": "use super::*;", "module": "super::*", "resolved": []},
        ])
    );
    assert_eq!(
        file(&map, "src/util/text.rs")["imports"],
        json!([
            {"line": 1, "raw": "use super::clamp;", "module": "super::clamp", "resolved": ["src/lib.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/util/fmt_impl.rs")["imports"],
        json!([
            {"line": 1, "raw": "use super::text::normalize;", "module": "super::text::normalize", "resolved": ["src/util/text.rs"]},
        ])
    );
    assert_eq!(
        file(&map, "tests/store.rs")["imports"],
        json!([
            {"line": 1, "raw": "use kv_store::util::text::normalize;", "module": "kv_store::util::text::normalize", "resolved": ["src/util/text.rs"]},
            {"line": 2, "raw": "use kv_store::{MemoryStore, Store};", "module": "kv_store::MemoryStore", "resolved": ["src/lib.rs"]},
            {"line": 2, "raw": "use kv_store::{MemoryStore, Store};", "module": "kv_store::Store", "resolved": ["src/lib.rs"]},
        ])
    );
}

#[test]
fn edges_externals_and_project_are_exact() {
    let map = rust_map();
    assert_eq!(
        edges(&map),
        [
            "src/bin/kvctl.rs -> src/lib.rs",
            "src/bin/kvctl.rs -> src/net/codec.rs",
            "src/lib.rs -> src/net.rs",
            "src/lib.rs -> src/platform/unix_impl.rs",
            "src/lib.rs -> src/store/mod.rs",
            "src/lib.rs -> src/util/fmt_impl.rs",
            "src/lib.rs -> src/util/text.rs",
            "src/main.rs -> crates/kv-proto/src/lib.rs",
            "src/main.rs -> src/store/mod.rs",
            "src/net.rs -> src/net/codec.rs",
            "src/net/codec.rs -> src/lib.rs",
            "src/net/codec.rs -> src/net.rs",
            "src/net/codec.rs -> src/store/mod.rs",
            "src/platform/unix_impl.rs -> src/platform/sys.rs",
            "src/store/memory.rs -> src/lib.rs",
            "src/store/memory.rs -> src/store/mod.rs",
            "src/store/mod.rs -> src/lib.rs",
            "src/store/mod.rs -> src/store/memory.rs",
            "src/store/mod.rs -> src/util/text.rs",
            "src/util/fmt_impl.rs -> src/util/text.rs",
            "src/util/text.rs -> src/lib.rs",
            "tests/store.rs -> src/lib.rs",
            "tests/store.rs -> src/util/text.rs",
        ]
    );
    assert_eq!(
        map["externals"],
        json!([
            {"name": "std", "files": 2},
            {"name": "serde", "files": 1},
            {"name": "tokio", "files": 1},
        ])
    );
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "src/bin/kvctl.rs", "reason": "cargo bin"},
                {"path": "src/main.rs", "reason": "fn main"},
            ],
            "test_files": 1,
            "frameworks": ["serde", "tokio"],
            "externals": [
                {"name": "std", "files": 2},
                {"name": "serde", "files": 1},
                {"name": "tokio", "files": 1},
            ],
        })
    );
}

#[test]
fn detection_and_stats() {
    let map = rust_map();
    for (path, language, lines) in [
        ("crates/kv-proto/src/lib.rs", "rust", 7),
        ("src/bin/kvctl.rs", "rust", 10),
        ("src/lib.rs", "rust", 47),
        ("src/main.rs", "rust", 11),
        ("src/net.rs", "rust", 10),
        ("src/net/codec.rs", "rust", 16),
        ("src/platform/sys.rs", "rust", 3),
        ("src/platform/unix_impl.rs", "rust", 6),
        ("src/store/memory.rs", "rust", 53),
        ("src/store/mod.rs", "rust", 23),
        ("src/util/fmt_impl.rs", "rust", 5),
        ("src/util/text.rs", "rust", 7),
        ("tests/store.rs", "rust", 9),
    ] {
        let f = file(&map, path);
        assert_eq!(f["language"], language, "{path}");
        assert_eq!(f["lines"], lines, "{path}");
        assert_eq!(f["parse_errors"], false, "{path}");
    }
    let s = &map["stats"];
    assert_eq!(s["files"], json!(15));
    assert_eq!(s["source_files"], json!(13));
    assert_eq!(
        s["languages"],
        json!({"rust": {"files": 13, "lines": 207, "bytes": 4164}})
    );
    assert_eq!(s["other_text"], json!({"toml": 2}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], json!(0));
    assert_eq!(s["symbols"], json!(37));
    assert_eq!(s["imports"], json!(36));
    assert_eq!(s["edges"], json!(23));
    assert_eq!(s["externals"], json!(3));
}

#[test]
fn inline_modules_scope_mod_and_use() {
    let t = Test::new();
    t.write("src/lib.rs", "mod a;\n");
    t.write(
        "src/a.rs",
        "pub enum Kind { A }\nuse Kind::*;\n\nmod b {\n    pub mod c;\n    use self::c::f;\n    use super::Kind;\n}\n",
    );
    t.write("src/a/b/c.rs", "use super::super::Kind;\n\npub fn f() {}\n");
    let map = t.run(&["map", "--json"]).json();
    // In a non-mod.rs file, `mod b { mod c; }` is src/a/b/c.rs. `use Kind::*` names an item of
    // the module itself, not a crate; `self::` and `super::` in `mod b` start from `a::b`.
    assert_eq!(
        file(&map, "src/a.rs")["imports"],
        json!([
            {"line": 2, "raw": "use Kind::*;", "module": "Kind::*", "resolved": []},
            {"line": 5, "raw": "pub mod c;", "module": "b::c", "resolved": ["src/a/b/c.rs"]},
            {"line": 6, "raw": "use self::c::f;", "module": "self::c::f",
             "resolved": ["src/a/b/c.rs"]},
            {"line": 7, "raw": "use super::Kind;", "module": "super::Kind", "resolved": []},
        ])
    );
    assert_eq!(
        file(&map, "src/a/b/c.rs")["imports"],
        json!([
            {"line": 1, "raw": "use super::super::Kind;", "module": "super::super::Kind",
             "resolved": ["src/a.rs"]},
        ])
    );
    assert_eq!(
        edges(&map),
        [
            "src/a.rs -> src/a/b/c.rs",
            "src/a/b/c.rs -> src/a.rs",
            "src/lib.rs -> src/a.rs"
        ]
    );
}
