#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The port's differential fuzzer (docs/CHECKING.md): generated workloads of faults, data writes, fork, exit,
# pin/unpin, MADV_FREE with redirtying, MADV_PAGEOUT, memory.reclaim (LRU reclaim, anon only), swap-in and munmap, each run with the batched anon unmap
# series and with mainline (batch cap 3), in checked mode with every checker at every operation boundary; the
# end states must be identical. Runs fresh seeds in rounds of 8 until SECONDS have passed; a failing seed is
# printed (rerun it with MMUSIM_DIFF_FUZZ_BASE=SEED MMUSIM_DIFF_FUZZ_SEEDS=1; MMUSIM_DIFF_OPS=N makes only the
# first N operations, MMUSIM_DIFF_TRACE=1 prints each one, to find where the two kernels part).
#
#   tools/diff_fuzz.sh [SECONDS] [FIRST_SEED]      default 300 s from seed 100000
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
seed=${2:-100000}
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMMUSIM_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)" --target mmusim_tests >/dev/null || exit 2
end=$(( $(date +%s) + secs ))
runs=0
while [ "$(date +%s)" -lt "$end" ]; do
  if ! MMUSIM_DIFF_FUZZ_BASE=$seed MMUSIM_DIFF_FUZZ_SEEDS=8 build/tests/mmusim_tests \
       --gtest_filter=ReclaimDifferentialFuzz.* --gtest_brief=1 >/tmp/diff_fuzz.$$.log 2>&1; then
    cat /tmp/diff_fuzz.$$.log
    echo "diff_fuzz: a seed in $seed..$((seed + 7)) failed (see above)"
    exit 1
  fi
  runs=$((runs + 8)); seed=$((seed + 8))
done
rm -f /tmp/diff_fuzz.$$.log
echo "diff_fuzz: $runs workloads x 2 platforms x 2 kernels, all identical, every checker clean, in $secs s"
