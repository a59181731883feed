#!/usr/bin/env python3
"""Time from starting `vibe chat` to its first frame on screen, in a pseudo-terminal.

    benches/chat_first_frame.py [-n RUNS] [--corpus DIR] [--vibe PATH]

Runs `vibe -C CORPUS chat` (release build) in a 120x40 pty, answers the terminal queries a real
terminal answers (cursor position, device attributes), and measures the wall time from the
spawn until the first frame's input line ("Ask vibe") has been written; then quits with Ctrl-D.
The first run warms the index (and is not counted). Prints the median and range. Needs no model:
the session contacts the provider only when a message is sent. VIBE_HOME is a temp dir.
"""
import argparse, fcntl, os, pty, select, statistics, struct, sys, tempfile, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("-n", type=int, default=9)
ap.add_argument("--corpus", default=os.path.join(tempfile.gettempdir(), "corp", "stdlib"))
ap.add_argument("--vibe", default="target/release/vibe")
a = ap.parse_args()
home = tempfile.mkdtemp(prefix="vibe-first-frame-")


def once():
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(os.environ, VIBE_HOME=home, TERM="xterm-256color")
        os.execve(a.vibe, [a.vibe, "-C", a.corpus, "chat"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen, answered, first = b"", {b"\x1b[6n": 0, b"\x1b[c": 0}, None
    deadline = time.time() + 30
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        seen += chunk
        for q, reply in ((b"\x1b[6n", b"\x1b[1;1R"), (b"\x1b[c", b"\x1b[?62;22c")):
            while answered[q] < seen.count(q):
                os.write(fd, reply)
                answered[q] += 1
        if b"Ask vibe" in seen:
            first = time.perf_counter() - t0
            break
    os.write(fd, b"\x04")
    try:
        for _ in range(100):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            select.select([fd], [], [], 0.05)
            try:
                os.read(fd, 65536)
            except OSError:
                pass
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(fd)
    return first


once()
times = [once() for _ in range(a.n)]
ms = [t * 1000 for t in times if t is not None]
if len(ms) < len(times):
    print(f"{len(times) - len(ms)} run(s) drew no frame within 30 s", file=sys.stderr)
print(f"first frame: median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}) over {len(ms)} runs")
