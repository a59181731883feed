//! `vibe map` on the command line: snapshots of the text and JSON maps, budgets, determinism,
//! `--deps` / `--rdeps`, `--stats`, `--help`.

// These files are modules of tests/integration.rs, and cargo also builds each as a test
// target of its own (autotests); the `#[path]` makes the harness resolve the same in both.
#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use vibe::context::tokens::Encoding;

use util::Test;

fn tokens(text: &str) -> usize {
    Encoding::O200kBase.count(text)
}

/// A bigger generated repository: `n` modules in a chain of imports, each with a few
/// definitions, so budgets cut through it at many points.
fn generated(n: usize) -> Test {
    let t = Test::new();
    t.write("pkg/__init__.py", "");
    for i in 0..n {
        let mut s = String::new();
        if i > 0 {
            s.push_str(&format!(
                "from pkg.mod{:03} import Thing{:03}\n",
                i - 1,
                i - 1
            ));
        }
        if i > 1 {
            s.push_str(&format!("from pkg import mod{:03}\n", i / 2));
        }
        s.push_str(&format!(
            "\nLIMIT_{i:03} = {i}\n\n\nclass Thing{i:03}:\n    \"\"\"Thing number {i}.\"\"\"\n\n    def start(self, value: int) -> int:\n        return value + {i}\n\n    def stop(self) -> None:\n        pass\n\n\ndef make_thing_{i:03}(count: int = {i}) -> \"Thing{i:03}\":\n    return Thing{i:03}()\n"
        ));
        t.write(&format!("pkg/mod{i:03}.py"), s);
    }
    t
}

#[test]
fn text_map_snapshot() {
    let t = Test::fixture("python");
    let out = t.run(&["map"]).ok();
    snapshot!("python_text_map", util::redact(&out, t.root()));
}

#[test]
fn json_map_snapshot() {
    let t = Test::fixture("python");
    let out = t.run(&["map", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["schema"], "vibe.map/1");
    snapshot!("python_json_map", util::redact(&out, t.root()));
}

#[test]
fn tiny_budget_holds() {
    let t = Test::fixture("python");
    let out = t.run(&["map", "--tokens", "50"]).ok();
    let n = tokens(&out);
    assert!(n <= 50, "{n} tokens > 50:\n{out}");
    assert!(
        out.starts_with("# repository map: 9 source files"),
        "the header comes first:\n{out}"
    );
    snapshot!("python_text_map_50_tokens", out);
}

/// A budget that holds less than the map's title is an error, whatever else it could hold
/// (helper 98: `--tokens 8` printed a file's line without the title, exit 0).
#[test]
fn a_budget_below_the_title_is_an_error() {
    let t = Test::fixture("python");
    let title = t.run(&["map", "--tokens", "1000"]).ok();
    let title = title.lines().next().unwrap_or_default().to_string();
    let need = tokens(&format!("{title}\n"));
    for b in [1, need - 1] {
        let run = t.run(&["map", "--tokens", &b.to_string()]);
        assert_eq!(run.code(), 2, "--tokens {b}: {}", run.stderr());
        assert!(
            run.stderr().contains(&format!(
                "a map of {b} tokens (--tokens, or map.tokens in the config) holds nothing, not \
                 even its first line ({need} tokens)"
            )),
            "{}",
            run.stderr()
        );
    }
    let out = t.run(&["map", "--tokens", &need.to_string()]).ok();
    assert_eq!(out, format!("{title}\n"));
}

#[test]
fn zero_budget_prints_nothing() {
    let t = Test::fixture("python");
    let out = t.run(&["map", "--tokens", "0"]).ok();
    assert_eq!(out, "");
}

#[test]
fn budget_from_config_and_env() {
    let t = Test::fixture("python");
    let flag = t.run(&["map", "--tokens", "64"]).ok();
    assert!(tokens(&flag) <= 64);
    let cfg = t.run(&["-c", "map.tokens=64", "map"]).ok();
    assert_eq!(cfg, flag);
    let env = t.cmd().env("VIBE_MAP_TOKENS", "64").arg("map").output();
    let env = env.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&env.stdout), flag);
    // The flag wins over the environment.
    let both = t
        .cmd()
        .env("VIBE_MAP_TOKENS", "5000")
        .args(["map", "--tokens", "64"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(String::from_utf8_lossy(&both.stdout), flag);
    // Set but empty is unset: the default budget, not an error.
    let empty = t
        .cmd()
        .env("VIBE_MAP_TOKENS", "")
        .arg("map")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&empty.stdout),
        t.run(&["map"]).ok(),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
}

/// Output tokens never exceed the budget, and a bigger budget shows strictly more until the
/// whole map fits.
fn check_budgets(t: &Test, budgets: &[usize]) {
    let full = t.run(&["map", "--tokens", "1000000"]).ok();
    let full_tokens = tokens(&full);
    let mut prev: Option<(usize, String)> = None;
    for &b in budgets {
        let out = t.run(&["map", "--tokens", &b.to_string()]).ok();
        let n = tokens(&out);
        assert!(n <= b, "budget {b}: {n} tokens\n{out}");
        if b >= full_tokens {
            assert_eq!(out, full, "budget {b} ≥ {full_tokens}: the whole map");
        }
        if let Some((pb, pout)) = &prev {
            let pn = tokens(pout);
            if *pout == full {
                assert_eq!(out, full, "budget {b} after {pb} fitted everything");
            } else {
                assert!(
                    n > pn,
                    "budget {b} gave {n} tokens, budget {pb} gave {pn}: not bigger\n{out}"
                );
            }
        }
        prev = Some((b, out));
    }
}

#[test]
fn budgets_hold_on_the_fixture() {
    let t = Test::fixture("python");
    check_budgets(&t, &[20, 64, 200, 1000, 2048, 5000]);
}

#[test]
fn budgets_hold_on_a_bigger_repo() {
    let t = generated(80);
    check_budgets(&t, &[20, 64, 200, 1000, 2048, 5000, 20000]);
    // The default budget is 2048.
    let out = t.run(&["map"]).ok();
    assert!(tokens(&out) <= 2048);
    assert_eq!(out, t.run(&["map", "--tokens", "2048"]).ok());
    assert!(
        tokens(&out) > 1900,
        "the default budget should be nearly used on an 80-file repo: {} tokens",
        tokens(&out)
    );
}

#[test]
fn map_is_deterministic() {
    let t = Test::fixture("python");
    let a = t.run(&["map"]).ok();
    let b = t.run(&["map"]).ok();
    assert_eq!(a, b);
    let ja = t.run(&["map", "--json"]).ok();
    let jb = t.run(&["map", "--json"]).ok();
    assert_eq!(ja, jb);
    std::fs::remove_dir_all(t.root().join(".vibe")).unwrap_or_else(|e| panic!("{e}"));
    let c = t.run(&["map"]).ok();
    assert_eq!(a, c, "the map after rebuilding .vibe differs");
    std::fs::remove_dir_all(t.root().join(".vibe")).unwrap_or_else(|e| panic!("{e}"));
    let jc = t.run(&["map", "--json"]).ok();
    assert_eq!(ja, jc, "the JSON map after rebuilding .vibe differs");
    // Another copy in another directory: the same map, and the same JSON but for the root.
    let u = Test::fixture("python");
    assert_eq!(u.run(&["map"]).ok(), a);
    assert_eq!(
        util::redact(&u.run(&["map", "--json"]).ok(), u.root()),
        util::redact(&ja, t.root())
    );
}

#[test]
fn deps_text_and_json() {
    let t = Test::fixture("python");
    let out = t
        .run(&["map", "--deps", "src/mypkg/cli.py", "--depth", "2"])
        .ok();
    assert_eq!(
        out,
        "src/mypkg/__init__.py\nsrc/mypkg/core.py\nsrc/mypkg/util.py\n  src/mypkg/sub/mod.py\nsys (external)\n"
    );
    // Depth 1 by default; `./` and absolute paths name the same file.
    let one = t.run(&["map", "--deps", "./src/mypkg/cli.py"]).ok();
    assert_eq!(
        one,
        "src/mypkg/__init__.py\nsrc/mypkg/core.py\nsrc/mypkg/util.py\nsys (external)\n"
    );
    let abs = t.root().join("src/mypkg/cli.py");
    let abs = t.run(&["map", "--deps", &abs.display().to_string()]).ok();
    assert_eq!(abs, one);
    let json = t
        .run(&[
            "map",
            "--deps",
            "src/mypkg/cli.py",
            "--depth",
            "2",
            "--json",
        ])
        .json();
    assert_eq!(
        json,
        serde_json::json!({
            "schema": "vibe.deps/1",
            "file": "src/mypkg/cli.py",
            "direction": "deps",
            "depth": 2,
            "files": [
                {"path": "src/mypkg/__init__.py", "depth": 1},
                {"path": "src/mypkg/core.py", "depth": 1},
                {"path": "src/mypkg/util.py", "depth": 1},
                {"path": "src/mypkg/sub/mod.py", "depth": 2},
            ],
            "externals": ["sys"],
        })
    );
}

#[test]
fn rdeps_text_and_json() {
    let t = Test::fixture("python");
    let out = t
        .run(&["map", "--rdeps", "src/mypkg/util.py", "--depth", "2"])
        .ok();
    assert_eq!(
        out,
        "src/mypkg/__init__.py\nsrc/mypkg/cli.py\nsrc/mypkg/core.py\nsrc/mypkg/sub/mod.py\n  scripts/report.py\n  src/mypkg/__main__.py\n  tests/test_core.py\n"
    );
    let json = t
        .run(&[
            "map",
            "--rdeps",
            "src/mypkg/util.py",
            "--depth",
            "2",
            "--json",
        ])
        .json();
    assert_eq!(
        json,
        serde_json::json!({
            "schema": "vibe.deps/1",
            "file": "src/mypkg/util.py",
            "direction": "rdeps",
            "depth": 2,
            "files": [
                {"path": "src/mypkg/__init__.py", "depth": 1},
                {"path": "src/mypkg/cli.py", "depth": 1},
                {"path": "src/mypkg/core.py", "depth": 1},
                {"path": "src/mypkg/sub/mod.py", "depth": 1},
                {"path": "scripts/report.py", "depth": 2},
                {"path": "src/mypkg/__main__.py", "depth": 2},
                {"path": "tests/test_core.py", "depth": 2},
            ],
        })
    );
    // Nobody imports the entry point; a leaf has no deps.
    assert_eq!(t.run(&["map", "--rdeps", "src/mypkg/__main__.py"]).ok(), "");
    assert_eq!(t.run(&["map", "--deps", "src/mypkg/util.py"]).ok(), "");
}

#[test]
fn deps_of_a_file_not_in_the_index() {
    let t = Test::fixture("python");
    for flag in ["--deps", "--rdeps"] {
        let r = t.run(&["map", flag, "src/mypkg/nope.py"]);
        assert_eq!(r.code(), 2, "{flag}: {}", r.stderr());
        assert!(
            r.stderr().contains("src/mypkg/nope.py"),
            "{flag}: the message names the file: {}",
            r.stderr()
        );
        assert_eq!(r.stdout(), "");
    }
    let r = t.run(&["map", "--deps", "src/mypkg/cli.py", "--depth", "0"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("--depth"), "{}", r.stderr());
}

#[test]
fn stats_text_and_json() {
    let t = Test::fixture("python");
    let out = t.run(&["map", "--stats"]).ok();
    let root = std::fs::canonicalize(t.root()).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("index: {}/.vibe/index.db (", root.display())),
        "{out}"
    );
    assert_eq!(lines[1], "files: 11 (source 9, other text 2, skipped 0)");
    assert_eq!(
        lines[2],
        "  python             9 files         102 lines     1.7 KiB"
    );
    assert_eq!(lines[3], "other text: markdown 1, toml 1");
    assert_eq!(lines[4], "parse errors: 0 files");
    assert_eq!(
        lines[5],
        "symbols: 16 · imports: 16 · edges: 11 · external packages: 5"
    );
    assert!(
        lines[6].starts_with(
            "this run: 11 seen, 0 unchanged, 0 re-hashed, 11 added, 0 changed, 0 deleted, 9 parsed ("
        ),
        "{out}"
    );
    assert!(lines[7].starts_with("timings (ms): open "), "{out}");
    assert_eq!(lines.len(), 8, "{out}");

    let json = t.run(&["map", "--stats", "--json"]).json();
    assert_eq!(json["schema"], "vibe.map.stats/1");
    assert_eq!(json["stats"]["files"], 11);
    assert_eq!(json["run"]["files_seen"], 11);
    assert_eq!(json["run"]["parsed"], 0);
    assert!(json["index_bytes"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn help_works() {
    let t = Test::new();
    for args in [&["--help"][..], &["map", "--help"], &["help", "map"]] {
        let r = t.run(args);
        assert_eq!(r.code(), 0, "{args:?}: {}", r.stderr());
        let out = r.stdout();
        assert!(out.contains("Usage: vibe"), "{args:?}: {out}");
        if args.contains(&"map") {
            for flag in [
                "--tokens", "--json", "--stats", "--deps", "--rdeps", "--depth",
            ] {
                assert!(out.contains(flag), "{args:?}: {flag} missing\n{out}");
            }
        } else {
            assert!(out.contains("map"), "{out}");
            assert!(out.contains("-C"), "{out}");
        }
    }
    let r = t.run(&["--version"]);
    assert_eq!(r.code(), 0);
    assert!(r.stdout().starts_with("vibe "), "{}", r.stdout());
    // Unknown flags are usage errors.
    assert_eq!(t.run(&["map", "--nope"]).code(), 2);
    assert_eq!(t.run(&["map", "--stats", "--deps", "x.py"]).code(), 2);
    assert_eq!(t.run(&["map", "--tokens", "many"]).code(), 2);
    // A depth with nothing to follow is a mistake too (it was ignored).
    let r = t.run(&["map", "--depth", "3"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("--deps"), "{}", r.stderr());
}

/// `vibe map --json` run by `cmd`, which must succeed.
fn map_json(mut cmd: std::process::Command) -> util::Run {
    let r = util::Run {
        output: cmd
            .args(["map", "--json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
    };
    r.ok();
    r
}

/// The paths `vibe map --json` lists, run by `cmd`.
fn mapped(cmd: std::process::Command) -> Vec<String> {
    let r = map_json(cmd);
    r.json()["files"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.stdout()))
        .iter()
        .map(|f| f["path"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A tree that an enclosing repository leaves out (a project unpacked in a home directory kept
/// in git, whose `.gitignore` says `*`; an ignored vendor directory) is read with its own
/// ignore files, and run in without `-C` its project directory is the root; a repository of
/// its own inside is read as git reads it, without the ignore files above its top. A directory
/// of a repository is still read with the repository's ignore files (a worktree's shared
/// `info/exclude` too), and an ignored build directory without a project of its own is still
/// the repository's. Before, the first two read no file at all, and run in without `-C` vibe
/// indexed the enclosing repository instead.
#[test]
fn a_tree_its_enclosing_repository_leaves_out_is_read_with_its_own_ignore_files() {
    let t = Test::new();
    util::git(t.root(), &["init", "-q"]);
    t.write(".gitignore", "*\n!.gitignore\n");
    t.write("home.py", "def home(): pass\n");
    t.write("dl/proj/.gitignore", "build/\n");
    t.write("dl/proj/src/app.py", "def app(): pass\n");
    t.write("dl/proj/build/gen.py", "def gen(): pass\n");
    t.write("own/lib.py", "def lib(): pass\n");
    util::git(&t.root().join("own"), &["init", "-q"]);
    let proj = t.root().join("dl/proj");
    assert_eq!(mapped(t.cmd_in(&proj.join("src"))), ["src/app.py"]);
    assert!(proj.join(".vibe").is_dir());
    assert!(!t.root().join(".vibe").exists());
    assert_eq!(mapped(t.cmd_in(&proj)), ["src/app.py"]);
    assert_eq!(mapped(t.cmd_on(&proj)), ["src/app.py"]);
    assert_eq!(mapped(t.cmd_on(&t.root().join("own"))), ["lib.py"]);
    // A directory the repository reads: its patterns count, and so does the root found. An
    // ignored build directory is the repository's (`target/debug`), and so is one that looks
    // like a project (CMake writes a Makefile), a virtual environment (its `.gitignore` says
    // `*`), or a directory the repository tracks files in.
    t.write(".gitignore", "*.log\ntarget/\nbuild/\n.venv/\nvendor/\n");
    t.write("sub/a.py", "def a(): pass\n");
    t.write("sub/x.log", "log\n");
    t.write("target/debug/out.py", "def out(): pass\n");
    t.write("build/Makefile", "all:\n");
    t.write("build/CMakeCache.txt", "");
    t.write(".venv/.gitignore", "*\n");
    t.write(".venv/lib/v.py", "");
    t.write("vendor/dep/README.md", "# dep\n");
    t.write("vendor/dep/d.py", "def d(): pass\n");
    util::git(t.root(), &["add", "-f", "vendor/dep/d.py"]);
    let top = t.root().canonicalize().unwrap_or_default();
    for dir in ["build", ".venv/lib", "vendor/dep"] {
        let run = map_json(t.cmd_in(&t.root().join(dir)));
        assert_eq!(run.json()["root"].as_str(), top.to_str(), "{dir}");
        // Found again, not by the index the run made.
        std::fs::remove_dir_all(t.root().join(".vibe")).unwrap_or_else(|e| panic!("{e}"));
    }
    util::git(t.root(), &["rm", "-q", "--cached", "vendor/dep/d.py"]);
    let from_target = mapped(t.cmd_in(&t.root().join("target/debug")));
    assert!(
        from_target.contains(&"sub/a.py".to_string()),
        "{from_target:?}"
    );
    let sub = t.root().join("sub");
    let from_sub = mapped(t.cmd_in(&sub));
    assert!(from_sub.contains(&"sub/a.py".to_string()), "{from_sub:?}");
    assert!(
        !from_sub.iter().any(|p| p.ends_with(".log")),
        "{from_sub:?}"
    );
    // Walked from the repository's top, the entries on the way there are not the directory's:
    // no warning for a link to nothing beside it, nor a loop through a link out of it.
    std::os::unix::fs::symlink("/nonexistent/vibe", t.root().join("broken.py"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("..", sub.join("up")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map_json(t.cmd_on(&sub)).stderr(), "");
    assert_eq!(mapped(t.cmd_on(&sub)), ["a.py"]);
    // A worktree's `info/exclude` is the main repository's.
    util::git(t.root(), &["add", "sub/a.py"]);
    util::git(t.root(), &["commit", "-qm", "a"]);
    util::git(t.root(), &["worktree", "add", "-q", "wt"]);
    std::fs::write(t.root().join(".git/info/exclude"), "scratch/\n")
        .unwrap_or_else(|e| panic!("{e}"));
    t.write("wt/scratch/p/s.py", "def s(): pass\n");
    assert_eq!(mapped(t.cmd_on(&t.root().join("wt/scratch/p"))), ["s.py"]);
}

/// The root found without `-C` does not depend on which runs came before: a `.vibe/` vibe made
/// for an index run (at a repository's top, or with `-C` into one of its directories) marks no
/// root, one the user made or `vibe init` wrote a config in does; in a tree without git the
/// index vibe made at its top is still found. Of a project a repository leaves out, the
/// highest directory that looks like one is the root (an autotools tree whose `src/` has its
/// own Makefile). A repository at the user's home directory is not the root of the
/// directories below it (dotfiles kept in git, other files untracked but not ignored).
#[test]
fn the_root_found_does_not_depend_on_the_runs_before() {
    let t = Test::new();
    util::git(t.root(), &["init", "-q"]);
    t.write(".gitignore", "vendor/\nhello/\n");
    t.write("app.py", "def app(): pass\n");
    t.write("src/main.py", "def main(): pass\n");
    t.write("vendor/README.md", "# what is vendored\n");
    t.write("vendor/libfoo/README.md", "# libfoo\n");
    t.write("vendor/libfoo/src/parse.py", "def foo_parse(): pass\n");
    t.write("hello/README", "hello\n");
    t.write("hello/Makefile", "all:\n\t$(MAKE) -C src\n");
    t.write("hello/src/Makefile", "all:\n\tcc main.c\n");
    t.write("hello/src/main.c", "int main(void) { return 0; }\n");
    t.write("hello/lib/util.h", "int util(void);\n");
    let top = t.root().canonicalize().unwrap_or_default();
    let root_of = |dir: &str| found_root(t.cmd_in(&top.join(dir)), &top);
    assert_eq!(root_of("vendor/libfoo/src"), "vendor/libfoo");
    // A run at the top makes its index there; the left-out project is still its own.
    assert_eq!(root_of(""), "");
    assert!(top.join(".vibe").is_dir());
    std::fs::remove_dir_all(top.join("vendor/libfoo/.vibe")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(root_of("vendor/libfoo/src"), "vendor/libfoo");
    // The highest directory that looks like a project, not the nearest.
    assert_eq!(root_of("hello/src"), "hello");
    // An index made with -C in a directory of the repository does not make it a root.
    map_json(t.cmd_on(&top.join("src")));
    assert!(top.join("src/.vibe").is_dir());
    assert_eq!(root_of("src"), "");
    // One the user made does, and so does a config `vibe init` wrote.
    std::fs::remove_dir_all(top.join("src/.vibe")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(top.join("src/.vibe")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(root_of("src"), "src");
    std::fs::remove_dir_all(top.join("src/.vibe")).unwrap_or_else(|e| panic!("{e}"));
    map_json(t.cmd_on(&top.join("src")));
    t.write("src/.vibe/config.toml", "");
    assert_eq!(root_of("src"), "src");

    // A tree without git: the index vibe made at its top is found from below it.
    let plain = Test::new();
    plain.write("proj/pkg/a.py", "def a(): pass\n");
    let above = plain.root().canonicalize().unwrap_or_default();
    map_json(plain.cmd_in(&above.join("proj")));
    assert_eq!(
        found_root(plain.cmd_in(&above.join("proj/pkg")), &above),
        "proj"
    );
    // One vibe made in the home directory is no root for the trees below it.
    plain.write("proj2/src/b.py", "def b(): pass\n");
    let at_home = |dir: &str| {
        let mut c = plain.cmd_in(&above.join(dir));
        c.env("HOME", &above);
        c
    };
    assert_eq!(found_root(at_home(""), &above), "");
    assert!(above.join(".vibe").is_dir());
    assert_eq!(found_root(at_home("proj2/src"), &above), "proj2/src");

    // A home directory kept in git, its other files untracked and not ignored.
    let home = Test::new();
    util::git(home.root(), &["init", "-q"]);
    home.write(".bashrc", "alias ll='ls -l'\n");
    home.write("Documents/taxes.md", "# Tax return\nrefund summary\n");
    home.write("proj/pyproject.toml", "[project]\n");
    home.write("proj/src/report.py", "def summary_report(): pass\n");
    home.write("notes/todo.py", "def todo(): pass\n");
    let h = home.root().canonicalize().unwrap_or_default();
    let in_home = |dir: &str| {
        let mut c = home.cmd_in(&h.join(dir));
        c.env("HOME", &h);
        found_root(c, &h)
    };
    assert_eq!(in_home("proj/src"), "proj");
    assert_eq!(in_home("notes"), "notes");
    assert_eq!(in_home(""), "");
    // The home's repository is still the root of the files it tracks (HOME=/app in a
    // container, the repository cloned there).
    home.write("packages/web/package.json", "{}\n");
    home.write("packages/web/src/app.js", "export const a = 1;\n");
    home.write("package.json", "{}\n");
    util::git(home.root(), &["add", "packages", "package.json"]);
    assert_eq!(in_home("packages/web/src"), "");
}

/// The root `vibe map --json` run by `cmd` says it found, relative to `above`.
fn found_root(cmd: std::process::Command, above: &std::path::Path) -> String {
    let run = map_json(cmd);
    let root = run.json()["root"].as_str().unwrap_or_default().to_string();
    root.strip_prefix(above.to_str().unwrap_or_default())
        .unwrap_or(&root)
        .trim_start_matches('/')
        .to_string()
}

/// Files git tracks though its ignore patterns match them (a `.gitignore` written after they
/// were committed, a file added with `--force`) are indexed, as git keeps them; vibe's own rules
/// (`.vibeignore`, `map.exclude`, hidden names) still leave them out, and so do the patterns for
/// ignored files git does not track. Before, `config.h` under a `config.h` pattern was never
/// indexed, so no task could find it.
#[test]
fn files_git_tracks_though_ignored_are_indexed() {
    let t = Test::new();
    util::git(t.root(), &["init", "-q"]);
    t.write(".gitignore", "lib/\nconfig.h\n.hidden/\n");
    t.write(".vibeignore", "lib/skip.py\n");
    let tracked = [
        "config.h",
        "lib/a.py",
        "lib/skip.py",
        "lib/drop.py",
        ".hidden/t.py",
        "main.py",
    ];
    for f in tracked.iter().chain(&["lib/untracked.py", "sub/config.h"]) {
        t.write(f, "int x;\n");
    }
    let mut add = vec!["add", "-f"];
    add.extend(tracked);
    util::git(t.root(), &add);
    let mut cmd = t.cmd();
    cmd.args(["-c", "map.exclude=[\"lib/drop.py\"]"]);
    assert_eq!(mapped(cmd), ["config.h", "lib/a.py", "main.py"]);
    // Untracked again: left out again.
    util::git(t.root(), &["rm", "-q", "--cached", "lib/a.py"]);
    assert_eq!(mapped(t.cmd()), ["config.h", "lib/drop.py", "main.py"]);
    // Never through a link out of the root: the tracked directory replaced by one.
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for f in ["a.py", "skip.py", "drop.py", "untracked.py"] {
        std::fs::write(outside.path().join(f), "secret = 1\n").unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::remove_dir_all(t.root().join("lib")).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(outside.path(), t.root().join("lib"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mapped(t.cmd()), ["config.h", "main.py"]);
}
