//! Test harness: runs the real `vibe` binary in a temp dir with an isolated `VIBE_HOME` (and
//! `TMPDIR`).

#![allow(dead_code)]

pub mod llm_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Snapshots live in tests/snapshots under their own names, whichever test crate runs them.
#[allow(unused_macros)]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

pub struct Test {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
    /// `TMPDIR` of the commands: what a killed `vibe` leaves there goes with the test.
    pub tmp: tempfile::TempDir,
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert_eq!(
            self.code(),
            0,
            "vibe failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok())
            .unwrap_or_else(|e| panic!("bad JSON: {e}\n{}", self.stdout()))
    }
}

/// Every row of the cost ledger in a test's `VIBE_HOME`.
pub fn ledger_rows(home: &Path) -> Vec<vibe::cost::Entry> {
    let ledger =
        vibe::cost::Ledger::open(&home.join("ledger.db")).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = vec![];
    ledger
        .scan(&Default::default(), &mut |e| rows.push(e))
        .unwrap_or_else(|e| panic!("{e}"));
    rows
}

/// The fixture repositories under tests/fixtures.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).unwrap_or(&entry);
        let dest = to.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
        } else {
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            std::fs::copy(&entry, &dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

impl Test {
    /// An empty repository in a temp dir.
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
            home: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
            tmp: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    /// A copy of tests/fixtures/<name>.
    pub fn fixture(name: &str) -> Test {
        let t = Test::new();
        copy_tree(&fixture_path(name), t.dir.path());
        t
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent dirs).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        let p = self.dir.path().join(rel);
        std::fs::remove_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        self
    }

    /// A `vibe` command with `-C <root>` and an isolated home, no colours, no CI progress.
    pub fn cmd(&self) -> Command {
        self.cmd_on(self.dir.path())
    }

    /// `vibe -C dir` with the test's environment: a subdirectory of the root, or another tree.
    pub fn cmd_on(&self, dir: &Path) -> Command {
        let mut c = self.cmd_in(dir);
        c.arg("-C").arg(dir);
        c
    }

    /// `vibe` run in `dir` without `-C` (it finds its root), with the test's environment.
    pub fn cmd_in(&self, dir: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vibe"));
        c.current_dir(dir)
            .env("VIBE_HOME", self.home.path())
            .env("TMPDIR", self.tmp.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        for (k, _) in std::env::vars() {
            if k.starts_with("VIBE_") && k != "VIBE_HOME" {
                c.env_remove(k);
            }
        }
        c
    }

    /// Runs `vibe <args>` (with -C root).
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self
            .cmd()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run vibe: {e}"));
        Run { output }
    }

    /// Starts `vibe <args>` (with -C root), its output piped; [`Run::of`] waits for it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.spawn_from(args, std::process::Stdio::null())
    }

    /// [`Test::spawn`] with a piped stdin, to write to (and drop).
    pub fn spawn_with_stdin(&self, args: &[&str]) -> std::process::Child {
        self.spawn_from(args, std::process::Stdio::piped())
    }

    fn spawn_from(&self, args: &[&str], stdin: std::process::Stdio) -> std::process::Child {
        self.cmd()
            .args(args)
            .stdin(stdin)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run vibe: {e}"))
    }
}

impl Run {
    /// Waits for a process [`Test::spawn`] started.
    pub fn of(child: std::process::Child) -> Run {
        Run {
            output: child.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
        }
    }
}

/// A provider address nothing listens on: port 1 (tcpmux), which no test binds and the kernel
/// never hands out for `bind(0)`. A port taken by binding to port 0 and dropping the listener
/// could be handed to another test's server running in parallel, which then got this test's
/// requests.
pub const DEAD_URL: &str = "http://127.0.0.1:1";

/// Runs git in `root` as a test user (no signing, whatever the machine's config says).
/// Overwrites the root page of `table` in the index at `db` with garbage: damage that opening
/// the index does not see, only a query of that table.
pub fn smash_table_page(db: &Path, table: &str) {
    let (page, size) = {
        let conn = rusqlite::Connection::open(db).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap_or_else(|e| panic!("{e}"));
        let page: i64 = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        (page as usize, size as usize)
    };
    let mut data = std::fs::read(db).unwrap_or_else(|e| panic!("{e}"));
    data[(page - 1) * size..page * size].fill(0xa5);
    std::fs::write(db, data).unwrap_or_else(|e| panic!("{e}"));
}

pub fn git(root: &Path, args: &[&str]) -> String {
    git_with_env(root, &[], args)
}

/// [`git`] with environment variables set (`GIT_COMMITTER_DATE`, …); what it printed, trimmed.
pub fn git_with_env(root: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(root)
        .envs(env.iter().copied())
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Replaces the temp root in text so snapshots are stable.
pub fn redact(text: &str, root: &Path) -> String {
    let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    text.replace(&canon.display().to_string(), "[ROOT]")
        .replace(&root.display().to_string(), "[ROOT]")
}

/// The JSON object of one file in a `vibe map --json` map.
pub fn map_file<'a>(map: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    map["files"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["path"] == path))
        .unwrap_or_else(|| panic!("{path} not in the map:\n{map:#}"))
}

/// The symbols of `path` in a `vibe map --json` map, each as the values of `keys` (`""` for
/// null, a number as written).
pub fn map_symbols(map: &serde_json::Value, path: &str, keys: &[&str]) -> Vec<Vec<String>> {
    map_file(map, path)["symbols"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            keys.iter()
                .map(|k| match &s[*k] {
                    serde_json::Value::String(v) => v.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// Rows of strings, as [`map_symbols`] gives them.
pub fn rows<const N: usize>(rows: &[[&str; N]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|v| v.to_string()).collect())
        .collect()
}

/// Makes `t`'s index look like one an earlier vibe made: `sql` run on it, then its schema
/// version set to `version`, so that the next run migrates it.
pub fn made_by_schema(t: &Test, version: u32, sql: &str) {
    let conn = rusqlite::Connection::open(t.root().join(".vibe/index.db")).expect("index");
    conn.execute_batch(&format!("{sql}; PRAGMA user_version = {version};"))
        .expect("update");
}

/// The import edges of a `vibe map --json` map as `from -> to`.
pub fn map_edges(map: &serde_json::Value) -> Vec<String> {
    map["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges"))
        .iter()
        .map(|e| {
            format!(
                "{} -> {}",
                e["from"].as_str().unwrap_or("?"),
                e["to"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// A shell command that writes its pid to `pid_file` (whole, by rename) and sleeps for a
/// minute: a validator or plugin for tests that stop it ([`started_pid`]).
pub fn pid_then_sleep(pid_file: &Path) -> String {
    format!(
        "echo $$ > '{}.tmp'; mv '{0}.tmp' '{0}'; exec sleep 60",
        pid_file.display()
    )
}

/// Repository config for a custom `compile` validator running [`pid_then_sleep`].
pub fn sleeping_validator(pid_file: &Path) -> String {
    format!(
        "[heal.custom.slow]\nstage = \"compile\"\ncommand = \"{}\"\ntimeout = 120\nparser = \"none\"\n",
        pid_then_sleep(pid_file)
    )
}

/// The pid a command wrote to `pid_file` as it started ([`sleeping_validator`]), once it is
/// there (panics after 20 s).
pub fn started_pid(pid_file: &Path) -> u32 {
    let waited = std::time::Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(pid_file) {
            return s.trim().parse().unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
        assert!(waited.elapsed().as_secs() < 20, "no validator ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs `vibe <args>` in `t` and, once a command it runs has written its pid to `pid_file`
/// ([`sleeping_validator`]), presses Ctrl-C as a terminal does: SIGINT to vibe alone
/// (validators and plugins run in process groups of their own). vibe must exit 130 within
/// 20 s saying "cancelled", and that command be gone. Returns vibe's stderr.
pub fn ctrl_c_once_started(t: &Test, args: &[&str], pid_file: &Path) -> String {
    let stderr = signal_once_started(t, args, pid_file, "INT", 130);
    assert!(stderr.contains("cancelled"), "{args:?}: {stderr}");
    stderr
}

/// Sends `signal` (`INT`, `TERM`, `STOP`, …) to process `pid` alone (std has no kill(2)).
pub fn send_signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "kill -{signal} {pid}");
}

/// Runs `vibe <args>` in `t` and, once a command it runs has written its pid to `pid_file`,
/// sends `signal` (`INT`, `TERM`, `HUP`) to vibe alone. vibe must exit with `code` within
/// 20 s, that command be gone, and no scratch directory of vibe's be left in its `TMPDIR`.
/// Returns vibe's stderr.
pub fn signal_once_started(
    t: &Test,
    args: &[&str],
    pid_file: &Path,
    signal: &str,
    code: i32,
) -> String {
    let vibe = t
        .cmd()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run vibe: {e}"));
    let started = started_pid(pid_file);
    let start = std::time::Instant::now();
    send_signal(vibe.id(), signal);
    let out = vibe
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        start.elapsed().as_secs() < 20,
        "{args:?}: took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(code), "{args:?} {signal}: {stderr}");
    // Killed, or a zombie waiting for init to reap it.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let stat = std::fs::read_to_string(format!("/proc/{started}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
    assert!(
        matches!(state, None | Some('Z') | Some('X')),
        "{args:?} {signal}: {started} is still running: {stat}"
    );
    // Nor does vibe leave its scratch directories (heal overlays, plugin dirs) behind.
    let left: Vec<_> = std::fs::read_dir(t.tmp.path())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("vibe-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{args:?} {signal}: left behind {left:?}");
    stderr
}

/// The start of a python3 driver of vibe in a pseudo-terminal (python3's `pty`; python3 is on
/// every machine vibe is built on here): runs `vibe -C ROOT ARGS…` (vibe and ROOT are the
/// driver's first two arguments); `fd` is the pty's master, `pid` vibe's; `wait_for(needle,
/// timeout)` reads (answering the terminal's queries) until `needle` has been seen, into `seen`;
/// `exit_status(timeout)` waits for vibe to exit; `typed(text)` types.
pub fn pty_prelude(args: &[&str]) -> String {
    let args = serde_json::to_string(args).unwrap_or_else(|e| panic!("{e}"));
    PTY_PRELUDE.replace("__ARGS__", &args)
}

const PTY_PRELUDE: &str = r#"
import fcntl, os, pty, select, struct, sys, termios, time
vibe, root = sys.argv[1], sys.argv[2]
ARGS = __ARGS__
pid, fd = pty.fork()
if pid == 0:
    os.execv(vibe, [vibe, "-C", root] + ARGS)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
seen = b""
answered = {b"\x1b[6n": 0, b"\x1b[c": 0}
def answer_queries():
    # Answer like a terminal: the cursor position, and the device attributes (which also tells
    # crossterm that the kitty keyboard protocol is not supported).
    for q, reply in ((b"\x1b[6n", b"\x1b[1;1R"), (b"\x1b[c", b"\x1b[?62;22c")):
        n = seen.count(q)
        while answered[q] < n:
            os.write(fd, reply)
            answered[q] += 1
def wait_for(needle, timeout):
    global seen
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            answer_queries()
            if needle in seen:
                return True
    return needle in seen
def exit_status(timeout):
    # vibe's wait status once it exits (reading what it writes meanwhile), or None.
    end = time.time() + timeout
    while time.time() < end:
        wait_for(b"\x00never\x00", 0.2)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            return st
    return None
def typed(text):
    for ch in text:
        os.write(fd, ch.encode())
        time.sleep(0.01)
"#;
