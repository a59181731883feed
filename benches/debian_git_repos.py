#!/usr/bin/env python3
"""Fetches the real git repositories that some Debian source packages ship, for evaluation.

    benches/debian_git_repos.py OUT [--suites bookworm,trixie,sid,bullseye] [--min-commits 20]

A few upstream tarballs in the Debian archive carry their project's `.git` (trousers, xl2tpd,
piuparts, python-friendly-traceback, chuffed, ...): real histories, with real commit messages,
of real projects, which `benches/context_eval.py --git` can take tasks from. Each suite's
Contents-source index says which source packages hold a top-level `.git`; this script fetches
those packages' upstream tarballs from deb.debian.org (the first suite that has the package,
in the order given), unpacks each under OUT/<package>, and prints the repositories found (a
`.git` directory within three levels) with their commit counts, skipping shallow clones and
histories shorter than --min-commits. Downloads are kept in OUT/downloads and not fetched again.

Then, for each repository printed:

    benches/context_eval.py --git OUT/trousers/trousers-0.3.15 --commits 150 --no-baseline
"""

import argparse
import gzip
import lzma
import os
import re
import subprocess
import sys
import tarfile
import urllib.request

MIRROR = "http://deb.debian.org/debian"
GIT_FILE = re.compile(r"^\.git/(?:HEAD|objects/pack/\S+\.pack)\s+(\S+)$")


def fetch(url, path):
    if not os.path.exists(path):
        tmp = path + ".part"
        with urllib.request.urlopen(url, timeout=600) as r, open(tmp, "wb") as f:
            while chunk := r.read(1 << 20):
                f.write(chunk)
        os.replace(tmp, path)
    return path


def packages_with_git(downloads, suite):
    """Source packages whose unpacked tree has a `.git` at its top, per Contents-source."""
    path = fetch(f"{MIRROR}/dists/{suite}/main/Contents-source.gz",
                 os.path.join(downloads, f"Contents-source-{suite}.gz"))
    found = set()
    with gzip.open(path, "rt", errors="replace") as f:
        for line in f:
            m = GIT_FILE.match(line)
            if m:
                found.update(m.group(1).split(","))
    return found


def sources(downloads, suite):
    """Package name -> (directory, upstream tarball names) from the suite's Sources index."""
    path = fetch(f"{MIRROR}/dists/{suite}/main/source/Sources.xz",
                 os.path.join(downloads, f"Sources-{suite}.xz"))
    out = {}
    for block in lzma.open(path, "rt", errors="replace").read().split("\n\n"):
        name = re.search(r"^Package: (\S+)", block, re.M)
        directory = re.search(r"^Directory: (\S+)", block, re.M)
        if not name or not directory:
            continue
        files = re.findall(r"^ [0-9a-f]{32} \d+ (\S+)$", block.split("Checksums-Sha1")[0], re.M)
        tarballs = [f for f in files if ".tar." in f and ".debian.tar." not in f
                    and not f.endswith(".asc")]
        out[name.group(1)] = (directory.group(1), tarballs)
    return out


def repositories(tree):
    """`.git` directories within three levels of tree, outermost first."""
    found = []
    for top, dirs, _ in os.walk(tree):
        depth = os.path.relpath(top, tree).count(os.sep) + (top != tree)
        if ".git" in dirs:
            found.append(top)
        dirs[:] = [d for d in dirs if d != ".git"] if depth < 3 else []
    return sorted(found, key=len)


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, "-c", f"safe.directory={repo}", *args],
                          capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--suites", default="bookworm,trixie,sid,bullseye")
    ap.add_argument("--min-commits", type=int, default=20)
    args = ap.parse_args()
    downloads = os.path.join(args.out, "downloads")
    os.makedirs(downloads, exist_ok=True)
    done = set()
    for suite in args.suites.split(","):
        wanted = packages_with_git(downloads, suite) - done
        if not wanted:
            continue
        index = sources(downloads, suite)
        for package in sorted(wanted):
            if package not in index:
                continue
            done.add(package)
            directory, tarballs = index[package]
            tree = os.path.join(args.out, package)
            if not os.path.isdir(tree):
                os.makedirs(tree + ".part", exist_ok=True)
                try:
                    for name in tarballs:
                        url = f"{MIRROR}/{directory}/{name}"
                        path = fetch(url, os.path.join(downloads, name))
                        with tarfile.open(path) as t:
                            t.extractall(tree + ".part", filter="data")
                except (OSError, tarfile.TarError) as e:
                    print(f"{package}: {url}: {e}, skipped", file=sys.stderr)
                    continue
                os.replace(tree + ".part", tree)
            for repo in repositories(tree):
                if os.path.exists(os.path.join(repo, ".git", "shallow")):
                    print(f"{repo}: shallow, skipped", file=sys.stderr)
                    continue
                count = git(repo, "rev-list", "--count", "HEAD").stdout.strip()
                if not count.isdigit() or int(count) < args.min_commits:
                    print(f"{repo}: {count or 'no'} commits, skipped", file=sys.stderr)
                    continue
                print(f"{repo}\t{count} commits\t{suite} {package}")
                break


if __name__ == "__main__":
    main()
