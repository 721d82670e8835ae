// SPDX-License-Identifier: GPL-2.0-only
// The TLB oracle of checked mode (`simulation.check`, `mmusim replay --check`): answers, at any moment,
//   - does any TLB or walk cache of any core hold, for a VA range and ASID, a translation that disagrees with
//     the page tables in memory now (a PTE changed without the TLBI, or before it completed)?
//   - does any TLB still map a physical frame (or a walk cache still point at it as a table)?
//   - which TLB conflict events (hw/mmu/tlb_conflict.hh) happened since the last look?
// Page tables are read through an untimed inspection walk of PhysMemory: a query costs no simulated cycle,
// touches no cache and changes no TLB state. Nothing here is on the translation path: unchecked runs pay
// nothing. Invalidations count once they have taken effect in the TLBs (the interconnect decides when: at
// issue today, at the completing DSB ISH / TLBSYNC once that lands), so the oracle simply compares what the
// TLBs hold now with memory. The agreement rules are in docs/ARCHITECTURE.md, "The TLB oracle".
#pragma once

#include "hw/mem/phys_memory.hh"
#include "hw/mmu/mmu.hh"

#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim::hw {

struct OracleFinding {
    unsigned core = 0;
    std::string structure; // "l1i", "l1d", "l2", "walk cache", or where a conflict event happened
    Addr va = 0;
    Asid asid = 0;
    std::string what;      // what the structure holds and what memory says
    std::string message() const; // "core 1 l1d, VA 0x..., ASID 1: ..."
};

// A disagreement in checked mode: the run stops with this error (exit status 1).
struct TlbCheckError : std::runtime_error {
    explicit TlbCheckError(const std::string& what) : std::runtime_error(what) {}
};

class TlbOracle {
public:
    // `mmus[i]` is core i's MMU; `walker` says which hints the hardware honours (contiguous, coalescing).
    TlbOracle(const PageTableFormat& fmt, const WalkerConfig& walker, const PhysMemory& mem, std::vector<const Mmu*> mmus);

    // Entries for `asid` (or global) overlapping [first, last] that disagree with the tables under `root`.
    std::vector<OracleFinding> check_range(Addr first, Addr last, Asid asid, PAddr root);
    // Entries (any core, level, ASID) whose output overlaps [first, last]; walk-cache entries pointing at a
    // table there. An answer, not a violation: a frame may be legitimately mapped.
    std::vector<OracleFinding> frame_mappings(PAddr first, PAddr last, bool writable_only = false);
    // TLB conflict events recorded by any MMU since the previous call.
    std::vector<OracleFinding> new_conflicts();
    // check_range + new_conflicts as one query; throws TlbCheckError naming the findings (up to 8) if any.
    void require_clean(Addr first, Addr last, Asid asid, PAddr root);

    std::uint64_t queries() const { return queries_; } // calls of the four functions above
    std::uint64_t violations() const { return violations_; } // findings of check_range and new_conflicts

private:
    std::vector<OracleFinding> collect_range(Addr first, Addr last, Asid asid, PAddr root);
    std::vector<OracleFinding> collect_conflicts();
    std::string disagreement(const TlbEntry& e, PAddr root) const;
    std::string page_disagreement(const TlbEntry& e, Addr va, PAddr root, bool whole_translation) const;
    std::string walk_cache_disagreement(const WalkCacheView& w, PAddr root) const;

    const PageTableFormat& fmt_;
    WalkerConfig walker_;
    const PhysMemory& mem_;
    std::vector<const Mmu*> mmus_;
    std::vector<std::uint64_t> conflicts_seen_; // per core
    std::uint64_t queries_ = 0;
    std::uint64_t violations_ = 0;
};

} // namespace mmusim::hw
