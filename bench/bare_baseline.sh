# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the kernel-port benchmarks: the baseline they measure in the same run, the bare C++ TLB loop's host
# time per trace record (build/bench/bare_tlb_loop over the shipped lackey sample), best of RUNS x 3.
# Needs `runs` set and build/bench/bare_tlb_loop built; sets `work` (a temporary folder, removed at exit) and
# `bare_ns`.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
xz -dc traces/samples/lackey_true.txt.xz > "$work/trace.lackey"
bare_rate() { build/bench/bare_tlb_loop "$work/trace.lackey" 64 4 | sed -E 's/.*\(([0-9.]+) M records\/s.*/\1/'; }
bare=$(for _ in $(seq "$((runs * 3))"); do bare_rate; done | sort -g | tail -n 1)
bare_ns=$(echo "1000 / $bare" | bc -l)
