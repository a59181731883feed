#!/usr/bin/env python3
"""Splits a Debian run of benches/context_eval.py by where each patch comes from.

    benches/context_by_origin.py RUN.json CACHE

RUN.json is what `context_eval.py --json` wrote; CACHE its `--cache` (the packages' debian
tarballs are read there). A patch whose DEP-3 header (before the first `---`) says it is an
upstream change (`Origin: upstream` or `backport`, `Applied-Upstream:`, a `From <40-hex sha>`
line) counts as upstream; the rest (packaging, ports, "Merge commit from fork") as Debian's.
Prints recall@1 / recall@5 / in context for each part: the issue's hidden set is real
changes from public projects, which look like the first.
"""

import glob
import json
import os
import re
import sys
import tarfile

UPSTREAM = re.compile(
    r"^(Origin:\s*(upstream|backport)|Applied-Upstream:|From [0-9a-f]{40})", re.M | re.I
)


def origins(cache):
    """(package, patch name) -> whether its header says it is an upstream change."""
    out = {}
    for tb in glob.glob(os.path.join(cache, "*.debian.tar.*")):
        package = os.path.basename(tb).split("_")[0]
        with tarfile.open(tb) as tf:
            for m in tf.getmembers():
                if m.isfile() and "/patches/" in m.name and not m.name.endswith("series"):
                    head = tf.extractfile(m).read(4000).decode("utf-8", "replace")
                    out[(package, os.path.basename(m.name))] = bool(
                        UPSTREAM.search(head.split("\n---")[0])
                    )
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run, cache = sys.argv[1:]
    tasks = json.load(open(run))
    up = origins(cache)
    for name, part in (
        ("upstream", [t for t in tasks if up.get((t["package"], t["patch"]))]),
        ("debian", [t for t in tasks if not up.get((t["package"], t["patch"]))]),
    ):
        n = max(1, len(part))
        r1, r5, ctx = (sum(t[k] for t in part) / n for k in ("r1", "r5", "in_context"))
        print(f"{name:9} {len(part):4} tasks  recall@1 {r1:.3f}  recall@5 {r5:.3f}  in context {ctx:.3f}")


if __name__ == "__main__":
    main()
