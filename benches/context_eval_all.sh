#!/usr/bin/env bash
# Every evaluation set of `vibe context` (docs/context.md, Evaluation), for one build.
#
#   benches/context_eval_all.sh VIBE OUT [CACHE]
#
# Fetches what it needs once into CACHE (default $TMPDIR/vibe-context-all; ~1.5 GB, ~15 minutes
# the first time), then runs VIBE on
#   dev       the 183 development tasks (Debian patches of 13 packages)
#   heldout   the 234 held-out tasks (17 other packages)
#   seven     GNU release trees' ChangeLog entries: coreutils diffutils findutils grep gzip sed tar
#   six       the same from bison gnupg2 gpgme1.0 libassuan libgcrypt20 libgpg-error
#   third     the same from cpio gawk gettext inetutils libunistring m4 patch wget
#   git       the real git histories some Debian tarballs carry (benches/debian_git_repos.py,
#             100 commits or more), the last 150 commits' subjects of each
# each task's result as JSON under OUT/<set>/, and OUT/summary.txt: recall@1 / recall@5 /
# needed files in context per set (and per tree). VIBE_RANK_* in the environment reaches vibe
# (VIBE_RANK_TUNE=history=0 and so on). `benches/context_compare.py OUT_A OUT_B` compares two
# runs task by task. 15-30 minutes on 2 cores once fetched; SETS="dev heldout" runs some.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,20p' "$0" >&2
  exit 2
fi
VIBE=$(realpath "$1") OUT=$2 CACHE=${3:-${TMPDIR:-/tmp}/vibe-context-all}
SETS=${SETS:-dev heldout seven six third git}
HERE=$(cd "$(dirname "$0")" && pwd)
EVAL="$HERE/context_eval.py"
mkdir -p "$OUT" "$CACHE"
HELDOUT=libxml2,tiff,libarchive,expat,sudo,wget,openssl,pillow,jinja2,python3.11,snapd,libpod,delve,netty,nodejs,node-shell-quote,node-es-module-lexer
declare -A GNU=(
  [seven]="coreutils diffutils findutils grep gzip sed tar"
  [six]="bison gnupg2 gpgme1.0 libassuan libgcrypt20 libgpg-error"
  [third]="cpio gawk gettext inetutils libunistring m4 patch wget"
)

# The GNU release trees, unpacked by context_eval.py's own code (its Debian cache layout).
gnu_tree() {
  python3 - "$EVAL" "$CACHE/gnu" "$1" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ce", sys.argv[1])
ce = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ce)
tree, _ = ce.unpack(sys.argv[3], ce.sources_index(sys.argv[2]), sys.argv[2])
print(tree)
PY
}

summary() {
  python3 - "$1" "$2" <<'PY'
import glob, json, os, sys
name, d = sys.argv[1], sys.argv[2]
rows = []
for p in sorted(glob.glob(os.path.join(d, "*.json"))):
    r = json.load(open(p))
    rows += r
    if r and len(glob.glob(os.path.join(d, "*.json"))) > 1:
        n = len(r)
        print(f"  {os.path.basename(p)[:-5]:40} {n:4} " + " / ".join(
            f"{sum(x[k] for x in r) / n:.3f}" for k in ("r1", "r5", "in_context")))
n = len(rows)
print(f"{name:42} {n:4} " + (" / ".join(
    f"{sum(x[k] for x in rows) / n:.3f}" for k in ("r1", "r5", "in_context")) if n else "-"))
PY
}

: > "$OUT/summary.txt"
set=""
trap 'echo "context_eval_all.sh: ${set:-setup} failed; see $OUT/${set:-.}/log" >&2' ERR
for set in $SETS; do
  mkdir -p "$OUT/$set"
  case $set in
    dev)
      python3 "$EVAL" --vibe "$VIBE" --cache "$CACHE/dev" --no-baseline \
        --json "$OUT/dev/dev.json" > "$OUT/dev/log" 2>&1 ;;
    heldout)
      python3 "$EVAL" --vibe "$VIBE" --cache "$CACHE/heldout" --no-baseline \
        --packages "$HELDOUT" --json "$OUT/heldout/heldout.json" > "$OUT/heldout/log" 2>&1 ;;
    seven|six|third)
      mkdir -p "$CACHE/trees"
      for p in ${GNU[$set]}; do
        tree=$(gnu_tree "$p" 2>> "$OUT/$set/log")
        # Named after the package: the tasks are `coreutils:1207`, not `tree:1207`.
        ln -sfn "$tree" "$CACHE/trees/$p"
        python3 "$EVAL" --vibe "$VIBE" --changelog "$CACHE/trees/$p" --commits 150 \
          --no-baseline --cache "$CACHE/changelogs" --json "$OUT/$set/$p.json" \
          >> "$OUT/$set/log" 2>&1
      done ;;
    git)
      python3 "$HERE/debian_git_repos.py" "$CACHE/realgit" --min-commits 100 \
        > "$OUT/git/repos" 2>> "$OUT/git/log"
      cut -f1 "$OUT/git/repos" | while read -r repo; do
        name=$(basename "$(dirname "$repo")")_$(basename "$repo")
        python3 "$EVAL" --vibe "$VIBE" --git "$repo" --commits 150 --no-baseline \
          --cache "$CACHE/gitclones" --json "$OUT/git/$name.json" >> "$OUT/git/log" 2>&1 \
          || echo "$repo: no tasks or failed (see $OUT/git/log)" >> "$OUT/git/log"
      done ;;
    *) echo "unknown set: $set" >&2; exit 2 ;;
  esac
  summary "$set" "$OUT/$set" | tee -a "$OUT/summary.txt"
done
