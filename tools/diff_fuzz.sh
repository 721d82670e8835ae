#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The port's differential fuzzer (docs/CHECKING.md): generated workloads of faults, data writes, fork, exit,
# pin/unpin, MADV_FREE with redirtying, MADV_PAGEOUT, memory.reclaim (LRU reclaim, anon only), swap-in and
# munmap, in checked mode with every checker at every operation boundary; per seed and platform the series
# against mainline at a cap the seed picks, and (without MADV_FREE) the series uncapped against mainline with a
# cap of 3: the end states must be identical. Runs fresh seeds in rounds of 8 until SECONDS have passed, JOBS
# rounds at a time; a failing round is printed and the run goes on. Rerun a failing seed with
# MMUSIM_DIFF_FUZZ_BASE=SEED MMUSIM_DIFF_FUZZ_SEEDS=1 (MMUSIM_DIFF_OPS=N makes only the first N operations,
# MMUSIM_DIFF_TRACE=1 prints each one, to find where the two kernels part).
#
#   tools/diff_fuzz.sh [SECONDS] [FIRST_SEED] [JOBS]    default 300 s from seed 100000, 1 job
#
# MMUSIM_DIFF_FUZZ_BIN=path runs that test binary instead of building build/tests/mmusim_tests (e.g. a copy,
# so that the tree can be rebuilt while the fuzzer runs). Exits 1 if any seed failed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
seed=${2:-100000}
jobs=${3:-1}
bin=${MMUSIM_DIFF_FUZZ_BIN:-}
if [ -z "$bin" ]; then
  tools/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMMUSIM_BUILD_TESTS=ON >/dev/null
  cmake --build build -j"$(nproc)" --target mmusim_tests >/dev/null || exit 2
  bin=build/tests/mmusim_tests
fi
logs=$(mktemp -d /tmp/diff_fuzz.XXXXXX)
start=$(date +%s)
end=$(( start + secs ))

# One job: rounds first, first + 8*jobs, ... until the time is up; prints how many seeds it ran.
job() {
  local s=$1 n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    if ! MMUSIM_DIFF_FUZZ_BASE=$s MMUSIM_DIFF_FUZZ_SEEDS=8 "$bin" \
         --gtest_filter=ReclaimDifferentialFuzz.GeneratedWorkloadsEndTheSameWithEveryCheckerOn \
         --gtest_brief=1 >"$logs/$s.log" 2>&1; then
      echo "diff_fuzz: a seed in $s..$((s + 7)) failed: $logs/$s.log" >&2
    else
      rm -f "$logs/$s.log"
    fi
    n=$((n + 8)); s=$((s + 8 * jobs))
  done
  echo "$n" >"$logs/job.$1.count"
}

for ((j = 0; j < jobs; ++j)); do
  job $((seed + 8 * j)) &
done
wait
runs=0
for f in "$logs"/job.*.count; do runs=$((runs + $(cat "$f"))); done
failed=$(find "$logs" -name '*.log' | wc -l)
rm -f "$logs"/job.*.count
took=$(( $(date +%s) - start ))
if [ "$failed" -gt 0 ]; then
  echo "diff_fuzz: $runs seeds from $seed in $took s, $failed round(s) of 8 failed (logs in $logs)"
  exit 1
fi
rmdir "$logs"
echo "diff_fuzz: $runs seeds from $seed x 2 platforms, every pair identical, every checker clean, in $took s ($jobs jobs)"
