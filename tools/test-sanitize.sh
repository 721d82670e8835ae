#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The sanitizer suite: builds everything with AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer
# in build-asan and runs the whole test suite there; any report fails its test. docs/CHECKING.md, "Sanitizers".
# MMUSIM_SANITIZE_JOBS sets the build and ctest parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh # the ASan/UBSan runtimes come with the compiler (build-essential)
jobs="${MMUSIM_SANITIZE_JOBS:-$(nproc)}"
# RelWithDebInfo: optimised enough to keep the suite's run time sane, with line numbers in every report.
# -DMMUSIM_SANITIZE=address,undefined also makes every UBSan check fatal (-fno-sanitize-recover, CMakeLists.txt).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMUSIM_BUILD_TESTS=ON \
      -DMMUSIM_SANITIZE=address,undefined
cmake --build build-asan -j"$jobs"
# halt_on_error: the first report ends the test (and fails it); detect_leaks: LeakSanitizer at exit, with the
# suppressions compiled into the binaries (__lsan_default_suppressions, hw/core/asan_fiber_shim.cc);
# strict_init_order/check_initialization_order: static-initialisation order bugs; print_stacktrace: where
# UBSan found it. detect_stack_use_after_return stays off: libsystemc's coroutine switches pass no fake stack.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="print_suppressions=0"
ctest --test-dir build-asan --output-on-failure -j"$jobs"
