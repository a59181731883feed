//! Python: exact symbols, resolved imports, edges and externals of the `python` fixture
//! (src-layout package with relative imports, a re-exporting `__init__`, a main guard, a test
//! file, external imports and a pyproject declaring flask).

// These files are modules of tests/integration.rs, and cargo also builds each as a test
// target of its own (autotests); the `#[path]` makes the harness resolve the same in both.
#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
mod util;

use serde_json::{Value, json};

use util::{Test, map_file as file};

/// `vibe map --json` of a fresh copy of the python fixture.
fn python_map() -> Value {
    Test::fixture("python").run(&["map", "--json"]).json()
}

/// `[(raw, module, resolved, external)]` of a file's imports, in source order.
fn imports(map: &Value, path: &str) -> Vec<(String, String, Vec<String>, Option<String>)> {
    file(map, path)["imports"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no imports array"))
        .iter()
        .map(|i| {
            (
                i["raw"].as_str().unwrap_or_default().to_string(),
                i["module"].as_str().unwrap_or_default().to_string(),
                i["resolved"]
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .map(|s| s.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                i["external"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn imp(
    raw: &str,
    module: &str,
    resolved: &[&str],
    external: Option<&str>,
) -> (String, String, Vec<String>, Option<String>) {
    (
        raw.to_string(),
        module.to_string(),
        resolved.iter().map(|s| s.to_string()).collect(),
        external.map(str::to_string),
    )
}

#[test]
fn core_symbols_are_exact() {
    let map = python_map();
    let core = file(&map, "src/mypkg/core.py");
    assert_eq!(core["language"], "python");
    assert_eq!(core["lines"], 43);
    assert_eq!(core["parse_errors"], false);
    // `default_name` is lower case, so not a constant; the decorated `make_engine` and the
    // `@property` method are definitions, at their `def` line, without the decorator.
    assert_eq!(
        core["symbols"],
        json!([
            {"name": "MAX_ITEMS", "kind": "constant", "parent": null,
             "signature": "MAX_ITEMS = 100", "line": 9, "end_line": 9},
            {"name": "Engine", "kind": "class", "parent": null,
             "signature": "class Engine:", "line": 13, "end_line": 29,
             "doc": "Runs items through the helper."},
            {"name": "__init__", "kind": "method", "parent": "Engine",
             "signature": "def __init__(self, name: str) -> None:", "line": 19, "end_line": 21},
            {"name": "size", "kind": "method", "parent": "Engine",
             "signature": "def size(self) -> int:", "line": 24, "end_line": 25},
            {"name": "run", "kind": "method", "parent": "Engine",
             "signature": "def run(self, items: list) -> list:", "line": 27, "end_line": 29,
             "doc": "Run every item."},
            {"name": "cached", "kind": "function", "parent": null,
             "signature": "def cached(fn):", "line": 32, "end_line": 33},
            {"name": "make_engine", "kind": "function", "parent": null,
             "signature": "def make_engine(name: str = \"default\") -> \"Engine\":",
             "line": 37, "end_line": 39, "doc": "Build an engine."},
            {"name": "fetch", "kind": "function", "parent": null,
             "signature": "def fetch(url):", "line": 42, "end_line": 43},
        ])
    );
}

#[test]
fn small_files_symbols_are_exact() {
    let map = python_map();
    assert_eq!(
        file(&map, "src/mypkg/sub/mod.py")["symbols"],
        json!([
            {"name": "Widget", "kind": "class", "parent": null,
             "signature": "class Widget:", "line": 5, "end_line": 7},
            {"name": "render", "kind": "method", "parent": "Widget",
             "signature": "def render(self):", "line": 6, "end_line": 7},
        ])
    );
    // `__all__` is not an UPPER_CASE constant; VERSION is.
    assert_eq!(
        file(&map, "src/mypkg/__init__.py")["symbols"],
        json!([
            {"name": "VERSION", "kind": "constant", "parent": null,
             "signature": "VERSION = \"1.0\"", "line": 7, "end_line": 7},
        ])
    );
    assert_eq!(
        file(&map, "src/mypkg/util.py")["symbols"],
        json!([
            {"name": "helper", "kind": "function", "parent": null,
             "signature": "def helper(x):", "line": 4, "end_line": 6, "doc": "Double x."},
        ])
    );
    // A decorated test function is found; the empty package `__init__` has no symbols.
    assert_eq!(
        file(&map, "tests/test_core.py")["symbols"],
        json!([
            {"name": "test_run", "kind": "function", "parent": null,
             "signature": "def test_run():", "line": 6, "end_line": 7},
            {"name": "test_make", "kind": "function", "parent": null,
             "signature": "def test_make(name):", "line": 11, "end_line": 12},
        ])
    );
    assert_eq!(
        file(&map, "src/mypkg/sub/__init__.py")["symbols"],
        json!([])
    );
    assert_eq!(file(&map, "src/mypkg/sub/__init__.py")["lines"], 0);
}

#[test]
fn relative_and_absolute_imports_resolve() {
    let map = python_map();
    assert_eq!(
        imports(&map, "src/mypkg/core.py"),
        vec![
            imp("import requests", "requests", &[], Some("requests")),
            imp("from numpy import array", "numpy", &[], Some("numpy")),
            imp(
                "from .util import helper",
                ".util",
                &["src/mypkg/util.py"],
                None
            ),
            imp(
                "from .sub.mod import Widget",
                ".sub.mod",
                &["src/mypkg/sub/mod.py"],
                None
            ),
        ]
    );
    assert_eq!(
        imports(&map, "src/mypkg/sub/mod.py"),
        vec![
            imp("from .. import util", "..", &["src/mypkg/util.py"], None),
            imp(
                "from ..util import helper",
                "..util",
                &["src/mypkg/util.py"],
                None
            ),
        ]
    );
    assert_eq!(
        imports(&map, "src/mypkg/__init__.py"),
        vec![
            imp(
                "from .core import Engine",
                ".core",
                &["src/mypkg/core.py"],
                None
            ),
            imp("from . import util", ".", &["src/mypkg/util.py"], None),
        ]
    );
    assert_eq!(
        imports(&map, "src/mypkg/__main__.py"),
        vec![imp(
            "from .cli import main",
            ".cli",
            &["src/mypkg/cli.py"],
            None
        )]
    );
}

#[test]
fn reexport_through_package_init_resolves_to_both_files() {
    let map = python_map();
    // `from mypkg import Engine`: the package `__init__` and, through its
    // `from .core import Engine`, the module that defines Engine.
    assert_eq!(
        imports(&map, "src/mypkg/cli.py"),
        vec![
            imp("import sys", "sys", &[], Some("sys")),
            imp(
                "from mypkg import Engine",
                "mypkg",
                &["src/mypkg/__init__.py", "src/mypkg/core.py"],
                None
            ),
            imp(
                "from mypkg.util import helper",
                "mypkg.util",
                &["src/mypkg/util.py"],
                None
            ),
        ]
    );
    // Absolute imports of the src-layout package from outside src/.
    assert_eq!(
        imports(&map, "tests/test_core.py"),
        vec![
            imp("import pytest", "pytest", &[], Some("pytest")),
            imp(
                "from mypkg.core import Engine, make_engine",
                "mypkg.core",
                &["src/mypkg/core.py"],
                None
            ),
        ]
    );
    assert_eq!(
        imports(&map, "scripts/report.py"),
        vec![
            imp("from flask import Flask", "flask", &[], Some("flask")),
            imp(
                "from mypkg.sub.mod import Widget",
                "mypkg.sub.mod",
                &["src/mypkg/sub/mod.py"],
                None
            ),
        ]
    );
}

#[test]
fn edges_and_externals_are_exact() {
    let map = python_map();
    let edges: Vec<(String, String)> = map["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges"))
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap_or_default().to_string(),
                e["to"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("scripts/report.py", "src/mypkg/sub/mod.py"),
        ("src/mypkg/__init__.py", "src/mypkg/core.py"),
        ("src/mypkg/__init__.py", "src/mypkg/util.py"),
        ("src/mypkg/__main__.py", "src/mypkg/cli.py"),
        ("src/mypkg/cli.py", "src/mypkg/__init__.py"),
        ("src/mypkg/cli.py", "src/mypkg/core.py"),
        ("src/mypkg/cli.py", "src/mypkg/util.py"),
        ("src/mypkg/core.py", "src/mypkg/sub/mod.py"),
        ("src/mypkg/core.py", "src/mypkg/util.py"),
        ("src/mypkg/sub/mod.py", "src/mypkg/util.py"),
        ("tests/test_core.py", "src/mypkg/core.py"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges, want);
    assert_eq!(
        map["externals"],
        json!([
            {"name": "flask", "files": 1},
            {"name": "numpy", "files": 1},
            {"name": "pytest", "files": 1},
            {"name": "requests", "files": 1},
            {"name": "sys", "files": 1},
        ])
    );
}

#[test]
fn project_summary_and_stats() {
    let map = python_map();
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "src/mypkg/__main__.py", "reason": "__main__ guard"},
                {"path": "src/mypkg/cli.py", "reason": "def main"},
            ],
            "test_files": 1,
            "frameworks": ["flask", "pytest"],
            "externals": [
                {"name": "flask", "files": 1},
                {"name": "numpy", "files": 1},
                {"name": "pytest", "files": 1},
                {"name": "requests", "files": 1},
                {"name": "sys", "files": 1},
            ],
        })
    );
    let s = &map["stats"];
    assert_eq!(s["files"], 11);
    assert_eq!(s["source_files"], 9);
    assert_eq!(s["languages"]["python"]["files"], 9);
    // README.md and pyproject.toml are indexed as other text, not as source.
    assert_eq!(s["other_text"], json!({"markdown": 1, "toml": 1}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], 0);
    assert_eq!(s["symbols"], 16);
    assert_eq!(s["imports"], 16);
    assert_eq!(s["edges"], 11);
    assert_eq!(s["externals"], 5);
    assert_eq!(map["skipped"], json!([]));
    let paths: Vec<&str> = map["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files"))
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(!paths.contains(&"README.md"), "{paths:?}");
    assert_eq!(paths.len(), 9, "{paths:?}");
}

#[test]
fn main_guard_alone_is_an_entry_point() {
    let t = Test::new();
    t.write(
        "job.py",
        "import os\n\n\ndef run():\n    pass\n\n\nif __name__ == '__main__':\n    run()\n",
    );
    t.write("lib.py", "def main():\n    pass\n");
    // Not a main guard: a nested one, and a comparison with another string.
    t.write(
        "other.py",
        "def f():\n    if __name__ == \"__main__\":\n        pass\n\n\nif __name__ == \"other\":\n    pass\n",
    );
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        map["project"]["entry_points"],
        json!([
            {"path": "job.py", "reason": "__main__ guard"},
            {"path": "lib.py", "reason": "def main"},
        ])
    );
}

#[test]
fn namespace_packages_resolve_their_submodules() {
    let t = Test::new();
    // PEP 420: `plugins/` and `tools/extra/` have no `__init__.py`.
    t.write("plugins/audio.py", "def play():\n    pass\n");
    t.write("plugins/video.py", "def show():\n    pass\n");
    t.write("tools/extra/fmt.py", "def fmt():\n    pass\n");
    t.write("tools/cli.py", "from .extra import fmt\n");
    t.write(
        "app.py",
        "from plugins import audio, video\nfrom plugins import missing\nfrom nowhere import x\n",
    );
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        imports(&map, "app.py"),
        vec![
            imp(
                "from plugins import audio, video",
                "plugins",
                &["plugins/audio.py", "plugins/video.py"],
                None
            ),
            // A directory is no module: without a submodule of that name nothing resolves.
            imp(
                "from plugins import missing",
                "plugins",
                &[],
                Some("plugins")
            ),
            imp("from nowhere import x", "nowhere", &[], Some("nowhere")),
        ]
    );
    assert_eq!(
        imports(&map, "tools/cli.py"),
        vec![imp(
            "from .extra import fmt",
            ".extra",
            &["tools/extra/fmt.py"],
            None
        )]
    );
}
