//! `vibe heal --check`: validators per language run by the real binary in temp dirs, stage
//! order and early stops, custom validators, timeouts, skipped tools, the JSON report, and
//! validation inside an overlay.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use serde_json::Value;

use util::{Test, redact};

/// Whether a tool is on PATH; otherwise the test says it is skipped (CI installs them all).
fn have(tool: &str) -> bool {
    let found = vibe::heal::tools::which(tool, &[]).is_some();
    if !found {
        eprintln!("skipped: {tool} not installed");
    }
    found
}

fn check(t: &Test, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["heal", "--check", "--json"];
    a.extend_from_slice(args);
    let r = t.run(&a);
    let v: Value = serde_json::from_str(&r.stdout())
        .unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}\n{}", r.stdout(), r.stderr()));
    (r.code(), v)
}

/// `file:line: code` of every diagnostic of a validator.
fn diags(v: &Value, validator: &str) -> Vec<String> {
    let mut out = vec![];
    for st in v["stages"].as_array().into_iter().flatten() {
        for r in st["validators"].as_array().into_iter().flatten() {
            if r["name"] == validator {
                for d in r["diagnostics"].as_array().into_iter().flatten() {
                    out.push(format!(
                        "{}:{}: {}",
                        d["file"].as_str().unwrap_or("?"),
                        d["line"],
                        d["code"].as_str().unwrap_or("-")
                    ));
                }
            }
        }
    }
    out
}

fn status(v: &Value, validator: &str) -> String {
    v["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["validators"].as_array().into_iter().flatten())
        .find(|r| r["name"] == validator)
        .map(|r| r["status"].as_str().unwrap_or("?").to_string())
        .unwrap_or_else(|| format!("{validator} did not run: {v:#}"))
}

#[test]
fn python_syntax_error_stops_at_syntax() {
    let t = Test::new();
    t.write("app.py", "def f(x):\n    return x +\n");
    let (code, v) = check(&t, &["app.py"]);
    assert_eq!(code, 1);
    assert_eq!(v["failed_stage"], "syntax");
    assert_eq!(v["stages"].as_array().map(Vec::len), Some(1));
    assert_eq!(diags(&v, "tree-sitter"), ["app.py:2: syntax"]);
    // The text report names file, line and validator.
    let out = t.run(&["heal", "--check", "app.py"]);
    assert_eq!(out.code(), 1);
    assert!(out.stdout().contains("app.py:2:"), "{}", out.stdout());
    assert!(out.stdout().contains("(tree-sitter)"), "{}", out.stdout());
}

#[test]
fn python_byte_code_goes_to_the_users_cache() {
    if !have("python3") {
        return;
    }
    let t = Test::new();
    t.write("pkg/app.py", "def f(x):\n    return x + 1\n");
    let (code, v) = check(&t, &["pkg/app.py"]);
    assert_eq!(
        (code, status(&v, "py_compile")),
        (0, "passed".to_string()),
        "{v:#}"
    );
    // Not next to the user's files, nor in a fixed folder of the shared temp dir (another
    // user's would fail every compile).
    assert!(!t.root().join("pkg/__pycache__").exists());
    let cache = t.home.path().join("cache/pycache");
    let mut dirs = vec![cache.clone()];
    let mut pyc = 0;
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else if e.path().extension().is_some_and(|x| x == "pyc") {
                pyc += 1;
            }
        }
    }
    assert_eq!(pyc, 1, "byte code under {}", cache.display());
    assert!(!t.tmp.path().join("vibe-pycache").exists());
}

#[test]
fn python_name_error_caught_by_the_linter() {
    if !have("python3") || !have("ruff") {
        return;
    }
    let t = Test::new();
    t.write("app.py", "def f():\n    return undefined_name\n");
    let (code, v) = check(&t, &["app.py"]);
    assert_eq!(code, 1, "{v:#}");
    // py_compile does not see it; ruff does.
    assert_eq!(status(&v, "py_compile"), "passed");
    assert_eq!(v["failed_stage"], "lint");
    assert_eq!(diags(&v, "ruff"), ["app.py:2: F821"]);
}

#[test]
fn js_syntax_error_from_node() {
    if !have("node") {
        return;
    }
    let t = Test::new();
    t.write("a.js", "const a = 1;\nfoo(;\n");
    // The syntax stage catches it first; the compile stage alone shows node's view.
    let (code, v) = check(&t, &["a.js"]);
    assert_eq!((code, v["failed_stage"].as_str()), (1, Some("syntax")));
    let (code, v) = check(&t, &["-c", "heal.stages=[\"compile\"]", "a.js"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(diags(&v, "node --check"), ["a.js:2: SyntaxError"]);
}

#[test]
fn typescript_type_error_from_tsc() {
    if !have("tsc") {
        return;
    }
    let t = Test::new();
    t.write("src/a.ts", "export const n: number = \"s\";\n");
    let (code, v) = check(&t, &["src/a.ts"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "compile");
    assert_eq!(diags(&v, "tsc"), ["src/a.ts:1: TS2322"]);
}

#[test]
fn rust_compile_error_through_cargo_check() {
    if !have("cargo") {
        return;
    }
    let t = Test::new();
    t.write(
        "Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    t.write("src/lib.rs", "pub fn f() -> u32 {\n    \"s\"\n}\n");
    let (code, v) = check(&t, &["--stage", "compile", "src/lib.rs"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(diags(&v, "cargo check"), ["src/lib.rs:2: E0308"]);
}

#[test]
fn go_build_error() {
    if !have("go") {
        return;
    }
    let t = Test::new();
    t.write("go.mod", "module example.com/m\n\ngo 1.19\n");
    t.write("pkg/p.go", "package pkg\n\nfunc F() int { return \"s\" }\n");
    let (code, v) = check(&t, &["pkg/p.go"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(diags(&v, "go build"), ["pkg/p.go:3: -"]);
    assert_eq!(status(&v, "go vet"), "skipped");
}

#[test]
fn java_and_c_errors() {
    let t = Test::new();
    t.write(
        "src/com/x/Bad.java",
        "package com.x;\npublic class Bad {\n  void f() { int x = y; }\n}\n",
    );
    t.write(
        "bad.c",
        "int main(void) {\n  int x = undefined_var;\n  return x;\n}\n",
    );
    if have("javac") {
        let (code, v) = check(&t, &["src/com/x/Bad.java"]);
        assert_eq!(code, 1, "{v:#}");
        assert_eq!(diags(&v, "javac"), ["src/com/x/Bad.java:3: -"]);
    }
    if have("cc") {
        let (code, v) = check(&t, &["bad.c"]);
        assert_eq!(code, 1, "{v:#}");
        // gcc adds a note on the same line.
        assert_eq!(
            diags(&v, "cc").first().map(String::as_str),
            Some("bad.c:2: -")
        );
    }
}

#[test]
fn a_syntax_error_a_compiler_given_the_file_accepts_is_the_grammars_gap() {
    if !have("cc") {
        return;
    }
    // tree-sitter-c does not parse C23's `_BitInt(N)`; a compiler that does (here a stand-in
    // that accepts everything it is given) overrules it.
    let t = Test::new();
    t.write("wide.c", "_BitInt(128) wide;\n");
    let with_cc = |cmd: &str| {
        t.write(
            ".vibe/config.toml",
            format!("[heal.validators.\"cc\"]\ncommand = \"{cmd}\"\n"),
        );
        check(&t, &["wide.c"])
    };
    let (code, v) = with_cc("true {files}");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(status(&v, "tree-sitter"), "passed");
    assert_eq!(status(&v, "cc"), "passed");
    let d = &v["stages"][0]["validators"][0]["diagnostics"][0];
    assert_eq!(d["severity"], "warning", "{v:#}");
    assert!(
        d["message"]
            .as_str()
            .unwrap_or("")
            .contains("the compiler accepts the file"),
        "{d}"
    );
    // A compiler that rejects it, or a command not given the file, proves nothing.
    for cmd in ["false {files}", "true"] {
        let (code, v) = with_cc(cmd);
        assert_eq!(code, 1, "{cmd}: {v:#}");
        assert_eq!(v["failed_stage"], "syntax", "{cmd}");
        assert_eq!(diags(&v, "tree-sitter"), ["wide.c:1: syntax"], "{cmd}");
    }
    // A compiler skips the `#if` branches that are off here: its passing proves nothing there.
    t.write(
        "win.c",
        "#ifdef _WIN32\nint f(int a { return a; }\n#endif\nint main(void) { return 0; }\n",
    );
    t.write(
        ".vibe/config.toml",
        "[heal.validators.\"cc\"]\ncommand = \"true {files}\"\n",
    );
    let (code, v) = check(&t, &["win.c"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "syntax", "{v:#}");
    // Without a compile stage there is nothing to ask.
    t.write(
        ".vibe/config.toml",
        "[heal]\nstages = [\"syntax\"]\n[heal.validators.\"cc\"]\ncommand = \"true {files}\"\n",
    );
    let (code, v) = check(&t, &["wide.c"]);
    assert_eq!(code, 1, "{v:#}");
}

/// A C file that compiles only with its build's flags (an include directory, a macro), with a
/// construct tree-sitter-c cannot read (a type as a macro argument; a macro before a
/// declaration's type it can, masked) and a syntax error in an `#if` branch this build skips.
const NEEDS_ITS_BUILD: &str = "#include \"config.h\"\n#include <stdarg.h>\nAPI int *table(void);\nint limits[LIMIT];\nint sum(int n, ...) {\n    va_list ap;\n    va_start(ap, n);\n    int *p = va_arg(ap, int *);\n    va_end(ap);\n    return *p + FEATURE;\n}\n#ifdef NEVER_DEFINED\nint broken(int a {\n#endif\n";

/// The tree-sitter diagnostics of a run: `line: severity: message`.
fn syntax_notes(v: &Value) -> Vec<String> {
    v["stages"][0]["validators"][0]["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{}: {}: {}",
                d["line"],
                d["severity"].as_str().unwrap_or("?"),
                d["message"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Whether a validator was skipped with a reason that says `why`.
fn skipped_because(v: &Value, why: &str) -> bool {
    v["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s.as_str().unwrap_or("").contains(why))
}

/// Whether the error at `line` is a warning for being in a branch the build skips.
fn not_checked(notes: &[String], line: u32) -> bool {
    notes.iter().any(|n| {
        n.starts_with(&format!("{line}: warning:"))
            && n.contains("branch this build does not compile")
    })
}

#[test]
fn c_files_are_compiled_with_the_flags_of_their_compilation_database() {
    if !have("cc") {
        return;
    }
    let t = Test::new();
    t.write(
        "inc/config.h",
        "#define API extern\n#define api extern\n#define LIMIT 4\n",
    );
    t.write("src/a.c", NEEDS_ITS_BUILD);
    // Without the build's flags the compiler cannot read it, so nothing overrules tree-sitter.
    let (code, v) = check(&t, &["src/a.c"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "syntax", "{v:#}");
    let root = t.root().display().to_string();
    let db = |cmd: &str| {
        t.write(
            "build/compile_commands.json",
            format!(
                r#"[{{"directory": "{root}/build", "file": "../src/a.c", "command": "{cmd}"}}]"#
            ),
        )
    };
    db("ccache cc -I../inc -DFEATURE=1 -std=c11 -MD -MF a.d -o a.o -c ../src/a.c");
    let (code, v) = check(&t, &["src/a.c"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(status(&v, "tree-sitter"), "passed");
    let notes = syntax_notes(&v);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("8: warning:") && n.contains("the compiler accepts the file")),
        "{notes:#?}"
    );
    assert!(not_checked(&notes, 12), "{notes:#?}");
    let cc = &v["stages"][1]["validators"][0];
    assert_eq!(cc["name"], "cc", "{v:#}");
    assert_eq!(cc["status"], "passed", "{v:#}");
    assert_eq!(cc["cwd"], "build");
    let cmd = cc["command"].as_str().unwrap_or("");
    for part in [
        &format!("-I{root}/inc"),
        "-DFEATURE=1",
        "-std=c11",
        "-fsyntax-only",
    ] {
        assert!(cmd.contains(part), "{part} not in {cmd}");
    }
    for gone in ["ccache", "-MD", "-o a.o", " -c "] {
        assert!(!cmd.contains(gone), "{gone} in {cmd}");
    }
    // A header that needs what comes before it is read in a source file that includes it.
    t.write("inc/api.h", "API long count(void);\n");
    t.write("src/a.c", format!("{NEEDS_ITS_BUILD}#include \"api.h\"\n"));
    let (code, v) = check(&t, &["inc/api.h"]);
    assert_eq!(code, 0, "{v:#}");
    let cmd = v["stages"][1]["validators"][0]["command"]
        .as_str()
        .unwrap_or("");
    assert!(cmd.ends_with(&format!("{root}/src/a.c")), "{cmd}");
    t.write("inc/api.h", "API long count(void)\n");
    let (code, v) = check(&t, &["inc/api.h"]);
    assert_eq!(code, 1, "{v:#}");
    t.write("src/a.c", NEEDS_ITS_BUILD);
    // A real error is the compiler's, at its line, not tree-sitter's gaps; the build's flags
    // are there, so it is the only one (no "config.h: No such file").
    t.write("src/a.c", NEEDS_ITS_BUILD.replace("+ FEATURE", "+ MISSING"));
    let (code, v) = check(&t, &["src/a.c"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "compile", "{v:#}");
    assert_eq!(v["errors"], 1, "{v:#}");
    let ds = diags(&v, "cc");
    assert!(
        !ds.is_empty() && ds.iter().all(|d| d.starts_with("src/a.c:10:")),
        "{v:#}"
    );
    // The compiler read the whole file: tree-sitter's gaps are not the errors shown.
    assert!(
        syntax_notes(&v)
            .iter()
            .all(|n| n.contains(": warning: ") && !n.contains("compiler accepts")),
        "{v:#}"
    );
    // A syntax error where the build compiles stays an error.
    t.write(
        "src/a.c",
        NEEDS_ITS_BUILD
            .replace("va_end(ap);", "va_end(ap)")
            .replace(
                "#ifdef NEVER_DEFINED",
                "int *after(va_list ap) { return va_arg(ap, int *); }\n#ifdef NEVER_DEFINED",
            ),
    );
    let (code, v) = check(&t, &["src/a.c"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "syntax", "{v:#}");
    // With the compiler's own word on it, at its line.
    let compiler = v["stages"][0]["validators"][0]["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["source"] == "cc")
        .cloned()
        .unwrap_or_default();
    assert!(
        compiler["message"]
            .as_str()
            .unwrap_or("")
            .contains("expected"),
        "{v:#}"
    );
    assert!(matches!(compiler["line"].as_u64(), Some(9 | 10)), "{v:#}");
    // The branch the build skips is not checked, rejected file or not. Tree-sitter's errors
    // in compiled code before the compiler's first error are the grammar's (an error cannot
    // change how what comes before it parses); after it, they stay: nothing is proven there.
    let notes = syntax_notes(&v);
    assert!(not_checked(&notes, 13), "{notes:#?}");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("8: warning:") && n.contains("before its first")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("12: error:")),
        "{notes:#?}"
    );
    // gcc reports a missing `;` where the next token starts, lines later: the code line before
    // its error is not proven (and a missing token never is), nor anything in a file that
    // renumbers its lines.
    for (text, warnings, errors) in [
        ("int a = 1\n\nint b = 2;\n", vec![], vec![1]),
        (
            "#include \"config.h\"\napi int *t(void);\nint f(void) {\n  int b = 1 +\n\n  /* c */\n  return b;\n}\n",
            vec![2],
            vec![7],
        ),
        (
            "#include \"config.h\"\n#line 50\napi int *t(void);\nint a = 1\nint b;\n",
            vec![],
            vec![3],
        ),
        // Comment lines and directives between are not the code line before the error.
        (
            "#include \"config.h\"\napi int *t(void);\nint a = 1\n/* note\n   more */\n#define Y \\\n  2\nint b;\n",
            vec![2],
            vec![5],
        ),
    ] {
        t.write("src/a.c", text);
        let (code, v) = check(&t, &["src/a.c"]);
        assert_eq!(code, 1, "{v:#}");
        let notes = syntax_notes(&v);
        for (lines, severity) in [(warnings, "warning"), (errors, "error")] {
            for line in lines {
                assert!(
                    notes
                        .iter()
                        .any(|n| n.starts_with(&format!("{line}: {severity}:"))),
                    "{text}: {notes:#?}"
                );
            }
        }
    }
    t.write("src/a.c", NEEDS_ITS_BUILD);
    // clangd's compile_flags.txt: the same flags for every file under it.
    std::fs::remove_file(t.root().join("build/compile_commands.json")).ok();
    t.write("compile_flags.txt", "-Iinc\n-DFEATURE=1\n");
    let (code, v) = check(&t, &["src/a.c"]);
    assert_eq!(code, 0, "{v:#}");
    std::fs::remove_file(t.root().join("compile_flags.txt")).ok();
    // Only a compiler installed on the machine runs, never a program of the repository.
    db("../tools/cc -I../inc -c ../src/a.c");
    t.write("tools/cc", "#!/bin/sh\nexit 0\n");
    let (_, v) = check(&t, &["-c", "heal.stages=[\"compile\"]", "src/a.c"]);
    assert_eq!(status(&v, "cc"), "skipped", "{v:#}");
    assert!(
        skipped_because(&v, "tools/cc is inside the repository"),
        "{v:#}"
    );
    // A database that is not one: a warning that names it, and the plain compiler.
    t.write("build/compile_commands.json", "{\"not\": \"a list\"}");
    let (code, v) = check(&t, &["src/a.c"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        v["config_warnings"].as_array().map(Vec::len),
        Some(1),
        "{v:#}"
    );
    let w = v["config_warnings"][0].as_str().unwrap_or("");
    assert!(
        w.contains("build/compile_commands.json") && w.contains("regenerate"),
        "{v:#}"
    );
}

/// A header is compiled in a source file of the build that includes it, through other headers
/// when none includes it directly; one the build includes only in branches it skips is not
/// called checked.
#[test]
fn a_header_is_compiled_through_the_headers_that_include_it() {
    if !have("cc") {
        return;
    }
    let t = Test::new();
    t.write("inc/config.h", "#define API extern\n");
    t.write(
        "inc/types.h",
        "#ifndef TYPES_H\n#define TYPES_H\ntypedef long count_t;\n#include \"inner.h\"\n\
         #ifdef macintosh\n#include \"mac.h\"\n#endif\n#endif\n",
    );
    t.write("inc/inner.h", "API count_t total(void);\n");
    t.write("inc/mac.h", "API mac_count_t total(void);\n");
    t.write(
        "src/a.c",
        "#include \"config.h\"\n#include \"types.h\"\ncount_t total(void) { return 1; }\n",
    );
    // Read alone, the header lacks what comes before it.
    let stages = ["-c", "heal.stages=[\"compile\"]"];
    let (code, v) = check(&t, &[stages[0], stages[1], "inc/inner.h"]);
    assert_eq!(code, 1, "{v:#}");
    let root = t.root().display().to_string();
    t.write(
        "build/compile_commands.json",
        format!(
            r#"[{{"directory": "{root}/build", "file": "../src/a.c", "command": "cc -I../inc -c ../src/a.c"}}]"#
        ),
    );
    let (code, v) = check(&t, &[stages[0], stages[1], "inc/inner.h"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(status(&v, "cc"), "passed", "{v:#}");
    let cmd = v["stages"][0]["validators"][0]["command"]
        .as_str()
        .unwrap_or("");
    assert!(cmd.ends_with(&format!("{root}/src/a.c")), "{cmd}");
    // It is really read there: its own error is found, at its line.
    t.write(
        "inc/inner.h",
        "API count_t total(void);\nAPI missing_t other(void);\n",
    );
    let (code, v) = check(&t, &[stages[0], stages[1], "inc/inner.h"]);
    assert_eq!(code, 1, "{v:#}");
    let ds = diags(&v, "cc");
    assert!(ds.iter().any(|d| d.starts_with("inc/inner.h:2:")), "{v:#}");
    // The build never reads mac.h: not checked, and not said to pass.
    let (code, v) = check(&t, &[stages[0], stages[1], "inc/mac.h"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(status(&v, "cc"), "skipped", "{v:#}");
    assert!(
        skipped_because(&v, "this build does not read inc/mac.h"),
        "{v:#}"
    );
    // An include that only looks like one of the header (a system header of that name) does
    // not make it pass unread: it is compiled alone, and its error found.
    t.write("compat/stdbool.h", "static int x = undeclared_name;\n");
    t.write(
        "src/a.c",
        "#include <stdbool.h>\n#include \"config.h\"\n#include \"types.h\"\n\
         count_t total(void) { return 1; }\n",
    );
    let (code, v) = check(&t, &[stages[0], stages[1], "compat/stdbool.h"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        diags(&v, "cc")
            .iter()
            .any(|d| d.starts_with("compat/stdbool.h:1:")),
        "{v:#}"
    );
    // Read by another entry that defines what the first one does not: compiled there.
    t.write("inc/feat.h", "static int y = undeclared_feat;\n");
    let with_feat = "#include \"config.h\"\n#ifdef FEAT\n#include \"feat.h\"\n#endif\n";
    t.write("src/a.c", with_feat);
    t.write("src/b.c", with_feat);
    // A database of entries: (source, extra flags).
    let entries = |list: &[(&str, &str)]| {
        let rows: Vec<String> = list
            .iter()
            .map(|(f, flags)| {
                format!(
                    r#"{{"directory": "{root}/build", "file": "../src/{f}", "command": "cc -I../inc {flags} -c ../src/{f}"}}"#
                )
            })
            .collect();
        t.write(
            "build/compile_commands.json",
            format!("[{}]", rows.join(",")),
        );
    };
    entries(&[("a.c", ""), ("b.c", "-DFEAT")]);
    let (code, v) = check(&t, &[stages[0], stages[1], "inc/feat.h"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        diags(&v, "cc")
            .iter()
            .any(|d| d.starts_with("inc/feat.h:1:")),
        "{v:#}"
    );
    // Neither a `#line` naming the header nor an include vibe cannot follow (computed by a
    // macro) lets it be called read, or unread: a.c reads it through OUR_H.
    t.write(
        "src/a.c",
        "#line 1 \"../inc/feat.h\"\n#define OUR_H \"feat.h\"\n#include OUR_H\n",
    );
    t.write("src/b.c", "#ifdef _WIN32\n#include \"feat.h\"\n#endif\n");
    entries(&[("b.c", ""), ("a.c", "")]);
    let (code, v) = check(&t, &[stages[0], stages[1], "inc/feat.h"]);
    assert_eq!(code, 1, "{v:#}");
    assert_ne!(status(&v, "cc"), "skipped", "{v:#}");
}

/// The syntax stage shows 20 errors per file; one past them that stays an error is shown too,
/// so that the grammar's gaps overruled among the first 20 hide nothing.
#[test]
fn an_error_past_the_first_twenty_is_not_hidden() {
    let t = Test::new();
    // A lower-case macro before a declaration's type: tree-sitter cannot read it.
    let mut text = String::from("#define api extern\n");
    for i in 0..25 {
        text.push_str(&format!("api int *t{i}(void);\n"));
    }
    text.push_str("#ifdef NEVER_DEFINED\nint broken(int a {\n#endif\n");
    t.write("many.c", &text);
    // A command of its own is not asked which branches it compiles.
    t.write(
        ".vibe/config.toml",
        "[heal.validators.\"cc\"]\ncommand = \"true {files}\"\n",
    );
    let (code, v) = check(&t, &["many.c"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "syntax", "{v:#}");
    let errors: Vec<String> = syntax_notes(&v)
        .into_iter()
        .filter(|n| n.contains(": error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("27: "), "{errors:#?}");
}

#[test]
fn a_clean_file_passes_every_stage() {
    let t = Test::new();
    t.write("ok.py", "def add(a, b):\n    return a + b\n");
    let r = t.run(&["heal", "--check", "ok.py"]);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    assert!(
        r.stdout().contains("heal --check: passed"),
        "{}",
        r.stdout()
    );
    let (_, v) = check(&t, &["ok.py"]);
    assert_eq!(v["passed"], true);
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["stage"].as_str())
        .collect();
    assert_eq!(stages, ["syntax", "compile", "lint", "test"]);
}

#[test]
fn stage_syntax_stops_early() {
    let t = Test::new();
    t.write("app.py", "def f():\n    return undefined_name\n");
    let (code, v) = check(&t, &["--stage", "syntax", "app.py"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["up_to"], "syntax");
    assert_eq!(v["stages"].as_array().map(Vec::len), Some(1));
}

#[test]
fn custom_validator_from_the_repository_config() {
    let t = Test::new();
    t.write("notes.txt", "hello\nTODO: finish\n");
    t.write(
        ".vibe/config.toml",
        "[heal.custom.todo]\nstage = \"lint\"\ncommand = \"grep -n -H TODO {files} | sed 's/^\\\\([^:]*:[0-9]*\\\\):/\\\\1: error:/'; ! grep -q TODO {files}\"\nfiles = [\"*.txt\"]\ntimeout = 10\n",
    );
    let (code, v) = check(&t, &["notes.txt"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["failed_stage"], "lint");
    assert_eq!(diags(&v, "todo"), ["notes.txt:2: -"]);
}

#[test]
fn a_validator_that_times_out_is_killed() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    t.write(
        ".vibe/config.toml",
        "[heal.custom.slow]\nstage = \"compile\"\ncommand = \"sleep 30\"\ntimeout = 0.5\nparser = \"none\"\n",
    );
    let start = std::time::Instant::now();
    let (code, v) = check(&t, &["a.py"]);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(status(&v, "slow"), "timed_out");
    assert_eq!(diags(&v, "slow"), ["a.py:0: timeout"]);
    // The hint names where a validator of the user's own is set (it named heal.validators,
    // which warns that there is no built-in of that name).
    assert!(
        v.to_string()
            .contains(r#"raise heal.custom.\"slow\".timeout"#),
        "{v:#}"
    );
}

#[test]
fn a_missing_tool_is_listed_as_skipped() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    // A PATH without mypy, ruff or flake8 (python3 may stay: it lives elsewhere).
    let out = t
        .cmd()
        .env("PATH", "/nonexistent")
        .args(["heal", "--check", "--json", "a.py"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let skipped = v["skipped"].to_string();
    assert!(
        skipped.contains("ruff (lint): ruff not installed (pip install ruff"),
        "{skipped}"
    );
    assert!(
        skipped.contains("py_compile (compile): python3 not installed"),
        "{skipped}"
    );
    let text = t
        .cmd()
        .env("PATH", "/nonexistent")
        .args(["heal", "--check", "a.py"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("skipped: ruff not installed"), "{text}");
}

#[test]
fn bad_usage_exits_2() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let outside = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let outside = outside.path().display().to_string();
    for args in [
        vec!["heal", "--check", "missing.py"],
        vec!["heal", "--check", outside.as_str()],
        vec!["heal", "--check", "--stage", "build", "a.py"],
    ] {
        let r = t.run(&args);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
    }
    // The fix mode on a file that passes needs no model.
    let r = t.run(&["heal", "a.py"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("nothing to heal"), "{}", r.stderr());
    // Nor on a file no answer could be written to: refused before any model is asked.
    t.write("bin.py", b"x = 1\n\xff\xfe\x00\x01\n");
    let r = t.run(&["heal", "--yes", "bin.py"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr().contains("bin.py: not UTF-8 text"),
        "{}",
        r.stderr()
    );
}

#[test]
fn json_report_shape() {
    let t = Test::new();
    t.write("app.py", "def f(x):\n    return (x\n");
    let (code, mut v) = check(&t, &["app.py"]);
    assert_eq!(code, 1);
    for st in v["stages"].as_array_mut().into_iter().flatten() {
        for r in st["validators"].as_array_mut().into_iter().flatten() {
            r["duration_ms"] = Value::from(0);
        }
    }
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    snapshot!("heal_check_json", redact(&text, t.root()));
}

/// Validation in an overlay: the candidate text is checked, the user's file is not touched,
/// and diagnostics name paths relative to the root.
#[test]
fn validators_work_in_an_overlay() {
    use vibe::heal::{Overlay, Stage, validate};
    let t = Test::new();
    let config = vibe::config::Config::defaults();
    let mut cases: Vec<(&str, &str, &str, &str, &str)> = vec![];
    // (tool, file, good original, bad candidate, validator)
    if have("python3") {
        cases.push(("python3", "pkg/a.py", "x = 1\n", "def f(:\n", "py_compile"));
    }
    if have("tsc") {
        cases.push((
            "tsc",
            "web/a.ts",
            "export const n = 1;\n",
            "export const n: number = \"s\";\n",
            "tsc",
        ));
    }
    if have("javac") {
        cases.push((
            "javac",
            "j/A.java",
            "class A {}\n",
            "class A { int f() { return y; } }\n",
            "javac",
        ));
    }
    if have("cc") {
        cases.push((
            "cc",
            "c/a.c",
            "int f(void) { return 0; }\n",
            "int f(void) { return q; }\n",
            "cc",
        ));
    }
    if have("go") {
        t.write("go.mod", "module example.com/m\n\ngo 1.19\n");
        cases.push((
            "go",
            "g/g.go",
            "package g\n\nfunc F() int { return 1 }\n",
            "package g\n\nfunc F() int { return \"s\" }\n",
            "go build",
        ));
    }
    if have("cargo") {
        t.write(
            "rs/Cargo.toml",
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        cases.push((
            "cargo",
            "rs/src/lib.rs",
            "pub fn f() -> u32 { 1 }\n",
            "pub fn f() -> u32 { \"s\" }\n",
            "cargo check",
        ));
    }
    for (_, file, good, _, _) in &cases {
        t.write(file, good);
    }
    let root = std::fs::canonicalize(t.root()).unwrap_or_else(|e| panic!("{e}"));
    for (tool, file, good, bad, validator) in cases {
        // A syntax error would stop at the syntax stage: validate the compile stage alone.
        let mut cfg = config.clone();
        cfg.heal.stages = vec![Stage::Compile];
        let before =
            validate(&root, &[file.to_string()], &cfg, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(before.passed(), "{tool}: {before:#?}");
        let o = Overlay::new(&root, &[(file.to_string(), bad.to_string())])
            .unwrap_or_else(|e| panic!("{e}"));
        let after =
            validate(o.root(), &[file.to_string()], &cfg, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            after.failed_stage,
            Some(Stage::Compile),
            "{tool}: {after:#?}"
        );
        let errs = after.errors();
        assert!(!errs.is_empty(), "{tool}");
        for d in errs {
            assert_eq!(d.source, validator, "{tool}: {d:?}");
            assert_eq!(d.file, file, "{tool}: {d:?}");
        }
        assert_eq!(
            std::fs::read_to_string(root.join(file)).unwrap_or_default(),
            good
        );
    }
}

/// SIGTERM and SIGHUP to vibe left the running validator's process group running (only
/// SIGINT was handled): vibe kills it and exits 143 / 129, as their default action would.
#[test]
fn term_and_hup_stop_the_running_validator() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let t = Test::new();
        t.write("a.py", "x = 1\n");
        let pid_file = t.root().join("slow.pid");
        t.write(".vibe/config.toml", util::sleeping_validator(&pid_file));
        util::signal_once_started(&t, &["heal", "--check", "a.py"], &pid_file, signal, code);
    }
}

/// Ctrl-C (SIGINT to vibe, as a terminal sends it: the validator runs in a process group of
/// its own, so it gets no signal) stops the running validator at once, in `vibe heal --check`
/// and in the fix loop's first validation, and vibe exits 130 with nothing written.
#[test]
fn ctrl_c_stops_the_running_validator() {
    for args in [
        &["heal", "--check", "a.py"][..],
        &["heal", "--yes", "a.py"][..],
    ] {
        let t = Test::new();
        t.write("a.py", "x = 1\n");
        let pid_file = t.root().join("slow.pid");
        t.write(".vibe/config.toml", util::sleeping_validator(&pid_file));
        util::ctrl_c_once_started(&t, args, &pid_file);
        assert_eq!(
            std::fs::read_to_string(t.root().join("a.py"))
                .ok()
                .as_deref(),
            Some("x = 1\n")
        );
    }
}
