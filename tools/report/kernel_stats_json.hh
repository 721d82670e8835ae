// SPDX-License-Identifier: GPL-2.0-only
// The kernel's statistics (mm::MmStats) as the replay and experiment reports write them (docs/REPORT.md):
// faults and folio allocations by folio size, copies, folios and page tables allocated and freed, pins, batch
// histograms by helper, contpte folds/unfolds/converts, flushes by kind, and self cycles by kernel function.
#pragma once

#include "mm/stats.hh"

#include <nlohmann/json.hpp>

namespace mmusim::tools {

nlohmann::ordered_json kernel_stats_json(const mm::MmStats& s, std::uint64_t page_size);

} // namespace mmusim::tools
