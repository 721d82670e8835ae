#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds everything (warnings are errors here) and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMMUSIM_BUILD_TESTS=ON -DMMUSIM_WERROR=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
