// SPDX-License-Identifier: GPL-2.0-only
// One cached translation. Every entry remembers the physical address of the leaf descriptor it was built
// from, so a coherence checker can tell which page-table write made it stale.
#pragma once

#include "hw/common/types.hh"

namespace mmusim::hw {

struct TlbEntry {
    Addr vpn = 0;        // va >> size_shift
    PAddr pa = 0;        // physical base of the region the entry maps
    PAddr desc_pa = 0;   // physical address of the leaf descriptor (first of the run if contiguous)
    std::uint64_t lru = 0;
    Asid asid = 0;
    std::uint8_t size_shift = 0; // log2 of the bytes the entry maps (12, 14, 16, 21, 30 ...)
    std::uint8_t trans_shift = 0; // log2 of the whole translation it was cut from (> size_shift if splintered)
    std::uint8_t depth = 0;      // walk depth the leaf was found at
    bool valid = false;
    bool global = false;
    bool write = false;
    bool user = false;
    bool exec = false;
    bool dirty = false;
    bool write_clean = false;    // !write, but a write may complete after the hardware records it dirty (re-walk)
    bool contiguous = false;     // built from a contiguous/NAPOT run or a coalesced group
    bool coalesced = false;      // of those, a hardware-coalesced group (AMD), not a hint in the page tables

    Addr va_base() const { return vpn << size_shift; }
    Addr va_last() const { return va_base() + ((Addr{1} << size_shift) - 1); } // inclusive: no overflow at the top
    // The region of the translation the entry came from: an invalidation of any part of a large page or
    // contiguous run removes every splinter of it (Intel SDM 4.10.2.3; Arm ARM, TLB maintenance of blocks).
    Addr trans_base() const { return va_base() & ~((Addr{1} << trans_shift) - 1); }
    Addr trans_last() const { return trans_base() + ((Addr{1} << trans_shift) - 1); }
    bool matches(Addr va, Asid cur) const { return valid && (va >> size_shift) == vpn && (global || asid == cur); }
};

} // namespace mmusim::hw
