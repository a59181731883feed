#!/usr/bin/env python3
"""vibe command plugin: a changelog draft from git log.

Usage: vibe plugin run changelog [SINCE] [--until REF]
SINCE defaults to the latest tag reachable from HEAD (all history if there is none).
Commits are grouped by their Conventional Commits type (feat, fix, docs, ...), else "Other".
Answers {"title": ..., "output": ...}; {"error": ...} when this is not a git repository.
"""
import json
import subprocess
import sys

GROUPS = [
    ("feat", "Features"),
    ("fix", "Fixes"),
    ("perf", "Performance"),
    ("refactor", "Refactoring"),
    ("docs", "Documentation"),
    ("test", "Tests"),
    ("build", "Build"),
    ("ci", "CI"),
    ("chore", "Chores"),
]


def git(root, *args):
    r = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr.strip()


def parse(subject):
    """('fix', 'parser', 'handle empty input', breaking) from 'fix(parser)!: handle empty input'."""
    head, sep, rest = subject.partition(": ")
    if sep:
        breaking = head.endswith("!")
        head = head.rstrip("!")
        kind, _, scope = head.partition("(")
        scope = scope.rstrip(")")
        if kind.isalpha() and kind.lower() in dict(GROUPS):
            return kind.lower(), scope, rest.strip(), breaking
    return None, "", subject.strip(), False


def main():
    req = json.load(sys.stdin)
    root = req["root"]
    args = list(req.get("args") or [])
    until = "HEAD"
    if "--until" in args:
        i = args.index("--until")
        if i + 1 >= len(args):
            json.dump({"error": "--until needs a ref"}, sys.stdout)
            return
        until = args[i + 1]
        del args[i:i + 2]
    code, _, err = git(root, "rev-parse", "--verify", "--quiet", until)
    if code != 0:
        json.dump({"error": f"not a git repository with commits, or no ref {until!r}: {err}"}, sys.stdout)
        return
    since = args[0] if args else None
    if since is None:
        code, out, _ = git(root, "describe", "--tags", "--abbrev=0", until)
        since = out.strip() if code == 0 and out.strip() else None
    rng = f"{since}..{until}" if since else until
    code, out, err = git(root, "log", "--no-merges", "--format=%h%x1f%s%x1f%an", rng)
    if code != 0:
        json.dump({"error": f"git log {rng} failed: {err}"}, sys.stdout)
        return
    groups = {}
    breaking = []
    for line in out.splitlines():
        parts = line.split("\x1f")
        if len(parts) != 3:
            continue
        sha, subject, _author = parts
        kind, scope, text, brk = parse(subject)
        entry = f"- {'**' + scope + ':** ' if scope else ''}{text} ({sha})"
        groups.setdefault(kind, []).append(entry)
        if brk:
            breaking.append(entry)
    title = f"Changes since {since}" if since else "Changes"
    lines = [f"## {title}", ""]
    if not groups:
        lines.append("No commits.")
    if breaking:
        lines += ["### Breaking changes", "", *breaking, ""]
    for kind, heading in GROUPS + [(None, "Other")]:
        if kind in groups:
            lines += [f"### {heading}", "", *groups[kind], ""]
    print(f"changelog: {sum(len(v) for v in groups.values())} commits in {rng}", file=sys.stderr)
    json.dump({"title": title, "output": "\n".join(lines).rstrip() + "\n"}, sys.stdout)


if __name__ == "__main__":
    main()
