// SPDX-License-Identifier: GPL-2.0-only
// What one TLB maintenance operation removes, in architecture-neutral terms. Architectural instructions
// (arm64 TLBI, x86 INVLPG/CR3/INVPCID/INVLPGB, RISC-V SFENCE.VMA) are turned into a scope by tlbi_op.cc;
// TLBs and walk caches only ever see scopes. After gem5's TLBI functors (src/arch/arm/tlbi_op.cc).
#pragma once

#include "hw/common/types.hh"
#include "hw/tlb/tlb_entry.hh"

namespace mmusim::hw {

struct InvalidationScope {
    bool any_asid = true;        // false: only entries tagged `asid` (and global ones if include_global)
    Asid asid = 0;
    bool include_global = true;  // global entries are removed too
    bool by_va = false;          // restrict to entries overlapping [va_start, va_last]
    Addr va_start = 0;
    Addr va_last = 0;            // inclusive, so a range may end at the top of the address space
    bool leaf_only = false;      // "last level": walk-cache (intermediate) entries survive
    int ttl_depth = -1;          // TTL hint: only leaf entries found at this walk depth (-1: any)
    bool walk_cache_whole_asid = false; // x86 INVLPG: every paging-structure entry of the PCID goes

    bool matches(const TlbEntry& e) const
    {
        if (!e.valid)
            return false;
        if (e.global) {
            if (!include_global)
                return false;
        } else if (!any_asid && e.asid != asid) {
            return false;
        }
        if (by_va && (e.trans_last() < va_start || e.trans_base() > va_last))
            return false;
        if (ttl_depth >= 0 && e.depth != ttl_depth)
            return false;
        return true;
    }

    // A walk-cache entry at `depth` caches the table that maps [va_base, va_base + span).
    bool matches_walk(Asid entry_asid, Addr va_base, Addr span) const
    {
        if (leaf_only)
            return false;
        if (!any_asid && entry_asid != asid)
            return false;
        if (walk_cache_whole_asid)
            return true;
        if (by_va && (va_base + (span - 1) < va_start || va_base > va_last))
            return false;
        return true;
    }

    static InvalidationScope everything() { return {}; }
};

} // namespace mmusim::hw
