#!/usr/bin/env python3
"""vibe analyzer plugin: hard-coded secrets.

Reads one vibe.plugin/1 request on stdin, answers {"findings": [...]} on stdout. A line holding
`vibe:allow-secret` is skipped (for test fixtures). Findings show only the first characters of
what matched, never the whole secret. Only the standard library; never writes anything.
"""
import json
import os
import re
import sys

RULES = [
    ("aws-access-key", "error", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key ID"),
    ("openai-key", "error", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"), "an API key (sk-...)"),
    ("github-token", "error", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    ("slack-token", "error", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    ("private-key", "error",
     re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
     "a private key"),
]
# Cheap pre-check so most lines cost one search.
QUICK = re.compile(r"AKIA|ASIA|sk-|gh[pousr]_|xox|PRIVATE KEY")


def shown(secret):
    return secret[:8] + "..." if len(secret) > 12 else secret[:4] + "..."


def scan(root, rel, limit):
    path = os.path.join(root, rel)
    try:
        if os.path.getsize(path) > limit:
            return []
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"secrets-scan: cannot read {rel}: {e}", file=sys.stderr)
        return []
    if b"\0" in data[:8192]:
        return []
    text = data.decode("utf-8", errors="replace")
    if not QUICK.search(text):
        return []
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not QUICK.search(line) or "vibe:allow-secret" in line:
            continue
        for rule, severity, rx, what in RULES:
            for m in rx.finditer(line):
                out.append({
                    "file": rel,
                    "line": number,
                    "column": m.start() + 1,
                    "severity": severity,
                    "rule": rule,
                    "message": f"{what} is hard-coded here ({shown(m.group(0))}); "
                               "move it to the environment or a secret store, and rotate it",
                })
    return out


def main():
    req = json.load(sys.stdin)
    limit = int((req.get("settings") or {}).get("max_file_size", 1000000))
    findings = []
    files = req.get("files", [])
    for rel in files:
        findings.extend(scan(req["root"], rel, limit))
    print(f"secrets-scan: {len(files)} files, {len(findings)} findings", file=sys.stderr)
    json.dump({"findings": findings}, sys.stdout)


if __name__ == "__main__":
    main()
