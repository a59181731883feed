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

struct Watching {
    child: std::process::Child,
    lines: Receiver<Value>,
}

impl Watching {
    fn start(t: &Test) -> Watching {
        let mut c = t.cmd();
        c.args(["watch", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let w = Watching { child, lines: rx };
        let ready = w.next();
        assert_eq!(ready["ready"], true, "{ready}");
        w
    }

    fn next(&self) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no update from vibe watch: {e}"))
    }

    /// Waits for updates until one mentions `path`.
    fn until(&self, path: &str) -> Value {
        loop {
            let u = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no update mentioning {path} from vibe watch: {e}"));
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
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

    // Ignored and hidden paths do not start a run.
    t.write(".hidden/x.py", "x = 1\n");
    t.write("ignored/y.py", "y = 1\n");
    t.write("notes.py", "z = 2\n");
    let u = w.until("notes.py");
    assert!(
        !u["paths"].to_string().contains("hidden") && !u["paths"].to_string().contains("ignored"),
        "{u}"
    );
    drop(w);

    let fresh = tempfile::tempdir().expect("tempdir");
    copy_tree(t.root(), fresh.path());
    let _ = std::fs::remove_dir_all(fresh.path().join(".vibe"));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
        .args([
            "-C",
            &fresh.path().display().to_string(),
            "map",
            "--tokens",
            "10",
        ])
        .env("VIBE_HOME", t.home.path())
        .output()
        .expect("map");
    assert!(run.status.success());
    assert_eq!(indexed(t.root()), indexed(fresh.path()));
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
