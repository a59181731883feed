#!/usr/bin/env bash
# End-to-end timings of `vibe map` on the Python standard library (see docs/benchmarks.md).
#
#   benches/stdlib.sh [-n N] [--bench] [--no-build]
#
#   -n N        runs per scenario (default 5; or N=... in the environment)
#   --bench     also run the criterion parse floor first
#               (`cargo bench --bench repomap -- 'parse_only|parse_tag'`, a few minutes)
#   --no-build  use the existing target/release/vibe instead of `cargo build --release`
#
# The corpus is python3's stdlib (sysconfig "stdlib"), without site-packages and __pycache__,
# copied into a fresh git repository in a temp dir that is removed on exit. Scenarios, each run
# N times as `vibe -C <corpus> map` (stdout discarded), wall time from `date +%s%N`:
#   cold      .vibe removed before each run (untimed): full index + map at 2048 tokens
#   warm      nothing changed since the previous run
#   edit-one  a comment line appended to json/decoder.py before each run (untimed)
#   edit-def  a new function appended to the same file (its definitions change: ranking re-runs)
# Then: peak RSS and CPU time of one more run per scenario (/usr/bin/time -v), one
# `vibe map --stats` per scenario for the per-phase timings, the criterion medians if
# target/criterion holds them, and a speed probe (shared VMs vary). Needs bash, python3, git,
# tar and coreutils; nothing else.
set -euo pipefail

N=${N:-5}
BENCH=0
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        -n) N="$2"; shift 2 ;;
        -n*) N="${1#-n}"; shift ;;
        --bench) BENCH=1; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "stdlib.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$N" in ''|*[!0-9]*|0) echo "stdlib.sh: -n wants a positive integer" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
VIBE=$TARGET/release/vibe
EDITED=json/decoder.py

command -v python3 >/dev/null || { echo "stdlib.sh: python3 not found; nothing to measure" >&2; exit 1; }
command -v git >/dev/null || { echo "stdlib.sh: git not found" >&2; exit 1; }

if [ "$BUILD" = 1 ]; then
    echo "== cargo build --release" >&2
    (cd "$ROOT" && cargo build --release --quiet)
fi
[ -x "$VIBE" ] || { echo "stdlib.sh: $VIBE not built" >&2; exit 1; }

if [ "$BENCH" = 1 ]; then
    echo "== cargo bench --bench repomap -- 'parse_only|parse_tag'" >&2
    (cd "$ROOT" && cargo bench --quiet --bench repomap -- 'parse_only|parse_tag') >&2
fi

# A clean environment for vibe: no user config, no VIBE_* overrides, default logging.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^VIBE_' || true)
unset RUST_LOG
export CI=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vibe-stdlib.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export VIBE_HOME=$TMP/home
mkdir -p "$VIBE_HOME"

STDLIB=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
CORPUS=$TMP/stdlib
mkdir -p "$CORPUS"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# A fixed single-thread CPU loop, to compare the machine's speed between runs (shared VMs vary).
calibrate() {
    python3 -c 'import time
t = time.perf_counter(); x = 0
for i in range(10_000_000): x += i
print(f"{(time.perf_counter() - t) * 1000:.0f} ms")'
}
CAL_BEFORE=$(calibrate)
echo "== copying $STDLIB to $CORPUS" >&2
tar -C "$STDLIB" --exclude=site-packages --exclude=__pycache__ -cf - . | tar -C "$CORPUS" -xf -
git -C "$CORPUS" init -q
git -C "$CORPUS" config user.name "vibe bench"
git -C "$CORPUS" config user.email "bench@localhost"
git -C "$CORPUS" add -A
git -C "$CORPUS" commit -q -m "python stdlib corpus"
[ -f "$CORPUS/$EDITED" ] || EDITED=$(cd "$CORPUS" && find . -name '*.py' -size +4k | sort | head -1 | cut -c3-)

files=$(find "$CORPUS" -path "$CORPUS/.git" -prune -o -type f -print | wc -l)
bytes=$(find "$CORPUS" -path "$CORPUS/.git" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
pyfiles=$(find "$CORPUS" -path "$CORPUS/.git" -prune -o -type f -name '*.py' -print | wc -l)
pybytes=$(find "$CORPUS" -path "$CORPUS/.git" -prune -o -type f -name '*.py' -printf '%s\n' | awk '{s+=$1} END {print s+0}')

now_ns() { date +%s%N; }

# Runs `vibe map` once and prints its wall time in ms.
time_map() {
    local t0 t1
    t0=$(now_ns)
    "$VIBE" -C "$CORPUS" map >/dev/null 2>"$TMP/stderr" || { cat "$TMP/stderr" >&2; exit 1; }
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000 ))
}

# median / min / max of microsecond figures given as arguments, printed in ms.
summary() {
    python3 - "$@" <<'EOF'
import statistics, sys
v = [int(x) / 1000 for x in sys.argv[1:]]
print(f"median {statistics.median(v):8.1f} ms   min {min(v):8.1f}   max {max(v):8.1f}   (n={len(v)})")
EOF
}

edit_n=0
prepare() {
    case "$1" in
        cold) rm -rf "$CORPUS/.vibe" ;;
        warm) ;;
        edit-one) edit_n=$((edit_n + 1)); echo "# vibe bench edit $edit_n" >>"$CORPUS/$EDITED" ;;
        edit-def) edit_n=$((edit_n + 1)); printf 'def vibe_bench_edit_%d():\n    return %d\n' "$edit_n" "$edit_n" >>"$CORPUS/$EDITED" ;;
    esac
}

declare -A RESULT RSS
for scenario in cold warm edit-one edit-def; do
    echo "== $scenario x $N" >&2
    # warm and edit-one start from a settled index (a run after the last cold one).
    [ "$scenario" = cold ] || "$VIBE" -C "$CORPUS" map >/dev/null
    times=()
    for _ in $(seq "$N"); do
        prepare "$scenario"
        times+=("$(time_map)")
    done
    RESULT[$scenario]=$(summary "${times[@]}")
done

if [ -x /usr/bin/time ]; then
    for scenario in cold warm edit-one edit-def; do
        prepare "$scenario"
        /usr/bin/time -v "$VIBE" -C "$CORPUS" map >/dev/null 2>"$TMP/time"
        RSS[$scenario]=$(awk -F': ' '
            /User time/ {u = $2} /System time/ {s = $2} /Percent of CPU/ {p = $2}
            /Elapsed \(wall clock\)/ {w = $2}
            /Maximum resident set size/ {k = $2}
            END {printf "%6.1f MB (%d kB); this run: wall %s, CPU user %.2f s + sys %.2f s (%s)", k/1024, k, w, u, s, p}' "$TMP/time")
    done
else
    for scenario in cold warm edit-one edit-def; do RSS[$scenario]="n/a (/usr/bin/time not installed)"; done
fi

STATS=()
for scenario in cold warm edit-one edit-def; do
    prepare "$scenario"
    STATS+=("--- $scenario: vibe map --stats"$'\n'"$("$VIBE" -C "$CORPUS" map --stats)")
done

echo
echo "vibe map on the Python stdlib — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr)"
echo "binary:  $VIBE"
echo "corpus:  $STDLIB (python $(python3 -c 'import platform; print(platform.python_version())'))"
printf 'corpus:  %s files, %.1f MB (of which %s .py files, %.1f MB)\n' \
    "$files" "$(echo "$bytes" | awk '{print $1/1e6}')" "$pyfiles" "$(echo "$pybytes" | awk '{print $1/1e6}')"
echo "edited:  $EDITED"
echo "speed:   python 10M-iteration loop $CAL_BEFORE before, $(calibrate) after (lower is faster)"
echo "load:    $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after (other work on the machine inflates wall times)"
echo
printf '%-9s %s\n' "cold" "${RESULT[cold]}"
printf '%-9s %s\n' "warm" "${RESULT[warm]}"
printf '%-9s %s\n' "edit-one" "${RESULT[edit-one]}"
printf '%-9s %s\n' "edit-def" "${RESULT[edit-def]}"
echo
echo "peak RSS and CPU time (/usr/bin/time -v, one more run each):"
printf '  %-9s %s\n' "cold" "${RSS[cold]}" "warm" "${RSS[warm]}" "edit-one" "${RSS[edit-one]}" \
    "edit-def" "${RSS[edit-def]}"
echo
echo "targets (2 cores): cold <= 3000 ms, warm <= 100 ms, edit-one (and edit-def) <= 100 ms, peak RSS <= 150 MB"

CRIT=$TARGET/criterion
echo
if [ -d "$CRIT" ]; then
    echo "criterion medians (from $CRIT; run \`cargo bench --bench repomap\` or --bench to refresh):"
    python3 - "$CRIT" <<'EOF'
import json, os, sys, time
crit = sys.argv[1]
for name in ["parse_only/single_thread", "parse_only/rayon", "parse_tag/rayon",
             "map/cold", "map/warm", "map/edit_one", "map/edit_def"]:
    f = os.path.join(crit, name, "new", "estimates.json")
    if not os.path.exists(f):
        continue
    m = json.load(open(f))["median"]["point_estimate"] / 1e6
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(f)))
    print(f"  {name:<26} median {m:9.1f} ms   (measured {when})")
EOF
else
    echo "parse floor: not measured (run with --bench, or \`cargo bench --bench repomap\`)"
fi

echo
for s in "${STATS[@]}"; do echo "$s"; done
