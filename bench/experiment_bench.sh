#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Kernel-port benchmark (issue 8): host time per simulated PTE of the ported kernel's fault-in, fork, munmap
# and mprotect, from the shipped experiments (configs/experiments/*-{arm64,x86}.yaml: 256 MiB at 4K, 64K and
# 2M folios, batched and one PTE at a time), with `mmusim run --host-times`. Baseline, measured in the same
# run: the bare C++ TLB loop's host time per trace record (bench/bare_tlb_loop on the shipped lackey sample),
# so "vs bare" says how many bare TLB lookups one simulated PTE costs, whatever the machine's speed.
#
#   bench/experiment_bench.sh [RUNS]     best of RUNS runs of each experiment (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target mmusim bare_tlb_loop >/dev/null

. bench/bare_baseline.sh # sets work and bare_ns

printf 'kernel-port benchmark: host ns per simulated PTE, best of %s; baseline bare TLB loop %.2f ns/record\n\n' "$runs" "$bare_ns"
printf '%-16s %-6s %-10s %12s %10s\n' "experiment" "folio" "variant" "ns/PTE" "vs bare"
for arch in arm64 x86; do
  for exp in fault-in fork munmap mprotect; do
    case $exp in fault-in) op=touch ;; *) op=$exp ;; esac
    for r in $(seq "$runs"); do
      build/mmusim run "$exp-$arch" -q --no-progress --host-times 2>&1 >/dev/null |
        awk -v op="$op" '$1 == "host" && $4 == op { print $2, $5, $8 }' > "$work/run.$r"
    done
    # best (lowest) ns/PTE of each (variant, process) over the runs; the first touch of a process is its fault-in
    cat "$work"/run.* | awk '{ k = $1 " " $2; if (!(k in best) || $3 < best[k]) best[k] = $3 }
                             END { for (k in best) print k, best[k] }' | sort -k2,2 -k1,1 |
      while read -r variant process ns; do
        printf '%-16s %-6s %-10s %12.0f %10.0f\n' "$exp-$arch" "${process#p}" "$variant" "$ns" "$(echo "$ns / $bare_ns" | bc -l)"
      done
    rm -f "$work"/run.*
  done
done
