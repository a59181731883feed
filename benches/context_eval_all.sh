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
#   releases  single-entry releases of 38 Rust crates and 41 Python packages (their changelogs'
#             entries as tasks, the source files each release changed as the needed files)
# each task's result as JSON under OUT/<set>/, and OUT/summary.txt: recall@1 / recall@5 /
# needed files in context per set (and per tree). VIBE_RANK_* in the environment reaches vibe
# (VIBE_RANK_TUNE=history=0 and so on). `benches/context_compare.py OUT_A OUT_B` compares two
# runs task by task. 25-40 minutes on 2 cores once fetched; SETS="dev heldout" runs some.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,20p' "$0" >&2
  exit 2
fi
VIBE=$(realpath "$1") OUT=$2 CACHE=${3:-${TMPDIR:-/tmp}/vibe-context-all}
SETS=${SETS:-dev heldout seven six third git releases}
HERE=$(cd "$(dirname "$0")" && pwd)
EVAL="$HERE/context_eval.py"
mkdir -p "$OUT" "$CACHE"
HELDOUT=libxml2,tiff,libarchive,expat,sudo,wget,openssl,pillow,jinja2,python3.11,snapd,libpod,delve,netty,nodejs,node-shell-quote,node-es-module-lexer
declare -A GNU=(
  [seven]="coreutils diffutils findutils grep gzip sed tar"
  [six]="bison gnupg2 gpgme1.0 libassuan libgcrypt20 libgpg-error"
  [third]="cpio gawk gettext inetutils libunistring m4 patch wget"
)

# The GNU release trees of a set, unpacked by context_eval.py's own code (its Debian cache
# layout), linked as CACHE/trees/<package> (their tasks are then `coreutils:1207`, not
# `tree:1207`); prints the links.
gnu_trees() {
  python3 - "$EVAL" "$CACHE" "$@" <<'PY'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("ce", sys.argv[1])
ce = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ce)
cache = sys.argv[2]
index = ce.sources_index(os.path.join(cache, "gnu"))
os.makedirs(os.path.join(cache, "trees"), exist_ok=True)
for package in sys.argv[3:]:
    tree, _ = ce.unpack(package, index, os.path.join(cache, "gnu"))
    link = os.path.join(cache, "trees", package)
    if os.path.islink(link):
        os.remove(link)
    os.symlink(tree, link)
    print(link)
PY
}

: > "$OUT/summary.txt"
set=""
trap 'echo "context_eval_all.sh: ${set:-setup} failed; see the logs in $OUT/${set:-.}/" >&2' ERR
for set in $SETS; do
  # A tree that no longer gives tasks leaves no result of an earlier run behind.
  rm -rf "${OUT:?}/$set"
  mkdir -p "$OUT/$set"
  case $set in
    dev)
      python3 "$EVAL" --vibe "$VIBE" --cache "$CACHE/dev" --no-baseline \
        --json "$OUT/dev/dev.json" > "$OUT/dev/log" 2>&1 ;;
    heldout)
      python3 "$EVAL" --vibe "$VIBE" --cache "$CACHE/heldout" --no-baseline \
        --packages "$HELDOUT" --json "$OUT/heldout/heldout.json" > "$OUT/heldout/log" 2>&1 ;;
    seven|six|third)
      # shellcheck disable=SC2086
      trees=$(gnu_trees ${GNU[$set]} 2>> "$OUT/$set/log")
      for tree in $trees; do
        python3 "$EVAL" --vibe "$VIBE" --changelog "$tree" --commits 150 --no-baseline \
          --cache "$CACHE/changelogs" --json "$OUT/$set/$(basename "$tree").json" \
          >> "$OUT/$set/log" 2>&1
      done ;;
    git)
      python3 "$HERE/debian_git_repos.py" "$CACHE/realgit" --min-commits 100 \
        > "$OUT/git/repos" 2>> "$OUT/git/log"
      cut -f1 "$OUT/git/repos" | while read -r repo; do
        name=$(basename "$(dirname "$repo")")_$(basename "$repo")
        # A history without tasks (kworkflow's shell scripts) fails saying so, and is skipped.
        python3 "$EVAL" --vibe "$VIBE" --git "$repo" --commits 150 --no-baseline \
          --cache "$CACHE/gitclones" --json "$OUT/git/$name.json" > "$OUT/git/$name.log" 2>&1 \
          || tail -n 1 "$OUT/git/$name.log" | grep -qx "no tasks"
      done ;;
    releases)
      python3 "$EVAL" --vibe "$VIBE" --cache "$CACHE/releases" --no-baseline --crates default \
        --json "$OUT/releases/crates.json" > "$OUT/releases/log" 2>&1
      python3 "$EVAL" --vibe "$VIBE" --cache "$CACHE/releases" --no-baseline --pypi default \
        --json "$OUT/releases/pypi.json" >> "$OUT/releases/log" 2>&1 ;;
    *) echo "unknown set: $set" >&2; exit 2 ;;
  esac
  python3 "$HERE/context_compare.py" "$OUT/$set" | tee -a "$OUT/summary.txt"
done
