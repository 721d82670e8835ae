// SPDX-License-Identifier: GPL-2.0-only
// Demand paging of anonymous memory for trace replay: the first touch of a page faults in a whole folio of
// the kernel configuration's size (kernel.folio_size). A simplified do_anonymous_page() (mm/memory.c) with an mTHP-sized folio:
// allocate and clear the folio, allocate missing page tables (__pte_alloc and friends), then set_ptes() for
// every page of the folio, or a PMD/PUD block when the folio is one. On arm64 contpte_set_ptes()
// (arch/arm64/mm/contpte.c) sets PTE_CONT on each aligned, fully covered run; on RISC-V the run becomes
// Svnapot, when the platform has it (the format then has NAPOT runs; without Svnapot it has none). Every
// descriptor read and write is a timed access by the faulting core.
//
// Left for the port of mm/: struct page/folio metadata, rmap, memcg, the zero page for read faults (a read
// fault here maps a writable-clean folio), VMAs.
#pragma once

#include "hw/core/core.hh"
#include "mm/address_space.hh"
#include "mm/kernel_config.hh"

namespace mmusim::mm {

struct FaultStats {
    std::uint64_t faults = 0;
    std::uint64_t access_faults = 0; // software accessed/dirty updates (counted in `faults` too)
    std::uint64_t pages_mapped = 0; // base pages
    std::uint64_t contiguous_runs = 0;
    std::uint64_t blocks = 0;       // PMD/PUD-level leaves
    std::uint64_t tables_allocated = 0;
    Cycles cycles = 0;              // everything the faulting core spent in the fault
};

class AnonFaultHandler {
public:
    AnonFaultHandler(AddressSpace& as, const KernelConfig& kernel);

    // Maps the folio containing `va` on `core`. The access is retried by the caller.
    void handle_fault(hw::Core& core, Addr va, AccessKind kind);
    // A permission fault on a present page whose accessed flag or dirty state the hardware does not manage
    // (features.hafdbs / features.svadu): handle_pte_fault() marks it young (and dirty on a write) with
    // ptep_set_access_flags(), then flushes a stale read-only TLB entry where Linux does (arm64 when made
    // dirty, RISC-V always; x86's fault already dropped it). Returns false for a real permission violation.
    bool handle_access_fault(hw::Core& core, Addr va, AccessKind kind);
    const FaultStats& stats(unsigned core) const;
    FaultStats total() const;
    int leaf_depth() const { return leaf_depth_; }

private:
    void flush_relaxed_pte(hw::Core& core, Addr va, bool dirtied);
    AddressSpace& as_;
    std::uint64_t folio_size_;
    Cycles fault_entry_;
    int leaf_depth_;
    std::vector<FaultStats> stats_;
};

} // namespace mmusim::mm
