#!/usr/bin/env bash
# Change → index updated latency of `vibe watch` on a corpus (default: the Python standard
# library copy used by benches/stdlib.sh).
#
#   benches/watch.sh [-n EDITS] [--corpus DIR] [--vibe PATH]
#
# Starts `vibe watch --json` on the corpus (release build), appends a line to one file N times,
# a second apart, and reads each update's `latency_ms` (from the last file event to the index
# committed: the 100 ms debounce plus the incremental index run) and `index_ms` (the run alone).
# Prints the medians. The corpus is restored afterwards (the edited file is copied back).
set -euo pipefail
cd "$(dirname "$0")/.."
N=9
CORPUS="${TMPDIR:-/tmp}/corp/stdlib"
VIBE=target/release/vibe
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    --corpus) CORPUS="$2"; shift 2 ;;
    --vibe) VIBE="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$VIBE" ] || cargo build --release --locked >&2
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS (benches/stdlib.sh prepares one)" >&2; exit 2; }
FILE="$CORPUS/json/decoder.py"
cp "$FILE" "$FILE.bench-orig"
OUT=$(mktemp)
"$VIBE" -C "$CORPUS" watch --json > "$OUT" 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null || true; mv "$FILE.bench-orig" "$FILE"; rm -f "$OUT"' EXIT
until grep -q '"ready":true' "$OUT"; do sleep 0.1; done
for i in $(seq "$N"); do
  echo "# edit $i" >> "$FILE"
  sleep 1
done
sleep 1
python3 - "$OUT" <<'PY'
import json, statistics, sys
ups = [json.loads(l) for l in open(sys.argv[1]) if '"paths"' in l]
lat = [u["latency_ms"] for u in ups]
idx = [u["index_ms"] for u in ups]
print(f"{len(ups)} updates; latency median {statistics.median(lat):.1f} ms (min {min(lat):.1f}, max {max(lat):.1f}); index run median {statistics.median(idx):.1f} ms")
PY
