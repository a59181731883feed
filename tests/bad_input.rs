//! Bad input: binary, huge, undecodable, unreadable, looping, pathological and broken files, bad
//! paths, a corrupt index, concurrent runs and bad configuration. None may crash or hang.

// These files are modules of tests/integration.rs, and cargo also builds each as a test
// target of its own (autotests); the `#[path]` makes the harness resolve the same in both.
#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
mod util;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use util::{Run, Test};

/// The JSON object of one file, if it is in the map.
fn file<'a>(map: &'a Value, path: &str) -> Option<&'a Value> {
    map["files"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["path"] == path))
}

fn paths(map: &Value) -> Vec<String> {
    let mut v: Vec<String> = map["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files:\n{map:#}"))
        .iter()
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// `(name, kind, line)` of a file's symbols.
fn symbols(map: &Value, path: &str) -> Vec<(String, String, u64)> {
    file(map, path).unwrap_or_else(|| panic!("{path} not in the map:\n{map:#}"))["symbols"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no symbols"))
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["kind"].as_str().unwrap_or_default().to_string(),
                s["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn sym(name: &str, kind: &str, line: u64) -> (String, String, u64) {
    (name.to_string(), kind.to_string(), line)
}

/// `vibe` without the harness's `-C`, with an isolated home.
fn bare(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vibe"));
    c.env("VIBE_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("VIBE_") && k != "VIBE_HOME" {
            c.env_remove(k);
        }
    }
    c
}

/// Runs a command, killing it (and failing) if it takes longer than `limit`.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Run {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run vibe: {e}"));
    // Drain the pipes on threads so a big output cannot block the child.
    let mut so = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut se = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap_or_else(|e| panic!("wait: {e}")) {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vibe did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        output: Output {
            status,
            stdout: out_t.join().unwrap_or_default(),
            stderr: err_t.join().unwrap_or_default(),
        },
    }
}

#[test]
fn binary_file_is_skipped_and_counted() {
    let t = Test::new();
    t.write("app.py", "def real():\n    pass\n");
    t.write(
        "blob.py",
        b"def fake():\n    pass\n\x00\x01\x02\xff binary\n",
    );
    t.write("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(paths(&map), vec!["app.py"]);
    assert_eq!(map["stats"]["skipped"], json!({"binary": 2}));
    assert_eq!(
        map["skipped"],
        json!([
            {"path": "blob.py", "reason": "binary"},
            {"path": "image.png", "reason": "binary"},
        ])
    );
    assert_eq!(map["stats"]["files"], 3);
    assert_eq!(map["stats"]["source_files"], 1);
    let stats = t.run(&["map", "--stats"]).ok();
    assert!(
        stats.contains("files: 3 (source 1, other text 0, skipped 2)\n"),
        "{stats}"
    );
    assert!(stats.contains("skipped: binary 2\n"), "{stats}");
    let text = t.run(&["map"]).ok();
    assert!(
        !text.contains("blob.py") && !text.contains("fake"),
        "{text}"
    );
}

#[test]
fn file_over_the_size_limit_is_skipped_and_counted() {
    let t = Test::new();
    let mut big = String::from("def big():\n    pass\n");
    while big.len() < 2000 {
        big.push_str("# padding padding padding padding padding padding padding\n");
    }
    big.truncate(1999);
    big.push('\n');
    assert_eq!(big.len(), 2000);
    t.write("big.py", &big);
    t.write("small.py", "def small():\n    pass\n");
    let map = t
        .run(&["-c", "map.max_file_size=1000", "map", "--json"])
        .json();
    assert_eq!(paths(&map), vec!["small.py"]);
    assert_eq!(map["stats"]["skipped"], json!({"too_large": 1}));
    assert_eq!(
        map["skipped"],
        json!([{"path": "big.py", "reason": "too_large"}])
    );
    let stats = t
        .run(&["-c", "map.max_file_size=1000", "map", "--stats"])
        .ok();
    assert!(stats.contains("skipped: too_large 1\n"), "{stats}");
    assert!(
        stats.contains("files: 2 (source 1, other text 0, skipped 1)\n"),
        "{stats}"
    );
    // With the default limit (1 MiB) the same file is indexed.
    let t = Test::new();
    t.write("big.py", &big);
    t.write("small.py", "def small():\n    pass\n");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(paths(&map), vec!["big.py", "small.py"]);
    assert_eq!(map["skipped"], json!([]));
    assert_eq!(symbols(&map, "big.py"), vec![sym("big", "function", 1)]);
}

#[test]
fn raising_the_size_limit_indexes_a_skipped_file() {
    let t = Test::new();
    let big = format!("def big():\n    pass\n{}\n", "#".repeat(1979));
    assert_eq!(big.len(), 2000);
    t.write("big.py", &big);
    // Older than the racy window, so the next run trusts size and mtime.
    std::thread::sleep(std::time::Duration::from_millis(120));
    let map = t
        .run(&["-c", "map.max_file_size=1000", "map", "--json"])
        .json();
    assert_eq!(
        map["skipped"],
        json!([{"path": "big.py", "reason": "too_large"}])
    );
    // Same tree, default limit: the result must equal a from-scratch index, which has big.py.
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        map["skipped"],
        json!([]),
        "big.py is still skipped as too_large"
    );
    assert_eq!(paths(&map), vec!["big.py"]);
    assert_eq!(symbols(&map, "big.py"), vec![sym("big", "function", 1)]);
    // And lowering it again skips it again.
    let map = t
        .run(&["-c", "map.max_file_size=1000", "map", "--json"])
        .json();
    assert_eq!(
        map["skipped"],
        json!([{"path": "big.py", "reason": "too_large"}])
    );
    assert_eq!(map["files"], json!([]));
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    let t = Test::new();
    t.write(
        "latin.py",
        b"# caf\xe9 \xff\xfe\ndef good(a):\n    \"\"\"Doc \xff here.\"\"\"\n    return a\n\n\nclass K:\n    NAME = \"\xc3\x28\"\n\n    def m(self):\n        pass\n",
    );
    let map = t.run(&["map", "--json"]).json();
    let f = file(&map, "latin.py").unwrap_or_else(|| panic!("latin.py skipped:\n{map:#}"));
    assert_eq!(f["parse_errors"], false);
    assert_eq!(f["lines"], 11);
    assert_eq!(
        f["symbols"],
        json!([
            {"name": "good", "kind": "function", "parent": null,
             "signature": "def good(a):", "line": 2, "end_line": 4,
             "doc": "Doc \u{FFFD} here."},
            {"name": "K", "kind": "class", "parent": null,
             "signature": "class K:", "line": 7, "end_line": 11},
            {"name": "m", "kind": "method", "parent": "K",
             "signature": "def m(self):", "line": 10, "end_line": 11},
        ])
    );
    assert_eq!(map["skipped"], json!([]));
}

#[cfg(unix)]
#[test]
fn symlink_loop_warns_but_succeeds() {
    let t = Test::new();
    t.write("a.py", "def a():\n    pass\n");
    t.write("d/b.py", "from a import a\n");
    std::os::unix::fs::symlink("..", t.root().join("d/loop"))
        .unwrap_or_else(|e| panic!("symlink: {e}"));
    let r = t.run(&["map", "--json"]);
    let map = r.json();
    assert!(
        r.stderr().contains("warning:") && r.stderr().contains("loop"),
        "a warning about the loop: {}",
        r.stderr()
    );
    // Each file once, under its real path.
    assert_eq!(paths(&map), vec!["a.py", "d/b.py"]);
    assert_eq!(map["edges"], json!([{"from": "d/b.py", "to": "a.py"}]));
    let r = t.run(&["map"]);
    assert_eq!(r.code(), 0);
    assert!(r.stderr().contains("warning:"), "{}", r.stderr());
}

#[cfg(unix)]
#[test]
fn symlinks_that_lead_outside_the_repository_are_not_indexed_or_sent() {
    let t = Test::new();
    // Outside the repository: the test's scratch dir.
    let outside = t.tmp.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(outside.join("secret.py"), "PRIVATE_KEY = 'hunter2'\n")
        .unwrap_or_else(|e| panic!("{e}"));
    t.write("app.py", "def private_key():\n    return load()\n");
    t.write("lib/util.py", "def load():\n    pass\n");
    let link = |target: &Path, at: &str| {
        std::os::unix::fs::symlink(target, t.root().join(at))
            .unwrap_or_else(|e| panic!("symlink {at}: {e}"));
    };
    link(&outside.join("secret.py"), "notes.py");
    link(&outside, "shared");
    // Within the repository, links are followed as before.
    link(Path::new("lib"), "lib2");
    link(Path::new("lib/util.py"), "util_link.py");
    let r = t.run(&["map", "--json"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(
        paths(&r.json()),
        vec!["app.py", "lib/util.py", "lib2/util.py", "util_link.py"]
    );
    let r = t.run(&[
        "context",
        "--budget",
        "2000",
        "--json",
        "private key hunter2",
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert!(!out.contains("hunter2 ="), "{out}");
    assert!(!out.contains("PRIVATE_KEY"), "{out}");
}

#[cfg(unix)]
#[test]
fn warnings_and_errors_escape_control_characters_of_file_names() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    // A broken symlink whose name would turn the terminal red.
    std::os::unix::fs::symlink("/nonexistent", t.root().join("bad\u{1b}[31m.py"))
        .unwrap_or_else(|e| panic!("symlink: {e}"));
    let r = t.run(&["map", "--tokens", "50"]);
    assert_eq!(r.code(), 0);
    let err = r.stderr();
    assert!(
        err.contains("warning: ") && err.contains("bad\\u{1b}[31m.py"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
    // Errors too.
    let r = t.run(&["heal", "--check", "gone\u{1b}[2J.py"]);
    assert_eq!(r.code(), 2);
    let err = r.stderr();
    assert!(err.contains("error: gone\\u{1b}[2J.py"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

/// Two names that read the same once their bytes that are not UTF-8 are replaced cannot both be
/// indexed: a warning names both, bytes escaped, instead of one file vanishing in silence.
#[cfg(unix)]
#[test]
fn names_that_read_the_same_are_a_warning() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    for (name, body) in [
        (&b"bad\xff.py"[..], "def a():\n    pass\n"),
        (b"bad\xfe.py", "def b():\n    pass\n"),
    ] {
        std::fs::write(t.root().join(std::ffi::OsStr::from_bytes(name)), body)
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    // Two directories of the kind: one warning, not one per file in them.
    for dir in [&b"d\xff"[..], b"d\xfe"] {
        let dir = t.root().join(std::ffi::OsStr::from_bytes(dir));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
        for i in 0..5 {
            std::fs::write(dir.join(format!("m{i}.py")), "x = 1\n")
                .unwrap_or_else(|e| panic!("write: {e}"));
        }
    }
    let r = t.run(&["map", "--stats"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains("bad\\xfe.py and ") && err.contains("bad\\xff.py have the same name"),
        "{err}"
    );
    assert!(
        err.contains("d\\xfe and ") && err.contains("d\\xff have the same name"),
        "{err}"
    );
    assert_eq!(err.matches("have the same name").count(), 2, "{err}");
    assert!(r.stdout().contains("files: 6 "), "{}", r.stdout());
}

/// Of `b\x80.py` and a UTF-8 `b\u{fffd}.py` (the same name once the byte is replaced), the
/// one indexed is the one read back by that name: the context shows a file's own text under
/// its own ranking.
#[cfg(unix)]
#[test]
fn of_two_names_that_read_the_same_the_utf8_one_is_indexed_and_shown() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    std::fs::write(
        t.root().join(std::ffi::OsStr::from_bytes(b"b\x80.py")),
        "def alpha_target():\n    return 1\n",
    )
    .expect("write");
    t.write("b\u{fffd}.py", "def beta_utf():\n    return 2\n");
    for task in ["fix alpha_target", "fix beta_utf"] {
        let r = t.run(&["context", task, "--json"]);
        assert_eq!(r.code(), 0, "{}", r.stderr());
        assert!(r.stderr().contains("have the same name"), "{}", r.stderr());
        let v = r.json();
        let context = v["context"].as_str().expect("context");
        assert!(!context.contains("alpha_target"), "{context}");
        assert!(
            context.contains("def beta_utf():\n    return 2\n"),
            "{context}"
        );
        // The ranking is the shown text's: it matches beta_utf, never alpha_target.
        let reasons = v["files"].to_string();
        assert_eq!(
            reasons.contains("matches beta_utf"),
            task == "fix beta_utf",
            "{reasons}"
        );
        assert!(!reasons.contains("matches alpha_target"), "{reasons}");
    }
}

/// A symlink to nothing is a warning where the walk would read it, and is not where the name
/// is hidden or ignored (an editor's lock file, an ignored build link), which the walk meets
/// before it knows that.
#[cfg(unix)]
#[test]
fn hidden_and_ignored_links_to_nothing_are_no_warning() {
    let t = Test::new();
    t.write("a.py", "x = 1\n")
        .write(".gitignore", "*.lock\n")
        .write("web/.gitignore", "node_modules/\n");
    for (target, link) in [
        ("me@host.123:1700000000", ".#a.py"),
        ("/nonexistent", "build.lock"),
        // A link to a directory that is gone, ignored by a pattern for directories.
        ("/nonexistent/node_modules", "web/node_modules"),
        ("/nonexistent", "shown.py"),
    ] {
        std::os::unix::fs::symlink(target, t.root().join(link))
            .unwrap_or_else(|e| panic!("symlink {link}: {e}"));
    }
    for _ in 0..2 {
        let r = t.run(&["map", "--tokens", "50"]);
        assert_eq!(r.code(), 0);
        let warnings: Vec<String> = r
            .stderr()
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .map(str::to_string)
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("shown.py"), "{warnings:?}");
    }
    // map.exclude counts as ignoring.
    let r = t.run(&["-c", "map.exclude=[\"shown.py\"]", "map", "--tokens", "50"]);
    assert_eq!(r.code(), 0);
    assert!(!r.stderr().contains("warning: "), "{}", r.stderr());
}

/// The user's global excludes file (`core.excludesFile`) counts for a link to nothing as the
/// repository's own ignore files do, a pattern for directories too.
#[cfg(unix)]
#[test]
fn links_to_nothing_under_global_excludes_are_no_warning() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let home = tempfile::tempdir().expect("home");
    let excludes = home.path().join("excludes");
    std::fs::write(&excludes, "build_out/\n*.swp\n").expect("write excludes");
    let config = home.path().join("gitconfig");
    std::fs::write(
        &config,
        format!("[core]\n\texcludesFile = {}\n", excludes.display()),
    )
    .expect("write gitconfig");
    for (target, link) in [
        ("/nonexistent/build_out", "build_out"),
        ("/nonexistent", "a.py.swp"),
        ("/nonexistent", "shown.py"),
    ] {
        std::os::unix::fs::symlink(target, t.root().join(link))
            .unwrap_or_else(|e| panic!("symlink {link}: {e}"));
    }
    let r = t
        .cmd()
        .env("GIT_CONFIG_GLOBAL", &config)
        .env("HOME", home.path())
        .args(["map", "--tokens", "50"])
        .output()
        .expect("run vibe");
    assert_eq!(r.status.code(), Some(0));
    let err = String::from_utf8_lossy(&r.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("shown.py"), "{warnings:?}");
}

#[cfg(unix)]
#[test]
fn unreadable_file_and_directory_warn_but_succeed() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    t.write("ok.py", "def ok():\n    pass\n");
    t.write("secret.py", "def secret():\n    pass\n");
    t.write("locked/inner.py", "def inner():\n    pass\n");
    let set = |rel: &str, mode: u32| {
        let p = t.root().join(rel);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
    };
    set("secret.py", 0o000);
    set("locked", 0o000);
    // As root (common in containers) chmod does not stop reads, so there is nothing to warn
    // about: only check that the run succeeds.
    let enforced = std::fs::read(t.root().join("secret.py")).is_err();
    let r = t.run(&["map", "--json"]);
    let code = r.code();
    let stderr = r.stderr();
    let stdout = r.stdout();
    set("secret.py", 0o644);
    set("locked", 0o755);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let map: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(file(&map, "ok.py").is_some());
    if enforced {
        assert!(
            stderr.contains("warning:") && stderr.contains("secret.py"),
            "a warning naming the unreadable file: {stderr}"
        );
        assert!(
            stderr.contains("locked"),
            "a warning naming the unreadable directory: {stderr}"
        );
        assert!(file(&map, "secret.py").is_none());
        assert_eq!(
            map["skipped"],
            json!([{"path": "secret.py", "reason": "unreadable"}])
        );
        // Readable again: picked up on the next run.
        let map = t.run(&["map", "--json"]).json();
        assert_eq!(paths(&map), vec!["locked/inner.py", "ok.py", "secret.py"]);
        assert_eq!(map["skipped"], json!([]));
    } else {
        eprintln!("running as root: chmod 000 does not block reads; warnings not checked");
        assert_eq!(paths(&map), vec!["locked/inner.py", "ok.py", "secret.py"]);
    }
}

/// A tree vibe cannot write `.vibe/` in (here `.vibe` is a file, which stops root too; a
/// read-only directory as well when not root) keeps its index in the user's data directory:
/// said once, then used quietly; the tree is left as it was.
#[test]
fn a_tree_vibe_cannot_write_to_keeps_its_index_in_the_user_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    t.write("src/frames.py", "def parse_frame(b):\n    return b\n");
    t.write(".vibe", "not a directory\n");
    let first = t.run(&["map", "--json"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    assert!(
        first.stderr().contains(".vibe") && first.stderr().contains("keeping the index"),
        "{}",
        first.stderr()
    );
    let indexes = t.home.path().join("indexes");
    let kept: Vec<_> = std::fs::read_dir(&indexes)
        .unwrap_or_else(|e| panic!("{}: {e}", indexes.display()))
        .filter_map(|d| d.ok().map(|d| d.path().join("index.db")))
        .filter(|p| p.exists())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let again = t.run(&["map", "--json"]);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert!(
        !again.stderr().contains("keeping the index"),
        "{}",
        again.stderr()
    );
    let j = t.run(&["context", "parse_frame is wrong", "--json"]).json();
    assert_eq!(j["files"][0]["path"], "src/frames.py", "{j}");
    let doctor = t.run(&["doctor"]);
    assert!(doctor.stdout().contains("indexes/"), "{}", doctor.stdout());
    assert_eq!(
        std::fs::read_to_string(t.root().join(".vibe")).unwrap_or_default(),
        "not a directory\n"
    );

    // A read-only tree (not enforced for root).
    let t = Test::new();
    t.write("lib/a.py", "def alpha():\n    pass\n");
    let mode = |m: u32| {
        std::fs::set_permissions(t.root(), std::fs::Permissions::from_mode(m))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
    };
    mode(0o555);
    let enforced = std::fs::create_dir(t.root().join("probe")).is_err();
    let r = t.run(&["map", "--json"]);
    let exists = t.root().join(".vibe").exists();
    mode(0o755);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    if enforced {
        assert!(r.stderr().contains("keeping the index"), "{}", r.stderr());
        assert!(!exists);
    }
}

/// Neither the tree nor the user's data directory can hold the index (here `.vibe` and the
/// data directory's `indexes` are files, which stops root too): the commands that read the
/// index keep it in memory and say so; `vibe watch`, whose index is for other commands, and
/// `vibe chat`, which keeps its sessions there, refuse, naming where. Nothing is written.
#[test]
fn an_index_with_nowhere_to_go_is_kept_in_memory_by_the_commands_that_read_it() {
    let t = Test::new();
    t.write("src/frames.py", "def parse_frame(b):\n    return b\n");
    t.write(".vibe", "not a directory\n");
    let indexes = t.home.path().join("indexes");
    std::fs::write(&indexes, "not a directory either\n").unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        let map = t.run(&["map", "--json"]);
        assert_eq!(map.code(), 0, "{}", map.stderr());
        assert!(
            map.stderr().contains(".vibe")
                && map.stderr().contains("indexes")
                && map.stderr().contains("in memory")
                && map.stderr().contains("VIBE_HOME"),
            "{}",
            map.stderr()
        );
        assert!(map.stdout().contains("parse_frame"), "{}", map.stdout());
    }
    let j = t.run(&["context", "parse_frame is wrong", "--json"]);
    assert_eq!(j.code(), 0, "{}", j.stderr());
    assert_eq!(
        j.json()["files"][0]["path"],
        "src/frames.py",
        "{}",
        j.stdout()
    );
    let stats = t.run(&["map", "--stats"]);
    assert_eq!(stats.code(), 0, "{}", stats.stderr());
    assert!(
        stats.stdout().starts_with("index: in memory"),
        "{}",
        stats.stdout()
    );
    let doctor = t.run(&["doctor", "--offline"]);
    assert!(
        doctor.stdout().contains("no index, and none can be kept")
            && doctor.stdout().contains("VIBE_HOME"),
        "{}",
        doctor.stdout()
    );
    let watch = t.run(&["watch", "--json"]);
    assert_ne!(watch.code(), 0, "{}", watch.stdout());
    assert!(
        watch.stderr().contains("indexes") && !watch.stderr().contains("in memory"),
        "{}",
        watch.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(t.root().join(".vibe")).unwrap_or_default(),
        "not a directory\n"
    );
    assert_eq!(
        std::fs::read_to_string(&indexes).unwrap_or_default(),
        "not a directory either\n"
    );
}

/// Run in a directory deleted under the shell: an error that says so and what to do, for the
/// commands that find a root and for those that take paths (`tokens`), not a bare "No such
/// file or directory".
#[test]
fn a_deleted_current_directory_is_named_as_the_problem() {
    let t = Test::new();
    for args in ["map", "tokens /dev/null", "context fix"] {
        let gone = t.root().join("gone");
        std::fs::create_dir(&gone).unwrap_or_else(|e| panic!("{e}"));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cd '{}' && rmdir '{}' && exec '{}' {args}",
                gone.display(),
                gone.display(),
                env!("CARGO_BIN_EXE_vibe")
            ))
            .env("VIBE_HOME", t.home.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args}: {stderr}");
        assert!(
            stderr.contains("cannot read the current directory") && stderr.contains("-C DIR"),
            "{args}: {stderr}"
        );
    }
}

/// A map budget too small for even the map's first line is an error that says how many tokens
/// it needs (exit 2), as a context budget that small is; not an empty map and exit 0. `0`
/// asks for the index alone (`map_cli::zero_budget_prints_nothing`).
#[test]
fn a_map_budget_that_holds_nothing_is_an_error() {
    let t = Test::new();
    t.write("a.py", "def a():\n    pass\n");
    for n in ["1", "3"] {
        let r = t.run(&["map", "--tokens", n]);
        assert_eq!(r.code(), 2, "{n}: {}", r.stdout());
        assert!(
            r.stderr().contains(&format!("a map of {n} tokens"))
                && r.stderr().contains("hint: give --tokens"),
            "{}",
            r.stderr()
        );
        assert_eq!(r.stdout(), "");
    }
    let r = t.run(&["-c", "map.tokens=5", "map"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    let r = t.run(&["map", "--tokens", "40"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().starts_with("# repository map"), "{}", r.stdout());
}

#[test]
fn directory_that_is_a_regular_file() {
    let t = Test::new();
    t.write("notadir.py", "x = 1\n");
    let p = t.root().join("notadir.py");
    let out = bare(t.home.path())
        .arg("-C")
        .arg(&p)
        .arg("map")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&p.display().to_string()) && stderr.contains("not a directory"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn directory_that_does_not_exist() {
    let t = Test::new();
    let p = t.root().join("no/such/dir");
    let out = bare(t.home.path())
        .arg("-C")
        .arg(&p)
        .args(["map", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&p.display().to_string()) && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(!p.exists(), "vibe must not create the directory");
}

#[test]
fn deeply_nested_brackets_do_not_crash_or_hang() {
    let t = Test::new();
    let n = 10_000;
    t.write(
        "deep.py",
        format!(
            "def before():\n    pass\n\nx = {}{}\n\ndef after():\n    pass\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
    );
    t.write(
        "open.py",
        format!("def before():\n    pass\n\nx = {}\n", "[".repeat(n)),
    );
    let mut cmd = t.cmd();
    cmd.args(["map", "--json"]);
    let r = run_with_timeout(cmd, Duration::from_secs(60));
    let map = r.json();
    let deep = file(&map, "deep.py").unwrap_or_else(|| panic!("deep.py missing"));
    assert_eq!(deep["parse_errors"], false, "balanced brackets parse");
    assert_eq!(
        symbols(&map, "deep.py"),
        vec![sym("before", "function", 1), sym("after", "function", 6)]
    );
    let open = file(&map, "open.py").unwrap_or_else(|| panic!("open.py missing"));
    assert_eq!(open["parse_errors"], true, "unclosed brackets are flagged");
    assert_eq!(symbols(&map, "open.py"), vec![sym("before", "function", 1)]);
    assert_eq!(map["stats"]["files_with_parse_errors"], 1);
    // The text map too.
    let mut cmd = t.cmd();
    cmd.arg("map");
    let r = run_with_timeout(cmd, Duration::from_secs(60));
    let out = r.ok();
    assert!(
        out.contains("deep.py:") && out.contains("open.py:"),
        "{out}"
    );
}

#[test]
fn empty_repository() {
    let t = Test::new();
    assert_eq!(t.run(&["map"]).ok(), "# repository map: no source files\n");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(map["files"], json!([]));
    assert_eq!(map["stats"]["files"], 0);
    assert_eq!(map["edges"], json!([]));
    assert_eq!(map["externals"], json!([]));
    // Only non-source text: still no source files.
    let t = Test::new();
    t.write("README.md", "# hello\n")
        .write("notes.txt", "notes\n");
    assert_eq!(t.run(&["map"]).ok(), "# repository map: no source files\n");
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(map["files"], json!([]));
    assert_eq!(map["stats"]["files"], 2);
    assert_eq!(map["stats"]["source_files"], 0);
}

#[test]
fn syntax_errors_keep_what_parses() {
    let t = Test::new();
    t.write(
        "syn.py",
        "def first(a):\n    return a\n\n\ndef broken(:\n    pass\n\n\nclass After:\n    \"\"\"Still here.\"\"\"\n\n    def m(self):\n        pass\n",
    );
    t.write("fine.py", "def fine():\n    pass\n");
    let map = t.run(&["map", "--json"]).json();
    let f = file(&map, "syn.py").unwrap_or_else(|| panic!("syn.py missing"));
    assert_eq!(f["parse_errors"], true);
    let syms = symbols(&map, "syn.py");
    for want in [
        sym("first", "function", 1),
        sym("After", "class", 9),
        sym("m", "method", 12),
    ] {
        assert!(syms.contains(&want), "{want:?} missing from {syms:?}");
    }
    let after = f["symbols"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "After"))
        .unwrap_or_else(|| panic!("After missing"));
    assert_eq!(after["doc"], "Still here.");
    assert_eq!(after["end_line"], 13);
    assert_eq!(
        file(&map, "fine.py").map(|f| &f["parse_errors"]),
        Some(&json!(false))
    );
    assert_eq!(map["stats"]["files_with_parse_errors"], 1);
    let stats = t.run(&["map", "--stats"]).ok();
    assert!(stats.contains("parse errors: 1 files\n"), "{stats}");
}

/// Builds the python fixture's index, corrupts it with `corrupt`, and checks the next run
/// reports it, rebuilds, and prints the right map.
fn corrupt_index_is_rebuilt(corrupt: impl Fn(&Path), reported: bool) {
    let t = Test::fixture("python");
    let want_text = t.run(&["map"]).ok();
    let want_json = t.run(&["map", "--json"]).ok();
    let db = t.root().join(".vibe/index.db");
    assert!(db.is_file());
    corrupt(&db);
    let r = t.run(&["map"]);
    assert_eq!(r.ok(), want_text);
    if reported {
        assert!(
            r.stderr().contains("index.db") && r.stderr().contains("rebuild"),
            "the corruption is reported: {}",
            r.stderr()
        );
    }
    // Rebuilt for good: the next run is quiet and parses nothing.
    let r = t.run(&["map", "--json"]);
    assert_eq!(r.ok(), want_json);
    assert_eq!(r.stderr(), "");
    let s = t.run(&["map", "--stats", "--json"]).json();
    assert_eq!(s["run"]["parsed"], 0);
}

#[test]
fn corrupt_index_garbage_file() {
    corrupt_index_is_rebuilt(
        |db| {
            let garbage: Vec<u8> = (0..20_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            std::fs::write(db, garbage).unwrap_or_else(|e| panic!("{e}"));
        },
        true,
    );
}

#[test]
fn corrupt_index_damaged_pages() {
    corrupt_index_is_rebuilt(
        |db| {
            let mut data = std::fs::read(db).unwrap_or_else(|e| panic!("{e}"));
            assert!(data.len() > 8192, "index is {} bytes", data.len());
            // Keep the header page, smash the next pages.
            let end = data.len().min(4096 * 6);
            for (i, b) in data[4096..end].iter_mut().enumerate() {
                *b = [0xde, 0xad, 0xbe, 0xef][i % 4];
            }
            std::fs::write(db, data).unwrap_or_else(|e| panic!("{e}"));
        },
        true,
    );
}

#[test]
fn corrupt_index_empty_file() {
    // SQLite takes an empty file for an empty database, so there is nothing to report: the
    // index is simply built again.
    corrupt_index_is_rebuilt(
        |db| {
            std::fs::write(db, b"").unwrap_or_else(|e| panic!("{e}"));
        },
        false,
    );
}

#[test]
fn corrupt_index_a_column_missing() {
    // A table without a column its schema version has (another program edited it): found by
    // the first query that names the column, and rebuilt as damage found at opening is.
    corrupt_index_is_rebuilt(
        |db| {
            let conn = rusqlite::Connection::open(db).unwrap_or_else(|e| panic!("{e}"));
            conn.execute_batch("ALTER TABLE files RENAME COLUMN language TO lang")
                .unwrap_or_else(|e| panic!("{e}"));
        },
        true,
    );
}

/// A damaged page of a table that neither the opening nor the index run reads (the lexicon
/// only `vibe context` reads): the context is made from a rebuilt index instead of failing
/// with "malformed" run after run.
#[test]
fn corrupt_index_a_page_only_the_context_reads() {
    let t = Test::fixture("python");
    let task = "helper doubles x";
    let want = t.run(&["context", task]).ok();
    let db = t.root().join(".vibe/index.db");
    util::smash_table_page(&db, "lexicon");
    // The task on stdin: read once, for the run on the rebuilt index too.
    let mut child = t.spawn_with_stdin(&["context"]);
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(task.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let r = Run::of(child);
    assert_eq!(r.ok(), want);
    let err = r.stderr();
    assert!(
        err.contains("malformed") && err.contains("rebuilding the index from scratch"),
        "{err}"
    );
    assert!(
        !err.contains("hint:"),
        "the rebuild is not told to move it aside: {err}"
    );
    let r = t.run(&["context", task]);
    assert_eq!((r.ok(), r.stderr()), (want, String::new()));
}

/// Processes that find the index unusable at once rebuild it once: the others wait and open
/// what it made. Two used to rebuild in turn, the second setting aside the first's fresh
/// index, so the chat sessions carried over and the old file kept aside were lost.
#[test]
fn concurrent_runs_on_an_unusable_index_rebuild_it_once() {
    let t = Test::fixture("python");
    t.run(&["map"]).ok();
    let db = t.root().join(".vibe/index.db");
    let sql = |path: &Path, sql: &str| -> String {
        let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
        conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .unwrap_or_else(|e| format!("{e}"))
    };
    for round in 0..3 {
        let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(
            "DELETE FROM chat_sessions;
             INSERT INTO chat_sessions(id, created_ms, updated_ms, model, title)
                 VALUES ('s1', 1, 2, 'm', 'kept');
             PRAGMA user_version = 999;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        let runs: Vec<_> = (0..4)
            .map(|i| {
                t.spawn(if i % 2 == 0 {
                    &["map"]
                } else {
                    &["context", "helper doubles x"]
                })
            })
            .collect();
        let mut rebuilds = 0;
        for c in runs {
            let r = Run::of(c);
            r.ok();
            rebuilds += r.stderr().matches("rebuilding the index").count();
        }
        assert_eq!(rebuilds, 1, "round {round}");
        assert_eq!(
            sql(&db, "SELECT title FROM chat_sessions"),
            "Text(\"kept\")",
            "round {round}"
        );
        let kept = db.with_extension("db.broken");
        assert_eq!(
            sql(&kept, "PRAGMA user_version"),
            "Integer(999)",
            "round {round}"
        );
        // The next round starts from this index again, marked as a newer vibe's.
    }
}

#[test]
fn concurrent_runs_agree() {
    let t = Test::new();
    t.write("pkg/__init__.py", "");
    for i in 0..200 {
        let mut s = String::new();
        if i > 0 {
            s.push_str(&format!("from pkg.m{:03} import f{:03}\n", i - 1, i - 1));
        }
        s.push_str(&format!(
            "\n\nclass C{i:03}:\n    def go(self):\n        return {i}\n\n\ndef f{i:03}():\n    return C{i:03}()\n"
        ));
        t.write(&format!("pkg/m{i:03}.py"), s);
    }
    for round in 0..3 {
        let _ = std::fs::remove_dir_all(t.root().join(".vibe"));
        let a = t.spawn(&["map", "--json"]);
        let b = t.spawn(&["map", "--json"]);
        let c = t.spawn(&["map"]);
        let d = t.spawn(&["map"]);
        let (a, b, c, d) = (Run::of(a), Run::of(b), Run::of(c), Run::of(d));
        let (ja, jb) = (a.json(), b.json());
        assert_eq!(ja, jb, "round {round}: the two JSON maps differ");
        assert_eq!(ja["files"].as_array().map(Vec::len), Some(201));
        assert_eq!(ja["edges"].as_array().map(Vec::len), Some(199));
        assert_eq!(c.ok(), d.ok(), "round {round}: the two text maps differ");
        // And both equal what a quiet run afterwards prints.
        let again = t.run(&["map", "--json"]).json();
        assert_eq!(ja, again, "round {round}");
        assert_eq!(t.run(&["map"]).ok(), c.ok(), "round {round}");
        let s = t.run(&["map", "--stats", "--json"]).json();
        assert_eq!(s["run"]["parsed"], 0, "round {round}");
        for r in [&a, &b, &c, &d] {
            assert!(
                !r.stderr().contains("error"),
                "round {round}: {}",
                r.stderr()
            );
        }
    }
}

#[test]
fn bad_config_file_names_file_line_and_key() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    t.write(".vibe/config.toml", "# settings\n[map]\ntokenz = 1\n");
    let r = t.run(&["map"]);
    assert_eq!(r.code(), 2, "a bad setting is bad usage");
    let err = r.stderr();
    assert!(err.contains(".vibe/config.toml"), "names the file: {err}");
    assert!(err.contains("line 3"), "names the line: {err}");
    assert!(err.contains("tokenz"), "names the key: {err}");
    assert_eq!(r.stdout(), "");
    // A value of the wrong type.
    t.write(".vibe/config.toml", "[map]\ntokens = \"lots\"\n");
    let r = t.run(&["map"]);
    assert_ne!(r.code(), 0);
    let err = r.stderr();
    assert!(
        err.contains(".vibe/config.toml") && err.contains("line 2") && err.contains("tokens"),
        "{err}"
    );
    // A file that is not UTF-8 is a bad file too (exit 2, its line), not a failure to read it.
    t.write(".vibe/config.toml", b"[map]\ntokens = 100 # \xff\n");
    let r = t.run(&["map"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains(".vibe/config.toml: line 2: the file is not UTF-8"),
        "{err}"
    );
    assert!(err.contains("hint: save it as UTF-8"), "{err}");
    // A value of the right type that is no value of its setting fails every command when it is
    // read, with its file and line (helper 98: a bad context.encoding failed only `vibe
    // context`, without its file).
    for (text, line, says) in [
        (
            "[context]\nencoding = \"o300k\"\n",
            2,
            "`context.encoding`: unknown encoding `o300k`; use auto, o200k_base or cl100k_base",
        ),
        (
            "# budget\n[context]\nbudget = 0\n",
            3,
            "`context.budget` is 0: give a number of tokens above 0",
        ),
    ] {
        t.write(".vibe/config.toml", text);
        for args in [&["map"][..], &["tokens", "a.py"], &["context", "x"]] {
            let r = t.run(args);
            assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
            let err = r.stderr();
            assert!(
                err.contains(&format!(".vibe/config.toml: line {line}: {says}")),
                "{args:?}: {err}"
            );
        }
    }
    t.write(".vibe/config.toml", "");
    let r = t.run(&["-c", "context.encoding=foo", "map"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("-c context.encoding=foo: `context.encoding`: unknown encoding `foo`"),
        "{}",
        r.stderr()
    );
}

#[test]
fn bad_environment_value_names_the_variable() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let out = t
        .cmd()
        .env("VIBE_MAP_TOKENS", "abc")
        .arg("map")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("VIBE_MAP_TOKENS"), "{err}");
    assert!(out.stdout.is_empty());
    // And a bad -c value names the key; the hint about the form is for a bad form only.
    let r = t.run(&["-c", "map.tokens=abc", "map"]);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("map.tokens"), "{}", r.stderr());
    assert!(!r.stderr().contains("the form is"), "{}", r.stderr());
    let r = t.run(&["-c", "map.tokens", "map"]);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("the form is"), "{}", r.stderr());
}
