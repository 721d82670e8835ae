#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fresh machine to first result: install what is missing, build in Release, run the default replay.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target mmusim
./build/mmusim
