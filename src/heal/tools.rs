//! Finding validator tools and running them: `PATH` and `node_modules/.bin` lookup, the project
//! directory that owns a file (nearest `Cargo.toml`, `go.mod`, `tsconfig.json`, ...), and one
//! external command with a timeout.
//!
//! Invariant: a command runs in its own process group with stdin closed; on timeout the whole
//! group is killed (a test runner's children too), and the call returns within the timeout plus
//! the time the kill takes. Once the command exits, children it left holding its output get
//! [`LEFTOVER_GRACE`] before the group is killed: its answer is not held up by them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest timeout, in seconds, a plugin manifest or the config may give a command (a
/// day): a longer one is a typo, and `Instant + Duration` panics past what the clock holds.
pub const MAX_TIMEOUT: f64 = 86_400.0;

/// `secs` as a timeout: at most [`MAX_TIMEOUT`], and 1 s when it is not a positive number
/// (the manifest and the config refuse both; this keeps a value that slipped through from
/// panicking in `Duration::from_secs_f64`).
pub fn timeout_secs(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs.min(MAX_TIMEOUT))
    } else {
        Duration::from_secs(1)
    }
}

/// An executable named `name`: in one of `extra` (e.g. a project's `node_modules/.bin`) first,
/// then on `PATH`.
pub fn which(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    extra
        .iter()
        .cloned()
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The nearest directory from `file`'s directory up to `root` (inclusive) that holds one of
/// `names`. `file` is relative to `root`.
pub fn find_up(root: &Path, file: &str, names: &[&str]) -> Option<PathBuf> {
    let mut dir = root.join(file);
    while dir.pop() {
        if names.iter().any(|n| dir.join(n).exists()) {
            return Some(dir);
        }
        if dir == root || !dir.starts_with(root) {
            break;
        }
    }
    None
}

/// `node_modules/.bin` of `dir` and of every ancestor up to `root`.
pub fn node_bins(root: &Path, dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .take_while(|a| a.starts_with(root))
        .map(|a| a.join("node_modules/.bin"))
        .filter(|b| b.is_dir())
        .collect()
}

/// What would install a tool, for the "skipped" list.
pub fn install_hint(tool: &str) -> &'static str {
    match tool {
        "python3" => "apt-get install python3",
        "mypy" => "pip install mypy (or pyright: npm install -g pyright)",
        "ruff" => "pip install ruff (or flake8: pip install flake8)",
        "pytest" => "pip install pytest",
        "node" => "apt-get install nodejs",
        "tsc" => "npm install --save-dev typescript",
        "eslint" => "npm install --save-dev eslint",
        "npm" => "apt-get install npm",
        "cargo" => "rustup (https://rustup.rs)",
        "clippy" => "rustup component add clippy",
        "go" => "apt-get install golang-go",
        "javac" => "apt-get install default-jdk-headless",
        "cc" => "apt-get install gcc",
        "c++" => "apt-get install g++",
        _ => "install it and put it on PATH",
    }
}

/// A scratch directory under the system temp dir, removed on drop, or by
/// [`kill_running`] when a signal ends vibe before the drop. Its name is
/// `{prefix}-{pid}-{n}-{nanos}`: a process killed outright (SIGKILL, out of memory) leaves it
/// behind, and the next [`TempDir::new`] of that prefix removes it (see [`sweep_stale`]).
#[derive(Debug)]
pub struct TempDir(PathBuf);

/// How old a scratch directory of a process that no longer runs must be before another process
/// removes it. The PID says whether its process runs only within one PID namespace: a temp
/// dir shared with another container could hold a live process's directory under a PID absent
/// here, so a young one is left alone.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// The scratch directories of this process not yet dropped, for [`kill_running`].
static LIVE_DIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        static SWEPT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let base = std::env::temp_dir();
        if let Ok(mut swept) = SWEPT.lock()
            && !swept.iter().any(|p| p == prefix)
        {
            swept.push(prefix.to_string());
            sweep_stale(&base, prefix, STALE_AFTER);
        }
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let p = base.join(format!(
                "{prefix}-{}-{}-{nanos:x}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            // Made and recorded under the lock, so that a signal's exit in between cannot
            // miss it.
            let mut live = live_dirs();
            match std::fs::create_dir(&p) {
                Ok(()) => {
                    live.push(p.clone());
                    return Ok(TempDir(p));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        live_dirs().retain(|p| p != &self.0);
    }
}

/// Removes the directories `{prefix}-{pid}-…` in `base` that a process which no longer runs
/// left behind, once older than `age`; returns how many. Does nothing where this system
/// cannot tell whether a process runs (no `/proc`). Errors are ignored: another process may be
/// sweeping too.
pub fn sweep_stale(base: &Path, prefix: &str, age: std::time::Duration) -> usize {
    if crate::process_exists(std::process::id()).is_none() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_prefix('-'))
            .and_then(|n| n.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || crate::process_exists(pid) != Some(false) {
            continue;
        }
        // Not a symlink (never followed), old enough.
        let old = entry.metadata().is_ok_and(|m| {
            m.is_dir()
                && m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|e| e >= age)
        });
        if old && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Bumped by [`interrupt`]: a command [`run`] started before the change is killed (as by a
/// change of the running thread's [`InterruptScope`]).
static INTERRUPTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Stops the commands [`run`] is running now on any thread, their whole process groups (Ctrl-C:
/// validators and plugins run in groups of their own, so the terminal's signal does not reach
/// them). Later commands run as usual. A chat session's Cancel uses its [`InterruptScope`].
pub fn interrupt() {
    INTERRUPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// How many times [`interrupt`], or the interrupt scope this thread entered, interrupted:
/// compare two readings to tell whether either was called in between.
pub fn interrupts() -> u64 {
    let own = SCOPE.with(|s| {
        s.borrow()
            .as_ref()
            .map_or(0, |c| c.load(std::sync::atomic::Ordering::SeqCst))
    });
    INTERRUPTS
        .load(std::sync::atomic::Ordering::SeqCst)
        .wrapping_add(own)
}

thread_local! {
    static SCOPE: std::cell::RefCell<Option<std::sync::Arc<std::sync::atomic::AtomicU64>>> =
        const { std::cell::RefCell::new(None) };
}

/// Interrupts of one chat session: its Cancel stops the commands run on the session's thread
/// and nobody else's (another session in the same process, as in the tests, runs on). Ctrl-C's
/// [`interrupt`] still stops every command.
#[derive(Debug, Clone, Default)]
pub struct InterruptScope(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl InterruptScope {
    /// Stops the commands running on the threads that entered this scope.
    pub fn interrupt(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes the calling thread's commands (and validations) answer this scope's interrupts,
    /// for the rest of the thread's life.
    pub fn enter(&self) {
        SCOPE.with(|s| *s.borrow_mut() = Some(self.0.clone()));
    }
}

/// What one command did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit code; `None` if killed by a signal or timed out.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// Stopped by [`interrupt`] or by the interrupt scope of the thread that ran it.
    pub interrupted: bool,
    pub duration: Duration,
    /// Stdout went past [`Caps::stdout`]: `stdout` holds its first bytes, and the pipe was
    /// closed (the command got SIGPIPE or EPIPE on its next write).
    pub stdout_overflow: bool,
    /// Stderr went past [`Caps::stderr_tail`]: `stderr` holds its last bytes.
    pub stderr_dropped: bool,
    /// The command exited but left processes holding its output pipes; they were killed with
    /// its process group after [`LEFTOVER_GRACE`].
    pub killed_leftovers: bool,
}

/// How long the output pipes may stay open after the command exited (a child it left behind,
/// such as a server started with `&`, holds them) before its process group is killed and what
/// was read is used.
pub const LEFTOVER_GRACE: Duration = Duration::from_millis(500);

/// How much of a command's output [`run_capped`] keeps; `None` = all of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    /// Bytes of stdout kept; past them vibe stops reading ([`Ran::stdout_overflow`]).
    pub stdout: Option<usize>,
    /// Bytes of the end of stderr kept; earlier ones are dropped ([`Ran::stderr_dropped`]).
    pub stderr_tail: Option<usize>,
}

/// Runs `cmd` (its cwd and environment already set) with a timeout, collecting its output.
pub fn run(cmd: Command, timeout: Duration) -> std::io::Result<Ran> {
    run_with_stdin(cmd, Stdio::null(), timeout)
}

/// [`run`] with `stdin` (e.g. a file holding a plugin's request) instead of a closed stdin.
pub fn run_with_stdin(cmd: Command, stdin: Stdio, timeout: Duration) -> std::io::Result<Ran> {
    run_capped(cmd, stdin, timeout, Caps::default())
}

/// One output pipe as its reader thread fills it.
#[derive(Default)]
struct Captured {
    bytes: std::sync::Mutex<Vec<u8>>,
    /// Past the cap: stdout stopped, or the start of stderr dropped.
    capped: std::sync::atomic::AtomicBool,
}

impl Captured {
    fn take(&self) -> (Vec<u8>, bool) {
        let bytes = self
            .bytes
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default();
        (bytes, self.capped.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// What an uncapped pipe keeps ([`run`]: validators, git): past it the output is read and
/// dropped, so that the command neither blocks nor dies of a closed pipe, and a runaway one
/// (a test printing in a loop until its timeout) cannot fill the memory.
pub const KEPT_OUTPUT: usize = 64 * 1024 * 1024;

/// The line that stands for what [`KEPT_OUTPUT`] dropped.
pub const DROPPED_OUTPUT: &str = "\n[vibe: output past 64 MiB dropped]\n";

/// Reads `pipe` into `into` until it closes; with `head`, stops (closing it) past that many
/// bytes; with `tail`, keeps only the last that many bytes; with neither, keeps the first
/// [`KEPT_OUTPUT`] bytes and reads the rest without keeping it.
fn capture(mut pipe: impl Read, into: &Captured, head: Option<usize>, tail: Option<usize>) {
    use std::sync::atomic::Ordering;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut dropping = false;
    loop {
        let n = match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if dropping {
            continue;
        }
        let Ok(mut buf) = into.bytes.lock() else {
            break;
        };
        buf.extend_from_slice(&chunk[..n]);
        if head.is_none() && tail.is_none() && buf.len() > KEPT_OUTPUT {
            buf.truncate(KEPT_OUTPUT);
            buf.extend_from_slice(DROPPED_OUTPUT.as_bytes());
            dropping = true;
            continue;
        }
        if let Some(max) = head
            && buf.len() > max
        {
            buf.truncate(max);
            into.capped.store(true, Ordering::SeqCst);
            break;
        }
        // Trimmed when twice the tail, so that a long stream is not moved on every read.
        if let Some(keep) = tail
            && buf.len() > keep.saturating_mul(2).max(chunk.len())
        {
            let cut = buf.len() - keep;
            buf.drain(..cut);
            into.capped.store(true, Ordering::SeqCst);
        }
    }
    if let (Some(keep), Ok(mut buf)) = (tail, into.bytes.lock())
        && buf.len() > keep
    {
        let cut = buf.len() - keep;
        buf.drain(..cut);
        into.capped.store(true, Ordering::SeqCst);
    }
}

/// [`run_with_stdin`] keeping at most `caps` of the output.
pub fn run_capped(
    mut cmd: Command,
    stdin: Stdio,
    timeout: Duration,
    caps: Caps,
) -> std::io::Result<Ran> {
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, PoisonError};
    let start = Instant::now();
    let generation = interrupts();
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let (mut child, _running) = {
        // Spawned under the lock: [`kill_running`] holding it sees every group.
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        let child = cmd.spawn()?;
        let pgid = child.id();
        running.push(pgid);
        (child, Running(pgid))
    };
    let out = Arc::new(Captured::default());
    let err = Arc::new(Captured::default());
    // Each reader says when its pipe closed.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut readers = 0;
    if let Some(pipe) = child.stdout.take() {
        let (into, tx) = (out.clone(), tx.clone());
        std::thread::spawn(move || {
            capture(pipe, &into, caps.stdout, None);
            let _ = tx.send(());
        });
        readers += 1;
    }
    if let Some(pipe) = child.stderr.take() {
        let (into, tx) = (err.clone(), tx.clone());
        std::thread::spawn(move || {
            capture(pipe, &into, None, caps.stderr_tail);
            let _ = tx.send(());
        });
        readers += 1;
    }
    drop(tx);
    // Saturates: a timeout past what the clock can hold means "no deadline", not a panic.
    let deadline = start
        .checked_add(timeout)
        .or_else(|| start.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(start);
    let pgid = child.id();
    let mut timed_out = false;
    let mut interrupted = false;
    let mut code = None;
    loop {
        match child.try_wait()? {
            Some(status) => {
                code = status.code();
                break;
            }
            None if interrupts() != generation => {
                interrupted = true;
                kill_group(pgid);
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            None if Instant::now() >= deadline => {
                timed_out = true;
                kill_group(pgid);
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            // Quick commands (git rev-parse: ~2 ms) are not kept waiting a whole 5 ms.
            None => std::thread::sleep(Duration::from_millis(
                if start.elapsed() < Duration::from_millis(50) {
                    1
                } else {
                    5
                },
            )),
        }
    }
    // The pipes close when every process holding them is gone. A child the command left
    // behind (a server a test or plugin started with `&`) holds them past its exit: it gets
    // [`LEFTOVER_GRACE`], then is killed with the group, and what was read is the output.
    // After a kill the pipes close at once, unless a process left the group (setsid).
    let mut killed_leftovers = false;
    let mut closing = if timed_out || interrupted {
        Duration::from_millis(500)
    } else {
        LEFTOVER_GRACE
    };
    let mut killed = timed_out || interrupted;
    while readers > 0 {
        let waited = Instant::now();
        match rx.recv_timeout(closing) {
            Ok(()) => {
                readers -= 1;
                closing = closing.saturating_sub(waited.elapsed());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !killed => {
                killed = true;
                killed_leftovers = true;
                kill_group(pgid);
                closing = Duration::from_millis(500);
            }
            Err(_) => break,
        }
    }
    if killed_leftovers {
        tracing::debug!(
            "{:?}: exited leaving processes that held its output; killed its process group",
            cmd.get_program()
        );
    }
    let (stdout, stdout_overflow) = out.take();
    let (stderr, stderr_dropped) = err.take();
    Ok(Ran {
        code: if timed_out || interrupted { None } else { code },
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
        interrupted,
        duration: start.elapsed(),
        stdout_overflow,
        stderr_dropped,
        killed_leftovers,
    })
}

/// The process groups of the commands [`run_capped`] is running, on any thread.
static RUNNING: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// A group in [`RUNNING`], taken out when the run ends however it ends.
struct Running(u32);

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = running.iter().position(|p| *p == self.0) {
            running.swap_remove(i);
        }
    }
}

/// Kills the process groups of every command running now and removes the scratch directories
/// of [`TempDir`]s not yet dropped, for vibe ending on a signal (SIGTERM, SIGHUP, a second
/// Ctrl-C: `cli::abandon_and_exit`), whose default action would leave those groups running and
/// the directories behind. Returns [`RUNNING`] still held: while the caller holds it, up to its
/// exit, no command starts (a heal seeing its validator killed would start the next stage's,
/// and return before the signal's exit).
pub fn kill_running() -> std::sync::MutexGuard<'static, Vec<u32>> {
    let running = RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for pgid in running.iter() {
        kill_group(*pgid);
    }
    // A killed command may still be dying and writing: a directory that is not yet empty is
    // tried again, briefly.
    for dir in live_dirs().iter() {
        for _ in 0..5 {
            if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    running
}

/// SIGKILL to a process group. std has no kill(2); the shell's builtin `kill` takes a negative
/// pid on every POSIX sh (dash's takes no `--`), so no extra dependency is needed for this call.
fn kill_group(pgid: u32) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -KILL -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A word quoted for `sh`.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_times_out_killing_the_group() -> Result<(), Box<dyn std::error::Error>> {
        let mut c = Command::new("sh");
        c.arg("-c").arg("echo out; echo err >&2; exit 3");
        let r = run(c, Duration::from_secs(10))?;
        assert_eq!(
            (r.code, r.stdout.trim(), r.stderr.trim()),
            (Some(3), "out", "err")
        );
        // A grandchild holding the pipes is killed with the group.
        let mut c = Command::new("sh");
        c.arg("-c").arg("sleep 30 & sleep 30");
        let r = run(c, Duration::from_millis(300))?;
        assert!(r.timed_out && r.code.is_none());
        assert!(r.duration < Duration::from_secs(5), "{:?}", r.duration);
        Ok(())
    }

    /// A command that answered and exited, leaving a child holding its output pipes, was
    /// waited for until the timeout and reported as timed out.
    #[test]
    fn a_child_left_behind_does_not_hold_up_the_answer() -> Result<(), Box<dyn std::error::Error>> {
        let mut c = Command::new("sh");
        c.arg("-c").arg("sleep 60 & echo answered; echo note >&2");
        let r = run(c, Duration::from_secs(30))?;
        assert!(!r.timed_out && r.killed_leftovers, "{r:?}");
        assert_eq!(
            (r.code, r.stdout.trim(), r.stderr.trim()),
            (Some(0), "answered", "note")
        );
        assert!(r.duration < Duration::from_secs(5), "{:?}", r.duration);
        Ok(())
    }

    #[test]
    fn uncapped_output_keeps_64_mib_and_reads_the_rest() -> Result<(), Box<dyn std::error::Error>> {
        // 70 MB on stdout: the command runs to its end (no closed pipe), vibe keeps 64 MiB.
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("head -c 70000000 /dev/zero | tr '\\0' x; echo tail >&2");
        let r = run(c, Duration::from_secs(60))?;
        assert_eq!(r.code, Some(0), "{:?}", r.stderr);
        assert_eq!(r.stdout.len(), KEPT_OUTPUT + DROPPED_OUTPUT.len());
        assert!(r.stdout.starts_with("xxx") && r.stdout.ends_with(DROPPED_OUTPUT));
        assert_eq!(r.stderr, "tail\n");
        Ok(())
    }

    #[test]
    fn output_is_capped() -> Result<(), Box<dyn std::error::Error>> {
        let caps = Caps {
            stdout: Some(1000),
            stderr_tail: Some(100),
        };
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("i=0; while [ $i -lt 5000 ]; do echo err$i >&2; i=$((i+1)); done; echo done");
        let r = run_capped(c, Stdio::null(), Duration::from_secs(30), caps)?;
        assert!(!r.stdout_overflow && r.stderr_dropped, "{r:?}");
        assert_eq!(r.stdout, "done\n");
        assert!(
            r.stderr.len() <= 100 && r.stderr.ends_with("err4999\n"),
            "{:?}",
            r.stderr
        );
        // Past the stdout cap vibe stops reading: the command's next write fails.
        let mut c = Command::new("sh");
        c.arg("-c").arg("while true; do echo line; done");
        let r = run_capped(c, Stdio::null(), Duration::from_secs(30), caps)?;
        assert!(r.stdout_overflow && !r.timed_out, "{r:?}");
        assert_eq!(r.stdout.len(), 1000);
        assert!(r.stdout.starts_with("line\n"));
        // Within the caps: all of it.
        let mut c = Command::new("sh");
        c.arg("-c").arg("echo out; echo err >&2");
        let r = run_capped(c, Stdio::null(), Duration::from_secs(30), caps)?;
        assert!(!r.stdout_overflow && !r.stderr_dropped);
        assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
        Ok(())
    }

    /// `start + timeout` panicked ("overflow when adding duration to instant") for a timeout
    /// past the clock's range.
    #[test]
    fn a_huge_timeout_does_not_overflow() -> Result<(), Box<dyn std::error::Error>> {
        let mut c = Command::new("sh");
        c.arg("-c").arg("echo out");
        let r = run(c, Duration::MAX)?;
        assert_eq!((r.code, r.stdout.trim()), (Some(0), "out"));
        assert_eq!(timeout_secs(1e30), Duration::from_secs(86_400));
        assert_eq!(timeout_secs(f64::NAN), Duration::from_secs(1));
        Ok(())
    }

    #[test]
    fn quoting_and_lookup() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(shell_quote("src/a.py"), "src/a.py");
        assert_eq!(shell_quote("it's a"), "'it'\\''s a'");
        assert!(which("sh", &[]).is_some());
        assert!(which("surely-not-a-tool-xyz", &[]).is_none());
        let d = TempDir::new("vibe-test")?;
        std::fs::create_dir_all(d.path().join("crate/src"))?;
        std::fs::write(d.path().join("crate/Cargo.toml"), "")?;
        assert_eq!(
            find_up(d.path(), "crate/src/lib.rs", &["Cargo.toml"]),
            Some(d.path().join("crate"))
        );
        assert_eq!(find_up(d.path(), "x.rs", &["Cargo.toml"]), None);
        let p = d.path().to_path_buf();
        drop(d);
        assert!(!p.exists());
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn scratch_dirs_of_processes_gone_are_swept_once_old() -> Result<(), Box<dyn std::error::Error>>
    {
        let d = TempDir::new("vibe-test")?;
        let base = d.path();
        let dead = crate::unused_pid().ok_or("no free pid")?;
        let hours_ago = |p: &Path, h: u64| -> std::io::Result<()> {
            let t = std::time::SystemTime::now() - Duration::from_secs(h * 3600);
            std::fs::File::open(p)?.set_modified(t)
        };
        let me = std::process::id();
        let gone_old = base.join(format!("vibe-sweep-{dead}-0-1f"));
        let gone_young = base.join(format!("vibe-sweep-{dead}-1-2f"));
        let mine = base.join(format!("vibe-sweep-{me}-0-3f"));
        let running = base.join("vibe-sweep-1-0-4f");
        let other = base.join(format!("vibe-sweeper-{dead}-0-5f"));
        let file = base.join(format!("vibe-sweep-{dead}-2-6f"));
        for dir in [&gone_old, &gone_young, &mine, &running, &other] {
            std::fs::create_dir_all(dir.join("root/sub"))?;
            std::fs::write(dir.join("root/sub/a.py"), "x = 1\n")?;
        }
        std::fs::write(&file, "")?;
        for p in [&gone_old, &mine, &running, &other, &file] {
            hours_ago(p, 2)?;
        }
        assert_eq!(sweep_stale(base, "vibe-sweep", STALE_AFTER), 1);
        assert!(!gone_old.exists());
        for p in [&gone_young, &mine, &running, &other, &file] {
            assert!(p.exists(), "{}", p.display());
        }
        Ok(())
    }
}
