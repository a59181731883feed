#!/usr/bin/env python3
"""Compares two runs of benches/context_eval_all.sh (or two `context_eval.py --json` files).

    benches/context_compare.py OUT_A OUT_B

For each set both runs have, prints recall@1 / recall@5 / needed files in context of A and of
B, then every task whose ranks of its needed files differ (its set, name, the ranks in A and
in B, and the start of its text), so that a change's gains and losses can be read task by
task. Tasks are matched by package, name and text.
"""

import glob
import json
import os
import sys


def load(path):
    """{set: {(package, patch, task): result}} of a run directory or one JSON file."""
    if os.path.isfile(path):
        files = {"": [path]}
    else:
        files = {}
        for p in sorted(glob.glob(os.path.join(path, "*", "*.json"))):
            files.setdefault(os.path.basename(os.path.dirname(p)), []).append(p)
    out = {}
    for name, paths in files.items():
        rows = {}
        for p in paths:
            with open(p, encoding="utf-8") as f:
                for r in json.load(f):
                    rows[(r["package"], r["patch"], r["task"])] = r
        out[name] = rows
    return out


def means(rows):
    n = len(rows)
    return " / ".join(f"{sum(r[k] for r in rows) / n:.3f}" for k in ("r1", "r5", "in_context"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    a, b = load(sys.argv[1]), load(sys.argv[2])
    changed = []
    for name in a:
        if name not in b:
            continue
        both = [k for k in a[name] if k in b[name]]
        if not both:
            continue
        print(f"{name or 'run':10} {len(both):5}  {means([a[name][k] for k in both])}  ->  "
              f"{means([b[name][k] for k in both])}")
        for k in both:
            if a[name][k]["ranks"] != b[name][k]["ranks"]:
                changed.append((name, k, a[name][k]["ranks"], b[name][k]["ranks"]))
    for name, (package, patch, task), ra, rb in changed:
        line = task.strip().split("\n")[0][:80]
        print(f"  {name} {patch}: {ra} -> {rb}  {line!r}")


if __name__ == "__main__":
    main()
