#!/usr/bin/env python3
"""Sums up or compares runs of benches/context_eval_all.sh (or `context_eval.py --json` files).

    benches/context_compare.py OUT            # each set's figures, and each tree's (OUT/SET: one)
    benches/context_compare.py OUT_A OUT_B    # both runs' figures, then every task that moved

Figures are recall@1 / recall@5 / needed files in context, the means over tasks. Comparing,
for each set both runs have, prints A's and B's figures over the tasks both have, then every
task whose ranks of its needed files differ (its set, name, the ranks in A and in B, and the
start of its text), so that a change's gains and losses can be read task by task. Tasks are
matched by package, name and text.
"""

import glob
import json
import os
import sys


def load(path):
    """{set: {file name: [result, ...]}} of a run directory, of one set's directory, or of
    one JSON file (set "")."""
    own = sorted(glob.glob(os.path.join(path, "*.json")))
    if os.path.isfile(path):
        paths = [("", path)]
    elif own:
        paths = [(os.path.basename(os.path.normpath(path)), p) for p in own]
    else:
        paths = [(os.path.basename(os.path.dirname(p)), p)
                 for p in sorted(glob.glob(os.path.join(path, "*", "*.json")))]
    out = {}
    for name, p in paths:
        with open(p, encoding="utf-8") as f:
            out.setdefault(name, {})[os.path.basename(p)[:-5]] = json.load(f)
    return out


def means(rows):
    n = len(rows)
    return " / ".join(f"{sum(r[k] for r in rows) / n:.3f}" for k in ("r1", "r5", "in_context"))


def keyed(files):
    return {(r["package"], r["patch"], r["task"]): r for rows in files.values() for r in rows}


def sum_up(run):
    for name, files in run.items():
        rows = [r for rs in files.values() for r in rs]
        if len(files) > 1:
            for f, rs in files.items():
                if rs:
                    print(f"  {f:40} {len(rs):4}  {means(rs)}")
        print(f"{name or 'run':42} {len(rows):4}  {means(rows) if rows else '-'}")


def compare(a, b):
    changed = []
    for name in a:
        if name not in b:
            continue
        ka, kb = keyed(a[name]), keyed(b[name])
        both = [k for k in ka if k in kb]
        if not both:
            continue
        print(f"{name or 'run':10} {len(both):5}  {means([ka[k] for k in both])}  ->  "
              f"{means([kb[k] for k in both])}")
        changed += [(name, k, ka[k]["ranks"], kb[k]["ranks"])
                    for k in both if ka[k]["ranks"] != kb[k]["ranks"]]
    for name, (_, patch, task), ra, rb in changed:
        line = task.strip().split("\n")[0][:80]
        print(f"  {name} {patch}: {ra} -> {rb}  {line!r}")


def main():
    if len(sys.argv) == 2:
        sum_up(load(sys.argv[1]))
    elif len(sys.argv) == 3:
        compare(load(sys.argv[1]), load(sys.argv[2]))
    else:
        sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main()
