//! `vibe watch`: edits, new files, deletions, renames and editor-style saves (write a temp
//! file, rename it over) each update the index, which ends equal to a fresh index of the same
//! tree.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value;

use crate::util::{Test, copy_tree};

/// (path, content hash, rank) of every indexed file, straight from the index (no refresh).
fn indexed(root: &Path) -> Vec<(String, Option<Vec<u8>>, String)> {
    let store = vibe::store::Store::open(root, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let reader = store.read().unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<_> = reader
        .files()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|f| (f.path, f.hash, format!("{:.6}", f.rank)))
        .collect();
    files.sort();
    files
}

/// The content hash the index holds for `path`; `None` when it is not indexed.
fn indexed_hash(root: &Path, path: &str) -> Option<Option<Vec<u8>>> {
    indexed(root).into_iter().find(|f| f.0 == path).map(|f| f.1)
}

/// Writes `text` to `path` and waits until the index holds what it was changed to. (An edit
/// that comes before a new directory's watch is found by the run its registration starts, whose
/// update names no path: the index is asked, not the updates.)
fn edit_lands(t: &Test, path: &str, text: &str) {
    let before = indexed_hash(t.root(), path);
    t.write(path, text);
    wait_for(30, &format!("the edit of {path} indexed"), || {
        indexed_hash(t.root(), path) != before
    });
}

struct Watching {
    child: std::process::Child,
    lines: Receiver<Value>,
    /// Everything vibe wrote to stderr so far.
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Waits up to `secs` for `cond`, polling.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Watching {
    /// `vibe watch --json` on the test's root, once it is ready.
    fn start(t: &Test) -> Watching {
        let w = Watching::spawn(t.cmd(), true);
        let ready = w.next();
        assert_eq!(ready["ready"], true, "{ready}");
        w
    }

    /// Runs `c` with `watch` (`--json` if `json`) and stdout and stderr piped; stdout lines
    /// arrive as JSON values, or as `{"text": line}` in text mode.
    fn spawn(mut c: std::process::Command, json: bool) -> Watching {
        c.arg("watch");
        if json {
            c.arg("--json");
        }
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v = if json {
                    serde_json::from_str::<Value>(&line).ok()
                } else {
                    Some(serde_json::json!({ "text": line }))
                };
                if let Some(v) = v
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let into = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = into.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        Watching {
            child,
            lines: rx,
            stderr,
        }
    }

    fn next(&self) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no update from vibe watch: {e}\n{}", self.stderr()))
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits for updates until one mentions `path`.
    fn until(&self, path: &str) -> Value {
        self.until_secs(path, 30)
    }

    fn until_secs(&self, path: &str, secs: u64) -> Value {
        let start = std::time::Instant::now();
        loop {
            let left = Duration::from_secs(secs).saturating_sub(start.elapsed());
            let u = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no update mentioning {path} from vibe watch: {e}\nstderr:\n{}",
                    self.stderr()
                )
            });
            if u["paths"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p == path)
            {
                return u;
            }
        }
    }

    /// Waits up to 30 s for vibe to exit and returns its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "vibe watch is still running\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that the index of `t`'s root holds what a fresh `vibe map` of a copy of its tree
/// would: the same files with the same content hashes and ranks.
fn assert_index_is_fresh(t: &Test) {
    let fresh = tempfile::tempdir().expect("tempdir");
    copy_tree(t.root(), fresh.path());
    let _ = std::fs::remove_dir_all(fresh.path().join(".vibe"));
    if t.root().join(".vibe/config.toml").exists() {
        std::fs::create_dir_all(fresh.path().join(".vibe")).expect("mkdir");
        std::fs::copy(
            t.root().join(".vibe/config.toml"),
            fresh.path().join(".vibe/config.toml"),
        )
        .expect("copy config");
    }
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
        .args([
            "-C",
            &fresh.path().display().to_string(),
            "map",
            "--tokens",
            "0",
        ])
        .env("VIBE_HOME", t.home.path())
        .env("TMPDIR", t.tmp.path())
        .output()
        .expect("map");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(indexed(t.root()), indexed(fresh.path()));
}

#[test]
fn edits_creates_deletes_and_renames_keep_the_index_equal_to_a_fresh_one() {
    let t = Test::fixture("python");
    t.write(".gitignore", "ignored/\n");
    let w = Watching::start(&t);
    let core = "src/mypkg/core.py";

    t.write(
        core,
        format!(
            "{}\n\ndef added_later():\n    return 1\n",
            std::fs::read_to_string(t.root().join(core)).unwrap_or_default()
        ),
    );
    let u = w.until(core);
    assert_eq!(
        (u["changed"].as_u64(), u["parsed"].as_u64()),
        (Some(1), Some(1)),
        "{u}"
    );

    t.write(
        "src/mypkg/fresh.py",
        "from mypkg.core import Engine\n\ndef build():\n    return Engine()\n",
    );
    let u = w.until("src/mypkg/fresh.py");
    assert_eq!(u["added"], 1, "{u}");

    std::fs::rename(
        t.root().join("src/mypkg/fresh.py"),
        t.root().join("src/mypkg/renamed.py"),
    )
    .expect("rename");
    let u = w.until("src/mypkg/renamed.py");
    assert!(
        u["added"].as_u64() == Some(1) || u["deleted"].as_u64() == Some(1),
        "{u}"
    );

    // An editor's save: a temp file renamed over the original.
    let tmp = t.root().join("src/mypkg/.core.py.swp");
    std::fs::write(&tmp, "def only_this():\n    return 2\n").expect("write");
    std::fs::rename(&tmp, t.root().join(core)).expect("rename");
    w.until(core);

    std::fs::remove_file(t.root().join("src/mypkg/renamed.py")).expect("remove");
    let u = w.until("src/mypkg/renamed.py");
    assert_eq!(u["deleted"], 1, "{u}");

    // Ignored and hidden paths are not indexed (the run's walk skips them).
    t.write(".hidden/x.py", "x = 1\n");
    t.write("ignored/y.py", "y = 1\n");
    t.write("notes.py", "z = 2\n");
    let u = w.until("notes.py");
    assert_eq!(u["added"], 1, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// A build writing an ignored directory (`target/`, `node_modules/`), a hidden one or one
/// `map.exclude` names started an index run per burst, each a walk of the whole tree that
/// found nothing: now such changes wait for 2 s of quiet or another change. What a symlink
/// leads to is still seen at once, ignored as it may be; a link the last run could not follow
/// (its file made later) waits, and is seen.
#[test]
fn changes_the_walk_does_not_read_wait_for_quiet() {
    let t = Test::new();
    t.write(".gitignore", "target/\nnode_modules/\n");
    t.write(".vibe/config.toml", "[map]\nexclude = [\"gen/\"]\n");
    t.write("main.py", "M = 1\n");
    t.write("shared/real.py", "R = 1\n");
    t.write(".gitignore", "target/\nnode_modules/\nshared/\n");
    std::os::unix::fs::symlink("shared/real.py", t.root().join("alias.py")).expect("symlink");
    std::os::unix::fs::symlink("target/gen.py", t.root().join("later.py")).expect("symlink");
    let mut c = t.cmd();
    c.arg("-v");
    let w = Watching::spawn(c, true);
    assert_eq!(w.next()["ready"], true);
    let runs = |w: &Watching| w.stderr().matches("watch: index run").count();
    for i in 0..20 {
        t.write(&format!("target/debug/deps/m{i}.o"), "object");
        t.write(&format!("node_modules/p{i}/index.js"), "x = 1");
        t.write(&format!("node_modules/p{i}/.gitignore"), "*.tmp");
        t.write(&format!(".cache/c{i}"), "c");
        t.write(&format!("gen/g{i}.py"), "G = 1\n");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Past the debounce of the last of those, then a change that is indexed.
    std::thread::sleep(Duration::from_millis(400));
    t.write("main.py", "M = 2\n");
    let u = w.until("main.py");
    assert_eq!(u["changed"], 1, "{u}");
    // (stderr is read by another thread than stdout.)
    wait_for(10, "the run's log line", || runs(&w) >= 1);
    assert_eq!(runs(&w), 1, "{}", w.stderr());
    // Through the link, a change in the ignored directory is one.
    t.write("shared/real.py", "R = 2\nS = 3\n");
    let u = w.until("shared/real.py");
    assert_eq!(u["changed"], 1, "{u}");
    // The file a dangling link waited for: judged ignored, run after the quiet.
    let made = std::time::Instant::now();
    t.write("target/gen.py", "GEN = 1\n");
    let u = w.until("target/gen.py");
    assert_eq!(u["added"], 1, "{u}");
    assert!(made.elapsed() >= Duration::from_secs(2), "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

#[test]
fn a_mass_change_is_one_or_few_runs_that_end_right() {
    let t = Test::new();
    t.write("seed.py", "X = 0\n");
    let w = Watching::start(&t);
    for i in 0..300 {
        t.write(
            &format!("pkg/m{i:03}.py"),
            format!("def f{i}():\n    return {i}\n"),
        );
    }
    let mut added = 0;
    while added < 300 {
        let u = w.next();
        added += u["added"].as_u64().unwrap_or(0);
    }
    assert_eq!(added, 300);
    drop(w);
    assert_eq!(indexed(t.root()).len(), 301);
}

/// Waits up to 30 s for `child` to exit and returns its exit code.
fn exit_code(child: &mut std::process::Child) -> Option<i32> {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vibe watch is still running 30 s after its reader went");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The repository root moved away or deleted under `vibe watch`: inotify went on reporting the
/// moved tree under the old path, and each run recreated `<old root>/.vibe/index.db` and went
/// on with an empty index. The watch must end with an error naming the root instead.
#[test]
fn moving_or_deleting_the_root_ends_watch_without_recreating_it() {
    for how in ["move", "delete"] {
        let t = Test::new();
        let repo = t.root().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        std::fs::write(repo.join("a.py"), "A = 1\n").expect("write");
        let shown = std::fs::canonicalize(&repo).expect("canonicalize");
        let mut w = Watching::spawn(t.cmd_on(&repo), true);
        assert_eq!(w.next()["ready"], true);
        if how == "move" {
            let moved = t.root().join("moved");
            std::fs::rename(&repo, &moved).expect("rename");
            // Events of the moved tree, which the watcher reports under the old path.
            std::fs::write(moved.join("b.py"), "B = 1\n").expect("write");
        } else {
            std::fs::remove_dir_all(&repo).expect("remove");
        }
        let code = w.exit_code();
        wait_for(10, "the error on stderr", || w.stderr().contains("error:"));
        let err = w.stderr();
        assert_eq!(code, Some(1), "{how}: {err}");
        assert!(
            err.contains(&format!("{} no longer exists", shown.display()))
                && err.contains("hint: run vibe watch again"),
            "{how}: {err}"
        );
        assert!(!repo.exists(), "{how}: the old root was recreated");
    }
}

/// An update that failed ("database is locked", or any error) forgot its paths: the index
/// stayed stale until another file changed. It must be retried until it succeeds.
#[test]
fn a_failed_update_is_retried_until_it_succeeds() {
    let t = Test::new();
    t.write("seed.py", "X = 0\n");
    let w = Watching::start(&t);
    // The index cannot be opened: its file is a directory, and the place in VIBE_HOME an
    // unwritable tree's index goes to is blocked by a file (permissions do not stop root).
    std::fs::write(t.home.path().join("indexes"), "").expect("write");
    let db = t.root().join(".vibe/index.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::create_dir(&db).expect("mkdir");
    t.write("a.py", "A = 1\n");
    wait_for(30, "the failed update on stderr", || {
        w.stderr().contains("the index update failed")
    });
    // The failure is said once, with the retry it waits for.
    assert!(
        w.stderr().contains("vibe watch tries again in 1 s"),
        "{}",
        w.stderr()
    );
    // Fixed, with no other change in the tree: the retry brings a.py in.
    std::fs::remove_dir(&db).expect("rmdir");
    let u = w.until("a.py");
    assert_eq!(u["files"], 2, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// `vibe watch | head -1` hung until a file changed: a closed pipe was noticed only by the
/// next update's write, and a failed write of the ready line was ignored.
#[test]
fn a_closed_pipe_ends_watch_while_idle() {
    let t = Test::new();
    t.write("a.py", "A = 1\n");
    for read_ready_line in [true, false] {
        let mut child = t
            .cmd()
            .arg("watch")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        if read_ready_line {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).expect("read");
            assert!(line.starts_with("watching "), "{line}");
        } else {
            drop(stdout);
        }
        // No file changes: vibe must see the reader gone by itself.
        let code = exit_code(&mut child);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read");
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(err, "");
    }
}

/// Edits to ignore files (nested ones too) and to `.vibe/config.toml` were dropped as hidden,
/// and the watcher's own filter, built once from the root's ignore files and the config of the
/// start, dropped a file a nested `.gitignore` re-includes. Every such edit must leave the
/// index equal to a fresh `vibe map`; a config that does not load is a warning and the
/// previous one stays.
#[test]
fn ignore_files_and_the_config_edited_during_watch_apply_at_once() {
    let t = Test::new();
    t.write(".gitignore", "*.gen.py\n");
    t.write("sub/.gitignore", "!keep.gen.py\n");
    t.write("main.py", "M = 1\n");
    t.write("build/out.py", "B = 1\n");
    t.write("gen/x.py", "G = 1\n");
    let w = Watching::start(&t);

    t.write("sub/keep.gen.py", "K = 1\n");
    t.write("sub/drop.gen.py", "D = 1\n");
    let u = w.until("sub/keep.gen.py");
    assert_eq!(u["added"], 1, "{u}");

    t.write(".gitignore", "*.gen.py\nbuild/\n");
    let u = w.until(".gitignore");
    assert_eq!(u["deleted"], 1, "{u}");

    t.write("sub/.gitignore", "# nothing re-included\n");
    let u = w.until("sub/.gitignore");
    assert_eq!(u["deleted"], 1, "{u}");

    t.write(".vibe/config.toml", "[map]\nexclude = [\"gen/\"]\n");
    let u = w.until(".vibe/config.toml");
    assert_eq!(u["deleted"], 1, "{u}");

    t.write(".vibe/config.toml", "[map\nexclude = [\n");
    let u = w.until(".vibe/config.toml");
    let warnings = u["warnings"].to_string();
    assert!(
        warnings.contains("config.toml") && warnings.contains("keeps the previous configuration"),
        "{u}"
    );
    assert_eq!(
        (&u["added"], &u["changed"], &u["deleted"]),
        (&Value::from(0), &Value::from(0), &Value::from(0)),
        "{u}"
    );

    t.write(".vibe/config.toml", "[map]\nexclude = []\n");
    let u = w.until(".vibe/config.toml");
    assert_eq!(u["added"], 1, "{u}");
    assert_eq!(u["warnings"], serde_json::json!([]), "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// The warnings of the runs (broken symlinks, unreadable files, the index kept elsewhere) were
/// dropped: they go to stderr in text mode, and into `warnings` with --json, once each.
#[test]
fn warnings_of_an_update_are_shown() {
    let t = Test::new();
    t.write("a.py", "A = 1\n");
    let w = Watching::start(&t);
    std::os::unix::fs::symlink("missing.py", t.root().join("dangling.py")).expect("symlink");
    let u = w.until("dangling.py");
    assert!(u["warnings"].to_string().contains("dangling.py"), "{u}");
    drop(w);

    let w = Watching::spawn(t.cmd(), false);
    let ready = w.next();
    assert!(
        ready["text"]
            .as_str()
            .is_some_and(|l| l.starts_with("watching "))
    );
    // The first run's warnings are said as it starts.
    wait_for(10, "the first run's warning", || {
        w.stderr().contains("dangling.py")
    });
    std::os::unix::fs::symlink("gone.py", t.root().join("dangling2.py")).expect("symlink");
    wait_for(30, "a warning about dangling2.py", || {
        w.stderr()
            .lines()
            .any(|l| l.starts_with("warning: ") && l.contains("dangling2.py"))
    });
    assert_eq!(
        w.stderr().matches("dangling.py").count(),
        1,
        "{}",
        w.stderr()
    );
}

/// Text mode said "… and 17 more" for 50 changed files (the paths were cut to 20 before they
/// were counted), and a name with a newline split the line.
#[test]
fn text_lines_count_every_changed_path_and_quote_odd_names() {
    let t = Test::new();
    t.write("seed.py", "X = 0\n");
    let w = Watching::spawn(t.cmd(), false);
    assert!(
        w.next()["text"]
            .as_str()
            .is_some_and(|l| l.starts_with("watching "))
    );
    for i in 0..50 {
        t.write(&format!("m{i:02}.py"), format!("V{i} = {i}\n"));
    }
    let mut added = 0;
    while added < 50 {
        let u = w.next();
        let line = u["text"].as_str().unwrap_or_default().to_string();
        let n: usize = line
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        let (_, list) = line.split_once(" after the last change: ").expect("paths");
        let (list, more) = match list.rsplit_once(" and ") {
            Some((l, m)) => (l, m.trim_end_matches(" more").parse().expect("more")),
            None => (list, 0),
        };
        // Every added file was reported by the watcher (a path may be reported for a file
        // the run before already added).
        assert!(list.split(", ").count() + more >= n, "{line}");
        added += n;
    }
    assert_eq!(added, 50);

    t.write("odd\nname.py", "O = 1\n");
    let u = w.next();
    let line = u["text"].as_str().unwrap_or_default();
    assert!(line.ends_with(r#": "odd\nname.py""#), "{line}");
}

/// A directory reached through a link too (`node_modules/foo -> ../packages/foo`, as npm and
/// pnpm workspaces link packages) shared one inotify watch with the link, and deleting the
/// link (as `npm install` does) lost it: later edits in the directory were never indexed.
/// Links are not followed by the watcher; every directory is watched under its own path.
#[cfg(unix)]
#[test]
fn deleting_a_link_to_a_directory_keeps_the_directory_watched() {
    let t = Test::new();
    t.write("packages/foo/index.js", "export const a = 1;\n");
    std::fs::create_dir_all(t.root().join("node_modules")).expect("mkdir");
    std::os::unix::fs::symlink("../packages/foo", t.root().join("node_modules/foo"))
        .expect("symlink");
    let w = Watching::start(&t);

    std::fs::remove_file(t.root().join("node_modules/foo")).expect("rm link");
    let u = w.until("node_modules/foo");
    assert_eq!(u["deleted"], 1, "{u}");
    t.write("packages/foo/index.js", "export const a = 2;\n");
    let u = w.until("packages/foo/index.js");
    assert_eq!(u["changed"], 1, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// A file git tracks in an ignored directory is indexed (docs/map.md, Walk), so the
/// directories down to it are watched: an edit to it is indexed at once, and so is its
/// directory deleted and checked out again, while an ignored file beside it that git does not
/// track starts no run.
#[test]
fn an_edit_to_a_file_git_tracks_though_ignored_is_indexed() {
    let t = Test::new();
    crate::util::git(t.root(), &["init", "-q"]);
    t.write(".gitignore", "lib/\n");
    t.write("lib/x/a.py", "def one():\n    pass\n");
    crate::util::git(t.root(), &["add", "-f", "lib/x/a.py"]);
    let w = Watching::start(&t);
    t.write("lib/x/b.py", "def untracked():\n    pass\n");
    t.write("lib/x/a.py", "def two():\n    pass\n");
    let u = w.until("lib/x/a.py");
    assert_eq!(u["changed"], 1, "{u}");
    std::fs::remove_dir_all(t.root().join("lib/x")).expect("rm");
    let u = w.until("lib/x/a.py");
    assert_eq!(u["deleted"], 1, "{u}");
    // The update names the directory made; the index is asked.
    crate::util::git(t.root(), &["checkout", "--", "lib/x/a.py"]);
    wait_for(30, "lib/x/a.py indexed again", || {
        indexed_hash(t.root(), "lib/x/a.py").is_some()
    });
    drop(w);
    assert_index_is_fresh(&t);
    assert_eq!(indexed_hash(t.root(), "lib/x/b.py"), None);
}

/// `rm -rf .vibe` while the watch ran left no index until the next content edit: every event
/// under `.vibe/` was the index's own. Removing the index (or moving it away) now starts a run,
/// which makes it again.
#[test]
fn a_deleted_index_is_made_again() {
    let t = Test::new();
    t.write("a.py", "A = 1\n");
    t.write("b.py", "B = 1\n");
    let w = Watching::start(&t);
    std::fs::remove_dir_all(t.root().join(".vibe")).expect("rm -rf .vibe");
    let u = w.next();
    assert_eq!(u["added"], 2, "{u}");
    assert!(t.root().join(".vibe/index.db").is_file());
    drop(w);
    assert_index_is_fresh(&t);
}

/// After the kernel's event queue overflowed, the run found every change, but directories made
/// meanwhile got no watch (their creation events were the ones lost), so later edits in them
/// were missed; so were those in a directory deleted and made again meanwhile. Every directory
/// is registered again by that run.
#[cfg(target_os = "linux")]
#[test]
fn directories_made_while_events_were_lost_are_watched() {
    let max: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    if max > 200_000 {
        eprintln!("max_queued_events is {max}: too many events to overflow in a test; skipped");
        return;
    }
    let t = Test::new();
    t.write("main.py", "M = 1\n");
    // Watched from the start, so that files made in it are events.
    t.write("bulk/keep.txt", "k");
    t.write("src/a/f.py", "F = 1\n");
    t.write("away/deep/d.py", "D = 1\n");
    let w = Watching::start(&t);
    let pid = w.child.id();
    let before = inotify_watches(pid);
    // A watcher that falls behind: stopped while more events than the queue holds arrive.
    crate::util::send_signal(pid, "STOP");
    // Each new file is at least a create, a modify and a close.
    for i in 0..max / 2 + 100 {
        t.write(&format!("bulk/f{i}.txt"), "x");
    }
    t.write("new/sub/a.py", "A = 1\n");
    // A watched directory deleted and made again (ext4 may give it the same inode number).
    std::fs::remove_dir_all(t.root().join("src/a")).expect("rm -rf src/a");
    t.write("src/a/f.py", "F = 2\n");
    // Two watched directories moved out of the tree: their watches end (they went on, and
    // reported changes out there as changes in the tree).
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::rename(t.root().join("away"), out.path().join("away")).expect("mv away");
    crate::util::send_signal(pid, "CONT");
    wait_for(30, "the lost events' warning", || {
        w.stderr().contains("events were lost")
    });
    // The rescan's run (after the debounce) indexes what the lost events hid; edits after it
    // land (twice each: the first may come before the directory's new watch).
    for text in ["A = 2\n", "A = 3\n"] {
        edit_lands(&t, "new/sub/a.py", text);
    }
    for text in ["F = 3\n", "F = 4\n"] {
        edit_lands(&t, "src/a/f.py", text);
    }
    // new/ and new/sub/ watched, away/ and away/deep/ no longer.
    wait_for(10, "the watches to follow the rescan", || {
        inotify_watches(pid) == before
    });
    drop(w);
    assert_index_is_fresh(&t);
}

/// How many inotify watches the process holds (Linux: its `fdinfo` lists each).
#[cfg(target_os = "linux")]
fn inotify_watches(pid: u32) -> usize {
    let dir = format!("/proc/{pid}/fdinfo");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count()
        })
        .sum()
}

/// Every directory of the tree had an inotify watch, ignored ones too: a `node_modules/` of
/// thousands of directories ran into the system's limit, and a directory vibe cannot read (a
/// root-owned volume) stopped vibe watch at the start. Only what the walk reads is watched
/// now, and what the ignore files let in later is watched from the run that reads it.
#[cfg(target_os = "linux")]
#[test]
fn only_the_directories_the_walk_reads_are_watched() {
    let t = Test::new();
    t.write(".gitignore", "node_modules/\nbuild/\n");
    t.write("src/a/a.py", "A = 1\n");
    t.write("src/b/b.py", "B = 1\n");
    for i in 0..40 {
        t.write(&format!("node_modules/p{i}/lib/index.js"), "x = 1\n");
    }
    t.write("build/out/gen.py", "G = 1\n");
    std::fs::create_dir_all(t.root().join(".git/info")).expect("mkdir");
    let w = Watching::start(&t);
    // The root, src, src/a, src/b; .git, .git/info and .vibe.
    let pid = w.child.id();
    assert_eq!(inotify_watches(pid), 7, "{}", w.stderr());

    // Let in by an ignore file: watched from the run that reads it.
    t.write(".gitignore", "build/\n");
    let u = w.until(".gitignore");
    assert_eq!(u["added"], 40, "{u}");
    // (Registered once the update is out.)
    wait_for(10, "88 watches", || inotify_watches(pid) == 7 + 1 + 40 * 2);
    t.write("node_modules/p7/lib/index.js", "x = 2\n");
    let u = w.until("node_modules/p7/lib/index.js");
    assert_eq!(u["changed"], 1, "{u}");

    // And ignored again: the watches go.
    t.write(".gitignore", "build/\nnode_modules/\n");
    let u = w.until(".gitignore");
    assert_eq!(u["deleted"], 40, "{u}");
    wait_for(10, "7 watches", || inotify_watches(pid) == 7);

    // .git/info/exclude, made with its directory after the start, is followed.
    std::fs::remove_dir_all(t.root().join(".git")).expect("rm .git");
    std::fs::create_dir_all(t.root().join(".git/info")).expect("mkdir");
    std::thread::sleep(Duration::from_millis(300));
    t.write(".git/info/exclude", "src/b/\n");
    let u = w.until(".git/info/exclude");
    assert_eq!(u["deleted"], 1, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// A directory made (or deleted and made again) during the watch is watched from the run that
/// finds it; what was written in it before its watch was registered is found by another run.
#[test]
fn directories_made_during_the_watch_are_watched() {
    let t = Test::new();
    t.write("main.py", "M = 1\n");
    let w = Watching::start(&t);
    for i in 0..30 {
        t.write(&format!("new/deep/m{i}.py"), format!("V = {i}\n"));
    }
    wait_for(30, "the new directory's files indexed", || {
        indexed(t.root()).len() == 31
    });
    // Twice: the first edit may come before the new directory's watch (see `edit_lands`).
    let edited_twice = |path: &str| {
        for text in ["V = 33\n", "V = 333\n"] {
            edit_lands(&t, path, text);
        }
    };
    edited_twice("new/deep/m3.py");

    std::fs::remove_dir_all(t.root().join("new")).expect("rm -rf new");
    t.write("new/deep/again.py", "A = 1\n");
    wait_for(30, "the directory made again indexed", || {
        indexed(t.root())
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>()
            == ["main.py", "new/deep/again.py"]
    });
    edited_twice("new/deep/again.py");
    drop(w);
    assert_index_is_fresh(&t);
}

/// What the walk reads through links and in a nested repository's `.git/info/exclude` lies in
/// directories it does not read itself: a link in the middle of a link's target path
/// retargeted, a file reached through a directory link whose target climbs with `..`, and a
/// nested repository's excludes edited are each seen (the first two found stale in review).
#[cfg(unix)]
#[test]
fn what_links_and_nested_repositories_lead_to_is_watched() {
    let t = Test::new();
    t.write(".gitignore", "vendor/\nign/\nout/\n");
    t.write("vendor/lib/x.py", "def f():\n    pass\n");
    t.write("vendor/other/x.py", "def other():\n    pass\n");
    t.write("out/gen.py", "def g1():\n    pass\n");
    t.write("a.py", "A = 1\n");
    t.write("sub/b.py", "B = 1\n");
    t.write("sub/c.py", "C = 1\n");
    std::fs::create_dir_all(t.root().join("sub/.git/info")).expect("mkdir");
    std::fs::create_dir_all(t.root().join("ign")).expect("mkdir");
    let ln = |to: &str, at: &str| std::os::unix::fs::symlink(to, t.root().join(at)).expect("ln");
    ln("../vendor/lib", "ign/l2");
    ln("ign/l2/x.py", "x.py");
    ln("vendor/lib", "lib");
    ln("../../out/gen.py", "vendor/lib/gen.py");
    let w = Watching::start(&t);

    std::fs::remove_file(t.root().join("ign/l2")).expect("rm link");
    ln("../vendor/other", "ign/l2");
    let u = w.until_secs("ign/l2", 10);
    assert_eq!(u["changed"], 1, "{u}");

    t.write("out/gen.py", "def g2():\n    pass\n");
    let u = w.until_secs("out/gen.py", 10);
    assert!(u["changed"].as_u64() >= Some(1), "{u}");

    t.write("sub/.git/info/exclude", "c.py\n");
    let u = w.until_secs("sub/.git/info/exclude", 10);
    assert_eq!(u["deleted"], 1, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// Found in a second review: renaming a directory above where a link leads (gen/a, holding the
/// target gen/a/b/x.py, replaced by another) left the watch on the old gen/a/b, so the link's
/// new content and every later edit were missed; a nested repository's `.git/info/` made after
/// the start was never watched, so its `exclude` was not followed; and an ignore file that is
/// a symlink was not watched where it leads.
#[cfg(unix)]
#[test]
fn renames_above_link_targets_new_nested_excludes_and_linked_ignore_files_are_seen() {
    let t = Test::new();
    t.write(".shared/gi", "gen/\n");
    let ln = |to: &str, at: &str| std::os::unix::fs::symlink(to, t.root().join(at)).expect("ln");
    ln(".shared/gi", ".gitignore");
    t.write("gen/a/b/x.py", "def old():\n    pass\n");
    t.write("src/main.py", "M = 1\n");
    t.write("src/other.py", "O = 1\n");
    ln("../gen/a/b/x.py", "src/x.py");
    t.write("sub/b.py", "B = 1\n");
    t.write("sub/c.py", "C = 1\n");
    std::fs::create_dir_all(t.root().join("sub/.git")).expect("mkdir");
    let w = Watching::start(&t);

    // gen/a swapped for another directory: src/x.py reads the new one.
    t.write("gen/new/b/x.py", "def new():\n    pass\n");
    std::fs::rename(t.root().join("gen/a"), t.root().join("gen/old")).expect("mv");
    std::fs::rename(t.root().join("gen/new"), t.root().join("gen/a")).expect("mv");
    let u = w.until_secs("gen/a", 10);
    assert_eq!(u["changed"], 1, "{u}");
    // (An edit right after the update may come before gen/a/b's new watch, and is then found
    // by the run that registration starts, whose update names no path: the index is asked.)
    let before = indexed_hash(t.root(), "src/x.py");
    t.write("gen/a/b/x.py", "def newer():\n    pass\n");
    wait_for(10, "src/x.py's edit through the link indexed", || {
        indexed_hash(t.root(), "src/x.py") != before
    });

    std::fs::create_dir(t.root().join("sub/.git/info")).expect("mkdir");
    std::thread::sleep(Duration::from_millis(300));
    t.write("sub/.git/info/exclude", "c.py\n");
    let u = w.until_secs("sub/.git/info/exclude", 10);
    assert_eq!(u["deleted"], 1, "{u}");

    t.write(".shared/gi", "gen/\nsrc/other.py\n");
    let u = w.until_secs(".shared/gi", 10);
    assert_eq!(u["deleted"], 1, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}

/// Found in a third review: with every path in a nested repository's `.git/` taken for git's
/// own writes, a file the walk reads through a link into it (`hooks -> sub/.git/hooks`) was
/// no longer followed, and moving its `.git/` away (its `exclude` with it) started no run.
#[cfg(unix)]
#[test]
fn links_into_a_nested_git_and_its_git_moved_away_are_seen() {
    let t = Test::new();
    t.write("sub/b.py", "B = 1\n");
    t.write("sub/secret.py", "S = 1\n");
    t.write("sub/.git/info/exclude", "secret.py\n");
    t.write("sub/.git/hooks/check.py", "def hook():\n    pass\n");
    std::os::unix::fs::symlink("sub/.git/hooks", t.root().join("hooks")).expect("ln");
    // A second link, to the directory that holds that `.git/`: the first still counts.
    std::os::unix::fs::symlink("sub", t.root().join("alias")).expect("ln");
    // And one deeper in it, whose directory above is renamed.
    t.write("sub/.git/a/b/x.py", "def x():\n    pass\n");
    std::os::unix::fs::symlink("sub/.git/a/b", t.root().join("lk")).expect("ln");
    let w = Watching::start(&t);
    let hash = |t: &Test, path: &str| indexed_hash(t.root(), path);
    assert!(hash(&t, "sub/secret.py").is_none());
    let before = hash(&t, "hooks/check.py");
    assert!(before.is_some());

    t.write("sub/.git/hooks/check.py", "def hook2():\n    pass\n");
    wait_for(10, "hooks/check.py's edit indexed", || {
        hash(&t, "hooks/check.py") != before
    });
    assert!(hash(&t, "lk/x.py").is_some());
    std::fs::rename(t.root().join("sub/.git/a"), t.root().join("sub/.git/a2")).expect("mv");
    wait_for(10, "lk/x.py dropped once its directory was renamed", || {
        hash(&t, "lk/x.py").is_none()
    });
    std::fs::remove_file(t.root().join("lk")).expect("rm link");

    let out = tempfile::tempdir().expect("tempdir");
    std::fs::rename(t.root().join("sub/.git"), out.path().join("git")).expect("mv .git");
    wait_for(10, "sub/secret.py indexed once the exclude went", || {
        hash(&t, "sub/secret.py").is_some()
    });
    // (The link leads nowhere now; the fresh index to compare with is made of a copy.)
    std::fs::remove_file(t.root().join("hooks")).expect("rm link");
    wait_for(10, "the link's file dropped", || {
        hash(&t, "hooks/check.py").is_none()
    });
    drop(w);
    assert_index_is_fresh(&t);
}

/// Found in a fourth review: a link to a directory that holds a repository (`alias -> lib`)
/// made git's own writes in `lib/.git/` (`git status` takes `index.lock`) start a run each, and
/// an `info/exclude` that is a link into `.git/` was watched where it leads but its edits were
/// taken for git's own.
#[cfg(unix)]
#[test]
fn git_writes_on_a_links_way_start_no_run_and_a_linked_exclude_applies() {
    let t = Test::new();
    t.write("lib/g.py", "def g():\n    pass\n");
    std::fs::create_dir_all(t.root().join("lib/.git/info")).expect("mkdir");
    std::os::unix::fs::symlink("lib", t.root().join("alias")).expect("ln");
    t.write(".git/my-exclude", "\n");
    std::fs::create_dir_all(t.root().join(".git/info")).expect("mkdir");
    std::os::unix::fs::symlink("../my-exclude", t.root().join(".git/info/exclude")).expect("ln");
    t.write("a.py", "A = 1\n");
    t.write("b.py", "B = 1\n");
    let w = Watching::start(&t);

    t.write("lib/.git/index.lock", "x");
    t.write("a.py", "A = 2\n");
    let u = w.until("a.py");
    assert!(
        !u["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p.as_str().is_some_and(|p| p.contains(".git/"))),
        "{u}"
    );

    t.write(".git/my-exclude", "b.py\n");
    let u = w.until_secs(".git/my-exclude", 10);
    assert_eq!(u["deleted"], 1, "{u}");
    // Deleted (the link leads nowhere for a while) and written again, as some editors save.
    std::fs::remove_file(t.root().join(".git/my-exclude")).expect("rm");
    let u = w.until_secs(".git/my-exclude", 10);
    assert_eq!(u["added"], 1, "{u}");
    t.write(".git/my-exclude", "a.py\n");
    let u = w.until_secs(".git/my-exclude", 10);
    assert_eq!(u["deleted"], 1, "{u}");
    drop(w);
    assert_index_is_fresh(&t);
}
