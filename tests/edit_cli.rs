//! Edits on disk and `vibe undo`: runs made through the library (`edit::plan` + `edit::commit`),
//! undone through the real binary; and atomic writes surviving `kill -9`.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use std::path::Path;

use vibe::edit;

use util::Test;

/// Parses, plans and commits an answer in the test's repository; returns the run id.
fn apply(t: &Test, answer: &str) -> String {
    let edits = edit::parse(answer).unwrap_or_else(|e| panic!("{e}"));
    let changes = edit::plan(t.root(), &edits).unwrap_or_else(|e| panic!("{e}"));
    edit::commit(t.root(), &changes, "test").unwrap_or_else(|e| panic!("{e}"))
}

fn read(t: &Test, rel: &str) -> Vec<u8> {
    std::fs::read(t.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Asserts that a run failed with `code` and said `needle` on stderr.
fn assert_fails(run: &util::Run, code: i32, needle: &str) {
    assert_eq!(run.code(), code, "{}", run.stderr());
    assert!(
        run.stderr().contains(needle),
        "{needle:?} not in:\n{}",
        run.stderr()
    );
}

#[cfg(unix)]
fn mode(t: &Test, rel: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(t.root().join(rel))
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn undo_restores_byte_for_byte() {
    let t = Test::new();
    let crlf = "line one\r\nline two\r\nno newline at end";
    t.write("src/app.py", crlf);
    t.write("run.sh", "#!/bin/sh\necho old\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            t.root().join("run.sh"),
            std::fs::Permissions::from_mode(0o750),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let id = apply(
        &t,
        "src/app.py\n<<<<<<< SEARCH\nline two\n=======\nline 2\n>>>>>>> REPLACE\n\nrun.sh\n<<<<<<< FILE\n#!/bin/sh\necho new\n>>>>>>> FILE\n\nnew/pkg/mod.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n",
    );
    // The edit kept CRLF and the missing final newline, and the script's permissions.
    assert_eq!(
        read(&t, "src/app.py"),
        b"line one\r\nline 2\r\nno newline at end"
    );
    assert_eq!(read(&t, "run.sh"), b"#!/bin/sh\necho new\n");
    #[cfg(unix)]
    assert_eq!(mode(&t, "run.sh"), 0o750);
    assert_eq!(read(&t, "new/pkg/mod.py"), b"x = 1\n");
    assert!(
        t.root()
            .join(format!(".vibe/backups/{id}/manifest.json"))
            .is_file()
    );

    let out = t.run(&["undo"]).ok();
    assert!(
        out.starts_with(&format!("undid run {id} (test): 2 restored, 1 removed")),
        "{out}"
    );
    assert_eq!(read(&t, "src/app.py"), crlf.as_bytes());
    assert_eq!(read(&t, "run.sh"), b"#!/bin/sh\necho old\n");
    #[cfg(unix)]
    assert_eq!(mode(&t, "run.sh"), 0o750);
    assert!(!t.root().join("new/pkg/mod.py").exists());
    assert!(
        !t.root().join("new").exists(),
        "directories the run made go too"
    );

    // Nothing left to undo.
    assert_fails(&t.run(&["undo"]), 1, "is already undone");
}

#[cfg(unix)]
#[test]
fn undo_restores_permissions_changed_since() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    t.write("tool", "v1\n");
    std::fs::set_permissions(
        t.root().join("tool"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    apply(
        &t,
        "tool\n<<<<<<< SEARCH\nv1\n=======\nv2\n>>>>>>> REPLACE\n",
    );
    // A chmod after the run is not a content change: undo goes through and puts 0700 back.
    std::fs::set_permissions(
        t.root().join("tool"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    t.run(&["undo"]).ok();
    assert_eq!(read(&t, "tool"), b"v1\n");
    assert_eq!(mode(&t, "tool"), 0o700);
}

#[test]
fn list_run_and_last_not_undone() {
    let t = Test::new();
    t.write("a.txt", "a1\n").write("b.txt", "b1\n");
    let first = apply(
        &t,
        "a.txt\n<<<<<<< SEARCH\na1\n=======\na2\n>>>>>>> REPLACE\n",
    );
    let second = apply(
        &t,
        "b.txt\n<<<<<<< SEARCH\nb1\n=======\nb2\n>>>>>>> REPLACE\n",
    );
    assert!(
        first < second || first[..16] == second[..16],
        "{first} {second}"
    );

    let j = t.run(&["undo", "--list", "--json"]).json();
    assert_eq!(j["schema"], "vibe.undo.list/1");
    let ids: Vec<&str> = j["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(j["runs"][0]["files"][0], "a.txt");
    assert_eq!(j["runs"][0]["operation"], "test");
    assert_eq!(j["runs"][0]["undone"], false);

    // The older run, by id.
    let j = t.run(&["undo", "--run", &first, "--json"]).json();
    assert_eq!(j["schema"], "vibe.undo/1");
    assert_eq!(j["run"], first.as_str());
    assert_eq!(j["restored"][0], "a.txt");
    assert_eq!(read(&t, "a.txt"), b"a1\n");
    assert_eq!(read(&t, "b.txt"), b"b2\n");

    // Undoing it again is refused; the plain `vibe undo` takes the newest run not undone.
    assert_fails(&t.run(&["undo", "--run", &first]), 1, "already undone");
    let out = t.run(&["undo"]).ok();
    assert!(out.contains(&second), "{out}");
    assert_eq!(read(&t, "b.txt"), b"b1\n");

    let text = t.run(&["undo", "--list"]).ok();
    assert_eq!(text.matches("undone").count(), 2, "{text}");

    // An unknown id is a usage error.
    assert_fails(
        &t.run(&["undo", "--run", "20200101T000000Z-0000"]),
        2,
        "--list",
    );
}

#[test]
fn a_file_changed_since_the_run_is_refused_unless_forced() {
    let t = Test::new();
    t.write("a.txt", "one\n");
    apply(
        &t,
        "a.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\n",
    );
    t.write("a.txt", "three (the user's own edit)\n");
    assert_fails(
        &t.run(&["undo"]),
        1,
        "a file changed since the run: a.txt; undo refused (--force",
    );
    assert_eq!(read(&t, "a.txt"), b"three (the user's own edit)\n");

    let j = t.run(&["undo", "--force", "--json"]).json();
    assert_eq!(j["forced"][0], "a.txt");
    assert_eq!(read(&t, "a.txt"), b"one\n");
}

#[test]
fn no_runs_and_damaged_backups() {
    let t = Test::new();
    assert_fails(&t.run(&["undo"]), 1, "no edit runs");
    assert_eq!(t.run(&["undo", "--list"]).ok(), "no edit runs\n");

    t.write("a.txt", "one\n");
    let id = apply(
        &t,
        "a.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\n",
    );
    let manifest = format!(".vibe/backups/{id}/manifest.json");
    t.write(&manifest, "{ not json");
    assert_fails(&t.run(&["undo"]), 1, "damaged");
    assert_eq!(read(&t, "a.txt"), b"two\n");
    let j = t.run(&["undo", "--list", "--json"]).json();
    let damaged = j["runs"][0]["damaged"].as_str().unwrap_or_default();
    assert!(damaged.contains("not a valid manifest"), "{j}");

    t.remove(&manifest);
    assert_fails(
        &t.run(&["undo", "--run", &id]),
        1,
        "manifest.json is missing",
    );

    // A backup copy that was altered is caught before anything is restored.
    let t = Test::new();
    t.write("a.txt", "one\n");
    let id = apply(
        &t,
        "a.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\n",
    );
    t.write(&format!(".vibe/backups/{id}/files/a.txt"), "tampered\n");
    assert_fails(&t.run(&["undo"]), 1, "corrupt");
    assert_eq!(read(&t, "a.txt"), b"two\n");
    // --list says so before any undo is tried.
    let j = t.run(&["undo", "--list", "--json"]).json();
    let damaged = j["runs"][0]["damaged"].as_str().unwrap_or_default();
    assert!(damaged.contains("the copy of a.txt is corrupt"), "{j}");
    let text = t.run(&["undo", "--list"]).ok();
    assert!(
        text.contains("damaged: the copy of a.txt is corrupt"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_repository_is_never_written() {
    let t = Test::new();
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(outside.path().join("secret.txt"), "keep\n").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(outside.path(), t.root().join("link"))
        .unwrap_or_else(|e| panic!("{e}"));
    let edits = edit::parse("link/secret.txt\n<<<<<<< FILE\npwned\n>>>>>>> FILE\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = edit::plan(t.root(), &edits).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("outside the repository")),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(outside.path().join("secret.txt"))
            .ok()
            .as_deref(),
        Some(&b"keep\n"[..])
    );
}

/// Set in the child process of `kill_during_atomic_write_leaves_old_or_new`: the file to write.
const WRITER_ENV: &str = "VIBE_TEST_ATOMIC_WRITER";

fn contents() -> (Vec<u8>, Vec<u8>) {
    let a = "old line, the first version of the file\n".repeat(150_000);
    let b = "NEW\n".repeat(1_000_000);
    (a.into_bytes(), b.into_bytes())
}

/// Not a test on its own: when the parent test re-runs this binary with `WRITER_ENV` set, it
/// writes the two contents in turn, forever, until it is killed.
#[test]
fn atomic_write_child() {
    let Some(target) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let (a, b) = contents();
    loop {
        for c in [&b, &a] {
            edit::atomic_write(Path::new(&target), c).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[cfg(unix)]
#[test]
fn kill_during_atomic_write_leaves_old_or_new() {
    use std::hash::{BuildHasher, Hasher};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("big.txt");
    let (a, b) = contents();
    std::fs::write(&target, &a).unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let (mut saw_a, mut saw_b, mut saw_temp) = (0, 0, 0);
    for round in 0..16u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "edit_cli::atomic_write_child",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        // A random moment: past start-up, somewhere in the writes.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(round);
        let delay = 40 + h.finish() % 400;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap_or_else(|e| panic!("{e}")); // SIGKILL
        child.wait().unwrap_or_else(|e| panic!("{e}"));

        let now = std::fs::read(&target).unwrap_or_else(|e| panic!("{e}"));
        if now == a {
            saw_a += 1;
        } else if now == b {
            saw_b += 1;
        } else {
            panic!(
                "round {round} (killed after {delay} ms): the file is neither version ({} bytes)",
                now.len()
            );
        }
        for entry in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "big.txt" {
                continue;
            }
            assert!(edit::is_temp_name(&name), "unexpected file {name}");
            assert!(name.starts_with(".big.txt.vibe-tmp-"), "{name}");
            saw_temp += 1;
            std::fs::remove_file(entry.path()).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    eprintln!("old {saw_a}, new {saw_b}, killed mid-write (temp left) {saw_temp}");
}
