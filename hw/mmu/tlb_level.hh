// SPDX-License-Identifier: GPL-2.0-only
// One level of a core's TLB hierarchy (L1 ITLB, L1 DTLB or L2 TLB), made of one or more arrays. Intel and
// AMD L1 DTLBs keep a separate array per page size (64 x 4K, 32 x 2M, 4 x 1G on Skylake); arm64 ones hold all
// sizes in one fully associative array. A lookup probes every array; a fill goes to the array that holds the
// translation's size, else to the one whose largest held size fits best (splintering).
#pragma once

#include "hw/tlb/tlb.hh"

#include <string>
#include <vector>

namespace mmusim::hw {

struct TlbLevelStats {
    std::uint64_t accesses = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
};

class TlbLevel {
public:
    TlbLevel(std::string name, std::vector<TlbGeometry> arrays);

    const TlbEntry* lookup(Addr va, Asid asid)
    {
        // One array: its own counters are the level's, nothing more to count here.
        return single_ ? arrays_[0].lookup(va, asid) : lookup_multi(va, asid);
    }
    const TlbEntry* probe(Addr va, Asid asid) const;
    // Installs `e` for `va`, replacing overlapping entries; those of another translation size go to `resized`.
    bool fill(const TlbEntry& e, Addr va, std::vector<TlbEntry>* resized = nullptr);
    std::size_t invalidate(const InvalidationScope& scope);
    bool holds(unsigned shift) const;
    std::size_t valid_entries() const;
    Cycles hit_latency() const { return hit_latency_; }
    const std::string& name() const { return name_; }
    TlbLevelStats stats() const;
    const std::vector<Tlb>& arrays() const { return arrays_; }

private:
    const TlbEntry* lookup_multi(Addr va, Asid asid);
    std::string name_;
    std::vector<Tlb> arrays_;
    bool single_ = true;
    Cycles hit_latency_ = 0;
    TlbLevelStats stats_;
};

} // namespace mmusim::hw
