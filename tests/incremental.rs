//! Incremental indexing is exact: after each kind of change, the incremental map equals a
//! from-scratch map of the same tree, and the run re-reads only what it must.

// These files are modules of tests/integration.rs, and cargo also builds each as a test
// target of its own (autotests); the `#[path]` makes the harness resolve the same in both.
#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
mod util;

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use util::Test;

/// Files changed within 50 ms of a run are re-checked on the next one (git's racy rule), so
/// counts are only exact once the tree is older than that.
fn settle() {
    std::thread::sleep(Duration::from_millis(120));
}

/// The python fixture, indexed once with every file older than the racy window.
fn indexed_fixture() -> Test {
    let t = Test::fixture("python");
    settle();
    let s = t.run(&["map", "--stats", "--json"]).json();
    assert_eq!(s["run"]["added"], 11, "{s:#}");
    assert_eq!(s["run"]["parsed"], 9, "{s:#}");
    t
}

/// The `run` object of `vibe map --stats --json` (which indexes first).
fn run_report(t: &Test) -> Value {
    let s = t.run(&["map", "--stats", "--json"]).json();
    assert_eq!(s["schema"], "vibe.map.stats/1");
    s["run"].clone()
}

/// `(files_seen, unchanged, rehashed, added, changed, deleted, parsed)`.
fn counts(run: &Value) -> [u64; 7] {
    [
        "files_seen",
        "unchanged",
        "rehashed",
        "added",
        "changed",
        "deleted",
        "parsed",
    ]
    .map(|k| {
        run[k]
            .as_u64()
            .unwrap_or_else(|| panic!("run.{k} missing: {run:#}"))
    })
}

/// A copy of `t`'s tree without its index.
fn fresh_copy(t: &Test) -> Test {
    let u = Test::new();
    util::copy_tree(t.root(), u.root());
    let _ = std::fs::remove_dir_all(u.root().join(".vibe"));
    u
}

/// Asserts that `t`'s (incremental) maps equal a from-scratch index of a copy of its tree, and
/// of the same tree after deleting `.vibe`: JSON (but for `root`) and text.
fn assert_matches_scratch(t: &Test) {
    let inc_json = t.run(&["map", "--json"]).json();
    let inc_text = t.run(&["map", "--tokens", "100000"]).ok();
    let u = fresh_copy(t);
    let scratch_json = u.run(&["map", "--json"]).json();
    let scratch_text = u.run(&["map", "--tokens", "100000"]).ok();
    compare(&inc_json, &scratch_json);
    assert_eq!(inc_text, scratch_text, "text map: incremental vs scratch");
    // The same directory rebuilt from nothing.
    std::fs::remove_dir_all(t.root().join(".vibe")).unwrap_or_else(|e| panic!("{e}"));
    let rebuilt = t.run(&["map", "--json"]).json();
    compare(&inc_json, &rebuilt);
}

fn compare(inc: &Value, scratch: &Value) {
    // File by file first, so a failure names the file and field that differ.
    let empty = vec![];
    let (fi, fs) = (
        inc["files"].as_array().unwrap_or(&empty),
        scratch["files"].as_array().unwrap_or(&empty),
    );
    let path = |f: &Value| f["path"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        fi.iter().map(path).collect::<Vec<_>>(),
        fs.iter().map(path).collect::<Vec<_>>(),
        "files (in rank order): incremental (left) vs from scratch (right)"
    );
    for (a, b) in fi.iter().zip(fs) {
        for key in [
            "language",
            "lines",
            "bytes",
            "rank",
            "parse_errors",
            "symbols",
            "imports",
        ] {
            assert_eq!(
                a[key],
                b[key],
                "{}: `{key}` differs: incremental (left) vs from scratch (right)",
                path(a)
            );
        }
    }
    for key in [
        "schema",
        "stats",
        "project",
        "files",
        "edges",
        "externals",
        "skipped",
    ] {
        assert_eq!(
            inc[key], scratch[key],
            "`{key}` differs: incremental (left) vs from scratch (right)"
        );
    }
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    assert_eq!(keys(inc), keys(scratch));
}

fn file<'a>(map: &'a Value, path: &str) -> Option<&'a Value> {
    map["files"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["path"] == path))
}

fn resolved(map: &Value, path: &str, raw: &str) -> Vec<String> {
    file(map, path).unwrap_or_else(|| panic!("{path} missing"))["imports"]
        .as_array()
        .and_then(|is| is.iter().find(|i| i["raw"] == raw))
        .unwrap_or_else(|| panic!("{path}: no import `{raw}`"))["resolved"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn read(t: &Test, rel: &str) -> String {
    std::fs::read_to_string(t.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn set_mtime(path: &Path, time: SystemTime) {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.set_modified(time)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn nothing_changed_parses_nothing() {
    let t = indexed_fixture();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 11, 0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(run["reranked"], false);
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 11, 0, 0, 0, 0, 0], "{run:#}");
    assert_matches_scratch(&t);
}

#[test]
fn files_written_just_before_a_run_are_rechecked() {
    let t = Test::fixture("python");
    // No settling: every file is younger than the racy window on the first run.
    let first = run_report(&t);
    assert_eq!(first["added"], 11);
    settle();
    let second = run_report(&t);
    // Re-read and hashed, but not re-parsed.
    assert_eq!(second["parsed"], 0, "{second:#}");
    assert_eq!(second["changed"], 0, "{second:#}");
    settle();
    let third = run_report(&t);
    assert_eq!(counts(&third), [11, 11, 0, 0, 0, 0, 0], "{third:#}");
}

/// On a filesystem that keeps whole seconds a same-size rewrite in the second of a run leaves
/// the stat as it was: a file whose mtime is a whole second is re-checked for three seconds,
/// one with nanoseconds for 50 ms (`repomap::trusted_mtime`'s unit test has the bounds).
#[test]
fn whole_second_mtimes_are_rechecked_for_three_seconds() {
    let t = Test::new();
    t.write("coarse.py", "def a():\n    pass\n")
        .write("fine.py", "def b():\n    pass\n");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    for (name, at) in [
        ("coarse.py", Duration::from_secs(now)),
        ("fine.py", Duration::from_millis((now - 2) * 1000 + 500)),
    ] {
        set_mtime(&t.root().join(name), SystemTime::UNIX_EPOCH + at);
    }
    assert_eq!(run_report(&t)["added"], 2);
    let run = run_report(&t);
    // Both runs within three seconds of coarse.py's mtime, this second's start (a machine
    // stalled for two seconds in between would re-check nothing: rightly so).
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH + Duration::from_secs(now))
        .unwrap_or_default();
    if since < Duration::from_millis(2900) {
        assert_eq!(counts(&run), [2, 1, 1, 0, 0, 0, 0], "{run:#}");
    }
    // `-v`'s index line counts it too.
    let out = t
        .cmd()
        .args(["-v", "context", "a", "--budget", "100"])
        .output()
        .expect("vibe");
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH + Duration::from_secs(now))
        .unwrap_or_default();
    let err = String::from_utf8_lossy(&out.stderr);
    if since < Duration::from_millis(2900) {
        assert!(
            err.contains("index: 2 files seen, 1 unchanged, 1 re-hashed, 0 parsed"),
            "{err}"
        );
    }
}

#[test]
fn a_documentation_or_data_edit_resolves_and_ranks_nothing_again() {
    let t = indexed_fixture();
    // README.md, pyproject.toml: no import resolves through them; nothing is resolved or
    // ranked again.
    for doc in ["README.md", "pyproject.toml"] {
        t.write(doc, read(&t, doc) + "\n# More words.\n");
        settle();
        let run = run_report(&t);
        assert_eq!(counts(&run), [11, 10, 0, 0, 1, 0, 0], "{doc}: {run:#}");
        assert_eq!(run["reranked"], false, "{doc}: {run:#}");
    }
    assert_matches_scratch(&t);
}

#[test]
fn an_edit_to_a_config_the_resolver_reads_resolves_again() {
    let t = Test::fixture("typescript");
    t.write("data/users.json", "[]\n");
    settle();
    let map = t.run(&["map", "--json"]).json();
    let strings = "import { capitalize } from \"utils/strings\";";
    assert_eq!(
        resolved(&map, "src/index.ts", strings),
        ["src/utils/strings.ts"]
    );
    // JSON that no config names: nothing is resolved or ranked again.
    t.write("data/users.json", "[{\"name\": \"ada\"}]\n");
    settle();
    let run = run_report(&t);
    assert_eq!(run["changed"], 1, "{run:#}");
    assert_eq!(run["reranked"], false, "{run:#}");
    // tsconfig.base.json is no tsconfig.json by name, but tsconfig.json extends it: its
    // `baseUrl` moving away un-resolves `utils/strings`.
    t.write(
        "tsconfig.base.json",
        "{\"compilerOptions\": {\"strict\": true, \"baseUrl\": \"./scripts\"}}\n",
    );
    settle();
    let run = run_report(&t);
    assert_eq!(run["reranked"], true, "{run:#}");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&map, "src/index.ts", strings),
        Vec::<String>::new()
    );
    assert_matches_scratch(&t);
}

#[test]
fn a_java_edit_resolves_again_only_when_its_package_or_top_level_types_change() {
    let t = Test::fixture("java");
    settle();
    run_report(&t);
    let app = "src/main/java/com/acme/shop/App.java";
    let order = "src/main/java/com/acme/shop/model/Order.java";
    let money = "src/main/java/com/acme/shop/util/Money.java";
    // A comment: no import can see it; nothing is resolved or ranked again.
    t.write(order, read(&t, order) + "\n// More words.\n");
    settle();
    let run = run_report(&t);
    assert_eq!(run["changed"], 1, "{run:#}");
    assert_eq!(run["reranked"], false, "{run:#}");
    assert_matches_scratch(&t);
    // A method renamed: ranks again, imports resolve as before.
    t.write(
        order,
        read(&t, order).replace("long total()", "long amount()"),
    );
    settle();
    assert_eq!(run_report(&t)["reranked"], true);
    let map = t.run(&["map", "--json"]).json();
    let line = "import com.acme.shop.model.OrderLine;";
    assert_eq!(resolved(&map, app, line), vec![order]);
    assert_matches_scratch(&t);
    // The second top-level type renamed: `import ….OrderLine` no longer finds it.
    t.write(
        order,
        read(&t, order).replace("record OrderLine(", "record Line("),
    );
    settle();
    run_report(&t);
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(resolved(&map, app, line), Vec::<String>::new());
    assert_matches_scratch(&t);
    // The package changed: `import com.acme.shop.util.*` no longer takes Money.java in.
    let text = read(&t, money).replace("package com.acme.shop.util;", "package com.acme.cash;");
    t.write(money, text);
    settle();
    run_report(&t);
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&map, app, "import com.acme.shop.util.*;"),
        vec!["src/main/java/com/acme/shop/util/Strings.java"]
    );
    assert_matches_scratch(&t);
}

#[test]
fn edit_adds_a_function() {
    let t = indexed_fixture();
    let mut util_py = read(&t, "src/mypkg/util.py");
    util_py.push_str("\n\ndef triple(x):\n    \"\"\"Triple x.\"\"\"\n    return x * 3\n");
    t.write("src/mypkg/util.py", &util_py);
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 10, 0, 0, 1, 0, 1], "{run:#}");
    assert_eq!(run["reranked"], true);
    let map = t.run(&["map", "--json"]).json();
    let names: Vec<&str> = file(&map, "src/mypkg/util.py")
        .and_then(|f| f["symbols"].as_array())
        .map(|s| s.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["helper", "triple"]);
    assert_matches_scratch(&t);
}

#[test]
fn add_a_file_that_imports_an_existing_one() {
    let t = indexed_fixture();
    t.write(
        "src/mypkg/extra.py",
        "from .core import Engine\nfrom mypkg.util import helper\n\n\ndef build():\n    return Engine(str(helper(2)))\n",
    );
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [12, 11, 0, 1, 0, 0, 1], "{run:#}");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&map, "src/mypkg/extra.py", "from .core import Engine"),
        vec!["src/mypkg/core.py"]
    );
    let rdeps = t.run(&["map", "--rdeps", "src/mypkg/core.py"]).ok();
    assert!(rdeps.contains("src/mypkg/extra.py\n"), "{rdeps}");
    assert_matches_scratch(&t);
}

#[test]
fn add_a_file_that_an_import_was_waiting_for() {
    let t = indexed_fixture();
    // An import of a module that does not exist yet is external...
    t.write("src/mypkg/late.py", "import mypkg_extras.tools\n");
    settle();
    run_report(&t);
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&map, "src/mypkg/late.py", "import mypkg_extras.tools"),
        Vec::<String>::new()
    );
    // ...until it appears.
    t.write("src/mypkg_extras/__init__.py", "");
    t.write("src/mypkg_extras/tools.py", "def tool():\n    pass\n");
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [14, 12, 0, 2, 0, 0, 2], "{run:#}");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&map, "src/mypkg/late.py", "import mypkg_extras.tools"),
        vec!["src/mypkg_extras/tools.py"]
    );
    assert_matches_scratch(&t);
}

#[test]
fn delete_a_file_that_others_import() {
    let t = indexed_fixture();
    t.remove("src/mypkg/util.py");
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [10, 10, 0, 0, 0, 1, 0], "{run:#}");
    let map = t.run(&["map", "--json"]).json();
    assert!(file(&map, "src/mypkg/util.py").is_none());
    let edges = map["edges"].to_string();
    assert!(!edges.contains("src/mypkg/util.py"), "{edges}");
    let r = t.run(&["map", "--deps", "src/mypkg/util.py"]);
    assert_eq!(r.code(), 2, "deleted files leave the index: {}", r.stdout());
    assert_matches_scratch(&t);
}

#[test]
fn rename_a_file_and_update_its_importers() {
    let t = indexed_fixture();
    let text = read(&t, "src/mypkg/util.py");
    t.remove("src/mypkg/util.py");
    t.write("src/mypkg/helpers.py", &text);
    for rel in [
        "src/mypkg/core.py",
        "src/mypkg/cli.py",
        "src/mypkg/__init__.py",
        "src/mypkg/sub/mod.py",
    ] {
        let s = read(&t, rel)
            .replace("from .util import", "from .helpers import")
            .replace("from ..util import", "from ..helpers import")
            .replace("from mypkg.util import", "from mypkg.helpers import")
            .replace("import util", "import helpers")
            .replace("util.helper(", "helpers.helper(");
        t.write(rel, s);
    }
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 6, 0, 1, 4, 1, 5], "{run:#}");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&map, "src/mypkg/cli.py", "from mypkg.helpers import helper"),
        vec!["src/mypkg/helpers.py"]
    );
    assert_matches_scratch(&t);
}

#[test]
fn move_a_module_to_another_directory() {
    let t = indexed_fixture();
    // core.py leaves the package for a top-level module of the src layout; its importers
    // follow. The moved file now sorts before the package's files.
    let core = read(&t, "src/mypkg/core.py")
        .replace("from .util import", "from mypkg.util import")
        .replace("from .sub.mod import", "from mypkg.sub.mod import");
    t.remove("src/mypkg/core.py");
    t.write("src/engine.py", core);
    let init = read(&t, "src/mypkg/__init__.py").replace("from .core import", "from engine import");
    t.write("src/mypkg/__init__.py", init);
    let test =
        read(&t, "tests/test_core.py").replace("from mypkg.core import", "from engine import");
    t.write("tests/test_core.py", test);
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 8, 0, 1, 2, 1, 3], "{run:#}");
    let map = t.run(&["map", "--json"]).json();
    let mut got = resolved(&map, "src/mypkg/cli.py", "from mypkg import Engine");
    got.sort();
    assert_eq!(got, vec!["src/engine.py", "src/mypkg/__init__.py"]);
    assert_matches_scratch(&t);
}

#[test]
fn touch_only_rehashes_without_parsing() {
    let t = indexed_fixture();
    let p = t.root().join("src/mypkg/core.py");
    // A different mtime, well outside the racy window.
    set_mtime(&p, SystemTime::now() - Duration::from_secs(3600));
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 10, 1, 0, 0, 0, 0], "{run:#}");
    assert_eq!(run["reranked"], false);
    // The new mtime is recorded: the next run reads nothing.
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 11, 0, 0, 0, 0, 0], "{run:#}");
    assert_matches_scratch(&t);
}

/// A file replaced by another of the same size and mtime (one `git checkout` writes both with
/// one mtime, and `mv` keeps it) was taken as unchanged: its old definitions stayed in the
/// index. Inode and change time are compared too, as git does; a change of mode alone only
/// re-hashes.
#[cfg(unix)]
#[test]
fn a_file_moved_over_another_of_the_same_size_and_mtime_is_read_again() {
    let t = indexed_fixture();
    t.write("v1/cfg.py", "def old_api(): 1\n");
    t.write("v2/cfg.py", "def new_api(): 2\n");
    let when = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&t.root().join("v1/cfg.py"), when);
    set_mtime(&t.root().join("v2/cfg.py"), when);
    let run = run_report(&t);
    assert_eq!(counts(&run), [13, 11, 0, 2, 0, 0, 2], "{run:#}");
    std::fs::rename(t.root().join("v2/cfg.py"), t.root().join("v1/cfg.py")).expect("mv");
    let run = run_report(&t);
    assert_eq!(counts(&run), [12, 11, 0, 0, 1, 1, 1], "{run:#}");
    assert_matches_scratch(&t);

    use std::os::unix::fs::PermissionsExt;
    settle();
    let p = t.root().join("v1/cfg.py");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let run = run_report(&t);
    assert_eq!(counts(&run), [12, 11, 1, 0, 0, 0, 0], "{run:#}");
    let run = run_report(&t);
    assert_eq!(counts(&run), [12, 12, 0, 0, 0, 0, 0], "{run:#}");
}

#[test]
fn rewrite_with_the_same_content_rehashes_without_parsing() {
    let t = indexed_fixture();
    let text = read(&t, "src/mypkg/cli.py");
    t.write("src/mypkg/cli.py", &text);
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 10, 1, 0, 0, 0, 0], "{run:#}");
    assert_matches_scratch(&t);
}

#[test]
fn several_changes_at_once() {
    let t = indexed_fixture();
    t.remove("scripts/report.py");
    t.write(
        "scripts/report2.py",
        "from mypkg import Engine\n\n\ndef report():\n    return Engine('r')\n",
    );
    let core =
        read(&t, "src/mypkg/core.py").replace("MAX_ITEMS = 100", "MAX_ITEMS = 100\nMIN_ITEMS = 1");
    t.write("src/mypkg/core.py", core);
    set_mtime(
        &t.root().join("src/mypkg/util.py"),
        SystemTime::now() - Duration::from_secs(7200),
    );
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 8, 1, 1, 1, 1, 2], "{run:#}");
    assert_matches_scratch(&t);
}

#[test]
fn comment_and_docstring_edits_keep_ranks_without_reranking() {
    let t = indexed_fixture();
    let before = t.run(&["map", "--json"]).json();
    let util_py = read(&t, "src/mypkg/util.py")
        .replace("\"\"\"Double x.\"\"\"", "\"\"\"Double x, carefully.\"\"\"")
        + "\n# A trailing comment.\n";
    t.write("src/mypkg/util.py", &util_py);
    settle();
    let run = run_report(&t);
    assert_eq!(counts(&run), [11, 10, 0, 0, 1, 0, 1], "{run:#}");
    // Neither a definition, a reference nor an import changed: the ranks stand.
    assert_eq!(run["reranked"], false, "{run:#}");
    let after = t.run(&["map", "--json"]).json();
    let util = file(&after, "src/mypkg/util.py").unwrap_or_else(|| panic!("{after:#}"));
    assert_eq!(util["symbols"][0]["doc"], "Double x, carefully.");
    assert_eq!(
        util["rank"],
        file(&before, "src/mypkg/util.py")
            .map(|f| f["rank"].clone())
            .unwrap_or_default()
    );
    assert_matches_scratch(&t);
}

#[test]
fn changed_resolver_settings_resolve_every_import_again() {
    let t = Test::new();
    t.write("vendor/inc/lib/api.h", "int api(void);\n");
    t.write("pkg/src/mod/util.py", "def helper():\n    return 1\n");
    t.write(
        "app/main.c",
        "#include <lib/api.h>\n\nint main(void) { return api(); }\n",
    );
    t.write("app/run.py", "from mod import util\n\nutil.helper()\n");
    settle();
    let before = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&before, "app/main.c", "#include <lib/api.h>"),
        Vec::<String>::new()
    );
    assert_eq!(
        resolved(&before, "app/run.py", "from mod import util"),
        Vec::<String>::new()
    );
    // No file changed, only the settings the resolver reads: the next run resolves again.
    t.write(
        ".vibe/config.toml",
        "[map]\ninclude_dirs = [\"vendor/inc\"]\npython_roots = [\"pkg/src\"]\n",
    );
    let run = run_report(&t);
    assert_eq!(run["reranked"], true, "{run:#}");
    let after = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&after, "app/main.c", "#include <lib/api.h>"),
        ["vendor/inc/lib/api.h"]
    );
    assert_eq!(
        resolved(&after, "app/run.py", "from mod import util"),
        ["pkg/src/mod/util.py"]
    );
    // Unchanged settings: nothing is resolved again.
    let run = run_report(&t);
    assert_eq!(run["reranked"], false, "{run:#}");
    // Back to the defaults: the edges go again, as a scratch index has them.
    t.write(".vibe/config.toml", "");
    let reverted = t.run(&["map", "--json"]).json();
    compare(&reverted, &before);
}

#[test]
fn ranks_of_an_older_graph_version_are_computed_again() {
    let t = indexed_fixture();
    let before = t.run(&["map", "--json"]).json();
    // An index ranked by an older vibe has no `ranked_by`, or another version, and ranks that
    // may differ: the next run ranks again, as a scratch index would.
    let db = rusqlite::Connection::open(t.root().join(".vibe/index.db"))
        .unwrap_or_else(|e| panic!("{e}"));
    db.execute("DELETE FROM meta WHERE key = 'ranked_by'", [])
        .unwrap_or_else(|e| panic!("{e}"));
    db.execute("UPDATE files SET rank = 0.5", [])
        .unwrap_or_else(|e| panic!("{e}"));
    drop(db);
    let run = run_report(&t);
    assert_eq!(run["reranked"], true, "{run:#}");
    compare(&t.run(&["map", "--json"]).json(), &before);
    let run = run_report(&t);
    assert_eq!(run["reranked"], false, "{run:#}");
}

/// A run that waits for another process's write lock on the index says so after two seconds,
/// once, and goes on when the lock is released (it used to wait up to two minutes in silence).
#[test]
fn a_run_waiting_for_the_index_lock_says_so() {
    use std::io::Read as _;
    let t = Test::new();
    t.write("a.py", "def a():\n    pass\n");
    t.run(&["map"]).ok();
    t.write("b.py", "def b():\n    pass\n");
    let db = rusqlite::Connection::open(t.root().join(".vibe/index.db")).expect("open the index");
    db.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let mut child = t
        .cmd()
        .args(["map", "--stats"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vibe runs");
    std::thread::sleep(Duration::from_millis(3500));
    db.execute_batch("COMMIT").expect("release the lock");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let out = child.wait_with_output().expect("vibe ends");
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("note: another vibe process is writing this repository's index")
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("files: 2 "),
        "{stderr}"
    );
}

#[test]
fn a_first_build_ranks_as_every_later_run_does() {
    // `is_empty` is a common method name, whose calls count for less in the ranking; its id
    // was not yet in the table while a first build ranked, so that build ranked bag.rs above
    // ledger.rs, and any later run that ranked again put them the other way round.
    let t = Test::new();
    t.write("Cargo.toml", "[package]\nname = \"r\"\nversion = \"0.1.0\"\n")
        .write(
            "src/bag.rs",
            "pub struct Bag;\nimpl Bag {\n    pub fn is_empty(&self) -> bool { true }\n}\n",
        )
        .write("src/ledger.rs", "pub fn compute_ledger_total() -> u32 { 1 }\n")
        .write(
            "src/main.rs",
            "mod bag;\nmod ledger;\nfn main() {\n    let b = bag::Bag;\n    \
             if b.is_empty() && b.is_empty() && b.is_empty() { ledger::compute_ledger_total(); }\n}\n",
        );
    let first = t.run(&["map", "--json"]).json();
    t.write("src/zz.rs", "pub fn zz() {}\n");
    t.run(&["map", "--json"]).json();
    t.remove("src/zz.rs");
    let again = t.run(&["map", "--json"]).json();
    compare(&first, &again);
    let rank = |m: &Value, p: &str| file(m, p).map(|f| f["rank"].as_f64().unwrap_or(0.0));
    assert!(
        rank(&first, "src/ledger.rs") > rank(&first, "src/bag.rs"),
        "the common method's calls count for less: {first:#}"
    );
}

#[test]
fn a_file_that_starts_or_stops_being_indexed_is_resolved_again() {
    let t = Test::new();
    t.write("app.py", "import helpers\n\nhelpers.run()\n")
        .write("helpers.py", "def run():\n    return 1\n")
        .write(
            "ts/use.ts",
            "import data from \"./data.json\";\nexport const n = data;\n",
        )
        .write("ts/data.json", "[1]\n");
    settle();
    let before = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&before, "app.py", "import helpers"),
        ["helpers.py"]
    );
    assert_eq!(
        resolved(&before, "ts/use.ts", "import data from \"./data.json\";"),
        ["ts/data.json"]
    );
    // Grown past the size limit (1 MiB), turned binary: neither is an import target any more.
    let big = format!(
        "def run():\n    return 1\n{}",
        "# padding\n".repeat(110_000)
    );
    t.write("helpers.py", &big)
        .write("ts/data.json", b"[1,\0 2]\n");
    assert_matches_scratch(&t);
    let after = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&after, "app.py", "import helpers"),
        Vec::<String>::new()
    );
    // And back.
    t.write("helpers.py", "def run():\n    return 2\n")
        .write("ts/data.json", "[2]\n");
    assert_matches_scratch(&t);
    let back = t.run(&["map", "--json"]).json();
    assert_eq!(resolved(&back, "app.py", "import helpers"), ["helpers.py"]);
}

#[test]
fn a_file_whose_language_changes_ranks_for_its_new_family() {
    // The same references, read as another language (the shebang edited): the names it calls
    // are another family's definitions.
    let t = Test::new();
    t.write("lib.py", "def compute_total_amount(x):\n    return x\n")
        .write(
            "lib.js",
            "function compute_total_amount(x) { return x; }\nmodule.exports = { compute_total_amount };\n",
        )
        .write("tool", "#!/usr/bin/env python3\ncompute_total_amount(1)\n");
    settle();
    t.run(&["map", "--json"]).json();
    t.write("tool", "#!/usr/bin/env node\ncompute_total_amount(1)\n");
    assert_matches_scratch(&t);
}

#[test]
fn a_tsconfig_base_the_walk_does_not_see_resolves_again_when_it_changes() {
    // The usual order: clone, vibe, then `npm install` brings the base the tsconfig extends,
    // into a node_modules/ the walk leaves out (helper 94: the alias stayed external).
    let t = Test::new();
    t.write(".gitignore", "node_modules/\n")
        .write(
            "tsconfig.json",
            "{\"extends\": \"@cfg/base/tsconfig.json\"}\n",
        )
        .write(
            "src/lib/invoice.ts",
            "export const format = (n: number) => `${n}`;\n",
        )
        .write(
            "src/app.ts",
            "import { format } from \"@lib/invoice\";\nexport const out = format(1);\n",
        );
    let import = "import { format } from \"@lib/invoice\";";
    settle();
    let before = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&before, "src/app.ts", import),
        Vec::<String>::new()
    );
    t.write(
        "node_modules/@cfg/base/tsconfig.json",
        "{\"compilerOptions\": {\"baseUrl\": \"../../..\", \"paths\": {\"@lib/*\": [\"src/lib/*\"]}}}\n",
    );
    assert_matches_scratch(&t);
    let after = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&after, "src/app.ts", import),
        ["src/lib/invoice.ts"]
    );
    // The base edited: its paths name another directory.
    t.write(
        "node_modules/@cfg/base/tsconfig.json",
        "{\"compilerOptions\": {\"baseUrl\": \"../../..\", \"paths\": {\"@lib/*\": [\"lib/*\"]}}}\n",
    );
    assert_matches_scratch(&t);
    let edited = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&edited, "src/app.ts", import),
        Vec::<String>::new()
    );
    // An upgrade by npm, which gives every file it installs the same modification time: the
    // same size, the same time, another path (review of helper 95).
    let base = t.root().join("node_modules/@cfg/base/tsconfig.json");
    let npm_time = SystemTime::UNIX_EPOCH + Duration::from_secs(499_162_500);
    set_mtime(&base, npm_time);
    t.write(
        "abc/invoice.ts",
        "export const format = (n: number) => `${n}`;\n",
    );
    settle();
    t.run(&["map", "--json"]).json();
    let before = std::fs::read_to_string(&base).unwrap_or_default();
    let after = before.replace("[\"lib/*\"]", "[\"abc/*\"]");
    assert_eq!(before.len(), after.len());
    t.write("node_modules/@cfg/base/tsconfig.json", &after);
    set_mtime(&base, npm_time);
    assert_matches_scratch(&t);
    let upgraded = t.run(&["map", "--json"]).json();
    assert_eq!(
        resolved(&upgraded, "src/app.ts", import),
        ["abc/invoice.ts"]
    );
}
