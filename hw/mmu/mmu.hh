// SPDX-License-Identifier: GPL-2.0-only
// A core's MMU: L1 ITLB and L1 DTLB, a unified L2 TLB, a walk cache and the table walker, plus the
// translation context registers (TTBR0_EL1.ASID + base, CR3 PCID + base, satp ASID + PPN).
//
// translate() is the hot path of trace replay: an L1 hit costs no TLM call and no allocation. Everything
// else (L2 lookup, walk, fill) is out of line.
//
// A write that hits a TLB entry without write permission follows the architecture: an entry for a writable
// but clean page (x86 R/W=1 D=0, Intel SDM 4.8; arm64 AP[2]=1 with DBM=1 and hardware dirty state, Arm ARM
// D8.4; RISC-V W=1 D=0 with Svadu) re-walks so the hardware can record the page dirty; any other entry raises
// the permission fault from the TLB, without a walk (a cached read-only entry may fault, which is why Linux
// flushes after relaxing a PTE on arm64 and RISC-V, and why the SDM's 4.10.4.3 warns of "spurious" faults
// after an R/W 0->1 change). On x86 the page fault itself invalidates the faulting page's TLB entries and the
// paging-structure-cache entries used for its address (SDM 4.10.4.1), so the retried access walks.
#pragma once

#include "hw/mmu/tlb_conflict.hh"
#include "hw/mmu/tlb_level.hh"
#include "hw/mmu/walker.hh"

#include <vector>

namespace mmusim::hw {

struct MmuConfig {
    std::vector<TlbGeometry> l1i;
    std::vector<TlbGeometry> l1d;
    std::vector<TlbGeometry> l2;
    WalkCacheGeometry walk_cache;
    WalkerConfig walker;
};

struct MmuStats {
    std::uint64_t translations = 0; // derived: L1I + L1D lookups
    std::uint64_t walks = 0;
    std::uint64_t walk_cache_hits = 0;
    std::uint64_t walk_loads = 0;
    std::uint64_t walk_stores = 0; // hardware A/D updates
    Cycles walk_cycles = 0;
    Cycles translation_cycles = 0; // derived: every cycle spent translating, L1 lookups included
    Cycles stall_cycles = 0;       // the part beyond an L1 hit: L2 lookups and walks
    std::uint64_t faults = 0;                // walks that found no translation (permission faults are not counted)
    std::uint64_t tlb_permission_faults = 0; // permission faults raised from a TLB entry without a walk
    std::uint64_t misprogrammed_runs = 0;    // TLB conflict events: walks that found a misprogrammed run
    std::uint64_t size_conflicts = 0;        // TLB conflict events: fills that replaced a live other-size entry
    std::uint64_t bbml2_size_changes = 0;    // the same on BBML2_NOABORT hardware, where it is allowed (no event)
};

struct Translation {
    PAddr pa = 0;
    Cycles cycles = 0;
    Fault fault = Fault::None;
    int fault_depth = 0;
};

class Mmu {
public:
    Mmu(const MmuConfig& cfg, const PageTableFormat& fmt, PhysPort& port);

    Translation translate(Addr va, AccessKind kind)
    {
        TlbLevel& l1 = kind == AccessKind::Fetch ? l1i_ : l1d_;
        const TlbEntry* e = l1.lookup(va, asid_);
        if (e && (kind != AccessKind::Write || e->write))
            return {e->pa + (va & ((Addr{1} << e->size_shift) - 1)), l1.hit_latency(), Fault::None, 0};
        return translate_slow(va, kind, l1, e);
    }

    void set_context(Asid asid, PAddr root)
    {
        asid_ = asid;
        root_ = root;
    }
    Asid asid() const { return asid_; }
    PAddr root() const { return root_; }

    // Removes what `scope` names from every TLB level and the walk cache. Returns TLB entries removed.
    std::size_t invalidate(const InvalidationScope& scope);

    const TlbLevel& l1i() const { return l1i_; }
    const TlbLevel& l1d() const { return l1d_; }
    const TlbLevel& l2() const { return l2_; }
    const WalkCache& walk_cache() const { return wc_; }
    // TLB conflict events (tlb_conflict.hh), oldest first; the first kConflictLog are kept, all are counted.
    const std::vector<TlbConflict>& conflicts() const { return conflicts_; }
    std::uint64_t conflict_count() const { return stats_.misprogrammed_runs + stats_.size_conflicts; }
    static constexpr std::size_t kConflictLog = 64;
    MmuStats stats() const;
    const PageTableFormat& format() const { return fmt_; }

private:
    // `l1_hit`: an L1 entry that matched but does not permit the access (a write), or nullptr.
    Translation translate_slow(Addr va, AccessKind kind, TlbLevel& l1, const TlbEntry* l1_hit);
    Translation tlb_permission_fault(Addr va, const TlbEntry& e, Cycles cycles, Cycles l1_latency);
    // Fills `level` and reports a TLB conflict for each live entry of another size the fill replaced.
    void fill(TlbLevel& level, const TlbEntry& e, Addr va);
    bool still_live(const TlbEntry& held, Addr va);
    void record(TlbConflict c);

    const PageTableFormat& fmt_;
    PhysPort& port_;
    TlbLevel l1i_;
    TlbLevel l1d_;
    TlbLevel l2_;
    WalkCache wc_;
    Walker walker_;
    bool size_change_without_bbm_; // WalkerConfig::size_change_without_bbm
    Asid asid_ = 0;
    PAddr root_ = 0;
    MmuStats stats_;
    std::vector<TlbEntry> resized_; // scratch for fill(): empty except while a fill replaces other sizes
    std::vector<TlbConflict> conflicts_;
};

} // namespace mmusim::hw
