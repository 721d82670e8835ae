// SPDX-License-Identifier: GPL-2.0-only
// Untimed, side-effect-free view of simulated memory and cache state for tests, reports and checkers. It is
// deliberately not part of hw::Core: code that runs on a core (the mm port) has only timed accesses.
#pragma once

#include "hw/mem/memory_system.hh"

namespace mmusim::hw {

class PhysInspector {
public:
    explicit PhysInspector(const MemorySystem& m) : m_(m) {}

    std::uint64_t read(PAddr pa, unsigned size) const // little-endian value of 1..8 bytes
    {
        std::uint64_t v = 0;
        m_.memory().read(pa, &v, size);
        return v;
    }
    std::uint64_t read64(PAddr pa) const { return m_.memory().read64(pa); }
    // MESI state of pa's line in `core`'s private levels (nearest holder).
    Mesi line_state(unsigned core, PAddr pa) const { return m_.line_state(core, pa); }
    bool cached(unsigned core, std::size_t level, PAddr pa) const { return m_.contains(core, level, pa); }

private:
    const MemorySystem& m_;
};

} // namespace mmusim::hw
