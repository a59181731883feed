#!/usr/bin/env python3
"""vibe validator plugin: a budget of TODO/FIXME markers per file.

Reads one vibe.plugin/1 request on stdin, answers {"diagnostics": [...]} on stdout.
Only the standard library; never writes anything.
"""
import json
import os
import re
import sys


def main():
    req = json.load(sys.stdin)
    settings = req.get("settings") or {}
    markers = settings.get("markers") or ["TODO", "FIXME", "XXX", "HACK"]
    budget = int(settings.get("max_per_file", 10))
    pattern = re.compile(r"\b(" + "|".join(re.escape(m) for m in markers) + r")\b")
    root = req["root"]
    diagnostics = []
    for rel in req.get("files", []):
        path = os.path.join(root, rel)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError as e:
            print(f"todo-budget: cannot read {rel}: {e}", file=sys.stderr)
            continue
        hits = []
        for number, line in enumerate(lines, start=1):
            for m in pattern.finditer(line):
                hits.append((number, m.start() + 1, m.group(1)))
        if len(hits) > budget:
            line, column, marker = hits[budget]
            where = ", ".join(str(h[0]) for h in hits[:12])
            more = "" if len(hits) <= 12 else ", ..."
            diagnostics.append({
                "file": rel,
                "line": line,
                "column": column,
                "severity": "error",
                "code": "todo-budget",
                "message": f"{len(hits)} {'/'.join(markers)} markers (lines {where}{more}); "
                           f"the budget is {budget} per file: resolve some before adding more",
            })
        print(f"todo-budget: {rel}: {len(hits)} markers", file=sys.stderr)
    json.dump({"diagnostics": diagnostics}, sys.stdout)


if __name__ == "__main__":
    main()
