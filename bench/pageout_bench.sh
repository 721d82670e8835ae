#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pageout benchmark (issue 9): host time of the MADV_PAGEOUT experiment, configs/experiments/pageout-64k.yaml
# (Neoverse N1, contpte) and pageout-64k-x86.yaml (Skylake-SP): 256 MiB of written 64K folios paged out, with
# the batched anon unmap series and without (kernel.anon_unmap_batch). Prints each experiment's wall-clock
# seconds (`mmusim run`, both variants, everything included: boot, fault-in, pageout, report), and per variant
# the host seconds and host ns per simulated PTE of the MADV_PAGEOUT operation (`--host-times`). Baseline,
# measured in the same run as in bench/experiment_bench.sh: the bare C++ TLB loop's host time per trace record,
# so "vs bare" says how many bare TLB lookups one simulated PTE of pageout costs, whatever the machine.
#
#   bench/pageout_bench.sh [RUNS [EXPERIMENT...]]   best of RUNS runs (default 1); default experiments:
#                                                   pageout-64k pageout-64k-x86
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
shift || true
exps=("$@")
[ ${#exps[@]} -gt 0 ] || exps=(pageout-64k pageout-64k-x86)
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target mmusim bare_tlb_loop >/dev/null

. bench/bare_baseline.sh # sets work and bare_ns

printf 'pageout benchmark: best of %s; baseline bare TLB loop %.2f ns/record\n\n' "$runs" "$bare_ns"
printf '%-24s %8s   %-10s %10s %10s %10s\n' "experiment" "wall s" "variant" "pageout s" "ns/PTE" "vs bare"
for exp in "${exps[@]}"; do
  best_wall=
  for r in $(seq "$runs"); do
    t0=$(date +%s.%N)
    # the MADV_PAGEOUT is the experiment's last madvise: the last "madvise" line per variant wins
    build/mmusim run "$exp" -q --no-progress --host-times 2>&1 >/dev/null |
      awk '$1 == "host" && $4 == "madvise" { s[$2] = $7; n[$2] = $8 } END { for (v in s) print v, s[v], n[v] }' \
      > "$work/run.$r"
    wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
    if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc -l)" = 1 ]; then best_wall=$wall; fi
  done
  cat "$work"/run.* | awk '{ if (!($1 in best) || $3 < best[$1]) { best[$1] = $3; secs[$1] = $2 } }
                           END { for (v in best) print v, secs[v], best[v] }' | sort |
    while read -r variant secs ns; do
      printf '%-24s %8.2f   %-10s %10.3f %10.0f %10.0f\n' "$exp" "$best_wall" "$variant" "$secs" "$ns" \
        "$(echo "$ns / $bare_ns" | bc -l)"
    done
  rm -f "$work"/run.*
done
