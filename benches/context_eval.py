#!/usr/bin/env python3
"""Evaluates `vibe context` on real changes: the patches Debian applies to upstream sources.

    benches/context_eval.py [--vibe PATH] [--packages a,b,...] [--budget N] [--cache DIR]
                            [--json OUT] [--no-baseline] [--git REPO [--commits N]]
                            [--changelog TREE [--commits N]]
                            [--crates a,b,...|default] [--pypi a,b,...|default] [--releases N]

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

With --crates or --pypi, the tasks come from projects' releases: for each of a project's newest
--releases releases whose section of the changelog it ships (CHANGELOG.md, CHANGES.rst,
HISTORY.md, RELEASES.md, ...) has a single entry, that entry (links, issue numbers and authors
left out) is the task, and the needed files are the source files (at most 5) the release
changed beyond its version strings, compared with the release before it; vibe runs on that
earlier release's tree, as published (crates.io's .crate, PyPI's source distribution). Real
changes from projects in wide use, phrased as their maintainers described them to users.

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
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
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
# Projects whose releases give tasks (`--crates`, `--pypi`; see `release_groups`), each with
# the newest release read as it stood on 2026-12-08, so that later releases do not change the
# set: Rust crates and Python packages in wide use whose published packages carry their
# changelog and their tests.
RELEASE_CRATES = [
    "regex@1.13.2", "tokio@1.54.1", "bytes@1.12.2", "h2@0.4.21", "http@1.6.0", "mio@1.2.5",
    "tracing-subscriber@0.3.23", "log@0.4.35", "crossbeam-channel@0.5.17", "parking_lot@0.13.0",
    "nom@8.0.0", "crossterm@0.29.0", "indexmap@2.14.2", "hashbrown@0.17.2", "axum@0.8.9",
    "tower-http@0.7.1", "similar@3.2.1", "notify@9.0.0", "tempfile@3.27.0", "itertools@0.15.0",
    "nix@0.32.0", "miette@7.6.0", "tokio-util@0.7.20", "cargo_metadata@0.23.1", "camino@1.2.6",
    "console@0.16.6", "serde_with@3.25.0", "ureq@3.5.2", "bitflags@2.13.2", "once_cell@1.21.4",
    "rand@0.10.4", "getrandom@0.4.3", "base64@0.23.1", "zip@9.9.0", "lru@0.19.2",
    "pin-project@1.2.0", "tracing@0.1.44", "criterion@0.8.2",
]
RELEASE_PYPI = [
    "flask@3.1.3", "werkzeug@3.1.9", "click@8.5.1", "markupsafe@3.0.4", "itsdangerous@2.2.0",
    "requests@2.34.2", "urllib3@2.8.0", "httpx@0.29.0", "httpcore@1.0.9", "attrs@26.1.0",
    "packaging@26.4", "pluggy@1.7.0", "isort@9.0.2", "starlette@1.10.0", "marshmallow@4.4.0",
    "arrow@1.4.0", "filelock@4.3.2", "coverage@7.18.0", "aiohttp@3.14.5", "yarl@1.25.1",
    "multidict@7.2.1", "pygments@2.21.0", "babel@2.19.0", "psutil@7.2.2", "python-dateutil@4.0.0",
    "idna@3.21", "waitress@3.0.2", "webob@1.8.11", "freezegun@1.5.5", "responses@0.26.3",
    "structlog@26.1.0", "jsonschema@4.26.0", "tomlkit@0.15.3", "cachetools@8.0.3",
    "pyparsing@3.3.3", "sqlparse@0.6.1", "bleach@6.4.0", "sniffio@1.3.1", "trio@0.35.0",
    "cattrs@26.2.1", "blinker@1.9.0",
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


def unpack_tree(archive, tree):
    """Extracts a tarball as `tree`: its one top directory's content (or all of it, if it has
    several), through `tree.part`, so that an interrupted run leaves no half tree."""
    tmp = tree + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with tarfile.open(archive) as t:
        t.extractall(tmp, filter="data")
    entries = os.listdir(tmp)
    top = os.path.join(tmp, entries[0]) if len(entries) == 1 else tmp
    os.makedirs(os.path.dirname(tree), exist_ok=True)
    os.replace(top, tree)
    shutil.rmtree(tmp, ignore_errors=True)


def unpack(package, index, cache):
    """The upstream tree (extracted once) and the patch texts, in series order."""
    directory, files = index[package]
    orig = [f for f in files if re.search(r"\.orig\.tar\.(gz|xz|bz2)$", f)]
    deb = [f for f in files if f.endswith(".debian.tar.xz")]
    if not orig or not deb:
        raise RuntimeError(f"{package}: no orig or debian tarball")
    tree = os.path.join(cache, package, "tree")
    if not os.path.isdir(tree):
        unpack_tree(fetch(f"{MIRROR}/{directory}/{orig[0]}", os.path.join(cache, orig[0])), tree)
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


RELEASE_NOTES = re.compile(
    r"(CHANGELOG|CHANGES|HISTORY|RELEASES|RELEASE-NOTES|NEWS)(\.(md|rst|txt|markdown))?$", re.I)
VERSION = r"v?(\d+\.\d+(?:\.\d+)?)"


def version_key(v):
    """A stable release's version as a tuple; None for a pre-release, a post or a local one."""
    if not re.fullmatch(r"\d+(\.\d+){1,3}", v):
        return None
    return tuple(int(x) for x in v.split("."))


def crate_versions(name):
    """A crate's published, unyanked versions from the sparse index, with their download URLs."""
    n = name.lower()
    prefix = {1: "1", 2: "2", 3: "3/" + n[0]}.get(len(n), n[:2] + "/" + n[2:4])
    req = urllib.request.Request(f"https://index.crates.io/{prefix}/{n}",
                                 headers={"User-Agent": "vibe-context-eval"})
    out = []
    for line in urllib.request.urlopen(req, timeout=60).read().decode().splitlines():
        v = json.loads(line)
        if not v.get("yanked"):
            out.append((v["vers"], f"https://static.crates.io/crates/{name}/{name}-{v['vers']}.crate"))
    return out


def pypi_versions(name):
    """A PyPI project's releases that have a source distribution, with its URL."""
    req = urllib.request.Request(f"https://pypi.org/pypi/{name}/json",
                                 headers={"User-Agent": "vibe-context-eval"})
    data = json.loads(urllib.request.urlopen(req, timeout=60).read())
    out = []
    for v, files in data["releases"].items():
        sdist = [f for f in files if f["packagetype"] == "sdist" and not f.get("yanked")]
        if sdist:
            out.append((v, urllib.parse.urljoin(req.full_url, sdist[0]["url"])))
    return out


def release_tree(cache, kind, name, version, url):
    """A release's unpacked tree (its one top directory), fetched and unpacked once."""
    tree = os.path.join(cache, "releases", f"{kind}-{name}", version)
    if not os.path.isdir(tree):
        os.makedirs(os.path.dirname(tree), exist_ok=True)
        unpack_tree(fetch(url, os.path.join(cache, "releases", url.rsplit("/", 1)[1])), tree)
    return tree


def release_sections(text, name=""):
    """{version: [top-level bullet texts]} from a changelog in Markdown or reStructuredText:
    a section starts at a heading (`## [1.2.3] - date`, `# v1.2.3`, `Version 1.2.3` over a
    `---` underline, `1.2.3 (2024-01-01)` over `===`, `## NAME 1.2.3`, links read as their
    text) that names a stable version (not `2.9.0.post0`, `1.2.0rc1`, `2.4.1.1`, nor another
    crate's `## parking_lot_core 0.6.1` or `### Python 3.13 support`), and runs to the next
    such heading. A bullet's continuation lines, indented or lazily not, are its own; a
    sub-bullet and what continues it are not read."""
    own = "|".join(re.escape(w) for w in ("version", "release", "v")) + (
        "|" + re.sub(r"[-_]", "[-_]", re.escape(name)) if name else "")
    heading = re.compile(r"^\[?(?:(?:" + own + r")\s+)?v?(\d+\.\d+(?:\.\d+)?)(?![\w.]|-\w)", re.I)
    lines = text.split("\n")
    heads = []
    for i, line in enumerate(lines):
        under = i + 1 < len(lines) and re.fullmatch(r"([-=~^*+#])\1{2,}\s*", lines[i + 1])
        if line.startswith("#") or under:
            title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip())
            m = heading.match(title)
            if m and len(title) < 80:
                heads.append((i, m.group(1)))
    sections = {}
    for k, (i, v) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        bullets, indent = [], None
        joined = False  # the line before belongs to the last bullet
        for n, line in enumerate(lines[i + 1:end], i + 1):
            # A heading or a rule ends a bullet (a section's `### Fixed`, another crate's
            # `## lock_api 0.4.3`, reStructuredText's underlined titles).
            if line.startswith("#") or re.fullmatch(r"\s*([-=~^*+#])\1{2,}\s*", line) or (
                    n + 1 < len(lines) and re.fullmatch(r"([-=~^*+#])\1{2,}\s*", lines[n + 1])):
                joined = False
                continue
            m = re.match(r"^(\s*)[-*+]\s+(\S.*)$", line)
            if m and not re.fullmatch(r"[-*+=~^#\s]+", line):
                depth = len(m.group(1))
                if indent is None:
                    indent = depth
                if depth <= indent:
                    bullets.append(m.group(2))
                    joined = True
                else:
                    joined = False  # a sub-bullet
                continue
            lead = len(line) - len(line.lstrip())
            if line.strip() and joined and (lead > (indent or 0) or not line[:1].isspace()):
                bullets[-1] += " " + line.strip()
            else:
                # A blank line ends the bullet; text after it, or a sub-bullet's, is not read.
                joined = False
        sections.setdefault(v, bullets)
    return sections


def outside_code(pattern, repl, text):
    """re.sub on the parts of `text` outside `backticked` code."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1
                   else re.sub(pattern, repl, p) for p in parts)


def release_task(bullet):
    """A release note's bullet as a task: links, issue and pull request references, authors
    and reStructuredText roles left out."""
    t = re.sub(r"^\[[A-Z]+\b[^\]]*\]\([^)]*\):?", "", bullet)  # [BUG #123](url): …
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t)
    t = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", t)  # reference links: [text][] and [text][ref]
    t = re.sub(r"\[\s*#?\d*\s*\]", "", t)
    t = re.sub(r"[:{](?:issue|pr|pull|pull_request|user|ghuser|commit|bpo|gh)[:}]`[^`]*`", "", t)
    t = re.sub(r":[a-z]+(?::[a-z]+)?:`~?([^`<]*?)(?:\s*<[^>]*>)?`", r"`\1`", t)
    # reStructuredText links: `text <url>`_, `issue 1927`_, `name`_.
    t = re.sub(r"`([^`<]*?)\s*<[^>]*>`_+", r"\1", t)
    t = re.sub(r"`(?:issue|pull|pr|bug)\s*\d+`_+", "", t, flags=re.I)
    t = re.sub(r"`([^`]+)`_+", r"\1", t)
    t = re.sub(r"https?://\S+", "", t)
    t = re.sub(r"``([^`]*)``", r"`\1`", t)
    t = outside_code(r"(?i)\b(?:by|thanks(?: to)?|from|cc)\s+@[\w-]+(?:\s+in\b)?", "", t)
    t = outside_code(r"(?:^|(?<=[\s(,]))@[\w-]+(?=[\s),.;]|$)", "", t)
    t = re.sub(r"\(?(?:GH-|gh-|#)\d+\)?", "", t)
    t = outside_code(r"\(\s*[,;]?\s*\)", "", t)
    return re.sub(r"\s+", " ", t).strip(" .,;:-")


def bookkeeping(line, versions):
    """Whether a changed line only records a release: it holds either version as a whole
    (`1.2.3`, not within `1.2.30`; also as a tuple, `(7, 6, 5`), or sets a version or release
    (`__version__ =`, `version_info =`, `release =`)."""
    text = line.decode("utf-8", "replace")
    for v in versions:
        if re.search(r"(?<![\d.])" + re.escape(v) + r"(?![\d])", text):
            return True
        if re.search(r"\(\s*" + r",\s*".join(v.split(".")) + r"\b", text):
            return True
    return bool(re.match(r"\s*(__version__|version_info|version|release|VERSION)\s*[:=]", text))


def changed_sources(old, new, versions):
    """Source files in both trees whose text differs by more than release bookkeeping (a file
    whose lines were only reordered differs)."""
    out = []
    for d, _, files in os.walk(new):
        for f in files:
            p = os.path.relpath(os.path.join(d, f), new)
            if not SOURCE_EXT.search(p) or not os.path.isfile(os.path.join(old, p)):
                continue
            with open(os.path.join(old, p), "rb") as a, open(os.path.join(new, p), "rb") as b:
                x, y = a.read(), b.read()
            if x == y:
                continue
            xs, ys = Counter(x.split(b"\n")), Counter(y.split(b"\n"))
            diff = list((xs - ys).elements()) + list((ys - xs).elements())
            if diff and all(bookkeeping(line, versions) for line in diff):
                continue
            out.append(p)
    return sorted(out)


def release_groups(kind, names, cache, per_project, max_files=5):
    """Tasks from releases (see the module's doc): for each of the newest `per_project` releases
    whose changelog section has one bullet, that bullet, and the source files changed since the
    release before it, asked on the release before it."""
    for name in names:
        # `name@1.2.3`: that release and the ones before it.
        name, _, upto = name.partition("@")
        try:
            versions = crate_versions(name) if kind == "crates" else pypi_versions(name)
        except Exception as e:
            log(f"{kind}:{name}: skipped ({e})")
            continue
        versions = sorted(((version_key(v), v, u) for v, u in versions if version_key(v)
                           and (not upto or version_key(v) <= version_key(upto))))
        if len(versions) < 2:
            continue
        try:
            # Tar archives only: a release published as a zip alone is skipped.
            latest = release_tree(cache, kind, name, versions[-1][1], versions[-1][2])
        except Exception as e:
            log(f"{kind}:{name} {versions[-1][1]}: skipped ({e})")
            continue
        notes = [os.path.join(d, f) for d, _, fs in os.walk(latest) for f in fs
                 if RELEASE_NOTES.fullmatch(f)]
        notes.sort(key=lambda p: (p.count(os.sep), -os.path.getsize(p)))
        if not notes:
            log(f"{kind}:{name}: no changelog in {versions[-1][1]}")
            continue
        with open(notes[0], encoding="utf-8", errors="replace") as f:
            sections = release_sections(f.read(), name)
        found = 0
        for k in range(len(versions) - 1, 0, -1):
            if found >= per_project:
                break
            _, new_v, new_u = versions[k]
            _, old_v, old_u = versions[k - 1]
            norm = lambda v: v[:-2] if v.endswith(".0") and v.count(".") == 2 else v
            bullets = sections.get(new_v) or sections.get(norm(new_v))
            if not bullets or len(bullets) != 1:
                continue
            task = release_task(bullets[0])
            if len(re.findall(r"[A-Za-z]{3,}", task)) < 3:
                continue
            try:
                old = release_tree(cache, kind, name, old_v, old_u)
                new = release_tree(cache, kind, name, new_v, new_u)
            except Exception as e:
                log(f"{kind}:{name} {old_v}..{new_v}: skipped ({e})")
                continue
            needed = changed_sources(old, new, [old_v, new_v])
            if not needed or len(needed) > max_files:
                continue
            found += 1
            yield f"{name}", old, [(f"{old_v}..{new_v}", task, needed, None)]


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
    ap.add_argument("--crates", metavar="A,B",
                    help="tasks from these crates' releases (crates.io) instead of Debian "
                         "patches; NAME@VERSION stops at that release; 'default': the set in "
                         "docs/context.md")
    ap.add_argument("--pypi", metavar="A,B",
                    help="tasks from these projects' releases (PyPI source distributions), as "
                         "--crates")
    ap.add_argument("--releases", type=int, default=10,
                    help="with --crates or --pypi: how many releases of each project to ask "
                         "about, newest first (default 10)")
    ap.add_argument("--whole-message", action="store_true",
                    help="with --git or --changelog: the task is the commit's whole message, "
                         "not its subject")
    args = ap.parse_args()
    if args.whole_message and not (args.git or args.changelog):
        ap.error("--whole-message needs --git or --changelog (Debian tasks are whole "
                 "descriptions already)")
    if sum(map(bool, (args.git, args.changelog, args.crates or args.pypi))) > 1:
        ap.error("--git, --changelog and --crates/--pypi are sources of tasks: give one")
    os.makedirs(args.cache, exist_ok=True)
    if args.git:
        groups = [git_cases(args.git, args.commits, args.cache, args.whole_message)]
    elif args.changelog:
        groups = [changelog_cases(args.changelog, args.commits, args.cache, args.whole_message)]
    elif args.crates or args.pypi:
        listed = lambda arg, default: (default if arg == "default"
                                       else [n for n in (arg or "").split(",") if n])
        groups = itertools.chain(
            release_groups("crates", listed(args.crates, RELEASE_CRATES), args.cache,
                           args.releases),
            release_groups("pypi", listed(args.pypi, RELEASE_PYPI), args.cache, args.releases))
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
              else "releases" if args.crates or args.pypi
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
