#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Sweep benchmark (issue 10): wall time of the PTE batch-size sweep of the 256 MiB pageout experiment
# (configs/sweeps/pte-batch-pageout.yaml: kernel.max_pte_batch 1..512 x folio 4K..2M x the machines named, at
# least 100 points) with `mmusim sweep -j JOBS`, and host seconds per simulated PTE (the sweep's CPU time over
# the PTEs its MADV_PAGEOUTs unmapped). Baseline, measured in the same run: the same points' work done one
# after another in one process each (`mmusim run` of one point per folio size, times the points of that
# size), divided by JOBS -- the wall time perfect parallelism would give; the ratio says what the sweep's
# orchestration and the sharing of cores cost.
#
#   bench/sweep_bench.sh [JOBS [MACHINES]]   default: 2 and arm64-contpte,arm64-nocontpte,x86 (120 points)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-2}
machines=${2:-arm64-contpte,arm64-nocontpte,x86}
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target mmusim >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nm=$(echo "$machines" | tr ',' '\n' | wc -l)
points=$((10 * 4 * nm))

# Baseline: one point per folio size on the first machine, serially, at batch cap 16.
first=${machines%%,*}
serial=0
for folio in 4K 16K 64K 2M; do
  t0=$(date +%s.%N)
  build/mmusim sweep pte-batch-pageout -o "$work/one-$folio" -j 1 --no-progress --no-plots \
    --axis kernel.max_pte_batch=16 --axis workload.0.folio=$folio --axis machine="$first" 2>/dev/null
  t1=$(date +%s.%N)
  serial=$(echo "$serial + ($t1 - $t0) * 10 * $nm" | bc -l)
done
ideal=$(echo "$serial / $jobs" | bc -l)

t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/cpu" build/mmusim sweep pte-batch-pageout -o "$work/sweep" -j "$jobs" \
  --no-progress --no-plots --axis machine="$machines" 2>"$work/log" || { cat "$work/log"; exit 1; }
t1=$(date +%s.%N)
wall=$(echo "$t1 - $t0" | bc -l)
# The children's CPU time is in the parent's (time counts waited-for children).
cpu=$(awk '{print $1 + $2}' "$work/cpu")
ptes=$((points * 65536))
printf 'sweep benchmark: pte-batch-pageout, %d points (machines %s), -j %d\n' "$points" "$machines" "$jobs"
printf '  wall %.1f s (target 60 s); CPU %.1f s; host %.1f us per simulated PTE (CPU)\n' "$wall" "$cpu" "$(echo "$cpu * 1000000 / $ptes" | bc -l)"
printf '  baseline (serial points / %d) %.1f s; sweep / baseline %.2fx\n' "$jobs" "$ideal" "$(echo "$wall / $ideal" | bc -l)"
