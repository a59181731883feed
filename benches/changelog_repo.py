#!/usr/bin/env python3
"""Rebuilds a git history from a GNU project's ChangeLog, for `context_eval.py --git`.

    benches/changelog_repo.py [--subjects] TREE OUT

GNU release tarballs (coreutils, grep, sed, tar, findutils, diffutils, gzip, …) ship a
ChangeLog made from the project's git log by gitlog-to-changelog: every commit's message, with
the files it changed written as `* path (function): …` lines. Debian's mirror has the tarballs;
the histories themselves are not reachable from here. This makes OUT a git repository whose
first commit is TREE without its ChangeLog, followed by one commit per ChangeLog entry, oldest
first, with the entry's message (subject and body, `* path` lines included, as git had them)
and a change to each listed file that exists in TREE: a trailing newline added, or removed
again the next time. `context_eval.py --git OUT` then asks vibe for each of the latest commits'
subjects on a checkout of its parent, where `git log` holds only the commits before it.

The tree is the release's, not each commit's parent's: a file's content is that of the release
whatever commit is checked out (only the trailing newlines differ), so lexical scores see the
code as it was after the change. That is the same for vibe with and without history, which is
what this measures (`-c context.history=0` against the default; see docs/context.md).

GnuPG's ChangeLogs (gnupg, libgcrypt, gpgme, libgpg-error, libassuan) mark each commit with a
`+ commit <hash>` line, which then splits the entries instead of the heuristic.

`--subjects` keeps only each commit's subject line: most projects' commits do not list the
files and functions they change the way GNU's do, and their history is then a weaker hint.
"""

import os
import re
import subprocess
import sys


def parse(path, tree, subjects=False):
    """ChangeLog entries as (author line, message, files), oldest first."""
    commits = []
    cur = None
    author = None
    prev_blank = True
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    # GnuPG's ChangeLogs (gnupg, libgcrypt, gpgme, …) mark every commit with a
    # `+ commit <hash>` line after its subject: there the marks alone split commits.
    marker = re.compile(r"^\s*\+ commit [0-9a-f]{7,40}\s*$")
    starts = set()
    for i, line in enumerate(lines):
        if marker.match(line):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            starts.add(j)
    for i, line in enumerate(lines):
        if marker.match(line):
            continue
        if re.match(r"^\d{4}-\d\d-\d\d ", line):
            author = line
            cur = None
            prev_blank = True
            continue
        if not line.strip():
            prev_blank = True
            if cur is not None:
                cur["message"].append("")
            continue
        s = line.strip()
        # A second commit under one date line starts after a blank line, once the one before
        # has listed its files, with a `component: …` subject.
        if starts:
            new = cur is None or i in starts
        else:
            new = cur is None or (
                prev_blank and cur["files"] and re.match(r"^[\w.,/+-]+( [\w.,/+-]+)?: ", s)
            )
        if new:
            cur = {"author": author, "message": [], "files": []}
            commits.append(cur)
        cur["message"].append(s)
        m = re.match(r"^\*\s+(.*)", s)
        if m:
            head = re.split(r"[(:]", m.group(1), maxsplit=1)[0]
            for p in re.split(r"[,\s]+", head):
                # `./dirmngr/validate.c` is dirmngr/validate.c to git.
                p = os.path.normpath(p) if p else p
                inside = p and not p.startswith("..") and not os.path.isabs(p)
                if inside and os.path.isfile(os.path.join(tree, p)) and p not in cur["files"]:
                    cur["files"].append(p)
        prev_blank = False
    out = []
    for c in reversed(commits):
        # gitlog-to-changelog drops the blank line after the subject: put it back.
        subject, *body = "\n".join(c["message"]).strip().split("\n")
        if subjects:
            body = []
        msg = subject + ("\n\n" + "\n".join(body).strip() if body else "") + "\n"
        m = re.match(r"^(.*?)\s+<([^>]*)>", c["author"][12:].strip()) if c["author"] else None
        name, mail = (m.group(1), m.group(2)) if m else ("unknown", "unknown@example.org")
        # git's ident has one <…>: old entries write "Name <Name <mail>>".
        name = re.sub(r"[<>\n]", "", name).strip() or "unknown"
        mail = re.sub(r"[<>\s]", "", mail) or "unknown@example.org"
        date = c["author"][:10] if c["author"] else "2000-01-01"
        out.append((name, mail, date, msg, c["files"]))
    return out


def main():
    args = sys.argv[1:]
    subjects = "--subjects" in args
    args = [a for a in args if a != "--subjects"]
    if len(args) != 2:
        sys.exit(__doc__)
    tree, out = os.path.abspath(args[0]), os.path.abspath(args[1])
    commits = parse(os.path.join(tree, "ChangeLog"), tree, subjects)
    if os.path.exists(out):
        sys.exit(f"{out} exists: remove it first")
    subprocess.run(["cp", "-a", tree, out], check=True)
    os.remove(os.path.join(out, "ChangeLog"))
    subprocess.run(["rm", "-rf", os.path.join(out, ".vibe")], check=True)
    env = dict(os.environ, GIT_AUTHOR_DATE="2000-01-01T00:00:00", GIT_COMMITTER_DATE="2000-01-01T00:00:00")
    run = lambda *a: subprocess.run(["git", "-C", out, *a], check=True, env=env,
                                    stdout=subprocess.DEVNULL)
    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("-c", "user.name=import", "-c", "user.email=import@example.org", "commit", "-q",
        "--no-verify", "-m", "Import the release tree")
    contents = {}
    stream = []
    mark = 0
    for name, mail, date, msg, files in commits:
        stream.append("commit refs/heads/main\n")
        when = f"{date}T12:00:00"
        seconds = int(subprocess.run(["date", "-u", "-d", when, "+%s"], capture_output=True,
                                     text=True, check=True).stdout)
        stream.append(f"author {name} <{mail}> {seconds} +0000\n")
        stream.append(f"committer {name} <{mail}> {seconds} +0000\n")
        data = msg.encode()
        stream.append(f"data {len(data)}\n{msg}\n")
        if mark == 0:
            stream.append("from refs/heads/main^0\n")
        mark += 1
        for p in files:
            if p not in contents:
                with open(os.path.join(tree, p), "rb") as f:
                    contents[p] = [f.read(), False]
            body, extra = contents[p]
            contents[p][1] = not extra
            blob = body + (b"\n" if not extra else b"")
            stream.append(f"M 100644 inline {p}\ndata {len(blob)}\n")
            stream.append(blob)
            stream.append("\n")
        stream.append("\n")
    payload = b"".join(s if isinstance(s, bytes) else s.encode() for s in stream)
    subprocess.run(["git", "-C", out, "fast-import", "--quiet"], input=payload, check=True)
    run("checkout", "-q", "-f", "main")
    print(f"{out}: {len(commits)} commits", file=sys.stderr)


if __name__ == "__main__":
    main()
