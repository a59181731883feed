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
histories shorter than --min-commits. Downloads are kept in OUT/downloads: a tarball is not
fetched again once its size matches the one the Sources index gives, an index not within a day.
Needs Python with tarfile's extraction filters (3.12, or 3.8-3.11 with the 2023 security fixes);
members they reject (absolute symlinks, paths outside the tree) are left out.

Then, for each repository printed:

    benches/context_eval.py --git OUT/trousers/trousers-0.3.15 --commits 150 --no-baseline
"""

import argparse
import gzip
import http.client
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import zlib

MIRROR = "http://deb.debian.org/debian"
GIT_FILE = re.compile(r"^\.git/(?:HEAD|objects/pack/\S+\.pack)\s+(\S+)$")


# What a download that failed raises (the network, the disk).
FAILED = (OSError, http.client.HTTPException)
# What a broken file raises while it is read: it is deleted and fetched again next time.
BROKEN = (EOFError, lzma.LZMAError, zlib.error, tarfile.ReadError, tarfile.CompressionError)
INDEX_MAX_AGE = 24 * 3600


def safe_members(member, dest):
    """tarfile's "data" filter, member by member: an unsafe member (an absolute symlink, a
    path outside the tree) is left out instead of failing the whole archive."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError as e:
        print(f"  {member.name}: left out ({e})", file=sys.stderr)
        return None


def fetch(url, path, size=None):
    """Downloads url to path unless path holds it already: of the given size, or (an index
    without one) fetched within INDEX_MAX_AGE. A download shorter or longer than size fails."""
    if os.path.exists(path):
        if size is not None and os.path.getsize(path) == size:
            return path
        if size is None and time.time() - os.path.getmtime(path) < INDEX_MAX_AGE:
            return path
    tmp = path + ".part"
    try:
        with urllib.request.urlopen(url, timeout=600) as r, open(tmp, "wb") as f:
            while chunk := r.read(1 << 20):
                f.write(chunk)
    except FAILED:
        if os.path.exists(tmp):
            os.remove(tmp)
        if size is None and os.path.exists(path):
            print(f"{url}: not refreshed, the copy of {path} is used", file=sys.stderr)
            return path
        raise
    got = os.path.getsize(tmp)
    if size is not None and got != size:
        os.remove(tmp)
        raise OSError(f"got {got} bytes of {size}")
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
    """Package name -> (directory, [(upstream tarball name, size)]) from the suite's Sources
    index."""
    path = fetch(f"{MIRROR}/dists/{suite}/main/source/Sources.xz",
                 os.path.join(downloads, f"Sources-{suite}.xz"))
    out = {}
    for block in lzma.open(path, "rt", errors="replace").read().split("\n\n"):
        name = re.search(r"^Package: (\S+)", block, re.M)
        directory = re.search(r"^Directory: (\S+)", block, re.M)
        if not name or not directory:
            continue
        files = re.findall(r"^ [0-9a-f]{32} (\d+) (\S+)$", block.split("Checksums-Sha1")[0], re.M)
        tarballs = [(f, int(size)) for size, f in files
                    if ".tar." in f and ".debian.tar." not in f and not f.endswith(".asc")]
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
    return sorted(found, key=lambda p: (os.path.relpath(p, tree).count(os.sep) + (p != tree), p))


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, "-c", f"safe.directory={repo}", *args],
                          capture_output=True, text=True)


def unpack(downloads, mirror_dir, tarballs, tree):
    """Fetches and unpacks the tarballs into tree (all or nothing); an archive that turns out
    broken is deleted, so that the next run fetches it again (a network or disk failure keeps
    it). Unsafe members are left out."""
    part = tree + ".part"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    for name, size in tarballs:
        url = f"{MIRROR}/{mirror_dir}/{name}"
        path = os.path.join(downloads, name)
        try:
            fetch(url, path, size)
            with tarfile.open(path) as t:
                t.extractall(part, filter=safe_members)
        except (*FAILED, *BROKEN) as e:
            if isinstance(e, BROKEN) and os.path.exists(path):
                os.remove(path)
            shutil.rmtree(part, ignore_errors=True)
            raise OSError(f"{url}: {e}") from e
    os.replace(part, tree)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--suites", default="bookworm,trixie,sid,bullseye")
    ap.add_argument("--min-commits", type=int, default=20)
    args = ap.parse_args()
    if not hasattr(tarfile, "data_filter"):
        sys.exit("this Python's tarfile has no extraction filters (3.12, or 3.8-3.11 with the "
                 "2023 security fixes): archives from the network are not unpacked without them")
    downloads = os.path.join(args.out, "downloads")
    os.makedirs(downloads, exist_ok=True)
    done = set()
    for suite in args.suites.split(","):
        try:
            wanted = packages_with_git(downloads, suite) - done
            index = sources(downloads, suite) if wanted else {}
        except (*FAILED, *BROKEN) as e:
            print(f"{suite}: its indices cannot be read ({e}), skipped", file=sys.stderr)
            if isinstance(e, BROKEN):
                for name in (f"Contents-source-{suite}.gz", f"Sources-{suite}.xz"):
                    if os.path.exists(os.path.join(downloads, name)):
                        os.remove(os.path.join(downloads, name))
            continue
        for package in sorted(wanted):
            if package not in index:
                continue
            directory, tarballs = index[package]
            tree = os.path.join(args.out, package)
            if not os.path.isdir(tree):
                try:
                    unpack(downloads, directory, tarballs, tree)
                except OSError as e:
                    print(f"{package}: {e}, skipped in {suite}", file=sys.stderr)
                    continue
            done.add(package)
            for repo in repositories(tree):
                if os.path.exists(os.path.join(repo, ".git", "shallow")):
                    print(f"{repo}: shallow, skipped", file=sys.stderr)
                    continue
                count = git(repo, "rev-list", "--count", "HEAD").stdout.strip()
                if not count.isdigit() or int(count) < args.min_commits:
                    print(f"{repo}: {count or 'no'} commits, skipped", file=sys.stderr)
                    continue
                print(f"{repo}\t{count} commits\t{suite} {package}")


if __name__ == "__main__":
    main()
