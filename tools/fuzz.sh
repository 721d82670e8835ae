#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds the libFuzzer harnesses (fuzz/, docs/CHECKING.md "Fuzzing") with clang, ASan and UBSan in build-fuzz/,
# runs each for SECONDS_PER_HARNESS seconds (default 60) from seeds made out of the shipped samples and configs,
# and copies every crash, leak, timeout or out-of-memory input to tests/fuzz_regressions/<harness>/, where the
# normal test build's tests/fuzz_regression_test.cc replays it.
#
#   tools/fuzz.sh [SECONDS_PER_HARNESS] [HARNESS...]
#
# Environment: JOBS (build parallelism, default 2), FUZZ_BUILD (build dir, default build-fuzz). The corpus each
# run grows is kept in $FUZZ_BUILD/work/corpus/<harness>/ and reused by the next run. Exit status 1 if any
# harness found something.
set -euo pipefail

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
jobs=${JOBS:-2}
work=$build/work
all_harnesses=(native_reader lackey_reader compressed_input platform_config kernel_config experiment sweep set_override)
[[ $# -gt 0 ]] && harnesses=("$@") || harnesses=("${all_harnesses[@]}")

# clang with libFuzzer (Debian's clang package ships libclang_rt.fuzzer).
if ! command -v clang++ >/dev/null; then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get update
    $sudo apt-get install -y clang
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMMUSIM_FUZZ=ON -DMMUSIM_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs" --target mmusim_fuzzers

# Seeds: rebuilt from the repository's files every run (nothing is copied into the repository).
seeds=$work/seeds
rm -rf "$seeds" "$work/dicts"
mkdir -p "$seeds" "$work/dicts"
for h in "${all_harnesses[@]}"; do mkdir -p "$seeds/$h"; done
cp "$root"/traces/samples/native_example.txt "$root"/traces/samples/program_syscalls.txt "$seeds/native_reader/"
lackey_text=$(mktemp)
xz -dc "$root/traces/samples/lackey_true.txt.xz" >"$lackey_text"
head -c 8192 "$lackey_text" >"$seeds/lackey_reader/head"
dd if="$lackey_text" of="$seeds/lackey_reader/middle" bs=8192 skip=128 count=1 status=none
tail -c 8192 "$lackey_text" >"$seeds/lackey_reader/tail"
head -c 4096 "$lackey_text" | gzip -c >"$seeds/compressed_input/lackey_head.gz"
rm -f "$lackey_text"
gzip -c "$root/traces/samples/native_example.txt" >"$seeds/compressed_input/native_example.gz"
xz -c "$root/traces/samples/native_example.txt" >"$seeds/compressed_input/native_example.xz"
xz -c "$root/traces/samples/program_syscalls.txt" >"$seeds/compressed_input/program_syscalls.xz"
cp "$root"/configs/platforms/*.yaml "$seeds/platform_config/"
cp "$root"/configs/kernels/*.yaml "$seeds/kernel_config/"
cp "$root"/configs/experiments/*.yaml "$seeds/experiment/"
for f in "$root"/configs/sweeps/experiments/*.yaml; do cp "$f" "$seeds/experiment/sweep-$(basename "$f")"; done
cp "$root"/configs/sweeps/*.yaml "$seeds/sweep/"
# Hand-written seeds for what no shipped file shows (e.g. an experiment with every workload op).
for h in "${all_harnesses[@]}"; do
    if [[ -d $root/fuzz/seeds/$h ]]; then cp "$root/fuzz/seeds/$h"/* "$seeds/$h/"; fi
done
# --set: the assignments the shipped experiments and sweeps make, a few per seed.
grep -ohE '[a-z_][a-z_0-9]*(\.[a-z_0-9]+)+=[^],[:space:]]+' "$root"/configs/experiments/*.yaml "$root"/configs/sweeps/*.yaml \
    | sort -u | split -l 3 - "$seeds/set_override/sets-"
printf 'cores=8\ntlb.l1d.0.entries=64\n' >"$seeds/set_override/platform"

# Dictionaries: the format's tokens, and for YAML every key the shipped configs use (block and flow style).
yaml_keys=$(grep -ohE '(^[[:space:]-]*|[{,][[:space:]]*)[a-z_][a-z_0-9]*:' "$root"/configs/*/*.yaml "$root"/configs/sweeps/experiments/*.yaml \
    "$root"/fuzz/seeds/*/*.yaml |
    sed -E 's/^[[:space:]{,-]*//; s/:$//' | sort -u)
cp "$root/fuzz/dicts/native.dict" "$work/dicts/native_reader.dict"
cp "$root/fuzz/dicts/lackey.dict" "$work/dicts/lackey_reader.dict"
for h in platform_config kernel_config experiment sweep; do
    { cat "$root/fuzz/dicts/yaml.dict"; for k in $yaml_keys; do echo "\"$k: \""; done; } >"$work/dicts/$h.dict"
done
{ cat "$root/fuzz/dicts/set.dict"; for k in $yaml_keys; do echo "\"$k\""; done; } >"$work/dicts/set_override.dict"

summary=$work/summary.txt
: >"$summary"
printf '%-18s %8s %12s %8s  %s\n' harness seconds executions corpus findings | tee -a "$summary"
found=0
for h in "${harnesses[@]}"; do
    corpus=$work/corpus/$h
    artifacts=$work/artifacts/$h
    mkdir -p "$corpus" "$artifacts"
    dict=()
    [[ -f $work/dicts/$h.dict ]] && dict=(-dict="$work/dicts/$h.dict")
    log=$work/$h.log
    start=$(date +%s)
    set +e
    "$build/fuzz/${h}_fuzz" "$corpus" "$seeds/$h" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(($(date +%s) - start))
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    n_corpus=$(find "$corpus" -type f | wc -l)
    findings=()
    for f in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
        [[ -f $f ]] || continue
        mkdir -p "$root/tests/fuzz_regressions/$h"
        cp "$f" "$root/tests/fuzz_regressions/$h/"
        findings+=("tests/fuzz_regressions/$h/$(basename "$f")")
        rm -f "$f"
    done
    if [[ ${#findings[@]} -gt 0 || ( $rc -ne 0 && -z $execs ) ]]; then
        found=1
        [[ ${#findings[@]} -eq 0 ]] && findings=("exit status $rc, see $log")
    fi
    printf '%-18s %8s %12s %8s  %s\n' "$h" "$elapsed" "${execs:-?}" "$n_corpus" "${findings[*]:-none}" | tee -a "$summary"
done
echo "summary: $summary; logs: $work/<harness>.log"
if [[ $found -ne 0 ]]; then
    echo "findings were copied to tests/fuzz_regressions/: fix them, then run the normal test suite" \
         "(tests/fuzz_regression_test.cc replays them)" >&2
    exit 1
fi
