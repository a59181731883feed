#!/usr/bin/env bash
# Start-up time of `vibe watch` on a wide tree: from the process start to its ready line (the
# first index run, the watches registered, the second run for what changed meanwhile).
#
#   benches/watch_startup.sh [-n RUNS] [--tree DIR] [VIBE...]
#
# The tree (made once if DIR does not exist): 100 × 100 directories, a Python file in every
# tenth, a git repository (10,101 directories, 1,000 files). Each VIBE binary (default
# target/release/vibe) is started RUNS times (default 10), the binaries alternating, on a warm
# index; prints each binary's median and range in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
N=10
TREE="${TMPDIR:-/tmp}/vibe-watch-startup-tree"
BINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    --tree) TREE="$2"; shift 2 ;;
    -*) echo "unknown argument $1" >&2; exit 2 ;;
    *) BINS+=("$1"); shift ;;
  esac
done
if [ ${#BINS[@]} -eq 0 ]; then
  [ -x target/release/vibe ] || cargo build --release --locked >&2
  BINS=(target/release/vibe)
fi
if [ ! -d "$TREE" ]; then
  python3 - "$TREE" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(100):
    for j in range(100):
        d = os.path.join(root, f"d{i}", f"e{j}")
        os.makedirs(d)
        if j % 10 == 0:
            with open(os.path.join(d, "m.py"), "w") as f:
                f.write(f"def f{i}_{j}():\n    return {j}\n")
PY
  git -C "$TREE" init -q
fi
HOME_DIR=$(mktemp -d)
OUT=$(mktemp)
trap 'rm -rf "$HOME_DIR" "$OUT"' EXIT
export VIBE_HOME="$HOME_DIR"
"${BINS[0]}" -C "$TREE" map > /dev/null 2>&1
declare -A TIMES
for _ in $(seq "$N"); do
  for bin in "${BINS[@]}"; do
    : > "$OUT"
    start=$(date +%s.%N)
    "$bin" -C "$TREE" watch --json > "$OUT" 2>/dev/null &
    pid=$!
    until grep -q '"ready"' "$OUT"; do sleep 0.005; done
    end=$(date +%s.%N)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    TIMES[$bin]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }') "
  done
done
for bin in "${BINS[@]}"; do
  echo "${TIMES[$bin]}" | tr ' ' '\n' | grep . | sort -n | awk -v b="$bin" '
    { t[NR] = $1 }
    END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2;
          printf "%s: ready in %.3f s median (%.3f-%.3f, %d runs)\n", b, m, t[1], t[NR], NR }'
done
