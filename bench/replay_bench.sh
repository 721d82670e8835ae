#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Replay benchmark (issue 3). Makes a valgrind-lackey trace of a real program on the spot, converts it to the
# native format (same records), and prints records/s for: the bare C++ loop (no SystemC: parse + LRU TLB
# lookups with the same L1 geometry, the ceiling), `mmusim replay` of the lackey trace, and of the native
# trace, each the best of RUNS runs, with the ratio of each replay to the bare loop measured in this run.
# Targets: >= 10 M lackey records/s, and replay within 2x of the bare loop (ratio >= 0.50).
#
#   bench/replay_bench.sh [REPEAT] [RUNS]     REPEAT: copies of the GPL text gzip compresses (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-3}
runs=${2:-3}
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target mmusim bare_tlb_loop >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in $(seq "$repeat"); do cat /usr/share/common-licenses/GPL-3; done > "$work/input.txt"
echo "generating: valgrind --tool=lackey --trace-mem=yes gzip -c -6 ($(wc -c < "$work/input.txt") bytes of text)" >&2
valgrind --tool=lackey --trace-mem=yes --log-file="$work/trace.lackey" gzip -c -6 "$work/input.txt" > /dev/null
# lackey -> native with the same records (a modify is a read then a write, as the lackey reader emits it).
awk '/^I  /{split($2,a,","); print "X 0x" a[1], a[2]; next}
     /^ L /{split($2,a,","); print "R 0x" a[1], a[2]; next}
     /^ S /{split($2,a,","); print "W 0x" a[1], a[2]; next}
     /^ M /{split($2,a,","); print "R 0x" a[1], a[2]; print "W 0x" a[1], a[2]; next}' "$work/trace.lackey" > "$work/trace.native"

geometry=(--set mmu.l1d.entries=64 --set mmu.l1d.ways=4 --set mmu.l1i.entries=64 --set mmu.l1i.ways=4)
best() { sort -g | tail -n 1; }
bare_rate() { build/bench/bare_tlb_loop "$work/trace.lackey" 64 4 | sed -E 's/.*\(([0-9.]+) M records\/s.*/\1/'; }
replay_rate() { # format file
  build/mmusim replay -p neoverse-n1 -f "$1" "$2" "${geometry[@]}" --no-progress --json "$work/$1.json" 2>&1 >/dev/null |
    sed -nE 's/.*\(([0-9.]+)M records\/s\).*/\1/p'
}
bare=$(for _ in $(seq "$runs"); do bare_rate; done | best)
lackey=$(for _ in $(seq "$runs"); do replay_rate lackey "$work/trace.lackey"; done | best)
native=$(for _ in $(seq "$runs"); do replay_rate native "$work/trace.native"; done | best)
records=$(grep -c -E '^(I  | L | S )' "$work/trace.lackey" || true)
modifies=$(grep -c '^ M ' "$work/trace.lackey" || true)

printf '\nreplay benchmark: %s lackey lines (%s records), platform neoverse-n1 with 64-entry 4-way L1 TLBs, best of %s\n' \
  "$((records + modifies))" "$((records + 2 * modifies))" "$runs"
printf '%-28s %14s %10s\n' "what" "M records/s" "vs bare"
printf '%-28s %14.2f %10s\n' "bare C++ loop (ceiling)" "$bare" "1.00"
printf '%-28s %14.2f %10.2f\n' "mmusim replay, lackey" "$lackey" "$(echo "$lackey / $bare" | bc -l)"
printf '%-28s %14.2f %10.2f\n' "mmusim replay, native" "$native" "$(echo "$native / $bare" | bc -l)"
ok=1
(( $(echo "$lackey >= 10" | bc -l) )) || { echo "below target: lackey replay < 10 M records/s"; ok=0; }
(( $(echo "$lackey / $bare >= 0.5" | bc -l) )) || { echo "below target: lackey replay slower than 2x the bare loop"; ok=0; }
(( $(echo "$native / $bare >= 0.5" | bc -l) )) || { echo "below target: native replay slower than 2x the bare loop"; ok=0; }
[ "$ok" = 1 ] && echo "targets met: >= 10 M lackey records/s and within 2x of the bare loop"
exit 0
