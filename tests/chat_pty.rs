//! `vibe chat` in a real pseudo-terminal: the TUI starts, a typed message gets the scripted
//! model's streamed answer on screen, and `/quit` leaves with the terminal restored. The pty is
//! driven by python3's `pty` module (python3 is on every machine vibe is built on here).

use crate::util::llm_server::{Server, openai};
use crate::util::{Test, pty_prelude};

const DRIVER: &str = r#"
if not wait_for(b"\x1b[?1049h", 20):
    print("FAIL no alternate screen"); sys.exit(1)
time.sleep(0.5)
__BEFORE_TYPING__
typed("hello there")
os.write(fd, b"\r")
if not wait_for(b"Zanzibar", 30):
    print("FAIL no answer on screen"); print(seen[-2000:]); sys.exit(1)
time.sleep(0.3)
typed("/quit")
os.write(fd, b"\r")
status = exit_status(15)
if status is None:
    print("FAIL did not exit"); sys.exit(1)
if b"\x1b[?1049l" not in seen:
    print("FAIL terminal not restored"); sys.exit(1)
print("OK", os.waitstatus_to_exitcode(status))
"#;

#[test]
fn the_tui_shows_a_streamed_answer_and_quits() {
    let t = Test::fixture("python");
    let s = Server::start();
    s.push(openai::stream(
        &["The capital ", "is ", "Zanzibar", " town."],
        Some((50, 6, 0)),
    ));
    let driver = DRIVER.replace("__BEFORE_TYPING__", "");
    let (stdout, stderr) = run_driver(&format!("{}{driver}", pty_prelude(&["chat"])), &t, &s, &[]);
    assert!(stdout.starts_with("OK 0"), "{stdout}\n{stderr}");
    assert_eq!(s.request_count(), 1);
}

/// Runs a python3 pty `driver` against vibe in a copy of the python fixture with a scripted
/// provider (`s`), `args` after the driver's own; returns its stdout and stderr.
fn run_driver(driver: &str, t: &Test, s: &Server, args: &[&str]) -> (String, String) {
    std::fs::write(
        t.home.path().join("config.toml"),
        format!(
            "[llm]\nmodel = \"scripted/test-model\"\n[providers.scripted]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nlocal = true\n",
            s.url()
        ),
    )
    .expect("config");
    let mut c = std::process::Command::new("python3");
    c.arg("-c")
        .arg(driver)
        .arg(env!("CARGO_BIN_EXE_vibe"))
        .arg(t.root())
        .args(args)
        .env("VIBE_HOME", t.home.path())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR");
    for (k, _) in std::env::vars() {
        if k.starts_with("VIBE_") && k != "VIBE_HOME" {
            c.env_remove(k);
        }
    }
    let out = c.output().expect("python3 runs the pty driver");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// SIGTERM, SIGHUP or SIGINT to the TUI: the terminal is restored (raw mode off, main screen, mouse
/// capture and bracketed paste off) and vibe exits 128 + the signal. The driver keeps the pty's
/// terminal side open so that it can read its modes after vibe is gone.
const SIGNAL_DRIVER: &str = r#"
import fcntl, os, select, signal, struct, subprocess, sys, termios, time
vibe, root, signame = sys.argv[1], sys.argv[2], sys.argv[3]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
p = subprocess.Popen([vibe, "-C", root, "chat"], stdin=slave, stdout=slave, stderr=slave,
                     start_new_session=True)
seen = b""
answered = {b"\x1b[6n": 0, b"\x1b[c": 0}
def pump(timeout):
    global seen
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return
        seen += chunk
        for q, reply in ((b"\x1b[6n", b"\x1b[1;1R"), (b"\x1b[c", b"\x1b[?62;22c")):
            while answered[q] < seen.count(q):
                os.write(master, reply)
                answered[q] += 1
end = time.time() + 20
while b"\x1b[?1049h" not in seen and time.time() < end:
    pump(0.1)
if b"\x1b[?1049h" not in seen:
    print("FAIL no alternate screen"); sys.exit(1)
end = time.time() + 1
while time.time() < end:
    pump(0.05)
if termios.tcgetattr(slave)[3] & termios.ICANON:
    print("FAIL not in raw mode"); sys.exit(1)
p.send_signal(getattr(signal, signame))
end = time.time() + 15
while p.poll() is None and time.time() < end:
    pump(0.05)
if p.poll() is None:
    p.kill(); print("FAIL did not exit"); sys.exit(1)
for _ in range(5):
    pump(0.05)
lflag = termios.tcgetattr(slave)[3]
missing = [name for name, seq in (("main screen", b"\x1b[?1049l"), ("mouse off", b"\x1b[?1000l"),
           ("paste off", b"\x1b[?2004l")) if seq not in seen.split(b"\x1b[?1049h", 1)[1]]
if not (lflag & termios.ICANON and lflag & termios.ECHO):
    missing.append("raw mode off")
if missing:
    print("FAIL not restored:", ", ".join(missing)); sys.exit(1)
print("OK", p.returncode)
"#;

fn signal_leaves_the_terminal_restored(signal: &str, code: i32) {
    let t = Test::fixture("python");
    let s = Server::start();
    let (stdout, stderr) = run_driver(SIGNAL_DRIVER, &t, &s, &[signal]);
    assert_eq!(stdout.trim(), format!("OK {code}"), "{stdout}\n{stderr}");
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_leaves_the_terminal_restored("SIGTERM", 143);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_leaves_the_terminal_restored("SIGHUP", 129);
}

/// A SIGINT from outside (a typed Ctrl-C is a key in raw mode): it killed vibe with the
/// terminal left raw, on the alternate screen.
#[test]
fn an_outside_sigint_restores_the_terminal() {
    signal_leaves_the_terminal_restored("SIGINT", 130);
}

/// The terminal closed under the TUI (a terminal window closed, an ssh connection gone): the
/// kernel hangs the pty up and sends SIGHUP. vibe exits 129 rather than spinning on a tty that
/// reads nothing, and kills nothing it should not.
const HANGUP_DRIVER: &str = r#"
if not wait_for(b"\x1b[?1049h", 20):
    print("FAIL no alternate screen"); sys.exit(1)
time.sleep(0.5)
os.close(fd)
end = time.time() + 20
while time.time() < end:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        print("OK", os.waitstatus_to_exitcode(st)); sys.exit(0)
    time.sleep(0.05)
os.kill(pid, 9)
print("FAIL still running after the hangup"); sys.exit(1)
"#;

#[test]
fn a_closed_terminal_ends_the_tui() {
    let t = Test::fixture("python");
    let s = Server::start();
    let (stdout, stderr) = run_driver(
        &format!("{}{HANGUP_DRIVER}", pty_prelude(&["chat"])),
        &t,
        &s,
        &[],
    );
    assert_eq!(stdout.trim(), "OK 129", "{stdout}\n{stderr}");
}

/// A pty that says it is 65535 × 65535 cells (a broken terminal, a mistyped `stty`): ratatui
/// keeps buffers of a cell per screen position, and the allocation of four billion cells
/// aborted the process with the terminal left raw. The TUI draws at most 1000 × 500 cells.
#[test]
fn a_terminal_of_absurd_size_is_drawn_in_part() {
    let t = Test::fixture("python");
    let s = Server::start();
    s.push(openai::stream(
        &["The capital ", "is ", "Zanzibar", "."],
        None,
    ));
    let driver = DRIVER.replace(
        "__BEFORE_TYPING__",
        "fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 65535, 65535, 0, 0))\ntime.sleep(0.5)",
    );
    let (stdout, stderr) = run_driver(&format!("{}{driver}", pty_prelude(&["chat"])), &t, &s, &[]);
    assert!(stdout.starts_with("OK 0"), "{stdout}\n{stderr}");
}
