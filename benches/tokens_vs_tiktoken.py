#!/usr/bin/env python3
"""`vibe tokens` against Python's tiktoken: the same counts, and which is faster.

    benches/tokens_vs_tiktoken.py [--vibe PATH] [--encoding o200k_base|cl100k_base] [-n N]
                                  [DIR]

Counts every .py file under DIR (default: python3's standard library, without site-packages
and __pycache__) with both, N times each (default 5), and prints the median wall times and
throughputs. vibe runs as a whole process (`vibe tokens --json FILE...`, tokenizer load
included); tiktoken runs in this process after its encoding is loaded (load time printed
apart), once with `encode_ordinary_batch` on as many threads as there are cores and once one
file at a time. Every file's count must be identical, or the script fails.

Needs `pip install tiktoken`. tiktoken normally downloads its BPE tables; here they are read
from the copy that tiktoken-rs ships (found in ~/.cargo/registry), which is the same file.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time


def bpe_file(name):
    pattern = os.path.expanduser(f"~/.cargo/registry/src/*/tiktoken-rs-*/assets/{name}.tiktoken")
    found = sorted(glob.glob(pattern))
    if not found:
        sys.exit(f"tokens_vs_tiktoken: {name}.tiktoken not found under ~/.cargo/registry "
                 "(build vibe first: cargo build --release)")
    return found[-1]


def load_encoding(name):
    import tiktoken
    import tiktoken.load

    local = bpe_file(name)
    original = tiktoken.load.read_file

    def read_file(path):
        if path.endswith(f"/{name}.tiktoken"):
            with open(local, "rb") as f:
                return f.read()
        return original(path)

    tiktoken.load.read_file = read_file
    return tiktoken.get_encoding(name)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vibe", default=os.path.join(root, "target", "release", "vibe"))
    ap.add_argument("--encoding", default="o200k_base")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("dir", nargs="?", default=sysconfig.get_paths()["stdlib"])
    args = ap.parse_args()
    try:
        import tiktoken  # noqa: F401
    except ImportError:
        sys.exit("tokens_vs_tiktoken: pip install tiktoken")

    files = sorted(
        p for p in glob.glob(os.path.join(args.dir, "**", "*.py"), recursive=True)
        if "site-packages" not in p and "__pycache__" not in p
    )
    texts = []
    for p in files:
        with open(p, "rb") as f:
            texts.append(f.read().decode("utf-8", "replace"))
    size = sum(os.path.getsize(p) for p in files)

    t = time.perf_counter()
    enc = load_encoding(args.encoding)
    enc.encode_ordinary("warm up")
    load = time.perf_counter() - t

    def timed(fn):
        runs = []
        out = None
        for _ in range(args.n):
            t = time.perf_counter()
            out = fn()
            runs.append(time.perf_counter() - t)
        return statistics.median(runs), out

    threads = os.cpu_count() or 1
    batch_s, batch = timed(
        lambda: [len(x) for x in enc.encode_ordinary_batch(texts, num_threads=threads)])
    single_s, single = timed(lambda: [len(enc.encode_ordinary(x)) for x in texts])

    def run_vibe():
        out = subprocess.run(
            [args.vibe, "tokens", "--json", "--encoding", args.encoding, *files],
            capture_output=True, text=True, check=True).stdout
        return [f["tokens"] for f in json.loads(out)["files"]]

    vibe_s, counts = timed(run_vibe)

    mismatches = [p for p, a, b in zip(files, counts, single) if a != b]
    assert batch == single
    mb = size / 1e6
    print(f"{len(files)} files, {mb:.1f} MB, {sum(single):,} tokens ({args.encoding}), "
          f"{threads} cores, median of {args.n}")
    print(f"vibe tokens (whole process)      {vibe_s * 1000:8.0f} ms  {mb / vibe_s:6.1f} MB/s")
    print(f"tiktoken encode_ordinary_batch   {batch_s * 1000:8.0f} ms  {mb / batch_s:6.1f} MB/s"
          f"   (+ {load * 1000:.0f} ms to load the encoding)")
    print(f"tiktoken one file at a time      {single_s * 1000:8.0f} ms  {mb / single_s:6.1f} MB/s")
    if mismatches:
        print(f"MISMATCH in {len(mismatches)} files, e.g. {mismatches[:3]}")
        return 1
    print("counts: identical for every file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
