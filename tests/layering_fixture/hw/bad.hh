// SPDX-License-Identifier: GPL-2.0-only
// Fixture for the layering check (tests/CMakeLists.txt): hw/ may not include mm/. Never compiled.
#include "mm/memory.hh"
