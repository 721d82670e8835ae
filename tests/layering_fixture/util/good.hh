// SPDX-License-Identifier: GPL-2.0-only
// Fixture for the layering check: util/ including util/ is fine. Never compiled.
#include "util/units.hh"
