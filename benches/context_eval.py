#!/usr/bin/env python3
"""Evaluates `vibe context` on real changes: the patches Debian applies to upstream sources.

    benches/context_eval.py [--vibe PATH] [--packages a,b,...] [--budget N] [--cache DIR]
                            [--json OUT] [--no-baseline] [--git REPO [--commits N]]
                            [--changelog TREE [--commits N]]

Each Debian source package ships its upstream tarball and, in debian/patches, changes made on
top of it: backported upstream commits and security fixes, each with a DEP-3 header
(Description or Subject) that reads like a commit message or an issue title. For every patch
that touches source files present in the upstream tree, the task is that header text (without
CVE ids, "[PATCH]" and Debian bookkeeping lines), and the needed files are the source files the
patch changes. vibe runs on the pristine upstream tree (`vibe -C <tree> context --json`).

With --git REPO, the tasks come from that repository's own history instead: each of its last
--commits non-merge commits that modifies source files, the subject line as the task, run on a
checkout of the commit's parent (in a clone under --cache).

With --changelog TREE (a release tree without .git whose top-level ChangeLog names the files
each entry changed: GNU's), the tasks come from that ChangeLog's entries, read as vibe reads
them (src/context/changelog.rs): each of the newest --commits entries that names source files,
its subject as the task (--whole-message: its whole text), run on a copy of TREE under --cache
whose ChangeLog holds only the entries before it (the other directories' ChangeLogs, and the
ones their older entries were moved to, removed; the top directory's `ChangeLog.1` or
`ChangeLog-2011` kept: all of it is older), so that vibe's history is what came before the
change. The tree's code is the release's, as with --git on a repository rebuilt by
benches/changelog_repo.py.

Reported per package and overall, as the mean over tasks:
  recall@1, recall@5   share of the needed files among the first 1 / 5 ranked files
  in-context           share of the needed files included in the packed context (full,
                       partial, skeleton or map lines) at the budget (default 8000)
and the same recall for a plain BM25 over whole files (the issue's reference baseline), computed
here in Python over the same candidate files.

Downloads (~60 MB with the default packages) go to --cache (default
$TMPDIR/vibe-context-eval) and are reused. Needs python3 and network access to
deb.debian.org. See docs/context.md for the figures.
"""

import argparse
import email.header
import io
import json
import math
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections import Counter

MIRROR = "http://deb.debian.org/debian"
SOURCES = MIRROR + "/dists/bookworm/main/source/Sources.xz"
# Several languages, each with patches that change code: C (curl, redis, nginx, jq), Python
# (django), Go (runc, containerd), JavaScript / TypeScript (babel, webpack, tmp), Java
# (tomcat10, jetty9, commons-lang3). Packages are those of Debian 12 with code patches whose
# upstream tarball is on the mirror.
DEFAULT_PACKAGES = [
    "curl", "redis", "nginx", "jq", "python-django", "runc", "containerd", "node-babel7",
    "node-webpack", "node-tmp", "tomcat10", "jetty9", "libcommons-lang3-java",
]
SOURCE_EXT = re.compile(
    r"\.(c|h|cc|cpp|cxx|hpp|py|pyi|js|mjs|cjs|jsx|ts|tsx|go|java|rs)$"
)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def fetch(url, dest):
    if not os.path.exists(dest):
        log(f"fetch {url}")
        data = urllib.request.urlopen(url, timeout=120).read()
        tmp = dest + ".part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    return dest


def sources_index(cache):
    import lzma

    path = fetch(SOURCES, os.path.join(cache, "Sources.xz"))
    index = {}
    with lzma.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for para in f.read().split("\n\n"):
            m = re.search(r"^Package: (.+)$", para, re.M)
            d = re.search(r"^Directory: (.+)$", para, re.M)
            if m and d:
                files = re.findall(r"^ [0-9a-f]{32} \d+ (\S+)$", para, re.M)
                index[m.group(1)] = (d.group(1), files)
    return index


def unpack(package, index, cache):
    """The upstream tree (extracted once) and the patch texts, in series order."""
    directory, files = index[package]
    orig = [f for f in files if re.search(r"\.orig\.tar\.(gz|xz|bz2)$", f)]
    deb = [f for f in files if f.endswith(".debian.tar.xz")]
    if not orig or not deb:
        raise RuntimeError(f"{package}: no orig or debian tarball")
    tree = os.path.join(cache, package, "tree")
    if not os.path.isdir(tree):
        archive = fetch(f"{MIRROR}/{directory}/{orig[0]}", os.path.join(cache, orig[0]))
        tmp = tree + ".part"
        os.makedirs(tmp, exist_ok=True)
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
        # Tarballs hold one top directory; the tree is its content.
        entries = os.listdir(tmp)
        top = os.path.join(tmp, entries[0]) if len(entries) == 1 else tmp
        os.makedirs(os.path.dirname(tree), exist_ok=True)
        os.replace(top, tree)
    archive = fetch(f"{MIRROR}/{directory}/{deb[0]}", os.path.join(cache, deb[0]))
    patches = []
    with tarfile.open(archive) as t:
        members = {m.name: m for m in t.getmembers() if m.isfile()}
        series = members.get("debian/patches/series")
        names = []
        if series:
            for line in t.extractfile(series).read().decode("utf-8", "replace").splitlines():
                line = line.split("#")[0].strip()
                if line:
                    names.append(line.split()[0])
        for n in names:
            m = members.get("debian/patches/" + n)
            if m:
                patches.append((n, t.extractfile(m).read().decode("utf-8", "replace")))
    return tree, patches


def task_text(patch):
    """The DEP-3 description or git subject and body, as a developer would phrase the task."""
    header = patch.split("\n---", 1)[0].split("\ndiff ", 1)[0].split("\nIndex: ", 1)[0]
    lines = header.splitlines()
    out = []
    grab = False
    for line in lines:
        m = re.match(r"^(Description|Subject):\s*(.*)$", line)
        if m:
            grab = True
            out.append(m.group(2))
            continue
        if grab:
            if line.startswith((" ", "\t")) and line.strip() not in (".", ""):
                out.append(line.strip())
            elif line.strip() == "" and m is None and len(out) < 2:
                continue
            else:
                grab = False
    text = " ".join(out)
    if "=?" in text:  # RFC 2047 encoded words, as git format-patch writes non-ASCII subjects
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except (ValueError, LookupError):
            pass
    text = re.sub(r"\[PATCH[^\]]*\]", "", text)
    text = re.sub(r"\bCVE-\d{4}-\d+\b", "", text)
    text = re.sub(r"\s+", " ", text).strip(" :-,")
    return text


def touched(patch, tree):
    files = []
    for m in re.finditer(r"^\+\+\+ (\S+)", patch, re.M):
        p = m.group(1)
        if p == "/dev/null":
            continue
        # Strip the a/ b/ or package-version/ prefix: find the shortest suffix in the tree.
        parts = p.split("/")
        for i in range(len(parts)):
            cand = "/".join(parts[i:])
            if os.path.isfile(os.path.join(tree, cand)):
                if cand not in files:
                    files.append(cand)
                break
    return [f for f in files if SOURCE_EXT.search(f)]


def words(text):
    out = []
    for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
        out.append(w.lower())
        parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", w)
        if len(parts) > 1:
            out.extend(p.lower() for p in parts)
    return out


class Bm25:
    """A plain BM25 over whole files (k1 1.2, b 0.75): the baseline."""

    def __init__(self, tree, paths):
        self.paths = paths
        self.tf = []
        df = Counter()
        for p in paths:
            try:
                with open(os.path.join(tree, p), encoding="utf-8", errors="replace") as f:
                    c = Counter(words(f.read()))
            except OSError:
                c = Counter()
            self.tf.append(c)
            df.update(c.keys())
        self.n = len(paths)
        self.avg = sum(sum(c.values()) for c in self.tf) / max(1, self.n)
        self.idf = {t: math.log(1 + (self.n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def rank(self, query):
        q = set(words(query))
        scores = []
        for p, c in zip(self.paths, self.tf):
            length = sum(c.values()) or 1
            s = 0.0
            for t in q:
                f = c.get(t, 0)
                if f:
                    s += self.idf[t] * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * length / self.avg))
            if s > 0:
                scores.append((-s, p))
        scores.sort()
        return [p for _, p in scores]


def recall(ranked, needed, k):
    return len(set(ranked[:k]) & set(needed)) / len(needed)


def debian_groups(packages, cache):
    """(package, tree, cases) for each Debian package: its patches as tasks."""
    index = sources_index(cache)
    for package in packages:
        try:
            tree, patches = unpack(package, index, cache)
        except Exception as e:  # a package that moved on the mirror: say so, go on
            log(f"{package}: skipped ({e})")
            continue
        cases = []
        for name, patch in patches:
            task = task_text(patch)
            needed = touched(patch, tree)
            if needed and len(re.findall(r"[A-Za-z]{3,}", task)) >= 3:
                cases.append((name, task, needed, None))
        yield package, tree, cases


def git(repo, *a):
    return subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True,
                          check=True).stdout


def git_cases(repo, commits, cache, whole=False):
    """Tasks from a git repository's own history: for each of the last `commits` commits of HEAD
    (merges left out) that modify source files, the task is the commit's subject line and the
    needed files are the source files it modifies (files it adds cannot be found). Each task runs
    on a checkout of the commit's parent, whose history is all that `git log` shows there."""
    name = os.path.basename(os.path.abspath(repo).rstrip("/")) or "repo"
    tree = os.path.join(cache, "git-" + name)
    if not os.path.isdir(tree):
        subprocess.run(["git", "clone", "-q", "--no-checkout", os.path.abspath(repo), tree],
                       check=True)
    else:
        git(tree, "fetch", "-q", os.path.abspath(repo), "+HEAD:refs/eval/head")
    head = git(os.path.abspath(repo), "rev-parse", "HEAD").strip()
    cases = []
    for line in git(tree, "log", "--no-merges", f"-{commits}", "--format=%H %P", head).splitlines():
        c, *parents = line.split()
        if len(parents) != 1:
            continue
        subject, _, message = git(tree, "log", "-1", "--format=%s%x00%B", c).partition("\0")
        subject = subject.strip()
        task = message.strip() if whole else subject
        # -z: status and path NUL-separated, paths unquoted whatever they hold.
        fields = git(tree, "diff-tree", "--no-commit-id", "--name-status", "-r", "--no-renames",
                     "-z", c).split("\0")
        needed = [p for st, p in zip(fields[0::2], fields[1::2])
                  if st == "M" and SOURCE_EXT.search(p)]
        if needed and len(re.findall(r"[A-Za-z]{3,}", subject)) >= 3:
            cases.append((c[:12], task, needed, parents[0]))
    return name, tree, cases[::-1]


def changelog_entries(text):
    """A ChangeLog's entries as vibe reads them (src/context/changelog.rs `parse`), newest
    first: [first line from 0, date or None, message lines, files]."""
    if text.startswith("\ufeff"):
        text = text[1:]
    # As Rust's `str::lines`: split at \n, a \r before it dropped, no line after a last \n.
    lines = [l[:-1] if l.endswith("\r") else l for l in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    mark = re.compile(r"^\+ commit [0-9a-fA-F]{7,40}$")
    changeset = re.compile(r"^\[[0-9a-fA-F]{12,40}\]")
    iso = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(\s|$)")
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    days = "Mon Tue Wed Thu Fri Sat Sun".split()

    def valid(d):
        return d if 1 <= d[1] <= 12 and 1 <= d[2] <= 31 else None

    def header(line):
        m = iso.match(line)
        if m:
            return valid(tuple(int(x) for x in m.groups()[:3]))
        w = line.split()
        if len(w) >= 3 and w[0] in days and w[1] in months and re.fullmatch(r"[0-9]+", w[2]):
            for y in w[3:6]:
                if re.fullmatch(r"[0-9]+", y) and 1970 <= int(y) < 3000:
                    return valid((int(y), months.index(w[1]) + 1, int(w[2])))
        return None

    def subject(s):
        head, sep, _ = s.partition(": ")
        words = head.split(" ")
        return bool(sep) and bool(head) and len(words) <= 2 and all(
            w and all(c.isalnum() or c in "_.,/+-" for c in w) for w in words)

    def normalized(word):
        word = word.strip()
        if word.startswith("/"):
            return None
        parts = [p for p in word.split("/") if p and p != "."]
        return None if not parts or ".." in parts else "/".join(parts)

    def read(lst, text):
        """Feeds a line to a file list {names, depth, more}; the names once a `:` ends it."""
        listed, done = [], False
        for c in text:
            if c in "([":
                lst["depth"] += 1
            elif c in ")]":
                lst["depth"] = max(0, lst["depth"] - 1)
            elif c == ":" and lst["depth"] == 0:
                done = True
                break
            elif lst["depth"] == 0:
                listed.append(c)
        for w in re.split(r"[,\s]", "".join(listed)):
            if len(lst["names"]) >= 1000:
                break
            p = normalized(w)
            if p:
                lst["names"].append(p)
        lst["more"] = lst["depth"] > 0 or text.rstrip().endswith(",")
        if done:
            names, lst["names"] = lst["names"], []
            return names
        return None

    starts = set()
    marked = False
    for i, line in enumerate(lines):
        if mark.match(line.strip()):
            marked = True
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            if j >= 0:
                starts.add(j)
    # Entries as [line, date, message lines, files, split].
    entries, is_open, date, prev_blank, lst = [], False, None, True, None
    for i, line in enumerate(lines):
        s = line.strip()
        if marked and mark.match(s):
            continue
        if line[:1] and not line[:1].isspace() and header(line):
            date, is_open, prev_blank, lst = header(line), False, True, None
            continue
        if not s:
            prev_blank, lst = True, None
            if is_open and entries[-1][2][-1:] != [""]:
                entries[-1][2].append("")
            continue
        if changeset.match(s):
            is_open, lst = False, None
            continue
        split = (is_open and not marked and prev_blank and subject(s)
                 and (bool(entries[-1][3]) or entries[-1][4]))
        if not is_open or split or (marked and i in starts):
            entries.append([i, date, [], [], split])
            is_open, lst = True, None
        e = entries[-1]
        e[2].append(s)
        names = None
        if s.startswith("*") and s[1:2].isspace():
            lst = {"names": [], "depth": 0, "more": False}
            names = read(lst, s[1:])
            if names is not None:
                lst = None
        elif lst is not None and (lst["more"] or s.startswith(("(", "["))):
            names = read(lst, s)
            if names is not None:
                lst = None
        else:
            lst = None
        for n in names or []:
            if len(e[3]) < 1000 and n not in e[3]:
                e[3].append(n)
        prev_blank = False
    out = []
    for e in entries:
        if out and e[4] and not e[3]:
            out[-1][2] += [""] + e[2]
        else:
            out.append(e)
    for e in out:
        while e[2] and e[2][-1] == "":
            e[2].pop()
    return [e[:4] for e in out]


def changelog_cases(src, commits, cache, whole=False):
    """Tasks from a release tree's ChangeLog (see the module's doc): for each of its newest
    `commits` entries that names source files of the tree, the entry's subject (or whole text)
    and those files; preparing a task writes the copy's ChangeLog with the entries after it."""
    src = os.path.abspath(src).rstrip("/")
    name = os.path.basename(src) or "tree"
    tree = os.path.join(cache, "changelog-" + name)
    if os.path.islink(tree):
        # Left by a version of this script that copied a symbolic link as one.
        os.remove(tree)
    if not os.path.isdir(tree):
        # The tree itself, not a symbolic link to it: the copy's ChangeLogs are rewritten and
        # removed below.
        subprocess.run(["cp", "-a", os.path.realpath(src), tree], check=True)
        subprocess.run(["rm", "-rf", os.path.join(tree, ".git"), os.path.join(tree, ".vibe")],
                       check=True)
        # Other directories' ChangeLogs, and the ones their older entries were moved to
        # (`ChangeLog.1`, `ChangeLog-2011`), may hold entries newer than a task.
        for d, _, files in os.walk(tree):
            for f in files:
                if d != tree and re.fullmatch(r"ChangeLog([.-][0-9]+)?", f):
                    os.remove(os.path.join(d, f))
    with open(os.path.join(src, "ChangeLog"), encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = text.split("\n")
    entries = changelog_entries(text)
    cases = []
    for k, (_, _, message, files) in enumerate(entries[:commits]):
        message = "\n".join(message).strip()
        subject = message.split("\n")[0]
        needed = [p for p in files
                  if SOURCE_EXT.search(p) and os.path.isfile(os.path.join(src, p))]
        if not needed or len(re.findall(r"[A-Za-z]{3,}", subject)) < 3:
            continue
        rest = entries[k + 1] if k + 1 < len(entries) else None

        def prepare(rest=rest):
            # The entries after this one, under their date's header (theirs may be above).
            body = ""
            if rest is not None:
                first, date = rest[0], rest[1]
                head = "%04d-%02d-%02d  eval  <eval@example.org>\n\n" % date if date else ""
                body = head + "\n".join(lines[first:])
            with open(os.path.join(tree, "ChangeLog"), "w", encoding="utf-8") as f:
                f.write(body)

        cases.append((f"{name}:{entries[k][0] + 1}", message if whole else subject, needed,
                      prepare))
    return name, tree, cases[::-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--vibe", default=os.path.join(root, "target", "release", "vibe"))
    ap.add_argument("--packages", default=",".join(DEFAULT_PACKAGES))
    ap.add_argument("--budget", type=int, default=8000)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "vibe-context-eval"))
    ap.add_argument("--json", help="write every task's result here")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--git", metavar="REPO",
                    help="tasks from this git repository's history instead of Debian patches")
    ap.add_argument("--changelog", metavar="TREE",
                    help="tasks from this release tree's ChangeLog instead of Debian patches")
    ap.add_argument("--commits", type=int, default=100,
                    help="with --git or --changelog: how many of the latest commits to try "
                         "(default 100)")
    ap.add_argument("--whole-message", action="store_true",
                    help="with --git or --changelog: the task is the commit's whole message, "
                         "not its subject")
    args = ap.parse_args()
    if args.whole_message and not (args.git or args.changelog):
        ap.error("--whole-message needs --git or --changelog (Debian tasks are whole "
                 "descriptions already)")
    if args.git and args.changelog:
        ap.error("--git and --changelog are two sources of tasks: give one")
    os.makedirs(args.cache, exist_ok=True)
    if args.git:
        groups = [git_cases(args.git, args.commits, args.cache, args.whole_message)]
    elif args.changelog:
        groups = [changelog_cases(args.changelog, args.commits, args.cache, args.whole_message)]
    else:
        groups = debian_groups(args.packages.split(","), args.cache)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VIBE_") or k.startswith("VIBE_RANK_")}
    env["VIBE_HOME"] = os.path.join(args.cache, "home")
    results = []
    for package, tree, cases in groups:
        if not cases:
            continue
        log(f"{package}: {len(cases)} tasks")
        baseline = None
        for name, task, needed, checkout in cases:
            if callable(checkout):
                checkout()
            elif checkout:
                git(tree, "checkout", "-q", "--detach", "--force", checkout)
                baseline = None
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
                f.write(task)
                qf = f.name
            try:
                out = subprocess.run(
                    [args.vibe, "-C", tree, "context", "--json", "--budget", str(args.budget),
                     "--query-file", qf],
                    env=env, capture_output=True, text=True, check=True,
                ).stdout
            finally:
                os.unlink(qf)
            j = json.loads(out)
            ranked = [f["path"] for f in j["files"]]
            inside = {f["path"] for f in j["files"] if f["included"] != "none"}
            if baseline is None and not args.no_baseline:
                # The baseline ranks the same candidates vibe lists for an empty-ish query: every
                # indexed source file (from the index's JSON map).
                m = json.loads(subprocess.run(
                    [args.vibe, "-C", tree, "map", "--json"], env=env, capture_output=True,
                    text=True, check=True).stdout)
                paths = [f["path"] for f in m["files"] if f.get("language")]
                baseline = Bm25(tree, paths)
            r = {
                "package": package, "patch": name, "task": task, "needed": needed,
                "top5": ranked[:5],
                "top": [[f["path"], f["score"]] for f in j["files"][:60]],
                "ranks": [ranked.index(p) + 1 if p in ranked else None for p in needed],
                "r1": recall(ranked, needed, 1), "r5": recall(ranked, needed, 5),
                "in_context": len(set(needed) & inside) / len(needed),
                "used_tokens": j["used_tokens"],
            }
            if baseline is not None:
                b = baseline.rank(task)
                r["bm25_r1"] = recall(b, needed, 1)
                r["bm25_r5"] = recall(b, needed, 5)
            results.append(r)
    if not results:
        log("no tasks")
        return 1

    def row(label, rs):
        mean = lambda k: sum(r.get(k, 0) for r in rs) / len(rs)
        base = "" if args.no_baseline else f"  {mean('bm25_r1'):5.2f} {mean('bm25_r5'):5.2f}"
        print(f"{label:<18} {len(rs):>5}  {mean('r1'):5.2f} {mean('r5'):5.2f}  {mean('in_context'):6.2f}{base}")

    source = (f"{args.git} commits" if args.git
              else f"{args.changelog} ChangeLog entries" if args.changelog else "Debian patches")
    print(f"vibe context on {source}, budget {args.budget}")
    print(f"{'package':<18} {'tasks':>5}  {'r@1':>5} {'r@5':>5}  {'in-ctx':>6}" + ("" if args.no_baseline else "  bm25@1 bm25@5"))
    for package in dict.fromkeys(r["package"] for r in results):
        row(package, [r for r in results if r["package"] == package])
    row("all", results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
