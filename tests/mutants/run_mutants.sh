#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The injected-bug (mutant) suite of issue 11: for each tests/mutants/*.patch, apply it to one reused git
# worktree of HEAD (outside the source tree), build mmusim and mmusim_tests incrementally (-j2, ccache), run
# the unit tests and `mmusim run --check` of small experiments, and report whether the mutant was caught, by
# what, and how long it took. Exits 1 if any mutant survives. Not part of ctest (each rebuild takes minutes).
#
#   tests/mutants/run_mutants.sh [patch ...]        (default: every patch; results also in $OUT/results.md)
# Environment: MUTANT_WT (worktree, default /tmp/mmusim-mutants), JOBS (default 2).
set -u
SRC=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
WT=${MUTANT_WT:-/tmp/mmusim-mutants}
JOBS=${JOBS:-2}
OUT=$WT/out
patches=("$@")
[ ${#patches[@]} -eq 0 ] && patches=("$SRC"/tests/mutants/*.patch)

if [ ! -d "$WT/.git" ] && [ ! -f "$WT/.git" ]; then
    git -C "$SRC" worktree add --detach "$WT" HEAD >/dev/null || exit 2
fi
git -C "$WT" checkout -q --detach "$(git -C "$SRC" rev-parse HEAD)" && git -C "$WT" reset -q --hard || exit 2
mkdir -p "$OUT"
cmake -S "$WT" -B "$WT/build" -DCMAKE_BUILD_TYPE=Release -DMMUSIM_BUILD_TESTS=ON -DMMUSIM_WERROR=ON \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >"$OUT/cmake.log" 2>&1 || { echo "cmake failed: $OUT/cmake.log"; exit 2; }
# the unmutated tree first, so that each mutant's rebuild is incremental
cmake --build "$WT/build" -j"$JOBS" --target mmusim mmusim_tests >"$OUT/build-base.log" 2>&1 || { echo "base build failed"; exit 2; }

# small checked experiments: arm64 and x86 pageout (deferred flush, -EBUSY, swap PTEs), lazyfree (dirty bits),
# LRU reclaim of shared folios split across VMAs
EXPS="pageout-64k-64core pageout-4k-x86 lazyfree-64k lazyfree-64k-x86 mprotect-arm64 lru-reclaim-64k"

survivors=0
echo "| mutant | caught by | time (s) |" >"$OUT/results.md"
echo "|---|---|---|" >>"$OUT/results.md"
for p in "${patches[@]}"; do
    name=$(basename "$p" .patch)
    start=$(date +%s)
    if ! git -C "$WT" apply "$p"; then
        echo "$name: patch does not apply"; survivors=$((survivors + 1)); continue
    fi
    caught=""
    if ! cmake --build "$WT/build" -j"$JOBS" --target mmusim mmusim_tests >"$OUT/$name.build.log" 2>&1; then
        caught="build"
    else
        tbin=$(find "$WT/build" -maxdepth 2 -name mmusim_tests -type f | head -1)
        (cd "$WT/build" && timeout 600 "$tbin" --gtest_brief=1 >"$OUT/$name.tests.log" 2>&1)
        failed=$(grep -E '^\[  FAILED  \] [A-Za-z]' "$OUT/$name.tests.log" | sed 's/^\[  FAILED  \] //; s/,.*//; s/ (.*//' | sort -u)
        if [ -n "$failed" ]; then
            n=$(echo "$failed" | wc -l)
            caught="$n test(s): $(echo "$failed" | head -3 | tr '\n' ' ')"
        fi
        for e in $EXPS; do
            (cd "$WT" && timeout 300 ./build/mmusim run "configs/experiments/$e.yaml" --check >"$OUT/$name.$e.log" 2>&1)
            rc=$?
            if [ $rc -ne 0 ]; then
                msg=$(grep -m1 -E 'failed|error' "$OUT/$name.$e.log" | cut -c1-120)
                caught="$caught; run --check $e (exit $rc: $msg)"
            fi
        done
    fi
    git -C "$WT" apply -R "$p" || git -C "$WT" checkout -q -- .
    secs=$(( $(date +%s) - start ))
    if [ -z "$caught" ]; then
        survivors=$((survivors + 1)); caught="NOT CAUGHT"
    fi
    caught=${caught#; }
    echo "$name: $caught (${secs} s)"
    echo "| $name | ${caught//|/\\|} | $secs |" >>"$OUT/results.md"
done
echo "results: $OUT/results.md"
[ $survivors -eq 0 ] || { echo "$survivors mutant(s) survived"; exit 1; }
