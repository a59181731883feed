#!/usr/bin/env bash
# Whole-process latency of `vibe context` for two builds, task by task, on warm indexes.
#
#   benches/context_latency.sh VIBE_A CORPUS_A VIBE_B CORPUS_B [TAG]
#
# Each build runs on its own copy of the corpus (two builds of different index schemas would
# rebuild one index on every alternation), indexed and asked once beforehand. For each of 16
# tasks (with TAG appended, so that a new TAG makes tasks never asked before: blocks whose
# counts are not cached yet), A and B run one after the other, the order alternating from task
# to task. Prints each build's median, minimum and maximum in ms. Run it twice with the same
# TAG to see repeated tasks. Wrap it in `taskset -c 0` to measure on one core.
# The corpus is the Python standard library copy that benches/stdlib.sh makes. With TASKS=FILE
# the tasks are FILE's lines instead (benches/context_tasks_nodejs.txt: Node.js's tree).
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
A=$1 CA=$2 B=$3 CB=$4 TAG=${5:-round-$(date +%s)}
tasks=(
  "http.client: chunked reads hang on trailing whitespace"
  "email.parser drops the last header of a message"
  "sqlite3 backup progress callback is never called"
  "json.dumps sort_keys fails on mixed key types"
  "argparse: mutually exclusive group ignores required"
  "urllib.parse.urljoin mishandles empty fragments"
  "difflib unified_diff emits wrong line numbers for empty files"
  "configparser interpolation recursion error message"
  "gzip.open text mode newline handling"
  "unittest.mock patch.dict restores deleted keys wrongly"
  "datetime.fromisoformat accepts invalid week dates"
  "threading.Timer cancel race with finished event"
  "heapq.merge key function with reverse order"
  "shlex.split posix mode with escaped quotes"
  "socket.create_connection ignores source_address on retry"
  "traceback.format_exception with chained exceptions loops"
)
if [ -n "${TASKS:-}" ]; then
  mapfile -t tasks < <(grep -v '^[[:space:]]*$' "$TASKS")
fi
ms() { # VIBE CORPUS TASK
  local s
  s=$(date +%s%N)
  "$1" -C "$2" context "$3" >/dev/null
  echo $((($(date +%s%N) - s) / 1000000))
}
a=() b=()
for i in "${!tasks[@]}"; do
  t="${tasks[$i]} $TAG"
  if ((i % 2)); then
    b+=("$(ms "$B" "$CB" "$t")") a+=("$(ms "$A" "$CA" "$t")")
  else
    a+=("$(ms "$A" "$CA" "$t")") b+=("$(ms "$B" "$CB" "$t")")
  fi
done
stats() { # NAME VALUES...
  local name=$1
  shift
  printf '%s\n' "$@" | sort -n | awk -v n="$name" '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%s: median %s ms (%s-%s, %d runs)\n", n, m, v[1], v[NR], NR }'
}
stats "A $A" "${a[@]}"
stats "B $B" "${b[@]}"
