//! What the map's header says about the project as a whole: entry points, test files,
//! frameworks (from pyproject / requirements, package.json, Cargo.toml, go.mod, pom.xml, gradle)
//! and the most used external packages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub entry_points: Vec<EntryPoint>,
    pub test_files: usize,
    pub frameworks: Vec<String>,
    /// External packages by the number of files importing them, most used first.
    pub externals: Vec<ExternalCount>,
}

impl Project {
    /// The summary the last index run stored in the index's `meta` (empty if none or unreadable:
    /// the next index run rewrites it).
    pub fn from_meta(json: Option<String>) -> Project {
        json.and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalCount {
    pub name: String,
    pub files: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryPoint {
    pub path: String,
    pub reason: String,
}

/// Is this a test file, by the conventions of its language? (Called for every file on every
/// re-rank, so it allocates nothing.)
pub fn is_test_path(path: &str) -> bool {
    let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
    if dirs
        .split('/')
        .any(|d| matches!(d, "tests" | "test" | "__tests__" | "testing"))
    {
        return true;
    }
    let stem = name.split('.').next().unwrap_or(name);
    is_tests_module(path)
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || name.contains(".test.")
        || name.contains(".spec.")
        || (XUNIT_NAMED.iter().any(|ext| name.ends_with(ext))
            && (stem.ends_with("Test") || stem.ends_with("Tests")))
        // RSpec: `spec/models/user_spec.rb`, `spec/spec_helper.rb` (in other languages a
        // `_spec` file is as often source: nghttp2's `priority_spec.c`, a `swagger_spec.go`).
        || (name.ends_with(".rb") && (stem.ends_with("_spec") || dirs.split('/').any(|d| d == "spec")))
        || name == "conftest.py"
}

/// Languages whose tests are classes named `…Test` or `…Tests` (JUnit, xUnit, PHPUnit, XCTest).
const XUNIT_NAMED: &[&str] = &[".java", ".kt", ".scala", ".groovy", ".cs", ".php", ".swift"];

/// A module of tests beside the code it tests: Rust's `src/cost/tests.rs` (`mod tests;`), a
/// Django app's `polls/tests.py` (not Go's `tests.go`: Go runs only `_test.go` files). Paired
/// by place, not by name ([`tests_pair`]); pytest does not collect one.
pub fn is_tests_module(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').next() == Some("tests") && !name.ends_with(".go")
}

/// What a test file is named after, by the conventions of its language: `test_parser.py`,
/// `parser_test.go`, `ParserTest.java`, `TestParser.java`, `parser.test.ts`, `test-parser.js`
/// and `tests/parser.rs` all give `parser` (a module of tests beside its code is paired by
/// place instead: [`tests_pair`]). Lowercased, letters and digits only, so that it compares
/// with [`test_subject`]; `None` for a file that is not a test, or a name too short to say
/// anything (`t.py`).
pub fn tested_name(path: &str) -> Option<String> {
    if !is_test_path(path) {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let upper_after = |rest: &str| rest.starts_with(|c: char| c.is_ascii_uppercase());
    let core = ["test_", "test-", "tests_"]
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .or_else(|| stem.strip_prefix("Test").filter(|r| upper_after(r)))
        .or_else(|| {
            [
                "_tests", "_test", "-test", "Tests", "Test", "_spec", "-spec",
            ]
            .iter()
            .find_map(|s| stem.strip_suffix(s))
        })
        .unwrap_or(stem);
    comparable(core)
}

/// Whether `test` is the test of `source`: named after it ([`tested_name`] is its
/// [`test_subject`]), and for a module of tests beside its code, in its place too:
/// `src/cost/tests.rs` tests `src/cost/mod.rs` or `src/cost.rs` (and `src/tests.rs` a crate's
/// `src/main.rs` or `src/lib.rs`), not a `cost.rs` elsewhere; `polls/tests.py` tests
/// `polls/__init__.py`, not `api/polls.py`.
pub fn tests_pair(test: &str, source: &str) -> bool {
    if !is_tests_module(test) {
        return tested_name(test).is_some_and(|name| Some(name) == test_subject(source));
    }
    let test_dir = test.rsplit_once('/').map_or("", |(d, _)| d);
    let (source_dir, source_name) = source.rsplit_once('/').unwrap_or(("", source));
    let source_stem = source_name.split('.').next().unwrap_or(source_name);
    let (parent, dir_name) = test_dir.rsplit_once('/').unwrap_or(("", test_dir));
    (source_dir == test_dir && matches!(source_stem, "mod" | "lib" | "main" | "__init__" | "index"))
        || (!dir_name.is_empty() && source_dir == parent && source_stem == dir_name)
}

/// The name a source file's tests are named after (see [`tested_name`]): its stem, or for a
/// package's own file (`__init__.py`, `index.js`, `mod.rs`, `lib.rs`) its directory's name
/// (`venv/__init__.py` is tested by `test_venv.py`).
pub fn test_subject(path: &str) -> Option<String> {
    let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = name.split('.').next().unwrap_or(name);
    let stem = match stem {
        "__init__" | "index" | "mod" | "lib" => dirs.rsplit('/').next().unwrap_or(""),
        _ => stem,
    };
    comparable(stem)
}

/// A name as [`tested_name`] and [`test_subject`] compare it; `None` under three characters.
fn comparable(name: &str) -> Option<String> {
    let s: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() >= 3).then_some(s)
}

/// Frameworks and notable libraries worth a line in the header, by dependency name.
const FRAMEWORKS: &[(&str, &str)] = &[
    // Python
    ("django", "django"),
    ("flask", "flask"),
    ("fastapi", "fastapi"),
    ("starlette", "starlette"),
    ("pytest", "pytest"),
    ("numpy", "numpy"),
    ("pandas", "pandas"),
    ("torch", "pytorch"),
    ("tensorflow", "tensorflow"),
    ("sqlalchemy", "sqlalchemy"),
    ("pydantic", "pydantic"),
    ("celery", "celery"),
    ("click", "click"),
    ("typer", "typer"),
    ("aiohttp", "aiohttp"),
    // JavaScript / TypeScript
    ("react", "react"),
    ("next", "next.js"),
    ("vue", "vue"),
    ("nuxt", "nuxt"),
    ("svelte", "svelte"),
    ("@angular/core", "angular"),
    ("express", "express"),
    ("fastify", "fastify"),
    ("@nestjs/core", "nestjs"),
    ("jest", "jest"),
    ("vitest", "vitest"),
    ("mocha", "mocha"),
    ("electron", "electron"),
    ("vite", "vite"),
    ("webpack", "webpack"),
    ("typescript", "typescript"),
    // Rust
    ("tokio", "tokio"),
    ("axum", "axum"),
    ("actix-web", "actix-web"),
    ("rocket", "rocket"),
    ("warp", "warp"),
    ("serde", "serde"),
    ("clap", "clap"),
    ("ratatui", "ratatui"),
    ("bevy", "bevy"),
    ("diesel", "diesel"),
    ("sqlx", "sqlx"),
    ("tauri", "tauri"),
    // Go
    ("github.com/gin-gonic/gin", "gin"),
    ("github.com/labstack/echo", "echo"),
    ("github.com/gofiber/fiber", "fiber"),
    ("github.com/spf13/cobra", "cobra"),
    ("google.golang.org/grpc", "grpc"),
    ("gorm.io/gorm", "gorm"),
    // Java
    ("org.springframework.boot", "spring-boot"),
    ("org.springframework", "spring"),
    ("junit", "junit"),
    ("org.junit.jupiter", "junit"),
    ("io.quarkus", "quarkus"),
];

/// Dependency names declared in one manifest.
fn manifest_deps(name: &str, text: &str) -> Vec<String> {
    let mut deps = Vec::new();
    match name {
        "package.json" => {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                for key in ["dependencies", "devDependencies", "peerDependencies"] {
                    if let Some(m) = v.get(key).and_then(|m| m.as_object()) {
                        deps.extend(m.keys().cloned());
                    }
                }
            }
        }
        "Cargo.toml" => {
            if let Ok(t) = text.parse::<toml::Table>() {
                for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(m) = t.get(key).and_then(|m| m.as_table()) {
                        deps.extend(m.keys().cloned());
                    }
                }
                if let Some(ws) = t
                    .get("workspace")
                    .and_then(|w| w.get("dependencies"))
                    .and_then(|m| m.as_table())
                {
                    deps.extend(ws.keys().cloned());
                }
            }
        }
        "go.mod" => {
            for l in text.lines() {
                let l = l.trim().trim_start_matches("require").trim();
                if let Some(first) = l.split_whitespace().next()
                    && first.contains('.')
                {
                    deps.push(first.to_string());
                }
            }
        }
        "pyproject.toml" | "Pipfile" => {
            if let Ok(t) = text.parse::<toml::Table>() {
                let mut push = |s: &str| deps.push(py_req_name(s));
                if let Some(arr) = t
                    .get("project")
                    .and_then(|p| p.get("dependencies"))
                    .and_then(|d| d.as_array())
                {
                    arr.iter().filter_map(|v| v.as_str()).for_each(&mut push);
                }
                if let Some(opt) = t
                    .get("project")
                    .and_then(|p| p.get("optional-dependencies"))
                    .and_then(|d| d.as_table())
                {
                    for v in opt.values().filter_map(|v| v.as_array()) {
                        v.iter().filter_map(|v| v.as_str()).for_each(&mut push);
                    }
                }
                for path in [
                    &["tool", "poetry", "dependencies"][..],
                    &["tool", "poetry", "dev-dependencies"],
                    &["packages"],
                    &["dev-packages"],
                ] {
                    let mut cur = Some(&t);
                    for p in path {
                        cur = cur.and_then(|c| c.get(*p)).and_then(|v| v.as_table());
                    }
                    if let Some(c) = cur {
                        deps.extend(c.keys().map(|k| k.to_lowercase()));
                    }
                }
            }
        }
        "pom.xml" | "build.gradle" | "build.gradle.kts" => {
            for (key, _) in FRAMEWORKS {
                if key.contains('.') && !key.contains('/') && text.contains(key) {
                    deps.push((*key).to_string());
                }
            }
            if text.contains("junit") {
                deps.push("junit".into());
            }
        }
        _ if name.starts_with("requirements") && name.ends_with(".txt") => {
            for l in text.lines() {
                let l = l.trim();
                if !l.is_empty() && !l.starts_with('#') && !l.starts_with('-') {
                    deps.push(py_req_name(l));
                }
            }
        }
        _ => {}
    }
    deps
}

/// `Django>=4.2 ; python_version > "3"` → `django`.
fn py_req_name(req: &str) -> String {
    req.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .next()
        .unwrap_or("")
        .to_lowercase()
}

pub fn is_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "package.json"
            | "Cargo.toml"
            | "go.mod"
            | "pyproject.toml"
            | "Pipfile"
            | "pom.xml"
            | "build.gradle"
            | "build.gradle.kts"
    ) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

/// Frameworks detected in the manifests among `paths` (read from `root`).
pub fn frameworks<'a>(root: &Path, paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for p in paths.filter(|p| is_manifest(p) && !p.contains("node_modules/")) {
        let Ok(text) = std::fs::read_to_string(super::walk::on_disk(root, p)) else {
            continue;
        };
        let name = p.rsplit('/').next().unwrap_or(p);
        for dep in manifest_deps(name, &text) {
            for (key, label) in FRAMEWORKS {
                if dep == *key || (key.contains('/') && dep.starts_with(key)) {
                    found.insert((*label).to_string());
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Entry points declared by manifests: package.json `bin` / `main`, Cargo.toml `[[bin]]`.
pub fn manifest_entry_points<'a>(
    root: &Path,
    paths: impl Iterator<Item = &'a str>,
) -> Vec<EntryPoint> {
    let mut out = Vec::new();
    for p in paths {
        let name = p.rsplit('/').next().unwrap_or(p);
        let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let rel = |f: &str| {
            let f = f.trim_start_matches("./");
            if dir.is_empty() {
                f.to_string()
            } else {
                format!("{dir}/{f}")
            }
        };
        if name == "package.json" && !p.contains("node_modules/") {
            let Ok(text) = std::fs::read_to_string(super::walk::on_disk(root, p)) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            match v.get("bin") {
                Some(serde_json::Value::String(s)) => out.push(EntryPoint {
                    path: rel(s),
                    reason: "package.json bin".into(),
                }),
                Some(serde_json::Value::Object(m)) => {
                    for s in m.values().filter_map(|s| s.as_str()) {
                        out.push(EntryPoint {
                            path: rel(s),
                            reason: "package.json bin".into(),
                        });
                    }
                }
                _ => {}
            }
            if let Some(s) = v.get("main").and_then(|m| m.as_str()) {
                out.push(EntryPoint {
                    path: rel(s),
                    reason: "package.json main".into(),
                });
            }
        } else if name == "Cargo.toml" {
            let Ok(text) = std::fs::read_to_string(super::walk::on_disk(root, p)) else {
                continue;
            };
            let Ok(t) = text.parse::<toml::Table>() else {
                continue;
            };
            for bin in t
                .get("bin")
                .and_then(|b| b.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(s) = bin.get("path").and_then(|s| s.as_str()) {
                    out.push(EntryPoint {
                        path: rel(s),
                        reason: "cargo bin".into(),
                    });
                }
            }
        }
    }
    out
}

/// Counts files importing each external package; the top `n`, most used first.
pub fn top_externals(pairs: impl Iterator<Item = (i64, String)>, n: usize) -> Vec<ExternalCount> {
    let mut files: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for (f, ext) in pairs {
        files.entry(ext).or_default().insert(f);
    }
    let mut v: Vec<ExternalCount> = files
        .into_iter()
        .map(|(name, s)| ExternalCount {
            name,
            files: s.len(),
        })
        .collect();
    v.sort_by(|a, b| b.files.cmp(&a.files).then(a.name.cmp(&b.name)));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_paths() {
        assert!(is_test_path("tests/test_x.py"));
        assert!(is_test_path("pkg/foo_test.go"));
        assert!(is_test_path("src/a.spec.ts"));
        assert!(is_test_path("src/test/java/FooTest.java"));
        assert!(!is_test_path("src/contest.py"));
        assert!(!is_test_path("src/main.rs"));
        assert!(is_test_path("spec/models/user_spec.rb"));
        assert!(is_test_path("spec/spec_helper.rb"));
        assert!(is_test_path("app/src/androidTest/FooTest.kt"));
        assert!(is_test_path("Shop.UnitTests/CartTests.cs"));
        assert!(is_test_path("src/Invoice/InvoiceTest.php"));
        assert!(!is_test_path("deps/nghttp2/lib/nghttp2_priority_spec.c"));
        assert!(!is_test_path("pkg/api/swagger_spec.go"));
        assert!(!is_test_path("app/models/user.rb"));
        assert!(is_test_path("src/cost/tests.rs"));
        assert!(is_test_path("polls/tests.py"));
        assert!(!is_test_path("src/cost/testsuite.rs"));
        assert!(!is_test_path("pkg/tests.go"));
    }

    #[test]
    fn tests_pair_with_the_sources_they_are_named_after() {
        for (test, source) in [
            ("Lib/test/test_webbrowser.py", "Lib/webbrowser.py"),
            ("Lib/test/test_venv.py", "Lib/venv/__init__.py"),
            ("cmd/snap/cmd_info_test.go", "cmd/snap/cmd_info.go"),
            (
                "src/test/java/a/HandlerTest.java",
                "src/main/java/a/Handler.java",
            ),
            (
                "src/test/java/a/TestHandler.java",
                "src/main/java/a/Handler.java",
            ),
            ("src/parser.test.ts", "src/parser.ts"),
            ("test/parallel/test-dns.js", "lib/dns.js"),
            ("tests/parser.rs", "src/parser/mod.rs"),
            ("tests/test_http_client.py", "src/http-client.py"),
            ("spec/models/user_spec.rb", "app/models/user.rb"),
            ("Shop.UnitTests/CartTests.cs", "Shop/Cart.cs"),
        ] {
            assert_eq!(
                tested_name(test),
                test_subject(source),
                "{test} for {source}"
            );
            assert!(tested_name(test).is_some(), "{test}");
            assert!(tests_pair(test, source), "{test} for {source}");
        }
        // A module of tests beside its code pairs in its place, not by name elsewhere.
        for (test, source, pairs) in [
            ("src/cost/tests.rs", "src/cost/mod.rs", true),
            ("polls/tests.py", "polls/__init__.py", true),
            ("src/cost/tests.rs", "src/cost.rs", true),
            ("src/tests.rs", "src/main.rs", true),
            ("src/tests.rs", "src/lib.rs", true),
            ("src/cost/tests.rs", "src/billing/cost.rs", false),
            ("src/cost/tests.rs", "src/cost/ledger.rs", false),
            ("accounts/tests.py", "api/accounts.py", false),
            ("tests.py", "main.py", true),
            ("pkg/tests.go", "pkg/pkg.go", false),
            (
                "Lib/test/test_webbrowser.py",
                "Lib/other/webbrowser.py",
                true,
            ),
        ] {
            assert_eq!(tests_pair(test, source), pairs, "{test} for {source}");
        }
        // Not a test, or a name too short to pair anything.
        assert_eq!(tested_name("Lib/webbrowser.py"), None);
        assert_eq!(tested_name("tests/t.py"), None);
        assert!(is_tests_module("tests/tests.rs") && !is_tests_module("pkg/tests.go"));
        assert_eq!(test_subject("a.c"), None);
        // `Testing` is a word, not a marker; `_tests` is one before `_test`.
        assert_eq!(
            tested_name("src/test/java/Testing.java").as_deref(),
            Some("testing")
        );
        assert_eq!(tested_name("pkg/cli_tests.py").as_deref(), Some("cli"));
        assert_ne!(
            tested_name("tests/test_http_cookies.py"),
            test_subject("Lib/http/cookies.py")
        );
    }

    #[test]
    fn deps() {
        assert_eq!(py_req_name("Django>=4.2"), "django");
        let d = manifest_deps("package.json", r#"{"dependencies":{"react":"^18"}}"#);
        assert_eq!(d, vec!["react"]);
        let d = manifest_deps("Cargo.toml", "[dependencies]\ntokio = \"1\"\n");
        assert_eq!(d, vec!["tokio"]);
        let d = manifest_deps(
            "go.mod",
            "module x\nrequire (\n github.com/gin-gonic/gin v1\n)\n",
        );
        assert_eq!(d, vec!["github.com/gin-gonic/gin"]);
    }
}
