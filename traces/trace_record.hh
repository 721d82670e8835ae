// SPDX-License-Identifier: GPL-2.0-only
// One memory access from a trace, as every reader produces it.
#pragma once

#include "hw/common/types.hh"

namespace mmusim::traces {

struct TraceRecord {
    Addr addr = 0;
    std::uint32_t size = 1; // bytes; an access crossing a page boundary is split by the replayer
    AccessKind kind = AccessKind::Read;
    std::uint16_t core = 0;
};

} // namespace mmusim::traces
