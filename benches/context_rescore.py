#!/usr/bin/env python3
"""Tries a ranking signal offline, on the rankings `benches/context_eval.py --json` wrote.

    benches/context_rescore.py RUN.json[:CACHE] ... [--feature NAME] [--weights 0.05,0.1,0.2] [--vibe BIN]

Each task's top 60 files (path and vibe's score) are scored again as score + weight × feature,
and recall@1 / recall@5 reported per run; weight 0 reproduces vibe's own figures (only the top
60 can move, which is where recall@5 is decided). CACHE is the --cache the run used (default
$TMPDIR/vibe-context-eval), where each package's tree is, for features that read files. For a
`context_eval.py --git` run it is the clone under CACHE, left at the last task's checkout:
features read that version of each file (the same text in histories rebuilt by
changelog_repo.py, whose commits only add line ends). In a real history that version holds
the code of later commits, the task's own change among them: features that read file text
(proximity) then look better than they are (the real histories of benches/debian_git_repos.py:
+0.019 recall@5 re-scored, +0.003 end to end); measure those end to end.

Features (each scaled to at most 1 within a task):
  proximity   adjacent task words found within 8 words of each other in the file, log(1 + count)
              summed over the pairs (sequential dependence, unordered; stemmed when the
              snowballstemmer package is there)
  directory   the scores of the other files of the best 10 in the same directory, relative to
              the best file's
  name        1 if every word of the file's name (3 letters or more) is in the task
  callee      the files defining what the best 3 files call (`name(`) in their best 40-line
              window (most task words), by the caller's score relative to the best file's,
              shared among a name's definers (at most 4; those the caller imports first);
              definitions from `vibe map --json` (--vibe) run once per tree
  filelog     for a --git run: BM25 of the task over each file's past commit messages taken
              together (the last 2,000 one-parent commits before the task's, of at most 100
              files each), read with git from the run's clone
Add one by writing a function (task, tree, top) -> [value per file] into FEATURES.

docs/context.md has what was tried this way (the 2026-12-03 rows).
"""

import argparse
import bisect
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
STOP = set(
    "a an the of to in for on and or is be by with from at as it this that these those fix fixes"
    " fixed fixing add adds added use uses used when not no into if are was were can do does don"
    " t s should would could will may might make makes made support supports allow allows avoid"
    " prevent handle handling properly correctly issue bug".split()
)
try:  # Snowball English, as vibe stems (pip install snowballstemmer); else words unstemmed.
    import snowballstemmer

    stem = snowballstemmer.stemmer("english").stemWord
except ImportError:
    print("note: snowballstemmer not installed; words are not stemmed", file=sys.stderr)

    def stem(word):
        return word


def parts(text):
    """Lowercased, stemmed identifier parts of two letters or more, in order."""
    return [stem(p.lower()) for w in WORD.findall(text) for p in PART.findall(w) if len(p) > 1]


def words(text):
    """Identifiers lowercased, whole and (compound ones) by parts: the baseline BM25's words."""
    out = []
    for w in WORD.findall(text):
        out.append(w.lower())
        ps = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", w)
        if len(ps) > 1:
            out.extend(p.lower() for p in ps)
    return out


def read(tree, path, cache={}):
    key = (tree, path)
    if key not in cache:
        try:
            with open(os.path.join(tree, path), encoding="utf-8", errors="replace") as f:
                cache[key] = f.read()
        except OSError:
            cache[key] = ""
    return cache[key]


def scaled(values):
    top = max(values, default=0)
    return [v / top if top > 0 else 0.0 for v in values]


def positions(tree, path, cache={}):
    """Where each (stemmed) word part stands in the file: its indexes, in order."""
    key = (tree, path)
    if key not in cache:
        at = defaultdict(list)
        for i, p in enumerate(parts(read(tree, path))):
            at[p].append(i)
        cache[key] = at
    return cache[key]


def proximity(task, tree, top, window=8):
    seq = [stem(p.lower()) for w in WORD.findall(task) for p in PART.findall(w)
           if len(p) > 1 and p.lower() not in STOP][:40]
    pairs = [(a, b) for a, b in dict.fromkeys(zip(seq, seq[1:])) if a != b]
    out = []
    for path, _ in top:
        at = positions(tree, path)
        value = 0.0
        for a, b in pairs:
            near = 0
            for x in at.get(a, []):
                ys = at.get(b, [])
                j = bisect.bisect_left(ys, x - window)
                if j < len(ys) and ys[j] <= x + window:
                    near += 1
            value += math.log(1 + near)
        out.append(value)
    return scaled(out)


def directory(task, tree, top, best=10):
    d = os.path.dirname
    first = max(top[0][1], 1e-9) if top else 1.0
    return [sum(s for q, s in top[:best] if q != p and d(q) == d(p)) / first for p, _ in top]


def name(task, tree, top):
    said = set(words(task))
    out = []
    for path, _ in top:
        named = {w for w in words(os.path.splitext(os.path.basename(path))[0]) if len(w) > 2}
        out.append(1.0 if named and named <= said else 0.0)
    return out


VIBE = "vibe"
DEFINING = {"function", "method", "class", "struct", "interface", "macro", "type", "enum",
            "trait", "constructor"}
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def definitions(tree, cache={}):
    """The tree's definers of each name, and each file's resolved imports (vibe map --json)."""
    if tree not in cache:
        out = subprocess.run([VIBE, "-C", tree, "map", "--json"], capture_output=True, check=True)
        defs, imports = defaultdict(set), {}
        for f in json.loads(out.stdout)["files"]:
            imports[f["path"]] = {p for i in f.get("imports", []) for p in i.get("resolved") or []}
            for s in f["symbols"]:
                if s["kind"] in DEFINING:
                    defs[s["name"]].add(f["path"])
        cache[tree] = (defs, imports)
    return cache[tree]


def callee(task, tree, top, best=3, window=40, most=4):
    defs, imports = definitions(tree)
    said = set(parts(task)) - {stem(w) for w in STOP}
    first = max(top[0][1], 1e-9) if top else 1.0
    value = defaultdict(float)
    for path, score in top[:best]:
        lines = read(tree, path).split("\n")
        hits = [sum(p in said for p in parts(line)) for line in lines]
        sums = [sum(hits[i:i + window]) for i in range(max(1, len(lines) - window + 1))]
        at = max(range(len(sums)), key=lambda i: (sums[i], -i))
        if sums[at] == 0:
            continue
        for called in set(CALL.findall("\n".join(lines[at:at + window]))):
            definers = defs.get(called, set()) - {path}
            definers = (definers & imports.get(path, set())) or definers
            if 0 < len(definers) <= most:
                for d in definers:
                    value[d] += score / first / len(definers)
    return scaled([value.get(p, 0.0) for p, _ in top])


def past_commits(tree, commit, cache={}):
    """The one-parent commits before `commit` (at most 2,000, newest first), as vibe reads
    them: (message, files changed)."""
    key = (tree, commit)
    if key not in cache:
        out = subprocess.run(
            ["git", "-C", tree, "log", "--min-parents=1", "--max-parents=1", "--max-count=2000",
             "--no-renames", "--name-only", "--format=%x01%B%x02", commit + "^"],
            capture_output=True, text=True, errors="replace").stdout
        commits = []
        for chunk in out.split("\x01")[1:]:
            msg, _, names = chunk.partition("\x02")
            commits.append((msg, [n for n in names.split("\n") if n.strip()]))
        cache[key] = commits
    return cache[key]


def filelog(task, tree, top, run, k1=1.2, b=0.75, most=100, cache={}):
    """BM25 of the task over each file's past commit messages taken together (the file's
    log as one document), for a --git run (the task's commit is `patch`)."""
    key = (tree, run["patch"], task)
    if key not in cache:
        cache[key] = file_log_scores(task, tree, top, run, k1, b, most)
    return cache[key]


def file_log_scores(task, tree, top, run, k1, b, most):
    docs = defaultdict(lambda: defaultdict(int))
    stop = {stem(w) for w in STOP}
    for msg, files in past_commits(tree, run["patch"]):
        if len(files) > most:
            continue
        terms = [p for p in parts(msg) if p not in stop]
        for f in files:
            d = docs[f]
            for t in terms:
                d[t] += 1
    if not docs:
        return [0.0] * len(top)
    lengths = {f: sum(d.values()) for f, d in docs.items()}
    avg = sum(lengths.values()) / len(docs) or 1.0
    query = set(parts(task)) - stop
    df = {t: sum(1 for d in docs.values() if t in d) for t in query}
    n = len(docs)
    out = []
    for path, _ in top:
        d = docs.get(path)
        value = 0.0
        if d:
            for t in query:
                tf = d.get(t, 0)
                if tf:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    value += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[path] / avg))
        out.append(value)
    return scaled(out)


FEATURES = {"proximity": proximity, "directory": directory, "name": name, "callee": callee,
            "filelog": filelog}
# Features that read the run's record too (the task's commit).
NEEDS_RUN = {"filelog"}


def recall(results, feature, weight, n=60):
    r1 = r5 = 0.0
    for r in results:
        top = r["top"][:n]
        if not weight:
            values = [0.0] * len(top)
        elif feature.__name__ in NEEDS_RUN:
            values = feature(r["task"], r["tree"], top, r)
        else:
            values = feature(r["task"], r["tree"], top)
        order = sorted(
            range(len(top)), key=lambda i: (-(top[i][1] + weight * values[i]), i)
        )
        ranked = [top[i][0] for i in order]
        need = set(r["needed"])
        r1 += len(set(ranked[:1]) & need) / len(need)
        r5 += len(set(ranked[:5]) & need) / len(need)
    return r1 / len(results), r5 / len(results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="RUN.json[:CACHE] from context_eval.py --json")
    ap.add_argument("--feature", default="proximity", choices=sorted(FEATURES))
    ap.add_argument("--weights", default="0,0.05,0.1,0.2,0.3")
    ap.add_argument("--vibe", default="vibe", help="the vibe binary (for the callee feature)")
    args = ap.parse_args()
    global VIBE
    VIBE = args.vibe
    default_cache = os.path.join(tempfile.gettempdir(), "vibe-context-eval")
    sets = []
    for spec in args.runs:
        path, _, cache = spec.partition(":")
        with open(path) as f:
            results = json.load(f)
        for r in results:
            base = cache or default_cache
            r["tree"] = os.path.join(base, r["package"], "tree")
            if not os.path.isdir(r["tree"]):  # a --git run's clone
                r["tree"] = os.path.join(base, "git-" + r["package"])
        sets.append((os.path.basename(path), results))
    for w in (float(x) for x in args.weights.split(",")):
        cells = [f"{label} %.3f / %.3f" % recall(rs, FEATURES[args.feature], w) for label, rs in sets]
        print(f"{args.feature} {w:<5} " + "   ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
