#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds everything (warnings are errors here) and runs the whole test suite with ctest. Then, in CI (CI=true)
# or with MMUSIM_SANITIZE_SUITE=1, the sanitizer suite too (tools/test-sanitize.sh, 43 minutes measured on a
# loaded two-core machine); MMUSIM_SANITIZE_SUITE=0 skips it everywhere. docs/CHECKING.md, "Sanitizers".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMMUSIM_BUILD_TESTS=ON -DMMUSIM_WERROR=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
if [ "${MMUSIM_SANITIZE_SUITE:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}" = 1 ]; then
  tools/test-sanitize.sh
fi
